-- wrk script for `bench/run audit`: each connection (one per wrk thread) reads the audit viewer
-- like an admin does: the first page of the query BENCH_AUDIT_Q (URL-encoded), then the "Older"
-- page after it (the cursor from the page's own link), up to BENCH_AUDIT_DEPTH pages, then again
-- from the first. Signed in with the cookie BENCH_COOKIE.
local q = os.getenv("BENCH_AUDIT_Q")
local depth = tonumber(os.getenv("BENCH_AUDIT_DEPTH") or "10")
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")

local before, page = nil, 1

function request()
  local path = "/admin/audit?q=" .. q
  if before then
    path = path .. "&before=" .. before
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  -- The next page's cursor is the smallest `before=` on the page (the link to older events;
  -- the current page's own cursor, when the page echoes it, is larger).
  local next_cursor
  if status == 200 and body then
    for n in body:gmatch("before=(%d+)") do
      n = tonumber(n)
      if before == nil or n < tonumber(before) then
        if next_cursor == nil or n < next_cursor then
          next_cursor = n
        end
      end
    end
  end
  if next_cursor and page < depth then
    before, page = tostring(next_cursor), page + 1
  else
    before, page = nil, 1
  end
end
