/* BG/BB (Fader, Hardie & Shang 2010, "Customer-base analysis in a
 * discrete-time noncontractual setting", Marketing Science 29(6)).
 *
 * n transaction opportunities after the first; while alive a customer
 * transacts at each with probability p ~ Beta(alpha, beta), and before each
 * dies with probability theta ~ Beta(gamma, delta). Data: x transactions,
 * the last at opportunity t_x, n = T opportunities (integers,
 * 0 <= x <= t_x <= n, t_x = 0 when x = 0). With B the Beta function:
 *
 *   L = B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta)
 *     + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha, beta)
 *                           B(gamma+1, delta+t_x+i)/B(gamma, delta)      (FHS eq. 5)
 *
 * The first term is "alive at n", the i-th "alive at t_x + i, dead at the
 * next". The i-terms fall monotonically (their ratio is
 * (beta+t_x-x+i)/(alpha+beta+t_x+i) (delta+t_x+i)/(gamma+delta+1+t_x+i)), so
 * they are summed by that recurrence relative to the first, and every
 * digamma difference of the gradient is an integer-step sum updated along
 * the same loop (sums like psi(beta+k) - psi(alpha+beta+k) are carried as
 * sums of alpha/((beta+j)(alpha+beta+j)), which do not cancel). A row costs
 * O(n - t_x) plus at most 64 terms per base sum.
 *
 * Predictions, with pa = P(alive at n | x, t_x, n) = (first term) / L:
 *   P(alive at n+1) = pa (delta+n)/(gamma+delta+n)                  (eq. 11)
 *   E[X(n, n+m) | x, t_x, n] = (alpha+x)/(alpha+beta+n) pa
 *        sum_{j=1}^{m} B(gamma, delta+n+j)/B(gamma, delta+n)          (eq. 13)
 *   E[X(n)] = alpha/(alpha+beta) sum_{j=1}^{n} B(gamma, delta+j)/B(gamma, delta)  (eq. 7)
 *   P(X(n) = x) = C(n,x) B(alpha+x, beta+n-x)/B(alpha,beta) B(gamma, delta+n)/B(gamma,delta)
 *        + sum_{i=x}^{n-1} C(i,x) B(alpha+x, beta+i-x)/B(alpha,beta)
 *                          B(gamma+1, delta+i)/B(gamma,delta)           (eq. 6)
 * The sums over j are the telescoped Gamma-function differences of the
 * paper, e.g. delta/(gamma-1) [1 - Gamma(gamma+delta) Gamma(1+delta+n) /
 * (Gamma(gamma+delta+n) Gamma(1+delta))] for eq. 7; those divide by
 * gamma - 1 and cancel near gamma = 1, so up to SUM_DIRECT terms are added
 * one by one (each term the previous times (d+m)/(g+d+m), no cancellation)
 * and only longer horizons use the closed form (see survival_sum). */
#include "clv/clv_int.h"

#include <math.h>

/* Horizons up to this many opportunities are summed term by term. */
#define SUM_DIRECT 100000.0

static const char *const bgbb_names[CVM__CLV_MAXP] = {"alpha", "beta", "gamma", "delta"};

static int params_ok(const double *p)
{
    int j;
    for (j = 0; j < 4; j++) {
        if (!(p[j] > 0.0) || isinf(p[j])) {
            return 0;
        }
    }
    return 1;
}

static int whole(double v)
{
    return v >= 0.0 && v == floor(v) && isfinite(v);
}

/* 0 <= x <= t_x <= n integers (t_x = 0 allowed with x = 0). */
static int row_ok(double x, double t_x, double n)
{
    return whole(x) && whole(t_x) && whole(n) && x <= t_x && t_x <= n;
}

/* log B(a + j, b + k) / B(a, b). A difference of log-Betas loses about
 * 1e-16 of the larger one: nothing while B(a, b) is moderate, but 3e-10 at
 * a = b = 1e6, enough to give the log of a certainty as +4e-11; there the
 * rising factorials (slower) keep the ratio's own precision. */
static double lbeta_ratio(double a, double b, double l0, double j, double k)
{
    /* l0 = log B(a, b) */
    if (fabs(l0) < 64.0) {
        return cvm__lbeta(a + j, b + k) - l0;
    }
    return cvm__lpochhammer(a, j) + cvm__lpochhammer(b, k) - cvm__lpochhammer(a + b, j + k);
}

/* log L of one row (integers checked by the caller) and, when g is not
 * NULL, its gradient added to g with weight w. Also *palive = P(alive at n)
 * when palive is not NULL. Differences of the counts are taken before a
 * parameter is added: be + n - x would lose a tiny beta's digits to the
 * large n (beta 1e-6, n = x = 1e5 gave a log-likelihood of +2e-6). */
static double row_eval(const double *p, double x, double tx, double n, double *g, double w,
                       double *palive)
{
    double al = p[0], be = p[1], ga = p[2], de = p[3];
    double ab = al + be, gd = ga + de;
    double talive, t0, lraw, pa, rest, S = 0.0, rho = 1.0, k;
    /* along k = t_x .. n: H(ab, k), D(al, be, k-x) - H(ab+k-x, x), H(gd, k+1),
     * D(ga, de, k) - 1/(gd+k), and their rho-weighted sums */
    double hab = 0.0, dab = 0.0, hx = 0.0, hgd1 = 0.0, dgd = 0.0;
    double sa = 0.0, sb = 0.0, sg = 0.0, sd = 0.0;
    const double lab = cvm__lbeta(al, be), lgd = cvm__lbeta(ga, de);
    talive = lbeta_ratio(al, be, lab, x, n - x) + lbeta_ratio(ga, de, lgd, 0.0, n);
    if (g != NULL) {
        hab = cvm__digamma_diff(ab, tx);
        dab = cvm__digamma_diff2(al, be, tx - x);
        hx = cvm__digamma_diff(ab + (tx - x), x);
        hgd1 = cvm__digamma_diff(gd, tx + 1.0);
        dgd = cvm__digamma_diff2(ga, de, tx);
    }
    for (k = tx; k < n; k += 1.0) {
        double bk = be + (k - x), abk = ab + (k - x);
        S += rho;
        if (g != NULL) {
            sa += rho * hab;
            sb += rho * (dab - hx);
            sg += rho * hgd1;
            sd += rho * (dgd - 1.0 / (gd + k));
            hab += 1.0 / (ab + k);
            dab += al / (bk * abk);
            hx -= x / (abk * (abk + x)); /* H(z+1, x) - H(z, x) = 1/(z+x) - 1/z */
            hgd1 += 1.0 / (gd + k + 1.0);
            dgd += ga / ((de + k) * (gd + k));
        }
        rho *= bk / (ab + k) * ((de + k) / (gd + 1.0 + k));
    }
    if (S > 0.0) {
        t0 = lbeta_ratio(al, be, lab, x, tx - x) + lbeta_ratio(ga, de, lgd, 1.0, tx) + log(S);
        lraw = cvm__logaddexp(talive, t0);
        rest = exp(t0 - lraw); /* P(died before n) */
        pa = exp(talive - lraw);
    } else {
        lraw = talive;
        rest = 0.0;
        pa = 1.0;
    }
    if (palive != NULL) {
        *palive = pa;
    }
    if (g != NULL) {
        double c = S > 0.0 ? rest / S : 0.0;
        /* at k = n now: hab = H(ab, n), dab - hx = D(al, be, n-x) - H(ab+n-x, x),
         * dgd = D(ga, de, n), hgd1 - 1/(gd+n) = H(gd, n) */
        g[0] += w * (cvm__digamma_diff(al, x) - pa * hab - c * sa);
        g[1] += w * (pa * (dab - hx) + c * sb);
        g[2] += w * (rest / ga - pa * (hgd1 - 1.0 / (gd + n)) - c * sg);
        g[3] += w * (pa * dgd + c * sd);
    }
    return lraw;
}

static double bgbb_loglik(const double *p, const cvm__rows *d, double *grad)
{
    double ll = 0.0;
    size_t i;
    if (!params_ok(p)) {
        return NAN;
    }
    if (grad != NULL) {
        grad[0] = grad[1] = grad[2] = grad[3] = 0.0;
    }
    for (i = 0; i < d->n; i++) {
        double w = d->w[i];
        if (w == 0.0) {
            continue;
        }
        if (!row_ok(d->x[i], d->t_x[i], d->T[i])) {
            return NAN;
        }
        ll += w * row_eval(p, d->x[i], d->t_x[i], d->T[i], grad, w, NULL);
    }
    return ll;
}

static double bgbb_row_loglik(const double *p, double x, double t_x, double T)
{
    if (!params_ok(p) || !row_ok(x, t_x, T)) {
        return NAN;
    }
    return row_eval(p, x, t_x, T, NULL, 0.0, NULL);
}

static double bgbb_p_alive(const double *p, double x, double t_x, double T)
{
    double pa;
    if (!params_ok(p) || !row_ok(x, t_x, T)) {
        return NAN;
    }
    (void)row_eval(p, x, t_x, T, NULL, 0.0, &pa);
    return pa * ((p[3] + T) / (p[2] + p[3] + T));
}

/* sum_{j=1}^{N} prod_{m<j} (d+m)/(g+d+m) = sum_j B(g, d+j)/B(g, d): term by
 * term up to SUM_DIRECT, else the closed form
 * d/(g-1) [1 - Gamma(g+d) Gamma(1+d+N) / (Gamma(g+d+N) Gamma(1+d))]
 * (d psi differences at g = 1), whose relative error grows to about
 * 1e-16 N log N / |(g-1) log N| near g = 1 (2e-7 at N = 1e5, g = 1 +- 1e-4). */
static double survival_sum(double gg, double d, double N)
{
    if (N <= SUM_DIRECT) {
        double s = 0.0, term = 1.0, m;
        for (m = 0.0; m < N; m += 1.0) {
            term *= (d + m) / (gg + d + m);
            s += term;
        }
        return s;
    }
    if (gg == 1.0) {
        return d * cvm__digamma_diff(1.0 + d, N);
    }
    return d / (gg - 1.0)
           * -expm1(cvm__lpochhammer(1.0 + d, N) - cvm__lpochhammer(gg + d, N));
}

/* E[X(n, n+t) | alive at n+1, x, n] = (alpha+x)/(alpha+beta+n)
 * [1 + sum_{j=1}^{t-1} B(gamma, delta+n+1+j)/B(gamma, delta+n+1)]. */
static double bgbb_expected_alive(const double *p, double t, double x, double T)
{
    if (!params_ok(p) || !whole(t) || !whole(x) || !whole(T) || x > T) {
        return NAN;
    }
    if (t == 0.0) {
        return 0.0;
    }
    return (p[0] + x) / (p[0] + p[1] + T) * (1.0 + survival_sum(p[2], p[3] + T + 1.0, t - 1.0));
}

static double bgbb_expected_new(const double *p, double t)
{
    if (!params_ok(p) || !whole(t)) {
        return NAN;
    }
    return p[0] / (p[0] + p[1]) * survival_sum(p[2], p[3], t);
}

static double bgbb_prob_count(const double *p, double t, double k)
{
    double al = p[0], be = p[1], ga = p[2], de = p[3], n = t;
    double last, lt, lab, lgd, sum = 1.0, term = 1.0, i;
    if (!params_ok(p) || !whole(t) || !whole(k)) {
        return NAN;
    }
    if (k > n) {
        return 0.0;
    }
    lab = cvm__lbeta(al, be);
    lgd = cvm__lbeta(ga, de);
    /* alive at n with k transactions in any of the C(n, k) patterns */
    last = -log(n + 1.0) - cvm__lbeta(k + 1.0, n - k + 1.0) + lbeta_ratio(al, be, lab, k, n - k)
           + lbeta_ratio(ga, de, lgd, 0.0, n);
    if (k == n) {
        return fmin(exp(last), 1.0);
    }
    /* died after opportunity i (k <= i < n) with k transactions among the
     * first i; terms relative to the first (i = k), rescaled against
     * overflow: the binomial factor can grow while the first term is tiny. */
    lt = lbeta_ratio(al, be, lab, k, 0.0) + lbeta_ratio(ga, de, lgd, 1.0, k);
    for (i = k; i + 1.0 < n; i += 1.0) {
        term *= (i + 1.0) / (i + 1.0 - k) * ((be + (i - k)) / (al + be + i))
                * ((de + i) / (ga + de + 1.0 + i));
        sum += term;
        if (term > 1e250) {
            term *= 1e-250;
            sum *= 1e-250;
            lt += 250.0 * 2.30258509299404568402;
        }
    }
    /* rounding of the log-Betas can push a certainty a few ulps past 1 */
    return fmin(exp(cvm__logaddexp(last, lt + log(sum))), 1.0);
}

static size_t bgbb_starts(const cvm__rows *d, double *p, size_t max)
{
    /* (alpha, beta) with the observed share of opportunities taken,
     * f = sum(x)/sum(n), as their mean alpha/(alpha+beta) at a few
     * concentrations; (gamma, delta) for slow and fast dropout. */
    static const double shape[4][3] = {
        {2.0, 0.7, 2.8}, {1.0, 1.0, 1.0}, {5.0, 0.3, 0.7}, {0.5, 2.0, 10.0},
    };
    double sx = 0.0, sn = 0.0, f;
    size_t i, n;
    for (i = 0; i < d->n; i++) {
        sx += d->w[i] * d->x[i];
        sn += d->w[i] * d->T[i];
    }
    f = sn > 0.0 ? sx / sn : 0.5;
    if (!(f > 0.01)) {
        f = 0.01;
    }
    if (!(f < 0.99)) {
        f = 0.99;
    }
    for (n = 0; n < max && n < 4; n++) {
        p[4 * n + 0] = shape[n][0] * f;
        p[4 * n + 1] = shape[n][0] * (1.0 - f);
        p[4 * n + 2] = shape[n][1];
        p[4 * n + 3] = shape[n][2];
    }
    return n;
}

const cvm__model_ops cvm__bgbb_ops = {
    "bgbb",
    "BG/BB",
    bgbb_names,
    1, /* discrete: x, t_x, T are whole numbers of opportunities */
    0, /* x > 0 with t_x = 0 is excluded by x <= t_x already */
    bgbb_starts,
    bgbb_loglik,
    bgbb_row_loglik,
    bgbb_p_alive,
    bgbb_expected_alive,
    bgbb_expected_new,
    bgbb_prob_count,
    NULL, /* P(alive) does not split */
    NULL,
};
