import * as api from './api.js';
import { el, message } from './dom.js';

export function signInPage(onDone) {
  const input = el('input', { id: 'key', type: 'password', name: 'key', autocomplete: 'off',
    required: true, size: 50, 'aria-label': 'API key' });
  const status = el('div', { id: 'signin-status' });
  const form = el('form', { id: 'signin', class: 'card' },
    el('h1', { text: 'Sign in' }),
    el('p', { class: 'muted', text: 'Paste your hashguard API key. It is kept in this tab only (sessionStorage) and sent as a Bearer token.' }),
    el('label', { for: 'key', text: 'API key' }), input,
    el('button', { type: 'submit', id: 'signin-submit', text: 'Sign in' }),
    status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    status.replaceChildren(message('Checking…'));
    try {
      await api.signIn(input.value.trim());
      onDone();
    } catch (e) {
      status.replaceChildren(message(e.status === 401 ? 'Key refused.' : `Sign-in failed: ${e.message}`, 'error'));
    }
  });
  return form;
}
