/*
 * gss_peer.h: the types of the gss test program shared by gss_client.c
 * and gss_server.c (program 0x20000077 version 1; see
 * tests/tests/gss.rs): ECHO (1: opaque<> -> opaque<>) and WHOAMI (2:
 * void -> string principal, unsigned service).
 */
#ifndef GSS_PEER_H
#define GSS_PEER_H

#include <rpc/rpc.h>

#define PROG 0x20000077
#define VERS 1
#define ECHO 1
#define WHOAMI 2

struct whoami {
	char *principal;
	u_int service;
};

static bool_t xdr_whoami(XDR *xdrs, struct whoami *w)
{
	return xdr_string(xdrs, &w->principal, ~0u) && xdr_u_int(xdrs, &w->service);
}

static bool_t xdr_data(XDR *xdrs, struct netbuf *d)
{
	return xdr_bytes(xdrs, (char **)&d->buf, &d->len, ~0u);
}

#endif
