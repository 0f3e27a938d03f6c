/* k-means (cvm_kmeans): recovery of simulated blobs (adjusted Rand index),
 * monotone inertia, determinism, Hamerly's bounds against a naive Lloyd,
 * scaling and weights, empty clusters, bad input, predict, silhouette,
 * elbow, snapshots and allocation failures. */
#include "testutil.h"

#include "segment/segment_int.h" /* cvm__kmeans_lloyd / _seed, cvm__rng, snapshots */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- data -------------------------------------------------------------- */

typedef struct data {
    double *X;
    int32_t *truth;
    size_t n, d;
} data;

static void data_free(data *x)
{
    free(x->X);
    free(x->truth);
}

/* Five unit-variance Gaussian blobs in d = 3 whose centres are >= 15 sd
 * apart, `per` points each, in blob order. */
static data blobs(size_t per, uint64_t seed)
{
    static const double centre[5][3] = {
        { 0, 0, 0 }, { 15, 0, 0 }, { 0, 15, 0 }, { 0, 0, 15 }, { 15, 15, 15 }
    };
    data x;
    cvm__rng r;
    size_t i, j;
    cvm__rng_seed(&r, seed);
    x.d = 3;
    x.n = 5 * per;
    x.X = malloc(x.n * x.d * sizeof *x.X);
    x.truth = malloc(x.n * sizeof *x.truth);
    ck_assert_ptr_nonnull(x.X);
    ck_assert_ptr_nonnull(x.truth);
    for (i = 0; i < x.n; i++) {
        x.truth[i] = (int32_t)(i / per);
        for (j = 0; j < 3; j++) {
            x.X[i * 3 + j] = centre[i / per][j] + cvm__rng_normal(&r);
        }
    }
    return x;
}

/* n uniform rows on [0, 1)^d (no structure: many iterations, many local optima). */
static data uniform(size_t n, size_t d, uint64_t seed)
{
    data x;
    cvm__rng r;
    size_t i;
    cvm__rng_seed(&r, seed);
    x.n = n;
    x.d = d;
    x.X = malloc(n * d * sizeof *x.X);
    x.truth = NULL;
    ck_assert_ptr_nonnull(x.X);
    for (i = 0; i < n * d; i++) {
        x.X[i] = cvm__rng_uniform(&r);
    }
    return x;
}

static cvm_kmeans *make(int32_t k, int32_t scaling, uint64_t seed)
{
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    cvm_kmeans *km = NULL;
    o.k = k;
    o.scaling = scaling;
    o.seed = seed;
    ck_assert_int_eq(cvm_kmeans_new(&km, &o), CVM_OK);
    return km;
}

static void fit_ok(cvm_kmeans *km, const data *x, const double *w, int32_t *labels)
{
    cvm_status st = cvm_kmeans_fit(km, x->X, x->n, x->d, w, labels);
    ck_assert_msg(st == CVM_OK, "fit: %s", cvm_kmeans_errmsg(km));
}

static cvm_kmeans_info info_of(const cvm_kmeans *km)
{
    cvm_kmeans_info info;
    info.size = sizeof info;
    ck_assert_int_eq(cvm_kmeans_info_get(km, &info), CVM_OK);
    return info;
}

/* Adjusted Rand index (Hubert and Arabie 1985) of two labelings with labels
 * in 0..k-1. */
static double ari(const int32_t *a, const int32_t *b, size_t n, size_t k)
{
    double *t = calloc(k * k, sizeof *t), *ra = calloc(k, sizeof *ra), *rb = calloc(k, sizeof *rb);
    double sij = 0, sa = 0, sb = 0, expected, maxi, nn = (double)n;
    size_t i, j;
    ck_assert_ptr_nonnull(t);
    for (i = 0; i < n; i++) {
        t[(size_t)a[i] * k + (size_t)b[i]] += 1;
        ra[a[i]] += 1;
        rb[b[i]] += 1;
    }
    for (i = 0; i < k; i++) {
        for (j = 0; j < k; j++) {
            sij += t[i * k + j] * (t[i * k + j] - 1) / 2;
        }
        sa += ra[i] * (ra[i] - 1) / 2;
        sb += rb[i] * (rb[i] - 1) / 2;
    }
    expected = sa * sb / (nn * (nn - 1) / 2);
    maxi = (sa + sb) / 2;
    free(t);
    free(ra);
    free(rb);
    return (sij - expected) / (maxi - expected);
}

static double sq(const double *x, const double *y, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        s += (x[j] - y[j]) * (x[j] - y[j]);
    }
    return s;
}

/* ---- options ------------------------------------------------------------ */

START_TEST(test_options_init)
{
    cvm_kmeans_options a = CVM_KMEANS_OPTIONS_INIT, b;
    unsigned char big[sizeof(cvm_kmeans_options) + 16];
    cvm_kmeans *km = NULL;
    memset(&b, 0xAB, sizeof b);
    ck_assert_int_eq(cvm_kmeans_options_init(&b, sizeof b), CVM_OK);
    ck_assert_int_eq(memcmp(&a, &b, sizeof a), 0);
    ck_assert_int_eq(cvm_kmeans_options_init(NULL, sizeof b), CVM_E_INVALID);
    ck_assert_int_eq(cvm_kmeans_options_init(&b, 8), CVM_E_ABI);
    /* a newer caller's struct: unknown tail zero is fine, nonzero is not */
    ck_assert_int_eq(cvm_kmeans_options_init((cvm_kmeans_options *)(void *)big, sizeof big),
                     CVM_OK);
    ck_assert_int_eq(cvm_kmeans_new(&km, (cvm_kmeans_options *)(void *)big), CVM_OK);
    cvm_kmeans_free(km);
    big[sizeof big - 1] = 1;
    ck_assert_int_eq(cvm_kmeans_new(&km, (cvm_kmeans_options *)(void *)big), CVM_E_ABI);
    ck_assert_ptr_null(km);
    /* defaults with NULL options */
    ck_assert_int_eq(cvm_kmeans_new(&km, NULL), CVM_OK);
    ck_assert_str_eq(cvm_kmeans_errmsg(km), "");
    cvm_kmeans_free(km);
    cvm_kmeans_free(NULL);
    ck_assert_str_eq(cvm_kmeans_errmsg(NULL), "");
}
END_TEST

START_TEST(test_bad_options)
{
    cvm_kmeans_options o;
    cvm_kmeans *km = (cvm_kmeans *)&o;
    cvm_kmeans_options_init(&o, sizeof o);
    o.n_init = 0;
    ck_assert_int_eq(cvm_kmeans_new(&km, &o), CVM_E_INVALID);
    ck_assert_ptr_null(km);
    cvm_kmeans_options_init(&o, sizeof o);
    o.max_iterations = 0;
    ck_assert_int_eq(cvm_kmeans_new(&km, &o), CVM_E_INVALID);
    cvm_kmeans_options_init(&o, sizeof o);
    o.tolerance = NAN;
    ck_assert_int_eq(cvm_kmeans_new(&km, &o), CVM_E_INVALID);
    cvm_kmeans_options_init(&o, sizeof o);
    o.tolerance = -1;
    ck_assert_int_eq(cvm_kmeans_new(&km, &o), CVM_E_INVALID);
    cvm_kmeans_options_init(&o, sizeof o);
    o.scaling = 3;
    ck_assert_int_eq(cvm_kmeans_new(&km, &o), CVM_E_INVALID);
    ck_assert_int_eq(cvm_kmeans_new(NULL, &o), CVM_E_INVALID);
}
END_TEST

/* ---- acceptance --------------------------------------------------------- */

/* Blobs 15 sd apart: a point is nearer another blob's centre only beyond
 * 7.5 sd along the line between them (P ~ 3e-14), so every label should be
 * right; the bar is ARI >= 0.99. */
START_TEST(test_blobs_ari)
{
    data x = blobs(2000, 11);
    int32_t *labels = malloc(x.n * sizeof *labels);
    cvm_kmeans *km = make(5, CVM_SCALE_NONE, 3);
    cvm_kmeans_info info;
    double a;
    fit_ok(km, &x, NULL, labels);
    a = ari(labels, x.truth, x.n, 5);
    ck_assert_msg(a >= 0.99, "ARI %.6f", a);
    info = info_of(km);
    ck_assert_int_eq(info.k, 5);
    ck_assert_int_eq(info.d, 3);
    ck_assert_int_eq(info.converged, 1);
    ck_assert_int_ge(info.iterations, 1);
    /* inertia of 10000 unit-variance 3-d points about their means: ~ 3 n */
    ck_assert(info.inertia > 2.7 * (double)x.n && info.inertia < 3.3 * (double)x.n);
    /* the same with z-score and log1p scaling (shifted to be positive) */
    cvm_kmeans_free(km);
    km = make(5, CVM_SCALE_ZSCORE, 3);
    fit_ok(km, &x, NULL, labels);
    a = ari(labels, x.truth, x.n, 5);
    ck_assert_msg(a >= 0.99, "ARI (z-score) %.6f", a);
    cvm_kmeans_free(km);
    free(labels);
    data_free(&x);
}
END_TEST

/* Each Lloyd iteration (update, then assignment) cannot raise the inertia in
 * exact arithmetic; we allow 1e-12 relative for the summation's rounding. */
static void assert_monotone(const double *trace, int32_t iterations, double final)
{
    ck_assert_int_ge(iterations, 1);
    for (int32_t t = 1; t < iterations; t++) {
        ck_assert_msg(trace[t] <= trace[t - 1] * (1 + 1e-12), "iteration %d: %.17g > %.17g",
                      (int)t + 1, trace[t], trace[t - 1]);
    }
    ck_assert(fabs(trace[iterations - 1] - final) <= 1e-12 * final);
}

START_TEST(test_inertia_monotone)
{
    cvm_allocator a;
    data x = uniform(5000, 2, 5);
    double centres[12 * 2], trace[300];
    int32_t *labels = malloc(x.n * sizeof *labels);
    cvm__kmeans_run run;
    cvm__rng r;
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    cvm__rng_seed(&r, 1);
    ck_assert_int_eq(cvm__kmeans_seed(&a, x.X, NULL, x.n, 2, 12, &r, centres), CVM_OK);
    ck_assert_int_eq(cvm__kmeans_lloyd(&a, x.X, NULL, x.n, 2, 12, 300, 0, centres, labels, trace,
                                       &run),
                     CVM_OK);
    ck_assert_int_ge(run.iterations, 5); /* unstructured data: a real descent */
    assert_monotone(trace, run.iterations, run.inertia);
    free(labels);
    data_free(&x);
}
END_TEST

START_TEST(test_deterministic)
{
    data x = uniform(3000, 3, 8);
    int32_t *l1 = malloc(x.n * sizeof *l1), *l2 = malloc(x.n * sizeof *l2);
    double c1[8 * 3], c2[8 * 3];
    int differs = 0;
    cvm_kmeans *km = make(8, CVM_SCALE_NONE, 42);
    fit_ok(km, &x, NULL, l1);
    ck_assert_int_eq(cvm_kmeans_centroids(km, c1, 24), CVM_OK);
    for (int rep = 0; rep < 3; rep++) {
        cvm_kmeans *again = make(8, CVM_SCALE_NONE, 42);
        fit_ok(again, &x, NULL, l2);
        ck_assert_int_eq(memcmp(l1, l2, x.n * sizeof *l1), 0);
        ck_assert_int_eq(cvm_kmeans_centroids(again, c2, 24), CVM_OK);
        ck_assert_int_eq(memcmp(c1, c2, sizeof c1), 0);
        cvm_kmeans_free(again);
    }
    /* refitting the same handle gives the same again */
    fit_ok(km, &x, NULL, l2);
    ck_assert_int_eq(memcmp(l1, l2, x.n * sizeof *l1), 0);
    /* other seeds reach other local optima on structureless data */
    for (uint64_t s = 1; s <= 10 && !differs; s++) {
        cvm_kmeans *other = make(8, CVM_SCALE_NONE, s);
        fit_ok(other, &x, NULL, l2);
        differs = memcmp(l1, l2, x.n * sizeof *l1) != 0;
        cvm_kmeans_free(other);
    }
    ck_assert(differs);
    cvm_kmeans_free(km);
    free(l1);
    free(l2);
    data_free(&x);
}
END_TEST

/* n_init restarts: restart r runs with seed + r * 0x9E3779B97F4A7C15, so the
 * best of five is exactly the lowest of the five single runs. */
START_TEST(test_restarts)
{
    data x = uniform(2000, 2, 9);
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    cvm_kmeans *km = NULL;
    double best = INFINITY;
    o.k = 6;
    o.seed = 77;
    for (int r = 0; r < 5; r++) {
        cvm_kmeans *one = make(6, CVM_SCALE_NONE, 77 + (uint64_t)r * 0x9E3779B97F4A7C15u);
        fit_ok(one, &x, NULL, NULL);
        if (info_of(one).inertia < best) {
            best = info_of(one).inertia;
        }
        cvm_kmeans_free(one);
    }
    o.n_init = 5;
    ck_assert_int_eq(cvm_kmeans_new(&km, &o), CVM_OK);
    fit_ok(km, &x, NULL, NULL);
    ck_assert(info_of(km).inertia == best);
    cvm_kmeans_free(km);
    data_free(&x);
}
END_TEST

/* ---- Hamerly against a naive Lloyd ---------------------------------------- */

/* Plain Lloyd from the given centres: assign every row (lowest index on
 * ties), move each centre to its (weighted) mean, until no label changes. */
static int naive_lloyd(const double *X, const double *w, size_t n, size_t d, size_t k,
                       double *C, int32_t *labels)
{
    double *sums = calloc(k * d, sizeof *sums), *ws = calloc(k, sizeof *ws);
    int it = 0, changed = 1;
    for (size_t i = 0; i < n; i++) {
        labels[i] = -1;
    }
    for (;;) {
        changed = 0;
        for (size_t i = 0; i < n; i++) {
            size_t b = 0;
            double bd = INFINITY;
            for (size_t c = 0; c < k; c++) {
                double s = sq(X + i * d, C + c * d, d);
                if (s < bd) {
                    bd = s;
                    b = c;
                }
            }
            changed += labels[i] != (int32_t)b;
            labels[i] = (int32_t)b;
        }
        if (!changed || it == 300) {
            break;
        }
        it++;
        memset(sums, 0, k * d * sizeof *sums);
        memset(ws, 0, k * sizeof *ws);
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < d; j++) {
                sums[(size_t)labels[i] * d + j] += (w ? w[i] : 1.0) * X[i * d + j];
            }
            ws[labels[i]] += w ? w[i] : 1.0;
        }
        for (size_t c = 0; c < k; c++) {
            ck_assert_msg(ws[c] > 0, "naive reference hit an empty cluster");
            for (size_t j = 0; j < d; j++) {
                C[c * d + j] = sums[c * d + j] / ws[c];
            }
        }
    }
    free(sums);
    free(ws);
    return it;
}

/* Same start, same stopping rule (tolerance 0: labels stable): the bounds
 * only skip distance computations that cannot change a label, so labels must
 * be identical and centres equal to rounding (1e-12 absolute on data in
 * [0, 1); the sums are formed in the same order, so they are usually
 * bit-identical). Also with weights and with d = 1 and 7. */
START_TEST(test_hamerly_vs_naive)
{
    static const size_t dims[3] = { 1, 4, 7 };
    cvm_allocator a;
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    for (int t = 0; t < 6; t++) {
        size_t d = dims[t % 3], k = 10, n = 3000;
        data x = uniform(n, d, 100 + (uint64_t)t);
        double *w = NULL, *C1 = malloc(k * d * sizeof *C1), *C2 = malloc(k * d * sizeof *C2);
        int32_t *l1 = malloc(n * sizeof *l1), *l2 = malloc(n * sizeof *l2);
        cvm__kmeans_run run;
        cvm__rng r;
        int it;
        if (t >= 3) {
            w = malloc(n * sizeof *w);
            cvm__rng_seed(&r, 7 + (uint64_t)t);
            for (size_t i = 0; i < n; i++) {
                w[i] = 0.1 + 3 * cvm__rng_uniform(&r);
            }
        }
        cvm__rng_seed(&r, 1 + (uint64_t)t);
        ck_assert_int_eq(cvm__kmeans_seed(&a, x.X, w, n, d, k, &r, C1), CVM_OK);
        memcpy(C2, C1, k * d * sizeof *C1);
        ck_assert_int_eq(cvm__kmeans_lloyd(&a, x.X, w, n, d, k, 300, 0, C1, l1, NULL, &run),
                         CVM_OK);
        it = naive_lloyd(x.X, w, n, d, k, C2, l2);
        ck_assert_int_eq(run.converged, 1);
        ck_assert_int_eq(run.iterations, it);
        ck_assert_int_eq(memcmp(l1, l2, n * sizeof *l1), 0);
        for (size_t i = 0; i < k * d; i++) {
            ck_assert_double_eq_tol(C1[i], C2[i], 1e-12);
        }
        free(w);
        free(C1);
        free(C2);
        free(l1);
        free(l2);
        data_free(&x);
    }
}
END_TEST

/* ---- scaling and weights ------------------------------------------------- */

/* Three groups on very different scales, with weights. With tolerance 0 the
 * fit stops only when labels are stable, so each centre is exactly the
 * weighted mean of its cluster in scaled units; z-scoring is affine, so the
 * centroid in original units must equal the weighted mean of the cluster's
 * original rows up to rounding: 1e-10 relative to the feature's spread. For
 * log1p + z-score the centroid is expm1 of the weighted mean of log1p(v). */
static void check_scaled_means(int32_t scaling)
{
    size_t n = 900, d = 2, k = 3;
    double *X = malloc(n * d * sizeof *X), *w = malloc(n * sizeof *w), cent[6], ref[6], ws[3];
    int32_t *labels = malloc(n * sizeof *labels);
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    cvm_kmeans *km = NULL;
    cvm__rng r;
    cvm__rng_seed(&r, 21);
    for (size_t i = 0; i < n; i++) {
        size_t g = i % 3;
        X[i * 2] = 10.0 * (double)(g + 1) * (1 + 0.2 * cvm__rng_uniform(&r));  /* ~10..30 */
        X[i * 2 + 1] = 1000.0 * (double)(g * g + 1) * cvm__rng_uniform(&r);   /* ~0..5000 */
        w[i] = 0.5 + cvm__rng_uniform(&r);
    }
    o.k = 3;
    o.scaling = scaling;
    o.tolerance = 0;
    o.n_init = 2;
    ck_assert_int_eq(cvm_kmeans_new(&km, &o), CVM_OK);
    ck_assert_msg(cvm_kmeans_fit(km, X, n, d, w, labels) == CVM_OK, "%s", cvm_kmeans_errmsg(km));
    ck_assert_int_eq(info_of(km).converged, 1);
    ck_assert_int_eq(cvm_kmeans_centroids(km, cent, 6), CVM_OK);
    memset(ref, 0, sizeof ref);
    memset(ws, 0, sizeof ws);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) {
            double v = X[i * d + j];
            ref[(size_t)labels[i] * d + j] +=
                w[i] * (scaling == CVM_SCALE_LOG1P_ZSCORE ? log1p(v) : v);
        }
        ws[labels[i]] += w[i];
    }
    for (size_t c = 0; c < k; c++) {
        ck_assert(ws[c] > 0);
        for (size_t j = 0; j < d; j++) {
            double m = ref[c * d + j] / ws[c];
            if (scaling == CVM_SCALE_LOG1P_ZSCORE) {
                m = expm1(m);
            }
            ck_assert_msg(fabs(cent[c * d + j] - m) <= 1e-10 * (j == 0 ? 30 : 5000),
                          "centre %zu feature %zu: %.17g vs %.17g", c, j, cent[c * d + j], m);
        }
    }
    cvm_kmeans_free(km);
    free(X);
    free(w);
    free(labels);
}

START_TEST(test_scaling_means)
{
    check_scaled_means(CVM_SCALE_NONE);
    check_scaled_means(CVM_SCALE_ZSCORE);
    check_scaled_means(CVM_SCALE_LOG1P_ZSCORE);
}
END_TEST

/* Weight 2 on a row equals that row twice (placed next to each other, so
 * the seeding's cumulative sums cover the same intervals): same clusters,
 * centroids and inertia up to rounding (1e-9 relative: 2x vs x + x only
 * changes the association of sums). Also weight 0 == row absent. */
START_TEST(test_weights_duplicate)
{
    data x = uniform(600, 3, 31);
    size_t n2 = 0, i;
    double *w = malloc(x.n * sizeof *w), *X2 = malloc(2 * x.n * 3 * sizeof *X2), c1[15], c2[15];
    int32_t *l1 = malloc(x.n * sizeof *l1), *l2 = malloc(2 * x.n * sizeof *l2);
    size_t *map = malloc(x.n * sizeof *map);
    cvm_kmeans_info i1, i2;
    for (int32_t scaling = CVM_SCALE_NONE; scaling <= CVM_SCALE_ZSCORE; scaling++) {
        cvm_kmeans *a = make(5, scaling, 4), *b = make(5, scaling, 4);
        n2 = 0;
        for (i = 0; i < x.n; i++) {
            w[i] = i % 3 == 0 ? 2.0 : 1.0;
            map[i] = n2;
            memcpy(X2 + n2 * 3, x.X + i * 3, 3 * sizeof *X2);
            n2++;
            if (w[i] == 2.0) {
                memcpy(X2 + n2 * 3, x.X + i * 3, 3 * sizeof *X2);
                n2++;
            }
        }
        fit_ok(a, &x, w, l1);
        ck_assert_msg(cvm_kmeans_fit(b, X2, n2, 3, NULL, l2) == CVM_OK, "%s",
                      cvm_kmeans_errmsg(b));
        for (i = 0; i < x.n; i++) {
            ck_assert_int_eq(l1[i], l2[map[i]]);
        }
        ck_assert_int_eq(cvm_kmeans_centroids(a, c1, 15), CVM_OK);
        ck_assert_int_eq(cvm_kmeans_centroids(b, c2, 15), CVM_OK);
        for (i = 0; i < 15; i++) {
            ck_assert_double_eq_tol(c1[i], c2[i], 1e-9);
        }
        i1 = info_of(a);
        i2 = info_of(b);
        ck_assert_double_eq_tol(i1.inertia, i2.inertia, 1e-9 * i2.inertia);
        cvm_kmeans_free(a);
        cvm_kmeans_free(b);
    }
    free(w);
    free(X2);
    free(l1);
    free(l2);
    free(map);
    data_free(&x);
}
END_TEST

/* ---- empty clusters and too few distinct rows ---------------------------- */

/* Two tight groups and three starting centres, one far from every row: its
 * cluster starts empty and must take the row farthest from its centre; in
 * the end all three clusters have rows and the inertia still never rose. */
START_TEST(test_empty_cluster)
{
    cvm_allocator a;
    double X[40 * 2], C[3 * 2] = { 0, 0, 10, 10, 1000, -1000 }, trace[100];
    int32_t labels[40];
    size_t count[3] = { 0, 0, 0 };
    cvm__kmeans_run run;
    cvm__rng r;
    cvm__rng_seed(&r, 3);
    for (size_t i = 0; i < 40; i++) {
        double base = i < 20 ? 0 : 10;
        X[i * 2] = base + cvm__rng_normal(&r);
        X[i * 2 + 1] = base + cvm__rng_normal(&r);
    }
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    ck_assert_int_eq(cvm__kmeans_lloyd(&a, X, NULL, 40, 2, 3, 100, 0, C, labels, trace, &run),
                     CVM_OK);
    for (size_t i = 0; i < 40; i++) {
        ck_assert(labels[i] >= 0 && labels[i] < 3);
        count[labels[i]]++;
    }
    ck_assert(count[0] > 0 && count[1] > 0 && count[2] > 0);
    ck_assert(fabs(C[4]) < 20 && fabs(C[5]) < 20); /* the far centre came to the data */
    assert_monotone(trace, run.iterations, run.inertia);
}
END_TEST

/* A weighted lone row's own mean can round away from it (3 * 0.1 / 3 is
 * not 0.1): relocation must not take it from its cluster, or the row would
 * bounce between two clusters forever (the tcase timeout catches a hang). */
START_TEST(test_relocation_skips_lone_rows)
{
    cvm_allocator a;
    double X[3] = { 0.1, 0, 1e-20 }, w[3] = { 3, 1, 1 }, C[3] = { 0.1, 0, 5 };
    int32_t labels[3];
    cvm__kmeans_run run;
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    ck_assert_int_eq(cvm__kmeans_lloyd(&a, X, w, 3, 1, 3, 50, 0, C, labels, NULL, &run), CVM_OK);
    ck_assert(labels[0] != labels[1] && labels[1] != labels[2] && labels[0] != labels[2]);
}
END_TEST

/* Rows far outside the fitted range (scaled values past the overflow
 * guard) are reported, not silently sent to centre 0. */
START_TEST(test_predict_far_outside)
{
    double X[4] = { 0, 1e-150, 2e-150, 3e-150 }, far[1] = { -1e100 }, sil;
    int32_t labels[4], lab[1];
    int32_t l2[2] = { 0, 1 };
    double two[2] = { 1e100, -1e100 };
    char err[256];
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    cvm_kmeans *km = NULL;
    o.k = 2;
    o.scaling = CVM_SCALE_ZSCORE;
    ck_assert_int_eq(cvm_kmeans_new(&km, &o), CVM_OK);
    ck_assert_int_eq(cvm_kmeans_fit(km, X, 4, 1, NULL, labels), CVM_OK);
    ck_assert_int_eq(cvm_kmeans_predict(km, far, 1, 1, lab, err, sizeof err), CVM_E_RANGE);
    ck_assert_msg(strstr(err, "row 1"), "%s", err);
    ck_assert_int_eq(cvm_kmeans_silhouette(km, two, 2, 1, l2, 2, 1, &sil, err, sizeof err),
                     CVM_E_RANGE);
    cvm_kmeans_free(km);
}
END_TEST

START_TEST(test_too_few_distinct)
{
    double X[30 * 2], w[30];
    cvm_kmeans *km = make(4, CVM_SCALE_NONE, 0);
    int32_t labels[30];
    for (size_t i = 0; i < 30; i++) {
        X[i * 2] = (double)(i % 3);
        X[i * 2 + 1] = i % 3 == 1 ? -0.0 : 0.0; /* -0 and 0 are the same value */
        w[i] = i % 3 == 2 ? 0.0 : 1.0;
    }
    ck_assert_int_eq(cvm_kmeans_fit(km, X, 30, 2, NULL, labels), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_kmeans_errmsg(km), "k = 4 exceeds the 3 distinct rows"));
    cvm_kmeans_free(km);
    km = make(3, CVM_SCALE_NONE, 0);
    fit_ok(km, &(data){ X, NULL, 30, 2 }, NULL, labels);
    ck_assert_double_eq(info_of(km).inertia, 0);
    /* rows of weight 0 do not count */
    ck_assert_int_eq(cvm_kmeans_fit(km, X, 30, 2, w, labels), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_kmeans_errmsg(km), "2 distinct rows of positive weight"));
    cvm_kmeans_free(km);
    /* k > n */
    km = make(31, CVM_SCALE_NONE, 0);
    ck_assert_int_eq(cvm_kmeans_fit(km, X, 30, 2, NULL, labels), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_kmeans_errmsg(km), "k = 31"));
    cvm_kmeans_free(km);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

static void expect_fit_error(cvm_kmeans *km, const double *X, size_t n, size_t d,
                             const double *w, cvm_status want, const char *needle)
{
    cvm_status st = cvm_kmeans_fit(km, X, n, d, w, NULL);
    ck_assert_int_eq(st, want);
    ck_assert_msg(strstr(cvm_kmeans_errmsg(km), needle) != NULL, "message \"%s\" lacks \"%s\"",
                  cvm_kmeans_errmsg(km), needle);
}

START_TEST(test_bad_input)
{
    data x = uniform(50, 3, 2);
    double w[50];
    cvm_kmeans *km = make(3, CVM_SCALE_NONE, 0), *z = make(3, CVM_SCALE_ZSCORE, 0),
               *lg = make(3, CVM_SCALE_LOG1P_ZSCORE, 0), *k0 = make(0, CVM_SCALE_NONE, 0);
    double saved;
    for (size_t i = 0; i < 50; i++) {
        w[i] = 1;
    }
    ck_assert_int_eq(cvm_kmeans_fit(NULL, x.X, 50, 3, NULL, NULL), CVM_E_INVALID);
    expect_fit_error(k0, x.X, 50, 3, NULL, CVM_E_INVALID, "k = 0");
    expect_fit_error(km, NULL, 50, 3, NULL, CVM_E_INVALID, "X is NULL");
    expect_fit_error(km, x.X, 0, 3, NULL, CVM_E_INVALID, "n = 0");
    expect_fit_error(km, x.X, 50, 0, NULL, CVM_E_INVALID, "d = 0");
    saved = x.X[4 * 3 + 1];
    x.X[4 * 3 + 1] = NAN;
    expect_fit_error(km, x.X, 50, 3, NULL, CVM_E_INVALID, "row 5, feature 2 of 3: nan is NaN");
    x.X[4 * 3 + 1] = -INFINITY;
    expect_fit_error(km, x.X, 50, 3, NULL, CVM_E_INVALID, "row 5, feature 2 of 3: -inf");
    x.X[4 * 3 + 1] = 1e200;
    expect_fit_error(km, x.X, 50, 3, NULL, CVM_E_INVALID, "too large");
    x.X[4 * 3 + 1] = -0.5;
    expect_fit_error(lg, x.X, 50, 3, NULL, CVM_E_INVALID, "row 5, feature 2 of 3: -0.5 is negative");
    x.X[4 * 3 + 1] = saved;
    w[7] = -1;
    expect_fit_error(km, x.X, 50, 3, w, CVM_E_INVALID, "row 8: weight -1");
    w[7] = NAN;
    expect_fit_error(km, x.X, 50, 3, w, CVM_E_INVALID, "row 8: weight nan");
    memset(w, 0, sizeof w);
    expect_fit_error(km, x.X, 50, 3, w, CVM_E_INVALID, "every weight is 0");
    for (size_t i = 0; i < 50; i++) {
        x.X[i * 3 + 2] = 4.5; /* a constant third feature */
    }
    expect_fit_error(z, x.X, 50, 3, NULL, CVM_E_INVALID, "feature 3 of 3 has zero variance");
    expect_fit_error(lg, x.X, 50, 3, NULL, CVM_E_INVALID, "feature 3 of 3 has zero variance");
    ck_assert_ptr_nonnull(strstr(cvm_kmeans_errmsg(lg), "4.5"));
    /* ... which is fine without scaling */
    fit_ok(km, &x, NULL, NULL);
    /* a failed fit keeps the previous fit */
    expect_fit_error(km, x.X, 0, 3, NULL, CVM_E_INVALID, "n = 0");
    ck_assert_int_eq(info_of(km).k, 3);
    cvm_kmeans_free(km);
    cvm_kmeans_free(z);
    cvm_kmeans_free(lg);
    cvm_kmeans_free(k0);
    data_free(&x);
}
END_TEST

START_TEST(test_predict_and_getters)
{
    data x = blobs(300, 17);
    int32_t *labels = malloc(x.n * sizeof *labels), *pred = malloc(x.n * sizeof *pred);
    cvm_kmeans *km = make(5, CVM_SCALE_LOG1P_ZSCORE, 9);
    cvm_kmeans_info info;
    double cent[15], row[3] = { 1, NAN, 2 };
    char err[256];
    for (size_t i = 0; i < x.n * 3; i++) {
        x.X[i] += 10; /* non-negative for log1p */
        if (x.X[i] < 0) {
            x.X[i] = 0;
        }
    }
    /* not fitted yet */
    ck_assert_int_eq(cvm_kmeans_predict(km, x.X, x.n, 3, pred, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "not fitted"));
    ck_assert_int_eq(cvm_kmeans_centroids(km, cent, 15), CVM_E_INVALID);
    info = info_of(km);
    ck_assert_int_eq(info.k, 0);
    fit_ok(km, &x, NULL, labels);
    ck_assert_int_eq(cvm_kmeans_predict(km, x.X, x.n, 3, pred, err, sizeof err), CVM_OK);
    ck_assert_int_eq(memcmp(labels, pred, x.n * sizeof *pred), 0);
    ck_assert_int_eq(cvm_kmeans_predict(km, x.X, x.n, 2, pred, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "2 features"));
    ck_assert_int_eq(cvm_kmeans_predict(km, row, 1, 3, pred, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "row 1, feature 2 of 3"));
    row[1] = -1;
    ck_assert_int_eq(cvm_kmeans_predict(km, row, 1, 3, pred, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "negative"));
    ck_assert_int_eq(cvm_kmeans_predict(km, x.X, 0, 3, pred, NULL, 0), CVM_OK);
    ck_assert_int_eq(cvm_kmeans_predict(NULL, x.X, 1, 3, pred, NULL, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_kmeans_centroids(km, cent, 14), CVM_E_INVALID);
    ck_assert_int_eq(cvm_kmeans_centroids(km, cent, 15), CVM_OK);
    for (size_t i = 0; i < 15; i++) {
        ck_assert(isfinite(cent[i]) && cent[i] > 0);
    }
    info.size = 4;
    ck_assert_int_eq(cvm_kmeans_info_get(km, &info), CVM_E_ABI);
    ck_assert_int_eq(cvm_kmeans_info_get(NULL, &info), CVM_E_INVALID);
    cvm_kmeans_free(km);
    free(labels);
    free(pred);
    data_free(&x);
}
END_TEST

/* ---- silhouette and elbow ----------------------------------------------- */

static double naive_silhouette(const double *X, const int32_t *labels, size_t n, size_t d,
                               size_t k)
{
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double a = 0, b = INFINITY;
        size_t own = 0;
        for (size_t j = 0; j < n; j++) {
            if (j != i && labels[j] == labels[i]) {
                a += sqrt(sq(X + i * d, X + j * d, d));
                own++;
            }
        }
        if (own == 0) {
            continue;
        }
        a /= (double)own;
        for (size_t c = 0; c < k; c++) {
            double s = 0;
            size_t m = 0;
            if ((int32_t)c == labels[i]) {
                continue;
            }
            for (size_t j = 0; j < n; j++) {
                if (labels[j] == (int32_t)c) {
                    s += sqrt(sq(X + i * d, X + j * d, d));
                    m++;
                }
            }
            if (m > 0 && s / (double)m < b) {
                b = s / (double)m;
            }
        }
        total += (b - a) / (a > b ? a : b);
    }
    return total / (double)n;
}

/* On all rows the silhouette equals the textbook definition computed here
 * (1e-12 relative: the same sums in another order). Labels from the fit and
 * from elsewhere (a singleton cluster) both. */
START_TEST(test_silhouette_naive)
{
    data x = uniform(60, 2, 12);
    int32_t labels[60];
    double s;
    char err[256];
    cvm_kmeans *km = make(4, CVM_SCALE_NONE, 1);
    fit_ok(km, &x, NULL, labels);
    ck_assert_int_eq(cvm_kmeans_silhouette(km, x.X, 60, 2, labels, 1000, 0, &s, err, sizeof err),
                     CVM_OK);
    ck_assert_double_eq_tol(s, naive_silhouette(x.X, labels, 60, 2, 4), 1e-12);
    ck_assert(s > 0.2 && s < 1);
    labels[0] = 3;
    labels[1] = 2; /* arbitrary labels, maybe a singleton */
    for (size_t i = 2; i < 60; i++) {
        labels[i] = (int32_t)(i % 2);
    }
    ck_assert_int_eq(cvm_kmeans_silhouette(km, x.X, 60, 2, labels, 60, 0, &s, err, sizeof err),
                     CVM_OK);
    ck_assert_double_eq_tol(s, naive_silhouette(x.X, labels, 60, 2, 4), 1e-12);
    /* errors */
    labels[5] = 4;
    ck_assert_int_eq(cvm_kmeans_silhouette(km, x.X, 60, 2, labels, 60, 0, &s, err, sizeof err),
                     CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "row 6: label 4"));
    memset(labels, 0, sizeof labels);
    ck_assert_int_eq(cvm_kmeans_silhouette(km, x.X, 60, 2, labels, 60, 0, &s, err, sizeof err),
                     CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "single cluster"));
    ck_assert_int_eq(cvm_kmeans_silhouette(km, x.X, 60, 2, labels, 0, 0, &s, err, sizeof err),
                     CVM_E_INVALID);
    cvm_kmeans_free(km);
    data_free(&x);
}
END_TEST

/* Blobs 15 sd apart in 3-d: a ~ 2.3 (mean distance of two N(0, I) points),
 * b ~ 15, so s ~ 0.85; a sample of 300 rows estimates the all-rows value to
 * about 0.005 (sd of s_i ~ 0.05 / sqrt(300)), we allow 0.02. */
START_TEST(test_silhouette_blobs)
{
    data x = blobs(400, 5);
    int32_t *labels = malloc(x.n * sizeof *labels);
    double all, part, part2;
    char err[256];
    cvm_kmeans *km = make(5, CVM_SCALE_NONE, 2);
    fit_ok(km, &x, NULL, labels);
    ck_assert_int_eq(cvm_kmeans_silhouette(km, x.X, x.n, 3, labels, x.n, 0, &all, err,
                                           sizeof err),
                     CVM_OK);
    ck_assert_msg(all > 0.8 && all < 0.95, "silhouette %g", all);
    ck_assert_int_eq(cvm_kmeans_silhouette(km, x.X, x.n, 3, labels, 300, 7, &part, err,
                                           sizeof err),
                     CVM_OK);
    ck_assert_double_eq_tol(part, all, 0.02);
    ck_assert_int_eq(cvm_kmeans_silhouette(km, x.X, x.n, 3, labels, 300, 7, &part2, err,
                                           sizeof err),
                     CVM_OK);
    ck_assert(part == part2); /* seeded */
    cvm_kmeans_free(km);
    free(labels);
    data_free(&x);
}
END_TEST

/* Elbow on five blobs: non-increasing (1e-12 relative), a sharp drop up to
 * k = 5 and little after; at k = 1 the inertia is the total sum of squares
 * about the mean (1e-9 relative). */
START_TEST(test_elbow)
{
    data x = blobs(400, 6);
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    double out[8], mean[3] = { 0, 0, 0 }, tss = 0;
    char err[256];
    o.n_init = 3;
    ck_assert_int_eq(cvm_kmeans_elbow(&o, x.X, x.n, 3, NULL, 1, 8, out, err, sizeof err), CVM_OK);
    for (size_t i = 0; i < x.n; i++) {
        for (size_t j = 0; j < 3; j++) {
            mean[j] += x.X[i * 3 + j] / (double)x.n;
        }
    }
    for (size_t i = 0; i < x.n; i++) {
        tss += sq(x.X + i * 3, mean, 3);
    }
    ck_assert_double_eq_tol(out[0], tss, 1e-9 * tss);
    for (int k = 1; k < 8; k++) {
        ck_assert_msg(out[k] <= out[k - 1] * (1 + 1e-12), "k = %d: %g > %g", k + 1, out[k],
                      out[k - 1]);
    }
    ck_assert(out[4] < 0.5 * out[3]);
    ck_assert(out[7] > 0.5 * out[4]);
    /* errors */
    ck_assert_int_eq(cvm_kmeans_elbow(&o, x.X, x.n, 3, NULL, 0, 8, out, err, sizeof err),
                     CVM_E_INVALID);
    ck_assert_int_eq(cvm_kmeans_elbow(&o, x.X, x.n, 3, NULL, 3, 2, out, err, sizeof err),
                     CVM_E_INVALID);
    ck_assert_int_eq(cvm_kmeans_elbow(&o, x.X, 0, 3, NULL, 1, 2, out, err, sizeof err),
                     CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "k = 1: fit: no rows"));
    data_free(&x);
}
END_TEST

/* ---- snapshots ------------------------------------------------------------ */

START_TEST(test_save_load)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "km.snap"), *other = tu_join(dir, "rfm.snap");
    data x = blobs(200, 8);
    int32_t *l1 = malloc(x.n * sizeof *l1), *l2 = malloc(x.n * sizeof *l2);
    double c1[15], c2[15];
    char err[256];
    cvm_kmeans *km = make(5, CVM_SCALE_LOG1P_ZSCORE, 5), *back = NULL;
    cvm_kmeans_info i1, i2;
    cvm__snap_writer *w = NULL;
    cvm_allocator a;
    for (size_t i = 0; i < x.n * 3; i++) {
        x.X[i] = fabs(x.X[i]);
    }
    ck_assert_int_eq(cvm_kmeans_save(km, path), CVM_E_INVALID); /* not fitted */
    ck_assert_ptr_nonnull(strstr(cvm_kmeans_errmsg(km), "not fitted"));
    fit_ok(km, &x, NULL, l1);
    ck_assert_int_eq(cvm_kmeans_save(km, path), CVM_OK);
    ck_assert_int_eq(cvm_kmeans_load(&back, path, NULL, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm_kmeans_predict(back, x.X, x.n, 3, l2, err, sizeof err), CVM_OK);
    ck_assert_int_eq(memcmp(l1, l2, x.n * sizeof *l1), 0);
    ck_assert_int_eq(cvm_kmeans_centroids(km, c1, 15), CVM_OK);
    ck_assert_int_eq(cvm_kmeans_centroids(back, c2, 15), CVM_OK);
    ck_assert_int_eq(memcmp(c1, c2, sizeof c1), 0);
    i1 = info_of(km);
    i2 = info_of(back);
    ck_assert_int_eq(memcmp(&i1, &i2, sizeof i1), 0);
    /* a loaded model saves to the same bytes and can be refitted */
    ck_assert_int_eq(cvm_kmeans_save(back, other), CVM_OK);
    {
        size_t n1, n2;
        char *b1 = tu_read_file(path, &n1), *b2 = tu_read_file(other, &n2);
        ck_assert_uint_eq(n1, n2);
        ck_assert_int_eq(memcmp(b1, b2, n1), 0);
        free(b1);
        free(b2);
    }
    fit_ok(back, &x, NULL, l2);
    ck_assert_int_eq(memcmp(l1, l2, x.n * sizeof *l1), 0); /* same options, same seed */
    cvm_kmeans_free(back);
    back = NULL;
    /* another kind of snapshot */
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    ck_assert_int_eq(cvm__snap_create(&w, &a, other, CVM__SNAP_RFM, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_commit(w), CVM_OK);
    ck_assert_int_eq(cvm_kmeans_load(&back, other, NULL, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_null(back);
    ck_assert(err[0] != '\0');
    /* right kind, no k-means section; a corrupt file; a missing file */
    ck_assert_int_eq(cvm__snap_create(&w, &a, other, CVM__SNAP_KMEANS, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_commit(w), CVM_OK);
    ck_assert_int_eq(cvm_kmeans_load(&back, other, NULL, err, sizeof err), CVM_E_FORMAT);
    {
        size_t n1;
        char *b1 = tu_read_file(path, &n1);
        b1[n1 / 2] ^= 0x40;
        tu_write_file(other, b1, n1);
        free(b1);
    }
    ck_assert_int_ne(cvm_kmeans_load(&back, other, NULL, err, sizeof err), CVM_OK);
    ck_assert_ptr_null(back);
    ck_assert_int_eq(cvm_kmeans_load(&back, "/nonexistent/km.snap", NULL, err, sizeof err),
                     CVM_E_IO);
    ck_assert_int_eq(cvm_kmeans_load(&back, NULL, NULL, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_kmeans_save(km, NULL), CVM_E_INVALID);
    cvm_kmeans_free(km);
    free(l1);
    free(l2);
    data_free(&x);
    free(path);
    free(other);
    tu_remove_tree(dir);
}
END_TEST

/* ---- allocation failures ---------------------------------------------------- */

/* Every allocation of new, fit (with scaling, weights and restarts),
 * predict, silhouette, save, load and elbow fails in turn: each call returns
 * CVM_OK or CVM_E_NOMEM and nothing leaks. */
START_TEST(test_nomem)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "km.snap");
    data x = blobs(40, 4);
    double w[200], s, el[3];
    int32_t labels[200];
    size_t fail_at;
    int clean = 0;
    char err[256];
    for (size_t i = 0; i < x.n; i++) {
        w[i] = 1 + (double)(i % 4);
        x.X[i * 3] = fabs(x.X[i * 3]);
    }
    for (fail_at = 1; !clean && fail_at < 500; fail_at++) {
        tu_failing state = { 0, fail_at, 0, 0 };
        cvm_allocator a = tu_failing_allocator(&state);
        cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
        cvm_kmeans *km = NULL, *back = NULL;
        cvm_status st;
        o.allocator = &a;
        o.k = 5;
        o.n_init = 2;
        o.scaling = CVM_SCALE_ZSCORE;
        st = cvm_kmeans_new(&km, &o);
        ck_assert(st == CVM_OK || st == CVM_E_NOMEM);
        if (st == CVM_OK) {
            st = cvm_kmeans_fit(km, x.X, x.n, 3, w, labels);
            ck_assert_msg(st == CVM_OK || st == CVM_E_NOMEM, "fit: %s", cvm_kmeans_errmsg(km));
            ck_assert_int_eq(info_of(km).k, st == CVM_OK ? 5 : 0);
        }
        if (st == CVM_OK) {
            st = cvm_kmeans_predict(km, x.X, x.n, 3, labels, err, sizeof err);
            ck_assert(st == CVM_OK || st == CVM_E_NOMEM);
        }
        if (st == CVM_OK) {
            st = cvm_kmeans_silhouette(km, x.X, x.n, 3, labels, 50, 1, &s, err, sizeof err);
            ck_assert(st == CVM_OK || st == CVM_E_NOMEM);
        }
        if (st == CVM_OK) {
            st = cvm_kmeans_save(km, path);
            ck_assert_msg(st == CVM_OK || st == CVM_E_NOMEM, "save: %s", cvm_kmeans_errmsg(km));
        }
        if (st == CVM_OK) {
            st = cvm_kmeans_load(&back, path, &o, err, sizeof err);
            ck_assert_msg(st == CVM_OK || st == CVM_E_NOMEM, "load: %s", err);
            ck_assert(st == CVM_OK || back == NULL);
        }
        if (st == CVM_OK) {
            st = cvm_kmeans_elbow(&o, x.X, x.n, 3, w, 2, 4, el, err, sizeof err);
            ck_assert_msg(st == CVM_OK || st == CVM_E_NOMEM, "elbow: %s", err);
        }
        cvm_kmeans_free(back);
        cvm_kmeans_free(km);
        ck_assert_int_eq(state.live, 0);
        clean = state.calls < fail_at;
    }
    ck_assert(clean);
    data_free(&x);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

static Suite *kmeans_suite(void)
{
    Suite *s = suite_create("kmeans");
    TCase *tc = tcase_create("kmeans");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_options_init);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_blobs_ari);
    tcase_add_test(tc, test_inertia_monotone);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_restarts);
    tcase_add_test(tc, test_hamerly_vs_naive);
    tcase_add_test(tc, test_scaling_means);
    tcase_add_test(tc, test_weights_duplicate);
    tcase_add_test(tc, test_empty_cluster);
    tcase_add_test(tc, test_too_few_distinct);
    tcase_add_test(tc, test_relocation_skips_lone_rows);
    tcase_add_test(tc, test_predict_far_outside);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_predict_and_getters);
    tcase_add_test(tc, test_silhouette_naive);
    tcase_add_test(tc, test_silhouette_blobs);
    tcase_add_test(tc, test_elbow);
    tcase_add_test(tc, test_save_load);
    tcase_add_test(tc, test_nomem);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(kmeans_suite());
}
