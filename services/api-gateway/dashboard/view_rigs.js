// HiveOS workers (issue 11): GPU rigs and HiveOS-managed ASICs beside the Vnish miners. Cards for
// the totals (rigs by status, GPUs, hashrate, power, accounts failing) over a table of rigs with
// their status, farm, account, GPUs, hashrate, hottest temperature, power and HiveOS's problems;
// a rig whose account could not be read is marked stale (its values are the last known ones).
// Filters run on the server; one page (limit + offset) is fetched and updated in place.
import {h, replace, int, hashrate, power, temp, stateBadge, badge, timeEl, debounce, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {OffsetPager, KeyedRows, table, select} from './ui.js';

export const RIG_STATUSES = ['online', 'unhealthy', 'pending', 'offline', 'unreachable', 'removed'];
const PAGE_SIZES = ['25', '50', '100', '250', '500'];

// HiveOS's problem words as the HiveOS web UI says them.
export const PROBLEMS = {
  overheat: 'overheated', overload: 'overloaded', low_asr: 'low share ratio', has_invalid: 'invalid shares',
  missed_unit: 'missing GPU/board', missed_hashrate: 'missing hashrate', missed_temp: 'missing temperature',
  missed_fan: 'missing fan', no_hashrate: 'no hashrate', error_message: 'error message', no_fs: 'no flight sheet',
};

export function problemBadges(problems) {
  return (problems || []).map((p) => [badge(PROBLEMS[p] || p, p === 'overheat' || p === 'no_hashrate' ? 'bad' : 'warn'), ' ']);
}

function tempClass(t) {
  if (t === null || t === undefined) return '';
  if (t >= 85) return 'value-bad';
  if (t >= 75) return 'value-warn';
  return '';
}

function card(testid, title, ...body) {
  return h('section', {class: 'card', 'data-testid': testid}, h('h2', {}, title), ...body);
}

function statsCards(st) {
  const byStatus = Object.entries(st.by_status || {}).filter(([, n]) => n > 0);
  const accounts = st.accounts || {};
  return [
    card('rigs-stats-total', 'Rigs', h('p', {class: 'big-number'}, int(st.total)),
         h('ul', {class: 'status-counts'}, byStatus.map(([status, n]) =>
           h('li', {'data-status': status}, stateBadge(status), ' ', h('span', {class: 'count'}, int(n)))))),
    card('rigs-stats-gpus', 'GPUs', h('p', {class: 'big-number'}, int(st.gpus)),
         h('p', {class: 'muted'}, `${int(st.with_problems)} rigs with problems`)),
    card('rigs-stats-hashrate', 'Hashrate', h('p', {class: 'big-number'}, hashrate(st.hashrate_ths)),
         h('p', {class: 'muted'}, `${power(st.power_w)} drawn by online rigs`)),
    card('rigs-stats-accounts', 'HiveOS accounts',
         h('p', {class: 'big-number'}, int((accounts.ok || 0) + (accounts.failing || 0) + (accounts.pending || 0))),
         accounts.failing ? h('p', {class: 'value-bad', 'data-testid': 'rigs-accounts-failing'},
                              `${int(accounts.failing)} failing: ${int(st.stale)} rigs show their last known values`)
                          : h('p', {class: 'muted'}, 'All synced.')),
  ];
}

export default {
  title: 'Rigs',
  mount(root, ctx) {
    const q = ctx.query;
    const filters = {
      q: q.get('q') || '',
      status: RIG_STATUSES.includes(q.get('status')) ? q.get('status') : '',
      problem: Object.hasOwn(PROBLEMS, q.get('problem') || '') ? q.get('problem') : '',
      account_id: /^\d+$/.test(q.get('account_id') || '') ? q.get('account_id') : '',
      limit: PAGE_SIZES.includes(q.get('limit')) ? q.get('limit') : '100',
    };
    const search = h('input', {type: 'search', id: 'rigs-q', value: filters.q, placeholder: 'Name or address',
                               'data-testid': 'rigs-search'});
    const status = select([['', 'Any'], ...RIG_STATUSES.map((s) => [s, s])], filters.status,
                          {id: 'rigs-status', 'data-testid': 'rigs-status'});
    const problem = select([['', 'Any'], ...Object.entries(PROBLEMS)], filters.problem,
                           {id: 'rigs-problem', 'data-testid': 'rigs-problem'});
    const limit = select(PAGE_SIZES.map((n) => [n, `${n} per page`]), filters.limit, {id: 'rigs-limit'});
    const pager = new OffsetPager(() => ctx.refreshNow(), 'Rig pages');

    const t = table([{label: 'Name'}, {label: 'Status'}, {label: 'Farm'}, {label: 'GPUs / boards', class: 'num'},
                     {label: 'Hashrate', class: 'num'}, {label: 'Temperature', class: 'num'}, {label: 'Power', class: 'num'},
                     {label: 'Problems'}, {label: 'HiveOS stats'}, {label: 'Account'}],
                    {caption: 'HiveOS rigs', testid: 'rigs-table', emptyText: 'No rig matches these filters.'});
    const rows = new KeyedRows(t.tbody, (first) => {
      const row = {};
      row.el = h('tr', {'data-testid': 'rig-row', 'data-id': first.id});
      row.update = (r) => {
        const m = r.metrics || {};
        const hottest = m.gpu_temp_max ?? m.temperature ?? null;
        row.el.dataset.name = r.name;
        row.el.dataset.status = r.status;
        row.el.classList.toggle('row-offline', r.status === 'offline' || r.status === 'unreachable');
        row.el.classList.toggle('row-unhealthy', r.status === 'unhealthy');
        const units = r.platform === 2 ? `${int(r.boards)} boards`
          : m.gpus_offline ? h('span', {class: 'value-bad'}, `${int(m.gpus_online)} / ${int(r.gpus)}`) : int(r.gpus);
        row.el.replaceChildren(
          h('td', {}, h('a', {href: `#/rig/${r.id}`}, r.name), r.ip ? h('div', {class: 'muted small mono'}, r.ip) : null),
          h('td', {'data-testid': 'rig-status'}, stateBadge(r.status), r.stale ? [' ', badge('stale', 'warn')] : null),
          h('td', {}, r.farm ? r.farm.name : DASH),
          h('td', {class: 'num'}, units),
          h('td', {class: 'num', 'data-testid': 'rig-hashrate'}, hashrate(m.hashrate)),
          h('td', {class: ['num', tempClass(hottest)], 'data-testid': 'rig-temp'}, temp(hottest)),
          h('td', {class: 'num'}, power(m.power)),
          h('td', {'data-testid': 'rig-problems'}, r.problems?.length ? problemBadges(r.problems) : DASH),
          h('td', {}, r.stats_time ? timeEl(r.stats_time) : h('span', {class: 'muted'}, 'none')),
          h('td', {}, r.account.name, r.account.state === 'failing' ? [' ', badge('failing', 'bad')] : null));
      };
      return row;
    });

    const apply = () => {
      filters.q = search.value.trim();
      filters.status = status.value;
      filters.problem = problem.value;
      filters.limit = limit.value;
      ctx.setQuery(filters);
      pager.reset();
      ctx.refreshNow();
    };
    search.addEventListener('input', debounce(apply, 300));
    for (const el of [status, problem, limit]) el.addEventListener('change', apply);

    const stats = h('div', {class: 'cards', 'data-testid': 'rigs-stats'});
    const accountsLink = h('a', {class: 'btn', href: '#/hiveos', 'data-testid': 'rigs-accounts-link'},
                           session.can('operator') ? 'HiveOS accounts' : 'HiveOS accounts (read only)');
    append(root,
      h('div', {class: 'title-row'}, h('h1', {}, 'Rigs'), accountsLink),
      h('p', {class: 'muted'}, 'GPU rigs and ASICs managed by HiveOS, read through the HiveOS API by hiveos-sync.'),
      h('section', {'aria-label': 'Rig totals'}, stats),
      h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter rigs', onsubmit: (e) => e.preventDefault()},
        h('div', {class: 'field'}, h('label', {for: 'rigs-q'}, 'Search'), search),
        h('div', {class: 'field'}, h('label', {for: 'rigs-status'}, 'Status'), status),
        h('div', {class: 'field'}, h('label', {for: 'rigs-problem'}, 'Problem'), problem),
        h('div', {class: 'field'}, h('label', {for: 'rigs-limit'}, 'Page size'), limit)),
      t.el, pager.el);

    return {
      async refresh() {
        const params = new URLSearchParams({limit: filters.limit, offset: String(pager.offset)});
        for (const key of ['q', 'status', 'problem', 'account_id']) if (filters[key]) params.set(key, filters[key]);
        const [page, st] = await Promise.all([api.get(`/api/rigs?${params}`, {signal: ctx.signal}),
                                              api.get('/api/rigs/stats', {signal: ctx.signal})]);
        rows.render(page.items);
        t.setEmpty(page.items.length === 0);
        pager.update(page.items.length, page.total, Number(filters.limit));
        replace(stats, statsCards(st));
      },
    };
  },
};
