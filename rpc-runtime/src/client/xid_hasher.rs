//! [`XidHasher`]: the hash of the pending-call table's keys.

use std::hash::{BuildHasherDefault, Hasher};

/// Hashes an XID with one multiplication (Fibonacci hashing). XIDs are
/// chosen by this client (a counter), never by the peer (a reply's XID is
/// only looked up, never inserted), so a keyed hash buys nothing here,
/// and SipHash cost more than the rest of a lookup.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct XidHasher(u64);

/// Builds [`XidHasher`]s, for `HashMap<u32, _, BuildXidHasher>`.
pub(super) type BuildXidHasher = BuildHasherDefault<XidHasher>;

/// 2^64 divided by the golden ratio, odd: multiplying by it permutes the
/// low bits and spreads every bit into the high ones.
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for XidHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(GOLDEN);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(GOLDEN);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn consecutive_xids_spread_over_buckets() {
        let b = BuildXidHasher::default();
        // The low 10 bits (a 1024-bucket table) of 1024 consecutive XIDs
        // are all different; so are the top 7 (hashbrown's tag) of most.
        let low: HashSet<u64> = (5000u32..6024).map(|x| b.hash_one(x) & 1023).collect();
        assert_eq!(low.len(), 1024);
        let tags: HashSet<u64> = (5000u32..5128).map(|x| b.hash_one(x) >> 57).collect();
        assert!(tags.len() > 64, "{}", tags.len());
    }
}
