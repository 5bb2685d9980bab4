//! [`SeqWindow`]: the server's sequence window of one context (RFC 2203
//! section 5.3.3.1).
//!
//! ```text
//!            below: dropped     window (seen bits)      above: accepted,
//!   ... ------------------ | x . x x . . x x x x | ---- window slides up
//!                          ^ highest - size + 1  ^ highest
//! ```

/// The default sequence window a server offers, in calls: 128 (also the
/// libtirpc and Linux server value). A client keeps at most this many
/// calls in flight on one context.
pub const DEFAULT_SEQ_WINDOW: u32 = 128;

/// Which sequence numbers a context has seen, in a window of `size`
/// below the highest one.
#[derive(Debug)]
pub(crate) struct SeqWindow {
    /// The highest sequence number accepted, if any.
    highest: Option<u32>,
    /// Bit `i` set: `highest - i` was seen.
    seen: u128,
    size: u32,
}

impl SeqWindow {
    /// A window of `size` sequence numbers (1 to 128).
    pub(crate) fn new(size: u32) -> Self {
        SeqWindow {
            highest: None,
            seen: 0,
            size: size.clamp(1, 128),
        }
    }

    /// Records `seq`; false when it is a replay or below the window (the
    /// call must then be dropped without a reply).
    pub(crate) fn accept(&mut self, seq: u32) -> bool {
        let Some(highest) = self.highest else {
            self.highest = Some(seq);
            self.seen = 1;
            return true;
        };
        if seq > highest {
            let shift = seq - highest;
            self.seen = if shift >= 128 { 0 } else { self.seen << shift };
            self.seen |= 1;
            self.highest = Some(seq);
            return true;
        }
        let back = highest - seq;
        if back >= self.size {
            return false;
        }
        let bit = 1u128 << back;
        if self.seen & bit != 0 {
            return false;
        }
        self.seen |= bit;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_and_calls_below_the_window_are_refused() {
        let mut w = SeqWindow::new(4);
        assert!(w.accept(10));
        assert!(!w.accept(10), "replay of the highest");
        assert!(w.accept(8), "out of order, inside the window");
        assert!(!w.accept(8), "replay inside the window");
        assert!(w.accept(7));
        assert!(!w.accept(6), "10 - 6 = 4: just below a window of 4");
        assert!(w.accept(200), "far above: the window slides");
        assert!(!w.accept(10));
        assert!(w.accept(199) && w.accept(197) && !w.accept(196));
    }

    #[test]
    fn every_order_of_a_window_is_accepted_once() {
        let mut w = SeqWindow::new(128);
        let seqs: Vec<u32> = (0..128).rev().collect();
        assert!(seqs.iter().all(|&s| w.accept(s)));
        assert!(seqs.iter().all(|&s| !w.accept(s)));
    }
}
