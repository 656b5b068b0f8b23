/*
 * Unit tests of src/spectra_import.c: POST /v1/imports and PATCH bodies
 * (every option, hostile input), table names, the object key, the COPY
 * read back with the COPY parser, the load errors query and its pages,
 * the failed records as CSV, the result a job keeps, and the API view.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_import.h"


#define T_POOL_MAX  4096
#define OK          SPECTRA_IMPORT_OK


static void *t_alloc(void *pool, size_t size);
static int t_parse(const char *body);
static void t_free(void);
static spectra_str_t t_str(const char *s);
static Suite *import_suite(void);


static void              *t_blocks[T_POOL_MAX];
static size_t             t_nblocks;
static spectra_import_t   im;
static spectra_err_t      err;
static spectra_pool_t     t_pool = { t_alloc, NULL };


static void *
t_alloc(void *pool, size_t size)
{
    void  *p;

    ck_assert_uint_lt(t_nblocks, T_POOL_MAX);

    p = malloc(size ? size : 1);
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


static spectra_str_t
t_str(const char *s)
{
    spectra_str_t  v;

    v.data = (u_char *) s;
    v.len = strlen(s);

    return v;
}


static int
t_parse(const char *body)
{
    memset(&err, 0, sizeof(err));

    return spectra_import_parse((const u_char *) body, strlen(body), 300000,
                                &t_pool, &im, &err);
}


#define t_refused(body, msg)                                                  \
    do {                                                                      \
        ck_assert_int_lt(t_parse(body), 0);                                   \
        ck_assert_str_eq(err.message, msg);                                   \
        t_free();                                                             \
    } while (0)


START_TEST(test_defaults)
{
    ck_assert_int_eq(t_parse("{\"table\": \"events\"}"), OK);
    ck_assert_uint_eq(im.table.schema.len, 0);
    ck_assert_str_eq((char *) im.table.name.data, "events");
    ck_assert_int_eq(im.format, SPECTRA_SQL_COPY_CSV);
    ck_assert_int_eq(im.compression, SPECTRA_SQL_UNLOAD_GZIP);
    ck_assert_int_eq(im.delimiter, 0);
    ck_assert_uint_eq(im.header, 0);
    ck_assert_uint_eq(im.max_errors, 0);
    ck_assert_uint_eq(im.timeout_ms, 300000);
    ck_assert_ptr_null(im.idempotency_key.data);
    t_free();
}
END_TEST


START_TEST(test_every_option)
{
    ck_assert_int_eq(t_parse("{\"table\": \"Public.Events_2\", \"format\": "
                             "\"csv\", \"compression\": \"zstd\", \"csv\": "
                             "{\"delimiter\": \"|\", \"header\": true}, "
                             "\"max_errors\": 100000, \"timeout_seconds\": "
                             "60, \"idempotency_key\": \"k-1\"}"), OK);
    ck_assert_str_eq((char *) im.table.schema.data, "public.events_2");
    ck_assert_uint_eq(im.table.schema.len, 6);
    ck_assert_str_eq((char *) im.table.name.data, "events_2");
    ck_assert_int_eq(im.compression, SPECTRA_SQL_UNLOAD_ZSTD);
    ck_assert_int_eq(im.delimiter, '|');
    ck_assert_uint_eq(im.header, 1);
    ck_assert_uint_eq(im.max_errors, 100000);
    ck_assert_uint_eq(im.timeout_ms, 60000);
    ck_assert_str_eq((char *) im.idempotency_key.data, "k-1");
    t_free();

    ck_assert_int_eq(t_parse("{\"table\": \"e\", \"format\": \"json\", "
                             "\"compression\": \"none\"}"), OK);
    ck_assert_int_eq(im.format, SPECTRA_SQL_COPY_JSON);
    ck_assert_int_eq(im.compression, SPECTRA_SQL_UNLOAD_NONE);
    t_free();

    ck_assert_int_eq(t_parse("{\"table\": \"e\", \"csv\": {\"delimiter\": "
                             "\"\\t\"}}"), OK);
    ck_assert_int_eq(im.delimiter, '\t');
    t_free();
}
END_TEST


START_TEST(test_refusals)
{
    t_refused("{\"table\": ", "the request body is not valid JSON: "
              "unexpected token near end of file");
    t_refused("[1]", "the request body must be a JSON object");
    t_refused("{}", "table is required: a string, [schema.]name");
    t_refused("{\"table\": 1}", "table is required: a string, [schema.]name");
    t_refused("{\"table\": \"\"}", "table must be [schema.]name of letters, "
              "digits and '_' (1 to 63 each, not starting with a digit)");
    t_refused("{\"table\": \"a.b.c\"}", "table must be [schema.]name of "
              "letters, digits and '_' (1 to 63 each, not starting with a "
              "digit)");
    t_refused("{\"table\": \".e\"}", "table must be [schema.]name of "
              "letters, digits and '_' (1 to 63 each, not starting with a "
              "digit)");
    t_refused("{\"table\": \"1e\"}", "table must be [schema.]name of "
              "letters, digits and '_' (1 to 63 each, not starting with a "
              "digit)");
    t_refused("{\"table\": \"e\\\"; drop\"}", "table must be [schema.]name "
              "of letters, digits and '_' (1 to 63 each, not starting with "
              "a digit)");
    t_refused("{\"table\": \"e\\u0000x\"}", "the request body is not valid "
              "JSON: \\u0000 is not allowed without JSON_ALLOW_NUL near "
              "'\"e\\u0000x\"'");
    t_refused("{\"table\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaa\"}", "table must be [schema.]name of "
              "letters, digits and '_' (1 to 63 each, not starting with a "
              "digit)");
    t_refused("{\"table\": \"e\", \"format\": \"parquet\"}",
              "format \"parquet\" cannot be imported yet: use \"csv\" or "
              "\"json\"");
    ck_assert_int_eq(t_parse("{\"table\": \"e\", \"format\": \"parquet\"}"),
                     SPECTRA_IMPORT_UNSUPPORTED);
    t_free();
    t_refused("{\"table\": \"e\", \"format\": \"CSV\"}",
              "format must be \"csv\" or \"json\" (JSON lines)");
    t_refused("{\"table\": \"e\", \"compression\": \"gz\"}",
              "compression must be \"gzip\", \"zstd\" or \"none\"");
    t_refused("{\"table\": \"e\", \"csv\": []}",
              "csv must be an object with \"delimiter\" and \"header\"");
    t_refused("{\"table\": \"e\", \"csv\": {\"delimiter\": \"\\\\\"}}",
              "csv.delimiter must be one printable ASCII character other "
              "than ' \\ \" (or a tab)");
    t_refused("{\"table\": \"e\", \"csv\": {\"delimiter\": \"ab\"}}",
              "csv.delimiter must be one printable ASCII character other "
              "than ' \\ \" (or a tab)");
    t_refused("{\"table\": \"e\", \"csv\": {\"header\": \"yes\"}}",
              "csv.header must be true or false");
    t_refused("{\"table\": \"e\", \"csv\": {\"quote\": \"'\"}}",
              "unknown field csv.quote");
    t_refused("{\"table\": \"e\", \"format\": \"json\", \"csv\": {}}",
              "csv options are for format \"csv\" only");
    t_refused("{\"table\": \"e\", \"max_errors\": 1.5}",
              "max_errors must be an integer from 0 to 100000");
    t_refused("{\"table\": \"e\", \"timeout_seconds\": 301}",
              "timeout_seconds must be an integer from 1 to 300");
    t_refused("{\"table\": \"e\", \"timeout_seconds\": 0}",
              "timeout_seconds must be an integer from 1 to 300");
    t_refused("{\"table\": \"e\", \"idempotency_key\": \"\"}",
              "idempotency_key must be a string of 1 to 64 bytes");
    t_refused("{\"table\": \"e\", \"sql\": \"x\"}", "unknown field \"sql\"");
    t_refused("{\"table\": \"e\", \"table\": \"f\"}", "the request body is "
              "not valid JSON: duplicate object key near '\"table\"'");
}
END_TEST


START_TEST(test_tables)
{
    spectra_import_table_t  a, b;
    u_char                  buf[200], *p;

    ck_assert_int_eq(spectra_import_table_parse((u_char *) "S.T", 3,
                                                &t_pool, &a, &err), OK);
    ck_assert_int_eq(spectra_import_table_parse((u_char *) "s.t", 3,
                                                &t_pool, &b, &err), OK);
    ck_assert_int_eq(spectra_import_table_eq(&a, &b), 1);
    ck_assert_uint_eq(spectra_import_table_len(&a), 3);
    p = spectra_import_table_name(buf, &a);
    ck_assert_int_eq(p - buf, 3);
    ck_assert_int_eq(memcmp(buf, "s.t", 3), 0);

    /* "t" is not "s.t": an unqualified name is its own entry */
    ck_assert_int_eq(spectra_import_table_parse((u_char *) "t", 1, &t_pool,
                                                &b, &err), OK);
    ck_assert_int_eq(spectra_import_table_eq(&a, &b), 0);
    ck_assert_uint_eq(spectra_import_table_len(&b), 1);

    ck_assert_int_eq(spectra_import_table_parse((u_char *) "s.", 2, &t_pool,
                                                &b, &err),
                     SPECTRA_IMPORT_INVALID);
    ck_assert_int_eq(spectra_import_table_parse((u_char *) "s t", 3,
                                                &t_pool, &b, &err),
                     SPECTRA_IMPORT_INVALID);
    t_free();
}
END_TEST


START_TEST(test_patch)
{
#define P(s)  (const u_char *) (s), sizeof(s) - 1

    ck_assert_int_eq(spectra_import_patch_parse(P("{\"state\": "
                                                  "\"UploadComplete\"}"),
                                                &err),
                     SPECTRA_IMPORT_PATCH_UPLOADED);
    ck_assert_int_eq(spectra_import_patch_parse(P("{\"state\":\"Aborted\"}"),
                                                &err),
                     SPECTRA_IMPORT_PATCH_ABORTED);
    ck_assert_int_eq(spectra_import_patch_parse(P("{\"state\":"
                                                  "\"JobComplete\"}"),
                                                &err),
                     SPECTRA_IMPORT_INVALID);
    ck_assert_str_eq(err.message,
                     "state must be \"UploadComplete\" or \"Aborted\"");
    ck_assert_int_eq(spectra_import_patch_parse(P("{\"state\":"
                                                  "\"Aborted\", \"a\": 1}"),
                                                &err),
                     SPECTRA_IMPORT_INVALID);
    ck_assert_int_eq(spectra_import_patch_parse(P("{\"state\": 1}"), &err),
                     SPECTRA_IMPORT_INVALID);
    ck_assert_int_eq(spectra_import_patch_parse(P("[]"), &err),
                     SPECTRA_IMPORT_INVALID);
    ck_assert_int_eq(spectra_import_patch_parse(P("{\"state\":"
                                                  "\"aborted\"}"), &err),
                     SPECTRA_IMPORT_INVALID);
    ck_assert_int_eq(spectra_import_patch_parse(P("{"), &err),
                     SPECTRA_IMPORT_INVALID);

#undef P
}
END_TEST


static void
t_result(spectra_import_result_t *res, const char *key)
{
    memset(res, 0, sizeof(spectra_import_result_t));

    ck_assert_int_eq(spectra_import_table_parse((u_char *) "events", 6,
                                                &t_pool, &res->table, &err),
                     OK);
    res->format = SPECTRA_SQL_COPY_CSV;
    res->compression = SPECTRA_SQL_UNLOAD_GZIP;
    res->delimiter = '|';
    res->header = 1;
    res->max_errors = 7;
    res->timeout_ms = 60000;
    res->bucket = t_str("spectra-exports");
    res->key = t_str(key);
    res->upload_expires_at = 1764644400123LL;
    res->max_size = 67108864;
    res->records_failed = -1;
}


START_TEST(test_key_and_copy)
{
    u_char                   buf[256], *p;
    spectra_str_t            prefix, tenant, job, sql, role;
    spectra_sql_copy_t       c;
    spectra_import_result_t  res;

    prefix = t_str("imports");
    tenant = t_str("acme");
    job = t_str("job_0123456789abcdefghjkmnpqrs");

    ck_assert_uint_ge(spectra_import_key_len(&prefix, &tenant, &job),
                      sizeof("imports/tenant=acme/job="
                             "job_0123456789abcdefghjkmnpqrs/data.csv.gz")
                      - 1);

    p = spectra_import_key(buf, &prefix, &tenant, &job, SPECTRA_SQL_COPY_CSV,
                           SPECTRA_SQL_UNLOAD_GZIP);
    *p = '\0';
    ck_assert_str_eq((char *) buf, "imports/tenant=acme/job="
                     "job_0123456789abcdefghjkmnpqrs/data.csv.gz");

    p = spectra_import_key(buf, &prefix, &tenant, &job,
                           SPECTRA_SQL_COPY_JSON, SPECTRA_SQL_UNLOAD_ZSTD);
    *p = '\0';
    ck_assert_str_eq((char *) buf, "imports/tenant=acme/job="
                     "job_0123456789abcdefghjkmnpqrs/data.json.zst");
    ck_assert_uint_eq(p - buf, spectra_import_key_len(&prefix, &tenant,
                                                      &job));

    prefix = t_str("");
    p = spectra_import_key(buf, &prefix, &tenant, &job, SPECTRA_SQL_COPY_CSV,
                           SPECTRA_SQL_UNLOAD_NONE);
    *p = '\0';
    ck_assert_str_eq((char *) buf, "tenant=acme/job="
                     "job_0123456789abcdefghjkmnpqrs/data.csv");

    t_result(&res, "imports/tenant=acme/job=job_1/data.csv.gz");
    role = t_str("default");

    ck_assert_int_eq(spectra_import_copy(&res, &role, &t_pool, &sql, &err),
                     OK);
    ck_assert_str_eq((char *) sql.data,
                     "COPY \"events\" FROM 's3://spectra-exports/imports/"
                     "tenant=acme/job=job_1/data.csv.gz' IAM_ROLE default "
                     "FORMAT AS CSV DELIMITER AS '|' IGNOREHEADER 1 GZIP "
                     "MAXERROR 7");

    /* what the daemon reads back is what the job says */
    ck_assert_int_eq(spectra_sql_copy_parse(sql.data, sql.len, &c, &err), 0);
    ck_assert_int_eq(c.table.len, 6);
    ck_assert_int_eq(memcmp(c.table.data, "events", 6), 0);
    ck_assert_int_eq(c.delimiter, '|');
    ck_assert_uint_eq(c.ignore_header, 1);
    ck_assert_uint_eq(c.max_errors, 7);
    ck_assert_int_eq(c.compression, SPECTRA_SQL_UNLOAD_GZIP);

    res.format = SPECTRA_SQL_COPY_JSON;
    res.delimiter = 0;
    res.header = 0;
    res.compression = SPECTRA_SQL_UNLOAD_ZSTD;
    ck_assert_int_eq(spectra_import_table_parse((u_char *) "s.events", 8,
                                                &t_pool, &res.table, &err),
                     OK);
    role = t_str("arn:aws:iam::123456789012:role/load");

    ck_assert_int_eq(spectra_import_copy(&res, &role, &t_pool, &sql, &err),
                     OK);
    ck_assert_str_eq((char *) sql.data,
                     "COPY \"s\".\"events\" FROM 's3://spectra-exports/"
                     "imports/tenant=acme/job=job_1/data.csv.gz' IAM_ROLE "
                     "'arn:aws:iam::123456789012:role/load' FORMAT AS JSON "
                     "'auto' ZSTD MAXERROR 7");

    /* a key the COPY builder refuses is never written */
    res.key = t_str("imports/../x");
    ck_assert_int_eq(spectra_import_copy(&res, &role, &t_pool, &sql, &err),
                     SPECTRA_IMPORT_INVALID);
    t_free();
}
END_TEST


START_TEST(test_errors_sql)
{
    spectra_str_t            sql;
    spectra_import_result_t  res;

    t_result(&res, "imports/tenant=acme/job=job_1/data.csv.gz");

    ck_assert_int_eq(spectra_import_errors_sql(&res, &t_pool, &sql), OK);
    ck_assert_str_eq((char *) sql.data,
                     "SELECT line_number, column_name, error_code, "
                     "error_message, raw_line FROM sys_load_error_detail "
                     "WHERE file_name = 's3://spectra-exports/imports/"
                     "tenant=acme/job=job_1/data.csv.gz' ORDER BY "
                     "line_number");
    ck_assert_uint_eq(sql.len, strlen((char *) sql.data));

    /* quoted as a literal even though the module's keys have no quote */
    res.key = t_str("a'b");
    ck_assert_int_eq(spectra_import_errors_sql(&res, &t_pool, &sql), OK);
    ck_assert_ptr_nonnull(strstr((char *) sql.data,
                                 "= 's3://spectra-exports/a''b' ORDER"));
    t_free();
}
END_TEST


START_TEST(test_errors_page)
{
    size_t                   n;
    int64_t                  total;
    spectra_str_t            token;
    spectra_import_error_t  *e;
    u_char                   csv[512], *p;

    static const char  page[] =
        "{\"ColumnMetadata\": [], \"TotalNumRows\": 2, \"NextToken\": \"t2\","
        " \"Records\": ["
        "[{\"longValue\": 11}, {\"stringValue\": \"id\"},"
        " {\"stringValue\": \"22P02\"}, {\"stringValue\": \"bad \\\"x\\\"\"},"
        " {\"stringValue\": \"acme,x,\\\"a\\\"\"}],"
        "[{\"longValue\": 21}, {\"isNull\": true},"
        " {\"stringValue\": \"42501\"}, {\"stringValue\": \"rls\"},"
        " {\"stringValue\": \"globex,1\"}]]}";

    ck_assert_int_eq(spectra_import_errors_page((u_char *) page,
                                                sizeof(page) - 1, &t_pool,
                                                &e, &n, &total, &token, &err),
                     OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(total, 2);
    ck_assert_str_eq((char *) token.data, "t2");
    ck_assert_int_eq(e[0].line, 11);
    ck_assert_str_eq((char *) e[0].column.data, "id");
    ck_assert_str_eq((char *) e[0].code.data, "22P02");
    ck_assert_int_eq(e[1].line, 21);
    ck_assert_uint_eq(e[1].column.len, 0);

    p = csv + spectra_import_csv_header(csv);
    ck_assert_uint_eq(spectra_import_csv_len(e, n),
                      (size_t) (spectra_import_csv(p, e, n) - p));
    p = spectra_import_csv(p, e, n);
    *p = '\0';
    ck_assert_str_eq((char *) csv,
                     "line_number,column_name,error_code,error_message,"
                     "raw_line\r\n"
                     "11,\"id\",\"22P02\",\"bad \"\"x\"\"\","
                     "\"acme,x,\"\"a\"\"\"\r\n"
                     "21,\"\",\"42501\",\"rls\",\"globex,1\"\r\n");

    /* the last page, empty */
    ck_assert_int_eq(spectra_import_errors_page((u_char *) "{\"Records\":[]}",
                                                14, &t_pool, &e, &n, &total,
                                                &token, &err), OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(total, -1);
    ck_assert_ptr_null(token.data);

    /* malformed pages are refused whole */
    ck_assert_int_eq(spectra_import_errors_page((u_char *) "{}", 2, &t_pool,
                                                &e, &n, &total, &token, &err),
                     SPECTRA_IMPORT_INVALID);
    ck_assert_str_eq(err.message, "load errors: no Records");
    ck_assert_int_eq(spectra_import_errors_page(
                         (u_char *) "{\"Records\":[[{\"longValue\":1}]]}", 31,
                         &t_pool, &e, &n, &total, &token, &err),
                     SPECTRA_IMPORT_INVALID);
    ck_assert_str_eq(err.message, "load errors: record 0 is not (line, "
                     "column, code, message, raw line)");
    ck_assert_int_eq(spectra_import_errors_page(
                         (u_char *) "{\"Records\":[[{\"stringValue\":\"1\"},"
                         "{\"stringValue\":\"\"},{\"stringValue\":\"\"},"
                         "{\"stringValue\":\"\"},{\"stringValue\":\"\"}]]}",
                         104, &t_pool, &e, &n, &total, &token, &err),
                     SPECTRA_IMPORT_INVALID);
    ck_assert_int_eq(spectra_import_errors_page((u_char *) "{", 1, &t_pool,
                                                &e, &n, &total, &token, &err),
                     SPECTRA_IMPORT_INVALID);
    t_free();
}
END_TEST


START_TEST(test_result_round_trip)
{
    spectra_str_t            out, members, url;
    spectra_import_error_t   errors[2];
    spectra_import_result_t  res, back;

    t_result(&res, "imports/tenant=acme/job=job_1/data.csv.gz");

    ck_assert_int_eq(spectra_import_result_write(&res, &t_pool, &out), OK);
    ck_assert_int_eq(spectra_import_result_read(out.data, out.len, &t_pool,
                                                &back, &err), OK);
    ck_assert_uint_eq(back.errors_read, 0);
    ck_assert_int_eq(back.records_failed, -1);
    ck_assert_int_eq(back.delimiter, '|');
    ck_assert_uint_eq(back.header, 1);
    ck_assert_uint_eq(back.max_errors, 7);
    ck_assert_uint_eq(back.timeout_ms, 60000);
    ck_assert_int_eq(back.upload_expires_at, 1764644400123LL);
    ck_assert_uint_eq(back.max_size, 67108864);
    ck_assert_str_eq((char *) back.key.data, (char *) res.key.data);
    ck_assert_str_eq((char *) back.bucket.data, "spectra-exports");
    ck_assert_int_eq(spectra_import_table_eq(&back.table, &res.table), 1);

    url = t_str("http://127.0.0.1:1/u?X-Amz-Signature=0");
    ck_assert_int_eq(spectra_import_api(&back, -1, "job_1", &url,
                                        1764644400123LL, &t_pool, &members),
                     OK);
    members.data[members.len] = '\0';
    ck_assert_str_eq((char *) members.data,
                     ",\"table\":\"events\",\"format\":\"csv\","
                     "\"compression\":\"gzip\",\"csv\":{\"delimiter\":\"|\","
                     "\"header\":true},\"max_errors\":7,\"rows_loaded\":null,"
                     "\"records_failed\":null,\"records_processed\":null,"
                     "\"upload\":{\"url\":\"http://127.0.0.1:1/u?"
                     "X-Amz-Signature=0\",\"method\":\"PUT\",\"expires_at\":"
                     "\"2025-12-02T03:00:00.123Z\",\"max_size\":67108864},"
                     "\"upload_url\":\"http://127.0.0.1:1/u?"
                     "X-Amz-Signature=0\"");

    /* the load errors, once read, and the counts the API derives */
    memset(errors, 0, sizeof(errors));
    errors[0].line = 3;
    errors[0].column = t_str("id");
    errors[0].code = t_str("22P02");
    errors[0].reason = t_str("invalid \"x\"");
    errors[0].raw = t_str("raw lines are not kept");
    errors[1].line = 9;
    errors[1].column = t_str("");
    errors[1].code = t_str("42501");
    errors[1].reason = t_str("rls");

    back.errors_read = 1;
    back.records_failed = 12;
    back.errors = errors;
    back.nerrors = 2;

    ck_assert_int_eq(spectra_import_result_write(&back, &t_pool, &out), OK);
    ck_assert_ptr_null(strstr((char *) out.data, "raw lines"));
    ck_assert_int_eq(spectra_import_result_read(out.data, out.len, &t_pool,
                                                &res, &err), OK);
    ck_assert_uint_eq(res.errors_read, 1);
    ck_assert_int_eq(res.records_failed, 12);
    ck_assert_uint_eq(res.nerrors, 2);
    ck_assert_int_eq(res.errors[1].line, 9);
    ck_assert_str_eq((char *) res.errors[0].reason.data, "invalid \"x\"");

    ck_assert_int_eq(spectra_import_api(&res, 88, "job_1", NULL, 0, &t_pool,
                                        &members), OK);
    members.data[members.len] = '\0';
    ck_assert_ptr_nonnull(strstr((char *) members.data,
                                 "\"rows_loaded\":88,\"records_failed\":12,"
                                 "\"records_processed\":100,\"errors\":["
                                 "{\"line\":3,\"column\":\"id\",\"code\":"
                                 "\"22P02\",\"reason\":\"invalid \\\"x\\\"\"},"
                                 "{\"line\":9,\"column\":\"\",\"code\":"
                                 "\"42501\",\"reason\":\"rls\"}],"
                                 "\"failed_records\":\"/v1/imports/job_1/"
                                 "failed\""));
    ck_assert_ptr_null(strstr((char *) members.data, "upload"));

    /* malformed results are refused */
    ck_assert_int_eq(spectra_import_result_read((u_char *) "{}", 2, &t_pool,
                                                &res, &err),
                     SPECTRA_IMPORT_INVALID);
    ck_assert_int_eq(spectra_import_result_read(NULL, 0, &t_pool, &res,
                                                &err),
                     SPECTRA_IMPORT_INVALID);
    ck_assert_int_eq(spectra_import_result_read(
                         (u_char *) "{\"schema\":\"\",\"table\":\"e\","
                         "\"bucket\":\"b\",\"key\":\"k\",\"compression\":"
                         "\"lz4\"}", 66, &t_pool, &res, &err),
                     SPECTRA_IMPORT_INVALID);
    t_free();
}
END_TEST


static Suite *
import_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("import");
    tc = tcase_create("core");

    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_every_option);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_tables);
    tcase_add_test(tc, test_patch);
    tcase_add_test(tc, test_key_and_copy);
    tcase_add_test(tc, test_errors_sql);
    tcase_add_test(tc, test_errors_page);
    tcase_add_test(tc, test_result_round_trip);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(import_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
