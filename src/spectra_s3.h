/*
 * S3 object URLs, nginx-free: the endpoint of any S3-compatible store
 * (AWS, MinIO, Garage, the local store of nginx) and the presigned URL of
 * one object in it.
 *
 * Guarantees:
 * - an endpoint is "http://" or "https://", a host (name, IPv4 or
 *   [IPv6]) with an optional port, and an optional base path of
 *   unreserved characters and '/'; no user info, query or fragment;
 * - URLs are byte for byte what botocore's generate_presigned_url() makes
 *   for the same input (t/data/sigv4/presign-vectors.json): path style
 *   <endpoint>/<bucket>/<key>, virtual-hosted style
 *   <scheme>://<bucket>.<host>/<key>, the key URI-encoded with '/' and
 *   '~' kept, the port written as configured but signed (Host) without a
 *   default one;
 * - bucket names follow S3's rules (3-63 of a-z 0-9 . -, a letter or
 *   digit at both ends); virtual-hosted style refuses a bucket with dots
 *   on https (no certificate matches) and an IP endpoint, where botocore
 *   would silently fall back to path style;
 * - keys are 1 to 1024 bytes, any bytes but NUL;
 * - every output goes into memory the caller provides.
 */

#ifndef SPECTRA_S3_H
#define SPECTRA_S3_H

#include <time.h>

#include "spectra_core.h"
#include "spectra_sigv4.h"

#define SPECTRA_S3_OK           0
#define SPECTRA_S3_ERROR       -1

#define SPECTRA_S3_KEY_MAX      1024
#define SPECTRA_S3_ENDPOINT_MAX 512
#define SPECTRA_S3_BUCKET_MAX   63


/* Points into the string it was parsed from. */
typedef struct {
    spectra_str_t        scheme;      /* "http" or "https" */
    spectra_str_t        authority;   /* host[:port] as written */
    spectra_str_t        host;        /* signed: without a default port */
    spectra_str_t        base;        /* "" or "/base", no trailing '/' */
    unsigned             ip:1;        /* the host is an IP address */
} spectra_s3_endpoint_t;


typedef struct {
    spectra_str_t        method;      /* GET, HEAD, PUT */
    spectra_str_t        bucket;
    spectra_str_t        key;         /* the object key, not encoded */
    unsigned             path_style;
    time_t               now;
    unsigned             expires;     /* seconds, 1 .. 604800 */
} spectra_s3_object_t;


/* Parses an endpoint URL; on error err says why (for nginx -t). */
int spectra_s3_endpoint_parse(const u_char *p, size_t len,
    spectra_s3_endpoint_t *ep, spectra_err_t *err);

/* Checks a bucket name (and whether it fits virtual-hosted style). */
int spectra_s3_bucket_check(const spectra_s3_endpoint_t *ep,
    const u_char *p, size_t len, unsigned path_style, spectra_err_t *err);

/* An upper bound of the length of a presigned URL, NUL included. */
size_t spectra_s3_presign_size(const spectra_s3_endpoint_t *ep,
    const spectra_s3_object_t *obj, const spectra_sigv4_credentials_t *cred);

/*
 * Writes the presigned URL of obj (credentials cred, service "s3") into
 * out (size bytes, NUL-terminated) and its length into *len.
 */
int spectra_s3_presign_url(const spectra_s3_endpoint_t *ep,
    const spectra_s3_object_t *obj, const spectra_sigv4_credentials_t *cred,
    u_char *out, size_t size, size_t *len, spectra_err_t *err);

#endif /* SPECTRA_S3_H */
