/*
 * spectra-jwt: mints a JWT for a tenant with a signing key, for the demo,
 * the tests and users who need a token without an identity provider.
 * Minting uses libjwt (Debian's libjwt 1.10); verifying never does: the
 * module verifies with its own hardened OpenSSL code (src/spectra_jwt.c),
 * because libjwt 1.10 accepts forged tokens (docs/auth.md).
 *
 *   spectra-jwt --key FILE --alg ALG --tenant ID [options]
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>

#include "spectra_tenant.h"


#define SPECTRA_JWT_MAX_KEY     (64 * 1024)
#define SPECTRA_JWT_MAX_CLAIMS  32


static void usage(FILE *out);
static unsigned char *read_key(const char *path, size_t *len);
static int parse_alg(const char *name, jwt_alg_t *alg, int *hmac);
static int parse_long(const char *name, const char *arg, long min, long max,
    long *out);


static void
usage(FILE *out)
{
    fprintf(out,
        "usage: spectra-jwt --key FILE --alg ALG --tenant ID [options]\n"
        "\n"
        "  --key FILE          HMAC secret (HS*) or PEM private key (RS*, "
        "ES*)\n"
        "  --alg ALG           HS256 HS384 HS512 RS256 RS384 RS512 ES256 "
        "ES384 ES512\n"
        "  --kid KID           key id header (for a JWKS with several keys)\n"
        "  --tenant ID         tenant_id claim\n"
        "  --db-user ROLE      db_user claim (default: the module's prefix "
        "rule)\n"
        "  --db-group ROLE     db_group claim\n"
        "  --permissions LIST  permissions claim (default \"query\")\n"
        "  --issuer ISS        iss claim\n"
        "  --audience AUD      aud claim\n"
        "  --ttl SECONDS       exp = now + SECONDS (default 3600)\n"
        "  --claim NAME=VALUE  another string claim (repeatable; e.g. to\n"
        "                      use other claim names, spectra_jwt_claim)\n"
        "  --help\n");
}


static unsigned char *
read_key(const char *path, size_t *len)
{
    FILE           *f;
    size_t          n;
    unsigned char  *buf;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "spectra-jwt: %s: %s\n", path, strerror(errno));
        return NULL;
    }

    buf = malloc(SPECTRA_JWT_MAX_KEY + 1);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }

    n = fread(buf, 1, SPECTRA_JWT_MAX_KEY + 1, f);
    fclose(f);

    if (n == 0 || n > SPECTRA_JWT_MAX_KEY) {
        fprintf(stderr, "spectra-jwt: %s: empty or larger than %d bytes\n",
                path, SPECTRA_JWT_MAX_KEY);
        free(buf);
        return NULL;
    }

    buf[n] = '\0';
    *len = n;

    return buf;
}


static int
parse_alg(const char *name, jwt_alg_t *alg, int *hmac)
{
    static const struct {
        const char  *name;
        jwt_alg_t    alg;
    } algs[] = {
        { "HS256", JWT_ALG_HS256 }, { "HS384", JWT_ALG_HS384 },
        { "HS512", JWT_ALG_HS512 }, { "RS256", JWT_ALG_RS256 },
        { "RS384", JWT_ALG_RS384 }, { "RS512", JWT_ALG_RS512 },
        { "ES256", JWT_ALG_ES256 }, { "ES384", JWT_ALG_ES384 },
        { "ES512", JWT_ALG_ES512 }
    };

    size_t  i;

    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(name, algs[i].name) == 0) {
            *alg = algs[i].alg;
            *hmac = (name[0] == 'H');
            return 0;
        }
    }

    fprintf(stderr, "spectra-jwt: --alg must be one of HS256 HS384 HS512 "
            "RS256 RS384 RS512 ES256 ES384 ES512, not \"%s\"\n", name);

    return -1;
}


static int
parse_long(const char *name, const char *arg, long min, long max, long *out)
{
    char  *end;
    long   v;

    errno = 0;
    v = strtol(arg, &end, 10);

    if (errno != 0 || *end != '\0' || end == arg || v < min || v > max) {
        fprintf(stderr, "spectra-jwt: --%s needs a number from %ld to %ld\n",
                name, min, max);
        return -1;
    }

    *out = v;

    return 0;
}


int
main(int argc, char **argv)
{
    int             c, hmac, rc, nclaims, i;
    long            ttl;
    char           *token, *eq;
    time_t          now;
    size_t          keylen;
    jwt_t          *jwt;
    jwt_alg_t       alg;
    unsigned char  *key;
    const char     *key_path, *alg_name, *kid, *tenant, *db_user, *db_group;
    const char     *perms, *issuer, *audience;
    char           *claims[SPECTRA_JWT_MAX_CLAIMS];

    static const struct option  options[] = {
        { "key", required_argument, NULL, 'k' },
        { "alg", required_argument, NULL, 'a' },
        { "kid", required_argument, NULL, 'K' },
        { "tenant", required_argument, NULL, 't' },
        { "db-user", required_argument, NULL, 'u' },
        { "db-group", required_argument, NULL, 'g' },
        { "permissions", required_argument, NULL, 'p' },
        { "issuer", required_argument, NULL, 'i' },
        { "audience", required_argument, NULL, 'A' },
        { "ttl", required_argument, NULL, 'T' },
        { "claim", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    key_path = alg_name = kid = tenant = db_user = db_group = NULL;
    issuer = audience = NULL;
    perms = "query";
    ttl = 3600;
    nclaims = 0;

    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'k': key_path = optarg; break;
        case 'a': alg_name = optarg; break;
        case 'K': kid = optarg; break;
        case 't': tenant = optarg; break;
        case 'u': db_user = optarg; break;
        case 'g': db_group = optarg; break;
        case 'p': perms = optarg; break;
        case 'i': issuer = optarg; break;
        case 'A': audience = optarg; break;

        case 'T':
            if (parse_long("ttl", optarg, 1, 366L * 86400, &ttl) != 0) {
                return 2;
            }
            break;

        case 'c':
            if (nclaims == SPECTRA_JWT_MAX_CLAIMS
                || strchr(optarg, '=') == NULL || optarg[0] == '=')
            {
                fprintf(stderr, "spectra-jwt: --claim needs NAME=VALUE "
                        "(at most %d)\n", SPECTRA_JWT_MAX_CLAIMS);
                return 2;
            }

            claims[nclaims++] = optarg;
            break;

        case 'h':
            usage(stdout);
            return 0;

        default:
            usage(stderr);
            return 2;
        }
    }

    if (optind != argc || key_path == NULL || alg_name == NULL
        || tenant == NULL)
    {
        usage(stderr);
        return 2;
    }

    if (parse_alg(alg_name, &alg, &hmac) != 0) {
        return 2;
    }

    /* what the module would refuse is not minted */

    if (!spectra_tenant_id_valid((const u_char *) tenant, strlen(tenant))) {
        fprintf(stderr, "spectra-jwt: --tenant must be 1 to %d of a-z 0-9 "
                "_\n", SPECTRA_IDENT_MAX);
        return 2;
    }

    if ((db_user != NULL
         && !spectra_role_valid((const u_char *) db_user, strlen(db_user)))
        || (db_group != NULL
            && !spectra_role_valid((const u_char *) db_group,
                                   strlen(db_group))))
    {
        fprintf(stderr, "spectra-jwt: --db-user and --db-group must be role "
                "names (a-z _ first, then a-z 0-9 _)\n");
        return 2;
    }

    key = read_key(key_path, &keylen);
    if (key == NULL) {
        return 1;
    }

    if (hmac) {
        /* as the module reads a secret file: a trailing newline is not
         * part of the secret */
        if (keylen && key[keylen - 1] == '\n') {
            keylen--;
        }

        if (keylen && key[keylen - 1] == '\r') {
            keylen--;
        }
    }

    if (hmac && keylen < 32) {
        fprintf(stderr, "spectra-jwt: an HMAC secret needs at least 32 "
                "bytes\n");
        free(key);
        return 2;
    }

    if (!hmac && strstr((char *) key, "PRIVATE KEY-----") == NULL) {
        fprintf(stderr, "spectra-jwt: %s is not a PEM private key\n",
                key_path);
        free(key);
        return 2;
    }

    if (jwt_new(&jwt) != 0) {
        free(key);
        return 1;
    }

    now = time(NULL);
    rc = 0;

    rc |= jwt_add_grant(jwt, "tenant_id", tenant);
    rc |= jwt_add_grant(jwt, "sub", tenant);
    rc |= jwt_add_grant(jwt, "permissions", perms);
    rc |= jwt_add_grant_int(jwt, "iat", (long) now);
    rc |= jwt_add_grant_int(jwt, "nbf", (long) now);
    rc |= jwt_add_grant_int(jwt, "exp", (long) now + ttl);

    if (db_user != NULL) {
        rc |= jwt_add_grant(jwt, "db_user", db_user);
    }

    if (db_group != NULL) {
        rc |= jwt_add_grant(jwt, "db_group", db_group);
    }

    if (issuer != NULL) {
        rc |= jwt_add_grant(jwt, "iss", issuer);
    }

    if (audience != NULL) {
        rc |= jwt_add_grant(jwt, "aud", audience);
    }

    for (i = 0; i < nclaims; i++) {
        eq = strchr(claims[i], '=');
        *eq = '\0';
        /* a claim given twice (or a standard one again) is an error */
        rc |= jwt_add_grant(jwt, claims[i], eq + 1);
    }

    if (kid != NULL) {
        rc |= jwt_add_header(jwt, "kid", kid);
    }

    if (rc != 0) {
        fprintf(stderr, "spectra-jwt: a claim is given twice or cannot be "
                "set\n");
        jwt_free(jwt);
        free(key);
        return 2;
    }

    rc = jwt_set_alg(jwt, alg, key, (int) keylen);
    memset(key, 0, keylen);
    free(key);

    if (rc != 0) {
        fprintf(stderr, "spectra-jwt: the key does not fit %s\n", alg_name);
        jwt_free(jwt);
        return 2;
    }

    token = jwt_encode_str(jwt);
    jwt_free(jwt);

    if (token == NULL) {
        fprintf(stderr, "spectra-jwt: signing failed (does the key fit "
                "%s?)\n", alg_name);
        return 1;
    }

    printf("%s\n", token);
    free(token);

    return 0;
}
