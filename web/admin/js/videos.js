// videos.js - the videos page: the table with each video's state and
// processing progress kept live by the event stream, and a new video from a
// file sent with tus-js-client (resumable: a reload or a lost network goes
// on from the server's offset, found by the upload's fingerprint).
import { api, el, liveEvents, newestOnly, say, showLive, when } from './api.js';
import { showVideo } from './video_detail.js';

const CATEGORIES = ['Action', 'Adventure', 'Animation', 'Biographical', 'Comedy', 'Crime', 'Documentary',
  'Drama', 'Educational', 'Erotic', 'Fantasy', 'Historical', 'Horror', 'Musical', 'Mystery', 'Other',
  'Philosophical', 'Political', 'Reality', 'Romance', 'Science fiction', 'Sports', 'Superhero', 'Surreal',
  'Thriller', 'Western'];
const CHUNK = 5 * 1024 * 1024;

let videos = [];
let cursor = null;
// The server's order (GET /admin/api/videos/?sort=): a column name, "-" for
// descending.  A header's button sorts by its column; again, the other way.
let sort = '-created';
const rows = new Map(); // id -> tr

function progressCell(v) {
  return el('td', {}, el('progress', { max: 100, value: v.processing_progress, 'data-role': 'progress' }),
    el('span', { 'data-role': 'percent' }, ` ${v.processing_progress}%`));
}

// Bytes as people read them; 0 is "not known yet" (no task finished).
function bytes(n) {
  if (!n) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

function sizeCell(v) {
  return el('td', { 'data-role': 'size', title: 'source · renditions' }, bytes(v.source_size),
    v.renditions_size ? el('div', { class: 'muted' }, `+ ${bytes(v.renditions_size)} renditions`) : null);
}

function row(v) {
  const thumb = v.image_url ? el('img', { src: v.image_url, alt: '', class: 'thumb' }) : '';
  const tr = el('tr', { 'data-id': v.id, 'data-state': v.processing_state },
    el('td', {}, thumb),
    el('td', { class: 'title' },
      el('button', { type: 'button', class: 'link', onclick: () => showVideo(v, detailHooks) }, v.title),
      v.processing_error ? el('div', { class: 'error' }, v.processing_error) : null),
    el('td', {}, v.category),
    el('td', { 'data-role': 'state' }, el('span', { class: `badge ${v.processing_state}` }, v.processing_state)),
    progressCell(v),
    sizeCell(v),
    el('td', {}, when(v.created_at)),
    el('td', {}, el('button', { type: 'button', class: 'danger', onclick: () => remove(v) }, 'Delete')));
  return tr;
}

function render() {
  const body = document.querySelector('#videos tbody');
  rows.clear();
  body.replaceChildren(...videos.map((v) => {
    const tr = row(v);
    rows.set(v.id, tr);
    return tr;
  }));
  document.getElementById('more').hidden = !cursor;
}

// Video events that came while a list was being read: the list may have
// been read before them, so they are applied again to what it shows.
let listsReading = 0;
let eventsDuringRead = [];
const newestList = newestOnly();

// The first page (or, with more, the next one), filtered by the server.
async function load(more = false) {
  const q = new URLSearchParams({ limit: '50', sort });
  const filters = { q: 'search', state: 'state-filter', category: 'category-filter' };
  for (const [name, id] of Object.entries(filters)) {
    const v = document.getElementById(id).value.trim();
    if (v) q.set(name, v);
  }
  if (more && cursor) q.set('cursor', cursor);
  listsReading++;
  let page;
  try {
    page = await newestList(() => api('GET', `/admin/api/videos/?${q}`));
  } finally {
    listsReading--;
  }
  if (!page) return;
  videos = more ? videos.concat(page.results) : page.results;
  cursor = page.next;
  render();
  const missed = eventsDuringRead;
  eventsDuringRead = [];
  for (const e of missed) applyVideoEvent(e);
}

// Re-read the first page at most once a second (events of videos not shown
// may change what the filters select).
let loadDue = null;
function loadSoon() {
  if (loadDue) return;
  loadDue = setTimeout(() => {
    loadDue = null;
    load().catch((err) => say(err.message, true));
  }, 1000);
}

// A video's state changed: its thumbnail and error text come with the new
// state, so the video is read again; of overlapping reads of one video only
// the newest answer is shown.
const newestVideo = new Map(); // id -> newestOnly()
function refreshRow(id) {
  if (!newestVideo.has(id)) newestVideo.set(id, newestOnly());
  newestVideo.get(id)(() => api('GET', `/admin/api/videos/${id}/`)).then((fresh) => {
    const v = videos.find((x) => x.id === id);
    const tr = rows.get(id);
    if (!fresh || !v || !tr || !tr.isConnected) return;
    Object.assign(v, fresh);
    const replacement = row(v);
    tr.replaceWith(replacement);
    rows.set(id, replacement);
  }).catch((err) => say(err.message, true));
}

function onVideo(e) {
  if (listsReading) eventsDuringRead.push(e);
  applyVideoEvent(e);
}

// A video event: the row follows at once; a video new to the page or
// removed from it reloads the list (once: applied again after a read, an
// event the list already shows changes nothing).
function applyVideoEvent(e) {
  const v = videos.find((x) => x.id === e.id);
  if (e.op === 'delete' || !v) {
    if (e.op === 'insert' || (e.op === 'delete' && v)) load().catch((err) => say(err.message, true));
    else if (e.op === 'update') loadSoon();
    return;
  }
  const changedState = v.processing_state !== e.state;
  v.processing_state = e.state;
  v.processing_progress = e.progress;
  const tr = rows.get(e.id);
  if (!tr) return;
  if (changedState) {
    tr.dataset.state = e.state;
    refreshRow(e.id);
    return;
  }
  tr.querySelector('[data-role=progress]').value = e.progress;
  tr.querySelector('[data-role=percent]').textContent = ` ${e.progress}%`;
}

async function remove(v) {
  if (!confirm(`Delete “${v.title}” and all its files?`)) return;
  try {
    await api('DELETE', `/admin/api/videos/${v.id}/`);
    say(`Deleted “${v.title}”.`);
    await load();
  } catch (err) {
    say(err.message, true);
  }
}

// ------------------------------------------------------------ uploading

let upload = null;
let paused = false;

function uploadText(text) {
  document.getElementById('upload-text').textContent = text;
}

function speedometer() {
  let lastBytes = 0;
  let lastTime = performance.now();
  let rate = 0;
  return (bytes) => {
    const now = performance.now();
    if (now - lastTime >= 500) {
      rate = ((bytes - lastBytes) * 1000) / (now - lastTime);
      lastBytes = bytes;
      lastTime = now;
    }
    return rate;
  };
}

function mib(n) {
  return (n / 1048576).toFixed(1);
}

async function createVideo(uploadId) {
  const body = {
    title: document.getElementById('title').value,
    description: document.getElementById('description').value,
    category: document.getElementById('category').value,
    upload_id: uploadId,
  };
  const v = await api('POST', '/admin/api/videos/', body);
  say(`Created “${v.title}”: processing starts now.`);
  document.getElementById('upload-form').reset();
  // Shown at once, as created; the list read next places it among the
  // filters and pages.
  if (!videos.some((x) => x.id === v.id)) {
    videos.unshift(v);
    render();
  }
  await load();
}

// Send a file with tus-js-client, showing progress and speed; done(id)
// with the finished upload's id.  The same file again (a reload, a lost
// network) goes on from the server's offset.
function sendFile(file, done) {
  const bar = document.getElementById('upload-bar');
  const speed = speedometer();
  const up = new window.tus.Upload(file, {
    endpoint: '/admin/api/uploads/',
    chunkSize: CHUNK,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    metadata: { filename: file.name, filetype: file.type },
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    onProgress(sent, total) {
      bar.value = total ? (sent * 100) / total : 0;
      uploadText(`${mib(sent)} of ${mib(total)} MiB · ${mib(speed(sent))} MiB/s`);
    },
    onError(err) {
      say(`Upload failed: ${err.message}`, true);
      document.getElementById('start').disabled = false;
    },
    onSuccess() {
      uploadText('Uploaded.');
      document.getElementById('pause').disabled = true;
      document.getElementById('start').disabled = false;
      done(up.url.replace(/\/+$/, '').split('/').pop());
    },
  });
  document.getElementById('start').disabled = true;
  document.getElementById('pause').disabled = false;
  paused = false;
  up.findPreviousUploads().then((previous) => {
    if (previous.length) {
      up.resumeFromPreviousUpload(previous[0]);
      say('Resuming the earlier upload of this file.');
    }
    up.start();
  });
  upload = up;
}

function startUpload(event) {
  event.preventDefault();
  const file = document.getElementById('file').files[0];
  if (!file) return;
  sendFile(file, (id) => createVideo(id).catch((err) => say(err.message, true)));
}

const detailHooks = {
  categories: CATEGORIES,
  upload: sendFile,
  changed: () => load().catch((err) => say(err.message, true)),
};

function togglePause() {
  if (!upload) return;
  paused = !paused;
  document.getElementById('pause').textContent = paused ? 'Resume' : 'Pause';
  if (paused) upload.abort();
  else upload.start();
}

// ------------------------------------------------------------------ start

// A header's button: sort by its column (titles A→Z, newest and largest
// first), or the other way when it sorts already.
function sortBy(column) {
  const first = column === 'title' ? column : `-${column}`;
  const flipped = first.startsWith('-') ? column : `-${column}`;
  sort = sort === first ? flipped : first;
  for (const button of document.querySelectorAll('#videos button.sort')) {
    const mine = sort.replace(/^-/, '') === button.dataset.sort;
    button.parentElement.setAttribute('aria-sort', !mine ? 'none' : sort.startsWith('-') ? 'descending' : 'ascending');
  }
  load().catch((err) => say(err.message, true));
}
for (const button of document.querySelectorAll('#videos button.sort')) {
  button.addEventListener('click', () => sortBy(button.dataset.sort));
}

const select = document.getElementById('category');
select.replaceChildren(...CATEGORIES.map((c) => el('option', {}, c)));
document.getElementById('category-filter').append(...CATEGORIES.map((c) => el('option', {}, c)));
document.getElementById('upload-form').addEventListener('submit', startUpload);
document.getElementById('pause').addEventListener('click', togglePause);
const reload = () => load().catch((err) => say(err.message, true));
let typing = null;
document.getElementById('search').addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(reload, 250);
});
document.getElementById('state-filter').addEventListener('change', reload);
document.getElementById('category-filter').addEventListener('change', reload);
document.getElementById('more').addEventListener('click', () => load(true).catch((err) => say(err.message, true)));
load().catch((err) => say(err.message, true));
let opened = false;
liveEvents({
  video: onVideo,
  resync: () => load().catch((err) => say(err.message, true)),
}, (up) => {
  showLive(up);
  // Back after a server restart: what changed meanwhile was not streamed.
  if (up && opened) load().catch((err) => say(err.message, true));
  if (up) opened = true;
});
