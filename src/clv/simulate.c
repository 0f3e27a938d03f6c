/* Drawing purchase histories from BG/NBD with Gamma-Gamma spend, for tests,
 * benchmarks and examples that need data with known parameters. */
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

static int valid(const cvm_simulate_options *o)
{
    return o->model == CVM_MODEL_BGNBD && positive(o->params, 4) &&
           (!o->spend || positive(o->spend_params, 3)) && o->unit_seconds > 0 &&
           o->duration_seconds > 0 && o->acquisition_seconds >= 0 &&
           o->acquisition_seconds <= o->duration_seconds && o->start >= 0 &&
           o->start <= LAST_SECOND && o->duration_seconds <= LAST_SECOND - o->start;
}

/* One customer: returns nonzero when the callback asked to stop. */
static int customer(const cvm_simulate_options *o, cvm__rng *rng, size_t id,
                    cvm_transaction_fn fn, void *ud)
{
    const double unit = (double)o->unit_seconds;
    const double end = (double)o->duration_seconds / unit;
    double lambda = cvm__rng_gamma(rng, o->params[0], o->params[1]);
    double p = cvm__rng_beta(rng, o->params[2], o->params[3]);
    double nu = o->spend ? cvm__rng_gamma(rng, o->spend_params[1], o->spend_params[2]) : 0;
    double t = cvm__rng_uniform(rng) * (double)o->acquisition_seconds / unit;
    int repeat = 0;
    /* BG/NBD: alive at the first purchase; may drop out after each repeat. */
    for (;;) {
        double amount = o->spend ? cvm__rng_gamma(rng, o->spend_params[0], nu) : 0;
        if (fn(ud, id, o->start + (int64_t)floor(t * unit), amount)) {
            return 1;
        }
        if (repeat && cvm__rng_uniform(rng) < p) {
            return 0;
        }
        repeat = 1;
        t += cvm__rng_exponential(rng, lambda);
        if (!(t < end)) {
            return 0;
        }
    }
}

cvm_status cvm_simulate(const cvm_simulate_options *opts, cvm_transaction_fn fn, void *userdata)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
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
    cvm__rng_seed(&rng, o.seed);
    for (i = 0; i < o.customers; i++) {
        if (customer(&o, &rng, (size_t)i, fn, userdata)) {
            break;
        }
    }
    return CVM_OK;
}
