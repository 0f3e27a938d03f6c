/* libcvm Lua 5.4 binding — cvm.defaults(kind): the library's default options
 * (from the cvm_*_options_init functions) as a Lua table with the keys the
 * binding's option tables take. Times and durations are in seconds; an unset
 * time (CVM_TIME_NONE) is left out. */
#include "lcvm.h"

#include <string.h>

static void set_num(lua_State *L, const char *key, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, key);
}

static void set_int(lua_State *L, const char *key, int64_t v)
{
    if (v != CVM_TIME_NONE) {
        lua_pushinteger(L, (lua_Integer)v);
        lua_setfield(L, -2, key);
    }
}

static void set_bool(lua_State *L, const char *key, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, key);
}

static void set_str(lua_State *L, const char *key, const char *v)
{
    if (v != NULL) {
        lua_pushstring(L, v);
        lua_setfield(L, -2, key);
    }
}

static void set_char(lua_State *L, const char *key, int32_t c)
{
    char s[2];
    s[0] = (char)c;
    s[1] = '\0';
    set_str(L, key, s);
}

static void set_array(lua_State *L, const char *key, const double *a, size_t n)
{
    lcvm_push_doubles(L, a, n);
    lua_setfield(L, -2, key);
}

static const char *const kinds[] = {
    "customers", "csv", "summary", "clv", "fit", "model", "value", "simulate", "rfm",
    "kmeans", "tiers", "lifecycle", "attribution", "paths_csv", "run", NULL
};

/* cvm.defaults(kind) -> table | fail, msg, code (CVM_E_ABI from an init). */
static int l_defaults(lua_State *L)
{
    int which = luaL_checkoption(L, 1, NULL, kinds);
    cvm_status st = CVM_OK;
    lua_newtable(L);
    switch (which) {
    case 0: {
        cvm_customers_options o;
        st = cvm_customers_options_init(&o, sizeof o);
        set_int(L, "period", o.period_seconds);
        set_int(L, "origin", o.period_origin);
        set_int(L, "calibration_end", o.calibration_end);
        break;
    }
    case 1: {
        cvm_csv_options o;
        static const char *const df[] = {"auto", "iso", "yyyymmdd", "unix"};
        st = cvm_csv_options_init(&o, sizeof o);
        set_int(L, "id", o.id_index);
        set_int(L, "date", o.date_index);
        set_int(L, "amount", o.amount_index);
        set_str(L, "date_format", o.date_format >= 0 && o.date_format <= 3 ? df[o.date_format] : NULL);
        set_char(L, "delimiter", o.delimiter);
        set_bool(L, "whitespace", o.whitespace);
        set_bool(L, "header", o.has_header);
        break;
    }
    case 2: {
        cvm_summary_options o;
        st = cvm_summary_options_init(&o, sizeof o);
        set_int(L, "unit", o.unit_seconds);
        set_int(L, "observation_end", o.observation_end);
        break;
    }
    case 3: {
        cvm_clv_options o;
        st = cvm_clv_options_init(&o, sizeof o);
        set_str(L, "model", cvm_model_name(o.kind));
        break;
    }
    case 4: {
        cvm_fit_options o;
        st = cvm_fit_options_init(&o, sizeof o);
        set_num(L, "penalizer", o.penalizer);
        set_num(L, "tolerance", o.tolerance);
        set_int(L, "max_iterations", o.max_iterations);
        set_int(L, "starts", o.starts);
        break;
    }
    case 5: {
        cvm_model_options o;
        st = cvm_model_options_init(&o, sizeof o);
        break;
    }
    case 6: {
        cvm_value_options o;
        st = cvm_value_options_init(&o, sizeof o);
        set_int(L, "periods", o.periods);
        set_num(L, "period_length", o.period_length);
        set_num(L, "discount_rate", o.discount_rate);
        set_num(L, "margin", o.margin);
        break;
    }
    case 7: {
        cvm_simulate_options o;
        st = cvm_simulate_options_init(&o, sizeof o);
        set_int(L, "seed", (int64_t)o.seed);
        set_int(L, "customers", (int64_t)o.customers);
        set_str(L, "model", cvm_model_name(o.model));
        set_bool(L, "spend", o.spend);
        set_array(L, "params", o.params, 4);
        set_array(L, "spend_params", o.spend_params, 3);
        set_int(L, "start", o.start);
        set_int(L, "acquisition", o.acquisition_seconds);
        set_int(L, "duration", o.duration_seconds);
        set_int(L, "unit", o.unit_seconds);
        break;
    }
    case 8: {
        cvm_rfm_options o;
        st = cvm_rfm_options_init(&o, sizeof o);
        set_int(L, "bins", o.bins);
        set_str(L, "ties", o.ties == CVM_RFM_RANK ? "rank" : "quantile");
        set_str(L, "map", o.map == CVM_RFM_MAP_RF_GRID ? "rf_grid" : "rfm");
        break;
    }
    case 9: {
        cvm_kmeans_options o;
        static const char *const sc[] = {"none", "zscore", "log1p_zscore"};
        st = cvm_kmeans_options_init(&o, sizeof o);
        set_int(L, "seed", (int64_t)o.seed);
        set_num(L, "tolerance", o.tolerance);
        set_int(L, "k", o.k);
        set_int(L, "n_init", o.n_init);
        set_int(L, "max_iterations", o.max_iterations);
        set_str(L, "scaling", o.scaling >= 0 && o.scaling <= 2 ? sc[o.scaling] : NULL);
        break;
    }
    case 10: {
        cvm_tiers_options o;
        static const double shares[] = {0.01, 0.10, 0.50};
        st = cvm_tiers_options_init(&o, sizeof o);
        if (o.top_shares != NULL) {
            set_array(L, "shares", o.top_shares, o.nshares);
        } else {
            set_array(L, "shares", shares, 3); /* the documented built-in shares */
        }
        break;
    }
    case 11: {
        cvm_lifecycle_options o;
        st = cvm_lifecycle_options_init(&o, sizeof o);
        set_num(L, "new_age", o.new_age);
        set_num(L, "at_risk_gaps", o.at_risk_gaps);
        set_num(L, "lapsed_gaps", o.lapsed_gaps);
        set_num(L, "at_risk_p_alive", o.at_risk_p_alive);
        set_num(L, "lapsed_p_alive", o.lapsed_p_alive);
        break;
    }
    case 12: {
        cvm_attribution_options o;
        st = cvm_attribution_options_init(&o, sizeof o);
        set_int(L, "lookback", o.lookback_seconds);
        set_char(L, "separator", o.separator);
        break;
    }
    case 13: {
        cvm_paths_csv_options o;
        st = cvm_paths_csv_options_init(&o, sizeof o);
        set_str(L, "path", o.path_column);
        set_str(L, "conversions", o.conversions_column);
        set_str(L, "value", o.value_column);
        set_str(L, "nulls", o.null_column);
        set_char(L, "delimiter", o.delimiter);
        break;
    }
    default: {
        cvm_attribution_run_options o;
        static const char *const models[] = {"first", "last", "linear", "decay", "position",
                                             "markov", "shapley"};
        st = cvm_attribution_run_options_init(&o, sizeof o);
        set_str(L, "model", o.model >= 0 && o.model <= 6 ? models[o.model] : NULL);
        set_int(L, "order", o.order);
        set_int(L, "max_steps", o.max_steps);
        set_bool(L, "use_nulls", o.use_nulls);
        set_str(L, "shapley", o.shapley == CVM_SHAPLEY_RATE ? "rate" : "conversions");
        set_num(L, "half_life", o.half_life_seconds);
        set_num(L, "first_share", o.first_share);
        set_num(L, "last_share", o.last_share);
        break;
    }
    }
    if (st != CVM_OK) {
        return lcvm_fail(L, st, NULL);
    }
    return 1;
}

void lcvm_open_defaults(lua_State *L)
{
    lua_pushcfunction(L, l_defaults);
    lua_setfield(L, -2, "defaults");
}
