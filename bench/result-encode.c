/*
 * The encoder's cost on one GetStatementResult page (src/spectra_result*.c
 * alone, no nginx): the page opened (checked, and with
 * SPECTRA_RESULT_ENCODE_AHEAD written as well), then written, in three
 * ways, alternated round by round so that a shared machine's noise falls
 * on all of them alike:
 *
 *   records-first  Records before ColumnMetadata, not written ahead: the
 *                  columns are unknown while the rows are read (scan,
 *                  check, write: what spectra-dataapi's pages cost before
 *                  it sent ColumnMetadata first)
 *   meta-first     ColumnMetadata first, not written ahead (check, write)
 *   ahead          ColumnMetadata first, written ahead (one pass, then a
 *                  copy)
 *
 * Usage: result-encode [ROWS [ROUNDS]]  (default 10000 rows, 30 rounds)
 * The page holds ROWS rows shaped as the demo's sales table (11 columns,
 * demo.sql's values, nulls where it has them); objects format, as the
 * API's default.  Prints the median milliseconds of open and write and
 * their sum for each way, and checks that the three answers are the same
 * bytes.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spectra_result.h"


#define BENCH_WAYS  3


typedef struct {
    u_char                   *block;
    size_t                    size;
} bench_sink_t;


static void *bench_alloc(void *pool, size_t size);
static int bench_grow(spectra_result_out_t *out, size_t need);
static double bench_ms(void);
static int bench_cmp(const void *a, const void *b);
static char *bench_page(size_t rows, int meta_first, size_t *len);
static int bench_encode(const char *page, size_t len, unsigned flags,
    bench_sink_t *sink, size_t *out_len, double *open_ms, double *write_ms);


static const char  *bench_meta =
    "[{\"name\":\"id\",\"typeName\":\"int8\"},"
    "{\"name\":\"tenant_id\",\"typeName\":\"text\"},"
    "{\"name\":\"region\",\"typeName\":\"text\"},"
    "{\"name\":\"product_id\",\"typeName\":\"int4\"},"
    "{\"name\":\"quantity\",\"typeName\":\"int2\"},"
    "{\"name\":\"amount\",\"typeName\":\"numeric\"},"
    "{\"name\":\"discount\",\"typeName\":\"float8\"},"
    "{\"name\":\"returned\",\"typeName\":\"bool\"},"
    "{\"name\":\"note\",\"typeName\":\"text\"},"
    "{\"name\":\"sale_date\",\"typeName\":\"date\"},"
    "{\"name\":\"sold_at\",\"typeName\":\"timestamptz\"}]";


/* The encoder's pool: never freed one by one, as nginx's; leaked here. */

static void *
bench_alloc(void *pool, size_t size)
{
    (void) pool;

    return malloc(size);
}


/* One block for the whole answer: only the encoder is timed. */

static int
bench_grow(spectra_result_out_t *out, size_t need)
{
    bench_sink_t  *sink = out->data;

    if (out->pos != NULL && (size_t) (out->end - out->pos) >= need) {
        return 0;
    }

    if (out->pos != NULL || need > sink->size) {
        return -1;
    }

    out->pos = sink->block;
    out->end = sink->block + sink->size;

    return 0;
}


static double
bench_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}


static int
bench_cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


/* A page of the sales table's rows, as spectra-dataapi writes them. */

static char *
bench_page(size_t rows, int meta_first, size_t *len)
{
    char    *page, *p;
    size_t   i, size;
    long     n;

    size = rows * 400 + 4096;

    page = malloc(size);
    if (page == NULL) {
        return NULL;
    }

    p = page;

    if (meta_first) {
        p += sprintf(p, "{\"ColumnMetadata\":%s,\"Records\":[", bench_meta);

    } else {
        p += sprintf(p, "{\"Records\":[");
    }

    for (i = 1; i <= rows; i++) {
        n = (long) i;

        p += sprintf(p, "%s[{\"longValue\":%ld},{\"stringValue\":\"%s\"},"
                     "{\"stringValue\":\"%s\"},{\"longValue\":%ld},"
                     "{\"longValue\":%ld},{\"stringValue\":\"%ld.%02ld\"},",
                     i > 1 ? "," : "", n,
                     n % 10 < 6 ? "acme" : (n % 10 < 9 ? "globex"
                                                       : "initech"),
                     (const char *[]) { "emea", "amer", "apac", "latam" }
                         [(n / 10) % 4],
                     1 + (n * 7919) % 500, 1 + n % 20,
                     ((n * 37) % 100000) / 100 + 1, (n * 37) % 100);

        if (n % 7 == 0) {
            p += sprintf(p, "{\"isNull\":true},");

        } else {
            p += sprintf(p, "{\"doubleValue\":0.%02ld},", n % 30);
        }

        p += sprintf(p, "{\"booleanValue\":%s},",
                     n % 13 == 0 ? "true" : "false");

        if (n % 5 == 0) {
            p += sprintf(p, "{\"isNull\":true},");

        } else {
            p += sprintf(p, "{\"stringValue\":\"order %ld\"},", n);
        }

        p += sprintf(p, "{\"stringValue\":\"2025-%02ld-%02ld\"},"
                     "{\"stringValue\":"
                     "\"2025-01-%02ld %02ld:%02ld:%02ld+00\"}]",
                     1 + (n % 365) / 31, 1 + (n % 365) % 28,
                     1 + (n / 86400) % 28, (n / 3600) % 24, (n / 60) % 60,
                     n % 60);
    }

    if (meta_first) {
        p += sprintf(p, "],\"TotalNumRows\":%zu}", rows);

    } else {
        p += sprintf(p, "],\"ColumnMetadata\":%s,\"TotalNumRows\":%zu}",
                     bench_meta, rows);
    }

    *len = (size_t) (p - page);

    return page;
}


static int
bench_encode(const char *page, size_t len, unsigned flags,
    bench_sink_t *sink, size_t *out_len, double *open_ms, double *write_ms)
{
    int                    rc;
    double                 t0, t1, t2;
    spectra_err_t          err;
    spectra_pool_t         pool = { bench_alloc, NULL };
    spectra_result_t       res;
    spectra_result_out_t   out;
    spectra_result_page_t  pg;

    memset(&out, 0, sizeof(out));
    out.grow = bench_grow;
    out.data = sink;

    spectra_result_init(&res, SPECTRA_RESULT_OBJECTS, (uint64_t) -1, flags,
                        &pool);

    t0 = bench_ms();
    rc = spectra_result_page_open(&res, (const u_char *) page, len, &pg,
                                  &err);
    t1 = bench_ms();

    if (rc != SPECTRA_RESULT_OK) {
        fprintf(stderr, "result-encode: page_open: %s\n", err.message);
        return -1;
    }

    rc = spectra_result_page_write(&res, &out, 0);
    t2 = bench_ms();

    spectra_result_free(&res);

    if (rc != SPECTRA_RESULT_OK) {
        fprintf(stderr, "result-encode: page_write: %d\n", rc);
        return -1;
    }

    *out_len = (size_t) (out.pos - sink->block);
    *open_ms = t1 - t0;
    *write_ms = t2 - t1;

    return 0;
}


int
main(int argc, char **argv)
{
    int            w;
    char          *pages[BENCH_WAYS];
    size_t         rows, rounds, r, lens[BENCH_WAYS], outs[BENCH_WAYS];
    double        *om[BENCH_WAYS], *wm[BENCH_WAYS], *sm[BENCH_WAYS];
    bench_sink_t   sinks[BENCH_WAYS];
    unsigned       flags[BENCH_WAYS] = { 0, 0, SPECTRA_RESULT_ENCODE_AHEAD };
    const char    *names[BENCH_WAYS] = { "records-first", "meta-first",
                                         "ahead" };

    rows = (argc > 1) ? (size_t) strtoul(argv[1], NULL, 10) : 10000;
    rounds = (argc > 2) ? (size_t) strtoul(argv[2], NULL, 10) : 30;

    if (rows == 0 || rounds == 0) {
        fprintf(stderr, "usage: result-encode [ROWS [ROUNDS]]\n");
        return 2;
    }

    for (w = 0; w < BENCH_WAYS; w++) {
        pages[w] = bench_page(rows, w > 0, &lens[w]);
        sinks[w].size = lens[w] + 65536;
        sinks[w].block = malloc(sinks[w].size);
        om[w] = calloc(rounds, sizeof(double));
        wm[w] = calloc(rounds, sizeof(double));
        sm[w] = calloc(rounds, sizeof(double));

        if (pages[w] == NULL || sinks[w].block == NULL || om[w] == NULL
            || wm[w] == NULL || sm[w] == NULL)
        {
            fprintf(stderr, "result-encode: out of memory\n");
            return 1;
        }
    }

    for (r = 0; r < rounds; r++) {
        for (w = 0; w < BENCH_WAYS; w++) {
            if (bench_encode(pages[w], lens[w], flags[w], &sinks[w],
                             &outs[w], &om[w][r], &wm[w][r])
                != 0)
            {
                return 1;
            }

            sm[w][r] = om[w][r] + wm[w][r];
        }
    }

    for (w = 1; w < BENCH_WAYS; w++) {
        if (outs[w] != outs[0]
            || memcmp(sinks[w].block, sinks[0].block, outs[0]) != 0)
        {
            fprintf(stderr, "result-encode: %s wrote another answer\n",
                    names[w]);
            return 1;
        }
    }

    printf("page: %zu rows, %zu bytes; answer %zu bytes; %zu rounds\n",
           rows, lens[1], outs[0], rounds);
    printf("%-14s %9s %9s %9s\n", "way", "open ms", "write ms", "sum ms");

    for (w = 0; w < BENCH_WAYS; w++) {
        qsort(om[w], rounds, sizeof(double), bench_cmp);
        qsort(wm[w], rounds, sizeof(double), bench_cmp);
        qsort(sm[w], rounds, sizeof(double), bench_cmp);

        printf("%-14s %9.2f %9.2f %9.2f\n", names[w], om[w][rounds / 2],
               wm[w][rounds / 2], sm[w][rounds / 2]);
    }

    return 0;
}
