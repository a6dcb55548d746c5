/**
 * Greedy and beam-search decoding over a step function that scores next tokens for a batch of
 * prefixes. No key/value cache: each step re-runs the decoder on the full prefixes, which costs
 * O(length^2) but needs only the plain decoder export and keeps this code exact and simple
 * (captions are ~20 tokens).
 */

/** Next-token logits (any scale; log-softmax is taken here) for each prefix, in order. */
export type StepFn = (prefixes: number[][]) => Promise<Float32Array[]>;

export interface SearchOptions {
  startId: number;
  eosIds: number[];
  /** Total length including the start token, as Hugging Face's max_length. */
  maxLength: number;
  /** 1 = greedy. */
  numBeams: number;
  /** Beam scores are sum(log p) / (generated tokens ^ lengthPenalty). Default 1. */
  lengthPenalty: number;
}

export interface Hypothesis {
  /** Generated tokens after the start token, without the eos. */
  tokens: number[];
  /** Sum of log-probabilities of the generated tokens (eos included when it ended). */
  logProb: number;
}

export async function greedySearch(step: StepFn, o: SearchOptions): Promise<Hypothesis> {
  const ids = [o.startId];
  let logProb = 0;
  while (ids.length < o.maxLength) {
    const lp = logSoftmax((await step([ids]))[0]);
    const next = argmax(lp);
    logProb += lp[next];
    if (o.eosIds.includes(next)) break;
    ids.push(next);
  }
  return { tokens: ids.slice(1), logProb };
}

interface Beam {
  ids: number[];
  logProb: number;
}

/**
 * Hugging Face-style beam search: each step keeps the best 2k continuations of the k beams; an
 * eos among the top k ends a hypothesis, scored by length-normalised log-probability; stop when
 * k hypotheses are done and no live beam can still beat the worst of them.
 */
export async function beamSearch(step: StepFn, o: SearchOptions): Promise<Hypothesis> {
  const k = o.numBeams;
  const score = (logProb: number, generated: number) => logProb / Math.max(1, generated) ** o.lengthPenalty;
  let beams: Beam[] = [{ ids: [o.startId], logProb: 0 }];
  const done: Array<Beam & { score: number }> = [];
  while (beams.length > 0 && beams[0].ids.length < o.maxLength) {
    const logits = await step(beams.map((b) => b.ids));
    const candidates: Array<{ beam: Beam; token: number; logProb: number }> = [];
    beams.forEach((beam, i) => {
      const lp = logSoftmax(logits[i]);
      for (const t of topK(lp, 2 * k)) candidates.push({ beam, token: t, logProb: beam.logProb + lp[t] });
    });
    candidates.sort((a, b) => b.logProb - a.logProb);
    const next: Beam[] = [];
    for (let rank = 0; rank < candidates.length && next.length < k; rank++) {
      const c = candidates[rank];
      if (o.eosIds.includes(c.token)) {
        if (rank < k) done.push({ ids: c.beam.ids, logProb: c.logProb, score: score(c.logProb, c.beam.ids.length) });
        continue;
      }
      next.push({ ids: [...c.beam.ids, c.token], logProb: c.logProb });
    }
    beams = next;
    if (done.length >= k && beams.length > 0) {
      const worst = Math.min(...done.map((d) => d.score));
      if (worst >= score(beams[0].logProb, beams[0].ids.length)) break;
    }
  }
  for (const b of beams) done.push({ ...b, score: score(b.logProb, b.ids.length - 1) });
  done.sort((a, b) => b.score - a.score);
  const best = done[0];
  return { tokens: best.ids.slice(1), logProb: best.logProb };
}

export function logSoftmax(x: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(x, (v) => v - lse);
}

function argmax(x: Float64Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

function topK(x: Float64Array, k: number): number[] {
  const idx = Array.from(x.keys());
  idx.sort((a, b) => x[b] - x[a]);
  return idx.slice(0, Math.min(k, idx.length));
}
