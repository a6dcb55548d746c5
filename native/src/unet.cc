// The U-shape's ops of src/model/ops.ts on libtorch (NHWC feature maps, tfjs weight layouts, as
// ops.cc): stride-2 down-sampling convolution, nearest 2x up-sampling, parameter-free max-pool.
// All run through at:: ops, so autograd records them.
#include "ops.h"

namespace tesg {

at::Tensor downConv(const at::Tensor& x, const at::Tensor& w, const OptT& b) {
  const int64_t k = w.size(0), cin = w.size(2);
  TORCH_CHECK(w.size(1) == k && (k == 2 || k == 3), "downConv: kernel must be 2x2 or 3x3, got ", w.sizes());
  TORCH_CHECK(x.dim() == 4 && x.size(3) == cin, "downConv: input ", x.sizes(), " does not have ", cin, " channels");
  TORCH_CHECK(x.size(1) % 2 == 0 && x.size(2) % 2 == 0, "downConv: height and width must be even, got ", x.sizes());
  const int64_t pad = k == 2 ? 0 : 1;
  at::Tensor wt = w.permute({3, 2, 0, 1}).contiguous();  // [out, in, kh, kw]
  at::Tensor xn = x.permute({0, 3, 1, 2}).contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor y = at::conv2d(xn, wt, b ? *b : at::Tensor(), {2, 2}, {pad, pad});
  return y.permute({0, 2, 3, 1}).contiguous();
}

at::Tensor upsample2x(const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4, "upsample2x: expected [B, H, W, C], got ", x.sizes());
  const int64_t n = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
  // [B, H, 1, W, 1, C] broadcast to [B, H, 2, W, 2, C]: each pixel a 2x2 block; backward sums.
  return x.reshape({n, h, 1, w, 1, c}).expand({n, h, 2, w, 2, c}).reshape({n, 2 * h, 2 * w, c});
}

at::Tensor maxPool(const at::Tensor& x, int64_t factor) {
  TORCH_CHECK(x.dim() == 4 && factor >= 1, "maxPool: expected [B, H, W, C] and factor >= 1");
  const int64_t n = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
  TORCH_CHECK(h % factor == 0 && w % factor == 0, "maxPool: ", h, "x", w, " is not a multiple of ", factor);
  return x.reshape({n, h / factor, factor, w / factor, factor, c}).amax({2, 4});
}

}  // namespace tesg
