/* cvm: the libcvm command-line tool. Each subcommand lives in cmd_*.c. */
#include "cli.h"

#include <string.h>

static int usage(FILE *f)
{
    fputs("usage: cvm COMMAND [OPTIONS]\n"
          "\n"
          "commands:\n"
          "  simulate --customers N [--seed S] [--model bgnbd] [--params r,alpha,a,b]\n"
          "           [--spend p,q,v] [--start DATE] [--weeks W] [-o FILE]\n"
          "      a transaction CSV (id,date,amount) drawn from known parameters\n"
          "  summary FILE [--delimiter C | --whitespace] [--no-header] [--id COL]\n"
          "           [--date COL] [--amount COL] [--date-format iso|yyyymmdd|unix]\n"
          "           [--period day|week] [--unit-days N] [--calibration-end DATE]\n"
          "           [--observation-end DATE] [-o FILE]\n"
          "      the per-customer summary: id,frequency,recency,T,monetary_value\n"
          "      (+ holdout columns when the observation end is after the calibration end)\n"
          "\n"
          "COL is a header name or a 1-based column index. FILE '-' is standard input.\n"
          "Exit status: 0 success, 2 bad input or usage, 1 other failure.\n",
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
    cli_error("unknown command '%s' (try cvm --help)", argv[1]);
    return CLI_BAD;
}
