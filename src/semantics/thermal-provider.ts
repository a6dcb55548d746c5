import type { Image8 } from '../image/types.js';
import { DetectorSig, toCocoClass, type DetectorSigOptions } from './default-provider.js';
import { boxIou, DETECTOR_ID, nmsByClass, type Detection } from './centernet-decode.js';
import { irCue, masksFromBoxes, refineBox, viCue, type Box, type Cue, type RefineOptions } from './mask-refine.js';
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
 * Version 3 is this class with THERMAL_SIG_V3's options (below): at night, weak boxes need a second
 * sighting (`confirmBelow`) or join with one (`confirmedMinScore`), tighter ellipses, warm objects
 * with class floors and growth. Inputs: VI 1 or 3 channels, IR 1 or 3, 8-bit, the same size; masks
 * are 0/1 at that size.
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
  /**
   * Boxes scoring from this value up to their class floor are kept when another source confirms them:
   * IoU >= CONFIRM_IOU with a kept box of the other modality or a warm object (SIG v3: 0.1; default:
   * off). Two weak, independent sightings of one object are better evidence than one.
   */
  confirmedMinScore?: number;
  /**
   * Per modality and class, the score below which a box must be confirmed as above to paint M (SIG v3:
   * { ir: { person: 0.3 } }: unconfirmed IR person boxes of 0.2-0.3 were 15 % precise on MSRS train
   * nights, lamp posts and warm façades). Default none.
   */
  confirmBelow?: Readonly<Partial<Record<'vi' | 'ir', Readonly<Record<string, number>>>>>;
  /** Mask refinement per class, over `refine` (SIG v3: bicycles and motorcycles 1.3x ellipses: thin frames). */
  refineByClass?: Readonly<Record<string, RefineOptions>>;
  /** The provider's name, recorded in SIG caches and models (default THERMAL_SIG_ID). */
  id?: string;
  /**
   * Settings that replace the above for night pairs (VI mean gray below NIGHT_MEAN_GRAY), key by key
   * (a night `refine` replaces the day one whole); `warm: false` at the top level still holds at night.
   * SIG v3 puts all its changes here: by day v2's masks already find 0.90 of the people on MSRS test.
   */
  night?: Readonly<Omit<ThermalSigOptions, 'night' | 'id' | 'detect' | 'detector' | 'detectorWorkers' | 'detectorBackend' | 'vocab' | 'captionMinScore' | 'mergeIou'>>;
}

/** The options that hold for one pair: the night overrides on top at night. */
type PairOptions = Omit<ThermalSigOptions, 'night'>;

export const THERMAL_SIG_ID = `detector+ir-warm:${DETECTOR_ID}`;
/** SIG v3's name (THERMAL_SIG_V3 options). */
export const THERMAL_SIG_V3_ID = `detector+ir-warm-v3:${DETECTOR_ID}`;
/** Least IoU by which one source confirms another's box. */
export const CONFIRM_IOU = 0.3;

interface Found {
  /** The options of this pair (night ones at night). */
  o: PairOptions;
  /** Key-class detections of VI and IR above maskMinScore. */
  vi: Detection[];
  ir: Detection[];
  /** Warm objects of IR (empty by day unless warmByDay). */
  warm: WarmObject[];
}

export class ThermalSig extends DetectorSig {
  override readonly name: string;
  private readonly found = new WeakMap<Image8, Promise<Found>>();

  constructor(private readonly thermal: ThermalSigOptions = {}) {
    // The detector must report everything down to the lowest floor; the floors are applied here.
    const n = nightOptions(thermal);
    const lowest = Math.min(thermal.detect?.minScore ?? 1, ...[thermal, n].flatMap((o) => [o.confirmedMinScore ?? 1, ...Object.values(floors(o))]));
    super({ ...thermal, detect: { ...thermal.detect, minScore: lowest } });
    this.name = thermal.id ?? THERMAL_SIG_ID;
  }

  /** Everything found in one pair (memoised on the VI image object, like the detections). */
  objects(vi: Image8, ir: Image8): Promise<Found> {
    let p = this.found.get(vi);
    if (!p) {
      p = (async () => {
        const night = isNight(vi);
        const t: PairOptions = night ? nightOptions(this.thermal) : this.thermal;
        const keys = this.keyClasses, fl = floors(t);
        const keep = (d: Detection) => keys.includes(d.label) && d.score >= (fl[d.label] ?? fl.default);
        const [dv, di] = await Promise.all([this.detections(vi), this.detections(ir)]);
        const useWarm = t.warm !== false && (t.warmByDay || night);
        const warm = useWarm ? warmObjects(ir, t.warm || {}) : [];
        let fv = dv.filter(keep), fi = di.filter(keep);
        if (t.confirmedMinScore !== undefined) {
          const low = (ds: Detection[], others: readonly Box[]) =>
            ds.filter((d) => keys.includes(d.label) && !keep(d) && d.score >= t.confirmedMinScore! && confirmed(d, others, warm));
          [fv, fi] = [[...fv, ...low(dv, fi)], [...fi, ...low(di, fv)]];
        }
        if (t.confirmBelow) {
          const strict = (ds: Detection[], below: Readonly<Record<string, number>> = {}, others: readonly Box[]) =>
            ds.filter((d) => d.score >= (below[d.label] ?? 0) || confirmed(d, others, warm));
          [fv, fi] = [strict(fv, t.confirmBelow.vi, fi), strict(fi, t.confirmBelow.ir, fv)];
        }
        return { o: t, vi: fv, ir: fi, warm };
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
    const vis = boxMasks(req.vi, pick(f.vi), viCue, f.o);
    const ir = boxMasks(req.ir, pick(f.ir), irCue, f.o);
    const warm = f.warm.filter((w) => classes.includes(w.label));
    for (const w of warm) for (const p of w.pixels) ir.data[p] = 1;
    return { vis, ir };
  }
}

/** The refined masks of the boxes, each class with its own refinement where refineByClass gives one. */
function boxMasks(img: Image8, boxes: Detection[], cue: Cue, o: PairOptions): BinaryMask {
  const byClass = o.refineByClass ?? {};
  const out = masksFromBoxes(img, boxes.filter((b) => !byClass[b.label]), cue, o.refine);
  for (const [label, refine] of Object.entries(byClass)) for (const b of boxes) if (b.label === label) refineBox(img, b, cue, out, { ...o.refine, ...refine });
  return out;
}

/** Some box of `others` or some warm object overlaps `d` by at least CONFIRM_IOU. */
function confirmed(d: Detection, others: readonly Box[], warm: readonly WarmObject[]): boolean {
  return others.some((o) => boxIou(d, o) >= CONFIRM_IOU) || warm.some((w) => boxIou(d, w) >= CONFIRM_IOU);
}

export const THERMAL_SIG_DEFAULTS = Object.freeze({ maskMinScore: 0.2, classMinScore: Object.freeze({ bicycle: 0.1 }) });

/**
 * SIG v3 (issue 12, tuned on MSRS train, docs/sig.md): at night, v2 plus confirmation rules for weak
 * boxes, tighter ellipses (1.0x, bicycles 1.3x), per-class floors for warm objects and hysteresis
 * growth; by day v2 itself. Same detections as v2 (the lowest score asked of the detector stays 0.1).
 */
export const THERMAL_SIG_V3: Readonly<ThermalSigOptions> = Object.freeze({
  id: THERMAL_SIG_V3_ID,
  night: Object.freeze({
    confirmedMinScore: 0.1,
    confirmBelow: Object.freeze({ ir: Object.freeze({ person: 0.3 }) }),
    refine: Object.freeze({ ellipseScale: 1.0 }),
    refineByClass: Object.freeze({
      bicycle: Object.freeze({ ellipseScale: 1.3, fallbackScale: 1.2 }),
      motorcycle: Object.freeze({ ellipseScale: 1.3, fallbackScale: 1.2 }),
    }),
    warm: Object.freeze({
      minMeanContrast: Object.freeze({ person: 40, car: 45 }),
      grow: Object.freeze({ contrast: 14, margin: 0.5, minMeanContrast: 50 }),
    }),
  }),
});

/** The options of a night pair: `night` over the rest, key by key; warm objects stay off if turned off. */
function nightOptions(o: ThermalSigOptions): PairOptions {
  const n: PairOptions = { ...o, ...o.night };
  if (o.warm === false) n.warm = false;
  return n;
}

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
