//! The embedded default configuration's builtin datastore, reached through
//! the broker with the generated Rust client (`datastore::proto`).

use broker::config::Config;
use broker::Broker;
use datastore::proto::{
    DatastoreV1Client, DsDeleteArgs, DsGetArgs, DsGetRes, DsKey, DsListArgs, DsListRes, DsPutArgs,
    DsPutRes, DsStatus,
};
use datastore::Endpoint;
use rpc_runtime::Client;

/// A broker on the embedded default configuration, with its listeners
/// moved to a temporary directory and an ephemeral port.
async fn default_broker(dir: &std::path::Path) -> (String, std::path::PathBuf) {
    let text = Config::DEFAULT_TOML.replace("tcp://127.0.0.1:7100", "tcp://127.0.0.1:0");
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
