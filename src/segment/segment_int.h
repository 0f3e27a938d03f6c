/* The segmentation module's insides, shared by the files of src/segment/.
 * Sections: RFM (rfm*.c), k-means (kmeans*.c). */
#ifndef CVM_SEGMENT_INT_H
#define CVM_SEGMENT_INT_H

#include "core/core_int.h"
#include "cvm/segment.h"

/* Snapshot kinds (customers 1, clv 2, spend 3, retention 4). */
#define CVM__SNAP_RFM 5u
#define CVM__SNAP_KMEANS 6u

#endif
