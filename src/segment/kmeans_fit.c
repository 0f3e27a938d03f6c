/* k-means fitting: feature scaling, k-means++ seeding, Lloyd iterations with
 * Hamerly's bounds, restarts.
 *
 * Seeding follows scikit-learn's greedy k-means++ (_kmeans_plusplus): each
 * step draws 2 + floor(ln k) candidate rows with probability proportional to
 * w * D^2 and keeps the one that lowers the potential sum(w * D^2) most.
 *
 * Lloyd iterations are exact, with Hamerly's (2010) bounds: per row an upper
 * bound u on the distance to its centre and a lower bound l on the distance
 * to every other centre, and per centre half the distance s to its nearest
 * other centre. A row is re-examined only when u > max(s, l); after a centre
 * update u grows by its centre's move and l shrinks by the largest move of
 * the other centres. For d <= 4 the distance to the own centre is cheaper
 * than the branch that would skip it, so it is always computed and only the
 * lower bound is kept. Stopping as scikit-learn: labels unchanged, or the
 * sum of squared centre shifts <= tolerance * mean feature variance. */
#include "segment/segment_int.h"

#include <math.h>
#include <string.h>

/* Bounds are compared with this relative slack, so rounding in their
 * updates can only cause an extra exact check, never a wrong skip. */
#define BOUND_SLACK (1.0 + 1e-12)

/* The hot loops are written once for any d and instantiated with d = 1..4
 * as a constant, so that the compiler unrolls the distance computations. */
#if defined(__GNUC__) || defined(__clang__)
#  define HOT static inline __attribute__((always_inline))
#else
#  define HOT static inline
#endif
#define BY_DIM(d, call)                                                        \
    switch (d) {                                                               \
    case 1: { const size_t dd = 1; call; } break;                              \
    case 2: { const size_t dd = 2; call; } break;                              \
    case 3: { const size_t dd = 3; call; } break;                              \
    case 4: { const size_t dd = 4; call; } break;                              \
    default: { const size_t dd = d; call; } break;                             \
    }

HOT double sqdist(const double *x, const double *c, size_t d)
{
    double s = 0;
    size_t j;
    for (j = 0; j < d; j++) {
        double t = x[j] - c[j];
        s += t * t;
    }
    return s;
}

/* Nearest (lowest index on ties) and second-nearest squared distances. */
HOT size_t scan(const double *x, const double *C, size_t k, size_t d, double *d1,
                          double *d2)
{
    size_t j, b = 0;
    double m1 = INFINITY, m2 = INFINITY;
    for (j = 0; j < k; j++) { /* branch-free: min/max and conditional moves */
        double s = sqdist(x, C + j * d, d);
        int lower = s < m1;
        double hi = lower ? m1 : s;
        b = lower ? j : b;
        m1 = lower ? s : m1;
        m2 = hi < m2 ? hi : m2;
    }
    *d1 = m1;
    *d2 = m2;
    return b;
}

HOT void accumulate(double *sums, double *wsum, size_t c, const double *x, double wi,
                              size_t d)
{
    double *s = sums + c * d;
    size_t j;
    for (j = 0; j < d; j++) {
        s[j] += wi * x[j];
    }
    wsum[c] += wi;
}

static void sum_all(const double *X, const double *w, size_t n, size_t d, size_t k,
                    const int32_t *labels, double *sums, double *wsum)
{
    size_t i;
    memset(sums, 0, k * d * sizeof *sums);
    memset(wsum, 0, k * sizeof *wsum);
    for (i = 0; i < n; i++) {
        accumulate(sums, wsum, (size_t)labels[i], X + i * d, w ? w[i] : 1.0, d);
    }
}

/* ---- k-means++ --------------------------------------------------------- */

/* First index with cum[i] >= r (cum ascending; the last when none). */
static size_t search(const double *cum, size_t n, double r)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cum[mid] >= r) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

#define MAX_TRIALS 64

/* The potential of each candidate: sum w * min(D^2, distance^2 to it). */
HOT void candidate_pots(const double *X, const double *w, size_t n, size_t d,
                        const double *closest, const size_t *cand, size_t trials, double *pots)
{
    size_t i, t;
    for (i = 0; i < n; i++) {
        const double *x = X + i * d;
        double wi = w ? w[i] : 1.0, ci = closest[i];
        for (t = 0; t < trials; t++) {
            double s = sqdist(x, X + cand[t] * d, d);
            pots[t] += wi * (s < ci ? s : ci);
        }
    }
}

/* D^2 lowered by the new centre, and its weighted running sum into cum. */
HOT void closest_update(const double *X, const double *w, size_t n, size_t d,
                        const double *centre, double *closest, double *cum)
{
    double acc = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double s = sqdist(X + i * d, centre, d);
        if (s < closest[i]) {
            closest[i] = s;
        }
        acc += (w ? w[i] : 1.0) * closest[i];
        cum[i] = acc;
    }
}

cvm_status cvm__kmeans_seed(const cvm_allocator *a, const double *X, const double *w, size_t n,
                            size_t d, size_t k, cvm__rng *rng, double *centers)
{
    size_t trials = 2 + (size_t)floor(log((double)k));
    size_t cand[MAX_TRIALS];
    double pots[MAX_TRIALS];
    double *closest, *cum;
    size_t i, c, t, first;
    cvm_status st = CVM_OK;
    if (trials > MAX_TRIALS) {
        trials = MAX_TRIALS;
    }
    closest = cvm__calloc(a, n, 2 * sizeof *closest);
    if (closest == NULL) {
        return CVM_E_NOMEM;
    }
    cum = closest + n;
    if (w != NULL) {
        double acc = 0;
        for (i = 0; i < n; i++) {
            acc += w[i];
            cum[i] = acc;
        }
        first = search(cum, n, cvm__rng_uniform(rng) * acc);
    } else {
        first = (size_t)cvm__rng_below(rng, n);
    }
    memcpy(centers, X + first * d, d * sizeof *centers);
    for (i = 0; i < n; i++) {
        closest[i] = INFINITY;
    }
    BY_DIM(d, closest_update(X, w, n, dd, centers, closest, cum));
    for (c = 1; c < k; c++) {
        double acc = cum[n - 1];
        size_t best = 0;
        if (!(acc > 0)) {
            st = CVM_E_INVALID; /* fewer than k distinct rows: callers check first */
            break;
        }
        for (t = 0; t < trials; t++) {
            cand[t] = search(cum, n, cvm__rng_uniform(rng) * acc);
            pots[t] = 0;
        }
        BY_DIM(d, candidate_pots(X, w, n, dd, closest, cand, trials, pots));
        for (t = 1; t < trials; t++) {
            if (pots[t] < pots[best]) {
                best = t;
            }
        }
        memcpy(centers + c * d, X + cand[best] * d, d * sizeof *centers);
        if (c + 1 < k) {
            BY_DIM(d, closest_update(X, w, n, dd, centers + c * d, closest, cum));
        }
    }
    cvm__free(a, closest);
    return st;
}

/* ---- Lloyd with Hamerly's bounds ---------------------------------------- */

/* New centres (means) into `next`. A cluster without weight takes the row of
 * positive weight farthest from its own cluster's mean, which then leaves
 * that cluster (scikit-learn's relocation); its bounds are reset. Returns
 * CVM_E_INVALID when no row can be moved (fewer distinct rows than k). */
static cvm_status update_centres(const double *X, const double *w, size_t n, size_t d, size_t k,
                                 int32_t *labels, double *upper, double *lower, double *sums,
                                 double *wsum, double *next)
{
    for (;;) {
        size_t i, j, c, empty = SIZE_MAX, far = SIZE_MAX;
        double fd = 0;
        for (c = 0; c < k; c++) {
            if (wsum[c] > 0) {
                for (j = 0; j < d; j++) {
                    next[c * d + j] = sums[c * d + j] / wsum[c];
                }
            } else if (empty == SIZE_MAX) {
                empty = c;
            }
        }
        if (empty == SIZE_MAX) {
            return CVM_OK;
        }
        for (i = 0; i < n; i++) {
            /* only rows that share their cluster: moving a lone row would
             * empty its cluster (its distance to its own mean is rounding),
             * so each move fills one more cluster and the loop ends */
            if ((w == NULL || w[i] > 0) && wsum[labels[i]] > (w ? w[i] : 1.0)) {
                double s = sqdist(X + i * d, next + (size_t)labels[i] * d, d);
                if (s > fd) {
                    fd = s;
                    far = i;
                }
            }
        }
        if (far == SIZE_MAX) {
            return CVM_E_INVALID;
        }
        labels[far] = (int32_t)empty;
        upper[far] = INFINITY;
        lower[far] = 0;
        sum_all(X, w, n, d, k, labels, sums, wsum);
    }
}

/* Half the distance from each centre to its nearest other centre. */
static void halves(const double *C, size_t k, size_t d, double *half)
{
    size_t a, b;
    for (a = 0; a < k; a++) {
        half[a] = INFINITY;
    }
    for (a = 0; a < k; a++) {
        for (b = a + 1; b < k; b++) {
            double s = sqdist(C + a * d, C + b * d, d);
            if (s < half[a]) {
                half[a] = s;
            }
            if (s < half[b]) {
                half[b] = s;
            }
        }
    }
    for (a = 0; a < k; a++) {
        half[a] = 0.5 * sqrt(half[a]);
    }
}

/* The first assignment: exact nearest and second-nearest centres. */
HOT void first_pass(const double *X, const double *w, size_t n, size_t d, size_t k,
                    const double *centers, int32_t *labels, double *upper, double *lower,
                    double *sums, double *wsum)
{
    size_t i;
    for (i = 0; i < n; i++) {
        const double *x = X + i * d;
        double d1, d2;
        size_t b = scan(x, centers, k, d, &d1, &d2);
        labels[i] = (int32_t)b;
        upper[i] = sqrt(d1);
        lower[i] = sqrt(d2);
        accumulate(sums, wsum, b, x, w ? w[i] : 1.0, d);
    }
}

/* One assignment after the centres moved by `move` (the largest move max1,
 * of centre jmax, the second largest max2): rows whose bounds prove their
 * label are skipped, the others checked exactly. Accumulates the new sums,
 * and the inertia into *J when J is not NULL. Returns the labels changed. */
HOT size_t bound_pass(const double *X, const double *w, size_t n, size_t d, size_t k,
                      const double *centers, const double *move, const double *half,
                      size_t jmax, double max1, double max2, int32_t *labels, double *upper,
                      double *lower, double *sums, double *wsum, double *J)
{
    size_t i, changed = 0;
    for (i = 0; i < n; i++) {
        const double *x = X + i * d;
        size_t aj = (size_t)labels[i];
        double u = upper[i] + move[aj];
        double l = lower[i] - (aj == jmax ? max2 : max1);
        double m = half[aj] > l ? half[aj] : l;
        double wi = w ? w[i] : 1.0;
        if (d <= 4) {
            /* For d <= 4 one distance costs less than a mispredicted branch:
             * the distance to the own centre is always exact (d is a
             * constant here, so the test folds away), compared in squares. */
            double s = sqdist(x, centers + aj * d, d);
            if (s * (BOUND_SLACK * BOUND_SLACK) > m * m) {
                double d1, d2;
                size_t b = scan(x, centers, k, d, &d1, &d2);
                if (b != aj) {
                    changed++;
                    aj = b;
                    labels[i] = (int32_t)b;
                }
                l = sqrt(d2);
            }
        } else if (u * BOUND_SLACK > m) {
            u = sqrt(sqdist(x, centers + aj * d, d));
            if (u * BOUND_SLACK > m) {
                double d1, d2;
                size_t b = scan(x, centers, k, d, &d1, &d2);
                if (b != aj) {
                    changed++;
                    aj = b;
                    labels[i] = (int32_t)b;
                }
                u = sqrt(d1);
                l = sqrt(d2);
            }
        }
        if (d > 4) {
            upper[i] = u; /* for d <= 4 the upper bound is not used */
        }
        lower[i] = l;
        accumulate(sums, wsum, aj, x, wi, d);
        if (J != NULL) {
            *J += wi * sqdist(x, centers + aj * d, d);
        }
    }
    return changed;
}

cvm_status cvm__kmeans_lloyd(const cvm_allocator *a, const double *X, const double *w, size_t n,
                             size_t d, size_t k, int32_t max_iterations, double tol,
                             double *centers, int32_t *labels, double *trace,
                             cvm__kmeans_run *run)
{
    double *nb, *kb, *upper, *lower, *sums, *next, *wsum, *move, *half;
    double inertia = 0;
    size_t i;
    int32_t it = 0, converged = 0;
    cvm_status st = CVM_OK;
    nb = cvm__calloc(a, n, 2 * sizeof *nb);
    kb = cvm__calloc(a, k, (2 * d + 3) * sizeof *kb);
    if (nb == NULL || kb == NULL) {
        cvm__free(a, nb);
        cvm__free(a, kb);
        return CVM_E_NOMEM;
    }
    upper = nb;
    lower = nb + n;
    sums = kb;
    next = kb + k * d;
    wsum = next + k * d;
    move = wsum + k;
    half = move + k;
    BY_DIM(d, first_pass(X, w, n, dd, k, centers, labels, upper, lower, sums, wsum));
    while (it < max_iterations) {
        double tot = 0, max1 = 0, max2 = 0, J = 0;
        size_t c, jmax = 0, changed = 0;
        it++;
        st = update_centres(X, w, n, d, k, labels, upper, lower, sums, wsum, next);
        if (st != CVM_OK) {
            break;
        }
        for (c = 0; c < k; c++) {
            double s = sqdist(next + c * d, centers + c * d, d);
            tot += s;
            move[c] = sqrt(s);
            if (move[c] > max1) {
                max2 = max1;
                max1 = move[c];
                jmax = c;
            } else if (move[c] > max2) {
                max2 = move[c];
            }
        }
        memcpy(centers, next, k * d * sizeof *centers);
        halves(centers, k, d, half);
        memset(sums, 0, k * d * sizeof *sums);
        memset(wsum, 0, k * sizeof *wsum);
        BY_DIM(d, changed = bound_pass(X, w, n, dd, k, centers, move, half, jmax, max1, max2,
                                       labels, upper, lower, sums, wsum,
                                       trace != NULL ? &J : NULL));
        if (trace != NULL) {
            trace[it - 1] = J;
        }
        if (changed == 0 || tot <= tol) {
            converged = 1;
            break;
        }
    }
    if (st == CVM_OK) {
        for (i = 0; i < n; i++) {
            inertia += (w ? w[i] : 1.0) * sqdist(X + i * d, centers + (size_t)labels[i] * d, d);
        }
        run->inertia = inertia;
        run->iterations = it;
        run->converged = converged;
    }
    cvm__free(a, nb);
    cvm__free(a, kb);
    return st;
}

/* ---- distinct rows ------------------------------------------------------ */

static uint64_t hash_row(const double *x, size_t d)
{
    uint64_t h = 0x9E3779B97F4A7C15u;
    size_t j;
    for (j = 0; j < d; j++) {
        double v = x[j] + 0.0; /* -0.0 and 0.0 are equal: hash them alike */
        uint64_t u;
        memcpy(&u, &v, sizeof u);
        h = (h ^ u) * 0xFF51AFD7ED558CCDu;
        h ^= h >> 29;
    }
    h *= 0xC4CEB9FE1A85EC53u;
    return h ^ (h >> 32);
}

static int rows_equal(const double *x, const double *y, size_t d)
{
    size_t j;
    for (j = 0; j < d; j++) {
        if (x[j] != y[j]) {
            return 0;
        }
    }
    return 1;
}

/* Distinct rows of positive weight, counted up to `limit` (open addressing
 * over row indices: memory O(limit), and usually only the first rows read). */
static cvm_status count_distinct(const cvm_allocator *a, const double *X, const double *w,
                                 size_t n, size_t d, size_t limit, size_t *out)
{
    size_t cap = 16, count = 0, i, *table;
    while (cap < 2 * limit) {
        cap <<= 1;
    }
    table = cvm__calloc(a, cap, sizeof *table);
    if (table == NULL) {
        return CVM_E_NOMEM;
    }
    for (i = 0; i < cap; i++) {
        table[i] = SIZE_MAX;
    }
    for (i = 0; i < n && count < limit; i++) {
        const double *x = X + i * d;
        size_t pos;
        if (w != NULL && !(w[i] > 0)) {
            continue;
        }
        pos = (size_t)hash_row(x, d) & (cap - 1);
        for (;;) {
            if (table[pos] == SIZE_MAX) {
                table[pos] = i;
                count++;
                break;
            }
            if (rows_equal(X + table[pos] * d, x, d)) {
                break;
            }
            pos = (pos + 1) & (cap - 1);
        }
    }
    cvm__free(a, table);
    *out = count;
    return CVM_OK;
}

/* ---- the fit ------------------------------------------------------------ */

static double feature(int32_t scaling, double v)
{
    return scaling == CVM_SCALE_LOG1P_ZSCORE ? log1p(v) : v;
}

/* Per-feature weighted mean and sd of f(v) into shift/scale (0 and 1 without
 * scaling) and the mean weighted variance of the scaled data into *meanvar. */
static cvm_status feature_stats(cvm_kmeans *km, const double *X, const double *w, size_t n,
                                size_t d, double W, double *shift, double *scale, double *meanvar)
{
    int32_t scaling = km->opts.scaling;
    size_t i, j;
    double vsum = 0;
    for (j = 0; j < d; j++) {
        double s = 0, v2 = 0, mean, var, lo = INFINITY, hi = -INFINITY, v0 = 0;
        for (i = 0; i < n; i++) {
            double wi = w ? w[i] : 1.0;
            if (wi > 0) {
                double v = feature(scaling, X[i * d + j]);
                if (lo > hi) {
                    v0 = X[i * d + j];
                }
                s += (wi / W) * v; /* shares of W: no overflow however big w is */
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        }
        mean = s;
        for (i = 0; i < n; i++) {
            double wi = w ? w[i] : 1.0;
            if (wi > 0) {
                double t = feature(scaling, X[i * d + j]) - mean;
                v2 += (wi / W) * t * t;
            }
        }
        var = v2;
        if (scaling == CVM_SCALE_NONE) {
            shift[j] = 0;
            scale[j] = 1;
            vsum += var;
        } else {
            double sd = sqrt(var);
            if (!(lo < hi) || !(sd > 0) || !isfinite(sd)) {
                return cvm__errf(km->errmsg, sizeof km->errmsg, CVM_E_INVALID,
                                 "fit: feature %zu of %zu has zero variance (every row of "
                                 "positive weight is %g), so it cannot be scaled",
                                 j + 1, d, v0);
            }
            shift[j] = mean;
            scale[j] = sd;
            vsum += 1.0;
        }
    }
    *meanvar = vsum / (double)d;
    return CVM_OK;
}

cvm_status cvm_kmeans_fit(cvm_kmeans *km, const double *X, size_t n, size_t d,
                          const double *weights, int32_t *labels)
{
    char *err;
    size_t errlen, k, i, j, distinct;
    double W = 0, meanvar = 0, tol;
    double *block = NULL, *scaled = NULL, *cur = NULL;
    const double *Xs = X;
    int32_t *lab = NULL;
    cvm__kmeans_run best = { 0, 0, 0 };
    cvm_status st;
    int r;
    if (km == NULL) {
        return CVM_E_INVALID;
    }
    err = km->errmsg;
    errlen = sizeof km->errmsg;
    err[0] = '\0';
    if (X == NULL) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "fit: X is NULL");
    }
    if (n == 0) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "fit: no rows (n = 0)");
    }
    if (d == 0) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "fit: no features (d = 0)");
    }
    if (d > INT32_MAX || n > SIZE_MAX / sizeof(double) / d) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "fit: %zu rows of %zu features is too large",
                         n, d);
    }
    if (km->opts.k < 1) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "fit: k = %d; it must be at least 1",
                         (int)km->opts.k);
    }
    k = (size_t)km->opts.k;
    if (k > n) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "fit: k = %zu exceeds the %zu rows", k, n);
    }
    for (i = 0; i < n; i++) {
        st = cvm__kmeans_check_row(km->opts.scaling, X + i * d, d, i, "fit", err, errlen);
        if (st != CVM_OK) {
            return st;
        }
        if (weights != NULL) {
            if (!isfinite(weights[i]) || weights[i] < 0) {
                return cvm__errf(err, errlen, CVM_E_INVALID,
                                 "fit: row %zu: weight %g is not a finite number >= 0", i + 1,
                                 weights[i]);
            }
            W += weights[i];
        }
    }
    if (weights == NULL) {
        W = (double)n;
    }
    if (!(W > 0)) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "fit: every weight is 0");
    }
    if (!(W <= 1e150)) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "fit: the weights sum to %g, too large", W);
    }
    block = cvm__calloc(&km->alloc, 2 + k, d * sizeof *block);
    cur = cvm__calloc(&km->alloc, k, d * sizeof *cur);
    lab = cvm__calloc(&km->alloc, n, sizeof *lab);
    if (block == NULL || cur == NULL || lab == NULL) {
        st = CVM_E_NOMEM;
        goto done;
    }
    st = feature_stats(km, X, weights, n, d, W, block, block + d, &meanvar);
    if (st != CVM_OK) {
        goto done;
    }
    tol = km->opts.tolerance * meanvar;
    if (km->opts.scaling != CVM_SCALE_NONE) {
        scaled = cvm__calloc(&km->alloc, n, d * sizeof *scaled);
        if (scaled == NULL) {
            st = CVM_E_NOMEM;
            goto done;
        }
        for (i = 0; i < n; i++) {
            for (j = 0; j < d; j++) {
                scaled[i * d + j] =
                    (feature(km->opts.scaling, X[i * d + j]) - block[j]) / block[d + j];
            }
        }
        Xs = scaled;
    }
    st = count_distinct(&km->alloc, Xs, weights, n, d, k, &distinct);
    if (st != CVM_OK) {
        goto done;
    }
    if (distinct < k) {
        st = cvm__errf(err, errlen, CVM_E_INVALID,
                       "fit: k = %zu exceeds the %zu distinct rows%s", k, distinct,
                       weights ? " of positive weight" : "");
        goto done;
    }
    for (r = 0; r < km->opts.n_init; r++) {
        cvm__kmeans_run run;
        cvm__rng rng;
        cvm__rng_seed(&rng, km->opts.seed + (uint64_t)r * 0x9E3779B97F4A7C15u);
        st = cvm__kmeans_seed(&km->alloc, Xs, weights, n, d, k, &rng, cur);
        if (st == CVM_OK) {
            st = cvm__kmeans_lloyd(&km->alloc, Xs, weights, n, d, k, km->opts.max_iterations, tol,
                                   cur, lab, NULL, &run);
        }
        if (st != CVM_OK) {
            goto done;
        }
        if (r == 0 || run.inertia < best.inertia) {
            best = run;
            memcpy(block + 2 * d, cur, k * d * sizeof *cur);
            if (labels != NULL) {
                memcpy(labels, lab, n * sizeof *lab);
            }
        }
    }
    if (!isfinite(best.inertia)) {
        st = cvm__errf(err, errlen, CVM_E_INVALID,
                       "fit: the inertia overflows; rescale the features or the weights");
        goto done;
    }
    cvm__free(&km->alloc, km->shift);
    km->shift = block;
    km->scale = block + d;
    km->centers = block + 2 * d;
    block = NULL;
    km->k = k;
    km->d = d;
    km->inertia = best.inertia;
    km->iterations = best.iterations;
    km->converged = best.converged;
    km->fitted = 1;
done:
    if (st != CVM_OK && err[0] == '\0') {
        cvm__errf(err, errlen, st, "fit: %s", st == CVM_E_NOMEM ? "out of memory" : cvm_strerror(st));
    }
    cvm__free(&km->alloc, block);
    cvm__free(&km->alloc, cur);
    cvm__free(&km->alloc, lab);
    cvm__free(&km->alloc, scaled);
    return st;
}
