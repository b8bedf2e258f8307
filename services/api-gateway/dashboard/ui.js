// Shared pieces of the interface: notifications, the confirm dialog, error boxes, keyset pagers
// and keyed table bodies (rows updated in place, so polling keeps focus and scroll position).
import {h, replace, clear, ago} from './dom.js';
import {ApiError} from './api.js';

// --- notifications (an aria-live region; errors stay until dismissed) ---

export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const close = h('button', {type: 'button', class: 'toast-close', 'aria-label': 'Dismiss'}, '×');
  const el = h('div', {class: ['toast', `toast-${kind}`], role: kind === 'error' ? 'alert' : 'status'},
               h('span', {class: 'toast-text'}, message), close);
  close.addEventListener('click', () => el.remove());
  box.append(el);
  if (kind !== 'error') setTimeout(() => el.remove(), 5000);
  while (box.children.length > 5) box.firstChild.remove();
  return el;
}

// A mistake in what the user typed, found before anything is sent.
export class InputError extends Error {
  constructor(message, field) {
    super(message);
    this.name = 'InputError';
    this.field = field || null;
  }
}

// The text to show for any failure: the API's message, or a plain sentence (never a stack).
export function errorText(e) {
  if (e instanceof InputError) return e.message;
  if (e instanceof ApiError) {
    if (e.missingRoute) return 'This gateway does not provide this feature yet (the API route is missing).';
    if (e.status === 429 && e.retryAfter) return `${e.message} (retry in ${e.retryAfter} s)`;
    return e.message;
  }
  return 'Something went wrong in the dashboard; reload the page.';
}

export function showError(e, prefix = '') {
  if (e && e.name === 'AbortError') return;
  if (e instanceof ApiError && e.status === 401) return;  // the login form says it
  toast(prefix ? `${prefix}: ${errorText(e)}` : errorText(e), 'error');
}

// A block that shows an error inline (forms, panels); empty and hidden when there is none.
export function errorBox() {
  const el = h('div', {class: 'error-box', role: 'alert', hidden: true});
  return {
    el,
    show(e) {
      if (!e) return this.clear();
      replace(el, typeof e === 'string' ? e : errorText(e));
      el.hidden = false;
    },
    clear() {
      clear(el);
      el.hidden = true;
    },
  };
}

// --- the confirm dialog (a modal <dialog>; resolves true only on the confirm button) ---

export function confirmDialog({title, message, details, confirmLabel = 'Confirm', danger = false}) {
  return new Promise((resolve) => {
    const cancel = h('button', {type: 'button', class: 'btn', value: 'cancel'}, 'Cancel');
    const ok = h('button', {type: 'button', class: ['btn', danger ? 'btn-danger' : 'btn-primary'], value: 'confirm',
                            'data-testid': 'confirm-button'}, confirmLabel);
    const titleId = `dlg-title-${Math.random().toString(36).slice(2)}`;
    const dlg = h('dialog', {class: 'dialog', 'aria-labelledby': titleId, 'data-testid': 'confirm-dialog'},
                  h('h2', {id: titleId}, title),
                  h('p', {}, message),
                  details ? h('p', {class: 'muted'}, details) : null,
                  h('div', {class: 'dialog-buttons'}, cancel, ok));
    let answered = false;
    const finish = (value) => {
      if (answered) return;
      answered = true;
      dlg.close();
      dlg.remove();
      resolve(value);
    };
    cancel.addEventListener('click', () => finish(false));
    ok.addEventListener('click', () => finish(true));
    dlg.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      finish(false);
    });
    document.body.append(dlg);
    dlg.showModal();
    // A destructive action is never one Enter away: focus starts on Cancel.
    (danger ? cancel : ok).focus();
  });
}

// A modal form dialog: build(content) fills it; resolves with submit()'s value, or null.
export function formDialog({title, build, submitLabel = 'Save', submit}) {
  return new Promise((resolve) => {
    const titleId = `dlg-title-${Math.random().toString(36).slice(2)}`;
    const errors = errorBox();
    const body = h('div', {class: 'dialog-body'});
    const cancel = h('button', {type: 'button', class: 'btn'}, 'Cancel');
    const ok = h('button', {type: 'submit', class: 'btn btn-primary'}, submitLabel);
    const form = h('form', {class: 'dialog-form', novalidate: true},
                   h('h2', {id: titleId}, title), body, errors.el, h('div', {class: 'dialog-buttons'}, cancel, ok));
    const dlg = h('dialog', {class: 'dialog', 'aria-labelledby': titleId}, form);
    const finish = (value) => {
      dlg.close();
      dlg.remove();
      resolve(value);
    };
    const controls = build(body, {submitButton: ok});
    cancel.addEventListener('click', () => finish(null));
    dlg.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      finish(null);
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      errors.clear();
      ok.disabled = true;
      try {
        const value = await submit(controls);
        if (value !== undefined) finish(value);
      } catch (e) {
        errors.show(e);
      } finally {
        ok.disabled = false;
      }
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = body.querySelector('input, select, textarea');
    if (first) first.focus();
  });
}

// --- form fields ---

let fieldCounter = 0;

// A labelled control: field('Name', input, 'help text') -> wrapper (its input keeps an id).
export function field(label, control, help) {
  const id = control.id || `f${++fieldCounter}`;
  control.id = id;
  const helpEl = help ? h('div', {class: 'help', id: `${id}-help`}, help) : null;
  if (helpEl) control.setAttribute('aria-describedby', helpEl.id);
  return h('div', {class: 'field'}, h('label', {for: id}, label), control, helpEl);
}

export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map(([v, text]) => h('option', {value: v, selected: v === value}, text)));
}

// --- keyset pagination: a stack of cursors, Previous/Next buttons ---

export class Pager {
  constructor(onChange, label = 'Pages') {
    this.cursors = [null];
    this.next = null;
    this.onChange = onChange;
    this.prevBtn = h('button', {type: 'button', class: 'btn', 'data-testid': 'page-prev'}, '← Previous');
    this.nextBtn = h('button', {type: 'button', class: 'btn', 'data-testid': 'page-next'}, 'Next →');
    this.info = h('span', {class: 'pager-info', 'aria-live': 'polite'});
    this.prevBtn.addEventListener('click', () => this.go(-1));
    this.nextBtn.addEventListener('click', () => this.go(1));
    this.el = h('nav', {class: 'pager', 'aria-label': label}, this.prevBtn, this.info, this.nextBtn);
  }

  get after() {
    return this.cursors[this.cursors.length - 1];
  }

  get page() {
    return this.cursors.length;
  }

  reset() {
    this.cursors = [null];
    this.next = null;
  }

  go(direction) {
    if (direction > 0 && this.next) this.cursors.push(this.next);
    else if (direction < 0 && this.cursors.length > 1) this.cursors.pop();
    else return;
    this.onChange();
  }

  // After a page arrived: its size and the server's next cursor.
  update(count, next, limit) {
    this.next = next ?? null;
    this.prevBtn.disabled = this.cursors.length <= 1;
    this.nextBtn.disabled = !this.next;
    const first = (this.page - 1) * limit + 1;
    this.info.textContent = count === 0 ? `Page ${this.page}: nothing to show`
                                        : `Page ${this.page} · rows ${first}–${first + count - 1}`;
  }
}

// --- offset pagination (lists that answer {items, total, limit, offset}) ---

export class OffsetPager {
  constructor(onChange, label = 'Pages') {
    this.offset = 0;
    this.limit = 100;
    this.total = 0;
    this.onChange = onChange;
    this.prevBtn = h('button', {type: 'button', class: 'btn', 'data-testid': 'page-prev'}, '← Previous');
    this.nextBtn = h('button', {type: 'button', class: 'btn', 'data-testid': 'page-next'}, 'Next →');
    this.info = h('span', {class: 'pager-info', 'aria-live': 'polite'});
    this.prevBtn.addEventListener('click', () => this.go(-1));
    this.nextBtn.addEventListener('click', () => this.go(1));
    this.el = h('nav', {class: 'pager', 'aria-label': label}, this.prevBtn, this.info, this.nextBtn);
  }

  reset() {
    this.offset = 0;
  }

  go(direction) {
    const next = this.offset + direction * this.limit;
    if (next < 0 || (direction > 0 && next >= this.total)) return;
    this.offset = next;
    this.onChange();
  }

  // After a page arrived: its size, the total and the page size it was asked with.
  update(count, total, limit) {
    this.total = Number(total) || 0;
    this.limit = limit;
    this.prevBtn.disabled = this.offset === 0;
    this.nextBtn.disabled = this.offset + count >= this.total;
    const page = Math.floor(this.offset / limit) + 1;
    this.info.textContent = count === 0 ? `Page ${page}: nothing to show`
                                        : `Page ${page} · rows ${this.offset + 1}–${this.offset + count} of ${this.total}`;
  }
}

// --- keyed table body: rows by id, updated in place ---

export class KeyedRows {
  // create(item) -> {el, update(item)}; the row is created once and updated on every refresh.
  constructor(tbody, create) {
    this.tbody = tbody;
    this.create = create;
    this.rows = new Map();
  }

  render(items, key = (item) => item.id) {
    const seen = new Set();
    let previous = null;
    for (const item of items) {
      const id = String(key(item));
      seen.add(id);
      let row = this.rows.get(id);
      if (!row) {
        row = this.create(item);
        this.rows.set(id, row);
      }
      // Unchanged rows are left alone (keeps focus on their buttons); relative times are
      // refreshed separately (refreshTimes).
      const signature = JSON.stringify(item);
      if (row.signature !== signature) {
        row.signature = signature;
        row.update(item);
      }
      // Only move a row when it is out of place (moving a focused row would drop the focus).
      const expected = previous ? previous.nextSibling : this.tbody.firstChild;
      if (expected !== row.el) this.tbody.insertBefore(row.el, expected);
      previous = row.el;
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.el.remove();
        this.rows.delete(id);
      }
    }
  }

  clear() {
    for (const row of this.rows.values()) row.el.remove();
    this.rows.clear();
  }
}

// A table with a caption-like heading, fixed header, and an "empty" line.
export function table(columns, attrs = {}) {
  const tbody = h('tbody');
  const empty = h('p', {class: 'empty', hidden: true}, attrs.emptyText || 'Nothing to show.');
  const el = h('div', {class: 'table-wrap'},
               h('table', {class: ['table', attrs.class], 'data-testid': attrs.testid},
                 attrs.caption ? h('caption', {class: 'sr-only'}, attrs.caption) : null,
                 h('thead', {}, h('tr', {}, columns.map((c) => h('th', {scope: 'col', class: c.class}, c.label)))),
                 tbody),
               empty);
  return {
    el,
    tbody,
    setEmpty(isEmpty) {
      empty.hidden = !isEmpty;
    },
  };
}

// Marks controls for operators; the view decides whether to build them at all.
export function notice(text, kind = 'info') {
  return h('div', {class: ['notice', `notice-${kind}`], role: 'note'}, text);
}

// A read-only modal with a Close button.
export function infoDialog(title, ...content) {
  const titleId = `dlg-title-${Math.random().toString(36).slice(2)}`;
  const close = h('button', {type: 'button', class: 'btn'}, 'Close');
  const dlg = h('dialog', {class: 'dialog dialog-wide', 'aria-labelledby': titleId},
                h('h2', {id: titleId}, title), h('div', {class: 'dialog-body'}, content),
                h('div', {class: 'dialog-buttons'}, close));
  close.addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  close.focus();
  return dlg;
}

// Re-renders the text of every relative <time> under `root` ("5 s ago" grows old otherwise).
export function refreshTimes(root) {
  const now = Date.now();
  for (const el of root.querySelectorAll('time[datetime]')) {
    const text = ago(el.getAttribute('datetime'), now);
    if (el.textContent !== text) el.textContent = text;
  }
}

// The whole number typed in `input`, from min to max; an InputError naming `name` otherwise.
export function intIn(input, name, label, min, max) {
  const text = input.value.trim();
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new InputError(`${label}: type a whole number from ${min} to ${max}.`, name);
  }
  return Number(text);
}

// The number typed in `input`, from min to max; an InputError naming `name` otherwise.
export function numberIn(input, name, label, min, max) {
  const text = input.value.trim();
  const v = Number(text);
  if (text === '' || !Number.isFinite(v) || v < min || v > max) {
    throw new InputError(`${label}: type a number from ${min} to ${max}.`, name);
  }
  return v;
}

// "rack=A, row=3" -> {rack: "A", row: "3"}
export function parseLabels(text, fieldName = 'labels') {
  const out = {};
  for (const part of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InputError(`Labels are written key=value, separated by commas ("${part}" is not).`, fieldName);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

