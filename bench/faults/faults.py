#!/usr/bin/python3
"""faults.py - the run itself, started by run.sh once the services are up
(environment FAULTS_*; see README.md).  Owns the order of the run: make the
clips, start two API servers and three workers, sample memory, run the load
and the fault schedule for FAULTS_DURATION seconds, finish the unfinished
uploads from their HEAD offset, drain, stop everything it started, then run
the checks and print the table.  Exit status 0 only when every check passed.
"""
import hashlib
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checks  # noqa: E402
from http_client import Client, Recorder  # noqa: E402
from injector import KINDS, Injector, plan  # noqa: E402
from load import TUS, Mailbox, Shared, Staff, User  # noqa: E402
from processes import Proc, Sampler, Services  # noqa: E402

E = os.environ
STATE, BUILD, SRC = E["FAULTS_STATE"], E["FAULTS_BUILD"], E["FAULTS_SRC"]
DURATION = float(E.get("FAULTS_DURATION", "600"))
SEED = int(E.get("FAULTS_SEED") or random.SystemRandom().randrange(1, 1 << 31))
USERS = int(E.get("FAULTS_USERS", "6"))
STAFF = int(E.get("FAULTS_STAFF", "2"))
GRACE = float(E.get("FAULTS_GRACE", "10"))
DRAIN = float(E.get("FAULTS_DRAIN", "300"))
FRONT = int(E["FAULTS_FRONT_PORT"])
T0 = time.time()


def log(text):
    print(f"faults: [+{time.time() - T0:6.1f}s] {text}", flush=True)


def make_clips(directory):
    """Small generated clips (so that two cores keep up), of sizes that
    take one part, two parts and three parts on S3, and one file that is not
    a video (its video must end failed with a reason)."""
    os.makedirs(directory, exist_ok=True)
    specs = [("short-360p", 3, "1500k"), ("noisy-360p", 4, "11M"), ("long-240p", 6, "600k"),
             ("big-360p", 5, "22M")]
    clips = []
    for name, seconds, rate in specs:
        path = os.path.join(directory, f"{name}.mp4")
        height = 240 if "240p" in name else 360
        if not os.path.exists(path):
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                            f"testsrc2=size={height * 16 // 9}x{height}:rate=25,noise=alls=40:allf=t",
                            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-b:v", rate,
                            "-maxrate", rate, "-bufsize", rate, "-c:a", "aac", "-shortest", path],
                           check=True, timeout=300)
        clips.append({"name": name, "path": path, "bad": False})
    bad = os.path.join(directory, "not-a-video.mp4")
    with open(bad, "w") as f:
        f.write("This is a text file that was given a video's name.\n" * 2000)
    clips.append({"name": "not-a-video", "path": bad, "bad": True})
    for c in clips:
        with open(c["path"], "rb") as f:
            data = f.read()
        c["size"], c["md5"] = len(data), hashlib.md5(data).hexdigest()
    return clips


def finish_uploads(shared):
    """Every upload left unfinished: HEAD gives an offset, PATCHes from it
    take the rest, and the object stored is the clip, byte for byte."""
    results = {}
    rec = shared.recorder
    c = Client(rec, FRONT)
    r = c.request("POST", "/users/login/", "POST /users/login/ (check)",
                  f'{{"email": "{shared.staff_email}", "password": "{shared.staff_password}"}}',
                  {"Content-Type": "application/json"})
    if not r.ok:
        return {u: {"ok": False, "detail": f"staff login for the check answered {r.status}"}
                for u, v in shared.uploads.items() if v["state"].startswith("unfinished")}
    clips = {cl["name"]: cl for cl in shared.clips}
    for up_id, up in sorted(shared.uploads.items()):
        if not up["state"].startswith("unfinished"):
            continue
        with open(clips[up["clip"]]["path"], "rb") as f:
            data = f.read()
        head = c.request("HEAD", up["path"], "HEAD /admin/api/uploads/{id}/ (check)", headers=TUS)
        if head.status != 200 or not head.header("upload-offset").isdigit():
            results[up_id] = {"ok": False, "detail": f"HEAD answered {head.status}"}
            continue
        offset = int(head.header("upload-offset"))
        if "offset" in up and offset < up["offset"]:
            results[up_id] = {"ok": False, "detail": f"HEAD offset {offset} < {up['offset']} acknowledged"}
            continue
        detail = ""
        while offset < len(data):
            r = c.request("PATCH", up["path"], "PATCH /admin/api/uploads/{id}/ (check)",
                          data[offset:offset + (4 << 20)],
                          {**TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
            if r.status != 204:
                detail = f"PATCH from offset {offset} answered {r.status}: {r.body[:160]!r}"
                break
            offset = int(r.header("upload-offset"))
        results[up_id] = {"ok": not detail, "detail": detail or f"resumed at {head.header('upload-offset')}"}
    c.close()
    return results


def check_resumed_objects(env, s3, shared, results):
    """The objects of the uploads finished by finish_uploads are the clips."""
    clips = {cl["name"]: cl for cl in shared.clips}
    for up_id, res in results.items():
        if not res["ok"]:
            continue
        key = env.psql(f"SELECT to_json(storage_key) FROM uploads WHERE id = '{up_id}'") \
            if all(ch in "0123456789abcdef" for ch in up_id) else None
        if not key:
            res.update(ok=False, detail="the completed upload has no row")
            continue
        got = checks.object_md5(s3, env.s3["VF_TEST_S3_BUCKET"], key)
        want = clips[shared.uploads[up_id]["clip"]]["md5"]
        if got != want:
            res.update(ok=False, detail=f"stored object MD5 {got}, clip {want}")


def drain(env, deadline):
    """Wait until no video is pending or processing and the queue is empty."""
    last = None
    while time.time() < deadline:
        try:
            busy = env.psql("SELECT to_json(count(*)) FROM videos WHERE processing_state IN ('pending', 'processing')")
            counts = env.job_counts()
        except Exception as e:  # a service may still be coming back
            busy, counts = None, {"error": str(e)}
        waiting = sum(counts.get(s, 0) for s in ("outbox", "queued", "running", "retrying"))
        now = (busy, waiting)
        if now != last:
            log(f"drain: {busy} videos pending/processing, {waiting} jobs waiting or running {counts}")
            last = now
        if busy == 0 and waiting == 0:
            return True
        time.sleep(2)
    return False


def main():
    vf = os.path.join(BUILD, "videoflix")
    logs = os.path.join(STATE, "logs")
    pids = os.path.join(STATE, "pids")
    api_ports = [int(p) for p in E["FAULTS_API_PORTS"].split()]
    s3env = {k: v for k, v in E.items() if k.startswith("VF_TEST_S3_")}
    env = checks.Env(STATE, BUILD, int(E["FAULTS_PG_PORT"]), int(E["FAULTS_REDIS_PORT"]), s3env)
    services = Services(SRC, STATE, env.pg_port, env.redis_port)

    log(f"seed {SEED} (FAULTS_SEED={SEED} repeats the schedule), load {DURATION:.0f} s, {USERS} users, "
        f"{STAFF} staff, grace {GRACE:.0f} s, encoder {E.get('FAULTS_ENCODER')}")
    clips = make_clips(os.path.join(STATE, "clips"))
    log("clips: " + ", ".join(f"{c['name']} {c['size'] >> 10} KiB" for c in clips))

    apis = [Proc(f"api{i + 1}", [vf, "--config", f"{STATE}/api{i + 1}.conf", "serve"], logs, pids, port)
            for i, port in enumerate(api_ports)]
    workers = [Proc(f"worker{i}", [vf, "--config", f"{STATE}/worker{i}.conf", "worker"], logs, pids)
               for i in (1, 2, 3)]
    procs = apis + workers
    for p in procs:
        p.start()
    for p in procs:
        if not p.wait_ready(60):
            log(f"{p.name} did not start; its log: {p.current.log}")
            return 2

    kinds = [k for k in E.get("FAULTS_KINDS", "").replace(",", " ").split() if k]
    unknown = [k for k in kinds if k not in KINDS + ["none"]]
    if unknown:
        log(f"unknown fault kinds {unknown}; the kinds are {' '.join(KINDS)}, or none")
        return 2
    schedule = [] if kinds == ["none"] else plan(random.Random(SEED), DURATION, kinds)
    log(f"fault schedule ({len(schedule)} faults, seed {SEED}):")
    for offset, kind, target, hold in schedule:
        log(f"  at +{offset:6.1f} s of load  {kind:<14} {target:<8} for {hold:.1f} s")

    recorder = Recorder()
    load_start = time.time()
    shared = Shared(recorder, FRONT, os.path.join(STATE, "mail"), clips, "staff@faults.example",
                    E["FAULTS_STAFF_PASSWORD"], SEED, load_start + DURATION)
    sampler = Sampler(procs, services, STATE)
    sampler.sample_once()
    sampler.start()
    mailbox = Mailbox(shared.mail_dir)
    loops = [User(shared, mailbox, i) for i in range(USERS)] + [Staff(shared, i) for i in range(STAFF)]
    for t in loops:
        t.start()
    injector = Injector(schedule, load_start, procs, services, STATE, log)
    injector.start()

    # Supervise: a process that died without being killed by a fault is a finding; restart it.
    unexpected_exits = []
    while time.time() < load_start + DURATION:
        time.sleep(1)
        for p in procs:
            if p.current.end is None and not p.check_alive():
                unexpected_exits.append(f"{p.current.key} {p.current.how} (log {p.current.log})")
                log(f"{p.current.key} {p.current.how}; restarting it")
                p.start()
    log("load time is over: users stop, staff finish their uploads (60 s at most)")
    load_end = time.time()
    injector.halt.set()
    injector.join(120)
    sampler.halt.set()
    for t in loops:
        t.join(Staff.FINISH_AFTER_DEADLINE + 60)
    shared.stop.set()
    s3 = env.s3_client()
    final = finish_uploads(shared)
    check_resumed_objects(env, s3, shared, final)
    drained = drain(env, time.time() + DRAIN)
    log("drained" if drained else f"not drained after {DRAIN:.0f} s")
    for p in procs:
        p.stop(30)

    # ---------------------------------------------------------------- checks
    results = []
    windows = injector.windows
    log_paths = [i.log for p in procs for i in p.incarnations] + [os.path.join(STATE, "nginx", "error.log")]
    req_lines, res = checks.check_requests(recorder.snapshot(), windows, GRACE, load_start, log_paths)
    results.append(res)
    try:
        jobs = env.redis_jobs()
    except Exception as e:
        jobs = []
        results.append(("(the queue could not be read)", False, f"{type(e).__name__}: {e}", []))
    for fn in (lambda: checks.check_uploads(env, shared, final),
               lambda: checks.check_videos(env, shared, s3, jobs),
               lambda: checks.check_jobs(env, workers, shared, jobs),
               lambda: checks.check_orphans(env, s3, [f"{STATE}/worker{i}/work" for i in (1, 2, 3)])):
        try:
            results.append(fn())
        except Exception as e:
            results.append(("(a check could not run)", False, f"{type(e).__name__}: {e}", []))
    with open(os.path.join(STATE, "requests.tsv"), "w") as f:
        f.write("start s\tend s\tendpoint\tstatus\trequest id\tdetail\n")
        f.writelines(f"{a - load_start:.3f}\t{b - load_start:.3f}\t{label}\t{status}\t{rid}\t{detail}\n"
                     for a, b, label, status, rid, detail in recorder.snapshot())
    with open(os.path.join(STATE, "rss.tsv"), "w") as f:
        f.write("process\tseconds into the load\tRSS KiB\n")
        for key, points in sorted(sampler.samples.items()):
            f.writelines(f"{key}\t{t - load_start:.1f}\t{kib}\n" for t, kib in points)
    incarnations = [i for p in procs for i in p.incarnations]
    warmup = min(60.0, max(10.0, 0.1 * DURATION))
    mem_lines, res = checks.check_memory(sampler.samples, incarnations, load_start, load_end, warmup,
                                         ("api", "worker", "nginx"))
    results.append(res)
    extra_ev = [f"    {x}" for x in unexpected_exits] + [f"    {x}" for x in injector.errors]
    extra_ev += [f"    encoder process {pid} outlived its worker: seen {last - first:.0f} s: {cmd[:160]}"
                 for pid, (first, last, cmd) in sampler.orphans.items()]
    results.append(("processes exit only when told; faults set up and undone", not extra_ev,
                    f"{len(unexpected_exits)} unexpected exits, {len(injector.errors)} injector errors, "
                    f"{len(sampler.orphans)} encoder processes outliving their worker", extra_ev))
    anomalies = [f"    +{t - load_start:.1f}s {text}" for t, text in shared.anomalies]
    results.append(("clients saw answers as the API contract says", not anomalies,
                    f"{len(anomalies)} unexpected answers (login refused after confirmation, a media range "
                    f"without Content-Range, a video URL off loopback)", anomalies))
    if not drained:
        results.append(("drain finished", False, f"videos or jobs still busy after {DRAIN:.0f} s", []))

    print()
    print(f"=== faults run {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(T0))}: seed {SEED}, "
          f"{DURATION:.0f} s of load, {USERS} users + {STAFF} staff, 2 API servers behind Nginx, "
          f"3 workers, {E.get('FAULTS_ENCODER')}, storage_s3")
    print(f"fault windows ({len(windows)}; grace {GRACE:.0f} s after each):")
    print(f"  {'kind':<15}{'target':<10}{'start':>9}{'end':>9}{'length':>8}  note")
    for w in windows:
        print(f"  {w.kind:<15}{w.target:<10}{w.start - load_start:>+8.1f}s{(w.end or 0) - load_start:>+8.1f}s"
              f"{(w.end or w.start) - w.start:>7.1f}s  {w.note}")
    for line in req_lines:
        print(line)
    for line in mem_lines:
        print(line)
    print("checks:")
    failed = 0
    for name, ok, summary, evidence in results:
        failed += not ok
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {summary}")
        for line in evidence[:40]:
            print(line)
    print(f"{len(results) - failed} of {len(results)} checks passed; logs in {STATE}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
