// One image: its metadata and placeholder, variants and jobs; replace, download, delete.

import { del, get, uploadFile } from '../api.js';
import { paint } from '../blurhash.js';
import { announce, bytes, confirmDialog, h, when } from '../dom.js';
import { forget, mintFor, sources } from '../thumbs.js';

const LARGE = [480, 800, 1200];

export async function download(imageId, variant) {
  const link = await get(`/images/${imageId}/download${variant ? `?variant=${encodeURIComponent(variant)}` : ''}`);
  const a = h('a', { href: link.downloadUrl, download: '', hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

function describe(spec) {
  const parts = [];
  for (const [key, value] of Object.entries(spec || {})) {
    parts.push(typeof value === 'object' ? `${key} ${JSON.stringify(value)}` : `${key} ${value}`);
  }
  return parts.join(', ') || 'original';
}

export async function render(main, ctx) {
  const [id] = ctx.params;
  let image = await get(`/images/${id}`);
  let status = await get(`/images/${id}/status`);
  await mintFor([image], { widths: LARGE, square: false });

  const heading = h('h1', {}, image.filename);
  const preview = h('img', { alt: `${image.filename}, as uploaded`, sizes: '(max-width: 800px) 100vw, 60vw' });
  const canvas = h('canvas', { width: 32, height: 32, class: 'placeholder', 'aria-hidden': 'true' });
  const frame = h('div', { class: 'hero' }, canvas, preview);
  preview.addEventListener('load', () => frame.classList.add('loaded'));
  const facts = h('dl', { class: 'facts' });
  const variants = h('tbody');
  const jobs = h('tbody');
  const picker = h('input', { type: 'file', accept: 'image/*', id: 'replace-file', class: 'visually-hidden' });
  const replaceProgress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Replacing' });

  function fill() {
    heading.textContent = image.filename;
    const { src, srcset } = sources(image, { widths: LARGE, square: false });
    preview.src = src;
    preview.srcset = srcset;
    paint(canvas, image.placeholder);
    const p = image.placeholder;
    facts.replaceChildren(
      ...[
        ['Format', image.format.toUpperCase()],
        ['Dimensions', `${image.width} × ${image.height} px`],
        ['Size', bytes(image.size)],
        ['Frames', image.frames],
        ['Uploaded', when(image.created_at)],
        ['Status', status.status],
        ['Placeholder', p ? [h('span', { class: 'swatch-text' }, p.dominant_color), ' ', h('code', {}, p.blurhash)] : 'none'],
        ['Content hash', h('code', { class: 'hash' }, image.content_hash)],
      ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    );
    variants.replaceChildren(...(image.variants.length ? image.variants.map((v) => h('tr', { 'data-variant-id': v.id },
      h('td', {}, describe(v.spec)),
      h('td', {}, v.format.toUpperCase()),
      h('td', {}, v.width ? `${v.width}×${v.height}` : '–'),
      h('td', {}, bytes(v.size)),
      h('td', {}, v.status),
      h('td', {}, v.status === 'ready'
        ? h('button', { type: 'button', onclick: () => download(id, v.id).catch((e) => announce(e.message, 'error')) }, 'Download')
        : '')))
      : [h('tr', {}, h('td', { colspan: 6 }, 'No variants yet: open the editor to make one.'))]));
    jobs.replaceChildren(...(status.jobs.length ? status.jobs.map((j) => h('tr', {},
      h('td', {}, h('code', {}, j.id.slice(0, 8))),
      h('td', {}, j.status),
      h('td', {}, when(j.created_at)),
      h('td', {}, when(j.finished_at)),
      h('td', {}, j.error || '')))
      : [h('tr', {}, h('td', { colspan: 5 }, 'No jobs.'))]));
  }

  async function reload() {
    [image, status] = await Promise.all([get(`/images/${id}`), get(`/images/${id}/status`)]);
    fill();
  }

  picker.addEventListener('change', async () => {
    const file = picker.files[0];
    picker.value = '';
    if (!file) return;
    replaceProgress.hidden = false;
    try {
      await uploadFile(file, {
        method: 'PUT',
        path: `/images/${id}`,
        onProgress: (sent, total) => {
          replaceProgress.max = total || 1;
          replaceProgress.value = sent;
        },
      });
      forget(id);
      await mintFor([{ id }], { widths: LARGE, square: false });
      await reload();
      announce('Image replaced; its variants were removed.');
    } catch (err) {
      announce(err.message, 'error');
    } finally {
      replaceProgress.hidden = true;
    }
  });

  const remove = async () => {
    if (!(await confirmDialog(`Delete ${image.filename} with all its variants? This cannot be undone.`))) return;
    try {
      await del(`/images/${id}`);
      forget(id);
      announce(`${image.filename} deleted.`);
      ctx.navigate('/library');
    } catch (err) {
      announce(err.message, 'error');
    }
  };

  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/library' }, '← Library')),
    h('div', { class: 'heading' }, heading,
      h('div', { class: 'actions' },
        h('a', { class: 'button primary', href: `#/images/${id}/edit` }, 'Edit'),
        h('button', { type: 'button', onclick: () => download(id, 'original').catch((e) => announce(e.message, 'error')) }, 'Download original'),
        h('label', { for: picker.id, class: 'button' }, 'Replace…'), picker,
        h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete'))),
    replaceProgress,
    h('div', { class: 'split' }, frame, h('section', { 'aria-labelledby': 'facts-h' }, h('h2', { id: 'facts-h' }, 'Details'), facts)),
    h('section', { 'aria-labelledby': 'variants-h' }, h('h2', { id: 'variants-h' }, 'Variants'),
      h('div', { class: 'table' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Transformation', 'Format', 'Size (px)', 'Bytes', 'Status', ''].map((t) => h('th', { scope: 'col' }, t)))),
        variants))),
    h('section', { 'aria-labelledby': 'jobs-h' }, h('h2', { id: 'jobs-h' }, 'Jobs'),
      h('div', { class: 'table' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Job', 'Status', 'Queued', 'Finished', 'Error'].map((t) => h('th', { scope: 'col' }, t)))),
        jobs))),
  );
  fill();
}
