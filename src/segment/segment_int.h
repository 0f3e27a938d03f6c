/* The segmentation module's insides, shared by the files of src/segment/.
 * Sections: RFM (rfm*.c), k-means (kmeans*.c). */
#ifndef CVM_SEGMENT_INT_H
#define CVM_SEGMENT_INT_H

#include "core/core_int.h"
#include "cvm/segment.h"

/* Snapshot kinds (customers 1, clv 2, spend 3, retention 4). */
#define CVM__SNAP_RFM 5u
#define CVM__SNAP_KMEANS 6u
#define CVM__SNAP_TIERS 7u

/* ---- RFM (rfm.c, rfm_maps.c) ------------------------------------------ */

/* The built-in maps are written for scores 1..CVM__RFM_MAP_BINS. */
#define CVM__RFM_MAP_BINS 5
/* The rules of a cvm_rfm_map in order (static storage), *n of them; NULL
 * and 0 for an unknown map. */
const cvm_rfm_rule *cvm__rfm_map_rules(int32_t map, size_t *n);

/* ---- k-means (kmeans.c, kmeans_fit.c, kmeans_extra.c) ------------------ */

/* A fitted model maps a row v to scaled space feature by feature:
 * s_j = (f(v_j) - shift_j) / scale_j, f = identity or log1p; the centres live
 * there (CVM_SCALE_NONE: shift 0, scale 1). */
struct cvm_kmeans {
    cvm_allocator alloc;
    cvm_kmeans_options opts; /* validated; allocator NULL (copied in alloc) */
    char errmsg[CVM__ERRMSG_LEN];
    int fitted;
    size_t k, d;
    double *shift;   /* d: one block of (2 + k) * d doubles owns all three */
    double *scale;   /* d */
    double *centers; /* k * d, scaled units */
    double inertia;
    int32_t iterations, converged;
};

/* Largest |f(v)| accepted, so that squared distances and weighted sums of
 * squares cannot overflow. */
#define CVM__KMEANS_MAX_ABS 1e145

/* Scale one row (d values, already checked) into `out`. Returns 0 when a
 * scaled value is beyond CVM__KMEANS_MAX_ABS (a row far outside the fitted
 * range, with a small fitted spread), whose distances would overflow. */
int cvm__kmeans_scale_row(const cvm_kmeans *km, const double *x, double *out);
/* Check one row for the fitted scaling: CVM_OK, or CVM_E_INVALID with
 * "<what>: row r, feature j of d: problem" in `err` (`row` is 0-based). */
cvm_status cvm__kmeans_check_row(int32_t scaling, const double *x, size_t d, size_t row,
                                 const char *what, char *err, size_t errlen);
/* Index of the nearest of k centres (lowest index on ties). */
size_t cvm__kmeans_nearest(const double *x, const double *centers, size_t k, size_t d);

/* The outcome of one Lloyd run. */
typedef struct cvm__kmeans_run {
    double inertia;     /* weighted sum of squared distances to the final centres */
    int32_t iterations; /* centre updates made */
    int32_t converged;  /* 1: labels stable or the centre shift within tolerance */
} cvm__kmeans_run;

/* k-means++ seeding (greedy, 2 + floor(ln k) candidates per step, sampling
 * rows with probability proportional to w * D^2) of k centres (k * d doubles)
 * from n rows of scaled data X; `w` NULL means unit weights. Needs at least k
 * distinct rows of positive weight (else CVM_E_INVALID); CVM_E_NOMEM. */
cvm_status cvm__kmeans_seed(const cvm_allocator *a, const double *X, const double *w, size_t n,
                            size_t d, size_t k, cvm__rng *rng, double *centers);

/* Lloyd iterations with Hamerly's bounds from the `centers` given (replaced
 * by the final ones); `labels` (n) receives the nearest final centre of each
 * row. Stops when no label changes or when the sum over centres of their
 * squared shift is <= `tol` (absolute, scaled units), or after
 * `max_iterations` updates. An empty cluster takes the row farthest from its
 * centre. When `trace` is not NULL, trace[t] (max_iterations doubles) gets
 * the inertia after update t + 1 and its assignment (run->iterations are
 * written); it never increases. CVM_E_NOMEM; CVM_E_INVALID when fewer than k
 * distinct rows of positive weight leave a cluster empty. */
cvm_status cvm__kmeans_lloyd(const cvm_allocator *a, const double *X, const double *w, size_t n,
                             size_t d, size_t k, int32_t max_iterations, double tol,
                             double *centers, int32_t *labels, double *trace,
                             cvm__kmeans_run *run);

#endif
