// Sign in and sign up.

import { ApiError, get, post } from '../api.js';
import { clearErrors, field, h, showErrors } from '../dom.js';

const CODE_FIELDS = {
  invalid_credentials: 'password',
  missing_login: 'login',
  username_taken: 'username',
  email_taken: 'email',
  account_disabled: 'login',
  rate_limited: '',
};

export async function render(main, ctx) {
  const signingUp = ctx.path === '/signup';
  const title = signingUp ? 'Create your account' : 'Sign in';
  const inputs = {
    login: h('input', { name: 'login', autocomplete: 'username', required: true, maxlength: 254 }),
    username: h('input', { name: 'username', autocomplete: 'username', required: true, maxlength: 64 }),
    email: h('input', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    password: h('input', {
      name: 'password',
      type: 'password',
      required: true,
      maxlength: 256,
      autocomplete: signingUp ? 'new-password' : 'current-password',
    }),
    remember: h('input', { name: 'remember_me', type: 'checkbox', checked: true }),
  };
  const submit = h('button', { type: 'submit', class: 'primary' }, signingUp ? 'Sign up' : 'Sign in');
  const form = h('form', { class: 'card auth', novalidate: true },
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    signingUp
      ? [field('Username', inputs.username), field('Email', inputs.email)]
      : field('Username or email', inputs.login, { names: 'login username email' }),
    field('Password', inputs.password, { hint: signingUp ? 'At least 8 characters.' : null }),
    h('div', { class: 'check' }, inputs.remember,
      h('label', { for: (inputs.remember.id = 'remember-me') }, 'Remember me on this device')),
    submit);
  main.append(
    h('h1', {}, title),
    form,
    h('p', { class: 'switch' }, signingUp
      ? ['Already registered? ', h('a', { href: '#/signin' }, 'Sign in')]
      : ['New here? ', h('a', { href: '#/signup' }, 'Create an account')]),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const missing = [...form.querySelectorAll('input[required]')].find((i) => !i.value.trim());
    if (missing) {
      showErrors(form, new ApiError(400, {
        error: 'This field is required.',
        details: [{ field: missing.name, message: 'This field is required.' }],
      }));
      missing.focus();
      return;
    }
    submit.disabled = true;
    try {
      const password = inputs.password.value;
      let login = inputs.login.value.trim();
      if (signingUp) {
        await post('/auth/register', {
          username: inputs.username.value.trim(),
          email: inputs.email.value.trim(),
          password,
        });
        login = inputs.username.value.trim();
      }
      const who = login.includes('@') ? { email: login } : { username: login };
      await post('/auth/login', { ...who, password, remember_me: inputs.remember.checked });
      ctx.signedIn(await get('/auth/me'));
      ctx.navigate('/library');
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showErrors(form, err, CODE_FIELDS);
      form.querySelector('[aria-invalid="true"]')?.focus();
    } finally {
      submit.disabled = false;
    }
  });
}
