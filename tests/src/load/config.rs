//! What a load run does: [`LoadConfig`] and its parts.

use std::time::Duration;

/// The most a run may last, whatever its settings say: 4 hours.
pub const MAX_RUN: Duration = Duration::from_secs(4 * 3600);

/// The most client connections of one kind a run opens: 100,000.
pub const MAX_CONNECTIONS: usize = 100_000;

/// The procedures the well-behaved clients call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallMix {
    /// `DS_NULL` (procedure 0) only.
    Null,
    /// `DS_PUT` and `DS_GET` (procedures 1 and 2) of keys owned by each
    /// client, half and half (a key is PUT first), with the last
    /// acknowledged value of every key tracked and read back at the end.
    Datastore,
}

/// Which listener of the broker a client connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The loopback TCP listener.
    Tcp,
    /// The Unix stream socket listener.
    Unix,
    /// TCP and Unix in turn (connection `i` uses Unix when `i` is odd).
    Mixed,
}

impl Transport {
    /// Whether connection number `i` uses the Unix socket.
    pub fn unix_for(self, i: usize) -> bool {
        match self {
            Transport::Tcp => false,
            Transport::Unix => true,
            Transport::Mixed => i % 2 == 1,
        }
    }
}

/// The hostile clients mixed into a run, beside the well-behaved ones.
/// Each kind keeps its count of connections open for the whole load
/// phase: a connection the broker closes is counted and opened again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChaosMix {
    /// Clients that connect, send a call (whole, or half a record) and
    /// close without waiting for the reply, over and over, with a pause of
    /// up to [`ChaosMix::disconnect_pause`] between attempts.
    pub disconnecters: usize,
    /// The longest pause of a disconnecter between two connections.
    pub disconnect_pause: Duration,
    /// Connections that send nothing at all.
    pub idle: usize,
    /// Connections that announce a 1,000-byte record and send one byte of
    /// it every [`ChaosMix::slowloris_interval`] (a record that never
    /// completes).
    pub slowloris: usize,
    /// The pause between two bytes of a slowloris connection.
    pub slowloris_interval: Duration,
    /// Clients that pipeline calls and never read a reply. In the
    /// datastore mix they first PUT an object of
    /// [`ChaosMix::never_read_payload_bytes`] and then pipeline GETs of all
    /// of it; in the NULL mix they pipeline NULL calls.
    pub never_readers: usize,
    /// Size of the object a never-reading client asks for, bytes (at most
    /// 4 MiB, `DS_MAXDATA`).
    pub never_read_payload_bytes: u32,
    /// How long the hostile clients run before the well-behaved clients
    /// connect (0: all start together), so that they hold their slots
    /// first.
    pub head_start: Duration,
}

impl ChaosMix {
    /// Connections of this mix open at once (disconnecters counted once).
    pub fn connections(&self) -> usize {
        self.disconnecters + self.idle + self.slowloris + self.never_readers
    }

    /// Whether the mix has any hostile client.
    pub fn is_empty(&self) -> bool {
        self.connections() == 0
    }
}

/// Backends killed with SIGKILL and restarted while the load runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillSchedule {
    /// Time between two kills; one backend at a time.
    pub every: Duration,
    /// How long a killed backend stays down before it is restarted on the
    /// same socket.
    pub down_for: Duration,
    /// The backend (index, from 0) killed every time; `None`: each in
    /// turn. A restarted `datastore-server` comes back empty and the
    /// broker copies nothing back to it, so killing the backends in turn
    /// loses the keys written while the previous one was down (two
    /// replicas lost, over time: outside the promise of docs/ROUTING.md);
    /// killing always the same one keeps every key on a replica that never
    /// lost data.
    pub victim: Option<usize>,
}

/// One load run: a broker process in front of `datastore-server`
/// processes, well-behaved clients and a [`ChaosMix`], all on this
/// machine (loopback TCP and Unix sockets in a temporary directory).
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Well-behaved client connections, all open at once before the first
    /// call.
    pub connections: usize,
    /// Which broker listener they use.
    pub transport: Transport,
    /// The procedures they call.
    pub mix: CallMix,
    /// Calls in flight on one well-behaved connection (1: a synchronous
    /// client).
    pub in_flight: usize,
    /// Calls of the load phase over all well-behaved connections (split
    /// evenly), or `None` to call until [`LoadConfig::duration`] passes.
    pub calls: Option<u64>,
    /// How long the load phase lasts at most; with `calls` unset, exactly.
    pub duration: Duration,
    /// Time from the start of the load phase to the broker's reference RSS
    /// sample (the run's "after warm-up" figure).
    pub warmup: Duration,
    /// How long a well-behaved client waits for one reply before it counts
    /// the call as unanswered and reconnects.
    pub reply_timeout: Duration,
    /// Bytes of each PUT's data and GET's count in the datastore mix (at
    /// least 8: the first 8 bytes carry the value's version).
    pub payload_bytes: u32,
    /// Keys each well-behaved client owns in the datastore mix (at least
    /// `in_flight`, so that no key has two calls in flight).
    pub keys_per_client: usize,
    /// `datastore-server` processes behind the broker. With more than one
    /// the route spreads keys over them by rendezvous hashing with
    /// `replicas = 2`.
    pub backends: usize,
    /// Connections the broker keeps to each backend.
    pub backend_connections: usize,
    /// Backend kills, if any.
    pub kills: Option<KillSchedule>,
    /// Pause after the load phase (and after every backend is up again)
    /// before the datastore read-back, so that the broker readmits
    /// restarted backends.
    pub settle: Duration,
    /// The broker's `[limits] max_connections`.
    pub max_connections: usize,
    /// Further `key = value` lines for the broker's `[limits]` table.
    pub extra_limits: Vec<String>,
    /// `RUST_LOG` of the broker and the backends.
    pub server_log: String,
    /// The hostile clients.
    pub chaos: ChaosMix,
    /// Seed of the clients' random choices.
    pub seed: u64,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            connections: 100,
            transport: Transport::Mixed,
            mix: CallMix::Null,
            in_flight: 1,
            calls: Some(10_000),
            duration: Duration::from_secs(60),
            warmup: Duration::from_secs(5),
            reply_timeout: Duration::from_secs(60),
            payload_bytes: 64,
            keys_per_client: 4,
            backends: 1,
            backend_connections: 2,
            kills: None,
            settle: Duration::from_secs(5),
            max_connections: 1024,
            extra_limits: Vec::new(),
            server_log: "error".to_owned(),
            chaos: ChaosMix::default(),
            seed: 1,
        }
    }
}

impl LoadConfig {
    /// Checks the settings against each other and the run's bounds.
    ///
    /// # Errors
    ///
    /// A sentence naming the first setting out of bounds.
    pub fn validate(&self) -> Result<(), String> {
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            return Err(format!(
                "connections must be 1..={MAX_CONNECTIONS}, not {}",
                self.connections
            ));
        }
        if self.chaos.connections() > MAX_CONNECTIONS {
            return Err(format!(
                "the chaos mix opens more than {MAX_CONNECTIONS} connections"
            ));
        }
        if self.duration.is_zero() || self.duration > MAX_RUN {
            return Err(format!(
                "the duration must be above 0 and at most {} s",
                MAX_RUN.as_secs()
            ));
        }
        if self.in_flight == 0 {
            return Err("in_flight must be at least 1".to_owned());
        }
        if self.mix == CallMix::Datastore && self.keys_per_client < self.in_flight {
            return Err("keys_per_client must be at least in_flight".to_owned());
        }
        if self.payload_bytes < 8 || self.payload_bytes > datastore::DS_MAXDATA {
            return Err(format!(
                "payload_bytes must be 8..={}, not {}",
                datastore::DS_MAXDATA,
                self.payload_bytes
            ));
        }
        if self.chaos.never_read_payload_bytes > datastore::DS_MAXDATA {
            return Err("never_read_payload_bytes is above DS_MAXDATA".to_owned());
        }
        if self.backends == 0 {
            return Err("at least one backend".to_owned());
        }
        if let Some(k) = self.kills {
            if k.every.is_zero() || k.down_for >= k.every {
                return Err("a backend must be up again before the next kill".to_owned());
            }
            if k.victim.is_some_and(|v| v >= self.backends) {
                return Err("the backend to kill is not one of the backends".to_owned());
            }
        }
        Ok(())
    }

    /// Calls each of the well-behaved clients makes in the load phase
    /// (`None`: until the duration passes).
    pub fn calls_per_client(&self) -> Option<u64> {
        self.calls
            .map(|c| c.div_ceil(self.connections.max(1) as u64))
    }
}
