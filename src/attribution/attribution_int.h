/* The attribution module's insides. The handle (attribution.c, paths.c,
 * touches.c) turns its input into distinct journeys — cvm__journeys — that
 * every model reads; each model writes per-channel credit. */
#ifndef CVM_ATTRIBUTION_INT_H
#define CVM_ATTRIBUTION_INT_H

#include "core/core_int.h"
#include "cvm/attribution.h"

#define CVM__MAX_CHANNEL_LEN 255
#define CVM__MAX_PATH_TOUCHES 100000
#define CVM__SHAPLEY_MAX_CHANNELS 20

/* Distinct journeys (identical channel sequences merged, counts summed).
 * Journey j's touches are channel[offset[j] .. offset[j+1]-1], in order.
 * `age` is NULL for aggregated paths; for journeys from touchpoints it holds
 * each touch's time before the journey's end (its conversion, or its last
 * touch for a null), in seconds, parallel to `channel` — such journeys are
 * not merged, since their times differ. */
typedef struct cvm__journeys {
    size_t n;              /* journeys */
    size_t nchannels;      /* channel indices are 0..nchannels-1 */
    const size_t *offset;  /* n + 1 */
    const uint32_t *channel;
    const double *age;     /* NULL, or parallel to channel */
    const double *conversions;
    const double *value;
    const double *nulls;
    size_t longest;        /* touches of the longest journey */
    const char *const *names; /* nchannels NUL-terminated channel names */
} cvm__journeys;

/* A model's result: per channel conversions and value (nchannels each,
 * caller-allocated). */
typedef struct cvm__credit {
    double *conversions;
    double *value;
} cvm__credit;

/* ---- heuristics (heuristics.c) ---------------------------------------- */

/* First, last, linear, decay, position: credit per channel. */
cvm_status cvm__heuristic(const cvm__journeys *j, const cvm_attribution_run_options *o,
                          cvm__credit *out, char *err, size_t errlen);

/* ---- Markov chains (markov.c, markov_solve.c) -------------------------- */

/* The chain of the last Markov run, kept for the getters. */
typedef struct cvm__chain cvm__chain;

/* Build the order-k chain (k-gram states, repeats collapsed, start,
 * conversion and null states; transitions weighted by conversions + nulls
 * or by conversions alone), compute P(conversion) exactly (absorbing-chain
 * linear algebra; or over at most max_steps transitions), each channel's
 * removal effect and the credit (conversions and value split in proportion
 * to the removal effects). On success *chain (allocated with `a`) holds the
 * chain for the getters; free with cvm__chain_free. */
cvm_status cvm__markov(const cvm__journeys *j, const cvm_attribution_run_options *o,
                       const cvm_allocator *a, cvm__credit *out, double *removal,
                       double *p_conversion, cvm__chain **chain, char *err, size_t errlen);
void cvm__chain_free(cvm__chain *c, const cvm_allocator *a);
size_t cvm__chain_states(const cvm__chain *c);
/* State names ("(start)", "(conversion)", "(null)", "alpha>beta"), copied
 * from the journeys' channel names when the chain was built. */
const char *cvm__chain_state_name(const cvm__chain *c, size_t index);
/* Dense row-major transition matrix (states^2 doubles). */
void cvm__chain_matrix(const cvm__chain *c, double *out);

/* The chain as markov.c hands it to the solvers (markov_solve.c): state 0 is
 * the start, 1 conversion and 2 null (absorbing: no transitions stored),
 * 3..n-1 the k-gram states; state i moves to col[e] with probability prob[e]
 * for e in row[i] .. row[i+1]-1. `dead` (n flags, or NULL) marks removed
 * states: a transition into one ends in null. */
typedef struct cvm__sparse {
    size_t n;
    const size_t *row;
    const uint32_t *col;
    const double *prob;
} cvm__sparse;

/* P(absorption in conversion from the start), infinite horizon, by
 * Gauss-Seidel sweeps of a lower bound (from 0) and an upper bound (from 1)
 * that bracket it; stops once hi - lo <= tol * max(lo, scale) at the start
 * (or <= 100 tol once a sweep changes nothing: rounding's limit), and
 * returns (lo + hi) / 2. CVM_E_NOT_CONVERGED after `max_sweeps` or when
 * stuck short of that.
 * `work`: 2n doubles. *sweeps (may be NULL) gets the sweeps done. */
cvm_status cvm__markov_absorb(const cvm__sparse *m, const unsigned char *dead, double tol,
                              double scale, size_t max_sweeps, double *work, double *p,
                              size_t *sweeps);
/* The same by eliminating states (Grassmann-Taksar-Heyman: no subtraction,
 * so accurate however slowly the chain mixes); dense, for small chains.
 * `work`: n * n doubles. */
void cvm__markov_eliminate(const cvm__sparse *m, const unsigned char *dead, double *work,
                           double *p);
/* P(conversion within `steps` transitions from the start). `work`: 2n doubles. */
void cvm__markov_horizon(const cvm__sparse *m, const unsigned char *dead, size_t steps,
                         double *work, double *p);

/* ---- Shapley values (shapley.c) --------------------------------------- */

cvm_status cvm__shapley(const cvm__journeys *j, int32_t value_kind, const cvm_allocator *a,
                        cvm__credit *out, char *err, size_t errlen);


/* ---- the handle (attribution.c, paths.c, touches.c) ------------------ */

/* Aggregated paths, merged on their channel sequence: path p's channels are
 * seq[offset[p] .. offset[p+1]-1]; offset has npaths + 1 entries once a path
 * exists. Laid out as cvm__journeys wants them, so the view borrows them. */
typedef struct cvm__paths {
    cvm__vec seq;                /* uint32_t */
    cvm__vec offset;             /* size_t */
    cvm__vec conv, value, nulls; /* double, one per path */
    uint64_t *slots;             /* (hash high 32 bits << 32) | (path + 1); 0 empty */
    size_t mask;                 /* slots - 1, 0 before the first path */
    size_t longest;
} cvm__paths;

/* A touch (channel < UINT32_MAX) or a conversion (channel UINT32_MAX). */
typedef struct cvm__event {
    uint32_t customer;
    uint32_t channel;
    int64_t time;
    double value;
} cvm__event;

struct cvm_attribution {
    cvm_allocator alloc;
    int64_t lookback;   /* seconds, 0: no limit */
    char separator;
    cvm__idtable channels; /* stride 8 */
    cvm__vec names;        /* char *: NUL-terminated, per channel */
    cvm__vec scratch;      /* uint32_t: the path being added */
    cvm__paths paths;
    cvm__idtable customers; /* stride 8 */
    cvm__vec events;        /* cvm__event, arrival order (sorted at run time) */
    /* The journey view: valid until the input changes; owns the arrays
     * below when touches exist, else borrows the paths. */
    int view_valid;
    cvm__journeys view;
    cvm__vec v_offset, v_channel, v_age, v_conv, v_value, v_nulls;
    /* The last run: model -1 for none. */
    int32_t model;
    size_t nresult;
    double *res_conv, *res_value, *res_removal, p_conversion;
    cvm__chain *chain;
    char errmsg[CVM__ERRMSG_LEN];
};

/* Format the handle's message and return `st`. */
cvm_status cvm__aerr(cvm_attribution *a, cvm_status st, const char *fmt, ...) CVM__PRINTF(3, 4);
/* The input changed: drop the view and the last result. */
void cvm__attr_changed(cvm_attribution *a);
/* Intern channel `s` (`n` bytes, trimmed of blanks here). CVM_E_INVALID
 * with *problem set (empty, longer than 255 bytes, holds a NUL byte), or
 * CVM_E_NOMEM. Undo with cvm__attr_forget_channels(a, count before). */
cvm_status cvm__attr_channel(cvm_attribution *a, const char *s, size_t n, uint32_t *index,
                             const char **problem);
void cvm__attr_forget_channels(cvm_attribution *a, size_t count);
/* The journeys of the input (built once per input state). */
cvm_status cvm__attr_journeys(cvm_attribution *a, const cvm__journeys **out);
void cvm__paths_free(cvm__paths *p, const cvm_allocator *al);
/* Append the touchpoint journeys to the view's arrays (which may hold the
 * paths already); sorts a->events. */
cvm_status cvm__touch_journeys(cvm_attribution *a, size_t *njourneys, size_t *longest);

#endif
