/* Loading transactions from CSV, all or nothing. */
#include "customers/customers_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct columns {
    size_t id, date, amount; /* 0-based; amount SIZE_MAX when absent */
    size_t needed;           /* fields a record must have */
} columns;

static const char *format_name(int32_t f)
{
    switch (f) {
    case CVM_DATE_ISO: return "an ISO 8601 date";
    case CVM_DATE_YYYYMMDD: return "a YYYYMMDD date";
    case CVM_DATE_UNIX: return "unix seconds";
    default: return "a date";
    }
}

static cvm_status find_named(cvm_customers *c, cvm__csv *r, const cvm__csv_field *hdr,
                             size_t nh, const char *name, size_t *col)
{
    size_t i, len = strlen(name);
    for (i = 0; i < nh; i++) {
        if (hdr[i].len == len && memcmp(hdr[i].ptr, name, len) == 0) {
            *col = i;
            return CVM_OK;
        }
    }
    return cvm__cerr(c, CVM_E_NOT_FOUND, "%s:%llu: no column named '%s' in the header",
                     cvm__csv_name(r), (unsigned long long)cvm__csv_line(r), name);
}

/* Resolve one column: a name (needs the header) wins over a 1-based index. */
static cvm_status resolve(cvm_customers *c, cvm__csv *r, const cvm__csv_field *hdr, size_t nh,
                          const char *name, int32_t index, const char *what, size_t *col)
{
    if (name != NULL) {
        if (hdr == NULL) {
            return cvm__cerr(c, CVM_E_INVALID, "%s: the %s column is named '%s' but there is no header",
                             cvm__csv_name(r), what, name);
        }
        return find_named(c, r, hdr, nh, name, col);
    }
    if (index < 1) {
        return cvm__cerr(c, CVM_E_INVALID, "%s: the %s column index %d is not 1 or more",
                         cvm__csv_name(r), what, (int)index);
    }
    *col = (size_t)index - 1;
    return CVM_OK;
}

static cvm_status resolve_all(cvm_customers *c, cvm__csv *r, const cvm_csv_options *o,
                              const cvm__csv_field *hdr, size_t nh, columns *cols)
{
    cvm_status st = resolve(c, r, hdr, nh, o->id_column, o->id_index, "id", &cols->id);
    if (st == CVM_OK) {
        st = resolve(c, r, hdr, nh, o->date_column, o->date_index, "date", &cols->date);
    }
    cols->amount = SIZE_MAX;
    if (st == CVM_OK && (o->amount_column != NULL || o->amount_index != 0)) {
        st = resolve(c, r, hdr, nh, o->amount_column, o->amount_index, "amount", &cols->amount);
    }
    cols->needed = (cols->id > cols->date ? cols->id : cols->date) + 1;
    if (cols->amount != SIZE_MAX && cols->amount + 1 > cols->needed) {
        cols->needed = cols->amount + 1;
    }
    return st;
}

static cvm_status bad_amount(cvm_customers *c, cvm__csv *r, const cvm__csv_field *f,
                             cvm_status st, const char *problem)
{
    char q[200];
    cvm__quote(q, sizeof q, f->ptr, f->len);
    return cvm__cerr(c, st, "%s:%llu:%u: amount '%s' %s", cvm__csv_name(r),
                     (unsigned long long)cvm__csv_line(r), (unsigned)f->column, q, problem);
}

static cvm_status parse_amount(cvm_customers *c, cvm__csv *r, const cvm__csv_field *f,
                               double *amount)
{
    if (cvm__parse_double(f->ptr, f->len, amount) != CVM_OK) {
        return bad_amount(c, r, f, CVM_E_PARSE, "is not a number");
    }
    if (!isfinite(*amount)) {
        return bad_amount(c, r, f, CVM_E_RANGE, "is not finite");
    }
    if (*amount < 0) {
        return bad_amount(c, r, f, CVM_E_RANGE, "is negative");
    }
    if (*amount > CVM__MAX_AMOUNT) {
        return bad_amount(c, r, f, CVM_E_RANGE, "is above the limit of 1e15");
    }
    return CVM_OK;
}

/* Parsed records wait here and go to the model in runs, so that the id
 * lookups of a run overlap (cvm__add_checked). */
#define BATCH 4096

typedef struct batch {
    cvm__vec ids;              /* char: the run's ids, back to back */
    size_t offsets[BATCH + 1];
    int64_t times[BATCH];
    double amounts[BATCH];
    size_t n;
} batch;

static cvm_status flush(cvm_customers *c, batch *b)
{
    cvm_status st = cvm__add_checked(c, b->ids.data, b->offsets, b->times, b->amounts, b->n);
    b->n = 0;
    b->ids.len = 0;
    return st;
}

static cvm_status bad_time(cvm_customers *c, cvm__csv *r, const cvm__csv_field *f, int64_t t,
                           double amount, const cvm__csv_field *id)
{
    char where[600];
    int32_t period;
    snprintf(where, sizeof where, "%s:%llu:%u: ", cvm__csv_name(r),
             (unsigned long long)cvm__csv_line(r), (unsigned)f->column);
    return cvm__check_event(c, where, id->len, t, amount, &period);
}

static cvm_status parse_record(cvm_customers *c, cvm__csv *r, const cvm_csv_options *o,
                               const columns *cols, const cvm__csv_field *f, size_t nf,
                               int64_t *t, double *amount)
{
    const cvm__csv_field *id, *date;
    cvm_status st;
    if (nf < cols->needed) {
        return cvm__cerr(c, CVM_E_PARSE, "%s:%llu: %zu field%s, expected at least %zu",
                         cvm__csv_name(r), (unsigned long long)cvm__csv_line(r), nf,
                         nf == 1 ? "" : "s", cols->needed);
    }
    id = &f[cols->id];
    date = &f[cols->date];
    if (cvm_parse_time(date->ptr, date->len, o->date_format, t) != CVM_OK) {
        char q[200];
        cvm__quote(q, sizeof q, date->ptr, date->len);
        return cvm__cerr(c, CVM_E_PARSE, "%s:%llu:%u: date '%s' is not %s", cvm__csv_name(r),
                         (unsigned long long)cvm__csv_line(r), (unsigned)date->column, q,
                         format_name(o->date_format));
    }
    *amount = 0;
    if (cols->amount != SIZE_MAX && (st = parse_amount(c, r, &f[cols->amount], amount)) != CVM_OK) {
        return st;
    }
    if (id->len == 0 || id->len > CVM__MAX_ID_LEN) {
        return cvm__cerr(c, CVM_E_PARSE, "%s:%llu:%u: id is %s", cvm__csv_name(r),
                         (unsigned long long)cvm__csv_line(r), (unsigned)id->column,
                         id->len ? "longer than 65535 bytes" : "empty");
    }
    /* The id and amount are good by now: what is left to check is the time. */
    return cvm__event_ok(c, id->len, *t, *amount) ? CVM_OK : bad_time(c, r, date, *t, *amount, id);
}

static cvm_status add_record(cvm_customers *c, cvm__csv *r, const cvm_csv_options *o,
                             const columns *cols, const cvm__csv_field *f, size_t nf, batch *b)
{
    const cvm__csv_field *id;
    cvm_status st = parse_record(c, r, o, cols, f, nf, &b->times[b->n], &b->amounts[b->n]);
    if (st != CVM_OK) {
        return st;
    }
    id = &f[cols->id];
    if (cvm__vec_reserve(&b->ids, &c->alloc, 1, b->ids.len + id->len) != CVM_OK) {
        return cvm__cerr(c, CVM_E_NOMEM, "%s: out of memory", cvm__csv_name(r));
    }
    memcpy((char *)b->ids.data + b->ids.len, id->ptr, id->len);
    b->ids.len += id->len;
    b->offsets[++b->n] = b->ids.len;
    return b->n == BATCH ? flush(c, b) : CVM_OK;
}

static cvm_status check_options(cvm_customers *c, const cvm_csv_options *opts,
                                cvm_csv_options *o)
{
    if (cvm__options_copy(o, sizeof *o, opts, sizeof *o) != CVM_OK) {
        return cvm__cerr(c, CVM_E_ABI, "CSV options of unsupported size or with unknown fields");
    }
    if (o->delimiter < 1 || o->delimiter > 255 || o->delimiter == '"' || o->delimiter == '\n' ||
        o->delimiter == '\r' || o->date_format < CVM_DATE_AUTO || o->date_format > CVM_DATE_UNIX ||
        o->reserved != 0) {
        return cvm__cerr(c, CVM_E_INVALID, "bad CSV options (delimiter or date format)");
    }
    return CVM_OK;
}

static cvm_status read_all(cvm_customers *c, cvm__csv *r, const cvm_csv_options *o, batch *b)
{
    const cvm__csv_field *f;
    size_t nf, rows = 0;
    columns cols;
    cvm_status st = cvm__csv_next(r, &f, &nf, c->errmsg, sizeof c->errmsg);
    if (st == CVM_OK && nf == 0) {
        return cvm__cerr(c, CVM_E_EMPTY, "%s: no transactions", cvm__csv_name(r));
    }
    if (st != CVM_OK) {
        return st;
    }
    st = resolve_all(c, r, o, o->has_header ? f : NULL, nf, &cols);
    if (st == CVM_OK && o->has_header && nf > 0) {
        st = cvm__csv_next(r, &f, &nf, c->errmsg, sizeof c->errmsg);
    }
    while (st == CVM_OK && nf > 0) {
        st = add_record(c, r, o, &cols, f, nf, b);
        rows++;
        if (st == CVM_OK) {
            st = cvm__csv_next(r, &f, &nf, c->errmsg, sizeof c->errmsg);
        }
    }
    if (st == CVM_OK && rows == 0) {
        st = cvm__cerr(c, CVM_E_EMPTY, "%s: no transactions", cvm__csv_name(r));
    }
    return st == CVM_OK && b->n > 0 ? flush(c, b) : st;
}

static cvm_status load(cvm_customers *c, cvm__csv *r, const cvm_csv_options *o)
{
    batch *b = cvm__calloc(&c->alloc, 1, sizeof *b);
    cvm_status st;
    cvm__begin(c);
    st = b ? read_all(c, r, o, b)
           : cvm__cerr(c, CVM_E_NOMEM, "%s: out of memory", cvm__csv_name(r));
    cvm__csv_close(r);
    if (b) {
        cvm__vec_free(&b->ids, &c->alloc);
        cvm__free(&c->alloc, b);
    }
    if (st != CVM_OK) {
        cvm__rollback(c);
    }
    return st;
}

cvm_status cvm_customers_load_csv(cvm_customers *c, const char *path, const cvm_csv_options *opts)
{
    cvm_csv_options o = CVM_CSV_OPTIONS_INIT;
    cvm__csv *r;
    cvm_status st;
    if (c == NULL || path == NULL) {
        return c ? cvm__cerr(c, CVM_E_INVALID, "path is NULL") : CVM_E_INVALID;
    }
    st = check_options(c, opts, &o);
    if (st == CVM_OK) {
        st = cvm__csv_open_file(&r, &c->alloc, path, (char)o.delimiter, o.whitespace, c->errmsg,
                                sizeof c->errmsg);
    }
    return st == CVM_OK ? load(c, r, &o) : st;
}

cvm_status cvm_customers_load_csv_buffer(cvm_customers *c, const char *data, size_t len,
                                         const char *name, const cvm_csv_options *opts)
{
    cvm_csv_options o = CVM_CSV_OPTIONS_INIT;
    cvm__csv *r;
    cvm_status st;
    if (c == NULL || (data == NULL && len > 0)) {
        return c ? cvm__cerr(c, CVM_E_INVALID, "data is NULL") : CVM_E_INVALID;
    }
    st = check_options(c, opts, &o);
    if (st == CVM_OK) {
        st = cvm__csv_open_buffer(&r, &c->alloc, data ? data : "", len, name, (char)o.delimiter,
                                  o.whitespace, c->errmsg, sizeof c->errmsg);
    }
    return st == CVM_OK ? load(c, r, &o) : st;
}
