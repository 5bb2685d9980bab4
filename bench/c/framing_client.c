/*
 * framing_client.c: the client half of the framing-only limit (see
 * framing_server.c): DEPTH call records of FRAMING_CALL_BYTES in flight on
 * one loopback TCP connection, each answered record replaced at once by a
 * new call, all the calls one read makes due sent with one write.
 *
 *   framing_client [-d DEPTH] [-t SECS] [-w SECS] HOST PORT
 *
 * DEPTH (default 64, at most 1024) is the number of calls in flight; -w
 * seconds of warm-up, then -t seconds measured, as load_driver.h's
 * clients. Replies must come back in order with their call's XID. Output:
 * load_driver.h's result line (calls counts records answered; bytes 0).
 */
#include <netinet/tcp.h>

#include "framing.h"
#include "load_driver.h"

#define USAGE "framing_client [-d DEPTH] [-t SECS] [-w SECS] HOST PORT"
#define MAX_DEPTH 1024

struct conn {
	struct load_window *w;
	long long sent_ns[MAX_DEPTH]; /* start time of each call in flight, by XID % depth */
	uint32_t depth;
	uint32_t next_xid;  /* XID of the next call to send */
	uint32_t reply_xid; /* XID the next reply must carry */
	long long now;      /* time of the read that brought the replies */
	char out[MAX_DEPTH * (4 + FRAMING_CALL_BYTES)];
	size_t out_len;
	int bad;
};

static void send_call(struct conn *c)
{
	c->sent_ns[c->next_xid % c->depth] = c->now;
	framing_put(c->out, &c->out_len, c->next_xid++, FRAMING_CALL_BYTES);
}

static void on_reply(void *ctx, uint32_t xid, uint32_t body)
{
	struct conn *c = ctx;
	struct load_window *w = c->w;
	long long t0;
	if (xid != c->reply_xid++ || body != FRAMING_REPLY_BYTES) {
		c->bad = 1;
		return;
	}
	t0 = c->sent_ns[xid % c->depth];
	w->slot->total_calls++;
	if (t0 >= w->start && c->now <= w->end) {
		long long lat = c->now - t0;
		w->slot->calls++;
		if (w->slot->nsamples < w->cap)
			w->samples[w->slot->nsamples++] = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
	}
	if (c->now < w->end)
		send_call(c);
}

static void run_child(struct load_window *w, void *arg)
{
	static struct conn c;
	static char in[FRAMING_BUF_BYTES];
	struct load_options *o = arg;
	size_t have = 0;
	long long cpu0 = 0;
	int in_window = 0, one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
	    connect(fd, (struct sockaddr *)&o->server, sizeof o->server) < 0) {
		perror("framing_client: connect");
		w->slot->failed = 1;
		return;
	}
	c.w = w;
	c.depth = (uint32_t)o->size;
	c.now = load_now_ns();
	for (uint32_t i = 0; i < c.depth; i++)
		send_call(&c);
	while (c.now < w->end) {
		ssize_t n;
		if (c.out_len > 0 && framing_write_all(fd, c.out, c.out_len) < 0) {
			perror("framing_client: write");
			w->slot->failed = 1;
			break;
		}
		c.out_len = 0;
		n = read(fd, in + have, sizeof in - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "framing_client: connection ended\n");
			w->slot->failed = 1;
			break;
		}
		have += (size_t)n;
		c.now = load_now_ns();
		if (!in_window && c.now >= w->start) {
			in_window = 1;
			cpu0 = load_cpu_ns();
		}
		if (framing_split(in, &have, on_reply, &c) < 0 || c.bad) {
			fprintf(stderr, "framing_client: a reply out of order or malformed\n");
			w->slot->failed = 1;
			break;
		}
	}
	if (in_window)
		w->slot->cpu_ns = load_cpu_ns() - cpu0;
	close(fd);
}

int main(int argc, char **argv)
{
	struct load_options o;
	int opt;
	char *endp;
	long port;

	memset(&o, 0, sizeof o);
	o.size = 64; /* the depth, for run_child */
	o.procs = 1;
	o.secs = 1.0;
	o.warmup = 0.2;
	o.mode = "null";
	while ((opt = getopt(argc, argv, "d:t:w:")) != -1) {
		switch (opt) {
		case 'd':
			o.size = strtol(optarg, &endp, 10);
			if (*endp || o.size < 1 || o.size > MAX_DEPTH)
				return load_usage(USAGE);
			break;
		case 't':
			o.secs = strtod(optarg, &endp);
			if (*endp || !(o.secs > 0))
				return load_usage(USAGE);
			break;
		case 'w':
			o.warmup = strtod(optarg, &endp);
			if (*endp || !(o.warmup >= 0))
				return load_usage(USAGE);
			break;
		default:
			return load_usage(USAGE);
		}
	}
	if (argc - optind != 2)
		return load_usage(USAGE);
	o.server.sin_family = AF_INET;
	port = strtol(argv[optind + 1], &endp, 10);
	if (inet_pton(AF_INET, argv[optind], &o.server.sin_addr) != 1 || *endp || port <= 0 ||
	    port > 65535)
		return load_usage(USAGE);
	o.server.sin_port = htons((unsigned short)port);
	return load_run(&o, run_child, &o);
}
