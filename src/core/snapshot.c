/* Snapshot files: a header and checksummed sections (layout in core_int.h).
 *
 * The writer streams into a temporary file beside the target and renames it
 * over the target only after every byte is flushed and synced, so a crash or
 * an error never leaves a half-written file where a good one was.
 *
 * The reader loads the whole file and validates every length against the
 * bytes actually present before touching them, so a damaged length field is
 * reported as truncation instead of causing a huge allocation or a read past
 * the end. */
#include "core/core_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char snap_magic[8] = {'C', 'V', 'M', 'S', 'N', 'A', 'P', '\0'};

enum {
    SNAP_HEADER = 24,         /* magic, version, kind, flags, CRC */
    SNAP_SECTION_HEAD = 16,   /* tag, reserved zero, length */
    SNAP_SECTION_CRC = 4,
    SNAP_TMP_SUFFIX_LEN = 11, /* ".tmp-XXXXXX" */
    SNAP_IO_BUFFER = 1 << 20
};

/* ---- little-endian encoding ------------------------------------------- */

void cvm__put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xFFu);
    p[1] = (unsigned char)((v >> 8) & 0xFFu);
    p[2] = (unsigned char)((v >> 16) & 0xFFu);
    p[3] = (unsigned char)(v >> 24);
}

void cvm__put_u64(unsigned char *p, uint64_t v)
{
    cvm__put_u32(p, (uint32_t)(v & 0xFFFFFFFFu));
    cvm__put_u32(p + 4, (uint32_t)(v >> 32));
}

uint32_t cvm__get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t cvm__get_u64(const unsigned char *p)
{
    return (uint64_t)cvm__get_u32(p) | (uint64_t)cvm__get_u32(p + 4) << 32;
}

void cvm__put_f64(unsigned char *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    cvm__put_u64(p, u);
}

double cvm__get_f64(const unsigned char *p)
{
    uint64_t u = cvm__get_u64(p);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Tags and kinds are often four ASCII letters ("END!"); show them so when
 * they are, otherwise as hex (tags) or decimal (kinds, small numbers). */
static void fourcc_name(char buf[16], uint32_t v, int decimal)
{
    unsigned char b[4];
    int printable = 1;
    int i;
    cvm__put_u32(b, v);
    for (i = 0; i < 4; i++) {
        printable &= b[i] >= 0x21 && b[i] < 0x7F && b[i] != '\'';
    }
    if (printable) {
        snprintf(buf, 16, "'%c%c%c%c'", b[0], b[1], b[2], b[3]);
    } else {
        snprintf(buf, 16, decimal ? "%" PRIu32 : "0x%08" PRIX32, v);
    }
}

static void tag_name(char buf[16], uint32_t tag)
{
    fourcc_name(buf, tag, 0);
}

/* ---- writer ----------------------------------------------------------- */

struct cvm__snap_writer {
    cvm_allocator alloc; /* a copy: the caller's may not outlive the writer */
    FILE *f;
    char *path;
    char *tmp;
    char *iobuf; /* stdio buffer; must outlive the FILE */
    char *err;   /* cvm__snap_create's message buffer: later failures (commit's
                  * included) write there, so it must outlive the writer */
    size_t errlen;
    cvm_status failed; /* once set, every later call returns it */
    int in_section;
    uint32_t tag;
    uint64_t len;
    uint64_t written;
    uint32_t crc; /* of the open section so far */
};

static cvm_status writer_io_error(cvm__snap_writer *w, int errnum)
{
    char text[128];
    w->failed = cvm__errf(w->err, w->errlen, CVM_E_IO, "%s: cannot write: %s", w->path,
                          cvm__strerror(errnum, text, sizeof text));
    return w->failed;
}

/* Misuse is fatal too: the file can no longer match what was declared. */
static cvm_status writer_misuse(cvm__snap_writer *w, const char *what)
{
    char name[16];
    if (!w->in_section) {
        w->failed = cvm__errf(w->err, w->errlen, CVM_E_INVALID, "%s: %s", w->path, what);
        return w->failed;
    }
    tag_name(name, w->tag);
    w->failed = cvm__errf(w->err, w->errlen, CVM_E_INVALID, "%s: section %s: %s", w->path, name,
                          what);
    return w->failed;
}

static void writer_free(cvm__snap_writer *w)
{
    cvm_allocator a = w->alloc;
    cvm__free(&a, w->path);
    cvm__free(&a, w->tmp);
    cvm__free(&a, w->iobuf);
    cvm__free(&a, w);
}

/* Close the stream (if open), delete the temporary file and free `w`. */
static void writer_discard(cvm__snap_writer *w)
{
    if (w->f) {
        fclose(w->f);
    }
    remove(w->tmp);
    writer_free(w);
}

static cvm_status put_bytes(cvm__snap_writer *w, const void *p, size_t n)
{
    if (w->failed) {
        return w->failed;
    }
    if (n > 0 && fwrite(p, 1, n, w->f) != n) {
        return writer_io_error(w, errno);
    }
    return CVM_OK;
}

static cvm_status writer_alloc(cvm__snap_writer **out, const cvm_allocator *a, const char *path)
{
    size_t plen = strlen(path);
    cvm__snap_writer *w = cvm__calloc(a, 1, sizeof *w);
    if (!w) {
        return CVM_E_NOMEM;
    }
    w->alloc = *a;
    w->path = cvm__strndup(a, path, plen);
    w->tmp = plen <= SIZE_MAX - SNAP_TMP_SUFFIX_LEN - 1
                 ? cvm__alloc(a, plen + SNAP_TMP_SUFFIX_LEN + 1)
                 : NULL;
    w->iobuf = cvm__alloc(a, SNAP_IO_BUFFER);
    if (!w->path || !w->tmp || !w->iobuf) {
        writer_free(w);
        return CVM_E_NOMEM;
    }
    memcpy(w->tmp, path, plen);
    memcpy(w->tmp + plen, ".tmp-XXXXXX", SNAP_TMP_SUFFIX_LEN + 1);
    *out = w;
    return CVM_OK;
}

/* Not tmpfile(): the file must be in the target's directory for the final
 * rename to be atomic. */
static cvm_status writer_open_tmp(cvm__snap_writer *w)
{
    int fd = cvm__mkstemp_public(w->tmp);
    int e;
    if (fd < 0) {
        return writer_io_error(w, errno);
    }
    w->f = fdopen(fd, "wb");
    if (!w->f) {
        e = errno;
        close(fd);
        remove(w->tmp);
        return writer_io_error(w, e);
    }
    if (setvbuf(w->f, w->iobuf, _IOFBF, SNAP_IO_BUFFER) != 0) {
        e = errno;
        fclose(w->f);
        w->f = NULL;
        remove(w->tmp);
        return writer_io_error(w, e);
    }
    return CVM_OK;
}

cvm_status cvm__snap_create(cvm__snap_writer **out, const cvm_allocator *a, const char *path,
                            uint32_t kind, char *err, size_t errlen)
{
    unsigned char head[SNAP_HEADER];
    cvm__snap_writer *w = NULL;
    cvm_status st;
    if (out) {
        *out = NULL;
    }
    if (!out || !a || !path) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "snapshot: NULL argument");
    }
    if (writer_alloc(&w, a, path) != CVM_OK) {
        return cvm__errf(err, errlen, CVM_E_NOMEM, "%s: out of memory", path);
    }
    w->err = err;
    w->errlen = errlen;
    st = writer_open_tmp(w);
    if (st != CVM_OK) {
        writer_free(w);
        return st;
    }
    memcpy(head, snap_magic, sizeof snap_magic);
    cvm__put_u32(head + 8, CVM__SNAP_VERSION);
    cvm__put_u32(head + 12, kind);
    cvm__put_u32(head + 16, 0);
    cvm__put_u32(head + 20, cvm__crc32(0, head, 20));
    st = put_bytes(w, head, sizeof head);
    if (st != CVM_OK) {
        writer_discard(w);
        return st;
    }
    *out = w;
    return CVM_OK;
}

cvm_status cvm__snap_begin(cvm__snap_writer *w, uint32_t tag, uint64_t len)
{
    unsigned char head[SNAP_SECTION_HEAD];
    if (!w) {
        return CVM_E_INVALID;
    }
    if (w->failed) {
        return w->failed;
    }
    if (w->in_section) {
        return writer_misuse(w, "not ended before the next one began");
    }
    if (tag == CVM__SNAP_END) {
        return writer_misuse(w, "section tag 'END!' is reserved for the end marker");
    }
    cvm__put_u32(head, tag);
    cvm__put_u32(head + 4, 0);
    cvm__put_u64(head + 8, len);
    w->in_section = 1;
    w->tag = tag;
    w->len = len;
    w->written = 0;
    w->crc = cvm__crc32(0, head, sizeof head);
    return put_bytes(w, head, sizeof head);
}

cvm_status cvm__snap_write(cvm__snap_writer *w, const void *p, size_t n)
{
    if (!w) {
        return CVM_E_INVALID;
    }
    if (w->failed) {
        return w->failed;
    }
    if (!w->in_section) {
        return writer_misuse(w, "data written outside a section");
    }
    if (n > 0 && !p) {
        return writer_misuse(w, "NULL data");
    }
    /* Refused before writing, but still fatal: the section cannot be
     * completed as declared any more. */
    if ((uint64_t)n > w->len - w->written) {
        return writer_misuse(w, "more bytes written than declared");
    }
    w->crc = cvm__crc32(w->crc, p, n);
    w->written += n;
    return put_bytes(w, p, n);
}

cvm_status cvm__snap_end(cvm__snap_writer *w)
{
    unsigned char crc[SNAP_SECTION_CRC];
    if (!w) {
        return CVM_E_INVALID;
    }
    if (w->failed) {
        return w->failed;
    }
    if (!w->in_section) {
        return writer_misuse(w, "section ended without being begun");
    }
    if (w->written != w->len) {
        char name[16];
        tag_name(name, w->tag);
        w->failed = cvm__errf(w->err, w->errlen, CVM_E_INVALID,
                              "%s: section %s: %" PRIu64 " of %" PRIu64 " declared bytes written",
                              w->path, name, w->written, w->len);
        return w->failed;
    }
    w->in_section = 0;
    cvm__put_u32(crc, w->crc);
    return put_bytes(w, crc, sizeof crc);
}

static cvm_status write_end_marker(cvm__snap_writer *w)
{
    unsigned char end[SNAP_SECTION_HEAD + SNAP_SECTION_CRC];
    if (w->in_section) {
        return writer_misuse(w, "still open at commit");
    }
    cvm__put_u32(end, CVM__SNAP_END);
    cvm__put_u32(end + 4, 0);
    cvm__put_u64(end + 8, 0);
    cvm__put_u32(end + SNAP_SECTION_HEAD, cvm__crc32(0, end, SNAP_SECTION_HEAD));
    return put_bytes(w, end, sizeof end);
}

/* fclose() can report the error of a final buffered write, and the rename
 * must only happen once the data is known to be on disk. */
static cvm_status flush_and_close(cvm__snap_writer *w)
{
    FILE *f = w->f;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        return writer_io_error(w, errno);
    }
    w->f = NULL;
    if (fclose(f) != 0) {
        return writer_io_error(w, errno);
    }
    return CVM_OK;
}

cvm_status cvm__snap_commit(cvm__snap_writer *w)
{
    cvm_status st;
    if (!w) {
        return CVM_E_INVALID;
    }
    st = w->failed ? w->failed : write_end_marker(w);
    if (st == CVM_OK) {
        st = flush_and_close(w);
    }
    if (st == CVM_OK && rename(w->tmp, w->path) != 0) {
        st = writer_io_error(w, errno);
    }
    if (st != CVM_OK) {
        writer_discard(w);
        return st;
    }
    writer_free(w);
    return CVM_OK;
}

void cvm__snap_abort(cvm__snap_writer *w)
{
    if (w) {
        writer_discard(w);
    }
}

/* ---- reader ----------------------------------------------------------- */

typedef struct snap_section {
    uint32_t tag;
    size_t offset; /* of the payload in `data` */
    uint64_t len;
} snap_section;

struct cvm__snap_reader {
    cvm_allocator alloc;
    unsigned char *data;
    size_t size;
    char *path; /* for cvm__snap_find's message */
    snap_section *sections;
    size_t nsections;
};

/* Reads until end of file instead of trusting the size from fstat, so a
 * file that changes length while being read is still handled safely; the
 * size only avoids regrowing. Only regular files have a meaningful size
 * (ftell on a directory can report LONG_MAX). */
static cvm_status read_all(FILE *f, const cvm_allocator *a, unsigned char **out, size_t *size)
{
    struct stat st;
    size_t cap = 4096, len = 0, got;
    unsigned char *buf, *nb;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uintmax_t)st.st_size < SIZE_MAX / 2) {
        cap = (size_t)st.st_size + 1; /* + 1 to see end of file without regrowing */
    }
    buf = cvm__alloc(a, cap);
    if (!buf) {
        return CVM_E_NOMEM;
    }
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            nb = cap <= SIZE_MAX / 2 ? cvm__realloc(a, buf, cap * 2) : NULL;
            if (!nb) {
                cvm__free(a, buf);
                return CVM_E_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (ferror(f)) {
        cvm__free(a, buf);
        return CVM_E_IO;
    }
    *out = buf;
    *size = len;
    return CVM_OK;
}

static cvm_status load_file(cvm__snap_reader *r, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    cvm_status st;
    int e;
    if (!f) {
        char text[128];
        return cvm__errf(err, errlen, CVM_E_IO, "%s: cannot open: %s", path,
                         cvm__strerror(errno, text, sizeof text));
    }
    errno = 0;
    st = read_all(f, &r->alloc, &r->data, &r->size);
    e = errno;
    fclose(f);
    if (st == CVM_E_IO) {
        char text[128];
        return cvm__errf(err, errlen, st, "%s: cannot read: %s", path,
                         cvm__strerror(e, text, sizeof text));
    }
    if (st != CVM_OK) {
        return cvm__errf(err, errlen, st, "%s: out of memory", path);
    }
    return CVM_OK;
}

static cvm_status truncated(const char *path, size_t at, char *err, size_t errlen)
{
    return cvm__errf(err, errlen, CVM_E_FORMAT, "%s: truncated at byte %zu", path, at);
}

static cvm_status check_header(const cvm__snap_reader *r, uint32_t kind, char *err, size_t errlen)
{
    const unsigned char *d = r->data;
    char want[16], got[16];
    uint32_t version, file_kind;
    size_t n = r->size < sizeof snap_magic ? r->size : sizeof snap_magic;
    if (r->size == 0 || memcmp(d, snap_magic, n) != 0) {
        return cvm__errf(err, errlen, CVM_E_FORMAT, "%s: not a libcvm snapshot", r->path);
    }
    if (r->size < SNAP_HEADER) {
        return truncated(r->path, r->size, err, errlen);
    }
    if (cvm__get_u32(d + 20) != cvm__crc32(0, d, 20)) {
        return cvm__errf(err, errlen, CVM_E_FORMAT, "%s: header fails its checksum", r->path);
    }
    version = cvm__get_u32(d + 8);
    if (version != CVM__SNAP_VERSION) {
        return cvm__errf(err, errlen, CVM_E_FORMAT,
                         "%s: snapshot format version %" PRIu32
                         " is not supported (this library reads %u)",
                         r->path, version, CVM__SNAP_VERSION);
    }
    file_kind = cvm__get_u32(d + 12);
    if (file_kind != kind) {
        fourcc_name(got, file_kind, 1);
        fourcc_name(want, kind, 1);
        return cvm__errf(err, errlen, CVM_E_FORMAT, "%s: snapshot holds kind %s, expected %s",
                         r->path, got, want);
    }
    /* Version 1 defines no flags; one set means a writer this reader
     * cannot follow. */
    if (cvm__get_u32(d + 16) != 0) {
        return cvm__errf(err, errlen, CVM_E_FORMAT, "%s: unknown header flags 0x%08" PRIX32,
                         r->path, cvm__get_u32(d + 16));
    }
    return CVM_OK;
}

/* Check the section at `off` and store it in *s; *next gets the offset after
 * it. Every length is compared with the bytes left before it is used. */
static cvm_status check_section(const cvm__snap_reader *r, size_t off, snap_section *s,
                                size_t *next, char *err, size_t errlen)
{
    const unsigned char *d = r->data + off;
    size_t left = r->size - off;
    char name[16];
    if (left < SNAP_SECTION_HEAD + SNAP_SECTION_CRC) {
        return truncated(r->path, r->size, err, errlen);
    }
    s->tag = cvm__get_u32(d);
    s->len = cvm__get_u64(d + 8);
    if (s->len > left - SNAP_SECTION_HEAD - SNAP_SECTION_CRC) {
        return truncated(r->path, r->size, err, errlen);
    }
    s->offset = off + SNAP_SECTION_HEAD;
    *next = s->offset + (size_t)s->len + SNAP_SECTION_CRC;
    tag_name(name, s->tag);
    if (cvm__get_u32(d + SNAP_SECTION_HEAD + (size_t)s->len) !=
        cvm__crc32(0, d, SNAP_SECTION_HEAD + (size_t)s->len)) {
        return cvm__errf(err, errlen, CVM_E_FORMAT,
                         "%s: section %s at byte %zu fails its checksum", r->path, name, off);
    }
    if (cvm__get_u32(d + 4) != 0) {
        return cvm__errf(err, errlen, CVM_E_FORMAT,
                         "%s: section %s at byte %zu has a nonzero reserved field", r->path, name,
                         off);
    }
    return CVM_OK;
}

static cvm_status add_section(cvm__snap_reader *r, const snap_section *s, size_t *cap)
{
    snap_section *grown;
    if (r->nsections == *cap) {
        size_t want = *cap ? *cap * 2 : 8;
        grown = want <= SIZE_MAX / sizeof *grown
                    ? cvm__realloc(&r->alloc, r->sections, want * sizeof *grown)
                    : NULL;
        if (!grown) {
            return CVM_E_NOMEM;
        }
        r->sections = grown;
        *cap = want;
    }
    r->sections[r->nsections++] = *s;
    return CVM_OK;
}

/* Check and index every section up to the end marker, which must close
 * the file. */
static cvm_status index_sections(cvm__snap_reader *r, char *err, size_t errlen)
{
    size_t off = SNAP_HEADER, next = 0, cap = 0;
    snap_section s;
    cvm_status st;
    for (;;) {
        st = check_section(r, off, &s, &next, err, errlen);
        if (st != CVM_OK) {
            return st;
        }
        if (s.tag == CVM__SNAP_END) {
            break;
        }
        if (add_section(r, &s, &cap) != CVM_OK) {
            return cvm__errf(err, errlen, CVM_E_NOMEM, "%s: out of memory", r->path);
        }
        off = next;
    }
    if (s.len != 0) {
        return cvm__errf(err, errlen, CVM_E_FORMAT, "%s: end marker at byte %zu has a payload",
                         r->path, off);
    }
    if (next != r->size) {
        return cvm__errf(err, errlen, CVM_E_FORMAT, "%s: %zu bytes after the end marker",
                         r->path, r->size - next);
    }
    return CVM_OK;
}

cvm_status cvm__snap_open(cvm__snap_reader **out, const cvm_allocator *a, const char *path,
                          uint32_t kind, char *err, size_t errlen)
{
    cvm__snap_reader *r;
    cvm_status st;
    if (out) {
        *out = NULL;
    }
    if (!out || !a || !path) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "snapshot: NULL argument");
    }
    r = cvm__calloc(a, 1, sizeof *r);
    if (!r) {
        return cvm__errf(err, errlen, CVM_E_NOMEM, "%s: out of memory", path);
    }
    r->alloc = *a;
    r->path = cvm__strndup(a, path, strlen(path));
    if (!r->path) {
        cvm__snap_close(r);
        return cvm__errf(err, errlen, CVM_E_NOMEM, "%s: out of memory", path);
    }
    st = load_file(r, path, err, errlen);
    if (st == CVM_OK) {
        st = check_header(r, kind, err, errlen);
    }
    if (st == CVM_OK) {
        st = index_sections(r, err, errlen);
    }
    if (st != CVM_OK) {
        cvm__snap_close(r);
        return st;
    }
    *out = r;
    return CVM_OK;
}

cvm_status cvm__snap_find(const cvm__snap_reader *r, uint32_t tag, const unsigned char **data,
                          uint64_t *len, char *err, size_t errlen)
{
    char name[16];
    size_t i;
    if (!r || !data || !len) {
        return cvm__errf(err, errlen, CVM_E_INVALID, "snapshot: NULL argument");
    }
    for (i = 0; i < r->nsections; i++) {
        if (r->sections[i].tag == tag) {
            *data = r->data + r->sections[i].offset;
            *len = r->sections[i].len;
            return CVM_OK;
        }
    }
    *data = NULL;
    *len = 0;
    tag_name(name, tag);
    return cvm__errf(err, errlen, CVM_E_FORMAT, "%s: no section %s", r->path, name);
}

void cvm__snap_close(cvm__snap_reader *r)
{
    cvm_allocator a;
    if (!r) {
        return;
    }
    a = r->alloc;
    cvm__free(&a, r->data);
    cvm__free(&a, r->sections);
    cvm__free(&a, r->path);
    cvm__free(&a, r);
}
