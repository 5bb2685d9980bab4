//! The generated Rust client against the C rpcgen/libtirpc server of
//! `specs/interop.x`: every procedure, every result checked against an
//! independent Rust computation, hundreds of calls in flight on one
//! connection, records large enough to be split into fragments, and the
//! RFC 5531 error replies.

use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use interop_tests::c_peer::CServer;
use interop_tests::interop::compute;
use interop_tests::interop::peers::interop_server;
use interop_tests::interop::proto::{
    FillArgs, InteropProgV1Client, Value, ECHO_RECORD, FILL, INTEROP_PROG, INTEROP_VERS, LIST_MAX,
    SUM,
};
use interop_tests::interop::random::Rng;
use rpc_runtime::{Client, RpcError};
use xdr_codec::{Opaque, VarArray, XdrString};

/// Calls issued at once on the one connection.
const CALLS: usize = 600;
/// One call per procedure number, 0..=11.
const PROCEDURES: u64 = 12;

fn start_c_server() -> CServer {
    let bin = interop_server().expect("the C interop server builds (rpcgen + gcc + libtirpc)");
    CServer::start_tcp(&bin, std::iter::empty::<&str>()).expect("the C interop server starts")
}

async fn connect(server: &CServer) -> InteropProgV1Client {
    let addr = server.tcp_addr().expect("TCP server");
    let client = Client::builder()
        .timeout(Duration::from_secs(60))
        .connect_tcp(addr)
        .await
        .expect("connect to the C server");
    InteropProgV1Client::new(client)
}

/// Makes call number `i` (procedure `i % 12`) with arguments drawn from
/// `seed` and checks the result; `Err` says what differed.
async fn one_call(client: InteropProgV1Client, i: usize, seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let procedure = i as u64 % PROCEDURES;
    let fail = |what: String| format!("call {i} (procedure {procedure}): {what}");
    let rpc = |e: RpcError| fail(format!("RPC failed: {e}"));
    match procedure {
        0 => client.interop_null().await.map_err(rpc),
        1 => {
            let r = rng.record();
            let got = client.echo_record(&r).await.map_err(rpc)?;
            (got == r)
                .then_some(())
                .ok_or_else(|| fail(format!("echo differs:\n sent {r:?}\n got {got:?}")))
        }
        2 => {
            let r = rng.record();
            let got = client.summarize(&r).await.map_err(rpc)?;
            let want = compute::summarize(&r);
            (got == want)
                .then_some(())
                .ok_or_else(|| fail(format!("summary of {r:?}\n got {got:?}\n want {want:?}")))
        }
        3 => {
            let n = if rng.below(4) == 0 { 0 } else { rng.below(200) };
            let a: VarArray<i32> = (0..n).map(|_| rng.int()).collect();
            let got = client.sum(&a).await.map_err(rpc)?;
            check(got, compute::sum(&a)).map_err(fail)
        }
        4 => {
            let n = match rng.below(6) {
                0 => -1,
                1 => LIST_MAX as i32 + 1,
                _ => rng.below(300) as i32,
            };
            let got = client.make_list(&n).await.map_err(rpc)?;
            check(got, compute::make_list(n)).map_err(fail)
        }
        5 => {
            let items = rng.items(100);
            let got = client.reverse_items(&items).await.map_err(rpc)?;
            check(got, compute::reverse_items(&items)).map_err(fail)
        }
        6 => {
            let max = if rng.coin() { 1000 } else { 10 };
            let s = rng.string(max);
            let got = client.reverse(&s).await.map_err(rpc)?;
            check(got, compute::reverse(&s)).map_err(fail)
        }
        7 => {
            let s = rng.shape();
            let got = client.classify(&s).await.map_err(rpc)?;
            check(got, compute::classify(&s)).map_err(fail)
        }
        8 => {
            let v = rng.value();
            let got = client.negate(&v).await.map_err(rpc)?;
            check(got, compute::negate(&v)).map_err(fail)
        }
        9 => {
            let len = rng.below(5000) as usize;
            let b = Opaque::from(rng.bytes(len));
            let got = client.checksum(&b).await.map_err(rpc)?;
            check(got, compute::checksum(&b)).map_err(fail)
        }
        10 => {
            let a = FillArgs {
                size: rng.below(5000),
                seed: rng.next_u32(),
            };
            let got = client.fill(&a).await.map_err(rpc)?;
            check(got, compute::fill(&a)).map_err(fail)
        }
        _ => {
            let (a, b) = (rng.next_u64() as i64, rng.next_u64() as i64);
            let got = client.add(&a, &b).await.map_err(rpc)?;
            check(got, compute::add(a, b)).map_err(fail)
        }
    }
}

fn check<T: PartialEq + std::fmt::Debug>(got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("got {got:?}, want {want:?}"))
    }
}

/// Every call is issued before any reply is read (a current-thread runtime
/// runs nothing else until the test awaits), so all of them are in flight
/// at once on the one connection; then every result is checked.
#[tokio::test(flavor = "current_thread")]
async fn many_calls_in_flight_on_one_connection() {
    let mut server = start_c_server();
    let client = connect(&server).await;
    let mut calls: FuturesUnordered<_> = (0..CALLS)
        .map(|i| one_call(client.clone(), i, 0x5eed_0000 + i as u64))
        .collect();

    // Poll until every call has been polled once (each encodes its call,
    // takes an XID and queues the record); `poll!` never yields to the
    // runtime, so no reply can be read in between. FuturesUnordered polls
    // at most 32 futures per poll, hence the loop.
    // `unconstrained`: tokio's cooperative budget would otherwise make the
    // client's in-flight limiter report Pending after ~128 operations in
    // one task poll, leaving the rest of the calls unsent until the next.
    let mut failures = Vec::new();
    let mut done = 0;
    tokio::task::unconstrained(async {
        for _ in 0..CALLS {
            if let std::task::Poll::Ready(Some(r)) = futures::poll!(calls.next()) {
                done += 1;
                failures.extend(r.err());
            }
        }
    })
    .await;
    let in_flight = client.inner().pending_calls();
    assert!(
        in_flight >= 100,
        "only {in_flight} of {CALLS} calls were in flight at once"
    );
    while let Some(r) = calls.next().await {
        done += 1;
        failures.extend(r.err());
    }
    assert_eq!(done, CALLS);
    assert!(
        failures.is_empty(),
        "{} calls failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    server.check_running().expect("the C server survived");
}

/// The same procedures from several tasks on a multi-threaded runtime,
/// sharing one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_from_many_tasks_share_one_connection() {
    let mut server = start_c_server();
    let client = connect(&server).await;
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut failures = Vec::new();
                for i in 0..60 {
                    let n = t * 60 + i;
                    failures.extend(
                        one_call(client.clone(), n, 0xabc0_0000 + n as u64)
                            .await
                            .err(),
                    );
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for t in futures::future::join_all(tasks).await {
        failures.extend(t.expect("task ran"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    server.check_running().expect("the C server survived");
}

/// Sends a FILL call of `size` bytes by hand on a plain socket and counts
/// the record-marking fragments of the reply (RFC 5531 section 11).
fn reply_fragments(addr: std::net::SocketAddr, size: u32) -> usize {
    use std::io::{Read, Write};
    let mut call = Vec::new();
    // xid, CALL, RPC version 2, program, version, procedure, AUTH_NONE
    // credentials and verifier, then FILL's fill_args.
    for word in [
        1u32,
        0,
        2,
        INTEROP_PROG,
        INTEROP_VERS,
        FILL,
        0,
        0,
        0,
        0,
        size,
        0,
    ] {
        call.extend_from_slice(&word.to_be_bytes());
    }
    let mark = 0x8000_0000u32 | u32::try_from(call.len()).expect("small call");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.write_all(&mark.to_be_bytes()).expect("send mark");
    stream.write_all(&call).expect("send call");
    let mut fragments = 0;
    loop {
        let mut mark = [0u8; 4];
        stream.read_exact(&mut mark).expect("fragment header");
        let mark = u32::from_be_bytes(mark);
        let len = u64::from(mark & 0x7fff_ffff);
        let skipped = std::io::copy(&mut (&mut stream).take(len), &mut std::io::sink())
            .expect("fragment body");
        assert_eq!(skipped, len, "reply cut short");
        fragments += 1;
        if mark & 0x8000_0000 != 0 {
            return fragments;
        }
    }
}

/// 1 MiB each way: libtirpc sends the FILL reply as many fragments (64 KiB
/// buffers, checked here on a plain socket) that our client must
/// reassemble, and our call, cut into fragments by the client, must be
/// reassembled by libtirpc.
#[tokio::test]
async fn one_mebibyte_records_cross_in_several_fragments() {
    let mut server = start_c_server();
    let addr = server.tcp_addr().expect("TCP server");
    let fragments = tokio::task::spawn_blocking(move || reply_fragments(addr, 1 << 20))
        .await
        .expect("raw FILL call");
    assert!(
        fragments > 1,
        "libtirpc sent the 1 MiB reply as {fragments} fragment(s)"
    );

    for fragment in [None, Some(65_536), Some(1_000)] {
        let mut builder = Client::builder().timeout(Duration::from_secs(60));
        if let Some(f) = fragment {
            builder = builder.max_fragment_bytes(f);
        }
        let client = InteropProgV1Client::new(builder.connect_tcp(addr).await.expect("connect"));

        let mut rng = Rng::new(42);
        let blob = Opaque::from(rng.bytes(1 << 20));
        let got = client.checksum(&blob).await.expect("CHECKSUM of 1 MiB");
        assert_eq!(
            got,
            compute::checksum(&blob),
            "fragments of {fragment:?} bytes"
        );

        let args = FillArgs {
            size: 1 << 20,
            seed: 99,
        };
        let got = client.fill(&args).await.expect("FILL of 1 MiB");
        assert_eq!(got.len(), 1 << 20);
        assert!(got == compute::fill(&args), "FILL contents differ");

        // A long list: 10,000 nodes decoded iteratively.
        let n = LIST_MAX as i32;
        let got = client.make_list(&n).await.expect("MAKE_LIST");
        assert_eq!(got, compute::make_list(n));
    }
    server.check_running().expect("the C server survived");
}

/// libtirpc's error replies arrive as the matching [`RpcError`], and the
/// connection keeps working after each.
#[tokio::test]
async fn error_replies_from_libtirpc() {
    let mut server = start_c_server();
    let client = connect(&server).await;
    let raw = client.inner().clone();

    let e = raw
        .call::<_, ()>(INTEROP_PROG, INTEROP_VERS, 99, &())
        .await
        .expect_err("no procedure 99");
    assert!(matches!(e, RpcError::ProcUnavail), "{e:?}");

    let e = raw
        .call::<_, ()>(INTEROP_PROG, 7, 0, &())
        .await
        .expect_err("no version 7");
    assert!(
        matches!(e, RpcError::ProgMismatch { low: 1, high: 1 }),
        "{e:?}"
    );

    let e = raw
        .call::<_, ()>(INTEROP_PROG + 1, 1, 0, &())
        .await
        .expect_err("no such program");
    assert!(matches!(e, RpcError::ProgUnavail), "{e:?}");

    // SUM's argument is an int array; a count of 2^32 - 1 with no
    // elements cannot be decoded.
    let e = raw
        .call::<_, i64>(INTEROP_PROG, INTEROP_VERS, SUM, &u32::MAX)
        .await
        .expect_err("undecodable array");
    assert!(matches!(e, RpcError::GarbageArgs), "{e:?}");

    // A record cut short after its name.
    let partial = (7u32, XdrString::<64>::from("short"));
    let e = raw
        .call::<_, ()>(INTEROP_PROG, INTEROP_VERS, ECHO_RECORD, &partial)
        .await
        .expect_err("truncated record");
    assert!(matches!(e, RpcError::GarbageArgs), "{e:?}");

    // NEGATE of a value whose discriminant has no arm.
    let e = raw
        .call::<_, Value>(INTEROP_PROG, INTEROP_VERS, 8, &(99i32, 1i32))
        .await
        .expect_err("unknown discriminant");
    assert!(matches!(e, RpcError::GarbageArgs), "{e:?}");

    // A handler failure.
    let text = XdrString::from(compute::SYSTEM_ERR_TEXT);
    let e = client.reverse(&text).await.expect_err("asked to fail");
    assert!(matches!(e, RpcError::SystemErr), "{e:?}");

    // Still usable.
    assert_eq!(client.add(&40, &2).await.expect("ADD after errors"), 42);
    server.check_running().expect("the C server survived");
}

/// Over a Unix stream socket, the generated client works the same.
#[tokio::test]
async fn over_a_unix_socket() {
    let bin = interop_server().expect("the C interop server builds");
    let mut server =
        CServer::start_unix(&bin, std::iter::empty::<&str>()).expect("C server starts");
    let path = server.unix_path().expect("unix server").to_path_buf();
    let client = InteropProgV1Client::new(Client::connect_unix(&path).await.expect("connect"));
    let calls: Vec<_> = (0..120)
        .map(|i| one_call(client.clone(), i, 0x0123_0000 + i as u64))
        .collect();
    let failures: Vec<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    server.check_running().expect("the C server survived");
}
