/* Loops NumPy runs slowly, for xent_cli._kernel (optional: NumPy does them without it).
 *
 * For fewer than ~64 classes, xent computes a block of R samples transposed to (C, R), so
 * that reductions over the classes become element-wise operations between C contiguous
 * vectors. NumPy's transposing copy, its float32 -> float64 summation along axis 0 and the
 * gather of each sample's target (flat index arithmetic, then np.take) run at a third to a
 * half of what a plain loop does; transpose, col_sums and take_cols are those loops. halves
 * (and transpose, for float16 input) converts float16 to float32 in one pass where NumPy
 * needs six. Nothing more: the same operations in the same order as NumPy's, so results
 * are bit-identical with or without this module (tests/test_ck.py checks it).
 *
 * Arrays arrive through the buffer protocol (C-contiguous, format 'e', 'f' or 'd'), and
 * the loops run without the GIL, so blocks on other threads proceed meanwhile.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define GROUP 8 /* rows copied together: 8 independent loads per class, 8 adjacent stores */
#define AHEAD 4096 /* bytes of input asked for ahead of use: the reads hop within a group of
                      rows, which hardware prefetchers follow poorly (2x faster from memory) */

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch((const void *)(p))
#else
#define PREFETCH(p) ((void)0)
#endif

/* half -> float, exactly, by moving the bits (as xent_cli._kernel.f16_to_f32 does): the 15
 * magnitude bits go 13 places up and the exponent is re-biased by a multiplication with
 * 2^112, exact for normal and subnormal halves alike; infinities and NaNs keep their bits. */
static inline float
half_to_float(uint16_t h)
{
    int32_t v = h, mag = v & 0x7fff, bits = mag << 13, normal;
    int32_t sign = (int32_t)((uint32_t)(v & 0x8000) << 16);
    float f;
    memcpy(&f, &bits, sizeof f);
    f *= 0x1p112f; /* exact: the result is a normal float32, or zero */
    memcpy(&normal, &f, sizeof f);
    int32_t special = -(int32_t)(mag >= 0x7c00); /* all ones for inf and NaN */
    bits = sign | ((0x7f800000 | ((mag & 0x3ff) << 13)) & special) | (normal & ~special);
    memcpy(&f, &bits, sizeof f); /* a mask, not a branch: the calling loops vectorise */
    return f;
}

#define SAME(v) (v)

#define TRANSPOSE(NAME, S, D, CONV)                                                      \
    static void NAME(const S *restrict x, Py_ssize_t rows, Py_ssize_t n_cls, D *restrict a)\
    {                                                                                     \
        Py_ssize_t r = 0;                                                                 \
        for (; r + GROUP <= rows; r += GROUP) {                                           \
            const S *xg = x + r * n_cls;                                                  \
            for (Py_ssize_t o = 0; o < GROUP * n_cls; o += 64 / (Py_ssize_t)sizeof(S))   \
                PREFETCH((const char *)(xg + o) + AHEAD);                                 \
            for (Py_ssize_t c = 0; c < n_cls; c++) {                                      \
                D *ac = a + c * rows + r;                                                 \
                for (int k = 0; k < GROUP; k++) ac[k] = CONV(xg[k * n_cls + c]);          \
            }                                                                             \
        }                                                                                 \
        for (; r < rows; r++)                                                             \
            for (Py_ssize_t c = 0; c < n_cls; c++)                                        \
                a[c * rows + r] = CONV(x[r * n_cls + c]);                                 \
    }

/* out[r] = a[0, r] + a[1, r] + ... in float64, class after class, as NumPy's
 * np.add.reduce(a, axis=0, dtype=np.float64) adds them. */
#define COL_SUMS(T)                                                                      \
    static void col_sums_##T(const T *restrict a, Py_ssize_t n_cls, Py_ssize_t rows,     \
                             double *restrict out)                                        \
    {                                                                                     \
        for (Py_ssize_t r = 0; r < rows; r++) out[r] = (double)a[r];                      \
        for (Py_ssize_t c = 1; c < n_cls; c++) {                                          \
            const T *ac = a + c * rows;                                                   \
            for (Py_ssize_t r = 0; r < rows; r++) out[r] += (double)ac[r];                \
        }                                                                                 \
    }

/* out[r] = a[y[r], r]; returns the first r whose y[r] is not in 0..C-1, or -1. */
#define TAKE_COLS(T)                                                                     \
    static Py_ssize_t take_cols_##T(const T *restrict a, Py_ssize_t n_cls, Py_ssize_t rows,\
                                    const long long *restrict y, T *restrict out)         \
    {                                                                                     \
        for (Py_ssize_t r = 0; r < rows; r++) {                                           \
            long long c = y[r];                                                           \
            if (c < 0 || c >= n_cls) return r;                                            \
            out[r] = a[c * rows + r];                                                     \
        }                                                                                 \
        return -1;                                                                        \
    }

TRANSPOSE(transpose_float, float, float, SAME)
TRANSPOSE(transpose_double, double, double, SAME)
TRANSPOSE(transpose_half, uint16_t, float, half_to_float)
COL_SUMS(float)
COL_SUMS(double)
TAKE_COLS(float)
TAKE_COLS(double)

/* The format without a byte-order prefix that means this machine's order, or NULL for
 * another order ('<' is native only on little-endian machines, '>' and '!' only on big). */
static const char *
native_format(const char *f)
{
    if (f == NULL) return "B";
    if (f[0] == '@' || f[0] == '=') return f + 1;
#if PY_BIG_ENDIAN
    if (f[0] == '>' || f[0] == '!') return f + 1;
    if (f[0] == '<') return NULL;
#else
    if (f[0] == '<') return f + 1;
    if (f[0] == '>' || f[0] == '!') return NULL;
#endif
    return f;
}

/* Whether two buffers share any byte (the loops assume they do not: restrict). */
static int
overlap(const Py_buffer *a, const Py_buffer *b)
{
    const char *a0 = a->buf, *b0 = b->buf;
    return a->len > 0 && b->len > 0 && a0 < b0 + b->len && b0 < a0 + a->len;
}

/* A C-contiguous 2-D buffer of float32 or float64 (writable if asked); 0 on success. */
static int
get_matrix_of(PyObject *obj, Py_buffer *view, int writable, const char *name, int half)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    const char *f = native_format(view->format);
    int ok = f && (strcmp(f, "f") == 0 || strcmp(f, "d") == 0 || (half && strcmp(f, "e") == 0));
    if (view->ndim < 1 || view->ndim > 2 || !ok) {
        PyErr_Format(PyExc_TypeError, "%s: expected a 1-D or 2-D array of %s in this machine's "
                     "byte order", name, half ? "float16/32/64" : "float32/float64");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int
get_matrix(PyObject *obj, Py_buffer *view, int writable, const char *name)
{
    return get_matrix_of(obj, view, writable, name, 0);
}

static Py_ssize_t dim(const Py_buffer *v, int i) { return v->ndim == 2 ? v->shape[i] : (i ? v->shape[0] : 1); }

PyDoc_STRVAR(transpose_doc,
             "transpose(src, dst)\n--\n\n"
             "Copy C-contiguous src (R, C) into C-contiguous dst (C, R): same float type, or\n"
             "float16 into float32 (converted exactly, bit-identical to NumPy's astype).");

static PyObject *
ck_transpose(PyObject *self, PyObject *args)
{
    PyObject *src_obj, *dst_obj;
    Py_buffer src, dst;
    if (!PyArg_ParseTuple(args, "OO:transpose", &src_obj, &dst_obj)) return NULL;
    if (get_matrix_of(src_obj, &src, 0, "src", 1) < 0) return NULL;
    if (get_matrix(dst_obj, &dst, 1, "dst") < 0) {
        PyBuffer_Release(&src);
        return NULL;
    }
    Py_ssize_t rows = dim(&src, 0), n_cls = dim(&src, 1);
    int types_ok = src.itemsize == dst.itemsize || (src.itemsize == 2 && dst.itemsize == 4);
    if (!types_ok || dim(&dst, 0) != n_cls || dim(&dst, 1) != rows || overlap(&src, &dst)) {
        PyErr_SetString(PyExc_ValueError, "transpose: dst must be src's transpose, of src's "
                                          "type (float16: float32), not overlapping it");
        PyBuffer_Release(&src);
        PyBuffer_Release(&dst);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (src.itemsize == 2)
        transpose_half((const uint16_t *)src.buf, rows, n_cls, (float *)dst.buf);
    else if (src.itemsize == 4)
        transpose_float((const float *)src.buf, rows, n_cls, (float *)dst.buf);
    else
        transpose_double((const double *)src.buf, rows, n_cls, (double *)dst.buf);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(col_sums_doc,
             "col_sums(a, out)\n--\n\n"
             "Float64 sums of C-contiguous a (C, R) along axis 0 into float64 out (R,).");

static PyObject *
ck_col_sums(PyObject *self, PyObject *args)
{
    PyObject *a_obj, *out_obj;
    Py_buffer a, out;
    if (!PyArg_ParseTuple(args, "OO:col_sums", &a_obj, &out_obj)) return NULL;
    if (get_matrix(a_obj, &a, 0, "a") < 0) return NULL;
    if (get_matrix(out_obj, &out, 1, "out") < 0) {
        PyBuffer_Release(&a);
        return NULL;
    }
    Py_ssize_t n_cls = dim(&a, 0), rows = dim(&a, 1);
    if (out.itemsize != 8 || out.ndim != 1 || out.shape[0] != rows || n_cls < 1
        || overlap(&a, &out)) {
        PyErr_SetString(PyExc_ValueError, "col_sums: out must be float64 of a's row length, "
                                          "apart from a");
        PyBuffer_Release(&a);
        PyBuffer_Release(&out);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (a.itemsize == 4)
        col_sums_float((const float *)a.buf, n_cls, rows, (double *)out.buf);
    else
        col_sums_double((const double *)a.buf, n_cls, rows, (double *)out.buf);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&a);
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(take_cols_doc,
             "take_cols(a, y, out)\n--\n\n"
             "out[r] = a[y[r], r] for C-contiguous a (C, R), int64 y (R,), out (R,) of a's type.");

static PyObject *
ck_take_cols(PyObject *self, PyObject *args)
{
    PyObject *a_obj, *y_obj, *out_obj;
    Py_buffer a, y, out;
    if (!PyArg_ParseTuple(args, "OOO:take_cols", &a_obj, &y_obj, &out_obj)) return NULL;
    if (get_matrix(a_obj, &a, 0, "a") < 0) return NULL;
    if (PyObject_GetBuffer(y_obj, &y, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&a);
        return NULL;
    }
    if (get_matrix(out_obj, &out, 1, "out") < 0) {
        PyBuffer_Release(&a);
        PyBuffer_Release(&y);
        return NULL;
    }
    Py_ssize_t n_cls = dim(&a, 0), rows = dim(&a, 1), bad = -1;
    const char *yf = native_format(y.format);
    int y_ok = yf && y.itemsize == 8 && (strcmp(yf, "q") == 0 || strcmp(yf, "l") == 0);
    if (!y_ok || y.ndim != 1 || y.shape[0] != rows || out.ndim != 1 || out.shape[0] != rows
        || out.itemsize != a.itemsize || overlap(&a, &out) || overlap(&y, &out)) {
        PyErr_SetString(PyExc_ValueError, "take_cols: y must be int64 and out of a's type, "
                                          "both of a's row length, out apart from both");
        bad = -2;
    }
    else {
        Py_BEGIN_ALLOW_THREADS
        if (a.itemsize == 4)
            bad = take_cols_float((const float *)a.buf, n_cls, rows, (const long long *)y.buf,
                                  (float *)out.buf);
        else
            bad = take_cols_double((const double *)a.buf, n_cls, rows, (const long long *)y.buf,
                                   (double *)out.buf);
        Py_END_ALLOW_THREADS
        if (bad >= 0)
            PyErr_Format(PyExc_IndexError, "take_cols: class %lld of sample %zd is out of range",
                         ((const long long *)y.buf)[bad], bad);
    }
    PyBuffer_Release(&a);
    PyBuffer_Release(&y);
    PyBuffer_Release(&out);
    if (bad != -1) return NULL;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(halves_doc,
             "halves(src, dst)\n--\n\n"
             "Convert C-contiguous float16 src into C-contiguous float32 dst of the same size,\n"
             "exactly (bit-identical to NumPy's astype).");

static PyObject *
ck_halves(PyObject *self, PyObject *args)
{
    PyObject *src_obj, *dst_obj;
    Py_buffer src, dst;
    if (!PyArg_ParseTuple(args, "OO:halves", &src_obj, &dst_obj)) return NULL;
    if (PyObject_GetBuffer(src_obj, &src, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    if (PyObject_GetBuffer(dst_obj, &dst, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&src);
        return NULL;
    }
    const char *sf = native_format(src.format), *df = native_format(dst.format);
    Py_ssize_t n = src.len / 2;
    if (!sf || !df || strcmp(sf, "e") != 0 || strcmp(df, "f") != 0 || dst.len != 4 * n
        || overlap(&src, &dst)) {
        PyErr_SetString(PyExc_ValueError, "halves: src must be float16 and dst float32 of its "
                                          "size, in this machine's byte order, not overlapping");
        PyBuffer_Release(&src);
        PyBuffer_Release(&dst);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    const uint16_t *h = (const uint16_t *)src.buf;
    float *f = (float *)dst.buf;
    for (Py_ssize_t i = 0; i < n; i++) f[i] = half_to_float(h[i]);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    Py_RETURN_NONE;
}

static PyMethodDef ck_methods[] = {
    {"transpose", ck_transpose, METH_VARARGS, transpose_doc},
    {"col_sums", ck_col_sums, METH_VARARGS, col_sums_doc},
    {"take_cols", ck_take_cols, METH_VARARGS, take_cols_doc},
    {"halves", ck_halves, METH_VARARGS, halves_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef ck_module = {
    PyModuleDef_HEAD_INIT, "_ck",
    "Transposing copy, float64 column sums and target gather for small class counts (optional).",
    -1, ck_methods,
};

PyMODINIT_FUNC
PyInit__ck(void)
{
    return PyModule_Create(&ck_module);
}
