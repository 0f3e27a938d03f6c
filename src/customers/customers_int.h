/* The customer model's insides, shared by the files of src/customers/. */
#ifndef CVM_CUSTOMERS_INT_H
#define CVM_CUSTOMERS_INT_H

#include "core/core_int.h"
#include "cvm/customers.h"

/* One stored purchase (16 bytes). Purchases of one customer form a list,
 * newest first, through `next` (event index + 1; 0 ends the list). */
typedef struct cvm__event {
    int32_t period;
    uint32_t next;
    double amount;
} cvm__event;

/* Events live in fixed blocks: no copy and no doubling slack as they grow. */
#define CVM__EVENT_BLOCK_BITS 16
#define CVM__EVENT_BLOCK ((size_t)1 << CVM__EVENT_BLOCK_BITS)
/* At most 2^31 - 1 purchases: a count of periods then always fits in the
 * 31 bits cvm__cust.n leaves beside its flag. */
#define CVM__MAX_EVENTS ((size_t)INT32_MAX)
/* Times, origins and calibration and observation ends lie within +-2^60
 * seconds (36 billion years), so their differences never overflow. */
#define CVM__TIME_LIMIT (INT64_C(1) << 60)
/* The largest amount of one purchase: sums of up to 2^31 of them stay
 * finite and exact to a cent's fraction far beyond any real ledger. */
#define CVM__MAX_AMOUNT 1e15
/* Set in cvm__cust.n while purchases that came between the first and last
 * period may repeat a period: the low bits then over-count, and
 * cvm__settle() counts exactly before anyone reads them. */
#define CVM__N_UNSETTLED 0x80000000u
#define CVM__MAX_ID_LEN CVM__ID_MAX_LEN

/* A customer's record in the id table (40 bytes): its id word, then its
 * calibration summary, kept current as purchases arrive. `n` counts distinct
 * calibration periods; 0 means the customer has no calibration purchase and
 * is not a summary row. One cache line serves both the id check and the
 * update. */
typedef struct cvm__cust {
    uint64_t id_word; /* owned by the id table */
    int32_t first;    /* first calibration period */
    int32_t last;     /* last calibration period */
    uint32_t n;       /* distinct calibration periods */
    uint32_t head;    /* newest event index + 1, 0 if none */
    double first_amount; /* spent in the first period */
    double rest_amount;  /* spent in the other calibration periods */
} cvm__cust;

/* A point to roll back to: the model's size before an all-or-nothing step. */
typedef struct cvm__mark {
    size_t nevents;
    size_t ncustomers;
    size_t rows;
    size_t latest;
    int32_t max_period;
} cvm__mark;

struct cvm_customers {
    cvm_allocator alloc;
    cvm_customers_options opts;
    double inv_period;    /* 1 / period_seconds, for a division-free period estimate */
    int32_t cal_period;   /* last calibration period; INT32_MAX without a calibration end */
    int32_t max_period;   /* latest period of any purchase; INT32_MIN when empty */
    size_t rows;          /* customers with n > 0 */
    size_t latest;        /* customer of the newest purchase */
    cvm__idtable ids;
    cvm__vec blocks;      /* cvm__event *, each CVM__EVENT_BLOCK events */
    size_t nevents;
    cvm__vec scratch;     /* per-customer work space (holdout, save) */
    cvm__mark step;       /* the model when the current step began */
    char errmsg[CVM__ERRMSG_LEN];
};

static inline cvm__event *cvm__event_at(const cvm_customers *c, size_t e)
{
    cvm__event *const *blocks = c->blocks.data;
    return &blocks[e >> CVM__EVENT_BLOCK_BITS][e & (CVM__EVENT_BLOCK - 1)];
}

static inline cvm__cust *cvm__cust_at(const cvm_customers *c, size_t i)
{
    return (cvm__cust *)cvm__idtable_record(&c->ids, i);
}

/* The period of time `t`: floor((t - origin) / period) without a 64-bit
 * division on the hot path. The floating estimate is within one of the
 * truth for |t - origin| < 2^53; the integer checks make it exact. */
static inline int64_t cvm__period_of(const cvm_customers *c, int64_t t)
{
    const int64_t d = c->opts.period_seconds, lim = INT64_C(1) << 53;
    int64_t n = t - c->opts.period_origin, p;
    if (n <= -lim || n >= lim) {
        return cvm__floor_div(n, d);
    }
    p = (int64_t)((double)n * c->inv_period);
    if (p * d > n) {
        p--;
    } else if ((p + 1) * d <= n) {
        p++;
    }
    return p;
}

/* The period holding a calibration or observation end, clamped inside the
 * range purchase periods use: an end past every purchase is "after all". */
static inline int32_t cvm__period_clamped(const cvm_customers *c, int64_t t)
{
    int64_t p = cvm__period_of(c, t);
    return p > INT32_MAX - 1 ? INT32_MAX - 1 : p < INT32_MIN + 1 ? INT32_MIN + 1 : (int32_t)p;
}

/* Whether a purchase is acceptable, without building a message: the hot
 * paths test this and only call cvm__check_event() to explain a failure. */
static inline int cvm__event_ok(const cvm_customers *c, size_t id_len, int64_t time,
                                double amount)
{
    int64_t p;
    if (id_len - 1 >= CVM__MAX_ID_LEN || !(amount >= 0 && amount <= CVM__MAX_AMOUNT) ||
        time < 0 || time >= CVM__TIME_LIMIT) {
        return 0;
    }
    p = cvm__period_of(c, time);
    return p > INT32_MIN && p < INT32_MAX;
}

/* Set the handle's message and return `status`. */
cvm_status cvm__cerr(cvm_customers *c, cvm_status status, const char *fmt, ...) CVM__PRINTF(3, 4);

/* Check one purchase; on error the message names `where` ("data.csv:3:2: "
 * or "event 7: "). Computes the period into *period. Slow: for messages. */
cvm_status cvm__check_event(cvm_customers *c, const char *where, size_t id_len, int64_t time,
                            double amount, int32_t *period);
/* Customer index for an id, creating the customer when new. */
cvm_status cvm__intern(cvm_customers *c, const void *id, size_t len, uint64_t hash, size_t *index);
/* Store a checked purchase of customer `index` and update its summary. */
cvm_status cvm__record(cvm_customers *c, size_t index, int32_t period, double amount);
/* Add `n` purchases that passed cvm__event_ok(), ids in Arrow layout, inside
 * a step (cvm__begin), looking ahead to overlap the id table's cache misses. */
cvm_status cvm__add_checked(cvm_customers *c, const char *id_data, const size_t *id_offsets,
                            const int64_t *times, const double *amounts, size_t n);
/* Make room for `n` more events so that cvm__record cannot fail. */
cvm_status cvm__reserve_events(cvm_customers *c, size_t n);

/* All-or-nothing steps (batch, CSV load, merge): cvm__begin() marks the
 * model; on failure cvm__rollback() restores it exactly (bit for bit)
 * without allocating, by dropping what came after the mark and replaying the
 * customers it touched. Success needs nothing more. */
void cvm__begin(cvm_customers *c);
void cvm__rollback(cvm_customers *c);

/* Copy customer i's events, oldest first, into c->scratch (cvm__event with
 * `next` unused); returns their number or SIZE_MAX when out of memory. */
size_t cvm__collect_events(cvm_customers *c, const cvm_customers *src, size_t i);

/* Whether options are usable (period >= 1, times within CVM__TIME_LIMIT). */
int cvm__options_valid(const cvm_customers_options *o);
/* Make customer i's period count exact (see CVM__N_UNSETTLED): O(k log k)
 * in its k purchases, once after out-of-order purchases. CVM_E_NOMEM. */
cvm_status cvm__settle(cvm_customers *c, size_t i);

/* Allocate a model with the given (already checked) options. */
cvm_status cvm__customers_create(cvm_customers **out, const cvm_allocator *a,
                                 const cvm_customers_options *o);

#endif
