// My log entries, filtered by level and time.

import { ApiError, get, query } from '../api.js';
import { clearErrors, field, h, showErrors, when } from '../dom.js';

const LEVELS = ['', 'debug', 'info', 'warning', 'error', 'critical'];
const PAGE_SIZE = 50;

const isoOf = (local) => (local ? new Date(local).toISOString() : '');

export async function render(main) {
  const level = h('select', { name: 'level' }, LEVELS.map((l) => h('option', { value: l }, l || 'Any level')));
  const since = h('input', { type: 'datetime-local', name: 'since', step: 1 });
  const until = h('input', { type: 'datetime-local', name: 'until', step: 1 });
  const form = h('form', { class: 'toolbar', novalidate: true },
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    field('Level', level), field('From', since), field('Until', until),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Show')));
  const rows = h('tbody');
  const prev = h('button', { type: 'button' }, 'Previous page');
  const next = h('button', { type: 'button' }, 'Next page');
  const info = h('span', { 'aria-live': 'polite' });
  let page = 1;

  main.append(h('h1', {}, 'Logs'), form,
    h('div', { class: 'table' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Time', 'Level', 'Message', 'Source', 'Image'].map((t) => h('th', { scope: 'col' }, t)))),
      rows)),
    h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, info, next));

  async function load() {
    clearErrors(form);
    try {
      const found = await get(`/logs${query({ page, limit: PAGE_SIZE, level: level.value, since: isoOf(since.value), until: isoOf(until.value) })}`);
      rows.replaceChildren(...(found.items.length ? found.items.map((e) => h('tr', { 'data-level': e.logLevel },
        h('td', {}, when(e.timestamp)), h('td', {}, h('span', { class: `badge ${e.logLevel}` }, e.logLevel)),
        h('td', {}, e.message), h('td', {}, e.source),
        h('td', {}, e.imageId ? h('a', { href: `#/images/${e.imageId}` }, e.imageId.slice(0, 8)) : '')))
        : [h('tr', {}, h('td', { colspan: 5 }, 'No entries match.'))]));
      info.textContent = `${found.total} entr${found.total === 1 ? 'y' : 'ies'} · page ${found.page} of ${Math.max(found.pages, 1)}`;
      prev.disabled = found.page <= 1;
      next.disabled = found.page >= found.pages;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showErrors(form, err);
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    page = 1;
    load();
  });
  prev.addEventListener('click', () => {
    page -= 1;
    load();
  });
  next.addEventListener('click', () => {
    page += 1;
    load();
  });
  await load();
}
