/* The Gauss hypergeometric function and the Pareto/NBD model table, against
 * closed forms, published CDNOW values, finite differences and a brute-force
 * long double quadrature of the likelihood's integral form. */
#include "testutil.h"

#include "clv/clv_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cvm__model_ops *ops = &cvm__pareto_ops;

/* ---- helpers ------------------------------------------------------------ */

/* 1 when long double arithmetic carries more than double's 53 bits. Under
 * valgrind (.ci/valgrind) x87 long double is computed in double precision:
 * the quadrature is then no reference at 1e-10 on extreme parameters. */
static int extended_precision(void)
{
    volatile long double one = 1.0L, tiny = 0x1p-60L;
    return one + tiny != one;
}

static double relerr(double a, double b)
{
    return fabs(a - b) / fmax(fabs(b), DBL_MIN);
}

/* Gauss-Legendre nodes and weights on [-1, 1] in long double (Newton on
 * P_n from the usual cosine guesses). */
#define GL_N 30
static long double gl_x[GL_N], gl_w[GL_N];
static int gl_ready;

static void gl_init(void)
{
    int i, j, it;
    if (gl_ready) {
        return;
    }
    for (i = 0; i < GL_N; i++) {
        long double x = cosl(3.14159265358979323846264338327950288L * (i + 0.75L) / (GL_N + 0.5L));
        long double dp = 1.0L;
        for (it = 0; it < 100; it++) {
            long double p0 = 1.0L, p1 = x, dx;
            for (j = 2; j <= GL_N; j++) {
                long double p2 = ((2 * j - 1) * x * p1 - (j - 1) * p0) / j;
                p0 = p1;
                p1 = p2;
            }
            dp = GL_N * (x * p1 - p0) / (x * x - 1.0L);
            dx = p1 / dp;
            x -= dx;
            if (fabsl(dx) < 1e-19L) {
                break;
            }
        }
        {
            long double p0 = 1.0L, p1 = x;
            for (j = 2; j <= GL_N; j++) {
                long double p2 = ((2 * j - 1) * x * p1 - (j - 1) * p0) / j;
                p0 = p1;
                p1 = p2;
            }
            dp = GL_N * (x * p1 - p0) / (x * x - 1.0L);
        }
        gl_x[i] = x;
        gl_w[i] = 2.0L / ((1.0L - x * x) * dp * dp);
    }
    gl_ready = 1;
}

/* Online log-sum-exp. */
typedef struct lse {
    long double m, s;
} lse;

static void lse_add(lse *a, long double v)
{
    if (v == -INFINITY) {
        return;
    }
    if (a->s == 0.0L) {
        a->m = v;
        a->s = 1.0L;
    } else if (v > a->m) {
        a->s = a->s * expl(a->m - v) + 1.0L;
        a->m = v;
    } else {
        a->s += expl(v - a->m);
    }
}

static long double lse_log(const lse *a)
{
    return a->s > 0 ? a->m + logl(a->s) : -INFINITY;
}

typedef long double (*logfn)(const void *ctx, long double x);

static void gl_piece(logfn f, const void *ctx, long double a, long double b, lse *acc)
{
    const long double h = 0.5L * (b - a), mid = 0.5L * (a + b);
    int i;
    for (i = 0; i < GL_N; i++) {
        lse_add(acc, f(ctx, mid + h * gl_x[i]) + logl(h * gl_w[i]));
    }
}

/* log of the integral of e^f over [a, b]: `nu` equal pieces, the first one
 * graded geometrically (ratio 2, 130 levels) towards a, where the integrands
 * here have their steep features; 30-point Gauss-Legendre on each. */
static long double ld_log_integral(logfn f, const void *ctx, long double a, long double b, int nu)
{
    lse acc = {0.0L, 0.0L};
    const long double w = (b - a) / nu;
    long double hi = w;
    int i;
    gl_init();
    if (!(b > a)) {
        return -INFINITY;
    }
    for (i = 1; i < nu; i++) {
        gl_piece(f, ctx, a + i * w, a + (i + 1) * w, &acc);
    }
    for (i = 0; i < 130; i++) {
        gl_piece(f, ctx, a + 0.5L * hi, a + hi, &acc);
        hi *= 0.5L;
    }
    gl_piece(f, ctx, a, a + hi, &acc);
    return lse_log(&acc);
}

/* ---- brute-force Pareto/NBD --------------------------------------------- */

typedef struct ref {
    long double r, al, s, be, x;
} ref;

/* (alpha+tau)^-(r+x) (beta+tau)^-(s+1): the density of dying at tau with x
 * purchases before, up to constants. */
static long double death_logf(const void *ctx, long double tau)
{
    const ref *c = ctx;
    return -(c->r + c->x) * logl(c->al + tau) - (c->s + 1.0L) * logl(c->be + tau);
}

/* log L and P(alive) from the integral form (Fader, Hardie & Lee 2005):
 * L = Gamma(r+x)/Gamma(r) alpha^r beta^s [(alpha+T)^-(r+x) (beta+T)^-s
 *     + s int_{t_x}^T (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau]. */
static long double ref_loglik(const double *p, double x, double t_x, double T, long double *pa)
{
    ref c;
    long double alive, dead, mix;
    c.r = p[0];
    c.al = p[1];
    c.s = p[2];
    c.be = p[3];
    c.x = x;
    alive = -(c.r + c.x) * logl(c.al + T) - c.s * logl(c.be + T);
    dead = logl(c.s) + ld_log_integral(death_logf, &c, t_x, T, 8);
    mix = dead == -INFINITY ? alive
                            : (alive > dead ? alive + log1pl(expl(dead - alive))
                                            : dead + log1pl(expl(alive - dead)));
    if (pa != NULL) {
        *pa = expl(alive - mix);
    }
    return lgammal(c.r + c.x) - lgammal(c.r) + c.r * logl(c.al) + c.s * logl(c.be) + mix;
}

/* tau^k (alpha+tau)^-(r+k) (beta+tau)^-(s+1) */
static long double count_logf(const void *ctx, long double tau)
{
    const ref *c = ctx;
    return c->x * logl(tau) - (c->r + c->x) * logl(c->al + tau) -
           (c->s + 1.0L) * logl(c->be + tau);
}

/* P(X(t) = k) from its definition: alive at t with k Poisson purchases, or
 * dead at tau < t after k purchases in (0, tau). */
static long double ref_prob_count(const double *p, double t, double k)
{
    ref c;
    long double lc, t1, t2;
    c.r = p[0];
    c.al = p[1];
    c.s = p[2];
    c.be = p[3];
    c.x = k;
    lc = lgammal(c.r + c.x) - lgammal(c.r) - lgammal(c.x + 1.0L);
    t1 = lc + c.r * logl(c.al / (c.al + t)) + c.s * logl(c.be / (c.be + t)) +
         (k > 0 ? c.x * logl(t / (c.al + t)) : 0.0L);
    t2 = lc + c.r * logl(c.al) + c.s * logl(c.be) + logl(c.s) +
         ld_log_integral(count_logf, &c, 0.0L, t, 64);
    return expl(t1) + expl(t2);
}

/* ---- CDNOW -------------------------------------------------------------- */

typedef struct cdnow {
    double *x, *t_x, *T, *w;
    size_t n;
} cdnow;

static int load_cdnow(cdnow *d)
{
    FILE *f = fopen(tu_data_path("btyd_cdnow_cbs.csv"), "r");
    char line[512];
    size_t cap = 4096;
    if (f == NULL) {
        return 0;
    }
    d->x = malloc(cap * sizeof(double));
    d->t_x = malloc(cap * sizeof(double));
    d->T = malloc(cap * sizeof(double));
    d->w = malloc(cap * sizeof(double));
    d->n = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f) != NULL && d->n < cap) {
        char *s = line, *e;
        (void)strtod(s, &e); /* id */
        d->x[d->n] = strtod(e + 1, &e);
        d->t_x[d->n] = strtod(e + 1, &e);
        d->T[d->n] = strtod(e + 1, &e);
        d->w[d->n] = 1.0;
        d->n++;
    }
    fclose(f);
    return 1;
}

static void free_cdnow(cdnow *d)
{
    free(d->x);
    free(d->t_x);
    free(d->T);
    free(d->w);
}

static cvm__rows rows_of(const cdnow *d)
{
    cvm__rows r;
    r.x = d->x;
    r.t_x = d->t_x;
    r.T = d->T;
    r.w = d->w;
    r.n = d->n;
    return r;
}

/* ---- 2F1 ------------------------------------------------------------------ */

START_TEST(hyp2f1_closed_forms)
{
    static const double zs[] = {1e-12, 1e-6, 0.1, 0.5, 0.9, 0.99, 0.999};
    size_t i;
    for (i = 0; i < sizeof zs / sizeof *zs; i++) {
        const double z = zs[i], w = sqrt(z);
        /* 2F1(1,1;2;z) = -log(1-z)/z */
        ck_assert_double_le(fabs(cvm__log_hyp2f1(1, 1, 2, z, NULL) - log(-log1p(-z) / z)),
                            1e-13);
        /* 2F1(a,b;b;z) = (1-z)^-a */
        ck_assert_double_le(fabs(cvm__log_hyp2f1(3.5, 2.25, 2.25, z, NULL) + 3.5 * log1p(-z)),
                            1e-13 * fmax(1.0, -3.5 * log1p(-z)));
        /* 2F1(1/2,1/2;3/2;w^2) = asin(w)/w */
        ck_assert_double_le(fabs(cvm__log_hyp2f1(0.5, 0.5, 1.5, z, NULL) - log(asin(w) / w)),
                            1e-13);
    }
    /* z = 0 and its derivative a b / c */
    {
        double d[4];
        ck_assert_double_eq(cvm__log_hyp2f1(2, 3, 4, 0, d), 0.0);
        ck_assert_double_eq_tol(d[3], 1.5, 1e-15);
    }
}
END_TEST

/* Values and derivatives computed with mpmath (40 digits, direct series). */
START_TEST(hyp2f1_reference_values)
{
    static const double c[][9] = {
        {1e4, 1e4 + 1.3, 2e4 + 0.2, 0.9, 8369.05315655123848, 1.15145590966, 1.15136701864,
         -0.733034177363, 24032.3466454},
        {1e6, 3, 0.5, 0.5, 693181.598560977567, 0.693149680553, 12.8927327228, -15.779024584,
         2000009.99998},
        {0.7432, 5.9, 6.5, 0.99, 2.3805570536617228, 3.5637515551618, 1.4253753183991,
         -1.3605564025893, 35.658066524127},
        {100.243, 102.426, 106.7, 0.95, 287.75676783316756, 2.9543284266443, 2.9338240043991,
         -2.8949863261185, 1919.6687484921},
        {0.243, 2.426, 2.219, 0.9, 0.6666138494182037, 2.6832876376855, 0.55569435921894,
         -0.58944597757376, 3.1874847024439},
        {2.5, 1e-3, 1.7, 0.3, 0.00055539082370361091, 0.00026289154453821, 0.55536825807827,
         -0.00037874422424427, 0.0023618058117995},
    };
    size_t i;
    int j;
    for (i = 0; i < sizeof c / sizeof *c; i++) {
        double d[4];
        const double v = cvm__log_hyp2f1(c[i][0], c[i][1], c[i][2], c[i][3], d);
        ck_assert_double_le(relerr(v, c[i][4]), 1e-13);
        for (j = 0; j < 4; j++) {
            ck_assert_double_le(relerr(d[j], c[i][5 + j]), 1e-9);
        }
    }
}
END_TEST

START_TEST(hyp2f1_derivatives_match_differences)
{
    /* direct series, Euler's form, huge a, tiny b */
    static const double c[][4] = {{2.3, 0.7, 1.9, 0.8},  {5.5, 4.2, 6.1, 0.7},
                                  {1e5, 2.0, 3.0, 0.2},  {0.3, 1e-4, 0.8, 0.95},
                                  {26.55, 1.6, 28.7, 0.05}, {1.0, 40.0, 41.5, 0.6}};
    size_t i;
    int j;
    for (i = 0; i < sizeof c / sizeof *c; i++) {
        double d[4];
        ck_assert(isfinite(cvm__log_hyp2f1(c[i][0], c[i][1], c[i][2], c[i][3], d)));
        for (j = 0; j < 4; j++) {
            /* five-point central differences: error O(h^4) */
            double a[4][4], h, f[4], fd;
            static const double k[4] = {-2, -1, 1, 2};
            int m;
            h = 1e-3 * (j == 3 ? fmin(c[i][3], 1 - c[i][3]) : c[i][j]);
            for (m = 0; m < 4; m++) {
                memcpy(a[m], c[i], sizeof a[m]);
                a[m][j] += k[m] * h;
                f[m] = cvm__log_hyp2f1(a[m][0], a[m][1], a[m][2], a[m][3], NULL);
            }
            fd = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h);
            ck_assert_msg(fabs(fd - d[j]) <= 1e-6 * fmax(fabs(d[j]), 1e-3),
                          "case %zu d%d: %.12g vs %.12g", i, j, d[j], fd);
        }
    }
}
END_TEST

START_TEST(hyp2f1_bad_input_is_nan)
{
    double d[4];
    ck_assert(isnan(cvm__log_hyp2f1(-1, 1, 2, 0.5, d)));
    ck_assert(isnan(d[0]));
    ck_assert(isnan(cvm__log_hyp2f1(1, 1, 2, 1.0, NULL)));
    ck_assert(isnan(cvm__log_hyp2f1(1, 1, 0, 0.5, NULL)));
    ck_assert(isnan(cvm__log_hyp2f1(1, 1, 2, -0.1, NULL)));
    ck_assert(isnan(cvm__log_hyp2f1(1, NAN, 2, 0.1, NULL)));
    /* needs ~4e6 terms: reported, not a wrong value */
    ck_assert(isnan(cvm__log_hyp2f1(1, 1, 2, 1 - 1e-5, d)));
}
END_TEST

/* ---- Pareto/NBD: published values ----------------------------------------- */

START_TEST(table_identity)
{
    ck_assert_str_eq(ops->name, "pareto");
    ck_assert_str_eq(ops->title, "Pareto/NBD");
    ck_assert_str_eq(ops->param_names[0], "r");
    ck_assert_str_eq(ops->param_names[1], "alpha");
    ck_assert_str_eq(ops->param_names[2], "s");
    ck_assert_str_eq(ops->param_names[3], "beta");
    ck_assert_int_eq(ops->discrete, 0);
    ck_assert_int_eq(ops->needs_tx, 1);
    ck_assert(ops->prob_count != NULL);
}
END_TEST

START_TEST(cdnow_loglik)
{
    static const double btyd[4] = {0.5533971, 10.5801985, 0.6060625, 11.6562237};
    static const double refit[4] = {0.5533, 10.5776, 0.6062, 11.6679};
    cdnow d;
    cvm__rows r;
    double g[4], sum = 0;
    size_t i;
    int j;
    TU_SKIP_IF_NO_DATA();
    ck_assert(load_cdnow(&d));
    ck_assert_uint_eq(d.n, 2357);
    r = rows_of(&d);
    ck_assert_double_eq_tol(ops->loglik(btyd, &r, NULL), -9594.9762, 0.001);
    ck_assert_double_eq_tol(ops->loglik(refit, &r, g), -9594.97, 0.01);
    /* at the optimum: each score component, in log-parameters and per
     * customer, is ~0 (single customers' scores are O(1)) */
    for (j = 0; j < 4; j++) {
        ck_assert_double_le(fabs(g[j] * refit[j]) / (double)d.n, 1e-4);
    }
    /* the sum of the rows' log-likelihoods is the total */
    for (i = 0; i < d.n; i++) {
        sum += ops->row_loglik(btyd, d.x[i], d.t_x[i], d.T[i]);
    }
    ck_assert_double_eq_tol(sum, ops->loglik(btyd, &r, NULL), 1e-8);
    free_cdnow(&d);
}
END_TEST

/* BTYD walkthrough / lifetimes test: customer 1516. The published 25.46 is
 * rounded: the formula gives 25.4549 at these rounded parameters and 25.4553
 * at BTYD's full ones, so it is held to 0.006 (lifetimes uses 0.01), and to
 * 1e-6 against the value mpmath gives for the same formula (P(alive) by
 * numerical integration at 30 digits: 0.9979177665519068, E 25.45491351150). */
START_TEST(customer_1516)
{
    static const double p[4] = {0.5534, 10.5802, 0.6061, 11.6562};
    const double pa = ops->p_alive(p, 26, 30.86, 31);
    const double e = pa * ops->expected_alive(p, 52, 26, 31);
    ck_assert_double_eq_tol(pa, 0.9979, 5e-5);
    ck_assert_double_eq_tol(pa, 0.9979177665519068, 1e-12);
    ck_assert_double_eq_tol(e, 25.46, 0.006);
    ck_assert_double_eq_tol(e, 25.45491351150, 1e-9);
}
END_TEST

/* ---- Pareto/NBD: brute force ----------------------------------------------- */

/* The likelihood and P(alive) against the long double quadrature over a grid
 * of parameters from 1e-6 to 1e6 (alpha >> beta, beta >> alpha, alpha =
 * beta) and customers up to x = 1e4. */
START_TEST(grid_against_quadrature)
{
    static const double v[4] = {1e-6, 0.3, 30, 1e6};
    static const double rows[][3] = {{0, 0, 30},  {1, 5, 30},      {26, 30.86, 31},
                                     {1e4, 20, 39}, {5, 39, 39},   {3, 0.5, 52}};
    double worst_ll = 0, worst_pa = 0;
    const double tol = extended_precision() ? 1e-10 : HUGE_VAL; /* else finite, in range */
    int i0, i1, i2, i3;
    size_t k;
    if (tol == HUGE_VAL) {
        fprintf(stderr, "# grid: long double is double here (valgrind?): reference not compared\n");
    }
    for (i0 = 0; i0 < 4; i0++) {
        for (i1 = 0; i1 < 4; i1++) {
            for (i2 = 0; i2 < 4; i2++) {
                for (i3 = 0; i3 < 4; i3++) {
                    const double p[4] = {v[i0], v[i1], v[i2], v[i3]};
                    for (k = 0; k < sizeof rows / sizeof *rows; k++) {
                        const double x = rows[k][0], t_x = rows[k][1], T = rows[k][2];
                        const double ll = ops->row_loglik(p, x, t_x, T);
                        const double pa = ops->p_alive(p, x, t_x, T);
                        long double rpa = pa;
                        const double want =
                            tol < HUGE_VAL ? (double)ref_loglik(p, x, t_x, T, &rpa) : ll;
                        const double ea = ops->expected_alive(p, 39, x, T);
                        const double ell = fabs(ll - want) / fmax(1.0, fabs(want));
                        const double epa = fabs(pa - (double)rpa);
                        ck_assert_msg(isfinite(ll) && ell <= tol,
                                      "p=(%g,%g,%g,%g) row %zu: ll %.15g want %.15g",
                                      p[0], p[1], p[2], p[3], k, ll, want);
                        ck_assert_msg(pa >= 0 && pa <= 1 && epa <= tol,
                                      "p=(%g,%g,%g,%g) row %zu: P(alive) %.15g want %.15Lg", p[0],
                                      p[1], p[2], p[3], k, pa, rpa);
                        ck_assert(isfinite(ea) && ea >= 0);
                        if (t_x == T) {
                            ck_assert_msg(fabs(pa - 1) <= 1e-10, "p=(%g,%g,%g,%g): %.17g", p[0],
                                          p[1], p[2], p[3], pa);
                        }
                        worst_ll = fmax(worst_ll, ell);
                        worst_pa = fmax(worst_pa, epa);
                    }
                }
            }
        }
    }
    fprintf(stderr, "# grid: worst log-likelihood error %.2g (relative to max(1, |LL|)), "
                    "worst P(alive) error %.2g\n",
            worst_ll, worst_pa);
}
END_TEST

/* Near alpha = beta the series argument z = |alpha - beta|/(max + t) goes
 * through 0 and the branch switches: the likelihood and its gradient stay
 * smooth. */
START_TEST(alpha_equal_beta)
{
    const double rows[3][3] = {{0, 0, 30}, {4, 12, 30}, {40, 29, 30}};
    static const double eps[] = {-1e-6, -1e-12, 0, 1e-12, 1e-6};
    size_t i, k;
    for (k = 0; k < 3; k++) {
        double g0[4], w = 1;
        const double p0[4] = {0.8, 7.0, 1.3, 7.0};
        cvm__rows r = {&rows[k][0], &rows[k][1], &rows[k][2], &w, 1};
        const double l0 = ops->loglik(p0, &r, g0);
        ck_assert_double_le(fabs(l0 - (double)ref_loglik(p0, rows[k][0], rows[k][1], rows[k][2],
                                                         NULL)),
                            1e-11 * fmax(1, fabs(l0)));
        for (i = 0; i < sizeof eps / sizeof *eps; i++) {
            double p[4], g[4];
            int j;
            memcpy(p, p0, sizeof p);
            p[3] = 7.0 * (1 + eps[i]);
            /* first order in the step, which is at most 7e-6 */
            ck_assert_double_le(fabs(ops->loglik(p, &r, g) - l0),
                                1.01 * fabs(g0[3] * 7.0 * eps[i]) + 1e-13 * fmax(1, fabs(l0)));
            for (j = 0; j < 4; j++) {
                ck_assert_double_le(fabs(g[j] - g0[j]), 1e-5 * fmax(1.0, fabs(g0[j])));
            }
        }
    }
}
END_TEST

/* ---- gradient ---------------------------------------------------------------- */

static void check_gradient(const double *p, const cvm__rows *r)
{
    double g[4];
    int j;
    const double l = ops->loglik(p, r, g);
    ck_assert(isfinite(l));
    for (j = 0; j < 4; j++) {
        /* five-point central differences: error O(h^4) */
        double a[4][4], f[4], fd;
        static const double k[4] = {-2, -1, 1, 2};
        const double h = 1e-3 * p[j];
        int m;
        for (m = 0; m < 4; m++) {
            memcpy(a[m], p, sizeof a[m]);
            a[m][j] += k[m] * h;
            f[m] = ops->loglik(a[m], r, NULL);
        }
        fd = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h);
        /* relative 1e-6, with a floor for components that cancel to ~0 */
        ck_assert_msg(fabs(fd - g[j]) <= 1e-6 * fmax(fabs(g[j]), 1e-3 / p[j]),
                      "p=(%g,%g,%g,%g) d%d: analytic %.12g, differences %.12g", p[0], p[1], p[2],
                      p[3], j, g[j], fd);
    }
}

START_TEST(gradient_matches_differences)
{
    static const double x[] = {0, 1, 2, 7, 26, 150, 0};
    static const double t_x[] = {0, 3.5, 30.1, 12, 30.86, 38.5, 0};
    static const double T[] = {38, 30, 31, 35, 31, 39, 12};
    static const double w[] = {3, 1, 2, 1, 1, 0.5, 1};
    static const double ps[][4] = {
        {0.5533, 10.5776, 0.6062, 11.6679}, /* CDNOW, alpha < beta */
        {0.5533, 14.0, 0.6062, 3.0},        /* alpha > beta */
        {2.0, 0.5, 0.05, 80.0},             /* z near 1 */
        {0.05, 200.0, 3.0, 0.2},            /* z near 1 the other way */
        {1e-3, 1e-3, 1e-3, 1e-3},
        {50.0, 500.0, 20.0, 400.0},
        {1.0, 1e4, 1.0, 1e-2},              /* quadrature path */
    };
    cvm__rows r = {x, t_x, T, w, sizeof x / sizeof *x};
    size_t i;
    for (i = 0; i < sizeof ps / sizeof *ps; i++) {
        check_gradient(ps[i], &r);
    }
    /* a single customer with x = 1e4 */
    {
        const double bx = 1e4, btx = 20, bT = 39, bw = 1;
        cvm__rows one = {&bx, &btx, &bT, &bw, 1};
        static const double q[][4] = {{0.5, 10, 0.6, 11}, {0.5, 10, 0.6, 1e3}, {0.5, 1e3, 0.6, 1}};
        for (i = 0; i < 3; i++) {
            check_gradient(q[i], &one);
        }
    }
}
END_TEST

START_TEST(weights_and_bad_input)
{
    static const double p[4] = {0.5533, 10.5776, 0.6062, 11.6679};
    const double x[2] = {3, 3}, t_x[2] = {20, 20}, T[2] = {30, 30}, w1[2] = {1, 1}, w2[1] = {2};
    cvm__rows a = {x, t_x, T, w1, 2}, b = {x, t_x, T, w2, 1};
    double ga[4], gb[4];
    int j;
    ck_assert_double_eq_tol(ops->loglik(p, &a, ga), ops->loglik(p, &b, gb), 1e-12);
    for (j = 0; j < 4; j++) {
        ck_assert_double_eq_tol(ga[j], gb[j], 1e-12);
    }
    {
        const double bad[4] = {0.5, -1, 0.6, 11};
        ck_assert(!isfinite(ops->loglik(bad, &a, NULL)));
        ck_assert(isnan(ops->row_loglik(bad, 1, 1, 2)));
    }
    ck_assert(isnan(ops->row_loglik(p, 1, 3, 2))); /* t_x > T */
    ck_assert(isnan(ops->p_alive(p, -1, 0, 2)));
    ck_assert(isnan(ops->expected_new(p, -1)));
}
END_TEST

/* ---- unconditional quantities ---------------------------------------------- */

START_TEST(expected_new_through_s_equal_1)
{
    const double r = 0.55, al = 10.6, be = 11.7, t = 39;
    const double lim = r * be / al * log1p(t / be);
    static const double ds[] = {-1e-3, -1e-7, -1e-9, -1e-12, -1e-15, 0, 1e-15, 1e-12, 1e-9,
                                1e-7, 1e-3};
    size_t i;
    for (i = 0; i < sizeof ds / sizeof *ds; i++) {
        const double p[4] = {r, al, 1 + ds[i], be};
        const double e = ops->expected_new(p, t);
        /* E changes by about |dE/ds| |ds| < 2 |ds| here */
        ck_assert_double_le(fabs(e - lim), 2 * fabs(ds[i]) * lim + 1e-15 * lim);
    }
    {
        const double p[4] = {r, al, 0.6, be};
        const double want = r * be / (al * (0.6 - 1)) * (1 - pow(be / (be + t), 0.6 - 1));
        ck_assert_double_le(relerr(ops->expected_new(p, t), want), 1e-14);
        ck_assert_double_eq(ops->expected_new(p, 0), 0.0);
    }
    /* the conditional expectation of an alive customer, through s = 1 */
    {
        const double pa[4] = {r, al, 1.0, be}, pb[4] = {r, al, 1.0 + 1e-10, be};
        const double a = ops->expected_alive(pa, 52, 4, 30), b = ops->expected_alive(pb, 52, 4, 30);
        ck_assert_double_le(relerr(a, (r + 4) * (be + 30) / (al + 30) * log1p(52 / (be + 30))),
                            1e-14);
        ck_assert_double_le(relerr(a, b), 1e-9);
    }
}
END_TEST

/* P(X(t) = k): against the brute-force integral, summing to 1 and with mean
 * E[X(t)]. */
START_TEST(prob_count_checks)
{
    static const double ps[][4] = {{0.5534, 10.5802, 0.6061, 11.6562},
                                   {0.5534, 11.6562, 0.6061, 10.5802},
                                   {2.0, 3.0, 0.3, 200.0},
                                   {0.2, 50.0, 2.5, 0.5},
                                   {1e-3, 10.0, 1e3, 1e3}};
    static const double ts[] = {0.5, 39, 78};
    /* CVM_TEST_QUICK (valgrind): 5 of the 15 pairs, k = 0, 6, 12, 18 */
    const int quick = tu_quick();
    const double step = quick ? 6 : 1;
    size_t i, j;
    for (i = 0; i < sizeof ps / sizeof *ps; i++) {
        for (j = 0; j < sizeof ts / sizeof *ts; j++) {
            double sum = 0, mean = 0, k;
            if (quick && j != i % 3) {
                continue;
            }
            for (k = 0; k < 20; k += step) {
                const double pk = ops->prob_count(ps[i], ts[j], k);
                const double want = (double)ref_prob_count(ps[i], ts[j], k);
                ck_assert_msg(relerr(pk, want) <= 1e-9, "p %zu t %g k %g: %.15g vs %.15g", i,
                              ts[j], k, pk, want);
            }
            for (k = 0; k < 4000; k += 1) {
                const double pk = ops->prob_count(ps[i], ts[j], k);
                ck_assert(pk >= 0 && pk <= 1);
                sum += pk;
                mean += k * pk;
                if (k > 50 && pk < 1e-18 * sum) {
                    break;
                }
            }
            ck_assert_msg(fabs(sum - 1) <= 1e-9, "p %zu t %g: sum %.15g", i, ts[j], sum);
            ck_assert_double_le(relerr(mean, ops->expected_new(ps[i], ts[j])), 1e-8);
        }
    }
    ck_assert_double_eq(ops->prob_count(ps[0], 0, 0), 1.0);
    ck_assert_double_eq(ops->prob_count(ps[0], 0, 3), 0.0);
    ck_assert(isnan(ops->prob_count(ps[0], 1, 0.5)));
}
END_TEST

START_TEST(starts_are_sensible)
{
    cdnow d;
    cvm__rows r;
    double p[16 * 4];
    size_t n, i;
    int j;
    TU_SKIP_IF_NO_DATA();
    ck_assert(load_cdnow(&d));
    r = rows_of(&d);
    n = ops->starts(&r, p, 16);
    ck_assert_uint_ge(n, 2);
    for (i = 0; i < n; i++) {
        for (j = 0; j < 4; j++) {
            ck_assert(isfinite(p[4 * i + j]) && p[4 * i + j] > 0);
        }
        ck_assert(isfinite(ops->loglik(&p[4 * i], &r, NULL)));
    }
    ck_assert_uint_eq(ops->starts(&r, p, 1), 1);
    free_cdnow(&d);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("pareto");
    TCase *h = tcase_create("hyp2f1");
    TCase *m = tcase_create("model");
    tcase_add_test(h, hyp2f1_closed_forms);
    tcase_add_test(h, hyp2f1_reference_values);
    tcase_add_test(h, hyp2f1_derivatives_match_differences);
    tcase_add_test(h, hyp2f1_bad_input_is_nan);
    suite_add_tcase(s, h);
    tcase_set_timeout(m, 120);
    tcase_add_test(m, table_identity);
    tcase_add_test(m, cdnow_loglik);
    tcase_add_test(m, customer_1516);
    tcase_add_test(m, grid_against_quadrature);
    tcase_add_test(m, alpha_equal_beta);
    tcase_add_test(m, gradient_matches_differences);
    tcase_add_test(m, weights_and_bad_input);
    tcase_add_test(m, expected_new_through_s_equal_1);
    tcase_add_test(m, prob_count_checks);
    tcase_add_test(m, starts_are_sensible);
    suite_add_tcase(s, m);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
