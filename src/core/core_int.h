/* libcvm core internals shared by every module: memory, options, error text,
 * growable arrays, id table, CSV reader, number and date parsing, snapshot
 * files, CRC-32 and the PRNG. Nothing here is exported. */
#ifndef CVM_CORE_INT_H
#define CVM_CORE_INT_H

#include "cvm/common.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- memory (alloc.c) ------------------------------------------------- */

/* Copy `src` into `dst`, or libc's functions when `src` is NULL.
 * CVM_E_INVALID if `src` has a bad size or a NULL function. */
cvm_status cvm__allocator_copy(cvm_allocator *dst, const cvm_allocator *src);
void *cvm__alloc(const cvm_allocator *a, size_t n);
/* `count` * `size` bytes, zeroed; NULL on overflow or failure. */
void *cvm__calloc(const cvm_allocator *a, size_t count, size_t size);
void *cvm__realloc(const cvm_allocator *a, void *p, size_t n);
void cvm__free(const cvm_allocator *a, void *p);
/* A NUL-terminated copy of `n` bytes at `s`. */
char *cvm__strndup(const cvm_allocator *a, const char *s, size_t n);

/* ---- options structs (options.c) -------------------------------------- */

/* Accept a caller's options struct `src` (its first field is its size):
 * sizes from `v1_size` up to 4096 bytes; bytes past `cur_size` must be zero.
 * Copies min(size, cur_size) bytes over `dst`, which holds the defaults.
 * Returns CVM_E_ABI otherwise. `src` NULL leaves the defaults. */
cvm_status cvm__options_copy(void *dst, size_t cur_size, const void *src, size_t v1_size);
/* The body of every cvm_X_options_init(opts, size): `size` bytes at `opts`
 * get `defaults` (our `cur_size` bytes; zeros past them) and the size field
 * says `size`. Sizes from `v1_size` to 4096. CVM_E_INVALID for NULL. */
cvm_status cvm__options_init(void *opts, size_t size, const void *defaults, size_t cur_size,
                             size_t v1_size);

/* ---- error text (errmsg.c) -------------------------------------------- */

#define CVM__ERRMSG_LEN 512

#if defined(__GNUC__) || defined(__clang__)
#  define CVM__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define CVM__PRINTF(f, a)
#endif

/* snprintf into `buf` (`n` bytes, truncating) and return `status`. */
cvm_status cvm__errf(char *buf, size_t n, cvm_status status, const char *fmt, ...) CVM__PRINTF(4, 5);
cvm_status cvm__verrf(char *buf, size_t n, cvm_status status, const char *fmt, va_list ap)
    CVM__PRINTF(4, 0);

/* Write `n` bytes of `s` into `buf` (`len` bytes) for a message: printable
 * ASCII kept, others as \xHH, cut with "..." past 40 characters. */
void cvm__quote(char *buf, size_t len, const char *s, size_t n);

/* ---- files (fileio.c) ------------------------------------------------- */

/* errno's text, thread-safely, in `buf`. */
const char *cvm__strerror(int e, char *buf, size_t n);
/* mkstemp() for a file that will replace another: `tmpl` ends in XXXXXX;
 * the file is created with mode 0666 less the umask, as fopen() would. */
int cvm__mkstemp_public(char *tmpl);

/* ---- growable arrays (vec.c) ------------------------------------------ */

typedef struct cvm__vec {
    void *data;
    size_t len; /* elements in use */
    size_t cap; /* elements allocated */
} cvm__vec;

/* Make room for at least `need` elements of `elem` bytes (grows by 1.25x).
 * CVM_E_NOMEM on overflow or failure; the vector is then unchanged. */
cvm_status cvm__vec_reserve(cvm__vec *v, const cvm_allocator *a, size_t elem, size_t need);
void cvm__vec_free(cvm__vec *v, const cvm_allocator *a);

/* ---- id table (idtable.c) --------------------------------------------- */

/* Maps byte-string ids to dense indices 0..count-1 in insertion order, and
 * keeps one fixed-size record per id for its owner (the customer model keeps
 * its summary there). A record starts with the id's 8-byte id word: an id of
 * at most 8 bytes that neither starts nor ends with a NUL byte is the word
 * itself (zero-padded), so looking it up touches only its slot and its
 * record; any other id lives in a byte arena the word points to. Open
 * addressing with linear probing; records in fixed blocks; no allocation per
 * id. */
#define CVM__ID_BLOCK_BITS 14
#define CVM__ID_BLOCK ((size_t)1 << CVM__ID_BLOCK_BITS)
#define CVM__ID_MAX_LEN 65535u

typedef struct cvm__idtable {
    uint64_t *slots;  /* (hash high 32 bits << 32) | (index + 1); 0 = empty */
    size_t mask;      /* slot count - 1 (a power of two), 0 before the first insert */
    size_t count;     /* ids */
    size_t stride;    /* bytes per record, a multiple of 8, at least 8 */
    cvm__vec blocks;  /* unsigned char *: CVM__ID_BLOCK records each */
    cvm__vec bytes;   /* char: the ids that are not inline, back to back */
} cvm__idtable;

/* An empty table whose records are `stride` bytes (a multiple of 8, >= 8). */
void cvm__idtable_init(cvm__idtable *t, size_t stride);
uint64_t cvm__hash_bytes(const void *p, size_t n);

/* The record of id `index` (< count): its first 8 bytes are the id word,
 * the rest belong to the owner and start zeroed. */
static inline void *cvm__idtable_record(const cvm__idtable *t, size_t index)
{
    unsigned char *const *blocks = t->blocks.data;
    return blocks[index >> CVM__ID_BLOCK_BITS] + (index & (CVM__ID_BLOCK - 1)) * t->stride;
}

/* Index of the id, or SIZE_MAX when absent. `hash` is cvm__hash_bytes(id). */
size_t cvm__idtable_find(const cvm__idtable *t, const void *id, size_t len, uint64_t hash);
/* Index of the id (1..CVM__ID_MAX_LEN bytes), inserting it when absent
 * (*created = 1, its record zeroed past the id word). */
cvm_status cvm__idtable_intern(cvm__idtable *t, const cvm_allocator *a, const void *id, size_t len,
                               uint64_t hash, size_t *index, int *created);
size_t cvm__idtable_count(const cvm__idtable *t);
/* The bytes of id `index`, borrowed until the table changes. */
const char *cvm__idtable_get(const cvm__idtable *t, size_t index, size_t *len);
/* Forget every id with index >= `count` (undoes the latest inserts). */
void cvm__idtable_truncate(cvm__idtable *t, size_t count);
void cvm__idtable_free(cvm__idtable *t, const cvm_allocator *a);
/* The index in the first slot whose tag matches `hash`, unverified, or
 * SIZE_MAX: lets a pipelined caller prefetch the record before the lookup. */
size_t cvm__idtable_candidate(const cvm__idtable *t, uint64_t hash);
/* Hint the CPU to fetch the slot this hash starts probing at. */
void cvm__idtable_prefetch(const cvm__idtable *t, uint64_t hash);

/* ---- number and date parsing (parse.c, time.c) ------------------------ */

/* A decimal floating-point number (optional sign, digits, fraction, exponent;
 * no surrounding blanks), independent of the C locale. "nan"/"inf" parse to
 * NaN/inf so callers can name the problem. CVM_E_PARSE otherwise. */
cvm_status cvm__parse_double(const char *s, size_t n, double *out);
/* An optional sign and decimal digits, without overflow. CVM_E_PARSE/RANGE. */
cvm_status cvm__parse_int64(const char *s, size_t n, int64_t *out);
/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm). */
int64_t cvm__days_from_civil(int64_t y, unsigned m, unsigned d);
void cvm__civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* Floor division (rounds toward -inf); d > 0. */
int64_t cvm__floor_div(int64_t a, int64_t d);

/* ---- CSV reader (csv.c) ----------------------------------------------- */

typedef struct cvm__csv cvm__csv;

typedef struct cvm__csv_field {
    const char *ptr; /* not NUL-terminated; quotes removed, "" unescaped */
    size_t len;
    uint32_t column; /* 1-based byte column where the field starts, for messages */
} cvm__csv_field;

/* Files are read in chunks of this size (tests place records across it).
 * The fuzzing build (tests/fuzz) makes it tiny so that short inputs cross
 * chunk boundaries. */
#ifndef CVM__CSV_CHUNK
#define CVM__CSV_CHUNK ((size_t)1 << 20)
#endif
/* Longest record accepted, in bytes; longer ones are a CVM_E_PARSE error. */
#define CVM__CSV_MAX_RECORD ((size_t)1 << 20)

/* Open a reader on a file (read in chunks, never whole) or on a buffer (not
 * copied; must outlive the reader). `delimiter` is one byte; `whitespace`
 * nonzero splits on runs of spaces and tabs, ignores leading and trailing
 * blanks and disables quoting. `name` is used in messages ("name:line:col:").
 * On failure *out is NULL and `err` holds the message. */
cvm_status cvm__csv_open_file(cvm__csv **out, const cvm_allocator *a, const char *path,
                              char delimiter, int whitespace, char *err, size_t errlen);
cvm_status cvm__csv_open_buffer(cvm__csv **out, const cvm_allocator *a, const char *data,
                                size_t len, const char *name, char delimiter, int whitespace,
                                char *err, size_t errlen);

/* Read the next record, skipping blank lines. On CVM_OK, *fields points at
 * *nfields fields valid until the next call, or *nfields is 0 at end of
 * input. Errors (with "name:line:col: problem" in `err`): CVM_E_PARSE for an
 * unterminated quote, text after a closing quote, a NUL byte, a record longer
 * than CVM__CSV_MAX_RECORD; CVM_E_IO for a read error; CVM_E_NOMEM. */
cvm_status cvm__csv_next(cvm__csv *r, const cvm__csv_field **fields, size_t *nfields, char *err,
                         size_t errlen);

/* Line number (1-based) where the last record returned starts. */
uint64_t cvm__csv_line(const cvm__csv *r);
/* The name given at open (the path for files). */
const char *cvm__csv_name(const cvm__csv *r);
/* Bytes consumed so far. */
uint64_t cvm__csv_offset(const cvm__csv *r);
void cvm__csv_close(cvm__csv *r);

/* ---- CRC-32 (crc32.c) ------------------------------------------------- */

/* zlib's CRC-32 (polynomial 0xEDB88320): crc = cvm__crc32(0, p, n) and chained
 * crc = cvm__crc32(crc, more, m). cvm__crc32(0, "123456789", 9) == 0xCBF43926. */
uint32_t cvm__crc32(uint32_t crc, const void *p, size_t n);

/* ---- little-endian encoding (snapshot.c) ------------------------------ */

void cvm__put_u32(unsigned char *p, uint32_t v);
void cvm__put_u64(unsigned char *p, uint64_t v);
uint32_t cvm__get_u32(const unsigned char *p);
uint64_t cvm__get_u64(const unsigned char *p);
/* A double as its IEEE-754 bits, little-endian (snapshots store them so). */
void cvm__put_f64(unsigned char *p, double v);
double cvm__get_f64(const unsigned char *p);

/* ---- snapshot files (snapshot.c) -------------------------------------- */

/* File layout, all integers little-endian:
 *   header  "CVMSNAP\0", u32 format version, u32 kind, u32 flags (0), u32 header CRC
 *   section u32 tag, u32 0, u64 length, payload, u32 CRC of tag+0+length+payload
 *   end     a section with tag CVM__SNAP_END and length 0
 * Unknown tags are skipped by readers, so later versions can add sections. */
#define CVM__SNAP_VERSION 1u
#define CVM__SNAP_END 0x21444E45u /* "END!" */

typedef struct cvm__snap_writer cvm__snap_writer;

/* Start writing a snapshot of `kind` to a temporary file beside `path`. */
cvm_status cvm__snap_create(cvm__snap_writer **out, const cvm_allocator *a, const char *path,
                            uint32_t kind, char *err, size_t errlen);
/* Start a section of exactly `len` bytes, written by cvm__snap_write() calls. */
cvm_status cvm__snap_begin(cvm__snap_writer *w, uint32_t tag, uint64_t len);
cvm_status cvm__snap_write(cvm__snap_writer *w, const void *p, size_t n);
/* Close the section: CVM_E_INVALID if the bytes written differ from `len`. */
cvm_status cvm__snap_end(cvm__snap_writer *w);
/* Write the end marker, flush, close and rename over `path`; frees `w`. On
 * failure the temporary file is removed and `path` is untouched. */
cvm_status cvm__snap_commit(cvm__snap_writer *w);
/* Remove the temporary file and free `w`. NULL is a no-op. */
void cvm__snap_abort(cvm__snap_writer *w);

typedef struct cvm__snap_reader cvm__snap_reader;

/* Read a whole snapshot file and check its magic, version, kind, every
 * section's CRC and the end marker. Errors (message in `err`, naming the
 * file): CVM_E_IO, CVM_E_FORMAT (magic, version, kind, truncation, no end
 * marker, a checksum that does not match), CVM_E_NOMEM. */
cvm_status cvm__snap_open(cvm__snap_reader **out, const cvm_allocator *a, const char *path,
                          uint32_t kind, char *err, size_t errlen);
/* The payload of the first section with `tag`; CVM_E_FORMAT (with message) if
 * absent. Borrowed until cvm__snap_close(). */
cvm_status cvm__snap_find(const cvm__snap_reader *r, uint32_t tag, const unsigned char **data,
                          uint64_t *len, char *err, size_t errlen);
void cvm__snap_close(cvm__snap_reader *r);

/* ---- PRNG (rng.c) ----------------------------------------------------- */

/* xoshiro256** seeded through splitmix64: the integer stream is the same on
 * every platform. Variates built on libm (normal, gamma, beta) are as
 * portable as libm's log, sqrt and cos. */
typedef struct cvm__rng {
    uint64_t s[4];
} cvm__rng;

void cvm__rng_seed(cvm__rng *r, uint64_t seed);
uint64_t cvm__rng_next(cvm__rng *r);
/* Uniform on the open interval (0, 1): 52 random bits, symmetric (u and 1 - u
 * are equally likely), never exactly 0 or 1. */
double cvm__rng_uniform(cvm__rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t cvm__rng_below(cvm__rng *r, uint64_t n);
double cvm__rng_exponential(cvm__rng *r, double rate);
double cvm__rng_normal(cvm__rng *r);
/* Gamma with shape k > 0 and rate > 0 (mean k / rate), Marsaglia-Tsang. */
double cvm__rng_gamma(cvm__rng *r, double shape, double rate);
double cvm__rng_beta(cvm__rng *r, double a, double b);

#endif
