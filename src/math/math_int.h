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

#endif
