//! `nfs3-client`: list, inspect and read files on an NFSv3 server, built
//! only from the generated NFS and MOUNT stubs and `rpc-runtime`.
//!
//! ```text
//! nfs3-client ls   nfs://HOST[:PORT]/EXPORT/DIR      # one name per line
//! nfs3-client stat nfs://HOST[:PORT]/EXPORT/PATH     # type, mode, size, times
//! nfs3-client cat  nfs://HOST[:PORT]/EXPORT/FILE     # bytes to stdout
//! nfs3-client get  nfs://HOST[:PORT]/EXPORT/FILE [LOCAL]
//! ```
//!
//! Ports come from the server's rpcbind unless given (`:PORT` for NFS,
//! `--mount-port`); `--udp` uses UDP; AUTH_SYS carries the caller's uid and
//! gid unless `--uid`/`--gid` say otherwise. Errors name the NFS status and
//! the path (`NFS3ERR_NOENT: no such file or directory: /export/x`); the
//! exit status is 1.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use nfs3::nfs::{Fattr3, Ftype3};
use nfs3::{MountOptions, Nfs3Error, NfsUrl, Session, Transport};

#[derive(Debug, Parser)]
#[command(
    name = "nfs3-client",
    version,
    about = "An NFSv3 client (RFC 1813) over TCP or UDP"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Use UDP instead of TCP.
    #[arg(long, global = true)]
    udp: bool,
    /// The MOUNT service's port (default: ask rpcbind).
    #[arg(long, global = true)]
    mount_port: Option<u16>,
    /// AUTH_SYS user id (default: the caller's).
    #[arg(long, global = true)]
    uid: Option<u32>,
    /// AUTH_SYS group id (default: the caller's).
    #[arg(long, global = true)]
    gid: Option<u32>,
    /// Seconds one call may take.
    #[arg(long, global = true, default_value_t = 30)]
    timeout_secs: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List a directory's names, one per line (without `.` and `..`).
    Ls {
        /// nfs://HOST[:PORT]/EXPORT/DIR
        url: NfsUrl,
    },
    /// Show the attributes of a file or directory.
    Stat {
        /// nfs://HOST[:PORT]/EXPORT/PATH
        url: NfsUrl,
    },
    /// Write a file's bytes to standard output.
    Cat {
        /// nfs://HOST[:PORT]/EXPORT/FILE
        url: NfsUrl,
    },
    /// Copy a file to a local path (default: its name, here).
    Get {
        /// nfs://HOST[:PORT]/EXPORT/FILE
        url: NfsUrl,
        /// Where to write it.
        local: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match rpc_runtime::runtime::for_available_cpus() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nfs3-client: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nfs3-client: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Nfs3Error> {
    let options = MountOptions {
        transport: if cli.udp {
            Transport::Udp
        } else {
            Transport::Tcp
        },
        mount_port: cli.mount_port,
        uid: cli.uid.unwrap_or_else(caller_uid),
        gid: cli.gid.unwrap_or_else(caller_gid),
        timeout: Duration::from_secs(cli.timeout_secs),
    };
    let url = match &cli.command {
        Command::Ls { url }
        | Command::Stat { url }
        | Command::Cat { url }
        | Command::Get { url, .. } => url.clone(),
    };
    let (session, components) = Session::mount_url(&url, &options).await?;
    let (fh, attrs) = session.lookup(&components).await?;
    let path = url.path.as_str();
    match cli.command {
        Command::Ls { .. } => {
            let mut names: Vec<String> = session
                .read_dir(&fh, path)
                .await?
                .into_iter()
                .map(|e| e.name)
                .filter(|n| n != "." && n != "..")
                .collect();
            names.sort();
            let mut out = String::new();
            for n in names {
                out.push_str(&n);
                out.push('\n');
            }
            write_stdout(out.as_bytes()).await
        }
        Command::Stat { .. } => write_stdout(describe(path, &attrs).as_bytes()).await,
        Command::Cat { .. } => {
            let read_size = session.read_size().await?;
            let mut stdout = tokio::io::stdout();
            session
                .read_file(&fh, attrs.size, read_size, path, &mut stdout)
                .await?;
            Ok(())
        }
        Command::Get { local, .. } => {
            let local = local.unwrap_or_else(|| {
                PathBuf::from(components.last().map_or("nfs3-file", String::as_str))
            });
            let read_size = session.read_size().await?;
            let mut file = tokio::fs::File::create(&local).await?;
            session
                .read_file(&fh, attrs.size, read_size, path, &mut file)
                .await?;
            file.sync_all().await?;
            Ok(())
        }
    }
}

async fn write_stdout(bytes: &[u8]) -> Result<(), Nfs3Error> {
    use tokio::io::AsyncWriteExt;
    let mut stdout = tokio::io::stdout();
    stdout.write_all(bytes).await?;
    stdout.flush().await?;
    Ok(())
}

/// `stat`'s output: one `key: value` per line.
fn describe(path: &str, a: &Fattr3) -> String {
    let kind = match a.r#type {
        Ftype3::Nf3reg => "regular file",
        Ftype3::Nf3dir => "directory",
        Ftype3::Nf3blk => "block device",
        Ftype3::Nf3chr => "character device",
        Ftype3::Nf3lnk => "symbolic link",
        Ftype3::Nf3sock => "socket",
        Ftype3::Nf3fifo => "fifo",
    };
    format!(
        "path: {path}\ntype: {kind}\nmode: {:04o}\nnlink: {}\nuid: {}\ngid: {}\nsize: {}\nused: {}\n\
         fileid: {}\natime: {}.{:09}\nmtime: {}.{:09}\nctime: {}.{:09}\n",
        a.mode & 0o7777,
        a.nlink,
        a.uid,
        a.gid,
        a.size,
        a.used,
        a.fileid,
        a.atime.seconds,
        a.atime.nseconds,
        a.mtime.seconds,
        a.mtime.nseconds,
        a.ctime.seconds,
        a.ctime.nseconds,
    )
}

fn caller_uid() -> u32 {
    proc_status_id("Uid:")
}

fn caller_gid() -> u32 {
    proc_status_id("Gid:")
}

/// The effective id on `key`'s line of `/proc/self/status` (0 if absent).
fn proc_status_id(key: &str) -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(2))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
