-- wrk script: POST /v1/licences, a new licence per request (each with its own Idempotency-Key,
-- so no request replays an earlier one); the licence file is rendered lazily, not here.
--
--   SIDIAN_KEY=... SIDIAN_BODY=FILE wrk -t2 -c32 -d15s -s tools/bench/licence.lua http://127.0.0.1:PORT
--
-- Environment:
--   SIDIAN_KEY   API key of a client bound to the issuer, with scope licence:issue
--   SIDIAN_BODY  file holding the request's JSON body (tests/data/licences/<type>.json with
--                "issuer" added)
--
-- Keys are "bench-<random run id>-<thread>-<counter>": unique across threads and runs
-- (`thread_no` is set by report.lua's setup).
-- Counting and the BENCH result line are in report.lua.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local counter = 0
local prefix, body, headers

function init(args)
   local f = io.open("/dev/urandom", "rb")
   local run = f:read(6)
   f:close()
   prefix = "bench-" .. run:gsub(".", function(c) return string.format("%02x", c:byte()) end)
      .. "-" .. tostring(thread_no) .. "-"
   local b = io.open(os.getenv("SIDIAN_BODY"), "rb")
   body = b:read("*a")
   b:close()
   headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. os.getenv("SIDIAN_KEY"),
   }
end

function request()
   counter = counter + 1
   headers["Idempotency-Key"] = prefix .. counter
   return wrk.format("POST", "/v1/licences", headers, body)
end
