// pager.js - a table filled from a keyset-paged /admin/api/ list: the first
// page when the filters change, the next one on "More"; and, live, again
// when the event stream says the listed rows changed.
import { api, liveEvents, newestOnly, say, showLive } from './api.js';

// path: the list's path; filters(): {name: value} of the query; row(item):
// a <tr>.
export function pager({ path, filters, row }) {
  const body = document.querySelector('table tbody');
  const more = document.getElementById('more');
  let cursor = null;
  const newest = newestOnly();

  async function load(next = false) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filters())) if (v) q.set(k, v);
    if (next && cursor) q.set('cursor', cursor);
    const page = await newest(() => api('GET', `${path}?${q}`));
    if (!page) return;
    if (!next) body.replaceChildren();
    body.append(...page.results.map(row));
    cursor = page.next;
    more.hidden = !cursor;
  }
  const reload = () => load().catch((err) => say(err.message, true));
  more.addEventListener('click', () => load(true).catch((err) => say(err.message, true)));
  return reload;
}

// Re-read the first page when one of `events` arrives on the event stream
// (at most twice a second: one action can change several rows), after a
// `resync`, and after a reconnect (what changed meanwhile was not streamed).
export function followLive(reload, events) {
  let due = null;
  const soon = () => {
    if (due) return;
    due = setTimeout(() => {
      due = null;
      reload();
    }, 500);
  };
  const handlers = { resync: soon };
  for (const name of events) handlers[name] = soon;
  let opened = false;
  liveEvents(handlers, (up) => {
    showLive(up);
    if (up && opened) soon();
    if (up) opened = true;
  });
}
