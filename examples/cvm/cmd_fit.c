/* cvm fit: fit a transaction model (or Gamma-Gamma) to a customer summary
 * and print the estimates, as a table or one JSON object. Also the fitting
 * helpers `cvm predict` shares. */
#include "summary_io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int model_arg(const char *cmd, const char *s, int32_t *kind)
{
    if (strcmp(s, "gammagamma") == 0) {
        *kind = MODEL_GAMMAGAMMA;
        return 0;
    }
    if (cvm_model_from_name(s, kind) != CVM_OK) {
        return cli_error("%s: unknown model '%s' (bgnbd, pareto, mbgnbd, bgbb, gammagamma)", cmd,
                         s);
    }
    return 0;
}

const char *model_title(int32_t kind)
{
    switch (kind) {
    case CVM_MODEL_BGNBD: return "BG/NBD";
    case CVM_MODEL_PARETO: return "Pareto/NBD";
    case CVM_MODEL_MBGNBD: return "MBG/NBD";
    case CVM_MODEL_BGBB: return "BG/BB";
    case MODEL_GAMMAGAMMA: return "Gamma-Gamma";
    default: return "?";
    }
}

/* A failed fit: running out of memory is the machine's fault (1); anything
 * else, including no convergence, comes from the data (2). */
static int fit_failed(const summary_data *d, cvm_status st, const char *title, const char *msg)
{
    if (st == CVM_E_NOMEM) {
        cli_error("%s: %s: out of memory", d->file, title);
        return CLI_FAIL;
    }
    if (st == CVM_E_NOT_CONVERGED) {
        return cli_error("%s: the %s fit did not converge: %s", d->file, title,
                         msg[0] ? msg : cvm_strerror(st));
    }
    return summary_row_error(d, msg[0] ? msg : cvm_strerror(st));
}

int fit_transactions(cvm_clv **out, int32_t kind, const summary_data *d,
                     const cvm_fit_options *fo)
{
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    cvm_status st;
    int rc;
    o.kind = kind;
    st = cvm_clv_new(out, &o);
    if (st != CVM_OK) {
        cli_error("%s: %s", model_title(kind), cvm_strerror(st));
        return CLI_FAIL;
    }
    st = cvm_clv_fit(*out, d->v[SUM_X], d->v[SUM_TX], d->v[SUM_T], d->v[SUM_W], d->n, fo);
    if (st == CVM_OK) {
        return CLI_OK;
    }
    rc = fit_failed(d, st, model_title(kind), cvm_clv_errmsg(*out));
    cvm_clv_free(*out);
    *out = NULL;
    return rc;
}

int fit_spend(cvm_spend **out, const summary_data *d, const cvm_fit_options *fo)
{
    cvm_status st = cvm_spend_new(out, NULL);
    int rc;
    if (st != CVM_OK) {
        cli_error("Gamma-Gamma: %s", cvm_strerror(st));
        return CLI_FAIL;
    }
    st = cvm_spend_fit(*out, d->v[SUM_X], d->v[SUM_M], d->v[SUM_W], d->n, fo);
    if (st == CVM_OK) {
        return CLI_OK;
    }
    rc = fit_failed(d, st, "Gamma-Gamma", cvm_spend_errmsg(*out));
    cvm_spend_free(*out);
    *out = NULL;
    return rc;
}

/* ---- cvm fit ---- */

typedef struct fit_args {
    summary_spec spec;
    const char *model;
    const char *save;
    const char *out;
    int json;
    cvm_fit_options fit;
} fit_args;

static int parse_penalizer(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end != '\0' || errno || !isfinite(*out) || *out < 0) {
        return cli_error("--penalizer: '%s' is not a number >= 0", s);
    }
    return 0;
}

static int parse(int argc, char **argv, fit_args *f)
{
    cli_args a;
    const char *arg;
    int bad = 0;
    cli_args_init(&a, argc, argv, 2);
    while (!bad && (arg = cli_args_next(&a)) != NULL) {
        if (summary_opt(&a, arg, &f->spec, &bad)) {
            continue;
        } else if (cli_flag(arg, "--json")) {
            f->json = 1;
        } else if (cli_opt(&a, arg, "--save", &bad)) {
            f->save = a.value;
        } else if (cli_opt(&a, arg, "-o", &bad)) {
            f->out = a.value;
        } else if (cli_opt(&a, arg, "--penalizer", &bad)) {
            bad = bad || parse_penalizer(a.value, &f->fit.penalizer);
        } else if (f->model == NULL && arg[0] != '-') {
            f->model = arg;
        } else {
            bad = cli_error("fit: unknown argument '%s'", arg);
        }
    }
    if (!bad && f->model == NULL) {
        bad = cli_error("fit: no MODEL (bgnbd, pareto, mbgnbd, bgbb, gammagamma)");
    }
    if (!bad && f->spec.path == NULL) {
        bad = cli_error("fit: no --summary FILE");
    }
    return bad;
}

/* What a fitted model reports, whichever kind it is. */
typedef struct estimates {
    int32_t kind;
    size_t np;
    const char *names[4];
    double params[4], stderrs[4];
    cvm_fit_info info;
} estimates;

static void clv_estimates(estimates *e, const cvm_clv *m)
{
    size_t i;
    e->np = cvm_clv_param_count(m);
    for (i = 0; i < e->np; i++) {
        e->names[i] = cvm_clv_param_name(m, i);
    }
    cvm_clv_params(m, e->params, e->stderrs, e->np);
    cvm_clv_info(m, &e->info);
}

static void spend_estimates(estimates *e, const cvm_spend *s)
{
    e->np = 3;
    e->names[0] = "p";
    e->names[1] = "q";
    e->names[2] = "v";
    cvm_spend_params(s, e->params, e->stderrs, 3);
    cvm_spend_info(s, &e->info);
}

static void json_number(FILE *f, double v)
{
    char num[40];
    if (!isfinite(v)) {
        fputs("null", f); /* JSON has no NaN or infinity */
        return;
    }
    cli_fmt_double(num, sizeof num, v);
    fputs(num, f);
}

static void json_params(FILE *f, const char *key, const estimates *e, const double *v,
                        int known)
{
    size_t i;
    fprintf(f, "\"%s\": {", key);
    for (i = 0; i < e->np; i++) {
        fprintf(f, "%s\"%s\": ", i ? ", " : "", e->names[i]);
        if (known) {
            json_number(f, v[i]);
        } else {
            fputs("null", f);
        }
    }
    fputs("}", f);
}

static void write_json(FILE *f, const char *model, const estimates *e, size_t n)
{
    fprintf(f, "{\"model\": \"%s\", \"n\": %zu, ", model, n);
    json_params(f, "params", e, e->params, 1);
    fputs(", ", f);
    json_params(f, "stderr", e, e->stderrs, e->info.has_stderr);
    fputs(", \"loglik\": ", f);
    json_number(f, e->info.loglik);
    fprintf(f, ", \"converged\": %s, \"iterations\": %d}\n", e->info.converged ? "true" : "false",
            (int)e->info.iterations);
}

static size_t repeaters(const summary_data *d)
{
    size_t i, k = 0;
    for (i = 0; i < d->n; i++) {
        k += d->v[SUM_X][i] > 0;
    }
    return k;
}

static void write_table(FILE *f, const estimates *e, const summary_data *d)
{
    size_t i;
    fprintf(f, "%s fitted to %s: %zu rows", model_title(e->kind), d->file, d->n);
    if (d->v[SUM_W] != NULL) {
        fprintf(f, " (%.10g customers by weight)", e->info.weight);
    }
    if (e->kind == MODEL_GAMMAGAMMA) {
        fprintf(f, ", %zu with repeat purchases (the rows Gamma-Gamma uses)", repeaters(d));
    }
    fprintf(f, "\n\n%-12s %14s %14s\n", "parameter", "estimate", "std. error");
    for (i = 0; i < e->np; i++) {
        fprintf(f, "%-12s %14.6f ", e->names[i], e->params[i]);
        if (e->info.has_stderr) {
            fprintf(f, "%14.6f\n", e->stderrs[i]);
        } else {
            fprintf(f, "%14s\n", "n/a");
        }
    }
    fprintf(f, "\nlog-likelihood %.4f\nconverged      %s (%d iterations)\n", e->info.loglik,
            e->info.converged ? "yes" : "no", (int)e->info.iterations);
}

static int save_model(const char *path, cvm_clv *m, cvm_spend *s)
{
    cvm_status st = m ? cvm_clv_save(m, path) : cvm_spend_save(s, path);
    const char *msg = m ? cvm_clv_errmsg(m) : cvm_spend_errmsg(s);
    if (st == CVM_OK) {
        return CLI_OK;
    }
    cli_error("%s: cannot save the model: %s", path, msg[0] ? msg : cvm_strerror(st));
    return CLI_FAIL;
}

static int fit_and_write(const fit_args *f, int32_t kind, const summary_data *d)
{
    cvm_clv *m = NULL;
    cvm_spend *s = NULL;
    estimates e;
    cli_out out;
    int rc;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    e.info.size = sizeof e.info;
    rc = kind == MODEL_GAMMAGAMMA ? fit_spend(&s, d, &f->fit)
                                  : fit_transactions(&m, kind, d, &f->fit);
    if (rc == CLI_OK) {
        if (m) {
            clv_estimates(&e, m);
        } else {
            spend_estimates(&e, s);
        }
        /* Save before printing: a run that prints estimates has saved them. */
        rc = f->save ? save_model(f->save, m, s) : CLI_OK;
    }
    if (rc == CLI_OK && (rc = cli_out_open(&out, f->out)) == CLI_OK) {
        if (f->json) {
            write_json(out.f, f->model, &e, d->n);
        } else {
            write_table(out.f, &e, d);
        }
        rc = cli_out_close(&out, 1);
    }
    cvm_clv_free(m);
    cvm_spend_free(s);
    return rc;
}

/* The arguments, parsed and checked; nothing is opened. */
static int get_args(int argc, char **argv, fit_args *f, int32_t *kind)
{
    memset(f, 0, sizeof *f);
    summary_spec_init(&f->spec);
    cvm_fit_options_init(&f->fit, sizeof f->fit);
    if (parse(argc, argv, f) || model_arg("fit", f->model, kind)) {
        return CLI_BAD;
    }
    /* Gamma-Gamma reads x and the mean spend; the others x, t_x, T. */
    f->spec.need[SUM_X] = NEED_REQUIRED;
    f->spec.need[SUM_TX] = *kind == MODEL_GAMMAGAMMA ? NEED_SKIP : NEED_REQUIRED;
    f->spec.need[SUM_T] = *kind == MODEL_GAMMAGAMMA ? NEED_SKIP : NEED_REQUIRED;
    f->spec.need[SUM_M] = *kind == MODEL_GAMMAGAMMA ? NEED_REQUIRED : NEED_SKIP;
    f->spec.need[SUM_W] = f->spec.named[SUM_W] ? NEED_REQUIRED : NEED_SKIP;
    return CLI_OK;
}

int cmd_fit_check_args(int argc, char **argv)
{
    fit_args f;
    int32_t kind;
    return get_args(argc, argv, &f, &kind);
}

int cmd_fit(int argc, char **argv)
{
    fit_args f;
    summary_data d;
    int32_t kind;
    int rc;
    if (get_args(argc, argv, &f, &kind) != CLI_OK) {
        return CLI_BAD;
    }
    rc = summary_read(&d, &f.spec);
    if (rc == CLI_OK) {
        rc = fit_and_write(&f, kind, &d);
        summary_free(&d);
    }
    return rc;
}
