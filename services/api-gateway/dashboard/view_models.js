// Model configuration (seed 003 §4): each model with its presets (read from the miners by
// discovery) and the operator's max_preset. The status loop polls a model's miners only once
// its max_preset is set. Saving is optimistic and rolls back on failure.
import {h, replace, int, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {KeyedRows, table, showError, toast} from './ui.js';

function presetLabel(p) {
  const base = p.pretty && p.pretty !== p.name ? `${p.pretty} (${p.name})` : p.name;
  return p.status ? `${base} · ${p.status}` : base;
}

export default {
  title: 'Models',
  mount(root, ctx) {
    const canAct = session.can('operator');
    const columns = [{label: 'Alias'}, {label: 'Model'}, {label: 'Miners', class: 'num'}, {label: 'Presets', class: 'num'},
                     {label: 'Max preset'}];
    if (canAct) columns.push({label: ''});
    const t = table(columns, {caption: 'Models', testid: 'models-table',
                              emptyText: 'No models yet: discovery adds them when it finds miners.'});

    const rows = new KeyedRows(t.tbody, (first) => {
      const row = {item: first, dirty: false, saving: false};
      const alias = h('td', {class: 'mono'});
      const name = h('td');
      const miners = h('td', {class: 'num'});
      const presetsCount = h('td', {class: 'num'});
      const sel = h('select', {id: `preset-${first.alias}`, 'aria-label': `Max preset of ${first.alias}`,
                               'data-testid': 'max-preset', disabled: !canAct});
      const current = h('div', {class: 'muted small'});
      const save = canAct ? h('button', {type: 'button', class: 'btn btn-primary', 'data-testid': 'save-preset', disabled: true}, 'Save') : null;
      const cells = [alias, name, miners, presetsCount, h('td', {}, sel, current)];
      if (save) cells.push(h('td', {}, save));
      const el = h('tr', {'data-testid': 'model-row', 'data-alias': first.alias}, cells);

      sel.addEventListener('change', () => {
        row.dirty = (sel.value || null) !== (row.item.max_preset || null);
        if (save) save.disabled = !row.dirty;
      });
      if (save) {
        save.addEventListener('click', async () => {
          const previous = row.item.max_preset ?? null;
          const want = sel.value || null;
          row.saving = true;
          save.disabled = true;
          row.update({...row.item, max_preset: want});  // optimistic
          try {
            const r = await api.patch(`/api/models/${encodeURIComponent(row.item.alias)}`, {max_preset: want});
            row.dirty = false;
            row.saving = false;
            row.optionsKey = null;
            row.update({...row.item, max_preset: r.max_preset ?? null});
            toast(want ? `${row.item.alias}: max preset is now ${want}.` : `${row.item.alias}: max preset cleared (its miners are not polled).`, 'ok');
          } catch (e) {
            row.saving = false;
            row.dirty = false;
            row.optionsKey = null;
            row.update({...row.item, max_preset: previous});
            showError(e, `Could not save the max preset of ${row.item.alias}`);
          }
        });
      }

      row.el = el;
      row.update = (m) => {
        row.item = m;
        alias.textContent = m.alias;
        name.textContent = m.full_name || DASH;
        miners.textContent = int(m.miners);
        presetsCount.textContent = int((m.presets || []).length);
        current.textContent = m.max_preset ? `saved: ${m.max_preset}` : 'not set: its miners are not polled';
        if (row.dirty || row.saving) return;  // do not overwrite what the user is choosing
        const key = JSON.stringify([m.presets, m.max_preset]);
        if (key === row.optionsKey) return;  // unchanged: keep an open dropdown open
        row.optionsKey = key;
        const options = [h('option', {value: ''}, '— not set —')];
        for (const p of m.presets || []) options.push(h('option', {value: p.name}, presetLabel(p)));
        if (m.max_preset && !(m.presets || []).some((p) => p.name === m.max_preset)) {
          options.push(h('option', {value: m.max_preset}, `${m.max_preset} (no longer offered)`));
        }
        replace(sel, options);
        sel.value = m.max_preset || '';
        if (save) save.disabled = true;
      };
      return row;
    });

    append(root, h('h1', {}, 'Models'),
                h('p', {class: 'muted'}, 'The status poller reads a miner only when it is managed, online, and its model has a max preset.'),
                t.el);

    return {
      async refresh() {
        const r = await api.get('/api/models', {signal: ctx.signal});
        rows.render(r.items, (m) => m.alias);
        t.setEmpty(r.items.length === 0);
      },
    };
  },
};
