// The console's shell: routing on the URL hash, sign-in, the banner that
// shows errors (a 403 as what it is), and who is signed in.

import { call, get, token, setToken, ApiError } from './api.js';
import { h } from './util.js';
import { catalogPage, namespacePage } from './catalog.js';
import { tablePage } from './table.js';
import { viewPage } from './view.js';
import { serverPage } from './server.js';
import { signInPage, finishOIDC } from './signin.js';

const app = document.getElementById('app');
const banner = document.getElementById('banner');

// show reports an error, or a success (ok = true), above the page.
export function show(err, ok) {
  banner.hidden = false;
  banner.className = ok ? 'ok' : (err instanceof ApiError && err.status === 403 ? 'forbidden' : '');
  if (ok) {
    banner.textContent = String(err);
  } else if (err instanceof ApiError) {
    const what = err.status === 403 ? 'Forbidden (403)' : err.status === 401 ? 'Not signed in (401)' : `Error ${err.status}`;
    banner.textContent = `${what}: ${err.message}`;
  } else {
    banner.textContent = 'Error: ' + (err && err.message ? err.message : String(err));
  }
  banner.dataset.status = err instanceof ApiError ? String(err.status) : '';
}

export function clearBanner() { banner.hidden = true; banner.textContent = ''; banner.dataset.status = ''; }

// whoami says what the principal may do, so write controls show only where
// the API would allow them. The API still decides every action itself.
export async function whoami(ns) {
  const q = ns ? '?namespace=' + encodeURIComponent(ns.join('\x1f')) : '';
  return get('/management/v1/whoami' + q);
}

export const LEVELS = { none: 0, read: 1, write: 2, admin: 3 };
export function can(level, need) { return (LEVELS[level] || 0) >= LEVELS[need]; }

// action runs fn for a button and reports its outcome; rerender redraws.
export async function action(label, fn, rerender) {
  try {
    await fn();
    show(label + ': done', true);
    if (rerender) await rerender();
  } catch (e) {
    show(e);
  }
}

const routes = [
  [/^#\/signin$/, () => signInPage()],
  [/^#\/server$/, () => serverPage()],
  [/^#\/ns\/(.+)$/, m => namespacePage(m[1])],
  [/^#\/table\/(.+)\/t\/([^/]+)$/, m => tablePage(m[1], decodeURIComponent(m[2]))],
  [/^#\/view\/(.+)\/v\/([^/]+)$/, m => viewPage(m[1], decodeURIComponent(m[2]))],
  [/^(#\/?)?$/, () => catalogPage()],
];

let generation = 0;

async function render() {
  const mine = ++generation;
  const hash = location.hash || '#/';
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.classList.toggle('active', (a.dataset.nav === 'server') === (hash === '#/server'));
  }
  if (hash !== '#/signin' && !(await signedIn())) {
    location.hash = '#/signin';
    return;
  }
  clearBanner();
  for (const [re, page] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    app.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      const node = await page(m);
      if (mine === generation) {
        app.replaceChildren(node);
        app.dataset.page = hash.split('/')[1] || 'catalog';
        app.dataset.ready = String(mine);
      }
    } catch (e) {
      if (mine !== generation) return;
      if (e instanceof ApiError && e.status === 401) { // the token expired or was revoked
        signOut();
        return;
      }
      app.replaceChildren(h('p', { class: 'muted' }, 'This page could not be loaded.'));
      app.dataset.ready = String(mine);
      show(e);
    }
    return;
  }
  app.replaceChildren(h('p', {}, 'No such page. ', h('a', { href: '#/' }, 'Back to the catalog')));
}

let principal = null;

// signedIn checks the token (or anonymous access) against the API once.
async function signedIn() {
  if (principal) return true;
  try {
    const me = await whoami();
    principal = me.principal;
    document.getElementById('who').textContent = `${principal} · ${me.catalog}`;
    document.getElementById('who').dataset.level = me.catalog;
    document.getElementById('signout').hidden = !token();
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return false;
    show(e);
    return false;
  }
}

export function signOut() {
  setToken('');
  principal = null;
  document.getElementById('who').textContent = '';
  location.hash = '#/signin';
}

document.getElementById('signout').addEventListener('click', signOut);
window.addEventListener('hashchange', render);
window.addEventListener('unhandledrejection', ev => { ev.preventDefault(); show(ev.reason); });

(async () => {
  try {
    await finishOIDC();
  } catch (e) {
    show(e);
  }
  await render();
})();

