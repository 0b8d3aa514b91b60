// The board view: columns in board order, cards (id, title, priority, assignee, time in column),
// pointer drag-and-drop and keyboard moves, add-a-card, the filter box, the column editor, and
// every realtime event applied to the view.

import { api, can } from './api.js';
import { h, render, toast, announce, duration, modal } from './dom.js';
import { Live } from './live.js';
import { openTicket, panelEvent, closePanel } from './ticket.js';
import { showFlow } from './flow.js';

let view = null;

/** While the socket is not live the board asks for its tickets this often instead. */
const POLL_MS = 5000;

const CONN_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Live updates unavailable',
  offline: 'Offline' };

/** The header badge: hidden on screens without a live connection ('idle'), else the state in words. */
function setConn(state) {
  const el = document.getElementById('conn');
  if (!el) return;
  el.dataset.state = state;
  el.hidden = state === 'idle';
  el.textContent = CONN_TEXT[state] ?? '';
}

/** Stop the board's socket and timers when another screen is shown. */
export function leaveBoard() {
  if (!view) return;
  view.live.stop();
  clearInterval(view.tick);
  clearInterval(view.poll);
  closePanel();
  view = null;
  setConn('idle');
}

/**
 * Show a board: its tickets come over REST first, so the board works without a WebSocket; the
 * socket then makes it live, and while it is not live the board polls.
 */
export async function showBoard(main, boardId) {
  const [board, list] = await Promise.all([
    api('GET', `/api/boards/${boardId}`), api('GET', `/api/boards/${boardId}/tickets`)]);
  view = { main, board, tickets: new Map(list.tickets.map((t) => [t.id, t])), filter: '', grab: null, adding: null,
    flowOpen: false, conn: 'connecting' };
  document.title = `${board.name} · Agent Kanban`;
  draw();
  const v = view;
  v.live = new Live(boardId, {
    onEvent: (msg) => { if (view === v) applyEvent(msg); },
    onResync: () => { if (view === v) reload(); },
    onState: (state) => { if (view === v) connectionChanged(state); },
  }).start();
  v.tick = setInterval(() => { if (view === v) draw(); }, 30000);
}

/** Follow the socket's state: the badge, the notice, and polling whenever it is not live. */
function connectionChanged(state) {
  const v = view;
  v.conn = state;
  setConn(state);
  if (state === 'live') {
    clearInterval(v.poll);
    v.poll = null;
  } else if (!v.poll) {
    v.poll = setInterval(() => { if (view === v && v.conn !== 'live') reload(); }, POLL_MS);
  }
  drawNotice();
}

/** The visible note while changes by others arrive by polling only. */
function drawNotice() {
  const v = view;
  if (!v?.noticeEl) return;
  const down = v.conn === 'reconnecting' || v.conn === 'offline';
  v.noticeEl.hidden = !down;
  v.noticeEl.textContent = down
    ? `Live updates unavailable: the board checks for changes every ${POLL_MS / 1000} seconds.` : '';
}

async function reload() {
  const v = view;
  try {
    const [board, list] = await Promise.all([
      api('GET', `/api/boards/${v.board.id}`), api('GET', `/api/boards/${v.board.id}/tickets`)]);
    if (view !== v) return;
    const columnsChanged = JSON.stringify(board.columns) !== JSON.stringify(v.board.columns) || board.name !== v.board.name;
    v.board = board;
    v.tickets = new Map(list.tickets.map((t) => [t.id, t]));
    if (columnsChanged) draw(); else drawColumns();
  } catch (e) {
    if (e.status === 404) { toast('This board no longer exists.'); location.hash = '#/'; } else if (v.conn === 'live') toast(e.message);
  }
}

/** Merge a (partial) ticket into the view unless the view already holds a newer version. */
function upsert(data) {
  const old = view.tickets.get(data.id);
  if (old && typeof data.version === 'number' && old.version > data.version) return old;
  const merged = { ...(old ?? {}), ...data };
  if (!old && !merged.board_id) merged.board_id = view.board.id;
  view.tickets.set(data.id, merged);
  return merged;
}

function label(id) {
  const t = view.tickets.get(id);
  return t ? `#${id} ${t.title}` : `#${id}`;
}

function applyEvent(msg) {
  const d = msg.data ?? {};
  switch (msg.event) {
    case 'ticket_created': upsert(d); announce(`New card ${label(d.id)} in ${d.current_column}`); break;
    case 'ticket_updated': upsert(d); announce(`${label(d.id)} updated`); break;
    case 'ticket_moved':
      upsert({ ...d, column_entered_at: d.moved_at });
      announce(`${label(d.id)} moved to ${d.to_column}${d.moved_by ? ` by ${d.moved_by}` : ''}`);
      break;
    case 'ticket_claimed': upsert(d); announce(`${label(d.id)} claimed by ${d.assignee}`); break;
    case 'ticket_deleted': announce(`${label(d.id)} deleted`); view.tickets.delete(d.id); break;
    case 'bulk_update':
      for (const u of d.updates ?? []) for (const t of u.tickets ?? []) upsert(t);
      announce(`${d.count ?? 'Several'} bulk change(s) applied`);
      break;
    case 'board_updated':
      Object.assign(view.board, d);
      document.title = `${view.board.name} · Agent Kanban`;
      break;
    case 'columns_updated':
      view.board.columns = d.columns;
      // The board's version changed too; fetch it so the next column edit sends the right If-Match.
      api('GET', `/api/boards/${view.board.id}`).then((b) => { if (view) { view.board = b; draw(); } }).catch(() => {});
      announce('Columns changed');
      break;
    case 'board_deleted':
      toast('This board was deleted.', 'notice');
      location.hash = '#/';
      return;
    default: break;
  }
  panelEvent(msg, view.tickets);
  if (msg.event === 'board_updated' || msg.event === 'columns_updated') draw(); else drawColumns();
}

function matches(t) {
  const f = view.filter.trim().toLowerCase();
  if (!f) return true;
  return [t.title, t.assignee ?? '', t.priority ?? '', `#${t.id}`].some((s) => s.toLowerCase().includes(f));
}

function draw() {
  const v = view;
  const focused = document.activeElement?.closest?.('[data-ticket]')?.dataset.ticket;
  const search = h('input', { type: 'search', id: 'filter', value: v.filter, placeholder: 'Title, assignee, priority',
    oninput: (ev) => { v.filter = ev.target.value; drawColumns(); } });
  v.columnsEl = h('div', { class: 'columns' });
  v.flowEl = h('div', { class: 'flow', id: 'flow-panel', hidden: !v.flowOpen });
  const head = h('div', { class: 'board-head' },
    h('h1', {}, v.board.name),
    h('label', { class: 'filter' }, h('span', {}, 'Filter cards'), search),
    h('button', { type: 'button', 'aria-expanded': String(v.flowOpen), 'aria-controls': 'flow-panel',
      onclick: () => { v.flowOpen = !v.flowOpen; draw(); } }, v.flowOpen ? 'Hide flow' : 'Flow'),
    can('pm') ? h('button', { type: 'button', onclick: editColumns }, 'Edit columns') : null);
  const hadFilterFocus = document.activeElement?.id === 'filter';
  const hadHeadingFocus = document.activeElement?.tagName === 'H1';
  v.noticeEl = h('p', { class: 'notice', role: 'status', hidden: true });
  render(v.main, head, v.noticeEl,
    h('p', { id: 'kbd-help', class: 'hint' }, can('agent')
      ? 'Drag a card, or focus it and press Space to pick it up, Left or Right to choose a column, Space or Enter to drop, Escape to cancel. Enter opens a card.'
      : 'You can read this board; your role cannot change it.'),
    v.flowEl, v.columnsEl);
  if (v.flowOpen) showFlow(v.flowEl, v.board.id);
  drawNotice();
  drawColumns();
  if (hadHeadingFocus) { const h1 = head.querySelector('h1'); h1.tabIndex = -1; h1.focus({ preventScroll: true }); }
  if (hadFilterFocus) { search.focus(); search.setSelectionRange(search.value.length, search.value.length); }
  if (focused) document.querySelector(`[data-ticket="${focused}"]`)?.focus();
}

function drawColumns() {
  const v = view;
  // Re-rendering replaces the elements: keep the focused card or input focused (and its caret).
  const active = document.activeElement;
  const focusedCard = active?.closest?.('[data-ticket]')?.dataset.ticket;
  const focusedId = v.columnsEl.contains(active) && active.id ? active.id : null;
  renderColumns();
  if (focusedId) {
    const el = document.getElementById(focusedId);
    el?.focus();
    if (el && typeof el.value === 'string') el.setSelectionRange?.(el.value.length, el.value.length);
  } else if (focusedCard) {
    document.querySelector(`[data-ticket="${focusedCard}"]`)?.focus();
  }
}

function renderColumns() {
  const v = view;
  const byColumn = new Map(v.board.columns.map((c) => [c, []]));
  for (const t of v.tickets.values()) {
    const list = byColumn.get(t.current_column) ?? byColumn.get(v.board.columns.find(
      (c) => c.toLowerCase() === String(t.current_column).toLowerCase()));
    if (list && matches(t)) list.push(t);
  }
  render(v.columnsEl, v.board.columns.map((col, i) => {
    const cards = (byColumn.get(col) ?? []).sort((a, b) => a.id - b.id);
    const headingId = `col-${i}`;
    const section = h('section', { class: 'column', 'aria-labelledby': headingId, dataset: { column: col },
      ondragover: (ev) => { if (can('agent')) { ev.preventDefault(); section.classList.add('drop'); } },
      ondragleave: () => section.classList.remove('drop'),
      ondrop: (ev) => {
        ev.preventDefault();
        section.classList.remove('drop');
        const id = Number(ev.dataTransfer.getData('text/plain'));
        if (id) moveTicket(id, col);
      } },
    h('h2', { id: headingId }, col, ' ', h('span', { class: 'count', 'aria-label': `${cards.length} cards` }, String(cards.length))),
    h('ol', { class: 'cards', 'aria-labelledby': headingId }, cards.map(card)),
    can('agent') ? addCard(col) : null);
    if (v.grab && v.grab.target === i) section.classList.add('drop');
    return section;
  }));
}

function card(t) {
  const mine = can('agent');
  const grabbed = view.grab?.id === t.id;
  return h('li', { class: grabbed ? 'card grabbed' : 'card', tabindex: 0, draggable: mine ? 'true' : undefined,
    dataset: { ticket: String(t.id) }, 'aria-describedby': 'kbd-help',
    'aria-label': `#${t.id} ${t.title}, priority ${t.priority}${t.assignee ? `, assigned to ${t.assignee}` : ''}, in ${t.current_column}`,
    ondragstart: (ev) => { ev.dataTransfer.setData('text/plain', String(t.id)); ev.dataTransfer.effectAllowed = 'move'; },
    onkeydown: (ev) => cardKey(ev, t),
    ondblclick: () => openTicket(t.id, ctx()) },
  h('div', { class: 'card-top' }, h('span', { class: 'tid' }, `#${t.id}`),
    h('span', { class: 'prio', title: 'Priority' }, `P${t.priority}`)),
  h('button', { type: 'button', class: 'card-title', tabindex: -1, onclick: () => openTicket(t.id, ctx()) }, t.title),
  h('div', { class: 'card-meta' },
    h('span', { class: 'assignee' }, t.assignee ? `@${t.assignee}` : 'unassigned'),
    h('span', { class: 'age', title: 'Time in column' }, t.column_entered_at ? duration(Date.now() - Date.parse(t.column_entered_at)) : '')));
}

function cardKey(ev, t) {
  if (ev.target !== ev.currentTarget) return;
  const v = view;
  const cols = v.board.columns;
  if (!v.grab) {
    if (ev.key === 'Enter') { ev.preventDefault(); openTicket(t.id, ctx()); }
    if (ev.key === ' ' && can('agent')) {
      ev.preventDefault();
      v.grab = { id: t.id, target: Math.max(0, cols.indexOf(t.current_column)) };
      announce(`Picked up #${t.id}. Column ${cols[v.grab.target]}. Left or Right to choose, Space or Enter to drop.`);
      drawColumns();
      document.querySelector(`[data-ticket="${t.id}"]`)?.focus();
    }
    return;
  }
  if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
    ev.preventDefault();
    v.grab.target = Math.min(cols.length - 1, Math.max(0, v.grab.target + (ev.key === 'ArrowRight' ? 1 : -1)));
    announce(cols[v.grab.target]);
    drawColumns();
    document.querySelector(`[data-ticket="${t.id}"]`)?.focus();
  } else if (ev.key === 'Enter' || ev.key === ' ') {
    ev.preventDefault();
    const target = cols[v.grab.target];
    v.grab = null;
    moveTicket(t.id, target).then(() => document.querySelector(`[data-ticket="${t.id}"]`)?.focus());
  } else if (ev.key === 'Escape') {
    ev.preventDefault();
    v.grab = null;
    announce('Move cancelled');
    drawColumns();
    document.querySelector(`[data-ticket="${t.id}"]`)?.focus();
  }
}

async function moveTicket(id, column) {
  const t = view?.tickets.get(id);
  if (!t || t.current_column === column) { if (view) drawColumns(); return; }
  const v = view;
  try {
    const moved = await api('POST', `/api/tickets/${id}/move`, { body: { column }, ifMatch: t.version, idempotent: true });
    if (view !== v) return;
    upsert(moved);
    announce(`#${id} moved to ${moved.current_column}`);
  } catch (e) {
    toast(e.code === 'PRECONDITION_FAILED' ? `#${id} was changed by someone else; the board shows the latest state.` : e.message);
    if (e.code === 'PRECONDITION_FAILED') await reload();
  }
  if (view === v) drawColumns();
}

function addCard(col) {
  const v = view;
  if (v.adding !== col) {
    return h('button', { type: 'button', class: 'add', onclick: () => { v.adding = col; drawColumns();
      document.getElementById('new-card-title')?.focus(); } }, `Add a card to ${col}`);
  }
  return h('form', { class: 'add-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const title = new FormData(ev.target).get('title');
    try {
      const t = await api('POST', '/api/tickets/', { body: { board_id: v.board.id, title, current_column: col }, idempotent: true });
      if (view !== v) return;
      upsert(t);
      v.adding = null;
      v.addingText = '';
      announce(`Card #${t.id} added to ${col}`);
      drawColumns();
    } catch (e) { toast(e.message); }
  } },
  h('label', { for: 'new-card-title', class: 'sr-only' }, `New card title in ${col}`),
  h('input', { id: 'new-card-title', name: 'title', required: true, maxlength: 200, placeholder: 'Card title',
    value: v.addingText ?? '', oninput: (ev) => { v.addingText = ev.target.value; },
    onkeydown: (ev) => { if (ev.key === 'Escape') { v.adding = null; drawColumns(); } } }),
  h('button', { type: 'submit', class: 'primary' }, 'Add'),
  h('button', { type: 'button', onclick: () => { v.adding = null; drawColumns(); } }, 'Cancel'));
}

function ctx() {
  const v = view;
  return { board: () => v.board, ticket: (id) => v.tickets.get(id), upsert: (t) => { if (view === v) { upsert(t); drawColumns(); } },
    remove: (id) => { if (view === v) { v.tickets.delete(id); drawColumns(); } } };
}

function editColumns() {
  const v = view;
  const rows = v.board.columns.map((c) => ({ orig: c, name: c }));
  const { body, close } = modal('Edit columns');
  const drawEditor = () => {
    const removed = v.board.columns.filter((c) => !rows.some((r) => r.orig === c));
    render(body, h('form', { onsubmit: async (ev) => {
      ev.preventDefault();
      const columns = rows.map((r) => r.name.trim()).filter(Boolean);
      const renames = Object.fromEntries(rows.filter((r) => r.orig && r.name.trim() !== r.orig).map((r) => [r.orig, r.name.trim()]));
      const target = new FormData(ev.target).get('move_to');
      const req = { columns };
      if (Object.keys(renames).length) req.renames = renames;
      if (removed.length && target) req.move_tickets_to = target;
      try {
        await api('PUT', `/api/boards/${v.board.id}/columns`, { body: req, ifMatch: v.board.version });
        close();
        await reload();
        announce('Columns saved');
      } catch (e) { toast(e.message); }
    } },
    h('ol', { class: 'col-editor' }, rows.map((r, i) => h('li', {},
      h('label', { class: 'sr-only', for: `colname-${i}` }, `Column ${i + 1} name`),
      h('input', { id: `colname-${i}`, value: r.name, required: true, maxlength: 50, oninput: (ev) => { r.name = ev.target.value; } }),
      h('button', { type: 'button', disabled: i === 0, 'aria-label': `Move ${r.name} up`,
        onclick: () => { rows.splice(i - 1, 0, rows.splice(i, 1)[0]); drawEditor(); } }, '↑'),
      h('button', { type: 'button', disabled: i === rows.length - 1, 'aria-label': `Move ${r.name} down`,
        onclick: () => { rows.splice(i + 1, 0, rows.splice(i, 1)[0]); drawEditor(); } }, '↓'),
      h('button', { type: 'button', class: 'danger', disabled: rows.length === 1, 'aria-label': `Remove ${r.name}`,
        onclick: () => { rows.splice(i, 1); drawEditor(); } }, 'Remove')))),
    h('div', { class: 'row' },
      h('label', { for: 'new-col' }, 'New column'), h('input', { id: 'new-col', maxlength: 50 }),
      h('button', { type: 'button', onclick: () => {
        const el = document.getElementById('new-col');
        if (el.value.trim()) { rows.push({ orig: null, name: el.value.trim() }); drawEditor(); }
      } }, 'Add column')),
    removed.length ? h('label', { class: 'field' }, h('span', {}, `Move cards of removed columns (${removed.join(', ')}) to`),
      h('select', { name: 'move_to' }, h('option', { value: '' }, '(none: refuse if they hold cards)'),
        rows.map((r) => h('option', { value: r.name }, r.name)))) : null,
    h('button', { type: 'submit', class: 'primary' }, 'Save columns')));
  };
  drawEditor();
}
