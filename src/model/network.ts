import type { ModelConfig } from './config.js';
import { viChannels } from './config.js';
import type { Ops } from './ops.js';
import type { Ctx } from './blocks.js';
import { conv1x1, conv3x3, crossAttention, textCrossAttention, transformerBlock } from './blocks.js';

/**
 * The TeSG network, defined once (paper Fig. 2, sec. 3.3-3.4). Every other form (tfjs training and
 * inference, the FLOP counter, ONNX export) runs this code with its own `Ops`.
 *
 * Inputs, in the implementation's feature-map layout, values in 0..1:
 *   ir [B,H,W,1], vi [B,H,W,3 or 1] (config vi_input), mask M [B,H,W,1] (1 = key object),
 *   text F_t [B, text_tokens, text_dim].
 * Output: [B,H,W,1] fused Y (config output 'y') or [B,H,W,3] RGB, in 0..1 (sigmoid).
 * Stages are exported so tests can check each equation on its own.
 */
export interface NetInputs<T> {
  ir: T;
  vi: T;
  mask: T;
  text: T;
}

export interface Encoded<T> {
  /** Global features F_v, F_i (unmasked images). */
  fv: T;
  fi: T;
}

/** One encoder: 3x3 patch embedding to dim, then enc_blocks transformer blocks. Weights shared by all its calls. */
export function encoder<T>(ctx: Ctx<T>, name: 'enc_ir' | 'enc_vi', x: T, inChannels: number): T {
  // One scope for the whole encoder, so only its output outlives it (bounded memory at inference).
  return ctx.ops.scope(name, () => {
    let f = conv3x3(ctx, `${name}.embed`, x, inChannels, ctx.cfg.dim, ctx.cfg.bias);
    for (let i = 0; i < ctx.cfg.enc_blocks; i++) f = transformerBlock(ctx, `${name}.blocks.${i}`, f);
    return f;
  });
}

/** The global features F_v, F_i: each encoder on its whole image. */
export function encode<T>(ctx: Ctx<T>, inp: NetInputs<T>): Encoded<T> {
  return { fv: encoder(ctx, 'enc_vi', inp.vi, viChannels(ctx.cfg)), fi: encoder(ctx, 'enc_ir', inp.ir, 1) };
}

/**
 * Foreground / background features F_v^m, F_v^m̄, F_i^m, F_i^m̄. mask_on 'image' (the paper's
 * wording): the shared encoder runs on M * image and (1-M) * image. mask_on 'feature': M and 1-M
 * multiply the global features (a third of the encoder cost; no artificial edges at the mask
 * border). See docs/model.md.
 */
export function decompose<T>(ctx: Ctx<T>, inp: NetInputs<T>, e: Encoded<T>): { vFg: T; vBg: T; iFg: T; iBg: T } {
  const { ops, cfg } = ctx;
  const bg = ops.sub(ops.constant(1), inp.mask);
  if (cfg.mask_on === 'image') {
    const vc = viChannels(cfg);
    return {
      vFg: encoder(ctx, 'enc_vi', ops.mul(inp.vi, inp.mask), vc),
      vBg: encoder(ctx, 'enc_vi', ops.mul(inp.vi, bg), vc),
      iFg: encoder(ctx, 'enc_ir', ops.mul(inp.ir, inp.mask), 1),
      iBg: encoder(ctx, 'enc_ir', ops.mul(inp.ir, bg), 1),
    };
  }
  return { vFg: ops.mul(e.fv, inp.mask), vBg: ops.mul(e.fv, bg), iFg: ops.mul(e.fi, inp.mask), iBg: ops.mul(e.fi, bg) };
}

/**
 * MGCA, eq. 4-6: F_vi = CA(F_v^m, F_i^m) + CA(F_v^m̄, F_i^m̄), F_iv = CA(F_i^m, F_v^m) + CA(F_i^m̄, F_v^m̄),
 * four cross-attentions with their own weights. Without MGCA (ablation a): F_vi = CA(F_v, F_i),
 * F_iv = CA(F_i, F_v) on the whole features, and the mask is unused.
 */
export function mgca<T>(ctx: Ctx<T>, inp: NetInputs<T>, e: Encoded<T>): { fvi: T; fiv: T } {
  const { ops, cfg } = ctx;
  const [fvi, fiv] = ops.scope('mgca', () => {
    if (!cfg.use_mgca) return [crossAttention(ctx, 'mgca.vi', e.fv, e.fi), crossAttention(ctx, 'mgca.iv', e.fi, e.fv)];
    const d = decompose(ctx, inp, e);
    const fviFg = crossAttention(ctx, 'mgca.vi_fg', d.vFg, d.iFg);
    const fviBg = crossAttention(ctx, 'mgca.vi_bg', d.vBg, d.iBg);
    const fivFg = crossAttention(ctx, 'mgca.iv_fg', d.iFg, d.vFg);
    const fivBg = crossAttention(ctx, 'mgca.iv_bg', d.iBg, d.vBg);
    return [ops.add(fviFg, fviBg), ops.add(fivFg, fivBg)];
  });
  return { fvi, fiv };
}

/** TIVR, eq. 7: F_r = CA(Cat(F_vi, F_iv), F_t); the concatenation is projected 2*dim -> dim first. */
export function tivr<T>(ctx: Ctx<T>, fvi: T, fiv: T, text: T): T {
  const { ops, cfg } = ctx;
  const x = conv1x1(ctx, 'tdaf.proj_in', ops.concatChannels([fvi, fiv]), 2 * cfg.dim, cfg.dim, cfg.bias);
  return cfg.use_tivr ? textCrossAttention(ctx, 'tdaf.tivr', x, text) : x;
}

/** Eq. 8: G = sigmoid(W (F + F_x)), W a 1x1 convolution (with bias). */
export function gate<T>(ctx: Ctx<T>, name: 'tdaf.gate_v' | 'tdaf.gate_i', sum: T): T {
  return ctx.ops.sigmoid(conv1x1(ctx, name, sum, ctx.cfg.dim, ctx.cfg.dim, true));
}

/** Eq. 9: alpha = sigmoid(MLP(F_r)), MLP = 3x3 conv dim->dim, ReLU, 1x1 conv dim->1: one weight per pixel. */
export function spatialAttention<T>(ctx: Ctx<T>, fr: T): T {
  const { ops, cfg } = ctx;
  const h = ops.relu(conv3x3(ctx, 'tdaf.sa.fc1', fr, cfg.dim, cfg.dim, true));
  return ops.sigmoid(conv1x1(ctx, 'tdaf.sa.fc2', h, cfg.dim, 1, true));
}

/** Eq. 10: F = alpha (1 + G_v) sv + (1 - alpha)(1 + G_i) si, with sv = F_v + F_vi, si = F_i + F_iv. */
export function gatedFusion<T>(ops: Ops<T>, alpha: T, gv: T, gi: T, sv: T, si: T): T {
  const one = ops.constant(1);
  const v = ops.mul(ops.mul(alpha, ops.add(one, gv)), sv);
  const i = ops.mul(ops.mul(ops.sub(one, alpha), ops.add(one, gi)), si);
  return ops.add(v, i);
}

/** TDAF (sec. 3.4): TIVR then GAF; without GAF (ablation c) the decoder gets F_r directly. */
export function tdaf<T>(ctx: Ctx<T>, e: Encoded<T>, fvi: T, fiv: T, text: T): T {
  return ctx.ops.scope('tdaf', () => tdafInner(ctx, e, fvi, fiv, text));
}

function tdafInner<T>(ctx: Ctx<T>, e: Encoded<T>, fvi: T, fiv: T, text: T): T {
  const { ops, cfg } = ctx;
  const fr = tivr(ctx, fvi, fiv, text);
  if (!cfg.use_gaf) return fr;
  const sv = ops.add(e.fv, fvi);
  const si = ops.add(e.fi, fiv);
  return gatedFusion(ops, spatialAttention(ctx, fr), gate(ctx, 'tdaf.gate_v', sv), gate(ctx, 'tdaf.gate_i', si), sv, si);
}

/** Decoder: dec_blocks transformer blocks, 3x3 conv to the output channels, sigmoid to 0..1. */
export function decoder<T>(ctx: Ctx<T>, f: T): T {
  const { ops, cfg } = ctx;
  return ops.scope('dec', () => {
    for (let i = 0; i < cfg.dec_blocks; i++) f = transformerBlock(ctx, `dec.blocks.${i}`, f);
    return ops.sigmoid(conv3x3(ctx, 'out', f, cfg.dim, outChannels(cfg), true));
  });
}

export function outChannels(cfg: ModelConfig): 1 | 3 {
  return cfg.output === 'rgb' ? 3 : 1;
}

/** The whole network: encoders, MGCA, TDAF, decoder. */
export function tesgNetwork<T>(ops: Ops<T>, cfg: ModelConfig, inp: NetInputs<T>): T {
  const ctx: Ctx<T> = { ops, cfg };
  return ops.scope('tesg', () => {
    const e = encode(ctx, inp);
    const { fvi, fiv } = mgca(ctx, inp, e);
    return decoder(ctx, tdaf(ctx, e, fvi, fiv, inp.text));
  });
}
