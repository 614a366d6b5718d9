"""checks.py - what the run proves, judged after the drain: the request
table and the answers outside the fault windows, uploads, videos, jobs
(none lost, no attempts overlapping), orphan objects and work files, and
memory.  Each check returns (name, passed, summary, evidence lines).  It
reads PostgreSQL (psql), Redis (redis-cli), S3 (botocore, Debian's
python3-botocore) and the logs; it changes nothing.
"""
import collections
import glob
import hashlib
import json
import os
import re
import statistics
import subprocess

from http_client import CUT, NO_ANSWER, TIMED_OUT


class Env:
    def __init__(self, state, build, pg_port, redis_port, s3):
        self.state, self.build, self.pg_port, self.redis_port, self.s3 = state, build, pg_port, redis_port, s3

    def psql(self, sql):
        """The JSON value the query's single cell holds."""
        bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        done = subprocess.run([f"{bindir}/psql", "-X", "-q", "-tA", "-h", "127.0.0.1", "-p", str(self.pg_port),
                               "-U", "videoflix", "-d", "videoflix", "-v", "ON_ERROR_STOP=1", "-c", sql],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"psql: {done.stderr.strip()}")
        return json.loads(done.stdout.strip() or "null")

    def redis_jobs(self):
        """Every job hash of the queue, as dicts."""
        script = ("local out = {} local cursor = '0' repeat "
                  "local r = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000) cursor = r[1] "
                  "for _, k in ipairs(r[2]) do table.insert(out, cjson.encode(redis.call('HGETALL', k))) end "
                  "until cursor == '0' return out")
        done = subprocess.run(["redis-cli", "-p", str(self.redis_port), "--raw", "EVAL", script, "0",
                               "vf:jobs:job:*"], capture_output=True, text=True, timeout=60)
        if done.returncode != 0 or done.stdout.startswith("ERR"):
            raise RuntimeError(f"redis-cli: {done.stderr.strip() or done.stdout[:200]}")
        jobs = []
        for line in done.stdout.splitlines():
            flat = json.loads(line)
            jobs.append(dict(zip(flat[0::2], flat[1::2])))
        return jobs

    def job_counts(self):
        done = subprocess.run([f"{self.build}/videoflix", "--config", f"{self.state}/api1.conf", "jobs", "counts"],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"jobs counts: {done.stderr.strip()}")
        return json.loads(done.stdout)

    def s3_client(self):
        import botocore.config
        import botocore.session
        session = botocore.session.get_session()
        return session.create_client(
            "s3", endpoint_url=self.s3["VF_TEST_S3_ENDPOINT"], region_name=self.s3["VF_TEST_S3_REGION"],
            aws_access_key_id=self.s3["VF_TEST_S3_ACCESS_KEY"],
            aws_secret_access_key=self.s3["VF_TEST_S3_SECRET_KEY"],
            config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))


def in_windows(start, end, windows, grace):
    for w in windows:
        if start <= (w.end or end) + grace and end >= w.start:
            return w
    return None


def failing_answer(status):
    return status in (TIMED_OUT, NO_ANSWER) or (isinstance(status, int) and status >= 500)


def grep_logs(pattern, paths, limit=3):
    out = []
    for path in paths:
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    if pattern in line:
                        out.append(f"      {os.path.basename(path)}: {line.rstrip()[:220]}")
                        if len(out) >= limit:
                            return out
        except OSError:
            pass
    return out


# ------------------------------------------------------------- requests

def check_requests(rows, windows, grace, t0, log_paths):
    table = collections.defaultdict(collections.Counter)
    bad = []
    in_fault = collections.Counter()
    for start, end, label, status, rid, detail in rows:
        table[label][status] += 1
        if status == CUT or not failing_answer(status):
            continue
        w = in_windows(start, end, windows, grace)
        if w:
            in_fault[w.kind] += 1
        else:
            bad.append((start, end, label, status, rid, detail))
    lines = ["requests by endpoint and status (all of the run, fault windows included):"]
    statuses = sorted({s for c in table.values() for s in c}, key=lambda s: (not isinstance(s, int), str(s)))
    head = f"  {'endpoint':<34}" + "".join(f"{str(s):>10}" for s in statuses) + f"{'total':>9}"
    lines.append(head)
    for label in sorted(table):
        c = table[label]
        lines.append(f"  {label:<34}" + "".join(f"{(c[s] or ''):>10}" for s in statuses) + f"{sum(c.values()):>9}")
    total = collections.Counter()
    for c in table.values():
        total.update(c)
    lines.append(f"  {'all':<34}" + "".join(f"{total[s]:>10}" for s in statuses) + f"{sum(total.values()):>9}")
    lines.append("  5xx / timeouts / no answer inside fault windows (+grace), by fault: "
                 + (", ".join(f"{k} {v}" for k, v in sorted(in_fault.items())) or "none"))
    evidence = []
    for start, end, label, status, rid, detail in bad[:12]:
        evidence.append(f"    +{start - t0:.1f}s..+{end - t0:.1f}s {label} -> {status}"
                        f"{' request id ' + rid if rid else ''}{' (' + detail + ')' if detail else ''}")
        if rid:
            evidence += grep_logs(rid, log_paths, 4)
    if len(bad) > 12:
        evidence.append(f"    ... and {len(bad) - 12} more")
    unanswered = sum(1 for r in bad if r[3] in (TIMED_OUT, NO_ANSWER))
    summary = (f"{len(rows)} requests; outside the fault windows: {len(bad)} failed answers "
               f"({unanswered} unanswered)")
    return lines, ("no 5xx and no unanswered request outside fault windows", not bad, summary, evidence)


# -------------------------------------------------------------- uploads

def check_uploads(env, shared, final_results):
    evidence = []
    states = collections.Counter(u["state"].split(" (")[0] for u in shared.uploads.values())
    cuts = sum(u["cuts"] for u in shared.uploads.values())
    for u in shared.uploads.values():
        for p in u.get("problems", []):
            evidence.append(f"    upload {u['id']}: {p}")
        if u["state"].startswith("lost"):
            evidence.append(f"    upload {u['id']}: {u['state']}")
        if u["state"] == "complete" and "video_id" not in u:
            evidence.append(f"    upload {u['id']}: complete but no video was made from it: "
                            f"{u.get('video_create_failed', '?')}")
    for up_id, result in sorted(final_results.items()):
        if not result["ok"]:
            evidence.append(f"    upload {up_id} ({shared.uploads[up_id]['state']}): {result['detail']}")
    resumed = sum(1 for r in final_results.values() if r["ok"])
    summary = (f"{len(shared.uploads)} uploads ({', '.join(f'{k} {v}' for k, v in sorted(states.items()))}); "
               f"{cuts} PATCHes cut mid-body and resumed from HEAD; {resumed}/{len(final_results)} "
               f"unfinished ones resumed to the end after the run")
    return ("every upload complete or cleanly resumable", not evidence, summary, evidence)


def object_md5(s3, bucket, key):
    obj = s3.get_object(Bucket=bucket, Key=key)
    h = hashlib.md5()
    for chunk in iter(lambda: obj["Body"].read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------- videos

BLAMES_FILE = ("not a readable media file", "could not be converted", "no video stream", "not a video")


def check_videos(env, shared, s3, jobs):
    rows = env.psql("SELECT coalesce(json_agg(json_build_object('id', v.id, 'state', v.processing_state, "
                    "'error', v.processing_error, 'source', v.source_key, 'thumb', v.thumbnail_key, "
                    "'gen', v.generation, 'renditions', (SELECT coalesce(json_agg(r.quality ORDER BY r.quality), "
                    "'[]') FROM video_renditions r WHERE r.video_id = v.id))), '[]') FROM videos v")
    by_id = {v["id"]: v for v in rows}
    bucket = env.s3["VF_TEST_S3_BUCKET"]
    evidence, notes = [], []
    good_failed = 0
    states = collections.Counter(v["state"] for v in rows)
    for v in rows:
        if v["state"] not in ("ready", "failed"):
            evidence.append(f"    video {v['id']}: still {v['state']} after the drain")
        elif v["state"] == "failed" and not v["error"].strip():
            evidence.append(f"    video {v['id']}: failed without a reason")
        elif v["state"] == "ready" and (v["renditions"] != ["120p", "360p"] or not v["thumb"]):
            evidence.append(f"    video {v['id']}: ready with renditions {v['renditions']} thumbnail {v['thumb']}")
    for rec in shared.videos.values():
        v = by_id.get(rec["id"])
        if rec["deleted"]:
            if v:
                evidence.append(f"    video {rec['id']}: deleted (204) but still in the database")
            continue
        if not v:
            evidence.append(f"    video {rec['id']} ({rec['title']}): gone without a delete")
            continue
        if rec["expect"] == "failed" and v["state"] == "ready":
            evidence.append(f"    video {rec['id']}: the source is not a video ({rec['clip']}) but it is ready")
        elif rec["expect"] == "ready" and v["state"] == "failed":
            good_failed += 1
            notes.append(f"    video {rec['id']} ({rec['clip']}) failed: {v['error'][:200]}")
        if v["state"] == "ready" and v["source"]:
            try:
                got = object_md5(s3, bucket, v["source"])
            except Exception as e:
                evidence.append(f"    video {rec['id']}: source {v['source']} unreadable: {e}")
                continue
            if got != rec["md5"]:
                evidence.append(f"    video {rec['id']}: source {v['source']} has MD5 {got}, the clip "
                                f"{rec['clip']} uploaded has {rec['md5']}")
    # A good clip is never blamed: a failure that says the file is unreadable
    # while the file is one of the generated clips is a wrong verdict.
    clips = {c["name"]: c for c in shared.clips}
    stale_blamed = []   # the video was deleted or re-sourced first: its source went away under the job
    for j in jobs:
        if j.get("state") != "failed" or j.get("type") not in ("transcode", "thumbnail"):
            continue
        try:
            payload = json.loads(j.get("payload") or "{}")
        except ValueError:
            continue
        rec = shared.videos.get(payload.get("video_id"))
        clip = clips.get(rec["gens"].get(payload.get("generation"))) if rec else None
        error = j.get("error") or ""
        finished = float(j.get("finished_at") or 0) / 1000
        gone = [t for t in (rec.get("deleted_at"), rec["superseded"].get(payload.get("generation"))) if t] if rec else []
        if clip and not clip["bad"] and any(b in error for b in BLAMES_FILE) and any(t <= finished for t in gone):
            stale_blamed.append(f"{j.get('id')} (video {rec['id']})")
        elif clip and not clip["bad"] and any(b in error for b in BLAMES_FILE):
            evidence.append(f"    video {rec['id']} generation {payload.get('generation')} (clip {clip['name']}, "
                            f"a readable video): job {j.get('id')} ({j.get('type')}) failed for good after "
                            f"{j.get('attempts')} attempt(s): {error[:260]}")
    if stale_blamed:
        notes.append(f"    note: {len(stale_blamed)} jobs of deleted or re-sourced videos failed blaming a good "
                     f"file whose object had been removed under them: {', '.join(stale_blamed[:6])}")
    summary = (f"{len(rows)} videos ({', '.join(f'{k} {n}' for k, n in sorted(states.items()))}); "
               f"{good_failed} videos of good clips failed; sources of ready videos byte-identical to the clips")
    return ("every video ready or failed with a reason", not evidence, summary, evidence + notes)


# ----------------------------------------------------------------- jobs

START = re.compile(r"^(\S+) \w+ worker: job (\S+) \((\w+)\) attempt (\d+)/\d+ started")
END = re.compile(r"^(\S+) \w+ worker: job (\S+) \((\w+)\)(?: attempt (\d+))?: (.*)$")
TASK = re.compile(r"pipeline: (\S+) of video (\d+) generation (\d+) started \(job (\S+), attempt (\d+)\)")


def iso_to_epoch(stamp):
    import calendar
    import time as _t
    base, _, frac = stamp.rstrip("Z").partition(".")
    return calendar.timegm(_t.strptime(base, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))


def attempts_from_logs(worker_procs):
    """[(job id, type, attempt, start, end, how it ended, incarnation key, task key)]"""
    out = []
    for proc in worker_procs:
        for inc in proc.incarnations:
            open_runs = {}
            try:
                with open(inc.log, errors="replace") as f:
                    lines = f.readlines()
            except OSError:
                continue
            for line in lines:
                m = START.match(line)
                if m:
                    open_runs[m.group(2)] = [m.group(2), m.group(3), int(m.group(4)), iso_to_epoch(m.group(1)),
                                             None, "", inc.key, None]
                    continue
                m = TASK.search(line)
                if m and m.group(4) in open_runs:
                    open_runs[m.group(4)][7] = f"video {m.group(2)} gen {m.group(3)} {m.group(1)}"
                    continue
                m = END.match(line)
                if m and m.group(2) in open_runs:
                    run = open_runs.pop(m.group(2))
                    run[4], run[5] = iso_to_epoch(m.group(1)), m.group(5)[:120]
                    out.append(tuple(run))
            for run in open_runs.values():
                run[4] = inc.end
                run[5] = f"process ended: {inc.how}"
                out.append(tuple(run))
    return out


def overlaps(runs, key_of):
    groups = collections.defaultdict(list)
    for r in runs:
        k = key_of(r)
        if k:
            groups[k].append(r)
    found = []
    for k, rs in groups.items():
        rs.sort(key=lambda r: r[3])
        for a, b in zip(rs, rs[1:]):
            if a[4] is None or b[3] < a[4]:
                found.append((k, a, b))
    return found


def check_jobs(env, worker_procs, shared, jobs):
    evidence, notes = [], []
    counts = env.job_counts()
    for state in ("outbox", "queued", "running", "retrying"):
        if counts.get(state, 0):
            evidence.append(f"    {counts[state]} jobs still {state} after the drain")
    by_id = {j.get("id"): j for j in jobs}
    tasks = env.psql("SELECT coalesce(json_agg(json_build_object('video', t.video_id, 'task', t.task, "
                     "'state', t.state, 'job', t.job_id, 'gen', t.generation, 'video_state', "
                     "v.processing_state)), '[]') FROM video_tasks t "
                     "JOIN videos v ON v.id = t.video_id AND v.generation = t.generation")
    stale = []
    for t in tasks:
        if t["state"] in ("done", "failed"):
            pass
        elif t["video_state"] == "failed":
            stale.append(f"{t['video']}/{t['task']}")   # skipped once the video failed; reported, not judged
        else:
            evidence.append(f"    video {t['video']} task {t['task']}: {t['state']} (job {t['job']})")
        if t["job"] and by_id.get(t["job"], {}).get("state") not in ("done", "failed"):
            if t["job"] in by_id:
                evidence.append(f"    video {t['video']} task {t['task']}: job {t['job']} is "
                                f"{by_id[t['job']].get('state')} after the drain")
        if t["job"] and t["job"] not in by_id:
            evidence.append(f"    video {t['video']} task {t['task']}: its job {t['job']} is not in the queue "
                            f"nor in its history (lost)")
    if stale:
        notes.append(f"    note: {len(stale)} task rows of failed videos still say pending/running "
                     f"(their jobs ended; video/task: {', '.join(stale[:8])})")
    for j in jobs:
        if j.get("state") == "failed":
            notes.append(f"    job {j.get('id')} ({j.get('type')}) failed after {j.get('attempts')} attempts: "
                         f"{(j.get('error') or '')[:160]}")
    for u in shared.users:
        if u["registered"] and u.get("mail_after") is None:
            evidence.append(f"    {u['email']}: registered, no confirmation mail arrived")
    runs = attempts_from_logs(worker_procs)
    same_job = overlaps(runs, lambda r: r[0])
    same_task = overlaps(runs, lambda r: r[7])
    for k, a, b in (same_job + same_task)[:10]:
        evidence.append(f"    {k}: attempt {a[2]} of job {a[0]} on {a[6]} ran {a[3]:.3f}-{a[4]:.3f} ({a[5]}); "
                        f"attempt {b[2]} of job {b[0]} on {b[6]} started at {b[3]:.3f}")
    started = collections.Counter((r[0], r[2]) for r in runs)
    for (job, attempt), n in started.items():
        if n > 1:
            evidence.append(f"    job {job}: attempt {attempt} started {n} times")
    taken_over = sum(1 for r in runs if r[5].startswith("process ended: SIGKILL"))
    per_type = collections.Counter(j.get("type") for j in jobs)
    mails = sum(u.get("mails", 0) for u in shared.users)
    summary = (f"{len(jobs)} jobs ({', '.join(f'{k} {v}' for k, v in sorted(per_type.items()))}); counts {counts}; "
               f"{len(runs)} attempts in the worker logs, {taken_over} cut by a SIGKILL; "
               f"{len(same_job) + len(same_task)} overlaps; "
               f"{mails} confirmation mails for {len(shared.users)} sign-ups")
    return ("no job lost or run twice at once", not evidence, summary, evidence + notes[:15])


# -------------------------------------------------------------- orphans

def check_orphans(env, s3, work_dirs):
    bucket = env.s3["VF_TEST_S3_BUCKET"]
    refs = set(env.psql(
        "SELECT coalesce(json_agg(k), '[]') FROM (SELECT source_key k FROM videos UNION "
        "SELECT thumbnail_key FROM videos UNION SELECT storage_key FROM video_renditions UNION "
        "SELECT storage_key FROM uploads) s WHERE k IS NOT NULL"))
    upload_ids = set(env.psql("SELECT coalesce(json_agg(multipart_id), '[]') FROM uploads "
                              "WHERE multipart_id IS NOT NULL"))
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    multipart = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    evidence = []
    orphans = [k for k in keys if k not in refs]
    for k in orphans[:15]:
        evidence.append(f"    s3://{bucket}/{k}: no video, rendition or upload refers to it")
    if len(orphans) > 15:
        evidence.append(f"    ... and {len(orphans) - 15} more objects")
    stray = [u for u in multipart if u["UploadId"] not in upload_ids]
    for u in stray[:10]:
        evidence.append(f"    multipart upload {u['UploadId']} of {u['Key']}: no upload row")
    files = []
    for d in work_dirs:
        for root, dirs, names in os.walk(d):
            for n in dirs + names:
                p = os.path.join(root, n)
                files.append(p)
    for p in files[:15]:
        evidence.append(f"    {p}: left in a work directory")
    summary = (f"{len(keys)} objects and {len(multipart)} multipart uploads in the bucket, {len(orphans)} + "
               f"{len(stray)} unreferenced; {len(files)} entries left in the work directories")
    return ("no orphan objects or work files", not evidence, summary, evidence)


# --------------------------------------------------------------- memory

def check_memory(samples, incarnations, load_start, load_end, warmup, checked_prefixes):
    lines = ["RSS in MiB, medians of the first, middle and last third of each process's time under load "
             f"(after {warmup:.0f} s of warm-up):"]
    lines.append(f"  {'process':<28}{'samples':>8}{'first':>9}{'middle':>9}{'last':>9}{'change':>9}  verdict")
    evidence = []
    ended = {i.key: i for i in incarnations}
    for key in sorted(samples):
        inc = ended.get(key)
        begin = max(load_start, inc.start if inc else load_start) + warmup
        stop = min(load_end, inc.end if inc and inc.end else load_end)
        pts = [(t, k) for t, k in samples[key] if begin <= t <= stop]
        checked = key.startswith(checked_prefixes)
        if stop - begin < 0.5 * (load_end - load_start - warmup) or len(pts) < 6:
            lines.append(f"  {key:<28}{len(pts):>8}{'':>27}{'':>9}  not compared: "
                         f"{max(0, stop - begin):.0f} s under load")
            continue
        third = (stop - begin) / 3
        early = [k for t, k in pts if t <= begin + third]
        late = [k for t, k in pts if t >= stop - third]
        if not early or not late:
            lines.append(f"  {key:<28}{len(pts):>8}{'':>27}{'':>9}  not compared: too few samples")
            continue
        first, last = statistics.median(early) / 1024, statistics.median(late) / 1024
        middle = [k for t, k in pts if begin + third < t < stop - third]
        middle = statistics.median(middle) / 1024 if middle else float("nan")
        change = (last - first) / first * 100 if first else 0
        verdict = ("ok" if change <= 10 else "GREW") if checked else "not checked (test service)"
        lines.append(f"  {key:<28}{len(pts):>8}{first:>9.1f}{middle:>9.1f}{last:>9.1f}{change:>+8.1f}%  {verdict}")
        if checked and change > 10:
            evidence.append(f"    {key}: {first:.1f} MiB -> {last:.1f} MiB ({change:+.1f} %)")
    compared = sum(1 for line in lines[2:] if line.rstrip().endswith(("ok", "GREW")))
    summary = f"{compared} videoflix/nginx processes compared, {len(evidence)} grew by more than 10 %"
    return lines, ("every process's RSS flat within 10 %", not evidence, summary, evidence)
