// A command's life as the commands view and a miner's page show it: queued → (held) → sent →
// succeeded / failed / skipped / expired, with the attempts, why it waits or was skipped, the last
// error and the dispatcher's result in words rather than raw JSON.
import {h, replace, timeEl, dateTime, stateBadge, DASH} from './dom.js';
import {api} from './api.js';
import {errorText} from './ui.js';

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

// The result as lines; a HiveOS command's message (its title, and for `exec` the output the
// rig sent back) as one line and the output as preformatted text, not as raw JSON.
export function resultCell(c) {
  let result = c.result;
  let message = null;
  if (result && typeof result === 'object' && !Array.isArray(result) && result.message && typeof result.message === 'object') {
    ({message, ...result} = result);
  }
  const lines = resultLines(result);
  if (message && message.title) lines.push(`HiveOS ${message.type || 'message'}: ${message.title}`);
  const output = message && typeof message.payload === 'string' && message.payload
    ? h('pre', {class: 'command-output', 'data-testid': 'command-output'}, message.payload) : null;
  if (!lines.length && !output) return h('span', {class: 'muted'}, DASH);
  return [h('ul', {class: 'result-lines', 'data-testid': 'command-result'}, lines.map((l) => h('li', {}, l))), output];
}

// A worker's recent commands as a table (the miner's and the rig's pages).
export function commandsTable(items, testid) {
  return h('table', {class: 'table compact', 'data-testid': testid},
    h('thead', {}, h('tr', {}, ['#', 'Action', 'State', 'Result', 'By', 'When'].map((x) => h('th', {scope: 'col'}, x)))),
    h('tbody', {}, items.map((c) => h('tr', {'data-testid': `${testid.replace(/s$/, '')}-row`, 'data-state': c.state, 'data-action': c.action},
      h('td', {}, String(c.id)),
      h('td', {}, h('strong', {}, c.action), paramsText(c.params) ? h('span', {class: 'muted small'}, ` ${paramsText(c.params)}`) : null),
      h('td', {}, stateCell(c)), h('td', {}, resultCell(c)),
      h('td', {}, c.requested_by || DASH), h('td', {}, timesCell(c))))));
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

// A worker's "Recent commands" panel (the miner's and the rig's pages): refresh() loads its last
// ten commands and follows those in flight more closely than the page's polling; stop() on unmount.
export function recentCommands({workerId, testid, empty, ctx}) {
  const box = h('div', {});
  let timer = null;
  async function refresh() {
    clearTimeout(timer);
    try {
      const r = await api.get(`/api/commands?worker_id=${workerId}&limit=10`, {signal: ctx.signal});
      replace(box, r.items.length ? commandsTable(r.items, testid) : h('p', {class: 'muted'}, empty));
      if (r.items.some(inFlight)) timer = setTimeout(() => refresh().catch(() => {}), 2000);
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      replace(box, h('p', {class: 'muted'}, errorText(e)));
    }
  }
  return {box, refresh, stop: () => clearTimeout(timer)};
}
