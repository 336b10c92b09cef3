/*
 * pb.h - internal: a small table-driven protobuf (proto3) codec.
 *
 * Each message is a plain C struct described by a pb_msgdesc: one pb_field per field, with the
 * offset of its value (and of its presence flag or element count). One generic encoder
 * (pb_encode.c), decoder and free function (pb_decode.c) serve every message; pb_common.c holds
 * what they share. The tests' JSON printer (tests/pb_json.c) walks the same tables.
 *
 * Representation:
 *  - string: char * made by pb_str_new/pb_strdup: NUL-terminated, with its byte length stored just
 *    before the first byte (so embedded NUL bytes survive a decode/encode round trip; C code that
 *    uses it as a C string sees the part before the first NUL). NULL = absent. Every string the
 *    codec encodes or frees must come from these functions. Implicit-presence strings are not
 *    written when NULL or "".
 *  - optional scalar: value + bool has flag (aux = offset of the flag).
 *  - message: embedded struct + bool has flag (aux = offset of the flag).
 *  - repeated: pointer to an array + size_t count (aux = offset of the count).
 *  - oneof member: member of a union + uint32_t case (aux = offset of the case: the field number).
 *  - map<string, string>: pointer to an array of topo_label + size_t count (aux), sorted by the
 *    keys' bytes, keys unique. Written as one entry message per label (key = 1, value = 2, both
 *    always written); decoded entries are appended, a missing key or value read as "", and when
 *    the message ends they are sorted with the last value of a repeated key kept (pb_map_finish).
 *
 * Decoding rules (as the official libraries): unknown fields of every wire type are skipped; a
 * known field with another wire type is skipped as unknown, except packed/unpacked repeated
 * scalars which are both accepted; a message field seen twice is merged; groups, wire types 6 and
 * 7, field number 0 or > 2^29-1, varints over 10 bytes (tags and lengths: over 5 bytes), lengths
 * past the enclosing message and invalid UTF-8 in strings are errors. Nothing is allocated from a
 * length not checked first.
 */
#ifndef TOPO_PB_H
#define TOPO_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../include/topology.h"

typedef enum pb_type {
    PB_STRING, PB_BOOL, PB_INT32, PB_INT64, PB_UINT64, PB_SINT32, PB_DOUBLE, PB_ENUM, PB_MESSAGE
} pb_type;

typedef enum pb_label { PB_IMPLICIT, PB_OPTIONAL, PB_REPEATED, PB_ONEOF, PB_MAP } pb_label;

typedef struct pb_enumdesc {
    const char *const *names; /* names[value], value 0..count-1 */
    int32_t count;
} pb_enumdesc;

struct pb_msgdesc;

typedef struct pb_field {
    uint32_t number;
    uint8_t type;   /* pb_type */
    uint8_t label;  /* pb_label */
    size_t offset;
    size_t aux;
    const struct pb_msgdesc *sub;
    const pb_enumdesc *enm;
    const char *json_name;
} pb_field;

typedef struct pb_msgdesc {
    const char *name; /* "runtime.v1.Frame" */
    size_t size;
    const pb_field *fields;
    size_t field_count;
} pb_msgdesc;

typedef enum pb_error {
    PB_OK = 0,
    PB_ERR_TRUNCATED,
    PB_ERR_MALFORMED_VARINT,
    PB_ERR_INVALID_WIRE_TYPE,
    PB_ERR_GROUP,
    PB_ERR_INVALID_UTF8,
    PB_ERR_INVALID_FIELD_NUMBER,
    PB_ERR_NOMEM,
    PB_ERR_TOO_DEEP,
    PB_ERR_OVERFLOW /* encoder: output buffer too small */
} pb_error;

/* "truncated", "malformed_varint", ... (the golden-vector names). */
const char *pb_error_name(pb_error err);

/* Detail of a decoding failure. */
typedef struct pb_status {
    pb_error err;
    uint32_t field;
    size_t offset;
} pb_status;

/* Size of the encoding of msg. */
size_t pb_encoded_size(const pb_msgdesc *desc, const void *msg);
/* Encodes msg into buf[0..cap); returns the length written, or 0 with *err set when cap is too
 * small (an empty message also encodes to 0 bytes: check err). */
size_t pb_encode(const pb_msgdesc *desc, const void *msg, uint8_t *buf, size_t cap, pb_error *err)
    __attribute__((warn_unused_result));

/* Decodes data into msg, which must be zeroed or hold a previous decode (then merged).
 * On error, msg may hold partial data: pb_free() it anyway. */
bool pb_decode(const pb_msgdesc *desc, void *msg, const uint8_t *data, size_t len, pb_status *st)
    __attribute__((warn_unused_result));

/* Frees everything msg points to (not msg itself) and zeroes it. */
void pb_free(const pb_msgdesc *desc, void *msg);

/* Sorts labels[0..*count) by key bytes (a shorter key before a longer one it begins), keeping the
 * last label of each key and freeing the strings of the others: protobuf's "last value wins".
 * n log n, one temporary array; false (labels untouched) when that cannot be allocated. */
bool pb_map_finish(topo_label *labels, size_t *count) __attribute__((warn_unused_result));

/* Counted strings (see above). */
char *pb_str_new(const void *bytes, size_t len);
char *pb_strdup(const char *s); /* NULL -> NULL */
size_t pb_str_len(const char *s);
void pb_str_free(char *s);

/* Varint helpers for framing. */
size_t pb_varint_size(uint64_t v);
size_t pb_put_varint(uint8_t *buf, uint64_t v);

/* Valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool pb_utf8_valid(const uint8_t *s, size_t len);

#endif
