// The REST client: bearer tokens (refreshed once on a 401, or ahead of a request once the stored
// expiry has passed), If-Match and Idempotency-Key headers, a bounded retry of idempotent requests
// after a network failure or timeout, and API error bodies turned into plain words.
//
// Tabs of one browser share the session in localStorage. A refresh token is single-use (the server
// treats a second use as theft and revokes the family), so a refresh is serialised across tabs: under
// a Web Lock (or, where Web Locks are missing, a short lease in localStorage) a tab first re-reads
// the stored session and uses the tokens another tab already obtained instead of rotating again.

import { forgetRotation, lastRotation, recordRotation } from './rotation.js';

const STORE = 'agent-kanban.session';
const LEASE = 'agent-kanban.refresh-lease';
const TIMEOUT_MS = 10000;
/** Refresh this long before the stored expiry, so a request does not race the server's clock. */
const EXPIRY_MARGIN_MS = 5000;
/** Routes that issue or end tokens: never refreshed around. */
const AUTH_FLOW = /^\/api\/auth\/(login|refresh|register|logout)\b/;
const RANK = { viewer: 1, agent: 2, pm: 3, admin: 4 };

/** Who is using the board: tokens, their expiry (ms since the epoch) and user, or the anonymous role. */
export const session = { access: null, refresh: null, expires_at: null, user: null, anonymous: null };
const EMPTY = { access: null, refresh: null, expires_at: null, user: null, anonymous: null };

function readStored() {
  try {
    return JSON.parse(localStorage.getItem(STORE) || 'null');
  } catch { return null; /* a corrupt entry is the same as none */ }
}

export function loadSession() {
  Object.assign(session, EMPTY, readStored() ?? {});
}

function saveSession() {
  localStorage.setItem(STORE, JSON.stringify(session));
}

/** Take the tokens of a token answer (login or refresh). */
function takeTokens(tok) {
  session.access = tok.access_token;
  session.refresh = tok.refresh_token;
  session.expires_at = Date.now() + (Number(tok.expires_in) || 0) * 1000;
}

export function signOut() {
  Object.assign(session, EMPTY);
  localStorage.removeItem(STORE);
  forgetRotation();
}

// Another tab refreshed, signed in or signed out: follow it.
window.addEventListener('storage', (ev) => {
  if (ev.key !== STORE && ev.key !== null) return;
  const had = Boolean(session.user || session.anonymous);
  loadSession();
  if (had && readStored() === null) window.dispatchEvent(new Event('kanban:signed-out'));
});

/** The role in force: the signed-in user's, else the anonymous role, else none. */
export function role() {
  return session.user?.role ?? session.anonymous ?? null;
}

/** Whether the current role is at least `min` (viewer < agent < pm < admin). */
export function can(min) {
  return (RANK[role()] ?? 0) >= RANK[min];
}

/** The actor name the server will record for us. */
export function actorName() {
  return session.user?.username ?? 'anonymous';
}

/** An error answered by the API, with a message fit to show to a person. */
export class ApiError extends Error {
  constructor(status, body, headers) {
    super(plainWords(status, body, headers));
    this.status = status;
    this.code = body?.error?.code ?? null;
    this.body = body;
  }
}

const PLAIN = {
  UNAUTHORIZED: 'Please sign in again.',
  INVALID_CREDENTIALS: 'That username and password do not match.',
  ACCOUNT_INACTIVE: 'This account has been deactivated.',
  REGISTRATION_DISABLED: 'Registration is turned off on this server.',
  PRECONDITION_FAILED: 'Someone else changed this in the meantime.',
  USERNAME_TAKEN: 'That username is already taken.',
  EMAIL_TAKEN: 'That email address is already in use.',
  LAST_ADMIN: 'This would leave the board without an active admin.',
  SERVICE_UNAVAILABLE: 'The server is busy or restarting; try again in a moment.',
  STORAGE_FULL: 'The server ran out of disk space; nothing was saved.',
};

function plainWords(status, body, headers) {
  const e = body?.error;
  if (!e) return `The server answered ${status}.`;
  if (e.code === 'VALIDATION_ERROR' && e.validation_errors?.length) {
    return e.validation_errors
      .map((v) => `${v.field.replace(/^(body|query|path|header)\.?/, '') || 'input'}: ${v.message}`)
      .join('; ');
  }
  if (e.code === 'RATE_LIMITED') {
    const wait = headers?.get('retry-after');
    return `Too many requests${wait ? `; try again in ${wait} s` : ''}.`;
  }
  if (e.code === 'FORBIDDEN') return `Not allowed: ${e.message}`;
  return PLAIN[e.code] ?? e.message ?? `The server answered ${status}.`;
}

/** A fresh Idempotency-Key. */
export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

async function once(method, path, { body, ifMatch, key }) {
  const headers = { Accept: 'application/json' };
  if (session.access) headers.Authorization = `Bearer ${session.access}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ifMatch !== undefined && ifMatch !== null) headers['If-Match'] = `"${ifMatch}"`;
  if (key) headers['Idempotency-Key'] = key;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  try {
    return await fetch(path, {
      method, headers, signal: ctrl.signal, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Run `fn` while holding the cross-tab refresh lock. */
async function withRefreshLock(fn) {
  if (navigator.locks?.request) return navigator.locks.request('agent-kanban.refresh', fn);
  // No Web Locks (an insecure origin): take a lease in localStorage, check it held, then go on.
  const me = newKey();
  for (let i = 0; i < 50; i++) {
    const lease = JSON.parse(localStorage.getItem(LEASE) || 'null');
    if (!lease || lease.until < Date.now()) {
      localStorage.setItem(LEASE, JSON.stringify({ owner: me, until: Date.now() + TIMEOUT_MS }));
      await new Promise((r) => setTimeout(r, 30));
      if (JSON.parse(localStorage.getItem(LEASE) || 'null')?.owner === me) break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try { return await fn(); } finally {
    if (JSON.parse(localStorage.getItem(LEASE) || 'null')?.owner === me) localStorage.removeItem(LEASE);
  }
}

/**
 * One refresh under the lock. Another tab may already have replaced `stale`: then its tokens are
 * taken (from the stored session, or from the rotation record when this tab's copy of localStorage
 * still shows the used refresh token) instead of presenting a used refresh token.
 */
async function refreshUnderLock(stale) {
  const stored = readStored();
  if (!stored?.refresh) return false;
  const rotated = await lastRotation();
  if (rotated?.from === stored.refresh) {
    return adopt({ ...stored, access: rotated.access, refresh: rotated.refresh, expires_at: rotated.expires_at });
  }
  if (stored.access && stored.access !== stale) return adopt(stored);
  try {
    const resp = await fetch('/api/auth/refresh', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: stored.refresh }),
    });
    if (!resp.ok) return false;
    Object.assign(session, stored);
    takeTokens(await resp.json());
    await recordRotation(stored.refresh, session);
    saveSession();
    return true;
  } catch {
    return false;
  }
}

function adopt(tokens) {
  Object.assign(session, tokens);
  saveSession();
  return true;
}

let refreshing = null;
/** Replace the access token `stale` (once per tab at a time, once across tabs). */
async function refreshTokens(stale = session.access) {
  if (!session.refresh) return false;
  refreshing ??= withRefreshLock(() => refreshUnderLock(stale))
    .finally(() => { setTimeout(() => { refreshing = null; }, 0); });
  return refreshing;
}

/** Before a request: follow the stored session (another tab may have refreshed), and refresh once its expiry passed. */
async function freshTokens() {
  const stored = readStored();
  if (stored) Object.assign(session, stored);
  if (session.access && session.expires_at && Date.now() > session.expires_at - EXPIRY_MARGIN_MS) {
    await refreshTokens(session.access);
  }
}

/**
 * Call the API and return the parsed JSON (and `etag`), or throw ApiError / a network Error.
 * Options: body, ifMatch (a version), idempotent (send an Idempotency-Key and retry the same
 * request after a network failure: the server replays instead of writing twice).
 */
export async function api(method, path, opts = {}) {
  const key = opts.idempotent ? newKey() : null;
  if (!AUTH_FLOW.test(path)) await freshTokens();
  const attempts = key || method === 'GET' ? 3 : 1;
  const sentWith = session.access;
  let resp;
  for (let i = 0; ; i++) {
    try {
      resp = await once(method, path, { ...opts, key });
      break;
    } catch (err) {
      if (i + 1 >= attempts) throw new Error('Cannot reach the server. Check the connection and try again.');
      await new Promise((r) => setTimeout(r, 300 * (i + 1)));
    }
  }
  if (resp.status === 401 && sentWith && !AUTH_FLOW.test(path)) {
    if (await refreshTokens(sentWith)) return api(method, path, opts);
    signOut();
    window.dispatchEvent(new Event('kanban:signed-out'));
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) throw new ApiError(resp.status, data, resp.headers);
  return data;
}

/** Sign in and load the user; throws ApiError on failure. */
export async function signIn(username, password) {
  const tok = await api('POST', '/api/auth/login', { body: { username, password } });
  takeTokens(tok);
  session.anonymous = null;
  session.user = null;
  saveSession(); // before the next call, which follows the stored session
  session.user = await api('GET', '/api/auth/me');
  saveSession();
  return session.user;
}

export async function register(username, email, password) {
  await api('POST', '/api/auth/register', { body: { username, email, password } });
  return signIn(username, password);
}

/** Refresh the stored user (its role may have changed). */
export async function reloadUser() {
  if (!session.access) return null;
  session.user = await api('GET', '/api/auth/me');
  saveSession();
  return session.user;
}

export async function signOutEverywhere() {
  try { if (session.access) await api('POST', '/api/auth/logout'); } catch { /* signed out locally anyway */ }
  signOut();
}

/** The role anonymous callers get on this server (or null), as `/api/status` reports it. */
export async function anonymousRole() {
  try {
    const status = await (await fetch('/api/status', { headers: { Accept: 'application/json' } })).json();
    return RANK[status?.anonymous_role] ? status.anonymous_role : null;
  } catch { return null; /* no anonymous mode offered */ }
}

export function useAnonymous(r) {
  Object.assign(session, EMPTY, { anonymous: r });
  saveSession();
}
