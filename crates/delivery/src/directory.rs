//! The key-package directory: each person's stock of one-time key packages and their
//! last-resort package (RFC 9420 §10, §16.8).
//!
//! A one-time package is handed out exactly once and then forgotten, so no two Adds can reuse
//! an init key. When the stock is gone, the person's last-resort package is handed out instead,
//! as often as needed, so an admission never fails for want of a package; the owner is told to
//! replenish whenever the stock falls below the threshold. Uploads are checked: the bytes parse
//! as a key package, the ciphersuite is 0x0001, the lifetime covers now, the credential names the
//! uploader, the same package is not stocked twice, and the stock per person is bounded.
//!
//! Deliberately not done: verifying the package's signature (the adding client does, RFC 9420
//! §10.1), deciding who may claim whose package (the service checks that against the group's
//! authorisations before calling [`Directory::claim`]), and any IO: time comes in as seconds.

use std::collections::{BTreeMap, VecDeque};

use meeting::PersonId;

use crate::framing::{self, FramingError};
use crate::identity::MemberIdentity;

/// Whether an upload is one of the stock or the person's last-resort package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPackageKind {
    /// Handed out once.
    OneTime,
    /// Handed out whenever the stock is empty; replaces the previous one.
    LastResort,
}

/// Why an upload or claim was refused; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Not a key package the service accepts.
    #[error("not an acceptable key package: {0}")]
    Framing(#[from] FramingError),
    /// The credential names someone else.
    #[error("the key package's credential names another person")]
    NotYours,
    /// Expired, or not valid yet.
    #[error("the key package's lifetime does not cover now")]
    Lifetime,
    /// The same bytes are already stocked.
    #[error("this key package is already in the directory")]
    Duplicate,
    /// The stock is full.
    #[error("at most {max} key packages per person")]
    StockFull {
        /// The bound.
        max: usize,
    },
    /// Too large.
    #[error("a key package is at most {max} bytes")]
    TooLarge {
        /// The bound.
        max: usize,
    },
    /// Neither a one-time nor a last-resort package is held for the person.
    #[error("no key package is available for this person")]
    Exhausted,
}

/// A package handed out by [`Directory::claim`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The `MLSMessage` bytes of the key package.
    pub key_package: Vec<u8>,
    /// Whether it is the last-resort package (which stays in the directory).
    pub last_resort: bool,
    /// Whether the owner should upload more (the stock fell below the threshold).
    pub replenish: bool,
    /// One-time packages left.
    pub remaining: usize,
}

/// Bounds of the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectoryLimits {
    /// One-time packages held per person.
    pub max_per_person: usize,
    /// Ask for more when fewer than this many are left.
    pub replenish_below: usize,
    /// Bytes per key package.
    pub max_key_package_bytes: usize,
}

impl Default for DirectoryLimits {
    fn default() -> DirectoryLimits {
        DirectoryLimits {
            max_per_person: 16,
            replenish_below: 4,
            max_key_package_bytes: 16 * 1024,
        }
    }
}

/// Every person's key packages.
#[derive(Debug, Default)]
pub struct Directory {
    limits: DirectoryLimits,
    stocks: BTreeMap<PersonId, Stock>,
}

#[derive(Debug, Default)]
struct Stock {
    one_time: VecDeque<Stored>,
    last_resort: Option<Stored>,
}

#[derive(Debug)]
struct Stored {
    bytes: Vec<u8>,
    not_before: u64,
    not_after: u64,
}

impl Stored {
    fn valid_at(&self, now: u64) -> bool {
        self.not_before <= now && now < self.not_after
    }
}

impl Directory {
    /// An empty directory with these bounds.
    pub fn new(limits: DirectoryLimits) -> Directory {
        Directory {
            limits,
            stocks: BTreeMap::new(),
        }
    }

    /// Stocks `bytes` as `owner`'s package at `now` (seconds since the Unix epoch); returns the
    /// number of one-time packages now held.
    pub fn upload(
        &mut self,
        now: u64,
        owner: PersonId,
        kind: KeyPackageKind,
        bytes: &[u8],
    ) -> Result<usize, DirectoryError> {
        if bytes.len() > self.limits.max_key_package_bytes {
            return Err(DirectoryError::TooLarge {
                max: self.limits.max_key_package_bytes,
            });
        }
        let view = framing::key_package(bytes)?;
        if view.identity != MemberIdentity::of(owner) {
            return Err(DirectoryError::NotYours);
        }
        if !(view.not_before <= now && now < view.not_after) {
            return Err(DirectoryError::Lifetime);
        }
        let stock = self.stocks.entry(owner).or_default();
        let duplicate = stock
            .one_time
            .iter()
            .chain(stock.last_resort.as_ref())
            .any(|stored| stored.bytes == bytes);
        if duplicate {
            return Err(DirectoryError::Duplicate);
        }
        stock.one_time.retain(|stored| stored.valid_at(now));
        let stored = Stored {
            bytes: bytes.to_vec(),
            not_before: view.not_before,
            not_after: view.not_after,
        };
        match kind {
            KeyPackageKind::OneTime => {
                if stock.one_time.len() >= self.limits.max_per_person {
                    return Err(DirectoryError::StockFull {
                        max: self.limits.max_per_person,
                    });
                }
                stock.one_time.push_back(stored);
            }
            KeyPackageKind::LastResort => stock.last_resort = Some(stored),
        }
        Ok(stock.one_time.len())
    }

    /// Hands out one of `owner`'s packages valid at `now`: the oldest one-time package (removed
    /// for good), else the last-resort package (kept).
    pub fn claim(&mut self, now: u64, owner: PersonId) -> Result<Claimed, DirectoryError> {
        let stock = self
            .stocks
            .get_mut(&owner)
            .ok_or(DirectoryError::Exhausted)?;
        stock.one_time.retain(|stored| stored.valid_at(now));
        let (key_package, last_resort) = match stock.one_time.pop_front() {
            Some(stored) => (stored.bytes, false),
            None => match &stock.last_resort {
                Some(stored) if stored.valid_at(now) => (stored.bytes.clone(), true),
                _ => return Err(DirectoryError::Exhausted),
            },
        };
        let remaining = stock.one_time.len();
        Ok(Claimed {
            key_package,
            last_resort,
            replenish: remaining < self.limits.replenish_below,
            remaining,
        })
    }

    /// One-time packages held for `owner` (expired ones included until the next upload or claim).
    pub fn stock(&self, owner: PersonId) -> usize {
        self.stocks
            .get(&owner)
            .map_or(0, |stock| stock.one_time.len())
    }

    /// Forgets everything held for `owner` (they left the meeting).
    pub fn forget(&mut self, owner: PersonId) {
        self.stocks.remove(&owner);
    }
}
