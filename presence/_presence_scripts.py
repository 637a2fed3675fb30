"""The Lua behind `presence/status.py` (README.md, "Presence"): one atomic step that records what
a connection did, folds all of the user's connections into one status, and says whether that
status differs from the one last published (so exactly one process publishes each change).

Connection fields hold "alive_ms input_ms viewing" ('-' for viewing nothing)."""

from __future__ import annotations

# KEYS: connections, presence, team_users, due
# ARGV: op (connect|alive|revive|input|view|disconnect|sweep), connection id (for alive: the
#       ids of all the user's connections on the calling process, space-separated; for revive:
#       "id=viewing=input_age_ms" of each one to record again), viewing, team, name, kind,
#       presence_ttl_ms,
#       away_after_ms, user id, record_ttl_ms
# -> {changed 0|1, live connections, status, viewing, team, name, kind, missing} | {} unknown
#    user; `missing`: for alive, the given ids Redis no longer had (space-separated)
UPDATE = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op, conn = ARGV[1], ARGV[2]
local ttl, away, record_ttl = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[10])
local function parse(v)
  local a, i, w = string.match(v, '(%d+) (%d+) (%S+)')
  return tonumber(a), tonumber(i), w
end
local function put(c, a, i, w)
  redis.call('HSET', KEYS[1], c, string.format('%d %d %s', a, i, w))
end
local missing = {}
local function refresh(c)
  local v = redis.call('HGET', KEYS[1], c)
  if v then
    local a, i, w = parse(v)
    if op == 'input' then i = now elseif op == 'view' then i = now; w = ARGV[3] end
    put(c, now, i, w)
  else
    missing[#missing + 1] = c
  end
end
if op == 'connect' then
  put(conn, now, now, '-')
elseif op == 'disconnect' then
  redis.call('HDEL', KEYS[1], conn)
elseif op == 'alive' then
  -- one step per user, not per connection: the fold below reads all of the user's
  -- connections, so a user with n sockets (a bot) costs O(n) per heartbeat, not O(n^2)
  for c in string.gmatch(conn, '%S+') do refresh(c) end
elseif op == 'revive' then
  -- connections Redis lost (a restart without persistence, a failover), still open here
  for c, w, age in string.gmatch(conn, '(%S+)=(%S+)=(%d+)') do
    put(c, now, now - tonumber(age), w)
  end
elseif op ~= 'sweep' then
  refresh(conn)
end
local all = redis.call('HGETALL', KEYS[1])
local live, best, viewing, next_at = 0, -1, '-', nil
for k = 1, #all, 2 do
  local a, i, w = parse(all[k + 1])
  if now - a >= ttl then
    redis.call('HDEL', KEYS[1], all[k])
  else
    live = live + 1
    if next_at == nil or a + ttl < next_at then next_at = a + ttl end
    if i > best then best, viewing = i, w end
  end
end
local status = 'offline'
if live > 0 then
  status = 'online'
  if now - best >= away then status = 'away' else next_at = math.min(next_at, best + away) end
  redis.call('PEXPIRE', KEYS[1], ttl * 2)
  redis.call('ZADD', KEYS[4], next_at, ARGV[9])
  redis.call('PEXPIRE', KEYS[4], record_ttl)
else
  viewing = '-'
  redis.call('ZREM', KEYS[4], ARGV[9])
end
local p = redis.call('HMGET', KEYS[2], 'status', 'viewing', 'team', 'name', 'kind', 'since')
local team, name, kind = ARGV[4], ARGV[5], ARGV[6]
if team == '' then
  if not p[3] then return {} end
  team, name, kind = p[3], p[4], p[5]
end
local changed = 0
if p[1] ~= status or p[2] ~= viewing then changed = 1 end
local since = p[6]
if p[1] ~= status or not since then since = now end  -- in this status since
redis.call('HSET', KEYS[2], 'status', status, 'viewing', viewing, 'team', team, 'name', name,
           'kind', kind, 'seen', now, 'since', since)
redis.call('PEXPIRE', KEYS[2], record_ttl)
if ARGV[4] ~= '' then
  redis.call('SADD', KEYS[3], ARGV[9])
  redis.call('PEXPIRE', KEYS[3], record_ttl)
end
return {changed, live, status, viewing, team, name, kind, table.concat(missing, ' ')}
"""
