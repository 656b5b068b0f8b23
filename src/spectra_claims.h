/*
 * JWT claims to the tenant context, without nginx: which claim carries
 * which field (configurable names), and what each may hold.
 *
 * Guarantees: on SPECTRA_CLAIMS_OK tenant_id is a valid tenant id and
 * db_user (and db_group, when given) a valid role name
 * (spectra_tenant.h); db_user defaults to the prefix and the tenant id.
 * permissions is a space-separated string (an OAuth scope) or an array of
 * strings; "query", "bulk" and "admin" count, other words are ignored.
 * Anything else is SPECTRA_CLAIMS_REFUSED with the reason the auth log
 * line gives (never a claim's value).
 */

#ifndef SPECTRA_CLAIMS_H
#define SPECTRA_CLAIMS_H

#include <jansson.h>

#include "spectra_core.h"


#define SPECTRA_CLAIMS_OK        0
#define SPECTRA_CLAIMS_REFUSED  -1
#define SPECTRA_CLAIMS_NOMEM    -2


typedef struct {
    const char               *tenant_id;      /* claim names, NUL ended */
    const char               *db_user;
    const char               *db_group;
    const char               *permissions;
    spectra_str_t             db_user_prefix;
} spectra_claims_names_t;


typedef struct {
    spectra_str_t             tenant_id;      /* into the payload, or */
    spectra_str_t             db_user;        /* the pool for a default */
    spectra_str_t             db_group;       /* data NULL: none */
    unsigned                  permissions;    /* SPECTRA_PERM_* */
} spectra_claims_t;


int spectra_claims_tenant(json_t *payload, const spectra_claims_names_t *names,
    const spectra_pool_t *pool, spectra_claims_t *out, const char **reason);

/* Room for an integer claim's text in spectra_claims_value(). */
#define SPECTRA_CLAIMS_NUMBER_LEN  21

/*
 * The text of a claim for $spectra_claim_NAME: a string as it is, an
 * integer in decimal (into buf, SPECTRA_CLAIMS_NUMBER_LEN bytes), true or
 * false. Returns 0, or -1 when the claim is absent or of another type.
 */
int spectra_claims_value(json_t *payload, const u_char *name, size_t len,
    u_char *buf, spectra_str_t *out);

/* The "exp" claim (the verifier checked it is a number), 0 if absent. */
double spectra_claims_expires(json_t *payload);

#endif /* SPECTRA_CLAIMS_H */
