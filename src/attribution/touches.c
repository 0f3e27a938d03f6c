/* Touchpoints: touches and conversions per customer, in any order, grouped
 * into journeys at run time.
 *
 * The events are sorted (stably) by customer, time, and touches before
 * conversions at the same second. Walking a customer's events, a conversion
 * at time T closes a journey of the touches since the previous conversion
 * that are at most `lookback` seconds older than T (a touch at T belongs to
 * it; older touches are dropped). Touches after the last conversion form a
 * journey that did not convert (1 null), its end being its last touch, and
 * the same window applies from that end. A conversion with no touch in its
 * window has nothing to credit and makes no journey. Each touch keeps its
 * age, end - time, for time decay. Journeys of touches are not merged. */
#include "attribution/attribution_int.h"

#include <math.h>
#include <string.h>

#define CONVERSION UINT32_MAX

static cvm_status check_id(cvm_attribution *a, const void *id, size_t id_len)
{
    if (id == NULL && id_len > 0) {
        return cvm__aerr(a, CVM_E_INVALID, "customer id is NULL");
    }
    if (id_len == 0 || id_len > CVM__ID_MAX_LEN) {
        return cvm__aerr(a, CVM_E_INVALID, "customer id is %s",
                         id_len ? "longer than 65535 bytes" : "empty");
    }
    return CVM_OK;
}

static cvm_status add_event(cvm_attribution *a, const void *id, size_t id_len, uint32_t channel,
                            int64_t time, double value, size_t nchannels)
{
    cvm__event *e;
    size_t idx;
    int created;
    if (cvm__vec_reserve(&a->events, &a->alloc, sizeof *e, a->events.len + 1) != CVM_OK ||
        cvm__idtable_intern(&a->customers, &a->alloc, id, id_len, cvm__hash_bytes(id, id_len),
                            &idx, &created) != CVM_OK) {
        cvm__attr_forget_channels(a, nchannels);
        return cvm__aerr(a, CVM_E_NOMEM, "out of memory");
    }
    e = (cvm__event *)a->events.data + a->events.len++;
    e->customer = (uint32_t)idx;
    e->channel = channel;
    e->time = time;
    e->value = value;
    cvm__attr_changed(a);
    return CVM_OK;
}

cvm_status cvm_attribution_add_touch(cvm_attribution *a, const void *id, size_t id_len,
                                     const char *channel, size_t channel_len, int64_t time)
{
    const char *problem;
    uint32_t ch;
    size_t nch;
    cvm_status st;
    if (a == NULL) {
        return CVM_E_INVALID;
    }
    a->errmsg[0] = '\0';
    a->view_valid = 0;
    if ((st = check_id(a, id, id_len)) != CVM_OK) {
        return st;
    }
    if (channel == NULL && channel_len > 0) {
        return cvm__aerr(a, CVM_E_INVALID, "channel is NULL");
    }
    nch = a->names.len;
    st = cvm__attr_channel(a, channel ? channel : "", channel_len, &ch, &problem);
    if (st != CVM_OK) {
        char q[200];
        cvm__quote(q, sizeof q, channel ? channel : "", channel_len);
        return cvm__aerr(a, st, "channel '%s' %s", q, problem);
    }
    return add_event(a, id, id_len, ch, time, 0, nch);
}

cvm_status cvm_attribution_add_conversion(cvm_attribution *a, const void *id, size_t id_len,
                                          int64_t time, double value)
{
    cvm_status st;
    if (a == NULL) {
        return CVM_E_INVALID;
    }
    a->errmsg[0] = '\0';
    a->view_valid = 0;
    if ((st = check_id(a, id, id_len)) != CVM_OK) {
        return st;
    }
    if (!(isfinite(value) && value >= 0)) {
        return cvm__aerr(a, CVM_E_INVALID, "conversion value %g is not finite and >= 0", value);
    }
    return add_event(a, id, id_len, CONVERSION, time, value, a->names.len);
}

/* ---- grouping ------------------------------------------------------------ */

static int before(const cvm__event *x, const cvm__event *y)
{
    if (x->customer != y->customer) {
        return x->customer < y->customer;
    }
    if (x->time != y->time) {
        return x->time < y->time;
    }
    return x->channel != CONVERSION && y->channel == CONVERSION;
}

/* Stable: insertion sort of short runs, then bottom-up merging. */
static cvm_status sort_events(cvm_attribution *a)
{
    cvm__event *ev = a->events.data, *tmp, *src, *dst;
    size_t n = a->events.len, i, j, w;
    const size_t run = 32;
    for (i = 1; i < n && !before(&ev[i], &ev[i - 1]); i++) {
    }
    if (i >= n) {
        return CVM_OK; /* already in order: the usual case */
    }
    tmp = cvm__calloc(&a->alloc, n, sizeof *tmp);
    if (tmp == NULL) {
        return cvm__aerr(a, CVM_E_NOMEM, "out of memory sorting %zu events", n);
    }
    for (i = 0; i < n; i += run) {
        size_t end = i + run < n ? i + run : n;
        for (j = i + 1; j < end; j++) {
            cvm__event x = ev[j];
            size_t k = j;
            while (k > i && before(&x, &ev[k - 1])) {
                ev[k] = ev[k - 1];
                k--;
            }
            ev[k] = x;
        }
    }
    src = ev;
    dst = tmp;
    for (w = run; w < n; w *= 2) {
        for (i = 0; i < n; i += 2 * w) {
            size_t mid = i + w < n ? i + w : n, end = i + 2 * w < n ? i + 2 * w : n;
            size_t l = i, r = mid, o = i;
            while (l < mid && r < end) {
                dst[o++] = before(&src[r], &src[l]) ? src[r++] : src[l++];
            }
            while (l < mid) {
                dst[o++] = src[l++];
            }
            while (r < end) {
                dst[o++] = src[r++];
            }
        }
        src = dst;
        dst = src == ev ? tmp : ev;
    }
    if (src != ev) {
        memcpy(ev, src, n * sizeof *ev);
    }
    cvm__free(&a->alloc, tmp);
    return CVM_OK;
}

/* Append the journey of touches ev[lo..hi) ending at `end`. */
static cvm_status emit(cvm_attribution *a, const cvm__event *ev, size_t lo, size_t hi,
                       int64_t end, double conv, double value, size_t *count, size_t *longest)
{
    uint64_t window = (uint64_t)a->lookback;
    uint32_t *ch = a->v_channel.data;
    double *age = a->v_age.data;
    size_t k;
    while (lo < hi && window > 0 && (uint64_t)end - (uint64_t)ev[lo].time > window) {
        lo++;
    }
    if (lo == hi) {
        return CVM_OK;
    }
    if (hi - lo > CVM__MAX_PATH_TOUCHES) {
        char q[200];
        size_t n;
        const char *id = cvm__idtable_get(&a->customers, ev[lo].customer, &n);
        cvm__quote(q, sizeof q, id, n);
        return cvm__aerr(a, CVM_E_INVALID, "customer '%s': a journey of %zu touches (limit 100000)",
                         q, hi - lo);
    }
    for (k = lo; k < hi; k++) {
        ch[a->v_channel.len] = ev[k].channel;
        age[a->v_age.len++] = (double)((uint64_t)end - (uint64_t)ev[k].time);
        a->v_channel.len++;
    }
    ((size_t *)a->v_offset.data)[a->v_offset.len++] = a->v_channel.len;
    ((double *)a->v_conv.data)[a->v_conv.len++] = conv;
    ((double *)a->v_value.data)[a->v_value.len++] = value;
    ((double *)a->v_nulls.data)[a->v_nulls.len++] = conv > 0 ? 0 : 1;
    if (hi - lo > *longest) {
        *longest = hi - lo;
    }
    (*count)++;
    return CVM_OK;
}

cvm_status cvm__touch_journeys(cvm_attribution *a, size_t *njourneys, size_t *longest)
{
    const cvm__event *ev;
    size_t n = a->events.len, i = 0;
    cvm_status st = sort_events(a);
    *njourneys = 0;
    *longest = 0;
    ev = a->events.data;
    while (st == CVM_OK && i < n) {
        uint32_t cust = ev[i].customer;
        size_t start = i;
        for (; st == CVM_OK && i < n && ev[i].customer == cust; i++) {
            if (ev[i].channel == CONVERSION) {
                st = emit(a, ev, start, i, ev[i].time, 1, ev[i].value, njourneys, longest);
                start = i + 1;
            }
        }
        if (st == CVM_OK && start < i) {
            st = emit(a, ev, start, i, ev[i - 1].time, 0, 0, njourneys, longest);
        }
    }
    return st;
}
