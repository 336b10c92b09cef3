/* pb_json.c - proto3 JSON of a decoded message, for the tests and the fuzzer (not part of the
 * library): the mapping Python's MessageToDict writes, compared with the golden vectors' values. */
#include "pb_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_common.h"

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
            else present = pb_scalar_raw(f, v) != 0;
            break;
        case PB_OPTIONAL:
            if (f->type == PB_STRING) present = *(char *const *)v != NULL;
            else present = *CAT(msg, f->aux, bool);
            break;
        case PB_ONEOF: present = *CAT(msg, f->aux, uint32_t) == f->number; break;
        case PB_MAP:
        case PB_REPEATED: present = *CAT(msg, f->aux, size_t) > 0; break;
        }
        if (!present) continue;
        if (!first) sb_put(b, ",", 1);
        first = false;
        sb_jstr(b, f->json_name);
        sb_put(b, ":", 1);
        if (f->label == PB_MAP) {
            size_t n = *CAT(msg, f->aux, size_t);
            const topo_label *labels = *(const topo_label *const *)v;
            sb_put(b, "{", 1);
            for (k = 0; k < n; k++) {
                if (k) sb_put(b, ",", 1);
                sb_jstr_n(b, labels[k].key, pb_str_len(labels[k].key));
                sb_put(b, ":", 1);
                sb_jstr_n(b, labels[k].value, pb_str_len(labels[k].value));
            }
            sb_put(b, "}", 1);
        } else if (f->label == PB_REPEATED) {
            size_t n = *CAT(msg, f->aux, size_t), es = pb_elem_size(f);
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
