/* The cumulative repeat-purchase curve ("tracking" plot of the BTYD
 * literature): actual repeat purchase periods by time bucket, to lay beside
 * a fitted model's expected curve. */
#include "customers/customers_int.h"

#include <string.h>

/* Bucket of a period that starts at `t`: periods before `start` fall in the
 * first bucket, so they count at every point of the cumulative curve. */
static size_t bucket_of(int64_t t, int64_t start, int64_t unit, size_t n)
{
    int64_t j;
    if (t < start) {
        return 0;
    }
    j = (t - start) / unit;
    return (uint64_t)j < n ? (size_t)j : n;
}

static cvm_status count_customer(cvm_customers *c, size_t i, int64_t start, int64_t unit,
                                 double *out, size_t n)
{
    size_t k = cvm__collect_events(c, c, i), j;
    const cvm__event *ev = c->scratch.data;
    if (k == SIZE_MAX) {
        return cvm__cerr(c, CVM_E_NOMEM, "repeat curve: out of memory");
    }
    for (j = 1; j < k; j++) {
        if (ev[j].period != ev[j - 1].period) {
            int64_t t = c->opts.period_origin + (int64_t)ev[j].period * c->opts.period_seconds;
            size_t b = bucket_of(t, start, unit, n);
            if (b < n) {
                out[b] += 1;
            }
        }
    }
    return CVM_OK;
}

cvm_status cvm_customers_repeat_curve(cvm_customers *c, int64_t start, int64_t unit_seconds,
                                      double *out, size_t n)
{
    size_t i, j, count;
    cvm_status st = CVM_OK;
    if (c == NULL) {
        return CVM_E_INVALID;
    }
    c->errmsg[0] = '\0';
    if (out == NULL || unit_seconds < 1) {
        return cvm__cerr(c, CVM_E_INVALID, "repeat curve: out is NULL or unit_seconds < 1");
    }
    if (start <= -CVM__TIME_LIMIT || start >= CVM__TIME_LIMIT) {
        return cvm__cerr(c, CVM_E_RANGE, "repeat curve: start is out of range");
    }
    memset(out, 0, n * sizeof *out);
    count = cvm_customers_count(c);
    for (i = 0; i < count && st == CVM_OK; i++) {
        st = count_customer(c, i, start, unit_seconds, out, n);
    }
    for (j = 1; j < n && st == CVM_OK; j++) {
        out[j] += out[j - 1];
    }
    return st;
}
