/*
 * gss_client.c: libtirpc's RPCSEC_GSS client (authgss_create_default)
 * against a server of the gss test program (tests/tests/gss.rs):
 * program 0x20000077 version 1, ECHO (1: opaque<> -> opaque<>) and
 * WHOAMI (2: void -> string principal, unsigned service).
 *
 * usage: gss_client HOST PORT SERVICE_NAME krb5|krb5i|krb5p ECHO_BYTES
 *
 * Prints "whoami PRINCIPAL SERVICE" and "echo N ok" and exits 0; on a
 * failure prints the RPC error and exits 2 (a call failed) or 3 (no
 * context could be made).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <gssapi/gssapi_krb5.h>
#include <rpc/rpc.h>
#include <rpc/auth_gss.h>
#include "gss_peer.h"

/* libtirpc caps a record buffer at 256 KiB; RPCSEC_GSS integrity and
 * privacy wrap a whole call in one such buffer. */
#define BUFFER_BYTES (256 * 1024)


int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct rpc_gss_sec sec;
	struct timeval timeout = { 60, 0 };
	struct whoami who = { NULL, 0 };
	struct netbuf arg, res;
	CLIENT *clnt;
	int sock = RPC_ANYSOCK;
	size_t n, i;

	if (argc != 6) {
		fprintf(stderr, "usage: %s HOST PORT SERVICE_NAME krb5|krb5i|krb5p ECHO_BYTES\n", argv[0]);
		return 64;
	}
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &sin.sin_addr);
	clnt = clnttcp_create(&sin, PROG, VERS, &sock, BUFFER_BYTES, BUFFER_BYTES);
	if (clnt == NULL) {
		clnt_pcreateerror("clnttcp_create");
		return 2;
	}
	memset(&sec, 0, sizeof sec);
	sec.mech = (gss_OID)gss_mech_krb5;
	sec.qop = GSS_C_QOP_DEFAULT;
	sec.svc = strcmp(argv[4], "krb5p") == 0 ? RPCSEC_GSS_SVC_PRIVACY
		: strcmp(argv[4], "krb5i") == 0 ? RPCSEC_GSS_SVC_INTEGRITY
		: RPCSEC_GSS_SVC_NONE;
	sec.req_flags = GSS_C_MUTUAL_FLAG;
	clnt->cl_auth = authgss_create_default(clnt, argv[3], &sec);
	if (clnt->cl_auth == NULL) {
		clnt_perror(clnt, "authgss_create_default");
		printf("no context\n");
		return 3;
	}
	if (clnt_call(clnt, WHOAMI, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_whoami,
		      (char *)&who, timeout) != RPC_SUCCESS) {
		clnt_perror(clnt, "WHOAMI");
		return 2;
	}
	printf("whoami %s %u\n", who.principal, who.service);
	n = (size_t)strtoul(argv[5], NULL, 10);
	arg.buf = malloc(n ? n : 1);
	arg.len = (u_int)n;
	for (i = 0; i < n; i++)
		((unsigned char *)arg.buf)[i] = (unsigned char)(i % 251);
	memset(&res, 0, sizeof res);
	if (clnt_call(clnt, ECHO, (xdrproc_t)xdr_data, (char *)&arg, (xdrproc_t)xdr_data,
		      (char *)&res, timeout) != RPC_SUCCESS) {
		clnt_perror(clnt, "ECHO");
		return 2;
	}
	if (res.len != arg.len || memcmp(res.buf, arg.buf, n) != 0) {
		printf("echo %zu differs (%u bytes back)\n", n, res.len);
		return 2;
	}
	printf("echo %zu ok\n", n);
	auth_destroy(clnt->cl_auth);
	clnt_destroy(clnt);
	return 0;
}
