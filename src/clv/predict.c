/* Predictions from a fitted transaction model. They only read the model, so
 * threads may share it; messages go to the caller's buffer. Every result is
 * checked: a value that is not finite is reported, never returned. */
#include "clv/clv_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static cvm_status usable(const cvm_clv *m, const void *a, const void *b, const void *c,
                         const void *out, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (m == NULL || a == NULL || b == NULL || c == NULL || out == NULL) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "a required pointer is NULL");
    }
    if (!m->fit.fitted) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "the %s model is not fitted",
                         m->ops->title);
    }
    return CVM_OK;
}

static cvm_status check_horizon(const cvm_clv *m, const char *what, double t, char *err,
                                size_t errlen)
{
    if (!isfinite(t) || t < 0) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "%s %g is not finite and >= 0", what, t);
    }
    if (m->ops->discrete && (t != floor(t) || t > CVM__MAX_OPPORTUNITIES)) {
        return cvm__errf(err, errlen, CVM_E_INVALID,
                         "%s %g is not a whole number of opportunities up to 100000", what, t);
    }
    return CVM_OK;
}

static cvm_status result(double v, size_t i, const char *what, char *err, size_t errlen)
{
    if (isfinite(v)) {
        return CVM_OK;
    }
    return cvm__errf(err, errlen, CVM_E_RANGE, "row %zu: %s cannot be represented", i + 1, what);
}

cvm_status cvm_clv_loglik(const cvm_clv *m, const double *x, const double *t_x, const double *T,
                          size_t n, double *out, double *total, char *errbuf, size_t errlen)
{
    double sum = 0;
    size_t i;
    cvm_status st = usable(m, x, t_x, T, out, errbuf, errlen);
    for (i = 0; i < n && st == CVM_OK; i++) {
        st = cvm__check_row(m->ops, i, x[i], t_x[i], T[i], errbuf, errlen);
        if (st == CVM_OK) {
            out[i] = m->ops->row_loglik(m->fit.params, x[i], t_x[i], T[i]);
            sum += out[i];
            st = result(out[i], i, "the log-likelihood", errbuf, errlen);
        }
    }
    if (st == CVM_OK && !isfinite(sum)) {
        st = cvm__errf(errbuf, errlen, CVM_E_RANGE, "the total log-likelihood cannot be represented");
    }
    if (st == CVM_OK && total != NULL) {
        *total = sum;
    }
    return st;
}

cvm_status cvm_clv_p_alive(const cvm_clv *m, const double *x, const double *t_x, const double *T,
                           size_t n, double *out, char *errbuf, size_t errlen)
{
    size_t i;
    cvm_status st = usable(m, x, t_x, T, out, errbuf, errlen);
    for (i = 0; i < n && st == CVM_OK; i++) {
        st = cvm__check_row(m->ops, i, x[i], t_x[i], T[i], errbuf, errlen);
        if (st == CVM_OK) {
            out[i] = m->ops->p_alive(m->fit.params, x[i], t_x[i], T[i]);
            st = result(out[i], i, "P(alive)", errbuf, errlen);
        }
    }
    return st;
}

cvm_status cvm_clv_expected_new(const cvm_clv *m, const double *t, size_t n, double *out,
                                char *errbuf, size_t errlen)
{
    size_t i;
    cvm_status st = usable(m, t, t, t, out, errbuf, errlen);
    for (i = 0; i < n && st == CVM_OK; i++) {
        st = check_horizon(m, "time", t[i], errbuf, errlen);
        if (st == CVM_OK) {
            out[i] = m->ops->expected_new(m->fit.params, t[i]);
            st = result(out[i], i, "E[X(t)]", errbuf, errlen);
        }
    }
    return st;
}

cvm_status cvm_clv_prob_count(const cvm_clv *m, const double *t, const double *k, size_t n,
                              double *out, char *errbuf, size_t errlen)
{
    size_t i;
    cvm_status st = usable(m, t, k, t, out, errbuf, errlen);
    if (st == CVM_OK && m->ops->prob_count == NULL) {
        st = cvm__errf(errbuf, errlen, CVM_E_INVALID, "P(X(t) = k) is not available for %s",
                       m->ops->title);
    }
    for (i = 0; i < n && st == CVM_OK; i++) {
        st = check_horizon(m, "time", t[i], errbuf, errlen);
        if (st == CVM_OK && (!isfinite(k[i]) || k[i] < 0 || k[i] != floor(k[i]) ||
                             k[i] > CVM__MAX_COUNT)) {
            st = cvm__errf(errbuf, errlen, CVM_E_INVALID, "row %zu: k = %g is not a whole number >= 0",
                           i + 1, k[i]);
        }
        if (st == CVM_OK) {
            out[i] = m->ops->prob_count(m->fit.params, t[i], k[i]);
            st = result(out[i], i, "P(X(t) = k)", errbuf, errlen);
        }
    }
    return st;
}

static void holdout_stats(cvm_holdout_report *r, const double *pred, const double *actual,
                          size_t n)
{
    double abs_err = 0, sq_err = 0;
    size_t i;
    r->customers = (double)n;
    r->predicted = 0;
    r->actual = 0;
    for (i = 0; i < n; i++) {
        double e = pred[i] - actual[i];
        r->predicted += pred[i];
        r->actual += actual[i];
        abs_err += fabs(e);
        sq_err += e * e;
    }
    r->mae = n ? abs_err / (double)n : 0;
    r->rmse = n ? sqrt(sq_err / (double)n) : 0;
    r->bias = n ? (r->predicted - r->actual) / (double)n : 0;
}

static cvm_status holdout_rows(const cvm_clv *m, const double *x, const double *t_x,
                               const double *T, const double *duration, const double *actual,
                               size_t n, double *pred, char *errbuf, size_t errlen)
{
    size_t i;
    cvm_status st = CVM_OK;
    for (i = 0; i < n && st == CVM_OK; i++) {
        st = cvm__check_row(m->ops, i, x[i], t_x[i], T[i], errbuf, errlen);
        if (st == CVM_OK && (!isfinite(actual[i]) || actual[i] < 0)) {
            st = cvm__errf(errbuf, errlen, CVM_E_INVALID,
                           "row %zu: actual holdout purchases %g is not finite and >= 0", i + 1,
                           actual[i]);
        }
        if (st == CVM_OK) {
            st = check_horizon(m, "holdout duration", duration[i], errbuf, errlen);
        }
        if (st == CVM_OK) {
            pred[i] = cvm__cond_expected(m->ops, m->fit.params, duration[i], x[i], t_x[i], T[i]);
            st = result(pred[i], i, "the expected number of purchases", errbuf, errlen);
        }
    }
    return st;
}

cvm_status cvm_clv_holdout(const cvm_clv *m, const double *x, const double *t_x, const double *T,
                           const double *duration, const double *actual, size_t n,
                           double *predicted, cvm_holdout_report *report, char *errbuf,
                           size_t errlen)
{
    cvm_holdout_report r;
    double *pred = predicted;
    cvm_status st = usable(m, x, t_x, T, report, errbuf, errlen);
    if (st == CVM_OK && (duration == NULL || actual == NULL)) {
        st = cvm__errf(errbuf, errlen, CVM_E_INVALID, "a required pointer is NULL");
    }
    if (st == CVM_OK && (report->size < sizeof r || report->size > 4096)) {
        st = cvm__errf(errbuf, errlen, CVM_E_ABI, "holdout report: unknown size %zu",
                       report->size);
    }
    if (st != CVM_OK) {
        return st;
    }
    if (pred == NULL && n > 0) {
        pred = cvm__calloc(&m->alloc, n, sizeof *pred);
        if (pred == NULL) {
            return cvm__errf(errbuf, errlen, CVM_E_NOMEM, "holdout: out of memory for %zu rows", n);
        }
    }
    st = holdout_rows(m, x, t_x, T, duration, actual, n, pred, errbuf, errlen);
    if (st == CVM_OK) {
        memset(&r, 0, sizeof r);
        holdout_stats(&r, pred, actual, n);
        if (!isfinite(r.predicted + r.actual + r.mae + r.rmse + r.bias)) {
            st = cvm__errf(errbuf, errlen, CVM_E_RANGE,
                           "holdout: the totals or errors cannot be represented");
        }
    }
    if (st == CVM_OK) {
        r.size = report->size;
        memcpy(report, &r, sizeof r);
    }
    if (pred != predicted) {
        cvm__free(&m->alloc, pred);
    }
    return st;
}

/* ---- tracking curve ---- */

typedef struct birth_w {
    double birth, w;
} birth_w;

static int by_birth(const void *a, const void *b)
{
    double x = ((const birth_w *)a)->birth, y = ((const birth_w *)b)->birth;
    return (x > y) - (x < y);
}

/* Distinct births with summed weights: the curve then costs per distinct
 * birth, which is few (acquisition days) however many customers there are. */
static size_t distinct_births(birth_w *b, size_t n)
{
    size_t i, j = 0;
    for (i = 0; i < n; i++) {
        if (j > 0 && b[j - 1].birth == b[i].birth) {
            b[j - 1].w += b[i].w;
        } else {
            b[j++] = b[i];
        }
    }
    return j;
}

static cvm_status tracking_sum(const cvm_clv *m, const birth_w *b, size_t nb,
                               const double *times, size_t ntimes, double *out, char *errbuf,
                               size_t errlen)
{
    size_t i, j;
    for (j = 0; j < ntimes; j++) {
        double sum = 0;
        for (i = 0; i < nb && b[i].birth < times[j]; i++) {
            double t = times[j] - b[i].birth, e;
            if (m->ops->discrete) {
                t = floor(t);
            }
            e = m->ops->expected_new(m->fit.params, t);
            if (!isfinite(e)) {
                return cvm__errf(errbuf, errlen, CVM_E_RANGE,
                                 "tracking: E[X(%g)] cannot be represented", t);
            }
            sum += b[i].w * e;
        }
        if (!isfinite(sum)) {
            return cvm__errf(errbuf, errlen, CVM_E_RANGE,
                             "tracking: the sum at time %g cannot be represented", times[j]);
        }
        out[j] = sum;
    }
    return CVM_OK;
}

static cvm_status tracking_input(const double *birth, const double *weights, size_t n,
                                 const double *times, size_t ntimes, birth_w *b, char *errbuf,
                                 size_t errlen)
{
    size_t i;
    for (i = 0; i < n; i++) {
        b[i].birth = birth[i];
        b[i].w = weights ? weights[i] : 1.0;
        if (!isfinite(birth[i]) || !isfinite(b[i].w) || b[i].w < 0) {
            return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                             "row %zu: birth %g or weight %g is not finite (weights >= 0)", i + 1,
                             birth[i], b[i].w);
        }
    }
    for (i = 0; i < ntimes; i++) {
        if (!isfinite(times[i])) {
            return cvm__errf(errbuf, errlen, CVM_E_INVALID, "time %zu is not finite", i + 1);
        }
    }
    qsort(b, n, sizeof *b, by_birth);
    return CVM_OK;
}

cvm_status cvm_clv_tracking(const cvm_clv *m, const double *birth, const double *weights,
                            size_t n, const double *times, size_t ntimes, double *out,
                            char *errbuf, size_t errlen)
{
    birth_w *b;
    size_t nb = 0;
    cvm_status st = usable(m, birth, times, times, out, errbuf, errlen);
    if (st != CVM_OK) {
        return st;
    }
    b = cvm__calloc(&m->alloc, n ? n : 1, sizeof *b);
    if (b == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_NOMEM, "tracking: out of memory for %zu rows", n);
    }
    st = tracking_input(birth, weights, n, times, ntimes, b, errbuf, errlen);
    if (st == CVM_OK) {
        nb = distinct_births(b, n);
        st = tracking_sum(m, b, nb, times, ntimes, out, errbuf, errlen);
    }
    cvm__free(&m->alloc, b);
    return st;
}
