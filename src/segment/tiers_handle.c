/* cvm_tiers: value-tier cut points as a segmenter handle — fitted once,
 * assigned in real time, saved and loaded. The arithmetic is tiers.c's. */
#include "segment/segment_int.h"

#include <math.h>
#include <string.h>

#define MAX_SHARES 63
#define TAG_TIERS 0x53524954u /* "TIRS" */

struct cvm_tiers {
    cvm_allocator alloc;
    double shares[MAX_SHARES];
    double cuts[MAX_SHARES];
    size_t nshares;
    int fitted;
    char errmsg[CVM__ERRMSG_LEN];
};

static const double default_shares[3] = { 0.01, 0.10, 0.50 };

cvm_status cvm_tiers_options_init(cvm_tiers_options *opts, size_t size)
{
    const cvm_tiers_options def = CVM_TIERS_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

/* Shares as cvm_value_tiers() accepts them (it checks them the same way on
 * one dummy value, so the rules live in one place). */
static cvm_status take_shares(cvm_tiers *t, const double *shares, size_t n, char *err,
                              size_t errlen)
{
    const double one = 0;
    double cuts[MAX_SHARES];
    cvm_status st;
    if (n > MAX_SHARES) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "tiers: %zu shares, at most %d", n,
                         MAX_SHARES);
    }
    st = cvm_value_tiers(&one, 1, shares, n, cuts, NULL, err, errlen);
    if (st != CVM_OK) {
        return st;
    }
    if (shares == NULL) {
        shares = default_shares;
        n = 3;
    }
    memcpy(t->shares, shares, n * sizeof *shares);
    t->nshares = n;
    return CVM_OK;
}

static cvm_status create(cvm_tiers **out, const cvm_tiers_options *opts, char *err, size_t errlen)
{
    cvm_tiers_options o = CVM_TIERS_OPTIONS_INIT;
    cvm_allocator a;
    cvm_tiers *t;
    cvm_status st = cvm__options_copy(&o, sizeof o, opts, sizeof o);
    if (st != CVM_OK) {
        return st;
    }
    if (cvm__allocator_copy(&a, o.allocator) != CVM_OK) {
        return CVM_E_INVALID;
    }
    t = cvm__calloc(&a, 1, sizeof *t);
    if (t == NULL) {
        return CVM_E_NOMEM;
    }
    t->alloc = a;
    st = take_shares(t, o.top_shares, o.nshares, err, errlen);
    if (st != CVM_OK) {
        cvm__free(&a, t);
        return st;
    }
    *out = t;
    return CVM_OK;
}

cvm_status cvm_tiers_new(cvm_tiers **out, const cvm_tiers_options *opts)
{
    if (out == NULL) {
        return CVM_E_INVALID;
    }
    *out = NULL;
    return create(out, opts, NULL, 0);
}

void cvm_tiers_free(cvm_tiers *t)
{
    if (t != NULL) {
        cvm_allocator a = t->alloc;
        cvm__free(&a, t);
    }
}

const char *cvm_tiers_errmsg(const cvm_tiers *t)
{
    return t ? t->errmsg : "";
}

cvm_status cvm_tiers_fit(cvm_tiers *t, const double *clv, size_t n, int32_t *tier)
{
    double cuts[MAX_SHARES];
    cvm_status st;
    if (t == NULL) {
        return CVM_E_INVALID;
    }
    t->errmsg[0] = '\0';
    st = cvm_value_tiers(clv, n, t->shares, t->nshares, cuts, tier, t->errmsg, sizeof t->errmsg);
    if (st == CVM_OK) {
        memcpy(t->cuts, cuts, t->nshares * sizeof *cuts);
        t->fitted = 1;
    }
    return st;
}

cvm_status cvm_tiers_assign(const cvm_tiers *t, const double *clv, size_t n, int32_t *tier,
                            char *errbuf, size_t errlen)
{
    if (t == NULL || !t->fitted) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "tiers: not fitted");
    }
    return cvm_value_tier_assign(t->cuts, t->nshares, clv, n, tier, errbuf, errlen);
}

size_t cvm_tiers_cut_count(const cvm_tiers *t)
{
    return t ? t->nshares : 0;
}

cvm_status cvm_tiers_cuts(const cvm_tiers *t, double *out, size_t n)
{
    if (t == NULL || out == NULL || n != t->nshares || !t->fitted) {
        return CVM_E_INVALID;
    }
    memcpy(out, t->cuts, n * sizeof *out);
    return CVM_OK;
}

/* Section: u64 nshares, then shares and cuts (f64 each). */
cvm_status cvm_tiers_save(cvm_tiers *t, const char *path)
{
    unsigned char b[8 + 16 * MAX_SHARES];
    cvm__snap_writer *w = NULL;
    size_t j, len;
    cvm_status st;
    if (t == NULL) {
        return CVM_E_INVALID;
    }
    t->errmsg[0] = '\0';
    if (path == NULL || !t->fitted) {
        return cvm__errf(t->errmsg, sizeof t->errmsg, CVM_E_INVALID,
                         "save: %s", path ? "the tiers are not fitted" : "path is NULL");
    }
    cvm__put_u64(b, t->nshares);
    for (j = 0; j < t->nshares; j++) {
        cvm__put_f64(b + 8 + 16 * j, t->shares[j]);
        cvm__put_f64(b + 16 + 16 * j, t->cuts[j]);
    }
    len = 8 + 16 * t->nshares;
    st = cvm__snap_create(&w, &t->alloc, path, CVM__SNAP_TIERS, t->errmsg, sizeof t->errmsg);
    if (st == CVM_OK) {
        st = cvm__snap_begin(w, TAG_TIERS, len);
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
    if (st != CVM_OK && t->errmsg[0] == '\0') {
        cvm__errf(t->errmsg, sizeof t->errmsg, st, "%s: %s", path, cvm_strerror(st));
    }
    return st;
}

/* Shares valid (via take_shares) and cuts finite and non-increasing. */
static cvm_status decode(cvm_tiers *t, const unsigned char *b, uint64_t len)
{
    double shares[MAX_SHARES];
    uint64_t n = len >= 8 ? cvm__get_u64(b) : 0;
    size_t j;
    if (len < 8 || n == 0 || n > MAX_SHARES || len != 8 + 16 * n) {
        return CVM_E_FORMAT;
    }
    for (j = 0; j < n; j++) {
        shares[j] = cvm__get_f64(b + 8 + 16 * j);
        t->cuts[j] = cvm__get_f64(b + 16 + 16 * j);
        if (!isfinite(t->cuts[j]) || (j > 0 && t->cuts[j] > t->cuts[j - 1])) {
            return CVM_E_FORMAT;
        }
    }
    if (take_shares(t, shares, (size_t)n, NULL, 0) != CVM_OK) {
        return CVM_E_FORMAT;
    }
    t->fitted = 1;
    return CVM_OK;
}

static cvm_status allocator_only(cvm_tiers_options *o, const cvm_tiers_options *opts)
{
    const cvm_tiers_options def = CVM_TIERS_OPTIONS_INIT;
    cvm_tiers_options given = CVM_TIERS_OPTIONS_INIT;
    cvm_status st = cvm__options_copy(&given, sizeof given, opts, sizeof given);
    *o = def;
    o->allocator = given.allocator;
    return st;
}

cvm_status cvm_tiers_load(cvm_tiers **out, const char *path, const cvm_tiers_options *opts,
                          char *errbuf, size_t errlen)
{
    cvm_tiers_options o;
    cvm__snap_reader *r = NULL;
    const unsigned char *data;
    uint64_t len;
    cvm_status st;
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (out == NULL || path == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "load: out or path is NULL");
    }
    *out = NULL;
    /* only the allocator comes from `opts`: the shares are the file's */
    st = allocator_only(&o, opts);
    if (st == CVM_OK) {
        st = create(out, &o, errbuf, errlen);
    }
    if (st == CVM_OK) {
        st = cvm__snap_open(&r, &(*out)->alloc, path, CVM__SNAP_TIERS, errbuf, errlen);
    }
    if (st == CVM_OK) {
        st = cvm__snap_find(r, TAG_TIERS, &data, &len, errbuf, errlen);
    }
    if (st == CVM_OK && decode(*out, data, len) != CVM_OK) {
        st = cvm__errf(errbuf, errlen, CVM_E_FORMAT, "%s: tiers section is inconsistent", path);
    }
    cvm__snap_close(r);
    if (st != CVM_OK) {
        cvm_tiers_free(*out);
        *out = NULL;
        if (errbuf != NULL && errlen > 0 && errbuf[0] == '\0') {
            cvm__errf(errbuf, errlen, st, "%s: %s", path, cvm_strerror(st));
        }
    }
    return st;
}
