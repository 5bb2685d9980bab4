//! The generated MOUNT client against the generated dispatcher and
//! `MemoryMountd`, over real TCP through rpc-runtime.

use std::net::SocketAddr;

use mount_example::{
    Exportnode, Fhstatus, Groupnode, MemoryMountd, Mountbody, MountprogV1Client, MountprogV1Server,
    MNT_NOENT, MOUNTPROC_EXPORT, MOUNTPROC_MNT, MOUNTPROG, MOUNTVERS,
};

async fn serve(mountd: MemoryMountd) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(
        rpc_runtime::Server::builder()
            .register(MountprogV1Server::new(mountd))
            .serve_tcp(listener),
    );
    addr
}

async fn client(addr: SocketAddr) -> MountprogV1Client {
    MountprogV1Client::new(
        rpc_runtime::Client::connect_tcp(addr)
            .await
            .expect("connect"),
    )
}

fn names(groups: &[Groupnode]) -> Vec<String> {
    groups
        .iter()
        .map(|g| g.gr_name.to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn export_lists_every_node_and_group() {
    let addr = serve(
        MemoryMountd::new()
            .export("/srv/a", &["staff", "build", "ci"])
            .export("/srv/b", &[])
            .export("/home", &["users"]),
    )
    .await;
    let client = client(addr).await;
    let exports = client.mountproc_export().await.expect("EXPORT");
    let got: Vec<(String, Vec<String>)> = exports
        .iter()
        .map(|e: &Exportnode| (e.ex_dir.to_string_lossy().into_owned(), names(&e.ex_groups)))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "/srv/a".to_owned(),
                vec!["staff".to_owned(), "build".to_owned(), "ci".to_owned()]
            ),
            ("/srv/b".to_owned(), vec![]),
            ("/home".to_owned(), vec!["users".to_owned()]),
        ]
    );
    // EXPORTALL answers the same.
    assert_eq!(
        client.mountproc_exportall().await.expect("EXPORTALL"),
        exports
    );
}

#[tokio::test]
async fn mnt_dump_umnt_round_trip() {
    let addr = serve(
        MemoryMountd::new()
            .export("/srv/a", &[])
            .export("/srv/b", &[]),
    )
    .await;
    let client = client(addr).await;
    client.mountproc_null().await.expect("NULL");

    match client.mountproc_mnt(&"/srv/b".into()).await.expect("MNT") {
        Fhstatus::FhsFhandle(fh) => assert_eq!(&fh[..4], &[0, 0, 0, 1]),
        other => panic!("expected a file handle, got {other:?}"),
    }
    client.mountproc_mnt(&"/srv/a".into()).await.expect("MNT");
    assert_eq!(
        client.mountproc_mnt(&"/nope".into()).await.expect("MNT"),
        Fhstatus::Default(MNT_NOENT)
    );

    let dump = client.mountproc_dump().await.expect("DUMP");
    let dirs: Vec<String> = dump
        .iter()
        .map(|m: &Mountbody| m.ml_directory.to_string_lossy().into_owned())
        .collect();
    assert_eq!(dirs, ["/srv/b", "/srv/a"]);
    assert!(dump.iter().all(|m| m.ml_hostname == "127.0.0.1"));

    client.mountproc_umnt(&"/srv/b".into()).await.expect("UMNT");
    let dump = client.mountproc_dump().await.expect("DUMP");
    assert_eq!(dump.len(), 1);
    client.mountproc_umntall().await.expect("UMNTALL");
    assert!(client.mountproc_dump().await.expect("DUMP").is_empty());
}

#[tokio::test]
async fn raw_calls_match_the_generated_constants() {
    let addr = serve(MemoryMountd::new().export("/x", &["g"])).await;
    let raw = rpc_runtime::Client::connect_tcp(addr)
        .await
        .expect("connect");
    // The same call through the untyped client, with the generated
    // program/version/procedure constants.
    let exports: mount_example::Exports = raw
        .call(MOUNTPROG, MOUNTVERS, MOUNTPROC_EXPORT, &())
        .await
        .expect("EXPORT");
    assert_eq!(exports.len(), 1);
    let status: Fhstatus = raw
        .call(
            MOUNTPROG,
            MOUNTVERS,
            MOUNTPROC_MNT,
            &mount_example::Dirpath::from("/x"),
        )
        .await
        .expect("MNT");
    assert!(matches!(status, Fhstatus::FhsFhandle(_)));
}
