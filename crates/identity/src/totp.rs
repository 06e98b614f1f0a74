//! Time-based one-time passwords (RFC 6238, on HOTP from RFC 4226) as the second factor.
//!
//! [`TotpSecret`] is the shared key (20 random bytes by default, wiped on drop, redacted in
//! `Debug`), shown to the user once as a base32 string, an `otpauth://` URI and a QR code.
//! [`Totp::verify`] accepts a code for the current 30-second step or one step either side (clock
//! drift and typing time), compares in constant time, and refuses any code whose step is not
//! later than the last one used: each code works once, so a code seen over a shoulder or in a
//! phishing proxy's logs cannot be replayed. [`Totp::verify_for_login`] also returns the
//! [`MfaVerified`] proof that issuing a staff session requires.
//!
//! What this module deliberately does not do: it does not store the secret or the last used step
//! (the store keeps the secret encrypted by the vault, and the step the caller gets back), and it
//! does not limit attempts. A six-digit code can be guessed in a million tries, so every
//! verification must go through [`crate::throttle`] first. It reads no clock: the time comes in as
//! `unix_secs`. The HMAC state inside the `hmac` crate is not wiped (that crate has no zeroize
//! support); the key copy and the MAC output that we hold are.

use hmac::{Hmac, Mac};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::proof::{MfaMethod, MfaVerified};

/// The hash function of the HMAC. Authenticator apps widely support only SHA-1, which is still
/// sound inside HMAC; SHA-256 and SHA-512 exist for RFC 6238 compliance and its test vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

/// A TOTP shared secret. Not `Clone`, wiped on drop, and its `Debug` is redacted.
pub struct TotpSecret {
    bytes: Zeroizing<Vec<u8>>,
}

/// TOTP parameters: the algorithm, the number of digits and the time step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Totp {
    algorithm: Algorithm,
    digits: u32,
    step_secs: u64,
}

/// Why a code, secret or parameter was refused. No message contains a code or a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("the code is not in the expected form: enter the digits your authenticator app shows")]
    Malformed,
    #[error("the code is not correct")]
    Invalid,
    #[error("this code has already been used: wait for the next one")]
    Replayed,
    #[error(
        "not a valid TOTP secret: expected {min} to {max} bytes in base32",
        min = TotpSecret::MIN_LEN,
        max = TotpSecret::MAX_LEN
    )]
    InvalidSecret,
    #[error("not valid TOTP parameters: use 6 to 8 digits and a step of 15 to 120 seconds")]
    InvalidParameters,
    #[error("the provisioning URI is too long for a QR code: shorten the issuer or account name")]
    QrDataTooLong,
}

/// The RFC 4648 base32 alphabet.
const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Anything longer than this cannot be a code (even with spaces), so it is refused before any
/// work.
const MAX_CODE_INPUT_BYTES: usize = 32;

/// The side of the QR code's SVG canvas in user units, at least; large enough to scan from a
/// screen, and the SVG scales anyway.
const QR_MIN_SIZE: u32 = 200;

impl TotpSecret {
    /// RFC 4226 recommends 160 bits, the length of SHA-1's output.
    pub const DEFAULT_LEN: usize = 20;
    /// RFC 4226 requires at least 128 bits.
    pub const MIN_LEN: usize = 16;
    /// SHA-512's block-sized maximum useful length.
    pub const MAX_LEN: usize = 64;

    /// A fresh 20-byte secret from the OS random number generator.
    pub fn generate() -> TotpSecret {
        let mut bytes = Zeroizing::new(vec![0u8; TotpSecret::DEFAULT_LEN]);
        crate::fill_random(&mut bytes);
        TotpSecret { bytes }
    }

    /// A secret from raw bytes (for example as decrypted from the store), 16 to 64 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<TotpSecret, TotpError> {
        if !(TotpSecret::MIN_LEN..=TotpSecret::MAX_LEN).contains(&bytes.len()) {
            return Err(TotpError::InvalidSecret);
        }
        Ok(TotpSecret {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// Parses RFC 4648 base32 (upper or lower case, trailing `=` padding optional, no other
    /// characters) of a 16- to 64-byte secret.
    pub fn from_base32(text: &str) -> Result<TotpSecret, TotpError> {
        // Longer input (the padded base32 of the longest secret) cannot be a valid secret;
        // refuse it before decoding.
        if text.len() > TotpSecret::MAX_LEN.div_ceil(5) * 8 {
            return Err(TotpError::InvalidSecret);
        }
        let bytes = base32_decode(text).ok_or(TotpError::InvalidSecret)?;
        TotpSecret::from_bytes(&bytes)
    }

    /// The secret in RFC 4648 base32 without padding, as authenticator apps expect it.
    pub fn to_base32(&self) -> Zeroizing<String> {
        base32_encode(&self.bytes)
    }

    /// The raw secret, for encrypting it into the store. Whatever the caller copies it into
    /// should be zeroizing too.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

// The only field is `Zeroizing`.
impl ZeroizeOnDrop for TotpSecret {}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TotpSecret")
            .field("bytes", &"<redacted>")
            .finish()
    }
}

impl Default for Totp {
    /// What every authenticator app supports: SHA-1, 6 digits, 30 seconds.
    fn default() -> Totp {
        Totp {
            algorithm: Algorithm::Sha1,
            digits: 6,
            step_secs: 30,
        }
    }
}

impl Totp {
    /// Parameters other than the default: 6 to 8 digits (fewer are too easy to guess, more
    /// overflow the 31-bit truncation), a step of 15 to 120 seconds (longer steps keep each code
    /// valid for too long).
    pub fn new(algorithm: Algorithm, digits: u32, step_secs: u64) -> Result<Totp, TotpError> {
        if !(6..=8).contains(&digits) || !(15..=120).contains(&step_secs) {
            return Err(TotpError::InvalidParameters);
        }
        Ok(Totp {
            algorithm,
            digits,
            step_secs,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn digits(&self) -> u32 {
        self.digits
    }

    pub fn step_secs(&self) -> u64 {
        self.step_secs
    }

    /// The time step that `unix_secs` falls in (T0 = 0, as in RFC 6238).
    pub fn step_at(&self, unix_secs: u64) -> u64 {
        unix_secs / self.step_secs
    }

    /// The code for `unix_secs`, zero-padded to the number of digits.
    pub fn code_at(&self, secret: &TotpSecret, unix_secs: u64) -> Zeroizing<String> {
        self.code_for_step(secret, self.step_at(unix_secs))
    }

    /// Checks `code` for the time `unix_secs` and returns the step it matched, which the caller
    /// stores as the new `last_used_step`.
    ///
    /// The code may contain spaces ("123 456"); otherwise it must be exactly the configured
    /// number of ASCII digits ([`TotpError::Malformed`]). Codes for the current step and one step
    /// either side are accepted. A code that matches only steps at or before `last_used_step`
    /// is [`TotpError::Replayed`]; anything else that does not match is [`TotpError::Invalid`].
    /// All three candidate codes are always computed and compared in constant time.
    pub fn verify(
        &self,
        secret: &TotpSecret,
        code: &str,
        unix_secs: u64,
        last_used_step: Option<u64>,
    ) -> Result<u64, TotpError> {
        let presented = self.parse_code(code)?;
        let current = self.step_at(unix_secs);
        let candidates = [
            current.checked_sub(1),
            Some(current),
            current.checked_add(1),
        ];

        let mut fresh_match = None;
        let mut replayed_match = false;
        for step in candidates.into_iter().flatten() {
            let expected = hotp(self.algorithm, &secret.bytes, step, self.digits);
            if bool::from(expected.ct_eq(&presented)) {
                let is_fresh = last_used_step.is_none_or(|last_used| step > last_used);
                // Candidates ascend, so the first fresh match is the earliest one: recording the
                // earliest leaves the later steps usable (in case two steps share a code).
                if is_fresh && fresh_match.is_none() {
                    fresh_match = Some(step);
                } else if !is_fresh {
                    replayed_match = true;
                }
            }
        }
        match fresh_match {
            Some(step) => Ok(step),
            None if replayed_match => Err(TotpError::Replayed),
            None => Err(TotpError::Invalid),
        }
    }

    /// [`Totp::verify`] for a login: on success also the [`MfaVerified`] proof, timed at
    /// `unix_secs`.
    pub fn verify_for_login(
        &self,
        secret: &TotpSecret,
        code: &str,
        unix_secs: u64,
        last_used_step: Option<u64>,
    ) -> Result<(u64, MfaVerified), TotpError> {
        let step = self.verify(secret, code, unix_secs, last_used_step)?;
        let verified_at_ms = i64::try_from(unix_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        Ok((step, MfaVerified::new(MfaMethod::Totp, verified_at_ms)))
    }

    /// The `otpauth://totp/...` URI that authenticator apps import (Google Authenticator's Key
    /// URI format): the label is `issuer:account`, each percent-encoded, and the issuer is
    /// repeated as a parameter. It contains the secret, so it is zeroizing.
    pub fn provisioning_uri(
        &self,
        issuer: &str,
        account: &str,
        secret: &TotpSecret,
    ) -> Zeroizing<String> {
        let algorithm = match self.algorithm {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        };
        let issuer = percent_encode(issuer);
        let secret = secret.to_base32();
        Zeroizing::new(format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=\
             {algorithm}&digits={digits}&period={period}",
            account = percent_encode(account),
            secret = secret.as_str(),
            digits = self.digits,
            period = self.step_secs,
        ))
    }

    fn code_for_step(&self, secret: &TotpSecret, step: u64) -> Zeroizing<String> {
        let code = hotp(self.algorithm, &secret.bytes, step, self.digits);
        let width = usize::try_from(self.digits).unwrap_or(6);
        Zeroizing::new(format!("{code:0width$}"))
    }

    /// The code's value, after removing spaces and checking it is `digits` ASCII digits.
    fn parse_code(&self, code: &str) -> Result<u32, TotpError> {
        if code.len() > MAX_CODE_INPUT_BYTES {
            return Err(TotpError::Malformed);
        }
        let mut value: u32 = 0;
        let mut digit_count: u32 = 0;
        for byte in code.bytes().filter(|byte| *byte != b' ') {
            if !byte.is_ascii_digit() || digit_count == self.digits {
                return Err(TotpError::Malformed);
            }
            // At most 8 digits, so this stays below 10^8 < 2^32.
            value = value * 10 + u32::from(byte - b'0');
            digit_count += 1;
        }
        if digit_count != self.digits {
            return Err(TotpError::Malformed);
        }
        Ok(value)
    }
}

/// An SVG image of a QR code (error correction level M) for `uri`, as the `qrcode` crate renders
/// it: an XML declaration, then `<svg>` with one `<rect>` (the light background) and one `<path>`
/// (the dark modules), colours given as `fill` attributes. It has no `<script>`, no `style`
/// element and no `style` attribute, so it is allowed under a Content-Security-Policy without
/// `unsafe-inline` (the tests check this). Serve it as `image/svg+xml` or embed it via `<img>`.
///
/// The result encodes the secret, so it is zeroizing; the `qrcode` crate's intermediate buffers
/// are not wiped.
pub fn qr_svg(uri: &str) -> Result<Zeroizing<String>, TotpError> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|_| TotpError::QrDataTooLong)?;
    Ok(Zeroizing::new(
        code.render::<svg::Color<'_>>()
            .min_dimensions(QR_MIN_SIZE, QR_MIN_SIZE)
            .build(),
    ))
}

/// HOTP (RFC 4226 §5.3): HMAC of the big-endian counter, dynamic truncation to 31 bits, the low
/// `digits` decimal digits. Dynamic truncation reads the offset from the last byte of the MAC,
/// as RFC 6238's reference code does for SHA-256 and SHA-512.
fn hotp(algorithm: Algorithm, key: &[u8], counter: u64, digits: u32) -> u32 {
    let message = counter.to_be_bytes();
    let mac = match algorithm {
        Algorithm::Sha1 => hmac_bytes::<Hmac<sha1::Sha1>>(key, &message),
        Algorithm::Sha256 => hmac_bytes::<Hmac<sha2::Sha256>>(key, &message),
        Algorithm::Sha512 => hmac_bytes::<Hmac<sha2::Sha512>>(key, &message),
    };
    // The MAC is at least 20 bytes and the offset at most 15, so offset + 3 < 20: the indexing
    // below stays in bounds for every algorithm, whatever the input.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let truncated = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    truncated % 10u32.pow(digits)
}

fn hmac_bytes<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut mac =
        <M as Mac>::new_from_slice(key).expect("invariant: HMAC accepts keys of any length");
    mac.update(message);
    Zeroizing::new(mac.finalize().into_bytes().to_vec())
}

/// RFC 4648 base32 without padding.
fn base32_encode(bytes: &[u8]) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::with_capacity(bytes.len().div_ceil(5) * 8));
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            text.push(base32_symbol(buffer >> bits));
        }
        // Only the unconsumed low bits matter; masking keeps the shifts from overflowing.
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        text.push(base32_symbol(buffer << (5 - bits)));
    }
    buffer.zeroize();
    text
}

/// RFC 4648 base32 decoding; `None` for any character outside the alphabet, a length that no
/// byte string encodes to, or non-zero bits in the unused tail (so each secret has exactly one
/// accepted spelling, apart from case and padding).
fn base32_decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let unpadded = text.trim_end_matches('=');
    let padding = text.len() - unpadded.len();
    // Padding, if any, completes the last 8-symbol block and is shorter than a block.
    if padding > 0 && (!text.len().is_multiple_of(8) || padding >= 8) {
        return None;
    }
    // Lengths 1, 3 and 6 (mod 8) leave a partial byte of 5 or more bits; no input encodes so.
    if matches!(unpadded.len() % 8, 1 | 3 | 6) {
        return None;
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(unpadded.len() * 5 / 8));
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    for symbol in unpadded.bytes() {
        let value = base32_value(symbol)?;
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            // Masked to one byte, so the conversion cannot fail.
            bytes.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
        buffer &= (1 << bits) - 1;
    }
    let canonical = buffer == 0;
    buffer.zeroize();
    canonical.then_some(bytes)
}

fn base32_symbol(value: u32) -> char {
    // The value is masked to five bits, so the index is always in the alphabet.
    char::from(BASE32_ALPHABET[usize::try_from(value & 0x1f).unwrap_or(0)])
}

fn base32_value(symbol: u8) -> Option<u8> {
    match symbol {
        b'A'..=b'Z' => Some(symbol - b'A'),
        b'a'..=b'z' => Some(symbol - b'a'),
        b'2'..=b'7' => Some(symbol - b'2' + 26),
        _ => None,
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so issuer and account names
/// cannot inject a `:`, `?`, `&` or `#` into the URI.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1_SEED: &[u8] = b"12345678901234567890";
    const SHA256_SEED: &[u8] = b"12345678901234567890123456789012";
    const SHA512_SEED: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    fn secret(bytes: &[u8]) -> TotpSecret {
        TotpSecret::from_bytes(bytes).expect("a valid secret")
    }

    #[test]
    fn rfc_6238_appendix_b_vectors() {
        // (time, SHA-1, SHA-256, SHA-512), 8 digits, 30-second steps, T0 = 0.
        let vectors: &[(u64, &str, &str, &str)] = &[
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        let suites = [
            (Algorithm::Sha1, secret(SHA1_SEED)),
            (Algorithm::Sha256, secret(SHA256_SEED)),
            (Algorithm::Sha512, secret(SHA512_SEED)),
        ];
        for (time, sha1, sha256, sha512) in vectors {
            for ((algorithm, seed), expected) in suites.iter().zip([sha1, sha256, sha512]) {
                let totp = Totp::new(*algorithm, 8, 30).expect("valid parameters");
                assert_eq!(
                    totp.code_at(seed, *time).as_str(),
                    *expected,
                    "{algorithm:?} at {time}"
                );
                // And the same code verifies at that time.
                let step = totp.verify(seed, expected, *time, None).expect("verifies");
                assert_eq!(step, time / 30);
            }
        }
    }

    #[test]
    fn rfc_4226_appendix_d_vectors() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            let counter = u64::try_from(counter).expect("small");
            let value = hotp(Algorithm::Sha1, SHA1_SEED, counter, 6);
            assert_eq!(format!("{value:06}"), *code, "counter {counter}");
        }
    }

    #[test]
    fn drift_of_one_step_is_accepted_and_two_refused() {
        let totp = Totp::default();
        let secret = secret(SHA1_SEED);
        let now = 1_700_000_015;
        let step = totp.step_at(now);
        let cases: &[(i64, Result<u64, TotpError>)] = &[
            (-2, Err(TotpError::Invalid)),
            (-1, Ok(step - 1)),
            (0, Ok(step)),
            (1, Ok(step + 1)),
            (2, Err(TotpError::Invalid)),
        ];
        for (offset, expected) in cases {
            let code_step = step.checked_add_signed(*offset).expect("in range");
            let code = totp.code_for_step(&secret, code_step);
            assert_eq!(
                totp.verify(&secret, &code, now, None),
                *expected,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn codes_are_single_use() {
        let totp = Totp::default();
        let secret = secret(SHA1_SEED);
        let now = 1_700_000_015;
        let step = totp.step_at(now);
        let current = totp.code_at(&secret, now);
        let previous = totp.code_for_step(&secret, step - 1);
        let next = totp.code_for_step(&secret, step + 1);

        let used = totp
            .verify(&secret, &current, now, None)
            .expect("first use");
        assert_eq!(used, step);
        // (code, time, last used step, expected)
        type Case<'a> = (&'a str, u64, Option<u64>, Result<u64, TotpError>);
        let cases: &[Case<'_>] = &[
            // The same code again, in the same step or the next.
            (current.as_str(), now, Some(used), Err(TotpError::Replayed)),
            (
                current.as_str(),
                now + 30,
                Some(used),
                Err(TotpError::Replayed),
            ),
            // An older code after a newer one was used.
            (previous.as_str(), now, Some(used), Err(TotpError::Replayed)),
            // The next step's code is still fine.
            (next.as_str(), now, Some(used), Ok(step + 1)),
            // A last-used step in the future (clock moved back) refuses everything up to it.
            (next.as_str(), now, Some(step + 1), Err(TotpError::Replayed)),
            // A wrong code is invalid, not replayed.
            ("000000", now, Some(used), Err(TotpError::Invalid)),
        ];
        for (code, time, last_used, expected) in cases {
            assert_eq!(
                totp.verify(&secret, code, *time, *last_used),
                *expected,
                "{last_used:?}"
            );
        }
    }

    #[test]
    fn malformed_codes_are_refused() {
        let totp = Totp::default();
        let secret = secret(SHA1_SEED);
        let now = 59;
        let valid = totp.code_at(&secret, now);
        let spaced = format!("{} {}", &valid[..3], &valid[3..]);
        assert_eq!(totp.verify(&secret, &spaced, now, None), Ok(1));
        assert_eq!(
            totp.verify(&secret, &format!(" {}  ", valid.as_str()), now, None),
            Ok(1)
        );

        let too_long = "1".repeat(1_000);
        let cases = [
            "",
            "      ",
            "12345",
            "1234567",
            "12345a",
            "12-456",
            "１２３４５６", // full-width digits
            "+12345",
            "123456\n",
            "٣٤٥٦٧٨", // Arabic-Indic digits
            too_long.as_str(),
        ];
        for code in cases {
            assert_eq!(
                totp.verify(&secret, code, now, None),
                Err(TotpError::Malformed),
                "{code:?}"
            );
        }
        let eight = Totp::new(Algorithm::Sha1, 8, 30).expect("valid");
        assert_eq!(
            eight.verify(&secret, &valid, now, None),
            Err(TotpError::Malformed)
        );
    }

    #[test]
    fn times_at_the_edges_do_not_panic() {
        let totp = Totp::default();
        let secret = secret(SHA1_SEED);
        for time in [0, 1, 29, 30, u64::MAX - 1, u64::MAX] {
            let code = totp.code_at(&secret, time);
            assert_eq!(
                totp.verify(&secret, &code, time, None),
                Ok(totp.step_at(time))
            );
            assert_eq!(
                totp.verify(&secret, &code, time, Some(u64::MAX)),
                Err(TotpError::Replayed)
            );
        }
    }

    #[test]
    fn verify_for_login_gives_a_proof() {
        let totp = Totp::default();
        let secret = secret(SHA1_SEED);
        let code = totp.code_at(&secret, 1_700_000_000);
        let (step, proof) = totp
            .verify_for_login(&secret, &code, 1_700_000_000, None)
            .expect("verifies");
        assert_eq!(step, 1_700_000_000 / 30);
        assert_eq!(proof.method(), MfaMethod::Totp);
        assert_eq!(proof.verified_at_ms(), 1_700_000_000_000);
        assert!(totp
            .verify_for_login(&secret, &code, 1_700_000_000, Some(step))
            .is_err());
    }

    #[test]
    fn parameters_are_bounded() {
        let cases = [
            (6, 30, true),
            (8, 30, true),
            (7, 15, true),
            (6, 120, true),
            (5, 30, false),
            (9, 30, false),
            (10, 30, false),
            (6, 0, false),
            (6, 14, false),
            (6, 121, false),
        ];
        for (digits, step, valid) in cases {
            assert_eq!(
                Totp::new(Algorithm::Sha1, digits, step).is_ok(),
                valid,
                "{digits} digits, {step} s"
            );
        }
    }

    #[test]
    fn base32_matches_rfc_4648() {
        let vectors: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"f", "MY"),
            (b"fo", "MZXQ"),
            (b"foo", "MZXW6"),
            (b"foob", "MZXW6YQ"),
            (b"fooba", "MZXW6YTB"),
            (b"foobar", "MZXW6YTBOI"),
        ];
        for (bytes, text) in vectors {
            assert_eq!(base32_encode(bytes).as_str(), *text);
            assert_eq!(
                base32_decode(text).as_deref().map(Vec::as_slice),
                Some(*bytes)
            );
            assert_eq!(
                base32_decode(&text.to_lowercase())
                    .as_deref()
                    .map(Vec::as_slice),
                Some(*bytes)
            );
        }
        // With the RFC's padding.
        assert_eq!(
            base32_decode("MZXW6YQ=").as_deref().map(Vec::as_slice),
            Some(&b"foob"[..])
        );
        assert_eq!(
            base32_decode("MY======").as_deref().map(Vec::as_slice),
            Some(&b"f"[..])
        );
        for bad in [
            "M",
            "MZX",
            "MZXW6Y",
            "MZ=",
            "MY=====",
            "MZ!Q",
            "MZ0Q",
            "MZ1Q",
            "MZ",
            "MYA",
            "MZXW6YTB========",
        ] {
            // "MZ" has a non-zero bit in its unused tail; "MYA" is a length nothing encodes to.
            assert_eq!(base32_decode(bad).as_deref(), None, "{bad}");
        }
    }

    #[test]
    fn secrets_round_trip_through_base32() {
        let secret = TotpSecret::generate();
        assert_eq!(secret.expose_bytes().len(), 20);
        let text = secret.to_base32();
        assert_eq!(text.len(), 32);
        let parsed = TotpSecret::from_base32(&text).expect("parses");
        assert_eq!(parsed.expose_bytes(), secret.expose_bytes());
        assert_ne!(TotpSecret::generate().expose_bytes(), secret.expose_bytes());

        // The RFC seed, as authenticator apps would show it.
        assert_eq!(
            self::secret(SHA1_SEED).to_base32().as_str(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        for bad in ["", "GEZDGNBV", "not base32 at all!", &"A".repeat(200)] {
            assert_eq!(
                TotpSecret::from_base32(bad).map(|_| ()),
                Err(TotpError::InvalidSecret),
                "{bad}"
            );
        }
        for length in [0, 15, 65] {
            assert!(
                TotpSecret::from_bytes(&vec![1; length]).is_err(),
                "{length}"
            );
        }
    }

    #[test]
    fn provisioning_uri_is_well_formed_and_encoded() {
        let secret = secret(SHA1_SEED);
        let uri = Totp::default().provisioning_uri("Trygg", "anna@example.org", &secret);
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/Trygg:anna%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Trygg&algorithm=SHA1&digits=6&period=30"
        );
        let sha256 = Totp::new(Algorithm::Sha256, 8, 60).expect("valid");
        let uri = sha256.provisioning_uri("Nordbank & Co: Trygg", "Åsa Öberg?#", &secret);
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/Nordbank%20%26%20Co%3A%20Trygg:%C3%85sa%20%C3%96berg%3F%23\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Nordbank%20%26%20Co%3A%20Trygg\
             &algorithm=SHA256&digits=8&period=60"
        );
    }

    #[test]
    fn the_qr_code_svg_is_safe_under_our_csp() {
        let secret = secret(SHA1_SEED);
        let uri = Totp::default().provisioning_uri("Trygg", "anna@example.org", &secret);
        let image = qr_svg(&uri).expect("fits in a QR code");
        assert!(image.contains("<svg"), "an SVG image");
        assert!(image.contains("<path"), "with the dark modules as a path");
        for forbidden in [
            "<script",
            "style",
            "javascript:",
            "href",
            "<foreignObject",
            " on",
        ] {
            assert!(!image.contains(forbidden), "contains {forbidden:?}");
        }
        let too_long = "x".repeat(3_000);
        assert_eq!(qr_svg(&too_long).map(|_| ()), Err(TotpError::QrDataTooLong));
    }

    #[test]
    fn nothing_secret_is_printed() {
        let secret = secret(SHA1_SEED);
        let debug = format!("{secret:?}");
        assert_eq!(debug, "TotpSecret { bytes: \"<redacted>\" }");
        let totp = Totp::default();
        let code = totp.code_at(&secret, 59);
        for error in [
            TotpError::Malformed,
            TotpError::Invalid,
            TotpError::Replayed,
            TotpError::InvalidSecret,
            TotpError::InvalidParameters,
            TotpError::QrDataTooLong,
        ] {
            let message = error.to_string();
            assert!(!message.contains(code.as_str()));
            assert!(!message.contains("GEZDGNBV"));
        }
    }
}
