/* Tests for the customer model: include/cvm/customers.h, src/customers/.
 *
 * Only the public API is used. Amounts are multiples of 0.25 (exact binary
 * fractions) unless a test says otherwise: every partial sum the library
 * forms is then exact whatever the order of the additions, so summaries built
 * in different ways must be bit-identical and are compared with ==. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY CVM_SECONDS_PER_DAY
#define WEEK (7 * CVM_SECONDS_PER_DAY)
#define NONE CVM_TIME_NONE
#define NCOL CVM_COL_COUNT
/* 2020-01-01T00:00:00Z: 18262 days after the epoch. */
#define T0 INT64_C(1577836800)

/* ---- helpers ---------------------------------------------------------- */

/* ck_assert_msg(), but silent when it holds: Check records every passing
 * ck_assert with a write to the parent process, far too slow for the
 * millions of comparisons below. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ck_abort_msg(__VA_ARGS__);                                                             \
        }                                                                                          \
    } while (0)

#define CK_ST(expr, want)                                                                          \
    do {                                                                                           \
        cvm_status s_ = (expr);                                                                    \
        cvm_status w_ = (want);                                                                    \
        CHECK(s_ == w_, "%s returned %d (%s), expected %d (%s)", #expr, (int)s_, cvm_strerror(s_), \
              (int)w_, cvm_strerror(w_));                                                          \
    } while (0)

#define MSG_HAS(msg, needle)                                                                       \
    do {                                                                                           \
        const char *m_ = (msg), *n_ = (needle);                                                    \
        CHECK(m_ != NULL && strstr(m_, n_) != NULL, "message '%s' lacks '%s'", m_ ? m_ : "(null)", \
              n_);                                                                                 \
    } while (0)

/* Exact equality, with both values in the failure message. */
#define EXPECT_EQ(got, want)                                                                       \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        CHECK(g_ == w_, "%s = %.17g, expected %.17g", #got, g_, w_);                               \
    } while (0)

/* For values like 30/7 that no double holds exactly: the library scales
 * whole periods by period_seconds / unit_seconds, which rounds once or
 * twice, so the result is within a few ulp (~1e-15 relative) of the true
 * quotient; 1e-12 relative leaves ample room and still catches any wrong
 * period count (an error of at least 1/7). */
#define EXPECT_NEAR(got, want)                                                                     \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        CHECK(fabs(g_ - w_) <= 1e-12 * fmax(1.0, fabs(w_)), "%s = %.17g, expected %.17g", #got,    \
              g_, w_);                                                                             \
    } while (0)

static int64_t at(int64_t day, int64_t sec)
{
    return T0 + day * DAY + sec;
}

static int64_t hms(int64_t h, int64_t m, int64_t s)
{
    return h * 3600 + m * 60 + s;
}

static cvm_customers *model_opts(int64_t period, int64_t origin, int64_t cal_end)
{
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_customers *c = NULL;
    o.period_seconds = period;
    o.period_origin = origin;
    o.calibration_end = cal_end;
    CK_ST(cvm_customers_new(&c, &o), CVM_OK);
    ck_assert_ptr_nonnull(c);
    return c;
}

static cvm_customers *model(int64_t cal_end)
{
    return model_opts(DAY, 0, cal_end);
}

static void add(cvm_customers *c, const char *id, int64_t t, double amount)
{
    cvm_status s = cvm_customers_add(c, id, strlen(id), t, amount);
    CHECK(s == CVM_OK, "add '%s' at %lld: %s: %s", id, (long long)t, cvm_strerror(s),
          cvm_customers_errmsg(c));
}

static size_t index_of(const cvm_customers *c, const char *id)
{
    size_t i = SIZE_MAX;
    CK_ST(cvm_customers_find(c, id, strlen(id), &i), CVM_OK);
    return i;
}

static cvm_summary_options sopts(int64_t unit, int64_t obs_end)
{
    cvm_summary_options o = CVM_SUMMARY_OPTIONS_INIT;
    o.unit_seconds = unit;
    o.observation_end = obs_end;
    return o;
}

/* All seven columns of customer `id`. */
static void row_of(cvm_customers *c, const char *id, const cvm_summary_options *so, double *out)
{
    cvm_status s = cvm_customers_row(c, index_of(c, id), so, out, NCOL);
    CHECK(s == CVM_OK, "row '%s': %s: %s", id, cvm_strerror(s), cvm_customers_errmsg(c));
}

static void expect_row(cvm_customers *c, const char *id, const cvm_summary_options *so,
                       const double *want)
{
    double got[NCOL];
    int k;
    row_of(c, id, so, got);
    for (k = 0; k < NCOL; k++) {
        CHECK(got[k] == want[k], "customer '%s' column %d = %.17g, expected %.17g", id, k, got[k],
              want[k]);
    }
}

/* Set the allocator to fail its k-th call from now. */
static void fail_in(tu_failing *fs, size_t k)
{
    fs->fail_at = fs->calls + k;
}



static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- whole-model state, for "unchanged" and "equal" checks ------------- */

typedef struct mstate {
    size_t count, tx, rows;
    size_t *index;     /* rows */
    double *col[NCOL]; /* rows each */
    char *ids;         /* every id, back to back */
    size_t *idend;     /* count: end of id i in `ids` */
} mstate;

static void mstate_take(cvm_customers *c, const cvm_summary_options *so, mstate *s)
{
    size_t i, bytes = 0;
    int k;
    memset(s, 0, sizeof *s);
    s->count = cvm_customers_count(c);
    s->tx = cvm_customers_transactions(c);
    s->rows = cvm_customers_summary_rows(c);
    s->index = calloc(s->rows + 1, sizeof *s->index);
    ck_assert_ptr_nonnull(s->index);
    CK_ST(cvm_customers_summary_index(c, s->index, s->rows), CVM_OK);
    for (k = 0; k < NCOL; k++) {
        cvm_status st;
        s->col[k] = calloc(s->rows + 1, sizeof(double));
        ck_assert_ptr_nonnull(s->col[k]);
        st = cvm_customers_summary(c, so, k, s->col[k], s->rows);
        CHECK(st == CVM_OK, "summary column %d: %s: %s", k, cvm_strerror(st),
              cvm_customers_errmsg(c));
    }
    s->idend = calloc(s->count + 1, sizeof *s->idend);
    ck_assert_ptr_nonnull(s->idend);
    for (i = 0; i < s->count; i++) {
        const char *id;
        size_t len;
        CK_ST(cvm_customers_id(c, i, &id, &len), CVM_OK);
        bytes += len;
        s->idend[i] = bytes;
    }
    s->ids = malloc(bytes + 1);
    ck_assert_ptr_nonnull(s->ids);
    for (i = 0; i < s->count; i++) {
        const char *id;
        size_t len;
        CK_ST(cvm_customers_id(c, i, &id, &len), CVM_OK);
        memcpy(s->ids + (i ? s->idend[i - 1] : 0), id, len);
    }
}

static void mstate_free(mstate *s)
{
    int k;
    free(s->index);
    for (k = 0; k < NCOL; k++) {
        free(s->col[k]);
    }
    free(s->ids);
    free(s->idend);
    memset(s, 0, sizeof *s);
}

/* Same customers in the same order, same transactions, same summary bits. */
static void mstate_expect_equal(const mstate *a, const mstate *b, const char *what)
{
    size_t r;
    int k;
    CHECK(a->count == b->count, "%s: %zu customers, expected %zu", what, b->count, a->count);
    CHECK(a->tx == b->tx, "%s: %zu transactions, expected %zu", what, b->tx, a->tx);
    CHECK(a->rows == b->rows, "%s: %zu summary rows, expected %zu", what, b->rows, a->rows);
    CHECK(a->count == 0 || memcmp(a->idend, b->idend, a->count * sizeof *a->idend) == 0,
          "%s: id lengths differ", what);
    CHECK(a->count == 0 || memcmp(a->ids, b->ids, a->idend[a->count - 1]) == 0, "%s: ids differ",
          what);
    for (r = 0; r < a->rows; r++) {
        CHECK(a->index[r] == b->index[r], "%s: row %zu is customer %zu, expected %zu", what, r,
              b->index[r], a->index[r]);
        for (k = 0; k < NCOL; k++) {
            CHECK(a->col[k][r] == b->col[k][r], "%s: row %zu column %d = %.17g, expected %.17g",
                  what, r, k, b->col[k][r], a->col[k][r]);
        }
    }
}

/* `c` is exactly as recorded in `before`. */
static void expect_unchanged(cvm_customers *c, const cvm_summary_options *so, const mstate *before,
                             const char *what)
{
    mstate now;
    mstate_take(c, so, &now);
    mstate_expect_equal(before, &now, what);
    mstate_free(&now);
}

/* Two models with the same state (same indices too). */
static void expect_same_model(cvm_customers *want, cvm_customers *got,
                              const cvm_summary_options *so, const char *what)
{
    mstate a;
    mstate_take(want, so, &a);
    expect_unchanged(got, so, &a, what);
    mstate_free(&a);
}

/* Two models holding the same customers and summaries, indices possibly
 * different: rows are matched through cvm_customers_id/find, and `b` is read
 * through cvm_customers_row while `a` is read through the summary columns. */
static void expect_same_by_id(cvm_customers *a, cvm_customers *b, const cvm_summary_options *so,
                              const char *what)
{
    mstate sa;
    size_t r, i;
    mstate_take(a, so, &sa);
    CHECK(cvm_customers_count(b) == sa.count, "%s: %zu customers, expected %zu", what,
          cvm_customers_count(b), sa.count);
    CHECK(cvm_customers_transactions(b) == sa.tx, "%s: %zu transactions, expected %zu", what,
          cvm_customers_transactions(b), sa.tx);
    CHECK(cvm_customers_summary_rows(b) == sa.rows, "%s: %zu rows, expected %zu", what,
          cvm_customers_summary_rows(b), sa.rows);
    for (r = 0; r < sa.rows; r++) {
        const char *id;
        size_t len, j = SIZE_MAX;
        double got[NCOL];
        int k;
        CK_ST(cvm_customers_id(a, sa.index[r], &id, &len), CVM_OK);
        CK_ST(cvm_customers_find(b, id, len, &j), CVM_OK);
        CK_ST(cvm_customers_row(b, j, so, got, NCOL), CVM_OK);
        for (k = 0; k < NCOL; k++) {
            CHECK(got[k] == sa.col[k][r], "%s: row %zu column %d = %.17g, expected %.17g", what, r,
                  k, got[k], sa.col[k][r]);
        }
    }
    for (i = 0; i < sa.count; i++) {
        const char *id;
        size_t len, j;
        CK_ST(cvm_customers_id(a, i, &id, &len), CVM_OK);
        CK_ST(cvm_customers_find(b, id, len, &j), CVM_OK);
    }
    mstate_free(&sa);
}

/* ---- a naive reference summary ---------------------------------------- */

typedef struct tev {
    const char *id; /* not NUL-terminated */
    size_t len;
    int64_t t;
    double amount;
    size_t seq; /* generation order, to break ties when sorting by time */
} tev;

typedef struct rcfg {
    int64_t period, origin, cal_end, obs_end, unit;
} rcfg;

/* Floor division, written here rather than trusted from the library. */
static int64_t fdiv(int64_t a, int64_t d)
{
    int64_t q = a / d;
    return (a % d != 0 && a < 0) ? q - 1 : q;
}

typedef struct pa {
    int64_t p;
    double amount;
} pa;

static int cmp_pa(const void *x, const void *y)
{
    int64_t a = ((const pa *)x)->p, b = ((const pa *)y)->p;
    return (a > b) - (a < b);
}

/* Customer `id`'s summary row computed from the raw events: sort its
 * purchases by period, merge each period, split at the calibration end.
 * Returns 0 when the customer has no calibration purchase (not a row). */
static int ref_row(const tev *ev, size_t n, const char *id, size_t len, const rcfg *g, double *out)
{
    int64_t calp = g->cal_end == NONE ? INT64_MAX : fdiv(g->cal_end - g->origin, g->period);
    int64_t obsp = g->obs_end == NONE ? calp : fdiv(g->obs_end - g->origin, g->period);
    int64_t maxp = INT64_MIN, first = 0, last = 0, refp, prev = 0;
    double scale = (double)g->period / (double)g->unit, rest = 0, hsum = 0;
    size_t i, k = 0, nc = 0, nh = 0;
    pa *mine = malloc((n + 1) * sizeof *mine);
    ck_assert_ptr_nonnull(mine);
    for (i = 0; i < n; i++) {
        int64_t p = fdiv(ev[i].t - g->origin, g->period);
        maxp = p > maxp ? p : maxp;
        if (ev[i].len == len && memcmp(ev[i].id, id, len) == 0) {
            mine[k].p = p;
            mine[k].amount = ev[i].amount;
            k++;
        }
    }
    qsort(mine, k, sizeof *mine, cmp_pa);
    for (i = 0; i < k; i++) {
        int64_t p = mine[i].p;
        int new_period = i == 0 || p != prev;
        prev = p;
        if (p <= calp) {
            if (nc == 0) {
                first = p;
            }
            nc += new_period;
            last = p;
            if (p != first) {
                rest += mine[i].amount;
            }
        } else if (p <= obsp) {
            nh += new_period;
            hsum += mine[i].amount;
        }
    }
    free(mine);
    if (nc == 0) {
        return 0;
    }
    refp = g->cal_end == NONE ? maxp : calp;
    out[CVM_COL_FREQUENCY] = (double)(nc - 1);
    out[CVM_COL_RECENCY] = (double)(last - first) * scale;
    out[CVM_COL_T] = (double)(refp - first) * scale;
    out[CVM_COL_MONETARY] = nc > 1 ? rest / (double)(nc - 1) : 0.0;
    out[CVM_COL_FREQUENCY_HOLDOUT] = (double)nh;
    out[CVM_COL_MONETARY_HOLDOUT] = nh > 0 ? hsum / (double)nh : 0.0;
    out[CVM_COL_DURATION_HOLDOUT] = g->obs_end == NONE ? 0.0 : (double)(obsp - calp) * scale;
    return 1;
}

/* Every customer of `c` against the reference over `ev`. */
static void expect_reference(cvm_customers *c, const tev *ev, size_t n, const rcfg *g,
                             const char *what)
{
    cvm_summary_options so = sopts(g->unit, g->obs_end);
    size_t i, count = cvm_customers_count(c), rows = 0, distinct = 0;
    for (i = 0; i < n; i++) {
        size_t j, dup = 0, idx;
        for (j = 0; j < i && !dup; j++) {
            dup = ev[j].len == ev[i].len && memcmp(ev[j].id, ev[i].id, ev[i].len) == 0;
        }
        distinct += !dup;
        CK_ST(cvm_customers_find(c, ev[i].id, ev[i].len, &idx), CVM_OK);
    }
    CHECK(count == distinct, "%s: %zu customers, expected %zu", what, count, distinct);
    CHECK(cvm_customers_transactions(c) == n, "%s: %zu transactions, expected %zu", what,
          cvm_customers_transactions(c), n);
    for (i = 0; i < count; i++) {
        const char *id;
        size_t len;
        double want[NCOL], got[NCOL];
        int k, has;
        cvm_status s;
        CK_ST(cvm_customers_id(c, i, &id, &len), CVM_OK);
        has = ref_row(ev, n, id, len, g, want);
        s = cvm_customers_row(c, i, &so, got, NCOL);
        if (!has) {
            CHECK(s == CVM_E_NOT_FOUND, "%s: customer %zu is not a row but row() gave %d", what, i,
                  (int)s);
            continue;
        }
        CHECK(s == CVM_OK, "%s: row %zu: %s", what, i, cvm_customers_errmsg(c));
        rows++;
        for (k = 0; k < NCOL; k++) {
            CHECK(got[k] == want[k], "%s: customer %zu column %d = %.17g, reference %.17g", what, i,
                  k, got[k], want[k]);
        }
    }
    CHECK(rows == cvm_customers_summary_rows(c), "%s: %zu rows, reference %zu", what,
          cvm_customers_summary_rows(c), rows);
}

/* ---- a small PRNG of the test's own (splitmix64) ----------------------- */

typedef struct prng {
    uint64_t s;
} prng;

static uint64_t pr_next(prng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for test data (n is tiny). */
static uint64_t below(prng *r, uint64_t n)
{
    return pr_next(r) % n;
}

static void shuffle(prng *r, tev *ev, size_t n)
{
    size_t i;
    for (i = n; i > 1; i--) {
        size_t j = (size_t)below(r, i);
        tev t = ev[i - 1];
        ev[i - 1] = ev[j];
        ev[j] = t;
    }
}

static int cmp_time(const void *x, const void *y)
{
    const tev *a = x, *b = y;
    if (a->t != b->t) {
        return (a->t > b->t) - (a->t < b->t);
    }
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* ======================================================================= */
/* 1. Options                                                              */
/* ======================================================================= */

START_TEST(test_options_init_matches_macro)
{
    cvm_customers_options cm = CVM_CUSTOMERS_OPTIONS_INIT, cf;
    cvm_csv_options vm = CVM_CSV_OPTIONS_INIT, vf;
    cvm_summary_options sm = CVM_SUMMARY_OPTIONS_INIT, sf;
    /* Garbage first, so a field the function forgets to set shows up. */
    memset(&cf, 0xA5, sizeof cf);
    memset(&vf, 0xA5, sizeof vf);
    memset(&sf, 0xA5, sizeof sf);
    CK_ST(cvm_customers_options_init(&cf, sizeof cf), CVM_OK);
    CK_ST(cvm_csv_options_init(&vf, sizeof vf), CVM_OK);
    CK_ST(cvm_summary_options_init(&sf, sizeof sf), CVM_OK);
    ck_assert_mem_eq(&cm, &cf, sizeof cm);
    ck_assert_mem_eq(&vm, &vf, sizeof vm);
    ck_assert_mem_eq(&sm, &sf, sizeof sm);
    /* The documented defaults. */
    ck_assert_uint_eq(cm.size, sizeof cm);
    ck_assert_ptr_null(cm.allocator);
    ck_assert_int_eq(cm.period_seconds, DAY);
    ck_assert_int_eq(cm.period_origin, 0);
    ck_assert_int_eq(cm.calibration_end, NONE);
    ck_assert_uint_eq(vm.size, sizeof vm);
    ck_assert_int_eq(vm.id_index, 1);
    ck_assert_int_eq(vm.date_index, 2);
    ck_assert_int_eq(vm.amount_index, 3);
    ck_assert_int_eq(vm.delimiter, ',');
    ck_assert_int_eq(vm.has_header, 1);
    ck_assert_int_eq(vm.date_format, CVM_DATE_AUTO);
    ck_assert_uint_eq(sm.size, sizeof sm);
    ck_assert_int_eq(sm.unit_seconds, DAY);
    ck_assert_int_eq(sm.observation_end, NONE);
    /* Sizes the library does not know. */
    CK_ST(cvm_customers_options_init(&cf, sizeof cf - 1), CVM_E_ABI);
    CK_ST(cvm_customers_options_init(&cf, 0), CVM_E_ABI);
    CK_ST(cvm_csv_options_init(&vf, sizeof vf - 4), CVM_E_ABI);
    CK_ST(cvm_summary_options_init(&sf, sizeof sf - 8), CVM_E_ABI);
    CK_ST(cvm_customers_options_init(NULL, sizeof cf), CVM_E_INVALID);
}
END_TEST

START_TEST(test_options_abi_sizes)
{
    struct {
        cvm_customers_options o;
        unsigned char tail[24];
    } big;
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_customers *c, *sentinel = model(NONE);
    double v[NCOL];

    /* Smaller than version 1. */
    o.size = sizeof o - 8;
    c = sentinel;
    CK_ST(cvm_customers_new(&c, &o), CVM_E_ABI);
    ck_assert_ptr_null(c);
    o.size = 0;
    c = sentinel;
    CK_ST(cvm_customers_new(&c, &o), CVM_E_ABI);
    ck_assert_ptr_null(c);

    /* A newer caller's larger struct with its new fields unset: fine, and
     * the known fields are honoured. */
    memset(&big, 0, sizeof big);
    CK_ST(cvm_customers_options_init(&big.o, sizeof big.o), CVM_OK);
    big.o.size = sizeof big;
    big.o.calibration_end = at(10, 0);
    c = NULL;
    CK_ST(cvm_customers_new(&c, &big.o), CVM_OK);
    ck_assert_ptr_nonnull(c);
    add(c, "A", at(0, 0), 1);
    add(c, "A", at(20, 0), 1);
    row_of(c, "A", NULL, v);
    EXPECT_EQ(v[CVM_COL_T], 10); /* day 0 to the calibration end, day 10 */
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 0);
    cvm_customers_free(c);

    /* ... but a nonzero byte in a field this library does not know. */
    big.tail[23] = 1;
    c = sentinel;
    CK_ST(cvm_customers_new(&c, &big.o), CVM_E_ABI);
    ck_assert_ptr_null(c);
    big.tail[23] = 0;
    big.tail[0] = 0x80;
    c = sentinel;
    CK_ST(cvm_customers_new(&c, &big.o), CVM_E_ABI);
    ck_assert_ptr_null(c);

    cvm_customers_free(sentinel);
}
END_TEST

START_TEST(test_options_csv_and_summary_abi)
{
    struct {
        cvm_csv_options o;
        unsigned char tail[16];
    } bigcsv;
    struct {
        cvm_summary_options o;
        unsigned char tail[16];
    } bigsum;
    static const char text[] = "id,date,amount\nA,2020-01-01,1\nA,2020-01-03,2\n";
    cvm_csv_options small = CVM_CSV_OPTIONS_INIT;
    cvm_summary_options ss = CVM_SUMMARY_OPTIONS_INIT;
    cvm_customers *c = model(NONE);
    double col[1];

    small.size = sizeof small - 4;
    CK_ST(cvm_customers_load_csv_buffer(c, text, strlen(text), "a.csv", &small), CVM_E_ABI);
    ck_assert_uint_eq(cvm_customers_count(c), 0);
    MSG_HAS(cvm_customers_errmsg(c), "CSV options");

    memset(&bigcsv, 0, sizeof bigcsv);
    CK_ST(cvm_csv_options_init(&bigcsv.o, sizeof bigcsv.o), CVM_OK);
    bigcsv.o.size = sizeof bigcsv;
    bigcsv.tail[3] = 7;
    CK_ST(cvm_customers_load_csv_buffer(c, text, strlen(text), "a.csv", &bigcsv.o), CVM_E_ABI);
    ck_assert_uint_eq(cvm_customers_count(c), 0);
    bigcsv.tail[3] = 0;
    CK_ST(cvm_customers_load_csv_buffer(c, text, strlen(text), "a.csv", &bigcsv.o), CVM_OK);
    ck_assert_uint_eq(cvm_customers_transactions(c), 2);

    /* reserved must be 0 */
    small = (cvm_csv_options)CVM_CSV_OPTIONS_INIT;
    small.reserved = 1;
    CK_ST(cvm_customers_load_csv_buffer(c, text, strlen(text), "a.csv", &small), CVM_E_INVALID);
    ck_assert_uint_eq(cvm_customers_transactions(c), 2);

    ss.size = sizeof ss - 8;
    CK_ST(cvm_customers_summary(c, &ss, CVM_COL_RECENCY, col, 1), CVM_E_ABI);
    memset(&bigsum, 0, sizeof bigsum);
    CK_ST(cvm_summary_options_init(&bigsum.o, sizeof bigsum.o), CVM_OK);
    bigsum.o.size = sizeof bigsum;
    bigsum.o.unit_seconds = 3600;
    col[0] = -1;
    CK_ST(cvm_customers_summary(c, &bigsum.o, CVM_COL_RECENCY, col, 1), CVM_OK);
    EXPECT_EQ(col[0], 48); /* two days in hours */
    bigsum.tail[15] = 1;
    CK_ST(cvm_customers_summary(c, &bigsum.o, CVM_COL_RECENCY, col, 1), CVM_E_ABI);
    CK_ST(cvm_customers_row(c, 0, &bigsum.o, col, 1), CVM_E_ABI);
    cvm_customers_free(c);
}
END_TEST

START_TEST(test_options_invalid)
{
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_allocator half = {sizeof(cvm_allocator), NULL, NULL, NULL, NULL};
    cvm_customers *sentinel = model(NONE), *c;
    cvm_summary_options so = sopts(0, NONE);
    double v[NCOL];

    o.period_seconds = 0;
    c = sentinel;
    CK_ST(cvm_customers_new(&c, &o), CVM_E_INVALID);
    ck_assert_ptr_null(c);
    o.period_seconds = -DAY;
    c = sentinel;
    CK_ST(cvm_customers_new(&c, &o), CVM_E_INVALID);
    ck_assert_ptr_null(c);
    o.period_seconds = DAY;
    o.allocator = &half;
    c = sentinel;
    CK_ST(cvm_customers_new(&c, &o), CVM_E_INVALID);
    ck_assert_ptr_null(c);
    CK_ST(cvm_customers_new(NULL, NULL), CVM_E_INVALID);

    /* NULL options: the defaults. */
    c = NULL;
    CK_ST(cvm_customers_new(&c, NULL), CVM_OK);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(cvm_customers_errmsg(c), "");
    ck_assert_uint_eq(cvm_customers_count(c), 0);
    ck_assert_uint_eq(cvm_customers_transactions(c), 0);
    ck_assert_uint_eq(cvm_customers_summary_rows(c), 0);
    CK_ST(cvm_customers_summary(c, NULL, CVM_COL_T, NULL, 0), CVM_OK);
    add(c, "A", at(0, hms(23, 0, 0)), 1);
    add(c, "A", at(1, hms(1, 0, 0)), 2); /* two hours later, but the next UTC day */
    row_of(c, "A", NULL, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
    EXPECT_EQ(v[CVM_COL_RECENCY], 1);
    /* unit_seconds must be positive */
    CK_ST(cvm_customers_summary(c, &so, CVM_COL_T, v, 1), CVM_E_INVALID);
    MSG_HAS(cvm_customers_errmsg(c), "unit_seconds");

    cvm_customers_free(c);
    cvm_customers_free(NULL); /* a no-op */
    cvm_customers_free(sentinel);
}
END_TEST

START_TEST(test_options_copied_not_borrowed)
{
    tu_failing fs = {0};
    cvm_allocator a = tu_failing_allocator(&fs);
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_customers *c = NULL;
    double v[NCOL];
    int i;
    o.allocator = &a;
    o.calibration_end = at(5, 0);
    CK_ST(cvm_customers_new(&c, &o), CVM_OK);
    /* Scribble over the caller's structs: the model keeps its own copies. */
    memset(&a, 0, sizeof a);
    o.calibration_end = at(1, 0);
    o.period_seconds = 1;
    for (i = 0; i < 100; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%d", i);
        add(c, id, at(i % 7, 0), 0.5);
    }
    add(c, "c0", at(3, 0), 0.5);
    row_of(c, "c0", NULL, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
    EXPECT_EQ(v[CVM_COL_T], 5);
    ck_assert_uint_gt(fs.calls, 0); /* the model allocated through our functions */
    ck_assert_int_gt(fs.live, 0);
    cvm_customers_free(c);
    ck_assert_int_eq(fs.live, 0);
}
END_TEST

/* ======================================================================= */
/* 2. Summary semantics on hand-made logs                                  */
/* ======================================================================= */

/* Calibration ends 2020-01-31 (day 30) at noon, so the whole of day 30 is
 * calibration; the observation ends a second into day 50, so the whole of
 * day 50 is holdout.
 *
 * A: day 0 10 + 2.5 (first day, 12.5 in all, not in monetary), day 3 4 + 1
 *    (5), day 10 7, day 30 23:59:59 3 -> 4 calibration days: frequency 3,
 *    recency 30, T 30, monetary (5 + 7 + 3) / 3 = 5.
 *    Holdout: day 31 8 + 0.5 (8.5), day 50 23:59:59 1.5 -> 2 days, mean
 *    (8.5 + 1.5) / 2 = 5; day 51 100 is after the observation end: ignored.
 * D: day 31 only -> first purchase after the calibration end: no row.
 * B: day 5 20 -> frequency 0, recency 0, T 25, monetary 0 (frequency 0).
 * C: day 2 1 + 3 (one day) -> frequency 0, T 28; holdout day 40 6 + 2 ->
 *    1 day, mean 8.
 * E: day 30 23:59:59 5 -> frequency 0, T 0.
 * duration_holdout = 50 - 30 = 20 for every row. */
static cvm_customers *hand_log(void)
{
    cvm_customers *c = model(at(30, hms(12, 0, 0)));
    add(c, "A", at(0, hms(8, 0, 0)), 10.0);
    add(c, "D", at(31, hms(9, 0, 0)), 7.0);
    add(c, "B", at(5, hms(0, 0, 0)), 20.0);
    add(c, "C", at(2, hms(1, 0, 0)), 1.0);
    add(c, "C", at(2, hms(23, 0, 0)), 3.0);
    add(c, "E", at(30, hms(23, 59, 59)), 5.0);
    add(c, "A", at(0, hms(20, 0, 0)), 2.5);
    add(c, "A", at(3, hms(9, 0, 0)), 4.0);
    add(c, "A", at(3, hms(10, 0, 0)), 1.0);
    add(c, "A", at(10, hms(12, 0, 0)), 7.0);
    add(c, "A", at(30, hms(23, 59, 59)), 3.0);
    add(c, "A", at(31, 0), 8.0);
    add(c, "A", at(31, hms(5, 0, 0)), 0.5);
    add(c, "A", at(50, hms(23, 59, 59)), 1.5);
    add(c, "A", at(51, 0), 100.0);
    add(c, "C", at(40, hms(6, 0, 0)), 6.0);
    add(c, "C", at(40, hms(7, 0, 0)), 2.0);
    return c;
}

START_TEST(test_summary_hand_days)
{
    cvm_customers *c = hand_log();
    cvm_summary_options so = sopts(DAY, at(50, 1));
    /* rows A, B, C, E in customer-index order (D is index 1, not a row) */
    static const double want[NCOL][4] = {
        {3, 0, 0, 0},     /* frequency */
        {30, 0, 0, 0},    /* recency */
        {30, 25, 28, 0},  /* T */
        {5, 0, 0, 0},     /* monetary */
        {2, 0, 1, 0},     /* frequency_holdout */
        {5, 0, 8, 0},     /* monetary_holdout */
        {20, 20, 20, 20}, /* duration_holdout */
    };
    size_t idx[4], r, i;
    double col[4], v[NCOL];
    int k;

    ck_assert_uint_eq(cvm_customers_count(c), 5);
    ck_assert_uint_eq(cvm_customers_transactions(c), 17);
    ck_assert_uint_eq(cvm_customers_summary_rows(c), 4);
    ck_assert_uint_eq(index_of(c, "A"), 0);
    ck_assert_uint_eq(index_of(c, "D"), 1);
    ck_assert_uint_eq(index_of(c, "B"), 2);
    ck_assert_uint_eq(index_of(c, "C"), 3);
    ck_assert_uint_eq(index_of(c, "E"), 4);
    CK_ST(cvm_customers_summary_index(c, idx, 4), CVM_OK);
    ck_assert_uint_eq(idx[0], 0);
    ck_assert_uint_eq(idx[1], 2);
    ck_assert_uint_eq(idx[2], 3);
    ck_assert_uint_eq(idx[3], 4);
    for (k = 0; k < NCOL; k++) {
        for (r = 0; r < 4; r++) {
            col[r] = -99;
        }
        CK_ST(cvm_customers_summary(c, &so, k, col, 4), CVM_OK);
        for (r = 0; r < 4; r++) {
            CHECK(col[r] == want[k][r], "column %d row %zu = %.17g, expected %.17g", k, r, col[r],
                  want[k][r]);
        }
    }
    /* cvm_customers_row gives the same values, row by row. */
    for (r = 0; r < 4; r++) {
        CK_ST(cvm_customers_row(c, idx[r], &so, v, NCOL), CVM_OK);
        for (k = 0; k < NCOL; k++) {
            CHECK(v[k] == want[k][r], "row %zu column %d = %.17g, expected %.17g", r, k, v[k],
                  want[k][r]);
        }
    }
    /* D's first purchase is after the calibration end: not a row. */
    CK_ST(cvm_customers_row(c, 1, &so, v, NCOL), CVM_E_NOT_FOUND);
    MSG_HAS(cvm_customers_errmsg(c), "calibration end");
    CK_ST(cvm_customers_row(c, 5, &so, v, NCOL), CVM_E_NOT_FOUND);

    /* Without an observation end the holdout columns are 0. */
    for (i = 0; i < 4; i++) {
        double z[NCOL];
        CK_ST(cvm_customers_row(c, idx[i], NULL, z, NCOL), CVM_OK);
        for (k = 0; k < 4; k++) {
            EXPECT_EQ(z[k], want[k][i]);
        }
        EXPECT_EQ(z[CVM_COL_FREQUENCY_HOLDOUT], 0);
        EXPECT_EQ(z[CVM_COL_MONETARY_HOLDOUT], 0);
        EXPECT_EQ(z[CVM_COL_DURATION_HOLDOUT], 0);
    }

    /* Fewer columns: only those are written. */
    for (k = 0; k < NCOL; k++) {
        v[k] = -1;
    }
    CK_ST(cvm_customers_row(c, 0, &so, v, 2), CVM_OK);
    EXPECT_EQ(v[0], 3);
    EXPECT_EQ(v[1], 30);
    EXPECT_EQ(v[2], -1);
    CK_ST(cvm_customers_row(c, 0, &so, v, NCOL + 1), CVM_E_INVALID);

    /* Bad column, wrong n. */
    CK_ST(cvm_customers_summary(c, &so, NCOL, col, 4), CVM_E_INVALID);
    MSG_HAS(cvm_customers_errmsg(c), "column");
    CK_ST(cvm_customers_summary(c, &so, -1, col, 4), CVM_E_INVALID);
    CK_ST(cvm_customers_summary(c, &so, CVM_COL_T, col, 3), CVM_E_INVALID);
    CK_ST(cvm_customers_summary(c, &so, CVM_COL_T, col, 5), CVM_E_INVALID);
    CK_ST(cvm_customers_summary_index(c, idx, 3), CVM_E_INVALID);
    cvm_customers_free(c);
}
END_TEST

START_TEST(test_summary_hand_weeks)
{
    cvm_customers *c = hand_log();
    cvm_summary_options so = sopts(WEEK, at(50, 1));
    double v[NCOL];
    /* Same log in weeks: counts and amounts unchanged, times / 7
     * (tolerance: see EXPECT_NEAR). */
    row_of(c, "A", &so, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 3);
    EXPECT_NEAR(v[CVM_COL_RECENCY], 30.0 / 7.0);
    EXPECT_NEAR(v[CVM_COL_T], 30.0 / 7.0);
    EXPECT_EQ(v[CVM_COL_MONETARY], 5);
    EXPECT_EQ(v[CVM_COL_FREQUENCY_HOLDOUT], 2);
    EXPECT_EQ(v[CVM_COL_MONETARY_HOLDOUT], 5);
    EXPECT_NEAR(v[CVM_COL_DURATION_HOLDOUT], 20.0 / 7.0);
    row_of(c, "B", &so, v);
    EXPECT_EQ(v[CVM_COL_RECENCY], 0);
    EXPECT_NEAR(v[CVM_COL_T], 25.0 / 7.0);
    row_of(c, "C", &so, v);
    EXPECT_NEAR(v[CVM_COL_T], 4.0);
    EXPECT_EQ(v[CVM_COL_MONETARY_HOLDOUT], 8);
    row_of(c, "E", &so, v);
    EXPECT_EQ(v[CVM_COL_T], 0);
    /* In hours: exact, 24 * whole days. */
    so = sopts(3600, at(50, 1));
    row_of(c, "A", &so, v);
    EXPECT_EQ(v[CVM_COL_RECENCY], 720);
    EXPECT_EQ(v[CVM_COL_T], 720);
    EXPECT_EQ(v[CVM_COL_DURATION_HOLDOUT], 480);
    cvm_customers_free(c);
}
END_TEST

START_TEST(test_summary_holdout_ranges)
{
    cvm_customers *c = hand_log(), *n = model(NONE);
    cvm_summary_options so;
    double col[4], v[NCOL];
    mstate before;

    mstate_take(c, NULL, &before);
    /* Observation end a day before the calibration end. */
    so = sopts(DAY, at(29, hms(23, 0, 0)));
    CK_ST(cvm_customers_summary(c, &so, CVM_COL_FREQUENCY_HOLDOUT, col, 4), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "observation end is before the calibration end");
    CK_ST(cvm_customers_row(c, 0, &so, v, NCOL), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "observation end");
    /* Earlier in the same day as the calibration end: the same period, so
     * not before it; an empty holdout. */
    so = sopts(DAY, at(30, 0));
    row_of(c, "A", &so, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY_HOLDOUT], 0);
    EXPECT_EQ(v[CVM_COL_MONETARY_HOLDOUT], 0);
    EXPECT_EQ(v[CVM_COL_DURATION_HOLDOUT], 0);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 3);
    /* Observation end on day 31: A's two day-31 purchases. */
    so = sopts(DAY, at(31, hms(0, 0, 1)));
    row_of(c, "A", &so, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY_HOLDOUT], 1);
    EXPECT_EQ(v[CVM_COL_MONETARY_HOLDOUT], 8.5);
    EXPECT_EQ(v[CVM_COL_DURATION_HOLDOUT], 1);
    /* Far in the future: day 51's purchase now counts. */
    so = sopts(DAY, at(100, 0));
    row_of(c, "A", &so, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY_HOLDOUT], 3);
    EXPECT_EQ(v[CVM_COL_MONETARY_HOLDOUT], (8.5 + 1.5 + 100) / 3);
    EXPECT_EQ(v[CVM_COL_DURATION_HOLDOUT], 70);
    expect_unchanged(c, NULL, &before, "after holdout queries");
    mstate_free(&before);

    /* A holdout needs a calibration end. */
    add(n, "A", at(0, 0), 1);
    so = sopts(DAY, at(10, 0));
    CK_ST(cvm_customers_summary(n, &so, CVM_COL_FREQUENCY_HOLDOUT, col, 1), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(n), "a holdout needs a calibration end");
    CK_ST(cvm_customers_row(n, 0, &so, v, 1), CVM_E_RANGE);
    cvm_customers_free(n);
    cvm_customers_free(c);
}
END_TEST

/* Without a calibration end, T runs to the latest purchase in the model,
 * anyone's. A: days 0 and 10; B: day 4; C: day 20 -> latest day 20:
 * T_A = 20, T_B = 16, T_C = 0. A later purchase by C (day 25) moves T of
 * everyone. */
START_TEST(test_summary_t_without_calibration_end)
{
    cvm_customers *c = model(NONE);
    double v[NCOL], col[3];
    add(c, "A", at(0, 0), 1);
    add(c, "B", at(4, 0), 1);
    add(c, "C", at(20, 0), 4);
    add(c, "A", at(10, 0), 2);
    ck_assert_uint_eq(cvm_customers_summary_rows(c), 3);
    CK_ST(cvm_customers_summary(c, NULL, CVM_COL_T, col, 3), CVM_OK);
    EXPECT_EQ(col[0], 20);
    EXPECT_EQ(col[1], 16);
    EXPECT_EQ(col[2], 0);
    row_of(c, "A", NULL, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
    EXPECT_EQ(v[CVM_COL_RECENCY], 10);
    EXPECT_EQ(v[CVM_COL_MONETARY], 2);
    EXPECT_EQ(v[CVM_COL_DURATION_HOLDOUT], 0);
    add(c, "C", at(25, hms(23, 0, 0)), 1);
    CK_ST(cvm_customers_summary(c, NULL, CVM_COL_T, col, 3), CVM_OK);
    EXPECT_EQ(col[0], 25);
    EXPECT_EQ(col[1], 21);
    EXPECT_EQ(col[2], 5);
    /* An earlier purchase does not move the reference. */
    add(c, "B", at(1, 0), 1);
    CK_ST(cvm_customers_summary(c, NULL, CVM_COL_T, col, 3), CVM_OK);
    EXPECT_EQ(col[0], 25);
    EXPECT_EQ(col[1], 24);
    cvm_customers_free(c);
}
END_TEST

/* Period arithmetic right at period boundaries, for periods of odd and
 * large lengths and origins before, near and after the purchases (so that
 * t - origin is positive, huge, or negative). With unit_seconds 1, recency
 * is (last period - first period) * period_seconds. For each boundary b =
 * origin + k * period: b - 1 and b are in adjacent periods (x 1, t_x one
 * period); b and b + period - 1 share one (x 0). */
START_TEST(test_period_boundaries)
{
    /* 49: 49 * (1.0 / 49) rounds below 1, a case for any division-free
     * shortcut */
    static const int64_t periods[] = {1,
                                      3,
                                      7,
                                      49,
                                      1000,
                                      3600,
                                      21601,
                                      86399,
                                      86400,
                                      86401,
                                      604800,
                                      999983,
                                      INT64_C(1) << 30,
                                      INT64_C(1000000007)};
    cvm_summary_options so = sopts(1, NONE);
    prng r = {UINT64_C(0xB0B)};
    size_t pi;
    for (pi = 0; pi < sizeof periods / sizeof *periods; pi++) {
        const int64_t p = periods[pi];
        const int64_t origins[5] = {0, 12345, T0 + 40 * DAY + 777, -(INT64_C(1) << 52) + 5,
                                    -(INT64_C(1) << 59)};
        int oi;
        for (oi = 0; oi < 5; oi++) {
            const int64_t origin = origins[oi];
            /* boundaries b with 1 <= b - 1 and b + p - 1 < 2^60 (the time
             * limit), periods inside (INT32_MIN, INT32_MAX) */
            int64_t kmin = origin >= 2 ? -((origin - 2) / p) : (2 - origin + p - 1) / p;
            int64_t kmax = ((INT64_C(1) << 60) - origin) / p - 2;
            cvm_customers *c;
            int i, made = 0;
            if (kmin < INT32_MIN + 3) {
                kmin = INT32_MIN + 3;
            }
            if (kmax > INT32_MAX - 3) {
                kmax = INT32_MAX - 3;
            }
            if (kmin > kmax) {
                continue;
            }
            c = model_opts(p, origin, NONE);
            for (i = 0; i < 60; i++) {
                int64_t k = kmin + (int64_t)below(&r, (uint64_t)(kmax - kmin + 1));
                int64_t b = origin + k * p;
                char id1[32], id2[32];
                double v[NCOL];
                if (i == 0) {
                    k = kmin;
                } else if (i == 1) {
                    k = kmax;
                }
                b = origin + k * p;
                snprintf(id1, sizeof id1, "adj%d", i);
                snprintf(id2, sizeof id2, "same%d", i);
                add(c, id1, b, 1);
                add(c, id1, b - 1, 1); /* out of order on purpose */
                add(c, id2, b + p - 1, 1);
                add(c, id2, b, 1);
                made++;
                row_of(c, id1, &so, v);
                CHECK(v[CVM_COL_FREQUENCY] == 1 && v[CVM_COL_RECENCY] == (double)p,
                      "period %lld origin %lld boundary %lld: t-1 and t gave x %g t_x %g",
                      (long long)p, (long long)origin, (long long)b, v[CVM_COL_FREQUENCY],
                      v[CVM_COL_RECENCY]);
                row_of(c, id2, &so, v);
                CHECK(v[CVM_COL_FREQUENCY] == 0 && v[CVM_COL_RECENCY] == 0,
                      "period %lld origin %lld boundary %lld: t and t+p-1 gave x %g t_x %g",
                      (long long)p, (long long)origin, (long long)b, v[CVM_COL_FREQUENCY],
                      v[CVM_COL_RECENCY]);
            }
            ck_assert_int_gt(made, 0);
            cvm_customers_free(c);
        }
    }
}
END_TEST

/* Periods other than a day, and a period origin. */
START_TEST(test_summary_period_and_origin)
{
    /* Weekly periods starting on Wednesday 2020-01-01 (T0): day 0 and day 6
     * share a period, day 7 is the next one. */
    cvm_customers *c = model_opts(WEEK, T0, NONE);
    cvm_customers *h = model_opts(DAY, 6 * 3600, NONE);
    double v[NCOL];
    add(c, "A", at(0, 0), 1);
    add(c, "A", at(6, hms(23, 59, 59)), 2);
    add(c, "A", at(7, 0), 4);
    add(c, "A", at(20, 0), 8); /* week 2 */
    row_of(c, "A", NULL, v);   /* unit: a day, so a week is 7 */
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 2);
    EXPECT_EQ(v[CVM_COL_RECENCY], 14);
    EXPECT_EQ(v[CVM_COL_T], 14);
    EXPECT_EQ(v[CVM_COL_MONETARY], 6);
    /* Days starting at 06:00 UTC: 05:59 belongs to the day before. */
    add(h, "A", at(1, hms(5, 59, 0)), 1);
    add(h, "A", at(0, hms(7, 0, 0)), 2);
    add(h, "A", at(1, hms(6, 0, 0)), 4);
    row_of(h, "A", NULL, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
    EXPECT_EQ(v[CVM_COL_RECENCY], 1);
    EXPECT_EQ(v[CVM_COL_MONETARY], 4);
    cvm_customers_free(c);
    cvm_customers_free(h);
}
END_TEST

START_TEST(test_ids_find_roundtrip)
{
    static const char nul_b[3] = {'a', '\0', 'b'};
    static const char nul_c[3] = {'a', '\0', 'c'};
    static const char just_a[1] = {'a'};
    static const char one_nul[1] = {'\0'};
    static const char high[1] = {'\xff'};
    const char *ids[5] = {nul_b, nul_c, just_a, one_nul, high};
    const size_t lens[5] = {3, 3, 1, 1, 1};
    cvm_customers *c = model(NONE);
    char *big = malloc(65537), *big2 = malloc(65536);
    size_t i, j, len;
    const char *id;
    double v[NCOL];
    mstate before;

    for (i = 0; i < 5; i++) {
        /* customer i buys on i + 1 distinct days */
        for (j = 0; j <= i; j++) {
            CK_ST(cvm_customers_add(c, ids[i], lens[i], at((int64_t)j, 0), 1.0), CVM_OK);
        }
    }
    ck_assert_uint_eq(cvm_customers_count(c), 5);
    for (i = 0; i < 5; i++) {
        size_t k = SIZE_MAX;
        CK_ST(cvm_customers_find(c, ids[i], lens[i], &k), CVM_OK);
        ck_assert_uint_eq(k, i);
        CK_ST(cvm_customers_id(c, k, &id, &len), CVM_OK);
        ck_assert_uint_eq(len, lens[i]);
        ck_assert_mem_eq(id, ids[i], len);
        CK_ST(cvm_customers_row(c, k, NULL, v, NCOL), CVM_OK);
        EXPECT_EQ(v[CVM_COL_FREQUENCY], (double)i);
    }
    /* Ids around the 8-byte inline limit and with NUL bytes at either end:
     * all distinct from each other and from the ones above. */
    {
        static const char *const shapes[] = {"a\0",
                                             "\0a",
                                             "\0",
                                             "\0\0",
                                             "abcdefgh",
                                             "abcdefghi",
                                             "ab\0\0\0\0\0c",
                                             "ab\0\0\0\0\0c\0",
                                             "abcdefg",
                                             "abcdefgh\0"};
        static const size_t slens[] = {2, 2, 1, 2, 8, 9, 8, 9, 7, 9};
        size_t n0 = cvm_customers_count(c), s2;
        for (s2 = 0; s2 < 10; s2++) {
            CK_ST(cvm_customers_add(c, shapes[s2], slens[s2], at((int64_t)s2, 0), 0.25), CVM_OK);
        }
        ck_assert_uint_eq(cvm_customers_count(c), n0 + 9); /* "\0" is one above */
        for (s2 = 0; s2 < 10; s2++) {
            size_t k = SIZE_MAX;
            CK_ST(cvm_customers_find(c, shapes[s2], slens[s2], &k), CVM_OK);
            CK_ST(cvm_customers_id(c, k, &id, &len), CVM_OK);
            ck_assert_uint_eq(len, slens[s2]);
            ck_assert_mem_eq(id, shapes[s2], len);
        }
        CK_ST(cvm_customers_find(c, "abcdefgh\0\0", 10, &j), CVM_E_NOT_FOUND);
        CK_ST(cvm_customers_find(c, "a\0\0", 3, &j), CVM_E_NOT_FOUND);
        CK_ST(cvm_customers_find(c, "\0\0\0", 3, &j), CVM_E_NOT_FOUND);
    }
    /* Prefixes and extensions are other ids. */
    CK_ST(cvm_customers_find(c, "a\0b\0", 4, &j), CVM_E_NOT_FOUND);
    CK_ST(cvm_customers_find(c, "a\0bb", 4, &j), CVM_E_NOT_FOUND);
    CK_ST(cvm_customers_find(c, "zz", 2, &j), CVM_E_NOT_FOUND);
    CK_ST(cvm_customers_id(c, 14, &id, &len), CVM_E_NOT_FOUND);

    /* The longest id, and one differing from it only in its last byte. */
    for (i = 0; i < 65537; i++) {
        big[i] = (char)(i * 131 + 7);
    }
    memcpy(big2, big, 65535);
    big2[65534] ^= 1;
    CK_ST(cvm_customers_add(c, big, 65535, at(3, 0), 0.25), CVM_OK);
    CK_ST(cvm_customers_add(c, big2, 65535, at(4, 0), 0.5), CVM_OK);
    ck_assert_uint_eq(cvm_customers_count(c), 16);
    CK_ST(cvm_customers_find(c, big, 65535, &j), CVM_OK);
    ck_assert_uint_eq(j, 14);
    CK_ST(cvm_customers_id(c, 14, &id, &len), CVM_OK);
    ck_assert_uint_eq(len, 65535);
    ck_assert_int_eq(memcmp(id, big, 65535), 0);
    CK_ST(cvm_customers_find(c, big2, 65535, &j), CVM_OK);
    ck_assert_uint_eq(j, 15);

    /* Too long, empty, NULL: refused, nothing changes. */
    mstate_take(c, NULL, &before);
    CK_ST(cvm_customers_add(c, big, 65536, at(3, 0), 1), CVM_E_INVALID);
    MSG_HAS(cvm_customers_errmsg(c), "longer than 65535");
    CK_ST(cvm_customers_add(c, big, 0, at(3, 0), 1), CVM_E_INVALID);
    MSG_HAS(cvm_customers_errmsg(c), "empty");
    CK_ST(cvm_customers_add(c, NULL, 1, at(3, 0), 1), CVM_E_INVALID);
    CK_ST(cvm_customers_find(c, big, 65536, &j), CVM_E_NOT_FOUND);
    expect_unchanged(c, NULL, &before, "after refused ids");
    mstate_free(&before);
    free(big);
    free(big2);
    cvm_customers_free(c);
}
END_TEST

/* 200000 ids of 8 bytes sharing their first 4: with 2^32 possible hash
 * tags, a few pairs of them (about n^2 / 2^33, so 4 or 5) share the tag the
 * id table probes with, and only a comparison of the whole id tells them
 * apart. Every id must stay its own customer. */
START_TEST(test_many_similar_ids)
{
    const size_t n = 200000, chunk = 10000;
    char *data = malloc(chunk * 8);
    size_t *off = malloc((chunk + 1) * sizeof *off);
    int64_t *t = malloc(chunk * sizeof *t);
    cvm_customers *c = model(NONE);
    size_t i, j, base;
    off[0] = 0;
    for (base = 0; base < n; base += chunk) {
        for (j = 0; j < chunk; j++) {
            size_t x = base + j;
            int b;
            memcpy(data + 8 * j, "abcd", 4);
            for (b = 4; b < 8; b++) { /* bytes 1..255: no NUL, kept inline */
                data[8 * j + (size_t)b] = (char)(1 + x % 255);
                x /= 255;
            }
            off[j + 1] = 8 * (j + 1);
            t[j] = at((int64_t)(j % 20), 0);
        }
        CK_ST(cvm_customers_add_batch(c, data, off, t, NULL, chunk), CVM_OK);
    }
    ck_assert_uint_eq(cvm_customers_count(c), n);
    ck_assert_uint_eq(cvm_customers_summary_rows(c), n);
    for (i = 0; i < n; i++) {
        char id[8];
        const char *got;
        size_t x = i, len, k = SIZE_MAX;
        int b;
        memcpy(id, "abcd", 4);
        for (b = 4; b < 8; b++) {
            id[b] = (char)(1 + x % 255);
            x /= 255;
        }
        CK_ST(cvm_customers_find(c, id, 8, &k), CVM_OK);
        CHECK(k == i, "id %zu found as customer %zu", i, k);
        CK_ST(cvm_customers_id(c, i, &got, &len), CVM_OK);
        CHECK(len == 8 && memcmp(got, id, 8) == 0, "id of customer %zu differs", i);
    }
    /* One more purchase for every 97th goes to that customer alone:
     * customer i bought first on day (i % 10000) % 20, now on day 25. */
    for (i = 0; i < n; i += 97) {
        char id[8];
        size_t x = i;
        int b;
        memcpy(id, "abcd", 4);
        for (b = 4; b < 8; b++) {
            id[b] = (char)(1 + x % 255);
            x /= 255;
        }
        CK_ST(cvm_customers_add(c, id, 8, at(25, 0), 0.5), CVM_OK);
    }
    ck_assert_uint_eq(cvm_customers_count(c), n);
    for (i = 0; i < n; i++) {
        double v[NCOL];
        int again = i % 97 == 0;
        CK_ST(cvm_customers_row(c, i, NULL, v, NCOL), CVM_OK);
        CHECK(v[CVM_COL_FREQUENCY] == (again ? 1 : 0) &&
                  v[CVM_COL_RECENCY] == (again ? 25.0 - (double)(i % chunk % 20) : 0) &&
                  v[CVM_COL_MONETARY] == (again ? 0.5 : 0),
              "customer %zu: x %g t_x %g m %g", i, v[CVM_COL_FREQUENCY], v[CVM_COL_RECENCY],
              v[CVM_COL_MONETARY]);
    }
    free(data);
    free(off);
    free(t);
    cvm_customers_free(c);
}
END_TEST

/* ======================================================================= */
/* 3. Out-of-order events                                                  */
/* ======================================================================= */

/* Customer A's base purchases: days 10 (1), 20 (2), 30 (4), at 01:00. One
 * more purchase of 8 arrives last, in each case of the incremental update.
 * Expected values, worked by hand:
 *  - no calibration end (T to the latest purchase, which is A's);
 *  - calibration end day 35, observation end day 45 (T to day 35). */
typedef struct ooo_case {
    const char *name;
    int64_t day, sec;
    double freq, rec, t, mon;             /* no calibration end */
    double cfreq, crec, ct, cmon, fh, mh; /* calibration end day 35 */
} ooo_case;

static const ooo_case ooo_cases[] = {
    /* days 5(8) 10(1) 20(2) 30(4): x 3, t_x 25, T 25, m (1+2+4)/3 */
    {"before first", 5, 0, 3, 25, 25, 7.0 / 3, 3, 25, 30, 7.0 / 3, 0, 0},
    /* days 10(1+8) 20(2) 30(4): x 2, t_x 20, m (2+4)/2 */
    {"equal to first", 10, 80000, 2, 20, 20, 3, 2, 20, 25, 3, 0, 0},
    /* days 10 15(8) 20 30: x 3, m (8+2+4)/3 */
    {"between, new day", 15, 0, 3, 20, 20, 14.0 / 3, 3, 20, 25, 14.0 / 3, 0, 0},
    /* days 10 20(2+8) 30: x 2, m (10+4)/2 */
    {"between, existing day", 20, 80000, 2, 20, 20, 7, 2, 20, 25, 7, 0, 0},
    /* days 10 20 30(8+4, the 8 earlier in the day): x 2, m (2+12)/2 */
    {"equal to last", 30, 0, 2, 20, 20, 7, 2, 20, 25, 7, 0, 0},
    /* days 10 20 30 40(8): x 3, t_x 30, m (2+4+8)/3; with the calibration
     * end on day 35 the 8 is holdout: x 2, m 3, one holdout day of 8 */
    {"after last", 40, 0, 3, 30, 30, 14.0 / 3, 2, 20, 25, 3, 1, 8},
};

START_TEST(test_out_of_order_cases)
{
    const int64_t base_day[3] = {10, 20, 30};
    const double base_amt[3] = {1, 2, 4};
    const ooo_case *k = &ooo_cases[_i];
    int mode;
    for (mode = 0; mode < 2; mode++) {
        int64_t cal = mode ? at(35, 0) : NONE;
        cvm_summary_options so = sopts(DAY, mode ? at(45, 0) : NONE);
        cvm_customers *inc = model(cal), *ordered = model(cal);
        double want[NCOL];
        tev ev[4];
        int p[4] = {0, 1, 2, 3}, perm;
        size_t i;
        for (i = 0; i < 3; i++) {
            ev[i].id = "A";
            ev[i].len = 1;
            ev[i].t = at(base_day[i], 3600);
            ev[i].amount = base_amt[i];
            ev[i].seq = i;
        }
        ev[3].id = "A";
        ev[3].len = 1;
        ev[3].t = at(k->day, k->sec);
        ev[3].amount = 8;
        ev[3].seq = 3;
        want[CVM_COL_FREQUENCY] = mode ? k->cfreq : k->freq;
        want[CVM_COL_RECENCY] = mode ? k->crec : k->rec;
        want[CVM_COL_T] = mode ? k->ct : k->t;
        want[CVM_COL_MONETARY] = mode ? k->cmon : k->mon;
        want[CVM_COL_FREQUENCY_HOLDOUT] = mode ? k->fh : 0;
        want[CVM_COL_MONETARY_HOLDOUT] = mode ? k->mh : 0;
        want[CVM_COL_DURATION_HOLDOUT] = mode ? 10 : 0;

        /* The incremental case: the base in time order, then the new one. */
        for (i = 0; i < 4; i++) {
            add(inc, "A", ev[i].t, ev[i].amount);
        }
        expect_row(inc, "A", &so, want);
        /* The same events in time order. */
        {
            tev sorted[4];
            memcpy(sorted, ev, sizeof ev);
            qsort(sorted, 4, sizeof *sorted, cmp_time);
            for (i = 0; i < 4; i++) {
                add(ordered, "A", sorted[i].t, sorted[i].amount);
            }
        }
        expect_row(ordered, "A", &so, want);
        expect_same_model(ordered, inc, &so, k->name);
        {
            rcfg g = {DAY, 0, cal, mode ? at(45, 0) : NONE, DAY};
            expect_reference(inc, ev, 4, &g, k->name);
        }
        /* Every one of the 24 orders. */
        for (perm = 0; perm < 24; perm++) {
            cvm_customers *x = model(cal);
            int q[4], used[4] = {0, 0, 0, 0}, r = perm, j;
            for (j = 0; j < 4; j++) {
                int pick = r % (4 - j), m;
                r /= 4 - j;
                for (m = 0; m < 4; m++) {
                    if (!used[m] && pick-- == 0) {
                        break;
                    }
                }
                used[m] = 1;
                q[j] = p[m];
            }
            for (j = 0; j < 4; j++) {
                add(x, "A", ev[q[j]].t, ev[q[j]].amount);
            }
            expect_row(x, "A", &so, want);
            cvm_customers_free(x);
        }
        cvm_customers_free(inc);
        cvm_customers_free(ordered);
    }
}
END_TEST

/* ======================================================================= */
/* 4 & 8. Property test, and the real-time row after every add             */
/* ======================================================================= */

#define PROP_MAX_CUST 12
#define PROP_MAX_EV 80

typedef struct world {
    rcfg g;
    size_t n;
    unsigned char ids[PROP_MAX_CUST][12];
    size_t idlen[PROP_MAX_CUST];
    tev ev[PROP_MAX_EV];
} world;

static void make_world(prng *r, world *w)
{
    static const int64_t periods[] = {DAY, DAY, DAY, 3600, 6 * 3600, WEEK};
    static const int64_t units[] = {DAY, DAY, WEEK, 3600};
    size_t ncust = 1 + (size_t)below(r, PROP_MAX_CUST), i, k;
    int64_t span = 1 + (int64_t)below(r, 60);
    memset(w, 0, sizeof *w);
    w->g.period = periods[below(r, 6)];
    w->g.origin = below(r, 3) == 0 ? (int64_t)below(r, 2 * (uint64_t)w->g.period) - w->g.period : 0;
    w->g.unit = units[below(r, 4)];
    w->g.cal_end = below(r, 5) == 0
                       ? NONE
                       : at((int64_t)below(r, (uint64_t)span + 4) - 2, (int64_t)below(r, DAY));
    w->g.obs_end = (w->g.cal_end == NONE || below(r, 3) == 0)
                       ? NONE
                       : w->g.cal_end + (int64_t)below(r, 25 * DAY);
    /* Distinct ids by their first byte (0 included: ids with NUL bytes),
     * the rest random bytes; 1 to 12 bytes, so both ids kept inline (up to
     * 8 bytes, no NUL at either end) and ids kept apart occur. */
    for (k = 0; k < ncust; k++) {
        w->idlen[k] = 1 + (size_t)below(r, 12);
        w->ids[k][0] = (unsigned char)(k * 17);
        for (i = 1; i < w->idlen[k]; i++) {
            w->ids[k][i] = (unsigned char)below(r, 256);
        }
    }
    w->n = (size_t)below(r, PROP_MAX_EV + 1);
    for (i = 0; i < w->n; i++) {
        k = (size_t)below(r, ncust);
        w->ev[i].id = (const char *)w->ids[k];
        w->ev[i].len = w->idlen[k];
        if (i > 0 && below(r, 8) == 0) {
            w->ev[i].t = w->ev[below(r, i)].t; /* the very same second */
        } else {
            w->ev[i].t = at((int64_t)below(r, (uint64_t)span), (int64_t)below(r, DAY));
        }
        w->ev[i].amount = (double)below(r, 401) * 0.25;
        w->ev[i].seq = i;
    }
}

static cvm_customers *world_model(const world *w)
{
    return model_opts(w->g.period, w->g.origin, w->g.cal_end);
}

static void add_ev(cvm_customers *c, const tev *e)
{
    cvm_status s = cvm_customers_add(c, e->id, e->len, e->t, e->amount);
    CHECK(s == CVM_OK, "add: %s", cvm_customers_errmsg(c));
}

/* Add `n` events through cvm_customers_add_batch in random chunks. */
static void add_batched(prng *r, cvm_customers *c, const tev *ev, size_t n)
{
    size_t i = 0;
    CK_ST(cvm_customers_add_batch(c, NULL, NULL, NULL, NULL, 0), CVM_OK);
    while (i < n) {
        size_t left = n - i, m = 1 + (size_t)below(r, left < 12 ? left : 12), j, bytes = 0;
        size_t off[13];
        int64_t t[12];
        double a[12];
        char *data;
        for (j = 0; j < m; j++) {
            bytes += ev[i + j].len;
        }
        data = malloc(bytes + 1);
        ck_assert_ptr_nonnull(data);
        off[0] = 0;
        for (j = 0; j < m; j++) {
            memcpy(data + off[j], ev[i + j].id, ev[i + j].len);
            off[j + 1] = off[j] + ev[i + j].len;
            t[j] = ev[i + j].t;
            a[j] = ev[i + j].amount;
        }
        CK_ST(cvm_customers_add_batch(c, data, off, t, a, m), CVM_OK);
        free(data);
        i += m;
    }
}

static void csv_variant(prng *r, const world *w, int it)
{
    static const char hexd[] = "0123456789abcdef";
    char hexid[PROP_MAX_EV][25];
    tev hexev[PROP_MAX_EV];
    size_t cap = 64 + (size_t)w->n * 80, len = 0, i, j;
    char *text = malloc(cap), what[64];
    int dialect = (int)below(r, 3);
    cvm_csv_options o = CVM_CSV_OPTIONS_INIT;
    cvm_customers *f = world_model(w);
    cvm_status s;
    o.date_format = CVM_DATE_UNIX;
    ck_assert_ptr_nonnull(text);
    if (dialect == 0) { /* comma, header, LF */
        len += (size_t)snprintf(text + len, cap - len, "id,time,amount\n");
    } else if (dialect == 1) { /* ';', quoted ids, named columns in another order, CRLF */
        o.delimiter = ';';
        o.id_column = "who";
        o.date_column = "when";
        o.amount_column = "paid";
        len += (size_t)snprintf(text + len, cap - len, "paid;who;when\r\n");
    } else { /* blanks, no header */
        o.whitespace = 1;
        o.has_header = 0;
    }
    for (i = 0; i < w->n; i++) {
        for (j = 0; j < w->ev[i].len; j++) {
            unsigned char b = (unsigned char)w->ev[i].id[j];
            hexid[i][2 * j] = hexd[b >> 4];
            hexid[i][2 * j + 1] = hexd[b & 15];
        }
        hexid[i][2 * j] = '\0';
        hexev[i] = w->ev[i];
        hexev[i].id = hexid[i];
        hexev[i].len = 2 * w->ev[i].len;
        /* multiples of 0.25 print exactly with two decimals */
        if (dialect == 0) {
            len += (size_t)snprintf(text + len, cap - len, "%s,%lld,%.2f\n", hexid[i],
                                    (long long)w->ev[i].t, w->ev[i].amount);
        } else if (dialect == 1) {
            len += (size_t)snprintf(text + len, cap - len, "%.2f;\"%s\";%lld\r\n", w->ev[i].amount,
                                    hexid[i], (long long)w->ev[i].t);
        } else {
            len += (size_t)snprintf(text + len, cap - len, " %s\t%lld   %.2f \n", hexid[i],
                                    (long long)w->ev[i].t, w->ev[i].amount);
        }
    }
    s = cvm_customers_load_csv_buffer(f, text, len, "p.csv", &o);
    if (w->n == 0) {
        CK_ST(s, CVM_E_EMPTY);
    } else {
        CHECK(s == CVM_OK, "iteration %d: CSV dialect %d: %s", it, dialect,
              cvm_customers_errmsg(f));
    }
    snprintf(what, sizeof what, "iteration %d, CSV dialect %d", it, dialect);
    expect_reference(f, hexev, w->n, &w->g, what);
    free(text);
    cvm_customers_free(f);
}

static void property_iteration(prng *r, const char *snap, int it)
{
    world w;
    tev sorted[PROP_MAX_EV], perm[PROP_MAX_EV], perm2[PROP_MAX_EV], shard_ev[4][PROP_MAX_EV];
    size_t shard_n[4] = {0, 0, 0, 0}, i, nshards;
    cvm_customers *a, *b, *bc, *sh[4], *loaded = NULL;
    cvm_summary_options so;
    char what[64], err[512] = "";
    int s;

    make_world(r, &w);
    so = sopts(w.g.unit, w.g.obs_end);
    memcpy(sorted, w.ev, w.n * sizeof *sorted);
    qsort(sorted, w.n, sizeof *sorted, cmp_time);
    memcpy(perm, w.ev, w.n * sizeof *perm);
    shuffle(r, perm, w.n);
    memcpy(perm2, w.ev, w.n * sizeof *perm2);
    shuffle(r, perm2, w.n);

    /* (a) time order */
    a = world_model(&w);
    for (i = 0; i < w.n; i++) {
        add_ev(a, &sorted[i]);
    }
    snprintf(what, sizeof what, "iteration %d, time order", it);
    expect_reference(a, w.ev, w.n, &w.g, what);

    /* (b) a random order, checking the added customer's row after every
     * add against the reference over the events so far (8.) */
    b = world_model(&w);
    for (i = 0; i < w.n; i++) {
        double want[NCOL], got[NCOL];
        size_t j = SIZE_MAX;
        int has, k;
        cvm_status st;
        add_ev(b, &perm[i]);
        CK_ST(cvm_customers_find(b, perm[i].id, perm[i].len, &j), CVM_OK);
        has = ref_row(perm, i + 1, perm[i].id, perm[i].len, &w.g, want);
        st = cvm_customers_row(b, j, &so, got, NCOL);
        if (!has) {
            CHECK(st == CVM_E_NOT_FOUND, "iteration %d event %zu: row() gave %d", it, i, (int)st);
            continue;
        }
        CHECK(st == CVM_OK, "iteration %d event %zu: %s", it, i, cvm_customers_errmsg(b));
        for (k = 0; k < NCOL; k++) {
            CHECK(got[k] == want[k],
                  "iteration %d, after event %zu: column %d = %.17g, expected %.17g", it, i, k,
                  got[k], want[k]);
        }
    }
    snprintf(what, sizeof what, "iteration %d, permutation", it);
    expect_reference(b, w.ev, w.n, &w.g, what);
    expect_same_by_id(a, b, &so, what);

    /* (c) batches */
    bc = world_model(&w);
    add_batched(r, bc, perm2, w.n);
    snprintf(what, sizeof what, "iteration %d, batches", it);
    expect_reference(bc, w.ev, w.n, &w.g, what);
    expect_same_by_id(a, bc, &so, what);

    /* (d) shards merged */
    nshards = 2 + (size_t)below(r, 3);
    for (i = 0; i < w.n; i++) {
        size_t k = (size_t)below(r, nshards);
        shard_ev[k][shard_n[k]++] = perm[i];
    }
    for (s = 0; s < (int)nshards; s++) {
        sh[s] = world_model(&w);
        for (i = 0; i < shard_n[s]; i++) {
            add_ev(sh[s], &shard_ev[s][i]);
        }
    }
    for (s = 1; s < (int)nshards; s++) {
        mstate src;
        mstate_take(sh[s], &so, &src);
        CK_ST(cvm_customers_merge(sh[0], sh[s]), CVM_OK);
        snprintf(what, sizeof what, "iteration %d, merge source %d", it, s);
        expect_unchanged(sh[s], &so, &src, what);
        mstate_free(&src);
    }
    snprintf(what, sizeof what, "iteration %d, merged shards", it);
    expect_reference(sh[0], w.ev, w.n, &w.g, what);
    expect_same_by_id(a, sh[0], &so, what);

    /* (f) the same log as CSV text in a random dialect, ids hex-encoded
     * (a CSV field cannot hold every byte), compared with the reference
     * over the hex-encoded log */
    csv_variant(r, &w, it);

    /* (e) snapshot round trip: the very same model, indices included */
    CK_ST(cvm_customers_save(a, snap), CVM_OK);
    s = cvm_customers_load(&loaded, snap, NULL, err, sizeof err);
    CHECK(s == CVM_OK, "iteration %d: load: %s", it, err);
    snprintf(what, sizeof what, "iteration %d, snapshot", it);
    expect_same_model(a, loaded, &so, what);
    expect_reference(loaded, w.ev, w.n, &w.g, what);

    cvm_customers_free(a);
    cvm_customers_free(b);
    cvm_customers_free(bc);
    cvm_customers_free(loaded);
    for (s = 0; s < (int)nshards; s++) {
        cvm_customers_free(sh[s]);
    }
}

#define PROP_SEEDS 6
#define PROP_ITERS_PER_SEED 100

START_TEST(test_property_equivalence)
{
    char *dir = tu_tmpdir();
    char *snap = tu_join(dir, "p.snap");
    prng r;
    int it;
    r.s = UINT64_C(0x5EED0000) + (uint64_t)_i;
    for (it = 0; it < PROP_ITERS_PER_SEED; it++) {
        property_iteration(&r, snap, _i * PROP_ITERS_PER_SEED + it);
    }
    free(snap);
    tu_remove_tree(dir);
}
END_TEST

/* 8. A simple real-time check: the row is current after every add. */
START_TEST(test_realtime_row)
{
    cvm_customers *c = model(at(20, 0));
    cvm_summary_options so = sopts(DAY, at(30, 0));
    static const struct {
        int64_t day;
        double amount;
        double want[NCOL];
    } steps[] = {
        /*            x  t_x  T  m   xh mh  dur */
        {5, 2, {0, 0, 15, 0, 0, 0, 10}},       {8, 4, {1, 3, 15, 4, 0, 0, 10}},
        {8, 1, {1, 3, 15, 5, 0, 0, 10}},       {25, 3, {1, 3, 15, 5, 1, 3, 10}},
        {2, 1, {2, 6, 18, 3.5, 1, 3, 10}}, /* before first: the old first day (2) joins m */
        {6, 1, {3, 6, 18, 8.0 / 3, 1, 3, 10}}, {27, 5, {3, 6, 18, 8.0 / 3, 2, 4, 10}},
        {20, 4, {4, 18, 18, 3, 2, 4, 10}},   /* the calibration end's day */
        {31, 100, {4, 18, 18, 3, 2, 4, 10}}, /* after the observation end */
    };
    size_t i;
    for (i = 0; i < sizeof steps / sizeof *steps; i++) {
        add(c, "A", at(steps[i].day, hms(12, 0, 0)), steps[i].amount);
        add(c, "noise", at((int64_t)(i % 3), 0), 0.25);
        expect_row(c, "A", &so, steps[i].want);
    }
    cvm_customers_free(c);
}
END_TEST

/* ======================================================================= */
/* 5. Bad input                                                            */
/* ======================================================================= */

/* A model with data: calibration end day 30, holdout to day 60.
 * A: days 0, 5, 40 (holdout); B: day 3 twice, day 20; C: day 35 only. */
static cvm_customers *populated(void)
{
    cvm_customers *c = model(at(30, 0));
    add(c, "A", at(0, 100), 1.0);
    add(c, "A", at(5, 100), 2.5);
    add(c, "A", at(40, 0), 4.0);
    add(c, "B", at(3, 0), 0.75);
    add(c, "B", at(3, 50), 0.25);
    add(c, "B", at(20, 0), 8.0);
    add(c, "C", at(35, 0), 1.0);
    return c;
}

START_TEST(test_bad_add_values)
{
    cvm_customers *c = populated();
    cvm_summary_options so = sopts(DAY, at(60, 0));
    mstate before;
    size_t j;
    mstate_take(c, &so, &before);
    ck_assert_uint_eq(before.count, 3);
    ck_assert_uint_eq(before.tx, 7);
    ck_assert_uint_eq(before.rows, 2);

    CK_ST(cvm_customers_add(c, "A", 1, at(6, 0), NAN), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "amount is not finite");
    CK_ST(cvm_customers_add(c, "A", 1, at(6, 0), INFINITY), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "not finite");
    CK_ST(cvm_customers_add(c, "A", 1, at(6, 0), -INFINITY), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "not finite");
    CK_ST(cvm_customers_add(c, "A", 1, at(6, 0), -0.25), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "negative");
    CK_ST(cvm_customers_add(c, "A", 1, -1, 1.0), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "before 1970-01-01");
    CK_ST(cvm_customers_add(c, "A", 1, INT64_MIN, 1.0), CVM_E_RANGE);
    CK_ST(cvm_customers_add(c, "A", 1, INT64_MAX, 1.0), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "too far");
    /* A new customer with a bad purchase is not created either. */
    CK_ST(cvm_customers_add(c, "NEW", 3, at(6, 0), NAN), CVM_E_RANGE);
    CK_ST(cvm_customers_add(c, "NEW", 3, -5, 1.0), CVM_E_RANGE);
    CK_ST(cvm_customers_find(c, "NEW", 3, &j), CVM_E_NOT_FOUND);
    CK_ST(cvm_customers_add(NULL, "A", 1, at(6, 0), 1.0), CVM_E_INVALID);
    expect_unchanged(c, &so, &before, "after bad adds");
    /* Zero is a valid amount, and time 0 a valid time. */
    add(c, "Z", 0, 0.0);
    ck_assert_uint_eq(cvm_customers_count(c), 4);
    mstate_free(&before);
    cvm_customers_free(c);
}
END_TEST

typedef struct bad_csv {
    const char *what;
    const char *text;
    size_t len;            /* 0: strlen(text) */
    const char *id_column; /* NULL: columns by index */
    cvm_status status;
    const char *needle[3];
} bad_csv;

/* Line 1 a header, line 2 a good record (added, then taken back). */
#define HDR "id,date,amount\nA,2020-01-10,1\n"
#define NUL_TEXT HDR "A\0B,2020-01-11,1\n"

static const bad_csv bad_csvs[] = {
    {"NaN amount",
     HDR "A,2020-01-11,nan\n",
     0,
     NULL,
     CVM_E_RANGE,
     {"x.csv:3:14:", "amount 'nan'", "not finite"}},
    {"+inf amount",
     HDR "A,2020-01-11,+inf\n",
     0,
     NULL,
     CVM_E_RANGE,
     {"x.csv:3:14:", "amount '+inf'", "not finite"}},
    {"-inf amount",
     HDR "A,2020-01-11,-inf\n",
     0,
     NULL,
     CVM_E_RANGE,
     {"x.csv:3:14:", "amount '-inf'", "not finite"}},
    {"negative amount",
     HDR "A,2020-01-11,-0.5\n",
     0,
     NULL,
     CVM_E_RANGE,
     {"x.csv:3:14:", "amount '-0.5'", "negative"}},
    {"negative time",
     HDR "A,1969-12-31,1\n",
     0,
     NULL,
     CVM_E_RANGE,
     {"x.csv:3:", "-86400", "before 1970-01-01"}},
    {"text after closing quote",
     HDR "\"A\"x,2020-01-11,1\n",
     0,
     NULL,
     CVM_E_PARSE,
     {"x.csv:3:4:", "text after closing quote", NULL}},
    {"unterminated quote",
     HDR "\"A,2020-01-11,1\n",
     0,
     NULL,
     CVM_E_PARSE,
     {"x.csv:", "unterminated quoted field", "opened at line 3"}},
    {"missing named column",
     HDR "B,2020-01-11,1\n",
     0,
     "customer",
     CVM_E_NOT_FOUND,
     {"x.csv:1:", "no column named 'customer'", NULL}},
    {"too few fields",
     HDR "A,2020-01-11\n",
     0,
     NULL,
     CVM_E_PARSE,
     {"x.csv:3:", "2 fields", "expected at least 3"}},
    {"February 30",
     HDR "A,1997-02-30,1\n",
     0,
     NULL,
     CVM_E_PARSE,
     {"x.csv:3:3:", "date '1997-02-30'", "is not a date"}},
    {"date hello",
     HDR "A,hello,1\n",
     0,
     NULL,
     CVM_E_PARSE,
     {"x.csv:3:3:", "date 'hello'", "is not a date"}},
    {"amount abc",
     HDR "A,2020-01-11,abc\n",
     0,
     NULL,
     CVM_E_PARSE,
     {"x.csv:3:14:", "amount 'abc'", "is not a number"}},
    {"empty file", "", 0, NULL, CVM_E_EMPTY, {"x.csv", "no transactions", NULL}},
    {"header only", "id,date,amount\n", 0, NULL, CVM_E_EMPTY, {"x.csv", "no transactions", NULL}},
    {"blank lines only", "\n\r\n\n", 0, NULL, CVM_E_EMPTY, {"x.csv", "no transactions", NULL}},
    {"NUL byte",
     NUL_TEXT,
     sizeof NUL_TEXT - 1,
     NULL,
     CVM_E_PARSE,
     {"x.csv:3:2:", "NUL byte", NULL}},
    {"bad record before good ones",
     HDR "A,2020-01-11,x1\nB,2020-01-12,1\nN,2020-01-13,1\n",
     0,
     NULL,
     CVM_E_PARSE,
     {"x.csv:3:14:", "amount 'x1'", NULL}},
    {"no header, bad date first",
     "N,2020-13-01,1\n",
     0,
     NULL,
     CVM_E_PARSE,
     {"x.csv:1:3:", "date '2020-13-01'", NULL}},
};

static void check_bad(cvm_customers *c, cvm_status got, const bad_csv *b, const char *how)
{
    int k;
    CHECK(got == b->status, "%s (%s): status %d (%s), expected %d; message '%s'", b->what, how,
          (int)got, cvm_strerror(got), (int)b->status, cvm_customers_errmsg(c));
    for (k = 0; k < 3; k++) {
        if (b->needle[k]) {
            CHECK(strstr(cvm_customers_errmsg(c), b->needle[k]) != NULL,
                  "%s (%s): message '%s' lacks '%s'", b->what, how, cvm_customers_errmsg(c),
                  b->needle[k]);
        }
    }
}

START_TEST(test_bad_csv)
{
    const bad_csv *b = &bad_csvs[_i];
    char *dir = tu_tmpdir(), *path = tu_join(dir, "x.csv");
    size_t len = b->len ? b->len : strlen(b->text), j;
    cvm_customers *c = populated();
    cvm_summary_options so = sopts(DAY, at(60, 0));
    cvm_csv_options o = CVM_CSV_OPTIONS_INIT;
    mstate before;
    if (b->id_column) {
        o.id_column = b->id_column;
    }
    if (strncmp(b->what, "no header", 9) == 0) {
        o.has_header = 0;
    }
    tu_write_file(path, b->text, len);
    mstate_take(c, &so, &before);
    check_bad(c, cvm_customers_load_csv(c, path, &o), b, "file");
    expect_unchanged(c, &so, &before, b->what);
    check_bad(c, cvm_customers_load_csv_buffer(c, b->text, len, "x.csv", &o), b, "buffer");
    expect_unchanged(c, &so, &before, b->what);
    CK_ST(cvm_customers_find(c, "N", 1, &j), CVM_E_NOT_FOUND);
    mstate_free(&before);
    cvm_customers_free(c);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

/* The message of a date before 1970 should point at the date's column
 * (3 here: "A," is two bytes), as every other field problem does. */
START_TEST(test_bad_csv_time_column)
{
    static const char text[] = "id,date,amount\nA,1969-12-31,1\n";
    cvm_customers *c = model(NONE);
    CK_ST(cvm_customers_load_csv_buffer(c, text, strlen(text), "x.csv", NULL), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "before 1970-01-01");
    MSG_HAS(cvm_customers_errmsg(c), "x.csv:2:3:");
    ck_assert_uint_eq(cvm_customers_count(c), 0);
    cvm_customers_free(c);
}
END_TEST

/* Lines longer than the 1 MiB record limit, from a file (read in chunks)
 * and from memory. */
START_TEST(test_bad_csv_long_line)
{
    const size_t big = 1536 * 1024;
    static const char head[] = HDR "A,2020-01-11,1\n";
    size_t hl = strlen(head), len = hl + big + 16, j;
    char *text = malloc(len + 1), *dir = tu_tmpdir(), *path = tu_join(dir, "x.csv");
    cvm_customers *c = populated();
    cvm_summary_options so = sopts(DAY, at(60, 0));
    mstate before;
    memcpy(text, head, hl);
    memset(text + hl, 'x', big); /* an id of 1.5 MB on line 4 */
    memcpy(text + hl + big, ",2020-01-12,1\n", 14);
    len = hl + big + 14;
    tu_write_file(path, text, len);
    mstate_take(c, &so, &before);
    CK_ST(cvm_customers_load_csv(c, path, NULL), CVM_E_PARSE);
    MSG_HAS(cvm_customers_errmsg(c), "x.csv:4:");
    MSG_HAS(cvm_customers_errmsg(c), "longer than");
    expect_unchanged(c, &so, &before, "long line, file");
    CK_ST(cvm_customers_load_csv_buffer(c, text, len, "x.csv", NULL), CVM_E_PARSE);
    MSG_HAS(cvm_customers_errmsg(c), "x.csv:4:");
    MSG_HAS(cvm_customers_errmsg(c), "longer than");
    expect_unchanged(c, &so, &before, "long line, buffer");
    CK_ST(cvm_customers_find(c, "A", 1, &j), CVM_OK);
    mstate_free(&before);
    free(text);
    free(path);
    tu_remove_tree(dir);
    cvm_customers_free(c);
}
END_TEST

/* Many good lines, then a bad last one: nothing of the file stays. With and
 * without a calibration end (without one, the new purchases would also have
 * moved every T). */
START_TEST(test_bad_csv_all_or_nothing)
{
    const int nlines = 5000;
    size_t cap = (size_t)nlines * 40 + 100, len = 0, j;
    char *text = malloc(cap), *dir = tu_tmpdir(), *path = tu_join(dir, "x.csv");
    int i, mode;
    len += (size_t)snprintf(text + len, cap - len, "id,date,amount\n");
    for (i = 0; i < nlines; i++) {
        char date[16];
        const char *who = i % 10 == 0 ? "A" : i % 10 == 1 ? "B" : NULL;
        CK_ST(cvm_format_date(date, sizeof date, at(i % 300, 0)), CVM_OK);
        if (who) {
            len += (size_t)snprintf(text + len, cap - len, "%s,%s,%d.25\n", who, date, i % 7);
        } else {
            len += (size_t)snprintf(text + len, cap - len, "N%d,%s,%d.5\n", i % 1500, date, i % 9);
        }
    }
    len += (size_t)snprintf(text + len, cap - len, "B,2020-12-31,oops\n");
    tu_write_file(path, text, len);
    for (mode = 0; mode < 2; mode++) {
        cvm_customers *c = mode ? populated() : model(NONE);
        cvm_summary_options so = sopts(DAY, mode ? at(60, 0) : NONE);
        mstate before;
        if (!mode) {
            add(c, "A", at(0, 0), 1);
            add(c, "A", at(2, 0), 0.5);
            add(c, "B", at(1, 0), 2);
        }
        /* Ids longer than 8 bytes, which the model keeps apart from the
         * short ones. */
        add(c, "long-customer-id-0001", at(1, 0), 1);
        add(c, "long-customer-id-0002", at(2, 0), 1);
        mstate_take(c, &so, &before);
        CK_ST(cvm_customers_load_csv(c, path, NULL), CVM_E_PARSE);
        MSG_HAS(cvm_customers_errmsg(c), "x.csv:5002:14:");
        MSG_HAS(cvm_customers_errmsg(c), "amount 'oops'");
        expect_unchanged(c, &so, &before, "after a failed large load");
        CK_ST(cvm_customers_find(c, "N17", 3, &j), CVM_E_NOT_FOUND);
        /* New long ids after the undo must not disturb the old ones. */
        add(c, "another-long-customer-id", at(3, 0), 1);
        ck_assert_uint_eq(cvm_customers_count(c), before.count + 1);
        {
            const char *id;
            size_t idlen;
            CK_ST(cvm_customers_find(c, "long-customer-id-0002", 21, &j), CVM_OK);
            CK_ST(cvm_customers_id(c, j, &id, &idlen), CVM_OK);
            ck_assert_uint_eq(idlen, 21);
            ck_assert_mem_eq(id, "long-customer-id-0002", 21);
            CK_ST(cvm_customers_find(c, "long-customer-id-0001", 21, &j), CVM_OK);
            CK_ST(cvm_customers_find(c, "another-long-customer-id", 24, &j), CVM_OK);
            CK_ST(cvm_customers_id(c, j, &id, &idlen), CVM_OK);
            ck_assert_uint_eq(idlen, 24);
            ck_assert_mem_eq(id, "another-long-customer-id", 24);
        }
        /* The same without the bad line loads. */
        CK_ST(cvm_customers_load_csv_buffer(c, text, len - strlen("B,2020-12-31,oops\n"), "x.csv",
                                            NULL),
              CVM_OK);
        ck_assert_uint_eq(cvm_customers_transactions(c), before.tx + 1 + (size_t)nlines);
        ck_assert_uint_eq(cvm_customers_count(c), before.count + 1 + 1200); /* N r, r % 10 >= 2 */
        mstate_free(&before);
        cvm_customers_free(c);
    }
    free(text);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

/* All or nothing must hold for amounts that are not binary fractions too:
 * "left as it was" means the very same summary bits. A pays 1000.1, then
 * 0.01 and 0.02: monetary is (0.01 + 0.02) / 2 as the model summed it. A
 * failed load that had added a purchase for A must not change that. */
START_TEST(test_failed_load_keeps_decimal_amounts)
{
    /* A's purchase first, then enough other records that a loader working
     * in runs has certainly applied it before it meets the bad last line. */
    size_t cap = 10000 * 24 + 100, len = 0;
    char *text = malloc(cap);
    cvm_customers *c = model(NONE);
    mstate before;
    double v[NCOL];
    int i;
    len += (size_t)snprintf(text + len, cap - len, "id,date,amount\nA,2020-01-04,0.03\n");
    for (i = 0; i < 10000; i++) {
        len += (size_t)snprintf(text + len, cap - len, "Z%d,2020-01-02,0.1\n", i % 50);
    }
    len += (size_t)snprintf(text + len, cap - len, "A,2020-01-05,abc\n");
    add(c, "A", at(0, 0), 1000.1);
    add(c, "A", at(1, 0), 0.01);
    add(c, "A", at(2, 0), 0.02);
    row_of(c, "A", NULL, v);
    EXPECT_EQ(v[CVM_COL_MONETARY], (0.01 + 0.02) / 2);
    mstate_take(c, NULL, &before);
    CK_ST(cvm_customers_load_csv_buffer(c, text, len, "x.csv", NULL), CVM_E_PARSE);
    MSG_HAS(cvm_customers_errmsg(c), "x.csv:10003:14:");
    expect_unchanged(c, NULL, &before, "after a failed load, decimal amounts");
    mstate_free(&before);
    free(text);
    cvm_customers_free(c);
}
END_TEST

START_TEST(test_bad_batch)
{
    cvm_customers *c = populated();
    cvm_summary_options so = sopts(DAY, at(60, 0));
    /* ten events: A B NEW A B NEW A B NEW A */
    static const char data[] = "ABNEWABNEWABNEWA";
    size_t off[11] = {0, 1, 2, 5, 6, 7, 10, 11, 12, 15, 16}, j;
    int64_t t[10];
    double a[10];
    mstate before;
    int i;
    for (i = 0; i < 10; i++) {
        t[i] = at(i, 0);
        a[i] = 0.25 * i;
    }
    mstate_take(c, &so, &before);
    a[5] = NAN;
    CK_ST(cvm_customers_add_batch(c, data, off, t, a, 10), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "event 5:");
    MSG_HAS(cvm_customers_errmsg(c), "not finite");
    expect_unchanged(c, &so, &before, "batch with NaN");
    a[5] = -1;
    CK_ST(cvm_customers_add_batch(c, data, off, t, a, 10), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "event 5:");
    MSG_HAS(cvm_customers_errmsg(c), "negative");
    a[5] = 1;
    t[3] = -1;
    CK_ST(cvm_customers_add_batch(c, data, off, t, a, 10), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "event 3:");
    MSG_HAS(cvm_customers_errmsg(c), "before 1970-01-01");
    t[3] = at(3, 0);
    t[9] = INT64_MAX;
    CK_ST(cvm_customers_add_batch(c, data, off, t, a, 10), CVM_E_RANGE);
    MSG_HAS(cvm_customers_errmsg(c), "event 9:");
    t[9] = at(9, 0);
    off[8] = 11; /* event 7 empty (off[7] == off[8] == 11), event 8 "BNEW" */
    CK_ST(cvm_customers_add_batch(c, data, off, t, a, 10), CVM_E_INVALID);
    MSG_HAS(cvm_customers_errmsg(c), "event 7:");
    MSG_HAS(cvm_customers_errmsg(c), "empty");
    off[7] = 11;
    off[8] = 10; /* decreasing at event 7 */
    CK_ST(cvm_customers_add_batch(c, data, off, t, a, 10), CVM_E_INVALID);
    MSG_HAS(cvm_customers_errmsg(c), "event 7:");
    off[8] = 12;
    CK_ST(cvm_customers_add_batch(c, data, off, NULL, a, 10), CVM_E_INVALID);
    CK_ST(cvm_customers_add_batch(c, NULL, off, t, a, 10), CVM_E_INVALID);
    expect_unchanged(c, &so, &before, "after bad batches");
    CK_ST(cvm_customers_find(c, "NEW", 3, &j), CVM_E_NOT_FOUND);

    /* Fixed: all ten go in; amounts NULL means zero. */
    CK_ST(cvm_customers_add_batch(c, data, off, t, NULL, 10), CVM_OK);
    ck_assert_uint_eq(cvm_customers_transactions(c), before.tx + 10);
    {
        double v[NCOL];
        /* NEW: days 2, 5, 8, all zero: x 2, m 0 */
        row_of(c, "NEW", &so, v);
        EXPECT_EQ(v[CVM_COL_FREQUENCY], 2);
        EXPECT_EQ(v[CVM_COL_RECENCY], 6);
        EXPECT_EQ(v[CVM_COL_MONETARY], 0);
    }
    mstate_free(&before);
    cvm_customers_free(c);
}
END_TEST

START_TEST(test_bad_files)
{
    char *dir = tu_tmpdir(), *missing = tu_join(dir, "nope.csv");
    cvm_customers *c = populated();
    cvm_summary_options so = sopts(DAY, at(60, 0));
    mstate before;
    mstate_take(c, &so, &before);
    CK_ST(cvm_customers_load_csv(c, missing, NULL), CVM_E_IO);
    MSG_HAS(cvm_customers_errmsg(c), missing);
    MSG_HAS(cvm_customers_errmsg(c), "cannot open");
    /* A directory opens but cannot be read. */
    CK_ST(cvm_customers_load_csv(c, dir, NULL), CVM_E_IO);
    MSG_HAS(cvm_customers_errmsg(c), dir);
    CK_ST(cvm_customers_load_csv(c, NULL, NULL), CVM_E_INVALID);
    expect_unchanged(c, &so, &before, "after unreadable files");
    mstate_free(&before);
    cvm_customers_free(c);
    free(missing);
    tu_remove_tree(dir);
}
END_TEST

/* After an undone step, a purchase of a customer the step had created
 * creates it again: nothing of the undone customer may linger (such as a
 * "same customer as the last purchase" shortcut pointing at it). */
START_TEST(test_rollback_then_add)
{
    size_t pre, k, i, j;
    double v[NCOL];
    /* A batch that fails for want of memory after interning NEWB but
     * before NEWC; where that happens depends on how the tables grow, so
     * try a range of model sizes and every failure point. */
    for (pre = 30; pre < 70; pre += 3) {
        for (k = 1;; k++) {
            tu_failing fs = {0};
            cvm_allocator a = tu_failing_allocator(&fs);
            cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
            cvm_customers *c = NULL;
            char data[20 * 4];
            size_t off[21];
            int64_t t[20];
            double am[20];
            cvm_status s;
            o.allocator = &a;
            CK_ST(cvm_customers_new(&c, &o), CVM_OK);
            for (i = 0; i < pre; i++) {
                char id[16];
                snprintf(id, sizeof id, "P%zu", i);
                add(c, id, at((int64_t)(i % 9), 0), 0.25);
            }
            off[0] = 0;
            for (i = 0; i < 20; i++) {
                memcpy(data + off[i], i < 10 ? "NEWB" : "NEWC", 4);
                off[i + 1] = off[i] + 4;
                t[i] = at((int64_t)i, 0);
                am[i] = 0.5;
            }
            fail_in(&fs, k);
            s = cvm_customers_add_batch(c, data, off, t, am, 20);
            fs.fail_at = 0;
            if (s == CVM_OK) {
                cvm_customers_free(c);
                CHECK(fs.live == 0, "leak");
                break;
            }
            CK_ST(s, CVM_E_NOMEM);
            CHECK(cvm_customers_count(c) == pre, "pre %zu k %zu: count %zu", pre, k,
                  cvm_customers_count(c));
            add(c, "NEWB", at(30, 0), 1);
            CHECK(cvm_customers_count(c) == pre + 1, "pre %zu k %zu: NEWB not created again", pre,
                  k);
            CHECK(cvm_customers_transactions(c) == pre + 1, "pre %zu k %zu: transactions", pre, k);
            CK_ST(cvm_customers_find(c, "NEWB", 4, &j), CVM_OK);
            CK_ST(cvm_customers_row(c, j, NULL, v, NCOL), CVM_OK);
            EXPECT_EQ(v[CVM_COL_FREQUENCY], 0);
            EXPECT_EQ(v[CVM_COL_T], 0);
            cvm_customers_free(c);
            CHECK(fs.live == 0, "leak");
        }
    }
    /* A CSV load that fails on its last line after thousands of records of
     * one new customer (enough for a loader working in runs to have added
     * some of them). */
    {
        size_t cap = 6000 * 24 + 100, len = 0;
        char *text = malloc(cap);
        cvm_customers *c = populated();
        mstate before;
        cvm_summary_options so = sopts(DAY, at(60, 0));
        len += (size_t)snprintf(text + len, cap - len, "id,date,amount\n");
        for (i = 0; i < 6000; i++) {
            len += (size_t)snprintf(text + len, cap - len, "NEWC,2020-01-%02zu,0.5\n", 1 + i % 28);
        }
        len += (size_t)snprintf(text + len, cap - len, "NEWC,2020-01-30,nan\n");
        mstate_take(c, &so, &before);
        CK_ST(cvm_customers_load_csv_buffer(c, text, len, "n.csv", NULL), CVM_E_RANGE);
        expect_unchanged(c, &so, &before, "after the failed load of NEWC");
        add(c, "NEWC", at(2, 0), 1);
        ck_assert_uint_eq(cvm_customers_count(c), before.count + 1);
        ck_assert_uint_eq(cvm_customers_transactions(c), before.tx + 1);
        CK_ST(cvm_customers_find(c, "NEWC", 4, &j), CVM_OK);
        CK_ST(cvm_customers_row(c, j, &so, v, NCOL), CVM_OK);
        EXPECT_EQ(v[CVM_COL_FREQUENCY], 0);
        EXPECT_EQ(v[CVM_COL_T], 28);
        mstate_free(&before);
        free(text);
        cvm_customers_free(c);
    }
}
END_TEST

/* ---- snapshots ---------------------------------------------------------- */

static cvm_customers *snapshot_model(void)
{
    static const char odd[4] = {'\0', 'x', '\n', '\xfe'};
    cvm_customers *c = populated();
    CK_ST(cvm_customers_add(c, odd, 4, at(7, 0), 0.5), CVM_OK);
    CK_ST(cvm_customers_add(c, odd, 4, at(2, 0), 1.5), CVM_OK);
    return c;
}

START_TEST(test_snapshot_roundtrip)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "m.snap");
    cvm_customers *c = snapshot_model(), *l = NULL, *empty = model(at(30, 0)), *le = NULL;
    cvm_customers_options other = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_summary_options so = sopts(WEEK, at(60, 0));
    char err[256] = "unset";
    CK_ST(cvm_customers_save(c, path), CVM_OK);
    ck_assert_int_eq(tu_count_entries(dir), 1);
    /* Settings come from the file, not from the options passed. */
    other.calibration_end = at(3, 0);
    other.period_seconds = 3600;
    CK_ST(cvm_customers_load(&l, path, &other, err, sizeof err), CVM_OK);
    ck_assert_ptr_nonnull(l);
    expect_same_model(c, l, &so, "snapshot");
    /* ... so the loaded model merges with the original (same settings). */
    CK_ST(cvm_customers_merge(l, c), CVM_OK);
    ck_assert_uint_eq(cvm_customers_transactions(l), 2 * cvm_customers_transactions(c));
    cvm_customers_free(l);
    l = NULL;
    /* Amounts that are not binary fractions, added out of time order: the
     * running sums depend on the order of the additions, and the snapshot
     * promises the very same bits back (it replays each customer's
     * purchases in their original order). */
    add(c, "dec", at(5, 0), 1000.1);
    add(c, "dec", at(1, 0), 0.01);
    add(c, "dec", at(7, 0), 0.02);
    add(c, "dec", at(3, 0), 0.3);
    add(c, "dec", at(9, 0), 0.7);
    add(c, "dec", at(40, 0), 0.1);
    add(c, "dec", at(41, 0), 0.2);
    add(c, "dec", at(40, 10), 123.456);
    CK_ST(cvm_customers_save(c, path), CVM_OK);
    CK_ST(cvm_customers_load(&l, path, NULL, err, sizeof err), CVM_OK);
    expect_same_model(c, l, &so, "snapshot with decimal amounts");
    /* An empty model too. */
    CK_ST(cvm_customers_save(empty, path), CVM_OK);
    CK_ST(cvm_customers_load(&le, path, NULL, NULL, 0), CVM_OK);
    ck_assert_uint_eq(cvm_customers_count(le), 0);
    ck_assert_uint_eq(cvm_customers_transactions(le), 0);
    CK_ST(cvm_customers_merge(le, c), CVM_OK); /* calibration end kept: no mismatch */
    expect_same_model(c, le, &so, "empty snapshot plus merge");
    /* Bad arguments. */
    other.size = 3;
    cvm_customers_free(l);
    l = c;
    CK_ST(cvm_customers_load(&l, path, &other, NULL, 0), CVM_E_ABI);
    ck_assert_ptr_null(l);
    CK_ST(cvm_customers_load(NULL, path, NULL, NULL, 0), CVM_E_INVALID);
    CK_ST(cvm_customers_save(c, NULL), CVM_E_INVALID);
    cvm_customers_free(c);
    cvm_customers_free(le);
    cvm_customers_free(empty);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

/* Load `bytes` written to `path` expecting damage to be reported. */
static void expect_damaged(const char *path, const unsigned char *bytes, size_t n, const char *what,
                           size_t i)
{
    cvm_customers *dummy = model(NONE), *out = dummy;
    char err[512];
    cvm_status s;
    tu_write_file(path, bytes, n);
    memset(err, 'Z', sizeof err);
    s = cvm_customers_load(&out, path, NULL, err, sizeof err);
    CHECK(s == CVM_E_FORMAT, "%s %zu: status %d (%s)", what, i, (int)s,
          cvm_strerror(s));
    CHECK(out == NULL, "%s %zu: *out not NULL", what, i);
    CHECK(memchr(err, '\0', sizeof err) != NULL, "%s %zu: message not terminated", what, i);
    CHECK(strstr(err, path) != NULL, "%s %zu: message '%s' does not name the file", what, i, err);
    cvm_customers_free(dummy);
}

START_TEST(test_snapshot_damaged)
{
    char *dir = tu_tmpdir(), *good = tu_join(dir, "good.snap"), *bad = tu_join(dir, "bad.snap");
    cvm_customers *c = snapshot_model(), *out;
    unsigned char *bytes, *copy;
    size_t n, i;
    char small[6];
    CK_ST(cvm_customers_save(c, good), CVM_OK);
    bytes = (unsigned char *)tu_read_file(good, &n);
    ck_assert_uint_gt(n, 100);
    copy = malloc(n + 8);
    /* Every truncation. */
    for (i = 0; i < n; i++) {
        expect_damaged(bad, bytes, i, "truncated to", i);
    }
    /* Every single flipped byte. */
    for (i = 0; i < n; i++) {
        memcpy(copy, bytes, n);
        copy[i] ^= (unsigned char)(1u << (i % 8));
        expect_damaged(bad, copy, n, "flipped byte", i);
    }
    /* Trailing garbage. */
    memcpy(copy, bytes, n);
    memcpy(copy + n, "garbage!", 8);
    expect_damaged(bad, copy, n + 8, "appended", 8);
    /* A small message buffer is still NUL-terminated. */
    memcpy(copy, bytes, n);
    copy[n / 2] ^= 0x55;
    tu_write_file(bad, copy, n);
    memset(small, 'Z', sizeof small);
    out = c;
    ck_assert_int_ne(cvm_customers_load(&out, bad, NULL, small, sizeof small), CVM_OK);
    ck_assert_ptr_null(out);
    CHECK(memchr(small, '\0', sizeof small) != NULL, "small message not terminated");
    out = c;
    ck_assert_int_ne(cvm_customers_load(&out, bad, NULL, NULL, 0), CVM_OK);
    ck_assert_ptr_null(out);
    /* A missing file. */
    {
        char *missing = tu_join(dir, "missing.snap"), err[512] = "";
        out = c;
        CK_ST(cvm_customers_load(&out, missing, NULL, err, sizeof err), CVM_E_IO);
        ck_assert_ptr_null(out);
        MSG_HAS(err, missing);
        free(missing);
    }
    /* A CSV is not a snapshot. */
    expect_damaged(bad, (const unsigned char *)"id,date,amount\n", 15, "csv", 0);
    free(bytes);
    free(copy);
    free(good);
    free(bad);
    cvm_customers_free(c);
    tu_remove_tree(dir);
}
END_TEST

START_TEST(test_snapshot_failed_save)
{
    char *dir = tu_tmpdir(), *nodir = tu_join(dir, "no/such/dir/m.snap");
    char *sub = tu_join(dir, "sub"), *inside = tu_join(dir, "sub/keep.txt");
    char *path = tu_join(dir, "m.snap");
    cvm_customers *c = snapshot_model(), *d = populated(), *l = NULL;
    cvm_summary_options so = sopts(DAY, at(60, 0));
    unsigned char *prev, *now;
    size_t pn, nn;
    mstate before;
    mstate_take(c, &so, &before);

    /* Into a directory that does not exist: an error naming the path, and
     * no file anywhere. */
    CK_ST(cvm_customers_save(c, nodir), CVM_E_IO);
    MSG_HAS(cvm_customers_errmsg(c), nodir);
    ck_assert(!file_exists(nodir));
    ck_assert_int_eq(tu_count_entries(dir), 0);

    /* Over something that cannot be replaced (a non-empty directory): the
     * rename fails, the directory and its file are untouched, no temporary
     * file is left behind. */
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    tu_write_file(inside, "keep", 4);
    CK_ST(cvm_customers_save(c, sub), CVM_E_IO);
    MSG_HAS(cvm_customers_errmsg(c), sub);
    ck_assert_int_eq(tu_count_entries(dir), 1);
    ck_assert_int_eq(tu_count_entries(sub), 1);
    now = (unsigned char *)tu_read_file(inside, &nn);
    ck_assert_uint_eq(nn, 4);
    ck_assert_mem_eq(now, "keep", 4);
    free(now);
    expect_unchanged(c, &so, &before, "after failed saves");

    /* A good save, then a successful save of another model over it. */
    CK_ST(cvm_customers_save(c, path), CVM_OK);
    prev = (unsigned char *)tu_read_file(path, &pn);
    CK_ST(cvm_customers_save(d, path), CVM_OK);
    ck_assert_int_eq(tu_count_entries(dir), 2);
    CK_ST(cvm_customers_load(&l, path, NULL, NULL, 0), CVM_OK);
    expect_same_model(d, l, &so, "replaced snapshot");
    cvm_customers_free(l);
    now = (unsigned char *)tu_read_file(path, &nn);
    ck_assert(nn != pn || memcmp(now, prev, pn) != 0);
    free(now);
    free(prev);

    mstate_free(&before);
    cvm_customers_free(c);
    cvm_customers_free(d);
    free(nodir);
    free(sub);
    free(inside);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

/* ---- past the storage block sizes -------------------------------------- */

/* The model keeps customer records in blocks of 16384 and purchases in
 * blocks of 65536; these tests cross both.
 *
 * Customer i ("L<i>"): a calibration purchase on day d = i % 50 of
 * 0.25 * (i % 8), two on day d + 1 + i % 7 (0.5 and 0.25 * (i % 5)), and for
 * i % 3 == 0 one holdout purchase of 1.5 on day 250. The calibration ends on
 * day 200, the observation on day 400. So: x 1, t_x 1 + i % 7, T 200 - d,
 * m 0.5 + 0.25 * (i % 5), holdout 1 and 1.5 (or 0 and 0), duration 200. */
#define BIG_CUST 16000

static void big_want(size_t i, double *want)
{
    want[CVM_COL_FREQUENCY] = 1;
    want[CVM_COL_RECENCY] = (double)(1 + i % 7);
    want[CVM_COL_T] = (double)(200 - i % 50);
    want[CVM_COL_MONETARY] = 0.5 + 0.25 * (double)(i % 5);
    want[CVM_COL_FREQUENCY_HOLDOUT] = i % 3 == 0 ? 1 : 0;
    want[CVM_COL_MONETARY_HOLDOUT] = i % 3 == 0 ? 1.5 : 0;
    want[CVM_COL_DURATION_HOLDOUT] = 200;
}

/* Purchase `k` (0..3) of customer i, or 0 when it has none. */
static int big_event(size_t i, int k, int64_t *t, double *amount)
{
    int64_t d = (int64_t)(i % 50), e = d + 1 + (int64_t)(i % 7);
    switch (k) {
    case 0:
        *t = at(d, 3600);
        *amount = 0.25 * (double)(i % 8);
        return 1;
    case 1:
        *t = at(e, 7200);
        *amount = 0.5;
        return 1;
    case 2:
        *t = at(e, 60);
        *amount = 0.25 * (double)(i % 5);
        return 1;
    default:
        *t = at(250, 0);
        *amount = 1.5;
        return i % 3 == 0;
    }
}

START_TEST(test_large_model)
{
    cvm_customers *c = model(at(200, 0)), *b = model(at(200, 0)), *m = model(at(200, 0));
    cvm_customers *l = NULL;
    cvm_summary_options so = sopts(DAY, at(400, 0));
    char *dir = tu_tmpdir(), *path = tu_join(dir, "big.snap");
    size_t i, n = 0, len = 0, cap = 15000 * 40 + 64, rows;
    int k, j;
    char *text = malloc(cap);
    double *col[NCOL];
    mstate before;

    /* c: customer by customer would be the easy case; round by round
     * instead, so nearly every purchase goes to another customer. */
    for (k = 0; k < 4; k++) {
        for (i = 0; i < BIG_CUST; i++) {
            char id[16];
            int64_t t;
            double a;
            if (big_event(i, k, &t, &a)) {
                snprintf(id, sizeof id, "L%zu", i);
                add(c, id, t, a);
                n++;
            }
        }
    }
    ck_assert_uint_eq(n, 3 * BIG_CUST + BIG_CUST / 3 + 1);
    ck_assert_uint_eq(cvm_customers_count(c), BIG_CUST);
    rows = cvm_customers_summary_rows(c);
    ck_assert_uint_eq(rows, BIG_CUST);
    for (k = 0; k < NCOL; k++) {
        col[k] = malloc(rows * sizeof(double));
        CK_ST(cvm_customers_summary(c, &so, k, col[k], rows), CVM_OK);
    }
    for (i = 0; i < BIG_CUST; i++) {
        double want[NCOL];
        big_want(i, want);
        for (k = 0; k < NCOL; k++) {
            CHECK(col[k][i] == want[k], "customer %zu column %d = %.17g, expected %.17g", i, k,
                  col[k][i], want[k]);
        }
    }
    for (k = 0; k < NCOL; k++) {
        free(col[k]);
    }

    /* b: the same purchases customer by customer, in batches of up to 7000. */
    {
        char *data = malloc(7000 * 8);
        size_t *off = malloc(7001 * sizeof *off), m2 = 0;
        int64_t *t = malloc(7000 * sizeof *t);
        double *a = malloc(7000 * sizeof *a);
        off[0] = 0;
        for (i = 0; i < BIG_CUST; i++) {
            for (k = 0; k < 4; k++) {
                if (big_event(i, k, &t[m2], &a[m2])) {
                    int w = snprintf(data + off[m2], 8, "L%zu", i);
                    off[m2 + 1] = off[m2] + (size_t)w;
                    m2++;
                }
            }
            if (m2 > 6990 || i + 1 == BIG_CUST) {
                CK_ST(cvm_customers_add_batch(b, data, off, t, a, m2), CVM_OK);
                m2 = 0;
            }
        }
        free(data);
        free(off);
        free(t);
        free(a);
    }
    expect_same_model(c, b, &so, "large model: adds vs batches");

    /* A CSV of 15000 records (flushed to the model in runs) that takes the
     * model past 16384 customers and 65536 purchases, then fails on its
     * last line: all of it is undone. */
    len += (size_t)snprintf(text + len, cap - len, "id,date,amount\n");
    for (j = 0; j < 15000; j++) {
        char date[16];
        if (j % 4 == 0) {
            CK_ST(cvm_format_date(date, sizeof date, at(10, 0)), CVM_OK);
            len += (size_t)snprintf(text + len, cap - len, "L%d,%s,0.25\n", j % BIG_CUST, date);
        } else {
            CK_ST(cvm_format_date(date, sizeof date, at(j % 190, 0)), CVM_OK);
            len += (size_t)snprintf(text + len, cap - len, "X%d,%s,0.75\n", j % 1000, date);
        }
    }
    mstate_take(c, &so, &before);
    {
        size_t bad_len = len + (size_t)snprintf(text + len, cap - len, "X1,2020-01-01,-1\n");
        CK_ST(cvm_customers_load_csv_buffer(c, text, bad_len, "big.csv", NULL), CVM_E_RANGE);
        MSG_HAS(cvm_customers_errmsg(c), "big.csv:15002:");
    }
    expect_unchanged(c, &so, &before, "large model after a failed load");
    CK_ST(cvm_customers_find(c, "X1", 2, &i), CVM_E_NOT_FOUND);
    mstate_free(&before);
    /* ... and the model works on: the good part loads, in both. */
    CK_ST(cvm_customers_load_csv_buffer(c, text, len, "big.csv", NULL), CVM_OK);
    CK_ST(cvm_customers_load_csv_buffer(b, text, len, "big.csv", NULL), CVM_OK);
    ck_assert_uint_eq(cvm_customers_count(c), BIG_CUST + 750); /* X r with r % 4 != 0 */
    ck_assert_uint_eq(cvm_customers_transactions(c), n + 15000);
    expect_same_model(c, b, &so, "large model after the load");
    add(c, "late", at(5, 0), 1);
    add(b, "late", at(5, 0), 1);

    /* Snapshot and merge of the whole thing. */
    CK_ST(cvm_customers_save(c, path), CVM_OK);
    CK_ST(cvm_customers_load(&l, path, NULL, NULL, 0), CVM_OK);
    expect_same_model(c, l, &so, "large model snapshot");
    CK_ST(cvm_customers_merge(m, l), CVM_OK);
    expect_same_model(c, m, &so, "large model merged into an empty one");
    /* New purchases after a load and after a merge. */
    add(l, "L7", at(60, 0), 2);
    add(m, "L7", at(60, 0), 2);
    add(c, "L7", at(60, 0), 2);
    add(l, "brand new", at(61, 0), 2);
    add(m, "brand new", at(61, 0), 2);
    add(c, "brand new", at(61, 0), 2);
    expect_same_model(c, l, &so, "loaded model, more purchases");
    expect_same_model(c, m, &so, "merged model, more purchases");

    free(text);
    cvm_customers_free(c);
    cvm_customers_free(b);
    cvm_customers_free(m);
    cvm_customers_free(l);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

/* ======================================================================= */
/* 6. CSV dialects                                                         */
/* ======================================================================= */

/* 1997-01-01 is day 9862 after the epoch (27 years, 7 of them leap). */
#define D97 INT64_C(9862)

START_TEST(test_csv_whitespace_crlf)
{
    /* CDNOW_sample's layout: id, sample id, YYYYMMDD, CDs, dollars. */
    static const char text[] = "  00004 0001 19970101 2  29.33\r\n"
                               "  00004 0001 19970118 2  29.73\r\n"
                               "  00004 0001 19970802 1  14.96\r\n"
                               "  00004 0001 19971212 2  26.48\r\n"
                               "\r\n"
                               "   \t \r\n"
                               "  00001 0002 19970101 1  11.77\r\n"
                               "  00002 0003 19970112 1  12.00\r\n"
                               "\t00002\t0003  19970112 5  77.00   \r\n";
    char *dir = tu_tmpdir(), *path = tu_join(dir, "cdnow.txt");
    cvm_csv_options o = CVM_CSV_OPTIONS_INIT;
    /* calibration to 1997-09-30 (day 272 of 1997), holdout to 1997-12-31
     * (day 364) */
    cvm_customers *c = model((D97 + 272) * DAY + 43200);
    cvm_summary_options so = sopts(DAY, (D97 + 364) * DAY + 86399);
    double v[NCOL];
    o.whitespace = 1;
    o.has_header = 0;
    o.id_index = 1;
    o.date_index = 3;
    o.amount_index = 5;
    tu_write_file(path, text, strlen(text));
    CK_ST(cvm_customers_load_csv(c, path, &o), CVM_OK);
    ck_assert_uint_eq(cvm_customers_count(c), 3);
    ck_assert_uint_eq(cvm_customers_transactions(c), 7);
    /* 00004: days 0, 17, 213 in calibration -> x 2, t_x 213, T 272,
     * m (29.73 + 14.96) / 2 -- not binary fractions, but the library adds
     * them in this same order starting from 0 and the parse of "29.73" is
     * the correctly rounded double, so the result is bit-identical to this
     * expression. Holdout: day 345, 26.48. */
    row_of(c, "00004", &so, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 2);
    EXPECT_EQ(v[CVM_COL_RECENCY], 213);
    EXPECT_EQ(v[CVM_COL_T], 272);
    EXPECT_EQ(v[CVM_COL_MONETARY], (29.73 + 14.96) / 2);
    EXPECT_EQ(v[CVM_COL_FREQUENCY_HOLDOUT], 1);
    EXPECT_EQ(v[CVM_COL_MONETARY_HOLDOUT], 26.48);
    EXPECT_EQ(v[CVM_COL_DURATION_HOLDOUT], 92);
    row_of(c, "00001", &so, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 0);
    EXPECT_EQ(v[CVM_COL_T], 272);
    EXPECT_EQ(v[CVM_COL_MONETARY], 0);
    /* 00002: two purchases on day 11, tab-separated with trailing blanks */
    row_of(c, "00002", &so, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 0);
    EXPECT_EQ(v[CVM_COL_T], 261);
    EXPECT_EQ(v[CVM_COL_MONETARY], 0);
    free(path);
    tu_remove_tree(dir);
    cvm_customers_free(c);
}
END_TEST

START_TEST(test_csv_semicolon_and_quotes)
{
    static const char semi[] = "id;date;amount\n"
                               "Smith, J;2020-01-01;1.5\n"
                               "Smith, J;2020-01-03;2.25\n"
                               "\"Q;uoted\";2020-01-02;0.5\n";
    static const char quoted[] = "id,date,amount\r\n"
                                 "\"Smith, John\",2020-01-01,1\r\n"
                                 "\"say \"\"hi\"\"\",2020-01-02,2\r\n"
                                 "\"two\nlines\",2020-01-03,4\r\n"
                                 "\"Smith, John\",\"2020-01-04\",\"0.75\"\r\n";
    static const char after_multiline[] = "id,date,amount\n"
                                          "\"two\nlines\",2020-01-03,4\n"
                                          "X,2020-01-04,abc\n";
    cvm_customers *c = model(NONE);
    cvm_csv_options o = CVM_CSV_OPTIONS_INIT;
    double v[NCOL];
    size_t j;
    o.delimiter = ';';
    CK_ST(cvm_customers_load_csv_buffer(c, semi, strlen(semi), "s.csv", &o), CVM_OK);
    ck_assert_uint_eq(cvm_customers_count(c), 2);
    row_of(c, "Smith, J", NULL, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
    EXPECT_EQ(v[CVM_COL_RECENCY], 2);
    EXPECT_EQ(v[CVM_COL_MONETARY], 2.25);
    CK_ST(cvm_customers_find(c, "Q;uoted", 7, &j), CVM_OK);
    cvm_customers_free(c);

    c = model(NONE);
    CK_ST(cvm_customers_load_csv_buffer(c, quoted, strlen(quoted), "q.csv", NULL), CVM_OK);
    ck_assert_uint_eq(cvm_customers_count(c), 3);
    row_of(c, "Smith, John", NULL, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
    EXPECT_EQ(v[CVM_COL_RECENCY], 3);
    EXPECT_EQ(v[CVM_COL_MONETARY], 0.75);
    CK_ST(cvm_customers_find(c, "say \"hi\"", 8, &j), CVM_OK);
    CK_ST(cvm_customers_find(c, "two\nlines", 9, &j), CVM_OK);
    CK_ST(cvm_customers_find(c, "\"Smith, John\"", 13, &j), CVM_E_NOT_FOUND);
    /* Line numbers count the physical lines inside quotes. */
    CK_ST(cvm_customers_load_csv_buffer(c, after_multiline, strlen(after_multiline), "m.csv", NULL),
          CVM_E_PARSE);
    MSG_HAS(cvm_customers_errmsg(c), "m.csv:4:14:");
    ck_assert_uint_eq(cvm_customers_transactions(c), 4);
    cvm_customers_free(c);
}
END_TEST

START_TEST(test_csv_columns)
{
    static const char named[] = "\xEF\xBB\xBF"
                                "amount,note,when,customer\n"
                                "1.25,first,2020-01-01,C1\n"
                                "\n"
                                "2.5,,2020-01-02,C1\n"
                                "4,x,2020-01-02T10:00:00Z,C2\n";
    static const char indexed[] = "2020-01-01,0.5,K1,extra,fields\n"
                                  "2020-01-05,1.5,K1\n";
    static const char no_amount[] = "id,date\nA,2020-01-01\nA,2020-01-02\n";
    cvm_customers *c = model(NONE);
    cvm_csv_options o = CVM_CSV_OPTIONS_INIT;
    double v[NCOL];
    size_t j;
    /* Names, in any order; a name wins over the (default) index. */
    o.id_column = "customer";
    o.date_column = "when";
    o.amount_column = "amount";
    CK_ST(cvm_customers_load_csv_buffer(c, named, strlen(named), "n.csv", &o), CVM_OK);
    ck_assert_uint_eq(cvm_customers_count(c), 2);
    CK_ST(cvm_customers_find(c, "1.25", 4, &j), CVM_E_NOT_FOUND);
    row_of(c, "C1", NULL, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
    EXPECT_EQ(v[CVM_COL_RECENCY], 1);
    EXPECT_EQ(v[CVM_COL_T], 1);
    EXPECT_EQ(v[CVM_COL_MONETARY], 2.5);
    row_of(c, "C2", NULL, v);
    EXPECT_EQ(v[CVM_COL_T], 0);
    /* A name needs a header. */
    o.has_header = 0;
    CK_ST(cvm_customers_load_csv_buffer(c, named, strlen(named), "n.csv", &o), CVM_E_INVALID);
    ck_assert_uint_eq(cvm_customers_transactions(c), 3);
    cvm_customers_free(c);

    /* Indices, no header. */
    c = model(NONE);
    o = (cvm_csv_options)CVM_CSV_OPTIONS_INIT;
    o.has_header = 0;
    o.id_index = 3;
    o.date_index = 1;
    o.amount_index = 2;
    CK_ST(cvm_customers_load_csv_buffer(c, indexed, strlen(indexed), "i.csv", &o), CVM_OK);
    ck_assert_uint_eq(cvm_customers_count(c), 1);
    row_of(c, "K1", NULL, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
    EXPECT_EQ(v[CVM_COL_RECENCY], 4);
    EXPECT_EQ(v[CVM_COL_MONETARY], 1.5);
    o.id_index = 0;
    CK_ST(cvm_customers_load_csv_buffer(c, indexed, strlen(indexed), "i.csv", &o), CVM_E_INVALID);
    o.id_index = 6; /* past the fields of every record */
    CK_ST(cvm_customers_load_csv_buffer(c, indexed, strlen(indexed), "i.csv", &o), CVM_E_PARSE);
    MSG_HAS(cvm_customers_errmsg(c), "i.csv:1:");
    ck_assert_uint_eq(cvm_customers_transactions(c), 2);
    cvm_customers_free(c);

    /* No amount column: amounts are 0. */
    c = model(NONE);
    o = (cvm_csv_options)CVM_CSV_OPTIONS_INIT;
    o.amount_index = 0;
    CK_ST(cvm_customers_load_csv_buffer(c, no_amount, strlen(no_amount), "z.csv", &o), CVM_OK);
    row_of(c, "A", NULL, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
    EXPECT_EQ(v[CVM_COL_MONETARY], 0);
    cvm_customers_free(c);
}
END_TEST

START_TEST(test_csv_dates)
{
    /* Z's purchases, with zones; amounts are powers of two so each day's
     * sum tells which purchases it holds:
     *   2020-01-01 22:00+01:00         = 01-01 21:00Z  day 0   1
     *   2020-01-01T23:30:00-02:00      = 01-02 01:30Z  day 1   2
     *   2020-01-02T00:15:00Z           =               day 1   4
     *   2020-01-03T00:30:00.123+01:00  = 01-02 23:30Z  day 1   8
     *   2020-01-05T10:00:00+0530       = 01-05 04:30Z  day 4  16
     * -> x 2, t_x 4, m (14 + 16) / 2 = 15. Read without zones the days
     * would be 0, 0, 1, 2, 4. */
    static const char iso[] = "id,date,amount\n"
                              "Z,2020-01-01 22:00+01:00,1\n"
                              "Z,2020-01-01T23:30:00-02:00,2\n"
                              "Z,2020-01-02T00:15:00Z,4\n"
                              "Z,2020-01-03T00:30:00.123+01:00,8\n"
                              "Z,2020-01-05T10:00:00+0530,16\n";
    /* 1577836800 = 2020-01-01T00:00Z; 1577923199 its last second (the
     * fraction is floored); 1577923200 the next day. */
    static const char unix_text[] = "id,date,amount\n"
                                    "U,1577836800,1\n"
                                    "U,1577923199.75,2\n"
                                    "U,1577923200,4\n";
    static const char mixed[] = "id,date,amount\nM,20200101,1\nM,2020-01-03T10:00:00Z,2\n";
    static const char dashed[] = "id,date,amount\nM,2020-01-01,1\n";
    static const char compact[] = "id,date,amount\nM,20200101,1\n";
    cvm_customers *c = model(NONE);
    cvm_csv_options o = CVM_CSV_OPTIONS_INIT;
    double v[NCOL];
    CK_ST(cvm_customers_load_csv_buffer(c, iso, strlen(iso), "iso.csv", NULL), CVM_OK);
    row_of(c, "Z", NULL, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 2);
    EXPECT_EQ(v[CVM_COL_RECENCY], 4);
    EXPECT_EQ(v[CVM_COL_MONETARY], 15);
    cvm_customers_free(c);

    c = model(NONE);
    o.date_format = CVM_DATE_UNIX;
    CK_ST(cvm_customers_load_csv_buffer(c, unix_text, strlen(unix_text), "u.csv", &o), CVM_OK);
    row_of(c, "U", NULL, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
    EXPECT_EQ(v[CVM_COL_RECENCY], 1);
    EXPECT_EQ(v[CVM_COL_MONETARY], 4);
    /* Without the format, plain numbers are not dates. */
    CK_ST(cvm_customers_load_csv_buffer(c, unix_text, strlen(unix_text), "u.csv", NULL),
          CVM_E_PARSE);
    MSG_HAS(cvm_customers_errmsg(c), "u.csv:2:3: date '1577836800'");
    ck_assert_uint_eq(cvm_customers_transactions(c), 3);
    /* Forced formats refuse the others. */
    CK_ST(cvm_customers_load_csv_buffer(c, dashed, strlen(dashed), "d.csv", &o), CVM_E_PARSE);
    MSG_HAS(cvm_customers_errmsg(c), "unix seconds");
    o.date_format = CVM_DATE_YYYYMMDD;
    CK_ST(cvm_customers_load_csv_buffer(c, dashed, strlen(dashed), "d.csv", &o), CVM_E_PARSE);
    MSG_HAS(cvm_customers_errmsg(c), "d.csv:2:3: date '2020-01-01' is not a YYYYMMDD date");
    o.date_format = CVM_DATE_ISO;
    CK_ST(cvm_customers_load_csv_buffer(c, compact, strlen(compact), "c.csv", &o), CVM_E_PARSE);
    MSG_HAS(cvm_customers_errmsg(c), "is not an ISO 8601 date");
    o.date_format = 7;
    CK_ST(cvm_customers_load_csv_buffer(c, compact, strlen(compact), "c.csv", &o), CVM_E_INVALID);
    o.date_format = CVM_DATE_AUTO;
    o.delimiter = '"';
    CK_ST(cvm_customers_load_csv_buffer(c, compact, strlen(compact), "c.csv", &o), CVM_E_INVALID);
    o.delimiter = 0;
    CK_ST(cvm_customers_load_csv_buffer(c, compact, strlen(compact), "c.csv", &o), CVM_E_INVALID);
    o.delimiter = 300;
    CK_ST(cvm_customers_load_csv_buffer(c, compact, strlen(compact), "c.csv", &o), CVM_E_INVALID);
    o.delimiter = '\n';
    CK_ST(cvm_customers_load_csv_buffer(c, compact, strlen(compact), "c.csv", &o), CVM_E_INVALID);
    o.delimiter = ',';
    ck_assert_uint_eq(cvm_customers_transactions(c), 3);
    /* AUTO takes both kinds in one file; YYYYMMDD forced reads 20200101. */
    o.date_format = CVM_DATE_AUTO;
    CK_ST(cvm_customers_load_csv_buffer(c, mixed, strlen(mixed), "x.csv", &o), CVM_OK);
    row_of(c, "M", NULL, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
    EXPECT_EQ(v[CVM_COL_RECENCY], 2);
    o.date_format = CVM_DATE_YYYYMMDD;
    CK_ST(cvm_customers_load_csv_buffer(c, compact, strlen(compact), "c.csv", &o), CVM_OK);
    ck_assert_uint_eq(cvm_customers_transactions(c), 6);
    cvm_customers_free(c);
}
END_TEST

/* ======================================================================= */
/* 7. Allocation failure                                                   */
/* ======================================================================= */

static cvm_customers *failing_model(tu_failing *fs, cvm_allocator *a, int64_t cal_end)
{
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_customers *c = NULL;
    size_t k;
    cvm_status s;
    *a = tu_failing_allocator(fs);
    o.allocator = a;
    o.calibration_end = cal_end;
    for (k = 1;; k++) {
        fail_in(fs, k);
        s = cvm_customers_new(&c, &o);
        fs->fail_at = 0;
        if (s == CVM_OK) {
            break;
        }
        CK_ST(s, CVM_E_NOMEM);
        ck_assert_ptr_null(c);
        ck_assert_int_eq(fs->live, 0);
    }
    ck_assert_uint_gt(k, 1);
    return c;
}

START_TEST(test_nomem_add)
{
    tu_failing fs = {0};
    cvm_allocator a;
    cvm_customers *c = failing_model(&fs, &a, at(100, 0)), *shadow = model(at(100, 0));
    cvm_summary_options so = sopts(DAY, at(200, 0));
    size_t i, k, failures = 0;
    for (i = 0; i < 3000; i++) {
        char id[32];
        int64_t t = at((int64_t)(i * 37 % 190), (int64_t)(i % 5) * 1000);
        double amt = (double)(i % 13) * 0.25;
        cvm_status s;
        snprintf(id, sizeof id, "cust-%zu", i * 7919 % 1200);
        for (k = 1;; k++) {
            fail_in(&fs, k);
            s = cvm_customers_add(c, id, strlen(id), t, amt);
            fs.fail_at = 0;
            if (s == CVM_OK) {
                break;
            }
            CK_ST(s, CVM_E_NOMEM);
            MSG_HAS(cvm_customers_errmsg(c), "out of memory");
            failures++;
            expect_same_model(shadow, c, &so, "after a failed add");
        }
        add(shadow, id, t, amt);
    }
    ck_assert_uint_gt(failures, 20);
    expect_same_model(shadow, c, &so, "after all adds");
    ck_assert_uint_eq(cvm_customers_count(c), 1200);
    cvm_customers_free(c);
    cvm_customers_free(shadow);
    ck_assert_int_eq(fs.live, 0);
}
END_TEST

/* The first purchase of a model, failing at each allocation in turn, each
 * time on a fresh model: on one reused model the capacity left by earlier
 * attempts would let the later allocations (the event store, after the new
 * customer's entry was made) always succeed. */
START_TEST(test_nomem_first_add)
{
    size_t k;
    for (k = 1;; k++) {
        tu_failing fs = {0};
        cvm_allocator a = tu_failing_allocator(&fs);
        cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
        cvm_customers *c = NULL;
        double v[NCOL];
        size_t j;
        cvm_status s;
        o.allocator = &a;
        CK_ST(cvm_customers_new(&c, &o), CVM_OK);
        fail_in(&fs, k);
        s = cvm_customers_add(c, "first", 5, at(0, 0), 1);
        fs.fail_at = 0;
        if (s != CVM_OK) {
            CK_ST(s, CVM_E_NOMEM);
            MSG_HAS(cvm_customers_errmsg(c), "out of memory");
            ck_assert_uint_eq(cvm_customers_count(c), 0);
            ck_assert_uint_eq(cvm_customers_transactions(c), 0);
            ck_assert_uint_eq(cvm_customers_summary_rows(c), 0);
            CK_ST(cvm_customers_find(c, "first", 5, &j), CVM_E_NOT_FOUND);
        }
        /* Usable afterwards either way. */
        add(c, "first", at(3, 0), 2);
        row_of(c, "first", NULL, v);
        EXPECT_EQ(v[CVM_COL_FREQUENCY], s == CVM_OK ? 1 : 0);
        ck_assert_uint_eq(cvm_customers_transactions(c), s == CVM_OK ? 2 : 1);
        cvm_customers_free(c);
        ck_assert_int_eq(fs.live, 0);
        if (s == CVM_OK) {
            break;
        }
    }
    ck_assert_uint_ge(k, 5); /* customer table, id slots, ids, event store */
}
END_TEST

/* Allocation failures exactly at the block boundaries: the 16385th
 * customer needs a new block of customer records, the 65537th purchase a
 * new block of purchases. */
START_TEST(test_nomem_block_boundaries)
{
    tu_failing fs = {0};
    cvm_allocator a;
    cvm_customers *c = failing_model(&fs, &a, NONE);
    size_t i, k, failures = 0, j, off[11];
    char id[16], data[64];
    int64_t t[10];
    double am[10];
    cvm_status s;
    for (i = 0; i < 16384; i++) {
        snprintf(id, sizeof id, "B%zu", i);
        CK_ST(cvm_customers_add(c, id, strlen(id), at((int64_t)(i % 30), 0), 0.25), CVM_OK);
    }
    for (k = 1;; k++) {
        fail_in(&fs, k);
        s = cvm_customers_add(c, "B16384", 6, at(40, 0), 1);
        fs.fail_at = 0;
        if (s == CVM_OK) {
            break;
        }
        CK_ST(s, CVM_E_NOMEM);
        failures++;
        ck_assert_uint_eq(cvm_customers_count(c), 16384);
        ck_assert_uint_eq(cvm_customers_transactions(c), 16384);
        CK_ST(cvm_customers_find(c, "B16384", 6, &j), CVM_E_NOT_FOUND);
        CK_ST(cvm_customers_find(c, "B16383", 6, &j), CVM_OK);
    }
    ck_assert_uint_gt(failures, 0);
    ck_assert_uint_eq(cvm_customers_count(c), 16385);
    /* Up to exactly 65536 purchases, then one more. */
    while (cvm_customers_transactions(c) < 65536) {
        CK_ST(cvm_customers_add(c, "B7", 2, at(3, 0), 0.5), CVM_OK);
    }
    failures = 0;
    for (k = 1;; k++) {
        fail_in(&fs, k);
        s = cvm_customers_add(c, "B8", 2, at(50, 0), 1);
        fs.fail_at = 0;
        if (s == CVM_OK) {
            break;
        }
        CK_ST(s, CVM_E_NOMEM);
        MSG_HAS(cvm_customers_errmsg(c), "out of memory");
        failures++;
        ck_assert_uint_eq(cvm_customers_transactions(c), 65536);
    }
    ck_assert_uint_gt(failures, 0);
    {
        double v[NCOL];
        /* B8: days 8 and 50 -> x 1, t_x 42, m 1; T to day 50 */
        row_of(c, "B8", NULL, v);
        EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
        EXPECT_EQ(v[CVM_COL_RECENCY], 42);
        EXPECT_EQ(v[CVM_COL_MONETARY], 1);
        EXPECT_EQ(v[CVM_COL_T], 42);
    }
    /* A batch that starts a new block of purchases and a new customer,
     * failing at each allocation: nothing of it stays. */
    while (cvm_customers_transactions(c) < 2 * 65536 - 3) {
        CK_ST(cvm_customers_add(c, "B9", 2, at(4, 0), 0.25), CVM_OK);
    }
    off[0] = 0;
    for (i = 0; i < 10; i++) {
        int w = snprintf(data + off[i], 8, "N%zu", i % 4);
        off[i + 1] = off[i] + (size_t)w;
        t[i] = at((int64_t)i, 0);
        am[i] = 0.25;
    }
    failures = 0;
    for (k = 1;; k++) {
        fail_in(&fs, k);
        s = cvm_customers_add_batch(c, data, off, t, am, 10);
        fs.fail_at = 0;
        if (s == CVM_OK) {
            break;
        }
        CK_ST(s, CVM_E_NOMEM);
        failures++;
        ck_assert_uint_eq(cvm_customers_transactions(c), 2 * 65536 - 3);
        ck_assert_uint_eq(cvm_customers_count(c), 16385);
        CK_ST(cvm_customers_find(c, "N0", 2, &j), CVM_E_NOT_FOUND);
    }
    ck_assert_uint_gt(failures, 0);
    ck_assert_uint_eq(cvm_customers_count(c), 16389);
    cvm_customers_free(c);
    ck_assert_int_eq(fs.live, 0);
}
END_TEST

START_TEST(test_nomem_batch_and_csv)
{
    tu_failing fs = {0};
    cvm_allocator a;
    cvm_customers *c = failing_model(&fs, &a, at(100, 0)), *shadow = model(at(100, 0));
    cvm_summary_options so = sopts(DAY, at(200, 0));
    char *dir = tu_tmpdir(), *path = tu_join(dir, "x.csv");
    size_t cap = 32 * 5000 + 64, len = 0, k, i, failures = 0;
    char *text = malloc(cap);
    char bdata[600 * 8];
    size_t boff[601];
    int64_t bt[600];
    double ba[600];
    cvm_status s;
    int pass;

    add(shadow, "A", at(1, 0), 1);
    CK_ST(cvm_customers_add(c, "A", 1, at(1, 0), 1), CVM_OK);

    /* A batch: 600 events of 300 customers, some known. */
    boff[0] = 0;
    for (i = 0; i < 600; i++) {
        int n = snprintf(bdata + boff[i], 8, "b%zu", i % 300);
        boff[i + 1] = boff[i] + (size_t)n;
        bt[i] = at((int64_t)(i % 150), 0);
        ba[i] = 0.25 * (double)(i % 5);
    }
    for (k = 1;; k++) {
        fail_in(&fs, k);
        s = cvm_customers_add_batch(c, bdata, boff, bt, ba, 600);
        fs.fail_at = 0;
        if (s == CVM_OK) {
            break;
        }
        CK_ST(s, CVM_E_NOMEM);
        failures++;
        expect_same_model(shadow, c, &so, "after a failed batch");
    }
    CK_ST(cvm_customers_add_batch(shadow, bdata, boff, bt, ba, 600), CVM_OK);
    expect_same_model(shadow, c, &so, "after the batch");

    /* CSV files of 5000 records (more than one run of a loader that works
     * in runs), 600 new customers among the first 4500 records, so that
     * memory is needed early as well as late: once from memory with
     * single failures, once from a file (new ids) with every allocation
     * failing from the k-th on (rolling back must not need memory). */
    for (pass = 0; pass < 2; pass++) {
        len = 0;
        len += (size_t)snprintf(text + len, cap - len, "id,date,amount\n");
        for (i = 0; i < 5000; i++) {
            char date[16];
            CK_ST(cvm_format_date(date, sizeof date, at((int64_t)(i * 13 % 180), 0)), CVM_OK);
            len += (size_t)snprintf(text + len, cap - len, "%s%zu,%s,%zu.75\n",
                                    i % 3 == 0 ? "b"
                                    : pass     ? "file"
                                               : "mem",
                                    i < 4500 ? i % 600 : i % 7, date, i % 11);
        }
        if (pass) {
            tu_write_file(path, text, len);
        }
        for (k = 1;; k++) {
            fail_in(&fs, k);
            fs.every = pass ? 1 : 0;
            s = pass ? cvm_customers_load_csv(c, path, NULL)
                     : cvm_customers_load_csv_buffer(c, text, len, "x.csv", NULL);
            fs.fail_at = 0;
            fs.every = 0;
            if (s == CVM_OK) {
                break;
            }
            CK_ST(s, CVM_E_NOMEM);
            MSG_HAS(cvm_customers_errmsg(c), "out of memory");
            failures++;
            expect_same_model(shadow, c, &so,
                              pass ? "after a failed file load" : "after a failed buffer load");
        }
        CK_ST(cvm_customers_load_csv_buffer(shadow, text, len, "x.csv", NULL), CVM_OK);
        expect_same_model(shadow, c, &so, "after the load");
    }
    ck_assert_uint_gt(failures, 0);

    cvm_customers_free(c);
    cvm_customers_free(shadow);
    ck_assert_int_eq(fs.live, 0);
    free(text);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

START_TEST(test_nomem_merge_and_summary)
{
    tu_failing fs = {0};
    cvm_allocator a;
    cvm_customers *c = failing_model(&fs, &a, at(50, 0)), *shadow = model(at(50, 0));
    cvm_customers *src = model(at(50, 0));
    cvm_customers_options lo = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_summary_options so = sopts(DAY, at(200, 0));
    char *dir = tu_tmpdir(), *snap = tu_join(dir, "h.snap");
    size_t i, k, failures = 0, rows;
    double *col, *want;
    cvm_status s;
    for (i = 0; i < 40; i++) {
        char id[16];
        snprintf(id, sizeof id, "m%zu", i);
        add(shadow, id, at((int64_t)i, 0), 0.5);
        CK_ST(cvm_customers_add(c, id, strlen(id), at((int64_t)i, 0), 0.5), CVM_OK);
    }
    for (i = 0; i < 2000; i++) {
        char id[16];
        snprintf(id, sizeof id, "m%zu", i % 700);
        add(src, id, at((int64_t)(i % 120), (int64_t)i), 0.25 * (double)(i % 9));
    }
    /* One customer with many holdout purchases, so the holdout scratch
     * space has to grow. */
    for (i = 0; i < 300; i++) {
        add(src, "m3", at(51 + (int64_t)(i % 140), (int64_t)i), 1);
    }
    for (k = 1;; k++) {
        fail_in(&fs, k);
        s = cvm_customers_merge(c, src);
        fs.fail_at = 0;
        if (s == CVM_OK) {
            break;
        }
        CK_ST(s, CVM_E_NOMEM);
        MSG_HAS(cvm_customers_errmsg(c), "out of memory");
        failures++;
        expect_same_model(shadow, c, &so, "after a failed merge");
    }
    CK_ST(cvm_customers_merge(shadow, src), CVM_OK);
    expect_same_model(shadow, c, &so, "after the merge");
    ck_assert_uint_gt(failures, 0);

    /* The holdout summary on a fresh copy whose work space was never used
     * (a merge would have sized it already): loaded from a snapshot. */
    cvm_customers_free(c);
    ck_assert_int_eq(fs.live, 0);
    CK_ST(cvm_customers_save(shadow, snap), CVM_OK);
    a = tu_failing_allocator(&fs);
    lo.allocator = &a;
    c = NULL;
    CK_ST(cvm_customers_load(&c, snap, &lo, NULL, 0), CVM_OK);
    expect_same_model(shadow, c, NULL, "loaded copy");
    rows = cvm_customers_summary_rows(c);
    col = calloc(rows, sizeof *col);
    want = calloc(rows, sizeof *want);
    CK_ST(cvm_customers_summary(shadow, &so, CVM_COL_MONETARY_HOLDOUT, want, rows), CVM_OK);
    failures = 0;
    for (k = 1;; k++) {
        fail_in(&fs, k);
        s = cvm_customers_summary(c, &so, CVM_COL_MONETARY_HOLDOUT, col, rows);
        fs.fail_at = 0;
        if (s == CVM_OK) {
            break;
        }
        CK_ST(s, CVM_E_NOMEM);
        MSG_HAS(cvm_customers_errmsg(c), "out of memory");
        failures++;
    }
    ck_assert_uint_gt(failures, 0);
    for (i = 0; i < rows; i++) {
        EXPECT_EQ(col[i], want[i]);
    }
    expect_same_by_id(shadow, c, &so, "after the holdout summary");
    free(col);
    free(want);
    cvm_customers_free(c);
    cvm_customers_free(shadow);
    cvm_customers_free(src);
    ck_assert_int_eq(fs.live, 0);
    free(snap);
    tu_remove_tree(dir);
}
END_TEST

START_TEST(test_nomem_save_and_load)
{
    tu_failing fs = {0}, ls = {0};
    cvm_allocator a, la;
    cvm_customers_options lo = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_customers *c = failing_model(&fs, &a, at(50, 0)), *shadow = model(at(50, 0)), *l;
    cvm_customers *old = populated();
    cvm_summary_options so = sopts(DAY, at(200, 0));
    char *dir = tu_tmpdir(), *path = tu_join(dir, "m.snap");
    unsigned char *prev, *now;
    size_t pn, nn, i, k, failures = 0;
    char err[512];
    cvm_status s;
    for (i = 0; i < 500; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%zu", i % 170);
        add(shadow, id, at((int64_t)(i % 90), 0), 0.75);
        CK_ST(cvm_customers_add(c, id, strlen(id), at((int64_t)(i % 90), 0), 0.75), CVM_OK);
    }
    /* A previous snapshot that a failed save must leave alone. */
    CK_ST(cvm_customers_save(old, path), CVM_OK);
    prev = (unsigned char *)tu_read_file(path, &pn);
    for (k = 1;; k++) {
        fail_in(&fs, k);
        s = cvm_customers_save(c, path);
        fs.fail_at = 0;
        if (s == CVM_OK) {
            break;
        }
        CK_ST(s, CVM_E_NOMEM);
        MSG_HAS(cvm_customers_errmsg(c), path);
        failures++;
        ck_assert_int_eq(tu_count_entries(dir), 1); /* no temporary file left */
        now = (unsigned char *)tu_read_file(path, &nn);
        ck_assert_uint_eq(nn, pn);
        ck_assert_mem_eq(now, prev, pn);
        free(now);
        /* Without a holdout: computing one would size the work space the
         * save needs, and hide the failures of that allocation. */
        expect_same_model(shadow, c, NULL, "after a failed save");
    }
    ck_assert_uint_gt(failures, 2);
    ck_assert_int_eq(tu_count_entries(dir), 1);
    free(prev);

    /* Loading with a failing allocator. */
    la = tu_failing_allocator(&ls);
    lo.allocator = &la;
    failures = 0;
    for (k = 1;; k++) {
        l = old;
        err[0] = '\0';
        fail_in(&ls, k);
        s = cvm_customers_load(&l, path, &lo, err, sizeof err);
        ls.fail_at = 0;
        if (s == CVM_OK) {
            break;
        }
        CK_ST(s, CVM_E_NOMEM);
        ck_assert_ptr_null(l);
        MSG_HAS(err, path);
        MSG_HAS(err, "out of memory");
        ck_assert_int_eq(ls.live, 0);
        failures++;
    }
    ck_assert_uint_gt(failures, 0);
    expect_same_model(shadow, l, &so, "loaded with a failing allocator");
    /* The loaded model keeps using that allocator. */
    add(l, "after-load", at(3, 0), 1);
    ck_assert_int_gt(ls.live, 0);
    cvm_customers_free(l);
    ck_assert_int_eq(ls.live, 0);

    cvm_customers_free(c);
    ck_assert_int_eq(fs.live, 0);
    cvm_customers_free(shadow);
    cvm_customers_free(old);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

/* ======================================================================= */
/* 9. Merge                                                                */
/* ======================================================================= */

START_TEST(test_merge_rules)
{
    cvm_customers *dst = populated();
    cvm_customers *by_period = model_opts(3600, 0, at(30, 0));
    cvm_customers *by_origin = model_opts(DAY, 3600, at(30, 0));
    cvm_customers *by_cal = model_opts(DAY, 0, at(31, 0));
    cvm_customers *no_cal = model(NONE);
    cvm_customers *src = model(at(30, 0)), *empty = model(at(30, 0));
    cvm_customers *direct = populated();
    cvm_summary_options so = sopts(DAY, at(60, 0));
    mstate before, src_before;
    double v[NCOL];
    add(by_period, "Q", at(1, 0), 1);
    add(by_origin, "Q", at(1, 0), 1);
    add(by_cal, "Q", at(1, 0), 1);
    add(no_cal, "Q", at(1, 0), 1);
    mstate_take(dst, &so, &before);
    CK_ST(cvm_customers_merge(dst, by_period), CVM_E_MISMATCH);
    MSG_HAS(cvm_customers_errmsg(dst), "differ");
    CK_ST(cvm_customers_merge(dst, by_origin), CVM_E_MISMATCH);
    CK_ST(cvm_customers_merge(dst, by_cal), CVM_E_MISMATCH);
    CK_ST(cvm_customers_merge(dst, no_cal), CVM_E_MISMATCH);
    CK_ST(cvm_customers_merge(dst, dst), CVM_E_INVALID);
    MSG_HAS(cvm_customers_errmsg(dst), "itself");
    CK_ST(cvm_customers_merge(dst, NULL), CVM_E_INVALID);
    CK_ST(cvm_customers_merge(NULL, src), CVM_E_INVALID);
    CK_ST(cvm_customers_merge(dst, empty), CVM_OK);
    expect_unchanged(dst, &so, &before, "after refused merges");

    /* A real merge: A gets an earlier first purchase and a holdout one, a
     * new customer arrives; src stays as it was. */
    add(src, "A", at(0, 0), 4.0);  /* same first day as dst's A */
    add(src, "B", at(1, 0), 0.5);  /* before B's first day */
    add(src, "A", at(45, 0), 2.0); /* holdout */
    add(src, "N", at(29, 0), 1.0); /* new */
    add(direct, "A", at(0, 0), 4.0);
    add(direct, "B", at(1, 0), 0.5);
    add(direct, "A", at(45, 0), 2.0);
    add(direct, "N", at(29, 0), 1.0);
    mstate_take(src, &so, &src_before);
    CK_ST(cvm_customers_merge(dst, src), CVM_OK);
    expect_unchanged(src, &so, &src_before, "merge source");
    expect_same_model(direct, dst, &so, "merged vs direct");
    /* B: days 1 (0.5), 3 (0.75 + 0.25), 20 (8): x 2, t_x 19, T 29, m (1 + 8) / 2 */
    row_of(dst, "B", &so, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 2);
    EXPECT_EQ(v[CVM_COL_RECENCY], 19);
    EXPECT_EQ(v[CVM_COL_T], 29);
    EXPECT_EQ(v[CVM_COL_MONETARY], 4.5);
    /* A: days 0 (1 + 4), 5 (2.5); holdout 40 (4), 45 (2) */
    row_of(dst, "A", &so, v);
    EXPECT_EQ(v[CVM_COL_FREQUENCY], 1);
    EXPECT_EQ(v[CVM_COL_MONETARY], 2.5);
    EXPECT_EQ(v[CVM_COL_FREQUENCY_HOLDOUT], 2);
    EXPECT_EQ(v[CVM_COL_MONETARY_HOLDOUT], 3);
    EXPECT_EQ(v[CVM_COL_DURATION_HOLDOUT], 30);
    /* Merging the same source twice counts its purchases twice. */
    CK_ST(cvm_customers_merge(dst, src), CVM_OK);
    ck_assert_uint_eq(cvm_customers_transactions(dst), before.tx + 8);
    mstate_free(&before);
    mstate_free(&src_before);
    cvm_customers_free(dst);
    cvm_customers_free(by_period);
    cvm_customers_free(by_origin);
    cvm_customers_free(by_cal);
    cvm_customers_free(no_cal);
    cvm_customers_free(src);
    cvm_customers_free(empty);
    cvm_customers_free(direct);
}
END_TEST

/* ======================================================================= */

static Suite *customers_suite(void)
{
    Suite *s = suite_create("customers");
    TCase *opt = tcase_create("options");
    TCase *sum = tcase_create("summary");
    TCase *ooo = tcase_create("out_of_order");
    TCase *prop = tcase_create("property");
    TCase *bad = tcase_create("bad_input");
    TCase *csv = tcase_create("csv_dialects");
    TCase *longline = tcase_create("long_line");
    TCase *mem = tcase_create("nomem");
    TCase *mrg = tcase_create("merge");

    tcase_add_test(opt, test_options_init_matches_macro);
    tcase_add_test(opt, test_options_abi_sizes);
    tcase_add_test(opt, test_options_csv_and_summary_abi);
    tcase_add_test(opt, test_options_invalid);
    tcase_add_test(opt, test_options_copied_not_borrowed);
    suite_add_tcase(s, opt);

    tcase_add_test(sum, test_summary_hand_days);
    tcase_add_test(sum, test_summary_hand_weeks);
    tcase_add_test(sum, test_summary_holdout_ranges);
    tcase_add_test(sum, test_summary_t_without_calibration_end);
    tcase_add_test(sum, test_summary_period_and_origin);
    tcase_add_test(sum, test_period_boundaries);
    tcase_add_test(sum, test_ids_find_roundtrip);
    tcase_add_test(sum, test_many_similar_ids);
    suite_add_tcase(s, sum);

    tcase_add_loop_test(ooo, test_out_of_order_cases, 0,
                        (int)(sizeof ooo_cases / sizeof *ooo_cases));
    suite_add_tcase(s, ooo);

    tcase_set_timeout(prop, 300);
    tcase_add_loop_test(prop, test_property_equivalence, 0, PROP_SEEDS);
    tcase_add_test(prop, test_realtime_row);
    suite_add_tcase(s, prop);

    tcase_set_timeout(bad, 120);
    tcase_add_test(bad, test_bad_add_values);
    tcase_add_loop_test(bad, test_bad_csv, 0, (int)(sizeof bad_csvs / sizeof *bad_csvs));
    tcase_add_test(bad, test_bad_csv_time_column);
    tcase_add_test(bad, test_bad_csv_all_or_nothing);
    tcase_add_test(bad, test_failed_load_keeps_decimal_amounts);
    tcase_add_test(bad, test_bad_batch);
    tcase_add_test(bad, test_rollback_then_add);
    tcase_add_test(bad, test_bad_files);
    tcase_add_test(bad, test_snapshot_roundtrip);
    tcase_add_test(bad, test_snapshot_damaged);
    tcase_add_test(bad, test_snapshot_failed_save);
    suite_add_tcase(s, bad);

    /* Alone, with a short timeout: a reader that never gives up on an
     * overlong record would otherwise hang the whole case. */
    tcase_set_timeout(longline, 15);
    tcase_add_test(longline, test_bad_csv_long_line);
    suite_add_tcase(s, longline);

    tcase_add_test(csv, test_csv_whitespace_crlf);
    tcase_add_test(csv, test_csv_semicolon_and_quotes);
    tcase_add_test(csv, test_csv_columns);
    tcase_add_test(csv, test_csv_dates);
    suite_add_tcase(s, csv);

    tcase_set_timeout(mem, 300);
    tcase_add_test(mem, test_nomem_add);
    tcase_add_test(mem, test_nomem_first_add);
    tcase_add_test(mem, test_nomem_block_boundaries);
    tcase_add_test(mem, test_nomem_batch_and_csv);
    tcase_add_test(mem, test_nomem_merge_and_summary);
    tcase_add_test(mem, test_nomem_save_and_load);
    suite_add_tcase(s, mem);

    tcase_add_test(mrg, test_merge_rules);
    tcase_set_timeout(mrg, 120);
    tcase_add_test(mrg, test_large_model);
    suite_add_tcase(s, mrg);
    return s;
}

int main(void)
{
    return tu_run(customers_suite());
}
