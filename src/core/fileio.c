/* File helpers that libc leaves unsafe for a library: temporary files with
 * the permissions a plain fopen() would give, and thread-safe errno text. */
#include "core/core_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *cvm__strerror(int e, char *buf, size_t n)
{
    /* The XSI strerror_r (what _POSIX_C_SOURCE selects) returns an int. */
    if (strerror_r(e, buf, n) != 0) {
        snprintf(buf, n, "error %d", e);
    }
    return buf;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

int cvm__mkstemp_public(char *tmpl)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    size_t len = strlen(tmpl), i;
    uint64_t seed = mix((uint64_t)getpid() ^ ((uint64_t)time(NULL) << 20) ^
                        (uint64_t)(uintptr_t)tmpl ^ (uint64_t)clock());
    int attempt;
    if (len < 6 || strcmp(tmpl + len - 6, "XXXXXX") != 0) {
        errno = EINVAL;
        return -1;
    }
    for (attempt = 0; attempt < 100; attempt++) {
        uint64_t r = seed = mix(seed + (uint64_t)attempt);
        int fd;
        for (i = 0; i < 6; i++, r /= 36) {
            tmpl[len - 6 + i] = chars[r % 36];
        }
        /* 0666 less the umask, unlike mkstemp's 0600. */
        fd = open(tmpl, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0 || errno != EEXIST) {
            return fd;
        }
    }
    return -1;
}
