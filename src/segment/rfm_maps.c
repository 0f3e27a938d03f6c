/* The built-in RFM segment maps: ordered rules on scores of 1..5.
 *
 * CVM_RFM_MAP_RFM_PACKAGE is the table of R's `rfm` package
 * (rsquaredacademy/rfm, vignette "rfm-customer-level-data", chunk
 * "criteria", and the rfm_segment() examples): segment_names with
 * recency/frequency/monetary lower and upper bounds, tried in this order by
 * rfm_segment(), the first match kept, the rest "Others".
 *
 * CVM_RFM_MAP_RF_GRID is the recency-frequency grid that public RFM
 * notebooks share as a pandas `seg_map` of regular expressions on the
 * two-digit "RF" string: [1-2][1-2] hibernating, [1-2][3-4] at risk,
 * [1-2]5 can't lose, 3[1-2] about to sleep, 33 need attention, [3-4][4-5]
 * loyal customers, 41 promising, 51 new customers, [4-5][2-3] potential
 * loyalists, 5[4-5] champions. The ten cells partition the 5 x 5 grid, so
 * their order does not matter; M is not used (1..5). Written from that
 * table; checked in tests/test_rfm.c cell by cell. */
#include "segment/segment_int.h"

static const cvm_rfm_rule rfm_package[] = {
    /* name                 R min/max  F min/max  M min/max */
    { "Champions", 4, 5, 4, 5, 4, 5 },
    { "Loyal Customers", 2, 5, 3, 5, 3, 5 },
    { "Potential Loyalist", 3, 5, 1, 3, 1, 3 },
    { "New Customers", 4, 5, 1, 1, 1, 1 },
    { "Promising", 3, 4, 1, 1, 1, 1 },
    { "Need Attention", 2, 3, 2, 3, 2, 3 },
    { "About To Sleep", 2, 3, 1, 2, 1, 2 },
    { "At Risk", 1, 2, 2, 5, 2, 5 },
    { "Can't Lose Them", 1, 1, 4, 5, 4, 5 },
    { "Lost", 1, 2, 1, 2, 1, 2 },
};

static const cvm_rfm_rule rf_grid[] = {
    { "hibernating", 1, 2, 1, 2, 1, 5 },
    { "at risk", 1, 2, 3, 4, 1, 5 },
    { "can't lose", 1, 2, 5, 5, 1, 5 },
    { "about to sleep", 3, 3, 1, 2, 1, 5 },
    { "need attention", 3, 3, 3, 3, 1, 5 },
    { "loyal customers", 3, 4, 4, 5, 1, 5 },
    { "promising", 4, 4, 1, 1, 1, 5 },
    { "new customers", 5, 5, 1, 1, 1, 5 },
    { "potential loyalists", 4, 5, 2, 3, 1, 5 },
    { "champions", 5, 5, 4, 5, 1, 5 },
};

const cvm_rfm_rule *cvm__rfm_map_rules(int32_t map, size_t *n)
{
    switch (map) {
    case CVM_RFM_MAP_RFM_PACKAGE:
        *n = sizeof rfm_package / sizeof rfm_package[0];
        return rfm_package;
    case CVM_RFM_MAP_RF_GRID:
        *n = sizeof rf_grid / sizeof rf_grid[0];
        return rf_grid;
    default:
        *n = 0;
        return NULL;
    }
}
