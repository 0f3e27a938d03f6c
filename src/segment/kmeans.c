/* cvm_kmeans: the handle — options, lifecycle, what the fit found, real-time
 * assignment and snapshots. Fitting is in kmeans_fit.c; silhouette and elbow
 * in kmeans_extra.c. */
#include "segment/segment_int.h"

#include <math.h>
#include <string.h>

#define TAG_KMEANS 0x534E4D4Bu /* "KMNS" */
#define FORMAT_VERSION 1u
#define HEAD_LEN 56u

cvm_status cvm_kmeans_options_init(cvm_kmeans_options *opts, size_t size)
{
    const cvm_kmeans_options def = CVM_KMEANS_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

/* Options every function can work with (k is checked by the fit, which can
 * say what is wrong). */
static int options_ok(const cvm_kmeans_options *o)
{
    return isfinite(o->tolerance) && o->tolerance >= 0 && o->n_init >= 1 &&
           o->max_iterations >= 1 && o->scaling >= CVM_SCALE_NONE &&
           o->scaling <= CVM_SCALE_LOG1P_ZSCORE;
}

/* A handle with options `o` (already copied and checked) and allocator `a`. */
static cvm_status create(cvm_kmeans **out, const cvm_kmeans_options *o, const cvm_allocator *a)
{
    cvm_kmeans *km = cvm__calloc(a, 1, sizeof *km);
    if (km == NULL) {
        return CVM_E_NOMEM;
    }
    km->alloc = *a;
    km->opts = *o;
    km->opts.allocator = NULL;
    *out = km;
    return CVM_OK;
}

cvm_status cvm_kmeans_new(cvm_kmeans **out, const cvm_kmeans_options *opts)
{
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    cvm_allocator a;
    cvm_status st;
    if (out == NULL) {
        return CVM_E_INVALID;
    }
    *out = NULL;
    st = cvm__options_copy(&o, sizeof o, opts, sizeof o);
    if (st != CVM_OK) {
        return st;
    }
    if (!options_ok(&o) || cvm__allocator_copy(&a, o.allocator) != CVM_OK) {
        return CVM_E_INVALID;
    }
    return create(out, &o, &a);
}

void cvm_kmeans_free(cvm_kmeans *km)
{
    if (km != NULL) {
        cvm_allocator a = km->alloc;
        cvm__free(&a, km->shift);
        cvm__free(&a, km);
    }
}

const char *cvm_kmeans_errmsg(const cvm_kmeans *km)
{
    return km ? km->errmsg : "";
}

cvm_status cvm_kmeans_info_get(const cvm_kmeans *km, cvm_kmeans_info *info)
{
    cvm_kmeans_info out;
    size_t size;
    if (km == NULL || info == NULL) {
        return CVM_E_INVALID;
    }
    size = info->size;
    if (size < sizeof(cvm_kmeans_info) || size > 4096) {
        return CVM_E_ABI;
    }
    memset(&out, 0, sizeof out);
    out.size = size;
    if (km->fitted) {
        out.inertia = km->inertia;
        out.k = (int32_t)km->k;
        out.d = (int32_t)km->d;
        out.iterations = km->iterations;
        out.converged = km->converged;
    }
    memset(info, 0, size);
    memcpy(info, &out, sizeof out);
    return CVM_OK;
}

cvm_status cvm_kmeans_centroids(const cvm_kmeans *km, double *out, size_t n)
{
    size_t i, j;
    if (km == NULL || out == NULL || !km->fitted || n != km->k * km->d) {
        return CVM_E_INVALID;
    }
    for (i = 0; i < km->k; i++) {
        for (j = 0; j < km->d; j++) {
            double v = km->centers[i * km->d + j] * km->scale[j] + km->shift[j];
            /* log1p + z-score: the centre in log space mapped back, i.e. a
             * geometric-type mean of 1 + v, not the arithmetic mean of v. */
            out[i * km->d + j] = km->opts.scaling == CVM_SCALE_LOG1P_ZSCORE ? expm1(v) : v;
        }
    }
    return CVM_OK;
}

int cvm__kmeans_scale_row(const cvm_kmeans *km, const double *x, double *out)
{
    size_t j;
    int ok = 1;
    for (j = 0; j < km->d; j++) {
        double v = km->opts.scaling == CVM_SCALE_LOG1P_ZSCORE ? log1p(x[j]) : x[j];
        out[j] = (v - km->shift[j]) / km->scale[j];
        ok &= fabs(out[j]) <= CVM__KMEANS_MAX_ABS;
    }
    return ok;
}

cvm_status cvm__kmeans_check_row(int32_t scaling, const double *x, size_t d, size_t row,
                                 const char *what, char *err, size_t errlen)
{
    size_t j;
    for (j = 0; j < d; j++) {
        double v = x[j];
        const char *why = NULL;
        if (isnan(v)) {
            why = "NaN";
        } else if (isinf(v)) {
            why = "infinite";
        } else if (scaling == CVM_SCALE_LOG1P_ZSCORE && v < 0) {
            why = "negative, and log1p scaling needs values >= 0";
        } else if (fabs(scaling == CVM_SCALE_LOG1P_ZSCORE ? log1p(v) : v) > CVM__KMEANS_MAX_ABS) {
            why = "too large in magnitude (squares would overflow)";
        }
        if (why != NULL) {
            return cvm__errf(err, errlen, CVM_E_INVALID, "%s: row %zu, feature %zu of %zu: %g is %s",
                             what, row + 1, j + 1, d, v, why);
        }
    }
    return CVM_OK;
}

size_t cvm__kmeans_nearest(const double *x, const double *centers, size_t k, size_t d)
{
    size_t best = 0, c, j;
    double bestd = INFINITY;
    for (c = 0; c < k; c++) {
        const double *m = centers + c * d;
        double s = 0;
        for (j = 0; j < d; j++) {
            double t = x[j] - m[j];
            s += t * t;
        }
        if (s < bestd) {
            bestd = s;
            best = c;
        }
    }
    return best;
}

static void clear(char *errbuf, size_t errlen)
{
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
}

cvm_status cvm_kmeans_predict(const cvm_kmeans *km, const double *X, size_t n, size_t d,
                              int32_t *labels, char *errbuf, size_t errlen)
{
    double *row;
    size_t i;
    cvm_status st = CVM_OK;
    clear(errbuf, errlen);
    if (km == NULL || X == NULL || labels == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "predict: a NULL argument");
    }
    if (!km->fitted) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "predict: the model is not fitted");
    }
    if (d != km->d) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "predict: rows have %zu features, the model was fitted on %zu", d, km->d);
    }
    if (n == 0) {
        return CVM_OK;
    }
    row = cvm__alloc(&km->alloc, d * sizeof *row);
    if (row == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_NOMEM, "predict: out of memory");
    }
    for (i = 0; i < n && st == CVM_OK; i++) {
        st = cvm__kmeans_check_row(km->opts.scaling, X + i * d, d, i, "predict", errbuf, errlen);
        if (st == CVM_OK && !cvm__kmeans_scale_row(km, X + i * d, row)) {
            st = cvm__errf(errbuf, errlen, CVM_E_RANGE,
                           "predict: row %zu is too far outside the fitted range", i + 1);
        }
        if (st == CVM_OK) {
            labels[i] = (int32_t)cvm__kmeans_nearest(row, km->centers, km->k, d);
        }
    }
    cvm__free(&km->alloc, row);
    return st;
}

/* ---- snapshots ---------------------------------------------------------
 * One section "KMNS": u32 format version, scaling, k, d, n_init,
 * max_iterations, iterations, converged; u64 seed; f64 tolerance, inertia;
 * then f64 shift[d], scale[d], centres[k * d] (scaled units). */

cvm_status cvm_kmeans_save(cvm_kmeans *km, const char *path)
{
    cvm__snap_writer *w = NULL;
    unsigned char *b;
    size_t len, i, nv;
    cvm_status st;
    if (km == NULL) {
        return CVM_E_INVALID;
    }
    km->errmsg[0] = '\0';
    if (path == NULL) {
        return cvm__errf(km->errmsg, sizeof km->errmsg, CVM_E_INVALID, "save: path is NULL");
    }
    if (!km->fitted) {
        return cvm__errf(km->errmsg, sizeof km->errmsg, CVM_E_INVALID,
                         "save: the k-means model is not fitted");
    }
    nv = (2 + km->k) * km->d;
    len = HEAD_LEN + 8 * nv;
    b = cvm__alloc(&km->alloc, len);
    if (b == NULL) {
        return cvm__errf(km->errmsg, sizeof km->errmsg, CVM_E_NOMEM, "save: out of memory");
    }
    cvm__put_u32(b, FORMAT_VERSION);
    cvm__put_u32(b + 4, (uint32_t)km->opts.scaling);
    cvm__put_u32(b + 8, (uint32_t)km->k);
    cvm__put_u32(b + 12, (uint32_t)km->d);
    cvm__put_u32(b + 16, (uint32_t)km->opts.n_init);
    cvm__put_u32(b + 20, (uint32_t)km->opts.max_iterations);
    cvm__put_u32(b + 24, (uint32_t)km->iterations);
    cvm__put_u32(b + 28, (uint32_t)km->converged);
    cvm__put_u64(b + 32, km->opts.seed);
    cvm__put_f64(b + 40, km->opts.tolerance);
    cvm__put_f64(b + 48, km->inertia);
    for (i = 0; i < nv; i++) {
        cvm__put_f64(b + HEAD_LEN + 8 * i, km->shift[i]); /* shift, scale, centres are one block */
    }
    st = cvm__snap_create(&w, &km->alloc, path, CVM__SNAP_KMEANS, km->errmsg, sizeof km->errmsg);
    if (st == CVM_OK) {
        st = cvm__snap_begin(w, TAG_KMEANS, len);
    }
    if (st == CVM_OK) {
        st = cvm__snap_write(w, b, len);
    }
    if (st == CVM_OK) {
        st = cvm__snap_end(w);
    }
    if (st == CVM_OK) {
        st = cvm__snap_commit(w);
        w = NULL;
    }
    cvm__snap_abort(w);
    cvm__free(&km->alloc, b);
    if (st != CVM_OK && km->errmsg[0] == '\0') {
        cvm__errf(km->errmsg, sizeof km->errmsg, st, "%s: %s", path, cvm_strerror(st));
    }
    return st;
}

/* Decode a section into a fresh handle made with allocator `a`. */
static cvm_status decode(cvm_kmeans **out, const cvm_allocator *a, const unsigned char *b,
                         uint64_t len)
{
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    uint32_t k, d, iterations, converged;
    uint64_t nv;
    double inertia;
    size_t i;
    double *block;
    cvm_kmeans *km;
    if (len < HEAD_LEN || (len - HEAD_LEN) % 8 != 0 || cvm__get_u32(b) != FORMAT_VERSION) {
        return CVM_E_FORMAT;
    }
    o.scaling = (int32_t)cvm__get_u32(b + 4);
    k = cvm__get_u32(b + 8);
    d = cvm__get_u32(b + 12);
    o.n_init = (int32_t)cvm__get_u32(b + 16);
    o.max_iterations = (int32_t)cvm__get_u32(b + 20);
    iterations = cvm__get_u32(b + 24);
    converged = cvm__get_u32(b + 28);
    o.seed = cvm__get_u64(b + 32);
    o.tolerance = cvm__get_f64(b + 40);
    inertia = cvm__get_f64(b + 48);
    nv = (len - HEAD_LEN) / 8;
    if (k < 1 || k > INT32_MAX || d < 1 || d > INT32_MAX || nv % d != 0 || nv / d != 2u + k ||
        cvm__get_u32(b + 4) > 2 || cvm__get_u32(b + 16) > INT32_MAX ||
        cvm__get_u32(b + 20) > INT32_MAX || !options_ok(&o) || iterations > INT32_MAX ||
        converged > 1 || !isfinite(inertia) || inertia < 0 || nv > SIZE_MAX / 8) {
        return CVM_E_FORMAT;
    }
    o.k = (int32_t)k;
    for (i = 0; i < (size_t)nv; i++) {
        double v = cvm__get_f64(b + HEAD_LEN + 8 * i);
        if (!isfinite(v) || (i >= d && i < 2 * (size_t)d && !(v > 0))) {
            return CVM_E_FORMAT;
        }
    }
    block = cvm__alloc(a, (size_t)nv * sizeof *block);
    if (block == NULL) {
        return CVM_E_NOMEM;
    }
    if (create(&km, &o, a) != CVM_OK) {
        cvm__free(a, block);
        return CVM_E_NOMEM;
    }
    for (i = 0; i < (size_t)nv; i++) {
        block[i] = cvm__get_f64(b + HEAD_LEN + 8 * i);
    }
    km->k = k;
    km->d = d;
    km->shift = block;
    km->scale = block + d;
    km->centers = block + 2 * (size_t)d;
    km->inertia = inertia;
    km->iterations = (int32_t)iterations;
    km->converged = (int32_t)converged;
    km->fitted = 1;
    *out = km;
    return CVM_OK;
}

cvm_status cvm_kmeans_load(cvm_kmeans **out, const char *path, const cvm_kmeans_options *opts,
                           char *errbuf, size_t errlen)
{
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    cvm__snap_reader *r = NULL;
    const unsigned char *data;
    uint64_t len;
    cvm_allocator a;
    cvm_status st;
    clear(errbuf, errlen);
    if (out == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "load: out is NULL");
    }
    *out = NULL;
    if (path == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "load: path is NULL");
    }
    st = cvm__options_copy(&o, sizeof o, opts, sizeof o);
    if (st != CVM_OK) {
        return cvm__errf(errbuf, errlen, st, "load: bad k-means options");
    }
    if (cvm__allocator_copy(&a, o.allocator) != CVM_OK) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "load: bad allocator");
    }
    st = cvm__snap_open(&r, &a, path, CVM__SNAP_KMEANS, errbuf, errlen);
    if (st == CVM_OK) {
        st = cvm__snap_find(r, TAG_KMEANS, &data, &len, errbuf, errlen);
    }
    if (st == CVM_OK) {
        st = decode(out, &a, data, len);
        if (st == CVM_E_FORMAT) {
            cvm__errf(errbuf, errlen, st, "%s: k-means section is inconsistent", path);
        } else if (st != CVM_OK) {
            cvm__errf(errbuf, errlen, st, "%s: %s", path, cvm_strerror(st));
        }
    }
    cvm__snap_close(r);
    if (st != CVM_OK && errbuf != NULL && errlen > 0 && errbuf[0] == '\0') {
        cvm__errf(errbuf, errlen, st, "%s: %s", path, cvm_strerror(st));
    }
    return st;
}
