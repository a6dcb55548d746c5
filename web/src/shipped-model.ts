/**
 * The exported network the page ships with, relative to the repository root (the CLI's
 * `tesg fuse --method tesg` reads the same file, beside weights/tesg.safetensors): `npm run build:web`
 * copies it into the site as models/tesg.onnx. The one place to change when the shipped model moves.
 * `TESG_WEB_MODEL=path npm run build:web` builds with another export (e.g. a fresh `tesg export`).
 * When the file is absent the page fuses with the classic Laplacian baseline and says so.
 * The page runs the built-in SIG the model was trained with, as `tesg fuse` does: the `tesg_sig`
 * record `tesg export` copies into the ONNX metadata (or, for an older export, the one of the
 * .safetensors beside it); none means tesg-v1's SIG v1 (web/src/engine.worker.ts).
 */
export const SHIPPED_ONNX_MODEL = 'weights/tesg.onnx';
