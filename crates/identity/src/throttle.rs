//! Brute-force throttling: exponential back-off and temporary locks, decided without IO.
//!
//! A [`Throttle`] counts consecutive failures per key, such as `"account:<id>"` (guessing one
//! user's password, TOTP code or recovery code) or `"source:<ip-prefix>"` (one source trying many
//! accounts). The first `free_failures` cost nothing, so a typo is not punished; after that each
//! failure doubles the wait before the next attempt, from `base_delay_ms` up to `max_delay_ms`;
//! after `lock_after` consecutive failures (never more than 100, as NIST SP 800-63B requires) the
//! key is locked for `lock_ms`. A lock ends by time or by [`Throttle::unlock`] (an
//! administrator); a success ends the streak. After a lock has run out, every further failure
//! locks again at once, until a success: waiting out one lock buys a single attempt.
//!
//! Memory stays bounded under attack: keys are stored as their SHA-256 (so a long key costs 32
//! bytes, and no user name or address sits in memory), [`Throttle::prune`] forgets keys idle for
//! longer than the lock period (which also ends their streak), and at most `max_keys` keys are
//! tracked, the one whose last failure is oldest being forgotten first. An attacker cycling
//! sources can therefore push old entries out, but not an account they keep attacking, whose
//! entry stays recent.
//!
//! What this module deliberately does not do: it reads no clock (`now_ms` comes in), shares no
//! state between server nodes (each node throttles on its own; the store can persist lock state
//! if needed), and writes no audit or security events: [`Throttle::record_failure`] returns
//! [`Event::Locked`] so the caller can.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

/// NIST SP 800-63B: no more than 100 consecutive failed attempts on one account.
pub const NIST_MAX_CONSECUTIVE_FAILURES: u32 = 100;

/// How many keys [`Throttle::new`] tracks at most.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// The throttling rules. Public fields so the configuration can set them; [`Throttle::new`]
/// refuses values that make no sense or that NIST does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures that cause no delay.
    pub free_failures: u32,
    /// The delay after the first failure beyond the free ones, in milliseconds; it doubles with
    /// each further failure.
    pub base_delay_ms: i64,
    /// The longest delay, in milliseconds.
    pub max_delay_ms: i64,
    /// Consecutive failures that lock the key (1 to 100).
    pub lock_after: u32,
    /// How long a lock lasts, in milliseconds.
    pub lock_ms: i64,
}

/// Whether an attempt may be made now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    Allowed,
    /// Too soon after the last failure: try again in `ms` milliseconds.
    RetryAfter {
        ms: i64,
    },
    /// Locked until `until_ms` (Unix milliseconds), or until an administrator unlocks it.
    Locked {
        until_ms: i64,
    },
}

/// What recording a failure did, so the caller can write the right security event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// The failure was counted; `consecutive` failures in a row so far.
    FailureRecorded { consecutive: u32 },
    /// This failure locked the key until `until_ms`.
    Locked { until_ms: i64 },
}

/// A [`ThrottlePolicy`] (or key limit) that cannot be used. Raised at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ThrottlePolicyError {
    #[error("lock_after must be between 1 and {NIST_MAX_CONSECUTIVE_FAILURES} (NIST SP 800-63B)")]
    LockAfterOutOfRange,
    #[error("free_failures must be smaller than lock_after")]
    FreeFailuresNotBelowLock,
    #[error("base_delay_ms must not be negative, and max_delay_ms not below it")]
    InvalidDelays,
    #[error("lock_ms must be positive")]
    InvalidLockDuration,
    #[error("the throttle must be allowed to track at least one key")]
    NoKeys,
}

/// Failure counts per key; see the module documentation.
pub struct Throttle {
    policy: ThrottlePolicy,
    max_keys: usize,
    entries: HashMap<KeyDigest, Entry>,
    /// The same keys ordered by (last failure, insertion sequence), to find the oldest in
    /// O(log n) for eviction and pruning.
    by_age: BTreeMap<(i64, u64), KeyDigest>,
    next_sequence: u64,
}

type KeyDigest = [u8; 32];

#[derive(Clone, Copy, Debug)]
struct Entry {
    consecutive: u32,
    last_failure_ms: i64,
    sequence: u64,
    locked_until_ms: Option<i64>,
}

impl Default for ThrottlePolicy {
    fn default() -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 3,
            base_delay_ms: 1_000,
            max_delay_ms: 15 * 60_000,
            lock_after: 20,
            lock_ms: 30 * 60_000,
        }
    }
}

impl ThrottlePolicy {
    /// Whether these rules can be used.
    pub fn validate(&self) -> Result<(), ThrottlePolicyError> {
        if !(1..=NIST_MAX_CONSECUTIVE_FAILURES).contains(&self.lock_after) {
            return Err(ThrottlePolicyError::LockAfterOutOfRange);
        }
        if self.free_failures >= self.lock_after {
            return Err(ThrottlePolicyError::FreeFailuresNotBelowLock);
        }
        if self.base_delay_ms < 0 || self.max_delay_ms < self.base_delay_ms {
            return Err(ThrottlePolicyError::InvalidDelays);
        }
        if self.lock_ms <= 0 {
            return Err(ThrottlePolicyError::InvalidLockDuration);
        }
        Ok(())
    }

    /// The wait after `consecutive` failures: none for the free ones, then `base_delay_ms`
    /// doubling per failure, at most `max_delay_ms`.
    pub fn delay_ms(&self, consecutive: u32) -> i64 {
        let Some(beyond_free) = consecutive.checked_sub(self.free_failures.saturating_add(1))
        else {
            return 0;
        };
        // 2^62 already exceeds any delay; capping the exponent keeps the shift defined.
        let factor = 1i64 << beyond_free.min(62);
        self.base_delay_ms
            .saturating_mul(factor)
            .min(self.max_delay_ms)
    }

    /// How long a key must be idle before nothing about it is in force any more.
    fn forget_after_ms(&self) -> i64 {
        self.lock_ms.max(self.max_delay_ms)
    }
}

impl Throttle {
    /// A throttle tracking at most [`DEFAULT_MAX_KEYS`] keys.
    pub fn new(policy: ThrottlePolicy) -> Result<Throttle, ThrottlePolicyError> {
        Throttle::with_max_keys(policy, DEFAULT_MAX_KEYS)
    }

    /// A throttle tracking at most `max_keys` keys.
    pub fn with_max_keys(
        policy: ThrottlePolicy,
        max_keys: usize,
    ) -> Result<Throttle, ThrottlePolicyError> {
        policy.validate()?;
        if max_keys == 0 {
            return Err(ThrottlePolicyError::NoKeys);
        }
        Ok(Throttle {
            policy,
            max_keys,
            entries: HashMap::new(),
            by_age: BTreeMap::new(),
            next_sequence: 0,
        })
    }

    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// How many keys are tracked now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether an attempt for `key` may be made at `now_ms`. Ask before every attempt, and do
    /// not even check the credential unless the answer is [`Decision::Allowed`].
    pub fn check(&self, key: &str, now_ms: i64) -> Decision {
        match self.entries.get(&digest(key)) {
            None => Decision::Allowed,
            Some(entry) => self.decide(entry, now_ms),
        }
    }

    /// Counts a failed attempt for `key` at `now_ms`. Returns [`Event::Locked`] when this failure
    /// locked the key (a failure recorded while a lock is already in force does not extend it).
    pub fn record_failure(&mut self, key: &str, now_ms: i64) -> Event {
        let key = digest(key);
        let previous = match self.entries.get(&key) {
            Some(entry) => {
                self.by_age.remove(&(entry.last_failure_ms, entry.sequence));
                Some(*entry)
            }
            None => {
                self.make_room();
                None
            }
        };
        let sequence = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(1);
        let mut entry = previous.unwrap_or(Entry {
            consecutive: 0,
            last_failure_ms: now_ms,
            sequence,
            locked_until_ms: None,
        });
        entry.consecutive = entry.consecutive.saturating_add(1);
        entry.last_failure_ms = now_ms;
        entry.sequence = sequence;

        let lock_in_force = entry.locked_until_ms.is_some_and(|until| now_ms < until);
        let event = if entry.consecutive >= self.policy.lock_after && !lock_in_force {
            let until_ms = now_ms.saturating_add(self.policy.lock_ms);
            entry.locked_until_ms = Some(until_ms);
            Event::Locked { until_ms }
        } else {
            Event::FailureRecorded {
                consecutive: entry.consecutive,
            }
        };
        self.by_age.insert((now_ms, sequence), key);
        self.entries.insert(key, entry);
        event
    }

    /// Ends the streak for `key` after a successful attempt: it is forgotten.
    pub fn record_success(&mut self, key: &str) {
        self.forget(&digest(key));
    }

    /// Lifts any lock and delay on `key` (an administrator's action) and forgets its failures.
    /// Returns whether the key had any recorded failures.
    pub fn unlock(&mut self, key: &str) -> bool {
        self.forget(&digest(key))
    }

    /// Forgets keys whose last failure is longer ago than the lock period (or the longest delay,
    /// if that is longer): no lock or delay of theirs is in force any more. Call it
    /// periodically.
    pub fn prune(&mut self, now_ms: i64) {
        let cutoff = now_ms.saturating_sub(self.policy.forget_after_ms());
        while let Some((&(last_failure_ms, sequence), key)) = self.by_age.first_key_value() {
            if last_failure_ms >= cutoff {
                break;
            }
            let key = *key;
            self.by_age.remove(&(last_failure_ms, sequence));
            self.entries.remove(&key);
        }
    }

    fn decide(&self, entry: &Entry, now_ms: i64) -> Decision {
        if let Some(until_ms) = entry.locked_until_ms {
            if now_ms < until_ms {
                return Decision::Locked { until_ms };
            }
        }
        let delay_ms = self.policy.delay_ms(entry.consecutive);
        let retry_at_ms = entry.last_failure_ms.saturating_add(delay_ms);
        if now_ms < retry_at_ms {
            // Capped by the delay, in case the clock went back since the failure.
            return Decision::RetryAfter {
                ms: retry_at_ms.saturating_sub(now_ms).min(delay_ms),
            };
        }
        Decision::Allowed
    }

    /// Evicts the key with the oldest last failure while the table is full.
    fn make_room(&mut self) {
        while self.entries.len() >= self.max_keys {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }

    fn forget(&mut self, key: &KeyDigest) -> bool {
        match self.entries.remove(key) {
            Some(entry) => {
                self.by_age.remove(&(entry.last_failure_ms, entry.sequence));
                true
            }
            None => false,
        }
    }
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Throttle")
            .field("policy", &self.policy)
            .field("tracked_keys", &self.entries.len())
            .field("max_keys", &self.max_keys)
            .finish()
    }
}

fn digest(key: &str) -> KeyDigest {
    Sha256::digest(key.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000;
    const MINUTE: i64 = 60 * SECOND;
    const KEY: &str = "account:42";

    /// One step of a scenario over time.
    #[derive(Debug)]
    enum Step {
        Check(i64, Decision),
        Fail(i64, Event),
        Succeed,
        Unlock(bool),
        Prune(i64, usize),
    }

    fn run(throttle: &mut Throttle, key: &str, steps: &[Step]) {
        for (index, step) in steps.iter().enumerate() {
            match step {
                Step::Check(now, expected) => {
                    assert_eq!(
                        throttle.check(key, *now),
                        *expected,
                        "step {index}: {step:?}"
                    );
                }
                Step::Fail(now, expected) => {
                    assert_eq!(
                        throttle.record_failure(key, *now),
                        *expected,
                        "step {index}: {step:?}"
                    );
                }
                Step::Succeed => throttle.record_success(key),
                Step::Unlock(expected) => {
                    assert_eq!(throttle.unlock(key), *expected, "step {index}: {step:?}");
                }
                Step::Prune(now, tracked) => {
                    throttle.prune(*now);
                    assert_eq!(throttle.len(), *tracked, "step {index}: {step:?}");
                }
            }
        }
    }

    fn recorded(consecutive: u32) -> Event {
        Event::FailureRecorded { consecutive }
    }

    #[test]
    fn the_delay_schedule() {
        let policy = ThrottlePolicy::default();
        let cases = [
            (0, 0),
            (1, 0),
            (2, 0),
            (3, 0),
            (4, SECOND),
            (5, 2 * SECOND),
            (6, 4 * SECOND),
            (10, 64 * SECOND),
            (13, 512 * SECOND),
            (14, 15 * MINUTE),
            (20, 15 * MINUTE),
            (100, 15 * MINUTE),
            (u32::MAX, 15 * MINUTE),
        ];
        for (consecutive, expected) in cases {
            assert_eq!(
                policy.delay_ms(consecutive),
                expected,
                "{consecutive} failures"
            );
        }
        let no_delay = ThrottlePolicy {
            base_delay_ms: 0,
            max_delay_ms: 0,
            ..policy
        };
        assert_eq!(no_delay.delay_ms(50), 0);
    }

    #[test]
    fn free_failures_then_exponential_back_off() {
        let mut throttle = Throttle::new(ThrottlePolicy::default()).expect("valid");
        run(
            &mut throttle,
            KEY,
            &[
                Step::Check(0, Decision::Allowed),
                Step::Fail(0, recorded(1)),
                Step::Fail(10, recorded(2)),
                Step::Fail(20, recorded(3)),
                Step::Check(20, Decision::Allowed),
                Step::Fail(30, recorded(4)),
                Step::Check(30, Decision::RetryAfter { ms: SECOND }),
                Step::Check(30 + SECOND - 1, Decision::RetryAfter { ms: 1 }),
                Step::Check(30 + SECOND, Decision::Allowed),
                Step::Fail(2 * SECOND, recorded(5)),
                Step::Check(2 * SECOND, Decision::RetryAfter { ms: 2 * SECOND }),
                Step::Check(3 * SECOND, Decision::RetryAfter { ms: SECOND }),
                Step::Check(4 * SECOND, Decision::Allowed),
                Step::Fail(4 * SECOND, recorded(6)),
                Step::Check(5 * SECOND, Decision::RetryAfter { ms: 3 * SECOND }),
                // A clock that went back never asks for more than the delay.
                Step::Check(0, Decision::RetryAfter { ms: 4 * SECOND }),
                // Success ends the streak.
                Step::Succeed,
                Step::Check(5 * SECOND, Decision::Allowed),
                Step::Fail(6 * SECOND, recorded(1)),
                Step::Check(6 * SECOND, Decision::Allowed),
            ],
        );
    }

    #[test]
    fn a_lock_after_lock_after_failures_ends_by_time() {
        let policy = ThrottlePolicy {
            free_failures: 2,
            base_delay_ms: SECOND,
            max_delay_ms: 4 * SECOND,
            lock_after: 5,
            lock_ms: 10 * MINUTE,
        };
        let mut throttle = Throttle::new(policy).expect("valid");
        let locked_until = 100 * SECOND + 10 * MINUTE;
        run(
            &mut throttle,
            KEY,
            &[
                Step::Fail(0, recorded(1)),
                Step::Fail(0, recorded(2)),
                Step::Fail(0, recorded(3)),
                Step::Check(0, Decision::RetryAfter { ms: SECOND }),
                Step::Fail(10 * SECOND, recorded(4)),
                Step::Check(10 * SECOND, Decision::RetryAfter { ms: 2 * SECOND }),
                Step::Fail(
                    100 * SECOND,
                    Event::Locked {
                        until_ms: locked_until,
                    },
                ),
                Step::Check(
                    100 * SECOND,
                    Decision::Locked {
                        until_ms: locked_until,
                    },
                ),
                Step::Check(
                    locked_until - 1,
                    Decision::Locked {
                        until_ms: locked_until,
                    },
                ),
                // A failure recorded during the lock (a caller that did not check) counts but
                // does not extend it.
                Step::Fail(200 * SECOND, recorded(6)),
                Step::Check(
                    200 * SECOND,
                    Decision::Locked {
                        until_ms: locked_until,
                    },
                ),
                Step::Check(locked_until, Decision::Allowed),
                // After the lock, one failure locks again at once.
                Step::Fail(
                    locked_until,
                    Event::Locked {
                        until_ms: locked_until + 10 * MINUTE,
                    },
                ),
                Step::Check(
                    locked_until + MINUTE,
                    Decision::Locked {
                        until_ms: locked_until + 10 * MINUTE,
                    },
                ),
                // Until a success.
                Step::Check(locked_until + 10 * MINUTE, Decision::Allowed),
                Step::Succeed,
                Step::Fail(locked_until + 10 * MINUTE, recorded(1)),
            ],
        );
    }

    #[test]
    fn an_administrator_can_unlock() {
        let policy = ThrottlePolicy {
            lock_after: 3,
            free_failures: 0,
            ..ThrottlePolicy::default()
        };
        let mut throttle = Throttle::new(policy).expect("valid");
        let until_ms = 30 * MINUTE;
        run(
            &mut throttle,
            KEY,
            &[
                Step::Unlock(false),
                Step::Fail(0, recorded(1)),
                Step::Fail(0, recorded(2)),
                Step::Fail(0, Event::Locked { until_ms }),
                Step::Check(MINUTE, Decision::Locked { until_ms }),
                Step::Unlock(true),
                Step::Check(MINUTE, Decision::Allowed),
                Step::Unlock(false),
                Step::Fail(MINUTE, recorded(1)),
            ],
        );
    }

    #[test]
    fn keys_are_independent() {
        let policy = ThrottlePolicy {
            lock_after: 2,
            free_failures: 0,
            ..ThrottlePolicy::default()
        };
        let mut throttle = Throttle::new(policy).expect("valid");
        throttle.record_failure("account:1", 0);
        assert_eq!(
            throttle.record_failure("account:1", 0),
            Event::Locked {
                until_ms: 30 * MINUTE
            }
        );
        assert_eq!(throttle.check("account:2", 0), Decision::Allowed);
        assert_eq!(throttle.check("source:192.0.2.0/24", 0), Decision::Allowed);
        assert_eq!(throttle.record_failure("account:2", 0), recorded(1));
        throttle.record_success("account:2");
        assert_eq!(
            throttle.check("account:1", 0),
            Decision::Locked {
                until_ms: 30 * MINUTE
            }
        );
    }

    #[test]
    fn prune_forgets_only_keys_with_nothing_in_force() {
        let mut throttle = Throttle::new(ThrottlePolicy::default()).expect("valid");
        // Locked at 0 (twenty failures), until 30 minutes.
        for _ in 0..20 {
            throttle.record_failure("locked", 0);
        }
        throttle.record_failure("recent", 20 * MINUTE);
        throttle.record_failure("old", -2 * MINUTE);
        assert_eq!(throttle.len(), 3);
        run(
            &mut throttle,
            "locked",
            &[
                Step::Prune(29 * MINUTE, 2),
                Step::Check(
                    29 * MINUTE,
                    Decision::Locked {
                        until_ms: 30 * MINUTE,
                    },
                ),
                Step::Prune(30 * MINUTE, 2),
                Step::Prune(30 * MINUTE + 1, 1),
                Step::Check(30 * MINUTE + 1, Decision::Allowed),
                Step::Prune(50 * MINUTE, 1),
                Step::Prune(50 * MINUTE + 1, 0),
            ],
        );
        assert!(throttle.is_empty());
        assert!(throttle.by_age.is_empty());
    }

    #[test]
    fn the_number_of_keys_is_capped_and_the_oldest_go_first() {
        let mut throttle = Throttle::with_max_keys(ThrottlePolicy::default(), 3).expect("valid");
        throttle.record_failure("a", 0);
        throttle.record_failure("b", 1);
        throttle.record_failure("c", 2);
        // "a" fails again, so "b" is now the oldest.
        throttle.record_failure("a", 3);
        throttle.record_failure("d", 4);
        assert_eq!(throttle.len(), 3);
        assert_eq!(throttle.by_age.len(), 3);
        assert!(!throttle.unlock("b"), "b was evicted");
        assert!(throttle.unlock("a"));
        assert!(throttle.unlock("c"));
        assert!(throttle.unlock("d"));
        assert!(throttle.is_empty());

        // An attacker cycling through many sources never grows the table past the cap.
        let mut throttle =
            Throttle::with_max_keys(ThrottlePolicy::default(), 1_000).expect("valid");
        for source in 0..10_000 {
            throttle.record_failure(&format!("source:{source}"), source);
            throttle.record_failure(KEY, source);
        }
        assert_eq!(throttle.len(), 1_000);
        assert_eq!(throttle.by_age.len(), 1_000);
        // The account under continuous attack is still tracked, and locked.
        assert!(matches!(
            throttle.check(KEY, 10_000),
            Decision::Locked { .. }
        ));
    }

    #[test]
    fn long_keys_cost_no_more_memory() {
        let mut throttle = Throttle::new(ThrottlePolicy::default()).expect("valid");
        let long_key = format!("account:{}", "x".repeat(1_000_000));
        throttle.record_failure(&long_key, 0);
        assert_eq!(throttle.check(&long_key, 0), Decision::Allowed);
        assert!(throttle.unlock(&long_key));
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let mut throttle = Throttle::new(ThrottlePolicy {
            free_failures: 0,
            lock_after: 2,
            ..ThrottlePolicy::default()
        })
        .expect("valid");
        assert_eq!(throttle.record_failure(KEY, i64::MAX - 10), recorded(1));
        assert_eq!(
            throttle.check(KEY, i64::MAX - 10),
            Decision::RetryAfter { ms: 10 }
        );
        assert_eq!(
            throttle.record_failure(KEY, i64::MAX),
            Event::Locked { until_ms: i64::MAX }
        );
        assert_eq!(
            throttle.check(KEY, i64::MIN),
            Decision::Locked { until_ms: i64::MAX }
        );
        throttle.prune(i64::MIN);
        throttle.prune(i64::MAX);
        assert_eq!(throttle.len(), 1, "a lock until the end of time stays");
        throttle.record_failure("other", i64::MIN);
        throttle.prune(0);
        assert_eq!(throttle.len(), 1, "the ancient key went");
    }

    #[test]
    fn policies_are_validated() {
        let valid = ThrottlePolicy::default();
        let cases = [
            (valid, Ok(())),
            (
                ThrottlePolicy {
                    lock_after: 100,
                    ..valid
                },
                Ok(()),
            ),
            (
                ThrottlePolicy {
                    lock_after: 101,
                    ..valid
                },
                Err(ThrottlePolicyError::LockAfterOutOfRange),
            ),
            (
                ThrottlePolicy {
                    lock_after: 0,
                    ..valid
                },
                Err(ThrottlePolicyError::LockAfterOutOfRange),
            ),
            (
                ThrottlePolicy {
                    free_failures: 20,
                    ..valid
                },
                Err(ThrottlePolicyError::FreeFailuresNotBelowLock),
            ),
            (
                ThrottlePolicy {
                    base_delay_ms: -1,
                    ..valid
                },
                Err(ThrottlePolicyError::InvalidDelays),
            ),
            (
                ThrottlePolicy {
                    max_delay_ms: 10,
                    ..valid
                },
                Err(ThrottlePolicyError::InvalidDelays),
            ),
            (
                ThrottlePolicy {
                    lock_ms: 0,
                    ..valid
                },
                Err(ThrottlePolicyError::InvalidLockDuration),
            ),
        ];
        for (policy, expected) in cases {
            assert_eq!(policy.validate(), expected, "{policy:?}");
            assert_eq!(Throttle::new(policy).map(|_| ()), expected, "{policy:?}");
        }
        assert_eq!(
            Throttle::with_max_keys(valid, 0).map(|_| ()),
            Err(ThrottlePolicyError::NoKeys)
        );
    }

    #[test]
    fn debug_shows_no_keys() {
        let mut throttle = Throttle::new(ThrottlePolicy::default()).expect("valid");
        throttle.record_failure("source:198.51.100.0/24", 0);
        let debug = format!("{throttle:?}");
        assert!(debug.contains("tracked_keys: 1"), "{debug}");
        assert!(!debug.contains("198.51.100"), "{debug}");
    }
}
