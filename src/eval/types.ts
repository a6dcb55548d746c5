/** Shapes shared by the eval planner, the scorer (main thread or worker) and the report writers. */

/** One method's fused folder, as given on the command line (`--fused NAME=DIR`). */
export interface FusedFolder {
  name: string;
  dir: string;
}

/** Everything needed to score one image stem: its files and which metrics to compute. */
export interface StemTask {
  stem: string;
  ir: string;
  vi: string;
  /** Method name -> fused file. */
  fused: { name: string; file: string }[];
  /** Also score IR and VI themselves as rows named IR and VI. */
  sources: boolean;
  metrics: string[];
}

/** Metric name -> value, for one (image, method). */
export type MetricValues = Record<string, number>;

export interface StemScores {
  stem: string;
  /** Method name (or IR/VI) -> its metric values on this image. */
  rows: Record<string, MetricValues>;
}

/** Why a stem could not be scored; `kind` decides whether --allow-missing may skip it. */
export interface StemFailure {
  stem: string;
  kind: 'unreadable' | 'mismatch';
  message: string;
}

export type StemOutcome = { ok: true; scores: StemScores } | { ok: false; failure: StemFailure };
