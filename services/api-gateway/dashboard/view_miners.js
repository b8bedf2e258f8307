// The miners table (seed 003 §4): MAC, IP/state, hashrate, temperature, managed toggle, last seen;
// offline rows (no IP) highlighted. Built for 10,000 miners: one page (limit + keyset cursor) is
// fetched and rendered at a time, filters run on the server, and a poll refetches only that page
// and updates its rows in place.
import {h, replace, hashrate, power, temp, percent, timeEl, stateBadge, debounce, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {Pager, KeyedRows, table, showError, select, toast} from './ui.js';
import {openCommandDialog} from './actions.js';

const PAGE_SIZES = ['25', '50', '100', '250', '500', '1000'];

function tempClass(t) {
  if (t === null || t === undefined) return '';
  if (t >= 90) return 'value-bad';
  if (t >= 80) return 'value-warn';
  return '';
}

export default {
  title: 'Miners',
  mount(root, ctx) {
    const canAct = session.can('operator');
    const q = ctx.query;
    const filters = {
      q: q.get('q') || '',
      online: q.get('online') || '',
      managed: q.get('managed') || '',
      model: q.get('model') || '',
      limit: PAGE_SIZES.includes(q.get('limit')) ? q.get('limit') : '100',
    };
    const pending = new Map();  // miner id -> managed value being saved
    let models = [];

    const search = h('input', {type: 'search', id: 'miners-q', value: filters.q, placeholder: 'MAC, IP or name',
                               'data-testid': 'miners-search'});
    const online = select([['', 'Any'], ['true', 'Online (has IP)'], ['false', 'Offline']], filters.online, {id: 'miners-online'});
    const managed = select([['', 'Any'], ['true', 'Managed'], ['false', 'Not managed']], filters.managed, {id: 'miners-managed'});
    const model = select([['', 'Any model']], filters.model, {id: 'miners-model'});
    const limit = select(PAGE_SIZES.map((n) => [n, `${n} per page`]), filters.limit, {id: 'miners-limit'});
    const pager = new Pager(() => ctx.refreshNow(), 'Miner pages');

    const columns = [
      {label: 'Name'}, {label: 'MAC'}, {label: 'IP / state'}, {label: 'Model'},
      {label: 'Hashrate', class: 'num'}, {label: 'Chip temp', class: 'num'}, {label: 'Power', class: 'num'},
      {label: 'Managed'}, {label: 'Last seen'},
    ];
    if (canAct) columns.push({label: 'Actions'});
    const t = table(columns, {caption: 'Miners', testid: 'miners-table', emptyText: 'No miner matches these filters.'});

    const rows = new KeyedRows(t.tbody, (first) => {
      const row = {item: first};
      const name = h('a', {href: `#/miner/${first.id}`});
      const mac = h('td', {class: 'mono'});
      const ipState = h('td');
      const modelCell = h('td');
      const hr = h('td', {class: 'num'});
      const tc = h('td', {class: 'num'});
      const pw = h('td', {class: 'num'});
      const managedCell = h('td');
      const seen = h('td');
      let toggle = null;
      if (canAct) {
        toggle = h('input', {type: 'checkbox', class: 'switch', 'data-testid': 'managed-toggle'});
        toggle.addEventListener('change', () => setManaged(row, toggle));
        managedCell.append(h('label', {class: 'switch-label'}, toggle, h('span', {class: 'switch-text'})));
      }
      const cells = [h('td', {}, name), mac, ipState, modelCell, hr, tc, pw, managedCell, seen];
      if (canAct) {
        const btn = h('button', {type: 'button', class: 'btn btn-small', 'data-testid': 'row-actions'}, 'Actions…');
        btn.addEventListener('click', () => {
          const m = models.find((x) => x.alias === row.item.model_alias);
          openCommandDialog(row.item, m ? m.presets : []).catch((e) => showError(e, 'Command not queued'));
        });
        cells.push(h('td', {}, btn));
      }
      const el = h('tr', {'data-testid': 'miner-row', 'data-id': first.id}, cells);
      row.el = el;
      row.update = (m) => {
        row.item = m;
        const latest = m.latest || {};
        el.dataset.mac = m.mac;
        el.classList.toggle('row-offline', !m.ip);
        el.classList.toggle('row-unhealthy', m.status === 'unhealthy');
        name.textContent = m.name;
        mac.textContent = m.mac;
        replace(ipState, m.ip ? h('span', {class: 'mono'}, m.ip) : h('span', {class: 'offline-text'}, 'offline'), ' ',
                m.ip ? stateBadge(latest.miner_state || m.status) : (m.status !== 'offline' ? stateBadge(m.status) : null));
        modelCell.textContent = m.model_alias || DASH;
        modelCell.title = m.model_name || '';
        replace(hr, hashrate(latest.hashrate_ths),
                latest.hashrate_ratio !== undefined && latest.hashrate_ratio !== null
                  ? h('span', {class: 'muted small'}, ` ${percent(latest.hashrate_ratio)}`) : null);
        tc.textContent = temp(latest.chip_temp_max);
        tc.className = ['num', tempClass(latest.chip_temp_max)].join(' ').trim();
        pw.textContent = power(latest.power_w);
        const value = pending.has(m.id) ? pending.get(m.id) : m.managed;
        if (toggle) {
          toggle.checked = value;
          toggle.setAttribute('aria-label', `Managed: ${m.name}`);
          toggle.nextSibling.textContent = value ? 'managed' : 'not managed';
        } else {
          managedCell.textContent = value ? 'yes' : 'no';
        }
        replace(seen, timeEl(m.last_seen_at));
      };
      return row;
    });

    // Optimistic: the switch flips at once; a failure puts it back and says why.
    async function setManaged(row, toggle) {
      const id = row.item.id;
      const want = toggle.checked;
      if (pending.has(id)) {
        toggle.checked = pending.get(id);
        return;
      }
      pending.set(id, want);
      toggle.setAttribute('aria-busy', 'true');
      toggle.nextSibling.textContent = want ? 'managed' : 'not managed';
      try {
        const updated = await api.patch(`/api/miners/${id}`, {managed: want});
        pending.delete(id);
        row.update({...row.item, ...updated});
      } catch (e) {
        pending.delete(id);
        toggle.checked = !want;
        row.update({...row.item, managed: !want});
        showError(e, `Could not change "managed" of ${row.item.name}`);
      } finally {
        toggle.removeAttribute('aria-busy');
      }
    }

    const applyFilters = () => {
      filters.q = search.value.trim();
      filters.online = online.value;
      filters.managed = managed.value;
      filters.model = model.value;
      filters.limit = limit.value;
      ctx.setQuery(filters);
      pager.reset();
      ctx.refreshNow();
    };
    search.addEventListener('input', debounce(applyFilters, 300));
    for (const el of [online, managed, model, limit]) el.addEventListener('change', applyFilters);

    const count = h('p', {class: 'muted', 'aria-live': 'polite'});
    append(root,
      h('h1', {}, 'Miners'),
      h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter miners', onsubmit: (e) => e.preventDefault()},
        h('div', {class: 'field'}, h('label', {for: 'miners-q'}, 'Search'), search),
        h('div', {class: 'field'}, h('label', {for: 'miners-online'}, 'Connection'), online),
        h('div', {class: 'field'}, h('label', {for: 'miners-managed'}, 'Managed'), managed),
        h('div', {class: 'field'}, h('label', {for: 'miners-model'}, 'Model'), model),
        h('div', {class: 'field'}, h('label', {for: 'miners-limit'}, 'Page size'), limit)),
      count, t.el, pager.el);

    api.get('/api/models', {signal: ctx.signal}).then((r) => {
      models = r.items || [];
      replace(model, h('option', {value: ''}, 'Any model'),
              models.map((m) => h('option', {value: m.alias, selected: m.alias === filters.model}, `${m.alias} (${m.miners})`)));
    }).catch((e) => {
      if (e.name !== 'AbortError') toast(`Models unavailable: ${e.message}`, 'warn');
    });

    return {
      async refresh() {
        const params = new URLSearchParams({limit: filters.limit});
        if (filters.q) params.set('q', filters.q);
        if (filters.online) params.set('online', filters.online);
        if (filters.managed) params.set('managed', filters.managed);
        if (filters.model) params.set('model', filters.model);
        if (pager.after) params.set('after', pager.after);
        const page = await api.get(`/api/miners?${params}`, {signal: ctx.signal});
        rows.render(page.items);
        t.setEmpty(page.items.length === 0);
        pager.update(page.items.length, page.next, Number(filters.limit));
        const offline = page.items.filter((m) => !m.ip).length;
        count.textContent = page.items.length
          ? `${page.items.length} miners on this page, ${offline} offline.` : '';
      },
    };
  },
};
