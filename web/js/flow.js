// The flow panel: WIP per column, cycle- and lead-time percentiles, and two small SVG charts
// (cumulative flow and throughput per day) from GET /api/statistics/boards/{id}/flow.

import { api } from './api.js';
import { h, render, duration } from './dom.js';

const W = 560, H = 180, PAD = 28;

function hours(s) {
  return s === null || s === undefined ? '—' : duration(s * 1000);
}

export async function showFlow(el, boardId) {
  render(el, h('p', { class: 'muted' }, 'Loading flow metrics…'));
  let flow;
  try { flow = await api('GET', `/api/statistics/boards/${boardId}/flow?days=14`); } catch (e) {
    render(el, h('p', { class: 'error' }, e.message));
    return;
  }
  const columns = flow.wip.columns.map((c) => c.column);
  render(el,
    h('h2', {}, `Flow, last ${flow.days} days`),
    h('div', { class: 'flow-grid' },
      h('table', { class: 'wip' }, h('caption', {}, `Work in progress: ${flow.wip.total_in_progress}`),
        h('tbody', {}, flow.wip.columns.map((c) => h('tr', {}, h('th', { scope: 'row' }, c.column), h('td', {}, String(c.count)))))),
      h('table', { class: 'times' }, h('caption', {}, 'Time to finish'),
        h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'n'), h('th', {}, 'p50'), h('th', {}, 'p85'), h('th', {}, 'p95'))),
        h('tbody', {}, [['Cycle time', flow.cycle_time], ['Lead time', flow.lead_time]].map(([name, s]) => h('tr', {},
          h('th', { scope: 'row' }, name), h('td', {}, String(s.count)), h('td', {}, hours(s.p50_seconds)),
          h('td', {}, hours(s.p85_seconds)), h('td', {}, hours(s.p95_seconds))))))),
    h('figure', {}, cfdChart(flow.cfd, columns), h('figcaption', {}, 'Cumulative flow: cards per column at the end of each day'),
      h('ul', { class: 'legend' }, columns.map((c, i) => h('li', {}, h('span', { class: `swatch s${i % 8}` }), c)))),
    h('figure', {}, throughputChart(flow.throughput), h('figcaption', {}, 'Throughput: cards finished per day')));
}

function cfdChart(cfd, columns) {
  const totals = cfd.map((d) => columns.reduce((s, c) => s + (d.columns[c] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const x = (i) => PAD + (cfd.length > 1 ? (i * (W - 2 * PAD)) / (cfd.length - 1) : 0);
  const y = (v) => H - PAD - (v * (H - 2 * PAD)) / max;
  // Stack from the last column (done) at the bottom to the first on top.
  const order = [...columns].reverse();
  const below = cfd.map(() => 0);
  const bands = order.map((c) => {
    const lower = below.slice();
    cfd.forEach((d, i) => { below[i] += d.columns[c] ?? 0; });
    const top = cfd.map((_, i) => `${x(i)},${y(below[i])}`);
    const bottom = cfd.map((_, i) => `${x(i)},${y(lower[i])}`).reverse();
    return h('path', { d: `M${top.join('L')}L${bottom.join('L')}Z`, class: `band s${columns.indexOf(c) % 8}` },
      h('title', {}, c));
  });
  return h('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Cumulative flow diagram', class: 'chart' },
    axes(max), bands);
}

function throughputChart(days) {
  const max = Math.max(1, ...days.map((d) => d.count));
  const bw = (W - 2 * PAD) / Math.max(1, days.length);
  return h('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Throughput per day', class: 'chart' },
    axes(max),
    days.map((d, i) => {
      const bh = (d.count * (H - 2 * PAD)) / max;
      return h('rect', { x: PAD + i * bw + 2, y: H - PAD - bh, width: Math.max(1, bw - 4), height: bh, class: 'bar' },
        h('title', {}, `${d.date}: ${d.count}`));
    }),
    days.length ? [h('text', { x: PAD, y: H - 8, class: 'tick' }, days[0].date),
      h('text', { x: W - PAD, y: H - 8, class: 'tick end' }, days[days.length - 1].date)] : null);
}

function axes(max) {
  return h('g', { class: 'axes' },
    h('line', { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD }),
    h('line', { x1: PAD, y1: PAD, x2: PAD, y2: H - PAD }),
    h('text', { x: PAD - 4, y: PAD + 4, class: 'tick end' }, String(max)),
    h('text', { x: PAD - 4, y: H - PAD, class: 'tick end' }, '0'));
}
