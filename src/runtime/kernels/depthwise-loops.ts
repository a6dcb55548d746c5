/**
 * Depthwise 3x3 (any KxK) gradient loops on flat NHWC Float32Arrays. They read x and dy once per
 * kernel tap from cache and do one multiply-add per tap and channel: the same arithmetic as the
 * forward pass, which is what makes them cost about as much as the forward kernel (the composed-op
 * version, slice + multiply + sum per tap, was 40x the forward).
 */
import type { Conv2DInfo } from './geometry.js';

/** dW[i, j, c, q] = sum over n, oy, ox of x[n, oy*s + i - pad, ox*s + j - pad, c] * dy[n, oy, ox, c*M + q]. */
export function depthwiseFilterGrad(x: Float32Array, dy: Float32Array, info: Conv2DInfo, dW: Float32Array): void {
  if (info.filterWidth === 3 && info.strideWidth === 1 && info.outChannels === info.inChannels) {
    filterGradWidth3(x, dy, info, dW);
    return;
  }
  filterGradGeneral(x, dy, info, dW);
}

/**
 * The Restormer case (3-wide kernel, stride 1 along x, multiplier 1), register-blocked: per output
 * row, channel and kernel row, one pass along x keeps the three taps' sums and a sliding window of
 * three x values in locals, so each step is one x load, one dy load and three multiply-adds
 * (the plain loop below does three array reads and a write per multiply-add: 6x slower).
 */
function filterGradWidth3(x: Float32Array, dy: Float32Array, info: Conv2DInfo, dW: Float32Array): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: FH, strideHeight: sh } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const acc = new Float64Array(FH * 3 * C);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      const dyRow = (n * OH + oy) * OW * C;
      for (let i = 0; i < FH; i++) {
        const iy = oy * sh - top + i;
        if (iy < 0 || iy >= H) continue;
        const xRow = (n * H + iy) * W * C;
        const aRow = i * 3 * C;
        for (let c = 0; c < C; c++) {
          const base = xRow + c;
          let a0 = 0;
          let a1 = 0;
          let a2 = 0;
          let xl = -left >= 0 && -left < W ? x[base - left * C] : 0;
          let xm = 1 - left >= 0 && 1 - left < W ? x[base + (1 - left) * C] : 0;
          let d = dyRow + c;
          for (let ox = 0; ox < OW; ox++, d += C) {
            const ix = ox - left + 2;
            const xr = ix >= 0 && ix < W ? x[base + ix * C] : 0;
            const g = dy[d];
            a0 += xl * g;
            a1 += xm * g;
            a2 += xr * g;
            xl = xm;
            xm = xr;
          }
          acc[aRow + c] += a0;
          acc[aRow + C + c] += a1;
          acc[aRow + 2 * C + c] += a2;
        }
      }
    }
  }
  for (let k = 0; k < acc.length; k++) dW[k] = acc[k];
}

function filterGradGeneral(x: Float32Array, dy: Float32Array, info: Conv2DInfo, dW: Float32Array): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const M = info.outChannels / C;
  const CM = C * M;
  // Float64 accumulators: each entry sums N*OH*OW products, too many for float32 to stay exact.
  const acc = new Float64Array(FH * FW * CM);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const dyOff = ((n * OH + oy) * OW + ox) * CM;
        for (let i = 0; i < FH; i++) {
          const iy = oy * sh - top + i;
          if (iy < 0 || iy >= H) continue;
          for (let j = 0; j < FW; j++) {
            const ix = ox * sw - left + j;
            if (ix < 0 || ix >= W) continue;
            const xOff = ((n * H + iy) * W + ix) * C;
            const aOff = (i * FW + j) * CM;
            if (M === 1) {
              for (let c = 0; c < C; c++) acc[aOff + c] += x[xOff + c] * dy[dyOff + c];
            } else {
              for (let c = 0; c < C; c++) {
                const xv = x[xOff + c];
                for (let q = 0; q < M; q++) acc[aOff + c * M + q] += xv * dy[dyOff + c * M + q];
              }
            }
          }
        }
      }
    }
  }
  for (let k = 0; k < acc.length; k++) dW[k] = acc[k];
}

/** dx[n, iy, ix, c] = sum over taps and q of w[i, j, c, q] * dy[n, oy, ox, c*M + q] where iy = oy*s + i - pad. */
export function depthwiseInputGrad(dy: Float32Array, w: Float32Array, info: Conv2DInfo, dx: Float32Array): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const M = info.outChannels / C;
  const CM = C * M;
  dx.fill(0);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const dyOff = ((n * OH + oy) * OW + ox) * CM;
        for (let i = 0; i < FH; i++) {
          const iy = oy * sh - top + i;
          if (iy < 0 || iy >= H) continue;
          for (let j = 0; j < FW; j++) {
            const ix = ox * sw - left + j;
            if (ix < 0 || ix >= W) continue;
            const xOff = ((n * H + iy) * W + ix) * C;
            const wOff = (i * FW + j) * CM;
            if (M === 1) {
              for (let c = 0; c < C; c++) dx[xOff + c] += w[wOff + c] * dy[dyOff + c];
            } else {
              for (let c = 0; c < C; c++) {
                let s = 0;
                for (let q = 0; q < M; q++) s += w[wOff + c * M + q] * dy[dyOff + c * M + q];
                dx[xOff + c] += s;
              }
            }
          }
        }
      }
    }
  }
}
