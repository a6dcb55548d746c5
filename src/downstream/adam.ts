import * as tf from '@tensorflow/tfjs-core';

/**
 * Plain Adam with its state in the open (first/second moments per parameter and the step), so the
 * checkpoint can store and restore it exactly; tfjs's optimiser keeps bias-correction powers in
 * hidden variables.
 */
export class Adam {
  step = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(params: Map<string, tf.Variable>, readonly beta1 = 0.9, readonly beta2 = 0.999, readonly eps = 1e-8) {
    for (const [name, p] of params) {
      // tidy: the zero tensors a variable is made from would otherwise stay allocated.
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  apply(params: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): void {
    this.step++;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g = grads[name];
        const m = this.m.get(name)!, v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const upd = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), this.eps));
        p.assign(tf.sub(p, tf.mul(upd, lr)));
      }
    });
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
