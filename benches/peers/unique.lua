-- wrk script for benches/peers/run.py: every request asks for a variant never asked before, so
-- no cache anywhere (result cache, operation cache, CDN-style proxy) can answer it.
--
--   wrk -t2 -c2 -d15s --timeout 30s -s benches/peers/unique.lua http://127.0.0.1:PORT \
--       -- '<path template with {w} and {q}>' <width> <quality> run|warm <threads> jpeg|webp
--
-- Request n (n = 0, 1, 2, ... over all threads, each thread taking every t-th) asks for
--   run:  width  = width - 20 + n % 40, quality = quality - (n // 40) % 20   (800 variants)
--   warm: width  = width - 60 + n % 20, quality = quality + 5             (disjoint from run)
-- Widths stay within 7% of the target so that every request takes the same decoding path
-- (a JPEG's shrink-on-load factor changes at fixed widths, e.g. 320 for a 5120-wide source).
-- e.g. '/inputs/photo.jpg?x-oss-process=image/resize,w_{w}/quality,Q_{q}' 300 80 run.
-- A 2xx answer whose body does not start as a JPEG (or WebP) counts as not_image.
-- At the end one line of JSON on stdout: requests, req/s, p50/p99 (ms), non-2xx, not_image,
-- socket errors.

local threads = {}
local counter = 1

function setup(thread)
   thread:set("id", counter - 1)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   template = args[1]
   width = tonumber(args[2])
   quality = tonumber(args[3])
   phase = args[4] or "run"
   step = #args >= 5 and tonumber(args[5]) or 2
   magic = (args[6] == "webp") and "RIFF" or "\255\216\255"
   n = id
   non2xx = 0
   notimage = 0
end

function request()
   local w, q
   if phase == "warm" then
      w = width - 60 + n % 20
      q = quality + 5
   else
      w = width - 20 + n % 40
      q = quality - math.floor(n / 40) % 20
   end
   n = n + step
   local path = template:gsub("{w}", tostring(w)):gsub("{q}", tostring(q))
   return wrk.format("GET", path)
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   elseif body:sub(1, #magic) ~= magic then
      notimage = notimage + 1
   end
end

function done(summary, latency, requests)
   local bad, wrong = 0, 0
   for _, thread in ipairs(threads) do
      bad = bad + thread:get("non2xx")
      wrong = wrong + thread:get("notimage")
   end
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "rps": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, ' ..
      '"non2xx": %d, "not_image": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      bad, wrong, e.connect, e.read, e.write, e.timeout))
end
