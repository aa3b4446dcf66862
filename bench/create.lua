-- wrk script: every connection is its own signed-in user (one wrk thread per connection)
-- creating secrets with unique names, so creates never collide.
local cookies = {}
for line in io.lines(os.getenv("BENCH_COOKIES")) do
  cookies[#cookies + 1] = line
end
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  thread:set("cookie", cookies[next_id])
end

local n = 0
local value = string.rep("v", 64)

function request()
  n = n + 1
  local body = "name=K" .. id .. "_" .. n .. "&value=" .. value .. "-" .. n
  return wrk.format("POST", "/api/secrets/create", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
  }, body)
end
