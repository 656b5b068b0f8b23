/*
 * The shapes of the Data API operations Spectra uses: request bodies for
 * ExecuteStatement (as the tenant's database user), DescribeStatement,
 * GetStatementResult and CancelStatement, and reading their answers.
 */


#include "ngx_http_spectra_module.h"

#include <jansson.h>


static ngx_int_t ngx_http_spectra_json_body(ngx_http_request_t *r,
    json_t *o, ngx_str_t *body);
static ngx_int_t ngx_http_spectra_sqlstate(ngx_str_t *error,
    ngx_str_t *sqlstate);


static ngx_int_t
ngx_http_spectra_json_body(ngx_http_request_t *r, json_t *o, ngx_str_t *body)
{
    char    *dump;
    size_t   len;

    if (o == NULL) {
        return NGX_ERROR;
    }

    dump = json_dumps(o, JSON_COMPACT);
    json_decref(o);

    if (dump == NULL) {
        return NGX_ERROR;
    }

    len = ngx_strlen(dump);

    body->data = ngx_pnalloc(r->pool, len);
    if (body->data == NULL) {
        free(dump);
        return NGX_ERROR;
    }

    ngx_memcpy(body->data, dump, len);
    body->len = len;
    free(dump);

    return NGX_OK;
}


/*
 * ExecuteStatement: provisioned clusters run as DbUser (the tenant's
 * database user); with per-tenant secrets the secret names the user;
 * Serverless workgroups always go through a secret (checked at
 * configuration time).  The job id names the statement and makes the call
 * idempotent.
 */

ngx_int_t
ngx_http_spectra_execute_body(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, u_char *sql, size_t len, ngx_str_t *body)
{
    json_t                       *o, *params;
    ngx_str_t                     arn, token, *user;
    json_error_t                  err;
    ngx_http_spectra_loc_conf_t  *slcf;
    u_char                        token_buf[SPECTRA_JOB_ID_LEN + 3];

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);
    user = &ctx->tenant->db_user;

    o = json_object();
    if (o == NULL) {
        return NGX_ERROR;
    }

    /* a retry without the session must not look like the first call */
    token.len = ngx_sprintf(token_buf, "%s%s", ctx->job.id,
                            ctx->session_retried ? "-r" : "")
                - token_buf;
    token.data = token_buf;

    if (json_object_set_new(o, "Sql", json_stringn((char *) sql, len)) != 0
        || json_object_set_new(o, "StatementName",
                               json_stringn((char *) ctx->job.id,
                                            ngx_strlen(ctx->job.id))) != 0
        || json_object_set_new(o, "ClientToken",
                               json_stringn((char *) token.data, token.len))
           != 0)
    {
        goto failed;
    }

    if (ctx->session_id.len) {
        /* the session knows the warehouse and the database user */
        if (json_object_set_new(o, "SessionId",
                                json_stringn((char *) ctx->session_id.data,
                                             ctx->session_id.len)) != 0)
        {
            goto failed;
        }

        goto parameters;
    }

    if (ctx->session_create
        && json_object_set_new(o, "SessionKeepAliveSeconds",
                               json_integer(slcf->session_keepalive / 1000))
           != 0)
    {
        goto failed;
    }

    if (json_object_set_new(o, "Database",
                            json_stringn((char *) slcf->database.data,
                                         slcf->database.len)) != 0)
    {
        goto failed;
    }

    if (slcf->workgroup.len) {
        if (json_object_set_new(o, "WorkgroupName",
                                json_stringn((char *) slcf->workgroup.data,
                                             slcf->workgroup.len)) != 0)
        {
            goto failed;
        }

    } else if (json_object_set_new(o, "ClusterIdentifier",
                                   json_stringn((char *) slcf->cluster.data,
                                                slcf->cluster.len)) != 0)
    {
        goto failed;
    }

    if (slcf->secret_arn != NULL) {
        if (ngx_http_complex_value(r, slcf->secret_arn, &arn) != NGX_OK) {
            goto failed;
        }

        if (json_object_set_new(o, "SecretArn",
                                json_stringn((char *) arn.data, arn.len))
            != 0)
        {
            goto failed;
        }

    } else if (json_object_set_new(o, "DbUser",
                                   json_stringn((char *) user->data,
                                                user->len))
               != 0)
    {
        goto failed;
    }

parameters:

    if (ctx->wait_seconds
        && json_object_set_new(o, "WaitTimeSeconds",
                               json_integer(ctx->wait_seconds)) != 0)
    {
        goto failed;
    }

    if (ctx->query.parameters.len) {
        params = json_loadb((char *) ctx->query.parameters.data,
                            ctx->query.parameters.len, 0, &err);

        if (params == NULL || json_object_set_new(o, "Parameters", params)) {
            goto failed;
        }
    }

    return ngx_http_spectra_json_body(r, o, body);

failed:

    json_decref(o);

    return NGX_ERROR;
}


/* {"Id": ...} with an optional NextToken and WaitTimeSeconds. */

ngx_int_t
ngx_http_spectra_statement_body(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, ngx_str_t *next_token, ngx_uint_t wait,
    ngx_str_t *body)
{
    json_t  *o;

    o = json_pack("{s:s%}", "Id", ctx->statement_id.data,
                  ctx->statement_id.len);

    if (o != NULL && wait
        && json_object_set_new(o, "WaitTimeSeconds", json_integer(wait))
           != 0)
    {
        json_decref(o);
        return NGX_ERROR;
    }

    if (o != NULL && next_token != NULL && next_token->len
        && json_object_set_new(o, "NextToken",
                               json_stringn((char *) next_token->data,
                                            next_token->len)) != 0)
    {
        json_decref(o);
        return NGX_ERROR;
    }

    return ngx_http_spectra_json_body(r, o, body);
}


/* A string member of the last answer, copied into the pool. */

ngx_int_t
ngx_http_spectra_answer_string(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, const char *name, ngx_str_t *value)
{
    json_t        *root, *v;
    ngx_int_t      rc;
    json_error_t   err;

    root = json_loadb((char *) ctx->answer.data, ctx->answer.len, 0, &err);

    v = json_object_get(root, name);

    rc = NGX_ERROR;

    if (json_is_string(v) && json_string_length(v) > 0
        && json_string_length(v) <= 512)
    {
        value->len = json_string_length(v);
        value->data = ngx_pnalloc(r->pool, value->len + 1);

        if (value->data != NULL) {
            ngx_memcpy(value->data, json_string_value(v), value->len);
            value->data[value->len] = '\0';
            rc = NGX_OK;
        }
    }

    json_decref(root);

    return rc;
}


/*
 * Reads a DescribeStatement answer into the job: status, error with its
 * SQLSTATE, rows and duration.  Returns the job status, or NGX_ERROR for
 * an answer that does not make sense.
 */

ngx_int_t
ngx_http_spectra_describe(ngx_http_request_t *r, ngx_http_spectra_ctx_t *ctx)
{
    json_t        *root, *status, *error, *rows, *duration, *has;
    ngx_int_t      state;
    ngx_str_t      msg, sqlstate;
    json_error_t   err;

    root = json_loadb((char *) ctx->answer.data, ctx->answer.len, 0, &err);

    status = json_object_get(root, "Status");

    if (!json_is_string(status)) {
        json_decref(root);
        return NGX_ERROR;
    }

    state = spectra_job_status_from_dataapi(
                                 (u_char *) json_string_value(status),
                                 json_string_length(status));

    if (state == SPECTRA_JOB_STATUS_NONE) {
        json_decref(root);
        return NGX_ERROR;
    }

    rows = json_object_get(root, "ResultRows");
    duration = json_object_get(root, "Duration");
    has = json_object_get(root, "HasResultSet");
    error = json_object_get(root, "Error");

    if (json_is_integer(duration) && json_integer_value(duration) > 0) {
        ctx->duration = json_integer_value(duration) / 1000000;
    }

    ctx->has_result = json_is_true(has);

    if (json_is_integer(rows) && json_integer_value(rows) >= 0) {
        ctx->job.row_count = json_integer_value(rows);
    }

    if (state == SPECTRA_JOB_FAILED && json_is_string(error)) {
        msg.len = json_string_length(error);
        msg.data = ngx_pnalloc(r->pool, msg.len + 1);

        if (msg.data != NULL) {
            ngx_memcpy(msg.data, json_string_value(error), msg.len);
            msg.data[msg.len] = '\0';
            ctx->error = msg;

            if (ngx_http_spectra_sqlstate(&msg, &sqlstate) == NGX_OK) {
                ctx->sqlstate = sqlstate;
            }
        }
    }

    json_decref(root);

    return state;
}


/*
 * PostgreSQL and Redshift put the SQLSTATE into the error text as
 * "(SQLSTATE 42P01)" or "SQLSTATE: 42P01": five characters of 0-9A-Z.
 */

static ngx_int_t
ngx_http_spectra_sqlstate(ngx_str_t *error, ngx_str_t *sqlstate)
{
    u_char  *p, *last;
    size_t   i;

    last = error->data + error->len;

    p = ngx_strlcasestrn(error->data, last, (u_char *) "sqlstate",
                         sizeof("sqlstate") - 2);
    if (p == NULL) {
        return NGX_DECLINED;
    }

    p += sizeof("sqlstate") - 1;

    while (p < last && (*p == ' ' || *p == ':' || *p == '=')) {
        p++;
    }

    if (last - p < 5) {
        return NGX_DECLINED;
    }

    for (i = 0; i < 5; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'Z'))) {
            return NGX_DECLINED;
        }
    }

    if (p + 5 < last && ((p[5] >= '0' && p[5] <= '9')
                         || (p[5] >= 'A' && p[5] <= 'Z')))
    {
        return NGX_DECLINED;
    }

    sqlstate->data = p;
    sqlstate->len = 5;

    return NGX_OK;
}
