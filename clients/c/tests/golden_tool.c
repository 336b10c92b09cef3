/* golden_tool - drives the C codec for tests/golden.py.
 *
 * Reads lines "<message full name> <hex>" from stdin. For each, decodes the bytes with the C
 * decoder and prints one line:
 *   OK <hex of the C encoder's encoding of the decoded value> <proto3 JSON of the decoded value>
 *   ERR <error name as in the golden vectors> <field> <offset>
 *   UNKNOWN_MESSAGE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_json.h"
#include "wire.h"

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        char *sp = strchr(line, ' ');
        const pb_msgdesc *d;
        size_t hl, i, len;
        uint8_t *bytes;
        void *msg;
        pb_status st;
        if (line[n - 1] == '\n') line[--n] = '\0';
        if (!sp) {
            printf("UNKNOWN_MESSAGE\n");
            continue;
        }
        *sp = '\0';
        d = w_desc_by_name(line);
        if (!d) {
            printf("UNKNOWN_MESSAGE\n");
            continue;
        }
        hl = strlen(sp + 1);
        len = hl / 2;
        bytes = malloc(len + 1);
        for (i = 0; i < len; i++)
            bytes[i] = (uint8_t)(hexval(sp[1 + 2 * i]) * 16 + hexval(sp[2 + 2 * i]));
        msg = calloc(1, d->size);
        if (!pb_decode(d, msg, bytes, len, &st)) {
            printf("ERR %s %u %zu\n", pb_error_name(st.err), st.field, st.offset);
        } else {
            size_t sz = pb_encoded_size(d, msg), k;
            uint8_t *out = malloc(sz + 1);
            pb_error err;
            size_t w = pb_encode(d, msg, out, sz, &err);
            char *json = pb_to_json(d, msg);
            if (err != PB_OK || w != sz) {
                printf("ENCODE_FAILED\n");
            } else {
                printf("OK ");
                for (k = 0; k < w; k++) printf("%02x", out[k]);
                if (w == 0) printf("-");
                printf(" %s\n", json ? json : "null");
            }
            free(json);
            free(out);
        }
        pb_free(d, msg);
        free(msg);
        free(bytes);
        fflush(stdout);
    }
    free(line);
    return 0;
}
