"""processes.py - the processes under test and their memory.  Owns: starting,
SIGKILLing, restarting and stopping `videoflix serve` and `videoflix worker`
(each start is an *incarnation* with its own log file, pid, start and end);
restarting PostgreSQL and Redis through scripts/lib.sh (the same commands
run.sh started them with); sampling every process's RSS from /proc.  It
must not touch processes it did not start, except reading /proc.
"""
import os
import signal
import subprocess
import threading
import time
import urllib.request


class Incarnation:
    def __init__(self, name, number, pid, log):
        self.name, self.number, self.pid, self.log = name, number, pid, log
        self.start = time.time()
        self.end = None
        self.how = ""        # "SIGKILL (fault)", "exit 0", ...

    @property
    def key(self):
        return f"{self.name}#{self.number}"


class Proc:
    """One videoflix process (an API server or a worker), restartable."""

    def __init__(self, name, argv, logs_dir, pids_file, health_port=None):
        self.name, self.argv, self.logs_dir = name, argv, logs_dir
        self.pids_file, self.health_port = pids_file, health_port
        self.incarnations = []
        self.popen = None
        self.lock = threading.Lock()

    @property
    def current(self):
        return self.incarnations[-1] if self.incarnations else None

    def start(self):
        with self.lock:
            number = len(self.incarnations) + 1
            log = os.path.join(self.logs_dir, f"{self.name}.{number}.log")
            with open(log, "ab") as out:
                self.popen = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, start_new_session=True)
            with open(self.pids_file, "a") as f:
                f.write(f"{self.popen.pid}\n")
            self.incarnations.append(Incarnation(self.name, number, self.popen.pid, log))

    def wait_ready(self, timeout=60):
        """True once the server answers /health/ with 200 (workers: once alive for a second)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.popen.poll() is not None:
                return False
            if self.health_port is None:
                if time.time() - self.current.start > 1:
                    return True
            else:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/health/", timeout=2) as r:
                        if r.status == 200:
                            return True
                except OSError:
                    pass
            time.sleep(0.2)
        return False

    def _ended(self, how):
        inc = self.current
        inc.end = time.time()
        inc.how = how

    def kill9(self):
        with self.lock:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()
            self._ended("SIGKILL (fault)")

    def stop(self, timeout):
        """SIGTERM, then SIGKILL after timeout seconds; the exit is recorded."""
        with self.lock:
            if self.popen is None or self.current.end is not None:
                return
            if self.popen.poll() is None:
                self.popen.send_signal(signal.SIGTERM)
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.popen.kill()
                    self.popen.wait()
                    self._ended(f"SIGKILL after {timeout} s of SIGTERM")
                    return
            self._ended(f"exit {self.popen.returncode}")

    def check_alive(self):
        """Record an exit nobody asked for; returns False then."""
        with self.lock:
            if self.popen and self.current.end is None and self.popen.poll() is not None:
                self._ended(f"exited by itself with status {self.popen.returncode}")
                return False
            return True


class Services:
    """PostgreSQL and Redis, restarted with the functions of scripts/lib.sh."""

    def __init__(self, src, state, pg_port, redis_port):
        self.src, self.state = src, state
        self.pg_port, self.redis_port = pg_port, redis_port

    def _lib(self, command):
        script = f'. "{self.src}/scripts/lib.sh"; {command}'
        done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{command}: {done.stderr.strip()[-400:]}")

    def pg_stop(self):
        self._lib(f'vf_pg_stop "{self.state}/pg"')

    def pg_start(self):
        self._lib(f'VF_PG_FSYNC=off vf_pg_start "{self.state}/pg" {self.pg_port}')

    def redis_stop(self):
        self._lib(f'vf_redis_stop "{self.state}/redis"')

    def redis_start(self):
        self._lib(f'vf_redis_start "{self.state}/redis" {self.redis_port}')

    def pids(self):
        """{label: pid} of the services' main processes right now."""
        found = {}
        for label, path, line in (("postgres", f"{self.state}/pg/data/postmaster.pid", 0),
                                  ("redis", f"{self.state}/redis/redis.pid", 0),
                                  ("nginx", f"{self.state}/nginx/nginx.pid", 0),
                                  ("s3proxy", f"{self.state}/s3/s3/s3proxy.pid", 0),
                                  ("s3rver", f"{self.state}/s3/s3/s3rver.pid", 0)):
            try:
                with open(path) as f:
                    found[label] = int(f.read().split("\n")[line])
            except (OSError, ValueError, IndexError):
                pass
        if "nginx" in found:
            for child in children(found["nginx"]):
                found["nginx worker"] = child
        return found


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


class Sampler(threading.Thread):
    """Every `every` seconds: the RSS of every videoflix incarnation and
    service process, and encoder processes whose worker is gone."""

    def __init__(self, procs, services, marker, every=3.0):
        super().__init__(daemon=True)
        self.procs, self.services, self.every = procs, services, every
        self.marker = marker   # in the command line of this run's encoders (their work directory)
        self.samples = {}      # key -> [(time, KiB)]
        self.orphans = {}      # pid -> (first seen, last seen, command line)
        self.halt = threading.Event()

    def sample_once(self):
        now = time.time()
        worker_pids = set()
        for p in self.procs:
            inc = p.current
            if inc and inc.end is None:
                kib = rss_kib(inc.pid)
                if kib is not None:
                    self.samples.setdefault(inc.key, []).append((now, kib))
                if p.health_port is None:
                    worker_pids.add(inc.pid)
        for label, pid in self.services.pids().items():
            kib = rss_kib(pid)
            if kib is not None:
                self.samples.setdefault(f"{label} (pid {pid})", []).append((now, kib))
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if self.marker in cmd and "vf-task-" in cmd and ("ffmpeg" in cmd or "ffprobe" in cmd):
                if parent_of(int(entry)) not in worker_pids:
                    first = self.orphans.get(int(entry), (now, now, cmd))[0]
                    self.orphans[int(entry)] = (first, now, cmd[:300])

    def run(self):
        while not self.halt.wait(self.every):
            self.sample_once()
