/*
 * codec_bench.c: times the XDR routines C rpcgen generates for specs/bench.x
 * on libtirpc's xdrmem streams, for the values the Rust side times
 * (bench/src/values.rs builds the same values; the encodings' hashes must
 * agree).
 *
 *   codec_bench [-t MILLIS] [-l ENTRIES]... [-n ITERS -c CASE -o encode|decode]
 *
 * Cases: small (a small_rec), list-N (a dir_listing of N entries; one case
 * per -l, default 1000), opaque-1MiB (an opaque_holder of 1 MiB). Encode
 * writes into one reused buffer with xdrmem_create + xdr_<type>; decode
 * reads that encoding into a zeroed value and frees it with xdr_free, as a
 * libtirpc caller does. Each (case, op) is run in batches, doubled until a
 * batch takes 10 ms, for at least MILLIS ms (default 200). One line each:
 *
 *   codec case=NAME op=encode|decode ns_per_op=F iters=N len=BYTES hash=FNV1A64HEX
 *
 * With -n, only case CASE's op runs, exactly ITERS times (no batches, no
 * minimum time): `bench counts` runs it under callgrind with two counts
 * and divides the difference in instructions by the difference in ITERS.
 *
 * Before timing, the decoded value is re-encoded and compared with the
 * original encoding; a difference is an error (exit status 1).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define BUF_BYTES (8u << 20)
#define OPAQUE_BYTES (1u << 20)
#define MAX_LISTS 8

typedef bool_t (*xdr_fn)(XDR *, void *);

static char *enc_buf;
static char *check_buf;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

/* FNV-1a, 64 bits. */
static unsigned long long fnv1a(const char *p, u_int len)
{
	unsigned long long h = 0xcbf29ce484222325ULL;
	for (u_int i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static u_int encode(xdr_fn fn, void *value, char *buf)
{
	XDR x;
	u_int len;
	xdrmem_create(&x, buf, BUF_BYTES, XDR_ENCODE);
	if (!fn(&x, value)) {
		fprintf(stderr, "encode failed\n");
		exit(1);
	}
	len = xdr_getpos(&x);
	xdr_destroy(&x);
	return len;
}

static void decode_free(xdr_fn fn, void *out, size_t size, u_int len)
{
	XDR x;
	memset(out, 0, size);
	xdrmem_create(&x, enc_buf, len, XDR_DECODE);
	if (!fn(&x, out)) {
		fprintf(stderr, "decode failed\n");
		exit(1);
	}
	xdr_destroy(&x);
}

struct bench_case {
	const char *name;
	xdr_fn fn;
	void *value;
	size_t size; /* sizeof the C type */
};

/* A fixed run (-n): the case, the op and the count; iters 0 when timed. */
struct fixed_run {
	const char *case_name;
	int decode;
	long long iters;
};

static void one_op(const struct bench_case *c, int decode, void *out, u_int len)
{
	if (decode) {
		decode_free(c->fn, out, c->size, len);
		xdr_free((xdrproc_t)c->fn, out);
	} else {
		encode(c->fn, c->value, enc_buf);
	}
}

static double run_op(const struct bench_case *c, int decode, u_int len, long long millis,
		     long long fixed_iters, long long *iters_out)
{
	void *out = xmalloc(c->size);
	long long batch = 1, iters = 0, t0, elapsed;

	if (fixed_iters > 0) {
		t0 = now_ns();
		for (long long i = 0; i < fixed_iters; i++)
			one_op(c, decode, out, len);
		elapsed = now_ns() - t0;
		free(out);
		*iters_out = fixed_iters;
		return (double)elapsed / (double)fixed_iters;
	}
	for (;;) {
		t0 = now_ns();
		for (long long i = 0; i < batch; i++)
			one_op(c, decode, out, len);
		if (now_ns() - t0 >= 10000000LL || batch >= (1LL << 40))
			break;
		batch *= 2;
	}
	t0 = now_ns();
	do {
		for (long long i = 0; i < batch; i++)
			one_op(c, decode, out, len);
		iters += batch;
		elapsed = now_ns() - t0;
	} while (elapsed < millis * 1000000LL);
	free(out);
	*iters_out = iters;
	return (double)elapsed / (double)iters;
}

static void run_case(const struct bench_case *c, long long millis, const struct fixed_run *fixed)
{
	u_int len = encode(c->fn, c->value, enc_buf);
	unsigned long long hash = fnv1a(enc_buf, len);
	void *out = xmalloc(c->size);
	long long iters;
	double ns;

	/* The decoding must re-encode to the same bytes. */
	decode_free(c->fn, out, c->size, len);
	if (encode(c->fn, out, check_buf) != len || memcmp(check_buf, enc_buf, len) != 0) {
		fprintf(stderr, "%s: decode/encode round trip differs\n", c->name);
		exit(1);
	}
	xdr_free((xdrproc_t)c->fn, out);
	free(out);

	if (fixed->iters > 0 && strcmp(fixed->case_name, c->name) != 0)
		return;
	if (fixed->iters == 0 || !fixed->decode) {
		ns = run_op(c, 0, len, millis, fixed->iters, &iters);
		printf("codec case=%s op=encode ns_per_op=%.1f iters=%lld len=%u hash=%016llx\n",
		       c->name, ns, iters, len, hash);
		fflush(stdout);
	}
	if (fixed->iters > 0 && !fixed->decode)
		return;
	/* Encoding again leaves enc_buf holding this value for decode. */
	encode(c->fn, c->value, enc_buf);
	ns = run_op(c, 1, len, millis, fixed->iters, &iters);
	printf("codec case=%s op=decode ns_per_op=%.1f iters=%lld len=%u hash=%016llx\n", c->name,
	       ns, iters, len, hash);
	fflush(stdout);
}

/* The values; bench/src/values.rs builds the same ones. */

static void make_small(small_rec *v)
{
	static char tag[12];
	for (int i = 0; i < 12; i++)
		tag[i] = (char)(i + 1);
	memset(v, 0, sizeof *v);
	v->id = -123456;
	v->flags = 0xdeadbeefu;
	v->offset = -1099511627769LL;
	v->size = 0x0123456789abcdefULL;
	v->name = "bench-small-record";
	v->tag.tag_len = 12;
	v->tag.tag_val = tag;
	v->active = TRUE;
	v->kind = KIND_DIR;
}

static void make_listing(dir_listing *v, u_int n)
{
	dir_entry *entries = xmalloc(sizeof(dir_entry) * n);
	for (u_int i = 0; i < n; i++) {
		char *name = xmalloc(32);
		snprintf(name, 32, "entry-%06u.dat", i);
		entries[i].fileid = 1000000ULL + 13ULL * i;
		entries[i].name = name;
		entries[i].cookie = 2u * i + 1u;
		entries[i].next = i + 1 < n ? &entries[i + 1] : NULL;
	}
	v->entries = n ? entries : NULL;
	v->eof = TRUE;
}

static void make_opaque(opaque_holder *v)
{
	char *data = xmalloc(OPAQUE_BYTES);
	for (u_int i = 0; i < OPAQUE_BYTES; i++)
		data[i] = (char)(i * 131u + 7u);
	v->data.data_len = OPAQUE_BYTES;
	v->data.data_val = data;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: codec_bench [-t MILLIS] [-l ENTRIES]... [-n ITERS -c CASE -o encode|decode]\n");
	return 2;
}

int main(int argc, char **argv)
{
	long long millis = 200;
	u_int lists[MAX_LISTS];
	int nlists = 0;
	small_rec small;
	dir_listing listings[MAX_LISTS];
	char names[MAX_LISTS][32];
	opaque_holder opaque;
	struct bench_case c;
	struct fixed_run fixed = {"", 0, 0};
	const char *op = NULL;
	char *end;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			millis = strtoll(argv[++i], &end, 10);
			if (*end || millis < 0)
				return usage();
		} else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc && nlists < MAX_LISTS) {
			long n = strtol(argv[++i], &end, 10);
			if (*end || n < 0 || n > 50000)
				return usage();
			lists[nlists++] = (u_int)n;
		} else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			fixed.iters = strtoll(argv[++i], &end, 10);
			if (*end || fixed.iters < 1)
				return usage();
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			fixed.case_name = argv[++i];
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			op = argv[++i];
		} else {
			return usage();
		}
	}
	if (fixed.iters > 0) {
		if (!op || (strcmp(op, "encode") != 0 && strcmp(op, "decode") != 0))
			return usage();
		fixed.decode = strcmp(op, "decode") == 0;
	}
	if (nlists == 0)
		lists[nlists++] = 1000;
	enc_buf = xmalloc(BUF_BYTES);
	check_buf = xmalloc(BUF_BYTES);

	make_small(&small);
	c = (struct bench_case){"small", (xdr_fn)xdr_small_rec, &small, sizeof small};
	run_case(&c, millis, &fixed);
	for (int i = 0; i < nlists; i++) {
		make_listing(&listings[i], lists[i]);
		snprintf(names[i], sizeof names[i], "list-%u", lists[i]);
		c = (struct bench_case){names[i], (xdr_fn)xdr_dir_listing, &listings[i],
					sizeof listings[i]};
		run_case(&c, millis, &fixed);
	}
	make_opaque(&opaque);
	c = (struct bench_case){"opaque-1MiB", (xdr_fn)xdr_opaque_holder, &opaque, sizeof opaque};
	run_case(&c, millis, &fixed);
	return 0;
}
