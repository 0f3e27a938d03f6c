/* cvm's command table: the run of each subcommand, and its argument check
 * alone, which the fuzz harness (tests/fuzz/fuzz_args.c) calls. */
#include "cli.h"

#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    int (*check_args)(int argc, char **argv);
} command;

static const command commands[] = {
    {"simulate", cmd_simulate, cmd_simulate_check_args},
    {"summary", cmd_summary, cmd_summary_check_args},
    {"fit", cmd_fit, cmd_fit_check_args},
    {"predict", cmd_predict, cmd_predict_check_args},
    {"segment", cmd_segment, cmd_segment_check_args},
    {"report", cmd_report, cmd_report_check_args},
    {"attribute", cmd_attribute, cmd_attribute_check_args},
};

static int usage(FILE *f)
{
    fputs("usage: cvm COMMAND [OPTIONS]\n"
          "\n"
          "commands:\n"
          "  simulate --customers N [--seed S] [--model bgnbd|pareto|mbgnbd|bgbb]\n"
          "           [--params P1,P2,P3,P4] [--spend p,q,v] [--start DATE] [--weeks W]\n"
          "           [-o FILE]\n"
          "      a transaction CSV (id,date,amount) drawn from known parameters, in\n"
          "      the model's order (default: its published CDNOW estimates, or the\n"
          "      donations estimates for bgbb, which has one opportunity a week)\n"
          "  summary FILE [--delimiter C | --whitespace] [--no-header] [--id COL]\n"
          "           [--date COL] [--amount COL] [--date-format iso|yyyymmdd|unix]\n"
          "           [--period day|week] [--unit-days N] [--calibration-end DATE]\n"
          "           [--observation-end DATE] [-o FILE]\n"
          "      the per-customer summary: id,frequency,recency,T,monetary_value\n"
          "      (+ holdout columns when the observation end is after the calibration end)\n"
          "  fit MODEL --summary FILE [--frequency COL] [--recency COL] [--T COL]\n"
          "           [--monetary COL] [--weights COL] [--penalizer C] [--json]\n"
          "           [--save PATH] [-o FILE]\n"
          "      fit MODEL (bgnbd, pareto, mbgnbd, bgbb, gammagamma) to a summary;\n"
          "      columns default to frequency, recency, T, monetary_value (for bgbb T is\n"
          "      the number of opportunities; gammagamma reads frequency and\n"
          "      monetary_value and uses the rows with frequency > 0); prints a table, or\n"
          "      with --json one object {model, n, params, stderr, loglik, converged,\n"
          "      iterations}; --save writes the fitted model for predict\n"
          "  predict MODEL --summary FILE [--horizon T] [--periods K] [--period-length L]\n"
          "           [--discount-rate D] [--margin M] [--model-file PATH]\n"
          "           [--spend-file PATH] [--id COL] [fit's column options]\n"
          "           [--penalizer C] [-o FILE]\n"
          "      per customer id,p_alive,expected_purchases,expected_value,clv: MODEL\n"
          "      (bgnbd, pareto, mbgnbd, bgbb) and Gamma-Gamma are fitted on the summary\n"
          "      unless loaded from files `fit --save` wrote. Times are in the summary's\n"
          "      unit. expected_purchases covers --horizon (default K * L); CLV sums K\n"
          "      periods (default 12) of length L (default 1) discounted at D per period\n"
          "      (default 0.01), times margin M (default 1). Without a monetary column\n"
          "      (or with --monetary none) expected_value and clv are left out. Ids come\n"
          "      from the id column, else row numbers.\n",
          f);
    /* In pieces: C11 compilers need not take string literals over 4095 bytes. */
    fputs("  segment rfm --summary FILE [--bins K] [--ties quantile|rank] [--map rfm|grid]\n"
          "           [--profile] [--clv] [--id COL] [fit's column options] [-o FILE]\n"
          "      RFM scores 1..K (default 5) on recency = T - recency (the time since the\n"
          "      last purchase; the most recent score K), frequency and monetary_value,\n"
          "      by quantile breakpoints (ties share a score; R's rfm) or equal-count\n"
          "      rank bins (pandas' qcut of ranks), and the named segment of each\n"
          "      customer from R rfm's map (Champions ... Lost) or the recency-frequency\n"
          "      grid (champions ... hibernating); \"Others\" when no rule matches. The\n"
          "      maps are rules on scores 1..5: with another K each score cell (\"213\") is\n"
          "      a segment.\n"
          "      Writes id,segment,r,f,m,rfm_score (100R + 10F + M).\n"
          "  segment kmeans --summary FILE [--k K] [--n-init N] [--seed S]\n"
          "           [--scale none|zscore|log1p] [--features LIST] [--profile] [--clv]\n"
          "           [--id COL] [fit's column options] [-o FILE]\n"
          "      k-means++ clustering into K (default 4) segments 0..K-1 on LIST, a comma-\n"
          "      separated subset of recency (T - recency), frequency, monetary, tenure\n"
          "      (T) (default recency,frequency,monetary), scaled by z-scores of log1p\n"
          "      (default), z-scores or not at all; the best of N (default 10) seeded\n"
          "      restarts (default seed 0). Writes id,segment,<features>.\n"
          "      Both: --profile writes, instead of one row per customer, one row per\n"
          "      segment with customers: segment,count,share_customers,share_revenue,\n"
          "      mean_recency,mean_frequency,mean_monetary (revenue = frequency *\n"
          "      monetary_value). --clv fits BG/NBD and Gamma-Gamma on the summary and\n"
          "      adds p_alive,clv per customer, or mean_p_alive,mean_clv,share_clv to the\n"
          "      profile (CLV as predict's defaults: 12 periods of 1 time unit, 1% each).\n"
          "      The column options are fit's, without --weights (a row is a customer).\n",
          f);
    fputs("  attribute (--paths FILE | --touchpoints FILE)\n"
          "           --model first|last|linear|decay|position|markov|shapley [--order K]\n"
          "           [--max-steps N] [--no-null] [--shapley conversions|rate]\n"
          "           [--half-life DAYS] [--lookback DAYS] [--delimiter C] [--separator C]\n"
          "           [--path COL] [--conversions COL] [--value COL] [--null COL]\n"
          "           [--id COL] [--date COL] [--channel COL] [--spend FILE] [--json]\n"
          "           [-o FILE]\n"
          "      channel credit from customer journeys: channel,conversions,value, one row\n"
          "      per channel in order of first appearance (+ removal_effect for markov,\n"
          "      + spend,roi,cost_per_conversion with --spend). --paths reads aggregated\n"
          "      journeys in ChannelAttribution's format: columns path (channels joined\n"
          "      by '>', see --separator), total_conversions, total_conversion_value and\n"
          "      total_null, comma-separated (--delimiter ';' for its Data.csv); the value\n"
          "      and null columns may be absent unless named, or left out with \"none\"\n"
          "      (--no-null also ignores the nulls); FILE cannot be '-'. --touchpoints\n"
          "      FILE (or '-') reads one event per row, columns id, date, channel, value\n"
          "      (optional): a row with a channel is a touch, a row with an empty channel\n"
          "      a conversion of that customer worth value (default 0; ISO dates or\n"
          "      date-times, or YYYYMMDD). A conversion's journey holds the customer's\n"
          "      touches since the previous conversion, at most --lookback days (default\n"
          "      30, 0: no limit) before it; touches after the last conversion are a\n"
          "      journey that did not convert (a null). Models: first, last, linear touch\n"
          "      (repeats count); decay (touchpoints only): weight 2^(-age/half-life),\n"
          "      --half-life default 7 days; position: 40/20/40 (one touch 100%,\n"
          "      two 50/50); markov: Markov chain of order K (1-4, default 1), credit in\n"
          "      proportion to the channels' removal effects, exact, or with journeys cut\n"
          "      after --max-steps N transitions (ChannelAttribution's simulation);\n"
          "      transitions weighted by conversions and nulls (--no-null: conversions);\n"
          "      shapley: Shapley values over at most 20 channels, of conversions\n"
          "      (default; an equal split of each journey) or of conversion rates\n"
          "      (--shapley rate; may be negative). --spend FILE: CSV channel,spend,\n"
          "      every channel known; roi = value / spend, cost_per_conversion = spend /\n"
          "      conversions (0 when dividing by 0; empty for channels not in FILE).\n"
          "      --json: one object {model, channels: [{channel, conversions, value,\n"
          "      ...}], totals: {conversions, value[, spend]}[, p_conversion]}.\n",
          f);
    fputs("  report [FILE] [summary's reading and time options] [--top N] [-o FILE]\n"
          "           [--paths FILE [--paths-delimiter C] [--separator C] [--path COL]\n"
          "           [--conversions COL] [--value COL] [--null COL] [--no-null]\n"
          "           [--spend FILE]]\n"
          "      a plain-text customer value report: BG/NBD and Gamma-Gamma fits, holdout\n"
          "      accuracy (with --observation-end), the top N (default 10) customers by\n"
          "      CLV over 12 months (1% a month) and value concentration. Without FILE:\n"
          "      5000 customers simulated in memory (seed 42), in weeks, with 39 weeks of\n"
          "      calibration and 39 of holdout. Ends with segments: RFM segments with their\n"
          "      CLV, value tiers (top 1%, next 9%, next 40%, bottom 50% by CLV) and\n"
          "      lifecycle stages (new, active, at risk, lapsed; P(alive) from BG/NBD).\n"
          "      With --paths (read as attribute reads them; --paths-delimiter default\n"
          "      ','): a Channels section with last touch, linear and Markov (order 1)\n"
          "      conversions and value per channel, removal effects and, with --spend,\n"
          "      ROI of the Markov value\n"
          "\n"
          "COL is a header name or a 1-based column index. FILE '-' is standard input.\n"
          "Exit status: 0 success, 2 bad input or usage (including a model fit that does\n"
          "not converge on the data), 1 other failure (out of memory, cannot write).\n",
          f);
    return f == stdout ? CLI_OK : CLI_BAD;
}

static const command *find(const char *name)
{
    size_t i;
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) == 0) {
            return &commands[i];
        }
    }
    cli_error("unknown command '%s' (try cvm --help)", name);
    return NULL;
}

static int is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_main(int argc, char **argv)
{
    const command *c;
    if (argc < 2) {
        return usage(stderr);
    }
    if (is_help(argv[1])) {
        return usage(stdout);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("cvm %s\n", cvm_version_string());
        return CLI_OK;
    }
    c = find(argv[1]);
    return c ? c->run(argc, argv) : CLI_BAD;
}

int cli_parse_only(int argc, char **argv)
{
    const command *c;
    if (argc < 2) {
        return CLI_BAD;
    }
    if (is_help(argv[1]) || strcmp(argv[1], "--version") == 0) {
        return CLI_OK;
    }
    c = find(argv[1]);
    return c ? c->check_args(argc, argv) : CLI_BAD;
}
