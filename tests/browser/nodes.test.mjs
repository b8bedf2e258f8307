// The container host node pages of the dashboard (issue 13) in headless Chromium, against the
// real gateway of dashboard.test.mjs's stack. Nodes, their status history and their readings are
// seeded through SQL (no node agent runs here); drain, undrain, revoke, remove and the
// registration tokens go through the dashboard and the real API.
// nodeTests(env) registers its tests inside the dashboard's describe (one stack for both).
import {it} from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {eventually} from './stack.mjs';

const lit = (v) => (v === null || v === undefined ? 'NULL' : `'${String(v).replaceAll("'", "''")}'`);

// A script tag as a container name: it must show as text, never become markup.
export const EVIL_NAME = '<img src=x onerror="window.__pwned=1">';

// One node: its workers row (kind 'node'), its nodes row and, when given, its status history
// (oldest first) and 20 minutes of readings. Returns the worker id.
async function seedNode(stack, n) {
  const hb = n.heartbeatAgoS === null ? 'NULL' : `now() - interval '${n.heartbeatAgoS} seconds'`;
  const load = n.load || [null, null, null];
  const id = await stack.sql(
    `WITH w AS (INSERT INTO workers (kind, name, site, ip, status, status_reason, status_since, last_seen_at) ` +
    `VALUES ('node', ${lit(n.name)}, ${lit(n.site)}, ${lit(n.addresses[0])}, ${lit(n.status)}, ${lit(n.reason)}, ` +
    `now() - interval '10 minutes', ${hb}) RETURNING id) ` +
    `INSERT INTO nodes (worker_id, hostname, machine_id, addresses, pool, cpu_cores, memory_mb, disk_gb, os, kernel, engine, ` +
    `engine_version, agent_version, credential_hash, last_heartbeat_at, heartbeats, cpu_percent, memory_percent, disk_percent, ` +
    `containers, containers_running, container_list, over_limit) ` +
    `SELECT id, ${lit(n.hostname)}, ${lit(n.machineId)}, ${lit(`{${n.addresses.join(',')}}`)}::inet[], ${lit(n.pool)}, ` +
    `${n.cores}, ${n.memoryMb}, ${n.diskGb}, 'Debian GNU/Linux 12 (bookworm)', '6.1.0-18-amd64', 'Docker', '24.0.7', '0.1.0', ` +
    `encode(sha256(${lit(`credential of ${n.name}`)}::bytea), 'hex'), ${hb}, ${n.heartbeatAgoS === null ? 0 : 40}, ` +
    `${load[0] ?? 'NULL'}, ${load[1] ?? 'NULL'}, ${load[2] ?? 'NULL'}, ${n.containers ?? 'NULL'}, ${n.running ?? 'NULL'}, ` +
    `${lit(JSON.stringify(n.list || []))}::jsonb, ${lit(`{${(n.overLimit || []).join(',')}}`)}::text[] FROM w RETURNING worker_id`);
  for (const [i, [from, to, reason, minutesAgo]] of (n.history || []).entries()) {
    await stack.sql(`INSERT INTO worker_status_history (worker_id, from_status, to_status, reason, at, changed_by) VALUES ` +
                    `(${id}, ${lit(from)}, ${lit(to)}, ${lit(reason)}, now() - interval '${minutesAgo} minutes', ` +
                    `${lit(i === 0 ? 'api-gateway' : 'heartbeat-monitor')})`);
  }
  if (n.load) {
    await stack.sql(`INSERT INTO readings (worker_id, metric, ts, value) ` +
                    `SELECT ${id}, m.metric, now() - make_interval(mins => i), m.base + i % 7 ` +
                    `FROM generate_series(1, 20) i, (VALUES ('cpu_percent', ${load[0]}), ('memory_percent', ${load[1]}), ` +
                    `('disk_percent', ${load[2]}), ('containers', ${n.containers})) AS m(metric, base)`);
  }
  return Number(id);
}

const NODE_A = {
  name: 'node-a', hostname: 'node-a.hall1.example', machineId: 'a'.repeat(32), addresses: ['10.9.0.1', '192.168.7.1'],
  site: 'hall-1', pool: 'default', status: 'online', reason: 'recovered after 120 s', cores: 8, memoryMb: 32768, diskGb: 500,
  load: [35, 60, 25], containers: 4, running: 3, heartbeatAgoS: 5,
  list: [{id: 'c0ffee0000000000000000000001', name: 'web', image: 'nginx:1.25', state: 'running', status: 'Up 2 hours', labels: {}},
         {id: 'c0ffee0000000000000000000002', name: EVIL_NAME, image: 'busybox:1', state: 'exited', status: 'Exited (0)', labels: {}}],
  history: [['pending', 'online', 'first heartbeat', 50], ['online', 'unhealthy', 'memory 97 % over the 95 % limit', 30],
            ['unhealthy', 'online', 'recovered after 120 s', 20]],
};
const NODE_B = {
  name: 'node-b', hostname: 'node-b.hall2.example', machineId: 'b'.repeat(32), addresses: ['10.9.0.2'],
  site: 'hall-2', pool: 'gpu', status: 'online', reason: 'first heartbeat', cores: 16, memoryMb: 65536, diskGb: 1000,
  load: [92, 40, 50], containers: 2, running: 2, heartbeatAgoS: 8, overLimit: ['cpu'],
  list: [{id: 'd00d00000000000000000000001', name: 'app-1', image: 'registry.local/app:3', state: 'running', status: 'Up 5 minutes',
          labels: {'fleetward.managed': 'true', 'fleetward.deployment': '7'}}],
  history: [['pending', 'online', 'first heartbeat', 40]],
};
const NODE_C = {
  name: 'node-c', hostname: 'node-c.hall1.example', machineId: 'c'.repeat(32), addresses: ['10.9.0.3'],
  site: 'hall-1', pool: 'default', status: 'offline', reason: 'no heartbeat for 600 s', cores: 4, memoryMb: 8192, diskGb: 100,
  load: null, containers: null, running: null, heartbeatAgoS: 600,
  history: [['pending', 'online', 'first heartbeat', 60], ['online', 'offline', 'no heartbeat for 600 s', 10]],
};
const FILLERS = 26;  // pending nodes that never sent a heartbeat: they make a second page

export function nodeTests(env) {
  const ids = {};
  const page = () => env.page;
  const stack = () => env.stack;
  const rows = () => env.page.getByTestId('node-row');
  const row = (name) => env.page.locator(`[data-testid="node-row"][data-name="${name}"]`);

  // Logs in as `role` unless that user is the one logged in.
  async function as(role) {
    const who = env.page.getByTestId('who');
    if ((await who.isVisible()) && (await who.textContent()) === `${role} · ${role}`) return;
    if (await who.isVisible()) await env.logout();
    await env.login(role);
  }

  async function openNode(name) {
    await env.page.goto(`${env.stack.baseUrl}/dashboard/#/node/${ids[name]}`);
    await env.page.getByRole('heading', {name, level: 1}).waitFor();
    await env.page.getByTestId('node-facts').filter({hasText: 'Host name'}).waitFor();
  }

  it('lists container nodes with load meters, containers, heartbeat age, cluster cards, filters and pages', async () => {
    for (const n of [NODE_A, NODE_B, NODE_C]) ids[n.name] = await seedNode(stack(), n);
    await stack().sql(
      `WITH w AS (INSERT INTO workers (kind, name, site, status, status_reason) SELECT 'node', 'filler-' || lpad(i::text, 2, '0'), ` +
      `'hall-9', 'pending', 'registered' FROM generate_series(1, ${FILLERS}) i RETURNING id) ` +
      `INSERT INTO nodes (worker_id, hostname, cpu_cores, memory_mb, disk_gb, credential_hash) ` +
      `SELECT id, 'filler-' || id, 2, 4096, 50, encode(sha256(('filler ' || id)::bytea), 'hex') FROM w`);
    const total = 3 + FILLERS;
    // Fail with what is missing rather than with a timeout when the gateway lacks the node routes.
    const operator = await stack().token('operator');
    for (const path of ['/api/nodes?limit=1', '/api/nodes/stats', `/api/nodes/${ids['node-a']}`,
                        `/api/workers/${ids['node-a']}/status-history`]) {
      const r = await fetch(`${stack().baseUrl}${path}`, {headers: {Authorization: `Bearer ${operator}`}});
      assert.equal(r.status, 200, `GET ${path}: HTTP ${r.status} ${await r.text()}`);
    }
    await as('operator');
    // The overview counts them and links to their page.
    await env.nav('Overview');
    await page().getByTestId('kind-node').filter({hasText: String(total)}).getByRole('link', {name: 'Container nodes'}).click();
    await page().getByRole('heading', {name: 'Nodes', level: 1}).waitFor();
    await page().getByTestId('nodes-table').waitFor();
    await eventually(`${total} node rows`, async () => (await rows().count()) === total);

    const a = row('node-a');
    assert.equal(await a.getByTestId('node-status').locator('.badge').first().textContent(), 'online');
    assert.equal(await a.getByTestId('load-cpu').locator('meter').getAttribute('value'), '35');
    assert.equal(await a.getByTestId('load-memory').locator('meter').getAttribute('value'), '60');
    assert.equal(await a.getByTestId('load-disk').locator('meter').getAttribute('value'), '25');
    assert.equal(Number(await a.getByTestId('load-average').locator('meter').getAttribute('value')), 40);
    assert.equal(await a.getByTestId('node-containers').textContent(), '3 / 4');
    assert.match(await a.getByTestId('node-heartbeat').textContent(), /^(just now|\d+ s ago)$/);
    assert.match(await a.textContent(), /hall-1.*default/);
    // The over-limit CPU of node-b is over its meter's "high" mark (Chromium paints it red).
    const bCpu = row('node-b').getByTestId('load-cpu').locator('meter');
    assert.ok(Number(await bCpu.getAttribute('value')) > Number(await bCpu.getAttribute('high')));
    const c = row('node-c');
    assert.equal(await c.getAttribute('data-status'), 'offline');
    assert.match(await c.getAttribute('class'), /row-offline/);
    assert.equal(await c.getByTestId('load-cpu').textContent(), '–', 'an unknown load is a dash, not 0');
    assert.match(await c.getByTestId('node-heartbeat').textContent(), /10 min ago/);

    // Cluster cards: counts by status, capacity of every node, the average load over the nodes
    // that heartbeat (node-a and node-b): mean of CPU, memory and disk, then their mean.
    const stats = page().getByTestId('nodes-stats');
    await stats.getByTestId('nodes-stats-total').locator('.big-number').filter({hasText: String(total)}).waitFor();
    const counts = Object.fromEntries(await stats.locator('[data-status]').evaluateAll((els) =>
      els.map((e) => [e.dataset.status, Number(e.querySelector('.count').textContent)])));
    assert.deepEqual(counts, {online: 2, pending: FILLERS, offline: 1});
    const cores = 8 + 16 + 4 + 2 * FILLERS;
    assert.equal(await stats.getByTestId('nodes-stats-capacity').locator('.big-number').textContent(), `${cores} cores`);
    const overall = ((35 + 92) / 2 + (60 + 40) / 2 + (25 + 50) / 2) / 3;
    const avg = stats.getByTestId('nodes-stats-load');
    assert.equal(await avg.locator('.load-text').textContent(), `${Math.round(overall)} %`);
    assert.match(await avg.textContent(), /CPU 64 % · memory 50 % · disk 38 %/);
    assert.match(await stats.getByTestId('nodes-stats-used').textContent(), /\d+(\.\d)? cores \(\d+ %\)/);
    await env.shot('nodes');

    // Filters run on the server and stay in the address.
    await page().getByLabel('Status').selectOption('offline');
    await eventually('only node-c', async () => (await rows().count()) === 1 && (await rows().first().getAttribute('data-name')) === 'node-c');
    assert.match(page().url(), /status=offline/);
    await page().getByLabel('Status').selectOption('');
    await page().getByLabel('Pool').fill('gpu');
    await eventually('only node-b', async () => (await rows().count()) === 1 && (await rows().first().getAttribute('data-name')) === 'node-b');
    await page().getByLabel('Pool').fill('');
    await page().getByLabel('Site').fill('hall-1');
    await eventually('node-a and node-c', async () => (await rows().count()) === 2);
    await page().getByLabel('Site').fill('');
    await page().getByLabel('Search').fill('node-a');
    await eventually('only node-a', async () => (await rows().count()) === 1 && (await rows().first().getAttribute('data-name')) === 'node-a');
    await page().getByLabel('Search').fill('');
    await eventually('every node again', async () => (await rows().count()) === total);

    // Pages of 25: 25 + 4 rows.
    await page().getByLabel('Page size').selectOption('25');
    await eventually('25 rows', async () => (await rows().count()) === 25);
    assert.match(await page().locator('.pager-info').textContent(), new RegExp(`rows 1–25 of ${total}`));
    await page().getByTestId('page-next').click();
    await eventually(`${total - 25} rows on page 2`, async () => (await rows().count()) === total - 25);
    assert.ok(await page().getByTestId('page-next').isDisabled());
    await page().getByTestId('page-prev').click();
    await eventually('page 1 again', async () => (await rows().count()) === 25);
    await page().getByLabel('Page size').selectOption('100');
  });

  it('shows a node\'s facts, load, containers (as text), status history with reasons and load charts', async () => {
    await as('operator');
    // A node reached through the generic worker address lands on its own page.
    await page().goto(`${stack().baseUrl}/dashboard/#/miner/${ids['node-a']}`);
    await page().getByRole('heading', {name: 'node-a', level: 1}).waitFor();
    await eventually('the node page', async () => page().url().endsWith(`#/node/${ids['node-a']}`));
    await page().getByTestId('node-facts').filter({hasText: 'Host name'}).waitFor();
    const facts = await page().getByTestId('node-facts').textContent();
    for (const text of ['node-a.hall1.example', '10.9.0.1, 192.168.7.1', 'Debian GNU/Linux 12 (bookworm)', '6.1.0-18-amd64',
                        'Docker 24.0.7', '0.1.0', '8 cores · 32.0 GB memory · 500 GB disk', 'hall-1 / default', 'a'.repeat(32)]) {
      assert.ok(facts.includes(text), `facts show ${text}: ${facts}`);
    }
    assert.match(facts, /Registered(just now|\d+ (s|min) ago)/);
    assert.match(facts, /Credentialrotated/);
    assert.match(await page().getByTestId('node-status').textContent(), /online recovered after 120 s/);
    const load = page().getByTestId('node-load');
    assert.equal(await load.getByTestId('load-memory').locator('meter').getAttribute('value'), '60');
    assert.equal(await load.getByTestId('node-containers').textContent(), '3 / 4 running');

    const containers = page().getByTestId('node-container-row');
    await containers.first().waitFor();
    assert.equal(await containers.count(), 2);
    assert.equal(await containers.nth(1).locator('td').first().textContent(), EVIL_NAME);
    assert.equal(await page().getByTestId('node-container-list').locator('img').count(), 0, 'a container name is never markup');
    assert.equal(await page().evaluate(() => window.__pwned), undefined);

    const history = page().getByTestId('node-history-row');
    await history.first().waitFor();
    assert.deepEqual(await history.evaluateAll((trs) => trs.map((tr) => [...tr.cells].slice(1, 4).map((td) => td.textContent))),
                     [['unhealthy', 'online', 'recovered after 120 s'], ['online', 'unhealthy', 'memory 97 % over the 95 % limit'],
                      ['pending', 'online', 'first heartbeat']]);
    for (const metric of ['cpu_percent', 'memory_percent', 'disk_percent', 'containers']) {
      const chart = page().getByTestId(`chart-${metric}`);
      await chart.locator('path.spark-line').waitFor();
      assert.match(await chart.getAttribute('aria-label'), /over 20 readings/);
    }
    await page().getByRole('button', {name: '6 h'}).click();
    await eventually('the 6 h range in the address', async () => /range=6h/.test(page().url()));
    await page().getByTestId('chart-cpu_percent').locator('path.spark-line').waitFor();
    await env.shot('node-detail');
  });

  it('drains and undrains a node for an operator, who gets no revoke or remove buttons', async () => {
    await as('operator');
    await openNode('node-a');
    const actions = page().getByTestId('node-actions');
    await actions.getByTestId('node-drain').waitFor();
    assert.equal(await actions.getByTestId('node-revoke').count(), 0);
    assert.equal(await actions.getByTestId('node-remove').count(), 0);
    // Someone else drains it while the dialog is open: the API refuses, the dialog says why.
    await actions.getByTestId('node-drain').click();
    const dialog = page().getByRole('dialog');
    await dialog.getByTestId('drain-reason').waitFor();
    await stack().sql(`UPDATE workers SET status = 'draining', status_reason = 'drained elsewhere' WHERE id = ${ids['node-a']}`);
    await dialog.getByRole('button', {name: 'Drain', exact: true}).click();
    await dialog.getByRole('alert').filter({hasText: `node ${ids['node-a']} is draining`}).waitFor();
    await dialog.getByRole('button', {name: 'Cancel'}).click();
    await page().reload();
    await page().getByTestId('node-status').filter({hasText: 'draining drained elsewhere'}).waitFor();
    await actions.getByTestId('node-undrain').waitFor();
    await stack().sql(`UPDATE workers SET status = 'online', status_reason = 'test: heartbeats again' WHERE id = ${ids['node-a']}`);
    await page().reload();

    await actions.getByTestId('node-drain').click();
    await dialog.getByTestId('drain-reason').fill('kernel upgrade');
    await dialog.getByRole('button', {name: 'Drain', exact: true}).click();
    await dialog.waitFor({state: 'detached'});
    await page().getByTestId('node-status').filter({hasText: 'draining drained by operator: kernel upgrade'}).waitFor();
    assert.equal(await stack().sql(`SELECT status || ' ' || status_reason FROM workers WHERE id = ${ids['node-a']}`),
                 'draining drained by operator: kernel upgrade');
    // The history (written by the trigger from the reason the API gave) shows the drain.
    await page().getByTestId('node-history-row').first().filter({hasText: /online\s*draining\s*drained by operator: kernel upgrade/}).waitFor();

    await actions.getByTestId('node-undrain').click();
    await dialog.getByRole('button', {name: 'Undrain', exact: true}).click();
    await page().getByTestId('node-status').locator('.badge').filter({hasText: 'pending'}).waitFor();
    assert.equal(await stack().sql(`SELECT status || ' ' || status_reason FROM workers WHERE id = ${ids['node-a']}`),
                 'pending undrained by operator');
    await page().getByTestId('node-history-row').first().filter({hasText: /draining\s*pending/}).waitFor();
    await actions.getByTestId('node-drain').waitFor();

    await env.nav('Nodes');
    await row('node-a').getByTestId('node-status').locator('.badge').filter({hasText: 'pending'}).waitFor();
    await stack().sql(`UPDATE workers SET status = 'online', status_reason = 'test: heartbeats again' WHERE id = ${ids['node-a']}`);
  });

  it('lets an admin make a registration token shown once with its install command, then revoke it', async () => {
    await as('admin');
    await env.context.grantPermissions(['clipboard-read', 'clipboard-write'], {origin: stack().baseUrl});
    await env.nav('Nodes');
    await page().getByTestId('nodes-tokens-link').click();
    await page().getByRole('heading', {name: 'Node registration tokens'}).waitFor();
    const form = page().getByTestId('token-form');
    await form.getByLabel('Description').fill('rack C, second shelf');
    await form.getByLabel('Site').fill('hall-3');
    await form.getByLabel('Pool').fill('gpu');
    await form.getByLabel('Max uses').fill('0');
    await form.getByTestId('token-create').click();
    await form.getByRole('alert').filter({hasText: 'Max uses: type a whole number from 1 to 100000.'}).waitFor();
    await form.getByLabel('Max uses').fill('2');
    await form.getByLabel('Expires in (hours)').fill('48');
    const created = page().waitForResponse((r) => r.url().endsWith('/api/nodes/registration-tokens') && r.request().method() === 'POST');
    await form.getByTestId('token-create').click();
    assert.equal((await created).status(), 201);

    const once = page().getByTestId('token-once');
    await once.waitFor();
    const token = await once.getByTestId('token-value').inputValue();
    assert.match(token, /^fwr_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const command = await once.getByTestId('token-install-command').inputValue();
    assert.ok(command.includes(token), `the install command carries the token: ${command}`);
    const tokenId = token.slice(4, 16);
    const hash = crypto.createHash('sha256').update(token).digest('hex');
    assert.equal(await stack().sql(`SELECT description || '|' || site || '|' || pool || '|' || max_uses || '|' || uses || '|' || ` +
                                   `(token_hash = ${lit(hash)}) || '|' || round(extract(epoch FROM expires_at - created_at) / 3600) ` +
                                   `FROM registration_tokens WHERE token_id = ${lit(tokenId)}`),
                 'rack C, second shelf|hall-3|gpu|2|0|true|48');
    await once.getByTestId('token-install-command-copy').click();
    await page().locator('.toast').filter({hasText: 'Copied to the clipboard.'}).waitFor();
    assert.equal(await page().evaluate(() => navigator.clipboard.readText()), command);
    const tokenRow = page().locator(`[data-testid="token-row"][data-token-id="${tokenId}"]`);
    await tokenRow.waitFor();
    assert.equal(await tokenRow.getByTestId('token-state').textContent(), 'active');
    assert.equal(await tokenRow.getByTestId('token-uses').textContent(), '0 / 2');
    assert.equal(await tokenRow.getByTestId('token-nodes').textContent(), '0');
    await env.shot('token-created');

    // Shown once: after a reload the list has it, its secret is nowhere on the page.
    await page().reload();
    await tokenRow.waitFor();
    assert.equal(await page().getByTestId('token-once').count(), 0);
    assert.ok(!(await page().content()).includes(token.slice(17)), 'the secret part is not on the page any more');

    await tokenRow.getByTestId('token-revoke').click();
    await page().getByTestId('confirm-dialog').getByTestId('confirm-button').click();
    await tokenRow.getByTestId('token-state').filter({hasText: 'revoked'}).waitFor();
    assert.equal(await tokenRow.getByTestId('token-revoke').count(), 0);
    assert.equal(await stack().sql(`SELECT revoked_at IS NOT NULL FROM registration_tokens WHERE token_id = ${lit(tokenId)}`), 't');
    await page().getByLabel('State').selectOption('active');
    await tokenRow.waitFor({state: 'detached'});
    await page().getByLabel('State').selectOption('revoked');
    await tokenRow.waitFor();
  });

  it('lets an admin revoke a node\'s credential and remove a node, forcing past its deployments', async () => {
    await as('admin');
    await openNode('node-c');
    const actions = page().getByTestId('node-actions');
    await actions.getByTestId('node-revoke').click();
    await page().getByTestId('confirm-dialog').getByTestId('confirm-button').click();
    await page().getByTestId('node-status').getByText('credential revoked').waitFor();
    assert.equal(await stack().sql(`SELECT credential_revoked_at IS NOT NULL FROM nodes WHERE worker_id = ${ids['node-c']}`), 't');
    await eventually('no revoke button once revoked', async () => (await actions.getByTestId('node-revoke').count()) === 0);

    // node-b runs a container of a deployment: removing it is refused with the reason, then forced.
    await openNode('node-b');
    await actions.getByTestId('node-remove').click();
    await page().getByTestId('confirm-dialog').getByTestId('confirm-button').click();
    const refused = page().getByTestId('confirm-dialog');
    await refused.filter({hasText: 'node-b still has work'}).waitFor();
    assert.match(await refused.textContent(), /deployment/i);
    assert.equal(await stack().sql(`SELECT status FROM workers WHERE id = ${ids['node-b']}`), 'online', 'nothing removed yet');
    await env.shot('node-remove-refused');
    const forced = page().waitForResponse((r) => /\/api\/nodes\/\d+\?force=true$/.test(r.url()) && r.request().method() === 'DELETE');
    await refused.getByTestId('confirm-button').click();
    assert.ok((await forced).ok());
    await page().getByTestId('node-status').locator('.badge').filter({hasText: 'removed'}).waitFor();
    assert.equal(await stack().sql(`SELECT w.status || ' ' || (n.credential_revoked_at IS NOT NULL) FROM workers w ` +
                                   `JOIN nodes n ON n.worker_id = w.id WHERE w.id = ${ids['node-b']}`), 'removed true');
    await eventually('no action left on a removed node', async () => (await actions.locator('button').count()) === 0);
    // Removed nodes leave the list unless asked for.
    await env.nav('Nodes');
    await row('node-a').waitFor();
    assert.equal(await row('node-b').count(), 0);
    await page().getByLabel('Status').selectOption('removed');
    await row('node-b').waitFor();
    assert.equal(await rows().count(), 1);
    await page().getByLabel('Status').selectOption('');
  });

  it('shows a viewer the nodes but no drain, revoke, remove or token controls', async () => {
    await as('viewer');
    await env.nav('Nodes');
    await row('node-a').waitFor();
    assert.equal(await page().getByTestId('nodes-tokens-link').count(), 0);
    await openNode('node-a');
    await page().getByTestId('node-history-row').first().waitFor();
    assert.equal(await page().getByTestId('node-actions').locator('button').count(), 0);
    await page().goto(`${stack().baseUrl}/dashboard/#/node-tokens`);
    await page().getByText('Only admins make and see registration tokens.').waitFor();
    assert.equal(await page().getByTestId('token-form').count(), 0);
    // The API is the guard: a viewer's token is refused.
    const r = await fetch(`${stack().baseUrl}/api/nodes/${ids['node-a']}/drain`, {
      method: 'POST', headers: {Authorization: `Bearer ${await stack().token('viewer')}`, 'Content-Type': 'application/json'}, body: '{}'});
    assert.equal(r.status, 403);
    await as('operator');
  });
}
