-- Tables: array insert/remove, hash part, sort with and without a
-- comparison function.
local seed = 42
local function rand(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n
end

local sum = 0
for round = 1, 2 do
  local a = {}
  for i = 1, 10000 do table.insert(a, rand(1000000)) end
  table.sort(a)
  for i = 1, #a, 97 do sum = sum + a[i] end
  local recs = {}
  for i = 1, 2500 do
    recs[i] = {key = rand(1000), name = "r" .. i}
  end
  table.sort(recs, function(x, y)
    if x.key ~= y.key then return x.key < y.key end
    return x.name < y.name
  end)
  for i = 1, #recs, 50 do sum = sum + recs[i].key end
  local h = {}
  for i = 1, 10000 do
    local k = "k" .. rand(5000)
    h[k] = (h[k] or 0) + i
  end
  local cnt = 0
  for k, v in pairs(h) do cnt = cnt + 1; sum = (sum + v) % 1000000007 end
  while #a > 5000 do table.remove(a) end
  for i = 1, 200 do table.remove(a, 1) end
  sum = (sum + cnt + #a) % 1000000007
end
print("tables", sum)
