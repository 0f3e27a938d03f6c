/* k-means diagnostics: the silhouette of a seeded sample and the elbow curve. */
#include "segment/segment_int.h"

#include <math.h>
#include <string.h>

static double dist(const double *x, const double *y, size_t d)
{
    double s = 0;
    size_t j;
    for (j = 0; j < d; j++) {
        double t = x[j] - y[j];
        s += t * t;
    }
    return sqrt(s);
}

static void clear(char *errbuf, size_t errlen)
{
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
}

/* Silhouette of each sampled row i against all n rows (Rousseeuw 1987):
 * a = mean distance to the other rows of its cluster, b = the smallest mean
 * distance to the rows of another cluster, s = (b - a) / max(a, b); s = 0
 * for a row alone in its cluster (as scikit-learn). O(sample * n * d). */
cvm_status cvm_kmeans_silhouette(const cvm_kmeans *km, const double *X, size_t n, size_t d,
                                 const int32_t *labels, size_t sample, uint64_t seed,
                                 double *out, char *errbuf, size_t errlen)
{
    double *Xs = NULL, *sumd = NULL, total = 0;
    size_t *cnt = NULL, *idx = NULL, i, m, s, c, k, nonempty = 0;
    cvm_status st = CVM_OK;
    clear(errbuf, errlen);
    if (km == NULL || X == NULL || labels == NULL || out == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "silhouette: a NULL argument");
    }
    if (!km->fitted) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "silhouette: the model is not fitted");
    }
    if (d != km->d) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "silhouette: rows have %zu features, the model was fitted on %zu", d,
                         km->d);
    }
    if (n < 2 || sample == 0) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "silhouette: needs n >= 2 rows and sample >= 1 (n = %zu, sample = %zu)",
                         n, sample);
    }
    if (n > SIZE_MAX / sizeof(double) / d) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "silhouette: too many rows");
    }
    k = km->k;
    for (i = 0; i < n; i++) {
        if (labels[i] < 0 || (size_t)labels[i] >= k) {
            return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                             "silhouette: row %zu: label %d is not in 0..%zu", i + 1,
                             (int)labels[i], k - 1);
        }
        st = cvm__kmeans_check_row(km->opts.scaling, X + i * d, d, i, "silhouette", errbuf,
                                   errlen);
        if (st != CVM_OK) {
            return st;
        }
    }
    m = sample < n ? sample : n;
    Xs = cvm__calloc(&km->alloc, n, d * sizeof *Xs);
    sumd = cvm__calloc(&km->alloc, k, sizeof *sumd);
    cnt = cvm__calloc(&km->alloc, k, sizeof *cnt);
    if (m < n) {
        idx = cvm__calloc(&km->alloc, n, sizeof *idx);
    }
    if (Xs == NULL || sumd == NULL || cnt == NULL || (m < n && idx == NULL)) {
        st = cvm__errf(errbuf, errlen, CVM_E_NOMEM, "silhouette: out of memory");
        goto done;
    }
    for (i = 0; i < n; i++) {
        if (!cvm__kmeans_scale_row(km, X + i * d, Xs + i * d)) {
            st = cvm__errf(errbuf, errlen, CVM_E_RANGE,
                           "silhouette: row %zu is too far outside the fitted range", i + 1);
            goto done;
        }
        if (cnt[labels[i]]++ == 0) {
            nonempty++;
        }
    }
    if (nonempty < 2) {
        st = cvm__errf(errbuf, errlen, CVM_E_INVALID,
                       "silhouette: the labels name a single cluster; it needs at least 2");
        goto done;
    }
    if (idx != NULL) {
        cvm__rng rng;
        cvm__rng_seed(&rng, seed);
        for (i = 0; i < n; i++) {
            idx[i] = i;
        }
        for (s = 0; s < m; s++) { /* a partial Fisher-Yates shuffle */
            size_t j = s + (size_t)cvm__rng_below(&rng, n - s), t = idx[s];
            idx[s] = idx[j];
            idx[j] = t;
        }
    }
    for (s = 0; s < m; s++) {
        size_t row = idx ? idx[s] : s, own = (size_t)labels[row];
        const double *x = Xs + row * d;
        double a, b = INFINITY, mx;
        memset(sumd, 0, k * sizeof *sumd);
        for (i = 0; i < n; i++) {
            sumd[labels[i]] += dist(x, Xs + i * d, d);
        }
        if (cnt[own] <= 1) {
            continue; /* s = 0 */
        }
        a = sumd[own] / (double)(cnt[own] - 1);
        for (c = 0; c < k; c++) {
            if (c != own && cnt[c] > 0 && sumd[c] / (double)cnt[c] < b) {
                b = sumd[c] / (double)cnt[c];
            }
        }
        mx = a > b ? a : b;
        if (mx > 0) {
            total += (b - a) / mx;
        }
    }
    *out = total / (double)m;
done:
    cvm__free(&km->alloc, Xs);
    cvm__free(&km->alloc, sumd);
    cvm__free(&km->alloc, cnt);
    cvm__free(&km->alloc, idx);
    return st;
}

cvm_status cvm_kmeans_elbow(const cvm_kmeans_options *opts, const double *X, size_t n, size_t d,
                            const double *weights, int32_t k_min, int32_t k_max, double *out,
                            char *errbuf, size_t errlen)
{
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    cvm_status st;
    int32_t k;
    clear(errbuf, errlen);
    if (out == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "elbow: out is NULL");
    }
    if (k_min < 1 || k_max < k_min) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "elbow: k_min = %d, k_max = %d; need 1 <= k_min <= k_max", (int)k_min,
                         (int)k_max);
    }
    st = cvm__options_copy(&o, sizeof o, opts, sizeof o);
    if (st != CVM_OK) {
        return cvm__errf(errbuf, errlen, st, "elbow: k-means options of an unknown size");
    }
    for (k = k_min; k <= k_max; k++) {
        cvm_kmeans *km = NULL;
        cvm_kmeans_info info;
        o.k = k;
        st = cvm_kmeans_new(&km, &o);
        if (st != CVM_OK) {
            return cvm__errf(errbuf, errlen, st, "elbow: %s",
                             st == CVM_E_NOMEM ? "out of memory" : "bad k-means options");
        }
        st = cvm_kmeans_fit(km, X, n, d, weights, NULL);
        if (st != CVM_OK) {
            cvm__errf(errbuf, errlen, st, "elbow: k = %d: %s", (int)k, cvm_kmeans_errmsg(km));
            cvm_kmeans_free(km);
            return st;
        }
        info.size = sizeof info;
        cvm_kmeans_info_get(km, &info);
        out[k - k_min] = info.inertia;
        cvm_kmeans_free(km);
        if (k == INT32_MAX) {
            break;
        }
    }
    return CVM_OK;
}
