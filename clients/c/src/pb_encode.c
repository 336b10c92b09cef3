/* pb_encode.c - the encoder: pb_encoded_size, and pb_encode into the caller's buffer, which it
 * never overruns. */
#include "pb_common.h"

#include <string.h>

size_t pb_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t pb_put_varint(uint8_t *buf, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        buf[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    buf[n++] = (uint8_t)v;
    return n;
}

typedef struct writer {
    uint8_t *buf;  /* NULL: sizing only */
    size_t cap;
    size_t len;
    bool overflow;
} writer;

static void w_bytes(writer *w, const void *p, size_t n)
{
    if (w->buf) {
        if (w->overflow || n > w->cap - w->len) {
            w->overflow = true;
            return;
        }
        memcpy(w->buf + w->len, p, n);
    }
    w->len += n;
}

static void w_varint(writer *w, uint64_t v)
{
    uint8_t tmp[10];
    w_bytes(w, tmp, pb_put_varint(tmp, v));
}

static void w_tag(writer *w, uint32_t number, int wt) { w_varint(w, ((uint64_t)number << 3) | (unsigned)wt); }

static void w_fixed64(writer *w, uint64_t v)
{
    uint8_t b[8];
    int i;
    for (i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    w_bytes(w, b, 8);
}

static void w_scalar(writer *w, const pb_field *f, const void *p)
{
    if (f->type == PB_DOUBLE) w_fixed64(w, pb_scalar_raw(f, p));
    else w_varint(w, pb_scalar_raw(f, p));
}

static void enc_msg(const pb_msgdesc *d, const void *msg, writer *w);

static size_t msg_size(const pb_msgdesc *d, const void *msg)
{
    writer s = {NULL, 0, 0, false};
    enc_msg(d, msg, &s);
    return s.len;
}

static void enc_sub(writer *w, const pb_field *f, const void *sub)
{
    w_tag(w, f->number, WT_LEN);
    w_varint(w, msg_size(f->sub, sub));
    enc_msg(f->sub, sub, w);
}

static void enc_str(writer *w, const pb_field *f, const char *s)
{
    size_t n = pb_str_len(s);
    w_tag(w, f->number, WT_LEN);
    w_varint(w, n);
    w_bytes(w, s, n);
}

static void enc_msg(const pb_msgdesc *d, const void *msg, writer *w)
{
    size_t i, k;
    for (i = 0; i < d->field_count; i++) {
        const pb_field *f = &d->fields[i];
        const void *v = CAT(msg, f->offset, char);
        switch (f->label) {
        case PB_IMPLICIT:
            if (f->type == PB_STRING) {
                const char *s = *(char *const *)v;
                if (s && pb_str_len(s) > 0) enc_str(w, f, s);
            } else if (f->type == PB_MESSAGE) {
                enc_sub(w, f, v);
            } else if (pb_scalar_raw(f, v) != 0) {
                w_tag(w, f->number, f->type == PB_DOUBLE ? WT_FIXED64 : WT_VARINT);
                w_scalar(w, f, v);
            }
            break;
        case PB_OPTIONAL:
            if (f->type == PB_STRING) {
                const char *s = *(char *const *)v;
                if (s) enc_str(w, f, s);
            } else if (*CAT(msg, f->aux, bool)) {
                if (f->type == PB_MESSAGE) {
                    enc_sub(w, f, v);
                } else {
                    w_tag(w, f->number, f->type == PB_DOUBLE ? WT_FIXED64 : WT_VARINT);
                    w_scalar(w, f, v);
                }
            }
            break;
        case PB_ONEOF:
            if (*CAT(msg, f->aux, uint32_t) == f->number) enc_sub(w, f, v);
            break;
        case PB_MAP: /* kept sorted and unique: written as the repeated entry messages they are */
        case PB_REPEATED: {
            size_t n = *CAT(msg, f->aux, size_t);
            const char *arr = *(const char *const *)v;
            size_t es = pb_elem_size(f);
            if (n == 0 || !arr) break;
            if (f->type == PB_STRING) {
                for (k = 0; k < n; k++) {
                    const char *s = ((char *const *)(const void *)arr)[k];
                    if (s) enc_str(w, f, s);
                    else {
                        w_tag(w, f->number, WT_LEN);
                        w_varint(w, 0);
                    }
                }
            } else if (f->type == PB_MESSAGE) {
                for (k = 0; k < n; k++) enc_sub(w, f, arr + k * es);
            } else { /* packed */
                writer s = {NULL, 0, 0, false};
                for (k = 0; k < n; k++) w_scalar(&s, f, arr + k * es);
                w_tag(w, f->number, WT_LEN);
                w_varint(w, s.len);
                for (k = 0; k < n; k++) w_scalar(w, f, arr + k * es);
            }
            break;
        }
        }
    }
}

size_t pb_encoded_size(const pb_msgdesc *desc, const void *msg) { return msg_size(desc, msg); }

size_t pb_encode(const pb_msgdesc *desc, const void *msg, uint8_t *buf, size_t cap, pb_error *err)
{
    writer w;
    w.buf = buf;
    w.cap = cap;
    w.len = 0;
    w.overflow = (buf == NULL);
    if (!w.overflow) enc_msg(desc, msg, &w);
    if (w.overflow) {
        if (err) *err = PB_ERR_OVERFLOW;
        return 0;
    }
    if (err) *err = PB_OK;
    return w.len;
}
