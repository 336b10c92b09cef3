/* pb_decode.c - the decoder (every length checked against the enclosing message before anything
 * is read or allocated) and pb_free. */
#include "pb_common.h"

#include <stdlib.h>
#include <string.h>

#define PB_MAX_DEPTH 32
#define PB_MAX_FIELD 0x1FFFFFFFu

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
    size_t es = pb_elem_size(f);
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
    case PB_MAP: {
        topo_label *e = rep_append(msg, f);
        if (!e) return fail(r, PB_ERR_NOMEM, f->number, r->pos);
        if (!dec_sub(r, f, e, depth)) return false;
        if (!e->key && !(e->key = pb_str_new("", 0))) return fail(r, PB_ERR_NOMEM, f->number, r->pos);
        if (!e->value && !(e->value = pb_str_new("", 0))) return fail(r, PB_ERR_NOMEM, f->number, r->pos);
        return true;
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
    {
        size_t i;
        for (i = 0; i < d->field_count; i++) {
            const pb_field *f = &d->fields[i];
            if (f->label == PB_MAP && !pb_map_finish(*AT(msg, f->offset, topo_label *), AT(msg, f->aux, size_t)))
                return fail(r, PB_ERR_NOMEM, f->number, r->pos);
        }
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
    case PB_MAP:
    case PB_REPEATED: {
        char **arr = (char **)v;
        size_t n = *AT(msg, f->aux, size_t), k, es = pb_elem_size(f);
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
