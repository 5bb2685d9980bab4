//! The keys a datastore client owns, the values it writes to them, and
//! what it may read back: the last acknowledged value, or a value written
//! after it whose PUT got no acknowledgement (it may or may not have been
//! stored).

use bytes::Bytes;

/// What a read of a key returned, against what was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadCheck {
    /// The last acknowledged value, a value written after it, or "no such
    /// key" for a key never acknowledged.
    Consistent,
    /// "No such key" for a key with an acknowledged PUT.
    Missing,
    /// Some other value.
    Wrong,
}

#[derive(Debug, Clone, Default)]
struct KeyState {
    /// The version the next PUT writes (versions start at 1).
    next_version: u64,
    /// The last acknowledged version.
    acked: Option<u64>,
    /// Versions written after `acked` whose PUT was not acknowledged.
    in_doubt: Vec<u64>,
    /// A call on this key is in flight.
    busy: bool,
}

/// The keys of one client (`c{client}-k{j}`), with what was written to
/// each.
#[derive(Debug, Clone)]
pub(super) struct KeyBook {
    client: usize,
    payload_bytes: usize,
    keys: Vec<KeyState>,
}

impl KeyBook {
    /// `count` keys of client number `client`, whose values are
    /// `payload_bytes` long (at least 8).
    pub(super) fn new(client: usize, count: usize, payload_bytes: u32) -> Self {
        KeyBook {
            client,
            payload_bytes: usize::try_from(payload_bytes).unwrap_or(usize::MAX).max(8),
            keys: vec![KeyState::default(); count],
        }
    }

    /// Key `j`'s name.
    pub(super) fn name(&self, j: usize) -> String {
        format!("c{}-k{j}", self.client)
    }

    /// Number of keys.
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Bytes of every value.
    pub(super) fn payload_bytes(&self) -> usize {
        self.payload_bytes
    }

    /// The value of key `j` at `version`: the version (8 bytes, big
    /// endian) then a filler that depends on client, key and version.
    pub(super) fn value(&self, j: usize, version: u64) -> Bytes {
        let mut v = Vec::with_capacity(self.payload_bytes);
        v.extend_from_slice(&version.to_be_bytes());
        let seed = (self.client as u64)
            .wrapping_mul(31)
            .wrapping_add(j as u64 * 7)
            .wrapping_add(version);
        v.extend((0..self.payload_bytes - 8).map(|i| seed.wrapping_add(i as u64) as u8));
        Bytes::from(v)
    }

    /// A key with no call in flight, picked with `rng`, marked busy; `None`
    /// when every key is busy.
    pub(super) fn pick(&mut self, rng: &mut fastrand::Rng) -> Option<usize> {
        let start = rng.usize(..self.keys.len().max(1));
        let n = self.keys.len();
        let j = (0..n)
            .map(|k| (start + k) % n)
            .find(|&j| self.keys.get(j).is_some_and(|k| !k.busy))?;
        if let Some(k) = self.keys.get_mut(j) {
            k.busy = true;
        }
        Some(j)
    }

    /// Whether key `j` was ever written (acknowledged or not).
    pub(super) fn written(&self, j: usize) -> bool {
        self.keys.get(j).is_some_and(|k| k.next_version > 0)
    }

    /// The version and value of a new PUT of key `j`.
    pub(super) fn next_put(&mut self, j: usize) -> (u64, Bytes) {
        let version = match self.keys.get_mut(j) {
            Some(k) => {
                k.next_version += 1;
                k.next_version
            }
            None => 0,
        };
        (version, self.value(j, version))
    }

    /// Records the PUT of `version` to key `j` as acknowledged, and the key
    /// as free.
    pub(super) fn acknowledged(&mut self, j: usize, version: u64) {
        if let Some(k) = self.keys.get_mut(j) {
            k.acked = Some(version);
            k.in_doubt.clear();
            k.busy = false;
        }
    }

    /// Records the PUT of `version` to key `j` as not acknowledged (no
    /// reply, or an error), and the key as free.
    pub(super) fn unacknowledged(&mut self, j: usize, version: u64) {
        if let Some(k) = self.keys.get_mut(j) {
            k.in_doubt.push(version);
            k.busy = false;
        }
    }

    /// Marks key `j` free again (after a GET).
    pub(super) fn release(&mut self, j: usize) {
        if let Some(k) = self.keys.get_mut(j) {
            k.busy = false;
        }
    }

    /// Whether key `j` has an acknowledged PUT.
    pub(super) fn is_acknowledged(&self, j: usize) -> bool {
        self.keys.get(j).is_some_and(|k| k.acked.is_some())
    }

    /// Checks a read of key `j`: `Some(data)`, or `None` for "no such key".
    pub(super) fn check(&self, j: usize, data: Option<&[u8]>) -> ReadCheck {
        let Some(k) = self.keys.get(j) else {
            return ReadCheck::Wrong;
        };
        let Some(data) = data else {
            return if k.acked.is_some() {
                ReadCheck::Missing
            } else {
                ReadCheck::Consistent
            };
        };
        let version = data
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes);
        match version {
            Some(v)
                if (k.acked == Some(v) || k.in_doubt.contains(&v))
                    && data == self.value(j, v).as_ref() =>
            {
                ReadCheck::Consistent
            }
            _ => ReadCheck::Wrong,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass_only_with_the_last_acknowledged_or_a_later_value() {
        let mut book = KeyBook::new(3, 2, 16);
        assert_eq!(book.check(0, None), ReadCheck::Consistent);
        let (v1, d1) = book.next_put(0);
        book.acknowledged(0, v1);
        assert_eq!(book.check(0, Some(&d1)), ReadCheck::Consistent);
        assert_eq!(book.check(0, None), ReadCheck::Missing);
        let (v2, d2) = book.next_put(0);
        book.unacknowledged(0, v2);
        assert_eq!(book.check(0, Some(&d2)), ReadCheck::Consistent);
        assert_eq!(book.check(0, Some(&d1)), ReadCheck::Consistent);
        let (v3, d3) = book.next_put(0);
        book.acknowledged(0, v3);
        assert_eq!(book.check(0, Some(&d3)), ReadCheck::Consistent);
        assert_eq!(book.check(0, Some(&d1)), ReadCheck::Wrong);
        // Another key's value of the same version is not this key's.
        assert_eq!(book.check(0, Some(&book.value(1, v3))), ReadCheck::Wrong);
    }

    #[test]
    fn busy_keys_are_not_picked_twice() {
        let mut book = KeyBook::new(0, 2, 8);
        let mut rng = fastrand::Rng::with_seed(1);
        let a = book.pick(&mut rng).expect("a free key");
        let b = book.pick(&mut rng).expect("a free key");
        assert_ne!(a, b);
        assert_eq!(book.pick(&mut rng), None);
        book.release(a);
        assert_eq!(book.pick(&mut rng), Some(a));
    }
}
