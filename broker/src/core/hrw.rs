//! Rendezvous (highest-random-weight) hashing: which backends of a pool
//! hold a key, in failover order.
//!
//! Every broker computes the same order for the same key and the same
//! backend names, with no coordination, so the hash is fixed and
//! documented here (changing it moves every key):
//!
//! ```text
//! weight(key, name) = mix64(fnv1a64(name || 0xFF || key))
//! fnv1a64: offset basis 0xcbf29ce484222325, prime 0x100000001b3, bytewise
//! mix64(z): z ^= z >> 30; z *= 0xbf58476d1ce4e5b9;
//!           z ^= z >> 27; z *= 0x94d049bb133111eb; z ^= z >> 31   (mod 2^64)
//! ```
//!
//! `name` is the backend's name in the configuration (not its address, so
//! a backend can move without moving its keys); 0xFF never occurs in
//! UTF-8 names, so `name || 0xFF || key` is unambiguous. Backends are
//! ranked by weight, highest first; equal weights (practically never) by
//! name. Removing a backend from the pool moves only its own keys, each to
//! the next backend in that key's order.

use super::rng::mix64;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The rendezvous weight of `key` on the backend named `name` (see the
/// module docs for the exact function).
pub fn weight(key: &[u8], name: &str) -> u64 {
    let h = fnv1a(FNV_OFFSET, name.as_bytes());
    let h = fnv1a(h, &[0xFF]);
    mix64(fnv1a(h, key))
}

/// Indices into `names`, ordered by decreasing [`weight`] of `key`: the
/// first is the key's primary backend, the next its first replica, and so
/// on.
///
/// ```
/// use broker::core::hrw;
/// let names = ["store1", "store2", "store3"];
/// let order = hrw::rank(b"user/42", &names);
/// assert_eq!(order.len(), 3);
/// // Removing a backend other than the primary keeps the primary.
/// let without: Vec<&str> = names.iter().copied().filter(|n| *n != names[order[2]]).collect();
/// assert_eq!(without[hrw::rank(b"user/42", &without)[0]], names[order[0]]);
/// ```
pub fn rank<S: AsRef<str>>(key: &[u8], names: &[S]) -> Vec<usize> {
    let mut scored: Vec<(u64, &str, usize)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (weight(key, n.as_ref()), n.as_ref(), i))
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.into_iter().map(|(_, _, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn spreads_keys_evenly_and_moves_few_on_removal() {
        let names = ["a", "b", "c", "d"];
        let mut counts = [0usize; 4];
        let mut moved = 0;
        let three = ["a", "b", "c"];
        for i in 0..4000 {
            let key = format!("key-{i}");
            let first = rank(key.as_bytes(), &names)[0];
            counts[first] += 1;
            let first3 = three[rank(key.as_bytes(), &three)[0]];
            if names[first] != "d" && first3 != names[first] {
                moved += 1;
            }
        }
        for c in counts {
            assert!((800..1200).contains(&c), "{counts:?}");
        }
        assert_eq!(moved, 0, "only keys of the removed backend move");
    }
}
