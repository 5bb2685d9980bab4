/*
 * interop_server.c: a libtirpc server for specs/interop.x (rpcgen -N -M).
 *
 *   interop_server tcp PORT     listen on 127.0.0.1:PORT
 *   interop_server udp PORT     receive datagrams on 127.0.0.1:PORT
 *   interop_server unix PATH    listen on a Unix stream socket at PATH
 *   interop_server -a ...       as above, but every call must carry AUTH_SYS
 *                               credentials with uid 1234 and gid 5678
 *                               (else AUTH_ERROR / AUTH_TOOWEAK)
 *   interop_server rpcbind -    TCP and UDP on ports the system picks,
 *                               registered with rpcbind (svc_register with
 *                               IPPROTO_TCP / IPPROTO_UDP, as rpcgen's own
 *                               main does); unregistered on SIGTERM/SIGINT
 *
 * Except in rpcbind mode it binds the socket itself and registers with
 * protocol 0, so no rpcbind is involved. It serves until killed. On stdout it prints
 * "listening ..." once ready; each call is counted and the count printed on
 * SIGTERM/SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "interop_compute.h"
#include "peer_listen.h"

extern void interop_prog_1(struct svc_req *rqstp, SVCXPRT *transp);

static volatile sig_atomic_t calls;

/*
 * Every handler zeroes its result first: the rpcgen -M dispatcher passes
 * uninitialised memory and calls interop_prog_1_freeresult (xdr_free) on it
 * even when the handler returns FALSE.
 */

bool_t interop_null_1_svc(void *result, struct svc_req *rq)
{
	(void)result;
	(void)rq;
	calls++;
	return TRUE;
}

bool_t echo_record_1_svc(record arg, record *result, struct svc_req *rq)
{
	memset(result, 0, sizeof *result);
	(void)rq;
	calls++;
	return xdr_copy((xdrproc_t)xdr_record, &arg, result);
}

bool_t summarize_1_svc(record arg, record_summary *result, struct svc_req *rq)
{
	memset(result, 0, sizeof *result);
	(void)rq;
	calls++;
	return compute_summary(&arg, result);
}

bool_t sum_1_svc(intarr arg, quad_t *result, struct svc_req *rq)
{
	memset(result, 0, sizeof *result);
	(void)rq;
	calls++;
	return compute_sum(&arg, result);
}

bool_t make_list_1_svc(int n, nodelist *result, struct svc_req *rq)
{
	memset(result, 0, sizeof *result);
	(void)rq;
	calls++;
	return compute_make_list(n, result);
}

bool_t reverse_items_1_svc(itemlist arg, itemlist *result, struct svc_req *rq)
{
	memset(result, 0, sizeof *result);
	(void)rq;
	calls++;
	return compute_reverse_items(arg, result);
}

bool_t reverse_1_svc(text arg, text *result, struct svc_req *rq)
{
	memset(result, 0, sizeof *result);
	calls++;
	if (strcmp(arg, SYSTEM_ERR_TEXT) == 0) {
		/* The reply is sent here; FALSE tells the dispatcher to send none. */
		svcerr_systemerr(rq->rq_xprt);
		return FALSE;
	}
	return compute_reverse(arg, result);
}

bool_t classify_1_svc(shape arg, value *result, struct svc_req *rq)
{
	memset(result, 0, sizeof *result);
	(void)rq;
	calls++;
	return compute_classify(&arg, result);
}

bool_t negate_1_svc(value arg, value *result, struct svc_req *rq)
{
	memset(result, 0, sizeof *result);
	(void)rq;
	calls++;
	return compute_negate(&arg, result);
}

bool_t checksum_1_svc(blob arg, u_int *result, struct svc_req *rq)
{
	memset(result, 0, sizeof *result);
	(void)rq;
	calls++;
	*result = interop_checksum(arg.blob_val, arg.blob_len);
	return TRUE;
}

bool_t fill_1_svc(fill_args arg, blob *result, struct svc_req *rq)
{
	memset(result, 0, sizeof *result);
	(void)rq;
	calls++;
	return compute_fill(&arg, result);
}

bool_t add_1_svc(quad_t a, quad_t b, quad_t *result, struct svc_req *rq)
{
	memset(result, 0, sizeof *result);
	(void)rq;
	calls++;
	*result = compute_add(a, b);
	return TRUE;
}

int interop_prog_1_freeresult(SVCXPRT *transp, xdrproc_t xdr_result, caddr_t result)
{
	(void)transp;
	xdr_free(xdr_result, result);
	return 1;
}

static int registered;
static int require_auth_sys;

/*
 * The dispatcher every transport registers: with -a it refuses calls
 * without AUTH_SYS uid 1234 gid 5678, then hands over to rpcgen's.
 */
static void dispatch(struct svc_req *rq, SVCXPRT *transp)
{
	if (require_auth_sys) {
		const struct authsys_parms *p = (const struct authsys_parms *)rq->rq_clntcred;
		if (rq->rq_cred.oa_flavor != AUTH_SYS || !p || p->aup_uid != 1234 || p->aup_gid != 5678) {
			svcerr_weakauth(transp);
			return;
		}
	}
	interop_prog_1(rq, transp);
}

static void on_stop(int sig)
{
	char buf[64];
	if (registered)
		svc_unregister(INTEROP_PROG, INTEROP_VERS);
	int n = snprintf(buf, sizeof buf, "served %d calls\n", (int)calls);
	if (n > 0)
		(void)write(STDOUT_FILENO, buf, (size_t)n);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int usage(void)
{
	fprintf(stderr, "usage: interop_server [-a] tcp PORT | udp PORT | unix PATH | rpcbind -\n");
	return 2;
}

/* Binds a UDP socket to 127.0.0.1:PORT and serves it (no rpcbind). */
static int serve_udp(const char *port_text)
{
	struct sockaddr_in sin;
	SVCXPRT *xprt;
	char *end;
	long port = strtol(port_text, &end, 10);
	int fd;

	if (*end || port <= 0 || port > 65535)
		return usage();
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
		perror("bind");
		return 1;
	}
	/* Send and receive buffers of 64 KiB: large calls and replies fit. */
	xprt = svcudp_bufcreate(fd, 65536, 65536);
	if (!xprt) {
		fprintf(stderr, "svcudp_bufcreate failed\n");
		return 1;
	}
	if (!svc_register(xprt, INTEROP_PROG, INTEROP_VERS, dispatch, 0)) {
		fprintf(stderr, "svc_register failed\n");
		return 1;
	}
	printf("listening udp %s\n", port_text);
	fflush(stdout);
	svc_run();
	fprintf(stderr, "svc_run returned\n");
	return 1;
}

/* TCP and UDP on ephemeral ports, registered with rpcbind. */
static int serve_with_rpcbind(void)
{
	SVCXPRT *tcp, *udp;

	svc_unregister(INTEROP_PROG, INTEROP_VERS);
	tcp = svctcp_create(RPC_ANYSOCK, 0, 0);
	udp = svcudp_bufcreate(RPC_ANYSOCK, 65536, 65536);
	if (!tcp || !udp) {
		fprintf(stderr, "creating the transports failed\n");
		return 1;
	}
	registered = 1;
	if (!svc_register(tcp, INTEROP_PROG, INTEROP_VERS, dispatch, IPPROTO_TCP) ||
	    !svc_register(udp, INTEROP_PROG, INTEROP_VERS, dispatch, IPPROTO_UDP)) {
		fprintf(stderr, "svc_register with rpcbind failed\n");
		svc_unregister(INTEROP_PROG, INTEROP_VERS);
		return 1;
	}
	printf("listening rpcbind tcp %u udp %u\n", (unsigned)tcp->xp_port, (unsigned)udp->xp_port);
	fflush(stdout);
	svc_run();
	fprintf(stderr, "svc_run returned\n");
	return 1;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc == 4 && strcmp(argv[1], "-a") == 0) {
		require_auth_sys = 1;
		argc--;
		argv++;
	}
	if (argc != 3)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);

	if (strcmp(argv[1], "rpcbind") == 0)
		return serve_with_rpcbind();
	if (strcmp(argv[1], "udp") == 0)
		return serve_udp(argv[2]);
	fd = peer_listen(argv[1], argv[2]);
	if (fd == PEER_LISTEN_USAGE)
		return usage();
	if (fd < 0)
		return 1;
	return peer_serve(fd, INTEROP_PROG, INTEROP_VERS, dispatch, argv[1], argv[2]);
}
