// AdamW exactly as src/training/adamw.ts computes it on tfjs: every step a separate float32 operation
// with float32 constants, in the same order (no fused multiply-add: built with -ffp-contract=off), so
// a checkpoint moves between the two trainers without a change in the maths.
#include <cmath>
#include "ops.h"

namespace tesg {
void adamwStep(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& m, const std::vector<at::Tensor>& v,
               const AdamWConstants& k) {
  TORCH_CHECK(params.size() == m.size() && params.size() == v.size(), "adamwStep: params, m and v differ in length");
  const float b1 = float(k.beta1), ob1 = float(k.oneMinusBeta1);
  const float b2 = float(k.beta2), ob2 = float(k.oneMinusBeta2);
  const float bc1 = float(k.bc1), bc2 = float(k.bc2);
  const float decay = float(k.decay), lr = float(k.lr), eps = float(k.eps);
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < params.size(); i++) {
    const at::Tensor& p = params[i];
    if (!p.grad().defined()) continue;
    at::Tensor g = p.grad().contiguous();
    TORCH_CHECK(p.is_contiguous() && m[i].is_contiguous() && v[i].is_contiguous(), "adamwStep: tensors must be contiguous");
    TORCH_CHECK(p.numel() == m[i].numel() && p.numel() == v[i].numel(), "adamwStep: moment size differs from its parameter");
    float* pp = p.data_ptr<float>();
    float* mp = m[i].data_ptr<float>();
    float* vp = v[i].data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    for (int64_t j = 0; j < p.numel(); j++) {
      const float gj = gp[j];
      const float mj = mp[j] * b1 + gj * ob1;
      const float vj = vp[j] * b2 + (gj * gj) * ob2;
      mp[j] = mj;
      vp[j] = vj;
      const float update = (mj / bc1) / (std::sqrt(vj / bc2) + eps);
      pp[j] = pp[j] * decay - update * lr;
    }
  }
}
}  // namespace tesg
