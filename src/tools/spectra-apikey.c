/*
 * spectra-apikey: mints an API key for a tenant and prints, on two lines,
 * the key (give it to the client, it is shown once) and the line to add
 * to the key file of "spectra_api_keys" (it holds only the SHA-256).
 *
 *   spectra-apikey --tenant acme [--db-user R] [--db-group R]
 *       [--permissions query,bulk,admin] [--attr name=value]...
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_apikey.h"
#include "spectra_tenant.h"


#define MAX_ATTRS  16


static void usage(FILE *out);


static void
usage(FILE *out)
{
    fprintf(out,
            "usage: spectra-apikey --tenant ID [--db-user ROLE] "
            "[--db-group ROLE]\n"
            "                      [--permissions query,bulk,admin] "
            "[--attr NAME=VALUE]...\n"
            "Prints the new key, then the line for the key file.\n");
}


int
main(int argc, char **argv)
{
    int                   c, i, nattrs;
    char                  key[64], keyid[SPECTRA_APIKEY_ID_MAX + 1];
    char                  hex[65], line[1024];
    size_t                n;
    unsigned              perms;
    const char           *tenant, *db_user, *db_group, *permissions;
    const char           *attrs[MAX_ATTRS];
    spectra_str_t         secret;
    spectra_err_t         err;
    spectra_apikeys_t    *check;

    static const struct option  options[] = {
        { "tenant", required_argument, NULL, 't' },
        { "db-user", required_argument, NULL, 'u' },
        { "db-group", required_argument, NULL, 'g' },
        { "permissions", required_argument, NULL, 'p' },
        { "attr", required_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    tenant = NULL;
    db_user = NULL;
    db_group = NULL;
    permissions = "query";
    nattrs = 0;

    while ((c = getopt_long(argc, argv, "t:u:g:p:a:h", options, NULL))
           != -1)
    {
        switch (c) {
        case 't':
            tenant = optarg;
            break;
        case 'u':
            db_user = optarg;
            break;
        case 'g':
            db_group = optarg;
            break;
        case 'p':
            permissions = optarg;
            break;
        case 'a':
            if (nattrs == MAX_ATTRS) {
                fprintf(stderr, "spectra-apikey: too many --attr\n");
                return 2;
            }

            attrs[nattrs++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }

    if (tenant == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }

    perms = 0;

    if (spectra_perms_parse((const u_char *) permissions,
                            strlen(permissions), ",", 1, &perms) != 0)
    {
        fprintf(stderr, "spectra-apikey: permissions are a comma-separated "
                "list of query, bulk, admin\n");
        return 2;
    }

    if (spectra_apikey_mint(key, keyid, &secret) != 0
        || spectra_apikey_hash_hex(secret.data, secret.len, hex) != 0)
    {
        fprintf(stderr, "spectra-apikey: no random bytes or no SHA-256\n");
        return 1;
    }

    n = (size_t) snprintf(line, sizeof(line), "%s %s tenant=%s", keyid, hex,
                          tenant);

    if (db_user != NULL) {
        n += snprintf(line + n, sizeof(line) - n, " db_user=%s", db_user);
    }

    if (db_group != NULL) {
        n += snprintf(line + n, sizeof(line) - n, " db_group=%s", db_group);
    }

    if (permissions[0] != '\0') {
        n += snprintf(line + n, sizeof(line) - n, " permissions=%s",
                      permissions);
    }

    for (i = 0; i < nattrs && n < sizeof(line); i++) {
        n += snprintf(line + n, sizeof(line) - n, " %s", attrs[i]);
    }

    if (n >= sizeof(line) - 1) {
        fprintf(stderr, "spectra-apikey: the line is too long\n");
        return 2;
    }

    /* the module's own parser judges the line, so it will load */
    check = spectra_apikeys_parse((const u_char *) line, n, &err);
    if (check == NULL) {
        fprintf(stderr, "spectra-apikey: %s\n", err.message + 8);
        return 2;
    }

    spectra_apikeys_free(check);

    printf("%s\n%s\n", key, line);

    return 0;
}
