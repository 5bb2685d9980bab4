//! The NFS read benchmark: MiB/s of `nfs3-client cat` (the generated NFS
//! client on `rpc-runtime`, many READs in flight on one connection)
//! against libnfs's `nfs-cat`, reading the same file in the same run from
//! NFS-Ganesha and from `nfs3-server`, over TCP on loopback.
//!
//! Each reading is a whole process run, start to exit, with its output
//! sent to `/dev/null`; the table shows the median of the passes, the
//! order of the readers alternating between passes. Needs root, rpcbind,
//! `nfs-ganesha`, `nfs-ganesha-vfs` and `libnfs-utils`.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use interop_tests::c_peer::{free_tcp_port, CServer, Endpoint};
use interop_tests::ganesha::{Ganesha, MOUNT_PORT, NFS_PORT};
use interop_tests::rpcbind_daemon::RpcbindDaemon;
use interop_tests::workspace_bins::{build_workspace_bins, profile_dir};

use crate::stats::median;
use crate::table::{num, Table};
use crate::{BenchError, Result};

/// What to run.
#[derive(Debug, Clone)]
pub struct NfsOptions {
    /// Passes over every reader and server.
    pub passes: usize,
    /// Size of the file read, MiB.
    pub file_mib: usize,
}

/// One reader of one server, its MiB/s in every pass.
#[derive(Debug)]
struct Row {
    server: &'static str,
    reader: &'static str,
    mib_per_sec: Vec<f64>,
}

/// Runs the benchmark; `progress` gets a line per step. Returns the table.
///
/// # Errors
///
/// When a server or tool cannot start, or a reader fails or reads other
/// bytes than the file holds.
pub fn run(opts: &NfsOptions, progress: &mut dyn FnMut(&str)) -> Result<String> {
    let bins = build_workspace_bins(&profile_dir().map_err(|e| BenchError::io("profile dir", e))?)
        .map_err(|e| BenchError::io("building nfs3-client and nfs3-server", e))?;
    let dir = tempfile::tempdir().map_err(|e| BenchError::io("temporary directory", e))?;
    let bytes = opts.file_mib * 1024 * 1024;
    let data: Vec<u8> = (0..bytes)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = dir.path().join("data.bin");
    std::fs::write(&file, &data).map_err(|e| BenchError::io("writing the file", e))?;
    progress("starting rpcbind and NFS-Ganesha");
    let _rpcbind = RpcbindDaemon::start();
    let _ganesha = Ganesha::start(dir.path());
    let port = free_tcp_port()?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut cmd = Command::new(&bins.nfs3_server);
    cmd.arg(dir.path())
        .arg("--no-rpcbind")
        .arg("--listen")
        .arg(addr.to_string());
    let _server = CServer::spawn(cmd, Endpoint::Tcp(addr))?;
    let path = dir.path().join("data.bin");
    let path = path.display();
    let servers: [(&'static str, u16, u16); 2] = [
        ("NFS-Ganesha 4.3", NFS_PORT, MOUNT_PORT),
        ("nfs3-server", port, port),
    ];
    let mut rows = Vec::new();
    for (server, nfs, mount) in servers {
        let ours: Vec<String> = [
            "--mount-port".to_owned(),
            mount.to_string(),
            "cat".to_owned(),
            format!("nfs://127.0.0.1:{nfs}{path}"),
        ]
        .into();
        let libnfs = vec![format!(
            "nfs://127.0.0.1{path}?nfsport={nfs}&mountport={mount}"
        )];
        let readers: [(&'static str, PathBuf, Vec<String>); 2] = [
            ("nfs3-client cat", bins.nfs3_client.clone(), ours),
            ("nfs-cat (libnfs)", PathBuf::from("nfs-cat"), libnfs),
        ];
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); readers.len()];
        for pass in 0..opts.passes {
            for k in 0..readers.len() {
                let i = (k + pass) % readers.len();
                let (name, program, args) = &readers[i];
                progress(&format!("pass {}: {name} from {server}", pass + 1));
                let secs = timed_read(program, args, &file)?;
                times[i].push(opts.file_mib as f64 / secs);
            }
        }
        for ((reader, _, _), mib_per_sec) in readers.into_iter().zip(times) {
            rows.push(Row {
                server,
                reader,
                mib_per_sec,
            });
        }
    }
    let mut t = Table::new(["server", "reader", "MiB/s", "vs nfs-cat"]);
    for pair in rows.chunks(2) {
        let theirs = median(&pair[1].mib_per_sec);
        for r in pair {
            let m = median(&r.mib_per_sec);
            let ratio = m.zip(theirs).map(|(a, b)| a / b);
            t.row([
                r.server.to_owned(),
                r.reader.to_owned(),
                num(m, 0),
                ratio.map_or_else(|| "-".to_owned(), |x| format!("{x:.2}x")),
            ]);
        }
    }
    Ok(t.render())
}

/// Runs `program args` with its output to a temporary file, checks that
/// the output is the file's bytes, and returns the wall time in seconds.
fn timed_read(program: &Path, args: &[String], expected: &Path) -> Result<f64> {
    let out = tempfile::NamedTempFile::new().map_err(|e| BenchError::io("output file", e))?;
    let sink = File::create(out.path()).map_err(|e| BenchError::io("output file", e))?;
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::from(sink))
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| BenchError::io(format!("running {}", program.display()), e))?;
    let secs = start.elapsed().as_secs_f64();
    if !status.status.success() {
        return Err(BenchError::Worker {
            command: format!("{} {}", program.display(), args.join(" ")),
            status: status.status.to_string(),
            output: String::from_utf8_lossy(&status.stderr).into_owned(),
        });
    }
    let (got, want) = (std::fs::read(out.path()), std::fs::read(expected));
    match (got, want) {
        (Ok(g), Ok(w)) if g == w => Ok(secs),
        _ => Err(BenchError::Mismatch(format!(
            "{} did not read back the file's bytes",
            program.display()
        ))),
    }
}
