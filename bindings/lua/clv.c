/* libcvm Lua 5.4 binding — cvm.clv (transaction models), cvm.spend
 * (Gamma-Gamma), cvm.retention (sBG) and cvm.simulate. */
#include "lcvm.h"

#include <string.h>

static const char *const model_names[] = {"bgnbd", "pareto", "mbgnbd", "bgbb", NULL};

/* ==== cvm.clv =============================================================== */

static cvm_clv *check_clv(lua_State *L, int idx)
{
    return (cvm_clv *)lcvm_check(L, idx, LCVM_CLV);
}

LCVM_CLOSE(clv_close, LCVM_CLV, cvm_clv, cvm_clv_free)

static int clv_result(lua_State *L, cvm_clv *m, cvm_status st)
{
    return lcvm_result(L, st, st == CVM_OK ? NULL : cvm_clv_errmsg(m));
}

/* cvm.clv{model="bgnbd"} */
static int l_clv(lua_State *L)
{
    int t = lcvm_opt_table(L, 1);
    cvm_clv_options o;
    cvm_clv *m = NULL;
    lcvm_handle *h;
    cvm_status st;
    cvm_clv_options_init(&o, sizeof o);
    o.kind = lcvm_opt_enum(L, t, "model", model_names, o.kind);
    h = lcvm_new_handle(L, LCVM_CLV);
    st = cvm_clv_new(&m, &o);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    h->p = m;
    return 1;
}

static int l_load_clv(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char err[LCVM_ERRLEN] = "";
    cvm_clv *m = NULL;
    lcvm_handle *h = lcvm_new_handle(L, LCVM_CLV);
    cvm_status st = cvm_clv_load(&m, path, NULL, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    h->p = m;
    return 1;
}

/* Three equal-length columns x, t_x, T at idx, idx+1, idx+2. */
static size_t rows3(lua_State *L, int idx, double **x, double **t_x, double **T)
{
    size_t n, n2, n3;
    *x = lcvm_doubles(L, idx, &n);
    *t_x = lcvm_doubles(L, idx + 1, &n2);
    *T = lcvm_doubles(L, idx + 2, &n3);
    lcvm_check_len(L, n2, n, "t_x");
    lcvm_check_len(L, n3, n, "T");
    return n;
}

/* :fit(x, t_x, T [, weights [, opts]]) */
static int clv_fit(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 6);
    cvm_clv *m = check_clv(L, 1);
    double *x, *t_x, *T, *w;
    size_t n = rows3(L, 2, &x, &t_x, &T), nw;
    cvm_fit_options o;
    w = lcvm_opt_doubles(L, 5, &nw);
    if (w != NULL) {
        lcvm_check_len(L, nw, n, "weights");
    }
    lcvm_fit_options(L, lcvm_opt_table(L, 6), &o);
    return clv_result(L, m, cvm_clv_fit(m, x, t_x, T, w, n, &o));
}

/* Push params (and stderrs) as tables with both 1..n and named entries. */
static void push_named(lua_State *L, const double *v, size_t n, const char *(*name)(const void *, size_t),
                       const void *obj, const char *const *names)
{
    size_t i;
    lua_createtable(L, (int)n, (int)n);
    for (i = 0; i < n; i++) {
        const char *nm = name != NULL ? name(obj, i) : names[i];
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
        if (nm != NULL) {
            lua_pushnumber(L, v[i]);
            lua_setfield(L, -2, nm);
        }
    }
}

static const char *clv_param_name(const void *m, size_t i)
{
    return cvm_clv_param_name((const cvm_clv *)m, i);
}

/* :params() -> params, stderrs (each {v1, ..., name = v}) */
static int clv_params(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    double p[8], se[8];
    size_t n = cvm_clv_param_count(m);
    cvm_status st = cvm_clv_params(m, p, se, n);
    if (st != CVM_OK) {
        return clv_result(L, m, st);
    }
    push_named(L, p, n, clv_param_name, m, NULL);
    push_named(L, se, n, clv_param_name, m, NULL);
    return 2;
}

static int clv_set_params(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    size_t n;
    double *p = lcvm_doubles(L, 2, &n);
    return clv_result(L, m, cvm_clv_set_params(m, p, n));
}

static int clv_info(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    cvm_fit_info info;
    cvm_status st;
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    st = cvm_clv_info(m, &info);
    if (st != CVM_OK) {
        return clv_result(L, m, st);
    }
    lcvm_push_fit_info(L, &info);
    return 1;
}

/* :kind() -> "bgnbd", 0 */
static int clv_kind(lua_State *L)
{
    int32_t k = cvm_clv_kind(check_clv(L, 1));
    lua_pushstring(L, cvm_model_name(k));
    lua_pushinteger(L, k);
    return 2;
}

static int clv_param_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)cvm_clv_param_count(check_clv(L, 1)));
    return 1;
}

/* :param_name(i) (1-based) -> name | nil */
static int clv_param_name_l(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    const char *nm = i < 1 ? NULL : cvm_clv_param_name(m, (size_t)(i - 1));
    if (nm == NULL) {
        luaL_pushfail(L);
    } else {
        lua_pushstring(L, nm);
    }
    return 1;
}

/* :loglik(x, t_x, T) -> per-row table, total */
static int clv_loglik(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    double *x, *t_x, *T, *out, total = 0;
    size_t n = rows3(L, 2, &x, &t_x, &T);
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    out = lcvm_buffer(L, n);
    st = cvm_clv_loglik(m, x, t_x, T, n, out, &total, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_doubles(L, out, n);
    lua_pushnumber(L, total);
    return 2;
}

/* :p_alive(x, t_x, T) */
static int clv_p_alive(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    double *x, *t_x, *T, *out;
    size_t n = rows3(L, 2, &x, &t_x, &T);
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    out = lcvm_buffer(L, n);
    st = cvm_clv_p_alive(m, x, t_x, T, n, out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_doubles(L, out, n);
    return 1;
}

/* :expected(t, x, t_x, T) */
static int clv_expected(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    double t = (double)luaL_checknumber(L, 2);
    double *x, *t_x, *T, *out;
    size_t n = rows3(L, 3, &x, &t_x, &T);
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    out = lcvm_buffer(L, n);
    st = cvm_clv_expected(m, t, x, t_x, T, n, out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_doubles(L, out, n);
    return 1;
}

/* :expected_new(times) */
static int clv_expected_new(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    size_t n;
    double *t = lcvm_doubles(L, 2, &n), *out = lcvm_buffer(L, n);
    char err[LCVM_ERRLEN] = "";
    cvm_status st = cvm_clv_expected_new(m, t, n, out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_doubles(L, out, n);
    return 1;
}

/* :prob_count(times, counts) */
static int clv_prob_count(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    size_t n, nk;
    double *t = lcvm_doubles(L, 2, &n), *k = lcvm_doubles(L, 3, &nk), *out;
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    lcvm_check_len(L, nk, n, "counts");
    out = lcvm_buffer(L, n);
    st = cvm_clv_prob_count(m, t, k, n, out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_doubles(L, out, n);
    return 1;
}

/* :holdout(x, t_x, T, duration, actual) -> report, predicted */
static int clv_holdout(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    double *x, *t_x, *T, *dur, *act, *pred;
    size_t n = rows3(L, 2, &x, &t_x, &T), nd, na;
    cvm_holdout_report r;
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    dur = lcvm_doubles(L, 5, &nd);
    act = lcvm_doubles(L, 6, &na);
    lcvm_check_len(L, nd, n, "duration");
    lcvm_check_len(L, na, n, "actual");
    pred = lcvm_buffer(L, n);
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    st = cvm_clv_holdout(m, x, t_x, T, dur, act, n, pred, &r, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lua_createtable(L, 0, 6);
    lua_pushnumber(L, r.customers);
    lua_setfield(L, -2, "customers");
    lua_pushnumber(L, r.predicted);
    lua_setfield(L, -2, "predicted");
    lua_pushnumber(L, r.actual);
    lua_setfield(L, -2, "actual");
    lua_pushnumber(L, r.mae);
    lua_setfield(L, -2, "mae");
    lua_pushnumber(L, r.rmse);
    lua_setfield(L, -2, "rmse");
    lua_pushnumber(L, r.bias);
    lua_setfield(L, -2, "bias");
    lcvm_push_doubles(L, pred, n);
    return 2;
}

/* :tracking(birth, times [, weights]) */
static int clv_tracking(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 4);
    cvm_clv *m = check_clv(L, 1);
    size_t n, nt, nw;
    double *birth = lcvm_doubles(L, 2, &n), *times = lcvm_doubles(L, 3, &nt);
    double *w = lcvm_opt_doubles(L, 4, &nw), *out;
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    if (w != NULL) {
        lcvm_check_len(L, nw, n, "weights");
    }
    out = lcvm_buffer(L, nt);
    st = cvm_clv_tracking(m, birth, w, n, times, nt, out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_doubles(L, out, nt);
    return 1;
}

static void value_options(lua_State *L, int t, cvm_value_options *o)
{
    cvm_value_options_init(o, sizeof *o);
    o->periods = (int32_t)lcvm_opt_integer(L, t, "periods", o->periods);
    o->period_length = lcvm_opt_number(L, t, "period_length", o->period_length);
    o->discount_rate = lcvm_opt_number(L, t, "discount_rate", o->discount_rate);
    o->margin = lcvm_opt_number(L, t, "margin", o->margin);
}

/* The spend model of option `spend` (a cvm.spend), or NULL. */
static const cvm_spend *opt_spend(lua_State *L, int t)
{
    const cvm_spend *s = NULL;
    if (t != 0 && lua_getfield(L, t, "spend") != LUA_TNIL) {
        s = (const cvm_spend *)lcvm_check(L, lua_gettop(L), LCVM_SPEND);
    }
    if (t != 0) {
        lua_pop(L, 1);
    }
    return s;
}

/* Columns x, t_x, T (required) and monetary (optional) of table t. */
static size_t columns(lua_State *L, int t, double **x, double **t_x, double **T, double **mon)
{
    size_t n, n2, n3, nm;
    *x = lcvm_field_doubles(L, t, "x", &n, 1);
    *t_x = lcvm_field_doubles(L, t, "t_x", &n2, 1);
    *T = lcvm_field_doubles(L, t, "T", &n3, 1);
    *mon = lcvm_field_doubles(L, t, "monetary", &nm, 0);
    lcvm_check_len(L, n2, n, "t_x");
    lcvm_check_len(L, n3, n, "T");
    if (*mon != NULL) {
        lcvm_check_len(L, nm, n, "monetary");
    }
    return n;
}

/* :value{x=, t_x=, T=, monetary=, spend=, periods=, period_length=,
 *        discount_rate=, margin=} -> CLV per row */
static int clv_value(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    int t = (luaL_checktype(L, 2, LUA_TTABLE), 2);
    double *x, *t_x, *T, *mon, *out;
    size_t n = columns(L, t, &x, &t_x, &T, &mon);
    const cvm_spend *spend = opt_spend(L, t);
    cvm_value_options o;
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    if (mon == NULL) {
        return luaL_error(L, "missing field 'monetary'");
    }
    value_options(L, t, &o);
    out = lcvm_buffer(L, n);
    st = cvm_clv_value(m, spend, &o, x, t_x, T, mon, n, out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_doubles(L, out, n);
    return 1;
}

/* :score{x=, t_x=, T=, monetary=, spend=, horizon=, periods=, ...} ->
 * {p_alive=, expected=, expected_value=, clv=} (the last two with monetary) */
static int clv_score(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    int t = (luaL_checktype(L, 2, LUA_TTABLE), 2);
    double *x, *t_x, *T, *mon, *pa, *ex, *ev = NULL, *clv = NULL;
    size_t n = columns(L, t, &x, &t_x, &T, &mon);
    const cvm_spend *spend = opt_spend(L, t);
    double horizon = lcvm_opt_number(L, t, "horizon", 1.0);
    cvm_value_options o;
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    value_options(L, t, &o);
    pa = lcvm_buffer(L, n);
    ex = lcvm_buffer(L, n);
    if (mon != NULL) {
        ev = lcvm_buffer(L, n);
        clv = lcvm_buffer(L, n);
    }
    st = cvm_clv_score(m, spend, horizon, &o, x, t_x, T, mon, n, pa, ex, ev, clv, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lua_createtable(L, 0, 4);
    lcvm_push_doubles(L, pa, n);
    lua_setfield(L, -2, "p_alive");
    lcvm_push_doubles(L, ex, n);
    lua_setfield(L, -2, "expected");
    if (mon != NULL) {
        lcvm_push_doubles(L, ev, n);
        lua_setfield(L, -2, "expected_value");
        lcvm_push_doubles(L, clv, n);
        lua_setfield(L, -2, "clv");
    }
    return 1;
}

static int clv_save(lua_State *L)
{
    cvm_clv *m = check_clv(L, 1);
    return clv_result(L, m, cvm_clv_save(m, luaL_checkstring(L, 2)));
}

static int clv_errmsg(lua_State *L)
{
    lua_pushstring(L, cvm_clv_errmsg(check_clv(L, 1)));
    return 1;
}

static const luaL_Reg clv_methods[] = {
    {"fit", clv_fit},
    {"params", clv_params},
    {"set_params", clv_set_params},
    {"info", clv_info},
    {"kind", clv_kind},
    {"param_count", clv_param_count},
    {"param_name", clv_param_name_l},
    {"loglik", clv_loglik},
    {"p_alive", clv_p_alive},
    {"expected", clv_expected},
    {"expected_new", clv_expected_new},
    {"prob_count", clv_prob_count},
    {"holdout", clv_holdout},
    {"tracking", clv_tracking},
    {"value", clv_value},
    {"score", clv_score},
    {"save", clv_save},
    {"errmsg", clv_errmsg},
    {NULL, NULL}
};

/* ==== cvm.spend ============================================================= */

static const char *const spend_names[] = {"p", "q", "v"};

static cvm_spend *check_spend(lua_State *L, int idx)
{
    return (cvm_spend *)lcvm_check(L, idx, LCVM_SPEND);
}

LCVM_CLOSE(spend_close, LCVM_SPEND, cvm_spend, cvm_spend_free)

static int spend_result(lua_State *L, cvm_spend *s, cvm_status st)
{
    return lcvm_result(L, st, st == CVM_OK ? NULL : cvm_spend_errmsg(s));
}

/* cvm.spend() */
static int l_spend(lua_State *L)
{
    cvm_model_options o;
    cvm_spend *s = NULL;
    lcvm_handle *h;
    cvm_status st;
    cvm_model_options_init(&o, sizeof o);
    h = lcvm_new_handle(L, LCVM_SPEND);
    st = cvm_spend_new(&s, &o);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    h->p = s;
    return 1;
}

static int l_load_spend(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char err[LCVM_ERRLEN] = "";
    cvm_spend *s = NULL;
    lcvm_handle *h = lcvm_new_handle(L, LCVM_SPEND);
    cvm_status st = cvm_spend_load(&s, path, NULL, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    h->p = s;
    return 1;
}

/* :fit(x, m [, weights [, opts]]) */
static int spend_fit(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 5);
    cvm_spend *s = check_spend(L, 1);
    size_t n, nm, nw;
    double *x = lcvm_doubles(L, 2, &n), *m = lcvm_doubles(L, 3, &nm);
    double *w = lcvm_opt_doubles(L, 4, &nw);
    cvm_fit_options o;
    lcvm_check_len(L, nm, n, "m");
    if (w != NULL) {
        lcvm_check_len(L, nw, n, "weights");
    }
    lcvm_fit_options(L, lcvm_opt_table(L, 5), &o);
    return spend_result(L, s, cvm_spend_fit(s, x, m, w, n, &o));
}

static int spend_params(lua_State *L)
{
    cvm_spend *s = check_spend(L, 1);
    double p[3], se[3];
    cvm_status st = cvm_spend_params(s, p, se, 3);
    if (st != CVM_OK) {
        return spend_result(L, s, st);
    }
    push_named(L, p, 3, NULL, NULL, spend_names);
    push_named(L, se, 3, NULL, NULL, spend_names);
    return 2;
}

static int spend_set_params(lua_State *L)
{
    cvm_spend *s = check_spend(L, 1);
    size_t n;
    double *p = lcvm_doubles(L, 2, &n);
    return spend_result(L, s, cvm_spend_set_params(s, p, n));
}

static int spend_info(lua_State *L)
{
    cvm_spend *s = check_spend(L, 1);
    cvm_fit_info info;
    cvm_status st;
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    st = cvm_spend_info(s, &info);
    if (st != CVM_OK) {
        return spend_result(L, s, st);
    }
    lcvm_push_fit_info(L, &info);
    return 1;
}

/* :expected(x, m) */
static int spend_expected(lua_State *L)
{
    cvm_spend *s = check_spend(L, 1);
    size_t n, nm;
    double *x = lcvm_doubles(L, 2, &n), *m = lcvm_doubles(L, 3, &nm), *out;
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    lcvm_check_len(L, nm, n, "m");
    out = lcvm_buffer(L, n);
    st = cvm_spend_expected(s, x, m, n, out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_doubles(L, out, n);
    return 1;
}

static int spend_save(lua_State *L)
{
    cvm_spend *s = check_spend(L, 1);
    return spend_result(L, s, cvm_spend_save(s, luaL_checkstring(L, 2)));
}

static int spend_errmsg(lua_State *L)
{
    lua_pushstring(L, cvm_spend_errmsg(check_spend(L, 1)));
    return 1;
}

static const luaL_Reg spend_methods[] = {
    {"fit", spend_fit},
    {"params", spend_params},
    {"set_params", spend_set_params},
    {"info", spend_info},
    {"expected", spend_expected},
    {"save", spend_save},
    {"errmsg", spend_errmsg},
    {NULL, NULL}
};

/* ==== cvm.retention ========================================================= */

static const char *const retention_names[] = {"alpha", "beta"};

static cvm_retention *check_retention(lua_State *L, int idx)
{
    return (cvm_retention *)lcvm_check(L, idx, LCVM_RETENTION);
}

LCVM_CLOSE(retention_close, LCVM_RETENTION, cvm_retention, cvm_retention_free)

static int retention_result(lua_State *L, cvm_retention *r, cvm_status st)
{
    return lcvm_result(L, st, st == CVM_OK ? NULL : cvm_retention_errmsg(r));
}

static int l_retention(lua_State *L)
{
    cvm_retention *r = NULL;
    lcvm_handle *h = lcvm_new_handle(L, LCVM_RETENTION);
    cvm_status st = cvm_retention_new(&r, NULL);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    h->p = r;
    return 1;
}

static int l_load_retention(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char err[LCVM_ERRLEN] = "";
    cvm_retention *r = NULL;
    lcvm_handle *h = lcvm_new_handle(L, LCVM_RETENTION);
    cvm_status st = cvm_retention_load(&r, path, NULL, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    h->p = r;
    return 1;
}

/* :fit(alive [, opts]) */
static int retention_fit(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 3);
    cvm_retention *r = check_retention(L, 1);
    size_t n;
    double *alive = lcvm_doubles(L, 2, &n);
    cvm_fit_options o;
    lcvm_fit_options(L, lcvm_opt_table(L, 3), &o);
    return retention_result(L, r, cvm_retention_fit(r, alive, n, &o));
}

static int retention_params(lua_State *L)
{
    cvm_retention *r = check_retention(L, 1);
    double p[2], se[2];
    cvm_status st = cvm_retention_params(r, p, se, 2);
    if (st != CVM_OK) {
        return retention_result(L, r, st);
    }
    push_named(L, p, 2, NULL, NULL, retention_names);
    push_named(L, se, 2, NULL, NULL, retention_names);
    return 2;
}

static int retention_set_params(lua_State *L)
{
    cvm_retention *r = check_retention(L, 1);
    size_t n;
    double *p = lcvm_doubles(L, 2, &n);
    return retention_result(L, r, cvm_retention_set_params(r, p, n));
}

static int retention_info(lua_State *L)
{
    cvm_retention *r = check_retention(L, 1);
    cvm_fit_info info;
    cvm_status st;
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    st = cvm_retention_info(r, &info);
    if (st != CVM_OK) {
        return retention_result(L, r, st);
    }
    lcvm_push_fit_info(L, &info);
    return 1;
}

static int retention_survival(lua_State *L)
{
    cvm_retention *r = check_retention(L, 1);
    size_t n;
    double *t = lcvm_doubles(L, 2, &n), *out = lcvm_buffer(L, n);
    char err[LCVM_ERRLEN] = "";
    cvm_status st = cvm_retention_survival(r, t, n, out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_doubles(L, out, n);
    return 1;
}

static int retention_rate(lua_State *L)
{
    cvm_retention *r = check_retention(L, 1);
    size_t n;
    double *t = lcvm_doubles(L, 2, &n), *out = lcvm_buffer(L, n);
    char err[LCVM_ERRLEN] = "";
    cvm_status st = cvm_retention_rate(r, t, n, out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lcvm_push_doubles(L, out, n);
    return 1;
}

/* :lifetime([discount_rate = 0]) */
static int retention_lifetime(lua_State *L)
{
    cvm_retention *r = check_retention(L, 1);
    double d = (double)luaL_optnumber(L, 2, 0), out = 0;
    char err[LCVM_ERRLEN] = "";
    cvm_status st = cvm_retention_lifetime(r, d, &out, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    lua_pushnumber(L, out);
    return 1;
}

static int retention_save(lua_State *L)
{
    cvm_retention *r = check_retention(L, 1);
    return retention_result(L, r, cvm_retention_save(r, luaL_checkstring(L, 2)));
}

static int retention_errmsg(lua_State *L)
{
    lua_pushstring(L, cvm_retention_errmsg(check_retention(L, 1)));
    return 1;
}

static const luaL_Reg retention_methods[] = {
    {"fit", retention_fit},
    {"params", retention_params},
    {"set_params", retention_set_params},
    {"info", retention_info},
    {"survival", retention_survival},
    {"rate", retention_rate},
    {"lifetime", retention_lifetime},
    {"save", retention_save},
    {"errmsg", retention_errmsg},
    {NULL, NULL}
};

/* ==== cvm.simulate ========================================================== */

typedef struct sim_state {
    lua_State *L;
    int fn;      /* stack index of the callback, or 0: collect */
    int out;     /* stack index of the result table's columns (collect) */
    lua_Integer k;
    int failed;  /* the callback raised: its error is on the stack */
} sim_state;

/* Called by cvm_simulate: never raises through the library (the Lua callback
 * runs under lua_pcall; collecting only pushes numbers into preallocated-or-
 * growing tables, whose only failure is a memory error). */
static int sim_cb(void *ud, size_t customer, int64_t time, double amount)
{
    sim_state *s = (sim_state *)ud;
    lua_State *L = s->L;
    if (s->fn != 0) {
        int stop;
        lua_pushvalue(L, s->fn);
        lua_pushinteger(L, (lua_Integer)customer + 1);
        lua_pushinteger(L, (lua_Integer)time);
        lua_pushnumber(L, amount);
        if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
            s->failed = 1;
            return 1;
        }
        stop = lua_toboolean(L, -1);
        lua_pop(L, 1);
        return stop;
    }
    s->k++;
    lua_pushinteger(L, (lua_Integer)customer + 1);
    lua_rawseti(L, s->out, s->k);
    lua_pushinteger(L, (lua_Integer)time);
    lua_rawseti(L, s->out + 1, s->k);
    lua_pushnumber(L, amount);
    lua_rawseti(L, s->out + 2, s->k);
    return 0;
}

static void fixed_array(lua_State *L, int t, const char *key, double *out, size_t n)
{
    size_t got;
    double *a = lcvm_field_doubles(L, t, key, &got, 0);
    if (a != NULL) {
        lcvm_check_len(L, got, n, key);
        memcpy(out, a, n * sizeof *out);
        lua_pop(L, 1);
    }
}

/* cvm.simulate{seed=, customers=, model=, spend=, params=, spend_params=,
 *   start=, acquisition=, duration=, unit=} [, fn]
 * With fn: fn(customer, time, amount) per purchase (customer 1-based; a
 * true result stops) and returns true. Without: returns {customer=, time=,
 * amount=} columns. Durations take seconds or unit names. */
static int l_simulate(lua_State *L)
{
    int t = lcvm_opt_table(L, 1);
    cvm_simulate_options o;
    sim_state s;
    cvm_status st;
    cvm_simulate_options_init(&o, sizeof o);
    o.seed = (uint64_t)lcvm_opt_integer(L, t, "seed", (lua_Integer)o.seed);
    {
        lua_Integer c = lcvm_opt_integer(L, t, "customers", (lua_Integer)o.customers);
        luaL_argcheck(L, c >= 0, 1, "customers must be >= 0");
        o.customers = (uint64_t)c;
    }
    o.model = lcvm_opt_enum(L, t, "model", model_names, o.model);
    o.spend = lcvm_opt_bool(L, t, "spend", o.spend);
    fixed_array(L, t, "params", o.params, 4);
    fixed_array(L, t, "spend_params", o.spend_params, 3);
    o.start = lcvm_opt_time(L, t, "start", o.start);
    o.acquisition_seconds = lcvm_opt_seconds(L, t, "acquisition", o.acquisition_seconds);
    o.duration_seconds = lcvm_opt_seconds(L, t, "duration", o.duration_seconds);
    o.unit_seconds = lcvm_opt_seconds(L, t, "unit", o.unit_seconds);
    memset(&s, 0, sizeof s);
    s.L = L;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TFUNCTION);
        s.fn = 2;
        lua_settop(L, 2);
    } else {
        lua_settop(L, 1);
        lua_newtable(L);
        lua_newtable(L);
        lua_newtable(L);
        s.out = 2;
    }
    luaL_checkstack(L, 8, "simulate");
    st = cvm_simulate(&o, sim_cb, &s);
    if (s.failed) {
        return lua_error(L); /* the callback's error, now outside the library */
    }
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    if (s.fn != 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "customer");
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "time");
    lua_pushvalue(L, 4);
    lua_setfield(L, -2, "amount");
    return 1;
}

void lcvm_open_clv(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"clv", l_clv},
        {"load_clv", l_load_clv},
        {"spend", l_spend},
        {"load_spend", l_load_spend},
        {"retention", l_retention},
        {"load_retention", l_load_retention},
        {"simulate", l_simulate},
        {NULL, NULL}
    };
    lcvm_register(L, LCVM_CLV, clv_methods, clv_close);
    lcvm_register(L, LCVM_SPEND, spend_methods, spend_close);
    lcvm_register(L, LCVM_RETENTION, retention_methods, retention_close);
    luaL_setfuncs(L, fns, 0);
}
