/* Exact Shapley values of channels (cvm__shapley).
 *
 * The players are the channels that appear in some journey (n <= 20,
 * CVM__SHAPLEY_MAX_CHANNELS); channels that appear nowhere get 0. Each
 * journey is reduced to the bitmask of its distinct channels and the
 * journeys' conversions, value and nulls are summed per mask (f). The value
 * of a coalition S depends only on the journeys whose mask lies inside S, so
 * the sums over those journeys are the subset sums of f, all 2^n of them at
 * once by the fast zeta transform (n 2^n additions). Then
 *
 *     phi_i = sum over S not holding i of |S|! (n-|S|-1)! / n! (v(S+i) - v(S))
 *
 * for every player, another n 2^n steps: O(n 2^n) time, O(2^n) memory, from
 * the caller's allocator.
 *
 * CVM_SHAPLEY_CONVERSIONS: v(S) = conversions (value) of the journeys whose
 * channels lie in S. The credits are the Shapley values themselves; they sum
 * to v(N) = total conversions (value) and equal an equal split of every
 * journey among its distinct channels (tests check the identity).
 *
 * CVM_SHAPLEY_RATE: v(S) = c(S) / (c(S) + u(S)), the conversion rate of the
 * journeys whose channels lie in S (c conversions, u nulls), and for the
 * value m(S) / (c(S) + u(S)), value per journey; 0 when those journeys have
 * no conversion and no null. The raw Shapley values sum to v(N) - v({}) =
 * v(N), the overall rate; they are multiplied by the total number of
 * journeys T = c(N) + u(N), a constant (so still the Shapley values of the
 * game T v), which makes them sum to the total conversions (value). Negative
 * marginal contributions stay: a channel's credit may be negative.
 *
 * Journeys without touches (the handle makes none) belong to no coalition
 * and are left out. */
#include "attribution/attribution_int.h"

#include <string.h>

/* Bits set in a coalition mask (n <= 20 bits). */
static unsigned popcount32(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0fu;
    return (unsigned)((x * 0x01010101u) >> 24);
}

/* f[S] <- sum of f[T] over T subset of S (2^n entries). */
static void zeta(double *f, unsigned n)
{
    size_t full = (size_t)1 << n, bit, s;
    unsigned i;
    for (i = 0; i < n; i++) {
        bit = (size_t)1 << i;
        for (s = 0; s < full; s++) {
            if (s & bit) {
                f[s] += f[s ^ bit];
            }
        }
    }
}

/* Shapley value of player i in the game v over n players; w[k] is the
 * weight of a coalition of k players, level[] n scratch doubles. The
 * marginal contributions are summed per coalition size first, then
 * weighted. */
static double shapley_of(const double *v, unsigned n, unsigned i, const double *w,
                         double *level)
{
    size_t half = (size_t)1 << (n - 1), t, s, bit = (size_t)1 << i, low = bit - 1;
    double phi = 0;
    unsigned k;
    for (k = 0; k < n; k++) {
        level[k] = 0;
    }
    for (t = 0; t < half; t++) {
        /* The t-th coalition without player i: a zero bit inserted at i. */
        s = ((t & ~low) << 1) | (t & low);
        level[popcount32((uint32_t)s)] += v[s | bit] - v[s];
    }
    for (k = 0; k < n; k++) {
        phi += w[k] * level[k];
    }
    return phi;
}

cvm_status cvm__shapley(const cvm__journeys *j, int32_t value_kind, const cvm_allocator *a,
                        cvm__credit *out, char *err, size_t errlen)
{
    uint32_t *player = NULL; /* channel -> player index, or UINT32_MAX */
    double *mem = NULL, *conv, *val, *tot = NULL;
    double w[CVM__SHAPLEY_MAX_CHANNELS], level[CVM__SHAPLEY_MAX_CHANNELS];
    size_t c, t, q, full, narrays;
    unsigned n = 0, i, k;
    uint32_t owner[CVM__SHAPLEY_MAX_CHANNELS];

    if (value_kind != CVM_SHAPLEY_CONVERSIONS && value_kind != CVM_SHAPLEY_RATE) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "Shapley: unknown value kind %d",
                         (int)value_kind);
    }
    for (c = 0; c < j->nchannels; c++) {
        if (out->conversions) {
            out->conversions[c] = 0;
        }
        if (out->value) {
            out->value[c] = 0;
        }
    }
    if (j->nchannels == 0 || j->n == 0) {
        return CVM_OK;
    }

    /* Players: the channels that occur, in order of channel index. */
    player = cvm__calloc(a, j->nchannels, sizeof *player);
    if (!player) {
        return cvm__errf(err, errlen, CVM_E_NOMEM, "Shapley: out of memory");
    }
    for (t = 0; t < j->offset[j->n]; t++) {
        if (j->channel[t] >= j->nchannels) {
            cvm__free(a, player);
            return cvm__errf(err, errlen, CVM_E_INVALID, "Shapley: channel index %lu out of range",
                             (unsigned long)j->channel[t]);
        }
        player[j->channel[t]] = 1;
    }
    {
        size_t count = 0;
        for (c = 0; c < j->nchannels; c++) {
            count += player[c];
        }
        if (count > CVM__SHAPLEY_MAX_CHANNELS) {
            cvm__free(a, player);
            return cvm__errf(err, errlen, CVM_E_INVALID, "Shapley: %zu channels, at most %d",
                             count, CVM__SHAPLEY_MAX_CHANNELS);
        }
    }
    for (c = 0; c < j->nchannels; c++) {
        if (player[c]) {
            owner[n] = (uint32_t)c;
            player[c] = n++;
        } else {
            player[c] = UINT32_MAX;
        }
    }
    if (n == 0) {
        cvm__free(a, player);
        return CVM_OK;
    }

    /* f per channel-set mask: conversions, value (and nulls + conversions). */
    full = (size_t)1 << n;
    narrays = value_kind == CVM_SHAPLEY_RATE ? 3 : 2;
    mem = cvm__calloc(a, narrays * full, sizeof *mem);
    if (!mem) {
        cvm__free(a, player);
        return cvm__errf(err, errlen, CVM_E_NOMEM,
                         "Shapley: out of memory for %zu coalitions of %u channels", full, n);
    }
    conv = mem;
    val = mem + full;
    if (narrays == 3) {
        tot = mem + 2 * full;
    }
    for (q = 0; q < j->n; q++) {
        size_t mask = 0;
        for (t = j->offset[q]; t < j->offset[q + 1]; t++) {
            mask |= (size_t)1 << player[j->channel[t]];
        }
        if (mask == 0) {
            continue; /* no touch: no coalition holds it */
        }
        conv[mask] += j->conversions[q];
        val[mask] += j->value[q];
        if (tot) {
            tot[mask] += j->conversions[q] + j->nulls[q];
        }
    }
    cvm__free(a, player);

    /* v(S): sums over the journeys inside S. */
    zeta(conv, n);
    zeta(val, n);
    if (tot) {
        zeta(tot, n);
        for (q = 0; q < full; q++) {
            if (tot[q] > 0) {
                conv[q] /= tot[q];
                val[q] /= tot[q];
            } else {
                conv[q] = 0;
                val[q] = 0;
            }
        }
    }

    /* w[k] = k! (n-k-1)! / n! = 1 / (n C(n-1, k)); C exact in a double. */
    {
        double binom = 1;
        for (k = 0; k < n; k++) {
            w[k] = 1.0 / ((double)n * binom);
            binom = binom * (double)(n - 1 - k) / (double)(k + 1);
        }
    }
    {
        /* Rate: the total number of journeys T scales rates to counts. */
        double scale = tot ? tot[full - 1] : 1.0;
        for (i = 0; i < n; i++) {
            if (out->conversions) {
                out->conversions[owner[i]] = scale * shapley_of(conv, n, i, w, level);
            }
            if (out->value) {
                out->value[owner[i]] = scale * shapley_of(val, n, i, w, level);
            }
        }
    }
    cvm__free(a, mem);
    return CVM_OK;
}
