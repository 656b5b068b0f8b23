/*
 * What the files of ngx_http_spectra_module share: the configuration, the
 * small request context that ties a request's parts together, and the
 * core headers.  Each glue file declares its own functions in its own
 * header; this one has types only.
 */

#ifndef _NGX_HTTP_SPECTRA_COMMON_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_COMMON_H_INCLUDED_


#include "ngx_http_spectra.h"

#include "spectra_core.h"
#include "spectra_bulk.h"
#include "spectra_cursor.h"
#include "spectra_dataapi.h"
#include "spectra_jobs.h"
#include "spectra_query.h"
#include "spectra_result.h"
#include "spectra_sigv4.h"
#include "spectra_sql.h"


#define NGX_HTTP_SPECTRA_SESSION_ID_LEN  64

/* spectra_jobs_store */
#define NGX_HTTP_SPECTRA_STORE_SQLITE    1
#define NGX_HTTP_SPECTRA_STORE_DYNAMODB  2


typedef struct ngx_http_spectra_stmt_s     ngx_http_spectra_stmt_t;
typedef struct ngx_http_spectra_rows_s     ngx_http_spectra_rows_t;
typedef struct ngx_http_spectra_curl_s     ngx_http_spectra_curl_t;


typedef struct {
    ngx_int_t                   request_id_index;
    ngx_flag_t                  enabled;       /* spectra_api is used */
    ngx_log_t                  *audit_log;     /* spectra_audit_log */

    /* the job store */
    ngx_uint_t                  jobs_store;    /* NGX_HTTP_SPECTRA_STORE_* */
    ngx_str_t                   jobs_path;
    spectra_job_store_t        *store;         /* this worker's (SQLite) */
    ngx_str_t                   ddb_table;
    ngx_str_t                   ddb_endpoint;
    ngx_msec_t                  ddb_timeout;
    void                       *ddb;           /* DynamoDB: its settings */

    /* shared memory */
    ngx_shm_zone_t             *sessions;      /* Data API sessions */
    ngx_shm_zone_t             *queues;        /* per-tenant waiting */
    ngx_shm_zone_t             *downloads;     /* counted links */

    /* named warehouses and pools (ngx_http_spectra_warehouse.c) */
    void                       *warehouses;

    /*
     * the supervisor: background Data API calls (libcurl) with the
     * settings of the http{} block when it names a Data API, else of the
     * first location with spectra_api
     */
    void                       *background;    /* loc conf */
    void                       *first_api;     /* loc conf */
    ngx_flag_t                  supervisor;
    ngx_str_t                   dataapi_url;
    ngx_str_t                   ca_file;
    ngx_msec_t                  supervisor_interval;
    time_t                      jobs_retention; /* s; 0: jobs are kept */
    ngx_uint_t                  supervisor_batch;
    ngx_http_spectra_curl_t    *curl;          /* this worker's */
    ngx_array_t                 awscreds;      /* refreshed providers */

    /* freed memory a worker keeps (ngx_http_spectra_malloc.c); 0: off */
    size_t                      malloc_retain;

    /* what results cursors are sealed with (ngx_http_spectra_pages.c) */
    u_char                      cursor_key[SPECTRA_CURSOR_KEY_LEN];
    ngx_flag_t                  cursor_key_set;
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

    /* spectra_aws_credentials (ngx_http_spectra_awscreds.c) */
    ngx_uint_t                  aws_provider;
    ngx_str_t                   aws_profile;
    ngx_str_t                   aws_sts_endpoint;
    ngx_str_t                   aws_imds_endpoint;
    time_t                      aws_refresh_margin;
    void                       *awscreds;      /* NULL: the keys above */

    ngx_str_t                   cluster;       /* ClusterIdentifier */
    ngx_str_t                   workgroup;     /* WorkgroupName */
    ngx_str_t                   database;
    ngx_http_complex_value_t   *secret_arn;    /* SecretArn, per tenant */

    /* many warehouses (ngx_http_spectra_warehouse.c) */
    ngx_http_complex_value_t   *warehouse_route;
    void                       *warehouse;     /* a copy's; NULL: own */
    ngx_array_t                *warehouse_confs; /* copies, one each */
    ngx_str_t                   dataapi_url;   /* a warehouse's; empty:
                                                  spectra_dataapi_url */

    /* waiting for statements */
    ngx_msec_t                  long_poll;     /* WaitTimeSeconds, 0: off */
    ngx_msec_t                  session_keepalive;  /* 0: no sessions */
    ngx_msec_t                  poll_min;
    ngx_msec_t                  poll_max;
    ngx_uint_t                  max_polls;
    ngx_msec_t                  wait_timeout;      /* default */
    ngx_msec_t                  query_timeout;     /* default and cap */

    /* fair share, per tenant, over all workers */
    ngx_uint_t                  max_running;   /* 0: no cap */
    ngx_uint_t                  max_queued;
    ngx_msec_t                  queue_timeout;

    /* answers */
    ngx_uint_t                  row_limit;     /* default and cap */
    size_t                      byte_limit;    /* default and cap */
    ngx_uint_t                  results_row_limit; /* kept for pages */
    ngx_bufs_t                  output_bufs;
#if (NGX_THREADS)
    ngx_thread_pool_t          *thread_pool;   /* page checks; NULL: off */
    ngx_str_t                   thread_pool_name;
#endif
    ngx_flag_t                  numeric_as_number;

    /* the SQL policy */
    size_t                      sql_max_length;
    ngx_flag_t                  sql_allow_values;
    ngx_array_t                *sql_deny_functions;   /* of ngx_str_t */
    ngx_array_t                *sql_deny_relations;
    ngx_array_t                *sql_deny_schemas;
    ngx_array_t                *sql_allow_functions;  /* NULL: no list */
    spectra_sql_policy_t        policy;

    /* exports: where UNLOAD writes, and how its files are reached */
    ngx_str_t                   export_bucket; /* empty: no bulk API */
    ngx_str_t                   export_prefix;
    ngx_str_t                   export_iam_role;
    ngx_str_t                   s3_endpoint_url;
    spectra_s3_endpoint_t       s3_endpoint;
    ngx_flag_t                  s3_path_style;
    ngx_str_t                   s3_uri;        /* internal location */
    time_t                      presign_expires;
    time_t                      export_retention;
    time_t                      link_expires;  /* of a stable link's URL */
} ngx_http_spectra_loc_conf_t;


/*
 * The request context: who asks, and the parts of the request that the
 * files which own them hang here.  One per main request.
 */
typedef struct {
    ngx_http_request_t         *request;
    ngx_http_spectra_tenant_t  *tenant;
    ngx_http_spectra_stmt_t    *stmt;          /* statement.c */
    ngx_http_spectra_rows_t    *rows;          /* rows.c */
    void                       *endpoint;      /* the endpoint's own */
    void                       *s3;            /* an object store call */
    u_char                      job_id[SPECTRA_JOB_ID_LEN + 1];
    ngx_msec_t                  dataapi_ms;    /* in Data API calls */
    uint64_t                    answer_rows;   /* in the answer */
    unsigned                    answer_rows_set:1;
    unsigned                    truncated:1;
    unsigned                    done:1;        /* finalized */
} ngx_http_spectra_ctx_t;


extern ngx_module_t  ngx_http_spectra_module;


#endif /* _NGX_HTTP_SPECTRA_COMMON_H_INCLUDED_ */
