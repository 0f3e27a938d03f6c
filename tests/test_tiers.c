/* Value tiers (cvm_value_tiers, cvm_value_tier_assign) and lifecycle stages
 * (cvm_lifecycle): hand examples, ties, a sorted-copy reference for the cut
 * values, bad input, options, and both on CDNOW with a fitted BG/NBD.
 *
 * Tolerances: tiers and stages are integers and cut values are input values
 * picked by rank, so every comparison here is exact. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static void count_tiers(const int32_t *tier, size_t n, size_t *count, size_t ntiers)
{
    size_t i;
    memset(count, 0, ntiers * sizeof *count);
    for (i = 0; i < n; i++) {
        ck_assert_msg(tier[i] >= 0 && (size_t)tier[i] < ntiers, "row %zu: tier %d", i, tier[i]);
        count[tier[i]]++;
    }
}

static int desc_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* A deterministic generator for the property tests (not the library's). */
static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s >> 33;
}

/* ---- value tiers ---- */

/* 200 distinct values 1..200, shuffled (i * 7 mod 200 is a permutation):
 * default shares give the top ceil(0.01 * 200) = 2, ceil(0.1 * 200) = 20,
 * ceil(0.5 * 200) = 100, so cuts 199, 181, 101 and tiers of 2, 18, 80, 100. */
START_TEST(tiers_hand_example)
{
    double clv[200], cuts[3];
    int32_t tier[200];
    size_t count[4], i;
    char err[256] = "";
    for (i = 0; i < 200; i++) {
        clv[i] = (double)((i * 7) % 200 + 1);
    }
    ck_assert_int_eq(cvm_value_tiers(clv, 200, NULL, 0, cuts, tier, err, sizeof err), CVM_OK);
    ck_assert(cuts[0] == 199 && cuts[1] == 181 && cuts[2] == 101);
    count_tiers(tier, 200, count, 4);
    ck_assert_uint_eq(count[0], 2);
    ck_assert_uint_eq(count[1], 18);
    ck_assert_uint_eq(count[2], 80);
    ck_assert_uint_eq(count[3], 100);
    for (i = 0; i < 200; i++) {
        int32_t want = clv[i] >= 199 ? 0 : clv[i] >= 181 ? 1 : clv[i] >= 101 ? 2 : 3;
        ck_assert_int_eq(tier[i], want);
    }
    /* Explicit shares equal to the defaults give the same result. */
    {
        static const double shares[3] = { 0.01, 0.10, 0.50 };
        double c2[3];
        int32_t t2[200];
        ck_assert_int_eq(cvm_value_tiers(clv, 200, shares, 3, c2, t2, NULL, 0), CVM_OK);
        ck_assert_mem_eq(cuts, c2, sizeof cuts);
        ck_assert_mem_eq(tier, t2, sizeof tier);
    }
    /* Outputs are optional. */
    ck_assert_int_eq(cvm_value_tiers(clv, 200, NULL, 0, NULL, tier, NULL, 0), CVM_OK);
    ck_assert_int_eq(cvm_value_tiers(clv, 200, NULL, 0, cuts, NULL, NULL, 0), CVM_OK);
    ck_assert(cuts[0] == 199 && cuts[1] == 181 && cuts[2] == 101);
}
END_TEST

/* k = ceil(share * n) forgives the product's rounding: 0.07 * 100 is
 * 7.000000000000001 in doubles, and the top 7% of 100 is still 7. Shares
 * under 1 / n still give one customer. */
START_TEST(tiers_counts_round_up)
{
    static const double s7[1] = { 0.07 };
    static const double s_small[2] = { 0.001, 0.5 };
    double clv[100], cut[3];
    int32_t tier[100];
    size_t count[3], i;
    for (i = 0; i < 100; i++) {
        clv[i] = (double)i;
    }
    ck_assert(0.07 * 100 > 7.0); /* the premise */
    ck_assert_int_eq(cvm_value_tiers(clv, 100, s7, 1, cut, tier, NULL, 0), CVM_OK);
    ck_assert(cut[0] == 93);
    count_tiers(tier, 100, count, 2);
    ck_assert_uint_eq(count[0], 7);
    /* 0.001 * 100 = 0.1: one customer; 0.5 * 100 = 50 exactly. */
    ck_assert_int_eq(cvm_value_tiers(clv, 100, s_small, 2, cut, tier, NULL, 0), CVM_OK);
    ck_assert(cut[0] == 99 && cut[1] == 50);
    count_tiers(tier, 100, count, 3);
    ck_assert_uint_eq(count[0], 1);
    ck_assert_uint_eq(count[1], 49);
    ck_assert_uint_eq(count[2], 50);
    /* One customer: every cut (3 with the defaults) is its value, so it is
     * in tier 0. */
    ck_assert_int_eq(cvm_value_tiers(clv + 5, 1, NULL, 0, cut, tier, NULL, 0), CVM_OK);
    ck_assert(cut[0] == 5 && cut[1] == 5 && cut[2] == 5);
    ck_assert_int_eq(tier[0], 0);
}
END_TEST

/* Equal CLVs share a tier, so tier sizes depart from the shares. */
START_TEST(tiers_ties)
{
    static const double clv[10] = { 5, 1, 3, 5, 1, 1, 3, 5, 1, 1 };
    static const double s1[2] = { 0.1, 0.5 };
    static const double s2[2] = { 0.1, 0.2 };
    static const int32_t want1[10] = { 0, 2, 1, 0, 2, 2, 1, 0, 2, 2 };
    static const int32_t want2[10] = { 0, 2, 2, 0, 2, 2, 2, 0, 2, 2 };
    double cuts[2];
    int32_t tier[10];
    /* Top 10% is one customer, but the three 5s tie: tier 0 has 3. The
     * 5th largest is 3, so the two 3s make tier 1 and the 1s tier 2. */
    ck_assert_int_eq(cvm_value_tiers(clv, 10, s1, 2, cuts, tier, NULL, 0), CVM_OK);
    ck_assert(cuts[0] == 5 && cuts[1] == 3);
    ck_assert_mem_eq(tier, want1, sizeof want1);
    /* Both cuts are 5 (1st and 2nd largest): tier 1 is empty. */
    ck_assert_int_eq(cvm_value_tiers(clv, 10, s2, 2, cuts, tier, NULL, 0), CVM_OK);
    ck_assert(cuts[0] == 5 && cuts[1] == 5);
    ck_assert_mem_eq(tier, want2, sizeof want2);
    /* All equal: everyone in tier 0. -0 and +0 are one value. */
    {
        double z[4] = { 0.0, -0.0, 0.0, -0.0 }, zc[3];
        int32_t t[4];
        size_t i;
        ck_assert_int_eq(cvm_value_tiers(z, 4, NULL, 0, zc, t, NULL, 0), CVM_OK);
        for (i = 0; i < 4; i++) {
            ck_assert_int_eq(t[i], 0);
        }
    }
}
END_TEST

/* Negative and mixed-magnitude values order as doubles do. */
START_TEST(tiers_negative_values)
{
    static const double clv[6] = { -3, -1e-300, 2e300, -2, 0, -1e300 };
    static const double shares[5] = { 1.0 / 6, 2.0 / 6, 3.0 / 6, 4.0 / 6, 5.0 / 6 };
    static const int32_t want[6] = { 4, 2, 0, 3, 1, 5 };
    double cuts[5];
    int32_t tier[6];
    ck_assert_int_eq(cvm_value_tiers(clv, 6, shares, 5, cuts, tier, NULL, 0), CVM_OK);
    ck_assert(cuts[0] == 2e300 && cuts[1] == 0 && cuts[2] == -1e-300 && cuts[3] == -2 &&
              cuts[4] == -3);
    ck_assert_mem_eq(tier, want, sizeof want);
}
END_TEST

/* Against a sorted copy: cut j is sorted_desc[ceil(s_j n) - 1], and the fit's
 * tiers equal cvm_value_tier_assign() on the same values. Values are drawn
 * with many ties (rounded) and both signs, over several sizes and shares. */
START_TEST(tiers_match_sorted_reference_and_assign)
{
    static const double shares[4] = { 0.05, 0.25, 0.6, 0.9 };
    uint64_t seed = 42;
    size_t sizes[] = { 1, 2, 3, 17, 100, 999, 5000 };
    size_t si, i, j;
    for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        double *clv = malloc(n * sizeof *clv), *sorted = malloc(n * sizeof *sorted), cuts[4];
        int32_t *tier = malloc(n * sizeof *tier), *again = malloc(n * sizeof *again);
        ck_assert(clv && sorted && tier && again);
        for (i = 0; i < n; i++) {
            double u = (double)lcg(&seed) / 2147483648.0; /* [0, 1) */
            clv[i] = (si % 2 ? floor(u * 20) : u * 1e6) - (si == 3 ? 10 : 0);
        }
        memcpy(sorted, clv, n * sizeof *clv);
        qsort(sorted, n, sizeof *sorted, desc_cmp);
        ck_assert_int_eq(cvm_value_tiers(clv, n, shares, 4, cuts, tier, NULL, 0), CVM_OK);
        for (j = 0; j < 4; j++) {
            size_t k = (size_t)ceil(shares[j] * (double)n);
            ck_assert_msg(cuts[j] == sorted[k - 1], "n %zu cut %zu: %g vs %g", n, j, cuts[j],
                          sorted[k - 1]);
        }
        ck_assert_int_eq(cvm_value_tier_assign(cuts, 4, clv, n, again, NULL, 0), CVM_OK);
        ck_assert_mem_eq(tier, again, n * sizeof *tier);
        free(clv);
        free(sorted);
        free(tier);
        free(again);
    }
}
END_TEST

/* New customers: at a cut they join its tier, just below it the next. */
START_TEST(tiers_assign_new_values)
{
    static const double cuts[3] = { 100, 50, 50 };
    static const double clv[7] = { 1000, 100, 99.999, 50, 49.9, -5, 0 };
    static const int32_t want[7] = { 0, 0, 1, 1, 3, 3, 3 };
    int32_t tier[7];
    size_t i;
    ck_assert_int_eq(cvm_value_tier_assign(cuts, 3, clv, 7, tier, NULL, 0), CVM_OK);
    ck_assert_mem_eq(tier, want, sizeof want);
    /* No cuts: one tier. */
    ck_assert_int_eq(cvm_value_tier_assign(NULL, 0, clv, 7, tier, NULL, 0), CVM_OK);
    for (i = 0; i < 7; i++) {
        ck_assert_int_eq(tier[i], 0);
    }
    ck_assert_int_eq(cvm_value_tier_assign(cuts, 3, NULL, 0, NULL, NULL, 0), CVM_OK);
}
END_TEST

START_TEST(tiers_bad_input)
{
    static const double bad_order[3] = { 0.1, 0.05, 0.5 };
    static const double equal[2] = { 0.1, 0.1 };
    static const double zero[1] = { 0.0 };
    static const double one[1] = { 1.0 };
    static const double neg[1] = { -0.2 };
    double nan_share[1];
    double clv[4] = { 1, 2, 3, 4 }, cuts[3];
    int32_t tier[4] = { -7, -7, -7, -7 };
    char err[256];
    nan_share[0] = NAN;

    clv[2] = NAN;
    ck_assert_int_eq(cvm_value_tiers(clv, 4, NULL, 0, cuts, tier, err, sizeof err), CVM_E_INVALID);
    ck_assert_msg(strstr(err, "row 3") && strstr(err, "not finite"), "%s", err);
    ck_assert_int_eq(tier[0], -7); /* nothing written on error */
    clv[2] = -INFINITY;
    ck_assert_int_eq(cvm_value_tiers(clv, 4, NULL, 0, cuts, tier, err, sizeof err), CVM_E_INVALID);
    ck_assert_msg(strstr(err, "row 3"), "%s", err);
    clv[2] = 3;

    ck_assert_int_eq(cvm_value_tiers(clv, 4, bad_order, 3, cuts, tier, err, sizeof err),
                     CVM_E_INVALID);
    ck_assert_msg(strstr(err, "share 2"), "%s", err);
    ck_assert_int_eq(cvm_value_tiers(clv, 4, equal, 2, cuts, tier, err, sizeof err), CVM_E_INVALID);
    ck_assert_msg(strstr(err, "share 2"), "%s", err);
    ck_assert_int_eq(cvm_value_tiers(clv, 4, zero, 1, cuts, tier, err, sizeof err), CVM_E_INVALID);
    ck_assert_msg(strstr(err, "(0, 1)"), "%s", err);
    ck_assert_int_eq(cvm_value_tiers(clv, 4, one, 1, cuts, tier, NULL, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_value_tiers(clv, 4, neg, 1, cuts, tier, NULL, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_value_tiers(clv, 4, nan_share, 1, cuts, tier, NULL, 0), CVM_E_INVALID);
    /* NULL shares means the defaults, and then nshares must be 0. */
    ck_assert_int_eq(cvm_value_tiers(clv, 4, NULL, 3, cuts, tier, err, sizeof err), CVM_E_INVALID);
    ck_assert_msg(strstr(err, "nshares"), "%s", err);
    ck_assert_int_eq(cvm_value_tiers(clv, 4, one, 0, cuts, tier, NULL, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_value_tiers(NULL, 4, NULL, 0, cuts, tier, NULL, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_value_tiers(clv, 0, NULL, 0, cuts, tier, NULL, 0), CVM_E_INVALID);
    ck_assert_int_eq(tier[0], -7);

    /* assign: cuts must be finite and descend; CLVs finite. */
    {
        double c[3] = { 10, 20, 5 };
        ck_assert_int_eq(cvm_value_tier_assign(c, 3, clv, 4, tier, err, sizeof err),
                         CVM_E_INVALID);
        ck_assert_msg(strstr(err, "cut 2"), "%s", err);
        c[1] = INFINITY;
        ck_assert_int_eq(cvm_value_tier_assign(c, 3, clv, 4, tier, NULL, 0), CVM_E_INVALID);
        c[1] = 7;
        clv[3] = NAN;
        ck_assert_int_eq(cvm_value_tier_assign(c, 3, clv, 4, tier, err, sizeof err),
                         CVM_E_INVALID);
        ck_assert_msg(strstr(err, "row 4"), "%s", err);
        clv[3] = 4;
        ck_assert_int_eq(cvm_value_tier_assign(NULL, 3, clv, 4, tier, NULL, 0), CVM_E_INVALID);
        ck_assert_int_eq(cvm_value_tier_assign(c, 3, clv, 4, NULL, NULL, 0), CVM_E_INVALID);
        ck_assert_int_eq(cvm_value_tier_assign(c, 3, NULL, 4, tier, NULL, 0), CVM_E_INVALID);
        ck_assert_int_eq(tier[0], -7);
    }
}
END_TEST

/* ---- CDNOW (BTYD's calibration summary) ---- */

#define CDNOW_N 2357

typedef struct cbs {
    double x[CDNOW_N], t_x[CDNOW_N], T[CDNOW_N], m[CDNOW_N];
    size_t n;
} cbs;

static cbs *load_cbs(void)
{
    cbs *d = calloc(1, sizeof *d);
    FILE *f = fopen(tu_data_path("btyd_cdnow_cbs.csv"), "r");
    char line[256];
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f) && d->n < CDNOW_N) {
        int id;
        double x_star;
        ck_assert_int_eq(sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf", &id, &d->x[d->n], &d->t_x[d->n],
                                &d->T[d->n], &x_star, &d->m[d->n]),
                         6);
        d->n++;
    }
    fclose(f);
    ck_assert_uint_eq(d->n, CDNOW_N);
    return d;
}

static cvm_clv *fit_bgnbd(const cbs *d)
{
    cvm_clv *m = NULL;
    cvm_status st;
    ck_assert_int_eq(cvm_clv_new(&m, NULL), CVM_OK);
    st = cvm_clv_fit(m, d->x, d->t_x, d->T, NULL, d->n, NULL);
    ck_assert_msg(st == CVM_OK, "%s", cvm_clv_errmsg(m));
    return m;
}

/* CLV with default value options and m_x as the value per purchase. The 1411
 * customers without repeat purchases have m_x = 0, so CLV exactly 0: more
 * than half the customers tie at 0. The top 1% and 10% are ceil(23.57) = 24
 * and ceil(235.7) = 236 customers; the 50% cut (the 1179th largest CLV) is 0,
 * so tier 2 takes every customer below the 10% cut, all the zeros included,
 * and tier 3 is empty: the tie effect. */
START_TEST(tiers_cdnow)
{
    cbs *d;
    cvm_clv *m;
    double *clv, *sorted, cuts[3];
    int32_t *tier, *again;
    size_t count[4], zeros = 0, i, j;
    char err[256] = "";
    TU_SKIP_IF_NO_DATA();
    d = load_cbs();
    m = fit_bgnbd(d);
    clv = malloc(CDNOW_N * sizeof *clv);
    sorted = malloc(CDNOW_N * sizeof *sorted);
    tier = malloc(CDNOW_N * sizeof *tier);
    again = malloc(CDNOW_N * sizeof *again);
    ck_assert(clv && sorted && tier && again);
    ck_assert_msg(cvm_clv_value(m, NULL, NULL, d->x, d->t_x, d->T, d->m, d->n, clv, err,
                                sizeof err) == CVM_OK,
                  "%s", err);
    for (i = 0; i < CDNOW_N; i++) {
        zeros += clv[i] == 0;
    }
    ck_assert_uint_eq(zeros, 1411);
    ck_assert_int_eq(cvm_value_tiers(clv, CDNOW_N, NULL, 0, cuts, tier, err, sizeof err), CVM_OK);
    count_tiers(tier, CDNOW_N, count, 4);
    ck_assert(cuts[0] > cuts[1] && cuts[1] > 0 && cuts[2] == 0);
    /* The positive CLVs near the top are distinct, so the first two tiers
     * have exactly the shares' sizes; ties at 0 leave tier 3 empty. */
    ck_assert_uint_eq(count[0], 24);
    ck_assert_uint_eq(count[1], 236 - 24);
    ck_assert_uint_eq(count[2], CDNOW_N - 236);
    ck_assert_uint_eq(count[3], 0);
    /* Tier 0 holds the 24 largest CLVs; tiers order by value. */
    memcpy(sorted, clv, CDNOW_N * sizeof *clv);
    qsort(sorted, CDNOW_N, sizeof *sorted, desc_cmp);
    ck_assert(cuts[0] == sorted[23] && cuts[1] == sorted[235] && cuts[2] == sorted[1178]);
    for (i = 0; i < CDNOW_N; i++) {
        ck_assert_int_eq(tier[i] == 0, clv[i] >= sorted[23]);
        for (j = 0; j < 3; j++) {
            ck_assert_int_eq((size_t)tier[i] <= j, clv[i] >= cuts[j]);
        }
    }
    ck_assert_int_eq(cvm_value_tier_assign(cuts, 3, clv, CDNOW_N, again, NULL, 0), CVM_OK);
    ck_assert_mem_eq(tier, again, CDNOW_N * sizeof *tier);
    free(clv);
    free(sorted);
    free(tier);
    free(again);
    cvm_clv_free(m);
    free(d);
}
END_TEST

/* ---- lifecycle ---- */

START_TEST(lifecycle_options_init_matches_macro)
{
    cvm_lifecycle_options a = CVM_LIFECYCLE_OPTIONS_INIT, b;
    struct {
        cvm_lifecycle_options o;
        double extra;
    } big;
    double x = 1, t_x = 1, T = 10;
    int32_t stage;
    char err[256];
    memset(&b, 0xAB, sizeof b);
    ck_assert_int_eq(cvm_lifecycle_options_init(&b, sizeof b), CVM_OK);
    ck_assert_mem_eq(&a, &b, sizeof a);
    ck_assert(a.new_age == 4 && a.at_risk_gaps == 2 && a.lapsed_gaps == 4 &&
              a.at_risk_p_alive == 0.5 && a.lapsed_p_alive == 0.1);
    ck_assert_int_eq(cvm_lifecycle_options_init(&b, sizeof b - 4), CVM_E_ABI);
    ck_assert_int_eq(cvm_lifecycle_options_init(NULL, sizeof b), CVM_E_INVALID);
    /* A newer caller's larger struct: zero tail accepted, set tail refused. */
    memset(&big, 0, sizeof big);
    ck_assert_int_eq(cvm_lifecycle_options_init(&big.o, sizeof big), CVM_OK);
    ck_assert_uint_eq(big.o.size, sizeof big);
    ck_assert_int_eq(cvm_lifecycle(&big.o, &x, &t_x, &T, NULL, NULL, 1, &stage, NULL, 0), CVM_OK);
    big.extra = 1;
    ck_assert_int_eq(cvm_lifecycle(&big.o, &x, &t_x, &T, NULL, NULL, 1, &stage, err, sizeof err),
                     CVM_E_ABI);
    b = a;
    b.size = sizeof b - 8;
    ck_assert_int_eq(cvm_lifecycle(&b, &x, &t_x, &T, NULL, NULL, 1, &stage, NULL, 0), CVM_E_ABI);
    /* NULL options: the defaults. */
    ck_assert_int_eq(cvm_lifecycle(NULL, &x, &t_x, &T, NULL, NULL, 1, &stage, NULL, 0), CVM_OK);
    ck_assert_int_eq(stage, CVM_STAGE_LAPSED); /* gap 1, since-last 9 > 4 gaps */
}
END_TEST

START_TEST(lifecycle_options_validated)
{
    cvm_lifecycle_options o;
    double x = 0, t_x = 0, T = 10;
    int32_t stage = -1;
    char err[256];
    struct {
        const char *name;
        size_t offset;
        double value;
    } bad[] = {
        { "new_age", offsetof(cvm_lifecycle_options, new_age), -1 },
        { "new_age", offsetof(cvm_lifecycle_options, new_age), INFINITY },
        { "at_risk_gaps", offsetof(cvm_lifecycle_options, at_risk_gaps), 0 },
        { "at_risk_gaps", offsetof(cvm_lifecycle_options, at_risk_gaps), NAN },
        { "lapsed_gaps", offsetof(cvm_lifecycle_options, lapsed_gaps), 1.5 }, /* < at_risk 2 */
        { "lapsed_gaps", offsetof(cvm_lifecycle_options, lapsed_gaps), INFINITY },
        { "at_risk_p_alive", offsetof(cvm_lifecycle_options, at_risk_p_alive), 1.5 },
        { "at_risk_p_alive", offsetof(cvm_lifecycle_options, at_risk_p_alive), -0.1 },
        { "lapsed_p_alive", offsetof(cvm_lifecycle_options, lapsed_p_alive), 0.6 }, /* > 0.5 */
        { "lapsed_p_alive", offsetof(cvm_lifecycle_options, lapsed_p_alive), NAN },
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cvm_lifecycle_options_init(&o, sizeof o);
        memcpy((char *)&o + bad[i].offset, &bad[i].value, sizeof(double));
        ck_assert_int_eq(cvm_lifecycle(&o, &x, &t_x, &T, NULL, NULL, 1, &stage, err, sizeof err),
                         CVM_E_INVALID);
        ck_assert_msg(strstr(err, bad[i].name), "case %zu: %s", i, err);
        ck_assert_int_eq(stage, -1);
    }
    /* Equal thresholds are allowed (at risk then never applies). */
    cvm_lifecycle_options_init(&o, sizeof o);
    o.lapsed_gaps = o.at_risk_gaps;
    o.lapsed_p_alive = o.at_risk_p_alive;
    o.new_age = 0;
    ck_assert_int_eq(cvm_lifecycle(&o, &x, &t_x, &T, NULL, NULL, 1, &stage, NULL, 0), CVM_OK);
}
END_TEST

/* Defaults: new_age 4, at risk above 2 gaps or P < 0.5, lapsed above 4
 * gaps or P < 0.1. Boundaries are strict (exactly 2 or 4 gaps does not move
 * a customer on). Repeat buyers' gaps are all 20 / 2 = 10, so the x = 0
 * rows use 10 too. */
START_TEST(lifecycle_hand_examples)
{
    /* rows: T < 4; since-last 2, 20 (= 2 gaps), 25, 40 (= 4 gaps), 41;
     * x = 0 with since-last 15, 40, 41. */
    static const double x[9] = { 0, 2, 2, 2, 2, 2, 0, 0, 0 };
    static const double t_x[9] = { 0, 20, 20, 20, 20, 20, 0, 0, 0 };
    static const double T[9] = { 3, 22, 40, 45, 60, 61, 15, 40, 41 };
    static const int32_t want[9] = { CVM_STAGE_NEW,     CVM_STAGE_ACTIVE,  CVM_STAGE_ACTIVE,
                                     CVM_STAGE_AT_RISK, CVM_STAGE_AT_RISK, CVM_STAGE_LAPSED,
                                     CVM_STAGE_ACTIVE,  CVM_STAGE_AT_RISK, CVM_STAGE_LAPSED };
    int32_t stage[9];
    char err[256] = "";
    ck_assert_msg(cvm_lifecycle(NULL, x, t_x, T, NULL, NULL, 9, stage, err, sizeof err) == CVM_OK,
                  "%s", err);
    ck_assert_mem_eq(stage, want, sizeof want);
}
END_TEST

/* The mean gap of repeat buyers is the mean of t_x / x, not sum t_x / sum x. */
START_TEST(lifecycle_mean_gap_for_single_buyers)
{
    /* Gaps 10 (20 / 2) and 30 (30 / 1): mean 20. The x = 0 customer with
     * T = 41 is above 2 * 20 (at risk), with T = 81 above 4 * 20 (lapsed),
     * and 79 is at risk; with sum t_x / sum x = 50 / 3 it would be lapsed
     * (79 > 4 * 16.7). */
    static const double x[5] = { 2, 1, 0, 0, 0 };
    static const double t_x[5] = { 20, 30, 0, 0, 0 };
    static const double T[5] = { 20, 30, 41, 81, 79 };
    static const int32_t want[5] = { CVM_STAGE_ACTIVE, CVM_STAGE_ACTIVE, CVM_STAGE_AT_RISK,
                                     CVM_STAGE_LAPSED, CVM_STAGE_AT_RISK };
    int32_t stage[5];
    ck_assert_int_eq(cvm_lifecycle(NULL, x, t_x, T, NULL, NULL, 5, stage, NULL, 0), CVM_OK);
    ck_assert_mem_eq(stage, want, sizeof want);
}
END_TEST

/* With no repeat buyers and no gap, only the new and P(alive) rules apply. */
START_TEST(lifecycle_no_repeat_buyers)
{
    static const double x[4] = { 0, 0, 0, 0 };
    static const double t_x[4] = { 0, 0, 0, 0 };
    static const double T[4] = { 1, 100, 1000, 0 };
    static const double p[4] = { 0.01, 0.9, 0.3, 0.05 };
    static const int32_t want_np[4] = { CVM_STAGE_NEW, CVM_STAGE_ACTIVE, CVM_STAGE_ACTIVE,
                                        CVM_STAGE_NEW };
    static const int32_t want_p[4] = { CVM_STAGE_NEW, CVM_STAGE_ACTIVE, CVM_STAGE_AT_RISK,
                                       CVM_STAGE_NEW };
    int32_t stage[4];
    ck_assert_int_eq(cvm_lifecycle(NULL, x, t_x, T, NULL, NULL, 4, stage, NULL, 0), CVM_OK);
    ck_assert_mem_eq(stage, want_np, sizeof want_np);
    ck_assert_int_eq(cvm_lifecycle(NULL, x, t_x, T, p, NULL, 4, stage, NULL, 0), CVM_OK);
    ck_assert_mem_eq(stage, want_p, sizeof want_p);
}
END_TEST

/* P(alive) rules, given gaps, and rule order. */
START_TEST(lifecycle_p_alive_gap_and_order)
{
    /* One repeat buyer: gap 10, since-last 2 (active by the gap rules). */
    static const double x[6] = { 2, 2, 2, 2, 2, 2 };
    static const double t_x[6] = { 20, 20, 20, 20, 20, 20 };
    static const double T[6] = { 22, 22, 22, 22, 22, 23 };
    /* p: at the at-risk bound (not below), below it, at the lapsed bound,
     * below it, 0; the last row (since-last 3) with P 1 stays active. */
    static const double p[6] = { 0.5, 0.49, 0.1, 0.09, 0.0, 1.0 };
    static const int32_t want[6] = { CVM_STAGE_ACTIVE, CVM_STAGE_AT_RISK, CVM_STAGE_AT_RISK,
                                     CVM_STAGE_LAPSED, CVM_STAGE_LAPSED, CVM_STAGE_ACTIVE };
    int32_t stage[6];
    ck_assert_int_eq(cvm_lifecycle(NULL, x, t_x, T, p, NULL, 6, stage, NULL, 0), CVM_OK);
    ck_assert_mem_eq(stage, want, sizeof want);

    /* A given gap replaces t_x / x: gap 0.5 makes since-last 2 four gaps
     * (at risk, not above 4); gap 0.4 makes it 5 gaps (lapsed); gap 100
     * active. */
    {
        static const double g[3] = { 0.5, 0.4, 100 };
        static const int32_t wg[3] = { CVM_STAGE_AT_RISK, CVM_STAGE_LAPSED, CVM_STAGE_ACTIVE };
        int32_t s[3];
        ck_assert_int_eq(cvm_lifecycle(NULL, x, t_x, T, NULL, g, 3, s, NULL, 0), CVM_OK);
        ck_assert_mem_eq(s, wg, sizeof wg);
    }

    /* Order: new beats lapsed (T 3 < 4 with P 0 and since-last 3 > 4 gaps
     * of 0.1); lapsed beats at risk (at-risk P with lapsed gaps, and lapsed
     * P with at-risk gaps). */
    {
        static const double ox[3] = { 1, 2, 2 };
        static const double otx[3] = { 0.1, 20, 20 };
        static const double oT[3] = { 3, 61, 45 };
        static const double op[3] = { 0.0, 0.3, 0.05 };
        static const int32_t ow[3] = { CVM_STAGE_NEW, CVM_STAGE_LAPSED, CVM_STAGE_LAPSED };
        int32_t s[3];
        ck_assert_int_eq(cvm_lifecycle(NULL, ox, otx, oT, op, NULL, 3, s, NULL, 0), CVM_OK);
        ck_assert_mem_eq(s, ow, sizeof ow);
    }

    /* Custom thresholds: new_age 0 turns the newcomer into a lapsed one. */
    {
        cvm_lifecycle_options o = CVM_LIFECYCLE_OPTIONS_INIT;
        static const double ox[1] = { 1 }, otx[1] = { 0.1 }, oT[1] = { 3 };
        int32_t s;
        o.new_age = 0;
        ck_assert_int_eq(cvm_lifecycle(&o, ox, otx, oT, NULL, NULL, 1, &s, NULL, 0), CVM_OK);
        ck_assert_int_eq(s, CVM_STAGE_LAPSED);
        /* P(alive) thresholds of 0 switch the P rules off. */
        o.at_risk_p_alive = 0;
        o.lapsed_p_alive = 0;
        ck_assert_int_eq(cvm_lifecycle(&o, x, t_x, T, p, NULL, 6, stage, NULL, 0), CVM_OK);
        ck_assert_int_eq(stage[4], CVM_STAGE_ACTIVE);
    }
}
END_TEST

START_TEST(lifecycle_bad_rows_named)
{
    struct {
        double x, t_x, T, p, gap;
        const char *needle;
    } bad[] = {
        { 1.5, 1, 5, 0.5, 1, "whole" },
        { -1, 0, 5, 0.5, 1, "whole" },
        { 1, 6, 5, 0.5, 1, "after T" },
        { 1, -1, 5, 0.5, 1, "negative" },
        { 0, 1, 5, 0.5, 1, "t_x must be 0" },
        { 1, 0, 5, 0.5, 1, "t_x is 0" },
        { 1, 1, NAN, 0.5, 1, "finite" },
        { 1, 1, INFINITY, 0.5, 1, "finite" },
        { 1, 1, 5, 1.5, 1, "P(alive)" },
        { 1, 1, 5, NAN, 1, "P(alive)" },
        { 1, 1, 5, 0.5, 0, "gap" },
        { 1, 1, 5, 0.5, -2, "gap" },
        { 1, 1, 5, 0.5, INFINITY, "gap" },
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double x[3] = { 1, 0, 1 }, t_x[3] = { 1, 0, 1 }, T[3] = { 5, 5, 5 };
        double p[3] = { 0.5, 0.5, 0.5 }, g[3] = { 1, 1, 1 };
        int32_t stage[3] = { -1, -1, -1 };
        char err[256] = "";
        x[1] = bad[i].x;
        t_x[1] = bad[i].t_x;
        T[1] = bad[i].T;
        p[1] = bad[i].p;
        g[1] = bad[i].gap;
        ck_assert_int_eq(cvm_lifecycle(NULL, x, t_x, T, p, g, 3, stage, err, sizeof err),
                         CVM_E_INVALID);
        ck_assert_msg(strstr(err, "row 2") && strstr(err, bad[i].needle), "case %zu: %s", i, err);
        ck_assert_int_eq(stage[0], -1); /* nothing written */
    }
    {
        double x = 1, t_x = 1, T = 5;
        int32_t stage;
        ck_assert_int_eq(cvm_lifecycle(NULL, NULL, &t_x, &T, NULL, NULL, 1, &stage, NULL, 0),
                         CVM_E_INVALID);
        ck_assert_int_eq(cvm_lifecycle(NULL, &x, &t_x, &T, NULL, NULL, 1, NULL, NULL, 0),
                         CVM_E_INVALID);
        ck_assert_int_eq(cvm_lifecycle(NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0),
                         CVM_OK);
    }
}
END_TEST

/* CDNOW with P(alive) from the fitted BG/NBD: every stage in 0..3, counts
 * add to n, nobody is new (T is 27..39 weeks, new_age 4), and adding
 * P(alive) can only move a customer towards lapsed (its rules only add
 * reasons to be at risk or lapsed). */
START_TEST(lifecycle_cdnow)
{
    cbs *d;
    cvm_clv *m;
    double *p;
    int32_t *with_p, *without_p;
    size_t count[4] = { 0, 0, 0, 0 }, i;
    char err[256] = "";
    TU_SKIP_IF_NO_DATA();
    d = load_cbs();
    m = fit_bgnbd(d);
    p = malloc(CDNOW_N * sizeof *p);
    with_p = malloc(CDNOW_N * sizeof *with_p);
    without_p = malloc(CDNOW_N * sizeof *without_p);
    ck_assert(p && with_p && without_p);
    ck_assert_msg(cvm_clv_p_alive(m, d->x, d->t_x, d->T, d->n, p, err, sizeof err) == CVM_OK, "%s",
                  err);
    ck_assert_msg(cvm_lifecycle(NULL, d->x, d->t_x, d->T, p, NULL, d->n, with_p, err,
                                sizeof err) == CVM_OK,
                  "%s", err);
    ck_assert_int_eq(cvm_lifecycle(NULL, d->x, d->t_x, d->T, NULL, NULL, d->n, without_p, NULL, 0),
                     CVM_OK);
    for (i = 0; i < CDNOW_N; i++) {
        ck_assert_msg(with_p[i] >= 0 && with_p[i] <= 3, "row %zu: stage %d", i, with_p[i]);
        count[with_p[i]]++;
        ck_assert_int_ge(with_p[i], without_p[i]);
        if (p[i] < 0.1) {
            ck_assert_int_eq(with_p[i], CVM_STAGE_LAPSED);
        }
    }
    ck_assert_uint_eq(count[0] + count[1] + count[2] + count[3], CDNOW_N);
    ck_assert_uint_eq(count[CVM_STAGE_NEW], 0);
    /* Every stage but new is reached. */
    ck_assert(count[1] > 0 && count[2] > 0 && count[3] > 0);
    free(p);
    free(with_p);
    free(without_p);
    cvm_clv_free(m);
    free(d);
}
END_TEST

/* The tiers handle: the same cuts and tiers as the functions, assignment of
 * new values, a save/load round trip, and bad shares refused at creation. */
START_TEST(tiers_handle)
{
    double clv[200], cuts[3], got[3], fresh[4] = { 1e9, 150.5, 0, -3 };
    int32_t tier[200], again[200], t4[4], want4[4];
    const double bad[2] = { 0.5, 0.1 };
    char *dir = tu_tmpdir(), *path = tu_join(dir, "tiers.cvm"), err[256];
    cvm_tiers_options o = CVM_TIERS_OPTIONS_INIT, o2;
    cvm_tiers *t = NULL, *l = NULL;
    size_t i;
    for (i = 0; i < 200; i++) {
        clv[i] = (double)((i * 37) % 200);
    }
    memset(&o2, 0xAB, sizeof o2);
    ck_assert_int_eq(cvm_tiers_options_init(&o2, sizeof o2), CVM_OK);
    ck_assert_mem_eq(&o, &o2, sizeof o);
    ck_assert_int_eq(cvm_tiers_new(&t, NULL), CVM_OK);
    ck_assert_int_eq(cvm_tiers_assign(t, clv, 1, tier, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_tiers_save(t, path), CVM_E_INVALID); /* not fitted */
    ck_assert_int_eq(cvm_tiers_fit(t, clv, 200, tier), CVM_OK);
    ck_assert_int_eq(cvm_value_tiers(clv, 200, NULL, 0, cuts, again, NULL, 0), CVM_OK);
    ck_assert_mem_eq(tier, again, sizeof tier);
    ck_assert_uint_eq(cvm_tiers_cut_count(t), 3);
    ck_assert_int_eq(cvm_tiers_cuts(t, got, 3), CVM_OK);
    ck_assert_mem_eq(got, cuts, sizeof cuts);
    ck_assert_int_eq(cvm_tiers_assign(t, fresh, 4, t4, NULL, 0), CVM_OK);
    ck_assert_int_eq(cvm_value_tier_assign(cuts, 3, fresh, 4, want4, NULL, 0), CVM_OK);
    ck_assert_mem_eq(t4, want4, sizeof t4);
    ck_assert_int_eq(cvm_tiers_save(t, path), CVM_OK);
    ck_assert_int_eq(cvm_tiers_load(&l, path, NULL, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm_tiers_cuts(l, got, 3), CVM_OK);
    ck_assert_mem_eq(got, cuts, sizeof cuts);
    cvm_tiers_free(l);
    /* only the allocator of the options counts: the shares are the file's */
    o.top_shares = bad;
    o.nshares = 2;
    ck_assert_int_eq(cvm_tiers_load(&l, path, &o, err, sizeof err), CVM_OK);
    ck_assert_uint_eq(cvm_tiers_cut_count(l), 3);
    o = (cvm_tiers_options)CVM_TIERS_OPTIONS_INIT;
    /* a failed fit keeps the previous cut points */
    clv[7] = NAN;
    ck_assert_int_eq(cvm_tiers_fit(t, clv, 200, NULL), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_tiers_errmsg(t), "row 8"));
    ck_assert_int_eq(cvm_tiers_cuts(t, got, 3), CVM_OK);
    ck_assert_mem_eq(got, cuts, sizeof cuts);
    cvm_tiers_free(l);
    cvm_tiers_free(t);
    o.top_shares = bad;
    o.nshares = 2;
    t = (cvm_tiers *)1;
    ck_assert_int_eq(cvm_tiers_new(&t, &o), CVM_E_INVALID);
    ck_assert_ptr_null(t);
    cvm_tiers_free(NULL);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

START_TEST(tiers_handle_bad_files_and_memory)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "t.cvm"), err[256];
    double clv[3] = { 1, 2, 3 };
    cvm_tiers *t = NULL, *l = NULL;
    cvm_rfm *r = NULL;
    size_t k;
    /* another kind of snapshot is refused */
    ck_assert_int_eq(cvm_rfm_new(&r, NULL), CVM_OK);
    {
        double rec[3] = { 1, 2, 3 }, f[3] = { 1, 2, 3 }, m[3] = { 1, 2, 3 };
        ck_assert_int_eq(cvm_rfm_fit(r, rec, f, m, 3), CVM_OK);
    }
    ck_assert_int_eq(cvm_rfm_save(r, path), CVM_OK);
    ck_assert_int_eq(cvm_tiers_load(&l, path, NULL, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_null(l);
    cvm_rfm_free(r);
    /* every allocation may fail: NOMEM or OK, nothing leaked */
    for (k = 1; k < 20; k++) {
        tu_failing st = { 0, k, 0, 0 };
        cvm_allocator a = tu_failing_allocator(&st);
        cvm_tiers_options o = CVM_TIERS_OPTIONS_INIT;
        cvm_status s;
        o.allocator = &a;
        t = NULL;
        l = NULL;
        s = cvm_tiers_new(&t, &o);
        if (s == CVM_OK) {
            s = cvm_tiers_fit(t, clv, 3, NULL);
        }
        if (s == CVM_OK) {
            s = cvm_tiers_save(t, path);
        }
        if (s == CVM_OK) {
            s = cvm_tiers_load(&l, path, &o, err, sizeof err);
        }
        ck_assert_msg(s == CVM_OK || s == CVM_E_NOMEM, "fail at %zu: %d", k, s);
        cvm_tiers_free(l);
        cvm_tiers_free(t);
        ck_assert_int_eq(st.live, 0);
        if (s == CVM_OK) {
            break;
        }
    }
    ck_assert_uint_lt(k, 20);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("tiers");
    TCase *tc = tcase_create("tiers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, tiers_hand_example);
    tcase_add_test(tc, tiers_handle);
    tcase_add_test(tc, tiers_handle_bad_files_and_memory);
    tcase_add_test(tc, tiers_counts_round_up);
    tcase_add_test(tc, tiers_ties);
    tcase_add_test(tc, tiers_negative_values);
    tcase_add_test(tc, tiers_match_sorted_reference_and_assign);
    tcase_add_test(tc, tiers_assign_new_values);
    tcase_add_test(tc, tiers_bad_input);
    tcase_add_test(tc, tiers_cdnow);
    tcase_add_test(tc, lifecycle_options_init_matches_macro);
    tcase_add_test(tc, lifecycle_options_validated);
    tcase_add_test(tc, lifecycle_hand_examples);
    tcase_add_test(tc, lifecycle_mean_gap_for_single_buyers);
    tcase_add_test(tc, lifecycle_no_repeat_buyers);
    tcase_add_test(tc, lifecycle_p_alive_gap_and_order);
    tcase_add_test(tc, lifecycle_bad_rows_named);
    tcase_add_test(tc, lifecycle_cdnow);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
