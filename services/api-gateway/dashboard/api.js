// The API client of the dashboard: the session (token in sessionStorage, so it ends with the tab),
// JSON requests with the bearer token, and errors as ApiError carrying the API's own message.
// A 401 ends the session and sends the user back to the login form; no response text other than
// the API's error.message is ever shown (a proxy's HTML page or a stack would be noise).

const STORAGE_KEY = 'fleetward.session';
const ROLE_RANK = {viewer: 0, operator: 1, admin: 2};

export class ApiError extends Error {
  constructor(status, code, message, field, retryAfter) {
    super(message);
    this.name = 'ApiError';
    this.status = status;  // 0 = the server could not be reached
    this.code = code;
    this.field = field || null;
    this.retryAfter = retryAfter || null;
  }

  // True when the route does not exist on this gateway (an older server than this dashboard).
  get missingRoute() {
    return this.status === 404 && /^no such endpoint/.test(this.message);
  }
}

const listeners = {unauthorized: []};

export const session = {
  load() {
    try {
      const s = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
      return s && typeof s.token === 'string' && s.user ? s : null;
    } catch {
      return null;
    }
  },
  save(s) {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
  },
  clear() {
    sessionStorage.removeItem(STORAGE_KEY);
  },
  get token() {
    return this.load()?.token ?? null;
  },
  get user() {
    return this.load()?.user ?? null;
  },
  get role() {
    return this.load()?.user?.role ?? 'viewer';
  },
  // Whether the logged-in user holds at least `role`.
  can(role) {
    return (ROLE_RANK[this.role] ?? -1) >= (ROLE_RANK[role] ?? 99);
  },
};

export function onUnauthorized(fn) {
  listeners.unauthorized.push(fn);
}

function fallbackMessage(status) {
  if (status === 401) return 'Your session has ended; please log in again.';
  if (status === 403) return 'Your role does not allow this.';
  if (status === 404) return 'Not found.';
  if (status === 413) return 'The request is too large.';
  if (status === 429) return 'Too many requests; wait a moment and retry.';
  if (status >= 500) return `The server could not complete the request (HTTP ${status}).`;
  return `The request failed (HTTP ${status}).`;
}

export async function request(method, path, body, options = {}) {
  const headers = {Accept: 'application/json', ...(options.headers || {})};
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      signal: options.signal,
    });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Cannot reach the fleetward server. Check the connection; retrying.');
  }
  let data = null;
  if (res.status !== 204) {
    const text = await res.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
  }
  if (!res.ok) {
    const err = data && typeof data.error === 'object' ? data.error : null;
    const message = err && typeof err.message === 'string' && err.message ? err.message : fallbackMessage(res.status);
    const e = new ApiError(res.status, err?.code ?? `http_${res.status}`, message, err?.field,
                           res.headers.get('Retry-After'));
    if (res.status === 401 && !options.isLogin) {
      for (const fn of listeners.unauthorized) fn(e);
    }
    throw e;
  }
  return data;
}

export const api = {
  get: (path, options) => request('GET', path, undefined, options),
  post: (path, body, options) => request('POST', path, body ?? {}, options),
  patch: (path, body, options) => request('PATCH', path, body, options),
  put: (path, body, options) => request('PUT', path, body, options),
  del: (path, options) => request('DELETE', path, undefined, options),
};

export async function login(username, password) {
  const r = await request('POST', '/api/auth/login', {username, password}, {isLogin: true});
  const s = {token: r.token, expires_at: r.expires_at, user: r.user};
  session.save(s);
  return s;
}

export async function logout() {
  try {
    if (session.token) await request('POST', '/api/auth/logout', undefined, {isLogin: true});
  } catch {
    // The session ends locally whatever the server says.
  }
  session.clear();
}

// A random key per user intent, so a double click or a retried request queues one command.
export function idempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
