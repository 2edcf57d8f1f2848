// IndexedDB: each widget's latest saved training (weights, session state and the page's plot),
// so that a reload can resume it.
function db() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('mnist-dae', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('snapshots');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

/** Reads (`value` undefined), deletes (`value` null) or writes the entry under `key`. */
export async function store(mode, key, value) {
  const conn = await db();
  try {
    return await new Promise((resolve, reject) => {
      const tx = conn.transaction('snapshots', mode);
      const os = tx.objectStore('snapshots');
      const req = value === undefined ? os.get(key) : value === null ? os.delete(key) : os.put(value, key);
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    conn.close();
  }
}
