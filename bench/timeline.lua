-- wrk script for `bench/run rotation`: GET the page wrk was given, signed in with BENCH_COOKIE,
-- and count the 2xx answers per 100 ms of wall-clock time, so the throughput during a time window
-- (a rotation's start to end, read from the database) can be told from the rest of the run. At
-- the end, writes "unix_ms_of_bucket count" lines to BENCH_TIMELINE.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_usec; } lockbox_timeval;
int gettimeofday(lockbox_timeval *tv, void *tz);
]]
local tv = ffi.new("lockbox_timeval")
local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + math.floor(tonumber(tv.tv_usec) / 1000)
end

wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

counts = {}
function response(status, headers, body)
  if status >= 200 and status < 300 then
    local b = math.floor(now_ms() / 100)
    counts[b] = (counts[b] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for b, n in pairs(thread:get("counts")) do
      total[b] = (total[b] or 0) + n
    end
  end
  local out = assert(io.open(os.getenv("BENCH_TIMELINE"), "w"))
  for b, n in pairs(total) do
    out:write(string.format("%d %d\n", b * 100, n))
  end
  out:close()
end
