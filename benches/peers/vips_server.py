#!/usr/bin/env python3
"""A minimal libvips image server (pyvips), the "libvips alone" peer of benches/peers/run.py.

    GET /<file>?w=<width>[&q=<quality>][&f=jpeg|webp]

opens <root>/<file> with `pyvips.Image.thumbnail(path, width)` (shrink-on-load, then a
Lanczos3 reduce to the width; the height follows the aspect ratio) and answers JPEG (Q=80 by
default) or WebP (Q=75 by default). One thread per connection (ThreadingHTTPServer); libvips
runs its own worker pool inside each operation (VIPS_CONCURRENCY, default: the number of
CPUs). The operation cache is off, as every request is a new variant anyway.

Usage: target/peers/venv/bin/python benches/peers/vips_server.py ROOT [--port 8083] [--host 127.0.0.1]
"""

import argparse
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyvips

pyvips.cache_set_max(0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root = "."

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        name = urllib.parse.unquote(url.path).lstrip("/")
        path = os.path.realpath(os.path.join(self.root, name))
        if not name or not path.startswith(self.root + os.sep) or not os.path.isfile(path):
            return self.answer(404, b"not found\n")
        q = urllib.parse.parse_qs(url.query)
        try:
            width = int(q.get("w", ["0"])[0])
            fmt = q.get("f", ["jpeg"])[0]
            quality = int(q.get("q", ["75" if fmt == "webp" else "80"])[0])
            if width < 1 or width > 16384 or fmt not in ("jpeg", "webp") or not 1 <= quality <= 100:
                raise ValueError
        except ValueError:
            return self.answer(400, b"bad parameters\n")
        try:
            image = pyvips.Image.thumbnail(path, width)
            if fmt == "webp":
                body = image.webpsave_buffer(Q=quality)
            else:
                body = image.jpegsave_buffer(Q=quality)
        except pyvips.Error as e:
            return self.answer(500, str(e).encode())
        self.answer(200, body, "image/" + fmt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--port", type=int, default=8083)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    Handler.root = os.path.realpath(args.root)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"vips_server: libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} "
          f"on http://{args.host}:{args.port}/ serving {Handler.root}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
