/* CLV quick start: simulate customers, summarise them, fit BG/NBD (how often
 * they buy, how likely they are still around) and Gamma-Gamma (how much they
 * spend), and print the customers with the highest lifetime value. */
#include <cvm.h>
#include <stdio.h>

#define N 2000

/* cvm_simulate() hands us purchases; record each one in the customer model. */
typedef struct sink { cvm_customers *c; cvm_status st; } sink;
static int add(void *ud, size_t customer, int64_t time, double amount)
{
    sink *s = ud;
    char id[24];
    int len = snprintf(id, sizeof id, "cust-%zu", customer + 1);
    s->st = cvm_customers_add(s->c, id, (size_t)len, time, amount);
    return s->st != CVM_OK; /* nonzero stops the simulation */
}

int main(void)
{
    cvm_simulate_options sim = CVM_SIMULATE_OPTIONS_INIT; /* BG/NBD at CDNOW's estimates */
    cvm_summary_options weeks = CVM_SUMMARY_OPTIONS_INIT;
    static double x[N], t_x[N], T[N], m[N], clv[N];
    double bg[4], gg[3];
    char err[256] = "";
    cvm_clv *model = NULL;
    cvm_spend *spend = NULL;
    sink s = {NULL, CVM_OK};
    cvm_status st;
    int rc = 1;
    size_t i, n, k;

    sim.customers = N;
    weeks.unit_seconds = 7 * CVM_SECONDS_PER_DAY; /* the models' rates are per week */
    if ((st = cvm_customers_new(&s.c, NULL)) != CVM_OK) {
        fprintf(stderr, "cvm_customers_new: %s\n", cvm_strerror(st));
        return 1;
    }
    st = cvm_simulate(&sim, add, &s);
    if (st != CVM_OK || s.st != CVM_OK) {
        fprintf(stderr, "simulate: %s\n", st ? cvm_strerror(st) : cvm_customers_errmsg(s.c));
        goto done;
    }
    /* One summary row per customer (no calibration end: every purchase counts). */
    n = cvm_customers_summary_rows(s.c);
    if (n > N || cvm_customers_summary(s.c, &weeks, CVM_COL_FREQUENCY, x, n) != CVM_OK ||
        cvm_customers_summary(s.c, &weeks, CVM_COL_RECENCY, t_x, n) != CVM_OK ||
        cvm_customers_summary(s.c, &weeks, CVM_COL_T, T, n) != CVM_OK ||
        cvm_customers_summary(s.c, &weeks, CVM_COL_MONETARY, m, n) != CVM_OK) {
        fprintf(stderr, "summary: %s\n", cvm_customers_errmsg(s.c));
        goto done;
    }
    /* Fit both models by maximum likelihood. */
    if ((st = cvm_clv_new(&model, NULL)) != CVM_OK ||
        (st = cvm_clv_fit(model, x, t_x, T, NULL, n, NULL)) != CVM_OK) {
        fprintf(stderr, "BG/NBD: %s\n", model ? cvm_clv_errmsg(model) : cvm_strerror(st));
        goto done;
    }
    if ((st = cvm_spend_new(&spend, NULL)) != CVM_OK ||
        (st = cvm_spend_fit(spend, x, m, NULL, n, NULL)) != CVM_OK) {
        fprintf(stderr, "Gamma-Gamma: %s\n", spend ? cvm_spend_errmsg(spend) : cvm_strerror(st));
        goto done;
    }
    cvm_clv_params(model, bg, NULL, 4);
    cvm_spend_params(spend, gg, NULL, 3);
    printf("%zu customers, %zu purchases\n", n, cvm_customers_transactions(s.c));
    printf("BG/NBD      r %.4f  alpha %.4f  a %.4f  b %.4f\n", bg[0], bg[1], bg[2], bg[3]);
    printf("Gamma-Gamma p %.4f  q %.4f  v %.4f\n", gg[0], gg[1], gg[2]);

    /* CLV with the defaults: 12 periods of one week, 1% discount per period. */
    if (cvm_clv_value(model, spend, NULL, x, t_x, T, m, n, clv, err, sizeof err) != CVM_OK) {
        fprintf(stderr, "CLV: %s\n", err);
        goto done;
    }
    /* The top 5 by CLV: five passes of a selection (n is small). Without a
     * calibration end, summary row i is customer index i. */
    printf("top 5 customers by 12-week CLV:\n");
    for (k = 0; k < 5 && k < n; k++) {
        size_t best = 0;
        const char *id;
        size_t id_len;
        for (i = 1; i < n; i++) {
            best = clv[i] > clv[best] ? i : best;
        }
        cvm_customers_id(s.c, best, &id, &id_len);
        printf("  %-10.*s x %2.0f  t_x %5.1f  T %5.1f  mean spend %7.2f  CLV %8.2f\n",
               (int)id_len, id, x[best], t_x[best], T[best], m[best], clv[best]);
        clv[best] = -1.0; /* taken */
    }
    rc = 0;
done:
    cvm_spend_free(spend);
    cvm_clv_free(model);
    cvm_customers_free(s.c);
    return rc;
}
