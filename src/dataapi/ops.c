/*
 * The Data API operations: request validation and the response shapes of
 * botocore's redshift-data 2019-12-20 model (ExecuteStatement,
 * BatchExecuteStatement, DescribeStatement, GetStatementResult,
 * CancelStatement, ListStatements), plus the newer ClientToken,
 * SessionKeepAliveSeconds/SessionId and WaitTimeSeconds members.
 */

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dataapi.h"
#include "spectra_sigv4.h"


#define DA_SQL_MAX          100000      /* StatementString, as Redshift */
#define DA_NAME_MAX         500         /* StatementNameString */
#define DA_TOKEN_MAX        64          /* ClientToken */
#define DA_KEEPALIVE_MAX    86400
#define DA_LIST_MAX         100


typedef struct {
    const char     *db_user;
    const char     *database;
    const char     *cluster;
    const char     *workgroup;
    const char     *secret_arn;
    const char     *session_id;
    const char     *client_token;
    const char     *statement_name;
    json_int_t      keepalive;
    json_int_t      wait;
    char           *secret_user;        /* derived from SecretArn */
    char            fingerprint[65];
} da_identity_t;


static int da_get_string(da_request_t *r, const char *name, int required,
    size_t min, size_t max, const char **out);
static int da_get_int(da_request_t *r, const char *name, json_int_t min,
    json_int_t max, json_int_t *out);
static int da_check_known(da_request_t *r, const char **known);
static int da_identity(da_request_t *r, da_identity_t *id);
static int da_valid_id(const char *id);
static int da_params(da_request_t *r, json_t **params);
static void da_fingerprint(json_t *body, char *out);
static da_stmt_t *da_stmt_from(da_request_t *r, da_identity_t *id);
static int da_submit(da_request_t *r, da_identity_t *id, da_stmt_t *s);
static json_t *da_submit_reply(da_stmt_t *s);
static void da_wait_locked(da_ctx_t *ctx, da_stmt_t *s, json_int_t seconds);
static json_t *da_describe(da_stmt_t *s, int sub);
static void da_op_execute(da_request_t *r);
static void da_op_batch(da_request_t *r);
static void da_op_describe(da_request_t *r);
static void da_op_result(da_request_t *r);
static void da_op_cancel(da_request_t *r);
static void da_op_list(da_request_t *r);
static da_stmt_t *da_catalog_run(da_request_t *r, da_identity_t *id,
    const char *sql, const char **values, int nvalues);
static void da_op_catalog(da_request_t *r, int kind);
static void da_op_list_databases(da_request_t *r);
static void da_op_list_schemas(da_request_t *r);
static void da_op_list_tables(da_request_t *r);
static void da_op_describe_table(da_request_t *r);
static da_stmt_t *da_find(da_request_t *r, const char **idp);
static char *da_token_encode(const char *id, size_t offset);
static int da_token_decode(const char *token, const char *id,
    size_t *offset);


int
da_fail(da_request_t *r, int status, const char *type, const char *fmt, ...)
{
    va_list  args;

    r->status = status;
    r->error_type = type;

    va_start(args, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, args);
    va_end(args);

    json_decref(r->reply);
    r->reply = NULL;
    free(r->text);
    r->text = NULL;

    if (r->page != NULL) {
        da_page_free(r->page);
        r->page = NULL;
    }

    return -1;
}


static int
da_get_string(da_request_t *r, const char *name, int required, size_t min,
    size_t max, const char **out)
{
    json_t  *v;
    size_t   len;

    *out = NULL;
    v = json_object_get(r->body, name);

    if (v == NULL || json_is_null(v)) {
        if (required) {
            return da_fail(r, 400, "ValidationException",
                           "1 validation error detected: Value null at "
                           "'%s' failed to satisfy constraint: Member must "
                           "not be null", name);
        }

        return 0;
    }

    if (!json_is_string(v)) {
        return da_fail(r, 400, "SerializationException",
                       "Value of '%s' must be a string", name);
    }

    len = json_string_length(v);

    if (len < min || len > max) {
        return da_fail(r, 400, "ValidationException",
                       "1 validation error detected: Value at '%s' failed "
                       "to satisfy constraint: Member must have length "
                       "between %zu and %zu", name, min, max);
    }

    if (strlen(json_string_value(v)) != len) {
        return da_fail(r, 400, "ValidationException",
                       "Value at '%s' must not contain NUL characters",
                       name);
    }

    *out = json_string_value(v);

    return 0;
}


static int
da_get_int(da_request_t *r, const char *name, json_int_t min, json_int_t max,
    json_int_t *out)
{
    json_t  *v;

    v = json_object_get(r->body, name);

    if (v == NULL || json_is_null(v)) {
        return 0;
    }

    if (!json_is_integer(v)) {
        return da_fail(r, 400, "SerializationException",
                       "Value of '%s' must be an integer", name);
    }

    if (json_integer_value(v) < min || json_integer_value(v) > max) {
        return da_fail(r, 400, "ValidationException",
                       "1 validation error detected: Value at '%s' failed "
                       "to satisfy constraint: Member must have value "
                       "between %lld and %lld", name, (long long) min,
                       (long long) max);
    }

    *out = json_integer_value(v);

    return 0;
}


/* Unknown members are refused, as botocore's model would. */
static int
da_check_known(da_request_t *r, const char **known)
{
    const char  *key;
    json_t      *value;
    int          i;

    json_object_foreach(r->body, key, value) {
        for (i = 0; known[i] != NULL; i++) {
            if (strcmp(key, known[i]) == 0) {
                break;
            }
        }

        if (known[i] == NULL) {
            return da_fail(r, 400, "ValidationException",
                           "Unknown parameter in input: \"%.64s\"", key);
        }
    }

    return 0;
}


static int
da_valid_id(const char *id)
{
    size_t  i, len;

    len = strlen(id);

    if (len < DA_ID_LEN) {
        return 0;
    }

    for (i = 0; i < DA_ID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (id[i] != '-') {
                return 0;
            }

            continue;
        }

        if (!(islower((u_char) id[i]) || isdigit((u_char) id[i]))) {
            return 0;
        }
    }

    if (len == DA_ID_LEN) {
        return 1;
    }

    if (id[DA_ID_LEN] != ':' || len == DA_ID_LEN + 1 || len > DA_ID_LEN + 4) {
        return 0;
    }

    for (i = DA_ID_LEN + 1; i < len; i++) {
        if (!isdigit((u_char) id[i])) {
            return 0;
        }
    }

    return 1;
}


/*
 * Who runs the statement: a session, ClusterIdentifier + DbUser,
 * ClusterIdentifier or WorkgroupName + SecretArn (the db user is the
 * username of that secret in --secrets-file), or WorkgroupName + DbUser.
 */
static int
da_identity(da_request_t *r, da_identity_t *id)
{
    da_ctx_t    *ctx = r->ctx;

    memset(id, 0, sizeof(*id));

    if (da_get_string(r, "DbUser", 0, 1, 128, &id->db_user) != 0
        || da_get_string(r, "ClusterIdentifier", 0, 1, 63, &id->cluster) != 0
        || da_get_string(r, "WorkgroupName", 0, 3, 64, &id->workgroup) != 0
        || da_get_string(r, "SecretArn", 0, 1, 2048, &id->secret_arn) != 0
        || da_get_string(r, "SessionId", 0, 36, 36, &id->session_id) != 0
        || da_get_string(r, "ClientToken", 0, 1, DA_TOKEN_MAX,
                         &id->client_token) != 0
        || da_get_string(r, "StatementName", 0, 0, DA_NAME_MAX,
                         &id->statement_name) != 0
        || da_get_int(r, "SessionKeepAliveSeconds", 0, DA_KEEPALIVE_MAX,
                      &id->keepalive) != 0
        || da_get_int(r, "WaitTimeSeconds", 0, ctx->max_wait, &id->wait)
           != 0)
    {
        return -1;
    }

    if (id->session_id != NULL) {
        if (id->db_user != NULL || id->cluster != NULL
            || id->workgroup != NULL || id->secret_arn != NULL)
        {
            return da_fail(r, 400, "ValidationException",
                           "SessionId cannot be combined with DbUser, "
                           "ClusterIdentifier, WorkgroupName or SecretArn");
        }

        if (id->keepalive != 0) {
            return da_fail(r, 400, "ValidationException",
                           "SessionKeepAliveSeconds cannot be combined with "
                           "SessionId");
        }

        if (da_get_string(r, "Database", 0, 1, 127, &id->database) != 0) {
            return -1;
        }

        return 0;
    }

    if (da_get_string(r, "Database", 1, 1, 127, &id->database) != 0) {
        return -1;
    }

    if (strcmp(id->database, ctx->database) != 0) {
        return da_fail(r, 400, "ValidationException",
                       "Database \"%.127s\" does not exist on this "
                       "endpoint", id->database);
    }

    if (id->cluster == NULL && id->workgroup == NULL) {
        return da_fail(r, 400, "ValidationException",
                       "Either ClusterIdentifier or WorkgroupName must be "
                       "specified");
    }

    if (id->cluster != NULL && id->workgroup != NULL) {
        return da_fail(r, 400, "ValidationException",
                       "ClusterIdentifier and WorkgroupName cannot both be "
                       "specified");
    }

    if (id->secret_arn != NULL) {
        if (id->db_user != NULL) {
            return da_fail(r, 400, "ValidationException",
                           "DbUser and SecretArn cannot both be specified");
        }

        /* the db user is the secret's username, as Secrets Manager's */
        if (da_secret_user(ctx, id->secret_arn, &id->secret_user) != 0) {
            return da_fail(r, 400, "ValidationException",
                           "Secrets Manager can't find the specified "
                           "secret.");
        }

        id->db_user = id->secret_user;
    }

    if (id->db_user == NULL) {
        return da_fail(r, 400, "ValidationException",
                       "Either DbUser or SecretArn must be specified");
    }

    return 0;
}


/* Parameters: [{"name": "[0-9a-zA-Z_]+", "value": "..."}] */
static int
da_params(da_request_t *r, json_t **params)
{
    json_t       *p, *item, *name, *value;
    const char   *s;
    size_t        i;

    *params = NULL;
    p = json_object_get(r->body, "Parameters");

    if (p == NULL || json_is_null(p)) {
        return 0;
    }

    if (!json_is_array(p)) {
        return da_fail(r, 400, "SerializationException",
                       "Value of 'Parameters' must be a list");
    }

    if (json_array_size(p) < 1 || json_array_size(p) > DA_MAX_PARAMS) {
        return da_fail(r, 400, "ValidationException",
                       "1 validation error detected: Value at 'parameters' "
                       "failed to satisfy constraint: Member must have "
                       "length between 1 and %d", DA_MAX_PARAMS);
    }

    json_array_foreach(p, i, item) {
        name = json_object_get(item, "name");
        value = json_object_get(item, "value");

        if (!json_is_object(item) || !json_is_string(name)
            || !json_is_string(value) || json_object_size(item) != 2)
        {
            return da_fail(r, 400, "ValidationException",
                           "Each parameter needs a string 'name' and a "
                           "string 'value'");
        }

        s = json_string_value(name);
        if (*s == '\0' || strspn(s, "abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789_") != strlen(s))
        {
            return da_fail(r, 400, "ValidationException",
                           "Parameter name \"%.64s\" must match "
                           "[0-9a-zA-Z_]+", s);
        }

        if (json_string_length(value) == 0
            || strlen(json_string_value(value)) != json_string_length(value))
        {
            return da_fail(r, 400, "ValidationException",
                           "Parameter \"%.64s\" needs a non-empty value "
                           "without NUL characters", s);
        }
    }

    *params = p;

    return 0;
}


static void
da_fingerprint(json_t *body, char *out)
{
    json_t  *copy;
    char    *text;

    copy = json_deep_copy(body);
    if (copy != NULL) {
        json_object_del(copy, "ClientToken");
    }

    text = copy != NULL ? json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT)
                        : NULL;

    if (text == NULL) {
        memset(out, '0', 64);

    } else {
        spectra_sigv4_sha256_hex((const u_char *) text, strlen(text),
                                 (u_char *) out);
    }

    out[64] = '\0';
    free(text);
    json_decref(copy);
}


static da_stmt_t *
da_stmt_from(da_request_t *r, da_identity_t *id)
{
    da_stmt_t  *s;

    s = da_stmt_new();
    if (s == NULL) {
        return NULL;
    }

    da_uuid(s->id);

#define da_dup(field, value)                                                 \
    if ((value) != NULL && (s->field = strdup(value)) == NULL) {             \
        goto failed;                                                         \
    }

    da_dup(db_user, id->db_user);
    da_dup(database, id->database);
    da_dup(cluster, id->cluster);
    da_dup(workgroup, id->workgroup);
    da_dup(secret_arn, id->secret_arn);
    da_dup(statement_name, id->statement_name);
    da_dup(client_token, id->client_token);
    da_dup(access_key, r->access_key);
    da_dup(key_id, r->key_id);

#undef da_dup

    memcpy(s->fingerprint, id->fingerprint, sizeof(s->fingerprint));

    return s;

failed:

    da_stmt_unref(r->ctx, s);
    return NULL;
}


static json_t *
da_submit_reply(da_stmt_t *s)
{
    json_t  *o;

    o = json_pack("{s:s, s:f, s:s}", "Id", s->id, "CreatedAt", s->created_at,
                  "Database", s->database != NULL ? s->database : "");
    if (o == NULL) {
        return NULL;
    }

    if (s->db_user != NULL && s->secret_arn == NULL) {
        json_object_set_new(o, "DbUser", json_string(s->db_user));
    }

    if (s->cluster != NULL) {
        json_object_set_new(o, "ClusterIdentifier", json_string(s->cluster));
    }

    if (s->workgroup != NULL) {
        json_object_set_new(o, "WorkgroupName", json_string(s->workgroup));
    }

    if (s->secret_arn != NULL) {
        json_object_set_new(o, "SecretArn", json_string(s->secret_arn));
    }

    if (s->session != NULL) {
        json_object_set_new(o, "SessionId", json_string(s->session->id));
    }

    return o;
}


static void
da_wait_locked(da_ctx_t *ctx, da_stmt_t *s, json_int_t seconds)
{
    struct timespec  deadline;

    if (seconds <= 0) {
        return;
    }

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t) seconds;

    while (!da_is_terminal(s->status) && !ctx->stopping) {
        if (pthread_cond_timedwait(&s->state_cond, &ctx->lock, &deadline)
            != 0)
        {
            break;
        }
    }
}


/*
 * Idempotency, sessions, the queue and the store, all under the lock:
 * either the statement is accepted whole or nothing changes.
 */
static int
da_submit(da_request_t *r, da_identity_t *id, da_stmt_t *s)
{
    da_ctx_t      *ctx = r->ctx;
    da_stmt_t     *old;
    da_session_t  *se;
    da_user_t     *u;
    int            per_user, total;

    pthread_mutex_lock(&ctx->lock);

    if (id->client_token != NULL) {
        old = da_store_find_token_locked(ctx, id->client_token,
                                         r->access_key);
        if (old != NULL) {
            if (strcmp(old->fingerprint, id->fingerprint) != 0) {
                da_stmt_unref_locked(ctx, s);
                pthread_mutex_unlock(&ctx->lock);
                return da_fail(r, 400, "ValidationException",
                               "The ClientToken was already used with "
                               "different parameters");
            }

            r->reply = da_submit_reply(old);
            old->refs++;
            da_wait_locked(ctx, old, id->wait);
            da_stmt_unref_locked(ctx, old);
            pthread_mutex_unlock(&ctx->lock);
            da_stmt_unref(ctx, s);
            return 0;
        }
    }

    se = NULL;

    if (id->session_id != NULL) {
        se = da_session_find_locked(ctx, id->session_id, r->access_key);

        if (se == NULL || se->expires <= time(NULL)) {
            da_stmt_unref_locked(ctx, s);
            pthread_mutex_unlock(&ctx->lock);
            return da_fail(r, 400, "ValidationException",
                           "Session %s does not exist or has expired",
                           id->session_id);
        }

        if (se->busy) {
            da_stmt_unref_locked(ctx, s);
            pthread_mutex_unlock(&ctx->lock);
            return da_fail(r, 400, "ValidationException",
                           "Session %s is busy with another statement",
                           id->session_id);
        }

        free(s->db_user);
        s->db_user = strdup(se->db_user);
        if (s->db_user == NULL) {
            da_stmt_unref_locked(ctx, s);
            pthread_mutex_unlock(&ctx->lock);
            return da_fail(r, 500, "InternalServerException",
                           "Out of memory");
        }

        if (s->database == NULL) {
            s->database = strdup(ctx->database);
        }

    } else if (id->keepalive > 0) {
        /*
         * A session pins a connection of its own: one user may hold only
         * a share of them, and they always leave the pool one for others.
         */
        u = da_user_get_locked(ctx, s->db_user);
        per_user = ctx->max_sessions_per_user;
        total = ctx->pool_max > 1 && ctx->pool_max - 1 < ctx->max_sessions
                ? ctx->pool_max - 1 : ctx->max_sessions;

        if (u == NULL || ctx->nsessions >= total
            || u->nsessions >= per_user)
        {
            da_stmt_unref_locked(ctx, s);
            pthread_mutex_unlock(&ctx->lock);

            if (u != NULL && ctx->nsessions < total) {
                return da_fail(r, 400, "ActiveSessionsExceededException",
                               "Active sessions of db user %.64s exceeded "
                               "the allowed quota of %d", id->db_user,
                               per_user);
            }

            return da_fail(r, 400, "ActiveSessionsExceededException",
                           "Active sessions exceeded the allowed quota of "
                           "%d", total);
        }

        se = calloc(1, sizeof(da_session_t));
        if (se == NULL || (se->db_user = strdup(s->db_user)) == NULL
            || (se->access_key = strdup(r->access_key)) == NULL
            || (s->secret_arn != NULL
                && (se->secret_arn = strdup(s->secret_arn)) == NULL))
        {
            if (se != NULL) {
                free(se->db_user);
                free(se->access_key);
                free(se);
            }

            da_stmt_unref_locked(ctx, s);
            pthread_mutex_unlock(&ctx->lock);
            return da_fail(r, 500, "InternalServerException",
                           "Out of memory");
        }

        se->user = u;
        u->nsessions++;
        da_uuid(se->id);
        se->keepalive = (int) id->keepalive;
        se->expires = time(NULL) + se->keepalive;
        se->refs = 1;
        se->next = ctx->sessions;
        ctx->sessions = se;
        ctx->nsessions++;
    }

    if (se != NULL) {
        s->session = se;
        se->refs++;
    }

    if (da_enqueue_locked(ctx, s) != 0) {
        /* a new session stays, idle until it expires, like AWS's */
        s->session = NULL;
        if (se != NULL) {
            se->refs--;
        }

        da_stmt_unref_locked(ctx, s);
        pthread_mutex_unlock(&ctx->lock);
        return da_fail(r, 400, "ActiveStatementsExceededException",
                       "Active statements exceeded the allowed quota.");
    }

    if (se != NULL) {
        se->busy = 1;
    }

    da_store_add_locked(ctx, s);
    r->reply = da_submit_reply(s);
    da_wait_locked(ctx, s, id->wait);

    pthread_mutex_unlock(&ctx->lock);

    da_stmt_unref(ctx, s);

    return 0;
}


static void
da_op_execute(da_request_t *r)
{
    static const char  *known[] = {
        "Sql", "Database", "DbUser", "ClusterIdentifier", "WorkgroupName",
        "SecretArn", "Parameters", "StatementName", "WithEvent",
        "ClientToken", "SessionKeepAliveSeconds", "SessionId",
        "WaitTimeSeconds", "ResultFormat", NULL
    };
    da_identity_t   id;
    da_stmt_t      *s;
    da_unload_t    *unload;
    da_copy_t      *copy;
    const char     *sql, *format, **values;
    json_t         *params;
    char           *bound, err[256];
    int             nvalues, i;

    memset(&id, 0, sizeof(id));

    if (da_check_known(r, known) != 0
        || da_get_string(r, "Sql", 1, 1, DA_SQL_MAX, &sql) != 0
        || da_identity(r, &id) != 0)
    {
        free(id.secret_user);
        return;
    }

    if (da_get_string(r, "ResultFormat", 0, 1, 8, &format) != 0
        || da_params(r, &params) != 0)
    {
        goto done;
    }

    if (format != NULL && strcmp(format, "JSON") != 0) {
        da_fail(r, 400, "ValidationException",
                "ResultFormat %s is not supported; use JSON", format);
        goto done;
    }

    unload = NULL;
    copy = NULL;

    if (da_copy_prepare(r->ctx, sql, &copy, err, sizeof(err)) < 0) {
        da_fail(r, 400, "ValidationException", "%s", err);
        goto done;
    }

    if (copy != NULL && params != NULL) {
        da_copy_free(copy);
        da_fail(r, 400, "ValidationException", "COPY takes no parameters");
        goto done;
    }

    if (da_unload_prepare(r->ctx, sql, &unload, err, sizeof(err)) < 0
        || da_sql_bind(unload != NULL ? da_unload_query(unload) : sql,
                       params, &bound, &values, &nvalues, err, sizeof(err))
           != 0)
    {
        da_unload_free(unload);
        da_copy_free(copy);
        da_fail(r, 400, "ValidationException", "%s", err);
        goto done;
    }

    da_fingerprint(r->body, id.fingerprint);

    s = da_stmt_from(r, &id);
    if (s == NULL || (s->sql = strdup(sql)) == NULL) {
        free(bound);
        free(values);
        da_unload_free(unload);
        da_copy_free(copy);
        if (s != NULL) {
            da_stmt_unref(r->ctx, s);
        }

        da_fail(r, 500, "InternalServerException", "Out of memory");
        goto done;
    }

    s->bound_sql = bound;
    s->unload = unload;
    s->copy = copy;
    s->values = calloc((size_t) nvalues + 1, sizeof(char *));

    for (i = 0; s->values != NULL && i < nvalues; i++) {
        s->values[i] = strdup(values[i]);
        if (s->values[i] == NULL) {
            break;
        }

        s->nvalues++;
    }

    free(values);

    if (s->values == NULL || s->nvalues != nvalues) {
        da_stmt_unref(r->ctx, s);
        da_fail(r, 500, "InternalServerException", "Out of memory");
        goto done;
    }

    if (params != NULL) {
        s->parameters = json_deep_copy(params);
    }

    da_submit(r, &id, s);

done:

    free(id.secret_user);
}


static void
da_op_batch(da_request_t *r)
{
    static const char  *known[] = {
        "Sqls", "Database", "DbUser", "ClusterIdentifier", "WorkgroupName",
        "SecretArn", "StatementName", "WithEvent", "ClientToken",
        "SessionKeepAliveSeconds", "SessionId", "WaitTimeSeconds",
        "ResultFormat", NULL
    };
    da_identity_t   id;
    da_stmt_t      *s, *sub;
    da_unload_t    *unload;
    da_copy_t      *copy;
    json_t         *sqls, *item;
    const char    **values;
    char           *bound, err[256];
    size_t          i, total;
    int             nvalues;

    memset(&id, 0, sizeof(id));

    if (da_check_known(r, known) != 0 || da_identity(r, &id) != 0) {
        free(id.secret_user);
        return;
    }

    sqls = json_object_get(r->body, "Sqls");

    if (sqls == NULL || json_is_null(sqls)) {
        da_fail(r, 400, "ValidationException",
                "1 validation error detected: Value null at 'sqls' failed "
                "to satisfy constraint: Member must not be null");
        goto done;
    }

    if (!json_is_array(sqls)) {
        da_fail(r, 400, "SerializationException",
                "Value of 'Sqls' must be a list");
        goto done;
    }

    if (json_array_size(sqls) < 1 || json_array_size(sqls) > DA_MAX_BATCH) {
        da_fail(r, 400, "ValidationException",
                "1 validation error detected: Value at 'sqls' failed to "
                "satisfy constraint: Member must have length between 1 "
                "and %d", DA_MAX_BATCH);
        goto done;
    }

    total = 0;

    json_array_foreach(sqls, i, item) {
        if (!json_is_string(item) || json_string_length(item) == 0
            || strlen(json_string_value(item)) != json_string_length(item))
        {
            da_fail(r, 400, "ValidationException",
                    "Each member of 'Sqls' must be a non-empty string");
            goto done;
        }

        total += json_string_length(item);
    }

    if (total > DA_SQL_MAX) {
        da_fail(r, 400, "ValidationException",
                "The SQL statements are longer than %d bytes together",
                DA_SQL_MAX);
        goto done;
    }

    da_fingerprint(r->body, id.fingerprint);

    s = da_stmt_from(r, &id);
    if (s == NULL) {
        da_fail(r, 500, "InternalServerException", "Out of memory");
        goto done;
    }

    s->is_batch = 1;
    s->subs = calloc(json_array_size(sqls), sizeof(da_stmt_t *));
    if (s->subs == NULL) {
        da_stmt_unref(r->ctx, s);
        da_fail(r, 500, "InternalServerException", "Out of memory");
        goto done;
    }

    json_array_foreach(sqls, i, item) {
        unload = NULL;
        copy = NULL;

        if (da_copy_prepare(r->ctx, json_string_value(item), &copy, err,
                            sizeof(err)) < 0
            || da_unload_prepare(r->ctx, json_string_value(item), &unload,
                                 err, sizeof(err)) < 0
            || da_sql_bind(unload != NULL ? da_unload_query(unload)
                                          : json_string_value(item),
                           NULL, &bound, &values, &nvalues, err,
                           sizeof(err)) != 0)
        {
            da_unload_free(unload);
            da_copy_free(copy);
            da_stmt_unref(r->ctx, s);
            da_fail(r, 400, "ValidationException", "Sqls[%zu]: %s", i + 1,
                    err);
            goto done;
        }

        free(values);

        sub = da_stmt_new();
        if (sub == NULL) {
            free(bound);
            da_unload_free(unload);
            da_copy_free(copy);
            da_stmt_unref(r->ctx, s);
            da_fail(r, 500, "InternalServerException", "Out of memory");
            goto done;
        }

        s->subs[s->nsubs++] = sub;
        sub->parent = s;
        sub->bound_sql = bound;
        sub->unload = unload;
        sub->copy = copy;
        sub->created_at = s->created_at;
        sub->updated_at = s->created_at;
        snprintf(sub->id, sizeof(sub->id), "%.36s:%d", s->id,
                 (int) (i + 1) % 100);

        sub->sql = strdup(json_string_value(item));
        if (sub->sql == NULL) {
            da_stmt_unref(r->ctx, s);
            da_fail(r, 500, "InternalServerException", "Out of memory");
            goto done;
        }
    }

    da_submit(r, &id, s);

done:

    free(id.secret_user);
}


static da_stmt_t *
da_find(da_request_t *r, const char **idp)
{
    const char  *id;
    da_stmt_t   *s;

    if (da_get_string(r, "Id", 1, 1, 64, &id) != 0) {
        return NULL;
    }

    *idp = id;

    if (!da_valid_id(id)) {
        da_fail(r, 400, "ValidationException",
                "1 validation error detected: Value '%.64s' at 'id' failed "
                "to satisfy constraint: Member must satisfy regular "
                "expression pattern: ^[a-z0-9]{8}(-[a-z0-9]{4}){3}"
                "-[a-z0-9]{12}(:\\d+)?$", id);
        return NULL;
    }

    s = da_store_find_locked(r->ctx, id, r->access_key);

    if (s == NULL) {
        da_fail(r, 400, "ResourceNotFoundException",
                "Query does not exist.");
        r->error_statement_id = NULL;
        return NULL;
    }

    return s;
}


static json_t *
da_describe(da_stmt_t *s, int sub)
{
    json_t  *o, *list;
    int      i;

    o = json_pack("{s:s, s:s, s:f, s:f, s:I, s:b, s:I, s:I, s:I}",
                  "Id", s->id,
                  "Status", da_status_name(s->status),
                  "CreatedAt", s->created_at,
                  "UpdatedAt", s->updated_at,
                  "Duration", (json_int_t) s->duration_ns,
                  "HasResultSet", s->has_result_set,
                  "ResultRows", (json_int_t) s->result_rows,
                  "ResultSize", (json_int_t) s->result_size,
                  "RedshiftQueryId", (json_int_t) s->query_id);
    if (o == NULL) {
        return NULL;
    }

    if (s->sql != NULL) {
        json_object_set_new(o, "QueryString", json_string(s->sql));
    }

    if (s->error != NULL && s->status != DA_FINISHED) {
        json_object_set_new(o, "Error", json_string(s->error));
    }

    if (sub) {
        return o;
    }

    json_object_set_new(o, "RedshiftPid", json_integer(s->backend_pid));

    if (s->database != NULL) {
        json_object_set_new(o, "Database", json_string(s->database));
    }

    if (s->db_user != NULL) {
        json_object_set_new(o, "DbUser", json_string(s->db_user));
    }

    if (s->cluster != NULL) {
        json_object_set_new(o, "ClusterIdentifier", json_string(s->cluster));
    }

    if (s->workgroup != NULL) {
        json_object_set_new(o, "WorkgroupName", json_string(s->workgroup));
    }

    if (s->secret_arn != NULL) {
        json_object_set_new(o, "SecretArn", json_string(s->secret_arn));
    }

    if (s->session != NULL) {
        json_object_set_new(o, "SessionId", json_string(s->session->id));
    }

    if (s->parameters != NULL) {
        json_object_set(o, "QueryParameters", s->parameters);
    }

    if (s->is_batch) {
        list = json_array();
        json_object_set_new(o, "SubStatements", list);

        for (i = 0; i < s->nsubs && list != NULL; i++) {
            json_array_append_new(list, da_describe(s->subs[i], 1));
        }
    }

    return o;
}


static void
da_op_describe(da_request_t *r)
{
    static const char  *known[] = { "Id", "WaitTimeSeconds", NULL };
    da_stmt_t          *s;
    const char         *id;
    json_int_t          wait;

    wait = 0;

    if (da_check_known(r, known) != 0
        || da_get_int(r, "WaitTimeSeconds", 0, r->ctx->max_wait, &wait) != 0)
    {
        return;
    }

    pthread_mutex_lock(&r->ctx->lock);

    s = da_find(r, &id);

    if (s != NULL) {
        /* a sub-statement lives as long as its parent */
        (s->parent != NULL ? s->parent : s)->refs++;
        da_wait_locked(r->ctx, s->parent != NULL ? s->parent : s, wait);
        r->reply = da_describe(s, s->parent != NULL);
        da_stmt_unref_locked(r->ctx, s->parent != NULL ? s->parent : s);
    }

    pthread_mutex_unlock(&r->ctx->lock);
}


static char *
da_token_encode(const char *id, size_t offset)
{
    char    raw[128];
    char   *out;
    int     n;

    n = snprintf(raw, sizeof(raw), "v1|%s|%zu", id, offset);
    out = malloc(4 * ((size_t) n + 2) / 3 + 4);
    if (out != NULL) {
        EVP_EncodeBlock((u_char *) out, (u_char *) raw, n);
    }

    return out;
}


static int
da_token_decode(const char *token, const char *id, size_t *offset)
{
    u_char   raw[160];
    size_t   len, idlen;
    char    *end;
    int      n;

    len = strlen(token);
    if (len == 0 || len > 200 || len % 4 != 0) {
        return -1;
    }

    n = EVP_DecodeBlock(raw, (const u_char *) token, (int) len);
    if (n < 0) {
        return -1;
    }

    while (n > 0 && raw[n - 1] == '\0') {
        n--;
    }

    raw[n] = '\0';
    idlen = strlen(id);

    if (strncmp((char *) raw, "v1|", 3) != 0
        || strncmp((char *) raw + 3, id, idlen) != 0 || raw[3 + idlen] != '|'
        || !isdigit(raw[4 + idlen]))
    {
        return -1;
    }

    *offset = strtoul((char *) raw + 4 + idlen, &end, 10);

    return *end == '\0' ? 0 : -1;
}


static void
da_op_result(da_request_t *r)
{
    static const char  *known[] = { "Id", "NextToken", "Format", NULL };
    da_stmt_t          *s, *hold;
    da_page_t          *page;
    const char         *id, *token;
    size_t              offset, end;
    char               *t;

    if (da_check_known(r, known) != 0
        || da_get_string(r, "NextToken", 0, 1, 1024, &token) != 0)
    {
        return;
    }

    pthread_mutex_lock(&r->ctx->lock);

    s = da_find(r, &id);

    if (s == NULL) {
        pthread_mutex_unlock(&r->ctx->lock);
        return;
    }

    if (s->is_batch) {
        pthread_mutex_unlock(&r->ctx->lock);
        da_fail(r, 400, "ValidationException",
                "%s is a batch statement: ask for the result of a "
                "sub-statement, e.g. %s:1", s->id, s->id);
        return;
    }

    if (s->status != DA_FINISHED || !s->has_result_set || s->result == NULL)
    {
        pthread_mutex_unlock(&r->ctx->lock);
        da_fail(r, 400, "ResourceNotFoundException",
                "Query does not have result. Please check query status "
                "with DescribeStatement.");
        return;
    }

    /* a sub-statement lives as long as its parent */
    hold = s->parent != NULL ? s->parent : s;
    hold->refs++;
    pthread_mutex_unlock(&r->ctx->lock);

    offset = 0;

    if (token != NULL
        && (da_token_decode(token, s->id, &offset) != 0
            || offset >= s->result->nrows))
    {
        da_fail(r, 400, "ValidationException", "Invalid NextToken");
        da_stmt_unref(r->ctx, hold);
        return;
    }

    end = da_result_page_end(r->ctx, s->result, offset);
    t = NULL;

    if (end < s->result->nrows) {
        t = da_token_encode(s->id, end);
    }

    page = calloc(1, sizeof(da_page_t));

    if (page != NULL && (end == s->result->nrows || t != NULL)
        && da_result_page(s->result, offset, end, t, page) == 0)
    {
        /* the reference goes with the page until it is sent */
        page->ctx = r->ctx;
        page->hold = hold;
        r->page = page;

    } else {
        free(page);
        da_fail(r, 500, "InternalServerException",
                "The result could not be encoded");
        da_stmt_unref(r->ctx, hold);
    }

    free(t);
}


static void
da_op_cancel(da_request_t *r)
{
    static const char  *known[] = { "Id", NULL };
    da_stmt_t          *s;
    const char         *id;

    if (da_check_known(r, known) != 0) {
        return;
    }

    pthread_mutex_lock(&r->ctx->lock);

    s = da_find(r, &id);

    if (s != NULL) {
        if (s->parent != NULL) {
            s = s->parent;
        }

        if (da_cancel_locked(r->ctx, s) != 0) {
            da_fail(r, 400, "ValidationException",
                    "Could not cancel a query that is already in %s state.",
                    da_status_name(s->status));

        } else {
            r->reply = json_pack("{s:b}", "Status", 1);
        }
    }

    pthread_mutex_unlock(&r->ctx->lock);
}


static void
da_op_list(da_request_t *r)
{
    static const char  *known[] = {
        "MaxResults", "NextToken", "RoleLevel", "StatementName", "Status",
        NULL
    };
    static const char  *statuses[] = {
        "SUBMITTED", "PICKED", "STARTED", "FINISHED", "FAILED", "ABORTED",
        "ALL", NULL
    };
    da_stmt_t          *s;
    json_t             *list, *o, *strings;
    const char         *token, *name, *status;
    json_int_t          max;
    uint64_t            before;
    char               *end, buf[32];
    int                 want, i, n;

    max = DA_LIST_MAX;

    if (da_check_known(r, known) != 0
        || da_get_int(r, "MaxResults", 0, DA_LIST_MAX, &max) != 0
        || da_get_string(r, "NextToken", 0, 1, 64, &token) != 0
        || da_get_string(r, "StatementName", 0, 0, DA_NAME_MAX, &name) != 0
        || da_get_string(r, "Status", 0, 1, 16, &status) != 0)
    {
        return;
    }

    if (max == 0) {
        max = DA_LIST_MAX;
    }

    want = -1;

    if (status != NULL) {
        for (i = 0; statuses[i] != NULL; i++) {
            if (strcmp(status, statuses[i]) == 0) {
                break;
            }
        }

        if (statuses[i] == NULL) {
            da_fail(r, 400, "ValidationException",
                    "1 validation error detected: Value '%.16s' at 'status' "
                    "failed to satisfy constraint: Member must satisfy enum "
                    "value set: [SUBMITTED, PICKED, STARTED, FINISHED, "
                    "ABORTED, FAILED, ALL]", status);
            return;
        }

        want = (i == 6) ? -1 : i;
    }

    before = UINT64_MAX;

    if (token != NULL) {
        before = strtoull(token, &end, 10);
        if (*end != '\0' || before == 0 || !isdigit((u_char) token[0])) {
            da_fail(r, 400, "ValidationException", "Invalid NextToken");
            return;
        }
    }

    r->reply = json_object();
    list = json_array();
    if (r->reply == NULL || list == NULL) {
        json_decref(list);
        da_fail(r, 500, "InternalServerException", "Out of memory");
        return;
    }

    json_object_set_new(r->reply, "Statements", list);
    n = 0;

    pthread_mutex_lock(&r->ctx->lock);

    for (s = r->ctx->all_tail; s != NULL; s = s->all_prev) {
        if (s->seq >= before || strcmp(s->access_key, r->access_key) != 0
            || (want >= 0 && (int) s->status != want)
            || (name != NULL
                && (s->statement_name == NULL
                    || strncmp(s->statement_name, name, strlen(name)) != 0)))
        {
            continue;
        }

        if (n == max) {
            snprintf(buf, sizeof(buf), "%llu",
                     (unsigned long long) s->seq + 1);
            json_object_set_new(r->reply, "NextToken", json_string(buf));
            break;
        }

        o = json_pack("{s:s, s:s, s:f, s:f, s:b}",
                      "Id", s->id,
                      "Status", da_status_name(s->status),
                      "CreatedAt", s->created_at,
                      "UpdatedAt", s->updated_at,
                      "IsBatchStatement", s->is_batch);
        if (o == NULL) {
            continue;
        }

        if (s->is_batch) {
            strings = json_array();
            for (i = 0; i < s->nsubs && strings != NULL; i++) {
                json_array_append_new(strings, json_string(s->subs[i]->sql));
            }

            json_object_set_new(o, "QueryStrings", strings);

        } else {
            json_object_set_new(o, "QueryString", json_string(s->sql));
        }

        if (s->statement_name != NULL) {
            json_object_set_new(o, "StatementName",
                                json_string(s->statement_name));
        }

        if (s->secret_arn != NULL) {
            json_object_set_new(o, "SecretArn", json_string(s->secret_arn));
        }

        if (s->parameters != NULL) {
            json_object_set(o, "QueryParameters", s->parameters);
        }

        json_array_append_new(list, o);
        n++;
    }

    pthread_mutex_unlock(&r->ctx->lock);
}


#define DA_CAT_DATABASES  0
#define DA_CAT_SCHEMAS    1
#define DA_CAT_TABLES     2
#define DA_CAT_COLUMNS    3

#define DA_PAGE_MAX       1000      /* PageSize, as the model */


/*
 * Runs a catalog query as the identity's db user through the worker queue
 * (so the same role checks apply) and waits for it. Returns the finished
 * statement (the caller unrefs it), or NULL with the error set.
 */
static da_stmt_t *
da_catalog_run(da_request_t *r, da_identity_t *id, const char *sql,
    const char **values, int nvalues)
{
    da_ctx_t   *ctx = r->ctx;
    da_stmt_t  *s;
    int         i;

    s = da_stmt_from(r, id);
    if (s == NULL) {
        da_fail(r, 500, "InternalServerException", "Out of memory");
        return NULL;
    }

    s->internal = 1;
    s->bound_sql = strdup(sql);
    s->values = calloc((size_t) nvalues + 1, sizeof(char *));

    for (i = 0; s->values != NULL && i < nvalues; i++) {
        s->values[i] = strdup(values[i]);
        s->nvalues++;
    }

    if (s->bound_sql == NULL || s->values == NULL || s->nvalues != nvalues) {
        da_stmt_unref(ctx, s);
        da_fail(r, 500, "InternalServerException", "Out of memory");
        return NULL;
    }

    pthread_mutex_lock(&ctx->lock);

    if (da_enqueue_locked(ctx, s) != 0) {
        da_stmt_unref_locked(ctx, s);
        pthread_mutex_unlock(&ctx->lock);
        da_fail(r, 400, "ActiveStatementsExceededException",
                "Active statements exceeded the allowed quota.");
        return NULL;
    }

    da_wait_locked(ctx, s, ctx->max_wait > 0 ? ctx->max_wait : 1);

    if (!da_is_terminal(s->status)) {
        da_cancel_locked(ctx, s);
        da_stmt_unref_locked(ctx, s);
        pthread_mutex_unlock(&ctx->lock);
        da_fail(r, 500, "InternalServerException",
                "The catalog query did not finish in time");
        return NULL;
    }

    pthread_mutex_unlock(&ctx->lock);

    if (s->status != DA_FINISHED || s->result == NULL) {
        da_fail(r, 400, strcmp(s->sqlstate, "28000") == 0
                        ? "ValidationException"
                        : "DatabaseConnectionException",
                "%s", s->error != NULL ? s->error : "The query failed");
        da_stmt_unref(ctx, s);
        return NULL;
    }

    return s;
}


/*
 * ListDatabases, ListSchemas, ListTables, DescribeTable: the catalogs as
 * the db user sees them, paged by MaxResults (1000 at most) and a NextToken
 * holding the offset.
 */
static void
da_op_catalog(da_request_t *r, int kind)
{
    static const char  *known[] = {
        "Database", "DbUser", "ClusterIdentifier", "WorkgroupName",
        "SecretArn", "ConnectedDatabase", "MaxResults", "NextToken",
        "SchemaPattern", "TablePattern", "Schema", "Table", NULL
    };
    static const char  *sql[] = {
        NULL,
        "select nspname from pg_catalog.pg_namespace"
        " where nspname like $1 and nspname not like 'pg\\_toast%'"
        " and nspname not like 'pg\\_temp\\_%'"
        " order by 1 offset $2::int8 limit $3::int8",
        "select n.nspname, c.relname, case c.relkind"
        "  when 'v' then 'VIEW' when 'm' then 'MATERIALIZED VIEW'"
        "  when 'f' then 'EXTERNAL TABLE'"
        "  else case when n.nspname in ('pg_catalog', 'information_schema')"
        "   then 'SYSTEM TABLE' else 'TABLE' end end"
        " from pg_catalog.pg_class c"
        " join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
        " where c.relkind in ('r', 'p', 'v', 'm', 'f')"
        " and n.nspname like $1 and c.relname like $2"
        " and n.nspname not like 'pg\\_temp\\_%'"
        " order by 1, 2 offset $3::int8 limit $4::int8",
        "select a.attname, a.atttypid, a.atttypmod, a.attrelid, a.attnum,"
        " n.nspname, c.relname, a.attnotnull,"
        " pg_catalog.pg_get_expr(d.adbin, d.adrelid), t.typname"
        " from pg_catalog.pg_attribute a"
        " join pg_catalog.pg_class c on c.oid = a.attrelid"
        " join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
        " join pg_catalog.pg_type t on t.oid = a.atttypid"
        " left join pg_catalog.pg_attrdef d"
        "  on d.adrelid = a.attrelid and d.adnum = a.attnum"
        " where n.nspname = $1 and c.relname = $2 and a.attnum > 0"
        " and not a.attisdropped"
        " order by a.attnum offset $3::int8 limit $4::int8"
    };
    da_identity_t   id;
    da_stmt_t      *s;
    da_column_t     col;
    const char     *values[4], *connected, *token, *schema, *table;
    const u_char   *v[10];
    uint32_t        len[10];
    json_t         *list, *item;
    json_int_t      max;
    char            offset_buf[32], limit_buf[32], *end;
    size_t          row, nrows;
    long long       offset;
    int             nvalues, i;

    memset(&id, 0, sizeof(id));
    max = DA_PAGE_MAX;

    if (da_check_known(r, known) != 0 || da_identity(r, &id) != 0
        || da_get_string(r, "ConnectedDatabase", 0, 1, 127, &connected) != 0
        || da_get_string(r, "NextToken", 0, 1, 32, &token) != 0
        || da_get_int(r, "MaxResults", 0, DA_PAGE_MAX, &max) != 0)
    {
        goto done;
    }

    if (id.session_id != NULL) {
        da_fail(r, 400, "ValidationException",
                "SessionId is not accepted by this operation");
        goto done;
    }

    if (connected != NULL && strcmp(connected, r->ctx->database) != 0) {
        da_fail(r, 400, "ValidationException",
                "Database \"%.127s\" does not exist on this endpoint",
                connected);
        goto done;
    }

    if (max == 0) {
        max = DA_PAGE_MAX;
    }

    offset = 0;

    if (token != NULL) {
        offset = strtoll(token, &end, 10);
        if (*end != '\0' || offset <= 0 || !isdigit((u_char) token[0])) {
            da_fail(r, 400, "ValidationException", "Invalid NextToken");
            goto done;
        }
    }

    if (kind == DA_CAT_DATABASES) {
        /* one database per endpoint */
        r->reply = json_pack("{s:[s]}", "Databases",
                             offset == 0 ? r->ctx->database : "");
        if (r->reply != NULL && offset != 0) {
            json_array_clear(json_object_get(r->reply, "Databases"));
        }

        goto done;
    }

    snprintf(offset_buf, sizeof(offset_buf), "%lld", offset);
    snprintf(limit_buf, sizeof(limit_buf), "%lld", (long long) max + 1);
    nvalues = 0;

    if (kind == DA_CAT_SCHEMAS) {
        if (da_get_string(r, "SchemaPattern", 0, 1, 256, &schema) != 0) {
            goto done;
        }

        values[nvalues++] = schema != NULL ? schema : "%";

    } else if (kind == DA_CAT_TABLES) {
        if (da_get_string(r, "SchemaPattern", 0, 1, 256, &schema) != 0
            || da_get_string(r, "TablePattern", 0, 1, 256, &table) != 0)
        {
            goto done;
        }

        values[nvalues++] = schema != NULL ? schema : "%";
        values[nvalues++] = table != NULL ? table : "%";

    } else {
        if (da_get_string(r, "Schema", 0, 1, 128, &schema) != 0
            || da_get_string(r, "Table", 1, 1, 128, &table) != 0)
        {
            goto done;
        }

        values[nvalues++] = schema != NULL ? schema : "public";
        values[nvalues++] = table;
    }

    values[nvalues++] = offset_buf;
    values[nvalues++] = limit_buf;

    s = da_catalog_run(r, &id, sql[kind], values, nvalues);
    if (s == NULL) {
        goto done;
    }

    list = json_array();
    nrows = s->result->nrows;

    for (row = 0; list != NULL && row < nrows && row < (size_t) max; row++) {
        for (i = 0; i < s->result->ncolumns && i < 10; i++) {
            v[i] = da_result_value(s->result, row, i, &len[i]);
        }

#define da_val(i)  (v[i] != NULL ? (const char *) v[i] : "")

        if (kind == DA_CAT_SCHEMAS) {
            item = json_stringn(da_val(0), len[0]);

        } else if (kind == DA_CAT_TABLES) {
            item = json_pack("{s:s%, s:s%, s:s%}",
                             "schema", da_val(0), (size_t) len[0],
                             "name", da_val(1), (size_t) len[1],
                             "type", da_val(2), (size_t) len[2]);

        } else {
            memset(&col, 0, sizeof(col));
            col.name = strndup(da_val(0), len[0]);
            col.type = (Oid) strtoul(da_val(1), NULL, 10);
            col.typmod = atoi(da_val(2));
            col.table = (Oid) strtoul(da_val(3), NULL, 10);
            col.column = atoi(da_val(4));
            col.schema = strndup(da_val(5), len[5]);
            col.table_name = strndup(da_val(6), len[6]);
            col.not_null = da_val(7)[0] == 't';
            col.column_default = v[8] != NULL ? strndup(da_val(8), len[8])
                                              : NULL;
            col.type_name = strndup(da_val(9), len[9]);

            item = (col.name != NULL && col.schema != NULL
                    && col.table_name != NULL && col.type_name != NULL)
                   ? da_column_metadata(&col) : NULL;

            free(col.name);
            free(col.schema);
            free(col.table_name);
            free(col.column_default);
            free(col.type_name);
        }

#undef da_val

        if (item == NULL || json_array_append_new(list, item) != 0) {
            json_decref(list);
            list = NULL;
        }
    }

    if (list == NULL) {
        da_stmt_unref(r->ctx, s);
        da_fail(r, 500, "InternalServerException", "Out of memory");
        goto done;
    }

    r->reply = json_object();
    if (r->reply == NULL) {
        json_decref(list);
        da_stmt_unref(r->ctx, s);
        goto done;
    }

    json_object_set_new(r->reply, kind == DA_CAT_SCHEMAS ? "Schemas"
                                  : kind == DA_CAT_TABLES ? "Tables"
                                                          : "ColumnList",
                        list);

    if (kind == DA_CAT_COLUMNS) {
        json_object_set_new(r->reply, "TableName", json_string(table));
    }

    if (nrows > (size_t) max) {
        snprintf(offset_buf, sizeof(offset_buf), "%lld",
                 offset + (long long) max);
        json_object_set_new(r->reply, "NextToken", json_string(offset_buf));
    }

    da_stmt_unref(r->ctx, s);

done:

    free(id.secret_user);
}


static void
da_op_list_databases(da_request_t *r)
{
    da_op_catalog(r, DA_CAT_DATABASES);
}


static void
da_op_list_schemas(da_request_t *r)
{
    da_op_catalog(r, DA_CAT_SCHEMAS);
}


static void
da_op_list_tables(da_request_t *r)
{
    da_op_catalog(r, DA_CAT_TABLES);
}


static void
da_op_describe_table(da_request_t *r)
{
    da_op_catalog(r, DA_CAT_COLUMNS);
}


void
da_dispatch(da_request_t *r, const char *operation)
{
    static const struct {
        const char  *name;
        void       (*handler)(da_request_t *r);
    } ops[] = {
        { "ExecuteStatement", da_op_execute },
        { "BatchExecuteStatement", da_op_batch },
        { "DescribeStatement", da_op_describe },
        { "GetStatementResult", da_op_result },
        { "CancelStatement", da_op_cancel },
        { "ListStatements", da_op_list },
        { "ListDatabases", da_op_list_databases },
        { "ListSchemas", da_op_list_schemas },
        { "ListTables", da_op_list_tables },
        { "DescribeTable", da_op_describe_table },
        { NULL, NULL }
    };
    int  i;

    for (i = 0; ops[i].name != NULL; i++) {
        if (strcmp(operation, ops[i].name) == 0) {
            r->status = 200;
            ops[i].handler(r);

            if (r->reply == NULL && r->text == NULL && r->page == NULL
                && r->error_type == NULL)
            {
                da_fail(r, 500, "InternalServerException",
                        "The response could not be built");
            }

            return;
        }
    }

    da_fail(r, 400, "UnknownOperationException",
            "Unknown operation %.64s", operation);
}
