/* libcvm Lua 5.4 binding — the module `cvm`: shared helpers and the
 * top-level functions (version, status codes, times, model names). See
 * lcvm.h for the conventions. */
#include "lcvm.h"

#include <stdio.h>
#include <string.h>

/* ---- Results ---------------------------------------------------------------- */

int lcvm_fail(lua_State *L, cvm_status st, const char *msg)
{
    luaL_pushfail(L);
    lua_pushstring(L, (msg != NULL && msg[0] != '\0') ? msg : cvm_strerror(st));
    lua_pushinteger(L, (lua_Integer)st);
    return 3;
}

int lcvm_result(lua_State *L, cvm_status st, const char *msg)
{
    if (st != CVM_OK) {
        return lcvm_fail(L, st, msg);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- Handles ---------------------------------------------------------------- */

lcvm_handle *lcvm_new_handle(lua_State *L, const char *tname)
{
    lcvm_handle *h = (lcvm_handle *)lua_newuserdatauv(L, sizeof *h, 0);
    h->p = NULL;
    h->n = 0;
    h->bins = 0;
    luaL_setmetatable(L, tname);
    return h;
}

lcvm_handle *lcvm_check_handle(lua_State *L, int idx, const char *tname)
{
    lcvm_handle *h = (lcvm_handle *)luaL_checkudata(L, idx, tname);
    if (h->p == NULL) {
        luaL_error(L, "attempt to use a closed %s", tname);
    }
    return h;
}

void *lcvm_check(lua_State *L, int idx, const char *tname)
{
    return lcvm_check_handle(L, idx, tname)->p;
}

static int handle_tostring(lua_State *L)
{
    lcvm_handle *h = (lcvm_handle *)lua_touserdata(L, 1);
    luaL_getmetafield(L, 1, "__name");
    if (h == NULL || h->p == NULL) {
        lua_pushfstring(L, "%s (closed)", lua_tostring(L, -1));
    } else {
        lua_pushfstring(L, "%s (%p)", lua_tostring(L, -1), h->p);
    }
    return 1;
}

void lcvm_register(lua_State *L, const char *tname, const luaL_Reg *methods, lua_CFunction close)
{
    luaL_newmetatable(L, tname);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "close");
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, handle_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
}

/* ---- Arrays ----------------------------------------------------------------- */

double *lcvm_buffer(lua_State *L, size_t n)
{
    return (double *)lua_newuserdatauv(L, (n > 0 ? n : 1) * sizeof(double), 0);
}

int32_t *lcvm_ibuffer(lua_State *L, size_t n)
{
    return (int32_t *)lua_newuserdatauv(L, (n > 0 ? n : 1) * sizeof(int32_t), 0);
}

double *lcvm_doubles(lua_State *L, int idx, size_t *n)
{
    size_t len, i;
    double *a;
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    len = (size_t)lua_rawlen(L, idx);
    a = lcvm_buffer(L, len);
    for (i = 0; i < len; i++) {
        int ok;
        lua_rawgeti(L, idx, (lua_Integer)(i + 1));
        a[i] = (double)lua_tonumberx(L, -1, &ok);
        if (!ok) {
            luaL_error(L, "bad argument #%d: element %d is not a number", idx, (int)(i + 1));
        }
        lua_pop(L, 1);
    }
    *n = len;
    return a;
}

double *lcvm_opt_doubles(lua_State *L, int idx, size_t *n)
{
    if (lua_isnoneornil(L, idx)) {
        *n = 0;
        return NULL;
    }
    return lcvm_doubles(L, idx, n);
}

double *lcvm_field_doubles(lua_State *L, int t, const char *key, size_t *n, int required)
{
    double *a;
    int top;
    if (t == 0) {
        if (required) {
            luaL_error(L, "missing field '%s'", key);
        }
        *n = 0;
        return NULL;
    }
    lua_getfield(L, t, key);
    top = lua_gettop(L);
    if (lua_isnil(L, top)) {
        lua_pop(L, 1);
        if (required) {
            luaL_error(L, "missing field '%s'", key);
        }
        *n = 0;
        return NULL;
    }
    if (!lua_istable(L, top)) {
        luaL_error(L, "field '%s' must be an array of numbers", key);
    }
    a = lcvm_doubles(L, top, n);
    lua_remove(L, top); /* keep the buffer, drop the table */
    return a;
}

int32_t *lcvm_ints(lua_State *L, int idx, size_t *n, int32_t bias)
{
    size_t len, i;
    int32_t *a;
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    len = (size_t)lua_rawlen(L, idx);
    a = lcvm_ibuffer(L, len);
    for (i = 0; i < len; i++) {
        int ok;
        lua_Integer v;
        lua_rawgeti(L, idx, (lua_Integer)(i + 1));
        v = lua_tointegerx(L, -1, &ok);
        if (!ok || v - bias < INT32_MIN || v - bias > INT32_MAX) {
            luaL_error(L, "bad argument #%d: element %d is not an integer", idx, (int)(i + 1));
        }
        a[i] = (int32_t)(v - bias);
        lua_pop(L, 1);
    }
    *n = len;
    return a;
}

void lcvm_push_doubles(lua_State *L, const double *a, size_t n)
{
    size_t i;
    lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushnumber(L, (lua_Number)a[i]);
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
}

void lcvm_push_ints(lua_State *L, const int32_t *a, size_t n, int32_t bias)
{
    size_t i;
    lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushinteger(L, (lua_Integer)a[i] + bias);
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
}

void lcvm_check_len(lua_State *L, size_t n, size_t want, const char *what)
{
    if (n != want) {
        luaL_error(L, "%s has %d elements, expected %d", what, (int)n, (int)want);
    }
}

/* ---- Options ---------------------------------------------------------------- */

int lcvm_opt_table(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx)) {
        return 0;
    }
    luaL_checktype(L, idx, LUA_TTABLE);
    return lua_absindex(L, idx);
}

lua_Number lcvm_opt_number(lua_State *L, int t, const char *key, lua_Number def)
{
    lua_Number v = def;
    if (t == 0) {
        return def;
    }
    if (lua_getfield(L, t, key) != LUA_TNIL) {
        int ok;
        v = lua_tonumberx(L, -1, &ok);
        if (!ok) {
            luaL_error(L, "option '%s' must be a number", key);
        }
    }
    lua_pop(L, 1);
    return v;
}

lua_Integer lcvm_opt_integer(lua_State *L, int t, const char *key, lua_Integer def)
{
    lua_Integer v = def;
    if (t == 0) {
        return def;
    }
    if (lua_getfield(L, t, key) != LUA_TNIL) {
        int ok;
        v = lua_tointegerx(L, -1, &ok);
        if (!ok) {
            luaL_error(L, "option '%s' must be an integer", key);
        }
    }
    lua_pop(L, 1);
    return v;
}

int lcvm_opt_bool(lua_State *L, int t, const char *key, int def)
{
    int v = def;
    if (t == 0) {
        return def;
    }
    if (lua_getfield(L, t, key) != LUA_TNIL) {
        v = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

/* The string stays valid while the options table holds it. */
const char *lcvm_opt_string(lua_State *L, int t, const char *key, const char *def)
{
    const char *v = def;
    if (t == 0) {
        return def;
    }
    if (lua_getfield(L, t, key) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING) {
            luaL_error(L, "option '%s' must be a string", key);
        }
        v = lua_tostring(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static int64_t to_time(lua_State *L, int idx, const char *what)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        int64_t t;
        if (cvm_parse_time(s, len, CVM_DATE_AUTO, &t) != CVM_OK) {
            luaL_error(L, "%s: '%s' is not a date", what, s);
        }
        return t;
    } else {
        int ok;
        lua_Integer v = lua_tointegerx(L, idx, &ok);
        if (!ok) {
            luaL_error(L, "%s must be a date string or integer seconds", what);
        }
        return (int64_t)v;
    }
}

int64_t lcvm_check_time(lua_State *L, int idx)
{
    char what[32];
    snprintf(what, sizeof what, "argument #%d", idx);
    return to_time(L, idx, what);
}

int64_t lcvm_opt_time(lua_State *L, int t, const char *key, int64_t def)
{
    int64_t v = def;
    if (t == 0) {
        return def;
    }
    if (lua_getfield(L, t, key) != LUA_TNIL) {
        v = to_time(L, lua_gettop(L), key);
    }
    lua_pop(L, 1);
    return v;
}

int64_t lcvm_opt_seconds(lua_State *L, int t, const char *key, int64_t def)
{
    static const char *const names[] = {"second", "minute", "hour", "day", "week", NULL};
    static const int64_t secs[] = {1, 60, 3600, 86400, 604800};
    int64_t v = def;
    if (t == 0) {
        return def;
    }
    if (lua_getfield(L, t, key) != LUA_TNIL) {
        if (lua_type(L, -1) == LUA_TSTRING) {
            v = secs[luaL_checkoption(L, -1, NULL, names)];
        } else {
            int ok;
            v = (int64_t)lua_tointegerx(L, -1, &ok);
            if (!ok) {
                luaL_error(L, "option '%s' must be whole seconds or a unit name", key);
            }
        }
    }
    lua_pop(L, 1);
    return v;
}

int32_t lcvm_opt_enum(lua_State *L, int t, const char *key, const char *const names[], int32_t def)
{
    int32_t v = def;
    if (t == 0) {
        return def;
    }
    if (lua_getfield(L, t, key) != LUA_TNIL) {
        if (lua_type(L, -1) == LUA_TSTRING) {
            v = (int32_t)luaL_checkoption(L, -1, NULL, names);
        } else {
            int ok;
            lua_Integer i = lua_tointegerx(L, -1, &ok);
            if (!ok || i < INT32_MIN || i > INT32_MAX) {
                luaL_error(L, "option '%s' must be a name or a number", key);
            }
            v = (int32_t)i;
        }
    }
    lua_pop(L, 1);
    return v;
}

void lcvm_push_fit_info(lua_State *L, const cvm_fit_info *info)
{
    lua_createtable(L, 0, 8);
    lua_pushboolean(L, info->fitted);
    lua_setfield(L, -2, "fitted");
    lua_pushboolean(L, info->converged);
    lua_setfield(L, -2, "converged");
    lua_pushinteger(L, info->iterations);
    lua_setfield(L, -2, "iterations");
    lua_pushboolean(L, info->has_stderr);
    lua_setfield(L, -2, "has_stderr");
    lua_pushnumber(L, info->loglik);
    lua_setfield(L, -2, "loglik");
    lua_pushnumber(L, info->weight);
    lua_setfield(L, -2, "weight");
    lua_pushinteger(L, (lua_Integer)info->rows);
    lua_setfield(L, -2, "rows");
    lua_pushinteger(L, (lua_Integer)info->patterns);
    lua_setfield(L, -2, "patterns");
}

/* Fit options from table `t` (penalizer, tolerance, initial, max_iterations,
 * starts). `initial` is left as a buffer on the stack. */
void lcvm_fit_options(lua_State *L, int t, cvm_fit_options *o)
{
    size_t n;
    cvm_fit_options_init(o, sizeof *o);
    o->penalizer = lcvm_opt_number(L, t, "penalizer", o->penalizer);
    o->tolerance = lcvm_opt_number(L, t, "tolerance", o->tolerance);
    o->max_iterations = (int32_t)lcvm_opt_integer(L, t, "max_iterations", o->max_iterations);
    o->starts = (int32_t)lcvm_opt_integer(L, t, "starts", o->starts);
    o->initial = lcvm_field_doubles(L, t, "initial", &n, 0);
}

/* ---- Module functions ------------------------------------------------------- */

/* cvm.version() -> "0.1.0", 100 (cvm_version_string, cvm_version). */
static int l_version(lua_State *L)
{
    lua_pushstring(L, cvm_version_string());
    lua_pushinteger(L, (lua_Integer)cvm_version());
    return 2;
}

/* cvm.strerror(code) -> text. */
static int l_strerror(lua_State *L)
{
    lua_Integer code = luaL_checkinteger(L, 1);
    lua_pushstring(L, cvm_strerror((cvm_status)(code < 0 || code > 1000 ? 1000 : code)));
    return 1;
}

static const char *const date_formats[] = {"auto", "iso", "yyyymmdd", "unix", NULL};

/* cvm.parse_time(text [, format]) -> seconds | fail, msg, code. */
static int l_parse_time(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int32_t format = (int32_t)luaL_checkoption(L, 2, "auto", date_formats);
    int64_t t;
    cvm_status st = cvm_parse_time(s, len, format, &t);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    lua_pushinteger(L, (lua_Integer)t);
    return 1;
}

/* cvm.format_date(seconds) -> "YYYY-MM-DD" | fail, msg, code. */
static int l_format_date(lua_State *L)
{
    char buf[16];
    cvm_status st = cvm_format_date(buf, sizeof buf, (int64_t)luaL_checkinteger(L, 1));
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    lua_pushstring(L, buf);
    return 1;
}

/* cvm.model_name(kind) -> name | nil; cvm.model_from_name(name) -> kind | fail. */
static int l_model_name(lua_State *L)
{
    lua_Integer k = luaL_checkinteger(L, 1);
    const char *name = (k < 0 || k > INT32_MAX) ? NULL : cvm_model_name((int32_t)k);
    if (name == NULL) {
        luaL_pushfail(L);
    } else {
        lua_pushstring(L, name);
    }
    return 1;
}

static int l_model_from_name(lua_State *L)
{
    int32_t kind;
    cvm_status st = cvm_model_from_name(luaL_checkstring(L, 1), &kind);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    lua_pushinteger(L, kind);
    return 1;
}

static const luaL_Reg module_functions[] = {
    {"version", l_version},
    {"strerror", l_strerror},
    {"parse_time", l_parse_time},
    {"format_date", l_format_date},
    {"model_name", l_model_name},
    {"model_from_name", l_model_from_name},
    {NULL, NULL}
};

static void push_status_table(lua_State *L)
{
    static const struct { const char *name; cvm_status code; } codes[] = {
        {"OK", CVM_OK}, {"INVALID", CVM_E_INVALID}, {"NOMEM", CVM_E_NOMEM}, {"ABI", CVM_E_ABI},
        {"IO", CVM_E_IO}, {"PARSE", CVM_E_PARSE}, {"RANGE", CVM_E_RANGE},
        {"NOT_FOUND", CVM_E_NOT_FOUND}, {"EMPTY", CVM_E_EMPTY}, {"FORMAT", CVM_E_FORMAT},
        {"NOT_CONVERGED", CVM_E_NOT_CONVERGED},
        {"MISMATCH", CVM_E_MISMATCH}
    };
    size_t i;
    lua_createtable(L, 0, (int)(sizeof codes / sizeof codes[0]));
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        lua_pushinteger(L, (lua_Integer)codes[i].code);
        lua_setfield(L, -2, codes[i].name);
    }
}

#if defined(__GNUC__) || defined(__clang__)
#define LCVM_EXPORT __attribute__((visibility("default")))
#else
#define LCVM_EXPORT
#endif

LCVM_EXPORT int luaopen_cvm(lua_State *L);

LCVM_EXPORT int luaopen_cvm(lua_State *L)
{
    luaL_checkversion(L);
    if (cvm_version() / 10000 != CVM_VERSION_MAJOR) {
        return luaL_error(L, "cvm: libcvm %s loaded, built against major version %d",
                          cvm_version_string(), CVM_VERSION_MAJOR);
    }
    luaL_newlib(L, module_functions);
    push_status_table(L);
    lua_setfield(L, -2, "status");
    lua_pushstring(L, cvm_version_string());
    lua_setfield(L, -2, "_VERSION");
    lcvm_open_customers(L);
    lcvm_open_clv(L);
    lcvm_open_segment(L);
    lcvm_open_attribution(L);
    lcvm_open_defaults(L);
    return 1;
}
