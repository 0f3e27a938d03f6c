/* libcvm — customer lifetime value: transaction models and simulation. */
#ifndef CVM_CLV_H
#define CVM_CLV_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Transaction model kinds. */
typedef enum cvm_model_kind {
    CVM_MODEL_BGNBD = 0 /* BG/NBD (Fader, Hardie & Lee 2005): params r, alpha, a, b */
} cvm_model_kind;

/* Receives one simulated purchase: customer number (0-based), time in seconds
 * since the epoch and amount. Return nonzero to stop the simulation. */
typedef int (*cvm_transaction_fn)(void *userdata, size_t customer, int64_t time, double amount);

/* What to simulate. Rates are per `unit_seconds` (a week by default, as the
 * literature's CDNOW parameters are). */
typedef struct cvm_simulate_options {
    size_t size;              /* sizeof(cvm_simulate_options) */
    uint64_t seed;            /* the same seed gives the same stream on every platform */
    uint64_t customers;       /* number of customers */
    int32_t model;            /* a cvm_model_kind */
    int32_t spend;            /* 1: draw amounts from Gamma-Gamma(p, q, v); 0: amounts are 0 */
    double params[4];         /* model parameters in the literature's order */
    double spend_params[3];   /* Gamma-Gamma p, q, v */
    int64_t start;            /* earliest first purchase (seconds since the epoch) */
    int64_t acquisition_seconds; /* first purchases are uniform in [start, start + this) */
    int64_t duration_seconds; /* purchases stop at start + this */
    int64_t unit_seconds;     /* time unit of the rates */
} cvm_simulate_options;

/* Defaults: 1000 customers, seed 1, BG/NBD at CDNOW's published estimates
 * (0.243, 4.414, 0.793, 2.426 per week), Gamma-Gamma (6.25, 3.74, 15.44),
 * start 1997-01-01, first purchases over 12 weeks, 78 weeks in all. */
#define CVM_SIMULATE_OPTIONS_INIT                                                      \
    { sizeof(cvm_simulate_options), 1, 1000, CVM_MODEL_BGNBD, 1,                       \
      { 0.243, 4.414, 0.793, 2.426 }, { 6.25, 3.74, 15.44 }, INT64_C(852076800),       \
      INT64_C(12) * 604800, INT64_C(78) * 604800, INT64_C(604800) }

/* Fill `opts` with the defaults. Returns CVM_E_ABI for an unknown `size`. */
CVM_API cvm_status cvm_simulate_options_init(cvm_simulate_options *opts, size_t size);

/* Draw purchases from the model: each customer's first purchase, then the
 * repeat purchases until the customer drops out or the duration ends, in time
 * order per customer, customers one after another. Spend per purchase follows
 * Gamma-Gamma: amount ~ Gamma(p, nu), nu ~ Gamma(q, v) per customer.
 * Errors: CVM_E_INVALID (NULL callback, a parameter not finite and > 0,
 * durations not > 0, a start before 1970 or an end after 9999-12-31,
 * unknown model), CVM_E_ABI. With 0 customers it only checks `opts`. A callback that stops the run
 * makes it return CVM_OK. */
CVM_API cvm_status cvm_simulate(const cvm_simulate_options *opts, cvm_transaction_fn fn,
                                void *userdata);

#ifdef __cplusplus
}
#endif
#endif
