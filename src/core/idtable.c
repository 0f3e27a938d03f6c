/* Customer ids: arbitrary bytes mapped to dense indices. Slots hold the upper
 * half of the id's hash and index + 1, so a probe compares ids only when 32
 * hash bits already agree, and growing the table needs no rehashing: the
 * position is the tag's low bits. */
#include "core/core_int.h"

#include <string.h>

#define MAX_LOAD_NUM 7 /* grow past 70% full: short linear probes */
#define MAX_LOAD_DEN 10
#define MIN_SLOTS 64u
#define MAX_IDS 0xFFFFFFFEu

static uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t w = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        w |= (uint64_t)p[i] << (8 * i);
    }
    return w;
}

uint64_t cvm__hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x243F6A8885A308D3u ^ ((uint64_t)n * 0xC2B2AE3D27D4EB4Fu);
    while (n >= 8) {
        h = (h ^ load_le(s, 8)) * 0x9E3779B97F4A7C15u;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    h = (h ^ load_le(s, n)) * 0x9E3779B97F4A7C15u;
    /* murmur3's finaliser: every input bit reaches the tag's low bits. */
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDu;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53u;
    h ^= h >> 33;
    return h;
}

size_t cvm__idtable_count(const cvm__idtable *t)
{
    return t->ends.len;
}

const char *cvm__idtable_get(const cvm__idtable *t, size_t index, size_t *len)
{
    const uint64_t *ends = t->ends.data;
    size_t start = index ? (size_t)ends[index - 1] : 0;
    *len = (size_t)ends[index] - start;
    return (const char *)t->bytes.data + start;
}

static int same_id(const cvm__idtable *t, size_t index, const void *id, size_t len)
{
    size_t n;
    const char *s = cvm__idtable_get(t, index, &n);
    return n == len && memcmp(s, id, len) == 0;
}

size_t cvm__idtable_find(const cvm__idtable *t, const void *id, size_t len, uint64_t hash)
{
    uint32_t tag = (uint32_t)(hash >> 32);
    size_t pos;
    if (t->mask == 0) {
        return SIZE_MAX;
    }
    for (pos = tag & t->mask;; pos = (pos + 1) & t->mask) {
        uint64_t slot = t->slots[pos];
        if (slot == 0) {
            return SIZE_MAX;
        }
        if ((uint32_t)(slot >> 32) == tag) {
            size_t index = (size_t)(uint32_t)slot - 1;
            if (same_id(t, index, id, len)) {
                return index;
            }
        }
    }
}

static void place(uint64_t *slots, size_t mask, uint64_t slot)
{
    size_t pos = (size_t)(slot >> 32) & mask;
    while (slots[pos] != 0) {
        pos = (pos + 1) & mask;
    }
    slots[pos] = slot;
}

static cvm_status grow_slots(cvm__idtable *t, const cvm_allocator *a, size_t n)
{
    size_t want = t->mask ? t->mask + 1 : MIN_SLOTS, i;
    uint64_t *slots;
    while (n > want / MAX_LOAD_DEN * MAX_LOAD_NUM) {
        if (want > SIZE_MAX / 2 / sizeof *slots) {
            return CVM_E_NOMEM;
        }
        want *= 2;
    }
    if (t->mask && want == t->mask + 1) {
        return CVM_OK;
    }
    slots = cvm__calloc(a, want, sizeof *slots);
    if (slots == NULL) {
        return CVM_E_NOMEM;
    }
    for (i = 0; t->mask && i <= t->mask; i++) {
        if (t->slots[i]) {
            place(slots, want - 1, t->slots[i]);
        }
    }
    cvm__free(a, t->slots);
    t->slots = slots;
    t->mask = want - 1;
    return CVM_OK;
}

cvm_status cvm__idtable_reserve(cvm__idtable *t, const cvm_allocator *a, size_t n, size_t bytes)
{
    size_t count = t->ends.len;
    if (n > MAX_IDS - count || bytes > SIZE_MAX - t->bytes.len) {
        return CVM_E_NOMEM;
    }
    if (grow_slots(t, a, count + n) != CVM_OK ||
        cvm__vec_reserve(&t->ends, a, sizeof(uint64_t), count + n) != CVM_OK ||
        cvm__vec_reserve(&t->bytes, a, 1, t->bytes.len + bytes) != CVM_OK) {
        return CVM_E_NOMEM;
    }
    return CVM_OK;
}

cvm_status cvm__idtable_intern(cvm__idtable *t, const cvm_allocator *a, const void *id, size_t len,
                               uint64_t hash, size_t *index, int *created)
{
    size_t found = cvm__idtable_find(t, id, len, hash), count = t->ends.len;
    if (found != SIZE_MAX) {
        *index = found;
        *created = 0;
        return CVM_OK;
    }
    if (cvm__idtable_reserve(t, a, 1, len) != CVM_OK) {
        return CVM_E_NOMEM;
    }
    memcpy((char *)t->bytes.data + t->bytes.len, id, len);
    t->bytes.len += len;
    ((uint64_t *)t->ends.data)[count] = t->bytes.len;
    t->ends.len = count + 1;
    place(t->slots, t->mask, (hash & 0xFFFFFFFF00000000u) | (uint64_t)(count + 1));
    *index = count;
    *created = 1;
    return CVM_OK;
}

void cvm__idtable_truncate(cvm__idtable *t, size_t count)
{
    size_t i;
    if (count >= t->ends.len) {
        return;
    }
    t->ends.len = count;
    t->bytes.len = count ? (size_t)((uint64_t *)t->ends.data)[count - 1] : 0;
    /* Deleting from a linear-probing table leaves holes in probe chains;
     * rebuilding from the ids that remain is simple and needs no memory. */
    if (t->mask) {
        memset(t->slots, 0, (t->mask + 1) * sizeof *t->slots);
    }
    for (i = 0; i < count; i++) {
        size_t n;
        const char *s = cvm__idtable_get(t, i, &n);
        place(t->slots, t->mask, (cvm__hash_bytes(s, n) & 0xFFFFFFFF00000000u) | (uint64_t)(i + 1));
    }
}

void cvm__idtable_prefetch(const cvm__idtable *t, uint64_t hash)
{
#if defined(__GNUC__) || defined(__clang__)
    if (t->mask) {
        __builtin_prefetch(&t->slots[(size_t)(hash >> 32) & t->mask]);
    }
#else
    (void)t;
    (void)hash;
#endif
}

void cvm__idtable_free(cvm__idtable *t, const cvm_allocator *a)
{
    cvm__free(a, t->slots);
    cvm__vec_free(&t->bytes, a);
    cvm__vec_free(&t->ends, a);
    t->slots = NULL;
    t->mask = 0;
}
