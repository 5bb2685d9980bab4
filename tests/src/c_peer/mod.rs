//! Harness for C peers built with the real `rpcgen` and libtirpc.
//!
//! - [`CProgram`] builds a C program from a `.x` spec (through `rpcgen`)
//!   and C sources (through `gcc ... -ltirpc`), cached by content under
//!   this crate's `OUT_DIR`.
//! - [`CServer`] runs a C server on a free loopback TCP port or a Unix
//!   socket, waits until it accepts connections, and kills it on drop.
//! - [`run_with_timeout`] runs a C client to completion with captured output
//!   and a time limit; [`run_with_input`] also feeds it stdin.
//!
//! Missing tools are errors, not skips: [`CPeerError::ToolMissing`] says
//! which packages to install.
//!
//! ```no_run
//! use std::process::Command;
//! use std::time::Duration;
//! use interop_tests::c_peer::{c_source, run_with_timeout, spec_path, CProgram, CServer};
//!
//! let server_bin = CProgram::new("interop_server")
//!     .spec(spec_path("interop.x"))
//!     .rpcgen_flags(["-N", "-M"])
//!     .server_stubs()
//!     .source(c_source("interop_server.c"))
//!     .build()?;
//! let server = CServer::start_tcp(&server_bin, ["-v"])?; // runs `interop_server -v tcp PORT`
//! let addr = server.tcp_addr();
//! // ... connect a Rust client to `addr` ...
//! # let client_bin = server_bin.clone();
//! let out = run_with_timeout(
//!     Command::new(&client_bin).args(["tcp", "127.0.0.1", "1234"]),
//!     Duration::from_secs(30),
//! )?;
//! assert!(out.status.success());
//! # Ok::<(), interop_tests::c_peer::CPeerError>(())
//! ```

mod error;
mod process;
mod program;
mod server;

pub use error::{CPeerError, Result};
pub use process::{run_with_input, run_with_timeout};
pub use program::{c_source, spec_path, workspace_root, CProgram, TIRPC_INCLUDE_DIR};
pub use server::{free_tcp_port, CServer, Endpoint, READY_TIMEOUT};
