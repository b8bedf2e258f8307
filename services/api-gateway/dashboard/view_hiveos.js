// HiveOS accounts (issue 11): the API base URL and personal token fleetward reads rigs through,
// with how the last sync went (a failing account keeps its rigs' last values, marked stale, and
// says why here). Operators add accounts (the server checks the token with HiveOS before it
// stores anything, and never shows it again: only its last characters), change limits and
// disable them; admins allow remote `exec` per account and delete accounts.
import {h, int, num, timeEl, stateBadge, badge, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {KeyedRows, table, showError, toast, confirmDialog, formDialog, field, InputError} from './ui.js';

const DEFAULT_URL = 'https://api2.hiveos.farm/api/v2';

function numberIn(input, label, min, max, integer) {
  const text = input.value.trim();
  if (text === '') return undefined;
  const v = Number(text);
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new InputError(`${label}: type a ${integer ? 'whole ' : ''}number from ${min} to ${max}.`, input.name);
  }
  return v;
}

// Add (current = null) or change an account; resolves with the saved one, or null.
function accountDialog(current) {
  return formDialog({
    title: current ? `Change HiveOS account ${current.name}` : 'Add a HiveOS account',
    submitLabel: current ? 'Save' : 'Check and add',
    build(body) {
      const name = h('input', {name: 'name', maxlength: 64, value: current?.name ?? '', 'data-testid': 'hiveos-name'});
      const url = h('input', {name: 'base_url', maxlength: 500, value: current?.base_url ?? DEFAULT_URL, 'data-testid': 'hiveos-url'});
      const token = h('input', {name: 'token', type: 'password', autocomplete: 'off', maxlength: 4096, 'data-testid': 'hiveos-token'});
      const rpm = h('input', {name: 'requests_per_minute', type: 'number', min: 0.1, max: 6000, step: 'any',
                              value: current?.requests_per_minute ?? '', placeholder: '20'});
      const burst = h('input', {name: 'burst', type: 'number', min: 1, max: 1000, step: 1, value: current?.burst ?? '', placeholder: '5'});
      const enabled = h('input', {name: 'enabled', type: 'checkbox', checked: current ? current.enabled : true});
      body.append(field('Name', name, 'Letters, digits, space, _ . - (up to 64).'),
                  field('API base URL', url, 'HiveOS API v2, e.g. https://api2.hiveos.farm/api/v2.'),
                  field('Personal token', token, current ? `Leave empty to keep the token ending in …${current.token_hint}.`
                                                         : 'From the HiveOS account page (Sessions → Personal tokens). Checked with HiveOS before it is stored; never shown again.'),
                  field('Requests per minute', rpm, 'The budget for every fleetward process using this account (default 20).'),
                  field('Burst', burst, 'Requests allowed at once before the budget paces them (default 5).'),
                  h('label', {class: 'check'}, enabled, ' Enabled (synced by hiveos-sync)'));
      return {name, url, token, rpm, burst, enabled};
    },
    submit({name, url, token, rpm, burst, enabled}) {
      const body = {name: name.value.trim(), base_url: url.value.trim(), enabled: enabled.checked};
      if (!body.name) throw new InputError('Name: required.', 'name');
      const t = token.value.trim();
      if (t) body.token = t;
      else if (!current) throw new InputError('Personal token: required.', 'token');
      const r = numberIn(rpm, 'Requests per minute', 0.1, 6000, false);
      if (r !== undefined) body.requests_per_minute = r;
      const b = numberIn(burst, 'Burst', 1, 1000, true);
      if (b !== undefined) body.burst = b;
      return current ? api.patch(`/api/hiveos/accounts/${current.id}`, body) : api.post('/api/hiveos/accounts', body);
    },
  });
}

export default {
  title: 'HiveOS accounts',
  mount(root, ctx) {
    const canEdit = session.can('operator');
    const isAdmin = session.can('admin');
    const columns = [{label: 'Name'}, {label: 'State'}, {label: 'Last sync'}, {label: 'Farms', class: 'num'},
                     {label: 'Workers', class: 'num'}, {label: 'Budget'}, {label: 'Token'}, {label: 'exec'}];
    if (canEdit) columns.push({label: ''});
    const t = table(columns, {caption: 'HiveOS accounts', testid: 'hiveos-table', emptyText: 'No HiveOS account yet.'});
    const rows = new KeyedRows(t.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'hiveos-row'});
      row.update = (a) => {
        row.el.dataset.name = a.name;
        row.el.dataset.state = a.state;
        const cells = [
          h('td', {}, h('strong', {}, a.name), h('div', {class: 'muted small mono'}, a.base_url)),
          h('td', {'data-testid': 'hiveos-state'}, a.enabled ? stateBadge(a.state === 'ok' ? 'online' : a.state === 'failing' ? 'failed' : 'pending')
                                                             : badge('disabled', 'neutral'),
            ' ', a.state,
            a.state_reason ? h('div', {class: a.state === 'failing' ? 'value-bad small' : 'muted small', 'data-testid': 'hiveos-reason'}, a.state_reason) : null),
          h('td', {}, a.last_sync_at ? timeEl(a.last_sync_at) : h('span', {class: 'muted'}, 'never')),
          h('td', {class: 'num'}, int(a.farms)),
          h('td', {class: 'num'}, h('a', {href: `#/rigs?account_id=${a.id}`}, int(a.workers))),
          h('td', {class: 'small'}, `${num(a.requests_per_minute, 0)}/min, burst ${int(a.burst)}`),
          h('td', {class: 'mono'}, a.token_hint ? `…${a.token_hint}` : DASH),
          h('td', {'data-testid': 'hiveos-exec'}, a.exec_enabled ? badge('allowed', 'warn') : 'off'),
        ];
        if (canEdit) {
          const buttons = [];
          const edit = h('button', {type: 'button', class: 'btn btn-small', 'data-testid': 'hiveos-edit'}, 'Edit');
          edit.addEventListener('click', async () => {
            const saved = await accountDialog(a);
            if (saved) {
              toast(`HiveOS account ${saved.name} saved.`, 'ok');
              ctx.refreshNow();
            }
          });
          buttons.push(edit);
          if (isAdmin) {
            const exec = h('button', {type: 'button', class: 'btn btn-small', 'data-testid': 'hiveos-exec-toggle'},
                           a.exec_enabled ? 'Forbid exec' : 'Allow exec');
            exec.addEventListener('click', async () => {
              if (!a.exec_enabled && !(await confirmDialog({
                title: `Allow exec on ${a.name}?`,
                message: 'Operators will be able to run shell commands on every rig of this account through HiveOS.',
                confirmLabel: 'Allow exec', danger: true}))) return;
              try {
                await api.patch(`/api/hiveos/accounts/${a.id}`, {exec_enabled: !a.exec_enabled});
                ctx.refreshNow();
              } catch (e) {
                showError(e, 'Not changed');
              }
            });
            const remove = h('button', {type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'hiveos-delete'}, 'Delete');
            remove.addEventListener('click', async () => {
              if (!(await confirmDialog({title: `Delete HiveOS account ${a.name}?`,
                                         message: `Its ${int(a.workers)} workers are marked removed; their history stays.`,
                                         confirmLabel: 'Delete', danger: true}))) return;
              try {
                await api.del(`/api/hiveos/accounts/${a.id}`);
                toast(`HiveOS account ${a.name} deleted.`, 'ok');
                ctx.refreshNow();
              } catch (e) {
                showError(e, 'Account not deleted');
              }
            });
            buttons.push(' ', exec, ' ', remove);
          }
          cells.push(h('td', {}, buttons));
        }
        row.el.replaceChildren(...cells);
      };
      return row;
    });
    const add = canEdit ? h('button', {type: 'button', class: 'btn btn-primary', 'data-testid': 'hiveos-add'}, 'Add account') : null;
    add?.addEventListener('click', async () => {
      const created = await accountDialog(null);
      if (created) {
        toast(`HiveOS account ${created.name} added: its rigs appear after the next sync.`, 'ok');
        ctx.refreshNow();
      }
    });
    append(root,
      h('p', {class: 'breadcrumb'}, h('a', {href: '#/rigs'}, '← Rigs')),
      h('div', {class: 'title-row'}, h('h1', {}, 'HiveOS accounts'), add),
      h('p', {class: 'muted'}, 'hiveos-sync reads every enabled account: one request for the farms, one per farm for its workers and their stats.'),
      t.el);
    return {
      async refresh() {
        const page = await api.get('/api/hiveos/accounts', {signal: ctx.signal});
        const items = page.items || [];
        rows.render(items);
        t.setEmpty(items.length === 0);
      },
    };
  },
};
