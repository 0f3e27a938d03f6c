/* sBG retention model (cvm_retention): the fits of Fader & Hardie (2007)
 * and their projection, survival and retention rates against their
 * definitions, the expected lifetime against direct sums and
 * high-precision values, parameter recovery from a simulated cohort, input
 * checking, saving and allocation failures. */
#include "testutil.h"

#include "clv/clv_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define YEARS 13 /* 0..12 */

typedef struct cohorts {
    double regular[YEARS], high_end[YEARS];             /* alive of 1000 */
    double regular_pct[YEARS], high_end_pct[YEARS];     /* % alive */
} cohorts;

static cohorts read_cohorts(void)
{
    FILE *f = fopen(tu_data_path("sbg_retention_fader_hardie_2007.csv"), "r");
    char line[256];
    cohorts c;
    int n = 0;
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f) != NULL && n < YEARS) {
        double year;
        ck_assert_int_eq(sscanf(line, "%lf,%lf,%lf,%lf,%lf", &year, &c.regular_pct[n],
                                &c.high_end_pct[n], &c.regular[n], &c.high_end[n]),
                         5);
        ck_assert_int_eq((int)year, n);
        n++;
    }
    fclose(f);
    ck_assert_int_eq(n, YEARS);
    return c;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

static cvm_retention *fit_years_0_7(const double *alive, const char *name)
{
    struct timespec t0;
    cvm_retention *r;
    ck_assert_int_eq(cvm_retention_new(&r, NULL), CVM_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(cvm_retention_fit(r, alive, 8, NULL) == CVM_OK, "%s: %s", name,
                  cvm_retention_errmsg(r));
    fprintf(stderr, "# retention: %s fit took %.6f s\n", name, seconds_since(&t0));
    return r;
}

START_TEST(new_checks_options)
{
    struct {
        cvm_model_options o;
        uint64_t extra;
    } big;
    cvm_allocator bad = {sizeof(cvm_allocator), NULL, NULL, NULL, NULL};
    cvm_model_options o = CVM_MODEL_OPTIONS_INIT;
    cvm_retention *r = (cvm_retention *)&big;
    ck_assert_int_eq(cvm_retention_new(NULL, NULL), CVM_E_INVALID);
    memset(&big, 0, sizeof big);
    big.o.size = sizeof big;
    big.extra = 1;
    ck_assert_int_eq(cvm_retention_new(&r, &big.o), CVM_E_ABI);
    ck_assert_ptr_null(r);
    o.allocator = &bad;
    ck_assert_int_eq(cvm_retention_new(&r, &o), CVM_E_INVALID);
    ck_assert_ptr_null(r);
    o.allocator = NULL;
    ck_assert_int_eq(cvm_retention_new(&r, &o), CVM_OK);
    cvm_retention_free(r);
    cvm_retention_free(NULL);
    ck_assert_str_eq(cvm_retention_errmsg(NULL), "");
}
END_TEST

/* Fader & Hardie (2007), years 0..7 of each cohort (1000 customers each).
 * Tolerances: re-fit values (scipy, shared/data/README.md, 5 significant
 * digits) to 1e-4 relative; the published values to half a unit in their
 * third decimal (they are printed to 3); LL to 0.01 (quoted to 4
 * decimals). Standard errors must be present and positive. */
START_TEST(paper_fits)
{
    static const struct {
        const char *name;
        double published[2], refit[2], loglik;
    } want[2] = {{"regular", {0.704, 1.182}, {0.7041, 1.1820}, -1680.2652},
                 {"high end", {0.668, 3.806}, {0.6681, 3.8061}, -1611.1581}};
    cohorts c;
    int k, j;
    TU_SKIP_IF_NO_DATA();
    c = read_cohorts();
    for (k = 0; k < 2; k++) {
        cvm_retention *r = fit_years_0_7(k == 0 ? c.regular : c.high_end, want[k].name);
        cvm_fit_info info;
        double p[2], se[2];
        ck_assert_int_eq(cvm_retention_params(r, p, se, 2), CVM_OK);
        info.size = sizeof info;
        ck_assert_int_eq(cvm_retention_info(r, &info), CVM_OK);
        fprintf(stderr, "# retention: %s alpha=%.10g beta=%.10g (se %.4g %.4g) LL=%.9f iter=%d\n",
                want[k].name, p[0], p[1], se[0], se[1], info.loglik, (int)info.iterations);
        for (j = 0; j < 2; j++) {
            ck_assert_msg(fabs(p[j] / want[k].refit[j] - 1) < 1e-4, "%s param %d: %.8g vs %.8g",
                          want[k].name, j, p[j], want[k].refit[j]);
            ck_assert_msg(fabs(p[j] - want[k].published[j]) <= 0.0005 + 1e-12,
                          "%s param %d: %.8g vs %.8g", want[k].name, j, p[j],
                          want[k].published[j]);
            ck_assert(isfinite(se[j]) && se[j] > 0);
        }
        ck_assert_double_eq_tol(info.loglik, want[k].loglik, 0.01);
        ck_assert_int_eq(info.has_stderr, 1);
        ck_assert_int_eq(info.converged, 1);
        ck_assert_double_eq(info.weight, 1000);
        ck_assert_uint_eq(info.rows, 8);
        cvm_retention_free(r);
    }
}
END_TEST

/* The paper's projection: the fitted S(t) for years 8..12 against the
 * holdout columns. The paper's own projected numbers are S(t) at its
 * printed parameters; ours agree with them within 0.05 percentage points
 * (the parameters differ only by rounding). Against the actual holdout the
 * projection is close but not exact (the paper presents it as "very
 * accurate" from 7 years of data): with these parameters the regular
 * cohort is under-projected by 0.26-0.31 points and the high-end cohort by
 * 0.75-1.6 points (growing with the horizon). We assert 0.5 points
 * (regular) and 2 points (high end), and that every projection is below
 * the actual, as the paper's figure shows. */
START_TEST(paper_projection)
{
    static const double published[2][2] = {{0.704, 1.182}, {0.668, 3.806}};
    static const double tolerance[2] = {0.5, 2.0};
    cohorts c;
    int k, t;
    TU_SKIP_IF_NO_DATA();
    c = read_cohorts();
    for (k = 0; k < 2; k++) {
        const double *alive = k == 0 ? c.regular : c.high_end;
        const double *pct = k == 0 ? c.regular_pct : c.high_end_pct;
        cvm_retention *r = fit_years_0_7(alive, k == 0 ? "regular" : "high end");
        double years[5], ours[5], paper[5];
        cvm_retention *pub;
        for (t = 0; t < 5; t++) {
            years[t] = 8 + t;
        }
        ck_assert_int_eq(cvm_retention_survival(r, years, 5, ours, NULL, 0), CVM_OK);
        ck_assert_int_eq(cvm_retention_new(&pub, NULL), CVM_OK);
        ck_assert_int_eq(cvm_retention_set_params(pub, published[k], 2), CVM_OK);
        ck_assert_int_eq(cvm_retention_survival(pub, years, 5, paper, NULL, 0), CVM_OK);
        for (t = 0; t < 5; t++) {
            double proj = 100 * ours[t], actual = pct[8 + t];
            fprintf(stderr, "# retention: %s year %d projected %.2f%% actual %.1f%%\n",
                    k == 0 ? "regular" : "high end", 8 + t, proj, actual);
            ck_assert_double_eq_tol(proj, 100 * paper[t], 0.05);
            ck_assert_msg(fabs(proj - actual) <= tolerance[k], "year %d: %.3f vs %.1f", 8 + t,
                          proj, actual);
            ck_assert(proj < actual);
        }
        cvm_retention_free(pub);
        cvm_retention_free(r);
    }
}
END_TEST

/* S(t) at whole t is the product of the retention rates
 * (beta + i - 1) / (alpha + beta + i - 1); at any t it is
 * B(alpha, beta + t) / B(alpha, beta) and r(t) = S(t) / S(t - 1). The
 * special functions are accurate to about 1e-15 relative, so 1e-12. */
START_TEST(survival_and_rate_definitions)
{
    static const double pts[3][2] = {{0.704, 1.182}, {5, 0.2}, {0.05, 300}};
    double t[40], s[40], rt[40], prev[40], tm1[40];
    int k, i;
    for (i = 0; i < 40; i++) {
        t[i] = i < 20 ? i : 1 + (i - 20) * 0.37;
        tm1[i] = t[i] - 1;
    }
    for (k = 0; k < 3; k++) {
        const double *p = pts[k];
        cvm_retention *r;
        double prod = 1;
        ck_assert_int_eq(cvm_retention_new(&r, NULL), CVM_OK);
        ck_assert_int_eq(cvm_retention_set_params(r, p, 2), CVM_OK);
        ck_assert_int_eq(cvm_retention_survival(r, t, 40, s, NULL, 0), CVM_OK);
        ck_assert_int_eq(cvm_retention_rate(r, t + 1, 39, rt + 1, NULL, 0), CVM_OK);
        ck_assert_double_eq(s[0], 1);
        for (i = 1; i < 20; i++) {
            prod *= (p[1] + i - 1) / (p[0] + p[1] + i - 1);
            ck_assert_msg(fabs(s[i] / prod - 1) < 1e-12, "S(%d) %.17g vs %.17g", i, s[i], prod);
            ck_assert_double_eq_tol(rt[i], (p[1] + i - 1) / (p[0] + p[1] + i - 1), 1e-15);
        }
        ck_assert_int_eq(cvm_retention_survival(r, tm1 + 20, 20, prev + 20, NULL, 0), CVM_OK);
        for (i = 20; i < 40; i++) {
            double direct = exp(cvm__lbeta(p[0], p[1] + t[i]) - cvm__lbeta(p[0], p[1]));
            ck_assert_msg(fabs(s[i] / direct - 1) < 1e-12, "S(%g)", t[i]);
            ck_assert_msg(fabs(rt[i] / (s[i] / prev[i]) - 1) < 1e-12, "r(%g)", t[i]);
        }
        cvm_retention_free(r);
    }
}
END_TEST

/* The log-likelihood against its definition with Beta functions, and the
 * analytic gradient against central differences (step 1e-6 relative,
 * agreement 1e-6 relative). */
START_TEST(loglik_matches_definition)
{
    static const double alive[8] = {1000, 631, 468, 382, 326, 289, 262, 241};
    static const double frac[5] = {10, 10, 7.5, 2.25, 0}; /* weights need not be whole */
    static const double pts[3][2] = {{0.704, 1.182}, {3, 0.4}, {0.01, 50}};
    int k, t, j, which;
    for (which = 0; which < 2; which++) {
        const double *a = which == 0 ? alive : frac;
        size_t n = which == 0 ? 8 : 5;
        for (k = 0; k < 3; k++) {
            const double *p = pts[k];
            double g[2], ll = cvm__sbg_loglik(p, a, n, g), direct = 0, lb = cvm__lbeta(p[0], p[1]);
            for (t = 1; t < (int)n; t++) {
                direct += (a[t - 1] - a[t]) * (cvm__lbeta(p[0] + 1, p[1] + t - 1) - lb);
            }
            if (a[n - 1] > 0) {
                direct += a[n - 1] * (cvm__lbeta(p[0], p[1] + (double)n - 1) - lb);
            }
            ck_assert_msg(fabs(ll - direct) <= 1e-12 * fabs(direct), "%.17g vs %.17g", ll, direct);
            for (j = 0; j < 2; j++) {
                double hi[2] = {p[0], p[1]}, lo[2] = {p[0], p[1]}, h = 1e-6 * p[j], num;
                hi[j] += h;
                lo[j] -= h;
                num = (cvm__sbg_loglik(hi, a, n, NULL) - cvm__sbg_loglik(lo, a, n, NULL)) / (2 * h);
                ck_assert_msg(fabs(num - g[j]) <= 1e-6 * (fabs(g[j]) + 1e-3 * fabs(ll)),
                              "point %d param %d: %.10g vs %.10g", k, j, g[j], num);
            }
        }
    }
}
END_TEST

/* Discounted expected lifetime sum_{t>=0} S(t) / (1 + d)^t against the
 * direct sum (S from Beta functions, summed until the terms are below
 * 1e-17 of the total; 1e-12 relative), and against 2F1(1, beta;
 * alpha + beta; 1 / (1 + d)) from mpmath at 30 digits for discount rates
 * the direct sum cannot reach (1e-9 relative: the worst case of the method,
 * see retention_model.c, is 6e-10 near alpha = 1 with large beta). */
START_TEST(lifetime_against_sums)
{
    static const double pts[5][2] = {{0.704, 1.182}, {0.668, 3.806}, {2.5, 0.3},
                                     {1, 1}, {0.05, 40}};
    static const double rates[4] = {1, 0.1, 0.01, 0.001};
    static const struct {
        double a, b, d, want;
    } mp[] = {
        {0.704, 1.182, 1e-6, 184.80355944734149576},
        {0.704, 1.182, 1e-12, 11209.125458422216637},
        {1.0, 1.182, 1e-9, 24.181528010567445628},
        {2.0, 10.0, 1e-6, 10.998802467161301545},
        {0.3, 250, 1e-9, 13566926.250631949912},
        {0.999999, 10000, 1e-6, 40785.709381513109328},
        {2.5, 0.3, 1e-9, 1.1999999992800418945},
    };
    double v;
    char err[200];
    size_t k, j;
    for (k = 0; k < 5; k++) {
        cvm_retention *r;
        ck_assert_int_eq(cvm_retention_new(&r, NULL), CVM_OK);
        ck_assert_int_eq(cvm_retention_set_params(r, pts[k], 2), CVM_OK);
        for (j = 0; j < 4; j++) {
            double d = rates[j], sum = 0, term;
            long t;
            for (t = 0;; t++) {
                term = exp(cvm__lbeta(pts[k][0], pts[k][1] + (double)t) -
                           cvm__lbeta(pts[k][0], pts[k][1]) - (double)t * log1p(d));
                sum += term;
                if (term < 1e-17 * sum) {
                    break;
                }
            }
            ck_assert_int_eq(cvm_retention_lifetime(r, d, &v, err, sizeof err), CVM_OK);
            ck_assert_msg(fabs(v / sum - 1) < 1e-12, "(%g, %g) d=%g: %.17g vs %.17g", pts[k][0],
                          pts[k][1], d, v, sum);
        }
        cvm_retention_free(r);
    }
    for (k = 0; k < sizeof mp / sizeof mp[0]; k++) {
        const double p[2] = {mp[k].a, mp[k].b};
        double got = cvm__sbg_lifetime(p, mp[k].d);
        ck_assert_msg(fabs(got / mp[k].want - 1) < 1e-9, "(%g, %g) d=%g: %.17g vs %.17g",
                      mp[k].a, mp[k].b, mp[k].d, got, mp[k].want);
    }
}
END_TEST

/* d = 0: the mean lifetime (alpha + beta - 1) / (alpha - 1) when alpha > 1,
 * else CVM_E_RANGE with a message; bad discount rates are refused. */
START_TEST(lifetime_edges)
{
    const double finite[2] = {2.5, 0.3}, infinite[2] = {0.704, 1.182}, one[2] = {1, 3};
    double v = -1;
    char err[300];
    cvm_retention *r;
    ck_assert_int_eq(cvm_retention_new(&r, NULL), CVM_OK);
    ck_assert_int_eq(cvm_retention_lifetime(r, 0.1, &v, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "not fitted"));
    ck_assert_int_eq(cvm_retention_set_params(r, finite, 2), CVM_OK);
    ck_assert_int_eq(cvm_retention_lifetime(r, 0, &v, err, sizeof err), CVM_OK);
    ck_assert_double_eq_tol(v, (2.5 + 0.3 - 1) / (2.5 - 1), 1e-15);
    /* small discount rates approach it */
    ck_assert_int_eq(cvm_retention_lifetime(r, 1e-9, &v, err, sizeof err), CVM_OK);
    ck_assert_double_eq_tol(v, 1.2, 1e-6);
    ck_assert_int_eq(cvm_retention_lifetime(r, -0.01, &v, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "discount rate -0.01"));
    ck_assert_int_eq(cvm_retention_lifetime(r, NAN, &v, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_lifetime(r, INFINITY, &v, NULL, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_lifetime(r, 0.1, NULL, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_lifetime(NULL, 0.1, &v, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_set_params(r, infinite, 2), CVM_OK);
    ck_assert_int_eq(cvm_retention_lifetime(r, 0, &v, err, sizeof err), CVM_E_RANGE);
    ck_assert_ptr_nonnull(strstr(err, "alpha = 0.704"));
    ck_assert_str_eq(cvm_retention_errmsg(r), "");
    ck_assert_int_eq(cvm_retention_set_params(r, one, 2), CVM_OK);
    ck_assert_int_eq(cvm_retention_lifetime(r, 0, &v, err, sizeof err), CVM_E_RANGE);
    /* alpha = 1: the sum grows like beta log(1 / d) but stays finite */
    ck_assert_int_eq(cvm_retention_lifetime(r, 1e-12, &v, err, sizeof err), CVM_OK);
    ck_assert(v > 3 * log(1e12) * 0.9 && v < 3 * log(1e12) * 1.1);
    cvm_retention_free(r);
}
END_TEST

/* A simulated cohort: theta ~ Beta(alpha, beta) per customer, who then
 * survives each period with probability 1 - theta; 12 periods of counts.
 * Tolerance: each estimate within 3 of its standard errors of the truth
 * (fixed seed). */
START_TEST(recovers_simulated_parameters)
{
    enum { N = 100000, PERIODS = 12 };
    static const double truth[2] = {0.704, 1.182};
    double alive[PERIODS + 1], p[2], se[2];
    struct timespec t0;
    cvm_retention *r;
    cvm__rng rng;
    size_t i;
    int t, j;
    memset(alive, 0, sizeof alive);
    cvm__rng_seed(&rng, 424242);
    for (i = 0; i < N; i++) {
        double theta = cvm__rng_beta(&rng, truth[0], truth[1]);
        alive[0]++;
        for (t = 1; t <= PERIODS && cvm__rng_uniform(&rng) >= theta; t++) {
            alive[t]++;
        }
    }
    ck_assert_int_eq(cvm_retention_new(&r, NULL), CVM_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(cvm_retention_fit(r, alive, PERIODS + 1, NULL) == CVM_OK, "%s",
                  cvm_retention_errmsg(r));
    fprintf(stderr, "# retention: simulated fit took %.6f s\n", seconds_since(&t0));
    ck_assert_int_eq(cvm_retention_params(r, p, se, 2), CVM_OK);
    fprintf(stderr, "# retention: simulated alpha=%.6g (%.3g) beta=%.6g (%.3g)\n", p[0], se[0],
            p[1], se[1]);
    for (j = 0; j < 2; j++) {
        ck_assert(se[j] > 0);
        ck_assert_msg(fabs(p[j] - truth[j]) < 3 * se[j], "param %d: %.6g vs %.6g (se %.3g)", j,
                      p[j], truth[j], se[j]);
    }
    cvm_retention_free(r);
}
END_TEST

static void expect_fit_error(cvm_retention *r, const double *alive, size_t n, const char *needle)
{
    ck_assert_int_eq(cvm_retention_fit(r, alive, n, NULL), CVM_E_INVALID);
    ck_assert_msg(strstr(cvm_retention_errmsg(r), needle) != NULL, "message \"%s\" lacks \"%s\"",
                  cvm_retention_errmsg(r), needle);
}

START_TEST(fit_rejects_bad_input)
{
    static const double good[5] = {100, 80, 70, 65, 62};
    const double p0[2] = {1, 2};
    double a[5], p[2];
    cvm_retention *r;
    ck_assert_int_eq(cvm_retention_new(&r, NULL), CVM_OK);
    ck_assert_int_eq(cvm_retention_set_params(r, p0, 2), CVM_OK);
    memcpy(a, good, sizeof a);
    a[2] = NAN;
    expect_fit_error(r, a, 5, "period 2: nan");
    memcpy(a, good, sizeof a);
    a[3] = -1;
    expect_fit_error(r, a, 5, "period 3: -1");
    memcpy(a, good, sizeof a);
    a[4] = INFINITY;
    expect_fit_error(r, a, 5, "period 4: inf");
    memcpy(a, good, sizeof a);
    a[3] = 71;
    expect_fit_error(r, a, 5, "period 3: 71 alive is more than the 70 of period 2");
    memcpy(a, good, sizeof a);
    a[0] = 0;
    expect_fit_error(r, a, 5, "period 0");
    memcpy(a, good, sizeof a);
    expect_fit_error(r, a, 0, "n = 0");
    expect_fit_error(r, a, 1, "n = 1");
    expect_fit_error(r, NULL, 5, "NULL");
    ck_assert_int_eq(cvm_retention_fit(NULL, a, 5, NULL), CVM_E_INVALID);
    /* the model is as it was */
    ck_assert_int_eq(cvm_retention_params(r, p, NULL, 2), CVM_OK);
    ck_assert_mem_eq(p, p0, sizeof p);
    ck_assert_msg(cvm_retention_fit(r, good, 5, NULL) == CVM_OK, "%s", cvm_retention_errmsg(r));
    ck_assert_str_eq(cvm_retention_errmsg(r), "");
    cvm_retention_free(r);
}
END_TEST

START_TEST(predictions_check_input)
{
    const double p0[2] = {0.7, 1.2};
    double t[3] = {0, 2, 5}, out[3];
    char err[200];
    cvm_retention *r;
    ck_assert_int_eq(cvm_retention_new(&r, NULL), CVM_OK);
    ck_assert_int_eq(cvm_retention_survival(r, t, 3, out, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "not fitted"));
    ck_assert_int_eq(cvm_retention_rate(r, t, 3, out, NULL, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_set_params(r, p0, 2), CVM_OK);
    ck_assert_int_eq(cvm_retention_survival(r, t, 3, out, err, sizeof err), CVM_OK);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(cvm_retention_rate(r, t, 3, out, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "row 1: t = 0"));
    t[1] = -1;
    ck_assert_int_eq(cvm_retention_survival(r, t, 3, out, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "row 2: t = -1"));
    t[1] = NAN;
    ck_assert_int_eq(cvm_retention_survival(r, t, 3, out, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "row 2"));
    ck_assert_int_eq(cvm_retention_survival(r, NULL, 3, out, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_survival(r, t, 3, NULL, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_survival(NULL, t, 3, out, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_survival(r, t, 0, out, err, sizeof err), CVM_OK);
    ck_assert_str_eq(cvm_retention_errmsg(r), ""); /* predictions never touch the handle */
    /* very late: S underflows to 0, which is a finite answer */
    t[0] = 1e300;
    ck_assert_int_eq(cvm_retention_survival(r, t, 1, out, err, sizeof err), CVM_OK);
    ck_assert(out[0] >= 0 && out[0] < 1e-100);
    cvm_retention_free(r);
}
END_TEST

START_TEST(set_params_checks_values)
{
    const double good[2] = {0.5, 2}, bad[2] = {0.5, -2}, nan2[2] = {NAN, 1};
    double p[2], se[2];
    cvm_fit_info info;
    cvm_retention *r;
    ck_assert_int_eq(cvm_retention_new(&r, NULL), CVM_OK);
    ck_assert_int_eq(cvm_retention_params(r, p, se, 2), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_set_params(r, good, 3), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_set_params(r, good, 2), CVM_OK);
    ck_assert_int_eq(cvm_retention_set_params(r, bad, 2), CVM_E_RANGE);
    ck_assert_ptr_nonnull(strstr(cvm_retention_errmsg(r), "-2"));
    ck_assert_int_eq(cvm_retention_set_params(r, nan2, 2), CVM_E_RANGE);
    ck_assert_int_eq(cvm_retention_params(r, p, se, 2), CVM_OK);
    ck_assert_mem_eq(p, good, sizeof p);
    ck_assert(se[0] == 0 && se[1] == 0);
    info.size = sizeof info;
    ck_assert_int_eq(cvm_retention_info(r, &info), CVM_OK);
    ck_assert_int_eq(info.fitted, 1);
    ck_assert_int_eq(info.has_stderr, 0);
    ck_assert_int_eq(cvm_retention_info(NULL, &info), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_params(NULL, p, se, 2), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_set_params(NULL, good, 2), CVM_E_INVALID);
    cvm_retention_free(r);
}
END_TEST

START_TEST(save_load_round_trip)
{
    static const double alive[8] = {1000, 631, 468, 382, 326, 289, 262, 241};
    char *dir = tu_tmpdir(), *path = tu_join(dir, "sbg.snap"), *other = tu_join(dir, "gg.snap");
    char *wrong = tu_join(dir, "wrong.snap"), err[300];
    const double gg[3] = {6.25, 3.74, 15.44};
    cvm_retention *r, *t;
    cvm_spend *s;
    cvm_fit_info a, b;
    double p1[2], s1[2], p2[2], s2[2];
    cvm_allocator libc;
    cvm__fitstate f;
    ck_assert_int_eq(cvm_retention_new(&r, NULL), CVM_OK);
    ck_assert_int_eq(cvm_retention_save(r, path), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_retention_errmsg(r), "not fitted"));
    ck_assert_msg(cvm_retention_fit(r, alive, 8, NULL) == CVM_OK, "%s", cvm_retention_errmsg(r));
    ck_assert_int_eq(cvm_retention_save(r, path), CVM_OK);
    ck_assert_int_eq(cvm_retention_load(&t, path, NULL, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm_retention_params(r, p1, s1, 2), CVM_OK);
    ck_assert_int_eq(cvm_retention_params(t, p2, s2, 2), CVM_OK);
    ck_assert_mem_eq(p1, p2, sizeof p1);
    ck_assert_mem_eq(s1, s2, sizeof s1);
    a.size = b.size = sizeof a;
    ck_assert_int_eq(cvm_retention_info(r, &a), CVM_OK);
    ck_assert_int_eq(cvm_retention_info(t, &b), CVM_OK);
    ck_assert_mem_eq(&a, &b, sizeof a);
    cvm_retention_free(t);

    ck_assert_int_eq(cvm_spend_new(&s, NULL), CVM_OK);
    ck_assert_int_eq(cvm_spend_set_params(s, gg, 3), CVM_OK);
    ck_assert_int_eq(cvm_spend_save(s, other), CVM_OK);
    cvm_spend_free(s);
    t = (cvm_retention *)&a;
    ck_assert_int_eq(cvm_retention_load(&t, other, NULL, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_null(t);
    ck_assert_str_ne(err, "");

    memset(&f, 0, sizeof f);
    f.params[0] = f.params[1] = 1;
    f.fitted = 1;
    ck_assert_int_eq(cvm__allocator_copy(&libc, NULL), CVM_OK);
    ck_assert_int_eq(cvm__fit_save(&f, &libc, CVM__SNAP_RETENTION, "gammagamma", 2, wrong, NULL, 0),
                     CVM_OK);
    ck_assert_int_eq(cvm_retention_load(&t, wrong, NULL, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "gammagamma"));

    ck_assert_int_eq(cvm_retention_load(&t, "/nonexistent/x.snap", NULL, err, sizeof err), CVM_E_IO);
    ck_assert_int_eq(cvm_retention_load(NULL, path, NULL, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_save(NULL, path), CVM_E_INVALID);
    ck_assert_int_eq(cvm_retention_save(r, NULL), CVM_E_INVALID);
    cvm_retention_free(r);
    free(path);
    free(other);
    free(wrong);
    tu_remove_tree(dir);
}
END_TEST

/* Every allocation of new, save and load fails in turn (fitting does not
 * allocate): CVM_E_NOMEM or CVM_OK, nothing leaked, no file left over. */
START_TEST(allocation_failures)
{
    static const double alive[5] = {100, 80, 70, 65, 62};
    const double good[2] = {0.5, 2};
    char *dir = tu_tmpdir(), *path = tu_join(dir, "sbg.snap");
    tu_failing state;
    cvm_allocator al = tu_failing_allocator(&state);
    cvm_model_options o = CVM_MODEL_OPTIONS_INIT;
    cvm_retention *r;
    size_t k;
    int failures = 0, step;
    o.allocator = &al;
    for (step = 0; step < 4; step++) {
        for (k = 1;; k++) {
            cvm_status st;
            memset(&state, 0, sizeof state);
            r = NULL;
            if (step > 0) {
                ck_assert_int_eq(cvm_retention_new(&r, &o), CVM_OK);
                ck_assert_int_eq(cvm_retention_set_params(r, good, 2), CVM_OK);
            }
            state.fail_at = state.calls + k;
            switch (step) {
            case 0:
                st = cvm_retention_new(&r, &o);
                ck_assert(st == CVM_OK || r == NULL);
                break;
            case 1:
                st = cvm_retention_fit(r, alive, 5, NULL);
                break;
            case 2:
                st = cvm_retention_save(r, path);
                break;
            default: {
                cvm_retention *t = NULL;
                st = cvm_retention_load(&t, path, &o, NULL, 0);
                ck_assert(st == CVM_OK || t == NULL);
                cvm_retention_free(t);
                break;
            }
            }
            ck_assert_msg(st == CVM_OK || st == CVM_E_NOMEM, "step %d, failing call %zu: %s", step,
                          k, cvm_strerror(st));
            cvm_retention_free(r);
            ck_assert_int_eq(state.live, 0);
            if (st == CVM_OK) {
                break;
            }
            failures++;
        }
    }
    ck_assert_int_ge(failures, 3);
    ck_assert_int_eq(tu_count_entries(dir), 1);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("retention");
    TCase *tc = tcase_create("retention");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, new_checks_options);
    tcase_add_test(tc, paper_fits);
    tcase_add_test(tc, paper_projection);
    tcase_add_test(tc, survival_and_rate_definitions);
    tcase_add_test(tc, loglik_matches_definition);
    tcase_add_test(tc, lifetime_against_sums);
    tcase_add_test(tc, lifetime_edges);
    tcase_add_test(tc, recovers_simulated_parameters);
    tcase_add_test(tc, fit_rejects_bad_input);
    tcase_add_test(tc, predictions_check_input);
    tcase_add_test(tc, set_params_checks_values);
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
