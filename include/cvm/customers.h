/* libcvm — the customer model: a ledger of transactions and the per-customer
 * recency/frequency/monetary summary the CLV models are fitted on. */
#ifndef CVM_CUSTOMERS_H
#define CVM_CUSTOMERS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An opaque customer model. Threading (cvm.h): calls taking it `const` only
 * read it and may run on many threads at once; any other call needs it alone. */
typedef struct cvm_customers cvm_customers;

/* Settings fixed for the life of a model. Initialise with
 * CVM_CUSTOMERS_OPTIONS_INIT or cvm_customers_options_init(). */
typedef struct cvm_customers_options {
    size_t size;                    /* sizeof(cvm_customers_options) */
    const cvm_allocator *allocator; /* NULL: libc; copied, not borrowed */
    int64_t period_seconds;         /* purchases of one customer in one period merge (default: a day) */
    int64_t period_origin;          /* periods start at origin + k * period (default 0: UTC midnight) */
    int64_t calibration_end;        /* the calibration period ends with the period holding this time,
                                       inclusive; CVM_TIME_NONE: every purchase is calibration */
} cvm_customers_options;

#define CVM_CUSTOMERS_OPTIONS_INIT \
    { sizeof(cvm_customers_options), NULL, CVM_SECONDS_PER_DAY, 0, CVM_TIME_NONE }

/* Fill `opts` (of `size` bytes, normally sizeof *opts) with the defaults.
 * Returns CVM_E_ABI if `size` is not a size this library knows. */
CVM_API cvm_status cvm_customers_options_init(cvm_customers_options *opts, size_t size);

/* Create an empty model. `opts` NULL means defaults. On failure *out is NULL.
 * Errors: CVM_E_INVALID (out NULL, period_seconds < 1, allocator incomplete),
 * CVM_E_ABI, CVM_E_NOMEM. Free with cvm_customers_free(). */
CVM_API cvm_status cvm_customers_new(cvm_customers **out, const cvm_customers_options *opts);

/* Free a model and everything it owns. NULL is a no-op. */
CVM_API void cvm_customers_free(cvm_customers *c);

/* The detail of this handle's last failure ("data.csv:17:3: amount 'abc' is not
 * a number"), or "" if none. Borrowed: valid until the next call on `c`. */
CVM_API const char *cvm_customers_errmsg(const cvm_customers *c);

/* Record one purchase of `amount` at `time` by the customer whose id is the
 * `id_len` bytes at `id` (any bytes; 1..65535 long). Events may come in any
 * order. The customer's summary is current on return, in O(1) amortised time
 * (a purchase between a customer's first and last period leaves its period
 * count to be settled by the next read of that customer, O(k log k) once).
 * Errors: CVM_E_INVALID (NULL, empty or overlong id), CVM_E_RANGE (amount NaN,
 * infinite, negative or above 1e15; time negative, at or past 2^60 seconds, or
 * beyond 2^31 periods from the origin), CVM_E_NOMEM (also past 2^31 - 1
 * stored purchases). On any error the model is unchanged. */
CVM_API cvm_status cvm_customers_add(cvm_customers *c, const void *id, size_t id_len,
                                     int64_t time, double amount);

/* Record `n` purchases at once. Id i is the bytes id_data[id_offsets[i]] up to
 * id_data[id_offsets[i + 1]] (Arrow's layout: `id_offsets` has n + 1 entries).
 * `amounts` may be NULL (all zero). All n are checked before any is added:
 * on any error nothing is added and the message names the bad index. */
CVM_API cvm_status cvm_customers_add_batch(cvm_customers *c, const char *id_data,
                                           const size_t *id_offsets, const int64_t *times,
                                           const double *amounts, size_t n);

/* How a transaction CSV is read. Columns are 1-based indices or header names;
 * a name wins over an index. Initialise with CVM_CSV_OPTIONS_INIT or
 * cvm_csv_options_init(). */
typedef struct cvm_csv_options {
    size_t size;             /* sizeof(cvm_csv_options) */
    const char *id_column;   /* header name of the id column, or NULL */
    const char *date_column; /* header name of the date column, or NULL */
    const char *amount_column; /* header name of the amount column, or NULL */
    int32_t id_index;        /* 1-based; default 1 */
    int32_t date_index;      /* 1-based; default 2 */
    int32_t amount_index;    /* 1-based; default 3; 0: no amount column (amounts are 0) */
    int32_t date_format;     /* a cvm_date_format; default CVM_DATE_AUTO */
    int32_t delimiter;       /* one byte; default ',' */
    int32_t whitespace;      /* 1: fields are separated by runs of blanks, no quoting */
    int32_t has_header;      /* 1 (default): the first record names the columns */
    int32_t reserved;        /* must be 0 */
} cvm_csv_options;

#define CVM_CSV_OPTIONS_INIT \
    { sizeof(cvm_csv_options), NULL, NULL, NULL, 1, 2, 3, CVM_DATE_AUTO, ',', 0, 1, 0 }

/* Fill `opts` with the defaults. Returns CVM_E_ABI for an unknown `size`. */
CVM_API cvm_status cvm_csv_options_init(cvm_csv_options *opts, size_t size);

/* Add every transaction of the CSV file at `path` (RFC 4180 quoting, LF or
 * CRLF). All or nothing: on any error the model is left as it was and the
 * message names file, line, column and problem. Blank lines are skipped.
 * Errors: CVM_E_IO, CVM_E_PARSE, CVM_E_RANGE, CVM_E_NOT_FOUND (a named column
 * missing from the header), CVM_E_EMPTY (no transaction), CVM_E_NOMEM. */
CVM_API cvm_status cvm_customers_load_csv(cvm_customers *c, const char *path,
                                          const cvm_csv_options *opts);

/* As cvm_customers_load_csv() on `len` bytes in memory; `name` (may be NULL)
 * stands for the file name in messages. */
CVM_API cvm_status cvm_customers_load_csv_buffer(cvm_customers *c, const char *data, size_t len,
                                                 const char *name, const cvm_csv_options *opts);

/* Number of distinct customers ever added; indices run 0..count-1 in order of
 * first appearance and never change. */
CVM_API size_t cvm_customers_count(const cvm_customers *c);

/* Number of stored transactions (before same-period merging). */
CVM_API size_t cvm_customers_transactions(const cvm_customers *c);

/* Index of the customer with the given id. CVM_E_NOT_FOUND if unknown. */
CVM_API cvm_status cvm_customers_find(const cvm_customers *c, const void *id, size_t id_len,
                                      size_t *index);

/* The id bytes of customer `index` (not NUL-terminated). Borrowed: valid until
 * the next mutating call. CVM_E_NOT_FOUND if index >= count. */
CVM_API cvm_status cvm_customers_id(const cvm_customers *c, size_t index, const char **id,
                                    size_t *id_len);

/* Summary columns, with the semantics of lifetimes and the BTYD literature. */
typedef enum cvm_column {
    CVM_COL_FREQUENCY = 0,          /* x: repeat purchase periods in calibration */
    CVM_COL_RECENCY = 1,            /* t_x: first to last calibration purchase */
    CVM_COL_T = 2,                  /* T: first purchase to calibration end */
    CVM_COL_MONETARY = 3,           /* mean amount of the repeat periods (0 if x = 0) */
    CVM_COL_FREQUENCY_HOLDOUT = 4,  /* purchase periods in (calibration end, observation end] */
    CVM_COL_MONETARY_HOLDOUT = 5,   /* their mean amount (0 if none) */
    CVM_COL_DURATION_HOLDOUT = 6,   /* observation end - calibration end */
    CVM_COL_COUNT = 7
} cvm_column;

/* How summary values are expressed. */
typedef struct cvm_summary_options {
    size_t size;             /* sizeof(cvm_summary_options) */
    int64_t unit_seconds;    /* time unit of recency, T and duration (default: a day; a week is 604800) */
    int64_t observation_end; /* end of the holdout, inclusive like calibration_end;
                                CVM_TIME_NONE: no holdout (holdout columns are 0) */
} cvm_summary_options;

#define CVM_SUMMARY_OPTIONS_INIT { sizeof(cvm_summary_options), CVM_SECONDS_PER_DAY, CVM_TIME_NONE }

/* Fill `opts` with the defaults. Returns CVM_E_ABI for an unknown `size`. */
CVM_API cvm_status cvm_summary_options_init(cvm_summary_options *opts, size_t size);

/* Number of summary rows: customers with a purchase on or before the
 * calibration end (all customers when there is none). T is measured to the
 * calibration end, or without one to the latest period in the model. */
CVM_API size_t cvm_customers_summary_rows(const cvm_customers *c);

/* Fill `out` (n doubles, n == cvm_customers_summary_rows()) with column `column`
 * for every summary row, in customer-index order. `opts` NULL: defaults.
 * Errors: CVM_E_INVALID (bad column or n), CVM_E_RANGE (observation end before
 * calibration end, or a holdout without a calibration end), CVM_E_NOMEM. */
CVM_API cvm_status cvm_customers_summary(cvm_customers *c, const cvm_summary_options *opts,
                                         int32_t column, double *out, size_t n);

/* Fill `out` (n entries, n == cvm_customers_summary_rows()) with the customer
 * index of every summary row, ascending. */
CVM_API cvm_status cvm_customers_summary_index(const cvm_customers *c, size_t *out, size_t n);

/* One customer's summary: columns 0..ncols-1 (ncols <= CVM_COL_COUNT) into
 * `out`. O(1) for the calibration columns; the holdout columns cost O(k) in
 * the customer's k purchases. CVM_E_NOT_FOUND for an unknown index or a
 * customer whose first purchase is after the calibration end. */
CVM_API cvm_status cvm_customers_row(cvm_customers *c, size_t index,
                                     const cvm_summary_options *opts, double *out, size_t ncols);

/* Write the whole model to `path` as a checksummed snapshot, through a
 * temporary file renamed into place: a failed save leaves any previous file
 * intact. Errors: CVM_E_IO, CVM_E_NOMEM. */
CVM_API cvm_status cvm_customers_save(cvm_customers *c, const char *path);

/* Read a model saved by cvm_customers_save(). `opts` supplies only the
 * allocator (NULL: libc); the other settings come from the file. On failure
 * *out is NULL and, when `errbuf` is not NULL, a message naming the file and
 * problem is written to it (at most `errlen` bytes, NUL-terminated).
 * Errors: CVM_E_IO, CVM_E_FORMAT (bad magic or version, truncated, damaged:
 * a checksum fails, inconsistent contents), CVM_E_NOMEM. */
CVM_API cvm_status cvm_customers_load(cvm_customers **out, const char *path,
                                      const cvm_customers_options *opts, char *errbuf,
                                      size_t errlen);

/* Cumulative repeat purchases over time, the "tracking" curve of the BTYD
 * literature: out[j] = number of purchase periods, other than each customer's
 * first, that start before start + (j + 1) * unit_seconds, for j = 0..n-1.
 * Compare with cvm_clv_tracking(). Errors: CVM_E_INVALID (NULL, unit_seconds
 * < 1), CVM_E_RANGE (start beyond +-2^60 s), CVM_E_NOMEM. */
CVM_API cvm_status cvm_customers_repeat_curve(cvm_customers *c, int64_t start,
                                              int64_t unit_seconds, double *out, size_t n);

/* Add every transaction of `src` to `dst`, as if they had been added to `dst`
 * directly: merging shards of one log gives the model of the whole log. `src`
 * is not changed. All or nothing. Errors: CVM_E_MISMATCH (different period,
 * origin or calibration end), CVM_E_NOMEM. */
CVM_API cvm_status cvm_customers_merge(cvm_customers *dst, const cvm_customers *src);

#ifdef __cplusplus
}
#endif
#endif
