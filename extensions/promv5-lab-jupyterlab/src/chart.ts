// A small inline SVG line chart of an answer's series (no chart library, no CDN).
import { ISeries } from './api';

const SVG = 'http://www.w3.org/2000/svg';
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const MAX_SERIES = 8;

function el(name: string, attrs: { [k: string]: string | number }): SVGElement {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) {
    node.setAttribute(k, String(v));
  }
  return node;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 1e5)) {
    return v.toExponential(2);
  }
  return String(Math.round(v * 1000) / 1000);
}

function labelOf(s: ISeries): string {
  const parts = Object.entries(s.labels).map(([k, v]) => `${k}=${v}`);
  return parts.join(', ') || 'value';
}

/** An SVG chart plus a legend, or null when there is nothing to draw (an instant answer of one point). */
export function renderChart(series: ISeries[]): HTMLElement | null {
  const shown = series.slice(0, MAX_SERIES).filter(s => s.values.length > 1);
  if (shown.length === 0) {
    return null;
  }
  let t0 = Infinity, t1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of shown) {
    for (const [t, v] of s.values) {
      t0 = Math.min(t0, t);
      t1 = Math.max(t1, t);
      if (v !== null && Number.isFinite(v)) {
        y0 = Math.min(y0, v);
        y1 = Math.max(y1, v);
      }
    }
  }
  if (!Number.isFinite(y0)) {
    return null;
  }
  if (y1 === y0) {
    y1 = y0 + (Math.abs(y0) || 1);
  }
  const W = 300, H = 140, L = 40, R = 6, T = 6, B = 16;
  const x = (t: number) => L + ((t - t0) / Math.max(t1 - t0, 1e-9)) * (W - L - R);
  const y = (v: number) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  const svg = el('svg', { class: 'p5-chart', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none',
    role: 'img' }) as SVGSVGElement;
  svg.appendChild(el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: 'currentColor', 'stroke-opacity': 0.3 }));
  svg.appendChild(el('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: 'currentColor', 'stroke-opacity': 0.3 }));
  const texts: Array<[number, number, string, string]> = [
    [2, T + 8, fmt(y1), 'start'], [2, H - B, fmt(y0), 'start'],
    [L, H - 3, new Date(t0 * 1000).toISOString().slice(11, 16), 'start'],
    [W - R, H - 3, new Date(t1 * 1000).toISOString().slice(11, 16) + ' UTC', 'end']
  ];
  for (const [tx, ty, text, anchor] of texts) {
    const node = el('text', { x: tx, y: ty, 'text-anchor': anchor });
    node.textContent = text;
    svg.appendChild(node);
  }
  shown.forEach((s, i) => {
    // a gap (null) starts a new line segment: missing data is not drawn as a straight line
    let d = '';
    let pen = false;
    for (const [t, v] of s.values) {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
    const path = el('path', { d, fill: 'none', stroke: COLOURS[i % COLOURS.length], 'stroke-width': 1.3,
      'vector-effect': 'non-scaling-stroke', 'data-series': i });
    const title = el('title', {});
    title.textContent = labelOf(s);
    path.appendChild(title);
    svg.appendChild(path);
  });
  const box = document.createElement('div');
  box.appendChild(svg);
  const legend = document.createElement('div');
  legend.className = 'p5-legend';
  shown.forEach((s, i) => {
    const item = document.createElement('span');
    item.style.color = COLOURS[i % COLOURS.length];
    item.textContent = `● ${labelOf(s)}  `;
    legend.appendChild(item);
  });
  if (series.length > shown.length) {
    const more = document.createElement('span');
    more.textContent = `(+${series.length - shown.length} more series)`;
    legend.appendChild(more);
  }
  box.appendChild(legend);
  return box;
}
