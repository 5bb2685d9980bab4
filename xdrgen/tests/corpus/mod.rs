//! Where the real-world corpus of `.x` files is. It is not part of the
//! repository: the directory named by `XDRGEN_CORPUS` (CI sets it to
//! `../shared/xdr-corpus`, beside the checkout). Without it, the tests run
//! over the files every machine with the README's packages has
//! (`/usr/include/rpcsvc/*.x`, libtirpc's `rpcb_prot.x`, `specs/`) and say
//! in one line how to run the rest.

use std::io::Write as _;
use std::path::PathBuf;

/// The environment variable that names the corpus directory.
const VAR: &str = "XDRGEN_CORPUS";

/// The corpus directory named by `XDRGEN_CORPUS`, or `None` when it is
/// unset or empty, after one line on stderr (not captured by the test
/// harness) saying that `test` skipped the corpus and how to run it.
///
/// # Panics
///
/// When `XDRGEN_CORPUS` names something that is not a directory: a run
/// that asked for the corpus must not pass without it.
pub(crate) fn dir(test: &str) -> Option<PathBuf> {
    match std::env::var_os(VAR) {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            assert!(d.is_dir(), "{VAR}={} is not a directory", d.display());
            Some(d)
        }
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "{test}: real-world corpus skipped; to run it: {VAR}=/path/to/xdr-corpus cargo test -p oncrpc-xdrgen"
            );
            None
        }
    }
}
