// Notifications: email on or off, a webhook (its secret shown once), a test, and the history.

import { ApiError, get, post, put, query } from '../api.js';
import { announce, clearErrors, field, h, showErrors, when } from '../dom.js';

export async function render(main, ctx) {
  const prefs = await get('/me/notifications');
  const email = h('input', { type: 'checkbox', name: 'email', id: 'notify-email', checked: prefs.email });
  const webhook = h('input', { type: 'url', name: 'webhookUrl', value: prefs.webhookUrl || '', placeholder: 'https://example.com/hooks/pixelpress', maxlength: 2048 });
  const secret = h('div', { class: 'secret', hidden: true, role: 'alert' });
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', {}, 'When a job ends'),
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h('div', { class: 'check field', 'data-field': 'email' }, email, h('label', { for: email.id }, `Email me at ${ctx.user.email}`),
      h('p', { class: 'field-error', hidden: true })),
    field('Webhook URL', webhook, { hint: 'Leave empty for no webhook. Deliveries are signed with a secret shown once.' }),
    h('button', { type: 'submit', class: 'primary' }, 'Save'),
    secret);
  const rows = h('tbody');
  const pageInfo = h('span', { class: 'muted' });
  const more = h('button', { type: 'button' }, 'Refresh');
  const testEmail = h('button', { type: 'button' }, 'Send a test email');
  const testWebhook = h('button', { type: 'button' }, 'Send a test webhook');

  main.append(
    h('h1', {}, 'Notifications'),
    form,
    h('section', { class: 'card', 'aria-labelledby': 'test-h' }, h('h2', { id: 'test-h' }, 'Try it'),
      h('p', { class: 'hint' }, 'Sends a message through your settings now.'),
      h('div', { class: 'actions' }, testEmail, testWebhook)),
    h('section', { 'aria-labelledby': 'history-h' },
      h('div', { class: 'heading' }, h('h2', { id: 'history-h' }, 'Sent so far'), more),
      h('div', { class: 'table' }, h('table', {},
        h('thead', {}, h('tr', {}, ['When', 'Type', 'Event', 'Message', 'Status', 'Attempts', 'Last error'].map((t) => h('th', { scope: 'col' }, t)))),
        rows)),
      pageInfo),
  );

  async function load() {
    const page = await get(`/notifications${query({ limit: 50 })}`);
    rows.replaceChildren(...(page.items.length ? page.items.map((n) => h('tr', { 'data-status': n.status },
      h('td', {}, when(n.created_at)), h('td', {}, n.notificationType), h('td', {}, n.event),
      h('td', {}, n.message), h('td', {}, h('span', { class: `badge ${n.status}` }, n.status)),
      h('td', {}, n.attempts), h('td', {}, n.lastError || '')))
      : [h('tr', {}, h('td', { colspan: 7 }, 'Nothing sent yet.'))]));
    pageInfo.textContent = page.total > page.items.length ? `The latest ${page.items.length} of ${page.total}.` : '';
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    secret.hidden = true;
    try {
      const saved = await put('/me/notifications', { email: email.checked, webhookUrl: webhook.value.trim() || null });
      if (saved.webhookSecret) {
        secret.replaceChildren(h('p', {}, 'Your webhook signing secret. Copy it now: it will not be shown again.'),
          h('code', { class: 'mono' }, saved.webhookSecret));
        secret.hidden = false;
      }
      announce('Notification settings saved.');
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showErrors(form, err);
    }
  });

  const sendTest = (kind) => async () => {
    try {
      await post('/notifications/send', { userId: ctx.user.id, message: 'A test from the Pixelpress console.', notificationType: kind });
      announce(`Test ${kind} queued.`);
      await load();
      setTimeout(() => load().catch(() => {}), 1500);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      announce(err.message, 'error');
    }
  };
  testEmail.addEventListener('click', sendTest('email'));
  testWebhook.addEventListener('click', sendTest('webhook'));
  more.addEventListener('click', () => load().catch((err) => announce(err.message, 'error')));
  await load();
}
