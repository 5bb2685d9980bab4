/*
 * datastore_server.c: a single-threaded libtirpc server for
 * datastore/specs/datastore.x (rpcgen -M dispatcher), the C reference peer of the
 * Rust datastore-server: the same semantics, a simple sorted array.
 *
 *   datastore_server tcp PORT     listen on 127.0.0.1:PORT
 *   datastore_server unix PATH    listen on a Unix stream socket at PATH
 *
 * It binds and listens itself and registers with protocol 0 (no rpcbind).
 * Prints "listening ..." once ready and serves until killed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "datastore.h"
#include "peer_listen.h"

#define MAX_OBJECT (64u * 1024u * 1024u)
#define MAX_LIST 1000u

extern void datastore_1(struct svc_req *rqstp, SVCXPRT *transp);

struct object {
	char *key;
	char *data;
	u_int len;
	u_quad_t generation;
};

static struct object *objects;
static u_int nobjects, capobjects;

/* Index of the first object with key >= `key`. */
static u_int lower_bound(const char *key)
{
	u_int lo = 0, hi = nobjects;
	while (lo < hi) {
		u_int mid = lo + (hi - lo) / 2;
		if (strcmp(objects[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct object *find(const char *key)
{
	u_int i = lower_bound(key);
	return (i < nobjects && strcmp(objects[i].key, key) == 0) ? &objects[i] : NULL;
}

static ds_status check_key(const char *key)
{
	if (!key || !*key)
		return DS_INVAL;
	if (strlen(key) > DS_MAXKEY)
		return DS_NAMETOOLONG;
	return DS_OK;
}

bool_t ds_null_1_svc(void *argp, void *result, struct svc_req *rq)
{
	return TRUE;
}

bool_t ds_put_1_svc(ds_put_args *a, ds_put_res *r, struct svc_req *rq)
{
	struct object *o;
	u_quad_t end = a->offset + a->data.ds_data_len, newlen;

	memset(r, 0, sizeof *r);
	if ((r->status = check_key(a->key)) != DS_OK)
		return TRUE;
	if (a->offset > MAX_OBJECT || end > MAX_OBJECT) {
		r->status = DS_FBIG;
		return TRUE;
	}
	o = find(a->key);
	if (!o) {
		u_int i = lower_bound(a->key);
		if (nobjects == capobjects) {
			u_int cap = capobjects ? capobjects * 2 : 64;
			struct object *n = realloc(objects, cap * sizeof *n);
			if (!n) {
				r->status = DS_NOSPC;
				return TRUE;
			}
			objects = n;
			capobjects = cap;
		}
		memmove(&objects[i + 1], &objects[i], (nobjects - i) * sizeof *objects);
		nobjects++;
		o = &objects[i];
		memset(o, 0, sizeof *o);
		o->key = strdup(a->key);
	}
	newlen = a->truncate ? end : (end > o->len ? end : o->len);
	if (newlen != o->len) {
		char *d = realloc(o->data, newlen ? newlen : 1);
		if (!d) {
			r->status = DS_NOSPC;
			return TRUE;
		}
		if (newlen > o->len)
			memset(d + o->len, 0, newlen - o->len);
		o->data = d;
		o->len = (u_int)newlen;
	}
	memcpy(o->data + a->offset, a->data.ds_data_val, a->data.ds_data_len);
	o->generation++;
	r->ds_put_res_u.size = o->len;
	return TRUE;
}

bool_t ds_get_1_svc(ds_get_args *a, ds_get_res *r, struct svc_req *rq)
{
	struct object *o;
	u_quad_t start, end;

	memset(r, 0, sizeof *r);
	if ((r->status = check_key(a->key)) != DS_OK)
		return TRUE;
	if (!(o = find(a->key))) {
		r->status = DS_NOENT;
		return TRUE;
	}
	start = a->offset < o->len ? a->offset : o->len;
	end = start + (a->count < DS_MAXDATA ? a->count : DS_MAXDATA);
	if (end > o->len)
		end = o->len;
	r->ds_get_res_u.ok.data.ds_data_len = (u_int)(end - start);
	r->ds_get_res_u.ok.data.ds_data_val = malloc(end - start + 1);
	memcpy(r->ds_get_res_u.ok.data.ds_data_val, o->data + start, end - start);
	r->ds_get_res_u.ok.eof = end == o->len;
	return TRUE;
}

bool_t ds_delete_1_svc(ds_delete_args *a, ds_status *r, struct svc_req *rq)
{
	struct object *o;

	if ((*r = check_key(a->key)) != DS_OK)
		return TRUE;
	if (!(o = find(a->key))) {
		*r = DS_NOENT;
		return TRUE;
	}
	free(o->key);
	free(o->data);
	memmove(o, o + 1, (size_t)(&objects[nobjects] - (o + 1)) * sizeof *o);
	nobjects--;
	*r = DS_OK;
	return TRUE;
}

bool_t ds_list_1_svc(ds_list_args *a, ds_list_res *r, struct svc_req *rq)
{
	size_t plen = strlen(a->prefix);
	u_int i, limit = a->max_entries && a->max_entries < MAX_LIST ? a->max_entries : MAX_LIST, n = 0;
	ds_entry **tail = &r->ds_list_res_u.ok.entries;

	memset(r, 0, sizeof *r);
	tail = &r->ds_list_res_u.ok.entries;
	if (!*a->after || strcmp(a->after, a->prefix) < 0) {
		i = lower_bound(a->prefix);
	} else {
		i = lower_bound(a->after);
		if (i < nobjects && strcmp(objects[i].key, a->after) == 0)
			i++;
	}
	for (; i < nobjects && strncmp(objects[i].key, a->prefix, plen) == 0 && n < limit; i++, n++) {
		ds_entry *e = calloc(1, sizeof *e);
		e->name = strdup(objects[i].key);
		e->size = objects[i].len;
		e->generation = objects[i].generation;
		*tail = e;
		tail = &e->next;
	}
	r->ds_list_res_u.ok.eof = !(i < nobjects && strncmp(objects[i].key, a->prefix, plen) == 0);
	return TRUE;
}

int datastore_1_freeresult(SVCXPRT *transp, xdrproc_t xdr_result, caddr_t result)
{
	xdr_free(xdr_result, result);
	return 1;
}

static void on_stop(int sig)
{
	signal(sig, SIG_DFL);
	raise(sig);
}

static int usage(void)
{
	fprintf(stderr, "usage: datastore_server tcp PORT | unix PATH\n");
	return 2;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc != 3)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);

	fd = peer_listen(argv[1], argv[2]);
	if (fd == PEER_LISTEN_USAGE)
		return usage();
	if (fd < 0)
		return 1;
	return peer_serve(fd, DATASTORE, DATASTORE_V1, datastore_1, argv[1], argv[2]);
}
