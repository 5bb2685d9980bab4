//! A scenario drawn from a seed: how many clients and backends, how
//! calls are made, and which faults happen.

use std::time::Duration;

use crate::rng::Rng;

#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    pub(crate) seed: u64,
    /// No faults: every routed call must succeed, keyed calls land on
    /// their primary.
    pub(crate) calm: bool,
    pub(crate) calls_per_client: u32,
    /// Calls each client keeps outstanding at most.
    pub(crate) windows: Vec<usize>,
    /// Backends of the keyed pool (the route also has one more backend
    /// serving a second program).
    pub(crate) pool: usize,
    pub(crate) replicas: usize,
    /// Replicas that must acknowledge a write.
    pub(crate) min_acks: usize,
    /// Connections per backend.
    pub(crate) connections: usize,
    pub(crate) max_in_flight_per_client: usize,
    pub(crate) max_in_flight_per_backend: usize,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) retries: u32,
    /// Probability (per mille) that a backend ignores a call.
    pub(crate) blackhole_permille: u64,
    /// Probability (per mille) that a backend takes 0.5 to 3 s.
    pub(crate) slow_permille: u64,
    /// Crashes, each (backend, at, down for).
    pub(crate) crashes: Vec<(usize, Duration, Duration)>,
    /// Probability (per mille) that a connection attempt hangs.
    pub(crate) hang_connect_permille: u64,
    /// Client disconnects: (client, at).
    pub(crate) disconnects: Vec<(usize, Duration)>,
    /// Clients that send a REPLY record instead of a call at some point:
    /// (client, at).
    pub(crate) garbage: Vec<(usize, Duration)>,
    /// Probability (per mille) that a backend answers a call with
    /// something that is not a reply.
    pub(crate) backend_garbage_permille: u64,
    /// Largest one-way network delay.
    pub(crate) max_net_delay: Duration,
    /// Operator drains: (backend, at, undrained after).
    pub(crate) drains: Vec<(usize, Duration, Duration)>,
    /// Reloads of the same configuration (backends kept): at.
    pub(crate) reloads: Vec<Duration>,
}

impl Scenario {
    pub(crate) fn from_seed(seed: u64) -> Scenario {
        let mut r = Rng::new(seed);
        let calm = r.below(5) == 0;
        let clients = 1 + r.below(6) as usize;
        let pool = 1 + r.below(4) as usize;
        let replicas = 1 + r.below(pool as u64) as usize;
        let max_in_flight_per_client = 1 + r.below(8) as usize;
        let windows = (0..clients)
            .map(|_| {
                if r.below(2) == 0 {
                    1
                } else if calm {
                    1 + r.below(max_in_flight_per_client as u64) as usize
                } else {
                    1 + r.below(10) as usize
                }
            })
            .collect();
        let mut crashes = Vec::new();
        let mut disconnects = Vec::new();
        let mut garbage = Vec::new();
        let (blackhole_permille, slow_permille, hang_connect_permille) = if calm {
            (0, 0, 0)
        } else {
            for _ in 0..r.below(4) {
                crashes.push((
                    r.below(pool as u64 + 1) as usize,
                    Duration::from_millis(r.below(3000)),
                    Duration::from_millis(50 + r.below(4000)),
                ));
            }
            if r.below(4) == 0 {
                garbage.push((
                    r.below(clients as u64) as usize,
                    Duration::from_millis(r.below(1500)),
                ));
            }
            for _ in 0..r.below(3) {
                disconnects.push((
                    r.below(clients as u64) as usize,
                    Duration::from_millis(r.below(2000)),
                ));
            }
            (r.below(30), r.below(40), r.below(100))
        };
        let backend_garbage_permille = if calm || r.below(4) != 0 {
            0
        } else {
            r.below(5)
        };
        let calls_per_client = 1 + r.below(40) as u32;
        let mut drains = Vec::new();
        let mut reloads = Vec::new();
        if !calm {
            for _ in 0..r.below(3) {
                drains.push((
                    r.below(pool as u64 + 1) as usize,
                    Duration::from_millis(r.below(2000)),
                    Duration::from_millis(r.below(2000)),
                ));
            }
        }
        for _ in 0..r.below(3) {
            reloads.push(Duration::from_millis(r.below(2000)));
        }
        let min_acks = 1 + r.below(replicas as u64) as usize;
        Scenario {
            min_acks,
            seed,
            calm,
            calls_per_client,
            windows,
            pool,
            replicas,
            connections: 1 + r.below(3) as usize,
            max_in_flight_per_client,
            max_in_flight_per_backend: if r.below(2) == 0 {
                2 + r.below(4) as usize
            } else {
                64
            },
            attempt_timeout: (r.below(2) == 0).then(|| Duration::from_millis(150 + r.below(400))),
            retries: r.below(3) as u32,
            blackhole_permille,
            slow_permille,
            crashes,
            hang_connect_permille,
            disconnects,
            garbage,
            backend_garbage_permille,
            max_net_delay: Duration::from_micros(50 + r.below(2000)),
            drains,
            reloads,
        }
    }
}
