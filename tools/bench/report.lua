-- Shared by the wrk scripts in this directory (loaded with dofile): counts responses by status
-- and prints one machine-readable result line when the run ends.
--
--   BENCH {"requests":N,"duration_s":S,"rps":R,"p50_ms":..,"p90_ms":..,"p99_ms":..,
--          "p999_ms":..,"max_ms":..,"mean_ms":..,"non2xx":N,"status_ge400":N,
--          "socket_errors":{"connect":N,"read":N,"write":N,"timeout":N},"statuses":{"200":N,...}}
--
-- "non2xx" is counted exactly, per response, in response() below (wrk's own "Non-2xx or 3xx
-- responses" line counts only statuses >= 400: it is printed too, as "status_ge400").
-- Socket errors and timeouts are failed requests as well; tools/bench-http.sh refuses a run
-- with any of them.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   -- Scripts that need per-thread distinct values (licence.lua's keys) read this global.
   thread:set("thread_no", #threads)
end

-- Per-thread counters (each wrk thread has its own Lua state).
non2xx = 0
statuses = {}

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
   statuses[status] = (statuses[status] or 0) + 1
end

local function ms(us)
   return string.format("%.3f", us / 1000)
end

function done(summary, latency, requests)
   local non2xx_total = 0
   local by_status = {}
   for _, thread in ipairs(threads) do
      non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
      local st = thread:get("statuses") or {}
      for code, n in pairs(st) do
         by_status[code] = (by_status[code] or 0) + n
      end
   end
   local codes = {}
   for code, n in pairs(by_status) do
      table.insert(codes, string.format('"%d":%d', code, n))
   end
   table.sort(codes)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      'BENCH {"requests":%d,"duration_s":%.3f,"rps":%.1f,' ..
      '"p50_ms":%s,"p90_ms":%s,"p99_ms":%s,"p999_ms":%s,"max_ms":%s,"mean_ms":%s,' ..
      '"non2xx":%d,"status_ge400":%d,' ..
      '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"statuses":{%s}}\n',
      summary.requests, secs, summary.requests / secs,
      ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)),
      ms(latency:percentile(99.9)), ms(latency.max), ms(latency.mean),
      non2xx_total, e.status, e.connect, e.read, e.write, e.timeout,
      table.concat(codes, ",")))
end
