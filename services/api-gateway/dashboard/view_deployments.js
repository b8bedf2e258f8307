// Deployments (issue 14): every organisation's deployments with their replicas running and
// unplaced, and — for operators — a form that creates one (the migration-planner places it within
// a cycle; its page then shows where each replica runs).
import {h, int, timeEl, badge, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {OffsetPager, KeyedRows, table, field, select, errorBox, toast, notice, InputError, parseLabels, intIn,
        numberIn} from './ui.js';
import {deploymentStateBadge, resourcesText} from './deployments.js';

const PAGE = 50;

// "8080, 53/udp" -> [{container_port: 8080, protocol: 'tcp'}, {container_port: 53, protocol: 'udp'}]
export function parsePorts(text) {
  const out = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(part);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) {
      throw new InputError(`Ports: "${part}" is not a port (1–65535, optionally /tcp or /udp).`, 'ports');
    }
    out.push({container_port: Number(m[1]), protocol: m[2] || 'tcp'});
  }
  return out;
}

// Words separated by spaces; "quoted words" stay together.
export function parseCommand(text) {
  const out = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m;
  while ((m = re.exec(text)) !== null) out.push(m[1] !== undefined ? m[1] : m[2]);
  return out;
}

function createForm(ctx, orgs) {
  const org = select(orgs.map((o) => [String(o.id), o.name]), orgs.length ? String(orgs[0].id) : '',
                     {name: 'organization_id', 'data-testid': 'dep-org'});
  const name = h('input', {name: 'name', maxlength: 63, required: true, 'data-testid': 'dep-name', placeholder: 'web'});
  const image = h('input', {name: 'image', maxlength: 500, required: true, 'data-testid': 'dep-image', placeholder: 'registry.local/app:1'});
  const command = h('input', {name: 'command', 'data-testid': 'dep-command', placeholder: 'httpd -f -p 8080'});
  const env = h('input', {name: 'env', 'data-testid': 'dep-env', placeholder: 'MODE=prod, LOG=info'});
  const ports = h('input', {name: 'ports', 'data-testid': 'dep-ports', placeholder: '8080, 53/udp'});
  const cpu = h('input', {name: 'cpu_cores', type: 'number', min: 0.001, max: 1024, step: 'any', value: 0.1, 'data-testid': 'dep-cpu'});
  const memory = h('input', {name: 'memory_mb', type: 'number', min: 1, step: 1, value: 64, 'data-testid': 'dep-memory'});
  const disk = h('input', {name: 'disk_gb', type: 'number', min: 0, step: 'any', value: 0, 'data-testid': 'dep-disk'});
  const replicas = h('input', {name: 'replicas', type: 'number', min: 0, max: 1000, step: 1, value: 1, 'data-testid': 'dep-replicas'});
  const pool = h('input', {name: 'pool', maxlength: 63, placeholder: 'default', 'data-testid': 'dep-pool'});
  const anti = h('input', {name: 'anti_affinity_key', maxlength: 63, 'data-testid': 'dep-anti'});
  const maxUnavailable = h('input', {name: 'max_unavailable', type: 'number', min: 1, max: 1000, step: 1, value: 1,
                                     'data-testid': 'dep-max-unavailable'});
  const labels = h('input', {name: 'labels', 'data-testid': 'dep-labels', placeholder: 'team=web'});
  for (const [el, v] of [[cpu, '0.1'], [memory, '64'], [disk, '0'], [replicas, '1'], [maxUnavailable, '1']]) el.defaultValue = v;
  const errors = errorBox();
  const submit = h('button', {type: 'submit', class: 'btn btn-primary', 'data-testid': 'dep-create'}, 'Create deployment');
  const form = h('form', {class: 'panel', 'aria-labelledby': 'dep-new', 'data-testid': 'dep-form', novalidate: true},
    h('h2', {id: 'dep-new'}, 'New deployment'),
    h('div', {class: 'row'}, field('Organisation', org), field('Name', name, 'Lower case letters, digits and -; the service is <name>.<organisation>.'),
      field('Image', image)),
    h('div', {class: 'row'}, field('Command', command, 'Words separated by spaces; "quote" to keep words together.'),
      field('Environment', env, 'KEY=value, separated by commas. Readable by every user: no secrets.'),
      field('Ports', ports, 'Container ports, e.g. 8080, 53/udp; host ports are chosen per node.')),
    h('div', {class: 'row'}, field('CPU (cores)', cpu), field('Memory (MB)', memory), field('Disk (GB)', disk),
      field('Replicas', replicas, '0–1000; replicas never share a node.')),
    h('div', {class: 'row'}, field('Pool', pool, 'Nodes of this pool only (default: default).'),
      field('Anti-affinity key', anti, 'Deployments of the organisation with the same key never share a node.'),
      field('Max unavailable', maxUnavailable, 'At most this many replicas move at once.'), field('Labels', labels, 'key=value, separated by commas.')),
    errors.el, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.clear();
    submit.disabled = true;
    try {
      if (!org.value) throw new InputError('Organisation: an admin must create one first.', 'organization_id');
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name.value.trim())) {
        throw new InputError('Name: lower case letters, digits and -, starting with a letter or digit.', 'name');
      }
      if (!image.value.trim()) throw new InputError('Image: required.', 'image');
      const body = {
        organization_id: Number(org.value), name: name.value.trim(), image: image.value.trim(),
        resources: {cpu_cores: numberIn(cpu, 'cpu_cores', 'CPU', 0.001, 1024), memory_mb: intIn(memory, 'memory_mb', 'Memory', 1, 1e9),
                    disk_gb: numberIn(disk, 'disk_gb', 'Disk', 0, 1e6)},
        replicas: intIn(replicas, 'replicas', 'Replicas', 0, 1000),
        max_unavailable: intIn(maxUnavailable, 'max_unavailable', 'Max unavailable', 1, 1000),
      };
      const cmd = parseCommand(command.value);
      if (cmd.length) body.command = cmd;
      const envs = parseLabels(env.value, 'env');
      if (Object.keys(envs).length) body.env = envs;
      const p = parsePorts(ports.value);
      if (p.length) body.ports = p;
      if (pool.value.trim()) body.pool = pool.value.trim();
      if (anti.value.trim()) body.anti_affinity_key = anti.value.trim();
      const l = parseLabels(labels.value);
      if (Object.keys(l).length) body.labels = l;
      const created = await api.post('/api/deployments', body);
      toast(`Deployment ${created.service || created.name} created; the planner places it.`, 'ok');
      form.reset();
      location.hash = `#/deployment/${created.id}`;
    } catch (e) {
      errors.show(e);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export default {
  title: 'Deployments',
  mount(root, ctx) {
    append(root, h('div', {class: 'title-row'}, h('h1', {}, 'Deployments'),
                   h('div', {class: 'controls'}, h('a', {href: '#/organizations', class: 'btn'}, 'Organisations'),
                     h('a', {href: '#/migrations', class: 'btn'}, 'Migrations'))));
    const formSlot = h('div', {});
    const pager = new OffsetPager(() => ctx.refreshNow(), 'Deployment pages');
    const t = table([{label: 'Service'}, {label: 'Image'}, {label: 'Replicas', class: 'num'}, {label: 'Running', class: 'num'},
                     {label: 'Unplaced', class: 'num'}, {label: 'Resources'}, {label: 'Pool'}, {label: 'State'}, {label: 'Created'}],
                    {caption: 'Deployments', testid: 'deployments-table', emptyText: 'No deployment yet.'});
    const rows = new KeyedRows(t.tbody, () => {
      const row = {el: h('tr', {'data-testid': 'deployment-row'})};
      row.update = (d) => {
        row.el.dataset.name = d.name;
        row.el.dataset.state = d.state;
        row.el.replaceChildren(
          h('td', {}, h('a', {href: `#/deployment/${d.id}`}, d.service || `${d.name}.${d.organization}`)),
          h('td', {class: 'mono'}, d.image),
          h('td', {class: 'num'}, int(d.replicas)),
          h('td', {class: 'num', 'data-testid': 'dep-running'}, int(d.replicas_running ?? 0)),
          h('td', {class: 'num', 'data-testid': 'dep-unplaced'}, d.replicas_unplaced ? badge(int(d.replicas_unplaced), 'warn') : '0'),
          h('td', {}, resourcesText(d.resources)),
          h('td', {}, d.pool || DASH),
          h('td', {}, deploymentStateBadge(d.state)),
          h('td', {}, timeEl(d.created_at)));
      };
      return row;
    });
    append(root, formSlot, h('h2', {class: 'spaced'}, 'All deployments'), t.el, pager.el);
    let formShown = false;

    return {
      async refresh() {
        if (!formShown && session.can('operator')) {
          formShown = true;
          const orgs = await api.get('/api/organizations?limit=500', {signal: ctx.signal});
          formSlot.replaceChildren(orgs.items.length ? createForm(ctx, orgs.items)
                                                     : notice('No organisation yet: an admin creates one under Organisations.'));
        }
        const params = new URLSearchParams({limit: String(PAGE), offset: String(pager.offset)});
        const r = await api.get(`/api/deployments?${params}`, {signal: ctx.signal});
        rows.render(r.items);
        t.setEmpty(r.items.length === 0);
        pager.update(r.items.length, r.total ?? r.items.length, PAGE);
      },
    };
  },
};
