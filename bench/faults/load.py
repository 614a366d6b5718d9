"""load.py - the users and the staff of the run, through Nginx.  Users sign
up (the confirmation link read from the file mail transport's .eml files),
log in, read the catalogue, ask for video URLs and read byte ranges of them
from S3, toggle favourites, refresh and log out now and then.  Staff upload
clips with tus (some PATCHes cut mid-body and resumed from the HEAD offset,
a few uploads left unfinished or terminated), create videos from them,
replace a source or delete a video now and then.  Every loop stops by itself
at the deadline and after a bounded number of requests; what the staff did
(uploads, videos and what they should become) is kept for the checks.  It
owns no process and judges nothing.
"""
import base64
import json
import os
import random
import re
import threading
import time

from http_client import Client, split_url

CATEGORIES = ["Action", "Drama", "Comedy", "Documentary", "Science fiction", "Animation"]
MAX_REQUESTS = 200000       # per loop: a bound besides the deadline
TUS = {"Tus-Resumable": "1.0.0"}
CONFIRM_LINK = re.compile(r"/users/confirm/\?uid=([0-9a-z]+)&(?:amp;)?token=([0-9A-Za-z_-]+)")


class Shared:
    """What the loops share: the request log, the deadline and the staff's records."""

    def __init__(self, recorder, front_port, mail_dir, clips, staff_email, staff_password, seed, deadline):
        self.recorder, self.front_port, self.mail_dir = recorder, front_port, mail_dir
        self.clips, self.staff_email, self.staff_password = clips, staff_email, staff_password
        self.seed, self.deadline = seed, deadline
        self.lock = threading.Lock()
        self.uploads = {}        # upload id -> record
        self.videos = {}         # video id -> record
        self.users = []          # records of signed-up users
        self.anomalies = []      # unexpected answers outside the fault windows are judged later
        self.stop = threading.Event()

    def over(self):
        return self.stop.is_set() or time.time() >= self.deadline

    def note(self, text):
        with self.lock:
            self.anomalies.append((time.time(), text))


def jbody(resp):
    try:
        return json.loads(resp.body or b"null")
    except ValueError:
        return None


class Mailbox:
    """The confirmation links in the mail directory, by recipient."""

    def __init__(self, mail_dir):
        self.dir = mail_dir
        self.seen = {}
        self.lock = threading.Lock()

    def links(self, email):
        with self.lock:
            for name in sorted(os.listdir(self.dir)):
                if not name.endswith(".eml") or name in self.seen:
                    continue
                try:
                    with open(os.path.join(self.dir, name), encoding="utf-8", errors="replace") as f:
                        text = f.read()
                except OSError:
                    continue
                to = re.search(r"^To: (.*)$", text, re.M)
                link = CONFIRM_LINK.search(text.replace("=\r\n", "").replace("=\n", ""))
                self.seen[name] = (to.group(1).strip().lower() if to else "", link.groups() if link else None)
            return [(n, link) for n, (to, link) in self.seen.items() if to == email and link]


def backoff(shared, seconds):
    end = time.time() + seconds
    while time.time() < end and not shared.stop.is_set():
        time.sleep(0.1)


# ------------------------------------------------------------------ users

class User(threading.Thread):
    def __init__(self, shared, mailbox, number):
        super().__init__(daemon=True, name=f"user{number}")
        self.shared, self.mailbox, self.number = shared, mailbox, number
        self.rng = random.Random(f"{shared.seed}-user-{number}")
        self.c = Client(shared.recorder, shared.front_port)
        self.media = {}          # port -> Client of the S3 URLs
        self.requests = 0
        self.email = f"user{number}-{shared.seed}@faults.example"
        self.password = f"pw-{self.rng.getrandbits(64):x}-Faults"
        self.record = {"email": self.email, "registered": False, "mail_after": None, "confirmed": False}
        self.logged_in = False

    def req(self, method, path, label, body=None, headers=None):
        self.requests += 1
        h = dict(headers or {})
        if body is not None:
            h.setdefault("Content-Type", "application/json")
            body = json.dumps(body)
        resp = self.c.request(method, path, label, body, h)
        if resp.status == 401 and self.logged_in and not path.startswith("/users/"):
            # As the frontend does: one refresh, then the request again with X-Retry.
            r = self.c.request("POST", "/users/refresh/", "POST /users/refresh/", "{}",
                               {"Content-Type": "application/json"})
            if r.ok:
                h["X-Retry"] = "1"
                resp = self.c.request(method, path, label, body, h)
            else:
                self.logged_in = False
        return resp

    def sign_up(self):
        while not self.shared.over():
            r = self.req("POST", "/users/register/", "POST /users/register/",
                         {"email": self.email, "password": self.password, "confirm_password": self.password})
            if r.status == 201 or (r.status == 400 and b"already exists" in r.body):
                break
            backoff(self.shared, 1 + self.rng.random())
        else:
            return False
        self.record["registered"] = True
        asked = time.time()
        with self.shared.lock:
            self.shared.users.append(self.record)
        while not self.shared.over():
            links = self.mailbox.links(self.email)
            if links:
                self.record["mail_after"] = time.time() - asked
                self.record["mails"] = len(links)
                uid, token = links[0][1]
                break
            time.sleep(0.5)
        else:
            return False
        while not self.shared.over():
            r = self.req("GET", f"/users/confirm/?uid={uid}&token={token}", "GET /users/confirm/")
            if r.status == 302:
                self.record["confirmed"] = True
                return True
            if r.status == 400:
                # A retried confirmation whose first answer was lost finds the link used.
                self.record["confirm_400"] = True
                return True
            backoff(self.shared, 1 + self.rng.random())
        return False

    def log_in(self):
        r = self.req("POST", "/users/login/", "POST /users/login/",
                     {"email": self.email, "password": self.password, "remember": self.rng.random() < 0.5})
        self.logged_in = r.ok
        if r.status == 400 and self.record.get("confirmed"):
            self.shared.note(f"{self.email}: login refused after confirmation: {r.body[:200]!r}")
        return r.ok

    def ready_videos(self):
        r = self.req("GET", "/content/", "GET /content/")
        body = jbody(r) if r.ok else None
        if not isinstance(body, list):
            return []
        return [v for v in body if isinstance(v, dict) and v.get("converted_files")]

    def play(self, video):
        quality = self.rng.choice(sorted(video["converted_files"]))
        r = self.req("GET", f"/content/video-url/{video['id']}/?quality={quality}", "GET /content/video-url/{id}/")
        body = jbody(r) if r.ok else None
        if not isinstance(body, dict) or "url" not in body:
            return
        try:
            port, path = split_url(body["url"])
        except ValueError as e:
            self.shared.note(f"video-url of video {video['id']}: {e}")
            return
        media = self.media.setdefault(port, Client(self.shared.recorder, port))
        first = media.request("GET", path, "GET S3 media (Range)", headers={"Range": "bytes=0-65535"})
        self.requests += 1
        length = re.search(r"/(\d+)$", first.header("content-range"))
        if first.status == 206 and length and int(length.group(1)) > 1:
            total = int(length.group(1))
            at = self.rng.randrange(0, total)
            media.request("GET", path, "GET S3 media (Range)",
                          headers={"Range": f"bytes={at}-{min(total - 1, at + 131071)}"})
            self.requests += 1
        elif first.ok or first.status == 206:
            self.shared.note(f"S3 range of video {video['id']} {quality}: {first.status} without Content-Range")

    def run(self):
        if not self.sign_up():
            return
        while not self.shared.over() and self.requests < MAX_REQUESTS:
            if not self.logged_in:
                if not self.log_in():
                    backoff(self.shared, 1 + self.rng.random())
                    continue
            action = self.rng.choices(["content", "play", "detail", "favourite", "refresh", "me", "logout",
                                       "exists"], [20, 30, 10, 15, 5, 5, 2, 2])[0]
            if action in ("content", "play", "favourite", "detail"):
                videos = self.ready_videos()
                if videos and action == "play":
                    self.play(self.rng.choice(videos))
                elif videos and action == "favourite":
                    self.req("POST", "/content/add-favorite/", "POST /content/add-favorite/",
                             {"video_id": self.rng.choice(videos)["id"]})
                elif videos and action == "detail":
                    self.req("GET", f"/content/{self.rng.choice(videos)['id']}/", "GET /content/{id}/")
            elif action == "refresh":
                self.req("POST", "/users/refresh/", "POST /users/refresh/", {})
            elif action == "me":
                self.req("GET", "/users/me/", "GET /users/me/")
            elif action == "logout":
                self.req("POST", "/users/logout/", "POST /users/logout/", {})
                self.logged_in = False
            elif action == "exists":
                self.req("GET", f"/users/email-exists/?email={self.email}", "GET /users/email-exists/")
            time.sleep(self.rng.uniform(0.2, 1.0))
        self.c.close()


# ------------------------------------------------------------------ staff

class Staff(threading.Thread):
    """Uploads and the admin API.  Uploads go on for a while after the
    deadline so that few are cut off by it; those that are stay for the
    end-of-run resumability check."""

    FINISH_AFTER_DEADLINE = 60

    def __init__(self, shared, number):
        super().__init__(daemon=True, name=f"staff{number}")
        self.shared, self.number = shared, number
        self.rng = random.Random(f"{shared.seed}-staff-{number}")
        self.c = Client(shared.recorder, shared.front_port)
        self.requests = 0
        self.made = 0

    def req(self, method, path, label, body=None, headers=None, raw=None):
        self.requests += 1
        h = dict(headers or {})
        if body is not None:
            h["Content-Type"] = "application/json"
            raw = json.dumps(body)
        return self.c.request(method, path, label, raw, h)

    def log_in(self):
        while not self.shared.over():
            r = self.req("POST", "/users/login/", "POST /users/login/",
                         {"email": self.shared.staff_email, "password": self.shared.staff_password})
            if r.ok:
                return True
            backoff(self.shared, 1)
        return False

    def upload_over(self):
        return self.shared.stop.is_set() or time.time() >= self.shared.deadline + self.FINISH_AFTER_DEADLINE

    def head_offset(self, path):
        for _ in range(30):
            r = self.req("HEAD", path, "HEAD /admin/api/uploads/{id}/", headers=TUS)
            if r.ok and r.header("upload-offset").isdigit():
                return int(r.header("upload-offset"))
            if r.status in (404, 410):
                return None
            if self.upload_over():
                return None
            backoff(self.shared, 1 + self.rng.random())
        return None

    def upload(self, clip, leave_at=None):
        """A tus upload of clip; returns its record (state: complete, unfinished)."""
        with open(clip["path"], "rb") as f:
            data = f.read()
        meta = "filename " + base64.b64encode(os.path.basename(clip["path"]).encode()).decode()
        location = None
        for _ in range(20):
            if self.upload_over():
                return None
            r = self.req("POST", "/admin/api/uploads/", "POST /admin/api/uploads/",
                         headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": meta})
            if r.status == 201:
                location = r.header("location")
                break
            backoff(self.shared, 1 + self.rng.random())
        if not location:
            return None
        upload_id = location.rstrip("/").rsplit("/", 1)[-1]
        path = f"/admin/api/uploads/{upload_id}/"
        rec = {"id": upload_id, "clip": clip["name"], "size": len(data), "state": "receiving",
               "cuts": 0, "resumed": 0, "path": path, "created": time.time()}
        with self.shared.lock:
            self.shared.uploads[upload_id] = rec
        offset, failures = 0, 0
        chunk = self.rng.choice([512 << 10, 1 << 20, 2 << 20, 4 << 20])
        while offset < len(data):
            if leave_at is not None and offset >= leave_at:
                rec["state"] = "unfinished (left on purpose)"
                rec["offset"] = offset
                return rec
            if self.upload_over():
                rec["state"] = "unfinished (deadline)"
                rec["offset"] = offset
                return rec
            piece = data[offset:offset + chunk]
            head = {**TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
            if self.rng.random() < 0.12 and len(piece) > 1024:
                self.c.cut_request("PATCH", path, "PATCH /admin/api/uploads/{id}/", head, piece,
                                   self.rng.randrange(1, len(piece)))
                rec["cuts"] += 1
                resumed = self.head_offset(path)
                if resumed is None:
                    rec["state"] = "lost after a cut PATCH (HEAD failed)"
                    return rec
                if resumed != offset:
                    rec.setdefault("problems", []).append(
                        f"after a PATCH cut at offset {offset}, HEAD said {resumed}")
                offset = resumed
                rec["resumed"] += 1
                continue
            r = self.req("PATCH", path, "PATCH /admin/api/uploads/{id}/", headers=head, raw=piece)
            if r.status == 204 and r.header("upload-offset").isdigit():
                offset = int(r.header("upload-offset"))
                failures = 0
                continue
            failures += 1
            if r.status in (404, 410) or failures > 25:
                rec["state"] = f"unfinished (PATCH answered {r.status})"
                rec["offset"] = offset
                return rec
            backoff(self.shared, min(8, 0.5 * failures) + self.rng.random())
            resumed = self.head_offset(path)
            if resumed is None:
                rec["state"] = "unfinished (HEAD failed)"
                rec["offset"] = offset
                return rec
            offset = resumed
            rec["resumed"] += 1
        rec["state"] = "complete"
        return rec

    def admin(self, method, path, label, body=None, accept=(200, 201, 204)):
        """An admin API call retried on 5xx / no answer; the last answer."""
        r = None
        for attempt in range(15):
            r = self.req(method, path, label, body)
            if r.status in accept or (isinstance(r.status, int) and r.status < 500):
                return r, attempt
            if self.upload_over():
                break
            backoff(self.shared, 1 + self.rng.random() * attempt)
        return r, 15

    def find_video(self, title):
        r, _ = self.admin("GET", "/admin/api/videos/", "GET /admin/api/videos/")
        for v in jbody(r) or [] if r and r.ok else []:
            if isinstance(v, dict) and v.get("title") == title:
                return v
        return None

    def new_video(self, clip, up):
        self.made += 1
        title = f"Faults {self.number}-{self.made} {clip['name']} {self.shared.seed}"
        r, retried = self.admin("POST", "/admin/api/videos/", "POST /admin/api/videos/",
                                {"title": title, "description": f"clip {clip['name']}",
                                 "category": self.rng.choice(CATEGORIES), "upload_id": up["id"]})
        video = jbody(r) if r is not None and r.status == 201 else None
        if video is None and retried:
            video = self.find_video(title)   # created by an attempt whose answer was lost
        if not isinstance(video, dict) or "id" not in video:
            up["video_create_failed"] = f"{r.status if r else '-'} {(r.body[:200] if r else b'')!r}"
            return
        up["video_id"] = video["id"]
        with self.shared.lock:
            self.shared.videos[video["id"]] = {"id": video["id"], "title": title, "clip": clip["name"],
                                               "expect": "failed" if clip["bad"] else "ready",
                                               "upload": up["id"], "md5": clip["md5"], "deleted": False,
                                               "sources": 1, "gens": {1: clip["name"]}, "superseded": {}}

    def replace_source(self, clip, up):
        with self.shared.lock:
            live = [v for v in self.shared.videos.values() if not v["deleted"]]
        if not live:
            return self.new_video(clip, up)
        v = self.rng.choice(live)
        v["superseded"].setdefault(v["sources"], time.time())   # from here on, its jobs may be stale
        r, _ = self.admin("PATCH", f"/admin/api/videos/{v['id']}/", "PATCH /admin/api/videos/{id}/",
                          {"upload_id": up["id"]})
        if r is not None and r.status == 200:
            up["video_id"] = v["id"]
            self.took_source(v, clip, up)
        elif r is not None and r.status == 400 and b"Upload not found" in r.body:
            up["video_id"] = v["id"]     # an earlier attempt, whose answer was lost, took it
            self.took_source(v, clip, up)
        else:
            up["video_create_failed"] = f"replace: {r.status if r else '-'}"

    def took_source(self, v, clip, up):
        with self.shared.lock:
            v.update(clip=clip["name"], expect="failed" if clip["bad"] else "ready", upload=up["id"],
                     md5=clip["md5"], sources=v["sources"] + 1)
            v["gens"][v["sources"]] = clip["name"]

    def delete_video(self):
        with self.shared.lock:
            live = [v for v in self.shared.videos.values() if not v["deleted"]]
        if len(live) < 4:
            return
        v = self.rng.choice(live)
        v.setdefault("deleted_at", time.time())
        r, _ = self.admin("DELETE", f"/admin/api/videos/{v['id']}/", "DELETE /admin/api/videos/{id}/",
                          accept=(204, 404))
        if r is not None and r.status in (204, 404):
            with self.shared.lock:
                v["deleted"] = True

    def terminate(self, up):
        for attempt in range(10):
            r = self.req("DELETE", up["path"], "DELETE /admin/api/uploads/{id}/", headers=TUS)
            if r.status in (204, 404):
                up["state"] = "terminated"
                return
            if isinstance(r.status, int) and r.status < 500:
                up.setdefault("problems", []).append(f"termination answered {r.status}")
                return
            backoff(self.shared, 1 + attempt)

    def run(self):
        if not self.log_in():
            return
        while not self.shared.over() and self.requests < MAX_REQUESTS:
            action = self.rng.choices(["video", "replace", "delete", "terminate", "leave"], [70, 10, 8, 6, 6])[0]
            if action == "delete":
                self.delete_video()
            else:
                clip = self.rng.choice(self.shared.clips)
                leave_at = self.rng.randrange(1, clip["size"]) if action in ("leave", "terminate") else None
                up = self.upload(clip, leave_at)
                if up is not None and up["state"] == "complete":
                    (self.replace_source if action == "replace" else self.new_video)(clip, up)
                elif up is not None and action == "terminate" and up["state"].startswith("unfinished (left"):
                    self.terminate(up)
            backoff(self.shared, self.rng.uniform(6, 16))
        self.c.close()
