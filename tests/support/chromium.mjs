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

/** Opens `url`, collecting console errors and page errors into the returned array. */
export async function open(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}
