// The dashboard's shell: login, navigation (hash routes), and polling of the visible view only.
//
// A view module exports {title, mount(root, ctx)}; mount builds the view's DOM and returns
// {refresh(), unmount()?}. refresh() is called at once and then every POLL_MS while the view is
// shown and the tab is visible; it must be cheap (one page of data, not the whole fleet).
import {h, replace} from './dom.js';
import {session, login, logout, onUnauthorized} from './api.js';
import {errorBox, errorText, refreshTimes} from './ui.js';
import overview from './view_overview.js';
import miners from './view_miners.js';
import miner from './view_miner.js';
import models from './view_models.js';
import anomalies from './view_anomalies.js';
import rules from './view_rules.js';
import alerts from './view_alerts.js';
import silences from './view_silences.js';
import commands from './view_commands.js';
import services from './view_services.js';
import relays from './view_relays.js';
import nodes from './view_nodes.js';
import node from './view_node.js';
import nodeTokens from './view_node_tokens.js';
import deployments from './view_deployments.js';
import deployment from './view_deployment.js';
import migrations from './view_migrations.js';
import organizations from './view_organizations.js';
import rigs from './view_rigs.js';
import rig from './view_rig.js';
import hiveos from './view_hiveos.js';
import notifications from './view_notifications.js';
import notifySettings from './view_notify_settings.js';

export const POLL_MS = 10_000;

// A route with `parent` (a page under another) highlights its parent's navigation entry.
const ROUTES = [
  {path: 'overview', view: overview, nav: 'Overview'},
  {path: 'miners', view: miners, nav: 'Miners'},
  {path: 'miner', view: miner},
  {path: 'rigs', view: rigs, nav: 'Rigs'},
  {path: 'rig', view: rig, parent: 'rigs'},
  {path: 'hiveos', view: hiveos, parent: 'rigs'},
  {path: 'nodes', view: nodes, nav: 'Nodes'},
  {path: 'node', view: node, parent: 'nodes'},
  {path: 'node-tokens', view: nodeTokens, parent: 'nodes'},
  {path: 'deployments', view: deployments, nav: 'Deployments'},
  {path: 'deployment', view: deployment, parent: 'deployments'},
  {path: 'migrations', view: migrations, parent: 'deployments'},
  {path: 'organizations', view: organizations, parent: 'deployments'},
  {path: 'models', view: models, nav: 'Models'},
  {path: 'anomalies', view: anomalies, nav: 'Anomalies'},
  {path: 'alerts', view: alerts, nav: 'Alerts'},
  {path: 'silences', view: silences, nav: 'Silences'},
  {path: 'rules', view: rules, nav: 'Rules'},
  {path: 'commands', view: commands, nav: 'Commands'},
  {path: 'notifications', view: notifications, nav: 'Notifications'},
  {path: 'notify-settings', view: notifySettings, parent: 'notifications'},
  {path: 'relays', view: relays, nav: 'Relays'},
  {path: 'services', view: services, nav: 'Services'},
];

const main = document.getElementById('main');
const banner = document.getElementById('banner');
const refreshed = document.getElementById('refreshed');

let current = null;  // {route, handle, abort, timer, inflight}
let loginMessage = '';

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  const segments = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  return {segments, query: new URLSearchParams(queryPart)};
}

function setBanner(text) {
  if (!text) {
    banner.hidden = true;
    banner.textContent = '';
    return;
  }
  banner.textContent = text;
  banner.hidden = false;
}

function stopCurrent() {
  if (!current) return;
  clearTimeout(current.timer);
  current.abort.abort();
  try {
    current.handle?.unmount?.();
  } catch {
    // A view's cleanup must not block navigation.
  }
  current = null;
}

async function poll(state) {
  if (current !== state) return;
  clearTimeout(state.timer);
  if (!document.hidden && !state.inflight && state.handle?.refresh) {
    state.inflight = (async () => {
      try {
        await state.handle.refresh();
        if (current === state) {
          refreshTimes(main);
          setBanner('');
          refreshed.textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ${POLL_MS / 1000} s`;
        }
      } catch (e) {
        if (current === state && e?.name !== 'AbortError' && e?.status !== 401) {
          setBanner(`Could not refresh: ${errorText(e)}`);
        }
      }
    })();
    await state.inflight;
    state.inflight = null;
  }
  if (current === state) state.timer = setTimeout(() => poll(state), POLL_MS);
}

function renderNav(active) {
  const nav = document.getElementById('nav');
  const parent = ROUTES.find((r) => r.path === active)?.parent;
  replace(nav, ROUTES.filter((r) => r.nav).map((r) => {
    const isActive = r.path === active || r.path === parent || (r.path === 'miners' && active === 'miner');
    return h('li', {}, h('a', {href: `#/${r.path}`, 'aria-current': isActive ? 'page' : null,
                               class: isActive ? 'active' : null}, r.nav));
  }));
}

function route() {
  stopCurrent();
  setBanner('');
  const s = session.load();
  if (s && typeof s.expires_at === 'number' && s.expires_at * 1000 < Date.now()) {
    session.clear();
    loginMessage = 'Your session has expired; please log in again.';
  }
  if (!session.token) {
    showLogin();
    return;
  }
  document.getElementById('topbar').hidden = false;
  const user = session.user;
  document.getElementById('who').textContent = `${user.username} · ${user.role}`;
  const {segments, query} = parseHash();
  const r = ROUTES.find((x) => x.path === segments[0]);
  if (!r) {
    location.replace('#/overview');
    return;
  }
  renderNav(r.path);
  document.title = `${r.nav || r.view.title || 'fleetward'} · fleetward`;
  const abort = new AbortController();
  const state = {route: r, handle: null, abort, timer: null, inflight: null};
  current = state;
  const root = h('div', {class: 'view', 'data-view': r.path});
  replace(main, root);
  const ctx = {
    params: segments.slice(1),
    query,
    signal: abort.signal,
    // Updates the query part of the URL without re-mounting (filters, pages).
    setQuery(values) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
      const text = q.toString();
      history.replaceState(null, '', `#/${segments.map(encodeURIComponent).join('/')}${text ? `?${text}` : ''}`);
    },
    refreshNow: () => poll(state),
  };
  try {
    state.handle = r.view.mount(root, ctx);
  } catch (e) {
    const box = errorBox();
    box.show(e);
    replace(root, box.el);
    return;
  }
  const heading = root.querySelector('h1');
  if (heading) heading.setAttribute('tabindex', '-1');
  poll(state);
}

function showLogin() {
  document.getElementById('topbar').hidden = true;
  refreshed.textContent = '';
  document.title = 'Log in · fleetward';
  const errors = errorBox();
  if (loginMessage) errors.show(loginMessage);
  const user = h('input', {id: 'login-user', name: 'username', autocomplete: 'username', required: true,
                           autocapitalize: 'none', spellcheck: 'false'});
  const pass = h('input', {id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password',
                           required: true});
  const submit = h('button', {type: 'submit', class: 'btn btn-primary'}, 'Log in');
  const form = h('form', {class: 'login-form', 'aria-labelledby': 'login-title', 'data-testid': 'login-form'},
                 h('h1', {id: 'login-title'}, h('img', {src: 'icon.svg', alt: '', width: 28, height: 28}), ' fleetward'),
                 h('p', {class: 'muted'}, 'Log in to manage the fleet.'),
                 h('div', {class: 'field'}, h('label', {for: 'login-user'}, 'User name'), user),
                 h('div', {class: 'field'}, h('label', {for: 'login-password'}, 'Password'), pass),
                 errors.el, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.clear();
    if (!user.value.trim() || !pass.value) {
      errors.show('Enter your user name and password.');
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    try {
      await login(user.value.trim(), pass.value);
      loginMessage = '';
      if (!parseHash().segments.length) history.replaceState(null, '', '#/overview');
      route();
    } catch (e) {
      errors.show(e);
      pass.select();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Log in';
    }
  });
  replace(main, h('div', {class: 'login-wrap'}, form));
  user.focus();
}

onUnauthorized((e) => {
  if (!session.token) return;
  session.clear();
  loginMessage = e.message || 'Your session has ended; please log in again.';
  route();
});

document.getElementById('logout').addEventListener('click', async () => {
  stopCurrent();
  await logout();
  loginMessage = '';
  route();
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && current) poll(current);
});

window.addEventListener('hashchange', route);
route();
