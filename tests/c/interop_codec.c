/*
 * interop_codec.c: libtirpc's XDR routines for specs/interop.x on a
 * stream, for byte-for-byte codec comparisons with the Rust side.
 *
 *   interop_codec roundtrip TYPE
 *       reads frames from stdin, decodes each as TYPE with rpcgen's
 *       xdr_TYPE, encodes the result again and writes it as a frame to
 *       stdout. Exits 1 (after a message on stderr) if a frame does not
 *       decode or leaves bytes over.
 *
 * A frame is a 4-byte big-endian length followed by that many bytes.
 * TYPE is one of: record record_summary shape value nodelist itemlist
 * point rect fill_args intarr blob text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interop.h"

struct codec {
	const char *name;
	xdrproc_t proc;
	size_t size;
};

static const struct codec codecs[] = {
	{"record", (xdrproc_t)xdr_record, sizeof(record)},
	{"record_summary", (xdrproc_t)xdr_record_summary, sizeof(record_summary)},
	{"shape", (xdrproc_t)xdr_shape, sizeof(shape)},
	{"value", (xdrproc_t)xdr_value, sizeof(value)},
	{"nodelist", (xdrproc_t)xdr_nodelist, sizeof(nodelist)},
	{"itemlist", (xdrproc_t)xdr_itemlist, sizeof(itemlist)},
	{"point", (xdrproc_t)xdr_point, sizeof(point)},
	{"rect", (xdrproc_t)xdr_rect, sizeof(rect)},
	{"fill_args", (xdrproc_t)xdr_fill_args, sizeof(fill_args)},
	{"intarr", (xdrproc_t)xdr_intarr, sizeof(intarr)},
	{"blob", (xdrproc_t)xdr_blob, sizeof(blob)},
	{"text", (xdrproc_t)xdr_text, sizeof(text)},
};

static int read_frame(char **buf, uint32_t *len)
{
	unsigned char hdr[4];
	size_t got = fread(hdr, 1, 4, stdin);
	if (got == 0 && feof(stdin))
		return 0;
	if (got != 4) {
		fprintf(stderr, "truncated frame header\n");
		exit(1);
	}
	*len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	*buf = malloc(*len ? *len : 1);
	if (!*buf || fread(*buf, 1, *len, stdin) != *len) {
		fprintf(stderr, "truncated frame of %u bytes\n", *len);
		exit(1);
	}
	return 1;
}

static void write_frame(const char *buf, uint32_t len)
{
	unsigned char hdr[4] = {len >> 24, len >> 16, len >> 8, len};
	if (fwrite(hdr, 1, 4, stdout) != 4 || fwrite(buf, 1, len, stdout) != len) {
		fprintf(stderr, "write failed\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const struct codec *c = NULL;
	char *in;
	uint32_t len;
	unsigned long n = 0;

	if (argc != 3 || strcmp(argv[1], "roundtrip") != 0) {
		fprintf(stderr, "usage: interop_codec roundtrip TYPE\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++)
		if (strcmp(codecs[i].name, argv[2]) == 0)
			c = &codecs[i];
	if (!c) {
		fprintf(stderr, "unknown type %s\n", argv[2]);
		return 2;
	}
	while (read_frame(&in, &len)) {
		XDR x;
		void *obj = calloc(1, c->size);
		unsigned long size;
		char *out;
		if (!obj)
			return 1;
		xdrmem_create(&x, in, len, XDR_DECODE);
		if (!c->proc(&x, obj)) {
			fprintf(stderr, "frame %lu: xdr_%s cannot decode its %u bytes\n", n, c->name, len);
			return 1;
		}
		if (xdr_getpos(&x) != len) {
			fprintf(stderr, "frame %lu: xdr_%s left %u of %u bytes over\n", n, c->name,
			        len - xdr_getpos(&x), len);
			return 1;
		}
		xdr_destroy(&x);
		size = xdr_sizeof(c->proc, obj);
		out = malloc(size ? size : 1);
		if (!out)
			return 1;
		xdrmem_create(&x, out, (u_int)size, XDR_ENCODE);
		if (!c->proc(&x, obj)) {
			fprintf(stderr, "frame %lu: xdr_%s cannot encode what it decoded\n", n, c->name);
			return 1;
		}
		write_frame(out, xdr_getpos(&x));
		xdr_destroy(&x);
		xdr_free(c->proc, obj);
		free(obj);
		free(out);
		free(in);
		n++;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
