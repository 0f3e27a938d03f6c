/* Allocation-failure sweeps (issue 7). Each representative workflow runs
 * with an allocator that fails its Nth call, for N = 1, 2, ... until the
 * workflow completes. Every run must return CVM_E_NOMEM (or succeed with the
 * right answer), free every block it took (counted here, and by LeakSanitizer
 * in sanitizer builds), say "out of memory" wherever the API keeps a message,
 * and leave no temporary file behind.
 *
 * Three modes: one failure per run; every allocation failing from the Nth on
 * (the cleanup after a first failure must not need memory); and one failure
 * per run after which the failed call is retried on the same handles with
 * memory available again: it must then succeed and the whole workflow must
 * give bit for bit the answer of an undisturbed run, so a failure cannot
 * leave a handle half changed. */
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WEEK INT64_C(604800)
#define MAX_N 100000 /* a sweep that needs more runs than this never completes */

/* ==== Input data, made once per test with libc's allocator ================ */

#define NCUST 120    /* simulated BG/NBD customers */
#define NBGBB 150    /* simulated BG/BB customers (6 opportunities) */
#define NPATHS 80    /* aggregated attribution paths */
#define NJOURNEYS 50 /* customers with touchpoints */
#define NCHANNELS 6

static const char *const channels[NCHANNELS] = { "email",  "search", "display, video",
                                                 "social", "direct", "affiliate" };

typedef struct touch {
    char id[16];
    int channel; /* -1: a conversion */
    int64_t time;
    double value;
} touch;

typedef struct fixture {
    char *dir;    /* inputs, and where workflows save snapshots */
    int entries;  /* files in dir between runs */
    char *tx_csv;  /* the transactions as a CSV file (see tx_csv_text()) */
    char *tx_text; /* and as a wide CSV text in memory */
    size_t tx_len;
    char *paths_csv;
    char *big; /* see big_snapshot() */
    /* Transactions in cvm_customers_add_batch()'s layout. */
    size_t ntx, idcap;
    char *ids;
    size_t *off;
    int64_t *time;
    double *amount;
    int64_t start, cal_end, obs_end;
    /* Calibration summary in weeks: one row per customer. */
    size_t n;
    double *x, *tx, *T, *m, *recency, *xh, *dur, *birth;
    /* The same from Pareto/NBD: fitted to BG/NBD data, whose customers
     * rarely drop out, its s and beta run off towards infinity, a fit a
     * hundred times slower. */
    size_t pn;
    double *px, *ptx, *pT;
    /* BG/BB: x, t_x and n = 6 opportunities per customer. */
    double bx[NBGBB], btx[NBGBB], bT[NBGBB];
    double twos[NBGBB > NCUST ? NBGBB : NCUST]; /* weights */
    /* Attribution. */
    char paths[NPATHS][96];
    double conv[NPATHS], value[NPATHS], nulls[NPATHS];
    touch touches[NJOURNEYS * 6];
    size_t ntouches;
} fixture;

static fixture fx;

static const double bgnbd_params[4] = { 0.243, 4.414, 0.793, 2.426 };
static const double pareto_params[4] = { 0.55, 10.58, 0.61, 11.67 };
static const double bgbb_params[4] = { 1.2035, 0.7497, 0.6567, 2.7834 };
static const double spend_params[3] = { 6.25, 3.74, 15.44 };
static const double cohort[8] = { 1000, 631, 468, 382, 326, 289, 262, 241 };

/* Ids exercise CSV quoting: some hold a comma, some a double quote. */
static int make_id(char *buf, size_t n, size_t customer)
{
    if (customer % 7 == 3) {
        return snprintf(buf, n, "c, %zu", customer);
    }
    if (customer % 11 == 5) {
        return snprintf(buf, n, "q\"%zu", customer);
    }
    return snprintf(buf, n, "c%zu", customer);
}

static int collect_tx(void *ud, size_t customer, int64_t time, double amount)
{
    char id[32];
    size_t len = (size_t)make_id(id, sizeof id, customer);
    (void)ud;
    if (fx.ntx % 256 == 0) {
        fx.off = realloc(fx.off, (fx.ntx + 257) * sizeof *fx.off);
        fx.time = realloc(fx.time, (fx.ntx + 256) * sizeof *fx.time);
        fx.amount = realloc(fx.amount, (fx.ntx + 256) * sizeof *fx.amount);
        ck_assert(fx.off && fx.time && fx.amount);
        if (fx.ntx == 0) {
            fx.off[0] = 0;
        }
    }
    if (fx.off[fx.ntx] + len > fx.idcap) {
        fx.idcap = fx.idcap * 2 + 4096;
        fx.ids = realloc(fx.ids, fx.idcap);
        ck_assert_ptr_nonnull(fx.ids);
    }
    memcpy(fx.ids + fx.off[fx.ntx], id, len);
    fx.off[fx.ntx + 1] = fx.off[fx.ntx] + len;
    fx.time[fx.ntx] = time;
    /* Whole cents, at least one: the CSV holds the same amounts, and a
     * repeat buyer's mean spend is never 0 (which Gamma-Gamma refuses). */
    fx.amount[fx.ntx] = round(amount * 100) / 100 + 0.01;
    fx.ntx++;
    return 0;
}

static int collect_bgbb(void *ud, size_t customer, int64_t time, double amount)
{
    double k = (double)((time - fx.start) / WEEK);
    (void)ud;
    (void)amount;
    if (k > 0) {
        fx.bx[customer] += 1;
        fx.btx[customer] = k;
    }
    return 0;
}

/* The transactions as CSV text: a header, ids always quoted. `wide` puts
 * them among 17 other columns (more fields than the reader first makes
 * room for) and ends lines with LF instead of CRLF. */
static char *tx_csv_text(int wide, size_t *n)
{
    const char *pad = wide ? "1,2,3,4,5,6,7,8," : "", *eol = wide ? "\n" : "\r\n";
    size_t i, cap = fx.ntx * (64 + 2 * strlen(pad)) + 256, len;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    len = (size_t)snprintf(s, cap, "%scustomer id,date,amount%s%s",
                           wide ? "a,b,c,d,e,f,g,h," : "", wide ? ",i,j,k,l,m,n,o,p,q" : "", eol);
    for (i = 0; i < fx.ntx; i++) {
        char date[16], id[64];
        size_t j, k = 0;
        for (j = fx.off[i]; j < fx.off[i + 1]; j++) {
            if (fx.ids[j] == '"') {
                id[k++] = '"';
            }
            id[k++] = fx.ids[j];
        }
        id[k] = '\0';
        ck_assert_int_eq(cvm_format_date(date, sizeof date, fx.time[i]), CVM_OK);
        len += (size_t)snprintf(s + len, cap - len, "%s\"%s\",%s,%.2f%s%s", pad, id, date,
                                fx.amount[i], wide ? ",9,8,7,6,5,4,3,2,1" : "", eol);
        ck_assert_uint_lt(len, cap);
    }
    *n = len;
    return s;
}

static void write_tx_csv(void)
{
    size_t len;
    char *text = tx_csv_text(0, &len);
    fx.tx_csv = tu_join(fx.dir, "tx.csv");
    tu_write_file(fx.tx_csv, text, len);
    free(text);
    fx.tx_text = tx_csv_text(1, &fx.tx_len);
}

static double *column(cvm_customers *c, const cvm_summary_options *so, int32_t col)
{
    double *v = malloc(fx.n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(cvm_customers_summary(c, so, col, v, fx.n), CVM_OK);
    return v;
}

static int add_simulated(void *ud, size_t customer, int64_t time, double amount)
{
    char id[32];
    size_t len = (size_t)make_id(id, sizeof id, customer);
    ck_assert_int_eq(cvm_customers_add(ud, id, len, time, amount), CVM_OK);
    return 0;
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void make_attribution_data(void)
{
    uint32_t s = 12345;
    size_t i, j;
    char *text = malloc(NPATHS * 128 + 128);
    size_t len;
    ck_assert_ptr_nonnull(text);
    len = (size_t)sprintf(text, "path,total_conversions,total_conversion_value,total_null\n");
    for (i = 0; i < NPATHS; i++) {
        size_t steps = 1 + lcg(&s) % 4, o = 0;
        for (j = 0; j < steps; j++) {
            o += (size_t)snprintf(fx.paths[i] + o, sizeof fx.paths[i] - o, "%s%s",
                                  j ? " > " : "", channels[lcg(&s) % NCHANNELS]);
        }
        fx.conv[i] = (double)(lcg(&s) % 4);
        fx.value[i] = fx.conv[i] * 12.5;
        fx.nulls[i] = (double)(1 + lcg(&s) % 5);
        len += (size_t)sprintf(text + len, "\"%s\",%g,%g,%g\n", fx.paths[i], fx.conv[i],
                               fx.value[i], fx.nulls[i]);
    }
    fx.paths_csv = tu_join(fx.dir, "paths.csv");
    tu_write_file(fx.paths_csv, text, len);
    free(text);
    for (i = 0; i < NJOURNEYS; i++) {
        size_t steps = 1 + lcg(&s) % 4;
        int64_t t = INT64_C(1700000000) + (int64_t)(lcg(&s) % 100000);
        for (j = 0; j < steps; j++) {
            touch *tp = &fx.touches[fx.ntouches++];
            snprintf(tp->id, sizeof tp->id, "u%zu", i);
            tp->channel = (int)(lcg(&s) % NCHANNELS);
            t += 3600 + (int64_t)(lcg(&s) % 86400);
            tp->time = t;
        }
        if (i % 3 != 2) {
            touch *tp = &fx.touches[fx.ntouches++];
            snprintf(tp->id, sizeof tp->id, "u%zu", i);
            tp->channel = -1;
            tp->time = t + 60;
            tp->value = 10 + (double)(i % 5);
        }
    }
}

static void fixture_setup(void)
{
    cvm_simulate_options so = CVM_SIMULATE_OPTIONS_INIT;
    cvm_customers_options co = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_summary_options sum = CVM_SUMMARY_OPTIONS_INIT;
    cvm_customers *c = NULL;
    size_t i;
    memset(&fx, 0, sizeof fx);
    fx.dir = tu_tmpdir_mem();
    fx.start = so.start;
    fx.cal_end = fx.start + 39 * WEEK - 1;
    fx.obs_end = fx.start + 78 * WEEK - 1;
    so.customers = NCUST;
    so.seed = 3; /* at 120 customers some seeds put b at infinity: 3 identifies it */
    ck_assert_int_eq(cvm_simulate(&so, collect_tx, NULL), CVM_OK);
    write_tx_csv();

    co.calibration_end = fx.cal_end;
    ck_assert_int_eq(cvm_customers_new(&c, &co), CVM_OK);
    ck_assert_int_eq(cvm_customers_add_batch(c, fx.ids, fx.off, fx.time, fx.amount, fx.ntx),
                     CVM_OK);
    fx.n = cvm_customers_summary_rows(c);
    ck_assert_uint_gt(fx.n, NCUST / 2);
    sum.unit_seconds = WEEK;
    sum.observation_end = fx.obs_end;
    fx.x = column(c, &sum, CVM_COL_FREQUENCY);
    fx.tx = column(c, &sum, CVM_COL_RECENCY);
    fx.T = column(c, &sum, CVM_COL_T);
    fx.m = column(c, &sum, CVM_COL_MONETARY);
    fx.xh = column(c, &sum, CVM_COL_FREQUENCY_HOLDOUT);
    fx.dur = column(c, &sum, CVM_COL_DURATION_HOLDOUT);
    fx.recency = malloc(fx.n * sizeof *fx.recency);
    fx.birth = malloc(fx.n * sizeof *fx.birth);
    ck_assert(fx.recency && fx.birth);
    for (i = 0; i < fx.n; i++) {
        fx.recency[i] = fx.T[i] - fx.tx[i];
        fx.birth[i] = 39.0 - fx.T[i];
    }
    cvm_customers_free(c);

    ck_assert_int_eq(cvm_customers_new(&c, &co), CVM_OK);
    so.model = CVM_MODEL_PARETO;
    memcpy(so.params, pareto_params, sizeof so.params);
    ck_assert_int_eq(cvm_simulate(&so, add_simulated, c), CVM_OK);
    fx.pn = cvm_customers_summary_rows(c);
    sum.observation_end = CVM_TIME_NONE;
    fx.px = malloc(3 * fx.pn * sizeof *fx.px);
    ck_assert_ptr_nonnull(fx.px);
    fx.ptx = fx.px + fx.pn;
    fx.pT = fx.ptx + fx.pn;
    ck_assert_int_eq(cvm_customers_summary(c, &sum, CVM_COL_FREQUENCY, fx.px, fx.pn), CVM_OK);
    ck_assert_int_eq(cvm_customers_summary(c, &sum, CVM_COL_RECENCY, fx.ptx, fx.pn), CVM_OK);
    ck_assert_int_eq(cvm_customers_summary(c, &sum, CVM_COL_T, fx.pT, fx.pn), CVM_OK);
    cvm_customers_free(c);

    so.model = CVM_MODEL_BGBB;
    so.customers = NBGBB;
    so.spend = 0;
    memcpy(so.params, bgbb_params, sizeof so.params);
    so.acquisition_seconds = 0;
    so.duration_seconds = 7 * WEEK;
    so.unit_seconds = WEEK;
    ck_assert_int_eq(cvm_simulate(&so, collect_bgbb, NULL), CVM_OK);
    for (i = 0; i < NBGBB; i++) {
        fx.bT[i] = 6;
    }
    for (i = 0; i < sizeof fx.twos / sizeof fx.twos[0]; i++) {
        fx.twos[i] = 2;
    }

    make_attribution_data();
    fx.entries = tu_count_entries(fx.dir);
}

static void fixture_teardown(void)
{
    free(fx.tx_csv);
    free(fx.tx_text);
    free(fx.paths_csv);
    free(fx.big);
    free(fx.ids);
    free(fx.off);
    free(fx.time);
    free(fx.amount);
    free(fx.x);
    free(fx.tx);
    free(fx.T);
    free(fx.m);
    free(fx.recency);
    free(fx.xh);
    free(fx.dur);
    free(fx.birth);
    free(fx.px);
    tu_remove_tree(fx.dir);
}

/* ==== The sweep driver ===================================================== */

/* One run of a workflow. */
typedef struct run {
    const char *name;
    size_t at;      /* the allocation made to fail (0: none) */
    size_t every;   /* and then every this many after it (0: no more) */
    tu_failing *fs;
    int retry;      /* retry a failed call with memory available again */
    uint64_t digest; /* FNV-1a of every result the workflow produced */
    char err[256];  /* errbuf of the calls that take one */
} run;

typedef cvm_status (*workflow)(const cvm_allocator *a, void *ctx);

static void mix(run *r, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;
    for (i = 0; i < n; i++) {
        r->digest = (r->digest ^ b[i]) * UINT64_C(1099511628211);
    }
}

#define MIX(r, v, count) mix((r), (v), (count) * sizeof *(v))

/* A call failed: it must have run out of memory and, when its API keeps a
 * message (`msg` not NULL), have said so. Returns 1 if it is to be retried. */
static int step_failed(run *r, cvm_status st, const char *msg, const char *call, int line)
{
    ck_assert_msg(r->at != 0, "%s, no allocation failing: line %d: %s: %s (%s)", r->name, line,
                  call, cvm_strerror(st), msg ? msg : "no message");
    ck_assert_msg(st == CVM_E_NOMEM, "%s, allocation %zu failing (every %zu): line %d: %s: %s (%s)",
                  r->name, r->at, r->every, line, call, cvm_strerror(st), msg ? msg : "no message");
    if (msg != NULL) {
        ck_assert_msg(strstr(msg, "out of memory") != NULL,
                      "%s, allocation %zu failing (every %zu): line %d: %s: message \"%s\" "
                      "does not say out of memory",
                      r->name, r->at, r->every, line, call, msg);
    }
    if (r->retry) {
        r->fs->fail_at = 0;
        return 1;
    }
    return 0;
}

static void retried(const run *r, cvm_status st, const char *msg, const char *call, int line)
{
    ck_assert_msg(st == CVM_OK,
                  "%s, allocation %zu failing: line %d: %s fails again with memory available: "
                  "%s (%s)",
                  r->name, r->at, line, call, cvm_strerror(st), msg ? msg : "no message");
}

/* Run `call`; when it fails, run `onfail` (checks of what a failure must
 * leave), check the failure and either retry the call or leave the
 * workflow through `done` with its status in `rc`. `msg` is evaluated only
 * after a failure: the handle's errmsg, r->err, or NULL where the API has
 * no message (constructors). */
#define STEP_OR(call, msg, onfail)                                                                 \
    do {                                                                                           \
        cvm_status st_;                                                                            \
        r->err[0] = '\0';                                                                          \
        st_ = (call);                                                                              \
        if (st_ != CVM_OK) {                                                                       \
            onfail;                                                                                \
            if (step_failed(r, st_, (msg), #call, __LINE__)) {                                     \
                r->err[0] = '\0';                                                                  \
                st_ = (call);                                                                      \
                retried(r, st_, (msg), #call, __LINE__);                                           \
            }                                                                                      \
        }                                                                                          \
        if (st_ != CVM_OK) {                                                                       \
            rc = st_;                                                                              \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

#define STEP(call, msg) STEP_OR(call, msg, (void)0)

/* A constructor or loader: on failure the handle must be NULL. */
#define MAKE(h, call, msg)                                                                         \
    STEP_OR(call, msg, ck_assert_msg((h) == NULL, "%s: a failed %s left a handle", r->name, #call))

static void run_reset(run *r, const char *name, tu_failing *fs, size_t at, size_t every, int retry)
{
    memset(fs, 0, sizeof *fs);
    fs->fail_at = at;
    fs->every = every;
    memset(r, 0, sizeof *r);
    r->name = name;
    r->at = at;
    r->every = every;
    r->fs = fs;
    r->retry = retry;
    r->digest = UINT64_C(14695981039346656037);
}

/* Run `wf` failing allocation N = 1, 2, ... (and, with `every`, every
 * `every`-th after it) until a run makes fewer than N allocations. With
 * `retry`, each failed call is retried once memory is back. Set
 * CVM_OOM_VERBOSE to see how many allocations each sweep failed. */
static void sweep(const char *name, workflow wf, size_t every, int retry)
{
    tu_failing fs;
    cvm_allocator a = tu_failing_allocator(&fs);
    run r;
    uint64_t want;
    size_t n, allocs, tolerated = 0;
    cvm_status st;
    clock_t t0 = clock();

    run_reset(&r, name, &fs, 0, 0, 0);
    st = wf(&a, &r);
    ck_assert_msg(st == CVM_OK, "%s fails with no failure injected: %s", name, cvm_strerror(st));
    ck_assert_msg(fs.live == 0, "%s leaks %ld blocks with no failure injected", name, fs.live);
    /* With no allocation the sweep would prove nothing. */
    ck_assert_msg(fs.calls > 0, "%s makes no allocation", name);
    want = r.digest;
    allocs = fs.calls;

    for (n = 1; n <= MAX_N; n++) {
        run_reset(&r, name, &fs, n, every, retry);
        st = wf(&a, &r);
        ck_assert_msg(fs.live == 0,
                      "%s, allocation %zu failing (every %zu, retry %d): %ld blocks leaked",
                      name, n, every, retry, fs.live);
        ck_assert_msg(tu_count_entries(fx.dir) == fx.entries,
                      "%s, allocation %zu failing (every %zu, retry %d): files left in %s", name, n,
                      every, retry, fx.dir);
        if (fs.calls < n) {
            ck_assert_msg(st == CVM_OK, "%s: %s with no failure injected", name, cvm_strerror(st));
            break;
        }
        if (retry || st == CVM_OK) {
            /* A failure the library absorbed, or one retried, must not
             * change the answer. */
            ck_assert_msg(st == CVM_OK, "%s, allocation %zu failing, retried: %s", name, n,
                          cvm_strerror(st));
            ck_assert_msg(r.digest == want, "%s, allocation %zu failing (every %zu, retry %d): "
                          "results differ from an undisturbed run", name, n, every, retry);
            tolerated += !retry;
        } else {
            ck_assert_msg(st == CVM_E_NOMEM, "%s, allocation %zu failing (every %zu): returned %s",
                          name, n, every, cvm_strerror(st));
        }
    }
    ck_assert_msg(n <= MAX_N, "%s never completes within %d allocations", name, MAX_N);
    if (!retry) {
        ck_assert_msg(n == allocs + 1, "%s: %zu allocations in an undisturbed run but %zu in the "
                      "sweep: the workflow is not deterministic", name, allocs, n - 1);
    }
    if (getenv("CVM_OOM_VERBOSE") != NULL) {
        fprintf(stderr, "oom: %-20s every %zu retry %d: N = 1..%zu, %zu absorbed, %.2f s\n", name,
                every, retry, n - 1, tolerated, (double)(clock() - t0) / CLOCKS_PER_SEC);
    }
}

/* The three modes: one failure, a failure retried, everything failing
 * from the Nth allocation on. */
static void sweep_all(const char *name, workflow wf)
{
    sweep(name, wf, 0, 0);
    sweep(name, wf, 0, 1);
    sweep(name, wf, 1, 0);
}

/* ==== Shared pieces of the workflows ======================================= */

/* Everything a customer model holds, into the digest. Summaries may
 * allocate, so they are steps too. */
static cvm_status mix_summary(run *r, cvm_customers *c)
{
    cvm_summary_options so = CVM_SUMMARY_OPTIONS_INIT;
    size_t rows = cvm_customers_summary_rows(c), count = cvm_customers_count(c);
    size_t tx = cvm_customers_transactions(c), i;
    double *v = malloc((rows ? rows : 1) * sizeof *v);
    cvm_status rc = CVM_OK;
    int32_t col;
    ck_assert_ptr_nonnull(v);
    MIX(r, &rows, 1);
    MIX(r, &count, 1);
    MIX(r, &tx, 1);
    so.unit_seconds = WEEK;
    so.observation_end = fx.obs_end;
    for (col = 0; col < CVM_COL_COUNT; col++) {
        STEP(cvm_customers_summary(c, &so, col, v, rows), cvm_customers_errmsg(c));
        MIX(r, v, rows);
    }
    for (i = 0; i < count; i++) {
        const char *id;
        size_t len;
        ck_assert_int_eq(cvm_customers_id(c, i, &id, &len), CVM_OK);
        mix(r, id, len);
    }
done:
    free(v);
    return rc;
}

static cvm_status new_customers(run *r, cvm_customers **c, const cvm_allocator *a)
{
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_status rc = CVM_OK;
    o.allocator = a;
    o.calibration_end = fx.cal_end;
    STEP_OR(cvm_customers_new(c, &o), NULL, ck_assert_ptr_null(*c));
done:
    return rc;
}

/* ==== Customers ============================================================ */

static cvm_status wf_load_csv(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_csv_options co = CVM_CSV_OPTIONS_INIT;
    cvm_customers *c = NULL, *b = NULL;
    cvm_status rc;
    size_t i;
    co.id_column = "customer id";
    co.date_column = "date";
    co.amount_column = "amount";
    co.date_format = CVM_DATE_ISO;
    if ((rc = new_customers(r, &c, a)) != CVM_OK || (rc = new_customers(r, &b, a)) != CVM_OK) {
        goto done;
    }
    STEP(cvm_customers_load_csv(c, fx.tx_csv, &co), cvm_customers_errmsg(c));
    STEP(cvm_customers_load_csv_buffer(b, fx.tx_text, fx.tx_len, "buffer", &co),
         cvm_customers_errmsg(b));
    STEP(cvm_customers_find(c, "c, 3", 4, &i), cvm_customers_errmsg(c));
    MIX(r, &i, 1);
    STEP(cvm_customers_find(b, "q\"5", 3, &i), cvm_customers_errmsg(b));
    MIX(r, &i, 1);
    ck_assert_uint_eq(cvm_customers_transactions(c), fx.ntx);
    ck_assert_uint_eq(cvm_customers_transactions(b), fx.ntx);
    if ((rc = mix_summary(r, c)) == CVM_OK) {
        rc = mix_summary(r, b);
    }
done:
    cvm_customers_free(c);
    cvm_customers_free(b);
    return rc;
}

/* Half the transactions one by one, half as a batch into a second model,
 * merged; then every summary column, calibration and holdout, and rows. */
static cvm_status wf_summary(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_summary_options so = CVM_SUMMARY_OPTIONS_INIT;
    cvm_customers *c = NULL, *d = NULL;
    cvm_status rc;
    size_t i, half = fx.ntx / 2, rows;
    double *v = NULL, row[CVM_COL_COUNT];
    size_t *index = NULL;
    int32_t col;
    if ((rc = new_customers(r, &c, a)) != CVM_OK || (rc = new_customers(r, &d, a)) != CVM_OK) {
        goto done;
    }
    /* Even transactions first, then odd: purchases landing between a
     * customer's first and last period leave counts to settle on the next
     * read, which allocates. */
    for (i = 0; i < 2 * half; i++) {
        size_t j = i < half ? 2 * i : 2 * (i - half) + 1;
        if (j >= half) {
            continue;
        }
        STEP(cvm_customers_add(c, fx.ids + fx.off[j], fx.off[j + 1] - fx.off[j], fx.time[j],
                               fx.amount[j]),
             cvm_customers_errmsg(c));
    }
    {
        /* add_batch wants offsets starting anywhere: rebase on the first. */
        size_t k = fx.ntx - half;
        size_t *off = malloc((k + 1) * sizeof *off);
        cvm_status st;
        ck_assert_ptr_nonnull(off);
        for (i = 0; i <= k; i++) {
            off[i] = fx.off[half + i] - fx.off[half];
        }
        r->err[0] = '\0';
        st = cvm_customers_add_batch(d, fx.ids + fx.off[half], off, fx.time + half,
                                     fx.amount + half, k);
        if (st != CVM_OK &&
            step_failed(r, st, cvm_customers_errmsg(d), "cvm_customers_add_batch", __LINE__)) {
            st = cvm_customers_add_batch(d, fx.ids + fx.off[half], off, fx.time + half,
                                         fx.amount + half, k);
            retried(r, st, cvm_customers_errmsg(d), "cvm_customers_add_batch", __LINE__);
        }
        free(off);
        if (st != CVM_OK) {
            rc = st;
            goto done;
        }
    }
    STEP(cvm_customers_merge(c, d), cvm_customers_errmsg(c));
    rows = cvm_customers_summary_rows(c);
    ck_assert_uint_eq(rows, fx.n);
    v = malloc(rows * sizeof *v);
    index = malloc(rows * sizeof *index);
    ck_assert(v && index);
    so.unit_seconds = WEEK;
    so.observation_end = fx.obs_end;
    for (col = 0; col < CVM_COL_COUNT; col++) {
        STEP(cvm_customers_summary(c, &so, col, v, rows), cvm_customers_errmsg(c));
        MIX(r, v, rows);
    }
    STEP(cvm_customers_summary(c, NULL, CVM_COL_FREQUENCY, v, rows), cvm_customers_errmsg(c));
    MIX(r, v, rows);
    {
        /* Customers are numbered in order of first appearance, which the
         * interleaved adds changed: compare totals. */
        double got = 0, want = 0;
        for (i = 0; i < rows; i++) {
            got += v[i];
            want += fx.x[i];
        }
        ck_assert(got == want);
    }
    STEP(cvm_customers_summary_index(c, index, rows), cvm_customers_errmsg(c));
    MIX(r, index, rows);
    for (i = 0; i < rows; i += 7) {
        STEP(cvm_customers_row(c, index[i], &so, row, CVM_COL_COUNT), cvm_customers_errmsg(c));
        MIX(r, row, CVM_COL_COUNT);
    }
done:
    free(v);
    free(index);
    cvm_customers_free(c);
    cvm_customers_free(d);
    return rc;
}

typedef struct sim_sink {
    run *r;
    cvm_customers *c;
    cvm_status st;
} sim_sink;

static int sim_add(void *ud, size_t customer, int64_t time, double amount)
{
    sim_sink *s = ud;
    char id[32];
    size_t len = (size_t)make_id(id, sizeof id, customer);
    cvm_status st = cvm_customers_add(s->c, id, len, time, amount);
    if (st != CVM_OK &&
        step_failed(s->r, st, cvm_customers_errmsg(s->c), "cvm_customers_add", __LINE__)) {
        st = cvm_customers_add(s->c, id, len, time, amount);
        retried(s->r, st, cvm_customers_errmsg(s->c), "cvm_customers_add", __LINE__);
    }
    s->st = st;
    return st != CVM_OK;
}

/* cvm_simulate() allocates nothing itself: what is swept is a simulation
 * feeding a model, stopped by the first failure. */
static cvm_status wf_simulate(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_simulate_options so = CVM_SIMULATE_OPTIONS_INIT;
    sim_sink s = { r, NULL, CVM_OK };
    cvm_status rc;
    if ((rc = new_customers(r, &s.c, a)) != CVM_OK) {
        goto done;
    }
    so.customers = NCUST;
    so.seed = 1;
    so.model = CVM_MODEL_PARETO;
    memcpy(so.params, pareto_params, sizeof so.params);
    STEP(cvm_simulate(&so, sim_add, &s), NULL);
    rc = s.st;
    if (rc == CVM_OK) {
        rc = mix_summary(r, s.c);
    }
done:
    cvm_customers_free(s.c);
    return rc;
}

/* ==== Fitting ================================================================ */

static void mix_info(run *r, const cvm_fit_info *info)
{
    MIX(r, &info->loglik, 1);
    MIX(r, &info->iterations, 1);
    MIX(r, &info->patterns, 1);
    ck_assert_int_eq(info->converged, 1);
}

static void kept(const cvm_fit_info *was, const cvm_fit_info *now, const double *p,
                 const double *q, const double *se, const double *qe, size_t np)
{
    ck_assert_msg(memcmp(p, q, np * sizeof *p) == 0 && memcmp(se, qe, np * sizeof *se) == 0 &&
                      now->fitted == 1 && now->loglik == was->loglik &&
                      now->weight == was->weight && now->rows == was->rows,
                  "a fit that failed changed the model");
}

static void clv_kept(const cvm_clv *m, const double *p, const double *se, const cvm_fit_info *was)
{
    cvm_fit_info now = { sizeof now, 0, 0, 0, 0, 0, 0, 0, 0 };
    double q[4], qe[4];
    ck_assert_int_eq(cvm_clv_params(m, q, qe, 4), CVM_OK);
    ck_assert_int_eq(cvm_clv_info(m, &now), CVM_OK);
    kept(was, &now, p, q, se, qe, 4);
}

static void spend_kept(const cvm_spend *m, const double *p, const double *se,
                       const cvm_fit_info *was)
{
    cvm_fit_info now = { sizeof now, 0, 0, 0, 0, 0, 0, 0, 0 };
    double q[3], qe[3];
    ck_assert_int_eq(cvm_spend_params(m, q, qe, 3), CVM_OK);
    ck_assert_int_eq(cvm_spend_info(m, &now), CVM_OK);
    kept(was, &now, p, q, se, qe, 3);
}

static cvm_status fit_clv(run *r, const cvm_allocator *a, int32_t kind)
{
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    cvm_fit_info info = { sizeof info, 0, 0, 0, 0, 0, 0, 0, 0 };
    cvm_clv *m = NULL;
    cvm_status rc = CVM_OK;
    double p[4], se[4], *ll = malloc(fx.n * sizeof *ll), total;
    const double *x = fx.x, *tx = fx.tx, *T = fx.T;
    size_t n = fx.n;
    ck_assert_ptr_nonnull(ll);
    if (kind == CVM_MODEL_BGBB) {
        x = fx.bx;
        tx = fx.btx;
        T = fx.bT;
        n = NBGBB;
    } else if (kind == CVM_MODEL_PARETO) {
        x = fx.px;
        tx = fx.ptx;
        T = fx.pT;
        n = fx.pn;
    }
    o.allocator = a;
    o.kind = kind;
    MAKE(m, cvm_clv_new(&m, &o), NULL);
    STEP(cvm_clv_fit(m, x, tx, T, NULL, n, NULL), cvm_clv_errmsg(m));
    STEP(cvm_clv_params(m, p, se, 4), cvm_clv_errmsg(m));
    MIX(r, p, 4);
    MIX(r, se, 4);
    STEP(cvm_clv_info(m, &info), cvm_clv_errmsg(m));
    mix_info(r, &info);
    STEP(cvm_clv_loglik(m, x, tx, T, n < fx.n ? n : fx.n, ll, &total, r->err, sizeof r->err),
         r->err);
    MIX(r, &total, 1);
    /* Refitted with every row counting twice; failing, it keeps the fit. */
    STEP_OR(cvm_clv_fit(m, x, tx, T, fx.twos, n, NULL), cvm_clv_errmsg(m),
            clv_kept(m, p, se, &info));
    STEP(cvm_clv_info(m, &info), cvm_clv_errmsg(m));
    mix_info(r, &info);
done:
    free(ll);
    cvm_clv_free(m);
    return rc;
}

static cvm_status wf_fit_bgnbd(const cvm_allocator *a, void *ctx)
{
    return fit_clv(ctx, a, CVM_MODEL_BGNBD);
}

static cvm_status wf_fit_pareto(const cvm_allocator *a, void *ctx)
{
    return fit_clv(ctx, a, CVM_MODEL_PARETO);
}

static cvm_status wf_fit_mbgnbd(const cvm_allocator *a, void *ctx)
{
    return fit_clv(ctx, a, CVM_MODEL_MBGNBD);
}

static cvm_status wf_fit_bgbb(const cvm_allocator *a, void *ctx)
{
    return fit_clv(ctx, a, CVM_MODEL_BGBB);
}

static cvm_status wf_fit_spend(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_model_options o = CVM_MODEL_OPTIONS_INIT;
    cvm_fit_info info = { sizeof info, 0, 0, 0, 0, 0, 0, 0, 0 };
    cvm_spend *s = NULL;
    cvm_status rc = CVM_OK;
    double p[3], se[3], *e = malloc(fx.n * sizeof *e);
    ck_assert_ptr_nonnull(e);
    o.allocator = a;
    MAKE(s, cvm_spend_new(&s, &o), NULL);
    STEP(cvm_spend_fit(s, fx.x, fx.m, NULL, fx.n, NULL), cvm_spend_errmsg(s));
    STEP(cvm_spend_params(s, p, se, 3), cvm_spend_errmsg(s));
    MIX(r, p, 3);
    MIX(r, se, 3);
    STEP(cvm_spend_info(s, &info), cvm_spend_errmsg(s));
    mix_info(r, &info);
    STEP(cvm_spend_expected(s, fx.x, fx.m, fx.n, e, r->err, sizeof r->err), r->err);
    MIX(r, e, fx.n);
    STEP_OR(cvm_spend_fit(s, fx.x, fx.m, fx.twos, fx.n, NULL), cvm_spend_errmsg(s),
            spend_kept(s, p, se, &info));
    STEP(cvm_spend_info(s, &info), cvm_spend_errmsg(s));
    mix_info(r, &info);
done:
    free(e);
    cvm_spend_free(s);
    return rc;
}

static cvm_status wf_fit_retention(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_model_options o = CVM_MODEL_OPTIONS_INIT;
    cvm_fit_info info = { sizeof info, 0, 0, 0, 0, 0, 0, 0, 0 };
    cvm_retention *ret = NULL;
    cvm_status rc = CVM_OK;
    const double t[5] = { 0, 1, 2, 7.5, 20 };
    double p[2], se[2], out[5], life;
    o.allocator = a;
    MAKE(ret, cvm_retention_new(&ret, &o), NULL);
    STEP(cvm_retention_fit(ret, cohort, 8, NULL), cvm_retention_errmsg(ret));
    STEP(cvm_retention_params(ret, p, se, 2), cvm_retention_errmsg(ret));
    MIX(r, p, 2);
    MIX(r, se, 2);
    STEP(cvm_retention_info(ret, &info), cvm_retention_errmsg(ret));
    mix_info(r, &info);
    STEP(cvm_retention_survival(ret, t, 5, out, r->err, sizeof r->err), r->err);
    MIX(r, out, 5);
    STEP(cvm_retention_rate(ret, t + 1, 4, out, r->err, sizeof r->err), r->err);
    MIX(r, out, 4);
    STEP(cvm_retention_lifetime(ret, 0.1, &life, r->err, sizeof r->err), r->err);
    MIX(r, &life, 1);
done:
    cvm_retention_free(ret);
    return rc;
}

/* ==== Predicting =========================================================== */

/* Every prediction of one model kind, from set parameters. */
static cvm_status predict_kind(run *r, const cvm_allocator *a, int32_t kind)
{
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    cvm_model_options mo = CVM_MODEL_OPTIONS_INIT;
    cvm_value_options vo = CVM_VALUE_OPTIONS_INIT;
    cvm_holdout_report rep;
    cvm_clv *m = NULL;
    cvm_spend *s = NULL;
    cvm_status rc = CVM_OK;
    const double *x = fx.x, *tx = fx.tx, *T = fx.T, *params = bgnbd_params;
    const double t[4] = { 1, 2, 5, 13 }, k[4] = { 0, 1, 2, 3 };
    const double *dur = fx.dur, *actual = fx.xh, *birth = fx.birth;
    double times[6] = { 4, 8, 16, 32, 39, 52 }, small[6];
    double *buf = malloc(8 * fx.n * sizeof *buf), *pa = buf, *ex = buf + fx.n, *ev = ex + fx.n;
    double *clv = ev + fx.n, *mon = clv + fx.n, *bdur = mon + fx.n, *bact = bdur + fx.n;
    double *bbirth = bact + fx.n;
    double horizon = 13;
    size_t n = fx.n, i;
    ck_assert_ptr_nonnull(buf);
    memcpy(mon, fx.m, n * sizeof *mon);
    if (kind == CVM_MODEL_PARETO) {
        params = pareto_params;
    } else if (kind == CVM_MODEL_BGBB) {
        x = fx.bx;
        tx = fx.btx;
        T = fx.bT;
        n = NBGBB < fx.n ? NBGBB : fx.n;
        params = bgbb_params;
        horizon = 3;
        /* Whole opportunities throughout; BG/BB rows have no holdout of
         * their own, so any counts do. */
        for (i = 0; i < n; i++) {
            bdur[i] = (double)(1 + i % 4);
            bact[i] = (double)(i % 3);
            bbirth[i] = (double)(i % 2);
            mon[i] = fx.bx[i] > 0 ? 20 + (double)(i % 9) : 0;
        }
        for (i = 0; i < 6; i++) {
            times[i] = (double)(i + 1);
        }
        dur = bdur;
        actual = bact;
        birth = bbirth;
    }
    o.allocator = a;
    o.kind = kind;
    mo.allocator = a;
    vo.periods = 8;
    MAKE(m, cvm_clv_new(&m, &o), NULL);
    STEP(cvm_clv_set_params(m, params, 4), cvm_clv_errmsg(m));
    MAKE(s, cvm_spend_new(&s, &mo), NULL);
    STEP(cvm_spend_set_params(s, spend_params, 3), cvm_spend_errmsg(s));
    STEP(cvm_clv_p_alive(m, x, tx, T, n, pa, r->err, sizeof r->err), r->err);
    MIX(r, pa, n);
    STEP(cvm_clv_expected(m, horizon, x, tx, T, n, ex, r->err, sizeof r->err), r->err);
    MIX(r, ex, n);
    STEP(cvm_clv_expected_new(m, t, 4, small, r->err, sizeof r->err), r->err);
    MIX(r, small, 4);
    STEP(cvm_clv_prob_count(m, t, k, 4, small, r->err, sizeof r->err), r->err);
    MIX(r, small, 4);
    rep.size = sizeof rep;
    STEP(cvm_clv_holdout(m, x, tx, T, dur, actual, n, ex, &rep, r->err, sizeof r->err), r->err);
    MIX(r, ex, n);
    MIX(r, &rep.rmse, 1);
    STEP(cvm_clv_holdout(m, x, tx, T, dur, actual, n, NULL, &rep, r->err, sizeof r->err), r->err);
    MIX(r, &rep.mae, 1);
    STEP(cvm_clv_tracking(m, birth, NULL, n, times, 6, small, r->err, sizeof r->err), r->err);
    MIX(r, small, 6);
    STEP(cvm_spend_expected(s, x, mon, n, ev, r->err, sizeof r->err), r->err);
    MIX(r, ev, n);
    STEP(cvm_clv_value(m, s, &vo, x, tx, T, mon, n, clv, r->err, sizeof r->err), r->err);
    MIX(r, clv, n);
    STEP(cvm_clv_value(m, NULL, NULL, x, tx, T, mon, n, clv, r->err, sizeof r->err), r->err);
    MIX(r, clv, n);
    STEP(cvm_clv_score(m, s, horizon, &vo, x, tx, T, mon, n, pa, ex, ev, clv, r->err,
                       sizeof r->err),
         r->err);
    MIX(r, pa, n);
    MIX(r, ex, n);
    MIX(r, ev, n);
    MIX(r, clv, n);
    STEP(cvm_clv_score(m, NULL, horizon, NULL, x, tx, T, NULL, n, NULL, ex, NULL, NULL, r->err,
                       sizeof r->err),
         r->err);
    MIX(r, ex, n);
done:
    free(buf);
    cvm_spend_free(s);
    cvm_clv_free(m);
    return rc;
}

/* Scoring keeps a table of distinct (x, T) pairs: enough of them that it
 * grows. */
#define NDISTINCT 2100

static cvm_status score_many(run *r, const cvm_allocator *a)
{
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    cvm_clv *m = NULL;
    cvm_status rc = CVM_OK;
    double *x = malloc(4 * NDISTINCT * sizeof *x), *tx = x + NDISTINCT, *T = tx + NDISTINCT;
    double *ex = T + NDISTINCT;
    size_t i;
    ck_assert_ptr_nonnull(x);
    for (i = 0; i < NDISTINCT; i++) {
        x[i] = (double)(i % 7);
        T[i] = 10 + (double)i * 1e-3;
        tx[i] = x[i] > 0 ? T[i] / 2 : 0;
    }
    o.allocator = a;
    MAKE(m, cvm_clv_new(&m, &o), NULL);
    STEP(cvm_clv_set_params(m, bgnbd_params, 4), cvm_clv_errmsg(m));
    STEP(cvm_clv_score(m, NULL, 13, NULL, x, tx, T, NULL, NDISTINCT, NULL, ex, NULL, NULL, r->err,
                       sizeof r->err),
         r->err);
    MIX(r, ex, NDISTINCT);
done:
    free(x);
    cvm_clv_free(m);
    return rc;
}

static cvm_status wf_predict(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_customers *c = NULL;
    cvm_status rc;
    double curve[20];
    int32_t kind;
    for (kind = CVM_MODEL_BGNBD; kind <= CVM_MODEL_BGBB; kind++) {
        if ((rc = predict_kind(r, a, kind)) != CVM_OK) {
            return rc;
        }
    }
    if ((rc = score_many(r, a)) != CVM_OK) {
        return rc;
    }
    if ((rc = new_customers(r, &c, a)) != CVM_OK) {
        goto done;
    }
    STEP(cvm_customers_add_batch(c, fx.ids, fx.off, fx.time, fx.amount, fx.ntx),
         cvm_customers_errmsg(c));
    STEP(cvm_customers_repeat_curve(c, fx.start, 4 * WEEK, curve, 20), cvm_customers_errmsg(c));
    MIX(r, curve, 20);
done:
    cvm_customers_free(c);
    return rc;
}

/* ==== Segmenting ============================================================ */

/* The fit's breakpoints `bp` (3 x 4) and the n rows' scores `sc` (r, f and
 * m columns) are still those of `rfm`. */
static void rfm_kept(const cvm_rfm *rfm, const double *bp, const int32_t *sc, size_t n)
{
    double now[12];
    int32_t *s = malloc(3 * n * sizeof *s);
    int32_t i;
    ck_assert_ptr_nonnull(s);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(cvm_rfm_breakpoints(rfm, i, now + 4 * i, 4), CVM_OK);
    }
    ck_assert_int_eq(cvm_rfm_fit_scores(rfm, n, s, s + n, s + 2 * n), CVM_OK);
    ck_assert_msg(memcmp(bp, now, sizeof now) == 0 && memcmp(s, sc, 3 * n * sizeof *s) == 0,
                  "an RFM fit that failed changed the handle");
    free(s);
}

static cvm_status rfm_ties(run *r, const cvm_allocator *a, int32_t ties)
{
    static const cvm_rfm_rule rules[3] = {
        { "best", 4, 5, 4, 5, 1, 5 }, { "new", 4, 5, 1, 2, 1, 5 }, { "gone", 1, 2, 1, 5, 1, 5 }
    };
    cvm_rfm_options o = CVM_RFM_OPTIONS_INIT;
    cvm_rfm *rfm = NULL;
    cvm_status rc = CVM_OK;
    size_t n = fx.n, nseg, i;
    int32_t *sc = malloc(7 * n * sizeof *sc), *rs = sc, *fs = rs + n, *ms = fs + n, *seg = ms + n;
    int32_t *fitted = seg + n;
    double bp[12];
    cvm_segment_profile *prof = NULL;
    ck_assert_ptr_nonnull(sc);
    o.allocator = a;
    o.ties = ties;
    MAKE(rfm, cvm_rfm_new(&rfm, &o), NULL);
    STEP(cvm_rfm_fit(rfm, fx.recency, fx.x, fx.m, n), cvm_rfm_errmsg(rfm));
    STEP(cvm_rfm_fit_scores(rfm, n, rs, fs, ms), cvm_rfm_errmsg(rfm));
    MIX(r, sc, 3 * n);
    memcpy(fitted, sc, 3 * n * sizeof *sc);
    STEP(cvm_rfm_score(rfm, fx.recency, fx.x, fx.m, n, rs, fs, ms, r->err, sizeof r->err), r->err);
    MIX(r, sc, 3 * n);
    for (i = 0; i < 3; i++) {
        STEP(cvm_rfm_breakpoints(rfm, (int32_t)i, bp + 4 * i, 4), cvm_rfm_errmsg(rfm));
    }
    MIX(r, bp, 12);
    STEP(cvm_rfm_segment(rfm, rs, fs, ms, n, seg, r->err, sizeof r->err), r->err);
    MIX(r, seg, n);
    nseg = cvm_rfm_segment_count(rfm);
    STEP_OR(cvm_rfm_set_rules(rfm, rules, 3), cvm_rfm_errmsg(rfm),
            ck_assert_uint_eq(cvm_rfm_segment_count(rfm), nseg));
    /* Refitted to half the rows; failing, it keeps the first fit. */
    STEP_OR(cvm_rfm_fit(rfm, fx.recency, fx.x, fx.m, n / 2), cvm_rfm_errmsg(rfm),
            rfm_kept(rfm, bp, fitted, n));
    for (i = 0; i < 3; i++) {
        STEP(cvm_rfm_breakpoints(rfm, (int32_t)i, bp + 4 * i, 4), cvm_rfm_errmsg(rfm));
    }
    MIX(r, bp, 12);
    nseg = cvm_rfm_segment_count(rfm);
    ck_assert_uint_eq(nseg, 4);
    for (i = 0; i < nseg; i++) {
        const char *name = cvm_rfm_segment_name(rfm, i);
        mix(r, name, strlen(name));
    }
    STEP(cvm_rfm_segment(rfm, rs, fs, ms, n, seg, r->err, sizeof r->err), r->err);
    MIX(r, seg, n);
    prof = calloc(nseg, sizeof *prof);
    ck_assert_ptr_nonnull(prof);
    for (i = 0; i < nseg; i++) {
        prof[i].size = sizeof *prof;
    }
    STEP(cvm_segment_profiles(seg, n, nseg, fx.recency, fx.x, fx.m, NULL, NULL, prof, r->err,
                              sizeof r->err),
         r->err);
    for (i = 0; i < nseg; i++) {
        MIX(r, &prof[i].mean_monetary, 1);
    }
done:
    free(prof);
    free(sc);
    cvm_rfm_free(rfm);
    return rc;
}

static cvm_status wf_segment_rfm(const cvm_allocator *a, void *ctx)
{
    cvm_status rc = rfm_ties(ctx, a, CVM_RFM_QUANTILE);
    return rc != CVM_OK ? rc : rfm_ties(ctx, a, CVM_RFM_RANK);
}

static double *features(void)
{
    double *X = malloc(3 * fx.n * sizeof *X);
    size_t i;
    ck_assert_ptr_nonnull(X);
    for (i = 0; i < fx.n; i++) {
        X[3 * i] = fx.recency[i];
        X[3 * i + 1] = fx.x[i];
        X[3 * i + 2] = fx.m[i];
    }
    return X;
}

static void kmeans_kept(const cvm_kmeans *km, const double *cent, const cvm_kmeans_info *was)
{
    cvm_kmeans_info now = { sizeof now, 0, 0, 0, 0, 0 };
    double c[12];
    ck_assert_int_eq(cvm_kmeans_centroids(km, c, 12), CVM_OK);
    ck_assert_int_eq(cvm_kmeans_info_get(km, &now), CVM_OK);
    ck_assert_msg(memcmp(c, cent, sizeof c) == 0 && now.inertia == was->inertia &&
                      now.iterations == was->iterations,
                  "a k-means fit that failed changed the handle");
}

static cvm_status wf_segment_kmeans(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    cvm_kmeans_info info = { sizeof info, 0, 0, 0, 0, 0 };
    cvm_kmeans *km = NULL;
    cvm_status rc = CVM_OK;
    double *X = features(), cent[12], sil, elbow[3];
    int32_t *lab = malloc(2 * fx.n * sizeof *lab), *lab2 = lab + fx.n;
    ck_assert_ptr_nonnull(lab);
    o.allocator = a;
    o.k = 4;
    o.n_init = 2;
    o.seed = 3;
    o.scaling = CVM_SCALE_LOG1P_ZSCORE;
    MAKE(km, cvm_kmeans_new(&km, &o), NULL);
    STEP(cvm_kmeans_fit(km, X, fx.n, 3, NULL, lab), cvm_kmeans_errmsg(km));
    MIX(r, lab, fx.n);
    STEP(cvm_kmeans_predict(km, X, fx.n, 3, lab2, r->err, sizeof r->err), r->err);
    MIX(r, lab2, fx.n);
    STEP(cvm_kmeans_info_get(km, &info), cvm_kmeans_errmsg(km));
    MIX(r, &info.inertia, 1);
    MIX(r, &info.iterations, 1);
    STEP(cvm_kmeans_centroids(km, cent, 12), cvm_kmeans_errmsg(km));
    MIX(r, cent, 12);
    STEP(cvm_kmeans_silhouette(km, X, fx.n, 3, lab, fx.n / 2, 9, &sil, r->err, sizeof r->err),
         r->err);
    MIX(r, &sil, 1);
    o.n_init = 1;
    STEP(cvm_kmeans_elbow(&o, X, fx.n, 3, fx.twos, 2, 4, elbow, r->err, sizeof r->err), r->err);
    MIX(r, elbow, 3);
    /* Refitted to half the rows, weighted; failing, it keeps the first fit. */
    STEP_OR(cvm_kmeans_fit(km, X, fx.n / 2, 3, fx.twos, NULL), cvm_kmeans_errmsg(km),
            kmeans_kept(km, cent, &info));
    STEP(cvm_kmeans_centroids(km, cent, 12), cvm_kmeans_errmsg(km));
    MIX(r, cent, 12);
done:
    free(X);
    free(lab);
    cvm_kmeans_free(km);
    return rc;
}

static const double tier_shares[3] = { 0.05, 0.2, 0.5 };

static cvm_status wf_segment_tiers(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_tiers_options o = CVM_TIERS_OPTIONS_INIT;
    cvm_tiers *t = NULL;
    cvm_status rc = CVM_OK;
    double *value = malloc(fx.n * sizeof *value), cuts[3];
    int32_t *tier = malloc(fx.n * sizeof *tier);
    size_t i;
    ck_assert(value && tier);
    for (i = 0; i < fx.n; i++) {
        value[i] = fx.x[i] * fx.m[i];
    }
    o.allocator = a;
    o.top_shares = tier_shares;
    o.nshares = 3;
    MAKE(t, cvm_tiers_new(&t, &o), NULL);
    STEP(cvm_tiers_fit(t, value, fx.n, tier), cvm_tiers_errmsg(t));
    MIX(r, tier, fx.n);
    STEP(cvm_tiers_assign(t, fx.m, fx.n, tier, r->err, sizeof r->err), r->err);
    MIX(r, tier, fx.n);
    ck_assert_uint_eq(cvm_tiers_cut_count(t), 3);
    STEP(cvm_tiers_cuts(t, cuts, 3), cvm_tiers_errmsg(t));
    MIX(r, cuts, 3);
done:
    free(value);
    free(tier);
    cvm_tiers_free(t);
    return rc;
}

/* cvm_lifecycle() allocates nothing: its P(alive) input comes from a model
 * made and queried with the failing allocator. */
static cvm_status wf_segment_lifecycle(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    cvm_clv *m = NULL;
    cvm_status rc = CVM_OK;
    double *pa = malloc(fx.n * sizeof *pa), *clv = malloc(fx.n * sizeof *clv);
    int32_t *stage = malloc(fx.n * sizeof *stage);
    ck_assert(pa && clv && stage);
    o.allocator = a;
    MAKE(m, cvm_clv_new(&m, &o), NULL);
    STEP(cvm_clv_set_params(m, bgnbd_params, 4), cvm_clv_errmsg(m));
    STEP(cvm_clv_score(m, NULL, 52, NULL, fx.x, fx.tx, fx.T, fx.m, fx.n, pa, NULL, NULL, clv,
                       r->err, sizeof r->err),
         r->err);
    STEP(cvm_lifecycle(NULL, fx.x, fx.tx, fx.T, pa, NULL, fx.n, stage, r->err, sizeof r->err),
         r->err);
    MIX(r, stage, fx.n);
    STEP(cvm_value_tiers(clv, fx.n, NULL, 0, NULL, stage, r->err, sizeof r->err), r->err);
    MIX(r, stage, fx.n);
done:
    free(pa);
    free(clv);
    free(stage);
    cvm_clv_free(m);
    return rc;
}

/* ==== Attribution =========================================================== */

/* Every model over the journeys of `at`, with its outputs. */
static cvm_status attribute_all(run *r, cvm_attribution *at, int decay)
{
    static const struct {
        int32_t model, order, max_steps, use_nulls, shapley;
    } runs[] = {
        { CVM_ATTR_FIRST, 1, 0, 1, 0 },
        { CVM_ATTR_LAST, 1, 0, 1, 0 },
        { CVM_ATTR_LINEAR, 1, 0, 1, 0 },
        { CVM_ATTR_DECAY, 1, 0, 1, 0 },
        { CVM_ATTR_POSITION, 1, 0, 1, 0 },
        { CVM_ATTR_MARKOV, 1, 0, 1, 0 },
        { CVM_ATTR_MARKOV, 3, 0, 1, 0 },
        { CVM_ATTR_MARKOV, 2, 12, 0, 0 }, /* a truncated horizon: another solver */
        { CVM_ATTR_SHAPLEY, 1, 0, 1, CVM_SHAPLEY_CONVERSIONS },
        { CVM_ATTR_SHAPLEY, 1, 0, 1, CVM_SHAPLEY_RATE },
    };
    cvm_status rc = CVM_OK;
    size_t nch = cvm_attribution_channel_count(at), i, j;
    double conv[NCHANNELS], val[NCHANNELS], eff[NCHANNELS], spend[NCHANNELS], roi[NCHANNELS],
        cost[NCHANNELS], pconv, *tm = NULL;
    ck_assert_uint_eq(nch, NCHANNELS);
    for (i = 0; i < nch; i++) {
        const char *name = cvm_attribution_channel_name(at, i);
        mix(r, name, strlen(name));
        spend[i] = 100 + 10 * (double)i;
    }
    for (i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        cvm_attribution_run_options o = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
        if (runs[i].model == CVM_ATTR_DECAY && !decay) {
            continue;
        }
        o.model = runs[i].model;
        o.order = runs[i].order;
        o.max_steps = runs[i].max_steps;
        o.use_nulls = runs[i].use_nulls;
        o.shapley = runs[i].shapley;
        STEP(cvm_attribution_run(at, &o), cvm_attribution_errmsg(at));
        STEP(cvm_attribution_credit(at, conv, val, nch), cvm_attribution_errmsg(at));
        MIX(r, conv, nch);
        MIX(r, val, nch);
        STEP(cvm_attribution_roi(at, spend, nch, roi, cost, r->err, sizeof r->err), r->err);
        MIX(r, roi, nch);
        MIX(r, cost, nch);
        if (o.model == CVM_ATTR_MARKOV) {
            size_t ns = cvm_attribution_state_count(at);
            STEP(cvm_attribution_removal_effects(at, eff, nch, &pconv), cvm_attribution_errmsg(at));
            MIX(r, eff, nch);
            MIX(r, &pconv, 1);
            for (j = 0; j < ns; j++) {
                const char *name = cvm_attribution_state_name(at, j);
                mix(r, name, strlen(name));
            }
            tm = malloc(ns * ns * sizeof *tm);
            ck_assert_ptr_nonnull(tm);
            STEP(cvm_attribution_transitions(at, tm, ns * ns), cvm_attribution_errmsg(at));
            MIX(r, tm, ns * ns);
            free(tm);
            tm = NULL;
        }
    }
done:
    free(tm);
    return rc;
}

static cvm_status new_attribution(run *r, cvm_attribution **at, const cvm_allocator *a)
{
    cvm_attribution_options o = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_status rc = CVM_OK;
    o.allocator = a;
    STEP_OR(cvm_attribution_new(at, &o), NULL, ck_assert_ptr_null(*at));
done:
    return rc;
}

static cvm_status wf_attribute_paths(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_attribution *at = NULL;
    cvm_status rc;
    size_t i;
    if ((rc = new_attribution(r, &at, a)) != CVM_OK) {
        goto done;
    }
    for (i = 0; i < NPATHS; i++) {
        STEP(cvm_attribution_add_path(at, fx.paths[i], strlen(fx.paths[i]), fx.conv[i],
                                      fx.value[i], fx.nulls[i]),
             cvm_attribution_errmsg(at));
    }
    rc = attribute_all(r, at, 0);
done:
    cvm_attribution_free(at);
    return rc;
}

static cvm_status wf_attribute_csv(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_attribution *at = NULL;
    cvm_status rc;
    size_t i;
    if ((rc = new_attribution(r, &at, a)) != CVM_OK) {
        goto done;
    }
    /* Paths already there make the load keep an undo record. */
    for (i = 0; i < 3; i++) {
        STEP(cvm_attribution_add_path(at, fx.paths[i], strlen(fx.paths[i]), fx.conv[i],
                                      fx.value[i], fx.nulls[i]),
             cvm_attribution_errmsg(at));
    }
    STEP(cvm_attribution_load_csv(at, fx.paths_csv, NULL), cvm_attribution_errmsg(at));
    rc = attribute_all(r, at, 0);
done:
    cvm_attribution_free(at);
    return rc;
}

static cvm_status wf_attribute_touches(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_attribution *at = NULL;
    cvm_status rc;
    size_t i;
    if ((rc = new_attribution(r, &at, a)) != CVM_OK) {
        goto done;
    }
    /* Latest first: the events must be sorted before journeys are built. */
    for (i = 0; i < fx.ntouches; i++) {
        const touch *t = &fx.touches[fx.ntouches - 1 - i];
        if (t->channel >= 0) {
            const char *ch = channels[t->channel];
            STEP(cvm_attribution_add_touch(at, t->id, strlen(t->id), ch, strlen(ch), t->time),
                 cvm_attribution_errmsg(at));
        } else {
            STEP(cvm_attribution_add_conversion(at, t->id, strlen(t->id), t->time, t->value),
                 cvm_attribution_errmsg(at));
        }
    }
    rc = attribute_all(r, at, 1);
done:
    cvm_attribution_free(at);
    return rc;
}

/* ==== Snapshots ============================================================= */

/* Each saves a handle made with the failing allocator and loads it back
 * with it; the loaded handle's contents go into the digest. The file is
 * removed, so a run leaves the directory as it found it. */

static void first_save_intact(const char *path)
{
    cvm_customers *old = NULL;
    ck_assert_int_eq(cvm_customers_load(&old, path, NULL, NULL, 0), CVM_OK);
    ck_assert_uint_eq(cvm_customers_transactions(old), fx.ntx);
    cvm_customers_free(old);
}

static cvm_status wf_snapshot_customers(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_customers *c = NULL, *l = NULL;
    char *path = tu_join(fx.dir, "customers.cvm");
    cvm_status rc;
    o.allocator = a;
    if ((rc = new_customers(r, &c, a)) != CVM_OK) {
        goto done;
    }
    STEP(cvm_customers_add_batch(c, fx.ids, fx.off, fx.time, fx.amount, fx.ntx),
         cvm_customers_errmsg(c));
    STEP(cvm_customers_save(c, path), cvm_customers_errmsg(c));
    /* Saving over it: a save that fails must leave the first file whole. */
    STEP(cvm_customers_add(c, "late", 4, fx.obs_end, 5), cvm_customers_errmsg(c));
    STEP_OR(cvm_customers_save(c, path), cvm_customers_errmsg(c), first_save_intact(path));
    MAKE(l, cvm_customers_load(&l, path, &o, r->err, sizeof r->err), r->err);
    ck_assert_uint_eq(cvm_customers_transactions(l), fx.ntx + 1);
    rc = mix_summary(r, l);
done:
    remove(path);
    free(path);
    cvm_customers_free(c);
    cvm_customers_free(l);
    return rc;
}

static cvm_status snapshot_clv(run *r, const cvm_allocator *a, int32_t kind)
{
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    cvm_fit_info info = { sizeof info, 0, 0, 0, 0, 0, 0, 0, 0 };
    cvm_clv *m = NULL, *l = NULL;
    char *path = tu_join(fx.dir, "clv.cvm");
    cvm_status rc = CVM_OK;
    double p[4], se[4];
    o.allocator = a;
    o.kind = kind;
    MAKE(m, cvm_clv_new(&m, &o), NULL);
    /* A fitted model, so that standard errors and fit information are saved
     * too; BG/BB's small fit is the quickest. */
    if (kind == CVM_MODEL_BGBB) {
        STEP(cvm_clv_fit(m, fx.bx, fx.btx, fx.bT, NULL, NBGBB, NULL), cvm_clv_errmsg(m));
    } else {
        STEP(cvm_clv_set_params(m, kind == CVM_MODEL_PARETO ? pareto_params : bgnbd_params, 4),
             cvm_clv_errmsg(m));
    }
    STEP(cvm_clv_save(m, path), cvm_clv_errmsg(m));
    MAKE(l, cvm_clv_load(&l, path, &o, r->err, sizeof r->err), r->err);
    ck_assert_int_eq(cvm_clv_kind(l), kind);
    STEP(cvm_clv_params(l, p, se, 4), cvm_clv_errmsg(l));
    MIX(r, p, 4);
    MIX(r, se, 4);
    STEP(cvm_clv_info(l, &info), cvm_clv_errmsg(l));
    MIX(r, &info.loglik, 1);
done:
    remove(path);
    free(path);
    cvm_clv_free(m);
    cvm_clv_free(l);
    return rc;
}

static cvm_status wf_snapshot_bgnbd(const cvm_allocator *a, void *ctx)
{
    return snapshot_clv(ctx, a, CVM_MODEL_BGNBD);
}

static cvm_status wf_snapshot_pareto(const cvm_allocator *a, void *ctx)
{
    return snapshot_clv(ctx, a, CVM_MODEL_PARETO);
}

static cvm_status wf_snapshot_mbgnbd(const cvm_allocator *a, void *ctx)
{
    return snapshot_clv(ctx, a, CVM_MODEL_MBGNBD);
}

static cvm_status wf_snapshot_bgbb(const cvm_allocator *a, void *ctx)
{
    return snapshot_clv(ctx, a, CVM_MODEL_BGBB);
}

static cvm_status wf_snapshot_spend(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_model_options o = CVM_MODEL_OPTIONS_INIT;
    cvm_spend *s = NULL, *l = NULL;
    char *path = tu_join(fx.dir, "spend.cvm");
    cvm_status rc = CVM_OK;
    double p[3], se[3];
    o.allocator = a;
    MAKE(s, cvm_spend_new(&s, &o), NULL);
    STEP(cvm_spend_set_params(s, spend_params, 3), cvm_spend_errmsg(s));
    STEP(cvm_spend_save(s, path), cvm_spend_errmsg(s));
    MAKE(l, cvm_spend_load(&l, path, &o, r->err, sizeof r->err), r->err);
    STEP(cvm_spend_params(l, p, se, 3), cvm_spend_errmsg(l));
    MIX(r, p, 3);
    MIX(r, se, 3);
done:
    remove(path);
    free(path);
    cvm_spend_free(s);
    cvm_spend_free(l);
    return rc;
}

static cvm_status wf_snapshot_retention(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_model_options o = CVM_MODEL_OPTIONS_INIT;
    cvm_retention *s = NULL, *l = NULL;
    char *path = tu_join(fx.dir, "retention.cvm");
    cvm_status rc = CVM_OK;
    double p[2], se[2];
    o.allocator = a;
    MAKE(s, cvm_retention_new(&s, &o), NULL);
    STEP(cvm_retention_fit(s, cohort, 8, NULL), cvm_retention_errmsg(s));
    STEP(cvm_retention_save(s, path), cvm_retention_errmsg(s));
    MAKE(l, cvm_retention_load(&l, path, &o, r->err, sizeof r->err), r->err);
    STEP(cvm_retention_params(l, p, se, 2), cvm_retention_errmsg(l));
    MIX(r, p, 2);
    MIX(r, se, 2);
done:
    remove(path);
    free(path);
    cvm_retention_free(s);
    cvm_retention_free(l);
    return rc;
}

static cvm_status wf_snapshot_rfm(const cvm_allocator *a, void *ctx)
{
    static const cvm_rfm_rule rules[2] = { { "top", 5, 5, 4, 5, 1, 5 },
                                           { "low", 1, 2, 1, 2, 1, 5 } };
    run *r = ctx;
    cvm_rfm_options o = CVM_RFM_OPTIONS_INIT;
    cvm_rfm *s = NULL, *l = NULL;
    char *path = tu_join(fx.dir, "rfm.cvm");
    cvm_status rc = CVM_OK;
    double bp[4];
    size_t i;
    o.allocator = a;
    MAKE(s, cvm_rfm_new(&s, &o), NULL);
    STEP(cvm_rfm_fit(s, fx.recency, fx.x, fx.m, fx.n), cvm_rfm_errmsg(s));
    STEP(cvm_rfm_set_rules(s, rules, 2), cvm_rfm_errmsg(s));
    STEP(cvm_rfm_save(s, path), cvm_rfm_errmsg(s));
    MAKE(l, cvm_rfm_load(&l, path, &o, r->err, sizeof r->err), r->err);
    for (i = 0; i < 3; i++) {
        STEP(cvm_rfm_breakpoints(l, (int32_t)i, bp, 4), cvm_rfm_errmsg(l));
        MIX(r, bp, 4);
    }
    for (i = 0; i < cvm_rfm_segment_count(l); i++) {
        const char *name = cvm_rfm_segment_name(l, i);
        mix(r, name, strlen(name));
    }
done:
    remove(path);
    free(path);
    cvm_rfm_free(s);
    cvm_rfm_free(l);
    return rc;
}

static cvm_status wf_snapshot_kmeans(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    cvm_kmeans *s = NULL, *l = NULL;
    char *path = tu_join(fx.dir, "kmeans.cvm");
    cvm_status rc = CVM_OK;
    double *X = features(), cent[9];
    o.allocator = a;
    o.k = 3;
    o.scaling = CVM_SCALE_ZSCORE;
    MAKE(s, cvm_kmeans_new(&s, &o), NULL);
    STEP(cvm_kmeans_fit(s, X, fx.n, 3, NULL, NULL), cvm_kmeans_errmsg(s));
    STEP(cvm_kmeans_save(s, path), cvm_kmeans_errmsg(s));
    MAKE(l, cvm_kmeans_load(&l, path, &o, r->err, sizeof r->err), r->err);
    STEP(cvm_kmeans_centroids(l, cent, 9), cvm_kmeans_errmsg(l));
    MIX(r, cent, 9);
done:
    remove(path);
    free(path);
    free(X);
    cvm_kmeans_free(s);
    cvm_kmeans_free(l);
    return rc;
}

static cvm_status wf_snapshot_tiers(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_tiers_options o = CVM_TIERS_OPTIONS_INIT;
    cvm_tiers *s = NULL, *l = NULL;
    char *path = tu_join(fx.dir, "tiers.cvm");
    cvm_status rc = CVM_OK;
    double cuts[3];
    o.allocator = a;
    o.top_shares = tier_shares;
    o.nshares = 3;
    MAKE(s, cvm_tiers_new(&s, &o), NULL);
    STEP(cvm_tiers_fit(s, fx.m, fx.n, NULL), cvm_tiers_errmsg(s));
    STEP(cvm_tiers_save(s, path), cvm_tiers_errmsg(s));
    o.top_shares = NULL;
    o.nshares = 0;
    MAKE(l, cvm_tiers_load(&l, path, &o, r->err, sizeof r->err), r->err);
    ck_assert_uint_eq(cvm_tiers_cut_count(l), 3);
    STEP(cvm_tiers_cuts(l, cuts, 3), cvm_tiers_errmsg(l));
    MIX(r, cuts, 3);
done:
    remove(path);
    free(path);
    cvm_tiers_free(s);
    cvm_tiers_free(l);
    return rc;
}

/* A model past one block of purchases (65536), saved with libc's allocator:
 * loading it needs a second block. */
#define BIG_CUSTOMERS 300
#define BIG_PURCHASES 220

static char *big_snapshot(void)
{
    cvm_customers *c = NULL;
    char *path = tu_join(fx.dir, "big.cvm"), id[16];
    size_t i, j;
    ck_assert_int_eq(cvm_customers_new(&c, NULL), CVM_OK);
    for (i = 0; i < BIG_CUSTOMERS; i++) {
        int len = snprintf(id, sizeof id, "b%zu", i);
        for (j = 0; j < BIG_PURCHASES; j++) {
            ck_assert_int_eq(cvm_customers_add(c, id, (size_t)len,
                                               fx.start + (int64_t)(j * 7 + i % 5) * 86400, 1.5),
                             CVM_OK);
        }
    }
    ck_assert_uint_gt(cvm_customers_transactions(c), (size_t)1 << 16);
    ck_assert_int_eq(cvm_customers_save(c, path), CVM_OK);
    cvm_customers_free(c);
    fx.entries = tu_count_entries(fx.dir);
    return path;
}

static cvm_status wf_snapshot_customers_big(const cvm_allocator *a, void *ctx)
{
    run *r = ctx;
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_customers *c = NULL;
    cvm_status rc = CVM_OK;
    double v[BIG_CUSTOMERS];
    o.allocator = a;
    MAKE(c, cvm_customers_load(&c, fx.big, &o, r->err, sizeof r->err), r->err);
    ck_assert_uint_eq(cvm_customers_transactions(c), BIG_CUSTOMERS * BIG_PURCHASES);
    ck_assert_uint_eq(cvm_customers_summary_rows(c), BIG_CUSTOMERS);
    STEP(cvm_customers_summary(c, NULL, CVM_COL_FREQUENCY, v, BIG_CUSTOMERS),
         cvm_customers_errmsg(c));
    MIX(r, v, BIG_CUSTOMERS);
done:
    cvm_customers_free(c);
    return rc;
}

/* ==== Tests ================================================================= */

#define SWEEP_TEST(name)                                                                           \
    START_TEST(oom_##name)                                                                         \
    {                                                                                              \
        sweep_all(#name, wf_##name);                                                               \
    }                                                                                              \
    END_TEST

SWEEP_TEST(load_csv)
SWEEP_TEST(summary)
SWEEP_TEST(simulate)
SWEEP_TEST(fit_bgnbd)
SWEEP_TEST(fit_pareto)
SWEEP_TEST(fit_mbgnbd)
SWEEP_TEST(fit_bgbb)
SWEEP_TEST(fit_spend)
SWEEP_TEST(fit_retention)
SWEEP_TEST(predict)
SWEEP_TEST(segment_rfm)
SWEEP_TEST(segment_kmeans)
SWEEP_TEST(segment_tiers)
SWEEP_TEST(segment_lifecycle)
SWEEP_TEST(attribute_paths)
SWEEP_TEST(attribute_csv)
SWEEP_TEST(attribute_touches)
SWEEP_TEST(snapshot_customers)
SWEEP_TEST(snapshot_bgnbd)
SWEEP_TEST(snapshot_pareto)
SWEEP_TEST(snapshot_mbgnbd)
SWEEP_TEST(snapshot_bgbb)
SWEEP_TEST(snapshot_spend)
SWEEP_TEST(snapshot_retention)
SWEEP_TEST(snapshot_rfm)
SWEEP_TEST(snapshot_kmeans)
SWEEP_TEST(snapshot_tiers)

START_TEST(oom_snapshot_customers_big)
{
    fx.big = big_snapshot();
    sweep_all("snapshot_customers_big", wf_snapshot_customers_big);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = tcase_create("oom");
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    /* Each sweep reruns its workflow once per allocation, three times over;
     * sanitizer builds are several times slower. */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, oom_load_csv);
    tcase_add_test(tc, oom_summary);
    tcase_add_test(tc, oom_simulate);
    tcase_add_test(tc, oom_fit_bgnbd);
    tcase_add_test(tc, oom_fit_pareto);
    tcase_add_test(tc, oom_fit_mbgnbd);
    tcase_add_test(tc, oom_fit_bgbb);
    tcase_add_test(tc, oom_fit_spend);
    tcase_add_test(tc, oom_fit_retention);
    tcase_add_test(tc, oom_predict);
    tcase_add_test(tc, oom_segment_rfm);
    tcase_add_test(tc, oom_segment_kmeans);
    tcase_add_test(tc, oom_segment_tiers);
    tcase_add_test(tc, oom_segment_lifecycle);
    tcase_add_test(tc, oom_attribute_paths);
    tcase_add_test(tc, oom_attribute_csv);
    tcase_add_test(tc, oom_attribute_touches);
    tcase_add_test(tc, oom_snapshot_customers);
    tcase_add_test(tc, oom_snapshot_bgnbd);
    tcase_add_test(tc, oom_snapshot_pareto);
    tcase_add_test(tc, oom_snapshot_mbgnbd);
    tcase_add_test(tc, oom_snapshot_bgbb);
    tcase_add_test(tc, oom_snapshot_spend);
    tcase_add_test(tc, oom_snapshot_retention);
    tcase_add_test(tc, oom_snapshot_rfm);
    tcase_add_test(tc, oom_snapshot_kmeans);
    tcase_add_test(tc, oom_snapshot_tiers);
    tcase_add_test(tc, oom_snapshot_customers_big);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
