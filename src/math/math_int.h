/* libcvm numerics: special functions in log space, the Gauss hypergeometric
 * series the Pareto/NBD needs, and maximum likelihood (bounded quasi-Newton
 * on log-parameters, Nelder-Mead fallback, Hessian standard errors).
 * Nothing here allocates or touches global state (glibc's lgamma() writes
 * `signgam`, so we carry our own). */
#ifndef CVM_MATH_INT_H
#define CVM_MATH_INT_H

#include "cvm/common.h"

#include <stddef.h>

/* ---- special functions (special.c) ------------------------------------ */

/* log Gamma(x) for x > 0, to about 1e-15 relative (thread-safe: no signgam).
 * NaN for x <= 0 or NaN. */
double cvm__lgamma(double x);
/* digamma psi(x) for x > 0. */
double cvm__digamma(double x);
/* log Beta(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b), accurate when one
 * argument is much larger than the other. */
double cvm__lbeta(double a, double b);
/* log(exp(a) + exp(b)) without overflow; -inf + -inf = -inf. */
double cvm__logaddexp(double a, double b);
/* log(exp(a) - exp(b)) for a >= b; -inf when a == b. */
double cvm__logsubexp(double a, double b);
/* log(1 + exp(x)) without overflow. */
double cvm__log1pexp(double x);
/* log of the rising factorial (a)_k = Gamma(a + k) / Gamma(a), a > 0, k >= 0. */
double cvm__lpochhammer(double a, double k);

/* psi(z + n) - psi(z), n >= 0: for whole n <= 64 the sum of 1/(z+i), exact
 * where the digamma difference would cancel; digammas otherwise. */
double cvm__digamma_diff(double z, double n);
/* [psi(b+n) - psi(b)] - [psi(a+b+n) - psi(a+b)]: for whole n <= 64 the
 * positive sum of a/((b+i)(a+b+i)). */
double cvm__digamma_diff2(double a, double b, double n);

/* ---- Gauss hypergeometric 2F1 (hyp2f1.c) ------------------------------ */

/* log 2F1(a, b; c; z) for a, b, c > 0 and 0 <= z < 1 by its power series,
 * summed in scaled form so that huge a (1e4 and more) stays finite, and the
 * partial derivatives of log 2F1 with respect to a, b, c and z in d[0..3]
 * (d may be NULL). Returns NaN if the series does not converge within its
 * term limit. */
double cvm__log_hyp2f1(double a, double b, double c, double z, double d[4]);

/* ---- maximum likelihood (optim.c, mle.c) ------------------------------ */

#define CVM__MLE_MAXP 8

/* Total (weighted) log-likelihood at natural parameters p[0..np-1] (all > 0)
 * and, when `grad` is not NULL, its gradient dLL/dp. A non-finite return
 * means the point is outside the model's domain. */
typedef double (*cvm__loglik_fn)(void *ctx, const double *p, double *grad);

typedef struct cvm__mle_problem {
    size_t np;              /* 1..CVM__MLE_MAXP */
    cvm__loglik_fn loglik;
    void *ctx;
    double weight;          /* total weight N > 0: the objective is -LL/N + penalty */
    double penalizer;       /* c >= 0: penalty c * sum p_j^2 (lifetimes' penalizer_coef) */
    const double *starts;   /* nstarts * np starting points (natural, > 0), in order */
    size_t nstarts;
    int max_iterations;     /* per start */
    double tolerance;       /* on the sup-norm of the gradient in log-parameters */
} cvm__mle_problem;

typedef struct cvm__mle_result {
    double params[CVM__MLE_MAXP];
    double stderrs[CVM__MLE_MAXP]; /* 0 when unknown */
    double loglik;                 /* total LL at params, without penalty */
    int converged;
    int has_stderr;
    int iterations;                /* summed over the starts tried */
    int evaluations;
    char detail[160];              /* why it did not converge, for messages */
} cvm__mle_result;

/* Maximise LL - N * penalty over log-parameters in [-CVM__LOG_BOUND,
 * +CVM__LOG_BOUND]: bounded BFGS with analytic gradients from each start in
 * turn, polished or rescued by Nelder-Mead, until one converges. Standard
 * errors come from the inverse Hessian of -LL (+ penalty) in the natural
 * parameters, by central differences of the analytic gradient. Returns
 * CVM_OK when a start converged (result filled), CVM_E_NOT_CONVERGED
 * otherwise (result holds the best finite point found, if any, and detail). */
cvm_status cvm__mle_fit(const cvm__mle_problem *prob, cvm__mle_result *res);

#define CVM__LOG_BOUND 23.0 /* parameters stay within [1e-10, 1e10] */

/* ---- bounded minimisers (optim.c) ------------------------------------- */

/* Objective to minimise at x[0..n-1] and, when `grad` is not NULL, its
 * gradient. A non-finite value (or gradient) counts as +inf: outside the
 * domain. */
typedef double (*cvm__objective_fn)(void *ctx, const double *x, double *grad);

typedef struct cvm__optim_problem {
    size_t n;             /* 1..CVM__MLE_MAXP */
    cvm__objective_fn f;
    void *ctx;
    const double *lower;  /* n finite bounds, lower[i] < upper[i] */
    const double *upper;
    int max_iterations;   /* >= 1 */
    double gtol;          /* BFGS: sup-norm of the projected gradient */
    double xtol;          /* Nelder-Mead: simplex diameter (0: 1e-10) */
} cvm__optim_problem;

/* How a minimiser stopped. */
#define CVM__OPT_CONVERGED 0   /* projected gradient below gtol / simplex collapsed */
#define CVM__OPT_STALLED 1     /* converged by the stall rule (see cvm__optim_bfgs) */
#define CVM__OPT_MAX_ITER 2    /* iteration limit reached */
#define CVM__OPT_LINE_SEARCH 3 /* no acceptable step along a descent direction */
#define CVM__OPT_NONFINITE 4   /* the start (or every simplex vertex) is not finite */

typedef struct cvm__optim_result {
    double x[CVM__MLE_MAXP]; /* best point found (inside the box) */
    double f;                /* f(x); +inf when nothing finite was found */
    double pgnorm;           /* sup-norm of the projected gradient at x; NaN
                                after Nelder-Mead, which has no gradient */
    int status;              /* CVM__OPT_* */
    int iterations;
    int evaluations;
} cvm__optim_result;

/* Projected BFGS on the box: the inverse-Hessian direction restricted to the
 * variables not held at a bound by their gradient, a backtracking line
 * search along the projected path (Armijo, or approximate Wolfe once f has
 * stopped changing beyond rounding), non-finite values backtracked from.
 * Converged when the sup-norm of x - P(x - grad) is below gtol; also
 * (CVM__OPT_STALLED) when f has changed by no more than 1e-15 relative over 5
 * consecutive iterations while that norm is below sqrt(gtol). Returns and
 * stores r->status. Needs the gradient on every evaluation. */
int cvm__optim_bfgs(const cvm__optim_problem *p, const double *x0, cvm__optim_result *r);

/* Nelder-Mead on the box (trial points are projected into it; adaptive
 * coefficients for the dimension), from a simplex of x0 and x0 +- step along
 * each axis, restarted once from its best vertex. Never asks for the
 * gradient. Converged when the simplex diameter falls below xtol or the
 * spread of its values below 1e-14 relative. Returns and stores r->status. */
int cvm__optim_nelder_mead(const cvm__optim_problem *p, const double *x0, double step,
                           cvm__optim_result *r);

/* "converged", "line search failed", ...: static text for a CVM__OPT_* value. */
const char *cvm__optim_status_text(int status);

#endif
