import { UsageError } from '../errors.js';

/** MSRS detection classes (test/detection/classes.txt). */
export const MSRS_DETECTION_CLASSES = ['person', 'bicycle', 'car'] as const;

/** MSRS segmentation classes, label values 0..8 (train/label, test/label). */
export const MSRS_SEGMENTATION_CLASSES = [
  'unlabelled',
  'car',
  'person',
  'bike',
  'curve',
  'car stop',
  'guardrail',
  'color cone',
  'bump',
] as const;

/**
 * How COCO labels map to the MSRS detection classes.
 * - `strict`: only COCO person, bicycle, car.
 * - `merged` (default): also COCO motorcycle -> bicycle, bus and truck -> car. MSRS boxes come from
 *   MFNet's classes, whose "bike" covers bicycles and the motor scooters common in its street scenes,
 *   and whose "car" covers all road vehicles; a COCO detector splits those, so strict mapping would
 *   count a correctly found scooter as a miss. Both are offered; the table says which was used.
 */
export type ClassMapName = 'strict' | 'merged';

const STRICT: Record<string, number> = { person: 0, bicycle: 1, car: 2 };
const MERGED: Record<string, number> = { ...STRICT, motorcycle: 1, bus: 2, truck: 2 };

export function cocoToMsrs(name: ClassMapName): Readonly<Record<string, number>> {
  if (name === 'strict') return STRICT;
  if (name === 'merged') return MERGED;
  throw new UsageError(`--class-map: expected "strict" or "merged", got "${String(name)}"`);
}
