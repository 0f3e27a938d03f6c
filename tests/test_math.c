/* The numerics under the models: special functions against high-precision
 * references (computed with mpmath at 40 digits unless a closed form is
 * given), the bounded minimisers on functions with known minima, and the
 * maximum-likelihood driver on models with closed-form estimates. */
#include "math/math_int.h"
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define EULER_GAMMA 0.57721566490153286061
#define PI 3.14159265358979323846

/* |got - want| <= rel * |want| (or <= rel when want is 0), with a message
 * naming the values on failure. */
#define assert_rel(got, want, rel)                                                                \
    do {                                                                                          \
        double g_ = (got), w_ = (want);                                                           \
        double tol_ = (rel) * (w_ == 0.0 ? 1.0 : fabs(w_));                                       \
        ck_assert_msg(fabs(g_ - w_) <= tol_, "%s = %.17g, want %.17g (rel %.3g)", #got, g_, w_,   \
                      fabs(g_ - w_) / (w_ == 0.0 ? 1.0 : fabs(w_)));                              \
    } while (0)

#define assert_abs(got, want, tol)                                                                \
    do {                                                                                          \
        double g_ = (got), w_ = (want);                                                           \
        ck_assert_msg(fabs(g_ - w_) <= (tol), "%s = %.17g, want %.17g (diff %.3g)", #got, g_, w_, \
                      fabs(g_ - w_));                                                             \
    } while (0)

/* ==== special functions ==================================================== */

/* Known values. 4e-16 relative is two ulps: the series and Stirling branches
 * are accurate to rounding; exact zeros must be exact. */
START_TEST(lgamma_known_values)
{
    ck_assert(cvm__lgamma(1.0) == 0.0);
    ck_assert(cvm__lgamma(2.0) == 0.0);
    assert_rel(cvm__lgamma(0.5), 0.5 * log(PI), 4e-16);
    assert_rel(cvm__lgamma(1.5), -0.12078223763524522235, 4e-16);
    assert_rel(cvm__lgamma(3.0), log(2.0), 4e-16);
    assert_rel(cvm__lgamma(1e-8), 18.420680738180208905, 4e-16);
    assert_rel(cvm__lgamma(1e-300), 690.77552789821370521, 4e-16);
    assert_rel(cvm__lgamma(1e6), 12815504.56914761166, 4e-16);
    assert_rel(cvm__lgamma(171.5), 709.14316303092824227, 4e-16);
    assert_rel(cvm__lgamma(1e15), 33538776394910668.91, 4e-16);
    /* Next to the zero at 1 the error is absolute; the value is -gamma * t. */
    assert_rel(cvm__lgamma(1.0 + ldexp(1.0, -33)), -6.719674738191360331e-11, 1e-15);
    /* lgamma(n) = log((n-1)!) for the integers where the factorial is exact. */
    {
        double fact = 1.0;
        int n;
        for (n = 2; n <= 22; n++) {
            assert_rel(cvm__lgamma((double)n), log(fact), 4e-16);
            fact *= n;
        }
    }
}
END_TEST

/* Against libm on a log-spaced grid from 1e-6 to 1e12 and a fine grid over
 * [0.1, 12] (both branches and every seam). libm's lgamma is itself within
 * an ulp or two, so allow 1e-14 relative, or 3e-16 absolute near the zeros
 * at 1 and 2 where relative error is meaningless. Records the worst error. */
START_TEST(lgamma_matches_libm)
{
    double worst = 0.0;
    int i;
    for (i = 0; i <= 4000; i++) {
        double x = i <= 2000 ? pow(10.0, -6.0 + 18.0 * i / 2000.0) : 0.1 + 11.9 * (i - 2001) / 1999.0;
        double want = lgamma(x), got = cvm__lgamma(x);
        double err = fabs(got - want);
        double scaled = err / fmax(fabs(want), 0.03);
        ck_assert_msg(err <= 1e-14 * fabs(want) || err <= 3e-16, "lgamma(%.17g) = %.17g, libm %.17g",
                      x, got, want);
        worst = scaled > worst ? scaled : worst;
    }
    ck_assert(worst < 1e-14);
}
END_TEST

/* Outside the domain: exact NaN / inf / 0 outcomes, no tolerance. */
START_TEST(special_domain)
{
    ck_assert(isnan(cvm__lgamma(0.0)));
    ck_assert(isnan(cvm__lgamma(-1.5)));
    ck_assert(isnan(cvm__lgamma(NAN)));
    ck_assert(isinf(cvm__lgamma(INFINITY)));
    ck_assert(isnan(cvm__digamma(0.0)));
    ck_assert(isnan(cvm__lbeta(-1.0, 2.0)));
    ck_assert(isnan(cvm__lpochhammer(0.0, 1.0)));
    ck_assert(isnan(cvm__lpochhammer(1.0, -1.0)));
    ck_assert(cvm__lpochhammer(3.5, 0.0) == 0.0);
}
END_TEST

/* psi(1) = -gamma and psi(1/2) = -gamma - 2 log 2 exactly (2 ulps); the root
 * near 1.4616 to 1e-16 absolute; tiny and huge arguments to 2 ulps
 * (asymptotically psi(x) = -1/x - gamma, log x - 1/(2x)). */
START_TEST(digamma_values)
{
    int i;
    assert_rel(cvm__digamma(1.0), -EULER_GAMMA, 4e-16);
    assert_rel(cvm__digamma(0.5), -EULER_GAMMA - 2.0 * log(2.0), 4e-16);
    assert_rel(cvm__digamma(0.5), -1.9635100260214234794, 4e-16);
    assert_abs(cvm__digamma(1.4616321449683623), -3.9928730412463043992e-17, 1e-16);
    assert_rel(cvm__digamma(1e-8), -100000000.57721564845, 4e-16);
    assert_rel(cvm__digamma(1e8), 18.420680738952365464, 4e-16);
    /* Recurrence psi(x + 1) = psi(x) + 1/x across the shift/asymptotic seam
     * at 10, to 1e-15 of the larger term (the subtraction is exact then). */
    for (i = 0; i < 200; i++) {
        double x = 0.05 + 0.1 * i;
        double lhs = cvm__digamma(x + 1.0), rhs = cvm__digamma(x) + 1.0 / x;
        assert_abs(lhs, rhs, 1e-15 * fmax(fabs(lhs), 1.0 / x));
    }
    /* psi is the derivative of lgamma: central difference, h = 1e-5 * x,
     * truncation error ~h^2 psi''/6, relative 1e-9 is ample. */
    for (i = 0; i < 30; i++) {
        double x = pow(10.0, -2.0 + 0.2 * i), h = 1e-5 * x;
        double fd = (cvm__lgamma(x + h) - cvm__lgamma(x - h)) / (2.0 * h);
        assert_abs(cvm__digamma(x), fd, 1e-8 * fmax(1.0, fabs(fd)));
    }
}
END_TEST

/* Extreme Beta arguments against references, 1e-15 relative (a few ulps of
 * the result; a naive lgamma difference would lose 7 digits at b = 1e6 and
 * everything at 1e15). Identities B(1, b) = 1/b and B(2, b) = 1/(b(b+1))
 * cover 1e-5 .. 1e15 exactly. */
START_TEST(lbeta_extremes)
{
    int i;
    assert_rel(cvm__lbeta(0.8, 1e6), -10.900348687971589695, 1e-15);
    assert_rel(cvm__lbeta(1e6, 0.8), -10.900348687971589695, 1e-15);
    assert_rel(cvm__lbeta(1e-8, 1e8), 18.420680553973401516, 1e-15);
    assert_rel(cvm__lbeta(1e10, 1e10), -13862943621.44631953, 1e-15);
    assert_rel(cvm__lbeta(3.7, 1e15), -126.36540033450415254, 1e-15);
    assert_rel(cvm__lbeta(50.0, 60.0), -76.522723353350512681, 1e-15);
    assert_rel(cvm__lbeta(12.5, 1e9), -240.30647552176869346, 1e-15);
    assert_rel(cvm__lbeta(0.5, 0.5), log(PI), 4e-16);
    for (i = 0; i <= 40; i++) {
        double b = pow(10.0, -5.0 + 0.5 * i);
        assert_rel(cvm__lbeta(1.0, b), -log(b), 1e-15);
        assert_rel(cvm__lbeta(b, 1.0), -log(b), 1e-15);
        assert_rel(cvm__lbeta(2.0, b), -(log(b) + log1p(b)), 1e-15);
    }
}
END_TEST

/* Log-sum forms at +-800, where exp over/underflows. Closed forms, 2 ulps. */
START_TEST(logsumexp_forms)
{
    assert_rel(cvm__logaddexp(800.0, 800.0), 800.0 + log(2.0), 4e-16);
    assert_rel(cvm__logaddexp(-800.0, -800.0), -799.30685281944005469, 4e-16);
    assert_rel(cvm__logaddexp(800.0, -800.0), 800.0, 4e-16);
    assert_rel(cvm__logaddexp(-800.0, 800.0), 800.0, 4e-16);
    assert_rel(cvm__logaddexp(0.0, -700.0), exp(-700.0), 4e-16);
    ck_assert(cvm__logaddexp(-INFINITY, -INFINITY) == -INFINITY);
    ck_assert(cvm__logaddexp(-INFINITY, 3.0) == 3.0);
    ck_assert(cvm__logaddexp(INFINITY, 3.0) == INFINITY);

    assert_rel(cvm__logsubexp(800.0, 799.0), 800.0 - 0.45867514538708189102, 4e-16);
    assert_rel(cvm__logsubexp(-799.0, -800.0), -799.0 - 0.45867514538708189102, 4e-16);
    assert_rel(cvm__logsubexp(0.0, -1e-10), -23.02585092999045684, 4e-16); /* via expm1 */
    assert_rel(cvm__logsubexp(0.0, -800.0), 0.0, 4e-16);
    ck_assert(cvm__logsubexp(800.0, 800.0) == -INFINITY);
    ck_assert(cvm__logsubexp(3.0, -INFINITY) == 3.0);
    ck_assert(isnan(cvm__logsubexp(1.0, 2.0)));

    ck_assert(cvm__log1pexp(800.0) == 800.0);
    ck_assert(cvm__log1pexp(-800.0) == 0.0); /* e^-800 underflows */
    assert_rel(cvm__log1pexp(-700.0), exp(-700.0), 4e-16);
    assert_rel(cvm__log1pexp(0.0), log(2.0), 4e-16);
    assert_rel(cvm__log1pexp(20.0), 20.00000000206115362, 4e-16);
    assert_rel(cvm__log1pexp(-20.0), 2.0611536203143807032e-9, 4e-16);
    assert_rel(cvm__log1pexp(30.0), 30.000000000000093576, 4e-16);
}
END_TEST

/* Integer k against the direct sum of log(a + i) in long double (exact to
 * far below the 1e-14 asked, which is a few ulps of ~k log a summed);
 * fractional and tiny k against references at 1e-14 relative: tiny k keeps
 * its relative accuracy (the value is ~k psi(a)). */
START_TEST(lpochhammer_values)
{
    static const double as[] = {1e-6, 0.3, 1.0, 2.5, 7.1, 9.99, 10.0, 123.4, 1e8, 1e12};
    size_t i;
    int k;
    for (i = 0; i < sizeof as / sizeof as[0]; i++) {
        long double sum = 0.0L;
        for (k = 0; k <= 30; k++) {
            assert_abs(cvm__lpochhammer(as[i], (double)k), (double)sum,
                       1e-14 * fmaxl(fabsl(sum), 1.0L));
            sum += logl((long double)as[i] + (long double)k);
        }
    }
    assert_rel(cvm__lpochhammer(1e8, 1e-3), 0.018420680738957365464, 1e-14);
    assert_rel(cvm__lpochhammer(0.3, 1e-10), -3.5025242215878647618e-10, 1e-14);
    assert_rel(cvm__lpochhammer(2.5, 0.75), 0.65111906063580619863, 1e-14);
    assert_rel(cvm__lpochhammer(1e15, 2.5), 86.346940987276715026, 1e-14);
}
END_TEST

/* ==== minimisers =========================================================== */

typedef struct counted {
    int calls;
    int nonfinite;
} counted;

static double rosenbrock(void *ctx, const double *x, double *g)
{
    counted *c = ctx;
    double a = 1.0 - x[0], b = x[1] - x[0] * x[0];
    c->calls++;
    if (g != NULL) {
        g[0] = -2.0 * a - 400.0 * x[0] * b;
        g[1] = 200.0 * b;
    }
    return a * a + 100.0 * b * b;
}

static cvm__optim_problem box_problem(size_t n, cvm__objective_fn f, void *ctx, double *lo,
                                      double *hi, double bound)
{
    cvm__optim_problem p;
    size_t i;
    memset(&p, 0, sizeof p);
    for (i = 0; i < n; i++) {
        lo[i] = -bound;
        hi[i] = bound;
    }
    p.n = n;
    p.f = f;
    p.ctx = ctx;
    p.lower = lo;
    p.upper = hi;
    p.max_iterations = 500;
    p.gtol = 1e-10;
    return p;
}

/* Rosenbrock from (-1.2, 1): the Hessian at (1, 1) has eigenvalues 0.4 and
 * 1002, so a gradient below 1e-10 puts x within 1e-9 of the minimum; 1e-8
 * leaves room. BFGS needs about 35-40 iterations here; 100 is a generous
 * regression bound. */
START_TEST(bfgs_rosenbrock)
{
    double lo[2], hi[2], x0[2] = {-1.2, 1.0};
    counted c = {0, 0};
    cvm__optim_problem p = box_problem(2, rosenbrock, &c, lo, hi, 5.0);
    cvm__optim_result r;
    ck_assert_int_eq(cvm__optim_bfgs(&p, x0, &r), CVM__OPT_CONVERGED);
    assert_abs(r.x[0], 1.0, 1e-8);
    assert_abs(r.x[1], 1.0, 1e-8);
    ck_assert(r.pgnorm < 1e-10);
    ck_assert_int_le(r.iterations, 100);
    ck_assert_int_eq(r.evaluations, c.calls);
}
END_TEST

/* Nelder-Mead on the same: a collapsed simplex of diameter 1e-10 near a
 * minimum of condition 2500 leaves x within about 1e-6; assert 1e-5. */
START_TEST(nelder_mead_rosenbrock)
{
    double lo[2], hi[2], x0[2] = {-1.2, 1.0};
    counted c = {0, 0};
    cvm__optim_problem p = box_problem(2, rosenbrock, &c, lo, hi, 5.0);
    cvm__optim_result r;
    p.max_iterations = 5000;
    ck_assert_int_eq(cvm__optim_nelder_mead(&p, x0, 0.5, &r), CVM__OPT_CONVERGED);
    assert_abs(r.x[0], 1.0, 1e-5);
    assert_abs(r.x[1], 1.0, 1e-5);
    ck_assert(r.f < 1e-10);
}
END_TEST

/* A separable quadratic whose minimum (3, -2, 0.5) lies outside the box
 * [-1, 1]^3 in two coordinates: the answer is (1, -1, 0.5) with the first
 * two exactly on their bounds (projection puts them there exactly). */
static double outside_quadratic(void *ctx, const double *x, double *g)
{
    static const double c[3] = {3.0, -2.0, 0.5};
    static const double w[3] = {1.0, 10.0, 0.1};
    double f = 0.0;
    size_t i;
    ((counted *)ctx)->calls++;
    for (i = 0; i < 3; i++) {
        f += w[i] * (x[i] - c[i]) * (x[i] - c[i]);
        if (g != NULL) {
            g[i] = 2.0 * w[i] * (x[i] - c[i]);
        }
    }
    return f;
}

START_TEST(minimum_outside_box)
{
    double lo[3], hi[3], x0[3] = {0.0, 0.0, 0.0};
    counted c = {0, 0};
    cvm__optim_problem p = box_problem(3, outside_quadratic, &c, lo, hi, 1.0);
    cvm__optim_result r;
    ck_assert_int_eq(cvm__optim_bfgs(&p, x0, &r), CVM__OPT_CONVERGED);
    ck_assert(r.x[0] == 1.0);
    ck_assert(r.x[1] == -1.0);
    assert_abs(r.x[2], 0.5, 1e-9); /* gradient 0.2 (x - 0.5) below 1e-10 */
    ck_assert_int_eq(cvm__optim_nelder_mead(&p, x0, 0.5, &r), CVM__OPT_CONVERGED);
    assert_abs(r.x[0], 1.0, 1e-8);
    assert_abs(r.x[1], -1.0, 1e-8);
    assert_abs(r.x[2], 0.5, 1e-4); /* curvature 0.1: flat, NM stops early */
}
END_TEST

/* 10 |x - 0.5|^2, undefined (NaN) where x0 > 0.9. From (0, 0.5) the first
 * steepest-descent trial (a move of 1) lands at x0 = 1, in the NaN region,
 * so the line search must back off; the minimum is inside. */
static double nan_region(void *ctx, const double *x, double *g)
{
    counted *c = ctx;
    c->calls++;
    if (x[0] > 0.9) {
        c->nonfinite++;
        if (g != NULL) {
            g[0] = g[1] = NAN;
        }
        return NAN;
    }
    if (g != NULL) {
        g[0] = 20.0 * (x[0] - 0.5);
        g[1] = 20.0 * (x[1] - 0.5);
    }
    return 10.0 * ((x[0] - 0.5) * (x[0] - 0.5) + (x[1] - 0.5) * (x[1] - 0.5));
}

START_TEST(nan_region_backtracked)
{
    double lo[2], hi[2], x0[2] = {0.0, 0.5}, bad[2] = {2.0, 0.0};
    counted c = {0, 0};
    cvm__optim_problem p = box_problem(2, nan_region, &c, lo, hi, 5.0);
    cvm__optim_result r;
    ck_assert_int_eq(cvm__optim_bfgs(&p, x0, &r), CVM__OPT_CONVERGED);
    ck_assert_int_ge(c.nonfinite, 1);
    assert_abs(r.x[0], 0.5, 1e-10); /* gradient 20 (x - 0.5) below 1e-10 */
    assert_abs(r.x[1], 0.5, 1e-10);
    c.nonfinite = 0;
    ck_assert_int_eq(cvm__optim_nelder_mead(&p, x0, 0.6, &r), CVM__OPT_CONVERGED);
    ck_assert_int_ge(c.nonfinite, 1);
    assert_abs(r.x[0], 0.5, 1e-6);
    assert_abs(r.x[1], 0.5, 1e-6);
    /* A non-finite start is reported, not iterated from. */
    ck_assert_int_eq(cvm__optim_bfgs(&p, bad, &r), CVM__OPT_NONFINITE);
    ck_assert(r.f == INFINITY);
}
END_TEST

/* ==== maximum likelihood =================================================== */

/* Weighted sample: values y_i with weights w_i (a toy of the distinct
 * customer rows with counts that the models see). */
typedef struct sample {
    const double *y;
    const double *w;
    size_t n;
    int calls;
} sample;

static const double sample_y[] = {0.3, 1.7, 2.2, 0.9, 4.1, 1.1, 0.05, 3.3};
static const double sample_w[] = {3.0, 1.0, 2.0, 5.0, 1.0, 4.0, 2.0, 1.5};

static void sample_stats(const sample *s, double *W, double *S, double *S2)
{
    size_t i;
    *W = *S = *S2 = 0.0;
    for (i = 0; i < s->n; i++) {
        *W += s->w[i];
        *S += s->w[i] * s->y[i];
        *S2 += s->w[i] * s->y[i] * s->y[i];
    }
}

/* Exponential rate: LL = sum w (log lambda - lambda y). */
static double exp_loglik(void *ctx, const double *p, double *grad)
{
    sample *s = ctx;
    double ll = 0.0, g = 0.0;
    size_t i;
    s->calls++;
    for (i = 0; i < s->n; i++) {
        ll += s->w[i] * (log(p[0]) - p[0] * s->y[i]);
        g += s->w[i] * (1.0 / p[0] - s->y[i]);
    }
    if (grad != NULL) {
        grad[0] = g;
    }
    return ll;
}

/* Normal with mean mu > 0 and sd sigma: mu-hat is the weighted mean,
 * sigma-hat^2 the (biased) weighted variance. */
static double normal_loglik(void *ctx, const double *p, double *grad)
{
    sample *s = ctx;
    double mu = p[0], sd = p[1], ll = 0.0, gm = 0.0, gs = 0.0;
    size_t i;
    s->calls++;
    for (i = 0; i < s->n; i++) {
        double r = (s->y[i] - mu) / sd;
        ll += s->w[i] * (-log(sd) - 0.5 * r * r - 0.91893853320467274178);
        gm += s->w[i] * r / sd;
        gs += s->w[i] * (r * r - 1.0) / sd;
    }
    if (grad != NULL) {
        grad[0] = gm;
        grad[1] = gs;
    }
    return ll;
}

static cvm__mle_problem mle_problem(size_t np, cvm__loglik_fn f, sample *s, const double *starts,
                                    size_t nstarts)
{
    cvm__mle_problem pr;
    double W, S, S2;
    sample_stats(s, &W, &S, &S2);
    memset(&pr, 0, sizeof pr);
    pr.np = np;
    pr.loglik = f;
    pr.ctx = s;
    pr.weight = W;
    pr.starts = starts;
    pr.nstarts = nstarts;
    pr.max_iterations = 500;
    pr.tolerance = 1e-8;
    return pr;
}

/* Closed form: mu = S/W, sigma^2 = S2/W - mu^2; SE(mu) = sigma/sqrt(W),
 * SE(sigma) = sigma/sqrt(2W) (inverse Fisher information, exact for the
 * observed Hessian at the MLE). A log-gradient below 1e-8 with curvature
 * ~1-2 in log space leaves the estimates within ~1e-8 relative: assert
 * 1e-7. The Hessian by central differences (step 1e-5 p) of a gradient
 * that is a low-order rational in p is exact to ~1e-10: assert SEs 1e-6. */
START_TEST(mle_normal_closed_form)
{
    sample s = {sample_y, sample_w, 8, 0};
    static const double starts[] = {10.0, 0.01};
    cvm__mle_problem pr = mle_problem(2, normal_loglik, &s, starts, 1);
    cvm__mle_result res;
    double W, S, S2, mu, sd;
    sample_stats(&s, &W, &S, &S2);
    mu = S / W;
    sd = sqrt(S2 / W - mu * mu);
    ck_assert_int_eq(cvm__mle_fit(&pr, &res), CVM_OK);
    ck_assert(res.converged);
    assert_rel(res.params[0], mu, 1e-7);
    assert_rel(res.params[1], sd, 1e-7);
    ck_assert(res.has_stderr);
    assert_rel(res.stderrs[0], sd / sqrt(W), 1e-6);
    assert_rel(res.stderrs[1], sd / sqrt(2.0 * W), 1e-6);
    assert_rel(res.loglik, -W * (log(sd) + 0.5 + 0.91893853320467274178), 1e-12);
    ck_assert_str_eq(res.detail, "");
    ck_assert_int_eq(res.evaluations, s.calls);
    ck_assert_int_gt(res.iterations, 0);
}
END_TEST

/* Exponential: lambda = W/S, SE = lambda/sqrt(W). With penalty c the mean
 * objective -log l + l S/W + c l^2 is minimised at the positive root of
 * 2c l^2 + (S/W) l - 1 = 0 (the penalty pulls lambda down), and the
 * Hessian of -LL + W c l^2 is W/l^2 + 2 W c. Tolerances as above. */
START_TEST(mle_penalizer_shifts_optimum)
{
    sample s = {sample_y, sample_w, 8, 0};
    static const double starts[] = {1.0};
    cvm__mle_problem pr = mle_problem(1, exp_loglik, &s, starts, 1);
    cvm__mle_result res;
    double W, S, S2, m, c = 0.25, lam;
    sample_stats(&s, &W, &S, &S2);
    m = S / W;
    ck_assert_int_eq(cvm__mle_fit(&pr, &res), CVM_OK);
    assert_rel(res.params[0], W / S, 1e-8);
    assert_rel(res.stderrs[0], (W / S) / sqrt(W), 1e-6);

    pr.penalizer = c;
    lam = (-m + sqrt(m * m + 8.0 * c)) / (4.0 * c);
    ck_assert_int_eq(cvm__mle_fit(&pr, &res), CVM_OK);
    ck_assert(res.params[0] < W / S);
    assert_rel(res.params[0], lam, 1e-8);
    assert_rel(res.stderrs[0], 1.0 / sqrt(W / (lam * lam) + 2.0 * W * c), 1e-6);
    /* loglik is reported without the penalty. */
    assert_rel(res.loglik, W * log(lam) - lam * S, 1e-12);
}
END_TEST

/* An MLE beyond the box (lambda-hat = W/S = 1e12 > e^23): the fit converges
 * on the bound, since the projected gradient vanishes there; projection puts
 * z exactly on 23, so only exp's rounding remains (1e-15). */
START_TEST(mle_converges_on_bound)
{
    static const double y[] = {1e-12};
    static const double w[] = {1.0};
    sample s = {y, w, 1, 0};
    static const double starts[] = {1.0};
    cvm__mle_problem pr = mle_problem(1, exp_loglik, &s, starts, 1);
    cvm__mle_result res;
    ck_assert_int_eq(cvm__mle_fit(&pr, &res), CVM_OK);
    assert_rel(res.params[0], exp(CVM__LOG_BOUND), 1e-15);
}
END_TEST

/* One iteration from far away cannot converge: CVM_E_NOT_CONVERGED, a
 * detail naming the start and the reason, finite positive params (checked
 * for finiteness only: no tolerance applies to an unconverged point). */
START_TEST(mle_not_converged_reports)
{
    sample s = {sample_y, sample_w, 8, 0};
    static const double starts[] = {100.0, 100.0, 0.001, 50.0, 1e4, 1e-4, 1e-5, 1e5};
    cvm__mle_problem pr = mle_problem(2, normal_loglik, &s, starts, 4);
    cvm__mle_result res;
    pr.max_iterations = 1;
    ck_assert_int_eq(cvm__mle_fit(&pr, &res), CVM_E_NOT_CONVERGED);
    ck_assert(!res.converged);
    ck_assert(!res.has_stderr);
    ck_assert_int_gt((int)strlen(res.detail), 0);
    ck_assert_msg(strstr(res.detail, "start 1: iteration limit") != NULL, "%s", res.detail);
    ck_assert_msg(strstr(res.detail, "start 2:") != NULL, "%s", res.detail);
    ck_assert_int_lt((int)strlen(res.detail), (int)sizeof res.detail); /* truncated, terminated */
    ck_assert(isfinite(res.params[0]) && res.params[0] > 0.0);
    ck_assert(isfinite(res.params[1]) && res.params[1] > 0.0);
    ck_assert(isfinite(res.loglik));
}
END_TEST

/* The normal likelihood, undefined (NaN) for mu > 5: a first start there is
 * hopeless (no finite point for BFGS, so Nelder-Mead is tried and rescues
 * it if any vertex is finite), and a later start must still be reached.
 * Tolerance 1e-7 as in mle_normal_closed_form. */
static double normal_partial(void *ctx, const double *p, double *grad)
{
    if (p[0] > 5.0) {
        if (grad != NULL) {
            grad[0] = grad[1] = NAN;
        }
        return NAN;
    }
    return normal_loglik(ctx, p, grad);
}

START_TEST(mle_skips_nonfinite_start)
{
    sample s = {sample_y, sample_w, 8, 0};
    static const double starts[] = {1e6, 1.0, 1.0, 1.0};
    cvm__mle_problem pr = mle_problem(2, normal_partial, &s, starts, 2);
    cvm__mle_result res;
    double W, S, S2;
    sample_stats(&s, &W, &S, &S2);
    ck_assert_int_eq(cvm__mle_fit(&pr, &res), CVM_OK);
    assert_rel(res.params[0], S / W, 1e-7);
}
END_TEST

static double always_nan(void *ctx, const double *p, double *grad)
{
    (void)ctx;
    (void)p;
    if (grad != NULL) {
        grad[0] = NAN;
    }
    return NAN;
}

/* Nothing finite anywhere: not converged, the first start as params (to
 * 1e-15: it went through log and exp once). */
START_TEST(mle_nothing_finite)
{
    sample s = {sample_y, sample_w, 8, 0};
    static const double starts[] = {2.5, 7.0};
    cvm__mle_problem pr = mle_problem(1, always_nan, &s, starts, 2);
    cvm__mle_result res;
    ck_assert_int_eq(cvm__mle_fit(&pr, &res), CVM_E_NOT_CONVERGED);
    assert_rel(res.params[0], 2.5, 1e-15);
    ck_assert_msg(strstr(res.detail, "start 2: no finite value") != NULL, "%s", res.detail);
}
END_TEST

/* A parameter the likelihood ignores: the fit converges (zero gradient) but
 * the Hessian is singular, so no standard errors. The ignored parameter
 * never moves: 1e-15 covers the log/exp round trip. */
static double ignores_second(void *ctx, const double *p, double *grad)
{
    double ll = exp_loglik(ctx, p, grad);
    if (grad != NULL) {
        grad[1] = 0.0;
    }
    return ll;
}

START_TEST(mle_singular_hessian)
{
    sample s = {sample_y, sample_w, 8, 0};
    static const double starts[] = {1.0, 3.0};
    cvm__mle_problem pr = mle_problem(2, ignores_second, &s, starts, 1);
    cvm__mle_result res;
    ck_assert_int_eq(cvm__mle_fit(&pr, &res), CVM_OK);
    ck_assert(!res.has_stderr);
    ck_assert(res.stderrs[0] == 0.0 && res.stderrs[1] == 0.0);
    assert_rel(res.params[1], 3.0, 1e-15);
}
END_TEST

/* Misuse is a status, not a crash (no numbers, no tolerance). */
START_TEST(mle_rejects_bad_problem)
{
    cvm__mle_problem pr;
    cvm__mle_result res;
    memset(&pr, 0, sizeof pr);
    ck_assert_int_eq(cvm__mle_fit(&pr, &res), CVM_E_INVALID);
    ck_assert_int_eq(cvm__mle_fit(NULL, &res), CVM_E_INVALID);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("math");
    TCase *tc = tcase_create("special");
    tcase_add_test(tc, lgamma_known_values);
    tcase_add_test(tc, lgamma_matches_libm);
    tcase_add_test(tc, special_domain);
    tcase_add_test(tc, digamma_values);
    tcase_add_test(tc, lbeta_extremes);
    tcase_add_test(tc, logsumexp_forms);
    tcase_add_test(tc, lpochhammer_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("optim");
    tcase_add_test(tc, bfgs_rosenbrock);
    tcase_add_test(tc, nelder_mead_rosenbrock);
    tcase_add_test(tc, minimum_outside_box);
    tcase_add_test(tc, nan_region_backtracked);
    suite_add_tcase(s, tc);
    tc = tcase_create("mle");
    tcase_add_test(tc, mle_normal_closed_form);
    tcase_add_test(tc, mle_penalizer_shifts_optimum);
    tcase_add_test(tc, mle_converges_on_bound);
    tcase_add_test(tc, mle_not_converged_reports);
    tcase_add_test(tc, mle_skips_nonfinite_start);
    tcase_add_test(tc, mle_nothing_finite);
    tcase_add_test(tc, mle_singular_hessian);
    tcase_add_test(tc, mle_rejects_bad_problem);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
