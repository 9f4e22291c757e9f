// The editor: controls for every operation, a live preview (debounced owner renders and dry
// runs), crop by dragging, then save as a job (followed over SSE) or mint a signed URL.

import { ApiError, follow, get, post, query, request } from '../api.js';
import { announce, bytes, clearErrors, copyText, field, h, showErrors, svg } from '../dom.js';
import { mintFor, sources } from '../thumbs.js';
import { download } from './image.js';

const FITS = ['cover', 'contain', 'fill', 'inside', 'outside'];
const GRAVITIES = ['center', 'auto', 'face', 'faces', 'top', 'bottom', 'left', 'right', 'top-left', 'top-right', 'bottom-left', 'bottom-right'];
const POSITIONS = ['bottom-right', 'bottom', 'bottom-left', 'right', 'center', 'left', 'top-right', 'top', 'top-left'];
const FORMATS = [['', 'Keep the source format'], ['jpeg', 'JPEG'], ['png', 'PNG'], ['webp', 'WebP'], ['avif', 'AVIF'], ['gif', 'GIF']];
const EXPIRIES = [['', 'Never'], ['3600', 'In an hour'], ['86400', 'In a day'], ['604800', 'In a week'], ['2592000', 'In 30 days']];
const SRCSET_WIDTHS = [320, 640, 960, 1280];
const DEBOUNCE_MS = 350;

const options = (list, chosen) => list.map((item) => {
  const [value, label] = Array.isArray(item) ? item : [item, item];
  return h('option', { value, selected: value === chosen }, label);
});

/** The JSON form of the transformation the controls describe (README, Transformations). */
export function specOf(s) {
  const t = {};
  if (s.width || s.height) {
    t.resize = {};
    if (s.width) t.resize.width = s.width;
    if (s.height) t.resize.height = s.height;
    if (s.width && s.height) {
      t.resize.fit = s.fit;
      if (s.fit === 'cover' && s.gravity !== 'center') t.resize.gravity = s.gravity;
    }
  }
  if (s.crop) t.crop = { ...s.crop };
  if (s.rotate % 360 !== 0) t.rotate = s.rotate;
  if (s.flip) t.flip = true;
  if (s.mirror) t.mirror = true;
  const filters = {};
  if (s.grayscale) filters.grayscale = true;
  if (s.sepia) filters.sepia = true;
  if (s.blur > 0) filters.blur = s.blur;
  if (s.sharpen) filters.sharpen = true;
  if (Object.keys(filters).length) t.filters = filters;
  if (s.watermark === 'text' && s.watermarkText.trim()) {
    t.watermark = { text: s.watermarkText, position: s.position, opacity: s.opacity };
  } else if (s.watermark === 'image' && s.watermarkImage) {
    t.watermark = { image: s.watermarkImage, position: s.position, opacity: s.opacity };
  }
  if (s.format) t.format = s.format;
  if (s.quality) t.quality = s.quality;
  return t;
}

/** The same transformation as the flat query parameters of GET /images/{id}/render. */
export function paramsOf(t) {
  const p = {};
  if (t.crop) p.crop = `${t.crop.x}:${t.crop.y}:${t.crop.width}:${t.crop.height}`;
  Object.assign(p, t.resize || {});
  if (t.rotate) p.rotate = t.rotate;
  if (t.flip) p.flip = 'true';
  if (t.mirror) p.mirror = 'true';
  for (const [k, v] of Object.entries(t.filters || {})) p[k] = v === true ? 'true' : v;
  if (t.watermark) {
    if (t.watermark.text) p.watermarkText = t.watermark.text;
    else p.watermarkImage = t.watermark.image;
    p.watermarkPosition = t.watermark.position;
    p.watermarkOpacity = t.watermark.opacity;
  }
  if (t.format) p.format = t.format;
  if (t.quality) p.quality = t.quality;
  return p;
}

/** `t` at `width` pixels wide, for one entry of a srcset. */
function atWidth(t, width) {
  const copy = structuredClone(t);
  const resize = copy.resize || {};
  if (resize.width && resize.height) resize.height = Math.max(1, Math.round((resize.height * width) / resize.width));
  else delete resize.height;
  resize.width = width;
  copy.resize = resize;
  return copy;
}

const escapeHtml = (text) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

export async function render(main, ctx) {
  const [id] = ctx.params;
  const image = await get(`/images/${id}`);
  const mine = await get('/images?limit=100&sort=filename');
  const sourceWidth = Math.min(1200, image.width);
  const outputFormat = image.format === 'tiff' ? 'jpeg' : image.format; // as the service keeps it
  await mintFor([image], { widths: [sourceWidth], square: false });

  const s = {
    width: 0, height: 0, fit: 'cover', gravity: 'center', crop: null, rotate: 0, flip: false, mirror: false,
    grayscale: false, sepia: false, blur: 0, sharpen: false, watermark: 'none', watermarkText: '',
    watermarkImage: '', position: 'bottom-right', opacity: 0.5, format: '', quality: 0,
  };

  // --- controls ---
  const num = (name, attrs) => h('input', { type: 'number', name, inputmode: 'numeric', ...attrs });
  const check = (name, label) => {
    const input = h('input', { type: 'checkbox', name, id: `ed-${name}` });
    return h('div', { class: 'check field', 'data-field': `${name} filters.${name}` }, input, h('label', { for: input.id }, label),
      h('p', { class: 'field-error', hidden: true }));
  };
  const c = {
    width: num('width', { min: 1, max: 12000, placeholder: 'auto' }),
    height: num('height', { min: 1, max: 12000, placeholder: 'auto' }),
    fit: h('select', { name: 'fit' }, options(FITS, s.fit)),
    gravity: h('select', { name: 'gravity' }, options(GRAVITIES, s.gravity)),
    cropX: num('cropX', { min: 0 }),
    cropY: num('cropY', { min: 0 }),
    cropW: num('cropW', { min: 1 }),
    cropH: num('cropH', { min: 1 }),
    rotate: h('input', { type: 'number', name: 'rotate', step: 'any', value: 0 }),
    blur: h('input', { type: 'number', name: 'blur', min: 0, max: 100, step: 0.5, value: 0 }),
    watermark: h('select', { name: 'watermark' }, options([['none', 'None'], ['text', 'Text'], ['image', 'One of my images']], 'none')),
    watermarkText: h('input', { name: 'watermarkText', maxlength: 200 }),
    watermarkImage: h('select', { name: 'watermarkImage' }, h('option', { value: '' }, 'Choose an image…'),
      mine.items.filter((i) => i.id !== id).map((i) => h('option', { value: i.id }, i.filename))),
    position: h('select', { name: 'position' }, options(POSITIONS, s.position)),
    opacity: h('input', { type: 'range', name: 'opacity', min: 0.05, max: 1, step: 0.05, value: s.opacity }),
    format: h('select', { name: 'format' }, options(FORMATS, '')),
    quality: num('quality', { min: 1, max: 100, placeholder: 'default' }),
  };
  const turn = (by) => () => {
    c.rotate.value = String((((Number(c.rotate.value) || 0) + by) % 360 + 360) % 360);
    changed();
  };
  const clearCrop = () => {
    for (const k of ['cropX', 'cropY', 'cropW', 'cropH']) c[k].value = '';
    changed();
  };
  const controls = h('form', { class: 'controls', 'aria-label': 'Transformation', novalidate: true, onsubmit: (e) => e.preventDefault() },
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h('fieldset', {}, h('legend', {}, 'Resize'),
      h('div', { class: 'row' },
        field('Width', c.width, { names: 'width resize.width resize' }),
        field('Height', c.height, { names: 'height resize.height' })),
      h('div', { class: 'row' },
        field('Fit', c.fit, { names: 'fit resize.fit' }),
        field('Gravity', c.gravity, { names: 'gravity resize.gravity', hint: 'What a cover crop keeps.' }))),
    h('fieldset', {}, h('legend', {}, 'Crop'),
      h('p', { class: 'hint' }, 'Drag a box on the source image, or type the box in source pixels.'),
      h('div', { class: 'row' },
        field('Left', c.cropX, { names: 'crop crop.x' }), field('Top', c.cropY, { names: 'crop.y' }),
        field('Width', c.cropW, { names: 'crop.width' }), field('Height', c.cropH, { names: 'crop.height' })),
      h('button', { type: 'button', onclick: clearCrop }, 'Clear crop')),
    h('fieldset', {}, h('legend', {}, 'Rotate and flip'),
      h('div', { class: 'row' },
        field('Angle (degrees, clockwise)', c.rotate, { names: 'rotate' }),
        h('div', { class: 'field buttons' },
          h('button', { type: 'button', onclick: turn(-90) }, 'Rotate left 90°'),
          h('button', { type: 'button', onclick: turn(90) }, 'Rotate right 90°'))),
      h('div', { class: 'row' }, check('flip', 'Flip (upside down)'), check('mirror', 'Mirror (left to right)'))),
    h('fieldset', {}, h('legend', {}, 'Filters'),
      h('div', { class: 'row' }, check('grayscale', 'Grayscale'), check('sepia', 'Sepia'), check('sharpen', 'Sharpen')),
      field('Blur (sigma, 0 for none)', c.blur, { names: 'blur filters.blur' })),
    h('fieldset', {}, h('legend', {}, 'Watermark'),
      field('Watermark', c.watermark, { names: 'watermark' }),
      field('Text', c.watermarkText, { names: 'watermarkText watermark.text' }),
      field('Image', c.watermarkImage, { names: 'watermarkImage watermark.image' }),
      h('div', { class: 'row' },
        field('Position', c.position, { names: 'watermarkPosition watermark.position' }),
        field('Opacity', c.opacity, { names: 'watermarkOpacity watermark.opacity' }))),
    h('fieldset', {}, h('legend', {}, 'Output'),
      h('div', { class: 'row' },
        field('Format', c.format, { names: 'format' }),
        field('Quality (1 to 100)', c.quality, { names: 'quality compress' }))),
  );

  // --- source with the crop box, and the preview ---
  const source = h('img', { alt: `${image.filename}: drag on it to choose a crop`, ...sources(image, { widths: [sourceWidth], square: false }) });
  source.removeAttribute('srcset');
  const shade = svg('path', { class: 'shade', 'fill-rule': 'evenodd', d: '' });
  const box = svg('rect', { class: 'cropbox', x: 0, y: 0, width: 0, height: 0, visibility: 'hidden' });
  const overlay = svg('svg', { class: 'overlay', viewBox: `0 0 ${image.width} ${image.height}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' }, shade, box);
  const cropper = h('div', { class: 'cropper' }, source, overlay);
  const preview = h('img', { alt: 'Preview of the transformation', class: 'preview-image' });
  const previewBox = h('div', { class: 'preview', 'data-state': 'idle' }, preview);
  const predicted = h('p', { class: 'predicted', 'aria-live': 'polite' }, 'The preview appears here.');

  // --- outputs ---
  const jobStatus = h('p', { class: 'job-status', 'aria-live': 'polite' });
  const jobProgress = h('progress', { hidden: true, 'aria-label': 'Job progress' });
  const jobDownload = h('div', { class: 'job-download' });
  const saveButton = h('button', { type: 'button', class: 'primary' }, 'Save as job');
  const autoFormat = h('input', { type: 'checkbox', id: 'ed-fauto', checked: true });
  const expiry = h('select', { name: 'expiresIn' }, options(EXPIRIES, ''));
  const urlButton = h('button', { type: 'button' }, 'Get a URL');
  const urlOut = h('input', { readonly: true, name: 'url', class: 'mono' });
  const snippetOut = h('textarea', { readonly: true, rows: 4, name: 'snippet', class: 'mono' });
  const urlResult = h('div', { class: 'url-result', hidden: true },
    field('Signed URL', urlOut),
    h('button', { type: 'button', onclick: () => copy(urlOut, 'URL') }, 'Copy URL'),
    field('<img srcset> snippet', snippetOut),
    h('button', { type: 'button', onclick: () => copy(snippetOut, 'Snippet') }, 'Copy snippet'));

  async function copy(input, what) {
    const ok = await copyText(input.value, input);
    announce(ok ? `${what} copied.` : `Copying failed: select the ${what.toLowerCase()} and copy it by hand.`, ok ? 'info' : 'error');
  }

  const outputs = h('section', { class: 'outputs', 'aria-labelledby': 'outputs-h' },
    h('h2', { id: 'outputs-h' }, 'Keep the result'),
    h('div', { class: 'card' }, h('h3', {}, 'Save as a job'), saveButton, jobProgress, jobStatus, jobDownload),
    h('div', { class: 'card' }, h('h3', {}, 'Get a URL'),
      h('div', { class: 'check' }, autoFormat, h('label', { for: autoFormat.id }, 'Best format for each browser (f_auto)')),
      field('Expires', expiry),
      urlButton, urlResult));

  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: `#/images/${id}` }, `← ${image.filename}`)),
    h('h1', {}, `Edit ${image.filename}`),
    h('div', { class: 'editor' },
      h('div', { class: 'stage' },
        h('figure', {}, cropper, h('figcaption', {}, `Source, ${image.width} × ${image.height} px`)),
        h('figure', {}, previewBox, h('figcaption', {}, predicted))),
      controls,
      outputs),
  );

  // --- reading the controls ---
  function read() {
    const int = (input) => (input.value.trim() === '' ? 0 : Math.trunc(Number(input.value)));
    s.width = int(c.width);
    s.height = int(c.height);
    s.fit = c.fit.value;
    s.gravity = c.gravity.value;
    const crop = [c.cropX, c.cropY, c.cropW, c.cropH].map((i) => i.value.trim());
    s.crop = crop.every((v) => v !== '') ? { x: int(c.cropX), y: int(c.cropY), width: int(c.cropW), height: int(c.cropH) } : null;
    s.rotate = Number(c.rotate.value) || 0;
    for (const k of ['flip', 'mirror', 'grayscale', 'sepia', 'sharpen']) s[k] = controls.elements[k].checked;
    s.blur = Number(c.blur.value) || 0;
    s.watermark = c.watermark.value;
    s.watermarkText = c.watermarkText.value;
    s.watermarkImage = c.watermarkImage.value;
    s.position = c.position.value;
    s.opacity = Number(c.opacity.value);
    s.format = c.format.value;
    s.quality = int(c.quality);
    const both = Boolean(s.width && s.height);
    c.fit.disabled = !both;
    c.gravity.disabled = !both || s.fit !== 'cover';
    c.watermarkText.closest('.field').hidden = s.watermark !== 'text';
    c.watermarkImage.closest('.field').hidden = s.watermark !== 'image';
    c.position.closest('.row').hidden = s.watermark === 'none';
    drawBox();
    return specOf(s);
  }

  // --- the crop box ---
  function drawBox() {
    if (!s.crop) {
      box.setAttribute('visibility', 'hidden');
      shade.setAttribute('d', '');
      return;
    }
    const { x, y, width, height } = s.crop;
    for (const [k, v] of Object.entries({ x, y, width, height })) box.setAttribute(k, v);
    box.setAttribute('visibility', 'visible');
    shade.setAttribute('d', `M0 0H${image.width}V${image.height}H0Z M${x} ${y}v${height}h${width}v${-height}Z`);
  }

  let dragFrom = null;
  const sourcePoint = (e) => {
    const r = overlay.getBoundingClientRect();
    const clamp = (v, hi) => Math.min(hi, Math.max(0, v));
    return [
      Math.round(clamp(((e.clientX - r.left) * image.width) / r.width, image.width)),
      Math.round(clamp(((e.clientY - r.top) * image.height) / r.height, image.height)),
    ];
  };
  function setCrop(a, b) {
    const x = Math.min(a[0], b[0]);
    const y = Math.min(a[1], b[1]);
    c.cropX.value = x;
    c.cropY.value = y;
    c.cropW.value = Math.max(1, Math.abs(a[0] - b[0]));
    c.cropH.value = Math.max(1, Math.abs(a[1] - b[1]));
  }
  overlay.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    overlay.setPointerCapture(e.pointerId);
    dragFrom = sourcePoint(e);
  });
  overlay.addEventListener('pointermove', (e) => {
    if (!dragFrom) return;
    setCrop(dragFrom, sourcePoint(e));
    read();
  });
  overlay.addEventListener('pointerup', (e) => {
    if (!dragFrom) return;
    const to = sourcePoint(e);
    const moved = Math.abs(to[0] - dragFrom[0]) + Math.abs(to[1] - dragFrom[1]);
    if (moved > 2) setCrop(dragFrom, to);
    dragFrom = null;
    changed();
  });

  // --- the live preview ---
  let timer = 0;
  let ticket = 0;
  let shown = null;
  let objectUrl = '';

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(refresh, DEBOUNCE_MS);
    previewBox.dataset.state = 'pending';
  }

  async function renderBlob(params) {
    const response = await request('GET', `/images/${id}/render${query(params)}`, undefined, { raw: true, accept: 'image/*' });
    return response.blob();
  }

  async function refresh() {
    const t = read();
    const key = JSON.stringify(t);
    if (key === shown) {
      previewBox.dataset.state = 'ready';
      return;
    }
    const mineTicket = ++ticket;
    previewBox.dataset.state = 'loading';
    try {
      const empty = Object.keys(t).length === 0;
      // The preview names its format even when the spec keeps the source's: the same pixels
      // and bytes, but a rendering of its own, so that saving still makes the job asked for
      // (a spec already rendered would be answered as done, with no job to follow).
      const [blob, dry] = await Promise.all([
        renderBlob(paramsOf({ ...t, format: t.format || outputFormat })),
        empty ? { width: image.width, height: image.height, format: image.format } : post(`/images/${id}/transform?dryRun=true`, { transformations: t }),
      ]);
      if (mineTicket !== ticket) return; // a newer change is on its way
      clearErrors(controls);
      const next = URL.createObjectURL(blob);
      await new Promise((resolve) => {
        preview.addEventListener('load', resolve, { once: true });
        preview.addEventListener('error', resolve, { once: true });
        preview.src = next;
      });
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = next;
      if (mineTicket !== ticket) return;
      shown = key;
      const faces = Array.isArray(dry.faces) ? ` · ${dry.faces.length} face${dry.faces.length === 1 ? '' : 's'} found` : '';
      predicted.textContent = `Output: ${dry.width} × ${dry.height} px · ${String(dry.format).toUpperCase()} · ${bytes(blob.size)}${faces}`;
      previewBox.dataset.spec = key;
      previewBox.dataset.state = 'ready';
    } catch (err) {
      if (mineTicket !== ticket) return;
      if (!(err instanceof ApiError)) throw err;
      previewBox.dataset.state = 'error';
      predicted.textContent = err.message;
      showErrors(controls, err);
    }
  }

  controls.addEventListener('input', changed);
  controls.addEventListener('change', changed);

  // --- save as a job, followed live ---
  async function followJob(jobId) {
    jobProgress.hidden = false;
    try {
      return await follow(`/jobs/${jobId}/events`, {
        onEvent: (type, job) => {
          jobStatus.textContent = `Job ${job.status}.`;
          jobStatus.dataset.status = job.status;
        },
        isLast: (type, job) => job.status === 'processed' || job.status === 'failed',
      });
    } finally {
      jobProgress.hidden = true;
    }
  }

  function offerDownload(variantId) {
    jobDownload.replaceChildren(h('button', {
      type: 'button',
      class: 'primary',
      onclick: () => download(id, variantId).catch((e) => announce(e.message, 'error')),
    }, 'Download the result'));
  }

  saveButton.addEventListener('click', async () => {
    const t = read();
    saveButton.disabled = true;
    jobDownload.replaceChildren();
    jobStatus.dataset.status = '';
    try {
      const answer = await post(`/images/${id}/transform`, { transformations: t });
      if (!answer.jobId) {
        jobStatus.textContent = 'Already made: processed.';
        jobStatus.dataset.status = 'processed';
        offerDownload(answer.variantId);
        return;
      }
      jobStatus.textContent = 'Job queued.';
      const job = await followJob(answer.jobId);
      if (job.status === 'processed') {
        offerDownload(job.variantId);
        announce('The job is done.');
      } else {
        jobStatus.textContent = `Job failed: ${job.error || 'no reason given'}.`;
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      jobStatus.textContent = err.message;
      showErrors(controls, err);
    } finally {
      saveButton.disabled = false;
    }
  });

  // --- a signed URL and its srcset ---
  urlButton.addEventListener('click', async () => {
    const t = read();
    const common = { autoFormat: autoFormat.checked };
    if (expiry.value) common.expiresIn = Number(expiry.value);
    urlButton.disabled = true;
    try {
      const one = await post(`/images/${id}/urls`, { ...common, ...(Object.keys(t).length ? { transformations: t } : {}) });
      const many = await post('/urls', { items: SRCSET_WIDTHS.map((w) => ({ imageId: id, transformations: atWidth(t, w), ...common })) });
      urlOut.value = one.url;
      const srcset = many.items.map((m, i) => `${m.url} ${SRCSET_WIDTHS[i]}w`).join(',\n  ');
      snippetOut.value = `<img src="${many.items[1].url}"\n  srcset="${srcset}"\n  sizes="(max-width: 640px) 100vw, 640px"\n  alt="${escapeHtml(image.filename)}">`;
      urlResult.hidden = false;
      clearErrors(controls);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showErrors(controls, err);
      announce(err.message, 'error');
    } finally {
      urlButton.disabled = false;
    }
  });

  read();
  await refresh();
  return () => {
    clearTimeout(timer);
    ticket += 1;
    if (objectUrl) URL.revokeObjectURL(objectUrl);
  };
}
