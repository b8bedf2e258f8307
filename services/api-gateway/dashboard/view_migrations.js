// Migration plans (issue 14): what the migration-planner decided for each failed or draining node
// and organisation. Plans awaiting approval (organisations with the manual policy) come first,
// with Approve / Reject (and an optional note) for operators; every plan opens to its migrations
// and their steps.
import {h, replace, int, timeEl, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {OffsetPager, table, formDialog, field, toast, notice} from './ui.js';
import {migrationStateBadge, stepsList} from './deployments.js';

const PAGE = 50;

function summaryText(s) {
  if (!s || !Object.keys(s).length) return DASH;
  return Object.entries(s).filter(([, v]) => v).map(([k, v]) => `${int(v)} ${k}`).join(' · ') || DASH;
}

// Approve or reject with an optional note; resolves true when done.
function decide(plan, action) {
  const verb = action === 'approve' ? 'Approve' : 'Reject';
  return formDialog({
    title: `${verb} the plan for ${plan.node_name || `node ${plan.node_id}`} (${plan.organization})?`,
    submitLabel: verb,
    build(body) {
      const note = h('input', {name: 'note', maxlength: 1000, 'data-testid': 'decision-note'});
      body.append(h('p', {}, action === 'approve' ? 'Its containers move to other nodes now.' : 'Nothing moves; the plan is closed.'),
                  field('Note (optional)', note, 'Kept with the decision.'));
      return {note};
    },
    async submit({note}) {
      const text = note.value.trim();
      await api.post(`/api/migration-plans/${plan.id}/${action}`, text ? {note: text} : {});
      toast(`Plan ${plan.id} ${action === 'approve' ? 'approved' : 'rejected'}.`, 'ok');
      return true;
    },
  });
}

function planRow(plan, ctx, open) {
  const tr = h('tr', {'data-testid': 'plan-row', 'data-plan-id': String(plan.id), 'data-state': plan.state});
  const buttons = [];
  if (plan.state === 'awaiting_approval' && session.can('operator')) {
    for (const action of ['approve', 'reject']) {
      const b = h('button', {type: 'button', class: ['btn', 'btn-small', action === 'reject' ? 'btn-danger' : 'btn-primary'],
                             'data-testid': `plan-${action}`}, action === 'approve' ? 'Approve' : 'Reject');
      b.addEventListener('click', async () => {
        if (await decide(plan, action)) ctx.refreshNow();
      });
      buttons.push(b);
    }
  }
  const show = h('button', {type: 'button', class: 'btn btn-small', 'data-testid': 'plan-open', 'aria-expanded': String(open.has(plan.id))},
                 open.has(plan.id) ? 'Hide' : 'Migrations');
  show.addEventListener('click', () => {
    if (open.has(plan.id)) open.delete(plan.id);
    else open.add(plan.id);
    ctx.refreshNow();
  });
  tr.append(h('td', {class: 'num'}, String(plan.id)),
            h('td', {}, h('a', {href: `#/node/${plan.node_id}`}, plan.node_name || `node ${plan.node_id}`)),
            h('td', {}, plan.organization), h('td', {}, plan.trigger), h('td', {}, plan.policy),
            h('td', {'data-testid': 'plan-state'}, migrationStateBadge(plan.state)),
            h('td', {}, plan.reason), h('td', {}, summaryText(plan.summary)),
            h('td', {}, timeEl(plan.created_at)),
            h('td', {}, plan.decided_by ? `${plan.decided_by}${plan.decision_note ? `: ${plan.decision_note}` : ''}` : DASH),
            h('td', {}, h('div', {class: 'control-row'}, ...buttons, show)));
  return tr;
}

async function planDetail(id, signal) {
  const p = await api.get(`/api/migration-plans/${id}`, {signal});
  const items = p.migrations || [];
  return h('tr', {class: 'plan-detail', 'data-testid': 'plan-detail'},
           h('td', {colspan: 11},
             items.length
               ? h('ul', {class: 'plain-list'}, items.map((m) => h('li', {'data-testid': 'plan-migration'},
                   h('details', {}, h('summary', {}, migrationStateBadge(m.state),
                     ` ${m.service || `deployment ${m.deployment_id}`} replica ${m.replica}: ${m.from_node_name || DASH} → ${m.to_node_name || DASH} — ${m.reason}`),
                     stepsList(m.steps)))))
               : h('p', {class: 'muted'}, 'No migration in this plan.')));
}

export default {
  title: 'Migrations',
  mount(root, ctx) {
    append(root, h('p', {class: 'breadcrumb'}, h('a', {href: '#/deployments'}, '← Deployments')), h('h1', {}, 'Migrations'));
    const columns = [{label: 'Plan', class: 'num'}, {label: 'Node'}, {label: 'Organisation'}, {label: 'Trigger'}, {label: 'Policy'},
                     {label: 'State'}, {label: 'Reason'}, {label: 'Moves'}, {label: 'Created'}, {label: 'Decided'}, {label: ''}];
    const waiting = table(columns, {caption: 'Plans awaiting approval', testid: 'plans-waiting', emptyText: 'No plan awaits approval.'});
    const history = table(columns, {caption: 'Plans', testid: 'plans-table', emptyText: 'No migration plan yet.'});
    const pager = new OffsetPager(() => ctx.refreshNow(), 'Plan pages');
    const open = new Set();
    const only = Number(ctx.query.get('plan'));
    if (Number.isInteger(only) && only > 0) open.add(only);
    append(root, session.can('operator') ? null : notice('Operators approve or reject plans; you see them.'),
           h('h2', {}, 'Awaiting approval'), waiting.el, h('h2', {class: 'spaced'}, 'All plans'), history.el, pager.el);

    async function fill(tbody, plans) {
      const rowsOut = [];
      for (const p of plans) {
        rowsOut.push(planRow(p, ctx, open));
        if (open.has(p.id)) rowsOut.push(await planDetail(p.id, ctx.signal));
      }
      replace(tbody, ...rowsOut);
    }

    return {
      async refresh() {
        const w = await api.get('/api/migration-plans?state=awaiting_approval&limit=100', {signal: ctx.signal});
        const params = new URLSearchParams({limit: String(PAGE), offset: String(pager.offset)});
        const all = await api.get(`/api/migration-plans?${params}`, {signal: ctx.signal});
        await fill(waiting.tbody, w.items);
        waiting.setEmpty(w.items.length === 0);
        await fill(history.tbody, all.items.filter((p) => p.state !== 'awaiting_approval'));
        history.setEmpty(all.items.length === 0);
        pager.update(all.items.length, all.total ?? all.items.length, PAGE);
      },
    };
  },
};
