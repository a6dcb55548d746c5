/**
 * Stand-in for Node built-ins (and Node-only packages) in the browser bundle. Shared modules the page
 * imports sit next to Node code (file reading, worker threads); the page never calls that code, and
 * if it ever did the call fails loudly here instead of misbehaving.
 */
function nodeOnly(name: string): never {
  throw new Error(`${name} is Node-only and not available in the browser app`);
}

const handler: ProxyHandler<object> = {
  get: (_t, key) => (key === 'then' ? undefined : () => nodeOnly(String(key))),
};
const stub: Record<string, unknown> = new Proxy({}, handler) as Record<string, unknown>;

/** A required Node-only module: calling it or any of its members throws, naming it. */
function nodeOnlyModule(name: string): unknown {
  return new Proxy(() => undefined, {
    get: (_t, key) => (key === 'then' ? undefined : () => nodeOnly(`${name}.${String(key)}`)),
    apply: () => nodeOnly(name),
    construct: () => nodeOnly(name),
  });
}

export default stub;
export const promises = stub;
export const existsSync = (): never => nodeOnly('fs.existsSync');
export const readFileSync = (): never => nodeOnly('fs.readFileSync');
export const writeFileSync = (): never => nodeOnly('fs.writeFileSync');
export const mkdirSync = (): never => nodeOnly('fs.mkdirSync');
export const statSync = (): never => nodeOnly('fs.statSync');
/**
 * module.createRequire: a require whose every module is a stand-in that throws when called or used,
 * so a shared module that loads a Node-only package at its top (`createRequire(import.meta.url)('sharp')`,
 * src/image/sharp.ts) still loads in the page; require.resolve throws.
 */
export const createRequire = (): unknown =>
  Object.assign((name: string) => nodeOnlyModule(name), { resolve: (name: string): never => nodeOnly(`require.resolve('${name}')`) });
export const register = (): never => nodeOnly('module.register');
export const fileURLToPath = (): never => nodeOnly('url.fileURLToPath');
export const pathToFileURL = (): never => nodeOnly('url.pathToFileURL');
export const availableParallelism = (): number => 1;
export const cpus = (): unknown[] => [];
export const tmpdir = (): never => nodeOnly('os.tmpdir');
export const Worker = stub;
export const parentPort = null;
export const workerData = null;
export const isMainThread = true;
export const randomBytes = (): never => nodeOnly('crypto.randomBytes');
export const createHash = (): never => nodeOnly('crypto.createHash');
export const InferenceSession = stub;
export const Tensor = stub;
export const env = stub;
export const join = (): never => nodeOnly('path.join');
export const resolve = (): never => nodeOnly('path.resolve');
export const basename = (): never => nodeOnly('path.basename');
export const dirname = (): never => nodeOnly('path.dirname');
