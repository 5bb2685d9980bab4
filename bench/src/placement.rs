//! CPU placement of the benchmark's processes with `taskset`, the same for
//! our code and the C peer (on 2 cores, where the client and server run
//! decides small-call latency more than the code does).

use std::ffi::OsStr;
use std::process::Command;

/// Which process runs where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Placement {
    /// Servers on CPU 0, clients (and codec loops) on CPU 1 (default).
    #[default]
    Split,
    /// Everything on CPU 0.
    Same,
    /// No pinning: the scheduler decides.
    None,
}

/// The role of a process, for [`Placement::command`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An RPC server or the TCP stream sink.
    Server,
    /// An RPC client, the TCP stream source, or a codec loop.
    Client,
}

impl Placement {
    /// The `taskset -c` CPU list for `role`, if pinned. On a machine
    /// with one CPU, [`Placement::Split`] pins everything to CPU 0.
    pub fn cpus(self, role: Role) -> Option<&'static str> {
        let one_cpu = std::thread::available_parallelism().map_or(true, |n| n.get() < 2);
        match (self, role) {
            (Placement::Split, _) if one_cpu => Some("0"),
            (Placement::Split, Role::Server) | (Placement::Same, _) => Some("0"),
            (Placement::Split, Role::Client) => Some("1"),
            (Placement::None, _) => None,
        }
    }

    /// A command that runs `program` pinned for `role` (`taskset -c CPUS
    /// program`, which execs it: the child's pid is the program's).
    pub fn command(self, role: Role, program: impl AsRef<OsStr>) -> Command {
        match self.cpus(role) {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }

    /// A short description for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Placement::Split => {
                "servers pinned to CPU 0, clients and codec loops to CPU 1 (taskset)"
            }
            Placement::Same => "everything pinned to CPU 0 (taskset)",
            Placement::None => "not pinned",
        }
    }
}
