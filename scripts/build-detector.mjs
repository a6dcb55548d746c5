// `npm run build:detector` (run by `npm ci` through prepare, after the TypeScript build): converts the
// SIG detector's tfjs graph to ONNX once (src/semantics/centernet-onnx.ts) and caches it in
// .tesg-cache/, so the first `tesg fuse` does not pay the conversion. Without it the first run converts.
const { detectorOnnxBytes } = await import('../dist/semantics/centernet-ort.js');
const r = await detectorOnnxBytes();
console.log(`SIG detector for onnxruntime: ${r.file} (${(r.bytes.byteLength / 1e6).toFixed(1)} MB, ${r.converted ? 'converted now' : 'already there'})`);
