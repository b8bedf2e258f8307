// Alerts: open episodes (pending and firing) and the history, with acknowledgement.
import {h, replace, timeEl, stateBadge, dateTime, num, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {KeyedRows, Pager, table, showError, infoDialog, errorText, toast} from './ui.js';

const TABS = [['open', 'Open'], ['firing', 'Firing'], ['pending', 'Pending'], ['resolved', 'History']];

function eventTime(e) {
  return e.at ?? e.created_at ?? e.occurred_at ?? e.ts ?? e.observed_at ?? null;
}

async function showEvents(alert) {
  const body = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
  infoDialog(`Alert #${alert.id}: ${alert.rule_name} on ${alert.worker_name || `worker ${alert.worker_id}`}`, body);
  try {
    const a = await api.get(`/api/alerts/${alert.id}`);
    const events = a.events || [];
    replace(body,
            h('dl', {class: 'facts'},
              h('dt', {}, 'State'), h('dd', {}, stateBadge(a.state)),
              h('dt', {}, 'Severity'), h('dd', {}, stateBadge(a.severity)),
              h('dt', {}, 'Started'), h('dd', {}, dateTime(a.started_at)),
              h('dt', {}, 'Fired'), h('dd', {}, dateTime(a.fired_at)),
              h('dt', {}, 'Resolved'), h('dd', {}, dateTime(a.resolved_at)),
              h('dt', {}, 'Muted by'), h('dd', {}, a.suppressed_by || DASH),
              h('dt', {}, 'Acknowledged'), h('dd', {}, a.acknowledged_at ? `${dateTime(a.acknowledged_at)} by ${a.acknowledged_by}` : 'no')),
            h('h3', {}, 'Events'),
            events.length ? h('ul', {class: 'plain events'}, events.map((e) => {
              const rest = {...e};
              for (const k of ['id', 'alert_id', 'event', 'at', 'created_at', 'occurred_at', 'ts', 'observed_at']) delete rest[k];
              return h('li', {}, h('strong', {}, e.event || e.kind || 'event'), ' · ', dateTime(eventTime(e)),
                       Object.keys(rest).length ? h('pre', {class: 'json'}, JSON.stringify(rest, null, 2)) : null);
            })) : h('p', {class: 'muted'}, 'No events recorded.'));
  } catch (e) {
    replace(body, h('p', {class: 'error-box'}, errorText(e)));
  }
}

export default {
  title: 'Alerts',
  mount(root, ctx) {
    const canAct = session.can('operator');
    let tab = TABS.some(([k]) => k === ctx.query.get('state')) ? ctx.query.get('state') : 'open';
    const pager = new Pager(() => ctx.refreshNow(), 'Alert pages');
    const tabs = h('div', {class: 'segmented', role: 'group', 'aria-label': 'Which alerts'});
    for (const [key, label] of TABS) {
      const b = h('button', {type: 'button', class: 'btn', 'aria-pressed': String(key === tab), 'data-tab': key}, label);
      b.addEventListener('click', () => {
        tab = key;
        for (const x of tabs.children) x.setAttribute('aria-pressed', String(x === b));
        ctx.setQuery({state: key});
        pager.reset();
        rows.clear();
        ctx.refreshNow();
      });
      tabs.append(b);
    }
    const columns = [{label: 'Severity'}, {label: 'Rule'}, {label: 'Worker'}, {label: 'State'}, {label: 'Started'},
                     {label: 'Fired'}, {label: 'Resolved'}, {label: 'Value', class: 'num'}, {label: 'Muted by'},
                     {label: 'Acknowledged'}, {label: ''}];
    const t = table(columns, {caption: 'Alerts', testid: 'alerts-table', emptyText: 'No alerts here.'});
    const rows = new KeyedRows(t.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'alert-row'});
      row.update = (a) => {
        row.item = a;
        const ackCell = h('td');
        if (a.acknowledged_at) {
          ackCell.append(h('span', {title: dateTime(a.acknowledged_at)}, `by ${a.acknowledged_by || '?'}`));
        } else if (canAct && a.state !== 'resolved') {
          const ack = h('button', {type: 'button', class: 'btn btn-small', 'data-testid': 'ack'}, 'Acknowledge');
          ack.addEventListener('click', async () => {
            ack.disabled = true;
            try {
              const updated = await api.post(`/api/alerts/${a.id}/ack`, {});
              row.update({...a, acknowledged_at: new Date().toISOString(), acknowledged_by: session.user.username,
                          ...(updated && updated.id ? updated : {})});
              toast(`Alert #${a.id} acknowledged.`, 'ok');
            } catch (e) {
              ack.disabled = false;
              showError(e, 'Not acknowledged');
            }
          });
          ackCell.append(ack);
        } else {
          ackCell.append(h('span', {class: 'muted'}, 'no'));
        }
        const details = h('button', {type: 'button', class: 'btn btn-small'}, 'Events');
        details.addEventListener('click', () => showEvents(row.item));
        row.el.className = a.state === 'firing' ? `row-${a.severity === 'critical' ? 'offline' : 'unhealthy'}` : '';
        row.el.replaceChildren(
          h('td', {}, stateBadge(a.severity)),
          h('td', {}, a.rule_id ? h('a', {href: `#/rules/${a.rule_id}`}, a.rule_name) : a.rule_name),
          h('td', {}, h('a', {href: `#/miner/${a.worker_id}`}, a.worker_name || `worker ${a.worker_id}`)),
          h('td', {}, stateBadge(a.state), a.kind && a.kind !== 'condition' ? h('span', {class: 'muted small'}, ` ${a.kind}`) : null),
          h('td', {}, timeEl(a.started_at)), h('td', {}, timeEl(a.fired_at)), h('td', {}, timeEl(a.resolved_at)),
          h('td', {class: 'num'}, typeof a.value === 'number' ? num(a.value, 2) : (a.value ?? DASH)),
          h('td', {}, a.suppressed_by || DASH), ackCell, h('td', {}, details));
      };
      return row;
    });
    append(root, h('h1', {}, 'Alerts'), tabs, t.el, pager.el);
    return {
      async refresh() {
        const p = new URLSearchParams({state: tab, limit: '50'});
        if (pager.after) p.set('after', pager.after);
        const r = await api.get(`/api/alerts?${p}`, {signal: ctx.signal});
        rows.render(r.items);
        t.setEmpty(r.items.length === 0);
        pager.update(r.items.length, r.next, 50);
      },
    };
  },
};
