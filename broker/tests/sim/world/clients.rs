//! The simulated clients: calls made, replies checked. Each client owns
//! its keys and makes one call at a time on a key, so every key has one
//! writer and its last acknowledged value is well defined.

use std::time::Duration;

use bytes::Bytes;

use super::{Ev, Kind, Sent, World, SECOND_PROGRAM};
use crate::wire::{self, Answer, Token, NOENT, OTHER_PROGRAM, PROGRAM};

/// Keys per client.
const KEYS_PER_CLIENT: u64 = 6;

impl World {
    pub(super) fn close_client(&mut self, c: usize) {
        let last = self.clients[c].to_core_last;
        let at = self.fifo(last);
        self.clients[c].closed = true;
        self.schedule_at(at, Ev::CoreClientClosed(c));
    }

    pub(super) fn client_tick(&mut self, c: usize) {
        loop {
            let client = &self.clients[c];
            if !client.connected
                || client.outstanding.len() >= client.window
                || client.next_seq >= self.s.calls_per_client
            {
                break;
            }
            let mut kind = match self.rng.below(100) {
                0..=24 => Kind::Keyed(1),
                25..=54 => Kind::Keyed(2),
                55..=62 => Kind::Keyed(3),
                63..=72 => Kind::Null,
                73..=86 => Kind::Second,
                87..=93 => Kind::Unrouted,
                _ => Kind::WrongVersion,
            };
            let key = format!("c{c}k{}", self.rng.below(KEYS_PER_CLIENT)).into_bytes();
            let busy = client.outstanding.values().any(|s| s.key == key);
            if busy && matches!(kind, Kind::Keyed(_)) {
                kind = Kind::Null;
            }
            let client = &mut self.clients[c];
            let token = Token {
                client: c as u32,
                seq: client.next_seq,
            };
            client.next_seq += 1;
            let xid = client.next_xid;
            client.next_xid += 1;
            let (program, version, procedure) = match kind {
                Kind::Keyed(p) => (PROGRAM, 1, p),
                Kind::Null => (PROGRAM, 1, 0),
                Kind::Second => (SECOND_PROGRAM, 1, 1),
                Kind::Unrouted => (OTHER_PROGRAM, 1, 0),
                Kind::WrongVersion => (PROGRAM, 7, 0),
            };
            let record = wire::call(xid, program, version, procedure, &key, token);
            let read = match kind {
                Kind::Keyed(1) => {
                    self.write_sent(&key, token.seq, Some(token));
                    None
                }
                Kind::Keyed(3) => {
                    self.write_sent(&key, token.seq, None);
                    None
                }
                Kind::Keyed(2) => Some(self.read_start(&key)),
                _ => None,
            };
            let client = &mut self.clients[c];
            client.outstanding.insert(
                xid,
                Sent {
                    token,
                    kind,
                    key,
                    sent_at: self.now,
                    read,
                },
            );
            self.calls += 1;
            let last = self.clients[c].to_core_last;
            let at = self.fifo(last);
            self.clients[c].to_core_last = at;
            self.schedule_at(at, Ev::CoreClientCall(c, record));
        }
        let client = &self.clients[c];
        if client.connected
            && client.outstanding.is_empty()
            && client.next_seq >= self.s.calls_per_client
            && !client.closed
        {
            self.close_client(c);
        }
    }

    pub(super) fn client_receive(&mut self, c: usize, record: Bytes) {
        if !self.clients[c].connected {
            return;
        }
        let Some((xid, answer)) = wire::parse_reply(&record) else {
            return self.violation(format!("client {c}: a record that is not a reply"));
        };
        let Some(sent) = self.clients[c].outstanding.remove(&xid) else {
            return self.violation(format!(
                "client {c}: reply with XID {xid}, which it is not waiting for (wrong caller or duplicate)"
            ));
        };
        self.clients[c].answered += 1;
        let bound = sent.sent_at + sent.kind.timeout() + self.s.max_net_delay * 2;
        if self.now > bound {
            self.violation(format!(
                "client {c}: {:?} answered {:?} after it was sent (timeout {:?})",
                sent.kind,
                self.now - sent.sent_at,
                sent.kind.timeout()
            ));
        }
        let ok = match (&sent.kind, &answer) {
            (Kind::Unrouted, Answer::ProgUnavail) => true,
            (Kind::WrongVersion, Answer::ProgMismatch(1, 1)) => true,
            (Kind::Unrouted | Kind::WrongVersion, _) => false,
            (kind, Answer::Success(results)) => match wire::parse_results(results) {
                Some((status, key, token)) if key == sent.key => {
                    self.check_result(*kind, &sent, status, token)
                }
                _ => false,
            },
            (_, Answer::SystemErr) => !self.s.calm,
            _ => false,
        };
        if !ok {
            self.violation(format!(
                "client {c}: {:?} (token {:?}) got {answer:?}",
                sent.kind, sent.token
            ));
        }
        let think = Duration::from_micros(self.rng.below(3000));
        self.schedule(think, Ev::ClientTick(c));
    }
}

impl World {
    /// A successful reply's results: `status` and `token` as the backend
    /// wrote them. Writes are recorded as acknowledged, reads judged.
    fn check_result(&mut self, kind: Kind, sent: &Sent, status: u32, token: Token) -> bool {
        match kind {
            Kind::Keyed(1) if status == 0 && token == sent.token => {
                self.write_acked(&sent.key, sent.token.seq, Some(sent.token));
                true
            }
            Kind::Keyed(3) if (status == 0 || status == NOENT) && token == sent.token => {
                self.write_acked(&sent.key, sent.token.seq, None);
                true
            }
            Kind::Keyed(2) => {
                let got = match status {
                    0 => Some(token),
                    NOENT => None,
                    _ => return false,
                };
                if let Some(start) = sent.read {
                    self.read_answered(&sent.key, start, got);
                }
                true
            }
            Kind::Null | Kind::Second => status == 0 && token == sent.token,
            _ => false,
        }
    }
}
