/* Segmentation: four ways to split one customer base, each profiled with
 * cvm_segment_profiles() — RFM segments, k-means clusters on the summary
 * features, value tiers by CLV and lifecycle stages. */
#include <cvm.h>
#include <stdio.h>
#include <stdlib.h>

#define WEEK (7 * CVM_SECONDS_PER_DAY)
#define N 3000
#define K 4 /* k-means clusters */

typedef struct sink { cvm_customers *c; cvm_status st; } sink;
static int add(void *ud, size_t customer, int64_t time, double amount)
{
    sink *s = ud;
    char id[24];
    int len = snprintf(id, sizeof id, "cust-%zu", customer + 1);
    s->st = cvm_customers_add(s->c, id, (size_t)len, time, amount);
    return s->st != CVM_OK;
}

/* Summary columns and model scores, one entry per customer. */
static double x[N], t_x[N], T[N], m[N], since[N], p_alive[N], clv[N];

/* Profile `nseg` segments of `label` and print one line each. */
static int profile(const char *title, const int32_t *label, size_t n, size_t nseg,
                   const char *const *names)
{
    cvm_segment_profile prof[16];
    char err[256];
    size_t j;
    for (j = 0; j < nseg; j++) {
        prof[j].size = sizeof prof[j]; /* every element carries its size */
    }
    if (cvm_segment_profiles(label, n, nseg, since, x, m, p_alive, clv, prof, err, sizeof err) !=
        CVM_OK) {
        fprintf(stderr, "%s profile: %s\n", title, err);
        return 1;
    }
    printf("\n%s\n%-20s %6s %6s %6s %7s %5s %7s %6s %8s %6s\n", title, "segment", "count", "cust%",
           "rev%", "recency", "freq", "spend", "alive", "CLV", "CLV%");
    for (j = 0; j < nseg; j++) {
        char name[32]; /* "cluster " and any size_t */
        if (prof[j].count == 0) {
            continue;
        }
        if (names) {
            snprintf(name, sizeof name, "%s", names[j]);
        } else {
            snprintf(name, sizeof name, "cluster %zu", j);
        }
        printf("%-20s %6.0f %6.1f %6.1f %7.1f %5.2f %7.2f %6.3f %8.2f %6.1f\n", name, prof[j].count,
               100 * prof[j].share_customers, 100 * prof[j].share_revenue, prof[j].mean_recency,
               prof[j].mean_frequency, prof[j].mean_monetary, prof[j].mean_p_alive,
               prof[j].mean_clv, 100 * prof[j].share_clv);
    }
    return 0;
}

int main(void)
{
    static int32_t r[N], f[N], mm[N], label[N];
    static double features[3 * N];
    static const char *const tier_names[] = {"top 1%", "next 9%", "next 40%", "bottom 50%"};
    static const char *const stage_names[] = {"new", "active", "at risk", "lapsed"};
    const char *seg_names[16];
    cvm_simulate_options sim = CVM_SIMULATE_OPTIONS_INIT;
    cvm_summary_options weeks = CVM_SUMMARY_OPTIONS_INIT;
    cvm_kmeans_options kopts = CVM_KMEANS_OPTIONS_INIT;
    cvm_clv *model = NULL;
    cvm_spend *spend = NULL;
    cvm_rfm *rfm = NULL;
    cvm_kmeans *km = NULL;
    sink s = {NULL, CVM_OK};
    char err[256] = "";
    double cuts[3];
    cvm_status st;
    size_t i, n, nseg;
    int k, rc = 1;

    /* 3,000 simulated customers whose first purchases spread over the whole
     * 78 weeks, so that some are still new at the end. */
    sim.customers = N;
    sim.seed = 11;
    sim.acquisition_seconds = sim.duration_seconds;
    weeks.unit_seconds = WEEK;
    if ((st = cvm_customers_new(&s.c, NULL)) != CVM_OK) {
        fprintf(stderr, "cvm_customers_new: %s\n", cvm_strerror(st));
        return 1;
    }
    st = cvm_simulate(&sim, add, &s);
    if (st != CVM_OK || s.st != CVM_OK) {
        fprintf(stderr, "simulate: %s\n", st ? cvm_strerror(st) : cvm_customers_errmsg(s.c));
        goto done;
    }
    n = cvm_customers_summary_rows(s.c);
    for (k = 0, st = n <= N ? CVM_OK : CVM_E_RANGE; k < 4 && st == CVM_OK; k++) {
        double *col[4] = {x, t_x, T, m};
        st = cvm_customers_summary(s.c, &weeks, k, col[k], n);
    }
    if (st != CVM_OK) {
        fprintf(stderr, "summary: %s\n", cvm_customers_errmsg(s.c));
        goto done;
    }
    for (i = 0; i < n; i++) {
        since[i] = T[i] - t_x[i]; /* RFM recency: weeks since the last purchase */
    }

    /* P(alive) and 12-week CLV from BG/NBD + Gamma-Gamma, for the profiles. */
    if ((st = cvm_clv_new(&model, NULL)) != CVM_OK ||
        (st = cvm_clv_fit(model, x, t_x, T, NULL, n, NULL)) != CVM_OK) {
        fprintf(stderr, "BG/NBD: %s\n", model ? cvm_clv_errmsg(model) : cvm_strerror(st));
        goto done;
    }
    if ((st = cvm_spend_new(&spend, NULL)) != CVM_OK ||
        (st = cvm_spend_fit(spend, x, m, NULL, n, NULL)) != CVM_OK) {
        fprintf(stderr, "Gamma-Gamma: %s\n", spend ? cvm_spend_errmsg(spend) : cvm_strerror(st));
        goto done;
    }
    if (cvm_clv_score(model, spend, 12, NULL, x, t_x, T, m, n, p_alive, NULL, NULL, clv, err,
                      sizeof err) != CVM_OK) {
        fprintf(stderr, "score: %s\n", err);
        goto done;
    }
    printf("%zu customers, 78 weeks of purchases\n", n);

    /* 1. RFM: quintile scores 1..5 and R's `rfm` package segment map. */
    if ((st = cvm_rfm_new(&rfm, NULL)) != CVM_OK ||
        (st = cvm_rfm_fit(rfm, since, x, m, n)) != CVM_OK ||
        (st = cvm_rfm_fit_scores(rfm, n, r, f, mm)) != CVM_OK) {
        fprintf(stderr, "RFM: %s\n", rfm ? cvm_rfm_errmsg(rfm) : cvm_strerror(st));
        goto done;
    }
    if (cvm_rfm_segment(rfm, r, f, mm, n, label, err, sizeof err) != CVM_OK) {
        fprintf(stderr, "RFM segments: %s\n", err);
        goto done;
    }
    nseg = cvm_rfm_segment_count(rfm); /* the rules plus "Others" */
    for (i = 0; i < nseg && i < 16; i++) {
        seg_names[i] = cvm_rfm_segment_name(rfm, i);
    }
    if (nseg > 16 || profile("RFM segments", label, n, nseg, seg_names)) {
        goto done;
    }

    /* 2. k-means on (weeks since last purchase, repeat purchases, mean spend):
     * skewed features, so cluster in log1p + z-score space. */
    for (i = 0; i < n; i++) {
        features[3 * i] = since[i];
        features[3 * i + 1] = x[i];
        features[3 * i + 2] = m[i];
    }
    kopts.k = K;
    kopts.n_init = 4;
    kopts.seed = 1;
    kopts.scaling = CVM_SCALE_LOG1P_ZSCORE;
    if ((st = cvm_kmeans_new(&km, &kopts)) != CVM_OK ||
        (st = cvm_kmeans_fit(km, features, n, 3, NULL, label)) != CVM_OK) {
        fprintf(stderr, "k-means: %s\n", km ? cvm_kmeans_errmsg(km) : cvm_strerror(st));
        goto done;
    }
    if (profile("k-means clusters (k = 4)", label, n, K, NULL)) {
        goto done;
    }

    /* 3. Value tiers by CLV rank: top 1%, next 9%, next 40%, bottom 50%. */
    if (cvm_value_tiers(clv, n, NULL, 0, cuts, label, err, sizeof err) != CVM_OK) {
        fprintf(stderr, "tiers: %s\n", err);
        goto done;
    }
    printf("\nCLV tier cuts: %.2f, %.2f, %.2f\n", cuts[0], cuts[1], cuts[2]);
    if (profile("value tiers", label, n, 4, tier_names)) {
        goto done;
    }

    /* 4. Lifecycle stages from the summary and P(alive), default thresholds. */
    if (cvm_lifecycle(NULL, x, t_x, T, p_alive, NULL, n, label, err, sizeof err) != CVM_OK) {
        fprintf(stderr, "lifecycle: %s\n", err);
        goto done;
    }
    if (profile("lifecycle stages", label, n, 4, stage_names)) {
        goto done;
    }
    rc = 0;
done:
    cvm_kmeans_free(km);
    cvm_rfm_free(rfm);
    cvm_spend_free(spend);
    cvm_clv_free(model);
    cvm_customers_free(s.c);
    return rc;
}
