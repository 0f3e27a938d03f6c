/* Threads (issue 7), the rules stated in include/cvm.h:
 *
 *  - own handles: NTHREADS threads each run a whole workflow on handles of
 *    their own, all at once: simulate; customers from adds, from a CSV file
 *    and from a CSV buffer, merged; summary; BG/NBD, Pareto/NBD, MBG/NBD,
 *    BG/BB, Gamma-Gamma and sBG fits; predictions, scores, values; RFM,
 *    k-means, tiers, lifecycle, profiles; attribution from paths, a paths
 *    CSV and touchpoints with every model; every snapshot saved to and loaded
 *    from files of the thread's own. Each uses an allocator of its own that
 *    takes no lock.
 *  - shared handles: one fitted handle of every kind (and the last run of
 *    two attribution handles) is read by NTHREADS threads at once through
 *    every function that takes it `const`, error paths included, each thread
 *    with its own outputs and message buffers; the handles share one
 *    thread-safe allocator. The functions without a handle run alongside.
 *
 * Every result goes into a trace of raw bits, and each thread's trace must
 * equal, bit for bit, the trace of the same work done by one thread alone.
 * Built with -Db_sanitize=thread (.ci/tsan), ThreadSanitizer also checks
 * that no call touches memory another thread writes; in the normal build the
 * results are still compared.
 *
 * Worker threads never call ck_assert (Check's failure path is not for other
 * threads): they note the first failure in their context and the test
 * thread asserts after joining them. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 8
#define NCONFIGS 4 /* own-handle workflows: thread i runs configuration i % NCONFIGS */
/* Their simulation seeds: ones whose Pareto/NBD fit stays away from the
 * s, beta -> infinity boundary, where a fit of 300 customers takes a second. */
static const uint64_t config_seed[NCONFIGS] = {1, 2, 4, 5};
#define READ_ROUNDS 2
#define WEEK INT64_C(604800)
#define YEAR (INT64_C(365) * 86400)
#define START INT64_C(852076800) /* 1997-01-01 */
#define NCHANNELS 6

/* ---- a trace of results ----------------------------------------------------- */

typedef struct trace {
    uint64_t *v; /* raw bits: doubles, integers, statuses, string hashes */
    int *line;   /* source line that wrote each entry, for messages */
    size_t n, cap;
    int oom;
} trace;

static void tr_bits(trace *t, uint64_t bits, int line)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        uint64_t *v = realloc(t->v, cap * sizeof *v);
        int *l;
        if (v == NULL) {
            t->oom = 1;
            return;
        }
        t->v = v;
        l = realloc(t->line, cap * sizeof *l);
        if (l == NULL) {
            t->oom = 1;
            return;
        }
        t->line = l;
        t->cap = cap;
    }
    t->v[t->n] = bits;
    t->line[t->n] = line;
    t->n++;
}

static void tr_dbl(trace *t, const double *v, size_t n, int line)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint64_t b;
        memcpy(&b, &v[i], sizeof b);
        tr_bits(t, b, line);
    }
}

static void tr_i32(trace *t, const int32_t *v, size_t n, int line)
{
    size_t i;
    for (i = 0; i < n; i++) {
        tr_bits(t, (uint64_t)(int64_t)v[i], line);
    }
}

static void tr_bytes(trace *t, const void *p, size_t n, int line)
{
    const unsigned char *s = p;
    uint64_t h = 0xCBF29CE484222325u;
    size_t i;
    for (i = 0; i < n; i++) {
        h = (h ^ s[i]) * 0x100000001B3u;
    }
    tr_bits(t, (uint64_t)n, line);
    tr_bits(t, h, line);
}

static void tr_str(trace *t, const char *s, int line)
{
    if (s == NULL) {
        tr_bits(t, UINT64_MAX, line);
    } else {
        tr_bytes(t, s, strlen(s), line);
    }
}

#define TR_D(t, v, n) tr_dbl((t), (v), (n), __LINE__)
#define TR_1(t, x)                                                                 \
    do {                                                                           \
        double tr_x_ = (x);                                                        \
        tr_dbl((t), &tr_x_, 1, __LINE__);                                          \
    } while (0)
#define TR_I(t, v, n) tr_i32((t), (v), (n), __LINE__)
#define TR_U(t, x) tr_bits((t), (uint64_t)(x), __LINE__)
#define TR_S(t, s) tr_str((t), (s), __LINE__)

static void tr_free(trace *t)
{
    free(t->v);
    free(t->line);
    memset(t, 0, sizeof *t);
}

/* "" when equal, else where they first differ. */
static void tr_compare(const trace *got, const trace *want, char *msg, size_t len)
{
    size_t i, n = got->n < want->n ? got->n : want->n;
    msg[0] = '\0';
    if (got->oom || want->oom) {
        snprintf(msg, len, "trace: out of memory");
        return;
    }
    for (i = 0; i < n; i++) {
        if (got->v[i] != want->v[i] || got->line[i] != want->line[i]) {
            double a, b;
            memcpy(&a, &got->v[i], sizeof a);
            memcpy(&b, &want->v[i], sizeof b);
            snprintf(msg, len,
                     "entry %zu differs: line %d bits %016llx (%.17g), reference line %d "
                     "bits %016llx (%.17g)",
                     i, got->line[i], (unsigned long long)got->v[i], a, want->line[i],
                     (unsigned long long)want->v[i], b);
            return;
        }
    }
    if (got->n != want->n) {
        snprintf(msg, len, "%zu entries, reference %zu", got->n, want->n);
    }
}

/* ---- a thread's context: its trace, its message buffer, its first failure -- */

typedef struct ctx {
    trace tr;
    char err[256];  /* the caller's message buffer of every call */
    char fail[512]; /* first failure, "" if none */
} ctx;

static int fail_at(ctx *cx, int line, const char *what, cvm_status st, const char *detail)
{
    if (cx->fail[0] == '\0') {
        snprintf(cx->fail, sizeof cx->fail, "line %d: %s: %s (%s)", line, what,
                 st == CVM_OK ? "false" : cvm_strerror(st), detail ? detail : "");
    }
    return -1;
}

/* Call must return CVM_OK; `detail` is the message to show otherwise. */
#define TRY_MSG(cx, call, detail)                                                  \
    do {                                                                           \
        cvm_status try_st_ = (call);                                               \
        if (try_st_ != CVM_OK) {                                                   \
            return fail_at((cx), __LINE__, #call, try_st_, (detail));              \
        }                                                                          \
    } while (0)
#define TRY(cx, call) TRY_MSG(cx, call, (cx)->err)
#define REQUIRE(cx, cond)                                                          \
    do {                                                                           \
        if (!(cond)) {                                                             \
            return fail_at((cx), __LINE__, #cond, CVM_OK, NULL);                   \
        }                                                                          \
    } while (0)
#define STEP(cx, call)                                                             \
    do {                                                                           \
        if ((call) != 0) {                                                         \
            return -1;                                                             \
        }                                                                          \
    } while (0)

/* ---- a per-thread text buffer and a small deterministic generator --------- */

typedef struct text {
    char *s;
    size_t n, cap;
    int oom;
} text;

static void text_add(text *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static unsigned below(uint64_t *s, unsigned n)
{
    return (unsigned)(next_u64(s) % n);
}

/* ---- allocators ------------------------------------------------------------ */

/* Shared handles allocate from many threads at once (scoring takes a work
 * table from the handle's allocator): this one is thread-safe and counts. */
typedef struct shared_alloc {
    atomic_long live;
    atomic_ulong calls;
} shared_alloc;

static void *sa_alloc(void *ud, size_t n)
{
    shared_alloc *s = ud;
    void *p = malloc(n);
    atomic_fetch_add(&s->calls, 1ul);
    if (p != NULL) {
        atomic_fetch_add(&s->live, 1l);
    }
    return p;
}

static void *sa_realloc(void *ud, void *p, size_t n)
{
    shared_alloc *s = ud;
    atomic_fetch_add(&s->calls, 1ul);
    return realloc(p, n);
}

static void sa_free(void *ud, void *p)
{
    shared_alloc *s = ud;
    if (p != NULL) {
        atomic_fetch_sub(&s->live, 1l);
    }
    free(p);
}

/* ---- data ------------------------------------------------------------------- */

/* The summary columns of a customer model, in weeks (BG/BB: opportunities). */
typedef struct cols {
    size_t n;
    double *x, *t_x, *T, *m, *xh, *mh, *dur, *rec; /* rec = T - t_x */
} cols;

static void cols_free(cols *c)
{
    free(c->x);
    free(c->t_x);
    free(c->T);
    free(c->m);
    free(c->xh);
    free(c->mh);
    free(c->dur);
    free(c->rec);
    memset(c, 0, sizeof *c);
}

static int cols_read(ctx *cx, cvm_customers *c, int64_t unit, int64_t obs_end, cols *out)
{
    cvm_summary_options so = CVM_SUMMARY_OPTIONS_INIT;
    double **col[7];
    size_t i, k;
    memset(out, 0, sizeof *out);
    so.unit_seconds = unit;
    so.observation_end = obs_end;
    out->n = cvm_customers_summary_rows(c);
    REQUIRE(cx, out->n > 0);
    col[0] = &out->x;
    col[1] = &out->t_x;
    col[2] = &out->T;
    col[3] = &out->m;
    col[4] = &out->xh;
    col[5] = &out->mh;
    col[6] = &out->dur;
    for (k = 0; k < 7; k++) {
        *col[k] = malloc(out->n * sizeof(double));
        REQUIRE(cx, *col[k] != NULL);
        if (k >= 4 && obs_end == CVM_TIME_NONE) {
            memset(*col[k], 0, out->n * sizeof(double));
            continue;
        }
        TRY_MSG(cx, cvm_customers_summary(c, &so, (int32_t)k, *col[k], out->n),
                cvm_customers_errmsg(c));
    }
    out->rec = malloc(out->n * sizeof(double));
    REQUIRE(cx, out->rec != NULL);
    for (i = 0; i < out->n; i++) {
        out->rec[i] = out->T[i] - out->t_x[i];
    }
    return 0;
}

static void cols_trace(trace *t, const cols *c)
{
    TR_U(t, c->n);
    TR_D(t, c->x, c->n);
    TR_D(t, c->t_x, c->n);
    TR_D(t, c->T, c->n);
    TR_D(t, c->m, c->n);
    TR_D(t, c->xh, c->n);
    TR_D(t, c->mh, c->n);
    TR_D(t, c->dur, c->n);
}

static int cols_equal(const cols *a, const cols *b)
{
    size_t s = a->n * sizeof(double);
    return a->n == b->n && memcmp(a->x, b->x, s) == 0 && memcmp(a->t_x, b->t_x, s) == 0 &&
           memcmp(a->T, b->T, s) == 0 && memcmp(a->m, b->m, s) == 0 &&
           memcmp(a->xh, b->xh, s) == 0 && memcmp(a->mh, b->mh, s) == 0 &&
           memcmp(a->dur, b->dur, s) == 0;
}

/* Simulated purchases into a customer model and, as CSV text, a buffer. */
typedef struct sink {
    cvm_customers *c;
    text *csv; /* may be NULL */
    cvm_status st;
} sink;

static int sink_add(void *ud, size_t customer, int64_t time, double amount)
{
    sink *s = ud;
    char id[32], line[128], day[16];
    int n = snprintf(id, sizeof id, "c%zu", customer);
    s->st = cvm_customers_add(s->c, id, (size_t)n, time, amount);
    if (s->st == CVM_OK && s->csv != NULL) {
        int64_t sec = time % 86400;
        s->st = cvm_format_date(day, sizeof day, time);
        n = snprintf(line, sizeof line, "%s,%s %02d:%02d:%02d,%.17g\n", id, day,
                     (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60), amount);
        text_add(s->csv, line, (size_t)n);
    }
    return s->st != CVM_OK || (s->csv != NULL && s->csv->oom);
}

/* Simulated purchases kept in arrays. */
typedef struct events {
    size_t n, cap;
    size_t *customer;
    int64_t *time;
    double *amount;
} events;

static int record_event(void *ud, size_t customer, int64_t time, double amount)
{
    events *e = ud;
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 1024;
        size_t *c = realloc(e->customer, cap * sizeof *c);
        int64_t *t = c ? realloc(e->time, cap * sizeof *t) : NULL;
        double *a = t ? realloc(e->amount, cap * sizeof *a) : NULL;
        if (c) {
            e->customer = c;
        }
        if (t) {
            e->time = t;
        }
        if (a == NULL) {
            return 1;
        }
        e->amount = a;
        e->cap = cap;
    }
    e->customer[e->n] = customer;
    e->time[e->n] = time;
    e->amount[e->n] = amount;
    e->n++;
    return 0;
}

static void events_free(events *e)
{
    free(e->customer);
    free(e->time);
    free(e->amount);
}

/* The purchases at even positions of the stream, then the odd ones: a
 * customer's purchases then arrive out of order, and some of them fall
 * between the customer's first and last periods (left to be settled by
 * the next read that may write). */
static int add_shuffled(ctx *cx, cvm_customers *c, const events *e)
{
    size_t pass, i;
    for (pass = 0; pass < 2; pass++) {
        for (i = pass; i < e->n; i += 2) {
            char id[32];
            int n = snprintf(id, sizeof id, "c%zu", e->customer[i]);
            TRY_MSG(cx, cvm_customers_add(c, id, (size_t)n, e->time[i], e->amount[i]),
                    cvm_customers_errmsg(c));
        }
    }
    return 0;
}

static int write_file(ctx *cx, const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(cx, f != NULL);
    if (fwrite(data, 1, n, f) != n) {
        fclose(f);
        REQUIRE(cx, 0);
    }
    REQUIRE(cx, fclose(f) == 0);
    return 0;
}

/* Aggregated journeys over NCHANNELS channels, as paths and as CSV text. */
static const char *const channel_names[NCHANNELS] = {"search", "display", "email",
                                                     "social", "direct",  "affiliate"};

typedef struct journeys {
    size_t n;
    char path[200][128];
    double conv[200], value[200], nulls[200];
} journeys;

static void make_journeys(journeys *j, uint64_t seed, size_t n)
{
    size_t i, k;
    j->n = n;
    for (i = 0; i < n; i++) {
        size_t len = 1 + below(&seed, 5), at = 0;
        for (k = 0; k < len; k++) {
            const char *ch = channel_names[below(&seed, NCHANNELS)];
            at += (size_t)snprintf(j->path[i] + at, sizeof j->path[i] - at, "%s%s",
                                   k ? " > " : "", ch);
        }
        j->conv[i] = (double)below(&seed, 6);
        j->value[i] = j->conv[i] * (10.0 + (double)below(&seed, 90)) / 4.0;
        j->nulls[i] = (double)below(&seed, 21);
    }
    j->conv[0] += 1.0;
    j->value[0] += 25.5;
}

static int add_journeys(ctx *cx, cvm_attribution *a, const journeys *j)
{
    size_t i;
    for (i = 0; i < j->n; i++) {
        TRY_MSG(cx,
                cvm_attribution_add_path(a, j->path[i], strlen(j->path[i]), j->conv[i],
                                         j->value[i], j->nulls[i]),
                cvm_attribution_errmsg(a));
    }
    return 0;
}

static void journeys_csv(const journeys *j, text *b)
{
    size_t i;
    static const char head[] = "path,total_conversions,total_conversion_value,total_null\n";
    text_add(b, head, sizeof head - 1);
    for (i = 0; i < j->n; i++) {
        char line[256];
        int n = snprintf(line, sizeof line, "%s,%.17g,%.17g,%.17g\n", j->path[i], j->conv[i],
                         j->value[i], j->nulls[i]);
        text_add(b, line, (size_t)n);
    }
}

/* Every result of the handle's last run that its model has. */
static int trace_attribution(ctx *cx, const cvm_attribution *a, int markov)
{
    trace *t = &cx->tr;
    size_t nc = cvm_attribution_channel_count(a), i;
    double conv[64], value[64], spend[64], roi[64], cost[64], eff[64], p = 0;
    REQUIRE(cx, nc > 0 && nc <= 64);
    TRY(cx, cvm_attribution_credit(a, conv, value, nc));
    TR_U(t, nc);
    for (i = 0; i < nc; i++) {
        TR_S(t, cvm_attribution_channel_name(a, i));
        spend[i] = 100.0 * (double)(i + 1);
    }
    TR_D(t, conv, nc);
    TR_D(t, value, nc);
    TRY(cx, cvm_attribution_roi(a, spend, nc, roi, cost, cx->err, sizeof cx->err));
    TR_D(t, roi, nc);
    TR_D(t, cost, nc);
    TR_U(t, cvm_attribution_removal_effects(a, eff, nc, &p));
    if (markov) {
        size_t ns = cvm_attribution_state_count(a);
        TRY(cx, cvm_attribution_removal_effects(a, eff, nc, &p));
        TR_D(t, eff, nc);
        TR_1(t, p);
        TR_U(t, ns);
        for (i = 0; i < ns; i++) {
            TR_S(t, cvm_attribution_state_name(a, i));
        }
        if (ns <= 16) {
            double m[256];
            TRY(cx, cvm_attribution_transitions(a, m, ns * ns));
            TR_D(t, m, ns * ns);
        }
    }
    return 0;
}

/* ==== (a) every thread with handles of its own ================================ */

typedef struct job {
    ctx cx;
    uint64_t seed;
    char dir[512];     /* this job's own directory */
    tu_failing counts; /* this job's own allocator: needs no lock */
    cvm_allocator alloc;
    pthread_barrier_t *go;
} job;

/* Everything a workflow makes; freed whatever happens. */
typedef struct owned {
    cvm_customers *added, *loaded, *buffered, *merged, *snap_c;
    cvm_customers *bgbb_data;
    cvm_clv *clv[4], *snap_clv[4];
    cvm_spend *spend, *snap_spend;
    cvm_retention *ret, *snap_ret;
    cvm_rfm *rfm, *snap_rfm;
    cvm_kmeans *km, *snap_km;
    cvm_tiers *tiers, *snap_tiers;
    cvm_attribution *paths, *paths_csv, *touches;
    cols s, s2, sb;
    text csv;
    double *buf[8];
    int32_t *ibuf[6];
} owned;

static void owned_free(owned *o)
{
    size_t i;
    cvm_customers_free(o->added);
    cvm_customers_free(o->loaded);
    cvm_customers_free(o->buffered);
    cvm_customers_free(o->merged);
    cvm_customers_free(o->snap_c);
    cvm_customers_free(o->bgbb_data);
    for (i = 0; i < 4; i++) {
        cvm_clv_free(o->clv[i]);
        cvm_clv_free(o->snap_clv[i]);
    }
    cvm_spend_free(o->spend);
    cvm_spend_free(o->snap_spend);
    cvm_retention_free(o->ret);
    cvm_retention_free(o->snap_ret);
    cvm_rfm_free(o->rfm);
    cvm_rfm_free(o->snap_rfm);
    cvm_kmeans_free(o->km);
    cvm_kmeans_free(o->snap_km);
    cvm_tiers_free(o->tiers);
    cvm_tiers_free(o->snap_tiers);
    cvm_attribution_free(o->paths);
    cvm_attribution_free(o->paths_csv);
    cvm_attribution_free(o->touches);
    cols_free(&o->s);
    cols_free(&o->s2);
    cols_free(&o->sb);
    free(o->csv.s);
    for (i = 0; i < 8; i++) {
        free(o->buf[i]);
    }
    for (i = 0; i < 6; i++) {
        free(o->ibuf[i]);
    }
}

static void job_path(const job *j, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", j->dir, name);
}

/* Simulate, load the same purchases from CSV, merge, summarise. */
static int wf_customers(job *j, owned *o)
{
    ctx *cx = &j->cx;
    cvm_simulate_options so = CVM_SIMULATE_OPTIONS_INIT;
    cvm_customers_options co = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_csv_options csv = CVM_CSV_OPTIONS_INIT;
    char path[600];
    double curve[78];
    sink k;
    co.allocator = &j->alloc;
    co.calibration_end = START + 52 * WEEK - 1;
    so.seed = j->seed;
    so.customers = 300;
    TRY(cx, cvm_customers_new(&o->added, &co));
    TRY(cx, cvm_customers_new(&o->loaded, &co));
    TRY(cx, cvm_customers_new(&o->merged, &co));
    TRY(cx, cvm_customers_new(&o->buffered, &co));
    k.c = o->added;
    k.csv = &o->csv;
    k.st = CVM_OK;
    text_add(&o->csv, "id,date,amount\n", 15);
    TRY(cx, cvm_simulate(&so, sink_add, &k));
    TRY_MSG(cx, k.st, cvm_customers_errmsg(o->added));
    REQUIRE(cx, !o->csv.oom);
    job_path(j, "transactions.csv", path, sizeof path);
    STEP(cx, write_file(cx, path, o->csv.s, o->csv.n));
    TRY_MSG(cx, cvm_customers_load_csv(o->loaded, path, &csv), cvm_customers_errmsg(o->loaded));
    TRY_MSG(cx, cvm_customers_load_csv_buffer(o->buffered, o->csv.s, o->csv.n, "buffer", &csv),
            cvm_customers_errmsg(o->buffered));
    TRY_MSG(cx, cvm_customers_merge(o->merged, o->added), cvm_customers_errmsg(o->merged));
    REQUIRE(cx, cvm_customers_count(o->added) == 300);
    REQUIRE(cx, cvm_customers_transactions(o->loaded) == cvm_customers_transactions(o->added));
    STEP(cx, cols_read(cx, o->added, WEEK, START + 78 * WEEK - 1, &o->s));
    STEP(cx, cols_read(cx, o->loaded, WEEK, START + 78 * WEEK - 1, &o->s2));
    REQUIRE(cx, cols_equal(&o->s, &o->s2));
    cols_free(&o->s2);
    STEP(cx, cols_read(cx, o->merged, WEEK, START + 78 * WEEK - 1, &o->s2));
    REQUIRE(cx, cols_equal(&o->s, &o->s2));
    cols_free(&o->s2);
    STEP(cx, cols_read(cx, o->buffered, WEEK, START + 78 * WEEK - 1, &o->s2));
    REQUIRE(cx, cols_equal(&o->s, &o->s2));
    cols_free(&o->s2);
    cols_trace(&cx->tr, &o->s);
    TRY_MSG(cx, cvm_customers_repeat_curve(o->added, START, WEEK, curve, 78),
            cvm_customers_errmsg(o->added));
    TR_D(&cx->tr, curve, 78);

    /* BG/BB data: a cohort with yearly opportunities. */
    so.model = CVM_MODEL_BGBB;
    so.params[0] = 1.2;
    so.params[1] = 0.75;
    so.params[2] = 0.66;
    so.params[3] = 2.78;
    so.seed = j->seed + 17;
    so.customers = 300;
    so.unit_seconds = YEAR;
    so.acquisition_seconds = 0;
    so.duration_seconds = 7 * YEAR;
    co.period_seconds = YEAR;
    co.period_origin = START;
    co.calibration_end = START + 7 * YEAR - 1;
    TRY(cx, cvm_customers_new(&o->bgbb_data, &co));
    k.c = o->bgbb_data;
    k.csv = NULL;
    TRY(cx, cvm_simulate(&so, sink_add, &k));
    TRY_MSG(cx, k.st, cvm_customers_errmsg(o->bgbb_data));
    STEP(cx, cols_read(cx, o->bgbb_data, YEAR, CVM_TIME_NONE, &o->sb));
    cols_trace(&cx->tr, &o->sb);
    return 0;
}

static void trace_fit(trace *t, const cvm_fit_info *fi)
{
    TR_U(t, fi->fitted);
    TR_U(t, fi->converged);
    TR_U(t, fi->iterations);
    TR_U(t, fi->has_stderr);
    TR_1(t, fi->loglik);
    TR_1(t, fi->weight);
    TR_U(t, fi->rows);
    TR_U(t, fi->patterns);
}

/* Fit every model kind, the spend and the retention model. */
static int wf_fit(job *j, owned *o)
{
    ctx *cx = &j->cx;
    trace *t = &cx->tr;
    cvm_clv_options lo = CVM_CLV_OPTIONS_INIT;
    cvm_model_options mo = CVM_MODEL_OPTIONS_INIT;
    cvm_fit_info fi;
    double p[4], se[4], alive[8];
    int32_t kind;
    size_t i, k;
    lo.allocator = &j->alloc;
    mo.allocator = &j->alloc;
    for (kind = 0; kind < 4; kind++) {
        const cols *c = kind == CVM_MODEL_BGBB ? &o->sb : &o->s;
        lo.kind = kind;
        TRY(cx, cvm_clv_new(&o->clv[kind], &lo));
        TRY_MSG(cx, cvm_clv_fit(o->clv[kind], c->x, c->t_x, c->T, NULL, c->n, NULL),
                cvm_clv_errmsg(o->clv[kind]));
        TRY(cx, cvm_clv_params(o->clv[kind], p, se, 4));
        fi.size = sizeof fi;
        TRY(cx, cvm_clv_info(o->clv[kind], &fi));
        TR_D(t, p, 4);
        TR_D(t, se, 4);
        trace_fit(t, &fi);
    }
    TRY(cx, cvm_spend_new(&o->spend, &mo));
    TRY_MSG(cx, cvm_spend_fit(o->spend, o->s.x, o->s.m, NULL, o->s.n, NULL),
            cvm_spend_errmsg(o->spend));
    TRY(cx, cvm_spend_params(o->spend, p, se, 3));
    fi.size = sizeof fi;
    TRY(cx, cvm_spend_info(o->spend, &fi));
    TR_D(t, p, 3);
    TR_D(t, se, 3);
    trace_fit(t, &fi);

    /* A cohort from the summary: customers whose last repeat purchase came
     * at least 4k weeks after their first. */
    for (k = 0; k < 8; k++) {
        alive[k] = 0;
        for (i = 0; i < o->s.n; i++) {
            alive[k] += o->s.t_x[i] >= 4.0 * (double)k;
        }
    }
    TR_D(t, alive, 8);
    TRY(cx, cvm_retention_new(&o->ret, &mo));
    TRY_MSG(cx, cvm_retention_fit(o->ret, alive, 8, NULL), cvm_retention_errmsg(o->ret));
    TRY(cx, cvm_retention_params(o->ret, p, se, 2));
    fi.size = sizeof fi;
    TRY(cx, cvm_retention_info(o->ret, &fi));
    TR_D(t, p, 2);
    TR_D(t, se, 2);
    trace_fit(t, &fi);
    return 0;
}

/* Predictions of one transaction model over its data. */
static int predict_clv(ctx *cx, const cvm_clv *m, const cvm_spend *spend, const cols *c,
                       double *out, double *out2, double *out3, double *out4)
{
    trace *t = &cx->tr;
    cvm_value_options vo = CVM_VALUE_OPTIONS_INIT;
    cvm_holdout_report rep;
    double tt[52], kk[10], total = 0, *birth = out4;
    int discrete = cvm_clv_kind(m) == CVM_MODEL_BGBB;
    double horizon = discrete ? 5 : 52;
    size_t i, n = c->n;
    vo.periods = 12;
    vo.period_length = discrete ? 1.0 : 4.348;
    TR_U(t, cvm_clv_kind(m));
    TR_U(t, cvm_clv_param_count(m));
    for (i = 0; i < 5; i++) {
        TR_S(t, cvm_clv_param_name(m, i));
    }
    TRY(cx, cvm_clv_loglik(m, c->x, c->t_x, c->T, n, out, &total, cx->err, sizeof cx->err));
    TR_D(t, out, n);
    TR_1(t, total);
    TRY(cx, cvm_clv_p_alive(m, c->x, c->t_x, c->T, n, out, cx->err, sizeof cx->err));
    TR_D(t, out, n);
    TRY(cx, cvm_clv_expected(m, horizon, c->x, c->t_x, c->T, n, out, cx->err, sizeof cx->err));
    TR_D(t, out, n);
    for (i = 0; i < 52; i++) {
        tt[i] = (double)(i + 1);
    }
    TRY(cx, cvm_clv_expected_new(m, tt, 52, out, cx->err, sizeof cx->err));
    TR_D(t, out, 52);
    for (i = 0; i < 10; i++) {
        tt[i] = horizon;
        kk[i] = (double)i;
    }
    TR_U(t, cvm_clv_prob_count(m, tt, kk, 10, out, cx->err, sizeof cx->err));
    TR_D(t, out, 10);
    TRY(cx, cvm_clv_value(m, spend, &vo, c->x, c->t_x, c->T, c->m, n, out, cx->err,
                          sizeof cx->err));
    TR_D(t, out, n);
    memset(out, 0, n * sizeof *out);
    TRY(cx, cvm_clv_score(m, spend, horizon, &vo, c->x, c->t_x, c->T, c->m, n, out, out2, out3,
                          out4, cx->err, sizeof cx->err));
    TR_D(t, out, n);
    TR_D(t, out2, n);
    TR_D(t, out3, n);
    TR_D(t, out4, n);
    if (!discrete) {
        rep.size = sizeof rep;
        TRY(cx, cvm_clv_holdout(m, c->x, c->t_x, c->T, c->dur, c->xh, n, out, &rep, cx->err,
                                sizeof cx->err));
        TR_D(t, out, n);
        TR_1(t, rep.customers);
        TR_1(t, rep.predicted);
        TR_1(t, rep.actual);
        TR_1(t, rep.mae);
        TR_1(t, rep.rmse);
        TR_1(t, rep.bias);
    }
    for (i = 0; i < n; i++) {
        birth[i] = (discrete ? 6.0 : 52.0) - c->T[i];
    }
    for (i = 0; i < 52; i++) {
        tt[i] = (double)(i + 1);
    }
    TRY(cx, cvm_clv_tracking(m, birth, NULL, n, tt, 52, out, cx->err, sizeof cx->err));
    TR_D(t, out, 52);
    return 0;
}

static int predict_others(ctx *cx, const cvm_spend *spend, const cvm_retention *r,
                          const cols *c, double *out)
{
    trace *t = &cx->tr;
    double tt[12], life = 0;
    size_t i;
    TRY(cx, cvm_spend_expected(spend, c->x, c->m, c->n, out, cx->err, sizeof cx->err));
    TR_D(t, out, c->n);
    for (i = 0; i < 12; i++) {
        tt[i] = (double)i;
    }
    TRY(cx, cvm_retention_survival(r, tt, 12, out, cx->err, sizeof cx->err));
    TR_D(t, out, 12);
    TRY(cx, cvm_retention_rate(r, tt + 1, 11, out, cx->err, sizeof cx->err));
    TR_D(t, out, 11);
    TRY(cx, cvm_retention_lifetime(r, 0.1, &life, cx->err, sizeof cx->err));
    TR_1(t, life);
    life = 0;
    TR_U(t, cvm_retention_lifetime(r, 0.0, &life, cx->err, sizeof cx->err));
    TR_1(t, life);
    return 0;
}

static int wf_predict(job *j, owned *o)
{
    ctx *cx = &j->cx;
    size_t i, n = o->s.n > o->sb.n ? o->s.n : o->sb.n;
    for (i = 0; i < 6; i++) {
        o->buf[i] = calloc(n > 64 ? n : 64, sizeof(double));
        REQUIRE(cx, o->buf[i] != NULL);
    }
    for (i = 0; i < 4; i++) {
        const cols *c = i == CVM_MODEL_BGBB ? &o->sb : &o->s;
        STEP(cx, predict_clv(cx, o->clv[i], i == CVM_MODEL_BGBB ? NULL : o->spend, c, o->buf[0],
                             o->buf[1], o->buf[2], o->buf[3]));
    }
    STEP(cx, predict_others(cx, o->spend, o->ret, &o->s, o->buf[0]));
    /* Keep BG/NBD's P(alive) in buf[4] and CLV in buf[5] for segmentation. */
    TRY(cx, cvm_clv_score(o->clv[CVM_MODEL_BGNBD], o->spend, 52, NULL, o->s.x, o->s.t_x, o->s.T,
                          o->s.m, o->s.n, o->buf[4], NULL, NULL, o->buf[5], cx->err,
                          sizeof cx->err));
    return 0;
}

/* The features k-means clusters: frequency, recency, monetary value. */
static double *features(const cols *c)
{
    double *X = malloc(c->n * 3 * sizeof *X);
    size_t i;
    if (X != NULL) {
        for (i = 0; i < c->n; i++) {
            X[3 * i] = c->x[i];
            X[3 * i + 1] = c->rec[i];
            X[3 * i + 2] = c->m[i];
        }
    }
    return X;
}

static void trace_profile(trace *t, const cvm_segment_profile *p)
{
    const double v[9] = {p->count,          p->share_customers, p->share_revenue,
                         p->mean_recency,   p->mean_frequency,  p->mean_monetary,
                         p->mean_p_alive,   p->mean_clv,        p->share_clv};
    TR_D(t, v, 9);
}

static int wf_segment(job *j, owned *o)
{
    ctx *cx = &j->cx;
    trace *t = &cx->tr;
    cvm_rfm_options ro = CVM_RFM_OPTIONS_INIT;
    cvm_kmeans_options ko = CVM_KMEANS_OPTIONS_INIT;
    cvm_tiers_options to = CVM_TIERS_OPTIONS_INIT;
    cvm_kmeans_info ki;
    cvm_segment_profile prof[16];
    double bp[8], cent[12], sil = 0, cuts[8], elbow[4];
    size_t i, n = o->s.n, nseg;
    double *X = features(&o->s);
    int32_t **ib = o->ibuf;
    REQUIRE(cx, X != NULL);
    o->buf[6] = X;
    for (i = 0; i < 6; i++) {
        ib[i] = calloc(n, sizeof(int32_t));
        REQUIRE(cx, ib[i] != NULL);
    }
    ro.allocator = &j->alloc;
    TRY(cx, cvm_rfm_new(&o->rfm, &ro));
    TRY_MSG(cx, cvm_rfm_fit(o->rfm, o->s.rec, o->s.x, o->s.m, n), cvm_rfm_errmsg(o->rfm));
    TRY(cx, cvm_rfm_fit_scores(o->rfm, n, ib[0], ib[1], ib[2]));
    TR_I(t, ib[0], n);
    TR_I(t, ib[1], n);
    TR_I(t, ib[2], n);
    TRY(cx, cvm_rfm_score(o->rfm, o->s.rec, o->s.x, o->s.m, n, ib[0], ib[1], ib[2], cx->err,
                          sizeof cx->err));
    TR_I(t, ib[0], n);
    TR_I(t, ib[1], n);
    TR_I(t, ib[2], n);
    for (i = 0; i < 3; i++) {
        TRY(cx, cvm_rfm_breakpoints(o->rfm, (int32_t)i, bp, 4));
        TR_D(t, bp, 4);
    }
    nseg = cvm_rfm_segment_count(o->rfm);
    REQUIRE(cx, nseg >= 1 && nseg <= 16);
    for (i = 0; i < nseg; i++) {
        TR_S(t, cvm_rfm_segment_name(o->rfm, i));
    }
    TRY(cx, cvm_rfm_segment(o->rfm, ib[0], ib[1], ib[2], n, ib[3], cx->err, sizeof cx->err));
    TR_I(t, ib[3], n);
    for (i = 0; i < nseg; i++) {
        prof[i].size = sizeof prof[i];
    }
    TRY(cx, cvm_segment_profiles(ib[3], n, nseg, o->s.rec, o->s.x, o->s.m, o->buf[4], o->buf[5],
                                 prof, cx->err, sizeof cx->err));
    for (i = 0; i < nseg; i++) {
        trace_profile(t, &prof[i]);
    }

    ko.allocator = &j->alloc;
    ko.k = 4;
    ko.seed = j->seed;
    ko.n_init = 2;
    ko.scaling = CVM_SCALE_LOG1P_ZSCORE;
    TRY(cx, cvm_kmeans_new(&o->km, &ko));
    TRY_MSG(cx, cvm_kmeans_fit(o->km, X, n, 3, NULL, ib[4]), cvm_kmeans_errmsg(o->km));
    TR_I(t, ib[4], n);
    TRY(cx, cvm_kmeans_predict(o->km, X, n, 3, ib[5], cx->err, sizeof cx->err));
    REQUIRE(cx, memcmp(ib[4], ib[5], n * sizeof(int32_t)) == 0);
    ki.size = sizeof ki;
    TRY(cx, cvm_kmeans_info_get(o->km, &ki));
    TR_1(t, ki.inertia);
    TR_U(t, ki.iterations);
    TR_U(t, ki.converged);
    TRY(cx, cvm_kmeans_centroids(o->km, cent, 12));
    TR_D(t, cent, 12);
    TRY(cx, cvm_kmeans_silhouette(o->km, X, n, 3, ib[4], 100, 5, &sil, cx->err, sizeof cx->err));
    TR_1(t, sil);
    TRY(cx, cvm_kmeans_elbow(&ko, X, n, 3, NULL, 2, 5, elbow, cx->err, sizeof cx->err));
    TR_D(t, elbow, 4);

    to.allocator = &j->alloc;
    TRY(cx, cvm_tiers_new(&o->tiers, &to));
    TRY_MSG(cx, cvm_tiers_fit(o->tiers, o->buf[5], n, ib[5]), cvm_tiers_errmsg(o->tiers));
    TR_I(t, ib[5], n);
    TRY(cx, cvm_tiers_assign(o->tiers, o->buf[5], n, ib[5], cx->err, sizeof cx->err));
    TR_I(t, ib[5], n);
    TR_U(t, cvm_tiers_cut_count(o->tiers));
    TRY(cx, cvm_tiers_cuts(o->tiers, cuts, 3));
    TR_D(t, cuts, 3);
    TRY(cx, cvm_value_tiers(o->buf[5], n, NULL, 0, cuts, ib[5], cx->err, sizeof cx->err));
    TR_D(t, cuts, 3);
    TR_I(t, ib[5], n);
    TRY(cx, cvm_lifecycle(NULL, o->s.x, o->s.t_x, o->s.T, o->buf[4], NULL, n, ib[5], cx->err,
                          sizeof cx->err));
    TR_I(t, ib[5], n);
    return 0;
}

static int wf_attribution(job *j, owned *o)
{
    ctx *cx = &j->cx;
    cvm_attribution_options ao = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_paths_csv_options po = CVM_PATHS_CSV_OPTIONS_INIT;
    cvm_attribution_run_options run = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    journeys *jn = malloc(sizeof *jn);
    text csv = {NULL, 0, 0, 0};
    char path[600];
    uint64_t seed = j->seed * 7 + 1;
    int32_t model;
    int rc = 0;
    size_t u, k;
    REQUIRE(cx, jn != NULL);
    make_journeys(jn, j->seed, 150);
    journeys_csv(jn, &csv);
    ao.allocator = &j->alloc;
    if (csv.oom || cvm_attribution_new(&o->paths, &ao) != CVM_OK ||
        cvm_attribution_new(&o->paths_csv, &ao) != CVM_OK ||
        cvm_attribution_new(&o->touches, &ao) != CVM_OK || add_journeys(cx, o->paths, jn) != 0) {
        rc = fail_at(cx, __LINE__, "attribution input", CVM_OK, NULL);
    }
    job_path(j, "paths.csv", path, sizeof path);
    if (rc == 0) {
        rc = write_file(cx, path, csv.s, csv.n);
    }
    free(csv.s);
    free(jn);
    STEP(cx, rc);
    TRY_MSG(cx, cvm_attribution_load_csv(o->paths_csv, path, &po),
            cvm_attribution_errmsg(o->paths_csv));

    for (model = CVM_ATTR_FIRST; model <= CVM_ATTR_SHAPLEY; model++) {
        int32_t order;
        if (model == CVM_ATTR_DECAY) {
            continue; /* aggregated paths have no times */
        }
        for (order = 1; order <= (model == CVM_ATTR_MARKOV ? 2 : 1); order++) {
            int32_t sh;
            for (sh = 0; sh <= (model == CVM_ATTR_SHAPLEY ? 1 : 0); sh++) {
                run.model = model;
                run.order = order;
                run.shapley = sh;
                TRY_MSG(cx, cvm_attribution_run(o->paths, &run), cvm_attribution_errmsg(o->paths));
                TRY_MSG(cx, cvm_attribution_run(o->paths_csv, &run),
                        cvm_attribution_errmsg(o->paths_csv));
                STEP(cx, trace_attribution(cx, o->paths, model == CVM_ATTR_MARKOV));
                STEP(cx, trace_attribution(cx, o->paths_csv, model == CVM_ATTR_MARKOV));
            }
        }
    }

    /* Touchpoints: 60 users, a few touches each, most converting. */
    for (u = 0; u < 60; u++) {
        char id[16];
        int idn = snprintf(id, sizeof id, "u%zu", u);
        int64_t time = START + (int64_t)below(&seed, 86400 * 30);
        size_t touches = 1 + below(&seed, 6);
        for (k = 0; k < touches; k++) {
            const char *ch = channel_names[below(&seed, NCHANNELS)];
            time += (int64_t)below(&seed, 86400 * 5);
            TRY_MSG(cx, cvm_attribution_add_touch(o->touches, id, (size_t)idn, ch, strlen(ch), time),
                    cvm_attribution_errmsg(o->touches));
        }
        if (below(&seed, 3) != 0) {
            TRY_MSG(cx,
                    cvm_attribution_add_conversion(o->touches, id, (size_t)idn, time + 3600,
                                                   (double)(5 + below(&seed, 100))),
                    cvm_attribution_errmsg(o->touches));
        }
    }
    for (model = CVM_ATTR_FIRST; model <= CVM_ATTR_SHAPLEY; model++) {
        run.model = model;
        run.order = 1;
        run.shapley = CVM_SHAPLEY_CONVERSIONS;
        TRY_MSG(cx, cvm_attribution_run(o->touches, &run), cvm_attribution_errmsg(o->touches));
        STEP(cx, trace_attribution(cx, o->touches, model == CVM_ATTR_MARKOV));
    }
    return 0;
}

/* Save every model to this job's directory and load it back: the loaded
 * handles must predict exactly as the saved ones. */
static int wf_snapshots(job *j, owned *o)
{
    ctx *cx = &j->cx;
    trace *t = &cx->tr;
    cvm_customers_options co = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_clv_options lo = CVM_CLV_OPTIONS_INIT;
    cvm_model_options mo = CVM_MODEL_OPTIONS_INIT;
    cvm_rfm_options ro = CVM_RFM_OPTIONS_INIT;
    cvm_kmeans_options ko = CVM_KMEANS_OPTIONS_INIT;
    cvm_tiers_options to = CVM_TIERS_OPTIONS_INIT;
    char path[600];
    double p[4], q[4], tt[12];
    size_t i, n = o->s.n;
    double *a = o->buf[0], *b = o->buf[1];
    co.allocator = lo.allocator = mo.allocator = ro.allocator = ko.allocator = to.allocator =
        &j->alloc;

    job_path(j, "customers.snap", path, sizeof path);
    TRY_MSG(cx, cvm_customers_save(o->added, path), cvm_customers_errmsg(o->added));
    TRY(cx, cvm_customers_load(&o->snap_c, path, &co, cx->err, sizeof cx->err));
    STEP(cx, cols_read(cx, o->snap_c, WEEK, START + 78 * WEEK - 1, &o->s2));
    REQUIRE(cx, cols_equal(&o->s, &o->s2));

    for (i = 0; i < 4; i++) {
        const cols *c = i == CVM_MODEL_BGBB ? &o->sb : &o->s;
        char name[32];
        snprintf(name, sizeof name, "clv%zu.snap", i);
        job_path(j, name, path, sizeof path);
        TRY_MSG(cx, cvm_clv_save(o->clv[i], path), cvm_clv_errmsg(o->clv[i]));
        TRY(cx, cvm_clv_load(&o->snap_clv[i], path, &lo, cx->err, sizeof cx->err));
        TRY(cx, cvm_clv_params(o->snap_clv[i], p, NULL, 4));
        TRY(cx, cvm_clv_params(o->clv[i], q, NULL, 4));
        REQUIRE(cx, memcmp(p, q, sizeof p) == 0);
        TRY(cx, cvm_clv_p_alive(o->clv[i], c->x, c->t_x, c->T, c->n, a, cx->err, sizeof cx->err));
        TRY(cx, cvm_clv_p_alive(o->snap_clv[i], c->x, c->t_x, c->T, c->n, b, cx->err,
                                sizeof cx->err));
        REQUIRE(cx, memcmp(a, b, c->n * sizeof *a) == 0);
        TR_D(t, b, c->n);
    }

    job_path(j, "spend.snap", path, sizeof path);
    TRY_MSG(cx, cvm_spend_save(o->spend, path), cvm_spend_errmsg(o->spend));
    TRY(cx, cvm_spend_load(&o->snap_spend, path, &mo, cx->err, sizeof cx->err));
    TRY(cx, cvm_spend_expected(o->snap_spend, o->s.x, o->s.m, n, b, cx->err, sizeof cx->err));
    TRY(cx, cvm_spend_expected(o->spend, o->s.x, o->s.m, n, a, cx->err, sizeof cx->err));
    REQUIRE(cx, memcmp(a, b, n * sizeof *a) == 0);
    TR_D(t, b, n);

    job_path(j, "retention.snap", path, sizeof path);
    TRY_MSG(cx, cvm_retention_save(o->ret, path), cvm_retention_errmsg(o->ret));
    TRY(cx, cvm_retention_load(&o->snap_ret, path, &mo, cx->err, sizeof cx->err));
    for (i = 0; i < 12; i++) {
        tt[i] = (double)i;
    }
    TRY(cx, cvm_retention_survival(o->snap_ret, tt, 12, b, cx->err, sizeof cx->err));
    TRY(cx, cvm_retention_survival(o->ret, tt, 12, a, cx->err, sizeof cx->err));
    REQUIRE(cx, memcmp(a, b, 12 * sizeof *a) == 0);
    TR_D(t, b, 12);

    job_path(j, "rfm.snap", path, sizeof path);
    TRY_MSG(cx, cvm_rfm_save(o->rfm, path), cvm_rfm_errmsg(o->rfm));
    TRY(cx, cvm_rfm_load(&o->snap_rfm, path, &ro, cx->err, sizeof cx->err));
    TRY(cx, cvm_rfm_score(o->snap_rfm, o->s.rec, o->s.x, o->s.m, n, o->ibuf[0], o->ibuf[1],
                          o->ibuf[2], cx->err, sizeof cx->err));
    TR_I(t, o->ibuf[0], n);
    TR_I(t, o->ibuf[1], n);
    TR_I(t, o->ibuf[2], n);

    job_path(j, "kmeans.snap", path, sizeof path);
    TRY_MSG(cx, cvm_kmeans_save(o->km, path), cvm_kmeans_errmsg(o->km));
    TRY(cx, cvm_kmeans_load(&o->snap_km, path, &ko, cx->err, sizeof cx->err));
    TRY(cx, cvm_kmeans_predict(o->snap_km, o->buf[6], n, 3, o->ibuf[5], cx->err, sizeof cx->err));
    REQUIRE(cx, memcmp(o->ibuf[4], o->ibuf[5], n * sizeof(int32_t)) == 0);
    TR_I(t, o->ibuf[5], n);

    job_path(j, "tiers.snap", path, sizeof path);
    TRY_MSG(cx, cvm_tiers_save(o->tiers, path), cvm_tiers_errmsg(o->tiers));
    TRY(cx, cvm_tiers_load(&o->snap_tiers, path, &to, cx->err, sizeof cx->err));
    TRY(cx, cvm_tiers_assign(o->snap_tiers, o->buf[5], n, o->ibuf[5], cx->err, sizeof cx->err));
    TR_I(t, o->ibuf[5], n);
    return 0;
}

static void workflow(job *j)
{
    owned o;
    memset(&o, 0, sizeof o);
    if (wf_customers(j, &o) == 0 && wf_fit(j, &o) == 0 && wf_predict(j, &o) == 0 &&
        wf_segment(j, &o) == 0 && wf_attribution(j, &o) == 0) {
        (void)wf_snapshots(j, &o);
    }
    owned_free(&o);
    if (j->counts.live != 0 && j->cx.fail[0] == '\0') {
        snprintf(j->cx.fail, sizeof j->cx.fail, "%ld blocks of the job's allocator not freed",
                 j->counts.live);
    }
}

static void *workflow_thread(void *arg)
{
    job *j = arg;
    pthread_barrier_wait(j->go);
    workflow(j);
    return NULL;
}

static void job_init(job *j, uint64_t seed, pthread_barrier_t *go)
{
    char *dir = tu_tmpdir();
    memset(j, 0, sizeof *j);
    j->seed = seed;
    snprintf(j->dir, sizeof j->dir, "%s", dir);
    free(dir);
    j->alloc = tu_failing_allocator(&j->counts);
    j->go = go;
}

static void job_done(job *j)
{
    char *dir = malloc(sizeof j->dir);
    ck_assert_ptr_nonnull(dir);
    memcpy(dir, j->dir, sizeof j->dir);
    tu_remove_tree(dir);
    tr_free(&j->cx.tr);
}

START_TEST(own_handles_in_parallel)
{
    static job ref[NCONFIGS], jobs[NTHREADS];
    pthread_t tid[NTHREADS];
    pthread_barrier_t go;
    size_t i;
    char msg[512];
    ck_assert_int_eq(pthread_barrier_init(&go, NULL, NTHREADS), 0);
    /* The reference: each configuration alone, on this thread. */
    for (i = 0; i < NCONFIGS; i++) {
        job_init(&ref[i], config_seed[i], NULL);
        workflow(&ref[i]);
        ck_assert_msg(ref[i].cx.fail[0] == '\0', "reference %zu: %s", i, ref[i].cx.fail);
        ck_assert(ref[i].cx.tr.n > 10000);
    }
    for (i = 0; i < NTHREADS; i++) {
        job_init(&jobs[i], config_seed[i % NCONFIGS], &go);
        ck_assert_int_eq(pthread_create(&tid[i], NULL, workflow_thread, &jobs[i]), 0);
    }
    for (i = 0; i < NTHREADS; i++) {
        ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
    }
    pthread_barrier_destroy(&go);
    for (i = 0; i < NTHREADS; i++) {
        ck_assert_msg(jobs[i].cx.fail[0] == '\0', "thread %zu: %s", i, jobs[i].cx.fail);
        tr_compare(&jobs[i].cx.tr, &ref[i % NCONFIGS].cx.tr, msg, sizeof msg);
        ck_assert_msg(msg[0] == '\0', "thread %zu against its reference: %s", i, msg);
    }
    for (i = 0; i < NTHREADS; i++) {
        job_done(&jobs[i]);
    }
    for (i = 0; i < NCONFIGS; i++) {
        job_done(&ref[i]);
    }
}
END_TEST

/* ==== (b) one fitted handle of every kind, read by every thread ============== */

typedef struct shared {
    shared_alloc counts;
    cvm_allocator alloc;
    cvm_customers *c;
    cvm_customers *shuffled; /* the same purchases added out of order, never summarised */
    cols s, sb;
    double *X, *clv_values, *p_alive;
    cvm_clv *clv[4];
    cvm_spend *spend;
    cvm_retention *ret;
    cvm_rfm *rfm;
    cvm_kmeans *km;
    cvm_tiers *tiers;
    cvm_attribution *markov, *shapley;
} shared;

typedef struct reader {
    ctx cx;
    const shared *sh;
    pthread_barrier_t *go;
    int rounds;
} reader;

/* Error paths of read-only calls: the message goes to the caller's buffer
 * and nothing to the handle. */
static int read_errors(ctx *cx, const shared *sh)
{
    trace *t = &cx->tr;
    const cols *s = &sh->s;
    double x[2] = {1, 2}, tx[2] = {3, 9}, T[2] = {5, 4}, out[64], nan[2] = {1, NAN};
    int32_t lab[2], r[2], f[2], m[2];
    cx->err[0] = '\0';
    TR_U(t, cvm_clv_p_alive(sh->clv[CVM_MODEL_BGNBD], x, tx, T, 2, out, cx->err, sizeof cx->err));
    REQUIRE(cx, cx->err[0] != '\0');
    TR_S(t, cx->err);
    TR_U(t, cvm_clv_expected(sh->clv[CVM_MODEL_PARETO], -1, s->x, s->t_x, s->T, 2, out, cx->err,
                             sizeof cx->err));
    TR_S(t, cx->err);
    TR_U(t, cvm_spend_expected(sh->spend, x, nan, 2, out, cx->err, sizeof cx->err));
    TR_S(t, cx->err);
    TR_U(t, cvm_retention_rate(sh->ret, nan, 2, out, cx->err, sizeof cx->err));
    TR_S(t, cx->err);
    TR_U(t, cvm_kmeans_predict(sh->km, nan, 1, 2, lab, cx->err, sizeof cx->err));
    TR_S(t, cx->err);
    TR_U(t, cvm_rfm_score(sh->rfm, nan, x, x, 2, r, f, m, cx->err, sizeof cx->err));
    TR_S(t, cx->err);
    TR_U(t, cvm_tiers_assign(sh->tiers, nan, 2, lab, cx->err, sizeof cx->err));
    TR_S(t, cx->err);
    TR_U(t, cvm_attribution_roi(sh->markov, nan, cvm_attribution_channel_count(sh->markov), out,
                                NULL, cx->err, sizeof cx->err));
    TR_U(t, cvm_attribution_removal_effects(sh->shapley, out, 1, NULL));
    /* Messages stay per handle: whatever the handles hold, unchanged. */
    TR_S(t, cvm_clv_errmsg(sh->clv[0]));
    TR_S(t, cvm_spend_errmsg(sh->spend));
    TR_S(t, cvm_retention_errmsg(sh->ret));
    TR_S(t, cvm_rfm_errmsg(sh->rfm));
    TR_S(t, cvm_kmeans_errmsg(sh->km));
    TR_S(t, cvm_tiers_errmsg(sh->tiers));
    TR_S(t, cvm_attribution_errmsg(sh->markov));
    TR_S(t, cvm_customers_errmsg(sh->c));
    return 0;
}

/* Functions without a handle, and the version and status calls. */
static int read_free_functions(ctx *cx, const shared *sh, double *out, int32_t *lab)
{
    trace *t = &cx->tr;
    const cols *s = &sh->s;
    cvm_simulate_options so = CVM_SIMULATE_OPTIONS_INIT;
    cvm_kmeans_options ko = CVM_KMEANS_OPTIONS_INIT;
    double cuts[3], elbow[3];
    int32_t k;
    int64_t when = 0;
    char day[16];
    {
        /* The options initialisers fill the caller's struct only. */
        cvm_customers_options o1;
        cvm_csv_options o2;
        cvm_summary_options o3;
        cvm_simulate_options o4;
        cvm_fit_options o5;
        cvm_clv_options o6;
        cvm_model_options o7;
        cvm_value_options o8;
        cvm_rfm_options o9;
        cvm_kmeans_options o10;
        cvm_tiers_options o11;
        cvm_lifecycle_options o12;
        cvm_attribution_options o13;
        cvm_paths_csv_options o14;
        cvm_attribution_run_options o15;
        TR_U(t, cvm_customers_options_init(&o1, sizeof o1));
        TR_U(t, cvm_csv_options_init(&o2, sizeof o2));
        TR_U(t, cvm_summary_options_init(&o3, sizeof o3));
        TR_U(t, cvm_simulate_options_init(&o4, sizeof o4));
        TR_U(t, cvm_fit_options_init(&o5, sizeof o5));
        TR_U(t, cvm_clv_options_init(&o6, sizeof o6));
        TR_U(t, cvm_model_options_init(&o7, sizeof o7));
        TR_U(t, cvm_value_options_init(&o8, sizeof o8));
        TR_U(t, cvm_rfm_options_init(&o9, sizeof o9));
        TR_U(t, cvm_kmeans_options_init(&o10, sizeof o10));
        TR_U(t, cvm_tiers_options_init(&o11, sizeof o11));
        TR_U(t, cvm_lifecycle_options_init(&o12, sizeof o12));
        TR_U(t, cvm_attribution_options_init(&o13, sizeof o13));
        TR_U(t, cvm_paths_csv_options_init(&o14, sizeof o14));
        TR_U(t, cvm_attribution_run_options_init(&o15, sizeof o15));
        TR_1(t, o4.params[0] + o5.tolerance + o8.discount_rate + o10.tolerance + o12.new_age +
                    o15.half_life_seconds);
        TR_U(t, (uint64_t)o1.period_seconds ^ (uint64_t)o2.delimiter ^
                    (uint64_t)o3.unit_seconds ^ (uint64_t)o6.kind ^ (uint64_t)o9.bins ^
                    (uint64_t)o13.separator ^ (uint64_t)o14.delimiter ^ o7.size ^ o11.size);
    }
    TR_U(t, cvm_version());
    TR_S(t, cvm_version_string());
    for (k = -1; k <= 14; k++) {
        TR_S(t, cvm_strerror((cvm_status)k));
    }
    for (k = -1; k <= 4; k++) {
        int32_t back = -1;
        const char *name = cvm_model_name(k);
        TR_S(t, name);
        if (name != NULL) {
            TRY(cx, cvm_model_from_name(name, &back));
            REQUIRE(cx, back == k);
        }
    }
    TRY(cx, cvm_parse_time("2024-02-29T13:14:15.5+02:00", 27, CVM_DATE_AUTO, &when));
    TR_U(t, when);
    TRY(cx, cvm_format_date(day, sizeof day, when));
    TR_S(t, day);
    TRY(cx, cvm_value_tiers(sh->clv_values, s->n, NULL, 0, cuts, lab, cx->err, sizeof cx->err));
    TR_D(t, cuts, 3);
    TR_I(t, lab, s->n);
    TRY(cx, cvm_value_tier_assign(cuts, 3, sh->clv_values, s->n, lab, cx->err, sizeof cx->err));
    TR_I(t, lab, s->n);
    TRY(cx, cvm_lifecycle(NULL, s->x, s->t_x, s->T, sh->p_alive, NULL, s->n, lab, cx->err,
                          sizeof cx->err));
    TR_I(t, lab, s->n);
    ko.allocator = &sh->alloc;
    ko.seed = 3;
    TRY(cx, cvm_kmeans_elbow(&ko, sh->X, s->n, 3, NULL, 2, 4, elbow, cx->err, sizeof cx->err));
    TR_D(t, elbow, 3);
    so.customers = 20;
    so.seed = 42;
    {
        cvm_customers *own = NULL;
        cvm_customers_options co = CVM_CUSTOMERS_OPTIONS_INIT;
        sink k2;
        cvm_status st;
        TRY(cx, cvm_customers_new(&own, &co));
        k2.c = own;
        k2.csv = NULL;
        k2.st = CVM_OK;
        st = cvm_simulate(&so, sink_add, &k2);
        TR_U(t, st);
        TR_U(t, k2.st);
        TR_U(t, cvm_customers_transactions(own));
        if (cvm_customers_summary_rows(own) == 20) {
            TR_U(t, cvm_customers_summary(own, NULL, CVM_COL_MONETARY, out, 20));
            TR_D(t, out, 20);
        }
        cvm_customers_free(own);
    }
    return 0;
}

/* A shared customer model through its const functions, and merged into a
 * model of this thread's own (cvm_customers_merge reads `src` only), whose
 * summary must be `want` (NULL: no check but the trace). */
static int read_customers(ctx *cx, const cvm_customers *c, const cols *want, size_t *idx)
{
    trace *t = &cx->tr;
    cvm_customers *mine = NULL;
    cvm_customers_options co = CVM_CUSTOMERS_OPTIONS_INIT;
    cols got;
    size_t i, n = cvm_customers_count(c), rows = cvm_customers_summary_rows(c);
    int rc;
    TR_U(t, n);
    TR_U(t, rows);
    TR_U(t, cvm_customers_transactions(c));
    TRY(cx, cvm_customers_summary_index(c, idx, rows));
    for (i = 0; i < rows; i++) {
        TR_U(t, idx[i]);
    }
    for (i = 0; i < n; i += 7) {
        const char *id;
        size_t len, back;
        TRY(cx, cvm_customers_id(c, i, &id, &len));
        TR_U(t, len);
        tr_bytes(t, id, len, __LINE__);
        TRY(cx, cvm_customers_find(c, id, len, &back));
        REQUIRE(cx, back == i);
    }
    TR_U(t, cvm_customers_find(c, "nobody", 6, &i));
    co.calibration_end = START + 52 * WEEK - 1;
    TRY(cx, cvm_customers_new(&mine, &co));
    rc = cvm_customers_merge(mine, c) == CVM_OK ? 0 : -1;
    if (rc == 0) {
        rc = cols_read(cx, mine, WEEK, START + 78 * WEEK - 1, &got);
        if (rc == 0 && want != NULL && !cols_equal(&got, want)) {
            rc = fail_at(cx, __LINE__, "merged summary differs from the shared one", CVM_OK, NULL);
        }
        if (rc == 0) {
            cols_trace(t, &got);
        }
        cols_free(&got);
    } else {
        fail_at(cx, __LINE__, "cvm_customers_merge", CVM_OK, cvm_customers_errmsg(mine));
    }
    cvm_customers_free(mine);
    return rc;
}

static int read_segmenters(ctx *cx, const shared *sh, int32_t *lab, int32_t *r, int32_t *f,
                           int32_t *m)
{
    trace *t = &cx->tr;
    const cols *s = &sh->s;
    cvm_kmeans_info ki;
    double bp[4], cent[12], sil = 0, cuts[8];
    size_t i, nseg = cvm_rfm_segment_count(sh->rfm);
    TRY(cx, cvm_rfm_score(sh->rfm, s->rec, s->x, s->m, s->n, r, f, m, cx->err, sizeof cx->err));
    TR_I(t, r, s->n);
    TR_I(t, f, s->n);
    TR_I(t, m, s->n);
    TRY(cx, cvm_rfm_segment(sh->rfm, r, f, m, s->n, lab, cx->err, sizeof cx->err));
    TR_I(t, lab, s->n);
    TRY(cx, cvm_rfm_fit_scores(sh->rfm, s->n, r, f, m));
    TR_I(t, r, s->n);
    TR_I(t, f, s->n);
    TR_I(t, m, s->n);
    for (i = 0; i < 3; i++) {
        TRY(cx, cvm_rfm_breakpoints(sh->rfm, (int32_t)i, bp, 4));
        TR_D(t, bp, 4);
    }
    TR_U(t, nseg);
    for (i = 0; i <= nseg; i++) {
        TR_S(t, cvm_rfm_segment_name(sh->rfm, i));
    }
    TRY(cx, cvm_kmeans_predict(sh->km, sh->X, s->n, 3, lab, cx->err, sizeof cx->err));
    TR_I(t, lab, s->n);
    ki.size = sizeof ki;
    TRY(cx, cvm_kmeans_info_get(sh->km, &ki));
    TR_1(t, ki.inertia);
    TR_U(t, ki.k);
    TR_U(t, ki.iterations);
    TRY(cx, cvm_kmeans_centroids(sh->km, cent, 12));
    TR_D(t, cent, 12);
    TRY(cx, cvm_kmeans_silhouette(sh->km, sh->X, s->n, 3, lab, 200, 9, &sil, cx->err,
                                  sizeof cx->err));
    TR_1(t, sil);
    TRY(cx, cvm_tiers_assign(sh->tiers, sh->clv_values, s->n, lab, cx->err, sizeof cx->err));
    TR_I(t, lab, s->n);
    TR_U(t, cvm_tiers_cut_count(sh->tiers));
    TRY(cx, cvm_tiers_cuts(sh->tiers, cuts, cvm_tiers_cut_count(sh->tiers)));
    TR_D(t, cuts, cvm_tiers_cut_count(sh->tiers));
    return 0;
}

static int read_all(ctx *cx, const shared *sh)
{
    trace *t = &cx->tr;
    size_t n = sh->s.n, i;
    double *out[4];
    int32_t *lab[4];
    size_t *idx = malloc(cvm_customers_count(sh->shuffled) * sizeof *idx);
    double p[4], se[4];
    cvm_fit_info fi;
    int rc = 0;
    for (i = 0; i < 4; i++) {
        out[i] = malloc((n > 64 ? n : 64) * sizeof(double));
        lab[i] = malloc(n * sizeof(int32_t));
        if (out[i] == NULL || lab[i] == NULL) {
            rc = -1;
        }
    }
    if (rc != 0 || idx == NULL) {
        rc = fail_at(cx, __LINE__, "out of memory", CVM_OK, NULL);
    }
    for (i = 0; i < 4 && rc == 0; i++) {
        const cols *c = i == CVM_MODEL_BGBB ? &sh->sb : &sh->s;
        fi.size = sizeof fi;
        if (cvm_clv_params(sh->clv[i], p, se, 4) != CVM_OK ||
            cvm_clv_info(sh->clv[i], &fi) != CVM_OK) {
            rc = fail_at(cx, __LINE__, "params", CVM_OK, NULL);
            break;
        }
        TR_D(t, p, 4);
        TR_D(t, se, 4);
        trace_fit(t, &fi);
        rc = predict_clv(cx, sh->clv[i], i == CVM_MODEL_BGBB ? NULL : sh->spend, c, out[0], out[1],
                         out[2], out[3]);
    }
    if (rc == 0) {
        fi.size = sizeof fi;
        TR_U(t, cvm_spend_params(sh->spend, p, se, 3));
        TR_D(t, p, 3);
        TR_U(t, cvm_spend_info(sh->spend, &fi));
        trace_fit(t, &fi);
        TR_U(t, cvm_retention_params(sh->ret, p, se, 2));
        TR_D(t, p, 2);
        TR_U(t, cvm_retention_info(sh->ret, &fi));
        trace_fit(t, &fi);
        rc = predict_others(cx, sh->spend, sh->ret, &sh->s, out[0]);
    }
    if (rc == 0) {
        rc = read_segmenters(cx, sh, lab[0], lab[1], lab[2], lab[3]);
    }
    if (rc == 0) {
        rc = trace_attribution(cx, sh->markov, 1);
    }
    if (rc == 0) {
        rc = trace_attribution(cx, sh->shapley, 0);
    }
    if (rc == 0) {
        rc = read_customers(cx, sh->c, &sh->s, idx);
    }
    if (rc == 0) {
        rc = read_customers(cx, sh->shuffled, NULL, idx);
    }
    if (rc == 0) {
        rc = read_free_functions(cx, sh, out[0], lab[0]);
    }
    if (rc == 0) {
        rc = read_errors(cx, sh);
    }
    for (i = 0; i < 4; i++) {
        free(out[i]);
        free(lab[i]);
    }
    free(idx);
    return rc;
}

static void *reader_thread(void *arg)
{
    reader *r = arg;
    int k;
    pthread_barrier_wait(r->go);
    for (k = 0; k < r->rounds && r->cx.fail[0] == '\0'; k++) {
        tr_free(&r->cx.tr);
        (void)read_all(&r->cx, r->sh);
    }
    return NULL;
}

/* Fit one handle of every kind, all on one thread-safe allocator. */
static int shared_build(ctx *cx, shared *sh)
{
    cvm_customers_options co = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_simulate_options so = CVM_SIMULATE_OPTIONS_INIT;
    cvm_clv_options lo = CVM_CLV_OPTIONS_INIT;
    cvm_model_options mo = CVM_MODEL_OPTIONS_INIT;
    cvm_rfm_options ro = CVM_RFM_OPTIONS_INIT;
    cvm_kmeans_options ko = CVM_KMEANS_OPTIONS_INIT;
    cvm_tiers_options to = CVM_TIERS_OPTIONS_INIT;
    cvm_attribution_options ao = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_attribution_run_options run = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    cvm_customers *bgbb = NULL;
    const double alive[8] = {1000, 631, 468, 382, 326, 289, 262, 241};
    journeys *jn;
    sink k;
    int32_t kind;
    int rc;
    atomic_init(&sh->counts.live, 0l);
    atomic_init(&sh->counts.calls, 0ul);
    sh->alloc.size = sizeof sh->alloc;
    sh->alloc.alloc = sa_alloc;
    sh->alloc.realloc = sa_realloc;
    sh->alloc.free = sa_free;
    sh->alloc.ud = &sh->counts;
    co.allocator = lo.allocator = mo.allocator = ro.allocator = ko.allocator = to.allocator =
        ao.allocator = &sh->alloc;

    co.calibration_end = START + 52 * WEEK - 1;
    so.seed = 77;
    so.customers = 600;
    TRY(cx, cvm_customers_new(&sh->c, &co));
    k.c = sh->c;
    k.csv = NULL;
    k.st = CVM_OK;
    TRY(cx, cvm_simulate(&so, sink_add, &k));
    TRY(cx, k.st);
    STEP(cx, cols_read(cx, sh->c, WEEK, START + 78 * WEEK - 1, &sh->s));
    TRY(cx, cvm_customers_new(&sh->shuffled, &co));
    {
        events ev = {0, 0, NULL, NULL, NULL};
        rc = cvm_simulate(&so, record_event, &ev) == CVM_OK ? 0 : -1;
        if (rc == 0) {
            rc = add_shuffled(cx, sh->shuffled, &ev);
        }
        events_free(&ev);
        REQUIRE(cx, rc == 0);
    }

    so.model = CVM_MODEL_BGBB;
    so.params[0] = 1.2;
    so.params[1] = 0.75;
    so.params[2] = 0.66;
    so.params[3] = 2.78;
    so.unit_seconds = YEAR;
    so.acquisition_seconds = 0;
    so.duration_seconds = 7 * YEAR;
    co.period_seconds = YEAR;
    co.period_origin = START;
    co.calibration_end = START + 7 * YEAR - 1;
    TRY(cx, cvm_customers_new(&bgbb, &co));
    k.c = bgbb;
    rc = cvm_simulate(&so, sink_add, &k) == CVM_OK && k.st == CVM_OK ? 0 : -1;
    if (rc == 0) {
        rc = cols_read(cx, bgbb, YEAR, CVM_TIME_NONE, &sh->sb);
    }
    cvm_customers_free(bgbb);
    REQUIRE(cx, rc == 0);

    for (kind = 0; kind < 4; kind++) {
        const cols *c = kind == CVM_MODEL_BGBB ? &sh->sb : &sh->s;
        lo.kind = kind;
        TRY(cx, cvm_clv_new(&sh->clv[kind], &lo));
        TRY_MSG(cx, cvm_clv_fit(sh->clv[kind], c->x, c->t_x, c->T, NULL, c->n, NULL),
                cvm_clv_errmsg(sh->clv[kind]));
    }
    TRY(cx, cvm_spend_new(&sh->spend, &mo));
    TRY(cx, cvm_spend_fit(sh->spend, sh->s.x, sh->s.m, NULL, sh->s.n, NULL));
    TRY(cx, cvm_retention_new(&sh->ret, &mo));
    TRY(cx, cvm_retention_fit(sh->ret, alive, 8, NULL));

    sh->p_alive = malloc(sh->s.n * sizeof(double));
    sh->clv_values = malloc(sh->s.n * sizeof(double));
    sh->X = features(&sh->s);
    REQUIRE(cx, sh->p_alive && sh->clv_values && sh->X);
    TRY(cx, cvm_clv_score(sh->clv[0], sh->spend, 52, NULL, sh->s.x, sh->s.t_x, sh->s.T, sh->s.m,
                          sh->s.n, sh->p_alive, NULL, NULL, sh->clv_values, cx->err,
                          sizeof cx->err));
    TRY(cx, cvm_rfm_new(&sh->rfm, &ro));
    TRY(cx, cvm_rfm_fit(sh->rfm, sh->s.rec, sh->s.x, sh->s.m, sh->s.n));
    ko.k = 4;
    ko.seed = 11;
    ko.scaling = CVM_SCALE_LOG1P_ZSCORE;
    TRY(cx, cvm_kmeans_new(&sh->km, &ko));
    TRY(cx, cvm_kmeans_fit(sh->km, sh->X, sh->s.n, 3, NULL, NULL));
    TRY(cx, cvm_tiers_new(&sh->tiers, &to));
    TRY(cx, cvm_tiers_fit(sh->tiers, sh->clv_values, sh->s.n, NULL));

    TRY(cx, cvm_attribution_new(&sh->markov, &ao));
    TRY(cx, cvm_attribution_new(&sh->shapley, &ao));
    jn = malloc(sizeof *jn);
    REQUIRE(cx, jn != NULL);
    make_journeys(jn, 5, 200);
    rc = add_journeys(cx, sh->markov, jn);
    if (rc == 0) {
        rc = add_journeys(cx, sh->shapley, jn);
    }
    free(jn);
    STEP(cx, rc);
    run.model = CVM_ATTR_MARKOV;
    TRY(cx, cvm_attribution_run(sh->markov, &run));
    run.model = CVM_ATTR_SHAPLEY;
    run.shapley = CVM_SHAPLEY_RATE;
    TRY(cx, cvm_attribution_run(sh->shapley, &run));
    return 0;
}

static void shared_free(shared *sh)
{
    size_t i;
    cvm_customers_free(sh->c);
    cvm_customers_free(sh->shuffled);
    for (i = 0; i < 4; i++) {
        cvm_clv_free(sh->clv[i]);
    }
    cvm_spend_free(sh->spend);
    cvm_retention_free(sh->ret);
    cvm_rfm_free(sh->rfm);
    cvm_kmeans_free(sh->km);
    cvm_tiers_free(sh->tiers);
    cvm_attribution_free(sh->markov);
    cvm_attribution_free(sh->shapley);
    cols_free(&sh->s);
    cols_free(&sh->sb);
    free(sh->X);
    free(sh->clv_values);
    free(sh->p_alive);
}

START_TEST(shared_handles_read_in_parallel)
{
    static shared sh;
    static reader ref, readers[NTHREADS];
    pthread_t tid[NTHREADS];
    pthread_barrier_t go;
    size_t i;
    char msg[512];
    memset(&sh, 0, sizeof sh);
    memset(&ref, 0, sizeof ref);
    shared_build(&ref.cx, &sh);
    ck_assert_msg(ref.cx.fail[0] == '\0', "building the shared handles: %s", ref.cx.fail);
    tr_free(&ref.cx.tr);
    read_all(&ref.cx, &sh);
    ck_assert_msg(ref.cx.fail[0] == '\0', "reference: %s", ref.cx.fail);
    ck_assert(ref.cx.tr.n > 10000);

    ck_assert_int_eq(pthread_barrier_init(&go, NULL, NTHREADS), 0);
    for (i = 0; i < NTHREADS; i++) {
        memset(&readers[i], 0, sizeof readers[i]);
        readers[i].sh = &sh;
        readers[i].go = &go;
        readers[i].rounds = READ_ROUNDS;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, reader_thread, &readers[i]), 0);
    }
    for (i = 0; i < NTHREADS; i++) {
        ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
    }
    pthread_barrier_destroy(&go);
    for (i = 0; i < NTHREADS; i++) {
        ck_assert_msg(readers[i].cx.fail[0] == '\0', "thread %zu: %s", i, readers[i].cx.fail);
        tr_compare(&readers[i].cx.tr, &ref.cx.tr, msg, sizeof msg);
        ck_assert_msg(msg[0] == '\0', "thread %zu against the reference: %s", i, msg);
        tr_free(&readers[i].cx.tr);
    }
    tr_free(&ref.cx.tr);
    /* Reading allocated from the shared allocator, and gave it all back. */
    ck_assert_int_gt((long)atomic_load(&sh.counts.calls), 0);
    shared_free(&sh);
    ck_assert_int_eq(atomic_load(&sh.counts.live), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    /* ThreadSanitizer slows the work down 5-15 times. */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, own_handles_in_parallel);
    tcase_add_test(tc, shared_handles_read_in_parallel);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
