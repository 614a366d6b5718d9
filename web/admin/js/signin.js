// signin.js - the sign-in page every admin page is replaced by for a
// visitor who is not signed in as staff: it signs in through /users/login/,
// or renews a session that only lost its access token, then checks staff
// rights with an /admin/api/ call before going on.
import { say } from './api.js';

function next() {
  const n = new URLSearchParams(location.search).get('next') || '';
  // Only a path of this admin: never an address elsewhere.
  return /^\/admin\/[A-Za-z0-9._\/?=&%-]*$/.test(n) ? n : '/admin/';
}

// 'staff', 'not-staff' or 'signed-out'.
async function standing() {
  const res = await fetch('/admin/api/audit/?limit=1', { credentials: 'same-origin' });
  if (res.ok) return 'staff';
  return res.status === 403 ? 'not-staff' : 'signed-out';
}

async function goIfStaff() {
  const s = await standing();
  if (s === 'staff') {
    location.replace(next());
    return true;
  }
  if (s === 'not-staff') say('This account is not a staff account: ask an administrator for access.', true);
  return false;
}

async function signIn(event) {
  event.preventDefault();
  const email = document.getElementById('email').value;
  const password = document.getElementById('password').value;
  say('Signing in…');
  const res = await fetch('/users/login/', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) {
    say(res.status === 429 ? 'Too many attempts: wait a minute.' : 'Wrong email or password.', true);
    return;
  }
  await goIfStaff();
}

document.getElementById('signin-form').addEventListener('submit', (e) => {
  signIn(e).catch((err) => say(String(err), true));
});

// A session whose access token expired: renew it quietly.
(async () => {
  if (await goIfStaff()) return;
  const r = await fetch('/users/refresh/', { method: 'POST', credentials: 'same-origin' });
  if (r.ok) await goIfStaff();
})().catch(() => {});
