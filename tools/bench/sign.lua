-- wrk script: POST a sign request, sidian's `{"data": base64}` body, on every request.
--
--   SIDIAN_PATH=/v1/keys/ID/sign SIDIAN_KEY=... wrk -t2 -c32 -d15s -s tools/bench/sign.lua http://127.0.0.1:PORT
--
-- Environment:
--   SIDIAN_PATH  request path (default /sign, the bare baseline's route)
--   SIDIAN_KEY   API key, sent as "Authorization: Bearer KEY" (omitted when unset)
--
-- The message is 32 random bytes per wrk thread, fixed for the run (signing cost does not
-- depend on the content). Counting and the BENCH result line are in report.lua.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(bytes)
   local out = {}
   for i = 1, #bytes, 3 do
      local a, b, c = bytes:byte(i, i + 2)
      local n = a * 65536 + (b or 0) * 256 + (c or 0)
      local chars = 4 - (3 - (#bytes - i + 1 >= 3 and 3 or #bytes - i + 1))
      for j = 1, 4 do
         if j <= chars then
            local k = math.floor(n / 2 ^ (6 * (4 - j))) % 64
            out[#out + 1] = alphabet:sub(k + 1, k + 1)
         else
            out[#out + 1] = "="
         end
      end
   end
   return table.concat(out)
end

local req

function init(args)
   local f = io.open("/dev/urandom", "rb")
   local msg = f:read(32)
   f:close()
   local headers = { ["Content-Type"] = "application/json" }
   local key = os.getenv("SIDIAN_KEY")
   if key and key ~= "" then
      headers["Authorization"] = "Bearer " .. key
   end
   local path = os.getenv("SIDIAN_PATH") or "/sign"
   req = wrk.format("POST", path, headers, '{"data":"' .. base64(msg) .. '"}')
end

function request()
   return req
end
