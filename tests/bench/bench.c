/* cvm-bench: throughput and memory of the customer model, through the public
 * API only. Not a test: it measures and prints, and asserts nothing.
 *
 *   cvm-bench [--transactions N] [--customers N] [--batch N] [--repeat N]
 *             [--csv-only | --api-only] [--grouped]
 *
 * The input is a synthetic purchase log, the same on every run: N purchases of
 * C customers ("C0000123") over two years from 2020-01-01, in rough global time
 * order with customers interleaved. Customer k first buys at purchase
 * floor(k * N / C); every other purchase is by a customer drawn uniformly from
 * those already seen, so early customers buy often and late ones rarely.
 * --grouped reorders the same log by customer (each customer's purchases
 * together, in time order), as exports sorted by customer arrive: the id
 * table is then hit in cache, where interleaved customers cost a few memory
 * latencies per purchase.
 *
 * Paths timed (each on a fresh model, on one core):
 *   add_batch   cvm_customers_add_batch over the log in batches (Arrow layout)
 *   add         cvm_customers_add, one call per purchase
 *   summary     cvm_customers_summary for frequency, recency, T and monetary
 *   load_csv    cvm_customers_load_csv of the log written as "id,date,amount"
 *               (date "YYYY-MM-DDThh:mm:ss") to a temporary file, which is in
 *               the page cache when read: this measures parsing, not the disk.
 *
 * Times are wall-clock (CLOCK_MONOTONIC); the "cpu" column is CPU time over
 * wall time, so a figure taken while other processes shared the core shows
 * it. --repeat N keeps the fastest of N runs of each path. MB/s is 10^6
 * bytes of CSV file per second.
 *
 * Model memory is what the model asked of a counting allocator (the 16-byte
 * headers it adds are not counted), in MiB; "peak" counts a growing realloc
 * as a copy (old and new block both live), "peak-inpl" as if it grew in
 * place. "B/cust after 16 B/tx" is (model bytes - 16 * transactions) /
 * customers: what each customer costs once every stored transaction is
 * charged 16 bytes. */
#include "cvm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define ID_LEN 8                      /* 'C' and 7 digits */
#define MAX_CUSTOMERS 10000000u       /* what 7 digits can number */
#define START_TIME INT64_C(1577836800) /* 2020-01-01T00:00:00Z */
#define SPAN_DAYS 731                 /* 2020-01-01 .. 2021-12-31 */
#define JITTER_SECONDS 3600           /* how far a purchase may stray from time order */
#define HDR 16                        /* counting allocator header */

/* Targets. */
#define TARGET_API_TPS 20e6
#define TARGET_CSV_MBPS 150.0
#define TARGET_CUST_BYTES 64.0
#define TARGET_TX_BYTES 16.0

_Static_assert(_Alignof(max_align_t) <= HDR, "allocator header breaks alignment");

/* ---- PRNG: splitmix64 (seeding) and xorshift64* (stream) ---- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t xorshift64s(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

/* Uniform in [0, m), m < 2^32 (Lemire's multiply; the bias is negligible). */
static uint32_t below(uint64_t *s, uint32_t m)
{
    return (uint32_t)(((xorshift64s(s) >> 32) * (uint64_t)m) >> 32);
}

/* ---- counting allocator ---- */

typedef struct counter {
    size_t cur;          /* bytes the model holds */
    size_t peak;         /* a moving realloc holds old and new at once */
    size_t peak_inplace; /* a realloc only changes the size */
    size_t calls;
} counter;

static void note(counter *k, size_t transient)
{
    if (transient > k->peak) {
        k->peak = transient;
    }
    if (k->cur > k->peak_inplace) {
        k->peak_inplace = k->cur;
    }
    if (k->cur > k->peak) {
        k->peak = k->cur;
    }
}

static void *count_alloc(void *ud, size_t n)
{
    counter *k = ud;
    unsigned char *p;
    if (n > SIZE_MAX - HDR || (p = malloc(n + HDR)) == NULL) {
        return NULL;
    }
    memcpy(p, &n, sizeof n);
    k->cur += n;
    k->calls++;
    note(k, k->cur);
    return p + HDR;
}

static void *count_realloc(void *ud, void *q, size_t n)
{
    counter *k = ud;
    unsigned char *p = (unsigned char *)q - HDR;
    size_t old;
    memcpy(&old, p, sizeof old);
    if (n > SIZE_MAX - HDR || (p = realloc(p, n + HDR)) == NULL) {
        return NULL;
    }
    memcpy(p, &n, sizeof n);
    k->calls++;
    k->cur = k->cur - old + n;
    note(k, k->cur + (n > old ? old : 0));
    return p + HDR;
}

static void count_free(void *ud, void *q)
{
    counter *k = ud;
    unsigned char *p;
    size_t n;
    if (q == NULL) {
        return;
    }
    p = (unsigned char *)q - HDR;
    memcpy(&n, p, sizeof n);
    k->cur -= n;
    free(p);
}

/* ---- helpers ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the process (one thread): with `now`, shows whether the core
 * was shared with other processes during a measurement. */
static double cpu_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
        return 0;
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

static double mb(size_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "cvm-bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static const char *verdict(int ok)
{
    return ok ? "PASS" : "FAIL";
}

static _Noreturn void die_api(const cvm_customers *c, const char *what, cvm_status st)
{
    fprintf(stderr, "cvm-bench: %s failed: %s: %s\n", what, cvm_strerror(st),
            c ? cvm_customers_errmsg(c) : "");
    exit(1);
}

/* ---- the synthetic log ---- */

typedef struct dataset {
    size_t n, customers;
    char *ids;        /* n ids of ID_LEN bytes, back to back */
    size_t *offsets;  /* n + 1: id i is ids[offsets[i] .. offsets[i + 1]) */
    int64_t *times;
    uint32_t *cents;  /* amount * 100, exactly as written to the CSV */
    double *amounts;  /* cents / 100 */
} dataset;

static void put_id(char *p, uint32_t k)
{
    int i;
    p[0] = 'C';
    for (i = 7; i >= 1; i--) {
        p[i] = (char)('0' + k % 10);
        k /= 10;
    }
}

/* Reorder the log so each customer's purchases are together, in time order,
 * customers by first purchase: how exports sorted by customer (CDNOW's files,
 * most database dumps) arrive. Counting sort on the customer number. */
static void group_by_customer(dataset *d, const uint32_t *cust)
{
    size_t *start = xmalloc((d->customers + 1) * sizeof *start), i;
    dataset g = *d;
    memset(start, 0, (d->customers + 1) * sizeof *start);
    for (i = 0; i < d->n; i++) {
        start[cust[i] + 1]++;
    }
    for (i = 0; i < d->customers; i++) {
        start[i + 1] += start[i];
    }
    g.ids = xmalloc(d->n * ID_LEN);
    g.times = xmalloc(d->n * sizeof *g.times);
    g.cents = xmalloc(d->n * sizeof *g.cents);
    g.amounts = xmalloc(d->n * sizeof *g.amounts);
    for (i = 0; i < d->n; i++) {
        size_t j = start[cust[i]]++;
        memcpy(g.ids + j * ID_LEN, d->ids + i * ID_LEN, ID_LEN);
        g.times[j] = d->times[i];
        g.cents[j] = d->cents[i];
        g.amounts[j] = d->amounts[i];
    }
    free(d->ids);
    free(d->times);
    free(d->cents);
    free(d->amounts);
    free(start);
    *d = g;
}

static void generate(dataset *d, size_t n, size_t customers, int grouped)
{
    uint32_t *cust = xmalloc(n * sizeof *cust);
    uint64_t seed = UINT64_C(20200101), rng;
    const uint64_t span = (uint64_t)SPAN_DAYS * 86400u - JITTER_SECONDS;
    size_t i, next_new = 0;
    uint32_t seen = 0;
    d->n = n;
    d->customers = customers;
    d->ids = xmalloc(n * ID_LEN);
    d->offsets = xmalloc((n + 1) * sizeof *d->offsets);
    d->times = xmalloc(n * sizeof *d->times);
    d->cents = xmalloc(n * sizeof *d->cents);
    d->amounts = xmalloc(n * sizeof *d->amounts);
    rng = splitmix64(&seed) | 1;
    for (i = 0; i < n; i++) {
        uint32_t k, cents;
        uint64_t r;
        if (i == next_new && seen < customers) {
            k = seen++;
            /* The next customer's first purchase: floor(seen * n / customers). */
            next_new = (size_t)((uint64_t)seen * n / customers);
        } else {
            k = below(&rng, seen);
        }
        put_id(d->ids + i * ID_LEN, k);
        cust[i] = k;
        d->offsets[i] = i * ID_LEN;
        d->times[i] = START_TIME + (int64_t)((uint64_t)i * span / n) +
                      (int64_t)below(&rng, JITTER_SECONDS);
        /* Mostly $5-$45, one in eight a bigger basket up to $245. */
        r = xorshift64s(&rng);
        cents = 500u + (uint32_t)(r % 4000u);
        if (((r >> 32) & 7u) == 0) {
            cents += (uint32_t)((r >> 35) % 20000u);
        }
        d->cents[i] = cents;
        d->amounts[i] = (double)cents / 100.0;
    }
    d->offsets[n] = n * ID_LEN;
    if (grouped) {
        group_by_customer(d, cust);
    }
    free(cust);
}

static void dataset_free(dataset *d)
{
    free(d->ids);
    free(d->offsets);
    free(d->times);
    free(d->cents);
    free(d->amounts);
}

/* ---- CSV writing ---- */

/* Howard Hinnant's civil_from_days for days since 1970-01-01 (days >= 0). */
static void civil(int64_t days, unsigned *y, unsigned *m, unsigned *dd)
{
    int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    *dd = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = (unsigned)(yoe + era * 400 + (*m <= 2));
}

static char *put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

static char *put_uint(char *p, unsigned v)
{
    char tmp[12];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k) {
        *p++ = tmp[--k];
    }
    return p;
}

/* "C0000123,2020-01-01T08:15:00,12.34\n" */
static char *put_row(char *p, const dataset *d, size_t i)
{
    int64_t t = d->times[i], days = t / 86400, sod = t % 86400;
    unsigned y, m, dd;
    civil(days, &y, &m, &dd);
    memcpy(p, d->ids + d->offsets[i], ID_LEN);
    p += ID_LEN;
    *p++ = ',';
    p = put2(p, y / 100);
    p = put2(p, y % 100);
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    p = put2(p, dd);
    *p++ = 'T';
    p = put2(p, (unsigned)(sod / 3600));
    *p++ = ':';
    p = put2(p, (unsigned)(sod / 60 % 60));
    *p++ = ':';
    p = put2(p, (unsigned)(sod % 60));
    *p++ = ',';
    p = put_uint(p, d->cents[i] / 100);
    *p++ = '.';
    p = put2(p, d->cents[i] % 100);
    *p++ = '\n';
    return p;
}

/* Write the log to a new temporary file; its path goes to `path`. Returns the
 * file size, or 0 on failure (with a message on stderr). */
static size_t write_csv(const dataset *d, char *path, size_t pathlen)
{
    enum { BUF = 1 << 20, ROW_MAX = 64 };
    const char *dir = getenv("TMPDIR");
    char *buf, *p;
    size_t i, total = 0, want = 0;
    FILE *fp;
    int fd;
    if (dir == NULL || *dir == '\0') {
        dir = "/tmp";
    }
    if ((size_t)snprintf(path, pathlen, "%s/cvm-bench-XXXXXX", dir) >= pathlen) {
        fprintf(stderr, "cvm-bench: TMPDIR path too long\n");
        return 0;
    }
    fd = mkstemp(path);
    if (fd < 0 || (fp = fdopen(fd, "wb")) == NULL) {
        fprintf(stderr, "cvm-bench: cannot create %s: %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            remove(path);
        }
        return 0;
    }
    buf = xmalloc(BUF);
    p = buf;
    p += snprintf(p, ROW_MAX, "id,date,amount\n");
    for (i = 0; i < d->n; i++) {
        if ((size_t)(p - buf) > BUF - ROW_MAX) {
            want += (size_t)(p - buf);
            total += fwrite(buf, 1, (size_t)(p - buf), fp);
            p = buf;
        }
        p = put_row(p, d, i);
    }
    want += (size_t)(p - buf);
    total += fwrite(buf, 1, (size_t)(p - buf), fp);
    free(buf);
    if (fclose(fp) != 0 || total != want) {
        fprintf(stderr, "cvm-bench: cannot write %s: %s\n", path, strerror(errno));
        remove(path);
        return 0;
    }
    return total;
}

/* ---- one model's results ---- */

typedef struct result {
    int ran;
    double seconds;   /* wall time (CLOCK_MONOTONIC) of the fastest run */
    double cpu;       /* CPU time of that run */
    counter mem;
    size_t end_bytes; /* held by the model once loaded (before it is freed) */
    size_t customers, transactions, rows;
    uint64_t summary_hash;
    double summary_seconds;
} result;

static cvm_customers *new_model(counter *k)
{
    cvm_customers_options o;
    cvm_allocator a;
    cvm_customers *c = NULL;
    cvm_status st;
    a.size = sizeof a;
    a.alloc = count_alloc;
    a.realloc = count_realloc;
    a.free = count_free;
    a.ud = k;
    memset(k, 0, sizeof *k);
    st = cvm_customers_options_init(&o, sizeof o);
    if (st == CVM_OK) {
        o.allocator = &a;
        st = cvm_customers_new(&c, &o);
    }
    if (st != CVM_OK) {
        die_api(NULL, "cvm_customers_new", st);
    }
    return c;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i;
    for (i = 0; i < n; i++) {
        h = (h ^ s[i]) * UINT64_C(0x100000001B3);
    }
    return h;
}

/* Time the four calibration summary columns; hash them to compare models. */
static void summarize(cvm_customers *c, result *r)
{
    static const int32_t cols[4] = {CVM_COL_FREQUENCY, CVM_COL_RECENCY, CVM_COL_T,
                                    CVM_COL_MONETARY};
    size_t rows = cvm_customers_summary_rows(c), j;
    double *out[4], t0;
    uint64_t h = UINT64_C(0xCBF29CE484222325);
    for (j = 0; j < 4; j++) {
        out[j] = xmalloc(rows * sizeof(double));
        memset(out[j], 0, rows * sizeof(double)); /* fault the pages in outside the timing */
    }
    t0 = now();
    for (j = 0; j < 4; j++) {
        cvm_status st = cvm_customers_summary(c, NULL, cols[j], out[j], rows);
        if (st != CVM_OK) {
            die_api(c, "cvm_customers_summary", st);
        }
    }
    t0 = now() - t0;
    if (r->summary_seconds <= 0 || t0 < r->summary_seconds) {
        r->summary_seconds = t0;
    }
    for (j = 0; j < 4; j++) {
        h = fnv(h, out[j], rows * sizeof(double));
        free(out[j]);
    }
    r->rows = rows;
    r->summary_hash = h;
}

/* Record a run's figures; with --repeat the fastest time is kept. */
static void finish(cvm_customers *c, result *r, double seconds, double cpu)
{
    if (!r->ran || seconds < r->seconds) {
        r->seconds = seconds;
        r->cpu = cpu;
    }
    r->ran = 1;
    r->end_bytes = r->mem.cur;
    r->customers = cvm_customers_count(c);
    r->transactions = cvm_customers_transactions(c);
    summarize(c, r);
}

static void run_batch(const dataset *d, size_t batch, result *r)
{
    cvm_customers *c = new_model(&r->mem);
    size_t i;
    double t0 = now(), c0 = cpu_now(), t;
    for (i = 0; i < d->n; i += batch) {
        size_t k = d->n - i < batch ? d->n - i : batch;
        /* Offsets stay absolute: id j of this batch is ids[offsets[i + j]..]. */
        cvm_status st = cvm_customers_add_batch(c, d->ids, d->offsets + i, d->times + i,
                                                d->amounts + i, k);
        if (st != CVM_OK) {
            die_api(c, "cvm_customers_add_batch", st);
        }
    }
    t = now() - t0;
    finish(c, r, t, cpu_now() - c0);
    cvm_customers_free(c);
}

static void run_single(const dataset *d, result *r)
{
    cvm_customers *c = new_model(&r->mem);
    size_t i;
    double t0 = now(), c0 = cpu_now(), t;
    for (i = 0; i < d->n; i++) {
        cvm_status st = cvm_customers_add(c, d->ids + d->offsets[i], ID_LEN, d->times[i],
                                          d->amounts[i]);
        if (st != CVM_OK) {
            die_api(c, "cvm_customers_add", st);
        }
    }
    t = now() - t0;
    finish(c, r, t, cpu_now() - c0);
    cvm_customers_free(c);
}

static int run_csv(const dataset *d, size_t repeat, result *r, size_t *bytes,
                   double *write_seconds)
{
    char path[4096];
    cvm_csv_options o;
    cvm_status st;
    size_t k;
    double t0 = now();
    *bytes = write_csv(d, path, sizeof path);
    *write_seconds = now() - t0;
    if (*bytes == 0) {
        return 0;
    }
    st = cvm_csv_options_init(&o, sizeof o);
    for (k = 0; k < repeat; k++) {
        cvm_customers *c = new_model(&r->mem);
        double t = 0, c0 = cpu_now();
        if (st == CVM_OK) {
            t0 = now();
            st = cvm_customers_load_csv(c, path, &o);
            t = now() - t0;
        }
        if (st != CVM_OK) {
            remove(path);
            die_api(c, "cvm_customers_load_csv", st);
        }
        finish(c, r, t, cpu_now() - c0);
        cvm_customers_free(c);
    }
    remove(path);
    return 1;
}

/* ---- reporting ---- */

static void print_speed(const char *name, const result *r, size_t n, double bytes, int target)
{
    double tps = (double)n / r->seconds;
    printf("  %-20s %8.3f %4.0f%% %9.2f M/s", name, r->seconds, 100.0 * r->cpu / r->seconds,
           tps / 1e6);
    if (bytes > 0) {
        double mbps = bytes / 1e6 / r->seconds;
        printf(" %9.1f MB/s   >= %.0f MB/s      %s\n", mbps, TARGET_CSV_MBPS,
               verdict(mbps >= TARGET_CSV_MBPS));
    } else if (target) {
        printf(" %14s   >= %.0f M tx/s     %s\n", "", TARGET_API_TPS / 1e6,
               verdict(tps >= TARGET_API_TPS));
    } else {
        printf("\n");
    }
}

static void print_memory(const char *name, const result *r)
{
    double cust = r->customers ? (double)r->customers : 1;
    double tx = r->transactions ? (double)r->transactions : 1;
    double end = (double)r->end_bytes;
    double per_cust = (end - 16.0 * (double)r->transactions) / cust;
    printf("  %-10s %9.1f %9.1f %9.1f %9.1f %11.1f %9.2f   %s\n", name, mb(r->end_bytes),
           mb(r->mem.peak), mb(r->mem.peak_inplace), end / cust, per_cust, end / tx,
           verdict(per_cust <= TARGET_CUST_BYTES));
}

static int parse_count(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-') {
        return 0;
    }
    if (*end == 'k' || *end == 'K') {
        v *= 1000u;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        v *= 1000000u;
        end++;
    }
    if (*end != '\0' || v > SIZE_MAX / 64) {
        return 0;
    }
    *out = (size_t)v;
    return 1;
}

static int usage(int rc)
{
    fprintf(rc ? stderr : stdout,
            "usage: cvm-bench [--transactions N] [--customers N] [--batch N] [--repeat N]"
            " [--csv-only | --api-only] [--grouped]\n"
            "  defaults: 10M transactions, 1M customers, batches of 65536, 1 run per path\n"
            "  (--repeat N: the fastest of N runs); N takes a k or M suffix\n"
            "  --grouped: each customer's purchases together (a log sorted by customer)\n"
            "  instead of customers interleaved in time order\n");
    return rc;
}

int main(int argc, char **argv)
{
    size_t n = 10000000, customers = 1000000, batch = 65536, repeat = 1, csv_bytes = 0, run;
    int api = 1, csv = 1, grouped = 0, i;
    double t0, gen_seconds, write_seconds = 0;
    size_t input_bytes;
    dataset d;
    result rb, rs, rc;
    memset(&rb, 0, sizeof rb);
    memset(&rs, 0, sizeof rs);
    memset(&rc, 0, sizeof rc);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t *target = NULL;
        if (strcmp(a, "--transactions") == 0) {
            target = &n;
        } else if (strcmp(a, "--customers") == 0) {
            target = &customers;
        } else if (strcmp(a, "--batch") == 0) {
            target = &batch;
        } else if (strcmp(a, "--repeat") == 0) {
            target = &repeat;
        } else if (strcmp(a, "--csv-only") == 0) {
            api = 0;
            csv = 1;
        } else if (strcmp(a, "--api-only") == 0) {
            api = 1;
            csv = 0;
        } else if (strcmp(a, "--grouped") == 0) {
            grouped = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return usage(0);
        } else {
            fprintf(stderr, "cvm-bench: unknown argument '%s'\n", a);
            return usage(2);
        }
        if (target != NULL && (i + 1 >= argc || !parse_count(argv[++i], target))) {
            fprintf(stderr, "cvm-bench: %s needs a count\n", a);
            return usage(2);
        }
    }
    if (customers < 1 || customers > MAX_CUSTOMERS || n < customers || batch < 1 || repeat < 1) {
        fprintf(stderr, "cvm-bench: need 1 <= customers <= min(transactions, %u), batch >= 1,"
                " repeat >= 1\n", MAX_CUSTOMERS);
        return 2;
    }

    t0 = now();
    generate(&d, n, customers, grouped);
    gen_seconds = now() - t0;
    input_bytes = n * (ID_LEN + sizeof(size_t) + sizeof(int64_t) + sizeof(double) +
                       sizeof(uint32_t));
    printf("libcvm %s benchmark: %zu transactions, %zu customers, %s, one core%s\n",
           CVM_VERSION_STRING, n, customers,
           grouped ? "grouped by customer" : "customers interleaved in time order",
           repeat > 1 ? ", fastest of repeated runs" : "");
    printf("input: generated in %.2f s, %.0f MiB of arrays (ids, offsets, times, amounts)\n",
           gen_seconds, mb(input_bytes));

    if (api) {
        for (run = 0; run < repeat; run++) {
            run_batch(&d, batch, &rb);
            run_single(&d, &rs);
        }
    }
    if (csv && !run_csv(&d, repeat, &rc, &csv_bytes, &write_seconds)) {
        dataset_free(&d);
        return 1;
    }

    printf("\nthroughput (wall)     seconds  cpu  transactions     bandwidth   target           result\n");
    if (rb.ran) {
        char name[40];
        snprintf(name, sizeof name, "add_batch (%zu)", batch);
        print_speed(name, &rb, n, 0, 1);
        print_speed("add (per event)", &rs, n, 0, 1);
    }
    if (rc.ran) {
        print_speed("load_csv", &rc, n, (double)csv_bytes, 0);
        printf("  (CSV: %.1f MB, %.1f bytes/row, written in %.2f s, read from the page cache)\n",
               (double)csv_bytes / 1e6, (double)csv_bytes / (double)n, write_seconds);
    }

    printf("\nsummary (frequency, recency, T, monetary)\n");
    {
        const result *all[3];
        const char *names[3] = {"add_batch", "add", "load_csv"};
        int k, first = -1, same = 1;
        all[0] = &rb;
        all[1] = &rs;
        all[2] = &rc;
        for (k = 0; k < 3; k++) {
            if (!all[k]->ran) {
                continue;
            }
            printf("  %-10s %zu rows in %7.2f ms  (%6.1f M values/s)  customers %zu,"
                   " transactions %zu, hash %016llx\n",
                   names[k], all[k]->rows, all[k]->summary_seconds * 1e3,
                   4.0 * (double)all[k]->rows / all[k]->summary_seconds / 1e6,
                   all[k]->customers, all[k]->transactions,
                   (unsigned long long)all[k]->summary_hash);
            if (first < 0) {
                first = k;
            } else if (all[k]->summary_hash != all[first]->summary_hash ||
                       all[k]->customers != all[first]->customers ||
                       all[k]->transactions != all[first]->transactions) {
                same = 0;
            }
        }
        printf("  models agree: %s\n", same ? "yes" : "NO (summaries differ)");
    }

    printf("\nmemory (model's allocations)       MiB                 bytes/    B/cust after   bytes/   "
           "<= %.0f B/cust + %.0f B/tx\n", TARGET_CUST_BYTES, TARGET_TX_BYTES);
    printf("  %-10s %9s %9s %9s %9s %11s %9s\n", "model", "end", "peak", "peak-inpl",
           "customer", "16 B/tx", "tx");
    if (rb.ran) {
        print_memory("add_batch", &rb);
        print_memory("add", &rs);
    }
    if (rc.ran) {
        print_memory("load_csv", &rc);
    }
    printf("  process peak RSS: %.1f MiB (includes the %.0f MiB of input arrays)\n", peak_rss_mb(),
           mb(input_bytes));
    dataset_free(&d);
    return 0;
}
