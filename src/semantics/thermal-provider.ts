import type { Image8 } from '../image/types.js';
import { DetectorSig, toCocoClass, type DetectorSigOptions } from './default-provider.js';
import { DETECTOR_ID, nmsByClass, type Detection } from './centernet-decode.js';
import { irCue, masksFromBoxes, viCue } from './mask-refine.js';
import { isNight, sceneCaption } from './scene-caption.js';
import type { BinaryMask, MaskRequest } from './types.js';
import { warmObjects, type WarmObject, type WarmObjectOptions } from './warm-objects.js';

/**
 * The built-in SIG, version 2 (the default since issue 12): the COCO detector of version 1
 * (DetectorSig) on VI and IR, plus warm-object segmentation of the IR image (./warm-objects.ts), so
 * that M finds the people and cars that a daylight-trained detector misses at night. Differences from
 * version 1, each measured on MSRS train (docs/sig.md):
 *  - masks use every key-class detection above `maskMinScore` in either modality, not only the classes
 *    the caption named at its stricter threshold (version 1 lost objects whose class was only seen
 *    below 0.3);
 *  - at night (VI mean gray below NIGHT_MEAN_GRAY, or always with `warmByDay`) the warm components
 *    of IR join M_ir, classed person (tall) or car (wide) by shape;
 *  - the caption names every class M holds: it counts the confident detections (merged across
 *    modalities) and the warm objects no box covers, so a person found only in IR is still
 *    "a person" in T and in V*.
 */
export interface ThermalSigOptions extends DetectorSigOptions {
  /** Least detector score of a box that paints M (default 0.2, version 1's floor). */
  maskMinScore?: number;
  /** Per-class floors that replace maskMinScore (default { bicycle: 0.1 }: thin bicycles score low). */
  classMinScore?: Readonly<Record<string, number>>;
  /** Warm-object settings; false turns them off (then only the detections, as version 1 with its fixes). */
  warm?: WarmObjectOptions | false;
  /** Also add warm objects by day (default false: sunlit surfaces are warm too; see docs/sig.md). */
  warmByDay?: boolean;
}

export const THERMAL_SIG_ID = `detector+ir-warm:${DETECTOR_ID}`;

interface Found {
  /** Key-class detections of VI and IR above maskMinScore. */
  vi: Detection[];
  ir: Detection[];
  /** Warm objects of IR (empty by day unless warmByDay). */
  warm: WarmObject[];
}

export class ThermalSig extends DetectorSig {
  override readonly name = THERMAL_SIG_ID;
  private readonly found = new WeakMap<Image8, Promise<Found>>();

  constructor(private readonly thermal: ThermalSigOptions = {}) {
    // The detector must report everything down to the lowest floor; the floors are applied here.
    super({ ...thermal, detect: { ...thermal.detect, minScore: Math.min(thermal.detect?.minScore ?? 1, ...Object.values(floors(thermal))) } });
  }

  /** Everything found in one pair (memoised on the VI image object, like the detections). */
  objects(vi: Image8, ir: Image8): Promise<Found> {
    let p = this.found.get(vi);
    if (!p) {
      p = (async () => {
        const keys = this.keyClasses, fl = floors(this.thermal);
        const keep = (d: Detection) => keys.includes(d.label) && d.score >= (fl[d.label] ?? fl.default);
        const [dv, di] = await Promise.all([this.detections(vi), this.detections(ir)]);
        const useWarm = this.thermal.warm !== false && (this.thermal.warmByDay || isNight(vi));
        const warm = useWarm ? warmObjects(ir, this.thermal.warm || {}) : [];
        return { vi: dv.filter(keep), ir: di.filter(keep), warm };
      })();
      this.found.set(vi, p);
    }
    return p;
  }

  override async caption(vi: Image8, ir?: Image8): Promise<string> {
    if (!ir) return super.caption(vi);
    const f = await this.objects(vi, ir);
    // Counted: detections at the caption's stricter score (faint peaks would turn 2 people into
    // "nine persons"), merged across modalities, and the warm objects no mask box covers. A class
    // that is in M only through fainter boxes is still named, once, so V* holds every class of M.
    const all = [...f.vi, ...f.ir];
    const counted = nmsByClass(all.filter((d) => d.score >= (this.options.captionMinScore ?? 0.3)), this.options.mergeIou ?? 0.5);
    counted.push(...f.warm.filter((w) => !all.some((d) => centreInside(w, d))).map(asDetection));
    for (const d of all) if (!counted.some((c) => c.label === d.label)) counted.push(d);
    return sceneCaption(isNight(vi), counted, this.keyClasses);
  }

  override async masks(req: MaskRequest): Promise<{ vis: BinaryMask; ir: BinaryMask }> {
    const classes = req.keywords.map(toCocoClass);
    const f = await this.objects(req.vi, req.ir);
    const pick = (ds: Detection[]) => ds.filter((d) => classes.includes(d.label));
    const vis = masksFromBoxes(req.vi, pick(f.vi), viCue, this.options.refine);
    const ir = masksFromBoxes(req.ir, pick(f.ir), irCue, this.options.refine);
    const warm = f.warm.filter((w) => classes.includes(w.label));
    for (const w of warm) for (const p of w.pixels) ir.data[p] = 1;
    return { vis, ir };
  }
}

export const THERMAL_SIG_DEFAULTS = Object.freeze({ maskMinScore: 0.2, classMinScore: Object.freeze({ bicycle: 0.1 }) });

/** Score floor per class, and `default` for the others. */
function floors(o: ThermalSigOptions): Record<string, number> {
  return { default: o.maskMinScore ?? THERMAL_SIG_DEFAULTS.maskMinScore, ...(o.classMinScore ?? THERMAL_SIG_DEFAULTS.classMinScore) };
}

function centreInside(w: WarmObject, d: Detection): boolean {
  const cx = (w.x1 + w.x2) / 2, cy = (w.y1 + w.y2) / 2;
  return cx >= d.x1 && cx <= d.x2 && cy >= d.y1 && cy <= d.y2;
}

function asDetection(w: WarmObject): Detection {
  return { x1: w.x1, y1: w.y1, x2: w.x2, y2: w.y2, score: 1, label: w.label };
}
