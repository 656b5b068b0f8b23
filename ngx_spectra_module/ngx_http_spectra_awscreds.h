/*
 * AWS credentials for everything the module signs (Data API calls, S3
 * links, the DynamoDB job store): spectra_aws_credentials picks a
 * provider.  static and env are fixed at load; profile, web_identity,
 * container and imds keep the current set in a shared memory zone that
 * one worker at a time refreshes through the background HTTP client,
 * well before it expires.  Signing reads the zone and never waits.
 */

#ifndef _NGX_HTTP_SPECTRA_AWSCREDS_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_AWSCREDS_H_INCLUDED_


#include "ngx_http_spectra_common.h"
#include "spectra_sigv4.h"


typedef struct ngx_http_spectra_awscreds_s  ngx_http_spectra_awscreds_t;


typedef struct {
    const char                 *provider;
    time_t                      fetched;      /* 0: never */
    time_t                      expires;      /* 0: never expires */
    uint64_t                    refreshes;
    uint64_t                    failures;
    ngx_uint_t                  usable;
} ngx_http_spectra_awscreds_state_t;


/* spectra_aws_credentials provider [args]; (the loc conf's) */
char *ngx_http_spectra_awscreds_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* Resolves the provider of a merged loc conf (after its static keys). */
ngx_int_t ngx_http_spectra_awscreds_merge(ngx_conf_t *cf,
    ngx_http_spectra_loc_conf_t *prev, ngx_http_spectra_loc_conf_t *conf);

/*
 * The current key, secret and token (in pool) into cred; expires: when
 * they stop working (0: never).  NGX_DECLINED when there are none yet or
 * they expired: the caller answers 503.
 */
ngx_int_t ngx_http_spectra_awscreds_get(ngx_http_spectra_loc_conf_t *conf,
    ngx_pool_t *pool, spectra_sigv4_credentials_t *cred, time_t *expires);

/* NGX_OK when get() would give credentials (or none are configured). */
ngx_int_t ngx_http_spectra_awscreds_usable(ngx_http_spectra_loc_conf_t *conf);

/* The n-th refreshed provider's state; NGX_DECLINED past the last. */
ngx_int_t ngx_http_spectra_awscreds_state(ngx_cycle_t *cycle, ngx_uint_t n,
    ngx_http_spectra_awscreds_state_t *state);

ngx_int_t ngx_http_spectra_awscreds_init_process(ngx_cycle_t *cycle);
void ngx_http_spectra_awscreds_exit_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_SPECTRA_AWSCREDS_H_INCLUDED_ */
