//! Shared helpers for the interop tests: the C peer harness
//! ([`c_peer`]) used by the interop and broker tests, the interop
//! protocol's peers ([`interop`]), NFS-Ganesha for NFS tests
//! ([`ganesha`]), a throwaway Kerberos realm for RPCSEC_GSS tests
//! ([`kdc`]), the system's rpcbind for a test ([`rpcbind_daemon`]),
//! the workspace's daemons built for a test or benchmark
//! ([`workspace_bins`]), and the broker's load generator ([`load`],
//! binary `broker-load`).

pub mod c_peer;
pub mod ganesha;
pub mod interop;
pub mod kdc;
pub mod load;
pub mod rpcbind_daemon;
pub mod workspace_bins;
