/* The options that say how a transaction CSV is read and summarised, shared
 * by `cvm summary` and `cvm report`. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int set_column(const char *opt, const char *s, const char **name, int32_t *index)
{
    size_t n = strspn(s, "0123456789");
    if (*s == '\0') {
        return cli_error("%s: empty column", opt);
    }
    if (strcmp(opt, "--amount") == 0 && (strcmp(s, "none") == 0 || strcmp(s, "0") == 0)) {
        *index = 0; /* no amount column: every purchase is worth 0 */
        *name = NULL;
        return 0;
    }
    if (s[n] == '\0') {
        long v = strtol(s, NULL, 10);
        if (v < 1 || v > 1000000) {
            return cli_error("%s: column index '%s' is not between 1 and 1000000", opt, s);
        }
        *index = (int32_t)v;
        *name = NULL;
    } else {
        *name = s;
    }
    return 0;
}

static int set_format(const char *s, int32_t *fmt)
{
    if (strcmp(s, "iso") == 0) {
        *fmt = CVM_DATE_ISO;
    } else if (strcmp(s, "yyyymmdd") == 0) {
        *fmt = CVM_DATE_YYYYMMDD;
    } else if (strcmp(s, "unix") == 0) {
        *fmt = CVM_DATE_UNIX;
    } else {
        return cli_error("--date-format: '%s' is not iso, yyyymmdd or unix", s);
    }
    return 0;
}

static int set_delimiter(const char *s, int32_t *d)
{
    if (strcmp(s, "\\t") == 0 || strcmp(s, "tab") == 0) {
        *d = '\t';
    } else if (strlen(s) == 1 && s[0] != '"') {
        *d = (unsigned char)s[0];
    } else {
        return cli_error("--delimiter: '%s' is not one character", s);
    }
    return 0;
}

static int set_period(const char *s, cvm_customers_options *m)
{
    if (strcmp(s, "day") == 0) {
        m->period_seconds = CVM_SECONDS_PER_DAY;
    } else if (strcmp(s, "week") == 0) {
        /* Weeks run Monday to Sunday, as pandas' "W" (which lifetimes uses)
         * counts them: 1970-01-05 was a Monday. */
        m->period_seconds = 7 * CVM_SECONDS_PER_DAY;
        m->period_origin = 4 * CVM_SECONDS_PER_DAY;
    } else {
        return cli_error("--period: '%s' is not day or week", s);
    }
    return 0;
}

static int csv_opt(cli_args *a, const char *arg, cvm_csv_options *c, int *bad)
{
    if (cli_opt(a, arg, "--delimiter", bad)) {
        *bad = *bad || set_delimiter(a->value, &c->delimiter);
    } else if (cli_flag(arg, "--whitespace")) {
        c->whitespace = 1;
    } else if (cli_flag(arg, "--no-header")) {
        c->has_header = 0;
    } else if (cli_opt(a, arg, "--id", bad)) {
        *bad = *bad || set_column(arg, a->value, &c->id_column, &c->id_index);
    } else if (cli_opt(a, arg, "--date", bad)) {
        *bad = *bad || set_column(arg, a->value, &c->date_column, &c->date_index);
    } else if (cli_opt(a, arg, "--amount", bad)) {
        *bad = *bad || set_column(arg, a->value, &c->amount_column, &c->amount_index);
    } else if (cli_opt(a, arg, "--date-format", bad)) {
        *bad = *bad || set_format(a->value, &c->date_format);
    } else {
        return 0;
    }
    return 1;
}

int cli_input_opt(cli_args *a, const char *arg, cli_input *in, int *bad)
{
    unsigned long long u = 0;
    if (csv_opt(a, arg, &in->csv, bad)) {
        return 1;
    }
    if (cli_opt(a, arg, "--period", bad)) {
        *bad = *bad || set_period(a->value, &in->model);
    } else if (cli_opt(a, arg, "--unit-days", bad)) {
        if (!*bad && (cli_parse_u64(arg, a->value, &u) || u < 1 || u > 100000)) {
            *bad = cli_error("--unit-days: '%s' is not between 1 and 100000", a->value);
        } else if (!*bad) {
            in->view.unit_seconds = (int64_t)u * CVM_SECONDS_PER_DAY;
        }
        in->unit_given = 1;
    } else if (cli_opt(a, arg, "--calibration-end", bad)) {
        *bad = *bad || cli_parse_date(arg, a->value, &in->model.calibration_end);
    } else if (cli_opt(a, arg, "--observation-end", bad)) {
        *bad = *bad || cli_parse_date(arg, a->value, &in->view.observation_end);
    } else {
        return 0;
    }
    return 1;
}

void cli_input_init(cli_input *in)
{
    const cvm_csv_options csv = CVM_CSV_OPTIONS_INIT;
    const cvm_customers_options model = CVM_CUSTOMERS_OPTIONS_INIT;
    const cvm_summary_options view = CVM_SUMMARY_OPTIONS_INIT;
    in->csv = csv;
    in->model = model;
    in->view = view;
    in->unit_given = 0;
}
