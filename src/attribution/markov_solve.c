/* Probability of absorption in the conversion state of an absorbing Markov
 * chain, over an infinite horizon (bracketing Gauss-Seidel) or within a
 * number of transitions (repeated sparse products).
 *
 * Infinite horizon. With Q the transitions among transient states and r the
 * one-step probabilities of conversion, p = Q p + r. The map T(x) = Q x + r
 * is monotone (Q >= 0), so iterating it from a subsolution (x <= T(x), e.g.
 * x = 0) gives a rising sequence of lower bounds of p, and from a
 * supersolution (x >= T(x), e.g. x = 1, as p <= 1) a falling sequence of
 * upper bounds. Their gap at step t is at most P(not absorbed within t
 * transitions), which goes to 0 because every state of the chain reaches an
 * absorbing state (each comes from a journey that ends). Gauss-Seidel
 * (updating in place) keeps both properties — each update maps a
 * sub/supersolution to a sub/supersolution — and converges faster. So
 * stopping when hi - lo <= tol at the start state bounds the error by tol
 * (up to rounding, a few ulps). Sweeping the states from the last created to
 * the first visits successors before predecessors along most journeys, so
 * an acyclic chain converges in one sweep.
 *
 * A removed state (`dead`) holds 0 in both bounds: entering it ends in null. */
#include "attribution/attribution_int.h"

#include <math.h>
#include <stddef.h>

/* Precision accepted when rounding stops the bracket from closing further. */
#define STALL_TOL 1e-9

cvm_status cvm__markov_absorb(const cvm__sparse *m, const unsigned char *dead, double tol,
                              double scale, size_t max_sweeps, double *work, double *p,
                              size_t *sweeps)
{
    const size_t n = m->n;
    const size_t *row = m->row;
    const uint32_t *col = m->col;
    const double *prob = m->prob;
    double *x = work; /* x[2i] lower bound, x[2i+1] upper bound of state i */
    size_t i, e, sweep;

    for (i = 0; i < n; i++) {
        int off = dead != NULL && dead[i];
        x[2 * i] = 0.0;
        x[2 * i + 1] = off ? 0.0 : 1.0;
    }
    x[2] = x[3] = 1.0; /* conversion */
    x[4] = x[5] = 0.0; /* null */
    for (sweep = 1; sweep <= max_sweeps; sweep++) {
        double gap, ref;
        int changed = 0;
        for (i = n; i-- > 0;) {
            double lo = 0.0, hi = 0.0;
            if ((i >= 1 && i <= 2) || (dead != NULL && dead[i])) {
                continue;
            }
            for (e = row[i]; e < row[i + 1]; e++) {
                const double q = prob[e];
                const size_t j = col[e];
                lo += q * x[2 * j];
                hi += q * x[2 * j + 1];
            }
            changed |= lo != x[2 * i] || hi != x[2 * i + 1];
            x[2 * i] = lo;
            x[2 * i + 1] = hi;
        }
        gap = x[1] - x[0];
        ref = x[0] > scale ? x[0] : scale;
        if (!(gap == gap)) {
            break; /* NaN: cannot happen with finite probabilities */
        }
        /* A sweep that changes nothing has reached rounding's fixed points:
         * the bounds are as close as doubles get them (about an ulp times the
         * expected absorption time, 4e-12 for a 20000-touch cycle); accept
         * them up to STALL_TOL relative, the documented worst case. */
        if (gap <= tol * ref || (!changed && gap <= STALL_TOL * ref)) {
            *p = 0.5 * (x[0] + x[1]);
            if (sweeps != NULL) {
                *sweeps = sweep;
            }
            return CVM_OK;
        }
        if (!changed) {
            break;
        }
    }
    *p = 0.5 * (x[0] + x[1]);
    if (sweeps != NULL) {
        *sweeps = max_sweeps;
    }
    return CVM_E_NOT_CONVERGED;
}

void cvm__markov_horizon(const cvm__sparse *m, const unsigned char *dead, size_t steps,
                         double *work, double *p)
{
    const size_t n = m->n;
    const size_t *row = m->row;
    const uint32_t *col = m->col;
    const double *prob = m->prob;
    double *v = work, *w = work + n, *t;
    size_t i, e, step;

    /* v[i] = P(conversion within `step` transitions from i). */
    for (i = 0; i < n; i++) {
        v[i] = 0.0;
    }
    v[1] = 1.0;
    w[1] = 1.0;
    w[2] = 0.0;
    for (step = 0; step < steps; step++) {
        int changed = 0;
        for (i = 0; i < n; i++) {
            double s = 0.0;
            if (i == 1 || i == 2) {
                continue;
            }
            if (dead == NULL || !dead[i]) {
                for (e = row[i]; e < row[i + 1]; e++) {
                    s += prob[e] * v[col[e]];
                }
            }
            w[i] = s;
            changed |= s != v[i];
        }
        t = v;
        v = w;
        w = t;
        if (!changed) {
            break; /* a fixed point: every later step gives the same */
        }
    }
    *p = v[0];
}

/* State elimination. W holds the transitions among the states still in the
 * chain; eliminating state k sends each i -> k -> j through k directly:
 * W[i][j] += W[i][k] W[k][j] / s_k, where s_k = sum of W[k][j] over j != k
 * (the probability of leaving k, summed rather than taken as 1 - W[k][k],
 * so nothing is subtracted and every entry stays a sum of nonnegative
 * terms). Eliminating every state but the start leaves it moving to
 * conversion or null only. States are eliminated from the last created to
 * the first; transitions into removed states go to null. */
void cvm__markov_eliminate(const cvm__sparse *m, const unsigned char *dead, double *work,
                           double *p)
{
    const size_t n = m->n;
    double *w = work;
    size_t i, j, k, e;
    double den;

    for (i = 0; i < n * n; i++) {
        w[i] = 0.0;
    }
    for (i = 0; i < n; i++) {
        if ((i >= 1 && i <= 2) || (dead != NULL && dead[i])) {
            continue;
        }
        for (e = m->row[i]; e < m->row[i + 1]; e++) {
            size_t c = m->col[e];
            if (dead != NULL && dead[c]) {
                c = 2;
            }
            w[i * n + c] += m->prob[e];
        }
    }
    for (k = n; k-- > 3;) {
        double *wk = w + k * n, s = 0.0;
        if (dead != NULL && dead[k]) {
            continue;
        }
        for (j = 1; j < k; j++) {
            s += wk[j];
        }
        for (i = 0; i < k; i++) {
            double *wi = w + i * n, f;
            if (wi[k] == 0.0) {
                continue;
            }
            f = s > 0 ? wi[k] / s : 0.0;
            wi[k] = 0.0;
            if (s > 0) {
                for (j = 1; j < k; j++) {
                    wi[j] += f * wk[j];
                }
            }
        }
    }
    den = w[1] + w[2];
    *p = den > 0 ? w[1] / den : 0.0;
}
