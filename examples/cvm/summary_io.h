/* What `cvm fit` and `cvm predict` share: reading a customer summary CSV
 * (one row per customer, columns chosen by header name or 1-based index),
 * reporting the library's "row N" errors as the file's line, and fitting the
 * transaction and spend models to the columns read. */
#ifndef CVM_SUMMARY_IO_H
#define CVM_SUMMARY_IO_H

#include "cli.h"

/* The numeric columns a command can ask for. */
enum { SUM_X, SUM_TX, SUM_T, SUM_M, SUM_W, SUM_NCOLS };

/* How much a command needs a column. */
enum { NEED_SKIP, NEED_IF_PRESENT, NEED_REQUIRED };

/* Which columns to read. A column the command can do without (monetary for
 * predict) is read when present under its default name; once the user
 * names it, it must be there. */
typedef struct summary_spec {
    const char *path;            /* --summary FILE ('-': standard input) */
    const char *col[SUM_NCOLS];  /* header name or 1-based index; NULL: none */
    int named[SUM_NCOLS];        /* 1: given on the command line */
    int need[SUM_NCOLS];         /* a NEED_*, set by the command */
    const char *id_col;          /* --id COL; NULL: "id" when present, else row numbers */
} summary_spec;

/* The rows read. v[k] is NULL for a column not read. */
typedef struct summary_data {
    const char *file;      /* for messages */
    size_t n;
    double *v[SUM_NCOLS];
    char *ids;             /* id bytes of all rows back to back, or NULL */
    size_t *id_off;        /* n + 1 offsets into ids, or NULL (ids are row numbers) */
    size_t *line;          /* file line of each row, for messages */
} summary_data;

/* Lifetimes' column names as `cvm summary` writes them. */
void summary_spec_init(summary_spec *s);

/* Whether `arg` is one of the summary options (--summary, --frequency,
 * --recency, --T, --monetary, --weights, --id); takes its value. */
int summary_opt(cli_args *a, const char *arg, summary_spec *s, int *bad);

/* All of `f` in a NUL-terminated buffer (length in *len); NULL when out of
 * memory. The caller checks ferror(f). */
char *read_stream(FILE *f, size_t *len);

/* Read the file. Returns CLI_OK, or CLI_BAD / CLI_FAIL after printing one
 * line naming file, line and problem. */
int summary_read(summary_data *d, const summary_spec *s);
void summary_free(summary_data *d);

/* Print a library message that may start "row N" as "FILE:LINE: ..." with N
 * mapped to the file's line. Returns CLI_BAD. */
int summary_row_error(const summary_data *d, const char *msg);

/* Write row i's id as a CSV field. */
void summary_write_id(FILE *f, const summary_data *d, size_t i);

/* MODEL argument: a cvm_model_kind, or MODEL_GAMMAGAMMA. 0 on success, else
 * an error has been printed. */
enum { MODEL_GAMMAGAMMA = 100 };
int model_arg(const char *cmd, const char *s, int32_t *kind);
/* "BG/NBD", "Gamma-Gamma", ... for readable output. */
const char *model_title(int32_t kind);

/* Fit a transaction model of `kind` to d's x, t_x, T (and weights). On
 * failure prints one line and returns CLI_BAD (bad data, no convergence) or
 * CLI_FAIL (out of memory); *out is NULL. */
int fit_transactions(cvm_clv **out, int32_t kind, const summary_data *d,
                     const cvm_fit_options *fo);
/* Fit Gamma-Gamma to d's x and monetary (and weights). As fit_transactions. */
int fit_spend(cvm_spend **out, const summary_data *d, const cvm_fit_options *fo);

#endif
