/* Attribution and ROI: which channels earned the conversions, under every
 * model, and what each channel returned on its spend.
 *
 * The journeys are a small inline set of aggregated paths (ChannelAttribution's
 * format: a path, its conversions, their value and the journeys that did not
 * convert). The time-decay model needs touch times, so it runs on a second
 * handle fed raw touchpoints. */
#include <cvm.h>
#include <stdio.h>
#include <string.h>

#define DAY CVM_SECONDS_PER_DAY
#define MAXCH 8

static const struct {
    const char *path;
    double conversions, value, nulls;
} paths[] = {
    {"search", 40, 3200, 160},
    {"social > search", 25, 2250, 90},
    {"email", 30, 1800, 60},
    {"display > social > search", 12, 1320, 110},
    {"display > email", 8, 560, 70},
    {"social", 6, 300, 240},
    {"email > search > email", 15, 1500, 20},
    {"display", 2, 90, 300},
};

/* What each channel cost over the same period. */
static const struct { const char *channel; double spend; } spend_table[] = {
    {"search", 4000}, {"social", 2500}, {"email", 600}, {"display", 3000},
};

static int run(cvm_attribution *a, int32_t model, double *conv, double *value, size_t n)
{
    cvm_attribution_run_options ro = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    cvm_status st;
    ro.model = model;
    st = cvm_attribution_run(a, &ro);
    if (st == CVM_OK) {
        st = cvm_attribution_credit(a, conv, value, n);
    }
    if (st != CVM_OK) {
        fprintf(stderr, "model %d: %s: %s\n", (int)model, cvm_strerror(st),
                cvm_attribution_errmsg(a));
        return 1;
    }
    return 0;
}

/* Raw touchpoints of three customers for the decay model: two convert. */
static int decay_demo(void)
{
    static const struct { const char *id, *channel; int day; } touches[] = {
        {"ann", "display", 0}, {"ann", "social", 6}, {"ann", "search", 9},
        {"bob", "email", 1},   {"bob", "search", 2},
        {"cat", "display", 3}, {"cat", "social", 4},
    };
    const int64_t t0 = 1704067200; /* 2024-01-01 */
    cvm_attribution *a = NULL;
    double conv[MAXCH], value[MAXCH];
    cvm_status st = cvm_attribution_new(&a, NULL);
    size_t i, n;
    for (i = 0; st == CVM_OK && i < sizeof touches / sizeof touches[0]; i++) {
        st = cvm_attribution_add_touch(a, touches[i].id, strlen(touches[i].id), touches[i].channel,
                                       strlen(touches[i].channel), t0 + touches[i].day * DAY);
    }
    if (st == CVM_OK) {
        st = cvm_attribution_add_conversion(a, "ann", 3, t0 + 10 * DAY, 120.0);
    }
    if (st == CVM_OK) {
        st = cvm_attribution_add_conversion(a, "bob", 3, t0 + 2 * DAY, 80.0);
    }
    if (st != CVM_OK) {
        fprintf(stderr, "touchpoints: %s\n", a ? cvm_attribution_errmsg(a) : cvm_strerror(st));
        cvm_attribution_free(a);
        return 1;
    }
    n = cvm_attribution_channel_count(a);
    if (n > MAXCH || run(a, CVM_ATTR_DECAY, conv, value, n)) {
        cvm_attribution_free(a);
        return 1;
    }
    printf("\ntime decay (half-life 7 days) on touchpoints of 3 customers:\n");
    for (i = 0; i < n; i++) {
        printf("  %-8s %5.3f conversions  %7.2f value\n", cvm_attribution_channel_name(a, i),
               conv[i], value[i]);
    }
    cvm_attribution_free(a);
    return 0;
}

int main(void)
{
    static const struct { int32_t model; const char *name; } models[] = {
        {CVM_ATTR_FIRST, "first"},       {CVM_ATTR_LAST, "last"},
        {CVM_ATTR_LINEAR, "linear"},     {CVM_ATTR_POSITION, "position"},
        {CVM_ATTR_MARKOV, "markov"},     {CVM_ATTR_SHAPLEY, "shapley"},
    };
    enum { NMODELS = sizeof models / sizeof models[0] };
    cvm_attribution *a = NULL;
    double conv[NMODELS][MAXCH], value[MAXCH], spend[MAXCH], roi[MAXCH], cpc[MAXCH];
    double effects[MAXCH], p_conv;
    char err[256];
    cvm_status st;
    size_t i, j, n;
    int rc = 1;

    if ((st = cvm_attribution_new(&a, NULL)) != CVM_OK) {
        fprintf(stderr, "cvm_attribution_new: %s\n", cvm_strerror(st));
        return 1;
    }
    for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        st = cvm_attribution_add_path(a, paths[i].path, strlen(paths[i].path),
                                      paths[i].conversions, paths[i].value, paths[i].nulls);
        if (st != CVM_OK) {
            fprintf(stderr, "path '%s': %s\n", paths[i].path, cvm_attribution_errmsg(a));
            goto done;
        }
    }
    n = cvm_attribution_channel_count(a); /* indices in order of first appearance */
    if (n > MAXCH) {
        goto done;
    }

    /* Every model credits the same 138 conversions, split differently. The
     * Markov run goes last but one; its removal effects are read right after. */
    printf("conversions credited per channel (138 in all)\n%-8s", "channel");
    for (j = 0; j < NMODELS; j++) {
        printf(" %9s", models[j].name);
    }
    printf("\n");
    for (j = 0; j < NMODELS; j++) {
        if (run(a, models[j].model, conv[j], NULL, n)) {
            goto done;
        }
        if (models[j].model == CVM_ATTR_MARKOV &&
            cvm_attribution_removal_effects(a, effects, n, &p_conv) != CVM_OK) {
            fprintf(stderr, "removal effects: %s\n", cvm_attribution_errmsg(a));
            goto done;
        }
    }
    for (i = 0; i < n; i++) {
        printf("%-8s", cvm_attribution_channel_name(a, i));
        for (j = 0; j < NMODELS; j++) {
            printf(" %9.2f", conv[j][i]);
        }
        printf("\n");
    }
    printf("Markov: P(conversion) %.4f; removal effects:", p_conv);
    for (i = 0; i < n; i++) {
        printf(" %s %.3f", cvm_attribution_channel_name(a, i), effects[i]);
    }
    printf("\n");

    /* ROI of the Markov credit: match the spend table to channel indices by
     * name, run the model again (the last run was Shapley) and divide. */
    for (i = 0; i < n; i++) {
        spend[i] = 0;
        for (j = 0; j < sizeof spend_table / sizeof spend_table[0]; j++) {
            if (strcmp(spend_table[j].channel, cvm_attribution_channel_name(a, i)) == 0) {
                spend[i] = spend_table[j].spend;
            }
        }
    }
    if (run(a, CVM_ATTR_MARKOV, conv[0], value, n)) {
        goto done;
    }
    if (cvm_attribution_roi(a, spend, n, roi, cpc, err, sizeof err) != CVM_OK) {
        fprintf(stderr, "ROI: %s\n", err);
        goto done;
    }
    printf("\nROI of the Markov credit\n%-8s %11s %10s %8s %6s %10s\n", "channel", "conversions",
           "value", "spend", "ROI", "cost/conv");
    for (i = 0; i < n; i++) {
        printf("%-8s %11.2f %10.2f %8.0f %6.2f %10.2f\n", cvm_attribution_channel_name(a, i),
               conv[0][i], value[i], spend[i], roi[i], cpc[i]);
    }
    rc = decay_demo();
done:
    cvm_attribution_free(a);
    return rc;
}
