/*
 * interop_compute.h: the results of the procedures of specs/interop.x,
 * computed in C. Shared by interop_server.c (to answer calls) and
 * interop_client.c (to check the answers of a Rust server). The Rust tests
 * compute the same results independently.
 */
#ifndef INTEROP_COMPUTE_H
#define INTEROP_COMPUTE_H

#include "interop.h"

/* REVERSE of this string fails with SYSTEM_ERR (see specs/interop.x). */
#define SYSTEM_ERR_TEXT "!system-err"

/* CHECKSUM: h = h * 31 + byte (unsigned 32-bit), from h = 7. */
u_int interop_checksum(const char *bytes, u_int len);

/* Each compute_* function fills *out, allocating with malloc what needs
 * allocating, so that xdr_free(xdr_<type>, out) releases it. They return 1,
 * or 0 if memory ran out. */
int compute_summary(const record *r, record_summary *out);
int compute_sum(const intarr *a, quad_t *out);
int compute_make_list(int n, nodelist *out);
int compute_reverse_items(itemlist in, itemlist *out);
int compute_reverse(const char *s, text *out);
int compute_classify(const shape *s, value *out);
int compute_negate(const value *v, value *out);
int compute_fill(const fill_args *a, blob *out);
quad_t compute_add(quad_t a, quad_t b);

/* Deep copy through XDR: encodes *src and decodes the bytes into *dst
 * (which must be zeroed). Returns 1 on success. */
int xdr_copy(xdrproc_t proc, void *src, void *dst);

/* 1 if *a and *b have the same XDR encoding. */
int xdr_same(xdrproc_t proc, void *a, void *b);

#endif
