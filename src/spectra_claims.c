/*
 * JWT claims to the tenant context (spectra_claims.h).
 */

#include <stdio.h>
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


int
spectra_claims_value(json_t *payload, const u_char *name, size_t len,
    u_char *buf, spectra_str_t *out)
{
    int      n;
    json_t  *v;

    v = json_object_getn(payload, (const char *) name, len);

    if (json_is_string(v)) {
        out->data = (u_char *) json_string_value(v);
        out->len = json_string_length(v);
        return 0;
    }

    if (json_is_integer(v)) {
        n = snprintf((char *) buf, SPECTRA_CLAIMS_NUMBER_LEN, "%lld",
                     (long long) json_integer_value(v));
        out->data = buf;
        out->len = (size_t) n;
        return 0;
    }

    if (json_is_boolean(v)) {
        out->data = (u_char *) (json_is_true(v) ? "true" : "false");
        out->len = json_is_true(v) ? 4 : 5;
        return 0;
    }

    return -1;
}


double
spectra_claims_expires(json_t *payload)
{
    return json_number_value(json_object_get(payload, "exp"));
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
