import type { ModelConfig } from './config.js';
import { viChannels } from './config.js';
import type { Ops, ParamInit } from './ops.js';
import { tesgNetwork } from './network.js';

/** A tensor as the counter sees it: only its shape (feature maps NHWC). */
export interface Shape {
  shape: number[];
}

/**
 * An `Ops` that computes no values: it propagates shapes through the one network definition and
 * counts floating-point operations and parameters. Convolutions and matrix products count 2 FLOPs
 * per multiply-add; elementwise ops 1 per output element (GELU 8, sigmoid 4, softmax 5 per input).
 * Attention counts the per-head products the maths needs (not the masked full C x C the tfjs
 * implementation runs).
 */
export class CountOps implements Ops<Shape> {
  flops = 0;
  readonly params = new Map<string, number[]>();
  /** FLOPs per top-level scope name prefix (e.g. "enc_vi", "mgca", "tdaf", "dec"). */
  readonly byPart = new Map<string, number>();
  private part = 'other';

  param(name: string, shape: number[], _init: ParamInit): Shape {
    this.params.set(name, shape);
    return { shape };
  }
  scope<R extends Shape | Shape[]>(name: string, fn: () => R): R {
    const outer = this.part;
    const top = name.split('.')[0];
    if (top !== 'tesg') this.part = top === 'out' ? 'dec' : top;
    const r = fn();
    this.part = outer;
    return r;
  }
  constant(_v: number): Shape {
    return { shape: [] };
  }
  private count(n: number): void {
    this.flops += n;
    this.byPart.set(this.part, (this.byPart.get(this.part) ?? 0) + n);
  }
  conv2d(x: Shape, w: Shape, b: Shape | null, _pad: number): Shape {
    const [n, h, wd] = x.shape;
    const [kh, kw, cin, cout] = w.shape;
    this.count(2 * n * h * wd * kh * kw * cin * cout + (b ? n * h * wd * cout : 0));
    return { shape: [n, h, wd, cout] };
  }
  depthwiseConv2d(x: Shape, w: Shape, b: Shape | null, _pad: number): Shape {
    const [n, h, wd, c] = x.shape;
    this.count(2 * n * h * wd * w.shape[0] * w.shape[1] * c + (b ? n * h * wd * c : 0));
    return { shape: [n, h, wd, c] };
  }
  downConv(x: Shape, w: Shape, b: Shape | null): Shape {
    const [n, h, wd] = x.shape;
    const [kh, kw, cin, cout] = w.shape;
    const [oh, ow] = [h / 2, wd / 2];
    this.count(2 * n * oh * ow * kh * kw * cin * cout + (b ? n * oh * ow * cout : 0));
    return { shape: [n, oh, ow, cout] };
  }
  /** A copy: no arithmetic, 0 FLOPs. */
  upsample2x(x: Shape): Shape {
    const [n, h, w, c] = x.shape;
    return { shape: [n, 2 * h, 2 * w, c] };
  }
  /** factor^2 - 1 comparisons per output element. */
  maxPool(x: Shape, factor: number): Shape {
    const [n, h, w, c] = x.shape;
    const shape = [n, h / factor, w / factor, c];
    this.count((factor * factor - 1) * size(shape));
    return { shape };
  }
  private elementwise(a: Shape, b: Shape, perElement = 1): Shape {
    const rank = Math.max(a.shape.length, b.shape.length);
    const pa = [...Array(rank - a.shape.length).fill(1), ...a.shape];
    const pb = [...Array(rank - b.shape.length).fill(1), ...b.shape];
    const shape = pa.map((d, i) => Math.max(d, pb[i]));
    this.count(perElement * size(shape));
    return { shape };
  }
  add(a: Shape, b: Shape): Shape {
    return this.elementwise(a, b);
  }
  sub(a: Shape, b: Shape): Shape {
    return this.elementwise(a, b);
  }
  mul(a: Shape, b: Shape): Shape {
    return this.elementwise(a, b);
  }
  sigmoid(x: Shape): Shape {
    return this.elementwise(x, x, 4);
  }
  relu(x: Shape): Shape {
    return this.elementwise(x, x, 1);
  }
  gelu(x: Shape): Shape {
    return this.elementwise(x, x, 8);
  }
  layerNorm(x: Shape, _w: Shape, _b: Shape | null, _eps?: number): Shape {
    return this.elementwise(x, x, 7);
  }
  layerNormTokens(t: Shape, w: Shape, b: Shape | null, _eps?: number): Shape {
    return this.layerNorm(t, w, b);
  }
  linear(t: Shape, w: Shape, _b: Shape | null): Shape {
    const [n, tokens] = t.shape;
    this.count(2 * n * tokens * w.shape[0] * w.shape[1]);
    return { shape: [n, tokens, w.shape[1]] };
  }
  concatChannels(xs: Shape[]): Shape {
    const s = [...xs[0].shape];
    s[s.length - 1] = xs.reduce((a, x) => a + x.shape[x.shape.length - 1], 0);
    return { shape: s };
  }
  sliceAxis(x: Shape, axis: number, _start: number, sz: number): Shape {
    const s = [...x.shape];
    s[axis] = sz;
    return { shape: s };
  }
  channelAttention(q: Shape, _k: Shape, _v: Shape, _t: Shape, heads: number, _eps?: number): Shape {
    const [n, h, w, c] = q.shape;
    const pixels = n * h * w;
    const per = c / heads;
    // normalise q, k (3 per element each), q k^T and A v (2 * pixels * per * per per head each), softmax
    this.count(6 * pixels * c + 4 * pixels * per * c + 5 * n * c * per);
    return { shape: q.shape };
  }
  tokenAttention(q: Shape, k: Shape, _v: Shape, _heads: number): Shape {
    const [n, h, w, c] = q.shape;
    const tokens = k.shape[1];
    const pixels = n * h * w;
    const heads = _heads;
    this.count(4 * pixels * tokens * c + 5 * pixels * tokens * heads);
    return { shape: q.shape };
  }
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export interface ModelCost {
  params: number;
  /** Forward FLOPs for one image of width x height. */
  flops: number;
  byPart: Record<string, number>;
}

/** Parameters and forward FLOPs of `cfg` at width x height, from the network definition itself. */
export function modelCost(cfg: ModelConfig, width: number, height: number, batch = 1): ModelCost {
  const ops = new CountOps();
  tesgNetwork(ops, cfg, {
    ir: { shape: [batch, height, width, 1] },
    vi: { shape: [batch, height, width, viChannels(cfg)] },
    mask: { shape: [batch, height, width, 1] },
    text: { shape: [batch, cfg.text_tokens, cfg.text_dim] },
  });
  let params = 0;
  for (const s of ops.params.values()) params += size(s);
  return { params, flops: ops.flops, byPart: Object.fromEntries(ops.byPart) };
}
