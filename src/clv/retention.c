/* cvm_retention: the sBG contractual retention model handle — lifecycle,
 * fitting to a cohort's survivor counts, survival, retention rates,
 * expected lifetime and saving. The model's mathematics is in
 * retention_model.c. */
#include "clv/clv_int.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define NP 2 /* alpha, beta */
#define SNAP_NAME "sbg"
#define TITLE "sBG"
#define MAX_STARTS 8

cvm_status cvm_retention_new(cvm_retention **out, const cvm_model_options *opts)
{
    void *h = NULL;
    cvm_status st;
    if (out == NULL) {
        return CVM_E_INVALID;
    }
    st = cvm__model_new(&h, sizeof **out, opts);
    *out = h;
    return st;
}

void cvm_retention_free(cvm_retention *r)
{
    cvm__model_free(r);
}

const char *cvm_retention_errmsg(const cvm_retention *r)
{
    return r ? r->errmsg : "";
}

/* ---- fitting ------------------------------------------------------------ */

typedef struct sbg_data {
    const double *alive;
    size_t n;
} sbg_data;

static double objective(void *ctx, const double *p, double *grad)
{
    const sbg_data *d = ctx;
    return cvm__sbg_loglik(p, d->alive, d->n, grad);
}

static cvm_status check_counts(cvm_retention *r, const double *alive, size_t n)
{
    size_t t;
    for (t = 0; t < n; t++) {
        if (!isfinite(alive[t]) || alive[t] < 0) {
            return cvm__errf(r->errmsg, sizeof r->errmsg, CVM_E_INVALID,
                             "period %zu: %g customers alive is not finite and >= 0", t,
                             alive[t]);
        }
        if (t == 0 && alive[0] == 0) {
            return cvm__errf(r->errmsg, sizeof r->errmsg, CVM_E_INVALID,
                             "period 0: no customers at the start (alive[0] = 0)");
        }
        if (t > 0 && alive[t] > alive[t - 1]) {
            return cvm__errf(r->errmsg, sizeof r->errmsg, CVM_E_INVALID,
                             "period %zu: %g alive is more than the %g of period %zu (counts "
                             "must not increase)",
                             t, alive[t], alive[t - 1], t - 1);
        }
    }
    return CVM_OK;
}

static int usable_start(const double *p)
{
    return isfinite(p[0]) && isfinite(p[1]) && p[0] >= 1e-8 && p[1] >= 1e-8 && p[0] <= 1e8 &&
           p[1] <= 1e8;
}

/* Built-in starting points. First the moments of the first two periods:
 * the churn of period 1 is alpha / (alpha + beta) and the retention rate of
 * period 2 is (beta + 1) / (alpha + beta + 1); both determine alpha and
 * beta when the rate rises (heterogeneity). Then a few spreads with the same
 * first-period churn, and (1, 1). */
static size_t builtin_starts(const double *alive, size_t n, double *out, size_t max)
{
    static const double scale[3] = {1, 10, 0.1};
    double c1 = 1 - alive[1] / alive[0], cand[NP];
    size_t k = 0, i;
    if (c1 < 1e-3) {
        c1 = 1e-3;
    } else if (c1 > 1 - 1e-3) {
        c1 = 1 - 1e-3;
    }
    if (n > 2 && alive[1] > 0) {
        double r2 = alive[2] / alive[1], den = r2 - (1 - r2) * (1 - c1) / c1;
        if (den > 0) {
            cand[0] = (1 - r2) / den;
            cand[1] = cand[0] * (1 - c1) / c1;
            if (k < max && usable_start(cand)) {
                memcpy(out + k * NP, cand, sizeof cand);
                k++;
            }
        }
    }
    for (i = 0; i < 3 && k < max; i++) {
        cand[0] = c1 * scale[i];
        cand[1] = (1 - c1) * scale[i];
        if (usable_start(cand)) {
            memcpy(out + k * NP, cand, sizeof cand);
            k++;
        }
    }
    if (k < max) {
        out[k * NP] = 1;
        out[k * NP + 1] = 1;
        k++;
    }
    return k;
}

cvm_status cvm_retention_fit(cvm_retention *r, const double *alive, size_t n,
                             const cvm_fit_options *opts)
{
    double starts[MAX_STARTS * NP];
    cvm_fit_options o;
    cvm__mle_problem prob;
    sbg_data d;
    size_t k = 0;
    cvm_status st;
    if (r == NULL) {
        return CVM_E_INVALID;
    }
    r->errmsg[0] = '\0';
    if (alive == NULL) {
        return cvm__errf(r->errmsg, sizeof r->errmsg, CVM_E_INVALID, "fit: alive is NULL");
    }
    if (n < 2) {
        return cvm__errf(r->errmsg, sizeof r->errmsg, CVM_E_INVALID,
                         "fit: need the start and at least one later period (n = %zu)", n);
    }
    st = cvm__fit_options(&o, opts, NP, r->errmsg, sizeof r->errmsg);
    if (st == CVM_OK) {
        st = check_counts(r, alive, n);
    }
    if (st != CVM_OK) {
        return st;
    }
    if (o.initial != NULL) {
        memcpy(starts, o.initial, NP * sizeof *starts);
        k = 1;
    }
    k += builtin_starts(alive, n, starts + k * NP, MAX_STARTS - k);
    d.alive = alive;
    d.n = n;
    memset(&prob, 0, sizeof prob);
    prob.np = NP;
    prob.loglik = objective;
    prob.ctx = &d;
    prob.weight = alive[0];
    prob.penalizer = o.penalizer;
    prob.starts = starts;
    prob.nstarts = k < (size_t)o.starts ? k : (size_t)o.starts;
    prob.max_iterations = o.max_iterations;
    prob.tolerance = o.tolerance;
    r->fit.rows = n;
    r->fit.patterns = n;
    r->fit.weight = alive[0];
    return cvm__fit_run(&r->fit, &prob, TITLE, r->errmsg, sizeof r->errmsg);
}

/* ---- parameters --------------------------------------------------------- */

cvm_status cvm_retention_params(const cvm_retention *r, double *params, double *stderrs,
                                size_t n)
{
    return r ? cvm__fit_params(&r->fit, NP, params, stderrs, n) : CVM_E_INVALID;
}

cvm_status cvm_retention_set_params(cvm_retention *r, const double *params, size_t n)
{
    if (r == NULL) {
        return CVM_E_INVALID;
    }
    r->errmsg[0] = '\0';
    return cvm__fit_set(&r->fit, NP, params, n, r->errmsg, sizeof r->errmsg);
}

cvm_status cvm_retention_info(const cvm_retention *r, cvm_fit_info *info)
{
    return r ? cvm__fit_info(&r->fit, info) : CVM_E_INVALID;
}

/* ---- predictions -------------------------------------------------------- */

static cvm_status usable(const cvm_retention *r, const void *in, const void *out, char *err,
                         size_t errlen)
{
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (r == NULL || in == NULL || out == NULL) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "a required pointer is NULL");
    }
    if (!r->fit.fitted) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "the %s model is not fitted", TITLE);
    }
    return CVM_OK;
}

/* Evaluate `fn` at each t[i] >= `min`. */
static cvm_status each(const cvm_retention *r, double (*fn)(const double *, double),
                       const char *what, double min, const double *t, size_t n, double *out,
                       char *err, size_t errlen)
{
    size_t i;
    cvm_status st = usable(r, t, out, err, errlen);
    for (i = 0; i < n && st == CVM_OK; i++) {
        if (!isfinite(t[i]) || t[i] < min) {
            return cvm__errf(err, errlen, CVM_E_INVALID, "row %zu: t = %g is not finite and >= %g",
                             i + 1, t[i], min);
        }
        out[i] = fn(r->fit.params, t[i]);
        if (!isfinite(out[i])) {
            return cvm__errf(err, errlen, CVM_E_RANGE, "row %zu: %s at t = %g cannot be represented",
                             i + 1, what, t[i]);
        }
    }
    return st;
}

cvm_status cvm_retention_survival(const cvm_retention *r, const double *t, size_t n,
                                  double *out, char *errbuf, size_t errlen)
{
    return each(r, cvm__sbg_survival, "S(t)", 0, t, n, out, errbuf, errlen);
}

cvm_status cvm_retention_rate(const cvm_retention *r, const double *t, size_t n, double *out,
                              char *errbuf, size_t errlen)
{
    return each(r, cvm__sbg_rate, "r(t)", 1, t, n, out, errbuf, errlen);
}

cvm_status cvm_retention_lifetime(const cvm_retention *r, double discount_rate, double *out,
                                  char *errbuf, size_t errlen)
{
    const double *p;
    double v;
    cvm_status st = usable(r, &discount_rate, out, errbuf, errlen);
    if (st != CVM_OK) {
        return st;
    }
    p = r->fit.params;
    if (!isfinite(discount_rate) || discount_rate < 0) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "discount rate %g is not finite and >= 0", discount_rate);
    }
    if (discount_rate == 0 && !(p[0] > 1)) {
        return cvm__errf(errbuf, errlen, CVM_E_RANGE,
                         "the mean lifetime is infinite when alpha = %g <= 1 (a share of the "
                         "cohort practically never churns); use a discount rate > 0",
                         p[0]);
    }
    v = cvm__sbg_lifetime(p, discount_rate);
    if (!isfinite(v)) {
        return cvm__errf(errbuf, errlen, CVM_E_RANGE,
                         "the expected lifetime at discount rate %g cannot be computed "
                         "(alpha = %g, beta = %g)",
                         discount_rate, p[0], p[1]);
    }
    *out = v;
    return CVM_OK;
}

/* ---- saving ------------------------------------------------------------- */

cvm_status cvm_retention_save(cvm_retention *r, const char *path)
{
    if (r == NULL) {
        return CVM_E_INVALID;
    }
    r->errmsg[0] = '\0';
    return cvm__fit_save(&r->fit, &r->alloc, CVM__SNAP_RETENTION, SNAP_NAME, NP, path, r->errmsg,
                         sizeof r->errmsg);
}

cvm_status cvm_retention_load(cvm_retention **out, const char *path,
                              const cvm_model_options *opts, char *errbuf, size_t errlen)
{
    void *h = NULL;
    cvm_status st;
    if (out == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "load: out is NULL");
    }
    st = cvm__model_load(&h, sizeof **out, offsetof(cvm_retention, fit), opts, CVM__SNAP_RETENTION, SNAP_NAME, NP, path,
                         errbuf, errlen);
    *out = h;
    return st;
}
