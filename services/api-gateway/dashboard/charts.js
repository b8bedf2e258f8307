// Small inline-SVG charts (no library): sparklines of a miner's recent statuses and the chip heat
// map. Built with DOM APIs and classes only (the Content-Security-Policy forbids inline styles).
import {h, s, DASH} from './dom.js';

// points: [{t: Date, v: number|null}] in time order. A gap (null) breaks the line. `noun` names
// the points in the chart's accessible summary.
export function sparkline(points, {label, format, width = 240, height = 56, testid, noun = 'statuses'} = {}) {
  const values = points.map((p) => p.v).filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  const latest = [...points].reverse().find((p) => p.v !== null && p.v !== undefined);
  const fmt = format || ((v) => String(v));
  const svg = s('svg', {class: 'spark', viewBox: `0 0 ${width} ${height}`, width, height,
                        preserveAspectRatio: 'none', 'aria-hidden': 'true'});
  let summary = `${label}: no data`;
  if (values.length > 0) {
    const min = Math.min(...values);
    const max = Math.max(...values);
    const span = max - min || Math.abs(max) * 0.05 || 1;
    const lo = min - span * 0.1;
    const hi = max + span * 0.1;
    const t0 = points[0].t.getTime();
    const t1 = points[points.length - 1].t.getTime();
    const x = (t) => (t1 === t0 ? width / 2 : ((t.getTime() - t0) / (t1 - t0)) * (width - 4) + 2);
    const y = (v) => height - 3 - ((v - lo) / (hi - lo)) * (height - 6);
    let d = '';
    let pen = false;
    for (const p of points) {
      if (p.v === null || p.v === undefined || !Number.isFinite(p.v)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)} `;
      pen = true;
    }
    svg.append(s('path', {class: 'spark-line', d: d.trim()}));
    if (latest) svg.append(s('circle', {class: 'spark-dot', cx: x(latest.t).toFixed(1), cy: y(latest.v).toFixed(1), r: 2.5}));
    summary = `${label}: latest ${fmt(latest?.v)}, min ${fmt(min)}, max ${fmt(max)} over ${values.length} ${noun}`;
  }
  return h('figure', {class: 'spark-figure', role: 'img', 'aria-label': summary, 'data-testid': testid},
           h('figcaption', {}, h('span', {class: 'spark-label'}, label),
             h('span', {class: 'spark-value'}, latest ? fmt(latest.v) : DASH)),
           svg);
}

const GRADE_TEXT = {grey: 'normal', orange: 'orange (degraded)', red: 'red (failing)'};

// Temperature classes for the "temperature" colouring (°C).
function tempClass(t) {
  if (t === null || t === undefined) return 'heat-none';
  if (t < 60) return 'heat-1';
  if (t < 70) return 'heat-2';
  if (t < 80) return 'heat-3';
  if (t < 90) return 'heat-4';
  return 'heat-5';
}

function chipTitle(chainId, c) {
  const parts = [`chain ${chainId} chip ${c.id}`, `grade ${GRADE_TEXT[c.grade] ?? c.grade}`];
  if (c.temp !== null && c.temp !== undefined) parts.push(`${c.temp} °C`);
  if (c.hr !== null && c.hr !== undefined) parts.push(`${c.hr} GH/s`);
  if (c.freq !== null && c.freq !== undefined) parts.push(`${c.freq} MHz`);
  if (c.volt !== null && c.volt !== undefined) parts.push(`${c.volt} mV`);
  if (c.errs) parts.push(`${c.errs} errors`);
  if (c.throttled) parts.push('throttled');
  return parts.join(', ');
}

// chains: [{chain_id, state, chips: [{id, grade, temp, ...}]}]; mode 'grade' or 'temp'.
export function chipHeatMap(chains, mode = 'grade') {
  const cell = 12;
  const gap = 2;
  const columns = 42;
  const labelWidth = 64;
  const blocks = [];
  let y = 0;
  for (const chain of chains) {
    const chips = chain.chips || [];
    const rows = Math.max(1, Math.ceil(chips.length / columns));
    const counts = {grey: 0, orange: 0, red: 0};
    for (const c of chips) counts[c.grade] = (counts[c.grade] || 0) + 1;
    const g = s('g', {class: 'heat-chain', transform: `translate(0 ${y})`});
    g.append(s('text', {class: 'heat-label', x: 0, y: cell - 2}, `chain ${chain.chain_id}`));
    g.append(s('text', {class: 'heat-sublabel', x: 0, y: cell * 2}, chips.length ? `${chips.length} chips` : (chain.state || 'no chips')));
    chips.forEach((c, i) => {
      const cls = mode === 'temp' ? tempClass(c.temp) : `grade-${c.grade || 'none'}`;
      const rect = s('rect', {class: ['heat-cell', cls, c.throttled ? 'throttled' : ''],
                              x: labelWidth + (i % columns) * (cell + gap), y: Math.floor(i / columns) * (cell + gap),
                              width: cell, height: cell, rx: 2});
      rect.append(s('title', {}, chipTitle(chain.chain_id, c)));
      g.append(rect);
    });
    blocks.push({g, counts, chain});
    y += rows * (cell + gap) + 10;
  }
  const width = labelWidth + columns * (cell + gap);
  const svg = s('svg', {class: 'heatmap', viewBox: `0 0 ${width} ${Math.max(y, cell)}`, width: '100%',
                        role: 'img', 'aria-label': heatSummary(blocks), 'data-testid': 'chip-heatmap'});
  for (const b of blocks) svg.append(b.g);
  return svg;
}

function heatSummary(blocks) {
  if (blocks.length === 0) return 'No chip telemetry';
  return 'Chip grades: ' + blocks.map(({chain, counts}) =>
    `chain ${chain.chain_id}: ${counts.red || 0} red, ${counts.orange || 0} orange, ${counts.grey || 0} normal`).join('; ');
}

export function heatLegend(mode) {
  const items = mode === 'temp'
    ? [['heat-1', '< 60 °C'], ['heat-2', '60–70'], ['heat-3', '70–80'], ['heat-4', '80–90'], ['heat-5', '≥ 90 °C']]
    : [['grade-grey', 'normal'], ['grade-orange', 'orange'], ['grade-red', 'red']];
  return h('ul', {class: 'legend', 'aria-label': 'Legend'},
           items.map(([cls, text]) => h('li', {}, s('svg', {width: 12, height: 12, 'aria-hidden': 'true'},
                                                   s('rect', {class: ['heat-cell', cls], width: 12, height: 12, rx: 2})),
                                        ` ${text}`)));
}
