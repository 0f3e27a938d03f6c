/* Customer lifetime value settings and discounting: the expected purchases
 * of each period (differences of the expectation), discounted — lifetimes'
 * customer_lifetime_value(), with the period length stated instead of
 * assumed to be 30 days. The per-customer loop is in score.c. */
#include "clv/clv_int.h"

#include <math.h>

/* Each period costs one expectation per distinct (x, T). */
#define CVM__MAX_PERIODS 100000

cvm_status cvm_value_options_init(cvm_value_options *opts, size_t size)
{
    const cvm_value_options def = CVM_VALUE_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

cvm_status cvm__value_options(cvm_value_options *o, const cvm_value_options *src, char *err,
                              size_t errlen)
{
    const cvm_value_options def = CVM_VALUE_OPTIONS_INIT;
    *o = def;
    if (cvm__options_copy(o, sizeof *o, src, sizeof *o) != CVM_OK) {
        return cvm__errf(err, errlen, CVM_E_ABI,
                         "value options: unknown size or nonzero unknown fields");
    }
    if (o->periods < 1 || o->periods > CVM__MAX_PERIODS || o->reserved != 0) {
        return cvm__errf(err, errlen, CVM_E_INVALID,
                         "value options: periods %d is not between 1 and 100000", (int)o->periods);
    }
    if (!isfinite(o->period_length) || o->period_length <= 0) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "value options: period_length %g is not > 0",
                         o->period_length);
    }
    if (!isfinite(o->discount_rate) || o->discount_rate <= -1) {
        return cvm__errf(err, errlen, CVM_E_INVALID,
                         "value options: discount_rate %g is not finite and > -1",
                         o->discount_rate);
    }
    if (!isfinite(o->margin)) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "value options: margin is not finite");
    }
    return CVM_OK;
}

double cvm__discounted_alive(const cvm__model_ops *ops, const double *p,
                             const cvm_value_options *o, double x, double T)
{
    double sum = 0, prev = 0, factor = 1;
    int32_t k;
    for (k = 1; k <= o->periods; k++) {
        double h = (double)k * o->period_length, e;
        if (ops->discrete) {
            h = floor(h); /* opportunities are whole periods */
        }
        e = ops->expected_alive(p, h, x, T);
        factor /= 1 + o->discount_rate;
        sum += (e - prev) * factor;
        prev = e;
    }
    return sum;
}
