/* Real-time scoring: "events in, score out".
 *
 * Fit BG/NBD + Gamma-Gamma once on a year of simulated history, then replay
 * the following 26 weeks as a live stream: each purchase goes into the
 * customer model with cvm_customers_add() (O(1): the summary stays current),
 * that customer's summary row is re-read with cvm_customers_row() and scored
 * with cvm_clv_score() against the fitted models, which are only read. */
#include <cvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define WEEK (7 * CVM_SECONDS_PER_DAY)
#define CUSTOMERS 3000

typedef struct event { size_t customer; int64_t time; double amount; } event;

/* Simulated purchases before the cut go straight into the model (history);
 * later ones are kept to be replayed as the live stream. */
typedef struct sink {
    cvm_customers *c;
    cvm_status st;
    int64_t cut;
    event *ev;
    size_t nev, cap;
} sink;

static int id_of(size_t customer, char *buf, size_t n)
{
    return snprintf(buf, n, "cust-%zu", customer + 1);
}

static int collect(void *ud, size_t customer, int64_t time, double amount)
{
    sink *s = ud;
    char id[24];
    if (time < s->cut) {
        int len = id_of(customer, id, sizeof id);
        s->st = cvm_customers_add(s->c, id, (size_t)len, time, amount);
        return s->st != CVM_OK;
    }
    if (s->nev == s->cap) {
        event *p = realloc(s->ev, (s->cap = s->cap ? 2 * s->cap : 1024) * sizeof *p);
        if (p == NULL) {
            s->st = CVM_E_NOMEM;
            return 1;
        }
        s->ev = p;
    }
    s->ev[s->nev].customer = customer;
    s->ev[s->nev].time = time;
    s->ev[s->nev++].amount = amount;
    return 0;
}

static int by_time(const void *a, const void *b)
{
    const event *x = a, *y = b;
    return (x->time > y->time) - (x->time < y->time);
}

static double now_seconds(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The calibration summary as columns, for the one-off fit. */
static int fit(cvm_customers *c, const cvm_summary_options *weeks, cvm_clv **model,
               cvm_spend **spend)
{
    size_t n = cvm_customers_summary_rows(c);
    double *col = malloc(4 * n * sizeof *col);
    double *x = col, *t_x = col + n, *T = col + 2 * n, *m = col + 3 * n;
    cvm_status st = col ? CVM_OK : CVM_E_NOMEM;
    int k;
    for (k = 0; k < 4 && st == CVM_OK; k++) { /* frequency, recency, T, monetary */
        st = cvm_customers_summary(c, weeks, k, col + (size_t)k * n, n);
    }
    if (st != CVM_OK) {
        fprintf(stderr, "summary: %s\n", col ? cvm_customers_errmsg(c) : cvm_strerror(st));
    } else if ((st = cvm_clv_new(model, NULL)) != CVM_OK ||
               (st = cvm_clv_fit(*model, x, t_x, T, NULL, n, NULL)) != CVM_OK) {
        fprintf(stderr, "BG/NBD: %s\n", *model ? cvm_clv_errmsg(*model) : cvm_strerror(st));
    } else if ((st = cvm_spend_new(spend, NULL)) != CVM_OK ||
               (st = cvm_spend_fit(*spend, x, m, NULL, n, NULL)) != CVM_OK) {
        fprintf(stderr, "Gamma-Gamma: %s\n", *spend ? cvm_spend_errmsg(*spend) : cvm_strerror(st));
    } else {
        printf("fitted on %zu customers' first 52 weeks\n", n);
    }
    free(col);
    return st != CVM_OK;
}

int main(void)
{
    cvm_simulate_options sim = CVM_SIMULATE_OPTIONS_INIT;
    cvm_summary_options weeks = CVM_SUMMARY_OPTIONS_INIT;
    cvm_clv *model = NULL;
    cvm_spend *spend = NULL;
    sink s = {NULL, CVM_OK, 0, NULL, 0, 0};
    cvm_status st;
    double t0, elapsed, sum_clv = 0;
    size_t i;
    int rc = 1;

    sim.customers = CUSTOMERS;
    sim.seed = 7;
    s.cut = sim.start + 52 * WEEK; /* history: the first 52 of the 78 weeks */
    weeks.unit_seconds = WEEK;
    /* No calibration end: T runs to the latest purchase seen, i.e. "now". */
    if ((st = cvm_customers_new(&s.c, NULL)) != CVM_OK) {
        fprintf(stderr, "cvm_customers_new: %s\n", cvm_strerror(st));
        return 1;
    }
    st = cvm_simulate(&sim, collect, &s);
    if (st != CVM_OK || s.st != CVM_OK) {
        fprintf(stderr, "simulate: %s\n",
                st ? cvm_strerror(st) : s.st == CVM_E_NOMEM ? "out of memory"
                                                            : cvm_customers_errmsg(s.c));
        goto done;
    }
    if (fit(s.c, &weeks, &model, &spend)) {
        goto done;
    }
    /* The stream arrives in time order. */
    qsort(s.ev, s.nev, sizeof *s.ev, by_time);
    printf("replaying %zu purchases of weeks 52-78 one by one:\n", s.nev);

    t0 = now_seconds();
    for (i = 0; i < s.nev; i++) {
        const event *e = &s.ev[i];
        char id[24], err[256];
        double row[4], p_alive, expected, clv;
        size_t index;
        int len = id_of(e->customer, id, sizeof id);

        /* Event in ... */
        st = cvm_customers_add(s.c, id, (size_t)len, e->time, e->amount);
        if (st == CVM_OK) {
            st = cvm_customers_find(s.c, id, (size_t)len, &index);
        }
        /* ... this customer's up-to-date summary: x, t_x, T, monetary ... */
        if (st == CVM_OK) {
            st = cvm_customers_row(s.c, index, &weeks, row, 4);
        }
        if (st != CVM_OK) {
            fprintf(stderr, "event %zu: %s\n", i, cvm_customers_errmsg(s.c));
            goto done;
        }
        /* ... score out: P(alive), purchases in the next 12 weeks, 12-week CLV. */
        st = cvm_clv_score(model, spend, 12.0, NULL, &row[0], &row[1], &row[2], &row[3], 1,
                           &p_alive, &expected, NULL, &clv, err, sizeof err);
        if (st != CVM_OK) {
            fprintf(stderr, "score %s: %s\n", id, err);
            goto done;
        }
        sum_clv += clv;
        if (i < 3 || i % 300 == 0) {
            char day[11];
            cvm_format_date(day, sizeof day, e->time);
            printf("  %s %-10s %7.2f  ->  x %3.0f  P(alive) %.3f  E[12w] %5.2f  CLV %8.2f\n", day,
                   id, e->amount, row[0], p_alive, expected, clv);
        }
    }
    elapsed = now_seconds() - t0;
    printf("%zu events scored in %.3f s: %.0f events/s (mean CLV after a purchase %.2f)\n",
           s.nev, elapsed, elapsed > 0 ? (double)s.nev / elapsed : 0.0,
           s.nev ? sum_clv / (double)s.nev : 0.0);
    rc = s.nev > 0 ? 0 : 1;
done:
    free(s.ev);
    cvm_spend_free(spend);
    cvm_clv_free(model);
    cvm_customers_free(s.c);
    return rc;
}
