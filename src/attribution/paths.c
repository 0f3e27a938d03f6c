/* Aggregated paths ("a > b > c" with conversions, value and nulls): parsing,
 * merging identical channel sequences (an open-addressing table keyed on the
 * sequence's hash), and the paths CSV loader, all or nothing. */
#include "attribution/attribution_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MIN_SLOTS 64u

void cvm__paths_free(cvm__paths *p, const cvm_allocator *al)
{
    cvm__vec_free(&p->seq, al);
    cvm__vec_free(&p->offset, al);
    cvm__vec_free(&p->conv, al);
    cvm__vec_free(&p->value, al);
    cvm__vec_free(&p->nulls, al);
    cvm__free(al, p->slots);
    p->slots = NULL;
    p->mask = 0;
    p->longest = 0;
}

static uint64_t seq_hash(const uint32_t *s, size_t n)
{
    return cvm__hash_bytes(s, n * sizeof *s);
}

static size_t find(const cvm__paths *p, const uint32_t *s, size_t n, uint64_t h)
{
    const uint32_t *seq = p->seq.data;
    const size_t *off = p->offset.data;
    uint32_t tag = (uint32_t)(h >> 32);
    size_t pos;
    for (pos = tag & p->mask; p->mask; pos = (pos + 1) & p->mask) {
        uint64_t slot = p->slots[pos];
        size_t i = (size_t)(uint32_t)slot - 1;
        if (slot == 0) {
            break;
        }
        if ((uint32_t)(slot >> 32) == tag && off[i + 1] - off[i] == n &&
            memcmp(seq + off[i], s, n * sizeof *s) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

static void place(uint64_t *slots, size_t mask, uint64_t slot)
{
    size_t pos = (size_t)(slot >> 32) & mask;
    while (slots[pos] != 0) {
        pos = (pos + 1) & mask;
    }
    slots[pos] = slot;
}

/* Slots for `n` paths at most 70% full. */
static cvm_status grow_slots(cvm__paths *p, const cvm_allocator *al, size_t n)
{
    size_t want = p->mask ? p->mask + 1 : MIN_SLOTS, i;
    uint64_t *slots;
    while (n > want / 10 * 7) {
        if (want > SIZE_MAX / 4 / sizeof *slots) {
            return CVM_E_NOMEM;
        }
        want *= 2;
    }
    if (p->mask && want == p->mask + 1) {
        return CVM_OK;
    }
    slots = cvm__calloc(al, want, sizeof *slots);
    if (slots == NULL) {
        return CVM_E_NOMEM;
    }
    for (i = 0; p->mask && i <= p->mask; i++) {
        if (p->slots[i]) {
            place(slots, want - 1, p->slots[i]);
        }
    }
    cvm__free(al, p->slots);
    p->slots = slots;
    p->mask = want - 1;
    return CVM_OK;
}

/* Add a path's counts, merging with an identical sequence. CVM_E_NOMEM
 * leaves the store as it was. */
static cvm_status insert(cvm__paths *p, const cvm_allocator *al, const uint32_t *s, size_t n,
                         double conv, double value, double nulls)
{
    uint64_t h = seq_hash(s, n);
    size_t i = find(p, s, n, h), np = p->conv.len;
    if (i != SIZE_MAX) {
        ((double *)p->conv.data)[i] += conv;
        ((double *)p->value.data)[i] += value;
        ((double *)p->nulls.data)[i] += nulls;
        return CVM_OK;
    }
    if (np >= UINT32_MAX - 1 ||
        cvm__vec_reserve(&p->offset, al, sizeof(size_t), np + 2) != CVM_OK ||
        cvm__vec_reserve(&p->seq, al, sizeof(uint32_t), p->seq.len + n) != CVM_OK ||
        cvm__vec_reserve(&p->conv, al, sizeof(double), np + 1) != CVM_OK ||
        cvm__vec_reserve(&p->value, al, sizeof(double), np + 1) != CVM_OK ||
        cvm__vec_reserve(&p->nulls, al, sizeof(double), np + 1) != CVM_OK ||
        grow_slots(p, al, np + 1) != CVM_OK) {
        return CVM_E_NOMEM;
    }
    if (p->offset.len == 0) {
        ((size_t *)p->offset.data)[p->offset.len++] = 0;
    }
    memcpy((uint32_t *)p->seq.data + p->seq.len, s, n * sizeof *s);
    p->seq.len += n;
    ((size_t *)p->offset.data)[p->offset.len++] = p->seq.len;
    ((double *)p->conv.data)[p->conv.len++] = conv;
    ((double *)p->value.data)[p->value.len++] = value;
    ((double *)p->nulls.data)[p->nulls.len++] = nulls;
    place(p->slots, p->mask, (h & 0xFFFFFFFF00000000u) | (uint64_t)(np + 1));
    if (n > p->longest) {
        p->longest = n;
    }
    return CVM_OK;
}

/* Split a path into channel indices (a->scratch), interning new channels.
 * On error: *problem, and the 1-based *token with its byte offset *where. */
static cvm_status parse(cvm_attribution *a, const char *s, size_t len, const char **problem,
                        size_t *token, size_t *where)
{
    size_t pos = 0, k = 0;
    a->scratch.len = 0;
    *token = 0;
    *where = 0;
    if (len == 0) {
        *problem = "is empty";
        return CVM_E_INVALID;
    }
    for (;;) {
        const char *e = memchr(s + pos, a->separator, len - pos);
        size_t end = e ? (size_t)(e - s) : len;
        uint32_t ch;
        cvm_status st;
        *token = ++k;
        *where = pos;
        if (k > CVM__MAX_PATH_TOUCHES) {
            *token = 0; /* about the whole path */
            *problem = "has more than 100000 touches";
            return CVM_E_INVALID;
        }
        if (cvm__vec_reserve(&a->scratch, &a->alloc, sizeof(uint32_t), k) != CVM_OK) {
            *problem = "out of memory";
            return CVM_E_NOMEM;
        }
        st = cvm__attr_channel(a, s + pos, end - pos, &ch, problem);
        if (st != CVM_OK) {
            return st;
        }
        ((uint32_t *)a->scratch.data)[a->scratch.len++] = ch;
        if (e == NULL) {
            return CVM_OK;
        }
        pos = end + 1;
    }
}

static const char *bad_count(double x)
{
    if (isnan(x)) {
        return "is NaN";
    }
    if (!isfinite(x)) {
        return "is infinite";
    }
    return x < 0 ? "is negative" : NULL;
}

/* The message for a parse() failure: "path 'q': channel k is empty". */
static cvm_status path_error(cvm_attribution *a, const char *where, const char *s, size_t len,
                             cvm_status st, const char *problem, size_t token)
{
    char q[200];
    cvm__quote(q, sizeof q, s, len);
    if (st == CVM_E_NOMEM) {
        return cvm__aerr(a, st, "%sout of memory", where);
    }
    if (token == 0) {
        return cvm__aerr(a, st, "%spath '%s' %s", where, q, problem);
    }
    return cvm__aerr(a, st, "%spath '%s': channel %zu %s", where, q, token, problem);
}

cvm_status cvm_attribution_add_path(cvm_attribution *a, const char *path, size_t len,
                                    double conversions, double value, double nulls)
{
    const double counts[3] = { conversions, value, nulls };
    static const char *const names[3] = { "conversions", "value", "nulls" };
    const char *problem;
    size_t nch, token, where, i;
    cvm_status st;
    if (a == NULL) {
        return CVM_E_INVALID;
    }
    a->errmsg[0] = '\0';
    a->view_valid = 0; /* the stores may move even when the add fails */
    if (path == NULL && len > 0) {
        return cvm__aerr(a, CVM_E_INVALID, "path is NULL");
    }
    for (i = 0; i < 3; i++) {
        if ((problem = bad_count(counts[i])) != NULL) {
            return cvm__aerr(a, CVM_E_INVALID, "%s %g %s", names[i], counts[i], problem);
        }
    }
    nch = a->names.len;
    st = parse(a, path ? path : "", len, &problem, &token, &where);
    if (st != CVM_OK) {
        cvm__attr_forget_channels(a, nch);
        return path_error(a, "", path ? path : "", len, st, problem, token);
    }
    if (insert(&a->paths, &a->alloc, a->scratch.data, a->scratch.len, conversions, value,
               nulls) != CVM_OK) {
        cvm__attr_forget_channels(a, nch);
        return cvm__aerr(a, CVM_E_NOMEM, "out of memory");
    }
    cvm__attr_changed(a);
    return CVM_OK;
}

/* ---- CSV ------------------------------------------------------------------ */

cvm_status cvm_paths_csv_options_init(cvm_paths_csv_options *opts, size_t size)
{
    const cvm_paths_csv_options def = CVM_PATHS_CSV_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

/* What a load changes, to put back on failure: the counts of the paths that
 * were there (merging adds to them) and the lengths of everything else. */
typedef struct undo {
    size_t npaths, seq_len, offset_len, longest, nchannels;
    double *counts; /* 3 x npaths */
} undo;

static cvm_status undo_begin(cvm_attribution *a, undo *u)
{
    const cvm__paths *p = &a->paths;
    u->npaths = p->conv.len;
    u->seq_len = p->seq.len;
    u->offset_len = p->offset.len;
    u->longest = p->longest;
    u->nchannels = a->names.len;
    u->counts = NULL;
    if (u->npaths > 0) {
        u->counts = cvm__calloc(&a->alloc, u->npaths, 3 * sizeof(double));
        if (u->counts == NULL) {
            return CVM_E_NOMEM;
        }
        memcpy(u->counts, p->conv.data, u->npaths * sizeof(double));
        memcpy(u->counts + u->npaths, p->value.data, u->npaths * sizeof(double));
        memcpy(u->counts + 2 * u->npaths, p->nulls.data, u->npaths * sizeof(double));
    }
    return CVM_OK;
}

/* Back to the state undo_begin() saw; needs no memory. */
static void undo_apply(cvm_attribution *a, const undo *u)
{
    cvm__paths *p = &a->paths;
    const size_t *off = p->offset.data;
    size_t i;
    p->conv.len = p->value.len = p->nulls.len = u->npaths;
    p->seq.len = u->seq_len;
    p->offset.len = u->offset_len;
    p->longest = u->longest;
    if (u->npaths > 0) {
        memcpy(p->conv.data, u->counts, u->npaths * sizeof(double));
        memcpy(p->value.data, u->counts + u->npaths, u->npaths * sizeof(double));
        memcpy(p->nulls.data, u->counts + 2 * u->npaths, u->npaths * sizeof(double));
    }
    if (p->mask) {
        memset(p->slots, 0, (p->mask + 1) * sizeof *p->slots);
        for (i = 0; i < u->npaths; i++) {
            uint64_t h = seq_hash((const uint32_t *)p->seq.data + off[i], off[i + 1] - off[i]);
            place(p->slots, p->mask, (h & 0xFFFFFFFF00000000u) | (uint64_t)(i + 1));
        }
    }
    cvm__attr_forget_channels(a, u->nchannels);
}

typedef struct csv_cols {
    size_t path, conv, value, nulls; /* SIZE_MAX: absent */
    size_t needed;
} csv_cols;

static cvm_status find_column(cvm_attribution *a, cvm__csv *r, const cvm__csv_field *hdr,
                              size_t nh, const char *name, size_t *col)
{
    size_t i, len;
    *col = SIZE_MAX;
    if (name == NULL) {
        return CVM_OK;
    }
    len = strlen(name);
    for (i = 0; i < nh; i++) {
        const char *s = hdr[i].ptr;
        size_t n = hdr[i].len;
        while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
            s++;
            n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
            n--;
        }
        if (n == len && memcmp(s, name, len) == 0) {
            *col = i;
            return CVM_OK;
        }
    }
    return cvm__aerr(a, CVM_E_NOT_FOUND, "%s:%llu: no column named '%s' in the header",
                     cvm__csv_name(r), (unsigned long long)cvm__csv_line(r), name);
}

static cvm_status find_columns(cvm_attribution *a, cvm__csv *r, const cvm_paths_csv_options *o,
                               const cvm__csv_field *hdr, size_t nh, csv_cols *c)
{
    cvm_status st = find_column(a, r, hdr, nh, o->path_column, &c->path);
    if (st == CVM_OK) {
        st = find_column(a, r, hdr, nh, o->conversions_column, &c->conv);
    }
    if (st == CVM_OK) {
        st = find_column(a, r, hdr, nh, o->value_column, &c->value);
    }
    if (st == CVM_OK) {
        st = find_column(a, r, hdr, nh, o->null_column, &c->nulls);
    }
    if (st != CVM_OK) {
        return st; /* the columns after the missing one are unset */
    }
    c->needed = c->path > c->conv ? c->path : c->conv;
    if (c->value != SIZE_MAX && c->value > c->needed) {
        c->needed = c->value;
    }
    if (c->nulls != SIZE_MAX && c->nulls > c->needed) {
        c->needed = c->nulls;
    }
    c->needed++;
    return st;
}

static cvm_status csv_number(cvm_attribution *a, cvm__csv *r, const cvm__csv_field *fields,
                             size_t col, const char *name, double *out)
{
    const cvm__csv_field *f;
    const char *s, *problem;
    size_t n;
    char q[200];
    *out = 0;
    if (col == SIZE_MAX) {
        return CVM_OK;
    }
    f = &fields[col];
    s = f->ptr;
    n = f->len;
    while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
        n--;
    }
    cvm__quote(q, sizeof q, f->ptr, f->len);
    if (cvm__parse_double(s, n, out) != CVM_OK) {
        return cvm__aerr(a, CVM_E_PARSE, "%s:%llu:%u: %s '%s' is not a number", cvm__csv_name(r),
                         (unsigned long long)cvm__csv_line(r), (unsigned)f->column, name, q);
    }
    if ((problem = bad_count(*out)) != NULL) {
        return cvm__aerr(a, CVM_E_INVALID, "%s:%llu:%u: %s '%s' %s", cvm__csv_name(r),
                         (unsigned long long)cvm__csv_line(r), (unsigned)f->column, name, q,
                         problem);
    }
    return CVM_OK;
}

static cvm_status csv_row(cvm_attribution *a, cvm__csv *r, const cvm_paths_csv_options *o,
                          const csv_cols *c, const cvm__csv_field *f, size_t nf)
{
    double conv, value, nulls;
    const char *problem;
    size_t token, where;
    cvm_status st;
    if (nf < c->needed) {
        return cvm__aerr(a, CVM_E_PARSE, "%s:%llu: %zu field%s, expected at least %zu",
                         cvm__csv_name(r), (unsigned long long)cvm__csv_line(r), nf,
                         nf == 1 ? "" : "s", c->needed);
    }
    st = csv_number(a, r, f, c->conv, o->conversions_column, &conv);
    if (st == CVM_OK) {
        st = csv_number(a, r, f, c->value, o->value_column, &value);
    }
    if (st == CVM_OK) {
        st = csv_number(a, r, f, c->nulls, o->null_column, &nulls);
    }
    if (st != CVM_OK) {
        return st;
    }
    f += c->path;
    st = parse(a, f->ptr, f->len, &problem, &token, &where);
    if (st != CVM_OK) {
        char at[600];
        snprintf(at, sizeof at, "%s:%llu:%llu: ", cvm__csv_name(r),
                 (unsigned long long)cvm__csv_line(r), (unsigned long long)f->column + where);
        return path_error(a, at, f->ptr, f->len, st, problem, token);
    }
    if (insert(&a->paths, &a->alloc, a->scratch.data, a->scratch.len, conv, value, nulls) !=
        CVM_OK) {
        return cvm__aerr(a, CVM_E_NOMEM, "%s:%llu: out of memory", cvm__csv_name(r),
                         (unsigned long long)cvm__csv_line(r));
    }
    return CVM_OK;
}

static cvm_status read_all(cvm_attribution *a, cvm__csv *r, const cvm_paths_csv_options *o)
{
    const cvm__csv_field *f;
    size_t nf, rows = 0;
    csv_cols cols;
    cvm_status st = cvm__csv_next(r, &f, &nf, a->errmsg, sizeof a->errmsg);
    if (st != CVM_OK) {
        return st;
    }
    if (nf == 0) {
        return cvm__aerr(a, CVM_E_EMPTY, "%s: no header and no paths", cvm__csv_name(r));
    }
    st = find_columns(a, r, o, f, nf, &cols);
    if (st == CVM_OK) {
        st = cvm__csv_next(r, &f, &nf, a->errmsg, sizeof a->errmsg);
    }
    while (st == CVM_OK && nf > 0) {
        st = csv_row(a, r, o, &cols, f, nf);
        rows++;
        if (st == CVM_OK) {
            st = cvm__csv_next(r, &f, &nf, a->errmsg, sizeof a->errmsg);
        }
    }
    if (st == CVM_OK && rows == 0) {
        st = cvm__aerr(a, CVM_E_EMPTY, "%s: no paths after the header", cvm__csv_name(r));
    }
    return st;
}

cvm_status cvm_attribution_load_csv(cvm_attribution *a, const char *path,
                                    const cvm_paths_csv_options *opts)
{
    cvm_paths_csv_options o = CVM_PATHS_CSV_OPTIONS_INIT;
    cvm__csv *r = NULL;
    undo u;
    cvm_status st;
    if (a == NULL) {
        return CVM_E_INVALID;
    }
    a->errmsg[0] = '\0';
    a->view_valid = 0;
    if (path == NULL) {
        return cvm__aerr(a, CVM_E_INVALID, "path is NULL");
    }
    if (cvm__options_copy(&o, sizeof o, opts, sizeof o) != CVM_OK) {
        return cvm__aerr(a, CVM_E_ABI, "CSV options of unsupported size or with unknown fields");
    }
    if (o.path_column == NULL || o.conversions_column == NULL || o.delimiter < 1 ||
        o.delimiter > 255 || o.delimiter == '"' || o.delimiter == '\n' || o.delimiter == '\r' ||
        o.reserved != 0) {
        return cvm__aerr(a, CVM_E_INVALID,
                         "bad paths CSV options (a NULL path or conversions column, or the delimiter)");
    }
    st = cvm__csv_open_file(&r, &a->alloc, path, (char)(unsigned char)o.delimiter, 0, a->errmsg,
                            sizeof a->errmsg);
    if (st != CVM_OK) {
        return st;
    }
    if (undo_begin(a, &u) != CVM_OK) {
        cvm__csv_close(r);
        return cvm__aerr(a, CVM_E_NOMEM, "%s: out of memory", path);
    }
    st = read_all(a, r, &o);
    cvm__csv_close(r);
    if (st != CVM_OK) {
        undo_apply(a, &u);
    } else {
        cvm__attr_changed(a);
    }
    cvm__free(&a->alloc, u.counts);
    return st;
}
