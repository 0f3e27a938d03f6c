/* cvm-bench-clv: speed of fitting and scoring the CLV models, through the
 * public API only. Not a test: it measures and prints, and asserts nothing.
 *
 *   cvm-bench-clv [--data DIR] [--repeat N] [--customers N] [--pareto N]
 *
 * Jobs (the targets in brackets; each the fastest of --repeat runs):
 *   cdnow-fit    BG/NBD fit on the CDNOW calibration summary, DIR/btyd_cdnow_cbs.csv
 *                (skipped when absent)                                        [<= 1 ms]
 *   bgnbd-fit    BG/NBD fit on N simulated customers (default 1M): the time of
 *                cvm_clv_fit only — row checks, merging identical rows, MLE,
 *                standard errors                                               [<= 0.2 s]
 *   pareto-fit   Pareto/NBD fit on the first M of them (default 100k)         [<= 0.3 s]
 *   score        P(alive), expected purchases over 39 weeks and 12-period CLV
 *                with Gamma-Gamma spend for the N customers (cvm_clv_score)   [<= 20 ms]
 * The simulated data: cvm_simulate's defaults (BG/NBD at CDNOW's estimates,
 * weekly rates, first purchases over 12 weeks, 78 weeks) with seed 7,
 * summarised with daily periods and weeks as the unit, calibration = first
 * 39 weeks. Times are wall-clock on one core; "cpu" is CPU / wall time. */
#include "cvm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct columns {
    double *x, *t_x, *T, *m;
    size_t n;
} columns;

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
    fprintf(stderr, "cvm-bench-clv: %s: %s\n", what, msg);
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

static void columns_alloc(columns *c, size_t n)
{
    c->x = xcalloc(n, sizeof(double));
    c->t_x = xcalloc(n, sizeof(double));
    c->T = xcalloc(n, sizeof(double));
    c->m = xcalloc(n, sizeof(double));
    c->n = n;
}

static void columns_free(columns *c)
{
    free(c->x);
    free(c->t_x);
    free(c->T);
    free(c->m);
}

static int load_cbs(const char *dir, columns *c)
{
    char path[4096], line[256];
    FILE *f;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/btyd_cdnow_cbs.csv", dir);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    columns_alloc(c, 2357);
    if (fgets(line, sizeof line, f) == NULL) {
        die(path, "empty");
    }
    while (n < c->n && fgets(line, sizeof line, f)) {
        int id;
        double xs;
        if (sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf", &id, &c->x[n], &c->t_x[n], &c->T[n], &xs,
                   &c->m[n]) != 6) {
            die(path, "bad line");
        }
        n++;
    }
    fclose(f);
    c->n = n;
    return 1;
}

typedef struct sink {
    cvm_customers *c;
    char id[24];
} sink;

static int add_one(void *ud, size_t customer, int64_t time, double amount)
{
    sink *s = ud;
    int len = snprintf(s->id, sizeof s->id, "c%zu", customer);
    return cvm_customers_add(s->c, s->id, (size_t)len, time, amount) != CVM_OK;
}

static void simulate(size_t n, columns *out)
{
    cvm_simulate_options so = CVM_SIMULATE_OPTIONS_INIT;
    cvm_customers_options co = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_summary_options sm = CVM_SUMMARY_OPTIONS_INIT;
    sink s;
    double *cols[4];
    so.seed = 7;
    so.customers = n;
    co.calibration_end = so.start + 39 * INT64_C(604800) - 1;
    sm.unit_seconds = 604800;
    if (cvm_customers_new(&s.c, &co) != CVM_OK || cvm_simulate(&so, add_one, &s) != CVM_OK) {
        die("simulate", cvm_customers_errmsg(s.c));
    }
    columns_alloc(out, cvm_customers_summary_rows(s.c));
    cols[0] = out->x;
    cols[1] = out->t_x;
    cols[2] = out->T;
    cols[3] = out->m;
    for (int k = 0; k < 4; k++) {
        if (cvm_customers_summary(s.c, &sm, (int32_t)k, cols[k], out->n) != CVM_OK) {
            die("summary", cvm_customers_errmsg(s.c));
        }
    }
    cvm_customers_free(s.c);
}

typedef struct timing {
    double best, cpu;
} timing;

static cvm_clv *fit(int32_t kind, const columns *c, size_t n, timing *t, int repeat)
{
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    cvm_clv *m = NULL;
    o.kind = kind;
    t->best = 1e30;
    for (int r = 0; r < repeat; r++) {
        double w0, c0, w;
        cvm_clv_free(m);
        if (cvm_clv_new(&m, &o) != CVM_OK) {
            die("cvm_clv_new", "failed");
        }
        w0 = now();
        c0 = cpu_now();
        if (cvm_clv_fit(m, c->x, c->t_x, c->T, NULL, n, NULL) != CVM_OK) {
            die("fit", cvm_clv_errmsg(m));
        }
        w = now() - w0;
        if (w < t->best) {
            t->best = w;
            t->cpu = (cpu_now() - c0) / w;
        }
    }
    return m;
}

static void report(const char *job, size_t n, const timing *t, double target, const cvm_clv *m)
{
    cvm_fit_info info;
    char extra[128] = "";
    if (m != NULL) {
        double p[4];
        info.size = sizeof info;
        cvm_clv_info(m, &info);
        cvm_clv_params(m, p, NULL, 4);
        snprintf(extra, sizeof extra, "patterns %llu, iterations %d, params %.4g %.4g %.4g %.4g",
                 (unsigned long long)info.patterns, (int)info.iterations, p[0], p[1], p[2], p[3]);
    }
    printf("%-11s %9zu rows %10.3f ms  cpu %.2f  target %6.0f ms  %s  %s\n", job, n,
           1e3 * t->best, t->cpu, 1e3 * target, t->best <= target ? "ok  " : "SLOW", extra);
}

static void score(const cvm_clv *m, const columns *c, int repeat)
{
    cvm_spend *s = NULL;
    double gg[3] = { 6.25, 3.74, 15.44 };
    double *pa = xcalloc(c->n, sizeof *pa), *e = xcalloc(c->n, sizeof *e),
           *clv = xcalloc(c->n, sizeof *clv);
    timing t = { 1e30, 0 };
    char err[256];
    if (cvm_spend_new(&s, NULL) != CVM_OK || cvm_spend_set_params(s, gg, 3) != CVM_OK) {
        die("spend", "failed");
    }
    for (int r = 0; r < repeat; r++) {
        double w0 = now(), c0 = cpu_now(), w;
        if (cvm_clv_score(m, s, 39, NULL, c->x, c->t_x, c->T, c->m, c->n, pa, e, NULL, clv, err,
                          sizeof err) != CVM_OK) {
            die("score", err);
        }
        w = now() - w0;
        if (w < t.best) {
            t.best = w;
            t.cpu = (cpu_now() - c0) / w;
        }
    }
    report("score", c->n, &t, 0.020, NULL);
    cvm_spend_free(s);
    free(pa);
    free(e);
    free(clv);
}

int main(int argc, char **argv)
{
    const char *dir = "../shared/data";
    size_t customers = 1000000, pareto = 100000;
    int repeat = 3;
    columns cd, sim;
    timing t;
    cvm_clv *m;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--customers") == 0 && i + 1 < argc) {
            customers = (size_t)strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--pareto") == 0 && i + 1 < argc) {
            pareto = (size_t)strtoull(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: cvm-bench-clv [--data DIR] [--repeat N] [--customers N] "
                            "[--pareto N]\n");
            return 2;
        }
    }
    if (repeat < 1) {
        repeat = 1;
    }
    if (load_cbs(dir, &cd)) {
        m = fit(CVM_MODEL_BGNBD, &cd, cd.n, &t, repeat * 10);
        report("cdnow-fit", cd.n, &t, 0.001, m);
        cvm_clv_free(m);
        columns_free(&cd);
    } else {
        printf("cdnow-fit   skipped: %s/btyd_cdnow_cbs.csv not found\n", dir);
    }
    simulate(customers, &sim);
    m = fit(CVM_MODEL_BGNBD, &sim, sim.n, &t, repeat);
    report("bgnbd-fit", sim.n, &t, 0.2, m);
    score(m, &sim, repeat);
    cvm_clv_free(m);
    m = fit(CVM_MODEL_PARETO, &sim, pareto < sim.n ? pareto : sim.n, &t, repeat);
    report("pareto-fit", pareto < sim.n ? pareto : sim.n, &t, 0.3, m);
    cvm_clv_free(m);
    columns_free(&sim);
    return 0;
}
