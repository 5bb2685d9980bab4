//! Running processes under `valgrind --tool=callgrind` and reading their
//! instruction counts (the `totals:` line of each output file).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{BenchError, Result};
use crate::placement::{Placement, Role};
use crate::process::run_worker;

/// How long a counted run may take: valgrind runs code 20-100 times
/// slower than the CPU.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

/// Where a benchmark's callgrind output files go (a temporary directory),
/// each run's files under a prefix of their own.
#[derive(Debug)]
pub struct Callgrind {
    dir: tempfile::TempDir,
    runs: usize,
}

impl Callgrind {
    /// A fresh output directory.
    ///
    /// # Errors
    ///
    /// [`BenchError::Usage`] if `valgrind` cannot be run,
    /// [`BenchError::Io`] if the directory cannot be made.
    pub fn new() -> Result<Callgrind> {
        let found = Command::new("valgrind")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Err(BenchError::Usage(
                "`bench counts` needs valgrind (Debian package valgrind)".to_owned(),
            ));
        }
        let dir = tempfile::tempdir().map_err(|e| BenchError::io("making a temp dir", e))?;
        Ok(Callgrind { dir, runs: 0 })
    }

    /// A command running `program` under callgrind, pinned for `role`,
    /// writing `PREFIX.PID` files (a process and each child it forks);
    /// add the program's arguments and run it with [`Callgrind::run`]
    /// (or, for a server, read its counts with [`dump`]).
    pub fn command(
        &mut self,
        placement: Placement,
        role: Role,
        program: impl AsRef<OsStr>,
    ) -> (Command, PathBuf) {
        self.runs += 1;
        let prefix = self.dir.path().join(format!("run{}", self.runs));
        let mut cmd = placement.command(role, "valgrind");
        cmd.arg("--tool=callgrind")
            .arg("--quiet")
            .arg(format!("--callgrind-out-file={}.%p", prefix.display()))
            .arg(program);
        (cmd, prefix)
    }

    /// Runs `cmd` (from [`Callgrind::command`]) to completion; its stdout
    /// and the instructions it and its children executed.
    ///
    /// # Errors
    ///
    /// [`BenchError::Worker`] if it fails, [`BenchError::Io`] if its
    /// counts cannot be read.
    pub fn run(cmd: &mut Command, prefix: &Path) -> Result<(String, u64)> {
        let stdout = run_worker(cmd, RUN_TIMEOUT)?;
        Ok((stdout, instructions(prefix)?))
    }
}

/// Asks the callgrind process `pid` to write its counts since its last
/// dump (which zeroes them) and returns them: `callgrind_control --dump`,
/// which writes `PREFIX.PID.N`.
///
/// # Errors
///
/// [`BenchError::Worker`] if `callgrind_control` fails,
/// [`BenchError::Io`] if the dump cannot be read.
pub fn dump(pid: u32, prefix: &Path) -> Result<u64> {
    let before = dump_files(prefix)?;
    let mut cmd = Command::new("callgrind_control");
    cmd.arg("--dump").arg(pid.to_string());
    run_worker(&mut cmd, RUN_TIMEOUT)?;
    // callgrind_control returns once the dump is requested; the file
    // appears when the process next runs its scheduler.
    for _ in 0..600 {
        let files = dump_files(prefix)?;
        if let Some(new) = files.iter().find(|f| !before.contains(f)) {
            std::thread::sleep(Duration::from_millis(100));
            return totals(new);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(BenchError::Mismatch(format!(
        "no callgrind dump of process {pid} appeared"
    )))
}

/// The files `PREFIX.*` (a run's processes, or a process's dumps).
fn dump_files(prefix: &Path) -> Result<Vec<PathBuf>> {
    let dir = prefix.parent().unwrap_or(Path::new("."));
    let stem = prefix
        .file_name()
        .map(|n| format!("{}.", n.to_string_lossy()))
        .unwrap_or_default();
    let entries =
        std::fs::read_dir(dir).map_err(|e| BenchError::io(dir.display().to_string(), e))?;
    Ok(entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&stem))
        })
        .collect())
}

/// The instructions of every process of a run: the sum of the `totals:`
/// lines of the files `PREFIX.*`.
///
/// # Errors
///
/// [`BenchError::Io`] if a file cannot be read, [`BenchError::Mismatch`]
/// if there is none or one has no `totals:` line.
pub fn instructions(prefix: &Path) -> Result<u64> {
    let files = dump_files(prefix)?;
    if files.is_empty() {
        return Err(BenchError::Mismatch(format!(
            "no callgrind output {}.*",
            prefix.display()
        )));
    }
    files.iter().map(|f| totals(f)).sum()
}

/// The `totals:` (or `summary:`) line of one callgrind output file:
/// instructions executed.
fn totals(file: &Path) -> Result<u64> {
    let text =
        std::fs::read_to_string(file).map_err(|e| BenchError::io(file.display().to_string(), e))?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| BenchError::Mismatch(format!("no totals in {}", file.display())))
}
