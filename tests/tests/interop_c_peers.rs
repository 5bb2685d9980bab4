//! The C peers against each other: checks the harness and the C side of
//! the interop protocol before any Rust code is involved.

use interop_tests::c_peer::CServer;
use interop_tests::interop::peers::{
    calls_reported, interop_server, run_interop_client, CALLS_PER_ROUND, ERROR_CHECK_CALLS,
};

fn run_against(server: &CServer, rounds: u32) {
    let out = run_interop_client(server.endpoint(), rounds, 7, true).expect("C client runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "C client failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        calls_reported(&out),
        Some(u64::from(rounds) * CALLS_PER_ROUND + ERROR_CHECK_CALLS),
        "{stdout}"
    );
}

#[test]
fn c_client_against_c_server_over_tcp() {
    let bin = interop_server().expect("C interop server builds");
    let mut server = CServer::start_tcp(&bin, std::iter::empty::<&str>()).expect("C server starts");
    run_against(&server, 30);
    server.check_running().expect("C server still running");
}

#[test]
fn c_client_against_c_server_over_unix_socket() {
    let bin = interop_server().expect("C interop server builds");
    let mut server =
        CServer::start_unix(&bin, std::iter::empty::<&str>()).expect("C server starts");
    run_against(&server, 10);
    server.check_running().expect("C server still running");
}
