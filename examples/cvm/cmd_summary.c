/* cvm summary: the per-customer summary of a transaction CSV. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct summary_args {
    const char *file;
    const char *out;
    cvm_csv_options csv;
    cvm_customers_options model;
    cvm_summary_options view;
} summary_args;

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

static int set_period(const char *s, int64_t *p, int64_t *origin)
{
    if (strcmp(s, "day") == 0) {
        *p = CVM_SECONDS_PER_DAY;
    } else if (strcmp(s, "week") == 0) {
        /* Weeks run Monday to Sunday, as pandas' "W" (which lifetimes uses)
         * counts them: 1970-01-05 was a Monday. */
        *p = 7 * CVM_SECONDS_PER_DAY;
        *origin = 4 * CVM_SECONDS_PER_DAY;
    } else {
        return cli_error("--period: '%s' is not day or week", s);
    }
    return 0;
}

static int parse_one(cli_args *a, const char *arg, summary_args *s, int *bad)
{
    unsigned long long u;
    if (cli_opt(a, arg, "--delimiter", bad)) {
        return *bad || set_delimiter(a->value, &s->csv.delimiter);
    } else if (cli_flag(arg, "--whitespace")) {
        s->csv.whitespace = 1;
    } else if (cli_flag(arg, "--no-header")) {
        s->csv.has_header = 0;
    } else if (cli_opt(a, arg, "--id", bad)) {
        return *bad || set_column(arg, a->value, &s->csv.id_column, &s->csv.id_index);
    } else if (cli_opt(a, arg, "--date", bad)) {
        return *bad || set_column(arg, a->value, &s->csv.date_column, &s->csv.date_index);
    } else if (cli_opt(a, arg, "--amount", bad)) {
        return *bad || set_column(arg, a->value, &s->csv.amount_column, &s->csv.amount_index);
    } else if (cli_opt(a, arg, "--date-format", bad)) {
        return *bad || set_format(a->value, &s->csv.date_format);
    } else if (cli_opt(a, arg, "--period", bad)) {
        return *bad || set_period(a->value, &s->model.period_seconds, &s->model.period_origin);
    } else if (cli_opt(a, arg, "--unit-days", bad)) {
        if (*bad || cli_parse_u64(arg, a->value, &u) || u < 1 || u > 100000) {
            return *bad || cli_error("--unit-days: '%s' is not between 1 and 100000", a->value);
        }
        s->view.unit_seconds = (int64_t)u * CVM_SECONDS_PER_DAY;
    } else if (cli_opt(a, arg, "--calibration-end", bad)) {
        return *bad || cli_parse_date(arg, a->value, &s->model.calibration_end);
    } else if (cli_opt(a, arg, "--observation-end", bad)) {
        return *bad || cli_parse_date(arg, a->value, &s->view.observation_end);
    } else if (cli_opt(a, arg, "-o", bad)) {
        s->out = a->value;
    } else if (s->file == NULL && (arg[0] != '-' || arg[1] == '\0')) {
        s->file = arg;
    } else {
        return cli_error("summary: unknown argument '%s'", arg);
    }
    return *bad;
}

static int parse(int argc, char **argv, summary_args *s)
{
    cli_args a;
    const char *arg;
    int bad = 0;
    cli_args_init(&a, argc, argv, 2);
    while (!bad && (arg = cli_args_next(&a)) != NULL) {
        bad = parse_one(&a, arg, s, &bad);
    }
    if (!bad && s->file == NULL) {
        bad = cli_error("summary: no input FILE (use - for standard input)");
    }
    return bad;
}

static char *read_stdin(size_t *n)
{
    size_t cap = 1 << 20, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, stdin)) > 0) {
        len += got;
        if (len == cap) {
            char *p = realloc(buf, cap *= 2);
            if (p == NULL) {
                free(buf);
                return NULL;
            }
            buf = p;
        }
    }
    if (buf && ferror(stdin)) {
        free(buf);
        return NULL;
    }
    *n = len;
    return buf;
}

static cvm_status load(cvm_customers *c, const summary_args *s)
{
    size_t n;
    char *data;
    cvm_status st;
    if (strcmp(s->file, "-") != 0) {
        return cvm_customers_load_csv(c, s->file, &s->csv);
    }
    data = read_stdin(&n);
    if (data == NULL) {
        return CVM_E_IO;
    }
    st = cvm_customers_load_csv_buffer(c, data, n, "<stdin>", &s->csv);
    free(data);
    return st;
}

/* Every column is computed before anything is written, so a failure leaves
 * no partial output. */
static int write_summary(cvm_customers *c, const summary_args *s, int holdout)
{
    size_t rows = cvm_customers_summary_rows(c), ncols = holdout ? 7 : 4, i, k;
    double *cols = malloc((rows ? rows : 1) * ncols * sizeof *cols);
    size_t *index = malloc((rows ? rows : 1) * sizeof *index);
    cli_out out;
    int rc = CLI_FAIL;
    cvm_status st = cols && index ? cvm_customers_summary_index(c, index, rows) : CVM_E_NOMEM;
    for (k = 0; k < ncols && st == CVM_OK; k++) {
        st = cvm_customers_summary(c, &s->view, (int32_t)k, cols + k * rows, rows);
    }
    if (st != CVM_OK) {
        cli_error("%s: %s", s->file, cvm_customers_errmsg(c));
        rc = st == CVM_E_NOMEM ? CLI_FAIL : CLI_BAD;
    } else if (cli_out_open(&out, s->out) == CLI_OK) {
        fputs(holdout ? "id,frequency,recency,T,monetary_value,frequency_holdout,"
                        "monetary_value_holdout,duration_holdout\n"
                      : "id,frequency,recency,T,monetary_value\n",
              out.f);
        for (i = 0; i < rows; i++) {
            const char *id;
            size_t len;
            cvm_customers_id(c, index[i], &id, &len);
            cli_write_field(out.f, id, len);
            for (k = 0; k < ncols; k++) {
                char num[40];
                cli_fmt_double(num, sizeof num, cols[k * rows + i]);
                fprintf(out.f, ",%s", num);
            }
            fputc('\n', out.f);
        }
        rc = cli_out_close(&out, 1);
    }
    free(cols);
    free(index);
    return rc;
}

int cmd_summary(int argc, char **argv)
{
    summary_args s;
    cvm_customers *c = NULL;
    cvm_status st;
    int holdout, rc;
    memset(&s, 0, sizeof s);
    cvm_csv_options_init(&s.csv, sizeof s.csv);
    cvm_customers_options_init(&s.model, sizeof s.model);
    cvm_summary_options_init(&s.view, sizeof s.view);
    if (parse(argc, argv, &s)) {
        return CLI_BAD;
    }
    holdout = s.view.observation_end != CVM_TIME_NONE;
    if (holdout && s.model.calibration_end == CVM_TIME_NONE) {
        return cli_error("summary: --observation-end needs --calibration-end");
    }
    if (holdout && s.view.observation_end <= s.model.calibration_end) {
        return cli_error("summary: the observation end must be after the calibration end");
    }
    st = cvm_customers_new(&c, &s.model);
    if (st != CVM_OK) {
        cli_error("summary: %s", cvm_strerror(st));
        return CLI_FAIL;
    }
    st = load(c, &s);
    if (st != CVM_OK) {
        /* Bad input is 2; a machine that ran out of memory or could not
         * read is 1. */
        cli_error("%s", st == CVM_E_IO && strcmp(s.file, "-") == 0 ? "<stdin>: cannot read"
                                                                  : cvm_customers_errmsg(c));
        rc = st == CVM_E_NOMEM || (st == CVM_E_IO && strcmp(s.file, "-") == 0) ? CLI_FAIL
                                                                                 : CLI_BAD;
    } else {
        rc = write_summary(c, &s, holdout);
    }
    cvm_customers_free(c);
    return rc;
}
