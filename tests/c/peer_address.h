/*
 * peer_address.h: the server address of the C test clients
 * (interop_client.c, datastore_client.c), from their last arguments:
 * `tcp HOST PORT`, `udp HOST PORT` or `unix PATH`, as the netbuf that
 * libtirpc's clnt_vc_create / clnt_dg_create take (no rpcbind).
 */
#ifndef PEER_ADDRESS_H
#define PEER_ADDRESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <rpc/rpc.h>
#include <sys/socket.h>
#include <sys/un.h>

struct peer_address {
	int udp;      /* `udp HOST PORT`: a datagram socket */
	int family;   /* AF_INET or AF_UNIX */
	union {
		struct sockaddr_in sin;
		struct sockaddr_un sun;
	} addr;
	struct netbuf nb; /* points into addr: do not copy the struct */
};

/*
 * Parses the argc words at argv into *a; 0 on success, -1 when they are
 * not one of the three forms.
 */
static int peer_address(int argc, char **argv, struct peer_address *a)
{
	char *end;
	long port;

	memset(a, 0, sizeof *a);
	if (argc == 2 && strcmp(argv[0], "unix") == 0) {
		if (strlen(argv[1]) >= sizeof a->addr.sun.sun_path)
			return -1;
		a->family = AF_UNIX;
		a->addr.sun.sun_family = AF_UNIX;
		strcpy(a->addr.sun.sun_path, argv[1]);
		a->nb.buf = &a->addr.sun;
		a->nb.len = a->nb.maxlen = sizeof a->addr.sun;
		return 0;
	}
	if (argc != 3 || (strcmp(argv[0], "tcp") != 0 && strcmp(argv[0], "udp") != 0))
		return -1;
	port = strtol(argv[2], &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -1;
	a->udp = strcmp(argv[0], "udp") == 0;
	a->family = AF_INET;
	a->addr.sin.sin_family = AF_INET;
	a->addr.sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, argv[1], &a->addr.sin.sin_addr) != 1)
		return -1;
	a->nb.buf = &a->addr.sin;
	a->nb.len = a->nb.maxlen = sizeof a->addr.sin;
	return 0;
}

/*
 * A stream socket connected to the stream address a, or -1 (printed).
 */
static int peer_connect(const struct peer_address *a)
{
	int fd = socket(a->family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)a->nb.buf, a->nb.len) < 0) {
		perror("connect");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

#endif
