// Launches Debian's Chromium through playwright-core, headless, with WebGPU enabled
// (SwiftShader gives it a software adapter on machines without a GPU).
import { chromium } from 'playwright-core';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function chromePath() {
  const found = [process.env.CHROME_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']
    .find((p) => p && existsSync(p));
  if (!found) throw new Error('expected Chromium at $CHROME_PATH or /usr/bin/chromium, got none (scripts/setup.sh --browser installs it)');
  return found;
}

/** A persistent context in a fresh profile directory. */
export async function launch() {
  const userDataDir = mkdtempSync(join(tmpdir(), 'mnist-dae-chromium-'));
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: chromePath(),
    headless: true,
    args: [
      '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
    ],
  });
}

/** Opens `url`, collecting console errors and page errors into the returned array;
 *  `prepare(page)` runs before the page loads. */
export async function open(context, url, prepare) {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await prepare?.(page);
  await page.goto(url);
  return { page, errors };
}

/** In a page or worker: keeps every WebGPU device requested there in `self.gpuDevices`, so that
 *  a test can lose the one in use (`GPUDevice.destroy()`). */
export function keepDevices() {
  if (!self.GPUAdapter) return;
  const request = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function requestDevice(...args) {
    const device = await request.apply(this, args);
    (self.gpuDevices ??= []).push(device);
    return device;
  };
}

/** `keepDevices` in each of `page`'s workers as they start (pushed to `workers`). Call as
 *  `open`'s `prepare`. */
export function keepWorkerDevices(workers) {
  return (page) => page.on('worker', (worker) => {
    workers.push(worker);
    worker.evaluate(keepDevices).catch(() => {});
  });
}
