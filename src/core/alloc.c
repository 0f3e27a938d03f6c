/* The allocator hook: every allocation in the library goes through a copy of
 * the caller's cvm_allocator, or libc's when none was given. */
#include "core/core_int.h"

#include <stdlib.h>
#include <string.h>

static void *libc_alloc(void *ud, size_t n)
{
    (void)ud;
    return malloc(n);
}

static void *libc_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    return realloc(p, n);
}

static void libc_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

cvm_status cvm__allocator_copy(cvm_allocator *dst, const cvm_allocator *src)
{
    if (src == NULL) {
        dst->size = sizeof *dst;
        dst->alloc = libc_alloc;
        dst->realloc = libc_realloc;
        dst->free = libc_free;
        dst->ud = NULL;
        return CVM_OK;
    }
    if (src->size != sizeof *src || !src->alloc || !src->realloc || !src->free) {
        return CVM_E_INVALID;
    }
    *dst = *src;
    return CVM_OK;
}

void *cvm__alloc(const cvm_allocator *a, size_t n)
{
    return a->alloc(a->ud, n ? n : 1);
}

void *cvm__calloc(const cvm_allocator *a, size_t count, size_t size)
{
    void *p;
    if (size != 0 && count > SIZE_MAX / size) {
        return NULL;
    }
    p = cvm__alloc(a, count * size);
    if (p) {
        memset(p, 0, count * size);
    }
    return p;
}

void *cvm__realloc(const cvm_allocator *a, void *p, size_t n)
{
    if (p == NULL) {
        return cvm__alloc(a, n);
    }
    return a->realloc(a->ud, p, n ? n : 1);
}

void cvm__free(const cvm_allocator *a, void *p)
{
    if (p) {
        a->free(a->ud, p);
    }
}

char *cvm__strndup(const cvm_allocator *a, const char *s, size_t n)
{
    char *p;
    if (n == SIZE_MAX) {
        return NULL;
    }
    p = cvm__alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}
