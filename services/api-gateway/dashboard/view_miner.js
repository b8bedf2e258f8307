// One miner (seed 003 §4 "Status Detail"): identity and state, manual actions, the unlock
// password, small charts of recent statuses, fans and chains of the latest status, the chip grade
// heat map, its power relay (mapping, controller state, power actions) and its recent commands
// with their life (state, attempts, why held or skipped, result) and open alerts.
import {h, replace, hashrate, power, temp, num, int, percent, timeEl, stateBadge, dateTime, parseTime, badge, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {showError, errorText, toast, field, confirmDialog, InputError} from './ui.js';
import {sparkline, chipHeatMap, heatLegend} from './charts.js';
import {ACTIONS, RELAY_ACTIONS, queueCommand} from './actions.js';
import {relayPanel} from './relay.js';
import {recentCommands} from './command_life.js';

function dl(pairs) {
  return h('dl', {class: 'facts'}, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function section(title, id, ...children) {
  return h('section', {class: 'panel', 'aria-labelledby': id}, h('h2', {id}, title), ...children);
}

function inlineError(el, e) {
  if (e && e.name === 'AbortError') throw e;
  replace(el, h('p', {class: 'muted'}, errorText(e)));
}

export default {
  title: 'Miner',
  mount(root, ctx) {
    const id = Number(ctx.params[0]);
    if (!Number.isInteger(id) || id < 1) throw new InputError('No such miner: the address must end in a miner id.');
    const canAct = session.can('operator');
    let miner = null;
    let model = null;
    let statusId = null;
    let chipsAt = null;
    let heatMode = 'grade';
    let chipData = null;

    const title = h('h1', {}, `Miner ${id}`);
    const facts = h('div', {});
    const controls = h('div', {class: 'controls'});
    const charts = h('div', {class: 'charts', 'data-testid': 'miner-charts'});
    const latestBox = h('div', {});
    const fansBox = h('div', {});
    const chainsBox = h('div', {});
    const heatBox = h('div', {});
    const heatToggle = h('div', {class: 'segmented', role: 'group', 'aria-label': 'Colour chips by'});
    const commands = recentCommands({workerId: id, testid: 'miner-commands', empty: 'No commands for this miner.', ctx});
    const refreshCommands = commands.refresh;
    const alertsBox = h('div', {});
    const relay = relayPanel({canEdit: canAct, onChange: () => ctx.refreshNow()});
    const powerRow = h('div', {class: 'control-row', role: 'group', 'aria-label': 'Power (relay)'});
    const powerHint = h('p', {class: 'help', 'data-testid': 'power-hint'});

    // The relay actions: disabled, with the reason, while the worker has no relay mapping.
    const powerButtons = RELAY_ACTIONS.map((action) => {
      const spec = ACTIONS[action];
      const b = h('button', {type: 'button', class: ['btn', 'btn-danger'], title: spec.help, 'data-testid': `action-${action}`}, spec.label);
      b.addEventListener('click', async () => {
        b.disabled = true;
        try {
          await queueCommand(miner, action);
          refreshCommands();
        } catch (e) {
          showError(e, `${spec.label} not queued`);
        } finally {
          updatePower();
        }
      });
      return b;
    });
    powerRow.append(...powerButtons);
    function updatePower() {
      const mapped = Boolean(miner && miner.relay);
      const device = miner && miner.kind === 'device';
      for (const b of powerButtons) {
        b.disabled = !mapped;
        if (mapped) b.removeAttribute('aria-describedby');
        else b.setAttribute('aria-describedby', 'power-hint');
      }
      powerHint.id = 'power-hint';
      powerHint.textContent = mapped ? `Through ${miner.relay.controller_name} channel ${miner.relay.channel}.`
        : device ? 'Devices have no power relay.' : 'Map this worker to a relay controller channel (below) to power it on, off or cycle it.';
    }
    const powerBox = h('div', {class: 'controls'}, powerRow, powerHint);

    for (const [mode, label] of [['grade', 'Grade'], ['temp', 'Temperature']]) {
      const b = h('button', {type: 'button', class: 'btn btn-small', 'aria-pressed': String(mode === heatMode)}, label);
      b.addEventListener('click', () => {
        heatMode = mode;
        for (const x of heatToggle.children) x.setAttribute('aria-pressed', String(x === b));
        renderHeat();
      });
      heatToggle.append(b);
    }

    append(root,
      h('p', {class: 'breadcrumb'}, h('a', {href: '#/miners'}, '← Miners')),
      title, h('div', {class: 'panel'}, facts),
      canAct ? section('Actions', 'm-actions', controls) : null,
      section('Power relay', 'm-relay', canAct ? powerBox : null, relay.el),
      section('Recent statuses', 'm-charts', charts),
      h('div', {class: 'two-col'},
        section('Latest status', 'm-latest', latestBox, h('h3', {}, 'Fans'), fansBox),
        section('Open alerts', 'm-alerts', alertsBox)),
      section('Chains', 'm-chains', chainsBox),
      section('Chip heat map', 'm-heat', heatToggle, heatBox),
      section('Recent commands', 'm-commands', commands.box));

    function renderFacts(m) {
      const latest = m.latest || {};
      title.textContent = m.name;
      replace(facts,
              h('p', {class: 'subtitle view-status'}, m.ip ? stateBadge(latest.miner_state || m.status) : stateBadge('offline'),
                ' ', m.model_name || m.model_alias || 'unknown model', m.fw_version ? ` · firmware ${m.fw_version}` : ''),
              dl([
                ['MAC', h('span', {class: 'mono'}, m.mac)],
                ['IP', m.ip ? h('span', {class: 'mono'}, m.ip) : h('span', {class: 'offline-text'}, 'offline (no IP)')],
                ['Status', stateBadge(m.status)],
                ['Managed', m.managed ? 'yes' : 'no'],
                ['Last seen', timeEl(m.last_seen_at)],
                ['Hashrate', [hashrate(latest.hashrate_ths), latest.hashrate_ratio != null ? ` (${percent(latest.hashrate_ratio)} of nominal)` : '']],
                ['Power', [power(latest.power_w), latest.efficiency_jth != null ? ` · ${num(latest.efficiency_jth, 1)} J/TH` : '']],
                ['Chip / PCB temp', `${temp(latest.chip_temp_max)} / ${temp(latest.pcb_temp_max)}`],
                ['API key', stateBadge(m.api_key_state)],
                ['Unlock password', m.unlock_password_set ? 'custom (stored encrypted)' : 'firmware default'],
                m.last_poll_error ? ['Last poll error', h('span', {class: 'value-bad'}, m.last_poll_error)] : null,
              ]));
    }

    // Built once; the managed switch and preset list follow each refresh.
    let managedToggle = null;
    let presetSelect = null;
    function buildControls() {
      managedToggle = h('input', {type: 'checkbox', class: 'switch', id: 'm-managed', 'data-testid': 'detail-managed'});
      managedToggle.addEventListener('change', async () => {
        const want = managedToggle.checked;
        managedToggle.disabled = true;
        try {
          miner = {...miner, ...(await api.patch(`/api/miners/${id}`, {managed: want}))};
          renderFacts(miner);
          toast(`${miner.name} is now ${want ? 'managed' : 'not managed'}.`, 'ok');
        } catch (e) {
          managedToggle.checked = !want;
          showError(e, 'Could not change "managed"');
        } finally {
          managedToggle.disabled = false;
        }
      });
      const rescan = h('button', {type: 'button', class: 'btn', 'data-testid': 'action-rescan'}, 'Rescan');
      rescan.addEventListener('click', async () => {
        rescan.disabled = true;
        try {
          await api.post(`/api/miners/${id}/rescan`, {});
          toast('Rescan requested: discovery looks at this miner at its next cycle.', 'ok');
        } catch (e) {
          showError(e, 'Rescan not requested');
        } finally {
          rescan.disabled = false;
        }
      });
      const buttons = Object.entries(ACTIONS).filter(([k, v]) => k !== 'set_preset' && !v.relay && !v.rigOnly).map(([action, spec]) => {
        const b = h('button', {type: 'button', class: ['btn', spec.danger ? 'btn-danger' : ''], title: spec.help,
                               'data-testid': `action-${action}`}, spec.label);
        b.addEventListener('click', async () => {
          b.disabled = true;
          try {
            await queueCommand(miner, action);
            refreshCommands();
          } catch (e) {
            showError(e, `${spec.label} not queued`);
          } finally {
            b.disabled = false;
          }
        });
        return b;
      });
      presetSelect = h('select', {id: 'm-preset'});
      const presetBtn = h('button', {type: 'button', class: 'btn', 'data-testid': 'action-set_preset'}, 'Set preset');
      presetBtn.addEventListener('click', async () => {
        if (!presetSelect.value) {
          toast('This model has no presets yet.', 'warn');
          return;
        }
        presetBtn.disabled = true;
        try {
          await queueCommand(miner, 'set_preset', {preset: presetSelect.value});
          refreshCommands();
        } catch (e) {
          showError(e, 'Preset not queued');
        } finally {
          presetBtn.disabled = false;
        }
      });
      const password = h('input', {type: 'password', id: 'm-unlock', autocomplete: 'new-password', maxlength: 128});
      const savePw = h('button', {type: 'submit', class: 'btn'}, 'Save password');
      const resetPw = h('button', {type: 'button', class: 'btn'}, 'Use the default');
      // The hidden user name tells password managers whose password this is.
      const pwForm = h('form', {class: 'inline-form', 'aria-label': 'Unlock password'},
                       h('input', {type: 'text', autocomplete: 'username', hidden: true, readonly: true, tabindex: '-1',
                                   'aria-hidden': 'true', value: `miner-${id}`}),
                       field('Unlock password (seed 003: when the miner does not use the default)', password,
                             'Stored encrypted; discovery uses it to create the API key.'),
                       savePw, resetPw);
      const savePassword = async (value) => {
        try {
          miner = {...miner, ...(await api.patch(`/api/miners/${id}`, {unlock_password: value}))};
          password.value = '';
          renderFacts(miner);
          toast(value === null ? 'The miner uses the default unlock password again.' : 'Unlock password saved.', 'ok');
        } catch (e) {
          showError(e, 'Password not saved');
        }
      };
      pwForm.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!password.value) {
          toast('Type the password first.', 'warn');
          return;
        }
        savePassword(password.value);
      });
      resetPw.addEventListener('click', async () => {
        const ok = await confirmDialog({title: 'Use the default password?', message: `Forget the custom unlock password of ${miner.name}?`,
                                        confirmLabel: 'Use the default'});
        if (ok) savePassword(null);
      });
      replace(controls,
              h('div', {class: 'control-row'},
                h('label', {class: 'switch-label', for: 'm-managed'}, managedToggle, ' Managed (polled, eligible for automation)'),
                rescan),
              h('div', {class: 'control-row', role: 'group', 'aria-label': 'Commands'}, buttons),
              h('div', {class: 'control-row'}, field('Preset', presetSelect), presetBtn),
              pwForm);
    }
    if (canAct) buildControls();

    async function loadModel(alias) {
      if (!alias || (model && model.alias === alias)) return;
      try {
        const r = await api.get('/api/models', {signal: ctx.signal});
        model = (r.items || []).find((m) => m.alias === alias) || null;
      } catch (e) {
        if (e.name === 'AbortError') throw e;
        model = null;
      }
      if (presetSelect) {
        const presets = model ? model.presets : [];
        replace(presetSelect, presets.length ? presets.map((p) => h('option', {value: p.name},
                p.pretty && p.pretty !== p.name ? `${p.pretty} (${p.name})` : p.name)) : h('option', {value: ''}, 'no presets known'));
      }
    }

    async function refreshCharts() {
      try {
        const r = await api.get(`/api/miners/${id}/statuses?limit=60`, {signal: ctx.signal});
        const items = [...r.items].reverse();
        if (!items.length) {
          replace(charts, h('p', {class: 'muted'}, 'No statuses yet: the miner is polled once it is managed, online and its model has a max preset.'));
          return;
        }
        const series = (key) => items.map((it) => ({t: parseTime(it.observed_at), v: it[key]}));
        replace(charts,
                sparkline(series('hashrate_ths'), {label: 'Hashrate', format: hashrate, testid: 'chart-hashrate'}),
                sparkline(series('power_w'), {label: 'Power', format: power}),
                sparkline(series('chip_temp_max'), {label: 'Chip temperature', format: temp}),
                sparkline(series('fan_rpm_min'), {label: 'Slowest fan', format: (v) => (v == null ? DASH : `${int(v)} rpm`)}));
      } catch (e) {
        inlineError(charts, e);
      }
    }

    async function refreshStatus() {
      const sid = miner.latest?.status_id;
      if (!sid) {
        replace(latestBox, h('p', {class: 'muted'}, 'No status recorded yet.'));
        replace(fansBox);
        replace(chainsBox, h('p', {class: 'muted'}, 'No chain data yet.'));
        return;
      }
      if (sid === statusId) return;
      try {
        const st = await api.get(`/api/statuses/${sid}`, {signal: ctx.signal});
        statusId = sid;
        replace(latestBox, dl([
          ['Observed', h('span', {title: dateTime(st.observed_at)}, timeEl(st.observed_at))],
          ['State', stateBadge(st.miner_state)],
          ['Hashrate', hashrate(st.hashrate_ths)],
          ['Power', power(st.power_w)],
          ['Chips red / orange', `${int(st.chips_red)} / ${int(st.chips_orange)}`],
        ]));
        const fans = st.fans || [];
        replace(fansBox, fans.length ? h('table', {class: 'table compact', 'data-testid': 'fans-table'},
          h('thead', {}, h('tr', {}, ['Fan', 'RPM', 'Max RPM', 'Status'].map((x) => h('th', {scope: 'col'}, x)))),
          h('tbody', {}, fans.map((f) => h('tr', {}, h('td', {}, `#${f.fan_id}`), h('td', {class: 'num'}, int(f.rpm)),
                                           h('td', {class: 'num'}, int(f.max_rpm)), h('td', {}, f.status ? badge(f.status, f.status === 'ok' ? 'ok' : 'bad') : DASH)))))
          : h('p', {class: 'muted'}, 'No fans reported.'));
        const chains = st.chains || [];
        replace(chainsBox, chains.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'table', 'data-testid': 'chains-table'},
          h('thead', {}, h('tr', {}, ['Chain', 'State', 'Hashrate', 'Ideal', 'Freq', 'Voltage', 'Power', 'Chip temp', 'PCB temp', 'Red / orange']
            .map((x) => h('th', {scope: 'col'}, x)))),
          h('tbody', {}, chains.map((c) => h('tr', {class: c.state === 'failure' || c.state === 'disconnected' ? 'row-offline' : null},
            h('td', {}, `#${c.chain_id}`), h('td', {}, stateBadge(c.state), c.description ? h('span', {class: 'muted small'}, ` ${c.description}`) : null),
            h('td', {class: 'num'}, hashrate(c.hashrate_ths)), h('td', {class: 'num'}, hashrate(c.hashrate_ideal_ths)),
            h('td', {class: 'num'}, c.frequency_mhz == null ? DASH : `${int(c.frequency_mhz)} MHz`),
            h('td', {class: 'num'}, c.voltage_mv == null ? DASH : `${int(c.voltage_mv)} mV`),
            h('td', {class: 'num'}, power(c.power_w)), h('td', {class: 'num'}, temp(c.chip_temp_max)),
            h('td', {class: 'num'}, temp(c.pcb_temp_max)), h('td', {class: 'num'}, `${int(c.chips_red)} / ${int(c.chips_orange)}`))))))
          : h('p', {class: 'muted'}, 'No chains in the latest status.'));
      } catch (e) {
        inlineError(latestBox, e);
      }
    }

    function renderHeat() {
      if (!chipData) return;
      if (!chipData.chains || !chipData.chains.length) {
        replace(heatBox, h('p', {class: 'muted'}, 'No chip telemetry in the last day (the telemetry worker reads /chains of managed miners).'));
        return;
      }
      replace(heatBox, h('p', {class: 'muted small'}, 'Observed ', timeEl(chipData.observed_at), '. Hover a chip for its values.'),
              chipHeatMap(chipData.chains, heatMode), heatLegend(heatMode));
    }

    async function refreshChips() {
      try {
        const r = await api.get(`/api/miners/${id}/chips`, {signal: ctx.signal});
        if (chipData && r.observed_at === chipsAt) return;
        chipsAt = r.observed_at;
        chipData = r;
        renderHeat();
      } catch (e) {
        inlineError(heatBox, e);
      }
    }

    async function refreshAlerts() {
      try {
        const r = await api.get(`/api/alerts?state=open&worker_id=${id}&limit=20`, {signal: ctx.signal});
        replace(alertsBox, r.items.length ? h('ul', {class: 'alert-list'}, r.items.map((a) =>
          h('li', {}, stateBadge(a.severity), ' ', h('strong', {}, a.rule_name), ' ', stateBadge(a.state), ' since ',
            timeEl(a.fired_at || a.started_at))))
          : h('p', {class: 'muted'}, 'No open alert.'));
      } catch (e) {
        inlineError(alertsBox, e);
      }
    }

    // A worker that is not an ASIC miner (rig, node, device): its row and latest metrics.
    let workerMode = false;
    const metricsBox = h('div', {});
    function switchToWorker() {
      workerMode = true;
      const actionButtons = canAct ? Object.entries(ACTIONS).filter(([k, v]) => k !== 'set_preset' && !v.relay && !v.rigOnly).map(([action, spec]) => {
        const b = h('button', {type: 'button', class: ['btn', spec.danger ? 'btn-danger' : ''], title: spec.help,
                               'data-testid': `action-${action}`}, spec.label);
        b.addEventListener('click', () => queueCommand(miner, action).then(refreshCommands)
          .catch((e) => showError(e, `${spec.label} not queued`)));
        return b;
      }) : [];
      replace(root, h('p', {class: 'breadcrumb'}, h('a', {href: '#/overview'}, '← Overview')), title,
              h('div', {class: 'panel'}, facts),
              canAct ? section('Actions', 'w-actions', h('div', {class: 'control-row'}, actionButtons)) : null,
              section('Power relay', 'm-relay', canAct ? powerBox : null, relay.el),
              h('div', {class: 'two-col'}, section('Latest metrics', 'w-metrics', metricsBox), section('Open alerts', 'm-alerts', alertsBox)),
              section('Recent commands', 'm-commands', commands.box));
    }

    async function refreshWorker() {
      const w = await api.get(`/api/workers/${id}`, {signal: ctx.signal});
      // A container host node has its own page.
      if (w.kind === 'node') {
        location.replace(`#/node/${id}`);
        return;
      }
      miner = w;
      relay.update(w);
      updatePower();
      title.textContent = w.name;
      document.title = `${w.name} · fleetward`;
      replace(facts, dl([
        ['Kind', w.kind], ['Status', stateBadge(w.status)], ['Since', timeEl(w.status_since)],
        ['IP', w.ip ? h('span', {class: 'mono'}, w.ip) : h('span', {class: 'offline-text'}, 'none')],
        ['Farm', w.farm || DASH], ['Last seen', timeEl(w.last_seen_at)], ['Managed', w.managed ? 'yes' : 'no'],
        ['Labels', Object.entries(w.labels || {}).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') || DASH],
      ]));
      const metrics = Object.entries(w.metrics || {}).sort(([a], [b]) => a.localeCompare(b));
      replace(metricsBox, metrics.length ? h('table', {class: 'table compact', 'data-testid': 'worker-metrics'},
        h('thead', {}, h('tr', {}, ['Metric', 'Value', 'Observed'].map((x) => h('th', {scope: 'col'}, x)))),
        h('tbody', {}, metrics.map(([name, m]) => h('tr', {}, h('td', {class: 'mono'}, name),
          h('td', {class: 'num'}, m.value != null ? num(m.value, 2) : (m.json_value != null ? JSON.stringify(m.json_value) : DASH)),
          h('td', {}, timeEl(m.observed_at))))))
        : h('p', {class: 'muted'}, 'No metrics reported yet.'));
      await Promise.all([refreshCommands(), refreshAlerts()]);
    }

    return {
      unmount() {
        commands.stop();
      },
      async refresh() {
        if (workerMode) return refreshWorker();
        try {
          miner = await api.get(`/api/miners/${id}`, {signal: ctx.signal});
        } catch (e) {
          if (e.status !== 404) throw e;
          switchToWorker();
          return refreshWorker();
        }
        document.title = `${miner.name} · fleetward`;
        renderFacts(miner);
        relay.update(miner);
        updatePower();
        if (managedToggle && !managedToggle.disabled) managedToggle.checked = miner.managed;
        await Promise.all([loadModel(miner.model_alias), refreshCharts(), refreshStatus(), refreshChips(),
                           refreshCommands(), refreshAlerts()]);
      },
    };
  },
};
