// The console's only way to the server: the public JSON API under /api/v1, with the session's
// cookies, the CSRF header on every unsafe request, and one refresh on a 401.

const BASE = '/api/v1';
const SAFE = new Set(['GET', 'HEAD']);

export class ApiError extends Error {
  constructor(status, body) {
    const envelope = body && typeof body === 'object' ? body : {};
    super(envelope.error || (status ? `The server answered ${status}.` : 'The server could not be reached.'));
    this.status = status;
    this.code = envelope.code || 'network_error';
    this.details = envelope.details ?? null;
  }
}

function csrfToken() {
  const cookie = document.cookie.split('; ').find((c) => c.startsWith('csrf_token='));
  return cookie ? decodeURIComponent(cookie.slice('csrf_token='.length)) : '';
}

/** Whether a session may exist (its readable CSRF cookie is there): no probe otherwise. */
export const hasSession = () => csrfToken() !== '';

let signedOut = () => {};
export function onSignedOut(handler) {
  signedOut = handler;
}

function send(method, path, body, accept) {
  const headers = { Accept: accept };
  if (!SAFE.has(method)) headers['X-CSRF-Token'] = csrfToken();
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetch(BASE + path, init);
}

let refreshing = null;
/** One refresh at a time, however many requests met a 401 together. */
export function refreshSession() {
  refreshing ||= send('POST', '/auth/refresh', undefined, 'application/json')
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: the status says enough
  }
  return new ApiError(response.status, body);
}

const AUTH_ROUTES = /^\/auth\/(login|register|refresh|logout)$/;

/** The answer to one request: parsed JSON, or the Response itself with `raw`. */
export async function request(method, path, body, { raw = false, accept = 'application/json' } = {}) {
  let response;
  try {
    response = await send(method, path, body, accept);
    if (response.status === 401 && !AUTH_ROUTES.test(path)) {
      if (await refreshSession()) {
        response = await send(method, path, body, accept);
      }
      if (response.status === 401) signedOut();
    }
  } catch (err) {
    throw new ApiError(0, null);
  }
  if (!response.ok) throw await errorOf(response);
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body);
export const put = (path, body) => request('PUT', path, body);
export const patch = (path, body) => request('PATCH', path, body);
export const del = (path) => request('DELETE', path);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

/** Sends `file` as a multipart upload (POST /images, or PUT /images/{id} to replace), reporting
 * bytes sent through `onProgress(sent, total)`: XMLHttpRequest, since fetch has no upload
 * progress. */
export function uploadFile(file, { method = 'POST', path = '/images', onProgress } = {}) {
  const attempt = () => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, BASE + path);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-CSRF-Token', csrfToken());
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size));
    xhr.addEventListener('load', () => resolve(xhr));
    xhr.addEventListener('error', () => reject(new ApiError(0, null)));
    const form = new FormData();
    form.append('image', file, file.name || 'pasted-image');
    xhr.send(form);
  });
  return (async () => {
    let xhr = await attempt();
    if (xhr.status === 401 && (await refreshSession())) xhr = await attempt();
    if (xhr.status === 401) signedOut();
    if (xhr.status >= 200 && xhr.status < 300) return xhr.response;
    throw new ApiError(xhr.status, xhr.response);
  })();
}

/** Follows the Server-Sent Events of `path` (EventSource: the session cookie goes along),
 * calling `onEvent(type, data)` for each, until `isLast(type, data)`; resolves with that data.
 * The stream is closed only once the server has ended it: closing earlier would abort it. */
export function follow(path, { onEvent, isLast }) {
  return new Promise((resolve, reject) => {
    let last = null;
    let refreshed = false;
    const open = () => {
      const source = new EventSource(BASE + path);
      source.addEventListener('status', (e) => {
        const data = JSON.parse(e.data);
        onEvent?.(e.type, data);
        if (isLast(e.type, data)) last = data;
      });
      source.addEventListener('error', async () => {
        if (last) {
          source.close();
          resolve(last);
        } else if (source.readyState === EventSource.CLOSED) {
          // refused outright (an ended session, say): once more after a refresh
          if (!refreshed && (await refreshSession())) {
            refreshed = true;
            open();
          } else {
            reject(new ApiError(0, { error: 'Live updates could not be followed.' }));
          }
        } // else the browser reconnects by itself, and the server starts with the state now
      });
    };
    open();
  });
}
