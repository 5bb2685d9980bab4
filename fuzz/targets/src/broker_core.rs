//! The broker's sans-IO core ([`Core`]) driven by arbitrary client call
//! records, backend reply records, connection events and the passing of
//! time. Besides not panicking it must keep its guarantees: every call of
//! a client that stays connected is answered exactly once with the
//! client's own XID, and once time has passed every deadline no call
//! state is left.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use broker::config::Config;
use broker::core::{ClientId, ConnId, Core, CoreConfig, Destination, Event};
use bytes::{BufMut, Bytes, BytesMut};

/// Two backends sharing a replicated, keyed route (reads fail over on a
/// miss, writes need both replicas) and a third alone on another program.
const CONFIG: &str = r#"
listen = ["tcp://127.0.0.1:0"]
[backends.a]
address = "tcp://127.0.0.1:7101"
connections = 2
[backends.b]
address = "tcp://127.0.0.1:7102"
[backends.c]
address = "tcp://127.0.0.1:7103"
[[routes]]
program = 100
versions = [1]
pool = ["a", "b"]
replicas = 2
min_acks = 2
miss_status = 2
key = "first-argument"
timeout_ms = 500
retries = 1
[[routes.procedures]]
procedure = 1
class = "write"
[[routes.procedures]]
procedure = 2
idempotent = true
class = "read"
[[routes]]
program = 200
backend = "c"
timeout_ms = 300
"#;

/// Programs a call is addressed to: the two routed ones and an unrouted one.
const PROGRAMS: [u32; 3] = [100, 200, 300];

/// At most this many operations per input.
const MAX_OPS: usize = 256;

#[derive(Default)]
struct Client {
    /// XIDs of calls sent and not yet answered, with their count.
    waiting: BTreeMap<u32, usize>,
    gone: bool,
}

/// The driver the broker's tokio tasks would be, played by the input.
struct Harness {
    core: Core,
    now: Instant,
    clients: BTreeMap<ClientId, Client>,
    /// Backend connections the core asked for, and whether they are up.
    conns: Vec<(ConnId, bool)>,
    /// Calls written to backend connections, newest last: replies to them
    /// reuse their XIDs so that they reach the pending-call table.
    sent: Vec<(ConnId, u32)>,
}

/// Input: a sequence of operations, each an opcode byte and its operands
/// (arbitrary client and backend record bodies among them).
pub fn broker_core(data: &[u8]) {
    let now = Instant::now();
    let core = Core::new(core_config().clone(), now);
    let mut h = Harness {
        core,
        now,
        clients: BTreeMap::new(),
        conns: Vec::new(),
        sent: Vec::new(),
    };
    h.drain();
    let mut u = Unstructured::new(data);
    for _ in 0..MAX_OPS {
        if u.is_empty() || h.step(&mut u).is_err() {
            break;
        }
        h.drain();
    }
    h.quiesce();
}

/// [`CONFIG`] parsed and resolved, once per process: every input starts
/// a core from a copy of it (parsing TOML per input cost more than most
/// inputs' operations).
fn core_config() -> &'static CoreConfig {
    static RESOLVED: OnceLock<CoreConfig> = OnceLock::new();
    RESOLVED.get_or_init(|| {
        Config::from_toml(CONFIG)
            .expect("the target's configuration is valid")
            .core_config(7)
            .expect("resolves")
    })
}

impl Harness {
    fn step(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        match byte(u)? % 8 {
            0 => {
                let id = self.core.add_client();
                self.clients.insert(id, Client::default());
            }
            1 => self.client_call(u)?,
            2 => self.backend_reply(u)?,
            3 => {
                if let Some(i) = pick(u, self.conns.len())? {
                    let (conn, up) = self.conns[i];
                    if up {
                        self.core.handle_backend_closed(self.now, conn);
                        self.set_up(conn, false);
                    } else {
                        self.core.handle_backend_connected(self.now, conn);
                        self.set_up(conn, true);
                    }
                }
            }
            4 => {
                if let Some(i) = pick(u, self.conns.len())? {
                    let (conn, _) = self.conns.remove(i);
                    self.core.handle_backend_failed(self.now, conn);
                }
            }
            5 => {
                let ids: Vec<ClientId> = self.live_clients();
                if let Some(i) = pick(u, ids.len())? {
                    self.core.handle_client_closed(self.now, ids[i]);
                    self.client(ids[i]).gone = true;
                }
            }
            _ => {
                self.now += Duration::from_millis(u64::from(byte(u)?) * 4);
                self.core.handle_timeout(self.now);
            }
        }
        Ok(())
    }

    /// A call from a client: a well-formed header to a routed program (or
    /// not), then arbitrary arguments; or an arbitrary record.
    fn client_call(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        let ids = self.live_clients();
        let Some(i) = pick(u, ids.len())? else {
            return Ok(());
        };
        let id = ids[i];
        // Shape: bits 0-1 XID (a few, so they repeat), 2-3 program,
        // 4-5 procedure, 6 version 2 instead of 1, 7 no header at all.
        let shape = byte(u)?;
        let n = usize::from(byte(u)? % 48);
        let record = if shape & 0x80 == 0 {
            let mut r = BytesMut::new();
            r.put_u32(u32::from(shape & 3));
            r.put_u32(0); // CALL
            r.put_u32(2);
            r.put_u32(PROGRAMS[usize::from(shape >> 2 & 3) % PROGRAMS.len()]);
            r.put_u32(1 + u32::from(shape >> 6 & 1));
            r.put_u32(u32::from(shape >> 4 & 3));
            r.put_slice(&[0; 16]); // AUTH_NONE credentials and verifier
            r.put_slice(u.bytes(n)?);
            r.freeze()
        } else {
            Bytes::copy_from_slice(u.bytes(n)?)
        };
        let xid = rpc_runtime::message::peek_xid(&record);
        let is_call = matches!(
            rpc_runtime::message::peek(&record),
            Some(rpc_runtime::message::HeaderPeek::Call(_))
        );
        self.core.handle_client_call(self.now, id, record);
        if let (Some(xid), true) = (xid, is_call) {
            *self.client(id).waiting.entry(xid).or_default() += 1;
        }
        Ok(())
    }

    /// A reply on a backend connection: to a call sent on it (its XID),
    /// or to a made-up XID; a well-formed reply header or arbitrary bytes.
    fn backend_reply(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        let Some(i) = pick(u, self.conns.len())? else {
            return Ok(());
        };
        let conn = self.conns[i].0;
        let mine: Vec<u32> = self
            .sent
            .iter()
            .filter(|(c, _)| *c == conn)
            .map(|&(_, x)| x)
            .collect();
        // Shape: bits 0-5 which call sent on the connection it answers
        // (newest first), 6 a made-up XID instead, 7 no reply header.
        let shape = byte(u)?;
        let status = byte(u)?;
        let n = usize::from(byte(u)? % 32);
        let xid = match mine.len().checked_sub(1 + usize::from(shape & 63)) {
            Some(j) if shape & 0x40 == 0 => mine[j],
            _ => u.arbitrary()?,
        };
        let mut r = BytesMut::new();
        r.put_u32(xid);
        if shape & 0x80 == 0 {
            r.put_u32(1); // REPLY
            r.put_u32(0); // MSG_ACCEPTED
            r.put_slice(&[0; 8]); // AUTH_NONE verifier
            r.put_u32(u32::from(status >> 4) % 6); // accept_stat
            r.put_u32(u32::from(status & 3)); // first result word: status
        }
        r.put_slice(u.bytes(n)?);
        self.core.handle_backend_reply(self.now, conn, r.freeze());
        Ok(())
    }

    /// Takes everything the core wants done and checks its replies.
    fn drain(&mut self) {
        while self.drain_once() {}
    }

    /// One pass over the transmits and then the events; false when there
    /// was nothing (connecting may produce more).
    fn drain_once(&mut self) -> bool {
        let mut busy = false;
        while let Some(t) = self.core.poll_transmit() {
            busy = true;
            match t.destination {
                Destination::Client(id) => {
                    let client = self.client(id);
                    assert!(!client.gone, "a reply to a closed client");
                    let left = client
                        .waiting
                        .get_mut(&t.xid)
                        .unwrap_or_else(|| panic!("a reply with XID {} nobody waits for", t.xid));
                    *left -= 1;
                    if *left == 0 {
                        client.waiting.remove(&t.xid);
                    }
                }
                Destination::Backend(conn) => {
                    assert!(
                        self.conns.contains(&(conn, true)),
                        "a call on connection {conn:?}, which is not up"
                    );
                    self.sent.push((conn, t.xid));
                    if self.sent.len() > 64 {
                        self.sent.remove(0);
                    }
                }
            }
        }
        while let Some(e) = self.core.poll_event() {
            busy = true;
            match e {
                // Connections come up at once; operations 3 and 4 close
                // and fail them.
                Event::Connect { conn, .. } => {
                    self.conns.push((conn, true));
                    self.core.handle_backend_connected(self.now, conn);
                }
                Event::CloseBackend { conn } => self.conns.retain(|&(c, _)| c != conn),
                Event::CloseClient { client, .. } => self.client(client).gone = true,
                _ => {}
            }
        }
        busy
    }

    /// Lets time pass until every call deadline has fired: then every
    /// call of a connected client has its answer and no call state is left.
    fn quiesce(&mut self) {
        for _ in 0..16 {
            self.now += Duration::from_secs(5);
            self.core.handle_timeout(self.now);
            self.drain();
        }
        for (id, c) in &self.clients {
            assert!(
                c.gone || c.waiting.is_empty(),
                "client {id:?} still waits for {:?}",
                c.waiting
            );
        }
        let stats = self.core.stats();
        assert_eq!(stats.pending_calls, 0, "call state left: {stats:?}");
    }

    fn live_clients(&self) -> Vec<ClientId> {
        self.clients
            .iter()
            .filter(|(_, c)| !c.gone)
            .map(|(&id, _)| id)
            .collect()
    }

    fn client(&mut self, id: ClientId) -> &mut Client {
        self.clients
            .get_mut(&id)
            .expect("a client the harness added")
    }

    fn set_up(&mut self, conn: ConnId, up: bool) {
        for c in &mut self.conns {
            if c.0 == conn {
                c.1 = up;
            }
        }
    }
}

/// The next input byte.
fn byte(u: &mut Unstructured<'_>) -> arbitrary::Result<u8> {
    u.arbitrary()
}

/// An index below `len` from the next input byte, or `None` when `len` is 0.
fn pick(u: &mut Unstructured<'_>, len: usize) -> arbitrary::Result<Option<usize>> {
    if len == 0 {
        return Ok(None);
    }
    Ok(Some(usize::from(byte(u)?) % len))
}
