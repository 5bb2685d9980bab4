//! `AllSyncRoute`: a write sent to every live replica of its key at once,
//! answered when every copy is answered.
//!
//! [`AllSync`] is the vote, pure: one slot per copy, filled with the
//! copy's reply (or nothing, when the broker gave up on it), and an
//! [`AllSyncOutcome`] once every slot is filled. The [`Core`] glue below
//! creates one forwarded call per copy (each placed, sent with its own
//! XID, timed out and, when idempotent, retried like any call) whose
//! answers go to the vote instead of the client.
//!
//! A copy *acknowledges* when its reply is MSG_ACCEPTED / SUCCESS (RFC 5531
//! section 9): the replica ran the procedure. With at least `min_acks`
//! acknowledgements the client gets one of them, chosen in the key's
//! rendezvous order: the first that is not a miss ([`MissRule`]), else the
//! first. With fewer, the client gets SYSTEM_ERR (accept_stat 5); the
//! copies that did succeed are not undone.

use std::time::Instant;

use bytes::Bytes;

use super::completion::CallStatus;
use super::handles::{BackendId, CallId, ClientId, FanoutId};
use super::output::{Destination, FailReason, Transmit};
use super::policy::MissRule;
use super::state::{Backends, Call};
use super::Core;

/// The vote of one fanned-out write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllSync {
    /// Per copy, in the key's rendezvous order: `None` while unanswered,
    /// then `Some(Some(reply))` or `Some(None)` (no reply: failed).
    answers: Vec<Option<Option<Bytes>>>,
    min_acks: usize,
    miss: Option<MissRule>,
}

/// How a fanned-out write ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllSyncOutcome {
    /// At least `min_acks` copies acknowledged: pass on `reply`, the
    /// answer of copy `copy`.
    Acked {
        /// The index of the copy whose reply is passed on.
        copy: usize,
        /// Its reply record (XID first).
        reply: Bytes,
        /// Copies that acknowledged.
        acks: usize,
    },
    /// Fewer than `min_acks` copies acknowledged.
    TooFewAcks {
        /// Copies that acknowledged.
        acks: usize,
    },
}

impl AllSync {
    /// A vote over `copies` copies needing `min_acks` acknowledgements;
    /// `miss` tells which acknowledgements are misses (passed on only
    /// when no other acknowledgement is).
    pub fn new(copies: usize, min_acks: usize, miss: Option<MissRule>) -> AllSync {
        AllSync {
            answers: vec![None; copies],
            min_acks,
            miss,
        }
    }

    /// Copy `copy` is answered with `reply`, or failed (`None`). A second
    /// answer for the same copy is ignored.
    pub fn answer(&mut self, copy: usize, reply: Option<Bytes>) {
        if let Some(slot) = self.answers.get_mut(copy) {
            slot.get_or_insert(reply);
        }
    }

    /// The outcome, once every copy is answered.
    pub fn outcome(&self) -> Option<AllSyncOutcome> {
        let mut acked = Vec::new();
        for (i, a) in self.answers.iter().enumerate() {
            match a {
                None => return None,
                Some(Some(r)) if CallStatus::of_reply(r) == CallStatus::Success => {
                    acked.push((i, r))
                }
                Some(_) => {}
            }
        }
        let acks = acked.len();
        if acks < self.min_acks.max(1) {
            return Some(AllSyncOutcome::TooFewAcks { acks });
        }
        let miss = |r: &Bytes| self.miss.is_some_and(|m| m.is_miss(r));
        let (copy, reply) = acked
            .iter()
            .find(|(_, r)| !miss(r))
            .or(acked.first())
            .map(|(i, r)| (*i, (*r).clone()))?;
        Some(AllSyncOutcome::Acked { copy, reply, acks })
    }
}

/// A fanned-out write in the core: who waits for it and its copies.
#[derive(Debug)]
pub(crate) struct Fanout {
    pub(crate) client: ClientId,
    pub(crate) client_xid: u32,
    pub(crate) header: (u32, u32, u32),
    pub(crate) started: Instant,
    /// The copies' calls and backends, in the key's rendezvous order.
    pub(crate) copies: Vec<(CallId, BackendId)>,
    pub(crate) vote: AllSync,
}

impl Core {
    /// `AllSyncRoute`: sends a copy of `write` (a call not yet registered,
    /// without candidates) to each live one of the key's `replicas`, or
    /// answers SYSTEM_ERR at once when fewer than `min_acks` are live.
    pub(super) fn fan_out(
        &mut self,
        now: Instant,
        write: Call,
        replicas: Backends,
        min_acks: usize,
        miss: Option<MissRule>,
    ) {
        let live: Vec<BackendId> = replicas
            .into_iter()
            .filter(|b| self.backends.get(b.0).is_some_and(|s| s.usable()))
            .collect();
        let caller = (write.client, write.client_xid, write.header);
        if live.len() < min_acks.max(1) {
            // Not enough replicas to acknowledge: nothing is sent.
            return self.answer_system_err(caller, None, FailReason::NoBackend, now, now);
        }
        let fanout = FanoutId(self.next_fanout);
        self.next_fanout += 1;
        let copies: Vec<(CallId, BackendId)> = live
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let copy = Call {
                    candidates: smallvec::smallvec![*b],
                    copy_of: Some((fanout, i)),
                    ..write.clone()
                };
                (self.insert_call(copy), *b)
            })
            .collect();
        self.fanouts.insert(
            fanout,
            Fanout {
                client: write.client,
                client_xid: write.client_xid,
                header: write.header,
                started: now,
                vote: AllSync::new(copies.len(), min_acks, miss),
                copies: copies.clone(),
            },
        );
        if let Some(c) = self.clients.get_mut(&write.client) {
            c.writes.insert(fanout);
        }
        // Every copy exists before any is placed: a copy that fails at
        // once must not complete the vote early.
        for (id, _) in copies {
            self.place(now, id);
        }
    }

    /// Copy `copy` of write `id` is answered (`Some(reply)`) or failed.
    pub(super) fn copy_answered(
        &mut self,
        now: Instant,
        id: FanoutId,
        copy: usize,
        reply: Option<Bytes>,
    ) {
        let Some(f) = self.fanouts.get_mut(&id) else {
            return;
        };
        f.vote.answer(copy, reply);
        let Some(outcome) = f.vote.outcome() else {
            return;
        };
        let Some(f) = self.fanouts.remove(&id) else {
            return;
        };
        if let Some(c) = self.clients.get_mut(&f.client) {
            c.writes.remove(&id);
        }
        match outcome {
            AllSyncOutcome::Acked { copy, reply, .. } => {
                self.stats.replies += 1;
                let backend = f.copies.get(copy).map(|c| c.1);
                let status = CallStatus::of_reply(&reply);
                self.note_done(f.header, backend, status, f.started, now);
                self.transmits.push_back(Transmit {
                    destination: Destination::Client(f.client),
                    xid: f.client_xid,
                    rest: reply.slice(4.min(reply.len())..),
                });
            }
            AllSyncOutcome::TooFewAcks { .. } => {
                self.stats.writes_short_of_acks += 1;
                let backend = f.copies.first().map(|c| c.1);
                let caller = (f.client, f.client_xid, f.header);
                self.answer_system_err(caller, backend, FailReason::TooFewAcks, f.started, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(accept_stat: u32, first: u32) -> Bytes {
        [9u32, 1, 0, 0, 0, accept_stat, first]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect::<Vec<u8>>()
            .into()
    }

    #[test]
    fn waits_for_every_copy_then_needs_min_acks() {
        let mut v = AllSync::new(3, 2, None);
        v.answer(0, Some(reply(0, 0)));
        v.answer(2, None);
        assert_eq!(v.outcome(), None, "copy 1 still unanswered");
        v.answer(1, Some(reply(5, 0)));
        assert_eq!(v.outcome(), Some(AllSyncOutcome::TooFewAcks { acks: 1 }));

        let mut v = AllSync::new(3, 2, None);
        v.answer(0, None);
        v.answer(1, Some(reply(0, 7)));
        v.answer(2, Some(reply(0, 8)));
        // A second answer for a copy does not replace the first.
        v.answer(1, None);
        assert_eq!(
            v.outcome(),
            Some(AllSyncOutcome::Acked {
                copy: 1,
                reply: reply(0, 7),
                acks: 2
            })
        );
    }

    #[test]
    fn the_first_acknowledgement_that_is_not_a_miss_is_passed_on() {
        let noent = Some(MissRule { status: 2 });
        let mut v = AllSync::new(2, 1, noent);
        v.answer(0, Some(reply(0, 2)));
        v.answer(1, Some(reply(0, 0)));
        let Some(AllSyncOutcome::Acked { copy, acks, .. }) = v.outcome() else {
            panic!()
        };
        assert_eq!((copy, acks), (1, 2));
        // Every acknowledgement a miss: the first one.
        let mut v = AllSync::new(2, 1, noent);
        v.answer(1, Some(reply(0, 2)));
        v.answer(0, Some(reply(0, 2)));
        assert!(matches!(
            v.outcome(),
            Some(AllSyncOutcome::Acked { copy: 0, .. })
        ));
    }

    #[test]
    fn min_acks_zero_still_needs_one() {
        let mut v = AllSync::new(1, 0, None);
        v.answer(0, None);
        assert_eq!(v.outcome(), Some(AllSyncOutcome::TooFewAcks { acks: 0 }));
    }
}
