/*
 * AWS credential documents (spectra_awscreds.h): INI profiles, STS XML
 * (expat, no DOCTYPE), container and IMDS JSON (jansson).
 */

/* timegm() */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ctype.h>
#include <expat.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "spectra_awscreds.h"


#define SPECTRA_STS_FIELDS  4


typedef struct {
    XML_Parser                parser;
    unsigned                  depth;
    unsigned                  in_creds:1;   /* inside <Credentials> */
    unsigned                  in_error:1;   /* inside <Error> */
    unsigned                  refused:1;
    int                       field;        /* -1: none */
    size_t                    len[SPECTRA_STS_FIELDS + 1];
    char                      text[SPECTRA_STS_FIELDS + 1]
                                  [SPECTRA_AWSCREDS_TOKEN_MAX + 1];
    unsigned                  too_long:1;
} spectra_sts_t;


static const char  *spectra_sts_names[SPECTRA_STS_FIELDS + 1] = {
    "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "Code"
};


static int spectra_awscreds_copy(char *dst, size_t max, const char *src,
    size_t len);
static int spectra_awscreds_b64(const char *s, size_t min, size_t max);
static const u_char *spectra_ini_trim(const u_char *p, const u_char *last,
    const u_char **end);
static int spectra_ini_key(const u_char *k, size_t klen, const char *name);
static void spectra_sts_start(void *data, const XML_Char *name,
    const XML_Char **atts);
static void spectra_sts_end(void *data, const XML_Char *name);
static void spectra_sts_chars(void *data, const XML_Char *s, int len);
static void spectra_sts_doctype(void *data, const XML_Char *name,
    const XML_Char *sysid, const XML_Char *pubid, int has_internal);
static void spectra_sts_entity(void *data, const XML_Char *name,
    int is_param, const XML_Char *value, int value_len, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation);


static int
spectra_awscreds_copy(char *dst, size_t max, const char *src, size_t len)
{
    if (len > max) {
        return -1;
    }

    memcpy(dst, src, len);
    dst[len] = '\0';

    return 0;
}


/* base64 characters only (AWS secrets and tokens), min..max bytes */

static int
spectra_awscreds_b64(const char *s, size_t min, size_t max)
{
    size_t  i, n;

    n = strlen(s);

    if (n < min || n > max) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (!isalnum((u_char) s[i]) && s[i] != '+' && s[i] != '/'
            && s[i] != '=')
        {
            return -1;
        }
    }

    return 0;
}


int
spectra_awscreds_check(const spectra_awscreds_t *creds, spectra_err_t *err)
{
    size_t  i, n;

    n = strlen(creds->access_key_id);

    if (n < 16 || n > SPECTRA_AWSCREDS_KEY_MAX) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "the access key id is not 16 to 128 "
                               "characters");
    }

    for (i = 0; i < n; i++) {
        if (!isupper((u_char) creds->access_key_id[i])
            && !isdigit((u_char) creds->access_key_id[i]))
        {
            return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                                   "the access key id is not of A-Z, 0-9");
        }
    }

    if (spectra_awscreds_b64(creds->secret_access_key, 1,
                             SPECTRA_AWSCREDS_SECRET_MAX)
        != 0)
    {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "the secret access key is not 1 to 128 "
                               "base64 characters");
    }

    if (spectra_awscreds_b64(creds->session_token, 0,
                             SPECTRA_AWSCREDS_TOKEN_MAX)
        != 0)
    {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "the session token is not base64 "
                               "characters of at most 4096 bytes");
    }

    return 0;
}


int64_t
spectra_awscreds_next(int64_t now, int64_t expiration, int64_t margin)
{
    int64_t  ahead, next;

    if (expiration == 0) {
        return now + 1;
    }

    ahead = (expiration - now) / 2;

    if (margin < ahead) {
        ahead = margin;
    }

    next = expiration - ahead;

    return (next > now + 1) ? next : now + 1;
}


int64_t
spectra_awscreds_backoff(unsigned failures)
{
    if (failures == 0) {
        return 0;
    }

    if (failures > 6) {
        return 60;
    }

    return (int64_t) 1 << (failures - 1);
}


void
spectra_awscreds_clear(spectra_awscreds_t *creds)
{
    OPENSSL_cleanse(creds->secret_access_key,
                    sizeof(creds->secret_access_key));
    OPENSSL_cleanse(creds->session_token, sizeof(creds->session_token));
}


int64_t
spectra_awscreds_time(const char *s, size_t len)
{
    size_t      i;
    struct tm   tm;
    int         v[6];
    static const size_t  at[6] = { 0, 5, 8, 11, 14, 17 };
    static const size_t  width[6] = { 4, 2, 2, 2, 2, 2 };

    /* YYYY-MM-DDTHH:MM:SS then Z, or .fraction then Z */
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T'
        || s[13] != ':' || s[16] != ':' || s[len - 1] != 'Z')
    {
        return -1;
    }

    if (len > 20) {
        if (s[19] != '.' || len == 21 || len > 30) {
            return -1;
        }

        for (i = 20; i < len - 1; i++) {
            if (!isdigit((u_char) s[i])) {
                return -1;
            }
        }
    }

    for (i = 0; i < 6; i++) {
        size_t  j;

        v[i] = 0;

        for (j = at[i]; j < at[i] + width[i]; j++) {
            if (!isdigit((u_char) s[j])) {
                return -1;
            }

            v[i] = v[i] * 10 + (s[j] - '0');
        }
    }

    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23
        || v[4] > 59 || v[5] > 60)
    {
        return -1;
    }

    memset(&tm, 0, sizeof(struct tm));
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];

    return (int64_t) timegm(&tm);
}


/* The line [p, last) without its blanks; *end is its end. */

static const u_char *
spectra_ini_trim(const u_char *p, const u_char *last, const u_char **end)
{
    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t'
                        || last[-1] == '\r'))
    {
        last--;
    }

    *end = last;

    return p;
}


static int
spectra_ini_key(const u_char *k, size_t klen, const char *name)
{
    return klen == strlen(name)
           && strncasecmp((const char *) k, name, klen) == 0;
}


int
spectra_awscreds_ini(const u_char *p, size_t len, const char *profile,
    int config_file, spectra_awscreds_t *creds, spectra_err_t *err)
{
    int             in, found, line;
    size_t          plen, n;
    const u_char   *last, *eol, *s, *e, *eq, *k, *ke, *v, *ve;
    char           *dst;
    size_t          max;

    memset(creds, 0, sizeof(spectra_awscreds_t));

    plen = strlen(profile);
    last = p + len;
    in = 0;
    found = 0;
    line = 0;

    if (memchr(p, '\0', len) != NULL) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "the file has a NUL byte");
    }

    while (p < last) {
        line++;
        eol = memchr(p, '\n', last - p);
        if (eol == NULL) {
            eol = last;
        }

        /* an indented line continues a nested value (s3 = ...) */
        if (p < eol && (*p == ' ' || *p == '\t')) {
            p = eol + 1;
            continue;
        }

        s = spectra_ini_trim(p, eol, &e);
        p = eol + 1;

        if (s == e || *s == '#' || *s == ';') {
            continue;
        }

        if (*s == '[') {
            if (e[-1] != ']') {
                return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                                       "line %d: a section without \"]\"",
                                       line);
            }

            s++;
            e--;
            s = spectra_ini_trim(s, e, &e);
            n = e - s;

            if (config_file && !(n == 7 && memcmp(s, "default", 7) == 0)) {
                /* "[profile name]" in the config file */
                if (n > 8 && memcmp(s, "profile", 7) == 0
                    && (s[7] == ' ' || s[7] == '\t'))
                {
                    s = spectra_ini_trim(s + 8, e, &e);
                    n = e - s;

                } else {
                    in = 0;
                    continue;
                }
            }

            in = (n == plen && memcmp(s, profile, plen) == 0);
            found |= in;
            continue;
        }

        if (!in) {
            continue;
        }

        eq = memchr(s, '=', e - s);
        if (eq == NULL) {
            return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                                   "line %d of profile \"%s\": not "
                                   "\"name = value\"", line, profile);
        }

        k = spectra_ini_trim(s, eq, &ke);
        v = spectra_ini_trim(eq + 1, e, &ve);

        if (spectra_ini_key(k, ke - k, "aws_access_key_id")) {
            dst = creds->access_key_id;
            max = SPECTRA_AWSCREDS_KEY_MAX;

        } else if (spectra_ini_key(k, ke - k, "aws_secret_access_key")) {
            dst = creds->secret_access_key;
            max = SPECTRA_AWSCREDS_SECRET_MAX;

        } else if (spectra_ini_key(k, ke - k, "aws_session_token")) {
            dst = creds->session_token;
            max = SPECTRA_AWSCREDS_TOKEN_MAX;

        } else {
            continue;
        }

        if (spectra_awscreds_copy(dst, max, (const char *) v, ve - v) != 0) {
            spectra_awscreds_clear(creds);
            return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                                   "line %d of profile \"%s\": the value "
                                   "is too long", line, profile);
        }
    }

    if (!found || (creds->access_key_id[0] == '\0'
                   && creds->secret_access_key[0] == '\0'))
    {
        spectra_awscreds_clear(creds);
        return 1;
    }

    if (creds->access_key_id[0] == '\0'
        || creds->secret_access_key[0] == '\0')
    {
        spectra_awscreds_clear(creds);
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "profile \"%s\" has only one of "
                               "aws_access_key_id and "
                               "aws_secret_access_key", profile);
    }

    if (spectra_awscreds_check(creds, err) != 0) {
        spectra_awscreds_clear(creds);
        return -1;
    }

    return 0;
}


static void
spectra_sts_start(void *data, const XML_Char *name, const XML_Char **atts)
{
    spectra_sts_t  *sts = data;
    int             i;

    sts->depth++;
    sts->field = -1;

    if (sts->depth > 16) {
        sts->refused = 1;
        XML_StopParser(sts->parser, XML_FALSE);
        return;
    }

    if (strcmp(name, "Credentials") == 0) {
        sts->in_creds = 1;
        return;
    }

    if (strcmp(name, "Error") == 0) {
        sts->in_error = 1;
        return;
    }

    for (i = 0; i < SPECTRA_STS_FIELDS + 1; i++) {
        if (strcmp(name, spectra_sts_names[i]) == 0
            && ((i < SPECTRA_STS_FIELDS && sts->in_creds)
                || (i == SPECTRA_STS_FIELDS && sts->in_error)))
        {
            sts->field = i;
            sts->len[i] = 0;
            return;
        }
    }
}


static void
spectra_sts_end(void *data, const XML_Char *name)
{
    spectra_sts_t  *sts = data;

    sts->depth--;
    sts->field = -1;

    if (strcmp(name, "Credentials") == 0) {
        sts->in_creds = 0;

    } else if (strcmp(name, "Error") == 0) {
        sts->in_error = 0;
    }
}


static void
spectra_sts_chars(void *data, const XML_Char *s, int len)
{
    spectra_sts_t  *sts = data;
    size_t          n;

    if (sts->field < 0 || len <= 0) {
        return;
    }

    n = sts->len[sts->field];

    if (n + (size_t) len > SPECTRA_AWSCREDS_TOKEN_MAX) {
        sts->too_long = 1;
        XML_StopParser(sts->parser, XML_FALSE);
        return;
    }

    memcpy(sts->text[sts->field] + n, s, len);
    sts->len[sts->field] = n + len;
    sts->text[sts->field][n + len] = '\0';
}


static void
spectra_sts_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal)
{
    spectra_sts_t  *sts = data;

    sts->refused = 1;
    XML_StopParser(sts->parser, XML_FALSE);
}


static void
spectra_sts_entity(void *data, const XML_Char *name, int is_param,
    const XML_Char *value, int value_len, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
    spectra_sts_t  *sts = data;

    sts->refused = 1;
    XML_StopParser(sts->parser, XML_FALSE);
}


int
spectra_awscreds_sts(const u_char *p, size_t len, spectra_awscreds_t *creds,
    spectra_err_t *err)
{
    int             rc, ok, i;
    size_t          n;
    char            code[65];
    spectra_sts_t  *sts;

    memset(creds, 0, sizeof(spectra_awscreds_t));

    if (len > 64 * 1024) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "the STS answer is larger than 64 KiB");
    }

    sts = calloc(1, sizeof(spectra_sts_t));
    if (sts == NULL) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE, "out of memory");
    }

    sts->field = -1;
    sts->parser = XML_ParserCreate("UTF-8");

    if (sts->parser == NULL) {
        free(sts);
        return spectra_err_set(err, -1, SPECTRA_POS_NONE, "out of memory");
    }

    XML_SetUserData(sts->parser, sts);
    XML_SetElementHandler(sts->parser, spectra_sts_start, spectra_sts_end);
    XML_SetCharacterDataHandler(sts->parser, spectra_sts_chars);
    XML_SetStartDoctypeDeclHandler(sts->parser, spectra_sts_doctype);
    XML_SetEntityDeclHandler(sts->parser, spectra_sts_entity);

    ok = (XML_Parse(sts->parser, (const char *) p, (int) len, XML_TRUE)
          == XML_STATUS_OK);

    rc = -1;

    if (sts->refused) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "the STS answer has a DOCTYPE, an entity or too "
                        "deep a nesting");

    } else if (sts->too_long) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "an STS answer's value is longer than 4096 bytes");

    } else if (!ok) {
        spectra_err_set(err, -1,
                        (size_t) XML_GetCurrentByteIndex(sts->parser),
                        "the STS answer is not XML (%s)",
                        XML_ErrorString(XML_GetErrorCode(sts->parser)));

    } else if (sts->len[SPECTRA_STS_FIELDS]) {
        /* an ErrorResponse: its Code only, made safe for a log line */
        n = 0;

        for (i = 0; i < (int) sts->len[SPECTRA_STS_FIELDS] && n < 64; i++) {
            if (isalnum((u_char) sts->text[SPECTRA_STS_FIELDS][i])
                || sts->text[SPECTRA_STS_FIELDS][i] == '.')
            {
                code[n++] = sts->text[SPECTRA_STS_FIELDS][i];
            }
        }

        code[n] = '\0';

        spectra_err_set(err, -1, SPECTRA_POS_NONE, "STS refused: %s", code);

    } else if (sts->len[0] == 0 || sts->len[1] == 0 || sts->len[2] == 0
               || sts->len[3] == 0)
    {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "the STS answer lacks AccessKeyId, SecretAccessKey, "
                        "SessionToken or Expiration");

    } else if (spectra_awscreds_copy(creds->access_key_id,
                                     SPECTRA_AWSCREDS_KEY_MAX,
                                     sts->text[0], sts->len[0]) != 0
               || spectra_awscreds_copy(creds->secret_access_key,
                                        SPECTRA_AWSCREDS_SECRET_MAX,
                                        sts->text[1], sts->len[1]) != 0
               || spectra_awscreds_copy(creds->session_token,
                                        SPECTRA_AWSCREDS_TOKEN_MAX,
                                        sts->text[2], sts->len[2]) != 0)
    {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "an STS credential is too long");

    } else {
        creds->expiration = spectra_awscreds_time(sts->text[3], sts->len[3]);

        if (creds->expiration <= 0) {
            spectra_err_set(err, -1, SPECTRA_POS_NONE,
                            "the STS Expiration is not an ISO 8601 UTC "
                            "time");

        } else if (spectra_awscreds_check(creds, err) == 0) {
            rc = 0;
        }
    }

    XML_ParserFree(sts->parser);
    OPENSSL_cleanse(sts, sizeof(spectra_sts_t));
    free(sts);

    if (rc != 0) {
        spectra_awscreds_clear(creds);
    }

    return rc;
}


int
spectra_awscreds_json(const u_char *p, size_t len, spectra_awscreds_t *creds,
    spectra_err_t *err)
{
    int            rc;
    json_t        *root, *v[4], *code;
    json_error_t   jerr;
    static const char  *names[4] = {
        "AccessKeyId", "SecretAccessKey", "Token", "Expiration"
    };
    int            i;

    memset(creds, 0, sizeof(spectra_awscreds_t));

    root = json_loadb((const char *) p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        /* jansson's text may quote the input: only the position */
        return spectra_err_set(err, -1, (size_t) jerr.position,
                               "the credentials are not JSON (at byte %d)",
                               jerr.position);
    }

    rc = -1;

    if (!json_is_object(root)) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "the credentials are not a JSON object");
        goto done;
    }

    code = json_object_get(root, "Code");

    if (code != NULL && !(json_is_string(code)
                          && strcmp(json_string_value(code), "Success") == 0))
    {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "the credentials' Code is not \"Success\"");
        goto done;
    }

    for (i = 0; i < 4; i++) {
        v[i] = json_object_get(root, names[i]);

        if (!json_is_string(v[i]) || json_string_length(v[i]) == 0) {
            spectra_err_set(err, -1, SPECTRA_POS_NONE,
                            "the credentials have no \"%s\" string",
                            names[i]);
            goto done;
        }
    }

    if (spectra_awscreds_copy(creds->access_key_id, SPECTRA_AWSCREDS_KEY_MAX,
                              json_string_value(v[0]),
                              json_string_length(v[0])) != 0
        || spectra_awscreds_copy(creds->secret_access_key,
                                 SPECTRA_AWSCREDS_SECRET_MAX,
                                 json_string_value(v[1]),
                                 json_string_length(v[1])) != 0
        || spectra_awscreds_copy(creds->session_token,
                                 SPECTRA_AWSCREDS_TOKEN_MAX,
                                 json_string_value(v[2]),
                                 json_string_length(v[2])) != 0)
    {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "a credential is too long");
        goto done;
    }

    creds->expiration = spectra_awscreds_time(json_string_value(v[3]),
                                              json_string_length(v[3]));

    if (creds->expiration <= 0) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "the Expiration is not an ISO 8601 UTC time");
        goto done;
    }

    if (spectra_awscreds_check(creds, err) == 0) {
        rc = 0;
    }

done:

    /* the secret's copy inside jansson */
    v[1] = json_is_object(root) ? json_object_get(root, "SecretAccessKey")
                                : NULL;
    if (json_is_string(v[1])) {
        OPENSSL_cleanse((char *) json_string_value(v[1]),
                        json_string_length(v[1]));
    }

    json_decref(root);

    if (rc != 0) {
        spectra_awscreds_clear(creds);
    }

    return rc;
}
