// Rules: the list (#/rules) and, through view_rule_form.js, the form (#/rules/new, #/rules/<id>).
import {h, timeEl, stateBadge, durationText, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {KeyedRows, table, showError, toast} from './ui.js';
import ruleForm from './view_rule_form.js';

export function scopeText(scope) {
  if (!scope) return 'all workers';
  const parts = [];
  if (scope.kind) parts.push(scope.kind);
  if (scope.farm_id) parts.push(`farm ${scope.farm_id}`);
  if (scope.worker_id) parts.push(`worker ${scope.worker_id}`);
  if (scope.labels && Object.keys(scope.labels).length) {
    parts.push(Object.entries(scope.labels).map(([k, v]) => `${k}=${v}`).join(', '));
  }
  return parts.length ? parts.join(' · ') : 'all workers';
}

export function ladderText(actions) {
  if (!actions || !actions.length) return 'none';
  return actions.map((a) => (typeof a === 'string' ? a : (a.after && a.after !== '0s' ? `${a.action} after ${durationText(a.after)}` : a.action)))
    .join(' → ');
}

function mountList(root, ctx) {
  const canAct = session.can('operator');
  const columns = [{label: 'Name'}, {label: 'Enabled'}, {label: 'Severity'}, {label: 'Condition'}, {label: 'Scope'},
                   {label: 'For'}, {label: 'Actions'}, {label: 'Updated'}];
  const t = table(columns, {caption: 'Rules', testid: 'rules-table', emptyText: 'No rules yet.'});
  const rows = new KeyedRows(t.tbody, () => {
    const row = {};
    row.el = h('tr', {'data-testid': 'rule-row'});
    row.update = (r) => {
      row.el.dataset.name = r.name;
      row.el.classList.toggle('row-disabled', !r.enabled);
      let enabledCell;
      if (canAct) {
        const box = h('input', {type: 'checkbox', class: 'switch', checked: r.enabled, 'aria-label': `Enabled: ${r.name}`});
        box.addEventListener('change', async () => {
          const want = box.checked;
          box.disabled = true;
          try {
            await api.patch(`/api/rules/${r.id}`, {enabled: want});
            toast(`Rule ${r.name} ${want ? 'enabled' : 'disabled'}.`, 'ok');
          } catch (e) {
            box.checked = !want;
            showError(e, `Rule ${r.name} not changed`);
          } finally {
            box.disabled = false;
          }
        });
        enabledCell = h('td', {}, box);
      } else {
        enabledCell = h('td', {}, r.enabled ? 'yes' : 'no');
      }
      row.el.replaceChildren(
        h('td', {}, h('a', {href: `#/rules/${r.id}`}, r.name)),
        enabledCell,
        h('td', {}, stateBadge(r.severity)),
        h('td', {}, h('code', {class: 'condition'}, r.condition)),
        h('td', {}, scopeText(r.scope)),
        h('td', {}, durationText(r.for) || DASH),
        h('td', {}, ladderText(r.actions)),
        h('td', {}, timeEl(r.updated_at)));
    };
    return row;
  });
  const add = canAct ? h('a', {class: 'btn btn-primary', href: '#/rules/new', 'data-testid': 'new-rule'}, 'New rule') : null;
  append(root, h('div', {class: 'title-row'}, h('h1', {}, 'Rules'), add),
              h('p', {class: 'muted'}, 'A rule says when a worker is in trouble (condition), for how long, and what to do (escalation ladder). See docs/rules.md for the language.'),
              t.el);
  return {
    async refresh() {
      const r = await api.get('/api/rules', {signal: ctx.signal});
      rows.render(r.items);
      t.setEmpty(r.items.length === 0);
    },
  };
}

export default {
  title: 'Rules',
  mount(root, ctx) {
    if (ctx.params.length) return ruleForm.mount(root, ctx);
    return mountList(root, ctx);
  },
};
