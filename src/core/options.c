/* Options structs grow by appending fields; a caller compiled against an older
 * or newer header passes its own size (libxkbcommon's scheme). */
#include "core/core_int.h"

#include <string.h>

#define CVM__OPTIONS_MAX 4096u

cvm_status cvm__options_copy(void *dst, size_t cur_size, const void *src, size_t v1_size)
{
    size_t size, i;
    const unsigned char *bytes = src;
    if (src == NULL) {
        return CVM_OK;
    }
    memcpy(&size, src, sizeof size);
    if (size < v1_size || size > CVM__OPTIONS_MAX) {
        return CVM_E_ABI;
    }
    /* A newer caller's fields we do not know must be unset, or we would
     * silently ignore a setting it asked for. */
    for (i = cur_size; i < size; i++) {
        if (bytes[i] != 0) {
            return CVM_E_ABI;
        }
    }
    memcpy(dst, src, size < cur_size ? size : cur_size);
    memcpy(dst, &cur_size, sizeof cur_size);
    return CVM_OK;
}

cvm_status cvm__options_init(void *opts, size_t size, const void *defaults, size_t cur_size,
                             size_t v1_size)
{
    if (opts == NULL) {
        return CVM_E_INVALID;
    }
    if (size < v1_size || size > CVM__OPTIONS_MAX) {
        return CVM_E_ABI;
    }
    /* A caller built against a newer header gets our defaults and zeros for
     * the fields we do not know, which is what "unset" means for them. */
    memset(opts, 0, size);
    memcpy(opts, defaults, size < cur_size ? size : cur_size);
    memcpy(opts, &size, sizeof size);
    return CVM_OK;
}
