/*
 * Results cursors (spectra_cursor.h): a position in a Data API result,
 * sealed with AES-256-GCM and bound to the job, tenant and user.
 */

#include "spectra_cursor.h"
#include "spectra_jwt.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>


#define SPECTRA_CURSOR_VERSION    1
#define SPECTRA_CURSOR_NONCE_LEN  12
#define SPECTRA_CURSOR_TAG_LEN    16
#define SPECTRA_CURSOR_PLAIN_LEN  16      /* offset, skip */

/* the binding's label: a key used for something else opens nothing */
#define SPECTRA_CURSOR_LABEL      "spectra results cursor v1"


static int spectra_cursor_aad(EVP_CIPHER_CTX *ctx, u_char version,
    const spectra_str_t *bind, size_t nbind);
static void spectra_cursor_put64(u_char *p, uint64_t v);
static uint64_t spectra_cursor_get64(const u_char *p);


int
spectra_cursor_key(u_char key[SPECTRA_CURSOR_KEY_LEN], const u_char *secret,
    size_t len)
{
    int          ok;
    unsigned     n;
    EVP_MD_CTX  *md;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return SPECTRA_CURSOR_ERROR;
    }

    n = 0;

    ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL)
         && EVP_DigestUpdate(md, SPECTRA_CURSOR_LABEL,
                             sizeof(SPECTRA_CURSOR_LABEL))
         && EVP_DigestUpdate(md, secret, len)
         && EVP_DigestFinal_ex(md, key, &n)
         && n == SPECTRA_CURSOR_KEY_LEN;

    EVP_MD_CTX_free(md);

    return ok ? SPECTRA_CURSOR_OK : SPECTRA_CURSOR_ERROR;
}


/*
 * The additional data: the version, then every binding string with its
 * length in front, so that ("ab", "c") and ("a", "bc") differ.
 */

static int
spectra_cursor_aad(EVP_CIPHER_CTX *ctx, u_char version,
    const spectra_str_t *bind, size_t nbind)
{
    int     n;
    size_t  i;
    u_char  len[4];

    if (!EVP_CipherUpdate(ctx, NULL, &n,
                          (const u_char *) SPECTRA_CURSOR_LABEL,
                          sizeof(SPECTRA_CURSOR_LABEL))
        || !EVP_CipherUpdate(ctx, NULL, &n, &version, 1))
    {
        return SPECTRA_CURSOR_ERROR;
    }

    for (i = 0; i < nbind; i++) {
        if (bind[i].len > 0x7fffffff) {
            return SPECTRA_CURSOR_ERROR;
        }

        len[0] = (u_char) (bind[i].len >> 24);
        len[1] = (u_char) (bind[i].len >> 16);
        len[2] = (u_char) (bind[i].len >> 8);
        len[3] = (u_char) bind[i].len;

        if (!EVP_CipherUpdate(ctx, NULL, &n, len, 4)
            || (bind[i].len
                && !EVP_CipherUpdate(ctx, NULL, &n, bind[i].data,
                                     (int) bind[i].len)))
        {
            return SPECTRA_CURSOR_ERROR;
        }
    }

    return SPECTRA_CURSOR_OK;
}


int
spectra_cursor_seal(u_char *dst, size_t *len,
    const u_char key[SPECTRA_CURSOR_KEY_LEN], const spectra_str_t *bind,
    size_t nbind, const spectra_cursor_t *c, spectra_err_t *err)
{
    int              n, rc;
    size_t           raw_len;
    u_char          *p;
    u_char           raw[SPECTRA_CURSOR_OVERHEAD + SPECTRA_CURSOR_TOKEN_MAX];
    u_char           plain[SPECTRA_CURSOR_PLAIN_LEN];
    EVP_CIPHER_CTX  *ctx;

    if (c->token.len > SPECTRA_CURSOR_TOKEN_MAX) {
        return spectra_err_set(err, SPECTRA_CURSOR_INVALID, SPECTRA_POS_NONE,
                               "the data API's NextToken has %zu bytes, more "
                               "than the %d a cursor carries", c->token.len,
                               SPECTRA_CURSOR_TOKEN_MAX);
    }

    if (c->skip > c->offset) {
        return spectra_err_set(err, SPECTRA_CURSOR_INVALID, SPECTRA_POS_NONE,
                               "a cursor cannot skip more rows than lie "
                               "before it");
    }

    p = raw;
    *p++ = SPECTRA_CURSOR_VERSION;

    if (RAND_bytes(p, SPECTRA_CURSOR_NONCE_LEN) != 1) {
        return spectra_err_set(err, SPECTRA_CURSOR_ERROR, SPECTRA_POS_NONE,
                               "RAND_bytes failed");
    }

    spectra_cursor_put64(plain, c->offset);
    spectra_cursor_put64(plain + 8, c->skip);

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return spectra_err_set(err, SPECTRA_CURSOR_ERROR, SPECTRA_POS_NONE,
                               "out of memory");
    }

    rc = SPECTRA_CURSOR_ERROR;

    if (!EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, p)
        || spectra_cursor_aad(ctx, SPECTRA_CURSOR_VERSION, bind, nbind)
           != SPECTRA_CURSOR_OK)
    {
        goto done;
    }

    p += SPECTRA_CURSOR_NONCE_LEN;

    if (!EVP_EncryptUpdate(ctx, p, &n, plain, sizeof(plain))) {
        goto done;
    }

    p += n;

    if (c->token.len) {
        if (!EVP_EncryptUpdate(ctx, p, &n, c->token.data, (int) c->token.len))
        {
            goto done;
        }

        p += n;
    }

    if (!EVP_EncryptFinal_ex(ctx, p, &n)) {
        goto done;
    }

    p += n;

    if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
                             SPECTRA_CURSOR_TAG_LEN, p))
    {
        goto done;
    }

    p += SPECTRA_CURSOR_TAG_LEN;
    raw_len = (size_t) (p - raw);

    *len = spectra_base64url_encode(raw, raw_len, dst);
    rc = SPECTRA_CURSOR_OK;

done:

    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(plain, sizeof(plain));

    if (rc != SPECTRA_CURSOR_OK) {
        return spectra_err_set(err, rc, SPECTRA_POS_NONE,
                               "the cursor could not be sealed");
    }

    return rc;
}


int
spectra_cursor_open(const u_char *src, size_t len,
    const u_char key[SPECTRA_CURSOR_KEY_LEN], const spectra_str_t *bind,
    size_t nbind, const spectra_pool_t *pool, spectra_cursor_t *c,
    spectra_err_t *err)
{
    int              n, rc, ok;
    size_t           raw_len, body, tlen;
    u_char          *token;
    const u_char    *nonce, *cipher, *tag;
    u_char           raw[SPECTRA_CURSOR_OVERHEAD + SPECTRA_CURSOR_TOKEN_MAX];
    u_char           plain[SPECTRA_CURSOR_PLAIN_LEN
                           + SPECTRA_CURSOR_TOKEN_MAX];
    EVP_CIPHER_CTX  *ctx;

    memset(c, 0, sizeof(spectra_cursor_t));

    /* the length first: the decoder then never writes past raw */
    if (len < spectra_cursor_len(0) || len > SPECTRA_CURSOR_MAX_LEN
        || spectra_base64url_decode(src, len, raw, &raw_len) != 0
        || raw_len < SPECTRA_CURSOR_OVERHEAD
        || raw[0] != SPECTRA_CURSOR_VERSION)
    {
        return spectra_err_set(err, SPECTRA_CURSOR_INVALID, SPECTRA_POS_NONE,
                               "invalid cursor");
    }

    nonce = raw + 1;
    cipher = nonce + SPECTRA_CURSOR_NONCE_LEN;
    body = raw_len - SPECTRA_CURSOR_OVERHEAD + SPECTRA_CURSOR_PLAIN_LEN;
    tag = cipher + body;

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return spectra_err_set(err, SPECTRA_CURSOR_ERROR, SPECTRA_POS_NONE,
                               "out of memory");
    }

    rc = SPECTRA_CURSOR_ERROR;
    ok = 0;

    if (!EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce)
        || spectra_cursor_aad(ctx, raw[0], bind, nbind) != SPECTRA_CURSOR_OK
        || !EVP_DecryptUpdate(ctx, plain, &n, cipher, (int) body)
        || (size_t) n != body
        || !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
                                SPECTRA_CURSOR_TAG_LEN, (void *) tag))
    {
        goto done;
    }

    /* the tag: another key, binding or byte fails here */
    rc = SPECTRA_CURSOR_INVALID;

    if (EVP_DecryptFinal_ex(ctx, plain + n, &n) != 1) {
        goto done;
    }

    c->offset = spectra_cursor_get64(plain);
    c->skip = spectra_cursor_get64(plain + 8);

    if (c->skip > c->offset) {
        goto done;
    }

    tlen = body - SPECTRA_CURSOR_PLAIN_LEN;

    token = spectra_palloc(pool, tlen + 1);
    if (token == NULL) {
        rc = SPECTRA_CURSOR_ERROR;
        goto done;
    }

    memcpy(token, plain + SPECTRA_CURSOR_PLAIN_LEN, tlen);
    token[tlen] = '\0';

    c->token.data = token;
    c->token.len = tlen;

    ok = 1;
    rc = SPECTRA_CURSOR_OK;

done:

    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(plain, sizeof(plain));

    if (!ok) {
        memset(c, 0, sizeof(spectra_cursor_t));

        return spectra_err_set(err, rc, SPECTRA_POS_NONE,
                               rc == SPECTRA_CURSOR_INVALID
                               ? "invalid cursor"
                               : "the cursor could not be opened");
    }

    return rc;
}


static void
spectra_cursor_put64(u_char *p, uint64_t v)
{
    int  i;

    for (i = 7; i >= 0; i--) {
        p[i] = (u_char) v;
        v >>= 8;
    }
}


static uint64_t
spectra_cursor_get64(const u_char *p)
{
    int       i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }

    return v;
}
