import type { Image8 } from '../../src/image/types.js';
import type { BuiltinSigVersion } from '../../src/semantics/sig.js';
import type { SigResult } from '../../src/semantics/types.js';

/** Messages between the page (main.ts) and the engine worker (engine.worker.ts). */

/**
 * The network's SIG record (metadata `tesg_sig` of its ONNX file or weights, src/export/export.ts
 * ONNX_SIG_KEY): the header of the SIG cache it was trained on; `masker` names the built-in SIG.
 */
export interface SigRecord {
  header?: { masker?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** web/dist/manifest.json, written at build time (vite.config.ts). */
export interface SiteManifest {
  samples: Array<{ name: string; ir: string; vi: string }>;
  network: {
    url: string;
    source: string;
    config: { vi_input: 'rgb' | 'y'; output: 'y' | 'rgb'; text_encoder: string; text_tokens: number; text_dim: number };
    /** The SIG it was trained with; null when the model records none (tesg-v1: SIG v1). */
    sig: SigRecord | null;
  } | null;
}

export type Request =
  | { id: number; kind: 'init'; base: string }
  /** New pair: decode, check sizes, then run everything with the SIG's own caption and keywords. */
  | { id: number; kind: 'pair'; ir: { name: string; bytes: ArrayBuffer }; vi: { name: string; bytes: ArrayBuffer } }
  /** Same pair, the user's caption and/or keywords (V*): SIG masks, fusion and metrics again. */
  | { id: number; kind: 'update'; caption?: string; keywords?: string[] };

/** A request without its id (the page numbers them). */
export type RequestBody = Request extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/** What the page shows of the SIG: its result without the text embedding. */
export type SigView = Pick<SigResult, 'caption' | 'captionWithout' | 'keywords' | 'maskVis' | 'maskIr' | 'mask'>;

export type Reply =
  | { id: number; kind: 'progress'; stage: string; fraction: number }
  /** sig: the built-in SIG version the engine runs (the network's, as `tesg fuse` picks it) and its provider name. */
  | { id: number; kind: 'ready'; method: string; network: boolean; backend: string; sig: { version: BuiltinSigVersion; name: string } }
  | { id: number; kind: 'images'; ir: Image8; vi: Image8 }
  | { id: number; kind: 'sig'; sig: SigView; ms: number }
  | { id: number; kind: 'fused'; fused: Image8; method: string; ms: number }
  | { id: number; kind: 'metrics'; metrics: Record<string, number>; ms: number }
  | { id: number; kind: 'done' }
  | { id: number; kind: 'error'; message: string };

/** The metrics the page shows (paper Table 1's columns), computed as `tesg eval` does. */
export const PAGE_METRICS = ['EN', 'SD', 'SCD', 'VIF', 'Qabf'] as const;
