import type { ModelConfig } from './config.js';
import { ffnHidden } from './config.js';
import type { Ops } from './ops.js';

/**
 * The building blocks, bottom-up as Restormer's architecture file: convolutions, LayerNorm, GDFN,
 * MDTA, the transformer block, then the two cross-attentions TeSG adds (image-image for MGCA,
 * image-text for TIVR). Each takes the parameter-name prefix it owns.
 */

export interface Ctx<T> {
  ops: Ops<T>;
  /** The config, with `dim` and `heads` of the level the blocks run at (see levelCtx in network.ts). */
  cfg: ModelConfig;
  /** The whole network's config when `cfg` is a level's (absent at level 0 of the root context). */
  net?: ModelConfig;
}

export function conv1x1<T>({ ops }: Ctx<T>, name: string, x: T, cin: number, cout: number, bias: boolean): T {
  const w = ops.param(`${name}.weight`, [1, 1, cin, cout], { kind: 'uniform', fanIn: cin });
  const b = bias ? ops.param(`${name}.bias`, [cout], { kind: 'uniform', fanIn: cin }) : null;
  return ops.conv2d(x, w, b, 0);
}

export function conv3x3<T>({ ops }: Ctx<T>, name: string, x: T, cin: number, cout: number, bias: boolean): T {
  const w = ops.param(`${name}.weight`, [3, 3, cin, cout], { kind: 'uniform', fanIn: 9 * cin });
  const b = bias ? ops.param(`${name}.bias`, [cout], { kind: 'uniform', fanIn: 9 * cin }) : null;
  return ops.conv2d(x, w, b, 1);
}

export function dwconv3x3<T>({ ops }: Ctx<T>, name: string, x: T, channels: number, bias: boolean): T {
  const w = ops.param(`${name}.weight`, [3, 3, channels, 1], { kind: 'uniform', fanIn: 9 });
  const b = bias ? ops.param(`${name}.bias`, [channels], { kind: 'uniform', fanIn: 9 }) : null;
  return ops.depthwiseConv2d(x, w, b, 1);
}

/**
 * A 1x1 projection to parts*cout channels followed by a depthwise 3x3 (Restormer's qkv / project_in),
 * returned as `parts` tensors of cout channels. One weight each, as Restormer, but run as `parts`
 * convolutions on weight slices: equal results without splitting the activations.
 */
export function projectSplit<T>(ctx: Ctx<T>, name: string, dwName: string, x: T, cin: number, cout: number, parts: number): T[] {
  const { ops, cfg } = ctx;
  const total = parts * cout;
  const w = ops.param(`${name}.weight`, [1, 1, cin, total], { kind: 'uniform', fanIn: cin });
  const b = cfg.bias ? ops.param(`${name}.bias`, [total], { kind: 'uniform', fanIn: cin }) : null;
  const dw = ops.param(`${dwName}.weight`, [3, 3, total, 1], { kind: 'uniform', fanIn: 9 });
  const dwb = cfg.bias ? ops.param(`${dwName}.bias`, [total], { kind: 'uniform', fanIn: 9 }) : null;
  const out: T[] = [];
  for (let p = 0; p < parts; p++) {
    const s = p * cout;
    const bs = (t: T | null) => (t ? ops.sliceAxis(t, 0, s, cout) : null);
    const y = ops.conv2d(x, ops.sliceAxis(w, 3, s, cout), bs(b), 0);
    out.push(ops.depthwiseConv2d(y, ops.sliceAxis(dw, 2, s, cout), bs(dwb), 1));
  }
  return out;
}

/** Restormer LayerNorm over channels: WithBias (weight, bias) or BiasFree (weight only); epsilon cfg.norm_eps. */
export function layerNorm<T>({ ops, cfg }: Ctx<T>, name: string, x: T, channels: number): T {
  const w = ops.param(`${name}.weight`, [channels], { kind: 'ones' });
  const b = cfg.layer_norm === 'with_bias' ? ops.param(`${name}.bias`, [channels], { kind: 'zeros' }) : null;
  return ops.layerNorm(x, w, b, cfg.norm_eps);
}

/** GDFN: 1x1 to 2*hidden, depthwise 3x3, GELU(x1) * x2, 1x1 back to dim. */
export function gdfn<T>(ctx: Ctx<T>, name: string, x: T): T {
  const { ops, cfg } = ctx;
  const hidden = ffnHidden(cfg);
  const [x1, x2] = projectSplit(ctx, `${name}.project_in`, `${name}.dwconv`, x, cfg.dim, hidden, 2);
  return conv1x1(ctx, `${name}.project_out`, ops.mul(ops.gelu(x1), x2), hidden, cfg.dim, cfg.bias);
}

/** MDTA: 1x1 to q,k,v, depthwise 3x3, channel attention with a learned temperature per head, 1x1 out. */
export function mdta<T>(ctx: Ctx<T>, name: string, x: T): T {
  const { ops, cfg } = ctx;
  const [q, k, v] = projectSplit(ctx, `${name}.qkv`, `${name}.qkv_dwconv`, x, cfg.dim, cfg.dim, 3);
  const temperature = ops.param(`${name}.temperature`, [cfg.heads], { kind: 'ones' });
  return conv1x1(ctx, `${name}.project_out`, ops.channelAttention(q, k, v, temperature, cfg.heads, cfg.attn_eps), cfg.dim, cfg.dim, cfg.bias);
}

/** Restormer transformer block: x + MDTA(LN(x)), then x + GDFN(LN(x)). */
export function transformerBlock<T>(ctx: Ctx<T>, name: string, x: T): T {
  const { ops, cfg } = ctx;
  // Two scopes, so a large image holds one half-block's intermediates at a time.
  const y = ops.scope(`${name}.attn`, () => ops.add(x, mdta(ctx, `${name}.attn`, layerNorm(ctx, `${name}.norm1`, x, cfg.dim))));
  return ops.scope(`${name}.ffn`, () => ops.add(y, gdfn(ctx, `${name}.ffn`, layerNorm(ctx, `${name}.norm2`, y, cfg.dim))));
}

/**
 * Channel (transposed) cross-attention CA(x, y): x is rebuilt from y. Queries from x, keys and values
 * from y, each through 1x1 + depthwise 3x3 as in MDTA; attention over channels, so the cost is linear
 * in the pixels; residual on x (the rebuilt features keep x's own content, eq. 4-5).
 */
export function crossAttention<T>(ctx: Ctx<T>, name: string, x: T, y: T): T {
  const { ops, cfg } = ctx;
  const c = cfg.dim;
  return ops.scope(name, () => {
    const q = dwconv3x3(ctx, `${name}.q_dwconv`, conv1x1(ctx, `${name}.q`, layerNorm(ctx, `${name}.norm_q`, x, c), c, c, cfg.bias), c, cfg.bias);
    const [k, v] = projectSplit(ctx, `${name}.kv`, `${name}.kv_dwconv`, layerNorm(ctx, `${name}.norm_kv`, y, c), c, c, 2);
    const temperature = ops.param(`${name}.temperature`, [cfg.heads], { kind: 'ones' });
    return ops.add(x, conv1x1(ctx, `${name}.project_out`, ops.channelAttention(q, k, v, temperature, cfg.heads, cfg.attn_eps), c, c, cfg.bias));
  });
}

/**
 * Image-to-text cross-attention (TIVR, eq. 7): queries from the pixels, keys and values from the
 * text tokens F_t (LayerNorm, then projected from text_dim to dim); residual on x.
 */
export function textCrossAttention<T>(ctx: Ctx<T>, name: string, x: T, text: T): T {
  const { ops, cfg } = ctx;
  const c = cfg.dim;
  return ops.scope(name, () => {
    const tw = ops.param(`${name}.text_norm.weight`, [cfg.text_dim], { kind: 'ones' });
    const tb = ops.param(`${name}.text_norm.bias`, [cfg.text_dim], { kind: 'zeros' });
    const t = ops.layerNormTokens(text, tw, tb, cfg.norm_eps);
    const lin = (n: string) =>
      ops.linear(t, ops.param(`${name}.${n}.weight`, [cfg.text_dim, c], { kind: 'uniform', fanIn: cfg.text_dim }), null);
    const q = conv1x1(ctx, `${name}.q`, layerNorm(ctx, `${name}.norm_q`, x, c), c, c, cfg.bias);
    const out = ops.tokenAttention(q, lin('k'), lin('v'), cfg.heads);
    return ops.add(x, conv1x1(ctx, `${name}.project_out`, out, c, c, cfg.bias));
  });
}

/**
 * The U-shape's down-sampling between encoder levels: a 2x2 stride-2 convolution cin -> cout
 * (pixel-unshuffle and a linear map in one op; Restormer's Downsample is a 3x3 conv + PixelUnshuffle).
 * [B, H, W, cin] -> [B, H/2, W/2, cout].
 */
export function downsample<T>({ ops, cfg }: Ctx<T>, name: string, x: T, cin: number, cout: number): T {
  const w = ops.param(`${name}.weight`, [2, 2, cin, cout], { kind: 'uniform', fanIn: 4 * cin });
  const b = cfg.bias ? ops.param(`${name}.bias`, [cout], { kind: 'uniform', fanIn: 4 * cin }) : null;
  return ops.downConv(x, w, b);
}

/**
 * The decoder's up-sampling: a 1x1 conv cin -> cout at the low resolution, then nearest 2x.
 * Equal to nearest-then-1x1 (a 1x1 commutes with nearest resizing) at a quarter of the cost.
 * [B, H, W, cin] -> [B, 2H, 2W, cout].
 */
export function upsample<T>(ctx: Ctx<T>, name: string, x: T, cin: number, cout: number): T {
  return ctx.ops.upsample2x(conv1x1(ctx, name, x, cin, cout, ctx.cfg.bias));
}
