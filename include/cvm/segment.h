/* libcvm — segmentation: RFM scores and named segments, k-means, value tiers
 * and lifecycle stages. Segmenters are fitted once and then assign new or
 * just-updated customers without refitting; they save and load as snapshots. */
#ifndef CVM_SEGMENT_H
#define CVM_SEGMENT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== RFM (cvm_rfm) ====================================================== */

/* How quantile breakpoints treat ties. Recency is scored reversed (k + 1 -
 * the score below: the most recent get k); a row's combined score, as R's
 * rfm_score, is 100 R + 10 F + M, which callers compute (k <= 9 keeps it
 * one digit per letter). */
typedef enum cvm_rfm_ties {
    /* R's `rfm` package: breakpoints are the interior type-7 quantiles
     * (k - 1 of them, at probabilities 1/k .. (k-1)/k: with h = (n-1) j / k,
     * x[floor h] + frac(h) (x[floor h + 1] - x[floor h]) of the sorted
     * column); a value v scores 1 + the number of breakpoints b with v > b
     * (half-open bins (b_{i-1}, b_i]), so equal values always share a score.
     * Many ties make breakpoints equal and leave scores unused: CDNOW's
     * frequency, 0 for 60% of the customers, gives breakpoints 0, 0, 1, 2
     * and no score 2; all-equal values all score 1 (recency k); n < k still
     * interpolates (1, 2, 3 with k = 5 score 1, 3, 5). R does the same, but
     * adds 1 to every quantile and bins [q + 1, q' + 1) (rfm's utils.R
     * bins()); that is our v > q for whole-number values and whole-number
     * quantiles (days, counts) and otherwise differs within 1 unit above a
     * breakpoint, by an amount that depends on the unit. We keep v > q. */
    CVM_RFM_QUANTILE = 0,
    /* pandas' qcut(rank(method="first"), k): values are ranked (ties by
     * input order, earlier rows first) and the ranks cut into k equal-count
     * bins: the row at sorted position p (0-based) is in bin 1 + the number
     * of j in 1..k-1 with k p > (n - 1) j (pandas' edges at rank
     * 1 + (n - 1) j / k, computed exactly), so every score has n/k customers
     * give or take one whatever the ties (n = 1 scores 1; pandas refuses).
     * The breakpoints are the values at the bin edges (sorted positions
     * floor((n - 1) j / k)); new customers are scored against them as with
     * CVM_RFM_QUANTILE, so equal new values share a score. */
    CVM_RFM_RANK = 1
} cvm_rfm_ties;

/* Built-in segment maps (ordered rules on the R, F, M scores of 1..5). They
 * are written for 5 bins: with any other `bins` a handle has no rules (just
 * "Others") until cvm_rfm_set_rules(), and cvm_rfm_segment() refuses. */
typedef enum cvm_rfm_map {
    CVM_RFM_MAP_RFM_PACKAGE = 0, /* R `rfm`'s documented map: Champions ... Lost */
    CVM_RFM_MAP_RF_GRID = 1      /* the recency-frequency grid: hibernating ... champions */
} cvm_rfm_map;

/* One segment rule: a customer whose scores lie within all three closed
 * ranges belongs to `name`; rules are tried in order, the first match wins,
 * and a customer no rule matches is in "Others". */
typedef struct cvm_rfm_rule {
    const char *name; /* copied by cvm_rfm_set_rules() */
    int32_t r_min, r_max;
    int32_t f_min, f_max;
    int32_t m_min, m_max;
} cvm_rfm_rule;

typedef struct cvm_rfm cvm_rfm;

typedef struct cvm_rfm_options {
    size_t size;                    /* sizeof(cvm_rfm_options) */
    const cvm_allocator *allocator; /* NULL: libc; copied */
    int32_t bins;                   /* k: scores 1..k, 2..9 (default 5) */
    int32_t ties;                   /* a cvm_rfm_ties (default CVM_RFM_QUANTILE) */
    int32_t map;                    /* a cvm_rfm_map for the segments (default RFM_PACKAGE) */
    int32_t reserved;               /* must be 0 */
} cvm_rfm_options;

#define CVM_RFM_OPTIONS_INIT \
    { sizeof(cvm_rfm_options), NULL, 5, CVM_RFM_QUANTILE, CVM_RFM_MAP_RFM_PACKAGE, 0 }

CVM_API cvm_status cvm_rfm_options_init(cvm_rfm_options *opts, size_t size);
CVM_API cvm_status cvm_rfm_new(cvm_rfm **out, const cvm_rfm_options *opts);
CVM_API void cvm_rfm_free(cvm_rfm *rfm);
CVM_API const char *cvm_rfm_errmsg(const cvm_rfm *rfm);

/* Fit the breakpoints to n customers: `recency` is the time since the last
 * purchase (smaller is better; from a summary, T - recency), `frequency` and
 * `monetary` as in the summary. Errors: CVM_E_INVALID (NULL, n = 0, NaN,
 * infinite or negative values; the message names the row), CVM_E_NOMEM; a
 * failed fit keeps the previous one. The handle keeps the fitted rows'
 * scores (3 bytes a row) for cvm_rfm_fit_scores(). */
CVM_API cvm_status cvm_rfm_fit(cvm_rfm *rfm, const double *recency, const double *frequency,
                               const double *monetary, size_t n);

/* Scores 1..k of n customers against the fitted breakpoints (recency
 * reversed: the most recent get k). Any output may be NULL, and then its
 * input too (it is not read). Errors: CVM_E_INVALID (not fitted, NaN,
 * infinite or negative values: the message names the row). With
 * CVM_RFM_RANK, rows given to cvm_rfm_fit() get their rank-based scores only
 * from cvm_rfm_fit_scores(). Read-only on `rfm`. */
CVM_API cvm_status cvm_rfm_score(const cvm_rfm *rfm, const double *recency, const double *frequency,
                                 const double *monetary, size_t n, int32_t *r, int32_t *f,
                                 int32_t *m, char *errbuf, size_t errlen);

/* The scores of the rows of the last fit, by the fit's tie rule (for
 * CVM_RFM_RANK the equal-count bins). n must equal the fit's n; any output
 * may be NULL. CVM_E_INVALID after cvm_rfm_load(): snapshots do not keep
 * the fitted rows. */
CVM_API cvm_status cvm_rfm_fit_scores(const cvm_rfm *rfm, size_t n, int32_t *r, int32_t *f,
                                      int32_t *m);

/* The k - 1 fitted breakpoints of column 0 (recency), 1 (frequency) or 2
 * (monetary), ascending, into `out` (k - 1 doubles). */
CVM_API cvm_status cvm_rfm_breakpoints(const cvm_rfm *rfm, int32_t column, double *out, size_t n);

/* Replace the segment rules with a copy of `rules` (n from 1 to 4096, names
 * 1..63 bytes, ranges min <= max within 1..k). Errors: CVM_E_INVALID
 * (message names the rule; the rules stay), CVM_E_NOMEM. */
CVM_API cvm_status cvm_rfm_set_rules(cvm_rfm *rfm, const cvm_rfm_rule *rules, size_t n);

/* Number of segments: the rules plus "Others" (the last index). */
CVM_API size_t cvm_rfm_segment_count(const cvm_rfm *rfm);

/* Name of segment `index` ("Others" for the last), or NULL past the end.
 * Borrowed until the rules change. */
CVM_API const char *cvm_rfm_segment_name(const cvm_rfm *rfm, size_t index);

/* Segment index of each (r, f, m) score triple (first matching rule).
 * Errors: CVM_E_INVALID (a score outside 1..k: the message names the row;
 * no rules: a built-in map with bins != 5). */
CVM_API cvm_status cvm_rfm_segment(const cvm_rfm *rfm, const int32_t *r, const int32_t *f,
                                   const int32_t *m, size_t n, int32_t *segment, char *errbuf,
                                   size_t errlen);

/* Save the options, breakpoints and rules (custom ones by value, a built-in
 * map by its number) of a fitted handle; load them back. As cvm_clv_save():
 * bins, ties and map come from the file and only the allocator from `opts`;
 * a file of another kind or with inconsistent contents (breakpoints not
 * finite, >= 0 and ascending, rules outside 1..k, ...) is CVM_E_FORMAT. */
CVM_API cvm_status cvm_rfm_save(cvm_rfm *rfm, const char *path);
CVM_API cvm_status cvm_rfm_load(cvm_rfm **out, const char *path, const cvm_rfm_options *opts,
                                char *errbuf, size_t errlen);

/* ==== Segment profiles ==================================================== */

/* One segment's profile. The caller sets `size` in every element. */
typedef struct cvm_segment_profile {
    size_t size;           /* sizeof(cvm_segment_profile), set by the caller */
    double count;          /* customers in the segment */
    double share_customers;
    double share_revenue;  /* of the sum of frequency * monetary */
    double mean_recency;
    double mean_frequency;
    double mean_monetary;
    double mean_p_alive;   /* 0 when p_alive is not given */
    double mean_clv;       /* 0 when clv is not given */
    double share_clv;      /* 0 when clv is not given */
} cvm_segment_profile;

/* Profile `nsegments` segments from per-customer labels 0..nsegments-1 and
 * the RFM columns; `p_alive` and `clv` (from a fitted CLV model) may be NULL.
 * Shares are of n customers, of the total revenue and of the total CLV (0
 * when that total is 0); means are over the segment's customers (0 for an
 * empty segment). The array's stride is out[0].size; every element must
 * carry the same size. Errors: CVM_E_INVALID (NULL, n = 0, nsegments = 0, a
 * label out of range, NaN, infinite or negative values, P(alive) above 1;
 * message names the row), CVM_E_ABI (a profile's size), CVM_E_RANGE (a sum
 * overflows; the profiles are then zeroed). */
CVM_API cvm_status cvm_segment_profiles(const int32_t *labels, size_t n, size_t nsegments,
                                        const double *recency, const double *frequency,
                                        const double *monetary, const double *p_alive,
                                        const double *clv, cvm_segment_profile *out,
                                        char *errbuf, size_t errlen);

/* ==== k-means (cvm_kmeans) =============================================== */

typedef enum cvm_scaling {
    CVM_SCALE_NONE = 0,
    CVM_SCALE_ZSCORE = 1,      /* (v - mean) / sd per feature */
    CVM_SCALE_LOG1P_ZSCORE = 2 /* z-score of log1p(v): for skewed, non-negative features */
} cvm_scaling;

typedef struct cvm_kmeans cvm_kmeans;

typedef struct cvm_kmeans_options {
    size_t size;                    /* sizeof(cvm_kmeans_options) */
    const cvm_allocator *allocator; /* NULL: libc; copied */
    uint64_t seed;                  /* the same seed gives the same labels (default 0) */
    double tolerance;               /* relative: stop when the centres move less than
                                       tolerance * mean feature variance (default 1e-4) */
    int32_t k;                      /* clusters (default 8) */
    int32_t n_init;                 /* restarts, the lowest inertia kept (default 1) */
    int32_t max_iterations;         /* per restart (default 300) */
    int32_t scaling;                /* a cvm_scaling (default CVM_SCALE_NONE) */
} cvm_kmeans_options;

#define CVM_KMEANS_OPTIONS_INIT \
    { sizeof(cvm_kmeans_options), NULL, 0, 1e-4, 8, 1, 300, CVM_SCALE_NONE }

CVM_API cvm_status cvm_kmeans_options_init(cvm_kmeans_options *opts, size_t size);
CVM_API cvm_status cvm_kmeans_new(cvm_kmeans **out, const cvm_kmeans_options *opts);
CVM_API void cvm_kmeans_free(cvm_kmeans *km);
CVM_API const char *cvm_kmeans_errmsg(const cvm_kmeans *km);

/* Cluster n rows of d features (row-major: row i is X[i*d .. i*d+d-1]):
 * k-means++ seeding (greedy, 2 + floor(ln k) candidates per step), exact
 * Lloyd iterations with Hamerly's bounds, n_init restarts. `weights` may be
 * NULL; `labels` (may be NULL) receives each row's cluster. Errors:
 * CVM_E_INVALID (NULL, n = 0, d = 0, k = 0, NaN or infinite features,
 * a zero-variance feature with scaling, negative log1p input, bad weight;
 * k greater than the number of distinct rows; the message names the row or
 * feature), CVM_E_NOMEM. */
CVM_API cvm_status cvm_kmeans_fit(cvm_kmeans *km, const double *X, size_t n, size_t d,
                                  const double *weights, int32_t *labels);

/* Nearest fitted centre of each row (real-time assignment). Read-only. */
CVM_API cvm_status cvm_kmeans_predict(const cvm_kmeans *km, const double *X, size_t n, size_t d,
                                      int32_t *labels, char *errbuf, size_t errlen);

/* What the last fit did. The caller sets `size`. */
typedef struct cvm_kmeans_info {
    size_t size;        /* sizeof(cvm_kmeans_info), set by the caller */
    double inertia;     /* weighted sum of squared distances, in scaled units */
    int32_t k;
    int32_t d;
    int32_t iterations; /* of the kept restart */
    int32_t converged;  /* 1: the kept restart met the tolerance */
} cvm_kmeans_info;

CVM_API cvm_status cvm_kmeans_info_get(const cvm_kmeans *km, cvm_kmeans_info *info);

/* Centres in original units (k * d doubles, row-major). With
 * CVM_SCALE_LOG1P_ZSCORE a centre is the centre in log1p space mapped back
 * with expm1: a geometric-type mean of 1 + v, not the arithmetic mean. */
CVM_API cvm_status cvm_kmeans_centroids(const cvm_kmeans *km, double *out, size_t n);

/* Mean silhouette of `sample` rows drawn (seeded) from X with `labels`
 * (all rows when sample >= n), in the fitted scaling. */
CVM_API cvm_status cvm_kmeans_silhouette(const cvm_kmeans *km, const double *X, size_t n, size_t d,
                                         const int32_t *labels, size_t sample, uint64_t seed,
                                         double *out, char *errbuf, size_t errlen);

/* Inertia of the best fit for each k in k_min..k_max (the elbow curve) into
 * `out` (k_max - k_min + 1 doubles), with `opts` for everything but k. */
CVM_API cvm_status cvm_kmeans_elbow(const cvm_kmeans_options *opts, const double *X, size_t n,
                                    size_t d, const double *weights, int32_t k_min, int32_t k_max,
                                    double *out, char *errbuf, size_t errlen);

CVM_API cvm_status cvm_kmeans_save(cvm_kmeans *km, const char *path);
CVM_API cvm_status cvm_kmeans_load(cvm_kmeans **out, const char *path,
                                   const cvm_kmeans_options *opts, char *errbuf, size_t errlen);

/* ==== Value tiers and lifecycle stages ==================================== */

/* Value tiers by CLV rank: `top_shares` are cumulative shares of customers
 * from the top, strictly ascending in (0, 1); NULL means the defaults 0.01,
 * 0.10, 0.50 (top 1%, next 9%, next 40%, bottom 50%; 3 cuts), and then
 * nshares must be 0. Cut j is the k-th largest CLV with k = ceil(share_j * n)
 * (at least 1). Tier 0 is the most valuable; a customer's tier is the number
 * of cuts above its CLV (tier j when its CLV is at least cut j and below the
 * cuts before it). The cut values (ntiers - 1 = nshares doubles, descending)
 * go to `cuts` (may be NULL) and tier new customers with
 * cvm_value_tier_assign(); `tier` (n int32_t) may be NULL too. Ties share a
 * tier, so tier sizes can differ from the shares: a tier takes every
 * customer equal to its cut, and a later tier whose cut equals an earlier
 * one is empty. No allocation (an in-place radix selection per cut).
 * Errors: CVM_E_INVALID (NULL clv, n = 0, a NaN or infinite CLV (the message
 * names the row), bad shares, NULL shares with nshares != 0). */
CVM_API cvm_status cvm_value_tiers(const double *clv, size_t n, const double *top_shares,
                                   size_t nshares, double *cuts, int32_t *tier, char *errbuf,
                                   size_t errlen);

/* Tier of each CLV against fitted `cuts` (finite, non-increasing, as
 * cvm_value_tiers() gives them; ncuts 0 puts everyone in tier 0): the number
 * of cuts above the CLV, so the fit's rows get the fit's tiers. Errors:
 * CVM_E_INVALID (NULL, a bad cut, a NaN or infinite CLV naming the row). */
CVM_API cvm_status cvm_value_tier_assign(const double *cuts, size_t ncuts, const double *clv,
                                         size_t n, int32_t *tier, char *errbuf, size_t errlen);

/* The same as a segmenter handle: tier cut points fitted once, assigned to
 * new or updated customers, saved and loaded. */
typedef struct cvm_tiers cvm_tiers;

typedef struct cvm_tiers_options {
    size_t size;                    /* sizeof(cvm_tiers_options) */
    const cvm_allocator *allocator; /* NULL: libc; copied */
    const double *top_shares;       /* NULL: 0.01, 0.10, 0.50; copied */
    size_t nshares;                 /* 0 with NULL shares; at most 63 */
} cvm_tiers_options;

#define CVM_TIERS_OPTIONS_INIT { sizeof(cvm_tiers_options), NULL, NULL, 0 }

CVM_API cvm_status cvm_tiers_options_init(cvm_tiers_options *opts, size_t size);
/* Errors: CVM_E_INVALID (bad shares, as cvm_value_tiers()), CVM_E_ABI, CVM_E_NOMEM. */
CVM_API cvm_status cvm_tiers_new(cvm_tiers **out, const cvm_tiers_options *opts);
CVM_API void cvm_tiers_free(cvm_tiers *t);
CVM_API const char *cvm_tiers_errmsg(const cvm_tiers *t);
/* Fit the cut points to n CLVs (cvm_value_tiers()); `tier` may be NULL. A
 * failed fit keeps the previous cut points. */
CVM_API cvm_status cvm_tiers_fit(cvm_tiers *t, const double *clv, size_t n, int32_t *tier);
/* Tier of each CLV against the fitted cut points. Read-only on `t`. */
CVM_API cvm_status cvm_tiers_assign(const cvm_tiers *t, const double *clv, size_t n, int32_t *tier,
                                    char *errbuf, size_t errlen);
/* Number of cut points (tiers - 1). */
CVM_API size_t cvm_tiers_cut_count(const cvm_tiers *t);
/* The fitted cut points, descending (n = cvm_tiers_cut_count()). */
CVM_API cvm_status cvm_tiers_cuts(const cvm_tiers *t, double *out, size_t n);
CVM_API cvm_status cvm_tiers_save(cvm_tiers *t, const char *path);
CVM_API cvm_status cvm_tiers_load(cvm_tiers **out, const char *path, const cvm_tiers_options *opts,
                                  char *errbuf, size_t errlen);

typedef enum cvm_lifecycle_stage {
    CVM_STAGE_NEW = 0,
    CVM_STAGE_ACTIVE = 1,
    CVM_STAGE_AT_RISK = 2,
    CVM_STAGE_LAPSED = 3
} cvm_lifecycle_stage;

/* Thresholds of the lifecycle stages (times in the summary's unit). */
typedef struct cvm_lifecycle_options {
    size_t size;            /* sizeof(cvm_lifecycle_options) */
    double new_age;         /* first purchase less than this long ago: new (default 4) */
    double at_risk_gaps;    /* time since last purchase above this many of the
                               customer's expected gaps: at risk (default 2) */
    double lapsed_gaps;     /* ... above this many: lapsed (default 4) */
    double at_risk_p_alive; /* P(alive) below this: at risk (default 0.5) */
    double lapsed_p_alive;  /* P(alive) below this: lapsed (default 0.1) */
} cvm_lifecycle_options;

#define CVM_LIFECYCLE_OPTIONS_INIT { sizeof(cvm_lifecycle_options), 4.0, 2.0, 4.0, 0.5, 0.1 }

CVM_API cvm_status cvm_lifecycle_options_init(cvm_lifecycle_options *opts, size_t size);

/* Stage of each customer from the summary (x, t_x, T as for the CLV models),
 * P(alive) (may be NULL: the P(alive) rules are skipped) and `gap`, each
 * customer's expected time between purchases (may be NULL: t_x / x for
 * repeat buyers, the mean of those for the others). Rules in order: T <
 * new_age: new; since-last > lapsed_gaps * gap or P(alive) < lapsed_p_alive:
 * lapsed; the at-risk pair: at risk; otherwise active. since-last is T - t_x.
 * With `gap` NULL and no repeat buyers at all, the gap rules are skipped and
 * only the new and P(alive) rules apply. `opts` NULL: defaults. Rows are
 * checked as for the CLV models (x a whole number >= 0, 0 <= t_x <= T, t_x 0
 * exactly when x is 0, finite), P(alive) in [0, 1], gap finite and > 0; no
 * stage is written unless all rows pass. Options: new_age >= 0, 0 <
 * at_risk_gaps <= lapsed_gaps, 0 <= lapsed_p_alive <= at_risk_p_alive <= 1.
 * Errors: CVM_E_INVALID (message names the row or option), CVM_E_ABI. */
CVM_API cvm_status cvm_lifecycle(const cvm_lifecycle_options *opts, const double *x,
                                 const double *t_x, const double *T, const double *p_alive,
                                 const double *gap, size_t n, int32_t *stage, char *errbuf,
                                 size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
