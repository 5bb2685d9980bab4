//! The open-file limit of the load generator (and, inherited, of the
//! processes it starts).

use std::io;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the new
/// soft limit.
///
/// # Errors
///
/// The error of `getrlimit`/`setrlimit`.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    if soft < hard {
        rlimit::Resource::NOFILE.set(hard, hard)?;
    }
    Ok(rlimit::Resource::NOFILE.get()?.0)
}
