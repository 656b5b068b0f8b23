/*
 * API keys: key file parsing, constant-time verification, minting.
 */

#include "spectra_apikey.h"
#include "spectra_jwt.h"
#include "spectra_tenant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>


struct spectra_apikeys_s {
    spectra_apikey_t           *keys;          /* sorted by keyid */
    size_t                      nkeys;
    u_char                     *text;          /* the file, keys point in */
    EVP_MD                     *sha256;        /* fetched once: fast path */
};


static int spectra_apikey_cmp(const void *a, const void *b);
static int spectra_apikey_parse_line(u_char *p, u_char *last,
    spectra_apikey_t *key, const char **msg);
static int spectra_apikey_id_valid(const u_char *p, size_t len);
static int spectra_apikey_hex(const u_char *p, size_t len, u_char *out);
static int spectra_apikey_field(const u_char *name, size_t name_len,
    const u_char *value, size_t value_len, spectra_apikey_t *key,
    const char **msg);


static int
spectra_apikey_cmp(const void *a, const void *b)
{
    const spectra_apikey_t  *ka = a, *kb = b;

    return strcmp(ka->keyid, kb->keyid);
}


static int
spectra_apikey_id_valid(const u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > SPECTRA_APIKEY_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9'))) {
            return 0;
        }
    }

    return 1;
}


static int
spectra_apikey_hex(const u_char *p, size_t len, u_char *out)
{
    size_t  i;
    u_char  c, v;

    if (len != 64) {
        return -1;
    }

    for (i = 0; i < 64; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            v = c - '0';

        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;

        } else {
            return -1;
        }

        if (i % 2 == 0) {
            out[i / 2] = (u_char) (v << 4);

        } else {
            out[i / 2] |= v;
        }
    }

    return 0;
}


static int
spectra_apikey_field(const u_char *name, size_t name_len,
    const u_char *value, size_t value_len, spectra_apikey_t *key,
    const char **msg)
{
    size_t  i;

    if (name_len == 6 && memcmp(name, "tenant", 6) == 0) {
        if (!spectra_tenant_id_valid(value, value_len)) {
            *msg = "tenant is not an identifier ([a-z0-9_], 1..63 bytes)";
            return -1;
        }

        key->tenant_id.data = (u_char *) value;
        key->tenant_id.len = value_len;
        return 0;
    }

    if ((name_len == 7 && memcmp(name, "db_user", 7) == 0)
        || (name_len == 8 && memcmp(name, "db_group", 8) == 0))
    {
        if (!spectra_role_valid(value, value_len)) {
            *msg = "db_user/db_group is not a role name "
                   "([a-z_][a-z0-9_]*, up to 63 bytes)";
            return -1;
        }

        if (name_len == 7) {
            key->db_user.data = (u_char *) value;
            key->db_user.len = value_len;

        } else {
            key->db_group.data = (u_char *) value;
            key->db_group.len = value_len;
        }

        return 0;
    }

    if (name_len == 11 && memcmp(name, "permissions", 11) == 0) {
        if (spectra_perms_parse(value, value_len, ",", 1, &key->permissions)
            != 0)
        {
            *msg = "permissions are not a list of query, bulk, admin";
            return -1;
        }

        return 0;
    }

    if (name_len == 0 || name_len > 63 || value_len > 255) {
        *msg = "an attribute name or value is too long or empty";
        return -1;
    }

    for (i = 0; i < name_len; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
        {
            *msg = "an attribute name is not [a-z0-9_]";
            return -1;
        }
    }

    return 0;
}


/* Parses one non-comment line [p, last); fields point into the line. */

static int
spectra_apikey_parse_line(u_char *p, u_char *last, spectra_apikey_t *key,
    const char **msg)
{
    u_char  *start, *eq, *attrs;
    size_t   n;

    memset(key, 0, sizeof(spectra_apikey_t));

    for (n = 0, attrs = NULL; p < last; n++) {
        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == last) {
            break;
        }

        start = p;

        while (p < last && *p != ' ' && *p != '\t') {
            if (*p < 0x21 || *p > 0x7e) {
                *msg = "a field has a control or non-ASCII byte";
                return -1;
            }

            p++;
        }

        if (n == 0) {
            if (!spectra_apikey_id_valid(start, p - start)) {
                *msg = "the key id is not 1..32 bytes of [a-z0-9]";
                return -1;
            }

            memcpy(key->keyid, start, p - start);
            key->keyid[p - start] = '\0';
            key->keyid_len = p - start;
            continue;
        }

        if (n == 1) {
            if (spectra_apikey_hex(start, p - start, key->hash) != 0) {
                *msg = "the second field is not a lower-case hex SHA-256";
                return -1;
            }

            continue;
        }

        eq = memchr(start, '=', p - start);
        if (eq == NULL) {
            *msg = "a field is not name=value";
            return -1;
        }

        if (spectra_apikey_field(start, eq - start, eq + 1, p - eq - 1, key,
                                 msg)
            != 0)
        {
            return -1;
        }

        if (attrs == NULL) {
            attrs = start;
        }

        key->attrs.data = attrs;
        key->attrs.len = p - attrs;
    }

    if (n < 2) {
        *msg = "a line needs a key id and a SHA-256";
        return -1;
    }

    if (key->tenant_id.data == NULL) {
        *msg = "a line has no tenant=";
        return -1;
    }

    return 0;
}


spectra_apikeys_t *
spectra_apikeys_parse(const u_char *p, size_t len, spectra_err_t *err)
{
    size_t              line, i;
    u_char             *s, *last, *eol;
    const char         *msg;
    spectra_apikey_t   *keys;
    spectra_apikeys_t  *set;

    set = calloc(1, sizeof(spectra_apikeys_t));
    if (set == NULL) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE, "out of memory");
        return NULL;
    }

    set->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    set->text = malloc(len + 1);

    if (set->sha256 == NULL || set->text == NULL) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE, "out of memory");
        goto failed;
    }

    memcpy(set->text, p, len);
    set->text[len] = '\0';

    s = set->text;
    last = s + len;

    for (line = 1; s < last; line++, s = eol + 1) {
        eol = memchr(s, '\n', last - s);
        if (eol == NULL) {
            eol = last;
        }

        if (eol > s && eol[-1] == '\r') {
            eol[-1] = ' ';
        }

        for (i = 0; s + i < eol && (s[i] == ' ' || s[i] == '\t'); i++) {
            /* void */
        }

        if (s + i == eol || s[i] == '#') {
            continue;
        }

        keys = realloc(set->keys, (set->nkeys + 1) * sizeof(spectra_apikey_t));
        if (keys == NULL) {
            spectra_err_set(err, -1, SPECTRA_POS_NONE, "out of memory");
            goto failed;
        }

        set->keys = keys;

        if (spectra_apikey_parse_line(s, eol, &keys[set->nkeys], &msg) != 0) {
            spectra_err_set(err, -1, (size_t) (s - set->text), "line %zu: %s",
                            line, msg);
            goto failed;
        }

        set->nkeys++;
    }

    if (set->nkeys > 1) {
        qsort(set->keys, set->nkeys, sizeof(spectra_apikey_t),
              spectra_apikey_cmp);

        for (i = 1; i < set->nkeys; i++) {
            if (strcmp(set->keys[i - 1].keyid, set->keys[i].keyid) == 0) {
                spectra_err_set(err, -1, SPECTRA_POS_NONE,
                                "the key id \"%s\" appears twice",
                                set->keys[i].keyid);
                goto failed;
            }
        }
    }

    return set;

failed:

    spectra_apikeys_free(set);

    return NULL;
}


void
spectra_apikeys_free(spectra_apikeys_t *keys)
{
    if (keys == NULL) {
        return;
    }

    if (keys->keys != NULL) {
        OPENSSL_cleanse(keys->keys, keys->nkeys * sizeof(spectra_apikey_t));
    }

    EVP_MD_free(keys->sha256);
    free(keys->keys);
    free(keys->text);
    free(keys);
}


size_t
spectra_apikeys_count(const spectra_apikeys_t *keys)
{
    return keys->nkeys;
}


spectra_apikey_rc_t
spectra_apikeys_verify(const spectra_apikeys_t *keys, const u_char *p,
    size_t len, const spectra_apikey_t **key, const char **reason)
{
    size_t             i, id_len, secret_len;
    u_char             digest[EVP_MAX_MD_SIZE];
    unsigned int       dlen;
    const u_char      *id, *secret;
    spectra_apikey_t   probe;
    spectra_apikey_t  *found;

    if (len < sizeof(SPECTRA_APIKEY_PREFIX) - 1
        || memcmp(p, SPECTRA_APIKEY_PREFIX, sizeof(SPECTRA_APIKEY_PREFIX) - 1)
           != 0)
    {
        *reason = "malformed key";
        return SPECTRA_APIKEY_MALFORMED;
    }

    id = p + sizeof(SPECTRA_APIKEY_PREFIX) - 1;

    for (i = 0; id + i < p + len && id[i] != '_'; i++) {
        /* void */
    }

    id_len = i;
    secret = id + id_len + 1;

    if (secret > p + len || !spectra_apikey_id_valid(id, id_len)) {
        *reason = "malformed key";
        return SPECTRA_APIKEY_MALFORMED;
    }

    secret_len = p + len - secret;

    if (secret_len < SPECTRA_APIKEY_SECRET_MIN
        || secret_len > SPECTRA_APIKEY_SECRET_MAX)
    {
        *reason = "malformed key";
        return SPECTRA_APIKEY_MALFORMED;
    }

    for (i = 0; i < secret_len; i++) {
        if (!((secret[i] >= 'a' && secret[i] <= 'z')
              || (secret[i] >= 'A' && secret[i] <= 'Z')
              || (secret[i] >= '0' && secret[i] <= '9')
              || secret[i] == '-' || secret[i] == '_'))
        {
            *reason = "malformed key";
            return SPECTRA_APIKEY_MALFORMED;
        }
    }

    memcpy(probe.keyid, id, id_len);
    probe.keyid[id_len] = '\0';

    found = bsearch(&probe, keys->keys, keys->nkeys, sizeof(spectra_apikey_t),
                    spectra_apikey_cmp);

    if (found == NULL) {
        *reason = "unknown key id";
        return SPECTRA_APIKEY_UNKNOWN;
    }

    if (!EVP_Digest(secret, secret_len, digest, &dlen, keys->sha256, NULL)
        || dlen != 32
        || CRYPTO_memcmp(digest, found->hash, 32) != 0)
    {
        *reason = "wrong secret";
        return SPECTRA_APIKEY_WRONG_SECRET;
    }

    *key = found;
    *reason = "ok";

    return SPECTRA_APIKEY_OK;
}


int
spectra_apikey_attr(const spectra_apikey_t *key, const u_char *name,
    size_t len, spectra_str_t *value)
{
    const u_char  *p, *last, *start, *eq;

    p = key->attrs.data;
    last = p + key->attrs.len;

    while (p != NULL && p < last) {
        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        start = p;

        while (p < last && *p != ' ' && *p != '\t') {
            p++;
        }

        eq = memchr(start, '=', p - start);

        if (eq != NULL && (size_t) (eq - start) == len
            && memcmp(start, name, len) == 0)
        {
            value->data = (u_char *) eq + 1;
            value->len = p - eq - 1;
            return 0;
        }
    }

    return -1;
}


int
spectra_apikey_hash_hex(const u_char *secret, size_t len, char *hex)
{
    size_t        i;
    u_char        digest[EVP_MAX_MD_SIZE];
    unsigned int  dlen;

    static const char  digits[] = "0123456789abcdef";

    if (!EVP_Digest(secret, len, digest, &dlen, EVP_sha256(), NULL)) {
        return -1;
    }

    for (i = 0; i < dlen; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 0x0f];
    }

    hex[2 * dlen] = '\0';

    return 0;
}


int
spectra_apikey_mint(char *key, char *keyid, spectra_str_t *secret)
{
    size_t  i, n;
    u_char  id[6], rnd[32];

    static const char  digits[] = "0123456789abcdef";

    if (RAND_bytes(id, sizeof(id)) != 1 || RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return -1;
    }

    for (i = 0; i < sizeof(id); i++) {
        keyid[2 * i] = digits[id[i] >> 4];
        keyid[2 * i + 1] = digits[id[i] & 0x0f];
    }

    keyid[2 * sizeof(id)] = '\0';

    n = (size_t) sprintf(key, "%s%s_", SPECTRA_APIKEY_PREFIX, keyid);
    secret->data = (u_char *) key + n;
    secret->len = spectra_base64url_encode(rnd, sizeof(rnd),
                                           (u_char *) key + n);
    key[n + secret->len] = '\0';

    OPENSSL_cleanse(rnd, sizeof(rnd));

    return 0;
}
