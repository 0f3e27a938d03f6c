#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tu_data_dir(void)
{
    static char buf[4096];
    static int done;
    if (!done) {
        const char *root = getenv("CVM_SOURCE_ROOT");
        struct stat st;
        done = 1;
        snprintf(buf, sizeof buf, "%s/../shared/data", root ? root : ".");
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
            buf[0] = '\0';
        }
    }
    return buf[0] ? buf : NULL;
}

const char *tu_data_path(const char *name)
{
    static char buf[4096];
    const char *dir = tu_data_dir();
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : ".", name);
    return buf;
}

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = malloc(4096);
    ck_assert_ptr_nonnull(path);
    snprintf(path, 4096, "%s/cvm-test-XXXXXX", base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(path));
    return path;
}

char *tu_tmpdir_mem(void)
{
    char *path;
    if (access("/dev/shm", W_OK) != 0) {
        return tu_tmpdir();
    }
    path = malloc(64);
    ck_assert_ptr_nonnull(path);
    snprintf(path, 64, "/dev/shm/cvm-test-XXXXXX");
    if (mkdtemp(path) == NULL) {
        free(path);
        return tu_tmpdir();
    }
    return path;
}

char *tu_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int tu_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

void tu_remove_tree(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL) {
        free(dir);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            char *p = tu_join(dir, e->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
                tu_remove_tree(p);
            } else {
                remove(p);
                free(p);
            }
        }
    }
    closedir(d);
    rmdir(dir);
    free(dir);
}

void tu_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

char *tu_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
    do {
        if (cap - len < 65536) {
            cap = cap * 2 + 65536;
            buf = realloc(buf, cap + 1);
            ck_assert_ptr_nonnull(buf);
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    fclose(f);
    buf[len] = '\0';
    if (n) {
        *n = len;
    }
    return buf;
}

static int tu_should_fail(tu_failing *s)
{
    s->calls++;
    if (s->fail_at == 0 || s->calls < s->fail_at) {
        return 0;
    }
    if (s->calls == s->fail_at) {
        return 1;
    }
    return s->every != 0 && (s->calls - s->fail_at) % s->every == 0;
}

static void *tu_alloc(void *ud, size_t n)
{
    tu_failing *s = ud;
    void *p;
    if (tu_should_fail(s)) {
        return NULL;
    }
    p = malloc(n);
    if (p) {
        s->live++;
    }
    return p;
}

static void *tu_realloc(void *ud, void *p, size_t n)
{
    tu_failing *s = ud;
    if (tu_should_fail(s)) {
        return NULL;
    }
    return realloc(p, n);
}

static void tu_free(void *ud, void *p)
{
    tu_failing *s = ud;
    if (p) {
        s->live--;
    }
    free(p);
}

cvm_allocator tu_failing_allocator(tu_failing *state)
{
    cvm_allocator a = {sizeof(cvm_allocator), tu_alloc, tu_realloc, tu_free, state};
    return a;
}

int tu_quick(void)
{
    const char *v = getenv("CVM_TEST_QUICK");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

int tu_mark_points = 1;

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;
    tu_mark_points = !tu_quick();
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
