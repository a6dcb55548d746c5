import type { BinaryMask } from './types.js';

/**
 * How well a key-object mask M covers the labelled objects of a segmentation label image (MSRS /
 * MFNet labels: 0 unlabelled, 1 car, 2 person, 3 bike, 4..8 road furniture). Two views:
 *  - instances: an object is a 4-connected region of one key class with at least `minPixels`
 *    pixels; it is found when at least `foundShare` of its pixels are inside M (issue 12's measure);
 *  - pixels: recall = key-class pixels inside M / key-class pixels; precision = key-class pixels
 *    inside M / pixels of M (pooled over images by adding the counts).
 */

/** MSRS label values of the key classes. */
export const MSRS_KEY_CLASSES: Readonly<Record<string, number>> = Object.freeze({ person: 2, car: 1, bike: 3 });

export interface InstanceTally {
  /** Objects per class. */
  objects: Record<string, number>;
  /** Of which found. */
  found: Record<string, number>;
}

export interface PixelTally {
  /** Key-class pixels inside M. */
  tp: number;
  /** Pixels of M. */
  maskPx: number;
  /** Key-class pixels. */
  keyPx: number;
}

export interface MaskScoreOptions {
  minPixels?: number;
  foundShare?: number;
  classes?: Readonly<Record<string, number>>;
}

export function emptyInstanceTally(classes: Readonly<Record<string, number>> = MSRS_KEY_CLASSES): InstanceTally {
  const zero = () => Object.fromEntries(Object.keys(classes).map((k) => [k, 0]));
  return { objects: zero(), found: zero() };
}

/**
 * Add one image's objects to `tally`. `label` holds one class value per pixel (`labelChannels` apart,
 * the first channel is read), at the mask's size.
 */
export function tallyInstances(
  tally: InstanceTally,
  mask: BinaryMask,
  label: Uint8Array,
  labelChannels = 1,
  o: MaskScoreOptions = {},
): void {
  const { width: w, height: h } = mask;
  const minPixels = o.minPixels ?? 30, share = o.foundShare ?? 0.5;
  const classes = o.classes ?? MSRS_KEY_CLASSES;
  const byValue = new Map(Object.entries(classes).map(([k, v]) => [v, k]));
  const seen = new Uint8Array(w * h);
  const stack: number[] = [];
  for (let start = 0; start < w * h; start++) {
    const cls = byValue.get(label[start * labelChannels]);
    if (cls === undefined || seen[start]) continue;
    const value = label[start * labelChannels];
    let n = 0, inside = 0;
    seen[start] = 1;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      n++;
      if (mask.data[p]) inside++;
      const x = p % w, y = (p - x) / w;
      const visit = (q: number) => {
        if (!seen[q] && label[q * labelChannels] === value) {
          seen[q] = 1;
          stack.push(q);
        }
      };
      if (x > 0) visit(p - 1);
      if (x < w - 1) visit(p + 1);
      if (y > 0) visit(p - w);
      if (y < h - 1) visit(p + w);
    }
    if (n < minPixels) continue;
    tally.objects[cls]++;
    if (inside >= share * n) tally.found[cls]++;
  }
}

/** Add one image's pixel counts to `tally` (key pixels = any value of `classes`). */
export function tallyPixels(tally: PixelTally, mask: BinaryMask, label: Uint8Array, labelChannels = 1, classes = MSRS_KEY_CLASSES): void {
  const key = new Set(Object.values(classes));
  for (let i = 0; i < mask.data.length; i++) {
    const k = key.has(label[i * labelChannels]);
    if (k) tally.keyPx++;
    if (mask.data[i]) {
      tally.maskPx++;
      if (k) tally.tp++;
    }
  }
}

/** Recall and precision of pooled pixel counts (0 when the denominator is 0). */
export function pixelScores(t: PixelTally): { recall: number; precision: number } {
  return { recall: t.keyPx ? t.tp / t.keyPx : 0, precision: t.maskPx ? t.tp / t.maskPx : 0 };
}

/** MSRS names end in D (day) or N (night), e.g. 01102N. */
export function msrsTimeOfDay(stem: string): 'day' | 'night' | undefined {
  const c = stem.at(-1)?.toUpperCase();
  return c === 'D' ? 'day' : c === 'N' ? 'night' : undefined;
}
