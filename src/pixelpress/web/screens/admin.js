// Admin: users (role, disable, delete), every image, and the numbers.

import { ApiError, del, get, patch, query } from '../api.js';
import { announce, bytes, confirmDialog, h, when } from '../dom.js';

export async function render(main, ctx) {
  const stats = h('dl', { class: 'stats' });
  const users = h('tbody');
  const images = h('tbody');
  main.append(
    h('h1', {}, 'Admin'),
    h('section', { 'aria-labelledby': 'stats-h' }, h('h2', { id: 'stats-h' }, 'Numbers'), stats),
    h('section', { 'aria-labelledby': 'users-h' }, h('h2', { id: 'users-h' }, 'Users'),
      h('div', { class: 'table' }, h('table', {},
        h('thead', {}, h('tr', {}, ['User', 'Email', 'Role', 'Status', 'Joined', 'Last sign-in', ''].map((t) => h('th', { scope: 'col' }, t)))),
        users))),
    h('section', { 'aria-labelledby': 'all-images-h' }, h('h2', { id: 'all-images-h' }, 'All images'),
      h('div', { class: 'table' }, h('table', {},
        h('thead', {}, h('tr', {}, ['File', 'Format', 'Size (px)', 'Bytes', 'Uploaded', 'Status'].map((t) => h('th', { scope: 'col' }, t)))),
        images))),
  );

  async function loadStats() {
    const s = await get('/admin/stats');
    stats.replaceChildren(...[
      ['Users', s.users], ['Images', s.images], ['Stored', bytes(s.bytesStored)],
      ...Object.entries(s.jobs).map(([state, n]) => [`Jobs ${state}`, n]),
    ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
  }

  async function act(promise, message) {
    try {
      await promise;
      announce(message);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      announce(err.message, 'error');
    }
    await Promise.all([loadUsers(), loadStats()]);
  }

  function userRow(u) {
    const self = u.id === ctx.user.id;
    const role = h('select', { 'aria-label': `Role of ${u.username}`, disabled: self },
      ['user', 'admin'].map((r) => h('option', { value: r, selected: r === u.role }, r)));
    role.addEventListener('change', () => act(patch(`/admin/users/${u.id}`, { role: role.value }), `${u.username} is now ${role.value}.`));
    const toggle = h('button', { type: 'button', disabled: self }, u.disabled ? 'Enable' : 'Disable');
    toggle.setAttribute('aria-label', `${u.disabled ? 'Enable' : 'Disable'} ${u.username}`);
    toggle.addEventListener('click', () => act(patch(`/admin/users/${u.id}`, { disabled: !u.disabled }),
      `${u.username} ${u.disabled ? 'enabled' : 'disabled'}.`));
    const remove = h('button', { type: 'button', class: 'danger', disabled: self, 'aria-label': `Delete ${u.username}` }, 'Delete');
    remove.addEventListener('click', async () => {
      if (await confirmDialog(`Delete ${u.username} with all their images? This cannot be undone.`)) {
        await act(del(`/admin/users/${u.id}`), `${u.username} deleted.`);
        await loadImages();
      }
    });
    return h('tr', { 'data-user': u.username },
      h('td', {}, u.username, self ? ' (you)' : ''), h('td', {}, u.email), h('td', {}, role),
      h('td', {}, u.disabled ? 'disabled' : 'active'), h('td', {}, when(u.created_at)), h('td', {}, when(u.last_login)),
      h('td', { class: 'actions' }, toggle, remove));
  }

  async function loadUsers() {
    const page = await get(`/admin/users${query({ limit: 100 })}`);
    users.replaceChildren(...page.items.map(userRow));
  }

  async function loadImages() {
    const page = await get(`/admin/images${query({ limit: 100 })}`);
    images.replaceChildren(...(page.items.length ? page.items.map((i) => h('tr', {},
      h('td', {}, h('a', { href: `#/images/${i.id}` }, i.filename)), h('td', {}, i.format.toUpperCase()),
      h('td', {}, `${i.width}×${i.height}`), h('td', {}, bytes(i.size)), h('td', {}, when(i.created_at)), h('td', {}, i.status)))
      : [h('tr', {}, h('td', { colspan: 6 }, 'No images.'))]));
  }

  await Promise.all([loadStats(), loadUsers(), loadImages()]);
}
