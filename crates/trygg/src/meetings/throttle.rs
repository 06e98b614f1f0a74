//! Wrong meeting passcodes counted per source across all meetings. Each meeting already locks a
//! source out after a few wrong passcodes and itself after more (`meeting::PasscodeLimits`); this
//! is the bound above them, so that one source cannot go from meeting to meeting guessing: after
//! [`SOURCE_LIMIT`] wrong passcodes within [`SOURCE_WINDOW_MS`], in whichever meetings, that source
//! may try no passcode anywhere on this node until the window has passed.
//!
//! Sans-IO: time comes in as a value. Memory is bounded by [`MAX_SOURCES`]: when full, expired
//! windows go first, then the source with the fewest failures (the one least likely to be
//! guessing).

use std::collections::HashMap;

/// Wrong passcodes from one source, across all meetings, before it must wait.
pub const SOURCE_LIMIT: u32 = 20;
/// The window those are counted in.
pub const SOURCE_WINDOW_MS: i64 = 60 * 60_000;
/// Sources tracked at once.
pub const MAX_SOURCES: usize = 100_000;

#[derive(Debug)]
pub struct SourceThrottle {
    limit: u32,
    window_ms: i64,
    max_sources: usize,
    failures: HashMap<String, Window>,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    started_ms: i64,
    count: u32,
}

impl Default for SourceThrottle {
    fn default() -> SourceThrottle {
        SourceThrottle::new(SOURCE_LIMIT, SOURCE_WINDOW_MS, MAX_SOURCES)
    }
}

impl SourceThrottle {
    pub fn new(limit: u32, window_ms: i64, max_sources: usize) -> SourceThrottle {
        SourceThrottle {
            limit,
            window_ms,
            max_sources: max_sources.max(1),
            failures: HashMap::new(),
        }
    }

    /// Whether `source` may try a passcode at `now_ms`.
    pub fn allows(&self, source: &str, now_ms: i64) -> bool {
        self.current(source, now_ms)
            .is_none_or(|window| window.count < self.limit)
    }

    /// Counts a wrong passcode from `source`; returns its failures in the current window.
    pub fn failed(&mut self, source: &str, now_ms: i64) -> u32 {
        let count = self
            .current(source, now_ms)
            .map_or(1, |window| window.count.saturating_add(1));
        if !self.failures.contains_key(source) && self.failures.len() >= self.max_sources {
            self.make_room(now_ms);
        }
        let started_ms = self
            .current(source, now_ms)
            .map_or(now_ms, |window| window.started_ms);
        self.failures
            .insert(source.to_owned(), Window { started_ms, count });
        count
    }

    fn current(&self, source: &str, now_ms: i64) -> Option<Window> {
        self.failures
            .get(source)
            .copied()
            .filter(|window| now_ms - window.started_ms < self.window_ms)
    }

    fn make_room(&mut self, now_ms: i64) {
        let window_ms = self.window_ms;
        self.failures
            .retain(|_, window| now_ms - window.started_ms < window_ms);
        if self.failures.len() >= self.max_sources {
            let least = self
                .failures
                .iter()
                .min_by_key(|(_, window)| window.count)
                .map(|(source, _)| source.clone());
            if let Some(source) = least {
                self.failures.remove(&source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_waits_after_its_limit_in_any_meetings_until_the_window_passes() {
        let mut throttle = SourceThrottle::new(3, 1_000, 10);
        assert!(throttle.allows("a", 0));
        assert_eq!(throttle.failed("a", 0), 1);
        assert_eq!(throttle.failed("a", 100), 2);
        assert!(throttle.allows("a", 200), "two of three");
        assert_eq!(throttle.failed("a", 300), 3);
        assert!(!throttle.allows("a", 301), "the third failure closes it");
        assert!(!throttle.allows("a", 999), "for the rest of the window");
        assert!(throttle.allows("b", 301), "other sources are not affected");
        // The window counts from the first failure; after it the source starts afresh.
        assert!(throttle.allows("a", 1_000));
        assert_eq!(throttle.failed("a", 1_000), 1);
    }

    #[test]
    fn memory_stays_bounded_and_the_busiest_guesser_is_kept() {
        let mut throttle = SourceThrottle::new(5, 1_000, 3);
        for _ in 0..4 {
            throttle.failed("guesser", 0);
        }
        throttle.failed("b", 0);
        throttle.failed("c", 0);
        // Full: a new source pushes out one with the fewest failures, never the guesser.
        throttle.failed("d", 10);
        assert_eq!(throttle.failures.len(), 3);
        assert!(throttle.failures.contains_key("guesser"));
        assert!(throttle.failures.contains_key("d"));
        assert_eq!(throttle.failed("guesser", 20), 5);
        assert!(!throttle.allows("guesser", 21));
        // Expired windows make room first.
        throttle.failed("e", 5_000);
        assert_eq!(throttle.failures.len(), 1);
    }
}
