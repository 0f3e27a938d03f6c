#include "core/core_int.h"

const char *cvm_strerror(cvm_status status)
{
    switch (status) {
    case CVM_OK: return "success";
    case CVM_E_INVALID: return "invalid argument";
    case CVM_E_NOMEM: return "out of memory";
    case CVM_E_ABI: return "options struct of an unsupported size or with unknown fields set";
    case CVM_E_IO: return "input/output error";
    case CVM_E_PARSE: return "malformed input";
    case CVM_E_RANGE: return "value out of range";
    case CVM_E_NOT_FOUND: return "not found";
    case CVM_E_EMPTY: return "no data";
    case CVM_E_FORMAT: return "bad snapshot format";
    case CVM_E_NOT_CONVERGED: return "did not converge";
    case CVM_E_MISMATCH: return "incompatible objects";
    }
    return "unknown status";
}
