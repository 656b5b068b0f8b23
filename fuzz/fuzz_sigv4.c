/*
 * SigV4 verification as spectra-dataapi (header-signed Data API calls)
 * and the local object store (presigned URLs) do it, on requests built
 * from the input's fields: method, path, query, body, then header lines
 * "name: value".  Inputs starting with "S\n" or "P\n" are first signed
 * (sign_json / presign) with the known key, and then must verify: the
 * signer and the verifier agree on every input they both accept.
 */

#include "fuzz.h"
#include "spectra_sigv4.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_AKID    "AKIDEXAMPLEFUZZ00000"
#define FUZZ_SECRET  "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define FUZZ_NOW     1795000000
#define FUZZ_HEADERS 32


static int
fuzz_lookup(void *data, const u_char *key, size_t len, spectra_str_t *secret)
{
    if (len != sizeof(FUZZ_AKID) - 1 || memcmp(key, FUZZ_AKID, len) != 0) {
        return SPECTRA_SIGV4_ERROR;
    }

    secret->data = (u_char *) FUZZ_SECRET;
    secret->len = sizeof(FUZZ_SECRET) - 1;

    return SPECTRA_SIGV4_OK;
}


static int
fuzz_no_token(void *data, const u_char *key, size_t len,
    spectra_str_t *token)
{
    token->data = (u_char *) "";
    token->len = 0;

    return SPECTRA_SIGV4_OK;
}


static void
fuzz_cred(spectra_sigv4_credentials_t *cred, const char *service)
{
    memset(cred, 0, sizeof(spectra_sigv4_credentials_t));
    cred->access_key.data = (u_char *) FUZZ_AKID;
    cred->access_key.len = sizeof(FUZZ_AKID) - 1;
    cred->secret_key.data = (u_char *) FUZZ_SECRET;
    cred->secret_key.len = sizeof(FUZZ_SECRET) - 1;
    cred->region.data = (u_char *) "us-east-1";
    cred->region.len = 9;
    cred->service.data = (u_char *) service;
    cred->service.len = strlen(service);
}


static void
fuzz_verify_init(spectra_sigv4_verify_t *v, const char *service)
{
    memset(v, 0, sizeof(spectra_sigv4_verify_t));
    v->service.data = (u_char *) service;
    v->service.len = strlen(service);
    v->now = FUZZ_NOW;
    v->lookup = fuzz_lookup;
    v->token = fuzz_no_token;
}


/* "name: value" lines into headers */
static size_t
fuzz_headers(const spectra_str_t *text, spectra_sigv4_header_t *h, size_t n)
{
    u_char  *p, *end, *nl, *colon;
    size_t   i;

    i = 0;
    p = text->data;
    end = p + text->len;

    while (p < end && i < n) {
        nl = memchr(p, '\n', (size_t) (end - p));
        if (nl == NULL) {
            nl = end;
        }

        colon = memchr(p, ':', (size_t) (nl - p));
        if (colon != NULL) {
            h[i].name.data = p;
            h[i].name.len = (size_t) (colon - p);
            colon++;
            while (colon < nl && *colon == ' ') {
                colon++;
            }
            h[i].value.data = colon;
            h[i].value.len = (size_t) (nl - colon);
            i++;
        }

        p = (nl < end) ? nl + 1 : end;
    }

    return i;
}


static void
fuzz_raw(fuzz_pool_t *fp, const uint8_t *data, size_t size)
{
    fuzz_fields_t            ff;
    spectra_str_t            hdrs;
    spectra_sigv4_auth_t     a;
    spectra_sigv4_header_t   h[FUZZ_HEADERS];
    spectra_sigv4_verify_t   v;
    spectra_sigv4_refusal_t  refusal;

    fuzz_fields_init(&ff, data, size);
    fuzz_verify_init(&v, (size && (data[0] & 1)) ? "s3" : "redshift-data");

    if (fuzz_field(&ff, fp, &v.method) != 0
        || fuzz_field(&ff, fp, &v.path) != 0
        || fuzz_field(&ff, fp, &v.query) != 0
        || fuzz_field(&ff, fp, &v.body) != 0
        || fuzz_field(&ff, fp, &hdrs) != 0)
    {
        return;
    }

    v.headers = h;
    v.nheaders = fuzz_headers(&hdrs, h, FUZZ_HEADERS);
    v.s3 = (v.service.len == 2);

    if (spectra_sigv4_verify(&v, &a, &refusal) != SPECTRA_SIGV4_OK
        && (refusal.status != 400 && refusal.status != 403))
    {
        abort();
    }

    if (spectra_sigv4_verify_presigned(&v, &a, &refusal) != SPECTRA_SIGV4_OK
        && (refusal.status != 400 && refusal.status != 403))
    {
        abort();
    }
}


/* a header value sent as is: printable ASCII, no spaces, not empty */
static int
fuzz_plain(const spectra_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] <= ' ' || s->data[i] >= 0x7f) {
            return 0;
        }
    }

    return s->len > 0;
}


/* host, target, body: signed as the module signs, then verified */
static void
fuzz_signed(fuzz_pool_t *fp, const uint8_t *data, size_t size)
{
    size_t                        len;
    u_char                        amz_date[16], auth[1024];
    fuzz_fields_t                 ff;
    spectra_sigv4_json_t          in;
    spectra_sigv4_auth_t          a;
    spectra_sigv4_header_t        h[5];
    spectra_sigv4_verify_t        v;
    spectra_sigv4_refusal_t       refusal;
    spectra_sigv4_credentials_t   cred;

    fuzz_fields_init(&ff, data, size);
    memset(&in, 0, sizeof(spectra_sigv4_json_t));

    if (fuzz_field(&ff, fp, &in.host) != 0
        || fuzz_field(&ff, fp, &in.target) != 0
        || fuzz_field(&ff, fp, &in.body) != 0)
    {
        return;
    }

    in.now = FUZZ_NOW;
    fuzz_cred(&cred, "redshift-data");

    if (spectra_sigv4_sign_json(&in, &cred, amz_date, auth, sizeof(auth),
                                &len)
        != SPECTRA_SIGV4_OK)
    {
        return;
    }

    /* headers with values that are not kept as sent cannot verify */
    if (memchr(in.host.data, '\n', in.host.len) != NULL
        || memchr(in.target.data, '\n', in.target.len) != NULL)
    {
        return;
    }

    h[0].name = (spectra_str_t) spectra_string("Host");
    h[0].value = in.host;
    h[1].name = (spectra_str_t) spectra_string("Content-Type");
    h[1].value = (spectra_str_t) spectra_string(
                                       SPECTRA_SIGV4_JSON_CONTENT_TYPE);
    h[2].name = (spectra_str_t) spectra_string("X-Amz-Target");
    h[2].value = in.target;
    h[3].name = (spectra_str_t) spectra_string("X-Amz-Date");
    h[3].value.data = amz_date;
    h[3].value.len = 16;
    h[4].name = (spectra_str_t) spectra_string("Authorization");
    h[4].value.data = auth;
    h[4].value.len = len;

    fuzz_verify_init(&v, "redshift-data");
    v.method = (spectra_str_t) spectra_string("POST");
    v.path = (spectra_str_t) spectra_string("/");
    v.headers = h;
    v.nheaders = 5;
    v.body = in.body;

    if (spectra_sigv4_verify(&v, &a, &refusal) != SPECTRA_SIGV4_OK
        && fuzz_plain(&in.host) && fuzz_plain(&in.target))
    {
        /* what the signer writes, the verifier must take */
        abort();
    }
}


/* a path, presigned for GET with the known key, then verified */
static void
fuzz_presigned(fuzz_pool_t *fp, const uint8_t *data, size_t size)
{
    size_t                        len;
    u_char                        q[SPECTRA_SIGV4_QUERY_SCRATCH];
    fuzz_fields_t                 ff;
    spectra_str_t                 path, method, host;
    spectra_sigv4_auth_t          a;
    spectra_sigv4_header_t        h;
    spectra_sigv4_verify_t        v;
    spectra_sigv4_refusal_t       refusal;
    spectra_sigv4_credentials_t   cred;

    fuzz_fields_init(&ff, data, size);

    if (fuzz_field(&ff, fp, &path) != 0) {
        return;
    }

    method = (spectra_str_t) spectra_string("GET");
    host = (spectra_str_t) spectra_string("127.0.0.1:9000");
    fuzz_cred(&cred, "s3");

    if (spectra_sigv4_presign(&method, &host, &path, 1, FUZZ_NOW, 3600, &cred,
                              q, sizeof(q), &len)
        != SPECTRA_SIGV4_OK)
    {
        return;
    }

    h.name = (spectra_str_t) spectra_string("Host");
    h.value = host;

    fuzz_verify_init(&v, "s3");
    v.method = method;
    v.path = path;
    v.query.data = q;
    v.query.len = len;
    v.headers = &h;
    v.nheaders = 1;
    v.s3 = 1;
    v.region = (spectra_str_t) spectra_string("us-east-1");

    if (spectra_sigv4_verify_presigned(&v, &a, &refusal) != SPECTRA_SIGV4_OK) {
        /* what the signer writes, the verifier must take */
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_pool_t  fp;

    fuzz_pool_init(&fp);

    if (size >= 2 && data[1] == '\n' && data[0] == 'S') {
        fuzz_signed(&fp, data + 2, size - 2);

    } else if (size >= 2 && data[1] == '\n' && data[0] == 'P') {
        fuzz_presigned(&fp, data + 2, size - 2);

    } else {
        fuzz_raw(&fp, data, size);
    }

    fuzz_pool_free(&fp);

    return 0;
}
