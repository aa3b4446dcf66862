#!/usr/bin/env python3
"""A mock Kubernetes API server for the benchmarks (standard library only), counting requests.

It answers what Lockbox's Kubernetes backend asks while it runs and launches sessions:
- Pods in a namespace: create (the Pod is Pending, then Running 50 ms later, as a kubelet would
  report it), get, delete, list, and watch (a chunked stream of ADDED / MODIFIED / DELETED
  events, from the resourceVersion asked for), which is what the reflector over session Pods
  (src/server/kube/pod_watch.rs) runs on;
- Secrets and Services: create, get, delete, list and watch (propagation watches Secrets);
- Leases (propagation's leader election) and anything else namespaced under /api or /apis:
  a generic store (GET, POST, PUT, PATCH as a merge, DELETE).
Cluster-scoped paths it does not know get a 404 Status.

Every request is counted by method, a path pattern (the object name replaced by `{name}`) and
whether it was a watch. A watch is counted once, when it opens; what it streams afterwards is
not a request. `counts()` returns a copy of the counters; `running_seen()` says how many Pods
have had their Running state written to an open watch of their namespace.

Used by bench/kubeview.py; run alone (`bench/kube_mock.py PORT`) it serves until interrupted.
"""

import json
import queue
import re
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# /api/v1/namespaces/NS/RESOURCE[/NAME[/SUB]] or /apis/GROUP/VERSION/namespaces/NS/RESOURCE[...]
NAMESPACED = re.compile(
    r"^(?P<prefix>/api/v1|/apis/[^/]+/[^/]+)/namespaces/(?P<ns>[^/]+)/(?P<resource>[^/]+)"
    r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$"
)
KINDS = {"pods": "Pod", "secrets": "Secret", "services": "Service", "leases": "Lease"}
RUNNING_AFTER = 0.05  # seconds from a Pod's creation to its Running status


def status(code, reason, message=""):
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message or reason,
        "reason": reason,
        "code": code,
    }


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.rv = 0
        # (prefix, ns, resource) -> {name: object}
        self.objects = {}
        # (prefix, ns, resource) -> [(rv, type, object)] every change, for watches from an rv
        self.log = {}
        # (prefix, ns, resource) -> [queue]
        self.watches = {}
        self.counts = Counter()
        self.running_delivered = set()

    def count(self, key):
        with self.lock:
            self.counts[key] += 1

    def change(self, coll, kind, obj):
        """Records a change (under the lock) and tells the open watches of that collection."""
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        event = (self.rv, kind, json.loads(json.dumps(obj)))
        self.log.setdefault(coll, []).append(event)
        for q in self.watches.get(coll, []):
            q.put(event)
        return obj


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-mock"

    def log_message(self, *args):
        pass

    @property
    def store(self):
        return self.server.store

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        raw = self.body()
        m = NAMESPACED.match(url.path)
        watch = query.get("watch", ["false"])[0] in ("true", "1")
        pattern = url.path
        if m:
            pattern = f"{m['prefix']}/namespaces/{m['ns']}/{m['resource']}"
            if m["name"]:
                pattern += "/{name}" + (f"/{m['sub']}" if m["sub"] else "")
        self.store.count((self.command, pattern, watch))
        if not m:
            return self.reply(404, status(404, "NotFound", f"{url.path} is not served by the mock"))
        coll = (m["prefix"], m["ns"], m["resource"])
        name, sub = m["name"], m["sub"]
        if sub == "log" and self.command == "GET":
            data = b"mock log line\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if name is None and self.command == "GET" and watch:
            return self.watch(coll, query)
        if name is None and self.command == "GET":
            return self.list(coll)
        if name is None and self.command == "POST":
            return self.create(coll, json.loads(raw or b"{}"))
        if name is not None and self.command == "GET":
            return self.get(coll, name)
        if name is not None and self.command in ("PUT", "PATCH"):
            return self.update(coll, name, json.loads(raw or b"{}"), self.command == "PATCH")
        if name is not None and self.command == "DELETE":
            return self.delete(coll, name)
        return self.reply(405, status(405, "MethodNotAllowed"))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def list(self, coll):
        with self.store.lock:
            # Copied under the lock: a Pod's status changes from another thread.
            items = json.loads(json.dumps(list(self.store.objects.get(coll, {}).values())))
            rv = str(self.store.rv)
        kind = KINDS.get(coll[2], "Object")
        metadata_only = "as=PartialObjectMetadataList" in (self.headers.get("Accept") or "")
        if metadata_only:
            items = [
                {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": i["metadata"]}
                for i in items
            ]
            kind = "PartialObjectMetadataList"
        self.reply(
            200,
            {"kind": kind + ("" if metadata_only else "List"),
             "apiVersion": "meta.k8s.io/v1" if metadata_only else api_version(coll),
             "metadata": {"resourceVersion": rv}, "items": items},
        )

    def watch(self, coll, query):
        since = int(query.get("resourceVersion", ["0"])[0] or 0)
        timeout = int(query.get("timeoutSeconds", ["290"])[0])
        q = queue.Queue()
        with self.store.lock:
            backlog = [e for e in self.store.log.get(coll, []) if e[0] > since]
            self.store.watches.setdefault(coll, []).append(q)
        for e in backlog:
            q.put(e)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = time.monotonic() + timeout
        try:
            while not self.server.stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    rv, kind, obj = q.get(timeout=min(left, 0.5))
                except queue.Empty:
                    continue
                line = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
                if coll[2] == "pods" and kind == "MODIFIED" and obj.get("status", {}).get("phase") == "Running":
                    with self.store.lock:
                        self.store.running_delivered.add((coll[1], obj["metadata"]["name"]))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self.store.lock:
                self.store.watches[coll].remove(q)
        self.close_connection = True

    def create(self, coll, obj):
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            return self.reply(422, status(422, "Invalid", "metadata.name is required"))
        kind = KINDS.get(coll[2])
        with self.store.lock:
            objects = self.store.objects.setdefault(coll, {})
            if name in objects:
                return self.reply(409, status(409, "AlreadyExists", f"{name} already exists"))
            meta["namespace"] = coll[1]
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            if kind:
                obj.setdefault("kind", kind)
            obj.setdefault("apiVersion", api_version(coll))
            if coll[2] == "pods":
                obj["status"] = {"phase": "Pending"}
            if coll[2] == "secrets":
                # The mock keeps no values: Lockbox never reads its own Secret back.
                obj.pop("data", None)
                obj.pop("stringData", None)
            objects[name] = obj
            created = json.loads(json.dumps(self.store.change(coll, "ADDED", obj)))
        if coll[2] == "pods":
            threading.Timer(RUNNING_AFTER, self.store_running, args=(coll, name)).start()
        self.reply(201, created)

    def store_running(self, coll, name):
        store = self.store
        with store.lock:
            pod = store.objects.get(coll, {}).get(name)
            if pod is None:
                return
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            pod["status"] = {
                "phase": "Running",
                "startTime": now,
                "containerStatuses": [{
                    "name": "session", "image": "mock", "imageID": "", "ready": True,
                    "restartCount": 0, "started": True, "state": {"running": {"startedAt": now}},
                }],
            }
            store.change(coll, "MODIFIED", pod)

    def get(self, coll, name):
        with self.store.lock:
            obj = json.loads(json.dumps(self.store.objects.get(coll, {}).get(name)))
        if obj is None:
            return self.reply(404, status(404, "NotFound", f"{coll[2]} \"{name}\" not found"))
        self.reply(200, obj)

    def update(self, coll, name, body, patch):
        with self.store.lock:
            objects = self.store.objects.setdefault(coll, {})
            old = objects.get(name)
            if old is None and not patch:
                return self.reply(404, status(404, "NotFound", f"{coll[2]} \"{name}\" not found"))
            obj = json.loads(json.dumps(old or {"metadata": {"name": name}}))
            merge(obj, body) if patch else obj.update(body)
            meta = obj.setdefault("metadata", {})
            meta.update(name=name, namespace=coll[1])
            meta.setdefault("uid", str(uuid.uuid4()))
            obj.setdefault("apiVersion", api_version(coll))
            if KINDS.get(coll[2]):
                obj.setdefault("kind", KINDS[coll[2]])
            objects[name] = obj
            done = json.loads(json.dumps(self.store.change(coll, "MODIFIED" if old else "ADDED", obj)))
        self.reply(200 if old else 201, done)

    def delete(self, coll, name):
        with self.store.lock:
            obj = self.store.objects.get(coll, {}).pop(name, None)
            if obj is not None:
                self.store.change(coll, "DELETED", obj)
        if obj is None:
            return self.reply(404, status(404, "NotFound", f"{coll[2]} \"{name}\" not found"))
        self.reply(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})


def api_version(coll):
    """`v1` for /api/v1, `group/version` for /apis/group/version."""
    return coll[0].removeprefix("/apis/").removeprefix("/api/")


def merge(into, patch):
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            merge(into[k], v)
        elif v is None:
            into.pop(k, None)
        else:
            into[k] = v


class MockKube:
    """The mock on 127.0.0.1:`port` (0: any free port), served from a background thread."""

    def __init__(self, port=0):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.store = Store()
        self.httpd.stopping = threading.Event()
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def counts(self):
        with self.httpd.store.lock:
            return Counter(self.httpd.store.counts)

    def running_seen(self, namespace):
        """How many Pods of `namespace` have had their Running state sent on an open watch."""
        with self.httpd.store.lock:
            return sum(1 for ns, _ in self.httpd.store.running_delivered if ns == namespace)

    def pods(self, namespace):
        with self.httpd.store.lock:
            return len(self.httpd.store.objects.get(("/api/v1", namespace, "pods"), {}))

    def open_watches(self, resource, namespace):
        with self.httpd.store.lock:
            return len(self.httpd.store.watches.get(("/api/v1", namespace, resource), []))

    def kubeconfig(self, namespace="lockbox"):
        return (
            "apiVersion: v1\nkind: Config\n"
            f"clusters: [{{name: mock, cluster: {{server: '{self.url}'}}}}]\n"
            "users: [{name: mock, user: {token: mock}}]\n"
            f"contexts: [{{name: mock, context: {{cluster: mock, user: mock, namespace: {namespace}}}}}]\n"
            "current-context: mock\n"
        )

    def stop(self):
        self.httpd.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    mock = MockKube(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"mock Kubernetes API server on {mock.url}", flush=True)
    try:
        while True:
            time.sleep(5)
            for key, n in sorted(mock.counts().items()):
                print(n, *key, flush=True)
    except KeyboardInterrupt:
        mock.stop()
