// One deployment (issue 14): what it runs and asks for, where each replica runs (placements,
// with the reason when none fits), its routes (service → node address and host port), its
// migrations with their steps; operators scale it or delete it.
import {h, replace, int, timeEl, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {KeyedRows, table, formDialog, confirmDialog, field, toast, showError, InputError} from './ui.js';
import {deploymentStateBadge, placementStateBadge, migrationStateBadge, resourcesText, routeText, stepsList} from './deployments.js';

function dl(pairs) {
  return h('dl', {class: 'facts'}, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function section(title, id, ...children) {
  return h('section', {class: 'panel', 'aria-labelledby': id}, h('h2', {id}, title), ...children);
}

async function scale(d) {
  return formDialog({
    title: `Scale ${d.service}`,
    submitLabel: 'Scale',
    build(body) {
      const replicas = h('input', {name: 'replicas', type: 'number', min: 0, max: 1000, step: 1, value: d.replicas,
                                   'data-testid': 'scale-replicas'});
      body.append(field('Replicas', replicas, '0–1000. Replicas above the number are stopped and removed.'));
      return {replicas};
    },
    async submit({replicas}) {
      const text = replicas.value.trim();
      if (!/^\d+$/.test(text) || Number(text) > 1000) throw new InputError('Replicas: a whole number from 0 to 1000.', 'replicas');
      await api.patch(`/api/deployments/${d.id}`, {replicas: Number(text)});
      toast(`${d.service}: ${text} replicas.`, 'ok');
      return true;
    },
  });
}

export default {
  title: 'Deployment',
  mount(root, ctx) {
    const id = Number(ctx.params[0]);
    if (!Number.isInteger(id) || id < 1) throw new InputError('No such deployment: the address must end in a deployment id.');
    const title = h('h1', {}, `Deployment ${id}`);
    const actions = h('div', {class: 'control-row', role: 'group', 'aria-label': 'Deployment actions'});
    const facts = h('div', {'data-testid': 'deployment-facts'});
    const placements = table([{label: 'Replica', class: 'num'}, {label: 'Node'}, {label: 'Container'}, {label: 'State'},
                              {label: 'Ports'}, {label: 'Reason'}, {label: 'Running since'}, {label: 'Retired'}],
                             {caption: 'Placements', testid: 'placements-table', emptyText: 'Not placed yet: the planner places it within a cycle.'});
    const placementRows = new KeyedRows(placements.tbody, () => {
      const row = {el: h('tr', {'data-testid': 'placement-row'})};
      row.update = (p) => {
        row.el.dataset.state = p.state;
        row.el.replaceChildren(
          h('td', {class: 'num'}, int(p.replica)),
          h('td', {}, p.node_id ? h('a', {href: `#/node/${p.node_id}`}, p.node_name || `node ${p.node_id}`) : DASH),
          h('td', {class: 'mono'}, p.container_name || DASH),
          h('td', {'data-testid': 'placement-state'}, placementStateBadge(p.state)),
          h('td', {class: 'mono'}, (p.ports || []).map((x) => `${x.container_port}→${x.host_port}`).join(', ') || DASH),
          h('td', {'data-testid': 'placement-reason'}, p.reason || DASH),
          h('td', {}, p.running_since ? timeEl(p.running_since) : DASH),
          h('td', {}, p.retired_at ? timeEl(p.retired_at) : DASH));
      };
      return row;
    });
    const routes = h('ul', {class: 'plain-list', 'data-testid': 'routes-list'});
    const migrations = h('div', {'data-testid': 'deployment-migrations'});
    append(root, h('p', {class: 'breadcrumb'}, h('a', {href: '#/deployments'}, '← Deployments')),
           h('div', {class: 'title-row'}, title, h('div', {class: 'controls'}, actions)),
           section('Deployment', 'd-facts', facts),
           section('Placements', 'd-placements', placements.el),
           section('Routes', 'd-routes', routes),
           section('Migrations', 'd-migrations', migrations));
    let actionsKey = null;

    function renderActions(d) {
      const key = `${d.state}:${d.replicas}`;
      if (key === actionsKey) return;
      actionsKey = key;
      actions.replaceChildren();
      if (!session.can('operator') || d.state !== 'active') return;
      const scaleButton = h('button', {type: 'button', class: 'btn', 'data-testid': 'deployment-scale'}, 'Scale');
      scaleButton.addEventListener('click', async () => {
        if (await scale(d)) ctx.refreshNow();
      });
      const del = h('button', {type: 'button', class: 'btn btn-danger', 'data-testid': 'deployment-delete'}, 'Delete');
      del.addEventListener('click', async () => {
        if (!(await confirmDialog({title: `Delete ${d.service}?`, confirmLabel: 'Delete', danger: true,
                                   message: 'Every container of it is stopped and removed, and its routes dropped.'}))) return;
        try {
          await api.del(`/api/deployments/${d.id}`);
          toast(`${d.service} is being deleted.`, 'ok');
          ctx.refreshNow();
        } catch (e) {
          showError(e, 'Not deleted');
        }
      });
      actions.append(scaleButton, del);
    }

    return {
      async refresh() {
        const d = await api.get(`/api/deployments/${id}`, {signal: ctx.signal});
        title.textContent = d.service || d.name;
        renderActions(d);
        replace(facts, dl([
          ['State', deploymentStateBadge(d.state)],
          ['Organisation', h('a', {href: '#/organizations'}, d.organization)],
          ['Image', h('span', {class: 'mono'}, d.image)],
          ['Command', d.command && d.command.length ? h('span', {class: 'mono'}, d.command.join(' ')) : DASH],
          ['Environment', Object.keys(d.env || {}).length ? h('span', {class: 'mono'}, Object.entries(d.env).map(([k, v]) => `${k}=${v}`).join(', ')) : DASH],
          ['Ports', (d.ports || []).map((p) => `${p.container_port}/${p.protocol || 'tcp'}`).join(', ') || DASH],
          ['Requests per replica', resourcesText(d.resources)],
          ['Replicas', h('span', {'data-testid': 'deployment-replicas'}, `${int(d.replicas_running ?? 0)} running of ${int(d.replicas)}`)],
          ['Pool', d.pool],
          ['Anti-affinity key', d.anti_affinity_key || DASH],
          ['Max unavailable', int(d.max_unavailable)],
          ['Labels', Object.keys(d.labels || {}).length ? Object.entries(d.labels).map(([k, v]) => `${k}=${v}`).join(', ') : DASH],
          ['Created', h('span', {}, timeEl(d.created_at), d.created_by ? ` by ${d.created_by}` : '')],
        ]));
        placementRows.render(d.placements || []);
        placements.setEmpty(!(d.placements || []).length);
        replace(routes, ...((d.routes || []).length
          ? d.routes.map((r) => h('li', {class: 'mono', 'data-testid': 'route'}, routeText(r),
                                  h('span', {class: 'muted small'}, ` (replica ${r.replica}, version ${r.version})`)))
          : [h('li', {class: 'muted'}, 'No route yet: one appears when a replica runs.')]));
        replace(migrations, ...((d.migrations || []).length
          ? d.migrations.map((m) => h('details', {class: 'migration', 'data-testid': 'migration'},
              h('summary', {}, migrationStateBadge(m.state), ` replica ${m.replica}: ${m.from_node_name || DASH} → ${m.to_node_name || DASH} — ${m.reason}`),
              h('p', {}, h('a', {href: `#/migrations?plan=${m.plan_id}`}, `Plan ${m.plan_id}`)), stepsList(m.steps)))
          : [h('p', {class: 'muted'}, 'Never moved.')]));
      },
    };
  },
};
