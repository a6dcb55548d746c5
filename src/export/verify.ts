import { sizeMultiple, viChannels } from '../model/config.js';
import { TesgModel } from '../model/model.js';
import { outChannels } from '../model/network.js';
import { tf } from '../model/tfjs.js';
import { chwToHwc, hwcToChw } from './layout.js';
import { OnnxFuser } from './onnx-fuse.js';

/**
 * Check an exported model against the tfjs model it came from on one random 0..1 input of
 * width x height (rounded up to the size multiple): the largest absolute difference of the outputs. Runs tfjs on whatever backend
 * is active (the exporter uses tfjs-cpu, the reference).
 */
export async function exportParity(weightsFile: string, onnxFile: string, width = 32, height = 24): Promise<number> {
  const model = await TesgModel.load(weightsFile);
  const fuser = await OnnxFuser.load(onnxFile, { threads: 1 });
  try {
    const cfg = model.config;
    let s = 12345;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
    const m = sizeMultiple(cfg); // rounded up so the forward needs no padding
    const [w, h, vc] = [Math.ceil(width / m) * m, Math.ceil(height / m) * m, viChannels(cfg)];
    const ir = Float32Array.from({ length: w * h }, rand);
    const vi = Float32Array.from({ length: w * h * vc }, rand);
    const mask = Float32Array.from({ length: w * h }, (_, i) => (i % w < w / 2 ? 1 : 0));
    const text = Float32Array.from({ length: cfg.text_tokens * cfg.text_dim }, () => rand() - 0.5);
    const ref = tf.tidy(
      () =>
        model
          .forward({
            ir: tf.tensor4d(ir, [1, h, w, 1]),
            vi: tf.tensor4d(vi, [1, h, w, vc]),
            mask: tf.tensor4d(mask, [1, h, w, 1]),
            text: tf.tensor3d(text, [1, cfg.text_tokens, cfg.text_dim]),
          })
          .dataSync() as Float32Array,
    );
    const got = chwToHwc(await fuser.runPlanar({ width: w, height: h, ir, vi: hwcToChw(vi, h, w, vc), mask, text }), h, w, outChannels(cfg));
    let d = 0;
    for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(ref[i] - got[i]));
    return d;
  } finally {
    await fuser.release();
    model.dispose();
  }
}
