/* MBG/NBD (Batislam, Denizel & Filiztekin 2007, with Wagner & Hoppe's 2008
 * erratum; lifetimes' ModifiedBetaGeoFitter; BTYDplus' "CBG/NBD" of 2014):
 * the BG/NBD in which the customer may also drop out at time 0, right
 * after the first purchase. Parameters r, alpha, a, b as for BG/NBD.
 *
 *   LL = lgamma(r+x) - lgamma(r) + r log alpha + lbeta(a, b+x+1) - lbeta(a, b)
 *        - (r+x) log(alpha+T) + log(1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))
 *   P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))
 *   E[X(T, T+t) | x, t_x, T] = (a+b+x)/(a-1)
 *        [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))]
 *        * P(alive)
 *   E[X(t)] = b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]
 *   P(X(t) = k) = B(a, b+k+1)/B(a, b) NBD(k; r, alpha, t)
 *        + B(a+1, b+k)/B(a, b) P(NBD >= k)
 *
 * The last one is lifetimes' probability_of_n_purchases_up_to_time for this
 * model (alive throughout with k purchases, or dropped right after the k-th
 * purchase, counting the drop at time 0 for k = 0). All of it is computed by
 * the BG/NBD code with the shift s = 1 (model_bgnbd.c), which handles
 * a = 1, a + b <= 1 and long horizons the same way. */
#include "clv/clv_int.h"

static const char *const mbgnbd_names[CVM__CLV_MAXP] = {"r", "alpha", "a", "b"};

static double mbgnbd_loglik(const double *p, const cvm__rows *d, double *grad)
{
    return cvm__bgnbd_family_loglik(p, d, grad, 1);
}

static double mbgnbd_row_loglik(const double *p, double x, double t_x, double T)
{
    return cvm__bgnbd_family_row_loglik(p, x, t_x, T, 1);
}

static double mbgnbd_p_alive(const double *p, double x, double t_x, double T)
{
    return cvm__bgnbd_family_p_alive(p, x, t_x, T, 1);
}

static double mbgnbd_expected_alive(const double *p, double t, double x, double T)
{
    return cvm__bgnbd_family_expected_alive(p, t, x, T, 1);
}

static double mbgnbd_expected_new(const double *p, double t)
{
    return cvm__bgnbd_family_expected_new(p, t, 1);
}

static double mbgnbd_prob_count(const double *p, double t, double k)
{
    return cvm__bgnbd_family_prob_count(p, t, k, 1);
}

static void mbgnbd_alive_gh(const double *p, double x, double T, double *g, double *h)
{
    cvm__bgnbd_family_alive_gh(p, x, T, 1, g, h);
}

const cvm__model_ops cvm__mbgnbd_ops = {
    "mbgnbd",
    "MBG/NBD",
    mbgnbd_names,
    0, /* continuous time */
    1, /* x > 0 needs t_x > 0, as for BG/NBD */
    cvm__bgnbd_family_starts,
    mbgnbd_loglik,
    mbgnbd_row_loglik,
    mbgnbd_p_alive,
    mbgnbd_expected_alive,
    mbgnbd_expected_new,
    mbgnbd_prob_count,
    mbgnbd_alive_gh,
    cvm__bgnbd_alive_k,
};
