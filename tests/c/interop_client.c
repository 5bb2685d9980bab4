/*
 * interop_client.c: a libtirpc client for specs/interop.x (rpcgen -N -M)
 * that calls every procedure with varied arguments and checks every result
 * by recomputing it (interop_compute.c).
 *
 *   interop_client [-e] [-a] [-r ROUNDS] [-s SEED] tcp HOST PORT
 *   interop_client [-e] [-a] [-r ROUNDS] [-s SEED] unix PATH
 *   interop_client [-a] [-r ROUNDS] [-s SEED] udp HOST PORT
 *
 * Each round calls every procedure once; on TCP and Unix sockets the first
 * round also sends and receives 1 MiB blobs (several record-marking
 * fragments). Over UDP (64 KiB datagrams) every round is small. With -a
 * every call carries AUTH_SYS credentials: machine "interop-client",
 * uid 1234, gid 5678, groups 5678, 24 and 27 (AUTH_NONE otherwise). With -e it first
 * checks the error replies: an unknown version (PROG_MISMATCH 1..1), an
 * unknown program (PROG_UNAVAIL), an unknown procedure (PROC_UNAVAIL),
 * undecodable arguments (GARBAGE_ARGS) and REVERSE("!system-err")
 * (SYSTEM_ERR; this one reaches the server's handler and is counted as a
 * call). On success it prints "ok N calls" and exits 0; on the first wrong
 * result or RPC error it prints what went wrong and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "interop_compute.h"
#include "peer_address.h"

#define LARGE_BLOB (1024u * 1024u)

static unsigned long long rng_state;
static int calls;
static int round_no;

static unsigned long long next_u64(void)
{
	/* splitmix64 */
	unsigned long long z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u_int below(u_int n)
{
	return n ? (u_int)(next_u64() % n) : 0;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

static char *random_string(u_int max)
{
	static const char chars[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_./:";
	u_int len = below(max + 1);
	char *s = xcalloc(len + 1, 1);
	for (u_int i = 0; i < len; i++)
		s[i] = chars[below(sizeof chars - 1)];
	return s;
}

static void random_bytes(char *buf, u_int len)
{
	for (u_int i = 0; i < len; i++)
		buf[i] = (char)next_u64();
}

static int random_int(void)
{
	/* Mostly small values, sometimes the extremes. */
	switch (below(4)) {
	case 0:
		return (int)(u_int)next_u64();
	case 1:
		return below(2) ? 0x7fffffff : (int)0x80000000u;
	default:
		return (int)below(2001) - 1000;
	}
}

static color random_color(void)
{
	static const color colors[] = {RED, GREEN, BLUE, ALPHA};
	return colors[below(4)];
}

static void random_point(point *p)
{
	p->x = random_int();
	p->y = random_int();
}

static void random_rect(rect *r)
{
	random_point(&r->min);
	random_point(&r->max);
}

static void random_shape(shape *s)
{
	s->kind = (shape_kind)below(6);
	switch (s->kind) {
	case SHAPE_NONE:
		break;
	case SHAPE_CIRCLE:
		random_point(&s->shape_u.round.center);
		s->shape_u.round.radius = (u_int)next_u64() >> below(32);
		break;
	case SHAPE_SQUARE:
	case SHAPE_RECT:
		random_rect(&s->shape_u.box);
		break;
	default:
		s->shape_u.raw.raw_len = below(17);
		s->shape_u.raw.raw_val = xcalloc(s->shape_u.raw.raw_len, 1);
		random_bytes(s->shape_u.raw.raw_val, s->shape_u.raw.raw_len);
		break;
	}
}

static double random_double(void)
{
	return (double)(long long)next_u64() / 1048576.0;
}

static void random_value(value *v)
{
	v->type = (int)below(8);
	switch (v->type) {
	case 1:
		v->value_u.i = random_int();
		break;
	case 2:
		v->value_u.h = (quad_t)next_u64();
		break;
	case 3:
		v->value_u.d = random_double();
		break;
	case 4:
		v->value_u.s = random_string(MAX_NAME);
		break;
	case 5:
		v->value_u.b = (bool_t)below(2);
		break;
	case 6:
		v->value_u.uh = next_u64();
		break;
	case 7:
		v->value_u.f = (float)random_int() / 64.0f;
		break;
	default:
		break;
	}
}

static void random_record(record *r)
{
	memset(r, 0, sizeof *r);
	r->id = (u_int)next_u64();
	r->name = random_string(MAX_NAME);
	r->aliases.aliases_len = below(MAX_ALIASES + 1);
	r->aliases.aliases_val = xcalloc(r->aliases.aliases_len, sizeof(name_t));
	for (u_int i = 0; i < r->aliases.aliases_len; i++)
		r->aliases.aliases_val[i] = random_string(MAX_NAME);
	random_bytes(r->tag, TAG_LEN);
	r->payload.payload_len = below(4) ? below(300) : 0;
	r->payload.payload_val = xcalloc(r->payload.payload_len, 1);
	random_bytes(r->payload.payload_val, r->payload.payload_len);
	for (int i = 0; i < 4; i++)
		r->counts[i] = random_int();
	for (int i = 0; i < 3; i++)
		r->palette[i] = random_color();
	r->path.path_len = below(MAX_POINTS + 1);
	r->path.path_val = xcalloc(r->path.path_len, sizeof(point));
	for (u_int i = 0; i < r->path.path_len; i++)
		random_point(&r->path.path_val[i]);
	r->big = (quad_t)next_u64();
	r->ubig = next_u64();
	r->ratio = random_double();
	r->scale = (float)random_int() / 8.0f;
	r->flag = (bool_t)below(2);
	r->hue = random_color();
	if (below(2)) {
		r->bounds = xcalloc(1, sizeof(rect));
		random_rect(r->bounds);
	}
	random_shape(&r->outline);
	random_value(&r->extra);
}

static void fail(const char *proc, const char *what)
{
	printf("mismatch in %s (round %d, after %d good calls): %s\n", proc, round_no, calls, what);
	exit(1);
}

static void check_stat(enum clnt_stat st, CLIENT *clnt, const char *proc)
{
	if (st != RPC_SUCCESS) {
		printf("call %s failed (round %d, after %d good calls): %s\n", proc, round_no, calls,
		       clnt_sperror(clnt, "rpc"));
		exit(1);
	}
}

/* Compares got and want by XDR encoding, then frees both. */
static void check_same(const char *proc, xdrproc_t x, void *got, void *want)
{
	if (!xdr_same(x, got, want))
		fail(proc, "result differs from the recomputed one");
	xdr_free(x, got);
	xdr_free(x, want);
	calls++;
}

static void one_round(CLIENT *clnt, int large)
{
	enum clnt_stat st;

	/* NULL */
	st = interop_null_1(NULL, clnt);
	check_stat(st, clnt, "INTEROP_NULL");
	calls++;

	/* ECHO_RECORD and SUMMARIZE */
	{
		record r, got;
		record_summary sgot, swant;
		random_record(&r);
		memset(&got, 0, sizeof got);
		st = echo_record_1(r, &got, clnt);
		check_stat(st, clnt, "ECHO_RECORD");
		if (!xdr_same((xdrproc_t)xdr_record, &got, &r))
			fail("ECHO_RECORD", "echoed record differs");
		xdr_free((xdrproc_t)xdr_record, (char *)&got);
		calls++;

		memset(&sgot, 0, sizeof sgot);
		st = summarize_1(r, &sgot, clnt);
		check_stat(st, clnt, "SUMMARIZE");
		compute_summary(&r, &swant);
		check_same("SUMMARIZE", (xdrproc_t)xdr_record_summary, &sgot, &swant);
		xdr_free((xdrproc_t)xdr_record, (char *)&r);
	}

	/* SUM */
	{
		intarr a;
		quad_t got = 0, want = 0;
		a.intarr_len = below(4) ? below(200) : 0;
		a.intarr_val = xcalloc(a.intarr_len, sizeof(int));
		for (u_int i = 0; i < a.intarr_len; i++)
			a.intarr_val[i] = random_int();
		st = sum_1(a, &got, clnt);
		check_stat(st, clnt, "SUM");
		compute_sum(&a, &want);
		if (got != want)
			fail("SUM", "wrong sum");
		xdr_free((xdrproc_t)xdr_intarr, (char *)&a);
		calls++;
	}

	/* MAKE_LIST: sometimes out of range (empty list expected) */
	{
		int n = below(5) ? (int)below(300) : (below(2) ? -1 : LIST_MAX + 1);
		nodelist got = NULL, want = NULL;
		st = make_list_1(n, &got, clnt);
		check_stat(st, clnt, "MAKE_LIST");
		if (!compute_make_list(n, &want))
			fail("MAKE_LIST", "out of memory");
		check_same("MAKE_LIST", (xdrproc_t)xdr_nodelist, &got, &want);
	}

	/* REVERSE_ITEMS */
	{
		itemlist in = NULL, got = NULL, want = NULL;
		u_int n = below(100);
		for (u_int i = 0; i < n; i++) {
			item *it = xcalloc(1, sizeof *it);
			it->key = (u_int)next_u64();
			it->weight = (quad_t)next_u64();
			it->next = in;
			in = it;
		}
		st = reverse_items_1(in, &got, clnt);
		check_stat(st, clnt, "REVERSE_ITEMS");
		if (!compute_reverse_items(in, &want))
			fail("REVERSE_ITEMS", "out of memory");
		check_same("REVERSE_ITEMS", (xdrproc_t)xdr_itemlist, &got, &want);
		xdr_free((xdrproc_t)xdr_itemlist, (char *)&in);
	}

	/* REVERSE */
	{
		text s = random_string(below(2) ? 1000 : 10), got = NULL, want = NULL;
		st = reverse_1(s, &got, clnt);
		check_stat(st, clnt, "REVERSE");
		compute_reverse(s, &want);
		check_same("REVERSE", (xdrproc_t)xdr_text, &got, &want);
		free(s);
	}

	/* CLASSIFY */
	{
		shape s;
		value got, want;
		memset(&s, 0, sizeof s);
		memset(&got, 0, sizeof got);
		random_shape(&s);
		st = classify_1(s, &got, clnt);
		check_stat(st, clnt, "CLASSIFY");
		compute_classify(&s, &want);
		check_same("CLASSIFY", (xdrproc_t)xdr_value, &got, &want);
		xdr_free((xdrproc_t)xdr_shape, (char *)&s);
	}

	/* NEGATE */
	{
		value v, got, want;
		memset(&v, 0, sizeof v);
		memset(&got, 0, sizeof got);
		random_value(&v);
		st = negate_1(v, &got, clnt);
		check_stat(st, clnt, "NEGATE");
		compute_negate(&v, &want);
		check_same("NEGATE", (xdrproc_t)xdr_value, &got, &want);
		xdr_free((xdrproc_t)xdr_value, (char *)&v);
	}

	/* CHECKSUM (large: 1 MiB, sent as several fragments) */
	{
		blob b;
		u_int got = 0;
		b.blob_len = large ? LARGE_BLOB : below(5000);
		b.blob_val = xcalloc(b.blob_len, 1);
		random_bytes(b.blob_val, b.blob_len);
		st = checksum_1(b, &got, clnt);
		check_stat(st, clnt, "CHECKSUM");
		if (got != interop_checksum(b.blob_val, b.blob_len))
			fail("CHECKSUM", "wrong checksum");
		free(b.blob_val);
		calls++;
	}

	/* FILL (large: 1 MiB back) */
	{
		fill_args a;
		blob got, want;
		a.size = large ? LARGE_BLOB : below(5000);
		a.seed = (u_int)next_u64();
		memset(&got, 0, sizeof got);
		st = fill_1(a, &got, clnt);
		check_stat(st, clnt, "FILL");
		compute_fill(&a, &want);
		check_same("FILL", (xdrproc_t)xdr_blob, &got, &want);
	}

	/* ADD (two arguments) */
	{
		quad_t a = (quad_t)next_u64(), b = (quad_t)next_u64(), got = 0;
		st = add_1(a, b, &got, clnt);
		check_stat(st, clnt, "ADD");
		if (got != compute_add(a, b))
			fail("ADD", "wrong sum");
		calls++;
	}
}

/* A client for program `prog` version `vers` on a new connection. */
static CLIENT *connect_client(const struct peer_address *addr, rpcprog_t prog, rpcvers_t vers)
{
	struct timeval tv = {30, 0};
	CLIENT *clnt;
	int fd = peer_connect(addr);
	if (fd < 0)
		exit(1);
	clnt = clnt_vc_create(fd, &addr->nb, prog, vers, 0, 0);
	if (!clnt) {
		clnt_pcreateerror("clnt_vc_create");
		exit(1);
	}
	/* clnt_destroy closes the socket too. */
	clnt_control(clnt, CLSET_FD_CLOSE, NULL);
	clnt_control(clnt, CLSET_TIMEOUT, (char *)&tv);
	return clnt;
}

static void expect_stat(CLIENT *clnt, enum clnt_stat got, enum clnt_stat want, const char *what)
{
	if (got != want) {
		printf("error check %s: got %s, want %s\n", what, clnt_sperrno(got), clnt_sperrno(want));
		exit(1);
	}
	(void)clnt;
}

static void error_checks(const struct peer_address *addr)
{
	struct timeval tv = {30, 0};
	struct rpc_err err;
	enum clnt_stat st;
	CLIENT *c;

	c = connect_client(addr, INTEROP_PROG, 7);
	st = clnt_call(c, NULLPROC, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, NULL, tv);
	expect_stat(c, st, RPC_PROGVERSMISMATCH, "unknown version");
	clnt_geterr(c, &err);
	if (err.re_vers.low != 1 || err.re_vers.high != 1) {
		printf("error check unknown version: versions %lu..%lu, want 1..1\n",
		       (unsigned long)err.re_vers.low, (unsigned long)err.re_vers.high);
		exit(1);
	}
	clnt_destroy(c);

	c = connect_client(addr, INTEROP_PROG + 1, 1);
	st = clnt_call(c, NULLPROC, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, NULL, tv);
	expect_stat(c, st, RPC_PROGUNAVAIL, "unknown program");
	clnt_destroy(c);

	c = connect_client(addr, INTEROP_PROG, INTEROP_VERS);
	st = clnt_call(c, 99, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, NULL, tv);
	expect_stat(c, st, RPC_PROCUNAVAIL, "unknown procedure");
	{
		/* SUM's int array with a count of 2^32 - 1 and no elements. */
		u_int count = 0xffffffffu;
		quad_t res;
		st = clnt_call(c, SUM, (xdrproc_t)xdr_u_int, (char *)&count, (xdrproc_t)xdr_quad_t,
		               (char *)&res, tv);
		expect_stat(c, st, RPC_CANTDECODEARGS, "undecodable arguments");
	}
	{
		text got = NULL;
		st = reverse_1(SYSTEM_ERR_TEXT, &got, c);
		expect_stat(c, st, RPC_SYSTEMERROR, "handler failure");
		calls++;
	}
	/* The connection still works after all that. */
	{
		quad_t sum = 0;
		st = add_1(40, 2, &sum, c);
		check_stat(st, c, "ADD after errors");
		if (sum != 42)
			fail("ADD after errors", "wrong sum");
		calls++;
	}
	clnt_destroy(c);
}

static int usage(void)
{
	fprintf(stderr, "usage: interop_client [-e] [-a] [-r ROUNDS] [-s SEED] tcp HOST PORT | unix PATH | udp HOST PORT\n");
	return 2;
}

int main(int argc, char **argv)
{
	int rounds = 20, opt, fd, errors = 0, auth_sys = 0, udp = 0;
	struct peer_address addr;
	struct timeval tv = {30, 0};
	CLIENT *clnt;

	rng_state = 1;
	while ((opt = getopt(argc, argv, "aer:s:")) != -1) {
		switch (opt) {
		case 'a':
			auth_sys = 1;
			break;
		case 'e':
			errors = 1;
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 0);
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (peer_address(argc, argv, &addr) != 0 || (addr.udp && errors))
		return usage();
	udp = addr.udp;
	if (udp) {
		/* 64 KiB send and receive buffers (datagrams up to 64 KiB). */
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		clnt = fd < 0 ? NULL : clnt_dg_create(fd, &addr.nb, INTEROP_PROG, INTEROP_VERS, 65536, 65536);
		if (!clnt) {
			clnt_pcreateerror("clnt_dg_create");
			return 1;
		}
		/* Retransmit after 1 s; the call times out after 30 s. */
		{
			struct timeval retry = {1, 0};
			clnt_control(clnt, CLSET_RETRY_TIMEOUT, (char *)&retry);
		}
	} else {
		fd = peer_connect(&addr);
		if (fd < 0)
			return 1;
		clnt = clnt_vc_create(fd, &addr.nb, INTEROP_PROG, INTEROP_VERS, 0, 0);
		if (!clnt) {
			clnt_pcreateerror("clnt_vc_create");
			return 1;
		}
	}
	clnt_control(clnt, CLSET_TIMEOUT, (char *)&tv);
	if (auth_sys) {
		gid_t gids[3] = {5678, 24, 27};
		auth_destroy(clnt->cl_auth);
		clnt->cl_auth = authsys_create("interop-client", 1234, 5678, 3, gids);
		if (!clnt->cl_auth) {
			fprintf(stderr, "authsys_create failed\n");
			return 1;
		}
	}
	if (errors)
		error_checks(&addr);
	for (round_no = 0; round_no < rounds; round_no++)
		one_round(clnt, round_no == 0 && !udp);
	clnt_destroy(clnt);
	if (!udp)
		close(fd);
	printf("ok %d calls\n", calls);
	return 0;
}
