// Commands: what people and rules asked workers to do, and how far the dispatcher got.
import {h, timeEl, stateBadge, DASH, append} from './dom.js';
import {api} from './api.js';
import {KeyedRows, Pager, table, select} from './ui.js';

const STATES = ['queued', 'claimed', 'sent', 'succeeded', 'failed', 'expired', 'skipped'];

function paramsText(params) {
  if (!params || typeof params !== 'object' || !Object.keys(params).length) return '';
  return Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
}

export default {
  title: 'Commands',
  mount(root, ctx) {
    const filters = {state: ctx.query.get('state') || '', worker_id: ctx.query.get('worker_id') || ''};
    const stateSel = select([['', 'Any'], ...STATES.map((s) => [s, s])], filters.state, {id: 'cmd-state'});
    const worker = h('input', {id: 'cmd-worker', inputmode: 'numeric', pattern: '[0-9]*', value: filters.worker_id, size: 8});
    const pager = new Pager(() => ctx.refreshNow(), 'Command pages');
    const apply = () => {
      filters.state = stateSel.value;
      filters.worker_id = worker.value.trim();
      ctx.setQuery(filters);
      pager.reset();
      ctx.refreshNow();
    };
    stateSel.addEventListener('change', apply);
    worker.addEventListener('change', apply);
    const t = table([{label: '#', class: 'num'}, {label: 'Worker'}, {label: 'Action'}, {label: 'State'}, {label: 'Origin'},
                     {label: 'Requested by'}, {label: 'Created'}, {label: 'Updated'}, {label: 'Result'}],
                    {caption: 'Commands', testid: 'commands-table', emptyText: 'No commands.'});
    const rows = new KeyedRows(t.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'command-row'});
      row.update = (c) => {
        const result = c.skip_reason || (c.result ? (typeof c.result === 'string' ? c.result : JSON.stringify(c.result)) : '');
        row.el.dataset.action = c.action;
        row.el.replaceChildren(
          h('td', {class: 'num'}, String(c.id)),
          h('td', {}, h('a', {href: `#/miner/${c.worker_id}`}, c.worker_name || `worker ${c.worker_id}`)),
          h('td', {}, h('strong', {}, c.action), paramsText(c.params) ? h('span', {class: 'muted small'}, ` ${paramsText(c.params)}`) : null),
          h('td', {}, stateBadge(c.state)),
          h('td', {}, c.origin || DASH),
          h('td', {}, c.requested_by || DASH),
          h('td', {}, timeEl(c.created_at)),
          h('td', {}, timeEl(c.updated_at)),
          h('td', {class: 'last-error', title: result}, result || DASH));
      };
      return row;
    });
    append(root, h('h1', {}, 'Commands'),
                h('p', {class: 'muted'}, 'The API queues commands; the action dispatcher carries them out. Queue one from a miner\'s page or the miners table.'),
                h('form', {class: 'filters', 'aria-label': 'Filter commands', onsubmit: (e) => { e.preventDefault(); apply(); }},
                  h('div', {class: 'field'}, h('label', {for: 'cmd-state'}, 'State'), stateSel),
                  h('div', {class: 'field'}, h('label', {for: 'cmd-worker'}, 'Worker id'), worker)),
                t.el, pager.el);
    return {
      async refresh() {
        const p = new URLSearchParams({limit: '50'});
        if (filters.state) p.set('state', filters.state);
        if (/^\d+$/.test(filters.worker_id)) p.set('worker_id', filters.worker_id);
        if (pager.after) p.set('after', pager.after);
        const r = await api.get(`/api/commands?${p}`, {signal: ctx.signal});
        rows.render(r.items);
        t.setEmpty(r.items.length === 0);
        pager.update(r.items.length, r.next, 50);
      },
    };
  },
};
