// CPU kernels of the decoder, one function per op with its backward beside it
// (llm.c style). Tensors are flat row-major fp32; N = batch × seq tokens.
//
// Promises:
//  - Backward functions marked "+=" accumulate into their gradient outputs (so the
//    residual stream and weight gradients can sum contributions); the others overwrite.
//  - Every reduction has a fixed order for a fixed OpenMP thread count: work is split
//    statically by index, never by scheduling, so results are bit-identical run to run.
//  - Attention is causal and restricted to the query's own document: query t of a row
//    sees keys seg_start[t] .. t, where seg_start[t] is the row position at which t's
//    document begins (documents are contiguous inside a packed row).
#pragma once

#include <cstdint>

namespace kormo::model {

// out[n,:] = wte[tokens[n],:]
void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C);
// dwte[tokens[n],:] += dout[n,:]
void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C);

// out = inp · rstd · w with rstd = 1/sqrt(mean(inp²) + eps); rstd[N] is saved for backward.
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int64_t N, int64_t C, float eps);
// dinp +=, dw +=
void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w, const float* rstd,
                      int64_t N, int64_t C);

// out[N,OC] = inp[N,C] · w[OC,C]ᵀ (w in Hugging Face [out, in] layout).
void matmul_forward(float* out, const float* inp, const float* w, int64_t N, int64_t C, int64_t OC);
// dinp = (or += when accumulate) dout · w; dw += doutᵀ · inp.
void matmul_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w, int64_t N,
                     int64_t C, int64_t OC, bool accumulate);

// Rotate-half RoPE in place on `heads` heads of width hd at the start of each row of x
// (row stride ld); pos[n] is the position inside the document; cos/sin are [max_pos, hd/2].
void rope_forward(float* x, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                  int64_t heads, int64_t hd);
// The inverse rotation applied to the gradient, in place.
void rope_backward(float* dx, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                   int64_t heads, int64_t hd);

// Grouped-query attention, softmax(q·kᵀ/√hd)·v per head with the document-causal mask.
// q rows hold nh·hd values (row stride q_ld), k/v rows nkv·hd (stride kv_ld) — the
// strides let q, k, v live side by side in one fused projection output; out is
// [N, nh·hd]; lse[B, nh, T] (log-sum-exp of the scaled scores) is saved so backward
// recomputes probabilities instead of storing them.
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int64_t q_ld,
                       int64_t kv_ld, const int32_t* seg_start, int64_t B, int64_t T, int64_t nh, int64_t nkv,
                       int64_t hd);
// dq, dk, dv (same strides as q, k, v) are overwritten.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                        const float* q, const float* k, const float* v, int64_t q_ld, int64_t kv_ld,
                        const int32_t* seg_start, int64_t B, int64_t T, int64_t nh, int64_t nkv, int64_t hd);

// h[N, F] = silu(gate) · up, where each row of gu[N, 2F] is [gate | up] (the fused
// gate_proj/up_proj output).
void swiglu_forward(float* h, const float* gu, int64_t N, int64_t F);
// dgu overwritten.
void swiglu_backward(float* dgu, const float* dh, const float* gu, int64_t N, int64_t F);

// out = a + b
void residual_forward(float* out, const float* a, const float* b, int64_t n);
// da +=, db += dout
void residual_backward(float* da, float* db, const float* dout, int64_t n);

// losses[n] = logsumexp(logits[n]) - logits[n, targets[n]] + z_loss · logsumexp², or 0 where
// targets[n] < 0 (ignored: padding, <think> spans, document ends). lse[N] is saved.
void crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets, int64_t N,
                          int64_t V, float z_loss);
// dlogits[n] = weight[n] · ∂losses[n]/∂logits[n] (overwritten; may alias logits).
void crossentropy_backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                           const float* weight, int64_t N, int64_t V, float z_loss);

}  // namespace kormo::model
