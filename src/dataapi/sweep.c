/*
 * The local object store's lifecycle rule (--export-retention-seconds):
 * objects under --export-dir whose last change is older than the
 * retention are removed, as an S3 lifecycle expiration rule removes them
 * from a bucket, then the directories that held only such objects.  Run
 * by the reaper thread at start and then every retention / 10 (1 s to
 * 60 s).
 *
 * EXPORT_DIR itself and its bucket directories stay; files directly in
 * EXPORT_DIR or a bucket's directory above no key prefix are objects too.
 * Symbolic links are removed like files and never followed; a directory
 * that changed within the retention is kept even when empty (an UNLOAD
 * may just have made it); entries the daemon cannot remove are logged
 * once per sweep and left.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataapi.h"


#define DA_SWEEP_MAX_DEPTH  64


typedef struct {
    da_ctx_t        *ctx;
    time_t           before;    /* older than this goes */
    size_t           files;
    size_t           dirs;
    long long        bytes;
    size_t           errors;
} da_sweep_t;


static int da_sweep_dir(da_sweep_t *s, int fd, const char *path,
    int depth);


/* Returns 1 when the directory is empty afterwards. */
static int
da_sweep_dir(da_sweep_t *s, int fd, const char *path, int depth)
{
    DIR            *dir;
    struct dirent  *de;
    struct stat     st;
    int             sub, empty, kept;
    char            child[4096];

    dir = fdopendir(fd);
    if (dir == NULL) {
        close(fd);
        s->errors++;
        return 0;
    }

    kept = 0;

    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }

        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            s->errors++;
            kept = 1;
            continue;
        }

        snprintf(child, sizeof(child), "%s/%s", path, de->d_name);

        if (S_ISDIR(st.st_mode)) {
            if (depth >= DA_SWEEP_MAX_DEPTH) {
                kept = 1;
                continue;
            }

            sub = openat(dirfd(dir), de->d_name,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                s->errors++;
                kept = 1;
                continue;
            }

            empty = da_sweep_dir(s, sub, child, depth + 1);

            /* buckets stay; a directory changed lately may be filling */
            if (!empty || depth == 0 || st.st_mtime >= s->before) {
                kept = 1;
                continue;
            }

            if (unlinkat(dirfd(dir), de->d_name, AT_REMOVEDIR) != 0) {
                if (errno != ENOTEMPTY && errno != EEXIST) {
                    s->errors++;
                }

                kept = 1;
                continue;
            }

            s->dirs++;
            continue;
        }

        if (st.st_mtime >= s->before) {
            kept = 1;
            continue;
        }

        if (unlinkat(dirfd(dir), de->d_name, 0) != 0) {
            if (errno != ENOENT) {
                if (s->errors++ == 0) {
                    da_log(s->ctx, "export sweep: cannot remove %s: %s",
                           child, strerror(errno));
                }

                kept = 1;
            }

            continue;
        }

        s->files++;
        s->bytes += (long long) st.st_size;
    }

    closedir(dir);

    return !kept;
}


void
da_exports_sweep(da_ctx_t *ctx, time_t now)
{
    da_sweep_t  s;
    int         fd;

    if (ctx->export_dir == NULL || ctx->export_retention <= 0
        || now < ctx->sweep_next)
    {
        return;
    }

    ctx->sweep_next = now + (ctx->export_retention >= 600
                             ? 60 : (ctx->export_retention + 9) / 10);

    memset(&s, 0, sizeof(s));
    s.ctx = ctx;
    s.before = now - ctx->export_retention;

    fd = open(ctx->export_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            da_log(ctx, "export sweep: cannot open %s: %s", ctx->export_dir,
                   strerror(errno));
        }

        return;
    }

    (void) da_sweep_dir(&s, fd, ctx->export_dir, 0);

    if (s.files || s.dirs || s.errors) {
        da_log(ctx, "export sweep: removed %zu objects (%lld bytes) and %zu "
               "directories older than %ld s, %zu errors", s.files, s.bytes,
               s.dirs, ctx->export_retention, s.errors);
    }
}
