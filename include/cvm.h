/* libcvm — customer value maximization. Include this one header. */
#ifndef CVM_H
#define CVM_H

/* Threading rules.
 *
 * - The library has no global or thread-local state, takes no locks and
 *   starts no threads. Handles are not synchronised.
 * - Distinct handles are independent: threads may use handles of their own
 *   at the same time, with any calls.
 * - A function whose handle parameters are `const` only reads those handles.
 *   Any number of threads may call such functions on one handle at once:
 *   predictions and scores (cvm_clv_p_alive, _expected, _expected_new,
 *   _prob_count, _loglik, _holdout, _tracking, _value, _score,
 *   cvm_spend_expected, cvm_retention_survival, _rate, _lifetime),
 *   assignments (cvm_rfm_score, _segment, cvm_kmeans_predict, _silhouette,
 *   cvm_tiers_assign), getters (_params, _info, _errmsg, _count, _find, _id,
 *   _breakpoints, _centroids, _cuts, ... and the last attribution run's
 *   _credit, _removal_effects, _transitions, _roi) and the source of
 *   cvm_customers_merge(). Each thread needs its own output arrays and
 *   message buffers; input arrays are only read and may be shared.
 * - Every other call taking a handle (non-const) is a writer: while it runs,
 *   no other call may use that handle. Writers include the fits, adds, loads
 *   and runs, cvm_customers_summary(), _row() and _repeat_curve() (they
 *   settle pending counts or use the handle's scratch space), every _save()
 *   and _free().
 * - Read-only calls report failures only in the caller's `errbuf`; a
 *   writer's failure detail is kept in its handle (cvm_X_errmsg()). Strings
 *   and arrays a handle lends stay valid until its next writer.
 * - A handle calls its allocator on the calling thread, in read-only calls
 *   too (scoring, holdout, tracking and silhouettes take scratch memory): an
 *   allocator used by a shared handle, or by handles on different threads,
 *   must be thread-safe.
 * - Functions without a handle (cvm_simulate, cvm_value_tiers,
 *   cvm_lifecycle, cvm_segment_profiles, cvm_kmeans_elbow, cvm_parse_time,
 *   cvm_format_date, the _options_init functions, cvm_strerror,
 *   cvm_version, ...) may run on any thread at any time; cvm_simulate calls
 *   its callback on the calling thread.
 * - Handing a handle to another thread, or a fitted handle to its readers,
 *   needs the usual happens-before (thread start and join, a mutex).
 * - Results do not depend on the locale: numbers and dates are parsed by the
 *   library's own code (strtod only ever sees digits and an exponent), and
 *   it never calls setlocale(). */

#include "cvm/common.h"
#include "cvm/version.h"
#include "cvm/customers.h"
#include "cvm/clv.h"
#include "cvm/segment.h"
#include "cvm/attribution.h"

#endif
