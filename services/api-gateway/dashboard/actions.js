// Manual actions on a worker (seed 000 §3): the gateway only queues a `commands` row; the
// action-dispatcher carries it out. Reboot, shutdown and the power actions (power-cycle, power
// off/on, power button: through the worker's relay mapping) go through a confirm dialog first and
// only then is `"confirm": true` sent.
import {h} from './dom.js';
import {api, idempotencyKey} from './api.js';
import {confirmDialog, formDialog, field, select, toast, InputError} from './ui.js';

export const ACTIONS = {
  restart_mining: {label: 'Restart mining', help: 'Restarts the mining software; the miner stays powered.'},
  start_mining: {label: 'Start mining', help: 'Starts mining on a stopped miner.'},
  stop_mining: {label: 'Stop mining', help: 'Stops hashing; the control board stays up.'},
  find_miner: {label: 'Find miner (LED)', help: 'Toggles the locate LED on the front panel.'},
  set_preset: {label: 'Set preset', help: 'Switches the autotune preset (mining restarts).'},
  reboot: {label: 'Reboot', danger: true, help: 'Reboots the control board: the miner stops hashing for several minutes.'},
  shutdown: {label: 'Shut down', danger: true, help: 'Shuts the miner down: it stays off until someone powers it on.'},
  power_cycle: {label: 'Power-cycle', danger: true, relay: true, help: 'Cuts power through the relay controller and restores it.'},
  power_off: {label: 'Power off', danger: true, relay: true, help: 'Switches the worker off through its relay (a long press of the power button, or mains off).'},
  power_on: {label: 'Power on', danger: true, relay: true, help: 'Switches the worker on through its relay (a short press of the power button, or mains on).'},
  power_button: {label: 'Press power button', danger: true, relay: true, help: 'Presses the power button through the relay for the mapping\'s pulse length.'},
  exec: {label: 'Run command', danger: true, rigOnly: true, help: 'Runs a shell command on the rig through HiveOS; its output comes back with the result.'},
};

// The longest shell command the gateway accepts for `exec` (params.cmd).
export const EXEC_MAX_CHARS = 1000;

// The actions carried out by a relay controller: they need the worker's relay mapping.
export const RELAY_ACTIONS = Object.keys(ACTIONS).filter((k) => ACTIONS[k].relay);

export function needsConfirm(action) {
  return Boolean(ACTIONS[action]?.danger);
}

// Queues `action` on `worker` ({id, name, ip}); asks first when the action needs it.
// Resolves with the created command, or null when the user cancelled.
export async function queueCommand(worker, action, params) {
  const spec = ACTIONS[action] || {label: action};
  const body = {action};
  if (params && Object.keys(params).length) body.params = params;
  if (needsConfirm(action)) {
    const where = worker.ip ? ` (${worker.ip})` : '';
    const ok = await confirmDialog({
      title: `${spec.label} ${worker.name}?`,
      message: action === 'exec' ? `Run \u201c${params.cmd}\u201d as root on ${worker.name}${where}.`
                                 : `${spec.label} ${worker.name}${where}. ${spec.help}`,
      details: 'The command is queued now and carried out by the action dispatcher.',
      confirmLabel: spec.label,
      danger: true,
    });
    if (!ok) return null;
    body.confirm = true;
  }
  const command = await api.post(`/api/workers/${worker.id}/commands`, body,
                                 {headers: {'Idempotency-Key': idempotencyKey()}});
  toast(`${spec.label} queued for ${worker.name}${command && command.id ? ` (command #${command.id})` : ''}.`, 'ok');
  return command;
}

// The "Actions…" dialog of a miners-table row: choose an action (and a preset), then queue it
// (through the confirm dialog for the dangerous ones).
export async function openCommandDialog(worker, presets = []) {
  const choice = await formDialog({
    title: `Command for ${worker.name}`,
    submitLabel: 'Continue',
    build(body) {
      const actionSelect = select(Object.entries(ACTIONS).filter(([, v]) => !v.rigOnly).map(([k, v]) => [k, v.label]), 'restart_mining',
                                  {name: 'action', 'data-testid': 'command-action'});
      const help = h('p', {class: 'help'}, ACTIONS.restart_mining.help);
      const presetSelect = select(presets.map((p) => [p.name, p.pretty && p.pretty !== p.name ? `${p.pretty} (${p.name})` : p.name]),
                                  presets[0]?.name, {name: 'preset'});
      const presetField = field('Preset', presetSelect);
      presetField.hidden = true;
      actionSelect.addEventListener('change', () => {
        help.textContent = ACTIONS[actionSelect.value].help;
        presetField.hidden = actionSelect.value !== 'set_preset';
      });
      body.append(field('Action', actionSelect), help, presetField);
      return {actionSelect, presetSelect};
    },
    submit({actionSelect, presetSelect}) {
      const action = actionSelect.value;
      if (action === 'set_preset' && !presetSelect.value) {
        throw new InputError('This model has no presets yet; wait for discovery to read them.');
      }
      return {action, params: action === 'set_preset' ? {preset: presetSelect.value} : undefined};
    },
  });
  if (!choice) return null;
  return queueCommand(worker, choice.action, choice.params);
}

// The "Run command…" dialog of a HiveOS rig whose account allows `exec`: the shell command
// (required, at most EXEC_MAX_CHARS), then the confirm dialog, then the queued command.
export async function openExecDialog(worker) {
  const choice = await formDialog({
    title: `Run a command on ${worker.name}`,
    submitLabel: 'Continue',
    build(body) {
      const cmd = h('textarea', {name: 'cmd', rows: 3, spellcheck: 'false', autocomplete: 'off', class: 'code-input',
                                 maxlength: EXEC_MAX_CHARS, 'data-testid': 'exec-cmd', placeholder: 'nvidia-smi -q -d TEMPERATURE'});
      body.append(field('Shell command', cmd, `${ACTIONS.exec.help} At most ${EXEC_MAX_CHARS} characters.`));
      return {cmd};
    },
    submit({cmd}) {
      const text = cmd.value.trim();
      if (!text) throw new InputError('Enter the command to run.', 'cmd');
      if (text.length > EXEC_MAX_CHARS) throw new InputError(`The command is ${text.length} characters; at most ${EXEC_MAX_CHARS}.`, 'cmd');
      return {cmd: text};
    },
  });
  if (!choice) return null;
  return queueCommand(worker, 'exec', choice);
}
