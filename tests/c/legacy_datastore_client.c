/*
 * legacy_datastore_client.c: a datastore client as an rpcgen user writes
 * it, with rpcgen's classic client stubs (no -M) from specs/datastore.x
 * and nothing that knows about the broker: it finds the server through
 * rpcbind with plain clnt_create(HOST, DATASTORE, DATASTORE_V1, NETTYPE).
 *
 *   legacy_datastore_client HOST NETTYPE KEY
 *
 * PUTs "hello over NETTYPE" under KEY, GETs it back and checks it. On
 * success prints "ok NETTYPE" and exits 0; on an RPC error or a wrong
 * reply prints what went wrong and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datastore.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s HOST NETTYPE KEY\n", argv[0]);
		return 2;
	}
	char *host = argv[1], *nettype = argv[2], *key = argv[3];
	char text[64];
	snprintf(text, sizeof text, "hello over %s", nettype);
	u_int len = (u_int)strlen(text);

	CLIENT *clnt = clnt_create(host, DATASTORE, DATASTORE_V1, nettype);
	if (clnt == NULL) {
		clnt_pcreateerror(host);
		return 1;
	}

	ds_put_args put;
	memset(&put, 0, sizeof put);
	put.key = key;
	put.offset = 0;
	put.truncate = TRUE;
	put.data.ds_data_len = len;
	put.data.ds_data_val = text;
	ds_put_res *pr = ds_put_1(&put, clnt);
	if (pr == NULL) {
		clnt_perror(clnt, "DS_PUT");
		return 1;
	}
	if (pr->status != DS_OK || pr->ds_put_res_u.size != len) {
		fprintf(stderr, "DS_PUT: status %d\n", (int)pr->status);
		return 1;
	}

	ds_get_args get;
	memset(&get, 0, sizeof get);
	get.key = key;
	get.offset = 0;
	get.count = 1024;
	ds_get_res *gr = ds_get_1(&get, clnt);
	if (gr == NULL) {
		clnt_perror(clnt, "DS_GET");
		return 1;
	}
	if (gr->status != DS_OK) {
		fprintf(stderr, "DS_GET: status %d\n", (int)gr->status);
		return 1;
	}
	ds_get_ok *ok = &gr->ds_get_res_u.ok;
	if (ok->data.ds_data_len != len ||
	    memcmp(ok->data.ds_data_val, text, len) != 0 || !ok->eof) {
		fprintf(stderr, "DS_GET: %u bytes, not the %u PUT\n",
			ok->data.ds_data_len, len);
		return 1;
	}
	printf("ok %s\n", nettype);
	clnt_destroy(clnt);
	return 0;
}
