#!/usr/bin/env python3
"""Stale views across replicas: two servers on one PostgreSQL database; a change goes through one,
the settings page is viewed through the other (which has a cached copy from just before), N times.

usage: bench/stale_views.py BIN DATABASE_URL [N]

Both servers use the Kubernetes backend against an API server address that refuses connections
(the local backend runs as a single replica, see README "Several replicas"; the settings page
needs no cluster). Prints one Markdown table row: changes, views, stale views, non-2xx answers.
"""
import base64
import os
import re
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

from benchlib import server_env, start_server, stop_server

BIN, URL = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
PASSWORD = "correct horse battery staple"


def start(port, key, kubeconfig, data):
    env = server_env(data, port, LOCKBOX_DATABASE_URL=URL, LOCKBOX_MASTER_KEY=key,
                     LOCKBOX_KUBE=1, KUBECONFIG=kubeconfig)
    return start_server(BIN, env)


class Client:
    def __init__(self):
        self.cookie = ""
        self.non_2xx = 0

    def request(self, base, path, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(base + path, data=data)
        if self.cookie:
            req.add_header("Cookie", self.cookie)
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                for value in res.headers.get_all("Set-Cookie") or []:
                    if value.startswith("lockbox_session="):
                        self.cookie = value.split(";", 1)[0]
                return res.read().decode()
        except urllib.error.HTTPError as e:
            self.non_2xx += 1
            return e.read().decode()


def rows(html):
    return set(re.findall(r'data-secret="([^"]+)"', html))


def main():
    key = base64.b64encode(os.urandom(32)).decode()
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = os.path.join(tmp, "kubeconfig")
        with open(kubeconfig, "w") as f:
            f.write(
                "apiVersion: v1\nkind: Config\n"
                "clusters: [{name: stub, cluster: {server: 'http://127.0.0.1:9'}}]\n"
                "users: [{name: stub, user: {token: stub}}]\n"
                "contexts: [{name: stub, context: {cluster: stub, user: stub, namespace: lockbox}}]\n"
                "current-context: stub\n"
            )
        os.makedirs(os.path.join(tmp, "a"))
        os.makedirs(os.path.join(tmp, "b"))
        a, base_a = start(3971, key, kubeconfig, os.path.join(tmp, "a"))
        b, base_b = start(3972, key, kubeconfig, os.path.join(tmp, "b"))
        try:
            c = Client()
            c.request(base_a, "/api/signup", {"username": "stale", "password": PASSWORD})
            stale = views = 0
            for i in range(N):
                name = f"S_{i}"
                before = c.request(base_b, "/settings/secrets")  # B keeps a copy
                views += 1
                if i % 2 == 0:
                    c.request(base_a, "/api/secrets/create", {"name": name, "value": "v"})
                    expect = lambda html, name=name: name in rows(html)
                else:
                    prev = f"S_{i - 1}"
                    c.request(base_a, "/api/secrets/delete", {"name": prev})
                    expect = lambda html, prev=prev: prev not in rows(html)
                after = c.request(base_b, "/settings/secrets")
                views += 1
                if not expect(after):
                    stale += 1
                del before
            print(f"| {N} | {views} | {stale} | {c.non_2xx} |")
        finally:
            stop_server(a)
            stop_server(b)
            a.wait()
            b.wait()


main()
