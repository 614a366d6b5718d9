// users.js - the users page: search, activate/deactivate, staff on/off
// (either revokes the user's sessions at once), delete, resend the
// confirmation, send a password reset; live (`user` events).  The server refuses changes to
// one's own staff flag, activity or account, and says so.
import { api, el, say, when } from './api.js';
import { followLive, pager } from './pager.js';

const value = (id) => document.getElementById(id).value.trim();

async function act(label, method, path, body) {
  try {
    const res = await api(method, path, body);
    say(res && res.detail ? res.detail : `${label}: done.`);
  } catch (err) {
    say(`${label}: ${err.message}`, true);
  }
  reload();
}

function row(u) {
  const b = (label, fn, cls) => el('button', { type: 'button', class: cls, onclick: fn }, label);
  const path = `/admin/api/users/${u.id}/`;
  return el('tr', { 'data-id': u.id },
    el('td', {}, u.email), el('td', {}, u.username),
    el('td', {}, u.is_active ? 'yes' : 'no'), el('td', {}, u.is_staff ? 'yes' : 'no'),
    el('td', {}, u.email_confirmed ? 'yes' : 'no'), el('td', {}, u.favourites),
    el('td', {}, when(u.date_joined)), el('td', {}, when(u.last_login)),
    el('td', { class: 'actions' },
      b(u.is_active ? 'Deactivate' : 'Activate', () => act('Activity', 'PATCH', path, { is_active: !u.is_active })),
      b(u.is_staff ? 'Remove staff' : 'Make staff', () => act('Staff', 'PATCH', path, { is_staff: !u.is_staff })),
      u.email_confirmed ? null : b('Resend confirmation', () => act('Confirmation', 'POST', `${path}resend-confirmation/`)),
      b('Send password reset', () => act('Password reset', 'POST', `${path}send-password-reset/`)),
      b('Delete', () => {
        if (confirm(`Delete ${u.email} and their favourites?`)) act('Delete', 'DELETE', path);
      }, 'danger')));
}

const reload = pager({
  path: '/admin/api/users/',
  filters: () => ({ q: value('q'), is_staff: value('is_staff'), is_active: value('is_active') }),
  row,
});
for (const id of ['q', 'is_staff', 'is_active']) document.getElementById(id).addEventListener('change', reload);
reload();
followLive(reload, ['user']);
