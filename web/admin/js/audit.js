// audit.js - the audit page: every staff action, newest first, narrowed
// by action and object; a new row appears as it is written (`audit` events).
import { el, when } from './api.js';
import { followLive, pager } from './pager.js';

const value = (id) => document.getElementById(id).value.trim();

function row(a) {
  return el('tr', {},
    el('td', {}, when(a.at)), el('td', {}, a.actor_email || `user ${a.actor_id}`), el('td', {}, a.action),
    el('td', {}, `${a.object_type} ${a.object_id}`), el('td', {}, a.client_ip),
    el('td', { class: 'mono' }, JSON.stringify(a.detail)));
}

const reload = pager({
  path: '/admin/api/audit/',
  filters: () => ({ action: value('action'), object_type: value('object_type'), object_id: value('object_id') }),
  row,
});
for (const id of ['action', 'object_type', 'object_id']) document.getElementById(id).addEventListener('change', reload);
reload();
followLive(reload, ['audit']);
