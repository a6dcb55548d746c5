import type { ModelConfig } from './config.js';
import { fusionLevel, levelBlocks, levelWidth, numLevels, viChannels } from './config.js';
import type { Ops } from './ops.js';
import type { Ctx } from './blocks.js';
import { conv1x1, conv3x3, crossAttention, downsample, textCrossAttention, transformerBlock, upsample } from './blocks.js';

/**
 * The TeSG network, defined once (paper Fig. 2, sec. 3.3-3.4). Every other form (tfjs training and
 * inference, the FLOP counter, ONNX export) runs this code with its own `Ops`.
 *
 * Inputs, in the implementation's feature-map layout, values in 0..1:
 *   ir [B,H,W,1], vi [B,H,W,3 or 1] (config vi_input), mask M [B,H,W,1] (1 = key object),
 *   text F_t [B, text_tokens, text_dim]. H and W multiples of sizeMultiple(cfg).
 * Output: [B,H,W,1] fused Y (config output 'y') or [B,H,W,3] RGB, in 0..1 (sigmoid).
 *
 * The shape is Restormer's U (config level_dims, ...; docs/model.md): each encoder runs its blocks
 * at full resolution and, after stride-2 down-samplings, at 1/2, 1/4, ... with more channels;
 * MGCA and TDAF fuse the two encoders at one level (the deepest by default), a light fusion joins
 * F_v^l and F_i^l at every other level, and the decoder climbs back up, adding each level's fused
 * features (the skips) after a nearest 2x up-sampling. With no inner levels (tesg-v1) this is the
 * full-resolution network of the paper's Fig. 2, with the same parameter names.
 * Stages are exported so tests can check each equation on its own.
 */
export interface NetInputs<T> {
  ir: T;
  vi: T;
  mask: T;
  text: T;
}

export interface Encoded<T> {
  /** Global features F_v, F_i (unmasked images) at the fusion level. */
  fv: T;
  fi: T;
}

/** Each encoder's features per level (index 0 = full resolution). */
export interface EncodedLevels<T> {
  fv: T[];
  fi: T[];
}

/** The whole network's config (a level's Ctx carries the level's dim/heads in `cfg`). */
function netConfig<T>(ctx: Ctx<T>): ModelConfig {
  return ctx.net ?? ctx.cfg;
}

/**
 * The context of level l: the same ops, and the config with that level's channels and heads as
 * `dim` / `heads`, so every block (which reads cfg.dim, cfg.heads) runs at the level's width.
 */
export function levelCtx<T>(ctx: Ctx<T>, l: number): Ctx<T> {
  const net = netConfig(ctx);
  const { dim, heads } = levelWidth(net, l);
  if (dim === ctx.cfg.dim && heads === ctx.cfg.heads) return { ops: ctx.ops, cfg: ctx.cfg, net };
  return { ops: ctx.ops, cfg: { ...net, dim, heads }, net };
}

/**
 * One encoder: 3x3 patch embedding to dim, its level-0 blocks, then per inner level a stride-2
 * down-sampling and that level's blocks (blocks numbered 0.. across levels, so tesg-v1's names hold).
 * Returns the features of levels 0..upTo. Weights shared by all its calls.
 */
export function encoder<T>(ctx: Ctx<T>, name: 'enc_ir' | 'enc_vi', x: T, inChannels: number, upTo?: number): T[] {
  const net = netConfig(ctx);
  const last = upTo ?? numLevels(net) - 1;
  // One scope for the whole encoder, so only its outputs outlive it (bounded memory at inference).
  return ctx.ops.scope(name, () => {
    const root: Ctx<T> = { ops: ctx.ops, cfg: net };
    let f = conv3x3(root, `${name}.embed`, x, inChannels, net.dim, net.bias);
    const out: T[] = [];
    let block = 0;
    for (let l = 0; l <= last; l++) {
      const lc = levelCtx(root, l);
      if (l > 0) f = downsample(lc, `${name}.down${l}`, f, levelWidth(net, l - 1).dim, lc.cfg.dim);
      for (let i = 0; i < levelBlocks(net, 'enc', l); i++) f = transformerBlock(lc, `${name}.blocks.${block++}`, f);
      out.push(f);
    }
    return out;
  });
}

/** F_v^l, F_i^l at every level: each encoder on its whole image. */
export function encodeLevels<T>(ctx: Ctx<T>, inp: NetInputs<T>): EncodedLevels<T> {
  const net = netConfig(ctx);
  return { fv: encoder(ctx, 'enc_vi', inp.vi, viChannels(net)), fi: encoder(ctx, 'enc_ir', inp.ir, 1) };
}

/** The global features F_v, F_i at the fusion level (for tesg-v1: the encoders' outputs). */
export function encode<T>(ctx: Ctx<T>, inp: NetInputs<T>): Encoded<T> {
  const e = encodeLevels(ctx, inp);
  const k = fusionLevel(netConfig(ctx));
  return { fv: e.fv[k], fi: e.fi[k] };
}

/**
 * M at the fusion level k: max-pooled over 2^k x 2^k windows (a coarse pixel that touches a key
 * object counts as one, so objects a few pixels wide survive; fg + bg still sum to the features).
 */
export function maskAtFusionLevel<T>(ctx: Ctx<T>, mask: T): T {
  const k = fusionLevel(netConfig(ctx));
  return k === 0 ? mask : ctx.ops.maxPool(mask, 2 ** k);
}

/**
 * Foreground / background features F_v^m, F_v^m̄, F_i^m, F_i^m̄. mask_on 'image' (the paper's
 * wording): the shared encoder runs on M * image and (1-M) * image. mask_on 'feature': M and 1-M
 * multiply the global features (a third of the encoder cost; no artificial edges at the mask
 * border). See docs/model.md.
 */
export function decompose<T>(ctx: Ctx<T>, inp: NetInputs<T>, e: Encoded<T>): { vFg: T; vBg: T; iFg: T; iBg: T } {
  const { ops, cfg } = ctx;
  if (cfg.mask_on === 'image') {
    const bg = ops.sub(ops.constant(1), inp.mask);
    const vc = viChannels(cfg);
    const k = fusionLevel(netConfig(ctx));
    const enc = (name: 'enc_ir' | 'enc_vi', x: T, c: number) => encoder(ctx, name, x, c, k)[k];
    return {
      vFg: enc('enc_vi', ops.mul(inp.vi, inp.mask), vc),
      vBg: enc('enc_vi', ops.mul(inp.vi, bg), vc),
      iFg: enc('enc_ir', ops.mul(inp.ir, inp.mask), 1),
      iBg: enc('enc_ir', ops.mul(inp.ir, bg), 1),
    };
  }
  const m = maskAtFusionLevel(ctx, inp.mask);
  const bg = ops.sub(ops.constant(1), m);
  return { vFg: ops.mul(e.fv, m), vBg: ops.mul(e.fv, bg), iFg: ops.mul(e.fi, m), iBg: ops.mul(e.fi, bg) };
}

/**
 * MGCA, eq. 4-6, at the fusion level (ctx: that level's; inp: the full-resolution inputs):
 * F_vi = CA(F_v^m, F_i^m) + CA(F_v^m̄, F_i^m̄), F_iv = CA(F_i^m, F_v^m) + CA(F_i^m̄, F_v^m̄),
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

/** Eq. 8: G = sigmoid(W (F + F_x)), W a 1x1 convolution (with bias); name e.g. 'tdaf.gate_v'. */
export function gate<T>(ctx: Ctx<T>, name: string, sum: T): T {
  return ctx.ops.sigmoid(conv1x1(ctx, name, sum, ctx.cfg.dim, ctx.cfg.dim, true));
}

/** Eq. 9: alpha = sigmoid(MLP(F_r)), MLP = 3x3 conv dim->dim, ReLU, 1x1 conv dim->1: one weight per pixel. */
export function spatialAttention<T>(ctx: Ctx<T>, fr: T, prefix = 'tdaf'): T {
  const { ops, cfg } = ctx;
  const h = ops.relu(conv3x3(ctx, `${prefix}.sa.fc1`, fr, cfg.dim, cfg.dim, true));
  return ops.sigmoid(conv1x1(ctx, `${prefix}.sa.fc2`, h, cfg.dim, 1, true));
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

/**
 * The fusion of F_v^l and F_i^l at a level other than MGCA/TDAF's (a skip), ctx at that level.
 * skip_fusion 'conv': F = 1x1(Cat(F_v, F_i)), 2*dim -> dim. 'gated': eq. 8-10 with no cross
 * features (F_x = 0) and F_r = 1x1(Cat(F_v, F_i)): F = alpha (1 + G_v) F_v + (1 - alpha)(1 + G_i) F_i.
 */
export function skipFusion<T>(ctx: Ctx<T>, l: number, fv: T, fi: T): T {
  const { ops, cfg } = ctx;
  const name = `skip${l}`;
  return ops.scope(name, () => {
    const fr = conv1x1(ctx, `${name}.proj`, ops.concatChannels([fv, fi]), 2 * cfg.dim, cfg.dim, cfg.bias);
    if (cfg.skip_fusion === 'conv') return fr;
    return gatedFusion(ops, spatialAttention(ctx, fr, name), gate(ctx, `${name}.gate_v`, fv), gate(ctx, `${name}.gate_i`, fi), fv, fi);
  });
}

/**
 * Decoder, from the deepest level up: that level's blocks on its fused features; at each level
 * above, a 1x1 + nearest 2x up-sampling (dec.up<l>) plus the level's fused skip, then its blocks
 * (numbered 0.. in the order they run); last, 3x3 conv to the output channels, sigmoid to 0..1,
 * or (base_fusion) that conv added to the base fusion, unbounded (predict clips to 0..1).
 * fused[l] is the fused feature map of level l (one entry for tesg-v1).
 */
export function decoder<T>(ctx: Ctx<T>, fused: T[], base?: T): T {
  const { ops } = ctx;
  const net = netConfig(ctx);
  return ops.scope('dec', () => {
    let block = 0;
    let f = fused[fused.length - 1];
    for (let l = fused.length - 1; l >= 0; l--) {
      const lc = levelCtx(ctx, l);
      if (l < fused.length - 1) f = ops.add(upsample(lc, `dec.up${l}`, f, levelWidth(net, l + 1).dim, lc.cfg.dim), fused[l]);
      for (let i = 0; i < levelBlocks(net, 'dec', l); i++) f = transformerBlock(lc, `dec.blocks.${block++}`, f);
    }
    if (!base) return ops.sigmoid(conv3x3({ ops, cfg: net }, 'out', f, net.dim, outChannels(net), true));
    // Residual on the base. The last conv keeps its usual random init: at zero (ReZero style) the
    // gradient reaching the rest of the network is zero and it never learns (measured: 600 steps left
    // |out.weight| < 3e-5 and the output equal to the base).
    return ops.add(base, conv3x3({ ops, cfg: net }, 'out', f, net.dim, 1, true));
  });
}

export function outChannels(cfg: ModelConfig): 1 | 3 {
  return cfg.output === 'rgb' ? 3 : 1;
}

/** The whole network: encoders, MGCA and TDAF at the fusion level, skip fusions, decoder. */
export function tesgNetwork<T>(ops: Ops<T>, cfg: ModelConfig, inp: NetInputs<T>): T {
  const ctx: Ctx<T> = { ops, cfg };
  return ops.scope('tesg', () => {
    const levels = encodeLevels(ctx, inp);
    const k = fusionLevel(cfg);
    const fused = levels.fv.map((fv, l) => {
      const lc = levelCtx(ctx, l);
      if (l !== k) return skipFusion(lc, l, fv, levels.fi[l]);
      const e = { fv, fi: levels.fi[l] };
      const { fvi, fiv } = mgca(lc, inp, e);
      return tdaf(lc, e, fvi, fiv, inp.text);
    });
    return decoder(ctx, fused, cfg.base_fusion === 'max' ? maxBase(ctx, inp) : undefined);
  });
}

/**
 * The base of base_fusion 'max': max(IR, Y_VI) = Y + relu(IR - Y), Y = BT.601 luma of VI as a 1x1
 * conv 'base.vi_y' initialised to (0.299, 0.587, 0.114) (trainable; VI already gray: Y = VI).
 * [B,H,W,1], 0..1 like the inputs.
 */
export function maxBase<T>(ctx: Ctx<T>, inp: NetInputs<T>): T {
  const { ops, cfg } = ctx;
  const y = viChannels(cfg) === 1 ? inp.vi : ops.conv2d(inp.vi, ops.param('base.vi_y.weight', [1, 1, 3, 1], { kind: 'values', values: [0.299, 0.587, 0.114] }), null, 0);
  return ops.add(y, ops.relu(ops.sub(inp.ir, y)));
}
