/* Error text kept per handle: formatting helpers. */
#include "core/core_int.h"

#include <stdio.h>

cvm_status cvm__verrf(char *buf, size_t n, cvm_status status, const char *fmt, va_list ap)
{
    if (buf && n > 0) {
        vsnprintf(buf, n, fmt, ap);
    }
    return status;
}

cvm_status cvm__errf(char *buf, size_t n, cvm_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cvm__verrf(buf, n, status, fmt, ap);
    va_end(ap);
    return status;
}

void cvm__quote(char *buf, size_t len, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;
    const size_t shown = 40;
    if (len == 0) {
        return;
    }
    /* Room for the longest item (\xHH) plus "..." and the NUL. */
    for (i = 0; i < n && i < shown && o + 8 < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f) {
            buf[o++] = (char)ch;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[ch >> 4];
            buf[o++] = hex[ch & 15];
        }
    }
    if (i < n && o + 3 < len) {
        buf[o++] = '.';
        buf[o++] = '.';
        buf[o++] = '.';
    }
    buf[o] = '\0';
}
