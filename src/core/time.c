/* Calendar arithmetic (Howard Hinnant's days_from_civil / civil_from_days,
 * proleptic Gregorian) and the date formats of cvm_parse_time. */
#include "core/core_int.h"

#include <string.h>

#define CVM__DAYS_PER_ERA INT64_C(146097) /* 400 Gregorian years */
#define CVM__EPOCH_SHIFT INT64_C(719468)  /* 0000-03-01 to 1970-01-01 */

int64_t cvm__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;
    /* Years start in March so the leap day is the last day of the year. */
    y -= m <= 2;
    era = cvm__floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * CVM__DAYS_PER_ERA + doe - CVM__EPOCH_SHIFT;
}

void cvm__civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    /* Split into eras before shifting the epoch, and without multiplying
     * back, so that no int64 input can overflow. */
    int64_t era = cvm__floor_div(days, CVM__DAYS_PER_ERA);
    int64_t doe = days % CVM__DAYS_PER_ERA, yoe, doy, mp;
    doe += (doe < 0 ? CVM__DAYS_PER_ERA : 0) + CVM__EPOCH_SHIFT;
    era += doe / CVM__DAYS_PER_ERA;
    doe %= CVM__DAYS_PER_ERA;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int cvm__is_leap(unsigned y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static unsigned cvm__month_days(unsigned y, unsigned m)
{
    static const unsigned char len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && cvm__is_leap(y) ? 29u : len[m - 1];
}

/* Exactly `n` decimal digits at s[0..n). */
static int cvm__digits(const char *s, size_t n, unsigned *v)
{
    size_t i;
    unsigned r = 0;
    for (i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i] - 48u;
        if (c > 9) {
            return 0;
        }
        r = r * 10 + c;
    }
    *v = r;
    return 1;
}

/* The day of a validated calendar date, or CVM_E_PARSE. */
static cvm_status cvm__make_day(unsigned y, unsigned m, unsigned d, int64_t *days)
{
    if (m < 1 || m > 12 || d < 1 || d > cvm__month_days(y, m)) {
        return CVM_E_PARSE;
    }
    *days = cvm__days_from_civil((int64_t)y, m, d);
    return CVM_OK;
}

static cvm_status cvm__parse_yyyymmdd(const char *s, size_t n, int64_t *out)
{
    unsigned y, m, d;
    int64_t days;
    if (n != 8 || !cvm__digits(s, 4, &y) || !cvm__digits(s + 4, 2, &m) ||
        !cvm__digits(s + 6, 2, &d) || cvm__make_day(y, m, d, &days) != CVM_OK) {
        return CVM_E_PARSE;
    }
    *out = days * CVM_SECONDS_PER_DAY;
    return CVM_OK;
}

/* "Z", "+hh", "+hhmm", "+hh:mm" (or '-') filling s[0..n), as seconds east of UTC. */
static cvm_status cvm__parse_zone(const char *s, size_t n, int64_t *offset)
{
    unsigned hh, mm = 0;
    int ok;
    if (n == 1 && s[0] == 'Z') {
        *offset = 0;
        return CVM_OK;
    }
    if (n < 3 || (s[0] != '+' && s[0] != '-') || !cvm__digits(s + 1, 2, &hh)) {
        return CVM_E_PARSE;
    }
    if (n == 5) {
        ok = cvm__digits(s + 3, 2, &mm);
    } else if (n == 6) {
        ok = s[3] == ':' && cvm__digits(s + 4, 2, &mm);
    } else {
        ok = n == 3;
    }
    if (!ok || hh > 23 || mm > 59) {
        return CVM_E_PARSE;
    }
    *offset = (int64_t)(hh * 3600 + mm * 60) * (s[0] == '-' ? -1 : 1);
    return CVM_OK;
}

/* "hh:mm[:ss[.fff]]" then an optional zone; the seconds since local midnight
 * minus the zone offset. A fraction never changes the whole second: the
 * offset is whole minutes, so flooring the instant drops it. */
static cvm_status cvm__parse_clock(const char *s, size_t n, int64_t *secs)
{
    unsigned hh, mm, ss = 0;
    size_t i = 5;
    int64_t offset = 0;
    if (n < 5 || !cvm__digits(s, 2, &hh) || s[2] != ':' || !cvm__digits(s + 3, 2, &mm)) {
        return CVM_E_PARSE;
    }
    if (i < n && s[i] == ':') {
        if (n - i < 3 || !cvm__digits(s + i + 1, 2, &ss)) {
            return CVM_E_PARSE;
        }
        i += 3;
        if (i < n && s[i] == '.') {
            size_t start = ++i;
            while (i < n && (unsigned char)s[i] - 48u <= 9) {
                i++;
            }
            if (i == start) {
                return CVM_E_PARSE;
            }
        }
    }
    if (hh > 23 || mm > 59 || ss > 59) {
        return CVM_E_PARSE;
    }
    if (i < n && cvm__parse_zone(s + i, n - i, &offset) != CVM_OK) {
        return CVM_E_PARSE;
    }
    *secs = (int64_t)(hh * 3600 + mm * 60 + ss) - offset;
    return CVM_OK;
}

static cvm_status cvm__parse_iso(const char *s, size_t n, int64_t *out)
{
    unsigned y, m, d;
    int64_t days, secs = 0;
    if (n < 10 || !cvm__digits(s, 4, &y) || s[4] != '-' || !cvm__digits(s + 5, 2, &m) ||
        s[7] != '-' || !cvm__digits(s + 8, 2, &d) || cvm__make_day(y, m, d, &days) != CVM_OK) {
        return CVM_E_PARSE;
    }
    if (n > 10) {
        if ((s[10] != 'T' && s[10] != ' ') || cvm__parse_clock(s + 11, n - 11, &secs) != CVM_OK) {
            return CVM_E_PARSE;
        }
    }
    *out = days * CVM_SECONDS_PER_DAY + secs;
    return CVM_OK;
}

/* Integer seconds, optionally with a fraction; the instant is floored, so
 * "-1.5" is -2 like any other time before a whole second. */
static cvm_status cvm__parse_unix(const char *s, size_t n, int64_t *out)
{
    const char *dot = memchr(s, '.', n);
    size_t ilen = dot ? (size_t)(dot - s) : n, i;
    int nonzero = 0;
    int64_t v;
    cvm_status st = cvm__parse_int64(s, ilen, &v);
    if (st != CVM_OK) {
        return st;
    }
    if (dot != NULL) {
        if (ilen + 1 == n) {
            return CVM_E_PARSE;
        }
        for (i = ilen + 1; i < n; i++) {
            unsigned c = (unsigned char)s[i] - 48u;
            if (c > 9) {
                return CVM_E_PARSE;
            }
            nonzero |= c != 0;
        }
        if (nonzero && s[0] == '-') {
            if (v == INT64_MIN) {
                return CVM_E_RANGE;
            }
            v--;
        }
    }
    *out = v;
    return CVM_OK;
}

cvm_status cvm_parse_time(const char *text, size_t len, int32_t format, int64_t *out)
{
    if (text == NULL || out == NULL) {
        return CVM_E_INVALID;
    }
    switch (format) {
    case CVM_DATE_AUTO:
        if (len == 8 && memchr(text, '-', len) == NULL) {
            return cvm__parse_yyyymmdd(text, len, out);
        }
        /* AUTO never reads plain numbers as unix seconds: too easy to misread. */
        return memchr(text, '-', len) ? cvm__parse_iso(text, len, out) : CVM_E_PARSE;
    case CVM_DATE_ISO:
        return cvm__parse_iso(text, len, out);
    case CVM_DATE_YYYYMMDD:
        return cvm__parse_yyyymmdd(text, len, out);
    case CVM_DATE_UNIX:
        return cvm__parse_unix(text, len, out);
    default:
        return CVM_E_INVALID;
    }
}

cvm_status cvm_format_date(char *buf, size_t n, int64_t t)
{
    int64_t y;
    unsigned m, d, yy;
    if (buf == NULL || n < 11) {
        return CVM_E_INVALID;
    }
    cvm__civil_from_days(cvm__floor_div(t, CVM_SECONDS_PER_DAY), &y, &m, &d);
    if (y < 0 || y > 9999) {
        buf[0] = '\0';
        return CVM_E_INVALID;
    }
    yy = (unsigned)y;
    buf[0] = (char)('0' + yy / 1000);
    buf[1] = (char)('0' + yy / 100 % 10);
    buf[2] = (char)('0' + yy / 10 % 10);
    buf[3] = (char)('0' + yy % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + d / 10);
    buf[9] = (char)('0' + d % 10);
    buf[10] = '\0';
    return CVM_OK;
}
