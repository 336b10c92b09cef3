/* frame.c - length-prefixed Frame reader and writer (no I/O). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define LENGTH_PREFIX_MAX 5

void frame_reader_init(frame_reader *r, uint32_t max_frame)
{
    memset(r, 0, sizeof *r);
    r->max_frame = max_frame ? max_frame : TOPO_DEFAULT_MAX_FRAME_BYTES;
}

void frame_reader_free(frame_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = r->pos = 0;
}

frame_err frame_reader_feed(frame_reader *r, const void *data, size_t n)
{
    if (r->failed) return r->failed;
    if (n == 0) return FRAME_OK;
    if (r->pos > 0 && (r->pos == r->len || r->pos >= r->cap / 2)) { /* compact */
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->cap - r->len < n) {
        size_t cap = r->cap ? r->cap : 4096;
        uint8_t *nb;
        while (cap - r->len < n) {
            if (cap > ((size_t)-1) / 2) return r->failed = FRAME_ERR_NOMEM;
            cap *= 2;
        }
        nb = realloc(r->buf, cap);
        if (!nb) return r->failed = FRAME_ERR_NOMEM;
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    return FRAME_OK;
}

/* The call_id of a frame body from its first bytes, without decoding the rest (which may be far
 * over the limit and not buffered): 0 when they are not there yet or do not start with field 1. */
static uint64_t peek_call_id(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    size_t i;
    if (n < 2 || p[0] != 0x08) return 0; /* field 1, varint */
    for (i = 1; i < n && i <= 10; i++) {
        v |= (uint64_t)(p[i] & 0x7F) << (7 * (i - 1));
        if (p[i] < 0x80) return v;
    }
    return 0;
}

/* A frame over the limit. Its call_id is kept when the rest of the prefix and the body's first
 * bytes are already buffered, so the caller can end just that call; `i` is past the byte `b`. */
static frame_err too_big(frame_reader *r, uint64_t length, size_t i, uint8_t b)
{
    r->announced = length;
    while (b >= 0x80 && i < r->len && i - r->pos < LENGTH_PREFIX_MAX) b = r->buf[i++];
    r->big_call_id = b < 0x80 ? peek_call_id(r->buf + i, r->len - i) : 0;
    return r->failed = FRAME_ERR_TOO_BIG;
}

frame_err frame_reader_next(frame_reader *r, w_frame *out)
{
    uint64_t length = 0;
    size_t i = r->pos, header;
    unsigned shift = 0;
    if (r->failed) return r->failed;
    for (;;) {
        uint8_t b;
        if (i >= r->len) return FRAME_NEED_MORE;
        b = r->buf[i++];
        length |= (uint64_t)(b & 0x7F) << shift;
        /* Checked at every byte, not once the prefix is complete: an incomplete prefix can already
         * be over the limit, and the verdict (and the length it names) must not depend on how many
         * of the prefix's bytes have arrived so far. */
        if (length > r->max_frame) return too_big(r, length, i, b);
        if (b < 0x80) break;
        shift += 7;
        if (shift >= 7 * LENGTH_PREFIX_MAX) return r->failed = FRAME_ERR_LENGTH;
    }
    header = i - r->pos;
    if (r->len - i < length) return FRAME_NEED_MORE;
    if (!pb_decode(&w_frame_desc, out, r->buf + r->pos + header, (size_t)length, &r->decode_status)) {
        pb_free(&w_frame_desc, out);
        return r->failed = (r->decode_status.err == PB_ERR_NOMEM ? FRAME_ERR_NOMEM : FRAME_ERR_DECODE);
    }
    r->last_len = (size_t)length;
    r->pos += header + (size_t)length;
    if (r->pos == r->len) r->pos = r->len = 0;
    return FRAME_OK;
}

void frame_reader_describe(const frame_reader *r, char *buf, size_t len)
{
    switch (r->failed) {
    case FRAME_OK:
    case FRAME_NEED_MORE: snprintf(buf, len, "no error"); break;
    case FRAME_ERR_LENGTH: snprintf(buf, len, "malformed frame length prefix (over 5 bytes)"); break;
    case FRAME_ERR_TOO_BIG:
        snprintf(buf, len, "frame of %llu bytes is over the limit of %u bytes",
                 (unsigned long long)r->announced, r->max_frame);
        break;
    case FRAME_ERR_DECODE:
        snprintf(buf, len, "undecodable frame: %s in field %u at offset %zu",
                 pb_error_name(r->decode_status.err), r->decode_status.field, r->decode_status.offset);
        break;
    case FRAME_ERR_NOMEM: snprintf(buf, len, "out of memory while reading a frame"); break;
    }
}

uint8_t *frame_encode(const w_frame *f, size_t *len_out)
{
    size_t body = pb_encoded_size(&w_frame_desc, f);
    size_t hdr = pb_varint_size(body);
    uint8_t *buf = malloc(hdr + body + 1);
    pb_error err;
    size_t n;
    if (!buf) return NULL;
    pb_put_varint(buf, body);
    n = pb_encode(&w_frame_desc, f, buf + hdr, body, &err);
    if (err != PB_OK || n != body) {
        free(buf);
        return NULL;
    }
    *len_out = hdr + body;
    return buf;
}
