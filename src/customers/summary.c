/* The summary: per-customer columns with lifetimes' semantics. */
#include "customers/customers_int.h"

#include <stdlib.h>

typedef struct view {
    double scale;      /* seconds per period / seconds per unit */
    int32_t ref;       /* the period T is measured to */
    int32_t obs;       /* last holdout period */
    int holdout;       /* whether obs is set */
} view;

static cvm_status make_view(cvm_customers *c, const cvm_summary_options *opts, view *v)
{
    cvm_summary_options o = CVM_SUMMARY_OPTIONS_INIT;
    if (cvm__options_copy(&o, sizeof o, opts, sizeof o) != CVM_OK) {
        return cvm__cerr(c, CVM_E_ABI, "summary options of unsupported size");
    }
    if (o.unit_seconds < 1) {
        return cvm__cerr(c, CVM_E_INVALID, "unit_seconds %lld is not positive",
                         (long long)o.unit_seconds);
    }
    v->scale = (double)c->opts.period_seconds / (double)o.unit_seconds;
    v->ref = c->cal_period != INT32_MAX ? c->cal_period : c->max_period;
    v->holdout = o.observation_end != CVM_TIME_NONE;
    v->obs = v->ref;
    if (v->holdout) {
        if (c->cal_period == INT32_MAX) {
            return cvm__cerr(c, CVM_E_RANGE, "a holdout needs a calibration end");
        }
        if (o.observation_end <= -CVM__TIME_LIMIT || o.observation_end >= CVM__TIME_LIMIT) {
            return cvm__cerr(c, CVM_E_RANGE, "observation end %lld is out of range",
                             (long long)o.observation_end);
        }
        v->obs = cvm__period_clamped(c, o.observation_end);
        if (v->obs < c->cal_period) {
            return cvm__cerr(c, CVM_E_RANGE, "observation end is before the calibration end");
        }
    }
    return CVM_OK;
}

static int cmp_period(const void *a, const void *b)
{
    int32_t x = ((const cvm__event *)a)->period, y = ((const cvm__event *)b)->period;
    return (x > y) - (x < y);
}

/* Distinct periods and total spend of customer i's purchases in periods
 * (lo, hi]: walks its purchases, so O(k log k). */
static cvm_status periods_in(cvm_customers *c, size_t i, int32_t lo, int32_t hi, uint32_t *count,
                             double *sum)
{
    size_t k = 0, j;
    uint32_t e;
    cvm__event *buf;
    *count = 0;
    *sum = 0;
    for (e = cvm__cust_at(c, i)->head; e; e = cvm__event_at(c, e - 1)->next) {
        const cvm__event *ev = cvm__event_at(c, e - 1);
        if (ev->period > lo && ev->period <= hi) {
            if (cvm__vec_reserve(&c->scratch, &c->alloc, sizeof *ev, k + 1) != CVM_OK) {
                return cvm__cerr(c, CVM_E_NOMEM, "out of memory counting purchase periods");
            }
            ((cvm__event *)c->scratch.data)[k++] = *ev;
        }
    }
    buf = c->scratch.data;
    if (k > 1) {
        qsort(buf, k, sizeof *buf, cmp_period);
    }
    for (j = 0; j < k; j++) {
        *count += j == 0 || buf[j].period != buf[j - 1].period;
        *sum += buf[j].amount;
    }
    return CVM_OK;
}

cvm_status cvm__settle(cvm_customers *c, size_t i)
{
    cvm__cust *cu = cvm__cust_at(c, i);
    uint32_t n;
    double sum;
    cvm_status st;
    if (!(cu->n & CVM__N_UNSETTLED)) {
        return CVM_OK;
    }
    st = periods_in(c, i, INT32_MIN, c->cal_period, &n, &sum);
    if (st == CVM_OK) {
        cu->n = n;
    }
    return st;
}

/* Holdout periods and mean spend of customer i. */
static cvm_status holdout(cvm_customers *c, const view *v, size_t i, double *x, double *m)
{
    uint32_t n = 0;
    double sum = 0;
    cvm_status st = v->holdout ? periods_in(c, i, c->cal_period, v->obs, &n, &sum) : CVM_OK;
    *x = n;
    *m = n ? sum / n : 0;
    return st;
}

static cvm_status value(cvm_customers *c, const view *v, size_t i, int32_t col, double *out)
{
    const cvm__cust *cu = cvm__cust_at(c, i);
    double x, dummy;
    cvm_status st = cvm__settle(c, i);
    if (st != CVM_OK) {
        return st;
    }
    x = (double)cu->n - 1;
    switch (col) {
    case CVM_COL_FREQUENCY: *out = x; return CVM_OK;
    case CVM_COL_RECENCY: *out = ((double)cu->last - cu->first) * v->scale; return CVM_OK;
    case CVM_COL_T: *out = ((double)v->ref - cu->first) * v->scale; return CVM_OK;
    case CVM_COL_MONETARY: *out = x > 0 ? cu->rest_amount / x : 0; return CVM_OK;
    case CVM_COL_FREQUENCY_HOLDOUT: return holdout(c, v, i, out, &dummy);
    case CVM_COL_MONETARY_HOLDOUT: return holdout(c, v, i, &dummy, out);
    case CVM_COL_DURATION_HOLDOUT: *out = ((double)v->obs - v->ref) * v->scale; return CVM_OK;
    }
    return cvm__cerr(c, CVM_E_INVALID, "unknown summary column %d", (int)col);
}

size_t cvm_customers_summary_rows(const cvm_customers *c)
{
    return c ? c->rows : 0;
}

cvm_status cvm_customers_summary(cvm_customers *c, const cvm_summary_options *opts,
                                 int32_t column, double *out, size_t n)
{
    size_t i, r = 0, count;
    view v;
    cvm_status st;
    if (c == NULL || (out == NULL && n > 0)) {
        return c ? cvm__cerr(c, CVM_E_INVALID, "output array is NULL") : CVM_E_INVALID;
    }
    if (column < 0 || column >= CVM_COL_COUNT) {
        return cvm__cerr(c, CVM_E_INVALID, "unknown summary column %d", (int)column);
    }
    if (n != c->rows) {
        return cvm__cerr(c, CVM_E_INVALID, "output has %zu rows, the summary %zu", n, c->rows);
    }
    st = make_view(c, opts, &v);
    count = cvm__idtable_count(&c->ids);
    for (i = 0; i < count && st == CVM_OK; i++) {
        if (cvm__cust_at(c, i)->n > 0) {
            st = value(c, &v, i, column, &out[r++]);
        }
    }
    return st;
}

cvm_status cvm_customers_summary_index(const cvm_customers *c, size_t *out, size_t n)
{
    size_t i, r = 0, count;
    if (c == NULL || (out == NULL && n > 0) || n != c->rows) {
        return CVM_E_INVALID;
    }
    count = cvm__idtable_count(&c->ids);
    for (i = 0; i < count; i++) {
        if (cvm__cust_at(c, i)->n > 0) {
            out[r++] = i;
        }
    }
    return CVM_OK;
}

cvm_status cvm_customers_row(cvm_customers *c, size_t index, const cvm_summary_options *opts,
                             double *out, size_t ncols)
{
    view v;
    size_t k;
    cvm_status st;
    if (c == NULL || (out == NULL && ncols > 0) || ncols > CVM_COL_COUNT) {
        return c ? cvm__cerr(c, CVM_E_INVALID, "bad output columns") : CVM_E_INVALID;
    }
    if (index >= cvm__idtable_count(&c->ids)) {
        return cvm__cerr(c, CVM_E_NOT_FOUND, "no customer with index %zu", index);
    }
    if (cvm__cust_at(c, index)->n == 0) {
        return cvm__cerr(c, CVM_E_NOT_FOUND,
                         "customer %zu has no purchase on or before the calibration end", index);
    }
    st = make_view(c, opts, &v);
    for (k = 0; k < ncols && st == CVM_OK; k++) {
        st = value(c, &v, index, (int32_t)k, &out[k]);
    }
    return st;
}
