// admin.mjs - drives the admin pages in Debian's chromium through
// playwright-core, as a staff member would: signs in on the sign-in page,
// uploads a clip through the videos page (tus-js-client), watches its row go
// to ready through the event stream alone (the page does not poll), shows a
// title with markup as text, shows sizes and the video's own jobs, sorts by
// clicking a header, and opens the jobs dashboard.  Run by
// tests/e2e/check_admin_browser, which starts the server and workers and
// passes, in the environment:
//   VF_ADMIN_BASE      http://127.0.0.1:PORT
//   VF_ADMIN_EMAIL, VF_ADMIN_PASSWORD   a staff account
//   VF_ADMIN_CLIP      the clip to upload
//   VF_ADMIN_CORRUPT   a file that is no video
//   VF_ADMIN_LARGE     a file of several tus chunks (5 MiB each)
//   VF_ADMIN_VIEWER, VF_ADMIN_VIEWER_PASSWORD   an account that is not staff
//   VF_ADMIN_SHOTS     the folder screenshots are kept in
//   VF_CHROMIUM        the browser (default /usr/bin/chromium)
// Prints one line per step and exits 0 when every step passed.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env('VF_ADMIN_BASE');
const shots = env('VF_ADMIN_SHOTS');
const title = `Browser clip ${process.pid}`;
const markup = '<img src=x onerror=alert(1)>';
const READY_MS = 240000;

mkdirSync(shots, { recursive: true });

// Every state the row of `title` shows, as it changes, until ready or
// failed, and every value its progress bar showed (a promise, started
// before the row exists).  A MutationObserver sees each change of the
// table, however briefly it was shown.  With `leaving`, a row that is in
// that state when watching starts is watched until it has left it.
function watchRow(page, rowTitle, leaving = null) {
  return page.evaluate(
    ({ t, ms, leaving }) => new Promise((resolve, reject) => {
      const states = [];
      const progress = [];
      let left = !leaving;
      const table = document.querySelector('#videos tbody');
      const watcher = new MutationObserver(() => look());
      const timer = setTimeout(() => {
        watcher.disconnect();
        reject(new Error(`still ${states.join(' → ') || 'no row'} after ${ms} ms`));
      }, ms);
      function look() {
        const tr = [...table.querySelectorAll('tr')]
          .find((r) => r.querySelector('.title')?.firstChild?.textContent === t);
        const st = tr?.dataset.state;
        if (st && st !== leaving) left = true;
        if (!left) return;
        if (st && states[states.length - 1] !== st) states.push(st);
        const bar = tr?.querySelector('[data-role=progress]');
        const value = bar ? Number(bar.getAttribute('value')) : NaN;
        if (st === 'processing' && !Number.isNaN(value) && progress[progress.length - 1] !== value) progress.push(value);
        if (st === 'ready' || st === 'failed') {
          watcher.disconnect();
          clearTimeout(timer);
          resolve({ states, progress });
        }
      }
      watcher.observe(table, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-state', 'value'] });
      look();
    }),
    { t: rowTitle, ms: READY_MS, leaving },
  );
}
const step = (msg) => console.log(`admin.mjs: ${msg}`);

const browser = await chromium.launch({
  executablePath: process.env.VF_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // root in CI has no user namespace for chromium's sandbox.
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
let failed = false;
let page = null;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  const problems = [];
  let confirmDelete = false; // the one dialog the test expects
  page.on('dialog', (d) => {
    if (confirmDelete && d.type() === 'confirm') {
      confirmDelete = false;
      d.accept();
      return;
    }
    problems.push(`a dialog opened: ${d.message()}`);
    d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('console', (m) => {
    // A 401/403 answer is logged too: the sign-in page asks on purpose.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });

  // 1. Not signed in: /admin/ is the sign-in page.
  await page.goto(`${base}/admin/`);
  await page.waitForSelector('#signin-form');
  await page.screenshot({ path: join(shots, '1-signin.png'), fullPage: true });
  await page.fill('#email', env('VF_ADMIN_EMAIL'));
  await page.fill('#password', env('VF_ADMIN_PASSWORD'));
  await page.click('#signin');
  await page.waitForSelector('#upload-form', { timeout: 30000 });
  await page.waitForSelector('#live.up', { timeout: 30000 });
  step('signed in; the videos page is live');

  // 2. Upload through the page; the row must reach ready by events alone.
  const requests = [];
  page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
  await page.setInputFiles('#file', env('VF_ADMIN_CLIP'));
  await page.fill('#title', title);
  await page.selectOption('#category', 'Documentary');
  await page.fill('#description', 'Uploaded by the browser test.');
  // Every state the row shows, as it changes, watched from before the
  // upload starts (the row appears once the video is created).
  const watching = watchRow(page, title);
  await page.click('#start');
  const row = page.locator('#videos tbody tr', { hasText: title });
  await row.waitFor({ timeout: 60000 });
  step('uploaded with tus-js-client; the video was created');
  await page.screenshot({ path: join(shots, '2-videos-processing.png'), fullPage: true });
  const { states, progress } = await watching;
  step(`the row went ${states.join(' → ')}, its progress bar showing ${progress.join(', ')} %`);
  if (states[states.length - 1] !== 'ready') throw new Error(`the video ended ${states.join(' → ')}`);
  if (states.length < 2) throw new Error('the row never showed a state before ready');
  if (!progress.some((p) => p > 0 && p < 100)) throw new Error(`the progress bar did not move: ${progress.join(', ')}`);
  // Live means pushed: the page asked for the list only when it loaded and
  // after the upload, and read single videos only when events said so.
  const lists = requests.filter((r) => r === 'GET /admin/api/videos/').length;
  if (lists > 6) throw new Error(`the page re-read the list ${lists} times: polling?`);
  await page.screenshot({ path: join(shots, '3-videos-ready.png'), fullPage: true });

  // Its size: the source's and the renditions' bytes.
  const size = await row.locator('[data-role=size]').innerText();
  if (!/\d (B|KiB|MiB)/.test(size) || !size.includes('renditions')) throw new Error(`the size column shows: ${size}`);
  step(`the row shows its size: ${size.replace(/\n/g, ' ')}`);

  // 3. The video's dialog: its jobs (all done), play the 720p rendition
  // past 2 s, then rename it and see the new title in the public catalogue.
  const id = await row.getAttribute('data-id');
  await row.locator('.title button').click();
  const preview = page.locator('#video-dialog video[data-quality="720p"]');
  await preview.waitFor({ timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('#video-dialog video[data-quality="720p"]').src, null,
    { timeout: 30000 });
  const played = await preview.evaluate(async (v) => {
    v.muted = true;
    try {
      await v.play();
      return 'ok';
    } catch (err) {
      const r = await fetch(v.currentSrc || v.src, { credentials: 'same-origin' });
      return `${err.message} (${v.src}: ${r.status} ${r.headers.get('content-type')}, error ${v.error && v.error.code})`;
    }
  });
  if (played !== 'ok') throw new Error(`the 720p rendition does not play: ${played}`);
  await page.waitForFunction(
    () => document.querySelector('#video-dialog video[data-quality="720p"]').currentTime > 2, null,
    { timeout: 60000 });
  await page.locator('#video-jobs tbody tr').first().waitFor({ timeout: 30000 });
  const jobStates = await page.locator('#video-jobs tbody tr td:nth-child(2)').allInnerTexts();
  if (jobStates.length !== 3 || jobStates.some((st) => st !== 'done')) {
    throw new Error(`the dialog's jobs: ${jobStates.join(', ')} (want three done)`);
  }
  await page.screenshot({ path: join(shots, '4-video-dialog.png'), fullPage: true });
  const dialogText = await page.locator('#video-dialog-body').innerText();
  if (dialogText.includes('null') || dialogText.includes('undefined')) throw new Error(`the dialog shows: ${dialogText}`);
  step('the 720p rendition played past 2 s in the video dialog');
  const renamed = `${title} (renamed)`;
  await page.fill('#edit-title', renamed);
  await page.click('#edit-save');
  await page.locator('#videos tbody tr .title', { hasText: renamed }).waitFor({ timeout: 30000 });
  await page.waitForFunction(async (t) => {
    const r = await fetch('/content/', { credentials: 'same-origin' });
    return r.ok && (await r.text()).includes(t);
  }, renamed, { timeout: 30000, polling: 250 });
  step('renamed in the dialog; GET /content/ shows the new title');

  // 3b. A new source from the dialog: the generation changes and the row
  // goes through processing to ready again.
  const generation = async () => page.evaluate(async (v) =>
    (await (await fetch(`/admin/api/videos/${v}/jobs/`, { credentials: 'same-origin' })).json()).generation, id);
  const firstGeneration = await generation();
  const rewatching = watchRow(page, renamed, 'ready');
  await page.locator(`#videos tr[data-id="${id}"] .title button`).click();
  await page.setInputFiles('#replace-file', env('VF_ADMIN_CLIP'));
  await page.click('#replace-start');
  const again = await rewatching;
  if (again.states[again.states.length - 1] !== 'ready') throw new Error(`the new source went ${again.states.join(' → ')}`);
  const secondGeneration = await generation();
  if (!(secondGeneration > firstGeneration)) throw new Error(`the generation went ${firstGeneration} → ${secondGeneration}`);
  step(`replaced the source in the dialog: generation ${firstGeneration} → ${secondGeneration}, the row went ${again.states.join(' → ')}`);

  // 4. A title with markup is shown as text (and no dialog opens).
  const status = await page.evaluate(async ({ id, markup }) => {
    const r = await fetch(`/admin/api/videos/${id}/`, {
      method: 'PATCH', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title: markup }),
    });
    return r.status;
  }, { id, markup });
  if (status !== 200) throw new Error(`renaming answered ${status}`);
  await page.reload();
  const cell = page.locator(`#videos tr[data-id="${id}"] .title`);
  await cell.waitFor();
  const shown = await cell.evaluate((td) => ({ text: td.firstChild.textContent, imgs: td.querySelectorAll('img').length }));
  if (shown.text !== markup || shown.imgs !== 0) throw new Error(`the title was not shown as text: ${JSON.stringify(shown)}`);
  step('a title with markup shows as text');

  // 5. A file that is no video: the row ends failed, with the error shown.
  const corrupt = `Corrupt clip ${process.pid}`;
  await page.setInputFiles('#file', env('VF_ADMIN_CORRUPT'));
  await page.fill('#title', corrupt);
  await page.selectOption('#category', 'Other');
  const watchingCorrupt = watchRow(page, corrupt);
  await page.click('#start');
  const corruptStates = (await watchingCorrupt).states;
  if (corruptStates[corruptStates.length - 1] !== 'failed') throw new Error(`the corrupt file went ${corruptStates.join(' → ')}`);
  const shownError = await page.locator('#videos tbody tr', { hasText: corrupt }).locator('.error').innerText();
  if (!shownError.trim()) throw new Error('the failed row shows no error');
  step(`a corrupt upload went ${corruptStates.join(' → ')}, showing: ${shownError.slice(0, 80).replace(/\n/g, ' ')}`);
  // Its dialog lists its own jobs, the failed one with the error, and Retry.
  await page.locator('#videos tbody tr', { hasText: corrupt }).locator('.title button').click();
  const failedTask = page.locator('#video-jobs tbody tr', { hasText: 'failed' }).first();
  await failedTask.waitFor({ timeout: 30000 });
  if (!(await failedTask.locator('td.error').innerText()).trim()) throw new Error('the failed task shows no error');
  if (!(await page.locator('#retry').count())) throw new Error('no Retry for the failed video');
  await page.screenshot({ path: join(shots, '4b-failed-dialog.png'), fullPage: true });
  await page.locator('#video-dialog form[method=dialog] button').click();
  step('the failed video\'s dialog lists its jobs with the error, and offers Retry');

  // 6. The jobs dashboard: its failed job, requeued from there; the clip's
  // jobs are done, a worker is listed.
  await page.goto(`${base}/admin/jobs.html`);
  const failedRow = page.locator('#jobs tbody tr[data-state="failed"]').first();
  await failedRow.waitFor({ timeout: 30000 });
  const failedId = await failedRow.getAttribute('data-id');
  if (!(await failedRow.locator('.error').innerText()).trim()) throw new Error('the failed job shows no error');
  await failedRow.locator('button', { hasText: 'Requeue' }).click();
  await page.waitForFunction(async (id) => {
    const r = await fetch(`/admin/api/audit/?action=job.requeue&object_id=${id}`, { credentials: 'same-origin' });
    return r.ok && (await r.json()).results.length === 1;
  }, failedId, { timeout: 30000, polling: 250 });
  await page.screenshot({ path: join(shots, '5-jobs-failed.png'), fullPage: true });
  step(`requeued the failed job ${failedId} from the dashboard (audited)`);
  await page.selectOption('#state', 'done');
  await page.waitForSelector('#jobs tbody tr', { timeout: 30000 });
  await page.waitForSelector('#workers tbody tr', { timeout: 30000 });
  await page.waitForSelector('#live.up', { timeout: 30000 });
  await page.screenshot({ path: join(shots, '6-jobs-done.png'), fullPage: true });
  step('the jobs dashboard lists done jobs and the worker');

  // 7. A reload in the middle of an upload: choosing the same file again
  // goes on from the server's offset (tus-js-client's fingerprint), and the
  // upload is created once.
  await page.goto(`${base}/admin/videos.html`);
  await page.waitForSelector('#live.up', { timeout: 30000 });
  let patches = 0;
  let held = null;
  const heldSeen = new Promise((resolve) => {
    page.route('**/admin/api/uploads/**', (route) => {
      if (route.request().method() === 'PATCH' && ++patches === 2) {
        held = route; // the second chunk never arrives: the page reloads meanwhile
        resolve();
        return;
      }
      route.continue();
    });
  });
  const large = `Large clip ${process.pid}`;
  await page.setInputFiles('#file', env('VF_ADMIN_LARGE'));
  await page.fill('#title', large);
  await page.click('#start');
  await heldSeen;
  await page.unroute('**/admin/api/uploads/**');
  await page.reload();
  held.abort().catch(() => {});
  await page.waitForSelector('#live.up', { timeout: 30000 });
  const before = requests.length;
  await page.setInputFiles('#file', env('VF_ADMIN_LARGE'));
  await page.fill('#title', large);
  await page.click('#start');
  await page.locator('#videos tbody tr', { hasText: large }).waitFor({ timeout: 60000 });
  const after = requests.slice(before);
  const creations = requests.filter((r) => r === 'POST /admin/api/uploads/').length;
  if (!after.some((r) => r.startsWith('HEAD /admin/api/uploads/'))) throw new Error(`no resume: ${after.join(', ')}`);
  if (creations !== 4) throw new Error(`${creations} uploads created in all (want 4: clip, its replacement, corrupt, large once)`);
  step('reloaded mid-upload; the same file went on from the server\'s offset and the video was created');

  // 7b. Sorting by a header: the server's order (?sort=), both ways.  The
  // header says how it sorts; the two rows of this run come in that order.
  const order = async () => (await page.locator('#videos tbody tr .title button').allInnerTexts())
    .filter((t) => t === corrupt || t === large);
  const sortClick = async (column, want, titles) => {
    const answered = page.waitForResponse((r) => r.url().includes(`sort=${want}&`) || r.url().endsWith(`sort=${want}`));
    await page.click(`#videos button.sort[data-sort="${column}"]`);
    await answered;
    const how = want.startsWith('-') ? 'descending' : 'ascending';
    if ((await page.locator(`#videos th:has(button[data-sort="${column}"])`).getAttribute('aria-sort')) !== how) {
      throw new Error(`the ${column} header does not say ${how}`);
    }
    await page.waitForFunction((w) => {
      const shown = [...document.querySelectorAll('#videos tbody tr .title button')].map((b) => b.textContent)
        .filter((t) => w.includes(t));
      return shown.join('|') === w.join('|');
    }, titles, { timeout: 30000 }).catch(async () => {
      throw new Error(`sorted by ${want}: ${(await order()).join(', ')} (want ${titles.join(', ')})`);
    });
  };
  await sortClick('title', 'title', [corrupt, large]);
  await sortClick('title', '-title', [large, corrupt]);
  // Largest first: the 12 MiB file before the small corrupt one, once the
  // pipeline has looked at both sources.
  await page.waitForFunction(async (titles) => {
    const r = await fetch('/admin/api/videos/?limit=200&sort=-size', { credentials: 'same-origin' });
    const rows = (await r.json()).results.filter((v) => titles.includes(v.title));
    return rows.length === 2 && rows.every((v) => v.source_size > 0);
  }, [corrupt, large], { timeout: 60000, polling: 500 });
  await sortClick('size', '-size', [large, corrupt]);
  const largeSize = await page.locator('#videos tbody tr', { hasText: large }).locator('[data-role=size]').innerText();
  if (!largeSize.startsWith('12.0 MiB')) throw new Error(`the large file's size shows: ${largeSize}`);
  await page.screenshot({ path: join(shots, '7b-sorted-by-size.png'), fullPage: true });
  await sortClick('created', '-created', [large, corrupt]);
  step('sorted by title both ways and by size (largest first) by clicking the headers');

  // 8. Delete the first video (after asking); the C side checks its files go.
  confirmDelete = true;
  await page.locator(`#videos tr[data-id="${id}"] button.danger`).click();
  await page.locator(`#videos tr[data-id="${id}"]`).waitFor({ state: 'detached', timeout: 30000 });
  if (confirmDelete) throw new Error('deleting did not ask first');
  const gone = await page.evaluate(async (v) => (await fetch(`/admin/api/videos/${v}/`)).status, id);
  if (gone !== 404) throw new Error(`the deleted video answers ${gone}`);
  step(`deleted video ${id} after confirming`);

  // 9. A viewer: the admin is the sign-in page, which says the account is
  // not staff, and shows no data.  Deactivated from the users page, the
  // viewer's very next API call is refused.
  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  await viewer.goto(`${base}/admin/videos.html`);
  await viewer.fill('#email', env('VF_ADMIN_VIEWER'));
  await viewer.fill('#password', env('VF_ADMIN_VIEWER_PASSWORD'));
  await viewer.click('#signin');
  await viewer.locator('#status', { hasText: 'not a staff account' }).waitFor({ timeout: 30000 });
  if (await viewer.locator('#videos').count()) throw new Error('a viewer sees the videos table');
  await viewer.screenshot({ path: join(shots, '7-viewer-signin.png'), fullPage: true });
  const viewerCall = () => viewer.evaluate(async () => (await fetch('/content/', { credentials: 'same-origin' })).status);
  if ((await viewerCall()) !== 200) throw new Error('the viewer cannot use the API');
  await page.goto(`${base}/admin/users.html`);
  await page.fill('#q', env('VF_ADMIN_VIEWER'));
  await page.press('#q', 'Enter');
  const viewerRow = page.locator('#users tbody tr', { hasText: env('VF_ADMIN_VIEWER') });
  await viewerRow.waitFor({ timeout: 30000 });
  // The unfiltered first page holds the viewer too: wait for the search's
  // answer to replace it.
  await page.waitForFunction(() => document.querySelectorAll('#users tbody tr').length === 1, null, { timeout: 30000 })
    .catch(async () => {
      throw new Error(`the search matched more than the viewer: ${await page.locator('#users tbody tr').count()} rows`);
    });
  if (!(await viewerRow.count())) throw new Error('the search lost the viewer');
  // Two more pages, left alone: the users page and the audit page follow
  // the change through the event stream, with no reload and no polling.
  const watcherUsers = await context.newPage();
  await watcherUsers.goto(`${base}/admin/users.html`);
  await watcherUsers.waitForSelector('#live.up', { timeout: 30000 });
  const watchedViewer = watcherUsers.locator('#users tbody tr', { hasText: env('VF_ADMIN_VIEWER') });
  await watchedViewer.waitFor({ timeout: 30000 });
  const watcherAudit = await context.newPage();
  await watcherAudit.goto(`${base}/admin/audit.html`);
  await watcherAudit.waitForSelector('#live.up', { timeout: 30000 });
  await watcherAudit.waitForSelector('#audit tbody tr', { timeout: 30000 });
  const viewerId = await viewerRow.getAttribute('data-id');
  let watcherNavigations = 0;
  for (const p of [watcherUsers, watcherAudit]) p.on('framenavigated', () => watcherNavigations++);
  await viewerRow.locator('button', { hasText: 'Deactivate' }).click();
  await watchedViewer.locator('td:nth-child(3)', { hasText: 'no' }).waitFor({ timeout: 30000 });
  await watcherAudit.locator('#audit tbody tr').first()
    .filter({ hasText: 'user.update' }).filter({ hasText: `user ${viewerId}` }).waitFor({ timeout: 30000 });
  if (watcherNavigations) throw new Error('the users or audit page reloaded itself');
  await watcherAudit.screenshot({ path: join(shots, '9-audit-live.png'), fullPage: true });
  await watcherUsers.close();
  await watcherAudit.close();
  step('the users and audit pages open elsewhere showed the deactivation live');
  await page.locator('#users tbody tr', { hasText: env('VF_ADMIN_VIEWER') })
    .locator('button', { hasText: 'Activate' }).waitFor({ timeout: 30000 });
  await page.screenshot({ path: join(shots, '8-users.png'), fullPage: true });
  const refused = await viewerCall();
  if (refused !== 401) throw new Error(`the deactivated viewer's next call answered ${refused}`);
  await viewerContext.close();
  step('a viewer gets the sign-in page; deactivated from the users page, their next call is refused');

  if (problems.length) throw new Error(problems.join('; '));
  await context.close();
} catch (err) {
  failed = true;
  console.log(`admin.mjs: FAILED: ${err.message}`);
  // What the page showed then: its status line, and a screenshot.
  if (page) {
    const line = await page.locator('#status').innerText({ timeout: 2000 }).catch(() => '(no status line)');
    console.log(`admin.mjs: the page said: ${line}`);
    await page.screenshot({ path: join(shots, 'failed.png'), fullPage: true }).catch(() => {});
  }
} finally {
  await browser.close();
  console.log(`admin.mjs: screenshots in ${shots}`);
}
process.exit(failed ? 1 : 0);
