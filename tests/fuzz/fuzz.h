/* What the libFuzzer harnesses share. Each fuzz_*.c defines
 * LLVMFuzzerTestOneInput(); libFuzzer or standalone.c calls it. */
#ifndef CVM_FUZZ_H
#define CVM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise of the library: abort, which libFuzzer reports as a
 * crash with the input that caused it (NDEBUG must not silence it). */
#define FUZZ_CHECK(cond)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* The path of this process's scratch file, now holding the `size` bytes at
 * `data`: for APIs that read only from a path. Nothing is left behind, even
 * when the process dies. */
const char *fuzz_tmp_file(const uint8_t *data, size_t size);

#endif
