// Registration tokens of container host nodes (issue 13, admins): make one (description, site,
// pool, labels, how many registrations, how long) and copy it with the install command — shown
// once, only in this page's memory: the server keeps a hash, a reload shows it no more. The list
// shows each token's state (active, expired, used, revoked; filter by it), its uses, the nodes
// registered with it and its expiry; revoke one.
import {h, replace, int, timeEl, dateTime, badge, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {OffsetPager, KeyedRows, table, field, select, errorBox, confirmDialog, toast, showError, notice,
        parseLabels, intIn} from './ui.js';

const STATE_KIND = {active: 'ok', expired: 'warn', used: 'neutral', revoked: 'bad'};
const PAGE = 100;

// Copies text to the clipboard; falls back to selecting it in `el` for the user's own Ctrl+C.
async function copyText(text, el) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied to the clipboard.', 'ok');
  } catch {
    el.focus();
    el.select();
    toast('Selected: press Ctrl+C (or ⌘C) to copy.', 'info');
  }
}

function copyBox(label, value, testid, multiline) {
  const box = multiline
    ? h('textarea', {class: 'code-input copy-text', readonly: true, rows: 3, spellcheck: 'false', 'data-testid': testid}, value)
    : h('input', {class: 'code-input copy-text', readonly: true, value, spellcheck: 'false', 'data-testid': testid});
  box.id = testid;
  const copy = h('button', {type: 'button', class: 'btn', 'data-testid': `${testid}-copy`, 'aria-label': `Copy: ${label}`}, 'Copy');
  copy.addEventListener('click', () => copyText(value, box));
  return h('div', {class: 'field'}, h('label', {for: box.id}, label), h('div', {class: 'copy-row'}, box, copy));
}

export default {
  title: 'Registration tokens',
  mount(root, ctx) {
    append(root, h('p', {class: 'breadcrumb'}, h('a', {href: '#/nodes'}, '← Nodes')),
           h('h1', {}, 'Node registration tokens'));
    if (!session.can('admin')) {
      root.append(notice('Only admins make and see registration tokens.'));
      return {async refresh() {}};
    }

    // --- the create form ---
    const description = h('input', {name: 'description', maxlength: 500, 'data-testid': 'token-description'});
    const site = h('input', {name: 'site', maxlength: 200, 'data-testid': 'token-site'});
    const pool = h('input', {name: 'pool', maxlength: 63, placeholder: 'default', 'data-testid': 'token-pool'});
    const labels = h('input', {name: 'labels', placeholder: 'rack=A, gpu=none', 'data-testid': 'token-labels'});
    const maxUses = h('input', {name: 'max_uses', type: 'number', min: 1, max: 100000, step: 1, value: 1, 'data-testid': 'token-max-uses'});
    const hours = h('input', {name: 'expires_in_hours', type: 'number', min: 1, max: 720, step: 1, value: 24,
                              'data-testid': 'token-expires'});
    // The defaults stay what form.reset() brings back.
    maxUses.defaultValue = '1';
    hours.defaultValue = '24';
    const errors = errorBox();
    const submit = h('button', {type: 'submit', class: 'btn btn-primary', 'data-testid': 'token-create'}, 'Create token');
    const form = h('form', {class: 'panel', 'aria-labelledby': 'tok-new', 'data-testid': 'token-form', novalidate: true},
                   h('h2', {id: 'tok-new'}, 'New token'),
                   h('div', {class: 'row'}, field('Description', description, 'Who or what it is for (shown in the list).'), field('Site', site, 'Given to the nodes it registers.'),
                     field('Pool', pool, 'Lower case letters, digits, _ . - (default: default).')),
                   h('div', {class: 'row'}, field('Labels', labels, 'key=value, separated by commas.'),
                     field('Max uses', maxUses, 'How many nodes may register with it (1–100,000).'),
                     field('Expires in (hours)', hours, '1–720.')),
                   errors.el, submit);
    const once = h('div', {});

    function showOnce(created) {
      const dismiss = h('button', {type: 'button', class: 'btn', 'data-testid': 'token-once-done'}, 'Done, I have copied it');
      dismiss.addEventListener('click', () => replace(once));
      replace(once, h('section', {class: 'panel panel-secret', 'aria-labelledby': 'tok-once', 'data-testid': 'token-once'},
        h('h2', {id: 'tok-once'}, `Token ${created.token_id} created`),
        notice('Copy the token or the install command now: this is the only time they are shown. The server keeps only a hash.', 'warn'),
        copyBox('Install command (run as root on the new host)', created.install_command || '', 'token-install-command', true),
        copyBox('Token', created.token, 'token-value', false),
        h('p', {class: 'muted small'}, `Valid for ${int(created.max_uses)} registration${created.max_uses === 1 ? '' : 's'} until `,
          h('span', {title: dateTime(created.expires_at)}, dateTime(created.expires_at)), '.'),
        dismiss));
      once.querySelector('textarea, input')?.focus();
    }

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      errors.clear();
      submit.disabled = true;
      try {
        const body = {max_uses: intIn(maxUses, 'max_uses', 'Max uses', 1, 100000),
                      expires_in_hours: intIn(hours, 'expires_in_hours', 'Expires in', 1, 720)};
        if (description.value.trim()) body.description = description.value.trim();
        if (site.value.trim()) body.site = site.value.trim();
        if (pool.value.trim()) body.pool = pool.value.trim();
        const parsed = parseLabels(labels.value);
        if (Object.keys(parsed).length) body.labels = parsed;
        const created = await api.post('/api/nodes/registration-tokens', body);
        showOnce(created);
        form.reset();
        toast(`Registration token ${created.token_id} created.`, 'ok');
        ctx.refreshNow();
      } catch (e) {
        errors.show(e);
      } finally {
        submit.disabled = false;
      }
    });

    // --- the list ---
    const pager = new OffsetPager(() => ctx.refreshNow(), 'Token pages');
    const stateFilter = select([['', 'Any'], ...Object.keys(STATE_KIND).map((k) => [k, k])],
                               Object.keys(STATE_KIND).includes(ctx.query.get('state')) ? ctx.query.get('state') : '',
                               {id: 'tokens-state', 'data-testid': 'tokens-state'});
    stateFilter.addEventListener('change', () => {
      ctx.setQuery({state: stateFilter.value});
      pager.reset();
      ctx.refreshNow();
    });
    const t = table([{label: 'Token'}, {label: 'Description'}, {label: 'Site'}, {label: 'Pool'}, {label: 'State'},
                     {label: 'Uses', class: 'num'}, {label: 'Nodes', class: 'num'}, {label: 'Expires'}, {label: 'Created'},
                     {label: 'Last used'}, {label: ''}],
                    {caption: 'Registration tokens', testid: 'tokens-table', emptyText: 'No registration token yet.'});
    const rows = new KeyedRows(t.tbody, () => {
      const row = {};
      row.el = h('tr', {'data-testid': 'token-row'});
      row.update = (tk) => {
        row.el.dataset.tokenId = tk.token_id;
        row.el.dataset.state = tk.state;
        row.el.classList.toggle('row-disabled', tk.state !== 'active');
        let revoke = null;
        if (tk.state === 'active') {
          revoke = h('button', {type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'token-revoke'}, 'Revoke');
          revoke.addEventListener('click', async () => {
            if (!(await confirmDialog({title: `Revoke token ${tk.token_id}?`, confirmLabel: 'Revoke', danger: true,
                                       message: 'No node can register with it any more; nodes registered with it stay.'}))) return;
            try {
              await api.del(`/api/nodes/registration-tokens/${tk.id}`);
              toast(`Token ${tk.token_id} revoked.`, 'ok');
              ctx.refreshNow();
            } catch (e) {
              showError(e, 'Token not revoked');
            }
          });
        }
        row.el.replaceChildren(
          h('td', {class: 'mono'}, tk.token_id), h('td', {}, tk.description || DASH), h('td', {}, tk.site || DASH),
          h('td', {}, tk.pool || DASH), h('td', {'data-testid': 'token-state'}, badge(tk.state, STATE_KIND[tk.state] || 'neutral')),
          h('td', {class: 'num', 'data-testid': 'token-uses'}, `${int(tk.uses)} / ${int(tk.max_uses)}`),
          h('td', {class: 'num', 'data-testid': 'token-nodes'}, int(tk.nodes)),
          h('td', {title: dateTime(tk.expires_at)}, timeEl(tk.expires_at)),
          h('td', {title: dateTime(tk.created_at)}, timeEl(tk.created_at), tk.created_by ? h('div', {class: 'muted small'}, tk.created_by) : null),
          h('td', {}, tk.last_used_at ? timeEl(tk.last_used_at) : DASH),
          h('td', {}, revoke));
      };
      return row;
    });
    append(root, form, once, h('h2', {class: 'spaced'}, 'Tokens'),
           h('div', {class: 'filters'}, h('div', {class: 'field'}, h('label', {for: 'tokens-state'}, 'State'), stateFilter)),
           t.el, pager.el);

    return {
      async refresh() {
        const params = new URLSearchParams({limit: String(PAGE), offset: String(pager.offset)});
        if (stateFilter.value) params.set('state', stateFilter.value);
        const r = await api.get(`/api/nodes/registration-tokens?${params}`, {signal: ctx.signal});
        rows.render(r.items);
        t.setEmpty(r.items.length === 0);
        pager.update(r.items.length, r.total ?? r.items.length, PAGE);
      },
    };
  },
};
