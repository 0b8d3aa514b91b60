// The admin's users page: create an account with a role, change roles, deactivate and reactivate
// accounts.

import { api, session } from './api.js';
import { h, render, toast, announce } from './dom.js';

const ROLES = ['viewer', 'agent', 'pm', 'admin'];

function field(label, input) {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

/** The form that creates an account (POST /api/auth/users); `done` redraws the page. */
function createForm(done) {
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  return h('form', { class: 'inline-form', 'aria-labelledby': 'new-user-h', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = { username: f.get('username'), email: f.get('email'), password: f.get('password'), role: f.get('role') };
    try {
      const u = await api('POST', '/api/auth/users', { body });
      announce(`${u.username} created as ${u.role}`);
      done();
    } catch (e) { err.textContent = e.message; err.hidden = false; }
  } },
  h('h2', { id: 'new-user-h', class: 'full' }, 'Create a user'),
  field('Username', h('input', { name: 'username', autocomplete: 'off', required: true, minlength: 3, maxlength: 50 })),
  field('Email', h('input', { name: 'email', type: 'email', autocomplete: 'off', required: true })),
  field('Password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true,
    minlength: 8, 'aria-describedby': 'new-user-pw' })),
  field('Role', h('select', { name: 'role' }, ROLES.map((r) => h('option', { value: r, selected: r === 'agent' }, r)))),
  h('button', { type: 'submit', class: 'primary' }, 'Create user'),
  h('p', { id: 'new-user-pw', class: 'hint full' }, '8 or more characters with an uppercase letter, a lowercase letter and a digit.'),
  err);
}

export async function showUsers(main) {
  document.title = 'Users · Agent Kanban';
  const users = await api('GET', '/api/auth/users');
  const update = async (u, body) => {
    try {
      await api('PUT', `/api/auth/users/${u.id}`, { body });
      announce(`${u.username} updated`);
    } catch (e) { toast(e.message); }
    showUsers(main);
  };
  render(main, h('h1', {}, 'Users'), createForm(() => showUsers(main)), h('table', { class: 'users' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'User'), h('th', { scope: 'col' }, 'Email'),
      h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Actions'))),
    h('tbody', {}, users.map((u) => h('tr', {},
      h('th', { scope: 'row' }, u.username, u.id === session.user?.id ? ' (you)' : ''),
      h('td', {}, u.email),
      h('td', {}, h('select', { 'aria-label': `Role of ${u.username}`, onchange: (ev) => update(u, { role: ev.target.value }) },
        ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)))),
      h('td', {}, u.is_active ? 'active' : 'deactivated'),
      h('td', {}, h('button', { type: 'button', class: u.is_active ? 'danger' : '',
        onclick: () => update(u, { is_active: !u.is_active }) }, u.is_active ? 'Deactivate' : 'Reactivate')))))));
}
