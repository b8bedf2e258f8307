// A worker's metric charts over a chosen range (a node's load, a rig's hashrate and temperatures):
// the 1 h / 6 h / 24 h toggle (kept in the page's query), one sparkline per metric from
// GET /api/workers/{id}/metrics (raw points for 1 h, averaged buckets beyond), and a note when no
// reading is in the range.
import {h, replace, parseTime} from './dom.js';
import {api} from './api.js';
import {errorText} from './ui.js';
import {sparkline} from './charts.js';

const RANGES = [{key: '1h', label: '1 h', step: null}, {key: '6h', label: '6 h', step: '2m'},
                {key: '24h', label: '24 h', step: '10m'}];

// charts: [{metric, label, format}]. Returns {toggle, box, refresh()}; refresh() rethrows only an
// abort (the view is gone) and shows any other error in the box.
export function metricCharts({workerId, charts, ctx, testid, emptyText}) {
  let range = RANGES.find((r) => r.key === ctx.query.get('range')) || RANGES[0];
  const box = h('div', {class: 'charts', 'data-testid': testid});
  const toggle = h('div', {class: 'segmented', role: 'group', 'aria-label': 'Chart range'});

  async function refresh() {
    const shown = range;
    try {
      const series = await Promise.all(charts.map(async (c) => {
        const p = new URLSearchParams({metric: c.metric, since: shown.key});
        if (shown.step) p.set('step', shown.step);
        const r = await api.get(`/api/workers/${workerId}/metrics?${p}`, {signal: ctx.signal});
        return (r.points || []).map(([t, v]) => ({t: parseTime(t), v}));
      }));
      if (shown !== range) return;
      if (series.every((x) => x.length === 0)) {
        replace(box, h('p', {class: 'muted'}, `No readings in the last ${shown.label}${emptyText ? `: ${emptyText}` : '.'}`));
        return;
      }
      replace(box, charts.map((c, i) => sparkline(series[i], {label: c.label, format: c.format,
                                                              testid: `chart-${c.metric}`, noun: 'readings'})));
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      replace(box, h('p', {class: 'muted'}, errorText(e)));
    }
  }

  for (const r of RANGES) {
    const b = h('button', {type: 'button', class: 'btn btn-small', 'aria-pressed': String(r === range)}, r.label);
    b.addEventListener('click', () => {
      range = r;
      for (const x of toggle.children) x.setAttribute('aria-pressed', String(x === b));
      ctx.setQuery({range: r.key});
      refresh().catch(() => {});
    });
    toggle.append(b);
  }
  return {toggle, box, refresh};
}
