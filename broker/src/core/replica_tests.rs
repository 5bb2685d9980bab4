//! The replica policies in the core: `AllSyncRoute` writes,
//! `MissFailoverRoute` reads.

use std::time::Instant;

use bytes::Bytes;

use super::tests::{call, config, connected, names, reply, transmits, MS};
use super::*;

/// Procedure 1 classed write, 2 classed read (idempotent), misses are
/// results starting with 2.
fn replicated(replicas: usize, min_acks: usize) -> CoreConfig {
    let mut cfg = config(replicas, 0);
    let plan = &mut cfg.routes[0];
    plan.min_acks = min_acks;
    plan.miss = Some(MissRule { status: 2 });
    for (p, access) in [(1, Access::Write), (2, Access::Read)] {
        if let Some(policy) = plan.procedures.get_mut(&p) {
            policy.access = access;
        }
    }
    cfg
}

fn order(key: &str) -> Vec<usize> {
    hrw::rank(key.as_bytes(), &names())
}

fn system_err(xid: u32) -> Bytes {
    [xid, 1, 0, 0, 0, 5]
        .iter()
        .flat_map(|w| w.to_be_bytes())
        .collect::<Vec<u8>>()
        .into()
}

#[test]
fn a_write_goes_to_every_replica_and_is_answered_after_the_last() {
    let now = Instant::now();
    let (mut core, conns) = connected(replicated(2, 1), now);
    let client = core.add_client();
    core.handle_client_call(now, client, call(7, 1, "k"));
    let out = transmits(&mut core);
    let o = order("k");
    let dest: Vec<_> = out.iter().map(|t| t.destination).collect();
    assert_eq!(
        dest,
        [
            Destination::Backend(conns[o[0]]),
            Destination::Backend(conns[o[1]])
        ]
    );
    let s = core.stats();
    assert_eq!((s.pending_calls, s.pending_writes), (1, 1));
    // The secondary answers first: nothing for the client yet.
    core.handle_backend_reply(now, conns[o[1]], reply(out[1].xid, 22));
    assert!(transmits(&mut core).is_empty());
    // The primary misses (2): the secondary's success is passed on.
    core.handle_backend_reply(now, conns[o[0]], reply(out[0].xid, 2));
    let back = transmits(&mut core);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].destination, Destination::Client(client));
    assert_eq!(back[0].to_record(), reply(7, 22));
    let s = core.stats();
    assert_eq!((s.pending_calls, s.pending_writes, s.forwarded), (0, 0, 2));
}

#[test]
fn a_write_skips_a_dead_replica_and_needs_min_acks() {
    let now = Instant::now();
    let o = order("k");
    // min_acks 1: the live replica alone acknowledges.
    let (mut core, conns) = connected(replicated(2, 1), now);
    core.handle_backend_closed(now, conns[o[0]]);
    let client = core.add_client();
    core.handle_client_call(now + MS, client, call(7, 1, "k"));
    let out = transmits(&mut core);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].destination, Destination::Backend(conns[o[1]]));
    core.handle_backend_reply(now + MS, conns[o[1]], reply(out[0].xid, 0));
    assert_eq!(transmits(&mut core)[0].to_record(), reply(7, 0));

    // min_acks 2 with one replica down: SYSTEM_ERR at once, nothing sent.
    let (mut core, conns) = connected(replicated(2, 2), now);
    core.handle_backend_closed(now, conns[o[0]]);
    let client = core.add_client();
    core.handle_client_call(now + MS, client, call(8, 1, "k"));
    let out = transmits(&mut core);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].to_record(), system_err(8));
    assert_eq!(core.stats().forwarded, 0);

    // min_acks 2, both up, one answers SYSTEM_ERR: the write is not
    // acknowledged.
    let (mut core, conns) = connected(replicated(2, 2), now);
    let client = core.add_client();
    core.handle_client_call(now, client, call(9, 1, "k"));
    let out = transmits(&mut core);
    core.handle_backend_reply(now, conns[o[0]], reply(out[0].xid, 0));
    core.handle_backend_reply(now, conns[o[1]], system_err(out[1].xid));
    let back = transmits(&mut core);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].to_record(), system_err(9));
    let s = core.stats();
    assert_eq!((s.writes_short_of_acks, s.failed), (1, 1));
}

#[test]
fn a_write_copy_lost_with_its_connection_counts_as_failed() {
    let now = Instant::now();
    let o = order("k");
    let (mut core, conns) = connected(replicated(2, 1), now);
    let client = core.add_client();
    core.handle_client_call(now, client, call(7, 1, "k"));
    let out = transmits(&mut core);
    core.handle_backend_closed(now, conns[o[0]]);
    assert!(transmits(&mut core).is_empty(), "the other copy is pending");
    core.handle_backend_reply(now, conns[o[1]], reply(out[1].xid, 0));
    let back = transmits(&mut core);
    assert_eq!(back[0].to_record(), reply(7, 0));
    assert_eq!(core.stats().pending_writes, 0);
}

#[test]
fn a_write_whose_client_left_is_forgotten() {
    let now = Instant::now();
    let (mut core, conns) = connected(replicated(3, 1), now);
    let client = core.add_client();
    core.handle_client_call(now, client, call(7, 1, "k"));
    let out = transmits(&mut core);
    assert_eq!(out.len(), 3);
    core.handle_client_closed(now, client);
    assert_eq!(core.stats().pending_writes, 0);
    for (t, conn) in out.iter().zip(order("k")) {
        core.handle_backend_reply(now, conns[conn], reply(t.xid, 0));
    }
    assert!(transmits(&mut core).is_empty());
    let s = core.stats();
    assert_eq!((s.pending_calls, s.late_replies), (0, 3));
}

#[test]
fn a_read_miss_asks_the_next_replica() {
    let now = Instant::now();
    let o = order("k");
    let (mut core, conns) = connected(replicated(3, 1), now);
    let client = core.add_client();
    core.handle_client_call(now, client, call(7, 2, "k"));
    let first = transmits(&mut core);
    assert_eq!(first[0].destination, Destination::Backend(conns[o[0]]));
    core.handle_backend_reply(now, conns[o[0]], reply(first[0].xid, 2));
    let second = transmits(&mut core);
    assert_eq!(second.len(), 1, "the miss is not passed on");
    assert_eq!(second[0].destination, Destination::Backend(conns[o[1]]));
    core.handle_backend_reply(now, conns[o[1]], reply(second[0].xid, 0));
    assert_eq!(transmits(&mut core)[0].to_record(), reply(7, 0));
    assert_eq!(core.stats().miss_failovers, 1);

    // Every replica misses: the last miss is the answer.
    core.handle_client_call(now, client, call(8, 2, "k"));
    for conn in &o {
        let t = transmits(&mut core);
        assert_eq!(t.len(), 1);
        core.handle_backend_reply(now, conns[*conn], reply(t[0].xid, 2));
    }
    let back = transmits(&mut core);
    assert_eq!(back[0].destination, Destination::Client(client));
    assert_eq!(back[0].to_record(), reply(8, 2));
    assert_eq!(core.stats().miss_failovers, 3);
}

#[test]
fn a_read_not_classed_returns_the_miss() {
    let now = Instant::now();
    let mut cfg = replicated(2, 1);
    if let Some(p) = cfg.routes[0].procedures.get_mut(&2) {
        p.access = Access::Unclassed;
    }
    let (mut core, conns) = connected(cfg, now);
    let client = core.add_client();
    core.handle_client_call(now, client, call(7, 2, "k"));
    let t = transmits(&mut core);
    core.handle_backend_reply(now, conns[order("k")[0]], reply(t[0].xid, 2));
    assert_eq!(transmits(&mut core)[0].to_record(), reply(7, 2));
}

#[test]
fn a_miss_is_passed_on_only_when_every_live_replica_said_so() {
    let now = Instant::now();
    let o = order("k");
    let mut cfg = replicated(2, 1);
    cfg.routes[0].retries = 1;
    cfg.routes[0].attempt_timeout = Some(100 * MS);
    let (mut core, conns) = connected(cfg, now);
    let client = core.add_client();
    core.handle_client_call(now, client, call(7, 2, "k"));
    let first = transmits(&mut core);
    assert_eq!(first[0].destination, Destination::Backend(conns[o[0]]));
    // The primary does not answer in time: retried on the secondary,
    // which misses. The primary has not said "not found": asked again.
    let later = now + 150 * MS;
    core.handle_timeout(later);
    let second = transmits(&mut core);
    assert_eq!(second[0].destination, Destination::Backend(conns[o[1]]));
    core.handle_backend_reply(later, conns[o[1]], reply(second[0].xid, 2));
    let third = transmits(&mut core);
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].destination, Destination::Backend(conns[o[0]]));
    core.handle_backend_reply(later, conns[o[0]], reply(third[0].xid, 5));
    assert_eq!(transmits(&mut core)[0].to_record(), reply(7, 5));
}
