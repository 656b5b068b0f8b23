/*
 * spectra-dataapi: the Amazon Redshift Data API wire protocol served on
 * PostgreSQL. Shared types of the daemon: configuration, the statement
 * store, sessions, results, the database users (their queues and
 * connection pools), credentials and the workers.
 *
 * Locking: one mutex (da_ctx_t.lock) protects the store (statements,
 * users, queues, pools, sessions, the memory bound). A statement's result
 * is written by one worker before the statement becomes FINISHED and is
 * read-only afterwards, so pages are sent outside the lock while a
 * reference is held. Credentials (secrets, minted passwords, the db user
 * cache) and the administrative connection have their own mutex
 * (da_ctx_t.cred_lock); nothing takes one while holding the other.
 */

#ifndef DA_DATAAPI_H
#define DA_DATAAPI_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>


#define DA_VERSION            "0.1.0"
#define DA_ID_LEN             36          /* uuid, lowercase */
#define DA_ID_SIZE            48          /* uuid + ":nn" + NUL */
#define DA_MAX_BATCH          40          /* SqlList max, as the model */
#define DA_MAX_PARAMS         256


typedef enum {
    DA_SUBMITTED = 0,
    DA_PICKED,
    DA_STARTED,
    DA_FINISHED,
    DA_FAILED,
    DA_ABORTED
} da_status_e;


typedef struct {
    char             *access_key;
    char             *secret_key;
    char             *session_token;   /* NULL: a long-term key */
    char             *principal;       /* whose statements; NULL: the key */
} da_key_t;


/* One Secrets Manager secret of --secrets-file. */
typedef struct {
    char             *arn;
    char             *name;          /* the secret's name, no "-XXXXXX" */
    char             *username;
    char             *password;
} da_secret_t;


/* A password minted by get_cluster_credentials(), reused until shortly
 * before it expires. */
typedef struct {
    char             *user;
    char             *password;
    time_t            reuse_until;
    unsigned          gen;
} da_minted_t;


/* What a connection logs in with (credentials.c). */
typedef struct {
    char             *password;      /* cleansed and freed by da_cred_clear */
    int               minted;
    unsigned          gen;
} da_cred_t;


typedef struct {
    char             *name;          /* column name */
    char             *type_name;     /* pg_type.typname */
    Oid               type;
    int               typmod;
    Oid               table;
    int               column;
    char             *schema;        /* resolved from table, or NULL */
    char             *table_name;
    char             *column_default;
    int               not_null;
} da_column_t;


/*
 * Rows are kept in one buffer, each as the JSON text of its
 * GetStatementResult Records entry preceded by a comma
 * (",[{"longValue":1},{"isNull":true}]"), so that a page is one memcpy.
 * Internal catalog statements (raw) keep PostgreSQL text values instead:
 * per row, per column a uint32 length (UINT32_MAX for NULL) followed by
 * the bytes, read with da_result_value().
 */
/*
 * Called before a result grows from old to new bytes (da_result_bytes);
 * non-zero refuses the growth (the memory bound, see store.c).
 */
typedef int (*da_budget_pt)(void *data, size_t old_bytes, size_t new_bytes);


typedef struct {
    da_column_t      *columns;
    int               ncolumns;
    int               raw;
    size_t            nrows;
    size_t           *row_offsets;   /* nrows + 1 entries */
    size_t            rows_cap;
    u_char           *data;
    size_t            len;
    size_t            cap;
    size_t            size;          /* ResultSize: bytes of the values */
    da_budget_pt      budget;
    void             *budget_data;
} da_result_t;


typedef struct da_session_s  da_session_t;
typedef struct da_unload_s   da_unload_t;
typedef struct da_copy_s     da_copy_t;
typedef struct da_stmt_s     da_stmt_t;
typedef struct da_user_s     da_user_t;
typedef struct da_pconn_s    da_pconn_t;


/* A connection logged in as one database user (pool.c). */
struct da_pconn_s {
    PGconn           *conn;
    da_user_t        *user;
    long              role_timeout_ms;  /* the role's statement_timeout */
    int               session;       /* pinned to a session */
    time_t            idle_since;
    da_pconn_t       *prev;          /* idle list, least recently used */
    da_pconn_t       *next;          /* first */
};


/*
 * A database user: its queue of statements waiting to run (sched.c) and
 * how many connections it holds (pool.c). Freed when it has neither.
 */
struct da_user_s {
    char             *name;
    da_user_t        *next;          /* ctx->users */

    da_stmt_t        *queue_head;
    da_stmt_t        *queue_tail;
    int               nqueued;
    int               nrunning;
    da_user_t        *ring_prev;     /* users with queued statements */
    da_user_t        *ring_next;
    int               in_ring;

    int               nconns;        /* pooled: open or opening, idle or busy */
    int               nsessions;     /* each pins one more connection */
};


struct da_session_s {
    char              id[DA_ID_SIZE];
    char             *db_user;
    char             *secret_arn;
    char             *access_key;
    da_user_t        *user;
    da_pconn_t       *pconn;         /* opened by the first statement */
    time_t            expires;
    int               keepalive;
    int               busy;          /* a statement of it is not done */
    int               refs;
    da_session_t     *next;
};


struct da_stmt_s {
    char              id[DA_ID_SIZE];
    char             *sql;
    char             *statement_name;
    char             *db_user;
    char             *database;
    char             *cluster;
    char             *workgroup;
    char             *secret_arn;
    char             *access_key;    /* owner: only this key sees it */
    char             *key_id;        /* the access key id that ran it */
    char             *client_token;
    char              fingerprint[65];
    json_t           *parameters;    /* as given (array) or NULL */
    char             *bound_sql;     /* sql with $n for :name */
    char            **values;        /* $n values, strdup()ed */
    int               nvalues;
    char              sqlstate[6];

    da_status_e       status;
    pthread_cond_t    state_cond;    /* its status changed (long polls) */
    double            created_at;
    double            updated_at;
    struct timespec   started;
    int64_t           duration_ns;   /* -1 until done */
    int64_t           result_rows;   /* -1 until done */
    int64_t           result_size;
    int               has_result_set;
    char             *error;
    long              backend_pid;
    long              query_id;

    da_result_t      *result;

    /* batch: the parent holds the sub-statements "id:1" .. "id:n" */
    da_stmt_t       **subs;
    int               nsubs;
    int               is_batch;
    int               internal;      /* catalog lookup: not in the store */
    da_unload_t      *unload;        /* an UNLOAD statement */
    da_copy_t        *copy;          /* a COPY statement */
    da_stmt_t        *parent;

    da_session_t     *session;
    PGcancel         *cancel;        /* while STARTED */
    int               cancel_requested;

    da_user_t        *user;          /* while queued or running */
    struct timespec   deadline;      /* CLOCK_MONOTONIC, while STARTED */
    int               timed_out;     /* the watchdog cancelled it */
    time_t            next_cancel;
    size_t            reserved;      /* of the memory bound (store.c) */
    size_t            used;

    int               refs;
    uint64_t          seq;
    da_stmt_t        *queue_next;
    da_stmt_t        *all_prev;
    da_stmt_t        *all_next;
    da_stmt_t        *hash_next;
    da_stmt_t        *token_next;
};


typedef struct {
    char             *name;
    int               allowed;
    char             *reason;
    time_t            expires;
} da_role_t;


typedef struct {
    Oid               oid;
    char             *name;
} da_type_t;


typedef struct da_ctx_s  da_ctx_t;
typedef struct da_colcache_entry_s  da_colcache_entry_t;

/* The budget_data of a statement's results (store.c). */
typedef struct {
    da_ctx_t         *ctx;
    da_stmt_t        *stmt;          /* the top-level statement */
} da_budget_t;

typedef struct {
    da_ctx_t         *ctx;
    pthread_t         thread;
    da_stmt_t        *current;       /* under ctx->lock */
    int               index;
} da_worker_t;


#define DA_HASH_SIZE  4096
#define DA_COLCACHE_SIZE  4096

struct da_ctx_s {
    /* configuration */
    char             *listen_host;
    int               listen_port;
    char             *pg_conninfo;
    char             *pg_password_file;
    char             *secrets_file;
    char             *database;
    char             *keys_file;
    da_key_t         *keys;
    size_t            nkeys;
    int               workers;
    int               queue_max;
    int               queue_per_user;
    int               running_per_user;
    int               pool_per_user;
    int               pool_max;
    long              pool_idle;
    long              cred_duration;
    size_t            max_result_bytes;
    long              retention;
    long              statement_timeout;
    int               page_rows;
    size_t            page_bytes;
    size_t            max_body;
    int               max_sessions;
    int               max_sessions_per_user;
    long              role_cache_seconds;
    long              describe_cache_seconds;  /* 0: no column cache */
    long              max_wait;
    int               max_statements;
    size_t            max_retained_bytes;
    int               connections;
    char             *export_dir;
    long              export_retention;  /* s; 0: objects stay */
    size_t            parquet_row_group_bytes;   /* 0: 64 MiB */
    time_t            sweep_next;        /* reaper thread only */
    char             *pid_file;
    char             *log_file;
    int               daemonize;

    FILE             *log;

    /* state, under lock */
    pthread_mutex_t   lock;
    pthread_cond_t    queue_cond;
    pthread_cond_t    reaper_cond;
    pthread_cond_t    mem_cond;      /* memory of the bound was given back */
    da_user_t        *users;
    da_user_t        *ring;          /* the next user to serve */
    int               queue_len;
    da_pconn_t       *idle_head;     /* least recently used */
    da_pconn_t       *idle_tail;
    int               nconns;        /* every connection, sessions' too */
    da_stmt_t        *all_head;      /* oldest */
    da_stmt_t        *all_tail;      /* newest */
    int               nstatements;
    size_t            retained_bytes;
    size_t            building_bytes;  /* reserved by results being built */
    da_stmt_t        *by_id[DA_HASH_SIZE];
    da_stmt_t        *by_token[DA_HASH_SIZE];
    da_session_t     *sessions;
    int               nsessions;

    /* credentials, under cred_lock */
    pthread_mutex_t   cred_lock;
    PGconn           *admin;
    char             *admin_password;
    da_secret_t      *secrets;
    size_t            nsecrets;
    da_minted_t      *minted;
    size_t            nminted;
    unsigned          minted_gen;
    da_role_t        *roles;
    size_t            nroles;

    /* tenant connections: the --pg parameters but user and password */
    const char      **tenant_keys;
    const char      **tenant_values;
    PQconninfoOption *tenant_options;

    da_type_t        *types;
    size_t            ntypes;

    /* column descriptions (colcache.c), under colcache_lock */
    pthread_mutex_t   colcache_lock;
    da_colcache_entry_t *colcache;
    uint64_t          seq;
    long              query_ids;
    int               stopping;

    da_worker_t      *worker;
    pthread_t         reaper;
    void             *mhd;
};


/*
 * A GetStatementResult page, sent without copying the rows: the head
 * (the column metadata and '"Records":[') and the tail (totals, NextToken) in
 * one buffer, the rows straight from the result, kept by a reference to
 * the statement until the reply is sent (http.c).
 */
typedef struct {
    u_char           *text;          /* head, then tail: malloc()ed */
    size_t            head_len;
    size_t            tail_len;
    const u_char     *rows;
    size_t            rows_len;
    da_ctx_t         *ctx;
    da_stmt_t        *hold;
} da_page_t;


/* A parsed request, as the operation handlers see it. */
typedef struct {
    da_ctx_t         *ctx;
    const char       *access_key;    /* the principal: whose statements */
    const char       *key_id;        /* the access key id it signed with */
    json_t           *body;          /* object */
    int               status;        /* HTTP status of the reply */
    json_t           *reply;         /* object, or NULL on error */
    u_char           *text;          /* or a ready reply, malloc()ed */
    size_t            text_len;
    da_page_t        *page;          /* or a result page */
    const char       *error_type;
    char              error[512];
    const char       *error_statement_id;
} da_request_t;


/* main.c */
void da_log(da_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
double da_now(void);

/* http.c */
int da_http_start(da_ctx_t *ctx);
void da_http_stop(da_ctx_t *ctx);
void da_page_free(void *page);

/* ops.c */
void da_dispatch(da_request_t *r, const char *operation);
int da_fail(da_request_t *r, int status, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* store.c */
void da_uuid(char *out);
const char *da_status_name(da_status_e status);
da_stmt_t *da_stmt_new(void);
void da_stmt_unref_locked(da_ctx_t *ctx, da_stmt_t *s);
void da_stmt_unref(da_ctx_t *ctx, da_stmt_t *s);
void da_store_add_locked(da_ctx_t *ctx, da_stmt_t *s);
da_stmt_t *da_store_find_locked(da_ctx_t *ctx, const char *id,
    const char *access_key);
da_stmt_t *da_store_find_token_locked(da_ctx_t *ctx, const char *token,
    const char *access_key);
void da_store_set_status_locked(da_ctx_t *ctx, da_stmt_t *s,
    da_status_e status);
int da_is_terminal(da_status_e status);
int da_store_budget(void *data, size_t old_bytes, size_t new_bytes);
void da_store_release_locked(da_ctx_t *ctx, da_stmt_t *s);
void da_store_reap(da_ctx_t *ctx, int all);
da_session_t *da_session_find_locked(da_ctx_t *ctx, const char *id,
    const char *access_key);
void da_session_unref_locked(da_ctx_t *ctx, da_session_t *s);
void da_store_free(da_ctx_t *ctx);
void *da_reaper_main(void *arg);

/* sweep.c: removes objects older than --export-retention-seconds. */
void da_exports_sweep(da_ctx_t *ctx, time_t now);

/* sched.c */
da_user_t *da_user_get_locked(da_ctx_t *ctx, const char *name);
void da_users_sweep_locked(da_ctx_t *ctx);
int da_enqueue_locked(da_ctx_t *ctx, da_stmt_t *s);
void da_sched_remove_locked(da_ctx_t *ctx, da_stmt_t *s);
da_stmt_t *da_sched_next_locked(da_ctx_t *ctx, da_pconn_t **pc,
    PGconn **evicted);
void da_sched_done_locked(da_ctx_t *ctx, da_stmt_t *s);
da_stmt_t *da_sched_pop_any_locked(da_ctx_t *ctx);
void da_watchdog(da_ctx_t *ctx);

/* pool.c */
int da_pool_init(da_ctx_t *ctx);
da_pconn_t *da_pool_take_locked(da_ctx_t *ctx, da_user_t *u);
int da_pool_reserve_locked(da_ctx_t *ctx, da_user_t *u, int session,
    PGconn **evicted);
void da_pool_unreserve_locked(da_ctx_t *ctx, da_user_t *u, int session);
da_pconn_t *da_pool_open(da_ctx_t *ctx, da_user_t *u, const char *secret_arn,
    char *err, size_t errlen, char *sqlstate);
PGconn *da_pool_release_locked(da_ctx_t *ctx, da_pconn_t *pc, int reuse);
PGconn *da_pool_close_locked(da_ctx_t *ctx, da_pconn_t *pc);
void da_pool_reap(da_ctx_t *ctx, int all);
void da_pool_free(da_ctx_t *ctx);

/* credentials.c */
int da_credentials_start(da_ctx_t *ctx);
int da_secrets_reload(da_ctx_t *ctx);
int da_secret_user(da_ctx_t *ctx, const char *arn, char **user);
int da_role_check(da_ctx_t *ctx, const char *role, char **reason);
int da_credentials_get(da_ctx_t *ctx, const char *user,
    const char *secret_arn, unsigned failed_gen, da_cred_t *out,
    char *err, size_t errlen, char *sqlstate);
void da_cred_clear(da_cred_t *c);
int da_read_private_file(const char *path, const char *what, char **out,
    size_t *len);
int da_private_file(const char *path, const char *what, int fd);
void da_credentials_free(da_ctx_t *ctx);
PGresult *da_admin_exec(da_ctx_t *ctx, const char *sql, int nparams,
    const char * const *values, char *err, size_t errlen);

/* worker.c */
int da_workers_start(da_ctx_t *ctx);
void da_workers_stop(da_ctx_t *ctx);
int da_cancel_locked(da_ctx_t *ctx, da_stmt_t *s);
void da_set_error(da_stmt_t *s, PGresult *res, const char *fallback);

/* pgcopy.c */
#define DA_COPY_CLIENT_ERROR                                                 \
    "ERROR: COPY to or from the client is not supported by the Data API; " \
    "use UNLOAD, or COPY from 's3://...' (SQLSTATE 0A000)"
int da_pg_copy_end(PGconn *conn, PGresult *res);

/* colcache.c */
int da_colcache_init(da_ctx_t *ctx);
void da_colcache_free(da_ctx_t *ctx);
int da_colcache_fill(da_ctx_t *ctx, const char *user, da_result_t *res);
void da_colcache_put(da_ctx_t *ctx, const char *user,
    const da_result_t *res);
void da_colcache_saw(da_ctx_t *ctx, const char *tag);

/* pipeline.c */
int da_pipe_may_copy(const char *sql);
int da_pipe_send(PGconn *conn, da_stmt_t *s, long timeout_ms);
int da_pipe_prelude(PGconn *conn, da_stmt_t *s);
int da_pipe_end(PGconn *conn, da_stmt_t *s);

/* pgalive.c */
int da_pg_alive(PGconn *conn);

/* result.c */
void da_result_free(da_result_t *res);
size_t da_result_bytes(const da_result_t *res);
int da_result_add_row(da_result_t *res, PGresult *pg, int row);
void da_result_shrink(da_result_t *res);
int da_result_set_columns(da_result_t *res, PGresult *pg);
size_t da_result_page_end(da_ctx_t *ctx, const da_result_t *res,
    size_t offset);
int da_result_page(const da_result_t *res, size_t offset, size_t end,
    const char *next_token, da_page_t *page);
json_t *da_column_metadata(const da_column_t *col);
const u_char *da_result_value(const da_result_t *res, size_t row, int col,
    uint32_t *len);
int da_result_types(da_ctx_t *ctx, PGconn *conn, da_result_t *res);
char *da_result_describe_sql(const da_result_t *res);
void da_result_describe_apply(da_result_t *res, PGresult *pg);
int da_result_describe(da_ctx_t *ctx, PGconn *conn, da_result_t *res);
int da_types_load(da_ctx_t *ctx, PGconn *conn);
const char *da_type_name(da_ctx_t *ctx, Oid oid);

/* unload.c */
int da_unload_prepare(da_ctx_t *ctx, const char *sql, da_unload_t **out,
    char *err, size_t errlen);
const char *da_unload_query(const da_unload_t *un);
int da_unload_run(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s);
void da_unload_free(da_unload_t *un);

/* copy.c */
int da_copy_prepare(da_ctx_t *ctx, const char *sql, da_copy_t **out,
    char *err, size_t errlen);
int da_copy_run(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s);
void da_copy_free(da_copy_t *c);

/* sqlparam.c */
int da_sql_bind(const char *sql, json_t *parameters, char **out,
    const char ***values, int *nvalues, char *err, size_t errlen);

#endif /* DA_DATAAPI_H */
