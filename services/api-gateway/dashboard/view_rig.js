// One HiveOS worker (issue 11): what HiveOS says about it (farm, account, platform, versions,
// addresses, boot and stats times, watchdog), its GPUs (or hash boards for an ASIC) with
// temperature, fan, power, clocks and hashrate, the hashrate per algorithm with shares, HiveOS's
// problems, charts from the readings, the status history, and the actions an operator may take
// through HiveOS (reboot, shut down, restart / stop / start the miner, and run a shell command when
// an admin allowed `exec` on the account) with the rig's recent commands and their results.
import {h, replace, int, num, hashrate, power, temp, timeEl, stateBadge, badge, dateTime, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {errorText, InputError, showError} from './ui.js';
import {metricCharts} from './metric_charts.js';
import {queueCommand, openExecDialog} from './actions.js';
import {recentCommands} from './command_life.js';
import {problemBadges} from './view_rigs.js';

const CHARTS = [
  {metric: 'hashrate', label: 'Hashrate', format: hashrate},
  {metric: 'gpu_temp_max', label: 'Hottest GPU', format: temp},
  {metric: 'power', label: 'Power', format: power},
  {metric: 'gpus_offline', label: 'GPUs lost', format: int},
];
// What HiveOS can do to a worker, in the order of the buttons.
const RIG_ACTIONS = ['restart_mining', 'stop_mining', 'start_mining', 'reboot', 'shutdown'];
const LABELS = {restart_mining: 'Restart miner', stop_mining: 'Stop miner', start_mining: 'Start miner',
                reboot: 'Reboot', shutdown: 'Shut down'};

function dl(pairs) {
  return h('dl', {class: 'facts'}, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function section(title, id, ...children) {
  return h('section', {class: 'panel', 'aria-labelledby': id}, h('h2', {id}, title), ...children);
}

function tableOf(testid, headers, rows) {
  return h('div', {class: 'table-wrap'}, h('table', {class: 'table compact', 'data-testid': testid},
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', {scope: 'col'}, x)))),
    h('tbody', {}, rows)));
}

function mhz(v) {
  return v === null || v === undefined ? DASH : `${int(v)} MHz`;
}

function percentText(v) {
  return v === null || v === undefined ? DASH : `${num(v, 0)} %`;
}

function gpuTable(gpus) {
  return tableOf('rig-gpus', ['#', 'Bus', 'Model', 'Temperature', 'Memory temp.', 'Fan', 'Power', 'Core', 'Memory', 'Hashrate'],
    gpus.map((g) => h('tr', {'data-testid': 'rig-gpu-row'},
      h('td', {class: 'num'}, g.index ?? DASH),
      h('td', {class: 'mono small'}, g.bus_id || (g.bus_number ?? DASH)),
      h('td', {}, [g.brand, g.model].filter(Boolean).join(' ') || DASH),
      h('td', {class: ['num', g.temp >= 85 ? 'value-bad' : g.temp >= 75 ? 'value-warn' : ''], 'data-testid': 'rig-gpu-temp'}, temp(g.temp)),
      h('td', {class: 'num'}, temp(g.mem_temp)),
      h('td', {class: 'num'}, percentText(g.fan_percent)),
      h('td', {class: 'num'}, power(g.power_w)),
      h('td', {class: 'num'}, mhz(g.core_clock_mhz)),
      h('td', {class: 'num'}, mhz(g.mem_clock_mhz)),
      h('td', {class: 'num'}, hashrate(g.hashrate_ths)))));
}

function boardTable(boards) {
  return tableOf('rig-boards', ['Chain', 'Chips', 'Frequency', 'Chip temp.', 'Board temp.', 'Power', 'HW errors'],
    boards.map((b) => h('tr', {'data-testid': 'rig-board-row'},
      h('td', {class: 'num'}, b.chain ?? DASH), h('td', {class: 'num'}, int(b.chips)),
      h('td', {class: 'num'}, mhz(b.freq_mhz)), h('td', {class: 'num'}, temp(b.temp)),
      h('td', {class: 'num'}, temp(b.board_temp)), h('td', {class: 'num'}, power(b.power_w)),
      h('td', {class: 'num'}, int(b.hw_errors)))));
}

function hashrateTable(list) {
  return tableOf('rig-hashrates', ['Miner', 'Algorithm', 'Coin', 'Hashrate', 'Accepted', 'Rejected', 'Invalid'],
    list.map((x) => h('tr', {},
      h('td', {}, x.miner || DASH), h('td', {}, x.algo || DASH), h('td', {}, x.coin || DASH),
      h('td', {class: 'num'}, hashrate(x.ths)), h('td', {class: 'num'}, int(x.accepted)),
      h('td', {class: 'num'}, int(x.rejected)), h('td', {class: 'num'}, int(x.invalid)))));
}

function versionsText(v) {
  const entries = Object.entries(v || {}).filter(([, x]) => typeof x === 'string' && x);
  return entries.length ? h('span', {class: 'small'}, entries.map(([k, x]) => `${k} ${x}`).join(' · ')) : DASH;
}

function watchdogText(w) {
  if (!w || w.enabled === undefined || w.enabled === null) return DASH;
  if (!w.enabled) return 'off';
  const parts = [];
  if (w.restart_timeout_min) parts.push(`restart miner after ${num(w.restart_timeout_min, 0)} min`);
  if (w.reboot_timeout_min) parts.push(`reboot after ${num(w.reboot_timeout_min, 0)} min`);
  if (w.power_action) parts.push(`power action ${w.power_action}`);
  return parts.length ? parts.join(', ') : 'on';
}

export default {
  title: 'Rig',
  mount(root, ctx) {
    const id = Number(ctx.params[0]);
    if (!Number.isInteger(id) || id < 1) throw new InputError('No such rig: the address must end in a worker id.');
    let actionsKey = null;

    const title = h('h1', {}, `Rig ${id}`);
    const subtitle = h('p', {class: 'subtitle view-status', 'data-testid': 'rig-status'});
    const actions = h('div', {class: 'control-row', role: 'group', 'aria-label': 'Rig actions', 'data-testid': 'rig-actions'});
    const facts = h('div', {'data-testid': 'rig-facts'});
    const now = h('div', {'data-testid': 'rig-now'});
    const units = h('div', {'data-testid': 'rig-units'});
    const unitsTitle = h('h2', {id: 'r-units'}, 'GPUs');
    const rates = h('div', {});
    const historyBox = h('div', {});
    const commands = recentCommands({workerId: id, testid: 'rig-commands', empty: 'No commands for this rig.', ctx});
    const charts = metricCharts({workerId: id, charts: CHARTS, ctx, testid: 'rig-charts'});

    append(root,
      h('p', {class: 'breadcrumb'}, h('a', {href: '#/rigs'}, '← Rigs')),
      h('div', {class: 'title-row'}, title, h('div', {class: 'controls'}, actions)),
      subtitle,
      h('div', {class: 'two-col'}, section('HiveOS', 'r-facts', facts), section('Now', 'r-now', now)),
      h('section', {class: 'panel', 'aria-labelledby': 'r-units'}, unitsTitle, units),
      section('Hashrate by miner', 'r-rates', rates),
      section('History', 'r-charts', charts.toggle, charts.box),
      section('Recent commands', 'r-commands', commands.box),
      section('Status history', 'r-history', historyBox));

    function actionButton(w, action, label, run) {
      const b = h('button', {type: 'button', class: ['btn', 'btn-small', action === 'reboot' || action === 'shutdown' || action === 'exec' ? 'btn-danger' : ''],
                             'data-testid': `rig-action-${action}`}, label);
      b.addEventListener('click', async () => {
        b.disabled = true;
        try {
          if (await run()) {
            ctx.refreshNow();
            commands.refresh().catch(() => {});
          }
        } catch (e) {
          showError(e, `${label} not queued`);
        } finally {
          b.disabled = false;
        }
      });
      return b;
    }

    function actionButtons(w) {
      if (!session.can('operator') || w.status === 'removed') return [];
      const buttons = RIG_ACTIONS.map((action) => actionButton(w, action, LABELS[action], () => queueCommand(w, action)));
      // A remote shell only where an admin allowed it on the account (the gateway refuses it otherwise).
      if (w.rig?.account?.exec_enabled) buttons.push(actionButton(w, 'exec', 'Run command…', () => openExecDialog(w)));
      return buttons;
    }

    function render(w) {
      const rig = w.rig || {};
      const m = w.metrics || {};
      const value = (name) => (m[name] ? m[name].value : null);
      title.textContent = w.name;
      document.title = `${w.name} · fleetward`;
      replace(subtitle, stateBadge(w.status), rig.stale ? [' ', badge('stale: the account\'s last sync failed', 'warn')] : null,
              w.status_reason ? ` ${w.status_reason}` : '', w.status_since ? [' · since ', timeEl(w.status_since)] : null);
      replace(facts, dl([
        ['Account', rig.account ? [rig.account.name, rig.account.state === 'failing'
          ? [' ', badge('failing', 'bad'), rig.account.state_reason ? h('div', {class: 'muted small', 'data-testid': 'rig-account-reason'}, rig.account.state_reason) : null]
          : null] : DASH],
        ['Farm', w.farm || DASH],
        ['HiveOS ids', h('span', {class: 'mono'}, `farm ${rig.hiveos_farm_id ?? DASH} · worker ${rig.hiveos_worker_id ?? DASH}`)],
        ['Platform', rig.platform === 2 ? `ASIC${rig.hardware?.asic_model ? ` (${rig.hardware.asic_model})` : ''}` : rig.platform === 1 ? 'GPU rig' : DASH],
        ['Addresses', (rig.ip_addresses || []).length ? h('span', {class: 'mono'}, rig.ip_addresses.join(', ')) : DASH],
        rig.remote_ip ? ['Remote address', h('span', {class: 'mono'}, rig.remote_ip)] : null,
        ['Versions', versionsText(rig.versions)],
        ['Booted', rig.boot_time ? h('span', {title: dateTime(rig.boot_time)}, timeEl(rig.boot_time)) : DASH],
        ['Watchdog', watchdogText(rig.watchdog)],
        rig.description ? ['Description', rig.description] : null,
      ]));
      const gpusOffline = value('gpus_offline');
      replace(now, dl([
        ['HiveOS says', rig.online === true ? badge('online', 'ok') : rig.online === false ? badge('offline', 'bad') : DASH],
        ['Stats from', rig.stats_time ? h('span', {'data-testid': 'rig-stats-time', title: dateTime(rig.stats_time)}, timeEl(rig.stats_time))
                                      : h('span', {class: 'muted'}, 'none')],
        ['Hashrate', hashrate(value('hashrate'))],
        ['Hottest GPU', temp(value('gpu_temp_max') ?? value('temperature'))],
        ['Power', power(value('power'))],
        ['GPUs', value('gpus_online') === null && gpusOffline === null ? DASH
          : h('span', {class: gpusOffline ? 'value-bad' : ''}, `${int(value('gpus_online'))} working, ${int(gpusOffline)} lost`)],
        ['Problems', h('span', {'data-testid': 'rig-problems'}, (rig.problems || []).length ? problemBadges(rig.problems) : 'none')],
      ]));
      const gpus = rig.gpus || [];
      const boards = rig.boards || [];
      unitsTitle.textContent = boards.length && !gpus.length ? 'Hash boards' : 'GPUs';
      replace(units, gpus.length ? gpuTable(gpus) : boards.length ? boardTable(boards)
        : h('p', {class: 'muted'}, 'HiveOS has not reported any GPU or board for this worker.'));
      const list = rig.hashrates || [];
      replace(rates, list.length ? hashrateTable(list) : h('p', {class: 'muted'}, 'No miner is reporting.'));
      const key = `${w.status}|${session.can('operator')}|${Boolean(rig.account?.exec_enabled)}`;
      if (key !== actionsKey) {
        actionsKey = key;
        replace(actions, actionButtons(w));
      }
    }

    async function refreshHistory() {
      try {
        const r = await api.get(`/api/workers/${id}/status-history?limit=50`, {signal: ctx.signal});
        const items = r.items || [];
        replace(historyBox, items.length ? tableOf('rig-history', ['When', 'From', 'To', 'Reason'],
          items.map((e) => h('tr', {}, h('td', {title: dateTime(e.at)}, timeEl(e.at)), h('td', {}, stateBadge(e.from)),
                                     h('td', {}, stateBadge(e.to)), h('td', {}, e.reason || DASH))))
          : h('p', {class: 'muted'}, 'The status has not changed yet.'));
      } catch (e) {
        if (e && e.name === 'AbortError') throw e;
        replace(historyBox, h('p', {class: 'muted'}, errorText(e)));
      }
    }

    return {
      unmount() {
        commands.stop();
      },
      async refresh() {
        const w = await api.get(`/api/workers/${id}`, {signal: ctx.signal});
        if (!w.rig) throw new InputError(`Worker ${id} is not a HiveOS worker.`);
        render(w);
        await Promise.all([refreshHistory(), commands.refresh(), charts.refresh()]);
      },
    };
  },
};
