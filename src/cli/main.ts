#!/usr/bin/env node
/**
 * The `tesg` command's entry. It first starts what `tesg fuse` will need from the raw arguments
 * (./prestart.ts: the network's ONNX session, on a worker thread, while the modules below load on this
 * one), then loads and runs the CLI itself (./run.ts).
 */
import { prestartFromArgv } from './prestart.js';

prestartFromArgv(process.argv);
await import('./run.js');
