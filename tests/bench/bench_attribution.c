/* cvm-bench-attribution: speed of the attribution models, through the public
 * API only. Not a test: it measures and prints, and asserts nothing.
 *
 *   cvm-bench-attribution [--data DIR] [--repeat N] [--tile K]
 *
 * The input is ChannelAttribution's Data.csv (DIR/Data.csv or
 * DIR/channelattribution_Data.csv; DIR defaults to ../shared/data/attribution;
 * skipped with a message when absent): 10,000 aggregated paths of 12
 * channels, added K times (default 100: 1M rows) with
 * cvm_attribution_add_path. Identical paths add up, so the models see the
 * file's distinct paths with K times the counts.
 *
 * Jobs (targets in brackets; each the fastest of --repeat runs, default 3):
 *   add-paths    the K x 10,000 cvm_attribution_add_path calls (one run)   [none]
 *   first, last, linear, position
 *                heuristic credit (cvm_attribution_run + credit)           [<= 0.1 s]
 *   markov-1     Markov chain of order 1, exact removal effects           [<= 0.3 s]
 *   markov-2     order 2                                                   [none]
 *   markov-3     order 3                                                   [<= 1 s]
 *   shapley      Shapley values of conversions                             [none]
 * Each line ends with alpha's credit (and removal effect for Markov) as a
 * check that the tiling did not change the shares. Times are wall-clock on
 * one core; "cpu" is CPU / wall time. */
#include "cvm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct row {
    char *path;
    size_t len;
    double conv, value, nulls;
} row;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "cvm-bench-attribution: %s: %s\n", what, msg);
    exit(1);
}

static FILE *open_data(const char *dir, char *path, size_t n)
{
    static const char *const names[] = {"Data.csv", "channelattribution_Data.csv"};
    for (size_t k = 0; k < 2; k++) {
        FILE *f;
        snprintf(path, n, "%s/%s", dir, names[k]);
        f = fopen(path, "r");
        if (f != NULL) {
            return f;
        }
    }
    snprintf(path, n, "%s/Data.csv", dir);
    return NULL;
}

/* path;total_conversions;total_conversion_value;total_null */
static row *load(FILE *f, const char *path, size_t *n)
{
    char line[8192];
    size_t cap = 16384;
    row *rows = malloc(cap * sizeof *rows);
    *n = 0;
    if (rows == NULL) {
        die("malloc", "out of memory");
    }
    if (fgets(line, sizeof line, f) == NULL) {
        die(path, "empty");
    }
    while (fgets(line, sizeof line, f)) {
        char *semi = strchr(line, ';');
        row *r;
        if (semi == NULL) {
            continue;
        }
        if (*n == cap) {
            cap *= 2;
            rows = realloc(rows, cap * sizeof *rows);
            if (rows == NULL) {
                die("realloc", "out of memory");
            }
        }
        r = &rows[*n];
        r->len = (size_t)(semi - line);
        r->path = malloc(r->len + 1);
        if (r->path == NULL) {
            die("malloc", "out of memory");
        }
        memcpy(r->path, line, r->len);
        r->path[r->len] = '\0';
        if (sscanf(semi + 1, "%lf;%lf;%lf", &r->conv, &r->value, &r->nulls) != 3) {
            die(path, "bad line");
        }
        (*n)++;
    }
    return rows;
}

static void report(const char *job, size_t rows, double best, double cpu, double target,
                   const char *extra)
{
    if (target > 0) {
        printf("%-11s %9zu rows %10.3f ms  cpu %.2f  target %6.0f ms  %s  %s\n", job, rows,
               1e3 * best, cpu, 1e3 * target, best <= target ? "ok  " : "SLOW", extra);
    } else {
        printf("%-11s %9zu rows %10.3f ms  cpu %.2f  target %6s ms  %s  %s\n", job, rows,
               1e3 * best, cpu, "-", "    ", extra);
    }
}

/* Index of channel "alpha", or 0. */
static size_t alpha_index(const cvm_attribution *a)
{
    size_t n = cvm_attribution_channel_count(a);
    for (size_t i = 0; i < n; i++) {
        const char *name = cvm_attribution_channel_name(a, i);
        if (name && strcmp(name, "alpha") == 0) {
            return i;
        }
    }
    return 0;
}

static void job(cvm_attribution *a, const char *name, int32_t model, int32_t order, double target,
                size_t rows, int repeat)
{
    cvm_attribution_run_options ro = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    size_t n = cvm_attribution_channel_count(a), ia = alpha_index(a);
    double *conv = calloc(n ? n : 1, sizeof *conv), *effects = calloc(n ? n : 1, sizeof *effects);
    double best = 1e30, cpu = 0, p = 0;
    char extra[160];
    if (conv == NULL || effects == NULL) {
        die("calloc", "out of memory");
    }
    ro.model = model;
    ro.order = order;
    for (int r = 0; r < repeat; r++) {
        double w0 = now(), c0 = cpu_now(), w;
        cvm_status st = cvm_attribution_run(a, &ro);
        if (st == CVM_OK) {
            st = cvm_attribution_credit(a, conv, NULL, n);
        }
        if (st != CVM_OK) {
            die(name, cvm_attribution_errmsg(a));
        }
        w = now() - w0;
        if (w < best) {
            best = w;
            cpu = (cpu_now() - c0) / w;
        }
    }
    if (model == CVM_ATTR_MARKOV &&
        cvm_attribution_removal_effects(a, effects, n, &p) == CVM_OK) {
        snprintf(extra, sizeof extra, "alpha %.6g (removal %.10f), P(conv) %.10f", conv[ia],
                 effects[ia], p);
    } else {
        snprintf(extra, sizeof extra, "alpha %.6g", conv[ia]);
    }
    report(name, rows, best, cpu, target, extra);
    free(conv);
    free(effects);
}

int main(int argc, char **argv)
{
    const char *dir = "../shared/data/attribution";
    char path[4096];
    int repeat = 3;
    long tile = 100;
    size_t n, rows;
    row *data;
    FILE *f;
    cvm_attribution *a = NULL;
    double w0, c0, w;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--tile") == 0 && i + 1 < argc) {
            tile = atol(argv[++i]);
        } else {
            fprintf(stderr, "usage: cvm-bench-attribution [--data DIR] [--repeat N] [--tile K]\n");
            return 2;
        }
    }
    repeat = repeat < 1 ? 1 : repeat;
    tile = tile < 1 ? 1 : tile;
    f = open_data(dir, path, sizeof path);
    if (f == NULL) {
        printf("attribution skipped: %s not found (try --data DIR)\n", path);
        return 0;
    }
    data = load(f, path, &n);
    fclose(f);
    rows = n * (size_t)tile;
    if (cvm_attribution_new(&a, NULL) != CVM_OK) {
        die("cvm_attribution_new", "failed");
    }
    w0 = now();
    c0 = cpu_now();
    for (long k = 0; k < tile; k++) {
        for (size_t i = 0; i < n; i++) {
            if (cvm_attribution_add_path(a, data[i].path, data[i].len, data[i].conv,
                                         data[i].value, data[i].nulls) != CVM_OK) {
                die("add_path", cvm_attribution_errmsg(a));
            }
        }
    }
    w = now() - w0;
    {
        char extra[96];
        snprintf(extra, sizeof extra, "%zu channels, %zu paths x %ld",
                 cvm_attribution_channel_count(a), n, tile);
        report("add-paths", rows, w, (cpu_now() - c0) / w, 0, extra);
    }
    job(a, "first", CVM_ATTR_FIRST, 1, 0.1, rows, repeat);
    job(a, "last", CVM_ATTR_LAST, 1, 0.1, rows, repeat);
    job(a, "linear", CVM_ATTR_LINEAR, 1, 0.1, rows, repeat);
    job(a, "position", CVM_ATTR_POSITION, 1, 0.1, rows, repeat);
    job(a, "markov-1", CVM_ATTR_MARKOV, 1, 0.3, rows, repeat);
    job(a, "markov-2", CVM_ATTR_MARKOV, 2, 0, rows, repeat);
    job(a, "markov-3", CVM_ATTR_MARKOV, 3, 1.0, rows, repeat);
    job(a, "shapley", CVM_ATTR_SHAPLEY, 1, 0, rows, repeat);
    cvm_attribution_free(a);
    for (size_t i = 0; i < n; i++) {
        free(data[i].path);
    }
    free(data);
    return 0;
}
