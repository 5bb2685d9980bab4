//! `security-bench`: what RPCSEC_GSS and RPC-over-TLS cost, in one run:
//! `DS_NULL` calls (one in flight) and 1 MiB `DS_GET` reads from a
//! `datastore` server in this process, with AUTH_SYS, with RPCSEC_GSS at
//! `krb5`, `krb5i` and `krb5p` (against a throwaway Kerberos realm,
//! `interop_tests::kdc`) and with AUTH_SYS over RPC-over-TLS (RFC 9289,
//! a self-signed certificate made by `rcgen` for the run), all over
//! loopback TCP to the same listener. Passes of the flavors interleave;
//! medians are printed.
//!
//! ```text
//! cargo run --release -p interop-tests --bin security-bench -- --passes 5 --secs 0.5
//! ```
//!
//! See `docs/GSS.md` for the figures.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use datastore::proto::{
    DatastoreV1Client, DsGetArgs, DsGetRes, DsPutArgs, DsPutRes, DATASTORE, DATASTORE_V1,
};
use datastore::{Store, StoreLimits};
use interop_tests::kdc::{Kdc, SERVICE};
use rpc_runtime::gss::{ClientGss, GssService, ServerGss};
use rpc_runtime::message::{AuthSysParams, Credentials};
use rpc_runtime::tls::rustls::pki_types::PrivatePkcs8KeyDer;
use rpc_runtime::tls::{ClientTls, ServerTls};
use rpc_runtime::Client;
use xdr_codec::XdrString;

/// Bytes of one read.
const READ_BYTES: usize = 1024 * 1024;

/// RPCSEC_GSS and RPC-over-TLS cost against AUTH_SYS (loopback only).
#[derive(Debug, Parser)]
#[command(name = "security-bench", version)]
struct Args {
    /// Passes of each flavor; the median is printed.
    #[arg(long, default_value_t = 5)]
    passes: usize,
    /// Seconds of each measurement.
    #[arg(long, default_value_t = 0.5)]
    secs: f64,
}

/// A flavor measured: its name and the client handle settings.
#[derive(Debug, Clone, Copy)]
enum Flavor {
    Sys,
    Gss(GssService),
    Tls,
}

impl Flavor {
    fn name(self) -> String {
        match self {
            Flavor::Sys => "AUTH_SYS".to_owned(),
            Flavor::Gss(s) => format!("RPCSEC_GSS {}", s.krb5_name()),
            Flavor::Tls => "AUTH_SYS over TLS 1.3".to_owned(),
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    Kdc::shared();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("security-bench: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("security-bench: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let gss = ServerGss::new(Some(SERVICE))?;
    let store = Arc::new(Store::new(StoreLimits::default()));
    let server = datastore::server_builder(store).gss(gss).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (server_tls, client_tls) = tls_pair()?;
    // Serves plain calls too: every flavor uses this one listener.
    tokio::spawn(async move { server.serve_tcp_tls(listener, server_tls).await });
    let flavors = [
        Flavor::Sys,
        Flavor::Gss(GssService::None),
        Flavor::Gss(GssService::Integrity),
        Flavor::Gss(GssService::Privacy),
        Flavor::Tls,
    ];
    let mut clients = Vec::new();
    for flavor in flavors {
        clients.push((flavor, client(addr, flavor, &client_tls).await?));
    }
    clients[0]
        .1
        .ds_put(&DsPutArgs {
            key: XdrString::from_bytes("object"),
            offset: 0,
            truncate: true,
            data: vec![7u8; READ_BYTES].into(),
        })
        .await
        .map_err(|e| format!("PUT: {e}"))
        .and_then(|r| match r {
            DsPutRes::DsOk(_) => Ok(()),
            other => Err(format!("PUT: {other:?}")),
        })?;
    let span = Duration::from_secs_f64(args.secs);
    let mut null = vec![Vec::new(); flavors.len()];
    let mut read = vec![Vec::new(); flavors.len()];
    for _ in 0..args.passes.max(1) {
        for (i, (_, ds)) in clients.iter().enumerate() {
            null[i].push(null_rate(ds, span).await?);
            read[i].push(read_rate(ds, span).await?);
        }
    }
    println!("| flavor | NULL calls/s (1 in flight) | 1 MiB READ MiB/s (1 in flight) |");
    println!("|---|---:|---:|");
    for (i, (flavor, _)) in clients.iter().enumerate() {
        println!(
            "| {} | {:.0} | {:.0} |",
            flavor.name(),
            median(&mut null[i]),
            median(&mut read[i])
        );
    }
    Ok(())
}

/// A server and a client TLS configuration sharing one self-signed
/// certificate for `localhost`.
fn tls_pair() -> Result<(ServerTls, ClientTls), Box<dyn std::error::Error>> {
    let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let cert = issued.cert.der().clone();
    let key = PrivatePkcs8KeyDer::from(issued.key_pair.serialize_der()).into();
    let server = ServerTls::new(vec![cert.clone()], key)?;
    let client = ClientTls::new(vec![cert], "localhost")?;
    Ok((server, client))
}

async fn client(
    addr: SocketAddr,
    flavor: Flavor,
    tls: &ClientTls,
) -> Result<DatastoreV1Client, Box<dyn std::error::Error>> {
    let sys = Credentials::Sys(AuthSysParams {
        stamp: 1,
        machine_name: "bench".into(),
        uid: 1000,
        gid: 1000,
        gids: vec![],
    });
    let handle = match flavor {
        Flavor::Sys => Client::connect_tcp(addr).await?.with_credentials(&sys)?,
        Flavor::Gss(service) => Client::connect_tcp(addr)
            .await?
            .with_gss(&ClientGss::new(SERVICE).service(service))?,
        Flavor::Tls => Client::builder()
            .connect_tls(addr, DATASTORE, DATASTORE_V1, tls)
            .await?
            .with_credentials(&sys)?,
    };
    let ds = DatastoreV1Client::new(handle);
    // Makes the context (RPCSEC_GSS) before the clock starts.
    ds.ds_null().await?;
    Ok(ds)
}

async fn null_rate(
    ds: &DatastoreV1Client,
    span: Duration,
) -> Result<f64, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < span {
        ds.ds_null().await?;
        calls += 1;
    }
    Ok(calls as f64 / start.elapsed().as_secs_f64())
}

async fn read_rate(
    ds: &DatastoreV1Client,
    span: Duration,
) -> Result<f64, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut bytes = 0usize;
    while start.elapsed() < span {
        let got = ds
            .ds_get(&DsGetArgs {
                key: XdrString::from_bytes("object"),
                offset: 0,
                count: READ_BYTES as u32,
            })
            .await?;
        let DsGetRes::DsOk(ok) = got else {
            return Err(format!("GET: {got:?}").into());
        };
        bytes += ok.data.len();
    }
    Ok(bytes as f64 / (1024.0 * 1024.0) / start.elapsed().as_secs_f64())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
