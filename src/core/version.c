#include "cvm/version.h"

unsigned cvm_version(void)
{
    return (unsigned)CVM_VERSION_NUMBER;
}

const char *cvm_version_string(void)
{
    return CVM_VERSION_STRING;
}
