// Relay controllers (issue 10): the Raspberry Pi boards and Tasmota devices on the MQTT broker
// that press workers' power buttons or switch their mains, with their availability, and which
// worker hangs on which channel. Admins add, change and remove controllers; workers are mapped
// from their own page (operators).
import {h, timeEl, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {KeyedRows, table, showError, toast, confirmDialog, formDialog, field, select, InputError} from './ui.js';
import {controllerOnline, WIRING} from './relay.js';

// Add (current = null) or change a controller; resolves with the saved one, or null.
function controllerDialog(current) {
  return formDialog({
    title: current ? `Change relay controller ${current.name}` : 'New relay controller',
    submitLabel: current ? 'Save' : 'Add controller',
    build(body) {
      const name = h('input', {name: 'name', maxlength: 64, value: current?.name ?? '', 'data-testid': 'controller-name'});
      const driver = select([['fleetward', 'fleetward (Raspberry Pi relay board)'], ['tasmota', 'Tasmota']],
                            current?.driver ?? 'fleetward', {name: 'driver', 'data-testid': 'controller-driver'});
      const topic = h('input', {name: 'topic', maxlength: 64, value: current?.topic ?? '', 'data-testid': 'controller-topic'});
      const channels = h('input', {name: 'channels', type: 'number', min: 1, max: 64, step: 1, value: current?.channels ?? 8,
                                   'data-testid': 'controller-channels'});
      const site = h('input', {name: 'site', maxlength: 200, value: current?.site ?? ''});
      const description = h('input', {name: 'description', maxlength: 500, value: current?.description ?? ''});
      body.append(field('Name', name, 'Letters, digits, _ . - (up to 64).'),
                  field('Driver', driver),
                  field('Topic', topic, 'Its name on the broker: fleetward/relay/<topic>/… or cmnd/<topic>/POWER<n>.'),
                  field('Channels', channels, '1–64.'), field('Site', site), field('Description', description));
      return {name, driver, topic, channels, site, description};
    },
    async submit({name, driver, topic, channels, site, description}) {
      const text = channels.value.trim();
      if (!/^\d+$/.test(text)) throw new InputError('Channels: type a whole number.', 'channels');
      const body = {name: name.value.trim(), driver: driver.value, topic: topic.value.trim(), channels: Number(text),
                    site: site.value.trim() || null, description: description.value.trim()};
      if (!current) {
        if (body.site === null) delete body.site;
        return api.post('/api/relay-controllers', body);
      }
      return api.patch(`/api/relay-controllers/${current.id}`, body);
    },
  });
}

export default {
  title: 'Relays',
  mount(root, ctx) {
    const isAdmin = session.can('admin');
    const columns = [{label: 'Name'}, {label: 'Driver'}, {label: 'Topic'}, {label: 'Channels', class: 'num'},
                     {label: 'State'}, {label: 'Mapped', class: 'num'}, {label: 'Site'}, {label: 'Description'}];
    if (isAdmin) columns.push({label: ''});
    const t = table(columns, {caption: 'Relay controllers', testid: 'controllers-table',
                              emptyText: 'No relay controller yet.'});
    const rows = new KeyedRows(t.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'controller-row'});
      row.update = (c) => {
        row.el.dataset.name = c.name;
        const cells = [h('td', {}, h('strong', {}, c.name)), h('td', {}, c.driver), h('td', {class: 'mono'}, c.topic),
                       h('td', {class: 'num'}, String(c.channels)),
                       h('td', {}, controllerOnline(c.online), c.availability_at ? h('span', {class: 'muted small'}, ' ', timeEl(c.availability_at)) : null),
                       h('td', {class: 'num'}, String(c.mapped_workers)), h('td', {}, c.site || DASH), h('td', {}, c.description || DASH)];
        if (isAdmin) {
          const edit = h('button', {type: 'button', class: 'btn btn-small', 'data-testid': 'controller-edit'}, 'Edit');
          edit.addEventListener('click', async () => {
            const saved = await controllerDialog(c);
            if (saved) {
              toast(`Relay controller ${saved.name} saved.`, 'ok');
              ctx.refreshNow();
            }
          });
          const remove = h('button', {type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'controller-remove'}, 'Remove');
          remove.addEventListener('click', async () => {
            if (!(await confirmDialog({title: `Remove relay controller ${c.name}?`,
                                       message: 'Only a controller without mapped workers can be removed.',
                                       confirmLabel: 'Remove', danger: true}))) return;
            try {
              await api.del(`/api/relay-controllers/${c.id}`);
              toast(`Relay controller ${c.name} removed.`, 'ok');
              ctx.refreshNow();
            } catch (e) {
              showError(e, 'Controller not removed');
            }
          });
          cells.push(h('td', {}, edit, ' ', remove));
        }
        row.el.replaceChildren(...cells);
      };
      return row;
    });
    const mt = table([{label: 'Controller'}, {label: 'Channel', class: 'num'}, {label: 'Worker'}, {label: 'Wiring'},
                      {label: 'Timing'}], {caption: 'Relay mappings', testid: 'mappings-table',
                                           emptyText: 'No worker is mapped to a relay yet (map one from its page).'});
    const mrows = new KeyedRows(mt.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'mapping-row'});
      row.update = (m) => {
        row.el.replaceChildren(h('td', {}, m.controller_name), h('td', {class: 'num'}, String(m.channel)),
                               h('td', {}, h('a', {href: `#/miner/${m.worker_id}`}, m.worker_name)),
                               h('td', {}, WIRING[m.wiring] || m.wiring),
                               h('td', {class: 'small'}, m.wiring === 'mains' ? `off ${m.off_ms} ms`
                                 : `press ${m.pulse_ms} ms · hold ${m.hold_ms} ms · off ${m.off_ms} ms`));
      };
      return row;
    });
    const add = isAdmin ? h('button', {type: 'button', class: 'btn btn-primary', 'data-testid': 'new-controller'}, 'New controller') : null;
    add?.addEventListener('click', async () => {
      const created = await controllerDialog(null);
      if (created) {
        toast(`Relay controller ${created.name} added.`, 'ok');
        ctx.refreshNow();
      }
    });
    append(root, h('div', {class: 'title-row'}, h('h1', {}, 'Relay controllers'), add),
           h('p', {class: 'muted'}, 'Relay boards and Tasmota devices that switch workers\' power. Map a worker to a channel from its page.'),
           t.el, h('h2', {class: 'spaced'}, 'Mappings'), mt.el);
    return {
      async refresh() {
        const [c, m] = await Promise.all([api.get('/api/relay-controllers?limit=1000', {signal: ctx.signal}),
                                          api.get('/api/relay-mappings', {signal: ctx.signal})]);
        rows.render(c.items);
        t.setEmpty(c.items.length === 0);
        mrows.render(m.items, (x) => x.worker_id);
        mt.setEmpty(m.items.length === 0);
      },
    };
  },
};
