#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_out_open(cli_out *o, const char *path)
{
    size_t n;
    int fd;
    memset(o, 0, sizeof *o);
    if (path == NULL || strcmp(path, "-") == 0) {
        o->f = stdout;
        return CLI_OK;
    }
    n = strlen(path) + 16;
    o->path = strdup(path);
    o->tmp = malloc(n);
    if (o->path == NULL || o->tmp == NULL) {
        return cli_error("out of memory");
    }
    snprintf(o->tmp, n, "%s.tmp-XXXXXX", path);
    fd = mkstemp(o->tmp);
    if (fd >= 0) {
        /* mkstemp makes the file private; the output should get the same
         * permissions a plain fopen() would give it. */
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
    }
    if (fd < 0 || (o->f = fdopen(fd, "w")) == NULL) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            remove(o->tmp);
        }
        free(o->tmp);
        o->tmp = NULL;
        return cli_error("%s: cannot create: %s", path, strerror(e));
    }
    return CLI_OK;
}

int cli_out_close(cli_out *o, int ok)
{
    int failed;
    if (o->f == stdout) {
        return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
    }
    failed = ferror(o->f) || fflush(o->f) != 0 || fsync(fileno(o->f)) != 0;
    failed |= fclose(o->f) != 0;
    if (ok && !failed && rename(o->tmp, o->path) != 0) {
        failed = 1;
    }
    if (!ok || failed) {
        int e = errno;
        remove(o->tmp);
        if (ok) {
            cli_error("%s: cannot write: %s", o->path, strerror(e));
        }
    }
    free(o->tmp);
    free(o->path);
    return ok && !failed ? CLI_OK : CLI_FAIL;
}

void cli_fmt_double(char *buf, size_t n, double v)
{
    int prec;
    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) {
            return;
        }
    }
}

void cli_write_field(FILE *f, const char *s, size_t n)
{
    size_t i;
    int quote = n == 0;
    for (i = 0; i < n && !quote; i++) {
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    }
    if (!quote) {
        fwrite(s, 1, n, f);
        return;
    }
    fputc('"', f);
    for (i = 0; i < n; i++) {
        if (s[i] == '"') {
            fputc('"', f);
        }
        fputc(s[i], f);
    }
    fputc('"', f);
}
