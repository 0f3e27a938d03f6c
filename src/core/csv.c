/* Streaming CSV reader (RFC 4180 plus a whitespace-separated mode).
 *
 * A record is parsed only once it lies wholly inside the window of bytes at
 * hand: when the parser runs off the end of the window it gives up, the
 * caller moves the partial record to the front of the buffer, reads more and
 * parses the record again from its start. That keeps every state (a CRLF or
 * a "" escape cut by a chunk boundary, line counts inside quotes) local to a
 * single pass, at the price of re-scanning one record per chunk. Fields point
 * into the window; only quoted fields holding "" are copied, into `scratch`. */
#include "core/core_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Bytes asked of fread at a time. */
/* A longest record plus its CRLF: a window this full without a record end
 * holds a record that is too long. */
#define CVM__CSV_BUF_MAX (CVM__CSV_MAX_RECORD + 2)
#define CVM__CSV_FIELDS0 16

/* Byte classes; a scan stops at any byte whose class meets its mask. */
enum {
    CVM__C_DELIM = 1,
    CVM__C_LF = 2,
    CVM__C_NUL = 4,
    CVM__C_QUOTE = 8,
    CVM__C_BLANK = 16
};
#define CVM__STOP_PLAIN (CVM__C_DELIM | CVM__C_LF | CVM__C_NUL)
#define CVM__STOP_QUOTED (CVM__C_QUOTE | CVM__C_LF | CVM__C_NUL)
#define CVM__STOP_WORD (CVM__C_BLANK | CVM__C_LF | CVM__C_NUL)

struct cvm__csv {
    cvm_allocator alloc;
    FILE *fp;           /* NULL for a buffer */
    char *buf;          /* file window storage, `cap` bytes */
    size_t cap;
    const char *data;   /* the window: buf, or the caller's buffer */
    size_t pos, end;    /* unread bytes are data[pos..end) */
    uint64_t base;      /* input offset of data[0] */
    int eof;            /* nothing follows data[end] */
    int bom_done;
    int whitespace;
    cvm_status failed;  /* sticky: every later call repeats the error */
    uint64_t line;      /* physical line at data[pos] */
    uint64_t rec_line;  /* where the last returned record starts */
    cvm__csv_field *fields;
    size_t fcap;
    char *scratch;
    size_t scap;
    char *name;
    unsigned char cls[256];
    char errmsg[CVM__ERRMSG_LEN];
};

/* One parse attempt of one record. */
typedef struct cvm__rec {
    const char *p, *end;
    const char *start;       /* first byte of the record */
    const char *line_start;  /* first byte of the current physical line */
    const char *content_end; /* past the last field, before the line end */
    uint64_t line;           /* physical line at p */
    uint64_t start_line;
    size_t n;                /* fields so far */
    size_t slen;             /* scratch bytes used */
    int eof;
} cvm__rec;

/* Outcome of parsing a field or a record. */
enum { CVM__NEXT, CVM__DONE, CVM__MORE, CVM__FAIL };

static int cvm__fail(cvm__csv *r, cvm_status st, uint64_t line, uint64_t col, const char *fmt,
                     ...) CVM__PRINTF(5, 6);

static int cvm__fail(cvm__csv *r, cvm_status st, uint64_t line, uint64_t col, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    cvm__verrf(what, sizeof what, st, fmt, ap);
    va_end(ap);
    r->failed = cvm__errf(r->errmsg, sizeof r->errmsg, st, "%s:%" PRIu64 ":%" PRIu64 ": %s",
                          r->name, line, col, what);
    return CVM__FAIL;
}

static uint64_t cvm__col(const cvm__rec *c, const char *at)
{
    return (uint64_t)(at - c->line_start) + 1;
}

static int cvm__fail_at(cvm__csv *r, const cvm__rec *c, const char *at, const char *what)
{
    return cvm__fail(r, CVM_E_PARSE, c->line, cvm__col(c, at), "%s", what);
}

static int cvm__too_long(cvm__csv *r, const cvm__rec *c)
{
    return cvm__fail(r, CVM_E_PARSE, c->start_line, 1, "record longer than %zu bytes",
                     CVM__CSV_MAX_RECORD);
}

static int cvm__nomem(cvm__csv *r)
{
    r->failed = cvm__errf(r->errmsg, sizeof r->errmsg, CVM_E_NOMEM, "%s: out of memory", r->name);
    return CVM__FAIL;
}

/* Grow a block to at least `need` bytes (at least doubling). cvm__alloc for
 * the first block: an allocator need not accept realloc(NULL). */
static int cvm__grow(cvm__csv *r, void **p, size_t *cap, size_t need, size_t elem)
{
    size_t n = *cap * 2 > need ? *cap * 2 : need;
    void *q;
    if (n > SIZE_MAX / elem) {
        return 0;
    }
    q = *p ? cvm__realloc(&r->alloc, *p, n * elem) : cvm__alloc(&r->alloc, n * elem);
    if (q == NULL) {
        return 0;
    }
    *p = q;
    *cap = n;
    return 1;
}

static const char *cvm__scan(const char *p, const char *end, const unsigned char *cls,
                             unsigned mask)
{
    /* Unrolled: most fields are a handful of bytes, but ids and notes are not. */
    while (end - p >= 4) {
        if (cls[(unsigned char)p[0]] & mask) {
            return p;
        }
        if (cls[(unsigned char)p[1]] & mask) {
            return p + 1;
        }
        if (cls[(unsigned char)p[2]] & mask) {
            return p + 2;
        }
        if (cls[(unsigned char)p[3]] & mask) {
            return p + 3;
        }
        p += 4;
    }
    while (p < end && !(cls[(unsigned char)*p] & mask)) {
        p++;
    }
    return p;
}

static int cvm__push(cvm__csv *r, cvm__rec *c, const char *ptr, size_t len, uint64_t col,
                     const char *content_end)
{
    cvm__csv_field *f;
    if ((size_t)(content_end - c->start) > CVM__CSV_MAX_RECORD) {
        return cvm__too_long(r, c);
    }
    if (c->n == r->fcap &&
        !cvm__grow(r, (void **)&r->fields, &r->fcap, c->n + 1, sizeof *r->fields)) {
        return cvm__nomem(r);
    }
    f = &r->fields[c->n++];
    f->ptr = ptr;
    f->len = len;
    f->column = col > UINT32_MAX ? UINT32_MAX : (uint32_t)col;
    c->content_end = content_end;
    return CVM__NEXT;
}

/* A quoted field's text without its "" escapes, appended to scratch. Its
 * pointer is set once the record is complete, as scratch may still move. */
static int cvm__push_unescaped(cvm__csv *r, cvm__rec *c, const char *s, const char *e,
                               size_t pairs, uint64_t col)
{
    size_t len = (size_t)(e - s) - pairs;
    char *q;
    int rc = cvm__push(r, c, NULL, len, col, e + 1);
    if (rc != CVM__NEXT) {
        return rc;
    }
    if (c->slen + len > r->scap &&
        !cvm__grow(r, (void **)&r->scratch, &r->scap, c->slen + len, 1)) {
        return cvm__nomem(r);
    }
    q = r->scratch + c->slen;
    while (s < e) {
        const char *quote = memchr(s, '"', (size_t)(e - s));
        /* Through the kept quote of a pair, or to the end. */
        size_t k = quote ? (size_t)(quote - s) + 1 : (size_t)(e - s);
        memcpy(q, s, k);
        q += k;
        s += quote ? k + 1 : k;
    }
    c->slen += len;
    return CVM__NEXT;
}

/* What follows a closing quote at `a`: a delimiter, a line end or the end. */
static int cvm__after_quote(cvm__csv *r, cvm__rec *c, const char *a)
{
    const char *end = c->end;
    if (a == end) {
        c->p = a; /* or the first quote of a "" cut by the window */
        return c->eof ? CVM__DONE : CVM__MORE;
    }
    if (r->cls[(unsigned char)*a] & CVM__C_DELIM) {
        c->p = a + 1;
        return CVM__NEXT;
    }
    if (*a == '\r') {
        if (a + 1 == end) {
            c->p = end; /* a CR ending the input ends the line */
            return c->eof ? CVM__DONE : CVM__MORE;
        }
        if (a[1] == '\n') {
            a++;
        }
    }
    if (*a == '\n') {
        c->p = a + 1;
        c->line++;
        return CVM__DONE;
    }
    return cvm__fail_at(r, c, a, *a == '\0' ? "NUL byte" : "text after closing quote");
}

static int cvm__quoted(cvm__csv *r, cvm__rec *c)
{
    const char *open = c->p, *q = open + 1, *end = c->end;
    uint64_t col = cvm__col(c, open), open_line = c->line;
    size_t pairs = 0;
    int rc;
    for (;;) {
        q = cvm__scan(q, end, r->cls, CVM__STOP_QUOTED);
        if (q == end) {
            if (!c->eof) {
                return CVM__MORE;
            }
            return cvm__fail(r, CVM_E_PARSE, c->line, cvm__col(c, q),
                             "unterminated quoted field (opened at line %" PRIu64 ")", open_line);
        }
        if (*q == '\n') {
            c->line++;
            c->line_start = ++q;
        } else if (*q == '\0') {
            return cvm__fail_at(r, c, q, "NUL byte");
        } else if (q + 1 < end && q[1] == '"') {
            pairs++;
            q += 2;
        } else {
            break;
        }
    }
    rc = pairs ? cvm__push_unescaped(r, c, open + 1, q, pairs, col)
               : cvm__push(r, c, open + 1, (size_t)(q - open - 1), col, q + 1);
    return rc == CVM__NEXT ? cvm__after_quote(r, c, q + 1) : rc;
}

static int cvm__plain(cvm__csv *r, cvm__rec *c)
{
    const char *f = c->p, *p = cvm__scan(f, c->end, r->cls, CVM__STOP_PLAIN), *stop = p;
    int rc;
    if (p == c->end && !c->eof) {
        return CVM__MORE;
    }
    if (p < c->end && *p == '\0') {
        return cvm__fail_at(r, c, p, "NUL byte");
    }
    if (p < c->end && (r->cls[(unsigned char)*p] & CVM__C_DELIM)) {
        rc = cvm__push(r, c, f, (size_t)(p - f), cvm__col(c, f), p);
        c->p = p + 1;
        return rc;
    }
    /* A line end or the end of input; a CR just before it belongs to it. */
    if (p > f && p[-1] == '\r') {
        stop--;
    }
    rc = cvm__push(r, c, f, (size_t)(stop - f), cvm__col(c, f), stop);
    if (p < c->end) {
        p++;
        c->line++;
    }
    c->p = p;
    return rc == CVM__NEXT ? CVM__DONE : rc;
}

static int cvm__record_csv(cvm__csv *r, cvm__rec *c)
{
    int rc;
    do {
        rc = c->p < c->end && *c->p == '"' ? cvm__quoted(r, c) : cvm__plain(r, c);
    } while (rc == CVM__NEXT);
    return rc;
}

static int cvm__record_ws(cvm__csv *r, cvm__rec *c)
{
    const char *p = c->p, *end = c->end, *f;
    int rc;
    for (;;) {
        while (p < end && (r->cls[(unsigned char)*p] & CVM__C_BLANK)) {
            p++;
        }
        if (p == end || *p == '\n') {
            if (p == end && !c->eof) {
                return CVM__MORE;
            }
            if (p < end) {
                p++;
                c->line++;
            }
            c->p = p;
            return CVM__DONE;
        }
        if (*p == '\0') {
            return cvm__fail_at(r, c, p, "NUL byte");
        }
        f = p;
        p = cvm__scan(p, end, r->cls, CVM__STOP_WORD);
        if (p == end && !c->eof) {
            return CVM__MORE;
        }
        rc = cvm__push(r, c, f, (size_t)(p - f), cvm__col(c, f), p);
        if (rc != CVM__NEXT) {
            return rc;
        }
    }
}

/* Parse the record at data[pos], or report that the window ends first. */
static int cvm__try_record(cvm__csv *r, cvm__rec *c)
{
    int rc;
    c->start = c->p = c->line_start = c->content_end = r->data + r->pos;
    c->end = r->data + r->end;
    c->line = c->start_line = r->line;
    c->n = 0;
    c->slen = 0;
    c->eof = r->eof;
    rc = r->whitespace ? cvm__record_ws(r, c) : cvm__record_csv(r, c);
    if (rc == CVM__MORE && (size_t)(c->end - c->start) >= CVM__CSV_BUF_MAX) {
        return cvm__too_long(r, c);
    }
    return rc;
}

/* Keep the unread bytes, move them to the front and read more after them. */
static cvm_status cvm__refill(cvm__csv *r)
{
    size_t keep = r->end - r->pos, want, got;
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, keep);
        r->base += r->pos;
        r->pos = 0;
        r->end = keep;
    }
    if (r->end == r->cap) {
        /* One record fills the window. The parser has already failed a
         * window of CVM__CSV_BUF_MAX bytes, so this stays below it. */
        size_t cap = r->cap * 2 < CVM__CSV_BUF_MAX ? r->cap * 2 : CVM__CSV_BUF_MAX;
        char *p = cvm__realloc(&r->alloc, r->buf, cap);
        if (p == NULL) {
            cvm__nomem(r);
            return r->failed;
        }
        r->buf = p;
        r->cap = cap;
        r->data = p;
    }
    want = r->cap - r->end;
    want = want < CVM__CSV_CHUNK ? want : CVM__CSV_CHUNK;
    got = fread(r->buf + r->end, 1, want, r->fp);
    r->end += got;
    if (got < want) {
        if (ferror(r->fp)) {
            char text[128];
            r->failed = cvm__errf(r->errmsg, sizeof r->errmsg, CVM_E_IO, "%s: read error: %s",
                                  r->name, cvm__strerror(errno, text, sizeof text));
            return r->failed;
        }
        r->eof = 1;
    }
    return CVM_OK;
}

/* A UTF-8 byte order mark at the very start is not data. */
static int cvm__skip_bom(cvm__csv *r)
{
    size_t n = r->end - r->pos;
    if (n < 3 && !r->eof) {
        return 0;
    }
    if (n >= 3 && memcmp(r->data + r->pos, "\xEF\xBB\xBF", 3) == 0) {
        r->pos += 3;
    }
    r->bom_done = 1;
    return 1;
}

/* Point the escaped fields (ptr NULL) at their text in scratch. */
static void cvm__fix_scratch(cvm__csv *r, size_t n)
{
    size_t i, off = 0;
    for (i = 0; i < n; i++) {
        if (r->fields[i].ptr == NULL) {
            r->fields[i].ptr = r->scratch + off;
            off += r->fields[i].len;
        }
    }
}

static int cvm__blank(const cvm__csv *r, const cvm__rec *c)
{
    return r->whitespace ? c->n == 0 : c->content_end == c->start;
}

static cvm_status cvm__report(const cvm__csv *r, char *err, size_t errlen)
{
    return cvm__errf(err, err ? errlen : 0, r->failed, "%s", r->errmsg);
}

cvm_status cvm__csv_next(cvm__csv *r, const cvm__csv_field **fields, size_t *nfields, char *err,
                         size_t errlen)
{
    cvm__rec c;
    if (r == NULL || fields == NULL || nfields == NULL) {
        return CVM_E_INVALID;
    }
    *fields = r->fields;
    *nfields = 0;
    while (r->failed == CVM_OK) {
        int rc = CVM__MORE;
        if (r->pos == r->end && r->eof) {
            return CVM_OK;
        }
        if (r->bom_done || cvm__skip_bom(r)) {
            rc = cvm__try_record(r, &c);
        }
        if (rc == CVM__MORE) {
            cvm__refill(r);
        } else if (rc == CVM__DONE) {
            r->pos = (size_t)(c.p - r->data);
            r->line = c.line;
            if (!cvm__blank(r, &c)) {
                if (c.slen > 0) {
                    cvm__fix_scratch(r, c.n);
                }
                r->rec_line = c.start_line;
                *fields = r->fields;
                *nfields = c.n;
                return CVM_OK;
            }
        }
    }
    return cvm__report(r, err, errlen);
}

static cvm_status cvm__csv_new(cvm__csv **out, const cvm_allocator *a, const char *name,
                               char delimiter, int whitespace, char *err, size_t errlen)
{
    cvm__csv *r;
    if (!whitespace && (delimiter == '"' || delimiter == '\n' || delimiter == '\r' ||
                        delimiter == '\0')) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "%s: invalid CSV delimiter", name);
    }
    r = cvm__calloc(a, 1, sizeof *r);
    if (r == NULL) {
        return cvm__errf(err, errlen, CVM_E_NOMEM, "%s: out of memory", name);
    }
    r->alloc = *a;
    r->name = cvm__strndup(a, name, strlen(name));
    r->fields = cvm__alloc(a, CVM__CSV_FIELDS0 * sizeof *r->fields);
    if (r->name == NULL || r->fields == NULL) {
        cvm__csv_close(r);
        return cvm__errf(err, errlen, CVM_E_NOMEM, "%s: out of memory", name);
    }
    r->fcap = CVM__CSV_FIELDS0;
    r->whitespace = whitespace != 0;
    r->line = 1;
    r->cls['\n'] = CVM__C_LF;
    r->cls['\0'] = CVM__C_NUL;
    if (whitespace) {
        r->cls[' '] = r->cls['\t'] = r->cls['\r'] = CVM__C_BLANK;
    } else {
        r->cls['"'] = CVM__C_QUOTE;
        r->cls[(unsigned char)delimiter] = CVM__C_DELIM;
    }
    *out = r;
    return CVM_OK;
}

cvm_status cvm__csv_open_file(cvm__csv **out, const cvm_allocator *a, const char *path,
                              char delimiter, int whitespace, char *err, size_t errlen)
{
    cvm__csv *r = NULL;
    cvm_status st;
    if (out == NULL || a == NULL || path == NULL) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "CSV reader: NULL argument");
    }
    *out = NULL;
    st = cvm__csv_new(&r, a, path, delimiter, whitespace, err, errlen);
    if (st != CVM_OK) {
        return st;
    }
    r->fp = fopen(path, "rb");
    if (r->fp == NULL) {
        char text[128];
        st = cvm__errf(err, errlen, CVM_E_IO, "%s: cannot open: %s", path,
                       cvm__strerror(errno, text, sizeof text));
        cvm__csv_close(r);
        return st;
    }
    r->buf = cvm__alloc(a, CVM__CSV_CHUNK);
    if (r->buf == NULL) {
        cvm__csv_close(r);
        return cvm__errf(err, errlen, CVM_E_NOMEM, "%s: out of memory", path);
    }
    r->cap = CVM__CSV_CHUNK;
    r->data = r->buf;
    *out = r;
    return CVM_OK;
}

cvm_status cvm__csv_open_buffer(cvm__csv **out, const cvm_allocator *a, const char *data,
                                size_t len, const char *name, char delimiter, int whitespace,
                                char *err, size_t errlen)
{
    cvm__csv *r = NULL;
    cvm_status st;
    if (out == NULL || a == NULL || (data == NULL && len > 0)) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "CSV reader: NULL argument");
    }
    *out = NULL;
    st = cvm__csv_new(&r, a, name ? name : "<buffer>", delimiter, whitespace, err, errlen);
    if (st != CVM_OK) {
        return st;
    }
    r->data = data ? data : "";
    r->end = len;
    r->eof = 1;
    *out = r;
    return CVM_OK;
}

uint64_t cvm__csv_line(const cvm__csv *r)
{
    return r ? r->rec_line : 0;
}

const char *cvm__csv_name(const cvm__csv *r)
{
    return r ? r->name : NULL;
}

uint64_t cvm__csv_offset(const cvm__csv *r)
{
    return r ? r->base + r->pos : 0;
}

void cvm__csv_close(cvm__csv *r)
{
    cvm_allocator a;
    if (r == NULL) {
        return;
    }
    a = r->alloc;
    if (r->fp) {
        fclose(r->fp);
    }
    cvm__free(&a, r->buf);
    cvm__free(&a, r->fields);
    cvm__free(&a, r->scratch);
    cvm__free(&a, r->name);
    cvm__free(&a, r);
}
