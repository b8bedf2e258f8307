// The HiveOS pages of the dashboard (issue 11) in headless Chromium, against the real gateway of
// dashboard.test.mjs's stack plus a real hiveos-sim, hiveos-sync and action-dispatcher: an
// operator adds a HiveOS account (the gateway checks the token with the simulator; a wrong one
// is refused and nothing is stored), hiveos-sync brings the farms' rigs in beside the miners, a
// rig's page shows its GPUs, an overheating rig shows the problem, and a reboot pressed on the
// rig's page reaches the simulator through the action-dispatcher's hiveos channel.
// hiveosTests(env) registers its tests inside the dashboard's describe (one stack for all).
import {it} from 'node:test';
import assert from 'node:assert/strict';
import {eventually, freePort, SECRET_KEY} from './stack.mjs';

const TOKEN = 'browser-hiveos-token-0001';
const FARMS = 2;
const PER_FARM = 3;

export function hiveosTests(env) {
  const page = () => env.page;
  const stack = () => env.stack;
  const sim = {};

  async function as(role) {
    const who = env.page.getByTestId('who');
    if ((await who.isVisible()) && (await who.textContent()) === `${role} · ${role}`) return;
    if (await who.isVisible()) await env.logout();
    await env.login(role);
  }

  async function simGet(path) {
    const r = await fetch(`${sim.url}${path}`);
    assert.equal(r.status, 200, `hiveos-sim ${path}`);
    return r.json();
  }

  it('adds a HiveOS account; a wrong token is refused with nothing stored (operator)', async () => {
    sim.port = await freePort();
    sim.url = `http://127.0.0.1:${sim.port}`;
    sim.proc = stack().spawn('hiveos-sim', ['--listen', `127.0.0.1:${sim.port}`, '--farms', String(FARMS),
                                            '--workers-per-farm', String(PER_FARM), '--gpus-per-rig', '4',
                                            '--token', TOKEN, '--command-delay-ms', '300', '--reboot-offline-ms', '1500']);
    await eventually('hiveos-sim', async () => (await fetch(`${sim.url}/health`).catch(() => ({status: 0}))).status === 200);

    await as('operator');
    await env.nav('Rigs');
    await page().getByRole('heading', {name: 'Rigs', level: 1}).waitFor();
    await page().getByTestId('rigs-accounts-link').click();
    await page().getByRole('heading', {name: 'HiveOS accounts', level: 1}).waitFor();
    await page().getByTestId('hiveos-add').click();
    const dialog = page().getByRole('dialog');
    await dialog.getByTestId('hiveos-name').fill('main farm');
    await dialog.getByTestId('hiveos-url').fill(`${sim.url}/api/v2`);
    await dialog.getByTestId('hiveos-token').fill('not-the-token');
    await dialog.getByRole('button', {name: 'Check and add'}).click();
    await dialog.getByRole('alert').filter({hasText: /rejected the token/i}).waitFor();
    assert.equal(await stack().sql('SELECT count(*) FROM hiveos_accounts'), '0');
    await dialog.getByTestId('hiveos-token').fill(TOKEN);
    await dialog.getByRole('button', {name: 'Check and add'}).click();
    await dialog.waitFor({state: 'detached'});
    const row = page().locator('[data-testid="hiveos-row"][data-name="main farm"]');
    await row.waitFor();
    // Only the token's last characters are ever shown; the stored value is sealed.
    assert.match(await row.textContent(), /…0001/);
    assert.equal(await stack().sql(`SELECT count(*) FROM hiveos_accounts WHERE token_enc LIKE '%${TOKEN}%'`), '0');
    const html = await page().content();
    assert.ok(!html.includes(TOKEN), 'the token is not in the page');
  });

  it('shows the synced rigs beside the miners, a rig\'s GPUs and an overheating rig', async () => {
    stack().spawn('hiveos-sync', ['--log-format', 'text', '--interval', '2', '--set', 'hiveos.stale_after_s=300'],
                  {FLEET_SECRET_KEY: SECRET_KEY});
    await eventually('rigs synced', async () =>
      Number(await stack().sql('SELECT count(*) FROM rigs')) === FARMS * PER_FARM, 60_000, 500);
    await env.nav('Rigs');
    const rows = page().getByTestId('rig-row');
    await eventually('rig rows', async () => (await rows.count()) === FARMS * PER_FARM);
    await page().getByTestId('rigs-stats-total').filter({hasText: String(FARMS * PER_FARM)}).waitFor();
    // The miners are still there, and not in this list.
    assert.equal(await stack().sql("SELECT count(*) FROM rigs r JOIN miners m ON m.worker_id = r.worker_id"), '0');

    // Overheat the first rig in the simulator: after a sync its row shows the problem.
    sim.workerId = Number(await stack().sql('SELECT hiveos_worker_id FROM rigs ORDER BY worker_id LIMIT 1'));
    sim.rigId = Number(await stack().sql(`SELECT worker_id FROM rigs WHERE hiveos_worker_id = ${sim.workerId}`));
    const r = await fetch(`${sim.url}/control/workers/${sim.workerId}`, {method: 'POST', body: JSON.stringify({temp: 95})});
    assert.equal(r.status, 200);
    const hot = page().locator(`[data-testid="rig-row"][data-id="${sim.rigId}"]`);
    await hot.getByTestId('rig-problems').filter({hasText: 'overheated'}).waitFor({timeout: 30_000});
    await hot.getByTestId('rig-temp').filter({hasText: '95 °C'}).waitFor();

    await hot.getByRole('link').first().click();
    await page().getByTestId('rig-facts').filter({hasText: 'main farm'}).waitFor();
    const gpus = page().getByTestId('rig-gpu-row');
    await eventually('GPU rows', async () => (await gpus.count()) === 4);
    assert.match(await page().getByTestId('rig-gpus').textContent(), /95 °C/);
    await page().getByTestId('rig-problems').filter({hasText: 'overheated'}).waitFor();
  });

  it('reboots a rig from its page; the command reaches hiveos-sim and its result is recorded', async () => {
    stack().spawn('action-dispatcher', ['--log-format', 'text', '--interval', '1', '--set', 'hiveos.poll_every=500ms',
                                        '--set', 'hiveos.gather=100ms',
                                        // The exec test follows the reboot on the same rig within the
                                        // default 5 min minimum interval between a worker's actions.
                                        '--set', 'dispatch.worker_min_interval=1s'], {FLEET_SECRET_KEY: SECRET_KEY});
    await page().getByTestId('rig-action-reboot').click();
    const confirm = page().getByRole('dialog');
    await confirm.getByRole('button', {name: 'Reboot'}).click();
    await page().getByText(/Reboot queued/).waitFor();
    await eventually('the reboot reached hiveos-sim', async () => {
      const {commands} = await simGet('/control/commands');
      return commands.some((c) => c.command === 'reboot' && c.worker_ids.includes(sim.workerId));
    }, 30_000, 500);
    await eventually('the command succeeded', async () =>
      (await stack().sql(`SELECT state FROM commands WHERE worker_id = ${sim.rigId} AND action = 'reboot'`)) === 'succeeded',
    30_000, 500);
    assert.equal(await stack().sql(`SELECT channel FROM commands WHERE worker_id = ${sim.rigId}`), 'hiveos');
    // The account does not allow exec: no "Run command…" on the page.
    assert.equal(await page().getByTestId('rig-action-exec').count(), 0);
  });

  it('runs a shell command on a rig once an admin allowed exec; its output shows on the rig\'s page', async () => {
    await as('admin');
    await page().goto(`${stack().baseUrl}/#/hiveos`);
    const account = page().locator('[data-testid="hiveos-row"][data-name="main farm"]');
    await account.getByTestId('hiveos-exec-toggle').click();
    await page().getByRole('dialog').getByRole('button', {name: 'Allow exec'}).click();
    await account.getByTestId('hiveos-exec').filter({hasText: 'allowed'}).waitFor();

    await as('operator');
    await page().goto(`${stack().baseUrl}/#/rig/${sim.rigId}`);
    await page().getByTestId('rig-action-exec').click();
    let dialog = page().getByRole('dialog');
    await dialog.getByRole('button', {name: 'Continue'}).click();
    await dialog.getByRole('alert').filter({hasText: /Enter the command/}).waitFor();
    await dialog.getByTestId('exec-cmd').fill('nvidia-smi -q -d TEMPERATURE');
    await dialog.getByRole('button', {name: 'Continue'}).click();
    dialog = page().getByTestId('confirm-dialog');
    assert.match(await dialog.textContent(), /nvidia-smi -q -d TEMPERATURE/);
    await dialog.getByRole('button', {name: 'Run command'}).click();
    await page().getByText(/Run command queued/).waitFor();
    const row = page().locator('[data-testid="rig-command-row"][data-action="exec"]');
    await row.filter({hasText: 'cmd=nvidia-smi -q -d TEMPERATURE'}).waitFor();
    await row.getByTestId('command-output').filter({hasText: 'hiveos-sim ran: nvidia-smi -q -d TEMPERATURE'}).waitFor({timeout: 30_000});
    assert.equal(await row.getAttribute('data-state'), 'succeeded');
    const {commands} = await simGet('/control/commands');
    assert.ok(commands.some((c) => c.command === 'exec' && c.data.cmd === 'nvidia-smi -q -d TEMPERATURE' &&
                                   c.worker_ids.includes(sim.workerId)), 'the command reached hiveos-sim');
  });

  it('shows a viewer the rigs and accounts without any control', async () => {
    await as('viewer');
    await env.nav('Rigs');
    await page().getByTestId('rig-row').first().waitFor();
    await page().goto(`${stack().baseUrl}/#/rig/${sim.rigId}`);
    await page().getByTestId('rig-gpus').waitFor();
    assert.equal(await page().getByTestId('rig-actions').locator('button').count(), 0);
    await page().goto(`${stack().baseUrl}/#/hiveos`);
    await page().locator('[data-testid="hiveos-row"]').first().waitFor();
    assert.equal(await page().getByTestId('hiveos-add').count(), 0);
    assert.equal(await page().getByTestId('hiveos-edit').count(), 0);
  });
}
