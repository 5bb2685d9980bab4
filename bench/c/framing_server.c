/*
 * framing_server.c: the server half of the framing-only limit, the
 * physical reference of the pipelined NULL figure: what one loopback
 * connection carries when each call is a record mark and a few dozen
 * bytes and nothing else (no XDR, no RPC header checks, no dispatch).
 *
 *   framing_server tcp PORT     listen on 127.0.0.1:PORT
 *
 * One connection at a time: it reads as much as the socket holds, answers
 * every complete call record with a FRAMING_REPLY_BYTES reply record that
 * starts with the call's XID, and writes all the replies of one read with
 * one write (the least any server can do per call on a stream socket).
 * Prints "listening tcp PORT" once ready and serves until killed.
 */
#include <signal.h>
#include <stdio.h>
#include <netinet/tcp.h>

#include "framing.h"
#include "peer_listen.h"

struct replies {
	char out[FRAMING_BUF_BYTES * 2];
	size_t len;
};

static void answer(void *ctx, uint32_t xid, uint32_t body)
{
	struct replies *r = ctx;
	(void)body;
	framing_put(r->out, &r->len, xid, FRAMING_REPLY_BYTES);
}

/* Serves one connection until it ends or fails. */
static void serve(int fd)
{
	static char in[FRAMING_BUF_BYTES];
	static struct replies r;
	size_t have = 0;
	for (;;) {
		ssize_t n = read(fd, in + have, sizeof in - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		have += (size_t)n;
		r.len = 0;
		if (framing_split(in, &have, answer, &r) < 0) {
			perror("framing_server: record");
			return;
		}
		if (r.len > 0 && framing_write_all(fd, r.out, r.len) < 0)
			return;
	}
}

int main(int argc, char **argv)
{
	int fd;

	if (argc != 3 || strcmp(argv[1], "tcp") != 0) {
		fprintf(stderr, "usage: framing_server tcp PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	fd = peer_listen(argv[1], argv[2]);
	if (fd < 0)
		return fd == PEER_LISTEN_USAGE ? 2 : 1;
	printf("listening tcp %s\n", argv[2]);
	fflush(stdout);
	for (;;) {
		int one = 1, conn = accept(fd, NULL, NULL);
		if (conn < 0) {
			if (errno == EINTR)
				continue;
			perror("accept");
			return 1;
		}
		setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		serve(conn);
		close(conn);
	}
}
