// Telemetry snapshot (seed 003 §4): miners whose chip telemetry shows red or orange chips,
// throttling or dead chains, worst first (the server keeps the last 15 minutes).
import {h, int, timeEl, DASH, append} from './dom.js';
import {api} from './api.js';
import {KeyedRows, table} from './ui.js';

function countCell(value, bad) {
  const v = value ?? null;
  return h('td', {class: ['num', v > 0 ? (bad ? 'value-bad' : 'value-warn') : '']}, v === null ? DASH : int(v));
}

export default {
  title: 'Anomalies',
  mount(root, ctx) {
    const t = table([{label: 'Miner'}, {label: 'IP'}, {label: 'Dead chains', class: 'num'}, {label: 'Red chips', class: 'num'},
                     {label: 'Orange chips', class: 'num'}, {label: 'Throttled chips', class: 'num'}, {label: 'Observed'}],
                    {caption: 'Chip anomalies', testid: 'anomalies-table',
                     emptyText: 'No anomalies: every chip reported in the last 15 minutes is normal.'});
    const summary = h('p', {class: 'muted', 'aria-live': 'polite'});
    const rows = new KeyedRows(t.tbody, (first) => {
      const row = {};
      row.el = h('tr', {'data-testid': 'anomaly-row'});
      row.update = (a) => {
        row.el.replaceChildren(
          h('td', {}, h('a', {href: `#/miner/${a.miner_id}`}, a.name)),
          h('td', {class: 'mono'}, a.ip || h('span', {class: 'offline-text'}, 'offline')),
          countCell(a.chains_dead, true), countCell(a.chips_red, true), countCell(a.chips_orange, false),
          countCell(a.chips_throttled, false), h('td', {}, timeEl(a.observed_at)));
      };
      void first;
      return row;
    });
    append(root, h('h1', {}, 'Telemetry anomalies'), summary, t.el);
    return {
      async refresh() {
        const r = await api.get('/api/telemetry/anomalies', {signal: ctx.signal});
        rows.render(r.items, (a) => a.miner_id);
        t.setEmpty(r.items.length === 0);
        const dead = r.items.filter((a) => a.chains_dead > 0).length;
        summary.textContent = r.items.length ? `${r.items.length} miners with anomalies, ${dead} with dead chains.` : '';
      },
    };
  },
};
