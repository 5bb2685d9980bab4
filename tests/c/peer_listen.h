/*
 * peer_listen.h: the listening stream socket of the C servers
 * (interop_server.c, datastore_server.c, bench/c/bench_server.c), made
 * without rpcbind: bound and listening before svc_vc_create, as libtirpc
 * needs (see ../shared/notes/libtirpc-peers.md), and served.
 */
#ifndef PEER_LISTEN_H
#define PEER_LISTEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <rpc/rpc.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Connections waiting to be accepted (the kernel caps it at somaxconn). */
#define PEER_LISTEN_BACKLOG 1024

/* peer_listen's result for arguments that make no sense (print usage). */
#define PEER_LISTEN_USAGE (-2)

/*
 * Listens on `tcp PORT` (127.0.0.1 only) or `unix PATH` (an existing file
 * at PATH is replaced), with a backlog of PEER_LISTEN_BACKLOG (the broker
 * benchmark connects 512 client processes at once: a connection beyond
 * the backlog waits for the client's SYN retransmission, a second or
 * more, longer than a measured window). Returns the socket, -1 after
 * printing why a system call failed, or PEER_LISTEN_USAGE.
 */
static int peer_listen(const char *kind, const char *where)
{
	int fd;

	if (strcmp(kind, "tcp") == 0) {
		struct sockaddr_in sin;
		int one = 1;
		char *end;
		long port = strtol(where, &end, 10);
		if (*end || port <= 0 || port > 65535)
			return PEER_LISTEN_USAGE;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			perror("socket");
			return -1;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
			perror("bind");
			return -1;
		}
	} else if (strcmp(kind, "unix") == 0) {
		struct sockaddr_un sun;
		if (strlen(where) >= sizeof sun.sun_path)
			return PEER_LISTEN_USAGE;
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0) {
			perror("socket");
			return -1;
		}
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		strcpy(sun.sun_path, where);
		unlink(where);
		if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
			perror("bind");
			return -1;
		}
	} else {
		return PEER_LISTEN_USAGE;
	}
	if (listen(fd, PEER_LISTEN_BACKLOG) < 0) {
		perror("listen");
		return -1;
	}
	return fd;
}

/*
 * Serves program prog, version vers with dispatch on the listening stream
 * socket fd (libtirpc's default fragment buffers, 64 KiB), printing
 * "listening KIND WHERE" once ready. Returns only on failure (printed),
 * with the exit status.
 */
static int peer_serve(int fd, rpcprog_t prog, rpcvers_t vers,
		      void (*dispatch)(struct svc_req *, SVCXPRT *), const char *kind,
		      const char *where)
{
	SVCXPRT *xprt = svc_vc_create(fd, 0, 0);
	if (!xprt) {
		fprintf(stderr, "svc_vc_create failed\n");
		return 1;
	}
	if (!svc_register(xprt, prog, vers, dispatch, 0)) {
		fprintf(stderr, "svc_register failed\n");
		return 1;
	}
	printf("listening %s %s\n", kind, where);
	fflush(stdout);
	svc_run();
	fprintf(stderr, "svc_run returned\n");
	return 1;
}

#endif
