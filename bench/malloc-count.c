/*
 * An LD_PRELOAD shim that counts the heap allocations of a process, for
 * bench/load.sh's "bytes allocated per 10,000-row response": every
 * malloc, calloc, realloc (the new size), posix_memalign, memalign,
 * aligned_alloc and valloc adds its size to a counter, and the counters
 * live in a shared file, MALLOC_COUNT_DIR/PID (two native uint64_t:
 * calls, bytes), so that the bench reads them before and after N requests
 * without stopping the process.  nginx pools get their blocks from
 * posix_memalign and malloc, so their growth is counted; freed bytes are
 * not subtracted (the figure is the allocation traffic, not the peak).
 *
 * Build: cc -O2 -shared -fPIC -o malloc-count.so malloc-count.c
 * Use:   MALLOC_COUNT_DIR=/tmp/x LD_PRELOAD=./malloc-count.so nginx ...
 * A forked child (an nginx worker) gets a file of its own on its first
 * allocation (pthread_atfork; getpid() is a system call, not made per
 * allocation).
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);


static uint64_t   mc_local[2];
static uint64_t  *mc_counters = mc_local;
static pid_t      mc_pid;
static int        mc_busy;


static void
mc_attach(void)
{
    int          fd;
    char         path[512];
    pid_t        pid;
    void        *m;
    const char  *dir;

    if (mc_busy) {
        return;
    }

    pid = getpid();

    mc_busy = 1;
    mc_pid = pid;
    mc_counters = mc_local;
    mc_local[0] = 0;
    mc_local[1] = 0;

    dir = getenv("MALLOC_COUNT_DIR");

    if (dir != NULL
        && snprintf(path, sizeof(path), "%s/%d", dir, (int) pid)
           < (int) sizeof(path))
    {
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd >= 0) {
            if (ftruncate(fd, 2 * sizeof(uint64_t)) == 0) {
                m = mmap(NULL, 2 * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                         MAP_SHARED, fd, 0);
                if (m != MAP_FAILED) {
                    mc_counters = m;
                }
            }

            close(fd);
        }
    }

    mc_busy = 0;
}


/* a forked child counts into a file of its own from its next allocation */

static void
mc_child(void)
{
    mc_pid = 0;
}


__attribute__((constructor)) static void
mc_init(void)
{
    pthread_atfork(NULL, NULL, mc_child);
}


static void
mc_count(size_t size)
{
    if (mc_pid == 0) {
        mc_attach();
    }

    __atomic_add_fetch(&mc_counters[0], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&mc_counters[1], size, __ATOMIC_RELAXED);
}


void *
malloc(size_t size)
{
    mc_count(size);
    return __libc_malloc(size);
}


void *
calloc(size_t n, size_t size)
{
    mc_count(n * size);
    return __libc_calloc(n, size);
}


void *
realloc(void *p, size_t size)
{
    mc_count(size);
    return __libc_realloc(p, size);
}


int
posix_memalign(void **out, size_t align, size_t size)
{
    void  *p;

    if (align < sizeof(void *) || (align & (align - 1)) != 0) {
        return EINVAL;
    }

    mc_count(size);

    p = __libc_memalign(align, size);
    if (p == NULL) {
        return ENOMEM;
    }

    *out = p;

    return 0;
}


void *
memalign(size_t align, size_t size)
{
    mc_count(size);
    return __libc_memalign(align, size);
}


void *
aligned_alloc(size_t align, size_t size)
{
    mc_count(size);
    return __libc_memalign(align, size);
}


void *
valloc(size_t size)
{
    mc_count(size);
    return __libc_memalign((size_t) sysconf(_SC_PAGESIZE), size);
}
