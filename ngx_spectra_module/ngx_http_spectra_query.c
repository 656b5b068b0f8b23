/*
 * POST /v1/queries: check the caller's SQL, record the job, run the
 * statement through the Data API as the tenant's database user, wait for
 * it (polling with backoff), and answer with its rows, or 202 with the
 * job when it outlives wait_timeout_seconds.
 */


#include "ngx_http_spectra_module.h"

#include <jansson.h>


#define NGX_HTTP_SPECTRA_MAX_PARAMS  64
#define NGX_HTTP_SPECTRA_MAX_BODY    (16 * 1024 * 1024)


static void ngx_http_spectra_query_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_spectra_query_parse(ngx_http_request_t *r,
    ngx_str_t *body, ngx_http_spectra_query_t *q);
static ngx_int_t ngx_http_spectra_query_params(ngx_http_request_t *r,
    json_t *params, ngx_http_spectra_query_t *q);
static ngx_int_t ngx_http_spectra_query_check(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
static ngx_int_t ngx_http_spectra_query_execute(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
static ngx_int_t ngx_http_spectra_query_submit(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
static void ngx_http_spectra_query_executed(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
static void ngx_http_spectra_query_described(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
static void ngx_http_spectra_query_cancelled(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
static ngx_uint_t ngx_http_spectra_long_poll(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);


ngx_int_t
ngx_http_spectra_queries(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_int_t                   rc;
    ngx_http_spectra_tenant_t  *tenant;

    rc = ngx_http_spectra_caller(r, NGX_HTTP_SPECTRA_PERM_QUERY, &tenant);
    if (rc != NGX_OK) {
        return ngx_http_spectra_answered(r, rc);
    }

    if (ngx_http_spectra_is_json(r) != NGX_OK) {
        return ngx_http_spectra_fail(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "UNSUPPORTED_MEDIA_TYPE",
                                     "the request body must be "
                                     "application/json");
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_spectra_query_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_spectra_query_body(ngx_http_request_t *r)
{
    off_t                      max;
    ngx_int_t                  rc;
    ngx_str_t                  body;
    ngx_http_spectra_ctx_t    *ctx;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    /* nginx enforced client_max_body_size already; 0 means no limit */
    max = clcf->client_max_body_size ? clcf->client_max_body_size
                                     : NGX_HTTP_SPECTRA_MAX_BODY;

    ctx = ngx_http_spectra_get_ctx(r);
    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_spectra_body_string(r, (size_t) max, &body);

    if (rc == NGX_DECLINED) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "PAYLOAD_TOO_LARGE",
                                  "the request body is larger than %O "
                                  "bytes", max));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_spectra_query_parse(r, &body, &ctx->query);

    if (rc == NGX_OK) {
        rc = ngx_http_spectra_query_check(r, ctx);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_spectra_job_start(r, ctx, &body);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_spectra_query_execute(r, ctx);
    }

    if (rc == NGX_AGAIN) {
        /* a replay of a finished job fetches its rows again */
        rc = NGX_OK;
    }

    if (rc != NGX_OK) {
        /* NGX_DONE: an answer was sent, and ctx->rc is how that went */
        ngx_http_spectra_finish(r, rc == NGX_DONE ? ctx->rc : rc);
        return;
    }

    ngx_http_spectra_watch_client(r);
}


/*
 * Parses and validates the body; on a bad request answers 400 itself and
 * returns what sending that answer returned.
 */

static ngx_int_t
ngx_http_spectra_query_parse(ngx_http_request_t *r, ngx_str_t *body,
    ngx_http_spectra_query_t *q)
{
    const char                   *key, *s;
    json_t                       *root, *value, *params;
    ngx_int_t                     rc;
    json_int_t                    n;
    json_error_t                  err;
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    ngx_memzero(q, sizeof(ngx_http_spectra_query_t));
    q->wait_timeout = slcf->wait_timeout;
    q->timeout = slcf->query_timeout;
    q->row_limit = slcf->row_limit;
    q->format = SPECTRA_RESULT_OBJECTS;

    if (body->len == 0) {
        return ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                     "INVALID_REQUEST",
                                     "the request body is empty");
    }

    /* any JSON value parses, so that a valid non-object gets its message */
    root = json_loadb((const char *) body->data, body->len,
                      JSON_REJECT_DUPLICATES|JSON_DECODE_ANY, &err);

    if (root == NULL) {
        return ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                     "INVALID_REQUEST",
                                     "malformed JSON at line %d, column %d: "
                                     "%s", err.line, err.column, err.text);
    }

    if (!json_is_object(root)) {
        rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                   "INVALID_REQUEST",
                                   "the request body must be a JSON object");
        goto done;
    }

    params = NULL;

    json_object_foreach(root, key, value) {

        if (ngx_strcmp(key, "sql") == 0) {
            if (!json_is_string(value)) {
                goto bad_type;
            }

            q->sql.len = json_string_length(value);
            q->sql.data = ngx_pnalloc(r->pool, q->sql.len + 1);
            if (q->sql.data == NULL) {
                rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
                goto done;
            }

            ngx_memcpy(q->sql.data, json_string_value(value), q->sql.len);
            q->sql.data[q->sql.len] = '\0';

        } else if (ngx_strcmp(key, "parameters") == 0) {
            if (!json_is_array(value)) {
                goto bad_type;
            }

            params = value;

        } else if (ngx_strcmp(key, "wait_timeout_seconds") == 0) {
            if (!json_is_integer(value)) {
                goto bad_type;
            }

            n = json_integer_value(value);

            if (n < 0 || (ngx_msec_t) n * 1000 > slcf->query_timeout) {
                rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                           "INVALID_REQUEST",
                                           "wait_timeout_seconds must be "
                                           "0 to %M",
                                           slcf->query_timeout / 1000);
                goto done;
            }

            q->wait_timeout = (ngx_msec_t) n * 1000;

        } else if (ngx_strcmp(key, "timeout_seconds") == 0) {
            if (!json_is_integer(value)) {
                goto bad_type;
            }

            n = json_integer_value(value);

            if (n < 1 || (ngx_msec_t) n * 1000 > slcf->query_timeout) {
                rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                           "INVALID_REQUEST",
                                           "timeout_seconds must be "
                                           "1 to %M",
                                           slcf->query_timeout / 1000);
                goto done;
            }

            q->timeout = (ngx_msec_t) n * 1000;

        } else if (ngx_strcmp(key, "on_wait_timeout") == 0) {
            if (!json_is_string(value)) {
                goto bad_type;
            }

            s = json_string_value(value);

            if (ngx_strcmp(s, "continue") == 0) {
                q->cancel_on_wait_timeout = 0;

            } else if (ngx_strcmp(s, "cancel") == 0) {
                q->cancel_on_wait_timeout = 1;

            } else {
                rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                           "INVALID_REQUEST",
                                           "on_wait_timeout must be "
                                           "\"continue\" or \"cancel\"");
                goto done;
            }

        } else if (ngx_strcmp(key, "row_limit") == 0) {
            if (!json_is_integer(value)) {
                goto bad_type;
            }

            n = json_integer_value(value);

            if (n < 1 || (ngx_uint_t) n > slcf->row_limit) {
                rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                           "INVALID_REQUEST",
                                           "row_limit must be 1 to %ui "
                                           "(use the bulk API for more "
                                           "rows)", slcf->row_limit);
                goto done;
            }

            q->row_limit = (ngx_uint_t) n;

        } else if (ngx_strcmp(key, "result_format") == 0) {
            if (!json_is_string(value)) {
                goto bad_type;
            }

            s = json_string_value(value);

            if (ngx_strcmp(s, "objects") == 0) {
                q->format = SPECTRA_RESULT_OBJECTS;

            } else if (ngx_strcmp(s, "arrays") == 0) {
                q->format = SPECTRA_RESULT_ARRAYS;

            } else {
                rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                           "INVALID_REQUEST",
                                           "result_format must be "
                                           "\"objects\" or \"arrays\"");
                goto done;
            }

        } else if (ngx_strcmp(key, "idempotency_key") == 0) {
            if (!json_is_string(value)) {
                goto bad_type;
            }

            if (ngx_http_spectra_token_valid(
                    (u_char *) json_string_value(value),
                    json_string_length(value), 64)
                != NGX_OK)
            {
                rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                           "INVALID_REQUEST",
                                           "idempotency_key must be 1 to 64 "
                                           "characters of A-Z a-z 0-9 . _ : "
                                           "-");
                goto done;
            }

            q->idempotency_key.len = json_string_length(value);
            q->idempotency_key.data = ngx_pnalloc(r->pool,
                                                  q->idempotency_key.len);
            if (q->idempotency_key.data == NULL) {
                rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
                goto done;
            }

            ngx_memcpy(q->idempotency_key.data, json_string_value(value),
                       q->idempotency_key.len);

        } else {
            rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                       "INVALID_REQUEST",
                                       "unknown field \"%s\"", key);
            goto done;
        }
    }

    if (q->sql.data == NULL) {
        rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                   "INVALID_REQUEST",
                                   "the field \"sql\" is required");
        goto done;
    }

    if (q->wait_timeout > q->timeout) {
        q->wait_timeout = q->timeout;
    }

    rc = ngx_http_spectra_query_params(r, params, q);

done:

    json_decref(root);

    return rc;

bad_type:

    rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST, "INVALID_REQUEST",
                               "the field \"%s\" has the wrong type", key);
    json_decref(root);

    return rc;
}


/*
 * "parameters": [{"name": "since", "value": "2026-01-01"}, ...] becomes the
 * Data API's Parameters array (values are always strings there); every
 * name must be an identifier, given once, and used by the SQL.
 */

static ngx_int_t
ngx_http_spectra_query_params(ngx_http_request_t *r, json_t *params,
    ngx_http_spectra_query_t *q)
{
    char                *dump;
    size_t               i, j, n, nnames;
    json_t              *item, *name, *value, *out, *p;
    ngx_int_t            rc;
    const char          *nm;
    spectra_sql_str_t    names[NGX_HTTP_SPECTRA_MAX_PARAMS];
    spectra_sql_error_t  err;
    u_char               buf[32];

    if (spectra_sql_params(q->sql.data, q->sql.len, names,
                           NGX_HTTP_SPECTRA_MAX_PARAMS, &nnames, &err)
        != SPECTRA_SQL_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: SQL rejected: %s", err.message);

        return ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST, "INVALID_SQL",
                                     "%s", err.message);
    }

    n = (params != NULL) ? json_array_size(params) : 0;

    out = json_array();
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = NGX_OK;

    for (i = 0; i < n; i++) {
        item = json_array_get(params, i);
        name = json_object_get(item, "name");
        value = json_object_get(item, "value");

        if (!json_is_object(item) || !json_is_string(name)
            || json_object_size(item) != 2 || value == NULL)
        {
            rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                       "INVALID_REQUEST",
                                       "parameters[%uz] must be "
                                       "{\"name\": ..., \"value\": ...}", i);
            goto done;
        }

        nm = json_string_value(name);

        if (ngx_http_spectra_token_valid((u_char *) nm,
                                         json_string_length(name), 64)
            != NGX_OK || ngx_strchr(nm, '.') || ngx_strchr(nm, ':')
            || ngx_strchr(nm, '-'))
        {
            rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                       "INVALID_REQUEST",
                                       "parameters[%uz]: invalid name", i);
            goto done;
        }

        for (j = 0; j < i; j++) {
            if (ngx_strcmp(json_string_value(
                               json_object_get(json_array_get(params, j),
                                               "name")), nm) == 0)
            {
                rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                           "INVALID_REQUEST",
                                           "parameter \"%s\" is given "
                                           "twice", nm);
                goto done;
            }
        }

        for (j = 0; j < nnames; j++) {
            if (names[j].len == json_string_length(name)
                && ngx_strncmp(names[j].data, nm,
                                   names[j].len) == 0)
            {
                break;
            }
        }

        if (j == nnames) {
            rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                       "INVALID_REQUEST",
                                       "parameter \"%s\" is not used by the "
                                       "SQL", nm);
            goto done;
        }

        if (json_is_string(value)) {
            p = json_pack("{s:s, s:O}", "name", nm, "value", value);

        } else if (json_is_integer(value)) {
            ngx_sprintf(buf, "%L%Z", (int64_t) json_integer_value(value));
            p = json_pack("{s:s, s:s}", "name", nm, "value", buf);

        } else if (json_is_real(value)) {
            dump = json_dumps(value, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
            p = (dump != NULL)
                ? json_pack("{s:s, s:s}", "name", nm, "value", dump) : NULL;
            free(dump);

        } else if (json_is_boolean(value)) {
            p = json_pack("{s:s, s:s}", "name", nm, "value",
                          json_is_true(value) ? "true" : "false");

        } else {
            rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                       "INVALID_REQUEST",
                                       "parameter \"%s\": the value must be "
                                       "a string, number or boolean", nm);
            goto done;
        }

        if (p == NULL || json_array_append_new(out, p) != 0) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }
    }

    for (j = 0; j < nnames; j++) {
        for (i = 0; i < n; i++) {
            name = json_object_get(json_array_get(params, i), "name");

            if (names[j].len == json_string_length(name)
                && ngx_strncmp(names[j].data, json_string_value(name),
                               names[j].len) == 0)
            {
                break;
            }
        }

        if (i == n) {
            rc = ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST,
                                       "INVALID_REQUEST",
                                       "the SQL uses :%*s but no parameter "
                                       "gives its value",
                                       names[j].len, names[j].data);
            goto done;
        }
    }

    if (n) {
        dump = json_dumps(out, JSON_COMPACT);
        if (dump == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }

        q->parameters.len = ngx_strlen(dump);
        q->parameters.data = ngx_pnalloc(r->pool, q->parameters.len);
        if (q->parameters.data == NULL) {
            free(dump);
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }

        ngx_memcpy(q->parameters.data, dump, q->parameters.len);
        free(dump);
    }

done:

    json_decref(out);

    return rc;
}


/* The read-only policy; a rejection answers 400 INVALID_SQL. */

static ngx_int_t
ngx_http_spectra_query_check(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    spectra_sql_info_t            info;
    spectra_sql_error_t           err;
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (spectra_sql_check(&slcf->policy, ctx->query.sql.data,
                          ctx->query.sql.len, &info, &err)
        == SPECTRA_SQL_OK)
    {
        ctx->query.stmt_len = info.stmt_len;
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "spectra: SQL rejected: %s", err.message);

    return ngx_http_spectra_reject(r, NGX_HTTP_BAD_REQUEST, "INVALID_SQL",
                                 "%s", err.message);
}


static ngx_int_t
ngx_http_spectra_query_execute(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    size_t   len;
    u_char  *sql;

    /* LIMIT limit + 1: one row more tells that there were more */
    len = spectra_sql_wrap_limit_len(ctx->query.stmt_len,
                                     ctx->query.row_limit);

    sql = ngx_pnalloc(r->pool, len);
    if (sql == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = spectra_sql_wrap_limit(sql, ctx->query.sql.data,
                                 ctx->query.stmt_len, ctx->query.row_limit)
          - sql;

    ctx->started = ngx_current_msec;
    ctx->wait_seconds = ngx_http_spectra_long_poll(r, ctx);
    ctx->wrapped.data = sql;
    ctx->wrapped.len = len;

    return ngx_http_spectra_query_submit(r, ctx);
}


/* ExecuteStatement, in the database user's session when there is one. */

static ngx_int_t
ngx_http_spectra_query_submit(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    ngx_str_t  body;

    ngx_http_spectra_session_acquire(r, ctx);

    if (ngx_http_spectra_execute_body(r, ctx, ctx->wrapped.data,
                                      ctx->wrapped.len, &body)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_spectra_dataapi_call(r, "ExecuteStatement", &body,
                                      ngx_http_spectra_query_executed)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_spectra_query_executed(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    ngx_int_t                     rc;
    ngx_str_t                     session;
    ngx_http_spectra_loc_conf_t  *slcf;

    if (ctx->status == NGX_HTTP_BAD_REQUEST
        && (ctx->session_id.len || ctx->session_create)
        && ngx_strlcasestrn(ctx->answer.data,
                            ctx->answer.data + ctx->answer.len,
                            (u_char *) "session", sizeof("session") - 2)
           != NULL)
    {
        /*
         * the session expired or is busy elsewhere, or no new one may be
         * created (ActiveSessionsExceededException): once more without
         */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: data API session of job %s unusable, "
                      "retrying without it", ctx->job.id);

        ngx_http_spectra_session_release(r, ctx, 1);
        ctx->session_retried = 1;

        rc = ngx_http_spectra_query_submit(r, ctx);
        if (rc != NGX_OK) {
            ngx_http_spectra_finish(r, rc);
        }

        return;
    }

    if (ctx->status != NGX_HTTP_OK) {
        ngx_http_spectra_session_release(r, ctx, 1);
        ngx_http_spectra_job_failed(r, ctx, "UPSTREAM_ERROR",
                                    "the data API did not accept the "
                                    "statement");
        ngx_http_spectra_finish(r, ngx_http_spectra_dataapi_error(r, ctx));
        return;
    }

    if (ngx_http_spectra_answer_string(r, ctx, "Id", &ctx->statement_id)
        != NGX_OK)
    {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY, "UPSTREAM_ERROR",
                                  "the data API answered without a "
                                  "statement id"));
        return;
    }

    if (ctx->session_create
        && ngx_http_spectra_answer_string(r, ctx, "SessionId", &session)
           == NGX_OK)
    {
        ngx_http_spectra_session_created(r, ctx, &session);
    }

    ngx_http_spectra_job_submitted(r, ctx);

    /*
     * the job as the store has it now: a DELETE that came before the
     * statement had an id could only mark it cancelled
     */
    if (ctx->client_gone || ctx->job.status == SPECTRA_JOB_CANCELLED) {
        ngx_http_spectra_query_cancel(r, ctx);
        return;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    ctx->delay = slcf->poll_min;
    ctx->polls = 0;

    if (ctx->wait_seconds) {
        /*
         * The Data API waited for the statement already: most likely it
         * has finished, so ask for its rows straight away; a statement
         * without rows yet (still running, or failed) sends the query
         * back to DescribeStatement (ngx_http_spectra_rows_page()).
         */
        ctx->speculative = 1;
        ctx->has_result = 1;
        ngx_http_spectra_rows_start(r, ctx);
        return;
    }

    ngx_http_spectra_dataapi_wait(r, ctx->delay, ngx_http_spectra_query_poll);
}


/*
 * With spectra_long_poll, calls carry WaitTimeSeconds: the Data API
 * answers as soon as the statement ends, so no time is lost sleeping.
 * The wait never reaches past the next deadline; below one second the
 * module polls with timers instead.
 */

static ngx_uint_t
ngx_http_spectra_long_poll(ngx_http_request_t *r, ngx_http_spectra_ctx_t *ctx)
{
    ngx_msec_t                    elapsed, deadline, left;
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (slcf->long_poll == 0) {
        return 0;
    }

    elapsed = ngx_current_msec - ctx->started;
    deadline = ngx_min(ctx->query.wait_timeout, ctx->query.timeout);
    left = (deadline > elapsed) ? deadline - elapsed : 0;

    return ngx_min(left, slcf->long_poll) / 1000;
}


/* A timer fired: check the deadlines, then ask how the statement is. */

void
ngx_http_spectra_query_poll(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    ngx_str_t   body;
    ngx_msec_t  elapsed;

    if (ctx->client_gone) {
        ngx_http_spectra_query_cancel(r, ctx);
        return;
    }

    elapsed = ngx_current_msec - ctx->started;

    if (elapsed >= ctx->query.timeout
        || (elapsed >= ctx->query.wait_timeout
            && ctx->query.cancel_on_wait_timeout))
    {
        ngx_http_spectra_query_cancel(r, ctx);
        return;
    }

    if (elapsed >= ctx->query.wait_timeout) {
        ngx_http_spectra_finish(r, ngx_http_spectra_job_accepted(r, ctx));
        return;
    }

    ctx->wait_seconds = ngx_http_spectra_long_poll(r, ctx);

    if (ngx_http_spectra_statement_body(r, ctx, NULL, ctx->wait_seconds,
                                        &body)
        != NGX_OK
        || ngx_http_spectra_dataapi_call(r, "DescribeStatement", &body,
                                         ngx_http_spectra_query_described)
           != NGX_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_http_spectra_query_described(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    ngx_int_t                     state;
    ngx_msec_t                    elapsed, left, deadline;
    ngx_http_spectra_loc_conf_t  *slcf;

    if (ctx->status != NGX_HTTP_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_dataapi_error(r, ctx));
        return;
    }

    state = ngx_http_spectra_describe(r, ctx);

    if (state != NGX_ERROR && spectra_job_status_final(state)) {
        ngx_http_spectra_session_release(r, ctx, 0);
    }

    switch (state) {

    case SPECTRA_JOB_COMPLETED:
        ngx_http_spectra_rows_start(r, ctx);
        return;

    case SPECTRA_JOB_FAILED:
    case SPECTRA_JOB_CANCELLED:
        ngx_http_spectra_finish(r, ngx_http_spectra_job_ended(r, ctx, state));
        return;

    case NGX_ERROR:
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY, "UPSTREAM_ERROR",
                                  "the data API answered an unknown "
                                  "statement status"));
        return;

    default:
        ngx_http_spectra_job_status(r, ctx, state);
        break;
    }

    if (ctx->client_gone) {
        ngx_http_spectra_query_cancel(r, ctx);
        return;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (++ctx->polls >= slcf->max_polls) {
        /* as if the wait were over: the job goes on or is cancelled */
        ctx->query.wait_timeout = 0;
        ngx_http_spectra_query_poll(r, ctx);
        return;
    }

    if (ctx->wait_seconds && ngx_http_spectra_long_poll(r, ctx)) {
        ngx_http_spectra_query_poll(r, ctx);
        return;
    }

    /* exponential backoff, but never past the next deadline */

    elapsed = ngx_current_msec - ctx->started;
    deadline = ngx_min(ctx->query.wait_timeout, ctx->query.timeout);
    left = (deadline > elapsed) ? deadline - elapsed : 0;

    ctx->delay = ngx_min(ctx->delay * 2, slcf->poll_max);

    ngx_http_spectra_dataapi_wait(r, ngx_min(ctx->delay, left),
                                  ngx_http_spectra_query_poll);
}


/*
 * Cancels the statement (timeout, on_wait_timeout "cancel", or a client
 * that went away), then answers.
 */

void
ngx_http_spectra_query_cancel(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    ngx_str_t  body;

    if (ctx->statement_id.len == 0) {
        ngx_http_spectra_finish(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

    if (ngx_http_spectra_statement_body(r, ctx, NULL, 0, &body) != NGX_OK
        || ngx_http_spectra_dataapi_call(r, "CancelStatement", &body,
                                         ngx_http_spectra_query_cancelled)
           != NGX_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_http_spectra_query_cancelled(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    ngx_http_spectra_session_release(r, ctx, 1);

    if (ctx->status != NGX_HTTP_OK) {
        /* it may have finished meanwhile: the job will say how it ended */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "spectra: cancelling statement of job %s: "
                      "data API answered %ui", ctx->job.id, ctx->status);
    }

    if (ctx->client_gone) {
        ngx_http_spectra_job_cancelled(r, ctx, SPECTRA_JOB_CANCELLED,
                                       "the client closed the connection");
        ngx_http_spectra_finish(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

    if (ctx->job.status == SPECTRA_JOB_CANCELLED) {
        /* cancelled by DELETE /v1/jobs/{id}: 409, as a cancelled job is */
        ngx_http_spectra_finish(r,
                  ngx_http_spectra_job_ended(r, ctx, SPECTRA_JOB_CANCELLED));
        return;
    }

    ngx_http_spectra_job_cancelled(r, ctx, SPECTRA_JOB_TIMEOUT,
                                   "the query timed out and was cancelled");

    ngx_http_spectra_finish(r,
                   ngx_http_spectra_job_ended(r, ctx, SPECTRA_JOB_TIMEOUT));
}
