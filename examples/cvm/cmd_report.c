/* cvm report: a plain-text customer value report on a transaction log —
 * the customers, the fitted BG/NBD and Gamma-Gamma models, holdout accuracy,
 * the most valuable customers, how concentrated value is, and the segments
 * (RFM segments, value tiers, lifecycle stages). Without a file
 * it reports on data simulated in memory from CDNOW's published estimates,
 * so the README's first command works on a fresh machine. */
#include "summary_io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WEEK (7 * CVM_SECONDS_PER_DAY)
#define MONTH_DAYS (365.25 / 12)

/* The generated data set: 5,000 customers from the simulator's defaults
 * (CDNOW's published BG/NBD and Gamma-Gamma estimates), 39 weeks of
 * calibration and 39 of holdout, like CDNOW's split. */
#define SIM_CUSTOMERS 5000
#define SIM_SEED 42
#define SIM_CAL_WEEKS 39
#define SIM_OBS_WEEKS 78

typedef struct report_args {
    const char *file; /* NULL: simulated */
    const char *out;
    cli_input in;
    unsigned long long top;
    cli_paths paths; /* --paths FILE and its options: the Channels section */
} report_args;

/* ---- options (those of `cvm summary`, plus --top) ---- */

static int set_count(const char *opt, const char *s, unsigned long long lo,
                     unsigned long long hi, unsigned long long *out)
{
    if (cli_parse_u64(opt, s, out)) {
        return 1;
    }
    if (*out < lo || *out > hi) {
        return cli_error("%s: '%s' is not between %llu and %llu", opt, s, lo, hi);
    }
    return 0;
}

static int parse(int argc, char **argv, report_args *r)
{
    cli_args a;
    const char *arg;
    int bad = 0;
    cli_args_init(&a, argc, argv, 2);
    while (!bad && (arg = cli_args_next(&a)) != NULL) {
        if (cli_input_opt(&a, arg, &r->in, &bad) ||
            cli_paths_opt(&a, arg, &r->paths, "--paths-delimiter", &bad)) {
            continue;
        } else if (cli_opt(&a, arg, "--top", &bad)) {
            bad = bad || set_count(arg, a.value, 0, 1000000, &r->top);
        } else if (cli_opt(&a, arg, "-o", &bad)) {
            r->out = a.value;
        } else if (r->file == NULL && (arg[0] != '-' || arg[1] == '\0')) {
            r->file = arg;
        } else {
            bad = cli_error("report: unknown argument '%s'", arg);
        }
    }
    return bad || cli_paths_check(&r->paths, "report");
}

/* The generated data's split, unless the user chose one: calibration ends
 * just before week 39 starts, so it holds exactly 39 weeks of days. */
static void simulated_defaults(report_args *r, const cvm_simulate_options *sim)
{
    if (r->in.model.calibration_end == CVM_TIME_NONE) {
        r->in.model.calibration_end = sim->start + SIM_CAL_WEEKS * WEEK - 1;
        if (r->in.view.observation_end == CVM_TIME_NONE) {
            r->in.view.observation_end = sim->start + SIM_OBS_WEEKS * WEEK - 1;
        }
    }
    if (!r->in.unit_given) {
        r->in.view.unit_seconds = WEEK;
    }
}

static int check_split(const report_args *r)
{
    if (r->in.view.observation_end == CVM_TIME_NONE) {
        return 0;
    }
    if (r->in.model.calibration_end == CVM_TIME_NONE) {
        return cli_error("report: --observation-end needs --calibration-end");
    }
    if (r->in.view.observation_end <= r->in.model.calibration_end) {
        return cli_error("report: the observation end must be after the calibration end");
    }
    return 0;
}

/* ---- the data ---- */

/* The input as messages and the report's title name it. */
static const char *input_name(const report_args *r)
{
    if (r->file == NULL) {
        return "report";
    }
    return strcmp(r->file, "-") == 0 ? "<stdin>" : r->file;
}

typedef struct sim_sink {
    cvm_customers *c;
    cvm_status st;
} sim_sink;

static int add_simulated(void *ud, size_t customer, int64_t time, double amount)
{
    sim_sink *s = ud;
    char id[24];
    int len = snprintf(id, sizeof id, "%zu", customer + 1);
    s->st = cvm_customers_add(s->c, id, (size_t)len, time, amount);
    return s->st != CVM_OK;
}

static int load_stdin(cvm_customers *c, const report_args *r)
{
    size_t len = 0;
    char *data = read_stream(stdin, &len);
    cvm_status st;
    if (data == NULL || ferror(stdin)) {
        cli_error("<stdin>: %s", data == NULL ? "out of memory" : "cannot read");
        free(data);
        return CLI_FAIL;
    }
    st = cvm_customers_load_csv_buffer(c, data, len, "<stdin>", &r->in.csv);
    free(data);
    if (st == CVM_OK) {
        return CLI_OK;
    }
    cli_error("%s", cvm_customers_errmsg(c));
    return st == CVM_E_NOMEM ? CLI_FAIL : CLI_BAD;
}

static int load(cvm_customers *c, const report_args *r, const cvm_simulate_options *sim)
{
    cvm_status st;
    if (r->file == NULL) {
        sim_sink s;
        s.c = c;
        s.st = CVM_OK;
        st = cvm_simulate(sim, add_simulated, &s);
        st = st != CVM_OK ? st : s.st;
    } else if (strcmp(r->file, "-") == 0) {
        return load_stdin(c, r);
    } else {
        st = cvm_customers_load_csv(c, r->file, &r->in.csv);
    }
    if (st == CVM_OK) {
        return CLI_OK;
    }
    cli_error("%s", cvm_customers_errmsg(c)[0] ? cvm_customers_errmsg(c) : cvm_strerror(st));
    return st == CVM_E_NOMEM ? CLI_FAIL : CLI_BAD;
}

/* The summary as columns (CVM_COL_*), the holdout ones only with a holdout. */
typedef struct table {
    size_t n;
    size_t *index;
    double *col[CVM_COL_COUNT];
    int holdout;
} table;

static void table_free(table *t)
{
    int k;
    free(t->index);
    for (k = 0; k < CVM_COL_COUNT; k++) {
        free(t->col[k]);
    }
}

static int summarise(table *t, cvm_customers *c, const report_args *r)
{
    int k, ncols;
    cvm_status st = CVM_OK;
    memset(t, 0, sizeof *t);
    t->n = cvm_customers_summary_rows(c);
    t->holdout = r->in.view.observation_end != CVM_TIME_NONE;
    ncols = t->holdout ? CVM_COL_COUNT : CVM_COL_FREQUENCY_HOLDOUT;
    if (t->n == 0) {
        return cli_error("%s: no customer bought on or before the calibration end",
                         input_name(r));
    }
    t->index = malloc(t->n * sizeof *t->index);
    st = t->index ? cvm_customers_summary_index(c, t->index, t->n) : CVM_E_NOMEM;
    for (k = 0; k < ncols && st == CVM_OK; k++) {
        t->col[k] = malloc(t->n * sizeof *t->col[k]);
        st = t->col[k] ? cvm_customers_summary(c, &r->in.view, k, t->col[k], t->n) : CVM_E_NOMEM;
    }
    if (st != CVM_OK) {
        cli_error("report: %s", st == CVM_E_NOMEM ? "out of memory" : cvm_customers_errmsg(c));
        return st == CVM_E_NOMEM ? CLI_FAIL : CLI_BAD;
    }
    return t->n > 0 ? CLI_OK
                    : cli_error("%s: every customer first bought in the calibration end's period",
                                input_name(r));
}

/* ---- the models ---- */

typedef struct results {
    cvm_clv *m;
    cvm_spend *s;          /* NULL when Gamma-Gamma could not be fitted */
    char spend_note[200];  /* why not */
    cvm_value_options value;
    double horizon;        /* of expected purchases: the CLV horizon */
    double *p_alive, *expected, *clv;
    int has_holdout;
    cvm_holdout_report holdout;
    int64_t track_start;  /* the tracking axis's 0 */
    size_t ntrack;
    double track_at[6], track_actual[6], track_expected[6];
} results;

static void results_free(results *res)
{
    cvm_clv_free(res->m);
    cvm_spend_free(res->s);
    free(res->p_alive);
}

static int fit_bgnbd(results *res, const table *t, const char *name)
{
    cvm_status st = cvm_clv_new(&res->m, NULL);
    if (st == CVM_OK) {
        st = cvm_clv_fit(res->m, t->col[CVM_COL_FREQUENCY], t->col[CVM_COL_RECENCY],
                         t->col[CVM_COL_T], NULL, t->n, NULL);
    }
    if (st == CVM_OK) {
        return CLI_OK;
    }
    cli_error("%s: BG/NBD: %s", name, res->m ? cvm_clv_errmsg(res->m) : cvm_strerror(st));
    return st == CVM_E_NOMEM ? CLI_FAIL : CLI_BAD;
}

static int has_amounts(const table *t)
{
    size_t i;
    for (i = 0; i < t->n; i++) {
        if (t->col[CVM_COL_MONETARY][i] > 0) {
            return 1;
        }
    }
    return 0;
}

/* Without usable amounts (none given, or no repeat buyer with one) CLV uses
 * each customer's own mean spend instead, and the report says so. */
static void fit_gamma_gamma(results *res, const table *t)
{
    cvm_status st = cvm_spend_new(&res->s, NULL);
    if (st == CVM_OK) {
        st = cvm_spend_fit(res->s, t->col[CVM_COL_FREQUENCY], t->col[CVM_COL_MONETARY], NULL,
                           t->n, NULL);
    }
    if (st != CVM_OK) {
        snprintf(res->spend_note, sizeof res->spend_note, "%s",
                 !has_amounts(t) ? "no purchase amounts"
                 : res->s        ? cvm_spend_errmsg(res->s)
                                 : cvm_strerror(st));
        cvm_spend_free(res->s);
        res->s = NULL;
    }
}

static int score(results *res, const table *t, int64_t unit_seconds)
{
    char err[256] = "";
    cvm_status st;
    /* Twelve monthly periods at 1% a month, lifetimes' defaults, in the
     * summary's time unit whatever it is. */
    cvm_value_options_init(&res->value, sizeof res->value);
    res->value.periods = 12;
    res->value.period_length = MONTH_DAYS * (double)CVM_SECONDS_PER_DAY / (double)unit_seconds;
    res->value.discount_rate = 0.01;
    res->horizon = res->value.periods * res->value.period_length;
    res->p_alive = malloc(3 * t->n * sizeof *res->p_alive);
    if (res->p_alive == NULL) {
        cli_error("report: out of memory");
        return CLI_FAIL;
    }
    res->expected = res->p_alive + t->n;
    res->clv = res->p_alive + 2 * t->n;
    st = cvm_clv_score(res->m, res->s, res->horizon, &res->value, t->col[CVM_COL_FREQUENCY],
                       t->col[CVM_COL_RECENCY], t->col[CVM_COL_T], t->col[CVM_COL_MONETARY],
                       t->n, res->p_alive, res->expected, NULL, res->clv, err, sizeof err);
    if (st != CVM_OK) {
        cli_error("report: scoring: %s", err[0] ? err : cvm_strerror(st));
        return st == CVM_E_NOMEM ? CLI_FAIL : CLI_BAD;
    }
    return CLI_OK;
}

static int holdout(results *res, const table *t)
{
    char err[256] = "";
    cvm_status st;
    res->holdout.size = sizeof res->holdout;
    st = cvm_clv_holdout(res->m, t->col[CVM_COL_FREQUENCY], t->col[CVM_COL_RECENCY],
                         t->col[CVM_COL_T], t->col[CVM_COL_DURATION_HOLDOUT],
                         t->col[CVM_COL_FREQUENCY_HOLDOUT], t->n, NULL, &res->holdout, err,
                         sizeof err);
    if (st != CVM_OK) {
        cli_error("report: holdout: %s", err[0] ? err : cvm_strerror(st));
        return st == CVM_E_NOMEM ? CLI_FAIL : CLI_BAD;
    }
    res->has_holdout = 1;
    return CLI_OK;
}

/* ---- tracking: cumulative repeat purchases, expected against actual ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q - (a % b != 0 && (a < 0) != (b < 0));
}

static double max_T(const table *t)
{
    double m = 0;
    size_t i;
    for (i = 0; i < t->n; i++) {
        m = t->col[CVM_COL_T][i] > m ? t->col[CVM_COL_T][i] : m;
    }
    return m;
}

/* Where the tracking axis starts: the first period anyone bought in. T is
 * measured from each first purchase period to the calibration end's period,
 * so the largest T reaches back to it. */
static int64_t axis_start(const report_args *r, double maxT)
{
    const cvm_customers_options *m = &r->in.model;
    int64_t ref = floor_div(m->calibration_end - m->period_origin, m->period_seconds);
    ref -= (int64_t)llround(maxT * (double)r->in.view.unit_seconds / (double)m->period_seconds);
    return m->period_origin + ref * m->period_seconds;
}

/* Time units from `start` to the end of the period holding `end`, rounded up. */
static size_t units_to(const report_args *r, int64_t start, int64_t end)
{
    const cvm_customers_options *m = &r->in.model;
    int64_t stop = m->period_origin +
                   (floor_div(end - m->period_origin, m->period_seconds) + 1) * m->period_seconds;
    return (size_t)((stop - start + r->in.view.unit_seconds - 1) / r->in.view.unit_seconds);
}

/* Thirds of the calibration and of the holdout, without repeats. */
static size_t tracking_points(double *at, size_t cal, size_t total)
{
    size_t k, n = 0;
    for (k = 1; k <= 6; k++) {
        size_t p = k <= 3 ? (cal * k + 1) / 3 : cal + ((total - cal) * (k - 3) + 1) / 3;
        if (p > 0 && (n == 0 || (double)p > at[n - 1])) {
            at[n++] = (double)p;
        }
    }
    return n;
}

/* The actual curve counts every customer's repeat purchases, the model's
 * only those of the summary's customers: the two match when nobody makes a
 * first purchase after the calibration end. */
static int tracking(results *res, const table *t, const report_args *r, cvm_customers *c)
{
    double maxT = max_T(t);
    int64_t start = axis_start(r, maxT);
    size_t cal = units_to(r, start, r->in.model.calibration_end);
    size_t total = units_to(r, start, r->in.view.observation_end), i;
    double *curve = malloc(total * sizeof *curve), *birth = malloc(t->n * sizeof *birth);
    char err[256] = "";
    cvm_status st = curve && birth ? cvm_customers_repeat_curve(c, start, r->in.view.unit_seconds,
                                                                curve, total)
                                   : CVM_E_NOMEM;
    res->track_start = start;
    res->ntrack = tracking_points(res->track_at, cal, total);
    for (i = 0; st == CVM_OK && i < res->ntrack; i++) {
        res->track_actual[i] = curve[(size_t)res->track_at[i] - 1];
    }
    /* Each customer's first purchase, in units after the start. */
    for (i = 0; st == CVM_OK && i < t->n; i++) {
        birth[i] = maxT - t->col[CVM_COL_T][i];
    }
    if (st == CVM_OK) {
        st = cvm_clv_tracking(res->m, birth, NULL, t->n, res->track_at, res->ntrack,
                              res->track_expected, err, sizeof err);
    }
    free(curve);
    free(birth);
    if (st != CVM_OK) {
        cli_error("report: tracking: %s", st == CVM_E_NOMEM ? "out of memory"
                                          : err[0]          ? err
                                                            : cvm_customers_errmsg(c));
        return st == CVM_E_NOMEM ? CLI_FAIL : CLI_BAD;
    }
    return CLI_OK;
}

static int analyse(results *res, const table *t, const report_args *r, cvm_customers *c)
{
    int rc = fit_bgnbd(res, t, input_name(r));
    if (rc == CLI_OK) {
        fit_gamma_gamma(res, t);
        rc = score(res, t, r->in.view.unit_seconds);
    }
    if (rc == CLI_OK && t->holdout) {
        rc = holdout(res, t);
    }
    if (rc == CLI_OK && t->holdout) {
        rc = tracking(res, t, r, c);
    }
    return rc;
}

/* ---- writing ---- */

/* "week" / "weeks", "day" / "days", or "unit" / "units" for other lengths. */
static const char *unit_name(int64_t unit_seconds, int plural)
{
    if (unit_seconds == WEEK) {
        return plural ? "weeks" : "week";
    }
    if (unit_seconds == CVM_SECONDS_PER_DAY) {
        return plural ? "days" : "day";
    }
    return plural ? "units" : "unit";
}

static void write_date(FILE *f, const char *label, int64_t t)
{
    char date[16];
    if (cvm_format_date(date, sizeof date, t) != CVM_OK) {
        snprintf(date, sizeof date, "?");
    }
    fprintf(f, "  %-20s %s\n", label, date);
}

static double column_sum(const double *v, size_t n, size_t *positive)
{
    double s = 0;
    size_t i;
    *positive = 0;
    for (i = 0; i < n; i++) {
        s += v[i];
        *positive += v[i] > 0;
    }
    return s;
}

static void write_overview(FILE *f, const report_args *r, const cvm_simulate_options *sim,
                           cvm_customers *c, const table *t)
{
    size_t repeaters;
    double repeats = column_sum(t->col[CVM_COL_FREQUENCY], t->n, &repeaters);
    if (r->file) {
        fprintf(f, "Customer value report: %s\n\n", input_name(r));
    } else {
        fprintf(f, "Customer value report: %llu customers simulated in memory (seed %llu)\n\n",
                (unsigned long long)sim->customers, (unsigned long long)sim->seed);
    }
    fprintf(f, "Customers\n  %-20s %zu\n  %-20s %zu\n", "customers", cvm_customers_count(c),
            "transactions", cvm_customers_transactions(c));
    fprintf(f, "  %-20s %zu\n", "modelled", t->n);
    if (cvm_customers_count(c) > t->n) {
        fprintf(f, "  %-20s %zu (first purchase after the calibration end)\n", "not modelled",
                cvm_customers_count(c) - t->n);
    }
    if (r->in.model.calibration_end != CVM_TIME_NONE) {
        write_date(f, "calibration end", r->in.model.calibration_end);
    }
    if (t->holdout) {
        write_date(f, "observation end", r->in.view.observation_end);
    }
    if (r->in.view.unit_seconds == WEEK || r->in.view.unit_seconds == CVM_SECONDS_PER_DAY) {
        fprintf(f, "  %-20s %s\n", "time unit", unit_name(r->in.view.unit_seconds, 0));
    } else {
        fprintf(f, "  %-20s %g days\n", "time unit",
                (double)r->in.view.unit_seconds / (double)CVM_SECONDS_PER_DAY);
    }
    fprintf(f, "  %-20s %.0f by %zu customers; %zu made none\n\n", "repeat purchases", repeats,
            repeaters, t->n - repeaters);
}

typedef struct param_table {
    size_t np;
    const char *names[4];
    double params[4], stderrs[4];
    const double *truth; /* the simulation's parameters, or NULL */
    cvm_fit_info info;
} param_table;

static void write_params(FILE *f, const param_table *p)
{
    size_t i;
    fprintf(f, "  %-14s %12s %12s%s\n", "parameter", "estimate", "std. error",
            p->truth ? "         true" : "");
    for (i = 0; i < p->np; i++) {
        fprintf(f, "  %-14s %12.6f ", p->names[i], p->params[i]);
        if (p->info.has_stderr) {
            fprintf(f, "%12.6f", p->stderrs[i]);
        } else {
            fprintf(f, "%12s", "n/a");
        }
        if (p->truth) {
            fprintf(f, " %12.6g", p->truth[i]);
        }
        fputc('\n', f);
    }
    fprintf(f, "  %-14s %12.4f\n\n", "log-likelihood", p->info.loglik);
}

static void write_models(FILE *f, const results *res, const cvm_simulate_options *sim,
                         const table *t)
{
    param_table p;
    size_t i, repeaters;
    memset(&p, 0, sizeof p);
    p.info.size = sizeof p.info;
    p.np = cvm_clv_param_count(res->m);
    for (i = 0; i < p.np; i++) {
        p.names[i] = cvm_clv_param_name(res->m, i);
    }
    cvm_clv_params(res->m, p.params, p.stderrs, p.np);
    cvm_clv_info(res->m, &p.info);
    p.truth = sim ? sim->params : NULL;
    fprintf(f, "BG/NBD purchase model: %s after %d iterations, %zu customers\n",
            p.info.converged ? "converged" : "NOT converged", (int)p.info.iterations, t->n);
    write_params(f, &p);
    if (res->s == NULL) {
        fprintf(f, "Gamma-Gamma spend model: not fitted (%s);\n  CLV uses each customer's own "
                   "mean spend\n\n",
                res->spend_note);
        return;
    }
    p.np = 3;
    p.names[0] = "p";
    p.names[1] = "q";
    p.names[2] = "v";
    cvm_spend_params(res->s, p.params, p.stderrs, 3);
    cvm_spend_info(res->s, &p.info);
    p.truth = sim ? sim->spend_params : NULL;
    column_sum(t->col[CVM_COL_FREQUENCY], t->n, &repeaters);
    fprintf(f, "Gamma-Gamma spend model: %s after %d iterations, %zu repeat customers\n",
            p.info.converged ? "converged" : "NOT converged", (int)p.info.iterations, repeaters);
    write_params(f, &p);
}

static void write_holdout(FILE *f, const results *res, const table *t, int64_t unit_seconds,
                          size_t later)
{
    const cvm_holdout_report *h = &res->holdout;
    char date[16] = "?";
    size_t i;
    fprintf(f, "Holdout: %g %s after the calibration end, %.0f customers\n",
            t->col[CVM_COL_DURATION_HOLDOUT][0], unit_name(unit_seconds, 1), h->customers);
    fprintf(f, "  %-20s predicted %.1f, actual %.0f", "repeat purchases", h->predicted,
            h->actual);
    if (h->actual > 0) {
        fprintf(f, " (%+.1f%%)", 100 * (h->predicted - h->actual) / h->actual);
    }
    fprintf(f, "\n  %-20s MAE %.4f, RMSE %.4f, bias %+.4f\n\n", "per customer", h->mae, h->rmse,
            h->bias);
    cvm_format_date(date, sizeof date, res->track_start);
    fprintf(f, "Cumulative repeat purchases since %s\n  %6s %12s %12s %9s\n", date,
            unit_name(unit_seconds, 0), "actual", "expected", "error");
    if (later > 0) {
        fprintf(f, "  (actual also counts the %zu customers not modelled)\n", later);
    }
    for (i = 0; i < res->ntrack; i++) {
        double a = res->track_actual[i], e = res->track_expected[i];
        fprintf(f, "  %6.0f %12.0f %12.1f ", res->track_at[i], a, e);
        if (a > 0) {
            fprintf(f, "%+8.1f%%\n", 100 * (e - a) / a);
        } else {
            fprintf(f, "%9s\n", "");
        }
    }
    fputc('\n', f);
}

typedef struct ranked {
    double clv, expected;
    size_t row;
} ranked;

/* By CLV; ties (all of them when there are no amounts) by expected
 * purchases, then first seen first. */
static int by_clv_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->clv != y->clv) {
        return x->clv < y->clv ? 1 : -1;
    }
    if (x->expected != y->expected) {
        return x->expected < y->expected ? 1 : -1;
    }
    return (x->row > y->row) - (x->row < y->row);
}

/* Ids are arbitrary bytes; keep the table's lines intact. */
static void write_id(FILE *f, const char *id, size_t len)
{
    size_t i, n = len < 16 ? len : 16;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)id[i];
        fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, f);
    }
    fprintf(f, "%*s", (int)(16 - n), "");
}

static void write_top(FILE *f, const report_args *r, const results *res, const table *t,
                      cvm_customers *c, const ranked *rank)
{
    size_t k, top = r->top < t->n ? (size_t)r->top : t->n;
    fprintf(f, "Top %zu customers by CLV (12 months of %.2f %s, 1%% discount a month)\n", top,
            res->value.period_length, unit_name(r->in.view.unit_seconds, 1));
    fprintf(f, "  %4s  %-16s %6s %9s %13s %12s\n", "rank", "id", "x", "P(alive)",
            "E[purchases]", "CLV");
    for (k = 0; k < top; k++) {
        size_t i = rank[k].row;
        const char *id = "";
        size_t len = 0;
        cvm_customers_id(c, t->index[i], &id, &len);
        fprintf(f, "  %4zu  ", k + 1);
        write_id(f, id, len);
        fprintf(f, " %6.0f %9.4f %13.3f %12.2f\n", t->col[CVM_COL_FREQUENCY][i],
                res->p_alive[i], res->expected[i], res->clv[i]);
    }
    fputc('\n', f);
}

static void write_concentration(FILE *f, const ranked *rank, size_t n)
{
    size_t k, top = (n + 9) / 10;
    double total = 0, head = 0;
    for (k = 0; k < n; k++) {
        total += rank[k].clv;
        head += k < top ? rank[k].clv : 0;
    }
    fprintf(f, "Value concentration\n  %-20s %.2f over %zu customers (mean %.2f)\n", "total CLV",
            total, n, total / (double)n);
    if (total > 0) {
        fprintf(f, "  the top 10%% (%zu customers) hold %.1f%% of it\n", top, 100 * head / total);
    } else {
        fprintf(f, "  no value to share out (no amounts)\n");
    }
}

/* ---- segments: RFM segments with their CLV, value tiers, lifecycle stages ---- */

#define NTIERS 4
#define NSTAGES 4

typedef struct seg_report {
    cvm_rfm *rfm;
    size_t nseg;
    cvm_segment_profile *profile;
    double total_clv;
    size_t tier_count[NTIERS];
    double tier_lo[NTIERS], tier_hi[NTIERS], tier_clv[NTIERS];
    size_t stage_count[NSTAGES];
    double new_age; /* in time units */
} seg_report;

static void seg_report_free(seg_report *sg)
{
    cvm_rfm_free(sg->rfm);
    free(sg->profile);
}

static int segments_failed(cvm_status st, const char *msg)
{
    if (st == CVM_E_NOMEM) {
        cli_error("report: segments: out of memory");
        return CLI_FAIL;
    }
    return cli_error("report: segments: %s", msg && msg[0] ? msg : cvm_strerror(st));
}

/* R rfm's segments of the default 5 x 5 x 5 scores, profiled with CLV. */
static int rfm_segments(seg_report *sg, const table *t, const results *res, double *since,
                        int32_t *score)
{
    const double *x = t->col[CVM_COL_FREQUENCY], *m = t->col[CVM_COL_MONETARY];
    size_t n = t->n, j;
    int32_t *label = score + 3 * n;
    char err[256] = "";
    cvm_status st = cvm_rfm_new(&sg->rfm, NULL);
    if (st == CVM_OK) {
        st = cvm_rfm_fit(sg->rfm, since, x, m, n);
        snprintf(err, sizeof err, "%s", st != CVM_OK ? cvm_rfm_errmsg(sg->rfm) : "");
    }
    if (st == CVM_OK) {
        st = cvm_rfm_fit_scores(sg->rfm, n, score, score + n, score + 2 * n);
    }
    if (st == CVM_OK) {
        st = cvm_rfm_segment(sg->rfm, score, score + n, score + 2 * n, n, label, err, sizeof err);
    }
    if (st == CVM_OK) {
        sg->nseg = cvm_rfm_segment_count(sg->rfm);
        sg->profile = calloc(sg->nseg, sizeof *sg->profile);
        st = sg->profile ? CVM_OK : CVM_E_NOMEM;
    }
    for (j = 0; st == CVM_OK && j < sg->nseg; j++) {
        sg->profile[j].size = sizeof sg->profile[j];
    }
    if (st == CVM_OK) {
        st = cvm_segment_profiles(label, n, sg->nseg, since, x, m, res->p_alive, res->clv,
                                  sg->profile, err, sizeof err);
    }
    return st == CVM_OK ? CLI_OK : segments_failed(st, err);
}

/* Top 1%, next 9%, next 40%, bottom 50% of customers by CLV. */
static int value_tiers(seg_report *sg, const table *t, const results *res, int32_t *tier)
{
    static const double shares[NTIERS - 1] = {0.01, 0.10, 0.50};
    double cuts[NTIERS - 1];
    char err[256] = "";
    size_t i;
    cvm_status st = cvm_value_tiers(res->clv, t->n, shares, NTIERS - 1, cuts, tier, err,
                                    sizeof err);
    if (st != CVM_OK) {
        return segments_failed(st, err);
    }
    for (i = 0; i < t->n; i++) {
        size_t k = (size_t)tier[i] < NTIERS ? (size_t)tier[i] : NTIERS - 1;
        double v = res->clv[i];
        if (sg->tier_count[k]++ == 0 || v < sg->tier_lo[k]) {
            sg->tier_lo[k] = v;
        }
        if (sg->tier_count[k] == 1 || v > sg->tier_hi[k]) {
            sg->tier_hi[k] = v;
        }
        sg->tier_clv[k] += v;
        sg->total_clv += v;
    }
    return CLI_OK;
}

/* New within four weeks of the first purchase; the other thresholds are the
 * library's (expected gaps since the last purchase, P(alive)). */
static int lifecycle(seg_report *sg, const table *t, const results *res, int64_t unit_seconds,
                     int32_t *stage)
{
    cvm_lifecycle_options lo = CVM_LIFECYCLE_OPTIONS_INIT;
    char err[256] = "";
    size_t i;
    cvm_status st;
    lo.new_age = sg->new_age = 4.0 * (double)WEEK / (double)unit_seconds;
    st = cvm_lifecycle(&lo, t->col[CVM_COL_FREQUENCY], t->col[CVM_COL_RECENCY], t->col[CVM_COL_T],
                       res->p_alive, NULL, t->n, stage, err, sizeof err);
    if (st != CVM_OK) {
        return segments_failed(st, err);
    }
    for (i = 0; i < t->n; i++) {
        sg->stage_count[(size_t)stage[i] < NSTAGES ? (size_t)stage[i] : NSTAGES - 1]++;
    }
    return CLI_OK;
}

static int segments(seg_report *sg, const table *t, const results *res, int64_t unit_seconds)
{
    size_t n = t->n, i;
    double *since = malloc(n * sizeof *since);
    int32_t *work = malloc(4 * n * sizeof *work); /* r, f, m, label; then tiers, stages */
    int rc = CLI_OK;
    memset(sg, 0, sizeof *sg);
    if (since == NULL || work == NULL) {
        rc = segments_failed(CVM_E_NOMEM, NULL);
    }
    for (i = 0; rc == CLI_OK && i < n; i++) {
        since[i] = t->col[CVM_COL_T][i] - t->col[CVM_COL_RECENCY][i];
    }
    if (rc == CLI_OK) {
        rc = rfm_segments(sg, t, res, since, work);
    }
    if (rc == CLI_OK) {
        rc = value_tiers(sg, t, res, work);
    }
    if (rc == CLI_OK) {
        rc = lifecycle(sg, t, res, unit_seconds, work);
    }
    free(since);
    free(work);
    return rc;
}

static void write_share(FILE *f, double part, double total)
{
    if (total > 0) {
        fprintf(f, " %12.1f%%\n", 100 * part / total);
    } else {
        fprintf(f, " %13s\n", "-");
    }
}

static void write_segments(FILE *f, const seg_report *sg, size_t n, int64_t unit_seconds)
{
    static const char *const tier_name[NTIERS] = {"top 1%", "next 9%", "next 40%", "bottom 50%"};
    static const char *const stage_name[NSTAGES] = {"new", "active", "at risk", "lapsed"};
    size_t j;
    fprintf(f, "\nSegments (RFM 1-5: %s since the last purchase, repeat purchases, mean spend)\n",
            unit_name(unit_seconds, 1));
    fprintf(f, "  %-22s %9s %7s %12s %13s\n", "segment", "customers", "share", "mean CLV",
            "share of CLV");
    for (j = 0; j < sg->nseg; j++) {
        const cvm_segment_profile *p = &sg->profile[j];
        const char *name = cvm_rfm_segment_name(sg->rfm, j);
        if (p->count <= 0) {
            continue;
        }
        fprintf(f, "  %-22.22s %9.0f %6.1f%% %12.2f", name ? name : "?", p->count,
                100 * p->share_customers, p->mean_clv);
        write_share(f, p->count * p->mean_clv, sg->total_clv);
    }
    fprintf(f, "  %-22s %9s %7s %25s %13s\n", "value tier", "customers", "share", "CLV range",
            "share of CLV");
    for (j = 0; j < NTIERS; j++) {
        char range[64] = "";
        if (sg->tier_count[j] > 0) {
            snprintf(range, sizeof range, "%.2f - %.2f", sg->tier_lo[j], sg->tier_hi[j]);
        }
        fprintf(f, "  %-22s %9zu %6.1f%% %25s", tier_name[j], sg->tier_count[j],
                100 * (double)sg->tier_count[j] / (double)n, range);
        write_share(f, sg->tier_clv[j], sg->total_clv);
    }
    fprintf(f, "  %-22s %9s %7s\n", "lifecycle stage", "customers", "share");
    for (j = 0; j < NSTAGES; j++) {
        fprintf(f, "  %-22s %9zu %6.1f%%\n", stage_name[j], sg->stage_count[j],
                100 * (double)sg->stage_count[j] / (double)n);
    }
    fprintf(f, "  (new: first purchase within %g %s; P(alive) from the BG/NBD fit)\n", sg->new_age,
            unit_name(unit_seconds, 1));
}

static int write_report(const report_args *r, const cvm_simulate_options *sim, cvm_customers *c,
                        const table *t, const results *res, const cli_channels *ch)
{
    ranked *rank = malloc(t->n * sizeof *rank);
    seg_report sg;
    cli_out out;
    size_t i;
    int rc;
    if (rank == NULL) {
        cli_error("report: out of memory");
        return CLI_FAIL;
    }
    rc = segments(&sg, t, res, r->in.view.unit_seconds);
    if (rc != CLI_OK) {
        seg_report_free(&sg);
        free(rank);
        return rc;
    }
    for (i = 0; i < t->n; i++) {
        rank[i].clv = res->clv[i];
        rank[i].expected = res->expected[i];
        rank[i].row = i;
    }
    qsort(rank, t->n, sizeof *rank, by_clv_desc);
    rc = cli_out_open(&out, r->out);
    if (rc == CLI_OK) {
        write_overview(out.f, r, sim, c, t);
        write_models(out.f, res, sim, t);
        if (res->has_holdout) {
            write_holdout(out.f, res, t, r->in.view.unit_seconds, cvm_customers_count(c) - t->n);
        }
        if (r->top > 0) {
            write_top(out.f, r, res, t, c, rank);
        }
        write_concentration(out.f, rank, t->n);
        write_segments(out.f, &sg, t->n, r->in.view.unit_seconds);
        if (ch != NULL) {
            cli_channels_write(out.f, ch);
        }
        rc = cli_out_close(&out, 1);
    }
    seg_report_free(&sg);
    free(rank);
    return rc;
}

/* The arguments, parsed and checked; nothing is opened. */
static int get_args(int argc, char **argv, report_args *r, cvm_simulate_options *sim)
{
    memset(r, 0, sizeof *r);
    cli_input_init(&r->in);
    cli_paths_init(&r->paths);
    r->top = 10;
    sim->customers = SIM_CUSTOMERS;
    sim->seed = SIM_SEED;
    if (parse(argc, argv, r)) {
        return CLI_BAD;
    }
    if (r->file == NULL) {
        simulated_defaults(r, sim);
    }
    return check_split(r) ? CLI_BAD : CLI_OK;
}

int cmd_report_check_args(int argc, char **argv)
{
    report_args r;
    cvm_simulate_options sim = CVM_SIMULATE_OPTIONS_INIT;
    return get_args(argc, argv, &r, &sim);
}

int cmd_report(int argc, char **argv)
{
    report_args r;
    cvm_simulate_options sim = CVM_SIMULATE_OPTIONS_INIT;
    cvm_customers *c = NULL;
    cli_channels *ch = NULL;
    table t;
    results res;
    int rc;
    if (get_args(argc, argv, &r, &sim) != CLI_OK) {
        return CLI_BAD;
    }
    if (cvm_customers_new(&c, &r.in.model) != CVM_OK) {
        return cli_error("report: bad settings (period, origin or calibration end)");
    }
    memset(&t, 0, sizeof t);
    memset(&res, 0, sizeof res);
    /* The paths first: they are quick to read, and bad ones fail fast. */
    rc = r.paths.file ? cli_channels_compute(&ch, &r.paths) : CLI_OK;
    if (rc == CLI_OK) {
        rc = load(c, &r, &sim);
    }
    if (rc == CLI_OK) {
        rc = summarise(&t, c, &r);
    }
    if (rc == CLI_OK) {
        rc = analyse(&res, &t, &r, c);
    }
    if (rc == CLI_OK) {
        rc = write_report(&r, r.file ? NULL : &sim, c, &t, &res, ch);
    }
    cli_channels_free(ch);
    results_free(&res);
    table_free(&t);
    cvm_customers_free(c);
    return rc;
}
