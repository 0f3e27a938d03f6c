/* Segment profiles: size, shares and means of each segment from per-customer
 * labels. Two passes over the rows (check, then sum) and no allocation: the
 * caller's profiles hold the running sums. */
#include "segment/segment_int.h"

#include <math.h>
#include <string.h>

#define PROFILE_MAX_SIZE 4096

static int bad(double v)
{
    return !(v >= 0) || isinf(v);
}

/* Every row checked before anything is written; the message names it. */
static cvm_status check_rows(const int32_t *labels, size_t n, size_t nsegments,
                             const double *const col[5], char *err, size_t errlen)
{
    static const char *const names[5] = { "recency", "frequency", "monetary", "p_alive", "clv" };
    size_t i;
    int c;
    for (i = 0; i < n; i++) {
        if (labels[i] < 0 || (uint64_t)labels[i] >= (uint64_t)nsegments) {
            return cvm__errf(err, errlen, CVM_E_INVALID,
                             "profiles: row %zu: label %d is not within 0..%zu", i + 1,
                             (int)labels[i], nsegments - 1);
        }
        for (c = 0; c < 5; c++) {
            if (col[c] != NULL && (bad(col[c][i]) || (c == 3 && col[c][i] > 1))) {
                return cvm__errf(err, errlen, CVM_E_INVALID,
                                 "profiles: row %zu: %s %g is not finite and %s", i + 1, names[c],
                                 col[c][i], c == 3 ? "within 0..1" : ">= 0");
            }
        }
    }
    return CVM_OK;
}

cvm_status cvm_segment_profiles(const int32_t *labels, size_t n, size_t nsegments,
                                const double *recency, const double *frequency,
                                const double *monetary, const double *p_alive,
                                const double *clv, cvm_segment_profile *out, char *errbuf,
                                size_t errlen)
{
    const double *const col[5] = { recency, frequency, monetary, p_alive, clv };
    double total_revenue = 0, total_clv = 0;
    size_t stride, i, j;
    cvm_status st;
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (labels == NULL || recency == NULL || frequency == NULL || monetary == NULL ||
        out == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "profiles: a required array is NULL");
    }
    if (n == 0 || nsegments == 0) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "profiles: n = %zu customers and %zu segments (both must be >= 1)", n,
                         nsegments);
    }
    /* The caller's element size is the array's stride; all must agree. */
    stride = out->size;
    if (stride < sizeof(cvm_segment_profile) || stride > PROFILE_MAX_SIZE ||
        stride % _Alignof(cvm_segment_profile) != 0 || nsegments > SIZE_MAX / stride) {
        return cvm__errf(errbuf, errlen, CVM_E_ABI, "profiles: profile size %zu is not supported",
                         stride);
    }
    for (j = 0; j < nsegments; j++) {
        const cvm_segment_profile *p = (const void *)((const char *)out + j * stride);
        if (p->size != stride) {
            return cvm__errf(errbuf, errlen, CVM_E_ABI,
                             "profiles: profile %zu has size %zu, profile 0 %zu", j, p->size,
                             stride);
        }
    }
    st = check_rows(labels, n, nsegments, col, errbuf, errlen);
    if (st != CVM_OK) {
        return st;
    }
    for (j = 0; j < nsegments; j++) {
        cvm_segment_profile *p = (void *)((char *)out + j * stride);
        memset(p, 0, stride);
        p->size = stride;
    }
    /* Sums first: mean_* hold sums and share_revenue the segment's
     * revenue, until the divisions below. */
    for (i = 0; i < n; i++) {
        cvm_segment_profile *p = (void *)((char *)out + (size_t)labels[i] * stride);
        const double revenue = frequency[i] * monetary[i];
        p->count += 1;
        p->mean_recency += recency[i];
        p->mean_frequency += frequency[i];
        p->mean_monetary += monetary[i];
        p->share_revenue += revenue;
        total_revenue += revenue;
        if (p_alive != NULL) {
            p->mean_p_alive += p_alive[i];
        }
        if (clv != NULL) {
            p->mean_clv += clv[i];
            total_clv += clv[i];
        }
    }
    for (j = 0, i = 0; j < nsegments; j++) {
        const cvm_segment_profile *p = (const void *)((const char *)out + j * stride);
        i += isinf(p->mean_recency) || isinf(p->mean_frequency) || isinf(p->mean_monetary);
    }
    if (i > 0 || isinf(total_revenue) || isinf(total_clv)) {
        for (j = 0; j < nsegments; j++) {
            cvm_segment_profile *p = (void *)((char *)out + j * stride);
            memset(p, 0, stride);
            p->size = stride;
        }
        return cvm__errf(errbuf, errlen, CVM_E_RANGE,
                         "profiles: a sum of %s is too large to represent",
                         i > 0 ? "recency, frequency or monetary value"
                               : isinf(total_revenue) ? "revenue" : "CLV");
    }
    for (j = 0; j < nsegments; j++) {
        cvm_segment_profile *p = (void *)((char *)out + j * stride);
        const double c = p->count;
        p->share_customers = c / (double)n;
        p->share_revenue = total_revenue > 0 ? p->share_revenue / total_revenue : 0;
        p->share_clv = total_clv > 0 ? p->mean_clv / total_clv : 0;
        if (c > 0) {
            p->mean_recency /= c;
            p->mean_frequency /= c;
            p->mean_monetary /= c;
            p->mean_p_alive /= c;
            p->mean_clv /= c;
        }
    }
    return CVM_OK;
}
