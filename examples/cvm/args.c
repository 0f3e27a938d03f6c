#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("cvm: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_BAD;
}

void cli_args_init(cli_args *a, int argc, char **argv, int first)
{
    a->argc = argc;
    a->argv = argv;
    a->i = first;
    a->value = NULL;
    a->inline_value = NULL;
}

const char *cli_args_next(cli_args *a)
{
    const char *arg;
    if (a->i >= a->argc) {
        return NULL;
    }
    arg = a->argv[a->i++];
    a->inline_value = NULL;
    if (arg[0] == '-' && arg[1] == '-' && strchr(arg, '=')) {
        a->inline_value = strchr(arg, '=') + 1;
    }
    return arg;
}

static int name_matches(const char *arg, const char *name, int allow_value)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || (allow_value && arg[n] == '='));
}

int cli_opt(cli_args *a, const char *arg, const char *name, int *bad)
{
    if (!name_matches(arg, name, 1)) {
        return 0;
    }
    if (a->inline_value) {
        a->value = a->inline_value;
    } else if (a->i < a->argc) {
        a->value = a->argv[a->i++];
    } else {
        cli_error("option %s needs a value", name);
        *bad = 1;
        a->value = "";
    }
    return 1;
}

int cli_flag(const char *arg, const char *name)
{
    return name_matches(arg, name, 0);
}

int cli_parse_u64(const char *opt, const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9') {
        return cli_error("%s: '%s' is not a non-negative integer", opt, s);
    }
    *out = strtoull(s, &end, 10);
    if (errno || *end) {
        return cli_error("%s: '%s' is not a non-negative integer", opt, s);
    }
    return 0;
}

int cli_parse_doubles(const char *opt, const char *s, double *out, int n)
{
    const char *p = s;
    int k;
    for (k = 0; k < n; k++) {
        char *end;
        errno = 0;
        out[k] = strtod(p, &end);
        if (end == p || errno || (k + 1 < n ? *end != ',' : *end != '\0')) {
            return cli_error("%s: '%s' is not %d comma-separated numbers", opt, s, n);
        }
        p = end + 1;
    }
    return 0;
}

int cli_parse_date(const char *opt, const char *s, int64_t *out)
{
    if (cvm_parse_time(s, strlen(s), CVM_DATE_AUTO, out) != CVM_OK) {
        return cli_error("%s: '%s' is not a date (YYYY-MM-DD, YYYYMMDD or ISO 8601)", opt, s);
    }
    return 0;
}
