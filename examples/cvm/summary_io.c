/* Reading a customer summary CSV for `cvm fit` and `cvm predict`. The
 * library reads transaction logs, not summaries, so this is a small RFC 4180
 * reader of its own: the whole file in memory, fields unquoted in place, and
 * the line of every row kept so that the library's "row N" messages can name
 * the line a user would open in an editor. */
#include "summary_io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_name[SUM_NCOLS] = {"frequency", "recency", "T",
                                                    "monetary_value", NULL};
static const char *const option_name[SUM_NCOLS] = {"--frequency", "--recency", "--T",
                                                   "--monetary", "--weights"};

void summary_spec_init(summary_spec *s)
{
    int k;
    memset(s, 0, sizeof *s);
    for (k = 0; k < SUM_NCOLS; k++) {
        s->col[k] = default_name[k];
    }
}

int summary_opt(cli_args *a, const char *arg, summary_spec *s, int *bad)
{
    int k;
    if (cli_opt(a, arg, "--summary", bad)) {
        s->path = a->value;
        return 1;
    }
    if (cli_opt(a, arg, "--id", bad)) {
        s->id_col = a->value;
        *bad = *bad || (a->value[0] == '\0' && cli_error("--id: empty column"));
        return 1;
    }
    for (k = 0; k < SUM_NCOLS; k++) {
        if (cli_opt(a, arg, option_name[k], bad)) {
            s->col[k] = a->value;
            s->named[k] = 1;
            *bad = *bad || (a->value[0] == '\0' && cli_error("%s: empty column", option_name[k]));
            return 1;
        }
    }
    return 0;
}

static int out_of_memory(const char *file)
{
    cli_error("%s: out of memory", file);
    return CLI_FAIL;
}

/* ---- reading the bytes ---- */

char *read_stream(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *p = realloc(buf, 2 * cap + 1);
            if (p == NULL) {
                free(buf);
                return NULL;
            }
            buf = p;
            cap *= 2;
        }
    }
    if (buf != NULL) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* The file's bytes (NUL-terminated), or NULL after printing why. A file
 * that cannot be opened is bad input (2), as in `cvm summary`. */
static char *read_file(const char *path, size_t *len, int *rc)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf;
    int failed;
    if (f == NULL) {
        *rc = cli_error("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    buf = read_stream(f, len);
    failed = ferror(f);
    if (f != stdin) {
        fclose(f);
    }
    if (buf == NULL || failed) {
        cli_error("%s: %s", path, buf == NULL ? "out of memory" : "cannot read");
        free(buf);
        *rc = CLI_FAIL;
        return NULL;
    }
    return buf;
}

/* ---- CSV records ---- */

typedef struct field {
    char *p;
    size_t n;
} field;

typedef struct parser {
    const char *file;
    char *buf;
    size_t len, pos;
    size_t line;  /* line of buf[pos] */
    field *f;
    size_t nf, cap;
} parser;

static int push_field(parser *p, char *s, size_t n)
{
    if (p->nf == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        field *g = realloc(p->f, cap * sizeof *g);
        if (g == NULL) {
            return out_of_memory(p->file);
        }
        p->f = g;
        p->cap = cap;
    }
    p->f[p->nf].p = s;
    p->f[p->nf].n = n;
    p->nf++;
    return CLI_OK;
}

/* A quoted field, unescaped in place ("" becomes "). */
static int quoted_field(parser *p)
{
    size_t opened = p->line;
    char *dst = p->buf + p->pos, *start = dst;
    p->pos++;
    for (;;) {
        char c;
        if (p->pos >= p->len) {
            cli_error("%s:%zu: a quote opened here is never closed", p->file, opened);
            return CLI_BAD;
        }
        c = p->buf[p->pos++];
        if (c == '"' && p->buf[p->pos] == '"') {
            p->pos++;
        } else if (c == '"') {
            break;
        }
        p->line += c == '\n';
        *dst++ = c;
    }
    if (p->pos < p->len && p->buf[p->pos] == '\r' && p->buf[p->pos + 1] == '\n') {
        p->pos++;
    }
    if (p->pos < p->len && p->buf[p->pos] != ',' && p->buf[p->pos] != '\n') {
        cli_error("%s:%zu: text after a closing quote", p->file, p->line);
        return CLI_BAD;
    }
    return push_field(p, start, (size_t)(dst - start));
}

static int plain_field(parser *p)
{
    size_t start = p->pos, end;
    while (p->pos < p->len && p->buf[p->pos] != ',' && p->buf[p->pos] != '\n') {
        p->pos++;
    }
    end = p->pos;
    if (end > start && p->buf[end - 1] == '\r' && (end == p->len || p->buf[end] == '\n')) {
        end--; /* CRLF line ending */
    }
    return push_field(p, p->buf + start, end - start);
}

static int blank_line(const parser *p)
{
    const char *s = p->buf + p->pos;
    return s[0] == '\n' || (s[0] == '\r' && s[1] == '\n');
}

/* The next non-blank record into p->f. Returns 1 with *line set, 0 at the
 * end, or -CLI_BAD / -CLI_FAIL after printing an error. */
static int next_record(parser *p, size_t *line)
{
    int rc;
    while (p->pos < p->len && blank_line(p)) {
        p->pos += p->buf[p->pos] == '\r' ? 2 : 1;
        p->line++;
    }
    if (p->pos >= p->len) {
        return 0;
    }
    *line = p->line;
    p->nf = 0;
    for (;;) {
        rc = p->buf[p->pos] == '"' ? quoted_field(p) : plain_field(p);
        if (rc != CLI_OK) {
            return -rc;
        }
        if (p->pos >= p->len) {
            return 1;
        }
        if (p->buf[p->pos++] == '\n') {
            p->line++;
            return 1;
        }
    }
}

/* ---- columns ---- */

/* Column `spec` (a name, or a 1-based index when all digits) in the header:
 * its 0-based index, or -1 if absent. */
static long find_column(const parser *p, const char *spec)
{
    size_t j, n = strlen(spec);
    if (strspn(spec, "0123456789") == n) {
        long v = strtol(spec, NULL, 10);
        return v >= 1 && (size_t)v <= p->nf ? v - 1 : -1;
    }
    for (j = 0; j < p->nf; j++) {
        if (p->f[j].n == n && memcmp(p->f[j].p, spec, n) == 0) {
            return (long)j;
        }
    }
    return -1;
}

/* "frequency, recency, T" for a message naming the columns there are. */
static void header_list(const parser *p, char *buf, size_t size)
{
    size_t j, used = 0;
    buf[0] = '\0';
    for (j = 0; j < p->nf && used + 8 < size; j++) {
        int w = snprintf(buf + used, size - used, "%s%.*s", j ? ", " : "", (int)p->f[j].n,
                         p->f[j].p);
        used += w > 0 ? (size_t)w : 0;
    }
    if (used >= size) {
        strcpy(buf + size - 4, "...");
    }
}

static int missing_column(const parser *p, const char *what, const char *spec, const char *opt)
{
    char cols[200];
    header_list(p, cols, sizeof cols);
    return cli_error("%s:1: no %s column '%s' in the header (%s)%s%s", p->file, what, spec, cols,
                     opt ? "; choose one with " : "", opt ? opt : "");
}

typedef struct layout {
    long col[SUM_NCOLS]; /* 0-based, -1: not read */
    long id;             /* 0-based, -1: row numbers */
    size_t width;        /* fields a row needs */
} layout;

static int resolve(const parser *p, const summary_spec *s, layout *L)
{
    static const char *const what[SUM_NCOLS] = {"frequency", "recency", "T", "monetary value",
                                                "weights"};
    int k;
    L->width = 0;
    for (k = 0; k < SUM_NCOLS; k++) {
        int need = s->need[k] == NEED_IF_PRESENT && s->named[k] ? NEED_REQUIRED : s->need[k];
        L->col[k] = need != NEED_SKIP && s->col[k] ? find_column(p, s->col[k]) : -1;
        if (L->col[k] < 0 && need == NEED_REQUIRED) {
            return missing_column(p, what[k], s->col[k] ? s->col[k] : "?",
                                  s->named[k] ? NULL : option_name[k]);
        }
        if (L->col[k] >= 0 && (size_t)L->col[k] + 1 > L->width) {
            L->width = (size_t)L->col[k] + 1;
        }
    }
    L->id = find_column(p, s->id_col ? s->id_col : "id");
    if (L->id < 0 && s->id_col) {
        return missing_column(p, "id", s->id_col, NULL);
    }
    if (L->id >= 0 && (size_t)L->id + 1 > L->width) {
        L->width = (size_t)L->id + 1;
    }
    return CLI_OK;
}

/* ---- rows ---- */

static int parse_number(const parser *p, size_t line, const field *f, const char *col,
                        double *out)
{
    char text[64], *end;
    size_t a = 0, b = f->n;
    while (a < b && (f->p[a] == ' ' || f->p[a] == '\t')) {
        a++;
    }
    while (b > a && (f->p[b - 1] == ' ' || f->p[b - 1] == '\t')) {
        b--;
    }
    if (b - a >= sizeof text) {
        return cli_error("%s:%zu: %s '%.20s...' is not a number", p->file, line, col, f->p + a);
    }
    memcpy(text, f->p + a, b - a);
    text[b - a] = '\0';
    errno = 0;
    *out = strtod(text, &end);
    if (b == a || *end != '\0') {
        return cli_error("%s:%zu: %s '%s' is not a number", p->file, line, col, text);
    }
    if (!isfinite(*out)) {
        return cli_error("%s:%zu: %s '%s' is not finite", p->file, line, col, text);
    }
    return CLI_OK;
}

static int grow(summary_data *d, size_t *cap, size_t idbytes)
{
    size_t c = *cap ? 2 * *cap : 1024, k;
    size_t *line = realloc(d->line, c * sizeof *line);
    if (line == NULL) {
        return CLI_FAIL;
    }
    d->line = line;
    for (k = 0; k < SUM_NCOLS; k++) {
        if (d->v[k] != NULL) {
            double *v = realloc(d->v[k], c * sizeof *v);
            if (v == NULL) {
                return CLI_FAIL;
            }
            d->v[k] = v;
        }
    }
    if (idbytes) {
        size_t *off = realloc(d->id_off, (c + 1) * sizeof *off);
        if (off == NULL) {
            return CLI_FAIL;
        }
        d->id_off = off;
    }
    *cap = c;
    return CLI_OK;
}

static int add_id(summary_data *d, size_t *idcap, const field *f)
{
    size_t used = d->id_off[d->n];
    if (used + f->n > *idcap) {
        size_t c = 2 * (used + f->n) + 64;
        char *ids = realloc(d->ids, c);
        if (ids == NULL) {
            return CLI_FAIL;
        }
        d->ids = ids;
        *idcap = c;
    }
    memcpy(d->ids + used, f->p, f->n);
    d->id_off[d->n + 1] = used + f->n;
    return CLI_OK;
}

static int add_row(summary_data *d, const parser *p, const layout *L, size_t line,
                   size_t *idcap)
{
    static const char *const label[SUM_NCOLS] = {"frequency", "recency", "T", "monetary value",
                                                 "weight"};
    int k;
    if (p->nf < L->width) {
        return cli_error("%s:%zu: %zu fields, but the columns asked for need %zu", p->file, line,
                         p->nf, L->width);
    }
    for (k = 0; k < SUM_NCOLS; k++) {
        if (L->col[k] >= 0 &&
            parse_number(p, line, &p->f[L->col[k]], label[k], &d->v[k][d->n]) != CLI_OK) {
            return CLI_BAD;
        }
    }
    if (L->id >= 0 && add_id(d, idcap, &p->f[L->id]) != CLI_OK) {
        return out_of_memory(p->file);
    }
    d->line[d->n++] = line;
    return CLI_OK;
}

static int read_rows(summary_data *d, parser *p, const layout *L)
{
    size_t cap = 0, idcap = 0, line = 0;
    int k, r;
    for (k = 0; k < SUM_NCOLS; k++) {
        /* A non-NULL pointer marks the columns grow() keeps. */
        d->v[k] = L->col[k] >= 0 ? malloc(sizeof(double)) : NULL;
        if (L->col[k] >= 0 && d->v[k] == NULL) {
            return out_of_memory(p->file);
        }
    }
    while ((r = next_record(p, &line)) == 1) {
        if (d->n == cap && grow(d, &cap, L->id >= 0) != CLI_OK) {
            return out_of_memory(p->file);
        }
        if (L->id >= 0 && d->n == 0) {
            d->id_off[0] = 0;
        }
        r = add_row(d, p, L, line, &idcap);
        if (r != CLI_OK) {
            return r;
        }
    }
    if (r < 0) {
        return -r;
    }
    return d->n > 0 ? CLI_OK : cli_error("%s: no customer rows after the header", p->file);
}

int summary_read(summary_data *d, const summary_spec *s)
{
    parser p;
    layout L;
    size_t line;
    int rc = CLI_OK, r;
    memset(d, 0, sizeof *d);
    memset(&p, 0, sizeof p);
    memset(&L, 0, sizeof L);
    d->file = p.file = strcmp(s->path, "-") == 0 ? "<stdin>" : s->path;
    p.buf = read_file(s->path, &p.len, &rc);
    if (p.buf == NULL) {
        return rc;
    }
    p.line = 1;
    if (p.len >= 3 && memcmp(p.buf, "\xEF\xBB\xBF", 3) == 0) {
        p.pos = 3; /* a UTF-8 byte order mark, as spreadsheets write */
    }
    r = next_record(&p, &line);
    if (r == 0) {
        rc = cli_error("%s: empty file (a summary needs a header line)", p.file);
    } else if (r < 0) {
        rc = -r;
    } else {
        rc = resolve(&p, s, &L);
    }
    if (rc == CLI_OK) {
        rc = read_rows(d, &p, &L);
    }
    free(p.f);
    if (rc != CLI_OK) {
        summary_free(d);
    }
    /* Ids were copied out; the text is no longer needed. */
    free(p.buf);
    return rc;
}

void summary_free(summary_data *d)
{
    int k;
    for (k = 0; k < SUM_NCOLS; k++) {
        free(d->v[k]);
        d->v[k] = NULL;
    }
    free(d->ids);
    free(d->id_off);
    free(d->line);
    d->ids = NULL;
    d->id_off = NULL;
    d->line = NULL;
    d->n = 0;
}

void summary_write_id(FILE *f, const summary_data *d, size_t i)
{
    if (d->id_off != NULL) {
        cli_write_field(f, d->ids + d->id_off[i], d->id_off[i + 1] - d->id_off[i]);
    } else {
        fprintf(f, "%zu", i + 1);
    }
}

/* The library names bad rows "row N (x=1, t_x=40, T=38): t_x is after T"
 * or "row N: ..."; a user wants "file:line: t_x is after T (x=1, ...)". */
int summary_row_error(const summary_data *d, const char *msg)
{
    const char *rest, *close;
    char *end;
    unsigned long long row;
    if (strncmp(msg, "row ", 4) != 0 || msg[4] < '0' || msg[4] > '9') {
        return cli_error("%s: %s", d->file, msg);
    }
    row = strtoull(msg + 4, &end, 10);
    if (row < 1 || row > d->n) {
        return cli_error("%s: %s", d->file, msg);
    }
    rest = end;
    close = rest[0] == ' ' && rest[1] == '(' ? strstr(rest, "): ") : NULL;
    if (close != NULL) {
        return cli_error("%s:%zu: %s %.*s", d->file, d->line[row - 1], close + 3,
                         (int)(close + 1 - (rest + 1)), rest + 1);
    }
    rest += strspn(rest, ": ");
    return cli_error("%s:%zu: %s", d->file, d->line[row - 1], rest);
}
