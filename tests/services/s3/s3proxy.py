#!/usr/bin/python3
"""s3proxy.py - the verifying proxy in front of s3rver for the storage_s3 tests.

s3rver 3.7.1 stores and serves objects but does not check Signature Version 4.
This proxy does, with AWS's own signer (botocore.auth from Debian's
python3-botocore): every request signed with an Authorization header, and
every presigned URL, is signed again from what arrived on the wire, with the
request's own X-Amz-Date, and a different signature gets S3's
403 SignatureDoesNotMatch.  It also refuses, as S3 does: unknown access keys,
a wrong credential scope, clock skew over 15 minutes, expired presigned URLs,
an unsigned host or x-amz-* header, a missing x-amz-content-sha256, and a body
whose SHA-256 is not the signed one, and Signature Version 2.  Requests
without any signature are forwarded unchecked (public objects).  Bodies are spooled to disk, never held
in memory; answers are streamed back.

Writes (PUT, POST, DELETE) are passed to s3rver one at a time: s3rver crashes
when a write races the removal of a directory that a delete left empty.

It fills s3rver's gaps in multipart uploads from s3rver's data directory:
AbortMultipartUpload, ListMultipartUploads, NoSuchUpload for unknown upload
ids, and CompleteMultipartUpload's InvalidPart, InvalidPartOrder and
EntityTooSmall checks.  DeleteObjects (POST ?delete) is answered here as S3
answers it (Content-MD5 required and checked, at most 1000 keys, Quiet,
an <Error> per key not deleted), deleting the keys one by one through
s3rver: its own DeleteObjects races its directory clean-up.

Faults on demand, for retry tests (object keys containing these markers):
  vf-fault-503-once   the first request for the key gets 503 SlowDown
  vf-fault-part2-500  UploadPart of part 2 always gets 500 InternalError
  vf-fault-delete-denied  DeleteObjects leaves the key and lists it as an
                      <Error> with Code AccessDenied

Slow answers on demand (--control FILE, read again for every request; one
rule a line, "#" starts a comment; OPERATION is an S3 operation name such as
UploadPart or PutObject, or "*"; KEY-PART, when given, must occur in the key):
  delay SECONDS OPERATION [KEY-PART]   answer matching requests SECONDS later
  hold OPERATION [KEY-PART]            keep matching requests waiting until
                                       the rule is gone from the file
The request has been received in full and checked before it waits, and it
waits before it reaches s3rver, so other requests (writes too) go on
meanwhile.  A held request gives up waiting after 10 minutes and proceeds.

Faults for every request, for load tests (bench/faults): when the variable
VF_S3_FAULT_FILE names a file, it is read for every request; a line
  fail STATUS UNTIL     answers STATUS (500 InternalError or 503 SlowDown)
  delay SECONDS UNTIL   answers SECONDS later
applies until the Unix time UNTIL.  Write it atomically (rename).

--stats names a file of "name value" lines, rewritten after every request
(and when a request starts to be held): verified, verified_presigned,
rejected, anonymous, faults, delayed (requests slowed by a delay rule),
deleted_keys (keys DeleteObjects deleted),
held (requests waiting on a hold rule right now), op.<Operation> (verified
requests by S3 operation), uploads_in_progress, and one
"upload <upload id> <key>" line per multipart upload in progress.

Only for tests: it listens on 127.0.0.1 and forwards to s3rver on 127.0.0.1.
Credentials come from VF_S3_ACCESS_KEY and VF_S3_SECRET_KEY.
"""
import argparse
import base64
import binascii
import calendar
import hashlib
import hmac
import http.client
import http.server
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ElementTree
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW = 15 * 60
MAX_EXPIRES = 7 * 24 * 3600
MIN_PART = 5 << 20
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade", "expect",
}
AUTH_HEADER = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})")
VHOST_SUFFIX = ".s3.localhost"


class S3Error(Exception):
    """An answer in S3's XML error format."""

    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


class Stats:
    def __init__(self, path, data_dir):
        self.path, self.data_dir = path, data_dir
        self.counts = {"verified": 0, "verified_presigned": 0, "rejected": 0, "anonymous": 0,
                       "faults": 0, "delayed": 0, "held": 0}
        self.lock = threading.Lock()
        self.faulted_keys = set()
        self.write()

    def add(self, name):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def hold(self, change):
        """Count a request that starts (+1) or stops (-1) waiting on a hold rule."""
        with self.lock:
            self.counts["held"] += change
        self.write()

    def first_fault(self, key):
        with self.lock:
            if key in self.faulted_keys:
                return False
            self.faulted_keys.add(key)
            return True

    def uploads_in_progress(self):
        """(upload id, key) of every multipart upload s3rver holds."""
        found = []
        for bucket in sorted(os.listdir(self.data_dir)):
            uploads = os.path.join(self.data_dir, bucket, "._S3rver_uploads")
            for upload_id in sorted(os.listdir(uploads)) if os.path.isdir(uploads) else []:
                try:
                    with open(os.path.join(uploads, upload_id, "key"), encoding="utf-8") as f:
                        found.append((upload_id, f.read()))
                except OSError:
                    found.append((upload_id, ""))
        return found

    def write(self):
        with self.lock:
            uploads = self.uploads_in_progress()
            lines = [f"{k} {v}\n" for k, v in sorted(self.counts.items())]
            lines.append(f"uploads_in_progress {len(uploads)}\n")
            lines += [f"upload {upload_id} {key}\n" for upload_id, key in uploads]
            tmp = f"{self.path}.tmp.{threading.get_ident()}"
            with open(tmp, "w") as f:
                f.writelines(lines)
            os.replace(tmp, self.path)


class Control:
    """The rules of the --control file (see the module's comment)."""

    HOLD_POLL = 0.05
    HOLD_MAX = 600

    def __init__(self, path):
        self.path = path
        self.warned = set()

    def rules(self):
        if not self.path:
            return []
        try:
            with open(self.path, encoding="utf-8") as f:
                lines = f.readlines()
        except OSError:
            return []
        found = []
        for number, line in enumerate(lines, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            rule = None
            if words[0] == "delay" and len(words) in (3, 4):
                try:
                    seconds = float(words[1])
                    if seconds >= 0:
                        rule = ("delay", seconds, words[2], words[3] if len(words) == 4 else "")
                except ValueError:
                    pass
            elif words[0] == "hold" and len(words) in (2, 3):
                rule = ("hold", 0.0, words[1], words[2] if len(words) == 3 else "")
            if rule:
                found.append(rule)
            elif (number, line) not in self.warned:
                self.warned.add((number, line))
                sys.stderr.write(f"s3proxy: {self.path}:{number}: not a rule, ignored "
                                 "(delay SECONDS OPERATION [KEY-PART] | hold OPERATION [KEY-PART])\n")
        return found

    @staticmethod
    def matching(rules, action, op, key):
        return [r for r in rules if r[0] == action and r[2] in ("*", op) and r[3] in key]

    def slow_down(self, op, key, stats):
        """Wait as the rules say for a request of operation op on key."""
        delays = self.matching(self.rules(), "delay", op, key)
        if delays:
            stats.add("delayed")
            time.sleep(max(r[1] for r in delays))
        if self.matching(self.rules(), "hold", op, key):
            stats.hold(+1)
            try:
                deadline = time.monotonic() + self.HOLD_MAX
                while self.matching(self.rules(), "hold", op, key) and time.monotonic() < deadline:
                    time.sleep(self.HOLD_POLL)
            finally:
                stats.hold(-1)


def injected_fault(path):
    """("fail", status) or ("delay", seconds) from the VF_S3_FAULT_FILE line in force, else None."""
    try:
        with open(path, encoding="utf-8") as f:
            kind, value, until = f.read().split()
        if time.time() < float(until) and kind in ("fail", "delay"):
            return kind, float(value)
    except (OSError, ValueError):
        pass
    return None


def parse_amz_date(text):
    try:
        return calendar.timegm(time.strptime(text, "%Y%m%dT%H%M%SZ"))
    except (TypeError, ValueError):
        return None


def operation(method, key, query):
    if not key:
        if method == "GET" and "uploads" in query:
            return "ListMultipartUploads"
        if method == "GET" and query.get("list-type") == "2":
            return "ListObjectsV2"
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        return {"GET": "ListObjects", "HEAD": "HeadBucket", "PUT": "CreateBucket",
                "DELETE": "DeleteBucket", "POST": "PostBucket"}.get(method, method)
    if method == "PUT":
        return "UploadPart" if "uploadId" in query else "PutObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        return "CompleteMultipartUpload" if "uploadId" in query else "PostObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    return {"GET": "GetObject", "HEAD": "HeadObject"}.get(method, method)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vf-s3proxy"

    # -- plumbing ----------------------------------------------------------

    def log_request(self, code="-", size="-"):
        pass  # one line per request is written by handle_s3 (without the query: it may hold a signature)

    def log_message(self, fmt, *args):
        sys.stderr.write("s3proxy: " + (fmt % args) + "\n")

    def do_GET(self):
        self.handle_s3()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

    def send_xml(self, status, text, extra_headers=()):
        data = text.encode()
        self.server.stats.write()  # before the client can see the answer
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("x-amz-request-id", uuid.uuid4().hex[:16].upper())
        for name, value in extra_headers:
            self.send_header(name, value)
        self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_s3_error(self, e):
        extra = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in e.extra.items())
        self.send_xml(e.status, '<?xml version="1.0" encoding="UTF-8"?>\n'
                      f"<Error><Code>{e.code}</Code><Message>{escape(e.message)}</Message>{extra}"
                      f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>")

    def spool_body(self):
        """The request body in a temporary file (memory up to 1 MiB) and its SHA-256."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise S3Error(400, "InvalidArgument", "Content-Length is not a number.")
        spool = tempfile.SpooledTemporaryFile(max_size=1 << 20)
        digest = hashlib.sha256()
        left = length
        while left > 0:
            chunk = self.rfile.read(min(65536, left))
            if not chunk:
                self.close_connection = True
                raise S3Error(400, "IncompleteBody",
                              "You did not provide the number of bytes specified by the Content-Length HTTP header.")
            digest.update(chunk)
            spool.write(chunk)
            left -= len(chunk)
        spool.seek(0)
        return spool, length, digest.hexdigest()

    # -- signature checks ----------------------------------------------------

    def check_scope(self, credential, amz_date):
        parts = credential.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise S3Error(400, "AuthorizationHeaderMalformed", f"The credential '{credential}' is malformed.")
        access_key, day, region, service, _ = parts
        if access_key != self.server.access_key:
            raise S3Error(403, "InvalidAccessKeyId",
                          "The AWS Access Key Id you provided does not exist in our records.",
                          AWSAccessKeyId=access_key)
        if day != amz_date[:8]:
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          f"Invalid credential date. Date is not the same as X-Amz-Date: '{day}'.")
        if region != self.server.region:
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          f"the region '{region}' is wrong; expecting '{self.server.region}'",
                          Region=self.server.region)
        if service != "s3":
            raise S3Error(400, "AuthorizationHeaderMalformed", f"the service '{service}' is wrong; expecting 's3'")

    def signed_request(self, url, signed_names):
        request = AWSRequest(method=self.command, url=url, headers={})
        for name in signed_names:
            for value in self.headers.get_all(name) or []:
                request.headers[name] = value
        return request

    def compare(self, signer, request, amz_date, signature, access_key):
        request.context["timestamp"] = amz_date
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        expected = signer.signature(string_to_sign, request)
        if not hmac.compare_digest(expected, signature):
            raise S3Error(403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you "
                          "provided. Check your key and signing method.",
                          AWSAccessKeyId=access_key, StringToSign=string_to_sign,
                          CanonicalRequest=canonical)

    def check_token(self, token):
        if token != self.server.session_token:
            raise S3Error(403, "InvalidToken", "The provided token is malformed or otherwise invalid.")

    def verify_header_auth(self, authorization, url, body_sha256):
        match = AUTH_HEADER.fullmatch(authorization.strip())
        if not match:
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          "The authorization header is malformed; it needs Credential, SignedHeaders and Signature.")
        credential, signed, signature = match.groups()
        amz_date = self.headers.get("X-Amz-Date")
        when = parse_amz_date(amz_date)
        if when is None:
            raise S3Error(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
        self.check_scope(credential, amz_date)
        if abs(time.time() - when) > MAX_SKEW:
            raise S3Error(403, "RequestTimeTooSkewed",
                          "The difference between the request time and the current time is too large.")
        signed_names = signed.split(";")
        unsigned = sorted({n.lower() for n in self.headers.keys()
                           if n.lower().startswith("x-amz-") and n.lower() not in signed_names})
        if "host" not in signed_names or unsigned:
            raise S3Error(403, "AccessDenied",
                          "There were headers present in the request which were not signed",
                          HeadersNotSigned=", ".join(unsigned or ["host"]))
        content_sha256 = self.headers.get("x-amz-content-sha256")
        if not content_sha256:
            raise S3Error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        self.check_token(self.headers.get("x-amz-security-token"))
        signer = S3SigV4Auth(Credentials(self.server.access_key, self.server.secret_key,
                                         self.server.session_token), "s3", self.server.region)
        self.compare(signer, self.signed_request(url, signed_names), amz_date, signature,
                     credential.split("/")[0])
        if content_sha256 != "UNSIGNED-PAYLOAD" and content_sha256 != body_sha256:
            raise S3Error(400, "XAmzContentSHA256Mismatch",
                          "The provided 'x-amz-content-sha256' header does not match what was computed.",
                          ClientComputedContentSHA256=content_sha256, S3ComputedContentSHA256=body_sha256)

    def verify_presigned(self, params, base_url, raw_query):
        required = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                    "X-Amz-SignedHeaders", "X-Amz-Signature"]
        missing = [name for name in required if name not in params]
        if missing or params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
            raise S3Error(400, "AuthorizationQueryParametersError",
                          "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                          "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                          "and X-Amz-Expires parameters.")
        amz_date = params["X-Amz-Date"]
        when = parse_amz_date(amz_date)
        try:
            expires = int(params["X-Amz-Expires"])
        except ValueError:
            expires = -1
        if when is None or not 1 <= expires <= MAX_EXPIRES:
            raise S3Error(400, "AuthorizationQueryParametersError",
                          "X-Amz-Date must be YYYYMMDDTHHMMSSZ and X-Amz-Expires 1 to 604800 seconds.")
        self.check_scope(params["X-Amz-Credential"], amz_date)
        now = time.time()
        if now > when + expires:
            raise S3Error(403, "AccessDenied", "Request has expired", X_Amz_Expires=expires)
        if when > now + MAX_SKEW:
            raise S3Error(403, "AccessDenied", "Request is not yet valid")
        signed_names = params["X-Amz-SignedHeaders"].split(";")
        if "host" not in signed_names:
            raise S3Error(403, "AccessDenied", "The host header must be signed")
        self.check_token(params.get("X-Amz-Security-Token"))
        # What was signed is the query as sent, less the signature itself.
        kept = [p for p in raw_query.split("&") if p.partition("=")[0] != "X-Amz-Signature"]
        signer = S3SigV4QueryAuth(Credentials(self.server.access_key, self.server.secret_key,
                                              self.server.session_token), "s3", self.server.region,
                                  expires=expires)
        self.compare(signer, self.signed_request(base_url + "?" + "&".join(kept), signed_names),
                     amz_date, params["X-Amz-Signature"], params["X-Amz-Credential"].split("/")[0])

    # -- s3rver's missing multipart pieces -----------------------------------

    def upload_dir(self, bucket, upload_id):
        if not upload_id or "/" in upload_id or upload_id.startswith("."):
            return None
        return os.path.join(self.server.data_dir, bucket, "._S3rver_uploads", upload_id)

    def require_upload(self, bucket, key, upload_id):
        path = self.upload_dir(bucket, upload_id)
        try:
            with open(os.path.join(path, "key"), encoding="utf-8") as f:
                if f.read() == key:
                    return path
        except (OSError, TypeError):
            pass
        raise S3Error(404, "NoSuchUpload",
                      "The specified upload does not exist. The upload ID may be invalid, or the "
                      "upload may have been aborted or completed.", UploadId=upload_id)

    def check_complete(self, upload, spool):
        try:
            root = ElementTree.parse(spool).getroot()
        except ElementTree.ParseError:
            raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed.")
        finally:
            spool.seek(0)
        local = lambda element: element.tag.rsplit("}", 1)[-1]
        parts = []
        for part in root:
            if local(part) != "Part":
                continue
            fields = {local(child): (child.text or "") for child in part}
            try:
                parts.append((int(fields["PartNumber"]), fields["ETag"].strip('"')))
            except (KeyError, ValueError):
                raise S3Error(400, "MalformedXML", "Each Part needs a PartNumber and an ETag.")
        if local(root) != "CompleteMultipartUpload" or not parts:
            raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed.")
        if [n for n, _ in parts] != sorted({n for n, _ in parts}):
            raise S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        for index, (number, etag) in enumerate(parts):
            path = os.path.join(upload, str(number))
            try:
                with open(path + ".md5") as f:
                    stored = f.read().strip()
                size = os.path.getsize(path)
            except OSError:
                stored, size = None, 0
            if stored != etag:
                raise S3Error(400, "InvalidPart", "One or more of the specified parts could not be "
                              "found or its entity tag did not match.", PartNumber=number, ETag=etag)
            if index < len(parts) - 1 and size < MIN_PART:
                raise S3Error(400, "EntityTooSmall",
                              "Your proposed upload is smaller than the minimum allowed object size.",
                              PartNumber=number, ProposedSize=size, MinSizeAllowed=MIN_PART)

    def list_uploads(self, bucket, prefix):
        root = os.path.join(self.server.data_dir, bucket, "._S3rver_uploads")
        uploads = []
        for upload_id in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            try:
                with open(os.path.join(root, upload_id, "key"), encoding="utf-8") as f:
                    key = f.read()
            except OSError:
                continue
            if key.startswith(prefix):
                uploads.append(f"<Upload><Key>{escape(key)}</Key><UploadId>{upload_id}</UploadId></Upload>")
        self.send_xml(200, '<?xml version="1.0" encoding="UTF-8"?>\n'
                      '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                      f"<Bucket>{escape(bucket)}</Bucket><Prefix>{escape(prefix)}</Prefix>"
                      f"<IsTruncated>false</IsTruncated>{''.join(uploads)}</ListMultipartUploadsResult>")

    # -- DeleteObjects, done here ---------------------------------------------

    def delete_objects(self, bucket, spool):
        """DeleteObjects as S3 does it: Content-MD5 required and checked, at most
        1000 keys, Quiet honoured, and each key that could not be deleted
        reported as an <Error> in a 200 answer.  The keys are deleted one by
        one through s3rver's DeleteObject (the caller holds the write lock):
        s3rver 3.7.1's own DeleteObjects deletes a batch's keys all at once,
        which races its clean-up of emptied directories (the whole batch then
        fails with a 500), and never reports a key it could not delete."""
        data = spool.read()
        spool.seek(0)
        md5 = self.headers.get("Content-MD5")
        if not md5:
            raise S3Error(400, "InvalidRequest", "Missing required header for this request: Content-MD5")
        try:
            given = base64.b64decode(md5, validate=True)
        except (ValueError, binascii.Error):
            given = b""
        if len(given) != 16:
            raise S3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        if given != hashlib.md5(data).digest():
            raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        malformed = S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not "
                            "validate against our published schema")
        try:
            root = ElementTree.fromstring(data)
        except ElementTree.ParseError:
            raise malformed
        local = lambda element: element.tag.rsplit("}", 1)[-1]
        quiet, keys = False, []
        for child in root if local(root) == "Delete" else []:
            if local(child) == "Quiet":
                quiet = (child.text or "").strip().lower() == "true"
            elif local(child) == "Object":
                found = [k.text or "" for k in child if local(k) == "Key"]
                if len(found) != 1 or not found[0]:
                    raise malformed
                keys.append(found[0])
        if not 1 <= len(keys) <= 1000:
            raise malformed
        entries = []
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=120)
        try:
            for key in keys:
                if "vf-fault-delete-denied" in key:
                    self.server.stats.add("faults")
                    entries.append(f"<Error><Key>{escape(key)}</Key><Code>AccessDenied</Code>"
                                   "<Message>Access Denied</Message></Error>")
                    continue
                upstream.request("DELETE", "/" + urllib.parse.quote(bucket) + "/" + urllib.parse.quote(key, safe="/"),
                                 headers={"Host": f"127.0.0.1:{self.server.upstream_port}"})
                answer = upstream.getresponse()
                body = answer.read()
                if 200 <= answer.status < 300:
                    self.server.stats.add("deleted_keys")
                    if not quiet:
                        entries.append(f"<Deleted><Key>{escape(key)}</Key></Deleted>")
                    continue
                code = re.search(rb"<Code>([^<]*)</Code>", body)
                message = re.search(rb"<Message>([^<]*)</Message>", body)
                entries.append(f"<Error><Key>{escape(key)}</Key>"
                               f"<Code>{code.group(1).decode() if code else 'InternalError'}</Code>"
                               f"<Message>{message.group(1).decode() if message else answer.reason}</Message></Error>")
        except (OSError, http.client.HTTPException) as e:
            raise S3Error(503, "ServiceUnavailable", f"s3rver did not answer: {e}")
        finally:
            upstream.close()
        self.send_xml(200, '<?xml version="1.0" encoding="UTF-8"?>\n'
                      '<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                      f"{''.join(entries)}</DeleteResult>")

    # -- forwarding ----------------------------------------------------------

    def forward(self, spool, length):
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=120)
        try:
            try:
                upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        upstream.putheader(name, value)
                upstream.endheaders()
                while length > 0:
                    chunk = spool.read(65536)
                    if not chunk:
                        break
                    upstream.send(chunk)
                    length -= len(chunk)
                answer = upstream.getresponse()
            except (OSError, http.client.HTTPException) as e:
                raise S3Error(503, "ServiceUnavailable", f"s3rver did not answer: {e}")
            self.server.stats.write()  # before the client can see the answer
            self.send_response_only(answer.status, answer.reason)
            known_length = None
            for name, value in answer.getheaders():
                if name.lower() in HOP_BY_HOP:
                    continue
                if name.lower() == "content-length":
                    known_length = value
                self.send_header(name, value)
            bodiless = self.command == "HEAD" or answer.status in (204, 304) or answer.status < 200
            chunked = not bodiless and known_length is None
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while not bodiless:
                chunk = answer.read(65536)
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                elif chunk:
                    self.wfile.write(chunk)
                if not chunk:
                    break
            return answer.status
        finally:
            upstream.close()

    # -- one request ---------------------------------------------------------

    def handle_s3(self):
        split = urllib.parse.urlsplit(self.path)
        raw_path, raw_query = split.path, split.query
        params = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        host = self.headers.get("Host", "")
        hostname = host.rsplit(":", 1)[0]
        if hostname.endswith(VHOST_SUFFIX):
            bucket, raw_key = hostname[: -len(VHOST_SUFFIX)], raw_path[1:]
        else:
            bucket, _, raw_key = raw_path[1:].partition("/")
        key = urllib.parse.unquote(raw_key)
        op = operation(self.command, key, params)
        verdict, status, spool = "anonymous", 0, None
        try:
            spool, length, body_sha256 = self.spool_body()
            base_url = "http://" + host + raw_path
            if "Signature" in params or self.headers.get("Authorization", "").startswith("AWS "):
                raise S3Error(400, "InvalidRequest", "The authorization mechanism you have provided is "
                              "not supported. Please use AWS4-HMAC-SHA256.")
            if "X-Amz-Algorithm" in params:
                self.verify_presigned(params, base_url, raw_query)
                verdict = "verified_presigned"
            elif self.headers.get("Authorization"):
                self.verify_header_auth(self.headers["Authorization"],
                                        base_url + ("?" + raw_query if raw_query else ""), body_sha256)
                verdict = "verified"
            if verdict == "anonymous":
                self.server.stats.add("anonymous")
            else:
                self.server.stats.add("verified")
                if verdict == "verified_presigned":
                    self.server.stats.add(verdict)
                self.server.stats.add("op." + op)

            fault = injected_fault(self.server.fault_file) if self.server.fault_file else None
            if fault and fault[0] == "delay":
                time.sleep(fault[1])
            elif fault:
                self.server.stats.add("faults")
                if int(fault[1]) == 503:
                    raise S3Error(503, "SlowDown", "Please reduce your request rate.")
                raise S3Error(500, "InternalError", "We encountered an internal error. Please try again.")
            if "vf-fault-503-once" in key and self.server.stats.first_fault(key):
                self.server.stats.add("faults")
                raise S3Error(503, "SlowDown", "Please reduce your request rate.")
            if "vf-fault-part2-500" in key and op == "UploadPart" and params.get("partNumber") == "2":
                self.server.stats.add("faults")
                raise S3Error(500, "InternalError", "We encountered an internal error. Please try again.")
            self.server.control.slow_down(op, key, self.server.stats)

            if op == "ListMultipartUploads":
                self.list_uploads(bucket, params.get("prefix", ""))
                status = 200
            elif op == "AbortMultipartUpload":
                shutil.rmtree(self.require_upload(bucket, key, params["uploadId"]))
                self.send_xml(204, "")
                status = 204
            elif op == "DeleteObjects":
                with self.server.write_lock:
                    self.delete_objects(bucket, spool)
                status = 200
            elif self.command in ("GET", "HEAD"):
                status = self.forward(spool, length)
            else:
                # s3rver keeps keys as directories and removes a directory that
                # a delete leaves empty; a write racing that removal crashes it.
                # So writes reach it one at a time (clients still overlap here).
                with self.server.write_lock:
                    if op in ("UploadPart", "CompleteMultipartUpload"):
                        upload = self.require_upload(bucket, key, params["uploadId"])
                        if op == "CompleteMultipartUpload":
                            self.check_complete(upload, spool)
                    status = self.forward(spool, length)
        except S3Error as e:
            if e.code in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied",
                          "AuthorizationHeaderMalformed", "AuthorizationQueryParametersError",
                          "RequestTimeTooSkewed", "InvalidToken", "XAmzContentSHA256Mismatch",
                          "InvalidRequest"):
                verdict = "rejected"
                self.server.stats.add("rejected")
            self.send_s3_error(e)
            status = e.status
        except (ConnectionError, OSError) as e:
            self.log_message("%s %s: %s", self.command, raw_path, e)
            self.close_connection = True
            self.server.stats.write()
            status = 502
        finally:
            if spool:
                spool.close()
            self.log_message("%s %s %s -> %s (%s)", self.command, raw_path, op, status, verdict)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream-port", type=int, required=True, help="s3rver's port on 127.0.0.1")
    parser.add_argument("--data-dir", required=True, help="s3rver's data directory")
    parser.add_argument("--port-file", required=True, help="where to write the port this proxy listens on")
    parser.add_argument("--stats", required=True, help="the counts file")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--control", help="the file of delay and hold rules (optional)")
    args = parser.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.access_key = os.environ["VF_S3_ACCESS_KEY"]
    server.secret_key = os.environ["VF_S3_SECRET_KEY"]
    server.session_token = os.environ.get("VF_S3_SESSION_TOKEN") or None
    server.region = args.region
    server.upstream_port = args.upstream_port
    server.data_dir = args.data_dir
    server.stats = Stats(args.stats, args.data_dir)
    server.control = Control(args.control)
    server.write_lock = threading.Lock()
    server.fault_file = os.environ.get("VF_S3_FAULT_FILE")
    with open(args.port_file + ".tmp", "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
