/* Lifecycle stages (new, active, at risk, lapsed) from a customer summary,
 * P(alive) and the expected gap between purchases. */
#include "segment/segment_int.h"

#include <math.h>

#define CVM__LIFECYCLE_MAX_COUNT 4503599627370496.0 /* 2^52, as for CLV rows */

static const cvm_lifecycle_options lifecycle_defaults = CVM_LIFECYCLE_OPTIONS_INIT;

cvm_status cvm_lifecycle_options_init(cvm_lifecycle_options *opts, size_t size)
{
    return cvm__options_init(opts, size, &lifecycle_defaults, sizeof lifecycle_defaults,
                             sizeof(cvm_lifecycle_options));
}

static cvm_status check_options(const cvm_lifecycle_options *o, char *errbuf, size_t errlen)
{
    if (!(isfinite(o->new_age) && o->new_age >= 0)) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "lifecycle options: new_age %g is not finite and >= 0", o->new_age);
    }
    if (!(isfinite(o->at_risk_gaps) && o->at_risk_gaps > 0)) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "lifecycle options: at_risk_gaps %g is not finite and > 0",
                         o->at_risk_gaps);
    }
    if (!(isfinite(o->lapsed_gaps) && o->lapsed_gaps >= o->at_risk_gaps)) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "lifecycle options: lapsed_gaps %g is not finite and >= at_risk_gaps %g",
                         o->lapsed_gaps, o->at_risk_gaps);
    }
    if (!(o->at_risk_p_alive >= 0 && o->at_risk_p_alive <= 1)) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "lifecycle options: at_risk_p_alive %g is not in [0, 1]",
                         o->at_risk_p_alive);
    }
    if (!(o->lapsed_p_alive >= 0 && o->lapsed_p_alive <= o->at_risk_p_alive)) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "lifecycle options: lapsed_p_alive %g is not in [0, at_risk_p_alive %g]",
                         o->lapsed_p_alive, o->at_risk_p_alive);
    }
    return CVM_OK;
}

/* One row: the summary as the continuous-time CLV models take it, P(alive)
 * and the gap when given. */
static cvm_status check_row(size_t i, double x, double t_x, double T, const double *p_alive,
                            const double *gap, char *errbuf, size_t errlen)
{
    const char *why = NULL;
    if (!isfinite(x) || !isfinite(t_x) || !isfinite(T)) {
        why = "x, t_x and T must be finite";
    } else if (x < 0 || x != floor(x)) {
        why = "x is not a whole number >= 0";
    } else if (x > CVM__LIFECYCLE_MAX_COUNT) {
        why = "x is above 2^52";
    } else if (t_x < 0) {
        why = "t_x is negative";
    } else if (t_x > T) {
        why = "t_x is after T";
    } else if (x == 0 && t_x != 0) {
        why = "t_x must be 0 when x is 0";
    } else if (x > 0 && t_x == 0) {
        why = "x > 0 repeat purchases but t_x is 0";
    } else if (x > 0 && !(t_x / x > 0)) {
        why = "the gap t_x / x is not > 0";
    }
    if (why != NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "row %zu (x=%g, t_x=%g, T=%g): %s", i + 1,
                         x, t_x, T, why);
    }
    if (p_alive != NULL && !(p_alive[i] >= 0 && p_alive[i] <= 1)) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "row %zu: P(alive) %g is not in [0, 1]",
                         i + 1, p_alive[i]);
    }
    if (gap != NULL && !(isfinite(gap[i]) && gap[i] > 0)) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "row %zu: gap %g is not finite and > 0",
                         i + 1, gap[i]);
    }
    return CVM_OK;
}

cvm_status cvm_lifecycle(const cvm_lifecycle_options *opts, const double *x, const double *t_x,
                         const double *T, const double *p_alive, const double *gap, size_t n,
                         int32_t *stage, char *errbuf, size_t errlen)
{
    cvm_lifecycle_options o = lifecycle_defaults;
    double mean_gap = 0;
    size_t repeat = 0, i;
    cvm_status st;
    if (cvm__options_copy(&o, sizeof o, opts, sizeof(cvm_lifecycle_options)) != CVM_OK) {
        return cvm__errf(errbuf, errlen, CVM_E_ABI, "lifecycle options: unknown size %zu",
                         opts->size);
    }
    st = check_options(&o, errbuf, errlen);
    if (st != CVM_OK) {
        return st;
    }
    if (n > 0 && (x == NULL || t_x == NULL || T == NULL || stage == NULL)) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "lifecycle: a required pointer is NULL");
    }
    /* Check every row before writing a stage; meanwhile average the repeat
     * buyers' gaps (a running mean: the sum could overflow). */
    for (i = 0; i < n; i++) {
        st = check_row(i, x[i], t_x[i], T[i], p_alive, gap, errbuf, errlen);
        if (st != CVM_OK) {
            return st;
        }
        if (gap == NULL && x[i] > 0) {
            repeat++;
            mean_gap += (t_x[i] / x[i] - mean_gap) / (double)repeat;
        }
    }
    for (i = 0; i < n; i++) {
        double since = T[i] - t_x[i];
        double g = gap != NULL ? gap[i] : x[i] > 0 ? t_x[i] / x[i] : repeat > 0 ? mean_gap : 0;
        int has_gap = g > 0;
        int has_p = p_alive != NULL;
        int32_t s;
        if (T[i] < o.new_age) {
            s = CVM_STAGE_NEW;
        } else if ((has_gap && since > o.lapsed_gaps * g) ||
                   (has_p && p_alive[i] < o.lapsed_p_alive)) {
            s = CVM_STAGE_LAPSED;
        } else if ((has_gap && since > o.at_risk_gaps * g) ||
                   (has_p && p_alive[i] < o.at_risk_p_alive)) {
            s = CVM_STAGE_AT_RISK;
        } else {
            s = CVM_STAGE_ACTIVE;
        }
        stage[i] = s;
    }
    return CVM_OK;
}
