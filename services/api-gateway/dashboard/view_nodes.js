// Container host nodes (issue 13): cluster cards (nodes by status, capacity, what is used, the
// average load) over a table of nodes with their status, load meters, containers and last
// heartbeat. Filters (status, site, pool, search) run on the server; one page (limit + offset) is
// fetched and its rows updated in place on every poll.
import {h, replace, int, num, stateBadge, timeEl, debounce, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {OffsetPager, KeyedRows, table, select} from './ui.js';
import {NODE_STATUSES, loadMeter, containersText, memoryText, diskText, coresText} from './nodes.js';

const PAGE_SIZES = ['25', '50', '100', '250', '500'];

function card(testid, title, ...body) {
  return h('section', {class: 'card', 'data-testid': testid}, h('h2', {}, title), ...body);
}

function share(used, capacity) {
  if (used === null || used === undefined || !capacity) return '';
  return ` (${num((used / capacity) * 100, 0)} %)`;
}

function statsCards(st) {
  const byStatus = Object.entries(st.by_status || {}).filter(([, n]) => n > 0).sort(([a], [b]) => {
    const ia = NODE_STATUSES.indexOf(a);
    const ib = NODE_STATUSES.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  const cap = st.capacity || {};
  const used = st.used || {};
  const load = st.average_load || {};
  return [
    card('nodes-stats-total', 'Nodes', h('p', {class: 'big-number'}, int(st.total)),
         h('ul', {class: 'status-counts'}, byStatus.map(([status, n]) =>
           h('li', {'data-status': status}, stateBadge(status), ' ', h('span', {class: 'count'}, int(n)))))),
    card('nodes-stats-capacity', 'Capacity', h('p', {class: 'big-number'}, coresText(cap.cpu_cores)),
         h('p', {class: 'muted'}, `${memoryText(cap.memory_mb)} memory · ${diskText(cap.disk_gb)} disk`)),
    card('nodes-stats-used', 'Used', h('p', {class: 'big-number'}, `${coresText(used.cpu_cores)}${share(used.cpu_cores, cap.cpu_cores)}`),
         h('p', {class: 'muted'}, `${memoryText(used.memory_mb)}${share(used.memory_mb, cap.memory_mb)} memory · `,
           `${diskText(used.disk_gb)}${share(used.disk_gb, cap.disk_gb)} disk`)),
    card('nodes-stats-load', 'Average load', h('p', {class: 'big-number'}, loadMeter(load.overall, 'average', 'Average load')),
         h('p', {class: 'muted'}, `CPU ${load.cpu_percent == null ? DASH : `${num(load.cpu_percent, 0)} %`} · `,
           `memory ${load.memory_percent == null ? DASH : `${num(load.memory_percent, 0)} %`} · `,
           `disk ${load.disk_percent == null ? DASH : `${num(load.disk_percent, 0)} %`}`)),
  ];
}

export default {
  title: 'Nodes',
  mount(root, ctx) {
    const q = ctx.query;
    const filters = {
      q: q.get('q') || '',
      status: NODE_STATUSES.includes(q.get('status')) ? q.get('status') : '',
      site: q.get('site') || '',
      pool: q.get('pool') || '',
      limit: PAGE_SIZES.includes(q.get('limit')) ? q.get('limit') : '100',
    };
    const search = h('input', {type: 'search', id: 'nodes-q', value: filters.q, placeholder: 'Name, host name or address',
                               'data-testid': 'nodes-search'});
    const status = select([['', 'Any'], ...NODE_STATUSES.map((s) => [s, s])], filters.status,
                          {id: 'nodes-status', 'data-testid': 'nodes-status'});
    const site = h('input', {id: 'nodes-site', value: filters.site, maxlength: 200, size: 12, 'data-testid': 'nodes-site'});
    const pool = h('input', {id: 'nodes-pool', value: filters.pool, maxlength: 63, size: 12, 'data-testid': 'nodes-pool'});
    const limit = select(PAGE_SIZES.map((n) => [n, `${n} per page`]), filters.limit, {id: 'nodes-limit'});
    const pager = new OffsetPager(() => ctx.refreshNow(), 'Node pages');

    const t = table([{label: 'Name'}, {label: 'Status'}, {label: 'CPU'}, {label: 'Memory'}, {label: 'Disk'},
                     {label: 'Average'}, {label: 'Containers', class: 'num'}, {label: 'Last heartbeat'},
                     {label: 'Site'}, {label: 'Pool'}],
                    {caption: 'Nodes', testid: 'nodes-table', emptyText: 'No node matches these filters.'});
    const rows = new KeyedRows(t.tbody, (first) => {
      const row = {};
      row.el = h('tr', {'data-testid': 'node-row', 'data-id': first.id});
      row.update = (n) => {
        const load = n.load || {};
        row.el.dataset.name = n.name;
        row.el.dataset.status = n.status;
        row.el.classList.toggle('row-offline', n.status === 'offline' || n.status === 'unreachable');
        row.el.classList.toggle('row-unhealthy', n.status === 'unhealthy');
        row.el.replaceChildren(
          h('td', {}, h('a', {href: `#/node/${n.id}`}, n.name),
            n.hostname && n.hostname !== n.name ? h('div', {class: 'muted small'}, n.hostname) : null),
          h('td', {'data-testid': 'node-status'}, stateBadge(n.status),
            n.draining && n.status !== 'draining' ? [' ', stateBadge('draining')] : null,
            n.credential_revoked ? [' ', h('span', {class: 'badge badge-bad'}, 'revoked')] : null,
            n.status_reason ? h('div', {class: 'muted small reason'}, n.status_reason) : null),
          h('td', {}, loadMeter(load.cpu_percent, 'cpu', 'CPU')),
          h('td', {}, loadMeter(load.memory_percent, 'memory', 'Memory')),
          h('td', {}, loadMeter(load.disk_percent, 'disk', 'Disk')),
          h('td', {}, loadMeter(load.average, 'average', 'Average load')),
          h('td', {class: 'num', 'data-testid': 'node-containers'}, containersText(n.containers_running, n.containers)),
          h('td', {'data-testid': 'node-heartbeat'}, n.last_heartbeat_at ? timeEl(n.last_heartbeat_at) : h('span', {class: 'muted'}, 'never')),
          h('td', {}, n.site || DASH),
          h('td', {}, n.pool || DASH));
      };
      return row;
    });

    const apply = () => {
      filters.q = search.value.trim();
      filters.status = status.value;
      filters.site = site.value.trim();
      filters.pool = pool.value.trim();
      filters.limit = limit.value;
      ctx.setQuery(filters);
      pager.reset();
      ctx.refreshNow();
    };
    const typed = debounce(apply, 300);
    for (const el of [search, site, pool]) el.addEventListener('input', typed);
    for (const el of [status, limit]) el.addEventListener('change', apply);

    const stats = h('div', {class: 'cards', 'data-testid': 'nodes-stats'});
    const tokens = session.can('admin') ? h('a', {class: 'btn', href: '#/node-tokens', 'data-testid': 'nodes-tokens-link'},
                                            'Registration tokens') : null;
    append(root,
      h('div', {class: 'title-row'}, h('h1', {}, 'Nodes'), tokens),
      h('section', {'aria-label': 'Cluster'}, stats),
      h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter nodes', onsubmit: (e) => e.preventDefault()},
        h('div', {class: 'field'}, h('label', {for: 'nodes-q'}, 'Search'), search),
        h('div', {class: 'field'}, h('label', {for: 'nodes-status'}, 'Status'), status),
        h('div', {class: 'field'}, h('label', {for: 'nodes-site'}, 'Site'), site),
        h('div', {class: 'field'}, h('label', {for: 'nodes-pool'}, 'Pool'), pool),
        h('div', {class: 'field'}, h('label', {for: 'nodes-limit'}, 'Page size'), limit)),
      t.el, pager.el);

    return {
      async refresh() {
        const params = new URLSearchParams({limit: filters.limit, offset: String(pager.offset)});
        for (const key of ['q', 'status', 'site', 'pool']) if (filters[key]) params.set(key, filters[key]);
        const [page, st] = await Promise.all([api.get(`/api/nodes?${params}`, {signal: ctx.signal}),
                                              api.get('/api/nodes/stats', {signal: ctx.signal})]);
        rows.render(page.items);
        t.setEmpty(page.items.length === 0);
        pager.update(page.items.length, page.total, Number(filters.limit));
        replace(stats, statsCards(st));
      },
    };
  },
};
