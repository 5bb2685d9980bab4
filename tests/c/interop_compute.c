/*
 * interop_compute.c: see interop_compute.h; the definitions of the
 * procedures are the comments in specs/interop.x.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interop_compute.h"

u_int interop_checksum(const char *bytes, u_int len)
{
	u_int h = 7;
	for (u_int i = 0; i < len; i++)
		h = h * 31u + (unsigned char)bytes[i];
	return h;
}

/* (max.x - min.x) * (max.y - min.y): exact differences, wrapping product. */
static quad_t rect_area(const rect *b)
{
	u_quad_t dx = (u_quad_t)((quad_t)b->max.x - b->min.x);
	u_quad_t dy = (u_quad_t)((quad_t)b->max.y - b->min.y);
	return (quad_t)(dx * dy);
}

static char *dup_string(const char *s)
{
	char *d = strdup(s ? s : "");
	return d;
}

int compute_summary(const record *r, record_summary *out)
{
	memset(out, 0, sizeof *out);
	out->id = r->id;
	out->name_len = (u_int)strlen(r->name);
	for (u_int i = 0; i < r->aliases.aliases_len; i++)
		out->alias_bytes += (u_int)strlen(r->aliases.aliases_val[i]);
	for (int i = 0; i < TAG_LEN; i++)
		out->tag_sum += (unsigned char)r->tag[i];
	out->payload_hash = interop_checksum(r->payload.payload_val, r->payload.payload_len);
	u_int counts = 0;
	for (int i = 0; i < 4; i++)
		counts += (u_int)r->counts[i];
	out->counts_sum = (int)counts;
	u_quad_t path_sum = 0;
	for (u_int i = 0; i < r->path.path_len; i++)
		path_sum += (u_quad_t)((quad_t)r->path.path_val[i].x * (quad_t)r->path.path_val[i].y);
	out->path_sum = (quad_t)path_sum;
	out->big_plus_one = (quad_t)((u_quad_t)r->big + 1u);
	out->ubig_flipped = ~r->ubig;
	out->ratio_doubled = r->ratio * 2.0;
	out->scale_halved = r->scale * 0.5f;
	out->flag_negated = !r->flag;
	for (int i = 0; i < 3; i++)
		out->palette_sum += (int)r->palette[i];
	out->hue = r->hue;
	out->has_bounds = r->bounds != NULL;
	if (r->bounds)
		out->bounds_area = rect_area(r->bounds);
	out->outline_kind = r->outline.kind;
	out->extra_type = r->extra.type;
	return 1;
}

int compute_sum(const intarr *a, quad_t *out)
{
	quad_t s = 0;
	for (u_int i = 0; i < a->intarr_len; i++)
		s += a->intarr_val[i];
	*out = s;
	return 1;
}

int compute_make_list(int n, nodelist *out)
{
	*out = NULL;
	if (n <= 0 || n > LIST_MAX)
		return 1;
	/* Built back to front so that node i is the i-th in the list. */
	for (int i = n - 1; i >= 0; i--) {
		node *nd = calloc(1, sizeof *nd);
		char label[32];
		if (!nd)
			return 0;
		snprintf(label, sizeof label, "node-%d", i);
		nd->value = i * i - 3;
		nd->label = dup_string(label);
		nd->next = *out;
		*out = nd;
		if (!nd->label)
			return 0;
	}
	return 1;
}

int compute_reverse_items(itemlist in, itemlist *out)
{
	*out = NULL;
	for (item *it = in; it; it = it->next) {
		item *c = calloc(1, sizeof *c);
		if (!c)
			return 0;
		c->key = it->key + 1u;
		c->weight = (quad_t)((u_quad_t)it->weight * 2u);
		c->next = *out;
		*out = c;
	}
	return 1;
}

int compute_reverse(const char *s, text *out)
{
	size_t n = strlen(s);
	char *r = malloc(n + 1);
	if (!r)
		return 0;
	for (size_t i = 0; i < n; i++)
		r[i] = s[n - 1 - i];
	r[n] = '\0';
	*out = r;
	return 1;
}

int compute_classify(const shape *s, value *out)
{
	memset(out, 0, sizeof *out);
	switch (s->kind) {
	case SHAPE_NONE:
		out->type = 0;
		break;
	case SHAPE_CIRCLE: {
		double r = (double)s->shape_u.round.radius;
		out->type = 3;
		out->value_u.d = 3.0 * r * r;
		break;
	}
	case SHAPE_SQUARE:
	case SHAPE_RECT: {
		out->type = 2;
		out->value_u.h = rect_area(&s->shape_u.box);
		break;
	}
	default: {
		char buf[64];
		snprintf(buf, sizeof buf, "kind-%d-raw-%u", (int)s->kind, s->shape_u.raw.raw_len);
		out->type = 4;
		out->value_u.s = dup_string(buf);
		if (!out->value_u.s)
			return 0;
		break;
	}
	}
	return 1;
}

int compute_negate(const value *v, value *out)
{
	memset(out, 0, sizeof *out);
	out->type = v->type;
	switch (v->type) {
	case 1:
		out->value_u.i = (int)(0u - (u_int)v->value_u.i);
		break;
	case 2:
		out->value_u.h = (quad_t)(0u - (u_quad_t)v->value_u.h);
		break;
	case 3:
		out->value_u.d = -v->value_u.d;
		break;
	case 4:
		return compute_reverse(v->value_u.s, &out->value_u.s);
	case 5:
		out->value_u.b = !v->value_u.b;
		break;
	case 6:
		out->value_u.uh = 0u - v->value_u.uh;
		break;
	case 7:
		out->value_u.f = -v->value_u.f;
		break;
	default:
		break;
	}
	return 1;
}

int compute_fill(const fill_args *a, blob *out)
{
	out->blob_len = 0;
	out->blob_val = NULL;
	if (a->size == 0 || a->size > BLOB_MAX)
		return 1;
	out->blob_val = malloc(a->size);
	if (!out->blob_val)
		return 0;
	out->blob_len = a->size;
	for (u_int i = 0; i < a->size; i++)
		out->blob_val[i] = (char)(unsigned char)(a->seed + 7u * i);
	return 1;
}

quad_t compute_add(quad_t a, quad_t b)
{
	return (quad_t)((u_quad_t)a + (u_quad_t)b);
}

/* Encodes *obj into a new buffer; *len gets its size. NULL on failure. */
static char *encode(xdrproc_t proc, void *obj, u_int *len)
{
	XDR x;
	unsigned long size = xdr_sizeof(proc, obj);
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return NULL;
	xdrmem_create(&x, buf, (u_int)size, XDR_ENCODE);
	if (!proc(&x, obj)) {
		free(buf);
		return NULL;
	}
	*len = xdr_getpos(&x);
	xdr_destroy(&x);
	return buf;
}

int xdr_copy(xdrproc_t proc, void *src, void *dst)
{
	XDR x;
	u_int len = 0;
	int ok;
	char *buf = encode(proc, src, &len);
	if (!buf)
		return 0;
	xdrmem_create(&x, buf, len, XDR_DECODE);
	ok = proc(&x, dst);
	xdr_destroy(&x);
	free(buf);
	return ok;
}

int xdr_same(xdrproc_t proc, void *a, void *b)
{
	u_int la = 0, lb = 0;
	char *ea = encode(proc, a, &la);
	char *eb = encode(proc, b, &lb);
	int same = ea && eb && la == lb && memcmp(ea, eb, la) == 0;
	free(ea);
	free(eb);
	return same;
}
