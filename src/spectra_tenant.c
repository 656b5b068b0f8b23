/*
 * Tenant context values: identifiers and permissions.
 */

#include "spectra_tenant.h"

#include <string.h>


static int spectra_ident_chars(const u_char *p, size_t len);


static int
spectra_ident_chars(const u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > SPECTRA_IDENT_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')
              || p[i] == '_'))
        {
            return 0;
        }
    }

    return 1;
}


int
spectra_tenant_id_valid(const u_char *p, size_t len)
{
    return spectra_ident_chars(p, len);
}


int
spectra_role_valid(const u_char *p, size_t len)
{
    if (!spectra_ident_chars(p, len)) {
        return 0;
    }

    return (p[0] >= 'a' && p[0] <= 'z') || p[0] == '_';
}


int
spectra_perm_add(const u_char *p, size_t len, unsigned *perms)
{
    if (len == 5 && memcmp(p, "query", 5) == 0) {
        *perms |= SPECTRA_PERM_QUERY;
        return 0;
    }

    if (len == 4 && memcmp(p, "bulk", 4) == 0) {
        *perms |= SPECTRA_PERM_BULK;
        return 0;
    }

    if (len == 5 && memcmp(p, "admin", 5) == 0) {
        *perms |= SPECTRA_PERM_ADMIN;
        return 0;
    }

    return -1;
}


int
spectra_perms_parse(const u_char *p, size_t len, const char *seps,
    int strict, unsigned *perms)
{
    const u_char  *last, *start;

    last = p + len;

    while (p < last) {
        while (p < last && strchr(seps, *p) != NULL && *p != '\0') {
            p++;
        }

        start = p;

        while (p < last && (strchr(seps, *p) == NULL || *p == '\0')) {
            p++;
        }

        if (p == start) {
            continue;
        }

        if (spectra_perm_add(start, p - start, perms) != 0 && strict) {
            return -1;
        }
    }

    return 0;
}
