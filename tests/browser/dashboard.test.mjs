// The dashboard in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core)
// against a real stack: PostgreSQL, miner-sim, discovery-worker, status-poller,
// telemetry-worker and api-gateway (stack.mjs). Run through run.mjs. Screenshots go to the
// artifacts directory; every test also fails on a Content-Security-Policy violation or an
// uncaught page error.
import {describe, it, before, after, afterEach} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {createRequire} from 'node:module';
import {Stack, PASSWORD, MINERS, eventually, sleep} from './stack.mjs';
import {nodeTests} from './nodes.test.mjs';
import {deploymentTests} from './deployments.test.mjs';
import {hiveosTests} from './hiveos.test.mjs';
import {notificationTests} from './notifications.test.mjs';

const nodeDir = process.env.FLEET_BROWSER_NODE_DIR;
const require = createRequire(path.join(nodeDir, 'package.json'));
const {chromium} = require('playwright-core');

const binDir = process.env.FLEET_BROWSER_BIN_DIR;
const workDir = process.env.FLEET_BROWSER_WORK_DIR;
const artifacts = process.env.FLEET_BROWSER_ARTIFACTS;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                       '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let stack;
let context;
let page;
let userDataDir;
let shotIndex = 0;
const problems = [];  // CSP violations and uncaught errors seen by the page

async function shot(name) {
  shotIndex += 1;
  const file = path.join(artifacts, `${String(shotIndex).padStart(2, '0')}-${name}.png`);
  await page.screenshot({path: file, fullPage: true});
  return file;
}

async function login(user, password = PASSWORD) {
  await page.goto(`${stack.baseUrl}/dashboard/#/overview`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', {name: 'Log in'}).click();
  await page.getByTestId('who').filter({hasText: `${user} · ${user}`}).waitFor();
}

async function logout() {
  await page.getByTestId('logout').click();
  await page.getByTestId('login-form').waitFor();
}

async function nav(name) {
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name, exact: true}).click();
}

const minerRows = () => page.getByTestId('miner-row');

async function firstMiner() {
  const [id, name, mac] = (await stack.sql(
    "SELECT w.id, w.name, m.mac FROM workers w JOIN miners m ON m.worker_id = w.id ORDER BY w.id LIMIT 1")).split('|');
  return {id: Number(id), name, mac};
}

// Stops a stuck run (ctest timeout, Ctrl-C) without leaving servers behind.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    try {
      await context?.close();
    } finally {
      await stack?.stop();
      process.exit(130);
    }
  });
}

describe('dashboard in headless Chromium', {timeout: 540_000}, () => {
  before(async () => {
    fs.mkdirSync(artifacts, {recursive: true});
    for (const f of fs.readdirSync(artifacts)) if (f.endsWith('.png')) fs.rmSync(path.join(artifacts, f));
    fs.mkdirSync(workDir, {recursive: true});
    stack = new Stack({binDir, workDir, logDir: path.join(artifacts, 'logs')});
    await stack.start();
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleetward-chromium-'));
    // playwright-core adds its own headless switch; ours are the ones the project requires.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.FLEET_CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: {width: 1400, height: 900},
      timeout: 60_000,
    });
    page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('console', (msg) => {
      const text = msg.text();
      if (/Content Security Policy|Refused to (execute|apply|load|connect)/i.test(text)) problems.push(`CSP: ${text}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  });

  after(async () => {
    await context?.close().catch(() => {});
    if (userDataDir) fs.rmSync(userDataDir, {recursive: true, force: true});
    await stack?.stop();
  });

  afterEach(async (t) => {
    stack.assertAlive();
    if (problems.length) {
      const seen = problems.splice(0);
      assert.fail(`the page reported problems during "${t.name}":\n${seen.join('\n')}`);
    }
  });

  it('refuses a wrong password with the API message, then logs in to the overview', async () => {
    await page.goto(`${stack.baseUrl}/dashboard/`);
    await page.getByTestId('login-form').waitFor();
    await shot('login');
    await page.getByLabel('User name').fill('operator');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', {name: 'Log in'}).click();
    const error = page.getByTestId('login-form').getByRole('alert');
    await error.waitFor();
    const text = await error.textContent();
    assert.ok(text.length > 5 && !/stack|exception|at \w+ \(/i.test(text), `login error shown as: ${text}`);

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', {name: 'Log in'}).click();
    await page.getByRole('heading', {name: 'Fleet overview'}).waitFor();
    assert.equal(await page.getByTestId('who').textContent(), 'operator · operator');
    const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem('fleetward.session')));
    assert.equal(stored.user.role, 'operator');
    assert.ok(stored.token.length > 20);
    await page.getByTestId('kind-asic').filter({hasText: String(MINERS)}).waitFor();
    await shot('overview');
  });

  it('lists the simulated miners one page at a time, with search and offline rows highlighted', async () => {
    // One miner goes away: discovery clears its IP (seed 003: no IP = offline).
    await fetch(`${stack.simControl}/miners/${MINERS - 1}/offline`, {method: 'POST'});
    await eventually('a miner marked offline', async () => Number(await stack.sql('SELECT count(*) FROM workers WHERE ip IS NULL')) === 1);

    await nav('Miners');
    await page.getByTestId('miners-table').waitFor();
    await eventually(`${MINERS} rows`, async () => (await minerRows().count()) === MINERS);
    const macs = await page.locator('[data-testid="miner-row"] td:nth-child(2)').allTextContents();
    assert.ok(macs.every((m) => /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m)), `MAC column: ${macs.slice(0, 3)}`);
    const ips = await page.locator('[data-testid="miner-row"] td:nth-child(3)').allTextContents();
    assert.equal(ips.filter((t) => t.startsWith('127.77.0.')).length, MINERS - 1);
    const offline = page.locator('tr.row-offline[data-testid="miner-row"]');
    await eventually('the offline row to be highlighted', async () => (await offline.count()) === 1, 15_000);
    assert.match(await offline.textContent(), /offline/);

    // Keyset paging: 25 per page -> 25 + 11 rows.
    await page.getByLabel('Page size').selectOption('25');
    await eventually('25 rows', async () => (await minerRows().count()) === 25);
    await page.getByTestId('page-next').click();
    await eventually(`${MINERS - 25} rows on page 2`, async () => (await minerRows().count()) === MINERS - 25);
    assert.ok(await page.getByTestId('page-next').isDisabled());
    await page.getByTestId('page-prev').click();
    await eventually('page 1 again', async () => (await minerRows().count()) === 25);
    await page.getByLabel('Page size').selectOption('100');

    // Server-side search by MAC.
    const {mac} = await firstMiner();
    await page.getByLabel('Search').fill(mac);
    await eventually('one row for the MAC', async () => (await minerRows().count()) === 1);
    assert.equal(await minerRows().first().getAttribute('data-mac'), mac);
    await page.getByLabel('Search').fill('');
    await eventually('all rows back', async () => (await minerRows().count()) === MINERS);
    await shot('miners');
    await fetch(`${stack.simControl}/miners/${MINERS - 1}/online`, {method: 'POST'});
  });

  it('toggles "managed" optimistically, keeps it after a reload, and rolls back when the API refuses', async () => {
    const {id} = await firstMiner();
    const row = page.locator(`[data-testid="miner-row"][data-id="${id}"]`);
    const toggle = row.getByTestId('managed-toggle');
    assert.ok(await toggle.isChecked(), 'discovery.manage_new=true made it managed');
    const patched = page.waitForResponse((r) => r.url().endsWith(`/api/miners/${id}`) && r.request().method() === 'PATCH');
    await toggle.click();
    assert.equal((await patched).status(), 200);
    assert.equal(await toggle.isChecked(), false);
    assert.equal(await stack.sql(`SELECT managed FROM workers WHERE id = ${id}`), 'f');

    await page.reload();
    await eventually('rows after reload', async () => (await minerRows().count()) === MINERS);
    assert.equal(await toggle.isChecked(), false, 'not managed after a reload');

    // The API refuses (403): the switch goes back and the API's message is shown.
    const message = 'this needs the operator role; you are viewer';
    await page.route(`**/api/miners/${id}`, (route) => (route.request().method() === 'PATCH'
      ? route.fulfill({status: 403, contentType: 'application/json', body: JSON.stringify({error: {code: 'forbidden', message}})})
      : route.continue()));
    await toggle.click();
    await page.locator('.toast-error').filter({hasText: message}).waitFor();
    await eventually('the switch to roll back', async () => (await toggle.isChecked()) === false);
    assert.equal(await stack.sql(`SELECT managed FROM workers WHERE id = ${id}`), 'f');
    await shot('managed-rollback');
    await page.unroute(`**/api/miners/${id}`);
    await page.locator('.toast-error .toast-close').click();

    await toggle.click();
    await eventually('managed again in the database', async () => (await stack.sql(`SELECT managed FROM workers WHERE id = ${id}`)) === 't');
    assert.ok(await toggle.isChecked());
  });

  it('saves a max preset per model, which starts the status polling', async () => {
    await eventually('presets read from the miners', async () =>
      Number(await stack.sql("SELECT count(*) FROM models WHERE jsonb_array_length(presets) > 0")) >= 1 &&
      Number(await stack.sql("SELECT count(*) FROM models WHERE jsonb_array_length(presets) = 0")) === 0, 60_000, 500);
    assert.equal(await stack.sql('SELECT count(*) FROM statuses'), '0', 'nothing is polled before a max preset is set');
    await nav('Models');
    const rows = page.getByTestId('model-row');
    await eventually('model rows', async () => (await rows.count()) > 0);
    const count = await rows.count();
    const chosen = {};
    for (let i = 0; i < count; i++) {
      const row = rows.nth(i);
      const alias = await row.getAttribute('data-alias');
      const sel = row.getByTestId('max-preset');
      const values = await sel.locator('option').evaluateAll((os) => os.map((o) => o.value).filter(Boolean));
      assert.ok(values.length > 0, `model ${alias} has presets`);
      const value = values[Math.min(1, values.length - 1)];
      await sel.selectOption(value);
      const saved = page.waitForResponse((r) => r.url().endsWith(`/api/models/${alias}`) && r.request().method() === 'PATCH');
      await row.getByTestId('save-preset').click();
      assert.equal((await saved).status(), 200);
      await page.locator('.toast-ok').filter({hasText: `${alias}: max preset is now ${value}`}).waitFor();
      chosen[alias] = value;
    }
    for (const [alias, value] of Object.entries(chosen)) {
      assert.equal(await stack.sql(`SELECT max_preset FROM models WHERE alias = '${alias}'`), value);
    }
    await page.reload();
    await eventually('model rows after reload', async () => (await rows.count()) === count);
    for (const [alias, value] of Object.entries(chosen)) {
      assert.equal(await page.locator(`[data-alias="${alias}"] [data-testid="max-preset"]`).inputValue(), value);
    }
    await shot('models');

    // The status poller now polls managed miners of these models: hashrates reach the table.
    await eventually('statuses of every online miner', async () =>
      Number(await stack.sql('SELECT count(*) FROM miners WHERE latest_status_id IS NOT NULL')) >= MINERS - 1, 60_000, 500);
    await nav('Miners');
    await page.reload();
    await eventually('hashrates in the miners table', async () =>
      (await page.locator('[data-testid="miner-row"] td:nth-child(5)').allTextContents()).filter((t) => /TH\/s/.test(t)).length >= MINERS - 1, 30_000);
    await shot('miners-polled');
  });

  it('shows a miner\'s detail: charts, fans, chains and the chip heat map', async () => {
    const {id, name} = await firstMiner();
    await eventually('two statuses and chip telemetry', async () =>
      Number(await stack.sql(`SELECT count(*) FROM statuses WHERE worker_id = ${id}`)) >= 2 &&
      Number(await stack.sql(`SELECT count(*) FROM chip_telemetry WHERE worker_id = ${id}`)) >= 1, 60_000, 500);
    await page.locator(`[data-testid="miner-row"][data-id="${id}"] a`).first().click();
    await page.getByRole('heading', {name, level: 1}).waitFor();
    await page.getByTestId('chart-hashrate').locator('path.spark-line').waitFor();
    // The latest status (fans, chains) is a separate request from the charts' history: wait for
    // it too instead of counting rows the moment the charts are drawn.
    await page.getByTestId('fans-table').locator('tbody tr').first().waitFor();
    await page.getByTestId('chains-table').locator('tbody tr').first().waitFor();
    assert.ok((await page.getByTestId('fans-table').locator('tbody tr').count()) >= 1);
    assert.ok((await page.getByTestId('chains-table').locator('tbody tr').count()) >= 1);
    const heat = page.getByTestId('chip-heatmap');
    await heat.waitFor();
    assert.ok((await heat.locator('rect.heat-cell').count()) >= 76, 'every chip of a chain is drawn');
    assert.match(await heat.getAttribute('aria-label'), /chain \d+: \d+ red, \d+ orange, \d+ normal/);
    await page.getByRole('button', {name: 'Temperature'}).click();
    assert.ok((await heat.locator('rect.heat-1, rect.heat-2, rect.heat-3, rect.heat-4, rect.heat-5').count()) > 0);
    await shot('miner-detail');
  });

  it('points at the error position of a rule condition live, then saves the fixed rule', async () => {
    await nav('Rules');
    await page.getByTestId('new-rule').click();
    await page.getByTestId('rule-form').waitFor();
    await page.getByLabel('Name').fill('chips-too-hot');
    const condition = page.getByTestId('condition-input');
    const validation = page.getByTestId('condition-validation');
    await condition.fill('chip_temp_max > > 85');
    await validation.locator('.validation-error').filter({hasText: /column 17/}).waitFor();
    assert.match(await validation.locator('pre.caret').textContent(), /^chip_temp_max > > 85\n {16}\^/);
    assert.equal(await condition.getAttribute('aria-invalid'), 'true');
    await shot('rule-error');

    // Saving anyway: the API refuses and the form says where.
    await page.getByTestId('save-rule').click();
    await page.getByTestId('rule-form').getByRole('alert').filter({hasText: /Rule not saved.*column 17/}).waitFor();
    assert.equal(await stack.sql("SELECT count(*) FROM rules WHERE name = 'chips-too-hot'"), '0');

    // A misspelt metric, then the fix.
    await condition.fill('chip_tmp_max > 85');
    await validation.locator('.validation-error').filter({hasText: /column 1\b/}).waitFor();
    await condition.fill('chip_temp_max > 85');
    await validation.getByText('Valid condition').waitFor();
    assert.equal(await condition.getAttribute('aria-invalid'), 'false');
    await page.getByLabel('Kind').selectOption('asic');
    await page.getByTestId('test-rule').click();
    await page.getByTestId('rule-test-result').filter({hasText: /workers match right now/}).waitFor();
    await page.getByTestId('save-rule').click();
    await page.getByTestId('rule-row').filter({hasText: 'chips-too-hot'}).waitFor();
    assert.equal(await stack.sql("SELECT condition FROM rules WHERE name = 'chips-too-hot'"), 'chip_temp_max > 85');
    await shot('rules');
  });

  it('queues a reboot only through the confirm dialog', async () => {
    const {id, name} = await firstMiner();
    await page.goto(`${stack.baseUrl}/dashboard/#/miner/${id}`);
    await page.getByRole('heading', {name, level: 1}).waitFor();
    const reboot = page.getByTestId('action-reboot');
    await reboot.click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    assert.match(await dialog.textContent(), new RegExp(`Reboot ${name}`));
    assert.ok(await dialog.getByRole('button', {name: 'Cancel'}).evaluate((b) => b === document.activeElement),
              'Cancel has the focus, so Enter does not reboot');
    await dialog.getByRole('button', {name: 'Cancel'}).click();
    await dialog.waitFor({state: 'detached'});
    await sleep(300);
    assert.equal(await stack.sql(`SELECT count(*) FROM commands WHERE worker_id = ${id}`), '0', 'cancel queues nothing');

    await reboot.click();
    await dialog.waitFor();
    await shot('reboot-confirm');
    const posted = page.waitForResponse((r) => r.url().endsWith(`/api/workers/${id}/commands`) && r.request().method() === 'POST');
    await dialog.getByTestId('confirm-button').click();
    const response = await posted;
    assert.equal(response.status(), 201);
    assert.deepEqual(JSON.parse(response.request().postData()), {action: 'reboot', confirm: true});
    await page.locator('.toast-ok').filter({hasText: `Reboot queued for ${name}`}).waitFor();
    assert.equal(await stack.sql(`SELECT action || ' ' || state || ' ' || origin FROM commands WHERE worker_id = ${id}`), 'reboot queued user');
    const api = await (await fetch(`${stack.baseUrl}/api/commands?worker_id=${id}`,
                                   {headers: {Authorization: `Bearer ${await stack.token('operator')}`}})).json();
    assert.equal(api.items.length, 1);
    assert.equal(api.items[0].action, 'reboot');
    await page.getByTestId('miner-commands').filter({hasText: 'reboot'}).waitFor();

    // A harmless action from the miners table: no confirm step.
    await nav('Miners');
    await page.locator(`[data-testid="miner-row"][data-id="${id}"]`).getByTestId('row-actions').click();
    await page.getByTestId('command-action').selectOption('restart_mining');
    await page.getByRole('button', {name: 'Continue'}).click();
    await page.locator('.toast-ok').filter({hasText: `Restart mining queued for ${name}`}).waitFor();
    assert.equal(await stack.sql(`SELECT count(*) FROM commands WHERE worker_id = ${id} AND action = 'restart_mining'`), '1');
    await nav('Commands');
    await eventually('both commands listed', async () => (await page.getByTestId('command-row').count()) === 2);
    await shot('commands');
  });

  it('maps a miner to a relay channel with the API\'s validation shown in the form, then powers it through it', async () => {
    const {id, name} = await firstMiner();
    const [otherId, otherName] = (await stack.sql(
      `SELECT w.id, w.name FROM workers w JOIN miners m ON m.worker_id = w.id WHERE w.id > ${id} ORDER BY w.id LIMIT 1`)).split('|');
    // An admin's controller (the API is tested on its own; here it only needs to exist).
    const admin = await stack.token('admin');
    const created = await fetch(`${stack.baseUrl}/api/relay-controllers`, {
      method: 'POST', headers: {Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json'},
      body: JSON.stringify({name: 'rack-a', driver: 'fleetward', topic: 'rack-a', channels: 4})});
    assert.equal(created.status, 201);
    const controllerId = (await created.json()).id;
    await stack.sql(`UPDATE relay_controllers SET online = true, availability_at = now() WHERE id = ${controllerId}`);
    // Channel 2 belongs to another miner already.
    await stack.sql(`INSERT INTO relay_mappings (worker_id, controller_id, channel, wiring) VALUES (${otherId}, ${controllerId}, 2, 'mains')`);

    await page.goto(`${stack.baseUrl}/dashboard/#/miner/${id}`);
    await page.getByRole('heading', {name, level: 1}).waitFor();
    const panel = page.getByTestId('relay-panel');
    await panel.getByTestId('relay-none').waitFor();
    // No mapping: the power buttons are there but disabled, with the hint.
    for (const action of ['power_cycle', 'power_off', 'power_on', 'power_button']) {
      assert.ok(await page.getByTestId(`action-${action}`).isDisabled(), `${action} disabled without a mapping`);
    }
    assert.match(await page.getByTestId('power-hint').textContent(), /Map this worker to a relay controller channel/);

    await panel.getByTestId('relay-edit').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByTestId('relay-channel').fill('2');
    await dialog.getByTestId('relay-wiring').selectOption('power_button');
    await dialog.getByRole('button', {name: 'Save mapping'}).click();
    // The API's 409 names the miner on that channel; nothing is saved.
    await dialog.getByRole('alert').filter({hasText: `channel 2 of rack-a is used by worker ${otherName}`}).waitFor();
    await dialog.getByTestId('relay-channel').fill('9');
    await dialog.getByRole('button', {name: 'Save mapping'}).click();
    await dialog.getByRole('alert').filter({hasText: /beyond the 4 channels/}).waitFor();
    assert.equal(await stack.sql(`SELECT count(*) FROM relay_mappings WHERE worker_id = ${id}`), '0');
    await shot('relay-mapping-refused');

    await dialog.getByTestId('relay-channel').fill('3');
    await dialog.getByRole('button', {name: 'Save mapping'}).click();
    await dialog.waitFor({state: 'detached'});
    await page.locator('.toast-ok').filter({hasText: `${name} is mapped to rack-a channel 3`}).waitFor();
    assert.equal(await stack.sql(`SELECT channel || ' ' || wiring FROM relay_mappings WHERE worker_id = ${id}`), '3 power_button');
    await panel.getByTestId('relay-channel-value').filter({hasText: '3'}).waitFor();
    await panel.getByText('online').waitFor();

    // Mapped: the power buttons work, through the confirm dialog, on the relay channel.
    const powerOff = page.getByTestId('action-power_off');
    await eventually('power off enabled', async () => !(await powerOff.isDisabled()), 15_000);
    await powerOff.click();
    const confirm = page.getByTestId('confirm-dialog');
    await confirm.waitFor();
    const posted = page.waitForResponse((r) => r.url().endsWith(`/api/workers/${id}/commands`) && r.request().method() === 'POST');
    await confirm.getByTestId('confirm-button').click();
    assert.equal((await posted).status(), 201);
    assert.equal(await stack.sql(`SELECT channel FROM commands WHERE worker_id = ${id} AND action = 'power_off'`), 'relay');
    await shot('relay-mapped');

    // Removing the mapping disables them again.
    await panel.getByTestId('relay-remove').click();
    await page.getByTestId('confirm-dialog').getByTestId('confirm-button').click();
    await panel.getByTestId('relay-none').waitFor();
    assert.equal(await stack.sql(`SELECT count(*) FROM relay_mappings WHERE worker_id = ${id}`), '0');
    await eventually('power off disabled', async () => powerOff.isDisabled(), 15_000);
  });

  it('shows each command\'s life: held, sent, succeeded with its result, failed, skipped', async () => {
    const {id} = await firstMiner();
    // The dispatcher is another service: these rows are what it leaves behind.
    const insert = (action, extra) => stack.sql(
      `INSERT INTO commands (worker_id, action, params, channel, origin, requested_by, idempotency_key, expires_at${extra.cols}) ` +
      `VALUES (${id}, '${action}', '{}', '${action === 'reboot' ? 'firmware' : 'relay'}', 'user', 'operator', 'life-${action}', now() + interval '1 hour'${extra.vals}) RETURNING id`);
    const plain = {cols: '', vals: ''};
    const held = await insert('power_cycle', {cols: ', held_reason, not_before',
                                              vals: ", 'minimum interval: 10 min between power actions', now() + interval '5 minutes'"});
    const sent = await insert('power_on', plain);
    const done = await insert('power_off', plain);
    const failed = await insert('power_button', plain);
    const skipped = await insert('reboot', plain);
    // Through the allowed transitions (sql/0039).
    await stack.sql(`UPDATE commands SET state = 'claimed', claimed_by = 'test', claimed_at = now(), lease_expires_at = now() + interval '1 hour' WHERE id IN (${sent}, ${done}, ${failed})`);
    await stack.sql(`UPDATE commands SET state = 'sent', sent_at = now(), attempts = 1 WHERE id IN (${sent}, ${done}, ${failed})`);
    await stack.sql(`UPDATE commands SET state = 'succeeded', finished_at = now(), result = '{"relay_state": "OFF", "confirmed": true}' WHERE id = ${done}`);
    await stack.sql(`UPDATE commands SET state = 'failed', finished_at = now(), last_error = 'no state from the relay within 10 s' WHERE id = ${failed}`);
    await stack.sql(`UPDATE commands SET state = 'skipped', finished_at = now(), skip_reason = 'daily cap of 3 reboots reached' WHERE id = ${skipped}`);

    await page.goto(`${stack.baseUrl}/dashboard/#/commands?worker_id=${id}`);
    const row = (cid) => page.locator(`[data-testid="command-row"][data-id="${cid}"]`);
    await row(held).waitFor();
    await row(held).getByTestId('command-held').filter({hasText: 'held: minimum interval: 10 min between power actions'}).waitFor();
    assert.match(await row(held).textContent(), /retry in \d+ min/);
    assert.match(await row(sent).getByTestId('command-state').textContent(), /sent/);
    assert.match(await row(sent).getByTestId('command-attempts').textContent(), /attempt 1 of \d+/);
    const result = await row(done).getByTestId('command-result').locator('li').allTextContents();
    assert.ok(result.includes('relay state: OFF') && result.includes('confirmed: yes'), `result shown as ${result}`);
    assert.match(await row(failed).getByTestId('command-error').textContent(), /error: no state from the relay within 10 s/);
    assert.match(await row(skipped).getByTestId('command-skipped').textContent(), /skipped: daily cap of 3 reboots reached/);
    await page.getByTestId('commands-live').filter({hasText: /in flight/}).waitFor();
    await shot('command-life');

    // It follows commands in flight: the sent one finishing shows without a reload, well before
    // the page's 10 s polling would (the in-flight refresh is every 3 s).
    await stack.sql(`UPDATE commands SET state = 'succeeded', finished_at = now(), result = '{"relay_state": "ON"}' WHERE id = ${sent}`);
    await row(sent).locator('[data-testid="command-state"]').filter({hasText: 'succeeded'}).waitFor({timeout: 9_000});
    assert.match(await row(sent).getByTestId('command-result').textContent(), /relay state: ON/);

    // The miner's page shows the same life.
    await page.goto(`${stack.baseUrl}/dashboard/#/miner/${id}`);
    const mine = page.getByTestId('miner-commands');
    await mine.getByTestId('command-held').filter({hasText: 'minimum interval'}).waitFor();
    await mine.getByTestId('command-skipped').filter({hasText: 'daily cap'}).waitFor();
    await stack.sql(`UPDATE commands SET state = 'expired', finished_at = now(), last_error = 'cancelled by test' WHERE worker_id = ${id} AND state IN ('queued', 'claimed', 'sent')`);
  });

  it('lets an admin add, change and remove a relay controller, refused while workers are mapped', async () => {
    await logout();
    await login('admin');
    await nav('Relays');
    await page.getByTestId('controllers-table').waitFor();
    await page.getByTestId('new-controller').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByTestId('controller-name').fill('bad name');
    await dialog.getByTestId('controller-topic').fill('plug-9');
    await dialog.getByRole('button', {name: 'Add controller'}).click();
    await dialog.getByRole('alert').filter({hasText: /'name' must be/}).waitFor();
    await dialog.getByTestId('controller-name').fill('plug-9');
    await dialog.getByTestId('controller-driver').selectOption('tasmota');
    await dialog.getByTestId('controller-channels').fill('2');
    await dialog.getByRole('button', {name: 'Add controller'}).click();
    await dialog.waitFor({state: 'detached'});
    const row = page.locator('[data-testid="controller-row"][data-name="plug-9"]');
    await row.waitFor();
    assert.equal(await stack.sql("SELECT driver || ' ' || topic || ' ' || channels FROM relay_controllers WHERE name = 'plug-9'"), 'tasmota plug-9 2');

    await row.getByTestId('controller-edit').click();
    await page.getByRole('dialog').getByTestId('controller-channels').fill('4');
    await page.getByRole('dialog').getByRole('button', {name: 'Save'}).click();
    await row.filter({hasText: '4'}).waitFor();
    assert.equal(await stack.sql("SELECT channels FROM relay_controllers WHERE name = 'plug-9'"), '4');

    // rack-a still has a mapped miner (from the mapping test): removing it is refused with names.
    const rack = page.locator('[data-testid="controller-row"][data-name="rack-a"]');
    await rack.getByTestId('controller-remove').click();
    await page.getByTestId('confirm-dialog').getByTestId('confirm-button').click();
    await page.locator('.toast-error').filter({hasText: /still has 1 worker mapped/}).waitFor();
    await page.locator('.toast-error .toast-close').click();
    await page.getByTestId('mapping-row').first().waitFor();
    await shot('relays');

    await row.getByTestId('controller-remove').click();
    await page.getByTestId('confirm-dialog').getByTestId('confirm-button').click();
    await row.waitFor({state: 'detached'});
    assert.equal(await stack.sql("SELECT count(*) FROM relay_controllers WHERE name = 'plug-9'"), '0');
    await logout();
    await login('operator');
  });

  it('shows the services, anomalies and alerts views', async () => {
    await nav('Services');
    for (const svc of ['api-gateway', 'discovery-worker', 'status-poller']) {
      await page.getByTestId('service-row').filter({hasText: svc}).first().waitFor();
    }
    await shot('services');
    await nav('Anomalies');
    await page.getByTestId('anomalies-table').waitFor();
    await shot('anomalies');
    await nav('Alerts');
    await page.getByTestId('alerts-table').waitFor();
    await nav('Overview');
    await page.getByTestId('total-hashrate').filter({hasText: /[PT]H\/s/}).waitFor();
    await shot('overview-polled');
  });

  // Container host nodes (nodes.test.mjs); they leave the operator logged in.
  nodeTests({
    get stack() { return stack; },
    get page() { return page; },
    get context() { return context; },
    login, logout, nav, shot,
  });

  // Deployments, organisations and migration plans (deployments.test.mjs).
  deploymentTests({
    get stack() { return stack; },
    get page() { return page; },
    login, logout, nav,
  });

  // HiveOS accounts, rigs and a reboot through hiveos-sim (hiveos.test.mjs).
  hiveosTests({
    get stack() { return stack; },
    get page() { return page; },
    login, logout, nav,
  });

  // Notification channels, routes, messages and subscriptions with a real notifier
  // (notifications.test.mjs).
  notificationTests({
    get stack() { return stack; },
    get page() { return page; },
    login, logout, nav,
  });

  it('shows a viewer no action controls', async () => {
    await logout();
    await login('viewer');
    await nav('Miners');
    await eventually('rows', async () => (await minerRows().count()) === MINERS);
    assert.equal(await page.getByTestId('managed-toggle').count(), 0);
    assert.equal(await page.getByTestId('row-actions').count(), 0);
    assert.equal(await page.getByRole('columnheader', {name: 'Actions'}).count(), 0);
    await shot('viewer-miners');
    const {id, name} = await firstMiner();
    await page.locator(`[data-testid="miner-row"][data-id="${id}"] a`).first().click();
    await page.getByRole('heading', {name, level: 1}).waitFor();
    await page.getByTestId('miner-charts').locator('figure').first().waitFor();
    assert.equal(await page.locator('[data-testid^="action-"]').count(), 0);
    assert.equal(await page.getByTestId('detail-managed').count(), 0);
    await nav('Models');
    await page.getByTestId('model-row').first().waitFor();
    assert.equal(await page.getByTestId('save-preset').count(), 0);
    assert.ok(await page.getByTestId('max-preset').first().isDisabled());
    await nav('Rules');
    await page.getByTestId('rule-row').first().waitFor();
    assert.equal(await page.getByTestId('new-rule').count(), 0);
    await page.getByTestId('rule-row').first().getByRole('link').click();
    await page.getByTestId('rule-form').waitFor();
    assert.equal(await page.getByTestId('save-rule').isVisible(), false);
  });

  it('logs out and needs a login again', async () => {
    await logout();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('fleetward.session')), null);
    await page.goto(`${stack.baseUrl}/dashboard/#/miners`);
    await page.getByTestId('login-form').waitFor();
    assert.equal(await page.getByTestId('miners-table').count(), 0);
    await shot('logged-out');
  });
});
