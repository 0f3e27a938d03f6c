/* libFuzzer harness: the `cvm` tool's argument parsing.
 *
 * Input: the arguments after "cvm", separated by NUL bytes (a trailing NUL
 * ends the last one rather than starting an empty one): "fit\0bgnbd\0
 * --summary\0s.csv". cli_parse_only() parses and checks them as the command
 * would, and stops there: no file is opened, read or written, so the fuzzer
 * may run as any user in any directory. The errors it prints go to stderr
 * (run libFuzzer with -close_fd_mask=2 to silence them). */
#include "fuzz.h"

#include "cli.h" /* examples/cvm */

#include <string.h>

/* Argument lists longer than this say nothing more. */
#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[] = "cvm", *argv[MAX_ARGS + 2];
    char *text = malloc(size + 1);
    size_t pos = 0;
    int argc = 1, rc;
    FUZZ_CHECK(text != NULL);
    if (size > 0) {
        memcpy(text, data, size);
    }
    text[size] = '\0';
    argv[0] = name;
    while (pos < size && argc <= MAX_ARGS) {
        argv[argc++] = text + pos;
        pos += strlen(text + pos) + 1;
    }
    argv[argc] = NULL;
    rc = cli_parse_only(argc, argv);
    FUZZ_CHECK(rc == CLI_OK || rc == CLI_BAD);
    free(text);
    return 0;
}
