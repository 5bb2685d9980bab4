//! The broker library in process: a [`Broker`] in front of an
//! `rpc_runtime` server, driven by `rpc_runtime` clients. Checks
//! multiplexing (many callers, one backend connection, replies in any
//! order), the broker's own replies, and timeouts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker::config::Config;
use broker::Broker;
use rpc_runtime::codegen::{handle, proc_unavail, BoxFuture};
use rpc_runtime::server::{CallContext, Dispatch, DispatchOutcome, PeerAddr};
use rpc_runtime::Endpoint;
use rpc_runtime::{Client, RpcError, Server};

const PROG: u32 = 0x3000_0001;

/// Program PROG version 1: procedure 1 sleeps `ms` then returns `(ms,
/// tag)`; procedure 2 never answers.
struct Sleeper;

impl Dispatch for Sleeper {
    fn program(&self) -> u32 {
        PROG
    }
    fn version(&self) -> u32 {
        1
    }
    fn dispatch(
        &self,
        _ctx: CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> BoxFuture<'static, DispatchOutcome> {
        match procedure {
            1 => handle(args, |(ms, tag): (u32, u32)| async move {
                tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
                Ok((ms, tag))
            }),
            2 => handle(args, |(): ()| async move {
                std::future::pending::<()>().await;
                Ok(())
            }),
            _ => proc_unavail(),
        }
    }
}

struct Setup {
    broker_tcp: String,
    connections: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

/// A backend server on a Unix socket and a broker in front of it.
async fn setup(extra_routes: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let backend_path = dir.path().join("backend.sock");
    let connections = Arc::new(AtomicUsize::new(0));
    let server = Server::builder().register(Sleeper).build();
    let listener = tokio::net::UnixListener::bind(&backend_path).unwrap();
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            let server = server.clone();
            tokio::spawn(async move { server.serve_connection(s, PeerAddr::Unix(None)).await });
        }
    });
    let config = Config::from_toml(&format!(
        r#"
        listen = ["tcp://127.0.0.1:0", "unix://{}"]
        [backends.sleeper]
        address = "unix://{}"
        [[routes]]
        program = {PROG}
        versions = [1]
        backend = "sleeper"
        timeout_ms = 300
        {extra_routes}
        "#,
        dir.path().join("broker.sock").display(),
        backend_path.display()
    ))
    .unwrap();
    let broker = Broker::bind(&config).await.unwrap();
    let broker_tcp = match &broker.local_endpoints()[0] {
        Endpoint::Tcp(a) => a.clone(),
        other => panic!("{other:?}"),
    };
    tokio::spawn(broker.run(std::future::pending()));
    Setup {
        broker_tcp,
        connections,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_callers_share_one_backend_connection_and_replies_come_in_any_order() {
    let s = setup("").await;
    let clients: Vec<Client> =
        futures::future::join_all((0..4).map(|_| Client::connect_tcp(s.broker_tcp.clone())))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    // Each client pipelines calls whose replies come back in reverse order
    // of sending (longer sleeps first).
    let started = Instant::now();
    let calls = clients.iter().enumerate().flat_map(|(c, client)| {
        (0..10u32).map(move |i| {
            let ms = 200 - i * 20;
            let tag = (c as u32) * 100 + i;
            async move {
                let r: (u32, u32) = client.call(PROG, 1, 1, &(ms, tag)).await.unwrap();
                assert_eq!(r, (ms, tag));
            }
        })
    });
    futures::future::join_all(calls).await;
    // 40 calls of up to 200 ms ran concurrently, not one after another.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        s.connections.load(Ordering::SeqCst),
        1,
        "one shared backend connection"
    );
}

#[tokio::test]
async fn broker_answers_unknown_program_and_version_itself() {
    let s = setup("").await;
    let c = Client::connect_tcp(s.broker_tcp.clone()).await.unwrap();
    let e = c.call::<_, ()>(PROG + 1, 1, 0, &()).await.unwrap_err();
    assert!(matches!(e, RpcError::ProgUnavail), "{e:?}");
    let e = c.call::<_, ()>(PROG, 2, 0, &()).await.unwrap_err();
    assert!(
        matches!(e, RpcError::ProgMismatch { low: 1, high: 1 }),
        "{e:?}"
    );
    // Backend statuses pass through untouched.
    let e = c.call::<_, ()>(PROG, 1, 9, &()).await.unwrap_err();
    assert!(matches!(e, RpcError::ProcUnavail), "{e:?}");
    let e = c.call::<_, ()>(PROG, 1, 1, &7u32).await.unwrap_err();
    assert!(matches!(e, RpcError::GarbageArgs), "{e:?}");
    assert_eq!(
        s.connections.load(Ordering::SeqCst),
        1,
        "unrouted calls never reach the backend"
    );
}

#[tokio::test]
async fn a_call_the_backend_never_answers_gets_system_err_at_the_route_timeout() {
    let s = setup("").await;
    let c = Client::connect_tcp(s.broker_tcp.clone()).await.unwrap();
    let started = Instant::now();
    let e = c.call::<_, ()>(PROG, 1, 2, &()).await.unwrap_err();
    assert!(matches!(e, RpcError::SystemErr), "{e:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    // The connection and the backend are still fine.
    let r: (u32, u32) = c.call(PROG, 1, 1, &(0u32, 5u32)).await.unwrap();
    assert_eq!(r, (0, 5));
}

#[tokio::test]
async fn unreachable_backend_gets_system_err() {
    let s = setup(
        r#"
        [backends.nowhere]
        address = "unix:///nonexistent/broker-test.sock"
        [[routes]]
        program = 0x30000002
        backend = "nowhere"
        "#,
    )
    .await;
    let c = Client::connect_tcp(s.broker_tcp.clone()).await.unwrap();
    let e = c.call::<_, ()>(0x3000_0002, 1, 0, &()).await.unwrap_err();
    assert!(matches!(e, RpcError::SystemErr), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_calls_per_client_are_limited() {
    let s = setup("[limits]\nmax_in_flight_per_client = 2\n").await;
    let c = Client::connect_tcp(s.broker_tcp.clone()).await.unwrap();
    let started = Instant::now();
    let calls = (0..4u32).map(|i| {
        let c = c.clone();
        async move {
            let r: (u32, u32) = c.call(PROG, 1, 1, &(150u32, i)).await.unwrap();
            assert_eq!(r, (150, i));
        }
    });
    futures::future::join_all(calls).await;
    // Four 150 ms calls, at most two at a time: at least two rounds.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_limit_an_idle_client_makes_room_and_a_busy_one_does_not() {
    let s = setup("[limits]\nmax_connections = 1\n").await;
    let first = Client::connect_tcp(s.broker_tcp.clone()).await.unwrap();
    let r: (u32, u32) = first.call(PROG, 1, 1, &(0u32, 1u32)).await.unwrap();
    assert_eq!(r, (0, 1));
    // The first is idle: it is evicted for the second.
    let second = Client::connect_tcp(s.broker_tcp.clone()).await.unwrap();
    let r: (u32, u32) = second.call(PROG, 1, 1, &(0u32, 2u32)).await.unwrap();
    assert_eq!(r, (0, 2));
    // With a call in flight the second is busy: a third is closed.
    let pending = tokio::spawn({
        let second = second.clone();
        async move { second.call::<_, ()>(PROG, 1, 2, &()).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let third = Client::connect_tcp(s.broker_tcp.clone()).await.unwrap();
    let e = third
        .call::<_, (u32, u32)>(PROG, 1, 1, &(0u32, 3u32))
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::Transport(_)), "{e:?}");
    assert!(!pending.is_finished(), "the busy client was left alone");
    pending.abort();
}
