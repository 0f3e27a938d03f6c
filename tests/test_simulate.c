/* The simulator against the model it draws from. */
#include "testutil.h"

#include <math.h>
#include <string.h>

typedef struct tally {
    size_t customers, purchases, last;
    double sum_amount, sum_amount2, sum_repeats, sum_repeats2;
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
    t->sum_amount2 += amount * amount;
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

/* Gauss 2F1(a, b; c; z) by its series; converges for 0 <= z < 1. */
static double hyp2f1(double a, double b, double c, double z)
{
    double term = 1, sum = 1;
    int k;
    for (k = 0; k < 1000000 && fabs(term) > 1e-16 * fabs(sum); k++) {
        term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z;
        sum += term;
    }
    return sum;
}

/* BG/NBD's E[X(t)] for a customer observed from the first purchase
 * (Fader, Hardie & Lee 2005, eq. 9). */
static double bgnbd_expected(const double *p, double t)
{
    double r = p[0], alpha = p[1], a = p[2], b = p[3];
    return (a + b - 1) / (a - 1) *
           (1 - pow(alpha / (alpha + t), r) * hyp2f1(r, b, a + b - 1, t / (alpha + t)));
}

/* The formula above reproduces Hardie's spreadsheet (shared/data/README.md:
 * E[X(t)] at the CDNOW MLE, 4 decimals) for t up to 32 weeks. At 78 weeks the
 * spreadsheet's 1.8576 is the 2F1 series cut after about 150 terms (z = 0.946
 * converges slowly); the converged value is 1.85796, so that point gets a
 * tolerance of 0.0005. */
START_TEST(reference_formula_matches_hardie)
{
    static const double mle[4] = {0.242595, 4.413603, 0.792922, 2.425906};
    static const double t[6] = {0.1429, 1, 3, 31.8571, 32, 78};
    static const double want[6] = {0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576};
    int k;
    for (k = 0; k < 6; k++) {
        ck_assert_double_eq_tol(bgnbd_expected(mle, t[k]), want[k], k < 5 ? 0.00005 : 0.0005);
    }
}
END_TEST

/* With every customer starting at once, the mean number of repeat purchases
 * in 78 weeks is E[X(78)] at the parameters simulated, and the mean amount
 * per purchase is Gamma-Gamma's E[z] = p v / (q - 1) (amounts are drawn
 * independently of purchase rates). Tolerance: 4 standard errors of each
 * sample mean, estimated from the sample itself; the seed is fixed, and a
 * correct simulator passes with probability 0.99994 for any seed. */
START_TEST(moments_match_the_model)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    tally t;
    double n, mean, var, se, want, z, z_se;
    o.customers = 400000;
    o.acquisition_seconds = 0;
    o.seed = 12345;
    t = run(&o);
    n = (double)t.customers;
    mean = t.sum_repeats / n;
    var = t.sum_repeats2 / n - mean * mean;
    se = sqrt(var / n);
    want = bgnbd_expected(o.params, 78);
    ck_assert_msg(fabs(mean - want) < 4 * se, "E[X(78)] %.5f vs %.5f (se %.5f)", mean, want, se);
    z = t.sum_amount / (double)t.purchases;
    z_se = sqrt((t.sum_amount2 / (double)t.purchases - z * z) / (double)t.purchases);
    want = o.spend_params[0] * o.spend_params[2] / (o.spend_params[1] - 1);
    ck_assert_msg(fabs(z - want) < 4 * z_se, "mean amount %.4f vs %.4f (se %.4f)", z, want, z_se);
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
    tcase_add_test(tc, reference_formula_matches_hardie);
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
