//! The broker under load, as a real process in front of real
//! `datastore-server` processes, driven by the load generator of
//! `interop_tests::load` (the `broker-load` binary's library): many
//! concurrent connections, a soak with hostile clients mixed in, and a
//! soak with backends killed (SIGKILL) and restarted under three
//! replicated backends. Each asserts the zeros: every call of a
//! well-behaved client answered exactly once, every acknowledged write
//! read back with its value.

mod broker_support;

use std::time::Duration;

use broker_support::bins;
use interop_tests::load::{
    run, CallMix, ChaosMix, ErrorKind, KillSchedule, LoadConfig, LoadReport, Transport,
};

/// Largest RSS growth of the broker from the end of the soak's warm-up
/// to its end: 16 MiB. Hostile clients come and go all the time; a leak
/// of one small buffer per disconnect (thousands over the soak) or per
/// call (about a million) shows well above it.
const SOAK_RSS_GROWTH_KIB: i64 = 16 * 1024;

/// Largest RSS growth of the broker from the end of the fault soak's
/// warm-up to its end: 8 MiB. About 10,000 clients disconnect in the
/// middle of a call during it (half of them over TCP) and about 230,000
/// calls are made in a debug build: a leak of 2 KiB per disconnect shows
/// above it. (The leak of client connections closed over TCP while their
/// reply is on its way, docs/RELIABILITY.md, did not show in debug runs
/// on a loaded machine; it does in release runs.)
const FAULT_SOAK_RSS_GROWTH_KIB: i64 = 8 * 1024;

/// Largest RSS of the broker during the soak: 256 MiB.
const SOAK_RSS_MAX_KIB: u64 = 256 * 1024;

fn progress(line: &str) {
    eprintln!("broker-load: {line}");
}

fn assert_clean(report: &LoadReport) {
    eprint!("{}", report.render());
    assert!(
        report.violations().is_empty(),
        "violations: {:?}\n{}",
        report.violations(),
        report.render()
    );
    assert_eq!(
        report.calls.answered,
        report.calls.sent,
        "{}",
        report.render()
    );
}

#[test]
fn a_thousand_concurrent_connections_get_every_reply_exactly_once() {
    let cfg = LoadConfig {
        connections: 1000,
        transport: Transport::Mixed,
        mix: CallMix::Datastore,
        calls: Some(20_000),
        duration: Duration::from_secs(300),
        max_connections: 1100,
        ..LoadConfig::default()
    };
    let report = run(&cfg, bins(), &progress).expect("load run");
    assert_clean(&report);
    assert_eq!(report.connections.open_at_start, 1000);
    assert_eq!(report.connections.reopened, 0);
    assert_eq!(report.calls.answered_in_load, 20_000);
    // Keys are picked at random: of 4 keys and 20 calls, a key is left
    // unwritten with probability (3/4)^20, about 13 of the 4,000.
    assert!(
        report.writes.keys_checked >= 3900,
        "acknowledged keys read back: {}",
        report.writes.keys_checked
    );
}

/// The hostile clients of the soak. Never-reading clients ask for 4 MiB
/// objects: the broker holds at most `limits.max_unread_bytes_per_client`
/// (16 MiB) of replies for each, stops reading their calls, and closes
/// them past `limits.write_timeout_ms`.
fn soak_mix() -> ChaosMix {
    ChaosMix {
        disconnecters: 4,
        disconnect_pause: Duration::from_millis(50),
        idle: 200,
        slowloris: 20,
        slowloris_interval: Duration::from_secs(1),
        never_readers: 4,
        never_read_payload_bytes: 4 << 20,
        head_start: Duration::ZERO,
    }
}

#[test]
fn a_soak_with_hostile_clients_loses_and_duplicates_no_reply() {
    let chaos = soak_mix();
    let cfg = LoadConfig {
        connections: 32,
        transport: Transport::Mixed,
        mix: CallMix::Datastore,
        calls: None,
        duration: Duration::from_secs(60),
        warmup: Duration::from_secs(15),
        max_connections: 32 + chaos.connections() + 64,
        chaos,
        ..LoadConfig::default()
    };
    let report = run(&cfg, bins(), &progress).expect("load run");
    assert_clean(&report);
    let c = &report.chaos;
    assert!(c.disconnects > 100, "disconnecters ran: {c:?}");
    assert!(c.idle_opened >= 200 && c.slowloris_opened >= 20, "{c:?}");
    assert!(c.never_read_opened >= 4 && c.never_read_calls > 0, "{c:?}");
    let b = &report.broker;
    assert!(
        b.rss_growth_kib() <= SOAK_RSS_GROWTH_KIB,
        "broker RSS grew by {} KiB after the warm-up (at most {SOAK_RSS_GROWTH_KIB}): {b:?}",
        b.rss_growth_kib()
    );
    assert!(b.rss_max_kib <= SOAK_RSS_MAX_KIB, "{b:?}");
}

/// Three backends, two replicas per key, backend `store0` killed with
/// SIGKILL every 20 s and restarted 2 s later (three times in 60 s),
/// clients disconnecting in the middle of calls. Always the same backend:
/// a restarted `datastore-server` is empty, so killing another one next
/// would lose the keys written during the first outage (two replicas of
/// a key lost, over time), which the broker does not promise to survive
/// (docs/ROUTING.md).
///
/// Asserted: no call without a reply or with two, every read during the
/// load and every acknowledged key at the end with its last
/// acknowledged value, no error but SYSTEM_ERR (the broker's answer to a
/// call it could not complete, as a kill may cause), and RSS flat.
#[test]
fn a_soak_with_backends_killed_and_clients_disconnecting_loses_no_acknowledged_write() {
    let chaos = ChaosMix {
        disconnecters: 2,
        disconnect_pause: Duration::from_millis(20),
        idle: 0,
        slowloris: 0,
        never_readers: 0,
        ..soak_mix()
    };
    let cfg = LoadConfig {
        connections: 16,
        transport: Transport::Mixed,
        mix: CallMix::Datastore,
        calls: None,
        duration: Duration::from_secs(60),
        warmup: Duration::from_secs(15),
        backends: 3,
        kills: Some(KillSchedule {
            every: Duration::from_secs(20),
            down_for: Duration::from_secs(2),
            victim: Some(0),
        }),
        max_connections: 16 + chaos.connections() + 64,
        chaos,
        ..LoadConfig::default()
    };
    let report = run(&cfg, bins(), &progress).expect("load run");
    eprint!("{}", report.render());
    let (c, w) = (&report.calls, &report.writes);
    let text = report.render();
    assert_eq!(c.unanswered, 0, "calls without a reply\n{text}");
    assert_eq!(c.duplicate_replies, 0, "calls with two replies\n{text}");
    assert_eq!(c.unexpected_replies, 0, "replies to unknown XIDs\n{text}");
    assert_eq!(c.answered, c.sent, "{text}");
    assert_eq!(w.wrong_reads_in_load, 0, "wrong reads\n{text}");
    assert_eq!(w.unreadable, 0, "acknowledged keys unreadable\n{text}");
    assert_eq!(
        w.wrong_value, 0,
        "acknowledged keys with a wrong value\n{text}"
    );
    assert!(w.keys_checked >= 60, "acknowledged keys read back\n{text}");
    let other_errors: Vec<_> = report
        .errors
        .iter()
        .filter(|(k, _)| **k != ErrorKind::Accept(5))
        .collect();
    assert!(other_errors.is_empty(), "errors: {other_errors:?}\n{text}");
    assert_eq!(report.backends.kills, 3, "{text}");
    assert_eq!(report.backends.restarts, 3, "{text}");
    assert!(report.chaos.disconnects > 100, "{text}");
    let b = &report.broker;
    assert!(b.alive_at_end, "{text}");
    assert!(
        b.rss_growth_kib() <= FAULT_SOAK_RSS_GROWTH_KIB,
        "broker RSS grew by {} KiB after the warm-up (at most {FAULT_SOAK_RSS_GROWTH_KIB}): {b:?}",
        b.rss_growth_kib()
    );
}
