// The public headers compile as C++ (extern "C", no C-only constructs), and
// the options macros are valid C++ initialisers.
#include "cvm.h"

int main()
{
    cvm_customers_options o = CVM_CUSTOMERS_OPTIONS_INIT;
    cvm_csv_options c = CVM_CSV_OPTIONS_INIT;
    cvm_summary_options s = CVM_SUMMARY_OPTIONS_INIT;
    cvm_simulate_options m = CVM_SIMULATE_OPTIONS_INIT;
    return o.size && c.size && s.size && m.size && cvm_version() > 0 ? 0 : 1;
}
