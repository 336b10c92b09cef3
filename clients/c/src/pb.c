/* pb.c - the table-driven protobuf codec described in pb.h. */
#include "pb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PB_MAX_DEPTH 32
#define PB_MAX_FIELD 0x1FFFFFFFu

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_FIXED32 = 5 };

const char *pb_error_name(pb_error err)
{
    switch (err) {
    case PB_OK: return "ok";
    case PB_ERR_TRUNCATED: return "truncated";
    case PB_ERR_MALFORMED_VARINT: return "malformed_varint";
    case PB_ERR_INVALID_WIRE_TYPE: return "invalid_wire_type";
    case PB_ERR_GROUP: return "group";
    case PB_ERR_INVALID_UTF8: return "invalid_utf8";
    case PB_ERR_INVALID_FIELD_NUMBER: return "invalid_field_number";
    case PB_ERR_NOMEM: return "out_of_memory";
    case PB_ERR_TOO_DEEP: return "too_deep";
    case PB_ERR_OVERFLOW: return "overflow";
    }
    return "unknown";
}

#define AT(msg, off, T) ((T *)(void *)((char *)(msg) + (off)))
#define CAT(msg, off, T) ((const T *)(const void *)((const char *)(msg) + (off)))

/* ------------------------------------------------------------------------------------------- */
/* Counted strings                                                                              */
/* ------------------------------------------------------------------------------------------- */

char *pb_str_new(const void *bytes, size_t len)
{
    char *base;
    if (len > ((size_t)-1) - sizeof(size_t) - 1) return NULL;
    base = malloc(sizeof(size_t) + len + 1);
    if (!base) return NULL;
    memcpy(base, &len, sizeof len);
    if (len) memcpy(base + sizeof(size_t), bytes, len);
    base[sizeof(size_t) + len] = '\0';
    return base + sizeof(size_t);
}

char *pb_strdup(const char *s) { return s ? pb_str_new(s, strlen(s)) : NULL; }

size_t pb_str_len(const char *s)
{
    size_t n;
    memcpy(&n, s - sizeof(size_t), sizeof n);
    return n;
}

void pb_str_free(char *s)
{
    if (s) free(s - sizeof(size_t));
}

/* ------------------------------------------------------------------------------------------- */
/* Encoding                                                                                     */
/* ------------------------------------------------------------------------------------------- */

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

static uint64_t dbl_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static size_t elem_size(const pb_field *f)
{
    switch (f->type) {
    case PB_STRING: return sizeof(char *);
    case PB_BOOL: return sizeof(bool);
    case PB_INT32: case PB_SINT32: case PB_ENUM: return sizeof(int32_t);
    case PB_INT64: return sizeof(int64_t);
    case PB_UINT64: return sizeof(uint64_t);
    case PB_DOUBLE: return sizeof(double);
    case PB_MESSAGE: return f->sub->size;
    }
    return 0;
}

/* The varint (or fixed64 bits) of one scalar element at p. */
static uint64_t scalar_raw(const pb_field *f, const void *p)
{
    switch (f->type) {
    case PB_BOOL: return *(const bool *)p ? 1u : 0u;
    case PB_INT32: case PB_ENUM: return (uint64_t)(int64_t)*(const int32_t *)p;
    case PB_SINT32: {
        int32_t v = *(const int32_t *)p;
        return (uint64_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)); /* arithmetic shift */
    }
    case PB_INT64: return (uint64_t)*(const int64_t *)p;
    case PB_UINT64: return *(const uint64_t *)p;
    case PB_DOUBLE: return dbl_bits(*(const double *)p);
    default: return 0;
    }
}

static void w_scalar(writer *w, const pb_field *f, const void *p)
{
    if (f->type == PB_DOUBLE) w_fixed64(w, scalar_raw(f, p));
    else w_varint(w, scalar_raw(f, p));
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
            } else if (scalar_raw(f, v) != 0) {
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
        case PB_REPEATED: {
            size_t n = *CAT(msg, f->aux, size_t);
            const char *arr = *(const char *const *)v;
            size_t es = elem_size(f);
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

/* ------------------------------------------------------------------------------------------- */
/* Decoding                                                                                     */
/* ------------------------------------------------------------------------------------------- */

bool pb_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1Fu; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0Fu; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07u; min = 0x10000; }
        else return false;
        if (len - i <= n) return false;
        {
            size_t k;
            for (k = 1; k <= n; k++) {
                if ((s[i + k] & 0xC0) != 0x80) return false;
                cp = (cp << 6) | (s[i + k] & 0x3Fu);
            }
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

typedef struct reader {
    const uint8_t *p;
    size_t pos;
    size_t end;
    size_t base; /* offset of p[0] in the outermost buffer, for error offsets */
    pb_status *st;
} reader;

static bool fail(reader *r, pb_error e, uint32_t field, size_t at)
{
    if (r->st && r->st->err == PB_OK) {
        r->st->err = e;
        r->st->field = field;
        r->st->offset = r->base + at;
    }
    return false;
}

/* A varint of at most max_bytes bytes: 10 for values, 5 for tags and lengths (32-bit, as the
 * official libraries require). Bits past the 64th are dropped, as they do. */
static bool r_varint_n(reader *r, uint64_t *out, uint32_t field, unsigned max_bytes)
{
    size_t start = r->pos;
    uint64_t v = 0;
    unsigned shift = 0, n = 0;
    for (;;) {
        uint8_t b;
        if (r->pos >= r->end) return fail(r, PB_ERR_TRUNCATED, field, start);
        b = r->p[r->pos++];
        if (shift < 64) v |= (uint64_t)(b & 0x7F) << shift;
        if (b < 0x80) break;
        shift += 7;
        if (++n >= max_bytes) return fail(r, PB_ERR_MALFORMED_VARINT, field, start);
    }
    *out = v;
    return true;
}

static bool r_varint(reader *r, uint64_t *out, uint32_t field) { return r_varint_n(r, out, field, 10); }

static bool r_need(reader *r, size_t n, uint32_t field)
{
    if (r->end - r->pos < n) return fail(r, PB_ERR_TRUNCATED, field, r->pos);
    return true;
}

static bool r_len(reader *r, size_t *out, uint32_t field)
{
    size_t at = r->pos;
    uint64_t n;
    if (!r_varint_n(r, &n, field, 5)) return false;
    if (n > (uint64_t)(r->end - r->pos)) return fail(r, PB_ERR_TRUNCATED, field, at);
    *out = (size_t)n;
    return true;
}

static bool skip_field(reader *r, int wt, uint32_t field)
{
    uint64_t v;
    size_t n;
    switch (wt) {
    case WT_VARINT: return r_varint(r, &v, field);
    case WT_FIXED64: if (!r_need(r, 8, field)) return false; r->pos += 8; return true;
    case WT_FIXED32: if (!r_need(r, 4, field)) return false; r->pos += 4; return true;
    case WT_LEN: if (!r_len(r, &n, field)) return false; r->pos += n; return true;
    default: return fail(r, PB_ERR_INVALID_WIRE_TYPE, field, r->pos);
    }
}

/* Appends one zeroed element to a repeated field; returns it, or NULL (out of memory). */
static void *rep_append(void *msg, const pb_field *f)
{
    char **arr = AT(msg, f->offset, char *);
    size_t *count = AT(msg, f->aux, size_t);
    size_t es = elem_size(f);
    size_t n = *count;
    /* capacity is the next power of two >= n (at least 4): grow when n reaches it */
    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
        size_t cap = n == 0 ? 4 : n * 2;
        char *na;
        if (cap > ((size_t)-1) / es) return NULL;
        na = realloc(*arr, cap * es);
        if (!na) return NULL;
        *arr = na;
    }
    memset(*arr + n * es, 0, es);
    *count = n + 1;
    return *arr + n * es;
}

static void store_scalar(const pb_field *f, void *p, uint64_t raw)
{
    switch (f->type) {
    case PB_BOOL: *(bool *)p = raw != 0; break;
    case PB_INT32: case PB_ENUM: *(int32_t *)p = (int32_t)(uint32_t)raw; break;
    case PB_SINT32: {
        uint32_t n = (uint32_t)raw;
        *(int32_t *)p = (int32_t)((n >> 1) ^ (0u - (n & 1u)));
        break;
    }
    case PB_INT64: *(int64_t *)p = (int64_t)raw; break;
    case PB_UINT64: *(uint64_t *)p = raw; break;
    case PB_DOUBLE: memcpy(p, &raw, sizeof(double)); break;
    default: break;
    }
}

static bool r_scalar(reader *r, const pb_field *f, uint64_t *raw)
{
    if (f->type == PB_DOUBLE) {
        int i;
        uint64_t v = 0;
        if (!r_need(r, 8, f->number)) return false;
        for (i = 0; i < 8; i++) v |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
        r->pos += 8;
        *raw = v;
        return true;
    }
    return r_varint(r, raw, f->number);
}

static const pb_field *find_field(const pb_msgdesc *d, uint32_t number)
{
    size_t i;
    for (i = 0; i < d->field_count; i++)
        if (d->fields[i].number == number) return &d->fields[i];
    return NULL;
}

static bool dec_msg(const pb_msgdesc *d, void *msg, reader *r, int depth);

static bool dec_sub(reader *r, const pb_field *f, void *sub, int depth)
{
    size_t n;
    reader s;
    if (!r_len(r, &n, f->number)) return false;
    if (depth >= PB_MAX_DEPTH) return fail(r, PB_ERR_TOO_DEEP, f->number, r->pos);
    s.p = r->p + r->pos;
    s.pos = 0;
    s.end = n;
    s.base = r->base + r->pos;
    s.st = r->st;
    r->pos += n;
    return dec_msg(f->sub, sub, &s, depth + 1);
}

static bool dec_str(reader *r, const pb_field *f, char **out)
{
    size_t n;
    char *s;
    if (!r_len(r, &n, f->number)) return false;
    if (!pb_utf8_valid(r->p + r->pos, n)) return fail(r, PB_ERR_INVALID_UTF8, f->number, r->pos);
    s = pb_str_new(r->p + r->pos, n);
    if (!s) return fail(r, PB_ERR_NOMEM, f->number, r->pos);
    r->pos += n;
    pb_str_free(*out);
    *out = s;
    return true;
}

static int wire_type_of(const pb_field *f)
{
    if (f->type == PB_STRING || f->type == PB_MESSAGE) return WT_LEN;
    if (f->type == PB_DOUBLE) return WT_FIXED64;
    return WT_VARINT;
}

static bool dec_field(reader *r, const pb_field *f, void *msg, int wt, int depth)
{
    void *v = AT(msg, f->offset, char);
    int want = wire_type_of(f);
    if (f->label == PB_REPEATED && want != WT_LEN && wt == WT_LEN) { /* packed */
        size_t n, end;
        if (!r_len(r, &n, f->number)) return false;
        end = r->pos + n;
        {
            reader s = *r;
            s.end = end;
            while (s.pos < end) {
                uint64_t raw;
                void *e;
                if (!r_scalar(&s, f, &raw)) return false;
                e = rep_append(msg, f);
                if (!e) return fail(r, PB_ERR_NOMEM, f->number, s.pos);
                store_scalar(f, e, raw);
            }
        }
        r->pos = end;
        return true;
    }
    if (wt != want) return skip_field(r, wt, f->number); /* as unknown */
    switch (f->label) {
    case PB_IMPLICIT:
    case PB_OPTIONAL:
        if (f->type == PB_STRING) return dec_str(r, f, (char **)v);
        if (f->type == PB_MESSAGE) {
            if (f->label == PB_OPTIONAL) *AT(msg, f->aux, bool) = true;
            return dec_sub(r, f, v, depth);
        } else {
            uint64_t raw;
            if (!r_scalar(r, f, &raw)) return false;
            store_scalar(f, v, raw);
            if (f->label == PB_OPTIONAL) *AT(msg, f->aux, bool) = true;
            return true;
        }
    case PB_ONEOF: {
        /* dec_msg has freed another active member of the oneof already */
        *AT(msg, f->aux, uint32_t) = f->number;
        return dec_sub(r, f, v, depth);
    }
    case PB_REPEATED: {
        void *e;
        if (f->type == PB_STRING || f->type == PB_MESSAGE) {
            e = rep_append(msg, f);
            if (!e) return fail(r, PB_ERR_NOMEM, f->number, r->pos);
            if (f->type == PB_STRING) return dec_str(r, f, (char **)e);
            return dec_sub(r, f, e, depth);
        } else {
            uint64_t raw;
            if (!r_scalar(r, f, &raw)) return false;
            e = rep_append(msg, f);
            if (!e) return fail(r, PB_ERR_NOMEM, f->number, r->pos);
            store_scalar(f, e, raw);
            return true;
        }
    }
    }
    return true;
}

static void free_field(const pb_field *f, void *msg);

static bool dec_msg(const pb_msgdesc *d, void *msg, reader *r, int depth)
{
    while (r->pos < r->end) {
        size_t at = r->pos;
        uint64_t key;
        uint32_t number;
        int wt;
        const pb_field *f;
        if (!r_varint_n(r, &key, 0, 5)) return false;
        if ((key >> 3) == 0 || (key >> 3) > PB_MAX_FIELD)
            return fail(r, PB_ERR_INVALID_FIELD_NUMBER, 0, at);
        number = (uint32_t)(key >> 3);
        wt = (int)(key & 7);
        if (wt == WT_SGROUP || wt == WT_EGROUP) return fail(r, PB_ERR_GROUP, number, at);
        if (wt > WT_FIXED32) return fail(r, PB_ERR_INVALID_WIRE_TYPE, number, at);
        f = find_field(d, number);
        if (!f) {
            if (!skip_field(r, wt, number)) return false;
            continue;
        }
        if (f->label == PB_ONEOF && wt == WT_LEN) {
            uint32_t which = *AT(msg, f->aux, uint32_t);
            if (which != 0 && which != number) {
                const pb_field *old = find_field(d, which);
                if (old) free_field(old, msg);
                *AT(msg, f->aux, uint32_t) = 0;
            }
        }
        if (!dec_field(r, f, msg, wt, depth)) return false;
    }
    return true;
}

bool pb_decode(const pb_msgdesc *desc, void *msg, const uint8_t *data, size_t len, pb_status *st)
{
    reader r;
    pb_status local;
    if (!st) st = &local;
    st->err = PB_OK;
    st->field = 0;
    st->offset = 0;
    r.p = data;
    r.pos = 0;
    r.end = len;
    r.base = 0;
    r.st = st;
    return dec_msg(desc, msg, &r, 0);
}

/* ------------------------------------------------------------------------------------------- */
/* Freeing                                                                                      */
/* ------------------------------------------------------------------------------------------- */

static void free_field(const pb_field *f, void *msg)
{
    void *v = AT(msg, f->offset, char);
    switch (f->label) {
    case PB_IMPLICIT:
    case PB_OPTIONAL:
        if (f->type == PB_STRING) {
            pb_str_free(*(char **)v);
            *(char **)v = NULL;
        } else if (f->type == PB_MESSAGE) {
            pb_free(f->sub, v);
            if (f->label == PB_OPTIONAL) *AT(msg, f->aux, bool) = false;
        }
        break;
    case PB_ONEOF:
        if (*AT(msg, f->aux, uint32_t) == f->number) {
            pb_free(f->sub, v);
            *AT(msg, f->aux, uint32_t) = 0;
        }
        break;
    case PB_REPEATED: {
        char **arr = (char **)v;
        size_t n = *AT(msg, f->aux, size_t), k, es = elem_size(f);
        if (*arr) {
            if (f->type == PB_STRING)
                for (k = 0; k < n; k++) pb_str_free(((char **)(void *)*arr)[k]);
            else if (f->type == PB_MESSAGE)
                for (k = 0; k < n; k++) pb_free(f->sub, *arr + k * es);
            free(*arr);
        }
        *arr = NULL;
        *AT(msg, f->aux, size_t) = 0;
        break;
    }
    }
}

void pb_free(const pb_msgdesc *desc, void *msg)
{
    size_t i;
    if (!msg) return;
    for (i = 0; i < desc->field_count; i++) free_field(&desc->fields[i], msg);
    memset(msg, 0, desc->size);
}

/* ------------------------------------------------------------------------------------------- */
/* JSON (proto3 JSON mapping as Python's MessageToDict writes it; for tests)                    */
/* ------------------------------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 256;
        char *np;
        while (cap - b->len <= n) cap *= 2;
        np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_fmt_u64(sbuf *b, uint64_t v, bool quoted)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, quoted ? "\"%llu\"" : "%llu", (unsigned long long)v);
    sb_str(b, tmp);
}

static void sb_fmt_i64(sbuf *b, int64_t v, bool quoted)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, quoted ? "\"%lld\"" : "%lld", (long long)v);
    sb_str(b, tmp);
}

static void sb_jstr_n(sbuf *b, const char *s, size_t n)
{
    size_t i;
    sb_put(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2];
            e[0] = '\\';
            e[1] = (char)c;
            sb_put(b, e, 2);
        } else if (c < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", c);
            sb_str(b, e);
        } else {
            sb_put(b, (const char *)&c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static void sb_jstr(sbuf *b, const char *s) { sb_jstr_n(b, s, strlen(s)); }

static void json_msg(sbuf *b, const pb_msgdesc *d, const void *msg);

static void json_scalar(sbuf *b, const pb_field *f, const void *p)
{
    switch (f->type) {
    case PB_STRING: {
        const char *s = *(char *const *)p;
        if (s) sb_jstr_n(b, s, pb_str_len(s));
        else sb_jstr(b, "");
        break;
    }
    case PB_BOOL: sb_str(b, *(const bool *)p ? "true" : "false"); break;
    case PB_INT32: case PB_SINT32: sb_fmt_i64(b, *(const int32_t *)p, false); break;
    case PB_INT64: sb_fmt_i64(b, *(const int64_t *)p, true); break;
    case PB_UINT64: sb_fmt_u64(b, *(const uint64_t *)p, true); break;
    case PB_ENUM: {
        int32_t v = *(const int32_t *)p;
        if (f->enm && v >= 0 && v < f->enm->count) sb_jstr(b, f->enm->names[v]);
        else sb_fmt_i64(b, v, false);
        break;
    }
    case PB_DOUBLE: {
        double x = *(const double *)p;
        char tmp[40];
        if (isnan(x)) sb_str(b, "\"NaN\"");
        else if (isinf(x)) sb_str(b, x > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        else if (x == 0 && signbit(x)) sb_str(b, "-0.0"); /* "%.17g" gives "-0": an integer to JSON readers */
        else {
            snprintf(tmp, sizeof tmp, "%.17g", x);
            sb_str(b, tmp);
        }
        break;
    }
    case PB_MESSAGE: json_msg(b, f->sub, p); break;
    }
}

static void json_msg(sbuf *b, const pb_msgdesc *d, const void *msg)
{
    size_t i, k;
    bool first = true;
    sb_put(b, "{", 1);
    for (i = 0; i < d->field_count; i++) {
        const pb_field *f = &d->fields[i];
        const void *v = CAT(msg, f->offset, char);
        bool present = false;
        switch (f->label) {
        case PB_IMPLICIT:
            if (f->type == PB_STRING) present = *(char *const *)v && pb_str_len(*(char *const *)v) > 0;
            else if (f->type == PB_MESSAGE) present = true;
            else present = scalar_raw(f, v) != 0;
            break;
        case PB_OPTIONAL:
            if (f->type == PB_STRING) present = *(char *const *)v != NULL;
            else present = *CAT(msg, f->aux, bool);
            break;
        case PB_ONEOF: present = *CAT(msg, f->aux, uint32_t) == f->number; break;
        case PB_REPEATED: present = *CAT(msg, f->aux, size_t) > 0; break;
        }
        if (!present) continue;
        if (!first) sb_put(b, ",", 1);
        first = false;
        sb_jstr(b, f->json_name);
        sb_put(b, ":", 1);
        if (f->label == PB_REPEATED) {
            size_t n = *CAT(msg, f->aux, size_t), es = elem_size(f);
            const char *arr = *(const char *const *)v;
            sb_put(b, "[", 1);
            for (k = 0; k < n; k++) {
                if (k) sb_put(b, ",", 1);
                json_scalar(b, f, arr + k * es);
            }
            sb_put(b, "]", 1);
        } else {
            json_scalar(b, f, v);
        }
    }
    sb_put(b, "}", 1);
}

char *pb_to_json(const pb_msgdesc *desc, const void *msg)
{
    sbuf b = {NULL, 0, 0, false};
    json_msg(&b, desc, msg);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
