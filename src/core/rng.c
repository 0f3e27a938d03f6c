/* The PRNG: xoshiro256** (Blackman and Vigna, 2018) seeded through
 * splitmix64, plus the variates the simulators need. All state lives in the
 * caller's cvm__rng, so separate generators are independent and reentrant.
 *
 * Invalid parameters (non-positive or NaN shape, rate) give NaN rather than
 * aborting; callers validate their inputs before drawing. */
#include "core/core_int.h"

#include <math.h>

static uint64_t rotl(uint64_t x, unsigned k)
{
    return (x << k) | (x >> (64u - k));
}

/* splitmix64 is a bijection of its counter, so four consecutive outputs are
 * never all zero (the one state xoshiro cannot leave), even for seed 0. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void cvm__rng_seed(cvm__rng *r, uint64_t seed)
{
    int i;
    for (i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&seed);
    }
}

uint64_t cvm__rng_next(cvm__rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5u, 7) * 9u;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* The top 52 bits, centred in their interval of width 2^-52: never 0 (so
 * log(u) is finite), never 1, and 1 - u is an output too. Every step is
 * exact. With 53 bits, k + 0.5 needs 54 significant bits once k >= 2^52
 * and rounds to even, so the top word would give exactly 1.0. */
double cvm__rng_uniform(cvm__rng *r)
{
    return ((double)(cvm__rng_next(r) >> 12) + 0.5) * 0x1.0p-52;
}

/* The full 128-bit product of two 64-bit numbers from 32-bit halves, so no
 * compiler extension (__int128) is needed and every platform agrees. */
static void mul64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    const uint64_t mask = 0xFFFFFFFFu;
    uint64_t a0 = a & mask, a1 = a >> 32, b0 = b & mask, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & mask) + (p10 & mask);
    *lo = (mid << 32) | (p00 & mask);
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* Lemire (2019), "Fast random integer generation in an interval": the high
 * word of x * n is uniform on [0, n) once products whose low word falls in
 * the first (2^64 mod n) values are rejected; the division is only needed
 * on the rare path where the low word is small. */
uint64_t cvm__rng_below(cvm__rng *r, uint64_t n)
{
    uint64_t hi, lo, threshold;
    if (n == 0) {
        return 0;
    }
    mul64x64(cvm__rng_next(r), n, &hi, &lo);
    if (lo < n) {
        threshold = (0u - n) % n; /* 2^64 mod n */
        while (lo < threshold) {
            mul64x64(cvm__rng_next(r), n, &hi, &lo);
        }
    }
    return hi;
}

double cvm__rng_exponential(cvm__rng *r, double rate)
{
    if (!(rate > 0)) {
        return (double)NAN;
    }
    return -log(cvm__rng_uniform(r)) / rate;
}

/* Box-Muller, cosine branch only: exactly two uniforms per normal and no
 * rejection loop, so the stream position after k normals is predictable,
 * and cvm__rng has no room to cache the sine branch. */
double cvm__rng_normal(cvm__rng *r)
{
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = cvm__rng_uniform(r);
    double u2 = cvm__rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

/* Marsaglia and Tsang (2000), "A simple method for generating gamma
 * variables", unit rate, shape >= 1. The result is always > 0. */
static double gamma_mt(cvm__rng *r, double shape)
{
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = cvm__rng_normal(r);
        double v = 1.0 + c * x;
        double u;
        if (v <= 0) {
            continue;
        }
        v = v * v * v;
        u = cvm__rng_uniform(r);
        /* The squeeze accepts ~98% of draws without a logarithm. */
        if (u < 1.0 - 0.0331 * (x * x) * (x * x) ||
            log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) {
            return d * v;
        }
    }
}

/* log of a unit-rate gamma variate. Shapes below 1 use the boost
 * Gamma(k) = Gamma(k + 1) * U^(1/k), kept in logs because U^(1/k)
 * underflows to 0 for small k while its logarithm stays exact. */
static double log_gamma_variate(cvm__rng *r, double shape)
{
    if (shape >= 1) {
        return log(gamma_mt(r, shape));
    }
    return log(gamma_mt(r, shape + 1.0)) + log(cvm__rng_uniform(r)) / shape;
}

double cvm__rng_gamma(cvm__rng *r, double shape, double rate)
{
    if (!(shape > 0) || !(rate > 0) || isinf(shape)) {
        return (double)NAN;
    }
    if (shape >= 1) {
        return gamma_mt(r, shape) / rate;
    }
    return exp(log_gamma_variate(r, shape)) / rate;
}

/* X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b), computed as
 * 1 / (1 + exp(log Y - log X)) so that shapes far below 1, where both
 * gammas underflow to 0, still give 0 or 1 instead of 0/0. */
double cvm__rng_beta(cvm__rng *r, double a, double b)
{
    double lx, ly;
    if (!(a > 0) || !(b > 0) || isinf(a) || isinf(b)) {
        return (double)NAN;
    }
    lx = log_gamma_variate(r, a);
    ly = log_gamma_variate(r, b);
    return 1.0 / (1.0 + exp(ly - lx));
}
