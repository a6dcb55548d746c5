import type { Image8 } from '../../src/image/types.js';
import { toCocoClass } from '../../src/semantics/default-provider.js';
import { nmsByClass, type Detection } from '../../src/semantics/detector.js';
import { DEFAULT_VOCAB } from '../../src/semantics/keywords.js';
import { LexiconEncoder } from '../../src/semantics/lexicon-encoder.js';
import { irCue, masksFromBoxes, viCue } from '../../src/semantics/mask-refine.js';
import { isNight, sceneCaption } from '../../src/semantics/scene-caption.js';
import { runSig } from '../../src/semantics/sig.js';
import type { BinaryMask, CaptionProvider, MaskProvider, MaskRequest, SigResult } from '../../src/semantics/types.js';
import type { BrowserCenterNet } from './detector.js';

/**
 * The SIG default in the browser: the CLI's pipeline (runSig: caption, V*, T^, masks, union, F_t)
 * with the built-in providers, the detector running in the page. The provider below is
 * src/semantics/default-provider.ts's DetectorSig with the browser detector; its defaults
 * (caption score 0.3, cross-modality merge IoU 0.5, refinement defaults) are the CLI's, and
 * test/web-app.test.ts checks caption, keywords and masks against the CLI on the sample pair.
 */
const CAPTION_MIN_SCORE = 0.3;
const MERGE_IOU = 0.5;

export class BrowserDetectorSig implements CaptionProvider, MaskProvider {
  readonly name = 'detector:vladmandic-human-centernet-mb3';
  private readonly memo = new WeakMap<Image8, Promise<Detection[]>>();

  constructor(private readonly detector: BrowserCenterNet) {}

  detections(img: Image8): Promise<Detection[]> {
    let p = this.memo.get(img);
    if (!p) {
      p = this.detector.detect(img);
      this.memo.set(img, p);
    }
    return p;
  }

  async caption(vi: Image8, ir?: Image8): Promise<string> {
    const keys = Object.keys(DEFAULT_VOCAB);
    const keep = (d: Detection) => keys.includes(d.label) && d.score >= CAPTION_MIN_SCORE;
    const found = (await this.detections(vi)).filter(keep);
    if (ir) found.push(...(await this.detections(ir)).filter(keep));
    return sceneCaption(isNight(vi), nmsByClass(found, MERGE_IOU), keys);
  }

  async masks(req: MaskRequest): Promise<{ vis: BinaryMask; ir: BinaryMask }> {
    const classes = req.keywords.map(toCocoClass);
    const pick = (ds: Detection[]) => ds.filter((d) => classes.includes(d.label));
    const [dv, di] = await Promise.all([this.detections(req.vi), this.detections(req.ir)]);
    return { vis: masksFromBoxes(req.vi, pick(dv), viCue), ir: masksFromBoxes(req.ir, pick(di), irCue) };
  }
}

/** One SIG run; `caption`/`keywords` are the user's edits (undefined: the providers decide). */
export function runBrowserSig(sig: BrowserDetectorSig, ir: Image8, vi: Image8, caption?: string, keywords?: readonly string[]): Promise<SigResult> {
  return runSig({ ir, vi, caption, keywords, providers: { captioner: sig, masker: sig, encoder: new LexiconEncoder() } });
}
