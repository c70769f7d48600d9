-- wrk script of the checkout benchmark: each request is a new 3-line basket
-- (one offer of each of the 3 benchmark farms) from one of the 32 canteens,
-- with its own Idempotency-Key. BENCH_TOKENS names a file of 32 access
-- tokens (canteen n's owner on line n); BENCH_DAY is the delivery date.
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

local tokens, counter = {}, 0
local day = os.getenv("BENCH_DAY")

function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    tokens[#tokens + 1] = line
  end
  math.randomseed(os.time() * 100 + thread_no)
end

local function quantity()
  local halves = math.random(1, 20)
  if halves % 2 == 0 then
    return tostring(halves / 2)
  end
  return string.format("%d.5", math.floor(halves / 2))
end

local function offer(n)
  return string.format("00000000-0000-7001-8000-%012d", n)
end

function request()
  counter = counter + 1
  local c = math.random(1, 32)
  local body = string.format(
    '{"buyer_id":"00000000-0000-7002-8000-%012d","delivery_date":"%s","lines":['
      .. '{"offer_id":"%s","quantity":"%s"},{"offer_id":"%s","quantity":"%s"},{"offer_id":"%s","quantity":"%s"}]}',
    c, day, offer(math.random(1, 100)), quantity(), offer(math.random(101, 200)), quantity(),
    offer(math.random(201, 300)), quantity())
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[c],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("wrk-%d-%d-%d", thread_no, counter, math.random(1, 1000000000)),
  }
  return wrk.format("POST", "/api/v1/orders", headers, body)
end
