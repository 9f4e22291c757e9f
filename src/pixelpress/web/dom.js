// Small DOM helpers: an element builder, announcements, field errors, formatting.

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
export function svg(tag, props, ...children) {
  const el = document.createElementNS(SVG, tag);
  setProps(el, props);
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.setAttribute('class', value);
    } else if (key === 'value' || key === 'checked' || key === 'selected') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let statusTimer = 0;
/** Says `message` in the live region (screen readers hear it) and shows it for a while. */
export function announce(message, kind = 'info') {
  const box = document.getElementById('status');
  box.textContent = message;
  box.dataset.kind = kind;
  box.classList.add('shown');
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => box.classList.remove('shown'), 4000);
}

let uid = 0;
export const nextId = (prefix) => `${prefix}-${++uid}`;

/** A labelled control with room for its error: `input` is an <input>, <select> or <textarea>. */
export function field(label, input, { hint, names } = {}) {
  input.id ||= nextId('f');
  const error = h('p', { class: 'field-error', id: `${input.id}-error`, hidden: true });
  const described = [error.id];
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: `${input.id}-hint` }, hint);
    described.unshift(hintEl.id);
  }
  input.setAttribute('aria-describedby', described.join(' '));
  const wrap = h('div', { class: 'field', 'data-field': names || input.name || '' },
    h('label', { for: input.id }, label), input, hintEl, error);
  return wrap;
}

/** Clears every error shown in `root`. */
export function clearErrors(root) {
  for (const el of root.querySelectorAll('.field-error, .form-error')) {
    el.hidden = true;
    el.textContent = '';
  }
  for (const el of root.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/** Shows `error` (an ApiError) next to the field it concerns, found by the names in
 * `data-field` (a space-separated list: JSON paths and query names); else in the form's
 * general error box. `codeFields` maps error codes with no field to a field name. */
export function showErrors(root, error, codeFields = {}) {
  clearErrors(root);
  const items = Array.isArray(error.details) && error.details.some((d) => d && d.field)
    ? error.details.filter((d) => d && d.field)
    : [{ field: codeFields[error.code] || '', message: error.message }];
  let placed = false;
  for (const item of items) {
    const target = fieldFor(root, item.field);
    if (target) {
      const box = target.querySelector('.field-error');
      box.textContent = item.message || error.message;
      box.hidden = false;
      target.querySelector('input, select, textarea')?.setAttribute('aria-invalid', 'true');
      placed = true;
    }
  }
  if (!placed) {
    const box = root.querySelector('.form-error');
    if (box) {
      box.textContent = error.message;
      box.hidden = false;
    } else {
      announce(error.message, 'error');
    }
  }
}

function fieldFor(root, name) {
  if (!name) return null;
  const path = String(name).replace(/^(body|query|transformations)\./, '');
  const candidates = [path, path.split('.').pop()];
  for (const el of root.querySelectorAll('[data-field]')) {
    const names = el.dataset.field.split(' ');
    if (candidates.some((c) => names.includes(c))) return el;
  }
  return null;
}

export function bytes(n) {
  if (n === null || n === undefined) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '–';
}

/** A modal confirmation (the native <dialog>: focus stays inside it, Escape cancels). */
export function confirmDialog(message, action = 'Delete') {
  return new Promise((resolve) => {
    const title = nextId('dialog');
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': title },
      h('form', { method: 'dialog' },
        h('p', { id: title }, message),
        h('div', { class: 'actions' },
          h('button', { value: 'cancel', type: 'submit' }, 'Cancel'),
          h('button', { value: 'ok', type: 'submit', class: 'danger' }, action))));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Copies `text`; where the Clipboard API is missing (plain HTTP off localhost), through a
 * selected text field. */
export async function copyText(text, fallbackInput) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (!fallbackInput) return false;
    fallbackInput.select();
    return document.execCommand('copy');
  }
}
