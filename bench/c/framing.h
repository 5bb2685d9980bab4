/*
 * framing.h: what the framing-only peers (framing_server.c,
 * framing_client.c) share: the record sizes and a loop that splits a
 * byte stream into RFC 5531 section 11 records (a 4-byte record mark:
 * the last-fragment bit and a 31-bit length; one fragment per record
 * here) and answers each complete one.
 */
#ifndef FRAMING_H
#define FRAMING_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

/* Record bodies: a NULL call (XID, CALL, RPC version 2, program, version,
 * procedure, AUTH_NONE credential and verifier) and its accepted reply. */
#define FRAMING_CALL_BYTES 40u
#define FRAMING_REPLY_BYTES 24u
/* The last-fragment bit of a record mark. */
#define FRAMING_LAST_FRAGMENT 0x80000000u
/* Read and write buffers: far more than 64 records in flight need. */
#define FRAMING_BUF_BYTES (64u << 10)

/* Appends one record of body_bytes bytes starting with the 4-byte word
 * word (the XID) to out at *len. */
static void framing_put(char *out, size_t *len, uint32_t word, uint32_t body_bytes)
{
	uint32_t mark = htonl(FRAMING_LAST_FRAGMENT | body_bytes), w = htonl(word);
	memcpy(out + *len, &mark, 4);
	memset(out + *len + 4, 0, body_bytes);
	memcpy(out + *len + 4, &w, 4);
	*len += 4 + body_bytes;
}

/*
 * The complete records at the front of buf[0..*have]: calls on_record(ctx,
 * first body word, body length) for each, then moves the partial rest to
 * the front. Returns -1 (errno EPROTO) for a record that is not one last
 * fragment of 4 to FRAMING_BUF_BYTES - 4 bytes, else 0.
 */
static int framing_split(char *buf, size_t *have, void (*on_record)(void *, uint32_t, uint32_t),
			 void *ctx)
{
	size_t at = 0;
	while (*have - at >= 4) {
		uint32_t mark, word, body;
		memcpy(&mark, buf + at, 4);
		mark = ntohl(mark);
		body = mark & ~FRAMING_LAST_FRAGMENT;
		if (!(mark & FRAMING_LAST_FRAGMENT) || body < 4 || body > FRAMING_BUF_BYTES - 4) {
			errno = EPROTO;
			return -1;
		}
		if (*have - at < 4 + body)
			break;
		memcpy(&word, buf + at + 4, 4);
		on_record(ctx, ntohl(word), body);
		at += 4 + body;
	}
	memmove(buf, buf + at, *have - at);
	*have -= at;
	return 0;
}

/* Writes all of buf[0..len]; 0, or -1 (errno set). */
static int framing_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
