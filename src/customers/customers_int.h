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
#define CVM__MAX_EVENTS ((size_t)UINT32_MAX - 1)
#define CVM__MAX_ID_LEN 65535u

/* A customer's calibration summary, kept current as purchases arrive
 * (32 bytes). `n` counts distinct calibration periods; 0 means the customer
 * has no calibration purchase and is not a summary row. */
typedef struct cvm__cust {
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
    int32_t max_period;
} cvm__mark;

/* A customer's summary as it was before the current step first changed it. */
typedef struct cvm__undo {
    size_t index;
    cvm__cust saved;
} cvm__undo;

struct cvm_customers {
    cvm_allocator alloc;
    cvm_customers_options opts;
    int32_t cal_period;   /* last calibration period; INT32_MAX without a calibration end */
    int32_t max_period;   /* latest period of any purchase; INT32_MIN when empty */
    size_t rows;          /* customers with n > 0 */
    cvm__idtable ids;
    cvm__vec custs;       /* cvm__cust, one per id */
    cvm__vec blocks;      /* cvm__event *, each CVM__EVENT_BLOCK events */
    size_t nevents;
    cvm__vec scratch;     /* per-customer work space (holdout, save) */
    int in_step;          /* inside cvm__begin() .. cvm__commit()/cvm__rollback() */
    cvm__mark step;       /* the model when the step began */
    cvm__vec undo;        /* cvm__undo, for customers that existed before it */
    char errmsg[CVM__ERRMSG_LEN];
};

static inline cvm__event *cvm__event_at(const cvm_customers *c, size_t e)
{
    cvm__event *const *blocks = c->blocks.data;
    return &blocks[e >> CVM__EVENT_BLOCK_BITS][e & (CVM__EVENT_BLOCK - 1)];
}

static inline cvm__cust *cvm__cust_at(const cvm_customers *c, size_t i)
{
    return (cvm__cust *)c->custs.data + i;
}

/* Set the handle's message and return `status`. */
cvm_status cvm__cerr(cvm_customers *c, cvm_status status, const char *fmt, ...) CVM__PRINTF(3, 4);

/* Check one purchase; on error the message names `where` ("data.csv:3:2: "
 * or "event 7: "). Computes the period into *period. */
cvm_status cvm__check_event(cvm_customers *c, const char *where, size_t id_len, int64_t time,
                            double amount, int32_t *period);
/* Customer index for an id, creating the customer when new. */
cvm_status cvm__intern(cvm_customers *c, const void *id, size_t len, uint64_t hash, size_t *index);
/* Store a checked purchase of customer `index` and update its summary. */
cvm_status cvm__record(cvm_customers *c, size_t index, int32_t period, double amount);
/* Make room for `n` more events so that cvm__record cannot fail. */
cvm_status cvm__reserve_events(cvm_customers *c, size_t n);

/* All-or-nothing steps (batch, CSV load, merge): after cvm__begin(), the
 * first change to each existing customer saves its summary, so that
 * cvm__rollback() restores the model exactly (bit for bit) without
 * allocating; cvm__commit() keeps the changes. */
void cvm__begin(cvm_customers *c);
void cvm__commit(cvm_customers *c);
void cvm__rollback(cvm_customers *c);

/* Copy customer i's events, oldest first, into c->scratch (cvm__event with
 * `next` unused); returns their number or SIZE_MAX when out of memory. */
size_t cvm__collect_events(cvm_customers *c, const cvm_customers *src, size_t i);

/* Allocate a model with the given (already checked) options. */
cvm_status cvm__customers_create(cvm_customers **out, const cvm_allocator *a,
                                 const cvm_customers_options *o);

#endif
