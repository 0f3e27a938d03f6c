/* libFuzzer harness: the attribution path parser.
 *
 * Input: one option byte, then a paths CSV (ChannelAttribution's columns
 * path, total_conversions, total_conversion_value, total_null).
 *   bits 0-1 CSV delimiter (',' ';' tab '|'), bits 2-3 path separator
 *   ('>' '|' ' ' ','), bit 4 no value column, bit 5 no null column,
 *   bits 6-7 the Markov run: order 1, order 2, order 1 cut after 5
 *   transitions, or order 1 without nulls plus Shapley values
 * The seeds' default is 0x00: comma and '>'.
 *
 * The first line of the text is added as one path with
 * cvm_attribution_add_path(); the whole text is then loaded as a file with
 * cvm_attribution_load_csv(), all or nothing, on top of it. What loaded is
 * attributed by every heuristic and by a Markov chain (and Shapley values),
 * within limits on channels that keep one input well under a millisecond. */
#include "fuzz.h"

#include "cvm.h"

#include <math.h>
#include <string.h>

/* Exact Markov removal effects cost a solve per channel, Shapley values
 * 2^channels coalitions: the cheap models always run, these only below. */
#define MARKOV_MAX_CHANNELS 24
#define SHAPLEY_MAX_CHANNELS 10

static void credit_ok(const cvm_attribution *a, int32_t model, int nonnegative)
{
    size_t n = cvm_attribution_channel_count(a), i;
    double *conv = malloc((n ? n : 1) * 2 * sizeof *conv), *value = conv + (n ? n : 1);
    FUZZ_CHECK(conv != NULL);
    FUZZ_CHECK(cvm_attribution_credit(a, conv, value, n) == CVM_OK);
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(isfinite(conv[i]) && isfinite(value[i]));
        FUZZ_CHECK(!nonnegative || (conv[i] >= 0 && value[i] >= 0));
    }
    if (model == CVM_ATTR_MARKOV) {
        double p;
        FUZZ_CHECK(cvm_attribution_removal_effects(a, conv, n, &p) == CVM_OK);
        /* A sum of probabilities: exact to 1e-14 relative, as documented,
         * so it may pass 1 by an ulp or two. */
        FUZZ_CHECK(p >= 0 && p <= 1 + 1e-14);
        for (i = 0; i < cvm_attribution_state_count(a); i++) {
            FUZZ_CHECK(cvm_attribution_state_name(a, i) != NULL);
        }
    }
    free(conv);
}

static void run(cvm_attribution *a, uint8_t cfg)
{
    static const int32_t heuristics[4] = {CVM_ATTR_FIRST, CVM_ATTR_LAST, CVM_ATTR_LINEAR,
                                          CVM_ATTR_POSITION};
    cvm_attribution_run_options ro = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    size_t nch = cvm_attribution_channel_count(a), i;
    int variant = (cfg >> 6) & 3;
    cvm_status st;
    for (i = 0; i < 4; i++) {
        ro.model = heuristics[i];
        st = cvm_attribution_run(a, &ro);
        if (st == CVM_OK) {
            credit_ok(a, ro.model, 1);
        } else {
            FUZZ_CHECK(cvm_attribution_errmsg(a)[0] != '\0');
        }
    }
    if (nch <= MARKOV_MAX_CHANNELS) {
        ro.model = CVM_ATTR_MARKOV;
        ro.order = variant == 1 ? 2 : 1;
        ro.max_steps = variant == 2 ? 5 : 0;
        ro.use_nulls = variant != 3;
        st = cvm_attribution_run(a, &ro);
        if (st == CVM_OK) {
            credit_ok(a, ro.model, 1);
        } else {
            FUZZ_CHECK(cvm_attribution_errmsg(a)[0] != '\0');
        }
    }
    if (variant == 3 && nch <= SHAPLEY_MAX_CHANNELS) {
        ro.model = CVM_ATTR_SHAPLEY;
        for (i = 0; i < 2; i++) {
            ro.shapley = i == 0 ? CVM_SHAPLEY_CONVERSIONS : CVM_SHAPLEY_RATE;
            if (cvm_attribution_run(a, &ro) == CVM_OK) {
                credit_ok(a, ro.model, i == 0);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delimiters[4] = {',', ';', '\t', '|'};
    static const char separators[4] = {'>', '|', ' ', ','};
    cvm_attribution_options ao = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_paths_csv_options po = CVM_PATHS_CSV_OPTIONS_INIT;
    cvm_attribution *a = NULL;
    const char *text, *eol;
    size_t n, nch, first_len;
    cvm_status st;
    uint8_t cfg;
    if (size < 1) {
        return 0;
    }
    cfg = data[0];
    text = (const char *)data + 1;
    n = size - 1;
    ao.separator = separators[(cfg >> 2) & 3];
    po.delimiter = delimiters[cfg & 3];
    if ((cfg >> 4) & 1) {
        po.value_column = NULL;
    }
    if ((cfg >> 5) & 1) {
        po.null_column = NULL;
    }
    FUZZ_CHECK(cvm_attribution_new(&a, &ao) == CVM_OK);
    eol = n > 0 ? memchr(text, '\n', n) : NULL;
    first_len = eol ? (size_t)(eol - text) : n;
    st = cvm_attribution_add_path(a, text, first_len, 1, 2.5, 1);
    FUZZ_CHECK(st == CVM_OK || cvm_attribution_errmsg(a)[0] != '\0');
    nch = cvm_attribution_channel_count(a);
    if (st != CVM_OK) {
        FUZZ_CHECK(nch == 0);
    }
    st = cvm_attribution_load_csv(a, fuzz_tmp_file((const uint8_t *)text, n), &po);
    if (st != CVM_OK) {
        FUZZ_CHECK(cvm_attribution_errmsg(a)[0] != '\0');
        FUZZ_CHECK(cvm_attribution_channel_count(a) == nch);
    }
    for (nch = 0; nch < cvm_attribution_channel_count(a); nch++) {
        FUZZ_CHECK(cvm_attribution_channel_name(a, nch) != NULL);
    }
    run(a, cfg);
    cvm_attribution_free(a);
    return 0;
}
