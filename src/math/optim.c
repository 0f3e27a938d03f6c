/* Bounded minimisers for the maximum-likelihood driver: projected BFGS with
 * a backtracking line search, and Nelder-Mead as the gradient-free rescue.
 * Dimensions are tiny (CVM__MLE_MAXP), so everything lives on the stack and
 * dense n x n algebra is fine. */
#include "math/math_int.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define MAXP CVM__MLE_MAXP

/* Armijo sufficient-decrease constant. */
#define ARMIJO_C1 1e-4
/* Approximate Wolfe (Hager and Zhang): accepted once f has stopped changing
 * beyond this relative amount, when the slope along the path has flattened
 * to within [-0.9, 0.8] of the initial slope. Near the optimum a gradient of
 * 1e-8 predicts decreases of 1e-16, below the rounding of f itself, so the
 * slope is the only trustworthy signal left there. */
#define APPROX_WOLFE_EPS 1e-12
#define WOLFE_SIGMA 0.9
#define WOLFE_DELTA 0.1
#define MAX_BACKTRACKS 60
/* Largest move of one trial step in any coordinate: 1 for a steepest-descent
 * step (whose length has no scale yet), 5 for a quasi-Newton one. In log
 * parameters these are factors of e and e^5. */
#define STEP_CAP_SD 1.0
#define STEP_CAP_QN 5.0
/* The stall rule: f unchanged to this relative amount over STALL_ITERS. */
#define STALL_REL 1e-15
#define STALL_ITERS 5

typedef struct evaluator {
    const cvm__optim_problem *p;
    int evaluations;
} evaluator;

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* f at x (and grad); +inf when f or any gradient component is not finite. */
static double eval(evaluator *e, const double *x, double *grad)
{
    double v;
    size_t i;
    e->evaluations++;
    v = e->p->f(e->p->ctx, x, grad);
    if (!isfinite(v)) {
        return INFINITY;
    }
    if (grad != NULL) {
        for (i = 0; i < e->p->n; i++) {
            if (!isfinite(grad[i])) {
                return INFINITY;
            }
        }
    }
    return v;
}

/* sup-norm of x - P(x - g): the gradient, except that components pushing
 * out of the box at a bound count only as far as the box lets them go. */
static double projected_gradient_norm(const cvm__optim_problem *p, const double *x,
                                      const double *g)
{
    double m = 0.0;
    size_t i;
    for (i = 0; i < p->n; i++) {
        double v = fabs(x[i] - clampd(x[i] - g[i], p->lower[i], p->upper[i]));
        m = v > m ? v : m;
    }
    return m;
}

static double dot(size_t n, const double *a, const double *b)
{
    double s = 0.0;
    size_t i;
    for (i = 0; i < n; i++) {
        s += a[i] * b[i];
    }
    return s;
}

static void set_identity(size_t n, double h[MAXP][MAXP], double scale)
{
    size_t i, j;
    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++) {
            h[i][j] = i == j ? scale : 0.0;
        }
    }
}

/* A variable is held when it sits exactly on a bound and its gradient points
 * out of the box. Projection puts variables exactly on the bound, so an
 * exact test does not zigzag. */
static int held(const cvm__optim_problem *p, const double *x, const double *g, size_t i)
{
    return (x[i] <= p->lower[i] && g[i] > 0.0) || (x[i] >= p->upper[i] && g[i] < 0.0);
}

/* d = -H_FF g_F on the free variables, 0 on the held ones; capped so that
 * no coordinate moves more than `cap`. Returns the slope g . d. */
static double direction(const cvm__optim_problem *p, const double *x, const double *g,
                        double h[MAXP][MAXP], double cap, double *d)
{
    size_t n = p->n, i, j;
    int free_[MAXP];
    double big = 0.0;
    for (i = 0; i < n; i++) {
        free_[i] = !held(p, x, g, i);
    }
    for (i = 0; i < n; i++) {
        double s = 0.0;
        if (free_[i]) {
            for (j = 0; j < n; j++) {
                s -= free_[j] ? h[i][j] * g[j] : 0.0;
            }
        }
        d[i] = s;
        big = fabs(s) > big ? fabs(s) : big;
    }
    if (big > cap) {
        for (i = 0; i < n; i++) {
            d[i] *= cap / big;
        }
    }
    return dot(n, g, d);
}

/* Trial point P(x + t d); returns 0 when it equals x (the step vanished). */
static int trial_point(const cvm__optim_problem *p, const double *x, const double *d, double t,
                       double *xt)
{
    int moved = 0;
    size_t i;
    for (i = 0; i < p->n; i++) {
        xt[i] = clampd(x[i] + t * d[i], p->lower[i], p->upper[i]);
        moved |= xt[i] != x[i];
    }
    return moved;
}

/* Slope at the trial point along the part of d that was not clipped. */
static double path_slope(const cvm__optim_problem *p, const double *x, const double *d,
                         double t, const double *gt)
{
    double s = 0.0;
    size_t i;
    for (i = 0; i < p->n; i++) {
        double want = x[i] + t * d[i];
        if (want > p->lower[i] && want < p->upper[i]) {
            s += gt[i] * d[i];
        }
    }
    return s;
}

/* Backtracking along the projected path from (x, f, g) in direction d with
 * slope gd < 0. On success writes the accepted point, value and gradient and
 * returns 1. */
static int line_search(evaluator *e, const double *x, double f, const double *g,
                       const double *d, double gd, double *xt, double *ft, double *gt)
{
    const cvm__optim_problem *p = e->p;
    double t = 1.0;
    double flat = APPROX_WOLFE_EPS * (fabs(f) + 1.0);
    int k;
    for (k = 0; k < MAX_BACKTRACKS; k++) {
        double v, dec, s[MAXP];
        size_t i;
        if (!trial_point(p, x, d, t, xt)) {
            return 0;
        }
        v = eval(e, xt, gt);
        if (v == INFINITY) {
            t *= 0.1; /* outside the domain: retreat fast */
            continue;
        }
        for (i = 0; i < p->n; i++) {
            s[i] = xt[i] - x[i];
        }
        dec = dot(p->n, g, s); /* predicted change along the projected step */
        if (v <= f + ARMIJO_C1 * dec) {
            *ft = v;
            return 1;
        }
        if (v <= f + flat) {
            double slope = path_slope(p, x, d, t, gt);
            if (slope >= WOLFE_SIGMA * gd && slope <= (2.0 * WOLFE_DELTA - 1.0) * gd) {
                *ft = v;
                return 1;
            }
        }
        {
            /* Minimiser of the quadratic through f, gd and v, kept within
             * [0.1 t, 0.5 t] so that a bad model cannot stall or jump. */
            double denom = 2.0 * (v - f - gd * t);
            double tq = denom > 0.0 ? -gd * t * t / denom : 0.5 * t;
            t = clampd(tq, 0.1 * t, 0.5 * t);
        }
    }
    return 0;
}

/* Inverse BFGS update H+ = (I - rho s y') H (I - rho y s') + rho s s'.
 * Skipped when the curvature s'y is not safely positive (which a projected
 * or approximate-Wolfe step does not guarantee). The first accepted pair also
 * rescales the initial identity to s'y / y'y (Nocedal and Wright 6.20). */
static void bfgs_update(size_t n, double h[MAXP][MAXP], const double *s, const double *y,
                        int *scaled)
{
    double sy = dot(n, s, y), yy = dot(n, y, y), ss = dot(n, s, s);
    double hy[MAXP], yhy, rho;
    size_t i, j;
    if (!(sy > 1e-10 * sqrt(ss * yy)) || !(sy > 0.0)) {
        return;
    }
    if (!*scaled) {
        set_identity(n, h, sy / yy);
        *scaled = 1;
    }
    rho = 1.0 / sy;
    for (i = 0; i < n; i++) {
        hy[i] = 0.0;
        for (j = 0; j < n; j++) {
            hy[i] += h[i][j] * y[j];
        }
    }
    yhy = dot(n, y, hy);
    /* Expanded: H - rho (hy s' + s hy') + (rho^2 y'Hy + rho) s s'. */
    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++) {
            h[i][j] += -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
        }
    }
}

static void start_result(const cvm__optim_problem *p, const double *x0, cvm__optim_result *r)
{
    size_t i;
    memset(r, 0, sizeof *r);
    for (i = 0; i < p->n; i++) {
        r->x[i] = clampd(x0[i], p->lower[i], p->upper[i]);
    }
    r->f = INFINITY;
    r->pgnorm = NAN;
}

static int finish(cvm__optim_result *r, const evaluator *e, int status)
{
    r->evaluations = e->evaluations;
    r->status = status;
    return status;
}

int cvm__optim_bfgs(const cvm__optim_problem *p, const double *x0, cvm__optim_result *r)
{
    double h[MAXP][MAXP], g[MAXP], xt[MAXP], gt[MAXP], d[MAXP], s[MAXP], y[MAXP];
    double f, ft = 0.0, fprev;
    size_t n = p->n, i;
    int scaled = 0, fresh = 1, stall = 0;
    evaluator e;
    e.p = p;
    e.evaluations = 0;
    start_result(p, x0, r);
    f = eval(&e, r->x, g);
    if (f == INFINITY) {
        return finish(r, &e, CVM__OPT_NONFINITE);
    }
    r->f = f;
    set_identity(n, h, 1.0);
    for (;;) {
        double gd;
        r->pgnorm = projected_gradient_norm(p, r->x, g);
        if (r->pgnorm < p->gtol) {
            return finish(r, &e, CVM__OPT_CONVERGED);
        }
        if (stall >= STALL_ITERS && r->pgnorm < sqrt(p->gtol)) {
            return finish(r, &e, CVM__OPT_STALLED);
        }
        if (r->iterations >= p->max_iterations) {
            return finish(r, &e, CVM__OPT_MAX_ITER);
        }
        gd = direction(p, r->x, g, h, fresh ? STEP_CAP_SD : STEP_CAP_QN, d);
        if (!(gd < 0.0) && !fresh) {
            /* Rounding broke the approximation: start it afresh. */
            set_identity(n, h, 1.0);
            scaled = 0;
            fresh = 1;
            continue;
        }
        if (!(gd < 0.0) || !line_search(&e, r->x, f, g, d, gd, xt, &ft, gt)) {
            if (!fresh) {
                /* Retry once along steepest descent before giving up. */
                set_identity(n, h, 1.0);
                scaled = 0;
                fresh = 1;
                continue;
            }
            return finish(r, &e, CVM__OPT_LINE_SEARCH);
        }
        r->iterations++;
        for (i = 0; i < n; i++) {
            s[i] = xt[i] - r->x[i];
            y[i] = gt[i] - g[i];
        }
        bfgs_update(n, h, s, y, &scaled);
        fresh = !scaled;
        fprev = f;
        memcpy(r->x, xt, n * sizeof *xt);
        memcpy(g, gt, n * sizeof *gt);
        f = ft;
        r->f = f;
        stall = fabs(fprev - f) <= STALL_REL * fmax(1.0, fabs(f)) ? stall + 1 : 0;
    }
}

/* ---- Nelder-Mead ---------------------------------------------------------- */

typedef struct simplex {
    double v[MAXP + 1][MAXP];
    double f[MAXP + 1];
} simplex;

static void sort_simplex(simplex *sx, size_t n)
{
    size_t i, j;
    for (i = 1; i <= n; i++) {
        for (j = i; j > 0 && sx->f[j] < sx->f[j - 1]; j--) {
            double tf = sx->f[j];
            size_t k;
            sx->f[j] = sx->f[j - 1];
            sx->f[j - 1] = tf;
            /* element by element: GCC's -Warray-bounds misreads row memcpy
             * here under the sanitizers */
            for (k = 0; k < MAXP; k++) {
                double t = sx->v[j][k];
                sx->v[j][k] = sx->v[j - 1][k];
                sx->v[j - 1][k] = t;
            }
        }
    }
}

/* P(c + a (w - c)) */
static void nm_point(const cvm__optim_problem *p, const double *c, const double *w, double a,
                     double *out)
{
    size_t i;
    for (i = 0; i < p->n; i++) {
        out[i] = clampd(c[i] + a * (w[i] - c[i]), p->lower[i], p->upper[i]);
    }
}

static double simplex_diameter(const simplex *sx, size_t n)
{
    double m = 0.0;
    size_t i, k;
    for (k = 1; k <= n; k++) {
        for (i = 0; i < n; i++) {
            double v = fabs(sx->v[k][i] - sx->v[0][i]);
            m = v > m ? v : m;
        }
    }
    return m;
}

static void build_simplex(evaluator *e, simplex *sx, const double *x0, double step)
{
    const cvm__optim_problem *p = e->p;
    size_t n = p->n, k;
    memset(sx, 0, sizeof *sx);
    memcpy(sx->v[0], x0, n * sizeof *x0);
    sx->f[0] = eval(e, sx->v[0], NULL);
    for (k = 1; k <= n; k++) {
        double *v = sx->v[k];
        size_t i = k - 1;
        memcpy(v, x0, n * sizeof *x0);
        /* Step inward when the outward step would leave the box. */
        v[i] = x0[i] + step <= p->upper[i] ? x0[i] + step : x0[i] - step;
        v[i] = clampd(v[i], p->lower[i], p->upper[i]);
        sx->f[k] = eval(e, v, NULL);
    }
}

/* One simplex run: returns 1 when it collapsed, 0 at the iteration limit. */
static int nm_run(evaluator *e, simplex *sx, int *iterations)
{
    const cvm__optim_problem *p = e->p;
    size_t n = p->n, i, k;
    double dn = (double)n;
    /* Gao and Han's adaptive coefficients keep the simplex from degenerating
     * as the dimension grows; for n = 2 they are the classic 1, 2, 1/2, 1/2. */
    double alpha = 1.0, beta = 1.0 + 2.0 / dn, gamma = 0.75 - 0.5 / dn, delta = 1.0 - 1.0 / dn;
    double xtol = p->xtol > 0.0 ? p->xtol : 1e-10;
    if (n == 1) {
        beta = 2.0;
        gamma = 0.5;
        delta = 0.5;
    }
    for (;;) {
        double c[MAXP], xr[MAXP], xe[MAXP], xc[MAXP], fr, fe, fc;
        sort_simplex(sx, n);
        if (simplex_diameter(sx, n) <= xtol
            || (sx->f[n] - sx->f[0] <= 1e-14 * (fabs(sx->f[0]) + DBL_MIN) && sx->f[0] < INFINITY)) {
            return 1;
        }
        if (*iterations >= p->max_iterations) {
            return 0;
        }
        ++*iterations;
        for (i = 0; i < n; i++) {
            c[i] = 0.0;
            for (k = 0; k < n; k++) {
                c[i] += sx->v[k][i];
            }
            c[i] /= dn;
        }
        nm_point(p, c, sx->v[n], -alpha, xr);
        fr = eval(e, xr, NULL);
        if (fr < sx->f[0]) {
            nm_point(p, c, xr, beta, xe);
            fe = eval(e, xe, NULL);
            if (fe < fr) {
                memcpy(sx->v[n], xe, sizeof xe);
                sx->f[n] = fe;
            } else {
                memcpy(sx->v[n], xr, sizeof xr);
                sx->f[n] = fr;
            }
            continue;
        }
        if (fr < sx->f[n - 1]) {
            memcpy(sx->v[n], xr, sizeof xr);
            sx->f[n] = fr;
            continue;
        }
        if (fr < sx->f[n]) {
            nm_point(p, c, xr, gamma, xc); /* outside contraction */
            fc = eval(e, xc, NULL);
            if (fc <= fr) {
                memcpy(sx->v[n], xc, sizeof xc);
                sx->f[n] = fc;
                continue;
            }
        } else {
            nm_point(p, c, sx->v[n], gamma, xc); /* inside contraction */
            fc = eval(e, xc, NULL);
            if (fc < sx->f[n]) {
                memcpy(sx->v[n], xc, sizeof xc);
                sx->f[n] = fc;
                continue;
            }
        }
        for (k = 1; k <= n; k++) { /* shrink towards the best vertex */
            nm_point(p, sx->v[0], sx->v[k], delta, sx->v[k]);
            sx->f[k] = eval(e, sx->v[k], NULL);
        }
    }
}

int cvm__optim_nelder_mead(const cvm__optim_problem *p, const double *x0, double step,
                           cvm__optim_result *r)
{
    simplex sx;
    evaluator e;
    int round, collapsed = 0;
    e.p = p;
    e.evaluations = 0;
    start_result(p, x0, r);
    /* A collapsed simplex can sit away from the minimum (it lost a
     * dimension); one restart around its best vertex detects and fixes most
     * of those. */
    for (round = 0; round < 2; round++) {
        build_simplex(&e, &sx, r->x, step);
        collapsed = nm_run(&e, &sx, &r->iterations);
        sort_simplex(&sx, p->n);
        if (sx.f[0] < r->f || round == 0) {
            memcpy(r->x, sx.v[0], p->n * sizeof *r->x);
            r->f = sx.f[0];
        }
        if (!collapsed) {
            break;
        }
    }
    if (r->f == INFINITY) {
        return finish(r, &e, CVM__OPT_NONFINITE);
    }
    return finish(r, &e, collapsed ? CVM__OPT_CONVERGED : CVM__OPT_MAX_ITER);
}

const char *cvm__optim_status_text(int status)
{
    switch (status) {
    case CVM__OPT_CONVERGED:
        return "converged";
    case CVM__OPT_STALLED:
        return "converged (stalled)";
    case CVM__OPT_MAX_ITER:
        return "iteration limit reached";
    case CVM__OPT_LINE_SEARCH:
        return "line search failed";
    case CVM__OPT_NONFINITE:
        return "no finite value";
    default:
        return "unknown";
    }
}
