/*
 * OpenID discovery's jwks_uri and HTTP freshness lifetimes
 * (spectra_oidc.h).
 */

/* strptime() and timegm(), also where the build defines no feature macro */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ctype.h>
#include <jansson.h>
#include <string.h>

#include "spectra_oidc.h"


static int spectra_oidc_url_ok(const char *s, size_t len, int allow_http);
static int spectra_http_token_eq(const u_char *p, size_t len,
    const char *name);


int
spectra_oidc_jwks_uri(const u_char *p, size_t len,
    const spectra_str_t *issuer, int allow_http, char *uri,
    spectra_err_t *err)
{
    int           rc;
    json_t       *doc, *v;
    size_t        n;
    const char   *s;
    json_error_t  jerr;

    doc = json_loadb((const char *) p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        return spectra_err_set(err, -1, (size_t) jerr.position,
                               "the discovery document is not JSON "
                               "(at byte %d)", jerr.position);
    }

    rc = -1;

    if (!json_is_object(doc)) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "the discovery document is not a JSON object");
        goto done;
    }

    if (issuer != NULL && issuer->data != NULL) {
        v = json_object_get(doc, "issuer");

        if (!json_is_string(v)
            || json_string_length(v) != issuer->len
            || memcmp(json_string_value(v), issuer->data, issuer->len) != 0)
        {
            spectra_err_set(err, -1, SPECTRA_POS_NONE,
                            "the discovery document's \"issuer\" is not "
                            "the configured issuer");
            goto done;
        }
    }

    v = json_object_get(doc, "jwks_uri");

    if (!json_is_string(v)) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "the discovery document has no \"jwks_uri\" string");
        goto done;
    }

    s = json_string_value(v);
    n = json_string_length(v);

    if (n >= SPECTRA_OIDC_URI_MAX || !spectra_oidc_url_ok(s, n, allow_http))
    {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "the discovery document's \"jwks_uri\" is not an "
                        "absolute https URL");
        goto done;
    }

    memcpy(uri, s, n);
    uri[n] = '\0';
    rc = 0;

done:

    json_decref(doc);

    return rc;
}


static int
spectra_oidc_url_ok(const char *s, size_t len, int allow_http)
{
    size_t  i, skip;

    if (len > 8 && strncmp(s, "https://", 8) == 0) {
        skip = 8;

    } else if (allow_http && len > 7 && strncmp(s, "http://", 7) == 0) {
        skip = 7;

    } else {
        return 0;
    }

    /* a host must follow; no userinfo, no spaces or control bytes */
    if (s[skip] == '/' || s[skip] == '@' || s[skip] == ':') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((u_char) s[i] <= 0x20 || (u_char) s[i] >= 0x7f) {
            return 0;
        }
    }

    for (i = skip; i < len && s[i] != '/'; i++) {
        if (s[i] == '@') {
            return 0;
        }
    }

    return 1;
}


int64_t
spectra_http_freshness(const spectra_str_t *cache_control,
    const spectra_str_t *expires, const spectra_str_t *date, time_t now)
{
    int64_t        age;
    size_t         n;
    time_t         exp, base;
    const u_char  *p, *last, *tok, *end;
    int            have;

    if (cache_control != NULL && cache_control->data != NULL) {
        p = cache_control->data;
        last = p + cache_control->len;
        have = 0;
        age = -1;

        while (p < last) {
            while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }

            tok = p;

            while (p < last && *p != ',') {
                p++;
            }

            end = p;

            while (end > tok && (end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }

            n = end - tok;

            if (n == 0) {
                continue;
            }

            if (spectra_http_token_eq(tok, n, "no-store")
                || spectra_http_token_eq(tok, n, "no-cache"))
            {
                return 0;
            }

            if (n > 8 && strncasecmp((const char *) tok, "max-age=", 8) == 0
                && !have)
            {
                tok += 8;

                if (tok < end && *tok == '"' && end[-1] == '"'
                    && end - tok >= 2)
                {
                    tok++;
                    end--;
                }

                if (tok == end) {
                    continue;
                }

                age = 0;

                while (tok < end && isdigit(*tok)) {
                    /* a huge value is as good as "very long" */
                    if (age < 100000000000LL) {
                        age = age * 10 + (*tok - '0');
                    }

                    tok++;
                }

                if (tok != end) {
                    age = -1;
                    continue;
                }

                have = 1;
            }
        }

        if (have) {
            return age;
        }
    }

    if (expires == NULL || expires->data == NULL) {
        return -1;
    }

    exp = spectra_http_date(expires->data, expires->len);

    if (exp == (time_t) -1) {
        /* RFC 9111 5.3: an invalid Expires is in the past */
        return 0;
    }

    base = now;

    if (date != NULL && date->data != NULL) {
        base = spectra_http_date(date->data, date->len);

        if (base == (time_t) -1) {
            base = now;
        }
    }

    return (exp > base) ? (int64_t) (exp - base) : 0;
}


static int
spectra_http_token_eq(const u_char *p, size_t len, const char *name)
{
    return len == strlen(name)
           && strncasecmp((const char *) p, name, len) == 0;
}


time_t
spectra_http_date(const u_char *p, size_t len)
{
    char        buf[64];
    const char *end;
    struct tm   tm;

    if (len != 29) {
        return (time_t) -1;
    }

    memcpy(buf, p, len);
    buf[len] = '\0';

    memset(&tm, 0, sizeof(struct tm));

    end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);

    if (end == NULL || *end != '\0') {
        return (time_t) -1;
    }

    return timegm(&tm);
}
