/* pb_json.h - proto3 JSON of a decoded message (tests and the fuzzer; not in the library). */
#ifndef TOPO_PB_JSON_H
#define TOPO_PB_JSON_H

#include "pb.h"

/* Proto3 JSON (MessageToDict conventions) of msg, malloc'd; NULL on out of memory. */
char *pb_to_json(const pb_msgdesc *desc, const void *msg);

#endif
