import type { Image8 } from '../../src/image/types.js';
import type { BinaryMask } from '../../src/semantics/types.js';

/** Drawing images and mask overlays on canvases (the page's only pixel output besides the download). */

export function toImageData(img: Image8): ImageData {
  const n = img.width * img.height;
  const rgba = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    if (img.channels === 3) {
      rgba[4 * i] = img.data[3 * i];
      rgba[4 * i + 1] = img.data[3 * i + 1];
      rgba[4 * i + 2] = img.data[3 * i + 2];
    } else {
      rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = img.data[i];
    }
    rgba[4 * i + 3] = 255;
  }
  return new ImageData(rgba, img.width, img.height);
}

export function drawImage(canvas: HTMLCanvasElement, img: Image8): void {
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d')!.putImageData(toImageData(img), 0, 0);
}

/** The image dimmed, with the mask's pixels tinted and its outline drawn, so shape and content both show. */
export function drawOverlay(canvas: HTMLCanvasElement, img: Image8, mask: BinaryMask, tint: [number, number, number]): void {
  const data = toImageData(img);
  const px = data.data;
  const { width: w, height: h } = mask;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const p = 4 * i;
      if (!mask.data[i]) {
        for (let k = 0; k < 3; k++) px[p + k] = px[p + k] * 0.55;
        continue;
      }
      const edge = x === 0 || y === 0 || x === w - 1 || y === h - 1 || !mask.data[i - 1] || !mask.data[i + 1] || !mask.data[i - w] || !mask.data[i + w];
      for (let k = 0; k < 3; k++) px[p + k] = edge ? tint[k] : px[p + k] * 0.5 + tint[k] * 0.5;
    }
  }
  canvas.width = w;
  canvas.height = h;
  canvas.getContext('2d')!.putImageData(data, 0, 0);
}

/** Share of pixels set, for the caption under each mask. */
export function coverage(mask: BinaryMask): number {
  let s = 0;
  for (const v of mask.data) s += v;
  return s / Math.max(1, mask.data.length);
}
