/*
 * What a JWKS fetcher needs from HTTP and OpenID Connect, without the
 * network: the jwks_uri of a discovery document (OpenID Connect
 * Discovery 1.0 section 4) and the freshness lifetime of an answer
 * (RFC 9111 section 4.2.1: Cache-Control max-age, else Expires - Date).
 *
 * spectra_oidc_jwks_uri() accepts only a JSON object whose "jwks_uri" is
 * an absolute https:// URL (http:// only when the discovery document
 * itself came over http, as in a test) without spaces or control bytes;
 * when an issuer is given, the document's "issuer" must equal it exactly
 * (section 4.3: an attacker's document for another issuer is refused).
 */

#ifndef SPECTRA_OIDC_H
#define SPECTRA_OIDC_H

#include <time.h>

#include "spectra_core.h"


#define SPECTRA_OIDC_URI_MAX  2048


/*
 * Copies the jwks_uri of the document (p, len) into uri (at least
 * SPECTRA_OIDC_URI_MAX bytes, NUL-terminated).  allow_http: accept an
 * http:// jwks_uri.  issuer may have data NULL (not checked).  Returns 0,
 * or -1 with err filled.
 */
int spectra_oidc_jwks_uri(const u_char *p, size_t len,
    const spectra_str_t *issuer, int allow_http, char *uri,
    spectra_err_t *err);

/*
 * The freshness lifetime in seconds of an answer with these header values
 * (data NULL: absent): "no-store" or "no-cache" give 0; "max-age=N" gives
 * N; otherwise Expires minus Date (or minus now without Date), never
 * negative.  -1 when the headers say nothing usable (no header, or one
 * that does not parse).
 */
int64_t spectra_http_freshness(const spectra_str_t *cache_control,
    const spectra_str_t *expires, const spectra_str_t *date, time_t now);

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); -1 if not one. */
time_t spectra_http_date(const u_char *p, size_t len);


#endif /* SPECTRA_OIDC_H */
