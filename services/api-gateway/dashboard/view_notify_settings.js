// Where notifications go (issue 12). Admins configure channels (webhook, MQTT topic, e-mail over
// SMTP; secrets are sent once and never shown again), send a test through one, and route
// notifications to channels by severity, event, site, farm and worker labels. Every user manages
// their own subscriptions: "tell me about my nodes and deployments on this channel".
import {h, int, num, timeEl, badge, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {KeyedRows, table, showError, toast, confirmDialog, formDialog, field, select, infoDialog, InputError,
        parseLabels} from './ui.js';

const KINDS = [['webhook', 'Webhook (signed JSON)'], ['mqtt', 'MQTT topic'], ['email', 'E-mail (SMTP)']];
const SEVERITIES = ['info', 'warning', 'critical'];
const GROUP_BY = ['event', 'severity', 'site', 'farm', 'worker', 'rule', 'source'];

function list(text) {
  return text.split(',').map((x) => x.trim()).filter(Boolean);
}

function seconds(input, label, min, max) {
  const text = input.value.trim();
  if (text === '') return undefined;
  const v = Number(text);
  if (!Number.isFinite(v) || v < min || v > max) throw new InputError(`${label}: type a number of seconds from ${min} to ${max}.`, input.name);
  return Math.round(v * 1000);
}

function channelSummary(c) {
  const cfg = c.config || {};
  if (c.kind === 'webhook') return cfg.url || DASH;
  if (c.kind === 'mqtt') return `${cfg.host ?? DASH}:${cfg.port ?? 1883} ${cfg.topic ?? ''}`;
  if (c.kind === 'email') return `${(cfg.to || []).join(', ')} via ${cfg.smtp_url ?? DASH}`;
  return DASH;
}

// The kind-specific inputs of the channel dialog; each returns {el, read()}.
function configInputs(kind, cfg) {
  const input = (name, value, attrs = {}) => h('input', {name, value: value ?? '', ...attrs});
  if (kind === 'webhook') {
    const url = input('url', cfg.url, {maxlength: 2000, 'data-testid': 'channel-url', placeholder: 'https://example.org/hooks/fleetward'});
    const timeout = input('timeout_ms', cfg.timeout_ms, {type: 'number', min: 100, max: 60000, placeholder: '5000'});
    return {el: [field('URL', url, 'HTTPS recommended; certificates are verified.'), field('Timeout (ms)', timeout)],
            read: () => ({url: url.value.trim(), ...(timeout.value ? {timeout_ms: Number(timeout.value)} : {})})};
  }
  if (kind === 'mqtt') {
    const host = input('host', cfg.host ?? '127.0.0.1', {maxlength: 253, 'data-testid': 'channel-host'});
    const port = input('port', cfg.port ?? 1883, {type: 'number', min: 1, max: 65535});
    const topic = input('topic', cfg.topic ?? 'fleetward/notifications', {maxlength: 200, 'data-testid': 'channel-topic'});
    const username = input('username', cfg.username, {maxlength: 200, autocomplete: 'off'});
    return {el: [field('Broker host', host), field('Port', port), field('Topic', topic, 'No wildcards. Published with QoS 1.'),
                 field('User name', username, 'Optional; the password goes in the secret field.')],
            read: () => {
              const out = {host: host.value.trim(), port: Number(port.value), topic: topic.value.trim()};
              if (username.value.trim()) out.username = username.value.trim();
              return out;
            }};
  }
  const smtp = input('smtp_url', cfg.smtp_url ?? 'smtp://127.0.0.1:25', {maxlength: 500, 'data-testid': 'channel-smtp'});
  const starttls = h('input', {name: 'starttls', type: 'checkbox', checked: cfg.starttls ?? true});
  const username = input('username', cfg.username, {maxlength: 200, autocomplete: 'off'});
  const from = input('from', cfg.from, {maxlength: 320, 'data-testid': 'channel-from'});
  const to = input('to', (cfg.to || []).join(', '), {maxlength: 5000, 'data-testid': 'channel-to'});
  return {el: [field('SMTP URL', smtp, 'smtp://host:port or smtps://host:port.'),
               h('label', {class: 'check'}, starttls, ' Require STARTTLS'),
               field('User name', username, 'Optional; the password goes in the secret field.'),
               field('From', from), field('To', to, 'Addresses separated by commas.')],
          read: () => {
            const out = {smtp_url: smtp.value.trim(), starttls: starttls.checked, from: from.value.trim(), to: list(to.value)};
            if (username.value.trim()) out.username = username.value.trim();
            return out;
          }};
}

function channelDialog(current) {
  return formDialog({
    title: current ? `Change channel ${current.name}` : 'New notification channel',
    submitLabel: current ? 'Save' : 'Add channel',
    build(body) {
      const name = h('input', {name: 'name', maxlength: 64, value: current?.name ?? '', 'data-testid': 'channel-name'});
      const kind = select(KINDS, current?.kind ?? 'webhook', {name: 'kind', 'data-testid': 'channel-kind'});
      kind.disabled = Boolean(current);
      const box = h('div', {});
      let inputs = configInputs(kind.value, current?.config || {});
      box.append(...inputs.el);
      kind.addEventListener('change', () => {
        inputs = configInputs(kind.value, {});
        box.replaceChildren(...inputs.el);
      });
      const secret = h('input', {name: 'secret', type: 'password', autocomplete: 'off', maxlength: 1000, 'data-testid': 'channel-secret'});
      const groupBy = h('input', {name: 'group_by', value: (current?.group_by || ['event', 'site']).join(', '), maxlength: 200});
      const wait = h('input', {name: 'group_wait', type: 'number', min: 0, max: 3600, step: 'any',
                               value: current ? current.group_wait_ms / 1000 : '', placeholder: '30'});
      const interval = h('input', {name: 'group_interval', type: 'number', min: 0, max: 86400, step: 'any',
                                   value: current ? current.group_interval_ms / 1000 : '', placeholder: '300'});
      const repeat = h('input', {name: 'repeat_interval', type: 'number', min: 60, max: 604800, step: 'any',
                                 value: current ? current.repeat_interval_ms / 1000 : '', placeholder: '14400'});
      const title = h('input', {name: 'template_title', maxlength: 4096, value: current?.template?.title ?? '',
                                placeholder: '{{count}} × {{event}} at {{site}}'});
      const enabled = h('input', {name: 'enabled', type: 'checkbox', checked: current ? current.enabled : true});
      body.append(field('Name', name, 'Letters, digits, _ . - (up to 64).'), field('Kind', kind), box,
                  field('Secret', secret, current ? (current.has_secret ? 'Set. Leave empty to keep it.' : 'None. Leave empty to keep none.')
                                                  : 'Webhook: the HMAC signing key (left empty, one is made and shown once). MQTT/SMTP: the password.'),
                  field('Group by', groupBy, `Any of ${GROUP_BY.join(', ')}.`),
                  field('Group wait (s)', wait, 'How long a new group waits for more before it is sent.'),
                  field('Group interval (s)', interval, 'At most one message per group this often.'),
                  field('Repeat interval (s)', repeat, 'An unchanged firing state is sent again after this.'),
                  field('Title template', title, 'Placeholders: {{count}} {{event}} {{severity}} {{site}} {{farm}} {{worker}} {{status}} {{first_title}} {{channel}}.'),
                  h('label', {class: 'check'}, enabled, ' Enabled'));
      return {name, kind, secret, groupBy, wait, interval, repeat, title, enabled, inputs: () => inputs};
    },
    submit(f) {
      const body = {name: f.name.value.trim(), config: f.inputs().read(), enabled: f.enabled.checked,
                    group_by: list(f.groupBy.value)};
      if (!current) body.kind = f.kind.value;
      const bad = body.group_by.find((g) => !GROUP_BY.includes(g));
      if (bad) throw new InputError(`Group by: "${bad}" is not one of ${GROUP_BY.join(', ')}.`, 'group_by');
      for (const [input, key, label, min, max] of [[f.wait, 'group_wait_ms', 'Group wait', 0, 3600],
                                                   [f.interval, 'group_interval_ms', 'Group interval', 0, 86400],
                                                   [f.repeat, 'repeat_interval_ms', 'Repeat interval', 60, 604800]]) {
        const v = seconds(input, label, min, max);
        if (v !== undefined) body[key] = v;
      }
      if (f.title.value.trim()) body.template = {title: f.title.value};
      if (f.secret.value) body.secret = f.secret.value;
      return current ? api.patch(`/api/notifications/channels/${current.id}`, body) : api.post('/api/notifications/channels', body);
    },
  });
}

function routeDialog(current, channels) {
  return formDialog({
    title: current ? `Change route ${current.name}` : 'New route',
    submitLabel: current ? 'Save' : 'Add route',
    build(body) {
      const name = h('input', {name: 'name', maxlength: 64, value: current?.name ?? '', 'data-testid': 'route-name'});
      const channel = select(channels.map((c) => [String(c.id), `${c.name} (${c.kind})`]), String(current?.channel_id ?? channels[0]?.id ?? ''),
                             {name: 'channel', 'data-testid': 'route-channel'});
      const severities = h('input', {name: 'severities', value: (current?.severities || []).join(', '), 'data-testid': 'route-severities'});
      const events = h('input', {name: 'events', value: (current?.events || []).join(', '), maxlength: 2000, 'data-testid': 'route-events'});
      const sites = h('input', {name: 'sites', value: (current?.sites || []).join(', '), maxlength: 5000});
      const farms = h('input', {name: 'farm_ids', value: (current?.farm_ids || []).join(', '), maxlength: 2000});
      const labels = h('input', {name: 'worker_labels', maxlength: 2000,
                                 value: Object.entries(current?.worker_labels || {}).map(([k, v]) => `${k}=${v}`).join(', ')});
      const enabled = h('input', {name: 'enabled', type: 'checkbox', checked: current ? current.enabled : true});
      body.append(field('Name', name), field('Channel', channel),
                  field('Severities', severities, 'Any of info, warning, critical; empty = all.'),
                  field('Events', events, 'e.g. alert.*, worker.offline; empty = all.'),
                  field('Sites', sites, 'Comma-separated; empty = all.'), field('Farm ids', farms, 'Comma-separated; empty = all.'),
                  field('Worker labels', labels, 'key=value pairs the worker must have.'),
                  h('label', {class: 'check'}, enabled, ' Enabled'));
      return {name, channel, severities, events, sites, farms, labels, enabled};
    },
    submit(f) {
      if (!f.channel.value) throw new InputError('Channel: add a channel first.', 'channel');
      const sev = list(f.severities.value);
      const badSev = sev.find((s) => !SEVERITIES.includes(s));
      if (badSev) throw new InputError(`Severities: "${badSev}" is not info, warning or critical.`, 'severities');
      const farmIds = list(f.farms.value).map((x) => {
        if (!/^\d+$/.test(x)) throw new InputError(`Farm ids: "${x}" is not a farm id.`, 'farm_ids');
        return Number(x);
      });
      const body = {name: f.name.value.trim(), channel_id: Number(f.channel.value), severities: sev,
                    events: list(f.events.value), sites: list(f.sites.value), farm_ids: farmIds,
                    worker_labels: parseLabels(f.labels.value, 'worker_labels'), enabled: f.enabled.checked};
      return current ? api.patch(`/api/notifications/routes/${current.id}`, body) : api.post('/api/notifications/routes', body);
    },
  });
}

function subscriptionDialog(channels) {
  return formDialog({
    title: 'Subscribe to notifications about my nodes and deployments',
    submitLabel: 'Subscribe',
    build(body) {
      const channel = select(channels.map((c) => [String(c.id), `${c.name} (${c.kind})`]), String(channels[0]?.id ?? ''),
                             {name: 'channel', 'data-testid': 'subscription-channel'});
      const events = h('input', {name: 'events', maxlength: 2000, placeholder: 'worker.*, migration.*'});
      const min = select(SEVERITIES.map((s) => [s, s]), 'warning', {name: 'min_severity'});
      const address = h('input', {name: 'address', maxlength: 320, placeholder: 'me@example.org', 'data-testid': 'subscription-address'});
      body.append(field('Channel', channel), field('Events', events, 'Empty = all.'), field('At least', min),
                  field('E-mail address', address, 'For an e-mail channel: where your copy goes.'));
      return {channel, events, min, address};
    },
    submit(f) {
      if (!f.channel.value) throw new InputError('Channel: there is no channel to subscribe to yet.', 'channel');
      const body = {channel_id: Number(f.channel.value), events: list(f.events.value), min_severity: f.min.value};
      if (f.address.value.trim()) body.address = f.address.value.trim();
      return api.post('/api/notifications/subscriptions', body);
    },
  });
}

export default {
  title: 'Notification settings',
  mount(root, ctx) {
    const isAdmin = session.can('admin');
    let channels = [];

    const ccols = [{label: 'Name'}, {label: 'Kind'}, {label: 'Where'}, {label: 'Health'}, {label: 'Grouping'}];
    if (isAdmin) ccols.push({label: ''});
    const ct = table(ccols, {caption: 'Channels', testid: 'channels-table', emptyText: 'No channel yet.'});
    const crows = new KeyedRows(ct.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'channel-row'});
      row.update = (c) => {
        row.el.dataset.name = c.name;
        const health = !c.enabled ? badge('disabled', 'neutral')
          : c.failing_since ? [badge('failing', 'bad'), h('div', {class: 'value-bad small', 'data-testid': 'channel-error'},
                                                        'since ', timeEl(c.failing_since), c.last_error ? `: ${c.last_error}` : '')]
          : [badge('ok', 'ok'), c.last_delivery_at ? h('div', {class: 'muted small'}, 'last delivery ', timeEl(c.last_delivery_at)) : null];
        const cells = [h('td', {}, h('strong', {}, c.name), c.has_secret ? h('div', {class: 'muted small'}, 'secret set') : null),
                       h('td', {}, c.kind), h('td', {class: 'mono small'}, channelSummary(c)),
                       h('td', {'data-testid': 'channel-health'}, health),
                       h('td', {class: 'small'}, `by ${(c.group_by || []).join(', ') || 'nothing'}; wait ${num(c.group_wait_ms / 1000, 0)} s, `,
                         `every ${num(c.group_interval_ms / 1000, 0)} s`)];
        if (isAdmin) {
          const test = h('button', {type: 'button', class: 'btn btn-small', 'data-testid': 'channel-test'}, 'Send a test');
          test.addEventListener('click', async () => {
            try {
              await api.post(`/api/notifications/channels/${c.id}/test`, {});
              toast(`A test notification is on its way to ${c.name}; see Notifications for how it went.`, 'ok');
            } catch (e) {
              showError(e, 'Test not sent');
            }
          });
          const edit = h('button', {type: 'button', class: 'btn btn-small', 'data-testid': 'channel-edit'}, 'Edit');
          edit.addEventListener('click', async () => {
            const saved = await channelDialog(c);
            if (saved) {
              toast(`Channel ${saved.name} saved.`, 'ok');
              ctx.refreshNow();
            }
          });
          const remove = h('button', {type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'channel-delete'}, 'Delete');
          remove.addEventListener('click', async () => {
            if (!(await confirmDialog({title: `Delete channel ${c.name}?`, message: 'Its routes, subscriptions and undelivered messages go with it.',
                                       confirmLabel: 'Delete', danger: true}))) return;
            try {
              await api.del(`/api/notifications/channels/${c.id}`);
              ctx.refreshNow();
            } catch (e) {
              showError(e, 'Channel not deleted');
            }
          });
          cells.push(h('td', {}, test, ' ', edit, ' ', remove));
        }
        row.el.replaceChildren(...cells);
      };
      return row;
    });

    const rcols = [{label: 'Name'}, {label: 'Channel'}, {label: 'Matches'}];
    if (isAdmin) rcols.push({label: ''});
    const rt = table(rcols, {caption: 'Routes', testid: 'routes-table', emptyText: 'No route: nothing is sent to any channel.'});
    const rrows = new KeyedRows(rt.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'route-row'});
      row.update = (r) => {
        const parts = [];
        if ((r.severities || []).length) parts.push(`severity ${r.severities.join('/')}`);
        if ((r.events || []).length) parts.push(`event ${r.events.join(', ')}`);
        if ((r.sites || []).length) parts.push(`site ${r.sites.join(', ')}`);
        if ((r.farm_ids || []).length) parts.push(`farm ${r.farm_ids.join(', ')}`);
        const labels = Object.entries(r.worker_labels || {});
        if (labels.length) parts.push(`labels ${labels.map(([k, v]) => `${k}=${v}`).join(', ')}`);
        const channel = channels.find((c) => c.id === r.channel_id);
        const cells = [h('td', {}, h('strong', {}, r.name), r.enabled ? null : [' ', badge('disabled', 'neutral')]),
                       h('td', {}, channel ? channel.name : `#${r.channel_id}`),
                       h('td', {class: 'small'}, parts.length ? parts.join('; ') : 'everything')];
        if (isAdmin) {
          const edit = h('button', {type: 'button', class: 'btn btn-small'}, 'Edit');
          edit.addEventListener('click', async () => {
            if (await routeDialog(r, channels)) ctx.refreshNow();
          });
          const remove = h('button', {type: 'button', class: 'btn btn-small btn-danger'}, 'Delete');
          remove.addEventListener('click', async () => {
            if (!(await confirmDialog({title: `Delete route ${r.name}?`, message: 'Notifications it matched stop going to its channel.',
                                       confirmLabel: 'Delete', danger: true}))) return;
            try {
              await api.del(`/api/notifications/routes/${r.id}`);
              ctx.refreshNow();
            } catch (e) {
              showError(e, 'Route not deleted');
            }
          });
          cells.push(h('td', {}, edit, ' ', remove));
        }
        row.el.replaceChildren(...cells);
      };
      return row;
    });

    const st = table([{label: 'Channel'}, {label: 'Events'}, {label: 'At least'}, {label: 'Address'}, {label: ''}],
                     {caption: 'My subscriptions', testid: 'subscriptions-table',
                      emptyText: 'You hear about your own nodes and deployments only through the routes above.'});
    const srows = new KeyedRows(st.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'subscription-row'});
      row.update = (s) => {
        const remove = h('button', {type: 'button', class: 'btn btn-small btn-danger'}, 'Unsubscribe');
        remove.addEventListener('click', async () => {
          try {
            await api.del(`/api/notifications/subscriptions/${s.id}`);
            ctx.refreshNow();
          } catch (e) {
            showError(e, 'Not unsubscribed');
          }
        });
        row.el.replaceChildren(h('td', {}, s.channel),
                               h('td', {}, (s.events || []).join(', ') || 'all'), h('td', {}, s.min_severity),
                               h('td', {}, s.address || DASH), h('td', {}, remove));
      };
      return row;
    });

    const addChannel = isAdmin ? h('button', {type: 'button', class: 'btn btn-primary', 'data-testid': 'channel-add'}, 'New channel') : null;
    addChannel?.addEventListener('click', async () => {
      const created = await channelDialog(null);
      if (!created) return;
      if (created.secret) {
        infoDialog(`Channel ${created.name} added`,
          h('p', {}, 'Its webhook signing secret is shown this once. Receivers verify X-Fleetward-Signature with it.'),
          h('p', {class: 'mono', 'data-testid': 'channel-secret-once'}, created.secret));
      } else {
        toast(`Channel ${created.name} added.`, 'ok');
      }
      ctx.refreshNow();
    });
    const addRoute = isAdmin ? h('button', {type: 'button', class: 'btn', 'data-testid': 'route-add'}, 'New route') : null;
    addRoute?.addEventListener('click', async () => {
      if (await routeDialog(null, channels)) ctx.refreshNow();
    });
    const subscribe = h('button', {type: 'button', class: 'btn', 'data-testid': 'subscription-add'}, 'Subscribe');
    subscribe.addEventListener('click', async () => {
      if (await subscriptionDialog(channels)) ctx.refreshNow();
    });

    append(root,
      h('p', {class: 'breadcrumb'}, h('a', {href: '#/notifications'}, '← Notifications')),
      isAdmin ? [h('div', {class: 'title-row'}, h('h1', {}, 'Channels'), addChannel), ct.el,
                 h('div', {class: 'title-row'}, h('h2', {class: 'spaced'}, 'Routes'), addRoute), rt.el]
              : h('h1', {}, 'My notifications'),
      h('div', {class: 'title-row'}, h('h2', {class: 'spaced'}, 'My subscriptions'), subscribe), st.el);

    return {
      async refresh() {
        const [c, subs, routes] = await Promise.all([
          api.get('/api/notifications/channels', {signal: ctx.signal}),
          api.get('/api/notifications/subscriptions', {signal: ctx.signal}),
          isAdmin ? api.get('/api/notifications/routes', {signal: ctx.signal}) : Promise.resolve(null)]);
        channels = c.items || [];
        if (isAdmin) {
          crows.render(channels);
          ct.setEmpty(channels.length === 0);
          rrows.render(routes.items || []);
          rt.setEmpty((routes.items || []).length === 0);
        }
        srows.render(subs.items || []);
        st.setEmpty((subs.items || []).length === 0);
        subscribe.disabled = channels.length === 0;
      },
    };
  },
};
