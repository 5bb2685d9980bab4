/*
 * ds_bench_client.c: synchronous C rpcgen + libtirpc clients of the
 * datastore protocol (specs/datastore.x, rpcgen -M stubs), for the broker
 * benchmark: the same client against a datastore server directly and
 * through the broker.
 *
 *   ds_bench_client -m null|get [-n BYTES] [-p PROCS] [-t SECS] [-w SECS] HOST PORT
 *
 * Like bench_client.c: PROCS client processes (fork), each with its own
 * TCP connection (clnt_vc_create on a connected socket) calling in a loop,
 * -w seconds of warm-up, then -t seconds of measurement; only calls that
 * start and finish inside the window count. get: before forking, one
 * DS_PUT stores BYTES bytes (a pattern) under the key "bench/BYTES"; then
 * every call is a DS_GET of the whole object, its length and first and
 * last bytes checked.
 *
 * Output, one line (the format of bench_client.c and `bench load`):
 *
 *   result calls=N total_calls=T window_ns=W p50_ns=X p99_ns=Y client_cpu_ns=C bytes=B
 */
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
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "datastore.h"

/* Latency samples kept over all processes (more calls are counted, not kept). */
#define TOTAL_SAMPLES (4u << 20)

enum mode { MODE_NULL, MODE_GET };

static char key[64];

/* The byte at offset i of the stored object. */
static char pattern(u_int i)
{
	return (char)(i * 7u + 3u);
}

/* Per-process results, in memory shared with the parent. */
struct slot {
	long long calls;
	long long total_calls;
	long long bytes;
	long long cpu_ns;
	unsigned nsamples;
	int failed;
};

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       ((long long)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile (per mille) of sorted samples; 0 if there are none. */
static uint32_t percentile(const uint32_t *s, size_t n, size_t per_mille)
{
	size_t rank;
	if (n == 0)
		return 0;
	rank = (n * per_mille + 999) / 1000;
	if (rank < 1)
		rank = 1;
	return s[rank - 1];
}

/* One call; 0 on success (reply checked), -1 on failure (printed). */
static int one_call(CLIENT *clnt, enum mode mode, u_int size)
{
	enum clnt_stat st;
	if (mode == MODE_NULL) {
		st = ds_null_1(NULL, NULL, clnt);
	} else {
		ds_get_args a;
		ds_get_res res;
		memset(&res, 0, sizeof res);
		a.key = key;
		a.offset = 0;
		a.count = size;
		st = ds_get_1(&a, &res, clnt);
		if (st == RPC_SUCCESS) {
			int bad = 0;
			if (res.status != DS_OK) {
				fprintf(stderr, "DS_GET %s: status %d\n", key, res.status);
				bad = 1;
			} else {
				ds_data *d = &res.ds_get_res_u.ok.data;
				if (d->ds_data_len != size ||
				    (size > 0 && (d->ds_data_val[0] != pattern(0) ||
						  d->ds_data_val[size - 1] != pattern(size - 1)))) {
					fprintf(stderr, "DS_GET returned %u bytes (or wrong ones), asked %u\n",
						d->ds_data_len, size);
					bad = 1;
				}
			}
			clnt_freeres(clnt, (xdrproc_t)xdr_ds_get_res, (caddr_t)&res);
			if (bad)
				return -1;
		}
	}
	if (st != RPC_SUCCESS) {
		clnt_perror(clnt, "call");
		return -1;
	}
	return 0;
}

/* A CLIENT on a new TCP connection to sin (TCP_NODELAY), or NULL. */
static CLIENT *connect_client(struct sockaddr_in *sin)
{
	int sock, one = 1;
	struct netbuf raddr;
	CLIENT *clnt;

	/* As bench_client.c: clnttcp_create without the reserved port. */
	sock = socket(AF_INET, SOCK_STREAM, 0);
	if (sock < 0 || setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
	    connect(sock, (struct sockaddr *)sin, sizeof *sin) < 0) {
		perror("connect");
		return NULL;
	}
	raddr.maxlen = raddr.len = sizeof *sin;
	raddr.buf = sin;
	clnt = clnt_vc_create(sock, &raddr, DATASTORE, DATASTORE_V1, 0, 0);
	if (!clnt) {
		clnt_pcreateerror("clnt_vc_create");
		close(sock);
		return NULL;
	}
	clnt_control(clnt, CLSET_FD_CLOSE, NULL);
	return clnt;
}

/* Stores the object the GET calls read; 0 on success. */
static int store_object(struct sockaddr_in *sin, u_int size)
{
	CLIENT *clnt = connect_client(sin);
	ds_put_args a;
	ds_put_res r;
	enum clnt_stat st;
	char *data;
	int ok;

	if (!clnt)
		return -1;
	data = malloc(size ? size : 1);
	if (!data) {
		clnt_destroy(clnt);
		return -1;
	}
	for (u_int i = 0; i < size; i++)
		data[i] = pattern(i);
	memset(&r, 0, sizeof r);
	a.key = key;
	a.offset = 0;
	a.truncate = TRUE;
	a.data.ds_data_len = size;
	a.data.ds_data_val = data;
	st = ds_put_1(&a, &r, clnt);
	ok = st == RPC_SUCCESS && r.status == DS_OK;
	if (st != RPC_SUCCESS)
		clnt_perror(clnt, "DS_PUT");
	else if (r.status != DS_OK)
		fprintf(stderr, "DS_PUT %s: status %d\n", key, r.status);
	xdr_free((xdrproc_t)xdr_ds_put_res, (char *)&r);
	clnt_destroy(clnt);
	free(data);
	return ok ? 0 : -1;
}

static void run_child(struct sockaddr_in *sin, enum mode mode, u_int size, long long start,
		      long long end, struct slot *slot, uint32_t *samples, unsigned cap)
{
	CLIENT *clnt;
	long long cpu0 = 0;
	int in_window = 0;

	clnt = connect_client(sin);
	if (!clnt) {
		slot->failed = 1;
		return;
	}
	for (;;) {
		long long t0 = now_ns(), t1;
		if (t0 >= end)
			break;
		if (!in_window && t0 >= start) {
			in_window = 1;
			cpu0 = cpu_ns();
		}
		if (one_call(clnt, mode, size) != 0) {
			slot->failed = 1;
			break;
		}
		t1 = now_ns();
		slot->total_calls++;
		if (t0 >= start && t1 <= end) {
			long long lat = t1 - t0;
			slot->calls++;
			slot->bytes += mode == MODE_NULL ? 0 : size;
			if (slot->nsamples < cap)
				samples[slot->nsamples++] = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
		}
	}
	if (in_window)
		slot->cpu_ns = cpu_ns() - cpu0;
	clnt_destroy(clnt);
}

static int usage(void)
{
	fprintf(stderr, "usage: ds_bench_client -m null|get [-n BYTES] [-p PROCS] "
			"[-t SECS] [-w SECS] HOST PORT\n");
	return 2;
}

int main(int argc, char **argv)
{
	enum mode mode = MODE_NULL;
	int have_mode = 0;
	long size = 1048576, procs = 1;
	double secs = 1.0, warmup = 0.2;
	struct sockaddr_in sin;
	struct slot *slots;
	uint32_t *samples;
	unsigned cap;
	long long start, end;
	int opt, failed = 0;
	size_t nsamples = 0;
	long long calls = 0, total_calls = 0, bytes = 0, cpu = 0;
	char *endp;

	while ((opt = getopt(argc, argv, "m:n:p:t:w:")) != -1) {
		switch (opt) {
		case 'm':
			have_mode = 1;
			if (strcmp(optarg, "null") == 0)
				mode = MODE_NULL;
			else if (strcmp(optarg, "get") == 0)
				mode = MODE_GET;
			else
				return usage();
			break;
		case 'n':
			size = strtol(optarg, &endp, 10);
			if (*endp || size < 0 || size > DS_MAXDATA)
				return usage();
			break;
		case 'p':
			procs = strtol(optarg, &endp, 10);
			if (*endp || procs < 1 || procs > 1024)
				return usage();
			break;
		case 't':
			secs = strtod(optarg, &endp);
			if (*endp || !(secs > 0))
				return usage();
			break;
		case 'w':
			warmup = strtod(optarg, &endp);
			if (*endp || !(warmup >= 0))
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (!have_mode || argc - optind != 2)
		return usage();
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[optind], &sin.sin_addr) != 1)
		return usage();
	{
		long port = strtol(argv[optind + 1], &endp, 10);
		if (*endp || port <= 0 || port > 65535)
			return usage();
		sin.sin_port = htons((unsigned short)port);
	}

	snprintf(key, sizeof key, "bench/%ld", size);
	if (mode == MODE_GET && store_object(&sin, (u_int)size) != 0)
		return 1;

	cap = TOTAL_SAMPLES / (unsigned)procs;
	slots = mmap(NULL, sizeof(struct slot) * (size_t)procs, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	samples = mmap(NULL, sizeof(uint32_t) * (size_t)cap * (size_t)procs,
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED || samples == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(slots, 0, sizeof(struct slot) * (size_t)procs);

	start = now_ns() + (long long)(warmup * 1e9);
	end = start + (long long)(secs * 1e9);
	for (long i = 0; i < procs; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			run_child(&sin, mode, (u_int)size, start, end, &slots[i],
				  samples + (size_t)cap * (size_t)i, cap);
			_exit(slots[i].failed ? 1 : 0);
		}
	}
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
		struct slot *s = &slots[i];
		memmove(samples + nsamples, samples + (size_t)cap * (size_t)i,
			sizeof(uint32_t) * s->nsamples);
		nsamples += s->nsamples;
		calls += s->calls;
		total_calls += s->total_calls;
		bytes += s->bytes;
		cpu += s->cpu_ns;
	}
	qsort(samples, nsamples, sizeof(uint32_t), cmp_u32);
	printf("result calls=%lld total_calls=%lld window_ns=%lld p50_ns=%u p99_ns=%u "
	       "client_cpu_ns=%lld bytes=%lld\n",
	       calls, total_calls, end - start, percentile(samples, nsamples, 500),
	       percentile(samples, nsamples, 990), cpu, bytes);
	return 0;
}
