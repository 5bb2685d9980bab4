/*
 * gss_server.c: libtirpc's RPCSEC_GSS server (svcauth_gss_set_svc_name)
 * of the gss test program (tests/tests/gss.rs): program
 * 0x20000077 version 1, ECHO (1: opaque<> -> opaque<>) and WHOAMI (2:
 * void -> string, unsigned service of the call). Calls without
 * RPCSEC_GSS are refused with AUTH_TOOWEAK.
 *
 * usage: gss_server SERVICE_NAME tcp PORT
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gssapi/gssapi.h>
#include <rpc/rpc.h>
#include <rpc/auth_gss.h>
#include "gss_peer.h"
#include <rpc/svc_auth_gss.h>
#include "peer_listen.h"

/* Above libtirpc's 256 KiB cap: the server then takes whole records. */
#define BUFFER_BYTES 1100000


static void dispatch(struct svc_req *rqst, SVCXPRT *xprt)
{
	struct rpc_gss_cred *gc;
	struct netbuf data;
	struct whoami who;

	if (rqst->rq_cred.oa_flavor != RPCSEC_GSS) {
		svcerr_weakauth(xprt);
		return;
	}
	gc = (struct rpc_gss_cred *)rqst->rq_clntcred;
	switch (rqst->rq_proc) {
	case NULLPROC:
		svc_sendreply(xprt, (xdrproc_t)xdr_void, NULL);
		return;
	case WHOAMI:
		if (!svc_getargs(xprt, (xdrproc_t)xdr_void, NULL)) {
			svcerr_decode(xprt);
			return;
		}
		who.principal = "";
		who.service = gc->gc_svc;
		svc_sendreply(xprt, (xdrproc_t)xdr_whoami, (char *)&who);
		return;
	case ECHO:
		memset(&data, 0, sizeof data);
		if (!svc_getargs(xprt, (xdrproc_t)xdr_data, (char *)&data)) {
			svcerr_decode(xprt);
			return;
		}
		svc_sendreply(xprt, (xdrproc_t)xdr_data, (char *)&data);
		svc_freeargs(xprt, (xdrproc_t)xdr_data, (char *)&data);
		return;
	default:
		svcerr_noproc(xprt);
	}
}

int main(int argc, char **argv)
{
	gss_buffer_desc buf;
	gss_name_t name;
	OM_uint32 major, minor;
	SVCXPRT *xprt;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: %s SERVICE_NAME tcp PORT\n", argv[0]);
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	buf.value = argv[1];
	buf.length = strlen(argv[1]);
	major = gss_import_name(&minor, &buf, GSS_C_NT_HOSTBASED_SERVICE, &name);
	if (major != GSS_S_COMPLETE || !svcauth_gss_set_svc_name(name)) {
		fprintf(stderr, "cannot use the service name %s\n", argv[1]);
		return 1;
	}
	fd = peer_listen(argv[2], argv[3]);
	if (fd < 0)
		return 1;
	xprt = svc_vc_create(fd, BUFFER_BYTES, BUFFER_BYTES);
	if (xprt == NULL || !svc_register(xprt, PROG, VERS, dispatch, 0)) {
		fprintf(stderr, "cannot serve\n");
		return 1;
	}
	svc_run();
	return 1;
}
