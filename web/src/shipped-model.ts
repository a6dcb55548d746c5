/**
 * The exported network the page ships with, relative to the repository root (the CLI's
 * `tesg fuse --method tesg` reads the same file, beside weights/tesg.safetensors): `npm run build:web`
 * copies it into the site as models/tesg.onnx. The one place to change when the shipped model moves.
 * `TESG_WEB_MODEL=path npm run build:web` builds with another export (e.g. a fresh `tesg export`).
 * When the file is absent the page fuses with the classic Laplacian baseline and says so.
 */
export const SHIPPED_ONNX_MODEL = 'weights/tesg.onnx';
