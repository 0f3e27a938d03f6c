/* libcvm Lua 5.4 binding — cvm.customers: the customer model. */
#include "lcvm.h"

#include <stdio.h>
#include <string.h>

static cvm_customers *check_customers(lua_State *L, int idx)
{
    return (cvm_customers *)lcvm_check(L, idx, LCVM_CUSTOMERS);
}

static int customers_fail(lua_State *L, cvm_customers *c, cvm_status st)
{
    return lcvm_fail(L, st, cvm_customers_errmsg(c));
}

static int customers_result(lua_State *L, cvm_customers *c, cvm_status st)
{
    return st == CVM_OK ? lcvm_result(L, st, NULL) : customers_fail(L, c, st);
}

LCVM_CLOSE(customers_close, LCVM_CUSTOMERS, cvm_customers, cvm_customers_free)

/* cvm.customers{period=, origin=, calibration_end=} */
static int l_customers(lua_State *L)
{
    int t = lcvm_opt_table(L, 1);
    cvm_customers_options o;
    lcvm_handle *h;
    cvm_customers *c = NULL;
    cvm_status st;
    cvm_customers_options_init(&o, sizeof o);
    o.period_seconds = lcvm_opt_seconds(L, t, "period", o.period_seconds);
    o.period_origin = lcvm_opt_time(L, t, "origin", o.period_origin);
    o.calibration_end = lcvm_opt_time(L, t, "calibration_end", o.calibration_end);
    h = lcvm_new_handle(L, LCVM_CUSTOMERS);
    st = cvm_customers_new(&c, &o);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    h->p = c;
    return 1;
}

/* cvm.load_customers(path) */
static int l_load_customers(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char err[LCVM_ERRLEN] = "";
    cvm_customers *c = NULL;
    lcvm_handle *h = lcvm_new_handle(L, LCVM_CUSTOMERS);
    cvm_status st = cvm_customers_load(&c, path, NULL, err, sizeof err);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, err);
    }
    h->p = c;
    return 1;
}

/* :add(id, time, amount) */
static int m_add(lua_State *L)
{
    cvm_customers *c = check_customers(L, 1);
    size_t len;
    const char *id = luaL_checklstring(L, 2, &len);
    int64_t time = lcvm_check_time(L, 3);
    double amount = (double)luaL_optnumber(L, 4, 0);
    return customers_result(L, c, cvm_customers_add(c, id, len, time, amount));
}

/* :add_batch(ids, times [, amounts]) */
static int m_add_batch(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 4);
    cvm_customers *c = check_customers(L, 1);
    size_t n, i, total = 0, na = 0;
    size_t *off;
    int64_t *times;
    char *data;
    double *amounts;
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    n = (size_t)lua_rawlen(L, 2);
    lcvm_check_len(L, (size_t)lua_rawlen(L, 3), n, "times");
    amounts = lcvm_opt_doubles(L, 4, &na);
    if (amounts != NULL) {
        lcvm_check_len(L, na, n, "amounts");
    }
    off = (size_t *)lua_newuserdatauv(L, (n + 1) * sizeof *off, 0);
    times = (int64_t *)lua_newuserdatauv(L, (n > 0 ? n : 1) * sizeof *times, 0);
    for (i = 0; i < n; i++) {
        size_t len;
        lua_rawgeti(L, 2, (lua_Integer)(i + 1));
        if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
            return luaL_error(L, "ids[%d] is not a string", (int)(i + 1));
        }
        lua_tolstring(L, -1, &len);
        total += len;
        lua_pop(L, 1);
        lua_rawgeti(L, 3, (lua_Integer)(i + 1));
        times[i] = lcvm_check_time(L, lua_gettop(L));
        lua_pop(L, 1);
    }
    data = (char *)lua_newuserdatauv(L, total > 0 ? total : 1, 0);
    off[0] = 0;
    for (i = 0; i < n; i++) {
        size_t len;
        const char *s;
        lua_rawgeti(L, 2, (lua_Integer)(i + 1));
        s = lua_tolstring(L, -1, &len);
        memcpy(data + off[i], s, len);
        off[i + 1] = off[i] + len;
        lua_pop(L, 1);
    }
    return customers_result(L, c, cvm_customers_add_batch(c, data, off, times, amounts, n));
}

static const char *const date_formats[] = {"auto", "iso", "yyyymmdd", "unix", NULL};

/* A column given as a 1-based index or a header name; false: none (amount). */
static void csv_column(lua_State *L, int t, const char *key, const char **name, int32_t *index)
{
    if (t == 0) {
        return;
    }
    switch (lua_getfield(L, t, key)) {
    case LUA_TNIL:
        break;
    case LUA_TSTRING:
        *name = lua_tostring(L, -1); /* held by the options table */
        break;
    case LUA_TBOOLEAN:
        if (!lua_toboolean(L, -1)) {
            *index = 0;
            break;
        }
        /* fallthrough */
    default: {
        int ok;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < 0 || v > INT32_MAX) {
            luaL_error(L, "option '%s' must be a column name or 1-based index", key);
        }
        *index = (int32_t)v;
    }
    }
    lua_pop(L, 1);
}

static void csv_options(lua_State *L, int t, cvm_csv_options *o)
{
    const char *delim;
    cvm_csv_options_init(o, sizeof *o);
    csv_column(L, t, "id", &o->id_column, &o->id_index);
    csv_column(L, t, "date", &o->date_column, &o->date_index);
    csv_column(L, t, "amount", &o->amount_column, &o->amount_index);
    o->date_format = lcvm_opt_enum(L, t, "date_format", date_formats, o->date_format);
    delim = lcvm_opt_string(L, t, "delimiter", NULL);
    if (delim != NULL) {
        if (strlen(delim) != 1) {
            luaL_error(L, "option 'delimiter' must be one byte");
        }
        o->delimiter = (unsigned char)delim[0];
    }
    o->whitespace = lcvm_opt_bool(L, t, "whitespace", o->whitespace);
    o->has_header = lcvm_opt_bool(L, t, "header", o->has_header);
}

/* :load_csv(path [, opts]) */
static int m_load_csv(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 3);
    cvm_customers *c = check_customers(L, 1);
    const char *path = luaL_checkstring(L, 2);
    cvm_csv_options o;
    csv_options(L, lcvm_opt_table(L, 3), &o);
    return customers_result(L, c, cvm_customers_load_csv(c, path, &o));
}

/* :load_csv_buffer(text [, opts [, name]]) */
static int m_load_csv_buffer(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 4);
    cvm_customers *c = check_customers(L, 1);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    const char *name = luaL_optstring(L, 4, NULL);
    cvm_csv_options o;
    csv_options(L, lcvm_opt_table(L, 3), &o);
    return customers_result(L, c, cvm_customers_load_csv_buffer(c, data, len, name, &o));
}

static int m_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)cvm_customers_count(check_customers(L, 1)));
    return 1;
}

static int m_transactions(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)cvm_customers_transactions(check_customers(L, 1)));
    return 1;
}

static int m_summary_rows(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)cvm_customers_summary_rows(check_customers(L, 1)));
    return 1;
}

/* :find(id) -> 1-based index | fail, msg, code */
static int m_find(lua_State *L)
{
    cvm_customers *c = check_customers(L, 1);
    size_t len, index;
    const char *id = luaL_checklstring(L, 2, &len);
    cvm_status st = cvm_customers_find(c, id, len, &index);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    lua_pushinteger(L, (lua_Integer)index + 1);
    return 1;
}

/* :id(index) -> id bytes */
static int m_id(lua_State *L)
{
    cvm_customers *c = check_customers(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    const char *id;
    size_t len;
    cvm_status st = i < 1 ? CVM_E_NOT_FOUND : cvm_customers_id(c, (size_t)(i - 1), &id, &len);
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    lua_pushlstring(L, id, len);
    return 1;
}

static void summary_options(lua_State *L, int t, cvm_summary_options *o)
{
    cvm_summary_options_init(o, sizeof *o);
    o->unit_seconds = lcvm_opt_seconds(L, t, "unit", o->unit_seconds);
    o->observation_end = lcvm_opt_time(L, t, "observation_end", o->observation_end);
}

static const char *const column_names[CVM_COL_COUNT] = {
    "frequency", "recency", "T", "monetary", "frequency_holdout", "monetary_holdout",
    "duration_holdout"
};

/* :summary{unit=, observation_end=} -> {frequency=, recency=, T=, monetary=,
 * frequency_holdout=, monetary_holdout=, duration_holdout=, index=, n=} with
 * aliases x = frequency and t_x = recency. */
static int m_summary(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 2);
    cvm_customers *c = check_customers(L, 1);
    cvm_summary_options o;
    size_t n, *index, i;
    double *col;
    int k;
    summary_options(L, lcvm_opt_table(L, 2), &o);
    n = cvm_customers_summary_rows(c);
    col = lcvm_buffer(L, n);
    index = (size_t *)lua_newuserdatauv(L, (n > 0 ? n : 1) * sizeof *index, 0);
    lua_createtable(L, 0, 12);
    for (k = 0; k < CVM_COL_COUNT; k++) {
        cvm_status st = cvm_customers_summary(c, &o, k, col, n);
        if (st != CVM_OK) {
            return customers_fail(L, c, st);
        }
        lcvm_push_doubles(L, col, n);
        lua_setfield(L, -2, column_names[k]);
    }
    lua_getfield(L, -1, "frequency");
    lua_setfield(L, -2, "x");
    lua_getfield(L, -1, "recency");
    lua_setfield(L, -2, "t_x");
    if (n > 0) {
        cvm_status st = cvm_customers_summary_index(c, index, n);
        if (st != CVM_OK) {
            return customers_fail(L, c, st);
        }
    }
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushinteger(L, (lua_Integer)index[i] + 1);
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
    lua_setfield(L, -2, "index");
    lua_pushinteger(L, (lua_Integer)n);
    lua_setfield(L, -2, "n");
    return 1;
}

/* :row(index [, opts]) -> {frequency=, recency=, ...} */
static int m_row(lua_State *L)
{
    /* optional arguments: buffers pushed below must not be read as them */
    lua_settop(L, 3);
    cvm_customers *c = check_customers(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    cvm_summary_options o;
    double out[CVM_COL_COUNT];
    cvm_status st;
    int k;
    summary_options(L, lcvm_opt_table(L, 3), &o);
    st = i < 1 ? CVM_E_NOT_FOUND : cvm_customers_row(c, (size_t)(i - 1), &o, out, CVM_COL_COUNT);
    if (st != CVM_OK) {
        return customers_fail(L, c, st);
    }
    lua_createtable(L, 0, CVM_COL_COUNT);
    for (k = 0; k < CVM_COL_COUNT; k++) {
        lua_pushnumber(L, out[k]);
        lua_setfield(L, -2, column_names[k]);
    }
    return 1;
}

static int m_save(lua_State *L)
{
    cvm_customers *c = check_customers(L, 1);
    return customers_result(L, c, cvm_customers_save(c, luaL_checkstring(L, 2)));
}

/* :repeat_curve(start, unit, n) -> cumulative repeat purchases */
static int m_repeat_curve(lua_State *L)
{
    cvm_customers *c = check_customers(L, 1);
    int64_t start = lcvm_check_time(L, 2);
    int64_t unit;
    lua_Integer n = luaL_checkinteger(L, 4);
    double *out;
    cvm_status st;
    lua_settop(L, 4);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "unit");
    unit = lcvm_opt_seconds(L, 5, "unit", 0);
    luaL_argcheck(L, n >= 0, 4, "negative length");
    out = lcvm_buffer(L, (size_t)n);
    st = cvm_customers_repeat_curve(c, start, unit, out, (size_t)n);
    if (st != CVM_OK) {
        return customers_fail(L, c, st);
    }
    lcvm_push_doubles(L, out, (size_t)n);
    return 1;
}

/* :merge(other) */
static int m_merge(lua_State *L)
{
    cvm_customers *c = check_customers(L, 1);
    cvm_customers *src = check_customers(L, 2);
    return customers_result(L, c, cvm_customers_merge(c, src));
}

static int m_errmsg(lua_State *L)
{
    lua_pushstring(L, cvm_customers_errmsg(check_customers(L, 1)));
    return 1;
}

static const luaL_Reg customers_methods[] = {
    {"add", m_add},
    {"add_batch", m_add_batch},
    {"load_csv", m_load_csv},
    {"load_csv_buffer", m_load_csv_buffer},
    {"count", m_count},
    {"transactions", m_transactions},
    {"summary_rows", m_summary_rows},
    {"find", m_find},
    {"id", m_id},
    {"summary", m_summary},
    {"row", m_row},
    {"save", m_save},
    {"repeat_curve", m_repeat_curve},
    {"merge", m_merge},
    {"errmsg", m_errmsg},
    {NULL, NULL}
};

void lcvm_open_customers(lua_State *L)
{
    lcvm_register(L, LCVM_CUSTOMERS, customers_methods, customers_close);
    lua_pushcfunction(L, l_customers);
    lua_setfield(L, -2, "customers");
    lua_pushcfunction(L, l_load_customers);
    lua_setfield(L, -2, "load_customers");
}
