// One container host node (issue 13): its facts (host, addresses, OS, engine, agent,
// registration and credential), the current load, the containers of its last heartbeat, the
// history of its status with the reasons, charts of its load and containers from the readings,
// and the actions the user's role allows (drain / undrain; revoke the credential; remove).
import {h, replace, int, timeEl, stateBadge, dateTime, badge, DASH, append} from './dom.js';
import {api} from './api.js';
import {errorText, InputError} from './ui.js';
import {metricCharts} from './metric_charts.js';
import {loadMeter, containersText, capacityText, nodeActionButtons} from './nodes.js';

const percentPoint = (v) => (v === null || v === undefined ? DASH : `${Math.round(v)} %`);
const CHARTS = [
  {metric: 'cpu_percent', label: 'CPU', format: percentPoint},
  {metric: 'memory_percent', label: 'Memory', format: percentPoint},
  {metric: 'disk_percent', label: 'Disk', format: percentPoint},
  {metric: 'containers', label: 'Containers', format: int},
];

function dl(pairs) {
  return h('dl', {class: 'facts'}, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function section(title, id, ...children) {
  return h('section', {class: 'panel', 'aria-labelledby': id}, h('h2', {id}, title), ...children);
}

function inlineError(el, e) {
  if (e && e.name === 'AbortError') throw e;
  replace(el, h('p', {class: 'muted'}, errorText(e)));
}

function mono(text) {
  return text ? h('span', {class: 'mono'}, text) : DASH;
}

export default {
  title: 'Node',
  mount(root, ctx) {
    const id = Number(ctx.params[0]);
    if (!Number.isInteger(id) || id < 1) throw new InputError('No such node: the address must end in a node id.');
    let actionsKey = null;

    const title = h('h1', {}, `Node ${id}`);
    const subtitle = h('p', {class: 'subtitle view-status', 'data-testid': 'node-status'});
    const actions = h('div', {class: 'control-row', role: 'group', 'aria-label': 'Node actions', 'data-testid': 'node-actions'});
    const facts = h('div', {'data-testid': 'node-facts'});
    const loadBox = h('div', {'data-testid': 'node-load'});
    const containersBox = h('div', {});
    const historyBox = h('div', {});
    const charts = metricCharts({workerId: id, charts: CHARTS, ctx, testid: 'node-charts',
                                 emptyText: 'the node agent sends them with each heartbeat.'});

    append(root,
      h('p', {class: 'breadcrumb'}, h('a', {href: '#/nodes'}, '← Nodes')),
      h('div', {class: 'title-row'}, title, h('div', {class: 'controls'}, actions)),
      subtitle,
      h('div', {class: 'two-col'}, section('Host', 'n-facts', facts), section('Current load', 'n-load', loadBox)),
      section('Load and containers', 'n-charts', charts.toggle, charts.box),
      section('Containers', 'n-containers', containersBox),
      section('Status history', 'n-history', historyBox));

    function renderNode(n) {
      title.textContent = n.name;
      document.title = `${n.name} · fleetward`;
      replace(subtitle, stateBadge(n.status), n.credential_revoked ? [' ', badge('credential revoked', 'bad')] : null,
              n.status_reason ? ` ${n.status_reason}` : '', n.status_since ? [' · since ', timeEl(n.status_since)] : null);
      replace(facts, dl([
        ['Host name', mono(n.hostname)],
        ['Addresses', (n.addresses || []).length ? h('span', {class: 'mono'}, n.addresses.join(', ')) : DASH],
        ['OS', n.os || DASH],
        ['Kernel', n.kernel ? mono(n.kernel) : DASH],
        ['Engine', n.engine ? `${n.engine}${n.engine_version ? ` ${n.engine_version}` : ''}` : DASH],
        ['Agent', n.agent_version || DASH],
        ['Capacity', capacityText(n.capacity)],
        ['Site / pool', `${n.site || DASH} / ${n.pool || DASH}`],
        n.machine_id ? ['Machine id', mono(n.machine_id)] : null,
        ['Registered', h('span', {title: dateTime(n.registered_at)}, timeEl(n.registered_at))],
        ['Credential', n.credential_revoked ? badge('revoked', 'bad')
                                            : ['rotated ', h('span', {title: dateTime(n.credential_rotated_at)}, timeEl(n.credential_rotated_at))]],
      ]));
      const load = n.load || {};
      const over = (n.over_limit || []).filter(Boolean);
      replace(loadBox, dl([
        ['CPU', loadMeter(load.cpu_percent, 'cpu', 'CPU')],
        ['Memory', loadMeter(load.memory_percent, 'memory', 'Memory')],
        ['Disk', loadMeter(load.disk_percent, 'disk', 'Disk')],
        ['Average', loadMeter(load.average, 'average', 'Average load')],
        ['Containers', h('span', {'data-testid': 'node-containers'}, `${containersText(n.containers_running, n.containers)} running`)],
        ['Last heartbeat', n.last_heartbeat_at ? h('span', {'data-testid': 'node-heartbeat', title: dateTime(n.last_heartbeat_at)},
                                                   timeEl(n.last_heartbeat_at)) : h('span', {class: 'muted'}, 'never')],
        over.length ? ['Over limit', h('span', {class: 'value-bad'}, over.join(', '))] : null,
      ]));
      const list = n.container_list || [];
      replace(containersBox, list.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'table compact', 'data-testid': 'node-container-list'},
        h('thead', {}, h('tr', {}, ['Name', 'Image', 'State', 'Status', 'Id'].map((x) => h('th', {scope: 'col'}, x)))),
        h('tbody', {}, list.map((c) => h('tr', {'data-testid': 'node-container-row'},
          h('td', {}, c.name || DASH), h('td', {class: 'mono'}, c.image || DASH), h('td', {}, stateBadge(c.state)),
          h('td', {}, c.status || DASH), h('td', {class: 'mono small'}, c.id ? String(c.id).slice(0, 12) : DASH))))))
        : h('p', {class: 'muted'}, n.last_heartbeat_at ? 'No containers in the last heartbeat.' : 'No heartbeat yet.'));
      // The buttons are rebuilt only when what they depend on changes (keeps the focus).
      const key = `${n.status}|${n.credential_revoked}`;
      if (key !== actionsKey) {
        actionsKey = key;
        replace(actions, nodeActionButtons(n, () => ctx.refreshNow()));
      }
    }

    async function refreshHistory() {
      try {
        const r = await api.get(`/api/workers/${id}/status-history?limit=50`, {signal: ctx.signal});
        const items = r.items || [];
        replace(historyBox, items.length ? h('table', {class: 'table compact', 'data-testid': 'node-history'},
          h('thead', {}, h('tr', {}, ['When', 'From', 'To', 'Reason', 'By'].map((x) => h('th', {scope: 'col'}, x)))),
          h('tbody', {}, items.map((e) => h('tr', {'data-testid': 'node-history-row'},
            h('td', {title: dateTime(e.at)}, timeEl(e.at)), h('td', {}, stateBadge(e.from)), h('td', {}, stateBadge(e.to)),
            h('td', {}, e.reason || DASH), h('td', {class: 'muted small'}, e.changed_by || DASH)))))
          : h('p', {class: 'muted'}, 'The status has not changed yet.'));
      } catch (e) {
        inlineError(historyBox, e);
      }
    }

    return {
      async refresh() {
        const n = await api.get(`/api/nodes/${id}`, {signal: ctx.signal});
        renderNode(n);
        await Promise.all([refreshHistory(), charts.refresh()]);
      },
    };
  },
};
