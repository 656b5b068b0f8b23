/*
 * GET /v1/health: liveness plus the versions of the module, nginx and the
 * libraries the module runs with (run-time versions where a library can
 * tell them; libpg_query says which PostgreSQL parser it is).
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_health.h"
#include "spectra_version.h"

#include <openssl/crypto.h>
#include <jansson.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include <pg_query.h>


ngx_int_t
ngx_http_spectra_health_endpoint(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    size_t                   len;
    ngx_buf_t               *b;
    ngx_chain_t              out;
    const char              *openssl, *jansson, *sqlite;
    curl_version_info_data  *curl;

    openssl = OpenSSL_version(OPENSSL_VERSION);
    jansson = jansson_version_str();
    sqlite = sqlite3_libversion();
    curl = curl_version_info(CURLVERSION_NOW);

    len = sizeof("{\"status\":\"ok\",\"version\":\"\",\"nginx\":\"\","
                 "\"libraries\":{\"openssl\":\"\",\"jansson\":\"\","
                 "\"libpg_query\":\"\",\"libcurl\":\"\",\"sqlite\":\"\"}}\n") - 1
          + sizeof(SPECTRA_VERSION) - 1 + sizeof(NGINX_VERSION) - 1
          + ngx_strlen(openssl) + ngx_strlen(jansson)
          + sizeof(PG_VERSION) - 1
          + ngx_strlen(curl->version) + ngx_strlen(sqlite);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the version strings are plain ASCII, no escaping needed */
    b->last = ngx_sprintf(b->last,
                          "{\"status\":\"ok\",\"version\":\"%s\","
                          "\"nginx\":\"%s\",\"libraries\":{"
                          "\"openssl\":\"%s\",\"jansson\":\"%s\","
                          "\"libpg_query\":\"%s\",\"libcurl\":\"%s\","
                          "\"sqlite\":\"%s\"}}\n",
                          SPECTRA_VERSION, NGINX_VERSION, openssl, jansson,
                          PG_VERSION, curl->version, sqlite);

    out.buf = b;
    out.next = NULL;

    return ngx_http_spectra_send_json(r, NGX_HTTP_OK, &out);
}
