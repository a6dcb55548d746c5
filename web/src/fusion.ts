import * as ort from 'onnxruntime-web/wasm';
import { hwcToChw } from '../../src/export/layout.js';
import { laplacianFusion } from '../../src/fusion/laplacian.js';
import type { Image8 } from '../../src/image/types.js';
import type { SigResult } from '../../src/semantics/types.js';

/**
 * Fusion in the browser: the exported TeSG network on onnxruntime-web (wasm), or, when the site was
 * built without an exported model, the classic Laplacian-pyramid baseline (the CLI's own code), which
 * the page labels as such.
 *
 * The network's graph (src/export/export.ts): inputs ir [1,1,H,W] (IR luminance), vi [1,3|1,H,W]
 * (RGB or Y by config vi_input), mask [1,1,H,W], text [1,tokens,dim]; output fused [1,1|3,H,W]; all
 * 0..1. Pre- and post-processing repeat the CLI's (src/export/onnx-fuse.ts) step for step, so the page
 * and `tesg fuse --method tesg --backend onnx` give the same pixels (test/web-app.test.ts checks).
 */

export interface NetworkConfig {
  vi_input: 'rgb' | 'y';
  output: 'y' | 'rgb';
  text_encoder: string;
  text_tokens: number;
  text_dim: number;
}

export interface Fuser {
  /** Shown in the page: which method made the image. */
  readonly label: string;
  /** True for the real network, false for the labelled fallback. */
  readonly network: boolean;
  fuse(ir: Image8, vi: Image8, sig: SigResult): Promise<Image8>;
}

export const laplacianFallback: Fuser = {
  label: 'classic Laplacian pyramid (fallback: this build has no exported network)',
  network: false,
  fuse: (ir, vi) => laplacianFusion.fuse(ir, vi),
};

/**
 * Where onnxruntime-web finds its glue and wasm binary (copied into the site at build time), and its
 * threads: they need a cross-origin-isolated page (tesg serve sends COOP/COEP); elsewhere one thread.
 */
export function configureOrt(siteBase: string): void {
  ort.env.wasm.wasmPaths = new URL('wasm/ort/', siteBase).href;
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
}

/** BT.601 luma in float32 steps, exactly as src/export/onnx-fuse.ts computes it. */
const luma = (r: number, g: number, b: number) => Math.fround(Math.fround(r * 0.299) + Math.fround(g * 0.587) + Math.fround(b * 0.114));

/** Planar RGB 0..1 (a gray image repeated three times), as onnx-fuse.ts's rgbPlanes. */
export function rgbPlanes(img: Image8): Float32Array {
  const plane = img.width * img.height;
  if (img.channels === 3) return hwcToChw(img.data, img.height, img.width, 3, 1 / 255);
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) out[p] = out[plane + p] = out[2 * plane + p] = img.data[p] / 255;
  return out;
}

function yPlane(rgb: Float32Array, plane: number): Float32Array {
  const out = new Float32Array(plane);
  for (let p = 0; p < plane; p++) out[p] = luma(rgb[p], rgb[plane + p], rgb[2 * plane + p]);
  return out;
}

/**
 * The network's planar 0..1 output to 8-bit, as OnnxFuser.predict (src/export/onnx-fuse.ts) does it:
 * a colour VI gives RGB (a Y output takes VI's chroma: R = Y + (R_vi - Y_vi), B likewise, G from the
 * luma equation), a gray VI gives gray; clamp, x255, round.
 */
export function networkOutputToImage(y: Float32Array, config: Pick<NetworkConfig, 'output'>, vi: Image8, viRgb: Float32Array): Image8 {
  const { width: w, height: h } = vi;
  const plane = w * h;
  const channels = vi.channels === 1 ? 1 : 3;
  const out = new Uint8Array(plane * channels);
  const put = (i: number, v: number) => (out[i] = Math.round(Math.min(1, Math.max(0, v)) * 255));
  for (let p = 0; p < plane; p++) {
    if (config.output === 'rgb') {
      if (channels === 1) put(p, luma(y[p], y[plane + p], y[2 * plane + p]));
      else for (let k = 0; k < 3; k++) put(3 * p + k, y[k * plane + p]);
    } else if (channels === 1) {
      put(p, y[p]);
    } else {
      const [r, g, b] = [viRgb[p], viRgb[plane + p], viRgb[2 * plane + p]];
      const vy = luma(r, g, b);
      const R = y[p] + (r - vy);
      const B = y[p] + (b - vy);
      put(3 * p, R);
      put(3 * p + 1, (y[p] - R * 0.299 - B * 0.114) / 0.587);
      put(3 * p + 2, B);
    }
  }
  return { width: w, height: h, channels, data: out };
}

export class OnnxFuser implements Fuser {
  readonly network = true;
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly config: NetworkConfig,
    readonly label: string,
  ) {}

  static async load(modelUrl: string, config: NetworkConfig, label: string): Promise<OnnxFuser> {
    const res = await fetch(modelUrl);
    if (!res.ok) throw new Error(`cannot load the network ${modelUrl}: HTTP ${res.status}`);
    const session = await ort.InferenceSession.create(new Uint8Array(await res.arrayBuffer()), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    return new OnnxFuser(session, config, label);
  }

  async fuse(ir: Image8, vi: Image8, sig: SigResult): Promise<Image8> {
    const c = this.config;
    if (sig.textEncoderId !== c.text_encoder) {
      throw new Error(`the network was trained with text encoder '${c.text_encoder}', but the page's SIG gives '${sig.textEncoderId}'`);
    }
    const { width: w, height: h } = vi;
    const plane = w * h;
    // Pre-processing as OnnxFuser.predict (src/export/onnx-fuse.ts); the network keeps the size (size multiple 1).
    const viRgb = rgbPlanes(vi);
    const irY = ir.channels === 3 ? yPlane(rgbPlanes(ir), plane) : hwcToChw(ir.data, h, w, 1, 1 / 255);
    const viIn = c.vi_input === 'rgb' ? viRgb : yPlane(viRgb, plane);
    const mask = Float32Array.from(sig.mask.data, (v) => (v ? 1 : 0));
    const feeds = {
      ir: new ort.Tensor('float32', irY, [1, 1, h, w]),
      vi: new ort.Tensor('float32', viIn, [1, c.vi_input === 'y' ? 1 : 3, h, w]),
      mask: new ort.Tensor('float32', mask, [1, 1, h, w]),
      text: new ort.Tensor('float32', sig.embedding, [1, c.text_tokens, c.text_dim]),
    };
    const result = await this.session.run(feeds);
    const out = result.fused ?? Object.values(result)[0];
    const img = networkOutputToImage(out.data as Float32Array, c, vi, viRgb);
    for (const t of Object.values(result)) t.dispose();
    return img;
  }
}
