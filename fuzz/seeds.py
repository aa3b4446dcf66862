#!/usr/bin/env python3
"""Writes the hand-made seeds of every target into fuzz/corpus/<target>/seed-*.

Fields of one input are separated by the byte 0xFF (model::invariants::SEP). Inputs the
campaigns found are kept beside these (named by their SHA-1, as libFuzzer names them).
Run from anywhere: python3 fuzz/seeds.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = b"\xff"


def j(*fields):
    return SEP.join(f.encode() if isinstance(f, str) else f for f in fields)


SEEDS = {
    "secret_name": [
        "DB_PASSWORD", "_x1", "a" * 64, "a" * 65, "LOCKBOX_X", "lockbox_token", "LOCKBOXED",
        "1abc", "a-b", "a=b", "../etc", "\u0410PI_KEY", "A\u200b", "", "A\0B", "a b",
    ],
    "secret_value": [
        j("hunter2"), j("a\0b"), j("-----BEGIN-----\r\nabc\r\n-----END-----\r\n"),
        j("x" * 300, "256"), j("", "10"), j("caf\u00e9", "4"), j("a\rb\n"),
        j("Value must not contain NUL bytes."),
    ],
    "description": [
        "Production database", "", "a\nb", "d" * 201, "tab\there", "\u00fcn\u00efc\u00f6d\u00e9",
        "x" * 501, "line\r\nbreak",
    ],
    "username_password": [
        j("alice", "correct horse battery"), j("ab", "short"), j(".abc", ""),
        j("a" * 33, "x" * 1025), j("\u0430lice", "\u00e9" * 12), j("a.b-c_d9", "p" * 1024),
        j("Alice", "Password must be at least 12"),
    ],
    "extra_env": [
        "MODE=train\nEMPTY=\n# comment\n\nURL=postgres://h/db?a=b\r\nDB=SECRET:db-creds,password\n",
        "A=x\0y", "LOCKBOX_X=1", "9X=1\nA-B=1\n=v\nno equals sign\n",
        "TOKEN = SECRET: my.secret , api_key", "R=SECRET:Bad_Name,k\nS=SECRET:name\nT=SECRET:name,bad/key\nU=SECRET:-x,k",
        "X=$(HOME)", "A=1\nA=2", "X=  SECRET:a,b", "K=SECRET:s,..a\nL=SECRET:s,.\nM=SECRET:a..b,k",
        "V=" + "v" * 70000,
    ],
    "references": [
        j("A=SECRET:creds,user\nB=SECRET:gone,k\nC=SECRET:creds,nope\nD=plain", "creds,user,password",
          "!lockbox-s-1,k"),
        j("A=SECRET:lockbox-s-abc,env.X", "lockbox-s-abc,env.X"),
        j("A=SECRET:team,token", "!team,token"),
        j("A=SECRET:team,token\nB=SECRET:my-lockbox-s-x,k", "team,token", "my-lockbox-s-x,k"),
    ],
    "mount_dir": [
        j("/secrets", "db.key"), j("//home//me/./keys/", ".hidden"), j("/etc", "PGPASSWORD"),
        j("/var/run/x", ".."), j("/secrets/../etc", "a/b"), j("relative", "LOCKBOX_X"),
        j("/", "PORT"), j("/binary", "x."), j("/" + "a" * 256, "k" * 129), j("/a\0b", "."),
        j("/var/runner", "SECRETS_DIR"), j("/opt/run", "_"), j("/usr2/./x/", "-"),
        j("/" + "d" * 1024, "A" * 128),
    ],
    "environment": [
        j("py-3-12", "Python", "docker.io/library/python:3.12", "/bin/sh\r\n-c\r\n", "echo hi",
          "8888", "python3 -m http.server $PORT", "500m", "256Mi", "2", "1Gi"),
        j("Bad_Name", "", "", "a\0b", "", "0", "a\0", "lots", "1 Gi", ".5Gi", "1e3"),
        j("x", "d" * 501, "a b", "", "\n" * 70, "70000", "", "1.", "2Ei", "1e", "1GiB"),
        j("e", "", "busybox", "", "", "http", "", "0.5", "1E3", "1..2", "-1"),
        j("q", "", "busybox", "", "", "", "", "1e99", "1k", "1m", "1e+3"),
    ],
    "audit_query": [
        "actor:alice action:secret.used since:2026-11-01 session:abc",
        "target:\"two words\" action:project.* until:2026-11-01T10:00:00Z",
        "", "alice", "colour:red", "actor:", "since:yesterday", "since:2026-11-02 until:2026-11-01",
        "target:\"open", "target:\"a\"b", "target:a\"b", "action:se*cret", "actor:a\u0007",
        "ACTOR:b action:* since:2026-11-01T10:00:00+01:00", "actor:a " * 21,
        "target:\"a\u2003b\" session:x:y",
    ],
    "launch": [
        j(b"\x01\x10\x00\x01\x02\x03\x04", "demo", "", "/secrets",
          "MODE=x\nREF=SECRET:team-creds,token", "DB_PASSWORD:env=PGPASSWORD", "TLS_KEY:file=tls.key", "a"),
        j(b"\x00\x01\x01\x01\x01\x01\x01", "demo", "ml", "//home/me/keys/", "", "A", "b_1:file=b"),
        j(b"\x0e\x00\x00", "gone", "p", "/etc", "9=1", "NOPE"),
        j(b"\x01\x01\x01", "demo", "", "", "X=1\nPORT=2", "A:env=X", "a:file=x", "B:dir"),
        j(b"\x01\x00\x00\xfe", "demo", "", "", "", "A:env=LOCKBOX_A", "TLS_KEY:file=..", "b_1=x.y"),
        j(b"\x05\x00\x00", "demo", "", "/var/run/s", "A=x\0y", "A:env=SECRETS_DIR"),
        j(b"\x01\x00\x00\x30\x30\x30\x30", "demo", "", "/s", "V=" + "v" * 100, "A", "TLS_KEY"),
        j(b"\x01\x02\x02", "demo", "", "/s", "", "A:env=X", "b_1:env=X"),
    ],
}


def config_input(**set_vars):
    """Field i is the value of server::invariants::VARS[i]."""
    vars_ = [
        "DATA_DIR", "DATABASE_URL", "MAX_VALUE_BYTES", "MAX_SECRETS", "MAX_SESSION_BYTES",
        "SQLITE_SYNCHRONOUS", "LOG_FORMAT", "KUBE_NAMESPACE", "PROJECT_NAMESPACE_PREFIX",
        "SYSTEM_NAMESPACE", "SESSION_IDLE_MINUTES", "SESSION_ABSOLUTE_HOURS", "LISTEN",
        "METRICS_LISTEN", "MASTER_KEY", "PREVIOUS_MASTER_KEYS", "REWRAP_BATCH", "REWRAP_PAUSE_MS",
        "ALLOW_SIGNUP", "SECURE_COOKIES", "LOG", "SITE_ROOT", "KUBE", "PROPAGATION_RESYNC",
        "RUN_DIR", "MAX_LIVE_SESSIONS", "LOCAL_SANDBOX", "SESSION_UIDS", "SESSION_NETWORK",
        "TRUSTED_PROXIES",
    ]
    fields = [""] * len(vars_)
    for k, v in set_vars.items():
        fields[vars_.index(k)] = v
    while fields and fields[-1] == "":
        fields.pop()
    return j(*fields) if fields else b""


SEEDS["config"] = [
    config_input(),
    config_input(DATABASE_URL="postgres://u:p@h/db", LISTEN="0.0.0.0:8080", METRICS_LISTEN="127.0.0.1:9100"),
    config_input(DATABASE_URL="mysql://h/db"),
    config_input(KUBE_NAMESPACE="lockbox", SYSTEM_NAMESPACE="lockbox"),
    config_input(PROJECT_NAMESPACE_PREFIX="runai-", KUBE="1", LOCAL_SANDBOX="off", SESSION_NETWORK="outbound"),
    config_input(SESSION_IDLE_MINUTES="30", SESSION_ABSOLUTE_HOURS="0", PROPAGATION_RESYNC="5m"),
    config_input(SESSION_UIDS="2000-3000", REWRAP_BATCH="10000", REWRAP_PAUSE_MS="0"),
    config_input(TRUSTED_PROXIES="10.0.0.0/8, ::1", ALLOW_SIGNUP="yes", SECURE_COOKIES="TRUE"),
    config_input(PREVIOUS_MASTER_KEYS="notakey,alsonot\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    config_input(MAX_VALUE_BYTES="0", MAX_SECRETS="5"),
    config_input(SQLITE_SYNCHRONOUS="normal", LOG_FORMAT="json", PROPAGATION_RESYNC="25h"),
    config_input(SESSION_UIDS="999-1000"),
    config_input(MASTER_KEY="k" * 44, ALLOW_SIGNUP="maybe"),
]


def form_body(parts, boundary="lockboxfuzzboundary", end=True):
    body = b""
    for name, filename, content in parts:
        body += b"--" + boundary.encode() + b"\r\n"
        if filename is None:
            body += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        else:
            body += (f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n").encode()
        body += content + b"\r\n"
    if end:
        body += b"--" + boundary.encode() + b"--\r\n"
    return body


SEEDS["multipart"] = [
    b"\x07" + form_body([("name", None, b"DB"), ("description", None, b"d"), ("value", None, b"v1\r\nv2")]),
    b"\x01" + form_body([("name", None, b"X"), ("text_area", None, b"true"), ("value", None, b"a\r\nb"),
                          ("file", "f.txt", b"")]),
    b"\x40" + form_body([("value", None, b"x" * 300)]),
    b"\x03" + form_body([("file", "k.bin", b"\xff\xfe\x00")]),
    b"\x05" + form_body([("name", None, b"n" * 5000)]),
    b"\x10" + form_body([("name", None, b"\xc3\x28")], end=False),
    b"\x02" + b"--lockboxfuzzboundary\r\nContent-Disposition: form-data\r\n\r\nx\r\n--lockboxfuzzboundary--\r\n",
    b"\x08" + b"garbage",
]
SEEDS["multipart_form"] = [
    j("DB_PASSWORD", "Production", "s3cret", "", b"\x00", b"\x07"),
    j("TLS", "", "-----BEGIN-----\r\nabc\r\n", "", b"\x01", b"\x01"),
    j("K", "", "typed", "from a file\r\n", b"\x00", b"\x03"),
    j("BIG", "", "x" * 300, "", b"\x00", b"\x20"),
    j("BIGFILE", "", "small", "y" * 300, b"\x01", b"\x40"),
    j("", "", "", "", b"\x00", b"\x01"),
]


def main():
    for target, seeds in SEEDS.items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for i, s in enumerate(seeds):
            data = s.encode() if isinstance(s, str) else s
            with open(os.path.join(d, f"seed-{i:02}"), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
