//! Rate limits on what a subscriber can make a publisher do. Key-frame requests are the one that
//! matters: a key frame is several times the size of a delta frame, and after every MLS epoch
//! change each subscriber asks for one, so an unlimited relay would let one participant (or a
//! burst of joins) make every publisher send key frames back to back.

use std::time::{Duration, Instant};

/// At most one event per `interval`: the first is allowed, later ones only once `interval` has
/// passed since the last allowed one. Time comes in as values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateLimit {
    interval: Duration,
    last_allowed: Option<Instant>,
}

impl RateLimit {
    pub(crate) fn new(interval: Duration) -> RateLimit {
        RateLimit {
            interval,
            last_allowed: None,
        }
    }

    /// Whether an event at `now` may go through; if so, it counts.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last_allowed {
            // A clock that went backwards gives zero elapsed time, which refuses: the safe side.
            if now.saturating_duration_since(last) < self.interval {
                return false;
            }
        }
        self.last_allowed = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_millis(500);

    #[test]
    fn first_request_goes_through() {
        let mut limit = RateLimit::new(INTERVAL);
        assert!(limit.allow(Instant::now()));
    }

    #[test]
    fn requests_within_the_interval_are_refused_and_do_not_extend_it() {
        let start = Instant::now();
        let mut limit = RateLimit::new(INTERVAL);
        assert!(limit.allow(start));
        for millis in [1, 100, 250, 499] {
            assert!(
                !limit.allow(start + Duration::from_millis(millis)),
                "{millis} ms"
            );
        }
        // Refused requests did not move the window: 500 ms after the allowed one is allowed.
        assert!(limit.allow(start + INTERVAL));
        assert!(!limit.allow(start + INTERVAL + Duration::from_millis(499)));
        assert!(limit.allow(start + INTERVAL * 2));
    }

    #[test]
    fn a_burst_every_10_ms_for_2_s_lets_through_one_per_interval() {
        let start = Instant::now();
        let mut limit = RateLimit::new(INTERVAL);
        let allowed = (0..200)
            .filter(|step| limit.allow(start + Duration::from_millis(step * 10)))
            .count();
        assert_eq!(allowed, 4); // at 0, 500, 1000 and 1500 ms
    }

    #[test]
    fn a_clock_going_backwards_refuses() {
        let start = Instant::now() + Duration::from_secs(10);
        let mut limit = RateLimit::new(INTERVAL);
        assert!(limit.allow(start));
        assert!(!limit.allow(start - Duration::from_secs(5)));
    }
}
