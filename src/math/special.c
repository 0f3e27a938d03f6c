/* Special functions in log space. Our own lgamma because libm's writes the
 * global `signgam` (a data race between fits on separate handles); the rest
 * are the usual overflow-free log-sum forms. Accuracy target: about 1e-15
 * relative, except within a few ulps of the zeros of lgamma and digamma,
 * where the error is absolute (about 1e-16). */
#include "math/math_int.h"

#include <math.h>

/* 0.5 * log(2 pi) */
#define HALF_LOG_2PI 0.918938533204672741780

/* Above this argument the Stirling series below is used directly. */
#define STIRLING_MIN 10.0

/* Stirling correction lgamma(x) - [(x - 1/2) log x - x + log(2 pi)/2] for
 * x >= STIRLING_MIN: sum of B_2k / (2k (2k - 1) x^(2k - 1)), k = 1..8; the
 * ninth term is below 2e-18 at x = 10. Kept separate so that differences of
 * lgammas at huge arguments can cancel the big terms analytically. */
static const double stirling_c[8] = {
    0.0833333333333333333333,  -0.00277777777777777777778, 0.000793650793650793650794,
    -0.000595238095238095238095, 0.000841750841750841750842, -0.00191752691752691752692,
    0.00641025641025641025641, -0.0295506535947712418301,
};

static double stirling_corr(double x)
{
    double r = 1.0 / x, r2 = r * r, s = stirling_c[7];
    int k;
    for (k = 6; k >= 0; k--) {
        s = s * r2 + stirling_c[k];
    }
    return s * r;
}

/* stirling_corr(b) - stirling_corr(b + a) for b >= STIRLING_MIN without the
 * cancellation of subtracting two values near 1/(12 b) when a << b: with
 * r = 1/b and s = 1/(a+b), r^m - s^m = (r - s) sum_{j<m} r^j s^(m-1-j), a sum
 * of positive terms, and r - s = a / (b (a + b)). */
static double stirling_corr_diff(double b, double a)
{
    double r = 1.0 / b, s = 1.0 / (a + b), h = 1.0, sn = s, sum = 0.0;
    int n;
    /* h runs through P_n = sum_{j<n} r^j s^(n-1-j): P_1 = 1, P_{n+1} = r P_n + s^n. */
    for (n = 1; n <= 15; n++) {
        if (n % 2 == 1) {
            sum += stirling_c[n / 2] * h;
        }
        h = r * h + sn;
        sn *= s;
    }
    return a / b * s * sum;
}

/* (-1)^k (zeta(k) - 1) / k for k = 2..28: the Taylor coefficients of
 * lgamma(2 + t) beyond the linear one (1 - gamma). For |t| <= 0.5 the terms
 * fall like 4^-k / k, so the remainder after k = 28 is below 1e-18. */
static const double lg2_c[27] = {
    0.322467033424113218236,       -0.0673523010531980951332,
    0.020580808427784547879,       -0.00738555102867398526627,
    0.00289051033074152328575,     -0.00119275391170326097711,
    0.000509669524743042422336,    -0.000223154758453579379761,
    0.0000994575127818085337146,   -0.0000449262367381331417002,
    0.0000205072127756706915532,   -0.00000943948827526839590399,
    0.00000437486678990748780418,  -0.00000203921575380136623678,
    0.000000955141213040741983286, -0.000000449246919876456604329,
    0.000000212071848055546658692, -0.000000100432248239680996087,
    0.0000000476981016936398056576, -0.0000000227110946089431649103,
    0.0000000108386592148969540911, -0.00000000518347504197004665512,
    0.00000000248367454380247831719, -0.00000000119214014058609120744,
    0.000000000573136724167886201333, -0.000000000275952288512423314518,
    0.000000000133047643742444894815,
};

/* 1 - Euler's gamma: lgamma(2 + t) ~ (1 - gamma) t, psi(2) = 1 - gamma. */
#define ONE_MINUS_GAMMA 0.422784335098467139393

/* lgamma(2 + t) for |t| <= 0.5 by the series above. Taking t rather than
 * 2 + t keeps tiny arguments exact. */
static double lgamma2p(double t)
{
    double s = lg2_c[26];
    int k;
    for (k = 25; k >= 0; k--) {
        s = s * t + lg2_c[k];
    }
    return t * (ONE_MINUS_GAMMA + t * s);
}

/* psi(2 + t) for |t| <= 0.5: the derivative of the same series. */
static double digamma2p(double t)
{
    double s = 28.0 * lg2_c[26];
    int k;
    for (k = 25; k >= 0; k--) {
        s = s * t + (double)(k + 2) * lg2_c[k];
    }
    return ONE_MINUS_GAMMA + t * s;
}

double cvm__lgamma(double x)
{
    if (!(x > 0.0)) {
        return NAN; /* also NaN in */
    }
    if (x >= STIRLING_MIN) {
        if (isinf(x)) {
            return x;
        }
        return (x - 0.5) * log(x) - x + HALF_LOG_2PI + stirling_corr(x);
    }
    if (x >= 2.5) {
        /* Down to [1.5, 2.5): y - 1 is exact and the product stays < 10!. */
        double y = x, prod = 1.0;
        while (y >= 2.5) {
            y -= 1.0;
            prod *= y;
        }
        return lgamma2p(y - 2.0) + log(prod);
    }
    if (x >= 1.5) {
        return lgamma2p(x - 2.0); /* x - 2 exact (Sterbenz) */
    }
    if (x >= 0.5) {
        return lgamma2p(x - 1.0) - log(x); /* lgamma(x + 1) - log x */
    }
    /* lgamma(x + 2) - log x - log(x + 1), with x itself as the offset. */
    return lgamma2p(x) - log(x) - log1p(x);
}

double cvm__digamma(double x)
{
    static const double c[8] = {
        /* B_2k / (2k), k = 1..8 */
        0.0833333333333333333333, -0.00833333333333333333333, 0.00396825396825396825397,
        -0.00416666666666666666667, 0.00757575757575757575758, -0.0210927960927960927961,
        0.0833333333333333333333, -0.443259803921568627451,
    };
    double r2, s;
    int k;
    if (!(x > 0.0)) {
        return NAN;
    }
    if (isinf(x)) {
        return x;
    }
    if (x < 0.5) {
        return digamma2p(x) - 1.0 / x - 1.0 / (x + 1.0); /* psi(x + 2) - ... */
    }
    if (x < 1.5) {
        return digamma2p(x - 1.0) - 1.0 / x; /* x - 1 exact */
    }
    if (x < STIRLING_MIN) {
        /* psi(x) = psi(y) + sum 1/(y + i), y in [1.5, 2.5): all terms add. */
        double y = x, sum = 0.0;
        while (y >= 2.5) {
            y -= 1.0;
            sum += 1.0 / y;
        }
        return digamma2p(y - 2.0) + sum;
    }
    r2 = 1.0 / (x * x);
    s = c[7];
    for (k = 6; k >= 0; k--) {
        s = s * r2 + c[k];
    }
    return log(x) - 0.5 / x - s * r2;
}

/* lgamma(b) - lgamma(a + b) for b >= STIRLING_MIN, a > 0, with the large
 * terms cancelled analytically:
 * -(b - 1/2) log1p(a/b) - a log(a + b) + a + corr(b) - corr(a + b). */
static double lgamma_ratio_big(double a, double b)
{
    return -(b - 0.5) * log1p(a / b) - a * log(a + b) + a + stirling_corr_diff(b, a);
}

double cvm__lbeta(double a, double b)
{
    double lo, hi;
    if (!(a > 0.0) || !(b > 0.0)) {
        return NAN;
    }
    lo = a < b ? a : b;
    hi = a < b ? b : a;
    if (isinf(hi)) {
        return -INFINITY;
    }
    if (lo >= STIRLING_MIN) {
        /* Both big: (lo - 1/2) log(lo/(lo+hi)) + (hi - 1/2) log(hi/(lo+hi))
         * - log(lo + hi)/2 + log(2 pi)/2 plus the corrections. */
        double corr = stirling_corr(lo) + stirling_corr(hi) - stirling_corr(lo + hi);
        return HALF_LOG_2PI + corr - (lo - 0.5) * log1p(hi / lo) - (hi - 0.5) * log1p(lo / hi)
               - 0.5 * log(lo + hi);
    }
    if (hi >= STIRLING_MIN) {
        return cvm__lgamma(lo) + lgamma_ratio_big(lo, hi);
    }
    return cvm__lgamma(lo) + cvm__lgamma(hi) - cvm__lgamma(lo + hi);
}

double cvm__logaddexp(double a, double b)
{
    double hi = a > b ? a : b, lo = a > b ? b : a;
    if (isnan(a) || isnan(b)) {
        return NAN;
    }
    if (isinf(hi)) {
        return hi; /* +inf, or -inf + -inf */
    }
    return hi + log1p(exp(lo - hi));
}

double cvm__logsubexp(double a, double b)
{
    double d;
    if (isnan(a) || isnan(b) || b > a) {
        return NAN;
    }
    if (a == b) {
        return -INFINITY;
    }
    if (isinf(a)) {
        return a; /* a = +inf > b */
    }
    d = b - a; /* < 0 */
    /* log(1 - e^d): expm1 near d = 0, log1p when e^d is small. */
    return a + (d > -0.693147180559945309417 ? log(-expm1(d)) : log1p(-exp(d)));
}

double cvm__log1pexp(double x)
{
    /* Maechler's cut-offs: below -37 log1p(e^x) = e^x to double precision,
     * above 33.3 x + e^-x rounds to x. */
    if (x <= -37.0) {
        return exp(x);
    }
    if (x <= 18.0) {
        return log1p(exp(x));
    }
    if (x <= 33.3) {
        return x + exp(-x);
    }
    return x;
}

double cvm__lpochhammer(double a, double k)
{
    double sum = 0.0;
    if (!(a > 0.0) || !(k >= 0.0)) {
        return NAN;
    }
    if (k == 0.0) {
        return 0.0;
    }
    if (isinf(a) || isinf(k)) {
        return isinf(k) ? INFINITY : NAN;
    }
    /* Gamma(a+k)/Gamma(a) = [Gamma(a+n+k)/Gamma(a+n)] prod_{i<n} (a+i)/(a+i+k):
     * shift a up into the Stirling range, where the difference of lgammas
     * has its large terms cancelled (lgamma_ratio_big), so that k tiny
     * relative to a keeps its relative accuracy. */
    while (a < STIRLING_MIN) {
        sum += log1p(k / a);
        a += 1.0;
    }
    return -lgamma_ratio_big(k, a) - sum;
}

double cvm__digamma_diff(double z, double n)
{
    if (n <= 64.0 && n == floor(n)) {
        double s = 0.0, i;
        for (i = 0.0; i < n; i += 1.0) {
            s += 1.0 / (z + i);
        }
        return s;
    }
    return cvm__digamma(z + n) - cvm__digamma(z);
}

double cvm__digamma_diff2(double a, double b, double n)
{
    if (n <= 64.0 && n == floor(n)) {
        double s = 0.0, i;
        for (i = 0.0; i < n; i += 1.0) {
            s += a / ((b + i) * (a + b + i));
        }
        return s;
    }
    return cvm__digamma_diff(b, n) - cvm__digamma_diff(a + b, n);
}
