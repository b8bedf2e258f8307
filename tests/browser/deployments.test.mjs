// The deployment pages of the dashboard (issue 14) in headless Chromium, against the real gateway
// of dashboard.test.mjs's stack: organisations and deployments are made through the UI and the
// real API; what the migration-planner would write (placements, routes, a manual plan with its
// migration) is seeded through SQL, since no planner runs here. Runs after nodeTests (it uses
// their node-a and node-c).
// deploymentTests(env) registers its tests inside the dashboard's describe (one stack for all).
import {it} from 'node:test';
import assert from 'node:assert/strict';
import {eventually} from './stack.mjs';
import {EVIL_NAME} from './nodes.test.mjs';

export function deploymentTests(env) {
  const page = () => env.page;
  const stack = () => env.stack;
  const ids = {};

  async function as(role) {
    const who = env.page.getByTestId('who');
    if ((await who.isVisible()) && (await who.textContent()) === `${role} · ${role}`) return;
    if (await who.isVisible()) await env.logout();
    await env.login(role);
  }

  it('makes an organisation and changes its migration policy (admin)', async () => {
    await as('admin');
    await env.nav('Deployments');
    await page().getByRole('heading', {name: 'Deployments', level: 1}).waitFor();
    await page().getByRole('link', {name: 'Organisations'}).click();
    await page().getByRole('heading', {name: 'Organisations', level: 1}).waitFor();
    // A bad name is refused in the browser; nothing is stored.
    await page().getByTestId('org-name').fill('Not Valid');
    await page().getByTestId('org-create').click();
    await page().getByRole('alert').filter({hasText: 'Name: lower case'}).waitFor();
    assert.equal(await stack().sql('SELECT count(*) FROM organizations'), '0');
    await page().getByTestId('org-name').fill('acme');
    await page().getByTestId('org-display').fill('Acme Mining');
    await page().getByTestId('org-policy').selectOption('manual');
    await page().getByTestId('org-create').click();
    const row = page().locator('[data-testid="org-row"][data-name="acme"]');
    await row.waitFor();
    assert.equal(await stack().sql("SELECT migration_policy FROM organizations WHERE name = 'acme'"), 'manual');
    ids.org = await stack().sql("SELECT id FROM organizations WHERE name = 'acme'");
    // The policy is changed in place; the database follows.
    await row.getByTestId('org-row-policy').selectOption('none');
    await eventually('policy none', async () =>
      (await stack().sql("SELECT migration_policy FROM organizations WHERE name = 'acme'")) === 'none');
    await page().locator('[data-testid="org-row"][data-name="acme"]').getByTestId('org-row-policy').selectOption('manual');
    await eventually('policy manual', async () =>
      (await stack().sql("SELECT migration_policy FROM organizations WHERE name = 'acme'")) === 'manual');
  });

  it('creates a deployment through the form; bad input shows the field and stores nothing (operator)', async () => {
    await as('operator');
    await env.nav('Deployments');
    await page().getByTestId('dep-form').waitFor();
    // The server's refusal (an image reference with a space) is shown, nothing is stored.
    await page().getByTestId('dep-name').fill('web');
    await page().getByTestId('dep-image').fill('bad image');
    await page().getByTestId('dep-create').click();
    await page().getByTestId('dep-form').getByRole('alert').filter({hasText: /image/i}).waitFor();
    assert.equal(await stack().sql('SELECT count(*) FROM deployments'), '0');
    await page().getByTestId('dep-ports').fill('80800');
    await page().getByTestId('dep-image').fill('localhost/bb:1');
    await page().getByTestId('dep-create').click();
    await page().getByTestId('dep-form').getByRole('alert').filter({hasText: 'Ports: "80800"'}).waitFor();
    assert.equal(await stack().sql('SELECT count(*) FROM deployments'), '0');

    await page().getByTestId('dep-command').fill('httpd -f -p 8080 -h "/var/www"');
    await page().getByTestId('dep-env').fill('MODE=prod');
    await page().getByTestId('dep-ports').fill('8080');
    await page().getByTestId('dep-replicas').fill('2');
    await page().getByTestId('dep-memory').fill('128');
    await page().getByTestId('dep-create').click();
    await page().getByRole('heading', {name: 'web.acme', level: 1}).waitFor();
    assert.equal(await stack().sql(
      "SELECT array_to_string(command, '|') || ' ' || (env->>'MODE') || ' ' || (ports->0->>'container_port') || ' ' || " +
      "replicas || ' ' || memory_mb || ' ' || created_by FROM deployments WHERE name = 'web'"), 'httpd|-f|-p|8080|-h|/var/www prod 8080 2 128 operator');
    ids.dep = await stack().sql("SELECT id FROM deployments WHERE name = 'web'");
    await page().getByTestId('placements-table').waitFor();
    await page().getByText('Not placed yet').waitFor();
    await env.nav('Deployments');
    await page().locator('[data-testid="deployment-row"][data-name="web"]').waitFor();
  });

  it('shows placements, the reason none fits, routes and migrations the planner wrote', async () => {
    ids.nodeA = await stack().sql("SELECT id FROM workers WHERE name = 'node-a'");
    ids.nodeC = await stack().sql("SELECT id FROM workers WHERE name = 'node-c'");
    const placement = await stack().sql(
      `INSERT INTO placements (deployment_id, replica, node_id, container_name, ports, cpu_cores, memory_mb, disk_gb, state, running_since) ` +
      `VALUES (${ids.dep}, 0, ${ids.nodeA}, 'fw-${ids.dep}-0-1', '[{"container_port":8080,"host_port":20001,"protocol":"tcp"}]', 0.1, 128, 0, ` +
      `'running', now()) RETURNING id`);
    await stack().sql(
      `INSERT INTO placements (deployment_id, replica, cpu_cores, memory_mb, disk_gb, state, reason) ` +
      `VALUES (${ids.dep}, 1, 0.1, 128, 0, 'unplaced', 'no node has 4 GiB memory free in pool default ${EVIL_NAME.replaceAll("'", "''")}')`);
    await stack().sql(
      `INSERT INTO routes (deployment_id, replica, container_port, protocol, placement_id, node_id, address, host_port) ` +
      `VALUES (${ids.dep}, 0, 8080, 'tcp', ${placement}, ${ids.nodeA}, '10.9.0.1', 20001)`);
    await as('viewer');
    await page().goto(`${stack().baseUrl}/dashboard/#/deployment/${ids.dep}`);
    await page().getByRole('heading', {name: 'web.acme', level: 1}).waitFor();
    await eventually('two placements', async () => (await page().getByTestId('placement-row').count()) === 2);
    await page().locator('[data-testid="placement-row"][data-state="running"]').getByRole('link', {name: 'node-a'}).waitFor();
    const unplaced = page().locator('[data-testid="placement-row"][data-state="unplaced"]').getByTestId('placement-reason');
    assert.equal(await unplaced.textContent(), `no node has 4 GiB memory free in pool default ${EVIL_NAME}`);
    assert.equal(await page().evaluate(() => window.__pwned), undefined);
    await page().getByTestId('route').filter({hasText: 'web.acme:8080 → 10.9.0.1:20001'}).waitFor();
    // A viewer neither scales nor deletes.
    assert.equal(await page().getByTestId('deployment-scale').count(), 0);
    assert.equal(await page().getByTestId('deployment-delete').count(), 0);
  });

  it('a manual plan waits for an operator: a viewer sees no buttons, the operator approves with a note', async () => {
    const plan = await stack().sql(
      `INSERT INTO migration_plans (node_id, organization_id, trigger, policy, state, reason, created_by) ` +
      `VALUES (${ids.nodeC}, ${ids.org}, 'offline', 'manual', 'awaiting_approval', 'node-c offline for 90 s', 'migration-planner:test') ` +
      `RETURNING id`);
    await stack().sql(
      `INSERT INTO migrations (plan_id, deployment_id, replica, from_node_id, state, reason, steps) ` +
      `VALUES (${plan}, ${ids.dep}, 0, ${ids.nodeC}, 'awaiting_approval', 'node-c offline for 90 s', ` +
      `jsonb_build_array(jsonb_build_object('at', now(), 'step', 'planned', 'detail', 'waits for approval (policy manual)')))`);
    const waiting = () => page().getByTestId('plans-waiting').locator(`[data-testid="plan-row"][data-plan-id="${plan}"]`);
    await page().goto(`${stack().baseUrl}/dashboard/#/migrations`);
    await waiting().waitFor();
    assert.equal(await waiting().getByTestId('plan-approve').count(), 0);
    assert.equal(await waiting().getByTestId('plan-reject').count(), 0);

    await as('operator');
    await page().goto(`${stack().baseUrl}/dashboard/#/migrations`);
    await waiting().waitFor();
    await waiting().getByTestId('plan-open').click();
    await page().getByTestId('plan-migration').filter({hasText: 'web.acme replica 0'}).waitFor();
    await waiting().getByTestId('plan-approve').click();
    const dialog = page().getByRole('dialog');
    await dialog.getByTestId('decision-note').fill('hall 2 has room');
    await dialog.getByRole('button', {name: 'Approve', exact: true}).click();
    await dialog.waitFor({state: 'detached'});
    await eventually('plan executing', async () =>
      (await stack().sql(`SELECT state || ' ' || decided_by || ' ' || decision_note FROM migration_plans WHERE id = ${plan}`)) ===
      'executing operator hall 2 has room');
    await page().getByTestId('plans-table').locator(`[data-testid="plan-row"][data-plan-id="${plan}"][data-state="executing"]`).waitFor();
    assert.equal(await page().getByTestId('plans-waiting').getByTestId('plan-row').count(), 0);
  });

  it('scales and deletes a deployment (operator)', async () => {
    await page().goto(`${stack().baseUrl}/dashboard/#/deployment/${ids.dep}`);
    await page().getByTestId('deployment-scale').click();
    const dialog = page().getByRole('dialog');
    await dialog.getByTestId('scale-replicas').fill('3');
    await dialog.getByRole('button', {name: 'Scale', exact: true}).click();
    await dialog.waitFor({state: 'detached'});
    await eventually('3 replicas', async () => (await stack().sql(`SELECT replicas FROM deployments WHERE id = ${ids.dep}`)) === '3');
    await page().getByTestId('deployment-delete').click();
    await page().getByTestId('confirm-dialog').getByTestId('confirm-button').click();
    await eventually('deleting', async () => (await stack().sql(`SELECT state FROM deployments WHERE id = ${ids.dep}`)) === 'deleting');
    await page().getByTestId('deployment-facts').filter({hasText: 'deleting'}).waitFor();
  });
}
