/*
 * API keys: "spk_<keyid>_<secret>" presented by clients, checked against a
 * key file that holds, per key id, the SHA-256 of the secret and the
 * tenant context.  Secrets are never stored; the digest comparison is
 * constant-time (the key id is an identifier, not a secret).
 *
 * Key file: one key per line, '#' starts a comment line, blank lines are
 * ignored, fields separated by blanks:
 *
 *   <keyid> <sha256-hex-of-secret> tenant=<id> [db_user=<role>]
 *       [db_group=<role>] [permissions=query,bulk,admin] [<name>=<value>]...
 *
 * keyid is 1..32 bytes of [a-z0-9]; the tenant id and roles follow
 * spectra_tenant.h; other name=value attributes (name [a-z0-9_], value
 * without blanks, e.g. tier=gold) are kept for the caller.
 */

#ifndef SPECTRA_APIKEY_H
#define SPECTRA_APIKEY_H

#include "spectra_core.h"


#define SPECTRA_APIKEY_PREFIX       "spk_"
#define SPECTRA_APIKEY_ID_MAX       32
#define SPECTRA_APIKEY_SECRET_MIN   16
#define SPECTRA_APIKEY_SECRET_MAX   128


typedef struct {
    char                        keyid[SPECTRA_APIKEY_ID_MAX + 1];
    size_t                      keyid_len;
    u_char                      hash[32];
    spectra_str_t               tenant_id;
    spectra_str_t               db_user;       /* len 0: not given */
    spectra_str_t               db_group;      /* len 0: not given */
    unsigned                    permissions;   /* SPECTRA_PERM_* */
    spectra_str_t               attrs;         /* all name=value fields */
} spectra_apikey_t;


typedef struct spectra_apikeys_s  spectra_apikeys_t;


typedef enum {
    SPECTRA_APIKEY_OK = 0,
    SPECTRA_APIKEY_MALFORMED,
    SPECTRA_APIKEY_UNKNOWN,
    SPECTRA_APIKEY_WRONG_SECRET
} spectra_apikey_rc_t;


/*
 * Parses a key file's content.  Returns the set, or NULL with err filled
 * (code -1; "line 3: ..." with the position of that line's first byte);
 * an empty file gives an empty set.
 */
spectra_apikeys_t *spectra_apikeys_parse(const u_char *p, size_t len,
    spectra_err_t *err);
void spectra_apikeys_free(spectra_apikeys_t *keys);
size_t spectra_apikeys_count(const spectra_apikeys_t *keys);

/*
 * Checks a presented key; on SPECTRA_APIKEY_OK *key points to its entry
 * (valid as long as the set).  *reason is a short static string.
 */
spectra_apikey_rc_t spectra_apikeys_verify(const spectra_apikeys_t *keys,
    const u_char *p, size_t len, const spectra_apikey_t **key,
    const char **reason);

/*
 * Finds the field name= of the key's line (tenant, permissions and any
 * other attribute); returns 0 and *value, or -1.
 */
int spectra_apikey_attr(const spectra_apikey_t *key, const u_char *name,
    size_t len, spectra_str_t *value);

/* Writes the lower-case hex SHA-256 of the secret (65 bytes with NUL). */
int spectra_apikey_hash_hex(const u_char *secret, size_t len, char *hex);

/*
 * Mints a key: a random 12-hex-digit key id and a random 43-character
 * base64url secret (256 bits).  key must hold 64 bytes; writes the NUL
 * terminated key, and the key id into keyid (SPECTRA_APIKEY_ID_MAX + 1).
 */
int spectra_apikey_mint(char *key, char *keyid, spectra_str_t *secret);

#endif /* SPECTRA_APIKEY_H */
