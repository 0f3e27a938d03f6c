/* Parameter recovery, the acceptance test of the CLV models: purchases drawn
 * by cvm_simulate() from known parameters for 100,000 customers go through
 * the customer model (cvm_customers) into the summary every user fits on, and
 * the maximum-likelihood fit must give back each parameter within 3 of its
 * standard errors.
 *
 * Why 3 standard errors: an unbiased estimate lands within 3 SE of the truth
 * with probability 0.997 per parameter (asymptotic normality, which 100,000
 * customers make accurate); the seeds are fixed, so the test is
 * deterministic, and a systematic error in the simulator, the summary or the
 * likelihood of more than about one SE shows up as a failure across seeds.
 *
 * Discretisation. The simulator gives times in whole seconds, and the
 * continuous-time models (BG/NBD, Pareto/NBD, MBG/NBD) are summarised with
 * one-second periods, so the summary discretises exactly as the simulation
 * did; the unit is the week (t_x and T are seconds / 604800). With the daily
 * periods `cvm summary` uses, the estimates are biased by more than the
 * standard errors of 100,000 customers: two purchases of a customer on one
 * day merge into one period, which removes about 1% of the repeat purchases
 * at CDNOW's rates, mostly from the heaviest buyers. Over 20 seeds, the mean
 * (estimate - truth) / SE with daily periods was +4.0 for BG/NBD's alpha and
 * +2.1 for its r, +3.9 and +2.4 for MBG/NBD's alpha and r (-1.6 for its b),
 * +2.5 for Pareto/NBD's alpha, and -0.5 for Gamma-Gamma's p; with hourly
 * periods every mean was within 0.5, and with one-second periods within
 * 0.33 (40 seeds, the spread of z about 1 as it should be). For real data of
 * CDNOW's size (2,357 customers, standard errors 6.5 times larger) the daily
 * bias is well under one standard error. BG/BB is discrete by construction:
 * one period per opportunity, whole numbers throughout.
 *
 * Set CVM_RECOVERY_VERBOSE=1 to print the estimates, errors and timings.
 * CVM_TEST_QUICK (valgrind) simulates 10,000 customers: the same paths, and
 * the same 3-SE rule against the larger standard errors. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CUSTOMERS (tu_quick() ? 10000u : 100000u)
#define WEEK INT64_C(604800)
#define YEAR (INT64_C(365) * 86400)

static int verbose(void)
{
    const char *v = getenv("CVM_RECOVERY_VERBOSE");
    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* ---- simulated data into a customer model ------------------------------- */

typedef struct sink {
    cvm_customers *c;
    cvm_status status;
} sink;

static int add_purchase(void *ud, size_t customer, int64_t time, double amount)
{
    sink *s = ud;
    char id[24];
    int n = snprintf(id, sizeof id, "c%zu", customer);
    s->status = cvm_customers_add(s->c, id, (size_t)n, time, amount);
    return s->status != CVM_OK;
}

/* The summary columns of a simulation, in `unit` seconds, from a customer
 * model with `period` second periods starting at `origin` and the
 * calibration ending with the period that holds `cal_end`. */
typedef struct summary {
    size_t n;
    double *x, *t_x, *T, *m;
} summary;

static summary summarise(const cvm_simulate_options *o, int64_t period, int64_t origin,
                         int64_t cal_end)
{
    cvm_customers_options co = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_summary_options so = CVM_SUMMARY_OPTIONS_INIT;
    cvm_customers *c = NULL;
    summary s;
    sink k;
    co.period_seconds = period;
    co.period_origin = origin;
    co.calibration_end = cal_end;
    ck_assert_int_eq(cvm_customers_new(&c, &co), CVM_OK);
    k.c = c;
    k.status = CVM_OK;
    ck_assert_int_eq(cvm_simulate(o, add_purchase, &k), CVM_OK);
    ck_assert_msg(k.status == CVM_OK, "add: %s", cvm_customers_errmsg(c));
    s.n = cvm_customers_summary_rows(c);
    ck_assert_uint_eq(s.n, o->customers);
    s.x = malloc(s.n * sizeof *s.x);
    s.t_x = malloc(s.n * sizeof *s.t_x);
    s.T = malloc(s.n * sizeof *s.T);
    s.m = malloc(s.n * sizeof *s.m);
    ck_assert(s.x && s.t_x && s.T && s.m);
    so.unit_seconds = o->unit_seconds;
    ck_assert_int_eq(cvm_customers_summary(c, &so, CVM_COL_FREQUENCY, s.x, s.n), CVM_OK);
    ck_assert_int_eq(cvm_customers_summary(c, &so, CVM_COL_RECENCY, s.t_x, s.n), CVM_OK);
    ck_assert_int_eq(cvm_customers_summary(c, &so, CVM_COL_T, s.T, s.n), CVM_OK);
    ck_assert_int_eq(cvm_customers_summary(c, &so, CVM_COL_MONETARY, s.m, s.n), CVM_OK);
    cvm_customers_free(c);
    return s;
}

static void summary_free(summary *s)
{
    free(s->x);
    free(s->t_x);
    free(s->T);
    free(s->m);
}

/* ---- the checks ------------------------------------------------------------ */

/* |estimate - truth| <= 3 SE for each of `k` parameters; SEs must exist. */
static void check_recovered(const char *what, const char *const *names, const double *truth,
                            const double *est, const double *se, size_t k)
{
    size_t i;
    for (i = 0; i < k; i++) {
        double z = (est[i] - truth[i]) / se[i];
        if (verbose()) {
            fprintf(stderr, "# %-8s %-6s true %9.4f  fit %9.4f  se %7.4f  z %+5.2f\n", what,
                    names[i], truth[i], est[i], se[i], z);
        }
        ck_assert_msg(isfinite(se[i]) && se[i] > 0, "%s %s: no standard error", what, names[i]);
        ck_assert_msg(fabs(z) <= 3, "%s %s: fitted %.5f, true %.5f, se %.5f (%.2f se away)", what,
                      names[i], est[i], truth[i], se[i], z);
    }
}

static void fit_transactions(int32_t kind, const double *truth, const summary *s)
{
    cvm_clv_options mo = CVM_CLV_OPTIONS_INIT;
    cvm_fit_info info;
    cvm_clv *m = NULL;
    const char *names[4];
    double est[4], se[4];
    size_t i;
    cvm_status st;
    struct timespec t0;
    mo.kind = kind;
    ck_assert_int_eq(cvm_clv_new(&m, &mo), CVM_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = cvm_clv_fit(m, s->x, s->t_x, s->T, NULL, s->n, NULL);
    ck_assert_msg(st == CVM_OK, "%s fit: %s: %s", cvm_model_name(kind), cvm_strerror(st),
                  cvm_clv_errmsg(m));
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    ck_assert_int_eq(cvm_clv_info(m, &info), CVM_OK);
    ck_assert(info.converged && info.has_stderr);
    ck_assert_double_eq_tol(info.weight, (double)s->n, 1e-6);
    if (verbose()) {
        fprintf(stderr, "# %s: %zu rows, %llu patterns, %d iterations, LL %.2f, %.2f s\n",
                cvm_model_name(kind), s->n, (unsigned long long)info.patterns, info.iterations,
                info.loglik, seconds_since(&t0));
    }
    ck_assert_int_eq(cvm_clv_params(m, est, se, 4), CVM_OK);
    for (i = 0; i < 4; i++) {
        names[i] = cvm_clv_param_name(m, i);
    }
    check_recovered(cvm_model_name(kind), names, truth, est, se, 4);
    cvm_clv_free(m);
}

/* Gamma-Gamma on the monetary column of the rows with a repeat purchase (the
 * fit skips the others). */
static void fit_spend(const double *truth, const summary *s)
{
    static const char *const names[3] = {"p", "q", "v"};
    cvm_spend *sp = NULL;
    double est[3], se[3];
    cvm_status st;
    ck_assert_int_eq(cvm_spend_new(&sp, NULL), CVM_OK);
    st = cvm_spend_fit(sp, s->x, s->m, NULL, s->n, NULL);
    ck_assert_msg(st == CVM_OK, "spend fit: %s: %s", cvm_strerror(st), cvm_spend_errmsg(sp));
    ck_assert_int_eq(cvm_spend_params(sp, est, se, 3), CVM_OK);
    check_recovered("spend", names, truth, est, se, 3);
    cvm_spend_free(sp);
}

/* A continuous-time model over CDNOW's design: first purchases over 12
 * weeks from 1997-01-01, 78 weeks in all, rates per week, summarised in
 * one-second periods (see the top of the file) with the calibration ending
 * on the last simulated second. */
static void recover_continuous(int32_t kind, const double *params, uint64_t seed)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    summary s;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    o.model = kind;
    memcpy(o.params, params, sizeof o.params);
    o.seed = seed;
    o.customers = CUSTOMERS;
    s = summarise(&o, 1, o.start, o.start + o.duration_seconds - 1);
    if (verbose()) {
        fprintf(stderr, "# %s: simulated and summarised in %.2f s\n", cvm_model_name(kind),
                seconds_since(&t0));
    }
    fit_transactions(kind, params, &s);
    fit_spend(o.spend_params, &s);
    summary_free(&s);
}

/* BG/NBD at the CDNOW estimates (Fader, Hardie & Lee 2005). */
START_TEST(bgnbd_recovers)
{
    static const double p[4] = {0.243, 4.414, 0.793, 2.426};
    recover_continuous(CVM_MODEL_BGNBD, p, 20050101);
}
END_TEST

/* Pareto/NBD at the CDNOW estimates (FHL 2005). */
START_TEST(pareto_recovers)
{
    static const double p[4] = {0.553, 10.578, 0.606, 11.669};
    recover_continuous(CVM_MODEL_PARETO, p, 19870101);
}
END_TEST

/* MBG/NBD at the CDNOW estimates (BTYDplus). */
START_TEST(mbgnbd_recovers)
{
    static const double p[4] = {0.525, 6.183, 0.891, 1.614};
    recover_continuous(CVM_MODEL_MBGNBD, p, 20070101);
}
END_TEST

/* BG/BB at FHS 2010's donation estimates: one cohort at the start, annual
 * opportunities, 6 of them as in the donations data (1996-2001 after the
 * 1995 first gift). Periods are the years themselves (365 days from the
 * start), so x, t_x and n come out as whole numbers. */
START_TEST(bgbb_recovers)
{
    static const double p[4] = {1.204, 0.750, 0.657, 2.783};
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    summary s;
    size_t i;
    o.model = CVM_MODEL_BGBB;
    memcpy(o.params, p, sizeof o.params);
    o.seed = 20100101;
    o.customers = CUSTOMERS;
    o.unit_seconds = YEAR;
    o.acquisition_seconds = 0;
    o.duration_seconds = 7 * YEAR;
    s = summarise(&o, YEAR, o.start, o.start + o.duration_seconds - 1);
    for (i = 0; i < s.n; i++) {
        ck_assert(s.T[i] == 6 && s.t_x[i] == floor(s.t_x[i]) && s.x[i] <= s.t_x[i]);
    }
    fit_transactions(CVM_MODEL_BGBB, p, &s);
    fit_spend(o.spend_params, &s);
    summary_free(&s);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("recovery");
    TCase *tc = tcase_create("recovery");
    /* Each test takes a few seconds (simulate, summarise, fit 100,000
     * customers); the limit leaves room for slow and instrumented builds. */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bgnbd_recovers);
    tcase_add_test(tc, pareto_recovers);
    tcase_add_test(tc, mbgnbd_recovers);
    tcase_add_test(tc, bgbb_recovers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
