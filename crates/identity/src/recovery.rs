//! Single-use recovery codes: the way back in when the authenticator app is lost.
//!
//! [`generate`] makes codes of 12 characters from a 31-symbol alphabet without the look-alikes
//! 0, O, 1, I and L (59 bits each), shown once as `XXXX-XXXX-XXXX`, and returns only their
//! SHA-256 digests for storage, so a database reader gets nothing usable. The digest is
//! domain-separated and bound to the account, so one pass of guessing cannot test a candidate
//! against every user's codes at once. [`find`] normalises what the user typed (case, spaces,
//! dashes) and compares it with every stored digest in constant time. [`find_for_login`] also
//! returns the [`MfaVerified`] proof.
//!
//! What this module deliberately does not do: it does not delete a used code (the caller deletes
//! the digest at the returned index, in the same transaction that logs the user in, which is what
//! makes codes single-use), does not limit attempts (route every attempt through
//! [`crate::throttle`]) and does not decide when to offer new codes.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::proof::{MfaMethod, MfaVerified};

/// How many codes to make when the caller has no reason to choose otherwise.
pub const DEFAULT_COUNT: usize = 10;

/// Characters per code. 31^12 is about 2^59.4, comfortably above 50 bits even though the
/// alphabet has 31 symbols (ten would give only 2^49.5).
pub const CODE_CHARS: usize = 12;

/// Digits and upper-case letters without 0, O, 1, I and L, which are easily confused on paper.
const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Characters per group in the display form.
const GROUP_CHARS: usize = 4;

/// Longer input cannot be a code, even with generous spacing; refused before any work.
const MAX_INPUT_BYTES: usize = 64;

/// Separates this use of SHA-256 from every other; the version allows a change of scheme.
const DOMAIN: &[u8] = b"trygg-recovery-code-v1\0";

/// Random bytes at or above this are rejected, so that `byte % 31` is uniform (248 = 8 × 31).
const REJECTION_LIMIT: u8 = 248;

/// A recovery code in its display form (`XXXX-XXXX-XXXX`). Shown to the user once; wiped on drop,
/// redacted in `Debug`, deliberately without `Display` so it is not formatted by accident.
pub struct RecoveryCode {
    display: Zeroizing<String>,
}

impl RecoveryCode {
    /// The code as the user should see it, for the one page that shows it.
    pub fn expose(&self) -> &str {
        &self.display
    }
}

// The only field is `Zeroizing`.
impl ZeroizeOnDrop for RecoveryCode {}

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RecoveryCode")
            .field("code", &"<redacted>")
            .finish()
    }
}

/// `count` fresh codes for the account `account_id` (a stable id, never the e-mail address,
/// which can change): the codes to show once, and their digests to store, in the same order.
pub fn generate(account_id: &str, count: usize) -> (Vec<RecoveryCode>, Vec<[u8; 32]>) {
    generate_with(account_id, count, &mut crate::fill_random)
}

/// The index in `stored` of the digest that `code_input` matches for `account_id`, if any.
///
/// The input is normalised first: ASCII white space and dashes are removed and letters
/// upper-cased, so "abcd efgh-jkmn" matches "ABCD-EFGH-JKMN". Input that cannot be a code (wrong
/// length, a character outside the alphabet) matches nothing. Every stored digest is compared,
/// in constant time, whether or not an earlier one matched.
pub fn find(account_id: &str, code_input: &str, stored: &[[u8; 32]]) -> Option<usize> {
    let normalised = normalise(code_input)?;
    let digest = code_digest(account_id, &normalised);
    let mut found = Choice::from(0);
    let mut found_index: u64 = 0;
    for (index, candidate) in stored.iter().enumerate() {
        let is_match = candidate.ct_eq(&digest);
        // The first match wins; later ones (impossible unless the store holds duplicates) do not
        // move the index.
        let index = u64::try_from(index).unwrap_or(u64::MAX);
        found_index = u64::conditional_select(&found_index, &index, is_match & !found);
        found |= is_match;
    }
    if bool::from(found) {
        usize::try_from(found_index).ok()
    } else {
        None
    }
}

/// [`find`] for a login: on a match also the [`MfaVerified`] proof, timed at `now_ms`. The caller
/// must delete the digest at the returned index before the login completes.
pub fn find_for_login(
    account_id: &str,
    code_input: &str,
    stored: &[[u8; 32]],
    now_ms: i64,
) -> Option<(usize, MfaVerified)> {
    let index = find(account_id, code_input, stored)?;
    Some((index, MfaVerified::new(MfaMethod::RecoveryCode, now_ms)))
}

/// [`generate`] with the randomness passed in, so tests can be deterministic.
fn generate_with(
    account_id: &str,
    count: usize,
    fill_random: &mut dyn FnMut(&mut [u8]),
) -> (Vec<RecoveryCode>, Vec<[u8; 32]>) {
    let mut codes = Vec::with_capacity(count);
    let mut digests = Vec::with_capacity(count);
    for _ in 0..count {
        let normalised = random_code(fill_random);
        digests.push(code_digest(account_id, &normalised));
        codes.push(RecoveryCode {
            display: display_form(&normalised),
        });
    }
    (codes, digests)
}

/// [`CODE_CHARS`] symbols drawn uniformly from the alphabet by rejection sampling.
fn random_code(fill_random: &mut dyn FnMut(&mut [u8])) -> Zeroizing<Vec<u8>> {
    let mut code = Zeroizing::new(Vec::with_capacity(CODE_CHARS));
    let mut random = Zeroizing::new([0u8; 32]);
    while code.len() < CODE_CHARS {
        fill_random(&mut random[..]);
        for byte in random.iter().filter(|byte| **byte < REJECTION_LIMIT) {
            if code.len() == CODE_CHARS {
                break;
            }
            code.push(ALPHABET[usize::from(*byte) % ALPHABET.len()]);
        }
    }
    code
}

/// `XXXX-XXXX-XXXX` from the normalised symbols.
fn display_form(normalised: &[u8]) -> Zeroizing<String> {
    let mut display = Zeroizing::new(String::with_capacity(CODE_CHARS + CODE_CHARS / GROUP_CHARS));
    for (position, symbol) in normalised.iter().enumerate() {
        if position > 0 && position % GROUP_CHARS == 0 {
            display.push('-');
        }
        display.push(char::from(*symbol));
    }
    display
}

/// The code's symbols without separators, upper-cased; `None` unless exactly [`CODE_CHARS`]
/// alphabet symbols remain.
fn normalise(code_input: &str) -> Option<Zeroizing<Vec<u8>>> {
    if code_input.len() > MAX_INPUT_BYTES {
        return None;
    }
    let mut normalised = Zeroizing::new(Vec::with_capacity(CODE_CHARS));
    for byte in code_input.bytes() {
        if byte.is_ascii_whitespace() || byte == b'-' {
            continue;
        }
        let symbol = byte.to_ascii_uppercase();
        if !ALPHABET.contains(&symbol) || normalised.len() == CODE_CHARS {
            return None;
        }
        normalised.push(symbol);
    }
    (normalised.len() == CODE_CHARS).then_some(normalised)
}

/// SHA-256 over the domain tag, the length-prefixed account id and the normalised code.
fn code_digest(account_id: &str, normalised: &[u8]) -> [u8; 32] {
    let account_length = u64::try_from(account_id.len()).unwrap_or(u64::MAX);
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN);
    hasher.update(account_length.to_be_bytes());
    hasher.update(account_id.as_bytes());
    hasher.update(normalised);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic "random" source: a counter, so tests can predict the codes.
    fn counting_source() -> impl FnMut(&mut [u8]) {
        let mut next: u8 = 0;
        move |buffer: &mut [u8]| {
            for byte in buffer {
                *byte = next;
                next = next.wrapping_add(1);
            }
        }
    }

    #[test]
    fn codes_look_right_and_carry_enough_entropy() {
        let (codes, digests) = generate("account-1", DEFAULT_COUNT);
        assert_eq!(codes.len(), 10);
        assert_eq!(digests.len(), 10);
        for code in &codes {
            let text = code.expose();
            assert_eq!(text.len(), 14, "{text}");
            let groups: Vec<&str> = text.split('-').collect();
            assert_eq!(groups.len(), 3, "{text}");
            for group in groups {
                assert_eq!(group.len(), 4);
                assert!(
                    group.bytes().all(|symbol| ALPHABET.contains(&symbol)),
                    "{text}"
                );
                assert!(!group.contains(['0', 'O', '1', 'I', 'L']), "{text}");
            }
        }
        let bits = CODE_CHARS as f64 * (ALPHABET.len() as f64).log2();
        assert!(bits >= 50.0, "{bits} bits");
        assert_eq!(ALPHABET.len(), 31);
    }

    #[test]
    fn each_code_is_found_at_its_index_and_only_for_its_account() {
        let (codes, digests) = generate("account-1", 10);
        for (index, code) in codes.iter().enumerate() {
            assert_eq!(find("account-1", code.expose(), &digests), Some(index));
            assert_eq!(find("account-2", code.expose(), &digests), None);
        }
        // Codes are distinct (with overwhelming probability; 10 draws from 2^59).
        let mut sorted = digests.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
    }

    #[test]
    fn input_is_normalised() {
        let mut source = counting_source();
        let (codes, digests) = generate_with("acct", 1, &mut source);
        let code = codes[0].expose().to_owned();
        let bare = code.replace('-', "");
        let cases: Vec<(String, Option<usize>)> = vec![
            (code.clone(), Some(0)),
            (code.to_lowercase(), Some(0)),
            (bare.clone(), Some(0)),
            (format!("  {}  ", bare.to_lowercase()), Some(0)),
            (
                format!("{} {} {}", &bare[..4], &bare[4..8], &bare[8..]),
                Some(0),
            ),
            (format!("{}\t{}", &bare[..6], &bare[6..]), Some(0)),
            (format!("{bare}-"), Some(0)),
            // One symbol short or long.
            (bare[..11].to_owned(), None),
            (format!("{bare}2"), None),
            // Characters outside the alphabet, even look-alikes, are not guessed at.
            (format!("{}0", &bare[..11]), None),
            (format!("{}O", &bare[..11]), None),
            (format!("{}_", &bare[..11]), None),
            (format!("{}é", &bare[..11]), None),
            (String::new(), None),
            ("-".repeat(40), None),
            ("2".repeat(10_000), None),
        ];
        for (input, expected) in cases {
            assert_eq!(find("acct", &input, &digests), expected, "{input:?}");
        }
    }

    #[test]
    fn a_used_code_is_gone_once_the_caller_removes_it() {
        let (codes, mut digests) = generate("acct", 3);
        let (index, proof) =
            find_for_login("acct", codes[1].expose(), &digests, 1_000).expect("the code matches");
        assert_eq!(index, 1);
        assert_eq!(proof.method(), MfaMethod::RecoveryCode);
        assert_eq!(proof.verified_at_ms(), 1_000);
        digests.remove(index);
        assert_eq!(find("acct", codes[1].expose(), &digests), None);
        assert_eq!(find("acct", codes[2].expose(), &digests), Some(1));
        assert!(find_for_login("acct", "2222-2222-2222", &digests, 1_000).is_none());
        assert_eq!(find("acct", codes[0].expose(), &[]), None);
    }

    #[test]
    fn generation_is_uniform_over_the_alphabet() {
        // 31 × 1000 symbols: each symbol should appear roughly 1000 times.
        let mut counts = [0usize; 31];
        let (codes, _) = generate("acct", 31 * 1000 / CODE_CHARS + 1);
        for code in &codes {
            for symbol in code.expose().bytes().filter(|symbol| *symbol != b'-') {
                let position = ALPHABET
                    .iter()
                    .position(|candidate| *candidate == symbol)
                    .expect("every symbol is in the alphabet");
                counts[position] += 1;
            }
        }
        // Far outside any plausible deviation (sd ≈ 31), yet catches a broken sampler.
        for (position, count) in counts.iter().enumerate() {
            assert!((700..=1300).contains(count), "symbol {position}: {count}");
        }
    }

    #[test]
    fn the_digest_is_domain_separated_and_bound_to_the_account() {
        let code = b"ABCDEFGHJKMN";
        let plain: [u8; 32] = Sha256::digest(code).into();
        assert_ne!(code_digest("acct", code), plain);
        assert_ne!(code_digest("acct", code), code_digest("acct2", code));
        // Length prefixing: moving characters between the account and the code changes the
        // digest.
        assert_ne!(
            code_digest("acctA", b"BCDEFGHJKMN"),
            code_digest("acct", b"ABCDEFGHJKMN")
        );
        // Computed independently (Python's hashlib): SHA-256 of the domain tag, the account id's
        // length as a big-endian u64, the account id and the code.
        let digest: String = code_digest("acct", code)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(
            digest,
            "c7e36b42798368d0834bde885fd790c050065e780506ea5373fe3f1dda744a73"
        );
    }

    #[test]
    fn codes_are_redacted_in_debug() {
        let (codes, _) = generate("acct", 1);
        let debug = format!("{codes:?}");
        assert_eq!(debug, "[RecoveryCode { code: \"<redacted>\" }]");
    }
}
