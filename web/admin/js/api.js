// api.js - how every admin page talks to the server: JSON requests with the
// session cookies (a 401 refreshes the session once, as the API contract
// says, then sends the visitor to the sign-in page), the live event stream,
// and building DOM nodes from text only (never HTML: titles are shown as
// typed, markup included).

export class ApiError extends Error {
  constructor(status, body) {
    super(ApiError.describe(status, body));
    this.status = status;
    this.body = body;
  }

  // One readable line from a DRF-shaped error body.
  static describe(status, body) {
    if (body && typeof body.detail === 'string') return body.detail;
    if (body && typeof body === 'object') {
      return Object.entries(body).map(([k, v]) => `${k}: ${[].concat(v).join(' ')}`).join('; ');
    }
    return `The server answered ${status}.`;
  }
}

function toSignIn() {
  const next = location.pathname + location.search;
  location.assign('/admin/signin.html?next=' + encodeURIComponent(next));
}

export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res = await fetch(path, init);
  if (res.status === 401) {
    const refreshed = await fetch('/users/refresh/', { method: 'POST', credentials: 'same-origin' });
    if (refreshed.ok) {
      init.headers['X-Retry'] = '1';
      res = await fetch(path, init);
    }
  }
  if (res.status === 401 || res.status === 403) {
    toSignIn();
    throw new ApiError(res.status, null);
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// Reads that overlap may be answered out of order; an older answer shown
// last would put back states the page has already moved past.  newestOnly()
// gives a function that runs a read and resolves to its answer, or to null
// when a newer read was started meanwhile (that one will be shown).
export function newestOnly() {
  let started = 0;
  return async (read) => {
    const mine = ++started;
    const answer = await read();
    return mine === started ? answer : null;
  };
}

// Live events: handlers by event name (job, video, user, audit, resync,
// hello).  EventSource reconnects by itself after a server restart;
// `status` is told whether the stream is up.  A stream ends when the access
// token it was opened with expires (`expired`): the session is renewed
// (new cookies) before EventSource reconnects.  A stream refused outright
// (its token expired while the computer slept) is not retried by
// EventSource: renew, then open a new one; a session that cannot be renewed
// goes to the sign-in page.
function renewSession() {
  return fetch('/users/refresh/', { method: 'POST', credentials: 'same-origin' }).then((r) => r.ok, () => false);
}

export function liveEvents(handlers, status) {
  const open = () => {
    const source = new EventSource('/admin/api/events/');
    for (const [name, handle] of Object.entries(handlers)) {
      source.addEventListener(name, (e) => handle(JSON.parse(e.data)));
    }
    source.addEventListener('expired', () => { renewSession(); });
    source.onopen = () => status && status(true);
    source.onerror = () => {
      if (status) status(false);
      if (source.readyState !== EventSource.CLOSED) return;
      renewSession().then((renewed) => {
        if (renewed) setTimeout(open, 3000);
        else toSignIn();
      });
    };
  };
  open();
}

// el('td', {class: 'x', title: 't'}, 'text', childNode, ...): children that
// are strings become text nodes.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return node;
}

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

// The page's status line (errors and what just happened).
export function say(message, isError = false) {
  const line = document.getElementById('status');
  if (!line) return;
  line.textContent = message;
  line.className = isError ? 'status error' : 'status';
}

// The live indicator in the header.
export function showLive(up) {
  const dot = document.getElementById('live');
  if (!dot) return;
  dot.textContent = up ? 'live' : 'reconnecting…';
  dot.className = up ? 'live up' : 'live down';
}
