// Signed /i/ URLs for thumbnails, minted in batches (POST /urls) and kept for the page's life.

import { post } from './api.js';

export const WIDTHS = [160, 320, 480];
const minted = new Map();

const key = (id, width, square) => `${id}/${width}/${square ? 'sq' : 'w'}`;

function item(id, width, square) {
  const resize = square ? { width, height: width, fit: 'cover' } : { width };
  return { imageId: id, transformations: { resize }, autoFormat: true };
}

/** Mints what is missing for `images` at every width of `widths`. */
export async function mintFor(images, { widths = WIDTHS, square = true } = {}) {
  const wanted = [];
  for (const image of images) {
    for (const width of widths) {
      if (!minted.has(key(image.id, width, square))) wanted.push([image.id, width]);
    }
  }
  for (let start = 0; start < wanted.length; start += 100) {
    const batch = wanted.slice(start, start + 100);
    const answer = await post('/urls', { items: batch.map(([id, w]) => item(id, w, square)) });
    answer.items.forEach((m, i) => minted.set(key(batch[i][0], batch[i][1], square), m.url));
  }
}

/** `{src, srcset}` of an image already minted. */
export function sources(image, { widths = WIDTHS, square = true } = {}) {
  const urls = widths.map((w) => [minted.get(key(image.id, w, square)), w]).filter(([u]) => u);
  return {
    src: urls.length ? urls[Math.min(1, urls.length - 1)][0] : '',
    srcset: urls.map(([u, w]) => `${u} ${w}w`).join(', '),
  };
}

export function forget(imageId) {
  for (const k of [...minted.keys()]) if (k.startsWith(`${imageId}/`)) minted.delete(k);
}
