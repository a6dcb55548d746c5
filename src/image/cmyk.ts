/**
 * 4-component JPEGs (CMYK, and YCCK, which libjpeg turns into CMYK) as OpenCV's `imread` reads them:
 * the reference evaluator reads every image with `cv2.imread`, so tesg must see the same pixels.
 *
 * OpenCV (modules/imgcodecs/src/grfmt_jpeg.cpp) asks libjpeg for JCS_CMYK output, ignores the Adobe
 * inversion convention and any ICC profile, and converts with its own `icvCvt_CMYK2BGR_8u_C4C3R`
 * (utils.cpp) on the values exactly as libjpeg returns them:
 *   R = K - ((255 - C) * K >> 8),  G = K - ((255 - M) * K >> 8),  B = K - ((255 - Y) * K >> 8).
 * Adobe-style files store inverted ink (255 = no ink), for which this is the naive
 * (1 - ink) * (1 - black) conversion; OpenCV applies it to non-Adobe files unchanged as well.
 *
 * libvips (sharp), by contrast, inverts every CMYK JPEG on load and then converts with a CMYK ICC
 * profile (the embedded one, or a built-in fallback): about 10 grey levels brighter on a typical
 * photo. `./read.ts` therefore asks sharp for the raw CMYK bands (pipelineColourspace('cmyk'): no
 * profile conversion), undoes libvips's inversion and converts here. Checked against the reference
 * evaluator's metrics for a YCCK field case in test/robustness-cmyk.test.ts.
 */

/**
 * libjpeg's CMYK output (what OpenCV sees) from sharp's raw CMYK bands: libvips (8.10 and later, as
 * bundled with sharp 0.35) inverts every CMYK JPEG it loads, with or without an Adobe marker.
 */
export function libjpegCmykFromSharp(bands: Uint8Array): Uint8Array {
  const out = new Uint8Array(bands.length);
  for (let i = 0; i < bands.length; i++) out[i] = 255 - bands[i];
  return out;
}

/**
 * OpenCV's icvCvt_CMYK2BGR_8u_C4C3R, written out as RGB: `cmyk` is interleaved C, M, Y, K as libjpeg
 * returns them (length 4·n, values 0..255); the result is interleaved R, G, B (length 3·n, 0..255).
 */
export function cmykToRgbOpenCv(cmyk: Uint8Array): Uint8Array {
  const n = Math.floor(cmyk.length / 4);
  const rgb = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n * 4; i += 4, j += 3) {
    const k = cmyk[i + 3];
    rgb[j] = k - (((255 - cmyk[i]) * k) >> 8);
    rgb[j + 1] = k - (((255 - cmyk[i + 1]) * k) >> 8);
    rgb[j + 2] = k - (((255 - cmyk[i + 2]) * k) >> 8);
  }
  return rgb;
}
