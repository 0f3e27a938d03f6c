/* Helpers shared by the Check test programs. */
#ifndef CVM_TESTUTIL_H
#define CVM_TESTUTIL_H

#include "cvm.h"

#include <check.h>
#include <stddef.h>

/* ../shared/data beside the project root, or NULL when it is absent (the
 * reference tests then skip). Static storage. */
const char *tu_data_dir(void);

/* data_dir/name in a static buffer (overwritten by the next call). */
const char *tu_data_path(const char *name);

/* A fresh empty directory under $TMPDIR (or /tmp); caller frees the string. */
char *tu_tmpdir(void);
/* As tu_tmpdir(), but on /dev/shm when it is a writable memory file system:
 * there the fsync of every snapshot save costs nothing, which matters to
 * tests that save thousands. */
char *tu_tmpdir_mem(void);
/* dir/name, malloc'd. */
char *tu_join(const char *dir, const char *name);
/* Entries in `dir` other than "." and "..". */
int tu_count_entries(const char *dir);
/* Remove `dir` and everything below it, then free the string. */
void tu_remove_tree(char *dir);
/* Write `n` bytes to `path`; aborts the test on failure. */
void tu_write_file(const char *path, const void *data, size_t n);
/* Read a whole file (malloc'd, NUL-terminated); *n gets its size. */
char *tu_read_file(const char *path, size_t *n);

/* An allocator that fails the `fail_at`-th call (1-based) and, when `every`
 * is nonzero, every `every` calls after it; counts calls and live blocks. */
typedef struct tu_failing {
    size_t calls;
    size_t fail_at;
    size_t every;
    long live; /* blocks allocated minus blocks freed */
} tu_failing;

cvm_allocator tu_failing_allocator(tu_failing *state);

/* 1 when CVM_TEST_QUICK is set (and not "0"): suites that take long under
 * valgrind (.ci/valgrind) then use fewer draws, customers or iterations, the
 * same code paths on smaller inputs. Their statistical bounds scale with the
 * sample size, so they stay as strict in probability. */
int tu_quick(void);

/* Check records where every passing assertion is (_mark_point), to place a
 * crash: a malloc, a free and a file write per assertion, which under
 * valgrind is most of a suite's time (test_core: 22 s of 23). tu_run() turns
 * that off with CVM_TEST_QUICK (.ci/valgrind, where valgrind reports where a
 * crash happened); `(_mark_point)` is Check's function itself. */
extern int tu_mark_points;
#define _mark_point(file, line) (tu_mark_points ? (_mark_point)(file, line) : (void)0)

/* Run the suite made by `make` and return the process exit status.
 * Call from main(): return tu_run(make_suite()). */
int tu_run(Suite *s);

/* Mark a test skipped in TAP output and return from it. */
#define TU_SKIP_IF_NO_DATA()                                                   \
    do {                                                                       \
        if (tu_data_dir() == NULL) {                                           \
            return;                                                            \
        }                                                                      \
    } while (0)

#endif
