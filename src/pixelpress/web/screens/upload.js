// Upload: drag and drop, the file picker or paste; each file with its own progress and result.

import { uploadFile } from '../api.js';
import { announce, bytes, h, nextId } from '../dom.js';

const ACCEPT = 'image/jpeg,image/png,image/webp,image/gif,image/avif,image/tiff';
const AT_ONCE = 2;

export async function render(main) {
  const picker = h('input', { type: 'file', multiple: true, accept: ACCEPT, id: 'upload-files', class: 'visually-hidden' });
  const zone = h('div', { class: 'dropzone', 'data-testid': 'dropzone' },
    h('p', {}, 'Drop images here, paste them, or'),
    h('label', { for: picker.id, class: 'button primary' }, 'Choose files…'),
    picker,
    h('p', { class: 'hint' }, 'JPEG, PNG, WebP, GIF, AVIF or TIFF. Several at once is fine.'));
  const list = h('ul', { class: 'uploads', 'aria-label': 'Uploads' });
  main.append(h('h1', {}, 'Upload'), zone, list);

  const queue = [];
  let running = 0;

  function add(files) {
    const images = [...files];
    if (!images.length) return;
    announce(`Uploading ${images.length} file${images.length === 1 ? '' : 's'}.`);
    for (const file of images) {
      const label = nextId('upload');
      const progress = h('progress', { max: file.size || 1, value: 0, 'aria-labelledby': label });
      const result = h('p', { class: 'result', 'aria-live': 'polite' }, 'Waiting…');
      const row = h('li', { class: 'upload', 'data-state': 'waiting' },
        h('span', { id: label, class: 'name' }, `${file.name || 'pasted image'} (${bytes(file.size)})`),
        progress, result);
      list.append(row);
      queue.push({ file, row, progress, result });
    }
    pump();
  }

  function pump() {
    while (running < AT_ONCE && queue.length) {
      const job = queue.shift();
      running += 1;
      send(job).finally(() => {
        running -= 1;
        pump();
      });
    }
  }

  async function send({ file, row, progress, result }) {
    row.dataset.state = 'sending';
    result.textContent = 'Sending…';
    try {
      const answer = await uploadFile(file, {
        onProgress: (sent, total) => {
          progress.max = total || 1;
          progress.value = sent;
        },
      });
      progress.value = progress.max;
      row.dataset.state = 'done';
      row.dataset.imageId = answer.imageId;
      result.replaceChildren('Uploaded: ', h('a', { href: `#/images/${answer.imageId}` },
        `${answer.image.width}×${answer.image.height} ${answer.image.format.toUpperCase()}`));
    } catch (err) {
      row.dataset.state = 'refused';
      result.classList.add('error');
      result.textContent = err.message;
    }
  }

  picker.addEventListener('change', () => {
    add(picker.files);
    picker.value = '';
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    add(e.dataTransfer.files);
  });
  const paste = (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (files.length) {
      e.preventDefault();
      add(files);
    }
  };
  document.addEventListener('paste', paste);
  return () => document.removeEventListener('paste', paste);
}
