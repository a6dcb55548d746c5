#include "ops.h"
#include <cmath>
#include <map>
#include <mutex>

namespace tesg {
namespace {

at::Tensor asNchw(const at::Tensor& x) { return x.permute({0, 3, 1, 2}).contiguous(at::MemoryFormat::ChannelsLast); }
at::Tensor asNhwc(const at::Tensor& y) { return y.permute({0, 2, 3, 1}).contiguous(); }

/** 0 inside each head's diagonal block, -1e9 elsewhere (cached per size; never trained). */
at::Tensor blockMask(int64_t c, int64_t heads) {
  static std::mutex mu;
  static std::map<std::pair<int64_t, int64_t>, at::Tensor> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_pair(c, heads);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  at::Tensor m = at::empty({c, c}, at::kFloat);
  float* p = m.data_ptr<float>();
  int64_t per = c / heads;
  for (int64_t i = 0; i < c; i++)
    for (int64_t j = 0; j < c; j++) p[i * c + j] = (i / per == j / per) ? 0.f : -1e9f;
  cache[key] = m;
  return m;
}

/**
 * x / sqrt(sum over axis 1 of x^2 + eps) for [B, N, C]. eps inside the square root, as ops-tfjs.ts:
 * an all-zero column gets a finite gradient (1/sqrt(eps) times the upstream one).
 */
at::Tensor l2NormalizeAxis1(const at::Tensor& x, double eps) { return x * at::rsqrt(x.square().sum({1}, true) + eps); }
}  // namespace

at::Tensor conv2d(const at::Tensor& x, const at::Tensor& w, const OptT& b, int64_t pad) {
  const int64_t cin = w.size(2), cout = w.size(3);
  TORCH_CHECK(x.dim() == 4 && x.size(3) == cin, "conv2d: input ", x.sizes(), " does not have ", cin, " channels");
  at::Tensor wt = w.permute({3, 2, 0, 1}).contiguous();  // [out, in, kh, kw]
  at::Tensor bias = b ? *b : at::Tensor();
  if (w.size(0) == 1 && w.size(1) == 1 && pad == 0) {
    // libtorch runs a 1x1 convolution on one thread with batch < 16 through its slow im2col path
    // (forward and backward), not oneDNN; oneDNN's was 2-4x faster here for 16-48 channels, and
    // also beat a matrix product over [B*H*W, C] rows (its weight gradient is a slow long-K GEMM).
    // A 1x1 kernel ignores the spatial layout, so the same memory viewed as B*H images of 1 x W
    // (batch >= 16) takes the oneDNN path in both directions.
    const int64_t n = x.size(0), h = x.size(1), wd = x.size(2);
    at::Tensor y = at::conv2d(asNchw(x.reshape({n * h, 1, wd, cin})), wt, bias);
    return asNhwc(y).reshape({n, h, wd, cout});
  }
  return asNhwc(at::conv2d(asNchw(x), wt, bias, {1, 1}, {pad, pad}));
}

at::Tensor depthwiseConv2d(const at::Tensor& x, const at::Tensor& w, const OptT& b, int64_t pad) {
  const int64_t c = w.size(2);
  TORCH_CHECK(w.size(3) == 1, "depthwiseConv2d: channel multiplier must be 1");
  TORCH_CHECK(x.dim() == 4 && x.size(3) == c, "depthwiseConv2d: input ", x.sizes(), " does not have ", c, " channels");
  at::Tensor wt = w.permute({2, 3, 0, 1}).contiguous();  // [C, 1, kh, kw]
  return asNhwc(at::conv2d(asNchw(x), wt, b ? *b : at::Tensor(), {1, 1}, {pad, pad}, {1, 1}, c));
}

at::Tensor gelu(const at::Tensor& x) { return at::gelu(x); }

at::Tensor layerNorm(const at::Tensor& x, const at::Tensor& w, const OptT& b, double eps) {
  if (b) return at::layer_norm(x, {x.size(-1)}, w, *b, eps);
  // Restormer's BiasFree: x (not x - mean) over the standard deviation.
  at::Tensor var = x.var({-1}, /*unbiased=*/false, /*keepdim=*/true);
  return x * at::rsqrt(var + eps) * w;
}

at::Tensor linear(const at::Tensor& t, const at::Tensor& w, const OptT& b) {
  at::Tensor y = at::matmul(t, w);
  return b ? y + *b : y;
}

at::Tensor channelAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& temperature,
                            int64_t heads, double eps) {
  const int64_t bs = q.size(0), h = q.size(1), w = q.size(2), c = q.size(3);
  TORCH_CHECK(c % heads == 0, "channelAttention: heads must divide the channels");
  TORCH_CHECK(eps > 0, "channelAttention: eps must be > 0");
  auto flat = [&](const at::Tensor& t) { return t.reshape({bs, h * w, c}); };
  at::Tensor qn = l2NormalizeAxis1(flat(q), eps);
  at::Tensor kn = l2NormalizeAxis1(flat(k), eps);
  // All heads in one C x C product, other heads' blocks masked out (as ops-tfjs.ts): no transposes
  // of the big [B, N, C] tensors, only transposed-operand GEMMs.
  at::Tensor scores = at::bmm(qn.transpose(1, 2), kn);
  at::Tensor rowScale = temperature.repeat_interleave(c / heads).reshape({c, 1});
  scores = scores * rowScale;
  if (heads > 1) scores = scores + blockMask(c, heads);
  at::Tensor attn = at::softmax(scores, -1);
  return at::bmm(flat(v), attn.transpose(1, 2)).reshape({bs, h, w, c});
}

at::Tensor tokenAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads) {
  const int64_t bs = q.size(0), h = q.size(1), w = q.size(2), c = q.size(3);
  TORCH_CHECK(c % heads == 0, "tokenAttention: heads must divide the channels");
  const int64_t per = c / heads;
  at::Tensor qf = q.reshape({bs, h * w, c});
  std::vector<at::Tensor> outs;
  for (int64_t i = 0; i < heads; i++) {
    auto pick = [&](const at::Tensor& t) { return heads == 1 ? t : t.narrow(2, i * per, per); };
    at::Tensor scores = at::bmm(pick(qf), pick(k).transpose(1, 2)) * (1.0 / std::sqrt(double(per)));
    outs.push_back(at::bmm(at::softmax(scores, -1), pick(v)));
  }
  at::Tensor out = heads == 1 ? outs[0] : at::cat(outs, -1);
  return out.reshape({bs, h, w, c});
}

at::Tensor rgbToY(const at::Tensor& rgb) {
  return rgb.narrow(-1, 0, 1) * 0.299 + rgb.narrow(-1, 1, 1) * 0.587 + rgb.narrow(-1, 2, 1) * 0.114;
}
}  // namespace tesg
