/*
 * GET /v1/openapi.json: the OpenAPI 3.1 description of the v1 API,
 * docs/openapi.json as it was when the module was built (embedded by
 * scripts/embed-openapi.sh), so that the document always describes the
 * binary that serves it and nothing has to be installed or configured.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_openapi.h"

/* generated into nginx's build directory (objs/), on the include path */
#include "ngx_http_spectra_openapi_json.h"


ngx_int_t
ngx_http_spectra_openapi_endpoint(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = (u_char *) ngx_http_spectra_openapi_json;
    b->last = b->pos + sizeof(ngx_http_spectra_openapi_json);
    b->memory = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_spectra_send_json(r, NGX_HTTP_OK, &out);
}
