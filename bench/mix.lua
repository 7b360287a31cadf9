-- The authenticated CRUD mix, for wrk: 50% first page of the list, 20% get, 10% create,
-- 10% merge-patch, 5% completion toggle, 5% delete (of a task this run created; a create when
-- none is left). Users and tokens come from the Lua file named by the first script argument;
-- seeded task ids follow the bench's pattern, so no id list is needed.
--
--   wrk -c32 -d20s -s bench/mix.lua http://127.0.0.1:8000 -- users.lua [delay_ms]
--
-- The optional delay (mean milliseconds each connection waits before its next request, uniformly
-- spread) holds the offered load below the peak, for latency at a fixed fraction of it.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
  table.insert(threads, thread)
end

local users, tasks_per_user, delay_ms
local created = {}
local created_limit = 10000
counts = {}

function init(args)
  local data = dofile(args[1])
  users, tasks_per_user = data.users, data.tasks_per_user
  delay_ms = tonumber(args[2] or "0")
  math.randomseed(os.time() * 1000 + thread_number)
end

local function seeded_task_id(user_number)
  return string.format("%08x-0000-4000-8000-%012x", user_number, math.random(tasks_per_user))
end

local function authorized(user, extra)
  local headers = { ["Authorization"] = "Bearer " .. user.token }
  for name, value in pairs(extra or {}) do
    headers[name] = value
  end
  return headers
end

local function create(user)
  local body = '{"title": "Bench task", "description": "made by the bench", "priority": "high"}'
  return wrk.format("POST", "/api/" .. user.id .. "/tasks",
    authorized(user, { ["Content-Type"] = "application/json" }), body)
end

function request()
  local roll = math.random(100)
  local user_number = math.random(#users)
  local user = users[user_number]
  local tasks = "/api/" .. user.id .. "/tasks"
  if roll <= 50 then
    return wrk.format("GET", tasks, authorized(user))
  elseif roll <= 70 then
    return wrk.format("GET", tasks .. "/" .. seeded_task_id(user_number), authorized(user))
  elseif roll <= 80 then
    return create(user)
  elseif roll <= 90 then
    local body = '{"title": "Renamed by the bench", "priority": "low", "description": null}'
    return wrk.format("PATCH", tasks .. "/" .. seeded_task_id(user_number),
      authorized(user, { ["Content-Type"] = "application/merge-patch+json" }), body)
  elseif roll <= 95 then
    return wrk.format("PATCH", tasks .. "/" .. seeded_task_id(user_number) .. "/complete", authorized(user))
  end
  local victim = table.remove(created)
  if victim == nil then
    return create(user)
  end
  local owner = users[victim.user_number]
  return wrk.format("DELETE", "/api/" .. owner.id .. "/tasks/" .. victim.id, authorized(owner))
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 201 and #created < created_limit then
    local id = body:match('"id"%s*:%s*"([%x%-]+)"')
    local user_id = body:match('"user_id"%s*:%s*"([^"]+)"')
    local user_number = user_id and tonumber(user_id:match("(%d+)$"))
    if id and user_number then
      table.insert(created, { id = id, user_number = user_number })
    end
  end
end

function delay()
  if delay_ms > 0 then
    return math.random() * 2 * delay_ms
  end
  return 0
end

function done(summary, latency, requests)
  local statuses = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("counts")) do
      statuses[status] = (statuses[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(statuses) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "socket_errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, errors.connect + errors.read + errors.write + errors.timeout,
    table.concat(parts, ", ")))
end
