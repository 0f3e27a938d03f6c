/* cvm_customers: lifecycle, options and look-ups. */
#include "customers/customers_int.h"

#include <stdio.h>
#include <string.h>

#define OPTIONS_V1_SIZE sizeof(cvm_customers_options)
#define CSV_OPTIONS_V1_SIZE sizeof(cvm_csv_options)
#define SUMMARY_OPTIONS_V1_SIZE sizeof(cvm_summary_options)

cvm_status cvm_customers_options_init(cvm_customers_options *opts, size_t size)
{
    const cvm_customers_options def = CVM_CUSTOMERS_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

cvm_status cvm_csv_options_init(cvm_csv_options *opts, size_t size)
{
    const cvm_csv_options def = CVM_CSV_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

cvm_status cvm_summary_options_init(cvm_summary_options *opts, size_t size)
{
    const cvm_summary_options def = CVM_SUMMARY_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

cvm_status cvm__cerr(cvm_customers *c, cvm_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cvm__verrf(c->errmsg, sizeof c->errmsg, status, fmt, ap);
    va_end(ap);
    return status;
}

cvm_status cvm__customers_create(cvm_customers **out, const cvm_allocator *a,
                                 const cvm_customers_options *o)
{
    cvm_customers *c = cvm__calloc(a, 1, sizeof *c);
    if (c == NULL) {
        return CVM_E_NOMEM;
    }
    c->alloc = *a;
    c->opts = *o;
    c->opts.allocator = NULL; /* the copy in c->alloc is what counts */
    c->inv_period = 1.0 / (double)o->period_seconds;
    c->cal_period = o->calibration_end == CVM_TIME_NONE
                        ? INT32_MAX
                        : cvm__period_clamped(c, o->calibration_end);
    c->max_period = INT32_MIN;
    cvm__idtable_init(&c->ids, sizeof(cvm__cust));
    *out = c;
    return CVM_OK;
}

int cvm__options_valid(const cvm_customers_options *o)
{
    const int64_t lim = CVM__TIME_LIMIT;
    return o->period_seconds >= 1 && o->period_seconds < lim && o->period_origin > -lim &&
           o->period_origin < lim &&
           (o->calibration_end == CVM_TIME_NONE ||
            (o->calibration_end > -lim && o->calibration_end < lim));
}

cvm_status cvm_customers_new(cvm_customers **out, const cvm_customers_options *opts)
{
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_allocator a;
    cvm_status st;
    if (out == NULL) {
        return CVM_E_INVALID;
    }
    *out = NULL;
    st = cvm__options_copy(&o, sizeof o, opts, OPTIONS_V1_SIZE);
    if (st != CVM_OK) {
        return st;
    }
    if (!cvm__options_valid(&o) || cvm__allocator_copy(&a, o.allocator) != CVM_OK) {
        return CVM_E_INVALID;
    }
    return cvm__customers_create(out, &a, &o);
}

static void free_blocks(cvm_customers *c, cvm__vec *blocks)
{
    void **b = blocks->data;
    size_t i;
    for (i = 0; i < blocks->len; i++) {
        cvm__free(&c->alloc, b[i]);
    }
    cvm__vec_free(blocks, &c->alloc);
}

void cvm_customers_free(cvm_customers *c)
{
    if (c == NULL) {
        return;
    }
    free_blocks(c, &c->blocks);
    cvm__vec_free(&c->scratch, &c->alloc);
    cvm__idtable_free(&c->ids, &c->alloc);
    cvm__free(&c->alloc, c);
}

const char *cvm_customers_errmsg(const cvm_customers *c)
{
    return c ? c->errmsg : "no handle";
}

size_t cvm_customers_count(const cvm_customers *c)
{
    return c ? cvm__idtable_count(&c->ids) : 0;
}

size_t cvm_customers_transactions(const cvm_customers *c)
{
    return c ? c->nevents : 0;
}

cvm_status cvm_customers_find(const cvm_customers *c, const void *id, size_t id_len,
                              size_t *index)
{
    size_t i;
    if (c == NULL || index == NULL || id == NULL) {
        return CVM_E_INVALID;
    }
    i = cvm__idtable_find(&c->ids, id, id_len, cvm__hash_bytes(id, id_len));
    if (i == SIZE_MAX) {
        return CVM_E_NOT_FOUND;
    }
    *index = i;
    return CVM_OK;
}

cvm_status cvm_customers_id(const cvm_customers *c, size_t index, const char **id,
                            size_t *id_len)
{
    if (c == NULL || id == NULL || id_len == NULL) {
        return CVM_E_INVALID;
    }
    if (index >= cvm__idtable_count(&c->ids)) {
        return CVM_E_NOT_FOUND;
    }
    *id = cvm__idtable_get(&c->ids, index, id_len);
    return CVM_OK;
}
