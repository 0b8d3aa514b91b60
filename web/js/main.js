// Entry point: the hash router (#/, #/boards/<id>, #/users, #/signin), the header, the sign-in /
// register screen and the board list. The board view lives in board.js, users in users.js.

import { api, session, loadSession, can, role, signIn, register, signOutEverywhere, anonymousRole,
  useAnonymous, reloadUser } from './api.js';
import { h, render, toast, announce, modal } from './dom.js';
import { showBoard, leaveBoard } from './board.js';
import { showUsers } from './users.js';

const main = document.getElementById('main');
let anonRole = null;

/** Show the screen for `hash` (once: a changed hash routes through hashchange). */
function go(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

function signedIn() {
  return Boolean(session.user || session.anonymous);
}

function renderNav() {
  const nav = document.getElementById('nav');
  if (!signedIn()) { render(nav); return; }
  render(nav,
    h('a', { href: '#/' }, 'Boards'),
    can('admin') && session.user ? h('a', { href: '#/users' }, 'Users') : null,
    h('span', { class: 'who' }, session.user ? `${session.user.username} (${role()})` : `Anonymous (${role()})`),
    h('button', { type: 'button', class: 'link', onclick: async () => {
      await signOutEverywhere();
      go('#/signin');
    } }, session.user ? 'Sign out' : 'Sign in'));
}

async function route() {
  leaveBoard();
  renderNav();
  const hash = location.hash || '#/';
  if (!signedIn() && hash !== '#/signin') { location.hash = '#/signin'; return; }
  const board = hash.match(/^#\/boards\/(\d+)$/);
  try {
    if (hash === '#/signin') await showSignIn();
    else if (board) await showBoard(main, Number(board[1]));
    else if (hash === '#/users') await showUsers(main);
    else await showBoards();
  } catch (err) {
    render(main, h('h1', {}, 'Something went wrong'), h('p', { class: 'error', role: 'alert' }, err.message));
  }
  focusHeading();
}

/**
 * Move focus to the new screen's heading, so a screen reader announces it and Tab continues from
 * there. The heading is focusable by script only (tabindex -1) and draws no focus ring.
 */
function focusHeading() {
  const heading = main.querySelector('h1');
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus({ preventScroll: true });
}

function field(label, input) {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

async function showSignIn() {
  document.title = 'Sign in · Agent Kanban';
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const fail = (e) => { err.textContent = e.message; err.hidden = false; };
  const signin = h('form', { class: 'card-form', 'aria-labelledby': 'signin-h', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try { await signIn(f.get('username'), f.get('password')); go('#/'); } catch (e) { fail(e); }
  } },
  h('h2', { id: 'signin-h' }, 'Sign in'),
  field('Username', h('input', { name: 'username', autocomplete: 'username', required: true })),
  field('Password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
  h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  const reg = h('form', { class: 'card-form', 'aria-labelledby': 'register-h', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      await register(f.get('username'), f.get('email'), f.get('password'));
      go('#/');
    } catch (e) { fail(e); }
  } },
  h('h2', { id: 'register-h' }, 'Create an account'),
  field('Username', h('input', { name: 'username', autocomplete: 'username', required: true, minlength: 3 })),
  field('Email', h('input', { name: 'email', type: 'email', autocomplete: 'email', required: true })),
  field('Password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true,
    minlength: 8, 'aria-describedby': 'pw-hint' })),
  h('p', { id: 'pw-hint', class: 'hint' }, '8 or more characters with an uppercase letter, a lowercase letter and a digit.'),
  h('button', { type: 'submit' }, 'Register'));
  anonRole = await anonymousRole();
  render(main, h('h1', {}, 'Sign in to Agent Kanban'), h('div', { class: 'auth' }, err, signin, reg,
    anonRole ? h('section', { class: 'card-form' }, h('h2', {}, 'No account?'),
      h('p', {}, `This server lets visitors work without an account, as ${anonRole}.`),
      h('button', { type: 'button', onclick: () => { useAnonymous(anonRole); go('#/'); } },
        'Continue without an account')) : null));
}

async function showBoards() {
  document.title = 'Boards · Agent Kanban';
  const boards = await api('GET', '/api/boards/');
  const list = h('ul', { class: 'board-list' }, boards.map((b) => h('li', { class: 'board-tile' },
    h('a', { href: `#/boards/${b.id}`, class: 'board-link' }, h('strong', {}, b.name)),
    h('span', { class: 'count' }, `${b.ticket_count} ${b.ticket_count === 1 ? 'ticket' : 'tickets'}`),
    b.description ? h('p', { class: 'muted' }, b.description) : null,
    can('pm') ? h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => renameBoard(b), 'aria-label': `Rename ${b.name}` }, 'Rename'),
      h('button', { type: 'button', class: 'danger', onclick: () => deleteBoard(b), 'aria-label': `Delete ${b.name}` },
        'Delete')) : null)));
  const create = can('pm') ? h('form', { class: 'inline-form', 'aria-label': 'Create a board', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      const b = await api('POST', '/api/boards/', { body: { name: f.get('name'), description: f.get('description') || null },
        idempotent: true });
      announce(`Board ${b.name} created`);
      location.hash = `#/boards/${b.id}`;
    } catch (e) { toast(e.message); }
  } },
  field('New board name', h('input', { name: 'name', required: true, maxlength: 100 })),
  field('Description', h('input', { name: 'description' })),
  h('button', { type: 'submit', class: 'primary' }, 'Create board')) : null;
  render(main, h('h1', {}, 'Boards'), create, boards.length ? list : h('p', {}, 'No boards yet.'));
}

function renameBoard(b) {
  const { body, close } = modal(`Rename ${b.name}`);
  render(body, h('form', { onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      await api('PUT', `/api/boards/${b.id}`, { body: { name: f.get('name'), description: f.get('description') || null },
        ifMatch: b.version });
      close();
      go('#/');
    } catch (e) { toast(e.message); }
  } },
  field('Name', h('input', { name: 'name', value: b.name, required: true })),
  field('Description', h('input', { name: 'description', value: b.description ?? '' })),
  h('button', { type: 'submit', class: 'primary' }, 'Save')));
}

async function deleteBoard(b) {
  if (!confirm(`Delete board "${b.name}" with its ${b.ticket_count} tickets?`)) return;
  try {
    await api('DELETE', `/api/boards/${b.id}`, { ifMatch: b.version });
    announce(`Board ${b.name} deleted`);
    go('#/');
  } catch (e) { toast(e.message); }
}

window.addEventListener('hashchange', route);
window.addEventListener('kanban:signed-out', () => { location.hash = '#/signin'; });

loadSession();
(async () => {
  if (session.access) {
    try { await reloadUser(); } catch { /* route() sends a signed-out visitor to sign in */ }
  }
  route();
})();
