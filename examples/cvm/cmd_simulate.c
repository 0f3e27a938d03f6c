/* cvm simulate: a transaction CSV drawn from known model parameters. Times
 * are in weeks; for BG/BB a week is one transaction opportunity. */
#include "cli.h"

#include <string.h>

typedef struct sink {
    FILE *f;
    int failed;
} sink;

static int write_row(void *ud, size_t customer, int64_t time, double amount)
{
    sink *s = ud;
    char date[16];
    if (cvm_format_date(date, sizeof date, time) != CVM_OK ||
        fprintf(s->f, "%zu,%s,%.2f\n", customer + 1, date, amount) < 0) {
        s->failed = 1;
        return 1;
    }
    return 0;
}

/* Published estimates used when --model comes without --params: CDNOW in
 * weeks (BG/NBD: FHL 2005; Pareto/NBD: FHL 2005; MBG/NBD: BTYDplus's CDNOW
 * demo) and FHS 2010's donations per opportunity (BG/BB). */
static const double default_params[4][4] = {
    {0.243, 4.414, 0.793, 2.426},  /* bgnbd */
    {0.553, 10.578, 0.606, 11.669}, /* pareto */
    {0.525, 6.183, 0.891, 1.614},  /* mbgnbd */
    {1.204, 0.750, 0.657, 2.783},  /* bgbb */
};

static int parse(int argc, char **argv, cvm_simulate_options *o, const char **out)
{
    cli_args a;
    const char *arg;
    int bad = 0, have_params = 0;
    cli_args_init(&a, argc, argv, 2);
    while (!bad && (arg = cli_args_next(&a)) != NULL) {
        unsigned long long u = 0;
        if (cli_opt(&a, arg, "--customers", &bad)) {
            bad = bad || cli_parse_u64(arg, a.value, &u);
            o->customers = u;
        } else if (cli_opt(&a, arg, "--seed", &bad)) {
            bad = bad || cli_parse_u64(arg, a.value, &u);
            o->seed = u;
        } else if (cli_opt(&a, arg, "--model", &bad)) {
            int32_t kind = CVM_MODEL_BGNBD;
            if (!bad && cvm_model_from_name(a.value, &kind) != CVM_OK) {
                bad = cli_error("--model: '%s' is not a model this tool simulates "
                                "(bgnbd, pareto, mbgnbd, bgbb)",
                                a.value);
            }
            if (!bad) {
                o->model = kind;
            }
        } else if (cli_opt(&a, arg, "--params", &bad)) {
            bad = bad || cli_parse_doubles(arg, a.value, o->params, 4);
            have_params = 1;
        } else if (cli_opt(&a, arg, "--spend", &bad)) {
            bad = bad || cli_parse_doubles(arg, a.value, o->spend_params, 3);
        } else if (cli_opt(&a, arg, "--start", &bad)) {
            bad = bad || cli_parse_date(arg, a.value, &o->start);
        } else if (cli_opt(&a, arg, "--weeks", &bad)) {
            bad = bad || cli_parse_u64(arg, a.value, &u);
            o->duration_seconds = (int64_t)(u > 100000 ? 100000 : u) * 604800;
        } else if (cli_opt(&a, arg, "-o", &bad)) {
            *out = a.value;
        } else {
            bad = cli_error("simulate: unknown argument '%s'", arg);
        }
    }
    if (!bad && !have_params && o->model >= 0 && o->model < 4) {
        memcpy(o->params, default_params[o->model], sizeof o->params);
    }
    if (!bad && o->acquisition_seconds > o->duration_seconds) {
        o->acquisition_seconds = o->duration_seconds;
    }
    return bad;
}

/* The options, parsed and checked; nothing is opened or drawn. */
static int get_args(int argc, char **argv, cvm_simulate_options *o, const char **path)
{
    cvm_simulate_options check;
    cvm_status st;
    if (parse(argc, argv, o, path)) {
        return CLI_BAD;
    }
    /* Check the parameters before writing anything: with no customers the
     * library validates and draws nothing. */
    check = *o;
    check.customers = 0;
    st = cvm_simulate(&check, write_row, NULL);
    if (st != CVM_OK) {
        return cli_error("simulate: %s (parameters must be finite and positive, and the "
                         "simulated years within 1970..9999)",
                         cvm_strerror(st));
    }
    return CLI_OK;
}

int cmd_simulate_check_args(int argc, char **argv)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    const char *path = NULL;
    return get_args(argc, argv, &o, &path);
}

int cmd_simulate(int argc, char **argv)
{
    cvm_simulate_options o = CVM_SIMULATE_OPTIONS_INIT;
    const char *path = NULL;
    cli_out out;
    sink s;
    cvm_status st;
    if (get_args(argc, argv, &o, &path) != CLI_OK) {
        return CLI_BAD;
    }
    if (cli_out_open(&out, path) != CLI_OK) {
        return CLI_BAD;
    }
    s.f = out.f;
    s.failed = 0;
    fputs("id,date,amount\n", s.f);
    st = cvm_simulate(&o, write_row, &s);
    if (st != CVM_OK || s.failed) {
        cli_out_close(&out, 0);
        cli_error("simulate: %s", st != CVM_OK ? cvm_strerror(st) : "cannot write the output");
        return CLI_FAIL;
    }
    return cli_out_close(&out, 1);
}
