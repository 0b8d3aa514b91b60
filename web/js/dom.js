// Small DOM helpers: elements are built with h(), never from HTML strings, so text from the API
// can never become markup.

/** Create an element: h('button', {class: 'x', onclick: fn}, 'Text', child). */
export function h(tag, attrs = {}, ...children) {
  const svg = ['svg', 'rect', 'path', 'line', 'text', 'g', 'polyline', 'title'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && !svg) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace the children of el. */
export function render(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Read a screen-reader announcement into the polite live region. */
export function announce(text) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A new text node on the next frame makes repeated messages be read again.
  requestAnimationFrame(() => { region.textContent = text; });
}

let toastTimer;
/** Show an error (or notice) in plain words for a few seconds. */
export function toast(text, kind = 'error') {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

/** "3d 4h", "2h 5m", "4m", "20s" for a duration in milliseconds. */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${m}m`;
  if (m) return `${m}m`;
  return `${s}s`;
}

/** A local date-time for an RFC 3339 timestamp. */
export function when(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toLocaleString();
}

/** A modal dialog with a heading; returns {dialog, body, close}. Closed dialogs remove themselves. */
export function modal(title, { onClose, wide } = {}) {
  const headingId = `dlg-${Math.random().toString(36).slice(2)}`;
  const body = h('div', { class: 'dialog-body' });
  const dialog = h('dialog', { class: wide ? 'panel wide' : 'panel', 'aria-labelledby': headingId },
    h('div', { class: 'dialog-head' },
      h('h2', { id: headingId }, title),
      h('button', { type: 'button', class: 'icon', 'aria-label': 'Close', onclick: () => dialog.close() }, '×')),
    body);
  dialog.addEventListener('close', () => { dialog.remove(); onClose?.(); });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, body, close: () => dialog.close() };
}
