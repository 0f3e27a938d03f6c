/* libFuzzer harness: the transaction CSV reader.
 *
 * Input: two option bytes, then the CSV text.
 *   byte 0: bits 0-1 delimiter (',' ';' tab '|'), bit 2 whitespace mode,
 *           bit 3 no header, bits 4-5 date format (auto, iso, yyyymmdd,
 *           unix), bit 6 columns by header name, bit 7 no amount column
 *   byte 1: bits 0-1, 2-3, 4-5 the id, date and amount column indices - 1,
 *           bit 6 a calibration end (2000-01-01) with a holdout to
 *           2001-01-01, bit 7 weekly periods and summary unit
 * The seeds' default is bytes 0x00 0x24: comma, header, id,date,amount.
 *
 * The text goes through the streaming tokenizer alone, from memory and
 * from a file (whose chunks the fuzzing build makes 16 bytes long), its
 * promises checked field by field; then through
 * cvm_customers_load_csv_buffer() (ids, dates, amounts, the ledger, all or
 * nothing: loaded twice into one model) and the summary the CLV models are
 * fitted on. */
#include "fuzz.h"

#include "core/core_int.h"
#include "cvm.h"

#include <math.h>
#include <string.h>

#define DAY INT64_C(86400)
#define CAL_END (INT64_C(10957) * DAY) /* 2000-01-01 */
#define OBS_END (INT64_C(11323) * DAY) /* 2001-01-01 */

typedef struct config {
    char delimiter;
    int whitespace;
    cvm_csv_options csv;
    cvm_customers_options model;
    cvm_summary_options view;
} config;

static void configure(config *c, uint8_t b0, uint8_t b1)
{
    static const char delimiters[4] = {',', ';', '\t', '|'};
    const cvm_csv_options csv = CVM_CSV_OPTIONS_INIT;
    const cvm_customers_options model = CVM_CUSTOMERS_OPTIONS_INIT;
    const cvm_summary_options view = CVM_SUMMARY_OPTIONS_INIT;
    c->csv = csv;
    c->model = model;
    c->view = view;
    c->delimiter = delimiters[b0 & 3];
    c->whitespace = (b0 >> 2) & 1;
    c->csv.delimiter = (unsigned char)c->delimiter;
    c->csv.whitespace = c->whitespace;
    c->csv.has_header = !((b0 >> 3) & 1);
    c->csv.date_format = (b0 >> 4) & 3;
    if ((b0 >> 6) & 1) {
        c->csv.id_column = "id";
        c->csv.date_column = "date";
        c->csv.amount_column = "amount";
    }
    c->csv.id_index = 1 + (b1 & 3);
    c->csv.date_index = 1 + ((b1 >> 2) & 3);
    c->csv.amount_index = 1 + ((b1 >> 4) & 3);
    if ((b0 >> 7) & 1) {
        c->csv.amount_column = NULL;
        c->csv.amount_index = 0;
    }
    if ((b1 >> 6) & 1) {
        c->model.calibration_end = CAL_END;
        c->view.observation_end = OBS_END;
    }
    if ((b1 >> 7) & 1) {
        c->model.period_seconds = 7 * DAY;
        c->view.unit_seconds = 7 * DAY;
    }
}

/* One field's promises: in readable memory, no NUL byte (a NUL is an
 * error), and in whitespace mode no blank. */
static void check_field(const cvm__csv_field *f, size_t n, const config *cfg)
{
    FUZZ_CHECK(f->column >= 1);
    FUZZ_CHECK(f->len <= n);
    if (f->len == 0) {
        return;
    }
    FUZZ_CHECK(f->ptr != NULL);
    FUZZ_CHECK(memchr(f->ptr, '\0', f->len) == NULL);
    if (cfg->whitespace) {
        FUZZ_CHECK(memchr(f->ptr, ' ', f->len) == NULL);
        FUZZ_CHECK(memchr(f->ptr, '\t', f->len) == NULL);
    }
}

/* The tokenizer alone, reading the text from memory and, in chunks (tiny
 * in the fuzzing build), from a file: both give the same records, lines
 * and errors; lines only go forward; an error comes with a message and
 * sticks. */
static void tokenize(const char *text, size_t n, const config *cfg)
{
    cvm_allocator a;
    cvm__csv *mem = NULL, *file = NULL;
    char err[CVM__ERRMSG_LEN], ferr[CVM__ERRMSG_LEN];
    const char *path = fuzz_tmp_file((const uint8_t *)text, n);
    uint64_t line = 0;
    size_t records = 0;
    FUZZ_CHECK(cvm__allocator_copy(&a, NULL) == CVM_OK);
    if (cvm__csv_open_buffer(&mem, &a, text, n, "fuzz.csv", cfg->delimiter, cfg->whitespace, err,
                             sizeof err) != CVM_OK) {
        return;
    }
    FUZZ_CHECK(cvm__csv_open_file(&file, &a, path, cfg->delimiter, cfg->whitespace, ferr,
                                  sizeof ferr) == CVM_OK);
    for (;;) {
        const cvm__csv_field *f, *g;
        size_t nf, ng, i;
        cvm_status st, sf;
        err[0] = ferr[0] = '\0';
        st = cvm__csv_next(mem, &f, &nf, err, sizeof err);
        sf = cvm__csv_next(file, &g, &ng, ferr, sizeof ferr);
        FUZZ_CHECK(st == sf);
        if (st != CVM_OK) {
            FUZZ_CHECK(st == CVM_E_PARSE || st == CVM_E_NOMEM);
            FUZZ_CHECK(err[0] != '\0' && ferr[0] != '\0');
            /* The same problem at the same place, after the name. */
            FUZZ_CHECK(strcmp(err + strlen("fuzz.csv"), ferr + strlen(path)) == 0);
            FUZZ_CHECK(cvm__csv_next(mem, &f, &nf, NULL, 0) == st);
            break;
        }
        FUZZ_CHECK(nf == ng);
        if (nf == 0) {
            break;
        }
        FUZZ_CHECK(++records <= n);
        FUZZ_CHECK(cvm__csv_line(mem) > line);
        line = cvm__csv_line(mem);
        FUZZ_CHECK(cvm__csv_line(file) == line);
        FUZZ_CHECK(cvm__csv_offset(mem) <= n);
        FUZZ_CHECK(cvm__csv_offset(file) == cvm__csv_offset(mem));
        for (i = 0; i < nf; i++) {
            check_field(&f[i], n, cfg);
            FUZZ_CHECK(f[i].len == g[i].len && f[i].column == g[i].column);
            FUZZ_CHECK(f[i].len == 0 || memcmp(f[i].ptr, g[i].ptr, f[i].len) == 0);
        }
    }
    cvm__csv_close(mem);
    cvm__csv_close(file);
}

/* The summary columns hold what lifetimes would: finite, x >= 0,
 * 0 <= t_x <= T, monetary >= 0. */
static void summarise(cvm_customers *c, const config *cfg)
{
    size_t rows = cvm_customers_summary_rows(c), ncols, k, i;
    int holdout = cfg->view.observation_end != CVM_TIME_NONE;
    double *v, curve[8], one[CVM_COL_COUNT];
    size_t *index;
    cvm_status st;
    if (rows == 0) {
        return;
    }
    ncols = holdout ? CVM_COL_COUNT : CVM_COL_MONETARY + 1;
    v = malloc(rows * ncols * sizeof *v);
    index = malloc(rows * sizeof *index);
    FUZZ_CHECK(v != NULL && index != NULL);
    FUZZ_CHECK(cvm_customers_summary_index(c, index, rows) == CVM_OK);
    for (k = 0; k < ncols; k++) {
        st = cvm_customers_summary(c, &cfg->view, (int32_t)k, v + k * rows, rows);
        FUZZ_CHECK(st == CVM_OK);
    }
    for (i = 0; i < rows; i++) {
        const double x = v[i], t_x = v[rows + i], T = v[2 * rows + i], m = v[3 * rows + i];
        for (k = 0; k < ncols; k++) {
            FUZZ_CHECK(isfinite(v[k * rows + i]) && v[k * rows + i] >= 0);
        }
        FUZZ_CHECK(x == floor(x) && t_x <= T);
        FUZZ_CHECK(x > 0 || (t_x == 0 && m == 0));
        FUZZ_CHECK(index[i] < cvm_customers_count(c));
    }
    FUZZ_CHECK(cvm_customers_row(c, index[0], &cfg->view, one, ncols) == CVM_OK);
    for (k = 0; k < ncols; k++) {
        FUZZ_CHECK(one[k] == v[k * rows]);
    }
    st = cvm_customers_repeat_curve(c, 0, cfg->view.unit_seconds, curve, 8);
    FUZZ_CHECK(st == CVM_OK);
    free(v);
    free(index);
}

static void load(const char *text, size_t n, const config *cfg)
{
    cvm_customers *c = NULL;
    size_t customers, transactions;
    cvm_status st;
    FUZZ_CHECK(cvm_customers_new(&c, &cfg->model) == CVM_OK);
    st = cvm_customers_load_csv_buffer(c, text, n, "fuzz.csv", &cfg->csv);
    if (st != CVM_OK) {
        FUZZ_CHECK(cvm_customers_errmsg(c)[0] != '\0');
        FUZZ_CHECK(cvm_customers_count(c) == 0 && cvm_customers_transactions(c) == 0);
        cvm_customers_free(c);
        return;
    }
    customers = cvm_customers_count(c);
    transactions = cvm_customers_transactions(c);
    FUZZ_CHECK(customers > 0 && transactions >= customers);
    summarise(c, cfg);
    /* The same log again: the same customers, every purchase twice. */
    st = cvm_customers_load_csv_buffer(c, text, n, "fuzz.csv", &cfg->csv);
    FUZZ_CHECK(st == CVM_OK);
    FUZZ_CHECK(cvm_customers_count(c) == customers);
    FUZZ_CHECK(cvm_customers_transactions(c) == 2 * transactions);
    summarise(c, cfg);
    cvm_customers_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config cfg;
    if (size < 2) {
        return 0;
    }
    configure(&cfg, data[0], data[1]);
    tokenize((const char *)data + 2, size - 2, &cfg);
    load((const char *)data + 2, size - 2, &cfg);
    return 0;
}
