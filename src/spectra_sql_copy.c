/*
 * Redshift's COPY statement for imports: built by the module around the
 * table an import names, and read back by spectra-dataapi. Like UNLOAD it
 * is Redshift syntax, read with the UNLOAD reader (spectra_sql_unload.c)
 * for exactly the form spectra_sql.h describes. Nothing the tenant sends
 * reaches the text but the table name, and that only as a plain
 * identifier in double quotes.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spectra_sql_parser.h"


#define SPECTRA_SQL_COPY_KEY_MAX  1024

#define spectra_sql_copy_alnum(c)                                            \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= '0' && (c) <= '9'))


static u_char *spectra_sql_copy_cpy(u_char *dst, const char *s);
static int spectra_sql_copy_ident_ok(const spectra_str_t *s);
static const char *spectra_sql_copy_source_ok(const spectra_str_t *s);
static int spectra_sql_copy_is_default(const spectra_str_t *role);
static int spectra_sql_copy_fail(const spectra_sql_reader_t *r,
    spectra_err_t *err, size_t off, const char *what);
static int spectra_sql_copy_name(spectra_sql_reader_t *r,
    spectra_str_t *name, spectra_err_t *err);
static int spectra_sql_copy_number(spectra_sql_reader_t *r,
    const spectra_sql_utok_t *tok, unsigned max, unsigned *n,
    spectra_err_t *err);
static int spectra_sql_copy_options(spectra_sql_reader_t *r,
    spectra_sql_copy_t *c, spectra_err_t *err);


static u_char *
spectra_sql_copy_cpy(u_char *dst, const char *s)
{
    size_t  n;

    n = strlen(s);
    memcpy(dst, s, n);

    return dst + n;
}


static int
spectra_sql_copy_ident_ok(const spectra_str_t *s)
{
    size_t  i;
    u_char  c;

    if (s->len == 0 || s->len > SPECTRA_SQL_COPY_IDENT_MAX
        || (s->data[0] >= '0' && s->data[0] <= '9'))
    {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * The rules of UNLOAD's target in spectra-dataapi (a key spectra-dataapi
 * can map onto its export directory one name at a time), for one object:
 * the reason it is refused, or NULL.
 */
static const char *
spectra_sql_copy_source_ok(const spectra_str_t *s)
{
    size_t         len, i, n, blen;
    const u_char  *t, *seg;
    u_char         c;

    if (!spectra_sql_unload_text_ok(s)) {
        return "the COPY source must be non-empty, without quotes, "
               "backslashes or control characters";
    }

    t = s->data;
    len = s->len;

    if (len < 5 || memcmp(t, "s3://", 5) != 0) {
        return "the COPY source must be s3://bucket/key";
    }

    t += 5;
    len -= 5;

    for (blen = 0; blen < len && t[blen] != '/'; blen++) {
        c = t[blen];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'
              || c == '-'))
        {
            break;
        }
    }

    if (blen == len || t[blen] != '/' || blen < 3 || blen > 63
        || !spectra_sql_copy_alnum(t[0])
        || !spectra_sql_copy_alnum(t[blen - 1]))
    {
        return "the COPY source must be s3://bucket/key with a bucket of 3 "
               "to 63 lowercase letters, digits, '.' and '-'";
    }

    if (len - blen - 1 > SPECTRA_SQL_COPY_KEY_MAX) {
        return "the COPY source's key is longer than 1024 bytes";
    }

    seg = t + blen + 1;

    for (i = blen + 1; i <= len; i++) {
        c = i < len ? t[i] : '/';

        if (c == '/') {
            n = (size_t) (t + i - seg);

            if (n == 0) {
                return "the COPY source may not hold an empty name (\"//\" "
                       "or a trailing '/')";
            }

            if ((n == 1 && seg[0] == '.')
                || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            {
                return "the COPY source may not hold a \".\" or \"..\" name";
            }

            if (n > 255) {
                return "the COPY source may not hold a name longer than "
                       "255 bytes";
            }

            seg = t + i + 1;
            continue;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
              || c == '='))
        {
            return "the COPY source may not hold a character other than "
                   "letters, digits and - _ . = /";
        }
    }

    return NULL;
}


static int
spectra_sql_copy_is_default(const spectra_str_t *role)
{
    return role->len == 7 && memcmp(role->data, "default", 7) == 0;
}


int
spectra_sql_copy_validate(const spectra_sql_copy_t *c, spectra_err_t *err)
{
    const char  *msg;
    u_char       d;

    msg = NULL;
    d = c->delimiter;

    if (c->schema.len != 0 && !spectra_sql_copy_ident_ok(&c->schema)) {
        msg = "the COPY schema must be 1 to 127 letters, digits and '_', "
              "not starting with a digit";

    } else if (!spectra_sql_copy_ident_ok(&c->table)) {
        msg = "the COPY table must be 1 to 127 letters, digits and '_', "
              "not starting with a digit";

    } else if ((msg = spectra_sql_copy_source_ok(&c->source)) != NULL) {
        /* msg set */

    } else if (!spectra_sql_unload_text_ok(&c->iam_role)) {
        msg = "the COPY IAM role must be non-empty, without quotes, "
              "backslashes or control characters";

    } else if ((unsigned) c->format > SPECTRA_SQL_COPY_JSON
               || (unsigned) c->compression > SPECTRA_SQL_UNLOAD_ZSTD)
    {
        msg = "unknown COPY format or compression";

    } else if (d != 0 && d != '\t'
               && (d < 0x20 || d > 0x7e || d == '\'' || d == '\\'
                   || d == '"'))
    {
        msg = "the COPY delimiter must be one printable ASCII character "
              "other than ' \\ \" (or a tab)";

    } else if (c->format == SPECTRA_SQL_COPY_JSON
               && (c->ignore_header || d != 0))
    {
        msg = "DELIMITER and IGNOREHEADER apply only to CSV COPY";

    } else if (c->ignore_header > 1) {
        msg = "IGNOREHEADER must be 0 or 1";

    } else if (c->max_errors > SPECTRA_SQL_COPY_MAX_ERRORS) {
        msg = "MAXERROR must be between 0 and 100000";
    }

    if (msg == NULL) {
        return SPECTRA_SQL_OK;
    }

    return spectra_err_set(err, SPECTRA_SQL_ERR_INVALID, SPECTRA_POS_NONE,
                           "%s", msg);
}


static const char  *spectra_sql_copy_compressions[] = {
    "", " GZIP", " ZSTD"
};


size_t
spectra_sql_copy_len(const spectra_sql_copy_t *c)
{
    char    num[24];
    size_t  n;

    if (spectra_sql_copy_validate(c, NULL) != SPECTRA_SQL_OK) {
        return 0;
    }

    n = sizeof("COPY \"\" FROM '' IAM_ROLE ") - 1 + c->table.len
        + c->source.len;

    if (c->schema.len) {
        n += sizeof("\"\".") - 1 + c->schema.len;
    }

    n += spectra_sql_copy_is_default(&c->iam_role) ? 7
                                                   : c->iam_role.len + 2;

    if (c->format == SPECTRA_SQL_COPY_JSON) {
        n += sizeof(" FORMAT AS JSON 'auto'") - 1;

    } else {
        n += sizeof(" FORMAT AS CSV") - 1;

        if (c->delimiter) {
            n += sizeof(" DELIMITER AS 'c'") - 1;
        }

        if (c->ignore_header) {
            n += sizeof(" IGNOREHEADER 1") - 1;
        }
    }

    n += strlen(spectra_sql_copy_compressions[c->compression])
         + sizeof(" MAXERROR ") - 1
         + (size_t) snprintf(num, sizeof(num), "%u", c->max_errors);

    return n;
}


u_char *
spectra_sql_copy(u_char *dst, const spectra_sql_copy_t *c)
{
    char  num[24];

    dst = spectra_sql_copy_cpy(dst, "COPY \"");

    if (c->schema.len) {
        dst = (u_char *) memcpy(dst, c->schema.data, c->schema.len)
              + c->schema.len;
        dst = spectra_sql_copy_cpy(dst, "\".\"");
    }

    dst = (u_char *) memcpy(dst, c->table.data, c->table.len) + c->table.len;
    dst = spectra_sql_copy_cpy(dst, "\" FROM '");
    dst = (u_char *) memcpy(dst, c->source.data, c->source.len)
          + c->source.len;
    dst = spectra_sql_copy_cpy(dst, "' IAM_ROLE ");

    if (spectra_sql_copy_is_default(&c->iam_role)) {
        dst = spectra_sql_copy_cpy(dst, "default");

    } else {
        *dst++ = '\'';
        dst = (u_char *) memcpy(dst, c->iam_role.data, c->iam_role.len)
              + c->iam_role.len;
        *dst++ = '\'';
    }

    if (c->format == SPECTRA_SQL_COPY_JSON) {
        dst = spectra_sql_copy_cpy(dst, " FORMAT AS JSON 'auto'");

    } else {
        dst = spectra_sql_copy_cpy(dst, " FORMAT AS CSV");

        if (c->delimiter) {
            dst = spectra_sql_copy_cpy(dst, " DELIMITER AS '");
            *dst++ = c->delimiter;
            *dst++ = '\'';
        }

        if (c->ignore_header) {
            dst = spectra_sql_copy_cpy(dst, " IGNOREHEADER 1");
        }
    }

    dst = spectra_sql_copy_cpy(dst,
                               spectra_sql_copy_compressions[c->compression]);

    snprintf(num, sizeof(num), "%u", c->max_errors);
    dst = spectra_sql_copy_cpy(dst, " MAXERROR ");

    return spectra_sql_copy_cpy(dst, num);
}


static int
spectra_sql_copy_fail(const spectra_sql_reader_t *r, spectra_err_t *err,
    size_t off, const char *what)
{
    return spectra_sql_fail(err, SPECTRA_SQL_ERR_INVALID, r->p, r->len, off,
                            NULL, "%s", what);
}


/*
 * A name: a word, or "..." without "" inside (a plain identifier is all
 * validate() lets through anyway). The reader reads '"' as punctuation.
 */
static int
spectra_sql_copy_name(spectra_sql_reader_t *r, spectra_str_t *name,
    spectra_err_t *err)
{
    int                 rc;
    size_t              i, start;
    spectra_sql_utok_t  tok;

    rc = spectra_sql_read(r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (tok.type == SPECTRA_SQL_U_WORD) {
        name->data = (u_char *) r->p + tok.start;
        name->len = tok.len;
        return SPECTRA_SQL_OK;
    }

    if (tok.type != SPECTRA_SQL_U_PUNCT || r->p[tok.start] != '"') {
        return spectra_sql_copy_fail(r, err, tok.start,
                                     "expected a table name");
    }

    start = tok.start + 1;

    for (i = start; i < r->len && r->p[i] != '"'; i++) { /* void */ }

    if (i == r->len) {
        return spectra_sql_copy_fail(r, err, tok.start,
                                     "unterminated quoted name starting");
    }

    if (i + 1 < r->len && r->p[i + 1] == '"') {
        return spectra_sql_copy_fail(r, err, tok.start,
                                     "a COPY name must be a plain "
                                     "identifier");
    }

    name->data = (u_char *) r->p + start;
    name->len = i - start;
    r->pos = i + 1;

    return SPECTRA_SQL_OK;
}


static int
spectra_sql_copy_number(spectra_sql_reader_t *r, const spectra_sql_utok_t *tok,
    unsigned max, unsigned *n, spectra_err_t *err)
{
    size_t    i;
    u_char    c;
    uint64_t  v;

    v = 0;

    for (i = 0; tok->type == SPECTRA_SQL_U_NUMBER && i < tok->len; i++) {
        c = r->p[tok->start + i];

        if (c < '0' || c > '9' || v > max) {
            break;
        }

        v = v * 10 + (uint64_t) (c - '0');
    }

    if (tok->type != SPECTRA_SQL_U_NUMBER || i < tok->len || v > max) {
        return spectra_sql_copy_fail(r, err, tok->start,
                                     max == 1 ? "IGNOREHEADER needs 0 or 1"
                                     : "MAXERROR needs a whole number "
                                       "from 0 to 100000");
    }

    *n = (unsigned) v;

    return SPECTRA_SQL_OK;
}


enum {
    SPECTRA_SQL_COPT_FORMAT = 0x01,
    SPECTRA_SQL_COPT_DELIMITER = 0x02,
    SPECTRA_SQL_COPT_HEADER = 0x04,
    SPECTRA_SQL_COPT_COMPRESSION = 0x08,
    SPECTRA_SQL_COPT_MAXERROR = 0x10
};


static int
spectra_sql_copy_options(spectra_sql_reader_t *r, spectra_sql_copy_t *c,
    spectra_err_t *err)
{
    int                 rc;
    u_int               seen, opt;
    size_t              n;
    const u_char       *p, *s;
    spectra_sql_utok_t  tok, arg;

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
                return spectra_sql_copy_fail(r, err, tok.start,
                           "unexpected text after the COPY statement");
            }
        }

        if (tok.type == SPECTRA_SQL_U_EOF) {
            return SPECTRA_SQL_OK;
        }

        rc = SPECTRA_SQL_OK;
        arg = tok;

        if (spectra_sql_tok_is(r, &tok, "format")) {
            opt = SPECTRA_SQL_COPT_FORMAT;
            rc = spectra_sql_read(r, &arg, err);

            if (rc == SPECTRA_SQL_OK && spectra_sql_tok_is(r, &arg, "as")) {
                rc = spectra_sql_read(r, &arg, err);
            }

        } else if (spectra_sql_tok_is(r, &tok, "csv")
                   || spectra_sql_tok_is(r, &tok, "json"))
        {
            opt = SPECTRA_SQL_COPT_FORMAT;

        } else if (spectra_sql_tok_is(r, &tok, "delimiter")
                   || spectra_sql_tok_is(r, &tok, "ignoreheader")
                   || spectra_sql_tok_is(r, &tok, "maxerror"))
        {
            opt = (p[tok.start] | 0x20) == 'd' ? SPECTRA_SQL_COPT_DELIMITER
                  : (p[tok.start] | 0x20) == 'i' ? SPECTRA_SQL_COPT_HEADER
                  : SPECTRA_SQL_COPT_MAXERROR;
            rc = spectra_sql_read(r, &arg, err);

            if (rc == SPECTRA_SQL_OK && spectra_sql_tok_is(r, &arg, "as")) {
                rc = spectra_sql_read(r, &arg, err);
            }

        } else if (spectra_sql_tok_is(r, &tok, "gzip")
                   || spectra_sql_tok_is(r, &tok, "zstd"))
        {
            opt = SPECTRA_SQL_COPT_COMPRESSION;
            c->compression = (p[tok.start] | 0x20) == 'g'
                             ? SPECTRA_SQL_UNLOAD_GZIP
                             : SPECTRA_SQL_UNLOAD_ZSTD;

        } else {
            return spectra_sql_copy_fail(r, err, tok.start,
                                         "unsupported COPY option");
        }

        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }

        if (seen & opt) {
            return spectra_sql_copy_fail(r, err, tok.start,
                                         "repeated COPY option");
        }

        seen |= opt;

        switch (opt) {

        case SPECTRA_SQL_COPT_FORMAT:
            if (spectra_sql_tok_is(r, &arg, "csv")) {
                c->format = SPECTRA_SQL_COPY_CSV;
                break;
            }

            if (!spectra_sql_tok_is(r, &arg, "json")) {
                return spectra_sql_copy_fail(r, err, arg.start,
                                             "unsupported COPY format");
            }

            c->format = SPECTRA_SQL_COPY_JSON;

            rc = spectra_sql_read(r, &arg, err);
            if (rc != SPECTRA_SQL_OK) {
                return rc;
            }

            s = p + arg.start + 1;
            n = arg.len - 2;

            if (arg.type != SPECTRA_SQL_U_STRING
                || !((n == 4 && strncasecmp((const char *) s, "auto", 4) == 0)
                     || (n == 15
                         && strncasecmp((const char *) s, "auto ignorecase",
                                        15) == 0)))
            {
                return spectra_sql_copy_fail(r, err, arg.start,
                           "JSON needs 'auto' (or 'auto ignorecase')");
            }

            break;

        case SPECTRA_SQL_COPT_DELIMITER:
            if (arg.type != SPECTRA_SQL_U_STRING || arg.len != 3) {
                return spectra_sql_copy_fail(r, err, arg.start,
                           "DELIMITER needs one character in quotes");
            }

            c->delimiter = p[arg.start + 1];
            break;

        case SPECTRA_SQL_COPT_HEADER:
            rc = spectra_sql_copy_number(r, &arg, 1, &c->ignore_header, err);
            break;

        case SPECTRA_SQL_COPT_MAXERROR:
            rc = spectra_sql_copy_number(r, &arg, SPECTRA_SQL_COPY_MAX_ERRORS,
                                         &c->max_errors, err);
            break;

        default:
            break;
        }

        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }
    }
}


int
spectra_sql_copy_parse(const u_char *p, size_t len, spectra_sql_copy_t *c,
    spectra_err_t *err)
{
    int                   rc;
    spectra_str_t         name;
    spectra_sql_utok_t    tok;
    spectra_sql_reader_t  r, save;

    memset(c, 0, sizeof(spectra_sql_copy_t));
    c->schema.data = (u_char *) "";
    r.p = p;
    r.len = len;
    r.pos = 0;

    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (!spectra_sql_tok_is(&r, &tok, "copy")) {
        return spectra_sql_copy_fail(&r, err, tok.start, "expected COPY");
    }

    rc = spectra_sql_copy_name(&r, &name, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    save = r;
    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (tok.type == SPECTRA_SQL_U_PUNCT && p[tok.start] == '.') {
        c->schema = name;

        rc = spectra_sql_copy_name(&r, &c->table, err);
        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }

    } else {
        c->table = name;
        r = save;
    }

    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (tok.type == SPECTRA_SQL_U_PUNCT && p[tok.start] == '(') {
        return spectra_sql_copy_fail(&r, err, tok.start,
                                     "a COPY column list is not supported");
    }

    if (!spectra_sql_tok_is(&r, &tok, "from")) {
        return spectra_sql_copy_fail(&r, err, tok.start, "expected FROM");
    }

    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (tok.type != SPECTRA_SQL_U_STRING) {
        return spectra_sql_copy_fail(&r, err, tok.start,
                                     "expected the COPY source in quotes");
    }

    c->source.data = (u_char *) p + tok.start + 1;
    c->source.len = tok.len - 2;

    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (!spectra_sql_tok_is(&r, &tok, "iam_role")) {
        return spectra_sql_copy_fail(&r, err, tok.start,
                                     "expected IAM_ROLE");
    }

    rc = spectra_sql_read(&r, &tok, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (spectra_sql_tok_is(&r, &tok, "default")) {
        c->iam_role.data = (u_char *) "default";
        c->iam_role.len = 7;

    } else if (tok.type == SPECTRA_SQL_U_STRING) {
        c->iam_role.data = (u_char *) p + tok.start + 1;
        c->iam_role.len = tok.len - 2;

    } else {
        return spectra_sql_copy_fail(&r, err, tok.start,
                                     "expected the IAM role in quotes or "
                                     "default");
    }

    rc = spectra_sql_copy_options(&r, c, err);
    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    return spectra_sql_copy_validate(c, err);
}
