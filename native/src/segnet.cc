// The ops of the segmentation benchmark's U-Net (src/downstream/segnet.ts) that the TeSG network
// does not use, with TensorFlow's conventions so that both backends compute the same function:
// 'same' padding puts the odd pixel after (TF), not before/around (PyTorch); tf.image.resizeBilinear
// samples at out * (in / out) (no half-pixel centres, unlike PyTorch's align_corners=false).
// Feature maps are NHWC, contiguous; weights [kh, kw, in, out], as everywhere in the addon.
#include <cmath>
#include "ops.h"

namespace tesg {
namespace {
at::Tensor asNchw(const at::Tensor& x) { return x.permute({0, 3, 1, 2}).contiguous(at::MemoryFormat::ChannelsLast); }
at::Tensor asNhwc(const at::Tensor& y) { return y.permute({0, 2, 3, 1}).contiguous(); }

/** TF 'same' padding of one axis: {before, after}. */
std::pair<int64_t, int64_t> samePad(int64_t in, int64_t k, int64_t stride) {
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + k - in, 0);
  return {total / 2, total - total / 2};
}

/** Source rows (lo, hi) and weights of hi for legacy bilinear resizing of one axis, as float32. */
void legacyAxis(int64_t in, int64_t out, at::Tensor& lo, at::Tensor& hi, at::Tensor& frac) {
  lo = at::empty({out}, at::kLong);
  hi = at::empty({out}, at::kLong);
  frac = at::empty({out}, at::kFloat);
  const float scale = float(in) / float(out);
  for (int64_t i = 0; i < out; i++) {
    const float src = float(i) * scale;
    const int64_t top = std::min<int64_t>(int64_t(std::floor(src)), in - 1);
    lo.data_ptr<int64_t>()[i] = top;
    hi.data_ptr<int64_t>()[i] = std::min<int64_t>(top + 1, in - 1);
    frac.data_ptr<float>()[i] = src - float(top);
  }
}
}  // namespace

at::Tensor convSame(const at::Tensor& x, const at::Tensor& w, const OptT& b, int64_t stride) {
  const int64_t kh = w.size(0), kw = w.size(1);
  if (stride == 1 && kh == kw && kh % 2 == 1) return conv2d(x, w, b, (kh - 1) / 2);
  TORCH_CHECK(x.dim() == 4 && x.size(3) == w.size(2), "convSame: input ", x.sizes(), " does not have ", w.size(2), " channels");
  auto [top, bottom] = samePad(x.size(1), kh, stride);
  auto [left, right] = samePad(x.size(2), kw, stride);
  at::Tensor padded = at::constant_pad_nd(asNchw(x), {left, right, top, bottom}, 0);
  at::Tensor wt = w.permute({3, 2, 0, 1}).contiguous();
  const at::Tensor bias = b ? *b : at::Tensor();
  return asNhwc(at::conv2d(padded.contiguous(at::MemoryFormat::ChannelsLast), wt, bias, at::IntArrayRef{stride, stride}, at::IntArrayRef{0, 0}));
}

at::Tensor maxPool2(const at::Tensor& x) {
  // 'same' 2x2/2 pooling pads an odd edge after with -inf: ceil mode without padding.
  return asNhwc(at::max_pool2d(asNchw(x), {2, 2}, {2, 2}, {0, 0}, {1, 1}, /*ceil_mode=*/true));
}

at::Tensor resizeBilinear(const at::Tensor& x, int64_t outH, int64_t outW) {
  TORCH_CHECK(x.dim() == 4, "resizeBilinear: expected NHWC, got ", x.sizes());
  at::Tensor lo, hi, f;
  legacyAxis(x.size(1), outH, lo, hi, f);
  at::Tensor fy = f.view({1, outH, 1, 1});
  at::Tensor top = x.index_select(1, lo), bottom = x.index_select(1, hi);
  at::Tensor rows = top + (bottom - top) * fy;
  legacyAxis(x.size(2), outW, lo, hi, f);
  at::Tensor fx = f.view({1, 1, outW, 1});
  at::Tensor left = rows.index_select(2, lo), right = rows.index_select(2, hi);
  return (left + (right - left) * fx).contiguous();
}

SegLoss segLoss(const at::Tensor& logits, const at::Tensor& labels) {
  const int64_t classes = logits.size(3);
  at::Tensor flat = logits.reshape({-1, classes});
  at::Tensor target = labels.reshape({-1}).to(at::kLong);
  at::Tensor loss = at::nll_loss(at::log_softmax(flat, 1), target);
  at::Tensor acc;
  {
    at::NoGradGuard noGrad;
    acc = flat.argmax(1).eq(target).to(at::kFloat).mean();
  }
  return {loss, acc};
}
}  // namespace tesg
