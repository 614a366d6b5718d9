// jobs.js - the job dashboard: counts per type and state, the stream,
// workers, one state's jobs in keyset pages, a job's detail, requeue,
// cancel and delete; kept live by the event stream.
import { api, el, liveEvents, newestOnly, say, showLive, when } from './api.js';

const STATES = ['outbox', 'queued', 'running', 'retrying', 'done', 'failed'];
let cursor = null;
const rows = new Map(); // job id -> tr

const newestSummary = newestOnly();
async function loadSummary() {
  const s = await newestSummary(() => api('GET', '/admin/api/jobs/summary/'));
  if (!s) return;
  document.getElementById('stream').textContent =
    `Stream ${s.stream.stream}: ${s.stream.length} entries, ${s.stream.pending} delivered and not yet acknowledged.`;
  const counts = document.getElementById('counts');
  counts.tHead.replaceChildren(el('tr', {}, el('th', {}, 'Type'), ...STATES.map((st) => el('th', {}, st))));
  const types = Object.keys(s.counts).sort();
  counts.tBodies[0].replaceChildren(
    ...types.map((t) => el('tr', {}, el('td', {}, t), ...STATES.map((st) => el('td', {}, s.counts[t][st] || 0)))),
    el('tr', { class: 'total' }, el('td', {}, 'all'), ...STATES.map((st) => el('td', {}, s.totals[st] || 0))));
  const now = Date.now();
  document.querySelector('#workers tbody').replaceChildren(...s.workers.map((w) => el('tr', {},
    el('td', {}, w.name || w.id), el('td', {}, w.host || ''), el('td', {}, w.pid ?? ''),
    el('td', {}, when(w.started_at)),
    el('td', {}, w.heartbeat_at ? `${Math.round((now - new Date(w.heartbeat_at)) / 1000)} s ago` : ''),
    el('td', {}, (w.jobs || []).join(' ')))));
}

function actions(job) {
  const b = (label, fn, cls) => el('button', { type: 'button', class: cls, onclick: fn }, label);
  const out = [b('Detail', () => detail(job.id))];
  if (['failed', 'retrying', 'done'].includes(job.state)) out.push(b('Requeue', () => change(job.id, 'requeue')));
  if (['queued', 'running', 'retrying'].includes(job.state)) out.push(b('Cancel', () => change(job.id, 'cancel'), 'danger'));
  out.push(b('Delete', () => change(job.id, 'delete'), 'danger'));
  return el('td', { class: 'actions' }, ...out);
}

function row(job) {
  return el('tr', { 'data-id': job.id, 'data-state': job.state },
    el('td', { class: 'mono' }, job.id), el('td', {}, job.type),
    el('td', { 'data-role': 'state' }, el('span', { class: `badge ${job.state}` }, job.state)),
    el('td', {}, `${job.attempts ?? 0} / ${job.max_attempts ?? ''}`),
    el('td', {}, el('progress', { max: 100, value: job.progress || 0, 'data-role': 'progress' })),
    el('td', {}, when(job.created_at)),
    el('td', { class: 'error' }, job.error ? job.error.slice(-200) : ''),
    actions(job));
}

const newestJobs = newestOnly();
async function loadJobs(more = false) {
  const state = document.getElementById('state').value;
  const type = document.getElementById('type').value.trim();
  const q = new URLSearchParams({ state, limit: '50' });
  if (type) q.set('type', type);
  if (more && cursor) q.set('cursor', cursor);
  const page = await newestJobs(() => api('GET', `/admin/api/jobs/?${q}`));
  if (!page) return;
  const body = document.querySelector('#jobs tbody');
  if (!more) {
    rows.clear();
    body.replaceChildren();
  }
  for (const job of page.results) {
    const tr = row(job);
    rows.set(job.id, tr);
    body.append(tr);
  }
  cursor = page.next;
  document.getElementById('more').hidden = !cursor;
}

async function detail(id) {
  const job = await api('GET', `/admin/api/jobs/${id}/`);
  document.getElementById('detail-text').textContent = JSON.stringify(job, null, 2);
  document.getElementById('detail').showModal();
}

async function change(id, what) {
  if (what !== 'requeue' && !confirm(`${what === 'cancel' ? 'Cancel' : 'Delete'} job ${id}?`)) return;
  try {
    if (what === 'delete') await api('DELETE', `/admin/api/jobs/${id}/`);
    else await api('POST', `/admin/api/jobs/${id}/${what}/`);
    say(`Job ${id}: ${what} done.`);
  } catch (err) {
    say(err.message, true);
  }
  refresh();
}

// Many events per second while jobs run: the summary is re-read at most
// once a second.
let summaryDue = null;
function summarySoon() {
  if (summaryDue) return;
  summaryDue = setTimeout(() => {
    summaryDue = null;
    loadSummary().catch((err) => say(err.message, true));
  }, 1000);
}

function onJob(e) {
  const tr = rows.get(e.id);
  const shownState = document.getElementById('state').value;
  if (tr && e.state === tr.dataset.state && e.state === 'running') {
    tr.querySelector('[data-role=progress]').value = e.progress;
  } else if (tr || e.state === shownState) {
    loadJobsSoon();
  }
  if (!tr || e.state !== tr.dataset.state) summarySoon();
}

let jobsDue = null;
function loadJobsSoon() {
  if (jobsDue) return;
  jobsDue = setTimeout(() => {
    jobsDue = null;
    loadJobs().catch((err) => say(err.message, true));
  }, 300);
}

function refresh() {
  loadSummary().catch((err) => say(err.message, true));
  loadJobs().catch((err) => say(err.message, true));
}

document.getElementById('state').addEventListener('change', () => loadJobs().catch((err) => say(err.message, true)));
document.getElementById('type').addEventListener('change', () => loadJobs().catch((err) => say(err.message, true)));
document.getElementById('more').addEventListener('click', () => loadJobs(true).catch((err) => say(err.message, true)));
refresh();
let opened = false;
liveEvents({ job: onJob, resync: refresh }, (up) => {
  showLive(up);
  if (up && opened) refresh();
  if (up) opened = true;
});
