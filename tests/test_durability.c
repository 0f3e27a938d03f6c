/* Durability of every snapshot kind (customers, the four transaction
 * models, Gamma-Gamma, sBG, RFM, k-means, tiers), through the public API:
 * a file cut at any byte or with any one byte changed loads as CVM_E_FORMAT
 * with a message naming the file, never a crash or a half-made handle; a
 * save that fails part way leaves the previous file as it was and no
 * temporary file behind. tests/test_snapshot.c covers the container format
 * itself; this suite covers each kind's reader on top of it. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* A kind of snapshot: make a small model (`variant` 0 or 1 gives different
 * contents), save it, load a file (freeing what loaded) and free it. */
typedef struct kind {
    const char *name;
    void *(*make)(int variant);
    cvm_status (*save)(void *h, const char *path);
    cvm_status (*load)(const char *path, char *err, size_t errlen);
    void (*release)(void *h);
} kind;

/* ---- customers ------------------------------------------------------- */

static void *make_customers(int variant)
{
    cvm_customers *c = NULL;
    int i;
    ck_assert_int_eq(cvm_customers_new(&c, NULL), CVM_OK);
    for (i = 0; i < 6 + variant; i++) {
        char id[8];
        int n = snprintf(id, sizeof id, "c%d", i);
        ck_assert_int_eq(cvm_customers_add(c, id, (size_t)n, (int64_t)i * 86400 * 9, 10.0 + i),
                         CVM_OK);
        ck_assert_int_eq(cvm_customers_add(c, id, (size_t)n, (int64_t)(i + 3) * 86400 * 7, 5.5),
                         CVM_OK);
    }
    return c;
}

static cvm_status save_customers(void *h, const char *path)
{
    return cvm_customers_save(h, path);
}

static cvm_status load_customers(const char *path, char *err, size_t errlen)
{
    cvm_customers *out = (cvm_customers *)&out; /* must come back NULL on failure */
    cvm_status st = cvm_customers_load(&out, path, NULL, err, errlen);
    ck_assert(st == CVM_OK ? out != NULL : out == NULL);
    cvm_customers_free(out);
    return st;
}

static void free_customers(void *h)
{
    cvm_customers_free(h);
}

/* ---- transaction models: parameters set by hand ---------------------- */

static void *make_clv_kind(int32_t kind_id, int variant)
{
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    cvm_clv *m = NULL;
    double p[4] = {0.24, 4.41, 0.79, 2.43};
    p[0] += 0.01 * variant;
    o.kind = kind_id;
    ck_assert_int_eq(cvm_clv_new(&m, &o), CVM_OK);
    ck_assert_int_eq(cvm_clv_set_params(m, p, 4), CVM_OK);
    return m;
}

static void *make_bgnbd(int v) { return make_clv_kind(CVM_MODEL_BGNBD, v); }
static void *make_pareto(int v) { return make_clv_kind(CVM_MODEL_PARETO, v); }
static void *make_mbgnbd(int v) { return make_clv_kind(CVM_MODEL_MBGNBD, v); }
static void *make_bgbb(int v) { return make_clv_kind(CVM_MODEL_BGBB, v); }

static cvm_status save_clv(void *h, const char *path)
{
    return cvm_clv_save(h, path);
}

static cvm_status load_clv(const char *path, char *err, size_t errlen)
{
    cvm_clv *out = (cvm_clv *)&out;
    cvm_status st = cvm_clv_load(&out, path, NULL, err, errlen);
    ck_assert(st == CVM_OK ? out != NULL : out == NULL);
    cvm_clv_free(out);
    return st;
}

static void free_clv(void *h)
{
    cvm_clv_free(h);
}

/* ---- Gamma-Gamma and sBG: fitted, so the fit information is saved too -- */

static void *make_spend(int variant)
{
    static const double x[] = {1, 2, 3, 1, 5, 2, 4, 1, 2, 6};
    static const double m[] = {20, 35, 18, 50, 22, 31, 27, 90, 15, 24};
    double mm[10];
    cvm_spend *s = NULL;
    int i;
    for (i = 0; i < 10; i++) {
        mm[i] = m[i] + variant;
    }
    ck_assert_int_eq(cvm_spend_new(&s, NULL), CVM_OK);
    ck_assert_int_eq(cvm_spend_fit(s, x, mm, NULL, 10, NULL), CVM_OK);
    return s;
}

static cvm_status save_spend(void *h, const char *path)
{
    return cvm_spend_save(h, path);
}

static cvm_status load_spend(const char *path, char *err, size_t errlen)
{
    cvm_spend *out = (cvm_spend *)&out;
    cvm_status st = cvm_spend_load(&out, path, NULL, err, errlen);
    ck_assert(st == CVM_OK ? out != NULL : out == NULL);
    cvm_spend_free(out);
    return st;
}

static void free_spend(void *h)
{
    cvm_spend_free(h);
}

static void *make_retention(int variant)
{
    /* Fader & Hardie's "regular" cohort, years 0..7. */
    double alive[8] = {1000, 631, 468, 382, 326, 289, 262, 241};
    cvm_retention *r = NULL;
    alive[7] -= variant;
    ck_assert_int_eq(cvm_retention_new(&r, NULL), CVM_OK);
    ck_assert_int_eq(cvm_retention_fit(r, alive, 8, NULL), CVM_OK);
    return r;
}

static cvm_status save_retention(void *h, const char *path)
{
    return cvm_retention_save(h, path);
}

static cvm_status load_retention(const char *path, char *err, size_t errlen)
{
    cvm_retention *out = (cvm_retention *)&out;
    cvm_status st = cvm_retention_load(&out, path, NULL, err, errlen);
    ck_assert(st == CVM_OK ? out != NULL : out == NULL);
    cvm_retention_free(out);
    return st;
}

static void free_retention(void *h)
{
    cvm_retention_free(h);
}

/* ---- segmenters ------------------------------------------------------ */

#define SEG_N 24

static void seg_data(double *rec, double *freq, double *mon, int variant)
{
    int i;
    for (i = 0; i < SEG_N; i++) {
        rec[i] = (double)((i * 7) % 23) + variant;
        freq[i] = (double)(i % 6);
        mon[i] = 10.0 + variant + (double)((i * 13) % 17) * 3.5;
    }
}

static void *make_rfm(int variant)
{
    double rec[SEG_N], freq[SEG_N], mon[SEG_N];
    cvm_rfm *r = NULL;
    seg_data(rec, freq, mon, variant);
    ck_assert_int_eq(cvm_rfm_new(&r, NULL), CVM_OK);
    ck_assert_int_eq(cvm_rfm_fit(r, rec, freq, mon, SEG_N), CVM_OK);
    return r;
}

static cvm_status save_rfm(void *h, const char *path)
{
    return cvm_rfm_save(h, path);
}

static cvm_status load_rfm(const char *path, char *err, size_t errlen)
{
    cvm_rfm *out = (cvm_rfm *)&out;
    cvm_status st = cvm_rfm_load(&out, path, NULL, err, errlen);
    ck_assert(st == CVM_OK ? out != NULL : out == NULL);
    cvm_rfm_free(out);
    return st;
}

static void free_rfm(void *h)
{
    cvm_rfm_free(h);
}

static void *make_kmeans(int variant)
{
    double rec[SEG_N], freq[SEG_N], mon[SEG_N], X[SEG_N * 3];
    cvm_kmeans_options o = CVM_KMEANS_OPTIONS_INIT;
    cvm_kmeans *km = NULL;
    int i;
    seg_data(rec, freq, mon, variant);
    for (i = 0; i < SEG_N; i++) {
        X[3 * i] = rec[i];
        X[3 * i + 1] = freq[i];
        X[3 * i + 2] = mon[i];
    }
    o.k = 3;
    o.scaling = CVM_SCALE_ZSCORE;
    ck_assert_int_eq(cvm_kmeans_new(&km, &o), CVM_OK);
    ck_assert_int_eq(cvm_kmeans_fit(km, X, SEG_N, 3, NULL, NULL), CVM_OK);
    return km;
}

static cvm_status save_kmeans(void *h, const char *path)
{
    return cvm_kmeans_save(h, path);
}

static cvm_status load_kmeans(const char *path, char *err, size_t errlen)
{
    cvm_kmeans *out = (cvm_kmeans *)&out;
    cvm_status st = cvm_kmeans_load(&out, path, NULL, err, errlen);
    ck_assert(st == CVM_OK ? out != NULL : out == NULL);
    cvm_kmeans_free(out);
    return st;
}

static void free_kmeans(void *h)
{
    cvm_kmeans_free(h);
}

static void *make_tiers(int variant)
{
    double rec[SEG_N], freq[SEG_N], mon[SEG_N];
    cvm_tiers *t = NULL;
    seg_data(rec, freq, mon, variant);
    ck_assert_int_eq(cvm_tiers_new(&t, NULL), CVM_OK);
    ck_assert_int_eq(cvm_tiers_fit(t, mon, SEG_N, NULL), CVM_OK);
    return t;
}

static cvm_status save_tiers(void *h, const char *path)
{
    return cvm_tiers_save(h, path);
}

static cvm_status load_tiers(const char *path, char *err, size_t errlen)
{
    cvm_tiers *out = (cvm_tiers *)&out;
    cvm_status st = cvm_tiers_load(&out, path, NULL, err, errlen);
    ck_assert(st == CVM_OK ? out != NULL : out == NULL);
    cvm_tiers_free(out);
    return st;
}

static void free_tiers(void *h)
{
    cvm_tiers_free(h);
}

static const kind kinds[] = {
    {"customers", make_customers, save_customers, load_customers, free_customers},
    {"bgnbd", make_bgnbd, save_clv, load_clv, free_clv},
    {"pareto", make_pareto, save_clv, load_clv, free_clv},
    {"mbgnbd", make_mbgnbd, save_clv, load_clv, free_clv},
    {"bgbb", make_bgbb, save_clv, load_clv, free_clv},
    {"spend", make_spend, save_spend, load_spend, free_spend},
    {"retention", make_retention, save_retention, load_retention, free_retention},
    {"rfm", make_rfm, save_rfm, load_rfm, free_rfm},
    {"kmeans", make_kmeans, save_kmeans, load_kmeans, free_kmeans},
    {"tiers", make_tiers, save_tiers, load_tiers, free_tiers},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* ---- helpers --------------------------------------------------------- */

/* Save kind k's model `variant` to dir/name and return the file's bytes. */
static unsigned char *saved_bytes(const kind *k, int variant, const char *path, size_t *n)
{
    void *h = k->make(variant);
    ck_assert_msg(k->save(h, path) == CVM_OK, "%s: save failed", k->name);
    k->release(h);
    return (unsigned char *)tu_read_file(path, n);
}

/* Write `n` bytes to `path`, load it, and require CVM_E_FORMAT with a
 * terminated message naming the file. */
static void expect_format(const kind *k, const char *path, const unsigned char *bytes, size_t n,
                          const char *what, size_t where)
{
    char err[512];
    cvm_status st;
    tu_write_file(path, bytes, n);
    memset(err, 'Z', sizeof err);
    st = k->load(path, err, sizeof err);
    ck_assert_msg(st == CVM_E_FORMAT, "%s, %s %zu of %zu: status %d (%s)", k->name, what, where, n,
                  (int)st, cvm_strerror(st));
    ck_assert_msg(memchr(err, '\0', sizeof err) != NULL, "%s, %s %zu: message not terminated",
                  k->name, what, where);
    ck_assert_msg(strstr(err, path) != NULL, "%s, %s %zu: message '%s' does not name the file",
                  k->name, what, where, err);
}

/* ---- tests ----------------------------------------------------------- */

START_TEST(test_round_trip)
{
    const kind *k = &kinds[_i];
    char *dir = tu_tmpdir(), *a = tu_join(dir, "a.snap"), *b = tu_join(dir, "b.snap");
    size_t na, nb;
    unsigned char *first = saved_bytes(k, 0, a, &na), *again;
    char err[256] = "";
    void *h;
    /* Loading and saving again gives the same bytes: nothing is lost. */
    ck_assert_msg(k->load(a, err, sizeof err) == CVM_OK, "%s: %s", k->name, err);
    h = k->make(0);
    ck_assert_int_eq(k->save(h, b), CVM_OK);
    k->release(h);
    again = (unsigned char *)tu_read_file(b, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_msg(memcmp(first, again, na) == 0, "%s: two saves differ", k->name);
    free(first);
    free(again);
    free(a);
    free(b);
    tu_remove_tree(dir);
}
END_TEST

START_TEST(test_truncated_at_every_offset)
{
    const kind *k = &kinds[_i];
    char *dir = tu_tmpdir(), *good = tu_join(dir, "good.snap"), *bad = tu_join(dir, "bad.snap");
    size_t n, i;
    unsigned char *bytes = saved_bytes(k, 0, good, &n);
    ck_assert_uint_gt(n, 32);
    for (i = 0; i < n; i++) {
        expect_format(k, bad, bytes, i, "truncated to", i);
    }
    free(bytes);
    free(good);
    free(bad);
    tu_remove_tree(dir);
}
END_TEST

/* Each byte replaced by its complement, then by one other value: CRC-32
 * catches every error within one byte, so no change can slip through. */
START_TEST(test_every_byte_changed)
{
    const kind *k = &kinds[_i];
    char *dir = tu_tmpdir(), *good = tu_join(dir, "good.snap"), *bad = tu_join(dir, "bad.snap");
    size_t n, i;
    unsigned char *bytes = saved_bytes(k, 0, good, &n);
    unsigned char *copy = malloc(n + 1);
    ck_assert_ptr_nonnull(copy);
    for (i = 0; i < n; i++) {
        memcpy(copy, bytes, n);
        copy[i] = (unsigned char)~bytes[i];
        expect_format(k, bad, copy, n, "complemented byte", i);
        copy[i] = (unsigned char)(bytes[i] ^ (1u << (i % 8)));
        expect_format(k, bad, copy, n, "one bit flipped in byte", i);
    }
    memcpy(copy, bytes, n);
    copy[n] = 0;
    expect_format(k, bad, copy, n + 1, "one byte appended after", n);
    free(copy);
    free(bytes);
    free(good);
    free(bad);
    tu_remove_tree(dir);
}
END_TEST

/* A file size limit makes the writes of a save fail with EFBIG after
 * `limit` bytes: the real error path, at every point of the new file. */
START_TEST(test_failed_save_keeps_previous)
{
    const kind *k = &kinds[_i];
    char *dir = tu_tmpdir(), *path = tu_join(dir, "model.snap"), *probe = tu_join(dir, "probe");
    size_t n_old, n_new, limit;
    unsigned char *old = saved_bytes(k, 0, path, &n_old);
    unsigned char *fresh = saved_bytes(k, 1, probe, &n_new), *now;
    void *h = k->make(1);
    struct rlimit saved, lim;
    void (*handler)(int) = signal(SIGXFSZ, SIG_IGN);
    size_t n_now;
    remove(probe);
    ck_assert_msg(n_old != n_new || memcmp(old, fresh, n_old) != 0,
                  "%s: the two variants save the same bytes", k->name);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
    for (limit = 0; limit < n_new; limit++) {
        cvm_status st;
        lim = saved;
        lim.rlim_cur = (rlim_t)limit;
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
        st = k->save(h, path);
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
        ck_assert_msg(st == CVM_E_IO, "%s: save limited to %zu of %zu bytes gave %d", k->name,
                      limit, n_new, (int)st);
        now = (unsigned char *)tu_read_file(path, &n_now);
        ck_assert_msg(n_now == n_old && memcmp(now, old, n_old) == 0,
                      "%s: the previous file changed when a save failed after %zu bytes", k->name,
                      limit);
        free(now);
        ck_assert_msg(tu_count_entries(dir) == 1, "%s: a temporary file was left behind", k->name);
    }
    signal(SIGXFSZ, handler);
    /* The handle is unharmed: the next save goes through. */
    ck_assert_int_eq(k->save(h, path), CVM_OK);
    now = (unsigned char *)tu_read_file(path, &n_now);
    ck_assert_msg(n_now == n_new && memcmp(now, fresh, n_new) == 0, "%s: retried save differs",
                  k->name);
    free(now);
    k->release(h);
    free(old);
    free(fresh);
    free(path);
    free(probe);
    tu_remove_tree(dir);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("durability");
    TCase *tc = tcase_create("snapshots");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_round_trip, 0, (int)NKINDS);
    tcase_add_loop_test(tc, test_truncated_at_every_offset, 0, (int)NKINDS);
    tcase_add_loop_test(tc, test_every_byte_changed, 0, (int)NKINDS);
    tcase_add_loop_test(tc, test_failed_save_keeps_previous, 0, (int)NKINDS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
