//! The C rpcgen/libtirpc client of `specs/interop.x` against the generated
//! Rust server trait served by rpc-runtime: the C client recomputes every
//! result in C and exits 0 only if all match; the Rust side counts the
//! calls it answered.

use std::future::Future;

use interop_tests::c_peer::Endpoint;
use interop_tests::interop::peers::{
    calls_reported, run_interop_client, CALLS_PER_ROUND, ERROR_CHECK_CALLS,
};
use interop_tests::interop::proto::InteropProgV1Server;
use interop_tests::interop::server::InteropService;
use rpc_runtime::server::ServerBuilder;
use rpc_runtime::Server;

/// Runs the C client in a blocking task (the runtime keeps serving) and
/// checks it succeeded (it checks every result and, with `error_checks`,
/// every error reply); returns the calls it reports.
async fn run_c_client(endpoint: Endpoint, rounds: u32, seed: u64, error_checks: bool) -> u64 {
    let out = tokio::task::spawn_blocking(move || {
        run_interop_client(&endpoint, rounds, seed, error_checks)
    })
    .await
    .expect("client task")
    .expect("the C interop client builds and runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "C client failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let calls =
        calls_reported(&out).unwrap_or_else(|| panic!("no `ok N calls` line in:\n{stdout}"));
    let extra = if error_checks { ERROR_CHECK_CALLS } else { 0 };
    assert_eq!(
        calls,
        u64::from(rounds) * CALLS_PER_ROUND + extra,
        "{stdout}"
    );
    calls
}

fn builder(service: &InteropService) -> ServerBuilder {
    Server::builder().register(InteropProgV1Server::new(service.clone()))
}

/// Serves `serve` in the background for the duration of `body`.
async fn with_server<S, B>(serve: S, body: B) -> B::Output
where
    S: Future<Output = std::io::Result<()>> + Send + 'static,
    B: Future,
{
    let task = tokio::spawn(serve);
    let out = body.await;
    assert!(
        !task.is_finished(),
        "the Rust server stopped: {:?}",
        task.await
    );
    task.abort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_client_against_rust_server_over_tcp() {
    let service = InteropService::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let calls = with_server(
        builder(&service).serve_tcp(listener),
        run_c_client(Endpoint::Tcp(addr), 40, 11, true),
    )
    .await;
    assert_eq!(service.calls(), calls, "calls the Rust server answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_client_against_rust_server_over_unix_socket() {
    let service = InteropService::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("interop.sock");
    let listener = tokio::net::UnixListener::bind(&path).expect("bind");
    let calls = with_server(
        builder(&service).serve_unix(listener),
        run_c_client(Endpoint::Unix(path.clone()), 20, 12, true),
    )
    .await;
    assert_eq!(service.calls(), calls);
}

/// Several C client processes at once, and replies cut into small
/// fragments that libtirpc must reassemble (the 1 MiB FILL reply becomes
/// hundreds of fragments).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_c_clients_and_small_fragments() {
    let service = InteropService::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let clients = async {
        let runs: Vec<_> = (0..4)
            .map(|seed| run_c_client(Endpoint::Tcp(addr), 10, 100 + seed, seed == 0))
            .collect();
        futures::future::join_all(runs)
            .await
            .into_iter()
            .sum::<u64>()
    };
    let calls = with_server(
        builder(&service)
            .max_fragment_bytes(4096)
            .serve_tcp(listener),
        clients,
    )
    .await;
    assert_eq!(service.calls(), calls);
}
