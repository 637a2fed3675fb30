"""The Lua behind `presence/locks.py` (README.md, "Locks"). Each script is one atomic step on
one conversation's lock, timed by Redis's own clock so processes with skewed clocks agree.

Lock hash fields (ms since the epoch unless said): holder, name, kind, team, inbox, token
(fencing token, only grows per conversation), since, active (last activity), deadline
(active + TTL), prompt (0, or when an unanswered idle prompt releases the lock).

Versions: the fence key holds the newest number handed out for the conversation, and every
decision a client must see (a take, a release, a lapse) takes the next one: the fencing token of
a new hold, the `version` of a release. Events carry it, so a client can drop an event older
than the state it shows whatever order the events were committed in."""

from __future__ import annotations

# Redis 6.2 needs effects replication before a script that read TIME may write.
_NOW = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function live(deadline, prompt)
  return now < tonumber(deadline) and (tonumber(prompt) == 0 or now < tonumber(prompt))
end
"""

# The next number of the conversation's sequence (needs _NOW's `t`): a microsecond clock
# reading kept strictly above the last one handed out.
_BUMP = """
local function bump(fence_key, fence_ttl)
  local last = tonumber(redis.call('GET', fence_key) or '0')
  local n = string.format('%d', math.max(tonumber(t[1]) * 1000000 + tonumber(t[2]), last + 1))
  redis.call('SET', fence_key, n, 'PX', fence_ttl)
  return n
end
"""

# KEYS: lock, fence, due, held(caller)  ARGV: member, user, name, kind, team, inbox, ttl_ms,
# idle_ms, slack_ms, held_prefix, conversation_id, fence_ttl_ms
# -> {0, holder, name, kind} refused | {2, token, since, deadline, prompted} already the
#    caller's (prompted 1: an idle prompt was waiting, and this answers it)
#    | {1, token, since, deadline [, lapsed holder, name, kind, reason, lapsed version]} taken
ACQUIRE = (
    _NOW
    + _BUMP
    + """
local ttl, idle, slack = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local h = redis.call('HMGET', KEYS[1], 'holder', 'name', 'kind', 'deadline', 'prompt', 'token',
                     'since')
local lapsed = {}
if h[1] then
  if live(h[4], h[5]) then
    if h[1] ~= ARGV[2] then return {0, h[1], h[2], h[3]} end
    local deadline = now + ttl
    redis.call('HSET', KEYS[1], 'active', now, 'deadline', deadline, 'prompt', 0)
    redis.call('PEXPIRE', KEYS[1], ttl + slack)
    redis.call('ZADD', KEYS[3], math.min(now + idle, deadline), ARGV[1])
    redis.call('PEXPIRE', KEYS[3], ttl + slack)
    redis.call('PEXPIRE', KEYS[4], ttl + slack)
    local prompted = 0
    if tonumber(h[5]) > 0 then prompted = 1 end
    return {2, h[6], tonumber(h[7]), deadline, prompted}
  end
  local reason = 'expired'
  if tonumber(h[5]) > 0 and now >= tonumber(h[5]) then reason = 'idle' end
  lapsed = {h[1], h[2], h[3], reason, bump(KEYS[2], ARGV[12])}
  redis.call('SREM', ARGV[10] .. h[1], ARGV[11])
end
local token = bump(KEYS[2], ARGV[12])
local deadline = now + ttl
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'holder', ARGV[2], 'name', ARGV[3], 'kind', ARGV[4], 'team', ARGV[5],
           'inbox', ARGV[6], 'token', token, 'since', now, 'active', now,
           'deadline', deadline, 'prompt', 0)
redis.call('PEXPIRE', KEYS[1], ttl + slack)
redis.call('ZADD', KEYS[3], math.min(now + idle, deadline), ARGV[1])
redis.call('PEXPIRE', KEYS[3], ttl + slack)
redis.call('SADD', KEYS[4], ARGV[11])
redis.call('PEXPIRE', KEYS[4], ttl + slack)
return {1, token, now, deadline, lapsed[1], lapsed[2], lapsed[3], lapsed[4], lapsed[5]}
"""
)

# KEYS: lock, due, held(caller)  ARGV: member, user, ttl_ms, idle_ms, slack_ms
# -> {0} not the caller's live lock | {1, deadline, prompted (1: answers an idle prompt), token}
TOUCH = (
    _NOW
    + """
local ttl, idle, slack = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'holder', 'deadline', 'prompt', 'token')
if not h[1] or h[1] ~= ARGV[2] or not live(h[2], h[3]) then return {0} end
local prompted = 0
if tonumber(h[3]) > 0 then prompted = 1 end
local deadline = now + ttl
redis.call('HSET', KEYS[1], 'active', now, 'deadline', deadline, 'prompt', 0)
redis.call('PEXPIRE', KEYS[1], ttl + slack)
redis.call('ZADD', KEYS[2], math.min(now + idle, deadline), ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl + slack)
redis.call('PEXPIRE', KEYS[3], ttl + slack)
return {1, deadline, prompted, h[4]}
"""
)

# KEYS: lock, due, fence  ARGV: member, user ('' = whoever holds it), held_prefix,
# conversation_id, fence_ttl_ms
# -> {0} no lock | {-1, holder, name, kind} someone else's | {1, holder, name, kind, inbox, version}
RELEASE = (
    _NOW
    + _BUMP
    + """
local h = redis.call('HMGET', KEYS[1], 'holder', 'name', 'kind', 'inbox')
if not h[1] then return {0} end
if ARGV[2] ~= '' and h[1] ~= ARGV[2] then return {-1, h[1], h[2], h[3]} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', ARGV[3] .. h[1], ARGV[4])
return {1, h[1], h[2], h[3], h[4], bump(KEYS[3], ARGV[5])}
"""
)

# KEYS: due  ARGV: limit -> members whose time has come
DUE = (
    _NOW
    + """
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
"""
)

# KEYS: lock, due, fence  ARGV: member, idle_ms, grace_ms, held_prefix, conversation_id,
# fence_ttl_ms
# -> {0} nothing to do (or another process did it)
#    | {1, holder, name, kind, inbox, release_at, token} idle prompt
#    | {2, holder, name, kind, inbox, reason, version} released ('idle'/'expired')
SWEEP = (
    _NOW
    + _BUMP
    + """
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > now then return {0} end
local h = redis.call('HMGET', KEYS[1], 'holder', 'name', 'kind', 'inbox', 'deadline', 'prompt',
                     'active', 'token')
if not h[1] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {0}
end
local deadline, prompt, active = tonumber(h[5]), tonumber(h[6]), tonumber(h[7])
local reason = nil
if prompt > 0 and now >= prompt then reason = 'idle'
elseif now >= deadline then reason = 'expired' end
if reason then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('SREM', ARGV[4] .. h[1], ARGV[5])
  return {2, h[1], h[2], h[3], h[4], reason, bump(KEYS[3], ARGV[6])}
end
if prompt == 0 and now >= active + tonumber(ARGV[2]) then
  local release_at = math.min(now + tonumber(ARGV[3]), deadline)
  redis.call('HSET', KEYS[1], 'prompt', release_at)
  redis.call('ZADD', KEYS[2], release_at, ARGV[1])
  return {1, h[1], h[2], h[3], h[4], release_at, h[8]}
end
local next_at = math.min(active + tonumber(ARGV[2]), deadline)
if prompt > 0 then next_at = math.min(prompt, deadline) end
redis.call('ZADD', KEYS[2], next_at, ARGV[1])
return {0}
"""
)
