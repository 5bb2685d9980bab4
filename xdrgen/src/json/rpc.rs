//! A stream of record-marked ONC RPC messages (RFC 5531 sections 9 and
//! 11, a TCP connection's payload) to JSON: each call and reply with its
//! XID, program, version and procedure (by name when the specification
//! declares them), credentials and verifier, and the arguments or results
//! decoded with the specification. Replies are matched to their calls by
//! XID.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::decode::{decode_prefix, hex};
use super::types::Types;
use crate::model::{Item, Model, Procedure, Program, Type, Version};

/// The messages of a stream, as [`decode_rpc_stream`] finds them.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcStream {
    /// One JSON object per message, in stream order.
    pub messages: Vec<Value>,
    /// Set when a message's header, arguments or result did not decode
    /// (that message has an `"error"` member).
    pub any_failed: bool,
    /// Why the record marking broke off (a fragment header or body cut off
    /// by the end of the stream), if it did; `messages` holds the messages
    /// before.
    pub framing_error: Option<String>,
}

/// Decodes every record of `stream` (record marking, RFC 5531 section 11:
/// fragments of a 4-byte header, the top bit marking a record's last
/// fragment, the rest its length in bytes) as an RPC message, one JSON
/// object each: `xid`, `message` (`CALL` or `REPLY`), `program`,
/// `version`, `procedure` (names from `model`, else numbers),
/// `credential` and `verifier` (`flavor`, AUTH_SYS fields or the body as
/// hex), then `arguments` (an array) for a call, and for a reply
/// `reply_stat`, `accept_stat` and `result`, or the rejection. A reply
/// is matched to its call by XID; without one it has `"call": null` and
/// the result as hex (`result_hex`), as do calls to programs the spec
/// does not define (`arguments_hex`).
///
/// A message whose header, arguments or result does not decode gets an
/// `"error"` member (with the byte offset inside the record and the
/// path); the stream goes on with the next record. Nothing here panics;
/// every length is checked against the bytes present.
pub fn decode_rpc_stream(model: &Model, stream: &[u8]) -> RpcStream {
    let types = Types::new(model);
    let mut calls: HashMap<u32, (u32, u32, u32)> = HashMap::new();
    let mut out = RpcStream {
        messages: Vec::new(),
        any_failed: false,
        framing_error: None,
    };
    let mut pos = 0;
    let mut record = Vec::new();
    while pos < stream.len() {
        let Some(h) = stream.get(pos..pos + 4) else {
            out.framing_error = Some(format!(
                "at byte {pos}: fragment header cut off by the end of the stream"
            ));
            return out;
        };
        let h = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let (last, len) = (h & 0x8000_0000 != 0, (h & 0x7fff_ffff) as usize);
        let Some(body) = stream.get(pos + 4..pos + 4 + len) else {
            out.framing_error = Some(format!(
                "at byte {pos}: fragment of {len} bytes, only {} left in the stream",
                stream.len() - pos - 4
            ));
            return out;
        };
        record.extend_from_slice(body);
        pos += 4 + len;
        if last {
            let mut msg = Message {
                types: &types,
                model,
                rec: &record,
                pos: 0,
                out: Map::new(),
            };
            if let Err(e) = msg.decode(&mut calls) {
                msg.out.insert("error".to_owned(), Value::String(e));
                out.any_failed = true;
            }
            out.messages.push(Value::Object(msg.out));
            record.clear();
        }
    }
    if !record.is_empty() {
        out.framing_error = Some("the stream ends inside a record (no last fragment)".to_owned());
    }
    out
}

/// One message being decoded.
struct Message<'m> {
    types: &'m Types<'m>,
    model: &'m Model,
    rec: &'m [u8],
    pos: usize,
    out: Map<String, Value>,
}

/// Flavor names (RFC 5531 section 8.2 and its IANA registry).
fn flavor_name(f: u32) -> Option<&'static str> {
    Some(match f {
        0 => "AUTH_NONE",
        1 => "AUTH_SYS",
        2 => "AUTH_SHORT",
        3 => "AUTH_DH",
        6 => "RPCSEC_GSS",
        _ => return None,
    })
}

/// `name` for a known value of a status enum, else the number.
fn named(names: &[&str], v: u32) -> Value {
    names
        .get(v as usize)
        .map_or_else(|| Value::from(v), |n| Value::String((*n).to_owned()))
}

/// The program, version and procedure of `model` with these numbers.
fn lookup(
    model: &Model,
    prog: u32,
    vers: u32,
    proc_: u32,
) -> (Option<&Program>, Option<&Version>, Option<&Procedure>) {
    let p = model.items.iter().find_map(|i| match i {
        Item::Program(p) if p.number == prog => Some(p),
        _ => None,
    });
    let v = p.and_then(|p| p.versions.iter().find(|v| v.number == vers));
    let pr = v.and_then(|v| v.procedures.iter().find(|x| x.number == proc_));
    (p, v, pr)
}

impl<'m> Message<'m> {
    fn set(&mut self, key: &str, v: impl Into<Value>) {
        self.out.insert(key.to_owned(), v.into());
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        match self.rec.get(self.pos..self.pos + 4) {
            Some(b) => {
                self.pos += 4;
                Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            }
            None => Err(format!(
                "at byte {}, {what}: the record ends ({} bytes)",
                self.pos,
                self.rec.len()
            )),
        }
    }

    /// `opaque_auth` (RFC 5531 section 8.2): the flavor and its body,
    /// AUTH_SYS bodies (section A.1) decoded.
    fn auth(&mut self, what: &str) -> Result<Value, String> {
        let flavor = self.u32(what)?;
        let len = self.u32(what)? as usize;
        let start = self.pos;
        let padded = len.saturating_add((4 - len % 4) % 4);
        if len > 400 || self.rec.len() - start < padded {
            return Err(format!(
                "at byte {}, {what}: body of {len} bytes (at most 400, {} left)",
                start - 4,
                self.rec.len() - start
            ));
        }
        let body = &self.rec[start..start + len];
        self.pos += padded;
        let mut m = Map::new();
        m.insert(
            "flavor".to_owned(),
            flavor_name(flavor).map_or_else(|| Value::from(flavor), Value::from),
        );
        match (flavor, auth_sys(body)) {
            (0, _) if body.is_empty() => {}
            (1, Some(parms)) => m.extend(parms),
            _ => {
                m.insert("body".to_owned(), Value::String(hex(body)));
            }
        }
        Ok(Value::Object(m))
    }

    fn decode(&mut self, calls: &mut HashMap<u32, (u32, u32, u32)>) -> Result<(), String> {
        let xid = self.u32("xid")?;
        self.set("xid", xid);
        match self.u32("msg_type")? {
            0 => self.call(xid, calls),
            1 => self.reply(xid, calls),
            t => Err(format!(
                "at byte 4, msg_type: {t} is neither CALL (0) nor REPLY (1)"
            )),
        }
    }

    /// `program`, `version`, `procedure`: names where the spec has them,
    /// else numbers.
    fn names(&mut self, prog: u32, vers: u32, proc_: u32) -> Option<&'m Procedure> {
        let (p, v, pr) = lookup(self.model, prog, vers, proc_);
        let name = |n: Option<&str>, x: u32| n.map_or_else(|| Value::from(x), Value::from);
        self.set("program", name(p.map(|p| p.xdr_name.as_str()), prog));
        self.set("version", name(v.map(|v| v.xdr_name.as_str()), vers));
        self.set("procedure", name(pr.map(|p| p.xdr_name.as_str()), proc_));
        pr
    }

    fn call(&mut self, xid: u32, calls: &mut HashMap<u32, (u32, u32, u32)>) -> Result<(), String> {
        self.set("message", "CALL");
        let rpcvers = self.u32("rpcvers")?;
        if rpcvers != 2 {
            self.set("rpcvers", rpcvers);
        }
        let (prog, vers, proc_) = (self.u32("prog")?, self.u32("vers")?, self.u32("proc")?);
        calls.insert(xid, (prog, vers, proc_));
        let procedure = self.names(prog, vers, proc_);
        let cred = self.auth("cred")?;
        self.set("credential", cred);
        let verf = self.auth("verf")?;
        self.set("verifier", verf);
        let Some(procedure) = procedure else {
            let rest = hex(&self.rec[self.pos..]);
            self.set("arguments_hex", rest);
            return Ok(());
        };
        let mut args = Vec::new();
        for (i, ty) in procedure.args.iter().enumerate() {
            match self.value(&procedure.xdr_name, ty) {
                Ok(v) => args.push(v),
                Err(e) => {
                    self.set("arguments", args);
                    return Err(format!("argument {i}: {e}"));
                }
            }
        }
        self.set("arguments", args);
        self.trailing("arguments")
    }

    fn reply(&mut self, xid: u32, calls: &mut HashMap<u32, (u32, u32, u32)>) -> Result<(), String> {
        self.set("message", "REPLY");
        let call = calls.remove(&xid);
        let procedure = match call {
            Some((prog, vers, proc_)) => self.names(prog, vers, proc_),
            None => {
                self.set("call", Value::Null);
                None
            }
        };
        match self.u32("reply_stat")? {
            0 => {
                self.set("reply_stat", "MSG_ACCEPTED");
                let verf = self.auth("verf")?;
                self.set("verifier", verf);
                let stat = self.u32("accept_stat")?;
                self.set(
                    "accept_stat",
                    named(
                        &[
                            "SUCCESS",
                            "PROG_UNAVAIL",
                            "PROG_MISMATCH",
                            "PROC_UNAVAIL",
                            "GARBAGE_ARGS",
                            "SYSTEM_ERR",
                        ],
                        stat,
                    ),
                );
                match (stat, procedure) {
                    (0, Some(p)) => {
                        let v = self
                            .value(&p.xdr_name, &p.result)
                            .map_err(|e| format!("result: {e}"))?;
                        self.set("result", v);
                        self.trailing("result")
                    }
                    (0, None) => {
                        let rest = hex(&self.rec[self.pos..]);
                        self.set("result_hex", rest);
                        Ok(())
                    }
                    (2, _) => self.mismatch(),
                    _ => self.trailing("accept_stat"),
                }
            }
            1 => {
                self.set("reply_stat", "MSG_DENIED");
                let stat = self.u32("reject_stat")?;
                self.set("reject_stat", named(&["RPC_MISMATCH", "AUTH_ERROR"], stat));
                match stat {
                    0 => self.mismatch(),
                    1 => {
                        let s = self.u32("auth_stat")?;
                        self.set(
                            "auth_stat",
                            named(
                                &[
                                    "AUTH_OK",
                                    "AUTH_BADCRED",
                                    "AUTH_REJECTEDCRED",
                                    "AUTH_BADVERF",
                                    "AUTH_REJECTEDVERF",
                                    "AUTH_TOOWEAK",
                                    "AUTH_INVALIDRESP",
                                    "AUTH_FAILED",
                                ],
                                s,
                            ),
                        );
                        self.trailing("auth_stat")
                    }
                    s => Err(format!(
                        "at byte {}, reject_stat: {s} is not a reject_stat",
                        self.pos - 4
                    )),
                }
            }
            s => Err(format!(
                "at byte {}, reply_stat: {s} is not a reply_stat",
                self.pos - 4
            )),
        }
    }

    /// `mismatch_info` (RFC 5531 section 9): the lowest and highest
    /// versions supported.
    fn mismatch(&mut self) -> Result<(), String> {
        let (low, high) = (
            self.u32("mismatch_info.low")?,
            self.u32("mismatch_info.high")?,
        );
        self.set(
            "mismatch_info",
            serde_json::json!({ "low": low, "high": high }),
        );
        self.trailing("mismatch_info")
    }

    /// A value of `ty` at the current position; offsets in the error are
    /// from the record's start.
    fn value(&mut self, root: &str, ty: &Type) -> Result<Value, String> {
        let start = self.pos;
        match decode_prefix(self.types, root, ty, &self.rec[start..]) {
            Ok((v, used)) => {
                self.pos += used;
                Ok(v)
            }
            Err(mut e) => {
                e.offset = e.offset.map(|o| o + start);
                Err(e.to_string())
            }
        }
    }

    fn trailing(&self, after: &str) -> Result<(), String> {
        match self.rec.len() - self.pos {
            0 => Ok(()),
            n => Err(format!(
                "at byte {}: {n} trailing bytes after the {after}",
                self.pos
            )),
        }
    }
}

/// `authsys_parms` (RFC 5531 section A.1) when `body` is exactly one.
fn auth_sys(body: &[u8]) -> Option<Map<String, Value>> {
    let words = |b: &[u8], at: usize| -> Option<u32> {
        let w = b.get(at..at + 4)?;
        Some(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    };
    let stamp = words(body, 0)?;
    let n = words(body, 4)? as usize;
    if n > 255 {
        return None;
    }
    let name = body.get(8..8 + n)?;
    let mut at = 8 + n + (4 - n % 4) % 4;
    let uid = words(body, at)?;
    let gid = words(body, at + 4)?;
    let count = words(body, at + 8)? as usize;
    at += 12;
    if count > 16 || body.len() != at + 4 * count {
        return None;
    }
    let gids: Vec<Value> = (0..count)
        .map(|i| words(body, at + 4 * i).map(Value::from))
        .collect::<Option<_>>()?;
    let mut m = Map::new();
    m.insert("stamp".to_owned(), stamp.into());
    m.insert(
        "machinename".to_owned(),
        match std::str::from_utf8(name) {
            Ok(s) => s.into(),
            Err(_) => serde_json::json!({ "hex": hex(name) }),
        },
    );
    m.insert("uid".to_owned(), uid.into());
    m.insert("gid".to_owned(), gid.into());
    m.insert("gids".to_owned(), Value::Array(gids));
    Some(m)
}
