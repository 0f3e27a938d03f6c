/* cvm_attribution: the handle — options, channels, the journey view the
 * models read, model runs and their getters, return on spend. Paths are
 * added in paths.c, touchpoints in touches.c, heuristics are heuristics.c. */
#include "attribution/attribution_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

cvm_status cvm_attribution_options_init(cvm_attribution_options *opts, size_t size)
{
    const cvm_attribution_options def = CVM_ATTRIBUTION_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

cvm_status cvm_attribution_run_options_init(cvm_attribution_run_options *opts, size_t size)
{
    const cvm_attribution_run_options def = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

cvm_status cvm__aerr(cvm_attribution *a, cvm_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    st = cvm__verrf(a->errmsg, sizeof a->errmsg, st, fmt, ap);
    va_end(ap);
    return st;
}

cvm_status cvm_attribution_new(cvm_attribution **out, const cvm_attribution_options *opts)
{
    cvm_attribution_options o = CVM_ATTRIBUTION_OPTIONS_INIT;
    cvm_allocator al;
    cvm_attribution *a;
    cvm_status st;
    if (out == NULL) {
        return CVM_E_INVALID;
    }
    *out = NULL;
    st = cvm__options_copy(&o, sizeof o, opts, sizeof o);
    if (st != CVM_OK) {
        return st;
    }
    if (o.lookback_seconds < 0 || o.separator < 1 || o.separator > 255 || o.reserved != 0 ||
        cvm__allocator_copy(&al, o.allocator) != CVM_OK) {
        return CVM_E_INVALID;
    }
    a = cvm__calloc(&al, 1, sizeof *a);
    if (a == NULL) {
        return CVM_E_NOMEM;
    }
    a->alloc = al;
    a->lookback = o.lookback_seconds;
    a->separator = (char)(unsigned char)o.separator;
    cvm__idtable_init(&a->channels, 8);
    cvm__idtable_init(&a->customers, 8);
    a->model = -1;
    *out = a;
    return CVM_OK;
}

static void drop_view(cvm_attribution *a)
{
    a->view_valid = 0;
    memset(&a->view, 0, sizeof a->view);
}

static void drop_result(cvm_attribution *a)
{
    cvm__free(&a->alloc, a->res_conv);
    cvm__free(&a->alloc, a->res_value);
    cvm__free(&a->alloc, a->res_removal);
    if (a->chain != NULL) {
        cvm__chain_free(a->chain, &a->alloc);
    }
    a->res_conv = a->res_value = a->res_removal = NULL;
    a->chain = NULL;
    a->nresult = 0;
    a->p_conversion = 0;
    a->model = -1;
}

void cvm__attr_changed(cvm_attribution *a)
{
    drop_view(a);
    drop_result(a);
}

void cvm_attribution_free(cvm_attribution *a)
{
    cvm_allocator al;
    if (a == NULL) {
        return;
    }
    al = a->alloc;
    drop_result(a);
    cvm__attr_forget_channels(a, 0);
    cvm__idtable_free(&a->channels, &al);
    cvm__vec_free(&a->names, &al);
    cvm__vec_free(&a->scratch, &al);
    cvm__paths_free(&a->paths, &al);
    cvm__idtable_free(&a->customers, &al);
    cvm__vec_free(&a->events, &al);
    cvm__vec_free(&a->v_offset, &al);
    cvm__vec_free(&a->v_channel, &al);
    cvm__vec_free(&a->v_age, &al);
    cvm__vec_free(&a->v_conv, &al);
    cvm__vec_free(&a->v_value, &al);
    cvm__vec_free(&a->v_nulls, &al);
    cvm__free(&al, a);
}

const char *cvm_attribution_errmsg(const cvm_attribution *a)
{
    return a ? a->errmsg : "";
}

/* ---- channels ---------------------------------------------------------- */

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

cvm_status cvm__attr_channel(cvm_attribution *a, const char *s, size_t n, uint32_t *index,
                             const char **problem)
{
    size_t idx;
    int created;
    char *name;
    while (n > 0 && blank(s[0])) {
        s++;
        n--;
    }
    while (n > 0 && blank(s[n - 1])) {
        n--;
    }
    if (n == 0) {
        *problem = "is empty";
        return CVM_E_INVALID;
    }
    if (n > CVM__MAX_CHANNEL_LEN) {
        *problem = "is longer than 255 bytes";
        return CVM_E_INVALID;
    }
    if (memchr(s, '\0', n) != NULL) {
        *problem = "holds a NUL byte";
        return CVM_E_INVALID;
    }
    *problem = "out of memory";
    /* Room for the name's pointer first: after the intern nothing can fail
     * but the copy, which is undone by forgetting the new channel. */
    if (cvm__vec_reserve(&a->names, &a->alloc, sizeof(char *), a->names.len + 1) != CVM_OK ||
        cvm__idtable_intern(&a->channels, &a->alloc, s, n, cvm__hash_bytes(s, n), &idx,
                            &created) != CVM_OK) {
        return CVM_E_NOMEM;
    }
    if (created) {
        name = cvm__strndup(&a->alloc, s, n);
        if (name == NULL) {
            cvm__free(&a->alloc, name);
            cvm__idtable_truncate(&a->channels, idx);
            return CVM_E_NOMEM;
        }
        ((char **)a->names.data)[a->names.len++] = name;
    }
    *index = (uint32_t)idx;
    return CVM_OK;
}

void cvm__attr_forget_channels(cvm_attribution *a, size_t count)
{
    char **names = a->names.data;
    while (a->names.len > count) {
        cvm__free(&a->alloc, names[--a->names.len]);
    }
    cvm__idtable_truncate(&a->channels, count);
}

size_t cvm_attribution_channel_count(const cvm_attribution *a)
{
    return a ? a->names.len : 0;
}

const char *cvm_attribution_channel_name(const cvm_attribution *a, size_t index)
{
    return a && index < a->names.len ? ((char *const *)a->names.data)[index] : NULL;
}

/* ---- the journey view ---------------------------------------------------- */

/* Copy the paths into the view's own arrays (touches follow them). */
static cvm_status copy_paths(cvm_attribution *a, size_t max_journeys, size_t max_touches)
{
    const cvm__paths *p = &a->paths;
    size_t n = p->conv.len, m = p->seq.len, i;
    const cvm_allocator *al = &a->alloc;
    if (cvm__vec_reserve(&a->v_offset, al, sizeof(size_t), max_journeys + 1) != CVM_OK ||
        cvm__vec_reserve(&a->v_channel, al, sizeof(uint32_t), max_touches) != CVM_OK ||
        cvm__vec_reserve(&a->v_age, al, sizeof(double), max_touches) != CVM_OK ||
        cvm__vec_reserve(&a->v_conv, al, sizeof(double), max_journeys) != CVM_OK ||
        cvm__vec_reserve(&a->v_value, al, sizeof(double), max_journeys) != CVM_OK ||
        cvm__vec_reserve(&a->v_nulls, al, sizeof(double), max_journeys) != CVM_OK) {
        return cvm__aerr(a, CVM_E_NOMEM, "out of memory building the journeys");
    }
    ((size_t *)a->v_offset.data)[0] = 0;
    if (n > 0) {
        memcpy(a->v_offset.data, p->offset.data, (n + 1) * sizeof(size_t));
        memcpy(a->v_channel.data, p->seq.data, m * sizeof(uint32_t));
        memcpy(a->v_conv.data, p->conv.data, n * sizeof(double));
        memcpy(a->v_value.data, p->value.data, n * sizeof(double));
        memcpy(a->v_nulls.data, p->nulls.data, n * sizeof(double));
        for (i = 0; i < m; i++) {
            ((double *)a->v_age.data)[i] = 0; /* never read: age is NULL with paths */
        }
    }
    a->v_offset.len = n + 1;
    a->v_channel.len = a->v_age.len = m;
    a->v_conv.len = a->v_value.len = a->v_nulls.len = n;
    return CVM_OK;
}

cvm_status cvm__attr_journeys(cvm_attribution *a, const cvm__journeys **out)
{
    cvm__journeys *j = &a->view;
    const cvm__paths *p = &a->paths;
    size_t npaths = p->conv.len;
    if (!a->view_valid) {
        memset(j, 0, sizeof *j);
        if (a->events.len == 0) {
            /* Paths only: borrow the store, it is laid out for us. */
            j->n = npaths;
            j->offset = npaths ? p->offset.data : NULL;
            j->channel = p->seq.data;
            j->conversions = p->conv.data;
            j->value = p->value.data;
            j->nulls = p->nulls.data;
            j->longest = p->longest;
        } else {
            size_t n = 0, longest = 0;
            cvm_status st;
            /* At most one journey and one touch per event. */
            st = copy_paths(a, npaths + a->events.len, p->seq.len + a->events.len);
            if (st == CVM_OK) {
                st = cvm__touch_journeys(a, &n, &longest);
            }
            if (st != CVM_OK) {
                memset(j, 0, sizeof *j);
                return st;
            }
            j->n = npaths + n;
            j->offset = a->v_offset.data;
            j->channel = a->v_channel.data;
            j->age = npaths == 0 ? a->v_age.data : NULL; /* paths have no times */
            j->conversions = a->v_conv.data;
            j->value = a->v_value.data;
            j->nulls = a->v_nulls.data;
            j->longest = longest > p->longest ? longest : p->longest;
        }
        j->nchannels = a->names.len;
        j->names = (const char *const *)a->names.data;
        a->view_valid = 1;
    }
    *out = j;
    return CVM_OK;
}

/* ---- runs ------------------------------------------------------------------ */

static int finite_in(double x, double lo, double hi)
{
    return isfinite(x) && x >= lo && x <= hi;
}

static cvm_status check_run_options(cvm_attribution *a, const cvm_attribution_run_options *opts,
                                    cvm_attribution_run_options *o)
{
    if (cvm__options_copy(o, sizeof *o, opts, sizeof *o) != CVM_OK) {
        return cvm__aerr(a, CVM_E_ABI, "run options of unsupported size or with unknown fields");
    }
    if (o->model < CVM_ATTR_FIRST || o->model > CVM_ATTR_SHAPLEY) {
        return cvm__aerr(a, CVM_E_INVALID, "unknown model %d", (int)o->model);
    }
    if (!(isfinite(o->half_life_seconds) && o->half_life_seconds > 0)) {
        return cvm__aerr(a, CVM_E_INVALID, "half_life_seconds %g is not positive and finite",
                         o->half_life_seconds);
    }
    if (!finite_in(o->first_share, 0, 1) || !finite_in(o->last_share, 0, 1) ||
        o->first_share + o->last_share > 1 + 1e-12) {
        return cvm__aerr(a, CVM_E_INVALID,
                         "first_share %g and last_share %g must be in [0, 1] with a sum of at most 1",
                         o->first_share, o->last_share);
    }
    if (o->order < 1 || o->order > 4) {
        return cvm__aerr(a, CVM_E_INVALID, "Markov order %d is not 1..4", (int)o->order);
    }
    if (o->max_steps < 0) {
        return cvm__aerr(a, CVM_E_INVALID, "max_steps %d is negative", (int)o->max_steps);
    }
    if (o->use_nulls != 0 && o->use_nulls != 1) {
        return cvm__aerr(a, CVM_E_INVALID, "use_nulls %d is not 0 or 1", (int)o->use_nulls);
    }
    if (o->shapley != CVM_SHAPLEY_CONVERSIONS && o->shapley != CVM_SHAPLEY_RATE) {
        return cvm__aerr(a, CVM_E_INVALID, "unknown Shapley value %d", (int)o->shapley);
    }
    if (o->reserved != 0) {
        return cvm__aerr(a, CVM_E_INVALID, "reserved run option is not 0");
    }
    return CVM_OK;
}

static cvm_status check_journeys(cvm_attribution *a, const cvm__journeys *j)
{
    double conv = 0, value = 0, all = 0;
    size_t i;
    if (j->n == 0) {
        return cvm__aerr(a, CVM_E_EMPTY, "no journeys");
    }
    for (i = 0; i < j->n; i++) {
        conv += j->conversions[i];
        value += j->value[i];
        all += j->conversions[i] + j->nulls[i];
    }
    /* each count is finite, but merged paths and sums can overflow: every
     * model divides by or scales with these totals */
    if (!isfinite(conv) || !isfinite(value) || !isfinite(all)) {
        return cvm__aerr(a, CVM_E_RANGE,
                         "the total conversions, value or journeys overflow (%g, %g, %g)", conv,
                         value, all);
    }
    if (!(conv > 0)) {
        return cvm__aerr(a, CVM_E_EMPTY, "no journey converted");
    }
    return CVM_OK;
}

/* Whatever a model computed, no NaN or infinity reaches the caller. */
static cvm_status check_credit(cvm_attribution *a, size_t nc)
{
    size_t i;
    for (i = 0; i < nc; i++) {
        if (!isfinite(a->res_conv[i]) || !isfinite(a->res_value[i]) ||
            (a->res_removal != NULL && !isfinite(a->res_removal[i]))) {
            return cvm__aerr(a, CVM_E_RANGE, "the credit of channel %s cannot be represented",
                             cvm_attribution_channel_name(a, i));
        }
    }
    return CVM_OK;
}

cvm_status cvm_attribution_run(cvm_attribution *a, const cvm_attribution_run_options *opts)
{
    cvm_attribution_run_options o = CVM_ATTRIBUTION_RUN_OPTIONS_INIT;
    const cvm__journeys *j;
    cvm__credit credit;
    size_t nc;
    cvm_status st;
    if (a == NULL) {
        return CVM_E_INVALID;
    }
    a->errmsg[0] = '\0';
    drop_result(a);
    st = check_run_options(a, opts, &o);
    if (st == CVM_OK) {
        st = cvm__attr_journeys(a, &j);
    }
    if (st == CVM_OK) {
        st = check_journeys(a, j);
    }
    if (st != CVM_OK) {
        return st;
    }
    nc = j->nchannels;
    a->res_conv = cvm__calloc(&a->alloc, nc, sizeof(double));
    a->res_value = cvm__calloc(&a->alloc, nc, sizeof(double));
    if (o.model == CVM_ATTR_MARKOV) {
        a->res_removal = cvm__calloc(&a->alloc, nc, sizeof(double));
    }
    if (a->res_conv == NULL || a->res_value == NULL ||
        (o.model == CVM_ATTR_MARKOV && a->res_removal == NULL)) {
        drop_result(a);
        return cvm__aerr(a, CVM_E_NOMEM, "out of memory");
    }
    credit.conversions = a->res_conv;
    credit.value = a->res_value;
    switch (o.model) {
    case CVM_ATTR_MARKOV:
        st = cvm__markov(j, &o, &a->alloc, &credit, a->res_removal, &a->p_conversion, &a->chain,
                         a->errmsg, sizeof a->errmsg);
        break;
    case CVM_ATTR_SHAPLEY:
        st = cvm__shapley(j, o.shapley, &a->alloc, &credit, a->errmsg, sizeof a->errmsg);
        break;
    default:
        st = cvm__heuristic(j, &o, &credit, a->errmsg, sizeof a->errmsg);
        break;
    }
    if (st == CVM_OK) {
        st = check_credit(a, nc);
    }
    if (st != CVM_OK) {
        drop_result(a);
        if (a->errmsg[0] == '\0') {
            cvm__aerr(a, st, "%s", cvm_strerror(st));
        }
        return st;
    }
    a->model = o.model;
    a->nresult = nc;
    return CVM_OK;
}

/* ---- results --------------------------------------------------------------- */

cvm_status cvm_attribution_credit(const cvm_attribution *a, double *conversions, double *value,
                                  size_t n)
{
    if (a == NULL || a->model < 0 || n != a->nresult) {
        return CVM_E_INVALID;
    }
    if (conversions != NULL && n > 0) {
        memcpy(conversions, a->res_conv, n * sizeof *conversions);
    }
    if (value != NULL && n > 0) {
        memcpy(value, a->res_value, n * sizeof *value);
    }
    return CVM_OK;
}

cvm_status cvm_attribution_removal_effects(const cvm_attribution *a, double *effects, size_t n,
                                           double *p_conversion)
{
    if (a == NULL || a->model != CVM_ATTR_MARKOV || n != a->nresult) {
        return CVM_E_INVALID;
    }
    if (effects != NULL && n > 0) {
        memcpy(effects, a->res_removal, n * sizeof *effects);
    }
    if (p_conversion != NULL) {
        *p_conversion = a->p_conversion;
    }
    return CVM_OK;
}

size_t cvm_attribution_state_count(const cvm_attribution *a)
{
    return a && a->chain ? cvm__chain_states(a->chain) : 0;
}

const char *cvm_attribution_state_name(const cvm_attribution *a, size_t index)
{
    return a && a->chain && index < cvm__chain_states(a->chain)
               ? cvm__chain_state_name(a->chain, index)
               : NULL;
}

cvm_status cvm_attribution_transitions(const cvm_attribution *a, double *matrix, size_t n)
{
    size_t s;
    if (a == NULL || a->chain == NULL) {
        return CVM_E_INVALID;
    }
    s = cvm__chain_states(a->chain);
    if (s > ((size_t)1 << 13)) { /* s^2 > 2^26 */
        return CVM_E_RANGE;
    }
    if (matrix == NULL || n != s * s) {
        return CVM_E_INVALID;
    }
    cvm__chain_matrix(a->chain, matrix);
    return CVM_OK;
}

cvm_status cvm_attribution_roi(const cvm_attribution *a, const double *spend, size_t n,
                               double *roi, double *cost_per_conversion, char *errbuf,
                               size_t errlen)
{
    size_t i;
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (a == NULL || (spend == NULL && n > 0)) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "%s is NULL", a ? "spend" : "handle");
    }
    if (a->model < 0) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "no model run yet");
    }
    if (n != a->nresult) {
        return cvm__errf(errbuf, errlen, CVM_E_INVALID, "%zu spends for %zu channels", n,
                         a->nresult);
    }
    for (i = 0; i < n; i++) {
        if (!(isfinite(spend[i]) && spend[i] >= 0)) {
            return cvm__errf(errbuf, errlen, CVM_E_INVALID,
                             "spend of channel %zu ('%s') is %g: not finite and >= 0", i,
                             ((char *const *)a->names.data)[i], spend[i]);
        }
    }
    for (i = 0; i < n; i++) {
        if (roi != NULL) {
            roi[i] = spend[i] != 0 ? a->res_value[i] / spend[i] : 0;
        }
        if (cost_per_conversion != NULL) {
            cost_per_conversion[i] = a->res_conv[i] != 0 ? spend[i] / a->res_conv[i] : 0;
        }
    }
    return CVM_OK;
}
