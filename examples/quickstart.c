/* The README's C example: record purchases, read one customer's summary. */
#include <cvm.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    cvm_customers *model;
    cvm_customers_options opts = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_summary_options weeks = CVM_SUMMARY_OPTIONS_INIT;
    const char *days[] = {"2024-01-03", "2024-01-03", "2024-02-10", "2024-03-20"};
    const double amounts[] = {20.0, 5.0, 30.0, 12.5};
    double row[4];
    size_t i, index;
    cvm_status st;

    cvm_parse_time("2024-06-30", 10, CVM_DATE_ISO, &opts.calibration_end);
    weeks.unit_seconds = 7 * CVM_SECONDS_PER_DAY;
    if (cvm_customers_new(&model, &opts) != CVM_OK) {
        return 1;
    }
    for (i = 0; i < 4; i++) {
        int64_t t;
        cvm_parse_time(days[i], strlen(days[i]), CVM_DATE_ISO, &t);
        st = cvm_customers_add(model, "alice", 5, t, amounts[i]);
        if (st != CVM_OK) {
            fprintf(stderr, "%s: %s\n", cvm_strerror(st), cvm_customers_errmsg(model));
            cvm_customers_free(model);
            return 1;
        }
    }
    cvm_customers_find(model, "alice", 5, &index);
    cvm_customers_row(model, index, &weeks, row, 4);
    /* Two repeat days (the two purchases of 3 January merge), so the
     * monetary value is (30 + 12.5) / 2. */
    printf("frequency %g, recency %.2f weeks, T %.2f weeks, monetary value %.2f\n", row[0], row[1],
           row[2], row[3]);
    cvm_customers_free(model);
    return row[0] == 2 && row[3] == 21.25 ? 0 : 1;
}
