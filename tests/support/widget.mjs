// Helpers for tests that drive <mnist-dae> widgets through playwright locators.

/** Waits until the widget's status says "Ready"; throws its error text if it shows one. */
export async function widgetReady(widget, timeout = 120_000) {
  await widget.evaluate((w, timeout) => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const poll = () => {
      const s = w.shadowRoot?.querySelector('.status');
      if (s?.classList.contains('error')) reject(new Error(s.textContent));
      else if (s?.textContent.startsWith('Ready')) resolve();
      else if (performance.now() - t0 > timeout) reject(new Error(`not ready after ${timeout} ms: "${s?.textContent}"`));
      else setTimeout(poll, 100);
    };
    poll();
  }), timeout);
}

/** The three panel rows [original, noisy, reconstructed] as arrays of grey levels (0–255). */
export function panelPixels(widget) {
  return widget.evaluate((w) => [...w.shadowRoot.querySelectorAll('canvas.strip')].map((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return Array.from({ length: d.length / 4 }, (_, i) => d[4 * i]);
  }));
}

/** Mean squared error between two grey-level arrays, in (grey level / 255)². */
export function mse(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] - b[i]) / 255) ** 2;
  return s / a.length;
}
