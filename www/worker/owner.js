// Which tab owns which saved run: a Web Lock named after the run's key, held by the worker of
// the tab that trains it (released when it moves on, or when the tab goes), so that another tab
// never overwrites or deletes it. Without Web Locks (an insecure origin) every tab may write.
const held = new Map(); // key → release()
const lockName = (key) => `mnist-dae:${key}`;

/** Takes `key` for this tab, unless another tab holds it; with `only`, gives up every other
 *  key this tab holds (the tab trains one run at a time). */
export async function own(key, { only = false } = {}) {
  if (only) for (const other of [...held.keys()]) if (other !== key) release(other);
  if (held.has(key) || !navigator.locks) return true;
  return new Promise((resolve, reject) => {
    navigator.locks.request(lockName(key), { ifAvailable: true }, (lock) => {
      if (!lock) { resolve(false); return undefined; }
      return new Promise((done) => { held.set(key, done); resolve(true); });
    }).catch(reject);
  });
}

export function release(key) {
  held.get(key)?.();
  held.delete(key);
}

/** Keys that a tab other than this one holds. */
export async function heldElsewhere() {
  const state = await navigator.locks?.query();
  return new Set((state?.held ?? []).map((l) => l.name).filter((n) => n.startsWith('mnist-dae:'))
    .map((n) => n.slice('mnist-dae:'.length)).filter((k) => !held.has(k)));
}
