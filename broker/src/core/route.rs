//! The first routing decision, sans-IO: a [`RoutingTable`] built from the
//! configuration plus a call's fixed header ([`CallPeek`]) give a
//! [`Decision`]: which route (program and version) serves the call, or the
//! reply the broker gives by itself. Choosing a backend within the route's
//! pool (key hashing, failover) is the [`core`](crate::core)'s job.

use rpc_runtime::message::{CallPeek, RPC_VERSION};
use std::collections::HashMap;

use crate::core::HandleMap;

/// Index of a backend in the broker's backend list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BackendId(pub usize);

/// Index of a route in the broker's route list (the `[[routes]]` order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId(pub usize);

/// One routing rule: calls to `program` (at one of `versions`, or any
/// version when `versions` is empty) take route `route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The program number.
    pub program: u32,
    /// The versions this rule covers; empty means every version.
    pub versions: Vec<u32>,
    /// The route the calls take.
    pub route: RouteId,
}

/// What to do with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Forward the call along `route`.
    Forward {
        /// The route.
        route: RouteId,
    },
    /// Answer with MSG_DENIED / RPC_MISMATCH (RFC 5531 section 9): the
    /// caller does not speak RPC version 2.
    RpcMismatch {
        /// Lowest RPC version supported.
        low: u32,
        /// Highest RPC version supported.
        high: u32,
    },
    /// Answer with PROG_UNAVAIL: no route for this program.
    ProgUnavail,
    /// Answer with PROG_MISMATCH: the program is routed, but not at this
    /// version.
    ProgMismatch {
        /// Lowest version routed.
        low: u32,
        /// Highest version routed.
        high: u32,
    },
}

#[derive(Debug, Clone, Default)]
struct ProgramRoutes {
    /// (version, route) for rules naming versions.
    versions: Vec<(u32, RouteId)>,
    /// A rule covering every version, if any.
    any: Option<RouteId>,
}

/// Why a set of rules does not make a routing table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoutingError {
    /// Two rules cover the same program and version.
    #[error("rules {first} and {second} both route program {program:#x} version {version}")]
    Overlap {
        /// Index of the earlier rule.
        first: usize,
        /// Index of the later rule.
        second: usize,
        /// The program.
        program: u32,
        /// The version both cover (`*` when both cover every version).
        version: String,
    },
    /// A rule names a route index outside the route list.
    #[error("rule {rule} names route {route}, but there are only {count} routes")]
    NoSuchRoute {
        /// Index of the rule.
        rule: usize,
        /// The route index named.
        route: usize,
        /// The number of routes.
        count: usize,
    },
}

/// The broker's routes: program (and version) to route.
#[derive(Debug, Clone, Default)]
pub struct RoutingTable {
    programs: HandleMap<u32, ProgramRoutes>,
}

impl RoutingTable {
    /// Builds a table from `rules`, with `route_count` routes.
    ///
    /// # Errors
    ///
    /// [`RoutingError::Overlap`] when two rules cover one program and
    /// version; [`RoutingError::NoSuchRoute`].
    pub fn new(rules: &[Rule], route_count: usize) -> Result<Self, RoutingError> {
        let mut programs: HandleMap<u32, ProgramRoutes> = HandleMap::default();
        let mut owner: HashMap<(u32, Option<u32>), usize> = HashMap::new();
        for (i, rule) in rules.iter().enumerate() {
            if rule.route.0 >= route_count {
                return Err(RoutingError::NoSuchRoute {
                    rule: i,
                    route: rule.route.0,
                    count: route_count,
                });
            }
            let keys: Vec<Option<u32>> = if rule.versions.is_empty() {
                vec![None]
            } else {
                rule.versions.iter().copied().map(Some).collect()
            };
            for key in keys {
                if let Some(&first) = owner.get(&(rule.program, key)) {
                    return Err(RoutingError::Overlap {
                        first,
                        second: i,
                        program: rule.program,
                        version: key.map_or_else(|| "*".to_owned(), |v| v.to_string()),
                    });
                }
                owner.insert((rule.program, key), i);
                let p = programs.entry(rule.program).or_default();
                match key {
                    Some(v) => p.versions.push((v, rule.route)),
                    None => p.any = Some(rule.route),
                }
            }
        }
        Ok(RoutingTable { programs })
    }

    /// Decides what to do with a call: forward it, or answer it from the
    /// broker (RPC_MISMATCH, PROG_UNAVAIL, PROG_MISMATCH). Rules naming the
    /// call's version win over a rule covering every version.
    pub fn decide(&self, call: &CallPeek) -> Decision {
        if call.rpcvers != RPC_VERSION {
            return Decision::RpcMismatch {
                low: RPC_VERSION,
                high: RPC_VERSION,
            };
        }
        let Some(p) = self.programs.get(&call.program) else {
            return Decision::ProgUnavail;
        };
        let hit = p
            .versions
            .iter()
            .find(|(v, _)| *v == call.version)
            .map(|&(_, r)| r)
            .or(p.any);
        match hit {
            Some(route) => Decision::Forward { route },
            None => {
                let low = p.versions.iter().map(|v| v.0).min().unwrap_or(0);
                let high = p.versions.iter().map(|v| v.0).max().unwrap_or(0);
                Decision::ProgMismatch { low, high }
            }
        }
    }

    /// True when no program is routed.
    pub fn is_empty(&self) -> bool {
        self.programs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(program: u32, version: u32) -> CallPeek {
        CallPeek {
            xid: 1,
            rpcvers: 2,
            program,
            version,
            procedure: 0,
        }
    }

    fn rule(program: u32, versions: &[u32], route: usize) -> Rule {
        Rule {
            program,
            versions: versions.to_vec(),
            route: RouteId(route),
        }
    }

    #[test]
    fn routes_by_program_and_version() {
        let t = RoutingTable::new(
            &[rule(10, &[1, 2], 0), rule(10, &[3], 1), rule(20, &[], 2)],
            3,
        )
        .unwrap();
        let fwd = |r| Decision::Forward { route: RouteId(r) };
        assert_eq!(t.decide(&call(10, 1)), fwd(0));
        assert_eq!(t.decide(&call(10, 2)), fwd(0));
        assert_eq!(t.decide(&call(10, 3)), fwd(1));
        assert_eq!(
            t.decide(&call(10, 4)),
            Decision::ProgMismatch { low: 1, high: 3 }
        );
        assert_eq!(t.decide(&call(20, 99)), fwd(2));
        assert_eq!(t.decide(&call(30, 1)), Decision::ProgUnavail);
    }

    #[test]
    fn specific_version_beats_catch_all() {
        let t = RoutingTable::new(&[rule(10, &[], 0), rule(10, &[2], 1)], 2).unwrap();
        assert!(matches!(
            t.decide(&call(10, 2)),
            Decision::Forward { route: RouteId(1) }
        ));
        assert!(matches!(
            t.decide(&call(10, 7)),
            Decision::Forward { route: RouteId(0) }
        ));
    }

    #[test]
    fn wrong_rpc_version_is_rpc_mismatch() {
        let t = RoutingTable::new(&[rule(10, &[], 0)], 1).unwrap();
        let mut c = call(10, 1);
        c.rpcvers = 3;
        assert_eq!(t.decide(&c), Decision::RpcMismatch { low: 2, high: 2 });
    }

    #[test]
    fn overlapping_rules_are_refused() {
        let e = RoutingTable::new(&[rule(10, &[1, 2], 0), rule(10, &[2], 0)], 1).unwrap_err();
        assert_eq!(
            e,
            RoutingError::Overlap {
                first: 0,
                second: 1,
                program: 10,
                version: "2".into()
            }
        );
        assert!(RoutingTable::new(&[rule(10, &[], 0), rule(10, &[], 0)], 1).is_err());
        assert!(matches!(
            RoutingTable::new(&[rule(10, &[], 3)], 1),
            Err(RoutingError::NoSuchRoute { .. })
        ));
    }
}
