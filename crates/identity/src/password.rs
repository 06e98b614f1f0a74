//! Which passwords we accept, and how we store them.
//!
//! [`PasswordPolicy::check`] applies the rules of NIST SP 800-63B: a minimum length (15 characters
//! when the password is the only factor, 8 when a second factor is required), a maximum of at
//! least 64, and a refusal of passwords that are common (a shipped blocklist), built from the
//! user's context (name, e-mail, the service's name) or trivially repetitive. It deliberately has
//! no composition rules ("one digit, one symbol") and no expiry: both make people choose worse
//! passwords, and NIST forbids them. [`PasswordHasher`] stores accepted passwords as Argon2id PHC
//! strings, with no fewer than OWASP's parameters, and runs the hashing on tokio's blocking pool
//! behind a semaphore, so that a flood of login attempts queues instead of allocating 19 MiB per
//! request until the server runs out of memory.
//!
//! This module does not decide whether a user has a second factor, does not rate-limit attempts
//! (see [`crate::throttle`]) and does not store anything: the store keeps the PHC string. It
//! deliberately counts length in Unicode scalar values (`char`s) without normalising the text;
//! the same bytes always hash the same, and a user who types the same characters gets in.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{self, PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};
use zeroize::Zeroizing;

/// NIST SP 800-63B's floor for a password that is the only authentication factor.
pub const NIST_MIN_LEN_PASSWORD_ONLY: usize = 15;
/// NIST SP 800-63B's floor for a password used together with a second factor.
pub const NIST_MIN_LEN_WITH_MFA: usize = 8;
/// NIST SP 800-63B: verifiers must allow passwords of at least this many characters.
pub const NIST_MIN_MAX_LEN: usize = 64;
/// The largest `max_len` a policy may set, so that an accepted password always fits in
/// [`MAX_PASSWORD_BYTES`] (a `char` is at most 4 bytes in UTF-8).
pub const POLICY_MAX_LEN_LIMIT: usize = MAX_PASSWORD_BYTES / 4;
/// The longest password, in bytes, that [`PasswordHasher`] hashes or verifies. Anything longer
/// is refused before any work is done, so that a huge form field costs nothing.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// Context words that every password is checked against, whatever the caller passes: NIST's
/// example of a context-specific word is the name of the service itself.
const SERVICE_WORDS: &[&str] = &["trygg"];

/// Context words (and the parts of them split at non-alphanumeric characters) shorter than this
/// are not checked: a two-letter name inside a long passphrase does not make it guessable.
const MIN_CONTEXT_WORD_CHARS: usize = 4;

/// A password made of one unit of at most this many characters, repeated ("abababab",
/// "123123123"), is as guessable as one repeated character.
const MAX_REPEATED_UNIT_CHARS: usize = 4;

/// The blocklist, one lower-case password per line; see `data/README.md` for its source.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// Length limits for new passwords.
///
/// The fields are public so that the configuration can set them, and [`PasswordPolicy::validate`]
/// tells the operator at start-up if a value is weaker than NIST allows. [`PasswordPolicy::check`]
/// never applies a weaker value even if `validate` was skipped: it raises the minimums to NIST's
/// floors and the maximum to at least 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length when the password is the only factor (at least 15).
    pub min_len_password_only: usize,
    /// Minimum length when the account also has a second factor (at least 8).
    pub min_len_with_mfa: usize,
    /// Maximum length (at least 64, at most [`POLICY_MAX_LEN_LIMIT`]).
    pub max_len: usize,
}

/// Why a new password was refused. The messages say what to do and never repeat the password;
/// the web client localises by variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    #[error(
        "the password is too short: use at least {min} characters (a few words make a good one)"
    )]
    TooShort { min: usize },
    #[error("the password is too long: use at most {max} characters")]
    TooLong { max: usize },
    #[error(
        "this password is one of the most common passwords, which attackers try first: choose \
         another"
    )]
    Common,
    #[error(
        "the password contains your name, your e-mail address or the name of this service, which \
         attackers try first: choose one without them"
    )]
    ContextSpecific,
    #[error(
        "the password is a repeated character, a repeated short pattern or a simple sequence such \
         as \"abcdefgh\" or \"12345678\": choose one that is harder to guess"
    )]
    Repetitive,
}

/// A [`PasswordPolicy`] value that NIST SP 800-63B does not allow. Raised at start-up, never on a
/// user's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "min_len_password_only must be at least {NIST_MIN_LEN_PASSWORD_ONLY} (NIST SP 800-63B)"
    )]
    PasswordOnlyMinimumTooLow,
    #[error("min_len_with_mfa must be at least {NIST_MIN_LEN_WITH_MFA} (NIST SP 800-63B)")]
    MfaMinimumTooLow,
    #[error(
        "max_len must be at least {NIST_MIN_MAX_LEN} (NIST SP 800-63B) and at least each minimum"
    )]
    MaximumTooLow,
    #[error("max_len must be at most {POLICY_MAX_LEN_LIMIT}, so that hashing stays bounded")]
    MaximumTooHigh,
}

/// Argon2id cost parameters, never below OWASP's recommendation (m = 19456 KiB, t = 2, p = 1).
///
/// The fields are private so that weaker parameters cannot be constructed: [`HashParams::new`]
/// refuses them. The upper bounds keep a mistyped configuration from needing more memory per
/// hash than a server has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashParams {
    params: Params,
}

/// Why hashing or verifying failed. None of the messages contain the password or the stored
/// hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error(
        "the Argon2id parameters are below the minimum (m = {} KiB, t = {}, p = {}): raise them",
        HashParams::MIN_MEMORY_KIB,
        HashParams::MIN_ITERATIONS,
        HashParams::MIN_PARALLELISM
    )]
    ParamsBelowMinimum,
    #[error(
        "the Argon2id parameters are above the maximum (m = {} KiB, t = {}, p = {}): lower them",
        HashParams::MAX_MEMORY_KIB,
        HashParams::MAX_ITERATIONS,
        HashParams::MAX_PARALLELISM
    )]
    ParamsAboveMaximum,
    #[error("the password is longer than {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
    #[error("the stored password hash is not a valid PHC string")]
    MalformedHash,
    #[error(
        "the stored password hash uses an algorithm or parameters that this server does not \
         verify (only Argon2id within the parameter maximums)"
    )]
    UnsupportedHash,
    #[error("the password hashing worker failed")]
    Internal,
}

/// Hashes and verifies passwords with Argon2id, at most `max_concurrent` at a time.
///
/// Each call waits for a semaphore permit and then runs on tokio's blocking thread pool, holding
/// the permit until the hash is done, even if the caller stops waiting: so at most
/// `max_concurrent × memory_kib` KiB are ever in use for hashing, however many requests arrive.
pub struct PasswordHasher {
    params: HashParams,
    max_concurrent: usize,
    permits: Arc<Semaphore>,
    workers: Workers,
    /// The PHC string that [`PasswordHasher::verify_dummy`] verifies against: the hash of a random
    /// password, made with this hasher's parameters the first time it is needed, so an unknown
    /// user costs the same Argon2 work as a known one.
    dummy_phc: OnceCell<String>,
}

impl Default for PasswordPolicy {
    fn default() -> PasswordPolicy {
        PasswordPolicy {
            min_len_password_only: NIST_MIN_LEN_PASSWORD_ONLY,
            min_len_with_mfa: NIST_MIN_LEN_WITH_MFA,
            max_len: 128,
        }
    }
}

impl PasswordPolicy {
    /// Whether these limits are allowed; call it when loading the configuration so that a weak
    /// value is an error the operator sees rather than a value that [`PasswordPolicy::check`]
    /// quietly raises.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.min_len_password_only < NIST_MIN_LEN_PASSWORD_ONLY {
            return Err(PolicyError::PasswordOnlyMinimumTooLow);
        }
        if self.min_len_with_mfa < NIST_MIN_LEN_WITH_MFA {
            return Err(PolicyError::MfaMinimumTooLow);
        }
        if self.max_len < NIST_MIN_MAX_LEN
            || self.max_len < self.min_len_password_only
            || self.max_len < self.min_len_with_mfa
        {
            return Err(PolicyError::MaximumTooLow);
        }
        if self.max_len > POLICY_MAX_LEN_LIMIT {
            return Err(PolicyError::MaximumTooHigh);
        }
        Ok(())
    }

    /// Whether `password` may be set as a new password.
    ///
    /// `has_mfa` says whether the account will also need a second factor (the shorter minimum
    /// applies). `context_words` are words an attacker would try for this user: their name, the
    /// local part of their e-mail address, the organisation's name. Each is also split at
    /// non-alphanumeric characters ("anna.berg" also checks "anna" and "berg"); words and parts
    /// shorter than 4 characters are ignored. "trygg" is always checked.
    ///
    /// Checks run in this order and the first failure is returned: length, blocklist, context
    /// words, repetition. Comparisons ignore case.
    pub fn check(
        &self,
        password: &str,
        has_mfa: bool,
        context_words: &[&str],
    ) -> Result<(), PasswordRejection> {
        let configured_min = if has_mfa {
            self.min_len_with_mfa.max(NIST_MIN_LEN_WITH_MFA)
        } else {
            self.min_len_password_only.max(NIST_MIN_LEN_PASSWORD_ONLY)
        };
        // NIST's floors win over a misconfigured policy (see the type's documentation), and the
        // ceiling keeps every accepted password within what the hasher takes.
        let min = configured_min.min(POLICY_MAX_LEN_LIMIT);
        let max = self
            .max_len
            .clamp(NIST_MIN_MAX_LEN, POLICY_MAX_LEN_LIMIT)
            .max(min);

        // Counting stops just past the maximum, so a megabyte of input is not walked in full.
        let length = password.chars().take(max + 1).count();
        if length < min {
            return Err(PasswordRejection::TooShort { min });
        }
        if length > max {
            return Err(PasswordRejection::TooLong { max });
        }

        let lowered = Zeroizing::new(password.to_lowercase());
        if blocklist().contains(lowered.as_str()) {
            return Err(PasswordRejection::Common);
        }
        if contains_context_word(&lowered, context_words) {
            return Err(PasswordRejection::ContextSpecific);
        }
        if is_repetitive(&lowered) {
            return Err(PasswordRejection::Repetitive);
        }
        Ok(())
    }
}

impl HashParams {
    /// OWASP's minimum memory cost for Argon2id, in KiB (19 MiB).
    pub const MIN_MEMORY_KIB: u32 = 19_456;
    /// OWASP's minimum number of passes at that memory cost.
    pub const MIN_ITERATIONS: u32 = 2;
    /// OWASP's minimum degree of parallelism.
    pub const MIN_PARALLELISM: u32 = 1;
    /// 1 GiB per hash: more than any sensible setting, little enough that a typo is caught.
    pub const MAX_MEMORY_KIB: u32 = 1_048_576;
    /// Far above any setting that keeps a login under a second.
    pub const MAX_ITERATIONS: u32 = 64;
    /// This build computes lanes one after another, so more lanes only cost time.
    pub const MAX_PARALLELISM: u32 = 16;

    /// Parameters of at least OWASP's strength and at most the maximums above.
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<HashParams, HashError> {
        if memory_kib < HashParams::MIN_MEMORY_KIB
            || iterations < HashParams::MIN_ITERATIONS
            || parallelism < HashParams::MIN_PARALLELISM
        {
            return Err(HashError::ParamsBelowMinimum);
        }
        if memory_kib > HashParams::MAX_MEMORY_KIB
            || iterations > HashParams::MAX_ITERATIONS
            || parallelism > HashParams::MAX_PARALLELISM
        {
            return Err(HashError::ParamsAboveMaximum);
        }
        let params = Params::new(memory_kib, iterations, parallelism, None)
            // Argon2 also requires m >= 8 p, which our bounds imply (19456 >= 8 * 16); an error
            // here would be a bound we did not foresee, so it is reported, not unwrapped.
            .map_err(|_| HashError::ParamsAboveMaximum)?;
        Ok(HashParams { params })
    }

    pub fn memory_kib(&self) -> u32 {
        self.params.m_cost()
    }

    pub fn iterations(&self) -> u32 {
        self.params.t_cost()
    }

    pub fn parallelism(&self) -> u32 {
        self.params.p_cost()
    }

    /// Cheap parameters below the minimum, so that unit tests in debug builds stay fast; the
    /// tests of the real parameters use [`HashParams::default`].
    #[cfg(test)]
    pub(crate) fn danger_weak_for_tests() -> HashParams {
        let params = Params::new(64, 1, 1, None).expect("invariant: valid Argon2 parameters");
        HashParams { params }
    }
}

impl Default for HashParams {
    /// OWASP's recommendation: m = 19456 KiB, t = 2, p = 1.
    fn default() -> HashParams {
        let params = Params::new(
            HashParams::MIN_MEMORY_KIB,
            HashParams::MIN_ITERATIONS,
            HashParams::MIN_PARALLELISM,
            None,
        )
        .expect("invariant: OWASP's parameters are valid Argon2 parameters");
        HashParams { params }
    }
}

impl PasswordHasher {
    /// A hasher that runs at most `max_concurrent` hashes at once (0 is taken as 1, since no
    /// login could ever finish otherwise).
    pub fn new(params: HashParams, max_concurrent: usize) -> PasswordHasher {
        let max_concurrent = max_concurrent.clamp(1, Semaphore::MAX_PERMITS);
        PasswordHasher {
            params,
            max_concurrent,
            permits: Arc::new(Semaphore::new(max_concurrent)),
            workers: Workers::start(max_concurrent),
            dummy_phc: OnceCell::new(),
        }
    }

    pub fn params(&self) -> &HashParams {
        &self.params
    }

    /// A PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`) of `password` with a fresh
    /// 128-bit salt.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(HashError::PasswordTooLong);
        }
        let password = Zeroizing::new(password.to_owned());
        let params = self.params.params.clone();
        self.run_blocking(move || {
            let mut salt_bytes = [0u8; 16];
            crate::fill_random(&mut salt_bytes);
            let salt = password_hash::SaltString::encode_b64(&salt_bytes)
                .map_err(|_| HashError::Internal)?;
            let mut output = Zeroizing::new(vec![
                0u8;
                params
                    .output_len()
                    .unwrap_or(Params::DEFAULT_OUTPUT_LEN)
            ]);
            argon2_with_worker_memory(&params, password.as_bytes(), &salt_bytes, &mut output)?;
            let output = password_hash::Output::new(&output).map_err(|_| HashError::Internal)?;
            let phc = PasswordHash {
                algorithm: argon2::ARGON2ID_IDENT,
                version: Some(Version::V0x13.into()),
                params: (&params).try_into().map_err(|_| HashError::Internal)?,
                salt: Some(salt.as_salt()),
                hash: Some(output),
            };
            Ok(phc.to_string())
        })
        .await
    }

    /// Whether `password` matches the stored PHC string `phc`. The parameters are taken from
    /// `phc`, so hashes made with older (weaker) parameters still verify; check
    /// [`PasswordHasher::needs_rehash`] after a successful login.
    ///
    /// A password longer than [`MAX_PASSWORD_BYTES`] cannot have been stored, so it is `false`
    /// at once (as in [`PasswordHasher::verify_dummy`], so this reveals nothing about the user).
    /// A `phc` that does not parse, or that is not Argon2id within the parameter maximums, is an
    /// error: the stored value is not trusted to set how much memory we allocate.
    pub async fn verify(&self, phc: &str, password: &str) -> Result<bool, HashError> {
        // Checked before waiting for a permit, so a broken row fails fast.
        parse_supported(phc)?;
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        let phc = phc.to_owned();
        let password = Zeroizing::new(password.to_owned());
        self.run_blocking(move || {
            let hash = parse_supported(&phc)?;
            let expected = hash.hash.ok_or(HashError::MalformedHash)?;
            let mut salt_buffer = [0u8; password_hash::Salt::MAX_LENGTH];
            let salt = hash
                .salt
                .ok_or(HashError::MalformedHash)?
                .decode_b64(&mut salt_buffer)
                .map_err(|_| HashError::MalformedHash)?;
            let stored = Params::try_from(&hash).map_err(|_| HashError::MalformedHash)?;
            let params = Params::new(
                stored.m_cost(),
                stored.t_cost(),
                stored.p_cost(),
                Some(expected.len()),
            )
            .map_err(|_| HashError::MalformedHash)?;
            let mut output = Zeroizing::new(vec![0u8; expected.len()]);
            argon2_with_worker_memory(&params, password.as_bytes(), salt, &mut output)?;
            // Output's equality is constant-time.
            let computed = password_hash::Output::new(&output).map_err(|_| HashError::Internal)?;
            Ok(computed == expected)
        })
        .await
    }

    /// Spends the same work as [`PasswordHasher::verify`] on a hash that nothing matches; call
    /// it when the user does not exist, so that "no such user" and "wrong password" take the
    /// same time and cannot be told apart. The dummy hash is made once per hasher, on the first
    /// call (which therefore takes about twice as long, once).
    pub async fn verify_dummy(&self, password: &str) {
        let dummy_phc = self
            .dummy_phc
            .get_or_try_init(|| async {
                let mut random_password = Zeroizing::new([0u8; 32]);
                crate::fill_random(&mut random_password[..]);
                let random_password = Zeroizing::new(hex_encode(&random_password[..]));
                self.hash(&random_password).await
            })
            .await;
        // Both outcomes are deliberately ignored: the point is the time spent. If the dummy could
        // not be made (an internal failure, not input), the real path would fail the same way.
        if let Ok(dummy_phc) = dummy_phc {
            let _ = self.verify(dummy_phc, password).await;
        }
    }

    /// Whether `phc` should be replaced by a fresh hash (after the user has logged in with the
    /// password): it is not Argon2id version 19, or any of its parameters is below this
    /// hasher's. A string that does not parse also needs replacing, so it is `true`; `verify`
    /// will have refused it anyway.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else {
            return true;
        };
        if hash.algorithm != argon2::ARGON2ID_IDENT
            || hash
                .version
                .is_some_and(|version| version != u32::from(Version::V0x13))
        {
            return true;
        }
        let Ok(stored) = Params::try_from(&hash) else {
            return true;
        };
        stored.m_cost() < self.params.memory_kib()
            || stored.t_cost() < self.params.iterations()
            || stored.p_cost() < self.params.parallelism()
    }

    /// Runs `work` on the hashing threads once a permit is free, holding the permit inside the
    /// job: if the caller's future is dropped, the running hash still counts against the limit
    /// until it ends.
    async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        // The semaphore is never closed, so acquiring only fails if that changes.
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| HashError::Internal)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic inside Argon2 would be a bug there; it must not take a worker with it.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                .unwrap_or(Err(HashError::Internal));
            // The permit goes back before the answer, so a caller that sees the answer sees
            // the permit free again.
            drop(permit);
            // A caller that stopped waiting does not need the answer.
            let _ = reply.send(result);
        });
        self.workers.submit(job)?;
        answer.await.map_err(|_| HashError::Internal)?
    }
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PasswordHasher")
            .field("params", &self.params)
            .field("max_concurrent", &self.max_concurrent)
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// The Argon2 memory of this hashing thread, allocated once at the largest size needed and
    /// reused, so the process holds `max_concurrent` blocks of it and never more.
    static WORKER_MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs Argon2id with `params` into `output`, in this thread's reusable memory, which is wiped
/// afterwards (it holds values derived from the password).
fn argon2_with_worker_memory(
    params: &Params,
    password: &[u8],
    salt: &[u8],
    output: &mut [u8],
) -> Result<(), HashError> {
    use zeroize::Zeroize as _;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    WORKER_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let needed = params.block_count();
        if memory.len() < needed {
            memory.resize(needed, argon2::Block::default());
        }
        let result = argon2
            .hash_password_into_with_memory(password, salt, output, &mut memory[..needed])
            .map_err(|_| HashError::MalformedHash);
        memory[..needed]
            .iter_mut()
            .for_each(|block| block.zeroize());
        result
    })
}

/// A unit of hashing work for the worker threads.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The threads that run Argon2, one per allowed concurrent hash. Dedicated threads, rather than
/// tokio's blocking pool (which may run each hash on a different thread), keep the allocator's
/// per-thread arenas to `max_concurrent`: each arena can keep a freed 19 MiB Argon2 block, so
/// with the blocking pool a flood of sign-ins grew the process by hundreds of MiB even though
/// only `max_concurrent` hashes ever ran at once. The threads end when the hasher is dropped.
struct Workers {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
}

impl Workers {
    fn start(count: usize) -> Workers {
        let (sender, receiver) = std::sync::mpsc::channel::<Job>();
        let receiver = Arc::new(std::sync::Mutex::new(receiver));
        for index in 0..count.max(1) {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("trygg-argon2-{index}"))
                .spawn(move || loop {
                    // A poisoned lock only means another worker panicked while waiting, which
                    // leaves the receiver intact.
                    let next = receiver
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .recv();
                    match next {
                        Ok(job) => job(),
                        Err(_) => break,
                    }
                })
                // Invariant: this runs at start-up, where failing to start a thread is fatal
                // anyway; it never runs on a request.
                .expect("the operating system starts a hashing thread");
        }
        Workers {
            jobs: std::sync::Mutex::new(sender),
        }
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .send(job)
            .map_err(|_| HashError::Internal)
    }
}

/// The blocklist as a set, built on first use.
fn blocklist() -> &'static HashSet<&'static str> {
    static BLOCKLIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    BLOCKLIST.get_or_init(|| {
        COMMON_PASSWORDS
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect()
    })
}

/// Parses a stored PHC string, refusing anything but Argon2id within our parameter maximums.
fn parse_supported(phc: &str) -> Result<PasswordHash<'_>, HashError> {
    let hash = PasswordHash::new(phc).map_err(|_| HashError::MalformedHash)?;
    if hash.algorithm != argon2::ARGON2ID_IDENT {
        return Err(HashError::UnsupportedHash);
    }
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(HashError::MalformedHash);
    }
    let params = Params::try_from(&hash).map_err(|_| HashError::MalformedHash)?;
    if params.m_cost() > HashParams::MAX_MEMORY_KIB
        || params.t_cost() > HashParams::MAX_ITERATIONS
        || params.p_cost() > HashParams::MAX_PARALLELISM
    {
        return Err(HashError::UnsupportedHash);
    }
    Ok(hash)
}

/// Whether the lower-cased password contains one of the context words (or one of their
/// alphanumeric parts) of at least [`MIN_CONTEXT_WORD_CHARS`] characters, or a service word.
fn contains_context_word(lowered_password: &str, context_words: &[&str]) -> bool {
    let caller_words = context_words.iter().flat_map(|word| {
        std::iter::once(*word).chain(word.split(|character: char| !character.is_alphanumeric()))
    });
    SERVICE_WORDS
        .iter()
        .copied()
        .chain(caller_words)
        .map(str::trim)
        .filter(|word| word.chars().count() >= MIN_CONTEXT_WORD_CHARS)
        .any(|word| lowered_password.contains(word.to_lowercase().as_str()))
}

/// Whether the whole (lower-cased) password is one character or a unit of up to
/// [`MAX_REPEATED_UNIT_CHARS`] characters repeated, or a run of consecutive code points going
/// up ("abcdefgh", "12345678") or down ("87654321").
fn is_repetitive(lowered_password: &str) -> bool {
    let length = lowered_password.chars().count();
    let repeats_unit = |unit: usize| {
        lowered_password
            .chars()
            .zip(lowered_password.chars().skip(unit))
            .all(|(earlier, later)| earlier == later)
    };
    // A unit must occur at least twice for the password to be "repeated".
    if (1..=MAX_REPEATED_UNIT_CHARS.min(length / 2)).any(repeats_unit) {
        return true;
    }
    let steps = || {
        lowered_password
            .chars()
            .zip(lowered_password.chars().skip(1))
            .map(|(earlier, later)| i64::from(u32::from(later)) - i64::from(u32::from(earlier)))
    };
    length >= 2 && (steps().all(|step| step == 1) || steps().all(|step| step == -1))
}

fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_CONTEXT: &[&str] = &[];

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime builds")
    }

    #[test]
    fn the_default_policy_is_nists() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.min_len_password_only, 15);
        assert_eq!(policy.min_len_with_mfa, 8);
        assert_eq!(policy.max_len, 128);
        assert_eq!(policy.validate(), Ok(()));
    }

    #[test]
    fn lengths_are_checked_in_characters() {
        let policy = PasswordPolicy::default();
        let cases: &[(&str, bool, Result<(), PasswordRejection>)] = &[
            ("", false, Err(PasswordRejection::TooShort { min: 15 })),
            ("", true, Err(PasswordRejection::TooShort { min: 8 })),
            ("kvxtrmwq", true, Ok(())),
            ("kvxtrmw", true, Err(PasswordRejection::TooShort { min: 8 })),
            (
                "kvxtrmwq",
                false,
                Err(PasswordRejection::TooShort { min: 15 }),
            ),
            ("kvxtrmwqpzhjnbg", false, Ok(())),
            (
                "kvxtrmwqpzhjnb",
                false,
                Err(PasswordRejection::TooShort { min: 15 }),
            ),
            // Eight characters, sixteen bytes: characters count, not bytes.
            ("åäöæøœßþ", true, Ok(())),
            ("åäöæøœß", true, Err(PasswordRejection::TooShort { min: 8 })),
            // These emoji are one scalar value each.
            ("🔒🚪🔑📎🧭🪪🌲🐟", true, Ok(())),
            (
                "🔒🚪🔑📎🧭🪪🌲",
                true,
                Err(PasswordRejection::TooShort { min: 8 }),
            ),
        ];
        for (password, has_mfa, expected) in cases {
            assert_eq!(
                policy.check(password, *has_mfa, NO_CONTEXT),
                *expected,
                "{password:?} mfa={has_mfa}"
            );
        }
    }

    #[test]
    fn at_least_64_and_up_to_the_maximum_are_allowed() {
        let policy = PasswordPolicy::default();
        let sentence = "the quiet heron waits by the frozen canal until spring returns to us all";
        assert!(sentence.chars().count() > 64);
        assert_eq!(policy.check(sentence, false, NO_CONTEXT), Ok(()));

        let words = [
            "heron", "canal", "frost", "amber", "quilt", "mossy", "dunes",
        ];
        let long: String = words.iter().cycle().take(30).copied().collect();
        assert_eq!(long.chars().count(), 150);
        assert_eq!(
            policy.check(&long[..128], false, NO_CONTEXT),
            Ok(()),
            "exactly 128 is allowed"
        );
        assert_eq!(
            policy.check(&long[..129], false, NO_CONTEXT),
            Err(PasswordRejection::TooLong { max: 128 })
        );
        let huge = "x".repeat(10_000_000);
        assert_eq!(
            policy.check(&huge, false, NO_CONTEXT),
            Err(PasswordRejection::TooLong { max: 128 })
        );
    }

    #[test]
    fn a_weak_policy_is_refused_by_validate_and_raised_by_check() {
        let cases = [
            (
                PasswordPolicy {
                    min_len_password_only: 12,
                    ..PasswordPolicy::default()
                },
                PolicyError::PasswordOnlyMinimumTooLow,
            ),
            (
                PasswordPolicy {
                    min_len_with_mfa: 6,
                    ..PasswordPolicy::default()
                },
                PolicyError::MfaMinimumTooLow,
            ),
            (
                PasswordPolicy {
                    max_len: 32,
                    ..PasswordPolicy::default()
                },
                PolicyError::MaximumTooLow,
            ),
            (
                PasswordPolicy {
                    min_len_password_only: 100,
                    max_len: 64,
                    ..PasswordPolicy::default()
                },
                PolicyError::MaximumTooLow,
            ),
            (
                PasswordPolicy {
                    max_len: 5000,
                    ..PasswordPolicy::default()
                },
                PolicyError::MaximumTooHigh,
            ),
        ];
        for (policy, expected) in cases {
            assert_eq!(policy.validate(), Err(expected), "{policy:?}");
        }

        let weak = PasswordPolicy {
            min_len_password_only: 4,
            min_len_with_mfa: 2,
            max_len: 10,
        };
        assert_eq!(
            weak.check("kvxtrmwqpzhj", false, NO_CONTEXT),
            Err(PasswordRejection::TooShort { min: 15 })
        );
        assert_eq!(
            weak.check("kvxtrm", true, NO_CONTEXT),
            Err(PasswordRejection::TooShort { min: 8 })
        );
        let sixty_four = "kvxtrmwq".repeat(8);
        // Not repetitive by our rule (the unit is longer than four characters).
        assert_eq!(weak.check(&sixty_four, true, NO_CONTEXT), Ok(()));
        // A minimum above the maximum raises the maximum rather than refusing everything.
        let odd = PasswordPolicy {
            min_len_password_only: 80,
            min_len_with_mfa: 8,
            max_len: 64,
        };
        assert_eq!(
            odd.check(&"kvxtrmwqp".repeat(9)[..80], false, NO_CONTEXT),
            Ok(())
        );
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        let policy = PasswordPolicy::default();
        for password in [
            "password", "PASSWORD", "Password", "baseball", "iloveyou", "trustno1",
        ] {
            assert_eq!(
                policy.check(password, true, NO_CONTEXT),
                Err(PasswordRejection::Common),
                "{password}"
            );
        }
        // Long blocklisted ones are refused without MFA too.
        let long_common = blocklist()
            .iter()
            .find(|entry| entry.chars().count() >= 15)
            .expect("the blocklist has entries of 15 characters or more");
        assert_eq!(
            policy.check(long_common, false, NO_CONTEXT),
            Err(PasswordRejection::Common)
        );
    }

    #[test]
    fn the_blocklist_file_is_well_formed() {
        let entries: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert!(
            (10_000..=30_000).contains(&entries.len()),
            "{} entries",
            entries.len()
        );
        assert_eq!(blocklist().len(), entries.len(), "no duplicates");
        for entry in entries {
            assert!(entry.chars().count() >= 8, "too short: {entry}");
            assert_eq!(entry, entry.to_lowercase(), "not lower case: {entry}");
            assert_eq!(entry, entry.trim(), "surrounding white space: {entry}");
        }
    }

    #[test]
    fn context_words_are_refused() {
        let policy = PasswordPolicy::default();
        let context = &["Annika Bergström", "annika.bergstrom", "Nordbank", "Li"];
        let cases: &[(&str, Result<(), PasswordRejection>)] = &[
            (
                "my trygg login is great",
                Err(PasswordRejection::ContextSpecific),
            ),
            ("TRYGGhetsnarkoman", Err(PasswordRejection::ContextSpecific)),
            (
                "annikas secret garden",
                Err(PasswordRejection::ContextSpecific),
            ),
            (
                "BERGSTRÖM family summer",
                Err(PasswordRejection::ContextSpecific),
            ),
            (
                "bergstrom family summer",
                Err(PasswordRejection::ContextSpecific),
            ),
            (
                "i work at nordbank now",
                Err(PasswordRejection::ContextSpecific),
            ),
            // "Li" is shorter than four characters, so it is not a context word.
            ("lilac fields of lisbon", Ok(())),
            ("plain unrelated phrase", Ok(())),
        ];
        for (password, expected) in cases {
            assert_eq!(
                policy.check(password, false, context),
                *expected,
                "{password}"
            );
        }
    }

    #[test]
    fn repetitive_passwords_are_refused() {
        let policy = PasswordPolicy::default();
        let cases: &[(&str, Result<(), PasswordRejection>)] = &[
            ("qqqqqqqqqqqqqqqq", Err(PasswordRejection::Repetitive)),
            ("ÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅ", Err(PasswordRejection::Repetitive)),
            ("xyxyxyxyxyxyxyxy", Err(PasswordRejection::Repetitive)),
            ("q1w2q1w2q1w2q1w2", Err(PasswordRejection::Repetitive)),
            ("abcdefghijklmnop", Err(PasswordRejection::Repetitive)),
            ("ABCDEFGHIJKLMNOP", Err(PasswordRejection::Repetitive)),
            ("ponmlkjihgfedcba", Err(PasswordRejection::Repetitive)),
            ("23456789", Err(PasswordRejection::Repetitive)),
            ("98765432", Err(PasswordRejection::Repetitive)),
            ("fghijklm", Err(PasswordRejection::Repetitive)),
            // A run that does not cover the whole password is not refused.
            ("abcdefghijk mossy", Ok(())),
            ("qqqqqqqqqqqqqqqz", Ok(())),
        ];
        for (password, expected) in cases {
            let has_mfa = password.chars().count() < 15;
            assert_eq!(
                policy.check(password, has_mfa, NO_CONTEXT),
                *expected,
                "{password}"
            );
        }
    }

    #[test]
    fn there_are_no_composition_rules() {
        let policy = PasswordPolicy::default();
        for password in [
            "all lower case words here",
            "ALLUPPERCASEWORDSHERE",
            "482915736048291573",
        ] {
            assert_eq!(
                policy.check(password, false, NO_CONTEXT),
                Ok(()),
                "{password}"
            );
        }
    }

    #[test]
    fn rejections_never_echo_the_password() {
        let policy = PasswordPolicy::default();
        for password in [
            "baseball",
            "kvxtr",
            "trygg-and-more-words",
            "abcdefghijklmnop",
        ] {
            let rejection = policy
                .check(password, true, NO_CONTEXT)
                .expect_err("each of these is refused");
            assert!(!rejection.to_string().contains(password), "{rejection}");
            assert!(
                !format!("{rejection:?}").contains(password),
                "{rejection:?}"
            );
        }
    }

    #[test]
    fn hash_params_are_never_below_owasp() {
        let defaults = HashParams::default();
        assert_eq!(
            (
                defaults.memory_kib(),
                defaults.iterations(),
                defaults.parallelism()
            ),
            (19_456, 2, 1)
        );
        let cases = [
            ((19_456, 2, 1), Ok(())),
            ((65_536, 3, 4), Ok(())),
            ((19_455, 2, 1), Err(HashError::ParamsBelowMinimum)),
            ((19_456, 1, 1), Err(HashError::ParamsBelowMinimum)),
            ((19_456, 2, 0), Err(HashError::ParamsBelowMinimum)),
            ((1_048_577, 2, 1), Err(HashError::ParamsAboveMaximum)),
            ((19_456, 65, 1), Err(HashError::ParamsAboveMaximum)),
            ((19_456, 2, 17), Err(HashError::ParamsAboveMaximum)),
        ];
        for ((memory, iterations, parallelism), expected) in cases {
            assert_eq!(
                HashParams::new(memory, iterations, parallelism).map(|_| ()),
                expected,
                "m={memory} t={iterations} p={parallelism}"
            );
        }
    }

    #[test]
    fn hashes_verify_with_the_real_parameters() {
        let hasher = PasswordHasher::new(HashParams::default(), 2);
        runtime().block_on(async {
            let phc = hasher
                .hash("correct horse battery staple")
                .await
                .expect("hashes");
            assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
            assert_eq!(
                hasher.verify(&phc, "correct horse battery staple").await,
                Ok(true)
            );
            assert_eq!(
                hasher.verify(&phc, "correct horse battery stable").await,
                Ok(false)
            );
            assert!(!hasher.needs_rehash(&phc));
        });
    }

    #[test]
    fn hashes_are_salted_and_wrong_passwords_fail() {
        let hasher = PasswordHasher::new(HashParams::danger_weak_for_tests(), 2);
        runtime().block_on(async {
            let first = hasher.hash("same password").await.expect("hashes");
            let second = hasher.hash("same password").await.expect("hashes");
            assert_ne!(first, second);
            for (candidate, expected) in [
                ("same password", true),
                ("Same password", false),
                ("same password ", false),
                ("", false),
            ] {
                assert_eq!(
                    hasher.verify(&first, candidate).await,
                    Ok(expected),
                    "{candidate:?}"
                );
                assert_eq!(
                    hasher.verify(&second, candidate).await,
                    Ok(expected),
                    "{candidate:?}"
                );
            }
            // Unicode passwords round-trip as their exact bytes.
            let phc = hasher.hash("lösenord på svenska 🔑").await.expect("hashes");
            assert_eq!(
                hasher.verify(&phc, "lösenord på svenska 🔑").await,
                Ok(true)
            );
        });
    }

    #[test]
    fn bad_phc_strings_are_errors_not_panics() {
        let hasher = PasswordHasher::new(HashParams::danger_weak_for_tests(), 1);
        let salt_and_hash = "c29tZXNhbHRzb21lc2FsdA$dGhpcyBpcyBub3QgYSByZWFsIGhhc2ggYXQgYWxs";
        let cases: Vec<(String, HashError)> = vec![
            (String::new(), HashError::MalformedHash),
            ("not a hash".into(), HashError::MalformedHash),
            ("$argon2id$".into(), HashError::MalformedHash),
            (
                "$argon2id$v=19$m=19456,t=2,p=1".into(),
                HashError::MalformedHash,
            ),
            (
                "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ".into(),
                HashError::MalformedHash,
            ),
            (
                format!("$argon2id$v=19$m=abc,t=2,p=1${salt_and_hash}"),
                HashError::MalformedHash,
            ),
            (
                format!("$argon2id$v=19$m=19456,t=0,p=1${salt_and_hash}"),
                HashError::MalformedHash,
            ),
            (
                format!("$argon2id$v=19$m=19456,x=2,p=1${salt_and_hash}"),
                HashError::MalformedHash,
            ),
            (
                format!("$argon2i$v=19$m=19456,t=2,p=1${salt_and_hash}"),
                HashError::UnsupportedHash,
            ),
            (
                format!("$argon2d$v=19$m=19456,t=2,p=1${salt_and_hash}"),
                HashError::UnsupportedHash,
            ),
            (
                format!("$scrypt$ln=15,r=8,p=1${salt_and_hash}"),
                HashError::UnsupportedHash,
            ),
            (
                "$2b$12$abcdefghijklmnopqrstuuAbCdEfGhIjKlMnOpQrStUvWxYz01234".into(),
                HashError::MalformedHash,
            ),
            // A row that asks for 4 GiB of memory is not obeyed.
            (
                format!("$argon2id$v=19$m=4194304,t=2,p=1${salt_and_hash}"),
                HashError::UnsupportedHash,
            ),
            (
                format!("$argon2id$v=19$m=19456,t=1000,p=1${salt_and_hash}"),
                HashError::UnsupportedHash,
            ),
            (
                format!("$argon2id$v=19$m=19456,t=2,p=255${salt_and_hash}"),
                HashError::UnsupportedHash,
            ),
        ];
        runtime().block_on(async {
            for (phc, expected) in &cases {
                assert_eq!(
                    hasher.verify(phc, "password").await,
                    Err(*expected),
                    "{phc}"
                );
            }
        });
    }

    #[test]
    fn overlong_passwords_are_refused_without_work() {
        let hasher = PasswordHasher::new(HashParams::danger_weak_for_tests(), 1);
        let huge = "x".repeat(MAX_PASSWORD_BYTES + 1);
        runtime().block_on(async {
            assert_eq!(hasher.hash(&huge).await, Err(HashError::PasswordTooLong));
            let longest = "y".repeat(MAX_PASSWORD_BYTES);
            let phc = hasher
                .hash(&longest)
                .await
                .expect("the longest password hashes");
            assert_eq!(hasher.verify(&phc, &longest).await, Ok(true));
            assert_eq!(hasher.verify(&phc, &huge).await, Ok(false));
            hasher.verify_dummy(&huge).await;
        });
    }

    #[test]
    fn needs_rehash_compares_with_the_current_parameters() {
        let hasher = PasswordHasher::new(HashParams::default(), 1);
        let salt_and_hash = "c29tZXNhbHRzb21lc2FsdA$dGhpcyBpcyBub3QgYSByZWFsIGhhc2ggYXQgYWxs";
        let cases = [
            ("$argon2id$v=19$m=19456,t=2,p=1", false),
            ("$argon2id$v=19$m=65536,t=3,p=4", false),
            ("$argon2id$v=19$m=4096,t=3,p=1", true),
            ("$argon2id$v=19$m=19456,t=1,p=1", true),
            ("$argon2id$v=16$m=19456,t=2,p=1", true),
            ("$argon2i$v=19$m=19456,t=2,p=1", true),
        ];
        for (prefix, expected) in cases {
            let phc = format!("{prefix}${salt_and_hash}");
            assert_eq!(hasher.needs_rehash(&phc), expected, "{phc}");
        }
        assert!(hasher.needs_rehash("garbage"));

        let stronger =
            PasswordHasher::new(HashParams::new(65_536, 3, 1).expect("valid parameters"), 1);
        assert!(stronger.needs_rehash(&format!("$argon2id$v=19$m=19456,t=2,p=1${salt_and_hash}")));
    }

    #[test]
    fn a_weak_legacy_hash_still_verifies_and_asks_for_a_rehash() {
        let weak = PasswordHasher::new(HashParams::danger_weak_for_tests(), 1);
        let current = PasswordHasher::new(HashParams::default(), 1);
        runtime().block_on(async {
            let legacy = weak
                .hash("an old but fine passphrase")
                .await
                .expect("hashes");
            assert_eq!(
                current.verify(&legacy, "an old but fine passphrase").await,
                Ok(true)
            );
            assert!(current.needs_rehash(&legacy));
        });
    }

    #[test]
    fn hashes_are_standard_phc_both_ways() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = PasswordHasher::new(HashParams::danger_weak_for_tests(), 1);
        runtime().block_on(async {
            // Ours, checked by the argon2 crate's own verifier.
            let ours = hasher.hash("correct horse battery").await.expect("hashes");
            let parsed = PasswordHash::new(&ours).expect("a PHC string");
            assert!(Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok());
            assert!(Argon2::default()
                .verify_password(b"wrong horse battery", &parsed)
                .is_err());
            // The argon2 crate's, checked by ours.
            let salt = password_hash::SaltString::encode_b64(b"sixteen byte slt").unwrap();
            let theirs = Argon2::default()
                .hash_password(b"correct horse battery", &salt)
                .unwrap()
                .to_string();
            assert_eq!(
                hasher.verify(&theirs, "correct horse battery").await,
                Ok(true)
            );
            assert_eq!(
                hasher.verify(&theirs, "correct horse batter").await,
                Ok(false)
            );
        });
    }

    #[test]
    fn the_dummy_verification_runs_and_is_made_once() {
        let hasher = PasswordHasher::new(HashParams::danger_weak_for_tests(), 1);
        runtime().block_on(async {
            hasher.verify_dummy("whatever they typed").await;
            let first = hasher
                .dummy_phc
                .get()
                .cloned()
                .expect("the dummy hash was made");
            hasher.verify_dummy("something else").await;
            assert_eq!(hasher.dummy_phc.get(), Some(&first));
            assert!(first.starts_with("$argon2id$"));
        });
    }

    #[test]
    fn concurrency_is_limited_by_the_semaphore() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        let hasher = Arc::new(PasswordHasher::new(HashParams::danger_weak_for_tests(), 2));
        let running = Arc::new(AtomicUsize::new(0));
        let most_running = Arc::new(AtomicUsize::new(0));
        runtime().block_on(async {
            let mut handles = Vec::new();
            for _ in 0..8 {
                let hasher = Arc::clone(&hasher);
                let running = Arc::clone(&running);
                let most_running = Arc::clone(&most_running);
                handles.push(tokio::spawn(async move {
                    hasher
                        .run_blocking(move || {
                            let now_running = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most_running.fetch_max(now_running, Ordering::SeqCst);
                            // Long enough for the other tasks to try to start.
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                            Ok(())
                        })
                        .await
                }));
            }
            for handle in handles {
                assert_eq!(handle.await.expect("the task ends"), Ok(()));
            }
        });
        let most_running = most_running.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&most_running),
            "{most_running} ran at once"
        );
        assert_eq!(
            hasher.permits.available_permits(),
            2,
            "every permit came back"
        );
    }

    #[test]
    fn a_caller_that_gives_up_does_not_free_the_permit_early() {
        let hasher = Arc::new(PasswordHasher::new(HashParams::danger_weak_for_tests(), 1));
        let (started_sender, started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        runtime().block_on(async {
            let task = {
                let hasher = Arc::clone(&hasher);
                tokio::spawn(async move {
                    hasher
                        .run_blocking(move || {
                            started_sender.send(()).expect("the test is listening");
                            released.recv().expect("the test releases the work");
                            Ok(())
                        })
                        .await
                })
            };
            // Let the task reach the blocking pool, then abandon it.
            while started.try_recv().is_err() {
                tokio::task::yield_now().await;
            }
            task.abort();
            assert!(task.await.is_err(), "the task was cancelled");
            assert_eq!(
                hasher.permits.available_permits(),
                0,
                "the work still holds it"
            );
            release.send(()).expect("the work is waiting");
            // The permit comes back once the blocking work has really ended.
            let _permit = hasher
                .permits
                .acquire()
                .await
                .expect("the semaphore is open");
        });
    }

    #[test]
    fn a_zero_limit_is_taken_as_one() {
        let hasher = PasswordHasher::new(HashParams::danger_weak_for_tests(), 0);
        assert_eq!(hasher.permits.available_permits(), 1);
        runtime().block_on(async {
            assert!(hasher.hash("it still works").await.is_ok());
        });
    }

    #[test]
    fn debug_output_shows_no_secrets() {
        let hasher = PasswordHasher::new(HashParams::danger_weak_for_tests(), 3);
        runtime().block_on(hasher.verify_dummy("typed"));
        let debug = format!("{hasher:?}");
        assert!(debug.contains("max_concurrent: 3"), "{debug}");
        assert!(!debug.contains("argon2id"), "{debug}");
    }
}
