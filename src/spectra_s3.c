/*
 * S3 object URLs: endpoints, bucket names, presigned object URLs.
 * See spectra_s3.h for what is guaranteed.
 */

#include <stdio.h>
#include <string.h>

#include "spectra_s3.h"


static int spectra_s3_host_char(u_char c);
static int spectra_s3_base_char(u_char c);
static int spectra_s3_is_ipv4(const u_char *p, size_t len);


static int
spectra_s3_host_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.';
}


static int
spectra_s3_base_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~' || c == '/';
}


static int
spectra_s3_is_ipv4(const u_char *p, size_t len)
{
    size_t  i, dots;

    dots = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '.') {
            dots++;

        } else if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }

    return dots == 3;
}


int
spectra_s3_endpoint_parse(const u_char *p, size_t len,
    spectra_s3_endpoint_t *ep, spectra_err_t *err)
{
    const u_char  *end, *host, *host_end, *port, *slash;
    size_t         i, n, default_port;
    unsigned long  num;

    memset(ep, 0, sizeof(*ep));
    end = p + len;

    if (len > SPECTRA_S3_ENDPOINT_MAX) {
        return spectra_err_set(err, SPECTRA_S3_ERROR, SPECTRA_POS_NONE,
                               "the endpoint is longer than %d bytes",
                               SPECTRA_S3_ENDPOINT_MAX);
    }

    if (len > 7 && memcmp(p, "http://", 7) == 0) {
        ep->scheme.data = (u_char *) p;
        ep->scheme.len = 4;
        host = p + 7;
        default_port = 80;

    } else if (len > 8 && memcmp(p, "https://", 8) == 0) {
        ep->scheme.data = (u_char *) p;
        ep->scheme.len = 5;
        host = p + 8;
        default_port = 443;

    } else {
        return spectra_err_set(err, SPECTRA_S3_ERROR, 0,
                               "the endpoint must start with http:// or "
                               "https://");
    }

    slash = memchr(host, '/', (size_t) (end - host));
    if (slash == NULL) {
        slash = end;
    }

    ep->authority.data = (u_char *) host;
    ep->authority.len = (size_t) (slash - host);

    if (memchr(host, '@', ep->authority.len) != NULL) {
        return spectra_err_set(err, SPECTRA_S3_ERROR, (size_t) (host - p),
                               "the endpoint may have only a host and a "
                               "port before its path (no user info)");
    }

    /* the host: [IPv6], or a name or IPv4 address */

    if (host < slash && *host == '[') {
        host_end = memchr(host, ']', (size_t) (slash - host));

        if (host_end == NULL || host_end == host + 1) {
            return spectra_err_set(err, SPECTRA_S3_ERROR,
                                   (size_t) (host - p),
                                   "the endpoint has a malformed IPv6 "
                                   "address");
        }

        for (i = 1; host + i < host_end; i++) {
            u_char  c = host[i];

            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                  || (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
            {
                return spectra_err_set(err, SPECTRA_S3_ERROR,
                                       (size_t) (host + i - p),
                                       "the endpoint has a malformed IPv6 "
                                       "address");
            }
        }

        host_end++;
        ep->ip = 1;

    } else {
        for (host_end = host;
             host_end < slash && spectra_s3_host_char(*host_end);
             host_end++)
        {
            /* void */
        }

        if (host_end == host || host[0] == '.' || host[0] == '-'
            || host_end[-1] == '-')
        {
            return spectra_err_set(err, SPECTRA_S3_ERROR,
                                   (size_t) (host - p),
                                   "the endpoint has no valid host name");
        }

        ep->ip = spectra_s3_is_ipv4(host, (size_t) (host_end - host));
    }

    ep->host = ep->authority;

    if (host_end < slash) {
        if (*host_end != ':' || host_end + 1 == slash) {
            return spectra_err_set(err, SPECTRA_S3_ERROR,
                                   (size_t) (host_end - p),
                                   "the endpoint may have only a host and "
                                   "a port before its path (no user "
                                   "info)");
        }

        num = 0;

        for (port = host_end + 1; port < slash; port++) {
            if (*port < '0' || *port > '9' || num > 65535) {
                break;
            }

            num = num * 10 + (unsigned long) (*port - '0');
        }

        if (port != slash || num == 0 || num > 65535) {
            return spectra_err_set(err, SPECTRA_S3_ERROR,
                                   (size_t) (host_end + 1 - p),
                                   "the endpoint has an invalid port");
        }

        /* botocore signs Host without the scheme's default port */
        if (num == default_port) {
            ep->host.len = (size_t) (host_end - host);
        }
    }

    /* the base path, without its trailing slashes */

    n = (size_t) (end - slash);

    for (i = 0; i < n; i++) {
        if (!spectra_s3_base_char(slash[i])) {
            return spectra_err_set(err, SPECTRA_S3_ERROR,
                                   (size_t) (slash + i - p),
                                   "the endpoint's path may hold only "
                                   "letters, digits, '-', '.', '_', '~' "
                                   "and '/' (no query or fragment)");
        }
    }

    while (n > 0 && slash[n - 1] == '/') {
        n--;
    }

    ep->base.data = (u_char *) slash;
    ep->base.len = n;

    return SPECTRA_S3_OK;
}


int
spectra_s3_bucket_check(const spectra_s3_endpoint_t *ep, const u_char *p,
    size_t len, unsigned path_style, spectra_err_t *err)
{
    size_t  i;
    int     dots;

    if (len < 3 || len > 63) {
        return spectra_err_set(err, SPECTRA_S3_ERROR, SPECTRA_POS_NONE,
                               "a bucket name has 3 to 63 characters");
    }

    dots = 0;

    for (i = 0; i < len; i++) {
        u_char  c = p[i];

        if (c == '.') {
            dots = 1;

            if (i > 0 && p[i - 1] == '.') {
                return spectra_err_set(err, SPECTRA_S3_ERROR, i,
                                       "a bucket name has no \"..\"");
            }

            continue;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
        {
            return spectra_err_set(err, SPECTRA_S3_ERROR, i,
                                   "a bucket name has only lowercase "
                                   "letters, digits, '.' and '-'");
        }
    }

    if (p[0] == '.' || p[0] == '-' || p[len - 1] == '.'
        || p[len - 1] == '-')
    {
        return spectra_err_set(err, SPECTRA_S3_ERROR, SPECTRA_POS_NONE,
                               "a bucket name begins and ends with a letter "
                               "or a digit");
    }

    if (path_style || ep == NULL) {
        return SPECTRA_S3_OK;
    }

    if (ep->ip) {
        return spectra_err_set(err, SPECTRA_S3_ERROR, SPECTRA_POS_NONE,
                               "virtual-hosted style needs an endpoint with "
                               "a host name, not an IP address: use path "
                               "style");
    }

    if (dots && ep->scheme.len == 5) {
        return spectra_err_set(err, SPECTRA_S3_ERROR, SPECTRA_POS_NONE,
                               "a bucket name with dots cannot be "
                               "virtual-hosted over https (no certificate "
                               "matches it): use path style");
    }

    return SPECTRA_S3_OK;
}


size_t
spectra_s3_presign_size(const spectra_s3_endpoint_t *ep,
    const spectra_s3_object_t *obj, const spectra_sigv4_credentials_t *cred)
{
    /*
     * scheme, "://", bucket and '.', authority, base, "/bucket/", the key
     * encoded (3 bytes a byte at most), the fixed parameters, the
     * credential scope and the token encoded, the signature, '\0'
     */

    return ep->scheme.len + 3 + obj->bucket.len + 1 + ep->authority.len
           + ep->base.len + 2 + obj->bucket.len + 3 * obj->key.len
           + 512 + 3 * (cred->access_key.len + cred->region.len)
           + 3 * cred->session_token.len + SPECTRA_SIGV4_HEX_LEN + 1;
}


int
spectra_s3_presign_url(const spectra_s3_endpoint_t *ep,
    const spectra_s3_object_t *obj, const spectra_sigv4_credentials_t *cred,
    u_char *out, size_t size, size_t *len, spectra_err_t *err)
{
    u_char                        path[SPECTRA_S3_ENDPOINT_MAX + 64
                                       + SPECTRA_S3_KEY_MAX];
    u_char                        host[SPECTRA_S3_ENDPOINT_MAX + 64];
    size_t                        n, plen, e, qlen;
    spectra_str_t                 h, pa;
    spectra_sigv4_credentials_t   c;

    if (spectra_s3_bucket_check(ep, obj->bucket.data, obj->bucket.len,
                                obj->path_style, err)
        != SPECTRA_S3_OK)
    {
        return SPECTRA_S3_ERROR;
    }

    if (obj->key.len == 0 || obj->key.len > SPECTRA_S3_KEY_MAX
        || memchr(obj->key.data, '\0', obj->key.len) != NULL)
    {
        return spectra_err_set(err, SPECTRA_S3_ERROR, SPECTRA_POS_NONE,
                               "an object key has 1 to %d bytes, no NUL",
                               SPECTRA_S3_KEY_MAX);
    }

    if (obj->expires == 0 || obj->expires > SPECTRA_SIGV4_MAX_EXPIRES) {
        return spectra_err_set(err, SPECTRA_S3_ERROR, SPECTRA_POS_NONE,
                               "a presigned URL expires after 1 second to "
                               "7 days");
    }

    if (ep->host.len > SPECTRA_S3_ENDPOINT_MAX) {
        return spectra_err_set(err, SPECTRA_S3_ERROR, SPECTRA_POS_NONE,
                               "the endpoint is too long");
    }

    /* the decoded path that is signed, and the Host that is */

    plen = 0;
    memcpy(path, ep->base.data, ep->base.len);
    plen += ep->base.len;
    path[plen++] = '/';

    if (obj->path_style) {
        memcpy(path + plen, obj->bucket.data, obj->bucket.len);
        plen += obj->bucket.len;
        path[plen++] = '/';
        memcpy(host, ep->host.data, ep->host.len);
        h.len = ep->host.len;

    } else {
        memcpy(host, obj->bucket.data, obj->bucket.len);
        host[obj->bucket.len] = '.';
        memcpy(host + obj->bucket.len + 1, ep->host.data, ep->host.len);
        h.len = obj->bucket.len + 1 + ep->host.len;
    }

    memcpy(path + plen, obj->key.data, obj->key.len);
    plen += obj->key.len;

    h.data = host;
    pa.data = path;
    pa.len = plen;

    /* the URL: scheme://[bucket.]authority, the path encoded, '?' */

    n = 0;

#define spectra_s3_put(s, l)                                                 \
    do {                                                                     \
        if (n + (l) >= size) {                                               \
            goto small;                                                      \
        }                                                                    \
        memcpy(out + n, s, l);                                               \
        n += (l);                                                            \
    } while (0)

    spectra_s3_put(ep->scheme.data, ep->scheme.len);
    spectra_s3_put("://", 3);

    if (!obj->path_style) {
        spectra_s3_put(obj->bucket.data, obj->bucket.len);
        spectra_s3_put(".", 1);
    }

    spectra_s3_put(ep->authority.data, ep->authority.len);

    e = spectra_sigv4_uri_encode(path, plen, 1, out + n, size - n);
    if (e == 0 || n + e >= size) {
        goto small;
    }

    n += e;
    spectra_s3_put("?", 1);

#undef spectra_s3_put

    c = *cred;
    c.service.data = (u_char *) "s3";
    c.service.len = 2;

    if (spectra_sigv4_presign(&obj->method, &h, &pa, 1, obj->now,
                              obj->expires, &c, out + n, size - n, &qlen)
        != SPECTRA_SIGV4_OK)
    {
        goto small;
    }

    *len = n + qlen;

    return SPECTRA_S3_OK;

small:

    return spectra_err_set(err, SPECTRA_S3_ERROR, SPECTRA_POS_NONE,
                           "the presigned URL does not fit in %zu bytes, or "
                           "the credentials are malformed", size);
}
