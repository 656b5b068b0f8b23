/*
 * What every file of the nginx-free core shares: one string type, one
 * error value (a message with a position) and the allocator interface.
 * No nginx headers: the glue passes ngx_str_t where a spectra_str_t is
 * expected (same layout) and r->pool as the pool.
 */

#ifndef SPECTRA_CORE_H
#define SPECTRA_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


/* The same layout as ngx_str_t; data == NULL means absent. */
typedef struct {
    size_t                    len;
    u_char                   *data;
} spectra_str_t;

#define spectra_string(s)     { sizeof(s) - 1, (u_char *) (s) }
#define spectra_null_string   { 0, NULL }


/* No position: the error is about the input as a whole. */
#define SPECTRA_POS_NONE      ((size_t) -1)

#define SPECTRA_ERR_MAX       256

/*
 * An error as a value.  message is one short sentence without the code,
 * ready for a 400 answer (JSON-escape it: it may quote the caller's own
 * text); when the error has a place, message already says where in
 * words, and position is the 0-based byte offset in the input.
 */
typedef struct {
    int                       code;       /* the failing call's rc */
    size_t                    position;
    char                      message[SPECTRA_ERR_MAX];
} spectra_err_t;


/* Memory that lives as long as the caller's pool; never freed one by one. */
typedef void *(*spectra_alloc_pt)(void *pool, size_t size);

typedef struct {
    spectra_alloc_pt          alloc;
    void                     *pool;
} spectra_pool_t;


/*
 * Fills err (which may be NULL) and returns code, so that a failing
 * function can end with "return spectra_err_set(err, ...)".
 */
int spectra_err_set(spectra_err_t *err, int code, size_t position,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

int spectra_err_vset(spectra_err_t *err, int code, size_t position,
    const char *fmt, va_list args);

/* Allocation through a pool; NULL when the pool has no memory. */
void *spectra_palloc(const spectra_pool_t *pool, size_t size);

/* A copy of len bytes of p plus a NUL, in the pool. */
u_char *spectra_pstrdup(const spectra_pool_t *pool, const u_char *p,
    size_t len);


#endif /* SPECTRA_CORE_H */
