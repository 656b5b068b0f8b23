/*
 * The cursor of the pages of GET /v1/jobs/{id}/results: where the next
 * page starts in the Data API's result (the NextToken of the Data API
 * page it starts in, the rows of that page served already, and the rows
 * of the result before it), sealed for the client with AES-256-GCM under
 * the gateway's key:
 * - the client cannot read it: a NextToken is the Data API's, and may
 *   name the statement, which clients never see;
 * - the client cannot change it: any byte changed, added or removed
 *   makes it fail to open (SPECTRA_CURSOR_INVALID);
 * - it is bound to what the caller names when it seals it (the job id,
 *   the tenant, the database user): opened with anything else, the
 *   cursor of another job, tenant or user fails exactly like a forged
 *   one, and says nothing about what it was.
 * Text: base64url without padding of version (1 byte) | nonce (12) |
 * ciphertext of offset (8, big-endian) | skip (8) | token | tag (16).
 */

#ifndef SPECTRA_CURSOR_H
#define SPECTRA_CURSOR_H

#include "spectra_core.h"


#define SPECTRA_CURSOR_OK          0
#define SPECTRA_CURSOR_INVALID    -1     /* not one of ours, for this */
#define SPECTRA_CURSOR_ERROR      -2     /* OpenSSL failed, no memory */

#define SPECTRA_CURSOR_KEY_LEN    32

/* the longest NextToken a cursor carries (its text is then 5.5 KB) */
#define SPECTRA_CURSOR_TOKEN_MAX  4096

/* version, nonce, offset, skip, tag: the bytes of a cursor but its token */
#define SPECTRA_CURSOR_OVERHEAD   (1 + 12 + 8 + 8 + 16)

/* the text length of a cursor whose token has n bytes */
#define spectra_cursor_len(n)     (((SPECTRA_CURSOR_OVERHEAD + (n)) * 4 + 2) \
                                   / 3)

/* the longest cursor text */
#define SPECTRA_CURSOR_MAX_LEN    spectra_cursor_len(SPECTRA_CURSOR_TOKEN_MAX)


typedef struct {
    uint64_t                  offset;     /* rows of the result before
                                             the page */
    uint64_t                  skip;       /* of those, in the Data API
                                             page at token (<= offset) */
    spectra_str_t             token;      /* that page's NextToken; len 0:
                                             the first page */
} spectra_cursor_t;


/*
 * The sealing key from secret material (a key file's bytes, or random
 * bytes): SHA-256 over a label and the material.
 */
int spectra_cursor_key(u_char key[SPECTRA_CURSOR_KEY_LEN],
    const u_char *secret, size_t len);

/*
 * Writes the cursor's text at dst (spectra_cursor_len() bytes, no NUL),
 * bound to the nbind strings of bind; *len is its length.  A token longer
 * than SPECTRA_CURSOR_TOKEN_MAX is SPECTRA_CURSOR_INVALID.
 */
int spectra_cursor_seal(u_char *dst, size_t *len,
    const u_char key[SPECTRA_CURSOR_KEY_LEN], const spectra_str_t *bind,
    size_t nbind, const spectra_cursor_t *c, spectra_err_t *err);

/*
 * Opens a cursor's text with the same binding; the token is copied into
 * the pool (NUL ended).  SPECTRA_CURSOR_INVALID for anything that is not
 * a cursor sealed with this key and binding, without saying which part
 * was wrong.
 */
int spectra_cursor_open(const u_char *src, size_t len,
    const u_char key[SPECTRA_CURSOR_KEY_LEN], const spectra_str_t *bind,
    size_t nbind, const spectra_pool_t *pool, spectra_cursor_t *c,
    spectra_err_t *err);

#endif /* SPECTRA_CURSOR_H */
