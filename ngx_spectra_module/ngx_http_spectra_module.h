/*
 * Configuration and request context of ngx_http_spectra_module, shared by
 * its files (module, api, reply, dataapi, query, jobs, ...).
 */

#ifndef _NGX_HTTP_SPECTRA_MODULE_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_MODULE_H_INCLUDED_


#include "ngx_http_spectra.h"
#include "spectra_sigv4.h"
#include "spectra_sql.h"
#include "spectra_result.h"
#include "spectra_jobs.h"


#define NGX_HTTP_SPECTRA_SESSION_ID_LEN  64


typedef struct ngx_http_spectra_ctx_s  ngx_http_spectra_ctx_t;


typedef struct {
    ngx_int_t                   request_id_index;
    ngx_str_t                   jobs_path;
    spectra_job_store_t        *store;         /* this worker's job store */
    ngx_shm_zone_t             *sessions;      /* Data API sessions */
    ngx_flag_t                  enabled;       /* spectra_api is used */
} ngx_http_spectra_main_conf_t;


typedef struct {
    time_t                      retry_after;

    /* the Data API: where, as whom, on which warehouse */
    ngx_str_t                   dataapi_uri;   /* internal location */
    ngx_str_t                   dataapi_host;  /* signed Host header */
    ngx_str_t                   region;
    ngx_str_t                   access_key;
    ngx_str_t                   secret_key;
    ngx_str_t                   session_token;
    ngx_str_t                   cluster;       /* ClusterIdentifier */
    ngx_str_t                   workgroup;     /* WorkgroupName */
    ngx_str_t                   database;
    ngx_http_complex_value_t   *secret_arn;    /* SecretArn, per tenant */

    /* waiting for statements */
    ngx_msec_t                  long_poll;     /* WaitTimeSeconds, 0: off */
    ngx_msec_t                  session_keepalive;  /* 0: no sessions */
    ngx_msec_t                  poll_min;
    ngx_msec_t                  poll_max;
    ngx_uint_t                  max_polls;
    ngx_msec_t                  wait_timeout;      /* default and cap */
    ngx_msec_t                  query_timeout;     /* default and cap */

    /* queries */
    ngx_uint_t                  row_limit;     /* inline threshold */
    ngx_flag_t                  numeric_as_number;
    size_t                      sql_max_length;
    spectra_sql_policy_t        policy;
} ngx_http_spectra_loc_conf_t;


/* The parsed body of POST /v1/queries. */
typedef struct {
    ngx_str_t                   sql;
    size_t                      stmt_len;      /* without a trailing ';' */
    ngx_str_t                   parameters;    /* Data API JSON array */
    ngx_str_t                   idempotency_key;
    ngx_msec_t                  wait_timeout;
    ngx_msec_t                  timeout;
    ngx_uint_t                  row_limit;
    spectra_result_format_e     format;
    unsigned                    cancel_on_wait_timeout:1;
} ngx_http_spectra_query_t;


typedef void (*ngx_http_spectra_step_pt)(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);


struct ngx_http_spectra_ctx_s {
    ngx_http_request_t         *request;
    ngx_http_spectra_tenant_t  *tenant;

    /* the next step, run when a Data API call or a timer completes */
    ngx_http_spectra_step_pt    step;

    /* the answer of the last Data API call */
    ngx_uint_t                  status;        /* HTTP status */
    ngx_str_t                   answer;        /* response body */

    ngx_event_t                 timer;
    ngx_msec_t                  started;
    ngx_msec_t                  delay;
    ngx_uint_t                  polls;
    ngx_uint_t                  wait_seconds;  /* of the next call */

    ngx_http_spectra_query_t    query;
    spectra_job_t               job;
    ngx_str_t                   wrapped;       /* the SQL as submitted */
    ngx_str_t                   statement_id;
    ngx_msec_t                  duration;      /* as the Data API said */
    ngx_str_t                   error;         /* the warehouse's message */
    ngx_str_t                   sqlstate;

    /* rows being encoded */
    spectra_result_t            result;
    spectra_result_out_t        sink;
    ngx_chain_t                *out;
    ngx_chain_t               **last_out;
    ngx_buf_t                  *out_buf;
    ngx_str_t                   next_token;

    ngx_int_t                   rc;            /* of an answer already sent */

    /* the Data API session the statement runs in */
    ngx_str_t                   session_key;
    ngx_str_t                   session_id;
    unsigned                    session_create:1;
    unsigned                    session_retried:1;
    unsigned                    session_cleanup:1;

    unsigned                    has_result:1;
    unsigned                    speculative:1; /* rows before Describe */
    unsigned                    want_rows:1;   /* results, not the job */
    unsigned                    waiting:1;     /* a call or timer pending */
    unsigned                    client_gone:1;
    unsigned                    done:1;
};


ngx_int_t ngx_http_spectra_api_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_spectra_error_page_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_spectra_health(ngx_http_request_t *r);

/* requests and replies (api.c, reply.c, body.c) */
ngx_http_spectra_ctx_t *ngx_http_spectra_get_ctx(ngx_http_request_t *r);
void ngx_http_spectra_finish(ngx_http_request_t *r, ngx_int_t rc);
ngx_int_t ngx_http_spectra_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *fmt, ...);
ngx_int_t ngx_http_spectra_reject(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *fmt, ...);
ngx_int_t ngx_http_spectra_body_string(ngx_http_request_t *r, size_t max,
    ngx_str_t *body);
ngx_int_t ngx_http_spectra_is_json(ngx_http_request_t *r);
ngx_int_t ngx_http_spectra_token_valid(u_char *p, size_t len, size_t max);
ngx_int_t ngx_http_spectra_answered(ngx_http_request_t *r, ngx_int_t rc);
ngx_int_t ngx_http_spectra_caller(ngx_http_request_t *r, ngx_uint_t perm,
    ngx_http_spectra_tenant_t **tenant);

/* Data API calls and waiting (dataapi.c) */
ngx_int_t ngx_http_spectra_dataapi_call(ngx_http_request_t *r,
    const char *operation, ngx_str_t *body, ngx_http_spectra_step_pt step);
void ngx_http_spectra_dataapi_wait(ngx_http_request_t *r, ngx_msec_t delay,
    ngx_http_spectra_step_pt step);
ngx_int_t ngx_http_spectra_dataapi_error(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
void ngx_http_spectra_watch_client(ngx_http_request_t *r);

/* Data API operation shapes (statement.c) */
ngx_int_t ngx_http_spectra_execute_body(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, u_char *sql, size_t len, ngx_str_t *body);
ngx_int_t ngx_http_spectra_statement_body(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, ngx_str_t *next_token, ngx_uint_t wait,
    ngx_str_t *body);
ngx_int_t ngx_http_spectra_answer_string(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, const char *name, ngx_str_t *value);
ngx_int_t ngx_http_spectra_describe(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);

/* Data API sessions (session.c) */
void ngx_http_spectra_session_acquire(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
void ngx_http_spectra_session_created(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, ngx_str_t *id);
void ngx_http_spectra_session_release(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, ngx_uint_t gone);
void *ngx_http_spectra_sessions_create(ngx_conf_t *cf);
ngx_int_t ngx_http_spectra_sessions_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);

/* queries and their rows (query.c, rows.c) */
ngx_int_t ngx_http_spectra_queries(ngx_http_request_t *r, ngx_str_t *id);
void ngx_http_spectra_query_cancel(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
void ngx_http_spectra_query_poll(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
void ngx_http_spectra_rows_start(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);

/* the job of a query (jobs.c) */
ngx_int_t ngx_http_spectra_job_start(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, ngx_str_t *body);
void ngx_http_spectra_job_submitted(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
void ngx_http_spectra_job_failed(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, const char *code, const char *message);
void ngx_http_spectra_job_completed(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, uint64_t rows);
void ngx_http_spectra_job_cancelled(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, ngx_int_t status, const char *message);
ngx_int_t ngx_http_spectra_job_accepted(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
ngx_int_t ngx_http_spectra_job_ended(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, ngx_int_t state);
void ngx_http_spectra_job_status(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, ngx_int_t status);

/* the jobs endpoints (jobs.c) */
ngx_int_t ngx_http_spectra_jobs_list(ngx_http_request_t *r, ngx_str_t *id);
ngx_int_t ngx_http_spectra_jobs_get(ngx_http_request_t *r, ngx_str_t *id);
ngx_int_t ngx_http_spectra_jobs_results(ngx_http_request_t *r,
    ngx_str_t *id);
ngx_int_t ngx_http_spectra_jobs_cancel(ngx_http_request_t *r,
    ngx_str_t *id);


#endif /* _NGX_HTTP_SPECTRA_MODULE_H_INCLUDED_ */
