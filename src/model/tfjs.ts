import { register } from 'node:module';
import { loadCpuBackend, tf } from '../runtime/tfjs-node.cjs';

/**
 * tfjs-core for training and inference, with its gradients registered.
 *
 * Why this file exists: tfjs-core's CommonJS bundle (what Node loads) has no gradient functions;
 * they live only in its ESM build (`dist/register_all_gradients.js`), whose extensionless relative
 * imports Node's ESM resolver refuses. We add `.js` to those imports with a resolve hook limited to
 * tfjs-core's own dist folder and load that one module. It shares tfjs's global engine and
 * registries, so the gradients it registers apply to the CommonJS copy. Idempotent: when someone
 * (e.g. the runtime backend) registered them already, nothing is loaded.
 */
export { tf };

loadCpuBackend();

const HOOK = `
export async function resolve(specifier, context, next) {
  const p = context.parentURL;
  if (p && p.includes('/@tensorflow/tfjs-core/dist/') && specifier.startsWith('.') && !specifier.endsWith('.js')) {
    try { return await next(specifier + '.js', context); } catch { return next(specifier + '/index.js', context); }
  }
  return next(specifier, context);
}`;

let loading: Promise<void> | null = null;

/** Make sure every tfjs-core gradient is registered (about 0.7 s the first time). */
export function ensureGradients(): Promise<void> {
  if (tf.getGradient('Sum') !== undefined) return Promise.resolve();
  loading ??= (async () => {
    register('data:text/javascript,' + encodeURIComponent(HOOK));
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js' as string);
  })();
  return loading;
}
