// IndexedDB: the saved training runs, one entry each (weights, the session's state, the page's
// plot, when), keyed `${base}/${run id}`, where `base` names the widget (its page and id). Every
// failure rejects with an Error that names the operation and the browser's reason (a full quota
// is QuotaExceededError), so that the page can say so.
const DB = 'mnist-dae';
const STORE = 'snapshots';

function db() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
    open.onblocked = () => reject(new Error('another tab holds an older version of the database open'));
  });
}

/** Runs `work(objectStore)` in one transaction; resolves to its request's result once committed. */
async function transaction(what, mode, work) {
  try {
    const conn = await db();
    try {
      return await new Promise((resolve, reject) => {
        const tx = conn.transaction(STORE, mode);
        const req = work(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(req.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error ?? new Error('the transaction was aborted'));
      });
    } finally {
      conn.close();
    }
  } catch (e) {
    throw new Error(`${what} in this browser (IndexedDB) failed: ${e?.name ?? 'Error'}: ${e?.message ?? e}`, { cause: e });
  }
}

export const read = (key) => transaction('reading saved training', 'readonly', (os) => os.get(key));
export const write = (key, value) => transaction('saving the training', 'readwrite', (os) => os.put(value, key));
export const remove = (key) => transaction('deleting saved training', 'readwrite', (os) => os.delete(key));

/** `[key, entry]` of every run saved under `base` (an entry from before runs had ids, keyed
 *  `base` itself, included), in key order. */
export async function list(base) {
  const range = IDBKeyRange.bound(base, `${base}/\uffff`);
  const [keys, values] = await Promise.all([
    transaction('listing saved training', 'readonly', (os) => os.getAllKeys(range)),
    transaction('listing saved training', 'readonly', (os) => os.getAll(range)),
  ]);
  return keys.map((k, i) => [k, values[i]]).filter(([k]) => k === base || k.startsWith(`${base}/`));
}
