/* Numerical robustness (issue 7): every model's likelihood and predictions
 * over extreme but valid inputs — parameters from 1e-6 to 1e6 in every
 * combination, up to 1e5 purchases, 1e4 periods, horizons to 1e4, money to
 * 1e6 — must give finite values in range, or a documented status with a
 * message that names the problem. Never NaN, never a crash. Fits on
 * extreme data end in CVM_OK or a stated failure, never NaN parameters.
 *
 * Failures are collected rather than stopping at the first, so that one run
 * lists every bad grid point (on stderr); each test then asserts none. */
#include "testutil.h"

#include "clv/clv_int.h" /* the likelihoods' sums with gradients, GG and sBG likelihoods */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- failure collection ------------------------------------------------ */

#define SHOW_FAILS 25

typedef struct sweep {
    const char *what;
    long evals; /* outputs checked */
    long fails;
    long statuses[16]; /* per cvm_status of the calls */
    char first[512];
} sweep;

static void sweep_init(sweep *s, const char *what)
{
    memset(s, 0, sizeof *s);
    s->what = what;
}

static void bad(sweep *s, const char *fmt, ...) CVM__PRINTF(2, 3);

static void bad(sweep *s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->fails < SHOW_FAILS) {
        fprintf(stderr, "robust %s: %s\n", s->what, msg);
    }
    if (s->fails == 0) {
        snprintf(s->first, sizeof s->first, "%s", msg);
    }
    s->fails++;
}

static void sweep_done(const sweep *s)
{
    int st;
    fprintf(stderr, "robust %s: %ld outputs checked, %ld failures; calls:", s->what, s->evals,
            s->fails);
    for (st = 0; st < 16; st++) {
        if (s->statuses[st] > 0) {
            fprintf(stderr, " %ld %s,", s->statuses[st], cvm_strerror((cvm_status)st));
        }
    }
    fprintf(stderr, "\n");
    ck_assert_msg(s->fails == 0, "%s: %ld failures, first: %s", s->what, s->fails, s->first);
}

static void count_status(sweep *s, cvm_status st)
{
    if ((int)st >= 0 && (int)st < 16) {
        s->statuses[st]++;
    }
}

/* A value: finite and in [lo, hi]. */
static int check_val(sweep *s, double v, double lo, double hi, const char *ctx, const char *what)
{
    s->evals++;
    if (!isfinite(v) || v < lo || v > hi) {
        bad(s, "%s: %s = %.17g not finite in [%g, %g]", ctx, what, v, lo, hi);
        return 0;
    }
    return 1;
}

/* A status that is not CVM_OK must be a documented one (`allowed`, a
 * bitmask of 1 << status) with a message naming the problem. */
static int check_status(sweep *s, cvm_status st, unsigned allowed, const char *err,
                        const char *ctx, const char *what)
{
    count_status(s, st);
    if (st == CVM_OK) {
        return 1;
    }
    if (!(allowed & (1u << st))) {
        bad(s, "%s: %s returned %s (%s)", ctx, what, cvm_strerror(st), err);
    } else if (err == NULL || err[0] == '\0') {
        bad(s, "%s: %s returned %s without a message", ctx, what, cvm_strerror(st));
    }
    return 0;
}

/* Relative closeness, for quantities computed two ways. */
static int close_to(double a, double b, double rel)
{
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) || fabs(a - b) < 1e-300;
}

static const double PVAL[5] = {1e-6, 1e-3, 1.0, 1e3, 1e6};
#define NPV 5

/* ==== transaction models ================================================== */

/* The customer rows of a sweep: x in {0, 1, 10, 1e3, 1e5}, T in
 * {0 (x = 0 only), 1e-3, 1, 100, 1e4}, t_x in {T/1000, T/2, T} (0 when x = 0).
 * BG/BB counts opportunities: T in {0, 1, 10, 100, 1e4} and t_x in {x, T/2, T}
 * with x <= t_x, and x up to 1e5 at t_x = T = 1e5. */
#define MAXROWS 96

typedef struct rows {
    double x[MAXROWS], t_x[MAXROWS], T[MAXROWS], m[MAXROWS];
    size_t n;
} rows;

static void add_row(rows *r, double x, double t_x, double T)
{
    size_t i;
    for (i = 0; i < r->n; i++) {
        if (r->x[i] == x && r->t_x[i] == t_x && r->T[i] == T) {
            return;
        }
    }
    ck_assert_uint_lt(r->n, MAXROWS);
    r->x[r->n] = x;
    r->t_x[r->n] = t_x;
    r->T[r->n] = T;
    /* money from 0 to 1e6 across the rows (m = 0 only where x = 0) */
    r->m[r->n] = x == 0 && r->n % 3 == 0 ? 0.0 : PVAL[r->n % NPV];
    r->n++;
}

static void make_rows(rows *r, int discrete)
{
    static const double xs[5] = {0, 1, 10, 1e3, 1e5};
    static const double Tc[4] = {1e-3, 1, 100, 1e4};
    static const double Td[4] = {1, 10, 100, 1e4};
    size_t i, j;
    r->n = 0;
    add_row(r, 0, 0, 0);
    for (j = 0; j < 4; j++) {
        double T = discrete ? Td[j] : Tc[j];
        for (i = 0; i < 5; i++) {
            double x = xs[i];
            if (x == 0) {
                add_row(r, 0, 0, T);
            } else if (discrete) {
                if (x <= T) {
                    add_row(r, x, x, T);
                    add_row(r, x, fmax(x, floor(T / 2)), T);
                    add_row(r, x, T, T);
                }
            } else {
                add_row(r, x, T / 1000, T);
                add_row(r, x, T / 2, T);
                add_row(r, x, T, T);
            }
        }
    }
    if (discrete) {
        /* the most opportunities a row may have, bought at the last: a
         * BG/BB row costs a step per opportunity after t_x, so rows with
         * t_x long before 1e5 have a test of their own (sweep_bgbb_long) */
        add_row(r, 1, 1e5, 1e5);
        add_row(r, 1e3, 1e5, 1e5);
        add_row(r, 1e5, 1e5, 1e5);
    }
}

#define NH 3
static const double HORIZON[NH] = {0, 1, 1e4};

/* E[X(t)] is checked along these times (whole numbers for BG/BB). */
#define NTN 7
static const double TNEW[NTN] = {0, 1e-3, 1, 10, 100, 1e3, 1e4};

#define NK 5
static const double KS[NK] = {0, 1, 10, 1e3, 1e5};

typedef struct tstate {
    sweep *s;
    const cvm__model_ops *ops;
    cvm_clv *m;
    const double *p;
    const rows *r;
    int discrete;
    char ctx[160];
    double pa[MAXROWS], e[NH][MAXROWS];
} tstate;

static const char *row_ctx(tstate *t, size_t i)
{
    static char buf[320];
    snprintf(buf, sizeof buf, "%s row (x=%g, t_x=%g, T=%g)", t->ctx, t->r->x[i], t->r->t_x[i],
             t->r->T[i]);
    return buf;
}

/* check_val and check_status on row i, naming the row only on failure */
static int tval(tstate *t, size_t i, double v, double lo, double hi, const char *what)
{
    if (isfinite(v) && v >= lo && v <= hi) {
        t->s->evals++;
        return 1;
    }
    return check_val(t->s, v, lo, hi, row_ctx(t, i), what);
}

static int tstatus(tstate *t, size_t i, cvm_status st, const char *err, const char *what)
{
    if (st == CVM_OK) {
        count_status(t->s, st);
        return 1;
    }
    return check_status(t->s, st, 0, err, row_ctx(t, i), what);
}

/* log-likelihood per row (public), and the fitting path's weighted sum
 * with its gradient (internal) against the rows' sum. The BG/NBD family
 * sums 64 rows or more from tables of the x-terms, so there every row is
 * given twice at weight 1/2 to take that path. */
static void sweep_loglik(tstate *t)
{
    const rows *r = t->r;
    const int twice = t->ops == &cvm__bgnbd_ops || t->ops == &cvm__mbgnbd_ops;
    double ll[MAXROWS], total, direct = 0, size = 0, grad[4];
    double x[2 * MAXROWS], t_x[2 * MAXROWS], T[2 * MAXROWS], w[2 * MAXROWS];
    char err[256];
    size_t i, k;
    int j, ok = 1;
    cvm__rows d;
    for (i = 0; i < r->n; i++) {
        cvm_status st = cvm_clv_loglik(t->m, &r->x[i], &r->t_x[i], &r->T[i], 1, &ll[i], NULL,
                                       err, sizeof err);
        if (!tstatus(t, i, st, err, "loglik")) {
            ok = 0;
            continue;
        }
        /* a probability (BG/BB; no purchase in T) is at most 1 */
        if (!tval(t, i, ll[i], -HUGE_VAL, t->discrete || r->x[i] == 0 ? 1e-12 : HUGE_VAL,
                  "loglik")) {
            ok = 0;
        }
        if (r->T[i] == 0 && fabs(ll[i]) > 1e-12) {
            bad(t->s, "%s: loglik %g of a customer observed for no time, want 0", row_ctx(t, i),
                ll[i]);
        }
        direct += ll[i];
        size += fabs(ll[i]);
        for (k = 0; k < 2; k++) {
            x[2 * i + k] = r->x[i];
            t_x[2 * i + k] = r->t_x[i];
            T[2 * i + k] = r->T[i];
            w[2 * i + k] = twice ? 0.5 : 1.0 - (double)k; /* weight 0: skipped */
        }
    }
    if (!ok) {
        return;
    }
    d.x = x;
    d.t_x = t_x;
    d.T = T;
    d.w = w;
    d.n = 2 * r->n;
    total = t->ops->loglik(t->p, &d, grad);
    t->s->evals += 5;
    /* Relative to the rows' own size, not the sum's. The tables' form adds
     * r log alpha once for all rows and subtracts r log(alpha + T) per row,
     * terms of 1.4e7 each at r = alpha = 1e6: 4e-11 relative there. */
    if (!isfinite(total) || fabs(total - direct) > 1e-9 * size + 1e-9) {
        bad(t->s, "%s: summed loglik %.17g, rows give %.17g", t->ctx, total, direct);
    }
    for (j = 0; j < 4; j++) {
        if (!isfinite(grad[j])) {
            bad(t->s, "%s: loglik gradient %d = %g", t->ctx, j, grad[j]);
        }
    }
}

static void sweep_p_alive(tstate *t)
{
    const rows *r = t->r;
    char err[256];
    size_t i;
    for (i = 0; i < r->n; i++) {
        cvm_status st = cvm_clv_p_alive(t->m, &r->x[i], &r->t_x[i], &r->T[i], 1, &t->pa[i], err,
                                        sizeof err);
        if (tstatus(t, i, st, err, "P(alive)")) {
            tval(t, i, t->pa[i], 0, 1, "P(alive)");
        } else {
            t->pa[i] = NAN;
        }
    }
}

/* Rows one at a time after a vector call failed: which ones, and why. */
static void expected_rows(tstate *t, int h)
{
    const rows *r = t->r;
    char err[256];
    size_t i;
    for (i = 0; i < r->n; i++) {
        cvm_status st = cvm_clv_expected(t->m, HORIZON[h], &r->x[i], &r->t_x[i], &r->T[i], 1,
                                         &t->e[h][i], err, sizeof err);
        if (!tstatus(t, i, st, err, "expected")) {
            t->e[h][i] = NAN;
        }
    }
}

/* E over the longest horizon and, when `zero`, over none, through
 * cvm_clv_expected (the one between comes from cvm_clv_score, which
 * cvm_clv_expected wraps). Each call costs a P(alive) per row, which for
 * Pareto/NBD is two integrals: the zero horizon is checked on a fifth of
 * the grid. */
static void sweep_expected(tstate *t, int zero)
{
    const rows *r = t->r;
    size_t i;
    int h;
    for (i = 0; !zero && i < r->n; i++) {
        t->e[0][i] = NAN; /* not checked */
    }
    for (h = zero ? 0 : NH - 1; h < NH; h += NH - 1) {
        char err[256];
        cvm_status st = cvm_clv_expected(t->m, HORIZON[h], r->x, r->t_x, r->T, r->n, t->e[h],
                                         err, sizeof err);
        count_status(t->s, st);
        if (st != CVM_OK) {
            expected_rows(t, h);
        }
    }
}

/* Everything at once through cvm_clv_score, at horizon HORIZON[1]: P(alive)
 * as p_alive() gave it, E between those over the shorter and the longer
 * horizon, value per purchase = monetary, and CLV over two periods between
 * 0 and the undiscounted value of the purchases over HORIZON[NH-1]. */
static void sweep_score(tstate *t)
{
    const rows *r = t->r;
    cvm_value_options vo = CVM_VALUE_OPTIONS_INIT;
    double pa[MAXROWS], v[MAXROWS], clv[MAXROWS], *e = t->e[1];
    char err[256], what[64];
    size_t i;
    int h;
    cvm_status st;
    vo.periods = 2;
    /* BG/BB: every period costs a step per opportunity */
    vo.period_length = t->discrete ? 1 : HORIZON[NH - 1] / 2;
    vo.discount_rate = 0.01;
    st = cvm_clv_score(t->m, NULL, HORIZON[1], &vo, r->x, r->t_x, r->T, r->m, r->n, pa, e, v,
                       clv, err, sizeof err);
    count_status(t->s, st);
    if (st != CVM_OK) {
        for (i = 0; i < r->n; i++) {
            st = cvm_clv_score(t->m, NULL, HORIZON[1], &vo, &r->x[i], &r->t_x[i], &r->T[i],
                               &r->m[i], 1, &pa[i], &e[i], &v[i], &clv[i], err, sizeof err);
            if (!tstatus(t, i, st, err, "score")) {
                pa[i] = v[i] = clv[i] = e[i] = NAN;
            }
        }
    }
    for (i = 0; i < r->n; i++) {
        const double elong = t->e[NH - 1][i];
        if (isnan(pa[i])) {
            continue; /* reported */
        }
        t->s->evals += 2;
        if (!isnan(t->pa[i]) && !close_to(pa[i], t->pa[i], 1e-12)) {
            bad(t->s, "%s: score P(alive) %.17g, p_alive() %.17g", row_ctx(t, i), pa[i],
                t->pa[i]);
        }
        if (v[i] != r->m[i]) {
            bad(t->s, "%s: value per purchase %g, monetary %g", row_ctx(t, i), v[i], r->m[i]);
        }
        if (tval(t, i, clv[i], 0, HUGE_VAL, "CLV") && !isnan(elong) &&
            clv[i] > r->m[i] * elong * (1 + 1e-9) + 1e-300) {
            bad(t->s, "%s: CLV %.17g above the undiscounted %.17g", row_ctx(t, i), clv[i],
                r->m[i] * elong);
        }
    }
    /* E[X(T, T+t)]: 0 over no time, nondecreasing in t, and for BG/BB at
     * most one transaction per opportunity */
    for (h = 0; h < NH; h++) {
        snprintf(what, sizeof what, "E[X(T, T+%g)]", HORIZON[h]);
        for (i = 0; i < r->n; i++) {
            const double eh = t->e[h][i];
            if (isnan(eh)) {
                continue; /* reported */
            }
            tval(t, i, eh, 0, t->discrete ? HORIZON[h] * (1 + 1e-12) : HUGE_VAL, what);
            if (h == 0 && eh != 0) {
                bad(t->s, "%s: E over no time = %g", row_ctx(t, i), eh);
            }
            if (h > 0 && !isnan(t->e[h - 1][i]) && eh < t->e[h - 1][i] * (1 - 1e-10)) {
                bad(t->s, "%s: E[X(T, T+%g)] = %.17g < E[X(T, T+%g)] = %.17g", row_ctx(t, i),
                    HORIZON[h], eh, HORIZON[h - 1], t->e[h - 1][i]);
            }
        }
    }
}

static void sweep_new(tstate *t)
{
    double e[NTN], pk[NK], tt[NTN];
    char err[256], c[256];
    int j, k, n = 0;
    for (j = 0; j < NTN; j++) {
        if (!t->discrete || TNEW[j] == floor(TNEW[j])) {
            tt[n++] = TNEW[j];
        }
    }
    for (j = 0; j < n; j++) {
        cvm_status st = cvm_clv_expected_new(t->m, &tt[j], 1, &e[j], err, sizeof err);
        t->s->evals++;
        if (st == CVM_OK && isfinite(e[j]) && e[j] >= 0 && (!t->discrete || e[j] <= tt[j]) &&
            (tt[j] > 0 || e[j] == 0) && (j == 0 || e[j] >= e[j - 1] * (1 - 1e-10))) {
            continue;
        }
        snprintf(c, sizeof c, "%s t=%g", t->ctx, tt[j]);
        if (!check_status(t->s, st, 0, err, c, "E[X(t)]")) {
            e[j] = NAN;
            continue;
        }
        check_val(t->s, e[j], 0, t->discrete ? tt[j] : HUGE_VAL, c, "E[X(t)]");
        if (tt[j] == 0 && e[j] != 0) {
            bad(t->s, "%s: E[X(0)] = %g", c, e[j]);
        }
        if (j > 0 && e[j] < e[j - 1] * (1 - 1e-10)) {
            bad(t->s, "%s: E[X(%g)] = %.17g < E[X(%g)] = %.17g", c, tt[j], e[j], tt[j - 1],
                e[j - 1]);
        }
    }
    /* P(X(t) = k) at t in {0, 1, 100, 1e4}, k in KS: probabilities of
     * distinct events, so in [0, 1] and summing to at most 1 */
    for (j = 0; j < n; j++) {
        double sum = 0;
        if (tt[j] != 0 && tt[j] != 1 && tt[j] != 100 && tt[j] != 1e4) {
            continue;
        }
        for (k = 0; k < NK; k++) {
            cvm_status st = cvm_clv_prob_count(t->m, &tt[j], &KS[k], 1, &pk[k], err, sizeof err);
            t->s->evals++;
            if (st == CVM_OK && pk[k] >= 0 && pk[k] <= 1 &&
                (tt[j] > 0 || pk[k] == (k == 0 ? 1.0 : 0.0))) {
                sum += pk[k];
                continue;
            }
            snprintf(c, sizeof c, "%s t=%g k=%g", t->ctx, tt[j], KS[k]);
            if (check_status(t->s, st, 0, err, c, "P(X(t)=k)") &&
                check_val(t->s, pk[k], 0, 1, c, "P(X(t)=k)")) {
                bad(t->s, "%s: P(X(0) = %g) = %g", c, KS[k], pk[k]);
            }
        }
        if (sum > 1 + 1e-9) {
            bad(t->s, "%s t=%g: P(X(t) = k) over k in {0, 1, 10, 1e3, 1e5} sums to %.17g",
                t->ctx, tt[j], sum);
        }
    }
}

/* Every combination of `nv` values for the four parameters, on rows `r`;
 * `unconditional` adds E[X(t)] and P(X(t) = k). */
static void sweep_kind(int32_t kind, sweep *s, const rows *r, const double *vals, int nv,
                       int unconditional)
{
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    tstate t;
    int i0, i1, i2, i3;
    o.kind = kind;
    memset(&t, 0, sizeof t);
    ck_assert_int_eq(cvm_clv_new(&t.m, &o), CVM_OK);
    t.s = s;
    t.ops = cvm__model_ops_of(kind);
    t.discrete = t.ops->discrete;
    t.r = r;
    for (i0 = 0; i0 < nv; i0++)
        for (i1 = 0; i1 < nv; i1++)
            for (i2 = 0; i2 < nv; i2++)
                for (i3 = 0; i3 < nv; i3++) {
                    double p[4] = {vals[i0], vals[i1], vals[i2], vals[i3]};
                    ck_assert_int_eq(cvm_clv_set_params(t.m, p, 4), CVM_OK);
                    t.p = p;
                    snprintf(t.ctx, sizeof t.ctx, "%s (%g, %g, %g, %g)", t.ops->name, p[0], p[1],
                             p[2], p[3]);
                    sweep_loglik(&t);
                    sweep_p_alive(&t);
                    sweep_expected(&t, i0 == i3);
                    sweep_score(&t);
                    if (unconditional) {
                        sweep_new(&t);
                    }
                }
    cvm_clv_free(t.m);
}

static void sweep_grid(int32_t kind, const char *what)
{
    sweep s;
    rows r;
    sweep_init(&s, what);
    make_rows(&r, kind == CVM_MODEL_BGBB);
    sweep_kind(kind, &s, &r, PVAL, NPV, 1);
    sweep_done(&s);
}

START_TEST(sweep_bgnbd)
{
    sweep_grid(CVM_MODEL_BGNBD, "BG/NBD");
}
END_TEST

START_TEST(sweep_mbgnbd)
{
    sweep_grid(CVM_MODEL_MBGNBD, "MBG/NBD");
}
END_TEST

START_TEST(sweep_pareto)
{
    sweep_grid(CVM_MODEL_PARETO, "Pareto/NBD");
}
END_TEST

START_TEST(sweep_bgbb)
{
    sweep_grid(CVM_MODEL_BGBB, "BG/BB");
}
END_TEST

/* BG/BB rows with the most opportunities (1e5) long before their last
 * transaction, where each row costs a step per opportunity: on a coarser
 * grid of parameters. */
START_TEST(sweep_bgbb_long)
{
    static const double vals[3] = {1e-6, 1.0, 1e6};
    sweep s;
    rows r;
    sweep_init(&s, "BG/BB, 1e5 opportunities");
    r.n = 0;
    add_row(&r, 0, 0, 1e5);
    add_row(&r, 1, 1, 1e5);
    add_row(&r, 1e3, 5e4, 1e5);
    add_row(&r, 1e4, 99999, 1e5);
    sweep_kind(CVM_MODEL_BGBB, &s, &r, vals, 3, 0);
    sweep_done(&s);
}
END_TEST

/* ==== Gamma-Gamma ======================================================== */

/* E[M | x, m] is infinite, not just large, when p x + q <= 1 (x = 0: q <=
 * 1): the only grid points where CVM_E_RANGE is the right answer. */
static int gg_mean_infinite(const double *p, double x)
{
    return x == 0 ? !(p[1] > 1) : !(p[0] * x + (p[1] - 1) > 0);
}

#define NGX 5
#define NGM 6
static const double GX[NGX] = {0, 1, 10, 1e3, 1e5};
static const double GM[NGM] = {0, 1e-6, 1e-3, 1, 1e3, 1e6};

START_TEST(sweep_spend)
{
    sweep s;
    cvm_spend *sp;
    int i0, i1, i2, a, b;
    char err[256], c[256];
    sweep_init(&s, "Gamma-Gamma");
    ck_assert_int_eq(cvm_spend_new(&sp, NULL), CVM_OK);
    for (i0 = 0; i0 < NPV; i0++)
        for (i1 = 0; i1 < NPV; i1++)
            for (i2 = 0; i2 < NPV; i2++) {
                double p[3] = {PVAL[i0], PVAL[i1], PVAL[i2]};
                ck_assert_int_eq(cvm_spend_set_params(sp, p, 3), CVM_OK);
                for (a = 0; a < NGX; a++) {
                    for (b = 0; b < NGM; b++) {
                        double x = GX[a], m = GM[b], e, g[3], ll, w = 1, lo, hi, pop;
                        cvm_status st;
                        if (m == 0 && x > 0) {
                            continue; /* amounts are > 0 */
                        }
                        snprintf(c, sizeof c, "gg (%g, %g, %g) x=%g m=%g", p[0], p[1], p[2], x, m);
                        st = cvm_spend_expected(sp, &x, &m, 1, &e, err, sizeof err);
                        if (gg_mean_infinite(p, x)) {
                            s.evals++;
                            if (st != CVM_E_RANGE || strstr(err, "row 1") == NULL) {
                                bad(&s, "%s: infinite mean gave %s (%s)", c, cvm_strerror(st), err);
                            }
                            count_status(&s, st);
                            continue;
                        }
                        if (!check_status(&s, st, 0, err, c, "E[M|x,m]")) {
                            continue;
                        }
                        /* a weighted average of m and the population mean
                         * (infinite when q <= 1; x = 0: that mean) */
                        pop = p[1] > 1 ? p[0] * p[2] / (p[1] - 1) : HUGE_VAL;
                        lo = x == 0 ? pop : fmin(m, pop);
                        hi = x == 0 ? pop : fmax(m, pop);
                        check_val(&s, e, lo * (1 - 1e-12), hi * (1 + 1e-12), c, "E[M|x,m]");
                        if (x == 0 || m == 0) {
                            continue;
                        }
                        ll = cvm__gg_loglik(p, &x, &m, &w, 1, g);
                        check_val(&s, ll, -HUGE_VAL, HUGE_VAL, c, "log f(m | x)");
                        check_val(&s, g[0], -HUGE_VAL, HUGE_VAL, c, "d/dp log f");
                        check_val(&s, g[1], -HUGE_VAL, HUGE_VAL, c, "d/dq log f");
                        check_val(&s, g[2], -HUGE_VAL, HUGE_VAL, c, "d/dv log f");
                    }
                }
            }
    cvm_spend_free(sp);
    sweep_done(&s);
}
END_TEST

/* CLV with the spend model: every transaction kind at one ordinary point,
 * Gamma-Gamma over the grid. */
START_TEST(sweep_value_with_spend)
{
    static const double tp[4][4] = {
        {0.243, 4.414, 0.793, 2.426}, {0.55, 10.58, 0.61, 11.67}, {0.525, 6.183, 0.891, 1.614},
        {1.204, 0.750, 0.657, 2.783},
    };
    cvm_value_options vo = CVM_VALUE_OPTIONS_INIT;
    sweep s;
    cvm_spend *sp;
    int kind, i0, i1, i2;
    char err[256], c[256];
    sweep_init(&s, "CLV with Gamma-Gamma");
    ck_assert_int_eq(cvm_spend_new(&sp, NULL), CVM_OK);
    vo.periods = 3;
    for (kind = 0; kind < 4; kind++) {
        cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
        cvm_clv *m;
        rows r;
        o.kind = kind;
        ck_assert_int_eq(cvm_clv_new(&m, &o), CVM_OK);
        ck_assert_int_eq(cvm_clv_set_params(m, tp[kind], 4), CVM_OK);
        make_rows(&r, kind == CVM_MODEL_BGBB);
        for (i0 = 0; i0 < NPV; i0++)
            for (i1 = 0; i1 < NPV; i1++)
                for (i2 = 0; i2 < NPV; i2++) {
                    double p[3] = {PVAL[i0], PVAL[i1], PVAL[i2]}, clv[MAXROWS];
                    size_t i;
                    cvm_status all, st;
                    ck_assert_int_eq(cvm_spend_set_params(sp, p, 3), CVM_OK);
                    all = cvm_clv_value(m, sp, &vo, r.x, r.t_x, r.T, r.m, r.n, clv, err,
                                        sizeof err);
                    count_status(&s, all);
                    for (i = 0; i < r.n; i++) {
                        /* after a failure, each row on its own */
                        st = all == CVM_OK ? CVM_OK
                                           : cvm_clv_value(m, sp, &vo, &r.x[i], &r.t_x[i], &r.T[i],
                                                           &r.m[i], 1, &clv[i], err, sizeof err);
                        snprintf(c, sizeof c, "%s with gg (%g, %g, %g) row (x=%g, t_x=%g, T=%g, "
                                 "m=%g)", cvm_model_name(kind), p[0], p[1], p[2], r.x[i],
                                 r.t_x[i], r.T[i], r.m[i]);
                        if (gg_mean_infinite(p, r.x[i])) {
                            s.evals++;
                            count_status(&s, st);
                            if (st != CVM_E_RANGE || strstr(err, "spend") == NULL) {
                                bad(&s, "%s: infinite spend gave %s (%s)", c, cvm_strerror(st),
                                    err);
                            }
                        } else if (check_status(&s, st, 0, err, c, "CLV")) {
                            check_val(&s, clv[i], 0, HUGE_VAL, c, "CLV");
                        }
                    }
                }
        cvm_clv_free(m);
    }
    cvm_spend_free(sp);
    sweep_done(&s);
}
END_TEST

/* ==== sBG ================================================================ */

START_TEST(sweep_retention)
{
    static const double ts[7] = {0, 1, 10, 100, 1e3, 1e4, 1e6};
    static const double ds[7] = {0, 1e-6, 1e-3, 0.1, 1, 1e3, 1e6};
    sweep s;
    cvm_retention *rt;
    double *alive;
    size_t n = 10001, t;
    int i0, i1, j;
    char err[256], c[256];
    sweep_init(&s, "sBG");
    ck_assert_int_eq(cvm_retention_new(&rt, NULL), CVM_OK);
    /* a cohort of 1e6 followed for 1e4 periods, half lost geometrically */
    alive = malloc(n * sizeof *alive);
    ck_assert_ptr_nonnull(alive);
    for (t = 0; t < n; t++) {
        alive[t] = floor(5e5 + 5e5 * pow(0.999, (double)t));
    }
    for (i0 = 0; i0 < NPV; i0++)
        for (i1 = 0; i1 < NPV; i1++) {
            double p[2] = {PVAL[i0], PVAL[i1]}, sv[7], rr[6], del[7], g[2], ll;
            cvm_status st;
            ck_assert_int_eq(cvm_retention_set_params(rt, p, 2), CVM_OK);
            snprintf(c, sizeof c, "sbg (%g, %g)", p[0], p[1]);
            st = cvm_retention_survival(rt, ts, 7, sv, err, sizeof err);
            if (check_status(&s, st, 0, err, c, "S(t)")) {
                for (j = 0; j < 7; j++) {
                    check_val(&s, sv[j], 0, j == 0 ? 1 : sv[j - 1], c, "S(t), nonincreasing");
                }
                if (sv[0] != 1) {
                    bad(&s, "%s: S(0) = %g", c, sv[0]);
                }
            }
            st = cvm_retention_rate(rt, ts + 1, 6, rr, err, sizeof err);
            if (check_status(&s, st, 0, err, c, "r(t)")) {
                for (j = 0; j < 6; j++) {
                    check_val(&s, rr[j], 0, 1, c, "r(t)");
                }
            }
            for (j = 0; j < 7; j++) {
                char cd[300];
                snprintf(cd, sizeof cd, "%s d=%g", c, ds[j]);
                st = cvm_retention_lifetime(rt, ds[j], &del[j], err, sizeof err);
                if (ds[j] == 0 && !(p[0] > 1)) {
                    /* documented: the mean lifetime is infinite */
                    s.evals++;
                    count_status(&s, st);
                    if (st != CVM_E_RANGE || strstr(err, "alpha") == NULL) {
                        bad(&s, "%s: infinite lifetime gave %s (%s)", cd, cvm_strerror(st), err);
                    }
                    del[j] = HUGE_VAL;
                    continue;
                }
                if (!check_status(&s, st, 0, err, cd, "lifetime")) {
                    del[j] = NAN;
                    continue;
                }
                /* at least S(0) = 1, at most sum (1+d)^-t, and falling in d */
                check_val(&s, del[j], 1, ds[j] > 0 ? (1 + ds[j]) / ds[j] * (1 + 1e-12) : HUGE_VAL,
                          cd, "lifetime");
                if (j > 0 && del[j] > del[j - 1] * (1 + 1e-9)) {
                    bad(&s, "%s: lifetime %.17g above %.17g at d = %g", cd, del[j], del[j - 1],
                        ds[j - 1]);
                }
            }
            ll = cvm__sbg_loglik(p, alive, n, g);
            check_val(&s, ll, -HUGE_VAL, 0, c, "loglik of the cohort");
            check_val(&s, g[0], -HUGE_VAL, HUGE_VAL, c, "d/dalpha loglik");
            check_val(&s, g[1], -HUGE_VAL, HUGE_VAL, c, "d/dbeta loglik");
        }
    free(alive);
    cvm_retention_free(rt);
    sweep_done(&s);
}
END_TEST

/* ==== fits on extreme data ================================================ */

/* A fit ends in CVM_OK with finite parameters, likelihood and predictions,
 * or in a stated failure (`allowed`) with a message; parameters readable
 * afterwards are never NaN. */
static void check_fit_outcome(sweep *s, const char *c, cvm_status st, unsigned allowed,
                              const char *msg, const double *p, cvm_status pst, size_t np,
                              const cvm_fit_info *info)
{
    size_t j;
    s->evals++;
    count_status(s, st);
    fprintf(stderr, "robust fit: %s: %s%s%s", c, cvm_strerror(st), st ? ": " : "",
            st ? msg : "");
    for (j = 0; st == CVM_OK && j < np; j++) {
        fprintf(stderr, "%s%.6g%s", j ? ", " : " (", p[j], j + 1 == np ? ")" : "");
    }
    fprintf(stderr, "\n");
    if (st != CVM_OK && (!(allowed & (1u << st)) || msg[0] == '\0')) {
        bad(s, "%s: fit returned %s (%s)", c, cvm_strerror(st), msg);
    }
    if (st == CVM_OK && (pst != CVM_OK || !info->fitted || !isfinite(info->loglik))) {
        bad(s, "%s: fitted, but params %s, loglik %g", c, cvm_strerror(pst), info->loglik);
    }
    for (j = 0; pst == CVM_OK && j < np; j++) {
        if (!(p[j] > 0) || !isfinite(p[j])) {
            bad(s, "%s: parameter %zu = %g after %s", c, j + 1, p[j], cvm_strerror(st));
        }
    }
}

typedef struct tdata {
    const char *name;
    size_t n;
    double x[4], t_x[4], T[4], w[4];
    unsigned allowed; /* besides CVM_OK */
} tdata;

#define NOTCONV (1u << CVM_E_NOT_CONVERGED)
#define INVALID (1u << CVM_E_INVALID)

static const tdata CONT_DATA[] = {
    {"one heavy buyer among 100 who never came back", 2, {0, 1e5}, {0, 9999}, {1e4, 1e4},
     {100, 1}, NOTCONV},
    {"a single customer with 1e5 purchases", 1, {1e5}, {5e3}, {1e4}, {1}, NOTCONV},
    {"everyone x = 0 (documented as not identifiable)", 2, {0, 0}, {0, 0}, {1e4, 1},
     {1, 1}, INVALID},
    {"times of 1e-3 periods", 3, {1, 3, 0}, {1e-4, 9e-4, 0}, {1e-3, 1e-3, 1e-3}, {1, 1, 1},
     NOTCONV},
    {"10^4 periods", 4, {1, 2, 0, 10}, {1, 9000, 0, 9999}, {1e4, 1e4, 1e4, 1e4}, {1, 1, 1, 1},
     NOTCONV},
    {"everyone bought last at T", 2, {1, 1e3}, {1e4, 1e4}, {1e4, 1e4}, {1e3, 1}, NOTCONV},
    {"huge weights", 3, {0, 1, 7}, {0, 30, 35}, {40, 40, 40}, {1e12, 3e11, 1e10}, NOTCONV},
};

static const tdata BGBB_DATA[] = {
    {"1e4 opportunities, buyers at every one", 2, {1e4, 0}, {1e4, 0}, {1e4, 1e4}, {10, 10},
     NOTCONV},
    {"a single customer", 1, {1}, {1}, {1}, {1}, NOTCONV},
    {"everyone x = 0 (documented as not identifiable)", 1, {0}, {0}, {1e4}, {5}, INVALID},
    {"1e4 opportunities, mixed", 3, {0, 5000, 1}, {0, 9999, 1}, {1e4, 1e4, 1e4}, {50, 1, 20},
     NOTCONV},
    {"1e5 opportunities bought at the last", 2, {1e5, 1}, {1e5, 1e5}, {1e5, 1e5}, {1, 1},
     NOTCONV},
};

static void fit_kind(sweep *s, int32_t kind, const tdata *d)
{
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    cvm_fit_info info;
    cvm_clv *m;
    double p[4], pa[4], e[4];
    char c[300], err[256];
    cvm_status st, pst;
    o.kind = kind;
    ck_assert_int_eq(cvm_clv_new(&m, &o), CVM_OK);
    snprintf(c, sizeof c, "%s fit on %s", cvm_model_name(kind), d->name);
    st = cvm_clv_fit(m, d->x, d->t_x, d->T, d->w, d->n, NULL);
    pst = cvm_clv_params(m, p, NULL, 4);
    info.size = sizeof info;
    ck_assert_int_eq(cvm_clv_info(m, &info), CVM_OK);
    check_fit_outcome(s, c, st, d->allowed, cvm_clv_errmsg(m), p, pst, 4, &info);
    if (st == CVM_OK) {
        size_t i;
        st = cvm_clv_score(m, NULL, 1, NULL, d->x, d->t_x, d->T, NULL, d->n, pa, e, NULL, NULL,
                           err, sizeof err);
        if (check_status(s, st, 0, err, c, "score of the fitted rows")) {
            for (i = 0; i < d->n; i++) {
                check_val(s, pa[i], 0, 1, c, "P(alive)");
                check_val(s, e[i], 0, HUGE_VAL, c, "E[X(T, T+1)]");
            }
        }
    }
    cvm_clv_free(m);
}

START_TEST(fits_transaction)
{
    sweep s;
    size_t k;
    int32_t kind;
    sweep_init(&s, "transaction fits");
    for (kind = 0; kind < 4; kind++) {
        const tdata *d = kind == CVM_MODEL_BGBB ? BGBB_DATA : CONT_DATA;
        size_t n = kind == CVM_MODEL_BGBB ? sizeof BGBB_DATA / sizeof BGBB_DATA[0]
                                          : sizeof CONT_DATA / sizeof CONT_DATA[0];
        for (k = 0; k < n; k++) {
            fit_kind(&s, kind, &d[k]);
        }
    }
    sweep_done(&s);
}
END_TEST

START_TEST(fits_spend_and_retention)
{
    static const struct {
        const char *name;
        size_t n;
        double x[4], m[4];
        unsigned allowed;
    } gg[] = {
        {"one customer, 1e5 purchases of 1e6", 1, {1e5}, {1e6}, NOTCONV},
        {"all means equal", 3, {1, 5, 10}, {7, 7, 7}, NOTCONV},
        {"means from 1e-6 to 1e6", 4, {1, 10, 1e3, 1e5}, {1e-6, 1e6, 1, 1e3}, NOTCONV},
        {"no repeat purchase (documented as not identifiable)", 2, {0, 0}, {0, 5}, INVALID},
        {"tiny amounts", 3, {1, 2, 3}, {1e-6, 2e-6, 1.5e-6}, NOTCONV},
    };
    sweep s;
    size_t k, j;
    char c[300], err[256];
    sweep_init(&s, "spend and retention fits");
    for (k = 0; k < sizeof gg / sizeof gg[0]; k++) {
        cvm_spend *sp;
        cvm_fit_info info;
        double p[3], e[4];
        cvm_status st, pst;
        ck_assert_int_eq(cvm_spend_new(&sp, NULL), CVM_OK);
        snprintf(c, sizeof c, "gammagamma fit on %s", gg[k].name);
        st = cvm_spend_fit(sp, gg[k].x, gg[k].m, NULL, gg[k].n, NULL);
        pst = cvm_spend_params(sp, p, NULL, 3);
        info.size = sizeof info;
        ck_assert_int_eq(cvm_spend_info(sp, &info), CVM_OK);
        check_fit_outcome(&s, c, st, gg[k].allowed, cvm_spend_errmsg(sp), p, pst, 3, &info);
        if (st == CVM_OK) {
            st = cvm_spend_expected(sp, gg[k].x, gg[k].m, gg[k].n, e, err, sizeof err);
            for (j = 0; j < gg[k].n && check_status(&s, st, 1u << CVM_E_RANGE, err, c, "E[M]");
                 j++) {
                check_val(&s, e[j], 0, HUGE_VAL, c, "E[M|x,m]");
            }
        }
        cvm_spend_free(sp);
    }
    {
        static const char *const names[4] = {"no churn over 1e4 periods",
                                              "everyone gone after one period",
                                              "1e4 periods of slow decline", "1e15 customers"};
        size_t n = 10001, t;
        double *alive = malloc(n * sizeof *alive);
        ck_assert_ptr_nonnull(alive);
        for (k = 0; k < 4; k++) {
            cvm_retention *rt;
            cvm_fit_info info;
            double p[2], sv[3], ts[3] = {1, 100, 1e4}, del;
            size_t len = k == 1 ? 3 : k == 3 ? 8 : n;
            cvm_status st, pst;
            for (t = 0; t < len; t++) {
                alive[t] = k == 0 ? 1000 : k == 1 ? (t == 0 ? 1000 : 0)
                         : k == 2 ? floor(1e6 * pow(1 + (double)t, -0.3))
                                  : floor(1e15 * pow(0.8, (double)t));
            }
            ck_assert_int_eq(cvm_retention_new(&rt, NULL), CVM_OK);
            snprintf(c, sizeof c, "sbg fit on %s", names[k]);
            st = cvm_retention_fit(rt, alive, len, NULL);
            pst = cvm_retention_params(rt, p, NULL, 2);
            info.size = sizeof info;
            ck_assert_int_eq(cvm_retention_info(rt, &info), CVM_OK);
            check_fit_outcome(&s, c, st, NOTCONV, cvm_retention_errmsg(rt), p, pst, 2, &info);
            if (st == CVM_OK) {
                st = cvm_retention_survival(rt, ts, 3, sv, err, sizeof err);
                for (j = 0; j < 3 && check_status(&s, st, 0, err, c, "S(t)"); j++) {
                    check_val(&s, sv[j], 0, 1, c, "S(t)");
                }
                st = cvm_retention_lifetime(rt, 0.1, &del, err, sizeof err);
                if (check_status(&s, st, 0, err, c, "lifetime")) {
                    check_val(&s, del, 1, 11, c, "lifetime at d = 0.1");
                }
            }
            cvm_retention_free(rt);
        }
        free(alive);
    }
    sweep_done(&s);
}
END_TEST

/* One case per model, so that CK_RUN_CASE=pareto runs one sweep. */
static void add_case(Suite *s, const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

static Suite *make_suite(void)
{
    Suite *s = suite_create("robust");
    add_case(s, "bgnbd", sweep_bgnbd);
    add_case(s, "mbgnbd", sweep_mbgnbd);
    add_case(s, "pareto", sweep_pareto);
    add_case(s, "bgbb", sweep_bgbb);
    add_case(s, "bgbb_long", sweep_bgbb_long);
    add_case(s, "spend", sweep_spend);
    add_case(s, "value", sweep_value_with_spend);
    add_case(s, "retention", sweep_retention);
    add_case(s, "fits", fits_transaction);
    add_case(s, "fits_other", fits_spend_and_retention);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
