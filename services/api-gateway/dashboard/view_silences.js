// Silences (maintenance windows): a worker, a farm, a label selector or a rule muted for a time,
// with a reason. A muted pair's episodes are still recorded; nothing is notified or acted on.
import {h, timeEl, dateTime, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {KeyedRows, table, showError, toast, confirmDialog, formDialog, field, select, InputError, parseLabels} from './ui.js';

function targetText(s) {
  const parts = [];
  if (s.worker_id) parts.push(`worker ${s.worker_id}`);
  if (s.farm_id) parts.push(`farm ${s.farm_id}`);
  if (s.rule_id) parts.push(`rule ${s.rule_id}`);
  if (s.labels && Object.keys(s.labels).length) {
    parts.push(`labels ${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
  return parts.join(' · ') || 'everything';
}

async function newSilence() {
  return formDialog({
    title: 'New silence',
    submitLabel: 'Create silence',
    build(body) {
      const kind = select([['worker_id', 'A worker (id)'], ['farm_id', 'A farm (id)'], ['rule_id', 'A rule (id)'],
                           ['labels', 'Workers with labels']], 'worker_id', {name: 'target-kind'});
      const target = h('input', {name: 'target', required: true, placeholder: '42'});
      const duration = h('input', {name: 'duration', value: '2h', placeholder: '2h'});
      const reason = h('input', {name: 'reason', required: true, maxlength: 500, placeholder: 'fan swap'});
      kind.addEventListener('change', () => {
        target.placeholder = kind.value === 'labels' ? 'rack=A, row=3' : '42';
      });
      body.append(field('Mute', kind), field('Target', target), field('For how long', duration, 'A duration such as 30m, 2h or 1d.'),
                  field('Reason', reason));
      return {kind, target, duration, reason};
    },
    async submit({kind, target, duration, reason}) {
      const body = {reason: reason.value.trim(), duration: duration.value.trim()};
      if (!body.reason) throw new InputError('Say why (the reason is shown to everyone who sees the silence).');
      if (!/^(\d+(ms|s|m|h|d))+$/.test(body.duration)) throw new InputError('Write the duration like 30m, 2h or 1d.');
      const value = target.value.trim();
      if (kind.value === 'labels') {
        body.labels = parseLabels(value);
        if (!Object.keys(body.labels).length) throw new InputError('Give at least one label, e.g. rack=A.');
      } else {
        if (!/^\d+$/.test(value)) throw new InputError('The target is a number (the id).');
        body[kind.value] = Number(value);
      }
      return api.post('/api/silences', body);
    },
  });
}

export default {
  title: 'Silences',
  mount(root, ctx) {
    const canAct = session.can('operator');
    let active = true;
    const activeBox = h('input', {type: 'checkbox', id: 'sil-ended'});
    activeBox.addEventListener('change', () => {
      active = !activeBox.checked;
      ctx.refreshNow();
    });
    const columns = [{label: '#', class: 'num'}, {label: 'Mutes'}, {label: 'From'}, {label: 'Until'}, {label: 'Reason'},
                     {label: 'By'}];
    if (canAct) columns.push({label: ''});
    const t = table(columns, {caption: 'Silences', testid: 'silences-table', emptyText: 'No silence is active.'});
    const rows = new KeyedRows(t.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'silence-row'});
      row.update = (s) => {
        const ended = s.ends_at && Date.parse(s.ends_at) <= Date.now();
        const cells = [h('td', {class: 'num'}, String(s.id)), h('td', {}, targetText(s)),
                       h('td', {title: dateTime(s.starts_at)}, timeEl(s.starts_at)),
                       h('td', {title: dateTime(s.ends_at)}, timeEl(s.ends_at)), h('td', {}, s.reason || DASH),
                       h('td', {}, s.created_by || DASH)];
        if (canAct) {
          const end = h('button', {type: 'button', class: 'btn btn-small', disabled: ended}, ended ? 'Ended' : 'End now');
          end.addEventListener('click', async () => {
            if (!(await confirmDialog({title: 'End this silence?', message: `Alerts for ${targetText(s)} notify and act again.`,
                                       confirmLabel: 'End silence'}))) return;
            try {
              await api.del(`/api/silences/${s.id}`);
              toast(`Silence #${s.id} ended.`, 'ok');
              ctx.refreshNow();
            } catch (e) {
              showError(e, 'Silence not ended');
            }
          });
          cells.push(h('td', {}, end));
        }
        row.el.replaceChildren(...cells);
      };
      return row;
    });
    const add = canAct ? h('button', {type: 'button', class: 'btn btn-primary', 'data-testid': 'new-silence'}, 'New silence') : null;
    add?.addEventListener('click', async () => {
      const created = await newSilence();
      if (created) {
        toast('Silence created.', 'ok');
        ctx.refreshNow();
      }
    });
    append(root, h('div', {class: 'title-row'}, h('h1', {}, 'Silences'), add),
                h('div', {class: 'filters'}, h('label', {class: 'check', for: 'sil-ended'}, activeBox, ' Include ended silences')),
                t.el);
    return {
      async refresh() {
        const r = await api.get(`/api/silences${active ? '?active=true' : ''}`, {signal: ctx.signal});
        rows.render(r.items);
        t.setEmpty(r.items.length === 0);
      },
    };
  },
};
