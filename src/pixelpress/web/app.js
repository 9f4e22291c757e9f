// The console's shell: the session, the hash router, and the screens it loads on demand.

import { ApiError, get, hasSession, onSignedOut, post } from './api.js';
import { announce, h } from './dom.js';

const ROUTES = [
  [/^\/signin$/, 'auth', 'Sign in', false],
  [/^\/signup$/, 'auth', 'Sign up', false],
  [/^\/library$/, 'library', 'Library', true],
  [/^\/upload$/, 'upload', 'Upload', true],
  [/^\/images\/([\w-]+)$/, 'image', 'Image', true],
  [/^\/images\/([\w-]+)\/edit$/, 'editor', 'Editor', true],
  [/^\/notifications$/, 'notifications', 'Notifications', true],
  [/^\/logs$/, 'logs', 'Logs', true],
  [/^\/admin$/, 'admin', 'Admin', true],
];

const session = { user: null };
let cleanup = null;
let rendering = 0;

export function navigate(path) {
  if (location.hash === `#${path}`) route();
  else location.hash = `#${path}`;
}

function showNav() {
  const signedIn = session.user !== null;
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('admin-link').hidden = !(signedIn && session.user.role === 'admin');
  for (const link of document.querySelectorAll('#nav a')) {
    const current = location.hash.startsWith(link.getAttribute('href'));
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

export function signedIn(user) {
  session.user = user;
  showNav();
}

function signedOutNow() {
  if (session.user === null) return;
  session.user = null;
  announce('Your session has ended. Please sign in again.');
  navigate('/signin');
}

async function route() {
  const hash = location.hash;
  if (hash && !hash.startsWith('#/')) return; // an in-page anchor such as the skip link
  const path = hash.slice(1) || (session.user ? '/library' : '/signin');
  let found = ROUTES.find(([pattern]) => pattern.test(path));
  if (!found) found = ROUTES[2];
  const [pattern, module, title, needsUser] = found;
  if (needsUser && !session.user) return navigate('/signin');
  if (!needsUser && session.user) return navigate('/library');
  if (module === 'admin' && session.user.role !== 'admin') return navigate('/library');
  const ticket = ++rendering;
  cleanup?.();
  cleanup = null;
  const main = document.getElementById('main');
  document.title = `${title} · Pixelpress`;
  showNav();
  try {
    const screen = await import(`./screens/${module}.js`);
    if (ticket !== rendering) return;
    main.replaceChildren();
    main.dataset.screen = module;
    main.removeAttribute('data-ready');
    const params = path.match(pattern).slice(1);
    cleanup = (await screen.render(main, { user: session.user, params, path, navigate, signedIn })) || null;
    if (ticket !== rendering) return;
    main.dataset.ready = 'true';
    const heading = main.querySelector('h1');
    if (heading) {
      // Screen readers hear where they are; the next Tab goes on from the heading.
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  } catch (err) {
    if (ticket !== rendering) return;
    const message = err instanceof ApiError ? err.message : 'This screen could not be shown.';
    main.replaceChildren(h('h1', {}, title), h('p', { class: 'form-error', role: 'alert' }, message));
    main.dataset.ready = 'true';
  }
}

async function signOut() {
  try {
    await post('/auth/logout');
  } catch (err) {
    // the session may have ended already; the cookies are gone either way
  }
  session.user = null;
  announce('Signed out.');
  navigate('/signin');
}

async function start() {
  onSignedOut(signedOutNow);
  document.getElementById('signout').addEventListener('click', signOut);
  if (hasSession()) {
    try {
      session.user = await get('/auth/me');
    } catch {
      session.user = null;
    }
  }
  window.addEventListener('hashchange', route);
  await route();
}

start();
