/* cvm attribute: which marketing channels earned the conversions — channel
 * credit from customer journeys, read as aggregated paths
 * (ChannelAttribution's format) or as raw touchpoints, by a heuristic, a
 * Markov chain or Shapley values, with return on spend. Also the "Channels"
 * section of `cvm report`, which reads its paths with the same options. */
#include "summary_io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DAY_SECONDS 86400.0
#define HEADER_BYTES (1u << 20) /* the most of a file read to find its header */

/* ---- a CSV record reader over a buffer (RFC 4180 quoting, LF or CRLF) ---- */

typedef struct rec_reader {
    const char *p, *end;
    int delim;
    size_t line;     /* the line the next record starts on */
    size_t rec_line; /* the line the last record started on */
    char *buf;       /* the last record's fields, each NUL-terminated */
    size_t cap;
    size_t *off; /* nf + 1 field starts in buf */
    size_t nf, fcap;
} rec_reader;

enum { REC_END = 0, REC_OK = 1, REC_OPEN_QUOTE = -1, REC_NOMEM = -2 };

static void rec_init(rec_reader *r, const char *data, size_t len, int delim)
{
    memset(r, 0, sizeof *r);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3; /* a UTF-8 byte order mark */
        len -= 3;
    }
    r->p = data;
    r->end = data + len;
    r->delim = delim;
    r->line = 1;
}

static void rec_free(rec_reader *r)
{
    free(r->buf);
    free(r->off);
}

static int rec_put(rec_reader *r, size_t *used, char c)
{
    if (*used == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        char *b = realloc(r->buf, cap);
        if (b == NULL) {
            return 0;
        }
        r->buf = b;
        r->cap = cap;
    }
    r->buf[(*used)++] = c;
    return 1;
}

static int rec_field(rec_reader *r, size_t used)
{
    if (r->nf + 1 >= r->fcap) {
        size_t cap = r->fcap ? 2 * r->fcap : 16;
        size_t *o = realloc(r->off, cap * sizeof *o);
        if (o == NULL) {
            return 0;
        }
        r->off = o;
        r->fcap = cap;
    }
    r->off[r->nf++] = used;
    return 1;
}

/* The next record: REC_OK, REC_END, REC_OPEN_QUOTE (at rec_line) or REC_NOMEM. */
static int rec_next(rec_reader *r)
{
    size_t used = 0;
    int fresh = 1; /* at the start of a field */
    r->nf = 0;
    if (r->p >= r->end) {
        return REC_END;
    }
    r->rec_line = r->line;
    if (!rec_field(r, 0)) {
        return REC_NOMEM;
    }
    while (r->p < r->end) {
        char c = *r->p;
        if (c == '"' && fresh) {
            r->p++;
            for (;;) {
                if (r->p >= r->end) {
                    return REC_OPEN_QUOTE;
                }
                if (*r->p == '"') {
                    if (r->p + 1 < r->end && r->p[1] == '"') {
                        r->p++;
                    } else {
                        r->p++;
                        break;
                    }
                }
                if (*r->p == '\n') {
                    r->line++;
                }
                if (!rec_put(r, &used, *r->p++)) {
                    return REC_NOMEM;
                }
            }
            fresh = 0;
            continue;
        }
        r->p++;
        if (c == '\n') {
            r->line++;
            break;
        }
        if (c == '\r' && (r->p == r->end || *r->p == '\n')) {
            continue;
        }
        if (c == r->delim) {
            if (!rec_put(r, &used, '\0') || !rec_field(r, used)) {
                return REC_NOMEM;
            }
            fresh = 1;
            continue;
        }
        if (!rec_put(r, &used, c)) {
            return REC_NOMEM;
        }
        fresh = 0;
    }
    if (!rec_put(r, &used, '\0')) {
        return REC_NOMEM;
    }
    r->off[r->nf] = used;
    return REC_OK;
}

static const char *rec_get(const rec_reader *r, size_t k)
{
    return r->buf + r->off[k];
}

static size_t rec_len(const rec_reader *r, size_t k)
{
    return r->off[k + 1] - r->off[k] - 1;
}

static int rec_blank(const rec_reader *r)
{
    return r->nf == 1 && rec_len(r, 0) == 0;
}

/* Blanks around a token, as the library trims path tokens. */
static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) {
        (*n)--;
    }
}

static int parse_real(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return end != s && *end == '\0' && errno == 0 && isfinite(*out);
}

/* ---- options ---- */

enum { COL_PATH, COL_CONV, COL_VALUE, COL_NULL, COL_ID, COL_DATE, COL_CHANNEL, NCOL };

static const char *const col_option[NCOL] = {"--path", "--conversions", "--value", "--null",
                                             "--id", "--date", "--channel"};

void cli_paths_init(cli_paths *p)
{
    memset(p, 0, sizeof *p);
    p->delimiter = ',';
    p->separator = '>';
    p->lookback_days = -1;
}

static int one_char(const char *opt, const char *s, int32_t *out)
{
    if (strcmp(s, "\\t") == 0 || strcmp(s, "tab") == 0) {
        *out = '\t';
    } else if (strlen(s) == 1 && s[0] != '"' && s[0] != '\n' && s[0] != '\r') {
        *out = (unsigned char)s[0];
    } else {
        return cli_error("%s: '%s' is not one character", opt, s);
    }
    return 0;
}

int cli_paths_opt(cli_args *a, const char *arg, cli_paths *p, const char *delimiter_opt, int *bad)
{
    int k;
    if (cli_opt(a, arg, "--paths", bad)) {
        p->file = a->value;
        return 1;
    }
    if (cli_opt(a, arg, delimiter_opt, bad)) {
        *bad = *bad || one_char(delimiter_opt, a->value, &p->delimiter);
    } else if (cli_opt(a, arg, "--separator", bad)) {
        *bad = *bad || one_char("--separator", a->value, &p->separator);
    } else if (cli_flag(arg, "--no-null")) {
        p->no_null = 1;
    } else if (cli_opt(a, arg, "--spend", bad)) {
        p->spend = a->value;
    } else {
        for (k = COL_PATH; k <= COL_NULL; k++) {
            if (cli_opt(a, arg, col_option[k], bad)) {
                if (!*bad && a->value[0] == '\0') {
                    *bad = cli_error("%s: empty column", col_option[k]);
                }
                p->col[k] = a->value;
                break;
            }
        }
        if (k > COL_NULL) {
            return 0;
        }
    }
    p->other_given = 1;
    return 1;
}

/* ---- columns: a header name or a 1-based index ---- */

/* The first record of `file`, read from at most its first HEADER_BYTES. */
static int read_header(rec_reader *r, char **data, const char *file, int delim)
{
    FILE *f = fopen(file, "rb");
    size_t len;
    int st;
    *data = NULL;
    memset(r, 0, sizeof *r);
    if (f == NULL) {
        return cli_error("%s: cannot open: %s", file, strerror(errno));
    }
    *data = malloc(HEADER_BYTES);
    if (*data == NULL) {
        fclose(f);
        cli_error("%s: out of memory", file);
        return CLI_FAIL;
    }
    len = fread(*data, 1, HEADER_BYTES, f);
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        return cli_error("%s: cannot read: %s", file, strerror(e));
    }
    fclose(f);
    rec_init(r, *data, len, delim);
    st = rec_next(r);
    if (st == REC_NOMEM) {
        cli_error("%s: out of memory", file);
        return CLI_FAIL;
    }
    if (st == REC_END || rec_blank(r)) {
        return cli_error("%s:1: no header (the file is empty)", file);
    }
    if (st == REC_OPEN_QUOTE) {
        return cli_error("%s:1: a quote opened in the header is never closed", file);
    }
    return CLI_OK;
}

static int find_column(const rec_reader *hdr, const char *name)
{
    size_t k;
    for (k = 0; k < hdr->nf; k++) {
        if (strcmp(rec_get(hdr, k), name) == 0) {
            return (int)k;
        }
    }
    return -1;
}

/* A hint when the header looks split on the wrong delimiter. */
static const char *delimiter_hint(const rec_reader *hdr, const char *delimiter_opt)
{
    static char hint[80];
    const char *h = rec_get(hdr, 0);
    hint[0] = '\0';
    if (hdr->nf == 1) {
        const char *c = strchr(h, ';') ? ";" : strchr(h, '\t') ? "tab" : strchr(h, ',') ? "," : NULL;
        if (c != NULL) {
            snprintf(hint, sizeof hint, "; is the delimiter '%s'? see %s", c, delimiter_opt);
        }
    }
    return hint;
}

/* Column k of the header: the option's value (or `dflt`), as a field index
 * (0-based) in *index. An optional column not named and not present, or
 * named "none", gives -1. */
static int resolve_column(const rec_reader *hdr, const char *file, int k, const char *given,
                          const char *dflt, int optional, const char *delimiter_opt, int *index)
{
    const char *name = given ? given : dflt;
    size_t digits = strspn(name, "0123456789");
    *index = -1;
    if (optional && given != NULL && strcmp(given, "none") == 0) {
        return CLI_OK;
    }
    if (name[digits] == '\0') {
        unsigned long v = strtoul(name, NULL, 10);
        if (v < 1 || v > hdr->nf) {
            return cli_error("%s:1: %s: no column %s (the header has %zu)", file, col_option[k],
                             name, hdr->nf);
        }
        *index = (int)v - 1;
        return CLI_OK;
    }
    *index = find_column(hdr, name);
    if (*index < 0 && (given != NULL || !optional)) {
        return cli_error("%s:1: no column '%s' (see %s%s)", file, name, col_option[k],
                         delimiter_hint(hdr, delimiter_opt));
    }
    return CLI_OK;
}

/* ---- loading journeys ---- */

static int lib_failed(cvm_attribution *a, cvm_status st, const char *file)
{
    const char *msg = a ? cvm_attribution_errmsg(a) : "";
    if (st == CVM_E_NOMEM) {
        cli_error("%s: out of memory", file);
        return CLI_FAIL;
    }
    if (msg == NULL || msg[0] == '\0') {
        msg = cvm_strerror(st);
    }
    if (strncmp(msg, file, strlen(file)) == 0) {
        return cli_error("%s", msg);
    }
    return cli_error("%s: %s", file, msg);
}

static const char *const path_defaults[4] = {"path", "total_conversions", "total_conversion_value",
                                             "total_null"};

static int new_handle(cvm_attribution **a, const cli_paths *p)
{
    cvm_attribution_options ao = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_status st;
    ao.separator = p->separator;
    if (p->lookback_days >= 0) {
        ao.lookback_seconds = (int64_t)(p->lookback_days * DAY_SECONDS);
    }
    st = cvm_attribution_new(a, &ao);
    if (st != CVM_OK) {
        cli_error("attribute: cannot create the model: %s", cvm_strerror(st));
        return st == CVM_E_NOMEM ? CLI_FAIL : CLI_BAD;
    }
    return CLI_OK;
}

/* The aggregated paths of p->file. */
static int load_paths(cvm_attribution *a, const cli_paths *p, const char *delimiter_opt)
{
    cvm_paths_csv_options co = CVM_PATHS_CSV_OPTIONS_INIT;
    const char **names[4];
    rec_reader hdr;
    char *data = NULL;
    int k, idx[4], rc;
    cvm_status st;
    if (strcmp(p->file, "-") == 0) {
        return cli_error("attribute: --paths needs a file (standard input is not read)");
    }
    names[COL_PATH] = &co.path_column;
    names[COL_CONV] = &co.conversions_column;
    names[COL_VALUE] = &co.value_column;
    names[COL_NULL] = &co.null_column;
    co.delimiter = p->delimiter;
    rc = read_header(&hdr, &data, p->file, p->delimiter);
    for (k = COL_PATH; rc == CLI_OK && k <= COL_NULL; k++) {
        rc = resolve_column(&hdr, p->file, k, p->col[k], path_defaults[k], k >= COL_VALUE,
                            delimiter_opt, &idx[k]);
        *names[k] = rc == CLI_OK && idx[k] >= 0 ? rec_get(&hdr, (size_t)idx[k]) : NULL;
    }
    if (rc == CLI_OK && p->no_null) {
        co.null_column = NULL;
    }
    for (k = COL_PATH; rc == CLI_OK && k <= COL_NULL; k++) {
        int j;
        for (j = COL_PATH; j < k; j++) {
            if (*names[k] && *names[j] && idx[k] == idx[j]) {
                rc = cli_error("%s:1: %s and %s name the same column '%s'", p->file,
                               col_option[j], col_option[k], *names[k]);
            }
        }
    }
    if (rc == CLI_OK) {
        st = cvm_attribution_load_csv(a, p->file, &co);
        rc = st == CVM_OK ? CLI_OK : lib_failed(a, st, p->file);
    }
    rec_free(&hdr);
    free(data);
    return rc;
}

static const char *const touch_defaults[NCOL] = {NULL, NULL, "value", NULL, "id", "date",
                                                 "channel"};

static int add_touch_row(cvm_attribution *a, const rec_reader *r, const int *idx,
                         const char *file)
{
    const char *id = rec_get(r, (size_t)idx[COL_ID]), *ch = rec_get(r, (size_t)idx[COL_CHANNEL]);
    const char *date = rec_get(r, (size_t)idx[COL_DATE]);
    size_t chlen = rec_len(r, (size_t)idx[COL_CHANNEL]);
    const char *vs = idx[COL_VALUE] >= 0 ? rec_get(r, (size_t)idx[COL_VALUE]) : "";
    double value = 0;
    int64_t t;
    cvm_status st;
    trim(&ch, &chlen);
    if (cvm_parse_time(date, strlen(date), CVM_DATE_AUTO, &t) != CVM_OK) {
        return cli_error("%s:%zu: date '%s' is not a date (YYYY-MM-DD, YYYYMMDD or ISO 8601)",
                         file, r->rec_line, date);
    }
    if (vs[0] != '\0' && !parse_real(vs, &value)) {
        return cli_error("%s:%zu: value '%s' is not a finite number", file, r->rec_line, vs);
    }
    if (chlen > 0) {
        if (value != 0) {
            return cli_error("%s:%zu: a touch of channel '%.*s' has value '%s' (a conversion "
                             "is a row with an empty channel)",
                             file, r->rec_line, (int)chlen, ch, vs);
        }
        st = cvm_attribution_add_touch(a, id, strlen(id), ch, chlen, t);
    } else {
        if (value < 0) {
            return cli_error("%s:%zu: value '%s' is negative", file, r->rec_line, vs);
        }
        st = cvm_attribution_add_conversion(a, id, strlen(id), t, value);
    }
    if (st == CVM_E_NOMEM) {
        cli_error("%s: out of memory", file);
        return CLI_FAIL;
    }
    if (st != CVM_OK) {
        return cli_error("%s:%zu: %s", file, r->rec_line,
                         cvm_attribution_errmsg(a)[0] ? cvm_attribution_errmsg(a)
                                                      : cvm_strerror(st));
    }
    return CLI_OK;
}

/* One event per row: a touch (a channel) or a conversion (an empty channel). */
static int load_touchpoints(cvm_attribution *a, const cli_paths *p, const char *const *col,
                            const char *delimiter_opt)
{
    const char *file = strcmp(p->touch_file, "-") == 0 ? "<stdin>" : p->touch_file;
    FILE *f = strcmp(p->touch_file, "-") == 0 ? stdin : fopen(p->touch_file, "rb");
    rec_reader r;
    size_t len = 0, rows = 0, need = 0;
    char *data;
    int idx[NCOL], k, st, rc = CLI_OK;
    if (f == NULL) {
        return cli_error("%s: cannot open: %s", file, strerror(errno));
    }
    data = read_stream(f, &len);
    if (data == NULL || ferror(f)) {
        rc = data == NULL ? CLI_FAIL : CLI_BAD;
        cli_error("%s: %s", file, data == NULL ? "out of memory" : "cannot read");
    }
    if (f != stdin) {
        fclose(f);
    }
    if (rc != CLI_OK) {
        free(data);
        return rc;
    }
    rec_init(&r, data, len, p->delimiter);
    st = rec_next(&r);
    if (st == REC_END || (st == REC_OK && rec_blank(&r))) {
        rc = cli_error("%s:1: no header (the file is empty)", file);
    } else if (st != REC_OK) {
        rc = st == REC_NOMEM ? CLI_FAIL : cli_error("%s:1: a quote is never closed", file);
    }
    for (k = COL_VALUE; rc == CLI_OK && k < NCOL; k++) {
        idx[k] = -1;
        if (k == COL_NULL) {
            continue;
        }
        rc = resolve_column(&r, file, k, col[k], touch_defaults[k], k == COL_VALUE,
                            delimiter_opt, &idx[k]);
        need = idx[k] >= 0 && (size_t)idx[k] + 1 > need ? (size_t)idx[k] + 1 : need;
    }
    while (rc == CLI_OK && (st = rec_next(&r)) == REC_OK) {
        if (rec_blank(&r)) {
            continue;
        }
        if (r.nf < need) {
            rc = cli_error("%s:%zu: %zu fields, expected at least %zu", file, r.rec_line, r.nf,
                           need);
            break;
        }
        rc = add_touch_row(a, &r, idx, file);
        rows++;
    }
    if (rc == CLI_OK && st == REC_OPEN_QUOTE) {
        rc = cli_error("%s:%zu: a quote opened here is never closed", file, r.rec_line);
    } else if (rc == CLI_OK && st == REC_NOMEM) {
        cli_error("%s: out of memory", file);
        rc = CLI_FAIL;
    } else if (rc == CLI_OK && rows == 0) {
        rc = cli_error("%s: no touchpoints", file);
    }
    rec_free(&r);
    free(data);
    return rc;
}

/* ---- spend ---- */

typedef struct spend_table {
    double *spend;
    unsigned char *given;
    size_t *line;
} spend_table;

static void spend_free(spend_table *s)
{
    free(s->spend);
    free(s->given);
    free(s->line);
}

static int spend_row(spend_table *s, const cvm_attribution *a, const rec_reader *r, int ic,
                     int is, const char *file)
{
    const char *ch = rec_get(r, (size_t)ic), *v = rec_get(r, (size_t)is);
    size_t len = rec_len(r, (size_t)ic), n = cvm_attribution_channel_count(a), i;
    double x;
    trim(&ch, &len);
    for (i = 0; i < n; i++) {
        const char *name = cvm_attribution_channel_name(a, i);
        if (name && strlen(name) == len && memcmp(name, ch, len) == 0) {
            break;
        }
    }
    if (i == n) {
        return cli_error("%s:%zu: channel '%.*s' is not in the journeys", file, r->rec_line,
                         (int)len, ch);
    }
    if (s->given[i]) {
        return cli_error("%s:%zu: channel '%.*s' already has a spend (line %zu)", file,
                         r->rec_line, (int)len, ch, s->line[i]);
    }
    if (!parse_real(v, &x) || x < 0) {
        return cli_error("%s:%zu: spend '%s' is not a non-negative number", file, r->rec_line, v);
    }
    s->spend[i] = x;
    s->given[i] = 1;
    s->line[i] = r->rec_line;
    return CLI_OK;
}

/* FILE: CSV with the header channel,spend (comma-separated; the columns in
 * any order), one row per channel. */
static int load_spend(spend_table *s, const cvm_attribution *a, const char *file)
{
    size_t n = cvm_attribution_channel_count(a), len = 0, rows = 0;
    FILE *f = fopen(file, "rb");
    rec_reader r;
    char *data;
    int st, ic, is, rc = CLI_OK;
    memset(s, 0, sizeof *s);
    if (f == NULL) {
        return cli_error("%s: cannot open: %s", file, strerror(errno));
    }
    data = read_stream(f, &len);
    if (data == NULL || ferror(f)) {
        rc = data == NULL ? CLI_FAIL : CLI_BAD;
        cli_error("%s: %s", file, data == NULL ? "out of memory" : "cannot read");
        fclose(f);
        free(data);
        return rc;
    }
    fclose(f);
    s->spend = calloc(n ? n : 1, sizeof *s->spend);
    s->given = calloc(n ? n : 1, 1);
    s->line = calloc(n ? n : 1, sizeof *s->line);
    if (s->spend == NULL || s->given == NULL || s->line == NULL) {
        free(data);
        cli_error("%s: out of memory", file);
        return CLI_FAIL;
    }
    rec_init(&r, data, len, ',');
    st = rec_next(&r);
    ic = st == REC_OK ? find_column(&r, "channel") : -1;
    is = st == REC_OK ? find_column(&r, "spend") : -1;
    if (st == REC_NOMEM) {
        rc = CLI_FAIL;
    } else if (ic < 0 || is < 0) {
        rc = cli_error("%s:1: the header needs columns channel and spend", file);
    }
    while (rc == CLI_OK && (st = rec_next(&r)) == REC_OK) {
        if (rec_blank(&r)) {
            continue;
        }
        if (r.nf <= (size_t)(ic > is ? ic : is)) {
            rc = cli_error("%s:%zu: %zu fields, expected %d", file, r.rec_line, r.nf,
                           (ic > is ? ic : is) + 1);
            break;
        }
        rc = spend_row(s, a, &r, ic, is, file);
        rows++;
    }
    if (rc == CLI_OK && st == REC_OPEN_QUOTE) {
        rc = cli_error("%s:%zu: a quote opened here is never closed", file, r.rec_line);
    } else if (rc == CLI_OK && st == REC_NOMEM) {
        rc = CLI_FAIL;
    } else if (rc == CLI_OK && rows == 0) {
        rc = cli_error("%s: no spend rows (expected channel,spend lines)", file);
    }
    if (rc == CLI_FAIL) {
        cli_error("%s: out of memory", file);
    }
    rec_free(&r);
    free(data);
    return rc;
}

/* ---- running a model ---- */

typedef struct attribution_args {
    cli_paths paths;
    const char *col[NCOL]; /* --id, --date, --channel (and --value for touchpoints) */
    const char *model;
    const char *out;
    int json;
    long order, max_steps; /* -1: not given */
    double half_life_days; /* NAN: not given */
    int shapley;           /* -1: not given */
} attribution_args;

/* Credit per channel from the last run, with the input's totals. */
typedef struct credit {
    size_t n;
    double *conv, *value, *removal, *roi, *cost;
    double p_conversion;
    double total_conv, total_value;
} credit;

static void credit_free(credit *c)
{
    free(c->conv); /* one block */
}

static int credit_alloc(credit *c, size_t n)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    c->conv = calloc(5 * (n ? n : 1), sizeof *c->conv);
    if (c->conv == NULL) {
        cli_error("attribute: out of memory");
        return CLI_FAIL;
    }
    c->value = c->conv + n;
    c->removal = c->conv + 2 * n;
    c->roi = c->conv + 3 * n;
    c->cost = c->conv + 4 * n;
    return CLI_OK;
}

static int run_failed(cvm_attribution *a, cvm_status st, const char *file)
{
    if (st == CVM_E_EMPTY) {
        return cli_error("%s: no conversions to attribute", file);
    }
    return lib_failed(a, st, file);
}

/* Input totals: first touch hands out every conversion and all value. */
static int totals(cvm_attribution *a, credit *c, const char *file)
{
    cvm_attribution_run_options ro = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    cvm_status st;
    size_t i;
    ro.model = CVM_ATTR_FIRST;
    st = cvm_attribution_run(a, &ro);
    if (st == CVM_OK) {
        st = cvm_attribution_credit(a, c->conv, c->value, c->n);
    }
    if (st != CVM_OK) {
        return run_failed(a, st, file);
    }
    c->total_conv = c->total_value = 0;
    for (i = 0; i < c->n; i++) {
        c->total_conv += c->conv[i];
        c->total_value += c->value[i];
    }
    return CLI_OK;
}

static int run_model(cvm_attribution *a, const cvm_attribution_run_options *ro, credit *c,
                     const char *file)
{
    cvm_status st = cvm_attribution_run(a, ro);
    if (st == CVM_OK) {
        st = cvm_attribution_credit(a, c->conv, c->value, c->n);
    }
    if (st == CVM_OK && ro->model == CVM_ATTR_MARKOV) {
        st = cvm_attribution_removal_effects(a, c->removal, c->n, &c->p_conversion);
    }
    return st == CVM_OK ? CLI_OK : run_failed(a, st, file);
}

static int roi(cvm_attribution *a, credit *c, const spend_table *s)
{
    char err[256] = "";
    cvm_status st = cvm_attribution_roi(a, s->spend, c->n, c->roi, c->cost, err, sizeof err);
    if (st != CVM_OK) {
        if (st == CVM_E_NOMEM) {
            cli_error("attribute: out of memory");
            return CLI_FAIL;
        }
        return cli_error("attribute: roi: %s", err[0] ? err : cvm_strerror(st));
    }
    return CLI_OK;
}

/* ---- parsing `cvm attribute` ---- */

static const char *const model_names[] = {"first", "last", "linear", "decay",
                                          "position", "markov", "shapley"};

static int model_index(const char *s)
{
    int k;
    for (k = 0; k < (int)(sizeof model_names / sizeof model_names[0]); k++) {
        if (strcmp(s, model_names[k]) == 0) {
            return k;
        }
    }
    return -1;
}

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    unsigned long long u;
    if (cli_parse_u64(opt, s, &u)) {
        return 1;
    }
    if (u < (unsigned long long)lo || u > (unsigned long long)hi) {
        return cli_error("%s: '%s' is not between %ld and %ld", opt, s, lo, hi);
    }
    *out = (long)u;
    return 0;
}

static int parse_days(const char *opt, const char *s, int open, double *out)
{
    if (!parse_real(s, out) || *out < 0 || (open && *out == 0) || *out > 1e6) {
        return cli_error("%s: '%s' is not a number of days %s 0", opt, s, open ? ">" : ">=");
    }
    return 0;
}

static int attribute_opt(cli_args *a, const char *arg, attribution_args *p, int *bad)
{
    int k;
    for (k = COL_ID; k <= COL_CHANNEL; k++) {
        if (cli_opt(a, arg, col_option[k], bad)) {
            if (!*bad && a->value[0] == '\0') {
                *bad = cli_error("%s: empty column", col_option[k]);
            }
            p->col[k] = a->value;
            return 1;
        }
    }
    if (cli_opt(a, arg, "--model", bad)) {
        p->model = a->value;
    } else if (cli_opt(a, arg, "--touchpoints", bad)) {
        p->paths.touch_file = a->value;
    } else if (cli_opt(a, arg, "--order", bad)) {
        *bad = *bad || parse_long(arg, a->value, 1, 4, &p->order);
    } else if (cli_opt(a, arg, "--max-steps", bad)) {
        *bad = *bad || parse_long(arg, a->value, 0, 1000000000, &p->max_steps);
    } else if (cli_opt(a, arg, "--half-life", bad)) {
        *bad = *bad || parse_days(arg, a->value, 1, &p->half_life_days);
    } else if (cli_opt(a, arg, "--lookback", bad)) {
        *bad = *bad || parse_days(arg, a->value, 0, &p->paths.lookback_days);
    } else if (cli_opt(a, arg, "--shapley", bad)) {
        if (!*bad && strcmp(a->value, "conversions") == 0) {
            p->shapley = CVM_SHAPLEY_CONVERSIONS;
        } else if (!*bad && strcmp(a->value, "rate") == 0) {
            p->shapley = CVM_SHAPLEY_RATE;
        } else if (!*bad) {
            *bad = cli_error("--shapley: '%s' is not conversions or rate", a->value);
        }
    } else if (cli_flag(arg, "--json")) {
        p->json = 1;
    } else if (cli_opt(a, arg, "-o", bad)) {
        p->out = a->value;
    } else {
        return 0;
    }
    return 1;
}

/* Options that belong to one model or one input are refused elsewhere. */
static int check_args(const attribution_args *p, int model)
{
    const cli_paths *q = &p->paths;
    int k;
    if (p->model == NULL) {
        return cli_error("attribute: no --model (first, last, linear, decay, position, markov, "
                         "shapley)");
    }
    if (model < 0) {
        return cli_error("attribute: --model: '%s' is not first, last, linear, decay, "
                         "position, markov or shapley",
                         p->model);
    }
    if ((q->file == NULL) == (q->touch_file == NULL)) {
        return cli_error("attribute: give one of --paths FILE and --touchpoints FILE");
    }
    if ((p->order >= 0 || p->max_steps >= 0) && model != CVM_ATTR_MARKOV) {
        return cli_error("attribute: --order and --max-steps are for --model markov");
    }
    if (!isnan(p->half_life_days) && model != CVM_ATTR_DECAY) {
        return cli_error("attribute: --half-life is for --model decay");
    }
    if (p->shapley >= 0 && model != CVM_ATTR_SHAPLEY) {
        return cli_error("attribute: --shapley is for --model shapley");
    }
    if (q->file != NULL) {
        for (k = COL_ID; k <= COL_CHANNEL; k++) {
            if (p->col[k]) {
                return cli_error("attribute: %s is for --touchpoints", col_option[k]);
            }
        }
        if (q->lookback_days >= 0) {
            return cli_error("attribute: --lookback is for --touchpoints");
        }
        if (model == CVM_ATTR_DECAY) {
            return cli_error("attribute: decay needs touch times, which aggregated paths do not "
                             "have: use --touchpoints");
        }
    } else {
        if (q->col[COL_PATH] || q->col[COL_CONV] || q->col[COL_NULL]) {
            return cli_error("attribute: --path, --conversions and --null are for --paths");
        }
        if (q->separator != '>') {
            return cli_error("attribute: --separator is for --paths");
        }
    }
    return 0;
}

static int parse(int argc, char **argv, attribution_args *p)
{
    cli_args a;
    const char *arg;
    int bad = 0;
    cli_args_init(&a, argc, argv, 2);
    while (!bad && (arg = cli_args_next(&a)) != NULL) {
        if (cli_paths_opt(&a, arg, &p->paths, "--delimiter", &bad) ||
            attribute_opt(&a, arg, p, &bad)) {
            continue;
        }
        bad = cli_error("attribute: unknown argument '%s'", arg);
    }
    return bad;
}

/* ---- writing ---- */

static void put_num(FILE *f, double v)
{
    char num[40];
    cli_fmt_double(num, sizeof num, v);
    fputs(num, f);
}

static void put_json_num(FILE *f, double v)
{
    if (isfinite(v)) {
        put_num(f, v);
    } else {
        fputs("null", f);
    }
}

static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

static void write_csv(FILE *f, const cvm_attribution *a, const credit *c, int model,
                      const spend_table *s)
{
    size_t i;
    fputs("channel,conversions,value", f);
    fputs(model == CVM_ATTR_MARKOV ? ",removal_effect" : "", f);
    fputs(s ? ",spend,roi,cost_per_conversion\n" : "\n", f);
    for (i = 0; i < c->n; i++) {
        const char *name = cvm_attribution_channel_name(a, i);
        name = name ? name : "";
        cli_write_field(f, name, strlen(name));
        fputc(',', f);
        put_num(f, c->conv[i]);
        fputc(',', f);
        put_num(f, c->value[i]);
        if (model == CVM_ATTR_MARKOV) {
            fputc(',', f);
            put_num(f, c->removal[i]);
        }
        if (s && s->given[i]) {
            fputc(',', f);
            put_num(f, s->spend[i]);
            fputc(',', f);
            put_num(f, c->roi[i]);
            fputc(',', f);
            put_num(f, c->cost[i]);
        } else if (s) {
            fputs(",,,", f);
        }
        fputc('\n', f);
    }
}

static void write_json(FILE *f, const cvm_attribution *a, const credit *c, int model,
                       const cvm_attribution_run_options *ro, const spend_table *s)
{
    double spend = 0;
    size_t i;
    fprintf(f, "{\"model\": \"%s\", ", model_names[model]);
    if (model == CVM_ATTR_MARKOV) {
        fprintf(f, "\"order\": %d, \"max_steps\": %d, \"use_nulls\": %s, ", (int)ro->order,
                (int)ro->max_steps, ro->use_nulls ? "true" : "false");
    } else if (model == CVM_ATTR_SHAPLEY) {
        fprintf(f, "\"shapley\": \"%s\", ",
                ro->shapley == CVM_SHAPLEY_RATE ? "rate" : "conversions");
    } else if (model == CVM_ATTR_DECAY) {
        fputs("\"half_life_days\": ", f);
        put_num(f, ro->half_life_seconds / DAY_SECONDS);
        fputs(", ", f);
    }
    fputs("\"channels\": [", f);
    for (i = 0; i < c->n; i++) {
        const char *name = cvm_attribution_channel_name(a, i);
        fputs(i ? ",\n  {\"channel\": " : "\n  {\"channel\": ", f);
        put_json_string(f, name ? name : "");
        fputs(", \"conversions\": ", f);
        put_json_num(f, c->conv[i]);
        fputs(", \"value\": ", f);
        put_json_num(f, c->value[i]);
        if (model == CVM_ATTR_MARKOV) {
            fputs(", \"removal_effect\": ", f);
            put_json_num(f, c->removal[i]);
        }
        if (s && s->given[i]) {
            spend += s->spend[i];
            fputs(", \"spend\": ", f);
            put_json_num(f, s->spend[i]);
            fputs(", \"roi\": ", f);
            put_json_num(f, c->roi[i]);
            fputs(", \"cost_per_conversion\": ", f);
            put_json_num(f, c->cost[i]);
        } else if (s) {
            fputs(", \"spend\": null, \"roi\": null, \"cost_per_conversion\": null", f);
        }
        fputc('}', f);
    }
    fputs("],\n \"totals\": {\"conversions\": ", f);
    put_json_num(f, c->total_conv);
    fputs(", \"value\": ", f);
    put_json_num(f, c->total_value);
    if (s) {
        fputs(", \"spend\": ", f);
        put_json_num(f, spend);
    }
    fputc('}', f);
    if (model == CVM_ATTR_MARKOV) {
        fputs(", \"p_conversion\": ", f);
        put_json_num(f, c->p_conversion);
    }
    fputs("}\n", f);
}

/* Load the journeys of either input. */
static int load(cvm_attribution **a, const cli_paths *p, const char *const *col,
                const char *delimiter_opt)
{
    int rc = new_handle(a, p);
    if (rc == CLI_OK) {
        rc = p->file ? load_paths(*a, p, delimiter_opt)
                     : load_touchpoints(*a, p, col, delimiter_opt);
    }
    return rc;
}

static const char *input_file(const cli_paths *p)
{
    const char *f = p->file ? p->file : p->touch_file;
    return strcmp(f, "-") == 0 ? "<stdin>" : f;
}

/* The arguments, parsed and checked, and the run options they give;
 * nothing is opened. */
static int get_args(int argc, char **argv, attribution_args *p, int *model,
                    cvm_attribution_run_options *ro)
{
    memset(p, 0, sizeof *p);
    cli_paths_init(&p->paths);
    p->order = p->max_steps = -1;
    p->half_life_days = NAN;
    p->shapley = -1;
    if (parse(argc, argv, p)) {
        return CLI_BAD;
    }
    *model = p->model ? model_index(p->model) : -1;
    if (check_args(p, *model)) {
        return CLI_BAD;
    }
    ro->model = *model;
    ro->order = p->order >= 0 ? (int32_t)p->order : 1;
    ro->max_steps = p->max_steps >= 0 ? (int32_t)p->max_steps : 0;
    ro->use_nulls = !p->paths.no_null;
    ro->shapley = p->shapley >= 0 ? p->shapley : CVM_SHAPLEY_CONVERSIONS;
    if (!isnan(p->half_life_days)) {
        ro->half_life_seconds = p->half_life_days * DAY_SECONDS;
    }
    return CLI_OK;
}

int cmd_attribute_check_args(int argc, char **argv)
{
    attribution_args p;
    cvm_attribution_run_options ro = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    int model;
    return get_args(argc, argv, &p, &model, &ro);
}

int cmd_attribute(int argc, char **argv)
{
    attribution_args p;
    cvm_attribution_run_options ro = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    cvm_attribution *a = NULL;
    spend_table spend, *sp = NULL;
    credit c;
    cli_out out;
    int model, rc;
    memset(&c, 0, sizeof c);
    memset(&spend, 0, sizeof spend);
    if (get_args(argc, argv, &p, &model, &ro) != CLI_OK) {
        return CLI_BAD;
    }
    p.col[COL_VALUE] = p.paths.col[COL_VALUE];
    rc = load(&a, &p.paths, p.col, "--delimiter");
    if (rc == CLI_OK) {
        rc = credit_alloc(&c, cvm_attribution_channel_count(a));
    }
    if (rc == CLI_OK && p.paths.spend) {
        sp = &spend;
        rc = load_spend(sp, a, p.paths.spend);
    }
    if (rc == CLI_OK) {
        rc = totals(a, &c, input_file(&p.paths));
    }
    if (rc == CLI_OK) {
        rc = run_model(a, &ro, &c, input_file(&p.paths));
    }
    if (rc == CLI_OK && sp) {
        rc = roi(a, &c, sp);
    }
    if (rc == CLI_OK && (rc = cli_out_open(&out, p.out)) == CLI_OK) {
        if (p.json) {
            write_json(out.f, a, &c, model, &ro, sp);
        } else {
            write_csv(out.f, a, &c, model, sp);
        }
        rc = cli_out_close(&out, 1);
    }
    spend_free(&spend);
    credit_free(&c);
    cvm_attribution_free(a);
    return rc;
}

/* ---- the Channels section of `cvm report` ---- */

struct cli_channels {
    cvm_attribution *a;
    const char *file;
    size_t n;
    double *last_conv, *last_value, *lin_conv, *lin_value;
    credit markov; /* with the input's totals and, with spend, ROI */
    spend_table spend;
    int has_spend, use_nulls;
};

void cli_channels_free(cli_channels *ch)
{
    if (ch == NULL) {
        return;
    }
    cvm_attribution_free(ch->a);
    free(ch->last_conv);
    credit_free(&ch->markov);
    spend_free(&ch->spend);
    free(ch);
}

int cli_paths_check(const cli_paths *p, const char *cmd)
{
    if (p->file == NULL && p->other_given) {
        return cli_error("%s: the channel options need --paths FILE", cmd);
    }
    return 0;
}

int cli_channels_compute(cli_channels **out, const cli_paths *p)
{
    cvm_attribution_run_options ro = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    cli_channels *ch = calloc(1, sizeof *ch);
    credit tmp;
    int rc;
    *out = NULL;
    if (ch == NULL) {
        cli_error("report: out of memory");
        return CLI_FAIL;
    }
    ch->file = p->file;
    ch->use_nulls = !p->no_null;
    rc = load(&ch->a, p, NULL, "--paths-delimiter");
    if (rc == CLI_OK) {
        ch->n = cvm_attribution_channel_count(ch->a);
        rc = credit_alloc(&ch->markov, ch->n);
    }
    if (rc == CLI_OK) {
        ch->last_conv = calloc(4 * (ch->n ? ch->n : 1), sizeof *ch->last_conv);
        if (ch->last_conv == NULL) {
            cli_error("report: out of memory");
            rc = CLI_FAIL;
        } else {
            ch->last_value = ch->last_conv + ch->n;
            ch->lin_conv = ch->last_conv + 2 * ch->n;
            ch->lin_value = ch->last_conv + 3 * ch->n;
        }
    }
    if (rc == CLI_OK && p->spend) {
        ch->has_spend = 1;
        rc = load_spend(&ch->spend, ch->a, p->spend);
    }
    if (rc == CLI_OK) {
        rc = totals(ch->a, &ch->markov, p->file);
    }
    tmp = ch->markov;
    tmp.conv = ch->last_conv;
    tmp.value = ch->last_value;
    ro.model = CVM_ATTR_LAST;
    rc = rc == CLI_OK ? run_model(ch->a, &ro, &tmp, p->file) : rc;
    tmp.conv = ch->lin_conv;
    tmp.value = ch->lin_value;
    ro.model = CVM_ATTR_LINEAR;
    rc = rc == CLI_OK ? run_model(ch->a, &ro, &tmp, p->file) : rc;
    ro.model = CVM_ATTR_MARKOV;
    ro.order = 1;
    ro.use_nulls = ch->use_nulls;
    rc = rc == CLI_OK ? run_model(ch->a, &ro, &ch->markov, p->file) : rc;
    if (rc == CLI_OK && ch->has_spend) {
        rc = roi(ch->a, &ch->markov, &ch->spend);
    }
    if (rc != CLI_OK) {
        cli_channels_free(ch);
        return rc;
    }
    *out = ch;
    return CLI_OK;
}

/* Channel names are arbitrary bytes; keep the table's lines intact. */
static void write_name(FILE *f, const char *name)
{
    size_t i, n = strlen(name) < 16 ? strlen(name) : 16;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
    }
    fprintf(f, "%*s", (int)(16 - n), "");
}

void cli_channels_write(FILE *f, const cli_channels *ch)
{
    const credit *m = &ch->markov;
    double sum[6] = {0, 0, 0, 0, 0, 0};
    size_t i;
    fprintf(f, "\nChannels (%s: %zu channels, %.0f conversions worth %.2f)\n", ch->file, ch->n,
            m->total_conv, m->total_value);
    fprintf(f, "  %-16s %12s %12s %12s %9s\n", "conversions", "last touch", "linear", "Markov",
            "removal");
    for (i = 0; i < ch->n; i++) {
        const char *name = cvm_attribution_channel_name(ch->a, i);
        fputs("  ", f);
        write_name(f, name ? name : "");
        fprintf(f, " %12.2f %12.2f %12.2f %8.1f%%\n", ch->last_conv[i], ch->lin_conv[i],
                m->conv[i], 100 * m->removal[i]);
        sum[0] += ch->last_conv[i];
        sum[1] += ch->lin_conv[i];
        sum[2] += m->conv[i];
    }
    fprintf(f, "  %-16s %12.2f %12.2f %12.2f\n", "total", sum[0], sum[1], sum[2]);
    sum[2] = 0;
    fprintf(f, "  %-16s %12s %12s %12s", "value", "last touch", "linear", "Markov");
    if (ch->has_spend) {
        fprintf(f, " %12s %8s", "spend", "ROI");
    }
    fputc('\n', f);
    for (i = 0; i < ch->n; i++) {
        const char *name = cvm_attribution_channel_name(ch->a, i);
        fputs("  ", f);
        write_name(f, name ? name : "");
        fprintf(f, " %12.2f %12.2f %12.2f", ch->last_value[i], ch->lin_value[i], m->value[i]);
        if (ch->has_spend && ch->spend.given[i]) {
            fprintf(f, " %12.2f %8.2f\n", ch->spend.spend[i], m->roi[i]);
            sum[5] += ch->spend.spend[i];
        } else {
            fputc('\n', f);
        }
        sum[3] += ch->last_value[i];
        sum[4] += ch->lin_value[i];
        sum[2] += m->value[i];
    }
    fprintf(f, "  %-16s %12.2f %12.2f %12.2f", "total", sum[3], sum[4], sum[2]);
    if (ch->has_spend) {
        fprintf(f, " %12.2f\n", sum[5]);
    } else {
        fputc('\n', f);
    }
    fprintf(f, "  (Markov: order 1, exact, P(conversion) %.4f, transitions weighted by\n"
               "  %s; removal: the relative drop in P(conversion) without\n"
               "  the channel%s)\n",
            m->p_conversion, ch->use_nulls ? "conversions and nulls" : "conversions only",
            ch->has_spend ? "; ROI: Markov value / spend" : "");
}
