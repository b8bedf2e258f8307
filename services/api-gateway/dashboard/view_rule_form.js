// The rule form (seed 000 §3 "Rule Management"): condition with live validation that points at
// the error's column, metric suggestions from the catalogue, scope, timing, severity, no-data
// policy and the escalation ladder; "Test" shows which workers match right now.
import {h, replace, debounce, timeEl, stateBadge, dateTime, durationText, DASH, append} from './dom.js';
import {api, session} from './api.js';
import {field, select, errorBox, errorText, toast, confirmDialog, InputError, parseLabels} from './ui.js';

const LADDER_ACTIONS = [['notify', 'notify'], ['restart_mining', 'restart mining'], ['reboot', 'reboot'],
                        ['power_cycle', 'power-cycle'], ['shutdown', 'shut down']];
const DURATION = /^(\d+(\.\d+)?(ms|s|m|h|d))+$|^\d+$/;

// Byte offset (the API's position) -> index into the JS string.
function charIndex(text, bytePosition) {
  const bytes = new TextEncoder().encode(text);
  return new TextDecoder().decode(bytes.slice(0, Math.max(0, Math.min(bytePosition, bytes.length)))).length;
}

// The line holding `index`, and the caret line under it.
function caretLines(text, index, length = 1) {
  const start = text.lastIndexOf('\n', index - 1) + 1;
  let end = text.indexOf('\n', index);
  if (end < 0) end = text.length;
  const line = text.slice(start, end).replace(/\t/g, ' ');
  const col = index - start;
  return `${line}\n${' '.repeat(col)}${'^'.repeat(Math.max(1, Math.min(length, line.length - col || 1)))}`;
}

// A condition textarea with live validation (debounced) and metric suggestions.
function conditionInput({label, name, required, help, metrics, readOnly}) {
  const ta = h('textarea', {name, rows: 2, spellcheck: 'false', autocomplete: 'off', class: 'code-input',
                            required, readonly: readOnly, 'data-testid': `${name}-input`});
  const status = h('div', {class: 'validation', 'aria-live': 'polite', 'data-testid': `${name}-validation`});
  const suggestions = h('div', {class: 'suggestions', 'aria-label': `Metric suggestions for ${label}`, hidden: true});
  const wrapper = field(label, ta, help);
  status.id = `${ta.id}-validation`;
  ta.setAttribute('aria-describedby', [ta.getAttribute('aria-describedby'), status.id].filter(Boolean).join(' '));
  wrapper.append(suggestions, status);
  let seq = 0;

  function setInvalid(invalid) {
    ta.classList.toggle('invalid', invalid);
    ta.setAttribute('aria-invalid', String(invalid));
  }

  function showErrors(text, errors) {
    setInvalid(true);
    replace(status, h('ul', {class: 'validation-errors'}, errors.map((err) => {
      const index = charIndex(text, Number(err.position ?? 0));
      const msg = /column \d+/.test(err.message) ? err.message : `column ${index + 1}: ${err.message}`;
      const jump = h('button', {type: 'button', class: 'link', title: 'Put the cursor at the error'}, msg);
      jump.addEventListener('click', () => {
        ta.focus();
        ta.setSelectionRange(index, Math.min(text.length, index + Math.max(1, Number(err.length || 1))));
      });
      return h('li', {class: 'validation-error'}, jump, h('pre', {class: 'caret', 'aria-hidden': 'true'},
                                                           caretLines(text, index, Number(err.length || 1))));
    })));
  }

  async function validate() {
    const text = ta.value;
    const mine = ++seq;
    if (!text.trim()) {
      setInvalid(false);
      replace(status, required ? h('span', {class: 'muted'}, 'Required.') : '');
      return !required;
    }
    try {
      const r = await api.post('/api/rules/validate', {condition: text});
      if (mine !== seq) return null;
      if (r.valid) {
        setInvalid(false);
        replace(status, h('span', {class: 'valid'}, '✓ Valid condition'));
        return true;
      }
      showErrors(text, r.errors || []);
      return false;
    } catch (e) {
      if (mine !== seq) return null;
      setInvalid(false);
      replace(status, h('span', {class: 'muted'}, `Live validation unavailable: ${errorText(e)}`));
      return null;
    }
  }
  const validateSoon = debounce(validate, 300);

  function suggest() {
    const list = metrics();
    const before = ta.value.slice(0, ta.selectionStart);
    const m = /[A-Za-z_][A-Za-z0-9_]*$/.exec(before);
    if (readOnly || !m || !list.length || document.activeElement !== ta) {
      suggestions.hidden = true;
      return;
    }
    const prefix = m[0].toLowerCase();
    const starts = list.filter((x) => x.name.startsWith(prefix) && x.name !== prefix);
    const contains = list.filter((x) => !x.name.startsWith(prefix) && x.name.includes(prefix));
    const found = [...starts, ...contains].slice(0, 8);
    if (!found.length) {
      suggestions.hidden = true;
      return;
    }
    replace(suggestions, h('span', {class: 'muted small'}, 'Metrics: '), found.map((x) => {
      const b = h('button', {type: 'button', class: 'chip',
                             title: [x.description, x.unit ? `unit ${x.unit}` : '', x.states ? `states: ${x.states.join(', ')}` : '']
                               .filter(Boolean).join(' · ')}, x.name);
      b.addEventListener('mousedown', (ev) => ev.preventDefault());  // keep the textarea's caret
      b.addEventListener('click', () => {
        const start = ta.selectionStart - m[0].length;
        ta.setRangeText(x.name, start, ta.selectionStart, 'end');
        ta.focus();
        suggestions.hidden = true;
        validateSoon();
      });
      return b;
    }));
    suggestions.hidden = false;
  }

  ta.addEventListener('input', () => {
    validateSoon();
    suggest();
  });
  ta.addEventListener('click', suggest);
  ta.addEventListener('keyup', (ev) => {
    if (ev.key.startsWith('Arrow') || ev.key === 'Home' || ev.key === 'End') suggest();
    if (ev.key === 'Escape') suggestions.hidden = true;
  });
  ta.addEventListener('blur', () => setTimeout(() => {
    if (!wrapper.contains(document.activeElement)) suggestions.hidden = true;
  }, 150));

  return {
    el: wrapper,
    ta,
    validate,
    // An error the save answered with: shown like a validation error.
    showServerError(message) {
      setInvalid(true);
      replace(status, h('ul', {class: 'validation-errors'}, h('li', {class: 'validation-error'}, message)));
    },
  };
}

function ladderEditor(readOnly) {
  const list = h('ol', {class: 'ladder', 'data-testid': 'ladder'});
  const add = h('button', {type: 'button', class: 'btn btn-small', hidden: readOnly}, '+ Add step');
  let n = 0;
  function addStep(step = {action: 'notify', after: ''}) {
    n += 1;
    const action = select(LADDER_ACTIONS, step.action, {'aria-label': `Step ${n} action`, disabled: readOnly});
    const after = h('input', {value: durationText(step.after) === '0s' ? '' : durationText(step.after), placeholder: '0s',
                              size: 6, 'aria-label': `Step ${n} after`, readonly: readOnly});
    const remove = h('button', {type: 'button', class: 'btn btn-small', 'aria-label': `Remove step ${n}`, hidden: readOnly}, '×');
    const li = h('li', {}, action, h('span', {class: 'muted'}, ' after '), after, h('span', {class: 'muted small'}, ' from firing '), remove);
    remove.addEventListener('click', () => li.remove());
    list.append(li);
  }
  add.addEventListener('click', () => addStep());
  return {
    el: h('div', {}, list, add),
    set(actions) {
      replace(list);
      for (const a of actions || []) addStep(typeof a === 'string' ? {action: a, after: ''} : a);
    },
    value() {
      return [...list.children].map((li, i) => {
        const action = li.querySelector('select').value;
        const after = li.querySelector('input').value.trim();
        if (after && !DURATION.test(after)) throw new InputError(`Step ${i + 1}: write "after" like 10m or 1h.`, `actions[${i}].after`);
        return after ? {action, after} : {action};
      });
    },
  };
}

export default {
  title: 'Rule',
  mount(root, ctx) {
    const isNew = ctx.params[0] === 'new';
    const id = isNew ? null : Number(ctx.params[0]);
    if (!isNew && !(Number.isInteger(id) && id > 0)) throw new InputError('No such rule.');
    const canEdit = session.can('operator');
    const readOnly = !canEdit;
    let catalogue = [];
    let rule = null;

    const metrics = () => {
      const kind = scopeKind.value;
      return kind ? catalogue.filter((m) => !m.kinds || m.kinds.includes(kind)) : catalogue;
    };
    const name = h('input', {name: 'name', required: true, maxlength: 100, readonly: readOnly, 'data-testid': 'rule-name'});
    const description = h('input', {name: 'description', maxlength: 1000, readonly: readOnly});
    const condition = conditionInput({label: 'Condition', name: 'condition', required: true, metrics, readOnly,
                                      help: 'e.g. chip_temp_max > 85 and fan_rpm_min < 1000 · avg(hashrate, 10m) < 0.8 * hashrate_nominal'});
    const clearCond = conditionInput({label: 'Clear condition (optional)', name: 'clear_condition', required: false, metrics, readOnly,
                                      help: 'Hysteresis: a firing alert resolves only when this holds, e.g. chip_temp_max < 75.'});
    const scopeKind = select([['', 'all kinds'], ['asic', 'ASIC miners'], ['rig', 'GPU rigs'], ['node', 'container nodes'],
                              ['device', 'devices']], '', {name: 'kind', disabled: readOnly});
    const farm = h('input', {name: 'farm_id', inputmode: 'numeric', size: 6, readonly: readOnly});
    const worker = h('input', {name: 'worker_id', inputmode: 'numeric', size: 6, readonly: readOnly});
    const labels = h('input', {name: 'labels', placeholder: 'rack=A, row=3', readonly: readOnly});
    const forIn = h('input', {name: 'for', placeholder: '0s', size: 6, readonly: readOnly});
    const keepIn = h('input', {name: 'keep_firing_for', placeholder: '0s', size: 6, readonly: readOnly});
    const staleIn = h('input', {name: 'stale_after', placeholder: '5m', size: 6, readonly: readOnly});
    const severity = select([['info', 'info'], ['warning', 'warning'], ['critical', 'critical']], 'warning',
                            {name: 'severity', disabled: readOnly});
    const noData = select([['ignore', 'ignore (never fires)'], ['alert', 'alert (own no-data alert)']], 'ignore',
                          {name: 'no_data', disabled: readOnly});
    const notify = h('input', {type: 'checkbox', name: 'notify', id: 'rule-notify', checked: true, disabled: readOnly});
    const enabled = h('input', {type: 'checkbox', name: 'enabled', id: 'rule-enabled', checked: true, disabled: readOnly});
    const ladder = ladderEditor(readOnly);
    const errors = errorBox();
    const testBox = h('div', {class: 'test-result', 'aria-live': 'polite', 'data-testid': 'rule-test-result'});
    const alertsBox = h('div', {});
    const meta = h('p', {class: 'muted small'});
    scopeKind.addEventListener('change', () => condition.ta.dispatchEvent(new Event('input')));

    const save = h('button', {type: 'submit', class: 'btn btn-primary', 'data-testid': 'save-rule', hidden: readOnly}, 'Save rule');
    const test = h('button', {type: 'button', class: 'btn', 'data-testid': 'test-rule'}, 'Test now');
    const del = h('button', {type: 'button', class: 'btn btn-danger', hidden: readOnly || isNew}, 'Delete');
    const cancel = h('a', {class: 'btn', href: '#/rules'}, readOnly ? 'Back' : 'Cancel');

    const form = h('form', {class: 'rule-form', novalidate: true, 'aria-label': isNew ? 'New rule' : 'Edit rule', 'data-testid': 'rule-form'},
      h('fieldset', {}, h('legend', {}, 'Rule'), field('Name', name), field('Description', description)),
      h('fieldset', {}, h('legend', {}, 'When'), condition.el, clearCond.el,
        h('div', {class: 'row'}, field('For (pending before firing)', forIn), field('Keep firing for', keepIn),
          field('Stale after (no data)', staleIn))),
      h('fieldset', {}, h('legend', {}, 'Which workers'),
        h('div', {class: 'row'}, field('Kind', scopeKind), field('Farm id', farm), field('Worker id', worker),
          field('Labels (all must match)', labels))),
      h('fieldset', {}, h('legend', {}, 'What happens'),
        h('div', {class: 'row'}, field('Severity', severity), field('No data', noData),
          h('label', {class: 'check', for: 'rule-notify'}, notify, ' Notify'),
          h('label', {class: 'check', for: 'rule-enabled'}, enabled, ' Enabled')),
        h('h3', {}, 'Escalation ladder'),
        h('p', {class: 'muted small'}, 'Each step runs at most once per alert; hardware steps obey the per-worker cooldown and daily cap.'),
        ladder.el),
      errors.el,
      h('div', {class: 'form-buttons'}, save, test, cancel, del));

    append(root, h('p', {class: 'breadcrumb'}, h('a', {href: '#/rules'}, '← Rules')),
                h('h1', {}, isNew ? 'New rule' : 'Rule'), meta, form,
                h('section', {class: 'panel', 'aria-labelledby': 'rule-test-h'}, h('h2', {id: 'rule-test-h'}, 'Test'), testBox),
                isNew ? null : h('section', {class: 'panel', 'aria-labelledby': 'rule-alerts-h'},
                                 h('h2', {id: 'rule-alerts-h'}, 'Open alerts of this rule'), alertsBox));

    function scopeValue() {
      const scope = {};
      if (scopeKind.value) scope.kind = scopeKind.value;
      for (const [input, key] of [[farm, 'farm_id'], [worker, 'worker_id']]) {
        const v = input.value.trim();
        if (!v) continue;
        if (!/^\d+$/.test(v)) throw new InputError(`${key} must be a number.`, key);
        scope[key] = Number(v);
      }
      const l = parseLabels(labels.value, 'labels');
      if (Object.keys(l).length) scope.labels = l;
      return scope;
    }

    function body() {
      const b = {
        name: name.value.trim(),
        description: description.value.trim(),
        enabled: enabled.checked,
        condition: condition.ta.value.trim(),
        scope: scopeValue(),
        for: forIn.value.trim() || '0s',
        keep_firing_for: keepIn.value.trim() || '0s',
        stale_after: staleIn.value.trim() || '5m',
        severity: severity.value,
        no_data: noData.value,
        notify: notify.checked,
        actions: ladder.value(),
      };
      if (!b.name) throw new InputError('Give the rule a name.', 'name');
      if (!b.condition) throw new InputError('Write a condition.', 'condition');
      for (const [k, v] of [['for', b.for], ['keep_firing_for', b.keep_firing_for], ['stale_after', b.stale_after]]) {
        if (!DURATION.test(v)) throw new InputError(`${k}: write a duration like 30s, 5m or 1h.`, k);
      }
      const clear = clearCond.ta.value.trim();
      if (clear) b.clear_condition = clear;
      else if (!isNew) b.clear_condition = null;
      return b;
    }

    function fill(r) {
      rule = r;
      name.value = r.name || '';
      description.value = r.description || '';
      condition.ta.value = r.condition || '';
      clearCond.ta.value = r.clear_condition ?? r.clear ?? '';
      scopeKind.value = r.scope?.kind || '';
      farm.value = r.scope?.farm_id ?? '';
      worker.value = r.scope?.worker_id ?? '';
      labels.value = r.scope?.labels ? Object.entries(r.scope.labels).map(([k, v]) => `${k}=${v}`).join(', ') : '';
      forIn.value = durationText(r.for) === '0s' ? '' : durationText(r.for);
      keepIn.value = durationText(r.keep_firing_for) === '0s' ? '' : durationText(r.keep_firing_for);
      staleIn.value = durationText(r.stale_after) === '5m' ? '' : durationText(r.stale_after);
      severity.value = r.severity || 'warning';
      noData.value = r.no_data || 'ignore';
      notify.checked = r.notify !== false;
      enabled.checked = r.enabled !== false;
      ladder.set(r.actions);
      root.querySelector('h1').textContent = `Rule ${r.name}`;
      meta.textContent = `Created by ${r.created_by || DASH} ${dateTime(r.created_at)} · updated ${dateTime(r.updated_at)}`;
    }

    function markField(fieldName, message) {
      if (!fieldName) return;
      if (fieldName === 'condition') condition.showServerError(message);
      else if (fieldName === 'clear' || fieldName === 'clear_condition') clearCond.showServerError(message);
      else {
        const input = form.querySelector(`[name="${CSS.escape(fieldName.replace(/^scope\./, ''))}"]`);
        if (input) {
          input.classList.add('invalid');
          input.setAttribute('aria-invalid', 'true');
          input.addEventListener('input', () => {
            input.classList.remove('invalid');
            input.removeAttribute('aria-invalid');
          }, {once: true});
        }
      }
    }

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (readOnly) return;
      errors.clear();
      save.disabled = true;
      try {
        const b = body();
        const saved = isNew ? await api.post('/api/rules', b) : await api.patch(`/api/rules/${id}`, b);
        toast(`Rule ${saved?.name || b.name} saved.`, 'ok');
        location.hash = '#/rules';
      } catch (e) {
        const f = e.field || null;
        markField(f, e.message);
        errors.show(`Rule not saved: ${f && !e.message.startsWith(f) ? `${f}: ` : ''}${errorText(e)}`);
      } finally {
        save.disabled = false;
      }
    });

    test.addEventListener('click', async () => {
      replace(testBox, h('p', {class: 'muted'}, 'Evaluating…'));
      try {
        const cond = condition.ta.value.trim();
        if (!cond) throw new InputError('Write a condition first.');
        const r = await api.post('/api/rules/test', {condition: cond, scope: scopeValue()});
        const matches = r.matches || [];
        replace(testBox,
                h('p', {}, `${matches.length} of ${r.evaluated ?? '?'} workers match right now`,
                  r.no_data ? `; no data on ${r.no_data}` : '', '.'),
                matches.length ? h('table', {class: 'table compact'},
                  h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Worker'), h('th', {scope: 'col'}, 'Values'))),
                  h('tbody', {}, matches.slice(0, 50).map((m) => h('tr', {},
                    h('td', {}, h('a', {href: `#/miner/${m.worker_id}`}, m.name || `worker ${m.worker_id}`)),
                    h('td', {class: 'mono small'}, Object.entries(m.values || {}).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(3) : v}`).join('  ')))))) : null,
                matches.length > 50 ? h('p', {class: 'muted'}, `… and ${matches.length - 50} more.`) : null);
      } catch (e) {
        replace(testBox, h('p', {class: 'error-box'}, errorText(e)));
      }
    });

    del.addEventListener('click', async () => {
      if (!rule) return;
      const ok = await confirmDialog({title: `Delete rule ${rule.name}?`, message: 'Its alerts resolve and its ladder stops. This cannot be undone.',
                                      confirmLabel: 'Delete rule', danger: true});
      if (!ok) return;
      try {
        await api.del(`/api/rules/${rule.id}`);
        toast(`Rule ${rule.name} deleted.`, 'ok');
        location.hash = '#/rules';
      } catch (e) {
        errors.show(e);
      }
    });

    api.get('/api/metrics', {signal: ctx.signal}).then((r) => {
      catalogue = (r.items || []).slice().sort((a, b) => a.name.localeCompare(b.name));
    }).catch(() => {
      catalogue = [];
    });
    if (isNew) ladder.set([]);
    let loaded = isNew;

    return {
      async refresh() {
        if (!loaded) {
          fill(await api.get(`/api/rules/${id}`, {signal: ctx.signal}));
          loaded = true;
          if (canEdit) condition.validate();
        }
        if (isNew) return;
        try {
          const r = await api.get(`/api/alerts?state=open&rule_id=${id}&limit=20`, {signal: ctx.signal});
          replace(alertsBox, r.items.length ? h('ul', {class: 'alert-list'}, r.items.map((a) =>
            h('li', {}, stateBadge(a.state), ' ', h('a', {href: `#/miner/${a.worker_id}`}, a.worker_name || `worker ${a.worker_id}`),
              ' since ', timeEl(a.fired_at || a.started_at)))) : h('p', {class: 'muted'}, 'No open alert.'));
        } catch (e) {
          if (e.name === 'AbortError') throw e;
          replace(alertsBox, h('p', {class: 'muted'}, errorText(e)));
        }
      },
    };
  },
};
