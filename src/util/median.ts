/**
 * The median of the benchmarks: the middle value after sorting (the upper middle for an even count),
 * so it is always one of the measured values. NaN for an empty list.
 */
export function median(xs: ArrayLike<number>): number {
  return xs.length === 0 ? NaN : Array.from(xs).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}
