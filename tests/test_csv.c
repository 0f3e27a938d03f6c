/* The streaming CSV reader. Most inputs are read twice, from a buffer and
 * from a file, and both readings must agree exactly. */
#include "testutil.h"

#include "core/core_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The reader's fread size (csv.c): chunk-boundary tests place bytes around it. */
#define CHUNK CVM__CSV_CHUNK /* the reader's chunk: boundary cases sit on it */
#define MAXREC CVM__CSV_MAX_RECORD

/* A growable string. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_rep(sbuf *b, char c, size_t n)
{
    char tmp[4096];
    memset(tmp, c, sizeof tmp);
    while (n > 0) {
        size_t k = n < sizeof tmp ? n : sizeof tmp;
        sb_add(b, tmp, k);
        n -= k;
    }
}

/* Lines of 'p' until the text is exactly `target` bytes long. */
static void sb_pad_to(sbuf *b, size_t target)
{
    ck_assert_uint_le(b->len, target);
    while (b->len < target) {
        size_t k = target - b->len < 100 ? target - b->len : 100;
        sb_rep(b, 'p', k - 1);
        sb_add(b, "\n", 1);
    }
}

/* Everything a reading produced: "LINE:[field][field]\n" per record. */
typedef struct run {
    cvm_status st;
    sbuf repr;
    size_t records;
    uint64_t offset;
    char err[CVM__ERRMSG_LEN];
} run;

static void run_free(run *r)
{
    free(r->repr.p);
    memset(r, 0, sizeof *r);
}

static void read_all(cvm__csv *r, run *out)
{
    const cvm__csv_field *f;
    size_t n, i;
    char head[32];
    sb_str(&out->repr, "");
    for (;;) {
        out->st = cvm__csv_next(r, &f, &n, out->err, sizeof out->err);
        if (out->st != CVM_OK || n == 0) {
            break;
        }
        out->records++;
        snprintf(head, sizeof head, "%llu:", (unsigned long long)cvm__csv_line(r));
        sb_str(&out->repr, head);
        for (i = 0; i < n; i++) {
            sb_add(&out->repr, "[", 1);
            sb_add(&out->repr, f[i].ptr, f[i].len);
            sb_add(&out->repr, "]", 1);
        }
        sb_add(&out->repr, "\n", 1);
    }
    out->offset = cvm__csv_offset(r);
    if (out->st == CVM_OK) {
        /* The end is sticky too. */
        ck_assert_int_eq(cvm__csv_next(r, &f, &n, out->err, sizeof out->err), CVM_OK);
        ck_assert_uint_eq(n, 0);
    } else {
        /* So is an error, with the same message. */
        char again[CVM__ERRMSG_LEN];
        ck_assert_int_eq(cvm__csv_next(r, &f, &n, again, sizeof again), out->st);
        ck_assert_str_eq(again, out->err);
    }
}

static void read_buffer(const char *data, size_t len, const char *name, char delim, int ws,
                        run *out)
{
    cvm_allocator a;
    cvm__csv *r = NULL;
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    ck_assert_int_eq(cvm__csv_open_buffer(&r, &a, data, len, name, delim, ws, out->err,
                                          sizeof out->err),
                     CVM_OK);
    ck_assert_str_eq(cvm__csv_name(r), name ? name : "<buffer>");
    read_all(r, out);
    cvm__csv_close(r);
}

static void read_path(const char *path, char delim, int ws, run *out)
{
    cvm_allocator a;
    cvm__csv *r = NULL;
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    ck_assert_int_eq(cvm__csv_open_file(&r, &a, path, delim, ws, out->err, sizeof out->err),
                     CVM_OK);
    ck_assert_str_eq(cvm__csv_name(r), path);
    read_all(r, out);
    cvm__csv_close(r);
}

/* Read `data` from a buffer and from a file (both named by the file's path)
 * and check that the two readings agree. */
static void read_both(const char *data, size_t len, char delim, int ws, run *b, run *f)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "in.csv");
    tu_write_file(path, data, len);
    read_buffer(data, len, path, delim, ws, b);
    read_path(path, delim, ws, f);
    ck_assert_int_eq(f->st, b->st);
    ck_assert_uint_eq(f->records, b->records);
    ck_assert(f->repr.len == b->repr.len && memcmp(f->repr.p, b->repr.p, b->repr.len) == 0);
    ck_assert_str_eq(f->err, b->err);
    if (b->st != CVM_OK) {
        ck_assert_msg(strncmp(b->err, path, strlen(path)) == 0, "message '%s' does not name %s",
                      b->err, path);
    } else {
        ck_assert_uint_eq(b->offset, len);
        ck_assert_uint_eq(f->offset, len);
    }
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
}

static void expect_n(const char *data, size_t len, char delim, int ws, const char *want)
{
    run b = {0}, f = {0};
    read_both(data, len, delim, ws, &b, &f);
    ck_assert_msg(b.st == CVM_OK, "status %d: %s", (int)b.st, b.err);
    ck_assert_str_eq(b.repr.p, want);
    run_free(&b);
    run_free(&f);
}

static void expect(const char *data, char delim, int ws, const char *want)
{
    expect_n(data, strlen(data), delim, ws, want);
}

/* `where` is "LINE:COL: problem"; the message must be "NAME:LINE:COL: problem". */
static void expect_error_n(const char *data, size_t len, char delim, int ws, cvm_status st,
                           const char *where)
{
    run b = {0}, f = {0};
    char want[256];
    read_both(data, len, delim, ws, &b, &f);
    ck_assert_msg(b.st == st, "status %d (%s), want %d", (int)b.st, b.err, (int)st);
    snprintf(want, sizeof want, ":%s", where);
    ck_assert_msg(strstr(b.err, want) != NULL, "message '%s' lacks '%s'", b.err, want);
    ck_assert_str_eq(strstr(b.err, want), want); /* and ends there */
    run_free(&b);
    run_free(&f);
}

static void expect_error(const char *data, char delim, int ws, cvm_status st, const char *where)
{
    expect_error_n(data, strlen(data), delim, ws, st, where);
}

START_TEST(basic_records)
{
    expect("id,date,amount\n1,1997-01-01,29.33\n2,1997-01-02,0.5\n", ',', 0,
           "1:[id][date][amount]\n2:[1][1997-01-01][29.33]\n3:[2][1997-01-02][0.5]\n");
    expect("a,,b,\n,\n", ',', 0, "1:[a][][b][]\n2:[][]\n");
    expect("one\n", ',', 0, "1:[one]\n");
    expect("  a , b  \n", ',', 0, "1:[  a ][ b  ]\n");
}
END_TEST

START_TEST(quoting)
{
    expect("\"a,b\",c\n", ',', 0, "1:[a,b][c]\n");
    expect("\"he said \"\"hi\"\"\",x\n", ',', 0, "1:[he said \"hi\"][x]\n");
    expect("\"\"\"\"\n", ',', 0, "1:[\"]\n");
    expect("\"a\"\"\"\"b\"\n", ',', 0, "1:[a\"\"b]\n");
    expect("\"\"\n", ',', 0, "1:[]\n"); /* an empty quoted field is not a blank line */
    expect("a,\"\"\n", ',', 0, "1:[a][]\n");
    expect("\"\",\"\"\n", ',', 0, "1:[][]\n");
    expect("\"x\r\ny\"\n", ',', 0, "1:[x\r\ny]\n");
    /* A quote inside an unquoted field is an ordinary byte. */
    expect("ab\"c,d\"\n", ',', 0, "1:[ab\"c][d\"]\n");
    expect(" \"a\",b\n", ',', 0, "1:[ \"a\"][b]\n");
    /* Several escaped fields in one record, between plain ones. */
    expect("\"1\"\"\",p,\"2\"\"\"\"\",q,\"3\"\"\"\n", ',', 0,
           "1:[1\"][p][2\"\"][q][3\"]\n");
}
END_TEST

START_TEST(embedded_newlines)
{
    expect("x,\"line1\nline2\",y\nnext,1\n", ',', 0,
           "1:[x][line1\nline2][y]\n3:[next][1]\n");
    expect("\"a\n\n\nb\"\n\"c\"\n", ',', 0, "1:[a\n\n\nb]\n5:[c]\n");
    expect("h\n\"\n\"\n\nz\n", ',', 0, "1:[h]\n2:[\n]\n5:[z]\n");
}
END_TEST

START_TEST(line_endings)
{
    expect("a,b\r\nc,d\r\n", ',', 0, "1:[a][b]\n2:[c][d]\n");
    expect("\"a\"\r\n\"b\",\"c\"\r\n", ',', 0, "1:[a]\n2:[b][c]\n");
    expect("a\rb,c\n", ',', 0, "1:[a\rb][c]\n"); /* a CR not before LF is data */
    expect("a,\r\n", ',', 0, "1:[a][]\n");
    expect("a,b\r", ',', 0, "1:[a][b]\n");
    expect("\"a\"\r", ',', 0, "1:[a]\n");
    expect("a,b\r\r\n", ',', 0, "1:[a][b\r]\n");
}
END_TEST

START_TEST(no_final_newline)
{
    expect("a,b\nc,d", ',', 0, "1:[a][b]\n2:[c][d]\n");
    expect("a,b\nc,", ',', 0, "1:[a][b]\n2:[c][]\n");
    expect("a,\"b\"", ',', 0, "1:[a][b]\n");
    expect("x", ',', 0, "1:[x]\n");
}
END_TEST

START_TEST(bom)
{
    expect("\xEF\xBB\xBFid,x\n1,2\n", ',', 0, "1:[id][x]\n2:[1][2]\n");
    expect("\xEF\xBB\xBF\"id\"\n", ',', 0, "1:[id]\n");
    expect("\xEF\xBB\xBF", ',', 0, "");
    expect("\xEF\xBB\xBF\n\nx\n", ',', 0, "3:[x]\n");
    /* Only at the very start. */
    expect("a\n\xEF\xBB\xBF" "b\n", ',', 0, "1:[a]\n2:[\xEF\xBB\xBF" "b]\n");
    expect("\xEF\xBB", ',', 0, "1:[\xEF\xBB]\n");
}
END_TEST

START_TEST(blank_lines)
{
    expect("\n\na\n\r\n\nb\n\n", ',', 0, "3:[a]\n6:[b]\n");
    expect("\n", ',', 0, "");
    expect("\r\n\r\n", ',', 0, "");
    expect("a\n\n", ',', 0, "1:[a]\n");
    expect(" \n", ',', 0, "1:[ ]\n"); /* blanks are data outside whitespace mode */
}
END_TEST

START_TEST(empty_input)
{
    run r = {0};
    expect("", ',', 0, "");
    expect("", ',', 1, "");
    read_buffer(NULL, 0, NULL, ',', 0, &r);
    ck_assert_int_eq(r.st, CVM_OK);
    ck_assert_uint_eq(r.records, 0);
    ck_assert_uint_eq(r.offset, 0);
    run_free(&r);
}
END_TEST

START_TEST(whitespace_mode)
{
    expect("  00004 0001 19970101 2  29.33\r\n", ',', 1,
           "1:[00004][0001][19970101][2][29.33]\n");
    expect("a\tb  \t c\n\n   \t\r\n d\n", ',', 1, "1:[a][b][c]\n4:[d]\n");
    expect("\"a b\" c,d", ',', 1, "1:[\"a][b\"][c,d]\n"); /* no quoting, no delimiter */
    expect("   ", ',', 1, "");
    expect("x", '"', 1, "1:[x]\n"); /* the delimiter is ignored */
    expect("\xEF\xBB\xBF  a b\n", ',', 1, "1:[a][b]\n");
}
END_TEST

START_TEST(delimiters)
{
    expect("a;b,c\n\"x;y\";z\n", ';', 0, "1:[a][b,c]\n2:[x;y][z]\n");
    expect("a\tb c\n\t\n", '\t', 0, "1:[a][b c]\n2:[][]\n");
    expect("a|b\n", '|', 0, "1:[a][b]\n");
    expect("a b  c\n", ' ', 0, "1:[a][b][][c]\n");
}
END_TEST

static void expect_columns(const char *data, char delim, int ws, const uint32_t *cols, size_t n)
{
    cvm_allocator a;
    cvm__csv *r = NULL;
    const cvm__csv_field *f;
    size_t got = 0, i;
    char err[CVM__ERRMSG_LEN];
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    ck_assert_int_eq(
        cvm__csv_open_buffer(&r, &a, data, strlen(data), "c", delim, ws, err, sizeof err),
        CVM_OK);
    ck_assert_int_eq(cvm__csv_next(r, &f, &got, err, sizeof err), CVM_OK);
    ck_assert_uint_eq(got, n);
    for (i = 0; i < n; i++) {
        ck_assert_uint_eq(f[i].column, cols[i]);
    }
    cvm__csv_close(r);
}

START_TEST(columns)
{
    static const uint32_t c1[] = {1, 4, 8, 9};
    static const uint32_t c2[] = {1, 3, 4}; /* "b" starts line 2 col 1; y at col 4 */
    static const uint32_t c3[] = {3, 9, 14, 23, 26};
    static const uint32_t c4[] = {1, 7};
    static const uint32_t c5[] = {1};
    expect_columns("ab,cde,,f\n", ',', 0, c1, 4);
    expect_columns("x,\"a\nb\",y\n", ',', 0, c2, 3);
    expect_columns("  00004 0001 19970101 2  29.33\r\n", ',', 1, c3, 5);
    expect_columns("\"a\"\"\",b\n", ',', 0, c4, 2);
    expect_columns("\xEF\xBB\xBFid\n", ',', 0, c5, 1);
}
END_TEST

START_TEST(errors)
{
    expect_error("a,\"b\"c\n", ',', 0, CVM_E_PARSE, "1:6: text after closing quote");
    expect_error("h\n\"x\" ,y\n", ',', 0, CVM_E_PARSE, "2:4: text after closing quote");
    expect_error("\"a\"\rb\n", ',', 0, CVM_E_PARSE, "1:4: text after closing quote");
    expect_error("a\n\"bc\nd", ',', 0, CVM_E_PARSE,
                 "3:2: unterminated quoted field (opened at line 2)");
    expect_error("\"", ',', 0, CVM_E_PARSE, "1:2: unterminated quoted field (opened at line 1)");
    expect_error_n("a,b\0c\n", 6, ',', 0, CVM_E_PARSE, "1:4: NUL byte");
    expect_error_n("ok\n\"x\ny\0\"\n", 10, ',', 0, CVM_E_PARSE, "3:2: NUL byte");
    expect_error_n("\"x\"\0\n", 5, ',', 0, CVM_E_PARSE, "1:4: NUL byte");
    expect_error_n("\0", 1, ',', 0, CVM_E_PARSE, "1:1: NUL byte");
    expect_error_n("a b\n  \0\n", 8, ',', 1, CVM_E_PARSE, "2:3: NUL byte");
    expect_error_n("a b\n  c\0\n", 9, ',', 1, CVM_E_PARSE, "2:4: NUL byte");
}
END_TEST

START_TEST(error_stops_after_good_records)
{
    run b = {0}, f = {0};
    const char *data = "a,b\nc,d\n\"e\"x\nf\n";
    read_both(data, strlen(data), ',', 0, &b, &f);
    ck_assert_int_eq(b.st, CVM_E_PARSE);
    ck_assert_uint_eq(b.records, 2);
    ck_assert_str_eq(b.repr.p, "1:[a][b]\n2:[c][d]\n");
    run_free(&b);
    run_free(&f);
}
END_TEST

START_TEST(buffer_name)
{
    run r = {0};
    read_buffer("\"x", 2, NULL, ',', 0, &r);
    ck_assert_int_eq(r.st, CVM_E_PARSE);
    ck_assert_str_eq(r.err, "<buffer>:1:3: unterminated quoted field (opened at line 1)");
    run_free(&r);
    read_buffer("a,\"b\"c", 6, "orders.csv", ',', 0, &r);
    ck_assert_str_eq(r.err, "orders.csv:1:6: text after closing quote");
    run_free(&r);
}
END_TEST

START_TEST(open_errors)
{
    cvm_allocator a;
    cvm__csv *r = (cvm__csv *)&a;
    char err[CVM__ERRMSG_LEN];
    char *dir = tu_tmpdir(), *path = tu_join(dir, "missing.csv");
    const cvm__csv_field *f;
    size_t n;
    cvm_status st;
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    ck_assert_int_eq(cvm__csv_open_file(&r, &a, path, ',', 0, err, sizeof err), CVM_E_IO);
    ck_assert_ptr_null(r);
    ck_assert(strncmp(err, path, strlen(path)) == 0);
    ck_assert_ptr_nonnull(strstr(err, ": cannot open: "));
    r = (cvm__csv *)&a;
    ck_assert_int_eq(cvm__csv_open_buffer(&r, &a, "x", 1, "n", '"', 0, err, sizeof err),
                     CVM_E_INVALID);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(cvm__csv_open_buffer(&r, &a, "x", 1, "n", '\n', 0, err, sizeof err),
                     CVM_E_INVALID);
    ck_assert_int_eq(cvm__csv_open_buffer(&r, &a, NULL, 1, "n", ',', 0, err, sizeof err),
                     CVM_E_INVALID);
    /* A directory opens on some systems and fails at the first read. */
    st = cvm__csv_open_file(&r, &a, dir, ',', 0, err, sizeof err);
    if (st == CVM_OK) {
        st = cvm__csv_next(r, &f, &n, err, sizeof err);
        cvm__csv_close(r);
    }
    ck_assert_int_eq(st, CVM_E_IO);
    ck_assert(strncmp(err, dir, strlen(dir)) == 0);
    cvm__csv_close(NULL);
    rmdir(dir);
    free(path);
    free(dir);
}
END_TEST

/* ---- limits and chunk boundaries (~1 MiB inputs) ---- */

START_TEST(record_too_long)
{
    sbuf s = {0};
    sb_str(&s, "h\n");
    sb_rep(&s, 'x', MAXREC + MAXREC / 2);
    sb_str(&s, "\nz\n");
    expect_error_n(s.p, s.len, ',', 0, CVM_E_PARSE, "2:1: record longer than 1048576 bytes");
    expect_error_n(s.p, s.len, ',', 1, CVM_E_PARSE, "2:1: record longer than 1048576 bytes");
    /* One byte over, as many fields, at the end of input. */
    s.len = 0;
    sb_str(&s, "h\n\n");
    sb_rep(&s, ',', MAXREC);
    sb_str(&s, "x");
    expect_error_n(s.p, s.len, ',', 0, CVM_E_PARSE, "3:1: record longer than 1048576 bytes");
    /* Inside a quoted field with newlines: the record's start line. */
    s.len = 0;
    sb_str(&s, "h\n\"");
    sb_rep(&s, '\n', MAXREC);
    sb_str(&s, "\"\n");
    expect_error_n(s.p, s.len, ',', 0, CVM_E_PARSE, "2:1: record longer than 1048576 bytes");
    free(s.p);
}
END_TEST

static void expect_one_long_field(const char *prefix, size_t flen, const char *suffix)
{
    sbuf s = {0};
    run b = {0}, f = {0};
    sb_str(&s, prefix);
    sb_rep(&s, 'y', flen);
    sb_str(&s, suffix);
    read_both(s.p, s.len, ',', 0, &b, &f);
    ck_assert_msg(b.st == CVM_OK, "%s", b.err);
    ck_assert_uint_eq(b.records, 3);
    free(s.p);
    run_free(&b);
    run_free(&f);
}

START_TEST(longest_records_fit)
{
    /* A field of MAX-1 bytes, and records of exactly MAX bytes, LF or CRLF,
     * straddling the first chunk. */
    expect_one_long_field("id\n", MAXREC - 1, "\nlast\n");
    expect_one_long_field("id\n", MAXREC, "\nlast\n");
    expect_one_long_field("id\n", MAXREC, "\r\nlast\r\n");
    expect_one_long_field("id\n\"", MAXREC - 2, "\"\r\nlast");
    expect_one_long_field("id\n", MAXREC - 2, ",\nlast");
}
END_TEST

/* Reads `s` both ways, checks they agree and that the records `want`
 * appear, in order, somewhere in the reading. */
static void expect_around_chunk(const sbuf *s, const char *want)
{
    run b = {0}, f = {0};
    read_both(s->p, s->len, ',', 0, &b, &f);
    ck_assert_msg(b.st == CVM_OK, "%s", b.err);
    ck_assert_msg(strstr(b.repr.p, want) != NULL, "'%s' not read", want);
    ck_assert_ptr_null(strchr(b.repr.p, '\r'));
    run_free(&b);
    run_free(&f);
}

START_TEST(chunk_boundaries)
{
    sbuf s = {0};
    char want[128];
    size_t lines;
    /* CRLF split: '\r' is the last byte of the first chunk. */
    sb_pad_to(&s, CHUNK - 4);
    sb_str(&s, "a,b\r\nc,d\r\n");
    ck_assert(s.p[CHUNK - 1] == '\r' && s.p[CHUNK] == '\n');
    lines = 0;
    for (size_t i = 0; i < CHUNK - 4; i++) {
        lines += s.p[i] == '\n';
    }
    snprintf(want, sizeof want, "\n%zu:[a][b]\n%zu:[c][d]\n", lines + 1, lines + 2);
    expect_around_chunk(&s, want);
    /* A "" escape split between the chunks. */
    s.len = 0;
    sb_pad_to(&s, CHUNK - 3);
    sb_str(&s, "\"x\"\"y\",z\n");
    ck_assert(s.p[CHUNK - 1] == '"' && s.p[CHUNK] == '"');
    expect_around_chunk(&s, "[x\"y][z]\n");
    /* A closing quote last in the chunk, CRLF after it. */
    s.len = 0;
    sb_pad_to(&s, CHUNK - 3);
    sb_str(&s, "\"q\"\r\nnext\n");
    expect_around_chunk(&s, "[q]\n");
    /* A closing quote then CR ending the chunk. */
    s.len = 0;
    sb_pad_to(&s, CHUNK - 4);
    sb_str(&s, "\"q\"\r\nnext\n");
    ck_assert(s.p[CHUNK - 1] == '\r');
    expect_around_chunk(&s, "[q]\n");
    /* ... and then not LF. */
    s.len = 0;
    sb_pad_to(&s, CHUNK - 4);
    lines = 0;
    for (size_t i = 0; i < CHUNK - 4; i++) {
        lines += s.p[i] == '\n';
    }
    sb_str(&s, "\"q\"\rx\n");
    snprintf(want, sizeof want, "%zu:4: text after closing quote", lines + 1);
    expect_error_n(s.p, s.len, ',', 0, CVM_E_PARSE, want);
    /* A record ending exactly at the chunk end. */
    s.len = 0;
    sb_pad_to(&s, CHUNK - 4);
    sb_str(&s, "a,b\nc\n");
    expect_around_chunk(&s, "[a][b]\n");
    /* A delimiter last in the chunk. */
    s.len = 0;
    sb_pad_to(&s, CHUNK - 2);
    sb_str(&s, "a,b\n");
    ck_assert(s.p[CHUNK - 1] == ',');
    expect_around_chunk(&s, "[a][b]\n");
    /* A quoted newline on the boundary: line numbers carry on. */
    s.len = 0;
    sb_pad_to(&s, CHUNK - 3);
    sb_str(&s, "\"l1\nl2\",z\nw\n");
    lines = 0;
    for (size_t i = 0; i < CHUNK - 3; i++) {
        lines += s.p[i] == '\n';
    }
    snprintf(want, sizeof want, "\n%zu:[l1\nl2][z]\n%zu:[w]\n", lines + 1, lines + 3);
    expect_around_chunk(&s, want);
    /* A blank CRLF line split by the boundary. */
    s.len = 0;
    sb_pad_to(&s, CHUNK - 1);
    sb_str(&s, "\r\nlast\n");
    expect_around_chunk(&s, "[last]\n");
    free(s.p);
}
END_TEST

START_TEST(many_chunks)
{
    /* 5 MiB of varied records: file and buffer readings agree throughout. */
    sbuf s = {0};
    run b = {0}, f = {0};
    unsigned i = 0;
    char line[128];
    while (s.len < 5 * CHUNK) {
        int k;
        if (i % 7 == 0) {
            k = snprintf(line, sizeof line, "%u,\"q\"\"%u\nz\",%u.5\r\n", i, i % 28 + 1, i);
        } else {
            k = snprintf(line, sizeof line, "%u,1997-01-%02u,%u.25\n", i, i % 28 + 1, i);
        }
        sb_add(&s, line, (size_t)k);
        i++;
    }
    read_both(s.p, s.len, ',', 0, &b, &f);
    ck_assert_int_eq(b.st, CVM_OK);
    ck_assert_uint_eq(b.records, i);
    free(s.p);
    run_free(&b);
    run_free(&f);
}
END_TEST

/* ---- allocation failures ---- */

static void oom_loop(const char *data, size_t len, const char *path, int ws)
{
    run ref = {0};
    size_t fail_at;
    cvm_allocator libc;
    ck_assert_int_eq(cvm__allocator_copy(&libc, NULL), CVM_OK);
    if (path) {
        read_path(path, ',', ws, &ref);
    } else {
        read_buffer(data, len, "m", ',', ws, &ref);
    }
    ck_assert_int_eq(ref.st, CVM_OK);
    for (fail_at = 1;; fail_at++) {
        tu_failing state = {0};
        cvm_allocator a = tu_failing_allocator(&state);
        cvm__csv *r = NULL;
        run got = {0};
        cvm_status st;
        state.fail_at = fail_at;
        st = path ? cvm__csv_open_file(&r, &a, path, ',', ws, got.err, sizeof got.err)
                  : cvm__csv_open_buffer(&r, &a, data, len, "m", ',', ws, got.err,
                                         sizeof got.err);
        if (st == CVM_OK) {
            read_all(r, &got);
            st = got.st;
            cvm__csv_close(r);
        } else {
            ck_assert_ptr_null(r);
        }
        ck_assert_msg(state.live == 0, "fail_at %zu: %ld blocks leaked", fail_at, state.live);
        if (st == CVM_OK) {
            ck_assert_str_eq(got.repr.p, ref.repr.p);
            run_free(&got);
            break;
        }
        ck_assert_int_eq(st, CVM_E_NOMEM);
        ck_assert_ptr_nonnull(strstr(got.err, "out of memory"));
        run_free(&got);
    }
    ck_assert_uint_ge(fail_at, 4); /* struct, name, fields, then growth */
    run_free(&ref);
}

START_TEST(oom_buffer)
{
    /* 40 fields (the field array grows) and escaped quotes (scratch). */
    sbuf s = {0};
    int i;
    sb_str(&s, "h\n");
    for (i = 0; i < 40; i++) {
        sb_str(&s, i % 3 == 0 ? "\"a\"\"b\"," : "c,");
    }
    sb_str(&s, "\"\"\"\"\n\"long \"\" field\"\n");
    oom_loop(s.p, s.len, NULL, 0);
    oom_loop(s.p, s.len, NULL, 1);
    free(s.p);
}
END_TEST

START_TEST(oom_file)
{
    /* A record of MAX bytes after a short line: the window must grow. */
    sbuf s = {0};
    char *dir = tu_tmpdir(), *path = tu_join(dir, "oom.csv");
    int i;
    sb_str(&s, "h\n");
    for (i = 0; i < 40; i++) {
        sb_str(&s, "\"a\"\"b\",");
    }
    sb_rep(&s, 'z', MAXREC - (s.len - 2));
    sb_str(&s, "\nlast\n");
    tu_write_file(path, s.p, s.len);
    oom_loop(NULL, 0, path, 0);
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
    free(s.p);
}
END_TEST

static Suite *csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("syntax");
    tcase_add_test(tc, basic_records);
    tcase_add_test(tc, quoting);
    tcase_add_test(tc, embedded_newlines);
    tcase_add_test(tc, line_endings);
    tcase_add_test(tc, no_final_newline);
    tcase_add_test(tc, bom);
    tcase_add_test(tc, blank_lines);
    tcase_add_test(tc, empty_input);
    tcase_add_test(tc, whitespace_mode);
    tcase_add_test(tc, delimiters);
    tcase_add_test(tc, columns);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, error_stops_after_good_records);
    tcase_add_test(tc, buffer_name);
    tcase_add_test(tc, open_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, record_too_long);
    tcase_add_test(tc, longest_records_fit);
    tcase_add_test(tc, chunk_boundaries);
    tcase_add_test(tc, many_chunks);
    tcase_add_test(tc, oom_buffer);
    tcase_add_test(tc, oom_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(csv_suite());
}
