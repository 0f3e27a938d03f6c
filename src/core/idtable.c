/* Customer ids: arbitrary bytes mapped to dense indices, each with a record.
 * Slots hold the upper half of the id's hash and index + 1, so a probe looks
 * at a record only when 32 hash bits already agree, and growing the table
 * needs no rehashing: the position is the tag's low bits. */
#include "core/core_int.h"

#include <string.h>

#define MAX_LOAD_NUM 7 /* grow past 70% full: short linear probes */
#define MAX_LOAD_DEN 10
#define MIN_SLOTS 64u
#define MAX_IDS 0xFFFFFFFEu
#define MAX_ARENA ((uint64_t)1 << 40) /* the id word keeps 40 bits of offset */

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

void cvm__idtable_init(cvm__idtable *t, size_t stride)
{
    memset(t, 0, sizeof *t);
    t->stride = stride;
}

/* The id word of an id that can be inline, as raw bytes in memory order;
 * 0 (never a valid inline word: the first byte is not NUL) otherwise. */
static uint64_t inline_word(const void *id, size_t len)
{
    const unsigned char *s = id;
    uint64_t w = 0;
    if (len == 0 || len > 8 || s[0] == 0 || s[len - 1] == 0) {
        return 0;
    }
    memcpy(&w, s, len);
    return w;
}

/* Out-of-line word: byte 0 is NUL, then the length (2 bytes) and the arena
 * offset (5 bytes), little-endian. */
static uint64_t arena_word(size_t len, uint64_t offset)
{
    unsigned char b[8];
    uint64_t w;
    b[0] = 0;
    b[1] = (unsigned char)len;
    b[2] = (unsigned char)(len >> 8);
    b[3] = (unsigned char)offset;
    b[4] = (unsigned char)(offset >> 8);
    b[5] = (unsigned char)(offset >> 16);
    b[6] = (unsigned char)(offset >> 24);
    b[7] = (unsigned char)(offset >> 32);
    memcpy(&w, b, 8);
    return w;
}

static const char *word_bytes(const cvm__idtable *t, const uint64_t *word, size_t *len)
{
    const unsigned char *b = (const unsigned char *)word;
    size_t n = 8;
    if (b[0] != 0) {
        while (b[n - 1] == 0) {
            n--;
        }
        *len = n;
        return (const char *)b;
    }
    *len = (size_t)b[1] | (size_t)b[2] << 8;
    return (const char *)t->bytes.data + load_le(b + 3, 5);
}

size_t cvm__idtable_count(const cvm__idtable *t)
{
    return t->count;
}

const char *cvm__idtable_get(const cvm__idtable *t, size_t index, size_t *len)
{
    return word_bytes(t, cvm__idtable_record(t, index), len);
}

static int same_id(const cvm__idtable *t, size_t index, uint64_t word, const void *id, size_t len)
{
    const uint64_t *w = cvm__idtable_record(t, index);
    size_t n;
    const char *s;
    if (word != 0) {
        return *w == word;
    }
    if (((const unsigned char *)w)[0] != 0) {
        return 0;
    }
    s = word_bytes(t, w, &n);
    return n == len && memcmp(s, id, len) == 0;
}

/* Walk the probe chain of `hash`; with `verify` 0, stop at the first tag
 * match without comparing ids (a prefetch hint). */
static size_t probe(const cvm__idtable *t, uint64_t hash, const void *id, size_t len,
                    uint64_t word, int verify)
{
    uint32_t tag = (uint32_t)(hash >> 32);
    size_t pos;
    for (pos = tag & t->mask; t->mask; pos = (pos + 1) & t->mask) {
        uint64_t slot = t->slots[pos];
        size_t index = (size_t)(uint32_t)slot - 1;
        if (slot == 0) {
            break;
        }
        if ((uint32_t)(slot >> 32) == tag && (!verify || same_id(t, index, word, id, len))) {
            return index;
        }
    }
    return SIZE_MAX;
}

size_t cvm__idtable_find(const cvm__idtable *t, const void *id, size_t len, uint64_t hash)
{
    return probe(t, hash, id, len, inline_word(id, len), 1);
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

/* Room for one more id of `arena` out-of-line bytes: nothing after this
 * can fail, so a failed insert leaves the table as it was. */
static cvm_status make_room(cvm__idtable *t, const cvm_allocator *a, size_t arena)
{
    void *block;
    if (t->count >= MAX_IDS || arena > MAX_ARENA - t->bytes.len) {
        return CVM_E_NOMEM;
    }
    if (grow_slots(t, a, t->count + 1) != CVM_OK ||
        cvm__vec_reserve(&t->bytes, a, 1, t->bytes.len + arena) != CVM_OK) {
        return CVM_E_NOMEM;
    }
    if ((t->count >> CVM__ID_BLOCK_BITS) < t->blocks.len) {
        return CVM_OK;
    }
    if (cvm__vec_reserve(&t->blocks, a, sizeof block, t->blocks.len + 1) != CVM_OK ||
        (block = cvm__alloc(a, CVM__ID_BLOCK * t->stride)) == NULL) {
        return CVM_E_NOMEM;
    }
    ((void **)t->blocks.data)[t->blocks.len++] = block;
    return CVM_OK;
}

cvm_status cvm__idtable_intern(cvm__idtable *t, const cvm_allocator *a, const void *id, size_t len,
                               uint64_t hash, size_t *index, int *created)
{
    uint64_t word = inline_word(id, len);
    size_t found = probe(t, hash, id, len, word, 1), arena = word ? 0 : len;
    unsigned char *rec;
    if (found != SIZE_MAX) {
        *index = found;
        *created = 0;
        return CVM_OK;
    }
    if (len == 0 || len > CVM__ID_MAX_LEN || make_room(t, a, arena) != CVM_OK) {
        return len == 0 || len > CVM__ID_MAX_LEN ? CVM_E_INVALID : CVM_E_NOMEM;
    }
    if (word == 0) {
        word = arena_word(len, t->bytes.len);
        memcpy((char *)t->bytes.data + t->bytes.len, id, len);
        t->bytes.len += len;
    }
    rec = cvm__idtable_record(t, t->count);
    memcpy(rec, &word, 8);
    memset(rec + 8, 0, t->stride - 8);
    place(t->slots, t->mask, (hash & 0xFFFFFFFF00000000u) | (uint64_t)(t->count + 1));
    *index = t->count++;
    *created = 1;
    return CVM_OK;
}

void cvm__idtable_truncate(cvm__idtable *t, size_t count)
{
    size_t i, arena = 0;
    if (count >= t->count) {
        return;
    }
    t->count = count;
    /* Deleting from a linear-probing table leaves holes in probe chains;
     * rebuilding from the ids that remain is simple and needs no memory. */
    if (t->mask) {
        memset(t->slots, 0, (t->mask + 1) * sizeof *t->slots);
    }
    for (i = 0; i < count; i++) {
        size_t n;
        const char *s = cvm__idtable_get(t, i, &n);
        const unsigned char *w = cvm__idtable_record(t, i);
        if (w[0] == 0) {
            arena = (size_t)load_le(w + 3, 5) + n;
        }
        place(t->slots, t->mask, (cvm__hash_bytes(s, n) & 0xFFFFFFFF00000000u) | (uint64_t)(i + 1));
    }
    t->bytes.len = arena;
}

size_t cvm__idtable_candidate(const cvm__idtable *t, uint64_t hash)
{
    return probe(t, hash, NULL, 0, 0, 0);
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
    void **blocks = t->blocks.data;
    size_t i;
    for (i = 0; i < t->blocks.len; i++) {
        cvm__free(a, blocks[i]);
    }
    cvm__vec_free(&t->blocks, a);
    cvm__free(a, t->slots);
    cvm__vec_free(&t->bytes, a);
    t->slots = NULL;
    t->mask = 0;
    t->count = 0;
}
