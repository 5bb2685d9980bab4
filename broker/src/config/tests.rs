use std::path::Path;
use std::time::Duration;

use datastore::Endpoint;

use super::*;
use crate::route::{Decision, RoutingTable};
use rpc_runtime::message::CallPeek;

#[test]
fn embedded_default_is_valid_and_routes_the_datastore() {
    let c = Config::embedded_default().unwrap();
    assert_eq!(c.listen.len(), 2);
    assert!(c.listen.iter().any(|l| matches!(l.0, Endpoint::Unix(_))));
    assert!(c.listen.iter().any(|l| matches!(l.0, Endpoint::Tcp(_))));
    let (rules, backends) = c.rules();
    assert_eq!(
        backends,
        [("datastore", &BackendAddress::Builtin(Builtin::Datastore))]
    );
    let table = RoutingTable::new(&rules, backends.len()).unwrap();
    let call = CallPeek {
        xid: 1,
        rpcvers: 2,
        program: 0x2000_DA7A,
        version: 1,
        procedure: 0,
    };
    assert!(matches!(table.decide(&call), Decision::Forward { .. }));
}

#[test]
fn full_example_parses() {
    let c = Config::from_toml(
        r#"
        listen = ["tcp://127.0.0.1:0", "unix:///tmp/b.sock"]
        [limits]
        max_record_bytes = 1000
        [backends.a]
        address = "tcp://127.0.0.1:7101"
        [backends.b]
        address = "unix://b.sock"
        [[routes]]
        program = 100
        backend = "a"
        [[routes]]
        program = 200
        versions = [1, 2]
        backend = "b"
        timeout_ms = 250
        "#,
    )
    .unwrap();
    assert_eq!(c.limits.max_record_bytes, 1000);
    assert_eq!(c.limits.max_in_flight_per_client, 64);
    let (rules, backends) = c.rules();
    assert_eq!(backends.len(), 2);
    assert_eq!(rules[0].timeout, Duration::from_secs(30));
    assert_eq!(rules[1].timeout, Duration::from_millis(250));
    assert_eq!(backends[rules[1].backend.0].0, "b");

    let resolved = c.resolve_relative_paths(Path::new("/run/x"));
    assert_eq!(
        resolved.backends["b"].address,
        BackendAddress::Endpoint(Endpoint::Unix("/run/x/b.sock".into()))
    );
    assert_eq!(resolved.listen[1].0, Endpoint::Unix("/tmp/b.sock".into()));
}

fn err(text: &str) -> String {
    Config::from_toml(text).unwrap_err().to_string()
}

#[test]
fn errors_name_the_key() {
    let e = err("listen = []");
    assert!(e.contains("listen"), "{e}");
    let e = err("listen = [\"tcp://x:1\"]\n[[routes]]\nprogram = 1\nbackend = \"nope\"");
    assert!(e.contains("routes[0].backend") && e.contains("nope"), "{e}");
    let e = err("listen = [\"udp://x:1\"]");
    assert!(e.contains("udp://x:1") && e.contains("line 1"), "{e}");
    let e = err("listen = [\"tcp://x:1\"]\n[limits]\nmax_records = 5");
    assert!(e.contains("max_records") && e.contains("line 3"), "{e}");
    let e = err("listen = [\"tcp://x:1\"]\n[backends.a]\naddress = \"builtin:nfs\"");
    assert!(e.contains("builtin:") && e.contains("nfs"), "{e}");
    let e = err(
        "listen = [\"tcp://x:1\"]\n[backends.a]\naddress = \"tcp://h:1\"\n\
         [[routes]]\nprogram = 1\nbackend = \"a\"\n[[routes]]\nprogram = 1\nbackend = \"a\"",
    );
    assert!(e.contains("routes") && e.contains("program 1"), "{e}");
    let e = err("listen = [\"tcp://x:1\"]\n[limits]\nmax_in_flight_per_client = 0");
    assert!(e.contains("limits.max_in_flight_per_client"), "{e}");
}
