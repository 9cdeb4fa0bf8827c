#!/usr/bin/env python3
"""Pixgate against its peers on the same inputs, the same tasks, one server at a time.

Peers (installed under target/peers/ by benches/peers/setup.sh):
  ipx          ipx 3 on sharp (libvips), its own CLI server (`ipx serve --dir`), node defaults
  thumbor      thumbor 7 (Pillow engine), file loader, no storage, no result storage, 1 process
  vips_server  libvips alone through pyvips: benches/peers/vips_server.py (thumbnail + save)

For each scenario and each server: start the server on a free loopback port, check with one
request that it answers an image of the right format and size, warm up for a few seconds, then
drive it with `wrk -t2 -c2 -d<D>s -s benches/peers/unique.lua`, where every request asks for a
variant never asked before (width around the target, then quality), so no cache answers. The
server's RSS, summed over its process tree, is sampled every 100 ms, and the CPU time it, wrk and
anything else used is counted (a row whose run shared the machine with more than 5% of other
load says so, after --retries more tries). Then the server is stopped, and the next one starts. Before each server starts,
run.py waits (up to --idle-wait seconds) until the machine is less than 15% busy.

Scenarios (inputs from benches/peers/make_inputs.py):
  a  baseline 5120x2880 4:2:0      -> width ~300, JPEG q80
  b  progressive 5120x2880 4:2:0   -> width ~300, JPEG q80
  c  progressive 6000x4000 4:2:0   -> width ~300, JPEG q80
  d  baseline 4000x3000 4:2:2      -> width ~300, JPEG q80
  e  baseline 6000x4000 4:4:4      -> width ~300, JPEG q80
  f  baseline 2560x1600 4:2:0      -> width ~1280, WebP q75

Pixgate runs with its defaults except the result cache, which is off (PIXGATE_CACHE_RESULT_MAX_BYTES=0,
--pixgate-result-cache keeps it): past the 800 variants unique.lua makes, a fast server would
otherwise answer repeats from it. Its source cache (original bytes) stays on.

Every server keeps its own default concurrency; run.py sets no UV_THREADPOOL_SIZE,
VIPS_CONCURRENCY or worker count (the header of the report records what they come to).

Usage:
  bash benches/peers/setup.sh
  target/peers/venv/bin/python benches/peers/make_inputs.py
  target/peers/venv/bin/python benches/peers/run.py [--duration 15] [--scenarios a,b,c,d,e,f]
      [--only pixgate,ipx,thumbor,vips] [--pixgate target/release/pixgate] [--warmup 3]

The report (markdown) goes to stdout and to target/peers/results/<time>.md, the raw numbers to
<time>.json beside it. Run nothing else heavy meanwhile: the servers and wrk share the cores.
"""

import argparse
import io
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "load"))
from common import free_port  # noqa: E402  (benches/load/common.py)

PEERS = os.path.join(ROOT, "target", "peers")
INPUTS = os.path.join(PEERS, "inputs")
LUA = os.path.join(HERE, "unique.lua")
WRK = "/usr/bin/wrk"

# key: (title, input file, source width, source height, target width, quality, format)
SCENARIOS = {
    "a": ("baseline 5120x2880 4:2:0 -> w~300 JPEG q80", "photo-5120x2880-baseline.jpg", 5120, 2880, 300, 80, "jpeg"),
    "b": ("progressive 5120x2880 4:2:0 -> w~300 JPEG q80", "photo-5120x2880-progressive.jpg", 5120, 2880, 300, 80, "jpeg"),
    "c": ("progressive 6000x4000 4:2:0 -> w~300 JPEG q80", "photo-6000x4000-progressive.jpg", 6000, 4000, 300, 80, "jpeg"),
    "d": ("baseline 4000x3000 4:2:2 -> w~300 JPEG q80", "photo-4000x3000-422.jpg", 4000, 3000, 300, 80, "jpeg"),
    "e": ("baseline 6000x4000 4:4:4 -> w~300 JPEG q80", "photo-6000x4000-444.jpg", 6000, 4000, 300, 80, "jpeg"),
    "f": ("baseline 2560x1600 4:2:0 -> w~1280 WebP q75", "photo-2560x1600.jpg", 2560, 1600, 1280, 75, "webp"),
}

SERVERS = ["pixgate", "ipx", "thumbor", "vips"]
NAMES = {"pixgate": "Pixgate", "ipx": "ipx (sharp)", "thumbor": "thumbor", "vips": "vips_server (pyvips)"}


# --- the servers -----------------------------------------------------------------------------

def pixgate_url(file, fmt):
    bucket = os.path.basename(INPUTS)
    chain = "image/resize,w_{w}/format,webp/quality,Q_{q}" if fmt == "webp" else "image/resize,w_{w}/quality,Q_{q}"
    return f"/{bucket}/{file}?x-oss-process={chain}"


def ipx_url(file, fmt):
    return f"/w_{{w}},f_webp,q_{{q}}/{file}" if fmt == "webp" else f"/w_{{w}},q_{{q}}/{file}"


def thumbor_url(file, fmt):
    filters = "format(webp):quality({q})" if fmt == "webp" else "quality({q})"
    return f"/unsafe/{{w}}x0/filters:{filters}/{file}"


def vips_url(file, fmt):
    return f"/{file}?w={{w}}&q={{q}}" + ("&f=webp" if fmt == "webp" else "")


def thumbor_conf():
    conf = os.path.join(PEERS, "thumbor.conf")
    with open(conf, "w") as f:
        f.write(
            "# written by benches/peers/run.py\n"
            "LOADER = 'thumbor.loaders.file_loader'\n"
            f"FILE_LOADER_ROOT_PATH = {INPUTS!r}\n"
            "ALLOW_UNSAFE_URL = True\n"
            "STORAGE = 'thumbor.storages.no_storage'\n"
            "RESULT_STORAGE = None\n"
            "QUALITY = 80\n"
        )
    return conf


def command(server, port, args):
    """(argv, cwd) that start `server` on 127.0.0.1:port."""
    if server == "pixgate":
        return [args.pixgate, "--root", os.path.dirname(INPUTS), "--listen", f"127.0.0.1:{port}",
                "--admin-listen", f"127.0.0.1:{free_port()}"], ROOT
    if server == "ipx":
        ipx = os.path.join(PEERS, "ipx")
        return ["node", os.path.join(ipx, "node_modules", "ipx", "bin", "ipx.mjs"), "serve", "--dir", INPUTS,
                "--port", str(port), "--host", "127.0.0.1"], ipx
    if server == "thumbor":
        return [os.path.join(PEERS, "thumbor-venv", "bin", "thumbor"), "-p", str(port), "-i", "127.0.0.1",
                "-c", thumbor_conf(), "--processes", str(args.thumbor_processes)], PEERS
    if server == "vips":
        return [os.path.join(PEERS, "venv", "bin", "python"), os.path.join(HERE, "vips_server.py"), INPUTS,
                "--port", str(port)], ROOT
    raise ValueError(server)


URLS = {"pixgate": pixgate_url, "ipx": ipx_url, "thumbor": thumbor_url, "vips": vips_url}


def start(server, args):
    port = free_port()
    argv, cwd = command(server, port, args)
    # Its own session, so the whole tree (thumbor's forks, node's) is stopped with one signal.
    env = dict(os.environ)
    if server == "pixgate" and not args.pixgate_result_cache:
        # Off, so that even a repeated variant (past the 4000 unique.lua makes) renders again;
        # the peers here keep no rendered results either. The source cache stays on.
        env["PIXGATE_CACHE_RESULT_MAX_BYTES"] = "0"
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(PEERS, f"{server}.log"), "ab"), start_new_session=True)
    return proc, port


def stop(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Children that outlived the leader, if any.
    for pid in tree(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def get(port, path, timeout=60):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def wait_ready(proc, port, path, seconds=60):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            status, _, _ = get(port, path)
            if status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def verify(port, template, sc):
    """None when the target variant is an image of the right format and size, else why not."""
    from PIL import Image

    _title, _file, sw, sh, w, q, fmt = sc
    status, ctype, body = get(port, template.replace("{w}", str(w)).replace("{q}", str(q)))
    if status != 200:
        return f"HTTP {status} {body[:200]!r}"
    try:
        im = Image.open(io.BytesIO(body))
        im.load()
    except Exception as e:  # noqa: BLE001 - any decode failure is the answer
        return f"not an image ({ctype}, {len(body)} bytes): {e}"
    want_h = sh * w / sw
    if im.format != fmt.upper() or im.width != w or abs(im.height - want_h) > 1:
        return f"got {im.format} {im.width}x{im.height}, want {fmt.upper()} {w}x{want_h:.0f}"
    return None


# --- measuring ---------------------------------------------------------------------------------

def tree(root):
    """The pids of root's descendants (not root itself), from /proc."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    stat = f.read()
                parent[int(name)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_stat():
    """(busy, total) clock ticks of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v) - v[3] - v[4], sum(v)


def tree_ticks(pid):
    """utime + stime of pid and its live descendants, in clock ticks."""
    total = 0
    for p in [pid] + tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return total


def wait_idle(limit, seconds):
    """Wait (up to `seconds`) until the machine's CPUs are busy less than `limit` over 2 s."""
    end = time.monotonic() + seconds
    said = False
    while True:
        b0, t0 = cpu_stat()
        time.sleep(2)
        b1, t1 = cpu_stat()
        busy = (b1 - b0) / max(1, t1 - t0)
        if busy < limit:
            return busy
        if time.monotonic() > end:
            print(f"  machine still {busy:.0%} busy; measuring anyway", file=sys.stderr, flush=True)
            return busy
        if not said:
            print(f"  machine {busy:.0%} busy (something else runs); waiting for it to be idle",
                  file=sys.stderr, flush=True)
            said = True


class Sampler(threading.Thread):
    """Sums VmRSS over the process tree of `pid` every 100 ms; `.peak` in kB."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.samples, self.halt = pid, 0, 0, threading.Event()
        self.kids, self.kids_at = [], 0.0

    def run(self):
        while not self.halt.is_set():
            now = time.monotonic()
            if now - self.kids_at > 1.0:  # the tree changes rarely; rescan /proc once a second
                self.kids, self.kids_at = tree(self.pid), now
            total = rss_kb(self.pid) + sum(rss_kb(k) for k in self.kids)
            self.peak = max(self.peak, total)
            self.samples += 1
            self.halt.wait(0.1)


def wrk(port, template, sc, seconds, phase):
    _title, _file, _sw, _sh, w, q, _fmt = sc
    argv = [WRK, "-t2", "-c2", f"-d{seconds}s", "--timeout", "30s", "-s", LUA, f"http://127.0.0.1:{port}",
            "--", template, str(w), str(q), phase, "2", sc[6]]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    return json.loads(line)


def measure(server, sc, args):
    _title, file, *_ = sc
    template = URLS[server](file, sc[6])
    if args.idle_wait > 0:
        wait_idle(0.15, args.idle_wait)
    proc, port = start(server, args)
    try:
        ready_path = template.replace("{w}", str(sc[4])).replace("{q}", str(sc[5]))
        if not wait_ready(proc, port, ready_path):
            return {"server": server, "error": f"did not start or answer 200 (see target/peers/{server}.log)"}
        why = verify(port, template, sc)
        if why:
            return {"server": server, "error": f"wrong answer: {why}"}
        idle = rss_kb(proc.pid) + sum(rss_kb(k) for k in tree(proc.pid))
        if args.warmup > 0:
            wrk(port, template, sc, args.warmup, "warm")
        sampler = Sampler(proc.pid)
        sampler.start()
        me0, kids0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        busy0, total0 = cpu_stat()
        server0 = tree_ticks(proc.pid)
        result = wrk(port, template, sc, args.duration, "run")
        server1 = tree_ticks(proc.pid)
        busy1, total1 = cpu_stat()
        me1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        sampler.halt.set()
        sampler.join()
        hz = os.sysconf("SC_CLK_TCK")
        cpu = lambda a, b: (b.ru_utime + b.ru_stime) - (a.ru_utime + a.ru_stime)
        capacity = (total1 - total0) / hz  # CPU-seconds the machine had
        server_s = (server1 - server0) / hz
        other = (busy1 - busy0) / hz - server_s - cpu(kids0, kids1) - cpu(me0, me1)
        if server == "pixgate":
            result["binary"] = fingerprint(args.pixgate)
        result.update(server=server, peak_rss_mb=sampler.peak / 1024, idle_rss_mb=idle / 1024,
                      processes=1 + len(tree(proc.pid)), template=template,
                      server_cpu_cores=server_s / (capacity / os.cpu_count()),
                      wrk_cpu_cores=cpu(kids0, kids1) / (capacity / os.cpu_count()),
                      other_cpu_share=max(0.0, other / capacity))
        if result["requests"] > 4000:
            result["warning"] = "more than 4000 requests: variants repeated"
        return result
    finally:
        stop(proc)


def fingerprint(path):
    """sha256 prefix and mtime of a binary: the Pixgate build a row measured."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    mtime = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(path)))
    return f"sha256 {h.hexdigest()[:12]}, built {mtime}"


# --- the report --------------------------------------------------------------------------------

def versions(args):
    def sh(argv, cwd=None):
        try:
            return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=60).stdout.strip()
        except OSError as e:
            return f"? ({e})"

    py = os.path.join(PEERS, "venv", "bin", "python")
    ipx_dir = os.path.join(PEERS, "ipx")
    node = ("const r = (p) => require('./node_modules/' + p + '/package.json').version;"
            "const s = require('sharp');"
            "console.log('ipx ' + r('ipx') + ', sharp ' + r('sharp') + ' (libvips ' + s.versions.vips + "
            "'), node ' + process.version + ', sharp.concurrency() ' + s.concurrency() + "
            "', UV_THREADPOOL_SIZE ' + (process.env.UV_THREADPOOL_SIZE || 'unset (4)'))")
    return {
        "pixgate": sh([args.pixgate, "--version"]) + " (server.workers = 0: one image worker per CPU; "
                   + ("result cache on" if args.pixgate_result_cache else "cache.result_max_bytes = 0") + ")",
        "ipx": sh(["node", "-e", node], cwd=ipx_dir),
        "thumbor": "thumbor " + sh([os.path.join(PEERS, "thumbor-venv", "bin", "python"), "-c",
                                    "import thumbor, PIL; print(thumbor.__version__, '(Pillow', PIL.__version__ + ')')"])
                   + f", --processes {args.thumbor_processes}, ENGINE_THREADPOOL_SIZE 0 (default)",
        "vips": sh([py, "-c", "import pyvips; print('pyvips', pyvips.__version__, '(libvips %d.%d.%d)' % "
                    "(pyvips.version(0), pyvips.version(1), pyvips.version(2)))"])
                + ", VIPS_CONCURRENCY " + os.environ.get("VIPS_CONCURRENCY", "unset (CPUs)"),
        "wrk": sh([WRK, "-v"]).splitlines()[0] if sh([WRK, "-v"]) else "wrk",
        "machine": f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs, "
                   f"{platform.processor() or platform.machine()}",
    }


def fmt_rows(key, results):
    title, file, sw, sh_, w, q, fmt = SCENARIOS[key]
    lines = [f"### {key}) {title}", "",
             f"`{file}` ({os.path.getsize(os.path.join(INPUTS, file)) / 1e6:.2f} MB); widths {w - 20}..{w + 19}, "
             f"then quality {q}..{q - 19}: every request a new variant.", "",
             "| server | req/s | p50 ms | p99 ms | peak RSS MB | non-2xx | errors (socket, not an image) | server CPU (cores) | Pixgate/peer req/s | Pixgate/peer RSS |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    pg = next((r for r in results if r["server"] == "pixgate" and "error" not in r), None)
    for r in results:
        name = NAMES[r["server"]]
        if "error" in r:
            lines.append(f"| {name} | failed: {r['error']} | | | | | | | | |")
            continue
        errors = r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"] + r["not_image"]
        if pg and r["server"] != "pixgate":
            ratio = f"{pg['rps'] / r['rps']:.2f}x" if r["rps"] else "-"
            rss = f"{pg['peak_rss_mb'] / r['peak_rss_mb']:.2f}x" if r["peak_rss_mb"] else "-"
        else:
            ratio = rss = "-"
        if r["server"] == "pixgate":
            name += f" ({r['binary']})"
        if "warning" in r:
            name += " (variants repeated)"
        noisy = " (other load {:.0%})".format(r["other_cpu_share"]) if r["other_cpu_share"] > 0.05 else ""
        lines.append(f"| {name}{noisy} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                     f"{r['peak_rss_mb']:.0f} | {r['non2xx']} | {errors} | {r['server_cpu_cores']:.2f} | {ratio} | {rss} |")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=15, help="seconds of load per server and scenario")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of warm-up load (other variants) before")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--only", default=",".join(SERVERS), help="servers: " + ",".join(SERVERS))
    ap.add_argument("--pixgate", default=os.path.join(ROOT, "target", "release", "pixgate"))
    ap.add_argument("--idle-wait", type=int, default=900,
                    help="before each measurement, wait up to this many seconds for the CPUs to be <15%% busy")
    ap.add_argument("--retries", type=int, default=3,
                    help="measure again (up to this many times) when other processes took >5%% of the CPUs")
    ap.add_argument("--pixgate-result-cache", action="store_true",
                    help="keep Pixgate's result cache on (off by default: no run can hit it)")
    ap.add_argument("--thumbor-processes", type=int, default=1, help="thumbor --processes (its default: 1)")
    args = ap.parse_args()
    args.pixgate = os.path.abspath(args.pixgate)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    servers = [s.strip() for s in args.only.split(",") if s.strip()]
    for s in scenarios:
        if s not in SCENARIOS:
            ap.error(f"unknown scenario {s!r}")
        if not os.path.exists(os.path.join(INPUTS, SCENARIOS[s][1])):
            ap.error(f"{SCENARIOS[s][1]} missing: run benches/peers/make_inputs.py first")
    for s in servers:
        if s not in SERVERS:
            ap.error(f"unknown server {s!r}")

    # SIGTERM unwinds like Ctrl-C, so the server being measured is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    info = versions(args)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    head = [f"## Pixgate and its peers, {started}", "",
            f"wrk -t2 -c2 -d{args.duration}s (after {args.warmup} s of warm-up), every request a new variant; "
            "RSS summed over the server's process tree, sampled every 100 ms.", ""]
    head += [f"- {k}: {v}" for k, v in info.items() if k in servers or k in ("wrk", "machine")]
    print("\n".join(head) + "\n", flush=True)

    report, raw = list(head) + [""], {"started": started, "versions": info, "args": vars(args), "scenarios": {}}
    for key in scenarios:
        results = []
        for server in servers:
            for attempt in range(args.retries + 1):
                load = os.getloadavg()[0]
                r = measure(server, SCENARIOS[key], args)
                r["loadavg_before"], r["attempt"] = load, attempt + 1
                if "error" in r or r["other_cpu_share"] <= 0.05:
                    break
                print(f"  [{key}] {NAMES[server]}: {r['other_cpu_share']:.0%} of the CPUs went to other "
                      f"processes meanwhile; measuring again", file=sys.stderr, flush=True)
            results.append(r)
            short = (f"{r['rps']:.1f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
                     f"peak RSS {r['peak_rss_mb']:.0f} MB, non-2xx {r['non2xx']}, "
                     f"server CPU {r['server_cpu_cores']:.2f} cores, wrk {r['wrk_cpu_cores']:.2f}, "
                     f"other {r['other_cpu_share']:.0%}") if "error" not in r else r["error"]
            print(f"  [{key}] {NAMES[server]}: {short}", file=sys.stderr, flush=True)
        raw["scenarios"][key] = results
        lines = fmt_rows(key, results)
        print("\n".join(lines) + "\n", flush=True)
        report += lines + [""]

    out_dir = os.path.join(PEERS, "results")
    os.makedirs(out_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(out_dir, f"{stamp}.md"), "w") as f:
        f.write("\n".join(report))
    with open(os.path.join(out_dir, f"{stamp}.json"), "w") as f:
        json.dump(raw, f, indent=1)
    print(f"written: target/peers/results/{stamp}.md and .json", file=sys.stderr)


if __name__ == "__main__":
    main()
