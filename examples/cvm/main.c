/* cvm: the libcvm command-line tool. Each subcommand lives in cmd_*.c. */
#include "cli.h"

#include <string.h>

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
          "      from the id column, else row numbers.\n"
          "  report [FILE] [summary's reading and time options] [--top N] [-o FILE]\n"
          "      a plain-text customer value report: BG/NBD and Gamma-Gamma fits, holdout\n"
          "      accuracy (with --observation-end), the top N (default 10) customers by\n"
          "      CLV over 12 months (1% a month) and value concentration. Without FILE:\n"
          "      5000 customers simulated in memory (seed 42), in weeks, with 39 weeks of\n"
          "      calibration and 39 of holdout\n"
          "\n"
          "COL is a header name or a 1-based column index. FILE '-' is standard input.\n"
          "Exit status: 0 success, 2 bad input or usage (including a model fit that does\n"
          "not converge on the data), 1 other failure (out of memory, cannot write).\n",
          f);
    return f == stdout ? CLI_OK : CLI_BAD;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        return usage(stderr);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        return usage(stdout);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("cvm %s\n", cvm_version_string());
        return CLI_OK;
    }
    if (strcmp(argv[1], "simulate") == 0) {
        return cmd_simulate(argc, argv);
    }
    if (strcmp(argv[1], "summary") == 0) {
        return cmd_summary(argc, argv);
    }
    if (strcmp(argv[1], "fit") == 0) {
        return cmd_fit(argc, argv);
    }
    if (strcmp(argv[1], "predict") == 0) {
        return cmd_predict(argc, argv);
    }
    if (strcmp(argv[1], "report") == 0) {
        return cmd_report(argc, argv);
    }
    cli_error("unknown command '%s' (try cvm --help)", argv[1]);
    return CLI_BAD;
}
