/* The cvm_attribution handle through the public API: options, paths (merging,
 * trimming, bad input, the 100000-touch limit), the paths CSV loader (Data.csv
 * from ChannelAttribution, errors with file:line, all or nothing),
 * touchpoints (grouping per customer, lookback window, nulls, ages, order of
 * adds), the heuristics (README reference numbers and hand examples), the
 * dispatch to Markov and Shapley, ROI and allocation failures. The journey
 * view is checked through the internal cvm__attr_journeys(). */
#include "testutil.h"

#include "attribution/attribution_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCH_MAX 64

static cvm_attribution *new_handle(const cvm_attribution_options *o)
{
    cvm_attribution *a = NULL;
    ck_assert_int_eq(cvm_attribution_new(&a, o), CVM_OK);
    ck_assert_ptr_nonnull(a);
    return a;
}

static void add(cvm_attribution *a, const char *path, double c, double v, double u)
{
    cvm_status st = cvm_attribution_add_path(a, path, strlen(path), c, v, u);
    ck_assert_msg(st == CVM_OK, "%s: %s", path, cvm_attribution_errmsg(a));
}

/* The README's tiny example. */
static cvm_attribution *tiny(void)
{
    cvm_attribution *a = new_handle(NULL);
    add(a, "A > B > C", 2, 20, 1);
    add(a, "A > A > B", 1, 5, 2);
    add(a, "B", 1, 7, 3);
    add(a, "C > A", 0, 0, 2);
    add(a, "B > C > C", 1, 10, 0);
    return a;
}

static cvm_status run(cvm_attribution *a, int32_t model)
{
    cvm_attribution_run_options o = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    o.model = model;
    return cvm_attribution_run(a, &o);
}

static void run_ok(cvm_attribution *a, int32_t model, double *conv, double *value)
{
    cvm_status st = run(a, model);
    size_t n = cvm_attribution_channel_count(a);
    ck_assert_msg(st == CVM_OK, "model %d: %s", (int)model, cvm_attribution_errmsg(a));
    ck_assert_int_eq(cvm_attribution_credit(a, conv, value, n), CVM_OK);
}

/* Index of a channel by name. */
static size_t chan(const cvm_attribution *a, const char *name)
{
    size_t i, n = cvm_attribution_channel_count(a);
    for (i = 0; i < n; i++) {
        if (strcmp(cvm_attribution_channel_name(a, i), name) == 0) {
            return i;
        }
    }
    ck_abort_msg("no channel %s", name);
    return 0;
}

static double sum(const double *x, size_t n)
{
    double s = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        s += x[i];
    }
    return s;
}

#define ASSERT_NEAR(x, y, tol) \
    ck_assert_msg(fabs((x) - (y)) <= (tol), "%s = %.12g, expected %.12g (tol %g)", #x, (double)(x), (double)(y), (double)(tol))

/* ---- options ---------------------------------------------------------------- */

START_TEST(options_init_match_macros)
{
    cvm_attribution_options a = CVM_ATTRIBUTION_OPTIONS_INIT, b;
    cvm_paths_csv_options pa = CVM_PATHS_CSV_OPTIONS_INIT, pb;
    cvm_attribution_run_options ra = CVM_ATTRIBUTION_RUN_OPTIONS_INIT, rb;
    memset(&b, 0xAB, sizeof b);
    memset(&pb, 0xAB, sizeof pb);
    memset(&rb, 0xAB, sizeof rb);
    ck_assert_int_eq(cvm_attribution_options_init(&b, sizeof b), CVM_OK);
    ck_assert_int_eq(cvm_paths_csv_options_init(&pb, sizeof pb), CVM_OK);
    ck_assert_int_eq(cvm_attribution_run_options_init(&rb, sizeof rb), CVM_OK);
    ck_assert_mem_eq(&a, &b, sizeof a);
    /* The column names are string literals: equal text, maybe not the same
     * address across translation units. */
    ck_assert_uint_eq(pa.size, pb.size);
    ck_assert_str_eq(pa.path_column, pb.path_column);
    ck_assert_str_eq(pa.conversions_column, pb.conversions_column);
    ck_assert_str_eq(pa.value_column, pb.value_column);
    ck_assert_str_eq(pa.null_column, pb.null_column);
    ck_assert_int_eq(pa.delimiter, pb.delimiter);
    ck_assert_int_eq(pa.reserved, pb.reserved);
    ck_assert_mem_eq(&ra, &rb, sizeof ra);
    ck_assert_int_eq(cvm_attribution_options_init(&b, sizeof b - 4), CVM_E_ABI);
    ck_assert_int_eq(cvm_paths_csv_options_init(&pb, sizeof pb - 4), CVM_E_ABI);
    ck_assert_int_eq(cvm_attribution_run_options_init(&rb, sizeof rb - 4), CVM_E_ABI);
    ck_assert_int_eq(cvm_attribution_options_init(NULL, sizeof b), CVM_E_INVALID);
}
END_TEST

START_TEST(new_bad_options)
{
    cvm_attribution_options o = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_attribution *a = (cvm_attribution *)&o;
    unsigned char big[sizeof o + 8];
    ck_assert_int_eq(cvm_attribution_new(NULL, NULL), CVM_E_INVALID);
    o.lookback_seconds = -1;
    ck_assert_int_eq(cvm_attribution_new(&a, &o), CVM_E_INVALID);
    ck_assert_ptr_null(a);
    o.lookback_seconds = 0;
    o.separator = 0;
    ck_assert_int_eq(cvm_attribution_new(&a, &o), CVM_E_INVALID);
    o.separator = 256;
    ck_assert_int_eq(cvm_attribution_new(&a, &o), CVM_E_INVALID);
    o.separator = '>';
    o.reserved = 1;
    ck_assert_int_eq(cvm_attribution_new(&a, &o), CVM_E_INVALID);
    o.reserved = 0;
    /* A newer caller's unknown tail must be zero. */
    memset(big, 0, sizeof big);
    memcpy(big, &o, sizeof o);
    *(size_t *)(void *)big = sizeof big;
    ck_assert_int_eq(cvm_attribution_new(&a, (const cvm_attribution_options *)(void *)big), CVM_OK);
    cvm_attribution_free(a);
    big[sizeof o + 3] = 1;
    ck_assert_int_eq(cvm_attribution_new(&a, (const cvm_attribution_options *)(void *)big),
                     CVM_E_ABI);
    cvm_attribution_free(NULL);
    ck_assert_str_eq(cvm_attribution_errmsg(NULL), "");
    ck_assert_uint_eq(cvm_attribution_channel_count(NULL), 0);
    ck_assert_ptr_null(cvm_attribution_channel_name(NULL, 0));
    ck_assert_int_eq(cvm_attribution_add_path(NULL, "a", 1, 1, 0, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_run(NULL, NULL), CVM_E_INVALID);
}
END_TEST

/* ---- the README's tiny example (exact fractions; 1e-12 is rounding) ---------- */

START_TEST(tiny_heuristics)
{
    cvm_attribution *a = tiny();
    double c[3], v[3];
    size_t A, B, C;
    ck_assert_uint_eq(cvm_attribution_channel_count(a), 3);
    A = chan(a, "A");
    B = chan(a, "B");
    C = chan(a, "C");
    ck_assert_uint_eq(A, 0); /* order of first appearance */
    ck_assert_uint_eq(C, 2);
    ck_assert_ptr_null(cvm_attribution_channel_name(a, 3));

    run_ok(a, CVM_ATTR_FIRST, c, v);
    ASSERT_NEAR(c[A], 3, 1e-12);
    ASSERT_NEAR(c[B], 2, 1e-12);
    ASSERT_NEAR(c[C], 0, 1e-12);
    ASSERT_NEAR(v[A], 25, 1e-12);
    ASSERT_NEAR(v[B], 17, 1e-12);
    ASSERT_NEAR(v[C], 0, 1e-12);

    run_ok(a, CVM_ATTR_LAST, c, v);
    ASSERT_NEAR(c[A], 0, 1e-12);
    ASSERT_NEAR(c[B], 2, 1e-12);
    ASSERT_NEAR(c[C], 3, 1e-12);
    ASSERT_NEAR(v[B], 12, 1e-12);
    ASSERT_NEAR(v[C], 30, 1e-12);

    run_ok(a, CVM_ATTR_LINEAR, c, v);
    ASSERT_NEAR(c[A], 4.0 / 3, 1e-12);
    ASSERT_NEAR(c[B], 7.0 / 3, 1e-12);
    ASSERT_NEAR(c[C], 4.0 / 3, 1e-12);
    ASSERT_NEAR(v[A], 10, 1e-12);
    ASSERT_NEAR(v[B], 56.0 / 3, 1e-12);
    ASSERT_NEAR(v[C], 40.0 / 3, 1e-12);

    /* 40/20/40 with the repeats as touches: A>B>C .4/.2/.4, A>A>B A .6 B .4,
     * B 1, B>C>C B .4 C .6. */
    run_ok(a, CVM_ATTR_POSITION, c, v);
    ASSERT_NEAR(c[A], 1.4, 1e-12);
    ASSERT_NEAR(c[B], 2.2, 1e-12);
    ASSERT_NEAR(c[C], 1.4, 1e-12);
    ASSERT_NEAR(v[A], 11, 1e-12);
    ASSERT_NEAR(v[B], 17, 1e-12);
    ASSERT_NEAR(v[C], 14, 1e-12);
    ASSERT_NEAR(sum(c, 3), 5, 1e-12);
    ASSERT_NEAR(sum(v, 3), 42, 1e-12);

    /* Aggregated paths have no times. */
    ck_assert_int_eq(run(a, CVM_ATTR_DECAY), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_attribution_errmsg(a), "times"));
    ck_assert_int_eq(cvm_attribution_credit(a, c, v, 3), CVM_E_INVALID); /* failed run: no result */
    cvm_attribution_free(a);
}
END_TEST

START_TEST(position_shares)
{
    cvm_attribution *a = new_handle(NULL);
    cvm_attribution_run_options o = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    double c[4], v[4];
    add(a, "a > b", 1, 8, 0);
    add(a, "a > b > c > d", 1, 0, 0);
    o.model = CVM_ATTR_POSITION;
    o.first_share = 0.3;
    o.last_share = 0.5;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_OK);
    ck_assert_int_eq(cvm_attribution_credit(a, c, v, 4), CVM_OK);
    /* Two touches: shares in proportion, 0.3/0.8 and 0.5/0.8; four touches:
     * the middle 0.2 split over two. */
    ASSERT_NEAR(c[0], 0.375 + 0.3, 1e-12);
    ASSERT_NEAR(c[1], 0.625 + 0.1, 1e-12);
    ASSERT_NEAR(c[2], 0.1, 1e-12);
    ASSERT_NEAR(c[3], 0.5, 1e-12);
    ASSERT_NEAR(v[0], 3, 1e-12);
    ASSERT_NEAR(v[1], 5, 1e-12);
    o.first_share = o.last_share = 0;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_OK);
    ck_assert_int_eq(cvm_attribution_credit(a, c, v, 4), CVM_OK);
    ASSERT_NEAR(c[0], 0.5, 1e-12);
    ASSERT_NEAR(c[1], 1.0, 1e-12);
    ASSERT_NEAR(c[2], 0.5, 1e-12);
    ASSERT_NEAR(c[3], 0, 1e-12);
    o.first_share = 0.6;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_OK);
    o.last_share = 0.5; /* sum 1.1 */
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_INVALID);
    cvm_attribution_free(a);
}
END_TEST

/* ---- ChannelAttribution's Data.csv -------------------------------------------- */

static const char *const data_names[12] = { "eta",  "iota",  "alpha",   "beta",  "theta", "lambda",
                                            "kappa", "zeta", "epsilon", "gamma", "delta", "mi" };

static cvm_attribution *load_data(void)
{
    cvm_attribution *a = new_handle(NULL);
    cvm_paths_csv_options o = CVM_PATHS_CSV_OPTIONS_INIT;
    cvm_status st;
    o.delimiter = ';';
    st = cvm_attribution_load_csv(a, tu_data_path("attribution/channelattribution_Data.csv"), &o);
    ck_assert_msg(st == CVM_OK, "%s", cvm_attribution_errmsg(a));
    return a;
}

/* Reference numbers: the README's table (ChannelAttribution 2.1.7, printed to
 * 10 significant digits or fewer) and, for the values and position-based, an
 * independent script using only Python's standard library, printed with
 * '%.10f', row by row without merging:
 *
 *   rows = [([t.strip() for t in d['path'].split('>')], float(d['total_conversions']),
 *            float(d['total_conversion_value'])) for d in csv.DictReader(f, delimiter=';')]
 *   weights: first [1,0..], last [..0,1], linear [1/n]*n,
 *            position n=1 [1], n=2 [.5,.5], else [.4] + [.2/(n-2)]*(n-2) + [.4]
 *   credit[c] += conv * w and value * w for every touch (repeats included)
 *
 * (Collapsing repeated channels first gives alpha 7461.16 for position, not
 * the README's 7444.823759: repeats count as touches.) Our sums merge
 * identical paths first, so they differ from the row-by-row sums by rounding
 * only (~1e-11 on 1e4); 1e-6 absolute is what the README's printed digits
 * allow. */
START_TEST(data_heuristics)
{
    static const double first_c[12] = { 3164, 4606, 6308, 2831, 1606, 902, 74, 27, 99, 165, 1, 2 };
    static const double last_c[12] = { 4167, 3355, 8447, 989, 653, 1207, 230, 107, 531, 92, 5, 2 };
    static const double linear_c[12] = { 3539.951157, 3857.096221, 7574.718594, 2083.500145,
                                         1022.801394, 1035.257572, 137.9640779, 136.5515405,
                                         272.1704377, 121.041639,  1.725,       2.222222222 };
    static const double first_v[12] = { 11909.4762130316, 19597.2612769752, 19121.2723557987,
                                        12235.5917443553, 6652.3493474468,  3735.6021649160,
                                        305.7432500000,   103.0040000000,   412.3012428571,
                                        718.9779918301,   6.1190000000,     5.2730000000 };
    static const double last_v[12] = { 16754.2038001057, 13487.9742713577, 28414.2142743639,
                                       3850.0209872582,  2799.0919875817,  5249.9499854278,
                                       1069.3842500000,  453.2607500000,   2202.6122892857,
                                       506.0139918301,   10.9720000000,    5.2730000000 };
    static const double linear_v[12] = { 13783.4970509202, 15988.9889950235, 24524.7095688335,
                                         8954.2667166077,  4295.7436194872,  4430.3161694284,
                                         599.7477862553,   539.5287630528,   1106.2700652665,
                                         569.4173578911,   4.4040500000,     6.0814444444 };
    static const double pos_c[12] = { 3618.7961487619, 3944.9481656554, 7444.8237592334,
                                      1969.7661789686, 1092.7444717569, 1046.9039013854,
                                      147.4595565169,  88.6228644916,   301.0502327824,
                                      125.2409109238,  2.5866666667,    2.0571428571 };
    static const double pos_v[12] = { 14117.9533667204, 16388.2527745655, 24025.6301581504,
                                      8361.5085201165,  4575.0339230279,  4462.9303392726,
                                      660.5697426767,   358.9882674017,   1243.7303117042,
                                      595.6292311938,   7.2640666667,     5.4808857143 };
    const double *ref_c[4] = { first_c, last_c, linear_c, pos_c };
    const double *ref_v[4] = { first_v, last_v, linear_v, pos_v };
    static const int32_t models[4] = { CVM_ATTR_FIRST, CVM_ATTR_LAST, CVM_ATTR_LINEAR,
                                       CVM_ATTR_POSITION };
    cvm_attribution *a;
    const cvm__journeys *j;
    double c[12], v[12];
    size_t i, m;
    TU_SKIP_IF_NO_DATA();
    a = load_data();
    ck_assert_uint_eq(cvm_attribution_channel_count(a), 12);
    for (i = 0; i < 12; i++) {
        ck_assert_str_eq(cvm_attribution_channel_name(a, i), data_names[i]);
    }
    /* 10,000 rows, 4592 repeat an earlier path: 5408 journeys, longest 89. */
    ck_assert_int_eq(cvm__attr_journeys(a, &j), CVM_OK);
    ck_assert_uint_eq(j->n, 5408);
    ck_assert_uint_eq(j->longest, 89);
    ck_assert_ptr_null(j->age);
    ASSERT_NEAR(sum(j->nulls, j->n), 68602, 1e-9);
    for (m = 0; m < 4; m++) {
        run_ok(a, models[m], c, v);
        for (i = 0; i < 12; i++) {
            ck_assert_msg(fabs(c[i] - ref_c[m][i]) <= 1e-6, "model %d %s: %.10f vs %.10f",
                          (int)models[m], data_names[i], c[i], ref_c[m][i]);
            ck_assert_msg(fabs(v[i] - ref_v[m][i]) <= 1e-6, "model %d %s value: %.10f vs %.10f",
                          (int)models[m], data_names[i], v[i], ref_v[m][i]);
        }
        ASSERT_NEAR(sum(c, 12), 19785, 1e-6);
        ASSERT_NEAR(sum(v, 12), 74802.97158721084, 1e-6);
    }
    /* The README's position-based headline numbers. */
    run_ok(a, CVM_ATTR_POSITION, c, v);
    ASSERT_NEAR(c[chan(a, "alpha")], 7444.823759, 1e-6);
    ASSERT_NEAR(c[chan(a, "iota")], 3944.948166, 1e-6);
    ASSERT_NEAR(c[chan(a, "eta")], 3618.796149, 1e-6);
    cvm_attribution_free(a);
}
END_TEST

/* Loading the file twice doubles every count and leaves the journeys as
 * they were (merged). */
START_TEST(data_twice)
{
    cvm_attribution *a;
    cvm_paths_csv_options o = CVM_PATHS_CSV_OPTIONS_INIT;
    const cvm__journeys *j;
    double c[12];
    TU_SKIP_IF_NO_DATA();
    a = load_data();
    o.delimiter = ';';
    ck_assert_int_eq(
        cvm_attribution_load_csv(a, tu_data_path("attribution/channelattribution_Data.csv"), &o),
        CVM_OK);
    ck_assert_int_eq(cvm__attr_journeys(a, &j), CVM_OK);
    ck_assert_uint_eq(j->n, 5408);
    run_ok(a, CVM_ATTR_FIRST, c, NULL);
    ASSERT_NEAR(c[chan(a, "alpha")], 2 * 6308, 1e-9);
    ASSERT_NEAR(sum(c, 12), 2 * 19785, 1e-9);
    cvm_attribution_free(a);
}
END_TEST

/* ---- paths: merging, trimming, bad input ----------------------------------- */

START_TEST(paths_merge_and_trim)
{
    cvm_attribution *a = new_handle(NULL);
    const cvm__journeys *j;
    double c[3], v[3];
    add(a, "a>b", 1, 2, 3);
    add(a, "  a  >\tb ", 1, 2, 3);
    add(a, "x > x > x", 2, 4, 0); /* one repeated channel: valid */
    ck_assert_uint_eq(cvm_attribution_channel_count(a), 3);
    ck_assert_str_eq(cvm_attribution_channel_name(a, 1), "b");
    ck_assert_int_eq(cvm__attr_journeys(a, &j), CVM_OK);
    ck_assert_uint_eq(j->n, 2);
    ASSERT_NEAR(j->conversions[0], 2, 0);
    ASSERT_NEAR(j->value[0], 4, 0);
    ASSERT_NEAR(j->nulls[0], 6, 0);
    ck_assert_uint_eq(j->longest, 3);
    run_ok(a, CVM_ATTR_LINEAR, c, v);
    ASSERT_NEAR(c[2], 2, 1e-12); /* all of x > x > x goes to x */
    ASSERT_NEAR(v[2], 4, 1e-12);
    run_ok(a, CVM_ATTR_POSITION, c, v);
    ASSERT_NEAR(c[2], 2, 1e-12);
    /* The wrong separator is not detected: "a,b" is one channel. */
    add(a, "a,b", 1, 0, 0);
    ck_assert_uint_eq(cvm_attribution_channel_count(a), 4);
    ck_assert_str_eq(cvm_attribution_channel_name(a, 3), "a,b");
    cvm_attribution_free(a);
}
END_TEST

START_TEST(paths_custom_separator)
{
    cvm_attribution_options o = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_attribution *a;
    double c[2];
    o.separator = ',';
    a = new_handle(&o);
    add(a, "a , b,a", 1, 0, 0);
    ck_assert_uint_eq(cvm_attribution_channel_count(a), 2);
    run_ok(a, CVM_ATTR_LINEAR, c, NULL);
    ASSERT_NEAR(c[0], 2.0 / 3, 1e-12);
    cvm_attribution_free(a);
}
END_TEST

static void bad_path(cvm_attribution *a, const char *p, size_t len, double c, double v, double u,
                     const char *msg)
{
    size_t before = cvm_attribution_channel_count(a);
    cvm_status st = cvm_attribution_add_path(a, p, len, c, v, u);
    ck_assert_msg(st == CVM_E_INVALID, "'%s': status %d", p ? p : "(null)", (int)st);
    ck_assert_msg(strstr(cvm_attribution_errmsg(a), msg) != NULL, "'%s': message '%s' lacks '%s'",
                  p ? p : "(null)", cvm_attribution_errmsg(a), msg);
    ck_assert_uint_eq(cvm_attribution_channel_count(a), before); /* nothing added */
}

START_TEST(paths_bad_input)
{
    cvm_attribution *a = new_handle(NULL);
    char longname[300], withnul[] = "a > b\0c > d";
    double c[3];
    add(a, "a > b", 1, 1, 0);
    bad_path(a, "", 0, 1, 0, 0, "empty");
    bad_path(a, NULL, 0, 1, 0, 0, "empty");
    bad_path(a, NULL, 3, 1, 0, 0, "NULL");
    bad_path(a, "new > ", 6, 1, 0, 0, "channel 2 is empty");
    bad_path(a, "x >  > y", 8, 1, 0, 0, "channel 2 is empty");
    bad_path(a, " ", 1, 1, 0, 0, "channel 1 is empty");
    bad_path(a, "> a", 3, 1, 0, 0, "channel 1 is empty");
    bad_path(a, "a > b", 5, -1, 0, 0, "negative");
    bad_path(a, "a > b", 5, 1, -0.5, 0, "value");
    bad_path(a, "a > b", 5, 1, 0, -1, "nulls");
    bad_path(a, "a > b", 5, NAN, 0, 0, "NaN");
    bad_path(a, "a > b", 5, 1, INFINITY, 0, "infinite");
    bad_path(a, withnul, sizeof withnul - 1, 1, 0, 0, "NUL");
    memset(longname, 'n', sizeof longname);
    bad_path(a, longname, 256, 1, 0, 0, "longer than 255");
    ck_assert_int_eq(cvm_attribution_add_path(a, longname, 255, 0, 0, 1), CVM_OK);
    ck_assert_uint_eq(cvm_attribution_channel_count(a), 3);
    /* Nothing else changed: the credit is the first path's. */
    run_ok(a, CVM_ATTR_FIRST, c, NULL);
    ASSERT_NEAR(c[0], 1, 0);
    ck_assert_uint_eq(cvm_attribution_channel_count(a), 3);
    cvm_attribution_free(a);
}
END_TEST

/* 100000 touches is the limit, inclusive. */
START_TEST(paths_touch_limit)
{
    cvm_attribution *a = new_handle(NULL);
    size_t n = (size_t)CVM__MAX_PATH_TOUCHES + 1, i, len = 0;
    char *p = malloc(4 * n);
    const cvm__journeys *j;
    double c[2];
    ck_assert_ptr_nonnull(p);
    for (i = 0; i < n; i++) {
        if (i) {
            p[len++] = '>';
        }
        p[len++] = (i % 7 == 3) ? 'b' : 'a';
    }
    /* 100001 touches */
    bad_path(a, p, len, 1, 1, 0, "more than 100000");
    /* drop the last ">a": 100000 touches */
    ck_assert_int_eq(cvm_attribution_add_path(a, p, len - 2, 1, 1, 0), CVM_OK);
    ck_assert_int_eq(cvm__attr_journeys(a, &j), CVM_OK);
    ck_assert_uint_eq(j->longest, 100000);
    run_ok(a, CVM_ATTR_LINEAR, c, NULL);
    ASSERT_NEAR(c[0] + c[1], 1, 1e-9);
    ASSERT_NEAR(c[1], 14286.0 / 100000, 1e-9); /* i % 7 == 3 for i < 1e5: 14286 */
    free(p);
    cvm_attribution_free(a);
}
END_TEST

/* ---- CSV ------------------------------------------------------------------- */

typedef struct csvfile {
    char *dir, *path;
} csvfile;

static csvfile write_csv(const char *text)
{
    csvfile f;
    f.dir = tu_tmpdir();
    f.path = tu_join(f.dir, "paths.csv");
    tu_write_file(f.path, text, strlen(text));
    return f;
}

static void drop_csv(csvfile f)
{
    free(f.path);
    tu_remove_tree(f.dir);
}

static cvm_status load_text(cvm_attribution *a, const char *text,
                            const cvm_paths_csv_options *o)
{
    csvfile f = write_csv(text);
    cvm_status st = cvm_attribution_load_csv(a, f.path, o);
    drop_csv(f);
    return st;
}

START_TEST(csv_defaults_and_columns)
{
    cvm_attribution *a = new_handle(NULL);
    cvm_paths_csv_options o = CVM_PATHS_CSV_OPTIONS_INIT;
    const cvm__journeys *j;
    double c[3], v[3];
    ck_assert_int_eq(load_text(a,
                               "total_null,path,total_conversion_value,total_conversions\n"
                               "1,\"a > b\",10,2\n"
                               "0, b ,3.5 , 1\r\n"
                               "2,a>b,0,0\n",
                               NULL),
                     CVM_OK);
    ck_assert_int_eq(cvm__attr_journeys(a, &j), CVM_OK);
    ck_assert_uint_eq(j->n, 2);
    ASSERT_NEAR(j->nulls[0], 3, 0);
    run_ok(a, CVM_ATTR_LAST, c, v);
    ASSERT_NEAR(c[1], 3, 0);
    ASSERT_NEAR(v[1], 13.5, 0);
    cvm_attribution_free(a);

    /* Other names; no value or null column. */
    a = new_handle(NULL);
    o.path_column = "journey";
    o.conversions_column = "conv";
    o.value_column = NULL;
    o.null_column = NULL;
    o.delimiter = '\t';
    ck_assert_int_eq(load_text(a, "conv\tjourney\textra\n3\tc > d\tzzz\n", &o), CVM_OK);
    run_ok(a, CVM_ATTR_FIRST, c, v);
    ASSERT_NEAR(c[0], 3, 0);
    ASSERT_NEAR(v[0], 0, 0);
    cvm_attribution_free(a);
}
END_TEST

static void csv_error(const char *text, const cvm_paths_csv_options *o, cvm_status want,
                      const char *msg)
{
    cvm_attribution *a = new_handle(NULL);
    csvfile f = write_csv(text);
    double c[2], before;
    cvm_status st;
    add(a, "a > b", 1, 1, 0);
    st = cvm_attribution_load_csv(a, f.path, o);
    ck_assert_msg(st == want, "status %d, expected %d: %s", (int)st, (int)want,
                  cvm_attribution_errmsg(a));
    ck_assert_msg(strstr(cvm_attribution_errmsg(a), f.path) != NULL, "no file name in '%s'",
                  cvm_attribution_errmsg(a));
    ck_assert_msg(strstr(cvm_attribution_errmsg(a), msg) != NULL, "'%s' lacks '%s'",
                  cvm_attribution_errmsg(a), msg);
    /* All or nothing: the rows before the bad one are gone, merged counts
     * are back, new channels are forgotten. */
    ck_assert_uint_eq(cvm_attribution_channel_count(a), 2);
    run_ok(a, CVM_ATTR_FIRST, c, NULL);
    before = c[0];
    ASSERT_NEAR(before, 1, 0);
    drop_csv(f);
    cvm_attribution_free(a);
}

START_TEST(csv_errors)
{
    cvm_paths_csv_options o = CVM_PATHS_CSV_OPTIONS_INIT;
    cvm_attribution *a = new_handle(NULL);
    const char *hdr = "path,total_conversions,total_conversion_value,total_null\n";
    char text[512];
    csv_error("path,total_conversions,total_null\na,1,0\n", NULL, CVM_E_NOT_FOUND,
              ":1: no column named 'total_conversion_value'");
    snprintf(text, sizeof text, "%sa > b,1,1,0\nc > a,2,1,0\nd,x,1,0\n", hdr);
    csv_error(text, NULL, CVM_E_PARSE, ":4:3: total_conversions 'x' is not a number");
    snprintf(text, sizeof text, "%sa > b,1,1,0\nc,1,-2,0\n", hdr);
    csv_error(text, NULL, CVM_E_INVALID, ":3:5: total_conversion_value '-2' is negative");
    snprintf(text, sizeof text, "%sa > b,1,1,0\nc,1,nan,0\n", hdr);
    csv_error(text, NULL, CVM_E_INVALID, ":3:5: total_conversion_value 'nan' is NaN");
    snprintf(text, sizeof text, "%sa > b,1,1,0\nnew >  > a,1,1,0\n", hdr);
    csv_error(text, NULL, CVM_E_INVALID, ":3:6: path 'new >  > a': channel 2 is empty");
    snprintf(text, sizeof text, "%sa > b,1,1,0\n,1,1,0\n", hdr);
    csv_error(text, NULL, CVM_E_INVALID, ":3:1: path '' is empty");
    snprintf(text, sizeof text, "%sa > b,1,1,0\nc,1,1\n", hdr);
    csv_error(text, NULL, CVM_E_PARSE, ":3: 3 fields, expected at least 4");
    snprintf(text, sizeof text, "%sa > b,1,1,0\n\"c,1,1,0\n", hdr);
    csv_error(text, NULL, CVM_E_PARSE, "opened at line 3");
    csv_error(hdr, NULL, CVM_E_EMPTY, "no paths");
    csv_error("", NULL, CVM_E_EMPTY, "no header");
    o.delimiter = ';'; /* the whole header is one column */
    csv_error(hdr, &o, CVM_E_NOT_FOUND, "no column named 'path'");

    ck_assert_int_eq(cvm_attribution_load_csv(a, "/nonexistent/paths.csv", NULL), CVM_E_IO);
    ck_assert_ptr_nonnull(strstr(cvm_attribution_errmsg(a), "/nonexistent/paths.csv"));
    ck_assert_int_eq(cvm_attribution_load_csv(a, NULL, NULL), CVM_E_INVALID);
    o.delimiter = '"';
    ck_assert_int_eq(cvm_attribution_load_csv(a, "x.csv", &o), CVM_E_INVALID);
    o.delimiter = ',';
    o.path_column = NULL;
    ck_assert_int_eq(cvm_attribution_load_csv(a, "x.csv", &o), CVM_E_INVALID);
    o.path_column = "path";
    o.size = sizeof o - 1;
    ck_assert_int_eq(cvm_attribution_load_csv(a, "x.csv", &o), CVM_E_ABI);
    cvm_attribution_free(a);
}
END_TEST

/* ---- touchpoints ------------------------------------------------------------- */

static void touch(cvm_attribution *a, const char *id, const char *ch, int64_t t)
{
    cvm_status st = cvm_attribution_add_touch(a, id, strlen(id), ch, strlen(ch), t);
    ck_assert_msg(st == CVM_OK, "%s", cvm_attribution_errmsg(a));
}

static void convert(cvm_attribution *a, const char *id, int64_t t, double value)
{
    cvm_status st = cvm_attribution_add_conversion(a, id, strlen(id), t, value);
    ck_assert_msg(st == CVM_OK, "%s", cvm_attribution_errmsg(a));
}

/* Journey k of the view as channel names joined by '>' (for comparisons). */
static void journey_text(const cvm_attribution *a, const cvm__journeys *j, size_t k, char *buf,
                         size_t n)
{
    size_t i, len = 0;
    buf[0] = '\0';
    for (i = j->offset[k]; i < j->offset[k + 1]; i++) {
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i > j->offset[k] ? ">" : "",
                                cvm_attribution_channel_name(a, j->channel[i]));
    }
}

typedef struct ev {
    const char *id, *ch; /* ch NULL: a conversion */
    int64_t t;
    double value;
} ev;

/* Customer c1: a@0 b@100 conv@200 (10); c@300 a@400 (a null after the last
 * conversion). Customer c2: a@1000 conv@1000 (the touch at the same second
 * belongs to it) conv@1500 (no touch left: no journey) b@2000 conv@2100 (5).
 * Customer c3: conv@50 only (no journey). */
static const ev events[] = {
    { "c1", "a", 0, 0 },      { "c1", "b", 100, 0 },  { "c1", NULL, 200, 10 },
    { "c1", "c", 300, 0 },    { "c1", "a", 400, 0 },  { "c2", "a", 1000, 0 },
    { "c2", NULL, 1000, 7 },  { "c2", NULL, 1500, 1 }, { "c2", "b", 2000, 0 },
    { "c2", NULL, 2100, 5 },  { "c3", NULL, 50, 2 },
};
#define NEV (sizeof events / sizeof events[0])

static cvm_attribution *touch_handle(int64_t lookback, const size_t *order)
{
    cvm_attribution_options o = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_attribution *a;
    size_t i;
    o.lookback_seconds = lookback;
    a = new_handle(&o);
    for (i = 0; i < NEV; i++) {
        const ev *e = &events[order ? order[i] : i];
        if (e->ch) {
            touch(a, e->id, e->ch, e->t);
        } else {
            convert(a, e->id, e->t, e->value);
        }
    }
    return a;
}

typedef struct want {
    const char *path;
    double conv, value, nulls, age[2];
} want;

START_TEST(touch_journeys)
{
    /* Expected journeys: c1's then c2's. */
    static const want w[4] = { { "a>b", 1, 10, 0, { 200, 100 } },
                               { "c>a", 0, 0, 1, { 100, 0 } },
                               { "a", 1, 7, 0, { 0, 0 } },
                               { "b", 1, 5, 0, { 100, 0 } } };
    /* The same events in a scrambled order (c2@1000's conversion before its
     * touch at the same second); customers then come in as c3, c2, c1, and
     * journeys follow the customers' order. */
    static const size_t shuffled[NEV] = { 10, 9, 2, 6, 4, 0, 5, 3, 8, 1, 7 };
    static const size_t perm[2][4] = { { 0, 1, 2, 3 }, { 2, 3, 0, 1 } };
    const size_t *orders[2] = { NULL, shuffled };
    size_t o, k, i;
    for (o = 0; o < 2; o++) {
        cvm_attribution *a = touch_handle(0, orders[o]);
        const cvm__journeys *j;
        char buf[64];
        ck_assert_int_eq(cvm__attr_journeys(a, &j), CVM_OK);
        ck_assert_uint_eq(j->n, 4);
        ck_assert_ptr_nonnull(j->age);
        ck_assert_uint_eq(j->longest, 2);
        for (k = 0; k < 4; k++) {
            const want *e = &w[perm[o][k]];
            journey_text(a, j, k, buf, sizeof buf);
            ck_assert_str_eq(buf, e->path);
            ck_assert_double_eq(j->conversions[k], e->conv);
            ck_assert_double_eq(j->value[k], e->value);
            ck_assert_double_eq(j->nulls[k], e->nulls);
            for (i = j->offset[k]; i < j->offset[k + 1]; i++) {
                ck_assert_double_eq(j->age[i], e->age[i - j->offset[k]]);
            }
        }
        cvm_attribution_free(a);
    }
}
END_TEST

/* Many events in arrival order (interleaved customers, unsorted times) run
 * through the merge sort; the expected first/last-touch credit comes from a
 * plain per-customer implementation here: stable insertion sort by (time,
 * touches first), then the grouping rule with a 3000 s window. Exact sums of
 * small integers; 1e-9 allows for another order of summation of the values. */
#define RN 3000
#define RCUST 40

START_TEST(touch_many_events)
{
    static int cust[RN], chn[RN], conv[RN], idx[RN];
    static int64_t tm[RN];
    cvm_attribution_options ao = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_attribution *a;
    double want_first[5] = { 0 }, want_last[5] = { 0 }, got[5], vgot[5], vwant[5] = { 0 };
    uint64_t x = 88172645463325252u;
    size_t i, k, n;
    int c;
    ao.lookback_seconds = 3000;
    a = new_handle(&ao);
    /* Intern the channels in a known order. */
    for (c = 0; c < 5; c++) {
        char ch[8];
        snprintf(ch, sizeof ch, "k%d", c);
        touch(a, "warmup", ch, 0);
    }
    for (i = 0; i < RN; i++) {
        char id[16], ch[8];
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cust[i] = (int)(x % RCUST);
        tm[i] = (int64_t)((x >> 8) % 20000);
        conv[i] = (x >> 40) % 5 == 0;
        chn[i] = (int)((x >> 20) % 5);
        snprintf(id, sizeof id, "u%d", cust[i]);
        snprintf(ch, sizeof ch, "k%d", chn[i]);
        if (conv[i]) {
            convert(a, id, tm[i], (double)(1 + i % 3));
        } else {
            touch(a, id, ch, tm[i]);
        }
    }
    for (c = 0; c < RCUST; c++) {
        size_t start;
        for (n = 0, i = 0; i < RN; i++) {
            if (cust[i] == c) {
                int e = (int)i;
                for (k = n++; k > 0 && (tm[idx[k - 1]] > tm[e] ||
                                        (tm[idx[k - 1]] == tm[e] && conv[idx[k - 1]] && !conv[e]));
                     k--) {
                    idx[k] = idx[k - 1];
                }
                idx[k] = e;
            }
        }
        for (start = 0, k = 0; k < n; k++) {
            int e = idx[k];
            if (conv[e]) {
                size_t lo = start;
                while (lo < k && tm[e] - tm[idx[lo]] > 3000) {
                    lo++;
                }
                if (lo < k) {
                    want_first[chn[idx[lo]]] += 1;
                    want_last[chn[idx[k - 1]]] += 1;
                    vwant[chn[idx[lo]]] += (double)(1 + e % 3);
                }
                start = k + 1;
            }
        }
    }
    run_ok(a, CVM_ATTR_FIRST, got, vgot);
    for (c = 0; c < 5; c++) {
        ASSERT_NEAR(got[c], want_first[c], 1e-9);
        ASSERT_NEAR(vgot[c], vwant[c], 1e-9);
    }
    ck_assert_double_gt(sum(got, 5), 100);
    run_ok(a, CVM_ATTR_LAST, got, NULL);
    for (c = 0; c < 5; c++) {
        ASSERT_NEAR(got[c], want_last[c], 1e-9);
    }
    cvm_attribution_free(a);
}
END_TEST

START_TEST(touch_lookback)
{
    /* 150 s: a@0 is 200 s before its conversion (dropped), b@100 stays;
     * the null c@300 a@400 ends at 400: both within 150 s. */
    cvm_attribution *a = touch_handle(150, NULL);
    const cvm__journeys *j;
    char buf[64];
    ck_assert_int_eq(cvm__attr_journeys(a, &j), CVM_OK);
    ck_assert_uint_eq(j->n, 4);
    journey_text(a, j, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "b");
    journey_text(a, j, 1, buf, sizeof buf);
    ck_assert_str_eq(buf, "c>a");
    cvm_attribution_free(a);
    /* 50 s: c1's conversion has no touch within 50 s (no journey); the null
     * keeps only a@400 (c@300 is 100 s before its end); c2 keeps a@1000 and
     * loses b@2000 (100 s before 2100). */
    a = touch_handle(50, NULL);
    ck_assert_int_eq(cvm__attr_journeys(a, &j), CVM_OK);
    ck_assert_uint_eq(j->n, 2);
    journey_text(a, j, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "a");
    ck_assert_double_eq(j->nulls[0], 1);
    journey_text(a, j, 1, buf, sizeof buf);
    ck_assert_str_eq(buf, "a");
    ck_assert_double_eq(j->conversions[1], 1);
    ck_assert_double_eq(j->value[1], 7);
    cvm_attribution_free(a);
}
END_TEST

/* Time decay by hand (half-life 100 s): a@0 and b@100 before a conversion at
 * 200 weigh 2^-2 and 2^-1: a 1/3, b 2/3. A conversion of c4 at 10^9 with a
 * touch 10^7 s earlier (one touch) gets 1 though 2^(-10^5) underflows. */
START_TEST(touch_decay)
{
    cvm_attribution_options ao = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_attribution_run_options o = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    cvm_attribution *a;
    double c[3], v[3];
    ao.lookback_seconds = 0;
    a = new_handle(&ao);
    touch(a, "c1", "a", 0);
    touch(a, "c1", "b", 100);
    convert(a, "c1", 200, 30);
    touch(a, "c1", "c", 300); /* a null: no credit */
    touch(a, "c4", "c", 1000000000 - 10000000);
    touch(a, "c4", "c", 1000000000 - 10000000);
    convert(a, "c4", 1000000000, 4);
    o.model = CVM_ATTR_DECAY;
    o.half_life_seconds = 100;
    ck_assert_msg(cvm_attribution_run(a, &o) == CVM_OK, "%s", cvm_attribution_errmsg(a));
    ck_assert_int_eq(cvm_attribution_credit(a, c, v, 3), CVM_OK);
    ASSERT_NEAR(c[0], 1.0 / 3, 1e-15);
    ASSERT_NEAR(c[1], 2.0 / 3, 1e-15);
    ASSERT_NEAR(c[2], 1, 1e-15);
    ASSERT_NEAR(v[0], 10, 1e-12);
    ASSERT_NEAR(v[1], 20, 1e-12);
    ASSERT_NEAR(v[2], 4, 1e-12);
    /* Paths mixed in: no times, decay refused; the other models use both. */
    add(a, "a > c", 1, 1, 0);
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_INVALID);
    run_ok(a, CVM_ATTR_FIRST, c, v);
    ASSERT_NEAR(c[0], 2, 0);
    ASSERT_NEAR(c[2], 1, 0);
    ASSERT_NEAR(sum(v, 3), 35, 1e-12);
    cvm_attribution_free(a);
}
END_TEST

/* A touchpoint journey has the same limit, found when the journeys are built. */
START_TEST(touch_journey_limit)
{
    cvm_attribution_options o = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_attribution *a;
    double c[1];
    int64_t t;
    o.lookback_seconds = 0;
    a = new_handle(&o);
    for (t = 0; t < CVM__MAX_PATH_TOUCHES; t++) {
        touch(a, "big", "x", t);
    }
    convert(a, "big", t, 1);
    run_ok(a, CVM_ATTR_LINEAR, c, NULL);
    ASSERT_NEAR(c[0], 1, 1e-9);
    touch(a, "big", "x", t + 1);
    touch(a, "big", "x", t + 1);
    convert(a, "big", t + 2, 1); /* 2 touches: fine */
    touch(a, "big", "x", -1);    /* the first journey now has 100001 */
    ck_assert_int_eq(run(a, CVM_ATTR_LINEAR), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_attribution_errmsg(a), "'big'"));
    ck_assert_ptr_nonnull(strstr(cvm_attribution_errmsg(a), "100001 touches"));
    cvm_attribution_free(a);
}
END_TEST

START_TEST(touch_bad_input)
{
    cvm_attribution *a = new_handle(NULL);
    char longid[70000];
    memset(longid, 'i', sizeof longid);
    ck_assert_int_eq(cvm_attribution_add_touch(a, "c", 1, "", 0, 0), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cvm_attribution_errmsg(a), "empty"));
    ck_assert_int_eq(cvm_attribution_add_touch(a, "c", 1, NULL, 2, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_add_touch(a, "", 0, "x", 1, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_add_touch(a, NULL, 3, "x", 1, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_add_touch(a, longid, 65536, "x", 1, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_add_touch(a, longid, 65535, " x ", 3, 0), CVM_OK);
    ck_assert_str_eq(cvm_attribution_channel_name(a, 0), "x");
    ck_assert_int_eq(cvm_attribution_add_conversion(a, "c", 1, 0, -1), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_add_conversion(a, "c", 1, 0, NAN), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_add_conversion(a, "c", 1, 0, INFINITY), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_add_conversion(a, "", 0, 0, 1), CVM_E_INVALID);
    ck_assert_uint_eq(cvm_attribution_channel_count(a), 1);
    /* Only a null journey: nothing to credit. */
    ck_assert_int_eq(run(a, CVM_ATTR_FIRST), CVM_E_EMPTY);
    cvm_attribution_free(a);
    /* Extreme times do not overflow the ages (no lookback limit). */
    {
        cvm_attribution_options o = CVM_ATTRIBUTION_OPTIONS_INIT;
        const cvm__journeys *j;
        double c[1];
        o.lookback_seconds = 0;
        a = new_handle(&o);
        touch(a, "e", "x", INT64_MIN);
        convert(a, "e", INT64_MAX, 1);
        ck_assert_int_eq(cvm__attr_journeys(a, &j), CVM_OK);
        ck_assert_uint_eq(j->n, 1);
        ck_assert_double_eq(j->age[0], 18446744073709551615.0);
        run_ok(a, CVM_ATTR_DECAY, c, NULL);
        ck_assert_double_eq(c[0], 1);
        cvm_attribution_free(a);
    }
}
END_TEST

/* ---- runs, getters, dispatch -------------------------------------------------- */

START_TEST(run_errors_and_getters)
{
    cvm_attribution *a = new_handle(NULL);
    cvm_attribution_run_options o = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    double c[3], m[4];
    ck_assert_int_eq(run(a, CVM_ATTR_FIRST), CVM_E_EMPTY);
    add(a, "a > b", 0, 0, 5);
    ck_assert_int_eq(run(a, CVM_ATTR_FIRST), CVM_E_EMPTY);
    ck_assert_ptr_nonnull(strstr(cvm_attribution_errmsg(a), "no journey converted"));
    add(a, "b", 1, 1, 0);
    o.model = 7;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_INVALID);
    o.model = CVM_ATTR_MARKOV;
    o.order = 5;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_INVALID);
    o.order = 1;
    o.max_steps = -1;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_INVALID);
    o.max_steps = 0;
    o.use_nulls = 2;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_INVALID);
    o.use_nulls = 1;
    o.shapley = 2;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_INVALID);
    o.shapley = 0;
    o.half_life_seconds = 0;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_INVALID);
    o.half_life_seconds = NAN;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_INVALID);
    o.half_life_seconds = 1;
    o.first_share = -0.1;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_INVALID);
    o.first_share = 0.4;
    o.reserved = 1;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_INVALID);
    o.reserved = 0;
    o.size = 8;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_ABI);

    /* No result yet. */
    ck_assert_int_eq(cvm_attribution_credit(a, c, c, 2), CVM_E_INVALID);
    run_ok(a, CVM_ATTR_LAST, c, NULL);
    ck_assert_int_eq(cvm_attribution_credit(a, c, NULL, 3), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_credit(a, NULL, NULL, 2), CVM_OK);
    ck_assert_int_eq(cvm_attribution_credit(NULL, c, c, 2), CVM_E_INVALID);
    /* Not Markov: no removal effects, no chain. */
    ck_assert_int_eq(cvm_attribution_removal_effects(a, c, 2, NULL), CVM_E_INVALID);
    ck_assert_uint_eq(cvm_attribution_state_count(a), 0);
    ck_assert_ptr_null(cvm_attribution_state_name(a, 0));
    ck_assert_int_eq(cvm_attribution_transitions(a, m, 4), CVM_E_INVALID);
    /* New input drops the result. */
    add(a, "c", 1, 1, 0);
    ck_assert_int_eq(cvm_attribution_credit(a, c, NULL, 3), CVM_E_INVALID);
    cvm_attribution_free(a);
}
END_TEST

/* Markov and Shapley reached through the handle on the tiny example: the
 * README's exact order-1 numbers (rational: 1e-9 is solver rounding) and
 * Shapley's equal split of each journey among its distinct channels. */
START_TEST(dispatch_markov_shapley)
{
    cvm_attribution *a = tiny();
    cvm_attribution_run_options o = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    double c[3], v[3], re[3], p = 0, *m;
    size_t s, i;
    ck_assert_msg(cvm_attribution_run(a, &o) == CVM_OK, "%s", cvm_attribution_errmsg(a));
    ck_assert_int_eq(cvm_attribution_credit(a, c, v, 3), CVM_OK);
    ck_assert_int_eq(cvm_attribution_removal_effects(a, re, 3, &p), CVM_OK);
    ASSERT_NEAR(p, 5.0 / 13, 1e-9);
    ASSERT_NEAR(re[0], 24.0 / 55, 1e-9);
    ASSERT_NEAR(re[1], 4.0 / 5, 1e-9);
    ASSERT_NEAR(re[2], 36.0 / 55, 1e-9);
    ASSERT_NEAR(c[0], 15.0 / 13, 1e-9);
    ASSERT_NEAR(sum(c, 3), 5, 1e-9);
    ASSERT_NEAR(sum(v, 3), 42, 1e-9);
    s = cvm_attribution_state_count(a);
    ck_assert_uint_eq(s, 6);
    ck_assert_str_eq(cvm_attribution_state_name(a, 0), "(start)");
    ck_assert_ptr_null(cvm_attribution_state_name(a, s));
    m = malloc(s * s * sizeof *m);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(cvm_attribution_transitions(a, m, s * s - 1), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_transitions(a, m, s * s), CVM_OK);
    for (i = 0; i < s; i++) {
        ASSERT_NEAR(sum(m + i * s, s), 1, 1e-12);
    }
    free(m);

    o.model = CVM_ATTR_SHAPLEY;
    ck_assert_msg(cvm_attribution_run(a, &o) == CVM_OK, "%s", cvm_attribution_errmsg(a));
    ck_assert_int_eq(cvm_attribution_credit(a, c, v, 3), CVM_OK);
    ASSERT_NEAR(c[0], 7.0 / 6, 1e-12);
    ASSERT_NEAR(c[1], 8.0 / 3, 1e-12);
    ASSERT_NEAR(c[2], 7.0 / 6, 1e-12);
    ck_assert_uint_eq(cvm_attribution_state_count(a), 0);
    ck_assert_int_eq(cvm_attribution_removal_effects(a, re, 3, &p), CVM_E_INVALID);
    cvm_attribution_free(a);
}
END_TEST

/* ROI by hand on the tiny example's last touch: conversions A 0, B 2, C 3;
 * value A 0, B 12, C 30. Spend A 10, B 6, C 0: roi 0, 2, 0 (no spend);
 * cost per conversion 0 (no conversion), 3, 0. Exact. */
START_TEST(roi_hand)
{
    cvm_attribution *a = tiny();
    const double spend[3] = { 10, 6, 0 };
    double bad[3] = { 10, -1, 0 };
    double roi[3], cost[3];
    char err[256];
    ck_assert_int_eq(cvm_attribution_roi(a, spend, 3, roi, cost, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "no model run"));
    ck_assert_int_eq(run(a, CVM_ATTR_LAST), CVM_OK);
    ck_assert_int_eq(cvm_attribution_roi(a, spend, 3, roi, cost, err, sizeof err), CVM_OK);
    ck_assert_str_eq(err, "");
    ck_assert_double_eq(roi[0], 0);
    ck_assert_double_eq(roi[1], 2);
    ck_assert_double_eq(roi[2], 0);
    ck_assert_double_eq(cost[0], 0);
    ck_assert_double_eq(cost[1], 3);
    ck_assert_double_eq(cost[2], 0);
    ck_assert_int_eq(cvm_attribution_roi(a, spend, 3, NULL, cost, NULL, 0), CVM_OK);
    ck_assert_int_eq(cvm_attribution_roi(a, bad, 3, roi, cost, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "'B'"));
    bad[1] = NAN;
    ck_assert_int_eq(cvm_attribution_roi(a, bad, 3, roi, cost, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_roi(a, spend, 2, roi, cost, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_roi(a, NULL, 3, roi, cost, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm_attribution_roi(NULL, spend, 3, roi, cost, err, sizeof err),
                     CVM_E_INVALID);
    cvm_attribution_free(a);
}
END_TEST

/* ---- allocation failures -------------------------------------------------------- */

/* One pass of everything that allocates; returns the first status that is
 * not OK (which must be NOMEM). */
static cvm_status oom_pass(const cvm_allocator *al, const char *csv)
{
    static const int32_t models[] = { CVM_ATTR_FIRST,  CVM_ATTR_LINEAR, CVM_ATTR_POSITION,
                                      CVM_ATTR_DECAY,  CVM_ATTR_MARKOV, CVM_ATTR_SHAPLEY };
    cvm_attribution_options o = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_attribution *a = NULL;
    cvm_status st;
    char id[16], ch[16];
    size_t i;
    o.allocator = al;
    st = cvm_attribution_new(&a, &o);
    if (st != CVM_OK) {
        ck_assert_ptr_null(a);
        return st;
    }
    for (i = 0; i < 40 && st == CVM_OK; i++) {
        snprintf(id, sizeof id, "customer-%zu", i % 7);
        snprintf(ch, sizeof ch, "ch%zu", i % 5);
        st = cvm_attribution_add_touch(a, id, strlen(id), ch, strlen(ch), (int64_t)(i * 37 % 101));
        if (st == CVM_OK && i % 3 == 2) {
            st = cvm_attribution_add_conversion(a, id, strlen(id), (int64_t)(i * 37 % 101), 1.5);
        }
    }
    for (i = 0; i < 6 && st == CVM_OK; i++) {
        cvm_attribution_run_options ro = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
        ro.model = models[i];
        st = cvm_attribution_run(a, &ro);
    }
    if (st == CVM_OK) {
        st = cvm_attribution_load_csv(a, csv, NULL);
    }
    for (i = 0; i < 30 && st == CVM_OK; i++) {
        char p[64];
        snprintf(p, sizeof p, "ch%zu > new%zu > ch%zu", i % 4, i % 9, i % 3);
        st = cvm_attribution_add_path(a, p, strlen(p), 1, 2, 1);
    }
    for (i = 0; i < 6 && st == CVM_OK; i++) {
        cvm_attribution_run_options ro = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
        ro.model = models[i];
        if (models[i] == CVM_ATTR_DECAY) {
            continue;
        }
        ro.order = 2;
        st = cvm_attribution_run(a, &ro);
    }
    if (st != CVM_OK) {
        ck_assert_msg(st == CVM_E_NOMEM, "status %d: %s", (int)st, cvm_attribution_errmsg(a));
        /* Still usable after a failure. */
        (void)cvm_attribution_channel_count(a);
    }
    cvm_attribution_free(a);
    return st;
}

START_TEST(failing_allocator)
{
    csvfile f = write_csv("path,total_conversions,total_conversion_value,total_null\n"
                          "ch1 > x > ch2,3,4,5\nch0,1,1,1\ny > y > z,0,0,2\nch1 > x > ch2,1,1,1\n");
    tu_failing s;
    cvm_allocator al;
    size_t k, ok = 0;
    for (k = 1; k < 4000 && ok == 0; k++) {
        memset(&s, 0, sizeof s);
        s.fail_at = k;
        al = tu_failing_allocator(&s);
        if (oom_pass(&al, f.path) == CVM_OK) {
            ok = k;
        }
        ck_assert_msg(s.live == 0, "fail at %zu: %ld blocks leaked", k, s.live);
    }
    ck_assert_msg(ok > 0, "never got through");
    /* Every 3rd allocation failing after the 5th. */
    memset(&s, 0, sizeof s);
    s.fail_at = 5;
    s.every = 3;
    al = tu_failing_allocator(&s);
    (void)oom_pass(&al, f.path);
    ck_assert_int_eq(s.live, 0);
    drop_csv(f);
}
END_TEST

/* Totals that overflow are reported, not turned into NaN credit; a
 * truncated horizon past the work limit is refused; a very long cycle
 * (one path of 20000 alternating touches, order 2) still converges, to the
 * documented 1e-9 where rounding stalls the iteration. */
START_TEST(run_limits)
{
    cvm_attribution *a = NULL;
    cvm_attribution_run_options o = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    /* A 20000-touch journey takes ~20000 Gauss-Seidel sweeps; CVM_TEST_QUICK
     * (valgrind) takes 2000 touches, which still visit ~397 of the 400 states. */
    const size_t touches = tu_quick() ? 2000 : 20000;
    char *path = malloc(touches * 2);
    double p;
    size_t i;
    ck_assert_int_eq(cvm_attribution_new(&a, NULL), CVM_OK);
    ck_assert_int_eq(cvm_attribution_add_path(a, "a > b", 5, 1e308, 1, 0), CVM_OK);
    ck_assert_int_eq(cvm_attribution_add_path(a, "b > c", 5, 1e308, 1, 0), CVM_OK);
    for (o.model = CVM_ATTR_FIRST; o.model <= CVM_ATTR_SHAPLEY; o.model++) {
        if (o.model == CVM_ATTR_DECAY) {
            continue;
        }
        ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_RANGE);
        ck_assert_msg(strstr(cvm_attribution_errmsg(a), "overflow"), "%s", cvm_attribution_errmsg(a));
    }
    cvm_attribution_free(a);

    ck_assert_int_eq(cvm_attribution_new(&a, NULL), CVM_OK);
    {
        uint32_t r = 12345;
        for (i = 0; i < touches; i++) { /* 20 channels, order 2: ~400 states, past dense */
            r = r * 1103515245u + 12345u;
            path[2 * i] = (char)('a' + (r >> 16) % 20);
            path[2 * i + 1] = '>';
        }
    }
    ck_assert_int_eq(cvm_attribution_add_path(a, path, 2 * touches - 1, 1, 1, 1), CVM_OK);
    o = (cvm_attribution_run_options)CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    o.order = 2;
    ck_assert_msg(cvm_attribution_run(a, &o) == CVM_OK, "%s", cvm_attribution_errmsg(a));
    ck_assert_int_eq(cvm_attribution_removal_effects(a, NULL, 0, &p), CVM_E_INVALID);
    {
        double eff[20];
        ck_assert_uint_eq(cvm_attribution_channel_count(a), 20);
        ck_assert_uint_gt(cvm_attribution_state_count(a), 256 + 3);
        ck_assert_int_eq(cvm_attribution_removal_effects(a, eff, 20, &p), CVM_OK);
    }
    ck_assert_msg(fabs(p - 0.5) <= 1e-9, "P(conv) %.17g", p);
    o.max_steps = INT32_MAX;
    ck_assert_int_eq(cvm_attribution_run(a, &o), CVM_E_INVALID);
    ck_assert_msg(strstr(cvm_attribution_errmsg(a), "work limit"), "%s", cvm_attribution_errmsg(a));
    cvm_attribution_free(a);
    free(path);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("attribution");
    TCase *tc = tcase_create("attribution");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, run_limits);
    tcase_add_test(tc, options_init_match_macros);
    tcase_add_test(tc, new_bad_options);
    tcase_add_test(tc, tiny_heuristics);
    tcase_add_test(tc, position_shares);
    tcase_add_test(tc, data_heuristics);
    tcase_add_test(tc, data_twice);
    tcase_add_test(tc, paths_merge_and_trim);
    tcase_add_test(tc, paths_custom_separator);
    tcase_add_test(tc, paths_bad_input);
    tcase_add_test(tc, paths_touch_limit);
    tcase_add_test(tc, touch_journey_limit);
    tcase_add_test(tc, csv_defaults_and_columns);
    tcase_add_test(tc, csv_errors);
    tcase_add_test(tc, touch_journeys);
    tcase_add_test(tc, touch_many_events);
    tcase_add_test(tc, touch_lookback);
    tcase_add_test(tc, touch_decay);
    tcase_add_test(tc, touch_bad_input);
    tcase_add_test(tc, run_errors_and_getters);
    tcase_add_test(tc, dispatch_markov_shapley);
    tcase_add_test(tc, roi_hand);
    tcase_add_test(tc, failing_allocator);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
