/* The maximum-likelihood driver: minimise F(z) = -LL(e^z)/N + c sum e^(2 z)
 * over log-parameters z in a box, from each start in turn, then standard
 * errors from the Hessian in the natural parameters.
 *
 * Convergence is the BFGS criterion (see cvm__optim_bfgs): the sup-norm of
 * the projected gradient of F in z below `tolerance`, or the stall rule (F
 * unchanged to 1e-15 relative over 5 iterations with that norm below
 * sqrt(tolerance)), which covers likelihoods whose rounding noise exceeds
 * tolerance-sized decreases. */
#include "core/core_int.h"
#include "math/math_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAXP CVM__MLE_MAXP
/* Nelder-Mead's first simplex edge in log-parameters (a factor of 1.65). */
#define NM_STEP 0.5
/* Relative step of the central differences for the Hessian. */
#define HESS_REL_STEP 1e-5

typedef struct objective {
    const cvm__mle_problem *prob;
    int evaluations;
} objective;

/* F(z) and dF/dz_j = -p_j dLL/dp_j / N + 2 c p_j^2 (grad may be NULL). */
static double objective_fn(void *ctx, const double *z, double *grad)
{
    objective *o = ctx;
    const cvm__mle_problem *pr = o->prob;
    double p[MAXP], dll[MAXP], ll, pen = 0.0;
    size_t j;
    o->evaluations++;
    for (j = 0; j < pr->np; j++) {
        p[j] = exp(z[j]);
        pen += p[j] * p[j];
    }
    ll = pr->loglik(pr->ctx, p, grad != NULL ? dll : NULL);
    if (!isfinite(ll)) {
        return INFINITY;
    }
    if (grad != NULL) {
        for (j = 0; j < pr->np; j++) {
            grad[j] = -p[j] * dll[j] / pr->weight + 2.0 * pr->penalizer * p[j] * p[j];
        }
    }
    return -ll / pr->weight + pr->penalizer * pen;
}

/* Gradient of -LL + N c sum p^2 in the natural parameters; 0 if not finite. */
static int natural_gradient(objective *o, const double *p, double *g)
{
    const cvm__mle_problem *pr = o->prob;
    double ll;
    size_t j;
    o->evaluations++;
    ll = pr->loglik(pr->ctx, p, g);
    if (!isfinite(ll)) {
        return 0;
    }
    for (j = 0; j < pr->np; j++) {
        g[j] = -g[j] + 2.0 * pr->weight * pr->penalizer * p[j];
        if (!isfinite(g[j])) {
            return 0;
        }
    }
    return 1;
}

/* In-place Cholesky factor (lower) of the n x n matrix a; 0 if a is not
 * (numerically) positive definite. */
static int cholesky(size_t n, double a[MAXP][MAXP])
{
    size_t i, j, k;
    for (j = 0; j < n; j++) {
        double d = a[j][j];
        for (k = 0; k < j; k++) {
            d -= a[j][k] * a[j][k];
        }
        if (!(d > 0.0) || !isfinite(d)) {
            return 0;
        }
        a[j][j] = sqrt(d);
        for (i = j + 1; i < n; i++) {
            double s = a[i][j];
            for (k = 0; k < j; k++) {
                s -= a[i][k] * a[j][k];
            }
            a[i][j] = s / a[j][j];
        }
    }
    return 1;
}

/* Diagonal of A^-1 from the Cholesky factor L of A: column j of L^-1 solved
 * by forward substitution, (A^-1)_jj = sum_i (L^-1)_ij^2. */
static void inverse_diagonal(size_t n, double l[MAXP][MAXP], double *diag)
{
    size_t i, j, k;
    for (j = 0; j < n; j++) {
        diag[j] = 0.0;
    }
    for (k = 0; k < n; k++) { /* column k of L^-1 */
        double col[MAXP];
        for (i = 0; i < n; i++) {
            double s = i == k ? 1.0 : 0.0;
            for (j = 0; j < i; j++) {
                s -= l[i][j] * col[j];
            }
            col[i] = s / l[i][i];
        }
        for (i = 0; i < n; i++) {
            diag[k] += col[i] * col[i]; /* (L^-T L^-1)_kk = sum_i (L^-1)_ik^2 */
        }
    }
}

/* Standard errors from the central-difference Hessian of the analytic
 * gradient; 1 when it is positive definite. */
static int standard_errors(objective *o, const double *p, double *se)
{
    size_t n = o->prob->np, i, j;
    double h[MAXP][MAXP], pp[MAXP], gp[MAXP], gm[MAXP], diag[MAXP];
    memcpy(pp, p, n * sizeof *p);
    for (j = 0; j < n; j++) {
        /* Divide by the distance between the rounded points, not 2 step. */
        double step = HESS_REL_STEP * p[j];
        double up = p[j] + step, down = p[j] - step;
        pp[j] = up;
        if (!natural_gradient(o, pp, gp)) {
            return 0;
        }
        pp[j] = down;
        if (!natural_gradient(o, pp, gm)) {
            return 0;
        }
        pp[j] = p[j];
        for (i = 0; i < n; i++) {
            h[i][j] = (gp[i] - gm[i]) / (up - down);
        }
    }
    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++) {
            double m = 0.5 * (h[i][j] + h[j][i]);
            h[i][j] = m;
            h[j][i] = m;
        }
    }
    if (!cholesky(n, h)) {
        return 0;
    }
    inverse_diagonal(n, h, diag);
    for (j = 0; j < n; j++) {
        if (!(diag[j] > 0.0) || !isfinite(diag[j])) {
            return 0;
        }
    }
    for (j = 0; j < n; j++) {
        se[j] = sqrt(diag[j]);
    }
    return 1;
}

/* Append to res->detail; a message that does not fit ends in "...". */
static void note(cvm__mle_result *res, const char *fmt, ...) CVM__PRINTF(2, 3);

static void note(cvm__mle_result *res, const char *fmt, ...)
{
    size_t used = strlen(res->detail), room = sizeof res->detail - used;
    va_list ap;
    int len;
    if (room <= 1) {
        return;
    }
    va_start(ap, fmt);
    len = vsnprintf(res->detail + used, room, fmt, ap);
    va_end(ap);
    if (len >= 0 && (size_t)len >= room && sizeof res->detail > 4) {
        memcpy(res->detail + sizeof res->detail - 4, "...", 4);
    }
}

typedef struct best_point {
    double z[MAXP];
    double f;
} best_point;

static void keep_best(best_point *b, const cvm__optim_result *r, size_t n)
{
    if (r->f < b->f) {
        memcpy(b->z, r->x, n * sizeof *r->x);
        b->f = r->f;
    }
}

static int is_converged(int status)
{
    return status == CVM__OPT_CONVERGED || status == CVM__OPT_STALLED;
}

/* One start: BFGS, and on a line-search or domain failure Nelder-Mead from
 * the best point followed by BFGS again to polish. Returns the status of the
 * last BFGS run; *last holds it. */
static int run_start(const cvm__optim_problem *op, const double *z0, cvm__mle_result *res,
                     best_point *best, cvm__optim_result *last)
{
    cvm__optim_result nm;
    size_t n = op->n;
    int st = cvm__optim_bfgs(op, z0, last);
    res->iterations += last->iterations;
    keep_best(best, last, n);
    if (is_converged(st) || st == CVM__OPT_MAX_ITER) {
        return st;
    }
    {
        /* Nelder-Mead iterations are cheap (one or two evaluations, no
         * gradient), and it needs more of them per dimension. */
        cvm__optim_problem nmp = *op;
        double from[MAXP];
        memcpy(from, last->f < INFINITY ? last->x : z0, n * sizeof *from);
        nmp.max_iterations = op->max_iterations * (int)n;
        cvm__optim_nelder_mead(&nmp, from, NM_STEP, &nm);
        res->iterations += nm.iterations;
        keep_best(best, &nm, n);
        if (nm.f == INFINITY) {
            return st; /* report the BFGS failure: nothing finite nearby */
        }
    }
    st = cvm__optim_bfgs(op, nm.x, last);
    res->iterations += last->iterations;
    keep_best(best, last, n);
    return st;
}

static cvm_status finish_converged(objective *o, const double *z, cvm__mle_result *res)
{
    const cvm__mle_problem *pr = o->prob;
    size_t j;
    for (j = 0; j < pr->np; j++) {
        res->params[j] = exp(z[j]);
    }
    o->evaluations++;
    res->loglik = pr->loglik(pr->ctx, res->params, NULL);
    res->converged = 1;
    res->has_stderr = standard_errors(o, res->params, res->stderrs);
    if (!res->has_stderr) {
        memset(res->stderrs, 0, sizeof res->stderrs);
    }
    res->detail[0] = '\0';
    res->evaluations = o->evaluations;
    return CVM_OK;
}

static int problem_ok(const cvm__mle_problem *pr)
{
    return pr != NULL && pr->np >= 1 && pr->np <= MAXP && pr->loglik != NULL
           && pr->weight > 0.0 && isfinite(pr->weight) && pr->penalizer >= 0.0
           && isfinite(pr->penalizer) && pr->starts != NULL && pr->nstarts >= 1
           && pr->max_iterations >= 1 && pr->tolerance > 0.0;
}

cvm_status cvm__mle_fit(const cvm__mle_problem *prob, cvm__mle_result *res)
{
    double lower[MAXP], upper[MAXP], z0[MAXP];
    cvm__optim_problem op;
    objective o;
    best_point best;
    size_t k, j, n;
    if (res == NULL) {
        return CVM_E_INVALID;
    }
    memset(res, 0, sizeof *res);
    if (!problem_ok(prob)) {
        snprintf(res->detail, sizeof res->detail, "mle: invalid problem");
        return CVM_E_INVALID;
    }
    n = prob->np;
    o.prob = prob;
    o.evaluations = 0;
    for (j = 0; j < n; j++) {
        lower[j] = -CVM__LOG_BOUND;
        upper[j] = CVM__LOG_BOUND;
    }
    memset(&op, 0, sizeof op);
    op.n = n;
    op.f = objective_fn;
    op.ctx = &o;
    op.lower = lower;
    op.upper = upper;
    op.max_iterations = prob->max_iterations;
    op.gtol = prob->tolerance;
    best.f = INFINITY;
    for (k = 0; k < prob->nstarts; k++) {
        cvm__optim_result last;
        const double *s = prob->starts + k * n;
        int st, before = res->iterations;
        for (j = 0; j < n; j++) {
            /* log of a non-positive start is NaN or -inf: clamp via the box */
            z0[j] = s[j] > 0.0 ? log(s[j]) : -CVM__LOG_BOUND;
            z0[j] = isnan(z0[j]) ? 0.0 : z0[j];
        }
        if (k == 0) {
            memcpy(best.z, z0, sizeof z0); /* the fallback if nothing is finite */
        }
        st = run_start(&op, z0, res, &best, &last);
        if (is_converged(st)) {
            return finish_converged(&o, last.x, res);
        }
        if (last.f < INFINITY) {
            double pen = 0.0;
            for (j = 0; j < n; j++) {
                pen += exp(2.0 * last.x[j]);
            }
            note(res, "%sstart %zu: %s at loglik %.10g after %d iterations (gradient %.2g)",
                 k ? "; " : "", k + 1, cvm__optim_status_text(st),
                 -(last.f - prob->penalizer * pen) * prob->weight, res->iterations - before,
                 last.pgnorm);
        } else {
            note(res, "%sstart %zu: %s", k ? "; " : "", k + 1, cvm__optim_status_text(st));
        }
    }
    for (j = 0; j < n; j++) {
        double z = best.z[j] < -CVM__LOG_BOUND ? -CVM__LOG_BOUND
                   : best.z[j] > CVM__LOG_BOUND ? CVM__LOG_BOUND : best.z[j];
        res->params[j] = exp(z);
    }
    o.evaluations++;
    res->loglik = prob->loglik(prob->ctx, res->params, NULL);
    res->evaluations = o.evaluations;
    return CVM_E_NOT_CONVERGED;
}
