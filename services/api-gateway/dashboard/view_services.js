// Services health: every fleetward process (service_instances) with its state, heartbeat,
// cycles, errors and last error.
import {h, int, seconds, timeEl, stateBadge, DASH, append} from './dom.js';
import {api} from './api.js';
import {KeyedRows, table} from './ui.js';

export default {
  title: 'Services',
  mount(root, ctx) {
    let all = false;
    const allBox = h('input', {type: 'checkbox', id: 'svc-all'});
    allBox.addEventListener('change', () => {
      all = allBox.checked;
      ctx.refreshNow();
    });
    const t = table([{label: 'Service'}, {label: 'Host / pid'}, {label: 'State'}, {label: 'Mode'}, {label: 'Version'},
                     {label: 'Heartbeat'}, {label: 'Last success'}, {label: 'Cycles', class: 'num'},
                     {label: 'Errors', class: 'num'}, {label: 'Items', class: 'num'}, {label: 'Started'}, {label: 'Last error'}],
                    {caption: 'Services', testid: 'services-table', emptyText: 'No fleetward process has reported.'});
    const rows = new KeyedRows(t.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'service-row'});
      row.update = (s) => {
        row.el.className = s.state === 'failed' ? 'row-offline' : (s.state === 'stale' ? 'row-unhealthy' : '');
        row.el.replaceChildren(
          h('td', {}, h('strong', {}, s.service), s.leader === true ? h('span', {class: 'muted small'}, ' (leader)')
                                                   : (s.leader === false ? h('span', {class: 'muted small'}, ' (standby)') : null)),
          h('td', {class: 'mono'}, `${s.host} / ${s.pid}`),
          h('td', {}, stateBadge(s.state)),
          h('td', {}, s.mode || DASH),
          h('td', {class: 'mono'}, s.version || DASH),
          h('td', {}, s.heartbeat_age_seconds == null ? DASH : `${seconds(s.heartbeat_age_seconds)} ago`),
          h('td', {}, s.last_success_age_seconds == null ? 'never' : `${seconds(s.last_success_age_seconds)} ago`),
          h('td', {class: 'num'}, int(s.cycles)),
          h('td', {class: ['num', s.cycle_errors > 0 ? 'value-warn' : '']}, int(s.cycle_errors)),
          h('td', {class: 'num'}, int(s.items_processed)),
          h('td', {}, timeEl(s.started_at)),
          h('td', {class: 'last-error', title: s.last_error || ''}, s.last_error || DASH));
      };
      return row;
    });
    append(root, h('h1', {}, 'Services'),
                h('div', {class: 'filters'}, h('label', {class: 'check', for: 'svc-all'}, allBox, ' Include processes that ended over an hour ago')),
                t.el);
    return {
      async refresh() {
        const r = await api.get(`/api/services${all ? '?all=true' : ''}`, {signal: ctx.signal});
        rows.render(r.items, (s) => s.instance_id);
        t.setEmpty(r.items.length === 0);
      },
    };
  },
};
