//! Acknowledged writes stay readable through backend crashes: the real
//! `broker` in front of three real `datastore-server`s, two replicas per
//! key, PUTs classed `write` (sent to every live replica of the key) and
//! GETs classed `read` (failing over on DS_NOENT), while one backend is
//! killed with SIGKILL and restarted, twice.
//!
//! 16 clients, each with its own connection and its own keys, write and
//! read back distinct keys for 40 s (`BROKER_REPLICAS_SECS` to change
//! it). Checked: every call gets exactly one answer (a reply, or the
//! broker's SYSTEM_ERR; never a client-side timeout or a lost
//! connection, and the broker's own count of answers equals the calls
//! made); no read returns a wrong value; at the end every key whose last
//! PUT was acknowledged reads back with that value.
//!
//! The kill schedule respects the premise of the broker's promise
//! (docs/ROUTING.md): fewer than `replicas` replicas of a key lost at
//! once, counted over time. A restarted `datastore-server` comes back
//! empty and the broker does not copy data back to it, so a key written
//! while backend A was down lives on its other replica only; killing that
//! other replica next would lose the key although only one backend was
//! ever down at a time. So both kills hit the same backend: every key
//! keeps at least one replica that has never lost data.

mod broker_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use broker_support::*;
use datastore::proto::{DatastoreV1Client, DsGetArgs, DsGetRes, DsKey, DsPutArgs, DsPutRes};
use interop_tests::c_peer::Endpoint;
use rpc_runtime::RpcError;

const NAMES: [&str; 3] = ["store1", "store2", "store3"];
const CLIENTS: usize = 16;

fn route(servers: &[DatastoreServer]) -> String {
    let mut c = String::from(
        "[supervision]\nhealth_interval_ms = 200\nhealth_timeout_ms = 1000\n\
         backoff_initial_ms = 50\nbackoff_max_ms = 500\n\n",
    );
    c.push_str(&backends_toml(&NAMES, servers));
    c.push_str(
        "\n[[routes]]\nprogram = 0x2000DA7A\nversions = [1]\n\
         pool = [\"store1\", \"store2\", \"store3\"]\nkey = \"first-argument\"\n\
         replicas = 2\nmin_acks = 1\nmiss_status = 2\ntimeout_ms = 10000\n\
         [[routes.procedures]]\nprocedure = 1\nname = \"DS_PUT\"\nclass = \"write\"\n\
         [[routes.procedures]]\nprocedure = 2\nname = \"DS_GET\"\nclass = \"read\"\nidempotent = true\n",
    );
    c
}

/// Longer than the route's timeout: the broker always answers first.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

async fn connect(e: &Endpoint) -> DatastoreV1Client {
    connect_datastore(e, CALL_TIMEOUT).await
}

/// What one client saw.
#[derive(Debug, Default)]
struct Tally {
    calls: u64,
    /// Answered SYSTEM_ERR by the broker (no value promised).
    broker_errors: u64,
    /// No answer (client timeout, connection lost) or another error.
    unanswered: Vec<String>,
    /// Reads that returned something else than the last acknowledged
    /// value (or the value of an unacknowledged PUT made after it).
    wrong: Vec<String>,
    /// Per key: the last acknowledged value, and values of PUTs after it
    /// whose outcome is unknown.
    keys: BTreeMap<String, Entry>,
}

/// The last acknowledged value of a key, and values of PUTs after it
/// whose outcome is unknown.
type Entry = (Option<String>, Vec<String>);

impl Tally {
    /// Adds `other`'s counts and findings (not its keys).
    fn add(&mut self, other: &Tally) {
        self.calls += other.calls;
        self.broker_errors += other.broker_errors;
        self.unanswered.extend(other.unanswered.iter().cloned());
        self.wrong.extend(other.wrong.iter().cloned());
    }

    fn answered<T>(&mut self, what: &str, r: Result<T, RpcError>) -> Option<T> {
        self.calls += 1;
        match r {
            Ok(v) => Some(v),
            Err(RpcError::SystemErr) => {
                self.broker_errors += 1;
                None
            }
            Err(e) => {
                self.unanswered.push(format!("{what}: {e}"));
                None
            }
        }
    }

    async fn put(&mut self, c: &DatastoreV1Client, key: &str, value: String) {
        let args = DsPutArgs {
            key: DsKey::from(key),
            offset: 0,
            truncate: true,
            data: value.as_bytes().to_vec().into(),
        };
        let r = c.ds_put(&args).await;
        let entry = self.keys.entry(key.to_owned()).or_default();
        match r {
            Ok(DsPutRes::DsOk(_)) => *entry = (Some(value), Vec::new()),
            _ => entry.1.push(value),
        }
        if let Some(other) = self.answered(&format!("DS_PUT {key}"), r) {
            if !matches!(other, DsPutRes::DsOk(_)) {
                self.wrong.push(format!("DS_PUT {key}: {other:?}"));
            }
        }
    }

    async fn check(&mut self, c: &DatastoreV1Client, key: &str) {
        let args = DsGetArgs {
            key: DsKey::from(key),
            offset: 0,
            count: 1 << 16,
        };
        let r = c.ds_get(&args).await;
        let Some(res) = self.answered(&format!("DS_GET {key}"), r) else {
            return;
        };
        let got = match res {
            DsGetRes::DsOk(ok) => Some(String::from_utf8_lossy(&ok.data).into_owned()),
            DsGetRes::Default(_) => None,
        };
        let (acked, later) = self.keys.get(key).cloned().unwrap_or_default();
        let fine = got == acked || got.as_ref().is_some_and(|g| later.contains(g));
        if !fine {
            self.wrong.push(format!(
                "DS_GET {key}: {got:?}, last acknowledged {acked:?}, unacknowledged after it {later:?}"
            ));
        }
    }
}

/// One client: new keys, each written, read, overwritten and read again.
async fn client(broker: Endpoint, id: usize, until: Instant) -> Tally {
    let c = connect(&broker).await;
    let mut t = Tally::default();
    let mut n = 0u64;
    while Instant::now() < until {
        let key = format!("c{id}-k{n}");
        for version in 1..=2 {
            t.put(&c, &key, format!("{key}-v{version}")).await;
            t.check(&c, &key).await;
        }
        n += 1;
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_stay_readable_through_sigkill_and_restarts() {
    let secs = std::env::var("BROKER_REPLICAS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40u64);
    let mut servers: Vec<DatastoreServer> = (0..3).map(|_| start_datastore_server()).collect();
    let broker = start_broker(&route(&servers));
    let status = ctl_ok(&broker, &["status"]);
    assert!(
        status.contains("procedure 1: write, AllSyncRoute"),
        "{status}"
    );
    assert!(status.contains("MissFailoverRoute"), "{status}");

    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|i| tokio::spawn(client(broker.tcp.clone(), i, until)))
        .collect();

    // The same backend down twice, each time for 15% of the run, then
    // back empty (see the module docs for why the same one).
    let victim = 1;
    let at = |fraction: f64| start + Duration::from_secs_f64(secs as f64 * fraction);
    for (down, up) in [(0.2, 0.35), (0.6, 0.75)] {
        tokio::time::sleep_until(at(down).into()).await;
        servers[victim].kill();
        tokio::time::sleep_until(at(up).into()).await;
        servers[victim].restart();
    }

    let mut all = Tally::default();
    let mut keys = Vec::new();
    for task in tasks {
        let t = task.await.expect("client task");
        all.add(&t);
        keys.push(t.keys);
    }
    let acked = |k: &BTreeMap<String, Entry>| k.values().filter(|e| e.0.is_some()).count();
    let acked_keys: usize = keys.iter().map(acked).sum();
    eprintln!(
        "{} calls, {} answered SYSTEM_ERR by the broker, {acked_keys} keys acknowledged",
        all.calls, all.broker_errors
    );
    assert!(all.unanswered.is_empty(), "{:?}", all.unanswered);
    assert!(all.wrong.is_empty(), "{:?}", all.wrong);
    assert!(acked_keys > 100, "the run made progress: {acked_keys} keys");

    // Every acknowledged key reads back with its last acknowledged value
    // (a client per key owner, in parallel).
    let reads: Vec<_> = keys
        .into_iter()
        .map(|keys| tokio::spawn(read_back(broker.tcp.clone(), keys)))
        .collect();
    let mut end = Tally::default();
    for task in reads {
        end.add(&task.await.expect("read-back task"));
    }
    assert_eq!(end.calls as usize, acked_keys);
    assert_eq!(end.broker_errors, 0, "final reads answered SYSTEM_ERR");
    assert!(end.unanswered.is_empty(), "{:?}", end.unanswered);
    assert!(
        end.wrong.is_empty(),
        "{} of {acked_keys} acknowledged keys unreadable or wrong: {:?}",
        end.wrong.len(),
        end.wrong.iter().take(10).collect::<Vec<_>>()
    );

    // The broker answered each call once: its answers (replies passed on
    // plus its own SYSTEM_ERRs) equal the calls made.
    let stats = ctl_ok(&broker, &["stats"]);
    let counter = |name: &str| -> u64 {
        stats
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or(u64::MAX)
    };
    let calls = all.calls + end.calls;
    assert_eq!(counter("replies ") + counter("failed "), calls, "{stats}");
    assert_eq!(counter("failed "), all.broker_errors, "{stats}");
    // Keys written while the victim was down were found on their other
    // replica after the restarted (empty) victim missed them.
    let (_, page) = http_get(broker.metrics, "/metrics");
    let misses = sample(&page, "broker_miss_failovers_total");
    assert!(misses > 0.0, "no read failed over on a miss:\n{page}");
    eprintln!("{misses} reads failed over on a miss");
}

/// Reads back every acknowledged key of `keys` over a new connection.
async fn read_back(broker: Endpoint, keys: BTreeMap<String, Entry>) -> Tally {
    let c = connect(&broker).await;
    let acked: Vec<String> = keys
        .iter()
        .filter(|(_, e)| e.0.is_some())
        .map(|(k, _)| k.clone())
        .collect();
    let mut t = Tally {
        keys,
        ..Tally::default()
    };
    for key in &acked {
        t.check(&c, key).await;
    }
    t
}

#[test]
fn check_config_shows_the_example_policies() {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../broker/broker.example.toml");
    let out = std::process::Command::new(&bins().broker)
        .arg("--check-config")
        .arg("--config")
        .arg(&example)
        .output()
        .expect("run broker --check-config");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "2 replica(s) per key; writes need 1 ack(s); miss = first result word 2",
        "procedure 1 (DS_PUT): write, AllSyncRoute, sent at most once per replica",
        "procedure 2 (DS_GET): read, MissFailoverRoute, idempotent (1 retries)",
        "procedure 3 (DS_DELETE): write, AllSyncRoute",
        "procedure 4 (DS_LIST): read, in turn, not keyed",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}
