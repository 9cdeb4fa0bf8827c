"""Helpers shared by the load scripts in this folder."""

import socket


def free_port():
    """A free TCP port on 127.0.0.1 (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status_kb(pid, field):
    """A field of /proc/PID/status in kB (VmRSS, VmHWM, ...); 0 when absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def wait_ready(admin, proc=None, tries=500):
    """Wait until Pixgate's /readyz on the admin port answers 200; SystemExit if it never does."""
    import time
    import urllib.request

    for _ in range(tries):
        if proc is not None and proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=0.2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.01)
    raise SystemExit("pixgate did not become ready")


def start_pixgate(binary, *args, stdout=None):
    """Start `binary *args` on free ports; return (process, port, admin port) once ready."""
    import subprocess

    port, admin = free_port(), free_port()
    proc = subprocess.Popen([binary, *args, "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}"],
                            stdout=stdout or subprocess.DEVNULL, stderr=subprocess.STDOUT if stdout else subprocess.DEVNULL)
    wait_ready(admin, proc)
    return proc, port, admin
