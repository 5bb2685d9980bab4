//! Tests of draining and reconfiguring a running core.

use std::time::Instant;

use super::tests::{call, config, connected, names, reply, transmits, MS};
use super::*;

fn rank(key: &str) -> Vec<usize> {
    hrw::rank(key.as_bytes(), &names())
}

#[test]
fn a_drained_backend_gets_no_new_calls_and_its_keys_go_to_the_replica() {
    let now = Instant::now();
    let (mut core, conns) = connected(config(2, 0), now);
    let c = core.add_client();
    let order = rank("k");
    let (first, second) = (BackendId(order[0]), BackendId(order[1]));
    // In flight on the primary before the drain.
    core.handle_client_call(now, c, call(1, 2, "k"));
    let before = transmits(&mut core);
    assert_eq!(before[0].destination, Destination::Backend(conns[first.0]));
    assert!(core.drain(now, first, true));
    assert!(core.backend_status(first).is_some_and(|s| s.drained));
    core.handle_client_call(now, c, call(2, 2, "k"));
    let after = transmits(&mut core);
    assert_eq!(after[0].destination, Destination::Backend(conns[second.0]));
    // The call in flight on the drained backend still gets its reply.
    core.handle_backend_reply(now, conns[first.0], reply(before[0].xid, 5));
    let back = transmits(&mut core);
    assert_eq!(
        (back[0].destination, back[0].xid),
        (Destination::Client(c), 1)
    );
    // Undrained: the key is back on its primary.
    assert!(core.drain(now, first, false));
    core.handle_client_call(now, c, call(3, 2, "k"));
    assert_eq!(
        transmits(&mut core)[0].destination,
        Destination::Backend(conns[first.0])
    );
    assert!(!core.drain(now, BackendId(99), true), "no such backend");
}

#[test]
fn reconfigure_keeps_calls_in_flight_and_retires_removed_backends() {
    let now = Instant::now();
    let (mut core, conns) = connected(config(1, 0), now);
    let c = core.add_client();
    let key = "k";
    let owner = BackendId(rank(key)[0]);
    core.handle_client_call(now, c, call(1, 1, key));
    let sent = transmits(&mut core);
    assert_eq!(sent[0].destination, Destination::Backend(conns[owner.0]));

    // The new configuration drops the owner of "k" and adds "d".
    let mut new = config(1, 0);
    let removed = names()[owner.0].clone();
    new.backends.retain(|b| b.name != removed);
    new.backends.push(BackendSpec {
        name: "d".into(),
        health_check: (0x2000_DA7A, 1),
        connections: 1,
    });
    new.routes[0].pool = (0..new.backends.len()).map(BackendId).collect();
    let done = core.reconfigure(now, new, |_, _| true);
    assert_eq!(done.retired, vec![owner]);
    assert_eq!(done.added, vec![BackendId(3)]);
    assert_eq!(done.backends.len(), 3);
    assert!(!done.backends.contains(&owner));
    let events: Vec<Event> = std::iter::from_fn(|| core.poll_event()).collect();
    let new_conn = events.iter().find_map(|e| match e {
        Event::Connect { backend, conn } if *backend == BackendId(3) => Some(*conn),
        _ => None,
    });
    let new_conn = new_conn.expect("the added backend is connected");
    assert!(
        !events.iter().any(|e| *e
            == Event::CloseBackend {
                conn: conns[owner.0]
            }),
        "the retired backend stays open while a call is in flight"
    );
    core.handle_backend_connected(now, new_conn);

    // New calls never go to the retired backend.
    for (i, k) in ["k", "x", "y", "z", "w"].iter().enumerate() {
        core.handle_client_call(now, c, call(10 + i as u32, 1, k));
    }
    for t in transmits(&mut core) {
        assert_ne!(t.destination, Destination::Backend(conns[owner.0]));
    }
    // The call in flight on it is answered, then its connection closes.
    core.handle_backend_reply(now + MS, conns[owner.0], reply(sent[0].xid, 7));
    let back = transmits(&mut core);
    assert!(back
        .iter()
        .any(|t| t.destination == Destination::Client(c) && t.xid == 1));
    let events: Vec<Event> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(events.contains(&Event::CloseBackend {
        conn: conns[owner.0]
    }));
    assert_eq!(core.backend_by_name(&removed), None);
    // Not supervised any more: no reconnection, however long we wait.
    core.handle_timeout(now + 10_000 * MS);
    assert!(!std::iter::from_fn(|| core.poll_event())
        .any(|e| matches!(e, Event::Connect { backend, .. } if backend == owner)));
}

#[test]
fn reconfigure_with_the_same_backends_keeps_their_connections() {
    let now = Instant::now();
    let (mut core, _) = connected(config(1, 0), now);
    let mut new = config(2, 1);
    new.routes[0].timeout = 5 * MS;
    let done = core.reconfigure(now, new, |_, _| true);
    assert!(done.added.is_empty() && done.retired.is_empty());
    assert_eq!(
        done.backends,
        vec![BackendId(0), BackendId(1), BackendId(2)]
    );
    assert!(!std::iter::from_fn(|| core.poll_event())
        .any(|e| matches!(e, Event::Connect { .. } | Event::CloseBackend { .. })));
    assert_eq!(core.config().routes[0].replicas, 2);
    // A changed address (the driver says so) makes a new backend.
    let done = core.reconfigure(now, config(1, 0), |b, _| b != BackendId(1));
    assert_eq!(done.retired, vec![BackendId(1)]);
    assert_eq!(done.added, vec![BackendId(3)]);
}
