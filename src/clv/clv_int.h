/* The CLV module's insides: a transaction model kind is a table of
 * functions (cvm__model_ops); one handle type, one fitting driver and one
 * set of prediction loops serve them all. */
#ifndef CVM_CLV_INT_H
#define CVM_CLV_INT_H

#include "core/core_int.h"
#include "cvm/clv.h"
#include "math/math_int.h"

#include <math.h>
#include <string.h>

#define CVM__CLV_MAXP 4

/* Distinct customer rows with their weights, as columns: what likelihoods
 * are summed over. */
typedef struct cvm__rows {
    const double *x;
    const double *t_x;
    const double *T;
    const double *w; /* never NULL here */
    size_t n;
} cvm__rows;

/* One transaction model kind. Every function takes the natural parameters
 * (all > 0) in the literature's order and must be safe to call from many
 * threads at once. Per-customer functions may return a non-finite value when
 * the result is not representable; the callers turn that into CVM_E_RANGE. */
typedef struct cvm__model_ops {
    const char *name;                /* "bgnbd": the CLI and snapshot name */
    const char *title;               /* "BG/NBD": for reports */
    const char *const *param_names;  /* CVM__CLV_MAXP names */
    int discrete;                    /* 1: x, t_x, T are integers (BG/BB) */
    int needs_tx;                    /* 1: x > 0 requires t_x > 0 */
    /* Starting points for the optimiser: up to `max` rows of 4, from the
     * data; returns how many were written. */
    size_t (*starts)(const cvm__rows *d, double *p, size_t max);
    /* Sum of w_i * log L_i and, when grad is not NULL, its gradient in the
     * natural parameters. */
    double (*loglik)(const double *p, const cvm__rows *d, double *grad);
    /* log L of one customer. */
    double (*row_loglik)(const double *p, double x, double t_x, double T);
    double (*p_alive)(const double *p, double x, double t_x, double T);
    /* E[X(T, T + t) | alive at T, x, T]: expected purchases in the next t of
     * a customer known to be alive at T. The conditional expectation given
     * the history is p_alive * expected_alive (true of every BTYD model), and
     * expected_alive does not depend on t_x, so scoring many customers
     * computes it once per distinct (x, T). (BG/BB: alive at T + 1, as its
     * p_alive.) */
    double (*expected_alive)(const double *p, double t, double x, double T);
    /* E[X(t)] for a new customer. */
    double (*expected_new)(const double *p, double t);
    /* P(X(t) = k) for a new customer; NULL where the literature has none. */
    double (*prob_count)(const double *p, double t, double k);
    /* Optional (NULL where P(alive) does not split): P(alive) =
     * cvm__alive_odds(g, h, k) with g, h from (x, T) and k from t_x, so that
     * scoring caches them and spends one exp per customer. p_alive must
     * compute exactly this, so both paths agree bit for bit. */
    void (*alive_gh)(const double *p, double x, double T, double *g, double *h);
    double (*alive_k)(const double *p, double t_x);
} cvm__model_ops;

/* P(alive) = 1 / (1 + exp(g + h k)); exp overflows to +inf for dead-certain
 * customers, which gives 0, and g = -inf gives 1. */
static inline double cvm__alive_odds(double g, double h, double k)
{
    return 1.0 / (1.0 + exp(g + h * k));
}

extern const cvm__model_ops cvm__bgnbd_ops;
extern const cvm__model_ops cvm__pareto_ops;
extern const cvm__model_ops cvm__mbgnbd_ops;
extern const cvm__model_ops cvm__bgbb_ops;

/* The table of a kind, or NULL. */
const cvm__model_ops *cvm__model_ops_of(int32_t kind);

/* State a fitted model shares with spend and retention models. */
typedef struct cvm__fitstate {
    double params[CVM__MLE_MAXP];
    double stderrs[CVM__MLE_MAXP];
    double loglik;
    double weight;
    uint64_t rows;
    uint64_t patterns;
    int fitted;
    int converged;
    int iterations;
    int has_stderr;
} cvm__fitstate;

struct cvm_clv {
    cvm_allocator alloc;
    const cvm__model_ops *ops;
    int32_t kind;
    cvm__fitstate fit;
    char errmsg[CVM__ERRMSG_LEN];
};

struct cvm_spend {
    cvm_allocator alloc;
    cvm__fitstate fit;
    char errmsg[CVM__ERRMSG_LEN];
};

struct cvm_retention {
    cvm_allocator alloc;
    cvm__fitstate fit;
    char errmsg[CVM__ERRMSG_LEN];
};

/* ---- shared helpers (fitcommon.c) ------------------------------------- */

/* Copy a cvm_fit_info out of a fit state (caller's size rules). */
cvm_status cvm__fit_info(const cvm__fitstate *f, cvm_fit_info *info);
/* Copy params/stderrs out (n must equal np; the model must be fitted). */
cvm_status cvm__fit_params(const cvm__fitstate *f, size_t np, double *params, double *stderrs,
                           size_t n);
/* Set params by hand: each finite and > 0. Writes a message to `err`. */
cvm_status cvm__fit_set(cvm__fitstate *f, size_t np, const double *params, size_t n, char *err,
                        size_t errlen);
/* Run the MLE, store the outcome in `f` (on failure: unfitted, previous
 * parameters kept) and write a message on failure. */
cvm_status cvm__fit_run(cvm__fitstate *f, const cvm__mle_problem *prob, const char *what,
                        char *err, size_t errlen);
/* Fill `opts` defaults and check them (CVM_E_ABI/CVM_E_INVALID). */
cvm_status cvm__fit_options(cvm_fit_options *dst, const cvm_fit_options *src, size_t np,
                            char *err, size_t errlen);
/* Save/load a fit state as a snapshot of `kind` with a model name. */
cvm_status cvm__fit_save(const cvm__fitstate *f, const cvm_allocator *a, uint32_t kind,
                         const char *name, size_t np, const char *path, char *err,
                         size_t errlen);
cvm_status cvm__fit_load(cvm__fitstate *f, const cvm_allocator *a, uint32_t kind, char *name,
                         size_t namelen, size_t np, const char *path, char *err, size_t errlen);

/* Input limits, checked with the rows: counts above 2^52 are not whole
 * numbers a double can step through, and a discrete model's sums run once
 * per opportunity. */
#define CVM__MAX_COUNT 4503599627370496.0 /* 2^52 */
#define CVM__MAX_OPPORTUNITIES 100000.0
/* Above this r + x, P(alive) of the BG/NBD family is computed from log1p of
 * the time ratio rather than the cached split, whose two logs would cancel. */
#define CVM__ALIVE_SPLIT_MAX 1e6

/* ---- transaction model rows (fit.c) ------------------------------------ */

/* Check one customer row (x, t_x, T) for `ops`; on failure the message names
 * row `i` (0-based, printed 1-based) and the problem: CVM_E_INVALID. */
cvm_status cvm__check_row(const cvm__model_ops *ops, size_t i, double x, double t_x, double T,
                          char *err, size_t errlen);

/* The common case of cvm__check_row() in a few comparisons, for loops over
 * millions of rows: a valid continuous-time row (NaN fails every test).
 * Rows it does not pass go through cvm__check_row(), which also words the
 * message. */
static inline int cvm__row_ok_fast(const cvm__model_ops *ops, double x, double t_x, double T)
{
    return !ops->discrete && x >= 0 && x <= CVM__MAX_COUNT && x == (double)(int64_t)x &&
           t_x >= 0 && t_x <= T && T >= 0 && T <= 1.7976931348623157e308 &&
           (x == 0) == (t_x == 0);
}

/* The bits of a double as a hash key; -0 and +0 are one key. */
static inline uint64_t cvm__key_bits(double v)
{
    uint64_t u;
    v += 0.0;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* E[X(T, T + t) | x, t_x, T] = P(alive) * E[X(T, T + t) | alive]. */
static inline double cvm__cond_expected(const cvm__model_ops *ops, const double *p, double t,
                                        double x, double t_x, double T)
{
    return ops->p_alive(p, x, t_x, T) * ops->expected_alive(p, t, x, T);
}

/* ---- value options (value.c) ------------------------------------------ */

/* Defaults, size and range checks of value options; message on failure. */
cvm_status cvm__value_options(cvm_value_options *o, const cvm_value_options *src, char *err,
                              size_t errlen);
/* Discounted expected purchases over the horizon of a customer alive at T
 * (multiply by P(alive) and the value per purchase for CLV). */
double cvm__discounted_alive(const cvm__model_ops *ops, const double *p,
                             const cvm_value_options *o, double x, double T);

/* ---- handles of the spend and retention models (fitcommon.c) ---------- */

/* A zeroed handle of `size` bytes whose first member is its cvm_allocator,
 * taken from `opts` (NULL: libc). CVM_E_ABI, CVM_E_INVALID, CVM_E_NOMEM. */
cvm_status cvm__model_new(void **out, size_t size, const cvm_model_options *opts);
/* Free such a handle (NULL is a no-op). */
void cvm__model_free(void *h);
/* A new handle (as cvm__model_new) whose cvm__fitstate, `fit_offset` bytes
 * in, holds the fit saved in a snapshot of `kind` that must be model `name`.
 * On failure *out is NULL and `errbuf` names the file and problem. */
cvm_status cvm__model_load(void **out, size_t size, size_t fit_offset,
                           const cvm_model_options *opts, uint32_t kind, const char *name,
                           size_t np, const char *path, char *errbuf, size_t errlen);

/* Snapshot kinds (customers are 1). */
#define CVM__SNAP_CLV 2u
#define CVM__SNAP_SPEND 3u
#define CVM__SNAP_RETENTION 4u

/* ---- Gamma-Gamma (spend_model.c) -------------------------------------- */

/* Total weighted log-likelihood of mean spends m given x (x > 0 rows only)
 * and its gradient in (p, q, v). */
double cvm__gg_loglik(const double *p, const double *x, const double *m, const double *w,
                      size_t n, double *grad);
/* E[M | x, m]. */
double cvm__gg_expected(const double *p, double x, double m);

/* ---- sBG (retention_model.c) ------------------------------------------ */

/* Log-likelihood of survivor counts alive[0..n-1] and its gradient. */
double cvm__sbg_loglik(const double *p, const double *alive, size_t n, double *grad);
double cvm__sbg_survival(const double *p, double t);
double cvm__sbg_rate(const double *p, double t);
/* sum_{t>=0} S(t)/(1+d)^t; +inf when infinite. */
double cvm__sbg_lifetime(const double *p, double d);

/* ---- BG/NBD family (model_bgnbd.c), shared with model_mbgnbd.c -------- */

/* The BG/NBD (mbg = 0) and MBG/NBD (mbg = 1) functions of cvm__model_ops
 * with the model as an argument; the two tables call them. */
double cvm__bgnbd_family_loglik(const double *p, const cvm__rows *d, double *grad, int mbg);
double cvm__bgnbd_family_row_loglik(const double *p, double x, double t_x, double T, int mbg);
double cvm__bgnbd_family_p_alive(const double *p, double x, double t_x, double T, int mbg);
double cvm__bgnbd_family_expected_alive(const double *p, double t, double x, double T, int mbg);
double cvm__bgnbd_family_expected_new(const double *p, double t, int mbg);
double cvm__bgnbd_family_prob_count(const double *p, double t, double k, int mbg);
size_t cvm__bgnbd_family_starts(const cvm__rows *d, double *p, size_t max);
/* The split of P(alive) (see cvm__model_ops.alive_gh): g = log(a / (b + x +
 * mbg - 1)) + (r + x) log(alpha + T) (-inf for BG/NBD x = 0), h = -(r + x),
 * k = log(alpha + t_x). */
void cvm__bgnbd_family_alive_gh(const double *p, double x, double T, int mbg, double *g,
                                double *h);
double cvm__bgnbd_alive_k(const double *p, double t_x);
/* E[(1 - (1 + p u)^-A) / p] for p ~ Beta(a, c), the expected purchases of
 * an alive customer. method 0: the best available; for tests, only one
 * path (NaN where it would be inaccurate or slow): 1 the Euler-transformed
 * series, 2 the quadrature, 3 the closed form as printed with
 * cvm__log_hyp2f1. */
double cvm__bgnbd_future(double A, double a, double c, double u, int method);

#endif
