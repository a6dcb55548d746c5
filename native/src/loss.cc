// The fusion losses of src/training/losses.ts, op for op (same constants, same order of terms), so
// the two implementations agree to float rounding. Images are NHWC [B, H, W, 1|3] in 0..1.
#include <cmath>
#include "ops.h"

namespace tesg {
namespace {
constexpr int64_t kWindow = 11;
constexpr double kSigma = 1.5;
constexpr double kC1 = 0.01 * 0.01;
constexpr double kC2 = 0.03 * 0.03;
// OpenCV's BT.601 chroma factors (src/model/color.ts).
constexpr double kKr = 0.713;
constexpr double kKb = 0.564;

/** The normalised Gaussian window, computed in float32 as gaussianWindow() stores it. */
at::Tensor gaussian() {
  static at::Tensor g = [] {
    at::Tensor t = at::empty({kWindow}, at::kFloat);
    float* p = t.data_ptr<float>();
    double sum = 0;
    for (int64_t i = 0; i < kWindow; i++) {
      double d = double(i) - double(kWindow - 1) / 2;
      p[i] = float(std::exp(-(d * d) / (2 * kSigma * kSigma)));
      sum += p[i];
    }
    for (int64_t i = 0; i < kWindow; i++) p[i] = float(p[i] / sum);
    return t;
  }();
  return g;
}

/** [B, H, W, 1] -> [B, 1, H, W] (the same memory). */
at::Tensor toN1hw(const at::Tensor& x) { return x.reshape({x.size(0), 1, x.size(1), x.size(2)}); }

/** Separable Gaussian, 'valid', columns first then rows, as losses.ts. */
at::Tensor blur(const at::Tensor& x) {
  at::Tensor g = gaussian();
  at::Tensor rows = at::conv2d(x, g.reshape({1, 1, kWindow, 1}));
  return at::conv2d(rows, g.reshape({1, 1, 1, kWindow}));
}

at::Tensor cbcr(const at::Tensor& rgb) {
  at::Tensor y = rgbToY(rgb);
  return at::cat({(rgb.narrow(-1, 2, 1) - y) * kKb + 0.5, (rgb.narrow(-1, 0, 1) - y) * kKr + 0.5}, -1);
}
}  // namespace

at::Tensor ssim(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(a.size(1) >= kWindow && a.size(2) >= kWindow, "ssim needs images of at least 11x11");
  at::Tensor x = toN1hw(a), y = toN1hw(b);
  at::Tensor muX = blur(x), muY = blur(y);
  at::Tensor muXX = muX.square(), muYY = muY.square(), muXY = muX * muY;
  at::Tensor sXX = blur(x.square()) - muXX;
  at::Tensor sYY = blur(y.square()) - muYY;
  at::Tensor sXY = blur(x * y) - muXY;
  at::Tensor num = (muXY * 2 + kC1) * (sXY * 2 + kC2);
  at::Tensor den = ((muXX + muYY) + kC1) * ((sXX + sYY) + kC2);
  return (num / den).mean();
}

at::Tensor sobelMagnitude(const at::Tensor& x) {
  static at::Tensor k = [] {
    const float sx[9] = {-1, 0, 1, -2, 0, 2, -1, 0, 1};
    const float sy[9] = {-1, -2, -1, 0, 0, 0, 1, 2, 1};
    at::Tensor t = at::empty({2, 1, 3, 3}, at::kFloat);
    float* p = t.data_ptr<float>();
    for (int i = 0; i < 9; i++) p[i] = sx[i], p[9 + i] = sy[i];
    return t;
  }();
  at::Tensor g = at::conv2d(toN1hw(x), k, {}, {1, 1}, {1, 1});  // [B, 2, H, W]
  at::Tensor m = g.abs().sum({1}, true);
  return m.reshape({x.size(0), x.size(1), x.size(2), 1});
}

LossTerms fusionLoss(const at::Tensor& out, bool outputRgb, const at::Tensor& ir, const at::Tensor& viRgb, const double w[4]) {
  at::Tensor viY = rgbToY(viRgb);
  at::Tensor fusedY = outputRgb ? rgbToY(out) : out;
  LossTerms t;
  t.ssim = 2 - (ssim(fusedY, ir) + ssim(fusedY, viY));
  t.intensity = (fusedY - at::maximum(ir, viY)).abs().mean();
  at::Tensor target = at::maximum(sobelMagnitude(ir), sobelMagnitude(viY));
  t.gradient = (sobelMagnitude(fusedY) - target).abs().mean();
  t.color = outputRgb ? (cbcr(out) - cbcr(viRgb)).abs().mean() : at::zeros({}, out.options().requires_grad(false));
  t.total = t.ssim * w[0] + t.intensity * w[1] + t.gradient * w[2] + t.color * w[3];
  return t;
}
}  // namespace tesg
