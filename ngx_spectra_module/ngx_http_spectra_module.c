/*
 * ngx_spectra_module: directives, configuration and module definition of
 * the Spectra data API.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_awscreds.h"
#include "ngx_http_spectra_checkpoint.h"
#include "ngx_http_spectra_curl.h"
#include "ngx_http_spectra_jobs.h"
#include "ngx_http_spectra_jobs_dynamodb.h"
#include "ngx_http_spectra_link.h"
#include "ngx_http_spectra_log.h"
#include "ngx_http_spectra_malloc.h"
#include "ngx_http_spectra_pages.h"
#include "ngx_http_spectra_queue.h"
#include "ngx_http_spectra_reply.h"
#include "ngx_http_spectra_session.h"
#include "ngx_http_spectra_supervisor.h"
#include "ngx_http_spectra_warehouse.h"


static void *ngx_http_spectra_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_spectra_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_spectra_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_spectra_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_spectra_error_page(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_spectra_poll_interval(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_spectra_merge_dataapi(ngx_conf_t *cf,
    ngx_http_spectra_loc_conf_t *prev, ngx_http_spectra_loc_conf_t *conf);
static char *ngx_http_spectra_merge_export(ngx_conf_t *cf,
    ngx_http_spectra_loc_conf_t *prev, ngx_http_spectra_loc_conf_t *conf);
static ngx_int_t ngx_http_spectra_conf_env(ngx_conf_t *cf, ngx_str_t *value,
    const char *name1, const char *name2);
static char *ngx_http_spectra_session_zone(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_spectra_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_spectra_sql_list(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_spectra_sql_allow_functions(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void ngx_http_spectra_sql_policy(ngx_http_spectra_loc_conf_t *conf);
static ngx_int_t ngx_http_spectra_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_spectra_host_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_http_spectra_jobs_retention(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_spectra_answer_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_spectra_job_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_spectra_init(ngx_conf_t *cf);
static char *ngx_http_spectra_init_main_conf(ngx_conf_t *cf, void *conf);
static ngx_int_t ngx_http_spectra_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_spectra_init_process(ngx_cycle_t *cycle);
static void ngx_http_spectra_exit_process(ngx_cycle_t *cycle);


/*
 * The casts of ngx_http_spectra_str() hold only while ngx_str_t and
 * spectra_str_t have the same layout: a negative array size stops the
 * build if they ever differ.
 */
typedef char  ngx_http_spectra_str_layout_t[
    (sizeof(ngx_str_t) == sizeof(spectra_str_t)
     && offsetof(ngx_str_t, len) == offsetof(spectra_str_t, len)
     && offsetof(ngx_str_t, data) == offsetof(spectra_str_t, data))
    ? 1 : -1];


static spectra_sql_list_e  ngx_http_spectra_sql_functions =
    SPECTRA_SQL_LIST_FUNCTIONS;
static spectra_sql_list_e  ngx_http_spectra_sql_relations =
    SPECTRA_SQL_LIST_RELATIONS;
static spectra_sql_list_e  ngx_http_spectra_sql_schemas =
    SPECTRA_SQL_LIST_SCHEMAS;


static ngx_conf_enum_t  ngx_http_spectra_jobs_stores[] = {
    { ngx_string("sqlite"), NGX_HTTP_SPECTRA_STORE_SQLITE },
    { ngx_string("dynamodb"), NGX_HTTP_SPECTRA_STORE_DYNAMODB },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_spectra_commands[] = {

    { ngx_string("spectra_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_spectra_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_error_page"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_spectra_error_page,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, retry_after),
      NULL },

    { ngx_string("spectra_dataapi_location"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, dataapi_uri),
      NULL },

    { ngx_string("spectra_dataapi_host"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, dataapi_host),
      NULL },

    { ngx_string("spectra_aws_region"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, region),
      NULL },

    { ngx_string("spectra_aws_access_key_id"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, access_key),
      NULL },

    { ngx_string("spectra_aws_secret_access_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, secret_key),
      NULL },

    { ngx_string("spectra_aws_session_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, session_token),
      NULL },

    { ngx_string("spectra_aws_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_spectra_awscreds_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_aws_sts_endpoint"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, aws_sts_endpoint),
      NULL },

    { ngx_string("spectra_aws_imds_endpoint"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, aws_imds_endpoint),
      NULL },

    { ngx_string("spectra_aws_credentials_refresh_margin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, aws_refresh_margin),
      NULL },

    { ngx_string("spectra_cluster_identifier"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, cluster),
      NULL },

    { ngx_string("spectra_workgroup_name"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, workgroup),
      NULL },

    { ngx_string("spectra_database"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, database),
      NULL },

    { ngx_string("spectra_secret_arn"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, secret_arn),
      NULL },

    { ngx_string("spectra_malloc_retain"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_spectra_malloc_retain,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_warehouse"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_spectra_warehouse_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_warehouse_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_spectra_warehouse_pool,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_warehouse_route"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, warehouse_route),
      NULL },

    { ngx_string("spectra_poll_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_spectra_poll_interval,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_long_poll"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, long_poll),
      NULL },

    { ngx_string("spectra_session_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_spectra_session_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_session_keepalive"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, session_keepalive),
      NULL },

    { ngx_string("spectra_max_polls"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, max_polls),
      NULL },

    { ngx_string("spectra_wait_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, wait_timeout),
      NULL },

    { ngx_string("spectra_query_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, query_timeout),
      NULL },

    { ngx_string("spectra_row_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, row_limit),
      NULL },

    { ngx_string("spectra_results_row_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, results_row_limit),
      NULL },

    { ngx_string("spectra_numeric_as_number"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, numeric_as_number),
      NULL },

    { ngx_string("spectra_sql_max_length"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, sql_max_length),
      NULL },

    { ngx_string("spectra_sql_allow_values"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, sql_allow_values),
      NULL },

    { ngx_string("spectra_sql_deny_functions"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_spectra_sql_list,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, sql_deny_functions),
      &ngx_http_spectra_sql_functions },

    { ngx_string("spectra_sql_deny_relations"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_spectra_sql_list,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, sql_deny_relations),
      &ngx_http_spectra_sql_relations },

    { ngx_string("spectra_sql_deny_schemas"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_spectra_sql_list,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, sql_deny_schemas),
      &ngx_http_spectra_sql_schemas },

    { ngx_string("spectra_sql_allow_functions"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_spectra_sql_allow_functions,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_byte_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, byte_limit),
      NULL },

    { ngx_string("spectra_output_buffers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_conf_set_bufs_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, output_bufs),
      NULL },

    { ngx_string("spectra_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_spectra_thread_pool,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_max_running"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, max_running),
      NULL },

    { ngx_string("spectra_max_queued"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, max_queued),
      NULL },

    { ngx_string("spectra_queue_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, queue_timeout),
      NULL },

    { ngx_string("spectra_queue_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_spectra_queue_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_export_bucket"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, export_bucket),
      NULL },

    { ngx_string("spectra_export_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, export_prefix),
      NULL },

    { ngx_string("spectra_export_iam_role"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, export_iam_role),
      NULL },

    { ngx_string("spectra_export_retention"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, export_retention),
      NULL },

    { ngx_string("spectra_s3_endpoint"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, s3_endpoint_url),
      NULL },

    { ngx_string("spectra_s3_path_style"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, s3_path_style),
      NULL },

    { ngx_string("spectra_s3_location"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, s3_uri),
      NULL },

    { ngx_string("spectra_presign_expires"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, presign_expires),
      NULL },

    { ngx_string("spectra_link_expires"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, link_expires),
      NULL },

    { ngx_string("spectra_download_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_spectra_download_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_supervisor"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_spectra_main_conf_t, supervisor),
      NULL },

    { ngx_string("spectra_jobs_retention"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_spectra_jobs_retention,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_supervisor_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_spectra_main_conf_t, supervisor_interval),
      NULL },

    { ngx_string("spectra_dataapi_url"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_spectra_main_conf_t, dataapi_url),
      NULL },

    { ngx_string("spectra_audit_log"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_spectra_audit_log,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_jobs_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_spectra_main_conf_t, jobs_store),
      &ngx_http_spectra_jobs_stores },

    { ngx_string("spectra_jobs_dynamodb_table"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_spectra_main_conf_t, ddb_table),
      NULL },

    { ngx_string("spectra_jobs_dynamodb_endpoint"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_spectra_main_conf_t, ddb_endpoint),
      NULL },

    { ngx_string("spectra_jobs_dynamodb_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_spectra_main_conf_t, ddb_timeout),
      NULL },

    { ngx_string("spectra_jobs_db"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_spectra_main_conf_t, jobs_path),
      NULL },

    { ngx_string("spectra_results_cursor_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_spectra_cursor_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_spectra_module_ctx = {
    ngx_http_spectra_add_variables,        /* preconfiguration */
    ngx_http_spectra_init,                 /* postconfiguration */

    ngx_http_spectra_create_main_conf,     /* create main configuration */
    ngx_http_spectra_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_spectra_create_loc_conf,      /* create location configuration */
    ngx_http_spectra_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_spectra_module = {
    NGX_MODULE_V1,
    &ngx_http_spectra_module_ctx,          /* module context */
    ngx_http_spectra_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_spectra_init_module,          /* init module */
    ngx_http_spectra_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_spectra_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_spectra_request_id = ngx_string("request_id");


static ngx_http_variable_t  ngx_http_spectra_vars[] = {

    { ngx_string("spectra_job_id"), NULL, ngx_http_spectra_job_id_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("spectra_host"), NULL, ngx_http_spectra_host_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("spectra_warehouse"), NULL,
      ngx_http_spectra_warehouse_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("spectra_rows"), NULL, ngx_http_spectra_answer_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("spectra_truncated"), NULL, ngx_http_spectra_answer_variable,
      1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("spectra_dataapi_time"), NULL,
      ngx_http_spectra_answer_variable, 2, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


void *
ngx_http_spectra_palloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


/*
 * $spectra_host: the Host of this request or subrequest, never cached.
 * A subrequest shares its parent's cache of variables, so $http_host in
 * the location of the module's subrequests (the Data API, the object
 * store) would be whatever host the first of them evaluated it with:
 * the signed Host of one service sent to another.
 */

static ngx_int_t
ngx_http_spectra_host_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    if (r->headers_in.host == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = r->headers_in.host->value.data;
    v->len = r->headers_in.host->value.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* spectra_jobs_retention time | off; */

static char *
ngx_http_spectra_jobs_retention(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_spectra_main_conf_t *smcf = conf;

    time_t      t;
    ngx_str_t  *value;

    if (smcf->jobs_retention != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        smcf->jobs_retention = 0;
        return NGX_CONF_OK;
    }

    t = ngx_parse_time(&value[1], 1);

    if (t == (time_t) NGX_ERROR || t < 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_jobs_retention\" must be a time of "
                           "at least 1s, or off, not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    smcf->jobs_retention = t;

    return NGX_CONF_OK;
}


/*
 * For logs: $spectra_rows, the rows of the answer (not found for an
 * answer without rows); $spectra_truncated, "true" or "false" with them;
 * $spectra_dataapi_time, the seconds (with milliseconds, as
 * $request_time) the request's Data API calls took, "0.000" for none.
 */

static ngx_int_t
ngx_http_spectra_answer_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                  *p;
    ngx_http_spectra_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_spectra_module);

    if (data != 2 && (ctx == NULL || !ctx->answer_rows_set)) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (data == 1) {
        if (ctx->truncated) {
            ngx_str_set(v, "true");

        } else {
            ngx_str_set(v, "false");
        }

    } else {
        p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 4);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->data = p;
        v->len = (data == 0)
                 ? ngx_sprintf(p, "%uL", ctx->answer_rows) - p
                 : ngx_sprintf(p, "%T.%03M",
                               (time_t) ((ctx ? ctx->dataapi_ms : 0) / 1000),
                               (ngx_msec_t) ((ctx ? ctx->dataapi_ms : 0)
                                             % 1000)) - p;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* $spectra_job_id: the job the request created or acted on, for logs. */

static ngx_int_t
ngx_http_spectra_job_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_spectra_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_spectra_module);

    if (ctx == NULL || ctx->job_id[0] == '\0') {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ctx->job_id;
    v->len = ngx_strlen(ctx->job_id);
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static void *
ngx_http_spectra_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     smcf->jobs_path = { 0, NULL };
     *     smcf->dataapi_url = { 0, NULL };
     *     smcf->sessions = NULL;
     *     smcf->queues = NULL;
     *     smcf->downloads = NULL;
     */

    if (ngx_array_init(&smcf->awscreds, cf->pool, 1, sizeof(void *))
        != NGX_OK)
    {
        return NULL;
    }

    smcf->request_id_index = NGX_CONF_UNSET;
    smcf->supervisor = NGX_CONF_UNSET;
    smcf->jobs_store = NGX_CONF_UNSET_UINT;
    smcf->ddb_timeout = NGX_CONF_UNSET_MSEC;
    smcf->supervisor_interval = NGX_CONF_UNSET_MSEC;
    smcf->jobs_retention = NGX_CONF_UNSET;
    smcf->supervisor_batch = NGX_CONF_UNSET_UINT;
    smcf->malloc_retain = NGX_CONF_UNSET_SIZE;

    return smcf;
}


static ngx_int_t
ngx_http_spectra_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_spectra_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}



/*
 * spectra_thread_pool name | off: where result pages are checked, off the
 * event loop (a page of the Data API can be 100 MB).  Default: nginx's
 * "default" pool; off: in the worker, between the requests it serves.
 */

static char *
ngx_http_spectra_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_spectra_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

#if (NGX_THREADS)

    if (slcf->thread_pool_name.data != NULL) {
        return "is duplicate";
    }

    slcf->thread_pool_name = value[1];

    if (ngx_strcmp(value[1].data, "off") == 0) {
        slcf->thread_pool = NULL;
        return NGX_CONF_OK;
    }

    slcf->thread_pool = ngx_thread_pool_add(cf, &value[1]);
    if (slcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

#else

    (void) slcf;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" needs nginx built with threads "
                       "(--with-threads); use \"off\"", &cmd->name);

    return NGX_CONF_ERROR;

#endif
}

static char *
ngx_http_spectra_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_spectra_main_conf_t *smcf = conf;

    if (smcf->jobs_path.len == 0) {
        ngx_str_set(&smcf->jobs_path, "spectra/jobs.db");
    }

    if (ngx_conf_full_name(cf->cycle, &smcf->jobs_path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_value(smcf->supervisor, 1);
    ngx_conf_init_uint_value(smcf->jobs_store, NGX_HTTP_SPECTRA_STORE_SQLITE);
    ngx_conf_init_msec_value(smcf->ddb_timeout, 3000);
    ngx_conf_init_msec_value(smcf->supervisor_interval, 250);
    ngx_conf_init_value(smcf->jobs_retention, 7 * 86400);
    ngx_conf_init_uint_value(smcf->supervisor_batch, 32);
    ngx_conf_init_size_value(smcf->malloc_retain,
                             NGX_HTTP_SPECTRA_MALLOC_RETAIN);

    if (ngx_http_spectra_cursor_key_init(cf, smcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (smcf->supervisor_interval == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_supervisor_interval must be above 0");
        return NGX_CONF_ERROR;
    }

    /* the URL of the background calls; the signed host names the default */

    if (smcf->dataapi_url.len
        && ngx_strncmp(smcf->dataapi_url.data, "http://", 7) != 0
        && ngx_strncmp(smcf->dataapi_url.data, "https://", 8) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_dataapi_url \"%V\" must start with "
                           "http:// or https://", &smcf->dataapi_url);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_spectra_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     slcf->dataapi_uri = { 0, NULL };
     *     slcf->dataapi_host = { 0, NULL };
     *     slcf->region, access_key, secret_key, session_token = { 0, NULL };
     *     slcf->cluster, workgroup, database = { 0, NULL };
     *     slcf->output_bufs = { 0, 0 };
     *     slcf->policy = { 0 };
     */

    slcf->retry_after = NGX_CONF_UNSET;
    slcf->secret_arn = NGX_CONF_UNSET_PTR;
    slcf->aws_provider = NGX_CONF_UNSET_UINT;
    slcf->aws_refresh_margin = NGX_CONF_UNSET;
    slcf->warehouse_route = NGX_CONF_UNSET_PTR;
    slcf->long_poll = NGX_CONF_UNSET_MSEC;
    slcf->session_keepalive = NGX_CONF_UNSET_MSEC;
    slcf->poll_min = NGX_CONF_UNSET_MSEC;
    slcf->poll_max = NGX_CONF_UNSET_MSEC;
    slcf->max_polls = NGX_CONF_UNSET_UINT;
    slcf->wait_timeout = NGX_CONF_UNSET_MSEC;
    slcf->query_timeout = NGX_CONF_UNSET_MSEC;
    slcf->max_running = NGX_CONF_UNSET_UINT;
    slcf->max_queued = NGX_CONF_UNSET_UINT;
    slcf->queue_timeout = NGX_CONF_UNSET_MSEC;
    slcf->row_limit = NGX_CONF_UNSET_UINT;
    slcf->results_row_limit = NGX_CONF_UNSET_UINT;
    slcf->byte_limit = NGX_CONF_UNSET_SIZE;
    slcf->numeric_as_number = NGX_CONF_UNSET;
    slcf->sql_max_length = NGX_CONF_UNSET_SIZE;
    slcf->sql_allow_values = NGX_CONF_UNSET;
    slcf->sql_deny_functions = NGX_CONF_UNSET_PTR;
    slcf->sql_deny_relations = NGX_CONF_UNSET_PTR;
    slcf->sql_deny_schemas = NGX_CONF_UNSET_PTR;
    slcf->sql_allow_functions = NGX_CONF_UNSET_PTR;
    slcf->s3_path_style = NGX_CONF_UNSET;
    slcf->presign_expires = NGX_CONF_UNSET;
    slcf->export_retention = NGX_CONF_UNSET;
    slcf->link_expires = NGX_CONF_UNSET;

    return slcf;
}


static char *
ngx_http_spectra_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_spectra_loc_conf_t *prev = parent;
    ngx_http_spectra_loc_conf_t *conf = child;

    ngx_http_spectra_main_conf_t  *smcf;

    ngx_conf_merge_sec_value(conf->retry_after, prev->retry_after, 1);

    ngx_conf_merge_msec_value(conf->long_poll, prev->long_poll, 0);
    ngx_conf_merge_msec_value(conf->session_keepalive,
                              prev->session_keepalive, 0);
    ngx_conf_merge_msec_value(conf->poll_min, prev->poll_min, 5);
    ngx_conf_merge_msec_value(conf->poll_max, prev->poll_max, 500);
    ngx_conf_merge_uint_value(conf->max_polls, prev->max_polls, 1000);
    ngx_conf_merge_msec_value(conf->wait_timeout, prev->wait_timeout, 10000);
    ngx_conf_merge_msec_value(conf->query_timeout, prev->query_timeout,
                              300000);
    ngx_conf_merge_uint_value(conf->max_running, prev->max_running, 0);
    ngx_conf_merge_uint_value(conf->max_queued, prev->max_queued, 0);
    ngx_conf_merge_msec_value(conf->queue_timeout, prev->queue_timeout, 5000);
    ngx_conf_merge_uint_value(conf->row_limit, prev->row_limit, 10000);
    ngx_conf_merge_uint_value(conf->results_row_limit,
                              prev->results_row_limit, 100000);
    ngx_conf_merge_size_value(conf->byte_limit, prev->byte_limit,
                              25 * 1024 * 1024);
    ngx_conf_merge_bufs_value(conf->output_bufs, prev->output_bufs,
                              8, 64 * 1024);

#if (NGX_THREADS)
    if (conf->thread_pool_name.data == NULL) {
        conf->thread_pool_name = prev->thread_pool_name;
        conf->thread_pool = prev->thread_pool;
    }

    if (conf->thread_pool_name.data == NULL) {
        /* nginx's "default" pool (32 threads), added here if need be */
        ngx_str_set(&conf->thread_pool_name, "default");

        conf->thread_pool = ngx_thread_pool_add(cf, NULL);
        if (conf->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }
#endif
    ngx_conf_merge_value(conf->numeric_as_number, prev->numeric_as_number, 0);
    ngx_conf_merge_size_value(conf->sql_max_length, prev->sql_max_length,
                              SPECTRA_SQL_MAX_LEN);
    ngx_conf_merge_value(conf->sql_allow_values, prev->sql_allow_values, 1);
    ngx_conf_merge_ptr_value(conf->sql_deny_functions,
                             prev->sql_deny_functions, NULL);
    ngx_conf_merge_ptr_value(conf->sql_deny_relations,
                             prev->sql_deny_relations, NULL);
    ngx_conf_merge_ptr_value(conf->sql_deny_schemas, prev->sql_deny_schemas,
                             NULL);
    ngx_conf_merge_ptr_value(conf->sql_allow_functions,
                             prev->sql_allow_functions, NULL);

    if (conf->poll_min == 0 || conf->poll_max < conf->poll_min) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_poll_interval: the maximum must not be "
                           "less than the minimum, and both above 0");
        return NGX_CONF_ERROR;
    }

    if (conf->row_limit == 0 || conf->row_limit > 1000000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_row_limit must be 1 to 1000000");
        return NGX_CONF_ERROR;
    }

    if (conf->results_row_limit == 0
        || conf->results_row_limit > 100000000)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_results_row_limit must be 1 to "
                           "100000000");
        return NGX_CONF_ERROR;
    }

    if (conf->byte_limit < 1024 || conf->byte_limit > 1024 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_byte_limit must be 1k to 1024m");
        return NGX_CONF_ERROR;
    }

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_spectra_module);

    if (conf->max_queued && smcf->queues == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_max_queued needs spectra_queue_zone");
        return NGX_CONF_ERROR;
    }

    if (conf->max_queued && conf->max_running == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_max_queued needs spectra_max_running");
        return NGX_CONF_ERROR;
    }

    if (conf->output_bufs.num < 2 || conf->output_bufs.size < 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_output_buffers needs at least 2 buffers "
                           "of at least 1k");
        return NGX_CONF_ERROR;
    }

    if (conf->query_timeout < 1000 || conf->query_timeout > 86400000
        || conf->query_timeout % 1000 || conf->wait_timeout % 1000)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_query_timeout is a whole number of "
                           "seconds from 1s to 24h, spectra_wait_timeout a "
                           "whole number of seconds");
        return NGX_CONF_ERROR;
    }

    if (conf->session_keepalive % 1000
        || conf->session_keepalive > 86400000)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_session_keepalive is a whole number of "
                           "seconds, at most 24h");
        return NGX_CONF_ERROR;
    }

    if (conf->long_poll % 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_long_poll is a whole number of seconds");
        return NGX_CONF_ERROR;
    }

    if (conf->wait_timeout > conf->query_timeout) {
        conf->wait_timeout = conf->query_timeout;
    }

    ngx_http_spectra_sql_policy(conf);

    if (ngx_http_spectra_merge_dataapi(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_spectra_merge_export(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_ptr_value(conf->warehouse_route, prev->warehouse_route,
                             NULL);

    return ngx_http_spectra_warehouse_merge(cf, conf);
}


/*
 * Exports: the bucket and prefix UNLOAD writes under, and the endpoint
 * whose URLs the module signs (S3 of the Data API's region by default).
 */

static char *
ngx_http_spectra_merge_export(ngx_conf_t *cf,
    ngx_http_spectra_loc_conf_t *prev, ngx_http_spectra_loc_conf_t *conf)
{
    size_t         i;
    spectra_err_t  err;

    ngx_conf_merge_str_value(conf->export_bucket, prev->export_bucket, "");
    ngx_conf_merge_str_value(conf->export_prefix, prev->export_prefix, "");
    ngx_conf_merge_str_value(conf->export_iam_role, prev->export_iam_role,
                             "default");
    ngx_conf_merge_str_value(conf->s3_endpoint_url, prev->s3_endpoint_url,
                             "");
    ngx_conf_merge_value(conf->s3_path_style, prev->s3_path_style, 0);
    ngx_conf_merge_str_value(conf->s3_uri, prev->s3_uri, "/_spectra/s3");
    ngx_conf_merge_sec_value(conf->presign_expires, prev->presign_expires,
                             3600);
    ngx_conf_merge_sec_value(conf->export_retention, prev->export_retention,
                             86400);
    ngx_conf_merge_sec_value(conf->link_expires, prev->link_expires, 60);

    if (spectra_bulk_prefix_valid(conf->export_prefix.data,
                                  conf->export_prefix.len, &err)
        != SPECTRA_BULK_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "spectra_export_prefix: %s",
                           err.message);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < conf->export_iam_role.len; i++) {
        if (conf->export_iam_role.data[i] < 0x21
            || conf->export_iam_role.data[i] > 0x7e
            || conf->export_iam_role.data[i] == '\''
            || conf->export_iam_role.data[i] == '\\')
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "spectra_export_iam_role must be an ARN or "
                               "\"default\", without quotes, backslashes "
                               "or spaces");
            return NGX_CONF_ERROR;
        }
    }

    if (conf->presign_expires < 1
        || conf->presign_expires > SPECTRA_SIGV4_MAX_EXPIRES)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_presign_expires must be 1s to 7d");
        return NGX_CONF_ERROR;
    }

    if (conf->link_expires < 1
        || conf->link_expires > SPECTRA_SIGV4_MAX_EXPIRES)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_link_expires must be 1s to 7d");
        return NGX_CONF_ERROR;
    }

    if (conf->export_retention < 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_export_retention must be at least 1s");
        return NGX_CONF_ERROR;
    }

    if (conf->s3_endpoint_url.len == 0) {
        conf->s3_endpoint_url.len = sizeof("https://s3..amazonaws.com") - 1
                                    + conf->region.len;
        conf->s3_endpoint_url.data = ngx_pnalloc(cf->pool,
                                                 conf->s3_endpoint_url.len);
        if (conf->s3_endpoint_url.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(conf->s3_endpoint_url.data, "https://s3.%V.amazonaws.com",
                    &conf->region);
    }

    if (spectra_s3_endpoint_parse(conf->s3_endpoint_url.data,
                                  conf->s3_endpoint_url.len,
                                  &conf->s3_endpoint, &err)
        != SPECTRA_S3_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "spectra_s3_endpoint "
                           "\"%V\": %s", &conf->s3_endpoint_url,
                           err.message);
        return NGX_CONF_ERROR;
    }

    if (conf->export_bucket.len
        && spectra_s3_bucket_check(&conf->s3_endpoint,
                                   conf->export_bucket.data,
                                   conf->export_bucket.len,
                                   conf->s3_path_style ? 1 : 0, &err)
           != SPECTRA_S3_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_export_bucket \"%V\": %s",
                           &conf->export_bucket, err.message);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The Data API settings; credentials and region default to the standard
 * AWS_* environment variables of the master process, read once here.
 */

static char *
ngx_http_spectra_merge_dataapi(ngx_conf_t *cf,
    ngx_http_spectra_loc_conf_t *prev, ngx_http_spectra_loc_conf_t *conf)
{
    ngx_conf_merge_str_value(conf->dataapi_uri, prev->dataapi_uri,
                             "/_spectra/dataapi");
    ngx_conf_merge_str_value(conf->dataapi_host, prev->dataapi_host, "");
    ngx_conf_merge_str_value(conf->region, prev->region, "");
    ngx_conf_merge_str_value(conf->access_key, prev->access_key, "");
    ngx_conf_merge_str_value(conf->secret_key, prev->secret_key, "");
    ngx_conf_merge_str_value(conf->session_token, prev->session_token, "");
    ngx_conf_merge_str_value(conf->cluster, prev->cluster, "");
    ngx_conf_merge_str_value(conf->workgroup, prev->workgroup, "");
    ngx_conf_merge_str_value(conf->database, prev->database, "dev");
    ngx_conf_merge_ptr_value(conf->secret_arn, prev->secret_arn, NULL);

    if (conf->region.len == 0
        && ngx_http_spectra_conf_env(cf, &conf->region, "AWS_REGION",
                                     "AWS_DEFAULT_REGION")
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->region.len == 0) {
        ngx_str_set(&conf->region, "us-east-1");
    }

    if (conf->dataapi_host.len == 0) {
        conf->dataapi_host.len = sizeof("redshift-data..amazonaws.com") - 1
                                 + conf->region.len;
        conf->dataapi_host.data = ngx_pnalloc(cf->pool,
                                              conf->dataapi_host.len);
        if (conf->dataapi_host.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(conf->dataapi_host.data, "redshift-data.%V.amazonaws.com",
                    &conf->region);
    }

    if (conf->access_key.len == 0 && conf->secret_key.len == 0
        && (ngx_http_spectra_conf_env(cf, &conf->access_key,
                                      "AWS_ACCESS_KEY_ID", NULL) != NGX_OK
            || ngx_http_spectra_conf_env(cf, &conf->secret_key,
                                         "AWS_SECRET_ACCESS_KEY", NULL)
               != NGX_OK
            || ngx_http_spectra_conf_env(cf, &conf->session_token,
                                         "AWS_SESSION_TOKEN", NULL)
               != NGX_OK))
    {
        return NGX_CONF_ERROR;
    }

    if ((conf->access_key.len == 0) != (conf->secret_key.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra: an AWS access key id needs its secret "
                           "access key, and the other way round");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_spectra_awscreds_merge(cf, prev, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->workgroup.len && conf->cluster.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_workgroup_name and "
                           "spectra_cluster_identifier exclude each other");
        return NGX_CONF_ERROR;
    }

    /*
     * A Serverless workgroup knows no DbUser: without a per-tenant secret
     * every tenant would run as the same database user, and RLS could not
     * tell them apart.
     */

    if (conf->workgroup.len && conf->secret_arn == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_workgroup_name needs spectra_secret_arn "
                           "(per-tenant secrets), so that each tenant runs "
                           "as its own database user");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_spectra_conf_env(ngx_conf_t *cf, ngx_str_t *value,
    const char *name1, const char *name2)
{
    char       *v;
    ngx_str_t   s;

    v = getenv(name1);

    if ((v == NULL || *v == '\0') && name2 != NULL) {
        v = getenv(name2);
    }

    if (v == NULL || *v == '\0') {
        return NGX_OK;
    }

    s.data = (u_char *) v;
    s.len = ngx_strlen(v);

    value->data = ngx_pstrdup(cf->pool, &s);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    value->len = s.len;

    return NGX_OK;
}


/* spectra_session_zone name:size; */

static char *
ngx_http_spectra_session_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_spectra_main_conf_t *smcf = conf;

    u_char                       *p;
    ssize_t                       size;
    void                         *ss;
    ngx_str_t                    *value, name, s;

    if (smcf->sessions != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');
    if (p == NULL) {
        return "needs \"name:size\"";
    }

    name.data = value[1].data;
    name.len = p - name.data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (name.len == 0 || size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", &value[1]);
        return NGX_CONF_ERROR;
    }

    ss = ngx_http_spectra_sessions_create(cf);
    if (ss == NULL) {
        return NGX_CONF_ERROR;
    }

    smcf->sessions = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_spectra_module);
    if (smcf->sessions == NULL) {
        return NGX_CONF_ERROR;
    }

    if (smcf->sessions->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    smcf->sessions->init = ngx_http_spectra_sessions_init_zone;
    smcf->sessions->data = ss;

    return NGX_CONF_OK;
}


/*
 * The SQL policy of a location: the built-in deny lists (the core's),
 * plus the lists of the directives (arrays of ngx_str_t, which has
 * spectra_str_t's layout).
 */

static void
ngx_http_spectra_sql_policy(ngx_http_spectra_loc_conf_t *conf)
{
    spectra_sql_policy_t  *policy;

    policy = &conf->policy;

    spectra_sql_policy_default(policy);
    policy->max_len = conf->sql_max_length;
    policy->allow_values = conf->sql_allow_values ? 1 : 0;

    if (conf->sql_deny_functions != NULL) {
        policy->deny_functions = conf->sql_deny_functions->elts;
        policy->ndeny_functions = conf->sql_deny_functions->nelts;
    }

    if (conf->sql_deny_relations != NULL) {
        policy->deny_relations = conf->sql_deny_relations->elts;
        policy->ndeny_relations = conf->sql_deny_relations->nelts;
    }

    if (conf->sql_deny_schemas != NULL) {
        policy->deny_schemas = conf->sql_deny_schemas->elts;
        policy->ndeny_schemas = conf->sql_deny_schemas->nelts;
    }

    if (conf->sql_allow_functions != NULL) {
        policy->allow_functions = conf->sql_allow_functions->elts;
        policy->nallow_functions = conf->sql_allow_functions->nelts;
    }
}


/* spectra_sql_deny_functions|relations|schemas name ...; */

static char *
ngx_http_spectra_sql_list(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t            *value, *s;
    ngx_uint_t            i;
    ngx_array_t         **a;
    spectra_err_t         err;
    spectra_sql_list_e   *list;

    a = (ngx_array_t **) (p + cmd->offset);
    list = cmd->post;

    if (*a == NGX_CONF_UNSET_PTR) {
        *a = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (*a == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (spectra_sql_list_entry_check(*list, value[i].data, value[i].len,
                                         &err)
            != SPECTRA_SQL_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: %s", &cmd->name,
                               err.message);
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(*a);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


/*
 * spectra_sql_allow_functions file|off; one name a line, '#' comments,
 * read here once: a bad file fails nginx -t.
 */

static char *
ngx_http_spectra_sql_allow_functions(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_spectra_loc_conf_t *slcf = conf;

    size_t            n, size;
    u_char           *buf;
    ssize_t           nread;
    ngx_str_t        *value;
    ngx_file_t        file;
    ngx_array_t      *a;
    spectra_err_t     err;
    ngx_file_info_t   fi;

    if (slcf->sql_allow_functions != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        slcf->sql_allow_functions = NULL;
        return NGX_CONF_OK;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = value[1];
    file.log = cf->log;

    if (ngx_conf_full_name(cf->cycle, &file.name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    file.fd = ngx_open_file(file.name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN,
                            0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &file.name);
        return NGX_CONF_ERROR;
    }

    buf = NULL;
    size = 0;

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", &file.name);
        goto failed;
    }

    size = (size_t) ngx_file_size(&fi);

    if (size > 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is larger than 1 MB", &file.name);
        goto failed;
    }

    buf = ngx_pnalloc(cf->pool, size + 1);
    if (buf == NULL) {
        goto failed;
    }

    nread = ngx_read_file(&file, buf, size, 0);

    if (nread != (ssize_t) size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_file_n " \"%V\" failed", &file.name);
        goto failed;
    }

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &file.name);
    }

    if (spectra_sql_list_parse(SPECTRA_SQL_LIST_FUNCTIONS, buf, size, NULL,
                               0, &n, &err)
        != SPECTRA_SQL_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": %s", &file.name,
                           err.message);
        return NGX_CONF_ERROR;
    }

    a = ngx_array_create(cf->pool, n ? n : 1, sizeof(ngx_str_t));
    if (a == NULL) {
        return NGX_CONF_ERROR;
    }

    if (spectra_sql_list_parse(SPECTRA_SQL_LIST_FUNCTIONS, buf, size,
                               a->elts, n, &n, &err)
        != SPECTRA_SQL_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": %s", &file.name,
                           err.message);
        return NGX_CONF_ERROR;
    }

    a->nelts = n;

    slcf->sql_allow_functions = a;

    return NGX_CONF_OK;

failed:

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &file.name);
    }

    return NGX_CONF_ERROR;
}


/* spectra_poll_interval min [max]; */

static char *
ngx_http_spectra_poll_interval(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_spectra_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    if (slcf->poll_min != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    slcf->poll_min = ngx_parse_time(&value[1], 0);
    if (slcf->poll_min == (ngx_msec_t) NGX_ERROR) {
        return "has an invalid minimum";
    }

    if (cf->args->nelts == 3) {
        slcf->poll_max = ngx_parse_time(&value[2], 0);
        if (slcf->poll_max == (ngx_msec_t) NGX_ERROR) {
            return "has an invalid maximum";
        }

    } else {
        slcf->poll_max = ngx_max(slcf->poll_min, 500);
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_spectra_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_spectra_main_conf_t  *smcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return "is duplicate or conflicts with another content handler";
    }

    clcf->handler = ngx_http_spectra_api_handler;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_spectra_module);
    smcf->enabled = 1;

    if (smcf->first_api == NULL) {
        smcf->first_api = conf;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_spectra_error_page(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return "is duplicate or conflicts with another content handler";
    }

    clcf->handler = ngx_http_spectra_error_page_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_spectra_init(ngx_conf_t *cf)
{
    size_t                         http_host;
    ngx_http_spectra_loc_conf_t   *slcf, *defaults;
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_spectra_module);

    /*
     * Background work (the supervisor) uses the Data API settings of the
     * http{} block when it names a Data API; they get their defaults here,
     * as a location's do.  Otherwise it uses those of the first location
     * with spectra_api (merged by now).
     */

    slcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_spectra_module);
    http_host = slcf->dataapi_host.len;

    defaults = ngx_http_spectra_create_loc_conf(cf);
    if (defaults == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_spectra_merge_loc_conf(cf, defaults, slcf) != NGX_CONF_OK) {
        return NGX_ERROR;
    }

    if (!http_host && smcf->first_api != NULL) {
        slcf = smcf->first_api;
    }

    smcf->background = slcf;

    if (smcf->dataapi_url.len == 0) {
        smcf->dataapi_url.len = sizeof("https:///") - 1
                                + slcf->dataapi_host.len;
        smcf->dataapi_url.data = ngx_pnalloc(cf->pool, smcf->dataapi_url.len);
        if (smcf->dataapi_url.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(smcf->dataapi_url.data, "https://%V/",
                    &slcf->dataapi_host);
    }

    if (ngx_http_spectra_ddb_conf(cf, smcf) != NGX_CONF_OK) {
        return NGX_ERROR;
    }

    smcf->request_id_index = ngx_http_get_variable_index(cf,
                                                 &ngx_http_spectra_request_id);
    if (smcf->request_id_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    return ngx_http_spectra_log_init(cf);
}


static ngx_int_t
ngx_http_spectra_init_module(ngx_cycle_t *cycle)
{
    return ngx_http_spectra_jobs_init_path(cycle);
}


/*
 * Each worker has its own connection to the job store and its own
 * background HTTP client; the first worker supervises the jobs.
 */

static ngx_int_t
ngx_http_spectra_init_process(ngx_cycle_t *cycle)
{
    /* before the job store's first allocations */
    ngx_http_spectra_malloc_init_process(cycle);

    if (ngx_http_spectra_jobs_open(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_spectra_checkpoint_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_spectra_curl_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_spectra_awscreds_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_spectra_supervisor_init(cycle);
}


static void
ngx_http_spectra_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_spectra_supervisor_exit(cycle);
    ngx_http_spectra_awscreds_exit_process(cycle);
    ngx_http_spectra_curl_exit(cycle);
    ngx_http_spectra_checkpoint_exit(cycle);
    ngx_http_spectra_jobs_close(cycle);
}
