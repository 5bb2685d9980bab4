//! Tests of the client's own paths against a scripted peer: callers that
//! write their records themselves racing with the queued path, and the
//! timeout watchdog.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use xdr_codec::{Opaque, XdrDecode, XdrEncode};

use crate::message::{reply, CallHeader};
use crate::record::RecordCodec;
use crate::{Client, RpcError};

/// The arguments of call `seed`: `len` bytes that depend on the seed.
fn payload(seed: u32, len: usize) -> Bytes {
    (0..len)
        .map(|i| (seed as usize).wrapping_mul(31).wrapping_add(i * 7) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// A checksum the peer and the test compute independently.
fn checksum(data: &[u8]) -> u32 {
    data.iter().fold(2_166_136_261u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    })
}

/// A peer that decodes every record as a call whose arguments are
/// `(seed, opaque<>)`, checks that the opaque is `payload(seed, len)`
/// (so a torn or interleaved record fails), and answers with the
/// opaque's checksum. Replies go out in batches, in reverse order.
/// Returns its address and the count of records it rejected.
async fn checking_peer() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bad = Arc::new(AtomicUsize::new(0));
    let bad2 = Arc::clone(&bad);
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve_checking(s, Arc::clone(&bad2)));
        }
    });
    (addr, bad)
}

async fn serve_checking(s: TcpStream, bad: Arc<AtomicUsize>) {
    let mut framed = Framed::new(s, RecordCodec::builder().new_codec());
    let mut pending: Vec<Bytes> = Vec::new();
    loop {
        // Take what arrived, answer it all at once (reversed).
        let next = if pending.is_empty() {
            framed.next().await
        } else {
            match tokio::time::timeout(Duration::from_millis(1), framed.next()).await {
                Ok(next) => next,
                Err(_) => {
                    for reply in pending.drain(..).rev() {
                        if framed.feed(reply).await.is_err() {
                            return;
                        }
                    }
                    if SinkExt::<Bytes>::flush(&mut framed).await.is_err() {
                        return;
                    }
                    continue;
                }
            }
        };
        let Some(Ok(record)) = next else {
            return;
        };
        let mut dec = xdr_codec::Decoder::new(record);
        let checked = CallHeader::decode(&mut dec).and_then(|h| {
            let (seed, data) = <(u32, Opaque<{ u32::MAX }>)>::decode(&mut dec)?;
            dec.finish()?;
            Ok((h.xid, seed, data))
        });
        match checked {
            Ok((xid, seed, data)) if data.as_ref() == &payload(seed, data.len())[..] => {
                pending.push(reply::success(xid, &checksum(&data)).unwrap());
            }
            _ => {
                bad.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// Many tasks on a multi-threaded runtime call at once with arguments
/// from a few bytes to several socket buffers: some calls find the
/// writer free and write themselves (finishing in the connection task
/// when the socket is full), others are queued and batched. Every record
/// must arrive whole and every reply must match its call.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn direct_and_queued_writes_keep_records_whole() {
    let (addr, bad) = checking_peer().await;
    for max_fragment in [crate::record::MAX_FRAGMENT_BYTES, 1000] {
        let client = Client::builder()
            .max_fragment_bytes(max_fragment)
            .timeout(Duration::from_secs(30))
            .connect_tcp(addr)
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for t in 0..64u32 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..40u32 {
                    let seed = t * 1000 + i;
                    // Mostly small, now and then larger than a socket
                    // buffer, so direct writes stop half way.
                    let len = match (t + i) % 16 {
                        0 => 300_000,
                        1..=3 => 5_000,
                        n => n as usize * 3,
                    };
                    let data = payload(seed, len);
                    let args = (seed, Opaque::<{ u32::MAX }>::new(data.clone()));
                    let sum: u32 = client.call(0x2000_0001, 1, 1, &args).await.unwrap();
                    assert_eq!(sum, checksum(&data), "call {seed}");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // Calls alone, now that the pipe is quiet: the direct path, the
        // large ones more than the socket takes at once (the connection
        // task finishes them).
        for (seed, len) in [(7u32, 10usize), (8, 3_000_000), (9, 0), (10, 3_000_000)] {
            let data = payload(seed, len);
            let args = (seed, Opaque::<{ u32::MAX }>::new(data.clone()));
            let sum: u32 = client.call(0x2000_0001, 1, 1, &args).await.unwrap();
            assert_eq!(sum, checksum(&data));
            assert_eq!(client.pending_calls(), 0);
        }
    }
    assert_eq!(bad.load(Ordering::Relaxed), 0, "the peer saw a torn record");
}

/// The records of one peer connection.
type PeerConnection = Framed<TcpStream, RecordCodec>;

/// A peer on a loopback port serving each connection with `serve`.
async fn peer<F, Fut>(serve: F) -> std::net::SocketAddr
where
    F: Fn(PeerConnection) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve(Framed::new(s, RecordCodec::builder().new_codec())));
        }
    });
    addr
}

/// A peer that reads calls and never answers.
async fn silent_peer() -> std::net::SocketAddr {
    peer(|mut framed| async move { while let Some(Ok(_)) = framed.next().await {} }).await
}

/// A call due before the watchdog's alarm (set for a longer call made
/// first) re-arms it: the short call times out on time, not when the
/// long one does.
#[tokio::test]
async fn a_shorter_timeout_rearms_the_watchdog() {
    let addr = silent_peer().await;
    let client = connect(addr, Duration::from_secs(20)).await;
    let long = {
        let client = client.clone();
        tokio::spawn(async move { client.call::<_, ()>(1, 1, 0, &()).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(client.pending_calls(), 1);
    let short = client.with_timeout(Duration::from_millis(100));
    let start = Instant::now();
    let e = short.call::<_, ()>(1, 1, 0, &()).await.unwrap_err();
    assert!(matches!(e, RpcError::Timeout), "{e:?}");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(100), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // The long call is still waiting; its entry, not the short one's.
    assert_eq!(client.pending_calls(), 1);
    long.abort();
    let _ = long.await;
    assert_eq!(client.pending_calls(), 0);
}

/// Calls one after another, each alone in flight, each timing out: the
/// watchdog serves every one (also after it found nothing to do).
#[tokio::test]
async fn consecutive_lone_calls_each_time_out() {
    let addr = silent_peer().await;
    let client = connect(addr, Duration::from_millis(30)).await;
    for _ in 0..5 {
        let start = Instant::now();
        let e = client.call::<_, ()>(1, 1, 0, &()).await.unwrap_err();
        assert!(matches!(e, RpcError::Timeout), "{e:?}");
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(client.pending_calls(), 0);
    }
}

/// A record that does not fit the queue or the socket still respects
/// the record-marking layout when forwarded (the `forward` path copies
/// short records behind a mark and sends long ones by reference).
#[tokio::test]
async fn forwarded_calls_of_every_size_arrive_whole() {
    let (addr, bad) = checking_peer().await;
    let client = Client::connect_tcp(addr).await.unwrap();
    for (seed, len) in [(1u32, 0usize), (2, 40), (3, 4090), (4, 70_000)] {
        let data = payload(seed, len);
        let mut record = BytesMut::new();
        CallHeader::new(99, 0x2000_0001, 1, 1, crate::message::OpaqueAuth::none())
            .encode_into(&mut record)
            .unwrap();
        (seed, Opaque::<{ u32::MAX }>::new(data.clone()))
            .encode_into(&mut record)
            .unwrap();
        let reply = client.forward(record.freeze()).await.unwrap();
        // The caller's XID is back in the reply; the result is last.
        assert_eq!(&reply[..4], &99u32.to_be_bytes());
        let mut tail = BytesMut::new();
        tail.put_u32(checksum(&data));
        assert!(reply.ends_with(&tail), "seed {seed}");
    }
    assert_eq!(bad.load(Ordering::Relaxed), 0);
}

/// A TCP client of `addr` whose calls time out after `timeout`.
async fn connect(addr: std::net::SocketAddr, timeout: Duration) -> Client {
    Client::builder()
        .timeout(timeout)
        .connect_tcp(addr)
        .await
        .unwrap()
}

/// A peer that gathers `batch` calls (arguments: one `u32`), waits
/// `delay`, then answers each with its argument, in reverse order of
/// arrival when `reverse`; `batch` 0 closes the connection after the
/// first call instead.
async fn batching_peer(batch: usize, reverse: bool, delay: Duration) -> std::net::SocketAddr {
    peer(move |mut framed| async move {
        loop {
            let mut replies = Vec::new();
            while replies.len() < batch.max(1) {
                let Some(Ok(record)) = framed.next().await else {
                    return;
                };
                if batch == 0 {
                    return;
                }
                let mut dec = xdr_codec::Decoder::new(record);
                let xid = CallHeader::decode(&mut dec).unwrap().xid;
                let arg = u32::decode(&mut dec).unwrap();
                replies.push(reply::success(xid, &arg).unwrap());
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if reverse {
                replies.reverse();
            }
            for r in replies {
                framed.feed(r).await.unwrap();
            }
            SinkExt::<Bytes>::flush(&mut framed).await.unwrap();
        }
    })
    .await
}

/// Starts a call with argument `arg` on its own task.
fn spawn_call(client: &Client, arg: u32) -> tokio::task::JoinHandle<Result<u32, RpcError>> {
    let client = client.clone();
    tokio::spawn(async move { client.call(0x2000_0001, 1, 1, &arg).await })
}

/// Waits (at most 5 s) until `n` calls are pending.
async fn until_pending(client: &Client, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.pending_calls() != n {
        assert!(
            Instant::now() < deadline,
            "{} pending, not {n}",
            client.pending_calls()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The first call, alone in flight, reads the socket itself; calls that
/// join it are answered first (their replies come before its own), so
/// the lone caller hands theirs over; then, with the replies in call
/// order, it stops at its own and the connection task reads the others.
#[tokio::test]
async fn a_lone_reader_delivers_others_replies_and_hands_the_socket_back() {
    for reverse in [true, false] {
        let addr = batching_peer(3, reverse, Duration::ZERO).await;
        let client = Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_tcp(addr)
            .await
            .unwrap();
        for round in 0..3u32 {
            let lone = spawn_call(&client, round * 10);
            until_pending(&client, 1).await;
            let joined = [
                spawn_call(&client, round * 10 + 1),
                spawn_call(&client, round * 10 + 2),
            ];
            assert_eq!(
                lone.await.unwrap().unwrap(),
                round * 10,
                "reverse {reverse}"
            );
            for (i, call) in (1..).zip(joined) {
                assert_eq!(call.await.unwrap().unwrap(), round * 10 + i);
            }
            assert_eq!(client.pending_calls(), 0);
            assert_eq!(client.unmatched_replies(), 0);
        }
    }
}

/// A lone reader whose future is dropped while another call waits gives
/// the socket back: the other call still gets its reply.
#[tokio::test]
async fn a_cancelled_lone_reader_hands_the_socket_back() {
    let addr = batching_peer(2, false, Duration::from_millis(300)).await;
    let client = connect(addr, Duration::from_secs(10)).await;
    let lone = spawn_call(&client, 1);
    until_pending(&client, 1).await;
    let other = spawn_call(&client, 2);
    until_pending(&client, 2).await;
    lone.abort();
    assert!(lone.await.unwrap_err().is_cancelled());
    assert_eq!(other.await.unwrap().unwrap(), 2);
    // The cancelled call's reply came too, and was dropped.
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.unmatched_replies() != 1 {
        assert!(Instant::now() < deadline, "late reply not counted");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A lone reader that meets the end of the stream fails, and so does the
/// connection, at once.
#[tokio::test]
async fn a_lone_reader_meeting_the_end_of_the_stream_fails_the_connection() {
    let addr = batching_peer(0, false, Duration::ZERO).await;
    let client = connect(addr, Duration::from_secs(10)).await;
    let start = Instant::now();
    let e = client
        .call::<_, u32>(0x2000_0001, 1, 1, &1u32)
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::Transport(_)), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(client.is_closed());
}

/// Many lone calls one after another on a multi-threaded runtime (the
/// caller and the connection task on different threads, taking turns on
/// the socket): none loses its wake-up. (A caller that gave up when the
/// task held the reader's lock for a moment, after a reply had woken
/// it, left that reply unread: a call in a few thousand timed out.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_lone_calls_on_two_threads_all_complete() {
    let addr = batching_peer(1, false, Duration::ZERO).await;
    let client = connect(addr, Duration::from_secs(5)).await;
    for i in 0..10_000u32 {
        let r: u32 = client.call(0x2000_0001, 1, 1, &i).await.unwrap();
        assert_eq!(r, i);
    }
}

/// A few callers on a multi-threaded runtime, now alone in flight (and
/// reading), now joined by others: every call completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lone_and_joined_calls_on_two_threads_all_complete() {
    let addr = batching_peer(1, false, Duration::ZERO).await;
    let client = connect(addr, Duration::from_secs(5)).await;
    let callers: Vec<_> = (0..3u32)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..3_000u32 {
                    let arg = t * 1_000_000 + i;
                    let r: u32 = client.call(0x2000_0001, 1, 1, &arg).await.unwrap();
                    assert_eq!(r, arg);
                    if (i + t) % 7 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for c in callers {
        c.await.unwrap();
    }
    assert_eq!(client.pending_calls(), 0);
}

/// After a lone call, which read its own reply, the connection task
/// watches the idle socket again without having been woken for it: a
/// server that closes the connection later is noticed with no call in
/// flight, on one thread and on two.
#[test]
fn after_a_lone_call_the_task_notices_the_server_closing() {
    for threads in [1, 2] {
        let rt = match threads {
            1 => tokio::runtime::Builder::new_current_thread(),
            _ => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(threads);
                b
            }
        }
        .enable_all()
        .build()
        .unwrap();
        rt.block_on(async {
            let addr = peer(|mut framed| async move {
                let Some(Ok(record)) = framed.next().await else {
                    return;
                };
                let xid = CallHeader::decode(&mut xdr_codec::Decoder::new(record))
                    .unwrap()
                    .xid;
                framed
                    .send(reply::success(xid, &7u32).unwrap())
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            })
            .await;
            let client = connect(addr, Duration::from_secs(10)).await;
            let r: u32 = client.call(0x2000_0001, 1, 1, &1u32).await.unwrap();
            assert_eq!(r, 7);
            assert!(!client.is_closed());
            let deadline = Instant::now() + Duration::from_secs(5);
            while !client.is_closed() {
                assert!(
                    Instant::now() < deadline,
                    "{threads} thread(s): close not seen"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
    }
}
