// Notifications (issue 12): what fleetward told people and how it went. Recent notifications with
// the state of their deliveries per channel; the messages the notifier sent (one per group), dead
// letters first, with every attempt (HTTP status or SMTP reply, latency) and "Retry now" for
// operators. Channels, routes and subscriptions are configured on #/notify-settings.
import {h, replace, int, num, timeEl, stateBadge, badge, dateTime, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {KeyedRows, table, select, showError, toast, infoDialog} from './ui.js';

const MESSAGE_STATES = ['dead', 'retrying', 'pending', 'sending', 'delivered'];

export function messageStateBadge(state) {
  const kind = {delivered: 'ok', dead: 'bad', retrying: 'warn', pending: 'info', sending: 'info', queued: 'info',
                suppressed: 'neutral'}[state] || 'neutral';
  return badge(state, kind);
}

function attemptsTable(attempts) {
  if (!attempts.length) return h('p', {class: 'muted'}, 'Not attempted yet.');
  return h('div', {class: 'table-wrap'}, h('table', {class: 'table compact', 'data-testid': 'message-attempts'},
    h('thead', {}, h('tr', {}, ['#', 'When', 'Outcome', 'Status', 'Reply / error', 'Latency', 'Next attempt', 'By']
      .map((x) => h('th', {scope: 'col'}, x)))),
    h('tbody', {}, attempts.map((a) => h('tr', {'data-testid': 'message-attempt-row'},
      h('td', {class: 'num'}, int(a.attempt)), h('td', {title: dateTime(a.started_at)}, timeEl(a.started_at)),
      h('td', {}, messageStateBadge(a.outcome === 'delivered' ? 'delivered' : a.outcome === 'failed' ? 'dead' : 'retrying'), ' ', a.outcome),
      h('td', {class: 'num'}, a.status ?? DASH),
      h('td', {class: 'small'}, a.error || a.reply || DASH),
      h('td', {class: 'num'}, a.latency_ms === null || a.latency_ms === undefined ? DASH : `${num(a.latency_ms, 0)} ms`),
      h('td', {}, a.next_attempt_at ? timeEl(a.next_attempt_at) : DASH),
      h('td', {class: 'muted small'}, a.notifier || DASH))))));
}

async function showMessage(id) {
  try {
    const m = await api.get(`/api/notifications/messages/${id}`);
    const list = m.carried || [];
    infoDialog(`Message ${m.id} to ${m.channel}`,
      h('p', {}, messageStateBadge(m.state), ` ${int(m.notifications)} notifications · group `,
        h('span', {class: 'mono'}, m.group_key || DASH), m.recipient ? ` · to ${m.recipient}` : ''),
      m.dead_reason ? h('p', {class: 'value-bad'}, m.dead_reason) : null,
      h('p', {class: 'muted small'}, 'Idempotency key (X-Fleetward-Delivery): ', h('span', {class: 'mono'}, m.idempotency_key || DASH)),
      h('h3', {}, 'Attempts'), attemptsTable(m.attempts || []),
      list.length ? [h('h3', {}, 'Notifications'), h('ul', {}, list.map((n) => h('li', {'data-testid': 'message-carried'}, stateBadge(n.severity), ' ', n.title, ' ', messageStateBadge(n.delivery_state))))] : null);
  } catch (e) {
    showError(e, 'Message not loaded');
  }
}

export default {
  title: 'Notifications',
  mount(root, ctx) {
    const canRetry = session.can('operator');
    const stateFilter = select([['', 'Any state'], ...MESSAGE_STATES.map((s) => [s, s])],
                               MESSAGE_STATES.includes(ctx.query.get('state')) ? ctx.query.get('state') : '',
                               {id: 'messages-state', 'data-testid': 'messages-state'});
    stateFilter.addEventListener('change', () => {
      ctx.setQuery({state: stateFilter.value});
      ctx.refreshNow();
    });

    const nt = table([{label: 'When'}, {label: 'Severity'}, {label: 'Event'}, {label: 'Title'}, {label: 'Worker'},
                      {label: 'Deliveries'}],
                     {caption: 'Recent notifications', testid: 'notifications-table', emptyText: 'Nothing has been notified yet.'});
    const nrows = new KeyedRows(nt.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'notification-row'});
      row.update = (n) => {
        const deliveries = n.deliveries || [];
        row.el.replaceChildren(
          h('td', {title: dateTime(n.created_at)}, timeEl(n.created_at)),
          h('td', {}, stateBadge(n.severity)),
          h('td', {class: 'mono small'}, n.event),
          h('td', {}, n.title, n.body ? h('div', {class: 'muted small'}, n.body.length > 200 ? `${n.body.slice(0, 200)}…` : n.body) : null),
          h('td', {}, n.worker_id ? `#${n.worker_id}` : DASH),
          h('td', {'data-testid': 'notification-deliveries'}, n.routed_at === null ? badge('not routed yet', 'info')
            : deliveries.length ? deliveries.map((d) => [h('span', {class: 'nowrap'}, d.channel, ' ', messageStateBadge(d.state)), ' '])
            : h('span', {class: 'muted'}, 'no route matched')));
      };
      return row;
    });

    const mcols = [{label: 'Message'}, {label: 'Channel'}, {label: 'Group'}, {label: 'Notifications', class: 'num'},
                   {label: 'State'}, {label: 'Attempts', class: 'num'}, {label: 'Last answer'}, {label: 'Created'}];
    if (canRetry) mcols.push({label: ''});
    const mt = table(mcols, {caption: 'Messages sent by the notifier', testid: 'messages-table', emptyText: 'No message.'});
    const mrows = new KeyedRows(mt.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'message-row'});
      row.update = (m) => {
        row.el.dataset.state = m.state;
        const open = h('button', {type: 'button', class: 'btn btn-small btn-link', 'data-testid': 'message-open'}, `#${m.id}`);
        open.addEventListener('click', () => showMessage(m.id));
        const cells = [
          h('td', {}, open, m.kind && m.kind !== 'group' ? [' ', badge(m.kind, 'info')] : null),
          h('td', {}, m.channel),
          h('td', {class: 'mono small'}, m.group_key || DASH),
          h('td', {class: 'num'}, int(m.notifications)),
          h('td', {'data-testid': 'message-state'}, messageStateBadge(m.state),
            m.state === 'retrying' && m.next_attempt_at ? h('div', {class: 'muted small'}, 'next ', timeEl(m.next_attempt_at)) : null,
            m.dead_reason ? h('div', {class: 'value-bad small'}, m.dead_reason) : null),
          h('td', {class: 'num'}, int(m.attempts)),
          h('td', {class: 'small'}, m.last_status ? `${m.last_status} ` : '', m.last_reply || DASH),
          h('td', {}, timeEl(m.created_at)),
        ];
        if (canRetry) {
          const retry = m.state === 'dead' || m.state === 'retrying'
            ? h('button', {type: 'button', class: 'btn btn-small', 'data-testid': 'message-retry'}, 'Retry now') : null;
          retry?.addEventListener('click', async () => {
            retry.disabled = true;
            try {
              await api.post(`/api/notifications/messages/${m.id}/retry`, {});
              toast(`Message ${m.id} will be sent again now.`, 'ok');
              ctx.refreshNow();
            } catch (e) {
              showError(e, 'Not retried');
              retry.disabled = false;
            }
          });
          cells.push(h('td', {}, retry));
        }
        row.el.replaceChildren(...cells);
      };
      return row;
    });

    const settings = h('a', {class: 'btn', href: '#/notify-settings', 'data-testid': 'notify-settings-link'}, 'Channels and routes');
    const messagesSection = canRetry ? h('section', {'aria-labelledby': 'msg-h'},
      h('div', {class: 'title-row'}, h('h2', {id: 'msg-h', class: 'spaced'}, 'Messages'),
        h('div', {class: 'field'}, h('label', {for: 'messages-state'}, 'State'), stateFilter)),
      mt.el) : null;
    append(root,
      h('div', {class: 'title-row'}, h('h1', {}, 'Notifications'), settings),
      h('p', {class: 'muted'}, 'Every notification is routed to channels (webhook, MQTT, e-mail), grouped, and retried until it is delivered or dead-lettered.'),
      messagesSection,
      h('h2', {class: 'spaced'}, 'Recent notifications'), nt.el);

    return {
      async refresh() {
        const calls = [api.get('/api/notifications?limit=50', {signal: ctx.signal})];
        if (canRetry) {
          const p = new URLSearchParams({limit: '100'});
          if (stateFilter.value) p.set('state', stateFilter.value);
          calls.push(api.get(`/api/notifications/messages?${p}`, {signal: ctx.signal}));
        }
        const [notes, messages] = await Promise.all(calls);
        nrows.render(notes.items || []);
        nt.setEmpty((notes.items || []).length === 0);
        if (messages) {
          mrows.render(messages.items || []);
          mt.setEmpty((messages.items || []).length === 0);
        }
      },
    };
  },
};
