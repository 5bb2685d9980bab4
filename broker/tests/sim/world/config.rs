//! The core's configuration for a scenario.

use std::collections::BTreeMap;

use broker::core::route::{RoutingTable, Rule};
use broker::core::{
    Access, BackendId, BackendSpec, CoreConfig, CoreLimits, KeyRule, MissRule, ProcedurePolicy,
    RouteId, RoutePlan, Supervision,
};
use std::time::Duration;

use super::{SECOND_PROGRAM, SHORT_TIMEOUT, TIMEOUT};
use crate::scenario::Scenario;
use crate::wire::{NOENT, PROGRAM};

pub(super) fn config(s: &Scenario) -> CoreConfig {
    let mut names: Vec<String> = (0..s.pool).map(|i| format!("store{i}")).collect();
    names.push("other".into());
    let backends = names
        .iter()
        .enumerate()
        .map(|(i, name)| BackendSpec {
            name: name.clone(),
            connections: s.connections,
            health_check: if i < s.pool {
                (PROGRAM, 1)
            } else {
                (SECOND_PROGRAM, 1)
            },
        })
        .collect();
    let policy = |idempotent, keyed, timeout, access| ProcedurePolicy {
        idempotent,
        keyed,
        timeout,
        access,
    };
    let main = RoutePlan {
        pool: (0..s.pool).map(BackendId).collect(),
        replicas: s.replicas,
        key: Some(KeyRule::FirstOpaque { max_bytes: 1024 }),
        timeout: TIMEOUT,
        retries: s.retries,
        attempt_timeout: s.attempt_timeout,
        min_acks: s.min_acks,
        miss: Some(MissRule { status: NOENT }),
        procedures: [
            (0, policy(true, false, None, Access::Read)),
            (1, policy(false, true, None, Access::Write)),
            (2, policy(true, true, None, Access::Read)),
            (3, policy(false, true, Some(SHORT_TIMEOUT), Access::Write)),
        ]
        .into_iter()
        .collect(),
    };
    let second = RoutePlan {
        pool: vec![BackendId(s.pool)],
        replicas: 1,
        key: None,
        timeout: TIMEOUT,
        retries: 0,
        attempt_timeout: None,
        min_acks: 1,
        miss: None,
        procedures: BTreeMap::new(),
    };
    let rules = [
        Rule {
            program: PROGRAM,
            versions: vec![1],
            route: RouteId(0),
        },
        Rule {
            program: SECOND_PROGRAM,
            versions: vec![],
            route: RouteId(1),
        },
    ];
    CoreConfig {
        backends,
        routes: vec![main, second],
        table: RoutingTable::new(&rules, 2).expect("valid rules"),
        limits: CoreLimits {
            max_in_flight_per_client: s.max_in_flight_per_client,
            max_in_flight_per_backend: s.max_in_flight_per_backend,
        },
        supervision: Supervision {
            connect_timeout: Duration::from_millis(300),
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(1000),
            health_interval: Duration::from_millis(200),
            health_timeout: Duration::from_millis(150),
            eject_after_failures: 3,
            max_restarts: 10,
            restart_window: Duration::from_secs(1),
        },
        seed: s.seed,
    }
}
