// The REST client: bearer tokens (refreshed once on a 401), If-Match and Idempotency-Key headers,
// a bounded retry of idempotent requests after a network failure or timeout, and API error bodies
// turned into plain words.

const STORE = 'agent-kanban.session';
const TIMEOUT_MS = 10000;
const RANK = { viewer: 1, agent: 2, pm: 3, admin: 4 };

/** Who is using the board: tokens and user (signed in) or the anonymous role. */
export const session = { access: null, refresh: null, user: null, anonymous: null };

export function loadSession() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE) || 'null');
    if (saved) Object.assign(session, saved);
  } catch { /* a corrupt entry is the same as none */ }
}

function saveSession() {
  localStorage.setItem(STORE, JSON.stringify(session));
}

export function signOut() {
  Object.assign(session, { access: null, refresh: null, user: null, anonymous: null });
  localStorage.removeItem(STORE);
}

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

let refreshing = null;
async function refreshTokens() {
  if (!session.refresh) return false;
  refreshing ??= (async () => {
    try {
      const resp = await fetch('/api/auth/refresh', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: session.refresh }),
      });
      if (!resp.ok) return false;
      const tok = await resp.json();
      session.access = tok.access_token;
      session.refresh = tok.refresh_token;
      saveSession();
      return true;
    } catch {
      return false;
    } finally {
      setTimeout(() => { refreshing = null; }, 0);
    }
  })();
  return refreshing;
}

/**
 * Call the API and return the parsed JSON (and `etag`), or throw ApiError / a network Error.
 * Options: body, ifMatch (a version), idempotent (send an Idempotency-Key and retry the same
 * request after a network failure: the server replays instead of writing twice).
 */
export async function api(method, path, opts = {}) {
  const key = opts.idempotent ? newKey() : null;
  const attempts = key || method === 'GET' ? 3 : 1;
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
  if (resp.status === 401 && session.access && !path.startsWith('/api/auth/')) {
    if (await refreshTokens()) return api(method, path, opts);
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
  session.access = tok.access_token;
  session.refresh = tok.refresh_token;
  session.anonymous = null;
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

/**
 * The role anonymous callers get on this server (or null): read from the OpenAPI document, which
 * marks an operation callable without credentials when the anonymous role suffices.
 */
export async function anonymousRole() {
  try {
    const doc = await (await fetch('/openapi.json')).json();
    const open = (path, method) => {
      const op = doc.paths?.[path]?.[method] ?? doc.paths?.[`${path}/`]?.[method];
      return (op?.security ?? []).some((req) => Object.keys(req).length === 0);
    };
    if (open('/api/boards', 'post')) return 'pm';
    if (open('/api/tickets', 'post')) return 'agent';
    if (open('/api/boards', 'get')) return 'viewer';
  } catch { /* no anonymous mode offered */ }
  return null;
}

export function useAnonymous(r) {
  Object.assign(session, { access: null, refresh: null, user: null, anonymous: r });
  saveSession();
}
