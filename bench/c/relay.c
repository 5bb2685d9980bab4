/*
 * relay.c: the relay floor of the broker benchmark, the physical
 * reference of every figure measured through the broker: what a process
 * between the clients and one backend costs when it does nothing but move
 * bytes (no record marking, no XID rewriting, no multiplexing), so that
 * the data crosses loopback twice as through the broker.
 *
 *   relay tcp PORT BACKEND_PORT    listen on 127.0.0.1:PORT, relay to
 *                                  127.0.0.1:BACKEND_PORT
 *
 * One process, one epoll set (edge-triggered). Each accepted client
 * connection gets its own connection to the backend; bytes go both ways
 * with splice(2) through one pipe per direction (socket -> pipe -> socket,
 * never copied into user space). When either side ends or fails, both
 * connections of the pair are closed. Prints "listening tcp PORT" once
 * ready and relays until killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>

#include "peer_listen.h"

/* Bytes each direction's pipe is asked to hold (the pipe keeps its
 * default 64 KiB if the kernel refuses): a 1 MiB reply in one splice. */
#define RELAY_PIPE_BYTES (1 << 20)
/* Events taken from epoll per wait. */
#define RELAY_EVENTS 64

/* One direction of a pair: src -> pipe -> dst. */
struct dir {
	int src, dst;
	int pipe[2];
	/* Bytes in the pipe, not yet spliced to dst. */
	size_t pending;
};

struct pair;

/* One socket of a pair, what epoll reports: side 0 is the client's
 * connection, side 1 the backend's. */
struct end {
	struct pair *pair;
	int side;
};

/* A client connection and its backend connection. dirs[0] reads the
 * client (side 0), dirs[1] reads the backend (side 1). */
struct pair {
	int fd[2];
	struct dir dirs[2];
	struct end ends[2];
	/* Closed in this round of events, freed after it (a later event
	 * of the round may name it). */
	int closed;
	struct pair *next_closed;
};

static struct pair *closed_pairs;

static struct sockaddr_in backend;

/* Moves what can move without blocking from d->src to d->dst. Returns 0
 * when one side would block, -1 when src ended or a call failed. */
static int pump(struct dir *d)
{
	for (;;) {
		ssize_t n;
		if (d->pending > 0) {
			n = splice(d->pipe[0], NULL, d->dst, NULL, d->pending,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				d->pending -= (size_t)n;
				continue;
			}
		} else {
			/* The pipe is empty: a would-block is the socket's. */
			n = splice(d->src, NULL, d->pipe[1], NULL, RELAY_PIPE_BYTES,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				d->pending = (size_t)n;
				continue;
			}
			if (n == 0)
				return -1;
		}
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 0 : -1;
	}
}

/* Closes both connections and pipes of p (closing removes them from
 * the epoll set); p itself is freed by free_closed. */
static void close_pair(struct pair *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		if (p->dirs[i].pipe[0] >= 0)
			close(p->dirs[i].pipe[0]);
		if (p->dirs[i].pipe[1] >= 0)
			close(p->dirs[i].pipe[1]);
	}
	p->closed = 1;
	p->next_closed = closed_pairs;
	closed_pairs = p;
}

static void free_closed(void)
{
	while (closed_pairs) {
		struct pair *p = closed_pairs;
		closed_pairs = p->next_closed;
		free(p);
	}
}

/* Connects to the backend; the socket (non-blocking once connected), or
 * -1 (printed). */
static int connect_backend(void)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("relay: socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&backend, sizeof backend) < 0) {
		perror("relay: connecting to the backend");
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Pairs the accepted client connection conn with a new backend
 * connection and registers both; closes conn on failure. */
static void open_pair(int epfd, int conn)
{
	int one = 1;
	struct pair *p = calloc(1, sizeof *p);
	if (!p) {
		close(conn);
		return;
	}
	p->fd[0] = conn;
	p->fd[1] = connect_backend();
	for (int i = 0; i < 2; i++)
		p->dirs[i].pipe[0] = p->dirs[i].pipe[1] = -1;
	if (p->fd[1] < 0) {
		close_pair(p);
		return;
	}
	setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	for (int i = 0; i < 2; i++) {
		struct dir *d = &p->dirs[i];
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET};
		d->src = p->fd[i];
		d->dst = p->fd[1 - i];
		if (pipe2(d->pipe, O_NONBLOCK) < 0) {
			perror("relay: pipe");
			close_pair(p);
			return;
		}
		fcntl(d->pipe[1], F_SETPIPE_SZ, RELAY_PIPE_BYTES);
		p->ends[i].pair = p;
		p->ends[i].side = i;
		ev.data.ptr = &p->ends[i];
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd[i], &ev) < 0) {
			perror("relay: epoll_ctl");
			close_pair(p);
			return;
		}
	}
}

/* Accepts every pending connection on the listening socket fd. */
static void accept_all(int epfd, int fd)
{
	for (;;) {
		int conn = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
		if (conn >= 0) {
			open_pair(epfd, conn);
			continue;
		}
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			perror("relay: accept");
		if (errno != EINTR)
			return;
	}
}

int main(int argc, char **argv)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
	struct epoll_event events[RELAY_EVENTS];
	char *end;
	long port = argc == 4 ? strtol(argv[3], &end, 10) : 0;
	int fd, epfd;

	if (argc != 4 || strcmp(argv[1], "tcp") != 0 || *end || port <= 0 || port > 65535) {
		fprintf(stderr, "usage: relay tcp PORT BACKEND_PORT\n");
		return 2;
	}
	backend.sin_family = AF_INET;
	backend.sin_port = htons((unsigned short)port);
	backend.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	signal(SIGPIPE, SIG_IGN);
	fd = peer_listen(argv[1], argv[2]);
	if (fd < 0)
		return fd == PEER_LISTEN_USAGE ? 2 : 1;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	epfd = epoll_create1(0);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		perror("relay: epoll");
		return 1;
	}
	printf("listening tcp %s\n", argv[2]);
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(epfd, events, RELAY_EVENTS, -1);
		if (n < 0 && errno != EINTR) {
			perror("relay: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct end *e = events[i].data.ptr;
			struct pair *p;
			uint32_t what = events[i].events;
			if (!e) {
				accept_all(epfd, fd);
				continue;
			}
			p = e->pair;
			if (p->closed)
				continue;
			/* Readable: read this side (an error or hang-up shows
			 * as a failed or ended splice). Writable: drain the
			 * other direction's pipe into it, if it holds bytes
			 * (epoll reports a writable socket with every event). */
			if (what & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				if (pump(&p->dirs[e->side]) < 0) {
					close_pair(p);
					continue;
				}
			}
			if ((what & EPOLLOUT) && p->dirs[1 - e->side].pending > 0) {
				if (pump(&p->dirs[1 - e->side]) < 0)
					close_pair(p);
			}
		}
		free_closed();
	}
}
