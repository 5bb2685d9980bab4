//! The simulated backends: calls checked (XIDs, at-most-once per
//! backend, placement), applied to the backend's store and answered,
//! slowly, wrongly or not at all.

use std::time::Duration;

use broker::core::{hrw, ConnId};
use bytes::Bytes;

use super::{Ev, Kind, World};
use crate::wire::{self, NOENT, PROGRAM};

impl World {
    pub(super) fn backend_receive(&mut self, conn: ConnId, record: Bytes) {
        let Some(sc) = self.conns.get(&conn) else {
            return;
        };
        if !sc.open || sc.epoch != self.backends[sc.backend].epoch {
            return;
        }
        let b = sc.backend;
        let epoch = sc.epoch;
        let Some(call) = wire::parse_call(&record) else {
            return self.violation(format!("backend {b}: a record that is not a call"));
        };
        if let Some(sc) = self.conns.get_mut(&conn) {
            if !sc.xids.insert(call.xid) {
                return self.violation(format!(
                    "backend {b}: XID {} already outstanding on its connection",
                    call.xid
                ));
            }
        }
        let kind = match (call.program, call.procedure) {
            (PROGRAM, 0) => Kind::Null,
            (PROGRAM, p) => Kind::Keyed(p),
            _ => Kind::Second,
        };
        if let Some(token) = call.token {
            let n = self.deliveries.entry(token).or_insert(0);
            *n += 1;
            let n = *n;
            let max = kind.max_deliveries(self.s.retries, self.s.replicas);
            if n > max {
                self.violation(format!(
                    "{kind:?} {token:?} delivered {n} times (at most {max})"
                ));
            }
            if !kind.idempotent() && !self.delivered_to.insert((token, b)) {
                self.violation(format!("{kind:?} {token:?} delivered twice to backend {b}"));
            }
            self.check_placement(b, kind, &call.key, n);
        }
        let storm = !self.s.calm;
        if storm && self.rng.chance(self.s.blackhole_permille) {
            return;
        }
        if storm && self.rng.chance(self.s.backend_garbage_permille) {
            // A CALL where a REPLY belongs: the core must drop the
            // connection and still answer every caller.
            let junk = wire::call(call.xid, 1, 1, 1, b"", wire::Token { client: 0, seq: 0 });
            self.schedule(
                Duration::from_micros(50),
                Ev::BackendDone(conn, epoch, call.xid, junk),
            );
            return;
        }
        let delay = if storm && self.rng.chance(self.s.slow_permille) {
            Duration::from_millis(500 + self.rng.below(2500))
        } else {
            Duration::from_micros(100 + self.rng.below(5000))
        };
        let results = match (call.token, kind) {
            (None, _) => call.args.to_vec(),
            (Some(token), Kind::Keyed(1)) => {
                self.apply_write(b, &call.key, Some(token));
                wire::results(0, &call.key, token)
            }
            (Some(token), Kind::Keyed(3)) => {
                let had = self.apply_write(b, &call.key, None);
                wire::results(if had { 0 } else { NOENT }, &call.key, token)
            }
            (Some(token), Kind::Keyed(2)) => match self.backends[b].store.get(&call.key) {
                Some(value) => wire::results(0, &call.key, *value),
                None => wire::results(NOENT, &call.key, token),
            },
            (Some(token), _) => wire::results(0, &call.key, token),
        };
        let reply = wire::success(call.xid, &results);
        self.schedule(delay, Ev::BackendDone(conn, epoch, call.xid, reply));
    }

    /// `delivery`: how many times this call reached a backend, this one
    /// included.
    pub(super) fn check_placement(&mut self, b: usize, kind: Kind, key: &[u8], delivery: u32) {
        match kind {
            Kind::Keyed(p) => {
                let order = hrw::rank(key, &self.names[..self.s.pool]);
                let allowed = &order[..self.s.replicas];
                // Calm: a read's first attempt goes to the primary (a
                // miss may send it on); a write goes to every replica.
                let first_read = p == 2 && delivery == 1;
                if self.s.calm && first_read && allowed.first() != Some(&b) {
                    self.violation(format!(
                        "key {:?} went to backend {b}, not its primary {:?} (calm run)",
                        String::from_utf8_lossy(key),
                        allowed.first()
                    ));
                } else if !allowed.contains(&b) {
                    self.violation(format!(
                        "key {:?} went to backend {b}, outside its replicas {allowed:?}",
                        String::from_utf8_lossy(key)
                    ));
                }
            }
            Kind::Null if b >= self.s.pool => {
                self.violation(format!("a NULL call went to backend {b}, outside the pool"));
            }
            Kind::Second if b != self.s.pool => {
                self.violation(format!("a second-program call went to backend {b}"));
            }
            _ => {}
        }
    }
}
