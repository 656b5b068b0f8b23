/*
 * ngx_http_spectra_store_module (ngx_http_spectra_store.c): the local
 * object store, "spectra_object_store on;" in a location whose root holds
 * <bucket>/<key>.  The access phase verifies S3 presigned URLs (SigV4
 * query signing) with the location's spectra_aws_* credentials and region;
 * nginx's static module then sends the file.
 */

#ifndef _NGX_HTTP_SPECTRA_STORE_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_STORE_H_INCLUDED_


#include "ngx_http_spectra_common.h"


extern ngx_module_t  ngx_http_spectra_store_module;


#endif /* _NGX_HTTP_SPECTRA_STORE_H_INCLUDED_ */
