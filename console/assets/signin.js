// Sign-in: a pasted bearer token, OAuth2 client credentials at the
// catalog's /v1/oauth/tokens, or, when the server names an OIDC issuer and
// client, the authorization-code flow with PKCE (S256). The token lives in
// sessionStorage only, for this tab.

import { call, setToken, ApiError } from './api.js';
import { h } from './util.js';
import { show } from './app.js';

async function consoleConfig() {
  const r = await fetch('config.json', { credentials: 'omit' });
  return r.json();
}

function done() {
  location.hash = '#/';
  location.reload();
}

export async function signInPage() {
  const cfg = await consoleConfig();
  const tokenIn = h('input', { id: 'token', type: 'password', autocomplete: 'off', placeholder: 'bearer token' });
  const sections = [
    h('section', {}, h('h3', {}, 'Bearer token'),
      h('form', { id: 'signin-token', onsubmit: async ev => {
        ev.preventDefault();
        setToken(tokenIn.value.trim());
        done();
      } }, h('label', {}, 'Token ', tokenIn), h('button', { type: 'submit' }, 'Sign in'))),
  ];
  if (cfg.oauth) {
    const id = h('input', { id: 'client-id', autocomplete: 'off' });
    const secret = h('input', { id: 'client-secret', type: 'password', autocomplete: 'off' });
    sections.push(h('section', {}, h('h3', {}, 'OAuth2 client credentials'),
      h('form', { id: 'signin-oauth', onsubmit: async ev => {
        ev.preventDefault();
        try {
          setToken('');
          const r = await call('POST', '/v1/oauth/tokens', new URLSearchParams({
            grant_type: 'client_credentials', client_id: id.value.trim(), client_secret: secret.value, scope: 'PRINCIPAL_ROLE:ALL' }));
          setToken(r.access_token);
          done();
        } catch (e) { show(e); }
      } }, h('label', {}, 'Client id ', id), h('label', {}, 'Client secret ', secret), h('button', { type: 'submit' }, 'Sign in'))));
  }
  if (cfg.oidc) {
    sections.push(h('section', {}, h('h3', {}, 'Single sign-on'),
      h('p', { class: 'muted' }, cfg.oidc.issuer),
      h('button', { id: 'signin-oidc', onclick: () => startOIDC(cfg.oidc).catch(show) }, 'Sign in with OIDC')));
  }
  sections.push(h('section', {}, h('h3', {}, 'Anonymous'),
    h('p', { class: 'muted' }, 'Only where the catalog allows anonymous access.'),
    h('button', { id: 'signin-anonymous', onclick: () => { setToken(''); done(); } }, 'Continue without a token')));
  return h('div', {}, h('h1', {}, 'Sign in'), h('div', { class: 'signin' }, sections));
}

function b64url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random(n) { return b64url(crypto.getRandomValues(new Uint8Array(n))); }

async function discovery(issuer) {
  const r = await fetch(issuer.replace(/\/$/, '') + '/.well-known/openid-configuration', { credentials: 'omit' });
  if (!r.ok) throw new Error(`OIDC discovery at ${issuer} answered ${r.status}`);
  return r.json();
}

function redirectURI() { return location.origin + location.pathname; }

async function startOIDC(oidc) {
  const d = await discovery(oidc.issuer);
  const verifier = random(48), state = random(16);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem('ice-console-pkce', JSON.stringify({ verifier, state }));
  const u = new URL(d.authorization_endpoint);
  u.search = new URLSearchParams({ response_type: 'code', client_id: oidc.clientId, redirect_uri: redirectURI(),
    scope: (oidc.scopes || ['openid']).join(' '), state, code_challenge: challenge, code_challenge_method: 'S256' }).toString();
  location.assign(u.toString());
}

// finishOIDC completes the flow when the issuer redirects back with
// ?code=&state=: it trades the code and the PKCE verifier for a token.
export async function finishOIDC() {
  const q = new URLSearchParams(location.search);
  if (!q.has('code') && !q.has('error')) return;
  const saved = JSON.parse(sessionStorage.getItem('ice-console-pkce') || 'null');
  sessionStorage.removeItem('ice-console-pkce');
  history.replaceState(null, '', location.pathname + '#/');
  if (q.has('error')) throw new Error('OIDC sign-in failed: ' + q.get('error'));
  if (!saved || saved.state !== q.get('state')) throw new Error('OIDC sign-in failed: the state does not match this tab');
  const cfg = await consoleConfig();
  const d = await discovery(cfg.oidc.issuer);
  const r = await fetch(d.token_endpoint, { method: 'POST', credentials: 'omit',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: q.get('code'), redirect_uri: redirectURI(),
      client_id: cfg.oidc.clientId, code_verifier: saved.verifier }) });
  const tok = await r.json();
  if (!r.ok) throw new ApiError(r.status, tok.error || 'oidc', tok.error_description || 'token exchange failed');
  setToken(tok.access_token || tok.id_token);
}
