/** An 8-bit image as read from disk: pixels interleaved row-major (H, W, C). */
export interface Image8 {
  width: number;
  height: number;
  /** 1 = gray, 3 = RGB. Alpha is dropped on read. */
  channels: 1 | 3;
  data: Uint8Array;
}

/**
 * A gray image as the reference evaluator sees it: integer values 0..255 held as float64
 * (row-major). Every metric takes this type.
 */
export interface GrayImage {
  width: number;
  height: number;
  data: Float64Array;
}
