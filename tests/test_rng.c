/* Tests for the PRNG (src/core/rng.c). */
#include "core/core_int.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

/* Golden values: computed once by an independent Python implementation of
 * splitmix64 seeding, xoshiro256** and Lemire's bounded draw, written from
 * the published reference code (prng.di.unimi.it) and the paper, not from
 * rng.c. Its splitmix64(0) first output, 0xE220A8397B1DCDAF, matches the
 * value published for splitmix64. */
static const uint64_t golden_seed0[8] = {
    UINT64_C(0x99EC5F36CB75F2B4), UINT64_C(0xBF6E1F784956452A), UINT64_C(0x1A5F849D4933E6E0),
    UINT64_C(0x6AA594F1262D2D2C), UINT64_C(0xBBA5AD4A1F842E59), UINT64_C(0xFFEF8375D9EBCACA),
    UINT64_C(0x6C160DEED2F54C98), UINT64_C(0x8920AD648FC30A3F),
};

static const uint64_t golden_seed42[8] = {
    UINT64_C(0x15780B2E0C2EC716), UINT64_C(0x6104D9866D113A7E), UINT64_C(0xAE17533239E499A1),
    UINT64_C(0xECB8AD4703B360A1), UINT64_C(0xFDE6DC7FE2EC5E64), UINT64_C(0xC50DA53101795238),
    UINT64_C(0xB82154855A65DDB2), UINT64_C(0xD99A2743EBE60087),
};

/* Eight cvm__rng_below(n) draws from seed 7, then the next raw output, which
 * pins how many words the rejections consumed (noted per row). */
typedef struct golden_below {
    uint64_t n;
    uint64_t values[8];
    uint64_t next_raw;
} golden_below;

static const golden_below golden_below_seed7[] = {
    /* 8 draws, no rejection */
    {UINT64_C(0x6),
     {UINT64_C(4), UINT64_C(1), UINT64_C(5), UINT64_C(5), UINT64_C(5), UINT64_C(5), UINT64_C(0),
      UINT64_C(0)},
     UINT64_C(0x67594F96CAC88520)},
    /* 19 draws: about half the words are rejected */
    {UINT64_C(0x8000000000000001),
     {UINT64_C(6461677535414237997), UINT64_C(7744196453246319819), UINT64_C(9049029322324588832),
      UINT64_C(9139072988219048332), UINT64_C(1400256439129669809), UINT64_C(6750200521807187948),
      UINT64_C(2367621049898315487), UINT64_C(1443456880271936157)},
     UINT64_C(0x223A45C5DA8C03AD)},
    /* 14 draws */
    {UINT64_C(0xC000000000000000),
     {UINT64_C(9692516303121356995), UINT64_C(3856539442751087005),
      UINT64_C(11616294679869479728), UINT64_C(12074878111676180790),
      UINT64_C(2100384658694504714), UINT64_C(7489852155027228977),
      UINT64_C(12990643570143143772), UINT64_C(12186621427395943313)},
     UINT64_C(0x73903D0540D9C6BA)},
    /* 8 draws */
    {UINT64_C(0x1),
     {UINT64_C(0), UINT64_C(0), UINT64_C(0), UINT64_C(0), UINT64_C(0), UINT64_C(0), UINT64_C(0),
      UINT64_C(0)},
     UINT64_C(0x67594F96CAC88520)},
    /* 8 draws */
    {UINT64_C(0xFFFFFFFFFFFFFFFF),
     {UINT64_C(12923355070828475993), UINT64_C(5142052590334782673),
      UINT64_C(15488392906492639637), UINT64_C(18098058644649177663),
      UINT64_C(18278145976438096663), UINT64_C(16099837482234907720),
      UINT64_C(1120678062349637715), UINT64_C(1926500276298015195)},
     UINT64_C(0x67594F96CAC88520)},
};

START_TEST(test_golden_stream)
{
    cvm__rng r;
    int i;
    cvm__rng_seed(&r, 0);
    for (i = 0; i < 8; i++) {
        ck_assert_uint_eq(cvm__rng_next(&r), golden_seed0[i]);
    }
    cvm__rng_seed(&r, 42);
    for (i = 0; i < 8; i++) {
        ck_assert_uint_eq(cvm__rng_next(&r), golden_seed42[i]);
    }
}
END_TEST

START_TEST(test_seed_zero_and_reproducible)
{
    cvm__rng a, b;
    int i;
    cvm__rng_seed(&a, 0);
    ck_assert(a.s[0] | a.s[1] | a.s[2] | a.s[3]);
    cvm__rng_seed(&a, 12345);
    cvm__rng_seed(&b, 12345);
    for (i = 0; i < 1000; i++) {
        ck_assert_uint_eq(cvm__rng_next(&a), cvm__rng_next(&b));
    }
    cvm__rng_seed(&b, 12346);
    ck_assert_uint_ne(cvm__rng_next(&a), cvm__rng_next(&b));
}
END_TEST

START_TEST(test_uniform_formula)
{
    cvm__rng r;
    int i;
    cvm__rng_seed(&r, 42);
    for (i = 0; i < 8; i++) {
        double want = ((double)(golden_seed42[i] >> 12) + 0.5) * 0x1.0p-52;
        ck_assert(cvm__rng_uniform(&r) == want);
    }
}
END_TEST

/* Multiplicative inverse of an odd number modulo 2^64 (Newton's iteration
 * doubles the correct low bits each step: 3 -> 6 -> ... -> 96 >= 64). */
static uint64_t inverse_mod64(uint64_t x)
{
    uint64_t inv = x;
    int i;
    for (i = 0; i < 5; i++) {
        inv *= 2 - x * inv;
    }
    return inv;
}

/* The output is rotl(s[1] * 5, 7) * 9, so a state can be built that yields
 * any chosen word: here 0 and 2^64 - 1, the two ends of the uniform map,
 * which must stay strictly inside (0, 1). */
START_TEST(test_uniform_extremes)
{
    cvm__rng r = {{1, 0, 0, 0}};
    uint64_t y;
    double u;
    u = cvm__rng_uniform(&r);
    ck_assert(u == 0x1.0p-53);
    ck_assert(u > 0.0);

    y = UINT64_MAX * inverse_mod64(9);
    y = (y >> 7) | (y << 57); /* undo the rotation */
    r.s[0] = 1;
    r.s[1] = y * inverse_mod64(5);
    r.s[2] = r.s[3] = 0;
    u = cvm__rng_uniform(&r);
    ck_assert(u == 1.0 - 0x1.0p-53);
    ck_assert(u < 1.0);
}
END_TEST

START_TEST(test_uniform_open_interval_and_flat)
{
    /* 100 bins, 200000 draws: chi-square with 99 degrees of freedom; 148.2
     * is its 99.9% point. The seed is fixed, so this is deterministic; the
     * bound documents how far from flat the result may be. */
    enum { BINS = 100 };
    const int N = tu_quick() ? 20000 : 200000; /* the bound holds for any N */
    long count[BINS] = {0};
    cvm__rng r;
    double chi2 = 0, expect = (double)N / BINS;
    int i;
    cvm__rng_seed(&r, 2024);
    for (i = 0; i < N; i++) {
        double u = cvm__rng_uniform(&r);
        ck_assert(u > 0.0 && u < 1.0);
        count[(int)(u * BINS)]++;
    }
    for (i = 0; i < BINS; i++) {
        chi2 += (count[i] - expect) * (count[i] - expect) / expect;
    }
    ck_assert_msg(chi2 < 148.2, "chi-square %g", chi2);
}
END_TEST

START_TEST(test_below_golden)
{
    size_t k;
    int i;
    for (k = 0; k < sizeof golden_below_seed7 / sizeof golden_below_seed7[0]; k++) {
        const golden_below *g = &golden_below_seed7[k];
        cvm__rng r;
        cvm__rng_seed(&r, 7);
        for (i = 0; i < 8; i++) {
            ck_assert_uint_eq(cvm__rng_below(&r, g->n), g->values[i]);
        }
        ck_assert_uint_eq(cvm__rng_next(&r), g->next_raw);
    }
}
END_TEST

START_TEST(test_below_range)
{
    static const uint64_t ns[] = {
        1, 2, 3, 7, 1000, UINT64_C(0x100000001), UINT64_C(0x8000000000000001), UINT64_MAX,
    };
    cvm__rng r;
    size_t k;
    int i;
    cvm__rng_seed(&r, 99);
    for (k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        for (i = 0; i < 10000; i++) {
            ck_assert_uint_lt(cvm__rng_below(&r, ns[k]), ns[k]);
        }
    }
    ck_assert_uint_eq(cvm__rng_below(&r, 0), 0); /* misuse: no division by zero */
}
END_TEST

static double chi_square(const long *count, int bins, double expect)
{
    double chi2 = 0;
    int i;
    for (i = 0; i < bins; i++) {
        chi2 += (count[i] - expect) * (count[i] - expect) / expect;
    }
    return chi2;
}

START_TEST(test_below_uniform)
{
    /* Small n: 10 values, 100000 draws, 9 degrees of freedom, 99.9% point
     * 27.88. Large n = 3 * 2^62, binned by value >> 62 into thirds: a
     * modulo reduction would put half the mass in the first third
     * (chi-square ~ 25000); unbiased draws give 2 degrees of freedom,
     * 99.9% point 13.82. */
    const int N = tu_quick() ? 10000 : 100000;
    long small[10] = {0}, thirds[3] = {0};
    cvm__rng r;
    int i;
    cvm__rng_seed(&r, 31337);
    for (i = 0; i < N; i++) {
        small[cvm__rng_below(&r, 10)]++;
        thirds[cvm__rng_below(&r, UINT64_C(0xC000000000000000)) >> 62]++;
    }
    ck_assert_msg(chi_square(small, 10, N / 10.0) < 27.88, "chi-square %g",
                  chi_square(small, 10, N / 10.0));
    ck_assert_msg(chi_square(thirds, 3, N / 3.0) < 13.82, "chi-square %g",
                  chi_square(thirds, 3, N / 3.0));
}
END_TEST

/* Moment checks. With n = 200000 draws the sample mean has standard error
 * sqrt(var / n) and the sample variance sqrt((m4 - var^2) / n) (m4 the
 * fourth central moment, estimated from the sample, which avoids a separate
 * kurtosis formula per distribution). A bound of 5 standard errors would be
 * exceeded by a correct sampler with probability below 1e-6 per check, so
 * it is safe across seeds and libm versions, yet tight enough (about 1% of
 * a standard deviation for the mean) to catch a wrong formula such as a
 * swapped rate and scale or a missing boost factor. The seed is fixed, so
 * the outcome is deterministic. CVM_TEST_QUICK (valgrind) takes 20000: the
 * bounds, in standard errors, hold alike. */
#define NSAMPLES (tu_quick() ? 20000 : 200000)

typedef double (*draw_fn)(cvm__rng *r, double p1, double p2);

static void check_moments(const char *what, draw_fn draw, double p1, double p2, double mean,
                          double var, double lo, double hi)
{
    const int n = NSAMPLES;
    double *x = malloc(n * sizeof *x);
    double m = 0, s2 = 0, m4 = 0, se_mean, se_var;
    cvm__rng r;
    int i;
    ck_assert_ptr_nonnull(x);
    cvm__rng_seed(&r, 20240601);
    for (i = 0; i < n; i++) {
        x[i] = draw(&r, p1, p2);
        ck_assert_msg(isfinite(x[i]) && x[i] >= lo && x[i] <= hi, "%s: draw %g", what, x[i]);
        m += x[i];
    }
    m /= n;
    for (i = 0; i < n; i++) {
        double d = (x[i] - m) * (x[i] - m);
        s2 += d;
        m4 += d * d;
    }
    s2 /= n - 1;
    m4 /= n;
    free(x);
    se_mean = sqrt(var / n);
    se_var = sqrt((m4 - s2 * s2) / n);
    ck_assert_msg(fabs(m - mean) < 5 * se_mean, "%s: mean %g, expected %g (se %g)", what, m, mean,
                  se_mean);
    ck_assert_msg(fabs(s2 - var) < 5 * se_var, "%s: variance %g, expected %g (se %g)", what, s2,
                  var, se_var);
}

static double draw_uniform(cvm__rng *r, double p1, double p2)
{
    (void)p1;
    (void)p2;
    return cvm__rng_uniform(r);
}

static double draw_exponential(cvm__rng *r, double rate, double unused)
{
    (void)unused;
    return cvm__rng_exponential(r, rate);
}

static double draw_normal(cvm__rng *r, double p1, double p2)
{
    (void)p1;
    (void)p2;
    return cvm__rng_normal(r);
}

static double draw_gamma(cvm__rng *r, double shape, double rate)
{
    return cvm__rng_gamma(r, shape, rate);
}

static double draw_beta(cvm__rng *r, double a, double b)
{
    return cvm__rng_beta(r, a, b);
}

START_TEST(test_uniform_moments)
{
    check_moments("uniform", draw_uniform, 0, 0, 0.5, 1.0 / 12, 0, 1);
}
END_TEST

START_TEST(test_exponential_moments)
{
    check_moments("exponential(3)", draw_exponential, 3, 0, 1.0 / 3, 1.0 / 9, 0, HUGE_VAL);
    check_moments("exponential(0.25)", draw_exponential, 0.25, 0, 4, 16, 0, HUGE_VAL);
}
END_TEST

START_TEST(test_normal_moments_and_tails)
{
    /* Mean and variance alone would pass a scaled uniform; the two-sided
     * 5% tail beyond 1.96 (0.0499958) pins the shape. Same 5-SE rule, with
     * the binomial standard error sqrt(p (1 - p) / n). */
    const int n = NSAMPLES;
    const double p = 0.04999579, se = sqrt(p * (1 - p) / n);
    cvm__rng r;
    long tail = 0;
    int i;
    check_moments("normal", draw_normal, 0, 0, 0, 1, -HUGE_VAL, HUGE_VAL);
    cvm__rng_seed(&r, 777);
    for (i = 0; i < n; i++) {
        tail += fabs(cvm__rng_normal(&r)) > 1.959964;
    }
    ck_assert_msg(fabs((double)tail / n - p) < 5 * se, "tail %g", (double)tail / n);
}
END_TEST

START_TEST(test_gamma_moments)
{
    /* Gamma(k, rate b): mean k / b, variance k / b^2. Shape 0.3 takes the
     * boost path, 1 the boundary, 2.5 and 9 the plain Marsaglia-Tsang. */
    static const double shapes[] = {0.3, 1.0, 2.5, 9.0};
    const double rate = 2.0;
    size_t i;
    for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        double k = shapes[i];
        check_moments("gamma", draw_gamma, k, rate, k / rate, k / (rate * rate), 0, HUGE_VAL);
    }
}
END_TEST

START_TEST(test_beta_moments)
{
    /* Beta(a, b): mean a / (a + b), variance a b / ((a + b)^2 (a + b + 1)).
     * (0.05, 0.1) puts about a fifth of its mass below 1e-10 and takes the
     * boost path for both gammas. */
    static const double ab[][2] = {{2, 5}, {0.5, 0.5}, {0.05, 0.1}, {30, 3}};
    size_t i;
    for (i = 0; i < sizeof ab / sizeof ab[0]; i++) {
        double a = ab[i][0], b = ab[i][1], s = a + b;
        check_moments("beta", draw_beta, a, b, a / s, a * b / (s * s * (s + 1)), 0, 1);
    }
}
END_TEST

START_TEST(test_tiny_shapes_and_bad_parameters)
{
    cvm__rng r;
    int i;
    cvm__rng_seed(&r, 5);
    for (i = 0; i < 10000; i++) {
        double g = cvm__rng_gamma(&r, 1e-3, 1.0);
        double b = cvm__rng_beta(&r, 1e-3, 2e-3);
        ck_assert(isfinite(g) && g >= 0);
        ck_assert(b >= 0 && b <= 1);
    }
    ck_assert(isnan(cvm__rng_gamma(&r, 0, 1)));
    ck_assert(isnan(cvm__rng_gamma(&r, 1, -1)));
    ck_assert(isnan(cvm__rng_gamma(&r, NAN, 1)));
    ck_assert(isnan(cvm__rng_beta(&r, 1, 0)));
    ck_assert(isnan(cvm__rng_exponential(&r, 0)));
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("rng");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_golden_stream);
    tcase_add_test(tc, test_seed_zero_and_reproducible);
    tcase_add_test(tc, test_uniform_formula);
    tcase_add_test(tc, test_uniform_extremes);
    tcase_add_test(tc, test_uniform_open_interval_and_flat);
    tcase_add_test(tc, test_below_golden);
    tcase_add_test(tc, test_below_range);
    tcase_add_test(tc, test_below_uniform);
    tcase_add_test(tc, test_uniform_moments);
    tcase_add_test(tc, test_exponential_moments);
    tcase_add_test(tc, test_normal_moments_and_tails);
    tcase_add_test(tc, test_gamma_moments);
    tcase_add_test(tc, test_beta_moments);
    tcase_add_test(tc, test_tiny_shapes_and_bad_parameters);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(rng_suite());
}
