/* The model kinds and their names. */
#include "clv/clv_int.h"

#include <string.h>


const cvm__model_ops *cvm__model_ops_of(int32_t kind)
{
    switch (kind) {
    case CVM_MODEL_BGNBD: return &cvm__bgnbd_ops;
    case CVM_MODEL_PARETO: return &cvm__pareto_ops;
    case CVM_MODEL_MBGNBD: return &cvm__mbgnbd_ops;
    case CVM_MODEL_BGBB: return &cvm__bgbb_ops;
    default: return NULL;
    }
}

const char *cvm_model_name(int32_t kind)
{
    const cvm__model_ops *ops = cvm__model_ops_of(kind);
    return ops ? ops->name : NULL;
}

cvm_status cvm_model_from_name(const char *name, int32_t *kind)
{
    int32_t k;
    if (name == NULL || kind == NULL) {
        return CVM_E_INVALID;
    }
    for (k = CVM_MODEL_BGNBD; k <= CVM_MODEL_BGBB; k++) {
        const char *known = cvm_model_name(k);
        if (known != NULL && strcmp(name, known) == 0) {
            *kind = k;
            return CVM_OK;
        }
    }
    return CVM_E_NOT_FOUND;
}
