// The seam between the model and the hardware: memory and the ops of the decoder.
//
// A Backend owns memory (host memory for the CPU backend, device memory for CUDA)
// and runs every op the decoder and its optimizer need on pointers into that memory.
// The model's forward/backward (model/runner.cpp) is written once against this
// interface; a new backend implements the pure virtuals below and nothing else.
// Dispatch is virtual (one call per op over a whole batch, so its cost is nil)
// rather than chosen at build time, so that one binary runs on a CPU-only machine
// and on a GPU node alike.
//
// Promises every backend keeps:
//  - Pointers passed to ops are backend memory (from allocate()/Array); tensors are
//    flat row-major fp32, N = batch × seq tokens, as documented per op.
//  - Backward ops marked "+=" accumulate into their gradient outputs; the others
//    overwrite.
//  - Results are deterministic: same inputs, same backend, same thread count →
//    bit-identical outputs (reductions in a fixed order, no atomics on floats).
//  - Ops may run asynchronously; copy_to_host() and sum()/sum_squares() synchronise.
//
// This header is free of toml++/nlohmann/OpenMP so CUDA translation units include it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace kormo::backend {

// A range of the flat parameter buffer that the optimizer treats alike.
struct ParamRange {
  int64_t offset = 0, size = 0;
  bool decay = false;
};

// One AdamW update in the exact form of torch.optim.AdamW: p ← p·(1 − lr·wd) for decayed
// ranges, m ← β1·m + (1−β1)·g', v ← β2·v + (1−β2)·g'², p ← p − step_size·m / (√v / √bc2 + eps)
// with g' = grad_scale · g, step_size = lr / bc1, bc_k = 1 − β_k^t.
struct AdamWStep {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  double lr = 0, weight_decay = 0;
  double bias_correction1 = 1, bias_correction2 = 1;
  float grad_scale = 1.f;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "cpu", "cuda:0 (NVIDIA H200)", …
  // Whether backend memory may be dereferenced on the CPU (no copies needed).
  virtual bool host_accessible() const = 0;

  // ---- memory
  // Zero-filled, aligned to at least 64 bytes; throws kormo::Error when out of memory.
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p) noexcept = 0;
  virtual void copy_to_device(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;  // both backend memory
  virtual void fill(float* x, float value, int64_t n) = 0;
  virtual void synchronize() {}

  // ---- the decoder's ops, each with its backward beside it
  // out[n,:] = wte[tokens[n],:]
  virtual void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C) = 0;
  // dwte[tokens[n],:] += dout[n,:]
  virtual void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C) = 0;

  // out = inp · rstd · w with rstd = 1/sqrt(mean(inp²) + eps); rstd[N] is saved for backward.
  virtual void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int64_t N, int64_t C,
                               float eps) = 0;
  // dinp +=, dw +=
  virtual void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                                const float* rstd, int64_t N, int64_t C) = 0;

  // Row-major C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C, op(X) = Xᵀ when the
  // flag is set; lda/ldb/ldc are the row strides of the stored matrices.
  virtual void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                    int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) = 0;
  // out[N,OC] = inp[N,C] · w[OC,C]ᵀ (w in Hugging Face [out, in] layout).
  void matmul_forward(float* out, const float* inp, const float* w, int64_t N, int64_t C, int64_t OC);
  // dinp = (or += when accumulate) dout · w; dw += doutᵀ · inp.
  void matmul_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w, int64_t N,
                       int64_t C, int64_t OC, bool accumulate);

  // Mixed precision: bf16 values are stored as uint16_t (the upper half of the fp32 bit
  // pattern). dst = bf16(src), rounded to nearest even.
  virtual void to_bf16(uint16_t* dst, const float* src, int64_t n) = 0;
  // Row-major C[m,n] (fp32) = op(A)·op(B), or += when accumulate, with A and B in bf16 and
  // the products summed in fp32 (strides and op() as for gemm).
  virtual void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a,
                         int64_t lda, const uint16_t* b, int64_t ldb, bool accumulate, float* c, int64_t ldc) = 0;
  // matmul_forward / matmul_backward on bf16 operands; outputs and dw stay fp32.
  void matmul_forward_bf16(float* out, const uint16_t* inp, const uint16_t* w, int64_t N, int64_t C, int64_t OC);
  void matmul_backward_bf16(float* dinp, float* dw, const uint16_t* dout, const uint16_t* inp, const uint16_t* w,
                            int64_t N, int64_t C, int64_t OC, bool accumulate);

  // Rotate-half RoPE in place on `heads` heads of width hd at the start of each row of x
  // (row stride ld); pos[n] is the position inside the document; cos/sin are [max_pos, hd/2].
  virtual void rope_forward(float* x, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                            int64_t heads, int64_t hd) = 0;
  // The inverse rotation applied to the gradient, in place.
  virtual void rope_backward(float* dx, int64_t ld, const int32_t* pos, const float* cos, const float* sin,
                             int64_t N, int64_t heads, int64_t hd) = 0;

  // Grouped-query attention, softmax(q·kᵀ/√hd)·v per head, causal and restricted to the
  // query's own document: query t of a row sees keys seg_start[t] .. t, where
  // seg_start[t] is the row position at which t's document begins (documents are
  // contiguous inside a packed row). q rows hold nh·hd values (row stride q_ld), k/v
  // rows nkv·hd (stride kv_ld) — so q, k, v can live side by side in one fused
  // projection output; out is [N, nh·hd]; lse[B, nh, T] (log-sum-exp of the scaled
  // scores) is saved so backward recomputes probabilities instead of storing them.
  virtual void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                                 int64_t q_ld, int64_t kv_ld, const int32_t* seg_start, int64_t B, int64_t T,
                                 int64_t nh, int64_t nkv, int64_t hd) = 0;
  // dq, dk, dv (same strides as q, k, v) are overwritten.
  virtual void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                                  const float* lse, const float* q, const float* k, const float* v, int64_t q_ld,
                                  int64_t kv_ld, const int32_t* seg_start, int64_t B, int64_t T, int64_t nh,
                                  int64_t nkv, int64_t hd) = 0;

  // Inference only (no backward): attention of new queries against a KV cache. The N
  // query rows are grouped into S sequences: sequence s owns rows rows[s] .. rows[s+1]−1
  // at positions past[s], past[s]+1, …, and its keys/values for positions 0 .. past[s] +
  // (its row count) − 1 are already in the cache at k/v + slot[s]·slot_stride (rows of
  // nkv·hd values, row stride kv_ld). Query row i of a sequence sees cache positions
  // 0 .. past[s] + i (causal). q rows: nh·hd values, stride q_ld; out is [N, nh·hd].
  // rows/past/slot are host arrays (the scheduler owns them; S is small).
  virtual void attention_cached(float* out, const float* q, int64_t q_ld, const float* k, const float* v,
                                int64_t kv_ld, int64_t slot_stride, const int32_t* rows, const int32_t* past,
                                const int32_t* slot, int64_t S, int64_t nh, int64_t nkv, int64_t hd) = 0;

  // h[N, F] = silu(gate) · up, where each row of gu[N, 2F] is [gate | up] (the fused
  // gate_proj/up_proj output).
  virtual void swiglu_forward(float* h, const float* gu, int64_t N, int64_t F) = 0;
  // dgu overwritten.
  virtual void swiglu_backward(float* dgu, const float* dh, const float* gu, int64_t N, int64_t F) = 0;

  // out = a + b (out may alias a or b)
  virtual void residual_forward(float* out, const float* a, const float* b, int64_t n) = 0;
  // da +=, db += dout
  virtual void residual_backward(float* da, float* db, const float* dout, int64_t n) = 0;

  // losses[n] = logsumexp(logits[n]) − logits[n, targets[n]] + z_loss · logsumexp², or 0
  // where targets[n] < 0 (ignored). lse[N] is saved.
  virtual void crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                                    int64_t N, int64_t V, float z_loss) = 0;
  // dlogits[n] = weight[n] · ∂losses[n]/∂logits[n] (overwritten; may alias logits).
  virtual void crossentropy_backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                                     const float* weight, int64_t N, int64_t V, float z_loss) = 0;

  // ---- reductions and the optimizer
  // Σ x (resp. Σ x²) accumulated in double in an order that depends only on n.
  virtual double sum(const float* x, int64_t n) = 0;
  virtual double sum_squares(const float* x, int64_t n) = 0;
  // out[i] = sum_squares(x + i·block, min(block, n − i·block)) for every block of [0, n),
  // bit for bit; out is a host array of ⌈n / block⌉. One call instead of one per block: a
  // GPU then reads all the sums back at once (the gradient norm over 16384-element blocks
  // of a 1B model is ~70,000 blocks).
  virtual void sum_squares_blocks(const float* x, int64_t n, int64_t block, double* out);
  // One AdamW update over params/grads/m/v (same length), range by range.
  virtual void adamw(float* params, const float* grads, float* m, float* v, const ParamRange* ranges,
                     int64_t num_ranges, const AdamWStep& s) = 0;
};

// The process-wide CPU backend (oneDNN GEMM, OpenMP ops).
Backend& cpu();

// "cpu", "cuda" (first GPU; error if this build or machine has none) or "auto" (CUDA when
// built with it and a GPU is visible, else CPU). The returned backend lives for the
// whole process.
Backend& get(const std::string& name);
// Backends this build contains, e.g. "cpu, cuda".
std::string available();

// Typed memory owned by a backend; move-only, freed by the backend that made it.
template <class T>
class Array {
 public:
  Array() = default;
  Array(Backend& be, int64_t n) : be_(&be), n_(n) {
    if (n > 0) p_ = static_cast<T*>(be.allocate(static_cast<size_t>(n) * sizeof(T)));
  }
  ~Array() { reset(); }
  Array(Array&& o) noexcept : be_(o.be_), p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  Array& operator=(Array&& o) noexcept {
    if (this != &o) {
      reset();
      be_ = o.be_, p_ = std::exchange(o.p_, nullptr), n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  Array(const Array&) = delete;
  Array& operator=(const Array&) = delete;

  T* data() { return p_; }
  const T* data() const { return p_; }
  int64_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  Backend& backend() const { return *be_; }
  // Host ↔ backend copies of `count` elements starting at element `at`.
  void upload(const T* host, int64_t count, int64_t at = 0) {
    be_->copy_to_device(p_ + at, host, static_cast<size_t>(count) * sizeof(T));
  }
  void download(T* host, int64_t count, int64_t at = 0) const {
    be_->copy_to_host(host, p_ + at, static_cast<size_t>(count) * sizeof(T));
  }
  // Grows (contents lost, zero-filled) when fewer than n elements are held.
  void ensure(Backend& be, int64_t n) {
    if (n_ >= n && be_ == &be) return;
    *this = Array(be, n);
  }

 private:
  void reset() noexcept {
    if (p_) be_->deallocate(p_);
    p_ = nullptr, n_ = 0;
  }
  Backend* be_ = nullptr;
  T* p_ = nullptr;
  int64_t n_ = 0;
};

}  // namespace kormo::backend
