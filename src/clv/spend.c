/* cvm_spend: the Gamma-Gamma spend model handle — options, lifecycle,
 * fitting, E[M | x, m] and saving. The model's mathematics is in
 * spend_model.c. */
#include "clv/clv_int.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define NP 3 /* p, q, v */
#define SNAP_NAME "gammagamma"
#define TITLE "Gamma-Gamma"
#define MAX_STARTS 8

cvm_status cvm_model_options_init(cvm_model_options *opts, size_t size)
{
    const cvm_model_options def = CVM_MODEL_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

cvm_status cvm_spend_new(cvm_spend **out, const cvm_model_options *opts)
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

void cvm_spend_free(cvm_spend *s)
{
    cvm__model_free(s);
}

const char *cvm_spend_errmsg(const cvm_spend *s)
{
    return s ? s->errmsg : "";
}

/* One row of fitting or prediction input. */
static cvm_status check_row(size_t i, double x, double m, char *err, size_t errlen)
{
    if (!isfinite(x) || x < 0 || x != floor(x)) {
        return cvm__errf(err, errlen, CVM_E_INVALID,
                         "row %zu: x = %g is not a whole number of repeat purchases >= 0", i + 1,
                         x);
    }
    if (!isfinite(m)) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "row %zu: m = %g is not finite", i + 1, m);
    }
    if (m < 0) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "row %zu: m = %g is negative", i + 1, m);
    }
    if (m == 0 && x > 0) {
        return cvm__errf(err, errlen, CVM_E_INVALID,
                         "row %zu: m = 0 with x = %g purchases (amounts must be > 0)", i + 1, x);
    }
    return CVM_OK;
}

/* ---- fitting ------------------------------------------------------------ */

typedef struct gg_row {
    double x, m, w;
} gg_row;

static int row_cmp(const void *pa, const void *pb)
{
    const gg_row *a = pa, *b = pb;
    if (a->x != b->x) {
        return a->x < b->x ? -1 : 1;
    }
    return a->m < b->m ? -1 : a->m > b->m ? 1 : 0;
}

/* The rows with spend information (x > 0, weight > 0), sorted by x then m
 * with identical rows merged, as columns x, m, w of `k` doubles each: the
 * likelihood then computes the special functions once per distinct x. */
typedef struct gg_data {
    double *col; /* 3 * k */
    size_t k;
} gg_data;

static cvm_status check_all(cvm_spend *s, const double *x, const double *m, const double *w,
                            size_t n, size_t *used, double *total)
{
    size_t i;
    *used = 0;
    *total = 0;
    for (i = 0; i < n; i++) {
        double wi = w != NULL ? w[i] : 1.0;
        cvm_status st = check_row(i, x[i], m[i], s->errmsg, sizeof s->errmsg);
        if (st != CVM_OK) {
            return st;
        }
        if (!isfinite(wi) || wi < 0) {
            return cvm__errf(s->errmsg, sizeof s->errmsg, CVM_E_INVALID,
                             "row %zu: weight %g is not finite and >= 0", i + 1, wi);
        }
        if (x[i] > 0 && wi > 0) {
            ++*used;
            *total += wi;
        }
    }
    if (*used == 0) {
        return cvm__errf(s->errmsg, sizeof s->errmsg, CVM_E_INVALID,
                         "fit: no row with x > 0 purchases (and weight > 0): the spend "
                         "parameters cannot be identified");
    }
    if (!isfinite(*total)) {
        return cvm__errf(s->errmsg, sizeof s->errmsg, CVM_E_INVALID,
                         "fit: the weights sum to infinity");
    }
    return CVM_OK;
}

static cvm_status collect(cvm_spend *s, gg_data *d, const double *x, const double *m,
                          const double *w, size_t n, size_t used)
{
    gg_row *rows;
    double *cx, *cm, *cw;
    size_t i, k = 0;
    d->col = NULL;
    d->k = 0;
    if (used > SIZE_MAX / (3 * sizeof(double))) {
        return CVM_E_NOMEM;
    }
    rows = cvm__alloc(&s->alloc, used * sizeof *rows);
    if (rows == NULL) {
        return CVM_E_NOMEM;
    }
    for (i = 0; i < n; i++) {
        double wi = w != NULL ? w[i] : 1.0;
        if (x[i] > 0 && wi > 0) {
            rows[k].x = x[i];
            rows[k].m = m[i];
            rows[k].w = wi;
            k++;
        }
    }
    qsort(rows, used, sizeof *rows, row_cmp);
    for (i = 1, k = 0; i < used; i++) {
        if (rows[i].x == rows[k].x && rows[i].m == rows[k].m) {
            rows[k].w += rows[i].w;
        } else {
            rows[++k] = rows[i];
        }
    }
    k++;
    d->col = cvm__alloc(&s->alloc, 3 * k * sizeof(double));
    if (d->col == NULL) {
        cvm__free(&s->alloc, rows);
        return CVM_E_NOMEM;
    }
    cx = d->col;
    cm = cx + k;
    cw = cm + k;
    for (i = 0; i < k; i++) {
        cx[i] = rows[i].x;
        cm[i] = rows[i].m;
        cw[i] = rows[i].w;
    }
    d->k = k;
    cvm__free(&s->alloc, rows);
    return CVM_OK;
}

static double objective(void *ctx, const double *p, double *grad)
{
    const gg_data *d = ctx;
    return cvm__gg_loglik(p, d->col, d->col + d->k, d->col + 2 * d->k, d->k, grad);
}

static int usable_start(const double *p)
{
    int j;
    for (j = 0; j < NP; j++) {
        if (!isfinite(p[j]) || p[j] < 1e-8 || p[j] > 1e8) {
            return 0;
        }
    }
    return 1;
}

/* Built-in starting points, all with the data's mean spend as the model's
 * mean p v / (q - 1) where that is finite. First the method of moments:
 * given x, Var(m | x) = mu^2 / (q - 2) (1 + 1 / (p x)), so a weighted
 * regression of (m - mu)^2 on 1 / x gives mu^2 / (q - 2) as the intercept
 * and mu^2 / (p (q - 2)) as the slope. Then fixed shapes scaled by mu. */
static size_t builtin_starts(const gg_data *d, double *out, size_t max)
{
    /* (p, q, v / mu): mean p v / (q - 1) = mu, except the last (q = 1) */
    static const double shapes[4][NP] = {{1, 2, 1}, {10, 5, 0.4}, {0.5, 10, 18}, {1, 1, 1}};
    const double *x = d->col, *m = x + d->k, *w = m + d->k;
    double sw = 0, mu = 0, h = 0, s2 = 0, hh = 0, hy = 0, slope, icpt, mom[NP];
    size_t i, k = 0;
    for (i = 0; i < d->k; i++) {
        sw += w[i];
        mu += w[i] * m[i];
        h += w[i] / x[i];
    }
    mu /= sw;
    h /= sw;
    for (i = 0; i < d->k; i++) {
        double e = (m[i] - mu) * (m[i] - mu), u = 1 / x[i] - h;
        s2 += w[i] * e;
        hh += w[i] * u * u;
        hy += w[i] * u * e;
    }
    s2 /= sw;
    slope = hh > 0 ? hy / hh : 0;
    icpt = s2 - slope * h;
    if (icpt > 0 && slope > 0) {
        mom[0] = icpt / slope;
        mom[1] = 2 + mu * mu / icpt;
    } else { /* no usable trend in x: take p = 1 */
        mom[0] = 1;
        mom[1] = s2 > 0 ? 2 + mu * mu * (1 + h) / s2 : 10;
    }
    mom[2] = mu * (mom[1] - 1) / mom[0];
    if (k < max && usable_start(mom)) {
        memcpy(out, mom, sizeof mom);
        k++;
    }
    for (i = 0; i < 4 && k < max; i++) {
        double c[NP];
        c[0] = shapes[i][0];
        c[1] = shapes[i][1];
        c[2] = shapes[i][2] * mu;
        if (usable_start(c)) {
            memcpy(out + k * NP, c, sizeof c);
            k++;
        }
    }
    return k;
}

/* A power of two near the weighted mean of m (1 if that is not usable). */
static double data_scale(const gg_data *d)
{
    const double *m = d->col + d->k, *w = m + d->k;
    double sw = 0, mu = 0;
    size_t i;
    for (i = 0; i < d->k; i++) {
        sw += w[i];
        mu += w[i] * m[i];
    }
    mu /= sw;
    return isfinite(mu) && mu > 0 ? ldexp(1.0, ilogb(mu)) : 1;
}

cvm_status cvm_spend_fit(cvm_spend *s, const double *x, const double *m, const double *weights,
                         size_t n, const cvm_fit_options *opts)
{
    double starts[MAX_STARTS * NP], total, scale;
    cvm_fit_options o;
    cvm__mle_problem prob;
    gg_data d;
    size_t used, i, k = 0;
    cvm_status st;
    if (s == NULL) {
        return CVM_E_INVALID;
    }
    s->errmsg[0] = '\0';
    if (x == NULL || m == NULL) {
        return cvm__errf(s->errmsg, sizeof s->errmsg, CVM_E_INVALID, "fit: a column is NULL");
    }
    if (n == 0) {
        return cvm__errf(s->errmsg, sizeof s->errmsg, CVM_E_INVALID, "fit: no rows (n = 0)");
    }
    st = cvm__fit_options(&o, opts, NP, s->errmsg, sizeof s->errmsg);
    if (st == CVM_OK) {
        st = check_all(s, x, m, weights, n, &used, &total);
    }
    if (st != CVM_OK) {
        return st;
    }
    st = collect(s, &d, x, m, weights, n, used);
    if (st != CVM_OK) {
        return cvm__errf(s->errmsg, sizeof s->errmsg, st, "fit: out of memory for %zu rows",
                         used);
    }
    /* Money has a unit: fit m / scale (a power of two near the mean, so
     * the scaling is exact) and scale v, its standard error and the LL
     * back. The parameter box of the optimiser then holds any currency.
     * With a penalty, which is defined on the caller's parameters, the data
     * are fitted as given. */
    scale = o.penalizer > 0 ? 1 : data_scale(&d);
    for (i = 0; i < d.k && scale != 1; i++) {
        d.col[d.k + i] /= scale;
    }
    if (o.initial != NULL) {
        memcpy(starts, o.initial, NP * sizeof *starts);
        starts[2] /= scale;
        k = 1;
    }
    k += builtin_starts(&d, starts + k * NP, MAX_STARTS - k);
    if (k == 0) { /* the data's scale is outside every built-in start */
        starts[0] = 1;
        starts[1] = 2;
        starts[2] = 1;
        k = 1;
    }
    memset(&prob, 0, sizeof prob);
    prob.np = NP;
    prob.loglik = objective;
    prob.ctx = &d;
    prob.weight = total;
    prob.penalizer = o.penalizer;
    prob.starts = starts;
    prob.nstarts = k < (size_t)o.starts ? k : (size_t)o.starts;
    prob.max_iterations = o.max_iterations;
    prob.tolerance = o.tolerance;
    s->fit.rows = n;
    s->fit.patterns = d.k;
    s->fit.weight = total;
    st = cvm__fit_run(&s->fit, &prob, TITLE, s->errmsg, sizeof s->errmsg);
    if (st == CVM_OK && scale != 1) {
        /* f(m) = f'(m / scale) / scale for each of the `total` customers */
        s->fit.params[2] *= scale;
        s->fit.stderrs[2] *= scale;
        s->fit.loglik -= total * log(scale);
    }
    cvm__free(&s->alloc, d.col);
    return st;
}

/* ---- parameters --------------------------------------------------------- */

cvm_status cvm_spend_params(const cvm_spend *s, double *params, double *stderrs, size_t n)
{
    return s ? cvm__fit_params(&s->fit, NP, params, stderrs, n) : CVM_E_INVALID;
}

cvm_status cvm_spend_set_params(cvm_spend *s, const double *params, size_t n)
{
    if (s == NULL) {
        return CVM_E_INVALID;
    }
    s->errmsg[0] = '\0';
    return cvm__fit_set(&s->fit, NP, params, n, s->errmsg, sizeof s->errmsg);
}

cvm_status cvm_spend_info(const cvm_spend *s, cvm_fit_info *info)
{
    return s ? cvm__fit_info(&s->fit, info) : CVM_E_INVALID;
}

/* ---- predictions -------------------------------------------------------- */

cvm_status cvm_spend_expected(const cvm_spend *s, const double *x, const double *m, size_t n,
                              double *out, char *errbuf, size_t errlen)
{
    size_t i;
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (s == NULL || x == NULL || m == NULL || out == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "a required pointer is NULL");
    }
    if (!s->fit.fitted) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "the %s model is not fitted", TITLE);
    }
    for (i = 0; i < n; i++) {
        const double *p = s->fit.params;
        cvm_status st = check_row(i, x[i], m[i], errbuf, errlen);
        if (st != CVM_OK) {
            return st;
        }
        if (x[i] == 0) {
            if (!(p[1] > 1)) {
                return cvm__errf(errbuf, errlen, CVM_E_RANGE,
                                 "row %zu: x = 0, and the population mean spend p v / (q - 1) "
                                 "is infinite with q = %g <= 1",
                                 i + 1, p[1]);
            }
            out[i] = p[0] * p[2] / (p[1] - 1);
        } else {
            out[i] = cvm__gg_expected(p, x[i], m[i]);
        }
        if (!isfinite(out[i])) {
            return cvm__errf(errbuf, errlen, CVM_E_RANGE,
                             "row %zu: E[M | x = %g, m = %g] cannot be represented", i + 1, x[i],
                             m[i]);
        }
    }
    return CVM_OK;
}

/* ---- saving ------------------------------------------------------------- */

cvm_status cvm_spend_save(cvm_spend *s, const char *path)
{
    if (s == NULL) {
        return CVM_E_INVALID;
    }
    s->errmsg[0] = '\0';
    return cvm__fit_save(&s->fit, &s->alloc, CVM__SNAP_SPEND, SNAP_NAME, NP, path, s->errmsg,
                         sizeof s->errmsg);
}

cvm_status cvm_spend_load(cvm_spend **out, const char *path, const cvm_model_options *opts,
                          char *errbuf, size_t errlen)
{
    void *h = NULL;
    cvm_status st;
    if (out == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "load: out is NULL");
    }
    st = cvm__model_load(&h, sizeof **out, offsetof(cvm_spend, fit), opts, CVM__SNAP_SPEND, SNAP_NAME, NP, path,
                         errbuf, errlen);
    *out = h;
    return st;
}
