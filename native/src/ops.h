// The network's ops (src/model/ops.ts) on libtorch. Feature maps are NHWC [B, H, W, C], contiguous,
// exactly as the tfjs implementation, so inputs, outputs and broadcasting mean the same in both.
// Convolutions view them as NCHW tensors in channels-last memory (a free permute), the layout in
// which libtorch's depthwise and oneDNN convolutions are fastest; 1x1 convolutions are one matrix
// product on the [B*H*W, C] rows. Weights keep the tfjs layouts of ops.ts.
#pragma once
#include <ATen/ATen.h>
#include <optional>
#include <vector>

namespace tesg {
using OptT = std::optional<at::Tensor>;

at::Tensor conv2d(const at::Tensor& x, const at::Tensor& w, const OptT& b, int64_t pad);
at::Tensor depthwiseConv2d(const at::Tensor& x, const at::Tensor& w, const OptT& b, int64_t pad);
// The U-shape (unet.cc): stride-2 conv (kernel 2: no padding; 3: one pixel), nearest 2x, max-pool.
at::Tensor downConv(const at::Tensor& x, const at::Tensor& w, const OptT& b);
at::Tensor upsample2x(const at::Tensor& x);
at::Tensor maxPool(const at::Tensor& x, int64_t factor);
at::Tensor gelu(const at::Tensor& x);
// LayerNorm over the last axis, eps inside the square root (config norm_eps; tesg-v1: 1e-5).
constexpr double kDefaultLayerNormEps = 1e-5;
at::Tensor layerNorm(const at::Tensor& x, const at::Tensor& w, const OptT& b, double eps = kDefaultLayerNormEps);
at::Tensor linear(const at::Tensor& t, const at::Tensor& w, const OptT& b);
// q, k L2-normalised over the pixels as x / sqrt(sum x^2 + eps) (config attn_eps; tesg-v1: 1e-8).
constexpr double kDefaultL2Eps = 1e-8;
at::Tensor channelAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& temperature,
                            int64_t heads, double eps = kDefaultL2Eps);
at::Tensor tokenAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads);
// The segmentation benchmark's U-Net (segnet.cc), with TensorFlow's padding and resizing conventions.
/** Convolution with TF 'same' padding at any stride (the odd pixel padded after). */
at::Tensor convSame(const at::Tensor& x, const at::Tensor& w, const OptT& b, int64_t stride);
/** 2x2 max-pool, stride 2, TF 'same' padding. */
at::Tensor maxPool2(const at::Tensor& x);
/** tf.image.resizeBilinear with alignCorners = halfPixelCenters = false, NHWC. */
at::Tensor resizeBilinear(const at::Tensor& x, int64_t outH, int64_t outW);
struct SegLoss {
  at::Tensor loss, accuracy;
};
/** Mean softmax cross-entropy of NHWC logits against class indices [B, H, W] (any dtype), and the pixel accuracy (no gradient). */
SegLoss segLoss(const at::Tensor& logits, const at::Tensor& labels);
/** BT.601 luminance of [..., 3] RGB as [..., 1]. */
at::Tensor rgbToY(const at::Tensor& rgb);

struct LossTerms {
  at::Tensor total, ssim, intensity, gradient, color;
};
/** src/training/losses.ts's fusionLoss: weights = {ssim, intensity, gradient, color}. */
LossTerms fusionLoss(const at::Tensor& out, bool outputRgb, const at::Tensor& ir, const at::Tensor& viRgb, const double weights[4]);
at::Tensor ssim(const at::Tensor& a, const at::Tensor& b);
at::Tensor sobelMagnitude(const at::Tensor& x);

/**
 * The scalars of one AdamW step, computed in double by the caller exactly as adamw.ts computes them
 * (beta1, 1 - beta1, beta2, 1 - beta2, 1 - beta1^t, 1 - beta2^t, 1 - lr * wd, lr, eps); each is
 * rounded to float32 here as tfjs rounds a scalar.
 */
struct AdamWConstants {
  double beta1, oneMinusBeta1, beta2, oneMinusBeta2, bc1, bc2, decay, lr, eps;
};
/** One AdamW update of every parameter that has a gradient, as src/training/adamw.ts, float32 op by op. */
void adamwStep(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& m, const std::vector<at::Tensor>& v,
               const AdamWConstants& k);
}  // namespace tesg
