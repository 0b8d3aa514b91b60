//! The inbound message rate of one connection (`realtime.max_client_messages_per_second`): a fixed
//! one-second window kept as two integers, so a thousand idle sockets cost nothing noticeable.

use std::time::{Duration, Instant};

/// Frames counted in the current one-second window.
#[derive(Debug)]
pub struct InboundRate {
    window_start: Instant,
    count: u32,
}

impl InboundRate {
    pub fn new(now: Instant) -> Self {
        InboundRate { window_start: now, count: 0 }
    }

    /// Count one frame at `now`; false when it is more than `limit` in the current window.
    pub fn admit(&mut self, now: Instant, limit: u32) -> bool {
        if now.saturating_duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        self.count <= limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_the_limit_and_refuses_the_next_frame() {
        let start = Instant::now();
        let mut rate = InboundRate::new(start);
        assert!((0..3).all(|_| rate.admit(start, 3)));
        assert!(!rate.admit(start + Duration::from_millis(999), 3));
    }

    #[test]
    fn a_new_second_starts_a_new_window() {
        let start = Instant::now();
        let mut rate = InboundRate::new(start);
        assert!((0..3).all(|_| rate.admit(start, 3)));
        let later = start + Duration::from_secs(1);
        assert!((0..3).all(|_| rate.admit(later, 3)));
        assert!(!rate.admit(later + Duration::from_millis(10), 3));
    }

    #[test]
    fn a_steady_client_below_the_limit_is_always_admitted() {
        let start = Instant::now();
        let mut rate = InboundRate::new(start);
        assert!((0..100u64).all(|i| rate.admit(start + Duration::from_millis(i * 250), 5)));
    }
}
