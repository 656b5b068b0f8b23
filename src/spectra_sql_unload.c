/*
 * Redshift's UNLOAD statement for exports: built around the tenant's
 * query, and read back by spectra-dataapi. UNLOAD is Redshift syntax, and
 * its query literal uses backslash escapes, which PostgreSQL's scanner
 * does not read the same way: so this file has its own small reader for
 * exactly the form spectra_sql.h describes, nothing more (COPY's reader,
 * spectra_sql_copy.c, shares it).
 */

#include <stdio.h>
#include <string.h>

#include "spectra_sql_parser.h"


static u_char *spectra_sql_cpy(u_char *dst, const char *s);
static int spectra_sql_unload_fail(const spectra_sql_reader_t *r,
    spectra_err_t *err, size_t off, const char *what);
static int spectra_sql_unload_string(const spectra_sql_reader_t *r,
    const spectra_sql_utok_t *tok, spectra_str_t *s);
static int spectra_sql_unload_options(spectra_sql_reader_t *r,
    spectra_sql_unload_t *u, spectra_err_t *err);


static u_char *
spectra_sql_cpy(u_char *dst, const char *s)
{
    size_t  n;

    n = strlen(s);
    memcpy(dst, s, n);

    return dst + n;
}


size_t
spectra_sql_unload_escape_len(const u_char *p, size_t len)
{
    size_t  i, n;

    n = len;

    for (i = 0; i < len; i++) {
        if (p[i] == '\'' || p[i] == '\\') {
            n++;
        }
    }

    return n;
}


u_char *
spectra_sql_unload_escape(u_char *dst, const u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] == '\'' || p[i] == '\\') {
            *dst++ = '\\';
        }

        *dst++ = p[i];
    }

    return dst;
}


int
spectra_sql_unload_unescape(const u_char *p, size_t len, u_char *dst,
    size_t *dst_len, size_t *used, spectra_err_t *err)
{
    size_t  i, n;

    if (len == 0 || p[0] != '\'') {
        return spectra_sql_fail(err, SPECTRA_SQL_ERR_INVALID, p, len, 0, NULL,
                                "the UNLOAD query must be a quoted literal");
    }

    n = 0;

    for (i = 1; i < len; i++) {
        if (p[i] == '\\') {
            if (i + 1 < len && (p[i + 1] == '\'' || p[i + 1] == '\\')) {
                dst[n++] = p[++i];
                continue;
            }

            return spectra_sql_fail(err, SPECTRA_SQL_ERR_INVALID, p, len, i,
                                    "only \\' and \\\\ are allowed",
                                    "invalid escape in the UNLOAD query "
                                    "literal");
        }

        if (p[i] == '\'') {
            if (i + 1 < len && p[i + 1] == '\'') {
                dst[n++] = '\'';
                i++;
                continue;
            }

            *dst_len = n;
            *used = i + 1;
            return SPECTRA_SQL_OK;
        }

        dst[n++] = p[i];
    }

    return spectra_sql_fail(err, SPECTRA_SQL_ERR_INVALID, p, len, 0, NULL,
                            "unterminated UNLOAD query literal starting");
}


/* Target and role go between quotes as they are: nothing may end them. */

int
spectra_sql_unload_text_ok(const spectra_str_t *s)
{
    size_t  i;

    if (s->len == 0) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == '\'' || s->data[i] == '\\' || s->data[i] < 0x20
            || s->data[i] == 0x7f)
        {
            return 0;
        }
    }

    return 1;
}


int
spectra_sql_unload_validate(const spectra_sql_unload_t *u,
    spectra_err_t *err)
{
    const char  *msg;
    u_char       d;

    msg = NULL;
    d = u->delimiter;

    if (u->query.len == 0) {
        msg = "the UNLOAD query is empty";

    } else if (!spectra_sql_unload_text_ok(&u->target)) {
        msg = "the UNLOAD target must be non-empty, without quotes, "
              "backslashes or control characters";

    } else if (!spectra_sql_unload_text_ok(&u->iam_role)) {
        msg = "the UNLOAD IAM role must be non-empty, without quotes, "
              "backslashes or control characters";

    } else if ((unsigned) u->format > SPECTRA_SQL_UNLOAD_PARQUET
               || (unsigned) u->compression > SPECTRA_SQL_UNLOAD_ZSTD)
    {
        msg = "unknown UNLOAD format or compression";

    } else if (d != 0 && d != '\t'
               && (d < 0x20 || d > 0x7e || d == '\'' || d == '\\'
                   || d == '"'))
    {
        msg = "the UNLOAD delimiter must be one printable ASCII character "
              "other than ' \\ \" (or a tab)";

    } else if ((u->format == SPECTRA_SQL_UNLOAD_JSON
                || u->format == SPECTRA_SQL_UNLOAD_PARQUET)
               && (u->header || d != 0))
    {
        msg = "HEADER and DELIMITER apply only to CSV and text UNLOAD";

    } else if (u->format == SPECTRA_SQL_UNLOAD_PARQUET
               && u->compression != SPECTRA_SQL_UNLOAD_NONE)
    {
        msg = "PARQUET UNLOAD takes no GZIP or ZSTD";

    } else if (u->manifest_verbose && !u->manifest) {
        msg = "VERBOSE needs MANIFEST";

    } else if (u->max_file_size_mb != 0
               && (u->max_file_size_mb < SPECTRA_SQL_UNLOAD_MIN_MB
                   || u->max_file_size_mb > SPECTRA_SQL_UNLOAD_MAX_MB))
    {
        msg = "MAXFILESIZE must be between 5 MB and 6348 MB";
    }

    if (msg == NULL) {
        return SPECTRA_SQL_OK;
    }

    return spectra_err_set(err, SPECTRA_SQL_ERR_INVALID, SPECTRA_POS_NONE,
                           "%s", msg);
}


static const char  *spectra_sql_unload_formats[] = {
    "", " FORMAT CSV", " FORMAT JSON", " FORMAT PARQUET"
};

static const char  *spectra_sql_unload_compressions[] = {
    "", " GZIP", " ZSTD"
};


size_t
spectra_sql_unload_len(const spectra_sql_unload_t *u)
{
    char                 num[24];
    size_t  n;

    if (spectra_sql_unload_validate(u, NULL) != SPECTRA_SQL_OK) {
        return 0;
    }

    n = sizeof("UNLOAD ('") - 1
        + spectra_sql_unload_escape_len(u->query.data, u->query.len)
        + sizeof("') TO '") - 1 + u->target.len
        + sizeof("' IAM_ROLE ") - 1;

    if (u->iam_role.len == 7 && memcmp(u->iam_role.data, "default", 7) == 0)
    {
        n += 7;

    } else {
        n += u->iam_role.len + 2;
    }

    n += strlen(spectra_sql_unload_formats[u->format])
         + strlen(spectra_sql_unload_compressions[u->compression]);

    if (u->header) {
        n += sizeof(" HEADER") - 1;
    }

    if (u->delimiter) {
        n += sizeof(" DELIMITER AS 'c'") - 1;
    }

    if (u->manifest) {
        n += sizeof(" MANIFEST") - 1;
    }

    if (u->manifest_verbose) {
        n += sizeof(" VERBOSE") - 1;
    }

    if (u->parallel_off) {
        n += sizeof(" PARALLEL OFF") - 1;
    }

    if (u->max_file_size_mb) {
        n += sizeof(" MAXFILESIZE  MB") - 1
             + (size_t) snprintf(num, sizeof(num), "%llu",
                                 (unsigned long long) u->max_file_size_mb);
    }

    return n;
}


u_char *
spectra_sql_unload(u_char *dst, const spectra_sql_unload_t *u)
{
    char  num[24];

    dst = spectra_sql_cpy(dst, "UNLOAD ('");
    dst = spectra_sql_unload_escape(dst, u->query.data, u->query.len);
    dst = spectra_sql_cpy(dst, "') TO '");
    memcpy(dst, u->target.data, u->target.len);
    dst += u->target.len;
    dst = spectra_sql_cpy(dst, "' IAM_ROLE ");

    if (u->iam_role.len == 7 && memcmp(u->iam_role.data, "default", 7) == 0)
    {
        dst = spectra_sql_cpy(dst, "default");

    } else {
        *dst++ = '\'';
        memcpy(dst, u->iam_role.data, u->iam_role.len);
        dst += u->iam_role.len;
        *dst++ = '\'';
    }

    dst = spectra_sql_cpy(dst, spectra_sql_unload_formats[u->format]);

    if (u->header) {
        dst = spectra_sql_cpy(dst, " HEADER");
    }

    if (u->delimiter) {
        dst = spectra_sql_cpy(dst, " DELIMITER AS '");
        *dst++ = u->delimiter;
        *dst++ = '\'';
    }

    dst = spectra_sql_cpy(dst,
                          spectra_sql_unload_compressions[u->compression]);

    if (u->manifest) {
        dst = spectra_sql_cpy(dst, " MANIFEST");
    }

    if (u->manifest_verbose) {
        dst = spectra_sql_cpy(dst, " VERBOSE");
    }

    if (u->parallel_off) {
        dst = spectra_sql_cpy(dst, " PARALLEL OFF");
    }

    if (u->max_file_size_mb) {
        snprintf(num, sizeof(num), "%llu",
                 (unsigned long long) u->max_file_size_mb);
        dst = spectra_sql_cpy(dst, " MAXFILESIZE ");
        dst = spectra_sql_cpy(dst, num);
        dst = spectra_sql_cpy(dst, " MB");
    }

    return dst;
}



/* White space and comments ("--" to the end of the line, nested blocks). */

int
spectra_sql_read_space(spectra_sql_reader_t *r, spectra_err_t *err)
{
    size_t         i, depth, start;
    const u_char  *p;

    p = r->p;
    i = r->pos;

    while (i < r->len) {
        if (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'
            || p[i] == '\f' || p[i] == '\v')
        {
            i++;
            continue;
        }

        if (p[i] == '-' && i + 1 < r->len && p[i + 1] == '-') {
            while (i < r->len && p[i] != '\n' && p[i] != '\r') {
                i++;
            }

            continue;
        }

        if (!(p[i] == '/' && i + 1 < r->len && p[i + 1] == '*')) {
            break;
        }

        start = i;
        depth = 0;

        do {
            if (i + 1 >= r->len) {
                return spectra_sql_fail(err, SPECTRA_SQL_ERR_SYNTAX, p,
                                        r->len, start, NULL,
                                        "unterminated comment starting");
            }

            if (p[i] == '/' && p[i + 1] == '*') {
                depth++;
                i += 2;

            } else if (p[i] == '*' && p[i + 1] == '/') {
                depth--;
                i += 2;

            } else {
                i++;
            }

        } while (depth > 0);
    }

    r->pos = i;

    return SPECTRA_SQL_OK;
}


int
spectra_sql_read(spectra_sql_reader_t *r, spectra_sql_utok_t *tok,
    spectra_err_t *err)
{
    int            rc;
    size_t         i;
    u_char         c;
    const u_char  *p;

    rc = spectra_sql_read_space(r, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    p = r->p;
    i = r->pos;
    tok->start = i;

    if (i == r->len) {
        tok->type = SPECTRA_SQL_U_EOF;
        tok->len = 0;
        return SPECTRA_SQL_OK;
    }

    c = p[i++];

    if (c == '\'') {
        tok->type = SPECTRA_SQL_U_STRING;

        for ( ;; ) {
            if (i == r->len) {
                return spectra_sql_fail(err, SPECTRA_SQL_ERR_SYNTAX, p,
                                        r->len, tok->start, NULL,
                                        "unterminated string literal "
                                        "starting");
            }

            if (p[i++] == '\'') {
                if (i < r->len && p[i] == '\'') {
                    i++;
                    continue;
                }

                break;
            }
        }

    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
               || c >= 0x80)
    {
        tok->type = SPECTRA_SQL_U_WORD;

        while (i < r->len
               && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
                   || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'
                   || p[i] == '$' || p[i] >= 0x80))
        {
            i++;
        }

    } else if (c >= '0' && c <= '9') {
        tok->type = SPECTRA_SQL_U_NUMBER;

        while (i < r->len && ((p[i] >= '0' && p[i] <= '9') || p[i] == '.')) {
            i++;
        }

    } else {
        tok->type = SPECTRA_SQL_U_PUNCT;
    }

    tok->len = i - tok->start;
    r->pos = i;

    return SPECTRA_SQL_OK;
}


int
spectra_sql_tok_is(const spectra_sql_reader_t *r,
    const spectra_sql_utok_t *tok, const char *word)
{
    size_t  i;
    u_char  c;

    if (tok->type != SPECTRA_SQL_U_WORD || tok->len != strlen(word)) {
        return 0;
    }

    for (i = 0; i < tok->len; i++) {
        c = r->p[tok->start + i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != (u_char) word[i]) {
            return 0;
        }
    }

    return 1;
}


static int
spectra_sql_unload_fail(const spectra_sql_reader_t *r, spectra_err_t *err,
    size_t off, const char *what)
{
    return spectra_sql_fail(err, SPECTRA_SQL_ERR_INVALID, r->p, r->len, off,
                            NULL, "%s", what);
}


/* The contents of a '...' string (checked by validate later). */

static int
spectra_sql_unload_string(const spectra_sql_reader_t *r,
    const spectra_sql_utok_t *tok, spectra_str_t *s)
{
    if (tok->type != SPECTRA_SQL_U_STRING) {
        return 0;
    }

    s->data = (u_char *) r->p + tok->start + 1;
    s->len = tok->len - 2;

    return 1;
}


enum {
    SPECTRA_SQL_OPT_FORMAT = 0x01,
    SPECTRA_SQL_OPT_HEADER = 0x02,
    SPECTRA_SQL_OPT_DELIMITER = 0x04,
    SPECTRA_SQL_OPT_COMPRESSION = 0x08,
    SPECTRA_SQL_OPT_MANIFEST = 0x10,
    SPECTRA_SQL_OPT_PARALLEL = 0x20,
    SPECTRA_SQL_OPT_MAXFILESIZE = 0x40
};


static int
spectra_sql_unload_options(spectra_sql_reader_t *r, spectra_sql_unload_t *u,
    spectra_err_t *err)
{
    int                   rc;
    u_int                 seen, opt;
    size_t                i;
    uint64_t              mb;
    const u_char         *p;
    spectra_sql_utok_t    tok, arg;
    spectra_sql_reader_t  save;

    p = r->p;
    seen = 0;

    for ( ;; ) {
        rc = spectra_sql_read(r, &tok, err);
        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }

        if (tok.type == SPECTRA_SQL_U_PUNCT && p[tok.start] == ';') {
            rc = spectra_sql_read(r, &tok, err);
            if (rc != SPECTRA_SQL_OK) {
                return rc;
            }

            if (tok.type != SPECTRA_SQL_U_EOF) {
                return spectra_sql_unload_fail(r, err, tok.start,
                           "unexpected text after the UNLOAD statement");
            }
        }

        if (tok.type == SPECTRA_SQL_U_EOF) {
            return SPECTRA_SQL_OK;
        }

        rc = SPECTRA_SQL_OK;
        arg = tok;

        if (spectra_sql_tok_is(r, &tok, "format")) {
            opt = SPECTRA_SQL_OPT_FORMAT;
            rc = spectra_sql_read(r, &arg, err);

            if (rc == SPECTRA_SQL_OK && spectra_sql_tok_is(r, &arg, "as")) {
                rc = spectra_sql_read(r, &arg, err);
            }

        } else if (spectra_sql_tok_is(r, &tok, "csv")
                   || spectra_sql_tok_is(r, &tok, "json")
                   || spectra_sql_tok_is(r, &tok, "parquet"))
        {
            opt = SPECTRA_SQL_OPT_FORMAT;

        } else if (spectra_sql_tok_is(r, &tok, "header")) {
            opt = SPECTRA_SQL_OPT_HEADER;
            u->header = 1;

        } else if (spectra_sql_tok_is(r, &tok, "delimiter")) {
            opt = SPECTRA_SQL_OPT_DELIMITER;
            rc = spectra_sql_read(r, &arg, err);

            if (rc == SPECTRA_SQL_OK && spectra_sql_tok_is(r, &arg, "as")) {
                rc = spectra_sql_read(r, &arg, err);
            }

        } else if (spectra_sql_tok_is(r, &tok, "gzip")
                   || spectra_sql_tok_is(r, &tok, "zstd"))
        {
            opt = SPECTRA_SQL_OPT_COMPRESSION;
            u->compression = (p[tok.start] | 0x20) == 'g'
                             ? SPECTRA_SQL_UNLOAD_GZIP
                             : SPECTRA_SQL_UNLOAD_ZSTD;

        } else if (spectra_sql_tok_is(r, &tok, "manifest")) {
            opt = SPECTRA_SQL_OPT_MANIFEST;
            u->manifest = 1;

            /* an optional VERBOSE: anything else is the loop's */
            save = *r;
            rc = spectra_sql_read(r, &arg, NULL);

            if (rc == SPECTRA_SQL_OK && spectra_sql_tok_is(r, &arg, "verbose"))
            {
                u->manifest_verbose = 1;

            } else {
                *r = save;
                rc = SPECTRA_SQL_OK;
            }

        } else if (spectra_sql_tok_is(r, &tok, "parallel")) {
            opt = SPECTRA_SQL_OPT_PARALLEL;
            rc = spectra_sql_read(r, &arg, err);

        } else if (spectra_sql_tok_is(r, &tok, "maxfilesize")) {
            opt = SPECTRA_SQL_OPT_MAXFILESIZE;
            rc = spectra_sql_read(r, &arg, err);

            if (rc == SPECTRA_SQL_OK && spectra_sql_tok_is(r, &arg, "as")) {
                rc = spectra_sql_read(r, &arg, err);
            }

        } else {
            return spectra_sql_unload_fail(r, err, tok.start,
                                           "unsupported UNLOAD option");
        }

        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }

        if (seen & opt) {
            return spectra_sql_unload_fail(r, err, tok.start,
                                           "repeated UNLOAD option");
        }

        seen |= opt;

        if (opt == SPECTRA_SQL_OPT_FORMAT) {
            if (spectra_sql_tok_is(r, &arg, "csv")) {
                u->format = SPECTRA_SQL_UNLOAD_CSV;

            } else if (spectra_sql_tok_is(r, &arg, "json")) {
                u->format = SPECTRA_SQL_UNLOAD_JSON;

            } else if (spectra_sql_tok_is(r, &arg, "parquet")) {
                u->format = SPECTRA_SQL_UNLOAD_PARQUET;

            } else {
                return spectra_sql_unload_fail(r, err, arg.start,
                                               "unsupported UNLOAD format");
            }

        } else if (opt == SPECTRA_SQL_OPT_DELIMITER) {
            if (arg.type != SPECTRA_SQL_U_STRING || arg.len != 3) {
                return spectra_sql_unload_fail(r, err, arg.start,
                           "DELIMITER needs one character in quotes");
            }

            u->delimiter = p[arg.start + 1];

        } else if (opt == SPECTRA_SQL_OPT_PARALLEL) {
            if (spectra_sql_tok_is(r, &arg, "off")
                || spectra_sql_tok_is(r, &arg, "false"))
            {
                u->parallel_off = 1;

            } else if (!spectra_sql_tok_is(r, &arg, "on")
                       && !spectra_sql_tok_is(r, &arg, "true"))
            {
                return spectra_sql_unload_fail(r, err, arg.start,
                                               "PARALLEL needs ON or OFF");
            }

        } else if (opt == SPECTRA_SQL_OPT_MAXFILESIZE) {
            mb = 0;

            for (i = 0; i < arg.len; i++) {
                if (arg.type != SPECTRA_SQL_U_NUMBER
                    || !(p[arg.start + i] >= '0' && p[arg.start + i] <= '9')
                    || mb > SPECTRA_SQL_UNLOAD_MAX_MB)
                {
                    break;
                }

                mb = mb * 10 + (uint64_t) (p[arg.start + i] - '0');
            }

            if (arg.len == 0 || i < arg.len) {
                return spectra_sql_unload_fail(r, err, arg.start,
                           "MAXFILESIZE needs a whole number of MB or GB");
            }

            /* an optional unit; a bad next token is the loop's to report */
            save = *r;
            rc = spectra_sql_read(r, &tok, NULL);

            if (rc == SPECTRA_SQL_OK && spectra_sql_tok_is(r, &tok, "gb")) {
                mb *= 1024;

            } else if (rc != SPECTRA_SQL_OK
                       || !spectra_sql_tok_is(r, &tok, "mb"))
            {
                *r = save;
            }

            u->max_file_size_mb = mb;
        }
    }
}


int
spectra_sql_unload_parse(const u_char *p, size_t len, u_char *query_buf,
    spectra_sql_unload_t *u, spectra_err_t *err)
{
    int                   rc;
    size_t                used;
    spectra_err_t         e;
    spectra_sql_utok_t    tok;
    spectra_sql_reader_t  r;

    memset(u, 0, sizeof(spectra_sql_unload_t));
    r.p = p;
    r.len = len;
    r.pos = 0;

    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (!spectra_sql_tok_is(&r, &tok, "unload")) {
        return spectra_sql_unload_fail(&r, err, tok.start, "expected UNLOAD");
    }

    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (tok.type != SPECTRA_SQL_U_PUNCT || p[tok.start] != '(') {
        return spectra_sql_unload_fail(&r, err, tok.start,
                                       "expected ( after UNLOAD");
    }

    /* the literal uses backslash escapes: skip to it, then read it raw */
    rc = spectra_sql_read_space(&r, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    rc = spectra_sql_unload_unescape(p + r.pos, len - r.pos, query_buf,
                                     &u->query.len, &used, &e);
    if (rc != SPECTRA_SQL_OK) {
        return spectra_sql_unload_fail(&r, err, r.pos + e.position,
                                       "malformed UNLOAD query literal");
    }

    u->query.data = query_buf;
    r.pos += used;

    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (tok.type != SPECTRA_SQL_U_PUNCT || p[tok.start] != ')') {
        return spectra_sql_unload_fail(&r, err, tok.start,
                                       "expected ) after the UNLOAD query");
    }

    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (!spectra_sql_tok_is(&r, &tok, "to")) {
        return spectra_sql_unload_fail(&r, err, tok.start, "expected TO");
    }

    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (!spectra_sql_unload_string(&r, &tok, &u->target)) {
        return spectra_sql_unload_fail(&r, err, tok.start,
                                       "expected the UNLOAD target in quotes");
    }

    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (!spectra_sql_tok_is(&r, &tok, "iam_role")) {
        return spectra_sql_unload_fail(&r, err, tok.start,
                                       "expected IAM_ROLE");
    }

    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (spectra_sql_tok_is(&r, &tok, "default")) {
        u->iam_role.data = (u_char *) "default";
        u->iam_role.len = 7;

    } else if (!spectra_sql_unload_string(&r, &tok, &u->iam_role)) {
        return spectra_sql_unload_fail(&r, err, tok.start,
                                       "expected the IAM role in quotes or "
                                       "default");
    }

    rc = spectra_sql_unload_options(&r, u, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    return spectra_sql_unload_validate(u, err);
}
