// The ticket panel: details, edit (If-Match with the version shown; only the fields the user changed
// are sent, and a 412 shows both changes and re-applies only the user's), claim/release, delete,
// comments (add, edit, delete) and history; deleting the ticket or a comment asks first. Live
// events for the open ticket update it in place.

import { api, can, actorName, session } from './api.js';
import { h, render, toast, announce, when, modal } from './dom.js';

let panel = null;
const FIELDS = [['title', 'Title'], ['priority', 'Priority'], ['assignee', 'Assignee'], ['description', 'Description'],
  ['acceptance_criteria', 'Acceptance criteria']];

export function closePanel() {
  panel?.close();
  panel = null;
}

export async function openTicket(id, ctx) {
  closePanel();
  let ticket;
  try { ticket = await api('GET', `/api/tickets/${id}`); } catch (e) { toast(e.message); return; }
  const m = modal(`#${id}`, { wide: true, onClose: () => { if (panel?.id === id) panel = null; } });
  panel = { id, ctx, ticket, editing: null, conflict: null, comments: [], history: [], editingComment: null,
    body: m.body, close: m.close, dialog: m.dialog };
  ctx.upsert(ticket);
  draw();
  await Promise.all([loadComments(), loadHistory()]);
}

async function loadComments() {
  const p = panel;
  try { p.comments = await api('GET', `/api/comments/ticket/${p.id}`); } catch (e) { toast(e.message); }
  if (panel === p) draw();
}

async function loadHistory() {
  const p = panel;
  try { p.history = await api('GET', `/api/history/tickets/${p.id}/history?limit=50`); } catch (e) { toast(e.message); }
  if (panel === p) draw();
}

/** Apply a board event to the open panel. */
export function panelEvent(msg, tickets) {
  const p = panel;
  if (!p) return;
  const d = msg.data ?? {};
  if (msg.event.startsWith('ticket_') && d.id === p.id) {
    if (msg.event === 'ticket_deleted') { toast(`#${p.id} was deleted.`, 'notice'); closePanel(); return; }
    const t = tickets.get(p.id);
    if (t) p.ticket = { ...p.ticket, ...t };
    loadHistory();
    draw();
  } else if (msg.event.startsWith('comment_') && d.ticket_id === p.id) {
    if (msg.event === 'comment_deleted') p.comments = p.comments.filter((c) => c.id !== d.id);
    else {
      const i = p.comments.findIndex((c) => c.id === d.id);
      if (i >= 0) p.comments[i] = { ...p.comments[i], ...d }; else p.comments.push(d);
    }
    draw();
  }
}

function field(label, input) {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

function draw() {
  const p = panel;
  const t = p.ticket;
  const heading = p.dialog.querySelector('h2');
  if (heading) heading.textContent = `#${t.id} ${t.title}`;
  const focusId = document.activeElement?.id;
  // Stable slots: the edit form is built once per edit, so redrawing comments or history (or a
  // live event) never replaces the field the user is typing in.
  p.slots ??= { conflict: h('div'), main: h('div'), comments: h('div'), history: h('div') };
  if (p.body.childElementCount !== 4) render(p.body, Object.values(p.slots));
  render(p.slots.conflict, p.conflict ? conflictBox() : null);
  if (!p.editing) render(p.slots.main, details());
  else if (!p.slots.main.querySelector('form.edit')) render(p.slots.main, editForm());
  render(p.slots.comments, commentsSection());
  render(p.slots.history, historySection());
  if (focusId && document.activeElement?.id !== focusId) document.getElementById(focusId)?.focus();
}

function details() {
  const p = panel;
  const t = p.ticket;
  const me = session.user?.username ?? actorName();
  const canRelease = t.assignee && (can('pm') || t.assignee === me);
  return h('section', { class: 'details', 'aria-label': 'Ticket details' },
    h('dl', { class: 'facts' },
      h('dt', {}, 'Column'), h('dd', {}, t.current_column),
      h('dt', {}, 'Priority'), h('dd', {}, t.priority),
      h('dt', {}, 'Assignee'), h('dd', {}, t.assignee ?? 'unassigned'),
      h('dt', {}, 'Version'), h('dd', {}, String(t.version)),
      h('dt', {}, 'Updated'), h('dd', {}, when(t.updated_at))),
    h('h3', {}, 'Description'), h('p', { class: 'prose' }, t.description ?? '—'),
    h('h3', {}, 'Acceptance criteria'), h('p', { class: 'prose' }, t.acceptance_criteria ?? '—'),
    h('div', { class: 'actions' },
      can('agent') ? h('button', { type: 'button', class: 'primary', 'aria-label': 'Edit ticket', onclick: () => {
        p.editing = { base: { ...t }, values: Object.fromEntries(FIELDS.map(([k]) => [k, t[k] ?? ''])) };
        draw();
        document.getElementById('edit-title')?.focus();
      } }, 'Edit') : null,
      can('agent') && !t.assignee ? h('button', { type: 'button', onclick: () => claim('claim') }, 'Claim') : null,
      can('agent') && canRelease ? h('button', { type: 'button', onclick: () => claim('release') }, 'Release') : null,
      can('pm') ? h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete ticket') : null));
}

function editForm() {
  const p = panel;
  const e = p.editing;
  const input = (k) => {
    const multi = k === 'description' || k === 'acceptance_criteria';
    return h(multi ? 'textarea' : 'input', { id: `edit-${k}`, name: k, value: e.values[k], rows: multi ? 4 : undefined,
      required: k === 'title' || k === 'priority', oninput: (ev) => { e.values[k] = ev.target.value; } });
  };
  return h('form', { class: 'edit', 'aria-label': 'Edit ticket', onsubmit: (ev) => { ev.preventDefault(); save(e.base.version, myChanges(e)); } },
    FIELDS.map(([k, label]) => field(label, input(k))),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Save'),
      h('button', { type: 'button', onclick: () => { p.editing = null; p.conflict = null; draw(); } }, 'Cancel')));
}

/** A field's value as the form holds it: absent and null are the empty text. */
function norm(v) {
  return v === null || v === undefined ? '' : String(v);
}

/** The request value of a form field: an emptied optional field is null. */
function requestValue(k, v) {
  return (k === 'assignee' || k === 'description' || k === 'acceptance_criteria') && !String(v).trim() ? null : v;
}

/** The fields this user changed since the form opened, as a request body (nothing else is sent). */
function myChanges(e) {
  const body = {};
  for (const [k] of FIELDS) {
    if (norm(e.values[k]) !== norm(e.base[k])) body[k] = requestValue(k, e.values[k]);
  }
  return body;
}

/** Send `body` (this user's changes only) against `version`; a 412 opens the conflict box. */
async function save(version, body) {
  const p = panel;
  try {
    const t = Object.keys(body).length ? await api('PUT', `/api/tickets/${p.id}`, { body, ifMatch: version })
      : p.conflict ?? p.ticket;
    p.ticket = t;
    p.editing = null;
    p.conflict = null;
    p.ctx.upsert(t);
    announce(`#${t.id} saved`);
    loadHistory();
  } catch (err) {
    if (err.code !== 'PRECONDITION_FAILED') { toast(err.message); return; }
    try { p.conflict = await api('GET', `/api/tickets/${p.id}`); } catch (e2) { toast(e2.message); return; }
    announce('Conflict: someone else changed this ticket');
  }
  if (panel === p) draw();
}

/**
 * The fields of a conflict: who changed each. A field both changed to different values is asked
 * about; re-applying sends only this user's fields (minus those where they keep the other value),
 * so the other user's change to any other field stays.
 */
function conflictRows(e, theirs) {
  return FIELDS.map(([k, label]) => {
    const mine = norm(e.values[k]) !== norm(e.base[k]);
    const other = norm(theirs[k]) !== norm(e.base[k]);
    const both = mine && other && norm(theirs[k]) !== norm(e.values[k]);
    return { k, label, mine, other, both };
  }).filter((r) => r.mine || r.other);
}

function conflictBox() {
  const p = panel;
  const theirs = p.conflict;
  const e = p.editing;
  const rows = conflictRows(e, theirs);
  const reapply = (ev) => {
    ev.preventDefault();
    const choice = new FormData(ev.target);
    const body = myChanges(e);
    for (const r of rows) if (r.both && choice.get(`pick-${r.k}`) === 'theirs') delete body[r.k];
    e.base = { ...theirs };
    for (const [k] of FIELDS) if (!(k in body)) e.values[k] = norm(theirs[k]);
    p.slots.main.replaceChildren(); // the form is rebuilt with the merged values
    save(theirs.version, body);
  };
  return h('form', { class: 'conflict', role: 'alert', 'aria-labelledby': 'conflict-h', onsubmit: reapply },
    h('h3', { id: 'conflict-h' }, 'Someone else changed this ticket while you were editing'),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Field'), h('th', {}, 'Their version'), h('th', {}, 'Yours'),
      h('th', {}, 'On re-apply'))),
    h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row' }, r.label),
      h('td', {}, norm(theirs[r.k]) || '—'), h('td', {}, r.mine ? norm(e.values[r.k]) || '—' : '(unchanged)'),
      h('td', {}, r.both ? pick(r) : r.mine ? 'yours' : 'theirs stays'))))),
    rows.some((r) => r.both) ? h('p', { class: 'hint' }, 'You both changed a field: choose which value to keep.') : null,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Re-apply my changes'),
      h('button', { type: 'button', onclick: () => {
        p.ticket = theirs; p.editing = null; p.conflict = null; p.ctx.upsert(theirs); draw();
      } }, 'Keep theirs')));
}

/** A required choice between the two values of a field both users changed. */
function pick(r) {
  return h('fieldset', { class: 'pick' }, h('legend', { class: 'sr-only' }, `Keep which ${r.label}?`),
    ['mine', 'theirs'].map((who) => h('label', {},
      h('input', { type: 'radio', name: `pick-${r.k}`, value: who, required: true }),
      who === 'mine' ? ' Mine' : ' Theirs')));
}

async function claim(action) {
  const p = panel;
  const body = session.user ? undefined : { agent_id: actorName() };
  try {
    const t = await api('POST', `/api/tickets/${p.id}/${action}`, { body, idempotent: true });
    p.ticket = t;
    p.ctx.upsert(t);
    announce(action === 'claim' ? `#${t.id} claimed` : `#${t.id} released`);
    loadHistory();
  } catch (e) { toast(e.message); }
  if (panel === p) draw();
}

async function remove() {
  const p = panel;
  if (!confirm(`Delete #${p.id} "${p.ticket.title}"?`)) return;
  try {
    await api('DELETE', `/api/tickets/${p.id}`, { ifMatch: p.ticket.version });
    p.ctx.remove(p.id);
    announce(`#${p.id} deleted`);
    closePanel();
  } catch (e) { toast(e.message); }
}

function commentsSection() {
  const p = panel;
  const me = actorName();
  return h('section', { class: 'comments', 'aria-labelledby': 'comments-h' },
    h('h3', { id: 'comments-h' }, `Comments (${p.comments.length})`),
    h('ol', { class: 'comment-list' }, p.comments.map((c) => {
      const mayEdit = can('pm') || (can('agent') && c.author === me);
      if (p.editingComment === c.id) {
        return h('li', {}, h('form', { onsubmit: async (ev) => {
          ev.preventDefault();
          try {
            const text = new FormData(ev.target).get('text');
            const updated = await api('PUT', `/api/comments/${c.id}`, { body: { text } });
            Object.assign(c, updated);
            p.editingComment = null;
            draw();
          } catch (e) { toast(e.message); }
        } }, field('Edit comment', h('textarea', { name: 'text', id: `comment-edit-${c.id}`, value: p.commentDraft ?? c.text,
          required: true, oninput: (ev) => { p.commentDraft = ev.target.value; } })),
        h('button', { type: 'submit', class: 'primary' }, 'Save comment'),
        h('button', { type: 'button', onclick: () => { p.editingComment = null; draw(); } }, 'Cancel')));
      }
      return h('li', { class: 'comment' },
        h('p', { class: 'prose' }, c.text),
        h('p', { class: 'muted' }, `${c.author ?? 'someone'} · ${when(c.created_at)}${c.updated_at ? ' (edited)' : ''}`),
        mayEdit ? h('div', { class: 'actions' },
          h('button', { type: 'button', 'aria-label': 'Edit comment',
            onclick: () => { p.editingComment = c.id; p.commentDraft = null; draw(); } }, 'Edit'),
          h('button', { type: 'button', class: 'danger', 'aria-label': 'Delete comment', onclick: async () => {
            if (!confirm(`Delete the comment by ${c.author ?? 'someone'}?`)) return;
            try {
              await api('DELETE', `/api/comments/${c.id}`);
              p.comments = p.comments.filter((x) => x.id !== c.id);
              draw();
            } catch (e) { toast(e.message); }
          } }, 'Delete')) : null);
    })),
    can('agent') ? h('form', { class: 'add-comment', onsubmit: async (ev) => {
      ev.preventDefault();
      const form = ev.target;
      try {
        const c = await api('POST', '/api/comments/', { body: { ticket_id: p.id, text: new FormData(form).get('text') },
          idempotent: true });
        if (!p.comments.some((x) => x.id === c.id)) p.comments.push(c);
        p.draft = '';
        form.reset();
        announce('Comment added');
        draw();
      } catch (e) { toast(e.message); }
    } }, field('Add a comment', h('textarea', { name: 'text', id: 'new-comment', rows: 3, required: true,
      value: p.draft ?? '', oninput: (ev) => { p.draft = ev.target.value; } })),
    h('button', { type: 'submit', class: 'primary' }, 'Comment')) : null);
}

function historySection() {
  const p = panel;
  return h('section', { class: 'history', 'aria-labelledby': 'history-h' },
    h('h3', { id: 'history-h' }, 'History'),
    p.history.length ? h('ol', { class: 'history-list' }, p.history.map((e) => h('li', {},
      h('span', { class: 'muted' }, when(e.changed_at)), ' ',
      `${e.changed_by ?? 'system'}: ${e.field_name} `, e.old_value === null ? '' : `“${e.old_value}” → `, `“${e.new_value ?? ''}”`)))
      : h('p', { class: 'muted' }, 'No history yet.'));
}
