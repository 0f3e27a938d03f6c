/* Shared pieces of the cvm command-line tool: argument scanning, output
 * files written atomically, and number formatting. */
#ifndef CVM_CLI_H
#define CVM_CLI_H

#include <stdio.h>

#include "cvm.h"

/* Exit statuses: 0 success, 1 internal failure, 2 bad input or usage. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_BAD = 2 };

/* Print "cvm: " + message + newline to stderr and return CLI_BAD. */
int cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Walks argv: options "--name VALUE" or "--name=VALUE" and flags "--name". */
typedef struct cli_args {
    int argc;
    char **argv;
    int i;
    const char *value; /* of the option just matched */
    const char *inline_value;
} cli_args;

void cli_args_init(cli_args *a, int argc, char **argv, int first);
/* Next argument; NULL at the end. Sets a->inline_value for "--x=v". */
const char *cli_args_next(cli_args *a);
/* Whether `arg` is option `name` taking a value; fetches it into a->value.
 * A missing value is reported and *bad set. */
int cli_opt(cli_args *a, const char *arg, const char *name, int *bad);
/* Whether `arg` is flag `name`. */
int cli_flag(const char *arg, const char *name);

/* Parse helpers: 0 on success, else an error has been printed. */
int cli_parse_u64(const char *opt, const char *s, unsigned long long *out);
int cli_parse_doubles(const char *opt, const char *s, double *out, int n);
int cli_parse_date(const char *opt, const char *s, int64_t *out);

/* How a transaction CSV is read and summarised: the options `cvm summary`
 * and `cvm report` share (--delimiter, --whitespace, --no-header, --id,
 * --date, --amount, --date-format, --period, --unit-days, --calibration-end,
 * --observation-end). */
typedef struct cli_input {
    cvm_csv_options csv;
    cvm_customers_options model;
    cvm_summary_options view;
    int unit_given; /* --unit-days was given */
} cli_input;

void cli_input_init(cli_input *in);
/* Whether `arg` is one of those options (its value consumed); a bad value is
 * reported and *bad set. */
int cli_input_opt(cli_args *a, const char *arg, cli_input *in, int *bad);

/* An output that becomes visible only when complete: stdout, or a temporary
 * file beside the target renamed into place by cli_out_close(ok = 1). */
typedef struct cli_out {
    FILE *f;
    char *path;
    char *tmp;
} cli_out;

int cli_out_open(cli_out *o, const char *path);
/* Finish: on ok, flush and rename; otherwise remove the temporary file.
 * Returns CLI_OK or (after printing why) CLI_FAIL. */
int cli_out_close(cli_out *o, int ok);

/* Shortest "%.{15,16,17}g" text that reads back as exactly `v`. */
void cli_fmt_double(char *buf, size_t n, double v);
/* Write `s` (n bytes) as a CSV field, quoting when needed. */
void cli_write_field(FILE *f, const char *s, size_t n);

/* Where journeys come from: the options `cvm attribute` and `cvm report`
 * share (cmd_attribute.c). */
typedef struct cli_paths {
    const char *file;       /* --paths FILE: aggregated paths */
    const char *touch_file; /* --touchpoints FILE (attribute only) */
    const char *col[4];     /* --path, --conversions, --value, --null; NULL: default */
    const char *spend;      /* --spend FILE */
    int32_t delimiter;      /* default ',' */
    int32_t separator;      /* default '>' */
    double lookback_days;   /* --lookback (touchpoints); -1: the library's default */
    int no_null;            /* --no-null */
    int other_given;        /* an option besides --paths was given */
} cli_paths;

void cli_paths_init(cli_paths *p);
/* Whether `arg` is --paths, `delimiter_opt`, --separator, --path,
 * --conversions, --value, --null, --no-null or --spend (value consumed). */
int cli_paths_opt(cli_args *a, const char *arg, cli_paths *p, const char *delimiter_opt, int *bad);
/* Nonzero (after printing why) when channel options came without --paths. */
int cli_paths_check(const cli_paths *p, const char *cmd);

/* The "Channels" section of `cvm report`: last touch, linear and Markov
 * order 1 credit, removal effects and ROI, computed before the report is
 * opened so that bad paths leave nothing written. */
typedef struct cli_channels cli_channels;
int cli_channels_compute(cli_channels **out, const cli_paths *p);
void cli_channels_write(FILE *f, const cli_channels *ch);
void cli_channels_free(cli_channels *ch);

/* The whole tool: argv[1] names the command. Returns the exit status. */
int cli_main(int argc, char **argv);
/* As cli_main(), but stops once the arguments are parsed and checked: it
 * opens, reads and writes no file and runs nothing (--help and --version
 * print nothing). Returns CLI_OK or, after printing why, CLI_BAD. */
int cli_parse_only(int argc, char **argv);

/* Each command, and its argument check alone (see cli_parse_only()). */
int cmd_simulate(int argc, char **argv);
int cmd_simulate_check_args(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_summary_check_args(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_fit_check_args(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_predict_check_args(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_report_check_args(int argc, char **argv);
int cmd_segment(int argc, char **argv);
int cmd_segment_check_args(int argc, char **argv);
int cmd_attribute(int argc, char **argv);
int cmd_attribute_check_args(int argc, char **argv);

#endif
