/* Locale-independent number parsing. The common case (at most 19 significant
 * digits, a small exponent) is exact with one multiply or divide (Clinger's
 * fast path); anything else is rewritten as "DIGITSeEXP" and handed to
 * strtod, which then sees no decimal point and so cannot be confused by the
 * C locale. */
#include "core/core_int.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Digits kept for strtod: correct rounding of a double never depends on more
 * than 767 significant digits, so 800 plus one sticky digit is exact. */
#define CVM__SLOW_DIGITS 800

/* Exponents are saturated here; far beyond any finite double even after
 * adding a digit count, yet no int64 overflow. */
#define CVM__EXP_CAP INT64_C(1000000000000000)

/* x87 evaluates doubles in extended precision and would round twice. */
#if defined(FLT_EVAL_METHOD) && (FLT_EVAL_METHOD == 0 || FLT_EVAL_METHOD == 1)
#  define CVM__FAST_PATH 1
#else
#  define CVM__FAST_PATH 0
#endif

static const double cvm__pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The syntax of a decimal number, found in one pass. */
typedef struct cvm__decimal {
    uint64_t mant;  /* first 19 significant digits */
    int64_t exp10;  /* value = mant * 10^exp10 when digits <= 19 */
    int64_t digits; /* significant digits (leading zeros excluded) */
    int neg;
} cvm__decimal;

static int cvm__lower_eq(const char *s, size_t n, const char *word)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (word[i] == '\0' || (s[i] | 0x20) != word[i]) {
            return 0;
        }
    }
    return word[n] == '\0';
}

static cvm_status cvm__parse_special(const char *s, size_t n, int neg, double *out)
{
    if (cvm__lower_eq(s, n, "nan")) {
        *out = NAN;
        return CVM_OK;
    }
    if (cvm__lower_eq(s, n, "inf") || cvm__lower_eq(s, n, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return CVM_OK;
    }
    return CVM_E_PARSE;
}

/* Digits of a mantissa part; returns the position after them. `frac` makes
 * each digit lower the exponent. */
static const char *cvm__scan_digits(const char *p, const char *end, cvm__decimal *d, int frac,
                                    int *seen)
{
    for (; p < end; p++) {
        unsigned v = (unsigned char)*p - 48u;
        if (v > 9) {
            break;
        }
        *seen = 1;
        if (d->digits == 0 && v == 0) {
            d->exp10 -= frac; /* leading zero: not significant */
            continue;
        }
        if (d->digits < 19) {
            d->mant = d->mant * 10 + v;
            d->exp10 -= frac;
        } else {
            d->exp10 += 1 - frac; /* dropped; only the slow path uses them */
        }
        d->digits++;
    }
    return p;
}

static const char *cvm__scan_exponent(const char *p, const char *end, int64_t *e)
{
    int neg = 0, seen = 0;
    int64_t v = 0;
    p++; /* the 'e' */
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    for (; p < end; p++) {
        unsigned c = (unsigned char)*p - 48u;
        if (c > 9) {
            break;
        }
        seen = 1;
        if (v < CVM__EXP_CAP) {
            v = v * 10 + (int64_t)c;
        }
    }
    if (!seen) {
        return NULL;
    }
    *e = neg ? -v : v;
    return p;
}

/* Fill `d` from s[0..n) or return CVM_E_PARSE. */
static cvm_status cvm__scan_decimal(const char *s, size_t n, cvm__decimal *d)
{
    const char *p = s, *end = s + n;
    int seen = 0;
    int64_t e = 0;
    p = cvm__scan_digits(p, end, d, 0, &seen);
    if (p < end && *p == '.') {
        p = cvm__scan_digits(p + 1, end, d, 1, &seen);
    }
    if (!seen) {
        return CVM_E_PARSE;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p = cvm__scan_exponent(p, end, &e);
        if (p == NULL) {
            return CVM_E_PARSE;
        }
    }
    if (p != end) {
        return CVM_E_PARSE;
    }
    d->exp10 += e;
    return CVM_OK;
}

/* Exact when both operands are exact doubles: IEEE rounds the one operation
 * correctly. */
static int cvm__fast(const cvm__decimal *d, double *out)
{
    uint64_t m = d->mant;
    int64_t e = d->exp10;
    if (!CVM__FAST_PATH || d->digits > 19 || m > (UINT64_C(1) << 53)) {
        return 0;
    }
    if (e > 22 && e <= 22 + 15) {
        /* 12e30 = 12000000e24: move zeros into the mantissa while it stays exact. */
        for (; e > 22; e--) {
            if (m > (UINT64_C(1) << 53) / 10) {
                return 0;
            }
            m *= 10;
        }
    }
    if (e < -22 || e > 22) {
        return 0;
    }
    *out = e < 0 ? (double)m / cvm__pow10[-e] : (double)m * cvm__pow10[e];
    return 1;
}

static void cvm__put_int(char **q, int64_t v)
{
    char tmp[24];
    size_t k = 0;
    uint64_t u;
    if (v < 0) {
        *(*q)++ = '-';
        u = (uint64_t)0 - (uint64_t)v;
    } else {
        u = (uint64_t)v;
    }
    do {
        tmp[k++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0);
    while (k > 0) {
        *(*q)++ = tmp[--k];
    }
}

/* Rewrite the (validated) number as significant digits and an exponent. */
static double cvm__slow(const char *s, size_t n, const cvm__decimal *d)
{
    char buf[CVM__SLOW_DIGITS + 40];
    char *q = buf;
    size_t i;
    int sticky = 0, started = 0;
    int64_t kept = 0;
    /* d->exp10 scales the first 19 digits; this scales all of them. */
    int64_t e = d->exp10 - (d->digits > 19 ? d->digits - 19 : 0);
    if (d->neg) {
        *q++ = '-';
    }
    for (i = 0; i < n && s[i] != 'e' && s[i] != 'E'; i++) {
        char c = s[i];
        if (c < '0' || c > '9' || (!started && c == '0')) {
            continue;
        }
        started = 1;
        if (kept < CVM__SLOW_DIGITS) {
            *q++ = c;
            kept++;
        } else {
            sticky |= c != '0';
        }
    }
    /* Digits beyond `kept` scale the value; a nonzero tail only breaks ties. */
    e += d->digits - kept;
    if (sticky) {
        *q++ = '1';
        e--;
    }
    e = e > 9999 ? 9999 : (e < -9999 ? -9999 : e);
    *q++ = 'e';
    cvm__put_int(&q, e);
    *q = '\0';
    return strtod(buf, NULL);
}

cvm_status cvm__parse_double(const char *s, size_t n, double *out)
{
    cvm__decimal d = {0, 0, 0, 0};
    const char *p = s;
    cvm_status st;
    if (s == NULL || out == NULL) {
        return CVM_E_INVALID;
    }
    if (n > 0 && (*p == '+' || *p == '-')) {
        d.neg = *p == '-';
        p++;
        n--;
    }
    if (n == 0) {
        return CVM_E_PARSE;
    }
    if ((*p | 0x20) == 'n' || (*p | 0x20) == 'i') {
        return cvm__parse_special(p, n, d.neg, out);
    }
    st = cvm__scan_decimal(p, n, &d);
    if (st != CVM_OK) {
        return st;
    }
    if (d.digits == 0) {
        *out = d.neg ? -0.0 : 0.0;
    } else if (cvm__fast(&d, out)) {
        *out = d.neg ? -*out : *out;
    } else {
        *out = cvm__slow(p, n, &d);
    }
    return CVM_OK;
}

cvm_status cvm__parse_int64(const char *s, size_t n, int64_t *out)
{
    const char *p = s, *end = s + n;
    uint64_t v = 0, limit = (uint64_t)INT64_MAX;
    int neg = 0, overflow = 0;
    if (s == NULL || out == NULL) {
        return CVM_E_INVALID;
    }
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        limit += (uint64_t)neg; /* |INT64_MIN| */
        p++;
    }
    if (p == end) {
        return CVM_E_PARSE;
    }
    for (; p < end; p++) {
        unsigned c = (unsigned char)*p - 48u;
        if (c > 9) {
            return CVM_E_PARSE;
        }
        if (v > (limit - c) / 10) {
            overflow = 1; /* keep scanning: bad syntax wins over range */
        } else {
            v = v * 10 + c;
        }
    }
    if (overflow) {
        return CVM_E_RANGE;
    }
    if (!neg) {
        *out = (int64_t)v;
    } else {
        *out = v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
    }
    return CVM_OK;
}

int64_t cvm__floor_div(int64_t a, int64_t d)
{
    int64_t q = a / d;
    if (a % d != 0 && a < 0) {
        q--;
    }
    return q;
}
