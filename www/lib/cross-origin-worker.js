// A module worker for a script on another origin than the page (the package served from a CDN).
// A page may not start a worker from another origin; a same-origin Blob module that imports the
// script by its absolute address may, wherever the package is served with CORS (as its module
// scripts need anyway). Inside, `import.meta.url` is still the script's, so it finds its modules
// and the wasm beside it. Callers keep their literal `new Worker(new URL('…', import.meta.url))`
// for the same origin: bundlers see that and ship the worker.

/** `{worker, blob}`: the worker importing `url`, and the Blob URL to revoke when it ends. */
export function crossOriginWorker(url, options) {
  const blob = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};\n`], { type: 'text/javascript' }));
  try {
    return { worker: new Worker(blob, options), blob };
  } catch (e) {
    URL.revokeObjectURL(blob);
    throw e;
  }
}
