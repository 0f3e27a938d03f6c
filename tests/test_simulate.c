/* The simulator against the model it draws from. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct tally {
    size_t customers, purchases, last;
    double sum_amount, sum_amount2, sum_repeats, sum_repeats2;
    size_t zeros; /* customers without a repeat purchase */
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
        t->zeros += t->repeats == 0;
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

/* Sample sizes of the moment checks: a tenth under CVM_TEST_QUICK (valgrind).
 * Their tolerances are standard errors estimated from the sample, so they
 * hold with the same probability at either size. */
static uint64_t sample(uint64_t customers)
{
    return tu_quick() ? customers / 10 : customers;
}

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
    o.customers = sample(400000);
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

/* ---- the other models ----------------------------------------------------
 * Closed forms checked against numerical integration over the mixing
 * distributions (mpmath, 30 digits) at the parameters used below. */

/* MBG/NBD: E[X(t) | lambda, p] = (1 - p) / p * (1 - exp(-lambda p t)), so
 * E[X(t)] = b / (a - 1) * (1 - (alpha / (alpha + t))^r
 * 2F1(r, b + 1; a + b; t / (alpha + t))) (Batislam et al. 2007). */
static double mbgnbd_expected(const double *p, double t)
{
    double r = p[0], alpha = p[1], a = p[2], b = p[3];
    return b / (a - 1) *
           (1 - pow(alpha / (alpha + t), r) * hyp2f1(r, b + 1, a + b, t / (alpha + t)));
}

/* Pareto/NBD: E[X(t) | lambda, mu] = lambda / mu * (1 - exp(-mu t)), so
 * E[X(t)] = r beta / (alpha (s - 1)) * (1 - (beta / (beta + t))^(s - 1))
 * (Schmittlein et al. 1987; valid for s < 1 too). */
static double pareto_expected(const double *p, double t)
{
    double r = p[0], alpha = p[1], s = p[2], beta = p[3];
    return r * beta / (alpha * (s - 1)) * (1 - pow(beta / (beta + t), s - 1));
}

/* BG/BB: E[X(n)] = alpha / (alpha + beta) * delta / (gamma - 1) *
 * (1 - Gamma(gamma + delta) / Gamma(gamma + delta + n) * Gamma(1 + delta + n)
 * / Gamma(1 + delta)) (FHS 2010, eq. 8). */
static double bgbb_expected(const double *p, double n)
{
    double alpha = p[0], beta = p[1], gamma = p[2], delta = p[3];
    return alpha / (alpha + beta) * delta / (gamma - 1) *
           (1 - exp(lgamma(gamma + delta) - lgamma(gamma + delta + n) + lgamma(1 + delta + n) -
                    lgamma(1 + delta)));
}

static double lbeta(double a, double b)
{
    return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/* BG/BB: P(x, t_x | n) integrated over p and theta (FHS 2010, eq. 5). */
static double bgbb_pattern(const double *p, int x, int tx, int n)
{
    double alpha = p[0], beta = p[1], gamma = p[2], delta = p[3];
    double lb = lbeta(alpha, beta), lg = lbeta(gamma, delta);
    double sum = exp(lbeta(alpha + x, beta + n - x) - lb + lbeta(gamma, delta + n) - lg);
    int i;
    for (i = 0; i <= n - tx - 1; i++) {
        sum += exp(lbeta(alpha + x, beta + tx - x + i) - lb + lbeta(gamma + 1, delta + tx + i) - lg);
    }
    return sum;
}

/* The closed form of E[X(n)] is the sum over opportunities k = 1..n of
 * P(buy) P(alive at k) = alpha / (alpha + beta) * B(gamma, delta + k) / B(gamma, delta);
 * and the pattern probabilities sum to 1 with that mean. */
START_TEST(bgbb_formulas_agree)
{
    static const double p[4] = {1.204, 0.750, 0.657, 2.783};
    double sum = 0, total = 0, mean = 0;
    int k, x, tx, n = 6;
    for (k = 1; k <= n; k++) {
        sum += p[0] / (p[0] + p[1]) * exp(lbeta(p[2], p[3] + k) - lbeta(p[2], p[3]));
    }
    ck_assert_double_eq_tol(bgbb_expected(p, n), sum, 1e-12);
    ck_assert_double_eq_tol(bgbb_expected(p, n), 2.2196313934873, 1e-9);
    for (x = 0; x <= n; x++) {
        for (tx = x == 0 ? 0 : x; tx <= (x == 0 ? 0 : n); tx++) {
            /* Every x-subset of the opportunities 1..t_x - 1 with t_x last. */
            double ways = x == 0 ? 1 : exp(lgamma(tx) - lgamma(x) - lgamma(tx - x + 1));
            double q = ways * bgbb_pattern(p, x, tx, n);
            total += q;
            mean += x * q;
        }
    }
    ck_assert_double_eq_tol(total, 1, 1e-12);
    ck_assert_double_eq_tol(mean, sum, 1e-12);
}
END_TEST

/* Mean and standard error of the repeat purchases per customer. */
static void repeats_mean(const tally *t, double *mean, double *se)
{
    double n = (double)t->customers;
    *mean = t->sum_repeats / n;
    *se = sqrt((t->sum_repeats2 / n - *mean * *mean) / n);
}

/* A cohort (every first purchase at `start`) observed for `weeks`: the
 * moments of X(weeks) against the model's closed forms, each within 4
 * standard errors of its sample estimate (fixed seeds; a correct simulator
 * passes each with probability 0.99994 for any seed). */
static cvm_simulate_options cohort(int32_t model, const double *params, uint64_t seed,
                                   uint64_t customers, int64_t weeks)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    o.model = model;
    memcpy(o.params, params, sizeof o.params);
    o.seed = seed;
    o.customers = sample(customers);
    o.acquisition_seconds = 0;
    o.duration_seconds = weeks * 604800;
    return o;
}

/* MBG/NBD at the CDNOW estimates (BTYDplus): the mean is below BG/NBD's
 * at the same parameters by the extra coin after the first purchase, and
 * P(X(t) = 0) = a / (a + b) + b / (a + b) * (alpha / (alpha + t))^r. */
START_TEST(mbgnbd_moments)
{
    static const double p[4] = {0.525, 6.183, 0.891, 1.614};
    cvm_simulate_options o = cohort(CVM_MODEL_MBGNBD, p, 777, 300000, 78);
    tally t = run(&o);
    double mean, se, p0, want0, se0, n = (double)t.customers;
    repeats_mean(&t, &mean, &se);
    ck_assert_msg(fabs(mean - mbgnbd_expected(p, 78)) < 4 * se, "E[X(78)] %.5f vs %.5f (se %.5f)",
                  mean, mbgnbd_expected(p, 78), se);
    p0 = (double)t.zeros / n;
    want0 = p[2] / (p[2] + p[3]) + p[3] / (p[2] + p[3]) * pow(p[1] / (p[1] + 78), p[0]);
    se0 = sqrt(want0 * (1 - want0) / n);
    ck_assert_msg(fabs(p0 - want0) < 4 * se0, "P(X=0) %.5f vs %.5f (se %.5f)", p0, want0, se0);
    /* BG/NBD at these parameters has E[X(78)] = 2.32 against 1.80: without
     * the coin after the first purchase this test would fail by > 20 se. */
    ck_assert(fabs(bgnbd_expected(p, 78) - mbgnbd_expected(p, 78)) > 20 * se);
    ck_assert(t.ordered);
}
END_TEST

/* BG/NBD's P(X(t) = 0) = (alpha / (alpha + t))^r: no coin before the first
 * repeat purchase. */
START_TEST(bgnbd_no_repeat_share)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    tally t;
    double p0, want0, se0, n;
    o = cohort(CVM_MODEL_BGNBD, o.params, 4242, 200000, 78);
    t = run(&o);
    n = (double)t.customers;
    p0 = (double)t.zeros / n;
    want0 = pow(o.params[1] / (o.params[1] + 78), o.params[0]);
    se0 = sqrt(want0 * (1 - want0) / n);
    ck_assert_msg(fabs(p0 - want0) < 4 * se0, "P(X=0) %.5f vs %.5f (se %.5f)", p0, want0, se0);
}
END_TEST

/* Pareto/NBD at the CDNOW estimates (FHL 2005), s < 1, and at s > 1. */
START_TEST(pareto_moments)
{
    static const double p[2][4] = {{0.553, 10.578, 0.606, 11.669}, {1.5, 8.0, 2.5, 20.0}};
    int k;
    for (k = 0; k < 2; k++) {
        cvm_simulate_options o = cohort(CVM_MODEL_PARETO, p[k], 99 + (uint64_t)k, 300000, 78);
        tally t = run(&o);
        double mean, se, want = pareto_expected(p[k], 78);
        repeats_mean(&t, &mean, &se);
        ck_assert_msg(fabs(mean - want) < 4 * se, "set %d: E[X(78)] %.5f vs %.5f (se %.5f)", k,
                      mean, want, se);
        ck_assert(t.ordered);
    }
}
END_TEST

/* BG/BB: pattern counts of (x, t_x) for a cohort with n opportunities. */
typedef struct patterns {
    int64_t unit, start;
    int n;
    double count[8][8]; /* [x][t_x] */
    size_t customers;
    size_t last;
    int x, tx;
    int on_grid; /* every purchase at start + k * unit, k <= n */
} patterns;

static void close_pattern(patterns *p)
{
    if (p->customers > 0) {
        p->count[p->x][p->tx] += 1;
    }
}

static int pattern_add(void *ud, size_t customer, int64_t time, double amount)
{
    patterns *p = ud;
    int64_t k = (time - p->start) / p->unit;
    (void)amount;
    p->on_grid &= (time - p->start) % p->unit == 0 && k >= 0 && k <= p->n;
    if (p->customers == 0 || customer != p->last) {
        close_pattern(p);
        p->customers++;
        p->last = customer;
        p->x = 0;
        p->tx = 0;
        p->on_grid &= k == 0;
        return 0;
    }
    p->x++;
    p->tx = (int)k;
    return 0;
}

/* 200,000 donors of FHS 2010's parameters over n = 6 annual opportunities:
 * the 22 pattern counts against N P(x, t_x | n), Pearson's chi-square with
 * 21 degrees of freedom below 53.96 (its 1e-4 upper quantile), and the mean
 * against E[X(6)] within 4 standard errors. This checks the timing convention
 * (death at the start of an opportunity, before the purchase) against the
 * likelihood the fit uses: buying before the death coin would move the mass
 * between patterns far beyond this tolerance. */
START_TEST(bgbb_patterns_follow_likelihood)
{
    static const double p[4] = {1.204, 0.750, 0.657, 2.783};
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    patterns *pt = calloc(1, sizeof *pt);
    double chi2 = 0, n, sum = 0, sum2 = 0, mean, se;
    int x, tx;
    ck_assert_ptr_nonnull(pt);
    o.model = CVM_MODEL_BGBB;
    memcpy(o.params, p, sizeof p);
    o.seed = 2010;
    o.customers = tu_quick() ? 50000 : 200000; /* every expected count stays > 20 */
    o.unit_seconds = INT64_C(365) * 86400;
    o.acquisition_seconds = 0;
    o.duration_seconds = 7 * o.unit_seconds;
    pt->unit = o.unit_seconds;
    pt->start = o.start;
    pt->n = 6;
    pt->on_grid = 1;
    ck_assert_int_eq(cvm_simulate(&o, pattern_add, pt), CVM_OK);
    close_pattern(pt);
    ck_assert(pt->on_grid);
    ck_assert_uint_eq(pt->customers, o.customers);
    n = (double)pt->customers;
    for (x = 0; x <= 6; x++) {
        for (tx = x == 0 ? 0 : x; tx <= (x == 0 ? 0 : 6); tx++) {
            double ways = x == 0 ? 1 : exp(lgamma(tx) - lgamma(x) - lgamma(tx - x + 1));
            double e = n * ways * bgbb_pattern(p, x, tx, 6);
            double d = pt->count[x][tx] - e;
            ck_assert_msg(e > 20, "expected count %.1f too small for the test", e);
            chi2 += d * d / e;
            sum += x * pt->count[x][tx];
            sum2 += (double)x * x * pt->count[x][tx];
        }
    }
    ck_assert_msg(chi2 < 53.96, "chi-square %.2f on 21 df", chi2);
    mean = sum / n;
    se = sqrt((sum2 / n - mean * mean) / n);
    ck_assert_msg(fabs(mean - bgbb_expected(p, 6)) < 4 * se, "E[X(6)] %.5f vs %.5f (se %.5f)",
                  mean, bgbb_expected(p, 6), se);
    free(pt);
}
END_TEST

/* BG/BB's first purchases fall on whole units within the acquisition span
 * (ceil(acquisition / unit) cohorts), opportunities on whole units after
 * them, none at or past the end. */
typedef struct grid {
    int64_t start, unit, acq, end;
    size_t customers, last;
    int64_t first;
    int ok;
    size_t cohort_seen[4];
} grid;

static int grid_add(void *ud, size_t customer, int64_t time, double amount)
{
    grid *g = ud;
    ck_assert(amount > 0);
    if (g->customers == 0 || customer != g->last) {
        g->customers++;
        g->last = customer;
        g->first = time;
        g->ok &= time >= g->start && time < g->start + g->acq && (time - g->start) % g->unit == 0;
        if (g->ok) {
            g->cohort_seen[(time - g->start) / g->unit]++;
        }
        return 0;
    }
    g->ok &= time > g->first && (time - g->first) % g->unit == 0 && time < g->end;
    return 0;
}

START_TEST(bgbb_on_whole_units)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    grid g;
    memset(&g, 0, sizeof g);
    o.model = CVM_MODEL_BGBB;
    o.params[0] = 1.204;
    o.params[1] = 0.750;
    o.params[2] = 0.657;
    o.params[3] = 2.783;
    o.customers = 4000;
    o.acquisition_seconds = 3 * o.unit_seconds - 1; /* three cohorts: weeks 0, 1, 2 */
    g.start = o.start;
    g.unit = o.unit_seconds;
    g.acq = o.acquisition_seconds;
    g.end = o.start + o.duration_seconds;
    g.ok = 1;
    ck_assert_int_eq(cvm_simulate(&o, grid_add, &g), CVM_OK);
    ck_assert(g.ok);
    ck_assert_uint_eq(g.customers, 4000);
    ck_assert(g.cohort_seen[0] > 1000 && g.cohort_seen[1] > 1000 && g.cohort_seen[2] > 1000);
    ck_assert_uint_eq(g.cohort_seen[3], 0);
}
END_TEST

/* Every model: a seed gives one stream, another seed another; purchases in
 * order and before the end; acquisition spreads first purchases. */
START_TEST(every_model_is_seeded)
{
    static const double p[4][4] = {{0.243, 4.414, 0.793, 2.426},
                                   {0.553, 10.578, 0.606, 11.669},
                                   {0.525, 6.183, 0.891, 1.614},
                                   {1.204, 0.750, 0.657, 2.783}};
    uint64_t digests[4];
    int32_t k;
    for (k = 0; k < 4; k++) {
        cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
        tally a, b, c;
        int32_t j;
        o.model = k;
        memcpy(o.params, p[k], sizeof o.params);
        o.customers = 3000;
        a = run(&o);
        b = run(&o);
        o.seed = 2;
        c = run(&o);
        ck_assert_uint_eq(a.digest, b.digest);
        ck_assert_uint_ne(a.digest, c.digest);
        ck_assert_uint_eq(a.customers, 3000);
        ck_assert(a.ordered && c.ordered);
        ck_assert(a.purchases > a.customers);
        digests[k] = a.digest;
        for (j = 0; j < k; j++) {
            ck_assert_uint_ne(digests[j], digests[k]);
        }
    }
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
    o.model = 4;
    ck_assert_int_eq(cvm_simulate(&o, count, &t), CVM_E_INVALID);
    o.model = -1;
    ck_assert_int_eq(cvm_simulate(&o, count, &t), CVM_E_INVALID);
    for (o.model = CVM_MODEL_PARETO; o.model <= CVM_MODEL_BGBB; o.model++) {
        o.customers = 0;
        ck_assert_int_eq(cvm_simulate(&o, count, &t), CVM_OK);
        o.params[3] = 0;
        ck_assert_int_eq(cvm_simulate(&o, count, &t), CVM_E_INVALID);
        o.params[3] = INFINITY;
        ck_assert_int_eq(cvm_simulate(&o, count, &t), CVM_E_INVALID);
        o.params[3] = 2.4;
        o.spend_params[1] = -1;
        ck_assert_int_eq(cvm_simulate(&o, count, &t), CVM_E_INVALID);
        o.spend_params[1] = 3.74;
    }
    o.customers = 1000;
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
    tc = tcase_create("models");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bgbb_formulas_agree);
    tcase_add_test(tc, bgnbd_no_repeat_share);
    tcase_add_test(tc, mbgnbd_moments);
    tcase_add_test(tc, pareto_moments);
    tcase_add_test(tc, bgbb_patterns_follow_likelihood);
    tcase_add_test(tc, bgbb_on_whole_units);
    tcase_add_test(tc, every_model_is_seeded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
