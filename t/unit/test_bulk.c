/*
 * Unit tests of src/spectra_bulk.c and src/spectra_s3.c: POST /v1/bulk
 * bodies (every option, hostile input), the export's place, its UNLOAD
 * around hostile SQL, manifests that try to leave the export, the result
 * a job keeps, and presigned download URLs (botocore's, byte for byte).
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_bulk.h"


#define T_POOL_MAX  1024
#define S(s)        (const u_char *) (s), sizeof(s) - 1
#define OK          SPECTRA_BULK_OK


static void *t_alloc(void *pool, size_t size);
static int t_parse(const char *body);
static void t_free(void);
static Suite *bulk_suite(void);


static void             *t_blocks[T_POOL_MAX];
static size_t            t_nblocks;
static spectra_bulk_t    b;
static spectra_err_t     err;
static spectra_pool_t    t_pool = { t_alloc, NULL };

static const spectra_bulk_limits_t  t_limits = { 300000 };


static void *
t_alloc(void *pool, size_t size)
{
    void  *p;

    ck_assert_uint_lt(t_nblocks, T_POOL_MAX);

    p = malloc(size);
    t_blocks[t_nblocks++] = p;

    return p;
}


static void
t_free(void)
{
    while (t_nblocks) {
        free(t_blocks[--t_nblocks]);
    }
}


static int
t_parse(const char *body)
{
    memset(&err, 0, sizeof(err));

    return spectra_bulk_parse((const u_char *) body, strlen(body), &t_limits,
                              &t_pool, &b, &err);
}


#define t_refused(body, msg)                                                  \
    do {                                                                      \
        ck_assert_int_eq(t_parse(body), SPECTRA_BULK_INVALID);                \
        ck_assert_str_eq(err.message, msg);                                   \
    } while (0)


START_TEST(test_defaults)
{
    ck_assert_int_eq(t_parse("{\"sql\": \"select 1\"}"), OK);
    ck_assert_str_eq((char *) b.sql.data, "select 1");
    ck_assert_uint_eq(b.sql.len, 8);
    ck_assert_int_eq(b.format, SPECTRA_SQL_UNLOAD_CSV);
    ck_assert_int_eq(b.compression, SPECTRA_SQL_UNLOAD_GZIP);
    ck_assert_int_eq(b.delimiter, 0);
    ck_assert_uint_eq(b.header, 0);
    ck_assert_uint_eq(b.max_file_size_mb, 0);
    ck_assert_int_eq(b.max_downloads, -1);
    ck_assert_uint_eq(b.timeout_ms, 300000);
    ck_assert_ptr_null(b.idempotency_key.data);
    t_free();
}
END_TEST


START_TEST(test_every_option)
{
    ck_assert_int_eq(t_parse("{\"sql\": \"select 2\", \"format\": \"csv\", "
                             "\"compression\": \"zstd\", \"csv\": "
                             "{\"delimiter\": \"|\", \"header\": true}, "
                             "\"max_file_size\": 100, \"max_downloads\": 1, "
                             "\"idempotency_key\": \"k:1.a_b-c\", "
                             "\"timeout_seconds\": 60}"), OK);
    ck_assert_int_eq(b.format, SPECTRA_SQL_UNLOAD_CSV);
    ck_assert_int_eq(b.compression, SPECTRA_SQL_UNLOAD_ZSTD);
    ck_assert_int_eq(b.delimiter, '|');
    ck_assert_uint_eq(b.header, 1);
    ck_assert_uint_eq(b.max_file_size_mb, 100);
    ck_assert_int_eq(b.max_downloads, 1);
    ck_assert_str_eq((char *) b.idempotency_key.data, "k:1.a_b-c");
    ck_assert_uint_eq(b.timeout_ms, 60000);
    t_free();

    ck_assert_int_eq(t_parse("{\"sql\": \"select 2\", \"format\": \"json\", "
                             "\"compression\": \"none\"}"), OK);
    ck_assert_int_eq(b.format, SPECTRA_SQL_UNLOAD_JSON);
    ck_assert_int_eq(b.compression, SPECTRA_SQL_UNLOAD_NONE);
    t_free();

    ck_assert_int_eq(t_parse("{\"sql\": \"x\", \"csv\": {\"delimiter\": "
                             "\"\\t\", \"header\": false}}"), OK);
    ck_assert_int_eq(b.delimiter, '\t');
    ck_assert_uint_eq(b.header, 0);
    t_free();
}
END_TEST


START_TEST(test_bad_options)
{
    t_refused("", "the request body is empty");
    t_refused("[1]", "the request body must be a JSON object");
    t_refused("\"sql\"", "the request body must be a JSON object");
    t_refused("{\"format\": \"csv\"}", "the field \"sql\" is required");
    t_refused("{\"sql\": 1}", "the field \"sql\" has the wrong type");
    t_refused("{\"sql\": \"x\", \"format\": \"parquet\", "
              "\"compression\": \"gzip\"}",
              "format \"parquet\" compresses its pages itself (SNAPPY): "
              "leave compression out or set it to \"none\"");
    t_refused("{\"sql\": \"x\", \"compression\": \"zstd\", "
              "\"format\": \"parquet\"}",
              "format \"parquet\" compresses its pages itself (SNAPPY): "
              "leave compression out or set it to \"none\"");
    t_refused("{\"sql\": \"x\", \"format\": \"parquet\", "
              "\"csv\": {\"header\": true}}",
              "csv options apply only to format \"csv\"");
    t_refused("{\"sql\": \"x\", \"format\": \"xml\"}",
              "format must be \"csv\", \"json\" or \"parquet\"");
    t_refused("{\"sql\": \"x\", \"format\": \"CSV\"}",
              "format must be \"csv\", \"json\" or \"parquet\"");
    t_refused("{\"sql\": \"x\", \"format\": true}",
              "format must be \"csv\", \"json\" or \"parquet\"");
    t_refused("{\"sql\": \"x\", \"compression\": \"bzip2\"}",
              "compression must be \"gzip\", \"zstd\" or \"none\"");
    t_refused("{\"sql\": \"x\", \"compression\": null}",
              "compression must be \"gzip\", \"zstd\" or \"none\"");
    t_refused("{\"sql\": \"x\", \"csv\": \"|\"}",
              "csv must be an object with \"delimiter\" and \"header\"");
    t_refused("{\"sql\": \"x\", \"csv\": {\"delimiter\": \",,\"}}",
              "csv.delimiter must be one printable ASCII character other "
              "than ' \\ \" (or a tab)");
    t_refused("{\"sql\": \"x\", \"csv\": {\"delimiter\": \"\"}}",
              "csv.delimiter must be one printable ASCII character other "
              "than ' \\ \" (or a tab)");
    t_refused("{\"sql\": \"x\", \"csv\": {\"delimiter\": \"'\"}}",
              "csv.delimiter must be one printable ASCII character other "
              "than ' \\ \" (or a tab)");
    t_refused("{\"sql\": \"x\", \"csv\": {\"delimiter\": \"\\\\\"}}",
              "csv.delimiter must be one printable ASCII character other "
              "than ' \\ \" (or a tab)");
    t_refused("{\"sql\": \"x\", \"csv\": {\"delimiter\": \"\\\"\"}}",
              "csv.delimiter must be one printable ASCII character other "
              "than ' \\ \" (or a tab)");
    t_refused("{\"sql\": \"x\", \"csv\": {\"delimiter\": \"\\n\"}}",
              "csv.delimiter must be one printable ASCII character other "
              "than ' \\ \" (or a tab)");
    /* one character, two bytes: not one byte of ASCII */
    t_refused("{\"sql\": \"x\", \"csv\": {\"delimiter\": \"\xc3\xa9\"}}",
              "csv.delimiter must be one printable ASCII character other "
              "than ' \\ \" (or a tab)");
    t_refused("{\"sql\": \"x\", \"csv\": {\"delimiter\": 44}}",
              "csv.delimiter must be one printable ASCII character other "
              "than ' \\ \" (or a tab)");
    t_refused("{\"sql\": \"x\", \"csv\": {\"header\": \"yes\"}}",
              "csv.header must be true or false");
    t_refused("{\"sql\": \"x\", \"csv\": {\"quote\": \"'\"}}",
              "unknown field \"csv.quote\"");
    t_refused("{\"sql\": \"x\", \"format\": \"json\", \"csv\": {}}",
              "csv options apply only to format \"csv\"");
    t_refused("{\"sql\": \"x\", \"csv\": {}, \"format\": \"json\"}",
              "csv options apply only to format \"csv\"");
    t_refused("{\"sql\": \"x\", \"max_file_size\": 4}",
              "max_file_size (MB) must be an integer from 5 to 6348");
    t_refused("{\"sql\": \"x\", \"max_file_size\": 6349}",
              "max_file_size (MB) must be an integer from 5 to 6348");
    t_refused("{\"sql\": \"x\", \"max_file_size\": 10.5}",
              "max_file_size (MB) must be an integer from 5 to 6348");
    t_refused("{\"sql\": \"x\", \"max_file_size\": \"10MB\"}",
              "max_file_size (MB) must be an integer from 5 to 6348");
    t_refused("{\"sql\": \"x\", \"max_downloads\": 0}",
              "max_downloads must be an integer from 1 to 1000000");
    t_refused("{\"sql\": \"x\", \"max_downloads\": -1}",
              "max_downloads must be an integer from 1 to 1000000");
    t_refused("{\"sql\": \"x\", \"max_downloads\": 1000001}",
              "max_downloads must be an integer from 1 to 1000000");
    t_refused("{\"sql\": \"x\", \"timeout_seconds\": 0}",
              "timeout_seconds must be an integer from 1 to 300");
    t_refused("{\"sql\": \"x\", \"timeout_seconds\": 301}",
              "timeout_seconds must be an integer from 1 to 300");
    t_refused("{\"sql\": \"x\", \"idempotency_key\": \"\"}",
              "idempotency_key must be 1 to 64 characters of A-Z a-z 0-9 "
              ". _ : -");
    t_refused("{\"sql\": \"x\", \"idempotency_key\": \"a b\"}",
              "idempotency_key must be 1 to 64 characters of A-Z a-z 0-9 "
              ". _ : -");
    t_refused("{\"sql\": \"x\", \"idempotency_key\": \"aaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
              "idempotency_key must be 1 to 64 characters of A-Z a-z 0-9 "
              ". _ : -");
    t_refused("{\"sql\": \"x\", \"idempotency_key\": 5}",
              "the field \"idempotency_key\" has the wrong type");
    t_refused("{\"sql\": \"x\", \"parameters\": []}",
              "an export takes no parameters: write the values into its "
              "SQL");
    t_refused("{\"sql\": \"x\", \"row_limit\": 5}",
              "unknown field \"row_limit\"");
    t_free();
}
END_TEST


START_TEST(test_hostile_bodies)
{
    /* a duplicate key must not let a second sql win unseen */
    ck_assert_int_eq(t_parse("{\"sql\": \"select 1\", \"sql\": \"x\"}"),
                     SPECTRA_BULK_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "malformed JSON"));

    /* NUL inside a string: jansson refuses it */
    ck_assert_int_eq(t_parse("{\"sql\": \"select 1\\u0000; drop\"}"),
                     SPECTRA_BULK_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "malformed JSON"));

    /* a huge integer */
    ck_assert_int_eq(t_parse("{\"sql\": \"x\", \"max_downloads\": "
                             "99999999999999999999999}"),
                     SPECTRA_BULK_INVALID);

    /* truncated JSON, trailing garbage */
    ck_assert_int_eq(t_parse("{\"sql\": \"x\""), SPECTRA_BULK_INVALID);
    ck_assert_int_eq(t_parse("{\"sql\": \"x\"} {}"), SPECTRA_BULK_INVALID);

    /* a field name that is long and odd is cut in the message */
    t_refused("{\"sql\": \"x\", \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": 1}",
              "unknown field \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaa\"");
    t_free();
}
END_TEST


START_TEST(test_prefix)
{
    ck_assert_int_eq(spectra_bulk_prefix_valid(S(""), &err), OK);
    ck_assert_int_eq(spectra_bulk_prefix_valid(S("exports"), &err), OK);
    ck_assert_int_eq(spectra_bulk_prefix_valid(S("a/b.c/d_e-f"), &err), OK);
    ck_assert_int_eq(spectra_bulk_prefix_valid(S("a/..x"), &err), OK);

    ck_assert_int_eq(spectra_bulk_prefix_valid(S("/a"), &err),
                     SPECTRA_BULK_INVALID);
    ck_assert_int_eq(spectra_bulk_prefix_valid(S("a/"), &err),
                     SPECTRA_BULK_INVALID);
    ck_assert_int_eq(spectra_bulk_prefix_valid(S("a//b"), &err),
                     SPECTRA_BULK_INVALID);
    ck_assert_int_eq(spectra_bulk_prefix_valid(S("a/../b"), &err),
                     SPECTRA_BULK_INVALID);
    ck_assert_int_eq(spectra_bulk_prefix_valid(S(".."), &err),
                     SPECTRA_BULK_INVALID);
    ck_assert_int_eq(spectra_bulk_prefix_valid(S("a/."), &err),
                     SPECTRA_BULK_INVALID);
    ck_assert_int_eq(spectra_bulk_prefix_valid(S("a b"), &err),
                     SPECTRA_BULK_INVALID);
    ck_assert_int_eq(spectra_bulk_prefix_valid(S("a'b"), &err),
                     SPECTRA_BULK_INVALID);
    ck_assert_int_eq(spectra_bulk_prefix_valid(S("t=x"), &err),
                     SPECTRA_BULK_INVALID);
    ck_assert_str_eq(err.message, "the export prefix must be at most 512 "
                     "characters of A-Z a-z 0-9 . _ - in segments separated "
                     "by single /, none of them . or .., without a leading "
                     "or trailing /");
}
END_TEST


static const spectra_bulk_place_t  t_place = {
    spectra_string("spectra-exports"),
    spectra_string("exports"),
    spectra_string("acme"),
    spectra_string("job_0123456789abcdefghjkmnpqrs")
};


START_TEST(test_place)
{
    u_char                 buf[256], *end;
    spectra_str_t          target, bucket, prefix;
    spectra_bulk_place_t   place;

    end = spectra_bulk_target(buf, &t_place);
    ck_assert_uint_eq((size_t) (end - buf), spectra_bulk_target_len(&t_place));
    *end = '\0';
    ck_assert_str_eq((char *) buf, "s3://spectra-exports/exports/tenant=acme/"
                     "job=job_0123456789abcdefghjkmnpqrs/");

    target.data = buf;
    target.len = (size_t) (end - buf);
    ck_assert_int_eq(spectra_bulk_target_split(&target, &bucket, &prefix), OK);
    ck_assert_uint_eq(bucket.len, 15);
    ck_assert_int_eq(memcmp(bucket.data, "spectra-exports", 15), 0);
    ck_assert_uint_eq(prefix.len, spectra_bulk_key_prefix_len(&t_place));
    ck_assert_int_eq(memcmp(prefix.data, "exports/tenant=acme/", 20), 0);

    place = t_place;
    place.prefix.len = 0;
    end = spectra_bulk_key_prefix(buf, &place);
    ck_assert_uint_eq((size_t) (end - buf),
                      spectra_bulk_key_prefix_len(&place));
    *end = '\0';
    ck_assert_str_eq((char *) buf, "tenant=acme/"
                     "job=job_0123456789abcdefghjkmnpqrs/");

    target.data = (u_char *) "s3://spectra-exports/";
    target.len = 21;
    ck_assert_int_eq(spectra_bulk_target_split(&target, &bucket, &prefix),
                     SPECTRA_BULK_INVALID);
    target.data = (u_char *) "s3://Bad_Bucket/x/";
    target.len = 18;
    ck_assert_int_eq(spectra_bulk_target_split(&target, &bucket, &prefix),
                     SPECTRA_BULK_INVALID);
    target.data = (u_char *) "https://b.example/x/";
    target.len = 20;
    ck_assert_int_eq(spectra_bulk_target_split(&target, &bucket, &prefix),
                     SPECTRA_BULK_INVALID);
    target.data = (u_char *) "s3://bucket/x";
    target.len = 13;
    ck_assert_int_eq(spectra_bulk_target_split(&target, &bucket, &prefix),
                     SPECTRA_BULK_INVALID);
}
END_TEST


/* The UNLOAD of hostile SQL reads back as exactly the wrapped statement. */

static const char  *t_hostile_sql[] = {
    "select 1",
    "select 'it''s', 'a\\b' from sales",
    "select $$'); drop table sales; --$$ as x",
    "select E'\\'' as q -- trailing comment\n;",
    "select 'a''); unload (''x'') to ''s3://evil/''' as x",
    "/* lead */ select 1 as \"a'b\" limit 5 ; -- tail",
    "select U&'\\0027' as u",
    "select 'ü\xe2\x80\x9c' as \"naïve\"",
};


START_TEST(test_unload_hostile)
{
    int                    rc;
    u_char                *qbuf;
    spectra_str_t          out, target, role = spectra_string("default");
    spectra_sql_info_t     info;
    spectra_sql_policy_t   policy;
    spectra_sql_unload_t   u;
    const char            *sql;
    u_char                 tbuf[256];
    char                   want[1024];

    sql = t_hostile_sql[_i];
    spectra_sql_policy_default(&policy);

    rc = spectra_sql_check(&policy, (const u_char *) sql, strlen(sql), &info,
                           &err);
    ck_assert_msg(rc == SPECTRA_SQL_OK, "%s: %s", sql, err.message);

    ck_assert_int_eq(t_parse("{\"sql\": \"x\", \"compression\": \"gzip\", "
                             "\"csv\": {\"header\": true, \"delimiter\": "
                             "\";\"}, \"max_file_size\": 50}"), OK);

    target.data = tbuf;
    target.len = (size_t) (spectra_bulk_target(tbuf, &t_place) - tbuf);

    ck_assert_int_eq(spectra_bulk_unload(&b, (const u_char *) sql, &info,
                                         &target, &role, &t_pool, &out, &err),
                     OK);
    ck_assert_uint_eq(strlen((char *) out.data), out.len);

    qbuf = malloc(out.len);
    ck_assert_int_eq(spectra_sql_unload_parse(out.data, out.len, qbuf, &u,
                                              &err), SPECTRA_SQL_OK);

    snprintf(want, sizeof(want), "SELECT * FROM (\n%.*s\n) AS spectra_q",
             (int) info.stmt_len, sql + info.stmt_start);
    ck_assert_uint_eq(u.query.len, strlen(want));
    ck_assert_int_eq(memcmp(u.query.data, want, u.query.len), 0);

    ck_assert_uint_eq(u.target.len, target.len);
    ck_assert_int_eq(memcmp(u.target.data, target.data, target.len), 0);
    ck_assert_int_eq(u.format, SPECTRA_SQL_UNLOAD_CSV);
    ck_assert_int_eq(u.compression, SPECTRA_SQL_UNLOAD_GZIP);
    ck_assert_int_eq(u.delimiter, ';');
    ck_assert_uint_eq(u.header, 1);
    ck_assert_uint_eq(u.manifest, 1);
    ck_assert_uint_eq(u.manifest_verbose, 1);
    ck_assert_uint_eq(u.max_file_size_mb, 50);

    /* the wrapped statement passes the policy as well */
    ck_assert_int_eq(spectra_sql_check(&policy, (const u_char *) want,
                                       strlen(want), NULL, &err),
                     SPECTRA_SQL_OK);

    free(qbuf);
    t_free();
}
END_TEST


START_TEST(test_unload_text)
{
    u_char                 tbuf[256];
    spectra_str_t          out, target, role = spectra_string("default");
    spectra_sql_info_t     info;
    spectra_sql_policy_t   policy;

    spectra_sql_policy_default(&policy);
    ck_assert_int_eq(spectra_sql_check(&policy, S("select 'a' ;"), &info,
                                       &err), SPECTRA_SQL_OK);

    target.data = tbuf;
    target.len = (size_t) (spectra_bulk_target(tbuf, &t_place) - tbuf);

    ck_assert_int_eq(t_parse("{\"sql\": \"x\", \"format\": \"json\", "
                             "\"compression\": \"zstd\"}"), OK);
    ck_assert_int_eq(spectra_bulk_unload(&b, (const u_char *) "select 'a' ;",
                                         &info, &target, &role, &t_pool,
                                         &out, &err), OK);
    ck_assert_str_eq((char *) out.data,
                     "UNLOAD ('SELECT * FROM (\nselect \\'a\\'\n) AS "
                     "spectra_q') TO 's3://spectra-exports/exports/"
                     "tenant=acme/job=job_0123456789abcdefghjkmnpqrs/' "
                     "IAM_ROLE default FORMAT JSON ZSTD MANIFEST VERBOSE");

    /* parquet: no compression option, the pages are compressed */
    ck_assert_int_eq(t_parse("{\"sql\": \"x\", \"format\": \"parquet\"}"),
                     OK);
    ck_assert_int_eq(b.compression, SPECTRA_SQL_UNLOAD_NONE);
    ck_assert_int_eq(t_parse("{\"sql\": \"x\", \"format\": \"parquet\", "
                             "\"compression\": \"none\"}"), OK);
    ck_assert_int_eq(spectra_bulk_unload(&b, (const u_char *) "select 'a' ;",
                                         &info, &target, &role, &t_pool,
                                         &out, &err), OK);
    ck_assert_str_eq((char *) out.data,
                     "UNLOAD ('SELECT * FROM (\nselect \\'a\\'\n) AS "
                     "spectra_q') TO 's3://spectra-exports/exports/"
                     "tenant=acme/job=job_0123456789abcdefghjkmnpqrs/' "
                     "IAM_ROLE default FORMAT PARQUET MANIFEST VERBOSE");

    /* a role that could break out of its literal is refused */
    role.data = (u_char *) "arn:aws:iam::1:role/x' gzip";
    role.len = strlen((char *) role.data);
    ck_assert_int_eq(spectra_bulk_unload(&b, (const u_char *) "select 'a' ;",
                                         &info, &target, &role, &t_pool,
                                         &out, &err), SPECTRA_BULK_INVALID);
    t_free();
}
END_TEST


static const spectra_str_t  t_bucket = spectra_string("spectra-exports");
static const spectra_str_t  t_kprefix =
    spectra_string("exports/tenant=acme/job=job_0123456789abcdefghjkmnpqrs/");

#define T_URL  "s3://spectra-exports/exports/tenant=acme/" \
               "job=job_0123456789abcdefghjkmnpqrs/"


static int
t_manifest_header(const char *text, unsigned header,
    spectra_bulk_file_t **files, size_t *n)
{
    return spectra_bulk_manifest_parse((const u_char *) text, strlen(text),
                                       header, &t_bucket, &t_kprefix,
                                       &t_pool, files, n, &err);
}


static int
t_manifest(const char *text, spectra_bulk_file_t **files, size_t *n)
{
    return t_manifest_header(text, 0, files, n);
}


START_TEST(test_manifest)
{
    size_t                n;
    spectra_bulk_file_t  *f;

    ck_assert_int_eq(t_manifest("{\"entries\": ["
        "{\"url\": \"" T_URL "0000_part_00.gz\", \"meta\": "
        "{\"content_length\": 1234, \"record_count\": 600}},"
        "{\"url\": \"" T_URL "0001_part_00.gz\", \"meta\": "
        "{\"content_length\": 0, \"record_count\": 0}}],"
        "\"schema\": {}, \"meta\": {\"content_length\": 1234, "
        "\"record_count\": 600}}", &f, &n), OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(f[0].key.len, t_kprefix.len + 15);
    ck_assert_int_eq(memcmp(f[0].key.data, t_kprefix.data, t_kprefix.len), 0);
    ck_assert_int_eq(memcmp(f[0].key.data + t_kprefix.len, "0000_part_00.gz",
                            15), 0);
    ck_assert_int_eq(f[0].size, 1234);
    ck_assert_int_eq(f[0].rows, 600);
    ck_assert_int_eq(f[1].rows, 0);

    ck_assert_int_eq(t_manifest("{\"entries\": []}", &f, &n), OK);
    ck_assert_uint_eq(n, 0);

    /* CSV with HEADER: record_count counts each file's header line */
    ck_assert_int_eq(t_manifest_header("{\"entries\": ["
        "{\"url\": \"" T_URL "0000_part_00.gz\", \"meta\": "
        "{\"content_length\": 1234, \"record_count\": 601}},"
        "{\"url\": \"" T_URL "0001_part_00.gz\", \"meta\": "
        "{\"content_length\": 5, \"record_count\": 1}}]}", 1, &f, &n), OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(f[0].rows, 600);
    ck_assert_int_eq(f[1].rows, 0);

    /* a file of a HEADER export cannot have no line at all */
    ck_assert_int_eq(t_manifest_header("{\"entries\": ["
        "{\"url\": \"" T_URL "0000_part_00.gz\", \"meta\": "
        "{\"content_length\": 0, \"record_count\": 0}}]}", 1, &f, &n),
        SPECTRA_BULK_INVALID);
    t_free();
}
END_TEST


static const char  *t_bad_manifests[] = {
    /* not JSON, no entries */
    "not json",
    "{\"entries\": {}}",
    "[]",
    /* not verbose: no meta */
    "{\"entries\": [{\"url\": \"" T_URL "0000_part_00\"}]}",
    "{\"entries\": [{\"url\": \"" T_URL "0000_part_00\", \"meta\": "
    "{\"content_length\": -1, \"record_count\": 1}}]}",
    "{\"entries\": [{\"url\": \"" T_URL "0000_part_00\", \"meta\": "
    "{\"content_length\": 1, \"record_count\": \"1\"}}]}",
    /* elsewhere: another bucket, tenant, job; below, above, odd names */
    "{\"entries\": [{\"url\": \"s3://other/exports/tenant=acme/"
    "job=job_0123456789abcdefghjkmnpqrs/0000_part_00\", \"meta\": "
    "{\"content_length\": 1, \"record_count\": 1}}]}",
    "{\"entries\": [{\"url\": \"s3://spectra-exports/exports/tenant=globex/"
    "job=job_0123456789abcdefghjkmnpqrs/0000_part_00\", \"meta\": "
    "{\"content_length\": 1, \"record_count\": 1}}]}",
    "{\"entries\": [{\"url\": \"s3://spectra-exports/exports/tenant=acme/"
    "job=job_1123456789abcdefghjkmnpqrs/0000_part_00\", \"meta\": "
    "{\"content_length\": 1, \"record_count\": 1}}]}",
    "{\"entries\": [{\"url\": \"" T_URL "sub/0000_part_00\", \"meta\": "
    "{\"content_length\": 1, \"record_count\": 1}}]}",
    "{\"entries\": [{\"url\": \"" T_URL "../x\", \"meta\": "
    "{\"content_length\": 1, \"record_count\": 1}}]}",
    "{\"entries\": [{\"url\": \"" T_URL "..\", \"meta\": "
    "{\"content_length\": 1, \"record_count\": 1}}]}",
    "{\"entries\": [{\"url\": \"" T_URL "a b\", \"meta\": "
    "{\"content_length\": 1, \"record_count\": 1}}]}",
    "{\"entries\": [{\"url\": \"" T_URL "\", \"meta\": "
    "{\"content_length\": 1, \"record_count\": 1}}]}",
    "{\"entries\": [{\"url\": \"" T_URL "x?y\", \"meta\": "
    "{\"content_length\": 1, \"record_count\": 1}}]}",
    "{\"entries\": [{\"url\": \"https://spectra-exports/exports/"
    "tenant=acme/job=job_0123456789abcdefghjkmnpqrs/0000\", \"meta\": "
    "{\"content_length\": 1, \"record_count\": 1}}]}",
};


START_TEST(test_manifest_refused)
{
    size_t                n;
    spectra_bulk_file_t  *f;

    ck_assert_int_eq(t_manifest(t_bad_manifests[_i], &f, &n),
                     SPECTRA_BULK_INVALID);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(f);
    t_free();
}
END_TEST


START_TEST(test_result_round_trip)
{
    u_char                 buf[1024], *end;
    spectra_bulk_file_t    files[2];
    spectra_bulk_result_t  res, back;

    memset(&res, 0, sizeof(res));
    res.format = SPECTRA_SQL_UNLOAD_JSON;
    res.compression = SPECTRA_SQL_UNLOAD_ZSTD;
    res.target.data = (u_char *) T_URL;
    res.target.len = sizeof(T_URL) - 1;
    res.max_downloads = -1;

    end = spectra_bulk_result(buf, &res);
    ck_assert_uint_eq((size_t) (end - buf), spectra_bulk_result_len(&res));
    *end = '\0';
    ck_assert_str_eq((char *) buf, "{\"format\":\"json\",\"compression\":"
                     "\"zstd\",\"target\":\"" T_URL "\",\"max_downloads\":"
                     "null,\"expires_at\":null,\"files\":null}");

    ck_assert_int_eq(spectra_bulk_result_read(buf, (size_t) (end - buf),
                                              &t_pool, &back, &err), OK);
    ck_assert_uint_eq(back.listed, 0);
    ck_assert_int_eq(back.format, SPECTRA_SQL_UNLOAD_JSON);
    ck_assert_int_eq(back.compression, SPECTRA_SQL_UNLOAD_ZSTD);
    ck_assert_int_eq(back.max_downloads, -1);
    ck_assert_int_eq(back.expires_at, 0);

    files[0].key.data = (u_char *) "exports/a/0000_part_00.zst";
    files[0].key.len = 26;
    files[0].size = 10;
    files[0].rows = 3;
    files[1] = files[0];
    files[1].rows = 4;
    res.files = files;
    res.nfiles = 2;
    res.listed = 1;
    res.max_downloads = 2;
    res.expires_at = 1767323045678LL;     /* 2026-01-02T03:04:05.678Z */

    end = spectra_bulk_result(buf, &res);
    ck_assert_uint_eq((size_t) (end - buf), spectra_bulk_result_len(&res));
    *end = '\0';
    ck_assert_str_eq((char *) buf, "{\"format\":\"json\",\"compression\":"
                     "\"zstd\",\"target\":\"" T_URL "\",\"max_downloads\":2,"
                     "\"expires_at\":\"2026-01-02T03:04:05.678Z\",\"files\":"
                     "[{\"key\":\"exports/a/0000_part_00.zst\",\"size\":10,"
                     "\"rows\":3},{\"key\":\"exports/a/0000_part_00.zst\","
                     "\"size\":10,\"rows\":4}]}");

    ck_assert_int_eq(spectra_bulk_result_read(buf, (size_t) (end - buf),
                                              &t_pool, &back, &err), OK);
    ck_assert_uint_eq(back.listed, 1);
    ck_assert_uint_eq(back.nfiles, 2);
    ck_assert_int_eq(back.files[1].rows, 4);
    ck_assert_int_eq(back.files[0].size, 10);
    ck_assert_int_eq(back.max_downloads, 2);
    ck_assert_int_eq(back.expires_at, 1767323045678LL);

    ck_assert_int_eq(spectra_bulk_result_read(S("{\"row_limit\":10}"),
                                              &t_pool, &back, &err),
                     SPECTRA_BULK_INVALID);
    ck_assert_int_eq(spectra_bulk_result_read(S("{\"format\":\"csv\","
                     "\"compression\":\"gzip\",\"target\":\"x\","
                     "\"expires_at\":\"2026-13-02T03:04:05.678Z\"}"),
                     &t_pool, &back, &err), SPECTRA_BULK_INVALID);
    ck_assert_int_eq(spectra_bulk_result_read(NULL, 0, &t_pool, &back, &err),
                     SPECTRA_BULK_INVALID);
    t_free();
}
END_TEST




/*
 * botocore 1.29 (Debian's python3-botocore) with these credentials at
 * 2026-01-02T03:04:05Z: S3SigV4QueryAuth(creds, 's3', 'us-east-1',
 * expires).add_auth() on the object's URL.  botocore adds the session
 * token after SignedHeaders; the signature covers the sorted query, so
 * only the order of the parameters in the URL differs.
 */

#define T_AKID    "AKIDEXAMPLE"
#define T_SECRET  "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T_KEY     "exports/tenant=acme/job=job_0123456789abcdefghjkmnpqrs/" \
                  "0000_part_00.gz"
#define T_NOW     1767323045

static const char  t_boto_path_style[] =
    "http://127.0.0.1:30402/spectra-exports/exports/tenant%3Dacme/"
    "job%3Djob_0123456789abcdefghjkmnpqrs/0000_part_00.gz?"
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F"
    "20260102%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260102T030405Z"
    "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature="
    "77bd98b4115d48a1dd31ae40d3a8f976f4b2a358fba478768ca66ac36f2be135";





START_TEST(test_api)
{
    u_char                       *buf;
    size_t                        size, len;
    spectra_bulk_file_t           files[1];
    spectra_bulk_result_t         res;
    spectra_bulk_links_t          links;
    spectra_s3_endpoint_t         ep;
    spectra_sigv4_credentials_t   cred;
    char                          want[4096];

    memset(&cred, 0, sizeof(cred));
    cred.access_key = (spectra_str_t) spectra_string(T_AKID);
    cred.secret_key = (spectra_str_t) spectra_string(T_SECRET);
    cred.region = (spectra_str_t) spectra_string("us-east-1");
    cred.service = (spectra_str_t) spectra_string("s3");

    ck_assert_int_eq(spectra_s3_endpoint_parse(S("http://127.0.0.1:30402"),
                                               &ep, &err), SPECTRA_S3_OK);

    memset(&res, 0, sizeof(res));
    res.format = SPECTRA_SQL_UNLOAD_CSV;
    res.compression = SPECTRA_SQL_UNLOAD_GZIP;
    res.target.data = (u_char *) T_URL;
    res.target.len = sizeof(T_URL) - 1;
    res.max_downloads = -1;
    res.listed = 1;
    res.nfiles = 1;
    res.files = files;
    files[0].key = (spectra_str_t) spectra_string(T_KEY);
    files[0].size = 123;
    files[0].rows = 600000;
    res.expires_at = (T_NOW + 86400) * 1000LL;

    links.endpoint = &ep;
    links.path_style = 1;
    links.cred = &cred;
    links.now = T_NOW;
    links.expires = 3600;
    links.job_id.data = NULL;
    links.job_id.len = 0;

    size = spectra_bulk_api_size(&res, &links);
    buf = malloc(size);

    ck_assert_int_eq(spectra_bulk_api(&res, &links, buf, size, &len), OK);
    snprintf(want, sizeof(want), "{\"format\":\"csv\",\"compression\":"
             "\"gzip\",\"expires_at\":\"2026-01-03T03:04:05.000Z\","
             "\"max_downloads\":null,\"files\":[{\"url\":\"%s\",\"size\":123,"
             "\"rows\":600000}]}", t_boto_path_style);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_int_eq(memcmp(buf, want, len), 0);

    /* links never outlive the export: 10 s left, so X-Amz-Expires=10 */
    res.expires_at = (T_NOW + 10) * 1000LL;
    ck_assert_int_eq(spectra_bulk_api(&res, &links, buf, size, &len), OK);
    buf[len] = '\0';
    ck_assert_ptr_nonnull(strstr((char *) buf, "X-Amz-Expires=10&"));

    /* after it: no link at all */
    res.expires_at = (T_NOW - 1) * 1000LL;
    res.max_downloads = 3;
    ck_assert_int_eq(spectra_bulk_api(&res, &links, buf, size, &len), OK);
    buf[len] = '\0';
    ck_assert_str_eq((char *) buf, "{\"format\":\"csv\",\"compression\":"
                     "\"gzip\",\"expires_at\":\"2026-01-02T03:04:04.000Z\","
                     "\"max_downloads\":3,\"files\":[{\"url\":null,"
                     "\"size\":123,\"rows\":600000}]}");

    /* a buffer smaller than the bound is refused */
    ck_assert_int_eq(spectra_bulk_api(&res, &links, buf, 100, &len),
                     SPECTRA_BULK_INVALID);

    free(buf);

    /* with the job's id: each file's stable link, next to its url */
    res.expires_at = (T_NOW + 86400) * 1000LL;
    res.max_downloads = -1;
    links.job_id = (spectra_str_t) spectra_string(
                                       "job_01hzzzzzzzzzzzzzzzzzzzzzzz");
    size = spectra_bulk_api_size(&res, &links);
    buf = malloc(size);

    ck_assert_int_eq(spectra_bulk_api(&res, &links, buf, size, &len), OK);
    snprintf(want, sizeof(want), "{\"format\":\"csv\",\"compression\":"
             "\"gzip\",\"expires_at\":\"2026-01-03T03:04:05.000Z\","
             "\"max_downloads\":null,\"files\":[{\"url\":\"%s\","
             "\"link\":\"/v1/bulk/job_01hzzzzzzzzzzzzzzzzzzzzzzz/files/0\","
             "\"size\":123,\"rows\":600000}]}", t_boto_path_style);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_int_eq(memcmp(buf, want, len), 0);

    /* max_downloads: no url at all, only the counted link */
    res.max_downloads = 1;
    ck_assert_int_eq(spectra_bulk_api(&res, &links, buf, size, &len), OK);
    buf[len] = '\0';
    ck_assert_str_eq((char *) buf, "{\"format\":\"csv\",\"compression\":"
                     "\"gzip\",\"expires_at\":\"2026-01-03T03:04:05.000Z\","
                     "\"max_downloads\":1,\"files\":[{\"url\":null,"
                     "\"link\":\"/v1/bulk/job_01hzzzzzzzzzzzzzzzzzzzzzzz"
                     "/files/0\",\"size\":123,\"rows\":600000}]}");
    ck_assert_ptr_null(strstr((char *) buf, "X-Amz"));

    free(buf);
}
END_TEST


START_TEST(test_links)
{
    u_char                 buf[SPECTRA_BULK_LINK_MAX];
    spectra_str_t          id = spectra_string("job_x");
    spectra_bulk_result_t  res;

    /* {n}: the 0-based index of the files array, nothing else */
    ck_assert_int_eq(spectra_bulk_file_index(S("0"), 3), 0);
    ck_assert_int_eq(spectra_bulk_file_index(S("2"), 3), 2);
    ck_assert_int_eq(spectra_bulk_file_index(S("3"), 3), -1);
    ck_assert_int_eq(spectra_bulk_file_index(S("0"), 0), -1);
    ck_assert_int_eq(spectra_bulk_file_index(S("01"), 3), -1);
    ck_assert_int_eq(spectra_bulk_file_index(S("00"), 3), -1);
    ck_assert_int_eq(spectra_bulk_file_index(S("-1"), 3), -1);
    ck_assert_int_eq(spectra_bulk_file_index(S("+1"), 3), -1);
    ck_assert_int_eq(spectra_bulk_file_index(S(" 1"), 3), -1);
    ck_assert_int_eq(spectra_bulk_file_index(S("1 "), 3), -1);
    ck_assert_int_eq(spectra_bulk_file_index(S("1a"), 3), -1);
    ck_assert_int_eq(spectra_bulk_file_index(S("0x1"), 3), -1);
    ck_assert_int_eq(spectra_bulk_file_index(S(""), 3), -1);
    ck_assert_int_eq(spectra_bulk_file_index(S("18446744073709551617"), 3),
                     -1);
    ck_assert_int_eq(spectra_bulk_file_index(S("9999999999999999999"), 3),
                     -1);
    ck_assert_int_eq(spectra_bulk_file_index(S("9999"), 10000), 9999);

    ck_assert_uint_eq(spectra_bulk_link(NULL, &id, 12),
                      sizeof("/v1/bulk/job_x/files/12") - 1);
    ck_assert_uint_eq(spectra_bulk_link(buf, &id, 12),
                      sizeof("/v1/bulk/job_x/files/12") - 1);
    ck_assert_int_eq(memcmp(buf, "/v1/bulk/job_x/files/12",
                            sizeof("/v1/bulk/job_x/files/12") - 1), 0);

    /* a link lives at most max, never past the export */
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(spectra_bulk_link_left(&res, T_NOW, 60), 60);
    res.expires_at = (T_NOW + 3600) * 1000LL;
    ck_assert_int_eq(spectra_bulk_link_left(&res, T_NOW, 60), 60);
    res.expires_at = (T_NOW + 7) * 1000LL + 999;
    ck_assert_int_eq(spectra_bulk_link_left(&res, T_NOW, 60), 7);
    res.expires_at = T_NOW * 1000LL;
    ck_assert_int_le(spectra_bulk_link_left(&res, T_NOW, 60), 0);
    res.expires_at = (T_NOW - 5) * 1000LL;
    ck_assert_int_le(spectra_bulk_link_left(&res, T_NOW, 60), 0);
}
END_TEST


static Suite *
bulk_suite(void)
{
    TCase  *tc;
    Suite  *s;

    s = suite_create("bulk");
    tc = tcase_create("core");

    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_every_option);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_hostile_bodies);
    tcase_add_test(tc, test_prefix);
    tcase_add_test(tc, test_place);
    tcase_add_loop_test(tc, test_unload_hostile, 0,
                        sizeof(t_hostile_sql) / sizeof(t_hostile_sql[0]));
    tcase_add_test(tc, test_unload_text);
    tcase_add_test(tc, test_manifest);
    tcase_add_loop_test(tc, test_manifest_refused, 0,
                        sizeof(t_bad_manifests) / sizeof(t_bad_manifests[0]));
    tcase_add_test(tc, test_result_round_trip);
    tcase_add_test(tc, test_api);
    tcase_add_test(tc, test_links);

    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(bulk_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
