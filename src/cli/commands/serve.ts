import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';

/**
 * `tesg serve [--port N]`: the browser app (web/, built by `npm run build:web`) on localhost. A tiny
 * static file server: GET/HEAD only, no directory listings, nothing outside the site folder. It sends
 * COOP/COEP so the page is cross-origin isolated, which lets onnxruntime-web and tfjs use wasm threads.
 * The page computes everything itself; the server only hands out files.
 */

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

/** web/dist of this package (src/cli/commands or dist/cli/commands are three levels below the root). */
export function defaultSiteDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'web', 'dist');
}

export interface ServeOptions {
  /** Folder of the built site (default web/dist). */
  dir?: string;
  /** 0 = any free port. */
  port?: number;
  host?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The file under `root` that a URL path names, or null when it would leave `root`. */
export function resolveSitePath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0].split('#')[0]);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const rel = decoded.endsWith('/') ? `${decoded}index.html` : decoded;
  const file = path.resolve(root, `.${path.posix.normalize(`/${rel}`)}`);
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

export async function startServer(opts: ServeOptions = {}): Promise<RunningServer> {
  const root = path.resolve(opts.dir ?? defaultSiteDir());
  if (!existsSync(path.join(root, 'index.html'))) {
    throw new UsageError(`no built site in ${root} (index.html missing); build it first with: npm run build:web`);
  }
  const server = http.createServer((req, res) => {
    void handle(root, req, res);
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new UsageError(`port ${opts.port} is in use; choose another with --port`) : err);
    });
    server.listen(opts.port ?? 8080, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(root: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const headers: Record<string, string> = {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
    return;
  }
  const file = resolveSitePath(root, req.url ?? '/');
  const stat = file ? await fs.stat(file).catch(() => null) : null;
  if (!file || !stat || !stat.isFile()) {
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  res.writeHead(200, {
    ...headers,
    'Content-Type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': String(stat.size),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.end(await fs.readFile(file));
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be an integer 0..65535, got '${v}'`);
  return n;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the browser app on localhost: fuse images in the browser, nothing is uploaded (build it first: npm run build:web)')
    .option('-p, --port <n>', 'port (0 = any free port)', '8080')
    .option('--host <addr>', 'address to listen on (default 127.0.0.1: this machine only)', '127.0.0.1')
    .option('--dir <folder>', 'the built site to serve (default: web/dist of this package)')
    .action(async (o: { port: string; host: string; dir?: string }) => {
      const s = await startServer({ port: parsePort(o.port), host: o.host, dir: o.dir });
      process.stdout.write(`tesg app at ${s.url} (Ctrl+C to stop)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void s.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
