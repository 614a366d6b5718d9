"""injector.py - the faults: a schedule drawn from the seed, and the windows
in which each fault was in force (start, end, kind, target), printed as they
open and close.  Kinds: SIGKILL of an API server or a worker (restarted after
a few seconds), a PostgreSQL restart, a Redis restart, S3 answering 500/503
or slowly (the S3 proxy's VF_S3_FAULT_FILE), and a full work directory of one
worker (its tmpfs filled up, then emptied).  It must not leave a fault in
force when it stops.
"""
import errno
import os
import threading
import time

KINDS = ["kill_api", "kill_worker", "pg_restart", "redis_restart", "s3_error", "s3_slow", "disk_full"]


class Window:
    def __init__(self, kind, target, start):
        self.kind, self.target, self.start = kind, target, start
        self.end = None
        self.note = ""


def plan(rng, duration, kinds=None):
    """[(offset s, kind, target, hold s)]: after a warm-up, one fault at a time
    with pauses between them, none in the last 15 % of the run; the kinds are
    drawn from shuffled rounds of every kind, so a long run sees each."""
    scale = min(1.0, duration / 600.0)
    t = max(10.0, 0.06 * duration)
    stop = 0.85 * duration
    out, deck = [], []
    while True:
        if not deck:
            deck = list(kinds or KINDS)
            rng.shuffle(deck)
        kind = deck.pop()
        hold = {"kill_api": rng.uniform(3, 6), "kill_worker": rng.uniform(3, 6),
                "pg_restart": rng.uniform(2, 5), "redis_restart": rng.uniform(2, 5),
                "s3_error": rng.uniform(6, 15) * max(scale, 0.5), "s3_slow": rng.uniform(8, 20) * max(scale, 0.5),
                "disk_full": rng.uniform(10, 30) * max(scale, 0.5)}[kind]
        if t + hold + 5 > stop:
            break
        target = {"kill_api": rng.choice(["api1", "api2"]),
                  "kill_worker": rng.choice(["worker1", "worker2", "worker3"]),
                  "disk_full": rng.choice(["worker1", "worker2", "worker3"]),
                  "s3_error": rng.choice(["500", "503"]),
                  "s3_slow": f"{rng.uniform(1.5, 4):.1f}s"}.get(kind, "")
        out.append((t, kind, target, hold))
        t += hold + rng.uniform(12, 35) * max(scale, 0.3)
    return out


class Injector(threading.Thread):
    def __init__(self, schedule, t0, procs, services, state, log):
        super().__init__(daemon=True)
        self.schedule, self.t0 = schedule, t0
        self.procs = {p.name: p for p in procs}
        self.services, self.state, self.log = services, state, log
        self.windows = []
        self.halt = threading.Event()
        self.errors = []

    def _open(self, kind, target):
        w = Window(kind, target, time.time())
        self.windows.append(w)
        self.log(f"fault  start  {kind:<14} {target:<8} at +{w.start - self.t0:6.1f} s")
        return w

    def _close(self, w, note=""):
        w.end = time.time()
        w.note = note
        self.log(f"fault  end    {w.kind:<14} {w.target:<8} at +{w.end - self.t0:6.1f} s"
                 f" ({w.end - w.start:.1f} s){'; ' + note if note else ''}")

    def _restart(self, proc):
        proc.start()
        if not proc.wait_ready(60):
            return f"{proc.name} did not become ready within 60 s after its restart"
        return ""

    def run_one(self, kind, target, hold):
        w = self._open(kind, target)
        note = ""
        try:
            if kind in ("kill_api", "kill_worker"):
                proc = self.procs[target]
                proc.kill9()
                time.sleep(hold)
                note = self._restart(proc)
            elif kind == "pg_restart":
                self.services.pg_stop()
                time.sleep(hold)
                self.services.pg_start()
            elif kind == "redis_restart":
                self.services.redis_stop()
                time.sleep(hold)
                self.services.redis_start()
            elif kind in ("s3_error", "s3_slow"):
                line = f"fail {target}" if kind == "s3_error" else f"delay {target.rstrip('s')}"
                self.s3_fault(f"{line} {time.time() + hold + 5:.3f}")
                time.sleep(hold)
                self.s3_fault(None)
            elif kind == "disk_full":
                note = self.fill(os.path.join(self.state, target, "work"), hold)
        except Exception as e:  # a fault that could not be set up or undone is a finding too
            note = f"injector error: {e}"
            self.errors.append(f"{kind} {target}: {e}")
        self._close(w, note)

    def s3_fault(self, line):
        path = os.path.join(self.state, "s3-fault")
        if line is None:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            return
        with open(path + ".tmp", "w") as f:
            f.write(line + "\n")
        os.replace(path + ".tmp", path)

    def fill(self, work_dir, hold):
        """Fill the tmpfs of work_dir up to the last byte for hold seconds."""
        filler = os.path.join(work_dir, ".faults-filler")
        block = b"\0" * (1 << 20)
        written = 0
        try:
            with open(filler, "wb") as f:
                while True:
                    try:
                        f.write(block)
                        f.flush()
                        written += len(block)
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
        # Small writes for the last partial block.
        try:
            with open(filler, "ab", buffering=0) as f:
                while f.write(b"\0" * 4096):
                    pass
        except OSError:
            pass
        st = os.statvfs(work_dir)
        note = f"filled with {written >> 20} MiB, {st.f_bavail * st.f_frsize} bytes left"
        time.sleep(hold)
        os.unlink(filler)
        return note

    def run(self):
        for offset, kind, target, hold in self.schedule:
            wait = self.t0 + offset - time.time()
            if wait > 0 and self.halt.wait(wait):
                break
            if self.halt.is_set():
                break
            self.run_one(kind, target, hold)
