/*
 * ds_bench_client.c: synchronous C rpcgen + libtirpc clients of the
 * datastore protocol (datastore/specs/datastore.x, rpcgen -M stubs), for the broker
 * benchmark: the same client against a datastore server directly and
 * through the broker.
 *
 *   ds_bench_client -m null|get [-n BYTES] [-p PROCS] [-t SECS] [-w SECS] HOST PORT
 *
 * Like bench_client.c, on load_driver.h: PROCS client processes, each with
 * its own TCP connection calling in a loop through the measured window.
 * get: before the processes start, one DS_PUT stores BYTES bytes (a
 * pattern) under the key "bench/BYTES"; then every call is a DS_GET of the
 * whole object, its length and first and last bytes checked.
 */
#include "datastore.h"
#include "load_driver.h"

#define USAGE "ds_bench_client -m null|get [-n BYTES] [-p PROCS] [-t SECS] [-w SECS] HOST PORT"

enum mode { MODE_NULL, MODE_GET };

static char key[64];

/* The byte at offset i of the stored object. */
static char pattern(u_int i)
{
	return (char)(i * 7u + 3u);
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

/* Stores the object the GET calls read; 0 on success. */
static int store_object(struct sockaddr_in *sin, u_int size)
{
	CLIENT *clnt = load_connect(sin, DATASTORE, DATASTORE_V1);
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

/* What every call of one process uses. */
struct calls {
	struct sockaddr_in *server;
	CLIENT *clnt;
	enum mode mode;
	u_int size;
};

static int call(void *ctx)
{
	struct calls *c = ctx;
	return one_call(c->clnt, c->mode, c->size);
}

static void run_child(struct load_window *w, void *arg)
{
	struct calls c = *(struct calls *)arg;

	c.clnt = load_connect(c.server, DATASTORE, DATASTORE_V1);
	if (!c.clnt) {
		w->slot->failed = 1;
		return;
	}
	load_loop(w, c.mode == MODE_NULL ? 0 : c.size, call, &c);
	clnt_destroy(c.clnt);
}

int main(int argc, char **argv)
{
	static const char *const modes[] = {"null", "get", NULL};
	struct load_options o;
	struct calls c;
	int bad = load_parse(argc, argv, USAGE, DS_MAXDATA, &o), mode;
	if (bad)
		return bad;
	mode = load_mode(o.mode, modes);
	if (mode < 0)
		return load_usage(USAGE);
	memset(&c, 0, sizeof c);
	c.server = &o.server;
	c.size = (u_int)o.size;
	c.mode = (enum mode)mode;
	snprintf(key, sizeof key, "bench/%ld", o.size);
	if (c.mode == MODE_GET && store_object(&o.server, c.size) != 0)
		return 1;
	return load_run(&o, run_child, &c);
}
