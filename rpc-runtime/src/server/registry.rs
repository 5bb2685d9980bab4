//! The registered program versions and the lookup that yields
//! PROG_UNAVAIL / PROG_MISMATCH.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::dispatch::Dispatch;
use super::fallback::Fallback;

/// Program number -> version number -> dispatcher.
#[derive(Default, Clone)]
pub(crate) struct Registry {
    programs: BTreeMap<u32, BTreeMap<u32, Arc<dyn Dispatch>>>,
    fallback: Option<Arc<dyn Fallback>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (prog, versions) in &self.programs {
            for vers in versions.keys() {
                list.entry(&(prog, vers));
            }
        }
        list.finish()?;
        if self.fallback.is_some() {
            f.write_str(" + fallback")?;
        }
        Ok(())
    }
}

/// The result of looking up a program version.
pub(crate) enum Lookup<'a> {
    Found(&'a Arc<dyn Dispatch>),
    ProgUnavail,
    ProgMismatch { low: u32, high: u32 },
}

impl Registry {
    /// Adds a dispatcher; one registered earlier for the same program
    /// version is replaced (and a warning logged).
    pub(crate) fn insert(&mut self, d: Arc<dyn Dispatch>) {
        let (prog, vers) = (d.program(), d.version());
        if self
            .programs
            .entry(prog)
            .or_default()
            .insert(vers, d)
            .is_some()
        {
            tracing::warn!(
                program = prog,
                version = vers,
                "program version registered twice; the later registration wins"
            );
        }
    }

    /// Sets the handler for calls to unregistered programs.
    pub(crate) fn set_fallback(&mut self, fallback: Arc<dyn Fallback>) {
        self.fallback = Some(fallback);
    }

    /// The handler for calls to `program`, if it is not registered and a
    /// fallback is set.
    pub(crate) fn fallback_for(&self, program: u32) -> Option<&Arc<dyn Fallback>> {
        let fallback = self.fallback.as_ref()?;
        (!self.programs.contains_key(&program)).then_some(fallback)
    }

    /// Every registered `(program, version)`, sorted.
    pub(crate) fn versions(&self) -> Vec<(u32, u32)> {
        let mut all: Vec<(u32, u32)> = self
            .programs
            .iter()
            .flat_map(|(p, vs)| vs.keys().map(move |v| (*p, *v)))
            .collect();
        all.sort_unstable();
        all
    }

    pub(crate) fn lookup(&self, program: u32, version: u32) -> Lookup<'_> {
        let Some(versions) = self.programs.get(&program) else {
            return Lookup::ProgUnavail;
        };
        if let Some(d) = versions.get(&version) {
            return Lookup::Found(d);
        }
        match (versions.keys().next(), versions.keys().next_back()) {
            (Some(&low), Some(&high)) => Lookup::ProgMismatch { low, high },
            _ => Lookup::ProgUnavail,
        }
    }
}
