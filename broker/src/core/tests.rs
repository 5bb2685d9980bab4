//! Focused tests of the core's decisions; the seeded simulator
//! (`broker/tests/sim/`) covers the combinations.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::core::route::{RoutingTable, Rule};

const PROG: u32 = 0x2000_DA7A;
pub(super) const MS: Duration = Duration::from_millis(1);

pub(super) fn names() -> Vec<String> {
    vec!["a".into(), "b".into(), "c".into()]
}

pub(super) fn config(replicas: usize, retries: u32) -> CoreConfig {
    let policy = |idempotent, keyed| ProcedurePolicy {
        idempotent,
        keyed,
        ..ProcedurePolicy::default()
    };
    CoreConfig {
        backends: names()
            .into_iter()
            .map(|name| BackendSpec {
                name,
                health_check: (PROG, 1),
                connections: 1,
            })
            .collect(),
        routes: vec![RoutePlan {
            pool: vec![BackendId(0), BackendId(1), BackendId(2)],
            replicas,
            key: Some(KeyRule::FirstOpaque { max_bytes: 64 }),
            timeout: 1000 * MS,
            retries,
            attempt_timeout: None,
            min_acks: 1,
            miss: None,
            procedures: [(1, policy(false, true)), (2, policy(true, true))]
                .into_iter()
                .collect::<BTreeMap<_, _>>(),
        }],
        table: RoutingTable::new(
            &[Rule {
                program: PROG,
                versions: vec![1],
                route: RouteId(0),
            }],
            1,
        )
        .unwrap(),
        limits: CoreLimits {
            max_in_flight_per_client: 4,
            max_in_flight_per_backend: 2,
        },
        supervision: Supervision {
            health_interval: 100 * MS,
            health_timeout: 50 * MS,
            backoff_initial: 10 * MS,
            backoff_max: 80 * MS,
            ..Supervision::default()
        },
        seed: 1,
    }
}

pub(super) fn call(xid: u32, procedure: u32, key: &str) -> Bytes {
    let mut b = Vec::new();
    for w in [xid, 0, 2, PROG, 1, procedure, 0, 0, 0, 0, key.len() as u32] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b.extend_from_slice(key.as_bytes());
    b.resize(b.len().div_ceil(4) * 4, 0);
    Bytes::from(b)
}

pub(super) fn reply(xid: u32, payload: u32) -> Bytes {
    let mut b = Vec::new();
    for w in [xid, 1, 0, 0, 0, 0, payload] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    Bytes::from(b)
}

/// A core with every backend connected; returns the connection handles.
pub(super) fn connected(cfg: CoreConfig, now: Instant) -> (Core, Vec<ConnId>) {
    let mut core = Core::new(cfg, now);
    let mut conns = Vec::new();
    while let Some(e) = core.poll_event() {
        if let Event::Connect { conn, .. } = e {
            conns.push(conn);
        }
    }
    for c in &conns {
        core.handle_backend_connected(now, *c);
    }
    while core.poll_event().is_some() {}
    (core, conns)
}

pub(super) fn transmits(core: &mut Core) -> Vec<Transmit> {
    std::iter::from_fn(|| core.poll_transmit()).collect()
}

fn primary(key: &str) -> usize {
    hrw::rank(key.as_bytes(), &names())[0]
}

#[test]
fn xids_are_rewritten_and_restored() {
    let now = Instant::now();
    let (mut core, conns) = connected(config(1, 0), now);
    let (x, y) = (core.add_client(), core.add_client());
    // Both clients use XID 7 for the same key: one backend connection.
    core.handle_client_call(now, x, call(7, 2, "k"));
    core.handle_client_call(now, y, call(7, 2, "k"));
    let out = transmits(&mut core);
    assert_eq!(out.len(), 2);
    let conn = conns[primary("k")];
    assert!(out
        .iter()
        .all(|t| t.destination == Destination::Backend(conn)));
    assert_ne!(
        out[0].xid, out[1].xid,
        "distinct XIDs on the shared connection"
    );
    assert_eq!(out[0].rest, call(7, 2, "k").slice(4..), "payload untouched");
    // Replies in reverse order go to the right callers with XID 7.
    core.handle_backend_reply(now, conn, reply(out[1].xid, 222));
    core.handle_backend_reply(now, conn, reply(out[0].xid, 111));
    let back = transmits(&mut core);
    assert_eq!(back[0].destination, Destination::Client(y));
    assert_eq!(back[1].destination, Destination::Client(x));
    assert!(back.iter().all(|t| t.xid == 7));
    assert_eq!(back[0].to_record(), reply(7, 222));
    assert_eq!(core.stats().pending_calls, 0);
    // A duplicate reply is late, not delivered.
    core.handle_backend_reply(now, conn, reply(out[0].xid, 111));
    assert!(transmits(&mut core).is_empty());
    assert_eq!(core.stats().late_replies, 1);
}

#[test]
fn keyed_calls_fail_over_down_the_rendezvous_order() {
    let now = Instant::now();
    let (mut core, conns) = connected(config(2, 1), now);
    let key = "user/42";
    let order = hrw::rank(key.as_bytes(), &names());
    let client = core.add_client();
    core.handle_client_call(now, client, call(1, 1, key));
    let first = transmits(&mut core);
    assert_eq!(first[0].destination, Destination::Backend(conns[order[0]]));
    // The primary's connection dies with the non-idempotent call on it:
    // SYSTEM_ERR, not a second execution.
    core.handle_backend_closed(now, conns[order[0]]);
    let out = transmits(&mut core);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].destination, Destination::Client(client));
    assert_eq!(out[0].rest[4..8], 0u32.to_be_bytes()[..], "MSG_ACCEPTED");
    assert_eq!(out[0].rest[16..20], 5u32.to_be_bytes()[..], "SYSTEM_ERR");
    // New calls for the key go to the first replica meanwhile.
    core.handle_client_call(now, client, call(2, 1, key));
    let out = transmits(&mut core);
    assert_eq!(out[0].destination, Destination::Backend(conns[order[1]]));
    core.handle_backend_reply(now, conns[order[1]], reply(out[0].xid, 1));
    assert_eq!(transmits(&mut core)[0].xid, 2);
}

#[test]
fn idempotent_calls_are_retried_on_the_next_replica() {
    let now = Instant::now();
    let (mut core, conns) = connected(config(2, 1), now);
    let key = "obj";
    let order = hrw::rank(key.as_bytes(), &names());
    let client = core.add_client();
    core.handle_client_call(now, client, call(9, 2, key));
    let first = transmits(&mut core);
    core.handle_backend_closed(now, conns[order[0]]);
    let retry = transmits(&mut core);
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].destination, Destination::Backend(conns[order[1]]));
    assert_eq!(retry[0].rest, first[0].rest);
    core.handle_backend_reply(now, conns[order[1]], reply(retry[0].xid, 5));
    let done = transmits(&mut core);
    assert_eq!(done[0].to_record(), reply(9, 5));
    assert_eq!(core.stats().retries, 1);
}

#[test]
fn deadlines_answer_system_err_and_late_replies_are_dropped() {
    let now = Instant::now();
    let (mut core, conns) = connected(config(1, 0), now);
    let client = core.add_client();
    core.handle_client_call(now, client, call(3, 1, "k"));
    let sent = transmits(&mut core);
    let deadline = now + 1000 * MS;
    assert!(core.poll_timeout().is_some_and(|t| t <= deadline));
    core.handle_timeout(deadline - MS);
    assert!(transmits(&mut core)
        .iter()
        .all(|t| t.destination != Destination::Client(client)));
    core.handle_timeout(deadline);
    let out: Vec<_> = transmits(&mut core)
        .into_iter()
        .filter(|t| t.destination == Destination::Client(client))
        .collect();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].xid, 3);
    core.handle_backend_reply(deadline, conns[primary("k")], reply(sent[0].xid, 0));
    assert!(transmits(&mut core)
        .iter()
        .all(|t| t.destination != Destination::Client(client)));
    assert_eq!(core.stats().pending_calls, 0);
}

#[test]
fn per_backend_limit_queues_and_per_client_limit_refuses() {
    let now = Instant::now();
    let (mut core, conns) = connected(config(1, 0), now);
    let c = core.add_client();
    for xid in 0..4 {
        core.handle_client_call(now, c, call(xid, 2, "same"));
    }
    let sent = transmits(&mut core);
    assert_eq!(sent.len(), 2, "two in flight on the backend, two queued");
    assert!(!core.client_has_capacity(c));
    core.handle_client_call(now, c, call(99, 2, "same"));
    let refused = transmits(&mut core);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].xid, 99);
    let conn = conns[primary("same")];
    core.handle_backend_reply(now, conn, reply(sent[0].xid, 0));
    let out = transmits(&mut core);
    assert_eq!(out.len(), 2, "one reply out, one queued call sent");
    assert_eq!(
        core.backend_status(BackendId(primary("same")))
            .map(|s| s.queued),
        Some(1)
    );
}

#[test]
fn unresponsive_backend_is_ejected_then_readmitted() {
    let mut now = Instant::now();
    let (mut core, conns) = connected(config(2, 0), now);
    let b = BackendId(0);
    let mut conn = conns[0];
    // Its health checks go unanswered (the others' are answered) until it
    // is ejected.
    let mut closed = false;
    for _ in 0..20 {
        now += 60 * MS;
        core.handle_timeout(now);
        for t in transmits(&mut core) {
            if let Destination::Backend(c) = t.destination {
                if c != conn {
                    core.handle_backend_reply(now, c, reply(t.xid, 0));
                }
            }
        }
        while let Some(e) = core.poll_event() {
            if e == (Event::CloseBackend { conn }) {
                closed = true;
            }
        }
        if closed {
            break;
        }
    }
    assert!(closed, "the hung connection is closed");
    assert!(core.backend_status(b).is_some_and(|s| s.ejected));
    // Calls avoid it now: every key goes to b or c.
    let client = core.add_client();
    for i in 0..20 {
        core.handle_client_call(now, client, call(i, 2, &format!("key{i}")));
    }
    assert!(transmits(&mut core)
        .iter()
        .all(|t| t.destination != Destination::Backend(conn)));
    // It reconnects after a backoff, is probed at once, answers: back in.
    let mut probe = None;
    for _ in 0..50 {
        now += 10 * MS;
        core.handle_timeout(now);
        while let Some(e) = core.poll_event() {
            if let Event::Connect { backend, conn: c } = e {
                if backend == b {
                    conn = c;
                }
                core.handle_backend_connected(now, c);
            }
        }
        probe = transmits(&mut core)
            .into_iter()
            .find(|t| t.destination == Destination::Backend(conn));
        if probe.is_some() {
            break;
        }
    }
    let probe = probe.expect("a health check on the new connection");
    assert_eq!(probe.rest[4..8], 2u32.to_be_bytes()[..], "RPC version 2");
    assert_eq!(probe.rest[16..20], 0u32.to_be_bytes()[..], "NULL procedure");
    core.handle_backend_reply(now, conn, reply(probe.xid, 0));
    assert!(std::iter::from_fn(|| core.poll_event()).any(|e| e == Event::Readmitted { backend: b }));
    assert!(core.backend_status(b).is_some_and(|s| !s.ejected && s.up));
}

#[test]
fn reconnection_backs_off_with_jitter_and_restart_intensity_is_limited() {
    let mut now = Instant::now();
    let mut cfg = config(1, 0);
    cfg.supervision.max_restarts = 5;
    cfg.supervision.restart_window = Duration::from_secs(10);
    let mut core = Core::new(cfg, now);
    let mut delays = Vec::new();
    let mut exceeded = false;
    for _ in 0..200 {
        while let Some(e) = core.poll_event() {
            match e {
                Event::Connect {
                    backend: BackendId(0),
                    conn,
                } => {
                    core.handle_backend_failed(now, conn);
                }
                Event::BackendDown {
                    backend: BackendId(0),
                    retry_in_ms,
                    ..
                } => delays.push(retry_in_ms),
                Event::RestartIntensityExceeded {
                    backend: BackendId(0),
                } => {
                    exceeded = true;
                }
                _ => {}
            }
        }
        if exceeded {
            break;
        }
        now = core.poll_timeout().unwrap_or(now + MS).max(now);
        core.handle_timeout(now);
    }
    assert!(exceeded, "{delays:?}");
    assert_eq!(delays.len(), 5, "{delays:?}");
    // 10, 20, 40, 80, 80 ms, each drawn from its upper half.
    for (d, full) in delays.iter().zip([10, 20, 40, 80, 80]) {
        assert!((full / 2..=full).contains(d), "{delays:?}");
    }
    assert!(core.backend_status(BackendId(0)).is_some_and(|s| s.ejected));
}

#[test]
fn not_a_call_drops_the_client() {
    let now = Instant::now();
    let (mut core, _) = connected(config(1, 0), now);
    let c = core.add_client();
    core.handle_client_call(now, c, reply(1, 0));
    assert!(matches!(core.poll_event(), Some(Event::CloseClient { client, .. }) if client == c));
    assert_eq!(core.stats().clients, 0);
    core.handle_client_call(now, c, call(1, 2, "k"));
    assert!(
        transmits(&mut core).is_empty(),
        "a dropped client is ignored"
    );
}

#[test]
fn calls_spread_over_a_backends_connections_and_survive_losing_one() {
    let now = Instant::now();
    let mut cfg = config(1, 1);
    for b in &mut cfg.backends {
        b.connections = 2;
    }
    cfg.limits.max_in_flight_per_backend = 100;
    let (mut core, conns) = connected(cfg, now);
    assert_eq!(conns.len(), 6, "two connections to each of three backends");
    let c = core.add_client();
    for xid in 0..4 {
        core.handle_client_call(now, c, call(xid, 2, "hot"));
    }
    let sent = transmits(&mut core);
    let used: std::collections::HashSet<_> = sent.iter().map(|t| t.destination).collect();
    assert_eq!(
        used.len(),
        2,
        "least loaded first: both connections carry calls"
    );
    // One of them drops: its idempotent calls are retried, the backend
    // stays in use through the other connection.
    let Destination::Backend(lost) = sent[0].destination else {
        panic!()
    };
    core.handle_backend_closed(now, lost);
    let retried = transmits(&mut core);
    assert_eq!(retried.len(), 2);
    assert!(retried
        .iter()
        .all(|t| t.destination != Destination::Backend(lost)));
    assert!(core
        .backend_status(BackendId(primary("hot")))
        .is_some_and(|s| s.up && !s.ejected));
}

#[test]
fn payloads_are_forwarded_by_reference_not_copied() {
    let now = Instant::now();
    let (mut core, conns) = connected(config(1, 0), now);
    let x = core.add_client();
    let with_payload = |head: Bytes| {
        let mut b = head.to_vec();
        b.resize(b.len() + (1 << 20), 0x5a);
        Bytes::from(b)
    };
    let record = with_payload(call(7, 2, "k"));
    core.handle_client_call(now, x, record.clone());
    let out = transmits(&mut core);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].rest.as_ptr(),
        record[4..].as_ptr(),
        "the call after its XID is the received buffer"
    );
    let reply = with_payload(reply(out[0].xid, 1));
    core.handle_backend_reply(now, conns[primary("k")], reply.clone());
    let back = transmits(&mut core);
    assert_eq!(back.len(), 1);
    assert_eq!(
        back[0].rest.as_ptr(),
        reply[4..].as_ptr(),
        "the reply after its XID is the received buffer"
    );
}
