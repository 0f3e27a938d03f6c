/* CLV in 30 lines: simulate customers, fit BG/NBD and Gamma-Gamma, print CLVs. */
#include <cvm.h>
#include <stdio.h>

#define N 2000
#define CHECK(call, what) do { cvm_status st_ = (call); if (st_ != CVM_OK) { \
    fprintf(stderr, "%s: %s\n", (what), cvm_strerror(st_)); return 1; } } while (0)

static int add(void *c, size_t id, int64_t time, double amount) /* one simulated purchase */
{
    char s[24];
    return cvm_customers_add(c, s, (size_t)snprintf(s, sizeof s, "c%zu", id), time, amount) != CVM_OK;
}

int main(void)
{
    static double x[N], t_x[N], T[N], m[N], clv[N];
    cvm_simulate_options sim = CVM_SIMULATE_OPTIONS_INIT; /* BG/NBD at CDNOW's estimates */
    cvm_summary_options weeks = CVM_SUMMARY_OPTIONS_INIT; /* rates are per week */
    cvm_customers *c; cvm_clv *bg; cvm_spend *gg; double p[4];
    sim.customers = N;
    weeks.unit_seconds = 7 * CVM_SECONDS_PER_DAY;
    CHECK(cvm_customers_new(&c, NULL), "customers");
    CHECK(cvm_simulate(&sim, add, c), "simulate");
    size_t n = cvm_customers_summary_rows(c);
    double *cols[4] = { x, t_x, T, m };
    for (int k = 0; k < 4; k++) CHECK(cvm_customers_summary(c, &weeks, k, cols[k], n), "summary");
    CHECK(cvm_clv_new(&bg, NULL), "BG/NBD"); CHECK(cvm_clv_fit(bg, x, t_x, T, NULL, n, NULL), "fit");
    CHECK(cvm_spend_new(&gg, NULL), "Gamma-Gamma"); CHECK(cvm_spend_fit(gg, x, m, NULL, n, NULL), "fit");
    CHECK(cvm_clv_params(bg, p, NULL, 4), "params");
    printf("BG/NBD r %.4f alpha %.4f a %.4f b %.4f\n", p[0], p[1], p[2], p[3]);
    CHECK(cvm_clv_value(bg, gg, NULL, x, t_x, T, m, n, clv, NULL, 0), "CLV"); /* 12 weeks, 1%/week */
    for (size_t i = 0; i < 5; i++) printf("customer %zu: x %.0f, 12-week CLV %.2f\n", i, x[i], clv[i]);
    cvm_spend_free(gg); cvm_clv_free(bg); cvm_customers_free(c);
    return 0;
}
