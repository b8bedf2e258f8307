// A command's life as the commands view and a miner's page show it: queued → (held) → sent →
// succeeded / failed / skipped / expired, with the attempts, why it waits or was skipped, the last
// error and the dispatcher's result in words rather than raw JSON.
import {h, timeEl, dateTime, stateBadge, DASH} from './dom.js';

export const IN_FLIGHT = ['queued', 'claimed', 'sent'];

export function inFlight(c) {
  return IN_FLIGHT.includes(c.state);
}

// Why the command is where it is: held (waits), skipped, or the last error. One line each.
export function reasons(c) {
  const out = [];
  if (c.held_reason && IN_FLIGHT.includes(c.state)) out.push({kind: 'held', text: c.held_reason});
  if (c.skip_reason) out.push({kind: 'skipped', text: c.skip_reason});
  if (c.last_error) out.push({kind: 'error', text: c.last_error});
  return out;
}

function valueText(v) {
  if (v === null || v === undefined) return DASH;
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// The result object as "key: value" lines (a plain string stays as it is).
export function resultLines(result) {
  if (result === null || result === undefined) return [];
  if (typeof result !== 'object' || Array.isArray(result)) return [valueText(result)];
  return Object.entries(result).map(([k, v]) => `${k.replace(/_/g, ' ')}: ${valueText(v)}`);
}

export function paramsText(params) {
  if (!params || typeof params !== 'object' || !Object.keys(params).length) return '';
  return Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
}

// The state cell: badge, attempts, and the reasons underneath.
export function stateCell(c) {
  const attempts = c.max_attempts ? `attempt ${c.attempts ?? 0} of ${c.max_attempts}` : '';
  return [
    h('span', {'data-testid': 'command-state'}, stateBadge(c.state)),
    c.state === 'queued' && c.held_reason ? h('span', {class: 'badge badge-warn held-badge'}, 'held') : null,
    attempts ? h('div', {class: 'muted small', 'data-testid': 'command-attempts'}, attempts) : null,
    reasons(c).map((r) => h('div', {class: ['small', r.kind === 'error' ? 'value-bad' : 'muted'], 'data-testid': `command-${r.kind}`},
                           `${r.kind === 'held' ? 'held: ' : r.kind === 'skipped' ? 'skipped: ' : 'error: '}${r.text}`)),
  ];
}

export function resultCell(c) {
  const lines = resultLines(c.result);
  if (!lines.length) return h('span', {class: 'muted'}, DASH);
  return h('ul', {class: 'result-lines', 'data-testid': 'command-result'}, lines.map((l) => h('li', {}, l)));
}

// The timestamps: created, sent, finished (and when a held one is tried again).
export function timesCell(c) {
  const step = (label, value) => (value ? h('div', {class: 'small', title: dateTime(value)}, `${label} `, timeEl(value)) : null);
  return [
    step('queued', c.created_at),
    c.state === 'queued' && c.held_reason ? step('retry', c.not_before) : null,
    step('sent', c.sent_at),
    step(c.state === 'expired' ? 'ended' : 'done', c.finished_at),
  ];
}
