/*
 * spectra-dataapi: command line, keys file, start-up, SIGHUP (the secrets
 * file again) and clean shutdown (SIGTERM/SIGINT). See docs/dataapi.md.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dataapi.h"


static void da_usage(FILE *out);
static int da_parse_long(const char *name, const char *arg, long min,
    long max, long *out);
static int da_load_keys(da_ctx_t *ctx);
static void da_free_keys(da_ctx_t *ctx);
static int da_options(da_ctx_t *ctx, int argc, char **argv);
static int da_daemonize(void);
static FILE *da_open_private(const char *path, const char *mode);
static int da_write_pid(da_ctx_t *ctx);


double
da_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    /* millisecond precision, as the Data API's timestamps */
    return (double) ts.tv_sec + (double) (ts.tv_nsec / 1000000) / 1000.0;
}


void
da_log(da_ctx_t *ctx, const char *fmt, ...)
{
    va_list    args;
    char       line[1024], stamp[32];
    time_t     now;
    struct tm  tm;

    now = time(NULL);
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);

    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);

    /* one write per line, so that threads do not interleave */
    fprintf(ctx->log != NULL ? ctx->log : stderr, "%s spectra-dataapi: %s\n",
            stamp, line);
    fflush(ctx->log != NULL ? ctx->log : stderr);
}


static void
da_usage(FILE *out)
{
    fprintf(out,
        "usage: spectra-dataapi --listen 127.0.0.1:PORT --pg CONNINFO\n"
        "           --database NAME --keys-file FILE [options]\n"
        "\n"
        "  --pg-password-file FILE      the --pg role's password (0600)\n"
        "  --secrets-file FILE          SecretArn -> {username, password}\n"
        "                               (JSON, 0600; SIGHUP reloads it)\n"
        "  --credentials-duration-seconds N  minted passwords live (900)\n"
        "  --workers N                  statements run at once (4)\n"
        "  --max-running-per-user N     ...of one db user (workers - 1)\n"
        "  --queue N                    statements waiting at most (500)\n"
        "  --queue-per-user N           ...of one db user (100)\n"
        "  --pool-per-user N            connections of one db user (4)\n"
        "  --pool-max N                 connections in all (64)\n"
        "  --pool-idle-seconds N        idle connections close after (60)\n"
        "  --max-result-bytes N         result size per statement (100 MiB)\n"
        "  --retention-seconds N        keep finished statements (86400)\n"
        "  --statement-timeout-seconds N  every statement's bound\n"
        "                               (3600, at most 86400)\n"
        "  --page-rows N                GetStatementResult rows/page\n"
        "                               (0: no bound, the default)\n"
        "  --page-bytes N               ...and Records JSON bytes/page\n"
        "                               (100 MiB, as AWS; 0: no bound)\n"
        "  --max-body-bytes N           request body limit (524288)\n"
        "  --max-sessions N             open sessions at most (32)\n"
        "  --max-sessions-per-user N    ...of one db user (8)\n"
        "  --max-wait-seconds N         WaitTimeSeconds limit (60)\n"
        "  --role-cache-seconds N       db user check cache (5)\n"
        "  --describe-cache-seconds N   column descriptions cache (10;\n"
        "                               0: none)\n"
        "  --max-statements N           statements retained at most (100000)\n"
        "  --max-retained-bytes N       result bytes retained (1 GiB)\n"
        "  --connections N              HTTP connections at most (256)\n"
        "  --export-dir DIR             UNLOAD target, COPY source directory\n"
        "  --export-retention-seconds N  remove its objects older than N\n"
        "                               (0: never, the default)\n"
        "  --parquet-row-group-bytes N  UNLOAD PARQUET row groups (64 MiB)\n"
        "  --pid-file FILE  --log-file FILE  --daemon  --help  --version\n");
}


static int
da_parse_long(const char *name, const char *arg, long min, long max,
    long *out)
{
    char  *end;
    long   v;

    errno = 0;
    v = strtol(arg, &end, 10);

    if (errno != 0 || *end != '\0' || end == arg || v < min || v > max) {
        fprintf(stderr, "spectra-dataapi: --%s needs a number from %ld to "
                "%ld, not \"%s\"\n", name, min, max, arg);
        return -1;
    }

    *out = v;

    return 0;
}


/* Lines "ACCESS_KEY_ID SECRET_ACCESS_KEY"; '#' starts a comment. */
static int
da_load_keys(da_ctx_t *ctx)
{
    FILE      *f;
    char       line[1024], *p, *akid, *secret, *token, *principal,
               *extra, *save;
    da_key_t  *k;
    int        lineno;

    f = fopen(ctx->keys_file, "r");
    if (f == NULL) {
        fprintf(stderr, "spectra-dataapi: cannot open keys file %s: %s\n",
                ctx->keys_file, strerror(errno));
        return -1;
    }

    if (da_private_file(ctx->keys_file, "keys file", fileno(f)) != 0) {
        fclose(f);
        return -1;
    }

    lineno = 0;

    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;

        p = strchr(line, '#');
        if (p != NULL) {
            *p = '\0';
        }

        akid = strtok_r(line, " \t\r\n", &save);
        if (akid == NULL) {
            continue;
        }

        secret = strtok_r(NULL, " \t\r\n", &save);
        token = strtok_r(NULL, " \t\r\n", &save);
        principal = (token != NULL) ? strtok_r(NULL, " \t\r\n", &save)
                                    : NULL;
        extra = strtok_r(NULL, " \t\r\n", &save);

        if (secret == NULL || extra != NULL || strlen(akid) > 128
            || strlen(secret) > 128)
        {
            fprintf(stderr, "spectra-dataapi: %s:%d: expected "
                    "\"ACCESS_KEY_ID SECRET_ACCESS_KEY [SESSION_TOKEN "
                    "[PRINCIPAL]]\"\n",
                    ctx->keys_file, lineno);
            OPENSSL_cleanse(line, sizeof(line));
            fclose(f);
            return -1;
        }

        k = realloc(ctx->keys, (ctx->nkeys + 1) * sizeof(da_key_t));
        if (k == NULL) {
            fclose(f);
            return -1;
        }

        ctx->keys = k;
        k[ctx->nkeys].access_key = strdup(akid);
        k[ctx->nkeys].secret_key = strdup(secret);
        k[ctx->nkeys].session_token = (token != NULL) ? strdup(token) : NULL;
        k[ctx->nkeys].principal = (principal != NULL) ? strdup(principal)
                                                      : NULL;
        ctx->nkeys++;

        OPENSSL_cleanse(line, sizeof(line));

        if (k[ctx->nkeys - 1].access_key == NULL
            || k[ctx->nkeys - 1].secret_key == NULL
            || (token != NULL && k[ctx->nkeys - 1].session_token == NULL)
            || (principal != NULL && k[ctx->nkeys - 1].principal == NULL))
        {
            fclose(f);
            return -1;
        }
    }

    fclose(f);

    if (ctx->nkeys == 0) {
        fprintf(stderr, "spectra-dataapi: no keys in %s\n", ctx->keys_file);
        return -1;
    }

    return 0;
}


static void
da_free_keys(da_ctx_t *ctx)
{
    size_t  i;

    for (i = 0; i < ctx->nkeys; i++) {
        free(ctx->keys[i].access_key);

        if (ctx->keys[i].secret_key != NULL) {
            OPENSSL_cleanse(ctx->keys[i].secret_key,
                            strlen(ctx->keys[i].secret_key));
            free(ctx->keys[i].secret_key);
        }

        free(ctx->keys[i].session_token);
        free(ctx->keys[i].principal);
    }

    free(ctx->keys);
}


static int
da_options(da_ctx_t *ctx, int argc, char **argv)
{
    enum {
        O_LISTEN = 256, O_PG, O_DATABASE, O_KEYS, O_WORKERS, O_QUEUE,
        O_MAX_RESULT, O_RETENTION, O_TIMEOUT, O_PAGE_ROWS, O_PAGE_BYTES,
        O_MAX_BODY, O_MAX_SESSIONS, O_MAX_WAIT, O_ROLE_CACHE, O_MAX_STMTS,
        O_MAX_RETAINED, O_CONNECTIONS, O_EXPORT, O_PID, O_LOG, O_DAEMON,
        O_HELP, O_VERSION, O_PG_PASSWORD, O_SECRETS, O_CRED_DURATION,
        O_RUNNING_PER_USER, O_QUEUE_PER_USER, O_POOL_PER_USER, O_POOL_MAX,
        O_POOL_IDLE, O_MAX_SESSIONS_PER_USER, O_EXPORT_RETENTION,
        O_PARQUET_ROW_GROUP, O_DESCRIBE_CACHE
    };
    static const struct option  opts[] = {
        { "listen", required_argument, NULL, O_LISTEN },
        { "pg", required_argument, NULL, O_PG },
        { "pg-password-file", required_argument, NULL, O_PG_PASSWORD },
        { "secrets-file", required_argument, NULL, O_SECRETS },
        { "credentials-duration-seconds", required_argument, NULL,
          O_CRED_DURATION },
        { "max-running-per-user", required_argument, NULL,
          O_RUNNING_PER_USER },
        { "queue-per-user", required_argument, NULL, O_QUEUE_PER_USER },
        { "pool-per-user", required_argument, NULL, O_POOL_PER_USER },
        { "pool-max", required_argument, NULL, O_POOL_MAX },
        { "pool-idle-seconds", required_argument, NULL, O_POOL_IDLE },
        { "max-sessions-per-user", required_argument, NULL,
          O_MAX_SESSIONS_PER_USER },
        { "database", required_argument, NULL, O_DATABASE },
        { "keys-file", required_argument, NULL, O_KEYS },
        { "workers", required_argument, NULL, O_WORKERS },
        { "queue", required_argument, NULL, O_QUEUE },
        { "max-result-bytes", required_argument, NULL, O_MAX_RESULT },
        { "retention-seconds", required_argument, NULL, O_RETENTION },
        { "statement-timeout-seconds", required_argument, NULL, O_TIMEOUT },
        { "page-rows", required_argument, NULL, O_PAGE_ROWS },
        { "page-bytes", required_argument, NULL, O_PAGE_BYTES },
        { "max-body-bytes", required_argument, NULL, O_MAX_BODY },
        { "max-sessions", required_argument, NULL, O_MAX_SESSIONS },
        { "max-wait-seconds", required_argument, NULL, O_MAX_WAIT },
        { "role-cache-seconds", required_argument, NULL, O_ROLE_CACHE },
        { "describe-cache-seconds", required_argument, NULL,
          O_DESCRIBE_CACHE },
        { "max-statements", required_argument, NULL, O_MAX_STMTS },
        { "max-retained-bytes", required_argument, NULL, O_MAX_RETAINED },
        { "connections", required_argument, NULL, O_CONNECTIONS },
        { "export-dir", required_argument, NULL, O_EXPORT },
        { "export-retention-seconds", required_argument, NULL,
          O_EXPORT_RETENTION },
        { "parquet-row-group-bytes", required_argument, NULL,
          O_PARQUET_ROW_GROUP },
        { "pid-file", required_argument, NULL, O_PID },
        { "log-file", required_argument, NULL, O_LOG },
        { "daemon", no_argument, NULL, O_DAEMON },
        { "help", no_argument, NULL, O_HELP },
        { "version", no_argument, NULL, O_VERSION },
        { NULL, 0, NULL, 0 }
    };
    const char  *colon;
    long         v;
    int          c, rc;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        rc = 0;

        switch (c) {

        case O_LISTEN:
            colon = strrchr(optarg, ':');
            if (colon == NULL || colon == optarg) {
                fprintf(stderr, "spectra-dataapi: --listen needs "
                        "ADDRESS:PORT\n");
                return -1;
            }

            free(ctx->listen_host);
            ctx->listen_host = strndup(optarg, (size_t) (colon - optarg));
            rc = da_parse_long("listen", colon + 1, 1, 65535, &v);
            ctx->listen_port = (int) v;
            break;

        case O_PG:
            ctx->pg_conninfo = optarg;
            break;

        case O_PG_PASSWORD:
            ctx->pg_password_file = optarg;
            break;

        case O_SECRETS:
            ctx->secrets_file = optarg;
            break;

        case O_CRED_DURATION:
            /* GetClusterCredentials' DurationSeconds */
            rc = da_parse_long("credentials-duration-seconds", optarg, 900,
                               3600, &ctx->cred_duration);
            break;

        case O_RUNNING_PER_USER:
            rc = da_parse_long("max-running-per-user", optarg, 1, 256, &v);
            ctx->running_per_user = (int) v;
            break;

        case O_QUEUE_PER_USER:
            rc = da_parse_long("queue-per-user", optarg, 1, 100000, &v);
            ctx->queue_per_user = (int) v;
            break;

        case O_POOL_PER_USER:
            rc = da_parse_long("pool-per-user", optarg, 1, 1000, &v);
            ctx->pool_per_user = (int) v;
            break;

        case O_POOL_MAX:
            rc = da_parse_long("pool-max", optarg, 1, 10000, &v);
            ctx->pool_max = (int) v;
            break;

        case O_MAX_SESSIONS_PER_USER:
            rc = da_parse_long("max-sessions-per-user", optarg, 0, 10000,
                               &v);
            ctx->max_sessions_per_user = (int) v;
            break;

        case O_POOL_IDLE:
            rc = da_parse_long("pool-idle-seconds", optarg, 0, 86400,
                               &ctx->pool_idle);
            break;

        case O_DATABASE:
            ctx->database = optarg;
            break;

        case O_KEYS:
            ctx->keys_file = optarg;
            break;

        case O_WORKERS:
            rc = da_parse_long("workers", optarg, 1, 256, &v);
            ctx->workers = (int) v;
            break;

        case O_QUEUE:
            rc = da_parse_long("queue", optarg, 1, 100000, &v);
            ctx->queue_max = (int) v;
            break;

        case O_MAX_RESULT:
            rc = da_parse_long("max-result-bytes", optarg, 1, LONG_MAX, &v);
            ctx->max_result_bytes = (size_t) v;
            break;

        case O_RETENTION:
            rc = da_parse_long("retention-seconds", optarg, 0, 7 * 86400,
                               &ctx->retention);
            break;

        case O_TIMEOUT:
            rc = da_parse_long("statement-timeout-seconds", optarg, 1,
                               86400, &ctx->statement_timeout);
            break;

        case O_PAGE_ROWS:
            rc = da_parse_long("page-rows", optarg, 0, 100000000, &v);
            ctx->page_rows = (int) v;
            break;

        case O_PAGE_BYTES:
            rc = da_parse_long("page-bytes", optarg, 0, LONG_MAX, &v);
            ctx->page_bytes = (size_t) v;
            break;

        case O_MAX_BODY:
            rc = da_parse_long("max-body-bytes", optarg, 1024, 1 << 30, &v);
            ctx->max_body = (size_t) v;
            break;

        case O_MAX_SESSIONS:
            rc = da_parse_long("max-sessions", optarg, 0, 10000, &v);
            ctx->max_sessions = (int) v;
            break;

        case O_MAX_WAIT:
            rc = da_parse_long("max-wait-seconds", optarg, 0, 3600,
                               &ctx->max_wait);
            break;

        case O_ROLE_CACHE:
            rc = da_parse_long("role-cache-seconds", optarg, 0, 3600,
                               &ctx->role_cache_seconds);
            break;

        case O_DESCRIBE_CACHE:
            rc = da_parse_long("describe-cache-seconds", optarg, 0, 3600,
                               &ctx->describe_cache_seconds);
            break;

        case O_MAX_STMTS:
            rc = da_parse_long("max-statements", optarg, 1, 10000000, &v);
            ctx->max_statements = (int) v;
            break;

        case O_MAX_RETAINED:
            rc = da_parse_long("max-retained-bytes", optarg, 1, LONG_MAX, &v);
            ctx->max_retained_bytes = (size_t) v;
            break;

        case O_CONNECTIONS:
            rc = da_parse_long("connections", optarg, 1, 100000, &v);
            ctx->connections = (int) v;
            break;

        case O_EXPORT:
            ctx->export_dir = optarg;
            break;

        case O_PARQUET_ROW_GROUP:
            rc = da_parse_long("parquet-row-group-bytes", optarg, 4096,
                               1024L * 1024 * 1024, &v);
            ctx->parquet_row_group_bytes = (size_t) v;
            break;

        case O_EXPORT_RETENTION:
            rc = da_parse_long("export-retention-seconds", optarg, 0,
                               3650L * 86400, &ctx->export_retention);
            break;

        case O_PID:
            ctx->pid_file = optarg;
            break;

        case O_LOG:
            ctx->log_file = optarg;
            break;

        case O_DAEMON:
            ctx->daemonize = 1;
            break;

        case O_HELP:
            da_usage(stdout);
            exit(0);

        case O_VERSION:
            printf("spectra-dataapi %s\n", DA_VERSION);
            exit(0);

        default:
            da_usage(stderr);
            return -1;
        }

        if (rc != 0) {
            return -1;
        }
    }

    if (optind != argc || ctx->listen_host == NULL
        || ctx->pg_conninfo == NULL || ctx->database == NULL
        || ctx->keys_file == NULL)
    {
        da_usage(stderr);
        return -1;
    }

    /* one user's long statements leave a worker to the others */
    if (ctx->running_per_user == 0) {
        ctx->running_per_user = ctx->workers > 1 ? ctx->workers - 1 : 1;
    }

    if (ctx->queue_per_user > ctx->queue_max) {
        ctx->queue_per_user = ctx->queue_max;
    }

    if (ctx->max_sessions_per_user > ctx->max_sessions) {
        ctx->max_sessions_per_user = ctx->max_sessions;
    }

    return 0;
}


static int
da_daemonize(void)
{
    pid_t  pid;
    int    fd;

    pid = fork();
    if (pid < 0) {
        return -1;
    }

    if (pid > 0) {
        _exit(0);
    }

    if (setsid() < 0) {
        return -1;
    }

    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) {
            close(fd);
        }
    }

    return 0;
}


/* Logs and pid files are the daemon's alone: created (or made) 0600. */
static FILE *
da_open_private(const char *path, const char *mode)
{
    FILE  *f;
    int    fd, flags;

    flags = O_WRONLY | O_CREAT | O_CLOEXEC
            | (mode[0] == 'a' ? O_APPEND : O_TRUNC);

    fd = open(path, flags, 0600);
    if (fd < 0) {
        return NULL;
    }

    if (fchmod(fd, 0600) != 0) {
        close(fd);
        return NULL;
    }

    f = fdopen(fd, mode);
    if (f == NULL) {
        close(fd);
    }

    return f;
}


static int
da_write_pid(da_ctx_t *ctx)
{
    FILE  *f;

    if (ctx->pid_file == NULL) {
        return 0;
    }

    f = da_open_private(ctx->pid_file, "w");
    if (f == NULL) {
        da_log(ctx, "error: cannot write %s: %s", ctx->pid_file,
               strerror(errno));
        return -1;
    }

    fprintf(f, "%ld\n", (long) getpid());
    fclose(f);

    return 0;
}


int
main(int argc, char **argv)
{
    da_ctx_t   *ctx;
    da_stmt_t  *s;
    sigset_t    set;
    int         sig, rc;

    ctx = calloc(1, sizeof(da_ctx_t));
    if (ctx == NULL) {
        return 1;
    }

    ctx->workers = 4;
    ctx->queue_max = 500;
    ctx->queue_per_user = 100;
    ctx->pool_per_user = 4;
    ctx->pool_max = 64;
    ctx->pool_idle = 60;
    ctx->cred_duration = 900;
    ctx->max_result_bytes = 100 * 1024 * 1024;
    ctx->retention = 86400;
    ctx->statement_timeout = 3600;
    ctx->page_rows = 0;
    ctx->page_bytes = 100 * 1024 * 1024;
    ctx->max_body = 512 * 1024;
    ctx->max_sessions = 32;
    ctx->max_sessions_per_user = 8;
    ctx->max_wait = 60;
    ctx->role_cache_seconds = 5;
    ctx->describe_cache_seconds = 10;
    ctx->max_statements = 100000;
    ctx->max_retained_bytes = (size_t) 1 << 30;
    ctx->connections = 256;

    rc = 1;

    /* UNLOAD files must be readable by the web server that serves them */
    umask(022);

    /*
     * Results grow by realloc(): above 256 KiB they are mmap()ed, so a
     * result that grows moves no bytes and one that is freed goes back
     * to the system at once (the memory bound counts what is held).
     */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);

    pthread_mutex_init(&ctx->lock, NULL);
    pthread_mutex_init(&ctx->cred_lock, NULL);
    pthread_cond_init(&ctx->queue_cond, NULL);
    pthread_cond_init(&ctx->reaper_cond, NULL);
    pthread_cond_init(&ctx->mem_cond, NULL);

    if (da_options(ctx, argc, argv) != 0 || da_load_keys(ctx) != 0
        || da_pool_init(ctx) != 0 || da_colcache_init(ctx) != 0)
    {
        goto done;
    }

    if (ctx->log_file != NULL) {
        ctx->log = da_open_private(ctx->log_file, "a");
        if (ctx->log == NULL) {
            fprintf(stderr, "spectra-dataapi: cannot open %s: %s\n",
                    ctx->log_file, strerror(errno));
            goto done;
        }
    }

    /* before daemonizing, so that a bad file or role is seen at once */
    if (da_credentials_start(ctx) != 0) {
        goto done;
    }

    if (ctx->daemonize && da_daemonize() != 0) {
        da_log(ctx, "error: cannot daemonize: %s", strerror(errno));
        goto done;
    }

    /* every thread inherits this mask; main waits for the signals */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (da_workers_start(ctx) != 0) {
        goto stop;
    }

    if (pthread_create(&ctx->reaper, NULL, da_reaper_main, ctx) != 0) {
        goto stop;
    }

    if (da_http_start(ctx) != 0 || da_write_pid(ctx) != 0) {
        goto stop;
    }

    da_log(ctx, "listening on %s:%d, database %s, %d workers "
           "(%d per db user), pools of %d per db user and %d in all, "
           "%zu keys, %zu secrets", ctx->listen_host, ctx->listen_port,
           ctx->database, ctx->workers, ctx->running_per_user,
           ctx->pool_per_user, ctx->pool_max, ctx->nkeys, ctx->nsecrets);

    for ( ;; ) {
        if (sigwait(&set, &sig) != 0) {
            continue;
        }

        if (sig == SIGTERM || sig == SIGINT) {
            break;
        }

        if (sig == SIGHUP) {
            da_secrets_reload(ctx);
        }
    }

    da_log(ctx, "shutting down on signal %d", sig);
    rc = 0;

stop:

    pthread_mutex_lock(&ctx->lock);
    ctx->stopping = 1;

    for (s = ctx->all_head; s != NULL; s = s->all_next) {
        pthread_cond_broadcast(&s->state_cond);
    }

    pthread_cond_broadcast(&ctx->reaper_cond);
    pthread_cond_broadcast(&ctx->mem_cond);
    pthread_mutex_unlock(&ctx->lock);

    da_http_stop(ctx);
    da_workers_stop(ctx);

    if (ctx->reaper) {
        pthread_join(ctx->reaper, NULL);
    }

    da_store_free(ctx);

    if (ctx->pid_file != NULL && rc == 0) {
        unlink(ctx->pid_file);
    }

done:

    da_pool_free(ctx);
    da_credentials_free(ctx);
    da_colcache_free(ctx);

    pthread_cond_destroy(&ctx->mem_cond);
    pthread_cond_destroy(&ctx->reaper_cond);
    pthread_cond_destroy(&ctx->queue_cond);
    pthread_mutex_destroy(&ctx->cred_lock);
    pthread_mutex_destroy(&ctx->lock);

    if (ctx->log != NULL) {
        fclose(ctx->log);
    }

    da_free_keys(ctx);
    free(ctx->listen_host);
    free(ctx);

    return rc;
}
