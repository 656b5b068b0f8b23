/*
 * The HTTP side: libmicrohttpd (one thread per connection, so a long poll
 * only holds its own connection), the request body with a size bound,
 * SigV4 verification, the X-Amz-Target dispatch and AWS JSON 1.1 replies.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "dataapi.h"
#include "spectra_sigv4.h"


#define DA_MAX_HEADERS     64
#define DA_CONTENT_TYPE    "application/x-amz-json-1.1"
#define DA_TARGET_PREFIX   "RedshiftData."


typedef struct {
    char                    *body;
    size_t                   len;
    size_t                   cap;
    int                      too_big;
} da_conn_t;


typedef struct {
    spectra_sigv4_header_t   h[DA_MAX_HEADERS];
    size_t                   n;
} da_headers_t;


typedef struct {
    char                     buf[2048];
    size_t                   len;
    int                      overflow;
} da_query_t;


static enum MHD_Result da_collect_header(void *cls, enum MHD_ValueKind kind,
    const char *key, const char *value);
static enum MHD_Result da_collect_arg(void *cls, enum MHD_ValueKind kind,
    const char *key, const char *value);
static int da_lookup_key(void *data, const u_char *key, size_t len,
    spectra_str_t *secret);
static int da_lookup_token(void *data, const u_char *key, size_t len,
    spectra_str_t *token);
static const char *da_principal(da_ctx_t *ctx, const char *access_key);
static enum MHD_Result da_reply(struct MHD_Connection *c, int status,
    json_t *body, const char *error_type);
static enum MHD_Result da_reply_text(struct MHD_Connection *c, int status,
    u_char *text, size_t len, const char *error_type);
static enum MHD_Result da_reply_page(struct MHD_Connection *c,
    da_page_t *page);
static enum MHD_Result da_error(struct MHD_Connection *c, int status,
    const char *type, const char *message, const char *statement_id);
static enum MHD_Result da_handle(da_ctx_t *ctx, struct MHD_Connection *c,
    const char *url, const char *method, da_conn_t *dc);
static enum MHD_Result da_access(void *cls, struct MHD_Connection *c,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls);
static void da_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe);


static enum MHD_Result
da_collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
    da_headers_t  *hs = cls;

    (void) kind;

    if (hs->n == DA_MAX_HEADERS) {
        return MHD_NO;
    }

    hs->h[hs->n].name.data = (u_char *) key;
    hs->h[hs->n].name.len = strlen(key);
    hs->h[hs->n].value.data = (u_char *) (value != NULL ? value : "");
    hs->h[hs->n].value.len = value != NULL ? strlen(value) : 0;
    hs->n++;

    return MHD_YES;
}


/* MHD decodes the query; the signer re-encodes it canonically anyway. */
static enum MHD_Result
da_collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
    da_query_t  *q = cls;
    size_t       n;

    (void) kind;

    if (q->len > 0 && q->len < sizeof(q->buf) - 1) {
        q->buf[q->len++] = '&';
    }

    n = spectra_sigv4_uri_encode((const u_char *) key, strlen(key), 0,
                                 (u_char *) q->buf + q->len,
                                 sizeof(q->buf) - q->len - 1);
    q->len += n;

    if (value != NULL && q->len < sizeof(q->buf) - 1) {
        q->buf[q->len++] = '=';
        q->len += spectra_sigv4_uri_encode((const u_char *) value,
                                           strlen(value), 0,
                                           (u_char *) q->buf + q->len,
                                           sizeof(q->buf) - q->len - 1);
    }

    if (q->len >= sizeof(q->buf) - 4) {
        q->overflow = 1;
    }

    return MHD_YES;
}


static int
da_lookup_key(void *data, const u_char *key, size_t len,
    spectra_str_t *secret)
{
    da_ctx_t  *ctx = data;
    size_t     i;

    for (i = 0; i < ctx->nkeys; i++) {
        if (strlen(ctx->keys[i].access_key) == len
            && memcmp(ctx->keys[i].access_key, key, len) == 0)
        {
            secret->data = (u_char *) ctx->keys[i].secret_key;
            secret->len = strlen(ctx->keys[i].secret_key);
            return SPECTRA_SIGV4_OK;
        }
    }

    return SPECTRA_SIGV4_ERROR;
}


/*
 * Whose statements a key sees: temporary keys of one role session share
 * them (keys file: a fourth column), as AWS's do; otherwise the key's own.
 */

static const char *
da_principal(da_ctx_t *ctx, const char *access_key)
{
    size_t  i;

    for (i = 0; i < ctx->nkeys; i++) {
        if (strcmp(ctx->keys[i].access_key, access_key) == 0
            && ctx->keys[i].principal != NULL)
        {
            return ctx->keys[i].principal;
        }
    }

    return access_key;
}


/* The session token of a temporary key (keys file: a third column). */

static int
da_lookup_token(void *data, const u_char *key, size_t len,
    spectra_str_t *token)
{
    da_ctx_t  *ctx = data;
    size_t     i;

    for (i = 0; i < ctx->nkeys; i++) {
        if (strlen(ctx->keys[i].access_key) == len
            && memcmp(ctx->keys[i].access_key, key, len) == 0)
        {
            token->data = (u_char *) ctx->keys[i].session_token;
            token->len = (token->data != NULL)
                         ? strlen(ctx->keys[i].session_token) : 0;
            return SPECTRA_SIGV4_OK;
        }
    }

    return SPECTRA_SIGV4_ERROR;
}


static enum MHD_Result
da_reply(struct MHD_Connection *c, int status, json_t *body,
    const char *error_type)
{
    char                 *text;

    text = json_dumps(body, JSON_COMPACT);
    if (text == NULL) {
        return MHD_NO;
    }

    return da_reply_text(c, status, (u_char *) text, strlen(text),
                         error_type);
}


/* Sends text as it is and frees it: MHD takes the buffer, no copy. */
static enum MHD_Result
da_reply_text(struct MHD_Connection *c, int status, u_char *text, size_t len,
    const char *error_type)
{
    struct MHD_Response  *resp;
    enum MHD_Result       rc;
    char                  rid[DA_ID_SIZE];

    resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }

    da_uuid(rid);
    MHD_add_response_header(resp, "Content-Type", DA_CONTENT_TYPE);
    MHD_add_response_header(resp, "x-amzn-RequestId", rid);

    if (error_type != NULL) {
        MHD_add_response_header(resp, "x-amzn-ErrorType", error_type);
    }

    rc = MHD_queue_response(c, (unsigned int) status, resp);
    MHD_destroy_response(resp);

    return rc;
}


/* The page's statement stays referenced until MHD is done with it. */
void
da_page_free(void *cls)
{
    da_page_t  *page = cls;

    if (page->hold != NULL) {
        da_stmt_unref(page->ctx, page->hold);
    }

    free(page->text);
    free(page);
}


/*
 * A result page: head, rows, tail sent as they are, the rows from the
 * result itself (sendmsg() of the three; no copy of them here).  A
 * response from a read callback cost a zeroed 64 KiB block per page and a
 * copy of every byte into it.
 */
static enum MHD_Result
da_reply_page(struct MHD_Connection *c, da_page_t *page)
{
    struct MHD_Response  *resp;
    struct MHD_IoVec      iov[3];
    enum MHD_Result       rc;
    unsigned int          n;
    char                  rid[DA_ID_SIZE];

    n = 0;
    iov[n].iov_base = page->text;
    iov[n++].iov_len = page->head_len;

    if (page->rows_len > 0) {
        iov[n].iov_base = page->rows;
        iov[n++].iov_len = page->rows_len;
    }

    iov[n].iov_base = page->text + page->head_len;
    iov[n++].iov_len = page->tail_len;

    resp = MHD_create_response_from_iovec(iov, n, da_page_free, page);
    if (resp == NULL) {
        da_page_free(page);
        return MHD_NO;
    }

    da_uuid(rid);
    MHD_add_response_header(resp, "Content-Type", DA_CONTENT_TYPE);
    MHD_add_response_header(resp, "x-amzn-RequestId", rid);

    rc = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);

    return rc;
}


static enum MHD_Result
da_error(struct MHD_Connection *c, int status, const char *type,
    const char *message, const char *statement_id)
{
    json_t           *body;
    enum MHD_Result   rc;

    body = json_pack("{s:s, s:s}", "__type", type, "message", message);
    if (body == NULL) {
        return MHD_NO;
    }

    if (statement_id != NULL) {
        json_object_set_new(body, "StatementId", json_string(statement_id));
    }

    rc = da_reply(c, status, body, type);
    json_decref(body);

    return rc;
}


static enum MHD_Result
da_handle(da_ctx_t *ctx, struct MHD_Connection *c, const char *url,
    const char *method, da_conn_t *dc)
{
    da_headers_t             hs;
    da_query_t               q;
    spectra_sigv4_verify_t   v;
    spectra_sigv4_auth_t     auth;
    spectra_sigv4_refusal_t  refusal;
    da_request_t             r;
    json_error_t             jerr;
    const char              *target;
    char                     access_key[129];
    enum MHD_Result          rc;

    if (dc->too_big) {
        return da_error(c, 400, "ValidationException",
                        "The request body is larger than the limit of "
                        "this endpoint", NULL);
    }

    hs.n = 0;
    q.len = 0;
    q.overflow = 0;
    MHD_get_connection_values(c, MHD_HEADER_KIND, da_collect_header, &hs);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, da_collect_arg, &q);

    if (hs.n == DA_MAX_HEADERS || q.overflow) {
        return da_error(c, 400, "ValidationException",
                        "Too many headers or query parameters", NULL);
    }

    memset(&v, 0, sizeof(v));
    v.method.data = (u_char *) method;
    v.method.len = strlen(method);
    v.path.data = (u_char *) url;
    v.path.len = strlen(url);
    v.query.data = (u_char *) q.buf;
    v.query.len = q.len;
    v.headers = hs.h;
    v.nheaders = hs.n;
    v.body.data = (u_char *) (dc->body != NULL ? dc->body : "");
    v.body.len = dc->len;
    v.service.data = (u_char *) "redshift-data";
    v.service.len = sizeof("redshift-data") - 1;
    v.now = time(NULL);
    v.lookup = da_lookup_key;
    v.token = da_lookup_token;
    v.lookup_data = ctx;

    if (spectra_sigv4_verify(&v, &auth, &refusal) != SPECTRA_SIGV4_OK) {
        da_log(ctx, "refused: %s %s", refusal.type, refusal.err.message);
        return da_error(c, refusal.status, refusal.type, refusal.err.message,
                        NULL);
    }

    if (strcmp(method, "POST") != 0 || strcmp(url, "/") != 0) {
        return da_error(c, 400, "UnknownOperationException",
                        "Only POST / is served", NULL);
    }

    target = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Target");

    if (target == NULL
        || strncmp(target, DA_TARGET_PREFIX, sizeof(DA_TARGET_PREFIX) - 1)
           != 0)
    {
        return da_error(c, 400, "UnknownOperationException",
                        "Missing or unknown X-Amz-Target", NULL);
    }

    memset(&r, 0, sizeof(r));
    r.ctx = ctx;
    r.body = json_loadb(dc->body != NULL ? dc->body : "", dc->len,
                        JSON_REJECT_DUPLICATES, &jerr);

    if (r.body == NULL || !json_is_object(r.body)) {
        json_decref(r.body);
        return da_error(c, 400, "SerializationException",
                        "The request body is not a JSON object", NULL);
    }

    snprintf(access_key, sizeof(access_key), "%.*s",
             (int) auth.access_key.len, (const char *) auth.access_key.data);
    r.access_key = da_principal(ctx, access_key);
    r.key_id = access_key;

    da_dispatch(&r, target + sizeof(DA_TARGET_PREFIX) - 1);

    if (r.page != NULL) {
        rc = da_reply_page(c, r.page);

    } else if (r.text != NULL) {
        rc = da_reply_text(c, r.status, r.text, r.text_len, NULL);

    } else if (r.reply != NULL) {
        rc = da_reply(c, r.status, r.reply, NULL);

    } else {
        rc = da_error(c, r.status, r.error_type, r.error,
                      r.error_statement_id);
    }

    json_decref(r.reply);
    json_decref(r.body);

    return rc;
}


static enum MHD_Result
da_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
    da_ctx_t     *ctx = cls;
    da_conn_t    *dc = *con_cls;
    const char   *cl;
    size_t        cap;
    char         *p;

    (void) version;

    if (dc == NULL) {
        dc = calloc(1, sizeof(da_conn_t));
        if (dc == NULL) {
            return MHD_NO;
        }

        *con_cls = dc;

        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > 16 * ctx->max_body) {
            /*
             * Far too big to read: answer now and let MHD close the
             * connection (the client may see a reset). A body just over
             * the limit is read and dropped, so that the client gets the
             * reply.
             */
            dc->too_big = 1;
            return da_handle(ctx, c, url, method, dc);
        }

        return MHD_YES;
    }

    if (*upload_data_size != 0) {
        if (!dc->too_big && dc->len + *upload_data_size <= ctx->max_body) {
            if (dc->len + *upload_data_size + 1 > dc->cap) {
                cap = dc->cap ? dc->cap : 4096;
                while (cap < dc->len + *upload_data_size + 1) {
                    cap *= 2;
                }

                p = realloc(dc->body, cap);
                if (p == NULL) {
                    return MHD_NO;
                }

                dc->body = p;
                dc->cap = cap;
            }

            memcpy(dc->body + dc->len, upload_data, *upload_data_size);
            dc->len += *upload_data_size;

        } else {
            dc->too_big = 1;
        }

        *upload_data_size = 0;
        return MHD_YES;
    }

    return da_handle(ctx, c, url, method, dc);
}


static void
da_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
    da_conn_t  *dc = *con_cls;

    (void) cls;
    (void) c;
    (void) toe;

    if (dc != NULL) {
        free(dc->body);
        free(dc);
        *con_cls = NULL;
    }
}


int
da_http_start(da_ctx_t *ctx)
{
    struct sockaddr_in  sin;
    struct MHD_Daemon  *d;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) ctx->listen_port);

    if (inet_pton(AF_INET, ctx->listen_host, &sin.sin_addr) != 1) {
        da_log(ctx, "error: --listen needs an IPv4 address, not \"%s\"",
               ctx->listen_host);
        return -1;
    }

    d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION
                         | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL,
                         0, NULL, NULL, da_access, ctx,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sin,
                         MHD_OPTION_NOTIFY_COMPLETED, da_completed, ctx,
                         MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned int) ctx->connections,
                         MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned int) (ctx->max_wait + 60),
                         MHD_OPTION_END);
    if (d == NULL) {
        da_log(ctx, "error: cannot listen on %s:%d", ctx->listen_host,
               ctx->listen_port);
        return -1;
    }

    ctx->mhd = d;

    return 0;
}


void
da_http_stop(da_ctx_t *ctx)
{
    if (ctx->mhd != NULL) {
        MHD_stop_daemon(ctx->mhd);
        ctx->mhd = NULL;
    }
}
