/* cvm_rfm: quantile breakpoints of recency, frequency and monetary value,
 * scores 1..k against them, named segments by ordered rules on the scores,
 * and snapshots of all that.
 *
 * Breakpoints come from a multi-position quickselect on a copy of each
 * column (three-way partitions, so columns that are mostly one value, such
 * as frequency 0, cost one pass), not from a sort. */
#include "segment/segment_int.h"

#include <math.h>
#include <string.h>

#define MAX_BINS 9
#define MAX_RULES 4096
#define NAME_MAX_LEN 63
#define TAG_RFM 0x314D4652u   /* "RFM1" */
#define TAG_RULES 0x454C5552u /* "RULE" */
#define FLAG_FITTED 1u
#define FLAG_CUSTOM 2u
/* bins, ties, map, flags, rows of the fit */
#define HEAD_LEN (4 * 4 + 8)
/* six limits and the name's length */
#define RULE_HEAD_LEN (7 * 4)

typedef struct rule {
    char name[NAME_MAX_LEN + 1];
    int32_t lim[6]; /* r_min, r_max, f_min, f_max, m_min, m_max */
} rule;

struct cvm_rfm {
    cvm_allocator alloc;
    int32_t bins, ties, map;
    int fitted;
    int custom;                 /* rules from cvm_rfm_set_rules() (or a snapshot of them) */
    uint64_t fit_n;             /* rows of the last fit */
    unsigned char *fit_scores;  /* r, f, m of the fitted rows (3 * fit_n); NULL after a load */
    double bp[3][MAX_BINS - 1]; /* ascending breakpoints per column */
    rule *rules;
    size_t nrules; /* 0: the built-in map does not apply (bins != 5) */
    int32_t lut[MAX_BINS * MAX_BINS * MAX_BINS]; /* segment of (r, f, m) */
    char errmsg[CVM__ERRMSG_LEN];
};

static const char *const column_names[3] = { "recency", "frequency", "monetary" };

/* ---- options and lifecycle ------------------------------------------- */

cvm_status cvm_rfm_options_init(cvm_rfm_options *opts, size_t size)
{
    const cvm_rfm_options def = CVM_RFM_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

static cvm_status read_options(cvm_rfm_options *o, cvm_allocator *a, const cvm_rfm_options *opts)
{
    const cvm_rfm_options def = CVM_RFM_OPTIONS_INIT;
    cvm_status st;
    *o = def;
    st = cvm__options_copy(o, sizeof *o, opts, sizeof *o);
    if (st != CVM_OK) {
        return st;
    }
    if (o->bins < 2 || o->bins > MAX_BINS || (o->ties != CVM_RFM_QUANTILE && o->ties != CVM_RFM_RANK) ||
        (o->map != CVM_RFM_MAP_RFM_PACKAGE && o->map != CVM_RFM_MAP_RF_GRID) || o->reserved != 0) {
        return CVM_E_INVALID;
    }
    return cvm__allocator_copy(a, o->allocator) == CVM_OK ? CVM_OK : CVM_E_INVALID;
}

/* The segment of every score triple: the first matching rule, else Others. */
static void build_lut(cvm_rfm *rfm)
{
    const int32_t k = rfm->bins;
    int32_t s[3];
    for (s[0] = 1; s[0] <= k; s[0]++) {
        for (s[1] = 1; s[1] <= k; s[1]++) {
            for (s[2] = 1; s[2] <= k; s[2]++) {
                size_t i;
                for (i = 0; i < rfm->nrules; i++) {
                    const int32_t *l = rfm->rules[i].lim;
                    if (s[0] >= l[0] && s[0] <= l[1] && s[1] >= l[2] && s[1] <= l[3] &&
                        s[2] >= l[4] && s[2] <= l[5]) {
                        break;
                    }
                }
                rfm->lut[((s[0] - 1) * k + (s[1] - 1)) * k + (s[2] - 1)] = (int32_t)i;
            }
        }
    }
}

/* Take ownership of `rules` (n of them, already checked). */
static void adopt_rules(cvm_rfm *rfm, rule *rules, size_t n, int custom)
{
    cvm__free(&rfm->alloc, rfm->rules);
    rfm->rules = rules;
    rfm->nrules = n;
    rfm->custom = custom;
    build_lut(rfm);
}

/* Copy public rules (names NUL-terminated, checked) into an owned array. */
static rule *copy_rules(const cvm_allocator *a, const cvm_rfm_rule *src, size_t n)
{
    rule *r = cvm__calloc(a, n, sizeof *r);
    size_t i;
    if (r == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        memcpy(r[i].name, src[i].name, strlen(src[i].name));
        r[i].lim[0] = src[i].r_min;
        r[i].lim[1] = src[i].r_max;
        r[i].lim[2] = src[i].f_min;
        r[i].lim[3] = src[i].f_max;
        r[i].lim[4] = src[i].m_min;
        r[i].lim[5] = src[i].m_max;
    }
    return r;
}

static cvm_status create(cvm_rfm **out, const cvm_rfm_options *o, const cvm_allocator *a)
{
    cvm_rfm *rfm = cvm__calloc(a, 1, sizeof *rfm);
    if (rfm == NULL) {
        return CVM_E_NOMEM;
    }
    rfm->alloc = *a;
    rfm->bins = o->bins;
    rfm->ties = o->ties;
    rfm->map = o->map;
    if (o->bins == CVM__RFM_MAP_BINS) {
        size_t n;
        const cvm_rfm_rule *src = cvm__rfm_map_rules(o->map, &n);
        rule *r = copy_rules(a, src, n);
        if (r == NULL) {
            cvm__free(a, rfm);
            return CVM_E_NOMEM;
        }
        adopt_rules(rfm, r, n, 0);
    }
    *out = rfm;
    return CVM_OK;
}

cvm_status cvm_rfm_new(cvm_rfm **out, const cvm_rfm_options *opts)
{
    cvm_rfm_options o;
    cvm_allocator a;
    cvm_status st;
    if (out == NULL) {
        return CVM_E_INVALID;
    }
    *out = NULL;
    st = read_options(&o, &a, opts);
    return st == CVM_OK ? create(out, &o, &a) : st;
}

void cvm_rfm_free(cvm_rfm *rfm)
{
    if (rfm != NULL) {
        cvm_allocator a = rfm->alloc;
        cvm__free(&a, rfm->fit_scores);
        cvm__free(&a, rfm->rules);
        cvm__free(&a, rfm);
    }
}

const char *cvm_rfm_errmsg(const cvm_rfm *rfm)
{
    return rfm ? rfm->errmsg : "";
}

/* ---- selection --------------------------------------------------------- */

static void insertion_sort(double *a, size_t n)
{
    size_t i, j;
    for (i = 1; i < n; i++) {
        double v = a[i];
        for (j = i; j > 0 && a[j - 1] > v; j--) {
            a[j] = a[j - 1];
        }
        a[j] = v;
    }
}

static void sift_down(double *a, size_t root, size_t n)
{
    for (;;) {
        size_t c = 2 * root + 1;
        double t;
        if (c >= n) {
            return;
        }
        if (c + 1 < n && a[c + 1] > a[c]) {
            c++;
        }
        if (!(a[c] > a[root])) {
            return;
        }
        t = a[c];
        a[c] = a[root];
        a[root] = t;
        root = c;
    }
}

/* The fallback when quickselect keeps choosing bad pivots. */
static void heap_sort(double *a, size_t n)
{
    size_t i;
    for (i = n / 2; i-- > 0;) {
        sift_down(a, i, n);
    }
    for (i = n; i-- > 1;) {
        double t = a[0];
        a[0] = a[i];
        a[i] = t;
        sift_down(a, 0, i);
    }
}

static double median3(double x, double y, double z)
{
    if (x > y) {
        double t = x;
        x = y;
        y = t;
    }
    return z <= x ? x : z >= y ? y : z;
}

/* Move the values of a[lo, hi) below `pivot` (or, with `or_equal`, not
 * above it) to the front, without branches on the data (the swap happens
 * either way; only the boundary moves); returns the boundary. */
static size_t partition(double *a, size_t lo, size_t hi, double pivot, int or_equal)
{
    size_t i, b = lo;
    if (or_equal) {
        for (i = lo; i < hi; i++) {
            const double v = a[i];
            a[i] = a[b];
            a[b] = v;
            b += v <= pivot;
        }
    } else {
        for (i = lo; i < hi; i++) {
            const double v = a[i];
            a[i] = a[b];
            a[b] = v;
            b += v < pivot;
        }
    }
    return b;
}

/* Put the values that belong at the ascending positions `pos` (np of them,
 * all in [lo, hi)) of the sorted a[lo, hi) there. */
static void select_positions(double *a, size_t lo, size_t hi, const size_t *pos, size_t np,
                             unsigned depth)
{
    while (np > 0) {
        size_t n = hi - lo, lt, gt, nl = 0, skip;
        double pivot;
        if (n <= 16) {
            insertion_sort(a + lo, n);
            return;
        }
        if (depth == 0) {
            heap_sort(a + lo, n);
            return;
        }
        depth--;
        pivot = median3(a[lo], a[lo + n / 2], a[hi - 1]);
        /* a[lo, lt) < pivot, a[lt, gt) == pivot, a[gt, hi) > pivot; the
         * equal run is split off only when the pivot is the smallest value,
         * which is how a column that is mostly one value (frequency 0)
         * shows itself, so that it costs one more pass, not many. */
        lt = partition(a, lo, hi, pivot, 0);
        gt = lt;
        if (lt == lo) {
            gt = partition(a, lo, hi, pivot, 1);
        }
        while (nl < np && pos[nl] < lt) {
            nl++;
        }
        for (skip = nl; skip < np && pos[skip] < gt; skip++) {
        }
        if (nl > 0) {
            select_positions(a, lo, lt, pos, nl, depth);
        }
        pos += skip;
        np -= skip;
        lo = gt;
    }
}

/* Position (0-based, in sorted order) of the last value of bin j (1..k-1)
 * and the remainder of (n - 1) j / k: the type-7 quantile at j / k lies
 * rem / k of the way from the value at that position to the next. */
static void edge(size_t n, int32_t k, int32_t j, size_t *e, uint64_t *rem)
{
    uint64_t num = (uint64_t)(n - 1) * (uint64_t)j;
    *e = (size_t)(num / (uint64_t)k);
    *rem = num % (uint64_t)k;
}

/* Breakpoints of one column; `w` (a scratch copy) is reordered. */
static void breakpoints(double *w, size_t n, int32_t k, int32_t ties, double *bp)
{
    size_t pos[2 * (MAX_BINS - 1)], np = 0, i, j, e, m;
    uint64_t rem;
    unsigned depth = 8;
    int32_t b;
    for (b = 1; b < k; b++) {
        edge(n, k, b, &e, &rem);
        pos[np++] = e;
        if (ties == CVM_RFM_QUANTILE && rem != 0) {
            pos[np++] = e + 1;
        }
    }
    /* ascending, without repeats */
    for (i = 1; i < np; i++) {
        size_t v = pos[i];
        for (j = i; j > 0 && pos[j - 1] > v; j--) {
            pos[j] = pos[j - 1];
        }
        pos[j] = v;
    }
    for (i = 0, m = 0; i < np; i++) {
        if (m == 0 || pos[i] != pos[m - 1]) {
            pos[m++] = pos[i];
        }
    }
    for (i = n; i > 1; i >>= 1) {
        depth += 2;
    }
    select_positions(w, 0, n, pos, m, depth);
    for (b = 1; b < k; b++) {
        double q;
        edge(n, k, b, &e, &rem);
        q = w[e];
        if (ties == CVM_RFM_QUANTILE && rem != 0 && w[e + 1] != q) {
            const double hi = w[e + 1];
            q += ((double)rem / (double)k) * (hi - q);
            if (q > hi) {
                q = hi;
            }
        }
        bp[b - 1] = q;
    }
}

/* ---- scoring ------------------------------------------------------------- */

/* Scores of n values: 1 + the number of breakpoints below the value, or
 * for recency k minus that. One pass per breakpoint (they vectorise). */
static void bins_u8(const double *v, size_t n, const double *bp, int32_t k, int reversed,
                    unsigned char *out)
{
    size_t i;
    int32_t j;
    memset(out, reversed ? k : 1, n);
    for (j = 0; j < k - 1; j++) {
        const double b = bp[j];
        if (reversed) {
            for (i = 0; i < n; i++) {
                out[i] = (unsigned char)(out[i] - (v[i] > b));
            }
        } else {
            for (i = 0; i < n; i++) {
                out[i] = (unsigned char)(out[i] + (v[i] > b));
            }
        }
    }
}

static void bins_i32(const double *v, size_t n, const double *bp, int32_t k, int reversed,
                     int32_t *out)
{
    size_t i;
    int32_t j;
    for (i = 0; i < n; i++) {
        out[i] = reversed ? k : 1;
    }
    for (j = 0; j < k - 1; j++) {
        const double b = bp[j];
        const int32_t d = reversed ? -1 : 1;
        for (i = 0; i < n; i++) {
            out[i] += d * (v[i] > b);
        }
    }
}

/* Equal-count bins by rank (ties by input order) of one fitted column:
 * a row equal to breakpoint j sits at or before the bin edge when fewer
 * than quota_j earlier rows had that value. */
static void rank_bins(const double *v, size_t n, int32_t k, const double *bp, int reversed,
                      unsigned char *out)
{
    const int d = reversed ? -1 : 1;
    size_t i, e;
    uint64_t rem;
    int32_t j;
    bins_u8(v, n, bp, k, reversed, out);
    for (j = 0; j < k - 1; j++) {
        const double b = bp[j];
        size_t less = 0, seen = 0, quota;
        for (i = 0; i < n; i++) {
            less += v[i] < b;
        }
        edge(n, k, j + 1, &e, &rem);
        quota = e - less + 1;
        for (i = 0; i < n; i++) {
            const int eq = v[i] == b;
            out[i] = (unsigned char)(out[i] + d * (eq & (seen >= quota)));
            seen += (size_t)eq;
        }
    }
}

/* Whether every value is finite and >= 0; else the message names the row. */
static cvm_status check_rows(const double *const col[3], size_t n, const char *what, char *err,
                             size_t errlen)
{
    size_t i;
    int c;
    for (i = 0; i < n; i++) {
        for (c = 0; c < 3; c++) {
            if (col[c] != NULL && (!(col[c][i] >= 0) || isinf(col[c][i]))) {
                return cvm__errf(err, errlen, CVM_E_INVALID,
                                 "%s: row %zu: %s %g is not finite and >= 0", what, i + 1,
                                 column_names[c], col[c][i]);
            }
        }
    }
    return CVM_OK;
}

cvm_status cvm_rfm_fit(cvm_rfm *rfm, const double *recency, const double *frequency,
                       const double *monetary, size_t n)
{
    const double *const col[3] = { recency, frequency, monetary };
    const int32_t k = rfm ? rfm->bins : 0;
    double *w, bp[3][MAX_BINS - 1];
    unsigned char *scores;
    cvm_status st;
    int c;
    if (rfm == NULL) {
        return CVM_E_INVALID;
    }
    rfm->errmsg[0] = '\0';
    if (recency == NULL || frequency == NULL || monetary == NULL) {
        return cvm__errf(rfm->errmsg, sizeof rfm->errmsg, CVM_E_INVALID, "fit: a column is NULL");
    }
    if (n == 0) {
        return cvm__errf(rfm->errmsg, sizeof rfm->errmsg, CVM_E_INVALID,
                         "fit: n = 0 (no customers)");
    }
    st = check_rows(col, n, "fit", rfm->errmsg, sizeof rfm->errmsg);
    if (st != CVM_OK) {
        return st;
    }
    w = n <= SIZE_MAX / (3 * sizeof *w) ? cvm__alloc(&rfm->alloc, n * sizeof *w) : NULL;
    scores = w ? cvm__alloc(&rfm->alloc, 3 * n) : NULL;
    if (scores == NULL) {
        cvm__free(&rfm->alloc, w);
        return cvm__errf(rfm->errmsg, sizeof rfm->errmsg, CVM_E_NOMEM,
                         "fit: out of memory for %zu customers", n);
    }
    for (c = 0; c < 3; c++) {
        unsigned char *s = scores + (size_t)c * n;
        memcpy(w, col[c], n * sizeof *w);
        breakpoints(w, n, k, rfm->ties, bp[c]);
        if (rfm->ties == CVM_RFM_RANK) { /* recency reversed: the most recent get k */
            rank_bins(col[c], n, k, bp[c], c == 0, s);
        } else {
            bins_u8(col[c], n, bp[c], k, c == 0, s);
        }
    }
    cvm__free(&rfm->alloc, w);
    cvm__free(&rfm->alloc, rfm->fit_scores);
    rfm->fit_scores = scores;
    rfm->fit_n = n;
    memcpy(rfm->bp, bp, sizeof bp);
    rfm->fitted = 1;
    return CVM_OK;
}

cvm_status cvm_rfm_score(const cvm_rfm *rfm, const double *recency, const double *frequency,
                         const double *monetary, size_t n, int32_t *r, int32_t *f, int32_t *m,
                         char *errbuf, size_t errlen)
{
    const double *const col[3] = { r ? recency : NULL, f ? frequency : NULL,
                                   m ? monetary : NULL };
    int32_t *const out[3] = { r, f, m };
    cvm_status st;
    int c;
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (rfm == NULL) {
        return CVM_E_INVALID;
    }
    if (!rfm->fitted) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "score: the RFM breakpoints are not fitted");
    }
    for (c = 0; c < 3; c++) {
        if (out[c] != NULL && col[c] == NULL && n > 0) {
            return cvm__errf(errbuf, errlen, CVM_E_INVALID, "score: %s is NULL", column_names[c]);
        }
    }
    st = check_rows(col, n, "score", errbuf, errlen);
    if (st != CVM_OK) {
        return st;
    }
    for (c = 0; c < 3; c++) {
        if (out[c] != NULL) {
            bins_i32(col[c], n, rfm->bp[c], rfm->bins, c == 0, out[c]);
        }
    }
    return CVM_OK;
}

cvm_status cvm_rfm_fit_scores(const cvm_rfm *rfm, size_t n, int32_t *r, int32_t *f, int32_t *m)
{
    int32_t *const out[3] = { r, f, m };
    size_t i;
    int c;
    if (rfm == NULL || !rfm->fitted || rfm->fit_scores == NULL || n != rfm->fit_n) {
        return CVM_E_INVALID;
    }
    for (c = 0; c < 3; c++) {
        const unsigned char *s = rfm->fit_scores + (size_t)c * n;
        if (out[c] == NULL) {
            continue;
        }
        for (i = 0; i < n; i++) {
            out[c][i] = s[i];
        }
    }
    return CVM_OK;
}

cvm_status cvm_rfm_breakpoints(const cvm_rfm *rfm, int32_t column, double *out, size_t n)
{
    if (rfm == NULL || !rfm->fitted || column < 0 || column > 2 || out == NULL ||
        n != (size_t)(rfm->bins - 1)) {
        return CVM_E_INVALID;
    }
    memcpy(out, rfm->bp[column], n * sizeof *out);
    return CVM_OK;
}

/* ---- segments ------------------------------------------------------------ */

/* Whether a rule is usable with k bins; else the message names it. */
static cvm_status check_rule(const char *name, size_t len, const int32_t lim[6], int32_t k,
                             size_t index, const char *what, char *err, size_t errlen)
{
    static const char letters[] = "rfm";
    char shown[64];
    int c;
    if (name == NULL || len == 0 || len > NAME_MAX_LEN || memchr(name, '\0', len) != NULL) {
        return cvm__errf(err, errlen, CVM_E_INVALID,
                         "%s: rule %zu: the name must be 1..%d bytes", what, index + 1,
                         NAME_MAX_LEN);
    }
    for (c = 0; c < 3; c++) {
        if (lim[2 * c] < 1 || lim[2 * c] > lim[2 * c + 1] || lim[2 * c + 1] > k) {
            cvm__quote(shown, sizeof shown, name, len);
            return cvm__errf(err, errlen, CVM_E_INVALID,
                             "%s: rule %zu (\"%s\"): %c range %d..%d is not within 1..%d", what,
                             index + 1, shown, letters[c], (int)lim[2 * c], (int)lim[2 * c + 1],
                             (int)k);
        }
    }
    return CVM_OK;
}

cvm_status cvm_rfm_set_rules(cvm_rfm *rfm, const cvm_rfm_rule *rules, size_t n)
{
    rule *copy;
    size_t i;
    if (rfm == NULL) {
        return CVM_E_INVALID;
    }
    rfm->errmsg[0] = '\0';
    if (rules == NULL || n == 0 || n > MAX_RULES) {
        return cvm__errf(rfm->errmsg, sizeof rfm->errmsg, CVM_E_INVALID,
                         "set_rules: %zu rules (1..%d are allowed)", rules ? n : 0, MAX_RULES);
    }
    for (i = 0; i < n; i++) {
        const cvm_rfm_rule *x = &rules[i];
        const int32_t lim[6] = { x->r_min, x->r_max, x->f_min, x->f_max, x->m_min, x->m_max };
        size_t len = 0;
        cvm_status st;
        if (x->name != NULL) {
            while (len <= NAME_MAX_LEN && x->name[len] != '\0') {
                len++;
            }
        }
        st = check_rule(x->name, len, lim, rfm->bins, i, "set_rules", rfm->errmsg,
                        sizeof rfm->errmsg);
        if (st != CVM_OK) {
            return st;
        }
    }
    copy = copy_rules(&rfm->alloc, rules, n);
    if (copy == NULL) {
        return cvm__errf(rfm->errmsg, sizeof rfm->errmsg, CVM_E_NOMEM, "set_rules: out of memory");
    }
    adopt_rules(rfm, copy, n, 1);
    return CVM_OK;
}

size_t cvm_rfm_segment_count(const cvm_rfm *rfm)
{
    return rfm ? rfm->nrules + 1 : 0;
}

const char *cvm_rfm_segment_name(const cvm_rfm *rfm, size_t index)
{
    if (rfm == NULL || index > rfm->nrules) {
        return NULL;
    }
    return index < rfm->nrules ? rfm->rules[index].name : "Others";
}

cvm_status cvm_rfm_segment(const cvm_rfm *rfm, const int32_t *r, const int32_t *f,
                           const int32_t *m, size_t n, int32_t *segment, char *errbuf,
                           size_t errlen)
{
    size_t i;
    int32_t k;
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (rfm == NULL) {
        return CVM_E_INVALID;
    }
    if (n > 0 && (r == NULL || f == NULL || m == NULL || segment == NULL)) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "segment: a score column or the output is NULL");
    }
    if (rfm->nrules == 0) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                         "segment: no segment rules: the built-in maps are for %d bins, not %d; "
                         "set rules with cvm_rfm_set_rules()",
                         CVM__RFM_MAP_BINS, (int)rfm->bins);
    }
    k = rfm->bins;
    for (i = 0; i < n; i++) {
        if (r[i] < 1 || r[i] > k || f[i] < 1 || f[i] > k || m[i] < 1 || m[i] > k) {
            return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                             "segment: row %zu: scores (%d, %d, %d) are not within 1..%d", i + 1,
                             (int)r[i], (int)f[i], (int)m[i], (int)k);
        }
    }
    for (i = 0; i < n; i++) {
        segment[i] = rfm->lut[((r[i] - 1) * k + (f[i] - 1)) * k + (m[i] - 1)];
    }
    return CVM_OK;
}

/* ---- snapshots ------------------------------------------------------------ */

static cvm_status write_rules(cvm__snap_writer *w, const cvm_rfm *rfm)
{
    unsigned char b[RULE_HEAD_LEN];
    uint64_t len = 4;
    size_t i;
    int c;
    cvm_status st;
    for (i = 0; i < rfm->nrules; i++) {
        len += RULE_HEAD_LEN + strlen(rfm->rules[i].name);
    }
    st = cvm__snap_begin(w, TAG_RULES, len);
    cvm__put_u32(b, (uint32_t)rfm->nrules);
    if (st == CVM_OK) {
        st = cvm__snap_write(w, b, 4);
    }
    for (i = 0; i < rfm->nrules && st == CVM_OK; i++) {
        const rule *x = &rfm->rules[i];
        const size_t nl = strlen(x->name);
        for (c = 0; c < 6; c++) {
            cvm__put_u32(b + 4 * c, (uint32_t)x->lim[c]);
        }
        cvm__put_u32(b + 24, (uint32_t)nl);
        st = cvm__snap_write(w, b, sizeof b);
        if (st == CVM_OK) {
            st = cvm__snap_write(w, x->name, nl);
        }
    }
    return st == CVM_OK ? cvm__snap_end(w) : st;
}

cvm_status cvm_rfm_save(cvm_rfm *rfm, const char *path)
{
    unsigned char b[HEAD_LEN + 3 * 8 * (MAX_BINS - 1)];
    cvm__snap_writer *w = NULL;
    size_t len = HEAD_LEN, j;
    cvm_status st;
    int c;
    if (rfm == NULL) {
        return CVM_E_INVALID;
    }
    rfm->errmsg[0] = '\0';
    if (path == NULL) {
        return cvm__errf(rfm->errmsg, sizeof rfm->errmsg, CVM_E_INVALID, "save: path is NULL");
    }
    if (!rfm->fitted) {
        return cvm__errf(rfm->errmsg, sizeof rfm->errmsg, CVM_E_INVALID,
                         "save: the RFM breakpoints are not fitted");
    }
    cvm__put_u32(b, (uint32_t)rfm->bins);
    cvm__put_u32(b + 4, (uint32_t)rfm->ties);
    cvm__put_u32(b + 8, (uint32_t)rfm->map);
    cvm__put_u32(b + 12, FLAG_FITTED | (rfm->custom ? FLAG_CUSTOM : 0u));
    cvm__put_u64(b + 16, rfm->fit_n);
    for (c = 0; c < 3; c++) {
        for (j = 0; j + 1 < (size_t)rfm->bins; j++, len += 8) {
            cvm__put_f64(b + len, rfm->bp[c][j]);
        }
    }
    st = cvm__snap_create(&w, &rfm->alloc, path, CVM__SNAP_RFM, rfm->errmsg, sizeof rfm->errmsg);
    if (st == CVM_OK) {
        st = cvm__snap_begin(w, TAG_RFM, len);
    }
    if (st == CVM_OK) {
        st = cvm__snap_write(w, b, len);
    }
    if (st == CVM_OK) {
        st = cvm__snap_end(w);
    }
    if (st == CVM_OK && rfm->custom) {
        st = write_rules(w, rfm);
    }
    if (st == CVM_OK) {
        st = cvm__snap_commit(w);
        w = NULL;
    }
    cvm__snap_abort(w);
    if (st != CVM_OK && rfm->errmsg[0] == '\0') {
        cvm__errf(rfm->errmsg, sizeof rfm->errmsg, st, "%s: %s", path, cvm_strerror(st));
    }
    return st;
}

/* The head section: options, flags and breakpoints, checked. */
static int decode_head(const unsigned char *b, uint64_t len, cvm_rfm_options *o, uint32_t *flags,
                       uint64_t *fit_n, double bp[3][MAX_BINS - 1])
{
    size_t j, at = HEAD_LEN;
    int c;
    if (len < HEAD_LEN) {
        return 0;
    }
    o->bins = (int32_t)cvm__get_u32(b);
    o->ties = (int32_t)cvm__get_u32(b + 4);
    o->map = (int32_t)cvm__get_u32(b + 8);
    *flags = cvm__get_u32(b + 12);
    *fit_n = cvm__get_u64(b + 16);
    if (o->bins < 2 || o->bins > MAX_BINS || (o->ties != CVM_RFM_QUANTILE && o->ties != CVM_RFM_RANK) ||
        (o->map != CVM_RFM_MAP_RFM_PACKAGE && o->map != CVM_RFM_MAP_RF_GRID) ||
        (*flags & ~(FLAG_FITTED | FLAG_CUSTOM)) != 0 || !(*flags & FLAG_FITTED) || *fit_n == 0 ||
        len != HEAD_LEN + 3 * 8 * (uint64_t)(o->bins - 1)) {
        return 0;
    }
    for (c = 0; c < 3; c++) {
        for (j = 0; j + 1 < (size_t)o->bins; j++, at += 8) {
            bp[c][j] = cvm__get_f64(b + at);
            if (!(bp[c][j] >= 0) || isinf(bp[c][j]) || (j > 0 && bp[c][j] < bp[c][j - 1])) {
                return 0;
            }
        }
    }
    return 1;
}

/* The rules section, checked against k bins; *out is owned by the caller. */
static cvm_status decode_rules(const cvm_allocator *a, const unsigned char *b, uint64_t len,
                               int32_t k, rule **out, size_t *n)
{
    uint64_t at = 4, count;
    rule *r;
    size_t i;
    int c;
    *out = NULL;
    if (len < 4) {
        return CVM_E_FORMAT;
    }
    count = cvm__get_u32(b);
    if (count == 0 || count > MAX_RULES) {
        return CVM_E_FORMAT;
    }
    r = cvm__calloc(a, (size_t)count, sizeof *r);
    if (r == NULL) {
        return CVM_E_NOMEM;
    }
    for (i = 0; i < count; i++) {
        uint32_t nl;
        if (len - at < RULE_HEAD_LEN) {
            break;
        }
        for (c = 0; c < 6; c++) {
            r[i].lim[c] = (int32_t)cvm__get_u32(b + at + 4 * (uint64_t)c);
        }
        nl = cvm__get_u32(b + at + 24);
        at += RULE_HEAD_LEN;
        if (nl > NAME_MAX_LEN || len - at < nl) {
            break;
        }
        memcpy(r[i].name, b + at, nl);
        at += nl;
        if (check_rule(r[i].name, nl, r[i].lim, k, i, "load", NULL, 0) != CVM_OK) {
            break;
        }
    }
    if (i < count || at != len) {
        cvm__free(a, r);
        return CVM_E_FORMAT;
    }
    *out = r;
    *n = (size_t)count;
    return CVM_OK;
}

cvm_status cvm_rfm_load(cvm_rfm **out, const char *path, const cvm_rfm_options *opts,
                        char *errbuf, size_t errlen)
{
    cvm_rfm_options o = CVM_RFM_OPTIONS_INIT;
    cvm_allocator a;
    cvm__snap_reader *rd = NULL;
    const unsigned char *data;
    uint64_t len, fit_n = 0;
    uint32_t flags = 0;
    double bp[3][MAX_BINS - 1];
    rule *rules = NULL;
    size_t nrules = 0;
    cvm_status st;
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (out == NULL) {
        return CVM_E_INVALID;
    }
    *out = NULL;
    /* only the allocator comes from `opts`; the settings are the file's */
    st = cvm__options_copy(&o, sizeof o, opts, sizeof o);
    if (st == CVM_OK && cvm__allocator_copy(&a, o.allocator) != CVM_OK) {
        st = CVM_E_INVALID;
    }
    if (st != CVM_OK) {
        return cvm__errf(errbuf, errlen, st, "load: bad RFM options");
    }
    if (path == NULL) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "load: path is NULL");
    }
    st = cvm__snap_open(&rd, &a, path, CVM__SNAP_RFM, errbuf, errlen);
    if (st == CVM_OK) {
        st = cvm__snap_find(rd, TAG_RFM, &data, &len, errbuf, errlen);
    }
    if (st == CVM_OK && !decode_head(data, len, &o, &flags, &fit_n, bp)) {
        st = cvm__errf(errbuf, errlen, CVM_E_FORMAT, "%s: RFM section is inconsistent", path);
    }
    if (st == CVM_OK && (flags & FLAG_CUSTOM)) {
        st = cvm__snap_find(rd, TAG_RULES, &data, &len, errbuf, errlen);
        if (st == CVM_OK) {
            st = decode_rules(&a, data, len, o.bins, &rules, &nrules);
            if (st == CVM_E_FORMAT) {
                cvm__errf(errbuf, errlen, st, "%s: rules section is inconsistent", path);
            }
        }
    }
    cvm__snap_close(rd);
    if (st == CVM_OK) {
        st = create(out, &o, &a);
    }
    if (st == CVM_OK) {
        cvm_rfm *rfm = *out;
        memcpy(rfm->bp, bp, sizeof bp);
        rfm->fitted = 1;
        rfm->fit_n = fit_n;
        if (rules != NULL) {
            adopt_rules(rfm, rules, nrules, 1);
            rules = NULL;
        }
    }
    cvm__free(&a, rules);
    if (st != CVM_OK && errbuf != NULL && errlen > 0 && errbuf[0] == '\0') {
        cvm__errf(errbuf, errlen, st, "%s: %s", path, cvm_strerror(st));
    }
    return st;
}
