/*
 * Pages of GET /v1/jobs/{id}/results (ngx_http_spectra_pages.h): their
 * arguments and their cursors.  A cursor is sealed (AES-256-GCM) with the
 * key of spectra_results_cursor_key, or with a random key made when the
 * configuration is read, and bound to the job id, the job's tenant and
 * its database user: the client can neither read the Data API's NextToken
 * in it nor change it, and the cursor of another job, tenant or user is
 * refused like a forged one.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_pages.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>


/* the length of a key file: enough secret, and no stray large file */
#define NGX_HTTP_SPECTRA_KEY_MIN  32
#define NGX_HTTP_SPECTRA_KEY_MAX  4096

/* page_bytes below this leave no room for rows beside the metadata */
#define NGX_HTTP_SPECTRA_PAGE_BYTES_MIN  1024


static void ngx_http_spectra_page_bind(spectra_job_t *job,
    spectra_str_t *bind);


ngx_int_t
ngx_http_spectra_page_args(ngx_http_request_t *r,
    ngx_http_spectra_page_t *page, ngx_str_t *error)
{
    ngx_int_t                     n, found;
    ngx_str_t                     arg;
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    ngx_memzero(page, sizeof(ngx_http_spectra_page_t));

    page->rows = slcf->row_limit;
    page->bytes = slcf->byte_limit;

    found = 0;

    if (ngx_http_arg(r, (u_char *) "page_size", 9, &arg) == NGX_OK) {
        found = 1;
        n = ngx_atoi(arg.data, arg.len);

        if (n < 1 || (ngx_uint_t) n > slcf->row_limit) {
            error->data = ngx_pnalloc(r->pool, 80);
            if (error->data == NULL) {
                return NGX_ERROR;
            }

            error->len = ngx_sprintf(error->data, "page_size must be an "
                                     "integer from 1 to %ui",
                                     slcf->row_limit)
                         - error->data;
            return NGX_ERROR;
        }

        page->rows = (uint64_t) n;
    }

    if (ngx_http_arg(r, (u_char *) "page_bytes", 10, &arg) == NGX_OK) {
        found = 1;
        n = ngx_atoi(arg.data, arg.len);

        if (n < NGX_HTTP_SPECTRA_PAGE_BYTES_MIN
            || (size_t) n > slcf->byte_limit)
        {
            error->data = ngx_pnalloc(r->pool, 80);
            if (error->data == NULL) {
                return NGX_ERROR;
            }

            error->len = ngx_sprintf(error->data, "page_bytes must be an "
                                     "integer from %d to %uz",
                                     NGX_HTTP_SPECTRA_PAGE_BYTES_MIN,
                                     slcf->byte_limit)
                         - error->data;
            return NGX_ERROR;
        }

        page->bytes = (uint64_t) n;
    }

    if (ngx_http_arg(r, (u_char *) "cursor", 6, &arg) == NGX_OK) {
        found = 1;

        if (arg.len == 0 || arg.len > SPECTRA_CURSOR_MAX_LEN) {
            ngx_str_set(error, "invalid cursor");
            return NGX_ERROR;
        }

        page->cursor = arg;
    }

    return found ? NGX_OK : NGX_DECLINED;
}


/* What a cursor is bound to: the job and whose it is. */

static void
ngx_http_spectra_page_bind(spectra_job_t *job, spectra_str_t *bind)
{
    bind[0].data = job->id;
    bind[0].len = ngx_strlen(job->id);
    bind[1] = job->tenant_id;
    bind[2] = job->db_user;
}


ngx_int_t
ngx_http_spectra_page_open(ngx_http_request_t *r,
    ngx_http_spectra_page_t *page, spectra_job_t *job)
{
    int                            rc;
    spectra_err_t                  err;
    spectra_str_t                  bind[3];
    spectra_pool_t                 pool = ngx_http_spectra_pool(r->pool);
    ngx_http_spectra_main_conf_t  *smcf;

    if (page->cursor.len == 0) {
        return NGX_OK;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_module);

    ngx_http_spectra_page_bind(job, bind);

    rc = spectra_cursor_open(page->cursor.data, page->cursor.len,
                             smcf->cursor_key, bind, 3, &pool, &page->at,
                             &err);

    if (rc == SPECTRA_CURSOR_INVALID) {
        /* the cursor itself is the client's: not logged */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: a cursor that is not one of job %s's "
                      "results was refused", job->id);
        return NGX_DECLINED;
    }

    if (rc != SPECTRA_CURSOR_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: results cursor: %s", err.message);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_spectra_page_opened(ngx_http_spectra_page_t *page, ngx_str_t *token,
    spectra_result_page_t *info)
{
    page->token = *token;
    page->next.data = info->next_token.data;
    page->next.len = info->next_token.len;
    page->records = info->records;

    return (page->next.len > SPECTRA_CURSOR_TOKEN_MAX) ? NGX_ERROR : NGX_OK;
}


/*
 * The next cursor carries the token of the page open now or its
 * NextToken: room for the longer of the two.
 */

size_t
ngx_http_spectra_page_cursor_room(ngx_http_spectra_page_t *page)
{
    size_t  len;

    len = ngx_max(page->token.len, page->next.len);

    return sizeof(",\"next_cursor\":\"\"") - 1 + spectra_cursor_len(len);
}


ngx_int_t
ngx_http_spectra_page_next(ngx_http_request_t *r,
    ngx_http_spectra_page_t *page, spectra_result_t *res, spectra_job_t *job,
    ngx_str_t *cursor)
{
    spectra_err_t                  err;
    spectra_str_t                  bind[3];
    spectra_cursor_t               c;
    ngx_http_spectra_main_conf_t  *smcf;

    cursor->len = 0;
    cursor->data = NULL;

    /* not truncated: the result ends with this page */
    if (!res->truncated) {
        return NGX_OK;
    }

    if (res->emitted < page->records) {
        /* the next row is in the Data API page open now */
        c.token.data = page->token.data;
        c.token.len = page->token.len;
        c.skip = res->emitted;

    } else if (page->next.len) {
        c.token.data = page->next.data;
        c.token.len = page->next.len;
        c.skip = 0;

    } else {
        return NGX_OK;
    }

    c.offset = page->at.offset + res->rows;

    if (c.offset >= page->kept) {
        /* more rows than the statement kept: no page has them */
        page->capped = 1;
        return NGX_OK;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_module);

    cursor->data = ngx_pnalloc(r->pool, spectra_cursor_len(c.token.len));
    if (cursor->data == NULL) {
        return NGX_ERROR;
    }

    ngx_http_spectra_page_bind(job, bind);

    if (spectra_cursor_seal(cursor->data, &cursor->len, smcf->cursor_key,
                            bind, 3, &c, &err)
        != SPECTRA_CURSOR_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: results cursor of job %s: %s", job->id,
                      err.message);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * spectra_results_cursor_key FILE: the secret cursors are sealed with
 * (32 to 4096 bytes, a trailing newline not counted), so that they stay
 * valid across reloads and restarts and on every node that has the same
 * file.  Read once, by the master.
 */

char *
ngx_http_spectra_cursor_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_spectra_main_conf_t *smcf = conf;

    char             *rv;
    u_char            buf[NGX_HTTP_SPECTRA_KEY_MAX + 1];
    size_t            len;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t        *value, name;
    ngx_file_info_t   fi;

    if (smcf->cursor_key_set) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%s\" failed", name.data);
        return NGX_CONF_ERROR;
    }

    rv = NGX_CONF_ERROR;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%s\" failed", name.data);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_SPECTRA_KEY_MAX + 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": \"%s\" is larger than %d bytes",
                           &cmd->name, name.data, NGX_HTTP_SPECTRA_KEY_MAX);
        goto done;
    }

    n = ngx_read_fd(fd, buf, sizeof(buf));
    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%s\" failed", name.data);
        goto done;
    }

    len = (size_t) n;

    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        len--;
    }

    if (len < NGX_HTTP_SPECTRA_KEY_MIN || len > NGX_HTTP_SPECTRA_KEY_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": \"%s\" must hold %d to %d bytes of "
                           "secret (e.g. openssl rand -base64 48)",
                           &cmd->name, name.data, NGX_HTTP_SPECTRA_KEY_MIN,
                           NGX_HTTP_SPECTRA_KEY_MAX);
        goto done;
    }

    if (spectra_cursor_key(smcf->cursor_key, buf, len) != SPECTRA_CURSOR_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": the key could not be derived",
                           &cmd->name);
        goto done;
    }

    smcf->cursor_key_set = 1;
    rv = NGX_CONF_OK;

done:

    OPENSSL_cleanse(buf, sizeof(buf));

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%s\" failed", name.data);
    }

    return rv;
}


/*
 * A random key, made by the master for this configuration and shared by
 * its workers: cursors then last until the next reload or restart.
 */

ngx_int_t
ngx_http_spectra_cursor_key_init(ngx_conf_t *cf,
    ngx_http_spectra_main_conf_t *smcf)
{
    u_char  rnd[SPECTRA_CURSOR_KEY_LEN];

    if (smcf->cursor_key_set) {
        return NGX_OK;
    }

    if (RAND_bytes(rnd, sizeof(rnd)) != 1
        || spectra_cursor_key(smcf->cursor_key, rnd, sizeof(rnd))
           != SPECTRA_CURSOR_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the results cursor key could not be made");
        return NGX_ERROR;
    }

    OPENSSL_cleanse(rnd, sizeof(rnd));
    smcf->cursor_key_set = 1;

    return NGX_OK;
}
