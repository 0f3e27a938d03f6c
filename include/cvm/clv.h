/* libcvm — customer lifetime value: transaction models and simulation. */
#ifndef CVM_CLV_H
#define CVM_CLV_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Transaction model kinds. Parameters are in the literature's order; rates
 * are per unit of the time axis the data were given in (weeks for CDNOW). */
typedef enum cvm_model_kind {
    CVM_MODEL_BGNBD = 0,  /* BG/NBD (Fader, Hardie & Lee 2005): r, alpha, a, b */
    CVM_MODEL_PARETO = 1, /* Pareto/NBD (Schmittlein et al. 1987): r, alpha, s, beta */
    CVM_MODEL_MBGNBD = 2, /* MBG/NBD (Batislam et al. 2007): r, alpha, a, b */
    CVM_MODEL_BGBB = 3    /* BG/BB (Fader, Hardie & Shang 2010), discrete: alpha, beta, gamma, delta */
} cvm_model_kind;

/* Receives one simulated purchase: customer number (0-based), time in seconds
 * since the epoch and amount. Return nonzero to stop the simulation. */
typedef int (*cvm_transaction_fn)(void *userdata, size_t customer, int64_t time, double amount);

/* What to simulate. Rates are per `unit_seconds` (a week by default, as the
 * literature's CDNOW parameters are). For BG/BB the unit is the spacing of
 * the transaction opportunities (FHS 2010's donations: a year). */
typedef struct cvm_simulate_options {
    size_t size;              /* sizeof(cvm_simulate_options) */
    uint64_t seed;            /* the same seed gives the same stream on every platform */
    uint64_t customers;       /* number of customers */
    int32_t model;            /* a cvm_model_kind */
    int32_t spend;            /* 1: draw amounts from Gamma-Gamma(p, q, v); 0: amounts are 0 */
    double params[4];         /* model parameters in the literature's order: r, alpha, a, b
                                 (BG/NBD, MBG/NBD), r, alpha, s, beta (Pareto/NBD),
                                 alpha, beta, gamma, delta (BG/BB) */
    double spend_params[3];   /* Gamma-Gamma p, q, v */
    int64_t start;            /* earliest first purchase (seconds since the epoch) */
    int64_t acquisition_seconds; /* first purchases are uniform in [start, start + this);
                                    BG/BB: at start + k units, k uniform over the whole
                                    units in that range (0: a cohort at `start`) */
    int64_t duration_seconds; /* purchases stop at start + this (exclusive) */
    int64_t unit_seconds;     /* time unit of the rates; BG/BB: one opportunity */
} cvm_simulate_options;

/* Defaults: 1000 customers, seed 1, BG/NBD at CDNOW's published estimates
 * (0.243, 4.414, 0.793, 2.426 per week), Gamma-Gamma (6.25, 3.74, 15.44),
 * start 1997-01-01, first purchases over 12 weeks, 78 weeks in all. */
#define CVM_SIMULATE_OPTIONS_INIT                                                      \
    { sizeof(cvm_simulate_options), 1, 1000, CVM_MODEL_BGNBD, 1,                       \
      { 0.243, 4.414, 0.793, 2.426 }, { 6.25, 3.74, 15.44 }, INT64_C(852076800),       \
      INT64_C(12) * 604800, INT64_C(78) * 604800, INT64_C(604800) }

/* Fill `opts` with the defaults. Returns CVM_E_ABI for an unknown `size`. */
CVM_API cvm_status cvm_simulate_options_init(cvm_simulate_options *opts, size_t size);

/* Draw purchases from the model: each customer's first purchase, then the
 * repeat purchases until the customer drops out or the duration ends, in time
 * order per customer, customers one after another. Per customer:
 *  - BG/NBD: purchases at rate lambda ~ Gamma(r, alpha) (alpha a rate); after
 *    each repeat purchase the customer drops out with p ~ Beta(a, b).
 *  - MBG/NBD: as BG/NBD, but the coin p is also tossed after the first
 *    purchase, so a customer may make no repeat purchase at all.
 *  - Pareto/NBD: purchases at rate lambda ~ Gamma(r, alpha) during a lifetime
 *    Exp(mu) from the first purchase, mu ~ Gamma(s, beta).
 *  - BG/BB: opportunities at first purchase + k units (k = 1, 2, ...); at each
 *    one an active customer first becomes inactive with theta ~ Beta(gamma,
 *    delta), then, if still active, buys with p ~ Beta(alpha, beta). The
 *    summary (x, t_x, n) then follows FHS 2010's likelihood.
 * Times are truncated to whole seconds. Spend per purchase follows
 * Gamma-Gamma: amount ~ Gamma(p, nu), nu ~ Gamma(q, v) per customer.
 * Errors: CVM_E_INVALID (NULL callback, a parameter not finite and > 0,
 * durations not > 0, a start before 1970 or an end after 9999-12-31,
 * unknown model), CVM_E_ABI. With 0 customers it only checks `opts`. A callback that stops the run
 * makes it return CVM_OK. */
CVM_API cvm_status cvm_simulate(const cvm_simulate_options *opts, cvm_transaction_fn fn,
                                void *userdata);

/* ==== Fitting ============================================================ */

/* How a model is fitted by maximum likelihood. Initialise with
 * CVM_FIT_OPTIONS_INIT or cvm_fit_options_init(). */
typedef struct cvm_fit_options {
    size_t size;            /* sizeof(cvm_fit_options) */
    double penalizer;       /* L2 penalty c >= 0: minimises -LL/N + c * sum(param^2),
                               as lifetimes' penalizer_coef (default 0) */
    double tolerance;       /* convergence: gradient of the mean log-likelihood in
                               log-parameters below this (default 1e-8) */
    const double *initial;  /* NULL, or a starting point (one value per parameter,
                               each finite and > 0) tried before the built-in ones */
    int32_t max_iterations; /* per start (default 500) */
    int32_t starts;         /* starting points tried when one fails (default 4, >= 1) */
} cvm_fit_options;

#define CVM_FIT_OPTIONS_INIT { sizeof(cvm_fit_options), 0.0, 1e-8, NULL, 500, 4 }

/* Fill `opts` with the defaults. Returns CVM_E_ABI for an unknown `size`. */
CVM_API cvm_status cvm_fit_options_init(cvm_fit_options *opts, size_t size);

/* What the last fit did. The caller sets `size` (sizeof(cvm_fit_info)); the
 * library fills the fields that fit in it. */
typedef struct cvm_fit_info {
    size_t size;          /* sizeof(cvm_fit_info), set by the caller */
    int32_t fitted;       /* 1: parameters usable (fitted, set or loaded) */
    int32_t converged;    /* 1: the last fit converged */
    int32_t iterations;   /* optimizer iterations of the last fit, all starts */
    int32_t has_stderr;   /* 1: standard errors are available */
    double loglik;        /* total (weighted) log-likelihood at the parameters,
                             without the penalty; 0 when not fitted */
    double weight;        /* total weight (customers) of the last fit */
    uint64_t rows;        /* input rows of the last fit */
    uint64_t patterns;    /* distinct rows the likelihood was computed on */
} cvm_fit_info;

/* ==== Transaction models (cvm_clv) ======================================= */

/* An opaque transaction model: BG/NBD, Pareto/NBD, MBG/NBD or BG/BB. Fitting
 * and setting parameters change it; predictions only read it, so any number of
 * threads may predict from one model at once (but not while it is refitted). */
typedef struct cvm_clv cvm_clv;

typedef struct cvm_clv_options {
    size_t size;                    /* sizeof(cvm_clv_options) */
    const cvm_allocator *allocator; /* NULL: libc; copied, not borrowed */
    int32_t kind;                   /* a cvm_model_kind (default BG/NBD) */
    int32_t reserved;               /* must be 0 */
} cvm_clv_options;

#define CVM_CLV_OPTIONS_INIT { sizeof(cvm_clv_options), NULL, CVM_MODEL_BGNBD, 0 }

/* Fill `opts` with the defaults. Returns CVM_E_ABI for an unknown `size`. */
CVM_API cvm_status cvm_clv_options_init(cvm_clv_options *opts, size_t size);

/* The short name of a model kind ("bgnbd", "pareto", "mbgnbd", "bgbb"), or
 * NULL for an unknown kind. Static. */
CVM_API const char *cvm_model_name(int32_t kind);

/* The kind named `name` (as cvm_model_name() gives). CVM_E_NOT_FOUND if none. */
CVM_API cvm_status cvm_model_from_name(const char *name, int32_t *kind);

/* Create an unfitted model of `opts->kind`. `opts` NULL: BG/NBD, libc.
 * Errors: CVM_E_INVALID (out NULL, unknown kind, incomplete allocator),
 * CVM_E_ABI, CVM_E_NOMEM. On failure *out is NULL. Free with cvm_clv_free(). */
CVM_API cvm_status cvm_clv_new(cvm_clv **out, const cvm_clv_options *opts);

/* Free a model. NULL is a no-op. */
CVM_API void cvm_clv_free(cvm_clv *m);

/* The detail of this handle's last failed fit, set or save ("row 17: t_x
 * 40 > T 38"), or "". Borrowed until the next call that changes `m`. */
CVM_API const char *cvm_clv_errmsg(const cvm_clv *m);

/* The model's kind (a cvm_model_kind); -1 for NULL. */
CVM_API int32_t cvm_clv_kind(const cvm_clv *m);

/* Number of parameters (4 for every kind); 0 for NULL. */
CVM_API size_t cvm_clv_param_count(const cvm_clv *m);

/* The literature's name of parameter `i` ("r", "alpha", ...), or NULL past
 * the end. Static. */
CVM_API const char *cvm_clv_param_name(const cvm_clv *m, size_t i);

/* Fit by maximum likelihood to one row per customer: x = repeat purchases,
 * t_x = time of the last repeat purchase after the first (0 if x = 0),
 * T = time from first purchase to the end of calibration, all in one time
 * unit (the summary's). For BG/BB the time unit is one opportunity: t_x is the
 * opportunity of the last transaction (0..T) and T the number of
 * opportunities; all three must be integers. Rows with T = 0 (a first
 * purchase at the end of calibration) carry no information and are accepted
 * (they must have x = 0). `weights` (NULL: all 1) counts
 * how many customers each row stands for. Identical rows are merged, so the
 * cost is per distinct row. `opts` NULL: defaults.
 *
 * Errors: CVM_E_INVALID (NULL pointers, n = 0, a row with x < 0, t_x < 0,
 * t_x > T, T < 0, T = 0 with x > 0, NaN or infinite values, x > 0 with t_x = 0 (continuous
 * models), non-integer x, or for BG/BB non-integer t_x or T, a negative or
 * non-finite weight, zero total weight, no repeat purchase at all; the message
 * names the row), CVM_E_ABI, CVM_E_NOMEM, CVM_E_NOT_CONVERGED (no start
 * converged: the model keeps its previous parameters and is marked unfitted;
 * the message says why). */
CVM_API cvm_status cvm_clv_fit(cvm_clv *m, const double *x, const double *t_x, const double *T,
                               const double *weights, size_t n, const cvm_fit_options *opts);

/* Copy the parameters (and, if `stderrs` is not NULL, their standard errors,
 * 0 where unknown) into arrays of `n` = cvm_clv_param_count() doubles. After
 * a fit that did not converge these are the previous parameters, kept for
 * inspection while the model is unfitted. Errors: CVM_E_INVALID (NULL, wrong
 * n, no parameters ever fitted, set or loaded). */
CVM_API cvm_status cvm_clv_params(const cvm_clv *m, double *params, double *stderrs, size_t n);

/* Set the parameters by hand (e.g. published values); each must be finite and
 * > 0. The model becomes fitted, without standard errors or log-likelihood.
 * Errors: CVM_E_INVALID (wrong n), CVM_E_RANGE (a bad value; model unchanged). */
CVM_API cvm_status cvm_clv_set_params(cvm_clv *m, const double *params, size_t n);

/* What the last fit did. CVM_E_INVALID for NULL, CVM_E_ABI for a bad size. */
CVM_API cvm_status cvm_clv_info(const cvm_clv *m, cvm_fit_info *info);

/* Log-likelihood of each row at the current parameters, into `out` (n
 * doubles); `total` (may be NULL) gets their sum. */
CVM_API cvm_status cvm_clv_loglik(const cvm_clv *m, const double *x, const double *t_x,
                                  const double *T, size_t n, double *out, double *total,
                                  char *errbuf, size_t errlen);

/* ---- Predictions --------------------------------------------------------
 * Every prediction reads the model only. Inputs are n rows in the fit's units;
 * results go to `out` (n doubles, caller-owned). On error `out` may be partly
 * written and, when `errbuf` is not NULL, a message naming the row and problem
 * is written to it (at most `errlen` bytes, NUL-terminated). Errors:
 * CVM_E_INVALID (NULL pointers, model not fitted, a bad row as for fitting,
 * a negative horizon), CVM_E_RANGE (a result that cannot be represented). */

/* P(alive): probability that each customer is still active at T (BG/BB: at
 * the next opportunity, T + 1). */
CVM_API cvm_status cvm_clv_p_alive(const cvm_clv *m, const double *x, const double *t_x,
                                   const double *T, size_t n, double *out, char *errbuf,
                                   size_t errlen);

/* Conditional expected number of purchases in (T, T + t] given each
 * customer's history (BG/BB: in the next t opportunities, t an integer). */
CVM_API cvm_status cvm_clv_expected(const cvm_clv *m, double t, const double *x,
                                    const double *t_x, const double *T, size_t n, double *out,
                                    char *errbuf, size_t errlen);

/* Unconditional expected number of repeat purchases E[X(t)] of a new customer
 * in the `n` times t[i] after the first purchase. */
CVM_API cvm_status cvm_clv_expected_new(const cvm_clv *m, const double *t, size_t n, double *out,
                                        char *errbuf, size_t errlen);

/* P(X(t[i]) = k[i]): probability that a new customer makes exactly k[i]
 * repeat purchases in t[i] (k integers >= 0). */
CVM_API cvm_status cvm_clv_prob_count(const cvm_clv *m, const double *t, const double *k,
                                      size_t n, double *out, char *errbuf, size_t errlen);

/* ---- Holdout validation ------------------------------------------------- */

/* Predicted against actual holdout purchases. */
typedef struct cvm_holdout_report {
    size_t size;      /* sizeof(cvm_holdout_report), set by the caller */
    double customers; /* rows compared */
    double predicted; /* sum of conditional expectations */
    double actual;    /* sum of actual holdout purchases */
    double mae;       /* mean |predicted - actual| per customer */
    double rmse;      /* root mean squared error per customer */
    double bias;      /* mean (predicted - actual) per customer */
} cvm_holdout_report;

/* Compare each customer's conditional expectation over its holdout length
 * duration[i] with actual[i] (holdout purchases). `predicted` (may be NULL)
 * receives the n expectations. Errors as for predictions, plus a negative or
 * non-finite actual count or duration. */
CVM_API cvm_status cvm_clv_holdout(const cvm_clv *m, const double *x, const double *t_x,
                                   const double *T, const double *duration, const double *actual,
                                   size_t n, double *predicted, cvm_holdout_report *report,
                                   char *errbuf, size_t errlen);

/* Cumulative expected repeat purchases of a cohort: out[j] = sum over the n
 * customers of E[X(times[j] - birth[i])] (0 before birth), where birth[i] is
 * customer i's first purchase on the same axis as `times` (for a summary:
 * calibration length - T). `weights` may be NULL. Compare with
 * cvm_customers_repeat_curve(). */
CVM_API cvm_status cvm_clv_tracking(const cvm_clv *m, const double *birth, const double *weights,
                                    size_t n, const double *times, size_t ntimes, double *out,
                                    char *errbuf, size_t errlen);

/* ---- Saving ---------------------------------------------------------------- */

/* Save the kind, parameters, standard errors and fit information as a
 * snapshot file (written to a temporary file, then renamed). Errors:
 * CVM_E_INVALID (not fitted), CVM_E_IO, CVM_E_NOMEM. */
CVM_API cvm_status cvm_clv_save(cvm_clv *m, const char *path);

/* Read a model saved by cvm_clv_save(). `opts` supplies only the allocator.
 * On failure *out is NULL and `errbuf` (may be NULL) gets the reason.
 * Errors: CVM_E_IO, CVM_E_FORMAT (not a valid snapshot: truncated, damaged,
 * another kind), CVM_E_NOMEM. */
CVM_API cvm_status cvm_clv_load(cvm_clv **out, const char *path, const cvm_clv_options *opts,
                                char *errbuf, size_t errlen);

/* ==== Spend: Gamma-Gamma (cvm_spend) ==================================== */

/* An opaque Gamma-Gamma spend model (Fader, Hardie & Lee 2005; Fader &
 * Hardie note 025): parameters p, q, v. Threading as cvm_clv. */
typedef struct cvm_spend cvm_spend;

typedef struct cvm_model_options {
    size_t size;                    /* sizeof(cvm_model_options) */
    const cvm_allocator *allocator; /* NULL: libc; copied, not borrowed */
} cvm_model_options;

#define CVM_MODEL_OPTIONS_INIT { sizeof(cvm_model_options), NULL }

/* Fill `opts` with the defaults. Returns CVM_E_ABI for an unknown `size`. */
CVM_API cvm_status cvm_model_options_init(cvm_model_options *opts, size_t size);

/* Create an unfitted spend model. Errors as cvm_clv_new(). */
CVM_API cvm_status cvm_spend_new(cvm_spend **out, const cvm_model_options *opts);
CVM_API void cvm_spend_free(cvm_spend *s);
CVM_API const char *cvm_spend_errmsg(const cvm_spend *s);

/* Fit p, q, v to x (repeat purchases) and m (their mean value). Rows with
 * x = 0 carry no spend information and are skipped. Errors: CVM_E_INVALID
 * (NULL, n = 0, x negative or not an integer, m negative or not finite, m = 0
 * with x > 0, no row with x > 0, bad weight; the message names the row),
 * CVM_E_ABI, CVM_E_NOMEM, CVM_E_NOT_CONVERGED (as for cvm_clv_fit). */
CVM_API cvm_status cvm_spend_fit(cvm_spend *s, const double *x, const double *m,
                                 const double *weights, size_t n, const cvm_fit_options *opts);

/* Parameters p, q, v (n = 3) and standard errors (may be NULL). */
CVM_API cvm_status cvm_spend_params(const cvm_spend *s, double *params, double *stderrs, size_t n);
CVM_API cvm_status cvm_spend_set_params(cvm_spend *s, const double *params, size_t n);
CVM_API cvm_status cvm_spend_info(const cvm_spend *s, cvm_fit_info *info);

/* Conditional expected mean value per purchase, E[M | x, m]; for x = 0 the
 * population mean p v / (q - 1) (CVM_E_RANGE if q <= 1). */
CVM_API cvm_status cvm_spend_expected(const cvm_spend *s, const double *x, const double *m,
                                      size_t n, double *out, char *errbuf, size_t errlen);

CVM_API cvm_status cvm_spend_save(cvm_spend *s, const char *path);
CVM_API cvm_status cvm_spend_load(cvm_spend **out, const char *path, const cvm_model_options *opts,
                                  char *errbuf, size_t errlen);

/* ==== Customer lifetime value =========================================== */

/* Discounted cash flow settings. Times are in the model's unit: with a model
 * fitted in weeks, a monthly discount period is period_length = 4.348. */
typedef struct cvm_value_options {
    size_t size;          /* sizeof(cvm_value_options) */
    int32_t periods;      /* discounting periods in the horizon, 1..100000 (default 12) */
    int32_t reserved;     /* must be 0 */
    double period_length; /* length of one period in model time units (default 1) */
    double discount_rate; /* per period (default 0.01) */
    double margin;        /* share of revenue kept as profit (default 1) */
} cvm_value_options;

#define CVM_VALUE_OPTIONS_INIT { sizeof(cvm_value_options), 12, 0, 1.0, 0.01, 1.0 }

/* Fill `opts` with the defaults. Returns CVM_E_ABI for an unknown `size`. */
CVM_API cvm_status cvm_value_options_init(cvm_value_options *opts, size_t size);

/* Customer lifetime value, as lifetimes' customer_lifetime_value():
 * CLV = margin * value * sum_{k=1..periods} (E[X(T, T + k L)] - E[X(T, T + (k-1) L)])
 * / (1 + discount_rate)^k, where L = period_length and value is the spend
 * model's E[M | x, monetary] (or `monetary` itself when `spend` is NULL).
 * Errors as for predictions, plus bad options (periods not in 1..100000, period_length
 * <= 0, discount_rate <= -1, margin not finite) and CVM_E_ABI. */
CVM_API cvm_status cvm_clv_value(const cvm_clv *m, const cvm_spend *spend,
                                 const cvm_value_options *opts, const double *x,
                                 const double *t_x, const double *T, const double *monetary,
                                 size_t n, double *out, char *errbuf, size_t errlen);

/* Score customers in one pass, sharing the work between outputs and between
 * customers with the same (x, T): P(alive), conditional expected purchases
 * over `horizon`, expected value per purchase (the spend model's E[M | x,
 * monetary], or `monetary` when `spend` is NULL) and CLV as cvm_clv_value().
 * Any output may be NULL; `monetary` (and `spend`) are needed only for
 * `expected_value` and `clv`, `value_opts` (NULL: defaults) only for `clv`.
 * Errors as for cvm_clv_value(). */
CVM_API cvm_status cvm_clv_score(const cvm_clv *m, const cvm_spend *spend, double horizon,
                                 const cvm_value_options *value_opts, const double *x,
                                 const double *t_x, const double *T, const double *monetary,
                                 size_t n, double *p_alive, double *expected,
                                 double *expected_value, double *clv, char *errbuf,
                                 size_t errlen);

/* ==== Retention: shifted-beta-geometric (cvm_retention) ================= */

/* An opaque sBG contractual retention model (Fader & Hardie 2007): a cohort's
 * churn probability theta ~ Beta(alpha, beta). Threading as cvm_clv. */
typedef struct cvm_retention cvm_retention;

CVM_API cvm_status cvm_retention_new(cvm_retention **out, const cvm_model_options *opts);
CVM_API void cvm_retention_free(cvm_retention *r);
CVM_API const char *cvm_retention_errmsg(const cvm_retention *r);

/* Fit alpha, beta to one cohort: alive[0] customers at the start and alive[t]
 * still active after t periods (t = 1..n-1), non-increasing. Errors:
 * CVM_E_INVALID (NULL, n < 2, a negative, non-finite or increasing count,
 * alive[0] = 0; the message names the period), CVM_E_ABI, CVM_E_NOMEM,
 * CVM_E_NOT_CONVERGED. */
CVM_API cvm_status cvm_retention_fit(cvm_retention *r, const double *alive, size_t n,
                                     const cvm_fit_options *opts);

/* Parameters alpha, beta (n = 2) and standard errors (may be NULL). */
CVM_API cvm_status cvm_retention_params(const cvm_retention *r, double *params, double *stderrs,
                                        size_t n);
CVM_API cvm_status cvm_retention_set_params(cvm_retention *r, const double *params, size_t n);
CVM_API cvm_status cvm_retention_info(const cvm_retention *r, cvm_fit_info *info);

/* Survival S(t) = P(still active after t periods) at each t[i] >= 0. */
CVM_API cvm_status cvm_retention_survival(const cvm_retention *r, const double *t, size_t n,
                                          double *out, char *errbuf, size_t errlen);

/* Retention rate r(t) = S(t) / S(t - 1) at each t[i] >= 1. */
CVM_API cvm_status cvm_retention_rate(const cvm_retention *r, const double *t, size_t n,
                                      double *out, char *errbuf, size_t errlen);

/* Expected lifetime in periods, sum over t >= 0 of S(t) / (1 + d)^t: with
 * discount_rate d > 0 the discounted expected lifetime (DEL, Fader & Hardie
 * 2010); with d = 0 the mean lifetime, CVM_E_RANGE when it is infinite
 * (alpha <= 1). */
CVM_API cvm_status cvm_retention_lifetime(const cvm_retention *r, double discount_rate,
                                          double *out, char *errbuf, size_t errlen);

CVM_API cvm_status cvm_retention_save(cvm_retention *r, const char *path);
CVM_API cvm_status cvm_retention_load(cvm_retention **out, const char *path,
                                      const cvm_model_options *opts, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
