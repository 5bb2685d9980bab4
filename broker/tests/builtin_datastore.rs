//! The embedded default configuration's builtin datastore, reached through
//! the broker with the generated Rust client (`datastore::proto`).

use broker::config::Config;
use broker::Broker;
use datastore::proto::{
    DatastoreV1Client, DsDeleteArgs, DsGetArgs, DsGetRes, DsKey, DsListArgs, DsListRes, DsPutArgs,
    DsPutRes, DsStatus,
};
use rpc_runtime::Client;
use rpc_runtime::Endpoint;

/// A broker on the embedded default configuration, with its listeners
/// moved to a temporary directory and an ephemeral port.
async fn default_broker(dir: &std::path::Path) -> (String, std::path::PathBuf) {
    // Ephemeral ports, so that tests run side by side.
    // No rpcbind registration: brokers side by side would fight over it.
    let text = Config::DEFAULT_TOML
        .replace("tcp://127.0.0.1:7100", "tcp://127.0.0.1:0")
        .replace("udp://127.0.0.1:7100", "udp://127.0.0.1:0")
        .replace("register = true", "register = false")
        .replace("127.0.0.1:7190", "127.0.0.1:0");
    let config = Config::from_toml(&text)
        .unwrap()
        .resolve_relative_paths(dir);
    let broker = Broker::bind(&config).await.unwrap();
    let endpoints = broker.local_endpoints();
    let unix = match &endpoints[0] {
        Endpoint::Unix(p) => p.clone(),
        other => panic!("{other:?}"),
    };
    let tcp = match &endpoints[1] {
        Endpoint::Tcp(a) => a.clone(),
        other => panic!("{other:?}"),
    };
    tokio::spawn(broker.run(std::future::pending()));
    (tcp, unix)
}

fn key(s: &str) -> DsKey {
    DsKey::from(s)
}

#[tokio::test]
async fn generated_client_through_the_broker_to_the_builtin_datastore() {
    let dir = tempfile::tempdir().unwrap();
    let (tcp, unix) = default_broker(dir.path()).await;
    assert!(unix.starts_with(dir.path()));
    let a = DatastoreV1Client::new(Client::connect_tcp(tcp).await.unwrap());
    let b = DatastoreV1Client::new(Client::connect_unix(&unix).await.unwrap());

    a.ds_null().await.unwrap();
    let data = vec![7u8; 1 << 20];
    let put = a
        .ds_put(&DsPutArgs {
            key: key("big"),
            offset: 0,
            truncate: true,
            data: data.clone().into(),
        })
        .await
        .unwrap();
    assert_eq!(put, DsPutRes::DsOk(1 << 20));

    // The other client, on the other listener, sees the same store.
    let got = b
        .ds_get(&DsGetArgs {
            key: key("big"),
            offset: 0,
            count: u32::MAX,
        })
        .await
        .unwrap();
    match got {
        DsGetRes::DsOk(ok) => {
            assert_eq!(&ok.data[..], &data[..]);
            assert!(ok.eof);
        }
        other => panic!("{other:?}"),
    }
    let listed = b
        .ds_list(&DsListArgs {
            prefix: key(""),
            after: key(""),
            max_entries: 0,
        })
        .await
        .unwrap();
    match listed {
        DsListRes::DsOk(ok) => {
            assert_eq!(ok.entries.len(), 1);
            assert_eq!(ok.entries[0].name.as_str(), Some("big"));
            assert_eq!((ok.entries[0].size, ok.entries[0].generation), (1 << 20, 1));
            assert!(ok.eof);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        a.ds_delete(&DsDeleteArgs { key: key("big") })
            .await
            .unwrap(),
        DsStatus::DsOk
    );
    assert_eq!(
        a.ds_delete(&DsDeleteArgs { key: key("big") })
            .await
            .unwrap(),
        DsStatus::DsNoent
    );
    let missing = b
        .ds_get(&DsGetArgs {
            key: key("big"),
            offset: 0,
            count: 1,
        })
        .await
        .unwrap();
    assert_eq!(missing, DsGetRes::Default(DsStatus::DsNoent));
}

/// A client that pipelines many large reads and reads no reply for a
/// while: the broker's writes to it block, its reading pauses at the
/// in-flight limit, and once the client reads, every reply arrives whole,
/// exactly once, with its own XID.
#[tokio::test]
async fn a_slow_reader_gets_every_pipelined_large_reply() {
    use std::collections::BTreeSet;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use xdr_codec::XdrEncode;

    const CALLS: u32 = 40;
    const OBJECT: usize = 256 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let (tcp, _unix) = default_broker(dir.path()).await;
    let client = DatastoreV1Client::new(Client::connect_tcp(tcp.clone()).await.unwrap());
    let data: Vec<u8> = (0..OBJECT).map(|i| (i % 251) as u8).collect();
    let put = client
        .ds_put(&DsPutArgs {
            key: key("slow"),
            offset: 0,
            truncate: true,
            data: data.clone().into(),
        })
        .await
        .unwrap();
    assert_eq!(put, DsPutRes::DsOk(OBJECT as u64));

    let args = DsGetArgs {
        key: key("slow"),
        offset: 0,
        count: u32::MAX,
    }
    .to_xdr_bytes()
    .unwrap();
    let mut calls = Vec::new();
    for xid in 1..=CALLS {
        // CALL, RPC version 2, DATASTORE v1 DS_GET, AUTH_NONE twice.
        let words = [xid, 0, 2, 0x2000_DA7A, 1, 2, 0, 0, 0, 0];
        let len = 40 + args.len();
        calls.extend_from_slice(&(0x8000_0000u32 | len as u32).to_be_bytes());
        for w in words {
            calls.extend_from_slice(&w.to_be_bytes());
        }
        calls.extend_from_slice(&args);
    }
    let mut raw = tokio::net::TcpStream::connect(&tcp).await.unwrap();
    let (mut rd, mut wr) = raw.split();
    let write = async {
        wr.write_all(&calls).await.unwrap();
    };
    let read = async {
        // Let the replies pile up in the broker first.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut seen = BTreeSet::new();
        while seen.len() < CALLS as usize {
            let mut header = [0u8; 4];
            rd.read_exact(&mut header).await.unwrap();
            let header = u32::from_be_bytes(header);
            assert_ne!(header & 0x8000_0000, 0, "one fragment per reply");
            let mut reply = vec![0u8; (header & 0x7fff_ffff) as usize];
            rd.read_exact(&mut reply).await.unwrap();
            let xid = u32::from_be_bytes(reply[..4].try_into().unwrap());
            assert!(seen.insert(xid), "xid {xid} answered twice");
            // Reply header (24 bytes), DS_OK, then the opaque's length
            // and bytes (eof flag after them).
            let body = &reply[24..];
            assert_eq!(&body[..4], &0u32.to_be_bytes());
            let n = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
            assert_eq!(n, OBJECT);
            assert_eq!(&body[8..8 + n], &data[..]);
        }
        seen
    };
    let ((), seen) = tokio::join!(write, read);
    assert_eq!(seen, (1..=CALLS).collect::<BTreeSet<_>>());
}
