/* Loops NumPy runs slowly, for xent_cli.engine (through engine/native.py; optional: NumPy
 * does them without it).
 *
 * For fewer than ~64 classes, xent computes a block of R samples transposed to (C, R), so
 * that reductions over the classes become element-wise operations between C contiguous
 * vectors. NumPy's transposing copy, its float32 -> float64 summation along axis 0 and the
 * gather of each sample's target (flat index arithmetic, then np.take) run at a third to a
 * half of what a plain loop does; transpose, col_sums and take_cols are those loops. halves
 * (and transpose, for float16 input) converts float16 to float32 in one pass where NumPy
 * needs six. Nothing more: the same operations in the same order as NumPy's, so results
 * are bit-identical with or without this module (tests/engine/test_native.py checks it).
 *
 * loss_cols does a whole block of the loss in one go, a few hundred samples at a time so
 * that they stay in the L1 cache: transpose, max, subtract, gather, exp, sums, log and the
 * last subtraction, where NumPy makes a pass over the whole block for each. The max, the
 * exponentials and the logarithms are NumPy's own loops, called through the capsules of
 * np.ufunc._get_strided_loop (NumPy >= 1.24), so they are bit-identical by construction;
 * the rest are exact IEEE operations in NumPy's order. On the way it notes whether every
 * input value is finite, which spares the NaN check its own pass over the chunk.
 *
 * Arrays arrive through the buffer protocol (C-contiguous, format 'e', 'f' or 'd'), and
 * the loops run without the GIL, so blocks on other threads proceed meanwhile.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <fenv.h>
#include <float.h>

#define GROUP 8 /* rows copied together: 8 independent loads per class, 8 adjacent stores */
#define AHEAD 4096 /* bytes of input asked for ahead of use: the reads hop within a group of
                      rows, which hardware prefetchers follow poorly (2x faster from memory) */

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch((const void *)(p))
#else
#define PREFETCH(p) ((void)0)
#endif

/* loss_cols' kernels: out of line (GCC vectorises their loops only there), and with GCC on
 * x86-64 glibc also built for AVX2, chosen at load time (ifunc): twice the float64 lanes
 * for the sums. The same IEEE operations either way, so the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define KERNEL __attribute__((noinline, target_clones("avx2", "default")))
#elif defined(__GNUC__) || defined(__clang__)
#define KERNEL __attribute__((noinline))
#else
#define KERNEL
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
TRANSPOSE(transpose_bits16, uint16_t, uint16_t, SAME)
COL_SUMS(float)
COL_SUMS(double)
TAKE_COLS(float)
TAKE_COLS(double)


/* The capsule NumPy's ufunc._get_strided_loop fills ("numpy_1.24_ufunc_call_info"): its
 * strided loop is int loop(context, data, dimensions, strides, auxdata), 0 on success. */
typedef int (*strided_loop)(void *context, char *const *data, const Py_ssize_t *dimensions,
                            const Py_ssize_t *strides, void *auxdata);
typedef struct {
    strided_loop loop;
    void *context;
    void *auxdata;
    unsigned char requires_pyapi;
    unsigned char no_floatingpoint_errors;
} ufunc_call_info;

#define CALL_INFO "numpy_1.24_ufunc_call_info"
#define TILE_ITEMS 4096 /* values of a tile: 16 KiB of float32, in L1 with room to spare */
#define TILE_MIN_ROWS 256 /* but at least this many samples: NumPy's loops are called once per
                             class and tile, and at C=50 64-sample tiles were 13% slower */

/* A filled call-info capsule whose loop runs without the GIL, or NULL (an error set). */
static ufunc_call_info *
call_info(PyObject *capsule, const char *name)
{
    ufunc_call_info *info = PyCapsule_GetPointer(capsule, CALL_INFO);
    if (info == NULL) return NULL;
    if (info->loop == NULL || info->requires_pyapi) {
        PyErr_Format(PyExc_ValueError, "loss_cols: %s is not a filled GIL-free NumPy loop", name);
        return NULL;
    }
    return info;
}

/* The steps of loss_cols on a tile (C, t) of the compute type T, each a plain loop the
 * compiler vectorises (restrict: the tile, its maxima and the outputs never overlap). */
#define TILE_STEPS(T, BIG)                                                                \
    /* tc[i] -= mx[i]; whether some result is -inf (the value -inf, the max finite) */ \
    static inline int shift_##T(T *restrict tc, const T *restrict mx, Py_ssize_t t)       \
    {                                                                                     \
        int bad = 0;                                                                      \
        for (Py_ssize_t i = 0; i < t; i++) {                                              \
            T d = tc[i] - mx[i];                                                          \
            bad |= d < -BIG;                                                              \
            tc[i] = d;                                                                    \
        }                                                                                 \
        return bad;                                                                       \
    }                                                                                     \
    /* out[i] = tc[0][i] + tc[1][i] + ... in float64 (C rows of t), class after class, as  \
     * np.add.reduce(tc, axis=0, dtype=np.float64) adds them, 8 samples at a time */      \
    static inline void col_total_##T(double *restrict out, const T *restrict tc,          \
                                     Py_ssize_t n_cls, Py_ssize_t t)                      \
    {                                                                                     \
        Py_ssize_t i = 0;                                                                 \
        for (; i + 8 <= t; i += 8) {                                                      \
            double acc[8];                                                                \
            for (int k = 0; k < 8; k++) acc[k] = (double)tc[i + k];                       \
            for (Py_ssize_t c = 1; c < n_cls; c++)                                        \
                for (int k = 0; k < 8; k++) acc[k] += (double)tc[c * t + i + k];          \
            for (int k = 0; k < 8; k++) out[i + k] = acc[k];                              \
        }                                                                                 \
        for (; i < t; i++) {                                                              \
            double a = (double)tc[i];                                                     \
            for (Py_ssize_t c = 1; c < n_cls; c++) a += (double)tc[c * t + i];            \
            out[i] = a;                                                                   \
        }                                                                                 \
    }                                                                                     \
    /* out[i] -= zy[i]; whether some result is NaN (a NaN or +inf among the sample's      \
     * values, or all of them -inf: with finite values the loss is finite) */             \
    static inline int minus_##T(double *restrict out, const T *restrict zy, Py_ssize_t t) \
    {                                                                                     \
        int bad = 0;                                                                      \
        for (Py_ssize_t i = 0; i < t; i++) {                                              \
            double v = out[i] - (double)zy[i];                                            \
            bad |= v != v;                                                                \
            out[i] = v;                                                                   \
        }                                                                                 \
        return bad;                                                                       \
    }                                                                                     \
    /* With label smoothing eps (no class weights), from out[i] = lse: the loss           \
     * (lse - zy) * (1 - eps) + eps / C * (lse * C - smooth), operation for operation as  \
     * _kernel._finish_losses computes it; NaN flagged as in minus. */                    \
    static inline int smoothed_##T(double *restrict out, const T *restrict zy,            \
                                   const double *restrict smooth, double eps,             \
                                   Py_ssize_t n_cls, Py_ssize_t t)                        \
    {                                                                                     \
        int bad = 0;                                                                      \
        double keep = 1.0 - eps, share = eps / (double)n_cls, total = (double)n_cls;      \
        for (Py_ssize_t i = 0; i < t; i++) {                                              \
            double lse = out[i], v = lse - (double)zy[i];                                 \
            bad |= v != v;                                                                \
            out[i] = v * keep + share * (lse * total - smooth[i]);                        \
        }                                                                                 \
        return bad;                                                                       \
    }

TILE_STEPS(float, FLT_MAX)
TILE_STEPS(double, DBL_MAX)

/* A tile of t rows (t, C) of x, transposed to (C, t) in the compute type. Halves are
 * transposed as bits into `raw` first, then converted in one contiguous (vectorised) loop,
 * faster than converting each value as it is moved: float16 at C=10 went from 1.29x to
 * 1.12x the float32 time (bench/float16.py). */
static inline void
load_float(const float *x, Py_ssize_t t, Py_ssize_t n_cls, float *tile, uint16_t *raw)
{
    transpose_float(x, t, n_cls, tile);
}

static inline void
load_double(const double *x, Py_ssize_t t, Py_ssize_t n_cls, double *tile, uint16_t *raw)
{
    transpose_double(x, t, n_cls, tile);
}

static inline void
load_half(const uint16_t *x, Py_ssize_t t, Py_ssize_t n_cls, float *restrict tile,
          uint16_t *restrict raw)
{
    transpose_bits16(x, t, n_cls, raw);
    for (Py_ssize_t i = 0; i < t * n_cls; i++) tile[i] = half_to_float(raw[i]);
}

/* One block of the loss for the (C, R) layout, tile by tile, with NumPy's max, exp and log
 * loops (fn): for each sample r (a row of x), m = max over c (np.maximum, class after
 * class), the shifted values d_c = x_c - m, s = exp(d_0) + exp(d_1) + ... in float64,
 * class after class, and loss[r] = log(s) - d_y[r]: what _kernel.index_losses computes
 * with NumPy on the whole block, in the same order. `tile` holds C * width values, `mx`
 * and `zy` width each. Returns the first sample whose class is out of range, -1 if none,
 * -2 if a NumPy loop failed. *finite is cleared when some x is NaN or infinite (and when
 * a difference of two finite values overflows: the caller then counts exactly). */
#define LOSS_COLS(NAME, S, T, LOAD_FN)                                                    \
    KERNEL static Py_ssize_t NAME(const S *restrict x, Py_ssize_t rows, Py_ssize_t n_cls, \
                                  const long long *restrict y, double *restrict loss,     \
                                  T *restrict tile, T *restrict mx, T *restrict zy,       \
                                  uint16_t *restrict raw, double *restrict smooth,        \
                                  double eps, Py_ssize_t width,                           \
                                  ufunc_call_info *const fn[3], int *finite)              \
    {                                                                                     \
        int bad = 0;                                                                      \
        Py_ssize_t st[3] = {sizeof(T), sizeof(T), sizeof(T)}, st64[2] = {8, 8};            \
        for (Py_ssize_t r0 = 0; r0 < rows; r0 += width) {                                 \
            Py_ssize_t t = rows - r0 < width ? rows - r0 : width, one[1] = {t};           \
            Py_ssize_t all[1] = {t * n_cls};                                              \
            LOAD_FN(x + r0 * n_cls, t, n_cls, tile, raw);                                 \
            memcpy(mx, tile, (size_t)t * sizeof(T));                                      \
            for (Py_ssize_t c = 1; c < n_cls; c++) {                                      \
                char *args[3] = {(char *)mx, (char *)(tile + c * t), (char *)mx};         \
                if (fn[0]->loop(fn[0]->context, args, one, st, fn[0]->auxdata) < 0)       \
                    return -2;                                                            \
            }                                                                             \
            for (Py_ssize_t c = 0; c < n_cls; c++) bad |= shift_##T(tile + c * t, mx, t);  \
            if (eps > 0.0) col_total_##T(smooth, tile, n_cls, t); /* sum of the shifted */   \
            for (Py_ssize_t i = 0; i < t; i++) {                                          \
                long long c = y[r0 + i];                                                  \
                if (c < 0 || c >= n_cls) return r0 + i;                                   \
                zy[i] = tile[c * t + i];                                                  \
            }                                                                             \
            char *args[2] = {(char *)tile, (char *)tile};                                 \
            if (fn[1]->loop(fn[1]->context, args, all, st, fn[1]->auxdata) < 0)           \
                return -2;                                                                \
            double *out = loss + r0;                                                      \
            col_total_##T(out, tile, n_cls, t);                                           \
            char *outs[2] = {(char *)out, (char *)out};                                   \
            if (fn[2]->loop(fn[2]->context, outs, one, st64, fn[2]->auxdata) < 0)         \
                return -2;                                                                \
            if (eps > 0.0)                                                                \
                bad |= smoothed_##T(out, zy, smooth, eps, n_cls, t);                      \
            else                                                                          \
                bad |= minus_##T(out, zy, t);                                             \
        }                                                                                 \
        *finite = !bad;                                                                   \
        return -1;                                                                        \
    }

LOSS_COLS(loss_cols_float, float, float, load_float)
LOSS_COLS(loss_cols_half, uint16_t, float, load_half)
LOSS_COLS(loss_cols_double, double, double, load_double)

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

PyDoc_STRVAR(loss_cols_doc,
             "loss_cols(x, y, loss, max_loop, exp_loop, log_loop, eps=0.0) -> bool\n--\n\n"
             "For C-contiguous rows x (R, C) of float16/32/64 and int64 classes y (R,): the\n"
             "float64 loss[r] = log(sum_c exp(x[r, c] - m[r])) - (x[r, y[r]] - m[r]) with\n"
             "m[r] = max_c x[r, c], computed in x's compute type (float64 for float64, else\n"
             "float32) as _kernel.index_losses does. max_loop and exp_loop are np.maximum's and\n"
             "np.exp's call-info capsules for that type, log_loop np.log's for float64\n"
             "(ufunc._get_strided_loop). eps > 0: label smoothing without class weights,\n"
             "as _kernel.index_losses computes it. Returns True when every x is finite.");

static PyObject *
ck_loss_cols(PyObject *self, PyObject *args)
{
    PyObject *x_obj, *y_obj, *loss_obj, *caps[3];
    Py_buffer x, y, loss;
    double eps = 0.0;
    if (!PyArg_ParseTuple(args, "OOOOOO|d:loss_cols", &x_obj, &y_obj, &loss_obj, &caps[0],
                          &caps[1], &caps[2], &eps))
        return NULL;
    if (!(eps >= 0.0 && eps <= 1.0)) {
        PyErr_SetString(PyExc_ValueError, "loss_cols: eps must be in [0, 1]");
        return NULL;
    }
    static const char *names[3] = {"max_loop", "exp_loop", "log_loop"};
    ufunc_call_info *fn[3];
    for (int k = 0; k < 3; k++)
        if ((fn[k] = call_info(caps[k], names[k])) == NULL) return NULL;
    if (get_matrix_of(x_obj, &x, 0, "x", 1) < 0) return NULL;
    if (PyObject_GetBuffer(y_obj, &y, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    if (get_matrix(loss_obj, &loss, 1, "loss") < 0) {
        PyBuffer_Release(&x);
        PyBuffer_Release(&y);
        return NULL;
    }
    Py_ssize_t rows = dim(&x, 0), n_cls = dim(&x, 1), bad = -1;
    size_t item = x.itemsize == 8 ? 8 : 4;
    const char *yf = native_format(y.format);
    int y_ok = yf && y.itemsize == 8 && (strcmp(yf, "q") == 0 || strcmp(yf, "l") == 0);
    int finite = 1;
    if (x.ndim != 2 || n_cls < 1 || !y_ok || y.ndim != 1 || y.shape[0] != rows
        || loss.ndim != 1 || loss.shape[0] != rows || loss.itemsize != 8
        || overlap(&x, &loss) || overlap(&y, &loss)) {
        PyErr_SetString(PyExc_ValueError, "loss_cols: x must be 2-D rows, y int64 and loss "
                                          "float64, both of x's row count, loss apart from both");
        bad = -3;
    }
    else {
        /* a tile of `width` samples (a multiple of 64, or all of them), their maxima and
         * their targets' shifted values */
        Py_ssize_t width = TILE_ITEMS / n_cls / 64 * 64;
        if (width < TILE_MIN_ROWS) width = TILE_MIN_ROWS;
        if (width > rows) width = rows > 0 ? rows : 1;
        size_t tile_bytes = item * (size_t)(n_cls + 2) * (size_t)width;
        size_t raw_bytes = x.itemsize == 2 ? 2 * (size_t)n_cls * (size_t)width : 0;
        size_t smooth_bytes = eps > 0.0 ? 8 * (size_t)width : 0;
        char *tile = PyMem_RawMalloc(tile_bytes + smooth_bytes + raw_bytes);
        if (tile == NULL) {
            PyErr_NoMemory();
            bad = -3;
        }
        else {
            char *mx = tile + item * (size_t)(n_cls * width), *zy = mx + item * (size_t)width;
            double *smooth = smooth_bytes ? (double *)(tile + tile_bytes) : NULL;
            uint16_t *raw = raw_bytes ? (uint16_t *)(tile + tile_bytes + smooth_bytes) : NULL;
            Py_BEGIN_ALLOW_THREADS
            if (x.itemsize == 2)
                bad = loss_cols_half((const uint16_t *)x.buf, rows, n_cls, (const long long *)y.buf,
                                    (double *)loss.buf, (float *)tile, (float *)mx, (float *)zy,
                                    raw, smooth, eps, width, fn, &finite);
            else if (x.itemsize == 4)
                bad = loss_cols_float((const float *)x.buf, rows, n_cls, (const long long *)y.buf,
                                     (double *)loss.buf, (float *)tile, (float *)mx, (float *)zy,
                                     raw, smooth, eps, width, fn, &finite);
            else
                bad = loss_cols_double((const double *)x.buf, rows, n_cls,
                                      (const long long *)y.buf, (double *)loss.buf,
                                      (double *)tile, (double *)mx, (double *)zy, raw, smooth,
                                      eps, width, fn, &finite);
            feclearexcept(FE_ALL_EXCEPT); /* NumPy checks its own calls' flags, not these */
            Py_END_ALLOW_THREADS
            PyMem_RawFree(tile);
            if (bad >= 0)
                PyErr_Format(PyExc_IndexError, "loss_cols: class %lld of sample %zd is out of "
                             "range", ((const long long *)y.buf)[bad], bad);
            else if (bad == -2)
                PyErr_SetString(PyExc_RuntimeError, "loss_cols: a NumPy loop failed");
        }
    }
    PyBuffer_Release(&x);
    PyBuffer_Release(&y);
    PyBuffer_Release(&loss);
    if (bad != -1) return NULL;
    return PyBool_FromLong(finite);
}

static PyMethodDef ck_methods[] = {
    {"transpose", ck_transpose, METH_VARARGS, transpose_doc},
    {"col_sums", ck_col_sums, METH_VARARGS, col_sums_doc},
    {"take_cols", ck_take_cols, METH_VARARGS, take_cols_doc},
    {"halves", ck_halves, METH_VARARGS, halves_doc},
    {"loss_cols", ck_loss_cols, METH_VARARGS, loss_cols_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef ck_module = {
    PyModuleDef_HEAD_INIT, "_native",
    "Transposing copy, float64 column sums and target gather for small class counts (optional).",
    -1, ck_methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModule_Create(&ck_module);
}
