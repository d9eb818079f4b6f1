// The reviewer UI: a hash router over a handful of pages. No framework, no build step.
import * as api from './api.js';
import { el, clear, message } from './dom.js';
import { signInPage } from './signin.js';
import { queuePage } from './queue.js';
import { casePage } from './case.js';
import { auditPage } from './audit.js';
import { reportQueuePage, complianceCasePage } from './compliance.js';
import { exportsPage } from './exports.js';
import { adminPage } from './admin.js';
import { exchangesPage } from './exchanges.js';

const main = document.getElementById('main');

const home = { reviewer: '#/queue', compliance: '#/audit', admin: '#/admin' };

function showNav() {
  const r = api.role();
  document.getElementById('nav').hidden = !r;
  document.getElementById('nav-queue').hidden = r !== 'reviewer';
  document.getElementById('nav-audit').hidden = r !== 'compliance';
  document.getElementById('nav-reports').hidden = r !== 'compliance';
  document.getElementById('nav-exports').hidden = r !== 'compliance';
  document.getElementById('nav-admin').hidden = r !== 'admin';
  document.getElementById('nav-exchanges').hidden = r !== 'admin';
  document.getElementById('whoami').textContent = r ? `signed in as ${r}` : '';
}

// Each render builds a detached view and shows it only if no newer render started meanwhile
// (a sign-in changes the hash and so starts one; two views must never both land).
let generation = 0;

async function route() {
  const mine = ++generation;
  showNav();
  if (!api.key()) {
    clear(main).append(signInPage(() => {
      const target = home[api.role()] || '#/queue';
      if (location.hash === target) route();
      else location.hash = target;
    }));
    return;
  }
  const view = el('div', { class: 'view' });
  await render(view);
  if (mine === generation) main.replaceChildren(view);
}

async function render(main) {
  const [, page, id] = (location.hash || '').split('/');
  const params = new URLSearchParams((location.hash.split('?')[1]) || '');
  try {
    if (page?.startsWith('compliance-case')) await complianceCasePage(main, id?.split('?')[0], route);
    else if (page?.startsWith('compliance')) await reportQueuePage(main, params);
    else if (page === 'case' || page?.startsWith('case')) await casePage(main, id?.split('?')[0]);
    else if (page?.startsWith('audit')) await auditPage(main, params);
    else if (page?.startsWith('exports')) exportsPage(main);
    else if (page?.startsWith('admin')) await adminPage(main);
    else if (page?.startsWith('exchanges')) await exchangesPage(main);
    else if (page?.startsWith('queue')) await queuePage(main, params);
    else { location.hash = home[api.role()] || '#/queue'; return; }
  } catch (e) {
    if (e.status === 401) {
      api.signOut();
      setTimeout(route, 0);
      return;
    }
    main.append(message(e.status === 403 ? 'Your key\'s role cannot see this page.'
      : `Error: ${e.message}`, 'error'));
  }
}

document.getElementById('signout').addEventListener('click', () => {
  api.signOut();
  location.hash = '';
  route();
});
window.addEventListener('hashchange', route);
route();

