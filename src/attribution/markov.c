/* Markov chain attribution of order 1..4, with ChannelAttribution's
 * conventions (markov_model_cpp and W_markov_model_1 in its functions.cpp,
 * version 2.x):
 *
 * - States. A journey of touches c1..cm (repeats kept) becomes the windows
 *   of k consecutive touches (c1..ck), (c2..ck+1), ..., (cm-k+1..cm); a
 *   journey of fewer than k touches is one state holding all of them.
 *   Consecutive identical states are merged ("a>a>b" gives "a" then "b" at
 *   order 1, "a>a" then "a>b" at order 2; "a>a>a" is the one state "a>a").
 * - Transitions. Start -> first state -> ... -> last state, each weighted by
 *   the journey's conversions + nulls (conversions only without nulls); the
 *   last state moves to conversion with weight conversions and to null with
 *   weight nulls (not at all without nulls, so that every journey ends in
 *   a conversion and journeys without conversions drop out). Rows are
 *   normalised.
 * - Removal effect of channel c: 1 - P(conv without c) / P(conv), where
 *   removing c sends every transition into a state that holds c to null.
 *   ChannelAttribution estimates P(conv and some visited state holds c) /
 *   P(conv) by simulation — the same quantity.
 * - Credit: total conversions and total value split in proportion to the
 *   removal effects.
 * - A horizon of n transitions (max_steps = n > 0) counts a conversion only
 *   when reached within n transitions from the start, as ChannelAttribution's
 *   simulation does (its max_step = m allows m + 1 transitions; its default
 *   m is the longest journey's states + 1).
 *
 * States are found by hashing their k-gram, transitions by hashing the
 * (from, to) pair; both tables use open addressing and grow at half load. */
#include "attribution/attribution_int.h"

#include <math.h>
#include <string.h>

#define GRAM_MAX 4
#define FIRST_STATE 3u
#define TOLERANCE 1e-14
/* Chains of at most this many states are solved by dense state elimination
 * (exact whatever the mixing, n^3 / 3 per solve); larger ones iteratively. */
#define DENSE_MAX 256
/* Transitions visited by all the truncated-horizon solves of one run. */
#define HORIZON_WORK_MAX 4e9

/* A k-gram: channel + 1 for each touch, 0 past its length. */
typedef struct gram {
    uint32_t c[GRAM_MAX];
} gram;

struct cvm__chain {
    size_t n;
    size_t *row; /* n + 1 */
    uint32_t *col;
    double *prob;
    size_t *name_off; /* n + 1: name i is names[name_off[i] .. name_off[i+1]-2], NUL-terminated */
    char *names;
};

typedef struct builder {
    const cvm_allocator *a;
    cvm__vec grams;  /* gram per state; 0..2 unused */
    uint32_t *gslot; /* state id, 0 = empty (ids start at 3) */
    size_t gmask;
    cvm__vec efrom, eto; /* uint32_t per transition */
    cvm__vec ew;         /* double per transition */
    uint32_t *eslot;     /* transition index + 1, 0 = empty */
    size_t emask;
} builder;

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

static uint64_t gram_hash(const gram *g)
{
    uint64_t lo = (uint64_t)g->c[0] | ((uint64_t)g->c[1] << 32);
    uint64_t hi = (uint64_t)g->c[2] | ((uint64_t)g->c[3] << 32);
    return mix64(lo ^ mix64(hi + UINT64_C(0x9e3779b97f4a7c15)));
}

static int gram_eq(const gram *x, const gram *y)
{
    return x->c[0] == y->c[0] && x->c[1] == y->c[1] && x->c[2] == y->c[2] && x->c[3] == y->c[3];
}

/* Rebuild a table of `count` entries into 2^k slots, at most half full. */
static cvm_status grow_states(builder *b)
{
    const gram *gs = b->grams.data;
    size_t cap = b->gmask ? (b->gmask + 1) * 2 : 64, i;
    uint32_t *slots;
    if (cap > SIZE_MAX / sizeof *slots) {
        return CVM_E_NOMEM;
    }
    slots = cvm__calloc(b->a, cap, sizeof *slots);
    if (slots == NULL) {
        return CVM_E_NOMEM;
    }
    for (i = FIRST_STATE; i < b->grams.len; i++) {
        size_t h = (size_t)gram_hash(&gs[i]) & (cap - 1);
        while (slots[h] != 0) {
            h = (h + 1) & (cap - 1);
        }
        slots[h] = (uint32_t)i;
    }
    cvm__free(b->a, b->gslot);
    b->gslot = slots;
    b->gmask = cap - 1;
    return CVM_OK;
}

static cvm_status state_of(builder *b, const gram *g, uint32_t *id)
{
    size_t h;
    gram *gs;
    cvm_status st;
    if ((b->grams.len + 1) * 2 > b->gmask + 1) {
        st = grow_states(b);
        if (st != CVM_OK) {
            return st;
        }
    }
    gs = b->grams.data;
    h = (size_t)gram_hash(g) & b->gmask;
    while (b->gslot[h] != 0) {
        if (gram_eq(&gs[b->gslot[h]], g)) {
            *id = b->gslot[h];
            return CVM_OK;
        }
        h = (h + 1) & b->gmask;
    }
    if (b->grams.len >= UINT32_MAX) {
        return CVM_E_NOMEM;
    }
    st = cvm__vec_reserve(&b->grams, b->a, sizeof(gram), b->grams.len + 1);
    if (st != CVM_OK) {
        return st;
    }
    gs = b->grams.data;
    gs[b->grams.len] = *g;
    *id = (uint32_t)b->grams.len;
    b->gslot[h] = *id;
    b->grams.len++;
    return CVM_OK;
}

static uint64_t edge_hash(uint32_t from, uint32_t to)
{
    return mix64(((uint64_t)from << 32) | to);
}

static cvm_status grow_edges(builder *b)
{
    const uint32_t *fr = b->efrom.data, *to = b->eto.data;
    size_t cap = b->emask ? (b->emask + 1) * 2 : 256, i;
    uint32_t *slots;
    if (cap > SIZE_MAX / sizeof *slots) {
        return CVM_E_NOMEM;
    }
    slots = cvm__calloc(b->a, cap, sizeof *slots);
    if (slots == NULL) {
        return CVM_E_NOMEM;
    }
    for (i = 0; i < b->efrom.len; i++) {
        size_t h = (size_t)edge_hash(fr[i], to[i]) & (cap - 1);
        while (slots[h] != 0) {
            h = (h + 1) & (cap - 1);
        }
        slots[h] = (uint32_t)(i + 1);
    }
    cvm__free(b->a, b->eslot);
    b->eslot = slots;
    b->emask = cap - 1;
    return CVM_OK;
}

static cvm_status edge_add(builder *b, uint32_t from, uint32_t to, double w)
{
    size_t h, len = b->efrom.len;
    uint32_t *fr, *tt;
    cvm_status st;
    if ((len + 1) * 2 > b->emask + 1) {
        st = grow_edges(b);
        if (st != CVM_OK) {
            return st;
        }
    }
    fr = b->efrom.data;
    tt = b->eto.data;
    h = (size_t)edge_hash(from, to) & b->emask;
    while (b->eslot[h] != 0) {
        size_t e = b->eslot[h] - 1;
        if (fr[e] == from && tt[e] == to) {
            ((double *)b->ew.data)[e] += w;
            return CVM_OK;
        }
        h = (h + 1) & b->emask;
    }
    if (len >= UINT32_MAX - 1) {
        return CVM_E_NOMEM;
    }
    if ((st = cvm__vec_reserve(&b->efrom, b->a, sizeof(uint32_t), len + 1)) != CVM_OK ||
        (st = cvm__vec_reserve(&b->eto, b->a, sizeof(uint32_t), len + 1)) != CVM_OK ||
        (st = cvm__vec_reserve(&b->ew, b->a, sizeof(double), len + 1)) != CVM_OK) {
        return st;
    }
    ((uint32_t *)b->efrom.data)[len] = from;
    ((uint32_t *)b->eto.data)[len] = to;
    ((double *)b->ew.data)[len] = w;
    b->eslot[h] = (uint32_t)(len + 1);
    b->efrom.len = b->eto.len = b->ew.len = len + 1;
    return CVM_OK;
}

static void builder_free(builder *b)
{
    cvm__vec_free(&b->grams, b->a);
    cvm__vec_free(&b->efrom, b->a);
    cvm__vec_free(&b->eto, b->a);
    cvm__vec_free(&b->ew, b->a);
    cvm__free(b->a, b->gslot);
    cvm__free(b->a, b->eslot);
    b->gslot = b->eslot = NULL;
}

/* Walk every journey, creating its states and adding its transitions. */
static cvm_status build(builder *b, const cvm__journeys *j, size_t order, int use_nulls,
                        char *err, size_t errlen)
{
    static const gram none = { { 0, 0, 0, 0 } };
    size_t i, p, t;
    cvm_status st = cvm__vec_reserve(&b->grams, b->a, sizeof(gram), 64);
    if (st != CVM_OK) {
        return st;
    }
    for (i = 0; i < FIRST_STATE; i++) {
        ((gram *)b->grams.data)[i] = none;
    }
    b->grams.len = FIRST_STATE;
    for (i = 0; i < j->n; i++) {
        const size_t start = j->offset[i], len = j->offset[i + 1] - start;
        const uint32_t *ch = j->channel + start;
        const double conv = j->conversions[i];
        const double nul = use_nulls ? j->nulls[i] : 0.0;
        const double w = conv + nul;
        const size_t glen = len < order ? len : order;
        const size_t windows = len < order ? 1 : len - order + 1;
        uint32_t prev = 0, s;
        if (len == 0 || !(w > 0)) {
            continue;
        }
        for (t = 0; t < len; t++) {
            if (ch[t] >= j->nchannels) {
                return cvm__errf(err, errlen, CVM_E_INVALID,
                                 "journey %zu: channel %u out of range (%zu channels)", i,
                                 (unsigned)ch[t], j->nchannels);
            }
        }
        for (p = 0; p < windows; p++) {
            gram g = none;
            for (t = 0; t < glen; t++) {
                g.c[t] = ch[p + t] + 1;
            }
            if ((st = state_of(b, &g, &s)) != CVM_OK) {
                return st;
            }
            if (s != prev) {
                if ((st = edge_add(b, prev, s, w)) != CVM_OK) {
                    return st;
                }
                prev = s;
            }
        }
        if (conv > 0 && (st = edge_add(b, prev, 1, conv)) != CVM_OK) {
            return st;
        }
        if (nul > 0 && (st = edge_add(b, prev, 2, nul)) != CVM_OK) {
            return st;
        }
    }
    return CVM_OK;
}

void cvm__chain_free(cvm__chain *c, const cvm_allocator *a)
{
    if (c == NULL) {
        return;
    }
    cvm__free(a, c->row);
    cvm__free(a, c->col);
    cvm__free(a, c->prob);
    cvm__free(a, c->name_off);
    cvm__free(a, c->names);
    cvm__free(a, c);
}

size_t cvm__chain_states(const cvm__chain *c)
{
    return c == NULL ? 0 : c->n;
}

const char *cvm__chain_state_name(const cvm__chain *c, size_t index)
{
    if (c == NULL || index >= c->n) {
        return NULL;
    }
    return c->names + c->name_off[index];
}

void cvm__chain_matrix(const cvm__chain *c, double *out)
{
    size_t i, e, n;
    if (c == NULL || out == NULL) {
        return;
    }
    n = c->n;
    for (i = 0; i < n * n; i++) {
        out[i] = 0.0;
    }
    for (i = 0; i < n; i++) {
        for (e = c->row[i]; e < c->row[i + 1]; e++) {
            out[i * n + c->col[e]] += c->prob[e];
        }
    }
    out[1 * n + 1] = 1.0;
    out[2 * n + 2] = 1.0;
}

/* The chain from the builder: transitions grouped by state (CSR, in order of
 * first appearance) and normalised, and the state names. */
static cvm_status make_chain(const builder *b, const cvm__journeys *j, const cvm_allocator *a,
                             cvm__chain **out)
{
    static const char *const special[FIRST_STATE] = { "(start)", "(conversion)", "(null)" };
    const size_t n = b->grams.len, ne = b->efrom.len;
    const uint32_t *fr = b->efrom.data, *to = b->eto.data;
    const double *w = b->ew.data;
    const gram *gs = b->grams.data;
    cvm__chain *c = cvm__calloc(a, 1, sizeof *c);
    size_t i, e, t, bytes = 0;
    double *sum = NULL;
    if (c == NULL) {
        return CVM_E_NOMEM;
    }
    c->n = n;
    c->row = cvm__calloc(a, n + 1, sizeof *c->row);
    c->col = cvm__calloc(a, ne ? ne : 1, sizeof *c->col);
    c->prob = cvm__calloc(a, ne ? ne : 1, sizeof *c->prob);
    c->name_off = cvm__calloc(a, n + 1, sizeof *c->name_off);
    sum = cvm__calloc(a, n, sizeof *sum);
    if (c->row == NULL || c->col == NULL || c->prob == NULL || c->name_off == NULL ||
        sum == NULL) {
        goto nomem;
    }
    for (e = 0; e < ne; e++) {
        c->row[fr[e] + 1]++;
        sum[fr[e]] += w[e];
    }
    for (i = 0; i < n; i++) {
        c->row[i + 1] += c->row[i];
    }
    /* Fill using row[] as cursors (shifted back below). */
    for (e = 0; e < ne; e++) {
        size_t k = c->row[fr[e]]++;
        c->col[k] = to[e];
        c->prob[k] = w[e] / sum[fr[e]];
    }
    for (i = n; i > 0; i--) {
        c->row[i] = c->row[i - 1];
    }
    c->row[0] = 0;
    cvm__free(a, sum);
    sum = NULL;

    /* Names. */
    for (i = 0; i < n; i++) {
        c->name_off[i] = bytes;
        if (i < FIRST_STATE) {
            bytes += strlen(special[i]) + 1;
            continue;
        }
        for (t = 0; t < GRAM_MAX && gs[i].c[t] != 0; t++) {
            bytes += strlen(j->names[gs[i].c[t] - 1]) + 1; /* name and '>' or NUL */
        }
    }
    c->name_off[n] = bytes;
    c->names = cvm__alloc(a, bytes ? bytes : 1);
    if (c->names == NULL) {
        goto nomem;
    }
    for (i = 0; i < n; i++) {
        char *d = c->names + c->name_off[i];
        if (i < FIRST_STATE) {
            size_t l = strlen(special[i]);
            memcpy(d, special[i], l + 1);
            continue;
        }
        for (t = 0; t < GRAM_MAX && gs[i].c[t] != 0; t++) {
            const char *nm = j->names[gs[i].c[t] - 1];
            size_t l = strlen(nm);
            if (t > 0) {
                *d++ = '>';
            }
            memcpy(d, nm, l);
            d += l;
        }
        *d = '\0';
    }
    *out = c;
    return CVM_OK;
nomem:
    cvm__free(a, sum);
    cvm__chain_free(c, a);
    return CVM_E_NOMEM;
}

/* States holding each channel: list[off[c] .. off[c+1]-1]. */
static cvm_status channel_states(const builder *b, size_t nch, const cvm_allocator *a,
                                 size_t **off_out, uint32_t **list_out)
{
    const gram *gs = b->grams.data;
    const size_t n = b->grams.len;
    size_t *off = cvm__calloc(a, nch + 1, sizeof *off);
    uint32_t *list = NULL;
    size_t i, t, u, total = 0;
    if (off == NULL) {
        return CVM_E_NOMEM;
    }
    for (i = FIRST_STATE; i < n; i++) {
        for (t = 0; t < GRAM_MAX && gs[i].c[t] != 0; t++) {
            for (u = 0; u < t && gs[i].c[u] != gs[i].c[t]; u++) {
            }
            if (u == t) {
                off[gs[i].c[t]]++; /* channel c counted at off[c + 1] */
                total++;
            }
        }
    }
    for (i = 0; i < nch; i++) {
        off[i + 1] += off[i];
    }
    list = cvm__alloc(a, (total ? total : 1) * sizeof *list);
    if (list == NULL) {
        cvm__free(a, off);
        return CVM_E_NOMEM;
    }
    /* off[c] is the start of c's list; use it as a cursor and shift back. */
    for (i = FIRST_STATE; i < n; i++) {
        for (t = 0; t < GRAM_MAX && gs[i].c[t] != 0; t++) {
            for (u = 0; u < t && gs[i].c[u] != gs[i].c[t]; u++) {
            }
            if (u == t) {
                list[off[gs[i].c[t] - 1]++] = (uint32_t)i;
            }
        }
    }
    for (i = nch; i > 0; i--) {
        off[i] = off[i - 1];
    }
    off[0] = 0;
    *off_out = off;
    *list_out = list;
    return CVM_OK;
}

/* Sweeps allowed: about 4e9 multiply-adds, at least 1000 sweeps. */
static size_t max_sweeps(const cvm__sparse *m)
{
    size_t work = m->row[m->n] + m->n;
    size_t s = (size_t)4000000000u / (work ? work : 1);
    return s < 1000 ? 1000 : s;
}

static cvm_status solve(const cvm__sparse *m, const unsigned char *dead, size_t steps,
                        double scale, double *work, double *p, char *err, size_t errlen)
{
    cvm_status st;
    if (steps > 0) {
        cvm__markov_horizon(m, dead, steps, work, p);
        return CVM_OK;
    }
    if (m->n <= DENSE_MAX) {
        cvm__markov_eliminate(m, dead, work, p);
        return CVM_OK;
    }
    st = cvm__markov_absorb(m, dead, TOLERANCE, scale, max_sweeps(m), work, p, NULL);
    if (st == CVM_E_NOT_CONVERGED) {
        return cvm__errf(err, errlen, st,
                         "Markov chain of %zu states: P(conversion) not within %g relative "
                         "after %zu sweeps (a cycle the journeys almost never leave)",
                         m->n, TOLERANCE, max_sweeps(m));
    }
    return st;
}

cvm_status cvm__markov(const cvm__journeys *j, const cvm_attribution_run_options *o,
                       const cvm_allocator *a, cvm__credit *out, double *removal,
                       double *p_conversion, cvm__chain **chain, char *err, size_t errlen)
{
    builder b;
    cvm__chain *c = NULL;
    cvm__sparse m;
    size_t *choff = NULL, i, e, nch;
    uint32_t *chlist = NULL;
    unsigned char *dead = NULL;
    double *work = NULL, *re = NULL;
    double total_conv = 0, total_value = 0, p = 0, sum_re = 0;
    size_t steps;
    cvm_status st;

    if (chain != NULL) {
        *chain = NULL;
    }
    if (j == NULL || o == NULL || a == NULL) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "Markov: NULL argument");
    }
    if (o->order < 1 || o->order > GRAM_MAX) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "Markov order %d not in 1..%d",
                         (int)o->order, GRAM_MAX);
    }
    if (o->max_steps < 0) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "max_steps %d is negative",
                         (int)o->max_steps);
    }
    if (o->use_nulls != 0 && o->use_nulls != 1) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "use_nulls %d is not 0 or 1",
                         (int)o->use_nulls);
    }
    nch = j->nchannels;
    if (nch >= UINT32_MAX) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "too many channels");
    }
    for (i = 0; i < j->n; i++) {
        double cv = j->conversions[i], va = j->value ? j->value[i] : 0.0,
               nu = j->nulls ? j->nulls[i] : 0.0;
        if (!(cv >= 0 && va >= 0 && nu >= 0) || isinf(cv) || isinf(va) || isinf(nu)) {
            return cvm__errf(err, errlen, CVM_E_INVALID,
                             "journey %zu: conversions, value or nulls negative or not finite",
                             i);
        }
        total_conv += cv;
        total_value += va;
    }
    if (!(total_conv > 0)) {
        return cvm__errf(err, errlen, CVM_E_EMPTY, "no conversion in the journeys");
    }
    if (o->use_nulls && j->nulls == NULL) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "use_nulls without null counts");
    }

    memset(&b, 0, sizeof b);
    b.a = a;
    st = build(&b, j, (size_t)o->order, o->use_nulls, err, errlen);
    if (st == CVM_OK) {
        st = make_chain(&b, j, a, &c);
    }
    if (st == CVM_OK) {
        st = channel_states(&b, nch, a, &choff, &chlist);
    }
    if (st != CVM_OK) {
        goto done;
    }
    m.n = c->n;
    m.row = c->row;
    m.col = c->col;
    m.prob = c->prob;
    work = cvm__calloc(a, c->n <= DENSE_MAX && o->max_steps == 0 ? c->n * c->n : 2 * c->n,
                       sizeof *work);
    dead = cvm__calloc(a, c->n, 1);
    re = cvm__calloc(a, nch ? nch : 1, sizeof *re);
    if (work == NULL || dead == NULL || re == NULL) {
        st = CVM_E_NOMEM;
        goto done;
    }
    steps = (size_t)o->max_steps;
    /* a horizon costs steps sweeps over the transitions per solve, and there
     * is one solve per channel: bound it, as the exact solver bounds its sweeps */
    if ((double)steps * (double)c->row[c->n] * (double)(nch + 1) > HORIZON_WORK_MAX) {
        st = cvm__errf(err, errlen, CVM_E_INVALID,
                       "Markov: max_steps %zu is too many for %zu transitions and %zu channels "
                       "(work limit 4e9); use 0, the exact infinite horizon",
                       steps, c->row[c->n], nch);
        goto done;
    }
    st = solve(&m, NULL, steps, 0.0, work, &p, err, errlen);
    if (st != CVM_OK) {
        goto done;
    }
    if (!(p > 0)) {
        st = steps > 0 ? cvm__errf(err, errlen, CVM_E_INVALID,
                                   "Markov: no conversion is reachable within %zu transitions",
                                   steps)
                       : cvm__errf(err, errlen, CVM_E_INVALID,
                                   "Markov: no conversion is reachable");
        goto done;
    }
    for (i = 0; i < nch; i++) {
        double pc = 0;
        if (choff[i] == choff[i + 1]) {
            continue; /* the channel is in no state: no effect */
        }
        for (e = choff[i]; e < choff[i + 1]; e++) {
            dead[chlist[e]] = 1;
        }
        st = solve(&m, dead, steps, p, work, &pc, err, errlen);
        for (e = choff[i]; e < choff[i + 1]; e++) {
            dead[chlist[e]] = 0;
        }
        if (st != CVM_OK) {
            goto done;
        }
        re[i] = 1.0 - pc / p;
        if (re[i] < 0) {
            re[i] = 0; /* rounding: removing states never raises P(conversion) */
        } else if (re[i] > 1) {
            re[i] = 1;
        }
        sum_re += re[i];
    }
    for (i = 0; i < nch; i++) {
        double share = sum_re > 0 ? re[i] / sum_re : 0.0;
        if (out != NULL && out->conversions != NULL) {
            out->conversions[i] = share * total_conv;
        }
        if (out != NULL && out->value != NULL) {
            out->value[i] = share * total_value;
        }
        if (removal != NULL) {
            removal[i] = re[i];
        }
    }
    if (p_conversion != NULL) {
        *p_conversion = p;
    }
    if (chain != NULL) {
        *chain = c;
        c = NULL;
    }
done:
    if (st == CVM_E_NOMEM) {
        cvm__errf(err, errlen, st, "Markov: out of memory");
    }
    cvm__chain_free(c, a);
    cvm__free(a, choff);
    cvm__free(a, chlist);
    cvm__free(a, work);
    cvm__free(a, dead);
    cvm__free(a, re);
    builder_free(&b);
    return st;
}
