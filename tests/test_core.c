/* Core pieces without their own suite: status names, version, options ABI,
 * allocator, growable arrays, the id table and message quoting. */
#include "testutil.h"

#include "core/core_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(status_names_are_distinct)
{
    int i, j;
    for (i = 0; i <= CVM_E_MISMATCH; i++) {
        const char *a = cvm_strerror((cvm_status)i);
        ck_assert_ptr_nonnull(a);
        if (i == 10) { /* the retired checksum status */
            ck_assert_str_eq(a, "unknown status");
            continue;
        }
        ck_assert_str_ne(a, "unknown status");
        for (j = 0; j < i; j++) {
            ck_assert_str_ne(a, cvm_strerror((cvm_status)j));
        }
    }
    ck_assert_str_eq(cvm_strerror((cvm_status)999), "unknown status");
    ck_assert_int_eq(CVM_OK, 0);
    ck_assert_int_eq(CVM_E_MISMATCH, 12); /* values are ABI: never renumbered */
}
END_TEST

START_TEST(version_matches_header)
{
    char buf[32];
    ck_assert_uint_eq(cvm_version(), CVM_VERSION_NUMBER);
    ck_assert_str_eq(cvm_version_string(), CVM_VERSION_STRING);
    snprintf(buf, sizeof buf, "%d.%d.%d", CVM_VERSION_MAJOR, CVM_VERSION_MINOR, CVM_VERSION_PATCH);
    ck_assert_str_eq(buf, CVM_VERSION_STRING);
}
END_TEST

typedef struct opts2 {
    size_t size;
    int64_t a;
    int64_t b; /* the field a "v2" caller knows and we do not */
} opts2;

START_TEST(options_copy_follows_the_abi_rules)
{
    struct { size_t size; int64_t a; } dst = {sizeof dst, 7};
    opts2 src = {sizeof src, 42, 0};
    ck_assert_int_eq(cvm__options_copy(&dst, sizeof dst, NULL, sizeof dst), CVM_OK);
    ck_assert_int_eq(dst.a, 7); /* NULL keeps defaults */
    ck_assert_int_eq(cvm__options_copy(&dst, sizeof dst, &src, sizeof dst), CVM_OK);
    ck_assert_int_eq(dst.a, 42);
    ck_assert_uint_eq(dst.size, sizeof dst);
    src.b = 1; /* a newer caller set a field we would ignore */
    ck_assert_int_eq(cvm__options_copy(&dst, sizeof dst, &src, sizeof dst), CVM_E_ABI);
    src.size = sizeof(size_t); /* smaller than any version */
    ck_assert_int_eq(cvm__options_copy(&dst, sizeof dst, &src, sizeof dst), CVM_E_ABI);
    src.size = 1u << 20;
    ck_assert_int_eq(cvm__options_copy(&dst, sizeof dst, &src, sizeof dst), CVM_E_ABI);
}
END_TEST

/* A binding built against a newer header passes a bigger struct to _init:
 * it gets our defaults and zeros past them. */
START_TEST(options_init_accepts_newer_sizes)
{
    union { cvm_summary_options o; unsigned char bytes[sizeof(cvm_summary_options) + 16]; } u;
    const cvm_summary_options def = CVM_SUMMARY_OPTIONS_INIT;
    size_t i;
    memset(&u, 0xAB, sizeof u);
    ck_assert_int_eq(cvm_summary_options_init(&u.o, sizeof u), CVM_OK);
    ck_assert_uint_eq(u.o.size, sizeof u);
    ck_assert_int_eq(u.o.unit_seconds, def.unit_seconds);
    ck_assert(u.o.observation_end == def.observation_end);
    for (i = sizeof def; i < sizeof u; i++) {
        ck_assert_uint_eq(u.bytes[i], 0);
    }
    ck_assert_int_eq(cvm_summary_options_init(&u.o, sizeof(size_t)), CVM_E_ABI);
    ck_assert_int_eq(cvm_summary_options_init(NULL, sizeof u), CVM_E_INVALID);
}
END_TEST

START_TEST(allocator_must_be_complete)
{
    cvm_allocator a, bad = {sizeof bad, NULL, NULL, NULL, NULL};
    tu_failing st = {0, 0, 0, 0};
    cvm_allocator good = tu_failing_allocator(&st);
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_customers *c = (cvm_customers *)&a;
    ck_assert_int_eq(cvm__allocator_copy(&a, &bad), CVM_E_INVALID);
    o.allocator = &bad;
    ck_assert_int_eq(cvm_customers_new(&c, &o), CVM_E_INVALID);
    ck_assert_ptr_null(c);
    o.allocator = &good;
    ck_assert_int_eq(cvm_customers_new(&c, &o), CVM_OK);
    ck_assert_int_eq(cvm_customers_add(c, "x", 1, 0, 1.0), CVM_OK);
    ck_assert_int_gt(st.live, 0); /* the handle really used it */
    cvm_customers_free(c);
    ck_assert_int_eq(st.live, 0);
}
END_TEST

START_TEST(vec_grows_and_keeps_contents)
{
    cvm_allocator a;
    cvm__vec v = {NULL, 0, 0};
    size_t i;
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    for (i = 0; i < 100000; i++) {
        ck_assert_int_eq(cvm__vec_reserve(&v, &a, sizeof(int), i + 1), CVM_OK);
        ((int *)v.data)[i] = (int)i;
        v.len = i + 1;
    }
    for (i = 0; i < v.len; i++) {
        ck_assert_int_eq(((int *)v.data)[i], (int)i);
    }
    ck_assert_uint_le(v.cap, 100000 * 3 / 2 + 16); /* growth slack stays bounded */
    ck_assert_int_eq(cvm__vec_reserve(&v, &a, sizeof(int), SIZE_MAX / 2), CVM_E_NOMEM);
    ck_assert_uint_eq(v.len, 100000); /* a failed reserve changes nothing */
    cvm__vec_free(&v, &a);
}
END_TEST

START_TEST(idtable_maps_ids_both_ways)
{
    cvm_allocator a;
    cvm__idtable t;
    char id[32];
    size_t i, index, len;
    int created;
    const size_t n = tu_quick() ? 20000 : 200000; /* CVM_TEST_QUICK: valgrind */
    cvm__idtable_init(&t, 16);
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    for (i = 0; i < n; i++) {
        int k = snprintf(id, sizeof id, "cust-%zu", i * 7919);
        ck_assert_int_eq(cvm__idtable_intern(&t, &a, id, (size_t)k, cvm__hash_bytes(id, (size_t)k),
                                             &index, &created), CVM_OK);
        ck_assert_uint_eq(index, i);
        ck_assert_int_eq(created, 1);
    }
    for (i = 0; i < n; i += 97) {
        int k = snprintf(id, sizeof id, "cust-%zu", i * 7919);
        const char *s;
        ck_assert_uint_eq(cvm__idtable_find(&t, id, (size_t)k, cvm__hash_bytes(id, (size_t)k)), i);
        ck_assert_int_eq(cvm__idtable_intern(&t, &a, id, (size_t)k, cvm__hash_bytes(id, (size_t)k),
                                             &index, &created), CVM_OK);
        ck_assert_int_eq(created, 0);
        s = cvm__idtable_get(&t, i, &len);
        ck_assert_uint_eq(len, (size_t)k);
        ck_assert_mem_eq(s, id, len);
    }
    ck_assert_uint_eq(cvm__idtable_find(&t, "cust-1", 6, cvm__hash_bytes("cust-1", 6)), SIZE_MAX);
    /* Ids are bytes: a NUL inside is part of the id. */
    ck_assert_int_eq(cvm__idtable_intern(&t, &a, "a\0b", 3, cvm__hash_bytes("a\0b", 3), &index,
                                         &created), CVM_OK);
    ck_assert_uint_eq(cvm__idtable_find(&t, "a\0c", 3, cvm__hash_bytes("a\0c", 3)), SIZE_MAX);
    cvm__idtable_truncate(&t, 1000);
    ck_assert_uint_eq(cvm__idtable_count(&t), 1000);
    snprintf(id, sizeof id, "cust-%zu", (size_t)999 * 7919);
    ck_assert_uint_eq(cvm__idtable_find(&t, id, strlen(id), cvm__hash_bytes(id, strlen(id))), 999);
    snprintf(id, sizeof id, "cust-%zu", (size_t)1000 * 7919);
    ck_assert_uint_eq(cvm__idtable_find(&t, id, strlen(id), cvm__hash_bytes(id, strlen(id))), SIZE_MAX);
    cvm__idtable_free(&t, &a);
}
END_TEST

/* Short ids live in their record's id word, others in the arena: both kinds,
 * and the edge cases between them (NUL at either end, exactly 8 bytes), must
 * round-trip, stay distinct and leave the owner's part of the record zeroed. */
START_TEST(idtable_inline_and_arena_ids)
{
    static const struct { const char *s; size_t n; } ids[] = {
        {"a", 1}, {"12345678", 8}, {"123456789", 9}, {"\0abc", 4}, {"abc\0", 4}, {"abc", 3},
        {"\0", 1}, {"\0\0", 2}, {"a\0b", 3}, {"uuid-0000-1111-2222-3333-444455556666", 37},
    };
    cvm_allocator a;
    cvm__idtable t;
    size_t k, index, len;
    int created;
    ck_assert_int_eq(cvm__allocator_copy(&a, NULL), CVM_OK);
    cvm__idtable_init(&t, 24);
    for (k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        unsigned char *rec;
        ck_assert_int_eq(cvm__idtable_intern(&t, &a, ids[k].s, ids[k].n,
                                             cvm__hash_bytes(ids[k].s, ids[k].n), &index, &created),
                         CVM_OK);
        ck_assert_uint_eq(index, k);
        ck_assert_int_eq(created, 1);
        rec = cvm__idtable_record(&t, k);
        ck_assert_int_eq(rec[8] | rec[15] | rec[23], 0);
        rec[8] = 0xAA; /* the owner's bytes are the owner's */
    }
    for (k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        const char *s = cvm__idtable_get(&t, k, &len);
        ck_assert_uint_eq(len, ids[k].n);
        ck_assert_mem_eq(s, ids[k].s, len);
        ck_assert_uint_eq(cvm__idtable_find(&t, ids[k].s, ids[k].n, cvm__hash_bytes(ids[k].s, ids[k].n)), k);
    }
    ck_assert_int_eq(cvm__idtable_intern(&t, &a, "", 0, cvm__hash_bytes("", 0), &index, &created),
                     CVM_E_INVALID);
    cvm__idtable_truncate(&t, 3);
    ck_assert_uint_eq(cvm__idtable_find(&t, "123456789", 9, cvm__hash_bytes("123456789", 9)), 2);
    ck_assert_uint_eq(cvm__idtable_find(&t, "abc", 3, cvm__hash_bytes("abc", 3)), SIZE_MAX);
    ck_assert_int_eq(cvm__idtable_intern(&t, &a, "long-id-after-truncate", 22,
                                         cvm__hash_bytes("long-id-after-truncate", 22), &index, &created),
                     CVM_OK);
    ck_assert_uint_eq(index, 3);
    ck_assert_mem_eq(cvm__idtable_get(&t, 2, &len), "123456789", 9);
    ck_assert_uint_eq(len, 9);
    ck_assert_mem_eq(cvm__idtable_get(&t, 3, &len), "long-id-after-truncate", 22);
    ck_assert_uint_eq(len, 22);
    cvm__idtable_free(&t, &a);
}
END_TEST

START_TEST(quote_makes_values_printable)
{
    char buf[64];
    cvm__quote(buf, sizeof buf, "ab\n\x01", 4);
    ck_assert_str_eq(buf, "ab\\x0a\\x01");
    cvm__quote(buf, sizeof buf, "0123456789012345678901234567890123456789XYZ", 43);
    ck_assert_str_eq(buf, "0123456789012345678901234567890123456789...");
    cvm__quote(buf, 8, "abcdefghij", 10);
    ck_assert_uint_lt(strlen(buf), 8);
}
END_TEST

START_TEST(parse_time_and_format_date_agree)
{
    char buf[16];
    int64_t t;
    ck_assert_int_eq(cvm_parse_time("1997-09-30", 10, CVM_DATE_AUTO, &t), CVM_OK);
    ck_assert_int_eq(cvm_format_date(buf, sizeof buf, t), CVM_OK);
    ck_assert_str_eq(buf, "1997-09-30");
    ck_assert_int_eq(cvm_format_date(buf, 10, t), CVM_E_INVALID);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60); /* 200,000 ids take seconds under the sanitizers */
    tcase_add_test(tc, status_names_are_distinct);
    tcase_add_test(tc, version_matches_header);
    tcase_add_test(tc, options_copy_follows_the_abi_rules);
    tcase_add_test(tc, options_init_accepts_newer_sizes);
    tcase_add_test(tc, allocator_must_be_complete);
    tcase_add_test(tc, vec_grows_and_keeps_contents);
    tcase_add_test(tc, idtable_maps_ids_both_ways);
    tcase_add_test(tc, idtable_inline_and_arena_ids);
    tcase_add_test(tc, quote_makes_values_printable);
    tcase_add_test(tc, parse_time_and_format_date_agree);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
