-- Closures, upvalues, varargs and coroutines.
local function counter(step)
  local n = 0
  return function() n = n + step; return n end
end

local function compose(f, g) return function(...) return f(g(...)) end end

local acc = 0
for i = 1, 2000 do
  local c = counter(i % 7 + 1)
  local f = compose(function(x) return x * 2 end, function(x) return x + c() end)
  for k = 1, 50 do acc = (acc + f(k)) % 1000000007 end
end

local function gen(n)
  return coroutine.wrap(function()
    for i = 1, n do coroutine.yield(i, i * i) end
  end)
end
for r = 1, 300 do
  for a, b in gen(300) do acc = (acc + a * 3 + b) % 1000000007 end
end

local function sum(...)
  local s = 0
  for i = 1, select("#", ...) do s = s + select(i, ...) end
  return s
end
for i = 1, 40000 do acc = (acc + sum(i, 2, 3, 4, 5)) % 1000000007 end
print("closures", acc)
