// The notification pages of the dashboard (issue 12) in headless Chromium, against the real
// gateway of dashboard.test.mjs's stack plus a real notifier and webhook-receiver: an admin adds a
// webhook channel (a bad URL is refused naming the field; the generated signing secret is shown
// once and never again), routes notifier events to it, presses "Send a test" and sees the message
// delivered (the receiver got it, signed); a dead message is sent again with "Retry now"; a viewer
// may subscribe but sees no channel settings.
// notificationTests(env) registers its tests inside the dashboard's describe (one stack for all).
import {it} from 'node:test';
import assert from 'node:assert/strict';
import {eventually, freePort, SECRET_KEY} from './stack.mjs';

export function notificationTests(env) {
  const page = () => env.page;
  const stack = () => env.stack;
  const hook = {};

  async function as(role) {
    const who = env.page.getByTestId('who');
    if ((await who.isVisible()) && (await who.textContent()) === `${role} · ${role}`) return;
    if (await who.isVisible()) await env.logout();
    await env.login(role);
  }

  it('adds a webhook channel and a route; the secret is shown once (admin)', async () => {
    hook.port = await freePort();
    hook.url = `http://127.0.0.1:${hook.port}`;
    stack().spawn('webhook-receiver', ['--host', '127.0.0.1', '--port', String(hook.port)]);
    await eventually('webhook-receiver', async () =>
      (await fetch(`${hook.url}/control/count`).catch(() => ({status: 0}))).status === 200);

    await as('admin');
    await env.nav('Notifications');
    await page().getByRole('heading', {name: 'Notifications', level: 1}).waitFor();
    await page().getByTestId('notify-settings-link').click();
    await page().getByRole('heading', {name: 'Channels', level: 1}).waitFor();
    await page().getByTestId('channel-add').click();
    const dialog = page().getByRole('dialog');
    await dialog.getByTestId('channel-name').fill('ops-hook');
    await dialog.getByTestId('channel-url').fill('ftp://example.org/x');
    await dialog.getByRole('button', {name: 'Add channel'}).click();
    await dialog.getByRole('alert').filter({hasText: /url/i}).waitFor();
    assert.equal(await stack().sql('SELECT count(*) FROM notification_channels'), '0');
    await dialog.getByTestId('channel-url').fill(`${hook.url}/hooks/fleetward`);
    await dialog.getByRole('button', {name: 'Add channel'}).click();
    const secret = await page().getByTestId('channel-secret-once').textContent();
    assert.ok(secret.length >= 32, 'a generated signing secret is shown');
    await page().getByRole('dialog').getByRole('button', {name: 'Close'}).click();
    await page().locator('[data-testid="channel-row"][data-name="ops-hook"]').waitFor();
    // The closed dialog leaves the page (its removal may trail the list's redraw by a frame).
    await page().getByTestId('channel-secret-once').waitFor({state: 'detached'});
    assert.ok(!(await page().content()).includes(secret), 'the secret is shown only once');
    assert.equal(await stack().sql(`SELECT count(*) FROM notification_channels WHERE secret_enc LIKE '%${secret}%'`), '0');

    await page().getByTestId('route-add').click();
    await dialog.getByTestId('route-name').fill('notifier-events');
    await dialog.getByTestId('route-events').fill('notifier.*, alert.*');
    await dialog.getByRole('button', {name: 'Add route'}).click();
    await page().getByTestId('route-row').filter({hasText: 'notifier-events'}).waitFor();
    assert.equal(await stack().sql("SELECT events::text FROM notification_routes WHERE name = 'notifier-events'"),
                 '{notifier.*,alert.*}');
  });

  it('sends a test through the channel; the message shows delivered and the receiver has it', async () => {
    stack().spawn('notifier', ['--log-format', 'text', '--interval', '1'], {FLEET_SECRET_KEY: SECRET_KEY});
    await page().locator('[data-testid="channel-row"][data-name="ops-hook"]').getByTestId('channel-test').click();
    await eventually('the receiver got the test', async () =>
      Number(await (await fetch(`${hook.url}/control/count`)).text()) >= 1, 60_000, 500);
    const [got] = await (await fetch(`${hook.url}/control/received`)).json();
    assert.match(got.signature, /^t=\d+,v1=[0-9a-f]{64}$/);
    await env.nav('Notifications');
    const row = page().getByTestId('message-row').first();
    await row.getByTestId('message-state').filter({hasText: 'delivered'}).waitFor({timeout: 30_000});
    await row.getByTestId('message-open').click();
    await page().getByTestId('message-attempt-row').first().waitFor();
    await page().getByTestId('message-carried').filter({hasText: /test/i}).waitFor();
    await page().getByRole('dialog').getByRole('button', {name: 'Close'}).click();
  });

  it('sends a dead message again with "Retry now" (operator)', async () => {
    const id = await stack().sql(
      "INSERT INTO notification_messages (channel_id, group_key, idempotency_key, body, notifications, state, attempts, " +
      "dead_at, dead_reason) SELECT id, 'event=notifier.test', 'fw-dead-1', '{}'::jsonb, 0, 'dead', 8, now(), " +
      "'8 attempts failed' FROM notification_channels WHERE name = 'ops-hook' RETURNING id");
    await as('operator');
    await env.nav('Notifications');
    const row = page().locator('[data-testid="message-row"][data-state="dead"]');
    await row.getByText('8 attempts failed').waitFor();
    await row.getByTestId('message-retry').click();
    await eventually('retried', async () =>
      ['retrying', 'sending', 'delivered'].includes(await stack().sql(`SELECT state FROM notification_messages WHERE id = ${id}`)));
    assert.equal(await stack().sql(`SELECT retry_base FROM notification_messages WHERE id = ${id}`), '8');
  });

  it('lets a viewer subscribe without showing channel settings', async () => {
    await as('viewer');
    await env.nav('Notifications');
    assert.equal(await page().getByTestId('messages-table').count(), 0);
    await page().getByTestId('notify-settings-link').click();
    await page().getByRole('heading', {name: 'My notifications', level: 1}).waitFor();
    assert.equal(await page().getByTestId('channels-table').count(), 0);
    await page().getByTestId('subscription-add').click();
    const dialog = page().getByRole('dialog');
    await dialog.getByRole('button', {name: 'Subscribe'}).click();
    await page().getByTestId('subscription-row').filter({hasText: 'ops-hook'}).waitFor();
    assert.equal(await stack().sql("SELECT count(*) FROM notification_subscriptions s JOIN users u ON u.id = s.user_id " +
                                   "WHERE u.username = 'viewer'"), '1');
    assert.ok(!(await page().content()).includes(hook.url), 'no channel URL shown to a viewer');
  });
}
