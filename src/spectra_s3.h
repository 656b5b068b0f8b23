/*
 * Where an S3 object is, and its presigned GET URL, for any S3-compatible
 * endpoint (AWS S3, or the local object store nginx serves).
 *
 * Guarantees:
 * - an endpoint is "http://" or "https://", a host (letters, digits, '-',
 *   '.', or an [IPv6] literal) and an optional port, nothing else (no
 *   path, query, user info); anything else is refused with a message;
 * - virtual-hosted style reaches bucket/key at "<bucket>.<host>/<key>",
 *   path style at "<host>/<bucket>/<key>"; the key is never normalised
 *   (no "." or ".." resolution): callers pass keys they built;
 * - a presigned URL is the URL of the object with its path URI-encoded
 *   once (S3's rule: '/' kept) and the query of spectra_sigv4_presign()
 *   for service "s3" with SignedHeaders=host, so S3 and the local store
 *   verify the same bytes botocore would sign.
 */

#ifndef SPECTRA_S3_H
#define SPECTRA_S3_H

#include <time.h>

#include "spectra_core.h"
#include "spectra_sigv4.h"


#define SPECTRA_S3_OK           0
#define SPECTRA_S3_ERROR       -1

#define SPECTRA_S3_HOST_MAX     255
#define SPECTRA_S3_BUCKET_MAX   63


typedef struct {
    unsigned                  https:1;
    unsigned                  path_style:1;
    spectra_str_t             host;         /* host[:port], into the URL */
} spectra_s3_endpoint_t;


/* Parses an endpoint URL; a trailing '/' is allowed. */
int spectra_s3_endpoint_parse(const u_char *p, size_t len,
    spectra_s3_endpoint_t *ep, spectra_err_t *err);

/*
 * S3's bucket naming rules: 3 to 63 characters of a-z 0-9 . -, starting
 * and ending with a letter or a digit, no "..", not an IPv4 address.
 */
int spectra_s3_bucket_valid(const u_char *p, size_t len);

/*
 * The Host an object is reached at (and signed for), without a NUL:
 * at most SPECTRA_S3_HOST_MAX + SPECTRA_S3_BUCKET_MAX + 1 bytes.
 */
size_t spectra_s3_host(const spectra_s3_endpoint_t *ep,
    const spectra_str_t *bucket, u_char *dst);

/* The object's decoded path, "/key" or "/bucket/key"; exact length. */
size_t spectra_s3_path_len(const spectra_s3_endpoint_t *ep,
    const spectra_str_t *bucket, const spectra_str_t *key);
u_char *spectra_s3_path(u_char *dst, const spectra_s3_endpoint_t *ep,
    const spectra_str_t *bucket, const spectra_str_t *key);

/* Room for spectra_s3_presign_url()'s URL, its NUL included. */
size_t spectra_s3_presign_url_size(const spectra_s3_endpoint_t *ep,
    const spectra_str_t *bucket, const spectra_str_t *key,
    const spectra_sigv4_credentials_t *cred);

/*
 * The presigned GET URL of bucket/key ("http[s]://host/path?X-Amz-..."),
 * valid for expires seconds from now (1 .. SPECTRA_SIGV4_MAX_EXPIRES);
 * cred's service must be "s3".  out is NUL-terminated, *len excludes it.
 */
int spectra_s3_presign_url(const spectra_s3_endpoint_t *ep,
    const spectra_str_t *bucket, const spectra_str_t *key, time_t now,
    unsigned expires, const spectra_sigv4_credentials_t *cred, u_char *out,
    size_t size, size_t *len);

/*
 * The query of the presigned GET only (without '?'), as nginx sends it
 * itself to the endpoint; size as for the URL is enough.
 */
int spectra_s3_presign_query(const spectra_s3_endpoint_t *ep,
    const spectra_str_t *bucket, const spectra_str_t *key, time_t now,
    unsigned expires, const spectra_sigv4_credentials_t *cred, u_char *out,
    size_t size, size_t *len);

#endif /* SPECTRA_S3_H */
