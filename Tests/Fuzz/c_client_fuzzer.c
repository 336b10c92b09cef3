/*
 * Fuzz target `c-client`: the C client's codec and frame reader (clients/c/src/pb_decode.c,
 * pb_encode.c, pb_common.c, messages.c, frame.c; tests/pb_json.c compares values), under ASan, UBSan
 * and LeakSanitizer. Every decode is freed with pb_free, so a leak is a finding too.
 *
 * Input: [selector] [bytes]. The selector, modulo (number of messages + 1), picks
 *  - a message of the schema, sorted by full name as the Swift `messages` target does: the bytes
 *    are decoded as it, and whatever decodes must round-trip (its encoding decodes again, to the
 *    same JSON and the same bytes), and decode once more on top of itself (merge);
 *  - or, for the last value, the frame reader: the bytes are [split control] [stream], read three
 *    ways (all at once, split in two, one byte per read) like the Swift `frame` target; the frames
 *    and the verdict must not depend on the reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_json.h"
#include "wire.h"

/* Small enough that the fuzzer meets the limit often; every golden frame is under it. */
#define MAX_FRAME 1024

static const pb_msgdesc *by_name[64];

static int compare_names(const void *a, const void *b)
{
    return strcmp((*(const pb_msgdesc *const *)a)->name, (*(const pb_msgdesc *const *)b)->name);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (w_all_descs_count > sizeof by_name / sizeof by_name[0]) abort();
    memcpy(by_name, w_all_descs, w_all_descs_count * sizeof by_name[0]);
    qsort(by_name, w_all_descs_count, sizeof by_name[0], compare_names);
    return 0;
}

/* Stops the run when an invariant does not hold: libFuzzer keeps the input as a crash. */
static void require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

/* The encoding of msg, malloc'd. */
static uint8_t *encode(const pb_msgdesc *d, const void *msg, size_t *len)
{
    size_t size = pb_encoded_size(d, msg);
    uint8_t *buf = malloc(size + 1);
    pb_error err;
    require(buf != NULL, "out of memory");
    *len = pb_encode(d, msg, buf, size, &err);
    require(err == PB_OK && *len == size, "pb_encode wrote other than pb_encoded_size announced");
    return buf;
}

static void round_trip(const pb_msgdesc *d, const uint8_t *data, size_t len)
{
    void *msg = calloc(1, d->size), *again = calloc(1, d->size);
    pb_status st;
    require(msg != NULL && again != NULL, "out of memory");
    /* Most inputs do not decode: that is an answer, and ends the check (after the free). */
    if (pb_decode(d, msg, data, len, &st)) {
        size_t n1, n2;
        uint8_t *first = encode(d, msg, &n1), *second;
        char *json1, *json2;
        require(pb_decode(d, again, first, n1, &st), "the re-encoding of a decoded value does not decode");
        second = encode(d, again, &n2);
        require(n1 == n2 && memcmp(first, second, n1) == 0, "encoding is not stable across a round trip");
        /* JSON, not the structs: NaN compares unequal, and strings are pointers. */
        json1 = pb_to_json(d, msg);
        json2 = pb_to_json(d, again);
        require(json1 != NULL && json2 != NULL && strcmp(json1, json2) == 0, "the round trip changed the value");
        free(json1);
        free(json2);
        free(first);
        free(second);
        /* Merging: strings replaced (the old ones freed), repeated fields grown, messages merged. */
        require(pb_decode(d, msg, data, len, &st), "bytes that decode do not decode on top of themselves");
    }
    pb_free(d, msg);
    pb_free(d, again);
    free(msg);
    free(again);
}

/* What the frame reader made of a whole stream: the frames it returned (re-encoded, one after the
 * other) and how it ended. */
typedef struct answer {
    uint8_t *frames;
    size_t len, count;
    frame_err err;
    pb_status decode_status;
    uint64_t announced;
    size_t pending;
} answer;

/* Feeds one read and takes every frame it completes; 0 once the reader has failed. */
static int feed(frame_reader *r, const uint8_t *p, size_t n, answer *a)
{
    frame_err e = frame_reader_feed(r, p, n);
    while (e == FRAME_OK) {
        w_frame f;
        memset(&f, 0, sizeof f);
        e = frame_reader_next(r, &f);
        if (e == FRAME_OK) {
            size_t flen;
            uint8_t *fbytes = frame_encode(&f, &flen), *grown;
            require(fbytes != NULL, "frame_encode failed on a decoded frame");
            grown = realloc(a->frames, a->len + flen);
            require(grown != NULL, "out of memory");
            memcpy(grown + a->len, fbytes, flen);
            a->frames = grown;
            a->len += flen;
            a->count++;
            free(fbytes);
            pb_free(&w_frame_desc, &f);
        }
    }
    if (e == FRAME_NEED_MORE) return 1;
    a->err = e;
    a->decode_status = r->decode_status;
    a->announced = r->announced;
    return 0;
}

/* Reads stream[0..n) in reads ending at each of ends[0..k) (the last one is n). */
static void read_stream(const uint8_t *stream, const size_t *ends, size_t k, answer *a)
{
    frame_reader r;
    size_t i, from = 0;
    char why[160];
    memset(a, 0, sizeof *a);
    frame_reader_init(&r, MAX_FRAME);
    for (i = 0; i < k; i++) {
        if (!feed(&r, stream + from, ends[i] - from, a)) break;
        from = ends[i];
    }
    if (a->err == FRAME_OK) a->pending = r.len - r.pos;
    frame_reader_describe(&r, why, sizeof why);
    frame_reader_free(&r);
}

static int same_answer(const answer *a, const answer *b)
{
    return a->count == b->count && a->len == b->len && (a->len == 0 || memcmp(a->frames, b->frames, a->len) == 0)
        && a->err == b->err && a->decode_status.err == b->decode_status.err
        && a->decode_status.field == b->decode_status.field
        && a->decode_status.offset == b->decode_status.offset && a->announced == b->announced
        && a->pending == b->pending;
}

static void read_three_ways(const uint8_t *data, size_t size)
{
    const uint8_t *stream = data + 1;
    size_t n = size - 1, i;
    size_t whole[1], halves[2], *bytes = malloc((n ? n : 1) * sizeof(size_t));
    answer a[3];
    require(bytes != NULL, "out of memory");
    whole[0] = n;
    halves[0] = n * data[0] / 255; /* scaled, so long streams are split past their first 255 bytes */
    halves[1] = n;
    for (i = 0; i < n; i++) bytes[i] = i + 1;
    read_stream(stream, whole, 1, &a[0]);
    read_stream(stream, halves, 2, &a[1]);
    read_stream(stream, bytes, n, &a[2]);
    require(same_answer(&a[0], &a[1]) && same_answer(&a[0], &a[2]),
            "the frame reader's answer depends on how the stream was split");
    for (i = 0; i < 3; i++) free(a[i].frames);
    free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t choice;
    if (size == 0) return 0;
    choice = data[0] % (w_all_descs_count + 1);
    if (choice < w_all_descs_count) round_trip(by_name[choice], data + 1, size - 1);
    else if (size > 1) read_three_ways(data + 1, size - 1);
    return 0;
}
