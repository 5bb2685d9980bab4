//! The broker under load, as a real process in front of real
//! `datastore-server` processes, driven by the load generator of
//! `interop_tests::load` (the `broker-load` binary's library): many
//! concurrent connections, and a soak with hostile clients mixed in.
//! Both assert the zeros: every call of a well-behaved client answered
//! exactly once, every acknowledged write read back with its value.

mod broker_support;

use std::time::Duration;

use broker_support::bins;
use interop_tests::load::{run, CallMix, ChaosMix, LoadConfig, LoadReport, Transport};

/// Largest RSS growth of the broker from the end of the soak's warm-up
/// to its end: 16 MiB. Hostile clients come and go all the time; a leak
/// of one small buffer per disconnect (thousands over the soak) or per
/// call (about a million) shows well above it.
const SOAK_RSS_GROWTH_KIB: i64 = 16 * 1024;

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
