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

/* ---- Shapley values (shapley.c) --------------------------------------- */

cvm_status cvm__shapley(const cvm__journeys *j, int32_t value_kind, const cvm_allocator *a,
                        cvm__credit *out, char *err, size_t errlen);

#endif
