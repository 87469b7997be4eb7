-- wrk script: POST /v1/presentations/verify as an authenticated inspector's system, cycling
-- through presentation tokens made before the run (one line each in SIDIAN_TOKENS), each
-- request naming one of a few inspectors.
--
--   SIDIAN_KEY=... SIDIAN_TOKENS=FILE wrk -t2 -c32 -d15s -s tools/bench/present.lua http://127.0.0.1:PORT
--
-- Environment:
--   SIDIAN_KEY     API key of a client with scope inspect
--   SIDIAN_TOKENS  file of codes (LZ1:…), one per line
--
-- Counting and the BENCH result line are in report.lua; a response whose verdict is not VALID
-- is counted as a failure there too (non2xx), since every token is of a valid licence.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local requests = {}
local next_request = 0

function init(args)
   local headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. os.getenv("SIDIAN_KEY"),
   }
   local n = 0
   for line in io.lines(os.getenv("SIDIAN_TOKENS")) do
      if line ~= "" then
         n = n + 1
         local body = '{"token":"' .. line .. '","inspector":"officer-' .. (n % 8) .. '"}'
         requests[#requests + 1] = wrk.format("POST", "/v1/presentations/verify", headers, body)
      end
   end
   -- Threads start at different tokens, so they do not ask about the same licence in step.
   next_request = ((thread_no or 1) - 1) * 7919
end

function request()
   next_request = next_request + 1
   return requests[next_request % #requests + 1]
end

local count_response = response
function response(status, headers, body)
   if status == 200 and not body:find('"verdict":"VALID"', 1, true) then
      status = 599 -- counted as a failure: a valid licence's token must verify VALID
   end
   count_response(status, headers, body)
end
