/* cvm predict: per-customer P(alive), expected purchases, expected value per
 * purchase and CLV from a customer summary, with models fitted on the spot
 * or loaded from files `cvm fit --save` wrote. */
#include "summary_io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct predict_args {
    summary_spec spec;
    const char *model;
    const char *model_file;
    const char *spend_file;
    const char *out;
    double horizon; /* NAN: periods * period_length */
    cvm_value_options value;
    cvm_fit_options fit;
} predict_args;

static int parse_number(const char *opt, const char *s, double lo, int lo_open, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end != '\0' || errno || !isfinite(*out) || *out < lo ||
        (lo_open && *out == lo)) {
        return cli_error("%s: '%s' is not a number %s %g", opt, s, lo_open ? ">" : ">=", lo);
    }
    return 0;
}

static int parse_periods(const char *s, int32_t *out)
{
    unsigned long long u;
    if (cli_parse_u64("--periods", s, &u)) {
        return 1;
    }
    if (u < 1 || u > 1000000) {
        return cli_error("--periods: '%s' is not between 1 and 1000000", s);
    }
    *out = (int32_t)u;
    return 0;
}

/* The value options; 1 if `arg` was one of them. */
static int value_opt(cli_args *a, const char *arg, predict_args *p, int *bad)
{
    if (cli_opt(a, arg, "--horizon", bad)) {
        *bad = *bad || parse_number(arg, a->value, 0, 0, &p->horizon);
    } else if (cli_opt(a, arg, "--discount-rate", bad)) {
        *bad = *bad || parse_number(arg, a->value, -1, 1, &p->value.discount_rate);
    } else if (cli_opt(a, arg, "--margin", bad)) {
        *bad = *bad || parse_number(arg, a->value, -HUGE_VAL, 0, &p->value.margin);
    } else if (cli_opt(a, arg, "--periods", bad)) {
        *bad = *bad || parse_periods(a->value, &p->value.periods);
    } else if (cli_opt(a, arg, "--period-length", bad)) {
        *bad = *bad || parse_number(arg, a->value, 0, 1, &p->value.period_length);
    } else if (cli_opt(a, arg, "--penalizer", bad)) {
        *bad = *bad || parse_number(arg, a->value, 0, 0, &p->fit.penalizer);
    } else {
        return 0;
    }
    return 1;
}

static int parse(int argc, char **argv, predict_args *p)
{
    cli_args a;
    const char *arg;
    int bad = 0;
    cli_args_init(&a, argc, argv, 2);
    while (!bad && (arg = cli_args_next(&a)) != NULL) {
        if (summary_opt(&a, arg, &p->spec, &bad) || value_opt(&a, arg, p, &bad)) {
            continue;
        } else if (cli_opt(&a, arg, "--model-file", &bad)) {
            p->model_file = a.value;
        } else if (cli_opt(&a, arg, "--spend-file", &bad)) {
            p->spend_file = a.value;
        } else if (cli_opt(&a, arg, "-o", &bad)) {
            p->out = a.value;
        } else if (p->model == NULL && arg[0] != '-') {
            p->model = arg;
        } else {
            bad = cli_error("predict: unknown argument '%s'", arg);
        }
    }
    if (!bad && p->model == NULL) {
        bad = cli_error("predict: no MODEL (bgnbd, pareto, mbgnbd, bgbb)");
    }
    if (!bad && p->spec.path == NULL) {
        bad = cli_error("predict: no --summary FILE");
    }
    return bad;
}

/* A saved model that cannot be read is bad input, like a missing summary. */
static int load_failed(const char *path, cvm_status st, const char *err)
{
    if (strncmp(err, path, strlen(path)) == 0) {
        cli_error("%s", err); /* the library's message names the file */
    } else {
        cli_error("%s: cannot load the model: %s", path, err[0] ? err : cvm_strerror(st));
    }
    return st == CVM_E_NOMEM ? CLI_FAIL : CLI_BAD;
}

static int get_model(cvm_clv **m, const predict_args *p, int32_t kind, const summary_data *d)
{
    char err[256] = "";
    cvm_status st;
    if (p->model_file == NULL) {
        return fit_transactions(m, kind, d, &p->fit);
    }
    st = cvm_clv_load(m, p->model_file, NULL, err, sizeof err);
    if (st != CVM_OK) {
        return load_failed(p->model_file, st, err);
    }
    if (cvm_clv_kind(*m) != kind) {
        cli_error("%s: holds a %s model, not %s", p->model_file, cvm_model_name(cvm_clv_kind(*m)),
                  p->model);
        cvm_clv_free(*m);
        *m = NULL;
        return CLI_BAD;
    }
    return CLI_OK;
}

static int any_amount(const summary_data *d)
{
    size_t i;
    for (i = 0; i < d->n; i++) {
        if (d->v[SUM_M][i] != 0) {
            return 1;
        }
    }
    return 0;
}

/* Gamma-Gamma for expected_value and clv: only with a monetary column. */
static int get_spend(cvm_spend **s, const predict_args *p, const summary_data *d)
{
    char err[256] = "";
    cvm_status st;
    *s = NULL;
    if (d->v[SUM_M] == NULL) {
        return p->spend_file ? cli_error("predict: --spend-file needs a monetary column "
                                         "(the summary has no '%s'; see --monetary)",
                                         p->spec.col[SUM_M])
                             : CLI_OK;
    }
    if (!any_amount(d)) {
        /* A summary of a log without amounts (`cvm summary --amount none`). */
        return cli_error("%s: the monetary column '%s' holds no amounts; use --monetary none to "
                         "predict without expected_value and clv",
                         d->file, p->spec.col[SUM_M]);
    }
    if (p->spend_file == NULL) {
        return fit_spend(s, d, &p->fit);
    }
    st = cvm_spend_load(s, p->spend_file, NULL, err, sizeof err);
    return st == CVM_OK ? CLI_OK : load_failed(p->spend_file, st, err);
}

typedef struct scores {
    double *p_alive, *expected, *value, *clv; /* value, clv NULL without spend */
} scores;

static void write_scores(FILE *f, const summary_data *d, const scores *s)
{
    size_t i;
    fputs(s->clv ? "id,p_alive,expected_purchases,expected_value,clv\n"
                 : "id,p_alive,expected_purchases\n",
          f);
    for (i = 0; i < d->n; i++) {
        char num[40];
        summary_write_id(f, d, i);
        cli_fmt_double(num, sizeof num, s->p_alive[i]);
        fprintf(f, ",%s", num);
        cli_fmt_double(num, sizeof num, s->expected[i]);
        fprintf(f, ",%s", num);
        if (s->clv) {
            cli_fmt_double(num, sizeof num, s->value[i]);
            fprintf(f, ",%s", num);
            cli_fmt_double(num, sizeof num, s->clv[i]);
            fprintf(f, ",%s", num);
        }
        fputc('\n', f);
    }
}

/* Everything is scored before the output is opened: a bad row leaves no
 * partial file. */
static int score_and_write(const predict_args *p, const summary_data *d, const cvm_clv *m,
                           const cvm_spend *sp)
{
    int with_value = d->v[SUM_M] != NULL;
    double *buf = calloc(d->n * (with_value ? 4 : 2), sizeof *buf);
    /* the default horizon is the CLV's; a discrete model counts whole
     * opportunities, as cvm_clv_value does for each period */
    double horizon = !isnan(p->horizon) ? p->horizon
                     : cvm_clv_kind(m) == CVM_MODEL_BGBB
                         ? floor(p->value.periods * p->value.period_length)
                         : p->value.periods * p->value.period_length;
    char err[256] = "";
    scores s;
    cli_out out;
    int rc;
    cvm_status st;
    if (buf == NULL) {
        cli_error("predict: out of memory for %zu customers", d->n);
        return CLI_FAIL;
    }
    s.p_alive = buf;
    s.expected = buf + d->n;
    s.value = with_value ? buf + 2 * d->n : NULL;
    s.clv = with_value ? buf + 3 * d->n : NULL;
    st = cvm_clv_score(m, sp, horizon, &p->value, d->v[SUM_X], d->v[SUM_TX], d->v[SUM_T],
                       d->v[SUM_M], d->n, s.p_alive, s.expected, s.value, s.clv, err, sizeof err);
    if (st == CVM_E_NOMEM) {
        cli_error("predict: out of memory");
        rc = CLI_FAIL;
    } else if (st != CVM_OK) {
        rc = summary_row_error(d, err[0] ? err : cvm_strerror(st));
    } else if ((rc = cli_out_open(&out, p->out)) == CLI_OK) {
        write_scores(out.f, d, &s);
        rc = cli_out_close(&out, 1);
    }
    free(buf);
    return rc;
}

/* The arguments, parsed and checked; nothing is opened. */
static int get_args(int argc, char **argv, predict_args *p, int32_t *kind)
{
    memset(p, 0, sizeof *p);
    p->horizon = NAN;
    summary_spec_init(&p->spec);
    cvm_value_options_init(&p->value, sizeof p->value);
    cvm_fit_options_init(&p->fit, sizeof p->fit);
    if (parse(argc, argv, p) || model_arg("predict", p->model, kind)) {
        return CLI_BAD;
    }
    if (*kind == MODEL_GAMMAGAMMA) {
        return cli_error("predict: gammagamma is the spend model; MODEL is a transaction model "
                         "(bgnbd, pareto, mbgnbd, bgbb), and Gamma-Gamma is fitted alongside it "
                         "from the monetary column");
    }
    p->spec.need[SUM_X] = p->spec.need[SUM_TX] = p->spec.need[SUM_T] = NEED_REQUIRED;
    /* "--monetary none": no spend model, no expected_value and clv columns. */
    p->spec.need[SUM_M] = strcmp(p->spec.col[SUM_M], "none") == 0 ? NEED_SKIP : NEED_IF_PRESENT;
    p->spec.need[SUM_W] = p->spec.named[SUM_W] ? NEED_REQUIRED : NEED_SKIP;
    return CLI_OK;
}

int cmd_predict_check_args(int argc, char **argv)
{
    predict_args p;
    int32_t kind;
    return get_args(argc, argv, &p, &kind);
}

int cmd_predict(int argc, char **argv)
{
    predict_args p;
    summary_data d;
    cvm_clv *m = NULL;
    cvm_spend *s = NULL;
    int32_t kind;
    int rc;
    if (get_args(argc, argv, &p, &kind) != CLI_OK) {
        return CLI_BAD;
    }
    rc = summary_read(&d, &p.spec);
    if (rc != CLI_OK) {
        return rc;
    }
    rc = get_model(&m, &p, kind, &d);
    if (rc == CLI_OK) {
        rc = get_spend(&s, &p, &d);
    }
    if (rc == CLI_OK) {
        rc = score_and_write(&p, &d, m, s);
    }
    cvm_clv_free(m);
    cvm_spend_free(s);
    summary_free(&d);
    return rc;
}
