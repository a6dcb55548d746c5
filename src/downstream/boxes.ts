/**
 * Axis-aligned boxes for detection scoring. Coordinates are normalised to the image (0..1), corners
 * form: IoU is invariant under independent x/y scaling, so normalised and pixel boxes score the same.
 */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** A ground-truth object: class index (MSRS detection classes) and its box. */
export interface GroundTruth {
  cls: number;
  box: Box;
}

/** A scored detection already mapped to an MSRS class. */
export interface ScoredBox {
  cls: number;
  score: number;
  box: Box;
}

/** YOLO's centre form (cx, cy, w, h) to corners. */
export function fromCenter(cx: number, cy: number, w: number, h: number): Box {
  return { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 };
}

export function boxArea(b: Box): number {
  return Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1);
}

/** Intersection over union, as pycocotools' bbIou (no +1 pixel convention). */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (boxArea(a) + boxArea(b) - inter);
}
