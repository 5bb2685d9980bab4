//! The broker in front of a pool of three real `datastore-server`
//! processes: keys placed by rendezvous hashing (checked against the
//! placement function as documented, implemented again here), and a
//! `kill -9` of one backend under load: callers of the other backends are
//! unaffected, callers of the dead one get their data through a replica
//! or an error within their timeout, and the backend is readmitted once it
//! is back; the same for a backend that hangs (SIGSTOP), which only
//! timeouts and health checks can detect.

mod broker_support;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker_support::*;
use datastore::proto::DatastoreV1Client;
use interop_tests::c_peer::{free_tcp_port, CServer, Endpoint};
use rpc_runtime::Client;

const NAMES: [&str; 3] = ["store1", "store2", "store3"];
/// The route's timeout, as configured below.
const ROUTE_TIMEOUT: Duration = Duration::from_millis(3000);

/// The placement documented in `broker::core::hrw`, written from the
/// documentation: weight = mix64(fnv1a64(name || 0xFF || key)).
fn weight(key: &[u8], name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name.as_bytes().iter().chain(&[0xFF]).chain(key) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Backend indices for `key`, primary first.
fn rank(key: &str) -> Vec<usize> {
    let mut order: Vec<usize> = (0..NAMES.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(weight(key.as_bytes(), NAMES[i])));
    order
}

fn start_server(addr: SocketAddr) -> CServer {
    let mut cmd = Command::new(&bins().datastore_server);
    cmd.arg("--listen").arg(format!("tcp://{addr}"));
    CServer::spawn(cmd, Endpoint::Tcp(addr)).expect("start datastore-server")
}

struct Pool {
    servers: Vec<Option<CServer>>,
    addrs: Vec<SocketAddr>,
}

fn start_pool() -> Pool {
    let addrs: Vec<SocketAddr> = (0..NAMES.len())
        .map(|_| SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port().expect("free port"))))
        .collect();
    let servers = addrs.iter().map(|a| Some(start_server(*a))).collect();
    Pool { servers, addrs }
}

/// Broker configuration: the datastore program over the pool, by key,
/// two replicas, two connections per backend, quick supervision.
fn pool_config(addrs: &[SocketAddr]) -> String {
    let mut c = String::from(
        "[supervision]\nhealth_interval_ms = 200\nhealth_timeout_ms = 300\n\
         eject_after_failures = 2\nbackoff_initial_ms = 50\nbackoff_max_ms = 400\n\
         connect_timeout_ms = 1000\n\n",
    );
    for (name, addr) in NAMES.iter().zip(addrs) {
        c.push_str(&format!(
            "[backends.{name}]\naddress = \"tcp://{addr}\"\nconnections = 2\n"
        ));
    }
    c.push_str(&format!(
        "\n[[routes]]\nprogram = 0x2000DA7A\nversions = [1]\npool = [\"store1\", \"store2\", \"store3\"]\n\
         key = \"first-argument\"\nreplicas = 2\ntimeout_ms = {}\nretries = 1\n\
         attempt_timeout_ms = 500\n\
         [[routes.procedures]]\nprocedure = 0\nidempotent = true\nkeyed = false\n\
         [[routes.procedures]]\nprocedure = 1\nidempotent = false\n\
         [[routes.procedures]]\nprocedure = 2\nidempotent = true\n",
        ROUTE_TIMEOUT.as_millis()
    ));
    c
}

async fn connect(e: &Endpoint) -> DatastoreV1Client {
    let builder = Client::builder().timeout(Duration::from_secs(15));
    let client = match e {
        Endpoint::Tcp(a) => builder.connect_tcp(*a).await,
        Endpoint::Unix(p) => builder.connect_unix(p).await,
    };
    DatastoreV1Client::new(client.expect("connect"))
}

fn value_of(key: &str) -> Vec<u8> {
    format!("the value of {key}").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_land_on_their_rendezvous_backends() {
    let pool = start_pool();
    let broker = start_broker(&pool_config(&pool.addrs));
    let via_tcp = connect(&broker.tcp).await;
    let via_unix = connect(&broker.unix).await;
    let keys: Vec<String> = (0..60).map(|i| format!("user/{i}")).collect();
    for (i, k) in keys.iter().enumerate() {
        let c = if i % 2 == 0 { &via_tcp } else { &via_unix };
        ds_put_bytes(c, k, &value_of(k)).await;
    }
    let direct: Vec<DatastoreV1Client> = connect_direct(&pool.addrs).await;
    let mut per_backend = [0usize; 3];
    for k in &keys {
        let mut holders = Vec::new();
        for (i, d) in direct.iter().enumerate() {
            if let Some(v) = ds_get_bytes(d, k).await.expect("direct DS_GET") {
                assert_eq!(v, value_of(k));
                holders.push(i);
            }
        }
        assert_eq!(holders, vec![rank(k)[0]], "{k} is on exactly its primary");
        per_backend[holders[0]] += 1;
        assert_eq!(
            ds_get_bytes(&via_tcp, k).await.expect("DS_GET").as_deref(),
            Some(&value_of(k)[..])
        );
    }
    assert!(
        per_backend.iter().all(|&n| n >= 5),
        "keys spread over the pool: {per_backend:?}"
    );
    drop(pool);
}

/// A client straight to each backend, bypassing the broker.
async fn connect_direct(addrs: &[SocketAddr]) -> Vec<DatastoreV1Client> {
    let mut clients = Vec::new();
    for a in addrs {
        clients.push(connect(&Endpoint::Tcp(*a)).await);
    }
    clients
}

/// One GET made during the load.
struct Sample {
    key: String,
    started: Instant,
    elapsed: Duration,
    outcome: Result<Option<Vec<u8>>, String>,
}

/// Keys on a replicated data tier: every key written straight to its
/// primary and first replica. Returns (keys whose primary is `victim`,
/// the others).
async fn replicated_keys(addrs: &[SocketAddr], victim: usize) -> (Vec<String>, Vec<String>) {
    let direct = connect_direct(addrs).await;
    let keys: Vec<String> = (0..90).map(|i| format!("obj/{i}")).collect();
    for k in &keys {
        for &b in &rank(k)[..2] {
            ds_put_bytes(&direct[b], k, &value_of(k)).await;
        }
    }
    let (victim_keys, other_keys): (Vec<String>, Vec<String>) =
        keys.into_iter().partition(|k| rank(k)[0] == victim);
    assert!(victim_keys.len() >= 10 && other_keys.len() >= 10);
    (victim_keys, other_keys)
}

/// Callers through the broker, running until `stop`.
struct Load {
    stop: Arc<AtomicBool>,
    /// Six synchronous Rust callers, three per key group: (on the victim's
    /// keys, what they saw).
    rust: Vec<tokio::task::JoinHandle<(bool, Vec<Sample>)>>,
    /// Two synchronous C rpcgen clients making NULL calls (idempotent, no
    /// key: spread over the pool) in runs of 200.
    c: Vec<std::thread::JoinHandle<Vec<std::process::Output>>>,
}

fn start_load(broker: &BrokerProcess, victim_keys: &[String], other_keys: &[String]) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let mut rust = Vec::new();
    for i in 0..6 {
        let group = if i % 2 == 0 {
            victim_keys.to_vec()
        } else {
            other_keys.to_vec()
        };
        let endpoint = if i < 3 {
            broker.tcp.clone()
        } else {
            broker.unix.clone()
        };
        let stop = Arc::clone(&stop);
        rust.push(tokio::spawn(async move {
            let c = connect(&endpoint).await;
            let mut samples = Vec::new();
            let mut n = i;
            while !stop.load(Ordering::Relaxed) {
                let key = group[n % group.len()].clone();
                n += 1;
                let started = Instant::now();
                let outcome = ds_get_bytes(&c, &key).await.map_err(|e| e.to_string());
                samples.push(Sample {
                    key,
                    started,
                    elapsed: started.elapsed(),
                    outcome,
                });
            }
            (i % 2 == 0, samples)
        }));
    }
    let c = (0..2)
        .map(|i| {
            let e = if i == 0 {
                broker.tcp.clone()
            } else {
                broker.unix.clone()
            };
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut runs = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    runs.push(run_client(&["-m", "null", "-n", "200"], &e));
                }
                runs
            })
        })
        .collect();
    Load { stop, rust, c }
}

/// Stops the load and checks what every caller saw, given that the
/// victim failed at `fault_at`: callers of the other backends always got
/// their data; callers of the victim got their data (from the replica
/// after the fault) or SYSTEM_ERR, always within the route's timeout; the
/// C clients never noticed. Returns the victim's callers' successes after
/// the fault.
async fn finish_load(load: Load, fault_at: Instant) -> usize {
    load.stop.store(true, Ordering::Relaxed);
    let mut victim_after_fault_ok = 0;
    let mut victim_errors = 0;
    let mut other_calls = 0;
    for task in load.rust {
        let (on_victim, samples) = task.await.expect("load task");
        for s in samples {
            let slack = Duration::from_millis(1500);
            assert!(
                s.elapsed <= ROUTE_TIMEOUT + slack,
                "{}: answered after {:?}",
                s.key,
                s.elapsed
            );
            if on_victim {
                match &s.outcome {
                    Ok(Some(v)) => {
                        assert_eq!(v, &value_of(&s.key), "{}", s.key);
                        if s.started > fault_at {
                            victim_after_fault_ok += 1;
                        }
                    }
                    Ok(None) => panic!("{}: DS_NOENT, but both replicas hold it", s.key),
                    Err(e) => {
                        assert!(e.to_lowercase().contains("system"), "{}: {e}", s.key);
                        victim_errors += 1;
                    }
                }
            } else {
                other_calls += 1;
                assert_eq!(
                    s.outcome.as_ref().map(Option::as_deref),
                    Ok(Some(&value_of(&s.key)[..])),
                    "{}: callers of live backends are unaffected",
                    s.key
                );
            }
        }
    }
    eprintln!(
        "{other_calls} calls to live backends; the failed backend's keys: \
         {victim_after_fault_ok} served by the replica after the fault, {victim_errors} errors"
    );
    assert!(other_calls > 50, "{other_calls} calls to live backends");
    for c in load.c {
        let runs = c.join().expect("C client thread");
        assert!(runs.len() >= 2, "{} runs", runs.len());
        for out in &runs {
            assert_ok(out, "C client making NULL calls across the fault");
        }
    }
    victim_after_fault_ok
}

/// Waits until new keys whose primary is `victim` land on it again
/// through the broker (it was readmitted); false after 20 s.
async fn wait_readmitted(broker: &BrokerProcess, addr: SocketAddr, victim: usize) -> bool {
    let restarted = connect(&Endpoint::Tcp(addr)).await;
    let via = connect(&broker.tcp).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let fresh = (0..)
        .map(|i| format!("fresh/{i}"))
        .filter(|k| rank(k)[0] == victim);
    for k in fresh {
        ds_put_bytes(&via, &k, &value_of(&k)).await;
        if ds_get_bytes(&restarted, &k)
            .await
            .expect("direct DS_GET")
            .is_some()
        {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_backend_under_load_fails_over_and_it_is_readmitted() {
    let mut pool = start_pool();
    let broker = start_broker(&pool_config(&pool.addrs));
    let victim = 0usize;
    let (victim_keys, other_keys) = replicated_keys(&pool.addrs, victim).await;
    let load = start_load(&broker, &victim_keys, &other_keys);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let killed_at = Instant::now();
    drop(pool.servers[victim].take()); // SIGKILL
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let served = finish_load(load, killed_at).await;
    assert!(
        served > 10,
        "callers of the dead backend are served by the replica ({served})"
    );

    // Bring it back (empty): keys whose primary it is land on it again
    // once the broker has readmitted it.
    pool.servers[victim] = Some(start_server(pool.addrs[victim]));
    assert!(
        wait_readmitted(&broker, pool.addrs[victim], victim).await,
        "the restarted backend gets its keys again"
    );
    let log = broker.process.stop();
    assert!(log.contains("backend ejected"), "{log}");
    assert!(log.contains("backend readmitted"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_backend_is_ejected_by_health_checks_and_readmitted_when_it_answers() {
    let pool = start_pool();
    let broker = start_broker(&pool_config(&pool.addrs));
    let victim = 1usize;
    let pid = pool.servers[victim].as_ref().expect("running").pid();
    let (victim_keys, other_keys) = replicated_keys(&pool.addrs, victim).await;
    let load = start_load(&broker, &victim_keys, &other_keys);
    tokio::time::sleep(Duration::from_millis(400)).await;
    // SIGSTOP: connections stay open, the kernel still accepts new ones,
    // nothing is answered. Only timeouts and health checks can tell.
    let stopped_at = Instant::now();
    stop_process(pid);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let served = finish_load(load, stopped_at).await;
    assert!(
        served > 10,
        "callers of the hung backend are served by the replica ({served})"
    );
    signal(pid, "-CONT");
    assert!(
        wait_readmitted(&broker, pool.addrs[victim], victim).await,
        "the backend gets its keys again once it answers"
    );
    let log = broker.process.stop();
    assert!(log.contains("backend ejected"), "{log}");
    assert!(log.contains("backend readmitted"), "{log}");
}
