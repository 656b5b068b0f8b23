/*
 * Tenant context values: identifier and permission rules shared by JWT and
 * API key authentication.
 *
 * An identifier (tenant id, database user or group) is 1..63 bytes of
 * [a-z0-9_]; a database role name must also start with [a-z_] so that it
 * is a valid unquoted PostgreSQL/Redshift identifier.  Nothing else is
 * accepted: no upper case (folded by the warehouse), no quotes, no dots.
 */

#ifndef SPECTRA_TENANT_H
#define SPECTRA_TENANT_H

#include <stddef.h>
#include <sys/types.h>

#define SPECTRA_IDENT_MAX      63

/* the same bits as NGX_HTTP_SPECTRA_PERM_* */
#define SPECTRA_PERM_QUERY     0x01
#define SPECTRA_PERM_BULK      0x02
#define SPECTRA_PERM_ADMIN     0x04

/* 1 when p is a valid tenant id, 0 otherwise. */
int spectra_tenant_id_valid(const u_char *p, size_t len);

/* 1 when p is a valid database role name (db_user, db_group). */
int spectra_role_valid(const u_char *p, size_t len);

/*
 * Adds the permission named by p ("query", "bulk", "admin") to *perms;
 * returns 0, or -1 for any other name (callers decide whether unknown
 * names are ignored, as in an OAuth "scope" claim, or an error).
 */
int spectra_perm_add(const u_char *p, size_t len, unsigned *perms);

/*
 * Parses a list of permission names separated by any of the bytes in seps
 * (e.g. " " for a JWT scope string, "," for the key file); empty items are
 * skipped.  Unknown names are skipped when strict is 0, and make the call
 * fail (-1) when strict is 1.
 */
int spectra_perms_parse(const u_char *p, size_t len, const char *seps,
    int strict, unsigned *perms);

#endif /* SPECTRA_TENANT_H */
