/*
 * datastore_client.c: a synchronous libtirpc client for datastore/specs/datastore.x
 * (rpcgen -M) that exercises every procedure and checks every reply.
 *
 *   datastore_client [-i ID] [-n ITERATIONS] [-s SIZE] [-x XID] [-m MODE]
 *                    tcp HOST PORT | unix PATH
 *
 * MODE is one of:
 *   exercise   (default) for each of ITERATIONS keys "c<ID>/k<i>": PUT SIZE
 *              bytes (a pattern derived from ID and i) with truncate, append
 *              4 bytes, GET it all back and a 2-byte slice; then LIST the
 *              keys in pages of 7 and check names, sizes and generations;
 *              then DELETE them all and check they are gone. Data carries
 *              ID, so a reply meant for another client is detected.
 *   null       ITERATIONS NULL calls.
 *   unknown-program   one NULL call to program DATASTORE+1: expects
 *              RPC_PROGUNAVAIL.
 *   bad-version       one NULL call to DATASTORE version 99: expects
 *              RPC_PROGVERSMISMATCH with versions 1..1.
 *
 * -x sets the first XID (CLSET_XID), so several clients can be made to use
 * the same XIDs at once. On success prints "ok ID N calls" and exits 0; on
 * the first wrong reply or RPC error prints what went wrong and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "datastore.h"
#include "peer_address.h"

static int id = 0;
static int calls = 0;
static struct timeval tv = {30, 0};

#define FAIL(...)                                                      \
	do {                                                           \
		fprintf(stderr, "client %d: ", id);                    \
		fprintf(stderr, __VA_ARGS__);                          \
		fprintf(stderr, "\n");                                 \
		exit(1);                                               \
	} while (0)

static void check_rpc(CLIENT *clnt, enum clnt_stat st, const char *what)
{
	calls++;
	if (st != RPC_SUCCESS)
		FAIL("%s: %s", what, clnt_sperror(clnt, ""));
}

static char pattern_byte(int i, u_int j)
{
	return (char)((unsigned)id * 131u + (unsigned)i * 17u + j * 7u + (j >> 8));
}

static char *key_of(int i)
{
	static char buf[64];
	snprintf(buf, sizeof buf, "c%d/k%06d", id, i);
	return buf;
}

static u_quad_t put(CLIENT *clnt, char *key, u_quad_t offset, bool_t truncate, char *data, u_int len)
{
	ds_put_args a;
	ds_put_res r;
	u_quad_t size;

	memset(&r, 0, sizeof r);
	a.key = key;
	a.offset = offset;
	a.truncate = truncate;
	a.data.ds_data_len = len;
	a.data.ds_data_val = data;
	check_rpc(clnt, ds_put_1(&a, &r, clnt), "DS_PUT");
	if (r.status != DS_OK)
		FAIL("DS_PUT %s: status %d", key, r.status);
	size = r.ds_put_res_u.size;
	xdr_free((xdrproc_t)xdr_ds_put_res, (char *)&r);
	return size;
}

/* GET; returns status, fills *out (caller frees with xdr_free). */
static ds_status get(CLIENT *clnt, char *key, u_quad_t offset, u_int count, ds_get_res *out)
{
	ds_get_args a;

	memset(out, 0, sizeof *out);
	a.key = key;
	a.offset = offset;
	a.count = count;
	check_rpc(clnt, ds_get_1(&a, out, clnt), "DS_GET");
	return out->status;
}

static ds_status del(CLIENT *clnt, char *key)
{
	ds_delete_args a;
	ds_status st = DS_IO;

	a.key = key;
	check_rpc(clnt, ds_delete_1(&a, &st, clnt), "DS_DELETE");
	return st;
}

static void exercise(CLIENT *clnt, int iterations, u_int size)
{
	char *data = malloc(size + 4);
	char prefix[32], after[64];
	int i, seen = 0;
	bool_t eof = FALSE;

	if (!data)
		FAIL("out of memory");
	for (i = 0; i < iterations; i++) {
		char *key = key_of(i);
		ds_get_res g;
		u_int j;

		for (j = 0; j < size; j++)
			data[j] = pattern_byte(i, j);
		memcpy(data + size, "tail", 4);
		if (put(clnt, key, 0, TRUE, data, size) != size)
			FAIL("DS_PUT %s: wrong size", key);
		if (put(clnt, key, size, FALSE, data + size, 4) != (u_quad_t)size + 4)
			FAIL("DS_PUT append %s: wrong size", key);
		if (get(clnt, key, 0, size + 100, &g) != DS_OK)
			FAIL("DS_GET %s: status %d", key, g.status);
		if (g.ds_get_res_u.ok.data.ds_data_len != size + 4 ||
		    memcmp(g.ds_get_res_u.ok.data.ds_data_val, data, size + 4) != 0)
			FAIL("DS_GET %s: wrong data (%u bytes)", key, g.ds_get_res_u.ok.data.ds_data_len);
		if (!g.ds_get_res_u.ok.eof)
			FAIL("DS_GET %s: eof not set", key);
		xdr_free((xdrproc_t)xdr_ds_get_res, (char *)&g);
		if (size >= 3) {
			if (get(clnt, key, 1, 2, &g) != DS_OK)
				FAIL("DS_GET slice %s: status %d", key, g.status);
			if (g.ds_get_res_u.ok.data.ds_data_len != 2 ||
			    memcmp(g.ds_get_res_u.ok.data.ds_data_val, data + 1, 2) != 0 ||
			    g.ds_get_res_u.ok.eof)
				FAIL("DS_GET slice %s: wrong reply", key);
			xdr_free((xdrproc_t)xdr_ds_get_res, (char *)&g);
		}
	}

	/* LIST in pages of 7. */
	snprintf(prefix, sizeof prefix, "c%d/", id);
	after[0] = '\0';
	while (!eof) {
		ds_list_args a;
		ds_list_res r;
		ds_entry *e;

		memset(&r, 0, sizeof r);
		a.prefix = prefix;
		a.after = after;
		a.max_entries = 7;
		check_rpc(clnt, ds_list_1(&a, &r, clnt), "DS_LIST");
		if (r.status != DS_OK)
			FAIL("DS_LIST: status %d", r.status);
		for (e = r.ds_list_res_u.ok.entries; e; e = e->next) {
			if (strcmp(e->name, key_of(seen)) != 0)
				FAIL("DS_LIST: entry %d is %s, expected %s", seen, e->name, key_of(seen));
			if (e->size != (u_quad_t)size + 4 || e->generation != 2)
				FAIL("DS_LIST: %s has size %llu generation %llu", e->name,
				     (unsigned long long)e->size, (unsigned long long)e->generation);
			snprintf(after, sizeof after, "%s", e->name);
			seen++;
		}
		eof = r.ds_list_res_u.ok.eof;
		if (!eof && !r.ds_list_res_u.ok.entries)
			FAIL("DS_LIST: empty page without eof");
		xdr_free((xdrproc_t)xdr_ds_list_res, (char *)&r);
	}
	if (seen != iterations)
		FAIL("DS_LIST: %d entries, expected %d", seen, iterations);

	for (i = 0; i < iterations; i++) {
		ds_status st = del(clnt, key_of(i));
		if (st != DS_OK)
			FAIL("DS_DELETE %s: status %d", key_of(i), st);
	}
	if (iterations > 0) {
		ds_get_res g;
		if (get(clnt, key_of(0), 0, 1, &g) != DS_NOENT)
			FAIL("DS_GET after delete: status %d", g.status);
		xdr_free((xdrproc_t)xdr_ds_get_res, (char *)&g);
		if (del(clnt, key_of(0)) != DS_NOENT)
			FAIL("DS_DELETE twice: not DS_NOENT");
	}
	free(data);
}

static int usage(void)
{
	fprintf(stderr, "usage: datastore_client [-i ID] [-n ITERATIONS] [-s SIZE] [-x XID] [-m MODE] "
			"tcp HOST PORT | unix PATH\n");
	return 2;
}

int main(int argc, char **argv)
{
	int iterations = 20, opt, fd, i;
	u_int size = 1000, xid = 0;
	const char *mode = "exercise";
	u_long prog = DATASTORE, vers = DATASTORE_V1;
	struct peer_address addr;
	CLIENT *clnt;

	while ((opt = getopt(argc, argv, "i:n:s:x:m:")) != -1) {
		switch (opt) {
		case 'i':
			id = atoi(optarg);
			break;
		case 'n':
			iterations = atoi(optarg);
			break;
		case 's':
			size = (u_int)strtoul(optarg, NULL, 0);
			break;
		case 'x':
			xid = (u_int)strtoul(optarg, NULL, 0);
			break;
		case 'm':
			mode = optarg;
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (peer_address(argc, argv, &addr) != 0 || addr.udp)
		return usage();
	if (strcmp(mode, "unknown-program") == 0)
		prog = DATASTORE + 1;
	else if (strcmp(mode, "bad-version") == 0)
		vers = 99;
	else if (strcmp(mode, "exercise") != 0 && strcmp(mode, "null") != 0)
		return usage();

	fd = peer_connect(&addr);
	if (fd < 0)
		return 1;
	clnt = clnt_vc_create(fd, &addr.nb, prog, vers, 0, 0);
	if (!clnt) {
		clnt_pcreateerror("clnt_vc_create");
		return 1;
	}
	clnt_control(clnt, CLSET_TIMEOUT, (char *)&tv);
	if (xid)
		clnt_control(clnt, CLSET_XID, (char *)&xid);

	if (strcmp(mode, "exercise") == 0) {
		exercise(clnt, iterations, size);
	} else if (strcmp(mode, "null") == 0) {
		for (i = 0; i < iterations; i++)
			check_rpc(clnt, ds_null_1(NULL, NULL, clnt), "DS_NULL");
	} else {
		struct rpc_err err;
		enum clnt_stat st = clnt_call(clnt, 0, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, NULL, tv);
		calls++;
		clnt_geterr(clnt, &err);
		if (strcmp(mode, "unknown-program") == 0) {
			if (st != RPC_PROGUNAVAIL)
				FAIL("unknown program: expected RPC_PROGUNAVAIL, got %s", clnt_sperrno(st));
			printf("PROG_UNAVAIL\n");
		} else {
			if (st != RPC_PROGVERSMISMATCH)
				FAIL("bad version: expected RPC_PROGVERSMISMATCH, got %s", clnt_sperrno(st));
			if (err.re_vers.low != 1 || err.re_vers.high != 1)
				FAIL("bad version: versions %lu..%lu, expected 1..1",
				     (unsigned long)err.re_vers.low, (unsigned long)err.re_vers.high);
			printf("PROG_MISMATCH %lu %lu\n", (unsigned long)err.re_vers.low,
			       (unsigned long)err.re_vers.high);
		}
	}
	clnt_destroy(clnt);
	close(fd);
	printf("ok %d %d calls\n", id, calls);
	return 0;
}
