// The exchanges page (admin): each exchange's state, last success and error, counts and lag,
// from GET /v1/exchanges, with a "Sync now" button per exchange (POST
// /v1/exchanges/{name}/sync: audited; 409 when this node does not run it).
import * as api from './api.js';
import { el, table, message, when } from './dom.js';

function lag(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

function syncButton(name, status, refresh) {
  return el('button', {
    type: 'button',
    class: 'sync-now',
    'data-exchange': name,
    text: 'Sync now',
    onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        await api.post(`/v1/exchanges/${encodeURIComponent(name)}/sync`);
        status.replaceChildren(message(`Sync of ${name} started.`));
        setTimeout(refresh, 1500);
      } catch (e) {
        status.replaceChildren(message(e.status === 409
          ? `This node does not run ${name}: sync it from a node whose exchanges file names it.`
          : `Sync of ${name} failed to start: ${e.message}`, 'error'));
      } finally {
        ev.target.disabled = false;
      }
    },
  });
}

export async function exchangesPage(main) {
  const status = el('div', { id: 'exchanges-status' });
  const holder = el('div', { id: 'exchanges-table' });
  const refresh = async () => {
    try {
      const { exchanges } = await api.get('/v1/exchanges');
      holder.replaceChildren(exchanges.length
        ? table(['Exchange', 'Kind', 'Harm type', 'State', 'Last success', 'Last error', 'Entries',
          'Lag', 'Failures', ''], exchanges.map((x) => [
          x.name, x.kind, x.harm_type,
          el('span', { class: `state state-${x.state}`, text: x.state }),
          when(x.last_success_at), x.last_error ?? '—', x.entries, lag(x.lag_s), x.failures,
          syncButton(x.name, status, refresh)]))
        : message('No exchange is configured (exchanges.file).'));
    } catch (e) {
      holder.replaceChildren(message(`Error: ${e.message}`, 'error'));
    }
  };
  main.append(el('h1', { text: 'Exchanges' }),
    el('p', { class: 'muted', text: 'Hash lists this cluster follows from outside sources.' }),
    status, holder);
  await refresh();
}
