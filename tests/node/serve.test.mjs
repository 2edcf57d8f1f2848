// `npm start`'s server (scripts/serve.mjs): serves www/ on 127.0.0.1, prints its address, sends
// .wasm as application/wasm, and nothing outside www/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

test('scripts/serve.mjs serves www/ with the right types and nothing above it', async () => {
  const script = fileURLToPath(new URL('../../scripts/serve.mjs', import.meta.url));
  const child = spawn(process.execPath, [script], { env: { ...process.env, PORT: '0' } });
  try {
    const [line] = await once(child.stdout, 'data');
    const url = String(line).match(/http:\/\/127\.0\.0\.1:\d+/)?.[0];
    assert.ok(url, `an address in "${line}"`);
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    assert.match(await page.text(), /<mnist-dae id="demo" mode="train"[^>]*>/);
    const wasm = await fetch(`${url}/pkg/mnist_dae_bg.wasm`, { method: 'HEAD' });
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    const data = await fetch(`${url}/data/mnist-test.bin.gz`, { method: 'HEAD' });
    assert.equal(data.status, 200);
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/nope.js']) {
      const r = await fetch(`${url}${path}`);
      assert.ok(r.status === 403 || r.status === 404, `${path}: ${r.status}`);
      await r.arrayBuffer();
    }
  } finally {
    child.kill();
  }
});
