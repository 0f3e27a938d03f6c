/* A main() for the harnesses without libFuzzer: runs LLVMFuzzerTestOneInput
 * once on every file named, and on every file in every directory named (not
 * recursively; names starting with '.' are skipped). A directory that does
 * not exist is skipped, so regressions/<harness>/ can be passed before it
 * has any reproducer; finding no file at all is an error. Each input is in a
 * buffer of exactly its size, so that AddressSanitizer sees overreads. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    do {
        if (len == cap) {
            uint8_t *p = realloc(buf, cap = cap ? cap * 2 : 4096);
            if (p == NULL) {
                fprintf(stderr, "%s: out of memory\n", path);
                free(buf);
                fclose(f);
                return 1;
            }
            buf = p;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    if (ferror(f)) {
        fprintf(stderr, "%s: read error\n", path);
        free(buf);
        fclose(f);
        return 1;
    }
    fclose(f);
    {
        /* A copy of the exact size: the slack of `buf` would hide overreads. */
        uint8_t *exact = malloc(len ? len : 1);
        if (exact == NULL) {
            free(buf);
            return 1;
        }
        if (len > 0) {
            memcpy(exact, buf, len);
        }
        free(buf);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of `dir` in name order, so that runs are repeatable. */
static int run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int bad = 0;
    if (d == NULL) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            char **p = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
            if (p == NULL) {
                bad = 1;
                break;
            }
            names = p;
        }
        names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (names[n] == NULL) {
            bad = 1;
            break;
        }
        sprintf(names[n], "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n > 0) {
        qsort(names, n, sizeof *names, compare_names);
    }
    for (i = 0; i < n; i++) {
        struct stat st;
        if (!bad && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            bad = run_file(names[i]);
            ++*count;
        }
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int i, bad = 0;
    for (i = 1; i < argc && !bad; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            if (errno != ENOENT) {
                fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                bad = 1;
            }
        } else if (S_ISDIR(st.st_mode)) {
            bad = run_dir(argv[i], &count);
        } else {
            bad = run_file(argv[i]);
            count++;
        }
    }
    if (!bad && count == 0) {
        fprintf(stderr, "%s: no input files\n", argv[0]);
        bad = 1;
    }
    if (!bad) {
        printf("%s: %zu inputs ran\n", argv[0], count);
    }
    return bad;
}
