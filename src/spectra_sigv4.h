/*
 * AWS Signature Version 4, nginx-free: shared by the nginx module (signing
 * Data API calls, presigning download URLs) and spectra-dataapi (verifying).
 *
 * Guarantees:
 * - signing follows the AWS SigV4 rules: the canonical request (method,
 *   URI-encoded path - twice for every service but S3 -, sorted and
 *   re-encoded query, lowercased sorted headers with trimmed values, signed
 *   header list, payload hash) is hashed, never stored whole; the key is the
 *   HMAC-SHA256 chain "AWS4"+secret / date / region / service /
 *   "aws4_request";
 * - verification parses the Authorization header (or the X-Amz-* query of a
 *   presigned URL), checks the credential scope (terminator, service, date),
 *   the clock skew (15 minutes) or the expiry, looks the secret up through
 *   the caller's callback, recomputes the signature and compares it in
 *   constant time; failures come back as AWS-like refusals (HTTP
 *   status, __type, and the core's error value with the message) that
 *   never contain a secret or a signature;
 * - every output goes into memory the caller provides; no globals, no
 *   allocation apart from OpenSSL's digest context.
 */

#ifndef SPECTRA_SIGV4_H
#define SPECTRA_SIGV4_H

#include <time.h>

#include "spectra_core.h"

#define SPECTRA_SIGV4_OK            0
#define SPECTRA_SIGV4_ERROR        -1

#define SPECTRA_SIGV4_HEX_LEN       64      /* hex SHA-256 / signature */
#define SPECTRA_SIGV4_KEY_LEN       32      /* raw signing key */
#define SPECTRA_SIGV4_DATE_LEN      16      /* 20150830T123600Z */
#define SPECTRA_SIGV4_MAX_SKEW      900     /* seconds, as AWS */
#define SPECTRA_SIGV4_MAX_EXPIRES   604800  /* 7 days, as S3 */
#define SPECTRA_SIGV4_MAX_HEADERS   32      /* signed headers */
#define SPECTRA_SIGV4_MAX_PARAMS    64      /* query parameters */
#define SPECTRA_SIGV4_QUERY_SCRATCH 8192    /* re-encoded query bytes */
#define SPECTRA_SIGV4_TOKEN_MAX     4096    /* decoded session token */

#define SPECTRA_SIGV4_UNSIGNED_PAYLOAD  "UNSIGNED-PAYLOAD"
#define SPECTRA_SIGV4_JSON_CONTENT_TYPE "application/x-amz-json-1.1"


typedef struct {
    spectra_str_t        name;
    spectra_str_t        value;
} spectra_sigv4_header_t;


typedef struct {
    spectra_str_t        access_key;
    spectra_str_t        secret_key;
    spectra_str_t        session_token;   /* len 0: no session token */
    spectra_str_t        region;
    spectra_str_t        service;
} spectra_sigv4_credentials_t;


/* A request to sign: every header given here is signed. */
typedef struct {
    spectra_str_t                  method;
    spectra_str_t                  path;     /* decoded; empty means "/" */
    spectra_str_t                  query;    /* as sent, without '?' */
    const spectra_sigv4_header_t  *headers;
    size_t                         nheaders;
    spectra_str_t                  payload_hash; /* hex or UNSIGNED-PAYLOAD */
    unsigned                       s3;       /* 1: encode the path once */
} spectra_sigv4_request_t;


/* An AWS JSON 1.1 POST to sign (the Data API calls of the module). */
typedef struct {
    spectra_str_t        host;          /* Host header, with :port if any */
    spectra_str_t        target;        /* RedshiftData.ExecuteStatement */
    spectra_str_t        content_type;  /* len 0: application/x-amz-json-1.1 */
    spectra_str_t        body;
    time_t               now;
} spectra_sigv4_json_t;


/* What a verified (or partly parsed) Authorization said. */
typedef struct {
    spectra_str_t        access_key;
    spectra_str_t        date;           /* scope date, YYYYMMDD */
    spectra_str_t        region;
    spectra_str_t        service;
    spectra_str_t        signed_headers; /* "content-type;host;..." */
    spectra_str_t        signature;      /* never log this */
    spectra_str_t        amz_date;       /* X-Amz-Date value */
    time_t               expires;        /* presigned: absolute expiry */
    u_char               credential[256]; /* presigned: decoded scope */
} spectra_sigv4_auth_t;


/*
 * A refusal as AWS words it: the HTTP status and the __type of the answer
 * with the core's error value (code SPECTRA_SIGV4_ERROR, AWS's message,
 * no position).
 */
typedef struct {
    int                  status;         /* HTTP status: 400 or 403 */
    const char          *type;           /* AWS __type, e.g.
                                            InvalidSignatureException */
    spectra_err_t        err;
} spectra_sigv4_refusal_t;


/*
 * Finds the secret for an access key id. Returns SPECTRA_SIGV4_OK and sets
 * *secret (memory owned by the caller, valid during the call), or
 * SPECTRA_SIGV4_ERROR when the key is unknown.
 */
typedef int (*spectra_sigv4_lookup_pt)(void *data, const u_char *key,
    size_t len, spectra_str_t *secret);


/* An incoming request to verify. */
typedef struct {
    spectra_str_t                  method;
    spectra_str_t                  path;       /* decoded */
    spectra_str_t                  query;      /* as sent, without '?' */
    const spectra_sigv4_header_t  *headers;    /* all request headers */
    size_t                         nheaders;
    spectra_str_t                  body;       /* hashed unless presigned */
    spectra_str_t                  service;    /* required scope service */
    spectra_str_t                  region;     /* required; len 0: any */
    time_t                         now;
    unsigned                       s3;         /* path encoded once */
    spectra_sigv4_lookup_pt        lookup;
    /*
     * presigned URLs: the session token that goes with a key (len 0: it
     * has none); NULL: no key has one, a URL with X-Amz-Security-Token
     * is refused
     */
    spectra_sigv4_lookup_pt        token;
    void                          *lookup_data;  /* of both */
} spectra_sigv4_verify_t;


/* Writes 64 lowercase hex characters of SHA-256(p); no terminating NUL. */
void spectra_sigv4_sha256_hex(const u_char *p, size_t len, u_char *hex);

/* Writes the 16 characters of YYYYMMDDTHHMMSSZ for t (UTC). */
void spectra_sigv4_amz_date(time_t t, u_char *out);

/* Parses YYYYMMDDTHHMMSSZ; SPECTRA_SIGV4_ERROR if malformed. */
int spectra_sigv4_parse_amz_date(const u_char *p, size_t len, time_t *t);

/* The raw 32-byte signing key for date (YYYYMMDD), region and service. */
int spectra_sigv4_signing_key(const spectra_str_t *secret,
    const spectra_str_t *date, const spectra_str_t *region,
    const spectra_str_t *service, u_char *key);

/*
 * Signature (64 hex characters) of req at amz_date (16 characters) with
 * cred; optionally writes the hex SHA-256 of the canonical request into
 * creq_hash (NULL to skip).
 */
int spectra_sigv4_signature(const spectra_sigv4_request_t *req,
    const spectra_sigv4_credentials_t *cred, const u_char *amz_date,
    u_char *sig, u_char *creq_hash);

/*
 * Signs an AWS JSON 1.1 POST / request: writes the Authorization header
 * value into auth (size bytes, NUL-terminated) and the X-Amz-Date value
 * into amz_date (16 characters, no NUL). Signed headers are
 * content-type;host;x-amz-date;x-amz-target, plus x-amz-security-token
 * between the last two when cred has a session token (the caller then
 * sends X-Amz-Security-Token as well).
 */
int spectra_sigv4_sign_json(const spectra_sigv4_json_t *in,
    const spectra_sigv4_credentials_t *cred, u_char *amz_date,
    u_char *auth, size_t size, size_t *len);

/*
 * Verifies a header-signed request (Authorization: AWS4-HMAC-SHA256 ...).
 * On success fills auth (pointers into the request) and returns
 * SPECTRA_SIGV4_OK; otherwise fills refusal and returns SPECTRA_SIGV4_ERROR.
 */
int spectra_sigv4_verify(const spectra_sigv4_verify_t *v,
    spectra_sigv4_auth_t *auth, spectra_sigv4_refusal_t *refusal);

/*
 * Writes the query string of a presigned URL for method + host + path
 * into out (size bytes, NUL-terminated); the caller appends it after '?'.
 * Parameters in botocore's order: X-Amz-Algorithm, -Credential, -Date,
 * -Expires, -SignedHeaders (host), -Security-Token when cred has one,
 * -Signature; the payload is UNSIGNED-PAYLOAD. path is decoded, host is
 * the Host header the client will send (":port" unless the default).
 * expires is in seconds, 1 .. SPECTRA_SIGV4_MAX_EXPIRES.
 * spectra_s3_presign_url() (spectra_s3.h) builds the whole URL.
 */
int spectra_sigv4_presign(const spectra_str_t *method,
    const spectra_str_t *host, const spectra_str_t *path,
    unsigned s3, time_t now, unsigned expires,
    const spectra_sigv4_credentials_t *cred, u_char *out, size_t size,
    size_t *len);

/*
 * Verifies a presigned URL (v->query carries the X-Amz-* parameters, the
 * Host header must be in v->headers). Errors use S3's names:
 * AuthorizationQueryParametersError (400: a parameter missing or
 * malformed, the wrong region or service), AccessDenied "Request has
 * expired" / "Request is not valid yet" (403), InvalidAccessKeyId (403:
 * unknown key, or a key with a session token used without it),
 * InvalidToken (400: a session token that is not the key's),
 * SignatureDoesNotMatch (403).
 */
int spectra_sigv4_verify_presigned(const spectra_sigv4_verify_t *v,
    spectra_sigv4_auth_t *auth, spectra_sigv4_refusal_t *refusal);

/* URI-encodes src the SigV4 way (keeps A-Za-z0-9-_.~, and '/' if
 * keep_slash); returns the output length, or 0 if size is too small. */
size_t spectra_sigv4_uri_encode(const u_char *src, size_t len,
    unsigned keep_slash, u_char *dst, size_t size);

#endif /* SPECTRA_SIGV4_H */
