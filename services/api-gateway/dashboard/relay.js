// A worker's power relay (issue 10): which relay controller channel presses its power button or
// switches its mains, whether that controller is online, and the operator's dialog to map or
// unmap it. The API validates (one worker per channel, channel within the controller) and its
// messages are shown in the form as they come.
import {h, replace, badge, timeEl} from './dom.js';
import {api} from './api.js';
import {formDialog, confirmDialog, field, select, toast, showError, InputError} from './ui.js';

export function controllerOnline(online) {
  if (online === true) return badge('online', 'ok');
  if (online === false) return badge('offline', 'bad');
  return badge('not heard yet', 'neutral');
}

export const WIRING = {power_button: 'Power button', mains: 'Mains relay'};

function msField(name, value, min, max) {
  return h('input', {name, type: 'number', min, max, step: 1, value: value ?? '', inputmode: 'numeric', class: 'input-ms'});
}

// The map/edit dialog: resolves with the saved mapping, or null.
export async function editMapping(worker, current) {
  let controllers = [];
  try {
    controllers = (await api.get('/api/relay-controllers?limit=1000')).items || [];
  } catch (e) {
    showError(e, 'Relay controllers not loaded');
    return null;
  }
  if (!controllers.length) {
    toast('There is no relay controller yet: an admin adds one under Relays.', 'warn');
    return null;
  }
  return formDialog({
    title: `${current ? 'Change' : 'Map'} the power relay of ${worker.name}`,
    submitLabel: 'Save mapping',
    build(body) {
      const controller = select(controllers.map((c) => [String(c.id), `${c.name} (${c.driver}, ${c.channels} channels)`]),
                                String(current?.controller_id ?? controllers[0].id), {name: 'controller', 'data-testid': 'relay-controller'});
      const channel = h('input', {name: 'channel', type: 'number', min: 1, max: 64, step: 1, inputmode: 'numeric',
                                  value: current?.channel ?? '', 'data-testid': 'relay-channel'});
      const wiring = select(Object.entries(WIRING), current?.wiring ?? 'power_button', {name: 'wiring', 'data-testid': 'relay-wiring'});
      const pulse = msField('pulse_ms', current?.pulse_ms ?? 500, 50, 10000);
      const hold = msField('hold_ms', current?.hold_ms ?? 6000, 1000, 60000);
      const off = msField('off_ms', current?.off_ms ?? 10000, 1000, 300000);
      body.append(field('Relay controller', controller), field('Channel', channel, 'The relay channel the worker is wired to (1 = the first).'),
                  field('Wiring', wiring, 'Power button: the relay is wired across the front-panel switch. Mains: it switches the supply.'),
                  field('Press (ms)', pulse, 'A short press of the power button (50–10000 ms).'),
                  field('Hold to force off (ms)', hold, '1000–60000 ms.'),
                  field('Off time of a power-cycle (ms)', off, '1000–300000 ms.'));
      return {controller, channel, wiring, pulse, hold, off};
    },
    async submit({controller, channel, wiring, pulse, hold, off}) {
      const n = (input, label) => {
        const text = input.value.trim();
        if (!/^\d+$/.test(text)) throw new InputError(`${label}: type a whole number.`, input.name);
        return Number(text);
      };
      const body = {controller_id: Number(controller.value), channel: n(channel, 'Channel'), wiring: wiring.value,
                    pulse_ms: n(pulse, 'Press'), hold_ms: n(hold, 'Hold'), off_ms: n(off, 'Off time')};
      // Range and conflicts are the API's to judge: its message (naming the field) is shown.
      return api.put(`/api/workers/${worker.id}/relay`, body);
    },
  });
}

// The "Power relay" panel of a worker's page. update(worker) re-renders from worker.relay;
// onChange() is called after a change (to reload the worker).
export function relayPanel({canEdit, onChange}) {
  const el = h('div', {class: 'controls', 'data-testid': 'relay-panel'});
  let worker = null;
  let shown = null;
  const edit = async () => {
    const saved = await editMapping(worker, worker.relay);
    if (saved) {
      toast(`${worker.name} is mapped to ${saved.controller_name} channel ${saved.channel}.`, 'ok');
      worker = {...worker, relay: saved};
      shown = null;
      render();
      onChange?.();
    }
  };
  const remove = async () => {
    const ok = await confirmDialog({title: `Remove the relay mapping of ${worker.name}?`,
                                    message: 'Its power actions (power-cycle, power off/on, power button) are refused until it is mapped again.',
                                    confirmLabel: 'Remove mapping', danger: true});
    if (!ok) return;
    try {
      await api.del(`/api/workers/${worker.id}/relay`);
      toast(`The relay mapping of ${worker.name} is removed.`, 'ok');
      worker = {...worker, relay: null};
      shown = null;
      render();
      onChange?.();
    } catch (e) {
      showError(e, 'Mapping not removed');
    }
  };
  function render() {
    const r = worker.relay;
    const buttons = [];
    if (canEdit && worker.kind !== 'device') {
      const b = h('button', {type: 'button', class: 'btn', 'data-testid': 'relay-edit'}, r ? 'Edit mapping' : 'Map to a relay');
      b.addEventListener('click', edit);
      buttons.push(b);
      if (r) {
        const d = h('button', {type: 'button', class: 'btn btn-danger', 'data-testid': 'relay-remove'}, 'Remove mapping');
        d.addEventListener('click', remove);
        buttons.push(d);
      }
    }
    if (!r) {
      replace(el, h('p', {class: 'muted', 'data-testid': 'relay-none'},
                    worker.kind === 'device' ? 'Devices have no power relay.'
                      : 'Not mapped to a relay: power actions are not possible until it is.'),
              buttons.length ? h('div', {class: 'control-row'}, buttons) : null);
      return;
    }
    replace(el,
            h('dl', {class: 'facts', 'data-testid': 'relay-facts'},
              h('dt', {}, 'Controller'), h('dd', {}, h('a', {href: '#/relays'}, r.controller_name), ' ', controllerOnline(r.controller_online),
                                           r.controller_availability_at ? h('span', {class: 'muted small'}, ' since ', timeEl(r.controller_availability_at)) : null),
              h('dt', {}, 'Channel'), h('dd', {'data-testid': 'relay-channel-value'}, String(r.channel)),
              h('dt', {}, 'Wiring'), h('dd', {}, WIRING[r.wiring] || r.wiring),
              h('dt', {}, 'Timing'), h('dd', {}, r.wiring === 'mains' ? `off ${r.off_ms} ms during a power-cycle`
                : `press ${r.pulse_ms} ms · hold ${r.hold_ms} ms to force off · off ${r.off_ms} ms during a power-cycle`)),
            buttons.length ? h('div', {class: 'control-row'}, buttons) : null);
  }
  return {
    el,
    update(w) {
      const signature = JSON.stringify([w.kind, w.relay]);
      worker = w;
      if (signature === shown) return;  // unchanged: keep the focus on its buttons
      shown = signature;
      render();
    },
  };
}

