/* What every fitted model shares: fit options, parameter access, running
 * the maximum-likelihood fit and keeping its outcome, and the snapshot
 * layout of a fit. Transaction, spend and retention models differ only in
 * their likelihoods. */
#include "clv/clv_int.h"

#include <math.h>
#include <string.h>

#define TAG_MODEL 0x4C444F4Du /* "MODL" */
#define NAME_LEN 16
/* name, np, flags, iterations, 0, loglik, weight, rows, patterns */
#define HEAD_LEN (NAME_LEN + 4 * 4 + 4 * 8)

cvm_status cvm_fit_options_init(cvm_fit_options *opts, size_t size)
{
    const cvm_fit_options def = CVM_FIT_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

cvm_status cvm__fit_options(cvm_fit_options *dst, const cvm_fit_options *src, size_t np,
                            char *err, size_t errlen)
{
    const cvm_fit_options def = CVM_FIT_OPTIONS_INIT;
    size_t j;
    *dst = def;
    if (cvm__options_copy(dst, sizeof *dst, src, sizeof *dst) != CVM_OK) {
        return cvm__errf(err, errlen, CVM_E_ABI, "fit options: unknown size or nonzero unknown fields");
    }
    if (!isfinite(dst->penalizer) || dst->penalizer < 0) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "fit options: penalizer %g is not >= 0",
                         dst->penalizer);
    }
    if (!isfinite(dst->tolerance) || dst->tolerance <= 0) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "fit options: tolerance %g is not > 0",
                         dst->tolerance);
    }
    if (dst->max_iterations < 1 || dst->starts < 1) {
        return cvm__errf(err, errlen, CVM_E_INVALID,
                         "fit options: max_iterations %d and starts %d must be >= 1",
                         (int)dst->max_iterations, (int)dst->starts);
    }
    for (j = 0; dst->initial != NULL && j < np; j++) {
        if (!isfinite(dst->initial[j]) || dst->initial[j] <= 0) {
            return cvm__errf(err, errlen, CVM_E_INVALID,
                             "fit options: initial value %zu (%g) is not finite and > 0", j + 1,
                             dst->initial[j]);
        }
    }
    return CVM_OK;
}

cvm_status cvm__fit_info(const cvm__fitstate *f, cvm_fit_info *info)
{
    cvm_fit_info out;
    size_t size;
    if (info == NULL) {
        return CVM_E_INVALID;
    }
    size = info->size;
    if (size < sizeof(cvm_fit_info) || size > 4096) {
        return CVM_E_ABI;
    }
    memset(&out, 0, sizeof out);
    out.size = size;
    out.fitted = f->fitted;
    out.converged = f->converged;
    out.iterations = f->iterations;
    out.has_stderr = f->fitted && f->has_stderr;
    out.loglik = f->fitted ? f->loglik : 0;
    out.weight = f->weight;
    out.rows = f->rows;
    out.patterns = f->patterns;
    memset(info, 0, size);
    memcpy(info, &out, sizeof out);
    return CVM_OK;
}

cvm_status cvm__fit_params(const cvm__fitstate *f, size_t np, double *params, double *stderrs,
                           size_t n)
{
    size_t j;
    /* After a failed fit the previous parameters stay readable (for
     * inspection) although the model is unfitted; never-set ones are 0. */
    if (params == NULL || n != np || !(f->params[0] > 0)) {
        return CVM_E_INVALID;
    }
    for (j = 0; j < np; j++) {
        params[j] = f->params[j];
        if (stderrs != NULL) {
            stderrs[j] = f->fitted && f->has_stderr ? f->stderrs[j] : 0;
        }
    }
    return CVM_OK;
}

cvm_status cvm__fit_set(cvm__fitstate *f, size_t np, const double *params, size_t n, char *err,
                        size_t errlen)
{
    size_t j;
    if (params == NULL || n != np) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "set_params: expected %zu parameters, got %zu",
                         np, n);
    }
    for (j = 0; j < np; j++) {
        if (!isfinite(params[j]) || params[j] <= 0) {
            return cvm__errf(err, errlen, CVM_E_RANGE,
                             "set_params: parameter %zu (%g) is not finite and > 0", j + 1,
                             params[j]);
        }
    }
    memset(f, 0, sizeof *f);
    memcpy(f->params, params, np * sizeof *params);
    f->fitted = 1;
    return CVM_OK;
}

/* Whether a parameter sits on the box the optimiser searches. The search
 * can stop a little inside the edge where the likelihood is flat, so within
 * 1% of it counts: no estimate that close to 1e+-10 means anything. */
static int at_bound(const double *p, size_t np, size_t *j)
{
    for (*j = 0; *j < np; (*j)++) {
        if (fabs(log(p[*j])) >= CVM__LOG_BOUND - 0.01) {
            return 1;
        }
    }
    return 0;
}

cvm_status cvm__fit_run(cvm__fitstate *f, const cvm__mle_problem *prob, const char *what,
                        char *err, size_t errlen)
{
    cvm__mle_result r;
    size_t j;
    cvm_status st;
    memset(&r, 0, sizeof r);
    st = cvm__mle_fit(prob, &r);
    f->iterations = r.iterations;
    if (st != CVM_OK) {
        /* The previous parameters stay for inspection, but are not usable. */
        f->fitted = 0;
        f->converged = 0;
        f->has_stderr = 0;
        return cvm__errf(err, errlen, st, "%s fit did not converge: %s", what,
                         r.detail[0] ? r.detail : cvm_strerror(st));
    }
    if (at_bound(r.params, prob->np, &j)) {
        /* the likelihood keeps rising toward 0 or infinity: the data do not
         * identify this parameter, and the box edge is not an estimate */
        f->fitted = 0;
        f->converged = 0;
        f->has_stderr = 0;
        return cvm__errf(err, errlen, CVM_E_NOT_CONVERGED,
                         "%s fit did not converge: parameter %zu ran to the optimiser's bound "
                         "(%g); the data do not identify it",
                         what, j + 1, r.params[j]);
    }
    memcpy(f->params, r.params, prob->np * sizeof *r.params);
    memcpy(f->stderrs, r.stderrs, prob->np * sizeof *r.stderrs);
    f->loglik = r.loglik;
    f->fitted = 1;
    f->converged = 1;
    f->has_stderr = r.has_stderr;
    return CVM_OK;
}

static size_t encode(unsigned char *b, const cvm__fitstate *f, const char *name, size_t np)
{
    size_t j, k = HEAD_LEN;
    memset(b, 0, HEAD_LEN);
    memcpy(b, name, strlen(name) < NAME_LEN ? strlen(name) : NAME_LEN - 1);
    cvm__put_u32(b + NAME_LEN, (uint32_t)np);
    cvm__put_u32(b + NAME_LEN + 4, (uint32_t)((f->fitted ? 1u : 0u) | (f->converged ? 2u : 0u) |
                                              (f->has_stderr ? 4u : 0u)));
    cvm__put_u32(b + NAME_LEN + 8, (uint32_t)f->iterations);
    cvm__put_f64(b + NAME_LEN + 16, f->loglik);
    cvm__put_f64(b + NAME_LEN + 24, f->weight);
    cvm__put_u64(b + NAME_LEN + 32, f->rows);
    cvm__put_u64(b + NAME_LEN + 40, f->patterns);
    for (j = 0; j < np; j++, k += 16) {
        cvm__put_f64(b + k, f->params[j]);
        cvm__put_f64(b + k + 8, f->stderrs[j]);
    }
    return k;
}

cvm_status cvm__fit_save(const cvm__fitstate *f, const cvm_allocator *a, uint32_t kind,
                         const char *name, size_t np, const char *path, char *err,
                         size_t errlen)
{
    unsigned char b[HEAD_LEN + 16 * CVM__MLE_MAXP];
    cvm__snap_writer *w = NULL;
    size_t len;
    cvm_status st;
    if (path == NULL) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "save: path is NULL");
    }
    if (!f->fitted) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "save: the %s model is not fitted", name);
    }
    len = encode(b, f, name, np);
    st = cvm__snap_create(&w, a, path, kind, err, errlen);
    if (st == CVM_OK) {
        st = cvm__snap_begin(w, TAG_MODEL, len);
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
    if (st != CVM_OK && (err == NULL || err[0] == '\0')) {
        cvm__errf(err, errlen, st, "%s: %s", path, cvm_strerror(st));
    }
    return st;
}

/* Whether a decoded fit state is one we could have written. */
static int plausible(const cvm__fitstate *f, size_t np)
{
    size_t j;
    for (j = 0; j < np; j++) {
        if (!isfinite(f->params[j]) || f->params[j] <= 0 || !isfinite(f->stderrs[j]) ||
            f->stderrs[j] < 0) {
            return 0;
        }
    }
    return isfinite(f->loglik) && isfinite(f->weight) && f->weight >= 0 && f->fitted &&
           f->iterations >= 0;
}

static cvm_status decode(cvm__fitstate *f, const unsigned char *b, uint64_t len, char *name,
                         size_t namelen, size_t np)
{
    uint32_t flags;
    size_t j, k = HEAD_LEN;
    if (len != HEAD_LEN + 16 * (uint64_t)np || cvm__get_u32(b + NAME_LEN) != np ||
        b[NAME_LEN - 1] != '\0' || namelen < NAME_LEN) {
        return CVM_E_FORMAT;
    }
    memcpy(name, b, NAME_LEN);
    flags = cvm__get_u32(b + NAME_LEN + 4);
    memset(f, 0, sizeof *f);
    f->fitted = (flags & 1u) != 0;
    f->converged = (flags & 2u) != 0;
    f->has_stderr = (flags & 4u) != 0;
    f->iterations = (int)(cvm__get_u32(b + NAME_LEN + 8) & 0x7FFFFFFFu);
    f->loglik = cvm__get_f64(b + NAME_LEN + 16);
    f->weight = cvm__get_f64(b + NAME_LEN + 24);
    f->rows = cvm__get_u64(b + NAME_LEN + 32);
    f->patterns = cvm__get_u64(b + NAME_LEN + 40);
    for (j = 0; j < np; j++, k += 16) {
        f->params[j] = cvm__get_f64(b + k);
        f->stderrs[j] = cvm__get_f64(b + k + 8);
    }
    return (flags & ~7u) == 0 && plausible(f, np) ? CVM_OK : CVM_E_FORMAT;
}

cvm_status cvm__fit_load(cvm__fitstate *f, const cvm_allocator *a, uint32_t kind, char *name,
                         size_t namelen, size_t np, const char *path, char *err, size_t errlen)
{
    cvm__snap_reader *r = NULL;
    const unsigned char *data;
    uint64_t len;
    cvm_status st;
    if (path == NULL) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "load: path is NULL");
    }
    st = cvm__snap_open(&r, a, path, kind, err, errlen);
    if (st == CVM_OK) {
        st = cvm__snap_find(r, TAG_MODEL, &data, &len, err, errlen);
    }
    if (st == CVM_OK && decode(f, data, len, name, namelen, np) != CVM_OK) {
        st = cvm__errf(err, errlen, CVM_E_FORMAT, "%s: model section is inconsistent", path);
    }
    cvm__snap_close(r);
    return st;
}

/* The allocator named by model options. */
static cvm_status model_allocator(cvm_allocator *a, const cvm_model_options *opts)
{
    cvm_model_options o = CVM_MODEL_OPTIONS_INIT;
    cvm_status st = cvm__options_copy(&o, sizeof o, opts, sizeof o);
    if (st != CVM_OK) {
        return st;
    }
    return cvm__allocator_copy(a, o.allocator) == CVM_OK ? CVM_OK : CVM_E_INVALID;
}

cvm_status cvm__model_new(void **out, size_t size, const cvm_model_options *opts)
{
    cvm_allocator a;
    void *h;
    cvm_status st = model_allocator(&a, opts);
    *out = NULL;
    if (st != CVM_OK) {
        return st;
    }
    h = cvm__calloc(&a, 1, size);
    if (h == NULL) {
        return CVM_E_NOMEM;
    }
    memcpy(h, &a, sizeof a);
    *out = h;
    return CVM_OK;
}

void cvm__model_free(void *h)
{
    if (h != NULL) {
        cvm_allocator a;
        memcpy(&a, h, sizeof a);
        cvm__free(&a, h);
    }
}

static cvm_status load_fit(cvm__fitstate *f, const cvm_allocator *a, uint32_t kind,
                          const char *name, size_t np, const char *path, char *errbuf,
                          size_t errlen)
{
    char found[NAME_LEN], shown[64];
    cvm_status st = cvm__fit_load(f, a, kind, found, sizeof found, np, path, errbuf, errlen);
    if (st == CVM_OK && strcmp(found, name) != 0) {
        cvm__quote(shown, sizeof shown, found, strlen(found));
        st = cvm__errf(errbuf, errlen, CVM_E_FORMAT, "%s: a \"%s\" model, not %s", path, shown,
                       name);
    }
    return st;
}

cvm_status cvm__model_load(void **out, size_t size, size_t fit_offset,
                           const cvm_model_options *opts, uint32_t kind, const char *name,
                           size_t np, const char *path, char *errbuf, size_t errlen)
{
    cvm__fitstate f;
    cvm_allocator a;
    cvm_status st;
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    *out = NULL;
    st = model_allocator(&a, opts);
    if (st != CVM_OK) {
        return cvm__errf(errbuf, errlen, st, "load: bad model options");
    }
    st = load_fit(&f, &a, kind, name, np, path, errbuf, errlen);
    if (st == CVM_OK) {
        st = cvm__model_new(out, size, opts);
    }
    if (st == CVM_OK) {
        memcpy((char *)*out + fit_offset, &f, sizeof f);
    } else if (errbuf != NULL && errlen > 0 && errbuf[0] == '\0') {
        cvm__errf(errbuf, errlen, st, "%s: %s", path ? path : "(null)", cvm_strerror(st));
    }
    return st;
}
