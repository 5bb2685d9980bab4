//! Smoke test: `bench all` with tiny durations runs end to end (C peers
//! built and started, every pair and scenario measured, the C and Rust
//! codec encodings identical, both compilers run) and prints every table.
//! Not a benchmark: the figures of an unoptimised build say nothing.

use std::process::Command;

/// The benchmark's own spec, a small file for the compiler benchmark.
const BENCH_X: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/bench.x");

#[test]
fn bench_all_runs_with_tiny_counts() {
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        // A window long enough that 64 client processes started on a
        // loaded machine (the rest of the test suite runs beside this)
        // still finish calls inside it.
        .args(["all", "--passes", "1", "--secs", "0.2", "--warmup", "0.1"])
        .args([
            "--codec-millis",
            "1",
            "--lists",
            "10,100",
            "--placement",
            "none",
        ])
        .args(["--gen-runs", "1", "--gen-spec", BENCH_X])
        .output()
        .expect("bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed:\n{stdout}\n{stderr}");

    // The codec table: both ops of every case, with a goal where the bench
    // sets one (the encodings matched, or bench would have failed).
    for case in ["small", "list-10", "list-100", "opaque-1MiB"] {
        for op in ["encode", "decode"] {
            let row = stdout
                .lines()
                .find(|l| l.starts_with(&format!("| {case} ")) && l.contains(op));
            assert!(row.is_some(), "no codec row {case} {op}:\n{stdout}");
        }
    }
    // The compiler table: both compilers timed on the file.
    let gen_row = stdout
        .lines()
        .find(|l| l.starts_with("| specs/bench.x "))
        .unwrap_or_else(|| panic!("no compiler row:\n{stdout}"));
    assert!(
        gen_row.contains("(<= 1.00x)"),
        "xdrgen or rpcgen failed: {gen_row}"
    );
    // The RPC tables: every scenario, every pair, a non-zero rate.
    let titles = [
        "#### NULL, 1 call in flight",
        "#### NULL, 64 calls in flight",
        "#### NULL, 16 connections",
        "#### READ 1 MiB",
        "#### WRITE 1 MiB",
    ];
    for title in titles {
        let section = stdout
            .split(title)
            .nth(1)
            .unwrap_or_else(|| panic!("no section {title}:\n{stdout}"));
        let table: Vec<&str> = section
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .collect();
        for pair in [
            "Rust client -> Rust server",
            "C client -> C server",
            "Rust client -> C server",
            "C client -> Rust server",
        ] {
            let row = table
                .iter()
                .find(|l| l.contains(pair))
                .unwrap_or_else(|| panic!("{title}: no row for {pair}:\n{stdout}"));
            let calls: f64 = row
                .split('|')
                .nth(2)
                .and_then(|c| c.trim().parse().ok())
                .unwrap_or_else(|| panic!("{title}: no calls/s in {row}"));
            assert!(calls > 0.0, "{title}: {pair} made no calls: {row}");
        }
    }
    assert!(stdout.contains("Plain loopback TCP stream"), "{stdout}");
    // The framing-only limit ran beside the pipelined NULL figure and is
    // its reference.
    assert!(stdout.contains("Framing-only limit (C"), "{stdout}");
    let framing_target = stdout
        .lines()
        .find(|l| l.contains("(vs framing-only limit, same depth)"))
        .unwrap_or_else(|| panic!("no framing-only target:\n{stdout}"));
    assert!(framing_target.contains('x'), "{framing_target}");
    assert!(stdout.contains("#### Targets, Rust client"), "{stdout}");
}

/// `bench broker` with tiny durations: the C client, the C server, the
/// Rust server, the C relay, the broker and the canned-reply server all
/// start, every case has a row with calls (data relayed through the C
/// relay or made up by the canned server, the replies checked by the
/// client), and the targets are printed beside the relay floor and the
/// client limit.
#[test]
fn bench_broker_runs_with_tiny_counts() {
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args([
            "broker", "--passes", "1", "--secs", "0.1", "--warmup", "0.02",
        ])
        .args(["--clients", "1,3", "--placement", "none"])
        .output()
        .expect("bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed:\n{stdout}\n{stderr}");
    for call in ["NULL", "GET 4 KiB", "GET 1 MiB"] {
        for clients in ["1", "3"] {
            for target in [
                "C rpcgen server",
                "datastore-server",
                "C relay -> datastore-server",
                "broker -> datastore-server",
                "C canned replies",
                "C canned replies, polling",
            ] {
                let row = stdout
                    .lines()
                    .find(|l| {
                        l.starts_with(&format!("| {call} "))
                            && l.split('|').nth(2).map(str::trim) == Some(clients)
                            && l.split('|').nth(3).map(str::trim) == Some(target)
                    })
                    .unwrap_or_else(|| panic!("no row {call} x{clients} {target}:\n{stdout}"));
                let calls: f64 = row
                    .split('|')
                    .nth(4)
                    .and_then(|c| c.trim().parse().ok())
                    .unwrap_or_else(|| panic!("no calls/s in {row}"));
                assert!(calls > 0.0, "{row}");
                // Every rate is also shown against the relay floor.
                let vs_relay = row.split('|').nth(9).map(str::trim).unwrap_or_default();
                assert!(vs_relay.ends_with('x'), "no ratio to the relay in {row}");
            }
        }
    }
    assert!(stdout.contains("Loopback TCP round trip"), "{stdout}");
    let goals: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.contains("C relay (floor)"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    for target in [
        "p50 added (NULL, 1 client)",
        "CPU per forwarded call",
        "GET 1 MiB x3 calls/s / C server direct",
    ] {
        let row = goals
            .iter()
            .find(|l| l.contains(target))
            .unwrap_or_else(|| panic!("no target {target}:\n{stdout}"));
        // The broker's figure, the relay's and the client limit, all
        // measured (no client limit of an added latency).
        let figures: Vec<&str> = row.split('|').map(str::trim).collect();
        let limit = usize::from(!target.starts_with("p50"));
        for column in 2..4 + limit {
            assert!(
                figures.get(column).is_some_and(|f| f.ends_with('x')),
                "{row}"
            );
        }
    }
}

/// `bench rpc --scenarios null1` runs that scenario alone: its table and
/// its target, no other scenario, no TCP stream (only READ and WRITE are
/// compared with it).
#[test]
fn rpc_runs_only_the_scenarios_asked_for() {
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["rpc", "--passes", "2", "--secs", "0.1", "--warmup", "0.05"])
        .args(["--placement", "none", "--no-cross", "--scenarios", "null1"])
        .output()
        .expect("bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("#### NULL, 1 call in flight"), "{stdout}");
    for absent in [
        "#### NULL, 64",
        "#### NULL, 16",
        "#### READ",
        "#### WRITE",
        "TCP stream",
        "Framing-only",
    ] {
        assert!(!stdout.contains(absent), "{absent}:\n{stdout}");
    }
    let targets: Vec<&str> = stdout
        .split("#### Targets")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("| NULL") || l.starts_with("| READ") || l.starts_with("| WRITE"))
        .collect();
    assert_eq!(targets.len(), 1, "{stdout}");
    assert!(targets[0].starts_with("| NULL p50 latency"), "{stdout}");
}
