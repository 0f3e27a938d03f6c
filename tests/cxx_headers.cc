// The public headers from C++ (C++11): declarations have C linkage (every
// function called here links against the C library), and every options
// macro is a valid C++ initialiser, at namespace scope (constant
// initialisation) and for a local, without narrowing or missing fields.
// tests/check_options.py checks that every CVM_*_INIT macro is listed here.
// Each header is also compiled alone as C++ (header_check.cc.in).
#include "cvm.h"

#include <cstring>

#define CVM_TEST_OPTIONS(X)                                                                \
    X(cvm_customers_options, CVM_CUSTOMERS_OPTIONS_INIT, cvm_customers_options_init)       \
    X(cvm_csv_options, CVM_CSV_OPTIONS_INIT, cvm_csv_options_init)                         \
    X(cvm_summary_options, CVM_SUMMARY_OPTIONS_INIT, cvm_summary_options_init)             \
    X(cvm_simulate_options, CVM_SIMULATE_OPTIONS_INIT, cvm_simulate_options_init)          \
    X(cvm_fit_options, CVM_FIT_OPTIONS_INIT, cvm_fit_options_init)                         \
    X(cvm_clv_options, CVM_CLV_OPTIONS_INIT, cvm_clv_options_init)                         \
    X(cvm_model_options, CVM_MODEL_OPTIONS_INIT, cvm_model_options_init)                   \
    X(cvm_value_options, CVM_VALUE_OPTIONS_INIT, cvm_value_options_init)                   \
    X(cvm_rfm_options, CVM_RFM_OPTIONS_INIT, cvm_rfm_options_init)                         \
    X(cvm_kmeans_options, CVM_KMEANS_OPTIONS_INIT, cvm_kmeans_options_init)                \
    X(cvm_tiers_options, CVM_TIERS_OPTIONS_INIT, cvm_tiers_options_init)                   \
    X(cvm_lifecycle_options, CVM_LIFECYCLE_OPTIONS_INIT, cvm_lifecycle_options_init)       \
    X(cvm_attribution_options, CVM_ATTRIBUTION_OPTIONS_INIT, cvm_attribution_options_init) \
    X(cvm_paths_csv_options, CVM_PATHS_CSV_OPTIONS_INIT, cvm_paths_csv_options_init)       \
    X(cvm_attribution_run_options, CVM_ATTRIBUTION_RUN_OPTIONS_INIT,                       \
      cvm_attribution_run_options_init)

namespace {

// Namespace scope: the macros are constant initialisers.
#define CVM_TEST_GLOBAL(T, INIT, fn) const T global_##T = INIT;
CVM_TEST_OPTIONS(CVM_TEST_GLOBAL)

// A local from the macro, and the function's defaults over 0xA5 bytes.
#define CVM_TEST_CHECK(T, INIT, fn)                                                        \
    int check_##T()                                                                        \
    {                                                                                      \
        T local = INIT;                                                                    \
        T filled;                                                                          \
        std::memset(&filled, 0xA5, sizeof filled);                                         \
        if (fn(&filled, sizeof filled) != CVM_OK) {                                        \
            return 1;                                                                      \
        }                                                                                  \
        return local.size == sizeof(T) && filled.size == sizeof(T) &&                      \
                       global_##T.size == sizeof(T)                                        \
                   ? 0                                                                     \
                   : 1;                                                                    \
    }
CVM_TEST_OPTIONS(CVM_TEST_CHECK)

} // namespace

int main()
{
    int failures = 0;
#define CVM_TEST_CALL(T, INIT, fn) failures += check_##T();
    CVM_TEST_OPTIONS(CVM_TEST_CALL)
    cvm_allocator allocator = {sizeof(cvm_allocator), nullptr, nullptr, nullptr, nullptr};
    int64_t t = 0;
    failures += allocator.size == sizeof(cvm_allocator) ? 0 : 1;
    failures += cvm_version() == CVM_VERSION_NUMBER ? 0 : 1;
    failures += std::strcmp(cvm_version_string(), CVM_VERSION_STRING) == 0 ? 0 : 1;
    failures += cvm_strerror(CVM_OK) != nullptr ? 0 : 1;
    failures += cvm_parse_time("2000-01-01", 10, CVM_DATE_ISO, &t) == CVM_OK ? 0 : 1;
    return failures == 0 ? 0 : 1;
}
