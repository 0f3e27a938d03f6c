/* Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader &
 * Hardie 2013, note 025): each purchase amount is Gamma(p, nu) with a
 * customer's nu ~ Gamma(q, v). The mean zbar = m of x purchases then has the
 * density
 *
 *   f(m | x) = x^(px) m^(px-1) v^q / (B(px, q) (v + x m)^(px+q)),
 *
 * and E[M | x, m] = p (v + x m) / (p x + q - 1).
 *
 * The log-density is written with A = log((v + x m) / v) and
 * B = log((v + x m) / (x m)), both >= 0, as
 *
 *   log f = -log B(px, q) - log m - px B - q A,
 *
 * which avoids the cancellation of px log(x m) - px log(v + x m) when px is
 * large. One of A, B comes from log1p of a ratio <= 1 and the other from it
 * plus log(v / (x m)) with the same sign, so neither loses digits. */
#include "clv/clv_int.h"

#include <math.h>

/* Everything of a row that depends on x only; rows sorted by x (as the
 * fitting code passes them) reuse it. */
typedef struct gg_xterms {
    double x;
    double logx;
    double lbeta;  /* log B(px, q) */
    double psi_pq; /* psi(px + q) - psi(px) */
    double psi_q;  /* psi(px + q) - psi(q) */
} gg_xterms;

static void gg_xterms_set(gg_xterms *c, double p, double q, double x, double psi_q, int grad)
{
    double px = p * x;
    c->x = x;
    c->logx = log(x);
    c->lbeta = cvm__lbeta(px, q);
    if (grad) {
        double psi_sum = cvm__digamma(px + q);
        c->psi_pq = psi_sum - cvm__digamma(px);
        c->psi_q = psi_sum - psi_q;
    }
}

double cvm__gg_loglik(const double *p, const double *x, const double *m, const double *w,
                      size_t n, double *grad)
{
    const double pp = p[0], q = p[1], v = p[2];
    const double logv = log(v);
    double psi_q = 0, ll = 0, gp = 0, gq = 0, gv = 0;
    gg_xterms c;
    size_t i;
    c.x = -1; /* no x yet */
    c.logx = c.lbeta = c.psi_pq = c.psi_q = 0;
    if (grad != NULL) {
        psi_q = cvm__digamma(q);
    }
    for (i = 0; i < n; i++) {
        const double wi = w != NULL ? w[i] : 1.0;
        double xi = x[i], mi = m[i], logm, u, logu, a, b, px;
        if (!(xi > 0) || wi == 0) {
            continue; /* no spend information */
        }
        if (xi != c.x) {
            gg_xterms_set(&c, pp, q, xi, psi_q, grad != NULL);
        }
        px = pp * xi;
        logm = log(mi);
        u = v / (xi * mi);
        logu = logv - c.logx - logm;
        if (u <= 1) {
            b = log1p(u);     /* log(1 + v / (x m)) */
            a = b - logu;     /* log(1 + x m / v) */
        } else {
            a = log1p(1 / u);
            b = a + logu;
        }
        ll += wi * (-c.lbeta - logm - px * b - q * a);
        if (grad != NULL) {
            gp += wi * xi * (c.psi_pq - b);
            gq += wi * (c.psi_q - a);
            /* d/dv: q / v - (px + q) / (v + x m), and v / (v + x m) = u / (1 + u) */
            gv += wi * (q - (px + q) * (u / (1 + u))) / v;
        }
    }
    if (grad != NULL) {
        grad[0] = gp;
        grad[1] = gq;
        grad[2] = gv;
    }
    return ll;
}

double cvm__gg_expected(const double *p, double x, double m)
{
    const double pp = p[0], q = p[1], v = p[2];
    /* q - 1 first: with q = 1, pp * x + q - 1 loses pp * x to the rounding
     * of pp * x + 1 (p = 1e-6, x = 10: E[M] came out below m) */
    double den = pp * x + (q - 1);
    if (!(den > 0)) {
        return HUGE_VAL; /* no finite mean */
    }
    /* the weighted average of the population mean p v / (q - 1) and m,
     * with weights (q - 1) and p x */
    return pp * (v + x * m) / den;
}
