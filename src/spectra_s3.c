/*
 * S3 object locations and presigned GET URLs (spectra_s3.h), over the
 * SigV4 presigner.
 */

#include <string.h>

#include "spectra_s3.h"


static int spectra_s3_host_char(u_char c);


static int
spectra_s3_host_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.';
}


int
spectra_s3_endpoint_parse(const u_char *p, size_t len,
    spectra_s3_endpoint_t *ep, spectra_err_t *err)
{
    size_t         i, n, port;
    const u_char  *host;

    memset(ep, 0, sizeof(spectra_s3_endpoint_t));

    if (len > 8 && memcmp(p, "https://", 8) == 0) {
        ep->https = 1;
        host = p + 8;
        n = len - 8;

    } else if (len > 7 && memcmp(p, "http://", 7) == 0) {
        host = p + 7;
        n = len - 7;

    } else {
        return spectra_err_set(err, SPECTRA_S3_ERROR, SPECTRA_POS_NONE,
                               "the S3 endpoint must start with http:// or "
                               "https://");
    }

    if (n > 0 && host[n - 1] == '/') {
        n--;
    }

    if (n == 0 || n > SPECTRA_S3_HOST_MAX) {
        return spectra_err_set(err, SPECTRA_S3_ERROR, SPECTRA_POS_NONE,
                               "the S3 endpoint needs a host of at most %d "
                               "characters", SPECTRA_S3_HOST_MAX);
    }

    i = 0;

    if (host[0] == '[') {
        /* an IPv6 literal */
        for (i = 1; i < n && host[i] != ']'; i++) {
            if (!((host[i] >= '0' && host[i] <= '9')
                  || ((host[i] | 0x20) >= 'a' && (host[i] | 0x20) <= 'f')
                  || host[i] == ':' || host[i] == '.'))
            {
                break;
            }
        }

        if (i == n || host[i] != ']' || i == 1) {
            goto bad;
        }

        i++;

    } else {
        while (i < n && spectra_s3_host_char(host[i])) {
            i++;
        }

        if (i == 0 || host[0] == '.' || host[0] == '-'
            || host[i - 1] == '.' || host[i - 1] == '-')
        {
            goto bad;
        }
    }

    if (i < n) {
        if (host[i] != ':' || i + 1 == n) {
            goto bad;
        }

        port = 0;

        for (i++; i < n; i++) {
            if (host[i] < '0' || host[i] > '9' || port > 65535) {
                goto bad;
            }

            port = port * 10 + (size_t) (host[i] - '0');
        }

        if (port == 0 || port > 65535) {
            goto bad;
        }
    }

    ep->host.data = (u_char *) host;
    ep->host.len = n;

    return SPECTRA_S3_OK;

bad:

    return spectra_err_set(err, SPECTRA_S3_ERROR, SPECTRA_POS_NONE,
                           "the S3 endpoint must be http[s]://host[:port] "
                           "without a path, a query or user information");
}


int
spectra_s3_bucket_valid(const u_char *p, size_t len)
{
    size_t  i, dots, digits;

    if (len < 3 || len > SPECTRA_S3_BUCKET_MAX) {
        return 0;
    }

    dots = 0;
    digits = 0;

    for (i = 0; i < len; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            digits++;

        } else if (p[i] == '.') {
            if (i == 0 || p[i - 1] == '.' || p[i - 1] == '-') {
                return 0;
            }

            dots++;

        } else if (p[i] == '-') {
            if (i == 0 || p[i - 1] == '.') {
                return 0;
            }

        } else if (!(p[i] >= 'a' && p[i] <= 'z')) {
            return 0;
        }
    }

    if (p[len - 1] == '.' || p[len - 1] == '-') {
        return 0;
    }

    /* 192.168.5.4 is not a bucket name */
    if (dots == 3 && digits + dots == len) {
        return 0;
    }

    return 1;
}


size_t
spectra_s3_host(const spectra_s3_endpoint_t *ep, const spectra_str_t *bucket,
    u_char *dst)
{
    size_t  n;

    n = 0;

    if (!ep->path_style) {
        memcpy(dst, bucket->data, bucket->len);
        dst[bucket->len] = '.';
        n = bucket->len + 1;
    }

    memcpy(dst + n, ep->host.data, ep->host.len);

    return n + ep->host.len;
}


size_t
spectra_s3_path_len(const spectra_s3_endpoint_t *ep,
    const spectra_str_t *bucket, const spectra_str_t *key)
{
    return 1 + (ep->path_style ? bucket->len + 1 : 0) + key->len;
}


u_char *
spectra_s3_path(u_char *dst, const spectra_s3_endpoint_t *ep,
    const spectra_str_t *bucket, const spectra_str_t *key)
{
    *dst++ = '/';

    if (ep->path_style) {
        memcpy(dst, bucket->data, bucket->len);
        dst += bucket->len;
        *dst++ = '/';
    }

    memcpy(dst, key->data, key->len);

    return dst + key->len;
}


size_t
spectra_s3_presign_url_size(const spectra_s3_endpoint_t *ep,
    const spectra_str_t *bucket, const spectra_str_t *key,
    const spectra_sigv4_credentials_t *cred)
{
    /*
     * scheme, host, the path encoded (3 bytes a byte at most), and the
     * query: its fixed parts, the credential scope and the token encoded
     */
    return sizeof("https://") + SPECTRA_S3_HOST_MAX + SPECTRA_S3_BUCKET_MAX
           + 3 * spectra_s3_path_len(ep, bucket, key)
           + 512 + 3 * (cred->access_key.len + cred->region.len
                        + cred->service.len)
           + 3 * cred->session_token.len;
}


int
spectra_s3_presign_query(const spectra_s3_endpoint_t *ep,
    const spectra_str_t *bucket, const spectra_str_t *key, time_t now,
    unsigned expires, const spectra_sigv4_credentials_t *cred, u_char *out,
    size_t size, size_t *len)
{
    u_char         host[SPECTRA_S3_HOST_MAX + SPECTRA_S3_BUCKET_MAX + 1];
    u_char         path[2048];
    spectra_str_t  h, pa, method = spectra_string("GET");

    if (spectra_s3_path_len(ep, bucket, key) > sizeof(path)) {
        return SPECTRA_S3_ERROR;
    }

    h.data = host;
    h.len = spectra_s3_host(ep, bucket, host);
    pa.data = path;
    pa.len = (size_t) (spectra_s3_path(path, ep, bucket, key) - path);

    if (spectra_sigv4_presign(&method, &h, &pa, 1, now, expires, cred, out,
                              size, len)
        != SPECTRA_SIGV4_OK)
    {
        return SPECTRA_S3_ERROR;
    }

    return SPECTRA_S3_OK;
}


int
spectra_s3_presign_url(const spectra_s3_endpoint_t *ep,
    const spectra_str_t *bucket, const spectra_str_t *key, time_t now,
    unsigned expires, const spectra_sigv4_credentials_t *cred, u_char *out,
    size_t size, size_t *len)
{
    size_t  n, e, q;
    u_char  path[2048];

    if (spectra_s3_path_len(ep, bucket, key) > sizeof(path)
        || size < sizeof("https://") + SPECTRA_S3_HOST_MAX
                  + SPECTRA_S3_BUCKET_MAX + 2)
    {
        return SPECTRA_S3_ERROR;
    }

    n = 0;

    if (ep->https) {
        memcpy(out, "https://", 8);
        n = 8;

    } else {
        memcpy(out, "http://", 7);
        n = 7;
    }

    n += spectra_s3_host(ep, bucket, out + n);

    e = (size_t) (spectra_s3_path(path, ep, bucket, key) - path);
    e = spectra_sigv4_uri_encode(path, e, 1, out + n, size - n);

    if (e == 0 || n + e + 1 >= size) {
        return SPECTRA_S3_ERROR;
    }

    n += e;
    out[n++] = '?';

    if (spectra_s3_presign_query(ep, bucket, key, now, expires, cred,
                                 out + n, size - n, &q)
        != SPECTRA_S3_OK)
    {
        return SPECTRA_S3_ERROR;
    }

    *len = n + q;

    return SPECTRA_S3_OK;
}
