/* cvm-bench-segment: speed of segmentation, through the public API only. Not
 * a test: it measures and prints, and asserts nothing.
 *
 *   cvm-bench-segment [--repeat N] [--rows N]
 *
 * Jobs (the targets in brackets; each the fastest of --repeat runs):
 *   kmeans   cvm_kmeans_fit, k = 8, one init, no scaling, on N rows (default
 *            1M) of 3 features: a mixture of 8 unit-variance Gaussian blobs
 *            with centres drawn uniformly in [0, 12)^3 (some overlap)  [<= 0.5 s]
 *   rfm      cvm_rfm_fit + cvm_rfm_score + cvm_rfm_segment on N customers
 *            (recency 365 u^2 days, frequency 1 + geometric(0.3), monetary
 *            about log-normal, in cents)                             [<= 100 ms]
 * The data come from a fixed-seed generator in this file. Times are
 * wall-clock on one core; "cpu" is CPU / wall time. */
#include "cvm.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    fprintf(stderr, "cvm-bench-segment: %s: %s\n", what, msg);
    exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        die("calloc", "out of memory");
    }
    return p;
}

/* splitmix64: enough for benchmark data. */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return ((double)(next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Irwin-Hall: the sum of 12 uniforms less 6, close to N(0, 1) (this file
 * does not link libm: cvm_dep does not carry it). */
static double normal(uint64_t *s)
{
    double z = -6;
    for (int i = 0; i < 12; i++) {
        z += uniform(s);
    }
    return z;
}

typedef struct timing {
    double best, cpu;
} timing;

static void take(timing *t, double w0, double c0)
{
    double w = now() - w0;
    if (w < t->best) {
        t->best = w;
        t->cpu = (cpu_now() - c0) / w;
    }
}

static void report(const char *job, size_t n, const timing *t, double target, const char *extra)
{
    printf("%-11s %9zu rows %10.3f ms  cpu %.2f  target %6.0f ms  %s  %s\n", job, n,
           1e3 * t->best, t->cpu, 1e3 * target, t->best <= target ? "ok  " : "SLOW", extra);
}

static void bench_kmeans(size_t n, int repeat)
{
    double *X = xcalloc(n * 3, sizeof *X), centre[8][3];
    int32_t *labels = xcalloc(n, sizeof *labels);
    uint64_t s = 7;
    timing t = { 1e30, 0 };
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    cvm_kmeans_info info;
    char extra[128];
    for (int c = 0; c < 8; c++) {
        for (int j = 0; j < 3; j++) {
            centre[c][j] = 12 * uniform(&s);
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)(next(&s) % 8);
        for (int j = 0; j < 3; j++) {
            X[i * 3 + (size_t)j] = centre[c][j] + normal(&s);
        }
    }
    o.k = 8;
    o.n_init = 1;
    info.size = sizeof info;
    for (int r = 0; r < repeat; r++) {
        cvm_kmeans *km = NULL;
        double w0, c0;
        if (cvm_kmeans_new(&km, &o) != CVM_OK) {
            die("cvm_kmeans_new", "failed");
        }
        w0 = now();
        c0 = cpu_now();
        if (cvm_kmeans_fit(km, X, n, 3, NULL, labels) != CVM_OK) {
            die("kmeans fit", cvm_kmeans_errmsg(km));
        }
        take(&t, w0, c0);
        cvm_kmeans_info_get(km, &info);
        cvm_kmeans_free(km);
    }
    snprintf(extra, sizeof extra, "k %d, iterations %d, converged %d, inertia %.6g", (int)info.k,
             (int)info.iterations, (int)info.converged, info.inertia);
    report("kmeans", n, &t, 0.5, extra);
    free(X);
    free(labels);
}

static void bench_rfm(size_t n, int repeat)
{
    double *rec = xcalloc(n, sizeof *rec), *freq = xcalloc(n, sizeof *freq),
           *mon = xcalloc(n, sizeof *mon);
    int32_t *r = xcalloc(n, sizeof *r), *f = xcalloc(n, sizeof *f), *m = xcalloc(n, sizeof *m),
            *seg = xcalloc(n, sizeof *seg);
    uint64_t s = 11;
    timing t = { 1e30, 0 };
    char err[256], extra[128];
    size_t nseg = 0;
    for (size_t i = 0; i < n; i++) {
        double u = uniform(&s), e = 1 + normal(&s) / 8, mv = 20;
        int64_t x = 1;
        while (uniform(&s) < 0.7) {
            x++; /* 1 + geometric */
        }
        for (int j = 0; j < 8; j++) {
            mv *= e; /* ~ log-normal */
        }
        rec[i] = (double)(int64_t)(365 * u * u); /* days since the last purchase */
        freq[i] = (double)x;
        mon[i] = (double)(int64_t)(100 * mv + 0.5) / 100; /* cents */
    }
    for (int k = 0; k < repeat; k++) {
        cvm_rfm *rfm = NULL;
        double w0, c0;
        if (cvm_rfm_new(&rfm, NULL) != CVM_OK) {
            die("cvm_rfm_new", "failed");
        }
        w0 = now();
        c0 = cpu_now();
        if (cvm_rfm_fit(rfm, rec, freq, mon, n) != CVM_OK) {
            die("rfm fit", cvm_rfm_errmsg(rfm));
        }
        if (cvm_rfm_score(rfm, rec, freq, mon, n, r, f, m, err, sizeof err) != CVM_OK) {
            die("rfm score", err);
        }
        if (cvm_rfm_segment(rfm, r, f, m, n, seg, err, sizeof err) != CVM_OK) {
            die("rfm segment", err);
        }
        take(&t, w0, c0);
        nseg = cvm_rfm_segment_count(rfm);
        cvm_rfm_free(rfm);
    }
    snprintf(extra, sizeof extra, "fit + score + segment, %zu segments", nseg);
    report("rfm", n, &t, 0.1, extra);
    free(rec);
    free(freq);
    free(mon);
    free(r);
    free(f);
    free(m);
    free(seg);
}

int main(int argc, char **argv)
{
    size_t rows = 1000000;
    int repeat = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
            rows = (size_t)strtoull(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: cvm-bench-segment [--repeat N] [--rows N]\n");
            return 2;
        }
    }
    if (repeat < 1) {
        repeat = 1;
    }
    if (rows < 8) {
        rows = 8;
    }
    bench_kmeans(rows, repeat);
    bench_rfm(rows, repeat);
    return 0;
}
