//! Who may call a real broker: Unix socket files created with the
//! configured mode and group, callers whose uid is not on a listener's
//! allow list answered AUTH_ERROR / AUTH_TOOWEAK, programs not on it
//! PROG_UNAVAIL, and `--check-config` showing it all.

mod broker_support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use broker_support::*;
use interop_tests::c_peer::{run_with_timeout, CServer, Endpoint};
use rpc_runtime::message::AuthStat;
use rpc_runtime::{Client, RpcError};

const DATASTORE: u32 = 0x2000_DA7A;

/// The uid this test runs as: the owner of a file it creates.
fn my_uid(dir: &Path) -> u32 {
    let probe = dir.join("probe");
    std::fs::write(&probe, b"").expect("write a probe file");
    std::fs::metadata(&probe).expect("stat the probe").uid()
}

/// The gid of group `name` from /etc/group.
fn group_gid(name: &str) -> Option<u32> {
    std::fs::read_to_string("/etc/group")
        .ok()?
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            (f.next() == Some(name)).then(|| f.nth(1)?.parse().ok())?
        })
}

/// A broker whose listeners are the `[[listen]]` tables in `listen`
/// (with `{dir}` standing for its directory), routing the datastore
/// program to the built-in datastore. Ready once `ready` accepts.
fn start(dir: &Path, listen: &str, ready: &str) -> CServer {
    let config = format!(
        "{}\n[backends.ds]\naddress = \"builtin:datastore\"\n\n\
         [[routes]]\nprogram = 0x2000DA7A\nversions = [1]\nbackend = \"ds\"\n",
        listen.replace("{dir}", &dir.display().to_string())
    );
    let path = dir.join("broker.toml");
    std::fs::write(&path, config).expect("write broker.toml");
    let mut cmd = Command::new(&bins().broker);
    cmd.arg("--config").arg(&path).env("RUST_LOG", "info");
    CServer::spawn(cmd, Endpoint::Unix(dir.join(ready))).expect("start broker")
}

async fn null_call(socket: PathBuf, program: u32) -> Result<(), RpcError> {
    let client = Client::builder()
        .timeout(Duration::from_secs(20))
        .connect_unix(&socket)
        .await?;
    client.call::<_, ()>(program, 1, 0, &()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_files_get_their_mode_and_group_and_allow_lists_refuse_with_rfc_5531_answers() {
    let dir = tempfile::Builder::new()
        .prefix("broker-access-")
        .tempdir()
        .expect("tempdir");
    let me = my_uid(dir.path());
    let daemon = group_gid("daemon").expect("a `daemon` group in /etc/group");
    let listen = format!(
        r#"
[[listen]]
address = "unix://{{dir}}/open.sock"

[[listen]]
address = "unix://{{dir}}/group.sock"
mode = "0640"
group = "daemon"
allow_uids = [{me}]
allow_programs = [0x2000DA7A]

[[listen]]
address = "unix://{{dir}}/others.sock"
mode = 0o600
allow_uids = [{}]
allow_gids = [{}]

[[listen]]
address = "unix://{{dir}}/other-program.sock"
allow_programs = [0x20000001]
"#,
        me.wrapping_add(4242),
        daemon.wrapping_add(4242),
    );
    let broker = start(dir.path(), &listen, "other-program.sock");
    let file = |name: &str| dir.path().join(name);

    let mode = |name: &str| {
        std::fs::metadata(file(name))
            .expect("stat")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("open.sock"), 0o660, "the default mode");
    assert_eq!(mode("group.sock"), 0o640);
    assert_eq!(mode("others.sock"), 0o600);
    assert_eq!(
        std::fs::metadata(file("group.sock")).expect("stat").gid(),
        daemon
    );

    // Allowed: the open listener, and ours by uid and program.
    null_call(file("open.sock"), DATASTORE)
        .await
        .expect("open listener");
    null_call(file("group.sock"), DATASTORE)
        .await
        .expect("our uid, our program");
    // Our uid is not on the list: MSG_DENIED / AUTH_ERROR / AUTH_TOOWEAK.
    let r = null_call(file("others.sock"), DATASTORE).await;
    assert!(
        matches!(r, Err(RpcError::AuthError(AuthStat::TooWeak))),
        "{r:?}"
    );
    // The program is not on the list: PROG_UNAVAIL.
    let r = null_call(file("other-program.sock"), DATASTORE).await;
    assert!(matches!(r, Err(RpcError::ProgUnavail)), "{r:?}");
    // A program on the list but not routed: PROG_UNAVAIL from the routing.
    let r = null_call(file("other-program.sock"), 0x2000_0001).await;
    assert!(matches!(r, Err(RpcError::ProgUnavail)), "{r:?}");

    let log = broker.stop();
    assert!(
        log.contains("call refused: caller not on the listener's allow list"),
        "{log}"
    );
    assert!(log.contains(&format!("uid={me}")), "{log}");
    assert!(log.contains("program=0x2000da7a"), "{log}");
}

#[test]
fn check_config_shows_access_and_warns_about_open_tcp_listeners() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broker.toml");
    std::fs::write(
        &path,
        r#"
[[listen]]
address = "unix:///run/example/broker.sock"
mode = "0660"
group = "daemon"
allow_gids = [1]
allow_programs = [0x2000DA7A]

[[listen]]
address = "tcp://0.0.0.0:7100"
"#,
    )
    .expect("write");
    let mut cmd = Command::new(&bins().broker);
    cmd.arg("--config").arg(&path).arg("--check-config");
    let out = run_with_timeout(&mut cmd, CLIENT_TIMEOUT).expect("run broker --check-config");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "listen  unix:///run/example/broker.sock mode 0660 group daemon allow_gids [1] allow_programs [0x2000da7a]"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("warning listen tcp://0.0.0.0:7100 is a non-loopback address"),
        "{stdout}"
    );
    assert!(stdout.contains("reserved_fds 128"), "{stdout}");
}
