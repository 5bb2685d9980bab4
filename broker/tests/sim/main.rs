//! The deterministic simulation of the broker's sans-IO core: thousands
//! of seeded scenarios (clients pipelining or not, backends that are slow,
//! ignore calls, crash and restart, connection attempts that hang, clients
//! that disconnect mid-call, an operator draining and undraining backends
//! and reloading the configuration), each checked for the core's promises:
//!
//! * every call gets exactly one reply or error, within its timeout;
//! * no reply goes to the wrong caller or carries the wrong XID or
//!   another call's results;
//! * calls not marked idempotent reach each backend at most once (a write
//!   reaches each live replica of its key once);
//! * keyed calls land on their rendezvous replicas (a read's first attempt
//!   on the primary when nothing fails);
//! * the replication invariant (see `world/store.rs`): backends keep a
//!   store that a crash wipes; while a replica the core may use holds a
//!   key's last acknowledged write and none holds an older value, every
//!   read returns the last acknowledged value (or the value of a later
//!   write whose outcome the client does not know yet), during the run
//!   and at the end;
//! * no call state is left once everything is answered or timed out.
//!
//! `BROKER_SIM_SEEDS=N` runs N seeds (default 1000); `BROKER_SIM_SEED=S`
//! replays seed S alone and prints its scenario. A failing seed is printed
//! with the command that replays it.

mod rng;
mod scenario;
mod wire;
mod world;

use scenario::Scenario;
use world::World;

fn run(seed: u64) -> world::Outcome {
    World::new(Scenario::from_seed(seed)).run()
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn many_seeds_keep_every_promise() {
    if let Some(seed) = env_u64("BROKER_SIM_SEED") {
        eprintln!("{:#?}", Scenario::from_seed(seed));
        let out = run(seed);
        eprintln!("{} steps, {} calls", out.steps, out.calls);
        assert!(
            out.violations.is_empty(),
            "seed {seed}:\n{}",
            out.violations.join("\n")
        );
        return;
    }
    let seeds = env_u64("BROKER_SIM_SEEDS").unwrap_or(1000);
    let mut calls = 0;
    let mut totals = broker::core::CoreStats::default();
    let mut seen = [0u64; 4];
    let (mut judged, mut unpromised) = (0, 0);
    for seed in 0..seeds {
        let out = run(seed);
        calls += out.calls;
        totals.forwarded += out.stats.forwarded;
        totals.retries += out.stats.retries;
        totals.replies += out.stats.replies;
        totals.failed += out.stats.failed;
        totals.late_replies += out.stats.late_replies;
        totals.miss_failovers += out.stats.miss_failovers;
        totals.writes_short_of_acks += out.stats.writes_short_of_acks;
        judged += out.reads.judged;
        unpromised += out.reads.unpromised;
        for (t, s) in seen.iter_mut().zip(out.seen) {
            *t += s;
        }
        assert!(
            out.violations.is_empty(),
            "seed {seed} failed; replay with BROKER_SIM_SEED={seed} cargo test -p oncrpc-broker --test sim\n{}",
            out.violations.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
        );
    }
    let [protocol_errors, garbage_clients, ejections, readmissions] = seen;
    eprintln!(
        "{seeds} seeds, {calls} calls: {totals:?}; {protocol_errors} backend protocol errors, \
         {garbage_clients} garbage clients dropped, {ejections} ejections, {readmissions} readmissions; \
         reads judged by the replication invariant {judged}, outside its premise {unpromised}"
    );
    assert!(
        judged > unpromised,
        "most reads are judged ({judged} of {})",
        judged + unpromised
    );
    assert!(calls > seeds, "the scenarios make calls ({calls})");
    // The faults are real: some calls fail, are retried, or are late.
    if seeds >= 100 {
        assert!(
            totals.failed > 0
                && totals.retries > 0
                && totals.late_replies > 0
                && totals.miss_failovers > 0
                && totals.writes_short_of_acks > 0,
            "{totals:?}"
        );
    }
}

#[test]
fn a_seed_replays_exactly() {
    for seed in [3, 17, 1234] {
        let a = run(seed);
        let b = run(seed);
        assert_eq!(a.trace, b.trace, "seed {seed}");
        assert_eq!(a.steps, b.steps, "seed {seed}");
    }
    assert_ne!(run(1).trace, run(2).trace);
}
