#!/usr/bin/env python3
"""An RPC-over-TLS (RFC 9289) peer written with Python's standard library
only (socket, ssl, struct), independent of the Rust implementation.

Usage: rpc_tls_peer.py MODE HOST PORT [CAFILE SERVER_NAME]

MODE:
  tls            probe with AUTH_TLS, check the STARTTLS verifier, start
                 TLS 1.3 with ALPN "sunrpc", then DS_NULL, DS_PUT, DS_GET
  plain-refused  send a plain DS_NULL and expect MSG_DENIED / AUTH_ERROR /
                 AUTH_TOOWEAK (the server requires TLS)
  plain-ok       send a plain DS_NULL and expect SUCCESS
  bad-cert       probe, then expect the TLS handshake to fail certificate
                 verification (CAFILE or SERVER_NAME does not match)

Prints one line per step; exits 0 when every check holds, 1 otherwise.
"""

import os
import socket
import ssl
import struct
import sys

PROG, VERS = 0x2000DA7A, 1  # specs/datastore.x
DS_NULL, DS_PUT, DS_GET = 0, 1, 2
AUTH_NONE, AUTH_TLS = 0, 7
CALL, REPLY = 0, 1
MSG_ACCEPTED, MSG_DENIED = 0, 1
AUTH_ERROR, AUTH_TOOWEAK = 1, 5
LAST = 0x80000000


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def pad(b):
    return b + b"\0" * (-len(b) % 4)


def opaque(b):
    return struct.pack(">I", len(b)) + pad(b)


def call(xid, proc, args=b"", cred_flavor=AUTH_NONE):
    """A CALL message (RFC 5531 section 9): empty credential body and an
    AUTH_NONE verifier."""
    return struct.pack(">IIIIII", xid, CALL, 2, PROG, VERS, proc) + \
        struct.pack(">II", cred_flavor, 0) + struct.pack(">II", AUTH_NONE, 0) + args


def send_record(sock, msg):
    sock.sendall(struct.pack(">I", LAST | len(msg)) + msg)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            fail("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_record(sock):
    """One record, reassembled from its fragments (RFC 5531 section 11)."""
    out = b""
    while True:
        (word,) = struct.unpack(">I", recv_exact(sock, 4))
        out += recv_exact(sock, word & ~LAST)
        if word & LAST:
            return out


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def u32(self):
        (v,) = struct.unpack_from(">I", self.data, self.pos)
        self.pos += 4
        return v

    def u64(self):
        (v,) = struct.unpack_from(">Q", self.data, self.pos)
        self.pos += 8
        return v

    def opaque(self):
        n = self.u32()
        v = self.data[self.pos:self.pos + n]
        self.pos += n + (-n % 4)
        return v


def accepted(reply, xid, what):
    """Checks an accepted SUCCESS reply; returns (verifier, reader at results)."""
    r = Reader(reply)
    if r.u32() != xid:
        fail("%s: XID differs" % what)
    if r.u32() != REPLY:
        fail("%s: not a REPLY" % what)
    stat = r.u32()
    if stat != MSG_ACCEPTED:
        fail("%s: reply_stat %d, expected MSG_ACCEPTED" % (what, stat))
    flavor, body = r.u32(), r.opaque()
    accept_stat = r.u32()
    if accept_stat != 0:
        fail("%s: accept_stat %d, expected SUCCESS" % (what, accept_stat))
    return (flavor, body), r


def rpc(sock, xid, proc, args, what):
    send_record(sock, call(xid, proc, args))
    _, r = accepted(recv_record(sock), xid, what)
    return r


def probe(sock):
    send_record(sock, call(0x7115, DS_NULL, cred_flavor=AUTH_TLS))
    (flavor, body), _ = accepted(recv_record(sock), 0x7115, "AUTH_TLS probe")
    if (flavor, body) != (AUTH_NONE, b"STARTTLS"):
        fail("probe reply verifier is (%d, %r), expected (AUTH_NONE, b'STARTTLS')" % (flavor, body))
    print("probe: STARTTLS verifier")


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["sunrpc"])
    return ctx


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sock = socket.create_connection((host, port), timeout=30)
    if mode in ("plain-refused", "plain-ok"):
        send_record(sock, call(0x9A, DS_NULL))
        reply = recv_record(sock)
        words = struct.unpack(">%dI" % (len(reply) // 4), reply)
        if mode == "plain-ok":
            accepted(reply, 0x9A, "plain DS_NULL")
            print("plain DS_NULL: SUCCESS")
        elif words[:5] == (0x9A, REPLY, MSG_DENIED, AUTH_ERROR, AUTH_TOOWEAK):
            print("plain DS_NULL: MSG_DENIED AUTH_ERROR AUTH_TOOWEAK")
        else:
            fail("plain DS_NULL answered %r" % (words,))
        return
    cafile, server_name = sys.argv[4], sys.argv[5]
    probe(sock)
    if mode == "bad-cert":
        try:
            tls_context(cafile).wrap_socket(sock, server_hostname=server_name)
        except ssl.SSLCertVerificationError as e:
            print("handshake refused:", e.verify_message)
            return
        fail("the handshake succeeded with a certificate that should not verify")
    tls = tls_context(cafile).wrap_socket(sock, server_hostname=server_name)
    if tls.version() != "TLSv1.3" or tls.selected_alpn_protocol() != "sunrpc":
        fail("negotiated %s with ALPN %r" % (tls.version(), tls.selected_alpn_protocol()))
    print("tls: %s, ALPN sunrpc" % tls.version())
    rpc(tls, 1, DS_NULL, b"", "DS_NULL")
    print("DS_NULL: SUCCESS")
    data = os.urandom(100_000)  # several TLS records
    key = b"python-tls"
    r = rpc(tls, 2, DS_PUT, opaque(key) + struct.pack(">QI", 0, 1) + opaque(data), "DS_PUT")
    status = r.u32()
    if status != 0 or r.u64() != len(data):
        fail("DS_PUT status %d" % status)
    print("DS_PUT: %d bytes" % len(data))
    r = rpc(tls, 3, DS_GET, opaque(key) + struct.pack(">QI", 0, 1 << 20), "DS_GET")
    status = r.u32()
    got = r.opaque()
    eof = r.u32()
    if status != 0 or got != data or eof != 1:
        fail("DS_GET status %d, %d bytes, eof %d" % (status, len(got), eof))
    print("DS_GET: the same %d bytes, eof" % len(got))


if __name__ == "__main__":
    main()
