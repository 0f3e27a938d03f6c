/* libcvm — common definitions: status codes, export macro, allocator, time. */
#ifndef CVM_COMMON_H
#define CVM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CVM_API marks exported functions. Building the DLL defines CVM_BUILDING;
 * users of a static Windows build define CVM_STATIC. */
#if defined(_WIN32) && !defined(CVM_STATIC)
#  ifdef CVM_BUILDING
#    define CVM_API __declspec(dllexport)
#  else
#    define CVM_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define CVM_API __attribute__((visibility("default")))
#else
#  define CVM_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define CVM_DEPRECATED(msg) __attribute__((deprecated(msg)))
#elif defined(_MSC_VER)
#  define CVM_DEPRECATED(msg) __declspec(deprecated(msg))
#else
#  define CVM_DEPRECATED(msg)
#endif

/* Status codes. Values are part of the ABI: never renumber or reuse one;
 * a retired value stays as a placeholder. */
typedef enum cvm_status {
    CVM_OK = 0,
    CVM_E_INVALID = 1,        /* misuse: NULL handle or pointer, bad argument */
    CVM_E_NOMEM = 2,          /* an allocation failed */
    CVM_E_ABI = 3,            /* options struct of an unknown size or with nonzero unknown fields */
    CVM_E_IO = 4,             /* a file could not be opened, read, written or renamed */
    CVM_E_PARSE = 5,          /* malformed text: CSV syntax, a number, a date */
    CVM_E_RANGE = 6,          /* a value out of range: NaN, infinite, negative, too large */
    CVM_E_NOT_FOUND = 7,      /* an unknown id, column or index */
    CVM_E_EMPTY = 8,          /* no data where some is required */
    CVM_E_FORMAT = 9,         /* not a valid snapshot: bad magic, version or layout, truncated,
                                 or a checksum that does not match */
    /* 10 is unused: before 0.1.0 it told checksum failures apart from CVM_E_FORMAT. */
    CVM_E_NOT_CONVERGED = 11, /* an iterative method stopped before converging */
    CVM_E_MISMATCH = 12,      /* two objects that cannot be combined (different settings) */
    CVM_E_NOCONVERGE = CVM_E_NOT_CONVERGED /* the same status under its shorter name */
} cvm_status;

/* A static, never-NULL English name for a status ("invalid argument"). Unknown
 * values give "unknown status". */
CVM_API const char *cvm_strerror(cvm_status status);

/* Custom memory functions. Pass a pointer to one in a handle's options; the
 * handle copies it, and handles made from it inherit it. NULL means libc.
 * All three functions must be set; `ud` is passed back untouched. `realloc`
 * follows C realloc semantics for a non-NULL `p` and `n` > 0. */
typedef struct cvm_allocator {
    size_t size; /* sizeof(cvm_allocator) */
    void *(*alloc)(void *ud, size_t n);
    void *(*realloc)(void *ud, void *p, size_t n);
    void (*free)(void *ud, void *p);
    void *ud;
} cvm_allocator;

/* Times are int64_t seconds since 1970-01-01T00:00:00Z. CVM_TIME_NONE marks an
 * unset time in options. */
#define CVM_TIME_NONE INT64_MIN
#define CVM_SECONDS_PER_DAY INT64_C(86400)

/* Parse a date or date-time ("YYYY-MM-DD", "YYYYMMDD", ISO 8601 date-time with
 * optional fraction and zone, or unix seconds with CVM_DATE_UNIX) into seconds
 * since the epoch. Returns CVM_E_PARSE when `text` is not a valid date. */
typedef enum cvm_date_format {
    CVM_DATE_AUTO = 0,     /* ISO date, ISO date-time or YYYYMMDD, decided per value */
    CVM_DATE_ISO = 1,      /* YYYY-MM-DD or YYYY-MM-DD[T ]hh:mm[:ss[.fff]][Z|+hh[:mm]|-hh[:mm]] */
    CVM_DATE_YYYYMMDD = 2, /* 8 digits */
    CVM_DATE_UNIX = 3      /* integer seconds since the epoch */
} cvm_date_format;

CVM_API cvm_status cvm_parse_time(const char *text, size_t len, int32_t format, int64_t *out);

/* Format `t` as "YYYY-MM-DD" (10 characters plus NUL) into `buf` of `n` bytes.
 * Returns CVM_E_INVALID when `n` < 11 or `t` is outside years 0..9999. */
CVM_API cvm_status cvm_format_date(char *buf, size_t n, int64_t t);

#ifdef __cplusplus
}
#endif
#endif
