// Commands: what people and rules asked workers to do, and each one's life as the dispatcher
// carries it out: queued (held, with the reason) → sent → succeeded / failed / skipped / expired,
// with the attempts, the last error and the result. Refreshes every few seconds while a command
// on the page is still in flight.
import {h, DASH, append} from './dom.js';
import {api} from './api.js';
import {KeyedRows, Pager, table, select} from './ui.js';
import {stateCell, resultCell, timesCell, paramsText, inFlight} from './command_life.js';

const STATES = ['queued', 'claimed', 'sent', 'succeeded', 'failed', 'expired', 'skipped'];
const IN_FLIGHT_MS = 3000;

export default {
  title: 'Commands',
  mount(root, ctx) {
    const filters = {state: ctx.query.get('state') || '', worker_id: ctx.query.get('worker_id') || ''};
    const stateSel = select([['', 'Any'], ...STATES.map((s) => [s, s])], filters.state, {id: 'cmd-state'});
    const worker = h('input', {id: 'cmd-worker', inputmode: 'numeric', pattern: '[0-9]*', value: filters.worker_id, size: 8});
    const pager = new Pager(() => ctx.refreshNow(), 'Command pages');
    const live = h('p', {class: 'muted small', 'data-testid': 'commands-live', 'aria-live': 'polite'});
    let timer = null;
    const apply = () => {
      filters.state = stateSel.value;
      filters.worker_id = worker.value.trim();
      ctx.setQuery(filters);
      pager.reset();
      ctx.refreshNow();
    };
    stateSel.addEventListener('change', apply);
    worker.addEventListener('change', apply);
    const t = table([{label: '#', class: 'num'}, {label: 'Worker'}, {label: 'Action'}, {label: 'State'}, {label: 'Result'},
                     {label: 'Origin'}, {label: 'Requested by'}, {label: 'When'}],
                    {caption: 'Commands', testid: 'commands-table', emptyText: 'No commands.'});
    const rows = new KeyedRows(t.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'command-row'});
      row.update = (c) => {
        row.el.dataset.action = c.action;
        row.el.dataset.state = c.state;
        row.el.dataset.id = String(c.id);
        row.el.replaceChildren(
          h('td', {class: 'num'}, String(c.id)),
          h('td', {}, h('a', {href: `#/miner/${c.worker_id}`}, c.worker_name || `worker ${c.worker_id}`)),
          h('td', {}, h('strong', {}, c.action), paramsText(c.params) ? h('span', {class: 'muted small'}, ` ${paramsText(c.params)}`) : null,
            c.channel ? h('div', {class: 'muted small'}, `via ${c.channel}`) : null),
          h('td', {}, stateCell(c)),
          h('td', {}, resultCell(c)),
          h('td', {}, c.origin || DASH),
          h('td', {}, c.requested_by || DASH),
          h('td', {}, timesCell(c)));
      };
      return row;
    });
    append(root, h('h1', {}, 'Commands'),
                h('p', {class: 'muted'}, 'The API queues commands; the action dispatcher carries them out. Queue one from a miner\'s page or the miners table.'),
                h('form', {class: 'filters', 'aria-label': 'Filter commands', onsubmit: (e) => { e.preventDefault(); apply(); }},
                  h('div', {class: 'field'}, h('label', {for: 'cmd-state'}, 'State'), stateSel),
                  h('div', {class: 'field'}, h('label', {for: 'cmd-worker'}, 'Worker id'), worker)),
                live, t.el, pager.el);
    return {
      unmount() {
        clearTimeout(timer);
      },
      async refresh() {
        clearTimeout(timer);
        const p = new URLSearchParams({limit: '50'});
        if (filters.state) p.set('state', filters.state);
        if (/^\d+$/.test(filters.worker_id)) p.set('worker_id', filters.worker_id);
        if (pager.after) p.set('after', pager.after);
        const r = await api.get(`/api/commands?${p}`, {signal: ctx.signal});
        rows.render(r.items);
        t.setEmpty(r.items.length === 0);
        pager.update(r.items.length, r.next, 50);
        const flying = r.items.filter(inFlight).length;
        live.textContent = flying ? `${flying} in flight: following them every ${IN_FLIGHT_MS / 1000} s.` : '';
        // The page polls every 10 s; commands in flight are followed more closely.
        if (flying) timer = setTimeout(() => ctx.refreshNow(), IN_FLIGHT_MS);
      },
    };
  },
};
