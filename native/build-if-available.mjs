// `npm run build:native:auto`: builds the libtorch addon when Debian's libtorch headers are installed,
// and otherwise says why it skipped and exits 0, so an install without libtorch still succeeds
// (training then runs on tfjs-wasm). A failed build is reported but does not fail the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const header = '/usr/include/torch/csrc/api/include/torch/torch.h';
if (!existsSync(header)) {
  console.log(`tesg: libtorch not installed (${header} missing): skipping the native training backend; ` +
    'for it: apt-get install -y libtorch-dev libopenblas0-pthread && npm run build:native');
  process.exit(0);
}
const dir = path.dirname(fileURLToPath(import.meta.url));
const r = spawnSync('node-gyp', ['rebuild', '-j', '2'], { cwd: dir, stdio: 'inherit', shell: true });
if (r.status !== 0) console.log('tesg: building the libtorch addon failed (see above); training will use tfjs-wasm');
