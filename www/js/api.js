// The JSON API under /api/v1 with the signed-in token, and the session that holds it.
//
// The token lives in sessionStorage: it survives a reload but not the tab, and never reaches
// disk through a cookie. A 401 on any call means the token was revoked or the daemon's state
// replaced: the app goes back to sign-in.

const KEY = 'tars.token';
const ROLES = ['viewer', 'operator', 'admin'];

export class ApiError extends Error {
  constructor(status, code, message, details = [], retryAfter = 0) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

export const session = {
  who: null, // {id, name, role} from /whoami once signed in
  get token() {
    return sessionStorage.getItem(KEY);
  },
  save(token, who) {
    sessionStorage.setItem(KEY, token);
    this.who = who;
  },
  clear() {
    sessionStorage.removeItem(KEY);
    this.who = null;
  },
  // Whether the signed-in role includes `role` (viewer < operator < admin).
  can(role) {
    return !!this.who && ROLES.indexOf(this.who.role) >= ROLES.indexOf(role);
  },
};

let unauthorized = () => {};

// fn(error) runs when a call with the session's token gets a 401.
export function onUnauthorized(fn) {
  unauthorized = fn;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// api(path, {method, body, token, signal}): the parsed JSON reply, or throws ApiError (code
// 'aborted' when the signal cancelled the request). GETs that meet
// the rate limit wait for Retry-After (up to 10 s, twice) and try again: a page that loads a
// few resources at once should not fail for it. Mutations never retry by themselves.
export async function api(path, { method = 'GET', body, token, signal } = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await once(path, method, body, token, signal);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 429 || method !== 'GET' || attempt >= 2 ||
          e.retryAfter > 10) {
        throw e;
      }
      await sleep(Math.max(1, e.retryAfter) * 1000);
    }
  }
}

async function once(path, method, body, token, signal) {
  const headers = { Authorization: `Bearer ${token ?? session.token}` };
  const init = { method, headers, cache: 'no-store', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`/api/v1${path}`, init);
  } catch (e) {
    if (e.name === 'AbortError') throw new ApiError(0, 'aborted', 'cancelled');
    throw new ApiError(0, 'unreachable', `tarsd cannot be reached (${e.message})`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page, say: the status line says enough.
  }
  if (res.ok) return data;
  const err = (data && data.error) || {};
  const retry = Number(res.headers.get('Retry-After')) || 0;
  let message = err.message || `${res.status} ${res.statusText}`;
  if (res.status === 429) message = `Too many requests: try again in ${retry || 1} s.`;
  const e = new ApiError(res.status, err.code || `http_${res.status}`, message, err.details || [],
    retry);
  if (res.status === 401 && token === undefined) unauthorized(e);
  throw e;
}
