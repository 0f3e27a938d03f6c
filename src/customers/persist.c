/* Saving and loading a model as a snapshot (see core_int.h for the file
 * layout). Events are written per customer, oldest first, so that loading
 * replays each customer's purchases in their original order and gives a
 * bit-identical summary. */
#include "customers/customers_int.h"

#include <string.h>

#define KIND_CUSTOMERS 1u
#define TAG_OPTS 0x5354504Fu /* "OPTS" */
#define TAG_IDS 0x20534449u  /* "IDS " */
#define TAG_EVTS 0x53545645u /* "EVTS" */
#define CHUNK 4096

static cvm_status write_opts(cvm__snap_writer *w, const cvm_customers *c)
{
    unsigned char b[24];
    cvm_status st = cvm__snap_begin(w, TAG_OPTS, sizeof b);
    cvm__put_u64(b, (uint64_t)c->opts.period_seconds);
    cvm__put_u64(b + 8, (uint64_t)c->opts.period_origin);
    cvm__put_u64(b + 16, (uint64_t)c->opts.calibration_end);
    if (st == CVM_OK) {
        st = cvm__snap_write(w, b, sizeof b);
    }
    return st == CVM_OK ? cvm__snap_end(w) : st;
}

/* Ids as a count, every id's end offset (u64) and the bytes back to back. */
static cvm_status write_ids(cvm__snap_writer *w, const cvm_customers *c)
{
    unsigned char b[CHUNK];
    size_t n = cvm__idtable_count(&c->ids), i, k = 0, len;
    uint64_t end = 0;
    cvm_status st;
    for (i = 0; i < n; i++) {
        cvm__idtable_get(&c->ids, i, &len);
        end += len;
    }
    st = cvm__snap_begin(w, TAG_IDS, 8 + (uint64_t)n * 8 + end);
    cvm__put_u64(b, n);
    k = 8;
    end = 0;
    for (i = 0; i < n && st == CVM_OK; i++) {
        cvm__idtable_get(&c->ids, i, &len);
        end += len;
        cvm__put_u64(b + k, end);
        k += 8;
        if (k == CHUNK || i + 1 == n) {
            st = cvm__snap_write(w, b, k);
            k = 0;
        }
    }
    if (st == CVM_OK && n == 0) {
        st = cvm__snap_write(w, b, k);
    }
    for (i = 0; i < n && st == CVM_OK; i++) {
        const char *id = cvm__idtable_get(&c->ids, i, &len);
        st = cvm__snap_write(w, id, len);
    }
    return st == CVM_OK ? cvm__snap_end(w) : st;
}

static uint32_t event_count(const cvm_customers *c, size_t i)
{
    uint32_t k = 0, e;
    for (e = cvm__cust_at(c, i)->head; e; e = cvm__event_at(c, e - 1)->next) {
        k++;
    }
    return k;
}

static cvm_status write_events_of(cvm__snap_writer *w, cvm_customers *c, size_t i)
{
    unsigned char b[12 * 256];
    size_t k = cvm__collect_events(c, c, i), j, o = 0;
    const cvm__event *ev = c->scratch.data;
    cvm_status st = CVM_OK;
    if (k == SIZE_MAX) {
        return CVM_E_NOMEM;
    }
    for (j = 0; j < k && st == CVM_OK; j++) {
        uint64_t bits;
        memcpy(&bits, &ev[j].amount, 8);
        cvm__put_u32(b + o, (uint32_t)ev[j].period);
        cvm__put_u64(b + o + 4, bits);
        o += 12;
        if (o == sizeof b || j + 1 == k) {
            st = cvm__snap_write(w, b, o);
            o = 0;
        }
    }
    return st;
}

static cvm_status write_events(cvm__snap_writer *w, cvm_customers *c)
{
    size_t n = cvm__idtable_count(&c->ids), i;
    unsigned char b[8];
    cvm_status st = cvm__snap_begin(w, TAG_EVTS, 8 + (uint64_t)n * 4 + (uint64_t)c->nevents * 12);
    cvm__put_u64(b, c->nevents);
    if (st == CVM_OK) {
        st = cvm__snap_write(w, b, 8);
    }
    for (i = 0; i < n && st == CVM_OK; i++) {
        cvm__put_u32(b, event_count(c, i));
        st = cvm__snap_write(w, b, 4);
    }
    for (i = 0; i < n && st == CVM_OK; i++) {
        st = write_events_of(w, c, i);
    }
    return st == CVM_OK ? cvm__snap_end(w) : st;
}

cvm_status cvm_customers_save(cvm_customers *c, const char *path)
{
    cvm__snap_writer *w;
    cvm_status st;
    if (c == NULL || path == NULL) {
        return c ? cvm__cerr(c, CVM_E_INVALID, "path is NULL") : CVM_E_INVALID;
    }
    c->errmsg[0] = '\0';
    st = cvm__snap_create(&w, &c->alloc, path, KIND_CUSTOMERS, c->errmsg, sizeof c->errmsg);
    if (st != CVM_OK) {
        return st;
    }
    st = write_opts(w, c);
    if (st == CVM_OK) {
        st = write_ids(w, c);
    }
    if (st == CVM_OK) {
        st = write_events(w, c);
    }
    if (st != CVM_OK) {
        cvm__snap_abort(w);
        if (c->errmsg[0] == '\0' || st == CVM_E_NOMEM) {
            cvm__cerr(c, st, "%s: cannot save: %s", path, cvm_strerror(st));
        }
        return st;
    }
    return cvm__snap_commit(w);
}

/* ---- loading ---------------------------------------------------------- */

typedef struct loader {
    const cvm__snap_reader *r;
    const char *path;
    char *err;
    size_t errlen;
} loader;

static cvm_status bad(const loader *l, const char *what)
{
    return cvm__errf(l->err, l->errlen, CVM_E_FORMAT, "%s: inconsistent snapshot: %s", l->path,
                     what);
}

static cvm_status read_opts(const loader *l, const cvm_allocator *a, cvm_customers **out)
{
    const unsigned char *p;
    uint64_t len;
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_status st = cvm__snap_find(l->r, TAG_OPTS, &p, &len, l->err, l->errlen);
    if (st != CVM_OK) {
        return st;
    }
    if (len != 24) {
        return bad(l, "options section size");
    }
    o.period_seconds = (int64_t)cvm__get_u64(p);
    o.period_origin = (int64_t)cvm__get_u64(p + 8);
    o.calibration_end = (int64_t)cvm__get_u64(p + 16);
    if (!cvm__options_valid(&o)) {
        return bad(l, "period, origin or calibration end out of range");
    }
    st = cvm__customers_create(out, a, &o);
    return st == CVM_OK ? st : cvm__errf(l->err, l->errlen, st, "%s: out of memory", l->path);
}

static cvm_status read_ids(const loader *l, cvm_customers *c)
{
    const unsigned char *p;
    uint64_t len, n, i, start = 0;
    cvm_status st = cvm__snap_find(l->r, TAG_IDS, &p, &len, l->err, l->errlen);
    if (st != CVM_OK) {
        return st;
    }
    n = len >= 8 ? cvm__get_u64(p) : UINT64_MAX;
    if (n > (len - 8) / 8 || n > CVM__MAX_EVENTS) {
        return bad(l, "id count");
    }
    if (n > 0 && cvm__get_u64(p + 8 + 8 * (n - 1)) != len - 8 - 8 * n) {
        return bad(l, "id bytes length");
    }
    for (i = 0; i < n; i++) {
        uint64_t end = cvm__get_u64(p + 8 + 8 * i);
        const char *id = (const char *)p + 8 + 8 * n + start;
        size_t index;
        if (end <= start || end - start > CVM__MAX_ID_LEN || end > len - 8 - 8 * n) {
            return bad(l, "id offsets");
        }
        if (cvm__intern(c, id, (size_t)(end - start),
                        cvm__hash_bytes(id, (size_t)(end - start)), &index) != CVM_OK) {
            return cvm__errf(l->err, l->errlen, CVM_E_NOMEM, "%s: out of memory", l->path);
        }
        if (index != i) {
            return bad(l, "duplicate id");
        }
        start = end;
    }
    return CVM_OK;
}

/* Whether `period` holds a time a purchase can have, [0, 2^60): what
 * cvm_customers_add() guarantees of every stored period, and what keeps
 * origin + period * period_seconds (tracking.c) from overflowing. A period
 * beyond 2^61 seconds from the origin cannot, so the product is formed only
 * below that. */
static int period_possible(const cvm_customers *c, int32_t period)
{
    const int64_t len = c->opts.period_seconds, lim = CVM__TIME_LIMIT;
    int64_t start;
    if (period > 2 * lim / len || period < -(2 * lim / len)) {
        return 0;
    }
    start = c->opts.period_origin + (int64_t)period * len;
    return start < lim && start + len > 0;
}

static cvm_status read_events_of(const loader *l, cvm_customers *c, size_t i,
                                 const unsigned char *p, uint32_t k)
{
    uint32_t j;
    for (j = 0; j < k; j++, p += 12) {
        int32_t period = (int32_t)cvm__get_u32(p);
        uint64_t bits = cvm__get_u64(p + 4);
        double amount;
        memcpy(&amount, &bits, 8);
        /* What cvm_customers_add() accepts, so that sums stay finite. */
        if (period == INT32_MIN || period == INT32_MAX || !period_possible(c, period) ||
            !(amount >= 0 && amount <= CVM__MAX_AMOUNT)) {
            return bad(l, "transaction values");
        }
        if (cvm__record(c, i, period, amount) != CVM_OK) {
            return cvm__errf(l->err, l->errlen, CVM_E_NOMEM, "%s: out of memory", l->path);
        }
    }
    return CVM_OK;
}

static cvm_status read_events(const loader *l, cvm_customers *c)
{
    const unsigned char *p, *ev;
    uint64_t len, total, sum = 0;
    size_t n = cvm__idtable_count(&c->ids), i;
    cvm_status st = cvm__snap_find(l->r, TAG_EVTS, &p, &len, l->err, l->errlen);
    if (st != CVM_OK) {
        return st;
    }
    total = len >= 8 ? cvm__get_u64(p) : UINT64_MAX;
    if (total > CVM__MAX_EVENTS || len != 8 + (uint64_t)n * 4 + total * 12) {
        return bad(l, "transaction section size");
    }
    for (i = 0; i < n; i++) {
        sum += cvm__get_u32(p + 8 + 4 * i);
    }
    if (sum != total) {
        return bad(l, "transaction counts");
    }
    if (cvm__reserve_events(c, (size_t)total) != CVM_OK) {
        return cvm__errf(l->err, l->errlen, CVM_E_NOMEM, "%s: out of memory", l->path);
    }
    ev = p + 8 + 4 * n;
    for (i = 0; i < n && st == CVM_OK; i++) {
        uint32_t k = cvm__get_u32(p + 8 + 4 * i);
        st = read_events_of(l, c, i, ev, k);
        ev += (size_t)k * 12;
    }
    return st;
}

cvm_status cvm_customers_load(cvm_customers **out, const char *path,
                              const cvm_customers_options *opts, char *errbuf, size_t errlen)
{
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_allocator a;
    cvm__snap_reader *r;
    cvm_customers *c = NULL;
    loader l;
    cvm_status st;
    if (out == NULL || path == NULL) {
        return CVM_E_INVALID;
    }
    *out = NULL;
    if (cvm__options_copy(&o, sizeof o, opts, sizeof o) != CVM_OK) {
        return cvm__errf(errbuf, errbuf ? errlen : 0, CVM_E_ABI,
                         "%s: options of unsupported size or with unknown fields", path);
    }
    if (cvm__allocator_copy(&a, o.allocator) != CVM_OK) {
        return cvm__errf(errbuf, errbuf ? errlen : 0, CVM_E_INVALID, "%s: incomplete allocator",
                         path);
    }
    st = cvm__snap_open(&r, &a, path, KIND_CUSTOMERS, errbuf, errlen);
    if (st != CVM_OK) {
        return st;
    }
    l.r = r;
    l.path = path;
    l.err = errbuf;
    l.errlen = errbuf ? errlen : 0;
    st = read_opts(&l, &a, &c);
    if (st == CVM_OK) {
        st = read_ids(&l, c);
    }
    if (st == CVM_OK) {
        st = read_events(&l, c);
    }
    cvm__snap_close(r);
    if (st != CVM_OK) {
        cvm_customers_free(c);
        return st;
    }
    *out = c;
    return CVM_OK;
}
