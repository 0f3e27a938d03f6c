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
