/* Rule-based attribution, as ChannelAttribution's heuristic_models does it:
 * every touch is a touch (a repeated channel counts each time), and a
 * journey's conversions and value are split by the same weights, so the
 * credits add up to the totals.
 *
 *   first     the first touch gets 1
 *   last      the last touch gets 1
 *   linear    each of the n touches gets 1/n
 *   decay     touch k gets 2^(-age_k / half_life), normalised over the journey
 *             (age = seconds before the journey's end; needs touch times)
 *   position  first touch first_share, last touch last_share, the rest split
 *             equally among the n - 2 middle touches; one touch gets 1; two
 *             touches get first_share / (first_share + last_share) and
 *             last_share / (first_share + last_share) (50/50 by default, and
 *             when both shares are 0). */
#include "attribution/attribution_int.h"

#include <math.h>
#include <string.h>

static void give(cvm__credit *out, uint32_t ch, double w, double conv, double value)
{
    out->conversions[ch] += w * conv;
    out->value[ch] += w * value;
}

static void decay(const cvm__journeys *j, size_t i, double half_life, cvm__credit *out)
{
    size_t lo = j->offset[i], hi = j->offset[i + 1], k;
    double youngest = j->age[lo], sum = 0;
    for (k = lo + 1; k < hi; k++) {
        youngest = j->age[k] < youngest ? j->age[k] : youngest;
    }
    /* Relative to the youngest touch (weight 1), so old journeys do not
     * underflow to 0/0; the normalisation makes it the same split. */
    for (k = lo; k < hi; k++) {
        sum += exp2(-(j->age[k] - youngest) / half_life);
    }
    for (k = lo; k < hi; k++) {
        give(out, j->channel[k], exp2(-(j->age[k] - youngest) / half_life) / sum,
             j->conversions[i], j->value[i]);
    }
}

static void position(const cvm__journeys *j, size_t i, double first, double last,
                     cvm__credit *out)
{
    size_t lo = j->offset[i], hi = j->offset[i + 1], n = hi - lo, k;
    double c = j->conversions[i], v = j->value[i];
    if (n == 1) {
        give(out, j->channel[lo], 1, c, v);
    } else if (n == 2) {
        double f = first + last > 0 ? first / (first + last) : 0.5;
        double l = first + last > 0 ? last / (first + last) : 0.5;
        give(out, j->channel[lo], f, c, v);
        give(out, j->channel[lo + 1], l, c, v);
    } else {
        double mid = (1 - first - last) / (double)(n - 2);
        if (mid < 0) {
            mid = 0; /* first + last rounded past 1 */
        }
        give(out, j->channel[lo], first, c, v);
        for (k = lo + 1; k + 1 < hi; k++) {
            give(out, j->channel[k], mid, c, v);
        }
        give(out, j->channel[hi - 1], last, c, v);
    }
}

cvm_status cvm__heuristic(const cvm__journeys *j, const cvm_attribution_run_options *o,
                          cvm__credit *out, char *err, size_t errlen)
{
    size_t i, k;
    if (o->model == CVM_ATTR_DECAY && j->age == NULL) {
        return cvm__errf(err, errlen, CVM_E_INVALID,
                         "time decay needs touch times: aggregated paths have none");
    }
    if (o->model < CVM_ATTR_FIRST || o->model > CVM_ATTR_POSITION) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "model %d is not a heuristic",
                         (int)o->model);
    }
    memset(out->conversions, 0, j->nchannels * sizeof *out->conversions);
    memset(out->value, 0, j->nchannels * sizeof *out->value);
    for (i = 0; i < j->n; i++) {
        size_t lo = j->offset[i], hi = j->offset[i + 1];
        double c = j->conversions[i], v = j->value[i];
        if ((c == 0 && v == 0) || lo == hi) {
            continue;
        }
        switch (o->model) {
        case CVM_ATTR_FIRST:
            give(out, j->channel[lo], 1, c, v);
            break;
        case CVM_ATTR_LAST:
            give(out, j->channel[hi - 1], 1, c, v);
            break;
        case CVM_ATTR_LINEAR: {
            double w = 1.0 / (double)(hi - lo);
            for (k = lo; k < hi; k++) {
                give(out, j->channel[k], w, c, v);
            }
            break;
        }
        case CVM_ATTR_DECAY:
            decay(j, i, o->half_life_seconds, out);
            break;
        default:
            position(j, i, o->first_share, o->last_share, out);
            break;
        }
    }
    return CVM_OK;
}
