/* cvm segment: customers of a summary into segments, by RFM scores and a
 * named segment map (`segment rfm`) or by k-means on RFM features
 * (`segment kmeans`). Writes one row per customer, or with --profile one row
 * per segment; --clv adds P(alive) and CLV from BG/NBD and Gamma-Gamma
 * fitted on the same summary, as `cvm predict bgnbd` computes them. */
#include "summary_io.h"

#include <stdlib.h>
#include <string.h>

enum { METHOD_RFM, METHOD_KMEANS };

/* k-means features. "recency" is the time since the last purchase (T minus
 * the summary's recency), the sense RFM gives the word. */
enum { FEAT_RECENCY, FEAT_FREQUENCY, FEAT_MONETARY, FEAT_TENURE, NFEAT };
static const char *const feature_name[NFEAT] = {"recency", "frequency", "monetary", "tenure"};

/* The built-in segment maps are rules on scores 1..5; with other bins the
 * segments are the score cells ("RFM" digits). */
#define RFM_MAP_BINS 5
#define KMEANS_DEFAULT_K 4
#define KMEANS_DEFAULT_N_INIT 10

typedef struct segment_args {
    summary_spec spec;
    int method;
    const char *cmd; /* "segment rfm" / "segment kmeans" for messages */
    const char *out;
    int profile;
    int clv;
    int map_given;
    cvm_rfm_options rfm;
    cvm_kmeans_options km;
    int nfeat;
    int feat[NFEAT];
} segment_args;

/* ---- options ---- */

static int parse_int(const char *opt, const char *s, unsigned long long lo, unsigned long long hi,
                     int32_t *out)
{
    unsigned long long u;
    if (cli_parse_u64(opt, s, &u)) {
        return 1;
    }
    if (u < lo || u > hi) {
        return cli_error("%s: '%s' is not between %llu and %llu", opt, s, lo, hi);
    }
    *out = (int32_t)u;
    return 0;
}

/* `s` as one of `names` (n of them); its index into *out. */
static int parse_choice(const char *opt, const char *s, const char *const *names, int n,
                        const char *list, int32_t *out)
{
    int j;
    for (j = 0; j < n; j++) {
        if (strcmp(s, names[j]) == 0) {
            *out = j;
            return 0;
        }
    }
    return cli_error("%s: '%s' is not %s", opt, s, list);
}

static int parse_features(const char *s, segment_args *g)
{
    const char *p = s;
    g->nfeat = 0;
    for (;;) {
        size_t len = strcspn(p, ",");
        int f = -1, j;
        for (j = 0; j < NFEAT; j++) {
            if (strlen(feature_name[j]) == len && memcmp(p, feature_name[j], len) == 0) {
                f = j;
            }
        }
        if (f < 0) {
            return cli_error("--features: '%.*s' is not recency, frequency, monetary or tenure",
                             (int)len, p);
        }
        for (j = 0; j < g->nfeat; j++) {
            if (g->feat[j] == f) {
                return cli_error("--features: '%s' names %s twice", s, feature_name[f]);
            }
        }
        g->feat[g->nfeat++] = f;
        if (p[len] == '\0') {
            return 0;
        }
        p += len + 1;
    }
}

static int rfm_opt(cli_args *a, const char *arg, segment_args *g, int *bad)
{
    static const char *const ties[] = {"quantile", "rank"};
    static const char *const maps[] = {"rfm", "grid"};
    if (cli_opt(a, arg, "--bins", bad)) {
        *bad = *bad || parse_int("--bins", a->value, 2, 9, &g->rfm.bins);
    } else if (cli_opt(a, arg, "--ties", bad)) {
        *bad = *bad || parse_choice("--ties", a->value, ties, 2, "quantile or rank", &g->rfm.ties);
    } else if (cli_opt(a, arg, "--map", bad)) {
        *bad = *bad || parse_choice("--map", a->value, maps, 2, "rfm or grid", &g->rfm.map);
        g->map_given = 1;
    } else {
        return 0;
    }
    return 1;
}

static int kmeans_opt(cli_args *a, const char *arg, segment_args *g, int *bad)
{
    static const char *const scales[] = {"none", "zscore", "log1p"};
    unsigned long long seed;
    if (cli_opt(a, arg, "--k", bad)) {
        *bad = *bad || parse_int("--k", a->value, 1, 10000, &g->km.k);
    } else if (cli_opt(a, arg, "--n-init", bad)) {
        *bad = *bad || parse_int("--n-init", a->value, 1, 1000, &g->km.n_init);
    } else if (cli_opt(a, arg, "--seed", bad)) {
        *bad = *bad || cli_parse_u64("--seed", a->value, &seed);
        g->km.seed = *bad ? 0 : (uint64_t)seed;
    } else if (cli_opt(a, arg, "--scale", bad)) {
        /* the order of cvm_scaling: none, zscore, log1p + zscore */
        *bad = *bad || parse_choice("--scale", a->value, scales, 3, "none, zscore or log1p",
                                    &g->km.scaling);
    } else if (cli_opt(a, arg, "--features", bad)) {
        *bad = *bad || parse_features(a->value, g);
    } else {
        return 0;
    }
    return 1;
}

static int parse(int argc, char **argv, segment_args *g)
{
    cli_args a;
    const char *arg;
    int bad = 0;
    if (argc < 3 || argv[2][0] == '-') {
        return cli_error("segment: no METHOD (rfm, kmeans)");
    }
    if (strcmp(argv[2], "rfm") == 0) {
        g->method = METHOD_RFM;
        g->cmd = "segment rfm";
    } else if (strcmp(argv[2], "kmeans") == 0) {
        g->method = METHOD_KMEANS;
        g->cmd = "segment kmeans";
    } else {
        return cli_error("segment: unknown method '%s' (rfm, kmeans)", argv[2]);
    }
    cli_args_init(&a, argc, argv, 3);
    while (!bad && (arg = cli_args_next(&a)) != NULL) {
        if (summary_opt(&a, arg, &g->spec, &bad)) {
            continue;
        } else if (cli_flag(arg, "--profile")) {
            g->profile = 1;
        } else if (cli_flag(arg, "--clv")) {
            g->clv = 1;
        } else if (cli_opt(&a, arg, "-o", &bad)) {
            g->out = a.value;
        } else if (g->method == METHOD_RFM ? rfm_opt(&a, arg, g, &bad)
                                           : kmeans_opt(&a, arg, g, &bad)) {
            continue;
        } else {
            bad = cli_error("%s: unknown argument '%s'", g->cmd, arg);
        }
    }
    if (!bad && g->spec.path == NULL) {
        bad = cli_error("%s: no --summary FILE", g->cmd);
    }
    if (!bad && g->map_given && g->rfm.bins != RFM_MAP_BINS) {
        bad = cli_error("%s: --map needs --bins 5 (the maps are rules on scores 1..5)", g->cmd);
    }
    if (!bad && g->spec.named[SUM_W]) {
        bad = cli_error("%s: --weights is not supported (one row is one customer)", g->cmd);
    }
    return bad;
}

/* Which summary columns the command reads: the profile and the CLV models
 * need all four; k-means without them only its features. */
static void set_needs(segment_args *g)
{
    summary_spec *s = &g->spec;
    int k;
    s->need[SUM_W] = NEED_SKIP;
    if (g->method == METHOD_RFM || g->profile || g->clv) {
        s->need[SUM_X] = s->need[SUM_TX] = s->need[SUM_T] = s->need[SUM_M] = NEED_REQUIRED;
        return;
    }
    s->need[SUM_X] = s->need[SUM_TX] = s->need[SUM_T] = s->need[SUM_M] = NEED_SKIP;
    for (k = 0; k < g->nfeat; k++) {
        switch (g->feat[k]) {
        case FEAT_RECENCY: s->need[SUM_TX] = s->need[SUM_T] = NEED_REQUIRED; break;
        case FEAT_FREQUENCY: s->need[SUM_X] = NEED_REQUIRED; break;
        case FEAT_MONETARY: s->need[SUM_M] = NEED_REQUIRED; break;
        default: s->need[SUM_T] = NEED_REQUIRED; break;
        }
    }
}

/* ---- computing ---- */

typedef struct segments {
    size_t n;
    double *since;          /* T - recency, or NULL when not read */
    int32_t *label;         /* segment of each customer */
    int32_t *score;         /* rfm: r, f, m of each customer (3n), else NULL */
    size_t nseg;
    const char **names;     /* rfm: segment names; kmeans: NULL (numbers) */
    char *cells;            /* rfm without a map: the names' text */
    cvm_rfm *rfm;           /* owns the names */
    const double *feat[NFEAT];
    double *p_alive, *clv;  /* --clv, else NULL (one block) */
    cvm_segment_profile *profile; /* --profile, else NULL */
} segments;

static void segments_free(segments *sg)
{
    free(sg->since);
    free(sg->label);
    free(sg->score);
    free((void *)sg->names);
    free(sg->cells);
    free(sg->p_alive);
    free(sg->profile);
    cvm_rfm_free(sg->rfm);
}

static int no_memory(const segment_args *g)
{
    cli_error("%s: out of memory", g->cmd);
    return CLI_FAIL;
}

/* A library failure: memory is the machine's (1), the rest the data's (2).
 * The segment module says "fit: row N: why" or "fit: row N, feature J of
 * D: why"; the user reads "FILE:LINE: why", the feature by name. */
static int lib_failed(const summary_data *d, cvm_status st, const char *msg,
                      const segment_args *g)
{
    const char *p, *rest, *name = NULL;
    char *end;
    unsigned long long row;
    size_t plen;
    if (st == CVM_E_NOMEM) {
        cli_error("%s: out of memory", d->file);
        return CLI_FAIL;
    }
    if (msg == NULL || msg[0] == '\0') {
        msg = cvm_strerror(st);
    }
    plen = strcspn(msg, " :"); /* a "fit: " or "profiles: " prefix */
    p = msg[plen] == ':' && msg[plen + 1] == ' ' ? msg + plen + 2 : msg;
    if (strncmp(p, "row ", 4) != 0 || p[4] < '0' || p[4] > '9') {
        return cli_error("%s: %s: %s", d->file, g->cmd, p);
    }
    row = strtoull(p + 4, &end, 10);
    if (row < 1 || row > d->n || end[0] == ' ') {
        return summary_row_error(d, p); /* and "row N (x=1, ...): why" */
    }
    rest = end;
    if (strncmp(rest, ", feature ", 10) == 0) {
        unsigned long long j = strtoull(rest + 10, NULL, 10);
        name = j >= 1 && j <= (unsigned long long)g->nfeat ? feature_name[g->feat[j - 1]] : NULL;
        rest = strstr(rest, ": ");
        if (rest == NULL) {
            return summary_row_error(d, p);
        }
    }
    rest += strspn(rest, ": ");
    return cli_error("%s:%zu: %s%s%s", d->file, d->line[row - 1], name ? name : "",
                     name ? " " : "", rest);
}

/* The time since each customer's last purchase. */
static int since_last(segments *sg, const summary_data *d, const segment_args *g)
{
    size_t i;
    if (d->v[SUM_TX] == NULL || d->v[SUM_T] == NULL) {
        return CLI_OK;
    }
    sg->since = malloc(d->n * sizeof *sg->since);
    if (sg->since == NULL) {
        return no_memory(g);
    }
    for (i = 0; i < d->n; i++) {
        double tx = d->v[SUM_TX][i], T = d->v[SUM_T][i];
        if (tx > T) {
            return cli_error("%s:%zu: recency %g is after T %g", d->file, d->line[i], tx, T);
        }
        sg->since[i] = T - tx;
    }
    return CLI_OK;
}

/* Without a map (bins other than 5) each score cell is a segment, named by
 * its digits and ordered 111, 112, ... */
static int rfm_cells(segments *sg, const segment_args *g)
{
    size_t n = sg->n, k = (size_t)g->rfm.bins, i, j;
    sg->nseg = k * k * k;
    sg->cells = malloc(4 * sg->nseg);
    sg->names = malloc(sg->nseg * sizeof *sg->names);
    if (sg->cells == NULL || sg->names == NULL) {
        return no_memory(g);
    }
    for (j = 0; j < sg->nseg; j++) {
        char *c = sg->cells + 4 * j; /* k <= 9: one digit each */
        c[0] = (char)('1' + j / (k * k));
        c[1] = (char)('1' + j / k % k);
        c[2] = (char)('1' + j % k);
        c[3] = '\0';
        sg->names[j] = sg->cells + 4 * j;
    }
    for (i = 0; i < n; i++) {
        size_t r = (size_t)sg->score[i] - 1, f = (size_t)sg->score[n + i] - 1,
               m = (size_t)sg->score[2 * n + i] - 1;
        sg->label[i] = (int32_t)((r * k + f) * k + m);
    }
    return CLI_OK;
}

static int fit_rfm(segments *sg, const summary_data *d, const segment_args *g)
{
    char err[256] = "";
    size_t n = d->n, j;
    cvm_status st = cvm_rfm_new(&sg->rfm, &g->rfm);
    if (st != CVM_OK) {
        cli_error("%s: %s", g->cmd, cvm_strerror(st));
        return st == CVM_E_NOMEM ? CLI_FAIL : CLI_BAD;
    }
    st = cvm_rfm_fit(sg->rfm, sg->since, d->v[SUM_X], d->v[SUM_M], n);
    if (st != CVM_OK) {
        return lib_failed(d, st, cvm_rfm_errmsg(sg->rfm), g);
    }
    sg->score = malloc(3 * n * sizeof *sg->score);
    sg->label = malloc(n * sizeof *sg->label);
    if (sg->score == NULL || sg->label == NULL) {
        return no_memory(g);
    }
    st = cvm_rfm_fit_scores(sg->rfm, n, sg->score, sg->score + n, sg->score + 2 * n);
    if (st != CVM_OK) {
        return lib_failed(d, st, cvm_rfm_errmsg(sg->rfm), g);
    }
    if (g->rfm.bins != RFM_MAP_BINS) {
        return rfm_cells(sg, g);
    }
    st = cvm_rfm_segment(sg->rfm, sg->score, sg->score + n, sg->score + 2 * n, n, sg->label, err,
                         sizeof err);
    if (st != CVM_OK) {
        return lib_failed(d, st, err[0] ? err : cvm_rfm_errmsg(sg->rfm), g);
    }
    sg->nseg = cvm_rfm_segment_count(sg->rfm);
    sg->names = malloc(sg->nseg * sizeof *sg->names);
    if (sg->names == NULL) {
        return no_memory(g);
    }
    for (j = 0; j < sg->nseg; j++) {
        sg->names[j] = cvm_rfm_segment_name(sg->rfm, j);
    }
    return CLI_OK;
}

static const double *feature_column(const segments *sg, const summary_data *d, int f)
{
    switch (f) {
    case FEAT_RECENCY: return sg->since;
    case FEAT_FREQUENCY: return d->v[SUM_X];
    case FEAT_MONETARY: return d->v[SUM_M];
    default: return d->v[SUM_T];
    }
}

static int fit_kmeans(segments *sg, const summary_data *d, const segment_args *g)
{
    size_t n = d->n, dim = (size_t)g->nfeat, i, k;
    double *X = malloc(n * dim * sizeof *X);
    cvm_kmeans *km = NULL;
    cvm_status st;
    int rc = CLI_OK;
    sg->label = malloc(n * sizeof *sg->label);
    if (X == NULL || sg->label == NULL) {
        free(X);
        return no_memory(g);
    }
    for (k = 0; k < dim; k++) {
        sg->feat[k] = feature_column(sg, d, g->feat[k]);
        for (i = 0; i < n; i++) {
            X[i * dim + k] = sg->feat[k][i];
        }
    }
    st = cvm_kmeans_new(&km, &g->km);
    if (st != CVM_OK) {
        cli_error("%s: %s", g->cmd, cvm_strerror(st));
        rc = st == CVM_E_NOMEM ? CLI_FAIL : CLI_BAD;
    } else if ((st = cvm_kmeans_fit(km, X, n, dim, NULL, sg->label)) != CVM_OK) {
        rc = lib_failed(d, st, cvm_kmeans_errmsg(km), g);
    }
    sg->nseg = (size_t)g->km.k;
    cvm_kmeans_free(km);
    free(X);
    return rc;
}

/* P(alive) and CLV as `cvm predict bgnbd` computes them by default: BG/NBD
 * and Gamma-Gamma fitted on the summary, 12 periods of one time unit
 * discounted at 1% each. */
static int score_clv(segments *sg, const summary_data *d, const segment_args *g)
{
    cvm_fit_options fo;
    cvm_value_options vo;
    cvm_clv *m = NULL;
    cvm_spend *s = NULL;
    char err[256] = "";
    int rc;
    cvm_fit_options_init(&fo, sizeof fo);
    cvm_value_options_init(&vo, sizeof vo);
    rc = fit_transactions(&m, CVM_MODEL_BGNBD, d, &fo);
    if (rc == CLI_OK) {
        rc = fit_spend(&s, d, &fo);
    }
    if (rc == CLI_OK) {
        sg->p_alive = malloc(2 * d->n * sizeof *sg->p_alive);
        rc = sg->p_alive == NULL ? no_memory(g) : CLI_OK;
    }
    if (rc == CLI_OK) {
        cvm_status st;
        sg->clv = sg->p_alive + d->n;
        st = cvm_clv_score(m, s, vo.periods * vo.period_length, &vo, d->v[SUM_X], d->v[SUM_TX],
                           d->v[SUM_T], d->v[SUM_M], d->n, sg->p_alive, NULL, NULL, sg->clv, err,
                           sizeof err);
        rc = st == CVM_OK ? CLI_OK : lib_failed(d, st, err, g);
    }
    cvm_clv_free(m);
    cvm_spend_free(s);
    return rc;
}

static int profile(segments *sg, const summary_data *d, const segment_args *g)
{
    char err[256] = "";
    size_t j;
    cvm_status st;
    sg->profile = calloc(sg->nseg, sizeof *sg->profile);
    if (sg->profile == NULL) {
        return no_memory(g);
    }
    for (j = 0; j < sg->nseg; j++) {
        sg->profile[j].size = sizeof sg->profile[j];
    }
    st = cvm_segment_profiles(sg->label, d->n, sg->nseg, sg->since, d->v[SUM_X], d->v[SUM_M],
                              sg->p_alive, sg->clv, sg->profile, err, sizeof err);
    return st == CVM_OK ? CLI_OK : lib_failed(d, st, err, g);
}

/* ---- writing ---- */

static void put_number(FILE *f, double v)
{
    char num[40];
    cli_fmt_double(num, sizeof num, v);
    fprintf(f, ",%s", num);
}

static void write_segment_name(FILE *f, const segments *sg, size_t j)
{
    if (sg->names != NULL) {
        const char *s = sg->names[j] ? sg->names[j] : "?";
        cli_write_field(f, s, strlen(s));
    } else {
        fprintf(f, "%zu", j);
    }
}

static void write_customers(FILE *f, const segments *sg, const summary_data *d,
                            const segment_args *g)
{
    size_t i, n = d->n;
    int k;
    fputs("id,segment", f);
    if (sg->score != NULL) {
        fputs(",r,f,m,rfm_score", f);
    }
    for (k = 0; sg->score == NULL && k < g->nfeat; k++) {
        fprintf(f, ",%s", feature_name[g->feat[k]]);
    }
    fputs(sg->clv ? ",p_alive,clv\n" : "\n", f);
    for (i = 0; i < n; i++) {
        summary_write_id(f, d, i);
        fputc(',', f);
        write_segment_name(f, sg, (size_t)sg->label[i]);
        if (sg->score != NULL) {
            int32_t r = sg->score[i], fr = sg->score[n + i], m = sg->score[2 * n + i];
            fprintf(f, ",%d,%d,%d,%d", (int)r, (int)fr, (int)m, (int)(100 * r + 10 * fr + m));
        }
        for (k = 0; sg->score == NULL && k < g->nfeat; k++) {
            put_number(f, sg->feat[k][i]);
        }
        if (sg->clv) {
            put_number(f, sg->p_alive[i]);
            put_number(f, sg->clv[i]);
        }
        fputc('\n', f);
    }
}

/* One row per segment with customers, in the map's (or cluster) order. */
static void write_profile(FILE *f, const segments *sg)
{
    size_t j;
    fputs("segment,count,share_customers,share_revenue,mean_recency,mean_frequency,"
          "mean_monetary",
          f);
    fputs(sg->clv ? ",mean_p_alive,mean_clv,share_clv\n" : "\n", f);
    for (j = 0; j < sg->nseg; j++) {
        const cvm_segment_profile *p = &sg->profile[j];
        if (p->count <= 0) {
            continue;
        }
        write_segment_name(f, sg, j);
        fprintf(f, ",%.0f", p->count);
        put_number(f, p->share_customers);
        put_number(f, p->share_revenue);
        put_number(f, p->mean_recency);
        put_number(f, p->mean_frequency);
        put_number(f, p->mean_monetary);
        if (sg->clv) {
            put_number(f, p->mean_p_alive);
            put_number(f, p->mean_clv);
            put_number(f, p->share_clv);
        }
        fputc('\n', f);
    }
}

/* Everything is computed before the output is opened: a failure leaves no
 * partial file. */
static int run(const segment_args *g, const summary_data *d)
{
    segments sg;
    cli_out out;
    int rc;
    memset(&sg, 0, sizeof sg);
    sg.n = d->n;
    rc = since_last(&sg, d, g);
    if (rc == CLI_OK) {
        rc = g->method == METHOD_RFM ? fit_rfm(&sg, d, g) : fit_kmeans(&sg, d, g);
    }
    if (rc == CLI_OK && g->clv) {
        rc = score_clv(&sg, d, g);
    }
    if (rc == CLI_OK && g->profile) {
        rc = profile(&sg, d, g);
    }
    if (rc == CLI_OK && (rc = cli_out_open(&out, g->out)) == CLI_OK) {
        if (g->profile) {
            write_profile(out.f, &sg);
        } else {
            write_customers(out.f, &sg, d, g);
        }
        rc = cli_out_close(&out, 1);
    }
    segments_free(&sg);
    return rc;
}

/* The arguments, parsed and checked; nothing is opened. */
static int get_args(int argc, char **argv, segment_args *g)
{
    static const cvm_rfm_options rfm_defaults = CVM_RFM_OPTIONS_INIT;
    static const cvm_kmeans_options kmeans_defaults = CVM_KMEANS_OPTIONS_INIT;
    memset(g, 0, sizeof *g);
    summary_spec_init(&g->spec);
    g->rfm = rfm_defaults;
    g->km = kmeans_defaults;
    g->km.k = KMEANS_DEFAULT_K;
    g->km.n_init = KMEANS_DEFAULT_N_INIT;
    g->km.scaling = CVM_SCALE_LOG1P_ZSCORE;
    g->nfeat = 3;
    g->feat[0] = FEAT_RECENCY;
    g->feat[1] = FEAT_FREQUENCY;
    g->feat[2] = FEAT_MONETARY;
    if (parse(argc, argv, g)) {
        return CLI_BAD;
    }
    set_needs(g);
    return CLI_OK;
}

int cmd_segment_check_args(int argc, char **argv)
{
    segment_args g;
    return get_args(argc, argv, &g);
}

int cmd_segment(int argc, char **argv)
{
    segment_args g;
    summary_data d;
    int rc;
    if (get_args(argc, argv, &g) != CLI_OK) {
        return CLI_BAD;
    }
    rc = summary_read(&d, &g.spec);
    if (rc == CLI_OK) {
        rc = run(&g, &d);
        summary_free(&d);
    }
    return rc;
}
