/* The ledger: storing purchases and keeping each customer's calibration
 * summary current as they arrive, in any order. */
#include "customers/customers_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

cvm_status cvm__check_event(cvm_customers *c, const char *where, size_t id_len, int64_t time,
                            double amount, int32_t *period)
{
    int64_t p;
    if (id_len == 0 || id_len > CVM__MAX_ID_LEN) {
        return cvm__cerr(c, CVM_E_INVALID, "%sid is %s", where,
                         id_len ? "longer than 65535 bytes" : "empty");
    }
    if (!isfinite(amount)) {
        return cvm__cerr(c, CVM_E_RANGE, "%samount is not finite", where);
    }
    if (amount < 0) {
        return cvm__cerr(c, CVM_E_RANGE, "%samount %g is negative", where, amount);
    }
    if (time < 0) {
        return cvm__cerr(c, CVM_E_RANGE, "%stime %lld is before 1970-01-01", where,
                         (long long)time);
    }
    p = cvm__floor_div(time - c->opts.period_origin, c->opts.period_seconds);
    if (p <= INT32_MIN || p >= INT32_MAX) {
        return cvm__cerr(c, CVM_E_RANGE, "%stime %lld is too far from the period origin", where,
                         (long long)time);
    }
    *period = (int32_t)p;
    return CVM_OK;
}

cvm_status cvm__intern(cvm_customers *c, const void *id, size_t len, uint64_t hash, size_t *index)
{
    int created;
    size_t n = cvm__idtable_count(&c->ids);
    if (cvm__vec_reserve(&c->custs, &c->alloc, sizeof(cvm__cust), n + 1) != CVM_OK ||
        cvm__idtable_intern(&c->ids, &c->alloc, id, len, hash, index, &created) != CVM_OK) {
        return cvm__cerr(c, CVM_E_NOMEM, "out of memory adding customer %zu", n);
    }
    if (created) {
        memset(cvm__cust_at(c, *index), 0, sizeof(cvm__cust));
        c->custs.len = n + 1;
    }
    return CVM_OK;
}

cvm_status cvm__reserve_events(cvm_customers *c, size_t n)
{
    size_t need, have;
    if (n > CVM__MAX_EVENTS - c->nevents) {
        return cvm__cerr(c, CVM_E_NOMEM, "more than %zu transactions", CVM__MAX_EVENTS);
    }
    need = (c->nevents + n + CVM__EVENT_BLOCK - 1) >> CVM__EVENT_BLOCK_BITS;
    if (cvm__vec_reserve(&c->blocks, &c->alloc, sizeof(cvm__event *), need) != CVM_OK) {
        return cvm__cerr(c, CVM_E_NOMEM, "out of memory storing transactions");
    }
    for (have = c->blocks.len; have < need; have++) {
        cvm__event *b = cvm__alloc(&c->alloc, CVM__EVENT_BLOCK * sizeof *b);
        if (b == NULL) {
            return cvm__cerr(c, CVM_E_NOMEM, "out of memory storing transactions");
        }
        ((cvm__event **)c->blocks.data)[have] = b;
        c->blocks.len = have + 1;
    }
    return CVM_OK;
}

/* Whether customer `cu` already has a calibration purchase in `period`,
 * looking past its newest event (the one being added). */
static int has_period(const cvm_customers *c, const cvm__cust *cu, int32_t period)
{
    uint32_t e = cvm__event_at(c, cu->head - 1)->next;
    while (e) {
        const cvm__event *ev = cvm__event_at(c, e - 1);
        if (ev->period == period) {
            return 1;
        }
        e = ev->next;
    }
    return 0;
}

/* Fold one calibration purchase into the summary. Every case but a purchase
 * strictly between the first and last periods is O(1). */
static void fold(const cvm_customers *c, cvm__cust *cu, int32_t p, double amount, size_t *rows)
{
    if (cu->n == 0) {
        cu->first = cu->last = p;
        cu->n = 1;
        cu->first_amount = amount;
        cu->rest_amount = 0;
        ++*rows;
    } else if (p == cu->first) {
        cu->first_amount += amount;
    } else if (p >= cu->last) {
        cu->n += p > cu->last;
        cu->last = p;
        cu->rest_amount += amount;
    } else if (p < cu->first) {
        cu->n++;
        cu->rest_amount += cu->first_amount;
        cu->first_amount = amount;
        cu->first = p;
    } else {
        cu->n += !has_period(c, cu, p);
        cu->rest_amount += amount;
    }
}

/* Inside a step, save the summary of a customer that predates it the first
 * time the step touches it: its newest event is then older than the step. */
static cvm_status save_for_undo(cvm_customers *c, size_t index, const cvm__cust *cu)
{
    cvm__undo *u;
    if (!c->in_step || index >= c->step.ncustomers || cu->head > c->step.nevents) {
        return CVM_OK;
    }
    if (cvm__vec_reserve(&c->undo, &c->alloc, sizeof *u, c->undo.len + 1) != CVM_OK) {
        return cvm__cerr(c, CVM_E_NOMEM, "out of memory recording a transaction");
    }
    u = (cvm__undo *)c->undo.data + c->undo.len++;
    u->index = index;
    u->saved = *cu;
    return CVM_OK;
}

cvm_status cvm__record(cvm_customers *c, size_t index, int32_t period, double amount)
{
    cvm__cust *cu = cvm__cust_at(c, index);
    cvm__event *ev;
    if ((c->nevents & (CVM__EVENT_BLOCK - 1)) == 0 && cvm__reserve_events(c, 1) != CVM_OK) {
        return CVM_E_NOMEM;
    }
    if (save_for_undo(c, index, cu) != CVM_OK) {
        return CVM_E_NOMEM;
    }
    ev = cvm__event_at(c, c->nevents);
    ev->period = period;
    ev->next = cu->head;
    ev->amount = amount;
    cu->head = (uint32_t)++c->nevents;
    if (period > c->max_period) {
        c->max_period = period;
    }
    if (period <= c->cal_period) {
        fold(c, cu, period, amount, &c->rows);
    }
    return CVM_OK;
}

cvm_status cvm_customers_add(cvm_customers *c, const void *id, size_t id_len, int64_t time,
                             double amount)
{
    int32_t period;
    size_t index;
    cvm_status st;
    if (c == NULL || id == NULL) {
        return c ? cvm__cerr(c, CVM_E_INVALID, "id is NULL") : CVM_E_INVALID;
    }
    st = cvm__check_event(c, "", id_len, time, amount, &period);
    /* With room for the event reserved first, nothing can fail after the
     * customer is created: no undo needed. */
    if (st == CVM_OK) {
        st = cvm__reserve_events(c, 1);
    }
    if (st == CVM_OK) {
        st = cvm__intern(c, id, id_len, cvm__hash_bytes(id, id_len), &index);
    }
    return st == CVM_OK ? cvm__record(c, index, period, amount) : st;
}

static cvm_status check_batch(cvm_customers *c, const size_t *offsets, const int64_t *times,
                              const double *amounts, size_t n)
{
    char where[48];
    size_t i;
    for (i = 0; i < n; i++) {
        int32_t period;
        cvm_status st;
        if (offsets[i + 1] < offsets[i]) {
            return cvm__cerr(c, CVM_E_INVALID, "event %zu: id offsets decrease", i);
        }
        snprintf(where, sizeof where, "event %zu: ", i);
        st = cvm__check_event(c, where, offsets[i + 1] - offsets[i], times[i],
                              amounts ? amounts[i] : 0.0, &period);
        if (st != CVM_OK) {
            return st;
        }
    }
    return CVM_OK;
}

/* Hashing a few events ahead and prefetching their slots overlaps the cache
 * misses of a large id table instead of paying them one after another. */
#define LOOKAHEAD 8

cvm_status cvm_customers_add_batch(cvm_customers *c, const char *id_data,
                                   const size_t *id_offsets, const int64_t *times,
                                   const double *amounts, size_t n)
{
    uint64_t hashes[LOOKAHEAD];
    cvm_status st;
    size_t i;
    if (c == NULL || (n > 0 && (id_data == NULL || id_offsets == NULL || times == NULL))) {
        return c ? cvm__cerr(c, CVM_E_INVALID, "NULL array") : CVM_E_INVALID;
    }
    st = check_batch(c, id_offsets, times, amounts, n);
    if (st != CVM_OK) {
        return st;
    }
    cvm__begin(c);
    st = cvm__reserve_events(c, n);
    for (i = 0; i < n && i < LOOKAHEAD; i++) {
        hashes[i] = cvm__hash_bytes(id_data + id_offsets[i], id_offsets[i + 1] - id_offsets[i]);
    }
    for (i = 0; i < n && st == CVM_OK; i++) {
        size_t ahead = i + LOOKAHEAD, index;
        uint64_t h = hashes[i % LOOKAHEAD];
        const char *id = id_data + id_offsets[i];
        size_t len = id_offsets[i + 1] - id_offsets[i];
        if (ahead < n) {
            uint64_t ha = cvm__hash_bytes(id_data + id_offsets[ahead],
                                          id_offsets[ahead + 1] - id_offsets[ahead]);
            hashes[ahead % LOOKAHEAD] = ha;
            cvm__idtable_prefetch(&c->ids, ha);
        }
        st = cvm__intern(c, id, len, h, &index);
        if (st == CVM_OK) {
            int32_t period = (int32_t)cvm__floor_div(times[i] - c->opts.period_origin,
                                                     c->opts.period_seconds);
            st = cvm__record(c, index, period, amounts ? amounts[i] : 0.0);
        }
    }
    if (st != CVM_OK) {
        cvm__rollback(c);
    } else {
        cvm__commit(c);
    }
    return st;
}

void cvm__begin(cvm_customers *c)
{
    c->in_step = 1;
    c->step.nevents = c->nevents;
    c->step.ncustomers = cvm__idtable_count(&c->ids);
    c->step.rows = c->rows;
    c->step.max_period = c->max_period;
    c->undo.len = 0;
}

void cvm__commit(cvm_customers *c)
{
    c->in_step = 0;
    c->undo.len = 0;
}

void cvm__rollback(cvm_customers *c)
{
    const cvm__undo *u = c->undo.data;
    size_t i;
    for (i = c->undo.len; i-- > 0;) {
        *cvm__cust_at(c, u[i].index) = u[i].saved;
    }
    c->custs.len = c->step.ncustomers;
    cvm__idtable_truncate(&c->ids, c->step.ncustomers);
    c->nevents = c->step.nevents;
    c->rows = c->step.rows;
    c->max_period = c->step.max_period;
    cvm__commit(c);
}

size_t cvm__collect_events(cvm_customers *c, const cvm_customers *src, size_t i)
{
    size_t k = 0, j;
    uint32_t e;
    cvm__event *out;
    for (e = cvm__cust_at(src, i)->head; e; e = cvm__event_at(src, e - 1)->next) {
        k++;
    }
    if (cvm__vec_reserve(&c->scratch, &c->alloc, sizeof(cvm__event), k) != CVM_OK) {
        return SIZE_MAX;
    }
    out = c->scratch.data;
    j = k;
    for (e = cvm__cust_at(src, i)->head; e; e = cvm__event_at(src, e - 1)->next) {
        out[--j] = *cvm__event_at(src, e - 1);
    }
    return k;
}
