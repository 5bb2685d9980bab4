//! [`Registrar`]: the broker's routed program versions registered with
//! the local rpcbind at its listeners, so that an unmodified client's
//! `clnt_create(host, PROG, VERS, "tcp")` (or `"udp"`) finds the broker
//! as it found the server before; kept in step with reloads and removed
//! when the broker stops (config table `[rpcbind]`).

use std::time::Duration;

use rpc_runtime::rpcbind::{connect_local_rpcbind, Endpoint, Registration};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::Config;

/// How long removing the registrations may hold up the broker's stop.
const UNREGISTER_TIMEOUT: Duration = Duration::from_secs(5);

/// The program versions to register: every version named by a route,
/// when `[rpcbind] register` is on (none otherwise). A route without
/// `versions` takes every version, which rpcbind cannot hold: it is left
/// out, with a warning.
pub(crate) fn rpcbind_programs(config: &Config) -> Vec<(u32, u32)> {
    if !config.rpcbind.register {
        return Vec::new();
    }
    let mut programs = Vec::new();
    for r in &config.routes {
        if r.versions.is_empty() {
            tracing::warn!(
                program = r.program,
                "route without `versions` is not registered with rpcbind (it needs version numbers)"
            );
        }
        for &v in &r.versions {
            if !programs.contains(&(r.program, v)) {
                programs.push((r.program, v));
            }
        }
    }
    programs
}

/// The task that owns the broker's rpcbind registration.
#[derive(Debug)]
pub(crate) struct Registrar {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Registrar {
    /// Starts registering the program versions `programs` holds (and
    /// whatever it is changed to, on reload) at `endpoints`.
    pub(crate) fn start(
        endpoints: Vec<Endpoint>,
        programs: watch::Receiver<Vec<(u32, u32)>>,
    ) -> Registrar {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(endpoints, programs, stopped));
        Registrar { stop, task }
    }

    /// Removes every registration (once a change being applied is
    /// done), then returns; gives up after a few seconds without an
    /// answer from rpcbind.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(2 * UNREGISTER_TIMEOUT, &mut task)
            .await
            .is_err()
        {
            tracing::warn!("rpcbind did not answer: registrations may be left in it");
            task.abort();
        }
    }
}

async fn run(
    endpoints: Vec<Endpoint>,
    mut programs: watch::Receiver<Vec<(u32, u32)>>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut state = State {
        endpoints,
        registration: None,
        warned: false,
    };
    loop {
        let wanted = programs.borrow_and_update().clone();
        state.apply(&wanted).await;
        tokio::select! {
            changed = programs.changed() => if changed.is_err() { break },
            _ = &mut stopped => break,
        }
    }
    if let Some(reg) = state.registration.take() {
        match tokio::time::timeout(UNREGISTER_TIMEOUT, reg.unregister()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "removing the rpcbind registrations failed"),
            Err(_) => tracing::warn!("rpcbind did not answer: registrations left in it"),
        }
    }
}

struct State {
    endpoints: Vec<Endpoint>,
    registration: Option<Registration>,
    /// The warning that rpcbind is not running was given.
    warned: bool,
}

impl State {
    /// Makes the registered program versions `wanted`.
    async fn apply(&mut self, wanted: &[(u32, u32)]) {
        if wanted.is_empty() {
            if let Some(reg) = self.registration.take() {
                if let Err(e) = reg.unregister().await {
                    tracing::warn!(error = %e, "removing the rpcbind registrations failed");
                }
            }
            return;
        }
        if let Some(reg) = &mut self.registration {
            if let Err(e) = reg.update(wanted).await {
                tracing::warn!(error = %e, "updating the rpcbind registrations failed");
            }
            return;
        }
        let client = match connect_local_rpcbind().await {
            Ok(c) => c,
            Err(e) if !self.warned => {
                self.warned = true;
                tracing::warn!(
                    error = %e,
                    "rpcbind is not running: the broker serves, but clients that look it up \
                     through rpcbind (clnt_create) cannot find it; start rpcbind and reload, \
                     or set `register = false` under [rpcbind]"
                );
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, "rpcbind still not reachable");
                return;
            }
        };
        match Registration::register(client, wanted, &self.endpoints).await {
            Ok(reg) => {
                tracing::info!(entries = reg.entries().len(), "registered with rpcbind");
                self.registration = Some(reg);
            }
            Err(e) => tracing::warn!(error = %e, "registering with rpcbind failed"),
        }
    }
}
