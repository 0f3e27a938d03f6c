/* Pareto/NBD (Schmittlein, Morrison & Colombo 1987), parameters (r, alpha,
 * s, beta): purchases Poisson(lambda) while alive, lifetime Exp(mu),
 * lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta).
 *
 * Likelihood (Fader, Hardie & Lee 2005, "A note on deriving the Pareto/NBD
 * model and related expressions"). Mixing
 *   L(lambda, mu) = lambda^x e^-(lambda+mu)T
 *                 + lambda^x mu int_{t_x}^T e^-(lambda+mu)tau dtau
 * over both gammas gives, with p = r + x and
 *   J(P, Q; t) = int_t^inf (alpha + tau)^-P (beta + tau)^-Q dtau,
 *   L = Gamma(r+x)/Gamma(r) alpha^r beta^s [e^P(T) + s (J(p, s+1; t_x) - J(p, s+1; T))]
 * where e^P(t) = (alpha+t)^-p (beta+t)^-s. FHL write J with 2F1 and the
 * max(alpha, beta) branch; their A0 is (J(t_x) - J(T)) up to the factor.
 * We avoid that difference: integrating by parts,
 *   e^P(T) - s J(p, s+1; T) = p J(p+1, s; T) > 0,
 * so L is the sum of two positive terms p J(p+1, s; T) + s J(p, s+1; t_x)
 * and log L needs no cancellation at all (P(alive) is e^P(T) over it).
 *
 * Each J is, with A = P + Q - 1 = r + s + x and Euler's transformation
 * applied to FHL's 2F1 (all its terms are then positive and shrink by at
 * least z per step):
 *   alpha >= beta: z = (alpha - beta)/(alpha + t),
 *     J = (alpha+t)^-P (beta+t)^(1-Q) 2F1(1, P; A+1; z) / A
 *   beta > alpha:  z = (beta - alpha)/(beta + t),
 *     J = (beta+t)^-Q (alpha+t)^(1-P) 2F1(1, Q; A+1; z) / A.
 * The series and its derivative sums give log J and its gradient in
 * (P, Q, alpha, beta). When z is so close to 1 that the series would need
 * thousands of terms (alpha/beta or beta/alpha huge), J is integrated
 * numerically instead: in v = log(tau - t) the integrand is log-concave with
 * a mode known in closed form, and a double-exponential (sinh) trapezoid rule
 * around it converges fast; the same pass gives the moments the gradient
 * needs (d log J/dP = -E[log(alpha+tau)], d/dalpha = -P E[1/(alpha+tau)]).
 *
 * P(X(t) = x) (Fader & Hardie, "Deriving an expression for P(X(t) = x) under
 * the Pareto/NBD model", 2006) is computed from the same mixture written as
 *   P = Gamma(r+x)/(Gamma(r) x!) [(alpha/(alpha+t))^r (t/(alpha+t))^x (beta/(beta+t))^s
 *       + alpha^r beta^s s int_0^t tau^x (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau],
 * the integral by quadrature (about 40 us a call): the note's closed form
 * B1 - sum_i B2_i is int_0^inf minus int_t^inf of that integrand, which
 * cancels when most of its mass lies beyond t.
 *
 * Cost: the fit evaluates loglik with its gradient some 30-60 times, so it
 * is kept lean: per row two short series (about 10 terms each near the
 * CDNOW estimates), four logs, one exp and one log; lgamma and digamma
 * differences come from per-x running sums; K depends on (x, T) only and is
 * cached, since data measured in days have few distinct T. */
#include "clv/clv_int.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- 2F1(1, b; b + delta; z) ------------------------------------------ */

#define H_MAX_TERMS 1500
#define H_EPS 1e-16
#define H_DEPS 1e-13

/* H and the derivatives of log H: hbc = dlogH/db + dlogH/dc, hc =
 * dlogH/dc, hz = dlogH/dz (c = b + delta). 1 <= H <= 1/(1-z). */
typedef struct hsum {
    double h, hbc, hc, hz;
} hsum;

/* Whether the series, at term t (index k) of sum s, cannot meet its
 * stopping rule within H_MAX_TERMS: the ratios z (b+j)/(c+j) only grow with
 * j, so no later term is below t rho^(terms left), and the sum stays below
 * s + t q. Lets a call that will need the quadrature (z near 1) give up
 * after 64 terms instead of 1500. */
static int h_hopeless(double b, double c, double z, double q, int k, double t, double s)
{
    const double rho = z * (b + (double)k + 1.0) / (c + (double)k + 1.0);
    return t * q * exp((double)(H_MAX_TERMS - k - 1) * log(rho)) > H_EPS * (s + t * q);
}

/* Sum H = 2F1(1, b; b + delta; z) = sum_k (b)_k / (b + delta)_k z^k for
 * b, delta > 0, 0 <= z < 1. Every ratio of successive terms is below z, so
 * the tail after term t is below t z / (1 - z). Returns 0 when more than
 * H_MAX_TERMS terms would be needed. */
static int h_series(double b, double delta, double z, int want, hsum *o)
{
    const double c = b + delta;
    double t = 1.0, s = 1.0, su = 0.0, sv = 0.0, sk = 0.0, u = 0.0, v = 0.0, q, q2;
    int k;
    if (!(z < 1.0)) {
        return 0;
    }
    if (z == 0.0) {
        o->h = 1.0;
        o->hbc = 0.0;
        o->hc = 0.0;
        o->hz = b / c;
        return 1;
    }
    q = z / (1.0 - z);
    q2 = q / (1.0 - z);
    if (!want) {
        for (k = 0; k < H_MAX_TERMS; k++) {
            const double fk = (double)k;
            t *= z * (b + fk) / (c + fk);
            s += t;
            if (t * q <= H_EPS * s) {
                o->h = s;
                return 1;
            }
            if (k == 63 && h_hopeless(b, c, z, q, k, t, s)) {
                return 0;
            }
        }
        return 0;
    }
    for (k = 0; k < H_MAX_TERMS; k++) {
        const double fk = (double)k, bk = b + fk, ck = c + fk;
        /* One division: 1/(bk ck) gives 1/ck and delta/(bk ck). */
        const double inv = 1.0 / (bk * ck);
        u += delta * inv;
        v += bk * inv;
        t *= z * bk * bk * inv;
        s += t;
        su += t * u;
        sv += t * v;
        sk += t * (fk + 1.0);
        if (t * q <= H_EPS * s &&
            t * ((fk + 1.0) * q + q2) <= H_DEPS * sk &&
            t * (u * q + q2 * delta / ((bk + 1.0) * (ck + 1.0))) <= H_DEPS * su &&
            t * (v * q + q2 / (ck + 1.0)) <= H_DEPS * sv) {
            o->h = s;
            o->hbc = su / s;
            o->hc = -sv / s;
            o->hz = sk / (z * s);
            return 1;
        }
        if (k == 63 && h_hopeless(b, c, z, q, k, t, s)) {
            return 0;
        }
    }
    return 0;
}

/* ---- J(P, Q; t) ---------------------------------------------------------- */

/* The parameters and logs every customer needs. */
typedef struct pnbd {
    double r, al, s, be, lal, lbe, ls;
} pnbd;

/* J = h e^(lj - r log alpha - s log beta) (h > 0: the series' sum, kept
 * linear to save a log; 1 from the quadrature) and d log J / d(P, Q, alpha,
 * beta). The shift by r log alpha + s log beta, the likelihood's own factor,
 * is applied analytically: with s = 1e6 a likelihood of 1 - 3e-6 would
 * otherwise be a difference of two numbers of size 3e6. P(t) = -p log(alpha
 * + t) - s log(beta + t), shifted the same way, is the likelihood's term for
 * "alive at t"; lr = lj - P(t) is the part of J that P(alive) needs, which
 * the series gives without the big terms. */
typedef struct tailv {
    double lj, h;
    double lr; /* lj - P(t) (shifted likewise): small, for P(alive) */
    double d[4];
} tailv;

/* Double-exponential quadrature of J: sigma = tau - t = e^v, v = v* + xi,
 * xi = c sinh(u), v* the mode, m = e^v*. The log-integrand relative to the
 * mode,
 *   f(xi) = xi - P la(xi) - Q lb(xi),  la(xi) = log((a1 + sigma) / (a1 + m)),
 * is concave; la is computed from ca0 = log(a1 / (a1 + m)), ca1 =
 * log(m / (a1 + m)) and wa = m / (a1 + m) so that f stays accurate when P
 * is 1e6 (lrel) or A is tiny and xi huge. */
typedef struct jquad {
    double P, Q, A, ca0, ca1, cb0, cb1, wa, wb;
} jquad;

/* log((a1 + sigma) / (a1 + m)) for sigma = m e^xi, with w = m/(a1 + m),
 * c0 = log(1 - w), c1 = log w: relative accuracy near xi = 0, where P times
 * it must stay accurate for P up to 1e6 and more. */
static double lrel(double w, double c0, double c1, double xi)
{
    double y;
    if (xi > 700.0) {
        return xi + c1 + log1p(exp(c0 - c1 - xi));
    }
    y = w * expm1(xi);
    return y > -0.5 ? log1p(y) : cvm__logaddexp(c0, c1 + xi);
}

/* Sums over one level: nodes u = j h, j from -nl to nr stepping `step`
 * (step 2 skips the nodes of the previous level). s[0] = sum of weights,
 * s[1..4] = weighted la, e^-la (relative), lb, e^-lb (relative). */
static void jquad_level(const jquad *q, double c, double h, long j0, long step, long nl, long nr,
                        double s[5])
{
    long j;
    memset(s, 0, 5 * sizeof *s);
    for (j = -nl + ((nl - j0) % step + step) % step; j <= nr; j += step) {
        const double uu = (double)j * h, eu = exp(uu), sh = 0.5 * (eu - 1.0 / eu),
                     ch = 0.5 * (eu + 1.0 / eu);
        const double xi = c * sh;
        double la, lb, f, w;
        if (xi > 1.0 && q->A < 1.0) {
            /* f = -A xi - P (la - xi) - Q (lb - xi): no large terms that
             * cancel when A is tiny and xi huge (P, Q < 2 here). */
            const double la0 = cvm__logaddexp(q->ca0 - xi, q->ca1), lb0 = cvm__logaddexp(q->cb0 - xi, q->cb1);
            f = -q->A * xi - q->P * la0 - q->Q * lb0;
            la = la0 + xi;
            lb = lb0 + xi;
        } else {
            la = lrel(q->wa, q->ca0, q->ca1, xi);
            lb = lrel(q->wb, q->cb0, q->cb1, xi);
            f = xi - q->P * la - q->Q * lb;
        }
        w = c * ch * exp(f);
        if (w == 0.0) {
            continue;
        }
        s[0] += w;
        s[1] += w * la;
        s[2] += w * exp(-la);
        s[3] += w * lb;
        s[4] += w * exp(-lb);
    }
}

/* J(P, Q; t) by quadrature, for any P = r + px, Q = s + qx > 0 with
 * A = P + Q - 1 > 0 (given separately: it may be tiny). Returns 0 if it did
 * not converge. */
static int j_quad(const pnbd *m, double P, double Q, double px, double qx, double A, double t,
                  double x, double da, double db, tailv *o)
{
    const double a1 = m->al + t, b1 = m->be + t;
    const double B = a1 * (1.0 - Q) + b1 * (1.0 - P);
    const double D = sqrt(B * B + 4.0 * A * a1 * b1);
    double sig, lsig, ea, eb, lsa, lsb, kappa, c, xmin, xmax, srl, h, prev = 0.0, s[5], acc[5];
    long nl, nr;
    int level;
    jquad q;

    /* Mode: 1 = P sigma/(a1+sigma) + Q sigma/(b1+sigma), i.e.
     * A sigma^2 - B sigma - a1 b1 = 0. */
    sig = B >= 0.0 ? (B + D) / (2.0 * A) : 2.0 * a1 * b1 / (D - B);
    if (!(sig > 0.0) || !isfinite(sig)) {
        return 0;
    }
    lsig = log(sig);
    ea = log1p((t + sig) / m->al); /* log(a1 + m) = log alpha + ea */
    eb = log1p((t + sig) / m->be);
    lsa = m->lal + ea;
    lsb = m->lbe + eb;
    q.P = P;
    q.Q = Q;
    q.A = A;
    q.ca0 = -log1p(sig / a1);
    q.ca1 = -log1p(a1 / sig);
    q.cb0 = -log1p(sig / b1);
    q.cb1 = -log1p(b1 / sig);
    q.wa = 1.0 / (1.0 + a1 / sig);
    q.wb = 1.0 / (1.0 + b1 / sig);
    /* Curvature of f at the mode sets the inner step. */
    kappa = P * exp(q.ca0 + q.ca1) + Q * exp(q.cb0 + q.cb1);
    c = kappa > 1.0 ? 1.0 / sqrt(kappa) : 1.0;
    /* Ranges: f falls by > 45 within 90 of where its slope passes 1/2
     * (left) or -A/2 (right). */
    xmin = fmin(log(fmin(a1 / (4.0 * P), b1 / (4.0 * Q))) - lsig, 0.0) - 90.0;
    xmax = fmax(log(2.0 * (P * a1 + Q * b1) / A) - lsig, 0.0) + 90.0 / A;
    if (!isfinite(xmin) || !isfinite(xmax)) {
        return 0;
    }
    nl = (long)ceil(asinh(-xmin / c) / 0.5);
    nr = (long)ceil(asinh(xmax / c) / 0.5);
    h = 0.5;
    jquad_level(&q, c, h, 0, 1, nl, nr, acc);
    for (level = 1; level <= 10; level++) {
        double cur;
        int i;
        prev = acc[0] * h;
        h *= 0.5;
        nl *= 2;
        nr *= 2;
        jquad_level(&q, c, h, 1, 2, nl, nr, s);
        for (i = 0; i < 5; i++) {
            acc[i] += s[i];
        }
        cur = acc[0] * h;
        if (level >= 3 && fabs(cur - prev) <= 1e-12 * cur) {
            break;
        }
    }
    if (level > 10 || !(acc[0] > 0.0)) {
        return 0;
    }
    /* log of the integrand at the mode times the mode, shifted */
    srl = lsig - px * m->lal - P * ea - qx * m->lbe - Q * eb;
    o->lj = srl + log(acc[0] * h);
    o->h = 1.0;
    o->lr = o->lj - (-m->r * da - x * (m->lal + da) - m->s * db);
    o->d[0] = -(lsa + acc[1] / acc[0]);
    o->d[1] = -(lsb + acc[3] / acc[0]);
    o->d[2] = -P * exp(-lsa) * acc[2] / acc[0];
    o->d[3] = -Q * exp(-lsb) * acc[4] / acc[0];
    return 1;
}

/* log J(P, Q; t) (shifted as tailv says) and its gradient when want, for
 * P = r + x + eP, Q = s + eQ (eP, eQ 0 or 1), A = P + Q - 1, lA = log A.
 * Returns 0 on failure. */
static int j_eval(const pnbd *m, double x, double eP, double eQ, double A, double lA, double t,
                  int want, tailv *o)
{
    const double P = m->r + x + eP, Q = m->s + eQ, px = x + eP, qx = eQ;
    const double a1 = m->al + t, b1 = m->be + t;
    double la1, lb1, da, db;
    hsum hs;
    /* da = log(1 + t/alpha) enters multiplied by P: log1p where P is so big
     * that log(alpha+t) - log(alpha) would lose digits (log1p is slow). */
    if (t == 0.0) {
        la1 = m->lal;
        lb1 = m->lbe;
        da = db = 0.0;
    } else {
        la1 = log(a1);
        lb1 = log(b1);
        da = P * (fabs(la1) + fabs(m->lal)) < 1e3 ? la1 - m->lal : log1p(t / m->al);
        db = Q * (fabs(lb1) + fabs(m->lbe)) < 1e3 ? lb1 - m->lbe : log1p(t / m->be);
    }
    if (m->al >= m->be) {
        /* (alpha+t)^-P (beta+t)^(1-Q) 2F1(1, P; A+1; z) / A */
        if (h_series(P, Q, (m->al - m->be) / a1, want, &hs)) {
            o->lj = -px * m->lal - P * da + (1.0 - qx) * m->lbe + (1.0 - Q) * db - lA;
            o->lr = (1.0 - eQ) * lb1 - eP * la1 - lA;
            o->h = hs.h;
            if (want) {
                o->d[0] = -la1 + hs.hbc - 1.0 / A;
                o->d[1] = -lb1 + hs.hc - 1.0 / A;
                o->d[2] = -P / a1 + hs.hz * (b1 / a1) / a1;
                o->d[3] = (1.0 - Q) / b1 - hs.hz / a1;
            }
            return 1;
        }
    } else if (h_series(Q, P, (m->be - m->al) / b1, want, &hs)) {
        /* (beta+t)^-Q (alpha+t)^(1-P) 2F1(1, Q; A+1; z) / A */
        o->lj = -qx * m->lbe - Q * db + (1.0 - px) * m->lal + (1.0 - P) * da - lA;
        o->lr = (1.0 - eP) * la1 - eQ * lb1 - lA;
        o->h = hs.h;
        if (want) {
            o->d[0] = -la1 + hs.hc - 1.0 / A;
            o->d[1] = -lb1 + hs.hbc - 1.0 / A;
            o->d[2] = (1.0 - P) / a1 - hs.hz / b1;
            o->d[3] = -Q / b1 + hs.hz * (a1 / b1) / b1;
        }
        return 1;
    }
    return j_quad(m, P, Q, px, qx, A, t, x, da, db, o);
}

/* ---- one customer ------------------------------------------------------ */

static int pnbd_init(pnbd *m, const double *p)
{
    m->r = p[0];
    m->al = p[1];
    m->s = p[2];
    m->be = p[3];
    if (!(m->r > 0 && m->al > 0 && m->s > 0 && m->be > 0) || !isfinite(m->r) ||
        !isfinite(m->al) || !isfinite(m->s) || !isfinite(m->be)) {
        return 0;
    }
    m->lal = log(m->al);
    m->lbe = log(m->be);
    m->ls = log(m->s);
    return 1;
}

static int row_ok(double x, double t_x, double T)
{
    return x >= 0 && t_x >= 0 && t_x <= T && T >= 0 && isfinite(x) && isfinite(T);
}

/* K = J(p+1, s; T), the part of the likelihood alive at T. */
static int pnbd_k(const pnbd *m, double x, double T, double A, double lA, int want, tailv *K)
{
    return j_eval(m, x, 1.0, 0.0, A, lA, T, want, K);
}

/* I = J(p, s+1; t_x), the part of the likelihood dead by T. */
static int pnbd_i(const pnbd *m, double x, double t_x, double A, double lA, int want, tailv *I)
{
    return j_eval(m, x, 0.0, 1.0, A, lA, t_x, want, I);
}

/* logv = log(p K + s I) + r log alpha + s log beta and, when want, the
 * gradient g of log(p K + s I) in (r, alpha, s, beta). lp = log p. */
static int pnbd_combine(const pnbd *m, double p, double lp, const tailv *K, const tailv *I,
                        int want, double *logv, double *g)
{
    /* tailv.d is in (P, Q, alpha, beta); P moves with r, Q with s. */
    static const int map[4] = {0, 2, 1, 3};
    const double lk = lp + K->lj, li = m->ls + I->lj, dl = li - lk;
    double e, sum, pi;
    int i;
    if (dl > 0) {
        e = exp(-dl);
        sum = K->h * e + I->h;
        *logv = li + log(sum);
        pi = K->h * e / sum;
    } else {
        e = exp(dl);
        sum = K->h + I->h * e;
        *logv = lk + log(sum);
        pi = K->h / sum;
    }
    if (want) {
        for (i = 0; i < 4; i++) {
            g[i] = pi * K->d[map[i]] + (1.0 - pi) * I->d[map[i]];
        }
        g[0] += pi / p;
        g[2] += (1.0 - pi) / m->s;
    }
    return isfinite(*logv);
}

/* logv = log(p J(p+1, s; T) + s J(p, s+1; t_x)) + r log alpha + s log beta
 * for one customer. */
static int pnbd_core(const pnbd *m, double x, double t_x, double T, double *logv)
{
    const double p = m->r + x, A = m->r + m->s + x, lA = log(A);
    tailv K, I;
    if (!pnbd_k(m, x, T, A, lA, 0, &K) || !pnbd_i(m, x, t_x, A, lA, 0, &I)) {
        return 0;
    }
    return pnbd_combine(m, p, log(p), &K, &I, 0, logv, NULL);
}

/* log Gamma(r+x)/Gamma(r) and psi(r+x) - psi(r), by sums for small whole x. */
static void rising(double r, double x, double *lg, double *dg)
{
    if (x == floor(x) && x < 64) {
        double a = 0.0, b = 0.0;
        int j, n = (int)x;
        for (j = 0; j < n; j++) {
            a += log(r + j);
            b += 1.0 / (r + j);
        }
        *lg = a;
        *dg = b;
        return;
    }
    *lg = cvm__lpochhammer(r, x);
    *dg = cvm__digamma(r + x) - cvm__digamma(r);
}

static double pnbd_row_loglik(const double *p, double x, double t_x, double T)
{
    pnbd m;
    double lg, dg, lv;
    if (!pnbd_init(&m, p) || !row_ok(x, t_x, T)) {
        return NAN;
    }
    rising(m.r, x, &lg, &dg);
    if (!pnbd_core(&m, x, t_x, T, &lv)) {
        return NAN;
    }
    return lg + lv;
}

/* ---- the weighted sum over rows ---------------------------------------- */

#define XTAB 256

/* Per whole x < XTAB: log Gamma(r+x)/Gamma(r), psi(r+x) - psi(r), log(r+x),
 * log(r+s+x), filled up to `n` as rows need them. */
typedef struct xtab {
    double lg[XTAB], dg[XTAB], lp[XTAB], lA[XTAB];
    int n;
} xtab;

static void xtab_get(xtab *tb, const pnbd *m, double x, double *lg, double *dg, double *lp,
                     double *lA)
{
    if (x == floor(x) && x < XTAB) {
        int k = (int)x;
        while (tb->n <= k) {
            int j = tb->n;
            if (j == 0) {
                tb->lg[0] = 0.0;
                tb->dg[0] = 0.0;
            } else {
                tb->lg[j] = tb->lg[j - 1] + tb->lp[j - 1];
                tb->dg[j] = tb->dg[j - 1] + 1.0 / (m->r + (j - 1));
            }
            tb->lp[j] = log(m->r + j);
            tb->lA[j] = log(m->r + m->s + j);
            tb->n++;
        }
        *lg = tb->lg[k];
        *dg = tb->dg[k];
        *lp = tb->lp[k];
        *lA = tb->lA[k];
        return;
    }
    rising(m->r, x, lg, dg);
    *lp = log(m->r + x);
    *lA = log(m->r + m->s + x);
}

/* K depends on (x, T) only, and data have few distinct T (whole days) and
 * x, so a small direct-mapped cache of K saves most of its series and logs
 * (16 KiB of stack). */
#define KCACHE 256

typedef struct kslot {
    double x, T;
    tailv K;
} kslot;

static size_t kslot_of(double x, double T)
{
    uint64_t a, b;
    double tt = T + 0.0;
    memcpy(&a, &tt, sizeof a);
    b = (uint64_t)x;
    a = (a ^ (a >> 29)) * 0x9E3779B97F4A7C15u;
    a ^= b * 0xC2B2AE3D27D4EB4Fu;
    return (size_t)(a >> 56) % KCACHE;
}

static double pnbd_loglik(const double *p, const cvm__rows *d, double *grad)
{
    pnbd m;
    xtab tb;
    kslot kc[KCACHE];
    tailv i0; /* J(r, s+1; 0): every x = 0 row shares it */
    int have_i0 = 0, want = grad != NULL;
    double sum = 0.0, sw = 0.0, g[4] = {0, 0, 0, 0}, swdg = 0.0;
    size_t i;
    if (!pnbd_init(&m, p)) {
        return NAN;
    }
    tb.n = 0;
    for (i = 0; i < KCACHE; i++) {
        kc[i].x = -1.0;
    }
    for (i = 0; i < d->n; i++) {
        const double x = d->x[i], t_x = d->t_x[i], T = d->T[i], w = d->w[i];
        double lg, dg, lp, lA, lv, rg[4];
        const double pp = m.r + x, A = m.r + m.s + x;
        tailv I;
        const tailv *K, *ip = &I;
        kslot *ks;
        if (w == 0.0) {
            continue;
        }
        if (!row_ok(x, t_x, T)) {
            return NAN;
        }
        xtab_get(&tb, &m, x, &lg, &dg, &lp, &lA);
        ks = &kc[kslot_of(x, T)];
        if (ks->x != x || ks->T != T) {
            if (!pnbd_k(&m, x, T, A, lA, want, &ks->K)) {
                ks->x = -1.0;
                return NAN;
            }
            ks->x = x;
            ks->T = T;
        }
        K = &ks->K;
        if (x == 0.0 && t_x == 0.0) {
            if (!have_i0) {
                if (!pnbd_i(&m, 0.0, 0.0, A, lA, want, &i0)) {
                    return NAN;
                }
                have_i0 = 1;
            }
            ip = &i0;
        } else if (!pnbd_i(&m, x, t_x, A, lA, want, &I)) {
            return NAN;
        }
        if (!pnbd_combine(&m, pp, lp, K, ip, want, &lv, want ? rg : NULL)) {
            return NAN;
        }
        sum += w * (lg + lv);
        sw += w;
        if (want) {
            swdg += w * dg;
            g[0] += w * rg[0];
            g[1] += w * rg[1];
            g[2] += w * rg[2];
            g[3] += w * rg[3];
        }
    }
    if (want) {
        grad[0] = g[0] + swdg + sw * m.lal;
        grad[1] = g[1] + sw * m.r / m.al;
        grad[2] = g[2] + sw * m.lbe;
        grad[3] = g[3] + sw * m.s / m.be;
    }
    return sum;
}

/* ---- predictions ------------------------------------------------------- */

/* P(alive) = e^P(T) / (p K + s I) = 1 / (p K e^-P(T) + s I e^-P(T)), with
 * K e^-P(T) = e^K.lr K.h and I e^-P(T) = e^(I.lr + P(t_x) - P(T)) I.h, where
 * P(t_x) - P(T) = p log(1 + (T-t_x)/(alpha+t_x)) + s log(1 + (T-t_x)/(beta+t_x))
 * has no cancellation: exactly 1 when t_x = T even for s = 1e6. */
static double pnbd_p_alive(const double *p, double x, double t_x, double T)
{
    pnbd m;
    tailv K, I;
    double A, lA, rk, ri, pa;
    if (!pnbd_init(&m, p) || !row_ok(x, t_x, T)) {
        return NAN;
    }
    A = m.r + m.s + x;
    lA = log(A);
    if (!pnbd_k(&m, x, T, A, lA, 0, &K) || !pnbd_i(&m, x, t_x, A, lA, 0, &I)) {
        return NAN;
    }
    rk = log(m.r + x) + K.lr + log(K.h);
    ri = m.ls + I.lr + log(I.h) + (m.r + x) * log1p((T - t_x) / (m.al + t_x)) +
         m.s * log1p((T - t_x) / (m.be + t_x));
    pa = rk > ri ? exp(-rk) / (1.0 + exp(ri - rk)) : exp(-ri) / (1.0 + exp(rk - ri));
    return pa > 1.0 ? 1.0 : pa;
}

/* (1 - (1+u)^-(s-1)) / (s-1), continuous through s = 1 (log(1+u) there). */
static double decay_integral(double s, double u)
{
    const double l = log1p(u), e = (s - 1.0) * l;
    if (fabs(e) < 1e-8) {
        return l * (1.0 - e / 2.0 + e * e / 6.0);
    }
    return -expm1(-e) / (s - 1.0);
}

/* E[X(T, T+t) | alive at T, x, T] = (r+x)(beta+T) / ((alpha+T)(s-1))
 * [1 - ((beta+T)/(beta+T+t))^(s-1)]; times P(alive) it is the conditional
 * expectation of Schmittlein et al. (1987). */
static double pnbd_expected_alive(const double *p, double t, double x, double T)
{
    pnbd m;
    if (!pnbd_init(&m, p) || !(t >= 0) || !isfinite(t) || !(x >= 0) || !isfinite(x) ||
        !(T >= 0) || !isfinite(T)) {
        return NAN;
    }
    return (m.r + x) * ((m.be + T) / (m.al + T)) * decay_integral(m.s, t / (m.be + T));
}

static double pnbd_expected_new(const double *p, double t)
{
    pnbd m;
    if (!pnbd_init(&m, p) || !(t >= 0) || !isfinite(t)) {
        return NAN;
    }
    return m.r * m.be / m.al * decay_integral(m.s, t / m.be);
}

/* int_0^t tau^k (alpha+tau)^-(r+k) (beta+tau)^-(s+1) dtau in log space:
 * tau = t/(1 + e^-v), so the integrand in v decays like e^((k+1) v) on the
 * left and e^-v on the right; the mode is located on a grid and refined,
 * then a sinh-mapped trapezoid rule around it is refined until it settles.
 * The integrand is taken relative to alpha^-r beta^-(s+1),
 *   tau (1 - tau/t) (1 + alpha/tau)^-k (1 + tau/alpha)^-r (1 + tau/beta)^-(s+1),
 * so that no two large logs cancel: with s = 1e6 and beta = 1e-6,
 * (s+1) log(beta + tau) is -1.4e7 near the mode, and its rounding (3e-9)
 * kept the sums from ever settling to 1e-13 (NaN after 12 levels, 10 ms). */
typedef struct pcq {
    double k, r, s1, lt, lal, lbe;
} pcq;

static double pcq_f(const pcq *c, double v)
{
    /* log tau, log(1 - tau/t) */
    const double ltau = c->lt - cvm__log1pexp(-v), l1 = -cvm__log1pexp(v);
    return ltau + l1 - c->k * cvm__log1pexp(c->lal - ltau) - c->r * cvm__log1pexp(ltau - c->lal) -
           c->s1 * cvm__log1pexp(ltau - c->lbe);
}

static double pcq_integral(const pcq *c)
{
    const double vlo = fmin(fmin(c->lal, c->lbe), c->lt) - c->lt - 60.0;
    const double vhi = log1p(2.0 * c->k + c->r + c->s1) + 60.0;
    double vb = vlo, fb = -INFINITY, v, a, b, fm, c2, curv, h, acc, prev = 0, sum, tol;
    long j, nl, nr;
    int level, it;
    /* Grid search for the mode, then golden section around it. */
    for (v = vlo; v <= vhi; v += 0.25) {
        double f = pcq_f(c, v);
        if (f > fb) {
            fb = f;
            vb = v;
        }
    }
    a = vb - 0.25;
    b = vb + 0.25;
    for (it = 0; it < 60; it++) {
        const double g = 0.381966011250105;
        double v1 = a + g * (b - a), v2 = b - g * (b - a);
        if (pcq_f(c, v1) > pcq_f(c, v2)) {
            b = v2;
        } else {
            a = v1;
        }
    }
    vb = 0.5 * (a + b);
    fm = pcq_f(c, vb);
    if (!isfinite(fm)) {
        return NAN;
    }
    /* The integrand's values carry the rounding of f, about 1e-16 |f| in
     * relative terms; the sums cannot settle more closely than that (a
     * probability near e^-1e5 has |f| near 1e5). */
    tol = fmax(1e-13, 8.0 * DBL_EPSILON * fabs(fm));
    c2 = 1e-3;
    curv = -(pcq_f(c, vb + c2) - 2.0 * fm + pcq_f(c, vb - c2)) / (c2 * c2);
    c2 = curv > 1.0 ? 1.0 / sqrt(curv) : 1.0;
    nl = (long)ceil(asinh((vb - vlo) / c2) / 0.5);
    nr = (long)ceil(asinh((vhi - vb) / c2) / 0.5);
    h = 0.5;
    acc = 0.0;
    for (level = 0; level <= 12; level++) {
        long step = level == 0 ? 1 : 2, start;
        sum = 0.0;
        start = level == 0 ? -nl : -nl + 1;
        for (j = start; j <= nr; j += step) {
            const double u = (double)j * h, eu = exp(u);
            const double xi = c2 * 0.5 * (eu - 1.0 / eu);
            const double f = pcq_f(c, vb + xi) - fm;
            sum += c2 * 0.5 * (eu + 1.0 / eu) * exp(f);
        }
        acc += sum;
        if (level >= 3 && fabs(acc * h - prev) <= tol * acc * h) {
            return fm + log(acc * h);
        }
        prev = acc * h;
        h *= 0.5;
        nl *= 2;
        nr *= 2;
    }
    return NAN;
}

static double pnbd_prob_count(const double *p, double t, double k)
{
    pnbd m;
    double lc, t1, t2;
    pcq c;
    if (!pnbd_init(&m, p) || !(t >= 0) || !isfinite(t) || !(k >= 0) || !isfinite(k) ||
        k != floor(k)) {
        return NAN;
    }
    if (t == 0.0) {
        return k == 0.0 ? 1.0 : 0.0;
    }
    lc = cvm__lpochhammer(m.r, k) - cvm__lgamma(k + 1.0);
    /* alive through t with k purchases; log1p keeps r log(alpha/(alpha+t))
     * exact for t << alpha */
    t1 = lc - m.r * log1p(t / m.al) - m.s * log1p(t / m.be);
    if (k > 0) {
        t1 -= k * log1p(m.al / t);
    }
    /* dropped out at tau < t with k purchases before: the integral is
     * relative to alpha^-r beta^-(s+1) (see pcq) */
    c.k = k;
    c.r = m.r;
    c.s1 = m.s + 1.0;
    c.lt = log(t);
    c.lal = m.lal;
    c.lbe = m.lbe;
    t2 = lc + m.ls - m.lbe + pcq_integral(&c);
    if (isnan(t2)) {
        return NAN;
    }
    /* rounding can take a certainty a few ulps past 1 */
    return fmin(exp(t1) + exp(t2), 1.0);
}

/* ---- starting points --------------------------------------------------- */

static size_t pnbd_starts(const cvm__rows *d, double *p, size_t max)
{
    static const double mult[4][4] = {
        {1.0, 1.0, 1.0, 1.0}, {0.5, 0.5, 0.5, 1.0}, {2.0, 2.0, 2.0, 2.0}, {0.25, 0.25, 1.0, 0.5}};
    double sw = 0.0, sx = 0.0, sT = 0.0, rate, Tm;
    size_t i, n = 0;
    for (i = 0; i < d->n; i++) {
        sw += d->w[i];
        sx += d->w[i] * d->x[i];
        sT += d->w[i] * d->T[i];
    }
    Tm = sw > 0 && sT > 0 ? sT / sw : 1.0;
    rate = sw > 0 && sx > 0 ? sx / sT : 0.1 / Tm;
    for (i = 0; i < 4 && n < max; i++, n++) {
        /* r / alpha = observed purchase rate; beta / s of the order of the
         * observation span. */
        p[4 * n + 0] = mult[i][0];
        p[4 * n + 1] = mult[i][1] / rate;
        p[4 * n + 2] = mult[i][2];
        p[4 * n + 3] = mult[i][3] * Tm;
    }
    return n;
}

static const char *const pnbd_names[CVM__CLV_MAXP] = {"r", "alpha", "s", "beta"};

const cvm__model_ops cvm__pareto_ops = {
    .name = "pareto",
    .title = "Pareto/NBD",
    .param_names = pnbd_names,
    .discrete = 0,
    .needs_tx = 1,
    .starts = pnbd_starts,
    .loglik = pnbd_loglik,
    .row_loglik = pnbd_row_loglik,
    .p_alive = pnbd_p_alive,
    .expected_alive = pnbd_expected_alive,
    .expected_new = pnbd_expected_new,
    .prob_count = pnbd_prob_count,
    .alive_gh = NULL, /* P(alive) does not split */
    .alive_k = NULL,
};
