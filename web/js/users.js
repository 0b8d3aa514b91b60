// The admin's users page: change roles, deactivate and reactivate accounts.

import { api, session } from './api.js';
import { h, render, toast, announce } from './dom.js';

const ROLES = ['viewer', 'agent', 'pm', 'admin'];

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
  render(main, h('h1', {}, 'Users'), h('table', { class: 'users' },
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
