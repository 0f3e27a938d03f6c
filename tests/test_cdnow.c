/* The customer summary against the published CDNOW summaries: BTYD's
 * cdnowSummary (full precision) and lifetimes' summary files (2 decimals).
 * Reads ../shared/data in place; skipped when it is absent. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CUSTOMERS 2357
#define WEEK (7 * CVM_SECONDS_PER_DAY)

typedef struct summary {
    double x[CUSTOMERS + 1], t_x[CUSTOMERS + 1], T[CUSTOMERS + 1], m[CUSTOMERS + 1];
    double x_star[CUSTOMERS + 1], m_star[CUSTOMERS + 1], duration[CUSTOMERS + 1];
    int seen[CUSTOMERS + 1];
} summary;

static summary ours;

static cvm_customers *new_cdnow_model(void)
{
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_customers *c;
    ck_assert_int_eq(cvm_parse_time("1997-09-30", 10, CVM_DATE_ISO, &o.calibration_end), CVM_OK);
    ck_assert_int_eq(cvm_customers_new(&c, &o), CVM_OK);
    return c;
}

/* Fill `ours` from model `c`, customers keyed by their numeric id. */
static void take_summary(cvm_customers *c)
{
    cvm_summary_options v = CVM_SUMMARY_OPTIONS_INIT;
    size_t n = cvm_customers_summary_rows(c), i;
    size_t *index = malloc(n * sizeof *index);
    double *cols = malloc(n * CVM_COL_COUNT * sizeof *cols);
    int k;
    v.unit_seconds = WEEK;
    ck_assert_int_eq(cvm_parse_time("1998-06-30", 10, CVM_DATE_ISO, &v.observation_end), CVM_OK);
    ck_assert_uint_eq(n, CUSTOMERS);
    ck_assert_int_eq(cvm_customers_summary_index(c, index, n), CVM_OK);
    for (k = 0; k < CVM_COL_COUNT; k++) {
        ck_assert_int_eq(cvm_customers_summary(c, &v, k, cols + (size_t)k * n, n), CVM_OK);
    }
    memset(&ours, 0, sizeof ours);
    for (i = 0; i < n; i++) {
        const char *id;
        size_t len;
        char buf[32];
        long key;
        ck_assert_int_eq(cvm_customers_id(c, index[i], &id, &len), CVM_OK);
        ck_assert_uint_lt(len, sizeof buf);
        memcpy(buf, id, len);
        buf[len] = '\0';
        key = strtol(buf, NULL, 10);
        ck_assert(key >= 1 && key <= CUSTOMERS && !ours.seen[key]);
        ours.seen[key] = 1;
        ours.x[key] = cols[i];
        ours.t_x[key] = cols[n + i];
        ours.T[key] = cols[2 * n + i];
        ours.m[key] = cols[3 * n + i];
        ours.x_star[key] = cols[4 * n + i];
        ours.m_star[key] = cols[5 * n + i];
        ours.duration[key] = cols[6 * n + i];
    }
    free(index);
    free(cols);
}

static void load_sample(cvm_customers *c)
{
    cvm_csv_options o = CVM_CSV_OPTIONS_INIT;
    o.whitespace = 1;
    o.has_header = 0;
    o.id_index = 2;
    o.date_index = 3;
    o.amount_index = 5;
    o.date_format = CVM_DATE_YYYYMMDD;
    ck_assert_msg(cvm_customers_load_csv(c, tu_data_path("CDNOW_sample.txt"), &o) == CVM_OK, "%s",
                  cvm_customers_errmsg(c));
    ck_assert_uint_eq(cvm_customers_transactions(c), 6919);
}

/* BTYD stores doubles; R printed them with 15 significant digits, so the
 * file's values are within 1e-14 relative of the true ones. Ours are
 * correctly rounded quotients: 1e-13 relative is far below any real error
 * (a day is 0.14 weeks). */
static void assert_close(double ours_v, double ref, const char *what, int id)
{
    ck_assert_msg(fabs(ours_v - ref) <= 1e-13 * fmax(1.0, fabs(ref)), "customer %d %s: %.17g vs %.17g",
                  id, what, ours_v, ref);
}

static void check_btyd_cbs(void)
{
    FILE *f = fopen(tu_data_path("btyd_cdnow_cbs.csv"), "r");
    char line[256];
    int rows = 0;
    double sum_x = 0, sum_star = 0, zeros = 0;
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f)) {
        int id;
        double x, t_x, T, x_star, m_x;
        ck_assert_int_eq(sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf", &id, &x, &t_x, &T, &x_star, &m_x), 6);
        ck_assert(id >= 1 && id <= CUSTOMERS && ours.seen[id]);
        ck_assert_double_eq(ours.x[id], x);
        ck_assert_double_eq(ours.x_star[id], x_star);
        assert_close(ours.t_x[id], t_x, "t_x", id);
        assert_close(ours.T[id], T, "T_cal", id);
        assert_close(ours.m[id], m_x, "m_x", id);
        ck_assert_double_eq(ours.duration[id], 39.0);
        sum_x += x;
        sum_star += x_star;
        zeros += x == 0;
        rows++;
    }
    fclose(f);
    ck_assert_int_eq(rows, CUSTOMERS);
    /* The totals the literature quotes (README of shared/data). */
    ck_assert_double_eq(sum_x, 2457);
    ck_assert_double_eq(sum_star, 1882);
    ck_assert_double_eq(zeros, 1411);
}

/* lifetimes rounded its summaries to 2 decimals. */
static void check_lifetimes(const char *name, int with_zbar)
{
    FILE *f = fopen(tu_data_path(name), "r");
    char line[256];
    int rows = 0;
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f)) {
        int id, fields;
        double x, t_x, T, zbar = 0;
        fields = sscanf(line, "%d,%lf,%lf,%lf,%lf", &id, &x, &t_x, &T, &zbar);
        ck_assert_int_eq(fields, with_zbar ? 5 : 4);
        ck_assert(id >= 1 && id <= CUSTOMERS && ours.seen[id]);
        ck_assert_double_eq(ours.x[id], x);
        ck_assert_double_eq(round(ours.t_x[id] * 100) / 100, t_x);
        ck_assert_double_eq(round(ours.T[id] * 100) / 100, T);
        if (with_zbar) {
            ck_assert_msg(fabs(ours.m[id] - zbar) <= 0.005 + 1e-9, "customer %d zbar %.17g vs %g", id,
                          ours.m[id], zbar);
        }
        rows++;
    }
    fclose(f);
    ck_assert_int_eq(rows, CUSTOMERS);
}

START_TEST(sample_matches_btyd_and_lifetimes)
{
    cvm_customers *c = new_cdnow_model();
    load_sample(c);
    take_summary(c);
    check_btyd_cbs();
    check_lifetimes("cdnow_customers_summary.csv", 0);
    check_lifetimes("cdnow_customers_summary_with_transactions.csv", 1);
    cvm_customers_free(c);
}
END_TEST

/* The same log in two other published forms: BTYD's elog (comma-separated,
 * YYYYMMDD) and CLVTools' (ISO dates, same-day purchases pre-merged) must
 * give the same summary. */
START_TEST(other_forms_of_the_log_agree)
{
    static const struct { const char *file, *id, *date, *amount; size_t rows; } forms[] = {
        {"btyd_cdnow_elog.csv", "sampleid", "date", "sales", 6919},
        {"clvtools_cdnow.csv", "Id", "Date", "Price", 6696},
    };
    size_t k;
    for (k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        cvm_customers *c = new_cdnow_model();
        cvm_csv_options o = CVM_CSV_OPTIONS_INIT;
        o.id_column = forms[k].id;
        o.date_column = forms[k].date;
        o.amount_column = forms[k].amount;
        ck_assert_msg(cvm_customers_load_csv(c, tu_data_path(forms[k].file), &o) == CVM_OK, "%s",
                      cvm_customers_errmsg(c));
        ck_assert_uint_eq(cvm_customers_transactions(c), forms[k].rows);
        take_summary(c);
        check_btyd_cbs();
        cvm_customers_free(c);
    }
}
END_TEST

/* The full cohort (23,570 customers, header line, CRLF) loads whole. */
START_TEST(master_file_loads)
{
    cvm_customers *c;
    cvm_csv_options o = CVM_CSV_OPTIONS_INIT;
    ck_assert_int_eq(cvm_customers_new(&c, NULL), CVM_OK);
    o.whitespace = 1;
    o.date_format = CVM_DATE_YYYYMMDD;
    o.amount_index = 4;
    o.date_index = 2;
    ck_assert_msg(cvm_customers_load_csv(c, tu_data_path("CDNOW_master.txt"), &o) == CVM_OK, "%s",
                  cvm_customers_errmsg(c));
    ck_assert_uint_eq(cvm_customers_count(c), 23570);
    ck_assert_uint_eq(cvm_customers_transactions(c), 69659);
    cvm_customers_free(c);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("cdnow");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sample_matches_btyd_and_lifetimes);
    tcase_add_test(tc, other_forms_of_the_log_agree);
    tcase_add_test(tc, master_file_loads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (tu_data_dir() == NULL) {
        printf("1..0 # SKIP ../shared/data is absent\n");
        return 77;
    }
    return tu_run(make_suite());
}
