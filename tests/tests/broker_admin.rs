//! Operating a running broker: `broker ctl` over the admin socket
//! (status, stats, drain and undrain moving keys between replicas),
//! metrics scraped over HTTP, and reloading on SIGHUP with a changed
//! route while a call is in flight.

mod broker_support;

use std::time::{Duration, Instant};

use broker_support::*;
use datastore::proto::{DatastoreV1Client, DsGetArgs, DsGetRes, DsKey, DsPutArgs, DsPutRes};
use interop_tests::c_peer::Endpoint;
use rpc_runtime::Client;

const NAMES: [&str; 3] = ["store1", "store2", "store3"];

async fn connect(e: &Endpoint) -> DatastoreV1Client {
    let builder = Client::builder().timeout(Duration::from_secs(20));
    let client = match e {
        Endpoint::Tcp(a) => builder.connect_tcp(*a).await,
        Endpoint::Unix(p) => builder.connect_unix(p).await,
    };
    DatastoreV1Client::new(client.expect("connect"))
}

async fn put(c: &DatastoreV1Client, key: &str, value: &str) {
    let r = c
        .ds_put(&DsPutArgs {
            key: DsKey::from(key),
            offset: 0,
            truncate: true,
            data: value.as_bytes().to_vec().into(),
        })
        .await
        .expect("DS_PUT");
    assert_eq!(r, DsPutRes::DsOk(value.len() as u64), "DS_PUT {key}");
}

/// The object's bytes as text, `None` when the server has no such key.
async fn get(c: &DatastoreV1Client, key: &str) -> Option<String> {
    let r = c
        .ds_get(&DsGetArgs {
            key: DsKey::from(key),
            offset: 0,
            count: 1 << 20,
        })
        .await
        .expect("DS_GET");
    match r {
        DsGetRes::DsOk(ok) => Some(String::from_utf8_lossy(&ok.data).into_owned()),
        DsGetRes::Default(_) => None,
    }
}

/// Which backends (by index) hold `key` with `value`.
async fn holders(direct: &[DatastoreV1Client], key: &str, value: &str) -> Vec<usize> {
    let mut v = Vec::new();
    for (i, c) in direct.iter().enumerate() {
        if get(c, key).await.as_deref() == Some(value) {
            v.push(i);
        }
    }
    v
}

/// Three datastore servers, the broker routing by key with two replicas.
fn pool_config(servers: &[DatastoreServer]) -> String {
    let mut c = String::new();
    for (name, s) in NAMES.iter().zip(servers) {
        c.push_str(&format!(
            "[backends.{name}]\naddress = \"{}\"\n",
            url(&s.endpoint)
        ));
    }
    c.push_str(
        "\n[[routes]]\nprogram = 0x2000DA7A\nversions = [1]\n\
         pool = [\"store1\", \"store2\", \"store3\"]\nkey = \"first-argument\"\nreplicas = 2\n",
    );
    c
}

/// Polls `broker ctl status` until `done` holds for its output.
fn wait_status(broker: &BrokerProcess, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = ctl_ok(broker, &["status"]);
        if done(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "{what}; last status:\n{status}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The status line of backend `name`.
fn backend_line<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{name} ")))
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_shows_status_and_drain_moves_keys_to_their_replica() {
    let servers: Vec<DatastoreServer> = (0..3).map(|_| start_datastore_server()).collect();
    let broker = start_broker(&pool_config(&servers));
    let status = wait_status(&broker, "every backend healthy", |s| {
        NAMES.iter().all(|n| backend_line(s, n).contains("healthy"))
    });
    // Listeners, routes, backends with their addresses, and the task tree.
    assert!(status.contains(&url(&broker.tcp)), "{status}");
    assert!(
        status.contains(
            "program 0x2000da7a version 1 -> [store1, store2, store3] by key, 2 replica(s)"
        ),
        "{status}"
    );
    for (n, s) in NAMES.iter().zip(&servers) {
        assert!(
            backend_line(&status, n).contains(&url(&s.endpoint)),
            "{status}"
        );
    }
    let tasks = status.split("tasks:").nth(1).unwrap_or("");
    assert!(tasks.contains("broker (pid"), "{status}");
    assert!(tasks.contains("listener "), "{status}");
    assert!(tasks.contains("router"), "{status}");
    assert!(tasks.contains("backend store2"), "{status}");
    assert!(tasks.contains("connection 0: up"), "{status}");

    let via = connect(&broker.unix).await;
    let mut direct = Vec::new();
    for s in &servers {
        direct.push(connect(&s.endpoint).await);
    }
    // Where the key lives while every backend is in routing.
    let key = "drained-key";
    put(&via, key, "v1").await;
    let primary = holders(&direct, key, "v1").await;
    assert_eq!(primary.len(), 1, "one backend holds the key: {primary:?}");
    let primary = primary[0];

    let out = ctl_ok(&broker, &["drain", NAMES[primary]]);
    assert!(out.contains("drained"), "{out}");
    let status = ctl_ok(&broker, &["status"]);
    assert!(
        backend_line(&status, NAMES[primary]).contains("DRAINED"),
        "{status}"
    );
    // Keys move to their next replica: the write lands elsewhere, and the
    // drained backend keeps the old value.
    put(&via, key, "v2").await;
    let moved = holders(&direct, key, "v2").await;
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_ne!(moved[0], primary, "a drained backend gets no new calls");
    assert_eq!(get(&direct[primary], key).await.as_deref(), Some("v1"));
    // Reads go to the replica too.
    assert_eq!(get(&via, key).await.as_deref(), Some("v2"));

    let out = ctl_ok(&broker, &["undrain", NAMES[primary]]);
    assert!(out.contains("undrained"), "{out}");
    put(&via, key, "v3").await;
    assert_eq!(holders(&direct, key, "v3").await, vec![primary]);
    assert!(!backend_line(&ctl_ok(&broker, &["status"]), NAMES[primary]).contains("DRAINED"));

    // An unknown backend is an error with a non-zero exit status.
    let out = ctl(&broker, &["drain", "nosuch"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no such backend"),
        "{out:?}"
    );
    // Stats count what went through: three PUTs and a GET.
    let stats = ctl_ok(&broker, &["stats"]);
    let counter = |name: &str| -> Option<u64> {
        stats.lines().find_map(|l| {
            l.strip_prefix(name)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
    };
    assert_eq!(counter("forwarded "), Some(4), "{stats}");
    assert_eq!(counter("replies "), Some(4), "{stats}");
    assert_eq!(counter("failed "), Some(0), "{stats}");
    drop(via);
    let log = broker.process.stop();
    assert!(log.contains("drained"), "{log}");
}

#[test]
fn metrics_over_http_count_calls_by_status() {
    let server = start_datastore_server();
    let broker = start_broker(&datastore_route(&server.endpoint));
    let calls = r#"broker_calls_total{program="0x2000da7a",backend="store",status="success"}"#;
    let unavail = r#"broker_calls_total{program="unrouted",backend="none",status="prog_unavail"}"#;
    let latency = r#"broker_call_duration_seconds_count{program="0x2000da7a",backend="store"}"#;
    let (status, before) = http_get(broker.metrics, "/metrics");
    assert!(status.contains("200"), "{status}");
    assert!(before.contains("# TYPE broker_calls counter"), "{before}");
    let n0 = sample(&before, calls);

    // A C client's PUT/GET/LIST/DELETE round through the broker.
    assert_ok(
        &run_client(&["-i", "2", "-n", "10", "-s", "4096"], &broker.unix),
        "client through the broker",
    );
    // A program nobody serves: answered by the broker alone.
    assert_ok(
        &run_client(&["-m", "unknown-program"], &broker.tcp),
        "PROG_UNAVAIL from the broker",
    );
    let (_, after) = http_get(broker.metrics, "/metrics");
    let n1 = sample(&after, calls);
    assert!(
        n1 >= n0 + 20.0,
        "success count moved from {n0} to {n1}:\n{after}"
    );
    assert!(sample(&after, latency) >= n1 - n0, "{after}");
    assert!(
        after.contains(r#"broker_backend_up{backend="store"} 1"#),
        "{after}"
    );
    assert!(after.contains("broker_client_connections "), "{after}");
    assert!(after.contains("broker_calls_in_flight 0"), "{after}");
    assert_eq!(sample(&after, unavail), 1.0, "{after}");
    let (status, _) = http_get(broker.metrics, "/nothing");
    assert!(status.contains("404"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reload_changes_the_route_without_dropping_a_call_in_flight() {
    let old = start_datastore_server();
    let new = start_datastore_server();
    // Slow health checks: the stopped backend is not ejected meanwhile.
    let supervision = "[supervision]\nhealth_interval_ms = 60000\nhealth_timeout_ms = 60000\n\n";
    let route = |name: &str, s: &DatastoreServer| {
        format!(
            "{supervision}[backends.{name}]\naddress = \"{}\"\n\n[[routes]]\nprogram = 0x2000DA7A\n\
             versions = [1]\nbackend = \"{name}\"\ntimeout_ms = 20000\n",
            url(&s.endpoint)
        )
    };
    let broker = start_broker(&route("old", &old));
    let via = connect(&broker.tcp).await;
    let old_direct = connect(&old.endpoint).await;
    let new_direct = connect(&new.endpoint).await;
    put(&via, "k", "before").await;
    assert_eq!(get(&old_direct, "k").await.as_deref(), Some("before"));

    // A call in flight on the old backend: it is stopped, so the call
    // waits there across the reload.
    stop_process(old.process.pid());
    let in_flight = {
        let via = via.clone();
        tokio::spawn(async move { get(&via, "k").await })
    };
    wait_status(&broker, "the call is in flight", |s| {
        backend_line(s, "old").contains("1 in flight")
    });

    // An invalid file is refused and the running configuration kept.
    std::fs::write(
        &broker.config,
        broker.config_text("[[routes]]\nprogram = \"x\"\n"),
    )
    .expect("write config");
    let out = ctl(&broker, &["reload"]);
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("program") && err.contains("line"), "{err}");
    assert!(ctl_ok(&broker, &["status"]).contains("-> [old]"));

    // The route now goes to the new backend; SIGHUP applies it.
    std::fs::write(&broker.config, broker.config_text(&route("new", &new))).expect("write config");
    signal(broker.process.pid(), "-HUP");
    let status = wait_status(&broker, "the new route applied", |s| s.contains("-> [new]"));
    assert!(status.contains("1 reload(s)"), "{status}");
    assert!(
        backend_line(&status, "old").contains("RETIRED"),
        "the old backend finishes its call: {status}"
    );
    // New calls go to the new backend while the old one still hangs.
    put(&via, "k2", "after").await;
    assert_eq!(get(&new_direct, "k2").await.as_deref(), Some("after"));

    // The old backend wakes up: the call in flight gets its answer.
    signal(old.process.pid(), "-CONT");
    let answer = tokio::time::timeout(Duration::from_secs(15), in_flight)
        .await
        .expect("the call in flight is answered")
        .expect("task");
    assert_eq!(answer.as_deref(), Some("before"));
    // Then the retired backend's connection is closed and it leaves the
    // status.
    wait_status(&broker, "the retired backend gone", |s| {
        backend_line(s, "old").is_empty()
    });
    let (_, page) = http_get(broker.metrics, "/metrics");
    assert_eq!(
        sample(&page, r#"broker_config_reloads_total{result="applied"}"#),
        1.0,
        "{page}"
    );
    assert_eq!(
        sample(&page, r#"broker_config_reloads_total{result="rejected"}"#),
        1.0,
        "{page}"
    );
    let log = broker.process.stop();
    assert!(log.contains("reload refused"), "{log}");
    assert!(log.contains("SIGHUP"), "{log}");
}

#[test]
fn ctl_gives_up_on_a_socket_nobody_answers_and_asks_whether_the_broker_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let silent = dir.path().join("silent.sock");
    // Bound and listening, never accepting: connect succeeds, no answer.
    let _listener = std::os::unix::net::UnixListener::bind(&silent).expect("bind");
    let ctl_at = |socket: &std::path::Path, extra: &[&str]| {
        let mut cmd = std::process::Command::new(&bins().broker);
        cmd.arg("ctl")
            .arg("--socket")
            .arg(socket)
            .args(extra)
            .arg("status");
        let started = Instant::now();
        let out = interop_tests::c_peer::run_with_timeout(&mut cmd, CLIENT_TIMEOUT)
            .expect("run broker ctl");
        (out, started.elapsed())
    };
    let (out, took) = ctl_at(&silent, &["--timeout", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no answer within 1 s: is the broker running?"),
        "{stderr}"
    );
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_secs(30), "{took:?}");

    // No socket file at all: said at once.
    let (out, _) = ctl_at(&dir.path().join("absent.sock"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("is the broker running?"), "{stderr}");
}
