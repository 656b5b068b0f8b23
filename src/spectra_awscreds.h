/*
 * AWS credentials as the standard providers hand them out, parsed without
 * the network: the shared credentials and config files (INI profiles),
 * STS AssumeRoleWithWebIdentity's XML answer, and the JSON of the
 * container credentials endpoint and the instance metadata service.
 *
 * Guarantees: a result always passes spectra_awscreds_check() (an access
 * key id of 16..128 bytes of [A-Z0-9], a secret of 1..128 bytes and a
 * session token of at most SPECTRA_AWSCREDS_TOKEN_MAX bytes of base64
 * characters, so that no value can break a header or a log line); no
 * error message contains any part of a secret or a token; XML with a
 * DOCTYPE or an entity declaration is refused before any expansion.
 */

#ifndef SPECTRA_AWSCREDS_H
#define SPECTRA_AWSCREDS_H

#include "spectra_core.h"


#define SPECTRA_AWSCREDS_KEY_MAX     128
#define SPECTRA_AWSCREDS_SECRET_MAX  128
#define SPECTRA_AWSCREDS_TOKEN_MAX   4096


typedef struct {
    char                      access_key_id[SPECTRA_AWSCREDS_KEY_MAX + 1];
    char                      secret_access_key[SPECTRA_AWSCREDS_SECRET_MAX
                                                + 1];
    char                      session_token[SPECTRA_AWSCREDS_TOKEN_MAX + 1];
    int64_t                   expiration;   /* epoch seconds; 0: never */
} spectra_awscreds_t;


/*
 * The profile's aws_access_key_id, aws_secret_access_key and (optional)
 * aws_session_token in a shared credentials file ("[name]" sections) or,
 * with config_file, a config file ("[default]", "[profile name]").
 * Returns 0; 1 when the file has no such profile or the profile has no
 * keys (the next provider is asked); -1 with err for a malformed profile.
 */
int spectra_awscreds_ini(const u_char *p, size_t len, const char *profile,
    int config_file, spectra_awscreds_t *creds, spectra_err_t *err);

/*
 * An AssumeRoleWithWebIdentityResponse's Credentials (all four members
 * required).  An ErrorResponse gives -1 with its Code in the message.
 */
int spectra_awscreds_sts(const u_char *p, size_t len,
    spectra_awscreds_t *creds, spectra_err_t *err);

/*
 * The container endpoint's or IMDS's JSON: AccessKeyId, SecretAccessKey,
 * Token, Expiration (all required); a "Code" other than "Success" is an
 * error.
 */
int spectra_awscreds_json(const u_char *p, size_t len,
    spectra_awscreds_t *creds, spectra_err_t *err);

/* ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS[.fff]Z" to epoch seconds; -1. */
int64_t spectra_awscreds_time(const char *s, size_t len);

/* 0 when the values have the shapes above; -1 with err otherwise. */
int spectra_awscreds_check(const spectra_awscreds_t *creds,
    spectra_err_t *err);

/*
 * When to replace credentials fetched at now that expire at expiration
 * (0: never; then in a second, to look at the files again): margin
 * seconds before, or half the remaining lifetime if that comes sooner,
 * and never before now + 1.
 */
int64_t spectra_awscreds_next(int64_t now, int64_t expiration,
    int64_t margin);

/* The wait before the next try after failures in a row: 1, 2, 4 .. 60 s. */
int64_t spectra_awscreds_backoff(unsigned failures);

/* Wipes the secret and the token. */
void spectra_awscreds_clear(spectra_awscreds_t *creds);


#endif /* SPECTRA_AWSCREDS_H */
