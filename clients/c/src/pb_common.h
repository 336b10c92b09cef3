/* pb_common.h - internal to the codec (pb_common.c, pb_encode.c, pb_decode.c) and to the tests'
 * JSON printer: wire types, field access, and what the encoder and the printer both read. */
#ifndef TOPO_PB_COMMON_H
#define TOPO_PB_COMMON_H

#include "pb.h"

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_FIXED32 = 5 };

/* The field at offset off of msg, as a T (CAT: read-only). */
#define AT(msg, off, T) ((T *)(void *)((char *)(msg) + (off)))
#define CAT(msg, off, T) ((const T *)(const void *)((const char *)(msg) + (off)))

/* The size in memory of one value of f (one element, for a repeated field). */
size_t pb_elem_size(const pb_field *f);

/* The varint (or fixed64 bits) of one scalar element at p: 0 is the default value. */
uint64_t pb_scalar_raw(const pb_field *f, const void *p);

#endif
