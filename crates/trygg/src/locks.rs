//! Locking the in-memory tables of the services (throttles, ceremonies, live meetings): a
//! `Mutex` whose holder panicked is still used, not turned into a panic of its own. Every table
//! is changed in single, complete steps under its lock, so a panic elsewhere leaves it
//! consistent, and a poisoned lock must not take sign-in or every meeting down with it.

use std::sync::{Mutex, MutexGuard};

pub(crate) trait Locked<T> {
    /// The lock's guard, poisoned or not.
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T> Locked<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
