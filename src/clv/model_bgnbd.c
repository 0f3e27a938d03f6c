/* BG/NBD (Fader, Hardie & Lee 2005) and the shared core of MBG/NBD
 * (Batislam, Denizel & Filiztekin 2007; model_mbgnbd.c holds its table).
 *
 * Both: purchases at rate lambda ~ Gamma(r, alpha) while alive; after each
 * purchase the customer drops out with probability p ~ Beta(a, b). MBG/NBD
 * also lets the customer drop at time 0, right after the first purchase.
 * With s = 0 (BG/NBD) or 1 (MBG/NBD) and delta = [x > 0] (BG/NBD) or 1:
 *
 *   L = Gamma(r+x) alpha^r / Gamma(r) * B(a, b+x+s) / B(a, b) * (alpha+T)^-(r+x)
 *       * (1 + delta a/(b+x+s-1) ((alpha+T)/(alpha+t_x))^(r+x))
 *
 * and e^D, D = log(a/(b+x+s-1)) + (r+x) log((alpha+T)/(alpha+t_x)), is the
 * odds of "dropped after the last purchase" against "alive at T", so
 * P(alive) = 1/(1 + delta e^D) (FHL eq. 11; Batislam et al. eq. 5).
 *
 * Log-likelihood and gradient: the x-dependent special-function terms
 * (log Gamma and log Beta ratios and their digamma derivatives) are
 * tabulated once per call for x = 0..XCACHE-1 by their recurrences in x,
 * the logs of alpha + T and alpha + t_x are memoised per value, and a row
 * costs one exp, one log and two divisions (about 30 ns with the gradient
 * on 217k shuffled distinct rows; 25 ns without).
 *
 * Predictions: given alive, lambda and p, the expected purchases in the next
 * t are (1 - e^(-lambda p t)) / p. Integrating lambda out of the alive part
 * of the posterior leaves, with u = t/(alpha+T) and A = r + x,
 *
 *   E[X(T, T+t) | x, t_x, T] = P(alive) * F(A, a, b+x+s, u),
 *   F(A, a, c, u) = E[(1 - (1+p u)^-A) / p],  p ~ Beta(a, c),
 *
 * and E[X(t)] = F(r, a, b, t/alpha) (BG/NBD),
 * b/(a+b) F(r, a, b+1, t/alpha) (MBG/NBD). F has the closed form
 * (a+c-1)/(a-1) [1 - (1+u)^-A 2F1(A, c; a+c-1; u/(1+u))] (FHL eq. 10 and 9;
 * lifetimes' ModifiedBetaGeoFitter). As printed it is 0/0 at a = 1 and
 * needs about (r+x) u series terms; we sum it after Euler's transformation
 * (future_series), which removes both, and check the rounding of the
 * result; then (a >> 1, where the transformed series cancels) try the
 * printed form with cvm__log_hyp2f1. Where neither is accurate to about
 * 1e-10 (the bracket cancels when r + x << a + b + x, e.g. tiny r with
 * x = 0), defined (a + b <= 1 with x = 0: no 2F1) or fast (t >> alpha + T
 * with small x: z near 1), F is the integral over the logit of p by a
 * double-exponential rule on each side of the integrand's mode
 * (future_quad; 20-150 us). Every path aims at 1e-10 relative or better;
 * against 50-digit references the worst seen was 5e-11. */
#include "clv/clv_int.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* x values tabulated per log-likelihood call (on the stack: 12 KiB). */
#define XCACHE 256

static const char *const bgnbd_names[CVM__CLV_MAXP] = {"r", "alpha", "a", "b"};

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

/* x must be an integer >= 0 for the recurrences; any x >= 0 works in the
 * direct formulas. */
static int count_ok(double x)
{
    return x >= 0.0 && isfinite(x);
}

/* ---- per-x terms -------------------------------------------------------- */

/* Everything about a row that depends on x only (with s = mbg, xs = x + s):
 * A  = lgamma(r+x) - lgamma(r) + lbeta(a, b+xs) - lbeta(a, b)
 * c  = log(a / (b+xs-1)), inv = 1/(b+xs-1)   (BG/NBD x = 0: unused, 0)
 * gr = psi(r+x) - psi(r)
 * ga = d/da [lbeta(a, b+xs) - lbeta(a, b)] = psi(a+b) - psi(a+b+xs)
 * gb = d/db [same] = psi(b+xs) - psi(b) + psi(a+b) - psi(a+b+xs) */
typedef struct xterm {
    double A, c, inv, gr, ga, gb;
} xterm;

/* b + (xs - 1), not b + xs - 1: the latter loses a tiny b to the rounding
 * of b + 1 (b = 1e-6: 1e-10 relative, a log-likelihood above 0). */
static void xterm_direct(const double *p, int mbg, double x, xterm *e)
{
    double r = p[0], a = p[2], b = p[3], xs = x + (double)mbg;
    e->A = cvm__lpochhammer(r, x) + cvm__lpochhammer(b, xs) - cvm__lpochhammer(a + b, xs);
    e->gr = cvm__digamma_diff(r, x);
    e->ga = -cvm__digamma_diff(a + b, xs);
    e->gb = cvm__digamma_diff2(a, b, xs);
    if (xs > 0.0) {
        e->c = log(a) - log(b + (xs - 1.0));
        e->inv = 1.0 / (b + (xs - 1.0));
    } else {
        e->c = 0.0;
        e->inv = 0.0;
    }
}

/* Extend the table from entry n-1 to entry n (n >= 1) by the recurrences
 * lgamma(z+1) = lgamma(z) + log z, psi(z+1) = psi(z) + 1/z. */
static void xterm_next(const double *p, int mbg, const xterm *prev, double n, xterm *e)
{
    double r = p[0], a = p[2], b = p[3];
    double x = n - 1.0, xs = x + (double)mbg; /* of prev */
    double bx = b + xs, abx = a + b + xs;
    e->A = prev->A + log((r + x) * (bx / abx));
    e->gr = prev->gr + 1.0 / (r + x);
    e->ga = prev->ga - 1.0 / abx;
    e->gb = prev->gb + a / (bx * abx);
    e->c = log(a) - log(bx);
    e->inv = 1.0 / bx;
}

/* ---- log-likelihood ------------------------------------------------------ */

/* Rows are taken BLOCK at a time, one libm function over the whole block
 * after another, so that the calls of different rows overlap instead of
 * each row waiting on its own chain log -> exp -> log (32 -> 24 ns a row
 * when measured with four calls a row). */
#define BLOCK 16

/* Calls with fewer rows compute the x-terms and logs directly instead of
 * setting up the tables below. */
#define TABLE_MIN_ROWS 64

/* x-terms of x >= XCACHE (or fractional x, which fitting never passes):
 * a direct-mapped memo. */
#define BIGX 32

/* log(alpha + v) of the rows' T and t_x: summaries on a day or week grid
 * repeat a few hundred values however many rows there are. A 2-way
 * set-associative memo of 2^LCACHE_BITS sets (32 KiB on the stack; with the
 * x-term table a call uses about 48 KiB), used from LCACHE_MIN rows; on
 * data without repeats it costs a hash per log. On 217k shuffled rows with
 * 635 distinct values, 9 bits missed 4% of lookups and cost 25% more time. */
#define LCACHE_BITS 10
#define LCACHE_MIN 2048

typedef struct lset {
    double key[2], val[2];
} lset;

typedef struct logcache {
    lset set[1u << LCACHE_BITS];
    double alpha;
    int on;
} logcache;

static void logcache_init(logcache *c, double alpha, int on)
{
    size_t i;
    c->alpha = alpha;
    c->on = on;
    for (i = 0; on && i < (1u << LCACHE_BITS); i++) {
        c->set[i].key[0] = c->set[i].key[1] = NAN; /* equal to nothing */
    }
}

static inline double cached_log(logcache *c, double v)
{
    uint64_t bits;
    lset *s;
    if (!c->on) {
        return log(c->alpha + v);
    }
    memcpy(&bits, &v, sizeof bits);
    s = &c->set[(bits * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - LCACHE_BITS)];
    if (s->key[0] == v) {
        return s->val[0];
    }
    if (s->key[1] == v) {
        return s->val[1];
    }
    s->key[1] = s->key[0];
    s->val[1] = s->val[0];
    s->key[0] = v;
    s->val[0] = log(c->alpha + v);
    return s->val[0];
}

typedef struct xtable {
    xterm tab[XCACHE]; /* x = 0 .. filled-1 */
    size_t filled;
    xterm big[BIGX];
    double bigkey[BIGX];
    const double *p;
    int mbg, on;
} xtable;

static void xtable_init(xtable *t, const double *p, int mbg, int on)
{
    size_t i;
    t->filled = 0;
    t->p = p;
    t->mbg = mbg;
    t->on = on;
    for (i = 0; i < BIGX; i++) {
        t->bigkey[i] = NAN;
    }
}

/* The x-terms of x >= 0: a table entry (stable while the table grows) or
 * a copy in *spare. */
static const xterm *xterm_of(xtable *t, double x, xterm *spare)
{
    size_t xi;
    if (!t->on) {
        xterm_direct(t->p, t->mbg, x, spare);
        return spare;
    }
    if (x < (double)XCACHE && (double)(xi = (size_t)x) == x) {
        if (xi >= t->filled) {
            if (t->filled == 0) {
                xterm_direct(t->p, t->mbg, 0.0, &t->tab[0]);
                t->filled = 1;
            }
            for (; t->filled <= xi; t->filled++) {
                xterm_next(t->p, t->mbg, &t->tab[t->filled - 1], (double)t->filled,
                           &t->tab[t->filled]);
            }
        }
        return &t->tab[xi];
    }
    {
        uint64_t bits;
        size_t slot;
        memcpy(&bits, &x, sizeof bits);
        slot = (size_t)((bits * UINT64_C(0x9E3779B97F4A7C15)) >> 59); /* BIGX = 2^5 */
        if (t->bigkey[slot] != x) {
            xterm_direct(t->p, t->mbg, x, &t->big[slot]);
            t->bigkey[slot] = x;
        }
        *spare = t->big[slot]; /* a later row of the block may evict the slot */
        return spare;
    }
}

typedef struct llsum {
    double ll, gr, gal, gsig, ga, gb, w;
} llsum;

/* Rows i0 .. i0+m-1 (m <= BLOCK) into s; `grad` 0 skips the derivatives.
 * Returns 0 on a bad x. */
static inline int block_add(llsum *s, xtable *xt, logcache *lc, const cvm__rows *d, size_t i0,
                            size_t m, double r, double alpha, int mbg, int grad)
{
    const xterm *xe[BLOCK];
    xterm spare[BLOCK];
    double rx[BLOCK], LT[BLOCK], dL[BLOCK], D[BLOCK], en[BLOCK], l1[BLOCK];
    size_t j;
    for (j = 0; j < m; j++) {
        double x = d->x[i0 + j];
        if (!count_ok(x)) {
            return 0;
        }
        xe[j] = xterm_of(xt, x, &spare[j]);
        rx[j] = r + x;
        LT[j] = cached_log(lc, d->T[i0 + j]);
        if (x == 0.0 && !mbg) {
            /* BG/NBD without repeat purchases: alive for sure, e^D = 0 */
            dL[j] = 0.0;
            D[j] = -INFINITY;
        } else {
            dL[j] = LT[j] - cached_log(lc, d->t_x[i0 + j]);
            D[j] = xe[j]->c + rx[j] * dL[j];
        }
    }
    for (j = 0; j < m; j++) {
        en[j] = exp(-fabs(D[j]));
    }
    for (j = 0; j < m; j++) {
        /* log1p(en) to an absolute 1.2e-16 (all the LL needs) and faster */
        l1[j] = log(1.0 + en[j]);
    }
    for (j = 0; j < m; j++) {
        double w = d->w[i0 + j], lpe = (D[j] > 0.0 ? D[j] : 0.0) + l1[j];
        s->w += w;
        s->ll += w * (xe[j]->A - rx[j] * LT[j] + lpe);
        if (grad) {
            /* sig = e^D / (1 + e^D), the weight of "dropped after t_x" */
            double q = 1.0 / (1.0 + en[j]), sig = D[j] > 0.0 ? q : en[j] * q;
            double aT = alpha + d->T[i0 + j], atx = alpha + d->t_x[i0 + j];
            double inv = 1.0 / (aT * atx); /* 1/(alpha+T) = atx inv, 1/(alpha+t_x) = aT inv */
            s->gr += w * (xe[j]->gr - LT[j] + sig * dL[j]);
            s->gal -= w * rx[j] * inv * ((1.0 - sig) * atx + sig * aT);
            s->gsig += w * sig;
            s->ga += w * xe[j]->ga;
            s->gb += w * (xe[j]->gb - sig * xe[j]->inv);
        }
    }
    return 1;
}

static inline double family_sum(const double *p, const cvm__rows *d, double *grad, int mbg,
                                int want)
{
    xtable xt;
    logcache lc;
    size_t i;
    double r = p[0], alpha = p[1], a = p[2], la;
    llsum s = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    xtable_init(&xt, p, mbg, d->n >= TABLE_MIN_ROWS);
    logcache_init(&lc, alpha, d->n >= LCACHE_MIN);
    for (i = 0; i < d->n; i += BLOCK) {
        size_t m = d->n - i < BLOCK ? d->n - i : BLOCK;
        if (!block_add(&s, &xt, &lc, d, i, m, r, alpha, mbg, want)) {
            return NAN;
        }
    }
    la = log(alpha);
    if (want) {
        grad[0] = s.gr + s.w * la;
        grad[1] = s.gal + s.w * r / alpha;
        grad[2] = s.ga + s.gsig / a;
        grad[3] = s.gb;
    }
    return s.ll + s.w * r * la;
}

double cvm__bgnbd_family_loglik(const double *p, const cvm__rows *d, double *grad, int mbg)
{
    if (!params_ok(p)) {
        return NAN;
    }
    /* Two instances of the row loop, with and without the derivatives. */
    if (grad != NULL) {
        return mbg ? family_sum(p, d, grad, 1, 1) : family_sum(p, d, grad, 0, 1);
    }
    return mbg ? family_sum(p, d, NULL, 1, 0) : family_sum(p, d, NULL, 0, 0);
}

/* One row without the tables, as the sum of the two parts of L in logs,
 *   alive at T:         -r log1p(T/alpha) - x log(alpha+T),
 *   dropped after t_x:  c - r log1p(t_x/alpha) - x log(alpha+t_x),
 * so that r log alpha never meets r log(alpha+T): with r = 1e6 and alpha =
 * 1e-6 those are 1e7 each, and the loop's form, which sums them, returned
 * +2e-9 for the log of a probability (MBG/NBD, x = 0). */
double cvm__bgnbd_family_row_loglik(const double *p, double x, double t_x, double T, int mbg)
{
    double r = p[0], alpha = p[1], alive, dropped;
    xterm e;
    if (!params_ok(p) || !count_ok(x) || !(t_x >= 0.0) || !(T >= t_x) || isinf(T)) {
        return NAN;
    }
    xterm_direct(p, mbg, x, &e);
    alive = -r * log1p(T / alpha) - (x > 0.0 ? x * log(alpha + T) : 0.0);
    if (x == 0.0 && !mbg) {
        return e.A + alive; /* no repeat purchase, no chance to have dropped out */
    }
    dropped = e.c - r * log1p(t_x / alpha) - (x > 0.0 ? x * log(alpha + t_x) : 0.0);
    return e.A + cvm__logaddexp(alive, dropped);
}

void cvm__bgnbd_family_alive_gh(const double *p, double x, double T, int mbg, double *g,
                                double *h)
{
    double r = p[0], alpha = p[1], a = p[2], b = p[3];
    *h = -(r + x);
    /* BG/NBD: no repeat purchase, no chance to have dropped out */
    *g = x == 0.0 && !mbg ? -INFINITY
                          : log(a / (b + (x + (double)mbg - 1.0))) + (r + x) * log(alpha + T);
}

double cvm__bgnbd_alive_k(const double *p, double t_x)
{
    return log(p[1] + t_x);
}

/* 1 / (1 + a/(b+x+mbg-1) ((alpha+T)/(alpha+t_x))^(r+x)), split so that
 * scoring can cache the parts (see cvm__model_ops.alive_gh). The difference
 * of the two logs loses at most |(r+x) log(alpha+T)| * 1e-16 in the exponent:
 * 4e-12 relative in the odds at x = 1e4. */
double cvm__bgnbd_family_p_alive(const double *p, double x, double t_x, double T, int mbg)
{
    double g, h, D;
    if (!params_ok(p) || !count_ok(x)) {
        return NAN;
    }
    cvm__bgnbd_family_alive_gh(p, x, T, mbg, &g, &h);
    if (-h <= CVM__ALIVE_SPLIT_MAX || g == -INFINITY) {
        return cvm__alive_odds(g, h, cvm__bgnbd_alive_k(p, t_x));
    }
    /* many purchases: the two logs of the split would cancel; the ratio's
     * log1p keeps full precision when t_x is near T */
    D = log(p[2] / (p[3] + (x + (double)mbg - 1.0))) + (p[0] + x) * log1p((T - t_x) / (p[1] + t_x));
    return D > 0.0 ? exp(-D) / (1.0 + exp(-D)) : 1.0 / (1.0 + exp(D));
}

/* ---- F(A, a, c, u) = E[(1 - (1+pu)^-A)/p], p ~ Beta(a, c) ---------------- */

typedef struct future {
    double A, a, c, u, lu, lA;
} future;

/* e^x, flushed to 0 where it would be subnormal (slow, and negligible
 * wherever it is used here). */
static double exp_flush(double x)
{
    return x < -700.0 ? 0.0 : exp(x);
}

/* log of the integrand of F over v = logit(p) (without 1/B(a, c)):
 * h(v) = (a-1) log p + c log(1-p) + log(1 - (1+pu)^-A), and h'(v) in *dh. */
static double future_h(const future *f, double v, double *dh)
{
    double lp, lq, lpu, pu, l1, ll1, y, lg;
    /* log p and log(1-p) = log p - v, the smaller one by log1pexp */
    if (v >= 0.0) {
        lp = v > 700.0 ? 0.0 : -cvm__log1pexp(-v);
        lq = lp - v;
    } else {
        lq = v < -700.0 ? 0.0 : -cvm__log1pexp(v);
        lp = lq + v;
    }
    lpu = lp + f->lu;
    pu = exp_flush(lpu);
    if (lpu < -20.0) {
        /* log1p(pu) = pu (1 - pu/2 + ...), kept in logs for tiny pu */
        l1 = pu * (1.0 - 0.5 * pu);
        ll1 = lpu - 0.5 * pu;
    } else {
        l1 = log1p(pu);
        ll1 = log(l1);
    }
    y = f->A * l1;
    /* log(1 - e^-y) */
    lg = y < 1e-8 ? f->lA + ll1 - 0.5 * y : log(-expm1(-y));
    if (dh != NULL) {
        /* d/dv log(1 - (1+pu)^-A) = q [pu / ((1+pu) log1p(pu))] [y / expm1(y)] */
        double p = exp_flush(lp), q = exp_flush(lq);
        double r1 = lpu < -20.0 ? 1.0 : pu / ((1.0 + pu) * l1);
        double r2 = y < 1e-300 ? 1.0 : (y > 700.0 ? 0.0 : y / expm1(y));
        *dh = (f->a - 1.0) * q - f->c * p + q * r1 * r2;
    }
    return (f->a - 1.0) * lp + f->c * lq + lg;
}

static double future_dh(const future *f, double v)
{
    double dh;
    (void)future_h(f, v, &dh);
    return dh;
}

/* The mode of h: h'(-inf) = a > 0, h'(+inf) = -c < 0; bracket and Illinois. */
static double future_mode(const future *f)
{
    double v = log(f->a) - log(f->c), lo, hi, flo, fhi, step = 1.0;
    double fv = future_dh(f, v);
    int k, side = 0;
    if (fv == 0.0) {
        return v;
    }
    if (fv > 0.0) {
        lo = v;
        flo = fv;
        hi = v + step;
        while ((fhi = future_dh(f, hi)) > 0.0 && hi < 1e5) {
            lo = hi;
            flo = fhi;
            step *= 2.0;
            hi += step;
        }
    } else {
        hi = v;
        fhi = fv;
        lo = v - step;
        while ((flo = future_dh(f, lo)) < 0.0 && lo > -1e5) {
            hi = lo;
            fhi = flo;
            step *= 2.0;
            lo -= step;
        }
    }
    if (!(flo > 0.0) || !(fhi < 0.0)) {
        return !(flo > 0.0) ? lo : hi;
    }
    for (k = 0; k < 200 && hi - lo > 1e-12 * (1.0 + fabs(lo) + fabs(hi)); k++) {
        double m = (lo * fhi - hi * flo) / (fhi - flo), fm;
        if (!(m > lo && m < hi)) {
            m = 0.5 * (lo + hi);
        }
        fm = future_dh(f, m);
        if (fm == 0.0) {
            return m;
        }
        if (fm > 0.0) {
            lo = m;
            flo = fm;
            if (side == 1) {
                fhi *= 0.5;
            }
            side = 1;
        } else {
            hi = m;
            fhi = fm;
            if (side == -1) {
                flo *= 0.5;
            }
            side = -1;
        }
    }
    return 0.5 * (lo + hi);
}

/* Distance from the mode v0 (direction dir = +-1) at which h has fallen by
 * about 2: the length scale of that side of the integrand. */
static double future_scale(const future *f, double v0, double h0, double dir)
{
    double s = 1.0;
    int k;
    if (future_h(f, v0 + dir * s, NULL) < h0 - 2.0) {
        for (k = 0; k < 60 && future_h(f, v0 + dir * s * 0.25, NULL) < h0 - 2.0; k++) {
            s *= 0.25;
        }
        return s * 0.5;
    }
    for (k = 0; k < 30 && future_h(f, v0 + dir * s * 4.0, NULL) >= h0 - 2.0; k++) {
        s *= 4.0;
    }
    return s * 2.0;
}

/* Sum over the exp-sinh nodes s = sc exp(pi/2 sinh(k step)) of one side of
 * the mode, of f(v0 + dir s) ds/dk with f scaled by e^-h0: every k (all = 1)
 * or the odd k only (all = 0). Inward (k -> -inf) the nodes crowd the mode
 * and the weights vanish double-exponentially; outward the loop stops once
 * the integrand is negligible (it is unimodal). */
static double future_side(const future *f, double v0, double h0, double dir, double sc,
                          double step, int all)
{
    const double half_pi = 1.57079632679489661923;
    int kstep = all ? 1 : 2, k, small = 0;
    double sum = 0.0;
    for (k = all ? 0 : -1; k > -1000; k -= kstep) {
        double tau = (double)k * step, e = exp(half_pi * sinh(tau)), s = sc * e;
        sum += exp_flush(future_h(f, v0 + dir * s, NULL) - h0) * s * half_pi * cosh(tau);
        /* the nodes left hold at most f(v0) s of the side's integral, which
         * is at least f(v0) e^-2 sc */
        if (e * cosh(tau) < 1e-15) {
            break;
        }
    }
    for (k = 1; k < 1000; k += kstep) {
        double tau = (double)k * step, s = sc * exp(half_pi * sinh(tau)), hv;
        if (!(s < 1e250)) {
            break;
        }
        hv = future_h(f, v0 + dir * s, NULL) - h0;
        sum += exp_flush(hv) * s * half_pi * cosh(tau);
        if (hv < -50.0) {
            if (++small >= 2) {
                break;
            }
        } else {
            small = 0;
        }
    }
    return sum;
}

static double future_quad(double A, double a, double c, double u)
{
    future f;
    double v0, h0, sl, sr, step = 0.5, prev, cur, tail;
    int level;
    f.A = A;
    f.a = a;
    f.c = c;
    f.u = u;
    f.lu = log(u);
    f.lA = log(A);
    v0 = future_mode(&f);
    h0 = future_h(&f, v0, NULL);
    if (!isfinite(h0)) {
        return NAN;
    }
    sl = future_scale(&f, v0, h0, -1.0);
    sr = future_scale(&f, v0, h0, 1.0);
    /* Level 0: all nodes k step; each finer level adds the odd multiples of
     * the halved step. The trapezoid sums converge double-exponentially, so
     * once two levels agree to 1e-10 the finer one is far more accurate than
     * that; demanding less would only chase the rounding of h, which is
     * about 1e-16 |h| and reaches 1e-10 where |v| is near 1e6 (a or c tiny). */
    cur = step * (future_side(&f, v0, h0, -1.0, sl, step, 1)
                  + future_side(&f, v0, h0, 1.0, sr, step, 1));
    for (level = 1; level <= 7; level++) {
        double odd;
        prev = cur;
        step *= 0.5;
        odd = future_side(&f, v0, h0, -1.0, sl, step, 0)
              + future_side(&f, v0, h0, 1.0, sr, step, 0);
        cur = 0.5 * prev + step * odd;
        if (level >= 2 && fabs(cur - prev) <= 1e-10 * cur) {
            break;
        }
    }
    tail = h0 - cvm__lbeta(a, c);
    return cur * exp(tail);
}

/* The closed form after Euler's transformation, with cc = a+c-1, z = u/(1+u),
 * e = cc - A:
 *   (1-z)^A 2F1(A, c; cc; z) = (1-z)^(a-1) 2F1(e, a-1; cc; z),
 *   2F1(e, a-1; cc; z) = 1 + (a-1) H,  H = sum_{k>=1} (e)_k (a)_(k-1) / ((cc)_k k!) z^k,
 * so F = cc [(1 - (1-z)^(a-1)) / (a-1) - (1-z)^(a-1) H]: the division by
 * a - 1 is left only in -expm1((a-1) log(1-z)) / (a-1), which is accurate
 * at any a (and log(1/(1-z)) at a = 1), and for large x (cc large, e fixed)
 * the series converges in a few terms where the untransformed one needs
 * about x u. Its terms may change sign (e or a-1 < 0) and the bracket
 * cancels when A << cc; the rounding of both is estimated and the result
 * refused (NaN) beyond 1e-11, as for cc <= 0 and beyond MAX_TERMS terms
 * (z near 1 with small x: the quadrature is then faster). */
#define MAX_TERMS 5000.0

static double future_series(double A, double a, double c, double u)
{
    double cc = a + c - 1.0, am1 = a - 1.0, e, z, L, P, w, h, H, Habs, k, Q, err;
    if (!(cc > 0.0)) {
        return NAN;
    }
    e = cc - A;
    z = u / (1.0 + u);
    L = -log1p(u); /* log(1 - z) */
    P = am1 == 0.0 ? -L : -expm1(am1 * L) / am1;
    w = exp(am1 * L); /* (1-z)^(a-1) */
    h = e * z / cc;
    H = h;
    Habs = fabs(h);
    for (k = 1.0; h != 0.0; k += 1.0) {
        double ratio = (e + k) * (a + k - 1.0) / ((cc + k) * (k + 1.0)) * z;
        /* the ratios tend to z: the tail is at most |h| R / (1 - R) */
        double R = fmax(fabs(ratio), z);
        if (R < 1.0 && fabs(h) * R <= 1e-17 * (1.0 - R) * fabs(H)) {
            break;
        }
        if (k > MAX_TERMS) {
            return NAN;
        }
        h *= ratio;
        H += h;
        Habs += fabs(h);
    }
    Q = w * H;
    err = DBL_EPSILON * (2.0 * P + fabs(Q) + 4.0 * w * Habs);
    if (!(P - Q > 0.0) || !(err <= 1e-11 * (P - Q)) || !isfinite(Q)) {
        return NAN;
    }
    return cc * (P - Q);
}

/* The closed form as printed, with the library's 2F1 (tests compare it),
 * or NaN where it is not accurate to about 1e-10 or its series would be
 * long. */
static double future_printed(double A, double a, double c, double u)
{
    double cc = a + c - 1.0, z, lF, y, l1u, err, nterms;
    if (!(cc > 0.0) || a == 1.0) {
        return NAN;
    }
    /* the series' terms peak near k = A u and then fall like z^k */
    nterms = (A + 1.0) * u + 37.0 / log1p(1.0 / u);
    if (!(nterms <= MAX_TERMS)) {
        return NAN;
    }
    z = u / (1.0 + u);
    lF = cvm__log_hyp2f1(A, c, cc, z, NULL);
    if (!isfinite(lF)) {
        return NAN;
    }
    l1u = log1p(u);
    y = lF - A * l1u;
    /* error of y: rounding of both terms plus the series' own (about one
     * rounding per term); the relative error of 1 - e^y is err / |e^-y - 1| */
    err = DBL_EPSILON * (2.0 + A * l1u + fabs(lF)) + 1e-16 * nterms;
    if (!(err <= 1e-10 * fabs(expm1(-y)))) {
        return NAN;
    }
    return cc / (a - 1.0) * -expm1(y);
}

double cvm__bgnbd_future(double A, double a, double c, double u, int method)
{
    double v;
    if (!(A > 0.0) || !(a > 0.0) || !(c > 0.0) || !(u >= 0.0) || isinf(u) || isinf(A)
        || isinf(a) || isinf(c)) {
        return NAN;
    }
    if (u == 0.0) {
        return 0.0;
    }
    switch (method) {
    case 1:
        return future_series(A, a, c, u);
    case 2:
        return future_quad(A, a, c, u);
    case 3:
        return future_printed(A, a, c, u);
    default:
        v = future_series(A, a, c, u);
        if (isnan(v)) {
            v = future_printed(A, a, c, u); /* e.g. a >> 1, where the series cancels */
        }
        return isnan(v) ? future_quad(A, a, c, u) : v;
    }
}

double cvm__bgnbd_family_expected_alive(const double *p, double t, double x, double T, int mbg)
{
    if (!params_ok(p) || !count_ok(x) || !(t >= 0.0)) {
        return NAN;
    }
    return cvm__bgnbd_future(p[0] + x, p[2], p[3] + x + (double)mbg, t / (p[1] + T), 0);
}

double cvm__bgnbd_family_expected_new(const double *p, double t, int mbg)
{
    double r = p[0], alpha = p[1], a = p[2], b = p[3];
    if (!params_ok(p) || !(t >= 0.0)) {
        return NAN;
    }
    if (mbg) {
        /* E[(1-p)/p (1 - (1+p u)^-r)] = b/(a+b) F(r, a, b+1, u) */
        return b / (a + b) * cvm__bgnbd_future(r, a, b + 1.0, t / alpha, 0);
    }
    return cvm__bgnbd_future(r, a, b, t / alpha, 0);
}

/* ---- P(X(t) = k) ---------------------------------------------------------- */

/* log I_x(pa, pb), the regularised incomplete beta function, given
 * lx = log x, ly = log(1-x) and y = 1-x computed without cancellation. Its
 * continued fraction (modified Lentz) converges fast for x < (pa+1)/(pa+pb+2);
 * above, I_x(pa, pb) = 1 - I_y(pb, pa). NaN if it does not converge. */
static double ibeta_cf(double pa, double pb, double x)
{
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (pa + pb) * x / (pa + 1.0), h, m;
    if (fabs(d) < tiny) {
        d = tiny;
    }
    d = 1.0 / d;
    h = d;
    for (m = 1.0; m < 1e6; m += 1.0) {
        double m2 = 2.0 * m, num, del;
        num = m * (pb - m) * x / ((pa + m2 - 1.0) * (pa + m2));
        d = 1.0 + num * d;
        d = fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
        c = 1.0 + num / c;
        c = fabs(c) < tiny ? tiny : c;
        h *= d * c;
        num = -(pa + m) * (pa + pb + m) * x / ((pa + m2) * (pa + m2 + 1.0));
        d = 1.0 + num * d;
        d = fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
        c = 1.0 + num / c;
        c = fabs(c) < tiny ? tiny : c;
        del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-15) {
            return h;
        }
    }
    return NAN;
}

static double log_ibeta(double pa, double pb, double x, double y, double lx, double ly)
{
    if (x <= 0.0) {
        return -INFINITY;
    }
    if (y <= 0.0) {
        return 0.0;
    }
    if (x < (pa + 1.0) / (pa + pb + 2.0)) {
        return pa * lx + pb * ly - cvm__lbeta(pa, pb) - log(pa) + log(ibeta_cf(pa, pb, x));
    }
    return log1p(-exp(pb * ly + pa * lx - cvm__lbeta(pa, pb) - log(pb)) * ibeta_cf(pb, pa, y));
}

double cvm__bgnbd_family_prob_count(const double *p, double t, double k, int mbg)
{
    double r = p[0], alpha = p[1], a = p[2], b = p[3], s = (double)mbg;
    double lnbd, lx, ly, x, y, t1, t2, lab;
    if (!params_ok(p) || !(t >= 0.0) || isinf(t) || !(k >= 0.0) || k != floor(k)
        || isinf(k)) {
        return NAN;
    }
    if (t == 0.0) {
        /* nobody has purchased again yet (MBG/NBD: dropping at 0 is still X = 0) */
        return k == 0.0 ? 1.0 : 0.0;
    }
    x = t / (alpha + t);     /* NBD "success" probability */
    y = alpha / (alpha + t); /* 1 - x */
    lx = -log1p(alpha / t);
    ly = -log1p(t / alpha);
    lab = cvm__lbeta(a, b);
    /* NBD(k) = Gamma(r+k) / (Gamma(r) k!) y^r x^k */
    lnbd = (k > 0.0 ? -log(k) - cvm__lbeta(r, k) : 0.0) + r * ly + k * lx;
    /* alive throughout: B(a, b+k+s)/B(a, b) NBD(k) */
    t1 = cvm__lbeta(a, b + k + s) - lab + lnbd;
    /* dropped after the k-th purchase, which came before t:
     * B(a+1, b+k+s-1)/B(a, b) P(N(t) >= k), P(N(t) >= k) = I_x(k, r) */
    if (k == 0.0) {
        if (!mbg) {
            return fmin(exp(t1), 1.0);
        }
        t2 = cvm__lbeta(a + 1.0, b) - lab;
    } else {
        t2 = cvm__lbeta(a + 1.0, b + (k + s - 1.0)) - lab + log_ibeta(k, r, x, y, lx, ly);
    }
    /* rounding of the log-Betas can push a certainty a few ulps past 1 */
    return fmin(exp(cvm__logaddexp(t1, t2)), 1.0);
}

/* ---- starting points --------------------------------------------------- */

size_t cvm__bgnbd_family_starts(const cvm__rows *d, double *p, size_t max)
{
    /* (r, a, b) shapes; alpha follows from the mean rate sum(x)/sum(T) as
     * r / rate (the mean of Gamma(r, alpha) is r/alpha). */
    static const double shape[6][3] = {
        {0.5, 0.8, 2.5}, {1.0, 1.5, 3.0}, {0.25, 0.5, 1.0}, {2.0, 3.0, 10.0},
        {0.1, 0.3, 0.5}, {5.0, 1.0, 1.0},
    };
    double sx = 0.0, sT = 0.0, rate;
    size_t i, n = 0;
    for (i = 0; i < d->n; i++) {
        sx += d->w[i] * d->x[i];
        sT += d->w[i] * d->T[i];
    }
    rate = sx > 0.0 && sT > 0.0 ? sx / sT : 1.0;
    if (!isfinite(rate) || !(rate > 0.0)) {
        rate = 1.0;
    }
    for (n = 0; n < max && n < 6; n++) {
        p[4 * n + 0] = shape[n][0];
        p[4 * n + 1] = shape[n][0] / rate;
        p[4 * n + 2] = shape[n][1];
        p[4 * n + 3] = shape[n][2];
    }
    return n;
}

/* ---- the BG/NBD table ---------------------------------------------------- */

static double bgnbd_loglik(const double *p, const cvm__rows *d, double *grad)
{
    return cvm__bgnbd_family_loglik(p, d, grad, 0);
}

static double bgnbd_row_loglik(const double *p, double x, double t_x, double T)
{
    return cvm__bgnbd_family_row_loglik(p, x, t_x, T, 0);
}

static double bgnbd_p_alive(const double *p, double x, double t_x, double T)
{
    return cvm__bgnbd_family_p_alive(p, x, t_x, T, 0);
}

static double bgnbd_expected_alive(const double *p, double t, double x, double T)
{
    return cvm__bgnbd_family_expected_alive(p, t, x, T, 0);
}

static double bgnbd_expected_new(const double *p, double t)
{
    return cvm__bgnbd_family_expected_new(p, t, 0);
}

static double bgnbd_prob_count(const double *p, double t, double k)
{
    return cvm__bgnbd_family_prob_count(p, t, k, 0);
}

static void bgnbd_alive_gh(const double *p, double x, double T, double *g, double *h)
{
    cvm__bgnbd_family_alive_gh(p, x, T, 0, g, h);
}

const cvm__model_ops cvm__bgnbd_ops = {
    "bgnbd",
    "BG/NBD",
    bgnbd_names,
    0, /* continuous time */
    1, /* x > 0 needs t_x > 0 */
    cvm__bgnbd_family_starts,
    bgnbd_loglik,
    bgnbd_row_loglik,
    bgnbd_p_alive,
    bgnbd_expected_alive,
    bgnbd_expected_new,
    bgnbd_prob_count,
    bgnbd_alive_gh,
    cvm__bgnbd_alive_k,
};
