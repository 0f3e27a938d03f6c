/* The cvm_clv handle through the public API: options, fitting (published
 * CDNOW estimates), bad input, non-convergence, predictions, scoring, CLV,
 * holdout, tracking, saving. Model formulas are checked in test_models.c and
 * test_pareto.c; here we check what the handle does with them. */
#include "testutil.h"

#include "clv/clv_int.h" /* cvm__fit_run, for the bound test */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CDNOW calibration summary (BTYD's cbs: full precision) ---- */

#define CDNOW_N 2357

typedef struct cbs {
    double x[CDNOW_N], t_x[CDNOW_N], T[CDNOW_N], x_star[CDNOW_N], m[CDNOW_N];
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
        ck_assert_int_eq(sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf", &id, &d->x[d->n], &d->t_x[d->n],
                                &d->T[d->n], &d->x_star[d->n], &d->m[d->n]),
                         6);
        d->n++;
    }
    fclose(f);
    ck_assert_uint_eq(d->n, CDNOW_N);
    return d;
}

static cvm_clv *model(int32_t kind)
{
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    cvm_clv *m = NULL;
    o.kind = kind;
    ck_assert_int_eq(cvm_clv_new(&m, &o), CVM_OK);
    return m;
}

static cvm_clv *fit_cdnow(const cbs *d, int32_t kind)
{
    cvm_clv *m = model(kind);
    cvm_status st = cvm_clv_fit(m, d->x, d->t_x, d->T, NULL, d->n, NULL);
    ck_assert_msg(st == CVM_OK, "%s", cvm_clv_errmsg(m));
    return m;
}

static void params_of(const cvm_clv *m, double p[4], double se[4])
{
    ck_assert_int_eq(cvm_clv_params(m, p, se, 4), CVM_OK);
}

static cvm_fit_info info_of(const cvm_clv *m)
{
    cvm_fit_info info;
    info.size = sizeof info;
    ck_assert_int_eq(cvm_clv_info(m, &info), CVM_OK);
    return info;
}

/* Re-fit values (README: lifetimes 0.11.3 on the same file) are what a
 * correct optimiser reaches; 1e-4 relative is the bar and well above
 * the optimiser's own precision. Published values are to 3 significant
 * digits: |ours - published| <= half a unit in the third digit. */
static void assert_params(const cvm_clv *m, const double refit[4], const double published[4],
                          double rel)
{
    double p[4], se[4];
    int j;
    params_of(m, p, se);
    for (j = 0; j < 4; j++) {
        double unit = pow(10, floor(log10(published[j])) - 2);
        ck_assert_msg(fabs(p[j] - refit[j]) <= rel * refit[j], "param %d: %.8g vs re-fit %.8g", j,
                      p[j], refit[j]);
        ck_assert_msg(fabs(p[j] - published[j]) <= 0.5 * unit + 1e-12, "param %d: %.8g vs published %g",
                      j, p[j], published[j]);
        ck_assert_msg(se[j] > 0 && isfinite(se[j]), "param %d: standard error %g", j, se[j]);
    }
}

START_TEST(options_init_match_macros)
{
    cvm_clv_options a = CVM_CLV_OPTIONS_INIT, b;
    cvm_fit_options fa = CVM_FIT_OPTIONS_INIT, fb;
    cvm_value_options va = CVM_VALUE_OPTIONS_INIT, vb;
    memset(&b, 0xAB, sizeof b);
    memset(&fb, 0xAB, sizeof fb);
    memset(&vb, 0xAB, sizeof vb);
    ck_assert_int_eq(cvm_clv_options_init(&b, sizeof b), CVM_OK);
    ck_assert_int_eq(cvm_fit_options_init(&fb, sizeof fb), CVM_OK);
    ck_assert_int_eq(cvm_value_options_init(&vb, sizeof vb), CVM_OK);
    ck_assert_mem_eq(&a, &b, sizeof a);
    ck_assert_mem_eq(&fa, &fb, sizeof fa);
    ck_assert_mem_eq(&va, &vb, sizeof va);
    ck_assert_int_eq(cvm_clv_options_init(&b, sizeof b - 4), CVM_E_ABI);
}
END_TEST

START_TEST(kinds_and_names)
{
    static const char *names[] = { "bgnbd", "pareto", "mbgnbd", "bgbb" };
    static const char *first[] = { "r", "r", "r", "alpha" };
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    cvm_clv *m = NULL;
    int32_t k, got;
    for (k = 0; k < 4; k++) {
        ck_assert_str_eq(cvm_model_name(k), names[k]);
        ck_assert_int_eq(cvm_model_from_name(names[k], &got), CVM_OK);
        ck_assert_int_eq(got, k);
        m = model(k);
        ck_assert_int_eq(cvm_clv_kind(m), k);
        ck_assert_uint_eq(cvm_clv_param_count(m), 4);
        ck_assert_str_eq(cvm_clv_param_name(m, 0), first[k]);
        ck_assert_ptr_null(cvm_clv_param_name(m, 4));
        cvm_clv_free(m);
    }
    ck_assert_ptr_null(cvm_model_name(4));
    ck_assert_int_eq(cvm_model_from_name("bg/nbd", &got), CVM_E_NOT_FOUND);
    o.kind = 9;
    ck_assert_int_eq(cvm_clv_new(&m, &o), CVM_E_INVALID);
    ck_assert_ptr_null(m);
    cvm_clv_free(NULL);
    ck_assert_int_eq(cvm_clv_kind(NULL), -1);
}
END_TEST

START_TEST(cdnow_bgnbd)
{
    static const double refit[4] = { 0.242595, 4.413603, 0.792922, 2.425906 };
    static const double pub[4] = { 0.243, 4.414, 0.793, 2.426 };
    cbs *d;
    cvm_clv *m;
    cvm_fit_info info;
    TU_SKIP_IF_NO_DATA();
    d = load_cbs();
    m = fit_cdnow(d, CVM_MODEL_BGNBD);
    assert_params(m, refit, pub, 1e-4);
    info = info_of(m);
    /* README: LL -9582.4292 on this file; the issue asks for 0.01. */
    ck_assert_msg(fabs(info.loglik - -9582.4292) < 0.01, "loglik %.6f", info.loglik);
    ck_assert(info.fitted && info.converged && info.has_stderr);
    ck_assert_uint_eq(info.rows, CDNOW_N);
    ck_assert_uint_lt(info.patterns, CDNOW_N); /* the 1411 x = 0 rows share few T values */
    ck_assert(fabs(info.weight - CDNOW_N) < 1e-9);
    cvm_clv_free(m);
    free(d);
}
END_TEST

START_TEST(cdnow_pareto)
{
    static const double refit[4] = { 0.5533, 10.5776, 0.6062, 11.6679 };
    static const double pub[4] = { 0.553, 10.578, 0.606, 11.669 };
    cbs *d;
    cvm_clv *m;
    TU_SKIP_IF_NO_DATA();
    d = load_cbs();
    m = fit_cdnow(d, CVM_MODEL_PARETO);
    /* The bar: 1e-4 relative of the re-fit values (given to 4
     * decimals; our fit is within 7.2e-5 of them, beta the farthest). */
    assert_params(m, refit, pub, 1e-4);
    ck_assert_msg(fabs(info_of(m).loglik - -9594.9739) < 0.01, "loglik %.6f", info_of(m).loglik);
    cvm_clv_free(m);
    free(d);
}
END_TEST

START_TEST(cdnow_mbgnbd)
{
    static const double refit[4] = { 0.5248, 6.1830, 0.8914, 1.6140 };
    static const double pub[4] = { 0.525, 6.183, 0.891, 1.614 };
    cbs *d;
    cvm_clv *m;
    TU_SKIP_IF_NO_DATA();
    d = load_cbs();
    m = fit_cdnow(d, CVM_MODEL_MBGNBD);
    /* The bar: 1e-4 relative of the re-fit values (given to 4
     * decimals; our fit is within 7.6e-5 of them, r the farthest). */
    assert_params(m, refit, pub, 1e-4);
    ck_assert_msg(fabs(info_of(m).loglik - -9582.1327) < 0.01, "loglik %.6f", info_of(m).loglik);
    cvm_clv_free(m);
    free(d);
}
END_TEST

/* Holdout: FHL 2005 / BTYDplus: the BG/NBD conditional expectations over the
 * 39-week holdout sum to 1,653.4 against 1,882 actual (-12.1%). */
START_TEST(cdnow_holdout)
{
    cbs *d;
    cvm_clv *m;
    cvm_holdout_report r;
    double *dur, *pred;
    size_t i;
    TU_SKIP_IF_NO_DATA();
    d = load_cbs();
    m = fit_cdnow(d, CVM_MODEL_BGNBD);
    dur = malloc(d->n * sizeof *dur);
    pred = malloc(d->n * sizeof *pred);
    for (i = 0; i < d->n; i++) {
        dur[i] = 39;
    }
    r.size = sizeof r;
    ck_assert_int_eq(cvm_clv_holdout(m, d->x, d->t_x, d->T, dur, d->x_star, d->n, pred, &r, NULL, 0),
                     CVM_OK);
    ck_assert_msg(fabs(r.predicted - 1653.4) < 0.05, "predicted %.4f", r.predicted);
    ck_assert(fabs(r.actual - 1882) < 1e-9);
    ck_assert(fabs(r.bias - (r.predicted - r.actual) / CDNOW_N) < 1e-12);
    ck_assert(r.mae > 0 && r.rmse >= r.mae && r.customers == CDNOW_N);
    cvm_clv_free(m);
    free(dur);
    free(pred);
    free(d);
}
END_TEST

/* Weights and merging: a row repeated k times fits exactly as the row once
 * with weight k, and the fit cost is per distinct row. */
START_TEST(weights_equal_repeated_rows)
{
    double x[6] = { 0, 0, 2, 2, 5, 1 }, t_x[6] = { 0, 0, 10, 10, 30, 4 },
           T[6] = { 40, 40, 38, 38, 39, 20 };
    double x2[4] = { 0, 2, 5, 1 }, t2[4] = { 0, 10, 30, 4 }, T2[4] = { 40, 38, 39, 20 },
           w2[4] = { 2, 2, 1, 1 };
    double pa[4], pb[4];
    cvm_clv *a = model(CVM_MODEL_BGNBD), *b = model(CVM_MODEL_BGNBD);
    /* Six customers do not identify four parameters (nobody has visibly
     * dropped out: b runs to the box); a small penalty gives an optimum. */
    cvm_fit_options fo = CVM_FIT_OPTIONS_INIT;
    fo.penalizer = 0.01;
    ck_assert_int_eq(cvm_clv_fit(a, x, t_x, T, NULL, 6, &fo), CVM_OK);
    ck_assert_int_eq(cvm_clv_fit(b, x2, t2, T2, w2, 4, &fo), CVM_OK);
    ck_assert_uint_eq(info_of(a).patterns, 4);
    params_of(a, pa, NULL);
    params_of(b, pb, NULL);
    for (int j = 0; j < 4; j++) {
        /* Same objective, same starts: identical up to summation order. */
        ck_assert_msg(fabs(pa[j] - pb[j]) <= 1e-8 * pb[j], "%d: %.12g vs %.12g", j, pa[j], pb[j]);
    }
    cvm_clv_free(a);
    cvm_clv_free(b);
}
END_TEST

static void expect_invalid(cvm_clv *m, double x, double t_x, double T, const char *needle)
{
    double xs[3] = { 1, 0, x }, ts[3] = { 5, 0, t_x }, Ts[3] = { 10, 10, T };
    ck_assert_int_eq(cvm_clv_fit(m, xs, ts, Ts, NULL, 3, NULL), CVM_E_INVALID);
    ck_assert_msg(strstr(cvm_clv_errmsg(m), "row 3") != NULL, "%s", cvm_clv_errmsg(m));
    ck_assert_msg(strstr(cvm_clv_errmsg(m), needle) != NULL, "%s", cvm_clv_errmsg(m));
}

START_TEST(bad_rows_named)
{
    cvm_clv *m = model(CVM_MODEL_BGNBD), *bb = model(CVM_MODEL_BGBB);
    double zero[2] = { 0, 0 }, T[2] = { 5, 6 }, w[2] = { 1, NAN };
    expect_invalid(m, -1, 0, 10, "negative");
    expect_invalid(m, 2, 11, 10, "after T");
    expect_invalid(m, NAN, 1, 10, "NaN");
    expect_invalid(m, 1, INFINITY, 10, "infinite");
    expect_invalid(m, 1.5, 1, 10, "whole");
    expect_invalid(m, 2, 0, 10, "t_x is 0");
    expect_invalid(m, 0, 3, 10, "must be 0");
    expect_invalid(m, 1, 0, 0, "0 with repeat purchases");
    expect_invalid(m, 0, 0, -1, "T is negative");
    expect_invalid(bb, 1, 2.5, 6, "whole");
    expect_invalid(bb, 4, 3, 6, "larger than t_x");
    ck_assert_int_eq(cvm_clv_fit(m, zero, zero, T, NULL, 0, NULL), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_clv_errmsg(m), "n = 0"));
    ck_assert_int_eq(cvm_clv_fit(m, zero, zero, T, NULL, 2, NULL), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_clv_errmsg(m), "all x = 0"));
    ck_assert_int_eq(cvm_clv_fit(m, zero, zero, T, w, 2, NULL), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_clv_errmsg(m), "row 2: weight"));
    ck_assert_int_eq(cvm_clv_fit(m, NULL, zero, T, NULL, 2, NULL), CVM_E_INVALID);
    ck_assert_int_eq(cvm_clv_fit(NULL, zero, zero, T, NULL, 2, NULL), CVM_E_INVALID);
    ck_assert(!info_of(m).fitted);
    cvm_clv_free(m);
    cvm_clv_free(bb);
}
END_TEST

START_TEST(bad_fit_options)
{
    double x[2] = { 1, 0 }, t[2] = { 3, 0 }, T[2] = { 5, 6 }, init[4] = { 1, 1, -1, 1 };
    cvm_fit_options o = CVM_FIT_OPTIONS_INIT;
    cvm_clv *m = model(CVM_MODEL_BGNBD);
    o.penalizer = -1;
    ck_assert_int_eq(cvm_clv_fit(m, x, t, T, NULL, 2, &o), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_clv_errmsg(m), "penalizer"));
    o.penalizer = 0;
    o.initial = init;
    ck_assert_int_eq(cvm_clv_fit(m, x, t, T, NULL, 2, &o), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_clv_errmsg(m), "initial value 3"));
    o.initial = NULL;
    o.size = 3;
    ck_assert_int_eq(cvm_clv_fit(m, x, t, T, NULL, 2, &o), CVM_E_ABI);
    cvm_clv_free(m);
}
END_TEST

/* No convergence: the status says so, the message says why, the model is
 * unfitted, keeps its previous parameters for inspection, and predicts
 * nothing. */
START_TEST(no_convergence_keeps_parameters)
{
    cbs *d;
    cvm_clv *m;
    cvm_fit_options o = CVM_FIT_OPTIONS_INIT;
    double before[4], p[4] = { 0.2, 4, 0.8, 2.4 }, out[1];
    char err[256];
    TU_SKIP_IF_NO_DATA();
    d = load_cbs();
    m = fit_cdnow(d, CVM_MODEL_BGNBD);
    params_of(m, before, NULL);
    o.max_iterations = 1;
    o.starts = 1;
    ck_assert_int_eq(cvm_clv_fit(m, d->x, d->t_x, d->T, NULL, d->n, &o), CVM_E_NOCONVERGE);
    ck_assert_ptr_nonnull(strstr(cvm_clv_errmsg(m), "did not converge"));
    ck_assert(!info_of(m).fitted);
    ck_assert_int_eq(cvm_clv_params(m, p, NULL, 4), CVM_OK);
    ck_assert_mem_eq(p, before, sizeof before);
    ck_assert_int_eq(cvm_clv_p_alive(m, d->x, d->t_x, d->T, 1, out, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "not fitted"));
    /* Setting parameters by hand makes it usable again. */
    ck_assert_int_eq(cvm_clv_set_params(m, before, 4), CVM_OK);
    ck_assert_int_eq(cvm_clv_p_alive(m, d->x, d->t_x, d->T, 1, out, NULL, 0), CVM_OK);
    cvm_clv_free(m);
    free(d);
}
END_TEST

START_TEST(set_params_checked)
{
    cvm_clv *m = model(CVM_MODEL_BGNBD);
    double bad[4] = { 0.2, NAN, 1, 1 }, neg[4] = { 0.2, 1, -1, 1 }, ok[4] = { 0.243, 4.414, 0.793, 2.426 };
    double got[4], se[4];
    cvm_fit_info info;
    ck_assert_int_eq(cvm_clv_set_params(m, bad, 4), CVM_E_RANGE);
    ck_assert_int_eq(cvm_clv_set_params(m, neg, 4), CVM_E_RANGE);
    ck_assert_int_eq(cvm_clv_set_params(m, ok, 3), CVM_E_INVALID);
    ck_assert(!info_of(m).fitted);
    ck_assert_int_eq(cvm_clv_set_params(m, ok, 4), CVM_OK);
    params_of(m, got, se);
    ck_assert_mem_eq(got, ok, sizeof ok);
    ck_assert(se[0] == 0 && se[3] == 0);
    info = info_of(m);
    ck_assert(info.fitted && !info.has_stderr);
    info.size = 8;
    ck_assert_int_eq(cvm_clv_info(m, &info), CVM_E_ABI);
    cvm_clv_free(m);
}
END_TEST

/* Hardie's spreadsheet: E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226 and
 * P(alive) = 0.7266 at the published parameters (digits given). */
START_TEST(published_customer)
{
    double p[4] = { 0.243, 4.414, 0.793, 2.426 };
    double x = 2, t_x = 30.43, T = 38.86, e, pa, ll, tot;
    cvm_clv *m = model(CVM_MODEL_BGNBD);
    ck_assert_int_eq(cvm_clv_set_params(m, p, 4), CVM_OK);
    ck_assert_int_eq(cvm_clv_expected(m, 39, &x, &t_x, &T, 1, &e, NULL, 0), CVM_OK);
    ck_assert_int_eq(cvm_clv_p_alive(m, &x, &t_x, &T, 1, &pa, NULL, 0), CVM_OK);
    ck_assert_msg(fabs(e - 1.226) < 5e-4, "E = %.6f", e);
    ck_assert_msg(fabs(pa - 0.7266) < 5e-5, "P(alive) = %.6f", pa);
    ck_assert_int_eq(cvm_clv_loglik(m, &x, &t_x, &T, 1, &ll, &tot, NULL, 0), CVM_OK);
    ck_assert(ll == tot && ll < 0 && isfinite(ll));
    cvm_clv_free(m);
}
END_TEST

START_TEST(prediction_errors_name_the_row)
{
    double p[4] = { 0.243, 4.414, 0.793, 2.426 };
    double x[3] = { 1, 2, 3 }, t[3] = { 5, 6, 12 }, T[3] = { 10, 10, 10 }, out[3];
    double k[2] = { 1, 0.5 }, tt[2] = { 1, 1 };
    char err[256];
    cvm_clv *m = model(CVM_MODEL_BGNBD);
    ck_assert_int_eq(cvm_clv_set_params(m, p, 4), CVM_OK);
    ck_assert_int_eq(cvm_clv_p_alive(m, x, t, T, 3, out, err, sizeof err), CVM_E_INVALID);
    ck_assert_msg(strstr(err, "row 3") && strstr(err, "after T"), "%s", err);
    ck_assert_int_eq(cvm_clv_expected(m, -1, x, t, T, 2, out, err, sizeof err), CVM_E_INVALID);
    ck_assert_msg(strstr(err, "horizon"), "%s", err);
    ck_assert_int_eq(cvm_clv_prob_count(m, tt, k, 2, out, err, sizeof err), CVM_E_INVALID);
    ck_assert_msg(strstr(err, "row 2"), "%s", err);
    /* A tiny buffer is truncated, never overrun; NULL is allowed. */
    ck_assert_int_eq(cvm_clv_p_alive(m, x, t, T, 3, out, err, 4), CVM_E_INVALID);
    ck_assert_uint_eq(strlen(err), 3);
    ck_assert_int_eq(cvm_clv_p_alive(m, x, t, T, 3, out, NULL, 0), CVM_E_INVALID);
    cvm_clv_free(m);
}
END_TEST

/* cvm_clv_score gives what the separate calls give, and CLV is the
 * discounted sum of per-period increments of the conditional expectation
 * (lifetimes' definition), computed here the slow way. */
START_TEST(score_matches_separate_calls)
{
    cbs *d;
    cvm_clv *m;
    cvm_value_options vo = CVM_VALUE_OPTIONS_INIT;
    double *pa, *e, *v, *clv, *pa2, *e2, *clv2;
    size_t i, n;
    TU_SKIP_IF_NO_DATA();
    d = load_cbs();
    n = d->n;
    m = fit_cdnow(d, CVM_MODEL_BGNBD);
    pa = malloc(7 * n * sizeof *pa);
    e = pa + n, v = e + n, clv = v + n, pa2 = clv + n, e2 = pa2 + n, clv2 = e2 + n;
    vo.periods = 6;
    vo.period_length = 4.35;
    vo.discount_rate = 0.02;
    vo.margin = 0.3;
    ck_assert_int_eq(cvm_clv_score(m, NULL, 39, &vo, d->x, d->t_x, d->T, d->m, n, pa, e, v, clv,
                                   NULL, 0),
                     CVM_OK);
    ck_assert_int_eq(cvm_clv_p_alive(m, d->x, d->t_x, d->T, n, pa2, NULL, 0), CVM_OK);
    ck_assert_int_eq(cvm_clv_expected(m, 39, d->x, d->t_x, d->T, n, e2, NULL, 0), CVM_OK);
    ck_assert_int_eq(cvm_clv_value(m, NULL, &vo, d->x, d->t_x, d->T, d->m, n, clv2, NULL, 0),
                     CVM_OK);
    for (i = 0; i < n; i++) {
        double slow = 0, prev = 0, f = 1;
        int k;
        for (k = 1; k <= vo.periods; k++) {
            double h = k * vo.period_length, ek;
            ck_assert_int_eq(cvm_clv_expected(m, h, &d->x[i], &d->t_x[i], &d->T[i], 1, &ek, NULL, 0),
                             CVM_OK);
            f /= 1 + vo.discount_rate;
            slow += (ek - prev) * f;
            prev = ek;
        }
        slow *= vo.margin * d->m[i];
        ck_assert(pa[i] == pa2[i] && e[i] == e2[i] && clv[i] == clv2[i] && v[i] == d->m[i]);
        /* Same arithmetic in another order: 1e-12 relative. */
        ck_assert_msg(fabs(clv[i] - slow) <= 1e-12 * fmax(1, slow), "row %zu: %.15g vs %.15g", i,
                      clv[i], slow);
        ck_assert(pa[i] >= 0 && pa[i] <= 1 && e[i] >= 0);
    }
    free(pa);
    cvm_clv_free(m);
    free(d);
}
END_TEST

/* The tracking curve is the sum of E[X(t - birth)] (checked the slow way);
 * CDNOW's actual curve (from the transactions) equals BTYD's cu.tracking. */
START_TEST(tracking_curves)
{
    cbs *d;
    cvm_clv *m;
    cvm_customers *c = NULL;
    cvm_customers_options co = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_csv_options csv = CVM_CSV_OPTIONS_INIT;
    double birth[CDNOW_N], times[78], exp_curve[78], actual[78];
    size_t i, j;
    FILE *f;
    char line[128];
    TU_SKIP_IF_NO_DATA();
    d = load_cbs();
    m = fit_cdnow(d, CVM_MODEL_BGNBD);
    for (i = 0; i < d->n; i++) {
        birth[i] = 39 - d->T[i];
    }
    for (j = 0; j < 78; j++) {
        times[j] = (double)j + 1;
    }
    ck_assert_int_eq(cvm_clv_tracking(m, birth, NULL, d->n, times, 78, exp_curve, NULL, 0), CVM_OK);
    for (j = 0; j < 78; j += 13) {
        double slow = 0;
        for (i = 0; i < d->n; i++) {
            double t = times[j] - birth[i], e;
            if (t > 0) {
                ck_assert_int_eq(cvm_clv_expected_new(m, &t, 1, &e, NULL, 0), CVM_OK);
                slow += e;
            }
        }
        ck_assert_msg(fabs(exp_curve[j] - slow) <= 1e-9 * fmax(1, slow), "week %zu", j + 1);
    }
    /* Monotone and near the calibration total at week 39 (a fitted model
     * tracks its own calibration data within a few percent). */
    for (j = 1; j < 78; j++) {
        ck_assert(exp_curve[j] >= exp_curve[j - 1]);
    }
    ck_assert_msg(fabs(exp_curve[38] / 2457 - 1) < 0.05, "week 39: %.1f", exp_curve[38]);

    csv.whitespace = 1;
    csv.has_header = 0;
    csv.id_index = 2;
    csv.date_index = 3;
    csv.amount_index = 5;
    csv.date_format = CVM_DATE_YYYYMMDD;
    ck_assert_int_eq(cvm_customers_new(&c, &co), CVM_OK);
    ck_assert_int_eq(cvm_customers_load_csv(c, tu_data_path("CDNOW_sample.txt"), &csv), CVM_OK);
    ck_assert_int_eq(cvm_customers_repeat_curve(c, INT64_C(852076800), 7 * 86400, actual, 78), CVM_OK);
    f = fopen(tu_data_path("btyd_cdnow_cu_tracking.csv"), "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    for (j = 0; j < 78; j++) {
        int week;
        double cum;
        ck_assert_int_eq(fscanf(f, "%d,%lf", &week, &cum), 2);
        ck_assert_msg(actual[j] == cum, "week %d: %g vs %g", week, actual[j], cum);
    }
    fclose(f);
    ck_assert_int_eq(cvm_customers_repeat_curve(c, 0, 0, actual, 78), CVM_E_INVALID);
    cvm_customers_free(c);
    cvm_clv_free(m);
    free(d);
}
END_TEST

/* lifetimes adds penalizer_coef * sum(params^2) to the mean negative
 * log-likelihood: a penalty pulls the parameters toward 0. */
START_TEST(penalizer_shrinks)
{
    cbs *d;
    cvm_clv *a, *b;
    cvm_fit_options o = CVM_FIT_OPTIONS_INIT;
    double pa[4], pb[4];
    TU_SKIP_IF_NO_DATA();
    d = load_cbs();
    a = fit_cdnow(d, CVM_MODEL_BGNBD);
    b = model(CVM_MODEL_BGNBD);
    o.penalizer = 0.01;
    ck_assert_int_eq(cvm_clv_fit(b, d->x, d->t_x, d->T, NULL, d->n, &o), CVM_OK);
    params_of(a, pa, NULL);
    params_of(b, pb, NULL);
    ck_assert(pb[1] < pa[1]); /* alpha, the largest, moves the most */
    ck_assert(info_of(b).loglik < info_of(a).loglik);
    cvm_clv_free(a);
    cvm_clv_free(b);
    free(d);
}
END_TEST

START_TEST(save_load_round_trip)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "m.cvm"), *other = tu_join(dir, "no.cvm");
    double p[4] = { 0.5533, 10.5776, 0.6062, 11.6679 }, q[4], se[4];
    char err[256];
    cvm_clv *m = model(CVM_MODEL_PARETO), *l = NULL;
    cvm_fit_info a, b;
    ck_assert_int_eq(cvm_clv_save(m, path), CVM_E_INVALID); /* not fitted */
    ck_assert_int_eq(tu_count_entries(dir), 0);
    ck_assert_int_eq(cvm_clv_set_params(m, p, 4), CVM_OK);
    ck_assert_int_eq(cvm_clv_save(m, path), CVM_OK);
    ck_assert_int_eq(cvm_clv_load(&l, path, NULL, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm_clv_kind(l), CVM_MODEL_PARETO);
    ck_assert_int_eq(cvm_clv_params(l, q, se, 4), CVM_OK);
    ck_assert_mem_eq(p, q, sizeof p);
    a = info_of(m);
    b = info_of(l);
    ck_assert_mem_eq(&a, &b, sizeof a);
    cvm_clv_free(l);
    l = (cvm_clv *)1;
    ck_assert_int_eq(cvm_clv_load(&l, other, NULL, err, sizeof err), CVM_E_IO);
    ck_assert_ptr_null(l);
    ck_assert_ptr_nonnull(strstr(err, "no.cvm"));
    cvm_clv_free(m);
    free(path);
    free(other);
    tu_remove_tree(dir);
}
END_TEST

/* Every allocation of a fit and of scoring may fail: CVM_E_NOMEM, nothing
 * leaked, and the next attempt works. */
START_TEST(out_of_memory)
{
    double x[4] = { 0, 2, 5, 1 }, t[4] = { 0, 10, 30, 4 }, T[4] = { 40, 38, 39, 20 }, out[4];
    size_t n;
    for (n = 1; n < 50; n++) {
        tu_failing st = { 0, n, 0, 0 };
        cvm_allocator a = tu_failing_allocator(&st);
        cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
        cvm_clv *m = NULL;
        cvm_status s;
        o.allocator = &a;
        s = cvm_clv_new(&m, &o);
        if (s == CVM_OK) {
            s = cvm_clv_fit(m, x, t, T, NULL, 4, NULL);
        }
        if (s == CVM_OK) {
            s = cvm_clv_expected(m, 10, x, t, T, 4, out, NULL, 0);
        }
        ck_assert_msg(s == CVM_OK || s == CVM_E_NOMEM, "fail at %zu: %d", n, s);
        cvm_clv_free(m);
        ck_assert_int_eq(st.live, 0);
        if (s == CVM_OK) {
            break;
        }
    }
    ck_assert_uint_lt(n, 50);
}
END_TEST

/* Scoring keeps one entry per distinct (x, T) in a table that grows, and
 * past its cap (2^17 pairs) computes further pairs per row: results are
 * the same on every path, and every allocation may fail cleanly. */
START_TEST(score_many_distinct_pairs)
{
    const size_t n = 140000;
    double p[4] = { 0.243, 4.414, 0.793, 2.426 };
    double *x = malloc(5 * n * sizeof *x), *t = x + n, *T = t + n, *e = T + n, *pa = e + n;
    cvm_clv *m = model(CVM_MODEL_BGNBD);
    size_t i, k;
    ck_assert_int_eq(cvm_clv_set_params(m, p, 4), CVM_OK);
    for (i = 0; i < n; i++) {
        x[i] = (double)(i % 7);
        T[i] = 10 + (double)i * 1e-4; /* every row a new (x, T) */
        t[i] = x[i] > 0 ? T[i] / 2 : 0;
    }
    ck_assert_int_eq(cvm_clv_score(m, NULL, 13, NULL, x, t, T, NULL, n, pa, e, NULL, NULL, NULL, 0),
                     CVM_OK);
    for (i = 0; i < n; i += 997) {
        double one, pone;
        ck_assert_int_eq(cvm_clv_expected(m, 13, &x[i], &t[i], &T[i], 1, &one, NULL, 0), CVM_OK);
        ck_assert_int_eq(cvm_clv_p_alive(m, &x[i], &t[i], &T[i], 1, &pone, NULL, 0), CVM_OK);
        ck_assert_msg(e[i] == one && pa[i] == pone, "row %zu", i);
    }
    cvm_clv_free(m);
    /* Out of memory while the table grows (the first 5000 rows grow it
     * twice): CVM_E_NOMEM with a message, no leak. */
    for (k = 1; k < 20; k++) {
        tu_failing st = { 0, k, 0, 0 };
        cvm_allocator a = tu_failing_allocator(&st);
        cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
        char err[128];
        cvm_status s;
        o.allocator = &a;
        m = NULL;
        s = cvm_clv_new(&m, &o);
        if (s == CVM_OK) {
            s = cvm_clv_set_params(m, p, 4);
        }
        if (s == CVM_OK) {
            s = cvm_clv_expected(m, 13, x, t, T, 5000, e, err, sizeof err);
            ck_assert(s == CVM_OK || strstr(err, "out of memory") != NULL);
        }
        ck_assert_msg(s == CVM_OK || s == CVM_E_NOMEM, "fail at %zu: %d", k, s);
        cvm_clv_free(m);
        ck_assert_int_eq(st.live, 0);
        if (s == CVM_OK) {
            break;
        }
    }
    ck_assert_uint_ge(k, 4); /* new, table, k table, growth x2 */
    free(x);
}
END_TEST

START_TEST(limits_and_overflow)
{
    double p[4] = { 0.243, 4.414, 0.793, 2.426 };
    double x[3] = { 1, 0, 1e300 }, t[3] = { 5, 0, 5 }, T[3] = { 10, 10, 10 }, w[3] = { 1e308, 1e308, 1e308 };
    double big[2] = { 1e300, 1e300 }, dur[2] = { 39, 39 }, out[3], times[1] = { 100 }, birth[3] = { 0, 0, 0 };
    double bx[2] = { 1, 1 }, bt[2] = { 1, 1 }, bT[2] = { 6, 200000 };
    cvm_holdout_report r;
    cvm_value_options vo = CVM_VALUE_OPTIONS_INIT;
    char err[256];
    cvm_clv *m = model(CVM_MODEL_BGNBD), *bb = model(CVM_MODEL_BGBB);
    /* counts beyond 2^52 and opportunities beyond 1e5 are refused by name */
    ck_assert_int_eq(cvm_clv_fit(m, x, t, T, NULL, 3, NULL), CVM_E_INVALID);
    ck_assert_msg(strstr(cvm_clv_errmsg(m), "row 3") && strstr(cvm_clv_errmsg(m), "2^52"), "%s",
                  cvm_clv_errmsg(m));
    ck_assert_int_eq(cvm_clv_fit(bb, bx, bt, bT, NULL, 2, NULL), CVM_E_INVALID);
    ck_assert_msg(strstr(cvm_clv_errmsg(bb), "row 2") && strstr(cvm_clv_errmsg(bb), "100000"), "%s",
                  cvm_clv_errmsg(bb));
    /* weights that sum to infinity: refused, and a fitted model stays fitted */
    ck_assert_int_eq(cvm_clv_set_params(m, p, 4), CVM_OK);
    ck_assert_int_eq(cvm_clv_fit(m, x, t, T, w, 2, NULL), CVM_E_INVALID);
    ck_assert_msg(strstr(cvm_clv_errmsg(m), "infinity"), "%s", cvm_clv_errmsg(m));
    ck_assert(info_of(m).fitted);
    /* sums that overflow are reported, not returned as inf */
    r.size = sizeof r;
    ck_assert_int_eq(cvm_clv_holdout(m, x, t, T, dur, big, 2, NULL, &r, err, sizeof err), CVM_E_RANGE);
    ck_assert_msg(strstr(err, "holdout"), "%s", err);
    ck_assert_int_eq(cvm_clv_tracking(m, birth, w, 3, times, 1, out, err, sizeof err), CVM_E_RANGE);
    ck_assert_msg(strstr(err, "tracking"), "%s", err);
    /* a CLV's periods are bounded (each costs an expectation per (x, T)) */
    vo.periods = 100001;
    ck_assert_int_eq(cvm_clv_value(m, NULL, &vo, x, t, T, dur, 1, out, err, sizeof err), CVM_E_INVALID);
    ck_assert_msg(strstr(err, "periods"), "%s", err);
    cvm_clv_free(m);
    cvm_clv_free(bb);
}
END_TEST

/* P(alive) of a heavy buyer (x past the split's limit) keeps its precision:
 * the reference is the log1p form in long double; score and p_alive agree. */
START_TEST(p_alive_many_purchases)
{
    double p[4] = { 0.243, 4.414, 0.793, 2.426 };
    double x[2] = { 1e7, 1e7 }, t[2] = { 38.9999, 30 }, T[2] = { 39, 39 }, pa[2], ps[2];
    cvm_clv *m = model(CVM_MODEL_BGNBD);
    int i;
    ck_assert_int_eq(cvm_clv_set_params(m, p, 4), CVM_OK);
    ck_assert_int_eq(cvm_clv_p_alive(m, x, t, T, 2, pa, NULL, 0), CVM_OK);
    ck_assert_int_eq(cvm_clv_score(m, NULL, 1, NULL, x, t, T, NULL, 2, ps, NULL, NULL, NULL, NULL, 0),
                     CVM_OK);
    for (i = 0; i < 2; i++) {
        long double D = logl(0.793L / (2.426L + 1e7L - 1)) +
                        (0.243L + 1e7L) * log1pl((39.0L - t[i]) / (4.414L + t[i]));
        double ref = (double)(1 / (1 + expl(D)));
        /* 1e-9 relative: the exponent is near 10 and carries ~1e-15 error */
        ck_assert_msg(fabs(pa[i] - ref) <= 1e-9 * fmax(ref, 1e-300) || (ref < 1e-300 && pa[i] < 1e-300),
                      "row %d: %.17g vs %.17g", i, pa[i], ref);
        ck_assert(pa[i] == ps[i]);
    }
    cvm_clv_free(m);
}
END_TEST

/* A likelihood that keeps rising toward an infinite parameter, steeply
 * enough in log-parameters that the optimiser reaches its box: the fit must
 * say so rather than report the box edge as an estimate. */
static double rising(void *ctx, const double *p, double *grad)
{
    (void)ctx;
    if (grad) {
        grad[0] = 1 / p[0];
    }
    return log(p[0]);
}

START_TEST(parameter_at_bound_is_not_converged)
{
    double start[1] = { 1 };
    char err[256];
    cvm__fitstate f;
    cvm__mle_problem prob;
    memset(&f, 0, sizeof f);
    memset(&prob, 0, sizeof prob);
    prob.np = 1;
    prob.loglik = rising;
    prob.weight = 1;
    prob.starts = start;
    prob.nstarts = 1;
    prob.max_iterations = 500;
    prob.tolerance = 1e-8;
    ck_assert_int_eq(cvm__fit_run(&f, &prob, "toy", err, sizeof err), CVM_E_NOT_CONVERGED);
    ck_assert_msg(strstr(err, "bound"), "%s", err);
    ck_assert(!f.fitted);
}
END_TEST

/* Donations (BG/BB patterns with weights) plus `extra` zero rows. */
static size_t load_donations(double *x, double *t, double *n, double *w, size_t cap)
{
    FILE *f = fopen(tu_data_path("donations.csv"), "r");
    char line[128];
    size_t k = 0;
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    while (k < cap && fscanf(f, "%lf,%lf,%lf,%lf", &x[k], &t[k], &n[k], &w[k]) == 4) {
        k++;
    }
    fclose(f);
    ck_assert_uint_eq(k, 22);
    return k;
}

static void fit_with_and_without(int32_t kind, double *x, double *t, double *T, double *w,
                                 size_t n)
{
    cvm_clv *a = model(kind), *b = model(kind);
    double pa[4], pb[4], alive, e, enew, one = 1, ll;
    int j;
    x[n] = x[n + 1] = t[n] = t[n + 1] = T[n] = T[n + 1] = 0;
    if (w != NULL) {
        w[n] = 30;
        w[n + 1] = 0;
    }
    ck_assert_msg(cvm_clv_fit(a, x, t, T, w, n, NULL) == CVM_OK, "%s", cvm_clv_errmsg(a));
    ck_assert_msg(cvm_clv_fit(b, x, t, T, w, n + 2, NULL) == CVM_OK, "%s", cvm_clv_errmsg(b));
    params_of(a, pa, NULL);
    params_of(b, pb, NULL);
    for (j = 0; j < 4; j++) {
        /* the same optimum; the stopping point moves within the tolerance */
        ck_assert_msg(fabs(pa[j] - pb[j]) <= 1e-5 * pa[j], "kind %d param %d: %.9g vs %.9g", kind,
                      j, pa[j], pb[j]);
    }
    ck_assert(fabs(info_of(a).loglik - info_of(b).loglik) < 1e-6);
    ck_assert_int_eq(cvm_clv_loglik(b, &x[n], &t[n], &T[n], 1, &ll, NULL, NULL, 0), CVM_OK);
    ck_assert_msg(fabs(ll) < 1e-12, "kind %d: log L = %g", kind, ll);
    ck_assert_int_eq(cvm_clv_p_alive(b, &x[n], &t[n], &T[n], 1, &alive, NULL, 0), CVM_OK);
    ck_assert_int_eq(cvm_clv_expected(b, 1, &x[n], &t[n], &T[n], 1, &e, NULL, 0), CVM_OK);
    ck_assert_int_eq(cvm_clv_expected_new(b, &one, 1, &enew, NULL, 0), CVM_OK);
    ck_assert(alive > 0 && alive <= 1 && e > 0);
    if (kind != CVM_MODEL_BGBB) { /* BG/BB counts from the next opportunity */
        ck_assert_msg(fabs(e - enew) <= 1e-12 * enew, "kind %d: %.15g vs %.15g", kind, e, enew);
    }
    cvm_clv_free(a);
    cvm_clv_free(b);
}

/* A customer whose first purchase is at the calibration end has T = 0 and
 * no information (likelihood 1): fits with and without such rows agree, and
 * predictions for them are those of a new customer. */
START_TEST(newcomers_with_T_zero)
{
    static double x[CDNOW_N + 2], t[CDNOW_N + 2], T[CDNOW_N + 2], w[CDNOW_N + 2];
    cbs *d;
    int32_t k;
    TU_SKIP_IF_NO_DATA();
    d = load_cbs();
    for (k = CVM_MODEL_BGNBD; k <= CVM_MODEL_MBGNBD; k++) {
        memcpy(x, d->x, sizeof d->x);
        memcpy(t, d->t_x, sizeof d->t_x);
        memcpy(T, d->T, sizeof d->T);
        fit_with_and_without(k, x, t, T, NULL, CDNOW_N);
    }
    fit_with_and_without(CVM_MODEL_BGBB, x, t, T, w, load_donations(x, t, T, w, CDNOW_N));
    free(d);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("clv");
    TCase *tc = tcase_create("clv");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, options_init_match_macros);
    tcase_add_test(tc, kinds_and_names);
    tcase_add_test(tc, cdnow_bgnbd);
    tcase_add_test(tc, cdnow_pareto);
    tcase_add_test(tc, cdnow_mbgnbd);
    tcase_add_test(tc, cdnow_holdout);
    tcase_add_test(tc, weights_equal_repeated_rows);
    tcase_add_test(tc, bad_rows_named);
    tcase_add_test(tc, bad_fit_options);
    tcase_add_test(tc, no_convergence_keeps_parameters);
    tcase_add_test(tc, set_params_checked);
    tcase_add_test(tc, published_customer);
    tcase_add_test(tc, prediction_errors_name_the_row);
    tcase_add_test(tc, score_matches_separate_calls);
    tcase_add_test(tc, tracking_curves);
    tcase_add_test(tc, penalizer_shrinks);
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, out_of_memory);
    tcase_add_test(tc, score_many_distinct_pairs);
    tcase_add_test(tc, limits_and_overflow);
    tcase_add_test(tc, p_alive_many_purchases);
    tcase_add_test(tc, parameter_at_bound_is_not_converged);
    tcase_add_test(tc, newcomers_with_T_zero);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
