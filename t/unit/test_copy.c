/*
 * Unit tests of the COPY statement (src/spectra_sql_copy.c): the exact
 * text built for each format and option, every validation rule, hostile
 * names, sources and roles that would break out of their quotes, reading
 * back what is built and Redshift's own spellings, and parse errors at
 * their positions.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_sql.h"


#define S(s)     (const u_char *) (s), strlen(s)
#define STR(s)   { sizeof(s) - 1, (u_char *) (s) }

#define OK       SPECTRA_SQL_OK
#define INVALID  SPECTRA_SQL_ERR_INVALID

#define NCASES(a)  ((int) (sizeof(a) / sizeof(a[0])))


static void copy_init(spectra_sql_copy_t *c);
static void copy_build(const spectra_sql_copy_t *c, char *out, size_t size);
static void expect_str(const spectra_str_t *s, const char *want);


static void
copy_init(spectra_sql_copy_t *c)
{
    memset(c, 0, sizeof(spectra_sql_copy_t));
    c->schema.data = (u_char *) "";
    c->table.data = (u_char *) "events";
    c->table.len = 6;
    c->source.data = (u_char *) "s3://spectra-imports/tenant=acme/job=j1/"
                                "data.csv.gz";
    c->source.len = strlen((const char *) c->source.data);
    c->iam_role.data = (u_char *) "default";
    c->iam_role.len = 7;
}


static void
copy_build(const spectra_sql_copy_t *c, char *out, size_t size)
{
    u_char  *end;
    size_t   n;

    n = spectra_sql_copy_len(c);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_lt(n, size);

    memset(out, 'X', size);
    end = spectra_sql_copy((u_char *) out, c);
    ck_assert_uint_eq((size_t) (end - (u_char *) out), n);
    ck_assert_int_eq(out[n], 'X');          /* nothing past the length */
    *end = '\0';
}


static void
expect_str(const spectra_str_t *s, const char *want)
{
    ck_assert_uint_eq(s->len, strlen(want));
    ck_assert_int_eq(memcmp(s->data, want, s->len), 0);
}


START_TEST(test_copy_build)
{
    char                out[2048];
    spectra_sql_copy_t  c;

    copy_init(&c);
    c.schema.data = (u_char *) "public";
    c.schema.len = 6;
    c.delimiter = ',';
    c.ignore_header = 1;
    c.compression = SPECTRA_SQL_UNLOAD_GZIP;
    copy_build(&c, out, sizeof(out));
    ck_assert_str_eq(out, "COPY \"public\".\"events\" FROM "
                     "'s3://spectra-imports/tenant=acme/job=j1/data.csv.gz' "
                     "IAM_ROLE default FORMAT AS CSV DELIMITER AS ',' "
                     "IGNOREHEADER 1 GZIP MAXERROR 0");

    copy_init(&c);
    c.format = SPECTRA_SQL_COPY_JSON;
    c.compression = SPECTRA_SQL_UNLOAD_ZSTD;
    c.max_errors = 100000;
    c.iam_role.data = (u_char *) "arn:aws:iam::123456789012:role/load";
    c.iam_role.len = strlen((const char *) c.iam_role.data);
    copy_build(&c, out, sizeof(out));
    ck_assert_str_eq(out, "COPY \"events\" FROM "
                     "'s3://spectra-imports/tenant=acme/job=j1/data.csv.gz' "
                     "IAM_ROLE 'arn:aws:iam::123456789012:role/load' "
                     "FORMAT AS JSON 'auto' ZSTD MAXERROR 100000");

    copy_init(&c);
    c.delimiter = '\t';
    c.max_errors = 7;
    copy_build(&c, out, sizeof(out));
    ck_assert_str_eq(out, "COPY \"events\" FROM "
                     "'s3://spectra-imports/tenant=acme/job=j1/data.csv.gz' "
                     "IAM_ROLE default FORMAT AS CSV DELIMITER AS '\t' "
                     "MAXERROR 7");

    /* "defaulT" is a role name, not the keyword */
    copy_init(&c);
    c.iam_role.data = (u_char *) "defaulT";
    copy_build(&c, out, sizeof(out));
    ck_assert_str_eq(out, "COPY \"events\" FROM "
                     "'s3://spectra-imports/tenant=acme/job=j1/data.csv.gz' "
                     "IAM_ROLE 'defaulT' FORMAT AS CSV MAXERROR 0");
}
END_TEST


START_TEST(test_copy_build_limits)
{
    char                name[128], out[4096], src[1100];
    spectra_sql_copy_t  c;

    /* 127 bytes of name, a 1024-byte key: the longest accepted */
    memset(name, 'n', 127);
    name[0] = '_';
    name[127] = '\0';

    memcpy(src, "s3://bkt/", 9);
    memset(src + 9, 'k', 1024);
    src[9 + 200] = '/';
    src[9 + 400] = '/';
    src[9 + 600] = '/';
    src[9 + 800] = '/';
    src[9 + 1024] = '\0';

    copy_init(&c);
    c.schema.data = (u_char *) name;
    c.schema.len = 127;
    c.table.data = (u_char *) name;
    c.table.len = 127;
    c.source.data = (u_char *) src;
    c.source.len = strlen(src);
    copy_build(&c, out, sizeof(out));
    ck_assert_uint_eq(strlen(out), sizeof("COPY \"\".\"\" FROM '' IAM_ROLE "
                                          "default FORMAT AS CSV MAXERROR 0")
                                   - 1 + 127 + 127 + 9 + 1024);
}
END_TEST


typedef struct {
    const char  *what;
    int          field;          /* 0 schema, 1 table, 2 source, 3 role */
    const char  *value;
    const char  *message;
} copy_bad_t;

#define IDENT_MSG(w)                                                         \
    "the COPY " w " must be 1 to 127 letters, digits and '_', not starting " \
    "with a digit"
#define TEXT_MSG(w)                                                          \
    "the COPY " w " must be non-empty, without quotes, backslashes or "      \
    "control characters"
#define S3_MSG                                                               \
    "the COPY source must be s3://bucket/key with a bucket of 3 to 63 "      \
    "lowercase letters, digits, '.' and '-'"
#define CHAR_MSG                                                             \
    "the COPY source may not hold a character other than letters, digits "   \
    "and - _ . = /"

static const copy_bad_t  copy_bad[] = {
    { "table with a quote", 1, "events\"; drop table sales; --",
      IDENT_MSG("table") },
    { "table with a doubled quote", 1, "ev\"\"ents", IDENT_MSG("table") },
    { "table with a dot", 1, "public.sales", IDENT_MSG("table") },
    { "table with a space", 1, "my table", IDENT_MSG("table") },
    { "table with a dollar", 1, "t$1", IDENT_MSG("table") },
    { "table with UTF-8", 1, "\xc3\xa9v", IDENT_MSG("table") },
    { "table starting with a digit", 1, "1events", IDENT_MSG("table") },
    { "empty table", 1, "", IDENT_MSG("table") },
    { "table with a NUL", 1, "ev\0x", IDENT_MSG("table") },
    { "schema with a quote", 0, "pub\"lic", IDENT_MSG("schema") },
    { "schema with a semicolon", 0, "a;b", IDENT_MSG("schema") },
    { "source with a quote", 2, "s3://bkt/a' IAM_ROLE default; --",
      TEXT_MSG("source") },
    { "source with a backslash", 2, "s3://bkt/a\\", TEXT_MSG("source") },
    { "source with a newline", 2, "s3://bkt/a\nb", TEXT_MSG("source") },
    { "source with DEL", 2, "s3://bkt/a\x7f", TEXT_MSG("source") },
    { "empty source", 2, "", TEXT_MSG("source") },
    { "not s3", 2, "file:///etc/passwd",
      "the COPY source must be s3://bucket/key" },
    { "S3 in capitals", 2, "S3://bkt/k", "the COPY source must be "
      "s3://bucket/key" },
    { "bucket only", 2, "s3://bkt", S3_MSG },
    { "bucket too short", 2, "s3://bk/k", S3_MSG },
    { "bucket in capitals", 2, "s3://Bkt/k", S3_MSG },
    { "bucket ending in a dot", 2, "s3://bkt./k", S3_MSG },
    { "dot-dot key", 2, "s3://bkt/a/../../etc/passwd",
      "the COPY source may not hold a \".\" or \"..\" name" },
    { "dot key", 2, "s3://bkt/./a",
      "the COPY source may not hold a \".\" or \"..\" name" },
    { "double slash", 2, "s3://bkt/a//b",
      "the COPY source may not hold an empty name (\"//\" or a trailing "
      "'/')" },
    { "a prefix", 2, "s3://bkt/a/",
      "the COPY source may not hold an empty name (\"//\" or a trailing "
      "'/')" },
    { "empty key", 2, "s3://bkt/",
      "the COPY source may not hold an empty name (\"//\" or a trailing "
      "'/')" },
    { "space in the key", 2, "s3://bkt/a b", CHAR_MSG },
    { "percent in the key", 2, "s3://bkt/a%2e%2e", CHAR_MSG },
    { "UTF-8 in the key", 2, "s3://bkt/\xc3\xa9", CHAR_MSG },
    { "role with a quote", 3, "arn'; drop", TEXT_MSG("IAM role") },
    { "role with a backslash", 3, "arn\\", TEXT_MSG("IAM role") },
    { "role with a tab", 3, "arn\t", TEXT_MSG("IAM role") },
    { "empty role", 3, "", TEXT_MSG("IAM role") },
};


START_TEST(test_copy_bad_fields)
{
    const copy_bad_t    *b;
    spectra_str_t       *f;
    spectra_err_t        err;
    spectra_sql_copy_t   c;

    b = &copy_bad[_i];
    copy_init(&c);

    f = b->field == 0 ? &c.schema : b->field == 1 ? &c.table
        : b->field == 2 ? &c.source : &c.iam_role;
    f->data = (u_char *) b->value;
    f->len = strlen(b->value);

    if (strcmp(b->what, "table with a NUL") == 0) {
        f->len = 4;
    }

    ck_assert_msg(spectra_sql_copy_validate(&c, &err) == INVALID, "%s",
                  b->what);
    ck_assert_str_eq(err.message, b->message);
    ck_assert_uint_eq(spectra_sql_copy_len(&c), 0);
}
END_TEST


START_TEST(test_copy_bad_options)
{
    char                long_name[129], long_key[1100], long_seg[300];
    spectra_err_t       err;
    spectra_sql_copy_t  c;

    static const u_char  bad_delims[] = {
        '\'', '\\', '"', '\n', '\r', 0x01, 0x7f, 0x80, 0xff
    };
    size_t               i;

    for (i = 0; i < sizeof(bad_delims); i++) {
        copy_init(&c);
        c.delimiter = bad_delims[i];
        ck_assert_int_eq(spectra_sql_copy_validate(&c, &err), INVALID);
        ck_assert_str_eq(err.message, "the COPY delimiter must be one "
                         "printable ASCII character other than ' \\ \" "
                         "(or a tab)");
        ck_assert_uint_eq(spectra_sql_copy_len(&c), 0);
    }

    copy_init(&c);
    c.format = SPECTRA_SQL_COPY_JSON;
    c.delimiter = ',';
    ck_assert_int_eq(spectra_sql_copy_validate(&c, &err), INVALID);
    ck_assert_str_eq(err.message,
                     "DELIMITER and IGNOREHEADER apply only to CSV COPY");

    copy_init(&c);
    c.format = SPECTRA_SQL_COPY_JSON;
    c.ignore_header = 1;
    ck_assert_int_eq(spectra_sql_copy_validate(&c, &err), INVALID);
    ck_assert_str_eq(err.message,
                     "DELIMITER and IGNOREHEADER apply only to CSV COPY");

    copy_init(&c);
    c.ignore_header = 2;
    ck_assert_int_eq(spectra_sql_copy_validate(&c, &err), INVALID);
    ck_assert_str_eq(err.message, "IGNOREHEADER must be 0 or 1");

    copy_init(&c);
    c.max_errors = 100001;
    ck_assert_int_eq(spectra_sql_copy_validate(&c, &err), INVALID);
    ck_assert_str_eq(err.message, "MAXERROR must be between 0 and 100000");

    copy_init(&c);
    c.format = (spectra_sql_copy_format_e) 2;
    ck_assert_int_eq(spectra_sql_copy_validate(&c, &err), INVALID);
    ck_assert_str_eq(err.message, "unknown COPY format or compression");

    copy_init(&c);
    c.compression = (spectra_sql_unload_compression_e) 3;
    ck_assert_int_eq(spectra_sql_copy_validate(&c, &err), INVALID);
    ck_assert_str_eq(err.message, "unknown COPY format or compression");

    memset(long_name, 'a', 128);
    long_name[128] = '\0';
    copy_init(&c);
    c.table.data = (u_char *) long_name;
    c.table.len = 128;
    ck_assert_int_eq(spectra_sql_copy_validate(&c, &err), INVALID);

    memcpy(long_key, "s3://bkt/", 9);
    memset(long_key + 9, 'k', 1025);
    for (i = 100; i < 1025; i += 100) {
        long_key[9 + i] = '/';
    }
    long_key[9 + 1025] = '\0';
    copy_init(&c);
    c.source.data = (u_char *) long_key;
    c.source.len = strlen(long_key);
    ck_assert_int_eq(spectra_sql_copy_validate(&c, &err), INVALID);
    ck_assert_str_eq(err.message,
                     "the COPY source's key is longer than 1024 bytes");

    memcpy(long_seg, "s3://bkt/", 9);
    memset(long_seg + 9, 'k', 256);
    long_seg[9 + 256] = '\0';
    copy_init(&c);
    c.source.data = (u_char *) long_seg;
    c.source.len = strlen(long_seg);
    ck_assert_int_eq(spectra_sql_copy_validate(&c, &err), INVALID);
    ck_assert_str_eq(err.message, "the COPY source may not hold a name "
                     "longer than 255 bytes");
}
END_TEST


START_TEST(test_copy_round_trip)
{
    char                out[2048];
    spectra_err_t       err;
    spectra_sql_copy_t  c, v;
    int                 fmt, comp;

    static const u_char  delims[] = { 0, ',', '|', '\t', ';', '#' };
    size_t               d;

    for (fmt = 0; fmt <= SPECTRA_SQL_COPY_JSON; fmt++) {
        for (comp = 0; comp <= SPECTRA_SQL_UNLOAD_ZSTD; comp++) {
            for (d = 0; d < sizeof(delims); d++) {
                copy_init(&c);
                c.format = (spectra_sql_copy_format_e) fmt;
                c.compression = (spectra_sql_unload_compression_e) comp;
                c.max_errors = (unsigned) (d * 17);

                if (fmt == SPECTRA_SQL_COPY_CSV) {
                    c.delimiter = delims[d];
                    c.ignore_header = d & 1;
                    c.schema.data = (u_char *) "Warehouse_2";
                    c.schema.len = 11;

                } else if (d & 1) {
                    c.iam_role.data = (u_char *) "arn:aws:iam::1:role/r";
                    c.iam_role.len = 21;
                }

                copy_build(&c, out, sizeof(out));

                ck_assert_msg(spectra_sql_copy_parse(S(out), &v, &err) == OK,
                              "%s: %s", out, err.message);
                ck_assert_uint_eq(v.schema.len, c.schema.len);
                ck_assert_int_eq(memcmp(v.schema.data, c.schema.data,
                                        c.schema.len), 0);
                expect_str(&v.table, "events");
                ck_assert_uint_eq(v.source.len, c.source.len);
                ck_assert_int_eq(memcmp(v.source.data, c.source.data,
                                        c.source.len), 0);
                ck_assert_uint_eq(v.iam_role.len, c.iam_role.len);
                ck_assert_int_eq(memcmp(v.iam_role.data, c.iam_role.data,
                                        c.iam_role.len), 0);
                ck_assert_int_eq(v.format, c.format);
                ck_assert_int_eq(v.compression, c.compression);
                ck_assert_int_eq(v.delimiter, c.delimiter);
                ck_assert_uint_eq(v.ignore_header, c.ignore_header);
                ck_assert_uint_eq(v.max_errors, c.max_errors);
            }
        }
    }
}
END_TEST


START_TEST(test_copy_parse_variants)
{
    spectra_err_t       err;
    spectra_sql_copy_t  v;

    ck_assert_int_eq(spectra_sql_copy_parse(
        S("  copy /* c */ Events\n from 's3://bkt/a/b.json.zst' iam_role "
          "DEFAULT json 'AUTO IGNORECASE' zstd maxerror as 5 ; -- end\n"),
        &v, &err), OK);
    ck_assert_uint_eq(v.schema.len, 0);
    expect_str(&v.table, "Events");
    expect_str(&v.source, "s3://bkt/a/b.json.zst");
    expect_str(&v.iam_role, "default");
    ck_assert_int_eq(v.format, SPECTRA_SQL_COPY_JSON);
    ck_assert_int_eq(v.compression, SPECTRA_SQL_UNLOAD_ZSTD);
    ck_assert_uint_eq(v.max_errors, 5);

    ck_assert_int_eq(spectra_sql_copy_parse(
        S("COPY public . \"events\" FROM 's3://bkt/x.csv' IAM_ROLE "
          "'arn:aws:iam::1:role/r' gzip IGNOREHEADER AS 1 delimiter '|' "
          "CSV"), &v, &err), OK);
    expect_str(&v.schema, "public");
    expect_str(&v.table, "events");
    expect_str(&v.iam_role, "arn:aws:iam::1:role/r");
    ck_assert_int_eq(v.format, SPECTRA_SQL_COPY_CSV);
    ck_assert_int_eq(v.compression, SPECTRA_SQL_UNLOAD_GZIP);
    ck_assert_int_eq(v.delimiter, '|');
    ck_assert_uint_eq(v.ignore_header, 1);
    ck_assert_uint_eq(v.max_errors, 0);

    /* no FORMAT: CSV is the only default spectra-dataapi reads */
    ck_assert_int_eq(spectra_sql_copy_parse(
        S("copy t from 's3://bkt/k' iam_role default"), &v, &err), OK);
    ck_assert_int_eq(v.format, SPECTRA_SQL_COPY_CSV);

    ck_assert_int_eq(spectra_sql_copy_parse(
        S("copy t from 's3://bkt/k' iam_role default ignoreheader 0 "
          "format csv"), &v, &err), OK);
    ck_assert_uint_eq(v.ignore_header, 0);
}
END_TEST


typedef struct {
    const char  *sql;
    const char  *message;
} copy_parse_bad_t;

static const copy_parse_bad_t  copy_parse_bad[] = {
    { "", "expected COPY at line 1, column 1" },
    { "unload ('x') to 's3://bkt/' iam_role default",
      "expected COPY at line 1, column 1" },
    { "copy", "expected a table name at line 1, column 5" },
    { "copy 'events' from 's3://bkt/k' iam_role default",
      "expected a table name at line 1, column 6" },
    { "copy \"ev\"\"il\" from 's3://bkt/k' iam_role default",
      "a COPY name must be a plain identifier at line 1, column 6" },
    { "copy \"events from 's3://bkt/k' iam_role default",
      "unterminated quoted name starting at line 1, column 6" },
    { "copy \"ev il\" from 's3://bkt/k' iam_role default",
      "the COPY table must be 1 to 127 letters, digits and '_', not "
      "starting with a digit" },
    { "copy \"\" from 's3://bkt/k' iam_role default",
      "the COPY table must be 1 to 127 letters, digits and '_', not "
      "starting with a digit" },
    { "copy a.b.c from 's3://bkt/k' iam_role default",
      "expected FROM at line 1, column 9" },
    { "copy t$x from 's3://bkt/k' iam_role default",
      "the COPY table must be 1 to 127 letters, digits and '_', not "
      "starting with a digit" },
    { "copy t (a, b) from 's3://bkt/k' iam_role default",
      "a COPY column list is not supported at line 1, column 8" },
    { "copy t to 's3://bkt/k' iam_role default",
      "expected FROM at line 1, column 8" },
    { "copy t from stdin", "expected the COPY source in quotes at line 1, "
      "column 13" },
    { "copy t from 's3://bkt/it''s' iam_role default",
      "the COPY source must be non-empty, without quotes, backslashes or "
      "control characters" },
    { "copy t from 's3://bkt/k", "unterminated string literal starting at "
      "line 1, column 13" },
    { "copy t from 's3://bkt/k' credentials 'aws_access_key_id=x'",
      "expected IAM_ROLE at line 1, column 26" },
    { "copy t from 's3://bkt/k' iam_role arn",
      "expected the IAM role in quotes or default at line 1, column 35" },
    { "copy t from 's3://bkt/k' iam_role default format parquet",
      "unsupported COPY format at line 1, column 50" },
    { "copy t from 's3://bkt/k' iam_role default json",
      "JSON needs 'auto' (or 'auto ignorecase') at line 1, column 47" },
    { "copy t from 's3://bkt/k' iam_role default json 's3://bkt/paths'",
      "JSON needs 'auto' (or 'auto ignorecase') at line 1, column 48" },
    { "copy t from 's3://bkt/k' iam_role default csv csv",
      "repeated COPY option at line 1, column 47" },
    { "copy t from 's3://bkt/k' iam_role default gzip zstd",
      "repeated COPY option at line 1, column 48" },
    { "copy t from 's3://bkt/k' iam_role default maxerror 1 maxerror 2",
      "repeated COPY option at line 1, column 54" },
    { "copy t from 's3://bkt/k' iam_role default maxerror 100001",
      "MAXERROR needs a whole number from 0 to 100000 at line 1, column 52" },
    { "copy t from 's3://bkt/k' iam_role default maxerror 99999999999999999"
      "9999", "MAXERROR needs a whole number from 0 to 100000 at line 1, "
      "column 52" },
    { "copy t from 's3://bkt/k' iam_role default maxerror 1.5",
      "MAXERROR needs a whole number from 0 to 100000 at line 1, column 52" },
    { "copy t from 's3://bkt/k' iam_role default maxerror -1",
      "MAXERROR needs a whole number from 0 to 100000 at line 1, column 52" },
    { "copy t from 's3://bkt/k' iam_role default ignoreheader 2",
      "IGNOREHEADER needs 0 or 1 at line 1, column 56" },
    { "copy t from 's3://bkt/k' iam_role default delimiter ',,'",
      "DELIMITER needs one character in quotes at line 1, column 53" },
    { "copy t from 's3://bkt/k' iam_role default delimiter '''",
      "unterminated string literal starting at line 1, column 53" },
    { "copy t from 's3://bkt/k' iam_role default delimiter ''''",
      "DELIMITER needs one character in quotes at line 1, column 53" },
    { "copy t from 's3://bkt/k' iam_role default delimiter '\"'",
      "the COPY delimiter must be one printable ASCII character other than "
      "' \\ \" (or a tab)" },
    { "copy t from 's3://bkt/k' iam_role default json 'auto' "
      "delimiter ','", "DELIMITER and IGNOREHEADER apply only to CSV COPY" },
    { "copy t from 's3://bkt/k' iam_role default; drop table sales",
      "unexpected text after the COPY statement at line 1, column 44" },
    { "copy t from 's3://bkt/k' iam_role default explicit_ids",
      "unsupported COPY option at line 1, column 43" },
    { "copy t from 's3://bkt/k' iam_role default /* open",
      "unterminated comment starting at line 1, column 43" },
};


START_TEST(test_copy_parse_errors)
{
    const copy_parse_bad_t  *b;
    spectra_err_t            err;
    spectra_sql_copy_t       v;

    b = &copy_parse_bad[_i];
    err.message[0] = '\0';

    ck_assert_msg(spectra_sql_copy_parse(S(b->sql), &v, &err) != OK, "%s",
                  b->sql);
    ck_assert_str_eq(err.message, b->message);
}
END_TEST


static Suite *
copy_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("copy");

    tc = tcase_create("build");
    tcase_add_test(tc, test_copy_build);
    tcase_add_test(tc, test_copy_build_limits);
    tcase_add_loop_test(tc, test_copy_bad_fields, 0, NCASES(copy_bad));
    tcase_add_test(tc, test_copy_bad_options);
    suite_add_tcase(s, tc);

    tc = tcase_create("parse");
    tcase_add_test(tc, test_copy_round_trip);
    tcase_add_test(tc, test_copy_parse_variants);
    tcase_add_loop_test(tc, test_copy_parse_errors, 0,
                        NCASES(copy_parse_bad));
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(copy_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
