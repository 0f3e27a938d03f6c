/* libcvm — campaign attribution: which channels earned the conversions, and
 * at what return on their spend. Journeys go in as aggregated paths
 * (ChannelAttribution's format) or as raw touchpoints grouped per customer;
 * models are heuristics, Markov chains of order 1..4 (exact removal effects)
 * and Shapley values. */
#ifndef CVM_ATTRIBUTION_H
#define CVM_ATTRIBUTION_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An opaque set of journeys and the result of the last model run. Threading
 * (cvm.h): calls taking it `const` (the last run's credit, removal effects,
 * transitions, ROI) only read it and may run on many threads at once; adds
 * and runs need it alone. */
typedef struct cvm_attribution cvm_attribution;

typedef struct cvm_attribution_options {
    size_t size;                    /* sizeof(cvm_attribution_options) */
    const cvm_allocator *allocator; /* NULL: libc; copied */
    int64_t lookback_seconds;       /* touchpoints: a conversion's journey holds the
                                       customer's touches at most this long before it
                                       (default 30 days; 0: no limit) */
    int32_t separator;              /* one byte between a path's channels (default '>') */
    int32_t reserved;               /* must be 0 */
} cvm_attribution_options;

#define CVM_ATTRIBUTION_OPTIONS_INIT \
    { sizeof(cvm_attribution_options), NULL, INT64_C(30) * 86400, '>', 0 }

CVM_API cvm_status cvm_attribution_options_init(cvm_attribution_options *opts, size_t size);
CVM_API cvm_status cvm_attribution_new(cvm_attribution **out, const cvm_attribution_options *opts);
CVM_API void cvm_attribution_free(cvm_attribution *a);
CVM_API const char *cvm_attribution_errmsg(const cvm_attribution *a);

/* ---- Input ---------------------------------------------------------------- */

/* Add an aggregated path: `len` bytes of channel names separated by the
 * separator ("a > b > c"; tokens trimmed of blanks), with its conversions,
 * conversion value and non-conversions (nulls). Identical paths add up.
 * Errors: CVM_E_INVALID (empty path or empty token, a token longer than 255
 * bytes, counts or value negative, NaN or infinite, a path of more than
 * 100000 touches), CVM_E_NOMEM. On error nothing is added. */
CVM_API cvm_status cvm_attribution_add_path(cvm_attribution *a, const char *path, size_t len,
                                            double conversions, double value, double nulls);

/* How a paths CSV is read (ChannelAttribution's columns by default). */
typedef struct cvm_paths_csv_options {
    size_t size;               /* sizeof(cvm_paths_csv_options) */
    const char *path_column;   /* default "path" */
    const char *conversions_column; /* default "total_conversions" */
    const char *value_column;  /* default "total_conversion_value"; NULL: values are 0 */
    const char *null_column;   /* default "total_null"; NULL: no nulls */
    int32_t delimiter;         /* default ',' (';' for ChannelAttribution's Data.csv) */
    int32_t reserved;          /* must be 0 */
} cvm_paths_csv_options;

#define CVM_PATHS_CSV_OPTIONS_INIT                                                      \
    { sizeof(cvm_paths_csv_options), "path", "total_conversions", "total_conversion_value", \
      "total_null", ',', 0 }

CVM_API cvm_status cvm_paths_csv_options_init(cvm_paths_csv_options *opts, size_t size);

/* Add every path of a CSV file (header required). All or nothing; errors
 * name file, line and problem: CVM_E_IO, CVM_E_PARSE, CVM_E_NOT_FOUND (a
 * column), CVM_E_INVALID (a bad path or count), CVM_E_EMPTY, CVM_E_NOMEM. */
CVM_API cvm_status cvm_attribution_load_csv(cvm_attribution *a, const char *path,
                                            const cvm_paths_csv_options *opts);

/* Add one touch of `channel` on the customer `id` at `time` (seconds since
 * the epoch). Touches may come in any order. */
CVM_API cvm_status cvm_attribution_add_touch(cvm_attribution *a, const void *id, size_t id_len,
                                             const char *channel, size_t channel_len,
                                             int64_t time);

/* Record a conversion of customer `id` at `time` worth `value` (>= 0). It
 * closes a journey: the customer's touches at or before `time`, after the
 * previous conversion and within the lookback window. Touches after a
 * customer's last conversion form a journey that did not convert (a null). */
CVM_API cvm_status cvm_attribution_add_conversion(cvm_attribution *a, const void *id,
                                                  size_t id_len, int64_t time, double value);

/* Number of distinct channels seen so far; their indices are 0..n-1 in
 * order of first appearance. */
CVM_API size_t cvm_attribution_channel_count(const cvm_attribution *a);
/* Name of channel `index` (NUL-terminated), or NULL. Borrowed until the next
 * change to `a`. */
CVM_API const char *cvm_attribution_channel_name(const cvm_attribution *a, size_t index);

/* ---- Models --------------------------------------------------------------- */

typedef enum cvm_attribution_model {
    CVM_ATTR_FIRST = 0,    /* first touch */
    CVM_ATTR_LAST = 1,     /* last touch */
    CVM_ATTR_LINEAR = 2,   /* equal shares of each touch (repeats count) */
    CVM_ATTR_DECAY = 3,    /* weight 2^(-dt / half_life), normalised per journey; needs touch times */
    CVM_ATTR_POSITION = 4, /* 40/20/40 (one touch: 100%; two: 50/50) */
    CVM_ATTR_MARKOV = 5,   /* Markov chain removal effects */
    CVM_ATTR_SHAPLEY = 6   /* Shapley values of coalitions of channels */
} cvm_attribution_model;

/* Shapley values are exact (every coalition: O(n 2^n) time, 2^n doubles per
 * array) over the n <= 20 channels that occur in some journey. "Journeys
 * inside S" are those whose set of distinct channels is a subset of S.
 *
 * CVM_SHAPLEY_CONVERSIONS (Zhao et al. 2018): v(S) = conversions (value) of
 * the journeys inside S. The credits are the Shapley values as they are;
 * they equal an equal split of each journey's conversions (value) among its
 * distinct channels and sum to the totals.
 *
 * CVM_SHAPLEY_RATE (Shao & Li 2011; Dalessandro et al. 2012): v(S) =
 * c(S) / (c(S) + u(S)), the conversion rate of the journeys inside S
 * (c conversions, u nulls), and for the value m(S) / (c(S) + u(S)), the
 * value per journey (m value); v(S) = 0 when c(S) + u(S) = 0, so v({}) = 0.
 * The raw Shapley values sum to v(all) = the overall rate (value per
 * journey); each is multiplied by the total number of journeys
 * c(all) + u(all), one constant factor, so the credits sum to the total
 * conversions (value). A channel whose presence lowers the rate gets a
 * negative credit; negatives are reported, not clipped. */
typedef enum cvm_shapley_value {
    CVM_SHAPLEY_CONVERSIONS = 0, /* v(S): conversions (value) of the journeys inside S;
                                    equals an equal split among a journey's channels */
    CVM_SHAPLEY_RATE = 1         /* v(S): conversion rate (value per journey) of the journeys
                                    inside S, using the nulls; credits scaled by the number
                                    of journeys; may be negative */
} cvm_shapley_value;

typedef struct cvm_attribution_run_options {
    size_t size;           /* sizeof(cvm_attribution_run_options) */
    double half_life_seconds; /* decay (default 7 days) */
    double first_share;    /* position: share of the first touch (default 0.4) */
    double last_share;     /* position: share of the last touch (default 0.4) */
    int32_t model;         /* a cvm_attribution_model (default CVM_ATTR_MARKOV) */
    int32_t order;         /* Markov order 1..4 (default 1) */
    int32_t max_steps;     /* Markov: 0 = infinite horizon, exact (default); n > 0 = a path
                              is cut after n transitions, as ChannelAttribution's
                              simulation does (its default allows the longest journey's
                              states + 2 transitions); bounded by a work limit */
    int32_t use_nulls;     /* Markov: 1 = weight transitions by conversions + nulls (default);
                              0 = conversions only */
    int32_t shapley;       /* a cvm_shapley_value (default CVM_SHAPLEY_CONVERSIONS) */
    int32_t reserved;      /* must be 0 */
} cvm_attribution_run_options;

#define CVM_ATTRIBUTION_RUN_OPTIONS_INIT                                                   \
    { sizeof(cvm_attribution_run_options), 7.0 * 86400, 0.4, 0.4, CVM_ATTR_MARKOV, 1, 0, 1, \
      CVM_SHAPLEY_CONVERSIONS, 0 }

CVM_API cvm_status cvm_attribution_run_options_init(cvm_attribution_run_options *opts,
                                                    size_t size);

/* Run a model over all journeys; the result stays in `a` until the next run
 * or input. Attributed conversions sum to the total conversions (and values
 * to the total value) for every model. Markov probabilities are exact to
 * 1e-14 relative, or to 1e-9 where rounding stalls the iteration (very long
 * cycles). Errors: CVM_E_EMPTY (no journey, or no conversion),
 * CVM_E_INVALID (bad options; decay without touch times; Shapley with more
 * than 20 channels; a max_steps horizon that reaches no conversion or
 * exceeds the work limit of 4e9 transition visits), CVM_E_RANGE (totals
 * that overflow), CVM_E_NOT_CONVERGED, CVM_E_NOMEM. */
CVM_API cvm_status cvm_attribution_run(cvm_attribution *a, const cvm_attribution_run_options *opts);

/* The last run's credit per channel (n = cvm_attribution_channel_count()):
 * attributed conversions and value; either may be NULL. */
CVM_API cvm_status cvm_attribution_credit(const cvm_attribution *a, double *conversions,
                                          double *value, size_t n);

/* Markov: the removal effect of each channel (the relative drop in the
 * probability of conversion when the channel is removed) and the chain's
 * probability of conversion. CVM_E_INVALID after another model. */
CVM_API cvm_status cvm_attribution_removal_effects(const cvm_attribution *a, double *effects,
                                                   size_t n, double *p_conversion);

/* Markov: the states of the last chain — 0 start, 1 conversion, 2 null,
 * then the k-gram states — and their names ("(start)", "(conversion)",
 * "(null)", "alpha>beta"). */
CVM_API size_t cvm_attribution_state_count(const cvm_attribution *a);
CVM_API const char *cvm_attribution_state_name(const cvm_attribution *a, size_t index);

/* Markov: the transition probabilities as a dense row-major matrix of
 * states x states doubles (`n` = states^2; rows sum to 1, absorbing rows
 * conversion and null are identity rows). CVM_E_RANGE past 2^26 entries. */
CVM_API cvm_status cvm_attribution_transitions(const cvm_attribution *a, double *matrix, size_t n);

/* Return on spend of the last run's credit: roi[i] = value[i] / spend[i] and
 * cost[i] = spend[i] / conversions[i] (0 where the divisor is 0; spend >= 0).
 * Either output may be NULL. */
CVM_API cvm_status cvm_attribution_roi(const cvm_attribution *a, const double *spend, size_t n,
                                       double *roi, double *cost_per_conversion, char *errbuf,
                                       size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
