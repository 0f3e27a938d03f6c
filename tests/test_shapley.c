/* Exact Shapley attribution (cvm__shapley), called directly on journeys
 * built by hand: the conversions game against the equal split it must
 * equal, the rate game against brute force over all permutations, hand
 * examples (README's tiny paths, a negative marginal), ChannelAttribution's
 * Data.csv, the 20-channel limit and allocation failures. */
#include "testutil.h"

#include "attribution/attribution_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- journeys built by hand ---- */

typedef struct jset {
    size_t n, ntouch, cap_j, cap_t, nchannels;
    size_t *offset;
    uint32_t *channel;
    double *conv, *val, *nulls;
    cvm__journeys j;
} jset;

static void js_init(jset *s, size_t nchannels)
{
    memset(s, 0, sizeof *s);
    s->nchannels = nchannels;
    s->offset = calloc(1, sizeof *s->offset);
    ck_assert_ptr_nonnull(s->offset);
}

static void js_add(jset *s, const uint32_t *ch, size_t len, double conv, double val, double nulls)
{
    size_t t;
    if (s->n == s->cap_j) {
        s->cap_j = s->cap_j ? 2 * s->cap_j : 16;
        s->offset = realloc(s->offset, (s->cap_j + 1) * sizeof *s->offset);
        s->conv = realloc(s->conv, s->cap_j * sizeof *s->conv);
        s->val = realloc(s->val, s->cap_j * sizeof *s->val);
        s->nulls = realloc(s->nulls, s->cap_j * sizeof *s->nulls);
        ck_assert(s->offset && s->conv && s->val && s->nulls);
    }
    while (s->ntouch + len > s->cap_t) {
        s->cap_t = s->cap_t ? 2 * s->cap_t : 64;
        s->channel = realloc(s->channel, s->cap_t * sizeof *s->channel);
        ck_assert_ptr_nonnull(s->channel);
    }
    for (t = 0; t < len; t++) {
        ck_assert_uint_lt(ch[t], s->nchannels);
        s->channel[s->ntouch++] = ch[t];
    }
    s->conv[s->n] = conv;
    s->val[s->n] = val;
    s->nulls[s->n] = nulls;
    s->n++;
    s->offset[s->n] = s->ntouch;
}

static const cvm__journeys *js_view(jset *s)
{
    size_t q;
    memset(&s->j, 0, sizeof s->j);
    s->j.n = s->n;
    s->j.nchannels = s->nchannels;
    s->j.offset = s->offset;
    s->j.channel = s->channel;
    s->j.conversions = s->conv;
    s->j.value = s->val;
    s->j.nulls = s->nulls;
    for (q = 0; q < s->n; q++) {
        if (s->offset[q + 1] - s->offset[q] > s->j.longest) {
            s->j.longest = s->offset[q + 1] - s->offset[q];
        }
    }
    return &s->j;
}

static void js_free(jset *s)
{
    free(s->offset);
    free(s->channel);
    free(s->conv);
    free(s->val);
    free(s->nulls);
}

static cvm_allocator libc_allocator(void)
{
    cvm_allocator a;
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    return a;
}

/* Run cvm__shapley; credits in conv[] and val[] (nchannels each). */
static void run(const cvm__journeys *j, int32_t kind, double *conv, double *val)
{
    cvm_allocator a = libc_allocator();
    cvm__credit out;
    char err[256] = "";
    cvm_status st;
    out.conversions = conv;
    out.value = val;
    st = cvm__shapley(j, kind, &a, &out, err, sizeof err);
    ck_assert_msg(st == CVM_OK, "cvm__shapley: %d %s", (int)st, err);
}

/* ---- references ---- */

/* Each journey's conversions and value split equally among its distinct
 * channels. */
static void equal_split(const cvm__journeys *j, double *conv, double *val)
{
    unsigned char *seen = calloc(j->nchannels, 1);
    size_t q, t, c, k;
    ck_assert_ptr_nonnull(seen);
    memset(conv, 0, j->nchannels * sizeof *conv);
    memset(val, 0, j->nchannels * sizeof *val);
    for (q = 0; q < j->n; q++) {
        memset(seen, 0, j->nchannels);
        k = 0;
        for (t = j->offset[q]; t < j->offset[q + 1]; t++) {
            if (!seen[j->channel[t]]) {
                seen[j->channel[t]] = 1;
                k++;
            }
        }
        for (c = 0; c < j->nchannels; c++) {
            if (seen[c]) {
                conv[c] += j->conversions[q] / (double)k;
                val[c] += j->value[q] / (double)k;
            }
        }
    }
    free(seen);
}

/* The rate game straight from the journeys: conversion rate (value per
 * journey when `value`) of the journeys whose channels all lie in the
 * channel mask `s`; 0 when they have no conversion and no null. */
static double rate_game(const cvm__journeys *j, uint32_t s, int value)
{
    double c = 0, m = 0, tot = 0;
    size_t q, t;
    for (q = 0; q < j->n; q++) {
        int inside = 1;
        for (t = j->offset[q]; t < j->offset[q + 1]; t++) {
            if (!(s & (1u << j->channel[t]))) {
                inside = 0;
            }
        }
        if (inside) {
            c += j->conversions[q];
            m += j->value[q];
            tot += j->conversions[q] + j->nulls[q];
        }
    }
    return tot > 0 ? (value ? m : c) / tot : 0;
}

/* Lexicographic next permutation of p[0..n-1]; 0 after the last. */
static int next_perm(unsigned *p, unsigned n)
{
    unsigned i, k, tmp;
    if (n < 2) {
        return 0;
    }
    i = n - 1;
    while (i > 0 && p[i - 1] >= p[i]) {
        i--;
    }
    if (i == 0) {
        return 0;
    }
    k = n - 1;
    while (p[k] <= p[i - 1]) {
        k--;
    }
    tmp = p[i - 1];
    p[i - 1] = p[k];
    p[k] = tmp;
    for (k = n - 1; i < k; i++, k--) {
        tmp = p[i];
        p[i] = p[k];
        p[k] = tmp;
    }
    return 1;
}

/* Raw (unscaled) Shapley values of the rate game by brute force: the
 * average over all n! orders of each channel's marginal contribution when
 * it joins (n = nchannels <= 6; channels that never occur are players too,
 * null ones). */
static void brute_rate(const cvm__journeys *j, int value, double *phi)
{
    unsigned p[6], n = (unsigned)j->nchannels, i;
    double orders = 0;
    ck_assert_uint_le(n, 6);
    for (i = 0; i < n; i++) {
        p[i] = i;
        phi[i] = 0;
    }
    do {
        uint32_t s = 0;
        for (i = 0; i < n; i++) {
            double before = rate_game(j, s, value);
            s |= 1u << p[i];
            phi[p[i]] += rate_game(j, s, value) - before;
        }
        orders++;
    } while (next_perm(p, n));
    for (i = 0; i < n; i++) {
        phi[i] /= orders;
    }
}

static double total_of(const double *x, size_t n)
{
    double s = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        s += x[i];
    }
    return s;
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t rnd(uint32_t bound)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)(((rng_state * 0x2545F4914F6CDD1Du) >> 32) % bound);
}

/* Random journeys over `nch` channels: 1..30 journeys of 1..6 touches with
 * repeats; conversions 0..3, nulls 0..5, value 0..100 in cents. */
static void random_journeys(jset *s, size_t nch)
{
    size_t q, nj = 1 + rnd(30);
    js_init(s, nch);
    for (q = 0; q < nj; q++) {
        uint32_t ch[6];
        size_t len = 1 + rnd(6), t;
        double c = rnd(4);
        for (t = 0; t < len; t++) {
            ch[t] = rnd((uint32_t)nch);
        }
        js_add(s, ch, len, c, c > 0 ? rnd(10001) / 100.0 : 0, rnd(6));
    }
}

/* ---- README's tiny example: A=0, B=1, C=2 ---- */

static void tiny(jset *s)
{
    static const uint32_t abc[] = { 0, 1, 2 }, aab[] = { 0, 0, 1 }, b[] = { 1 },
                          ca[] = { 2, 0 }, bcc[] = { 1, 2, 2 };
    js_init(s, 3);
    js_add(s, abc, 3, 2, 20, 1);
    js_add(s, aab, 3, 1, 5, 2);
    js_add(s, b, 1, 1, 7, 3);
    js_add(s, ca, 2, 0, 0, 2);
    js_add(s, bcc, 3, 1, 10, 0);
}

/* Tolerances: the exact formula sums 2^(n-1) weighted marginal differences,
 * each at most the total, with weights summing to 1; in doubles the error is
 * a few ulps of the total, far below 1e-12 relative for these sizes. */
#define REL 1e-12

static void assert_close(double got, double want, double scale, const char *what, size_t c)
{
    double tol = REL * (scale > 1 ? scale : 1);
    ck_assert_msg(fabs(got - want) <= tol, "%s[%zu]: %.17g, want %.17g (tol %g)", what, c, got,
                  want, tol);
}

START_TEST(conversions_tiny_equal_split)
{
    /* By hand: A = 2/3 + 1/2, B = 2/3 + 1/2 + 1 + 1/2, C = 2/3 + 1/2;
     * value A = 20/3 + 5/2, B = 20/3 + 5/2 + 7 + 5, C = 20/3 + 5. */
    static const double conv_want[3] = { 7.0 / 6, 8.0 / 3, 7.0 / 6 };
    static const double val_want[3] = { 55.0 / 6, 127.0 / 6, 35.0 / 3 };
    jset s;
    double conv[3], val[3];
    size_t c;
    tiny(&s);
    run(js_view(&s), CVM_SHAPLEY_CONVERSIONS, conv, val);
    for (c = 0; c < 3; c++) {
        assert_close(conv[c], conv_want[c], 5, "conversions", c);
        assert_close(val[c], val_want[c], 42, "value", c);
    }
    assert_close(total_of(conv, 3), 5, 5, "total conversions", 0);
    assert_close(total_of(val, 3), 42, 42, "total value", 0);
    js_free(&s);
}
END_TEST

START_TEST(conversions_random_equal_split)
{
    int trial;
    for (trial = 0; trial < 200; trial++) {
        jset s;
        size_t nch = 1 + rnd(10), c;
        double conv[10], val[10], rc[10], rv[10], tc, tv;
        const cvm__journeys *j;
        random_journeys(&s, nch);
        j = js_view(&s);
        run(j, CVM_SHAPLEY_CONVERSIONS, conv, val);
        equal_split(j, rc, rv);
        tc = total_of(s.conv, s.n);
        tv = total_of(s.val, s.n);
        for (c = 0; c < nch; c++) {
            assert_close(conv[c], rc[c], tc, "conversions", c);
            assert_close(val[c], rv[c], tv, "value", c);
        }
        assert_close(total_of(conv, nch), tc, tc, "total conversions", nch);
        assert_close(total_of(val, nch), tv, tv, "total value", nch);
        js_free(&s);
    }
}
END_TEST

START_TEST(rate_tiny_by_hand)
{
    /* v(A) = v(C) = v(AC) = 0, v(B) = 1/4, v(AB) = 2/7, v(BC) = 2/5,
     * v(ABC) = 5/13; 13 journeys. phi_A = (2/7 - 1/4)/6 + (5/13 - 2/5)/3
     * = 3/3640, phi_C = (2/5 - 1/4)/6 + (5/13 - 2/7)/3 = 1/40 + 3/91,
     * phi_B = 5/13 - phi_A - phi_C; credits are 13 phi. */
    static const double conv_want[3] = { 3.0 / 280, 593.0 / 140, 211.0 / 280 };
    jset s;
    double conv[3], val[3], phi[3];
    size_t c;
    tiny(&s);
    run(js_view(&s), CVM_SHAPLEY_RATE, conv, val);
    for (c = 0; c < 3; c++) {
        assert_close(conv[c], conv_want[c], 5, "conversions", c);
    }
    brute_rate(&s.j, 1, phi);
    for (c = 0; c < 3; c++) {
        assert_close(val[c], 13 * phi[c], 42, "value", c);
    }
    assert_close(total_of(conv, 3), 5, 5, "total conversions", 0);
    assert_close(total_of(val, 3), 42, 42, "total value", 0);
    js_free(&s);
}
END_TEST

START_TEST(rate_negative_marginal)
{
    /* A alone converts 1 of 1 (value 10); A>B converts 0 of 3. v(A) = 1,
     * v(B) = 0 (no journey), v(AB) = 1/4: B joining A lowers the rate.
     * phi_A = (1 + 1/4)/2 = 5/8, phi_B = (0 + 1/4 - 1)/2 = -3/8; x4
     * journeys: A = 5/2, B = -3/2. Value: v(A) = 10, v(AB) = 10/4:
     * phi_A = 25/4, phi_B = -15/4; x4: 25, -15. */
    static const uint32_t a[] = { 0 }, ab[] = { 0, 1 };
    jset s;
    double conv[2], val[2];
    js_init(&s, 2);
    js_add(&s, a, 1, 1, 10, 0);
    js_add(&s, ab, 2, 0, 0, 3);
    run(js_view(&s), CVM_SHAPLEY_RATE, conv, val);
    assert_close(conv[0], 2.5, 1, "conversions", 0);
    assert_close(conv[1], -1.5, 1, "conversions", 1);
    assert_close(val[0], 25, 10, "value", 0);
    assert_close(val[1], -15, 10, "value", 1);
    ck_assert(conv[1] < 0 && val[1] < 0);
    js_free(&s);
}
END_TEST

START_TEST(rate_random_brute_force)
{
    /* Compared with the raw values of the brute-force average over all
     * orders, scaled by the number of journeys T. Efficiency before scaling:
     * the brute-force values sum to v(N) - v({}), and ours / T likewise. */
    int trial;
    for (trial = 0; trial < 150; trial++) {
        jset s;
        size_t nch = 1 + rnd(6), c;
        double conv[6], val[6], pc[6], pv[6], T, tc, tv, vn_c, vn_v;
        const cvm__journeys *j;
        random_journeys(&s, nch);
        j = js_view(&s);
        run(j, CVM_SHAPLEY_RATE, conv, val);
        brute_rate(j, 0, pc);
        brute_rate(j, 1, pv);
        T = total_of(s.conv, s.n) + total_of(s.nulls, s.n);
        tc = total_of(s.conv, s.n);
        tv = total_of(s.val, s.n);
        for (c = 0; c < nch; c++) {
            assert_close(conv[c], T * pc[c], T, "conversions", c);
            assert_close(val[c], T * pv[c], tv, "value", c);
        }
        vn_c = rate_game(j, (1u << nch) - 1, 0) - rate_game(j, 0, 0);
        vn_v = rate_game(j, (1u << nch) - 1, 1) - rate_game(j, 0, 1);
        assert_close(total_of(pc, nch), vn_c, 1, "brute efficiency", nch);
        assert_close(total_of(pv, nch), vn_v, vn_v, "brute value efficiency", nch);
        if (T > 0) {
            assert_close(total_of(conv, nch) / T, vn_c, 1, "efficiency", nch);
            assert_close(total_of(conv, nch), tc, T, "total conversions", nch);
            assert_close(total_of(val, nch), tv, tv, "total value", nch);
        }
        js_free(&s);
    }
}
END_TEST

/* ---- ChannelAttribution's Data.csv ---- */

#define DATA_ROWS 10000
#define DATA_MAXCH 32

typedef struct row {
    uint32_t *ch;
    size_t len;
    double conv, val, nulls;
} row;

static int row_cmp(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    size_t t;
    if (a->len != b->len) {
        return a->len < b->len ? -1 : 1;
    }
    for (t = 0; t < a->len; t++) {
        if (a->ch[t] != b->ch[t]) {
            return a->ch[t] < b->ch[t] ? -1 : 1;
        }
    }
    return 0;
}

static char *trim(char *p, char *end)
{
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    *end = '\0';
    return p;
}

/* Parse Data.csv (';'), intern channel names, merge identical paths. */
static void load_data(jset *s, char names[DATA_MAXCH][32], size_t *nnames)
{
    FILE *f = fopen(tu_data_path("attribution/channelattribution_Data.csv"), "r");
    row *rows = calloc(DATA_ROWS, sizeof *rows);
    char line[4096];
    size_t nrows = 0, r, k;
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(rows);
    *nnames = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f)) {
        char *semi = strchr(line, ';'), *p, *tok;
        uint32_t ch[128];
        size_t len = 0;
        if (line[0] == '\n' || line[0] == '\0') {
            continue;
        }
        ck_assert_ptr_nonnull(semi);
        ck_assert_uint_lt(nrows, DATA_ROWS);
        *semi = '\0';
        ck_assert_int_eq(sscanf(semi + 1, "%lf;%lf;%lf", &rows[nrows].conv, &rows[nrows].val,
                                &rows[nrows].nulls),
                         3);
        for (p = line;; p = tok + 1) {
            char *sep = strchr(p, '>'), *end = sep ? sep : semi, *name;
            name = trim(p, end);
            for (k = 0; k < *nnames && strcmp(names[k], name) != 0; k++) {
            }
            if (k == *nnames) {
                ck_assert_uint_lt(*nnames, DATA_MAXCH);
                ck_assert_uint_lt(strlen(name), 32);
                strcpy(names[(*nnames)++], name);
            }
            ck_assert_uint_lt(len, 128);
            ch[len++] = (uint32_t)k;
            if (!sep) {
                break;
            }
            tok = sep;
        }
        rows[nrows].ch = malloc(len * sizeof *ch);
        ck_assert_ptr_nonnull(rows[nrows].ch);
        memcpy(rows[nrows].ch, ch, len * sizeof *ch);
        rows[nrows].len = len;
        nrows++;
    }
    fclose(f);
    ck_assert_uint_eq(nrows, DATA_ROWS);
    qsort(rows, nrows, sizeof *rows, row_cmp);
    js_init(s, *nnames);
    for (r = 0; r < nrows; r = k) {
        row m = rows[r];
        for (k = r + 1; k < nrows && row_cmp(&rows[k], &rows[r]) == 0; k++) {
            m.conv += rows[k].conv;
            m.val += rows[k].val;
            m.nulls += rows[k].nulls;
        }
        js_add(s, m.ch, m.len, m.conv, m.val, m.nulls);
    }
    for (r = 0; r < nrows; r++) {
        free(rows[r].ch);
    }
    free(rows);
}

START_TEST(channelattribution_data)
{
    /* README totals: 19785 conversions, value 74802.97158721084, 68602
     * nulls, 12 channels; 10000 - 4592 distinct paths. Totals to 1e-9
     * relative (sums of 10^4 doubles in different orders). */
    static const double total_conv = 19785, total_val = 74802.97158721084;
    jset s;
    char names[DATA_MAXCH][32];
    size_t nnames, c;
    double conv[DATA_MAXCH], val[DATA_MAXCH], rc[DATA_MAXCH], rv[DATA_MAXCH];
    const cvm__journeys *j;
    TU_SKIP_IF_NO_DATA();
    load_data(&s, names, &nnames);
    ck_assert_uint_eq(nnames, 12);
    ck_assert_uint_eq(s.n, 10000 - 4592);
    j = js_view(&s);

    run(j, CVM_SHAPLEY_CONVERSIONS, conv, val);
    equal_split(j, rc, rv);
    for (c = 0; c < nnames; c++) {
        ck_assert_msg(fabs(conv[c] - rc[c]) <= 1e-9 * total_conv, "%s: %.12g vs %.12g", names[c],
                      conv[c], rc[c]);
        ck_assert_msg(fabs(val[c] - rv[c]) <= 1e-9 * total_val, "%s value", names[c]);
    }
    ck_assert(fabs(total_of(conv, nnames) - total_conv) <= 1e-9 * total_conv);
    ck_assert(fabs(total_of(val, nnames) - total_val) <= 1e-9 * total_val);

    run(j, CVM_SHAPLEY_RATE, conv, val);
    ck_assert(fabs(total_of(conv, nnames) - total_conv) <= 1e-9 * total_conv);
    ck_assert(fabs(total_of(val, nnames) - total_val) <= 1e-9 * total_val);
    for (c = 0; c < nnames; c++) {
        ck_assert(isfinite(conv[c]) && isfinite(val[c]));
    }
    js_free(&s);
}
END_TEST

/* ---- limits and failures ---- */

START_TEST(too_many_channels)
{
    cvm_allocator a = libc_allocator();
    jset s;
    double conv[21], val[21];
    cvm__credit out = { conv, val };
    char err[256] = "";
    uint32_t c;
    js_init(&s, 21);
    for (c = 0; c < 21; c++) {
        js_add(&s, &c, 1, 1, 1, 1);
    }
    ck_assert_int_eq(cvm__shapley(js_view(&s), CVM_SHAPLEY_CONVERSIONS, &a, &out, err, sizeof err),
                     CVM_E_INVALID);
    ck_assert_str_eq(err, "Shapley: 21 channels, at most 20");
    ck_assert_int_eq(cvm__shapley(&s.j, 7, &a, &out, err, sizeof err), CVM_E_INVALID);
    js_free(&s);
}
END_TEST

START_TEST(twenty_of_thirty_channels)
{
    /* 30 channel indices, 20 of them used (every third one skipped): the
     * players are the 20 that occur, the others get 0. 2^20 coalitions. */
    jset s;
    double conv[30], val[30], rc[30], rv[30], tc, tv;
    uint32_t used[20];
    size_t c, q, k = 0;
    js_init(&s, 30);
    for (c = 0; c < 30; c++) {
        if (c % 3 != 2) {
            used[k++] = (uint32_t)c;
        }
    }
    ck_assert_uint_eq(k, 20);
    for (q = 0; q < 200; q++) {
        uint32_t ch[8];
        size_t len = 1 + rnd(8), t;
        for (t = 0; t < len; t++) {
            ch[t] = used[rnd(20)];
        }
        js_add(&s, ch, len, rnd(4), rnd(1000), rnd(5));
    }
    run(js_view(&s), CVM_SHAPLEY_CONVERSIONS, conv, val);
    equal_split(&s.j, rc, rv);
    tc = total_of(s.conv, s.n);
    tv = total_of(s.val, s.n);
    for (c = 0; c < 30; c++) {
        assert_close(conv[c], rc[c], tc, "conversions", c);
        assert_close(val[c], rv[c], tv, "value", c);
    }
    run(&s.j, CVM_SHAPLEY_RATE, conv, val);
    /* Rate: summing 2^19 differences per channel; 1e-9 relative. */
    ck_assert(fabs(total_of(conv, 30) - tc) <= 1e-9 * tc);
    ck_assert(fabs(total_of(val, 30) - tv) <= 1e-9 * tv);
    for (c = 0; c < 30; c++) {
        if (rc[c] == 0) {
            ck_assert(conv[c] == 0 && val[c] == 0);
        }
    }
    js_free(&s);
}
END_TEST

START_TEST(failing_allocator)
{
    int32_t kind;
    for (kind = 0; kind <= 1; kind++) {
        jset s;
        double want_c[3], want_v[3];
        size_t fail_at;
        int ok = 0;
        tiny(&s);
        run(js_view(&s), kind, want_c, want_v);
        for (fail_at = 1; fail_at < 20 && !ok; fail_at++) {
            tu_failing state = { 0, fail_at, 0, 0 };
            cvm_allocator a = tu_failing_allocator(&state);
            double conv[3], val[3];
            cvm__credit out = { conv, val };
            char err[256] = "";
            cvm_status st = cvm__shapley(&s.j, kind, &a, &out, err, sizeof err);
            ck_assert_msg(st == CVM_OK || st == CVM_E_NOMEM, "status %d", (int)st);
            ck_assert_int_eq(state.live, 0);
            if (st == CVM_OK) {
                ck_assert_mem_eq(conv, want_c, sizeof conv);
                ck_assert_mem_eq(val, want_v, sizeof val);
                ok = 1;
            } else {
                ck_assert_ptr_nonnull(strstr(err, "out of memory"));
            }
        }
        ck_assert(ok);
        js_free(&s);
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("shapley");
    TCase *tc = tcase_create("shapley");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, conversions_tiny_equal_split);
    tcase_add_test(tc, conversions_random_equal_split);
    tcase_add_test(tc, rate_tiny_by_hand);
    tcase_add_test(tc, rate_negative_marginal);
    tcase_add_test(tc, rate_random_brute_force);
    tcase_add_test(tc, channelattribution_data);
    tcase_add_test(tc, too_many_channels);
    tcase_add_test(tc, twenty_of_thirty_channels);
    tcase_add_test(tc, failing_allocator);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
