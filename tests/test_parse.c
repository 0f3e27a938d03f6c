/* Number and date parsing: cvm__parse_double, cvm__parse_int64,
 * cvm__floor_div, the civil calendar, cvm_parse_time and cvm_format_date. */
#include "testutil.h"

#include "core/core_int.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cvm_status pd(const char *s, double *v)
{
    return cvm__parse_double(s, strlen(s), v);
}

/* Bit-exact equality with strtod in the C locale (the reference). Plain
 * `if`: every ck_assert writes to Check's pipe, too slow in big loops. */
static void expect_strtod(const char *s)
{
    double got = -12345.0, want = strtod(s, NULL);
    if (pd(s, &got) != CVM_OK) {
        ck_abort_msg("'%s' rejected", s);
    }
    if (memcmp(&got, &want, sizeof got) != 0) {
        ck_abort_msg("'%s': got %.17g want %.17g", s, got, want);
    }
}

static void expect_double(const char *s, double want)
{
    double got = -12345.0;
    ck_assert_msg(pd(s, &got) == CVM_OK, "'%s' rejected", s);
    ck_assert_msg(got == want && signbit(got) == signbit(want), "'%s': got %.17g want %.17g", s,
                  got, want);
}

static void expect_bad_double(const char *s, size_t n)
{
    double v = 42.0;
    ck_assert_msg(cvm__parse_double(s, n, &v) == CVM_E_PARSE, "'%.*s' accepted", (int)n, s);
}

START_TEST(double_exact_values)
{
    expect_double("29.33", 29.33);
    expect_double("0.1", 0.1);
    expect_double("1", 1.0);
    expect_double("-2.5", -2.5);
    expect_double("+3", 3.0);
    expect_double("1.", 1.0);
    expect_double(".5", 0.5);
    expect_double("-.5", -0.5);
    expect_double("1e-3", 1e-3);
    expect_double("1E+3", 1000.0);
    expect_double("1.5e2", 150.0);
    expect_double("0", 0.0);
    expect_double("-0", -0.0);
    expect_double("-0.000", -0.0);
    expect_double("0e999999999999999999999", 0.0);
    expect_double("000123.4500", 123.45);
    expect_double("1e308", 1e308);
    expect_double("1.7976931348623157e308", DBL_MAX);
    expect_double("2.2250738585072014e-308", DBL_MIN);
    expect_double("4.9406564584124654e-324", 4.9406564584124654e-324);
    expect_double("9007199254740992", 9007199254740992.0);
    expect_double("12e30", 12e30);
    expect_double("1e22", 1e22);
    expect_double("1e23", 1e23);
    expect_double("0.000001", 0.000001);
}
END_TEST

START_TEST(double_matches_strtod)
{
    static const char *const cases[] = {
        "123456789012345678901234",
        "9007199254740993", /* 2^53 + 1: a tie, rounds to even */
        "9007199254740995",
        "18446744073709551615",
        "18446744073709551616",
        "1234567890123456789",
        "12345678901234567890",
        "0.1234567890123456789012345",
        "2.2250738585072011e-308", /* the PHP/Java hang value */
        "2.2250738585072012e-308",
        "4.9e-324",
        "2.4703282292062327e-324", /* just below half the smallest denormal */
        "2.4703282292062328e-324", /* just above */
        "1e-400",
        "1e400",
        "1.8e308",
        "-1e-320",
        "3.14159265358979323846264338327950288419716939937510",
        "0.000000000000000000000000000000000000000001234",
        "1e-22",
        "1e-23",
        "123456789e-30",
        "8.98846567431158e307",
        "9007199254740993.0000000000000000000000000000001",
        "7.038531e-26",
        "100000000000000000000000000000000000000000000000000000e-50",
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_strtod(cases[i]);
    }
}
END_TEST

START_TEST(double_long_inputs)
{
    /* More digits than the slow path keeps: the tail still breaks the tie. */
    static char s[4000];
    double v;
    memset(s, '0', sizeof s - 1);
    memcpy(s, "9007199254740993", 16);
    s[sizeof s - 2] = '1';
    s[sizeof s - 1] = '\0';
    memcpy(s + 16, ".", 1);
    expect_strtod(s);
    s[sizeof s - 2] = '0';
    expect_strtod(s);
    /* "0.000...0001e+2000": the digit count and the exponent offset. */
    memset(s, '0', 2002);
    s[1] = '.';
    s[2001] = '7';
    strcpy(s + 2002, "e+2000");
    ck_assert_int_eq(pd(s, &v), CVM_OK);
    ck_assert(v == 7.0);
    strcpy(s + 2002, "e+2308");
    expect_strtod(s);
}
END_TEST

START_TEST(double_random_vs_strtod)
{
    /* Random decimal strings across the fast and slow paths. */
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    char s[80];
    const int n = tu_quick() ? 20000 : 200000; /* CVM_TEST_QUICK: valgrind */
    int i;
    for (i = 0; i < n; i++) {
        int digits, point, e, k, len = 0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        digits = 1 + (int)(x % 25);
        point = (int)((x >> 8) % (unsigned)(digits + 1));
        e = (int)((x >> 16) % 700) - 350;
        if ((x >> 30) & 1) {
            s[len++] = '-';
        }
        for (k = 0; k < digits; k++) {
            if (k == point) {
                s[len++] = '.';
            }
            s[len++] = (char)('0' + (int)((x >> (k % 50)) % 10));
        }
        if ((x >> 40) & 1) {
            e = (int)((x >> 41) % 45) - 22;
        }
        len += snprintf(s + len, sizeof s - (size_t)len, "e%d", e);
        expect_strtod(s);
    }
}
END_TEST

START_TEST(double_special)
{
    double v = 0;
    ck_assert_int_eq(pd("nan", &v), CVM_OK);
    ck_assert(isnan(v));
    ck_assert_int_eq(pd("-NaN", &v), CVM_OK);
    ck_assert(isnan(v));
    ck_assert_int_eq(pd("inf", &v), CVM_OK);
    ck_assert(isinf(v) && v > 0);
    ck_assert_int_eq(pd("-Infinity", &v), CVM_OK);
    ck_assert(isinf(v) && v < 0);
    ck_assert_int_eq(pd("+INF", &v), CVM_OK);
    ck_assert(isinf(v) && v > 0);
    ck_assert_int_eq(pd("1e999", &v), CVM_OK); /* overflow is inf, named by the caller */
    ck_assert(isinf(v) && v > 0);
}
END_TEST

START_TEST(double_rejects)
{
    static const char *const bad[] = {
        "", " 1", "1 ", "1.2.3", "0x10", "1e", "e5", ".", "+", "-", "1,000", "1e+", "--1",
        "+-1", "nan1", "infx", "in", "infinit", "1d", ".e5", "1e5.0", "1.5f", "\t2", "1e 5",
        "1_000", "na", "12abc",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_bad_double(bad[i], strlen(bad[i]));
    }
    /* Length is honoured: the parser never looks past n. */
    expect_bad_double("12\0" "3", 4);
    {
        double v = 0;
        ck_assert_int_eq(cvm__parse_double("12345", 2, &v), CVM_OK);
        ck_assert(v == 12.0);
    }
}
END_TEST

START_TEST(double_ignores_locale)
{
    static const char *const locales[] = {"de_DE.UTF-8", "de_DE", "fr_FR.UTF-8", "nl_NL.UTF-8"};
    size_t i;
    int found = 0;
    for (i = 0; i < sizeof locales / sizeof locales[0] && !found; i++) {
        found = setlocale(LC_NUMERIC, locales[i]) != NULL;
    }
    /* With or without a comma locale installed, both paths must read '.'. */
    expect_double("29.33", 29.33);
    expect_double("1.25e-300", 1.25e-300);
    expect_double("123456789012345678901.5", 123456789012345678901.5);
    expect_bad_double("29,33", 5);
    setlocale(LC_NUMERIC, "C");
}
END_TEST

START_TEST(int64_values)
{
    int64_t v = 0;
    ck_assert_int_eq(cvm__parse_int64("0", 1, &v), CVM_OK);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(cvm__parse_int64("-0", 2, &v), CVM_OK);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(cvm__parse_int64("+12", 3, &v), CVM_OK);
    ck_assert_int_eq(v, 12);
    ck_assert_int_eq(cvm__parse_int64("-00042", 6, &v), CVM_OK);
    ck_assert_int_eq(v, -42);
    ck_assert_int_eq(cvm__parse_int64("9223372036854775807", 19, &v), CVM_OK);
    ck_assert(v == INT64_MAX);
    ck_assert_int_eq(cvm__parse_int64("-9223372036854775808", 20, &v), CVM_OK);
    ck_assert(v == INT64_MIN);
    ck_assert_int_eq(cvm__parse_int64("9223372036854775808", 19, &v), CVM_E_RANGE);
    ck_assert_int_eq(cvm__parse_int64("-9223372036854775809", 20, &v), CVM_E_RANGE);
    ck_assert_int_eq(cvm__parse_int64("99999999999999999999999", 23, &v), CVM_E_RANGE);
    ck_assert_int_eq(cvm__parse_int64("99999999999999999999x", 21, &v), CVM_E_PARSE);
    ck_assert_int_eq(cvm__parse_int64("", 0, &v), CVM_E_PARSE);
    ck_assert_int_eq(cvm__parse_int64("-", 1, &v), CVM_E_PARSE);
    ck_assert_int_eq(cvm__parse_int64("1.0", 3, &v), CVM_E_PARSE);
    ck_assert_int_eq(cvm__parse_int64(" 1", 2, &v), CVM_E_PARSE);
    ck_assert_int_eq(cvm__parse_int64("1 ", 2, &v), CVM_E_PARSE);
    ck_assert_int_eq(cvm__parse_int64("12a", 3, &v), CVM_E_PARSE);
    ck_assert_int_eq(cvm__parse_int64("1e3", 3, &v), CVM_E_PARSE);
    ck_assert_int_eq(cvm__parse_int64("123", 2, &v), CVM_OK);
    ck_assert_int_eq(v, 12);
}
END_TEST

START_TEST(floor_div_values)
{
    ck_assert_int_eq(cvm__floor_div(0, 86400), 0);
    ck_assert_int_eq(cvm__floor_div(86399, 86400), 0);
    ck_assert_int_eq(cvm__floor_div(86400, 86400), 1);
    ck_assert_int_eq(cvm__floor_div(-1, 86400), -1);
    ck_assert_int_eq(cvm__floor_div(-86400, 86400), -1);
    ck_assert_int_eq(cvm__floor_div(-86401, 86400), -2);
    ck_assert_int_eq(cvm__floor_div(-7, 7), -1);
    ck_assert_int_eq(cvm__floor_div(-8, 7), -2);
    ck_assert(cvm__floor_div(INT64_MIN, 1) == INT64_MIN);
    ck_assert(cvm__floor_div(INT64_MIN, 2) == INT64_MIN / 2);
    ck_assert(cvm__floor_div(INT64_MAX, 86400) == INT64_MAX / 86400);
}
END_TEST

START_TEST(civil_known_days)
{
    int64_t y;
    unsigned m, d;
    ck_assert_int_eq(cvm__days_from_civil(1970, 1, 1), 0);
    ck_assert_int_eq(cvm__days_from_civil(1997, 1, 1), 9862);
    ck_assert_int_eq(cvm__days_from_civil(2000, 3, 1), 11017);
    ck_assert_int_eq(cvm__days_from_civil(1969, 12, 31), -1);
    ck_assert_int_eq(cvm__days_from_civil(0, 1, 1), -719528);
    ck_assert_int_eq(cvm__days_from_civil(9999, 12, 31), 2932896);
    ck_assert_int_eq(cvm__days_from_civil(-1, 12, 31), -719529);
    cvm__civil_from_days(-719528, &y, &m, &d);
    ck_assert(y == 0 && m == 1 && d == 1);
    cvm__civil_from_days(11016, &y, &m, &d);
    ck_assert(y == 2000 && m == 2 && d == 29);
    cvm__civil_from_days(-719529, &y, &m, &d);
    ck_assert(y == -1 && m == 12 && d == 31);
    /* Any int64 day count is safe. */
    cvm__civil_from_days(INT64_MAX, &y, &m, &d);
    ck_assert(m >= 1 && m <= 12 && d >= 1 && d <= 31);
    cvm__civil_from_days(INT64_MIN, &y, &m, &d);
    ck_assert(m >= 1 && m <= 12 && d >= 1 && d <= 31);
}
END_TEST

START_TEST(civil_round_trip)
{
    /* Every day from -2000-01-01 to 12000-01-01 is the day after the one
     * before it, and converts back to itself. CVM_TEST_QUICK (valgrind): one
     * 400-year cycle of the calendar, 1600 to 2400. */
    const int quick = tu_quick();
    int64_t day = cvm__days_from_civil(quick ? 1600 : -2000, 1, 1),
            last = cvm__days_from_civil(quick ? 2401 : 12000, 1, 1);
    int64_t py, y;
    unsigned pm, pd_, m, d;
    cvm__civil_from_days(day, &py, &pm, &pd_);
    ck_assert(py == (quick ? 1600 : -2000) && pm == 1 && pd_ == 1);
    for (day++; day <= last; day++) {
        int ok;
        cvm__civil_from_days(day, &y, &m, &d);
        if (d == pd_ + 1) {
            ok = y == py && m == pm;
        } else {
            ok = d == 1 && pd_ >= 28 &&
                 (m == pm + 1 ? y == py : (m == 1 && pm == 12 && y == py + 1));
        }
        if (!ok || cvm__days_from_civil(y, m, d) != day) {
            ck_abort_msg("day %lld: %lld-%u-%u after %lld-%u-%u", (long long)day, (long long)y,
                         m, d, (long long)py, pm, pd_);
        }
        py = y;
        pm = m;
        pd_ = d;
    }
}
END_TEST

static void expect_time(const char *s, int32_t fmt, int64_t want)
{
    int64_t t = -777;
    cvm_status st = cvm_parse_time(s, strlen(s), fmt, &t);
    ck_assert_msg(st == CVM_OK, "'%s' (format %d): status %d", s, (int)fmt, (int)st);
    ck_assert_msg(t == want, "'%s' (format %d): got %lld want %lld", s, (int)fmt, (long long)t,
                  (long long)want);
}

static void expect_bad_time(const char *s, int32_t fmt, cvm_status want)
{
    int64_t t = -777;
    cvm_status st = cvm_parse_time(s, strlen(s), fmt, &t);
    ck_assert_msg(st == want, "'%s' (format %d): status %d, want %d", s, (int)fmt, (int)st,
                  (int)want);
}

START_TEST(time_dates)
{
    expect_time("1997-01-01", CVM_DATE_AUTO, 852076800);
    expect_time("1997-01-01", CVM_DATE_ISO, 852076800);
    expect_time("19970101", CVM_DATE_AUTO, 852076800);
    expect_time("19970101", CVM_DATE_YYYYMMDD, 852076800);
    expect_time("1970-01-01", CVM_DATE_AUTO, 0);
    expect_time("1969-12-31", CVM_DATE_AUTO, -86400);
    expect_time("2000-02-29", CVM_DATE_ISO, 951782400);
    expect_time("20000229", CVM_DATE_AUTO, 951782400);
    expect_time("2004-02-29", CVM_DATE_ISO, 1078012800);
    expect_time("1997-12-31", CVM_DATE_ISO, 883526400);
    expect_time("0000-01-01", CVM_DATE_ISO, INT64_C(-62167219200));
    expect_time("9999-12-31", CVM_DATE_ISO, INT64_C(253402214400));
    expect_time("00000229", CVM_DATE_YYYYMMDD, INT64_C(-62167219200) + 59 * 86400);
}
END_TEST

START_TEST(time_datetimes)
{
    const int64_t day = 852076800;
    expect_time("1997-01-01T12:30:00Z", CVM_DATE_AUTO, day + 45000);
    expect_time("1997-01-01T12:30:00Z", CVM_DATE_ISO, day + 45000);
    expect_time("1997-01-01 12:30", CVM_DATE_ISO, day + 45000);
    expect_time("1997-01-01T12:30Z", CVM_DATE_ISO, day + 45000);
    expect_time("1997-01-01T12:30:15", CVM_DATE_ISO, day + 45015);
    expect_time("1997-01-01T23:59:59", CVM_DATE_ISO, day + 86399);
    expect_time("1997-01-01T12:30:00+02:00", CVM_DATE_ISO, day + 45000 - 7200);
    expect_time("1997-01-01T12:30:00+0200", CVM_DATE_ISO, day + 45000 - 7200);
    expect_time("1997-01-01T12:30:00+02", CVM_DATE_ISO, day + 45000 - 7200);
    expect_time("1997-01-01T12:30:00-05:30", CVM_DATE_ISO, day + 45000 + 19800);
    expect_time("1997-01-01T12:30-05", CVM_DATE_ISO, day + 45000 + 18000);
    expect_time("1997-01-01T00:30:00+01:00", CVM_DATE_ISO, day - 1800);
    expect_time("1997-01-01T12:30:00.999Z", CVM_DATE_ISO, day + 45000);
    expect_time("1997-01-01T12:30:00.5+02:00", CVM_DATE_ISO, day + 45000 - 7200);
    expect_time("1997-01-01T12:30:59.999999999", CVM_DATE_ISO, day + 45059);
    /* Fractions floor the instant, also before 1970. */
    expect_time("1969-12-31T23:59:59.5Z", CVM_DATE_ISO, -1);
}
END_TEST

START_TEST(time_rejects)
{
    static const char *const bad[] = {
        "1900-02-29", "2100-02-29", "1997-02-29", "1997-13-01", "1997-00-10", "1997-01-00",
        "1997-01-32", "1997-04-31", "1997-1-01", "1997-01-1", "97-01-01", "1997/01/01",
        "1997-01-01T", "1997-01-01T12", "1997-01-01T24:00", "1997-01-01T12:60",
        "1997-01-01T12:30:60", "1997-01-01T1:30", "1997-01-01x", "1997-01-01T12:30:00.",
        "1997-01-01T12:30:00+2:00", "1997-01-01T12:30:00+02:0", "1997-01-01T12:30:00+24:00",
        "1997-01-01T12:30:00+02:60", "1997-01-01T12:30Z ", " 1997-01-01", "1997-01-01 ",
        "1997-01-01t12:30", "1997-01-01T12:30:00ZZ", "1997-01-01T12:30:00.5.5", "",
        "-1997-01-01", "+1997-01-01", "1997-01-01T12:30:00z",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_bad_time(bad[i], CVM_DATE_ISO, CVM_E_PARSE);
        expect_bad_time(bad[i], CVM_DATE_AUTO, CVM_E_PARSE);
    }
}
END_TEST

START_TEST(time_auto_and_yyyymmdd)
{
    /* AUTO never reads unix seconds. */
    expect_bad_time("852076800", CVM_DATE_AUTO, CVM_E_PARSE);
    expect_bad_time("1997010", CVM_DATE_AUTO, CVM_E_PARSE);
    expect_bad_time("199701011", CVM_DATE_AUTO, CVM_E_PARSE);
    expect_bad_time("19971301", CVM_DATE_AUTO, CVM_E_PARSE);
    expect_bad_time("19000229", CVM_DATE_AUTO, CVM_E_PARSE);
    expect_bad_time("1997010a", CVM_DATE_AUTO, CVM_E_PARSE);
    expect_bad_time("-1970101", CVM_DATE_AUTO, CVM_E_PARSE);
    expect_bad_time("19970101", CVM_DATE_ISO, CVM_E_PARSE);
    expect_bad_time("1997-01-01", CVM_DATE_YYYYMMDD, CVM_E_PARSE);
    expect_bad_time("+1970101", CVM_DATE_YYYYMMDD, CVM_E_PARSE);
    expect_bad_time("19970101 ", CVM_DATE_YYYYMMDD, CVM_E_PARSE);
    expect_bad_time("1997", CVM_DATE_AUTO, CVM_E_PARSE);
    expect_bad_time("abc", CVM_DATE_AUTO, CVM_E_PARSE);
}
END_TEST

START_TEST(time_unix)
{
    expect_time("852076800", CVM_DATE_UNIX, 852076800);
    expect_time("0", CVM_DATE_UNIX, 0);
    expect_time("-1", CVM_DATE_UNIX, -1);
    expect_time("+5", CVM_DATE_UNIX, 5);
    expect_time("1.9", CVM_DATE_UNIX, 1);
    expect_time("852076800.123", CVM_DATE_UNIX, 852076800);
    expect_time("-1.5", CVM_DATE_UNIX, -2);
    expect_time("-0.5", CVM_DATE_UNIX, -1);
    expect_time("-1.000", CVM_DATE_UNIX, -1);
    expect_time("9223372036854775807", CVM_DATE_UNIX, INT64_MAX);
    expect_time("-9223372036854775808", CVM_DATE_UNIX, INT64_MIN);
    expect_bad_time("-9223372036854775808.5", CVM_DATE_UNIX, CVM_E_RANGE);
    expect_bad_time("99999999999999999999", CVM_DATE_UNIX, CVM_E_RANGE);
    expect_bad_time("abc", CVM_DATE_UNIX, CVM_E_PARSE);
    expect_bad_time("1e3", CVM_DATE_UNIX, CVM_E_PARSE);
    expect_bad_time("1.", CVM_DATE_UNIX, CVM_E_PARSE);
    expect_bad_time(".5", CVM_DATE_UNIX, CVM_E_PARSE);
    expect_bad_time("1.2.3", CVM_DATE_UNIX, CVM_E_PARSE);
    expect_bad_time("1997-01-01", CVM_DATE_UNIX, CVM_E_PARSE);
    expect_bad_time(" 1", CVM_DATE_UNIX, CVM_E_PARSE);
    expect_bad_time("", CVM_DATE_UNIX, CVM_E_PARSE);
}
END_TEST

START_TEST(time_misuse)
{
    int64_t t = 0;
    ck_assert_int_eq(cvm_parse_time(NULL, 0, CVM_DATE_AUTO, &t), CVM_E_INVALID);
    ck_assert_int_eq(cvm_parse_time("1997-01-01", 10, CVM_DATE_AUTO, NULL), CVM_E_INVALID);
    ck_assert_int_eq(cvm_parse_time("1997-01-01", 10, 4, &t), CVM_E_INVALID);
    ck_assert_int_eq(cvm_parse_time("1997-01-01", 10, -1, &t), CVM_E_INVALID);
    /* Only `len` bytes are read. */
    ck_assert_int_eq(cvm_parse_time("1997-01-01T12:00", 10, CVM_DATE_AUTO, &t), CVM_OK);
    ck_assert(t == 852076800);
}
END_TEST

START_TEST(format_date_values)
{
    char buf[16];
    ck_assert_int_eq(cvm_format_date(buf, sizeof buf, 852076800), CVM_OK);
    ck_assert_str_eq(buf, "1997-01-01");
    ck_assert_int_eq(cvm_format_date(buf, 11, 852076800 + 86399), CVM_OK);
    ck_assert_str_eq(buf, "1997-01-01");
    ck_assert_int_eq(cvm_format_date(buf, 11, 0), CVM_OK);
    ck_assert_str_eq(buf, "1970-01-01");
    ck_assert_int_eq(cvm_format_date(buf, 11, -1), CVM_OK);
    ck_assert_str_eq(buf, "1969-12-31");
    ck_assert_int_eq(cvm_format_date(buf, 11, -86400), CVM_OK);
    ck_assert_str_eq(buf, "1969-12-31");
    ck_assert_int_eq(cvm_format_date(buf, 11, -86401), CVM_OK);
    ck_assert_str_eq(buf, "1969-12-30");
    ck_assert_int_eq(cvm_format_date(buf, 11, 951782400), CVM_OK);
    ck_assert_str_eq(buf, "2000-02-29");
    ck_assert_int_eq(cvm_format_date(buf, 11, INT64_C(-62167219200)), CVM_OK);
    ck_assert_str_eq(buf, "0000-01-01");
    ck_assert_int_eq(cvm_format_date(buf, 11, INT64_C(253402300799)), CVM_OK);
    ck_assert_str_eq(buf, "9999-12-31");
    ck_assert_int_eq(cvm_format_date(buf, 10, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_format_date(NULL, 11, 0), CVM_E_INVALID);
    ck_assert_int_eq(cvm_format_date(buf, 11, INT64_C(-62167219201)), CVM_E_INVALID);
    ck_assert_int_eq(cvm_format_date(buf, 11, INT64_C(253402300800)), CVM_E_INVALID);
    ck_assert_int_eq(cvm_format_date(buf, 11, INT64_MAX), CVM_E_INVALID);
    ck_assert_int_eq(cvm_format_date(buf, 11, INT64_MIN), CVM_E_INVALID);
}
END_TEST

START_TEST(format_date_round_trip)
{
    /* Every day of years 0..9999, at a time of day that moves around.
     * CVM_TEST_QUICK (valgrind): every 13th day, and the last. */
    int64_t first = cvm__days_from_civil(0, 1, 1), last = cvm__days_from_civil(9999, 12, 31);
    const int64_t step = tu_quick() ? 13 : 1;
    int64_t day;
    char buf[11], compact[9];
    for (day = first; day <= last; day = day < last && day + step > last ? last : day + step) {
        int64_t t = day * 86400 + (day * 7919) % 86400, back = 0;
        if (t < day * 86400) {
            t += 86400;
        }
        int64_t back2 = 0;
        if (cvm_format_date(buf, sizeof buf, t) != CVM_OK ||
            cvm_parse_time(buf, 10, CVM_DATE_AUTO, &back) != CVM_OK || back != day * 86400) {
            ck_abort_msg("day %lld: '%s' -> %lld", (long long)day, buf, (long long)back);
        }
        memcpy(compact, buf, 4);
        memcpy(compact + 4, buf + 5, 2);
        memcpy(compact + 6, buf + 8, 2);
        if (cvm_parse_time(compact, 8, CVM_DATE_YYYYMMDD, &back2) != CVM_OK ||
            back2 != day * 86400) {
            ck_abort_msg("day %lld: '%.8s' -> %lld", (long long)day, compact, (long long)back2);
        }
    }
}
END_TEST

static Suite *parse_suite(void)
{
    Suite *s = suite_create("parse");
    TCase *tc = tcase_create("numbers");
    tcase_add_test(tc, double_exact_values);
    tcase_add_test(tc, double_matches_strtod);
    tcase_add_test(tc, double_long_inputs);
    tcase_add_test(tc, double_random_vs_strtod);
    tcase_add_test(tc, double_special);
    tcase_add_test(tc, double_rejects);
    tcase_add_test(tc, double_ignores_locale);
    tcase_add_test(tc, int64_values);
    tcase_add_test(tc, floor_div_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("time");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, civil_known_days);
    tcase_add_test(tc, civil_round_trip);
    tcase_add_test(tc, time_dates);
    tcase_add_test(tc, time_datetimes);
    tcase_add_test(tc, time_rejects);
    tcase_add_test(tc, time_auto_and_yyyymmdd);
    tcase_add_test(tc, time_unix);
    tcase_add_test(tc, time_misuse);
    tcase_add_test(tc, format_date_values);
    tcase_add_test(tc, format_date_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(parse_suite());
}
