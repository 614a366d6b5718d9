// video_detail.js - one video in a dialog of the videos page: its metadata
// to edit, a new source to upload (the generation changes and processing
// starts again), every rendition with a <video> preview (the URLs the
// public API hands out, /content/video-url/), the processing error of a failed video,
// its jobs (GET /admin/api/videos/<id>/jobs/) and "Retry"
// (POST /admin/api/videos/<id>/retry/: its failed tasks' jobs run again).
import { api, el, say } from './api.js';

let current = null; // the video shown

function field(label, input) {
  return el('label', {}, label, input);
}

// The video's jobs as the server knows them (its tasks of the current
// generation, each with its job in the queue): a table with Requeue on
// each finished job, and Retry for a failed video.
async function jobsSection(v) {
  const section = el('section', { id: 'video-jobs' }, el('h3', {}, 'Jobs'));
  let answer;
  try {
    answer = await api('GET', `/admin/api/videos/${v.id}/jobs/`);
  } catch (err) {
    section.append(el('p', { class: 'error' }, err.message));
    return section;
  }
  if (!answer.results.length) {
    section.append(el('p', {}, 'No job: nothing to process yet.'));
    return section;
  }
  const requeue = async (t) => {
    await api('POST', `/admin/api/jobs/${t.job_id}/requeue/`);
    say(`Requeued the ${t.task} job of “${v.title}”.`);
    refreshJobs(v);
  };
  section.append(el('table', { class: 'jobs' },
    el('thead', {}, el('tr', {}, ...['Task', 'State', 'Progress', 'Job', 'Attempts', 'Error', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...answer.results.map((t) => {
      const job = t.job || {};
      const canRequeue = job.state === 'failed' || job.state === 'done' || job.state === 'retrying';
      return el('tr', { 'data-job': t.job_id || '', 'data-task': t.task },
        el('td', {}, t.task),
        el('td', {}, el('span', { class: `badge ${t.state}` }, t.state)),
        el('td', {}, `${t.progress}%`),
        el('td', {}, t.job ? job.state : 'gone from the queue'),
        el('td', {}, job.attempts === undefined ? '' : String(job.attempts)),
        el('td', { class: 'error' }, t.error || job.error || ''),
        el('td', {}, canRequeue && v.processing_state !== 'failed'
          ? el('button', { type: 'button', onclick: () => requeue(t).catch((err) => say(err.message, true)) }, 'Requeue')
          : null));
    }))));
  return section;
}

function refreshJobs(v) {
  const old = document.getElementById('video-jobs');
  if (!old) return;
  jobsSection(v).then((fresh) => old.replaceWith(fresh));
}

// The server resets the failed tasks and requeues exactly their jobs.
async function retry(v) {
  const answer = await api('POST', `/admin/api/videos/${v.id}/retry/`);
  say(`Requeued ${answer.requeued.length} job(s) of “${v.title}”.`);
  document.getElementById('video-dialog').close();
}

// categories: the list to choose from; upload(file, done): the page's tus
// upload, calling done(uploadId); changed(): re-read the table.
export function showVideo(v, { categories, upload, changed }) {
  current = v;
  const dialog = document.getElementById('video-dialog');
  const title = el('input', { value: v.title, maxlength: 200, required: true, id: 'edit-title' });
  const description = el('textarea', { rows: 3, id: 'edit-description' });
  description.value = v.description || '';
  const category = el('select', { id: 'edit-category' },
    ...categories.map((c) => el('option', c === v.category ? { selected: true } : {}, c)));
  const save = el('button', { type: 'submit', id: 'edit-save' }, 'Save');
  const form = el('form', { id: 'edit-form' }, field('Title', title), field('Category', category),
    el('label', { class: 'wide' }, 'Description', description), save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const fresh = await api('PATCH', `/admin/api/videos/${v.id}/`,
        { title: title.value, description: description.value, category: category.value });
      say(`Saved “${fresh.title}”.`);
      dialog.close();
      changed();
    } catch (err) {
      say(err.message, true);
    }
  });

  const file = el('input', { type: 'file', accept: 'video/*', id: 'replace-file' });
  const replace = el('button', { type: 'button', id: 'replace-start' }, 'Upload new source');
  replace.addEventListener('click', () => {
    if (!file.files[0]) return;
    replace.disabled = true;
    upload(file.files[0], async (uploadId) => {
      try {
        await api('PATCH', `/admin/api/videos/${v.id}/`, { upload_id: uploadId });
        say(`New source of “${v.title}”: processing starts again.`);
        dialog.close();
        changed();
      } catch (err) {
        say(err.message, true);
      }
      replace.disabled = false;
    });
  });

  // converted_files holds storage keys; the player gets the URL the public
  // API hands out for each quality (presigned on S3).
  const qualities = Object.keys(v.converted_files || {});
  const previews = qualities.length
    ? el('div', { class: 'renditions' }, ...qualities.map((quality) => {
      const video = el('video', { controls: true, preload: 'metadata', 'data-quality': quality });
      api('GET', `/content/video-url/${v.id}/?quality=${encodeURIComponent(quality)}`)
        .then((r) => { video.src = r.url; })
        .catch((err) => say(`${quality}: ${err.message}`, true));
      return el('figure', {}, video, el('figcaption', {}, quality));
    }))
    : el('p', {}, 'No rendition yet.');

  const body = document.getElementById('video-dialog-body');
  body.replaceChildren(...[
    el('h2', {}, v.title),
    el('p', {}, `State: ${v.processing_state} · ${v.processing_progress}%`),
    v.processing_error ? el('pre', { class: 'error' }, v.processing_error) : null,
    v.processing_state === 'failed'
      ? el('button', { type: 'button', id: 'retry', onclick: () => retry(v).catch((err) => say(err.message, true)) },
        'Retry (requeue its failed jobs)')
      : null,
    form,
    el('h3', {}, 'Replace the source'),
    el('div', { class: 'replace' }, file, replace),
    el('h3', {}, 'Renditions'),
    previews,
    el('section', { id: 'video-jobs' }, el('h3', {}, 'Jobs'), el('p', {}, 'Reading…')),
  ].filter(Boolean));
  refreshJobs(v);
  dialog.showModal();
}

export function shownVideoId() {
  const dialog = document.getElementById('video-dialog');
  return dialog && dialog.open && current ? current.id : null;
}
