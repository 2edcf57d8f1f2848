// axe-core (Deque's accessibility engine, run in the page) for the page tests: the violations
// of impact "moderate" or worse, shadow DOM included.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** `[{id, impact, help, targets}]`: what axe finds on `page` at moderate impact or worse. */
export async function axeViolations(page) {
  // Evaluated through the DevTools protocol, so a page's Content-Security-Policy does not stop it.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(source);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => ['moderate', 'serious', 'critical'].includes(v.impact))
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.flat().join(' ')) }));
  });
}
