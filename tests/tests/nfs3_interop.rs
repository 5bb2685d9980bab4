//! NFSv3 end to end, with the NFS software people run: `nfs3-client` (the
//! generated NFS and MOUNT client stubs on `rpc-runtime`) against
//! NFS-Ganesha, libnfs's `nfs-ls` and `nfs-cat` against `nfs3-server` (the
//! generated server traits), our client against our server on large
//! trees, and our client through the broker to Ganesha.
//!
//! Needs root, `rpcbind`, `nfs-ganesha` + `nfs-ganesha-vfs`,
//! `libnfs-utils` and `nfs-common` (`showmount`; `.ci/run` installs them). Tests that use rpcbind or
//! Ganesha (machine-wide singletons) hold the rpcbind lock.

mod broker_support;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use broker_support::{bins, signal, start_broker};
use interop_tests::c_peer::{free_tcp_port, run_with_timeout, CServer, Endpoint};
use interop_tests::ganesha::{Ganesha, MOUNT_PORT, NFS_PORT};
use interop_tests::rpcbind_daemon::RpcbindDaemon;
use nfs3::{MountOptions, NfsUrl, Session, Transport};

/// How long one tool run may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// A directory tree for the tests: `dir/` with `files` small files of
/// different sizes, and `big.bin` of `big_bytes` pseudo-random bytes.
struct Tree {
    root: tempfile::TempDir,
    names: BTreeSet<String>,
    big: Vec<u8>,
}

impl Tree {
    fn new(files: usize, big_bytes: usize) -> Tree {
        let root = tempfile::Builder::new()
            .prefix("nfs3-export-")
            .tempdir()
            .expect("tempdir");
        let dir = root.path().join("dir");
        std::fs::create_dir(&dir).expect("mkdir dir");
        let mut names = BTreeSet::new();
        for i in 0..files {
            let name = format!("file-{i:05}.txt");
            std::fs::write(dir.join(&name), format!("entry {i}\n").repeat(i % 7))
                .expect("write a file");
            names.insert(name);
        }
        let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ big_bytes as u64;
        let big: Vec<u8> = (0..big_bytes)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        std::fs::write(root.path().join("big.bin"), &big).expect("write big.bin");
        Tree { root, names, big }
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    /// `nfs://127.0.0.1[:port]/<root>/<rest>`.
    fn url(&self, port: Option<u16>, rest: &str) -> String {
        let port = port.map_or_else(String::new, |p| format!(":{p}"));
        format!("nfs://127.0.0.1{port}{}/{rest}", self.path().display())
    }
}

fn run(program: &Path, args: &[&str]) -> Output {
    run_with_timeout(Command::new(program).args(args), TOOL_TIMEOUT)
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()))
}

fn stdout_ok(out: &Output, what: &str) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.clone()
}

fn lines(bytes: &[u8]) -> BTreeSet<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The names in `nfs-ls` output (`ls -l`-style lines; the name is the
/// last field), without `.` and `..`.
fn nfs_ls_names(out: &[u8]) -> BTreeSet<String> {
    String::from_utf8_lossy(out)
        .lines()
        .filter_map(|l| l.split_whitespace().last().map(str::to_owned))
        .filter(|n| n != "." && n != "..")
        .collect()
}

/// `nfs3-client ARGS...`.
fn client(args: &[&str]) -> Output {
    run(&bins().nfs3_client, args)
}

/// A running `nfs3-server` exporting `dir` on a free port (TCP and UDP).
fn start_nfs3_server(dir: &Path, rpcbind: bool) -> (CServer, u16) {
    let port = free_tcp_port().expect("free port");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut cmd = Command::new(&bins().nfs3_server);
    cmd.arg(dir).arg("--listen").arg(addr.to_string());
    if !rpcbind {
        cmd.arg("--no-rpcbind");
    }
    let server = CServer::spawn(cmd, Endpoint::Tcp(addr)).expect("start nfs3-server");
    (server, port)
}

#[test]
fn nfs3_client_reads_ganesha_over_tcp_and_udp() {
    let _rpcbind = RpcbindDaemon::start();
    let tree = Tree::new(2000, 6 * 1024 * 1024 + 123);
    let ganesha = Ganesha::start(tree.path());
    for transport in [&[][..], &["--udp"][..]] {
        let ls: Vec<&str> = [transport, &["ls"][..]].concat();
        let names = stdout_ok(
            &client(&[&ls[..], &[tree.url(None, "dir").as_str()]].concat()),
            "nfs3-client ls",
        );
        assert_eq!(
            lines(&names),
            tree.names,
            "{transport:?}\n{}",
            ganesha.log_tail()
        );
        let cat: Vec<&str> = [transport, &["cat"][..]].concat();
        let bytes = stdout_ok(
            &client(&[&cat[..], &[tree.url(None, "big.bin").as_str()]].concat()),
            "nfs3-client cat",
        );
        assert!(bytes == tree.big, "{transport:?}: big.bin differs");
    }
    let stat = stdout_ok(
        &client(&["stat", &tree.url(None, "big.bin")]),
        "nfs3-client stat",
    );
    assert!(
        lines(&stat).contains(&format!("size: {}", tree.big.len())),
        "{}",
        String::from_utf8_lossy(&stat)
    );
    let missing = client(&["cat", &tree.url(None, "dir/nope")]);
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("NFS3ERR_NOENT") && err.contains("/dir/nope"),
        "{err}"
    );
}

#[test]
fn libnfs_tools_and_showmount_read_nfs3_server() {
    let _rpcbind = RpcbindDaemon::start();
    let tree = Tree::new(2000, 3 * 1024 * 1024 + 7);
    let (server, port) = start_nfs3_server(tree.path(), true);
    let ls = stdout_ok(
        &run(Path::new("nfs-ls"), &[&tree.url(None, "dir")]),
        "nfs-ls",
    );
    assert_eq!(nfs_ls_names(&ls), tree.names);
    let bytes = stdout_ok(
        &run(Path::new("nfs-cat"), &[&tree.url(None, "big.bin")]),
        "nfs-cat",
    );
    assert!(bytes == tree.big, "nfs-cat: big.bin differs");
    let rpcinfo = String::from_utf8_lossy(&stdout_ok(
        &run(Path::new("/usr/sbin/rpcinfo"), &["-p", "127.0.0.1"]),
        "rpcinfo -p",
    ))
    .into_owned();
    for (prog, proto) in [
        (100003, "tcp"),
        (100003, "udp"),
        (100005, "tcp"),
        (100005, "udp"),
    ] {
        assert!(
            rpcinfo.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() >= 4
                    && f[0] == prog.to_string()
                    && f[1] == "3"
                    && f[2] == proto
                    && f[3] == port.to_string()
            }),
            "{prog} v3 {proto} port {port} not in rpcinfo -p:\n{rpcinfo}"
        );
    }
    let exports = String::from_utf8_lossy(&stdout_ok(
        &run(Path::new("/usr/sbin/showmount"), &["-e", "127.0.0.1"]),
        "showmount -e",
    ))
    .into_owned();
    let export = tree.path().display().to_string();
    assert!(
        exports
            .lines()
            .any(|l| l.split_whitespace().next() == Some(export.as_str())),
        "showmount -e does not list {export}:\n{exports}"
    );
    let (mut server, deadline) = (server, Instant::now() + Duration::from_secs(10));
    signal(server.pid(), "-TERM");
    while server.check_running().is_ok() {
        assert!(
            Instant::now() < deadline,
            "nfs3-server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let rpcinfo =
        String::from_utf8_lossy(&run(Path::new("/usr/sbin/rpcinfo"), &["-p", "127.0.0.1"]).stdout)
            .into_owned();
    assert!(
        !rpcinfo.contains(&format!(" {port} ")),
        "nfs3-server's entries stay after it stopped:\n{rpcinfo}"
    );
}

#[test]
fn nfs3_client_reads_a_large_tree_from_nfs3_server() {
    let tree = Tree::new(10_000, 64 * 1024 * 1024);
    let (_server, port) = start_nfs3_server(tree.path(), false);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for transport in [Transport::Tcp, Transport::Udp] {
            let options = MountOptions {
                transport,
                mount_port: Some(port),
                ..MountOptions::default()
            };
            let url: NfsUrl = tree.url(Some(port), "dir").parse().expect("url");
            let (session, rest) = Session::mount_url(&url, &options).await.expect("mount");
            let (dir, _) = session.lookup(&rest).await.expect("lookup dir");
            let entries = session
                .read_dir(&dir, &url.path)
                .await
                .expect("readdirplus");
            let mut seen = BTreeSet::new();
            for e in entries.iter().filter(|e| e.name != "." && e.name != "..") {
                let local = std::fs::metadata(tree.path().join("dir").join(&e.name))
                    .expect("listed file exists");
                let attrs = e.attributes.as_ref().expect("READDIRPLUS attributes");
                assert_eq!(attrs.size, local.len(), "{}", e.name);
                seen.insert(e.name.clone());
            }
            assert_eq!(seen, tree.names, "{transport:?}");
            // The whole 64 MiB over TCP; over UDP a part, in datagram-sized READs.
            let want = match transport {
                Transport::Tcp => tree.big.len(),
                Transport::Udp => 2 * 1024 * 1024,
            };
            let (file, attrs) = session
                .lookup(&["big.bin".to_owned()])
                .await
                .expect("lookup");
            assert_eq!(attrs.size, tree.big.len() as u64);
            let read_size = session.read_size().await.expect("fsinfo");
            let mut got = Vec::new();
            session
                .read_file(&file, want as u64, read_size, "big.bin", &mut got)
                .await
                .expect("read");
            assert!(got == tree.big[..want], "{transport:?}: bytes differ");
        }
    });
}

#[test]
fn nfs3_client_reaches_ganesha_through_the_broker() {
    let _rpcbind = RpcbindDaemon::start();
    let tree = Tree::new(500, 2 * 1024 * 1024);
    let _ganesha = Ganesha::start(tree.path());
    let broker = start_broker(&format!(
        "[backends.ganesha]\naddress = \"tcp://127.0.0.1:{NFS_PORT}\"\n\n\
         [[routes]]\nprogram = 100003\nversions = [3]\nbackend = \"ganesha\"\n"
    ));
    let Endpoint::Tcp(addr) = &broker.tcp else {
        unreachable!("the broker's TCP listener")
    };
    let mount_port = MOUNT_PORT.to_string();
    let via_broker = |cmd: &str, rest: &str| {
        client(&[
            "--mount-port",
            &mount_port,
            cmd,
            &tree.url(Some(addr.port()), rest),
        ])
    };
    let names = stdout_ok(&via_broker("ls", "dir"), "nfs3-client ls via the broker");
    assert_eq!(lines(&names), tree.names);
    let bytes = stdout_ok(
        &via_broker("cat", "big.bin"),
        "nfs3-client cat via the broker",
    );
    assert!(bytes == tree.big, "big.bin through the broker differs");
}
