/* cvm_clv: the transaction model handle — lifecycle, parameters, saving.
 * Fitting is in fit.c, predictions in predict.c and value.c. */
#include "clv/clv_int.h"

#include <string.h>

cvm_status cvm_clv_options_init(cvm_clv_options *opts, size_t size)
{
    const cvm_clv_options def = CVM_CLV_OPTIONS_INIT;
    return cvm__options_init(opts, size, &def, sizeof def, sizeof def);
}

static cvm_status create(cvm_clv **out, const cvm_clv_options *opts)
{
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    cvm_allocator a;
    cvm_clv *m;
    cvm_status st;
    if (out == NULL) {
        return CVM_E_INVALID;
    }
    *out = NULL;
    st = cvm__options_copy(&o, sizeof o, opts, sizeof o);
    if (st != CVM_OK) {
        return st;
    }
    if (cvm__model_ops_of(o.kind) == NULL || o.reserved != 0 ||
        cvm__allocator_copy(&a, o.allocator) != CVM_OK) {
        return CVM_E_INVALID;
    }
    m = cvm__calloc(&a, 1, sizeof *m);
    if (m == NULL) {
        return CVM_E_NOMEM;
    }
    m->alloc = a;
    m->kind = o.kind;
    m->ops = cvm__model_ops_of(o.kind);
    *out = m;
    return CVM_OK;
}

cvm_status cvm_clv_new(cvm_clv **out, const cvm_clv_options *opts)
{
    return create(out, opts);
}

void cvm_clv_free(cvm_clv *m)
{
    if (m != NULL) {
        cvm_allocator a = m->alloc;
        cvm__free(&a, m);
    }
}

const char *cvm_clv_errmsg(const cvm_clv *m)
{
    return m ? m->errmsg : "";
}

int32_t cvm_clv_kind(const cvm_clv *m)
{
    return m ? m->kind : -1;
}

size_t cvm_clv_param_count(const cvm_clv *m)
{
    return m ? CVM__CLV_MAXP : 0;
}

const char *cvm_clv_param_name(const cvm_clv *m, size_t i)
{
    return m && i < CVM__CLV_MAXP ? m->ops->param_names[i] : NULL;
}

cvm_status cvm_clv_params(const cvm_clv *m, double *params, double *stderrs, size_t n)
{
    return m ? cvm__fit_params(&m->fit, CVM__CLV_MAXP, params, stderrs, n) : CVM_E_INVALID;
}

cvm_status cvm_clv_set_params(cvm_clv *m, const double *params, size_t n)
{
    if (m == NULL) {
        return CVM_E_INVALID;
    }
    m->errmsg[0] = '\0';
    return cvm__fit_set(&m->fit, CVM__CLV_MAXP, params, n, m->errmsg, sizeof m->errmsg);
}

cvm_status cvm_clv_info(const cvm_clv *m, cvm_fit_info *info)
{
    return m ? cvm__fit_info(&m->fit, info) : CVM_E_INVALID;
}

cvm_status cvm_clv_save(cvm_clv *m, const char *path)
{
    if (m == NULL) {
        return CVM_E_INVALID;
    }
    m->errmsg[0] = '\0';
    return cvm__fit_save(&m->fit, &m->alloc, CVM__SNAP_CLV, m->ops->name, CVM__CLV_MAXP, path,
                         m->errmsg, sizeof m->errmsg);
}

cvm_status cvm_clv_load(cvm_clv **out, const char *path, const cvm_clv_options *opts,
                        char *errbuf, size_t errlen)
{
    cvm_clv_options o = CVM_CLV_OPTIONS_INIT;
    char name[16];
    int32_t kind;
    cvm_allocator a;
    cvm__fitstate f;
    cvm_status st;
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (out == NULL) {
        return CVM_E_INVALID;
    }
    *out = NULL;
    if (opts != NULL) {
        st = cvm__options_copy(&o, sizeof o, opts, sizeof o);
        if (st != CVM_OK) {
            return st;
        }
    }
    if (cvm__allocator_copy(&a, o.allocator) != CVM_OK) {
        return CVM_E_INVALID;
    }
    st = cvm__fit_load(&f, &a, CVM__SNAP_CLV, name, sizeof name,
                       CVM__CLV_MAXP, path, errbuf, errlen);
    if (st == CVM_OK && cvm_model_from_name(name, &kind) != CVM_OK) {
        st = cvm__errf(errbuf, errlen, CVM_E_FORMAT, "%s: unknown model kind", path);
    }
    if (st != CVM_OK) {
        return st;
    }
    o.kind = kind;
    st = create(out, &o);
    if (st != CVM_OK) {
        return cvm__errf(errbuf, errlen, st, "%s: %s", path, cvm_strerror(st));
    }
    (*out)->fit = f;
    return st;
}
