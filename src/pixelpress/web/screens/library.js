// The library: a grid of my images with placeholders, sorted, filtered, paged, multi-deleted.

import { del, get, query } from '../api.js';
import { paint } from '../blurhash.js';
import { announce, bytes, confirmDialog, field, h } from '../dom.js';
import { forget, mintFor, sources } from '../thumbs.js';

const PAGE_SIZE = 24;
const SORTS = [
  ['-created_at', 'Newest first'],
  ['created_at', 'Oldest first'],
  ['filename', 'Name, A to Z'],
  ['-filename', 'Name, Z to A'],
];
const state = { sort: '-created_at', q: '', page: 1 };

export function card(image, { selectable, selected, onSelect } = {}) {
  const canvas = h('canvas', { width: 32, height: 32, class: 'placeholder', 'aria-hidden': 'true' });
  paint(canvas, image.placeholder);
  const { src, srcset } = sources(image);
  const img = h('img', {
    src,
    srcset,
    sizes: '(max-width: 600px) 45vw, 200px',
    alt: image.filename,
    loading: 'lazy',
    decoding: 'async',
  });
  const thumb = h('div', { class: 'thumb' }, canvas, img);
  const done = () => thumb.classList.add('loaded');
  img.addEventListener('load', done);
  if (img.complete && img.naturalWidth) done();
  const box = selectable
    ? h('input', {
      type: 'checkbox',
      class: 'select',
      checked: selected,
      'aria-label': `Select ${image.filename}`,
      onchange: (e) => onSelect(image.id, e.target.checked),
    })
    : null;
  return h('li', { class: 'tile', 'data-image-id': image.id },
    h('a', { href: `#/images/${image.id}` },
      thumb,
      h('span', { class: 'name' }, image.filename),
      h('span', { class: 'meta' }, `${image.width}×${image.height} · ${image.format.toUpperCase()} · ${bytes(image.size)}`)),
    box);
}

export async function render(main) {
  const selected = new Set();
  const search = h('input', { type: 'search', name: 'q', value: state.q, maxlength: 200, placeholder: 'Filename contains…' });
  const sort = h('select', { name: 'sort' },
    SORTS.map(([value, label]) => h('option', { value, selected: value === state.sort }, label)));
  const deleteButton = h('button', { type: 'button', class: 'danger', disabled: true }, 'Delete selected');
  const grid = h('ul', { class: 'grid', 'aria-label': 'Images' });
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button' }, 'Previous page');
  const next = h('button', { type: 'button' }, 'Next page');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, summary, next);

  main.append(
    h('div', { class: 'heading' }, h('h1', {}, 'Library'), h('a', { class: 'button primary', href: '#/upload' }, 'Upload')),
    h('form', { class: 'toolbar', role: 'search', onsubmit: (e) => e.preventDefault() },
      field('Filter by filename', search),
      field('Sort', sort),
      h('div', { class: 'field' }, deleteButton)),
    grid,
    pager,
  );

  function updateSelection() {
    deleteButton.disabled = selected.size === 0;
    deleteButton.textContent = selected.size ? `Delete selected (${selected.size})` : 'Delete selected';
  }

  async function load() {
    const page = await get(`/images${query({ page: state.page, limit: PAGE_SIZE, sort: state.sort, q: state.q })}`);
    if (page.items.length === 0 && state.page > 1) {
      state.page = Math.max(1, page.pages);
      return load();
    }
    await mintFor(page.items);
    selected.clear();
    updateSelection();
    grid.replaceChildren(...page.items.map((image) => card(image, {
      selectable: true,
      onSelect: (id, on) => {
        if (on) selected.add(id);
        else selected.delete(id);
        updateSelection();
      },
    })));
    if (page.items.length === 0) {
      grid.append(h('li', { class: 'empty' }, state.q
        ? `No image's name contains “${state.q}”.`
        : ['No images yet. ', h('a', { href: '#/upload' }, 'Upload some'), '.']));
    }
    summary.textContent = `${page.total} image${page.total === 1 ? '' : 's'} · page ${page.page} of ${Math.max(page.pages, 1)}`;
    prev.disabled = page.page <= 1;
    next.disabled = page.page >= page.pages;
    grid.dataset.loaded = String(Date.now());
  }

  let typing = 0;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.q = search.value.trim();
      state.page = 1;
      load().catch((err) => announce(err.message, 'error'));
    }, 300);
  });
  sort.addEventListener('change', () => {
    state.sort = sort.value;
    state.page = 1;
    load().catch((err) => announce(err.message, 'error'));
  });
  prev.addEventListener('click', () => {
    state.page -= 1;
    load().catch((err) => announce(err.message, 'error'));
  });
  next.addEventListener('click', () => {
    state.page += 1;
    load().catch((err) => announce(err.message, 'error'));
  });
  deleteButton.addEventListener('click', async () => {
    const ids = [...selected];
    const ok = await confirmDialog(`Delete ${ids.length} image${ids.length === 1 ? '' : 's'} with all their variants? This cannot be undone.`);
    if (!ok) return;
    let failed = 0;
    for (const id of ids) {
      try {
        await del(`/images/${id}`);
        forget(id);
      } catch {
        failed += 1;
      }
    }
    announce(failed ? `${ids.length - failed} deleted, ${failed} could not be deleted.` : `${ids.length} deleted.`,
      failed ? 'error' : 'info');
    await load();
  });

  await load();
  return () => clearTimeout(typing);
}
