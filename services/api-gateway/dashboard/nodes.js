// Container host nodes (issue 13): the pieces the nodes list and a node's page share — load
// meters, capacity text, and the drain / undrain (with an optional reason) / revoke / remove
// actions (operators drain, admins revoke and remove; the API checks the role again). Removing a node that still runs
// deployments is refused with a 409 whose reason is shown, and the user may then force it.
import {h, num, int, DASH} from './dom.js';
import {api, session, ApiError} from './api.js';
import {confirmDialog, formDialog, field, toast, showError} from './ui.js';

// The statuses a node goes through (heartbeat-monitor, drain/undrain, remove).
export const NODE_STATUSES = ['online', 'unhealthy', 'draining', 'pending', 'unreachable', 'offline', 'removed'];

// The default resource limits of a heartbeat (gateway config nodes.limits.*; the API does not
// publish them): the meter turns red above, yellow from 70 %.
const METER_HIGH = {cpu: 90, memory: 95, disk: 90, average: 90};

// A load meter (0..100 %): <meter> with its value as text beside it; a dash when unknown.
export function loadMeter(value, kind, label) {
  const known = value !== null && value !== undefined && Number.isFinite(Number(value));
  const text = known ? `${num(value, 0)} %` : DASH;
  const high = METER_HIGH[kind] ?? 90;
  return h('span', {class: 'load', 'data-testid': `load-${kind}`, 'data-value': known ? String(value) : null},
           known ? h('meter', {class: 'load-meter', min: 0, max: 100, low: Math.min(70, high - 1), high, optimum: 0,
                               value: Number(value), 'aria-label': `${label}: ${text}`})
                 : null,
           h('span', {class: 'load-text'}, text));
}

export function memoryText(mb) {
  if (mb === null || mb === undefined) return DASH;
  if (Math.abs(mb) >= 1024 * 1024) return `${num(mb / (1024 * 1024), 1)} TB`;
  if (Math.abs(mb) >= 1024) return `${num(mb / 1024, 1)} GB`;
  return `${int(mb)} MB`;
}

export function diskText(gb) {
  if (gb === null || gb === undefined) return DASH;
  if (Math.abs(gb) >= 1024) return `${num(gb / 1024, 1)} TB`;
  return `${num(gb, gb >= 100 ? 0 : 1)} GB`;
}

export function coresText(cores) {
  if (cores === null || cores === undefined) return DASH;
  return `${num(cores, Number.isInteger(Number(cores)) ? 0 : 1)} cores`;
}

export function containersText(running, total) {
  if (total === null || total === undefined) return DASH;
  return `${int(running ?? 0)} / ${int(total)}`;
}

export function capacityText(c) {
  if (!c) return DASH;
  return `${coresText(c.cpu_cores)} · ${memoryText(c.memory_mb)} memory · ${diskText(c.disk_gb)} disk`;
}

// The action buttons of one node for the logged-in user's role (none for a viewer, none for a
// removed node). onDone() runs after an action changed something.
export function nodeActionButtons(node, onDone) {
  const buttons = [];
  if (node.status === 'removed') return buttons;
  const button = (testid, label, danger, run) => {
    const b = h('button', {type: 'button', class: ['btn', danger ? 'btn-danger' : ''], 'data-testid': testid}, label);
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        if (await run()) onDone();
      } finally {
        b.disabled = false;
      }
    });
    buttons.push(b);
  };
  if (session.can('operator')) {
    if (node.status === 'draining') {
      button('node-undrain', 'Undrain', false, () => drainDialog(node, 'undrain'));
    } else {
      button('node-drain', 'Drain', false, () => drainDialog(node, 'drain'));
    }
  }
  if (session.can('admin')) {
    if (!node.credential_revoked) {
      button('node-revoke', 'Revoke credential', true, async () => {
        const ok = await confirmDialog({title: `Revoke the credential of ${node.name}?`, confirmLabel: 'Revoke', danger: true,
                                        message: 'The node agent is refused at once; it needs a new registration token to come back.'});
        return ok && simpleAction(node, 'credential/revoke', `The credential of ${node.name} is revoked.`);
      });
    }
    button('node-remove', 'Remove', true, () => removeNode(node));
  }
  return buttons;
}

const DRAIN = {
  drain: {title: 'Drain', help: 'No new containers are placed on a draining node; the planner moves its deployments away.',
          done: (n) => `${n.name} is draining.`},
  undrain: {title: 'Undrain', help: 'The node is pending until heartbeat-monitor sees it healthy, then online again.',
            done: (n) => `${n.name} is no longer draining.`},
};

// Drain or undrain, with an optional reason (it joins the status reason and the history).
async function drainDialog(node, action) {
  const spec = DRAIN[action];
  const done = await formDialog({
    title: `${spec.title} ${node.name}?`,
    submitLabel: spec.title,
    build(body) {
      const reason = h('input', {name: 'reason', maxlength: 500, 'data-testid': 'drain-reason', placeholder: 'kernel upgrade'});
      body.append(h('p', {}, spec.help), field('Reason (optional)', reason, 'Shown in the status and its history.'));
      return {reason};
    },
    async submit({reason}) {
      const why = reason.value.trim();
      await api.post(`/api/nodes/${node.id}/${action}`, why ? {reason: why} : {});
      return true;
    },
  });
  if (done) toast(spec.done(node), 'ok');
  return Boolean(done);
}

async function simpleAction(node, action, done) {
  try {
    await api.post(`/api/nodes/${node.id}/${action}`, {});
    toast(done, 'ok');
    return true;
  } catch (e) {
    showError(e, `${node.name}: not done`);
    return false;
  }
}

// Remove (DELETE /api/nodes/{id}); a 409 (deployments remain) shows the API's reason and asks
// whether to force it.
async function removeNode(node) {
  const ok = await confirmDialog({title: `Remove ${node.name}?`, confirmLabel: 'Remove', danger: true,
                                  message: 'The node is marked removed and its credential revoked.'});
  if (!ok) return false;
  try {
    await api.del(`/api/nodes/${node.id}?force=false`);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 409) {
      showError(e, `${node.name} not removed`);
      return false;
    }
    const force = await confirmDialog({title: `${node.name} still has work`, message: e.message, confirmLabel: 'Remove anyway',
                                       details: 'Removing it anyway leaves those containers unmanaged.', danger: true});
    if (!force) return false;
    try {
      await api.del(`/api/nodes/${node.id}?force=true`);
    } catch (e2) {
      showError(e2, `${node.name} not removed`);
      return false;
    }
  }
  toast(`${node.name} is removed.`, 'ok');
  return true;
}
