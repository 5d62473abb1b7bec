// An XLA FFI handler that runs a float32 matrix product through a BLAS sgemm: the route
// that benchmarks/blas_products.py measures against XLA's own products inside a
// compiled loop. The BLAS function is handed in at run time (cornu_set_sgemm) as a
// CBLAS sgemm with 64-bit integers, the interface of numpy's bundled OpenBLAS.
#include <cstdint>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

using Sgemm = void (*)(int order, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                       float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                       float beta, float* c, int64_t ldc);

static Sgemm sgemm = nullptr;

extern "C" void cornu_set_sgemm(void* fn) { sgemm = reinterpret_cast<Sgemm>(fn); }

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

// c = op(a) @ op(b) for 2-D row-major a and b, op transposing where asked.
static ffi::Error Gemm(ffi::Buffer<ffi::F32> a, ffi::Buffer<ffi::F32> b,
                       ffi::ResultBuffer<ffi::F32> c, bool trans_a, bool trans_b) {
  if (sgemm == nullptr) {
    return ffi::Error(ffi::ErrorCode::kFailedPrecondition, "cornu_gemm: no sgemm set");
  }
  auto da = a.dimensions(), db = b.dimensions();
  if (da.size() != 2 || db.size() != 2) {
    return ffi::Error(ffi::ErrorCode::kInvalidArgument, "cornu_gemm: 2-D operands only");
  }
  int64_t m = trans_a ? da[1] : da[0], k = trans_a ? da[0] : da[1];
  int64_t k_b = trans_b ? db[1] : db[0], n = trans_b ? db[0] : db[1];
  if (k != k_b) {
    return ffi::Error(ffi::ErrorCode::kInvalidArgument, "cornu_gemm: inner sizes differ");
  }
  sgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, m, n, k, 1.0f,
        a.typed_data(), da[1], b.typed_data(), db[1], 0.0f, c->typed_data(), n);
  return ffi::Error::Success();
}

XLA_FFI_DEFINE_HANDLER_SYMBOL(cornu_gemm, Gemm,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Attr<bool>("trans_a")
                                  .Attr<bool>("trans_b"));
