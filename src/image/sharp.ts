import { createRequire } from 'node:module';
import type SharpModule from 'sharp';

/**
 * sharp, loaded with require(): every module takes it from here instead of `import sharp from 'sharp'`.
 * sharp's ESM entry is a dozen .mjs files that import its CommonJS dependencies (detect-libc, semver,
 * @img/colour), each run through Node's CommonJS export lexer first; its CommonJS entry costs about
 * 0.04 s less CPU at start-up (0.04 s against 0.08 s, measured in a fresh process; docs/onnx-export.md,
 * cold start). One sharp instance for the whole process.
 */
export const sharp: typeof SharpModule = createRequire(import.meta.url)('sharp');
