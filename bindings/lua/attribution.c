/* libcvm Lua 5.4 binding — cvm.attribution: journeys, models, credit, ROI.
 * Per-channel results are tables keyed by channel name; :channels() gives
 * the channel order (the library's first-appearance order). */
#include "lcvm.h"

#include <string.h>

static cvm_attribution *check_attr(lua_State *L, int idx)
{
    return (cvm_attribution *)lcvm_check(L, idx, LCVM_ATTRIBUTION);
}

LCVM_CLOSE(attr_close, LCVM_ATTRIBUTION, cvm_attribution, cvm_attribution_free)

static int attr_result(lua_State *L, cvm_attribution *a, cvm_status st)
{
    return lcvm_result(L, st, st == CVM_OK ? NULL : cvm_attribution_errmsg(a));
}

/* cvm.attribution{lookback=30 days (seconds or unit name; 0: none), separator=">"} */
static int l_attribution(lua_State *L)
{
    int t = lcvm_opt_table(L, 1);
    cvm_attribution_options o;
    cvm_attribution *a = NULL;
    lcvm_handle *h;
    const char *sep;
    cvm_status st;
    cvm_attribution_options_init(&o, sizeof o);
    o.lookback_seconds = lcvm_opt_seconds(L, t, "lookback", o.lookback_seconds);
    sep = lcvm_opt_string(L, t, "separator", NULL);
    if (sep != NULL) {
        luaL_argcheck(L, strlen(sep) == 1, 1, "separator must be one byte");
        o.separator = (unsigned char)sep[0];
    }
    h = lcvm_new_handle(L, LCVM_ATTRIBUTION);
    st = cvm_attribution_new(&a, &o);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    h->p = a;
    return 1;
}

/* :add_path(path, conversions [, value [, nulls]]) */
static int attr_add_path(lua_State *L)
{
    cvm_attribution *a = check_attr(L, 1);
    size_t len;
    const char *path = luaL_checklstring(L, 2, &len);
    double conv = (double)luaL_checknumber(L, 3);
    double value = (double)luaL_optnumber(L, 4, 0);
    double nulls = (double)luaL_optnumber(L, 5, 0);
    return attr_result(L, a, cvm_attribution_add_path(a, path, len, conv, value, nulls));
}

/* A column option: a name, or false for none (value, nulls). */
static const char *column_opt(lua_State *L, int t, const char *key, const char *def)
{
    const char *v = def;
    if (t == 0) {
        return def;
    }
    switch (lua_getfield(L, t, key)) {
    case LUA_TNIL:
        break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, -1)) {
            luaL_error(L, "option '%s' must be a column name or false", key);
        }
        v = NULL;
        break;
    case LUA_TSTRING:
        v = lua_tostring(L, -1); /* held by the options table */
        break;
    default:
        luaL_error(L, "option '%s' must be a column name or false", key);
    }
    lua_pop(L, 1);
    return v;
}

/* :load_csv(path [, {path=, conversions=, value= | false, nulls= | false, delimiter=}]) */
static int attr_load_csv(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 3);
    cvm_attribution *a = check_attr(L, 1);
    const char *path = luaL_checkstring(L, 2);
    int t = lcvm_opt_table(L, 3);
    cvm_paths_csv_options o;
    const char *delim;
    cvm_paths_csv_options_init(&o, sizeof o);
    o.path_column = column_opt(L, t, "path", o.path_column);
    o.conversions_column = column_opt(L, t, "conversions", o.conversions_column);
    o.value_column = column_opt(L, t, "value", o.value_column);
    o.null_column = column_opt(L, t, "nulls", o.null_column);
    delim = lcvm_opt_string(L, t, "delimiter", NULL);
    if (delim != NULL) {
        luaL_argcheck(L, strlen(delim) == 1, 3, "delimiter must be one byte");
        o.delimiter = (unsigned char)delim[0];
    }
    return attr_result(L, a, cvm_attribution_load_csv(a, path, &o));
}

/* :add_touch(id, channel, time) */
static int attr_add_touch(lua_State *L)
{
    cvm_attribution *a = check_attr(L, 1);
    size_t idlen, chlen;
    const char *id = luaL_checklstring(L, 2, &idlen);
    const char *ch = luaL_checklstring(L, 3, &chlen);
    int64_t time = lcvm_check_time(L, 4);
    return attr_result(L, a, cvm_attribution_add_touch(a, id, idlen, ch, chlen, time));
}

/* :add_conversion(id, time [, value]) */
static int attr_add_conversion(lua_State *L)
{
    cvm_attribution *a = check_attr(L, 1);
    size_t idlen;
    const char *id = luaL_checklstring(L, 2, &idlen);
    int64_t time = lcvm_check_time(L, 3);
    double value = (double)luaL_optnumber(L, 4, 0);
    return attr_result(L, a, cvm_attribution_add_conversion(a, id, idlen, time, value));
}

static int attr_channel_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)cvm_attribution_channel_count(check_attr(L, 1)));
    return 1;
}

/* :channel_name(i) (1-based) -> name | nil */
static int attr_channel_name(lua_State *L)
{
    cvm_attribution *a = check_attr(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    const char *nm = i < 1 ? NULL : cvm_attribution_channel_name(a, (size_t)(i - 1));
    if (nm == NULL) {
        luaL_pushfail(L);
    } else {
        lua_pushstring(L, nm);
    }
    return 1;
}

static void push_channels(lua_State *L, cvm_attribution *a)
{
    size_t n = cvm_attribution_channel_count(a), i;
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushstring(L, cvm_attribution_channel_name(a, i));
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
}

/* :channels() -> {name, ...} */
static int attr_channels(lua_State *L)
{
    push_channels(L, check_attr(L, 1));
    return 1;
}

/* Push {channel name = v[i]}. */
static void push_by_channel(lua_State *L, cvm_attribution *a, const double *v, size_t n)
{
    size_t i;
    lua_createtable(L, 0, (int)n);
    for (i = 0; i < n; i++) {
        lua_pushnumber(L, v[i]);
        lua_setfield(L, -2, cvm_attribution_channel_name(a, i));
    }
}

static const char *const attr_models[] = {"first", "last", "linear", "decay", "position",
                                          "markov", "shapley", NULL};
static const char *const shapley_values[] = {"conversions", "rate", NULL};

/* :run{model="markov", order=1, max_steps=0, use_nulls=true, shapley="conversions",
 *      half_life=7 days (seconds or unit), first_share=0.4, last_share=0.4} */
static int attr_run(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 2);
    cvm_attribution *a = check_attr(L, 1);
    int t = lcvm_opt_table(L, 2);
    cvm_attribution_run_options o;
    cvm_attribution_run_options_init(&o, sizeof o);
    o.model = lcvm_opt_enum(L, t, "model", attr_models, o.model);
    o.order = (int32_t)lcvm_opt_integer(L, t, "order", o.order);
    o.max_steps = (int32_t)lcvm_opt_integer(L, t, "max_steps", o.max_steps);
    o.use_nulls = lcvm_opt_bool(L, t, "use_nulls", o.use_nulls);
    o.shapley = lcvm_opt_enum(L, t, "shapley", shapley_values, o.shapley);
    o.half_life_seconds = (double)lcvm_opt_seconds(L, t, "half_life", (int64_t)o.half_life_seconds);
    o.first_share = lcvm_opt_number(L, t, "first_share", o.first_share);
    o.last_share = lcvm_opt_number(L, t, "last_share", o.last_share);
    return attr_result(L, a, cvm_attribution_run(a, &o));
}

/* :credit() -> {channel = conversions}, {channel = value} */
static int attr_credit(lua_State *L)
{
    cvm_attribution *a = check_attr(L, 1);
    size_t n = cvm_attribution_channel_count(a);
    double *c = lcvm_buffer(L, n), *v = lcvm_buffer(L, n);
    cvm_status st = cvm_attribution_credit(a, c, v, n);
    if (st != CVM_OK) {
        return attr_result(L, a, st);
    }
    push_by_channel(L, a, c, n);
    push_by_channel(L, a, v, n);
    return 2;
}

/* :removal_effects() -> {channel = effect}, p_conversion */
static int attr_removal_effects(lua_State *L)
{
    cvm_attribution *a = check_attr(L, 1);
    size_t n = cvm_attribution_channel_count(a);
    double *e = lcvm_buffer(L, n), p = 0;
    cvm_status st = cvm_attribution_removal_effects(a, e, n, &p);
    if (st != CVM_OK) {
        return attr_result(L, a, st);
    }
    push_by_channel(L, a, e, n);
    lua_pushnumber(L, p);
    return 2;
}

static int attr_state_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)cvm_attribution_state_count(check_attr(L, 1)));
    return 1;
}

/* :state_name(i) (1-based: 1 "(start)", 2 "(conversion)", 3 "(null)", ...) */
static int attr_state_name(lua_State *L)
{
    cvm_attribution *a = check_attr(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    const char *nm = i < 1 ? NULL : cvm_attribution_state_name(a, (size_t)(i - 1));
    if (nm == NULL) {
        luaL_pushfail(L);
    } else {
        lua_pushstring(L, nm);
    }
    return 1;
}

/* :transitions() -> matrix (rows of states numbers), state names */
static int attr_transitions(lua_State *L)
{
    cvm_attribution *a = check_attr(L, 1);
    size_t s = cvm_attribution_state_count(a), i, j;
    double *mtx;
    cvm_status st;
    if (s > 8192) {
        return lcvm_fail(L, CVM_E_RANGE, "transition matrix too large");
    }
    mtx = lcvm_buffer(L, s * s);
    st = cvm_attribution_transitions(a, mtx, s * s);
    if (st != CVM_OK) {
        return attr_result(L, a, st);
    }
    lua_createtable(L, (int)s, 0);
    for (i = 0; i < s; i++) {
        lua_createtable(L, (int)s, 0);
        for (j = 0; j < s; j++) {
            lua_pushnumber(L, mtx[i * s + j]);
            lua_rawseti(L, -2, (lua_Integer)(j + 1));
        }
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
    lua_createtable(L, (int)s, 0);
    for (i = 0; i < s; i++) {
        lua_pushstring(L, cvm_attribution_state_name(a, i));
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
    return 2;
}

/* :roi(spend) spend: {channel = amount} (missing channels: 0) or an array in
 * channel order -> {channel = roi}, {channel = cost per conversion} */
static int attr_roi(lua_State *L)
{
    cvm_attribution *a = check_attr(L, 1);
    size_t n = cvm_attribution_channel_count(a), i;
    double *spend = lcvm_buffer(L, n), *roi = lcvm_buffer(L, n), *cost = lcvm_buffer(L, n);
    char err[LCVM_ERRLEN] = "";
    cvm_status st;
    luaL_checktype(L, 2, LUA_TTABLE);
    for (i = 0; i < n; i++) {
        int ok = 1;
        if (lua_getfield(L, 2, cvm_attribution_channel_name(a, i)) == LUA_TNIL) {
            lua_pop(L, 1);
            lua_rawgeti(L, 2, (lua_Integer)(i + 1));
        }
        spend[i] = lua_isnil(L, -1) ? 0.0 : (double)lua_tonumberx(L, -1, &ok);
        if (!lua_isnil(L, -1) && !ok) {
            return luaL_error(L, "spend of channel '%s' is not a number",
                              cvm_attribution_channel_name(a, i));
        }
        lua_pop(L, 1);
    }
    st = cvm_attribution_roi(a, spend, n, roi, cost, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    push_by_channel(L, a, roi, n);
    push_by_channel(L, a, cost, n);
    return 2;
}

static int attr_errmsg(lua_State *L)
{
    lua_pushstring(L, cvm_attribution_errmsg(check_attr(L, 1)));
    return 1;
}

static const luaL_Reg attr_methods[] = {
    {"add_path", attr_add_path},
    {"load_csv", attr_load_csv},
    {"add_touch", attr_add_touch},
    {"add_conversion", attr_add_conversion},
    {"channel_count", attr_channel_count},
    {"channel_name", attr_channel_name},
    {"channels", attr_channels},
    {"run", attr_run},
    {"credit", attr_credit},
    {"removal_effects", attr_removal_effects},
    {"state_count", attr_state_count},
    {"state_name", attr_state_name},
    {"transitions", attr_transitions},
    {"roi", attr_roi},
    {"errmsg", attr_errmsg},
    {NULL, NULL}
};

void lcvm_open_attribution(lua_State *L)
{
    lcvm_register(L, LCVM_ATTRIBUTION, attr_methods, attr_close);
    lua_pushcfunction(L, l_attribution);
    lua_setfield(L, -2, "attribution");
}
