-- Strings: concatenation, table.concat, gsub with patterns and callbacks,
-- string.format, find/match.
local words = {}
local seed = 12345
local function rand(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n
end
local letters = "abcdefghijklmnopqrstuvwxyz"
for i = 1, 4000 do
  local len = 3 + rand(8)
  local t = {}
  for k = 1, len do
    local c = 1 + rand(26)
    t[k] = letters:sub(c, c)
  end
  words[i] = table.concat(t)
end

local text = table.concat(words, " ")
local total = 0
for round = 1, 8 do
  local up = text:gsub("%a+", function(w)
    if #w % 3 == round % 3 then return w:upper() end
  end)
  local vowels = select(2, up:gsub("[aeiouAEIOU]", ""))
  local swapped = up:gsub("(%a)(%a)", "%2%1")
  local n = 0
  for w in swapped:gmatch("%u+") do n = n + #w end
  local s = ""
  for i = 1, 300 do
    s = s .. string.format("%d:%s;", i, words[(i * round) % #words + 1])
  end
  local pos = s:find("100:", 1, true) or 0
  total = total + vowels + n + #s + pos
end
print("strings", total)
