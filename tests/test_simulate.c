/* The simulator against the model it draws from. */
#include "testutil.h"

#include <math.h>
#include <string.h>

typedef struct tally {
    size_t customers, purchases, last;
    double sum_amount, sum_repeats, sum_repeats2;
    long repeats; /* of the current customer */
    int64_t first, prev, end;
    int ordered;
    uint64_t digest; /* FNV-1a over the stream */
} tally;

static void close_customer(tally *t)
{
    if (t->customers > 0) {
        t->sum_repeats += (double)t->repeats;
        t->sum_repeats2 += (double)t->repeats * (double)t->repeats;
    }
}

static int count(void *ud, size_t customer, int64_t time, double amount)
{
    tally *t = ud;
    unsigned char bytes[24];
    size_t i;
    if (t->customers == 0 || customer != t->last) {
        close_customer(t);
        t->customers++;
        t->last = customer;
        t->repeats = -1;
        t->first = time;
        t->prev = time;
    }
    t->ordered &= time >= t->prev && time < t->end;
    t->prev = time;
    t->repeats++;
    t->purchases++;
    t->sum_amount += amount;
    memcpy(bytes, &customer, sizeof customer < 8 ? sizeof customer : 8);
    memcpy(bytes + 8, &time, 8);
    memcpy(bytes + 16, &amount, 8);
    for (i = 0; i < sizeof bytes; i++) {
        t->digest = (t->digest ^ bytes[i]) * 0x100000001B3u;
    }
    return 0;
}

static tally run(const cvm_simulate_options *o)
{
    tally t;
    memset(&t, 0, sizeof t);
    t.ordered = 1;
    t.digest = 0xCBF29CE484222325u;
    t.end = o->start + o->duration_seconds;
    ck_assert_int_eq(cvm_simulate(o, count, &t), CVM_OK);
    close_customer(&t);
    return t;
}

START_TEST(options_init_matches_macro)
{
    cvm_simulate_options a = CVM_SIMULATE_OPTIONS_INIT, b;
    memset(&b, 0xAB, sizeof b);
    ck_assert_int_eq(cvm_simulate_options_init(&b, sizeof b), CVM_OK);
    ck_assert_mem_eq(&a, &b, sizeof a);
    ck_assert_int_eq(cvm_simulate_options_init(&b, sizeof b - 8), CVM_E_ABI);
}
END_TEST

START_TEST(same_seed_same_stream)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    tally a, b, c;
    o.customers = 2000;
    a = run(&o);
    b = run(&o);
    o.seed = 2;
    c = run(&o);
    ck_assert_uint_eq(a.digest, b.digest);
    ck_assert_uint_ne(a.digest, c.digest);
    ck_assert_uint_eq(a.customers, 2000);
    ck_assert(a.ordered);
}
END_TEST

/* With every customer starting at once, the mean number of repeat purchases
 * in 78 weeks is BG/NBD's E[X(78)] = 1.8576 at the CDNOW estimates (Hardie's
 * spreadsheet, quoted in shared/data/README.md). The mean amount per purchase
 * is Gamma-Gamma's E[z] = p v / (q - 1) = 35.219 (amounts are independent of
 * purchase rates). Tolerance: 5 standard errors of the sample mean, so a
 * correct simulator fails about once in 3.5 million seeds — and the seed is
 * fixed. */
START_TEST(moments_match_the_model)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    tally t;
    double n, mean, var, se;
    o.customers = 200000;
    o.acquisition_seconds = 0;
    o.seed = 12345;
    t = run(&o);
    n = (double)t.customers;
    mean = t.sum_repeats / n;
    var = t.sum_repeats2 / n - mean * mean;
    se = sqrt(var / n);
    ck_assert_msg(fabs(mean - 1.8576) < 5 * se, "E[X(78)] %.4f vs 1.8576 (se %.4f)", mean, se);
    /* The amount's standard error: Var(z) is finite for q > 2; a bound from
     * the sample is enough here, so use 1% of the mean as a loose check. */
    ck_assert_msg(fabs(t.sum_amount / (double)t.purchases - 6.25 * 15.44 / 2.74) < 0.35,
                  "mean amount %.3f vs 35.219", t.sum_amount / (double)t.purchases);
}
END_TEST

START_TEST(bad_options_rejected)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    tally t;
    memset(&t, 0, sizeof t);
    ck_assert_int_eq(cvm_simulate(&o, NULL, NULL), CVM_E_INVALID);
    o.params[1] = -1;
    ck_assert_int_eq(cvm_simulate(&o, count, &t), CVM_E_INVALID);
    o.params[1] = NAN;
    ck_assert_int_eq(cvm_simulate(&o, count, &t), CVM_E_INVALID);
    o.params[1] = 4.4;
    o.model = 99;
    ck_assert_int_eq(cvm_simulate(&o, count, &t), CVM_E_INVALID);
    o.model = CVM_MODEL_BGNBD;
    o.duration_seconds = 0;
    ck_assert_int_eq(cvm_simulate(&o, count, &t), CVM_E_INVALID);
    ck_assert_uint_eq(t.purchases, 0);
}
END_TEST

static int stop_after_ten(void *ud, size_t customer, int64_t time, double amount)
{
    size_t *n = ud;
    (void)customer;
    (void)time;
    (void)amount;
    return ++*n >= 10;
}

START_TEST(callback_can_stop)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    size_t n = 0;
    ck_assert_int_eq(cvm_simulate(&o, stop_after_ten, &n), CVM_OK);
    ck_assert_uint_eq(n, 10);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("simulate");
    TCase *tc = tcase_create("bgnbd");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, options_init_matches_macro);
    tcase_add_test(tc, same_seed_same_stream);
    tcase_add_test(tc, moments_match_the_model);
    tcase_add_test(tc, bad_options_rejected);
    tcase_add_test(tc, callback_can_stop);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
