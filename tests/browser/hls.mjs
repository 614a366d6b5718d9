// hls.mjs - plays a video's HLS stream with hls.js (npm, pinned by
// package-lock.json) in Debian's chromium through playwright-core, as a
// viewer's player would.  The page is served by this script on the API's
// own origin (page.route), so the playlists are same-origin requests that
// carry the access cookie, and no CORS setting is involved.  Run by
// tests/e2e/check_hls_browser, which starts the server and workers and
// passes, in the environment:
//   VF_HLS_BASE      http://127.0.0.1:PORT (the API's origin)
//   VF_HLS_MASTER    the master playlist's path (/content/<id>/hls/master.m3u8)
//   VF_HLS_SCENARIO  "switch": starts at the top level, plays past 2 s, sees
//                    >= 2 levels, then under CDP network throttling sees
//                    hls.js switch to a lower level, and unthrottled back up.
//                    "live": the video is being processed; once its
//                    hls_state is "live" (read by the page, so that the
//                    browser's start-up is over by then), plays from 0 past
//                    1 s, then reads the video's state again.
//   VF_HLS_EMAIL, VF_HLS_PASSWORD   the account the page signs in with
//                    (POST /users/login/ from the page); unset: no sign-in
//   VF_HLS_VIDEO     the video's id ("live": its state is read from
//                    /admin/api/videos/<id>/, by a staff account)
//   VF_HLS_SHOTS     the folder screenshots are kept in
//   VF_CHROMIUM      the browser (default /usr/bin/chromium)
// Prints one line per step, "hls.mjs: RESULT {json}" with what it measured,
// and exits 0 when every step passed; a failure prints
// "hls.mjs: FAILED: <step>: <why>".
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env('VF_HLS_BASE');
const master = env('VF_HLS_MASTER');
const scenario = env('VF_HLS_SCENARIO');
const shots = env('VF_HLS_SHOTS');
if (scenario !== 'switch' && scenario !== 'live') throw new Error(`VF_HLS_SCENARIO is ${scenario}`);
const hlsBundle = readFileSync(join(dirname(createRequire(import.meta.url).resolve('hls.js')), 'hls.min.js'));
mkdirSync(shots, { recursive: true });

// The page: a muted video element and hls.js, with every event the test
// looks at kept in window.vf.  autoStartLoad is off so the start level can
// be set once the levels are known.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>HLS test</title>
<style>body{font:14px sans-serif;margin:8px} video{width:640px;height:360px;background:#000} pre{white-space:pre-wrap}</style>
<script src="/hls-test/hls.js"></script></head>
<body><video id="video" muted playsinline loop></video><pre id="status"></pre>
<script>
window.vf = { levels: [], switched: [], errors: [], fatal: null, playingAt: null, frags: 0 };
function show() {
  const v = document.getElementById('video');
  const s = window.vf;
  document.getElementById('status').textContent =
    'time ' + v.currentTime.toFixed(2) + ' s, level ' + (s.hls ? s.hls.currentLevel : '-') + ' of ' +
    s.levels.map((l) => l.height + 'p ' + Math.round(l.bitrate / 1000) + ' kbit/s').join(', ') +
    ', switches ' + s.switched.map((e) => e.level).join(' > ') +
    (s.fatal ? ', FATAL ' + s.fatal : '');
}
window.startHls = function (url, top, live) {
  const v = document.getElementById('video');
  const hls = new Hls({
    autoStartLoad: false,
    testBandwidth: false,
    capLevelToPlayerSize: false,
    // A short buffer: fragments keep being loaded while it plays, so a
    // change of bandwidth shows in the next choice of level.
    maxBufferLength: 8,
    maxMaxBufferLength: 12,
    backBufferLength: 10,
    // Bandwidth estimates that follow a change within seconds: the
    // fragments of a low level load in milliseconds on this machine and
    // count little in hls.js's averages, weighted by loading time.
    abrEwmaFastVoD: 1,
    abrEwmaSlowVoD: 3,
    startPosition: live ? 0 : -1,
  });
  window.vf.hls = hls;
  hls.on(Hls.Events.MANIFEST_PARSED, (e, data) => {
    window.vf.levels = data.levels.map((l) => ({ height: l.height, bitrate: l.bitrate }));
    if (top) hls.startLevel = data.levels.length - 1;
    hls.startLoad(live ? 0 : -1);
    v.play().catch((err) => window.vf.errors.push('play(): ' + err.message));
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (e, data) => {
    window.vf.switched.push({ level: data.level, at: performance.now(), time: v.currentTime });
    show();
  });
  hls.on(Hls.Events.FRAG_LOADED, () => window.vf.frags++);
  hls.on(Hls.Events.ERROR, (e, data) => {
    const what = data.type + '/' + data.details + (data.response ? ' ' + data.response.code : '') +
      (data.frag ? ' ' + data.frag.url : '');
    window.vf.errors.push(what);
    if (data.fatal) window.vf.fatal = what;
    show();
  });
  v.addEventListener('playing', () => { if (window.vf.playingAt === null) window.vf.playingAt = v.currentTime; });
  v.addEventListener('timeupdate', show);
  hls.loadSource(url);
  hls.attachMedia(v);
};
</script></body></html>`;

let current = 'launching chromium';
const step = (msg) => console.log(`hls.mjs: ${msg}`);
const browser = await chromium.launch({
  executablePath: process.env.VF_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // root in CI has no user namespace for chromium's sandbox; headless
  // chromium plays muted video without a gesture.
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required'],
});
let failed = false;
let page = null;
const result = { scenario };
try {
  const context = await browser.newContext({ viewport: { width: 700, height: 480 } });
  page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  await page.route(`${base}/hls-test/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/hls-test/') return route.fulfill({ contentType: 'text/html; charset=utf-8', body: PAGE });
    if (path === '/hls-test/hls.js') return route.fulfill({ contentType: 'text/javascript', body: hlsBundle });
    return route.fulfill({ status: 404, body: 'not part of the test page' });
  });
  const playlistStatus = [];
  page.on('response', (r) => {
    if (r.url().includes('.m3u8')) playlistStatus.push(`${new URL(r.url()).pathname} ${r.status()}`);
  });

  current = 'opening the test page';
  await page.goto(`${base}/hls-test/`);
  await page.waitForFunction(() => typeof window.Hls === 'function' && window.Hls.isSupported(), null, { timeout: 30000 });
  if (process.env.VF_HLS_EMAIL) {
    current = 'signing in from the page';
    const signedIn = await page.evaluate(async ({ email, password }) => {
      const r = await fetch('/users/login/', {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password, remember: false }),
      });
      return r.status;
    }, { email: process.env.VF_HLS_EMAIL, password: env('VF_HLS_PASSWORD') });
    if (signedIn !== 200) throw new Error(`POST /users/login/ answered ${signedIn}`);
    step('signed in from the page (the access cookie goes with every playlist request)');
  }

  // The state of the video, as staff see it.
  const videoState = () => page.evaluate(async (id) => {
    const r = await fetch(`/admin/api/videos/${id}/`, { credentials: 'same-origin' });
    const v = r.ok ? await r.json() : {};
    return { status: r.status, processing_state: v.processing_state, hls_state: v.hls_state };
  }, env('VF_HLS_VIDEO'));
  if (scenario === 'live') {
    current = 'waiting for hls_state "live"';
    for (const until = Date.now() + 600000; ;) {
      const state = await videoState();
      if (state.status !== 200) throw new Error(`GET /admin/api/videos/<id>/ answered ${state.status}`);
      if (state.hls_state === 'live') break;
      if (state.hls_state === 'complete' || state.processing_state === 'ready' || state.processing_state === 'failed') {
        throw new Error(`the video went ${state.processing_state} / ${state.hls_state} before its stream was seen live`);
      }
      if (Date.now() > until) throw new Error(`still ${state.processing_state} / ${state.hls_state} after 600 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    result.live_seen_at_ms = Date.now();
    step('the video\'s hls_state is "live"');
  }

  // Playback from the master playlist.  "switch" starts at the top level so
  // that a switch down can be seen; "live" lets hls.js choose.
  current = 'starting playback';
  const started = Date.now();
  await page.evaluate(({ url, top, live }) => window.startHls(url, top, live),
    { url: master, top: scenario === 'switch', live: scenario === 'live' });
  const threshold = scenario === 'live' ? 1 : 2;
  current = `playing past ${threshold} s`;
  await page.waitForFunction((t) => {
    if (window.vf.fatal) return true;
    return document.getElementById('video').currentTime > t;
  }, threshold, { timeout: scenario === 'live' ? 120000 : 60000, polling: 100 }).catch(async () => {
    const time = await page.evaluate(() => document.getElementById('video').currentTime);
    throw new Error(`currentTime is ${time} s; playlists: ${playlistStatus.join(', ') || 'none asked for'}`);
  });
  const playedAt = Date.now();
  let vf = await page.evaluate(() => ({ ...window.vf, hls: undefined, time: document.getElementById('video').currentTime }));
  if (vf.fatal) throw new Error(`hls.js: ${vf.fatal}; playlists: ${playlistStatus.join(', ')}`);
  result.played_past_s = threshold;
  result.played_at_ms = playedAt;
  result.playback_ms = playedAt - started;
  result.levels = vf.levels;
  result.first_playing_time = vf.playingAt;

  if (scenario === 'live') {
    // The state of the video the moment playback passed 1 s: still
    // processing, its stream still growing.
    current = 'reading the video\'s state while it plays';
    const state = await videoState();
    if (state.status !== 200) throw new Error(`GET /admin/api/videos/<id>/ answered ${state.status}`);
    result.processing_state = state.processing_state;
    result.hls_state = state.hls_state;
    await page.screenshot({ path: join(shots, 'live-1-playing.png') });
    step(`played past 1 s ${result.playback_ms} ms after loading the master playlist, from ${vf.playingAt} s, `
      + `while the video was ${state.processing_state} with hls_state ${state.hls_state}`);
    if (state.processing_state === 'ready' || state.hls_state === 'complete') {
      throw new Error(`the video was already ${state.processing_state} / ${state.hls_state} when playback started`);
    }
  } else {
    current = 'counting levels';
    if (vf.levels.length < 2) throw new Error(`hls.js reports ${vf.levels.length} level(s)`);
    const top = vf.levels.length - 1;
    const now = await page.evaluate(() => window.vf.hls.currentLevel);
    if (now !== top) throw new Error(`playing level ${now}, not the top level ${top}`);
    await page.screenshot({ path: join(shots, 'switch-1-top-level.png') });
    step(`played past 2 s at the top level ${top} (${vf.levels[top].height}p) of ${vf.levels.length}: `
      + vf.levels.map((l) => `${l.height}p ${Math.round(l.bitrate / 1000)} kbit/s`).join(', '));

    // Throttled to half way between the lowest and the next level's
    // bitrates (logarithmically): the top level cannot be kept.
    current = 'switching down under throttling';
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const kbits = Math.sqrt(vf.levels[0].bitrate * vf.levels[1].bitrate) / 1000;
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 100, downloadThroughput: (kbits * 1000) / 8, uploadThroughput: (kbits * 1000) / 8,
    });
    const throttledAt = Date.now();
    const before = vf.switched.length;
    const down = await page.waitForFunction(({ from, top }) => {
      if (window.vf.fatal) return { fatal: window.vf.fatal };
      const s = window.vf.switched.slice(from).find((e) => e.level < top);
      return s ? { level: s.level, time: s.time } : false;
    }, { from: before, top }, { timeout: 90000, polling: 100 }).then((h) => h.jsonValue()).catch(async () => {
      const s = await page.evaluate(() => window.vf.switched.map((e) => e.level).join(' > '));
      throw new Error(`no switch below level ${top} in 90 s at ${Math.round(kbits)} kbit/s (switches: ${s})`);
    });
    if (down.fatal) throw new Error(`hls.js: ${down.fatal}`);
    result.throttled_kbits = Math.round(kbits);
    result.switched_down_to = down.level;
    result.switch_down_ms = Date.now() - throttledAt;
    await page.screenshot({ path: join(shots, 'switch-2-throttled.png') });
    step(`throttled to ${Math.round(kbits)} kbit/s: switched down to level ${down.level} `
      + `(${vf.levels[down.level].height}p) after ${result.switch_down_ms} ms, at ${down.time.toFixed(1)} s`);

    current = 'switching back up unthrottled';
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
    });
    const releasedAt = Date.now();
    const mark = await page.evaluate(() => window.vf.switched.length);
    const up = await page.waitForFunction(({ from, low }) => {
      if (window.vf.fatal) return { fatal: window.vf.fatal };
      const s = window.vf.switched.slice(from).find((e) => e.level > low);
      return s ? { level: s.level, time: s.time } : false;
    }, { from: mark, low: down.level }, { timeout: 90000, polling: 100 }).then((h) => h.jsonValue()).catch(async () => {
      const s = await page.evaluate(() => window.vf.switched.map((e) => e.level).join(' > '));
      throw new Error(`no switch above level ${down.level} in 90 s (switches: ${s})`);
    });
    if (up.fatal) throw new Error(`hls.js: ${up.fatal}`);
    result.switched_up_to = up.level;
    result.switch_up_ms = Date.now() - releasedAt;
    await page.screenshot({ path: join(shots, 'switch-3-unthrottled.png') });
    step(`unthrottled: switched up to level ${up.level} (${vf.levels[up.level].height}p) after `
      + `${result.switch_up_ms} ms, at ${up.time.toFixed(1)} s`);
    vf = await page.evaluate(() => ({ ...window.vf, hls: undefined }));
    result.switches = vf.switched.map((e) => e.level);
  }
  result.errors = (await page.evaluate(() => window.vf.errors)).slice(0, 20);
  current = 'checking the page';
  if (problems.length) throw new Error(problems.join('; '));
  console.log(`hls.mjs: RESULT ${JSON.stringify(result)}`);
  await context.close();
} catch (err) {
  failed = true;
  console.log(`hls.mjs: FAILED: ${current}: ${err.message}`);
  if (page) {
    const line = await page.locator('#status').innerText({ timeout: 2000 }).catch(() => '(no status line)');
    console.log(`hls.mjs: the page said: ${line}`);
    await page.screenshot({ path: join(shots, `${scenario}-failed.png`) }).catch(() => {});
  }
} finally {
  await browser.close();
  console.log(`hls.mjs: screenshots in ${shots}`);
}
process.exit(failed ? 1 : 0);
