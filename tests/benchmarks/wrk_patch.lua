-- wrk script: each connection (one per wrk thread) PATCHes its own row in a loop, sending
-- the ETag of the previous response as If-Match, as a client editing a record would.
-- Arguments: <url prefix> <comma-separated primary keys, one per thread>.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local pks = {}
  for pk in string.gmatch(args[2], "[^,]+") do
    table.insert(pks, pk)
  end
  path = "/" .. args[1] .. "/" .. pks[(id % #pks) + 1] .. "/"
  etag = nil
  n = 0
  statuses = {}
end

function request()
  if etag == nil then
    return wrk.format("GET", path)
  end
  n = n + 1
  return wrk.format("PATCH", path,
    {["Content-Type"] = "application/json", ["If-Match"] = etag},
    '{"pages": ' .. n .. '}')
end

function response(status, headers, body)
  local tag = headers["ETag"] or headers["Etag"] or headers["etag"]
  if tag ~= nil then
    etag = tag
  elseif etag == nil then
    etag = '"none"'
  end
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for k, v in pairs(s) do
      counts[k] = (counts[k] or 0) + v
    end
  end
  io.write("BENCH requests=", summary.requests, " duration_us=", summary.duration)
  io.write(" socket_errors=", summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout)
  for _, p in ipairs({50, 95, 99}) do
    io.write(" p", p, "_us=", latency:percentile(p))
  end
  for k, v in pairs(counts) do
    io.write(" status_", k, "=", v)
  end
  io.write("\n")
end
