"""http_client.py - the load's HTTP: one keep-alive connection per client
(like one browser tab), its cookies, and a record of every request with its
start, end, endpoint label and answer (a status, or "timeout" / "no answer"
when none came).  It owns the request log the checks read; it knows nothing
about Videoflix's endpoints beyond the labels callers give.  Only 127.0.0.1
is ever contacted.
"""
import http.client
import socket
import threading
import time
import urllib.parse

TIMEOUT = 30          # seconds without an answer: counted as "timeout"
NO_ANSWER = "no answer"
TIMED_OUT = "timeout"
CUT = "cut by client"  # a request the load interrupted on purpose


class Recorder:
    """Every request of the run: (start, end, label, status, request id, detail)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows = []

    def add(self, start, end, label, status, request_id="", detail=""):
        with self.lock:
            self.rows.append((start, end, label, status, request_id, detail))

    def snapshot(self):
        with self.lock:
            return list(self.rows)


class Response:
    def __init__(self, status, headers=None, body=b"", error=""):
        self.status = status          # int, or TIMED_OUT / NO_ANSWER
        self.headers = headers or {}  # lower-case names; repeated ones joined by "\n"
        self.body = body
        self.error = error

    @property
    def ok(self):
        return isinstance(self.status, int) and 200 <= self.status < 300

    @property
    def server_error(self):
        return not isinstance(self.status, int) or self.status >= 500

    def header(self, name):
        return self.headers.get(name.lower(), "")


class Client:
    """Requests to one 127.0.0.1 port over one kept-alive connection, with cookies."""

    def __init__(self, recorder, port, host="127.0.0.1"):
        if host != "127.0.0.1":
            raise ValueError("the load talks to 127.0.0.1 only")
        self.recorder, self.host, self.port = recorder, host, port
        self.conn = None
        self.cookies = {}

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def cookie_header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _keep_cookies(self, set_cookies):
        for line in set_cookies:
            pair = line.split(";", 1)[0]
            name, _, value = pair.partition("=")
            name = name.strip()
            if not value or "max-age=0" in line.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def request(self, method, path, label, body=None, headers=None, timeout=TIMEOUT):
        headers = dict(headers or {})
        if self.cookies and "Cookie" not in headers:
            headers["Cookie"] = self.cookie_header()
        if isinstance(body, str):
            body = body.encode()
        start = time.time()
        for attempt in (1, 2):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            try:
                self.conn.timeout = timeout
                if self.conn.sock:
                    self.conn.sock.settimeout(timeout)
                self.conn.request(method, path, body=body, headers=headers)
                answer = self.conn.getresponse()
                data = answer.read()
            except socket.timeout as e:
                self.close()
                resp = Response(TIMED_OUT, error=str(e) or "timed out")
                break
            except (OSError, http.client.HTTPException) as e:
                self.close()
                # A kept-alive connection the server had closed: once more on
                # a new one, as browsers do; a fresh one failing is an answer.
                if not fresh and attempt == 1 and isinstance(
                        e, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)):
                    continue
                resp = Response(NO_ANSWER, error=f"{type(e).__name__}: {e}")
                break
            heads = {}
            for name, value in answer.getheaders():
                key = name.lower()
                heads[key] = heads[key] + "\n" + value if key in heads else value
            self._keep_cookies(answer.headers.get_all("Set-Cookie") or [])
            if answer.will_close:
                self.close()
            resp = Response(answer.status, heads, data)
            break
        self.recorder.add(start, time.time(), label, resp.status, resp.header("x-request-id"), resp.error)
        return resp

    def cut_request(self, method, path, label, headers, body, send_bytes):
        """Send the head and the first send_bytes of body, then drop the
        connection: a client whose network went away mid-request."""
        self.close()
        start = time.time()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                f"Content-Length: {len(body)}"]
        if self.cookies:
            head.append(f"Cookie: {self.cookie_header()}")
        head += [f"{k}: {v}" for k, v in headers.items()]
        try:
            with socket.create_connection((self.host, self.port), timeout=TIMEOUT) as s:
                s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body[:send_bytes])
                time.sleep(0.2)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        self.recorder.add(start, time.time(), label, CUT)


def split_url(url):
    """(port, path with query) of an http://127.0.0.1:PORT/... URL; ValueError otherwise."""
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or u.hostname != "127.0.0.1" or not u.port:
        raise ValueError(f"not a loopback URL: {url[:80]}")
    return u.port, u.path + ("?" + u.query if u.query else "")
