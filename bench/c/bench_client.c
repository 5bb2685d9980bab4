/*
 * bench_client.c: the C rpcgen + libtirpc client of the RPC benchmark
 * (specs/bench.x, rpcgen -N -M stubs).
 *
 *   bench_client -m null|read|write [-n BYTES] [-p PROCS] [-t SECS] [-w SECS] HOST PORT
 *
 * libtirpc clients are synchronous, one call in flight per CLIENT, so
 * concurrency comes from PROCS client processes, each with its own TCP
 * connection (no rpcbind) calling in a loop; the window, the processes
 * and the result line are load_driver.h's. read asks for BYTES bytes per
 * call, write sends BYTES bytes per call (default 1 MiB); every reply is
 * checked.
 */
#include "bench.h"
#include "load_driver.h"

#define USAGE \
	"bench_client -m null|read|write [-n BYTES] [-p PROCS] [-t SECS] [-w SECS] HOST PORT"

enum mode { MODE_NULL, MODE_READ, MODE_WRITE };

/* One call; 0 on success (reply checked), -1 on failure (printed). */
static int one_call(CLIENT *clnt, enum mode mode, u_int size, bench_data *wdata)
{
	enum clnt_stat st;
	switch (mode) {
	case MODE_NULL:
		st = bench_null_1(NULL, clnt);
		break;
	case MODE_READ: {
		bench_data res;
		memset(&res, 0, sizeof res);
		st = bench_read_1(size, &res, clnt);
		if (st == RPC_SUCCESS) {
			u_int got = res.bench_data_len;
			clnt_freeres(clnt, (xdrproc_t)xdr_bench_data, (caddr_t)&res);
			if (got != size) {
				fprintf(stderr, "READ returned %u bytes, asked %u\n", got, size);
				return -1;
			}
		}
		break;
	}
	case MODE_WRITE: {
		u_int res = 0;
		st = bench_write_1(*wdata, &res, clnt);
		if (st == RPC_SUCCESS && res != size) {
			fprintf(stderr, "WRITE acknowledged %u bytes, sent %u\n", res, size);
			return -1;
		}
		break;
	}
	default:
		return -1;
	}
	if (st != RPC_SUCCESS) {
		clnt_perror(clnt, "call");
		return -1;
	}
	return 0;
}

/* What every call of one process uses. */
struct calls {
	struct sockaddr_in *server;
	CLIENT *clnt;
	enum mode mode;
	u_int size;
	bench_data wdata;
};

static int call(void *ctx)
{
	struct calls *c = ctx;
	return one_call(c->clnt, c->mode, c->size, &c->wdata);
}

static void run_child(struct load_window *w, void *arg)
{
	struct calls c = *(struct calls *)arg;

	if (c.mode == MODE_WRITE) {
		c.wdata.bench_data_len = c.size;
		c.wdata.bench_data_val = malloc(c.size ? c.size : 1);
		if (!c.wdata.bench_data_val) {
			w->slot->failed = 1;
			return;
		}
		for (u_int i = 0; i < c.size; i++)
			c.wdata.bench_data_val[i] = (char)(i * 7u);
	}
	c.clnt = load_connect(c.server, BENCH_PROG, BENCH_VERS);
	if (!c.clnt) {
		w->slot->failed = 1;
		free(c.wdata.bench_data_val);
		return;
	}
	load_loop(w, c.mode == MODE_NULL ? 0 : c.size, call, &c);
	clnt_destroy(c.clnt);
	free(c.wdata.bench_data_val);
}

int main(int argc, char **argv)
{
	static const char *const modes[] = {"null", "read", "write", NULL};
	struct load_options o;
	struct calls c;
	int bad = load_parse(argc, argv, USAGE, BENCH_DATA_MAX, &o), mode;
	if (bad)
		return bad;
	mode = load_mode(o.mode, modes);
	if (mode < 0)
		return load_usage(USAGE);
	memset(&c, 0, sizeof c);
	c.server = &o.server;
	c.size = (u_int)o.size;
	c.mode = (enum mode)mode;
	return load_run(&o, run_child, &c);
}
