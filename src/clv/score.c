/* Scoring many customers at once: P(alive) per customer, and the parts that
 * depend only on (x, T) — expected purchases of a live customer, discounted
 * for CLV — once per distinct (x, T), kept in a hash table. Real summaries
 * have few distinct (x, T) (x is small, T takes one value per acquisition
 * day), so the special functions run a few thousand times for a million
 * customers. The table never evicts: a CLV costs a dozen hypergeometric
 * series, so recomputing a pair that a collision pushed out would cost more
 * than everything else. Past TABLE_MAX_BITS it stops growing and further
 * pairs are computed per row. */
#include "clv/clv_int.h"

#include <math.h>
#include <string.h>

#define TABLE_MIN_BITS 12 /* at the start, unless the rows need fewer */
#define TABLE_MAX_BITS 18 /* 16 MiB of 64-byte slots */
#define K_BITS 12

typedef struct cache_slot {
    double x, T; /* key; x = -1 marks an empty slot */
    double alive; /* expected purchases over the horizon if alive at T */
    double disc;  /* discounted purchases over the CLV periods if alive at T */
    double g, h;  /* P(alive) split (cvm__model_ops.alive_gh) */
    double pad[2]; /* one slot, one cache line */
} cache_slot;

typedef struct k_slot {
    double t_x, k; /* t_x = -1 marks an empty slot */
} k_slot;

typedef struct scorer {
    const cvm_clv *m;
    const cvm_spend *spend;
    cvm_value_options value;
    double horizon;
    int want_alive, want_disc, split;
    cache_slot *cache; /* open addressing, linear probing; x = -1: empty */
    void *cache_block; /* allocation holding `cache`, aligned to 64 bytes */
    size_t bits, used;
    k_slot *kcache;
} scorer;

static uint64_t hash_of(double x, double T)
{
    uint64_t a = (cvm__key_bits(x) * 0x9E3779B97F4A7C15u) ^ cvm__key_bits(T);
    a ^= a >> 31;
    a *= 0xC2B2AE3D27D4EB4Fu;
    return a ^ (a >> 29);
}

static cvm_status table_alloc(scorer *s, size_t bits)
{
    size_t i, n = (size_t)1 << bits;
    unsigned char *block = cvm__alloc(&s->m->alloc, n * sizeof(cache_slot) + 64);
    cache_slot *slots;
    if (block == NULL) {
        return CVM_E_NOMEM;
    }
    slots = (cache_slot *)(void *)(block + (64 - (uintptr_t)block % 64) % 64);
    for (i = 0; i < n; i++) {
        slots[i].x = -1;
    }
    s->cache = slots;
    s->cache_block = block;
    s->bits = bits;
    return CVM_OK;
}

static cache_slot *probe(cache_slot *slots, size_t bits, double x, double T)
{
    size_t mask = ((size_t)1 << bits) - 1, i = (size_t)(hash_of(x, T) >> (64 - bits));
    while (slots[i].x != -1 && (slots[i].x != x || slots[i].T != T)) {
        i = (i + 1) & mask;
    }
    return &slots[i];
}

/* Double the table; CVM_E_NOMEM leaves it as it was. */
static cvm_status table_grow(scorer *s)
{
    cache_slot *old = s->cache;
    void *old_block = s->cache_block;
    size_t i, n = (size_t)1 << s->bits;
    cvm_status st = table_alloc(s, s->bits + 1);
    if (st != CVM_OK) {
        return st;
    }
    for (i = 0; i < n; i++) {
        if (old[i].x != -1) {
            *probe(s->cache, s->bits, old[i].x, old[i].T) = old[i];
        }
    }
    cvm__free(&s->m->alloc, old_block);
    return CVM_OK;
}

static void fill(const scorer *s, cache_slot *c, double x, double T)
{
    const double *p = s->m->fit.params;
    c->x = x;
    c->T = T;
    c->alive = s->want_alive ? s->m->ops->expected_alive(p, s->horizon, x, T) : 0;
    c->disc = s->want_disc ? cvm__discounted_alive(s->m->ops, p, &s->value, x, T) : 0;
    if (s->split) {
        s->m->ops->alive_gh(p, x, T, &c->g, &c->h);
    }
}

static double k_of(const scorer *s, double t_x)
{
    k_slot *c = &s->kcache[(cvm__key_bits(t_x) * 0x9E3779B97F4A7C15u) >> (64 - K_BITS)];
    if (c->t_x != t_x) {
        c->t_x = t_x;
        c->k = s->m->ops->alive_k(s->m->fit.params, t_x);
    }
    return c->k;
}

/* The pair's slot, filled on first sight; `spare` when the table is full
 * at its cap. Keeps the load at most 1/2. */
static cvm_status lookup(scorer *s, double x, double T, cache_slot *spare,
                         const cache_slot **out)
{
    cache_slot *c = probe(s->cache, s->bits, x, T);
    if (c->x == -1) {
        if (2 * (s->used + 1) > (size_t)1 << s->bits) {
            if (s->bits == TABLE_MAX_BITS) {
                c = spare;
            } else if (table_grow(s) != CVM_OK) {
                return CVM_E_NOMEM;
            } else {
                c = probe(s->cache, s->bits, x, T);
            }
        }
        fill(s, c, x, T);
        s->used += c != spare;
    }
    *out = c;
    return CVM_OK;
}

static cvm_status spend_value(const scorer *s, size_t i, double x, double monetary, double *v,
                              char *err, size_t errlen)
{
    if (!isfinite(monetary) || monetary < 0) {
        return cvm__errf(err, errlen, CVM_E_INVALID,
                         "row %zu: monetary value %g is not finite and >= 0", i + 1, monetary);
    }
    *v = s->spend ? cvm__gg_expected(s->spend->fit.params, x, monetary) : monetary;
    if (!isfinite(*v) || *v < 0) {
        return cvm__errf(err, errlen, CVM_E_RANGE,
                         "row %zu: expected spend cannot be represented (Gamma-Gamma q <= 1?)",
                         i + 1);
    }
    return CVM_OK;
}

static cvm_status finite_out(double v, size_t i, const char *what, char *err, size_t errlen)
{
    return isfinite(v) ? CVM_OK
                       : cvm__errf(err, errlen, CVM_E_RANGE, "row %zu: %s cannot be represented",
                                   i + 1, what);
}

typedef struct outputs {
    double *p_alive, *expected, *value, *clv;
} outputs;

static cvm_status score_row(scorer *s, size_t i, double x, double t_x, double T,
                            const double *monetary, const outputs *o, char *err, size_t errlen)
{
    double pa, v = 0;
    cache_slot spare;
    const cache_slot *c = NULL;
    cvm_status st = cvm__row_ok_fast(s->m->ops, x, t_x, T)
                        ? CVM_OK
                        : cvm__check_row(s->m->ops, i, x, t_x, T, err, errlen);
    if (st == CVM_OK && s->cache != NULL) {
        st = lookup(s, x, T, &spare, &c);
        if (st != CVM_OK) {
            return cvm__errf(err, errlen, st, "scoring: out of memory");
        }
    }
    if (st != CVM_OK) {
        return st;
    }
    pa = s->split && -c->h <= CVM__ALIVE_SPLIT_MAX
             ? cvm__alive_odds(c->g, c->h, k_of(s, t_x))
             : s->m->ops->p_alive(s->m->fit.params, x, t_x, T);
    st = finite_out(pa, i, "P(alive)", err, errlen);
    if (st == CVM_OK && (o->value || o->clv)) {
        st = spend_value(s, i, x, monetary[i], &v, err, errlen);
    }
    if (st != CVM_OK) {
        return st;
    }
    if (o->p_alive) {
        o->p_alive[i] = pa;
    }
    if (o->expected) {
        o->expected[i] = pa * c->alive;
        st = finite_out(o->expected[i], i, "the expected number of purchases", err, errlen);
    }
    if (o->value) {
        o->value[i] = v;
    }
    if (o->clv && st == CVM_OK) {
        o->clv[i] = s->value.margin * v * pa * c->disc;
        st = finite_out(o->clv[i], i, "CLV", err, errlen);
    }
    return st;
}

static cvm_status setup(scorer *s, const cvm_clv *m, const cvm_spend *spend, double horizon,
                        const cvm_value_options *vo, const outputs *o, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->m = m;
    s->spend = spend;
    s->horizon = horizon;
    s->want_alive = o->expected != NULL;
    s->want_disc = o->clv != NULL;
    /* P(alive) from cached parts; a caller wanting only P(alive) of a few
     * rows still gains, as the caches are small */
    s->split = m->ops->alive_gh != NULL && m->ops->alive_k != NULL &&
               (o->p_alive || o->expected || o->clv);
    if (!m->fit.fitted) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "the %s model is not fitted", m->ops->title);
    }
    if (spend != NULL && !spend->fit.fitted && (o->value || o->clv)) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "the spend model is not fitted");
    }
    if (s->want_alive && (!isfinite(horizon) || horizon < 0 ||
                          (m->ops->discrete && horizon != floor(horizon)))) {
        return cvm__errf(err, errlen, CVM_E_INVALID,
                         "horizon %g is not finite, >= 0 (and whole for %s)", horizon,
                         m->ops->title);
    }
    return cvm__value_options(&s->value, vo, err, errlen);
}

/* The tables, when some output needs them; -1 keys mark empty slots (x,
 * t_x >= 0 in every checked row). The pair table starts no larger than n
 * rows can fill to half: a caller scoring one row at a time would
 * otherwise set up 256 KiB per call (the robustness sweep's per-row calls
 * spent most of their time there). */
static cvm_status cache_alloc(scorer *s, size_t n)
{
    size_t i, bits = 4;
    if (!s->want_alive && !s->want_disc && !s->split) {
        return CVM_OK;
    }
    while (bits < TABLE_MIN_BITS && ((size_t)1 << bits) < 2 * n) {
        bits++;
    }
    if (table_alloc(s, bits) != CVM_OK) {
        return CVM_E_NOMEM;
    }
    if (s->split) {
        s->kcache = cvm__alloc(&s->m->alloc, sizeof(k_slot) << K_BITS);
        if (s->kcache == NULL) {
            return CVM_E_NOMEM;
        }
        for (i = 0; i < (size_t)1 << K_BITS; i++) {
            s->kcache[i].t_x = -1;
        }
    }
    return CVM_OK;
}

static cvm_status score(const cvm_clv *m, const cvm_spend *spend, double horizon,
                        const cvm_value_options *vo, const double *x, const double *t_x,
                        const double *T, const double *monetary, size_t n, const outputs *o,
                        char *err, size_t errlen)
{
    scorer s;
    size_t i;
    cvm_status st;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (m == NULL || x == NULL || t_x == NULL || T == NULL ||
        ((o->value || o->clv) && monetary == NULL)) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "a required pointer is NULL");
    }
    st = setup(&s, m, spend, horizon, vo, o, err, errlen);
    if (st != CVM_OK) {
        return st;
    }
    st = cache_alloc(&s, n);
    if (st != CVM_OK) {
        st = cvm__errf(err, errlen, st, "scoring: out of memory");
    }
    for (i = 0; i < n && st == CVM_OK; i++) {
        st = score_row(&s, i, x[i], t_x[i], T[i], monetary, o, err, errlen);
    }
    cvm__free(&m->alloc, s.cache_block);
    cvm__free(&m->alloc, s.kcache);
    return st;
}

cvm_status cvm_clv_score(const cvm_clv *m, const cvm_spend *spend, double horizon,
                         const cvm_value_options *value_opts, const double *x, const double *t_x,
                         const double *T, const double *monetary, size_t n, double *p_alive,
                         double *expected, double *expected_value, double *clv, char *errbuf,
                         size_t errlen)
{
    outputs o;
    o.p_alive = p_alive;
    o.expected = expected;
    o.value = expected_value;
    o.clv = clv;
    return score(m, spend, horizon, value_opts, x, t_x, T, monetary, n, &o, errbuf, errlen);
}

cvm_status cvm_clv_expected(const cvm_clv *m, double t, const double *x, const double *t_x,
                            const double *T, size_t n, double *out, char *errbuf, size_t errlen)
{
    if (out == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "a required pointer is NULL");
    }
    return cvm_clv_score(m, NULL, t, NULL, x, t_x, T, NULL, n, NULL, out, NULL, NULL, errbuf,
                         errlen);
}

cvm_status cvm_clv_value(const cvm_clv *m, const cvm_spend *spend, const cvm_value_options *opts,
                         const double *x, const double *t_x, const double *T,
                         const double *monetary, size_t n, double *out, char *errbuf,
                         size_t errlen)
{
    if (out == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "a required pointer is NULL");
    }
    return cvm_clv_score(m, spend, 0, opts, x, t_x, T, monetary, n, NULL, NULL, NULL, out, errbuf,
                         errlen);
}
