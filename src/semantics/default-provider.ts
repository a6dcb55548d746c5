import { UsageError } from '../errors.js';
import type { Image8 } from '../image/types.js';
import { COCO_LABELS } from './coco-labels.js';
import { DETECTOR_ID, nmsByClass, type Detection, type DetectOptions } from './centernet-decode.js';
import { DEFAULT_VOCAB, type KeywordVocab } from './keywords.js';
import { irCue, masksFromBoxes, viCue, type RefineOptions } from './mask-refine.js';
import { isNight, sceneCaption } from './scene-caption.js';
import type { BinaryMask, CaptionProvider, MaskProvider, MaskRequest } from './types.js';

/**
 * The built-in SIG default, no download: one COCO detector (CenterNet, shipped in
 * @vladmandic/human) run on VI and on IR stands in for BLIP (caption) and for Stable Diffusion's
 * noise difference (masks). It is both the CaptionProvider and the MaskProvider; detections are
 * computed once per image object and shared between the two calls.
 */

/** What DetectorSig needs of a detector: CenterNetDetector, or the browser app's fetch-loaded one. */
export interface ObjectDetector {
  detect(img: Image8, opts?: DetectOptions): Promise<Detection[]>;
}

export interface DetectorSigOptions {
  /**
   * A loaded detector to use (default: CenterNetDetector from node_modules, loaded on first use).
   * The browser app passes the one it fetched from the site; an injected detector stays the
   * caller's: dispose() leaves it alone.
   */
  detector?: ObjectDetector;
  detect?: DetectOptions;
  refine?: RefineOptions;
  /** Keyword vocabulary; its canonical keys are COCO class names (default: DEFAULT_VOCAB). */
  vocab?: KeywordVocab;
  /** Cross-modality merge IoU for counting objects in the caption (default 0.5). */
  mergeIou?: number;
  /** Least score of a detection the caption counts (default 0.3; masks use every detection above
   * detect.minScore, 0.2). Faint far-away peaks would otherwise turn 2 people into "nine persons". */
  captionMinScore?: number;
  /**
   * Cores for the built-in detector (ignored when `detector` is given; ./sig-detector.ts): 1 (all
   * cores: onnxruntime's threads, or tfjs with one worker thread for the other image), 0 (one thread:
   * where the process already keeps every core busy, e.g. several pairs at once). Default: the
   * environment variable TESG_DETECTOR_WORKERS (0 | 1) if set, else all cores.
   */
  detectorWorkers?: 0 | 1;
  /**
   * Which implementation runs the built-in detector (./sig-detector.ts): 'onnx' (onnxruntime) or
   * 'tfjs' (the browser's). Default: the environment variable TESG_DETECTOR, else 'onnx'. The same
   * detections either way; for comparing them and their speed.
   */
  detectorBackend?: 'onnx' | 'tfjs';
}

export class DetectorSig implements CaptionProvider, MaskProvider {
  readonly name: string = `detector:${DETECTOR_ID}`;
  private loaded?: Promise<ObjectDetector & { dispose(): void | Promise<void> }>;
  private readonly memo = new WeakMap<Image8, Promise<Detection[]>>();

  constructor(protected readonly options: DetectorSigOptions = {}) {}

  /** All COCO detections of one image (memoised per image object). */
  detections(img: Image8): Promise<Detection[]> {
    let p = this.memo.get(img);
    if (!p) {
      const detector = this.options.detector ? Promise.resolve(this.options.detector) : (this.loaded ??= this.load());
      p = detector.then((d) => d.detect(img, { ...this.options.detect, classes: undefined }));
      this.memo.set(img, p);
    }
    return p;
  }

  /** The built-in detector (./sig-detector.ts: onnxruntime, or tfjs with a worker thread). */
  private load(): Promise<ObjectDetector & { dispose(): void | Promise<void> }> {
    // Loaded on demand: the browser app (an injected detector) never reaches onnxruntime or node:worker_threads.
    return import('./sig-detector.js').then((m) => m.loadSigDetector(this.options.detectorWorkers, this.options.detectorBackend ?? m.defaultDetectorBackend()));
  }

  protected get keyClasses(): string[] {
    return Object.keys(this.options.vocab ?? DEFAULT_VOCAB);
  }

  async caption(vi: Image8, ir?: Image8): Promise<string> {
    const keys = this.keyClasses;
    const minScore = this.options.captionMinScore ?? 0.3;
    const keep = (d: Detection) => keys.includes(d.label) && d.score >= minScore;
    // Both asked for before either is awaited: a detector with a worker runs them at once.
    const [dv, di] = await Promise.all([this.detections(vi), ir ? this.detections(ir) : []]);
    const found = [...dv.filter(keep), ...di.filter(keep)];
    // The same object seen in both modalities counts once.
    const merged = nmsByClass(found, this.options.mergeIou ?? 0.5);
    return sceneCaption(isNight(vi), merged, keys);
  }

  async masks(req: MaskRequest): Promise<{ vis: BinaryMask; ir: BinaryMask }> {
    const classes = req.keywords.map(toCocoClass);
    const pick = (ds: Detection[]) => ds.filter((d) => classes.includes(d.label));
    const [dv, di] = await Promise.all([this.detections(req.vi), this.detections(req.ir)]);
    return {
      vis: masksFromBoxes(req.vi, pick(dv), viCue, this.options.refine),
      ir: masksFromBoxes(req.ir, pick(di), irCue, this.options.refine),
    };
  }

  async dispose(): Promise<void> {
    if (this.loaded) await (await this.loaded).dispose();
    this.loaded = undefined;
  }
}

/** A keyword (canonical V* entry) as a COCO class the detector knows; else a UsageError. */
export function toCocoClass(keyword: string): string {
  const k = keyword.toLowerCase().trim();
  if (COCO_LABELS.includes(k)) return k;
  throw new UsageError(
    `keyword "${keyword}" is not an object class the built-in detector knows; use one of the 80 COCO classes, e.g. person, car, bicycle, motorcycle, bus, truck`,
  );
}
