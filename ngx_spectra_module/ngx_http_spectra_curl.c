/*
 * libcurl's multi interface in nginx's event loop (ngx_http_spectra_curl.h):
 * CURLMOPT_SOCKETFUNCTION maps each of libcurl's sockets to an nginx
 * connection with level-triggered events (libcurl reads only as much as
 * it wants per call), CURLMOPT_TIMERFUNCTION to one nginx timer.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_curl.h"
#include "ngx_http_spectra_dataapi.h"
#include "ngx_http_spectra_statement.h"

#include <curl/curl.h>


struct ngx_http_spectra_curl_s {
    CURLM                      *multi;
    ngx_event_t                 timer;
    ngx_log_t                  *log;
    ngx_uint_t                  running;
};


typedef struct {
    ngx_http_spectra_curl_call_t   *call;
    CURL                           *easy;
    struct curl_slist              *headers;
    u_char                         *buf;
    size_t                          len;
    size_t                          size;
    unsigned                        too_big:1;
    char                            error[CURL_ERROR_SIZE];
} ngx_http_spectra_curl_xfer_t;


static ngx_http_spectra_curl_t *ngx_http_spectra_curl_get(void);
static void ngx_http_spectra_curl_header(CURL *easy,
    ngx_http_spectra_curl_call_t *call, const char *name, ngx_str_t *value);
static int ngx_http_spectra_curl_socket(CURL *easy, curl_socket_t s,
    int what, void *userp, void *socketp);
static int ngx_http_spectra_curl_timer(CURLM *multi, long timeout_ms,
    void *userp);
static void ngx_http_spectra_curl_timer_handler(ngx_event_t *ev);
static void ngx_http_spectra_curl_event_handler(ngx_event_t *ev);
static void ngx_http_spectra_curl_check(ngx_http_spectra_curl_t *curl);
static size_t ngx_http_spectra_curl_write(char *ptr, size_t size,
    size_t nmemb, void *userdata);
static void ngx_http_spectra_curl_stmt_done(void *data, ngx_uint_t status,
    ngx_str_t *body);


static ngx_http_spectra_curl_t *
ngx_http_spectra_curl_get(void)
{
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_spectra_module);

    return (smcf != NULL) ? smcf->curl : NULL;
}


ngx_int_t
ngx_http_spectra_curl_init(ngx_cycle_t *cycle)
{
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_spectra_module);

    /* the supervisor's calls, and a DynamoDB job store's */
    if (smcf == NULL || !smcf->enabled
        || (!smcf->supervisor && smcf->ddb == NULL))
    {
        return NGX_OK;
    }

    return ngx_http_spectra_curl_start(cycle);
}


ngx_int_t
ngx_http_spectra_curl_start(ngx_cycle_t *cycle)
{
    ngx_http_spectra_curl_t       *curl;
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_spectra_module);

    if (smcf == NULL) {
        return NGX_ERROR;
    }

    if (smcf->curl != NULL) {
        return NGX_OK;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "spectra: curl_global_init() failed");
        return NGX_ERROR;
    }

    curl = ngx_pcalloc(cycle->pool, sizeof(ngx_http_spectra_curl_t));
    if (curl == NULL) {
        return NGX_ERROR;
    }

    curl->multi = curl_multi_init();
    if (curl->multi == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "spectra: curl_multi_init() failed");
        return NGX_ERROR;
    }

    curl->log = cycle->log;
    curl->timer.handler = ngx_http_spectra_curl_timer_handler;
    curl->timer.data = curl;
    curl->timer.log = cycle->log;
    curl->timer.cancelable = 1;

    curl_multi_setopt(curl->multi, CURLMOPT_SOCKETFUNCTION,
                      ngx_http_spectra_curl_socket);
    curl_multi_setopt(curl->multi, CURLMOPT_SOCKETDATA, curl);
    curl_multi_setopt(curl->multi, CURLMOPT_TIMERFUNCTION,
                      ngx_http_spectra_curl_timer);
    curl_multi_setopt(curl->multi, CURLMOPT_TIMERDATA, curl);

    smcf->curl = curl;

    return NGX_OK;
}


void
ngx_http_spectra_curl_exit(ngx_cycle_t *cycle)
{
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_spectra_module);

    if (smcf == NULL || smcf->curl == NULL) {
        return;
    }

    if (smcf->curl->timer.timer_set) {
        ngx_del_timer(&smcf->curl->timer);
    }

    /* the process exits: transfers still out are dropped with it */
    curl_multi_cleanup(smcf->curl->multi);
    smcf->curl = NULL;

    curl_global_cleanup();
}


ngx_int_t
ngx_http_spectra_curl_post(ngx_http_spectra_curl_call_t *call)
{
    u_char                        *p;
    ngx_uint_t                     i;
    struct curl_slist             *list;
    ngx_http_spectra_curl_t       *curl;
    ngx_http_spectra_curl_xfer_t  *x;

    curl = ngx_http_spectra_curl_get();
    if (curl == NULL) {
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "spectra: no background HTTP client in this worker");
        return NGX_ERROR;
    }

    x = ngx_pcalloc(call->pool, sizeof(ngx_http_spectra_curl_xfer_t));
    if (x == NULL) {
        return NGX_ERROR;
    }

    x->call = call;

    x->easy = curl_easy_init();
    if (x->easy == NULL) {
        return NGX_ERROR;
    }

    /* libcurl wants C strings */

    for (i = 0; i < call->nheaders; i++) {
        p = ngx_pnalloc(call->pool, call->headers[i].len + 1);
        if (p == NULL) {
            goto failed;
        }

        ngx_cpystrn(p, call->headers[i].data, call->headers[i].len + 1);

        list = curl_slist_append(x->headers, (char *) p);
        if (list == NULL) {
            goto failed;
        }

        x->headers = list;
    }

    /* no "Expect: 100-continue" round trip for bodies over 1 KiB */
    list = curl_slist_append(x->headers, "Expect:");
    if (list == NULL) {
        goto failed;
    }

    x->headers = list;

    p = ngx_pnalloc(call->pool, call->url.len + 1);
    if (p == NULL) {
        goto failed;
    }

    ngx_cpystrn(p, call->url.data, call->url.len + 1);

    curl_easy_setopt(x->easy, CURLOPT_URL, (char *) p);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);

    if (call->method == NULL || ngx_strcmp(call->method, "GET") != 0) {
        curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS,
                         call->body.len ? (char *) call->body.data : "");
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE,
                         (long) call->body.len);

        if (call->method != NULL) {
            curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, call->method);
        }
    }

    if (call->cainfo.len) {
        /* a NUL-terminated path from the configuration */
        curl_easy_setopt(x->easy, CURLOPT_CAINFO, (char *) call->cainfo.data);
    }
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION,
                     ngx_http_spectra_curl_write);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->error);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long) call->timeout);
    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) ngx_min(call->timeout, 10000));

    if (curl_multi_add_handle(curl->multi, x->easy) != CURLM_OK) {
        goto failed;
    }

    curl->running++;

    /*
     * While transfers are in flight the timer is not cancelable: a worker
     * shutting down gracefully (a reload) stays until they end, bounded
     * by their own timeouts, so that a request waiting on the Data API
     * gets its answer instead of a closed connection.
     */
    curl->timer.cancelable = 0;

    return NGX_OK;

failed:

    curl_slist_free_all(x->headers);
    curl_easy_cleanup(x->easy);

    return NGX_ERROR;
}


static size_t
ngx_http_spectra_curl_write(char *ptr, size_t size, size_t nmemb,
    void *userdata)
{
    ngx_http_spectra_curl_xfer_t  *x = userdata;

    u_char  *p;
    size_t   n, want;

    n = size * nmemb;

    if (x->len + n > x->call->max_answer) {
        x->too_big = 1;
        return 0;
    }

    if (x->len + n > x->size) {
        want = ngx_max(x->size * 2, x->len + n);
        want = ngx_max(want, 4096);

        p = ngx_palloc(x->call->pool, want);
        if (p == NULL) {
            return 0;
        }

        if (x->len) {
            ngx_memcpy(p, x->buf, x->len);
        }

        if (x->buf != NULL) {
            (void) ngx_pfree(x->call->pool, x->buf);
        }

        x->buf = p;
        x->size = want;
    }

    ngx_memcpy(x->buf + x->len, ptr, n);
    x->len += n;

    return n;
}


static int
ngx_http_spectra_curl_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp)
{
    ngx_http_spectra_curl_t *curl = userp;

    ngx_connection_t  *c;

    c = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (c != NULL) {
            if (c->read->active) {
                ngx_del_event(c->read, NGX_READ_EVENT, 0);
            }

            if (c->write->active) {
                ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
            }

            if (c->read->posted) {
                ngx_delete_posted_event(c->read);
            }

            if (c->write->posted) {
                ngx_delete_posted_event(c->write);
            }

            /* libcurl closes the socket itself */
            ngx_free_connection(c);
            c->fd = (ngx_socket_t) -1;

            curl_multi_assign(curl->multi, s, NULL);
        }

        return 0;
    }

    if (c == NULL) {
        c = ngx_get_connection(s, curl->log);
        if (c == NULL) {
            return -1;
        }

        c->data = curl;
        c->log = curl->log;
        c->read->log = curl->log;
        c->write->log = curl->log;
        c->read->handler = ngx_http_spectra_curl_event_handler;
        c->write->handler = ngx_http_spectra_curl_event_handler;

        curl_multi_assign(curl->multi, s, c);
    }

    if ((what & CURL_POLL_IN) && !c->read->active) {
        if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            return -1;
        }

    } else if (!(what & CURL_POLL_IN) && c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if ((what & CURL_POLL_OUT) && !c->write->active) {
        if (ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            return -1;
        }

    } else if (!(what & CURL_POLL_OUT) && c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    return 0;
}


static int
ngx_http_spectra_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    ngx_http_spectra_curl_t *curl = userp;

    if (timeout_ms < 0) {
        if (curl->timer.timer_set) {
            ngx_del_timer(&curl->timer);
        }

        return 0;
    }

    /*
     * libcurl may not be called from here: 0 means at the next turn.
     * The timer is set anew: nginx would keep an old one less than
     * 300 ms away (NGX_TIMER_LAZY_DELAY).
     */
    if (curl->timer.timer_set) {
        ngx_del_timer(&curl->timer);
    }

    ngx_add_timer(&curl->timer, (ngx_msec_t) timeout_ms);

    return 0;
}


static void
ngx_http_spectra_curl_timer_handler(ngx_event_t *ev)
{
    int                       running;
    ngx_http_spectra_curl_t  *curl;

    curl = ev->data;

    curl_multi_socket_action(curl->multi, CURL_SOCKET_TIMEOUT, 0, &running);

    ngx_http_spectra_curl_check(curl);
}


static void
ngx_http_spectra_curl_event_handler(ngx_event_t *ev)
{
    int                       running;
    ngx_connection_t         *c;
    ngx_http_spectra_curl_t  *curl;

    c = ev->data;
    curl = c->data;

    /* c may be freed inside: nothing of it is used afterwards */
    curl_multi_socket_action(curl->multi, c->fd,
                             ev->write ? CURL_CSELECT_OUT : CURL_CSELECT_IN,
                             &running);

    ngx_http_spectra_curl_check(curl);
}


/* Hands every finished transfer to its caller. */

static void
ngx_http_spectra_curl_check(ngx_http_spectra_curl_t *curl)
{
    int                            left;
    long                           code;
    CURLMsg                       *msg;
    CURLcode                       result;
    ngx_str_t                      body;
    ngx_uint_t                     status;
    ngx_http_spectra_curl_xfer_t  *x;
    ngx_http_spectra_curl_call_t  *call;

    while ((msg = curl_multi_info_read(curl->multi, &left)) != NULL) {

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);
        result = msg->data.result;

        code = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);

        if (x != NULL && result == CURLE_OK) {
            call = x->call;
            ngx_http_spectra_curl_header(msg->easy_handle, call,
                                         "Content-Type", &call->content_type);
            ngx_http_spectra_curl_header(msg->easy_handle, call,
                                         "Cache-Control",
                                         &call->cache_control);
            ngx_http_spectra_curl_header(msg->easy_handle, call, "Expires",
                                         &call->expires);
            ngx_http_spectra_curl_header(msg->easy_handle, call, "Date",
                                         &call->date);
        }

        curl_multi_remove_handle(curl->multi, msg->easy_handle);
        curl_easy_cleanup(msg->easy_handle);
        curl->running--;
        curl->timer.cancelable = (curl->running == 0);

        if (x == NULL) {
            continue;
        }

        curl_slist_free_all(x->headers);
        call = x->call;

        if (result == CURLE_OK && code > 0) {
            status = (ngx_uint_t) code;

        } else {
            status = (result == CURLE_OPERATION_TIMEDOUT)
                     ? NGX_HTTP_GATEWAY_TIME_OUT : NGX_HTTP_BAD_GATEWAY;

            ngx_log_error(NGX_LOG_ERR, call->log, 0,
                          "spectra: background call to \"%V\" failed: %s",
                          &call->url,
                          x->too_big ? "the answer is too big"
                                     : (x->error[0] ? x->error
                                                    : curl_easy_strerror(
                                                          result)));
        }

        body.data = x->buf;
        body.len = x->len;

        call->handler(call->data, status, &body);
    }
}


/* A header of the answer (the first of that name) into the pool. */

static void
ngx_http_spectra_curl_header(CURL *easy, ngx_http_spectra_curl_call_t *call,
    const char *name, ngx_str_t *value)
{
    size_t                n;
    struct curl_header   *h;

    ngx_str_null(value);

    if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h)
        != CURLHE_OK)
    {
        return;
    }

    n = ngx_strlen(h->value);

    value->data = ngx_pnalloc(call->pool, n);
    if (value->data == NULL) {
        return;
    }

    ngx_memcpy(value->data, h->value, n);
    value->len = n;
}


/* The statement engine's background transport. */

ngx_int_t
ngx_http_spectra_curl_call(ngx_http_spectra_stmt_t *st,
    const char *operation, ngx_str_t *body)
{
    u_char                        *p;
    ngx_http_spectra_signed_t      sig;
    ngx_http_spectra_curl_call_t  *call;
    ngx_http_spectra_main_conf_t  *smcf;
    ngx_http_spectra_loc_conf_t   *conf;

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_spectra_module);
    conf = st->conf;

    if (ngx_http_spectra_dataapi_sign(st->pool, st->log, conf, operation,
                                      body, &sig)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    call = ngx_pcalloc(st->pool, sizeof(ngx_http_spectra_curl_call_t));
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->url = conf->dataapi_url.len ? conf->dataapi_url
                                      : smcf->dataapi_url;
    call->body = *body;
    call->timeout = 30000;
    call->max_answer = 1024 * 1024;
    call->pool = st->pool;
    call->log = st->log;
    call->handler = ngx_http_spectra_curl_stmt_done;
    call->data = st;

    p = ngx_pnalloc(st->pool, sizeof("Host: ") - 1 + conf->dataapi_host.len
                              + sizeof("Content-Type: ") - 1
                              + sizeof(SPECTRA_SIGV4_JSON_CONTENT_TYPE) - 1
                              + sizeof("X-Amz-Target: ") - 1 + sig.target.len
                              + sizeof("X-Amz-Date: ") - 1 + sig.date.len
                              + sizeof("Authorization: ") - 1
                              + sig.authorization.len
                              + sizeof("X-Amz-Security-Token: ") - 1
                              + sig.token.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    call->headers[0].data = p;
    p = ngx_sprintf(p, "Host: %V", &conf->dataapi_host);
    call->headers[0].len = p - call->headers[0].data;

    call->headers[1].data = p;
    p = ngx_sprintf(p, "Content-Type: %s", SPECTRA_SIGV4_JSON_CONTENT_TYPE);
    call->headers[1].len = p - call->headers[1].data;

    call->headers[2].data = p;
    p = ngx_sprintf(p, "X-Amz-Target: %V", &sig.target);
    call->headers[2].len = p - call->headers[2].data;

    call->headers[3].data = p;
    p = ngx_sprintf(p, "X-Amz-Date: %V", &sig.date);
    call->headers[3].len = p - call->headers[3].data;

    call->headers[4].data = p;
    p = ngx_sprintf(p, "Authorization: %V", &sig.authorization);
    call->headers[4].len = p - call->headers[4].data;

    call->nheaders = 5;

    if (sig.token.len) {
        call->headers[5].data = p;
        p = ngx_sprintf(p, "X-Amz-Security-Token: %V", &sig.token);
        call->headers[5].len = p - call->headers[5].data;
        call->nheaders = 6;
    }

    st->status = 0;
    st->answer_too_big = 0;
    ngx_str_null(&st->answer);
    st->answer_start = NULL;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, st->log, 0,
                   "spectra background %s of job %s", operation, st->job.id);

    return ngx_http_spectra_curl_post(call);
}


static void
ngx_http_spectra_curl_stmt_done(void *data, ngx_uint_t status,
    ngx_str_t *body)
{
    ngx_http_spectra_stmt_t  *st = data;

    st->status = status;
    st->answer = *body;

    ngx_http_spectra_stmt_resume(st);
}
