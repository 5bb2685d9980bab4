//! The core keeps no state for calls and clients that are gone: after
//! thousands of calls through a pooled route (idempotent retries, attempt
//! timeouts, fanned-out writes), queued behind the per-backend limit,
//! with clients leaving in the middle of their calls, every table is
//! empty again but for the backend connections' own supervision.

use std::time::Instant;

use super::tests::{call, config, connected, reply, transmits, MS};
use super::*;

/// Asserts that nothing of a call or a client is left: no call, write,
/// client, queued call, call in flight or call timer; only health checks
/// may be outstanding and only the connections' supervision timers set.
fn assert_no_call_state(core: &Core) {
    assert_eq!(core.calls.len(), 0, "calls");
    assert_eq!(core.fanouts.len(), 0, "fanned-out writes");
    assert_eq!(core.copies, 0, "write copies");
    assert_eq!(core.clients.len(), 0, "clients");
    assert!(
        core.outstanding.values().all(|o| *o == Outstanding::Probe),
        "only health checks outstanding: {:?}",
        core.outstanding
    );
    for (i, b) in core.backends.iter().enumerate() {
        assert_eq!((b.queue.len(), b.in_flight), (0, 0), "backend {i}");
    }
    let link_timers = core
        .backends
        .iter()
        .flat_map(|b| &b.links)
        .filter(|l| l.wake.is_some())
        .count();
    assert_eq!(core.timers.len(), link_timers, "timers: {:?}", core.timers);
}

/// A pooled route of three backends whose procedure 0 (no key) is
/// idempotent with an attempt timeout, as `broker-load` configures it.
fn pooled() -> CoreConfig {
    let mut cfg = config(2, 1);
    let route = &mut cfg.routes[0];
    route.attempt_timeout = Some(200 * MS);
    route.procedures.insert(
        0,
        ProcedurePolicy {
            idempotent: true,
            keyed: false,
            ..ProcedurePolicy::default()
        },
    );
    route.procedures.insert(
        1,
        ProcedurePolicy {
            access: Access::Write,
            ..ProcedurePolicy::default()
        },
    );
    cfg
}

#[test]
fn clients_leaving_mid_call_leave_no_state_on_a_pooled_route() {
    let mut now = Instant::now();
    let (mut core, conns) = connected(pooled(), now);
    for round in 0..200u32 {
        // Eight clients call; every other one leaves before its answer.
        let clients: Vec<ClientId> = (0..8).map(|_| core.add_client()).collect();
        for (i, c) in clients.iter().enumerate() {
            let procedure = [0, 1, 2][i % 3];
            core.handle_client_call(now, *c, call(round, procedure, &format!("k{i}")));
        }
        for c in clients.iter().step_by(2) {
            core.handle_client_closed(now, *c);
        }
        // The backends answer all but one call per round, which times out
        // (an attempt timeout, then the retry, or the call's deadline).
        let sent = transmits(&mut core);
        for t in sent.iter().skip(1) {
            let Destination::Backend(conn) = t.destination else {
                continue;
            };
            core.handle_backend_reply(now, conn, reply(t.xid, 0));
        }
        transmits(&mut core);
        for c in clients.iter().skip(1).step_by(2) {
            core.handle_client_closed(now, *c);
        }
        now += 20 * MS;
        core.handle_timeout(now);
        for t in transmits(&mut core) {
            if let Destination::Backend(conn) = t.destination {
                core.handle_backend_reply(now, conn, reply(t.xid, 0));
            }
        }
    }
    // Every deadline passes; the health checks are answered.
    for _ in 0..40 {
        now += 50 * MS;
        core.handle_timeout(now);
        for t in transmits(&mut core) {
            if let Destination::Backend(conn) = t.destination {
                core.handle_backend_reply(now, conn, reply(t.xid, 0));
            }
        }
    }
    assert!(conns.iter().all(|c| core.conns.contains_key(c)));
    assert_no_call_state(&core);
}

#[test]
fn calls_queued_behind_the_backend_limit_leave_no_state() {
    let now = Instant::now();
    let (mut core, _) = connected(pooled(), now);
    let clients: Vec<ClientId> = (0..500).map(|_| core.add_client()).collect();
    for round in 0..20u32 {
        // 500 synchronous clients, 2 calls in flight per backend: most
        // calls wait in a backend's queue.
        for c in &clients {
            core.handle_client_call(now, *c, call(round, 2, &format!("key{}", c.0)));
        }
        let mut answered = 0;
        while answered < clients.len() {
            let out = transmits(&mut core);
            assert!(!out.is_empty(), "round {round}: {answered} answered");
            for t in out {
                match t.destination {
                    Destination::Backend(conn) => {
                        core.handle_backend_reply(now, conn, reply(t.xid, 0))
                    }
                    Destination::Client(_) => answered += 1,
                }
            }
        }
    }
    for c in clients {
        core.handle_client_closed(now, c);
    }
    assert_no_call_state(&core);
}
