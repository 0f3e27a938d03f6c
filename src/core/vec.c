#include "core/core_int.h"

cvm_status cvm__vec_reserve(cvm__vec *v, const cvm_allocator *a, size_t elem, size_t need)
{
    size_t cap;
    void *p;
    if (need <= v->cap) {
        return CVM_OK;
    }
    /* 1.25x: a big array (the ids) wastes at most a fifth of its size, and
     * the copies still cost O(1) per element amortised. */
    cap = v->cap + v->cap / 4;
    if (cap < need) {
        cap = need;
    }
    if (cap < 16) {
        cap = 16;
    }
    if (cap > SIZE_MAX / elem) {
        return CVM_E_NOMEM;
    }
    p = cvm__realloc(a, v->data, cap * elem);
    if (p == NULL) {
        return CVM_E_NOMEM;
    }
    v->data = p;
    v->cap = cap;
    return CVM_OK;
}

void cvm__vec_free(cvm__vec *v, const cvm_allocator *a)
{
    cvm__free(a, v->data);
    v->data = NULL;
    v->len = 0;
    v->cap = 0;
}
