/* cvm_rfm and cvm_segment_profiles through the public API: options, the
 * CDNOW acceptance table, both tie rules on small hand examples, the
 * built-in maps cell by cell, custom rules, profiles, snapshots, allocation
 * failures and bad input. */
#include "testutil.h"

#include "segment/segment_int.h" /* snapshot writer and kinds, for bad files */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cvm_rfm *make(int32_t bins, int32_t ties, int32_t map)
{
    cvm_rfm_options o = CVM_RFM_OPTIONS_INIT;
    cvm_rfm *r = NULL;
    o.bins = bins;
    o.ties = ties;
    o.map = map;
    ck_assert_int_eq(cvm_rfm_new(&r, &o), CVM_OK);
    return r;
}

static void fit_ok(cvm_rfm *r, const double *rec, const double *f, const double *m, size_t n)
{
    cvm_status st = cvm_rfm_fit(r, rec, f, m, n);
    ck_assert_msg(st == CVM_OK, "%s", cvm_rfm_errmsg(r));
}

START_TEST(options_init_matches_macro)
{
    cvm_rfm_options a = CVM_RFM_OPTIONS_INIT, b;
    cvm_rfm_options bad = CVM_RFM_OPTIONS_INIT;
    cvm_rfm *r = (cvm_rfm *)1;
    memset(&b, 0xAB, sizeof b);
    ck_assert_int_eq(cvm_rfm_options_init(&b, sizeof b), CVM_OK);
    ck_assert_mem_eq(&a, &b, sizeof a);
    ck_assert_int_eq(cvm_rfm_options_init(&b, sizeof b - 4), CVM_E_ABI);
    ck_assert_int_eq(cvm_rfm_options_init(NULL, sizeof b), CVM_E_INVALID);
    /* defaults: 5 bins, R's quantiles, R's map */
    ck_assert_int_eq(a.bins, 5);
    ck_assert_int_eq(a.ties, CVM_RFM_QUANTILE);
    ck_assert_int_eq(a.map, CVM_RFM_MAP_RFM_PACKAGE);
    bad.bins = 1;
    ck_assert_int_eq(cvm_rfm_new(&r, &bad), CVM_E_INVALID);
    ck_assert_ptr_null(r);
    bad.bins = 10;
    ck_assert_int_eq(cvm_rfm_new(&r, &bad), CVM_E_INVALID);
    bad = a;
    bad.ties = 2;
    ck_assert_int_eq(cvm_rfm_new(&r, &bad), CVM_E_INVALID);
    bad = a;
    bad.map = 2;
    ck_assert_int_eq(cvm_rfm_new(&r, &bad), CVM_E_INVALID);
    bad = a;
    bad.reserved = 1;
    ck_assert_int_eq(cvm_rfm_new(&r, &bad), CVM_E_INVALID);
    bad = a;
    bad.size = 8;
    ck_assert_int_eq(cvm_rfm_new(&r, &bad), CVM_E_ABI);
    ck_assert_int_eq(cvm_rfm_new(NULL, NULL), CVM_E_INVALID);
    ck_assert_int_eq(cvm_rfm_new(&r, NULL), CVM_OK);
    ck_assert_uint_eq(cvm_rfm_segment_count(r), 11);
    cvm_rfm_free(r);
    cvm_rfm_free(NULL);
    ck_assert_str_eq(cvm_rfm_errmsg(NULL), "");
}
END_TEST

/* ---- CDNOW acceptance ---------------------------------------------------- */

#define CDNOW_N 2357

typedef struct cbs {
    double rec[CDNOW_N], x[CDNOW_N], m[CDNOW_N];
    int id[CDNOW_N];
} cbs;

/* recency = T_cal - t_x (weeks since the last purchase), frequency = x (the
 * repeat purchases: quantile scores are the same for x + 1, since adding 1
 * to every value shifts the breakpoints by 1; x keeps frequency * m_x the
 * calibration repeat revenue that the profiles' share_revenue sums),
 * monetary = m_x (mean repeat spend, 0 without repeats). */
static cbs *load_cbs(void)
{
    cbs *d = calloc(1, sizeof *d);
    FILE *f = fopen(tu_data_path("btyd_cdnow_cbs.csv"), "r");
    char line[256];
    size_t n = 0;
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f) && n < CDNOW_N) {
        double t_x, T, x_star;
        ck_assert_int_eq(sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf", &d->id[n], &d->x[n], &t_x, &T,
                                &x_star, &d->m[n]),
                         6);
        d->rec[n] = T - t_x;
        n++;
    }
    fclose(f);
    ck_assert_uint_eq(n, CDNOW_N);
    return d;
}

/* Computed independently with Python's standard library (3.11): breakpoints
 * by statistics.quantiles(column, n=5, method="inclusive") (R's type 7),
 * score = 1 + the number of breakpoints below the value (recency reversed:
 * 6 - that), segments by the R rfm package table and by the RF grid written
 * out again in the script, ranks by sorted(range(n), key=(value, row)) and
 * bin = 1 + #{j : 5 p > (n - 1) j}. Rows: the first customer of every
 * occupied segment, customers 1-3 and 1516 (the BTYD walkthrough's), and
 * the first with a few rarer score triples. */
static const struct {
    int id;
    int r, f, m;
    int seg, grid;
    int rank_r, rank_f, rank_m;
} cdnow_rows[] = {
    { 1, 5, 4, 4, 0, 9, 5, 4, 4 },     /* Champions; champions */
    { 2, 1, 3, 4, 7, 1, 1, 3, 4 },     /* At Risk; at risk */
    { 3, 1, 1, 1, 9, 0, 1, 1, 1 },     /* Lost; hibernating */
    { 7, 2, 3, 4, 1, 1, 2, 3, 4 },     /* Loyal Customers; at risk */
    { 11, 4, 5, 5, 0, 5, 4, 5, 5 },    /* Champions; loyal customers */
    { 21, 4, 4, 5, 0, 5, 4, 4, 5 },    /* Champions; loyal customers */
    { 136, 3, 4, 4, 1, 5, 3, 4, 4 },   /* Loyal Customers; loyal customers */
    { 189, 2, 5, 5, 1, 2, 2, 5, 5 },   /* Loyal Customers; can't lose */
    { 348, 5, 3, 3, 1, 8, 5, 4, 3 },   /* Loyal Customers; potential loyalists */
    { 763, 2, 1, 1, 6, 0, 2, 1, 1 },   /* About To Sleep; hibernating */
    { 1448, 3, 1, 1, 2, 3, 3, 2, 2 },  /* Potential Loyalist; about to sleep */
    { 1516, 5, 5, 5, 0, 9, 5, 5, 5 },  /* Champions; champions */
};

START_TEST(cdnow_scores_and_segments)
{
    /* Breakpoints as Python printed them (repr). Ours interpolate as
     * a + h (b - a), Python as (a (5 - j) + b j) / 5: 1e-13 relative covers
     * the rounding of either. */
    static const double bp_hand[3][4] = {
        { 14.1428571428572, 28.2857142857143, 31.2857142857143, 34.5714285714286 },
        { 0, 0, 1, 2 },
        { 0, 0, 5.384, 27.564 },
    };
    /* segment sizes (RFM package map, Others last) and RF grid sizes */
    static const int seg_hand[11] = { 482, 442, 553, 0, 0, 0, 414, 22, 0, 444, 0 };
    static const int grid_hand[11] = { 858, 78, 6, 386, 53, 158, 167, 0, 313, 338, 0 };
    static int32_t r[CDNOW_N], f[CDNOW_N], m[CDNOW_N], seg[CDNOW_N];
    static int32_t r2[CDNOW_N], f2[CDNOW_N], m2[CDNOW_N];
    cvm_rfm *q, *g, *rk;
    cbs *d;
    double bp[4];
    int counts[11], gcounts[11], score_counts[3][6];
    size_t i, j, total = 0;
    char err[256];
    TU_SKIP_IF_NO_DATA();
    d = load_cbs();
    q = make(5, CVM_RFM_QUANTILE, CVM_RFM_MAP_RFM_PACKAGE);
    fit_ok(q, d->rec, d->x, d->m, CDNOW_N);
    for (j = 0; j < 3; j++) {
        size_t b;
        ck_assert_int_eq(cvm_rfm_breakpoints(q, (int32_t)j, bp, 4), CVM_OK);
        for (b = 0; b < 4; b++) {
            ck_assert_msg(fabs(bp[b] - bp_hand[j][b]) <= 1e-13 * bp_hand[j][b],
                          "column %zu breakpoint %zu: %.17g vs %.17g", j, b, bp[b], bp_hand[j][b]);
        }
    }
    ck_assert_int_eq(cvm_rfm_fit_scores(q, CDNOW_N, r, f, m), CVM_OK);
    /* the fitted rows scored again give the same scores */
    ck_assert_int_eq(cvm_rfm_score(q, d->rec, d->x, d->m, CDNOW_N, r2, f2, m2, err, sizeof err),
                     CVM_OK);
    ck_assert_mem_eq(r, r2, sizeof r);
    ck_assert_mem_eq(f, f2, sizeof f);
    ck_assert_mem_eq(m, m2, sizeof m);
    ck_assert_int_eq(cvm_rfm_segment(q, r, f, m, CDNOW_N, seg, err, sizeof err), CVM_OK);
    memset(counts, 0, sizeof counts);
    memset(score_counts, 0, sizeof score_counts);
    for (i = 0; i < CDNOW_N; i++) {
        ck_assert(seg[i] >= 0 && seg[i] < 11);
        counts[seg[i]]++;
        score_counts[0][r[i]]++;
        score_counts[1][f[i]]++;
        score_counts[2][m[i]]++;
    }
    for (j = 0; j < 11; j++) {
        ck_assert_msg(counts[j] == seg_hand[j], "%s: %d vs %d", cvm_rfm_segment_name(q, j),
                      counts[j], seg_hand[j]);
        total += (size_t)counts[j];
    }
    ck_assert_uint_eq(total, CDNOW_N);
    /* 1411 customers without repeats share frequency 0 = the first two
     * breakpoints: F and M scores 2 go unused (R's rule too) */
    ck_assert_int_eq(score_counts[1][1], 1411);
    ck_assert_int_eq(score_counts[1][2], 0);
    ck_assert_int_eq(score_counts[2][2], 0);

    g = make(5, CVM_RFM_QUANTILE, CVM_RFM_MAP_RF_GRID);
    fit_ok(g, d->rec, d->x, d->m, CDNOW_N);
    ck_assert_int_eq(cvm_rfm_segment(g, r, f, m, CDNOW_N, seg, err, sizeof err), CVM_OK);
    memset(gcounts, 0, sizeof gcounts);
    for (i = 0; i < CDNOW_N; i++) {
        gcounts[seg[i]]++;
    }
    ck_assert_mem_eq(gcounts, grid_hand, sizeof gcounts);

    rk = make(5, CVM_RFM_RANK, CVM_RFM_MAP_RFM_PACKAGE);
    fit_ok(rk, d->rec, d->x, d->m, CDNOW_N);
    ck_assert_int_eq(cvm_rfm_fit_scores(rk, CDNOW_N, r2, f2, m2), CVM_OK);
    memset(score_counts, 0, sizeof score_counts);
    for (i = 0; i < CDNOW_N; i++) {
        score_counts[0][r2[i]]++;
        score_counts[1][f2[i]]++;
        score_counts[2][m2[i]]++;
    }
    for (j = 0; j < 3; j++) { /* 2357 = 472 + 3 * 471 + 472 */
        ck_assert_int_eq(score_counts[j][1], 472);
        ck_assert_int_eq(score_counts[j][2], 471);
        ck_assert_int_eq(score_counts[j][3], 471);
        ck_assert_int_eq(score_counts[j][4], 471);
        ck_assert_int_eq(score_counts[j][5], 472);
    }

    for (j = 0; j < sizeof cdnow_rows / sizeof cdnow_rows[0]; j++) {
        const size_t row = (size_t)cdnow_rows[j].id - 1;
        int32_t one[3], s;
        ck_assert_int_eq(d->id[row], cdnow_rows[j].id);
        ck_assert_msg(r[row] == cdnow_rows[j].r && f[row] == cdnow_rows[j].f &&
                          m[row] == cdnow_rows[j].m,
                      "customer %d: %d%d%d", cdnow_rows[j].id, r[row], f[row], m[row]);
        ck_assert_int_eq(cvm_rfm_segment(q, &r[row], &f[row], &m[row], 1, &s, err, sizeof err),
                         CVM_OK);
        ck_assert_int_eq(s, cdnow_rows[j].seg);
        ck_assert_int_eq(cvm_rfm_segment(g, &r[row], &f[row], &m[row], 1, &s, err, sizeof err),
                         CVM_OK);
        ck_assert_int_eq(s, cdnow_rows[j].grid);
        ck_assert_int_eq(r2[row], cdnow_rows[j].rank_r);
        ck_assert_int_eq(f2[row], cdnow_rows[j].rank_f);
        ck_assert_int_eq(m2[row], cdnow_rows[j].rank_m);
        /* the combined score (header: 100 R + 10 F + M) */
        one[0] = r[row];
        one[1] = f[row];
        one[2] = m[row];
        ck_assert_int_eq(100 * one[0] + 10 * one[1] + one[2],
                         100 * cdnow_rows[j].r + 10 * cdnow_rows[j].f + cdnow_rows[j].m);
    }
    ck_assert_str_eq(cvm_rfm_segment_name(q, 0), "Champions");
    ck_assert_str_eq(cvm_rfm_segment_name(q, 10), "Others");
    ck_assert_ptr_null(cvm_rfm_segment_name(q, 11));
    cvm_rfm_free(q);
    cvm_rfm_free(g);
    cvm_rfm_free(rk);
    free(d);
}
END_TEST

/* ---- tie rules on hand examples ------------------------------------------ */

static void scores_of(const cvm_rfm *x, const double *v, size_t n, int32_t *r, int32_t *f)
{
    ck_assert_int_eq(cvm_rfm_fit_scores(x, n, r, f, NULL), CVM_OK);
    (void)v;
}

START_TEST(quantile_ties)
{
    /* n = 10, k = 5: (n - 1) j / 5 = 1.8, 3.6, 5.4, 7.2 on the sorted
     * 0 0 0 0 0 0 1 2 3 4: breakpoints 0, 0, 0 + 0.4 (1 - 0) = 0.4,
     * 2 + 0.2 (3 - 2) = 2.2. Scores: 0 -> 1, 1 and 2 -> 4, 3 and 4 -> 5:
     * 2 and 3 are unused. Exact in binary except 0.4 and 2.2 (1 ulp). */
    const double v[10] = { 3, 0, 0, 1, 0, 4, 0, 0, 2, 0 };
    const int32_t want_f[10] = { 5, 1, 1, 4, 1, 5, 1, 1, 4, 1 };
    const int32_t want_r[10] = { 1, 5, 5, 2, 5, 1, 5, 5, 2, 5 };
    const double same[3] = { 7, 7, 7 }, few[3] = { 3, 1, 2 }, one[1] = { 9 };
    int32_t r[10], f[10], s[3];
    double bp[4];
    cvm_rfm *x = make(5, CVM_RFM_QUANTILE, CVM_RFM_MAP_RFM_PACKAGE);
    fit_ok(x, v, v, v, 10);
    ck_assert_int_eq(cvm_rfm_breakpoints(x, 1, bp, 4), CVM_OK);
    ck_assert_double_eq(bp[0], 0);
    ck_assert_double_eq(bp[1], 0);
    ck_assert_double_eq_tol(bp[2], 0.4, 1e-15);
    ck_assert_double_eq_tol(bp[3], 2.2, 1e-15);
    scores_of(x, v, 10, r, f);
    ck_assert_mem_eq(f, want_f, sizeof f);
    ck_assert_mem_eq(r, want_r, sizeof r);
    /* new values against the breakpoints: the same rule */
    {
        const double nv[4] = { 0, 0.4, 0.41, 100 };
        int32_t nf[4], nr[4];
        ck_assert_int_eq(cvm_rfm_score(x, nv, nv, NULL, 4, nr, nf, NULL, NULL, 0), CVM_OK);
        ck_assert_int_eq(nf[0], 1);
        ck_assert_int_eq(nf[1], 3); /* equal to a breakpoint: not above it */
        ck_assert_int_eq(nf[2], 4);
        ck_assert_int_eq(nf[3], 5);
        ck_assert_int_eq(nr[0], 5);
        ck_assert_int_eq(nr[3], 1);
    }
    /* all equal: every breakpoint is 7, everyone scores 1 (recency 5) */
    fit_ok(x, same, same, same, 3);
    scores_of(x, same, 3, r, f);
    ck_assert(f[0] == 1 && f[1] == 1 && f[2] == 1);
    ck_assert(r[0] == 5 && r[1] == 5 && r[2] == 5);
    /* n < k: 1 2 3 give breakpoints 1.4 1.8 2.2 2.6: scores 1, 3, 5 */
    fit_ok(x, few, few, few, 3);
    ck_assert_int_eq(cvm_rfm_breakpoints(x, 2, bp, 4), CVM_OK);
    ck_assert_double_eq_tol(bp[0], 1.4, 1e-15);
    ck_assert_double_eq_tol(bp[3], 2.6, 1e-15);
    ck_assert_int_eq(cvm_rfm_fit_scores(x, 3, NULL, NULL, s), CVM_OK);
    ck_assert(s[0] == 5 && s[1] == 1 && s[2] == 3);
    /* n = 1 */
    fit_ok(x, one, one, one, 1);
    ck_assert_int_eq(cvm_rfm_fit_scores(x, 1, r, f, NULL), CVM_OK);
    ck_assert(r[0] == 5 && f[0] == 1);
    ck_assert_int_eq(cvm_rfm_fit_scores(x, 2, r, f, NULL), CVM_E_INVALID);
    cvm_rfm_free(x);
}
END_TEST

START_TEST(rank_ties)
{
    /* pandas qcut(rank(method="first"), 5) on the same column: ranks 1..10
     * with the six zeros ranked in input order (rows 2 3 5 7 8 10), edges
     * at rank 2.8, 4.6, 6.4, 8.2: two per bin. */
    const double v[10] = { 3, 0, 0, 1, 0, 4, 0, 0, 2, 0 };
    const int32_t want_f[10] = { 5, 1, 1, 4, 2, 5, 2, 3, 4, 3 };
    const double same[3] = { 5, 5, 5 }, one[1] = { 2 };
    int32_t r[10], f[10], counts[6] = { 0 }, nf[3];
    double bp[4];
    size_t i;
    cvm_rfm *x = make(5, CVM_RFM_RANK, CVM_RFM_MAP_RFM_PACKAGE);
    fit_ok(x, v, v, v, 10);
    scores_of(x, v, 10, r, f);
    ck_assert_mem_eq(f, want_f, sizeof f);
    for (i = 0; i < 10; i++) {
        ck_assert_int_eq(r[i], 6 - want_f[i]); /* ranks ascending, recency reversed */
        counts[f[i]]++;
    }
    ck_assert(counts[1] == 2 && counts[2] == 2 && counts[3] == 2 && counts[4] == 2 &&
              counts[5] == 2);
    /* breakpoints: the values at sorted positions floor(9 j / 5) = 1 3 5 7 */
    ck_assert_int_eq(cvm_rfm_breakpoints(x, 1, bp, 4), CVM_OK);
    ck_assert(bp[0] == 0 && bp[1] == 0 && bp[2] == 0 && bp[3] == 2);
    /* new customers are scored against them: ties share a score */
    {
        const double nv[3] = { 0, 1, 3 };
        ck_assert_int_eq(cvm_rfm_score(x, NULL, nv, NULL, 3, NULL, nf, NULL, NULL, 0), CVM_OK);
        ck_assert(nf[0] == 1 && nf[1] == 4 && nf[2] == 5);
    }
    /* all equal with n < k: positions 0 1 2 fall in bins 1, 3, 5 (5 p > 2 j) */
    fit_ok(x, same, same, same, 3);
    scores_of(x, same, 3, r, f);
    ck_assert(f[0] == 1 && f[1] == 3 && f[2] == 5);
    ck_assert(r[0] == 5 && r[1] == 3 && r[2] == 1);
    fit_ok(x, one, one, one, 1);
    scores_of(x, one, 1, r, f);
    ck_assert(r[0] == 5 && f[0] == 1);
    cvm_rfm_free(x);
}
END_TEST

/* Quickselect against a sort on columns with many ties and no ties, for
 * several k: breakpoints equal (same formula on the same order statistics)
 * and rank bins equal a stable sort's. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const double *sort_keys;
static int cmp_index(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    double x = sort_keys[i], y = sort_keys[j];
    if (x != y) {
        return x < y ? -1 : 1;
    }
    return (i > j) - (i < j);
}

START_TEST(selection_matches_sort)
{
    const size_t n = 5003;
    double *v = malloc(n * sizeof *v), *s = malloc(n * sizeof *s), bp[8];
    size_t *idx = malloc(n * sizeof *idx), i;
    int32_t *f = malloc(n * sizeof *f);
    uint64_t state = 12345;
    int pass, k;
    ck_assert(v && s && idx && f);
    for (pass = 0; pass < 3; pass++) {
        for (i = 0; i < n; i++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            v[i] = pass == 0   ? (double)((state >> 33) % 7)
                   : pass == 1 ? (double)(state >> 11) / 9007199254740992.0
                               : (double)(n - i); /* descending */
        }
        memcpy(s, v, n * sizeof *s);
        qsort(s, n, sizeof *s, cmp_double);
        for (i = 0; i < n; i++) {
            idx[i] = i;
        }
        sort_keys = v;
        qsort(idx, n, sizeof *idx, cmp_index);
        for (k = 2; k <= 9; k++) {
            cvm_rfm *q = make(k, CVM_RFM_QUANTILE, 0), *rk = make(k, CVM_RFM_RANK, 0);
            int32_t j;
            fit_ok(q, v, v, v, n);
            fit_ok(rk, v, v, v, n);
            ck_assert_int_eq(cvm_rfm_breakpoints(q, 1, bp, (size_t)k - 1), CVM_OK);
            for (j = 1; j < k; j++) {
                size_t e = (n - 1) * (size_t)j / (size_t)k, rem = (n - 1) * (size_t)j % (size_t)k;
                double want = s[e];
                if (rem != 0 && s[e + 1] != s[e]) {
                    want += ((double)rem / k) * (s[e + 1] - s[e]);
                }
                ck_assert_double_eq(bp[j - 1], want);
            }
            ck_assert_int_eq(cvm_rfm_fit_scores(rk, n, NULL, f, NULL), CVM_OK);
            for (i = 0; i < n; i++) {
                int32_t want = 1;
                for (j = 1; j < k; j++) {
                    want += (uint64_t)k * i > (uint64_t)(n - 1) * (uint64_t)j;
                }
                ck_assert_int_eq(f[idx[i]], want);
            }
            cvm_rfm_free(q);
            cvm_rfm_free(rk);
        }
    }
    free(v);
    free(s);
    free(idx);
    free(f);
}
END_TEST

/* ---- maps and rules ------------------------------------------------------- */

START_TEST(rf_grid_cells)
{
    /* rows R = 1..5, columns F = 1..5, from the grid's table */
    static const char *const want[5][5] = {
        { "hibernating", "hibernating", "at risk", "at risk", "can't lose" },
        { "hibernating", "hibernating", "at risk", "at risk", "can't lose" },
        { "about to sleep", "about to sleep", "need attention", "loyal customers", "loyal customers" },
        { "promising", "potential loyalists", "potential loyalists", "loyal customers", "loyal customers" },
        { "new customers", "potential loyalists", "potential loyalists", "champions", "champions" },
    };
    cvm_rfm *g = make(5, CVM_RFM_QUANTILE, CVM_RFM_MAP_RF_GRID);
    int32_t r, f, m, s;
    ck_assert_uint_eq(cvm_rfm_segment_count(g), 11);
    for (r = 1; r <= 5; r++) {
        for (f = 1; f <= 5; f++) {
            for (m = 1; m <= 5; m++) {
                ck_assert_int_eq(cvm_rfm_segment(g, &r, &f, &m, 1, &s, NULL, 0), CVM_OK);
                ck_assert_str_eq(cvm_rfm_segment_name(g, (size_t)s), want[r - 1][f - 1]);
            }
        }
    }
    cvm_rfm_free(g);
}
END_TEST

START_TEST(rfm_package_map)
{
    /* R rfm's table, first match wins; the triples by hand */
    static const struct {
        int32_t r, f, m;
        const char *name;
    } cases[] = {
        { 5, 5, 5, "Champions" },
        { 4, 4, 4, "Champions" },
        { 5, 4, 3, "Loyal Customers" },   /* M 3 misses Champions */
        { 2, 3, 3, "Loyal Customers" },   /* before Need Attention */
        { 5, 1, 3, "Potential Loyalist" },
        { 5, 1, 1, "Potential Loyalist" }, /* listed before New Customers */
        { 3, 2, 2, "Potential Loyalist" },
        { 2, 2, 2, "Need Attention" },
        { 2, 1, 1, "About To Sleep" },
        { 1, 3, 2, "At Risk" },
        { 2, 5, 5, "Loyal Customers" },
        { 1, 5, 5, "At Risk" }, /* At Risk is listed before Can't Lose Them */
        { 1, 1, 1, "Lost" },
        { 1, 1, 3, "Others" },
        { 2, 5, 1, "Others" },
    };
    cvm_rfm *q = make(5, CVM_RFM_QUANTILE, CVM_RFM_MAP_RFM_PACKAGE);
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t s;
        ck_assert_int_eq(cvm_rfm_segment(q, &cases[i].r, &cases[i].f, &cases[i].m, 1, &s, NULL, 0),
                         CVM_OK);
        ck_assert_msg(strcmp(cvm_rfm_segment_name(q, (size_t)s), cases[i].name) == 0,
                      "%d%d%d: %s, not %s", cases[i].r, cases[i].f, cases[i].m,
                      cvm_rfm_segment_name(q, (size_t)s), cases[i].name);
    }
    /* every name of the table, in order */
    ck_assert_str_eq(cvm_rfm_segment_name(q, 1), "Loyal Customers");
    ck_assert_str_eq(cvm_rfm_segment_name(q, 3), "New Customers");
    ck_assert_str_eq(cvm_rfm_segment_name(q, 8), "Can't Lose Them");
    ck_assert_str_eq(cvm_rfm_segment_name(q, 9), "Lost");
    cvm_rfm_free(q);
}
END_TEST

START_TEST(custom_rules)
{
    const cvm_rfm_rule rules[] = {
        { "best", 3, 3, 2, 3, 1, 3 },
        { "recent", 3, 3, 1, 3, 1, 3 }, /* overlaps "best": first match wins */
    };
    cvm_rfm_rule bad = { "x", 1, 3, 1, 3, 1, 3 };
    char longname[80];
    int32_t r[3] = { 3, 3, 1 }, f[3] = { 2, 1, 1 }, m[3] = { 1, 1, 1 }, s[3];
    char err[256];
    cvm_rfm *x = make(3, CVM_RFM_QUANTILE, CVM_RFM_MAP_RFM_PACKAGE);
    /* the built-in maps are for 5 bins: none until rules are set */
    ck_assert_uint_eq(cvm_rfm_segment_count(x), 1);
    ck_assert_str_eq(cvm_rfm_segment_name(x, 0), "Others");
    ck_assert_int_eq(cvm_rfm_segment(x, r, f, m, 3, s, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "5 bins"));
    ck_assert_int_eq(cvm_rfm_set_rules(x, rules, 2), CVM_OK);
    ck_assert_uint_eq(cvm_rfm_segment_count(x), 3);
    ck_assert_int_eq(cvm_rfm_segment(x, r, f, m, 3, s, err, sizeof err), CVM_OK);
    ck_assert(s[0] == 0 && s[1] == 1 && s[2] == 2);
    ck_assert_str_eq(cvm_rfm_segment_name(x, 2), "Others");
    /* validation: the message names the rule; the rules stay */
    bad.r_max = 4;
    ck_assert_int_eq(cvm_rfm_set_rules(x, &bad, 1), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_rfm_errmsg(x), "rule 1 (\"x\"): r range 1..4"));
    bad.r_max = 3;
    bad.f_min = 0;
    ck_assert_int_eq(cvm_rfm_set_rules(x, &bad, 1), CVM_E_INVALID);
    bad.f_min = 3;
    bad.f_max = 2;
    ck_assert_int_eq(cvm_rfm_set_rules(x, &bad, 1), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_rfm_errmsg(x), "f range 3..2"));
    bad.f_min = 1;
    bad.name = "";
    ck_assert_int_eq(cvm_rfm_set_rules(x, &bad, 1), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_rfm_errmsg(x), "rule 1: the name"));
    bad.name = NULL;
    ck_assert_int_eq(cvm_rfm_set_rules(x, &bad, 1), CVM_E_INVALID);
    memset(longname, 'a', 64);
    longname[64] = '\0';
    bad.name = longname;
    ck_assert_int_eq(cvm_rfm_set_rules(x, &bad, 1), CVM_E_INVALID);
    longname[63] = '\0'; /* 63 bytes is the longest */
    ck_assert_int_eq(cvm_rfm_set_rules(x, &bad, 1), CVM_OK);
    ck_assert_str_eq(cvm_rfm_segment_name(x, 0), longname);
    ck_assert_int_eq(cvm_rfm_set_rules(x, rules, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_rfm_set_rules(x, NULL, 1), CVM_E_INVALID);
    ck_assert_int_eq(cvm_rfm_set_rules(NULL, rules, 1), CVM_E_INVALID);
    ck_assert_uint_eq(cvm_rfm_segment_count(x), 2);
    /* scores out of range name the row */
    r[1] = 4;
    ck_assert_int_eq(cvm_rfm_segment(x, r, f, m, 3, s, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "row 2"));
    ck_assert_int_eq(cvm_rfm_segment(x, r, f, NULL, 3, s, err, sizeof err), CVM_E_INVALID);
    cvm_rfm_free(x);
}
END_TEST

/* ---- profiles --------------------------------------------------------------- */

START_TEST(profiles_by_hand)
{
    /* segment 0: rows 1 and 3; 1: row 2; 2: row 4; 3: empty.
     * revenue f*m = 20, 0, 20, 8 (total 48); clv total 180. Every value
     * below is one or two correctly rounded operations: 1e-15 relative. */
    const int32_t labels[4] = { 0, 1, 0, 2 };
    const double rec[4] = { 1, 2, 3, 4 }, fr[4] = { 2, 0, 4, 1 }, mo[4] = { 10, 0, 5, 8 };
    const double pa[4] = { 0.5, 0.1, 0.9, 0.4 }, clv[4] = { 100, 0, 50, 30 };
    cvm_segment_profile p[4];
    char err[256];
    int j;
    for (j = 0; j < 4; j++) {
        p[j].size = sizeof p[j];
    }
    ck_assert_int_eq(cvm_segment_profiles(labels, 4, 4, rec, fr, mo, pa, clv, p, err, sizeof err),
                     CVM_OK);
#define NEAR(a, b) ck_assert_double_eq_tol((a), (double)(b), 1e-15 * fabs((double)(b)))
    NEAR(p[0].count, 2);
    NEAR(p[0].share_customers, 0.5);
    NEAR(p[0].share_revenue, 40.0 / 48);
    NEAR(p[0].mean_recency, 2);
    NEAR(p[0].mean_frequency, 3);
    NEAR(p[0].mean_monetary, 7.5);
    NEAR(p[0].mean_p_alive, 0.7);
    NEAR(p[0].mean_clv, 75);
    NEAR(p[0].share_clv, 150.0 / 180);
    NEAR(p[1].count, 1);
    NEAR(p[1].share_customers, 0.25);
    ck_assert_double_eq(p[1].share_revenue, 0);
    NEAR(p[1].mean_recency, 2);
    ck_assert_double_eq(p[1].mean_frequency, 0);
    ck_assert_double_eq(p[1].mean_monetary, 0);
    NEAR(p[1].mean_p_alive, 0.1);
    ck_assert_double_eq(p[1].mean_clv, 0);
    ck_assert_double_eq(p[1].share_clv, 0);
    NEAR(p[2].count, 1);
    NEAR(p[2].share_customers, 0.25);
    NEAR(p[2].share_revenue, 8.0 / 48);
    NEAR(p[2].mean_recency, 4);
    NEAR(p[2].mean_frequency, 1);
    NEAR(p[2].mean_monetary, 8);
    NEAR(p[2].mean_p_alive, 0.4);
    NEAR(p[2].mean_clv, 30);
    NEAR(p[2].share_clv, 30.0 / 180);
    ck_assert_uint_eq(p[3].size, sizeof p[3]);
    ck_assert(p[3].count == 0 && p[3].share_customers == 0 && p[3].share_revenue == 0 &&
              p[3].mean_recency == 0 && p[3].mean_frequency == 0 && p[3].mean_monetary == 0 &&
              p[3].mean_p_alive == 0 && p[3].mean_clv == 0 && p[3].share_clv == 0);
    /* without P(alive) and CLV: those columns are 0 */
    ck_assert_int_eq(cvm_segment_profiles(labels, 4, 4, rec, fr, mo, NULL, NULL, p, err, sizeof err),
                     CVM_OK);
    ck_assert(p[0].mean_p_alive == 0 && p[0].mean_clv == 0 && p[0].share_clv == 0);
    NEAR(p[0].share_revenue, 40.0 / 48);
#undef NEAR
    /* errors name the row */
    {
        const int32_t bad_labels[4] = { 0, 1, 4, 2 };
        const double nan_rec[4] = { 1, 2, NAN, 4 }, pa_bad[4] = { 0.5, 1.5, 0, 0 };
        ck_assert_int_eq(cvm_segment_profiles(bad_labels, 4, 4, rec, fr, mo, NULL, NULL, p, err,
                                              sizeof err),
                         CVM_E_INVALID);
        ck_assert_ptr_nonnull(strstr(err, "row 3: label 4"));
        ck_assert_int_eq(cvm_segment_profiles(labels, 4, 4, nan_rec, fr, mo, NULL, NULL, p, err,
                                              sizeof err),
                         CVM_E_INVALID);
        ck_assert_ptr_nonnull(strstr(err, "row 3: recency"));
        ck_assert_int_eq(cvm_segment_profiles(labels, 4, 4, rec, fr, mo, pa_bad, NULL, p, err,
                                              sizeof err),
                         CVM_E_INVALID);
        ck_assert_ptr_nonnull(strstr(err, "row 2: p_alive"));
        ck_assert_int_eq(cvm_segment_profiles(labels, 0, 4, rec, fr, mo, NULL, NULL, p, err,
                                              sizeof err),
                         CVM_E_INVALID);
        ck_assert_int_eq(cvm_segment_profiles(labels, 4, 4, NULL, fr, mo, NULL, NULL, p, err,
                                              sizeof err),
                         CVM_E_INVALID);
        p[2].size = 8;
        ck_assert_int_eq(cvm_segment_profiles(labels, 4, 4, rec, fr, mo, NULL, NULL, p, err,
                                              sizeof err),
                         CVM_E_ABI);
        p[0].size = 8;
        ck_assert_int_eq(cvm_segment_profiles(labels, 4, 4, rec, fr, mo, NULL, NULL, p, err,
                                              sizeof err),
                         CVM_E_ABI);
        /* a stride that would misalign the doubles of later elements */
        p[0].size = sizeof p[0] + 4;
        ck_assert_int_eq(cvm_segment_profiles(labels, 1, 1, rec, fr, mo, NULL, NULL, p, err,
                                              sizeof err),
                         CVM_E_ABI);
    }
    /* sums that overflow are an error, not an infinity */
    {
        const double big[2] = { 1e308, 1e308 }, two[2] = { 2, 2 };
        const int32_t l2[2] = { 0, 0 };
        p[0].size = sizeof p[0];
        ck_assert_int_eq(cvm_segment_profiles(l2, 2, 1, big, two, two, NULL, NULL, p, err,
                                              sizeof err),
                         CVM_E_RANGE);
        ck_assert(isfinite(p[0].mean_recency));
    }
}
END_TEST

/* ---- snapshots ---------------------------------------------------------------- */

static const double small_rec[6] = { 1, 5, 9, 2, 30, 7 }, small_f[6] = { 3, 0, 1, 6, 0, 2 },
                    small_m[6] = { 20, 0, 15, 40, 0, 25.5 };

START_TEST(save_load_round_trip)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "rfm.cvm"), *other = tu_join(dir, "no.cvm");
    const cvm_rfm_rule rules[] = { { "top", 4, 5, 4, 5, 1, 5 }, { "rest", 1, 5, 1, 5, 1, 5 } };
    int32_t r[6], f[6], m[6], r2[6], f2[6], m2[6];
    double a[4], b[4];
    char err[256];
    cvm_rfm *x = make(5, CVM_RFM_RANK, CVM_RFM_MAP_RF_GRID), *l = NULL;
    int c;
    ck_assert_int_eq(cvm_rfm_save(x, path), CVM_E_INVALID); /* not fitted */
    fit_ok(x, small_rec, small_f, small_m, 6);
    /* built-in map: saved by name */
    ck_assert_int_eq(cvm_rfm_save(x, path), CVM_OK);
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_OK);
    ck_assert_uint_eq(cvm_rfm_segment_count(l), 11);
    ck_assert_str_eq(cvm_rfm_segment_name(l, 0), "hibernating");
    cvm_rfm_free(l);
    /* custom rules and breakpoints round trip */
    ck_assert_int_eq(cvm_rfm_set_rules(x, rules, 2), CVM_OK);
    ck_assert_int_eq(cvm_rfm_save(x, path), CVM_OK);
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_OK);
    for (c = 0; c < 3; c++) {
        ck_assert_int_eq(cvm_rfm_breakpoints(x, c, a, 4), CVM_OK);
        ck_assert_int_eq(cvm_rfm_breakpoints(l, c, b, 4), CVM_OK);
        ck_assert_mem_eq(a, b, sizeof a);
    }
    ck_assert_uint_eq(cvm_rfm_segment_count(l), 3);
    ck_assert_str_eq(cvm_rfm_segment_name(l, 0), "top");
    ck_assert_str_eq(cvm_rfm_segment_name(l, 1), "rest");
    ck_assert_int_eq(cvm_rfm_score(x, small_rec, small_f, small_m, 6, r, f, m, err, sizeof err),
                     CVM_OK);
    ck_assert_int_eq(cvm_rfm_score(l, small_rec, small_f, small_m, 6, r2, f2, m2, err, sizeof err),
                     CVM_OK);
    ck_assert_mem_eq(r, r2, sizeof r);
    ck_assert_mem_eq(f, f2, sizeof f);
    ck_assert_mem_eq(m, m2, sizeof m);
    /* the fitted rows' own scores are not in snapshots */
    ck_assert_int_eq(cvm_rfm_fit_scores(l, 6, r2, f2, m2), CVM_E_INVALID);
    cvm_rfm_free(l);
    l = (cvm_rfm *)1;
    ck_assert_int_eq(cvm_rfm_load(&l, other, NULL, err, sizeof err), CVM_E_IO);
    ck_assert_ptr_null(l);
    ck_assert_ptr_nonnull(strstr(err, "no.cvm"));
    ck_assert_int_eq(cvm_rfm_load(&l, NULL, NULL, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_rfm_save(x, NULL), CVM_E_INVALID);
    cvm_rfm_free(x);
    free(path);
    free(other);
    tu_remove_tree(dir);
}
END_TEST

/* A snapshot of `kind` with our head section (bins etc. as given, 4
 * breakpoints per column from `bp`) and, when nrules > 0, a rules section. */
static void write_snapshot(const char *path, uint32_t kind, uint32_t bins, uint32_t flags,
                           const double *bp, const int32_t *lim, const char *name)
{
    cvm_allocator a;
    cvm__snap_writer *w = NULL;
    unsigned char b[24 + 12 * 8], rb[4 + 28 + 64];
    size_t i, len = 24 + 3 * 8 * (size_t)(bins - 1), rlen = 0;
    char err[256];
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    ck_assert_uint_le(len, sizeof b);
    cvm__put_u32(b, bins);
    cvm__put_u32(b + 4, 0);
    cvm__put_u32(b + 8, 0);
    cvm__put_u32(b + 12, flags);
    cvm__put_u64(b + 16, 6);
    for (i = 0; i < 3 * (size_t)(bins - 1); i++) {
        uint64_t u;
        memcpy(&u, &bp[i], 8);
        cvm__put_u64(b + 24 + 8 * i, u);
    }
    ck_assert_int_eq(cvm__snap_create(&w, &a, path, kind, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, 0x314D4652u, len), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, b, len), CVM_OK);
    ck_assert_int_eq(cvm__snap_end(w), CVM_OK);
    if (lim != NULL) {
        cvm__put_u32(rb, 1);
        for (i = 0; i < 6; i++) {
            cvm__put_u32(rb + 4 + 4 * i, (uint32_t)lim[i]);
        }
        cvm__put_u32(rb + 28, (uint32_t)strlen(name));
        memcpy(rb + 32, name, strlen(name));
        rlen = 32 + strlen(name);
        ck_assert_int_eq(cvm__snap_begin(w, 0x454C5552u, rlen), CVM_OK);
        ck_assert_int_eq(cvm__snap_write(w, rb, rlen), CVM_OK);
        ck_assert_int_eq(cvm__snap_end(w), CVM_OK);
    }
    ck_assert_int_eq(cvm__snap_commit(w), CVM_OK);
}

START_TEST(load_checks_consistency)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "bad.cvm");
    const double bp[12] = { 1, 2, 3, 4, 0, 0, 1, 2, 5, 6, 7, 8 };
    const double desc[12] = { 1, 2, 3, 4, 0, 0, 1, 2, 5, 6, 9, 8 };
    const double neg[12] = { -1, 2, 3, 4, 0, 0, 1, 2, 5, 6, 7, 8 };
    const int32_t good[6] = { 1, 5, 1, 5, 1, 5 }, wide[6] = { 1, 6, 1, 5, 1, 5 };
    char err[256];
    cvm_rfm *l = NULL;
    /* a well-formed file loads (the writer here is right) */
    write_snapshot(path, CVM__SNAP_RFM, 5, 3, bp, good, "all");
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_OK);
    ck_assert_str_eq(cvm_rfm_segment_name(l, 0), "all");
    cvm_rfm_free(l);
    /* another kind of snapshot */
    write_snapshot(path, CVM__SNAP_KMEANS, 5, 1, bp, NULL, NULL);
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_null(l);
    write_snapshot(path, 2u, 5, 1, bp, NULL, NULL); /* a CLV model's kind */
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_E_FORMAT);
    /* inconsistent contents */
    write_snapshot(path, CVM__SNAP_RFM, 5, 1, desc, NULL, NULL);
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "inconsistent"));
    write_snapshot(path, CVM__SNAP_RFM, 5, 1, neg, NULL, NULL);
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_E_FORMAT);
    write_snapshot(path, CVM__SNAP_RFM, 5, 0, bp, NULL, NULL); /* not fitted */
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_E_FORMAT);
    write_snapshot(path, CVM__SNAP_RFM, 5, 5, bp, NULL, NULL); /* unknown flag */
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_E_FORMAT);
    write_snapshot(path, CVM__SNAP_RFM, 1, 1, bp, NULL, NULL); /* 1 bin */
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_E_FORMAT);
    write_snapshot(path, CVM__SNAP_RFM, 5, 3, bp, NULL, NULL); /* custom, no rules */
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_E_FORMAT);
    write_snapshot(path, CVM__SNAP_RFM, 5, 3, bp, wide, "wide"); /* range past k */
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_E_FORMAT);
    write_snapshot(path, CVM__SNAP_RFM, 5, 3, bp, good, ""); /* empty name */
    ck_assert_int_eq(cvm_rfm_load(&l, path, NULL, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_null(l);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

/* Every allocation of new, fit, set_rules, save and load may fail:
 * CVM_E_NOMEM (or OK), nothing leaked, and with enough room it all works. */
START_TEST(out_of_memory)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "oom.cvm");
    const cvm_rfm_rule rules[] = { { "top", 4, 5, 4, 5, 1, 5 } };
    size_t n;
    for (n = 1; n < 100; n++) {
        tu_failing st = { 0, n, 0, 0 };
        cvm_allocator a = tu_failing_allocator(&st);
        cvm_rfm_options o = CVM_RFM_OPTIONS_INIT;
        cvm_rfm *x = NULL, *l = NULL;
        char err[256];
        cvm_status s;
        o.allocator = &a;
        s = cvm_rfm_new(&x, &o);
        if (s == CVM_OK) {
            s = cvm_rfm_fit(x, small_rec, small_f, small_m, 6);
        }
        if (s == CVM_OK) {
            s = cvm_rfm_set_rules(x, rules, 1);
        }
        if (s == CVM_OK) {
            s = cvm_rfm_save(x, path);
        }
        if (s == CVM_OK) {
            s = cvm_rfm_load(&l, path, &o, err, sizeof err);
        }
        ck_assert_msg(s == CVM_OK || s == CVM_E_NOMEM, "fail at %zu: %d", n, s);
        if (s == CVM_OK) {
            ck_assert_str_eq(cvm_rfm_segment_name(l, 0), "top");
        } else {
            ck_assert_ptr_null(l);
        }
        cvm_rfm_free(x);
        cvm_rfm_free(l);
        ck_assert_int_eq(st.live, 0);
        ck_assert_int_le(tu_count_entries(dir), 1); /* no temporary file left */
        if (s == CVM_OK) {
            break;
        }
    }
    ck_assert_uint_lt(n, 100);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

START_TEST(bad_input_names_the_row)
{
    double rec[3] = { 1, 2, 3 }, f[3] = { 0, 1, 2 }, m[3] = { 0, 5, 6 };
    int32_t out[3];
    char err[256];
    cvm_rfm *x = make(5, CVM_RFM_QUANTILE, 0);
    ck_assert_int_eq(cvm_rfm_fit(x, rec, f, m, 0), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_rfm_errmsg(x), "n = 0"));
    f[1] = NAN;
    ck_assert_int_eq(cvm_rfm_fit(x, rec, f, m, 3), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_rfm_errmsg(x), "row 2: frequency"));
    f[1] = 1;
    m[2] = -1;
    ck_assert_int_eq(cvm_rfm_fit(x, rec, f, m, 3), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_rfm_errmsg(x), "row 3: monetary -1"));
    m[2] = 6;
    rec[0] = INFINITY;
    ck_assert_int_eq(cvm_rfm_fit(x, rec, f, m, 3), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_rfm_errmsg(x), "row 1: recency"));
    rec[0] = 1;
    ck_assert_int_eq(cvm_rfm_fit(x, NULL, f, m, 3), CVM_E_INVALID);
    ck_assert_int_eq(cvm_rfm_fit(NULL, rec, f, m, 3), CVM_E_INVALID);
    /* nothing is fitted yet */
    ck_assert_int_eq(cvm_rfm_score(x, rec, f, m, 3, out, NULL, NULL, err, sizeof err),
                     CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "not fitted"));
    ck_assert_int_eq(cvm_rfm_breakpoints(x, 0, (double[4]){ 0 }, 4), CVM_E_INVALID);
    ck_assert_int_eq(cvm_rfm_fit_scores(x, 3, out, NULL, NULL), CVM_E_INVALID);
    fit_ok(x, rec, f, m, 3);
    rec[1] = -0.5;
    ck_assert_int_eq(cvm_rfm_score(x, rec, f, m, 3, out, NULL, NULL, err, sizeof err),
                     CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "row 2: recency -0.5"));
    /* only the columns asked for are read */
    ck_assert_int_eq(cvm_rfm_score(x, rec, f, m, 3, NULL, out, NULL, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm_rfm_score(x, NULL, f, m, 3, out, NULL, NULL, err, sizeof err),
                     CVM_E_INVALID);
    ck_assert_int_eq(cvm_rfm_breakpoints(x, 3, (double[4]){ 0 }, 4), CVM_E_INVALID);
    ck_assert_int_eq(cvm_rfm_breakpoints(x, 0, (double[4]){ 0 }, 3), CVM_E_INVALID);
    /* a failed fit keeps the previous one */
    f[0] = NAN;
    ck_assert_int_eq(cvm_rfm_fit(x, rec, f, m, 3), CVM_E_INVALID);
    ck_assert_int_eq(cvm_rfm_fit_scores(x, 3, out, NULL, NULL), CVM_OK);
    cvm_rfm_free(x);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("rfm");
    TCase *tc = tcase_create("rfm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, options_init_matches_macro);
    tcase_add_test(tc, cdnow_scores_and_segments);
    tcase_add_test(tc, quantile_ties);
    tcase_add_test(tc, rank_ties);
    tcase_add_test(tc, selection_matches_sort);
    tcase_add_test(tc, rf_grid_cells);
    tcase_add_test(tc, rfm_package_map);
    tcase_add_test(tc, custom_rules);
    tcase_add_test(tc, profiles_by_hand);
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, load_checks_consistency);
    tcase_add_test(tc, out_of_memory);
    tcase_add_test(tc, bad_input_names_the_row);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
