/* libcvm Lua 5.4 binding — helpers shared by the module's source files.
 * Conventions (STYLE.md §10, after Lua's liolib.c):
 *  - every handle is a full userdata holding one pointer, with the metatable
 *    "cvm.<type>" made by luaL_newmetatable; it is created closed (NULL)
 *    before the C object, so a failed constructor leaves nothing to free;
 *  - __gc, __close and :close() share one idempotent release;
 *  - a failure of the library returns fail (nil), message, code, where code
 *    is the cvm_status number (cvm.status maps names to numbers and
 *    cvm.strerror(code) gives the generic text); misuse of the binding
 *    itself (wrong argument types, a closed handle) raises a Lua error;
 *  - arrays are Lua sequences, 1-based; customer, cluster, tier, segment
 *    and channel indices are 1-based too. */
#ifndef LCVM_H
#define LCVM_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>

#include <cvm.h>

/* A handle: the C object (NULL once closed) and a little RFM state. */
typedef struct lcvm_handle {
    void *p;
    size_t n;     /* RFM: rows of the last fit */
    int32_t bins; /* RFM: k, 0 when unknown (loaded) */
} lcvm_handle;

#define LCVM_ERRLEN 512

/* Push fail, message (or cvm_strerror(st) when msg is NULL or empty), code. */
int lcvm_fail(lua_State *L, cvm_status st, const char *msg);
/* Push true, or the failure triple. */
int lcvm_result(lua_State *L, cvm_status st, const char *msg);

/* A new closed handle with metatable `tname` on the stack. */
lcvm_handle *lcvm_new_handle(lua_State *L, const char *tname);
/* The open handle at `idx`; raises for another type or a closed handle. */
void *lcvm_check(lua_State *L, int idx, const char *tname);
lcvm_handle *lcvm_check_handle(lua_State *L, int idx, const char *tname);
/* Define `static int name(lua_State *L)`: the one idempotent release that
 * __gc, __close and :close() share for handles of metatable `tname` holding
 * a `type *` freed by `freefn`. */
#define LCVM_CLOSE(name, tname, type, freefn)                                    \
    static int name(lua_State *L)                                                \
    {                                                                            \
        lcvm_handle *h_ = (lcvm_handle *)luaL_checkudata(L, 1, tname);           \
        if (h_->p != NULL) {                                                     \
            freefn((type *)h_->p);                                               \
            h_->p = NULL;                                                        \
        }                                                                        \
        return 0;                                                                \
    }

/* Register a handle metatable: methods, __index, __gc/__close (= close), __tostring. */
void lcvm_register(lua_State *L, const char *tname, const luaL_Reg *methods, lua_CFunction close);

/* Arrays. The buffers are userdata left on the stack (collected by Lua). */
double *lcvm_doubles(lua_State *L, int idx, size_t *n);
double *lcvm_opt_doubles(lua_State *L, int idx, size_t *n); /* NULL for nil/none */
double *lcvm_field_doubles(lua_State *L, int t, const char *key, size_t *n, int required);
int32_t *lcvm_ints(lua_State *L, int idx, size_t *n, int32_t bias); /* value - bias */
double *lcvm_buffer(lua_State *L, size_t n);
int32_t *lcvm_ibuffer(lua_State *L, size_t n);
void lcvm_push_doubles(lua_State *L, const double *a, size_t n);
void lcvm_push_ints(lua_State *L, const int32_t *a, size_t n, int32_t bias); /* value + bias */
void lcvm_check_len(lua_State *L, size_t n, size_t want, const char *what);

/* Options tables: `t` is an absolute index, or 0 for no table. */
int lcvm_opt_table(lua_State *L, int idx);
lua_Number lcvm_opt_number(lua_State *L, int t, const char *key, lua_Number def);
lua_Integer lcvm_opt_integer(lua_State *L, int t, const char *key, lua_Integer def);
int lcvm_opt_bool(lua_State *L, int t, const char *key, int def);
const char *lcvm_opt_string(lua_State *L, int t, const char *key, const char *def);
/* A time: integer seconds since the epoch or a date string (cvm_parse_time). */
int64_t lcvm_check_time(lua_State *L, int idx);
int64_t lcvm_opt_time(lua_State *L, int t, const char *key, int64_t def);
/* A duration: seconds, or "second", "minute", "hour", "day", "week". */
int64_t lcvm_opt_seconds(lua_State *L, int t, const char *key, int64_t def);
/* An enum option given by name from a NULL-terminated list (or its number). */
int32_t lcvm_opt_enum(lua_State *L, int t, const char *key, const char *const names[], int32_t def);

void lcvm_push_fit_info(lua_State *L, const cvm_fit_info *info);
void lcvm_fit_options(lua_State *L, int t, cvm_fit_options *o);

/* Module parts: each adds its constructors and functions to the table on top. */
void lcvm_open_customers(lua_State *L);
void lcvm_open_clv(lua_State *L);
void lcvm_open_segment(lua_State *L);
void lcvm_open_attribution(lua_State *L);
void lcvm_open_defaults(lua_State *L);

#define LCVM_CUSTOMERS "cvm.customers"
#define LCVM_CLV "cvm.clv"
#define LCVM_SPEND "cvm.spend"
#define LCVM_RETENTION "cvm.retention"
#define LCVM_RFM "cvm.rfm"
#define LCVM_KMEANS "cvm.kmeans"
#define LCVM_TIERS "cvm.tiers"
#define LCVM_ATTRIBUTION "cvm.attribution"

#endif
