// DOM building and formatting helpers. The page runs under a strict Content-Security-Policy
// (no inline scripts, no inline styles), so every element is built with DOM APIs, styled through
// classes, and every text goes in as text (never as HTML).

const SVG_NS = 'http://www.w3.org/2000/svg';

function applyAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'value' && 'value' in el) {
      el.value = value;
    } else if (key === 'checked' || key === 'disabled' || key === 'selected' || key === 'hidden') {
      el[key] = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function appendChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// h('button', {class: 'x', onclick: fn}, 'text', otherNode, [more]) -> HTMLElement
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  appendChildren(el, children);
  return el;
}

// The same for SVG elements (charts, heat maps).
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyAttrs(el, attrs);
  appendChildren(el, children);
  return el;
}

// el.append() that skips null, undefined and false (conditional children).
export function append(el, ...children) {
  appendChildren(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  appendChildren(el, children);
  return el;
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

// --- formatting (a missing value shows as an en dash, never as 0) ---

export const DASH = '–';

export function num(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return DASH;
  return Number(value).toLocaleString('en-US', {minimumFractionDigits: digits, maximumFractionDigits: digits});
}

export function int(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return DASH;
  return Math.round(Number(value)).toLocaleString('en-US');
}

// TH/s with a larger unit when the number gets long, a smaller one below 1 TH/s (GPU rigs mine
// at MH/s).
export function hashrate(ths) {
  if (ths === null || ths === undefined) return DASH;
  const a = Math.abs(ths);
  if (a >= 1e6) return `${num(ths / 1e6, 2)} EH/s`;
  if (a >= 1e3) return `${num(ths / 1e3, 2)} PH/s`;
  if (a >= 1 || a === 0) return `${num(ths, 1)} TH/s`;
  if (a >= 1e-3) return `${num(ths * 1e3, 1)} GH/s`;
  if (a >= 1e-6) return `${num(ths * 1e6, 1)} MH/s`;
  return `${num(ths * 1e9, 1)} kH/s`;
}

export function power(watts) {
  if (watts === null || watts === undefined) return DASH;
  if (Math.abs(watts) >= 1e6) return `${num(watts / 1e6, 2)} MW`;
  if (Math.abs(watts) >= 1e4) return `${num(watts / 1e3, 1)} kW`;
  return `${int(watts)} W`;
}

export function temp(celsius) {
  return celsius === null || celsius === undefined ? DASH : `${num(celsius, 0)} °C`;
}

export function percent(ratio) {
  return ratio === null || ratio === undefined ? DASH : `${num(ratio * 100, 0)} %`;
}

export function parseTime(value) {
  if (value === null || value === undefined || value === '') return null;
  const t = typeof value === 'number' ? value * 1000 : Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t);
}

export function dateTime(value) {
  const d = parseTime(value);
  if (!d) return DASH;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/Z$/, ' UTC');
}

export function seconds(secs) {
  if (secs === null || secs === undefined) return DASH;
  const v = Math.max(0, Math.round(secs));
  if (v < 90) return `${v} s`;
  if (v < 5400) return `${Math.round(v / 60)} min`;
  if (v < 172800) return `${Math.round(v / 3600)} h`;
  return `${Math.round(v / 86400)} d`;
}

export function ago(value, now = Date.now()) {
  const d = parseTime(value);
  if (!d) return DASH;
  const secs = (now - d.getTime()) / 1000;
  if (secs < -5) return `in ${seconds(-secs)}`;
  if (secs < 5) return 'just now';
  return `${seconds(secs)} ago`;
}

// A <time> element: relative text, absolute time as its tooltip.
export function timeEl(value) {
  const d = parseTime(value);
  if (!d) return h('span', {class: 'muted'}, DASH);
  return h('time', {datetime: d.toISOString(), title: dateTime(value)}, ago(value));
}

export function badge(text, kind) {
  return h('span', {class: ['badge', kind ? `badge-${kind}` : '']}, text);
}

// Status words to a badge colour.
export function stateKind(state) {
  switch (state) {
    case 'online': case 'running': case 'mining': case 'succeeded': case 'resolved': return 'ok';
    case 'offline': case 'failed': case 'failure': case 'firing': case 'critical': return 'bad';
    case 'unhealthy': case 'stale': case 'pending': case 'unreachable': case 'warning':
    case 'expired': case 'skipped': case 'draining': return 'warn';
    case 'queued': case 'claimed': case 'sent': case 'starting': case 'initializing': case 'restarting':
    case 'info': return 'info';
    default: return 'neutral';
  }
}

export function stateBadge(state) {
  return badge(state ?? DASH, stateKind(state));
}

export function hashQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

// A rule duration as the API gives it ("5m", or seconds as a number).
export function durationText(v) {
  if (v === null || v === undefined || v === '') return '';
  return typeof v === 'number' ? `${v}s` : String(v);
}

