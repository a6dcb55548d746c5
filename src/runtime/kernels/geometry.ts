/**
 * Convolution geometry from a kernel's attrs, through tfjs-core's own `computeConv2DInfo`, so that the
 * custom gradient kernels pad and stride exactly as the forward kernels and tfjs-cpu do.
 */
import { tf } from '../tfjs-node.cjs';

export type Conv2DInfo = tf.backend_util.Conv2DInfo;
type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Pair = number | [number, number];

/** Attrs the tfjs-core gradient ops pass to the backprop kernels (see ops/conv2d_backprop_*.ts). */
export interface ConvBackpropAttrs {
  strides: Pair;
  pad: Pad;
  dilations?: Pair;
  dimRoundingMode?: Rounding;
  dataFormat?: 'NHWC' | 'NCHW';
}

export function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: ConvBackpropAttrs,
  depthwise: boolean,
): Conv2DInfo {
  if (attrs.dataFormat === 'NCHW') {
    throw new Error('tesg conv gradient kernels support NHWC only (the network is NHWC)');
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
}

/** True when the conv is a plain 1x1 with stride 1 and no padding: its gradients are pure matmuls. */
export function isPointwise(info: Conv2DInfo): boolean {
  const p = info.padInfo;
  return (
    info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0
  );
}

export function dilationIsOne(info: Conv2DInfo): boolean {
  return info.dilationHeight === 1 && info.dilationWidth === 1;
}
