use std::path::Path;
use std::time::Duration;

use rpc_runtime::Endpoint;

use super::*;
use crate::core::route::{Decision, RoutingTable};
use crate::core::{Access, MissRule};
use rpc_runtime::message::CallPeek;

#[test]
fn embedded_default_is_valid_and_routes_the_datastore() {
    let c = Config::embedded_default().unwrap();
    assert_eq!(c.listen.len(), 3);
    assert!(c
        .listen
        .iter()
        .any(|l| matches!(l.address, ListenAddress::Udp(_))));
    assert!(c.rpcbind.register, "the embedded default registers");
    assert!(c
        .listen
        .iter()
        .any(|l| matches!(l.address, ListenAddress::Stream(Endpoint::Unix(_)))));
    assert!(c
        .listen
        .iter()
        .any(|l| matches!(l.address, ListenAddress::Stream(Endpoint::Tcp(_)))));
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
    let (_, backends) = c.rules();
    assert_eq!(backends.len(), 2);
    let core = c.core_config(1).unwrap();
    assert_eq!(core.routes[0].timeout, Duration::from_secs(30));
    assert_eq!(core.routes[1].timeout, Duration::from_millis(250));
    assert_eq!(backends[core.routes[1].pool[0].0].0, "b");
    assert_eq!(core.routes[1].replicas, 1);
    assert_eq!(core.routes[1].retries, 1);
    assert_eq!(core.backends[1].health_check, (200, 1));

    let resolved = c.resolve_relative_paths(Path::new("/run/x"));
    assert_eq!(
        resolved.backends["b"].address,
        BackendAddress::Endpoint(Endpoint::Unix("/run/x/b.sock".into()))
    );
    assert_eq!(
        resolved.listen[1].address,
        ListenAddress::Stream(Endpoint::Unix("/tmp/b.sock".into()))
    );
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
    let e = err("listen = [\"sctp://x:1\"]");
    assert!(e.contains("sctp://x:1") && e.contains("line 1"), "{e}");
    let e = err("listen = [\"tcp://x:1\"]\n[limits]\nmax_records = 5");
    assert!(e.contains("max_records") && e.contains("line 3"), "{e}");
    let e = err("listen = [\"tcp://x:1\"]\n[backends.a]\naddress = \"builtin:nfs\"");
    assert!(e.contains("builtin:") && e.contains("nfs"), "{e}");
    let e = err(
        "listen = [\"tcp://x:1\"]\n[backends.a]\naddress = \"tcp://h:1\"\n\
         [[routes]]\nprogram = 1\nbackend = \"a\"\n[[routes]]\nprogram = 1\nbackend = \"a\"",
    );
    assert!(e.contains("routes") && e.contains("program 0x1 "), "{e}");
    let e = err("listen = [\"tcp://x:1\"]\n[limits]\nmax_in_flight_per_client = 0");
    assert!(e.contains("limits.max_in_flight_per_client"), "{e}");
}

#[test]
fn example_file_routes_the_datastore_over_three_backends() {
    let text = include_str!("../../broker.example.toml");
    let c = Config::from_toml(text).unwrap();
    assert!(c
        .listen
        .iter()
        .any(|l| l.address == ListenAddress::Stream(Endpoint::Tcp("127.0.0.1:7100".into()))));
    assert!(c
        .listen
        .iter()
        .any(|l| matches!(l.address, ListenAddress::Stream(Endpoint::Unix(_)))));
    let core = c.core_config(0).unwrap();
    let names: Vec<&str> = core.backends.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["store1", "store2", "store3"]);
    let (_, backends) = c.rules();
    for (i, port) in [7101, 7102, 7103].into_iter().enumerate() {
        assert_eq!(
            backends[i].1,
            &BackendAddress::Endpoint(Endpoint::Tcp(format!("127.0.0.1:{port}")))
        );
    }
    let route = &core.routes[0];
    assert_eq!(route.pool.len(), 3);
    assert_eq!(route.replicas, 2);
    assert!(route.key.is_some());
    assert!(route.policy(2).idempotent && route.policy(2).keyed);
    assert!(!route.policy(1).idempotent);
    assert!(!route.policy(4).keyed);
    assert_eq!(route.policy(0).timeout, Some(Duration::from_secs(1)));
    // Every datastore procedure is classed; writes need one ack, and
    // DS_NOENT (2) is a miss.
    let classes: Vec<Access> = (0..5).map(|p| route.policy(p).access).collect();
    use Access::{Read, Write};
    assert_eq!(classes, [Read, Write, Read, Write, Read]);
    assert_eq!(route.min_acks, 1);
    assert_eq!(route.miss, Some(MissRule { status: 2 }));
    assert_eq!(core.supervision.eject_after_failures, 3);
    assert_eq!(core.backends[0].health_check, (0x2000_DA7A, 1));
    assert!(core.backends.iter().all(|b| b.connections == 2));
}

#[test]
fn pool_errors_name_the_key_and_line() {
    let head = "listen = [\"tcp://x:1\"]\n[backends.a]\naddress = \"tcp://h:1\"\n[backends.b]\naddress = \"tcp://h:2\"\n[[routes]]\nprogram = 1\n";
    let e = err(&format!("{head}pool = [\"a\", \"zz\"]\n"));
    assert!(
        e.contains("routes[0].pool (line 8)") && e.contains("zz"),
        "{e}"
    );
    let e = err(&format!("{head}pool = [\"a\", \"b\"]\nreplicas = 3\n"));
    assert!(
        e.contains("routes[0].replicas (line 9)") && e.contains("pool size (2)"),
        "{e}"
    );
    let e = err(&format!("{head}pool = [\"a\", \"a\"]\n"));
    assert!(e.contains("appears twice"), "{e}");
    let e = err(&format!("{head}pool = []\n"));
    assert!(e.contains("names no backend"), "{e}");
    let e = err(&format!("{head}backend = \"a\"\npool = [\"b\"]\n"));
    assert!(e.contains("not both") && e.contains("line 8"), "{e}");
    let e = err(head);
    assert!(
        e.contains("routes[0]") && e.contains("`backend` or `pool`"),
        "{e}"
    );
    let e = err(&format!(
        "{head}pool = [\"a\"]\nkey = \"second-argument\"\n"
    ));
    assert!(e.contains("second-argument") && e.contains("line 9"), "{e}");
    let e = err(&format!(
        "{head}pool = [\"a\"]\n[[routes.procedures]]\nprocedure = 2\n[[routes.procedures]]\nprocedure = 2\n"
    ));
    assert!(
        e.contains("procedure 2 is listed twice") && e.contains("line 11"),
        "{e}"
    );
    let e = err("listen = [\"tcp://x:1\"]\n[supervision]\nhealth_interval_ms = 0\n");
    assert!(e.contains("supervision.health_interval_ms (line 3)"), "{e}");
    let e = err("listen = [\"tcp://x:1\"]\n[supervision]\nbackoff_max_ms = 1\n");
    assert!(e.contains("supervision.backoff_max_ms (line 3)"), "{e}");
    let e = err(
        "listen = [\"tcp://x:1\"]\n[limits]\nmax_connections = 5\n max_in_flight_per_backend=0\n",
    );
    assert!(
        e.contains("limits.max_in_flight_per_backend (line 4)"),
        "{e}"
    );
    let e =
        err("listen = [\"tcp://x:1\"]\n[backends.a]\naddress = \"tcp://h:1\"\nconnections = 0\n");
    assert!(
        e.contains("backends.a.connections (line 4): must be from 1 to 64"),
        "{e}"
    );
    let e = err("listen = [\"tcp://x:1\"]\n[limits]\nmax_in_flight_per_client = 1000000\n");
    assert!(
        e.contains("limits.max_in_flight_per_client (line 3): must be from 1 to 65536"),
        "{e}"
    );
}

#[test]
fn admin_table_is_optional_and_its_socket_goes_to_the_runtime_dir() {
    let c = Config::from_toml("listen = [\"tcp://127.0.0.1:1\"]").unwrap();
    assert_eq!(c.admin, AdminConfig::default());
    let c = Config::from_toml(
        "listen = [\"tcp://127.0.0.1:1\"]\n[admin]\nsocket = \"a.sock\"\nmetrics = \"127.0.0.1:9\"",
    )
    .unwrap()
    .resolve_relative_paths(Path::new("/run/x"));
    assert_eq!(c.admin.socket.as_deref(), Some(Path::new("/run/x/a.sock")));
    assert_eq!(c.admin.metrics, Some("127.0.0.1:9".parse().unwrap()));
    let d = Config::embedded_default().unwrap();
    assert!(d.admin.socket.is_some() && d.admin.metrics.is_some());
    assert!(d.admin.metrics.is_some_and(|a| a.ip().is_loopback()));
    let e = err("listen = [\"tcp://x:1\"]\n[admin]\nmetrics = \"nowhere\"");
    assert!(e.contains("metrics") && e.contains("line 3"), "{e}");
    let e = err("listen = [\"tcp://x:1\"]\n[admin]\nsockets = \"a\"");
    assert!(e.contains("sockets") && e.contains("line 3"), "{e}");
}

#[test]
fn udp_listeners_and_their_limits_parse_and_check() {
    let c = Config::from_toml("listen = [\"udp://127.0.0.1:0\", \"udp://[::1]:7\"]").unwrap();
    assert_eq!(
        c.listen
            .iter()
            .map(|l| l.address.clone())
            .collect::<Vec<_>>(),
        [
            ListenAddress::Udp("127.0.0.1:0".into()),
            ListenAddress::Udp("[::1]:7".into())
        ]
    );
    assert_eq!(c.listen[0].to_string(), "udp://127.0.0.1:0");
    assert_eq!(c.udp, UdpConfig::default());
    assert!(!c.rpcbind.register, "off when the key is absent");
    let e = err("listen = [\"udp://nohost\"]");
    assert!(e.contains("udp://nohost"), "{e}");
    let e = err("listen = [\"udp://h:1\"]\n[udp]\nmax_datagram_bytes = 70000");
    assert!(e.contains("udp.max_datagram_bytes (line 3)"), "{e}");
    let e = err("listen = [\"udp://h:1\"]\n[udp]\nmax_in_flight = 0");
    assert!(e.contains("udp.max_in_flight"), "{e}");
    let e = err("listen = [\"udp://h:1\"]\n[rpcbind]\nregistr = true");
    assert!(e.contains("registr"), "{e}");
    let c = Config::from_toml(
        "listen = [\"udp://h:1\"]\n[udp]\nreply_cache_entries = 0\n[rpcbind]\nregister = true",
    )
    .unwrap();
    assert_eq!(c.udp.reply_cache_entries, 0);
    assert!(c.rpcbind.register);
}

#[test]
fn listen_entries_take_a_string_or_a_table_with_access_keys() {
    let c = Config::from_toml(
        r#"
        listen = [
            "tcp://127.0.0.1:7100",
            { address = "unix:///tmp/b.sock", mode = 0o600, group = 7 },
        ]
        "#,
    )
    .unwrap();
    let [plain, b] = &c.listen[..] else {
        panic!("two entries: {:?}", c.listen)
    };
    let tables = Config::from_toml(
        r#"
        [[listen]]
        address = "unix:///tmp/a.sock"
        mode = "0640"
        group = "daemon"
        allow_uids = [1000, 0]
        allow_gids = [100]
        allow_programs = [0x2000DA7A]
        "#,
    )
    .unwrap();
    let a = &tables.listen[0];
    assert_eq!(
        *plain,
        ListenConfig::plain("tcp://127.0.0.1:7100".parse().unwrap())
    );
    assert_eq!(plain.socket_mode(), DEFAULT_SOCKET_MODE);
    assert_eq!(a.socket_mode(), 0o640);
    assert_eq!(a.group.as_deref(), Some("daemon"));
    assert_eq!(a.allow.uids, Some([0, 1000].into()));
    assert_eq!(a.allow.gids, Some([100].into()));
    assert_eq!(a.allow.programs, Some([0x2000_DA7A].into()));
    assert_eq!(
        a.to_string(),
        "unix:///tmp/a.sock mode 0640 group daemon allow_uids [0, 1000] \
         allow_gids [100] allow_programs [0x2000da7a]"
    );
    assert_eq!((b.socket_mode(), b.group.as_deref()), (0o600, Some("7")));
    assert!(b.allow.allows_all());
}

#[test]
fn listen_tables_are_checked() {
    let e = err(r#"listen = [{ address = "tcp://127.0.0.1:1", allow_uids = [0] }]"#);
    assert!(
        e.contains("listen[0].allow_uids") && e.contains("Unix"),
        "{e}"
    );
    let e = err(r#"listen = [{ address = "tcp://127.0.0.1:1", mode = "0600" }]"#);
    assert!(e.contains("listen[0].mode"), "{e}");
    let e = err(r#"listen = [{ address = "unix:///tmp/x", mode = "0999" }]"#);
    assert!(e.contains("0999") && e.contains("octal"), "{e}");
    let e = err(r#"listen = [{ address = "unix:///tmp/x", mode = 0o7777 }]"#);
    assert!(e.contains("0777"), "{e}");
    let e = err(r#"listen = [{ address = "unix:///tmp/x", allow_users = [1] }]"#);
    assert!(e.contains("allow_users"), "{e}");
    let e = err(r#"listen = [{ mode = "0600" }]"#);
    assert!(e.contains("address"), "{e}");
    let e = err("listen = [\"tcp://x:1\"]\n[limits]\nreserved_fds = 3");
    assert!(e.contains("limits.reserved_fds (line 3)"), "{e}");
}

#[test]
fn only_non_loopback_tcp_without_a_program_list_is_open_to_the_network() {
    let open = |s: &str| {
        let c = Config::from_toml(&format!("listen = [{s}]")).unwrap();
        c.listen[0].is_open_to_the_network()
    };
    assert!(open(r#""tcp://0.0.0.0:7100""#));
    assert!(open(r#""tcp://[::]:7100""#));
    assert!(open(r#""tcp://192.0.2.1:7100""#));
    assert!(!open(r#""tcp://127.0.0.2:7100""#));
    assert!(!open(r#""tcp://[::1]:7100""#));
    assert!(!open(r#""tcp://localhost:7100""#));
    assert!(!open(r#""unix:///tmp/x.sock""#));
    assert!(!open(
        r#"{ address = "tcp://0.0.0.0:7100", allow_programs = [1] }"#
    ));
}

#[test]
fn replica_policies_are_checked() {
    let route = |extra: &str| {
        format!(
            "listen = [\"tcp://x:1\"]\n[backends.a]\naddress = \"tcp://h:1\"\n\
             [backends.b]\naddress = \"tcp://h:2\"\n[[routes]]\nprogram = 1\n\
             pool = [\"a\", \"b\"]\nreplicas = 2\n{extra}"
        )
    };
    let e = err(&route("key = \"first-argument\"\nmin_acks = 3\n"));
    assert!(
        e.contains("routes[0].min_acks (line 11)") && e.contains("1 to replicas (2)"),
        "{e}"
    );
    let e = err(&route(
        "[[routes.procedures]]\nprocedure = 1\nclass = \"write\"\n",
    ));
    assert!(
        e.contains("routes[0].procedures") && e.contains("not keyed"),
        "{e}"
    );
    let e = err(&route(
        "[[routes.procedures]]\nprocedure = 1\nclass = \"copy\"\n",
    ));
    assert!(e.contains("class") && e.contains("copy"), "{e}");
    // A read need not be keyed (it goes to the pool in turn).
    let c = Config::from_toml(&route(
        "miss_status = 2\nmin_acks = 2\n[[routes.procedures]]\nprocedure = 4\nclass = \"read\"\n",
    ))
    .unwrap();
    let core = c.core_config(0).unwrap();
    assert_eq!(core.routes[0].min_acks, 2);
    assert_eq!(core.routes[0].policy(4).access, Access::Read);
    assert_eq!(core.routes[0].policy(3).access, Access::Unclassed);
}

#[test]
fn tls_tables_parse_and_are_checked() {
    let c = Config::from_toml(
        r#"
        [[listen]]
        address = "tcp://127.0.0.1:0"
        [listen.tls]
        cert = "broker.pem"
        key = "broker.key"
        client_ca = "clients.pem"
        required = true
        [[listen]]
        address = "tcp://127.0.0.1:0"
        tls = { cert = "b.pem", key = "b.key" }
        [backends.a]
        address = "tcp://[::1]:7101"
        tls = { ca = "ca.pem" }
        [backends.b]
        address = "tcp://store.example:7101"
        [backends.b.tls]
        ca = "ca.pem"
        server_name = "b.example"
        cert = "c.pem"
        key = "c.key"
        "#,
    )
    .unwrap();
    let first = c.listen[0].tls.as_ref().unwrap();
    assert!(first.required);
    assert_eq!(first.client_ca.as_deref(), Some(Path::new("clients.pem")));
    assert_eq!(first.handshake_timeout_ms, DEFAULT_HANDSHAKE_TIMEOUT_MS);
    assert!(c.listen[0].to_string().ends_with(" tls required client_ca"));
    let second = c.listen[1].tls.as_ref().unwrap();
    assert!(!second.required && second.client_ca.is_none());
    assert_eq!(c.backends["a"].tls.as_ref().unwrap().server_name, None);
    assert_eq!(
        c.backends["b"].tls.as_ref().unwrap().server_name.as_deref(),
        Some("b.example")
    );
    assert_eq!(tls::host_of("[::1]:7101"), "::1");
    assert_eq!(tls::host_of("store.example:7101"), "store.example");

    let e = err(r#"listen = [{ address = "unix:///tmp/x", tls = { cert = "c", key = "k" } }]"#);
    assert!(e.contains("listen[0].tls") && e.contains("TCP"), "{e}");
    let e = err(r#"listen = [{ address = "udp://127.0.0.1:1", tls = { cert = "c", key = "k" } }]"#);
    assert!(e.contains("listen[0].tls"), "{e}");
    let e = err(r#"listen = [{ address = "tcp://127.0.0.1:1", tls = { cert = "c" } }]"#);
    assert!(e.contains("key"), "{e}");
    let e = err(
        "listen = [\"tcp://x:1\"]\n[backends.a]\naddress = \"unix:///tmp/a\"\n\
         [backends.a.tls]\nca = \"ca.pem\"",
    );
    assert!(e.contains("backends.a.tls") && e.contains("TCP"), "{e}");
    let e = err(
        "listen = [\"tcp://x:1\"]\n[backends.a]\naddress = \"tcp://h:1\"\n\
         [backends.a.tls]\nca = \"ca.pem\"\ncert = \"c.pem\"",
    );
    assert!(
        e.contains("backends.a.tls.cert (line 6)") && e.contains("key"),
        "{e}"
    );
}

#[test]
fn gss_tables_and_principal_lists_parse_and_are_checked() {
    let c = Config::from_toml(
        r#"
        [[listen]]
        address = "tcp://127.0.0.1:0"
        allow_principals = ["alice@EXAMPLE.ORG"]
        gss = { service = "datastore@localhost", required = true, min_service = "krb5p" }
        [[listen]]
        address = "unix:///tmp/g.sock"
        gss = {}
        "#,
    )
    .unwrap();
    let first = c.listen[0].gss.as_ref().unwrap();
    assert!(first.required);
    assert_eq!(
        first.min_service,
        Some(rpc_runtime::gss::GssService::Privacy)
    );
    assert_eq!(first.max_contexts, rpc_runtime::gss::DEFAULT_MAX_CONTEXTS);
    assert!(
        c.listen[0].to_string().ends_with(
            " allow_principals [alice@EXAMPLE.ORG] gss datastore@localhost required krb5p"
        ),
        "{}",
        c.listen[0]
    );
    let second = c.listen[1].gss.as_ref().unwrap();
    assert!(!second.required && second.service.is_none() && second.min_service.is_none());

    let e = err(r#"listen = [{ address = "udp://127.0.0.1:1", gss = {} }]"#);
    assert!(e.contains("listen[0].gss") && e.contains("stream"), "{e}");
    let e = err(r#"listen = [{ address = "tcp://127.0.0.1:1", allow_principals = ["a@B"] }]"#);
    assert!(e.contains("allow_principals") && e.contains("gss"), "{e}");
    let e = err(r#"listen = [{ address = "tcp://127.0.0.1:1", gss = { min_service = "krb5i" } }]"#);
    assert!(
        e.contains("gss.min_service") && e.contains("required"),
        "{e}"
    );
    let e = err(r#"listen = [{ address = "tcp://127.0.0.1:1", allow_tls_names = ["c"] }]"#);
    assert!(
        e.contains("allow_tls_names") && e.contains("client_ca"),
        "{e}"
    );
    let c = Config::from_toml(
        r#"
        [[listen]]
        address = "tcp://127.0.0.1:1"
        allow_tls_names = ["c.example"]
        tls = { cert = "c", key = "k", client_ca = "ca" }
        "#,
    )
    .unwrap();
    assert_eq!(
        c.listen[0].allow.tls_names,
        Some(["c.example".to_owned()].into())
    );
    let e = err(r#"listen = [{ address = "tcp://127.0.0.1:1", gss = { min_service = "krb6" } }]"#);
    assert!(e.contains("krb5i"), "{e}");
}

#[test]
fn backend_gss_tables_parse_with_their_defaults() {
    let c = Config::from_toml(
        r#"
        listen = ["tcp://127.0.0.1:0"]
        [backends.a]
        address = "tcp://127.0.0.1:7101"
        gss = { service = "datastore@localhost" }
        [backends.b]
        address = "unix:///tmp/b.sock"
        gss = { service = "nfs@b", service_level = "krb5p", program = 100003, version = 3 }
        [backends.c]
        address = "tcp://127.0.0.1:7103"
        "#,
    )
    .unwrap();
    let a = c.backends["a"].gss.as_ref().unwrap();
    assert_eq!(
        (a.service.as_str(), a.service_level, a.program, a.version),
        (
            "datastore@localhost",
            rpc_runtime::gss::GssService::Integrity,
            0,
            0
        )
    );
    let b = c.backends["b"].gss.as_ref().unwrap();
    assert_eq!(
        (b.service_level, b.program, b.version),
        (rpc_runtime::gss::GssService::Privacy, 100_003, 3)
    );
    assert_eq!(c.backend_gss("c"), None);
    let e = err(r#"listen = ["tcp://127.0.0.1:0"]
        backends.a = { address = "tcp://127.0.0.1:1", gss = { service = "s@h", service_level = "krb9" } }"#);
    assert!(e.contains("krb9"), "{e}");
    let e = err(r#"listen = ["tcp://127.0.0.1:0"]
        backends.a = { address = "tcp://127.0.0.1:1", gss = { service_level = "krb5" } }"#);
    assert!(e.contains("service"), "{e}");
}
