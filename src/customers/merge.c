/* Merging shards: replaying another model's purchases, all or nothing. */
#include "customers/customers_int.h"

static int same_settings(const cvm_customers *a, const cvm_customers *b)
{
    return a->opts.period_seconds == b->opts.period_seconds &&
           a->opts.period_origin == b->opts.period_origin &&
           a->opts.calibration_end == b->opts.calibration_end;
}

static cvm_status merge_customer(cvm_customers *dst, const cvm_customers *src, size_t i)
{
    size_t len, index, k, j;
    const char *id = cvm__idtable_get(&src->ids, i, &len);
    const cvm__event *ev;
    cvm_status st = cvm__intern(dst, id, len, cvm__hash_bytes(id, len), &index);
    if (st != CVM_OK) {
        return st;
    }
    k = cvm__collect_events(dst, src, i);
    if (k == SIZE_MAX) {
        return cvm__cerr(dst, CVM_E_NOMEM, "out of memory merging");
    }
    ev = dst->scratch.data;
    for (j = 0; j < k && st == CVM_OK; j++) {
        st = cvm__record(dst, index, ev[j].period, ev[j].amount);
    }
    return st;
}

cvm_status cvm_customers_merge(cvm_customers *dst, const cvm_customers *src)
{
    size_t n, i;
    cvm_status st;
    if (dst == NULL || src == NULL || dst == src) {
        return dst ? cvm__cerr(dst, CVM_E_INVALID, "cannot merge a model with %s",
                               src ? "itself" : "NULL")
                   : CVM_E_INVALID;
    }
    if (!same_settings(dst, src)) {
        return cvm__cerr(dst, CVM_E_MISMATCH,
                         "models differ in period, period origin or calibration end");
    }
    cvm__begin(dst);
    n = cvm__idtable_count(&src->ids);
    st = cvm__reserve_events(dst, src->nevents);
    for (i = 0; i < n && st == CVM_OK; i++) {
        st = merge_customer(dst, src, i);
    }
    if (st != CVM_OK) {
        cvm__rollback(dst);
    }
    return st;
}
