/**
 * The training RNG: sfc32 (Chris Doty-Humphrey's small fast counting generator), 128 bits of state
 * as four uint32s, so the state goes into a checkpoint as four numbers and a resumed run draws
 * exactly the same crops and flips as an uninterrupted one.
 */
export type RngState = [number, number, number, number];

export class Rng {
  private s: Uint32Array;

  private constructor(state: RngState) {
    this.s = Uint32Array.from(state);
  }

  /** Seeded: the seed is spread by splitmix32 and the first 12 outputs are discarded. */
  static fromSeed(seed: number): Rng {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    const r = new Rng([next(), next(), next(), next()]);
    for (let i = 0; i < 12; i++) r.nextU32();
    return r;
  }

  static fromState(state: RngState): Rng {
    if (state.length !== 4 || !state.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
      throw new Error(`bad RNG state ${JSON.stringify(state)}`);
    }
    return new Rng(state);
  }

  state(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  nextU32(): number {
    const s = this.s;
    const t = (((s[0] + s[1]) >>> 0) + s[3]) >>> 0;
    s[3] = (s[3] + 1) >>> 0;
    s[0] = s[1] ^ (s[1] >>> 9);
    s[1] = (s[2] + (s[2] << 3)) >>> 0;
    s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
    s[2] = (s[2] + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }
}
