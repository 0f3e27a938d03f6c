/* cvm summary: the per-customer summary of a transaction CSV. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct summary_args {
    const char *file;
    const char *out;
    cli_input in;
} summary_args;

static int parse_one(cli_args *a, const char *arg, summary_args *s, int *bad)
{
    if (cli_input_opt(a, arg, &s->in, bad)) {
        return *bad;
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
        return cvm_customers_load_csv(c, s->file, &s->in.csv);
    }
    data = read_stdin(&n);
    if (data == NULL) {
        return CVM_E_IO;
    }
    st = cvm_customers_load_csv_buffer(c, data, n, "<stdin>", &s->in.csv);
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
        st = cvm_customers_summary(c, &s->in.view, (int32_t)k, cols + k * rows, rows);
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

/* The arguments, parsed and checked; nothing is opened. */
static int get_args(int argc, char **argv, summary_args *s)
{
    memset(s, 0, sizeof *s);
    cli_input_init(&s->in);
    if (parse(argc, argv, s)) {
        return CLI_BAD;
    }
    if (s->in.view.observation_end != CVM_TIME_NONE) {
        if (s->in.model.calibration_end == CVM_TIME_NONE) {
            return cli_error("summary: --observation-end needs --calibration-end");
        }
        if (s->in.view.observation_end <= s->in.model.calibration_end) {
            return cli_error("summary: the observation end must be after the calibration end");
        }
    }
    return CLI_OK;
}

int cmd_summary_check_args(int argc, char **argv)
{
    summary_args s;
    return get_args(argc, argv, &s);
}

int cmd_summary(int argc, char **argv)
{
    summary_args s;
    cvm_customers *c = NULL;
    cvm_status st;
    int holdout, rc;
    if (get_args(argc, argv, &s) != CLI_OK) {
        return CLI_BAD;
    }
    holdout = s.in.view.observation_end != CVM_TIME_NONE;
    st = cvm_customers_new(&c, &s.in.model);
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
