/* Every options struct's CVM_*_OPTIONS_INIT macro equals what its
 * cvm_*_options_init() function writes, member by member (padding would make
 * memcmp unreliable). Doubles compare bit-exactly (NaN with NaN, -0 apart from
 * 0), strings by content (the macro's literals and the library's defaults are
 * different objects), other pointers exactly.
 *
 * Nothing can be left out silently:
 *  - tests/check_options.py (the 'options-coverage' test) reads the headers
 *    and fails unless every CVM_*_INIT macro, every cvm_*_options struct and
 *    every member of it is checked here, in an OPTIONS_BEGIN/OPTIONS_END
 *    block of the form used below;
 *  - OPTIONS_END checks that the members compared cover the struct: their
 *    sizes add up to sizeof (on LP64 targets, where the layouts have no
 *    padding; elsewhere at most sizeof);
 *  - the struct the function fills starts as 0xA5 bytes, so a member the
 *    function leaves unset differs from the macro's;
 *  - FIELD() picks the comparison from the member's type with _Generic and
 *    does not compile for a type it does not know. */
#include "testutil.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static void same_int(const char *type, const char *name, intmax_t m, intmax_t f)
{
    ck_assert_msg(m == f, "%s.%s: macro %" PRIdMAX ", function %" PRIdMAX, type, name, m, f);
}

static void same_uint(const char *type, const char *name, uintmax_t m, uintmax_t f)
{
    ck_assert_msg(m == f, "%s.%s: macro %" PRIuMAX ", function %" PRIuMAX, type, name, m, f);
}

static void same_double(const char *type, const char *name, double m, double f)
{
    int same = isnan(m) ? isnan(f) : (m == f && !signbit(m) == !signbit(f));
    ck_assert_msg(same, "%s.%s: macro %.17g, function %.17g", type, name, m, f);
}

static void same_str(const char *type, const char *name, const char *m, const char *f)
{
    int same = (m == NULL || f == NULL) ? m == f : strcmp(m, f) == 0;
    ck_assert_msg(same, "%s.%s: macro \"%s\", function \"%s\"", type, name, m ? m : "(null)",
                  f ? f : "(null)");
}

static void same_ptr(const char *type, const char *name, const void *m, const void *f)
{
    ck_assert_msg(m == f, "%s.%s: macro %p, function %p", type, name, m, f);
}

#define SAME(type, name, m, f)                                                            \
    _Generic((m),                                                                         \
        int: same_int, long: same_int, long long: same_int,                               \
        unsigned: same_uint, unsigned long: same_uint, unsigned long long: same_uint,     \
        double: same_double,                                                              \
        const char *: same_str,                                                           \
        const double *: same_ptr, const cvm_allocator *: same_ptr)(type, name, m, f)

/* OPTIONS_BEGIN(type, INIT macro, init function) declares `m` (the macro's
 * struct) and `f` (the function's), checks `size` in both and counts it. */
#define OPTIONS_BEGIN(T, INIT, init_fn)                                                   \
    const char *type_ = #T;                                                               \
    T m = INIT;                                                                           \
    T f;                                                                                  \
    size_t covered_ = sizeof m.size;                                                      \
    memset(&f, 0xA5, sizeof f);                                                           \
    ck_assert_int_eq(init_fn(&f, sizeof f), CVM_OK);                                      \
    ck_assert_uint_eq(m.size, sizeof(T));                                                 \
    ck_assert_uint_eq(f.size, sizeof(T))

/* One member. */
#define FIELD(x)                                                                          \
    do {                                                                                  \
        SAME(type_, #x, m.x, f.x);                                                        \
        covered_ += sizeof m.x;                                                           \
    } while (0)

/* An array member, element by element. */
#define ARRAY(x)                                                                          \
    do {                                                                                  \
        size_t i_;                                                                        \
        for (i_ = 0; i_ < sizeof m.x / sizeof m.x[0]; i_++) {                             \
            SAME(type_, #x "[i]", m.x[i_], f.x[i_]);                                      \
        }                                                                                 \
        covered_ += sizeof m.x;                                                           \
    } while (0)

#define OPTIONS_END(T) check_covered(type_, covered_, sizeof(T))

static void check_covered(const char *type, size_t covered, size_t size)
{
    if (sizeof(void *) == 8) {
        ck_assert_msg(covered == size, "%s: the members compared cover %zu of its %zu bytes", type,
                      covered, size);
    } else {
        ck_assert_msg(covered <= size, "%s: members of %zu bytes in %zu", type, covered, size);
    }
}

/* ---- customers.h ------------------------------------------------------------ */

START_TEST(test_customers_options)
{
    OPTIONS_BEGIN(cvm_customers_options, CVM_CUSTOMERS_OPTIONS_INIT, cvm_customers_options_init);
    FIELD(allocator);
    FIELD(period_seconds);
    FIELD(period_origin);
    FIELD(calibration_end);
    OPTIONS_END(cvm_customers_options);
}
END_TEST

START_TEST(test_csv_options)
{
    OPTIONS_BEGIN(cvm_csv_options, CVM_CSV_OPTIONS_INIT, cvm_csv_options_init);
    FIELD(id_column);
    FIELD(date_column);
    FIELD(amount_column);
    FIELD(id_index);
    FIELD(date_index);
    FIELD(amount_index);
    FIELD(date_format);
    FIELD(delimiter);
    FIELD(whitespace);
    FIELD(has_header);
    FIELD(reserved);
    OPTIONS_END(cvm_csv_options);
}
END_TEST

START_TEST(test_summary_options)
{
    OPTIONS_BEGIN(cvm_summary_options, CVM_SUMMARY_OPTIONS_INIT, cvm_summary_options_init);
    FIELD(unit_seconds);
    FIELD(observation_end);
    OPTIONS_END(cvm_summary_options);
}
END_TEST

/* ---- clv.h -------------------------------------------------------------------- */

START_TEST(test_simulate_options)
{
    OPTIONS_BEGIN(cvm_simulate_options, CVM_SIMULATE_OPTIONS_INIT, cvm_simulate_options_init);
    FIELD(seed);
    FIELD(customers);
    FIELD(model);
    FIELD(spend);
    ARRAY(params);
    ARRAY(spend_params);
    FIELD(start);
    FIELD(acquisition_seconds);
    FIELD(duration_seconds);
    FIELD(unit_seconds);
    OPTIONS_END(cvm_simulate_options);
}
END_TEST

START_TEST(test_fit_options)
{
    OPTIONS_BEGIN(cvm_fit_options, CVM_FIT_OPTIONS_INIT, cvm_fit_options_init);
    FIELD(penalizer);
    FIELD(tolerance);
    FIELD(initial);
    FIELD(max_iterations);
    FIELD(starts);
    OPTIONS_END(cvm_fit_options);
}
END_TEST

START_TEST(test_clv_options)
{
    OPTIONS_BEGIN(cvm_clv_options, CVM_CLV_OPTIONS_INIT, cvm_clv_options_init);
    FIELD(allocator);
    FIELD(kind);
    FIELD(reserved);
    OPTIONS_END(cvm_clv_options);
}
END_TEST

START_TEST(test_model_options)
{
    OPTIONS_BEGIN(cvm_model_options, CVM_MODEL_OPTIONS_INIT, cvm_model_options_init);
    FIELD(allocator);
    OPTIONS_END(cvm_model_options);
}
END_TEST

START_TEST(test_value_options)
{
    OPTIONS_BEGIN(cvm_value_options, CVM_VALUE_OPTIONS_INIT, cvm_value_options_init);
    FIELD(periods);
    FIELD(reserved);
    FIELD(period_length);
    FIELD(discount_rate);
    FIELD(margin);
    OPTIONS_END(cvm_value_options);
}
END_TEST

/* ---- segment.h ---------------------------------------------------------------- */

START_TEST(test_rfm_options)
{
    OPTIONS_BEGIN(cvm_rfm_options, CVM_RFM_OPTIONS_INIT, cvm_rfm_options_init);
    FIELD(allocator);
    FIELD(bins);
    FIELD(ties);
    FIELD(map);
    FIELD(reserved);
    OPTIONS_END(cvm_rfm_options);
}
END_TEST

START_TEST(test_kmeans_options)
{
    OPTIONS_BEGIN(cvm_kmeans_options, CVM_KMEANS_OPTIONS_INIT, cvm_kmeans_options_init);
    FIELD(allocator);
    FIELD(seed);
    FIELD(tolerance);
    FIELD(k);
    FIELD(n_init);
    FIELD(max_iterations);
    FIELD(scaling);
    OPTIONS_END(cvm_kmeans_options);
}
END_TEST

START_TEST(test_tiers_options)
{
    OPTIONS_BEGIN(cvm_tiers_options, CVM_TIERS_OPTIONS_INIT, cvm_tiers_options_init);
    FIELD(allocator);
    FIELD(top_shares);
    FIELD(nshares);
    OPTIONS_END(cvm_tiers_options);
}
END_TEST

START_TEST(test_lifecycle_options)
{
    OPTIONS_BEGIN(cvm_lifecycle_options, CVM_LIFECYCLE_OPTIONS_INIT, cvm_lifecycle_options_init);
    FIELD(new_age);
    FIELD(at_risk_gaps);
    FIELD(lapsed_gaps);
    FIELD(at_risk_p_alive);
    FIELD(lapsed_p_alive);
    OPTIONS_END(cvm_lifecycle_options);
}
END_TEST

/* ---- attribution.h ------------------------------------------------------------ */

START_TEST(test_attribution_options)
{
    OPTIONS_BEGIN(cvm_attribution_options, CVM_ATTRIBUTION_OPTIONS_INIT,
                  cvm_attribution_options_init);
    FIELD(allocator);
    FIELD(lookback_seconds);
    FIELD(separator);
    FIELD(reserved);
    OPTIONS_END(cvm_attribution_options);
}
END_TEST

START_TEST(test_paths_csv_options)
{
    OPTIONS_BEGIN(cvm_paths_csv_options, CVM_PATHS_CSV_OPTIONS_INIT, cvm_paths_csv_options_init);
    FIELD(path_column);
    FIELD(conversions_column);
    FIELD(value_column);
    FIELD(null_column);
    FIELD(delimiter);
    FIELD(reserved);
    OPTIONS_END(cvm_paths_csv_options);
}
END_TEST

START_TEST(test_attribution_run_options)
{
    OPTIONS_BEGIN(cvm_attribution_run_options, CVM_ATTRIBUTION_RUN_OPTIONS_INIT,
                  cvm_attribution_run_options_init);
    FIELD(half_life_seconds);
    FIELD(first_share);
    FIELD(last_share);
    FIELD(model);
    FIELD(order);
    FIELD(max_steps);
    FIELD(use_nulls);
    FIELD(shapley);
    FIELD(reserved);
    OPTIONS_END(cvm_attribution_run_options);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("init");
    tcase_add_test(tc, test_customers_options);
    tcase_add_test(tc, test_csv_options);
    tcase_add_test(tc, test_summary_options);
    tcase_add_test(tc, test_simulate_options);
    tcase_add_test(tc, test_fit_options);
    tcase_add_test(tc, test_clv_options);
    tcase_add_test(tc, test_model_options);
    tcase_add_test(tc, test_value_options);
    tcase_add_test(tc, test_rfm_options);
    tcase_add_test(tc, test_kmeans_options);
    tcase_add_test(tc, test_tiers_options);
    tcase_add_test(tc, test_lifecycle_options);
    tcase_add_test(tc, test_attribution_options);
    tcase_add_test(tc, test_paths_csv_options);
    tcase_add_test(tc, test_attribution_run_options);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
