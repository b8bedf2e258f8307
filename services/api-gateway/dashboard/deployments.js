// Pieces the deployment, organisation and migration pages share (issue 14).
import {h, num, badge, DASH} from './dom.js';
import {memoryText} from './nodes.js';

const DEPLOYMENT_KIND = {active: 'ok', deleting: 'warn', deleted: 'neutral'};
const PLACEMENT_KIND = {running: 'ok', starting: 'info', unplaced: 'warn', failed: 'bad', lost: 'bad', stopping: 'neutral',
                        removed: 'neutral'};
const MIGRATION_KIND = {awaiting_approval: 'warn', recorded: 'neutral', pending: 'info', starting: 'info', switching: 'info',
                        cleanup: 'info', done: 'ok', failed: 'bad', rejected: 'neutral', cancelled: 'neutral', executing: 'info'};

export function deploymentStateBadge(state) {
  return badge(state, DEPLOYMENT_KIND[state] || 'neutral');
}

export function placementStateBadge(state) {
  return badge(state, PLACEMENT_KIND[state] || 'neutral');
}

// Plans and migrations share their words.
export function migrationStateBadge(state) {
  return badge(state.replaceAll('_', ' '), MIGRATION_KIND[state] || 'neutral');
}

export function resourcesText(r) {
  if (!r) return DASH;
  const parts = [`${num(r.cpu_cores, r.cpu_cores >= 1 ? 1 : 2)} cores`, memoryText(r.memory_mb)];
  if (r.disk_gb) parts.push(`${num(r.disk_gb, 1)} GB disk`);
  return parts.join(' · ');
}

// "web.acme:8080 → 127.0.0.5:20001"
export function routeText(r) {
  return `${r.service}:${r.container_port}${r.protocol === 'udp' ? '/udp' : ''} → ${r.address}:${r.host_port}`;
}

// A migration's steps as a list: time, step, detail.
export function stepsList(steps) {
  if (!steps || !steps.length) return h('p', {class: 'muted'}, 'No step yet.');
  return h('ol', {class: 'steps', 'data-testid': 'migration-steps'},
           steps.map((s) => h('li', {}, h('span', {class: 'mono small'}, s.at ? new Date(s.at).toLocaleString() : ''), ' ',
                              h('strong', {}, s.step), s.detail ? ` — ${s.detail}` : '')));
}
