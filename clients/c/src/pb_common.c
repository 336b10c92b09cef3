/* pb_common.c - what the encoder and the decoder share: error names, counted strings, UTF-8
 * validation, the size and raw value of a field. */
#include "pb_common.h"

#include <stdlib.h>
#include <string.h>

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
/* UTF-8                                                                                       */
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

/* ------------------------------------------------------------------------------------------- */
/* Fields                                                                                      */
/* ------------------------------------------------------------------------------------------- */

static uint64_t dbl_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

size_t pb_elem_size(const pb_field *f)
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

uint64_t pb_scalar_raw(const pb_field *f, const void *p)
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

/* ------------------------------------------------------------------------------------------- */
/* map<string, string>                                                                          */
/* ------------------------------------------------------------------------------------------- */

typedef struct map_slot {
    topo_label label;
    size_t order; /* arrival order: among equal keys the last one wins */
} map_slot;

static int key_cmp(const char *a, const char *b)
{
    size_t la = pb_str_len(a), lb = pb_str_len(b);
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c != 0) return c;
    return la < lb ? -1 : la > lb ? 1 : 0;
}

static int slot_cmp(const void *pa, const void *pb)
{
    const map_slot *a = pa, *b = pb;
    int c = key_cmp(a->label.key, b->label.key);
    if (c != 0) return c;
    return a->order < b->order ? -1 : a->order > b->order ? 1 : 0;
}

/* The codec made these strings (pb_str_new); topo_label holds them as const for the user. */
static void free_label_strings(topo_label *l)
{
    pb_str_free((char *)(uintptr_t)l->key);
    pb_str_free((char *)(uintptr_t)l->value);
}

bool pb_map_finish(topo_label *labels, size_t *count)
{
    size_t n = *count, i, kept = 0;
    map_slot *slots;
    if (n < 2) return true;
    if (n > SIZE_MAX / sizeof *slots) return false;
    slots = malloc(n * sizeof *slots);
    if (!slots) return false;
    for (i = 0; i < n; i++) {
        slots[i].label = labels[i];
        slots[i].order = i;
    }
    qsort(slots, n, sizeof *slots, slot_cmp);
    for (i = 0; i < n; i++) {
        if (i + 1 < n && key_cmp(slots[i].label.key, slots[i + 1].label.key) == 0) {
            free_label_strings(&slots[i].label); /* a later value of this key follows */
            continue;
        }
        labels[kept++] = slots[i].label;
    }
    free(slots);
    *count = kept;
    return true;
}
