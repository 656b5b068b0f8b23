/*
 * JWT claims to the tenant context (spectra_claims.h).
 */

#include <string.h>

#include "spectra_claims.h"
#include "spectra_tenant.h"


static int spectra_claims_role(json_t *payload, const char *claim,
    spectra_str_t *value, const char **reason);


int
spectra_claims_tenant(json_t *payload, const spectra_claims_names_t *names,
    const spectra_pool_t *pool, spectra_claims_t *out, const char **reason)
{
    size_t    i, len;
    u_char   *p;
    json_t   *v, *item;
    unsigned  perms;

    memset(out, 0, sizeof(spectra_claims_t));

    v = json_object_get(payload, names->tenant_id);

    if (!json_is_string(v)) {
        *reason = "no tenant id claim";
        return SPECTRA_CLAIMS_REFUSED;
    }

    out->tenant_id.data = (u_char *) json_string_value(v);
    out->tenant_id.len = json_string_length(v);

    if (!spectra_tenant_id_valid(out->tenant_id.data, out->tenant_id.len)) {
        *reason = "tenant id is not an identifier";
        return SPECTRA_CLAIMS_REFUSED;
    }

    if (spectra_claims_role(payload, names->db_user, &out->db_user, reason)
        != SPECTRA_CLAIMS_OK
        || spectra_claims_role(payload, names->db_group, &out->db_group,
                               reason)
           != SPECTRA_CLAIMS_OK)
    {
        return SPECTRA_CLAIMS_REFUSED;
    }

    perms = 0;
    v = json_object_get(payload, names->permissions);

    if (json_is_string(v)) {
        spectra_perms_parse((const u_char *) json_string_value(v),
                            json_string_length(v), " ", 0, &perms);

    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            if (!json_is_string(item)) {
                *reason = "permissions claim malformed";
                return SPECTRA_CLAIMS_REFUSED;
            }

            (void) spectra_perm_add((const u_char *) json_string_value(item),
                                    json_string_length(item), &perms);
        }

    } else if (v != NULL) {
        *reason = "permissions claim malformed";
        return SPECTRA_CLAIMS_REFUSED;
    }

    out->permissions = perms;

    if (out->db_user.data != NULL) {
        return SPECTRA_CLAIMS_OK;
    }

    /* db_user defaults to the prefix and the tenant id */

    len = names->db_user_prefix.len + out->tenant_id.len;

    p = spectra_palloc(pool, len + 1);
    if (p == NULL) {
        *reason = "out of memory";
        return SPECTRA_CLAIMS_NOMEM;
    }

    memcpy(p, names->db_user_prefix.data, names->db_user_prefix.len);
    memcpy(p + names->db_user_prefix.len, out->tenant_id.data,
           out->tenant_id.len);
    p[len] = '\0';

    if (!spectra_role_valid(p, len)) {
        *reason = "the derived db_user is not a role name";
        return SPECTRA_CLAIMS_REFUSED;
    }

    out->db_user.data = p;
    out->db_user.len = len;

    return SPECTRA_CLAIMS_OK;
}


/* An optional role claim: absent is fine, present must be a role name. */

static int
spectra_claims_role(json_t *payload, const char *claim, spectra_str_t *value,
    const char **reason)
{
    json_t  *v;

    v = json_object_get(payload, claim);

    if (v == NULL) {
        value->data = NULL;
        value->len = 0;
        return SPECTRA_CLAIMS_OK;
    }

    if (!json_is_string(v)
        || !spectra_role_valid((const u_char *) json_string_value(v),
                               json_string_length(v)))
    {
        *reason = "db_user or db_group is not a role name";
        return SPECTRA_CLAIMS_REFUSED;
    }

    value->data = (u_char *) json_string_value(v);
    value->len = json_string_length(v);

    return SPECTRA_CLAIMS_OK;
}
