/* Value tiers: cut values at shares of customers ranked by CLV, and the
 * assignment of customers to the tiers the cuts make.
 *
 * The functions take no handle and so no allocator: a cut (the k-th largest
 * CLV) is found by a radix selection over the CLVs' order-preserving 64-bit
 * keys, eight passes of an 8-bit digit histogram on the stack, which needs
 * no copy of the input and is exact. */
#include "segment/segment_int.h"

#include <float.h>
#include <math.h>
#include <string.h>

static const double default_shares[] = { 0.01, 0.10, 0.50 };

/* Unsigned keys ordered as the doubles are: negative numbers have all bits
 * flipped, the others only the sign bit. -0 is +0 first, so equal values
 * have one key. */
static uint64_t key_of(double v)
{
    uint64_t u;
    v += 0.0;
    memcpy(&u, &v, sizeof u);
    return (u >> 63) ? ~u : (u | (UINT64_C(1) << 63));
}

static double value_of(uint64_t key)
{
    uint64_t u = (key >> 63) ? (key & ~(UINT64_C(1) << 63)) : ~key;
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* The k-th largest of v[0..n-1], 1 <= k <= n: the key is fixed one byte at a
 * time from the top, keeping the bucket that holds the k-th largest among
 * the values that share the prefix fixed so far. */
static double kth_largest(const double *v, size_t n, size_t k)
{
    uint64_t prefix = 0, mask = 0;
    int pass;
    for (pass = 7; pass >= 0; pass--) {
        size_t count[256];
        unsigned shift = 8u * (unsigned)pass;
        size_t i;
        int b;
        memset(count, 0, sizeof count);
        for (i = 0; i < n; i++) {
            uint64_t key = key_of(v[i]);
            if ((key & mask) == prefix) {
                count[(key >> shift) & 0xFFu]++;
            }
        }
        /* The counts of the candidates sum to at least k, so b stops >= 0. */
        for (b = 255; b > 0 && count[b] < k; b--) {
            k -= count[b];
        }
        prefix |= (uint64_t)b << shift;
        mask |= UINT64_C(0xFF) << shift;
    }
    return value_of(prefix);
}

/* How many of the top customers share `share` covers: ceil(share * n),
 * forgiving the product's rounding (0.07 * 100 is 7.000000000000001), and at
 * least 1 since share > 0. */
static size_t top_count(double share, size_t n)
{
    double p = share * (double)n;
    double k = ceil(p * (1.0 - 4.0 * DBL_EPSILON));
    if (k < 1.0) {
        return 1;
    }
    if (k >= (double)n) {
        return n;
    }
    return (size_t)k;
}

static cvm_status check_values(const double *clv, size_t n, char *errbuf, size_t errlen)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (!isfinite(clv[i])) {
            return cvm__errf(errbuf, errlen, CVM_E_INVALID, "row %zu: CLV %g is not finite", i + 1,
                             clv[i]);
        }
    }
    return CVM_OK;
}

/* Index of the first cut that v reaches (cuts descending): the number of
 * cuts above v. */
static int32_t tier_of(const double *cuts, size_t ncuts, double v)
{
    size_t lo = 0, hi = ncuts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v >= cuts[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return (int32_t)lo;
}

cvm_status cvm_value_tiers(const double *clv, size_t n, const double *top_shares, size_t nshares,
                           double *cuts, int32_t *tier, char *errbuf, size_t errlen)
{
    const double *shares = top_shares;
    size_t j, i;
    cvm_status st;
    if (clv == NULL || n == 0) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "value tiers: no CLVs (NULL or n = 0)");
    }
    if (shares == NULL) {
        if (nshares != 0) {
            return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                             "value tiers: top_shares is NULL (the defaults) but nshares is %zu, "
                             "not 0",
                             nshares);
        }
        shares = default_shares;
        nshares = sizeof default_shares / sizeof default_shares[0];
    } else if (nshares == 0 || nshares >= (size_t)INT32_MAX) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "value tiers: nshares %zu is not in 1..%d", nshares, INT32_MAX - 1);
    }
    for (j = 0; j < nshares; j++) {
        double s = shares[j];
        if (!(s > 0.0 && s < 1.0)) {
            return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                             "value tiers: share %zu (%g) is not in (0, 1)", j + 1, s);
        }
        if (j > 0 && !(s > shares[j - 1])) {
            return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                             "value tiers: share %zu (%g) is not above share %zu (%g); shares "
                             "are cumulative from the top and ascending",
                             j + 1, s, j, shares[j - 1]);
        }
    }
    st = check_values(clv, n, errbuf, errlen);
    if (st != CVM_OK) {
        return st;
    }
    /* Cuts are non-increasing (the shares ascend), so after cut j every
     * customer below it is in tier j + 1 or lower, and the last cut a
     * customer is below decides: the number of cuts above its CLV, which is
     * what cvm_value_tier_assign() gives. */
    if (tier != NULL) {
        for (i = 0; i < n; i++) {
            tier[i] = 0;
        }
    }
    for (j = 0; j < nshares; j++) {
        double cut = kth_largest(clv, n, top_count(shares[j], n));
        if (cuts != NULL) {
            cuts[j] = cut;
        }
        if (tier != NULL) {
            for (i = 0; i < n; i++) {
                if (clv[i] < cut) {
                    tier[i] = (int32_t)(j + 1);
                }
            }
        }
    }
    return CVM_OK;
}

cvm_status cvm_value_tier_assign(const double *cuts, size_t ncuts, const double *clv, size_t n,
                                 int32_t *tier, char *errbuf, size_t errlen)
{
    size_t j, i;
    cvm_status st;
    if ((cuts == NULL && ncuts > 0) || (n > 0 && (clv == NULL || tier == NULL))) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "value tiers: a required pointer is NULL");
    }
    if (ncuts >= (size_t)INT32_MAX) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "value tiers: ncuts %zu is above %d", ncuts,
                         INT32_MAX - 1);
    }
    for (j = 0; j < ncuts; j++) {
        if (!isfinite(cuts[j])) {
            return cvm__errf(errbuf, errlen, CVM_E_INVALID, "value tiers: cut %zu (%g) is not finite",
                             j + 1, cuts[j]);
        }
        if (j > 0 && cuts[j] > cuts[j - 1]) {
            return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                             "value tiers: cut %zu (%g) is above cut %zu (%g); cuts descend", j + 1,
                             cuts[j], j, cuts[j - 1]);
        }
    }
    st = check_values(clv, n, errbuf, errlen);
    if (st != CVM_OK) {
        return st;
    }
    for (i = 0; i < n; i++) {
        tier[i] = tier_of(cuts, ncuts, clv[i]);
    }
    return CVM_OK;
}
