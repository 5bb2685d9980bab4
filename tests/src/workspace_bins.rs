//! The workspace's daemons and tools (`broker`, `datastore-server`,
//! `nfs3-server`, `nfs3-client`) as executables,
//! built for a test or benchmark with the same cargo, profile and target
//! directory as the program that asks, so that they are the code under
//! test and not some older build.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Paths of the built daemons.
#[derive(Debug, Clone)]
pub struct WorkspaceBins {
    /// `broker`.
    pub broker: PathBuf,
    /// `datastore-server`.
    pub datastore_server: PathBuf,
    /// `nfs3-server`.
    pub nfs3_server: PathBuf,
    /// `nfs3-client`.
    pub nfs3_client: PathBuf,
}

/// The `<target>/<profile>` directory of the running program: its own
/// directory, or the one above `deps/` for a test executable.
///
/// # Errors
///
/// The error of [`std::env::current_exe`], or [`io::ErrorKind::NotFound`]
/// for an executable with no parent directory.
pub fn profile_dir() -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} has no directory", exe.display()),
        )
    })?;
    let dir = match (dir.file_name(), dir.parent()) {
        (Some(name), Some(parent)) if name == "deps" => parent,
        _ => dir,
    };
    Ok(dir.to_path_buf())
}

/// Builds (or finds up to date) the daemons and tools of [`WorkspaceBins`] into the
/// target directory that holds `profile_dir` (see [`profile_dir`]), in
/// release mode when that is `release`, with the cargo that runs this
/// program (`$CARGO`, else `cargo` on the path).
///
/// # Errors
///
/// [`io::Error`] when cargo cannot run, or (kind `Other`) when the build
/// fails, with cargo's output.
pub fn build_workspace_bins(profile_dir: &Path) -> io::Result<WorkspaceBins> {
    let target_dir = profile_dir.parent().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} has no target directory", profile_dir.display()),
        )
    })?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "oncrpc-broker",
        "-p",
        "oncrpc-datastore",
        "-p",
        "nfs3",
        "--bins",
    ])
    .arg("--target-dir")
    .arg(target_dir)
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "cargo build -p oncrpc-broker -p oncrpc-datastore -p nfs3 --bins: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(WorkspaceBins {
        broker: profile_dir.join("broker"),
        datastore_server: profile_dir.join("datastore-server"),
        nfs3_server: profile_dir.join("nfs3-server"),
        nfs3_client: profile_dir.join("nfs3-client"),
    })
}
