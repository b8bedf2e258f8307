// Organisations (issue 14): who owns deployments, what happens to them when a node fails
// (migration policy: automatic, manual approval, none) and who is told (members). Admins create
// organisations, change the policy and the members; everyone else reads.
import {h, int, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {KeyedRows, table, field, select, errorBox, formDialog, confirmDialog, toast, showError, notice, InputError} from './ui.js';

const POLICIES = [['automatic', 'automatic — moved at once'], ['manual', 'manual — waits for approval'], ['none', 'none — recorded only']];

function createForm(ctx) {
  const name = h('input', {name: 'name', maxlength: 63, 'data-testid': 'org-name', placeholder: 'acme'});
  const display = h('input', {name: 'display_name', maxlength: 200, 'data-testid': 'org-display'});
  const policy = select(POLICIES, 'automatic', {name: 'migration_policy', 'data-testid': 'org-policy'});
  const errors = errorBox();
  const submit = h('button', {type: 'submit', class: 'btn btn-primary', 'data-testid': 'org-create'}, 'Create organisation');
  const form = h('form', {class: 'panel', 'aria-labelledby': 'org-new', novalidate: true},
                 h('h2', {id: 'org-new'}, 'New organisation'),
                 h('div', {class: 'row'}, field('Name', name, 'Lower case letters, digits and -; part of every service address.'),
                   field('Display name', display), field('Migration policy', policy, 'What happens to its containers when a node fails.')),
                 errors.el, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.clear();
    submit.disabled = true;
    try {
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name.value.trim())) {
        throw new InputError('Name: lower case letters, digits and -, starting with a letter or digit.', 'name');
      }
      const body = {name: name.value.trim(), migration_policy: policy.value};
      if (display.value.trim()) body.display_name = display.value.trim();
      const created = await api.post('/api/organizations', body);
      toast(`Organisation ${created.name} created.`, 'ok');
      form.reset();
      ctx.refreshNow();
    } catch (e) {
      errors.show(e);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function addMember(org) {
  return formDialog({
    title: `Add a member to ${org.name}`,
    submitLabel: 'Add',
    build(body) {
      const user = h('input', {name: 'user_id', type: 'number', min: 1, step: 1, 'data-testid': 'member-user'});
      const role = select([['owner', 'owner'], ['member', 'member']], 'owner', {name: 'role', 'data-testid': 'member-role'});
      body.append(field('User id', user, 'Members are told about the organisation\'s deployments.'), field('Role', role));
      return {user, role};
    },
    async submit({user, role}) {
      if (!/^\d+$/.test(user.value.trim())) throw new InputError('User id: a whole number.', 'user_id');
      await api.put(`/api/organizations/${org.id}/members/${user.value.trim()}`, {role: role.value});
      toast('Member added.', 'ok');
      return true;
    },
  });
}

export default {
  title: 'Organisations',
  mount(root, ctx) {
    append(root, h('p', {class: 'breadcrumb'}, h('a', {href: '#/deployments'}, '← Deployments')), h('h1', {}, 'Organisations'),
           session.can('admin') ? createForm(ctx) : notice('Admins create organisations and change their policy and members.'));
    const admin = session.can('admin');
    const t = table([{label: 'Name'}, {label: 'Display name'}, {label: 'Migration policy'}, {label: 'Deployments', class: 'num'},
                     {label: 'Members'}, {label: ''}], {caption: 'Organisations', testid: 'orgs-table', emptyText: 'No organisation yet.'});
    const rows = new KeyedRows(t.tbody, () => {
      const row = {el: h('tr', {'data-testid': 'org-row'})};
      row.update = (o) => {
        row.el.dataset.name = o.name;
        let policyCell = o.migration_policy;
        if (admin) {
          policyCell = select(POLICIES, o.migration_policy, {'data-testid': 'org-row-policy', 'aria-label': `Migration policy of ${o.name}`});
          policyCell.addEventListener('change', async () => {
            try {
              await api.patch(`/api/organizations/${o.id}`, {migration_policy: policyCell.value});
              toast(`${o.name}: policy ${policyCell.value}.`, 'ok');
            } catch (e) {
              showError(e, 'Policy not changed');
            }
            ctx.refreshNow();
          });
        }
        const members = (o.members || []).map((m) => {
          const chip = h('span', {class: 'chip', 'data-testid': 'org-member'}, `${m.username} (${m.role})`);
          if (admin) {
            const x = h('button', {type: 'button', class: 'btn btn-small', 'aria-label': `Remove ${m.username}`}, '×');
            x.addEventListener('click', async () => {
              if (!(await confirmDialog({title: `Remove ${m.username} from ${o.name}?`, confirmLabel: 'Remove'}))) return;
              try {
                await api.del(`/api/organizations/${o.id}/members/${m.user_id}`);
              } catch (e) {
                showError(e, 'Not removed');
              }
              ctx.refreshNow();
            });
            chip.append(x);
          }
          return chip;
        });
        let add = null;
        if (admin) {
          add = h('button', {type: 'button', class: 'btn btn-small', 'data-testid': 'org-add-member'}, 'Add member');
          add.addEventListener('click', async () => {
            if (await addMember(o)) ctx.refreshNow();
          });
        }
        row.el.replaceChildren(h('td', {class: 'mono'}, o.name), h('td', {}, o.display_name || DASH),
                               h('td', {'data-testid': 'org-policy-cell'}, policyCell), h('td', {class: 'num'}, int(o.deployments)),
                               h('td', {}, members.length ? members : DASH), h('td', {}, add));
      };
      return row;
    });
    append(root, h('h2', {class: 'spaced'}, 'All organisations'), t.el);
    return {
      async refresh() {
        const r = await api.get('/api/organizations?limit=500', {signal: ctx.signal});
        rows.render(r.items);
        t.setEmpty(r.items.length === 0);
      },
    };
  },
};
