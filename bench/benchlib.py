"""What the Python benchmark scripts share: starting a Lockbox server and waiting until it
answers, reading its memory, and percentiles. Scripts run as `python3 bench/NAME.py`, so this
directory is on their import path."""

import os
import subprocess
import sys
import time
import urllib.request


def percentile(values, p):
    """The p-th percentile (nearest rank) of `values`; NaN for none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def rss_kib(pid):
    """The resident memory of process `pid` in KiB (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def server_env(data_dir, port, **extra):
    """The environment of a benchmark server: only PATH from ours, the data directory, the
    listen address, sign-up allowed, warnings only; `extra` adds or overrides (None drops)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LOCKBOX_DATA_DIR": data_dir,
        "LOCKBOX_LISTEN": f"127.0.0.1:{port}",
        "LOCKBOX_ALLOW_SIGNUP": "true",
        "LOCKBOX_LOG": "warn",
    }
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


def start_server(binary, env, log=subprocess.DEVNULL, seconds=30):
    """Starts `binary serve` with `env` and waits until /healthz answers on its listen address.
    Returns (process, base URL); exits naming the address if it never does."""
    base = "http://" + env["LOCKBOX_LISTEN"]
    proc = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            return proc, base
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    sys.exit(f"the server on {base} did not start")


def stop_server(proc):
    """Stops a server started by start_server and waits for it."""
    proc.terminate()
    proc.wait()
