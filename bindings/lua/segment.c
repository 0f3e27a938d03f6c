/* libcvm Lua 5.4 binding — segmentation: cvm.rfm, cvm.kmeans, cvm.tiers,
 * cvm.value_tiers, cvm.value_tier_assign, cvm.lifecycle, cvm.profiles. */
#include "lcvm.h"

#include <string.h>

/* ==== cvm.rfm =============================================================== */

static const char *const rfm_ties[] = {"quantile", "rank", NULL};
static const char *const rfm_maps[] = {"rfm", "rf_grid", NULL};
static const char *const rfm_columns[] = {"recency", "frequency", "monetary", NULL};

static cvm_rfm *check_rfm(lua_State *L, int idx)
{
    return (cvm_rfm *)lcvm_check(L, idx, LCVM_RFM);
}

LCVM_CLOSE(rfm_close, LCVM_RFM, cvm_rfm, cvm_rfm_free)

static int rfm_result(lua_State *L, cvm_rfm *r, cvm_status st)
{
    return lcvm_result(L, st, st == CVM_OK ? NULL : cvm_rfm_errmsg(r));
}

/* cvm.rfm{bins=5, ties="quantile"|"rank", map="rfm"|"rf_grid"} */
static int l_rfm(lua_State *L)
{
    int t = lcvm_opt_table(L, 1);
    cvm_rfm_options o;
    cvm_rfm *r = NULL;
    lcvm_handle *h;
    cvm_status st;
    cvm_rfm_options_init(&o, sizeof o);
    o.bins = (int32_t)lcvm_opt_integer(L, t, "bins", o.bins);
    o.ties = lcvm_opt_enum(L, t, "ties", rfm_ties, o.ties);
    o.map = lcvm_opt_enum(L, t, "map", rfm_maps, o.map);
    h = lcvm_new_handle(L, LCVM_RFM);
    st = cvm_rfm_new(&r, &o);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    h->p = r;
    h->bins = o.bins;
    return 1;
}

static int l_load_rfm(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char err[LCVM_ERRLEN] = "";
    cvm_rfm *r = NULL;
    lcvm_handle *h = lcvm_new_handle(L, LCVM_RFM);
    cvm_status st = cvm_rfm_load(&r, path, NULL, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    h->p = r;
    return 1;
}

static size_t rfm_rows(lua_State *L, int idx, double **r, double **f, double **m)
{
    size_t n, n2, n3;
    *r = lcvm_doubles(L, idx, &n);
    *f = lcvm_doubles(L, idx + 1, &n2);
    *m = lcvm_doubles(L, idx + 2, &n3);
    lcvm_check_len(L, n2, n, "frequency");
    lcvm_check_len(L, n3, n, "monetary");
    return n;
}

/* :fit(recency, frequency, monetary) */
static int rfm_fit(lua_State *L)
{
    lcvm_handle *h = lcvm_check_handle(L, 1, LCVM_RFM);
    cvm_rfm *rfm = (cvm_rfm *)h->p;
    double *r, *f, *m;
    size_t n = rfm_rows(L, 2, &r, &f, &m);
    cvm_status st = cvm_rfm_fit(rfm, r, f, m, n);
    if (st == CVM_OK) {
        h->n = n;
    }
    return rfm_result(L, rfm, st);
}

static int push_scores(lua_State *L, const int32_t *r, const int32_t *f, const int32_t *m, size_t n)
{
    lcvm_push_ints(L, r, n, 0);
    lcvm_push_ints(L, f, n, 0);
    lcvm_push_ints(L, m, n, 0);
    return 3;
}

/* :score(recency, frequency, monetary) -> R, F, M */
static int rfm_score(lua_State *L)
{
    cvm_rfm *rfm = check_rfm(L, 1);
    double *r, *f, *m;
    size_t n = rfm_rows(L, 2, &r, &f, &m);
    int32_t *R = lcvm_ibuffer(L, n), *F = lcvm_ibuffer(L, n), *M = lcvm_ibuffer(L, n);
    char err[LCVM_ERRLEN] = "";
    cvm_status st = cvm_rfm_score(rfm, r, f, m, n, R, F, M, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    return push_scores(L, R, F, M, n);
}

/* :fit_scores() -> R, F, M of the fitted rows */
static int rfm_fit_scores(lua_State *L)
{
    lcvm_handle *h = lcvm_check_handle(L, 1, LCVM_RFM);
    cvm_rfm *rfm = (cvm_rfm *)h->p;
    size_t n = h->n;
    int32_t *R = lcvm_ibuffer(L, n), *F = lcvm_ibuffer(L, n), *M = lcvm_ibuffer(L, n);
    cvm_status st = cvm_rfm_fit_scores(rfm, n, R, F, M);
    if (st != CVM_OK) {
        return rfm_result(L, rfm, st);
    }
    return push_scores(L, R, F, M, n);
}

/* The number of bins k: kept from cvm.rfm{}, or for a loaded handle found
 * from the size cvm_rfm_breakpoints() accepts (k - 1 for k in 2..9). */
static int32_t rfm_bins(lcvm_handle *h)
{
    double out[8];
    size_t n;
    if (h->bins > 0) {
        return h->bins;
    }
    for (n = 1; n <= 8; n++) {
        if (cvm_rfm_breakpoints((const cvm_rfm *)h->p, 0, out, n) == CVM_OK) {
            h->bins = (int32_t)n + 1;
            return h->bins;
        }
    }
    return 9;
}

/* :breakpoints(column) column "recency" | "frequency" | "monetary" */
static int rfm_breakpoints(lua_State *L)
{
    lcvm_handle *h = lcvm_check_handle(L, 1, LCVM_RFM);
    cvm_rfm *rfm = (cvm_rfm *)h->p;
    int32_t col = (int32_t)luaL_checkoption(L, 2, NULL, rfm_columns);
    double out[8];
    size_t n = (size_t)rfm_bins(h) - 1;
    cvm_status st = cvm_rfm_breakpoints(rfm, col, out, n);
    if (st != CVM_OK) {
        return rfm_result(L, rfm, st);
    }
    lcvm_push_doubles(L, out, n);
    return 1;
}

static void range_field(lua_State *L, int t, const char *key, int32_t *lo, int32_t *hi)
{
    lua_getfield(L, t, key);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return; /* keep the defaults: every score */
    }
    if (lua_isinteger(L, -1)) {
        *lo = *hi = (int32_t)lua_tointeger(L, -1);
    } else {
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        *lo = (int32_t)luaL_checkinteger(L, -2);
        *hi = (int32_t)luaL_checkinteger(L, -1);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

/* :set_rules{{name=, r={lo, hi}, f={lo, hi}, m={lo, hi}}, ...} (a missing
 * range: every score 1..k, an integer: that score only) */
static int rfm_set_rules(lua_State *L)
{
    lcvm_handle *h = lcvm_check_handle(L, 1, LCVM_RFM);
    cvm_rfm *rfm = (cvm_rfm *)h->p;
    int32_t k = rfm_bins(h);
    size_t n, i;
    cvm_rfm_rule *rules;
    luaL_checktype(L, 2, LUA_TTABLE);
    n = (size_t)lua_rawlen(L, 2);
    rules = (cvm_rfm_rule *)lua_newuserdatauv(L, (n > 0 ? n : 1) * sizeof *rules, 0);
    for (i = 0; i < n; i++) {
        int t;
        lua_rawgeti(L, 2, (lua_Integer)(i + 1));
        luaL_checktype(L, -1, LUA_TTABLE);
        t = lua_gettop(L);
        lua_getfield(L, t, "name");
        rules[i].name = luaL_checkstring(L, -1); /* held by the rules table */
        lua_pop(L, 1);
        rules[i].r_min = rules[i].f_min = rules[i].m_min = 1;
        rules[i].r_max = rules[i].f_max = rules[i].m_max = k;
        range_field(L, t, "r", &rules[i].r_min, &rules[i].r_max);
        range_field(L, t, "f", &rules[i].f_min, &rules[i].f_max);
        range_field(L, t, "m", &rules[i].m_min, &rules[i].m_max);
        lua_pop(L, 1);
    }
    return rfm_result(L, rfm, cvm_rfm_set_rules(rfm, rules, n));
}

static int rfm_segment_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)cvm_rfm_segment_count(check_rfm(L, 1)));
    return 1;
}

/* :segment_name(i) (1-based) -> name | nil */
static int rfm_segment_name(lua_State *L)
{
    cvm_rfm *rfm = check_rfm(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    const char *nm = i < 1 ? NULL : cvm_rfm_segment_name(rfm, (size_t)(i - 1));
    if (nm == NULL) {
        luaL_pushfail(L);
    } else {
        lua_pushstring(L, nm);
    }
    return 1;
}

/* :segments() -> {name1, name2, ..., "Others"} */
static int rfm_segments(lua_State *L)
{
    cvm_rfm *rfm = check_rfm(L, 1);
    size_t n = cvm_rfm_segment_count(rfm), i;
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushstring(L, cvm_rfm_segment_name(rfm, i));
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
    return 1;
}

/* :segment(R, F, M) -> 1-based segment indices, segment names */
static int rfm_segment(lua_State *L)
{
    cvm_rfm *rfm = check_rfm(L, 1);
    size_t n, nf, nm, i;
    int32_t *r = lcvm_ints(L, 2, &n, 0), *f = lcvm_ints(L, 3, &nf, 0), *m = lcvm_ints(L, 4, &nm, 0);
    int32_t *seg;
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    lcvm_check_len(L, nf, n, "F");
    lcvm_check_len(L, nm, n, "M");
    seg = lcvm_ibuffer(L, n);
    st = cvm_rfm_segment(rfm, r, f, m, n, seg, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_ints(L, seg, n, 1);
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushstring(L, cvm_rfm_segment_name(rfm, (size_t)seg[i]));
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
    return 2;
}

static int rfm_save(lua_State *L)
{
    cvm_rfm *rfm = check_rfm(L, 1);
    return rfm_result(L, rfm, cvm_rfm_save(rfm, luaL_checkstring(L, 2)));
}

static int rfm_errmsg(lua_State *L)
{
    lua_pushstring(L, cvm_rfm_errmsg(check_rfm(L, 1)));
    return 1;
}

static const luaL_Reg rfm_methods[] = {
    {"fit", rfm_fit},
    {"score", rfm_score},
    {"fit_scores", rfm_fit_scores},
    {"breakpoints", rfm_breakpoints},
    {"set_rules", rfm_set_rules},
    {"segment_count", rfm_segment_count},
    {"segment_name", rfm_segment_name},
    {"segments", rfm_segments},
    {"segment", rfm_segment},
    {"save", rfm_save},
    {"errmsg", rfm_errmsg},
    {NULL, NULL}
};

/* ==== cvm.kmeans ============================================================ */

static const char *const scalings[] = {"none", "zscore", "log1p_zscore", NULL};

static cvm_kmeans *check_kmeans(lua_State *L, int idx)
{
    return (cvm_kmeans *)lcvm_check(L, idx, LCVM_KMEANS);
}

LCVM_CLOSE(kmeans_close, LCVM_KMEANS, cvm_kmeans, cvm_kmeans_free)

static int kmeans_result(lua_State *L, cvm_kmeans *km, cvm_status st)
{
    return lcvm_result(L, st, st == CVM_OK ? NULL : cvm_kmeans_errmsg(km));
}

static void kmeans_options(lua_State *L, int t, cvm_kmeans_options *o)
{
    cvm_kmeans_options_init(o, sizeof *o);
    o->seed = (uint64_t)lcvm_opt_integer(L, t, "seed", (lua_Integer)o->seed);
    o->tolerance = lcvm_opt_number(L, t, "tolerance", o->tolerance);
    o->k = (int32_t)lcvm_opt_integer(L, t, "k", o->k);
    o->n_init = (int32_t)lcvm_opt_integer(L, t, "n_init", o->n_init);
    o->max_iterations = (int32_t)lcvm_opt_integer(L, t, "max_iterations", o->max_iterations);
    o->scaling = lcvm_opt_enum(L, t, "scaling", scalings, o->scaling);
}

/* cvm.kmeans{k=8, seed=0, tolerance=1e-4, n_init=1, max_iterations=300, scaling="none"} */
static int l_kmeans(lua_State *L)
{
    cvm_kmeans_options o;
    cvm_kmeans *km = NULL;
    lcvm_handle *h;
    cvm_status st;
    kmeans_options(L, lcvm_opt_table(L, 1), &o);
    h = lcvm_new_handle(L, LCVM_KMEANS);
    st = cvm_kmeans_new(&km, &o);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    h->p = km;
    return 1;
}

static int l_load_kmeans(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char err[LCVM_ERRLEN] = "";
    cvm_kmeans *km = NULL;
    lcvm_handle *h = lcvm_new_handle(L, LCVM_KMEANS);
    cvm_status st = cvm_kmeans_load(&km, path, NULL, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    h->p = km;
    return 1;
}

/* A matrix given as rows {{x11, x12, ...}, ...}: row-major doubles, n, d. */
static double *matrix(lua_State *L, int idx, size_t *n, size_t *d)
{
    size_t rows, cols = 0, i, j;
    double *X;
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    rows = (size_t)lua_rawlen(L, idx);
    if (rows > 0) {
        lua_rawgeti(L, idx, 1);
        luaL_argcheck(L, lua_istable(L, -1), idx, "rows must be arrays of numbers");
        cols = (size_t)lua_rawlen(L, -1);
        lua_pop(L, 1);
    }
    X = lcvm_buffer(L, rows * cols);
    for (i = 0; i < rows; i++) {
        lua_rawgeti(L, idx, (lua_Integer)(i + 1));
        if (!lua_istable(L, -1) || (size_t)lua_rawlen(L, -1) != cols) {
            luaL_error(L, "bad argument #%d: row %d is not an array of %d numbers", idx,
                       (int)(i + 1), (int)cols);
        }
        for (j = 0; j < cols; j++) {
            int ok;
            lua_rawgeti(L, -1, (lua_Integer)(j + 1));
            X[i * cols + j] = (double)lua_tonumberx(L, -1, &ok);
            if (!ok) {
                luaL_error(L, "bad argument #%d: row %d column %d is not a number", idx,
                           (int)(i + 1), (int)(j + 1));
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    *n = rows;
    *d = cols;
    return X;
}

static void push_matrix(lua_State *L, const double *X, size_t n, size_t d)
{
    size_t i;
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lcvm_push_doubles(L, X + i * d, d);
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
}

/* :fit(X [, weights]) -> labels (1-based clusters) */
static int kmeans_fit(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 3);
    cvm_kmeans *km = check_kmeans(L, 1);
    size_t n, d, nw;
    double *X = matrix(L, 2, &n, &d), *w = lcvm_opt_doubles(L, 3, &nw);
    int32_t *labels;
    cvm_status st;
    if (w != NULL) {
        lcvm_check_len(L, nw, n, "weights");
    }
    labels = lcvm_ibuffer(L, n);
    st = cvm_kmeans_fit(km, X, n, d, w, labels);
    if (st != CVM_OK) {
        return kmeans_result(L, km, st);
    }
    lcvm_push_ints(L, labels, n, 1);
    return 1;
}

/* :predict(X) -> labels */
static int kmeans_predict(lua_State *L)
{
    cvm_kmeans *km = check_kmeans(L, 1);
    size_t n, d;
    double *X = matrix(L, 2, &n, &d);
    int32_t *labels = lcvm_ibuffer(L, n);
    char err[LCVM_ERRLEN] = "";
    cvm_status st = cvm_kmeans_predict(km, X, n, d, labels, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_ints(L, labels, n, 1);
    return 1;
}

static int kmeans_info(lua_State *L)
{
    cvm_kmeans *km = check_kmeans(L, 1);
    cvm_kmeans_info info;
    cvm_status st;
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    st = cvm_kmeans_info_get(km, &info);
    if (st != CVM_OK) {
        return kmeans_result(L, km, st);
    }
    lua_createtable(L, 0, 5);
    lua_pushnumber(L, info.inertia);
    lua_setfield(L, -2, "inertia");
    lua_pushinteger(L, info.k);
    lua_setfield(L, -2, "k");
    lua_pushinteger(L, info.d);
    lua_setfield(L, -2, "d");
    lua_pushinteger(L, info.iterations);
    lua_setfield(L, -2, "iterations");
    lua_pushboolean(L, info.converged);
    lua_setfield(L, -2, "converged");
    return 1;
}

/* :centroids() -> k rows of d numbers */
static int kmeans_centroids(lua_State *L)
{
    cvm_kmeans *km = check_kmeans(L, 1);
    cvm_kmeans_info info;
    size_t k, d;
    double *out;
    cvm_status st;
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    st = cvm_kmeans_info_get(km, &info);
    if (st != CVM_OK) {
        return kmeans_result(L, km, st);
    }
    k = info.k > 0 ? (size_t)info.k : 0;
    d = info.d > 0 ? (size_t)info.d : 0;
    out = lcvm_buffer(L, k * d);
    st = cvm_kmeans_centroids(km, out, k * d);
    if (st != CVM_OK) {
        return kmeans_result(L, km, st);
    }
    push_matrix(L, out, k, d);
    return 1;
}

/* :silhouette(X, labels [, sample [, seed]]) */
static int kmeans_silhouette(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 5);
    cvm_kmeans *km = check_kmeans(L, 1);
    size_t n, d, nl;
    double *X = matrix(L, 2, &n, &d), out = 0;
    int32_t *labels = lcvm_ints(L, 3, &nl, 1);
    lua_Integer sample = luaL_optinteger(L, 4, (lua_Integer)n);
    uint64_t seed = (uint64_t)luaL_optinteger(L, 5, 0);
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    lcvm_check_len(L, nl, n, "labels");
    luaL_argcheck(L, sample >= 0, 4, "negative sample");
    st = cvm_kmeans_silhouette(km, X, n, d, labels, (size_t)sample, seed, &out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lua_pushnumber(L, out);
    return 1;
}

static int kmeans_save(lua_State *L)
{
    cvm_kmeans *km = check_kmeans(L, 1);
    return kmeans_result(L, km, cvm_kmeans_save(km, luaL_checkstring(L, 2)));
}

static int kmeans_errmsg(lua_State *L)
{
    lua_pushstring(L, cvm_kmeans_errmsg(check_kmeans(L, 1)));
    return 1;
}

/* cvm.kmeans_elbow(X, {k_min=1, k_max=10, weights=, seed=, ...}) -> inertias */
static int l_kmeans_elbow(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 2);
    size_t n, d, nw;
    double *X = matrix(L, 1, &n, &d), *w, *out;
    int t = lcvm_opt_table(L, 2);
    cvm_kmeans_options o;
    lua_Integer kmin = lcvm_opt_integer(L, t, "k_min", 1);
    lua_Integer kmax = lcvm_opt_integer(L, t, "k_max", 10);
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    kmeans_options(L, t, &o);
    w = lcvm_field_doubles(L, t, "weights", &nw, 0);
    if (w != NULL) {
        lcvm_check_len(L, nw, n, "weights");
    }
    luaL_argcheck(L, kmin >= 1 && kmax >= kmin && kmax <= 100000, 2, "need 1 <= k_min <= k_max");
    out = lcvm_buffer(L, (size_t)(kmax - kmin + 1));
    st = cvm_kmeans_elbow(&o, X, n, d, w, (int32_t)kmin, (int32_t)kmax, out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_doubles(L, out, (size_t)(kmax - kmin + 1));
    return 1;
}

static const luaL_Reg kmeans_methods[] = {
    {"fit", kmeans_fit},
    {"predict", kmeans_predict},
    {"info", kmeans_info},
    {"centroids", kmeans_centroids},
    {"silhouette", kmeans_silhouette},
    {"save", kmeans_save},
    {"errmsg", kmeans_errmsg},
    {NULL, NULL}
};

/* ==== cvm.tiers, cvm.value_tiers, cvm.value_tier_assign ==================== */
/* Tiers are 1-based in Lua: tier 1 is the most valuable. */

static cvm_tiers *check_tiers(lua_State *L, int idx)
{
    return (cvm_tiers *)lcvm_check(L, idx, LCVM_TIERS);
}

LCVM_CLOSE(tiers_close, LCVM_TIERS, cvm_tiers, cvm_tiers_free)

static int tiers_result(lua_State *L, cvm_tiers *t, cvm_status st)
{
    return lcvm_result(L, st, st == CVM_OK ? NULL : cvm_tiers_errmsg(t));
}

/* cvm.tiers{shares={0.01, 0.1, 0.5}} */
static int l_tiers(lua_State *L)
{
    int t = lcvm_opt_table(L, 1);
    cvm_tiers_options o;
    cvm_tiers *tr = NULL;
    lcvm_handle *h;
    cvm_status st;
    cvm_tiers_options_init(&o, sizeof o);
    o.top_shares = lcvm_field_doubles(L, t, "shares", &o.nshares, 0);
    h = lcvm_new_handle(L, LCVM_TIERS);
    st = cvm_tiers_new(&tr, &o);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    h->p = tr;
    return 1;
}

static int l_load_tiers(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char err[LCVM_ERRLEN] = "";
    cvm_tiers *tr = NULL;
    lcvm_handle *h = lcvm_new_handle(L, LCVM_TIERS);
    cvm_status st = cvm_tiers_load(&tr, path, NULL, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    h->p = tr;
    return 1;
}

/* :fit(clv) -> tiers */
static int tiers_fit(lua_State *L)
{
    cvm_tiers *tr = check_tiers(L, 1);
    size_t n;
    double *clv = lcvm_doubles(L, 2, &n);
    int32_t *tier = lcvm_ibuffer(L, n);
    cvm_status st = cvm_tiers_fit(tr, clv, n, tier);
    if (st != CVM_OK) {
        return tiers_result(L, tr, st);
    }
    lcvm_push_ints(L, tier, n, 1);
    return 1;
}

/* :assign(clv) -> tiers */
static int tiers_assign(lua_State *L)
{
    cvm_tiers *tr = check_tiers(L, 1);
    size_t n;
    double *clv = lcvm_doubles(L, 2, &n);
    int32_t *tier = lcvm_ibuffer(L, n);
    char err[LCVM_ERRLEN] = "";
    cvm_status st = cvm_tiers_assign(tr, clv, n, tier, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_ints(L, tier, n, 1);
    return 1;
}

static int tiers_cut_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)cvm_tiers_cut_count(check_tiers(L, 1)));
    return 1;
}

static int tiers_cuts(lua_State *L)
{
    cvm_tiers *tr = check_tiers(L, 1);
    size_t n = cvm_tiers_cut_count(tr);
    double *out = lcvm_buffer(L, n);
    cvm_status st = cvm_tiers_cuts(tr, out, n);
    if (st != CVM_OK) {
        return tiers_result(L, tr, st);
    }
    lcvm_push_doubles(L, out, n);
    return 1;
}

static int tiers_save(lua_State *L)
{
    cvm_tiers *tr = check_tiers(L, 1);
    return tiers_result(L, tr, cvm_tiers_save(tr, luaL_checkstring(L, 2)));
}

static int tiers_errmsg(lua_State *L)
{
    lua_pushstring(L, cvm_tiers_errmsg(check_tiers(L, 1)));
    return 1;
}

static const luaL_Reg tiers_methods[] = {
    {"fit", tiers_fit},
    {"assign", tiers_assign},
    {"cut_count", tiers_cut_count},
    {"cuts", tiers_cuts},
    {"save", tiers_save},
    {"errmsg", tiers_errmsg},
    {NULL, NULL}
};

/* cvm.value_tiers(clv [, shares]) -> cuts, tiers */
static int l_value_tiers(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 2);
    size_t n, ns = 0;
    double *clv = lcvm_doubles(L, 1, &n), *shares = lcvm_opt_doubles(L, 2, &ns), *cuts;
    size_t ncuts = shares != NULL ? ns : 3;
    int32_t *tier;
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    cuts = lcvm_buffer(L, ncuts);
    tier = lcvm_ibuffer(L, n);
    st = cvm_value_tiers(clv, n, shares, ns, cuts, tier, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_doubles(L, cuts, ncuts);
    lcvm_push_ints(L, tier, n, 1);
    return 2;
}

/* cvm.value_tier_assign(cuts, clv) -> tiers */
static int l_value_tier_assign(lua_State *L)
{
    size_t nc, n;
    double *cuts = lcvm_doubles(L, 1, &nc), *clv = lcvm_doubles(L, 2, &n);
    int32_t *tier = lcvm_ibuffer(L, n);
    char err[LCVM_ERRLEN] = "";
    cvm_status st = cvm_value_tier_assign(cuts, nc, clv, n, tier, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_ints(L, tier, n, 1);
    return 1;
}

/* ==== cvm.lifecycle, cvm.profiles ========================================== */

static const char *const stage_names[] = {"new", "active", "at_risk", "lapsed"};

/* cvm.lifecycle{x=, t_x=, T=, p_alive=, gap=, new_age=, at_risk_gaps=,
 *   lapsed_gaps=, at_risk_p_alive=, lapsed_p_alive=} -> stage names, stage numbers (0..3) */
static int l_lifecycle(lua_State *L)
{
    int t = (luaL_checktype(L, 1, LUA_TTABLE), 1);
    cvm_lifecycle_options o;
    size_t n, n2, n3, np, ng, i;
    double *x = lcvm_field_doubles(L, t, "x", &n, 1);
    double *t_x = lcvm_field_doubles(L, t, "t_x", &n2, 1);
    double *T = lcvm_field_doubles(L, t, "T", &n3, 1);
    double *pa = lcvm_field_doubles(L, t, "p_alive", &np, 0);
    double *gap = lcvm_field_doubles(L, t, "gap", &ng, 0);
    int32_t *stage;
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    lcvm_check_len(L, n2, n, "t_x");
    lcvm_check_len(L, n3, n, "T");
    if (pa != NULL) {
        lcvm_check_len(L, np, n, "p_alive");
    }
    if (gap != NULL) {
        lcvm_check_len(L, ng, n, "gap");
    }
    cvm_lifecycle_options_init(&o, sizeof o);
    o.new_age = lcvm_opt_number(L, t, "new_age", o.new_age);
    o.at_risk_gaps = lcvm_opt_number(L, t, "at_risk_gaps", o.at_risk_gaps);
    o.lapsed_gaps = lcvm_opt_number(L, t, "lapsed_gaps", o.lapsed_gaps);
    o.at_risk_p_alive = lcvm_opt_number(L, t, "at_risk_p_alive", o.at_risk_p_alive);
    o.lapsed_p_alive = lcvm_opt_number(L, t, "lapsed_p_alive", o.lapsed_p_alive);
    stage = lcvm_ibuffer(L, n);
    st = cvm_lifecycle(&o, x, t_x, T, pa, gap, n, stage, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushstring(L, stage[i] >= 0 && stage[i] <= 3 ? stage_names[stage[i]] : "?");
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
    lcvm_push_ints(L, stage, n, 0);
    return 2;
}

/* cvm.profiles{labels= (1-based), nsegments=, recency=, frequency=,
 *   monetary=, p_alive=, clv=} -> one table per segment */
static int l_profiles(lua_State *L)
{
    int t = (luaL_checktype(L, 1, LUA_TTABLE), 1);
    size_t n, nr, nf, nm, np, nc, nseg, i, maxl = 0;
    int32_t *labels;
    double *r, *f, *m, *pa, *clv;
    cvm_segment_profile *out;
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    lua_Integer ns;
    if (lua_getfield(L, t, "labels") != LUA_TTABLE) {
        return luaL_error(L, "field 'labels' must be an array of 1-based segment numbers");
    }
    labels = lcvm_ints(L, -1, &n, 1);
    lua_remove(L, -2);
    for (i = 0; i < n; i++) {
        if (labels[i] >= 0 && (size_t)labels[i] + 1 > maxl) {
            maxl = (size_t)labels[i] + 1;
        }
    }
    ns = lcvm_opt_integer(L, t, "nsegments", (lua_Integer)maxl);
    luaL_argcheck(L, ns >= 0 && ns <= 1000000, 1, "bad nsegments");
    nseg = (size_t)ns;
    r = lcvm_field_doubles(L, t, "recency", &nr, 1);
    f = lcvm_field_doubles(L, t, "frequency", &nf, 1);
    m = lcvm_field_doubles(L, t, "monetary", &nm, 1);
    pa = lcvm_field_doubles(L, t, "p_alive", &np, 0);
    clv = lcvm_field_doubles(L, t, "clv", &nc, 0);
    lcvm_check_len(L, nr, n, "recency");
    lcvm_check_len(L, nf, n, "frequency");
    lcvm_check_len(L, nm, n, "monetary");
    if (pa != NULL) {
        lcvm_check_len(L, np, n, "p_alive");
    }
    if (clv != NULL) {
        lcvm_check_len(L, nc, n, "clv");
    }
    out = (cvm_segment_profile *)lua_newuserdatauv(L, (nseg > 0 ? nseg : 1) * sizeof *out, 0);
    memset(out, 0, (nseg > 0 ? nseg : 1) * sizeof *out);
    for (i = 0; i < nseg; i++) {
        out[i].size = sizeof *out;
    }
    st = cvm_segment_profiles(labels, n, nseg, r, f, m, pa, clv, out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lua_createtable(L, (int)nseg, 0);
    for (i = 0; i < nseg; i++) {
        static const struct { const char *name; size_t off; } fields[] = {
            {"count", offsetof(cvm_segment_profile, count)},
            {"share_customers", offsetof(cvm_segment_profile, share_customers)},
            {"share_revenue", offsetof(cvm_segment_profile, share_revenue)},
            {"mean_recency", offsetof(cvm_segment_profile, mean_recency)},
            {"mean_frequency", offsetof(cvm_segment_profile, mean_frequency)},
            {"mean_monetary", offsetof(cvm_segment_profile, mean_monetary)},
            {"mean_p_alive", offsetof(cvm_segment_profile, mean_p_alive)},
            {"mean_clv", offsetof(cvm_segment_profile, mean_clv)},
            {"share_clv", offsetof(cvm_segment_profile, share_clv)},
        };
        size_t k;
        lua_createtable(L, 0, 9);
        for (k = 0; k < sizeof fields / sizeof fields[0]; k++) {
            double v;
            memcpy(&v, (const char *)&out[i] + fields[k].off, sizeof v);
            lua_pushnumber(L, v);
            lua_setfield(L, -2, fields[k].name);
        }
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
    return 1;
}

void lcvm_open_segment(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"rfm", l_rfm},
        {"load_rfm", l_load_rfm},
        {"kmeans", l_kmeans},
        {"load_kmeans", l_load_kmeans},
        {"kmeans_elbow", l_kmeans_elbow},
        {"tiers", l_tiers},
        {"load_tiers", l_load_tiers},
        {"value_tiers", l_value_tiers},
        {"value_tier_assign", l_value_tier_assign},
        {"lifecycle", l_lifecycle},
        {"profiles", l_profiles},
        {NULL, NULL}
    };
    lcvm_register(L, LCVM_RFM, rfm_methods, rfm_close);
    lcvm_register(L, LCVM_KMEANS, kmeans_methods, kmeans_close);
    lcvm_register(L, LCVM_TIERS, tiers_methods, tiers_close);
    luaL_setfuncs(L, fns, 0);
}
