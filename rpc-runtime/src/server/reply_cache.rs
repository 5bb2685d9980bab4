//! [`ReplyCache`]: the replies recently sent to UDP clients, kept for
//! their retransmissions (a duplicate request cache, as RFC 5531 section
//! 8.1's advice on datagram transports suggests for calls that are not
//! idempotent), bounded in entries and bytes, oldest out first. The
//! server's UDP path and the broker's UDP listener both keep one.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

use bytes::Bytes;

/// Which call a reply answered: the client's address and the call's XID.
pub type CallKey = (SocketAddr, u32);

/// A kept reply.
#[derive(Debug)]
struct Kept {
    /// Digest of the call datagram: a client that reuses an XID for
    /// another call must not get the old reply.
    digest: u64,
    reply: Bytes,
    /// When it was kept (an insertion count), to tell it from an older
    /// entry of the same key in the eviction order.
    seq: u64,
}

/// Replies by call, at most `max_entries` of them and `max_bytes` in
/// total (a reply larger than that is not kept).
#[derive(Debug)]
pub struct ReplyCache {
    max_entries: usize,
    max_bytes: usize,
    bytes: usize,
    entries: HashMap<CallKey, Kept>,
    /// Insertion order, for eviction; a key whose entry was replaced
    /// since appears here with an older `seq` (then it is skipped).
    order: VecDeque<(CallKey, u64)>,
    next_seq: u64,
}

impl ReplyCache {
    /// An empty cache of at most `max_entries` replies and `max_bytes`
    /// bytes of them.
    pub fn new(max_entries: usize, max_bytes: usize) -> ReplyCache {
        ReplyCache {
            max_entries,
            max_bytes,
            bytes: 0,
            entries: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// The reply to the call `key` with digest `digest`, if kept.
    pub fn get(&self, key: &CallKey, digest: u64) -> Option<Bytes> {
        self.entries
            .get(key)
            .filter(|k| k.digest == digest)
            .map(|k| k.reply.clone())
    }

    /// Keeps `reply` to call `key` (digest `digest`), evicting the
    /// oldest replies until it fits.
    pub fn insert(&mut self, key: CallKey, digest: u64, reply: Bytes) {
        if self.max_entries == 0 || reply.len() > self.max_bytes {
            return;
        }
        if let Some(old) = self.entries.remove(&key) {
            self.bytes -= old.reply.len();
        }
        while self.entries.len() >= self.max_entries || self.bytes + reply.len() > self.max_bytes {
            let Some((k, seq)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&k).is_some_and(|e| e.seq == seq) {
                if let Some(e) = self.entries.remove(&k) {
                    self.bytes -= e.reply.len();
                }
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += reply.len();
        self.entries.insert(key, Kept { digest, reply, seq });
        self.order.push_back((key, seq));
        // Stale order entries (replaced keys) stay fewer than the live ones.
        if self.order.len() > 2 * self.max_entries {
            let entries = &self.entries;
            self.order
                .retain(|(k, seq)| entries.get(k).is_some_and(|e| e.seq == *seq));
        }
    }

    /// Replies kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no reply is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A digest of a call datagram, to tell a retransmission (the same bytes)
/// from a new call that reuses an XID.
pub fn call_digest(datagram: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    datagram.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn keeps_replies_by_address_xid_and_digest() {
        let mut c = ReplyCache::new(4, 1000);
        c.insert((peer(1), 7), 42, Bytes::from_static(b"reply"));
        assert_eq!(c.get(&(peer(1), 7), 42).as_deref(), Some(&b"reply"[..]));
        assert_eq!(c.get(&(peer(2), 7), 42), None, "another client");
        assert_eq!(c.get(&(peer(1), 7), 43), None, "another call, same XID");
    }

    #[test]
    fn evicts_oldest_beyond_entries_or_bytes() {
        let mut c = ReplyCache::new(2, 10);
        for xid in 0..3 {
            c.insert((peer(1), xid), 0, Bytes::from_static(b"abc"));
        }
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&(peer(1), 0), 0), None);
        // 3 + 8 bytes do not fit 10: the older goes.
        c.insert((peer(1), 9), 0, Bytes::from_static(b"12345678"));
        assert_eq!(c.len(), 1);
        assert!(c.get(&(peer(1), 9), 0).is_some());
        // Larger than the whole cache: not kept, nothing evicted.
        c.insert((peer(1), 10), 0, Bytes::from(vec![0u8; 11]));
        assert_eq!(c.len(), 1);
        // Off.
        let mut off = ReplyCache::new(0, 10);
        off.insert((peer(1), 1), 0, Bytes::from_static(b"a"));
        assert_eq!(off.len(), 0);
    }

    #[test]
    fn replacing_an_entry_keeps_the_byte_count_right() {
        let mut c = ReplyCache::new(8, 10);
        for _ in 0..20 {
            c.insert((peer(1), 1), 0, Bytes::from_static(b"12345"));
        }
        assert_eq!(c.len(), 1);
        c.insert((peer(1), 2), 0, Bytes::from_static(b"12345"));
        assert_eq!(c.len(), 2, "5 + 5 bytes fit");
        assert!(c.order.len() <= 16);
    }
}
