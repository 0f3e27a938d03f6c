-- Score and segment customers through the Lua module:
--   simulate purchases -> cvm.customers -> summary in weeks -> BG/NBD +
--   Gamma-Gamma -> P(alive) and CLV -> RFM segments, value tiers and
--   lifecycle stages -> one new purchase scored in real time.
--
--   LUA_CPATH='path/to/build/bindings/lua/?.so;;' lua5.4 examples/lua/score_segment.lua
--
-- Library failures return fail, message, code, so assert() turns them into
-- errors with the library's message. Indices (customers, segments, tiers)
-- are 1-based.
local cvm = require("cvm")

-- 2,000 customers drawn from BG/NBD at CDNOW's published estimates, 78 weeks.
local customers = assert(cvm.customers())
assert(cvm.simulate({customers = 2000, seed = 5}, function(customer, time, amount)
  assert(customers:add("cust-" .. customer, time, amount))
end))
local s = assert(customers:summary{unit = "week"})
print(string.format("cvm %s: %d customers, %d purchases", cvm._VERSION, s.n,
                    customers:transactions()))

-- Fit the transaction and spend models.
local bgnbd = assert(cvm.clv{model = "bgnbd"})
assert(bgnbd:fit(s.x, s.t_x, s.T))
local spend = assert(cvm.spend())
assert(spend:fit(s.x, s.monetary))
local p = assert(bgnbd:params())
print(string.format("BG/NBD r %.4f alpha %.4f a %.4f b %.4f", p.r, p.alpha, p.a, p.b))

-- P(alive), purchases in the next 12 weeks and 12-week CLV, in one pass.
local scores = assert(bgnbd:score{x = s.x, t_x = s.t_x, T = s.T, monetary = s.monetary,
                                  spend = spend, horizon = 12})

-- RFM segments: recency is the time since the last purchase.
local since = {}
for i = 1, s.n do since[i] = s.T[i] - s.t_x[i] end
local rfm = assert(cvm.rfm())
assert(rfm:fit(since, s.x, s.monetary))
local R, F, M = assert(rfm:fit_scores())
local labels = assert(rfm:segment(R, F, M))
local names = rfm:segments()
local profiles = assert(cvm.profiles{labels = labels, nsegments = #names, recency = since,
                                     frequency = s.x, monetary = s.monetary,
                                     p_alive = scores.p_alive, clv = scores.clv})
print(string.format("%-20s %6s %6s %8s %6s", "RFM segment", "count", "alive", "mean CLV", "CLV%"))
for j, prof in ipairs(profiles) do
  if prof.count > 0 then
    print(string.format("%-20s %6d %6.3f %8.2f %6.1f", names[j], math.tointeger(prof.count),
                        prof.mean_p_alive, prof.mean_clv, 100 * prof.share_clv))
  end
end

-- Value tiers by CLV (top 1%, next 9%, next 40%, bottom 50%) and lifecycle stages.
local cuts, tier = assert(cvm.value_tiers(scores.clv, {0.01, 0.10, 0.50}))
local stage = assert(cvm.lifecycle{x = s.x, t_x = s.t_x, T = s.T, p_alive = scores.p_alive})
local per_tier, per_stage = {0, 0, 0, 0}, {}
for i = 1, s.n do
  per_tier[tier[i]] = per_tier[tier[i]] + 1
  per_stage[stage[i]] = (per_stage[stage[i]] or 0) + 1
end
print(string.format("tiers (CLV cuts %.2f, %.2f, %.2f): %d / %d / %d / %d customers",
                    cuts[1], cuts[2], cuts[3], table.unpack(per_tier)))
print(string.format("stages: new %d, active %d, at risk %d, lapsed %d", per_stage.new or 0,
                    per_stage.active or 0, per_stage.at_risk or 0, per_stage.lapsed or 0))

-- Real time: a new purchase of customer 1 at the end of the data, re-scored
-- from its updated summary row and placed in a tier and an RFM segment
-- without refitting anything.
local id = "cust-1"
local index = assert(customers:find(id))
local before = assert(customers:row(index, {unit = "week"}))
local now = cvm.parse_time("1998-06-30")
assert(customers:add(id, now, 42.0))
local row = assert(customers:row(index, {unit = "week"}))
local one = assert(bgnbd:score{x = {row.frequency}, t_x = {row.recency}, T = {row.T},
                               monetary = {row.monetary}, spend = spend, horizon = 12})
local t1 = assert(cvm.value_tier_assign(cuts, one.clv))
local r1, f1, m1 = assert(rfm:score({row.T - row.recency}, {row.frequency}, {row.monetary}))
local _, seg1 = assert(rfm:segment(r1, f1, m1))
print(string.format("%s bought again: x %d -> %d, P(alive) %.3f, CLV %.2f, tier %d, %s",
                    id, math.tointeger(before.frequency), math.tointeger(row.frequency),
                    one.p_alive[1], one.clv[1], t1[1], seg1[1]))
