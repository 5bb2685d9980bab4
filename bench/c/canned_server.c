/*
 * canned_server.c: the references of the broker benchmark that no server
 * and nothing in between can pass: the most calls per second these
 * synchronous C clients make on this machine (polling, below), and the
 * CPU a process spends per call when it does nothing but read each call
 * from the client's connection and write its reply there (a read and a
 * write per call, an epoll wait shared by the calls ready together).
 *
 *   canned_server tcp PORT [poll]     listen on 127.0.0.1:PORT
 *
 * With `poll` it never sleeps: epoll_wait returns at once, and a client
 * whose call arrives never pays for waking the server (a wake-up across
 * CPUs costs the sender microseconds). A server that sleeps between calls
 * makes the clients slower than a busy one does; polling gives the most
 * calls per second the clients themselves can make. Without `poll` it
 * waits in epoll_wait as any server does, and its CPU time per call is
 * that of a process that does nothing but read and answer each call.
 *
 * One process, one epoll set. Each datastore call (RFC 5531 record
 * marking, any number of fragments) is answered from memory: its XID,
 * procedure and the one argument that sizes the reply are read at their
 * places, nothing is stored or dispatched. DS_NULL: an empty result;
 * DS_PUT: DS_OK and the size written; DS_GET: DS_OK and `count` bytes of
 * the pattern ds_bench_client stores and checks (byte i is i * 7 + 3),
 * eof TRUE; anything else closes the connection. One reply per
 * connection is written (writev) before its next call is answered, as a
 * synchronous client expects. Prints "listening tcp PORT" once ready and
 * serves until killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/uio.h>

#include "peer_listen.h"

#define DS_PROGRAM 0x2000DA7Au
#define DS_MAXDATA (4u << 20)
#define DS_PUT 1u
#define DS_GET 2u
#define LAST_FRAGMENT 0x80000000u
/* A record larger than this (DS_MAXDATA of data and its headers) closes
 * the connection. */
#define MAX_RECORD (DS_MAXDATA + 4096u)
#define FIRST_BUF (64u << 10)
#define EVENTS 64

/* DS_MAXDATA bytes of the pattern. */
static char *pattern;

struct conn {
	int fd;
	/* Received bytes not yet answered, in [0, have) of a cap-byte buffer. */
	char *in;
	size_t cap, have;
	/* The reply being written: head words, then data bytes, then tail
	 * bytes (padding and eof); written bytes of it so far, and its total. */
	uint32_t head[11];
	struct iovec iov[3];
	char tail[8];
	size_t written, total;
};

/* The 4-byte big-endian word of rec at *at, advanced; -1 past len. */
static int word(const char *rec, size_t len, size_t *at, uint32_t *v)
{
	if (len < 4 || *at > len - 4)
		return -1;
	memcpy(v, rec + *at, 4);
	*v = ntohl(*v);
	*at += 4;
	return 0;
}

/* Skips a variable-length opaque or string (length word, padded bytes). */
static int skip_opaque(const char *rec, size_t len, size_t *at, uint32_t *n)
{
	if (word(rec, len, at, n) < 0 || *n > len - *at)
		return -1;
	*at += (*n + 3u) & ~3u;
	return *at <= len ? 0 : -1;
}

/* Builds c's reply to the call rec[0..len); -1 if it is not a datastore
 * call this server answers. */
static int build_reply(struct conn *c, const char *rec, size_t len)
{
	size_t at = 0, words = 0;
	uint32_t xid, mtype, rpcvers, prog, vers, proc, flavor, n, v;
	if (word(rec, len, &at, &xid) < 0 || word(rec, len, &at, &mtype) < 0 ||
	    word(rec, len, &at, &rpcvers) < 0 || word(rec, len, &at, &prog) < 0 ||
	    word(rec, len, &at, &vers) < 0 || word(rec, len, &at, &proc) < 0 ||
	    word(rec, len, &at, &flavor) < 0 || skip_opaque(rec, len, &at, &n) < 0 ||
	    word(rec, len, &at, &flavor) < 0 || skip_opaque(rec, len, &at, &n) < 0)
		return -1;
	if (mtype != 0 || rpcvers != 2 || prog != DS_PROGRAM || vers != 1 || proc > DS_GET)
		return -1;
	/* XID, REPLY, MSG_ACCEPTED, AUTH_NONE verifier, SUCCESS. */
	uint32_t head[] = {xid, 1, 0, 0, 0, 0};
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
		c->head[1 + words++] = htonl(head[i]);
	c->iov[1].iov_len = 0;
	c->iov[2].iov_len = 0;
	if (proc == DS_PUT) {
		/* key, offset, truncate, data: the size written is data's length. */
		if (skip_opaque(rec, len, &at, &n) < 0 || word(rec, len, &at, &v) < 0 ||
		    word(rec, len, &at, &v) < 0 || word(rec, len, &at, &v) < 0 ||
		    word(rec, len, &at, &n) < 0)
			return -1;
		c->head[1 + words++] = htonl(0); /* DS_OK */
		c->head[1 + words++] = htonl(0); /* size, high word */
		c->head[1 + words++] = htonl(n);
	} else if (proc == DS_GET) {
		/* key, offset, count. */
		if (skip_opaque(rec, len, &at, &n) < 0 || word(rec, len, &at, &v) < 0 ||
		    word(rec, len, &at, &v) < 0 || word(rec, len, &at, &n) < 0)
			return -1;
		if (n > DS_MAXDATA)
			n = DS_MAXDATA;
		c->head[1 + words++] = htonl(0); /* DS_OK */
		c->head[1 + words++] = htonl(n);
		c->iov[1].iov_base = pattern;
		c->iov[1].iov_len = n;
		uint32_t eof = htonl(1);
		size_t pad = (4u - (n & 3u)) & 3u;
		memset(c->tail, 0, pad);
		memcpy(c->tail + pad, &eof, 4);
		c->iov[2].iov_base = c->tail;
		c->iov[2].iov_len = pad + 4;
	}
	size_t body = words * 4 + c->iov[1].iov_len + c->iov[2].iov_len;
	c->head[0] = htonl(LAST_FRAGMENT | (uint32_t)body);
	c->iov[0].iov_base = c->head;
	c->iov[0].iov_len = (1 + words) * 4;
	c->written = 0;
	c->total = 4 + body;
	return 0;
}

/* Writes what it can of c's reply: 1 when all of it is written, 0 when
 * the socket is full, -1 on failure. */
static int write_reply(struct conn *c)
{
	while (c->written < c->total) {
		struct iovec iov[3];
		int cnt = 0;
		size_t skip = c->written;
		for (int i = 0; i < 3; i++) {
			if (skip >= c->iov[i].iov_len) {
				skip -= c->iov[i].iov_len;
				continue;
			}
			iov[cnt].iov_base = (char *)c->iov[i].iov_base + skip;
			iov[cnt].iov_len = c->iov[i].iov_len - skip;
			skip = 0;
			cnt++;
		}
		ssize_t n = writev(c->fd, iov, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		c->written += (size_t)n;
	}
	c->total = 0;
	return 1;
}

/*
 * The first complete record at the front of c->in: its fragments' bodies
 * moved together to the front, *len its length and *used the bytes it
 * took (marks included). 1 when there is one, 0 when more bytes are
 * needed, -1 for a record over MAX_RECORD.
 */
static int take_record(struct conn *c, size_t *len, size_t *used)
{
	size_t at = 0, body = 0;
	uint32_t mark;
	/* Complete? */
	do {
		if (c->have - at < 4)
			return 0;
		memcpy(&mark, c->in + at, 4);
		mark = ntohl(mark);
		size_t frag = mark & ~LAST_FRAGMENT;
		if (body + frag > MAX_RECORD)
			return -1;
		if (c->have - at - 4 < frag)
			return 0;
		body += frag;
		at += 4 + frag;
	} while (!(mark & LAST_FRAGMENT));
	*len = body;
	*used = at;
	/* Then the bodies together at the front. */
	for (at = 0, body = 0; at < *used;) {
		memcpy(&mark, c->in + at, 4);
		size_t frag = ntohl(mark) & ~LAST_FRAGMENT;
		memmove(c->in + body, c->in + at + 4, frag);
		body += frag;
		at += 4 + frag;
	}
	return 1;
}

/* Answers c's complete calls while its replies go out whole; -1 to close. */
static int answer(struct conn *c)
{
	while (c->total == 0) {
		size_t len, used;
		int r = take_record(c, &len, &used);
		if (r <= 0)
			return r;
		if (build_reply(c, c->in, len) < 0)
			return -1;
		memmove(c->in, c->in + used, c->have - used);
		c->have -= used;
		if (write_reply(c) < 0)
			return -1;
	}
	return 0;
}

/* Reads what the socket holds into c->in (growing it up to a record's
 * size); -1 at the end of input or on failure. */
static int read_calls(struct conn *c)
{
	if (c->have == c->cap) {
		size_t cap = c->cap * 2;
		char *in = cap <= 2 * MAX_RECORD ? realloc(c->in, cap) : NULL;
		if (!in)
			return -1;
		c->in = in;
		c->cap = cap;
	}
	ssize_t n = read(c->fd, c->in + c->have, c->cap - c->have);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	c->have += (size_t)n;
	return 0;
}

static void close_conn(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c);
}

/* Waits for input while no reply is pending, for room while one is. */
static int watch(int ep, struct conn *c)
{
	struct epoll_event ev = {.events = c->total ? EPOLLOUT : EPOLLIN, .data.ptr = c};
	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (fd < 0)
			return;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = calloc(1, sizeof *c);
		char *in = malloc(FIRST_BUF);
		if (!c || !in) {
			free(c);
			free(in);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->in = in;
		c->cap = FIRST_BUF;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			close_conn(ep, c);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4 || strcmp(argv[1], "tcp") != 0 ||
	    (argc == 4 && strcmp(argv[3], "poll") != 0)) {
		fprintf(stderr, "usage: canned_server tcp PORT [poll]\n");
		return 2;
	}
	int wait_ms = argc == 4 ? 0 : -1;
	signal(SIGPIPE, SIG_IGN);
	pattern = malloc(DS_MAXDATA);
	if (!pattern)
		return 1;
	for (uint32_t i = 0; i < DS_MAXDATA; i++)
		pattern[i] = (char)(i * 7u + 3u);
	int lfd = peer_listen(argv[1], argv[2]);
	if (lfd < 0)
		return lfd == PEER_LISTEN_USAGE ? 2 : 1;
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	int ep = epoll_create1(0);
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		perror("canned_server: epoll");
		return 1;
	}
	printf("listening tcp %s\n", argv[2]);
	fflush(stdout);
	for (;;) {
		struct epoll_event evs[EVENTS];
		int n = epoll_wait(ep, evs, EVENTS, wait_ms);
		if (n < 0 && errno != EINTR) {
			perror("canned_server: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c) {
				accept_all(ep, lfd);
				continue;
			}
			int had = c->total != 0;
			int r = had ? write_reply(c) : read_calls(c);
			if (r >= 0)
				r = answer(c);
			if (r >= 0 && had != (c->total != 0))
				r = watch(ep, c);
			if (r < 0)
				close_conn(ep, c);
		}
	}
}
