// Fleet overview: workers by kind and status, total hashrate and power, firing alerts and the
// health of the fleetward processes.
import {h, replace, hashrate, power, num, int, stateBadge, timeEl, append} from './dom.js';
import {api} from './api.js';
import {errorText} from './ui.js';

const KIND_NAMES = {asic: 'ASIC miners', rig: 'GPU rigs', node: 'Container nodes', device: 'Devices'};
// The kinds with a page of their own.
const KIND_PAGES = {node: '#/nodes'};
const STATUS_ORDER = ['online', 'unhealthy', 'draining', 'pending', 'unreachable', 'offline', 'removed'];

function kindCard(kind, counts) {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const statuses = Object.keys(counts).sort((a, b) => {
    const ia = STATUS_ORDER.indexOf(a);
    const ib = STATUS_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  return h('section', {class: 'card', 'aria-labelledby': `kind-${kind}`, 'data-testid': `kind-${kind}`},
           h('h2', {id: `kind-${kind}`}, KIND_PAGES[kind] ? h('a', {href: KIND_PAGES[kind]}, KIND_NAMES[kind]) : (KIND_NAMES[kind] || kind)),
           h('p', {class: 'big-number'}, int(total)),
           h('ul', {class: 'status-counts'},
             statuses.map((st) => h('li', {}, stateBadge(st), ' ', h('span', {class: 'count'}, int(counts[st]))))));
}

export default {
  title: 'Overview',
  mount(root, ctx) {
    const kinds = h('div', {class: 'cards'});
    const totals = h('div', {class: 'cards'});
    const alertsBox = h('div', {});
    const servicesBox = h('div', {});
    append(root,
      h('h1', {}, 'Fleet overview'),
      h('section', {'aria-label': 'Totals'}, totals),
      h('section', {'aria-label': 'Workers by kind and status'}, kinds),
      h('div', {class: 'two-col'},
        h('section', {class: 'panel', 'aria-labelledby': 'ov-alerts'}, h('h2', {id: 'ov-alerts'}, 'Firing alerts'), alertsBox),
        h('section', {class: 'panel', 'aria-labelledby': 'ov-services'}, h('h2', {id: 'ov-services'}, 'Services'), servicesBox)));

    async function refreshAlerts() {
      try {
        const page = await api.get('/api/alerts?state=firing&limit=10', {signal: ctx.signal});
        if (!page.items.length) {
          replace(alertsBox, h('p', {class: 'muted'}, 'No alert is firing.'));
          return;
        }
        replace(alertsBox, h('ul', {class: 'alert-list'}, page.items.map((a) =>
          h('li', {}, stateBadge(a.severity), ' ', h('strong', {}, a.rule_name), ' on ',
            h('a', {href: `#/miner/${a.worker_id}`}, a.worker_name || `worker ${a.worker_id}`), ' · ',
            timeEl(a.fired_at || a.started_at)))),
          page.next ? h('p', {}, h('a', {href: '#/alerts?state=firing'}, 'All firing alerts →')) : null);
      } catch (e) {
        if (e.name === 'AbortError') throw e;
        replace(alertsBox, h('p', {class: 'muted'}, errorText(e)));
      }
    }

    async function refreshServices() {
      try {
        const r = await api.get('/api/services', {signal: ctx.signal});
        const byState = {};
        for (const it of r.items) byState[it.state] = (byState[it.state] || 0) + 1;
        const problems = r.items.filter((it) => it.state !== 'running' && it.state !== 'stopped');
        replace(servicesBox,
                h('ul', {class: 'status-counts'}, Object.entries(byState).map(([st, n]) =>
                  h('li', {}, stateBadge(st), ' ', h('span', {class: 'count'}, int(n))))),
                r.items.length === 0 ? h('p', {class: 'muted'}, 'No fleetward process has reported yet.') : null,
                problems.length ? h('ul', {class: 'plain'}, problems.slice(0, 5).map((p) =>
                  h('li', {}, stateBadge(p.state), ` ${p.service} on ${p.host} (pid ${p.pid})`))) : null,
                h('p', {}, h('a', {href: '#/services'}, 'Service details →')));
      } catch (e) {
        if (e.name === 'AbortError') throw e;
        replace(servicesBox, h('p', {class: 'muted'}, errorText(e)));
      }
    }

    return {
      async refresh() {
        const [summary] = await Promise.all([api.get('/api/summary', {signal: ctx.signal}), refreshAlerts(), refreshServices()]);
        const workers = summary.workers || {};
        const entries = Object.entries(workers);
        replace(kinds, entries.length ? entries.map(([k, c]) => kindCard(k, c))
                                      : h('p', {class: 'muted'}, 'No workers yet: discovery has not found any.'));
        const eff = summary.hashrate_ths > 0 ? summary.power_w / summary.hashrate_ths : null;
        replace(totals,
                h('div', {class: 'card stat', 'data-testid': 'total-hashrate'}, h('h2', {}, 'Total hashrate'),
                  h('p', {class: 'big-number'}, hashrate(summary.hashrate_ths))),
                h('div', {class: 'card stat', 'data-testid': 'total-power'}, h('h2', {}, 'Total power'),
                  h('p', {class: 'big-number'}, power(summary.power_w))),
                h('div', {class: 'card stat'}, h('h2', {}, 'Efficiency'),
                  h('p', {class: 'big-number'}, eff === null ? '–' : `${num(eff, 1)} J/TH`)),
                h('div', {class: ['card', 'stat', summary.alerts_firing > 0 ? 'card-alert' : ''], 'data-testid': 'alerts-firing'},
                  h('h2', {}, 'Alerts firing'),
                  h('p', {class: 'big-number'}, summary.alerts_firing === undefined ? '–' : int(summary.alerts_firing))));
      },
    };
  },
};
