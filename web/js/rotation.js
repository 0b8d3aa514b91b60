// The record of the last refresh-token rotation, shared by the tabs of this browser in IndexedDB.
//
// Why not localStorage alone: each tab process reads its own copy of localStorage, updated
// asynchronously, so a tab that takes the refresh lock right after another tab released it can
// still read the refresh token that tab has just used, and presenting it again makes the server
// revoke the whole family. IndexedDB reads go to the one store the browser keeps: a record whose
// write transaction completed before the lock was released is seen by the next holder.
// Every function here degrades to "no record" where IndexedDB is unavailable.

const DB = 'agent-kanban';
const STORE = 'rotation';
const KEY = 'last';

function open() {
  return new Promise((resolve) => {
    if (!globalThis.indexedDB) { resolve(null); return; }
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => resolve(null);
    req.onblocked = () => resolve(null);
  });
}

/** Run one request in a transaction and resolve with its result once the transaction completed. */
async function inStore(mode, work) {
  const db = await open();
  if (!db) return null;
  return new Promise((resolve) => {
    const tx = db.transaction(STORE, mode);
    const req = work(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(req.result ?? null); };
    tx.onerror = () => { db.close(); resolve(null); };
    tx.onabort = () => { db.close(); resolve(null); };
  });
}

/** The last rotation: `{ from, access, refresh, expires_at }` (`from` is the refresh token used), or null. */
export function lastRotation() {
  return inStore('readonly', (s) => s.get(KEY));
}

/** Record that `from` was exchanged for these tokens; resolves once the write is durable for other tabs. */
export function recordRotation(from, tokens) {
  const { access, refresh, expires_at: expiresAt } = tokens;
  return inStore('readwrite', (s) => s.put({ from, access, refresh, expires_at: expiresAt }, KEY));
}

/** Forget the record (on sign-out: its tokens belong to a family the server has just revoked). */
export function forgetRotation() {
  return inStore('readwrite', (s) => s.delete(KEY));
}
