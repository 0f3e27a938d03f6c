/* Gauss hypergeometric function 2F1(a, b; c; z) for a, b, c > 0 and
 * 0 <= z < 1, in log space, with the partial derivatives of its log.
 *
 * All terms t_k = (a)_k (b)_k / ((c)_k k!) z^k are positive, so the series is
 * summed directly (no cancellation) in scaled form: the running term and the
 * sums are rescaled by 2^-600 whenever the sum grows past 2^600 and the scale
 * is kept as a log, so parameters of 1e6 and more cannot overflow. The
 * derivatives come from the same pass:
 *   d/da log t_k = sum_{j<k} 1/(a+j),  d/db likewise,
 *   d/dc log t_k = -sum_{j<k} 1/(c+j), d/dz log t_k = k/z,
 * so d/da log F = sum_k t_k (d/da log t_k) / sum_k t_k, and so on.
 *
 * When c > a, c > b and a + b > c, Euler's transformation
 *   2F1(a, b; c; z) = (1 - z)^(c-a-b) 2F1(c-a, c-b; c; z)
 * gives a series with positive terms that decay faster (its terms grow like
 * k^(c-a-b-1) z^k instead of k^(a+b-c-1) z^k), and is used instead.
 *
 * Stopping rule: past term k the ratios t_{j+1}/t_j are bounded by
 *   R = z (1 + max(a+b-c-1, 0)/(c+k) + max(ab-c, 0)/((c+k)(k+1))),
 * which is decreasing in k, so the tail is at most t_k R / (1 - R) (and
 * similarly for the weighted sums the derivatives need). The sum stops when
 * that bound is below 1e-16 of the sum (1e-15 for the derivative sums). */
#include "math/math_int.h"

#include <math.h>

#define HYP_MAX_TERMS 2000000L
#define HYP_EPS 1e-16
#define HYP_DEPS 1e-15
#define HYP_BIG 0x1p600
#define HYP_SMALL 0x1p-600
#define HYP_LOG_BIG 415.88830833596718 /* 600 log 2 */

/* The series itself: log of the sum and, when d is not NULL, the
 * derivatives of the log with respect to a, b, c, z. Returns 0 when it did
 * not converge within the term limit. Requires 0 < z < 1. */
static int hyp_series(double a, double b, double c, double z, double *logf, double d[4])
{
    const double al = fmax(a + b - c - 1.0, 0.0), be = fmax(a * b - c, 0.0);
    double t = 1.0, s = 1.0, sa = 0.0, sb = 0.0, sc = 0.0, sk = 0.0;
    double ra = 0.0, rb = 0.0, rc = 0.0, lscale = 0.0;
    long k;

    for (k = 0; k < HYP_MAX_TERMS; k++) {
        const double fk = (double)k;
        const double ak = a + fk, bk = b + fk, ck = c + fk, k1 = fk + 1.0;
        t *= ak * bk / (ck * k1) * z; /* t_{k+1} */
        s += t;
        if (d != NULL) {
            ra += 1.0 / ak;
            rb += 1.0 / bk;
            rc += 1.0 / ck;
            sa += t * ra;
            sb += t * rb;
            sc += t * rc;
            sk += t * k1;
        }
        if (!(s < HYP_BIG)) {
            if (!isfinite(s)) {
                return 0;
            }
            t *= HYP_SMALL;
            s *= HYP_SMALL;
            sa *= HYP_SMALL;
            sb *= HYP_SMALL;
            sc *= HYP_SMALL;
            sk *= HYP_SMALL;
            lscale += HYP_LOG_BIG;
        }
        if (t <= HYP_EPS * s) {
            /* Bound on every ratio t_{j+1}/t_j for j >= k + 1. */
            const double cn = ck + 1.0;
            const double rho = z * (1.0 + al / cn + be / (cn * (k1 + 1.0)));
            double q, tail;
            if (rho >= 1.0) {
                continue;
            }
            q = rho / (1.0 - rho);
            tail = t * q;
            if (tail > HYP_EPS * s) {
                continue;
            }
            if (d != NULL) {
                const double q2 = q / (1.0 - rho);
                if (t * (k1 * q + q2) > HYP_DEPS * sk ||
                    t * (ra * q + q2 / (ak + 1.0)) > HYP_DEPS * sa ||
                    t * (rb * q + q2 / (bk + 1.0)) > HYP_DEPS * sb ||
                    t * (rc * q + q2 / (ck + 1.0)) > HYP_DEPS * sc) {
                    continue;
                }
                d[0] = sa / s;
                d[1] = sb / s;
                d[2] = -sc / s;
                d[3] = sk / (z * s);
            }
            *logf = lscale + log(s);
            return 1;
        }
    }
    return 0;
}

double cvm__log_hyp2f1(double a, double b, double c, double z, double d[4])
{
    double lf, g[4];
    double *gp = d != NULL ? g : NULL;

    if (!(a > 0.0 && b > 0.0 && c > 0.0 && z >= 0.0 && z < 1.0) || !isfinite(a) ||
        !isfinite(b) || !isfinite(c)) {
        if (d != NULL) {
            d[0] = d[1] = d[2] = d[3] = NAN;
        }
        return NAN;
    }
    if (z == 0.0) {
        if (d != NULL) {
            d[0] = d[1] = d[2] = 0.0;
            d[3] = a * b / c;
        }
        return 0.0;
    }
    if (c > a && c > b && a + b > c) {
        /* Euler: F = (1-z)^(c-a-b) G, G = 2F1(c-a, c-b; c; z). */
        const double l1z = log1p(-z);
        if (!hyp_series(c - a, c - b, c, z, &lf, gp)) {
            goto fail;
        }
        if (d != NULL) {
            d[0] = -l1z - g[0];
            d[1] = -l1z - g[1];
            d[2] = l1z + g[0] + g[1] + g[2];
            d[3] = -(c - a - b) / (1.0 - z) + g[3];
        }
        return (c - a - b) * l1z + lf;
    }
    if (!hyp_series(a, b, c, z, &lf, gp)) {
        goto fail;
    }
    if (d != NULL) {
        d[0] = g[0];
        d[1] = g[1];
        d[2] = g[2];
        d[3] = g[3];
    }
    return lf;

fail:
    if (d != NULL) {
        d[0] = d[1] = d[2] = d[3] = NAN;
    }
    return NAN;
}
