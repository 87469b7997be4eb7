-- wrk script: GET a path with no body (default /empty, the bare baseline's empty handler):
-- the cost of HTTP alone on this machine. Counting and the BENCH line are in report.lua.
--
--   SIDIAN_PATH=/empty wrk -t2 -c32 -d15s -s tools/bench/empty.lua http://127.0.0.1:PORT

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local req

function init(args)
   req = wrk.format("GET", os.getenv("SIDIAN_PATH") or "/empty")
end

function request()
   return req
end
