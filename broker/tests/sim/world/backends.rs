//! The simulated backends: calls checked (XIDs, at-most-once, placement)
//! and answered, slowly, wrongly or not at all.

use std::time::Duration;

use broker::core::{hrw, ConnId};
use bytes::Bytes;

use super::{Ev, Kind, World};
use crate::wire::{self, PROGRAM};

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
        if let Some(token) = call.token {
            let kind = match (call.program, call.procedure) {
                (PROGRAM, 0) => Kind::Null,
                (PROGRAM, p) => Kind::Keyed(p),
                _ => Kind::Second,
            };
            let n = self.deliveries.entry(token).or_insert(0);
            *n += 1;
            let n = *n;
            if n > kind.max_deliveries(self.s.retries) {
                self.violation(format!(
                    "{kind:?} {token:?} delivered {n} times (at most {})",
                    kind.max_deliveries(self.s.retries)
                ));
            }
            self.check_placement(b, kind, &call.key);
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
        let reply = wire::success(call.xid, &call.args);
        self.schedule(delay, Ev::BackendDone(conn, epoch, call.xid, reply));
    }

    pub(super) fn check_placement(&mut self, b: usize, kind: Kind, key: &[u8]) {
        match kind {
            Kind::Keyed(_) => {
                let order = hrw::rank(key, &self.names[..self.s.pool]);
                let allowed = &order[..self.s.replicas];
                if self.s.calm && allowed.first() != Some(&b) {
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
