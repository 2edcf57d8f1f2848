#!/usr/bin/env node
// Serves www/ as static files on 127.0.0.1 (port: $PORT, else 8080, else any free one) and prints
// the address. `.wasm` goes out as application/wasm (streaming compilation), `.gz` data files as
// they are (the page decompresses them). Nothing else: no bundler, no proxy.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.safetensors': 'application/octet-stream', '.gz': 'application/gzip',
  '.ts': 'text/plain; charset=utf-8', '.csv': 'text/csv; charset=utf-8', '.ico': 'image/x-icon',
};

/** Serves `root`; resolves to `{ url, close }`. `headers` go out with every file (the tests
 *  play a CDN with `access-control-allow-origin: *`). */
export function serve(root, port = 0, { headers = {} } = {}) {
  root = resolve(root);
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    let file = join(root, path);
    if (file !== root && !file.startsWith(root + sep)) { res.writeHead(403).end(); return; }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const size = statSync(file).size;
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': size,
        'cache-control': 'no-cache',
        ...headers,
      });
      if (req.method === 'HEAD') res.end(); else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${path}`);
    }
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolvePromise({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => {
        server.close(r);
        // A browser keeps its connections open after the page has gone: without this, close
        // waits for them to time out.
        server.closeAllConnections();
      }) });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../www/', import.meta.url));
  const wanted = Number(process.env.PORT ?? 8080);
  let server;
  try {
    server = await serve(root, wanted);
  } catch (e) {
    if (e.code !== 'EADDRINUSE' || process.env.PORT) throw e;
    server = await serve(root, 0);
  }
  console.log(`mnist-dae demo: ${server.url}/  (tutorial: ${server.url}/tutorial.html) — Ctrl+C to stop`);
}
