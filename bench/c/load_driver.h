/*
 * load_driver.h: what the C benchmark clients (bench_client.c,
 * ds_bench_client.c) share: their options, the client processes, the
 * measured window, latency percentiles and the result line. Each client
 * supplies only its calls.
 *
 *   CLIENT -m MODE [-n BYTES] [-p PROCS] [-t SECS] [-w SECS] HOST PORT
 *
 * PROCS client processes (fork), each calling in a loop for -w seconds of
 * warm-up, then -t seconds of measurement; the calls that finish inside
 * the measured window count (also those that started before it: with
 * hundreds of processes a 1 MiB call can take as long as the window, and
 * counting only calls that also start inside it would count almost none).
 * Output, one line (the format of the Rust client, `bench load`):
 *
 *   result calls=N total_calls=T window_ns=W p50_ns=X p99_ns=Y client_cpu_ns=C bytes=B
 *
 * calls/bytes: finished in the window; total_calls: including warm-up (for the
 * server's CPU per call); p50/p99: latency percentiles (nearest rank) over
 * the window's calls of every process; client_cpu_ns: user + system CPU
 * time of all client processes during the window.
 */
#ifndef LOAD_DRIVER_H
#define LOAD_DRIVER_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <rpc/rpc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* Latency samples kept over all processes (more calls are counted, not kept). */
#define LOAD_TOTAL_SAMPLES (4u << 20)

/* The command line. */
struct load_options {
	const char *mode; /* -m, required */
	long size;        /* -n, bytes (default 1 MiB) */
	long procs;       /* -p (default 1) */
	double secs;      /* -t (default 1) */
	double warmup;    /* -w (default 0.2) */
	struct sockaddr_in server;
};

/* Per-process results, in memory shared with the parent. */
struct load_slot {
	long long calls;
	long long total_calls;
	long long bytes;
	long long cpu_ns;
	unsigned nsamples;
	int failed;
};

/* What one client process measures into. */
struct load_window {
	long long start, end;
	struct load_slot *slot;
	uint32_t *samples;
	unsigned cap;
};

static long long load_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long load_cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       ((long long)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static int load_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile (per mille) of sorted samples; 0 if there are none. */
static uint32_t load_percentile(const uint32_t *s, size_t n, size_t per_mille)
{
	size_t rank;
	if (n == 0)
		return 0;
	rank = (n * per_mille + 999) / 1000;
	if (rank < 1)
		rank = 1;
	return s[rank - 1];
}

/* Prints "usage: USAGE"; returns the exit status for it, 2. */
static int load_usage(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	return 2;
}

/* The index of mode in the NULL-terminated names, or -1. */
static int load_mode(const char *mode, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(mode, names[i]) == 0)
			return i;
	return -1;
}

/*
 * Parses the command line into *o (sizes up to max_size bytes); 0 on
 * success, else prints "usage: USAGE" and returns 2.
 */
static int load_parse(int argc, char **argv, const char *usage, long max_size,
		      struct load_options *o)
{
	int opt;
	char *endp;
	long port;

	memset(o, 0, sizeof *o);
	o->size = 1048576;
	o->procs = 1;
	o->secs = 1.0;
	o->warmup = 0.2;
	while ((opt = getopt(argc, argv, "m:n:p:t:w:")) != -1) {
		switch (opt) {
		case 'm':
			o->mode = optarg;
			break;
		case 'n':
			o->size = strtol(optarg, &endp, 10);
			if (*endp || o->size < 0 || o->size > max_size)
				goto bad;
			break;
		case 'p':
			o->procs = strtol(optarg, &endp, 10);
			if (*endp || o->procs < 1 || o->procs > 1024)
				goto bad;
			break;
		case 't':
			o->secs = strtod(optarg, &endp);
			if (*endp || !(o->secs > 0))
				goto bad;
			break;
		case 'w':
			o->warmup = strtod(optarg, &endp);
			if (*endp || !(o->warmup >= 0))
				goto bad;
			break;
		default:
			goto bad;
		}
	}
	if (!o->mode || argc - optind != 2)
		goto bad;
	o->server.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[optind], &o->server.sin_addr) != 1)
		goto bad;
	port = strtol(argv[optind + 1], &endp, 10);
	if (*endp || port <= 0 || port > 65535)
		goto bad;
	o->server.sin_port = htons((unsigned short)port);
	return 0;
bad:
	return load_usage(usage);
}

/*
 * A CLIENT of program prog, version vers on a new TCP connection to sin,
 * or NULL (printed). What clnttcp_create does (TCP_NODELAY, connect,
 * clnt_vc_create with libtirpc's default 64 KiB fragment buffers),
 * except binding a reserved source port: as root, every run's
 * connections would hold reserved ports in TIME_WAIT, and a few runs of
 * 64 processes exhaust them. The Rust client uses ephemeral ports too.
 * clnt_destroy closes the socket.
 */
static CLIENT *load_connect(struct sockaddr_in *sin, rpcprog_t prog, rpcvers_t vers)
{
	int sock, one = 1;
	struct netbuf raddr;
	CLIENT *clnt;

	sock = socket(AF_INET, SOCK_STREAM, 0);
	if (sock < 0 || setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
	    connect(sock, (struct sockaddr *)sin, sizeof *sin) < 0) {
		perror("connect");
		if (sock >= 0)
			close(sock);
		return NULL;
	}
	raddr.maxlen = raddr.len = sizeof *sin;
	raddr.buf = sin;
	clnt = clnt_vc_create(sock, &raddr, prog, vers, 0, 0);
	if (!clnt) {
		clnt_pcreateerror("clnt_vc_create");
		close(sock);
		return NULL;
	}
	clnt_control(clnt, CLSET_FD_CLOSE, NULL);
	return clnt;
}

/*
 * Calls call(ctx) in a loop until the window ends, counting the calls
 * that finish inside it (each moving bytes_per_call bytes) and keeping
 * their latencies. Stops, marking the slot failed, at the first
 * call that returns non-zero.
 */
static void load_loop(struct load_window *w, long long bytes_per_call, int (*call)(void *),
		      void *ctx)
{
	struct load_slot *slot = w->slot;
	long long cpu0 = 0;
	int in_window = 0;

	for (;;) {
		long long t0 = load_now_ns(), t1;
		if (t0 >= w->end)
			break;
		if (!in_window && t0 >= w->start) {
			in_window = 1;
			cpu0 = load_cpu_ns();
		}
		if (call(ctx) != 0) {
			slot->failed = 1;
			break;
		}
		t1 = load_now_ns();
		slot->total_calls++;
		if (t1 >= w->start && t1 <= w->end) {
			long long lat = t1 - t0;
			slot->calls++;
			slot->bytes += bytes_per_call;
			if (slot->nsamples < w->cap)
				w->samples[slot->nsamples++] =
					lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
		}
	}
	if (in_window)
		slot->cpu_ns = load_cpu_ns() - cpu0;
}

/*
 * Runs o->procs processes, each child(w, arg) (which calls load_loop, or
 * marks w->slot failed), then prints the result line. Returns the exit
 * status: 0, or 1 if a process failed.
 *
 * The processes start together: each waits at a gate (a pipe the parent
 * closes) until all are forked, and the warm-up and the window are timed
 * from then, so that forking hundreds of processes on a loaded machine
 * does not eat into the warm-up.
 */
static int load_run(const struct load_options *o, void (*child)(struct load_window *, void *),
		    void *arg)
{
	long procs = o->procs;
	unsigned cap = LOAD_TOTAL_SAMPLES / (unsigned)procs;
	struct load_slot *slots;
	uint32_t *samples;
	long long start, end, *clock;
	int gate[2];
	size_t nsamples = 0;
	long long calls = 0, total_calls = 0, bytes = 0, cpu = 0;
	int failed = 0;

	slots = mmap(NULL, sizeof(struct load_slot) * (size_t)procs, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	samples = mmap(NULL, sizeof(uint32_t) * (size_t)cap * (size_t)procs,
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	/* The window's start and end, written once every process is forked. */
	clock = mmap(NULL, 2 * sizeof(long long), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED || samples == MAP_FAILED || clock == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(slots, 0, sizeof(struct load_slot) * (size_t)procs);
	if (pipe(gate) < 0) {
		perror("pipe");
		return 1;
	}

	for (long i = 0; i < procs; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			char byte;
			close(gate[1]);
			/* Returns 0 once the parent closed the gate (or died). */
			while (read(gate[0], &byte, 1) < 0 && errno == EINTR)
				;
			close(gate[0]);
			struct load_window w = {
				clock[0], clock[1], &slots[i], samples + (size_t)cap * (size_t)i, cap,
			};
			child(&w, arg);
			_exit(slots[i].failed ? 1 : 0);
		}
	}
	start = load_now_ns() + (long long)(o->warmup * 1e9);
	end = start + (long long)(o->secs * 1e9);
	clock[0] = start;
	clock[1] = end;
	close(gate[1]);
	close(gate[0]);
	for (long i = 0; i < procs; i++) {
		int status;
		if (wait(&status) < 0) {
			perror("wait");
			return 1;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	if (failed) {
		fprintf(stderr, "a client process failed\n");
		return 1;
	}
	/* Gather every process's samples at the front, then sort. */
	for (long i = 0; i < procs; i++) {
		struct load_slot *s = &slots[i];
		memmove(samples + nsamples, samples + (size_t)cap * (size_t)i,
			sizeof(uint32_t) * s->nsamples);
		nsamples += s->nsamples;
		calls += s->calls;
		total_calls += s->total_calls;
		bytes += s->bytes;
		cpu += s->cpu_ns;
	}
	qsort(samples, nsamples, sizeof(uint32_t), load_cmp_u32);
	printf("result calls=%lld total_calls=%lld window_ns=%lld p50_ns=%u p99_ns=%u "
	       "client_cpu_ns=%lld bytes=%lld\n",
	       calls, total_calls, end - start, load_percentile(samples, nsamples, 500),
	       load_percentile(samples, nsamples, 990), cpu, bytes);
	return 0;
}

#endif
