/* libFuzzer harness: the snapshot loaders.
 *
 * Input: a snapshot file (src/core/core_int.h gives the layout). Its
 * checksums are recomputed first: a random change would otherwise fail a
 * CRC and never reach the decoding of the sections, which is where a loader
 * can go wrong (the CRC checks themselves are covered byte by byte in
 * tests/test_durability.c). The file is then given to the loader of every
 * kind; a handle that loads is used as a caller would use it, and a failure
 * must come with a message and a NULL handle. */
#include "fuzz.h"

#include "core/core_int.h"
#include "cvm.h"

#include <math.h>
#include <string.h>

#define HEADER 24u       /* magic, version, kind, flags, CRC */
#define SECTION_HEAD 16u /* tag, 0, length */

/* Recompute the header CRC and that of every whole section. */
static void repair(unsigned char *d, size_t size)
{
    size_t off = HEADER;
    if (size < HEADER) {
        return;
    }
    cvm__put_u32(d + 20, cvm__crc32(0, d, 20));
    while (size - off >= SECTION_HEAD + 4) {
        uint64_t len = cvm__get_u64(d + off + 8);
        if (len > size - off - SECTION_HEAD - 4) {
            return;
        }
        cvm__put_u32(d + off + SECTION_HEAD + len, cvm__crc32(0, d + off, SECTION_HEAD + len));
        off += SECTION_HEAD + (size_t)len + 4;
    }
}

static void check_failure(const void *handle, cvm_status st, const char *err)
{
    FUZZ_CHECK(handle == NULL);
    FUZZ_CHECK(st == CVM_E_FORMAT || st == CVM_E_NOMEM);
    FUZZ_CHECK(err[0] != '\0');
}

/* Three customers valid for every model (integers, x <= t_x <= T). */
static const double rows_x[3] = {0, 2, 5};
static const double rows_tx[3] = {0, 3, 8};
static const double rows_T[3] = {4, 6, 10};
static const double rows_m[3] = {0, 12.5, 40};

static void use_customers(cvm_customers *c)
{
    size_t rows = cvm_customers_summary_rows(c), n = cvm_customers_count(c), i;
    cvm_summary_options view = CVM_SUMMARY_OPTIONS_INIT;
    double *v, curve[4], one[CVM_COL_COUNT];
    int32_t k;
    if (n > 0) {
        const char *id;
        size_t len;
        FUZZ_CHECK(cvm_customers_id(c, n - 1, &id, &len) == CVM_OK);
        FUZZ_CHECK(cvm_customers_find(c, id, len, &i) == CVM_OK);
    }
    cvm_customers_repeat_curve(c, 0, CVM_SECONDS_PER_DAY, curve, 4);
    if (rows == 0) {
        return;
    }
    v = malloc(rows * sizeof *v);
    FUZZ_CHECK(v != NULL);
    for (k = 0; k <= CVM_COL_MONETARY; k++) {
        if (cvm_customers_summary(c, &view, k, v, rows) == CVM_OK) {
            for (i = 0; i < rows; i++) {
                FUZZ_CHECK(isfinite(v[i]) && v[i] >= 0);
            }
        }
    }
    free(v);
    for (i = 0; i < n && i < 4; i++) {
        cvm_customers_row(c, i, &view, one, CVM_COL_COUNT);
    }
}

static void use_clv(const cvm_clv *m)
{
    double params[4], se[4], out[3], t[3] = {0, 1, 10}, p[3], e[3];
    size_t np = cvm_clv_param_count(m);
    cvm_value_options vo = CVM_VALUE_OPTIONS_INIT;
    FUZZ_CHECK(np >= 1 && np <= 4);
    FUZZ_CHECK(cvm_clv_params(m, params, se, np) == CVM_OK);
    cvm_clv_p_alive(m, rows_x, rows_tx, rows_T, 3, out, NULL, 0);
    cvm_clv_expected(m, 3, rows_x, rows_tx, rows_T, 3, out, NULL, 0);
    cvm_clv_expected_new(m, t, 3, out, NULL, 0);
    /* Not cvm_clv_prob_count(): at extreme parameters its continued
     * fraction runs to its cap of 1e6 terms, slowing every input down. */
    cvm_clv_loglik(m, rows_x, rows_tx, rows_T, 3, out, NULL, NULL, 0);
    vo.periods = 3;
    cvm_clv_score(m, NULL, 2, &vo, rows_x, rows_tx, rows_T, rows_m, 3, p, e, out, out, NULL, 0);
}

static void use_spend(const cvm_spend *s)
{
    double params[3], out[3];
    FUZZ_CHECK(cvm_spend_params(s, params, NULL, 3) == CVM_OK);
    cvm_spend_expected(s, rows_x, rows_m, 3, out, NULL, 0);
}

static void use_retention(const cvm_retention *r)
{
    double t[3] = {0, 1, 7}, out[3], life;
    cvm_retention_survival(r, t, 3, out, NULL, 0);
    cvm_retention_rate(r, t + 1, 2, out, NULL, 0);
    /* The undiscounted lifetime is a closed form; a discount rate costs a
     * series of thousands of terms at some parameters. */
    cvm_retention_lifetime(r, 0, &life, NULL, 0);
}

static void use_rfm(const cvm_rfm *rfm)
{
    int32_t r[3], f[3], m[3], seg[3];
    double bp[8];
    size_t i, nseg = cvm_rfm_segment_count(rfm);
    int32_t col;
    for (i = 0; i < nseg; i++) {
        FUZZ_CHECK(cvm_rfm_segment_name(rfm, i) != NULL);
    }
    for (col = 0; col < 3; col++) {
        cvm_rfm_breakpoints(rfm, col, bp, 8);
    }
    if (cvm_rfm_score(rfm, rows_T, rows_x, rows_m, 3, r, f, m, NULL, 0) == CVM_OK) {
        cvm_rfm_segment(rfm, r, f, m, 3, seg, NULL, 0);
    }
}

static void use_kmeans(const cvm_kmeans *km)
{
    cvm_kmeans_info info;
    double *centres, *X;
    int32_t labels[2];
    size_t k, d;
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    FUZZ_CHECK(cvm_kmeans_info_get(km, &info) == CVM_OK);
    FUZZ_CHECK(info.k >= 1 && info.d >= 1);
    k = (size_t)info.k;
    d = (size_t)info.d;
    centres = malloc(k * d * sizeof *centres);
    X = calloc(2 * d, sizeof *X);
    FUZZ_CHECK(centres != NULL && X != NULL);
    FUZZ_CHECK(cvm_kmeans_centroids(km, centres, k * d) == CVM_OK);
    /* Two rows: all zeros, and the first centre. */
    memcpy(X + d, centres, d * sizeof *X);
    if (cvm_kmeans_predict(km, X, 2, d, labels, NULL, 0) == CVM_OK) {
        FUZZ_CHECK(labels[0] >= 0 && labels[0] < info.k && labels[1] >= 0 && labels[1] < info.k);
    }
    free(centres);
    free(X);
}

static void use_tiers(const cvm_tiers *t)
{
    size_t n = cvm_tiers_cut_count(t);
    double *cuts = malloc((n ? n : 1) * sizeof *cuts), clv[3] = {0, 100, 1e9};
    int32_t tier[3];
    FUZZ_CHECK(cuts != NULL);
    FUZZ_CHECK(cvm_tiers_cuts(t, cuts, n) == CVM_OK);
    if (cvm_tiers_assign(t, clv, 3, tier, NULL, 0) == CVM_OK) {
        FUZZ_CHECK(tier[0] >= 0 && (size_t)tier[0] <= n);
    }
    free(cuts);
}

static void load_all(const char *path)
{
    char err[256];
    cvm_status st;
    {
        cvm_customers *c = NULL;
        err[0] = '\0';
        st = cvm_customers_load(&c, path, NULL, err, sizeof err);
        if (st == CVM_OK) {
            use_customers(c);
        } else {
            check_failure(c, st, err);
        }
        cvm_customers_free(c);
    }
    {
        cvm_clv *m = NULL;
        err[0] = '\0';
        st = cvm_clv_load(&m, path, NULL, err, sizeof err);
        if (st == CVM_OK) {
            use_clv(m);
        } else {
            check_failure(m, st, err);
        }
        cvm_clv_free(m);
    }
    {
        cvm_spend *s = NULL;
        err[0] = '\0';
        st = cvm_spend_load(&s, path, NULL, err, sizeof err);
        if (st == CVM_OK) {
            use_spend(s);
        } else {
            check_failure(s, st, err);
        }
        cvm_spend_free(s);
    }
    {
        cvm_retention *r = NULL;
        err[0] = '\0';
        st = cvm_retention_load(&r, path, NULL, err, sizeof err);
        if (st == CVM_OK) {
            use_retention(r);
        } else {
            check_failure(r, st, err);
        }
        cvm_retention_free(r);
    }
    {
        cvm_rfm *rfm = NULL;
        err[0] = '\0';
        st = cvm_rfm_load(&rfm, path, NULL, err, sizeof err);
        if (st == CVM_OK) {
            use_rfm(rfm);
        } else {
            check_failure(rfm, st, err);
        }
        cvm_rfm_free(rfm);
    }
    {
        cvm_kmeans *km = NULL;
        err[0] = '\0';
        st = cvm_kmeans_load(&km, path, NULL, err, sizeof err);
        if (st == CVM_OK) {
            use_kmeans(km);
        } else {
            check_failure(km, st, err);
        }
        cvm_kmeans_free(km);
    }
    {
        cvm_tiers *t = NULL;
        err[0] = '\0';
        st = cvm_tiers_load(&t, path, NULL, err, sizeof err);
        if (st == CVM_OK) {
            use_tiers(t);
        } else {
            check_failure(t, st, err);
        }
        cvm_tiers_free(t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy != NULL);
    if (size > 0) {
        memcpy(copy, data, size);
    }
    repair(copy, size);
    load_all(fuzz_tmp_file(copy, size));
    free(copy);
    return 0;
}
