/*
 * Who a db user is and what it logs in with: the administrative
 * connection (--pg, password from --pg-password-file), the db user check,
 * the secrets file (--secrets-file: Secrets Manager secret strings by
 * ARN) and passwords minted by the warehouse's
 * spectra_admin.get_cluster_credentials(), as GetClusterCredentials does
 * for DbUser on Redshift.
 *
 * A DbUser that a secret names keeps that secret's password (a role
 * reachable both ways has one password); any other is minted, cached
 * until 60 s before it expires, and minted again once when a login with
 * the cached password fails. Passwords are never logged and are cleansed
 * when freed. Everything here runs under ctx->cred_lock.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dataapi.h"


#define DA_ROLE_CACHE_MAX     1024
#define DA_MINTED_MAX         1024
#define DA_MINT_MARGIN        60          /* seconds before expiry */
#define DA_PRIVATE_FILE_MAX   (4 << 20)


static char *da_strdup_secret(const char *s);
static void da_free_secret(char *s);
static void da_secrets_free(da_secret_t *secrets, size_t n);
static int da_secrets_parse(const char *path, da_secret_t **out,
    size_t *nout);
static const da_secret_t *da_secret_find(da_ctx_t *ctx, const char *arn);
static int da_admin_ready(da_ctx_t *ctx);
static int da_admin_check(da_ctx_t *ctx);
static void da_pg_error(PGresult *res, PGconn *conn, char *err,
    size_t errlen, char *sqlstate);
static int da_mint(da_ctx_t *ctx, const char *user, unsigned failed_gen,
    da_cred_t *out, char *err, size_t errlen, char *sqlstate);


/*
 * A file that holds secrets must be a regular file of root or of the
 * user the daemon runs as, closed to group and others (0600 or 0400).
 */
int
da_private_file(const char *path, const char *what, int fd)
{
    struct stat  st;

    if (fstat(fd, &st) != 0) {
        fprintf(stderr, "spectra-dataapi: %s %s: %s\n", what, path,
                strerror(errno));
        return -1;
    }

    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "spectra-dataapi: %s %s is not a regular file\n",
                what, path);
        return -1;
    }

    if ((st.st_mode & 077) != 0) {
        fprintf(stderr, "spectra-dataapi: %s %s is open to other users "
                "(mode %04o): chmod 600 it\n", what, path,
                (unsigned) (st.st_mode & 07777));
        return -1;
    }

    if (st.st_uid != geteuid() && st.st_uid != 0) {
        fprintf(stderr, "spectra-dataapi: %s %s belongs to uid %ld, "
                "neither root nor the daemon's user\n", what, path,
                (long) st.st_uid);
        return -1;
    }

    return 0;
}


/* Reads a private file whole; *out is NUL-terminated, cleanse it. */
int
da_read_private_file(const char *path, const char *what, char **out,
    size_t *len)
{
    char     *buf, *p;
    size_t    cap, n;
    ssize_t   r;
    int       fd;

    *out = NULL;
    *len = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "spectra-dataapi: cannot open %s %s: %s\n", what,
                path, strerror(errno));
        return -1;
    }

    if (da_private_file(path, what, fd) != 0) {
        close(fd);
        return -1;
    }

    cap = 4096;
    n = 0;
    buf = malloc(cap);

    while (buf != NULL) {
        if (n + 1 >= cap) {
            if (cap >= DA_PRIVATE_FILE_MAX) {
                fprintf(stderr, "spectra-dataapi: %s %s is larger than "
                        "%d bytes\n", what, path, DA_PRIVATE_FILE_MAX);
                OPENSSL_cleanse(buf, n);
                free(buf);
                close(fd);
                return -1;
            }

            /* grow without leaving copies of the secret behind */
            p = malloc(cap * 2);
            if (p != NULL) {
                memcpy(p, buf, n);
            }

            OPENSSL_cleanse(buf, n);
            free(buf);
            buf = p;
            cap *= 2;
            continue;
        }

        r = read(fd, buf + n, cap - n - 1);

        if (r < 0 && errno == EINTR) {
            continue;
        }

        if (r < 0) {
            fprintf(stderr, "spectra-dataapi: reading %s %s: %s\n", what,
                    path, strerror(errno));
            OPENSSL_cleanse(buf, n);
            free(buf);
            close(fd);
            return -1;
        }

        if (r == 0) {
            break;
        }

        n += (size_t) r;
    }

    close(fd);

    if (buf == NULL) {
        return -1;
    }

    buf[n] = '\0';
    *out = buf;
    *len = n;

    return 0;
}


static char *
da_strdup_secret(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}


static void
da_free_secret(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}


void
da_cred_clear(da_cred_t *c)
{
    da_free_secret(c->password);
    c->password = NULL;
}


static void
da_secrets_free(da_secret_t *secrets, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        free(secrets[i].arn);
        free(secrets[i].name);
        free(secrets[i].username);
        da_free_secret(secrets[i].password);
    }

    free(secrets);
}


/*
 * {"arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX":
 *    {"username": "...", "password": "...", ...}, ...}
 * The values are Secrets Manager secret strings as Redshift's console
 * stores them; other members (engine, dbClusterIdentifier, ...) are
 * ignored.
 */
static int
da_secrets_parse(const char *path, da_secret_t **out, size_t *nout)
{
    json_t        *root, *v, *user, *pass;
    json_error_t   jerr;
    da_secret_t   *secrets;
    const char    *arn, *name;
    char          *text;
    size_t         len, n, nlen, i;

    *out = NULL;
    *nout = 0;

    if (da_read_private_file(path, "secrets file", &text, &len) != 0) {
        return -1;
    }

    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    OPENSSL_cleanse(text, len);
    free(text);

    if (root == NULL || !json_is_object(root)) {
        fprintf(stderr, "spectra-dataapi: secrets file %s: %s (line %d): "
                "expected a JSON object of secrets by ARN\n", path,
                root == NULL ? jerr.text : "not an object",
                root == NULL ? jerr.line : 1);
        json_decref(root);
        return -1;
    }

    secrets = calloc(json_object_size(root) + 1, sizeof(da_secret_t));
    if (secrets == NULL) {
        json_decref(root);
        return -1;
    }

    n = 0;

    json_object_foreach(root, arn, v) {
        user = json_object_get(v, "username");
        pass = json_object_get(v, "password");

        if (!json_is_string(user) || !json_is_string(pass)
            || json_string_length(user) == 0
            || json_string_length(pass) == 0
            || json_string_length(user) > 63
            || strlen(json_string_value(user)) != json_string_length(user)
            || strlen(json_string_value(pass)) != json_string_length(pass))
        {
            /* the Data API's words for a secret it cannot use */
            fprintf(stderr, "spectra-dataapi: secrets file %s: %.200s: "
                    "username and password in secret cannot be empty\n",
                    path, arn);
            goto failed;
        }

        /* the name: after ":secret:", without the "-XXXXXX" suffix */
        name = strstr(arn, ":secret:");
        name = name != NULL ? name + sizeof(":secret:") - 1 : arn;
        nlen = strlen(name);

        if (nlen > 7 && name[nlen - 7] == '-') {
            for (i = nlen - 6; i < nlen; i++) {
                if (!((name[i] >= 'a' && name[i] <= 'z')
                      || (name[i] >= 'A' && name[i] <= 'Z')
                      || (name[i] >= '0' && name[i] <= '9')))
                {
                    break;
                }
            }

            if (i == nlen) {
                nlen -= 7;
            }
        }

        secrets[n].arn = strdup(arn);
        secrets[n].name = strndup(name, nlen);
        secrets[n].username = strdup(json_string_value(user));
        secrets[n].password = da_strdup_secret(json_string_value(pass));
        n++;

        if (secrets[n - 1].arn == NULL || secrets[n - 1].name == NULL
            || secrets[n - 1].username == NULL
            || secrets[n - 1].password == NULL)
        {
            goto failed;
        }
    }

    /* jansson keeps the strings: cleanse them before they are freed */
    json_object_foreach(root, arn, v) {
        pass = json_object_get(v, "password");
        OPENSSL_cleanse((char *) json_string_value(pass),
                        json_string_length(pass));
    }

    json_decref(root);
    *out = secrets;
    *nout = n;

    return 0;

failed:

    json_object_foreach(root, arn, v) {
        pass = json_object_get(v, "password");
        if (json_is_string(pass)) {
            OPENSSL_cleanse((char *) json_string_value(pass),
                            json_string_length(pass));
        }
    }

    json_decref(root);
    da_secrets_free(secrets, n);
    return -1;
}


/* SIGHUP: a new secrets file replaces the old one only if it is valid. */
int
da_secrets_reload(da_ctx_t *ctx)
{
    da_secret_t  *secrets, *old;
    size_t        n, nold;

    if (ctx->secrets_file == NULL) {
        return 0;
    }

    if (da_secrets_parse(ctx->secrets_file, &secrets, &n) != 0) {
        da_log(ctx, "error: keeping the previous secrets: %s could not be "
               "read", ctx->secrets_file);
        return -1;
    }

    pthread_mutex_lock(&ctx->cred_lock);
    old = ctx->secrets;
    nold = ctx->nsecrets;
    ctx->secrets = secrets;
    ctx->nsecrets = n;
    pthread_mutex_unlock(&ctx->cred_lock);

    da_secrets_free(old, nold);
    da_log(ctx, "secrets file %s: %zu secrets", ctx->secrets_file, n);

    return 0;
}


/* By ARN, or by name (Secrets Manager accepts either). */
static const da_secret_t *
da_secret_find(da_ctx_t *ctx, const char *arn)
{
    size_t  i;

    for (i = 0; i < ctx->nsecrets; i++) {
        if (strcmp(ctx->secrets[i].arn, arn) == 0) {
            return &ctx->secrets[i];
        }
    }

    if (strncmp(arn, "arn:", 4) == 0) {
        return NULL;
    }

    for (i = 0; i < ctx->nsecrets; i++) {
        if (strcmp(ctx->secrets[i].name, arn) == 0) {
            return &ctx->secrets[i];
        }
    }

    return NULL;
}


/* The db user of a SecretArn: 0 and *user (malloc()ed), or -1 unknown. */
int
da_secret_user(da_ctx_t *ctx, const char *arn, char **user)
{
    const da_secret_t  *sec;

    *user = NULL;

    pthread_mutex_lock(&ctx->cred_lock);

    sec = da_secret_find(ctx, arn);
    if (sec != NULL) {
        *user = strdup(sec->username);
    }

    pthread_mutex_unlock(&ctx->cred_lock);

    return *user != NULL ? 0 : -1;
}


static void
da_pg_error(PGresult *res, PGconn *conn, char *err, size_t errlen,
    char *sqlstate)
{
    const char  *primary, *state;
    char         msg[256];
    size_t       n;

    primary = res != NULL
              ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (primary == NULL) {
        /* libpq's own message, one line */
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));

        for (n = 0; msg[n] != '\0'; n++) {
            if (msg[n] == '\n' || msg[n] == '\r') {
                msg[n] = ' ';
            }
        }

        while (n > 0 && msg[n - 1] == ' ') {
            msg[--n] = '\0';
        }

        primary = msg;
    }

    snprintf(err, errlen, "ERROR: %s (SQLSTATE %s)", primary,
             state != NULL ? state : "08006");
    snprintf(sqlstate, 6, "%s", state != NULL ? state : "08006");
}


/* The administrative connection, (re)opened when needed. */
static int
da_admin_ready(da_ctx_t *ctx)
{
    static const char  *keys[] = {
        "dbname", "password", "application_name", "options", NULL
    };
    const char         *values[5];

    if (da_pg_alive(ctx->admin)) {
        return 0;
    }

    if (ctx->admin != NULL) {
        da_log(ctx, "the administrative connection was closed by the "
               "server or left busy: connecting again");
    }

    PQfinish(ctx->admin);

    /* later keys win over the conninfo's own (expand_dbname) */
    values[0] = ctx->pg_conninfo;
    values[1] = ctx->admin_password;
    values[2] = "spectra-dataapi-admin";
    values[3] = "-c TimeZone=UTC";
    values[4] = NULL;

    ctx->admin = PQconnectdbParams(keys, values, 1);

    if (PQstatus(ctx->admin) != CONNECTION_OK) {
        da_log(ctx, "error: the administrative connection: %s",
               PQerrorMessage(ctx->admin));
        return -1;
    }

    return 0;
}


/*
 * The administrative role only checks roles and mints passwords: refuse
 * one that could read tenant data itself.
 */
static int
da_admin_check(da_ctx_t *ctx)
{
    PGresult  *res;
    int        rc;

    res = PQexec(ctx->admin,
        "select r.rolname, r.rolsuper or r.rolbypassrls,"
        " (select b.rolname from pg_catalog.pg_auth_members m"
        "  join pg_catalog.pg_roles b on b.oid = m.roleid"
        "  where m.member = r.oid order by 1 limit 1)"
        " from pg_catalog.pg_roles r where r.rolname = session_user");

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        da_log(ctx, "error: checking the administrative role: %s",
               PQerrorMessage(ctx->admin));
        PQclear(res);
        return -1;
    }

    rc = 0;

    if (PQgetvalue(res, 0, 1)[0] == 't') {
        da_log(ctx, "error: the administrative role %s is a superuser or "
               "BYPASSRLS: give spectra-dataapi a role of its own "
               "(docs/hardening.md)", PQgetvalue(res, 0, 0));
        rc = -1;

    } else if (!PQgetisnull(res, 0, 2)) {
        da_log(ctx, "error: the administrative role %s is a member of "
               "%s: it must not be able to act as another role "
               "(docs/hardening.md)", PQgetvalue(res, 0, 0),
               PQgetvalue(res, 0, 2));
        rc = -1;
    }

    PQclear(res);

    return rc;
}


/*
 * Start-up: the password file, the secrets file, the administrative
 * connection and its check, the type names. Errors go to stderr (and the
 * log): the daemon does not start.
 */
int
da_credentials_start(da_ctx_t *ctx)
{
    char    *text, *nl;
    size_t   len;
    int      rc;

    if (ctx->pg_password_file != NULL) {
        if (da_read_private_file(ctx->pg_password_file, "password file",
                                 &text, &len) != 0)
        {
            return -1;
        }

        nl = strpbrk(text, "\r\n");
        if (nl != NULL) {
            *nl = '\0';
        }

        if (text[0] == '\0') {
            fprintf(stderr, "spectra-dataapi: password file %s is empty\n",
                    ctx->pg_password_file);
            da_free_secret(text);
            return -1;
        }

        ctx->admin_password = da_strdup_secret(text);
        OPENSSL_cleanse(text, len);
        free(text);

        if (ctx->admin_password == NULL) {
            return -1;
        }
    }

    if (ctx->secrets_file != NULL
        && da_secrets_parse(ctx->secrets_file, &ctx->secrets,
                            &ctx->nsecrets) != 0)
    {
        return -1;
    }

    pthread_mutex_lock(&ctx->cred_lock);

    rc = da_admin_ready(ctx);

    if (rc == 0) {
        rc = da_admin_check(ctx);
    }

    if (rc == 0) {
        rc = da_types_load(ctx, ctx->admin);
    }

    pthread_mutex_unlock(&ctx->cred_lock);

    if (rc != 0) {
        fprintf(stderr, "spectra-dataapi: cannot use the administrative "
                "connection (see the log)\n");
    }

    return rc;
}


void
da_credentials_free(da_ctx_t *ctx)
{
    size_t  i;

    PQfinish(ctx->admin);
    ctx->admin = NULL;
    da_free_secret(ctx->admin_password);
    ctx->admin_password = NULL;
    da_secrets_free(ctx->secrets, ctx->nsecrets);
    ctx->secrets = NULL;
    ctx->nsecrets = 0;

    for (i = 0; i < ctx->nminted; i++) {
        free(ctx->minted[i].user);
        da_free_secret(ctx->minted[i].password);
    }

    free(ctx->minted);
    ctx->minted = NULL;
    ctx->nminted = 0;

    for (i = 0; i < ctx->nroles; i++) {
        free(ctx->roles[i].name);
        free(ctx->roles[i].reason);
    }

    free(ctx->roles);
    ctx->roles = NULL;
    ctx->nroles = 0;
}


/*
 * One statement on the administrative connection (COPY's load errors:
 * written by this session, they outlive the tenant's rolled-back
 * transaction). Returns the result (PGRES_TUPLES_OK or PGRES_COMMAND_OK)
 * or NULL with err.
 */
PGresult *
da_admin_exec(da_ctx_t *ctx, const char *sql, int nparams,
    const char * const *values, char *err, size_t errlen)
{
    PGresult        *res;
    ExecStatusType   st;

    pthread_mutex_lock(&ctx->cred_lock);

    if (da_admin_ready(ctx) != 0) {
        pthread_mutex_unlock(&ctx->cred_lock);
        snprintf(err, errlen, "the administrative connection is down");
        return NULL;
    }

    res = PQexecParams(ctx->admin, sql, nparams, NULL, values, NULL, NULL,
                       0);
    st = PQresultStatus(res);

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "%s", PQerrorMessage(ctx->admin));
        PQclear(res);
        res = NULL;
    }

    pthread_mutex_unlock(&ctx->cred_lock);

    return res;
}


/*
 * May statements run as role? Only an ordinary tenant role may: one that
 * exists and can log in, is no superuser, has no BYPASSRLS, CREATEROLE,
 * CREATEDB or REPLICATION, owns no relations, is a member of no role
 * (any membership allows SET ROLE), is not one of PostgreSQL's pg_ roles
 * and is not the administrative role. Cached for role_cache_seconds.
 * Returns 1 if allowed, 0 if refused (*reason malloc()ed), -1 on a
 * database error.
 */
int
da_role_check(da_ctx_t *ctx, const char *role, char **reason)
{
    PGresult     *res;
    const char   *values[1];
    const char   *why;
    char          buf[512], member[128];
    da_role_t    *r, *slot;
    size_t        i;
    time_t        now;
    int           allowed;

    now = time(NULL);
    *reason = NULL;
    member[0] = '\0';

    pthread_mutex_lock(&ctx->cred_lock);

    for (i = 0; i < ctx->nroles; i++) {
        r = &ctx->roles[i];

        if (r->expires > now && strcmp(r->name, role) == 0) {
            allowed = r->allowed;
            if (!allowed) {
                *reason = strdup(r->reason);
            }

            pthread_mutex_unlock(&ctx->cred_lock);
            return allowed;
        }
    }

    if (da_admin_ready(ctx) != 0) {
        pthread_mutex_unlock(&ctx->cred_lock);
        return -1;
    }

    values[0] = role;
    res = PQexecParams(ctx->admin,
        "select r.rolsuper or r.rolbypassrls,"
        " exists (select 1 from pg_catalog.pg_class c"
        "         where c.relowner = r.oid and c.relpersistence <> 't'),"
        " r.rolname = session_user,"
        " (select b.rolname from pg_catalog.pg_auth_members m"
        "  join pg_catalog.pg_roles b on b.oid = m.roleid"
        "  where m.member = r.oid order by 1 limit 1),"
        " r.rolcreaterole or r.rolcreatedb or r.rolreplication,"
        " r.rolname like 'pg\\_%', r.rolcanlogin"
        " from pg_catalog.pg_roles r where r.rolname = $1",
        1, NULL, values, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        da_log(ctx, "error: checking a db user: %s",
               PQerrorMessage(ctx->admin));
        PQclear(res);
        pthread_mutex_unlock(&ctx->cred_lock);
        return -1;
    }

    why = NULL;

    if (PQntuples(res) == 0) {
        why = "does not exist";

    } else if (PQgetvalue(res, 0, 0)[0] == 't') {
        why = "is refused: a superuser or BYPASSRLS role is not subject "
              "to row-level security";

    } else if (PQgetvalue(res, 0, 1)[0] == 't') {
        why = "is refused: it owns tables, so row-level security may not "
              "apply";

    } else if (PQgetvalue(res, 0, 2)[0] == 't') {
        why = "is refused: it is the login role of spectra-dataapi";

    } else if (!PQgetisnull(res, 0, 3)) {
        snprintf(member, sizeof(member), "%.64s", PQgetvalue(res, 0, 3));
        why = member;

    } else if (PQgetvalue(res, 0, 4)[0] == 't') {
        why = "is refused: it has CREATEROLE, CREATEDB or REPLICATION";

    } else if (PQgetvalue(res, 0, 5)[0] == 't') {
        why = "is refused: pg_ roles are PostgreSQL's own";

    } else if (PQgetvalue(res, 0, 6)[0] != 't') {
        why = "is refused: it cannot log in";
    }

    PQclear(res);

    allowed = (why == NULL);

    if (!allowed) {
        if (why == member) {
            snprintf(buf, sizeof(buf), "ERROR: db user \"%.64s\" is "
                     "refused: it is a member of role \"%s\", so it could "
                     "act as that role (SQLSTATE 28000)", role, member);

        } else {
            snprintf(buf, sizeof(buf), "ERROR: db user \"%.64s\" %s "
                     "(SQLSTATE 28000)", role, why);
        }

        *reason = strdup(buf);
    }

    slot = NULL;
    for (i = 0; i < ctx->nroles; i++) {
        if (ctx->roles[i].expires <= now
            || strcmp(ctx->roles[i].name, role) == 0)
        {
            slot = &ctx->roles[i];
            free(slot->name);
            free(slot->reason);
            break;
        }
    }

    if (slot == NULL && ctx->nroles < DA_ROLE_CACHE_MAX) {
        r = realloc(ctx->roles, (ctx->nroles + 1) * sizeof(da_role_t));
        if (r != NULL) {
            ctx->roles = r;
            slot = &ctx->roles[ctx->nroles++];
        }
    }

    if (slot != NULL) {
        slot->name = strdup(role);
        slot->reason = allowed ? NULL : strdup(buf);
        slot->allowed = allowed;
        slot->expires = now + ctx->role_cache_seconds;

        if (slot->name == NULL) {
            slot->expires = 0;
            slot->name = strdup("");
        }
    }

    pthread_mutex_unlock(&ctx->cred_lock);

    return allowed;
}


/*
 * A cached minted password, or a new one from the warehouse. failed_gen:
 * 0, or the generation of a cached password a login just failed with,
 * which is then minted again (unless another worker already did).
 */
static int
da_mint(da_ctx_t *ctx, const char *user, unsigned failed_gen,
    da_cred_t *out, char *err, size_t errlen, char *sqlstate)
{
    PGresult     *res;
    da_minted_t  *m, *slot;
    const char   *values[2];
    char          duration[16];
    time_t        now, expires;
    size_t        i;

    now = time(NULL);
    slot = NULL;

    for (i = 0; i < ctx->nminted; i++) {
        m = &ctx->minted[i];

        if (strcmp(m->user, user) == 0) {
            slot = m;

            if (m->reuse_until > now && m->gen != failed_gen) {
                out->password = da_strdup_secret(m->password);
                out->minted = 1;
                out->gen = m->gen;
                return out->password != NULL ? 0 : -1;
            }

            break;
        }
    }

    if (da_admin_ready(ctx) != 0) {
        snprintf(err, errlen, "ERROR: could not get temporary credentials "
                 "for db user \"%.64s\": the administrative connection is "
                 "down (SQLSTATE 08006)", user);
        snprintf(sqlstate, 6, "08006");
        return -1;
    }

    snprintf(duration, sizeof(duration), "%ld", ctx->cred_duration);
    values[0] = user;
    values[1] = duration;

    res = PQexecParams(ctx->admin,
        "select password, extract(epoch from expiration)::int8"
        " from spectra_admin.get_cluster_credentials($1::name, $2::int4)",
        2, NULL, values, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1
        || PQgetisnull(res, 0, 0))
    {
        da_pg_error(res, ctx->admin, err, errlen, sqlstate);
        PQclear(res);
        return -1;
    }

    expires = (time_t) strtoll(PQgetvalue(res, 0, 1), NULL, 10);

    if (slot == NULL) {
        for (i = 0; i < ctx->nminted; i++) {
            if (ctx->minted[i].reuse_until <= now) {
                slot = &ctx->minted[i];
                break;
            }
        }
    }

    if (slot == NULL && ctx->nminted < DA_MINTED_MAX) {
        m = realloc(ctx->minted, (ctx->nminted + 1) * sizeof(da_minted_t));
        if (m != NULL) {
            ctx->minted = m;
            slot = &ctx->minted[ctx->nminted++];
            memset(slot, 0, sizeof(*slot));
        }
    }

    out->password = da_strdup_secret(PQgetvalue(res, 0, 0));
    out->minted = 2;
    out->gen = ++ctx->minted_gen;

    if (slot != NULL) {
        if (slot->user == NULL || strcmp(slot->user, user) != 0) {
            free(slot->user);
            slot->user = strdup(user);
        }

        da_free_secret(slot->password);
        slot->password = da_strdup_secret(PQgetvalue(res, 0, 0));
        slot->reuse_until = expires - DA_MINT_MARGIN;
        slot->gen = out->gen;

        if (slot->user == NULL || slot->password == NULL) {
            slot->reuse_until = 0;
        }
    }

    OPENSSL_cleanse(PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)));
    PQclear(res);

    return out->password != NULL ? 0 : -1;
}


/*
 * The password user logs in with: the SecretArn's secret, else a secret
 * whose username is user, else a minted one. out->minted is 0 (a
 * secret), 1 (a cached minted password) or 2 (just minted). Returns 0,
 * or -1 with err ("ERROR: ... (SQLSTATE x)") and sqlstate.
 */
int
da_credentials_get(da_ctx_t *ctx, const char *user, const char *secret_arn,
    unsigned failed_gen, da_cred_t *out, char *err, size_t errlen,
    char *sqlstate)
{
    const da_secret_t  *sec;
    size_t              i;
    int                 rc;

    memset(out, 0, sizeof(*out));

    pthread_mutex_lock(&ctx->cred_lock);

    sec = NULL;

    if (secret_arn != NULL) {
        sec = da_secret_find(ctx, secret_arn);

        if (sec == NULL) {
            pthread_mutex_unlock(&ctx->cred_lock);
            snprintf(err, errlen, "ERROR: Secrets Manager can't find the "
                     "specified secret. (SQLSTATE 28000)");
            snprintf(sqlstate, 6, "28000");
            return -1;
        }

    } else {
        for (i = 0; i < ctx->nsecrets; i++) {
            if (strcmp(ctx->secrets[i].username, user) == 0) {
                sec = &ctx->secrets[i];
                break;
            }
        }
    }

    if (sec != NULL) {
        out->password = da_strdup_secret(sec->password);
        rc = out->password != NULL ? 0 : -1;

    } else {
        rc = da_mint(ctx, user, failed_gen, out, err, errlen, sqlstate);
    }

    pthread_mutex_unlock(&ctx->cred_lock);

    if (rc != 0 && out->password == NULL && err[0] == '\0') {
        snprintf(err, errlen, "ERROR: out of memory (SQLSTATE 53200)");
        snprintf(sqlstate, 6, "53200");
    }

    return rc;
}
