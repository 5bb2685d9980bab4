//! One load run from start to end: processes up, hostile clients and
//! well-behaved clients started, the load phase (with backend kills), the
//! drain, the datastore read-back, and the report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Barrier, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::c_peer::CPeerError;
use crate::workspace_bins::WorkspaceBins;

use super::chaos::{self, ChaosCounters};
use super::client::{run_client, Shared};
use super::cluster::{Backends, Cluster};
use super::config::{CallMix, KillSchedule, LoadConfig};
use super::fd_limit::raise_nofile_limit;
use super::report::{BackendCounts, LoadReport, RSS_FLOOR_SAMPLES};
use super::rss::rss_kib;

/// Connection attempts at once while the clients start (the broker's
/// listen backlog is not flooded).
const CONNECTS_AT_ONCE: usize = 256;

/// Time allowed beyond the duration and the reply timeout for clients to
/// finish their calls and the read-back before the run counts as stuck.
const GRACE: Duration = Duration::from_secs(120);

/// Why a run could not be made (a run that was made but found problems
/// returns a [`LoadReport`] with [`LoadReport::violations`]).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The settings do not fit together.
    #[error("invalid settings: {0}")]
    Config(String),
    /// A process could not be started.
    #[error(transparent)]
    Process(#[from] CPeerError),
    /// A system call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// Clients did not finish within the duration, the reply timeout and
    /// a grace period: a bug of this tool, or a process stopped.
    #[error("clients still running {0:?} after the end of the load phase")]
    Stuck(Duration),
}

/// Runs `cfg` against `bins`' broker and `datastore-server`, writing a
/// line per stage to `progress`.
///
/// # Errors
///
/// [`LoadError`] when the run could not be made.
pub fn run(
    cfg: &LoadConfig,
    bins: &WorkspaceBins,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<LoadReport, LoadError> {
    cfg.validate().map_err(LoadError::Config)?;
    let nofile = raise_nofile_limit().map_err(|source| LoadError::Io {
        what: "raising RLIMIT_NOFILE",
        source,
    })?;
    progress(&format!("open-file limit {nofile}"));
    let Cluster {
        mut broker,
        listeners,
        backends,
        dir,
    } = Cluster::start(cfg, bins)?;
    progress(&format!(
        "broker pid {} on {} and {}, {} backend(s)",
        broker.pid(),
        listeners.tcp,
        listeners.unix.display(),
        backends.len()
    ));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| LoadError::Io {
            what: "starting the tokio runtime",
            source,
        })?;
    let killer = Killer::start(backends, cfg.kills);
    let pid = broker.pid();
    let result = rt.block_on(drive(cfg, listeners, pid, killer, progress));
    drop(rt);
    let (mut report, mut backends) = result?;
    report.broker.alive_at_end = broker.check_running().is_ok();
    report.backends.restarts += backends.restart_all()?;
    drop(dir);
    Ok(report)
}

/// The thread that kills and restarts backends on the schedule.
struct Killer {
    go: std_mpsc::Sender<()>,
    thread: std::thread::JoinHandle<Result<(Backends, BackendCounts), CPeerError>>,
}

impl Killer {
    /// A thread holding `backends` that, once told to go, kills them (in
    /// turn, or always the schedule's victim) on `schedule` (or does
    /// nothing without one) until told again.
    fn start(mut backends: Backends, schedule: Option<KillSchedule>) -> Killer {
        let (go, rx) = std_mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut counts = BackendCounts::default();
            if rx.recv().is_err() {
                return Ok((backends, counts));
            }
            let Some(s) = schedule else {
                let _ = rx.recv();
                return Ok((backends, counts));
            };
            let mut next = s.victim.unwrap_or(0);
            loop {
                if rx.recv_timeout(s.every - s.down_for) != Err(std_mpsc::RecvTimeoutError::Timeout)
                {
                    break;
                }
                counts.kills += u64::from(backends.kill(next));
                let stop = rx.recv_timeout(s.down_for) != Err(std_mpsc::RecvTimeoutError::Timeout);
                counts.restarts += u64::from(backends.restart(next)?);
                if s.victim.is_none() {
                    next = (next + 1) % backends.len().max(1);
                }
                if stop {
                    break;
                }
            }
            Ok((backends, counts))
        });
        Killer { go, thread }
    }

    /// Starts the schedule.
    fn go(&self) {
        let _ = self.go.send(());
    }

    /// Stops the schedule (a killed backend is restarted) and returns the
    /// backends.
    fn finish(self) -> Result<(Backends, BackendCounts), CPeerError> {
        let _ = self.go.send(());
        drop(self.go);
        self.thread.join().unwrap_or_else(|_| {
            Err(CPeerError::io(
                "the backend kill schedule",
                std::io::Error::other("panicked"),
            ))
        })
    }
}

async fn drive(
    cfg: &LoadConfig,
    listeners: super::conn::Listeners,
    pid: u32,
    killer: Killer,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(LoadReport, Backends), LoadError> {
    let n = cfg.connections;
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        listeners: listeners.clone(),
        connect_gate: Semaphore::new(CONNECTS_AT_ONCE),
        start: Barrier::new(n + 1),
        load_stop: CancellationToken::new(),
        verify: CancellationToken::new(),
        load_done: done_tx,
        open_at_start: AtomicU64::new(0),
    });
    let mut report = LoadReport::default();
    report.broker.rss_start_kib = rss_kib(pid);

    let chaos_stop = CancellationToken::new();
    let counters = Arc::new(ChaosCounters::default());
    let mut chaos_tasks = JoinSet::new();
    chaos::spawn(
        &mut chaos_tasks,
        &cfg.chaos,
        cfg.mix,
        &listeners,
        &counters,
        &chaos_stop,
        cfg.seed,
    );
    tokio::time::sleep(cfg.chaos.head_start).await;
    let mut clients = JoinSet::new();
    for i in 0..n {
        clients.spawn(run_client(i, Arc::clone(&shared)));
    }
    shared.start.wait().await;
    let t0 = Instant::now();
    progress(&format!(
        "{} of {n} clients connected; load phase starts",
        shared.open_at_start.load(Ordering::Relaxed)
    ));
    killer.go();
    let sampler_stop = CancellationToken::new();
    let sampler = tokio::spawn(sample_rss(pid, t0, cfg.warmup, sampler_stop.clone()));

    // The load phase: until every client is done or the duration passes.
    let deadline = t0 + cfg.duration;
    let stuck_at = deadline + cfg.reply_timeout + GRACE;
    let mut done = 0;
    let mut rss_end = None;
    while done < n {
        tokio::select! {
            msg = done_rx.recv() => {
                if msg.is_none() { break; }
                rss_end.get_or_insert_with(|| rss_kib(pid));
                done += 1;
            }
            () = tokio::time::sleep_until(deadline), if !shared.load_stop.is_cancelled() => {
                rss_end.get_or_insert_with(|| rss_kib(pid));
                shared.load_stop.cancel();
                progress("duration reached; draining");
            }
            () = tokio::time::sleep_until(stuck_at) => return Err(LoadError::Stuck(stuck_at - deadline)),
        }
    }
    report.load_time = t0.elapsed();
    report.broker.rss_end_kib = rss_end.unwrap_or_else(|| rss_kib(pid));
    shared.load_stop.cancel();
    chaos_stop.cancel();
    while chaos_tasks.join_next().await.is_some() {}
    sampler_stop.cancel();
    if let Ok((max, after_warmup, trace)) = sampler.await {
        report.broker.rss_max_kib = max.max(report.broker.rss_end_kib);
        report.broker.rss_after_warmup_kib = after_warmup.unwrap_or(report.broker.rss_end_kib);
        report.broker.rss_trace_kib = trace;
    }
    progress(&format!(
        "load phase over after {:.1} s",
        report.load_time.as_secs_f64()
    ));

    let (mut backends, counts) = tokio::task::spawn_blocking(move || killer.finish())
        .await
        .map_err(|e| LoadError::Io {
            what: "joining the kill schedule",
            source: std::io::Error::other(e),
        })??;
    report.backends = counts;
    if cfg.mix == CallMix::Datastore {
        let restarted = tokio::task::spawn_blocking(move || {
            let n = backends.restart_all();
            n.map(|n| (n, backends))
        })
        .await
        .map_err(|e| LoadError::Io {
            what: "restarting backends",
            source: std::io::Error::other(e),
        })??;
        report.backends.restarts += restarted.0;
        backends = restarted.1;
        if cfg.kills.is_some() {
            tokio::time::sleep(cfg.settle).await;
        }
        progress("reading every acknowledged key back");
        shared.verify.cancel();
    }
    let collect = async {
        while let Some(r) = clients.join_next().await {
            if let Ok(r) = r {
                report.merge_client(&r);
            }
        }
    };
    if tokio::time::timeout(cfg.reply_timeout + GRACE, collect)
        .await
        .is_err()
    {
        return Err(LoadError::Stuck(cfg.reply_timeout + GRACE));
    }
    report.connections.open_at_start = shared.open_at_start.load(Ordering::Relaxed);
    report.chaos = counters.snapshot();
    Ok((report, backends))
}

/// Samples the broker's RSS once a second until `stop`: the highest
/// sample, the first sample at or after `warmup` from `t0`, and every
/// sample (KiB).
async fn sample_rss(
    pid: u32,
    t0: Instant,
    warmup: Duration,
    stop: CancellationToken,
) -> (u64, Option<u64>, Vec<u64>) {
    let mut max = 0;
    let mut after_warmup: Option<u64> = None;
    let mut warm_samples = 0;
    let mut trace = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let rss = rss_kib(pid);
        max = max.max(rss);
        trace.push(rss);
        if t0.elapsed() >= warmup && warm_samples < RSS_FLOOR_SAMPLES {
            after_warmup = Some(after_warmup.map_or(rss, |a| a.min(rss)));
            warm_samples += 1;
        }
    }
    (max, after_warmup, trace)
}
