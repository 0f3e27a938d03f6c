/* Fitting a transaction model: check the rows, merge identical ones into
 * weighted patterns (a fit then costs per distinct row), and maximise the
 * kind's likelihood with the shared MLE driver. */
#include "clv/clv_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

cvm_status cvm__check_row(const cvm__model_ops *ops, size_t i, double x, double t_x, double T,
                          char *err, size_t errlen)
{
    const char *why = NULL;
    if (!isfinite(x) || !isfinite(t_x) || !isfinite(T)) {
        why = "a value is NaN or infinite";
    } else if (x < 0) {
        why = "x is negative";
    } else if (x != floor(x)) {
        why = "x is not a whole number of purchases";
    } else if (x > CVM__MAX_COUNT) {
        why = "x is above 2^52";
    } else if (t_x < 0) {
        why = "t_x is negative";
    } else if (T < 0 || (T == 0 && x > 0)) {
        why = "T is negative, or 0 with repeat purchases";
    } else if (t_x > T) {
        why = "t_x is after T";
    } else if (x == 0 && t_x != 0) {
        why = "t_x must be 0 when x is 0";
    } else if (ops->needs_tx && x > 0 && t_x == 0) {
        why = "x > 0 repeat purchases but t_x is 0";
    } else if (ops->discrete && (t_x != floor(t_x) || T != floor(T))) {
        why = "t_x and T must be whole numbers of opportunities";
    } else if (ops->discrete && T > CVM__MAX_OPPORTUNITIES) {
        why = "T is above 100000 opportunities";
    } else if (ops->discrete && x > t_x) {
        why = "x is larger than t_x (more transactions than opportunities)";
    }
    if (why == NULL) {
        return CVM_OK;
    }
    return cvm__errf(err, errlen, CVM_E_INVALID, "row %zu (x=%g, t_x=%g, T=%g): %s", i + 1, x,
                     t_x, T, why);
}

/* Distinct rows, as columns, with summed weights. */
typedef struct patterns {
    double *col; /* 4 * cap doubles: x, t_x, T, w */
    uint32_t *slot;
    size_t n, cap, mask;
} patterns;

static uint64_t hash3(double a, double b, double c)
{
    uint64_t h = cvm__key_bits(a) * 0x9E3779B97F4A7C15u;
    h = (h ^ (h >> 29) ^ cvm__key_bits(b)) * 0xBF58476D1CE4E5B9u;
    h = (h ^ (h >> 31) ^ cvm__key_bits(c)) * 0x94D049BB133111EBu;
    return h ^ (h >> 32);
}

static cvm_status patterns_init(patterns *p, const cvm_allocator *a, size_t n)
{
    size_t slots = 16;
    memset(p, 0, sizeof *p);
    /* slots are uint32_t indices + 1, and 2n of them must not overflow */
    if (n >= UINT32_MAX || n > SIZE_MAX / (4 * sizeof(double))) {
        return CVM_E_NOMEM;
    }
    while (slots < 2 * n) {
        slots *= 2;
    }
    p->col = cvm__alloc(a, 4 * n * sizeof(double));
    p->slot = cvm__calloc(a, slots, sizeof(uint32_t));
    p->cap = n;
    p->mask = slots - 1;
    return p->col && p->slot ? CVM_OK : CVM_E_NOMEM;
}

static void patterns_free(patterns *p, const cvm_allocator *a)
{
    cvm__free(a, p->col);
    cvm__free(a, p->slot);
}

static void patterns_add(patterns *p, double x, double t_x, double T, double w)
{
    double *cx = p->col, *ct = cx + p->cap, *cT = ct + p->cap, *cw = cT + p->cap;
    size_t h = (size_t)hash3(x, t_x, T) & p->mask;
    for (;; h = (h + 1) & p->mask) {
        uint32_t s = p->slot[h];
        if (s == 0) {
            cx[p->n] = x;
            ct[p->n] = t_x;
            cT[p->n] = T;
            cw[p->n] = w;
            p->slot[h] = (uint32_t)++p->n;
            return;
        }
        if (cx[s - 1] == x && ct[s - 1] == t_x && cT[s - 1] == T) {
            cw[s - 1] += w;
            return;
        }
    }
}

typedef struct row4 {
    double x, T, t_x, w;
} row4;

static int by_x_T_tx(const void *pa, const void *pb)
{
    const row4 *a = pa, *b = pb;
    if (a->x != b->x) {
        return a->x < b->x ? -1 : 1;
    }
    if (a->T != b->T) {
        return a->T < b->T ? -1 : 1;
    }
    return (a->t_x > b->t_x) - (a->t_x < b->t_x);
}

/* Order the distinct rows by (x, T, t_x): likelihoods memoise terms of x
 * and of (x, T), which then hit on nearly every row. */
static cvm_status patterns_sort(patterns *p, const cvm_allocator *a)
{
    double *cx = p->col, *ct = cx + p->cap, *cT = ct + p->cap, *cw = cT + p->cap;
    row4 *r = cvm__calloc(a, p->n ? p->n : 1, sizeof *r);
    size_t i;
    if (r == NULL) {
        return CVM_E_NOMEM;
    }
    for (i = 0; i < p->n; i++) {
        r[i].x = cx[i];
        r[i].T = cT[i];
        r[i].t_x = ct[i];
        r[i].w = cw[i];
    }
    qsort(r, p->n, sizeof *r, by_x_T_tx);
    for (i = 0; i < p->n; i++) {
        cx[i] = r[i].x;
        cT[i] = r[i].T;
        ct[i] = r[i].t_x;
        cw[i] = r[i].w;
    }
    cvm__free(a, r);
    return CVM_OK;
}

static cvm_status check_weight(cvm_clv *m, size_t i, double w)
{
    if (isfinite(w) && w >= 0) {
        return CVM_OK;
    }
    return cvm__errf(m->errmsg, sizeof m->errmsg, CVM_E_INVALID,
                     "row %zu: weight %g is not finite and >= 0", i + 1, w);
}

/* Check every row and merge them; the totals let us refuse data with no
 * information before optimising. */
static cvm_status collect(cvm_clv *m, patterns *p, const double *x, const double *t_x,
                          const double *T, const double *weights, size_t n, double *total,
                          double *repeats)
{
    size_t i;
    cvm_status st;
    *total = 0;
    *repeats = 0;
    for (i = 0; i < n; i++) {
        double w = weights ? weights[i] : 1.0;
        st = cvm__check_row(m->ops, i, x[i], t_x[i], T[i], m->errmsg, sizeof m->errmsg);
        if (st == CVM_OK) {
            st = check_weight(m, i, w);
        }
        if (st != CVM_OK) {
            return st;
        }
        if (w > 0) {
            patterns_add(p, x[i], t_x[i], T[i], w);
            *total += w;
            *repeats += w * x[i];
        }
    }
    return CVM_OK;
}

typedef struct objective {
    const cvm__model_ops *ops;
    cvm__rows rows;
} objective;

static double objective_loglik(void *ctx, const double *p, double *grad)
{
    const objective *o = ctx;
    return o->ops->loglik(p, &o->rows, grad);
}

/* The caller's start first, then the kind's own, up to opts->starts. */
static size_t gather_starts(const cvm__model_ops *ops, const cvm__rows *d,
                            const cvm_fit_options *o, double *starts, size_t max)
{
    size_t k = 0;
    if (o->initial != NULL) {
        memcpy(starts, o->initial, CVM__CLV_MAXP * sizeof *starts);
        k = 1;
    }
    k += ops->starts(d, starts + k * CVM__CLV_MAXP, max - k);
    return k < (size_t)o->starts ? k : (size_t)o->starts;
}

static cvm_status run(cvm_clv *m, const patterns *p, double total, const cvm_fit_options *o)
{
    enum { MAX_STARTS = 16 };
    double starts[MAX_STARTS * CVM__CLV_MAXP];
    objective obj;
    cvm__mle_problem prob;
    obj.ops = m->ops;
    obj.rows.x = p->col;
    obj.rows.t_x = p->col + p->cap;
    obj.rows.T = p->col + 2 * p->cap;
    obj.rows.w = p->col + 3 * p->cap;
    obj.rows.n = p->n;
    memset(&prob, 0, sizeof prob);
    prob.np = CVM__CLV_MAXP;
    prob.loglik = objective_loglik;
    prob.ctx = &obj;
    prob.weight = total;
    prob.penalizer = o->penalizer;
    prob.starts = starts;
    prob.nstarts = gather_starts(m->ops, &obj.rows, o, starts, MAX_STARTS);
    prob.max_iterations = o->max_iterations;
    prob.tolerance = o->tolerance;
    return cvm__fit_run(&m->fit, &prob, m->ops->title, m->errmsg, sizeof m->errmsg);
}

cvm_status cvm_clv_fit(cvm_clv *m, const double *x, const double *t_x, const double *T,
                       const double *weights, size_t n, const cvm_fit_options *opts)
{
    cvm_fit_options o;
    patterns p;
    double total, repeats;
    cvm_status st;
    if (m == NULL) {
        return CVM_E_INVALID;
    }
    m->errmsg[0] = '\0';
    if (x == NULL || t_x == NULL || T == NULL) {
        return cvm__errf(m->errmsg, sizeof m->errmsg, CVM_E_INVALID, "fit: a column is NULL");
    }
    if (n == 0) {
        return cvm__errf(m->errmsg, sizeof m->errmsg, CVM_E_INVALID, "fit: no rows (n = 0)");
    }
    st = cvm__fit_options(&o, opts, CVM__CLV_MAXP, m->errmsg, sizeof m->errmsg);
    if (st != CVM_OK) {
        return st;
    }
    st = patterns_init(&p, &m->alloc, n);
    if (st == CVM_OK) {
        st = collect(m, &p, x, t_x, T, weights, n, &total, &repeats);
    } else {
        cvm__errf(m->errmsg, sizeof m->errmsg, st,
                  "fit: out of memory for %zu rows (at most 2^32 - 2)", n);
    }
    if (st == CVM_OK && !isfinite(total)) {
        st = cvm__errf(m->errmsg, sizeof m->errmsg, CVM_E_INVALID,
                       "fit: the weights sum to infinity");
    } else if (st == CVM_OK && total <= 0) {
        st = cvm__errf(m->errmsg, sizeof m->errmsg, CVM_E_INVALID, "fit: the weights sum to 0");
    } else if (st == CVM_OK && repeats <= 0) {
        st = cvm__errf(m->errmsg, sizeof m->errmsg, CVM_E_INVALID,
                       "fit: no row has a repeat purchase (all x = 0): the %s parameters "
                       "cannot be identified", m->ops->title);
    }
    if (st == CVM_OK && patterns_sort(&p, &m->alloc) != CVM_OK) {
        st = cvm__errf(m->errmsg, sizeof m->errmsg, CVM_E_NOMEM, "fit: out of memory for %zu rows", n);
    }
    if (st == CVM_OK) {
        m->fit.rows = n;
        m->fit.patterns = p.n;
        m->fit.weight = total;
        st = run(m, &p, total, &o);
    }
    patterns_free(&p, &m->alloc);
    return st;
}
