/*
 * bench_server.c: the C rpcgen + libtirpc server of the RPC benchmark
 * (specs/bench.x, rpcgen -N -M), the classic single-threaded svc_run loop.
 *
 *   bench_server tcp PORT     listen on 127.0.0.1:PORT
 *
 * It binds and listens on the socket itself and registers with protocol 0,
 * so no rpcbind is involved (tests/c/peer_listen.h); it prints
 * "listening tcp PORT" once ready and serves until killed.
 *
 * BENCH_READ answers from a buffer filled once at start (no allocation or
 * copy per call, like the Rust server's shared buffer); BENCH_WRITE decodes
 * its argument the usual way (libtirpc allocates and copies it) and returns
 * its length.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "peer_listen.h"

extern void bench_prog_1(struct svc_req *rqstp, SVCXPRT *transp);

/* The bytes BENCH_READ returns: byte i is (i * 7) mod 256. */
static char *read_buf;

bool_t bench_null_1_svc(void *result, struct svc_req *rq)
{
	(void)result;
	(void)rq;
	return TRUE;
}

bool_t bench_read_1_svc(u_int count, bench_data *result, struct svc_req *rq)
{
	(void)rq;
	result->bench_data_len = count < BENCH_DATA_MAX ? count : BENCH_DATA_MAX;
	result->bench_data_val = read_buf;
	return TRUE;
}

bool_t bench_write_1_svc(bench_data arg, u_int *result, struct svc_req *rq)
{
	(void)rq;
	*result = arg.bench_data_len;
	return TRUE;
}

int bench_prog_1_freeresult(SVCXPRT *transp, xdrproc_t xdr_result, caddr_t result)
{
	(void)transp;
	/* READ results point into read_buf, which is never freed. */
	if (xdr_result != (xdrproc_t)xdr_bench_data)
		xdr_free(xdr_result, result);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_server tcp PORT\n");
	return 2;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc != 3 || strcmp(argv[1], "tcp") != 0)
		return usage();
	signal(SIGPIPE, SIG_IGN);

	read_buf = malloc(BENCH_DATA_MAX);
	if (!read_buf) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (u_int i = 0; i < BENCH_DATA_MAX; i++)
		read_buf[i] = (char)(i * 7u);

	fd = peer_listen(argv[1], argv[2]);
	if (fd == PEER_LISTEN_USAGE)
		return usage();
	if (fd < 0)
		return 1;
	return peer_serve(fd, BENCH_PROG, BENCH_VERS, bench_prog_1, argv[1], argv[2]);
}
