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
    if (amount > CVM__MAX_AMOUNT) {
        return cvm__cerr(c, CVM_E_RANGE, "%samount %g is above the limit of 1e15", where, amount);
    }
    if (time < 0) {
        return cvm__cerr(c, CVM_E_RANGE, "%stime %lld is before 1970-01-01", where,
                         (long long)time);
    }
    if (time >= CVM__TIME_LIMIT) {
        return cvm__cerr(c, CVM_E_RANGE, "%stime %lld is too far in the future", where,
                         (long long)time);
    }
    p = cvm__period_of(c, time);
    if (p <= INT32_MIN || p >= INT32_MAX) {
        return cvm__cerr(c, CVM_E_RANGE, "%stime %lld is too far from the period origin", where,
                         (long long)time);
    }
    *period = (int32_t)p;
    return CVM_OK;
}

static cvm_status new_event_block(cvm_customers *c)
{
    cvm__vec *blocks = &c->blocks;
    void *b;
    if (cvm__vec_reserve(blocks, &c->alloc, sizeof b, blocks->len + 1) != CVM_OK ||
        (b = cvm__alloc(&c->alloc, CVM__EVENT_BLOCK * sizeof(cvm__event))) == NULL) {
        return CVM_E_NOMEM;
    }
    ((void **)blocks->data)[blocks->len++] = b;
    return CVM_OK;
}

cvm_status cvm__intern(cvm_customers *c, const void *id, size_t len, uint64_t hash, size_t *index)
{
    int created;
    if (cvm__idtable_intern(&c->ids, &c->alloc, id, len, hash, index, &created) != CVM_OK) {
        return cvm__cerr(c, CVM_E_NOMEM, "out of memory adding customer %zu",
                         cvm__idtable_count(&c->ids));
    }
    return CVM_OK;
}

cvm_status cvm__reserve_events(cvm_customers *c, size_t n)
{
    size_t need;
    if (n > CVM__MAX_EVENTS - c->nevents) {
        return cvm__cerr(c, CVM_E_NOMEM, "more than %zu transactions", CVM__MAX_EVENTS);
    }
    need = (c->nevents + n + CVM__EVENT_BLOCK - 1) >> CVM__EVENT_BLOCK_BITS;
    while (c->blocks.len < need) {
        if (new_event_block(c) != CVM_OK) {
            return cvm__cerr(c, CVM_E_NOMEM, "out of memory storing transactions");
        }
    }
    return CVM_OK;
}

/* Fold one calibration purchase into the summary, in O(1). A purchase
 * strictly between the first and last periods may or may not open a new
 * period; rather than search the customer's purchases for it, count it and
 * leave the count to be settled when it is read. */
static void fold(cvm__cust *cu, int32_t p, double amount, size_t *rows)
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
        cu->n = (cu->n + 1) | CVM__N_UNSETTLED;
        cu->rest_amount += amount;
    }
}

cvm_status cvm__record(cvm_customers *c, size_t index, int32_t period, double amount)
{
    cvm__cust *cu = cvm__cust_at(c, index);
    cvm__event *ev;
    if ((c->nevents & (CVM__EVENT_BLOCK - 1)) == 0 && cvm__reserve_events(c, 1) != CVM_OK) {
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
        fold(cu, period, amount, &c->rows);
    }
    return CVM_OK;
}

/* The customer of the newest event, when its id is `id`: logs often list a
 * customer's purchases together, and this skips the table for them. */
static int is_latest(const cvm_customers *c, const void *id, size_t len, size_t *index)
{
    size_t n, k;
    const char *s;
    if (c->nevents == 0) {
        return 0;
    }
    k = c->latest;
    s = cvm__idtable_get(&c->ids, k, &n);
    if (n != len || memcmp(s, id, len) != 0) {
        return 0;
    }
    *index = k;
    return 1;
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
    if (!cvm__event_ok(c, id_len, time, amount)) {
        return cvm__check_event(c, "", id_len, time, amount, &period);
    }
    period = (int32_t)cvm__period_of(c, time);
    /* With room for the event made first, nothing can fail once the customer
     * exists: no undo needed. */
    if ((c->nevents & (CVM__EVENT_BLOCK - 1)) == 0 && (st = cvm__reserve_events(c, 1)) != CVM_OK) {
        return st;
    }
    if (!is_latest(c, id, id_len, &index) &&
        (st = cvm__intern(c, id, id_len, cvm__hash_bytes(id, id_len), &index)) != CVM_OK) {
        return st;
    }
    c->latest = index;
    return cvm__record(c, index, period, amount);
}

/* ---- many purchases at once ------------------------------------------- */

/* A purchase is looked up in two overlapping stages, a few events ahead of
 * the one being stored: hash it and prefetch its slot; read the slot and
 * prefetch the customer's record (id word and summary in one line). The
 * misses of a large table then overlap instead of following one another. */
#define RING 32 /* a power of two above AHEAD_SLOT */
#define AHEAD_SLOT 16
#define AHEAD_CUST 8

typedef struct pipeline {
    uint64_t hash[RING];
} pipeline;

static void prefetch(const void *p)
{
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}

static void stage_slot(const cvm_customers *c, pipeline *pl, const char *data, const size_t *off,
                       size_t k)
{
    uint64_t h = cvm__hash_bytes(data + off[k], off[k + 1] - off[k]);
    pl->hash[k % RING] = h;
    cvm__idtable_prefetch(&c->ids, h);
}

static void stage_customer(const cvm_customers *c, pipeline *pl, size_t k)
{
    size_t i = cvm__idtable_candidate(&c->ids, pl->hash[k % RING]);
    if (i != SIZE_MAX) {
        const char *rec = (const char *)cvm__cust_at(c, i);
        prefetch(rec);
        prefetch(rec + sizeof(cvm__cust) - 1); /* a record may straddle two lines */
    }
}

cvm_status cvm__add_checked(cvm_customers *c, const char *id_data, const size_t *id_offsets,
                            const int64_t *times, const double *amounts, size_t n)
{
    pipeline pl;
    size_t i, index = c->latest, k;
    const char *prev = NULL;
    size_t prev_len = 0;
    cvm_status st = cvm__reserve_events(c, n);
    for (k = 0; k < n && k < AHEAD_SLOT; k++) {
        stage_slot(c, &pl, id_data, id_offsets, k);
    }
    for (k = 0; k < n && k < AHEAD_CUST; k++) {
        stage_customer(c, &pl, k);
    }
    for (i = 0; i < n && st == CVM_OK; i++) {
        const char *id = id_data + id_offsets[i];
        size_t len = id_offsets[i + 1] - id_offsets[i];
        if (i + AHEAD_SLOT < n) {
            stage_slot(c, &pl, id_data, id_offsets, i + AHEAD_SLOT);
        }
        if (i + AHEAD_CUST < n) {
            stage_customer(c, &pl, i + AHEAD_CUST);
        }
        if (prev == NULL || len != prev_len || memcmp(id, prev, len) != 0) {
            st = cvm__intern(c, id, len, pl.hash[i % RING], &index);
            prev = id;
            prev_len = len;
        }
        if (st == CVM_OK) {
            st = cvm__record(c, index, (int32_t)cvm__period_of(c, times[i]),
                             amounts ? amounts[i] : 0.0);
        }
    }
    c->latest = index;
    return st;
}

static cvm_status check_batch(cvm_customers *c, const size_t *offsets, const int64_t *times,
                              const double *amounts, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        double amount = amounts ? amounts[i] : 0.0;
        int32_t period;
        char where[48];
        if (offsets[i + 1] < offsets[i]) {
            return cvm__cerr(c, CVM_E_INVALID, "event %zu: id offsets decrease", i);
        }
        if (!cvm__event_ok(c, offsets[i + 1] - offsets[i], times[i], amount)) {
            snprintf(where, sizeof where, "event %zu: ", i);
            return cvm__check_event(c, where, offsets[i + 1] - offsets[i], times[i], amount,
                                    &period);
        }
    }
    return CVM_OK;
}

cvm_status cvm_customers_add_batch(cvm_customers *c, const char *id_data,
                                   const size_t *id_offsets, const int64_t *times,
                                   const double *amounts, size_t n)
{
    cvm_status st;
    if (c == NULL || (n > 0 && (id_data == NULL || id_offsets == NULL || times == NULL))) {
        return c ? cvm__cerr(c, CVM_E_INVALID, "NULL array") : CVM_E_INVALID;
    }
    st = check_batch(c, id_offsets, times, amounts, n);
    if (st != CVM_OK) {
        return st;
    }
    cvm__begin(c);
    st = cvm__add_checked(c, id_data, id_offsets, times, amounts, n);
    if (st != CVM_OK) {
        cvm__rollback(c);
    }
    return st;
}

/* ---- all-or-nothing steps --------------------------------------------- */

void cvm__begin(cvm_customers *c)
{
    c->step.nevents = c->nevents;
    c->step.ncustomers = cvm__idtable_count(&c->ids);
    c->step.rows = c->rows;
    c->step.max_period = c->max_period;
    c->step.latest = c->latest;
}

/* Reverse a customer's list in place: newest first becomes oldest first. */
static uint32_t reverse(const cvm_customers *c, uint32_t head)
{
    uint32_t prev = 0;
    while (head) {
        cvm__event *ev = cvm__event_at(c, head - 1);
        uint32_t next = ev->next;
        ev->next = prev;
        prev = head;
        head = next;
    }
    return prev;
}

/* Recompute a customer's summary by folding its purchases again in the order
 * they came, exactly as they were folded the first time: the same sums in
 * the same order, so the summary is bit for bit what it was. Needs no
 * memory: the list is reversed and rebuilt as it is replayed. */
static void replay(cvm_customers *c, cvm__cust *cu)
{
    uint32_t e = reverse(c, cu->head);
    size_t rows = 0;
    uint64_t id_word = cu->id_word;
    memset(cu, 0, sizeof *cu);
    cu->id_word = id_word;
    while (e) {
        cvm__event *ev = cvm__event_at(c, e - 1);
        uint32_t next = ev->next;
        ev->next = cu->head;
        cu->head = e;
        if (ev->period <= c->cal_period) {
            fold(cu, ev->period, ev->amount, &rows);
        }
        e = next;
    }
}

/* Undo a failed step: drop its events and new customers, and replay the
 * customers it touched. Allocates nothing, so it cannot fail. */
void cvm__rollback(cvm_customers *c)
{
    size_t i;
    for (i = 0; i < c->step.ncustomers; i++) {
        cvm__cust *cu = cvm__cust_at(c, i);
        if (cu->head > c->step.nevents) {
            while (cu->head > c->step.nevents) {
                cu->head = cvm__event_at(c, cu->head - 1)->next;
            }
            replay(c, cu);
        }
    }
    cvm__idtable_truncate(&c->ids, c->step.ncustomers);
    c->nevents = c->step.nevents;
    c->rows = c->step.rows;
    c->max_period = c->step.max_period;
    c->latest = c->step.latest;
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
