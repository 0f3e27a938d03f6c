/* Drawing purchase histories from the transaction models (BG/NBD, Pareto/NBD,
 * MBG/NBD, BG/BB) with Gamma-Gamma spend, for tests, benchmarks and examples
 * that need data with known parameters.
 *
 * Every customer's draws come from one generator in a fixed order, so a seed
 * gives the same stream on every platform whose libm agrees on log, sqrt, cos
 * and exp. The BG/NBD stream is the one this file produced before the other
 * models were added: its order of draws must not change. */
#include "core/core_int.h"
#include "cvm/clv.h"

#include <math.h>

/* 9999-12-31T23:59:59Z: simulated purchases stay printable as dates. */
#define LAST_SECOND INT64_C(253402300799)

cvm_status cvm_simulate_options_init(cvm_simulate_options *opts, size_t size)
{
    const cvm_simulate_options def = CVM_SIMULATE_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

static int positive(const double *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (!isfinite(v[i]) || v[i] <= 0) {
            return 0;
        }
    }
    return 1;
}

static int known_model(int32_t model)
{
    return model == CVM_MODEL_BGNBD || model == CVM_MODEL_PARETO || model == CVM_MODEL_MBGNBD ||
           model == CVM_MODEL_BGBB;
}

/* Every model has four parameters, each finite and > 0 (shapes and scales of
 * gamma and beta mixing distributions). */
static int valid(const cvm_simulate_options *o)
{
    return known_model(o->model) && positive(o->params, 4) &&
           (!o->spend || positive(o->spend_params, 3)) && o->unit_seconds > 0 &&
           o->duration_seconds > 0 && o->acquisition_seconds >= 0 &&
           o->acquisition_seconds <= o->duration_seconds && o->start >= 0 &&
           o->start <= LAST_SECOND && o->duration_seconds <= LAST_SECOND - o->start;
}

/* The per-customer spend rate nu ~ Gamma(q, v), or 0 without spend. */
static double spend_rate(const cvm_simulate_options *o, cvm__rng *rng)
{
    return o->spend ? cvm__rng_gamma(rng, o->spend_params[1], o->spend_params[2]) : 0;
}

/* One purchase of a customer whose spend rate is `nu`: amount ~ Gamma(p, nu). */
static double amount(const cvm_simulate_options *o, cvm__rng *rng, double nu)
{
    return o->spend ? cvm__rng_gamma(rng, o->spend_params[0], nu) : 0;
}

/* BG/NBD and MBG/NBD: purchases at the rate lambda ~ Gamma(r, alpha) while
 * alive; after each purchase the customer drops out with p ~ Beta(a, b). In
 * BG/NBD the coin is tossed after every repeat purchase, in MBG/NBD after the
 * first purchase as well. Times are in units since `start`. Returns nonzero
 * when the callback asked to stop. */
static int customer_bg(const cvm_simulate_options *o, cvm__rng *rng, size_t id,
                       cvm_transaction_fn fn, void *ud)
{
    const double unit = (double)o->unit_seconds;
    const double end = (double)o->duration_seconds / unit;
    double lambda = cvm__rng_gamma(rng, o->params[0], o->params[1]);
    double p = cvm__rng_beta(rng, o->params[2], o->params[3]);
    double nu = spend_rate(o, rng);
    double t = cvm__rng_uniform(rng) * (double)o->acquisition_seconds / unit;
    int coin = o->model == CVM_MODEL_MBGNBD;
    for (;;) {
        double a = amount(o, rng, nu);
        if (fn(ud, id, o->start + (int64_t)floor(t * unit), a)) {
            return 1;
        }
        if (coin && cvm__rng_uniform(rng) < p) {
            return 0;
        }
        coin = 1;
        /* A rate that underflowed to 0 gives NaN here: no further purchase. */
        t += cvm__rng_exponential(rng, lambda);
        if (!(t < end)) {
            return 0;
        }
    }
}

/* Pareto/NBD: purchases at the rate lambda ~ Gamma(r, alpha) for a lifetime
 * tau ~ Exp(mu), mu ~ Gamma(s, beta), counted from the first purchase. */
static int customer_pareto(const cvm_simulate_options *o, cvm__rng *rng, size_t id,
                           cvm_transaction_fn fn, void *ud)
{
    const double unit = (double)o->unit_seconds;
    double end = (double)o->duration_seconds / unit;
    double lambda = cvm__rng_gamma(rng, o->params[0], o->params[1]);
    double mu = cvm__rng_gamma(rng, o->params[2], o->params[3]);
    double nu = spend_rate(o, rng);
    double t = cvm__rng_uniform(rng) * (double)o->acquisition_seconds / unit;
    double tau = cvm__rng_exponential(rng, mu);
    /* mu underflowed to 0 makes tau NaN: the customer never drops out. */
    if (t + tau < end) {
        end = t + tau;
    }
    for (;;) {
        double a = amount(o, rng, nu);
        if (fn(ud, id, o->start + (int64_t)floor(t * unit), a)) {
            return 1;
        }
        t += cvm__rng_exponential(rng, lambda);
        if (!(t < end)) {
            return 0;
        }
    }
}

/* BG/BB (Fader, Hardie & Shang 2010), in discrete time with one transaction
 * opportunity per unit: p ~ Beta(alpha, beta), theta ~ Beta(gamma, delta).
 * The first purchase falls on a whole unit after `start`; the opportunities
 * follow it at first + k units, k = 1, 2, ..., while before the end. At each
 * one a customer still alive first becomes inactive with probability theta
 * and, if still alive, buys with probability p. So with n opportunities the
 * customer is alive at opportunity k with probability (1 - theta)^k, which is
 * the timing of the BG/BB likelihood. */
static int customer_bgbb(const cvm_simulate_options *o, cvm__rng *rng, size_t id,
                         cvm_transaction_fn fn, void *ud)
{
    const int64_t unit = o->unit_seconds;
    const int64_t end = o->start + o->duration_seconds;
    double p = cvm__rng_beta(rng, o->params[0], o->params[1]);
    double theta = cvm__rng_beta(rng, o->params[2], o->params[3]);
    double nu = spend_rate(o, rng);
    /* Cohorts on whole units in [start, start + acquisition): ceil(acq / unit)
     * of them, at least one (acquisition 0: everyone starts at `start`). */
    uint64_t cohorts = (uint64_t)(o->acquisition_seconds / unit) +
                       (o->acquisition_seconds % unit != 0);
    int64_t t = o->start + (int64_t)cvm__rng_below(rng, cohorts > 0 ? cohorts : 1) * unit;
    if (fn(ud, id, t, amount(o, rng, nu))) {
        return 1;
    }
    while (unit < end - t) {
        t += unit;
        if (cvm__rng_uniform(rng) < theta) {
            return 0;
        }
        if (cvm__rng_uniform(rng) < p && fn(ud, id, t, amount(o, rng, nu))) {
            return 1;
        }
    }
    return 0;
}

cvm_status cvm_simulate(const cvm_simulate_options *opts, cvm_transaction_fn fn, void *userdata)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    int (*customer)(const cvm_simulate_options *, cvm__rng *, size_t, cvm_transaction_fn,
                    void *);
    cvm__rng rng;
    uint64_t i;
    if (fn == NULL) {
        return CVM_E_INVALID;
    }
    if (cvm__options_copy(&o, sizeof o, opts, sizeof o) != CVM_OK) {
        return CVM_E_ABI;
    }
    if (!valid(&o)) {
        return CVM_E_INVALID;
    }
    switch (o.model) {
    case CVM_MODEL_PARETO: customer = customer_pareto; break;
    case CVM_MODEL_BGBB: customer = customer_bgbb; break;
    default: customer = customer_bg; break;
    }
    cvm__rng_seed(&rng, o.seed);
    for (i = 0; i < o.customers; i++) {
        if (customer(&o, &rng, (size_t)i, fn, userdata)) {
            break;
        }
    }
    return CVM_OK;
}
