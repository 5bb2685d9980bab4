//! The data behind the keys: each simulated backend keeps a store (wiped
//! when it crashes, like `datastore-server`), and the world keeps the
//! truth of every key (its last acknowledged write, and the writes sent
//! after it) to check the replication invariant:
//!
//! while at least one replica of a key that the core may use holds the
//! key's last acknowledged value (or a later write), and no replica holds
//! an older value, a read returns the last acknowledged value or a later
//! write's.
//!
//! A read is judged only when that premise held when it was sent and when
//! it was answered, and nothing that could break it (a store change of the
//! key, a replica going down, ejected or drained) happened in between.
//! Reads whose premise failed are counted, not judged: that is what the
//! broker does not promise (no repair of a replica that missed writes).

use std::collections::BTreeMap;

use broker::core::{hrw, BackendId};

use super::World;
use crate::wire::Token;

/// A value of a key: `Some(token of the PUT)`, or `None` (absent).
pub(crate) type Value = Option<Token>;

/// What the world knows of one key (keys belong to one client, which
/// makes one call on a key at a time).
#[derive(Debug, Default)]
pub(crate) struct Truth {
    /// The last acknowledged write: its sequence number and value.
    acked: Option<(u32, Value)>,
    /// Writes sent after it (unanswered, or answered with an error):
    /// their outcome is unknown, so their values may be read too.
    later: Vec<(u32, Value)>,
    /// Bumped whenever something that the premise depends on changes.
    pub(crate) changes: u64,
}

/// The premise as seen when a read was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadStart {
    premise: bool,
    changes: u64,
}

/// Reads judged and reads whose premise failed.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ReadCounts {
    pub(crate) judged: u64,
    pub(crate) unpromised: u64,
}

impl World {
    /// The key's replicas, in rendezvous order.
    fn replicas_of(&self, key: &[u8]) -> Vec<usize> {
        let mut order = hrw::rank(key, &self.names[..self.s.pool]);
        order.truncate(self.s.replicas);
        order
    }

    /// Something about a backend changed (store wiped, down, ejected,
    /// drained): reads of every key in flight are no longer judged.
    pub(super) fn replicas_changed(&mut self) {
        for t in self.truth.values_mut() {
            t.changes += 1;
        }
    }

    /// Backend `b` applies a write of `key` (PUT: `Some`, DELETE: `None`);
    /// returns whether the key was there.
    pub(super) fn apply_write(&mut self, b: usize, key: &[u8], value: Value) -> bool {
        let store = &mut self.backends[b].store;
        let had = match value {
            Some(t) => store.insert(key.to_vec(), t).is_some(),
            None => store.remove(key).is_some(),
        };
        self.truth.entry(key.to_vec()).or_default().changes += 1;
        had
    }

    /// A write of `key` with sequence `seq` is sent.
    pub(super) fn write_sent(&mut self, key: &[u8], seq: u32, value: Value) {
        let t = self.truth.entry(key.to_vec()).or_default();
        t.later.push((seq, value));
        t.changes += 1;
    }

    /// A write of `key` with sequence `seq` is acknowledged.
    pub(super) fn write_acked(&mut self, key: &[u8], seq: u32, value: Value) {
        let t = self.truth.entry(key.to_vec()).or_default();
        t.later.retain(|(s, _)| *s > seq);
        t.acked = Some((seq, value));
        t.changes += 1;
    }

    /// The premise for `key` now.
    fn premise(&self, key: &[u8]) -> bool {
        let Some((seq, value)) = self.truth.get(key).and_then(|t| t.acked) else {
            return true;
        };
        let usable = |b: usize| {
            self.core
                .backend_status(BackendId(b))
                .is_some_and(|s| s.up && !s.ejected && !s.drained && self.backends[b].alive)
        };
        let held = |b: usize| self.backends[b].store.get(key).copied();
        let replicas = self.replicas_of(key);
        let no_older = replicas
            .iter()
            .all(|b| held(*b).is_none_or(|t| t.seq >= seq));
        let one_holds = value.is_none()
            || replicas
                .iter()
                .any(|b| usable(*b) && held(*b).is_some_and(|t| t.seq >= seq));
        no_older && one_holds
    }

    pub(super) fn read_start(&self, key: &[u8]) -> ReadStart {
        ReadStart {
            premise: self.premise(key),
            changes: self.truth.get(key).map_or(0, |t| t.changes),
        }
    }

    /// A read of `key` sent with `start` returned `got`: judge it.
    pub(super) fn read_answered(&mut self, key: &[u8], start: ReadStart, got: Value) {
        let now = self.read_start(key);
        if !(start.premise && now.premise && start.changes == now.changes) {
            self.reads.unpromised += 1;
            return;
        }
        self.reads.judged += 1;
        let truth = self.truth.get(key);
        let acked = truth.and_then(|t| t.acked).and_then(|(_, v)| v);
        let later = |v: Value| truth.is_some_and(|t| t.later.iter().any(|(_, l)| *l == v));
        if acked != got && !later(got) {
            let t = truth.map(|t| (t.acked, t.later.clone()));
            let what = format!(
                "read of {:?} returned {got:?}; (last acknowledged, later writes): {t:?}",
                String::from_utf8_lossy(key),
            );
            self.violation(what);
        }
    }

    /// At the end, with every backend back: every key whose premise holds
    /// reads back (as the core's reads would: the first replica that has
    /// it) its last acknowledged value or a later write's.
    pub(super) fn final_read_back(&mut self) {
        let keys: Vec<Vec<u8>> = self.truth.keys().cloned().collect();
        for key in keys {
            let first_hit = self
                .replicas_of(&key)
                .into_iter()
                .find_map(|b| self.backends[b].store.get(&key).copied());
            let start = self.read_start(&key);
            self.read_answered(&key, start, first_hit);
        }
    }
}

/// A backend's store.
pub(crate) type Store = BTreeMap<Vec<u8>, Token>;
