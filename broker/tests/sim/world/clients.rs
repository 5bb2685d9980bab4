//! The simulated clients: calls made, replies checked.

use std::time::Duration;

use bytes::Bytes;

use super::{Ev, Kind, Sent, World, SECOND_PROGRAM};
use crate::wire::{self, Answer, Token, OTHER_PROGRAM, PROGRAM};

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
            let kind = match self.rng.below(100) {
                0..=19 => Kind::Keyed(1),
                20..=49 => Kind::Keyed(2),
                50..=59 => Kind::Keyed(3),
                60..=69 => Kind::Null,
                70..=84 => Kind::Second,
                85..=92 => Kind::Unrouted,
                _ => Kind::WrongVersion,
            };
            let key = format!("k{}", self.rng.below(50)).into_bytes();
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
            client.outstanding.insert(
                xid,
                Sent {
                    token,
                    kind,
                    key,
                    sent_at: self.now,
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
            (_, Answer::Success(results)) => results[..] == wire::args(&sent.key, sent.token)[..],
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
