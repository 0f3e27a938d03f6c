/* Tests for CRC-32 (src/core/crc32.c), little-endian helpers and snapshot
 * files (src/core/snapshot.c). */
#include "core/core_int.h"
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Four ASCII letters, read as a little-endian u32. */
#define KIND 0x54534554u        /* "TEST" */
#define TAG_META 0x4154454Du    /* "META" */
#define TAG_EMPTY 0x54504D45u   /* "EMPT" */
#define TAG_BIG 0x21474942u     /* "BIG!" */
#define TAG_MISSING 0x454E4F4Eu /* "NONE" */

/* ---- helpers ---------------------------------------------------------- */

/* A throwaway generator for test data, independent of rng.c. */
static uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
    size_t i;
    uint32_t s = seed | 1u;
    for (i = 0; i < n; i++) {
        p[i] = (unsigned char)(xorshift32(&s) >> 24);
    }
}

/* The textbook bit-at-a-time CRC-32, as the reference for the sliced one. */
static uint32_t crc32_bitwise(uint32_t crc, const unsigned char *p, size_t n)
{
    size_t i;
    int k;
    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}



static const char meta_text[] = "libcvm test snapshot";

/* A small snapshot: META, an empty section, and a 100-byte one. */
static cvm_status write_small(const char *path, const cvm_allocator *a, char *err, size_t errlen)
{
    unsigned char data[100];
    cvm__snap_writer *w;
    cvm_status st;
    fill(data, sizeof data, 7);
    st = cvm__snap_create(&w, a, path, KIND, err, errlen);
    if (st != CVM_OK) {
        ck_assert_ptr_null(w);
        return st;
    }
    ck_assert_int_eq(cvm__snap_begin(w, TAG_META, sizeof meta_text), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, meta_text, sizeof meta_text), CVM_OK);
    ck_assert_int_eq(cvm__snap_end(w), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_EMPTY, 0), CVM_OK);
    ck_assert_int_eq(cvm__snap_end(w), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_BIG, sizeof data), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, data, 40), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, data + 40, 60), CVM_OK);
    ck_assert_int_eq(cvm__snap_end(w), CVM_OK);
    return cvm__snap_commit(w);
}

static cvm_allocator libc_allocator(void)
{
    cvm_allocator a;
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    return a;
}

/* Open `path` expecting failure with one of the two damage statuses. */
static void expect_damaged(const char *path, const char *what, size_t i)
{
    cvm_allocator a = libc_allocator();
    cvm__snap_reader *r = (cvm__snap_reader *)&a; /* must be reset to NULL */
    char err[CVM__ERRMSG_LEN] = "";
    cvm_status st = cvm__snap_open(&r, &a, path, KIND, err, sizeof err);
    ck_assert_msg(st == CVM_E_FORMAT, "%s %zu: status %d", what, i,
                  (int)st);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(err, path) != NULL, "%s %zu: message '%s'", what, i, err);
}

/* ---- CRC-32 ----------------------------------------------------------- */

START_TEST(test_crc32_vector)
{
    ck_assert_uint_eq(cvm__crc32(0, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(cvm__crc32(0, "", 0), 0);
    ck_assert_uint_eq(cvm__crc32(0, NULL, 0), 0);
    ck_assert_uint_eq(cvm__crc32(0, "a", 1), 0xE8B7BE43u);
    ck_assert_uint_eq(cvm__crc32(0, "The quick brown fox jumps over the lazy dog", 43),
                      0x414FA339u);
}
END_TEST

START_TEST(test_crc32_chaining)
{
    enum { N = 10007 };
    unsigned char *buf = malloc(N);
    uint32_t whole, crc;
    size_t cut, pos, step;
    ck_assert_ptr_nonnull(buf);
    fill(buf, N, 1);
    whole = cvm__crc32(0, buf, N);
    for (cut = 0; cut <= 17; cut++) {
        crc = cvm__crc32(cvm__crc32(0, buf, cut), buf + cut, N - cut);
        ck_assert_uint_eq(crc, whole);
    }
    for (step = 1; step <= 13; step++) {
        crc = 0;
        for (pos = 0; pos < N; pos += step) {
            crc = cvm__crc32(crc, buf + pos, pos + step <= N ? step : N - pos);
        }
        ck_assert_uint_eq(crc, whole);
    }
    free(buf);
}
END_TEST

/* Every length 0..300 at every start offset 0..7 covers each alignment and
 * tail length of the 8-byte loop; a few large buffers cover long runs. */
START_TEST(test_crc32_vs_bitwise)
{
    enum { N = 1 << 16 };
    unsigned char *buf = malloc(N + 8);
    size_t off, len;
    uint32_t s = 12345;
    int k;
    ck_assert_ptr_nonnull(buf);
    fill(buf, N + 8, 99);
    for (off = 0; off < 8; off++) {
        for (len = 0; len <= 300; len++) {
            ck_assert_uint_eq(cvm__crc32(0, buf + off, len), crc32_bitwise(0, buf + off, len));
        }
    }
    for (k = 0; k < 20; k++) {
        uint32_t seed = xorshift32(&s);
        len = xorshift32(&s) % N;
        fill(buf, len, seed);
        ck_assert_uint_eq(cvm__crc32(seed, buf, len), crc32_bitwise(seed, buf, len));
    }
    free(buf);
}
END_TEST

/* ---- little-endian helpers ------------------------------------------- */

START_TEST(test_le_helpers)
{
    unsigned char b[8];
    static const unsigned char want32[4] = {0x78, 0x56, 0x34, 0x12};
    static const unsigned char want64[8] = {0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01};
    cvm__put_u32(b, 0x12345678u);
    ck_assert_mem_eq(b, want32, 4);
    ck_assert_uint_eq(cvm__get_u32(b), 0x12345678u);
    cvm__put_u64(b, UINT64_C(0x0123456789ABCDEF));
    ck_assert_mem_eq(b, want64, 8);
    ck_assert_uint_eq(cvm__get_u64(b), UINT64_C(0x0123456789ABCDEF));
    cvm__put_u64(b, UINT64_MAX);
    ck_assert_uint_eq(cvm__get_u64(b), UINT64_MAX);
    ck_assert_uint_eq(cvm__get_u32(b + 4), 0xFFFFFFFFu);
}
END_TEST

/* ---- round trip and layout -------------------------------------------- */

START_TEST(test_round_trip)
{
    enum { BIG = 3 * 1024 * 1024 + 517, CHUNK = 4099 };
    char *dir = tu_tmpdir(), *path = tu_join(dir, "snap.bin");
    unsigned char *big = malloc(BIG);
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN] = "";
    cvm__snap_writer *w;
    cvm__snap_reader *r;
    const unsigned char *data;
    uint64_t len;
    size_t pos;
    ck_assert_ptr_nonnull(big);
    fill(big, BIG, 3);

    ck_assert_int_eq(cvm__snap_create(&w, &a, path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_META, sizeof meta_text), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, meta_text, sizeof meta_text), CVM_OK);
    ck_assert_int_eq(cvm__snap_end(w), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_EMPTY, 0), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, NULL, 0), CVM_OK);
    ck_assert_int_eq(cvm__snap_end(w), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_BIG, BIG), CVM_OK);
    for (pos = 0; pos < BIG; pos += CHUNK) {
        ck_assert_int_eq(cvm__snap_write(w, big + pos, pos + CHUNK <= BIG ? CHUNK : BIG - pos),
                         CVM_OK);
    }
    ck_assert_int_eq(cvm__snap_end(w), CVM_OK);
    /* A second META: cvm__snap_find returns the first. */
    ck_assert_int_eq(cvm__snap_begin(w, TAG_META, 3), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, "xyz", 3), CVM_OK);
    ck_assert_int_eq(cvm__snap_end(w), CVM_OK);
    ck_assert_int_eq(cvm__snap_commit(w), CVM_OK);
    ck_assert_int_eq(tu_count_entries(dir), 1); /* no temporary file left */

    ck_assert_int_eq(cvm__snap_open(&r, &a, path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_find(r, TAG_META, &data, &len, err, sizeof err), CVM_OK);
    ck_assert_uint_eq(len, sizeof meta_text);
    ck_assert_mem_eq(data, meta_text, sizeof meta_text);
    ck_assert_int_eq(cvm__snap_find(r, TAG_EMPTY, &data, &len, err, sizeof err), CVM_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(cvm__snap_find(r, TAG_BIG, &data, &len, err, sizeof err), CVM_OK);
    ck_assert_uint_eq(len, BIG);
    ck_assert(memcmp(data, big, BIG) == 0);
    ck_assert_int_eq(cvm__snap_find(r, TAG_MISSING, &data, &len, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "'NONE'"));
    cvm__snap_close(r);

    free(big);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

/* The byte layout documented in core_int.h, checked independently. */
START_TEST(test_layout)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "snap.bin");
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN];
    unsigned char *f, *s;
    size_t n, off;
    ck_assert_int_eq(write_small(path, &a, err, sizeof err), CVM_OK);
    f = (unsigned char *)tu_read_file(path, &n);
    ck_assert_uint_eq(n, 24 + (16 + sizeof meta_text + 4) + (16 + 0 + 4) + (16 + 100 + 4) + 20);
    ck_assert_mem_eq(f, "CVMSNAP\0", 8);
    ck_assert_uint_eq(cvm__get_u32(f + 8), CVM__SNAP_VERSION);
    ck_assert_uint_eq(cvm__get_u32(f + 12), KIND);
    ck_assert_uint_eq(cvm__get_u32(f + 16), 0);
    ck_assert_uint_eq(cvm__get_u32(f + 20), crc32_bitwise(0, f, 20));
    s = f + 24;
    ck_assert_uint_eq(cvm__get_u32(s), TAG_META);
    ck_assert_uint_eq(cvm__get_u32(s + 4), 0);
    ck_assert_uint_eq(cvm__get_u64(s + 8), sizeof meta_text);
    ck_assert_mem_eq(s + 16, meta_text, sizeof meta_text);
    ck_assert_uint_eq(cvm__get_u32(s + 16 + sizeof meta_text),
                      crc32_bitwise(0, s, 16 + sizeof meta_text));
    off = n - 20;
    ck_assert_uint_eq(cvm__get_u32(f + off), CVM__SNAP_END);
    ck_assert_uint_eq(cvm__get_u32(f + off + 4), 0);
    ck_assert_uint_eq(cvm__get_u64(f + off + 8), 0);
    ck_assert_uint_eq(cvm__get_u32(f + off + 16), crc32_bitwise(0, f + off, 16));
    free(f);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

/* ---- reader: rejected files ------------------------------------------- */

/* Rewrite bytes [at, at + n) of the file and refresh the header CRC, so the
 * reader gets past the checksum to the check being tested. */
static void patch_header(const char *path, size_t at, const void *bytes, size_t n)
{
    size_t len;
    unsigned char *f = (unsigned char *)tu_read_file(path, &len);
    memcpy(f + at, bytes, n);
    cvm__put_u32(f + 20, crc32_bitwise(0, f, 20));
    tu_write_file(path, f, len);
    free(f);
}

static cvm_status open_status(const char *path, uint32_t kind, char *err, size_t errlen)
{
    cvm_allocator a = libc_allocator();
    cvm__snap_reader *r = NULL;
    cvm_status st = cvm__snap_open(&r, &a, path, kind, err, errlen);
    cvm__snap_close(r);
    return st;
}

START_TEST(test_wrong_kind_version_flags)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "snap.bin");
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN];
    unsigned char b[4];
    ck_assert_int_eq(write_small(path, &a, err, sizeof err), CVM_OK);

    ck_assert_int_eq(open_status(path, 0x59444F42u, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "holds kind 'TEST', expected 'BODY'"));
    ck_assert_int_eq(open_status(path, 1, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "holds kind 'TEST', expected 1"));

    cvm__put_u32(b, 2);
    patch_header(path, 8, b, 4);
    ck_assert_int_eq(open_status(path, KIND, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_nonnull(
        strstr(err, "snapshot format version 2 is not supported (this library reads 1)"));

    cvm__put_u32(b, 1);
    patch_header(path, 8, b, 4);
    ck_assert_int_eq(open_status(path, KIND, err, sizeof err), CVM_OK);
    cvm__put_u32(b, 4);
    patch_header(path, 16, b, 4);
    ck_assert_int_eq(open_status(path, KIND, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "flags"));
    free(path);
    tu_remove_tree(dir);
}
END_TEST

START_TEST(test_not_a_snapshot)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "data.csv");
    char err[CVM__ERRMSG_LEN];
    static const char text[] = "id,date,amount\n1,2020-01-01,3.5\n";
    tu_write_file(path, text, sizeof text - 1);
    ck_assert_int_eq(open_status(path, KIND, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "not a libcvm snapshot"));
    ck_assert_ptr_nonnull(strstr(err, path));
    tu_write_file(path, "", 0);
    ck_assert_int_eq(open_status(path, KIND, err, sizeof err), CVM_E_FORMAT);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

START_TEST(test_trailing_and_end_payload)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "snap.bin");
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN];
    unsigned char *f, *g;
    size_t n;
    ck_assert_int_eq(write_small(path, &a, err, sizeof err), CVM_OK);
    f = (unsigned char *)tu_read_file(path, &n);

    /* One extra byte after a valid end marker. */
    g = malloc(n + 1);
    ck_assert_ptr_nonnull(g);
    memcpy(g, f, n);
    g[n] = 0;
    tu_write_file(path, g, n + 1);
    ck_assert_int_eq(open_status(path, KIND, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "after the end marker"));

    /* An end marker with a one-byte payload and a valid CRC. */
    cvm__put_u64(g + n - 12, 1);
    g[n - 4] = 'x';
    cvm__put_u32(g + n - 3, crc32_bitwise(0, g + n - 20, 17));
    tu_write_file(path, g, n + 1);
    ck_assert_int_eq(open_status(path, KIND, err, sizeof err), CVM_E_FORMAT);

    /* A section claiming 2^64 - 1 bytes (its CRC cannot be reached). */
    memcpy(g, f, n);
    cvm__put_u64(g + 24 + 8, UINT64_MAX);
    tu_write_file(path, g, n);
    ck_assert_int_eq(open_status(path, KIND, err, sizeof err), CVM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "truncated"));

    /* Nonzero reserved word in a section, with a valid CRC. */
    memcpy(g, f, n);
    g[24 + 4] = 1;
    cvm__put_u32(g + 24 + 16 + sizeof meta_text, crc32_bitwise(0, g + 24, 16 + sizeof meta_text));
    tu_write_file(path, g, n);
    ck_assert_int_eq(open_status(path, KIND, err, sizeof err), CVM_E_FORMAT);
    free(g);
    free(f);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

START_TEST(test_truncated_every_length)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "snap.bin"), *cut = tu_join(dir, "cut.bin");
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN];
    char *f;
    size_t n, i;
    ck_assert_int_eq(write_small(path, &a, err, sizeof err), CVM_OK);
    f = tu_read_file(path, &n);
    for (i = 0; i < n; i++) {
        tu_write_file(cut, f, i);
        expect_damaged(cut, "prefix", i);
    }
    tu_write_file(cut, f, n);
    ck_assert_int_eq(open_status(cut, KIND, err, sizeof err), CVM_OK);
    free(f);
    free(cut);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

START_TEST(test_corrupted_every_byte_and_bit)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "snap.bin"), *bad = tu_join(dir, "bad.bin");
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN];
    char *f;
    size_t n, i;
    int bit;
    ck_assert_int_eq(write_small(path, &a, err, sizeof err), CVM_OK);
    f = tu_read_file(path, &n);
    for (i = 0; i < n; i++) {
        f[i] = (char)(f[i] ^ 0xFF);
        tu_write_file(bad, f, n);
        expect_damaged(bad, "byte", i);
        f[i] = (char)(f[i] ^ 0xFF);
        for (bit = 0; bit < 8; bit++) {
            f[i] = (char)(f[i] ^ (1 << bit));
            tu_write_file(bad, f, n);
            expect_damaged(bad, "bit at byte", i);
            f[i] = (char)(f[i] ^ (1 << bit));
        }
    }
    free(f);
    free(bad);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

START_TEST(test_open_errors)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "absent.bin");
    char err[CVM__ERRMSG_LEN];
    ck_assert_int_eq(open_status(path, KIND, err, sizeof err), CVM_E_IO);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "cannot open"));
    /* A directory opens but cannot be read (EISDIR), on Linux at least. */
    ck_assert_int_eq(open_status(dir, KIND, err, sizeof err), CVM_E_IO);
    ck_assert_ptr_nonnull(strstr(err, dir));
    free(path);
    tu_remove_tree(dir);
}
END_TEST

/* ---- writer: failures keep the old file -------------------------------- */

typedef struct saved_file {
    char *dir;
    char *path;
    char *bytes;
    size_t len;
} saved_file;

static saved_file save_first_version(void)
{
    saved_file s;
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN];
    s.dir = tu_tmpdir();
    s.path = tu_join(s.dir, "snap.bin");
    ck_assert_int_eq(write_small(s.path, &a, err, sizeof err), CVM_OK);
    s.bytes = tu_read_file(s.path, &s.len);
    return s;
}

static void assert_unchanged(saved_file *s)
{
    size_t len;
    char *now = tu_read_file(s->path, &len);
    ck_assert_uint_eq(len, s->len);
    ck_assert(memcmp(now, s->bytes, len) == 0);
    ck_assert_int_eq(tu_count_entries(s->dir), 1); /* no temporary left */
    free(now);
}

static void saved_free(saved_file *s)
{
    free(s->bytes);
    free(s->path);
    tu_remove_tree(s->dir);
}

START_TEST(test_abort_keeps_previous)
{
    saved_file s = save_first_version();
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN];
    cvm__snap_writer *w;
    ck_assert_int_eq(cvm__snap_create(&w, &a, s.path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(tu_count_entries(s.dir), 2); /* the temporary, beside the target */
    ck_assert_int_eq(cvm__snap_begin(w, TAG_META, 5), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, "hello", 5), CVM_OK);
    ck_assert_int_eq(cvm__snap_end(w), CVM_OK);
    cvm__snap_abort(w);
    assert_unchanged(&s);
    cvm__snap_abort(NULL);
    saved_free(&s);
}
END_TEST

START_TEST(test_length_mismatch_fails_commit)
{
    saved_file s = save_first_version();
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN];
    cvm__snap_writer *w;

    /* Too few bytes: end fails, the writer stays failed, commit refuses. */
    ck_assert_int_eq(cvm__snap_create(&w, &a, s.path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_META, 10), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, "hello", 5), CVM_OK);
    ck_assert_int_eq(cvm__snap_end(w), CVM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, s.path));
    ck_assert_int_eq(cvm__snap_write(w, "world", 5), CVM_E_INVALID);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_EMPTY, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm__snap_commit(w), CVM_E_INVALID);
    assert_unchanged(&s);

    /* Too many bytes. */
    ck_assert_int_eq(cvm__snap_create(&w, &a, s.path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_META, 4), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, "hello", 5), CVM_E_INVALID);
    ck_assert_int_eq(cvm__snap_commit(w), CVM_E_INVALID);
    assert_unchanged(&s);

    /* Commit with a section still open. */
    ck_assert_int_eq(cvm__snap_create(&w, &a, s.path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_META, 4), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, "hell", 4), CVM_OK);
    ck_assert_int_eq(cvm__snap_commit(w), CVM_E_INVALID);
    assert_unchanged(&s);

    /* Misuse: the end tag, nested begin, write or end outside a section. */
    ck_assert_int_eq(cvm__snap_create(&w, &a, s.path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, CVM__SNAP_END, 0), CVM_E_INVALID);
    cvm__snap_abort(w);
    ck_assert_int_eq(cvm__snap_create(&w, &a, s.path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_META, 4), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_META, 4), CVM_E_INVALID);
    cvm__snap_abort(w);
    ck_assert_int_eq(cvm__snap_create(&w, &a, s.path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, "x", 1), CVM_E_INVALID);
    cvm__snap_abort(w);
    ck_assert_int_eq(cvm__snap_create(&w, &a, s.path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_end(w), CVM_E_INVALID);
    ck_assert_int_eq(cvm__snap_commit(w), CVM_E_INVALID);
    assert_unchanged(&s);

    ck_assert_int_eq(cvm__snap_begin(NULL, TAG_META, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm__snap_write(NULL, "x", 1), CVM_E_INVALID);
    ck_assert_int_eq(cvm__snap_end(NULL), CVM_E_INVALID);
    ck_assert_int_eq(cvm__snap_commit(NULL), CVM_E_INVALID);
    saved_free(&s);
}
END_TEST

START_TEST(test_replace_existing)
{
    saved_file s = save_first_version();
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN];
    cvm__snap_writer *w;
    cvm__snap_reader *r;
    const unsigned char *data;
    uint64_t len;
    ck_assert_int_eq(cvm__snap_create(&w, &a, s.path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_EMPTY, 2), CVM_OK);
    ck_assert_int_eq(cvm__snap_write(w, "v2", 2), CVM_OK);
    ck_assert_int_eq(cvm__snap_end(w), CVM_OK);
    ck_assert_int_eq(cvm__snap_commit(w), CVM_OK);
    ck_assert_int_eq(tu_count_entries(s.dir), 1);
    ck_assert_int_eq(cvm__snap_open(&r, &a, s.path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_find(r, TAG_EMPTY, &data, &len, err, sizeof err), CVM_OK);
    ck_assert_uint_eq(len, 2);
    ck_assert_mem_eq(data, "v2", 2);
    ck_assert_int_eq(cvm__snap_find(r, TAG_META, &data, &len, err, sizeof err), CVM_E_FORMAT);
    cvm__snap_close(r);
    cvm__snap_close(NULL);
    saved_free(&s);
}
END_TEST

START_TEST(test_missing_directory)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "no/such/dir/snap.bin");
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN] = "";
    cvm__snap_writer *w = (cvm__snap_writer *)&a;
    ck_assert_int_eq(cvm__snap_create(&w, &a, path, KIND, err, sizeof err), CVM_E_IO);
    ck_assert_ptr_null(w);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "cannot write"));
    ck_assert_int_eq(tu_count_entries(dir), 0);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

/* The rename fails when the target is a directory: commit reports it and
 * leaves the directory and no temporary behind. */
START_TEST(test_rename_failure)
{
    char *dir = tu_tmpdir(), *target = tu_join(dir, "target"), *inner;
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN] = "";
    cvm__snap_writer *w;
    struct stat st;
    ck_assert_int_eq(mkdir(target, 0700), 0);
    inner = tu_join(target, "keep");
    tu_write_file(inner, "x", 1);
    ck_assert_int_eq(cvm__snap_create(&w, &a, target, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_commit(w), CVM_E_IO);
    ck_assert_ptr_nonnull(strstr(err, target));
    ck_assert_ptr_nonnull(strstr(err, "cannot write"));
    ck_assert_int_eq(stat(inner, &st), 0);
    ck_assert_int_eq(tu_count_entries(dir), 1);
    remove(inner);
    rmdir(target);
    free(inner);
    free(target);
    tu_remove_tree(dir);
}
END_TEST

/* A file size limit makes writes fail with EFBIG part way through a large
 * section, exercising the write-error path for real. Check forks each test,
 * but the limit is restored anyway for runs with CK_FORK=no. */
START_TEST(test_write_error)
{
    enum { BIG = 4 * 1024 * 1024, CHUNK = 65536 };
    saved_file s = save_first_version();
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN] = "";
    unsigned char *buf = calloc(1, CHUNK);
    cvm__snap_writer *w;
    struct rlimit old, lim;
    void (*old_handler)(int);
    cvm_status st = CVM_OK;
    size_t pos;
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 1024 * 1024;
    old_handler = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);

    ck_assert_int_eq(cvm__snap_create(&w, &a, s.path, KIND, err, sizeof err), CVM_OK);
    ck_assert_int_eq(cvm__snap_begin(w, TAG_BIG, BIG), CVM_OK);
    for (pos = 0; pos < BIG && st == CVM_OK; pos += CHUNK) {
        st = cvm__snap_write(w, buf, CHUNK);
    }
    ck_assert_int_eq(st, CVM_E_IO);
    ck_assert_int_eq(cvm__snap_write(w, buf, 1), CVM_E_IO); /* stays failed */
    ck_assert_int_eq(cvm__snap_end(w), CVM_E_IO);
    ck_assert_int_eq(cvm__snap_commit(w), CVM_E_IO);
    ck_assert_ptr_nonnull(strstr(err, s.path));
    ck_assert_ptr_nonnull(strstr(err, "cannot write"));

    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_unchanged(&s);
    free(buf);
    saved_free(&s);
}
END_TEST

/* ---- out of memory ---------------------------------------------------- */

START_TEST(test_writer_oom)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "snap.bin");
    char err[CVM__ERRMSG_LEN];
    size_t fail_at;
    for (fail_at = 1;; fail_at++) {
        tu_failing state = {0, fail_at, 0, 0};
        cvm_allocator a = tu_failing_allocator(&state);
        cvm_status st = write_small(path, &a, err, sizeof err);
        ck_assert_int_eq(state.live, 0);
        if (st == CVM_OK) {
            ck_assert_uint_gt(fail_at, 1);
            break;
        }
        ck_assert_int_eq(st, CVM_E_NOMEM);
        ck_assert_int_eq(tu_count_entries(dir), 0);
        ck_assert_uint_lt(fail_at, 100);
    }
    ck_assert_int_eq(tu_count_entries(dir), 1);
    ck_assert_int_eq(open_status(path, KIND, err, sizeof err), CVM_OK);
    free(path);
    tu_remove_tree(dir);
}
END_TEST

/* 20 one-byte sections tagged 0..19, so the reader's index must grow. */
static void write_many(const char *path)
{
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN];
    cvm__snap_writer *w;
    uint32_t tag;
    ck_assert_int_eq(cvm__snap_create(&w, &a, path, KIND, err, sizeof err), CVM_OK);
    for (tag = 0; tag < 20; tag++) {
        unsigned char b = (unsigned char)(100 + tag);
        ck_assert_int_eq(cvm__snap_begin(w, tag, 1), CVM_OK);
        ck_assert_int_eq(cvm__snap_write(w, &b, 1), CVM_OK);
        ck_assert_int_eq(cvm__snap_end(w), CVM_OK);
    }
    ck_assert_int_eq(cvm__snap_commit(w), CVM_OK);
}

START_TEST(test_reader_oom)
{
    char *dir = tu_tmpdir(), *path = tu_join(dir, "snap.bin");
    char err[CVM__ERRMSG_LEN];
    size_t fail_at;
    write_many(path);
    for (fail_at = 1;; fail_at++) {
        tu_failing state = {0, fail_at, 0, 0};
        cvm_allocator a = tu_failing_allocator(&state);
        cvm__snap_reader *r = NULL;
        const unsigned char *data;
        uint64_t len;
        uint32_t tag;
        cvm_status st = cvm__snap_open(&r, &a, path, KIND, err, sizeof err);
        if (st == CVM_OK) {
            for (tag = 0; tag < 20; tag++) {
                ck_assert_int_eq(cvm__snap_find(r, tag, &data, &len, err, sizeof err), CVM_OK);
                ck_assert_uint_eq(len, 1);
                ck_assert_uint_eq(data[0], 100 + tag);
            }
            cvm__snap_close(r);
            ck_assert_int_eq(state.live, 0);
            ck_assert_uint_gt(fail_at, 4); /* struct, path, data, index, regrown index */
            break;
        }
        ck_assert_int_eq(st, CVM_E_NOMEM);
        ck_assert_ptr_null(r);
        ck_assert_ptr_nonnull(strstr(err, "out of memory"));
        ck_assert_int_eq(state.live, 0);
        ck_assert_uint_lt(fail_at, 100);
    }
    free(path);
    tu_remove_tree(dir);
}
END_TEST

START_TEST(test_null_arguments)
{
    cvm_allocator a = libc_allocator();
    char err[CVM__ERRMSG_LEN];
    cvm__snap_writer *w = (cvm__snap_writer *)&a;
    cvm__snap_reader *r = (cvm__snap_reader *)&a;
    const unsigned char *data;
    uint64_t len;
    ck_assert_int_eq(cvm__snap_create(&w, &a, NULL, KIND, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(cvm__snap_create(NULL, &a, "x", KIND, err, sizeof err), CVM_E_INVALID);
    ck_assert_int_eq(cvm__snap_open(&r, &a, NULL, KIND, err, sizeof err), CVM_E_INVALID);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(cvm__snap_open(NULL, &a, "x", KIND, NULL, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm__snap_find(NULL, TAG_META, &data, &len, err, sizeof err), CVM_E_INVALID);
}
END_TEST

static Suite *snapshot_suite(void)
{
    Suite *s = suite_create("snapshot");
    TCase *crc = tcase_create("crc32");
    TCase *rd = tcase_create("reader");
    TCase *wr = tcase_create("writer");
    tcase_add_test(crc, test_crc32_vector);
    tcase_add_test(crc, test_crc32_chaining);
    tcase_add_test(crc, test_crc32_vs_bitwise);
    tcase_add_test(crc, test_le_helpers);
    tcase_set_timeout(rd, 120);
    tcase_add_test(rd, test_round_trip);
    tcase_add_test(rd, test_layout);
    tcase_add_test(rd, test_wrong_kind_version_flags);
    tcase_add_test(rd, test_not_a_snapshot);
    tcase_add_test(rd, test_trailing_and_end_payload);
    tcase_add_test(rd, test_truncated_every_length);
    tcase_add_test(rd, test_corrupted_every_byte_and_bit);
    tcase_add_test(rd, test_open_errors);
    tcase_add_test(rd, test_reader_oom);
    tcase_set_timeout(wr, 120);
    tcase_add_test(wr, test_abort_keeps_previous);
    tcase_add_test(wr, test_length_mismatch_fails_commit);
    tcase_add_test(wr, test_replace_existing);
    tcase_add_test(wr, test_missing_directory);
    tcase_add_test(wr, test_rename_failure);
    tcase_add_test(wr, test_write_error);
    tcase_add_test(wr, test_writer_oom);
    tcase_add_test(wr, test_null_arguments);
    suite_add_tcase(s, crc);
    suite_add_tcase(s, rd);
    suite_add_tcase(s, wr);
    return s;
}

int main(void)
{
    return tu_run(snapshot_suite());
}
