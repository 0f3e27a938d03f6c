/* Placeholder: filled in for issue 7. */
#include "testutil.h"

START_TEST(test_placeholder)
{
    ck_assert_int_eq(cvm_version() > 0, 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("robust");
    TCase *tc = tcase_create("robust");
    tcase_add_test(tc, test_placeholder);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(make_suite());
}
