/*
 * ngx_http_spectra_store_module: nginx as the local S3-compatible object
 * store of exports.  In a location with "spectra_object_store on;", the
 * access phase verifies the presigned URL of each request (signature,
 * expiry, and the Host, path, method and parameters it was signed for)
 * against the location's spectra_aws_* credentials and region, as S3
 * would; a verified GET or HEAD then goes on to nginx's static module
 * (sendfile, Range, If-*), which maps the URI under the location's root:
 * root/<bucket>/<key> in path style, and a verified PUT (an import's
 * upload) to nginx's dav module, which writes a temporary file and
 * renames it into place, so that a half-written upload is never seen.
 * Refusals are the API's JSON errors naming S3's error code.  The
 * request line is logged with the signature and the session token
 * redacted.
 */


#include "ngx_http_spectra_store.h"
#include "ngx_http_spectra_reply.h"


typedef struct {
    ngx_flag_t                  used;      /* by a location */
} ngx_http_spectra_store_main_conf_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_flag_t                  uploads;   /* PUT, written by dav */
} ngx_http_spectra_store_loc_conf_t;


static ngx_int_t ngx_http_spectra_store_redact_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_spectra_store_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_spectra_store_verify(ngx_http_request_t *r,
    ngx_http_spectra_loc_conf_t *slcf, spectra_sigv4_refusal_t *refusal);
static ngx_int_t ngx_http_spectra_store_put(ngx_http_request_t *r);
static int ngx_http_spectra_store_lookup(void *data, const u_char *key,
    size_t len, spectra_str_t *secret);
static int ngx_http_spectra_store_token(void *data, const u_char *key,
    size_t len, spectra_str_t *token);
static ngx_int_t ngx_http_spectra_store_redact(ngx_http_request_t *r);
static ngx_int_t ngx_http_spectra_store_refuse(ngx_http_request_t *r,
    ngx_uint_t status, const char *s3_code, const char *message);

static void *ngx_http_spectra_store_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_spectra_store_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_spectra_store_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_spectra_store_init(ngx_conf_t *cf);


static ngx_command_t  ngx_http_spectra_store_commands[] = {

    { ngx_string("spectra_object_store"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_store_loc_conf_t, enable),
      NULL },

    { ngx_string("spectra_object_store_uploads"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_store_loc_conf_t, uploads),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_spectra_store_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_spectra_store_init,           /* postconfiguration */

    ngx_http_spectra_store_create_main_conf,
                                           /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_spectra_store_create_loc_conf,
                                           /* create location configuration */
    ngx_http_spectra_store_merge_loc_conf  /* merge location configuration */
};


ngx_module_t  ngx_http_spectra_store_module = {
    NGX_MODULE_V1,
    &ngx_http_spectra_store_module_ctx,    /* module context */
    ngx_http_spectra_store_commands,       /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_spectra_store_service = ngx_string("s3");

/* query parameters whose values never reach a log */
static ngx_str_t  ngx_http_spectra_store_redacted[] = {
    ngx_string("X-Amz-Signature="),
    ngx_string("X-Amz-Security-Token=")
};

#define NGX_HTTP_SPECTRA_STORE_NREDACTED                                     \
    (sizeof(ngx_http_spectra_store_redacted) / sizeof(ngx_str_t))


/*
 * Post-read phase, in every server once a location is a store: a request
 * that carries a presigned URL's credentials is logged without them
 * wherever it goes, even when its path leaves the store's location.
 */

static ngx_int_t
ngx_http_spectra_store_redact_handler(ngx_http_request_t *r)
{
    if (ngx_http_spectra_store_redact(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_spectra_store_handler(ngx_http_request_t *r)
{
    ngx_int_t                           rc;
    spectra_sigv4_refusal_t             refusal;
    ngx_http_spectra_loc_conf_t        *slcf;
    ngx_http_spectra_store_loc_conf_t  *sslcf;

    sslcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_store_module);

    if (!sslcf->enable || r != r->main) {
        return NGX_DECLINED;
    }

    /*
     * PUT (a presigned upload of an import), where uploads are on, is
     * verified the same way and then written by nginx's dav module
     * (dav_methods PUT): to a temporary file first, renamed into place
     * once complete
     */

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))
        && !(r->method == NGX_HTTP_PUT && sslcf->uploads))
    {
        return ngx_http_spectra_store_refuse(r, NGX_HTTP_NOT_ALLOWED,
                                             "MethodNotAllowed",
                                             "The specified method is not "
                                             "allowed against this "
                                             "resource.");
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    rc = ngx_http_spectra_store_verify(r, slcf, &refusal);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_spectra_store_refuse(r, refusal.status, refusal.type,
                                             refusal.err.message);
    }

    if (r->method == NGX_HTTP_PUT) {
        return ngx_http_spectra_store_put(r);
    }

    return NGX_OK;
}


/*
 * A verified PUT: with its length announced (client_max_body_size then
 * bounds it before anything is read, and nginx reads no more), and only
 * once: an upload URL writes its object, it never replaces one.
 */

static ngx_int_t
ngx_http_spectra_store_put(ngx_http_request_t *r)
{
    size_t            root;
    ngx_str_t         path;
    ngx_file_info_t   fi;

    if (r->headers_in.content_length_n < 0) {
        return ngx_http_spectra_store_refuse(r, NGX_HTTP_LENGTH_REQUIRED,
                                             "MissingContentLength",
                                             "You must provide the "
                                             "Content-Length HTTP header.");
    }

    if (ngx_http_map_uri_to_path(r, &path, &root, 0) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_file_info(path.data, &fi) != NGX_FILE_ERROR) {
        return ngx_http_spectra_store_refuse(r, NGX_HTTP_CONFLICT,
                                             "ObjectAlreadyExists",
                                             "The object exists: an upload "
                                             "URL writes its object once.");
    }

    return NGX_OK;
}


/*
 * NGX_OK: the URL is valid for this request; NGX_DECLINED: refusal says
 * why; NGX_ERROR: no memory.  The path verified is the one the static
 * module maps to a file (r->uri: decoded, dot segments resolved), so a
 * signature never covers another file than the one sent.
 */

static ngx_int_t
ngx_http_spectra_store_verify(ngx_http_request_t *r,
    ngx_http_spectra_loc_conf_t *slcf, spectra_sigv4_refusal_t *refusal)
{
    ngx_uint_t                i, n;
    ngx_list_part_t          *part;
    ngx_table_elt_t          *h;
    spectra_sigv4_auth_t      auth;
    spectra_sigv4_header_t   *headers;
    spectra_sigv4_verify_t    v;

    n = 0;

    for (part = &r->headers_in.headers.part; part != NULL; part = part->next)
    {
        n += part->nelts;
    }

    headers = ngx_palloc(r->pool, (n + 1) * sizeof(spectra_sigv4_header_t));
    if (headers == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (part = &r->headers_in.headers.part; part != NULL; part = part->next)
    {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            headers[n].name = *ngx_http_spectra_str(&h[i].key);
            headers[n].value = *ngx_http_spectra_str(&h[i].value);
            n++;
        }
    }

    /* HTTP/2 before nginx 1.25 keeps :authority out of the header list */
    if (r->headers_in.host == NULL && r->headers_in.server.len) {
        headers[n].name.data = (u_char *) "host";
        headers[n].name.len = 4;
        headers[n].value = *ngx_http_spectra_str(&r->headers_in.server);
        n++;
    }

    ngx_memzero(&v, sizeof(spectra_sigv4_verify_t));

    v.method = *ngx_http_spectra_str(&r->method_name);
    v.path = *ngx_http_spectra_str(&r->uri);
    v.query = *ngx_http_spectra_str(&r->args);
    v.headers = headers;
    v.nheaders = n;
    v.service = *ngx_http_spectra_str(&ngx_http_spectra_store_service);
    v.region = *ngx_http_spectra_str(&slcf->region);
    v.now = ngx_time();
    v.s3 = 1;
    v.lookup = ngx_http_spectra_store_lookup;
    v.token = ngx_http_spectra_store_token;
    v.lookup_data = slcf;

    if (spectra_sigv4_verify_presigned(&v, &auth, refusal)
        != SPECTRA_SIGV4_OK)
    {
        return NGX_DECLINED;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra store: \"%V\" presigned until %T", &r->uri,
                   auth.expires);

    return NGX_OK;
}


static int
ngx_http_spectra_store_lookup(void *data, const u_char *key, size_t len,
    spectra_str_t *secret)
{
    ngx_http_spectra_loc_conf_t *slcf = data;

    if (slcf->access_key.len == 0 || len != slcf->access_key.len
        || ngx_memcmp(key, slcf->access_key.data, len) != 0)
    {
        return SPECTRA_SIGV4_ERROR;
    }

    *secret = *ngx_http_spectra_str(&slcf->secret_key);

    return SPECTRA_SIGV4_OK;
}


static int
ngx_http_spectra_store_token(void *data, const u_char *key, size_t len,
    spectra_str_t *token)
{
    ngx_http_spectra_loc_conf_t *slcf = data;

    *token = *ngx_http_spectra_str(&slcf->session_token);

    return SPECTRA_SIGV4_OK;
}


/*
 * $request (the access log) and the error log's "request:" both print
 * r->request_line: a copy with the values of X-Amz-Signature and
 * X-Amz-Security-Token replaced keeps a still valid link out of the logs.
 */

static ngx_int_t
ngx_http_spectra_store_redact(ngx_http_request_t *r)
{
    u_char      *p, *q, *end, *out, *start;
    size_t       n;
    ngx_str_t   *name;
    ngx_uint_t   i;

    end = r->request_line.data + r->request_line.len;

    start = ngx_strlchr(r->request_line.data, end, '?');
    /* X-Amz-Signature or X-Amz-Security-Token, or no work to do */
    if (start == NULL
        || ngx_strlcasestrn(start, end, (u_char *) "x-amz-s", 6) == NULL)
    {
        return NGX_OK;
    }

    out = ngx_pnalloc(r->pool, r->request_line.len);
    if (out == NULL) {
        return NGX_ERROR;
    }

    q = out;

    for (p = r->request_line.data; p < end; /* void */) {
        name = NULL;

        if (p > start && (p[-1] == '?' || p[-1] == '&')) {
            for (i = 0; i < NGX_HTTP_SPECTRA_STORE_NREDACTED; i++) {
                name = &ngx_http_spectra_store_redacted[i];

                if ((size_t) (end - p) >= name->len
                    && ngx_strncasecmp(p, name->data, name->len) == 0)
                {
                    break;
                }

                name = NULL;
            }
        }

        if (name == NULL) {
            *q++ = *p++;
            continue;
        }

        q = ngx_cpymem(q, p, name->len);
        p += name->len;

        /* the value: "REDACTED", or as much of it as fits in its place */

        for (n = 0; p < end && *p != '&' && *p != ' ' && *p != '#'; n++) {
            p++;
        }

        q = ngx_cpymem(q, "REDACTED", ngx_min(n, sizeof("REDACTED") - 1));
    }

    r->request_line.data = out;
    r->request_line.len = q - out;

    return NGX_OK;
}


/*
 * Answers from the access phase and finalizes the request here: the
 * access phase checker stops on NGX_DONE.
 */

static ngx_int_t
ngx_http_spectra_store_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *s3_code, const char *message)
{
    u_char                             *p;
    size_t                              len;
    ngx_int_t                           rc;
    ngx_str_t                           msg, extra;
    const char                         *code;
    ngx_table_elt_t                    *h;
    ngx_http_spectra_store_loc_conf_t  *sslcf;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "spectra: object store refused \"%V\": %s: %s", &r->uri,
                  s3_code, message);

    len = ngx_strlen(s3_code) + 2 + ngx_strlen(message);

    msg.data = ngx_pnalloc(r->pool, len);
    extra.data = ngx_pnalloc(r->pool, sizeof(",\"s3_code\":\"\"") - 1
                                      + ngx_strlen(s3_code));
    if (msg.data == NULL || extra.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    msg.len = ngx_sprintf(msg.data, "%s: %s", s3_code, message) - msg.data;

    /* S3's codes are plain ASCII words: nothing to escape */
    p = ngx_sprintf(extra.data, ",\"s3_code\":\"%s\"", s3_code);
    extra.len = p - extra.data;

    switch (status) {

    case NGX_HTTP_BAD_REQUEST:
        code = "INVALID_REQUEST";
        break;

    case NGX_HTTP_NOT_ALLOWED:
        code = "METHOD_NOT_ALLOWED";

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");

        sslcf = ngx_http_get_module_loc_conf(r,
                                             ngx_http_spectra_store_module);

        if (sslcf->uploads) {
            ngx_str_set(&h->value, "GET, HEAD, PUT");

        } else {
            ngx_str_set(&h->value, "GET, HEAD");
        }

        break;

    case NGX_HTTP_CONFLICT:
        code = "CONFLICT";
        break;

    case NGX_HTTP_LENGTH_REQUIRED:
        code = "LENGTH_REQUIRED";
        break;

    default:
        code = "FORBIDDEN";
        break;
    }

    rc = ngx_http_spectra_send_error_extra(r, status, code, &msg, &extra);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static void *
ngx_http_spectra_store_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_store_main_conf_t));
}


static void *
ngx_http_spectra_store_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_spectra_store_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_store_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;
    conf->uploads = NGX_CONF_UNSET;

    return conf;
}


/*
 * ngx_http_spectra_module comes first in the module list: by now its conf
 * of this location is merged, and nginx's merge of locations points
 * cf->ctx at this location.
 */

static char *
ngx_http_spectra_store_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_spectra_store_loc_conf_t *prev = parent;
    ngx_http_spectra_store_loc_conf_t *conf = child;

    ngx_http_spectra_loc_conf_t         *slcf;
    ngx_http_spectra_store_main_conf_t  *ssmcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->uploads, prev->uploads, 0);

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    ssmcf = ngx_http_conf_get_module_main_conf(cf,
                                               ngx_http_spectra_store_module);
    ssmcf->used = 1;

    slcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_spectra_module);

    if (slcf->access_key.len == 0 || slcf->secret_key.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_object_store needs the credentials it "
                           "verifies presigned URLs with: "
                           "spectra_aws_access_key_id and "
                           "spectra_aws_secret_access_key (or "
                           "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
        return NGX_CONF_ERROR;
    }

    if (slcf->session_token.len > SPECTRA_SIGV4_TOKEN_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_object_store: the session token is "
                           "longer than %d bytes", SPECTRA_SIGV4_TOKEN_MAX);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* Runs after every location is merged: ssmcf->used is known. */

static ngx_int_t
ngx_http_spectra_store_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt                 *h;
    ngx_http_core_main_conf_t           *cmcf;
    ngx_http_spectra_store_main_conf_t  *ssmcf;

    ssmcf = ngx_http_conf_get_module_main_conf(cf,
                                               ngx_http_spectra_store_module);
    if (!ssmcf->used) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_spectra_store_redact_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_spectra_store_handler;

    return NGX_OK;
}
