/* libcvm — customer value maximization. Include this one header. */
#ifndef CVM_H
#define CVM_H

#include "cvm/common.h"
#include "cvm/version.h"
#include "cvm/customers.h"
#include "cvm/clv.h"
#include "cvm/segment.h"
#include "cvm/attribution.h"

#endif
