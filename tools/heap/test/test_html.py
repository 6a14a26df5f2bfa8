#!/usr/bin/env python3
"""preempt-heap html: the page rendered by headless Chromium, checked in the
DOM after its script ran: the table's rows, the chart's bars, the paths'
<details>, names escaped, the search filter and sorting driven from the URL
fragment, nothing loaded from elsewhere; diff --html likewise.  Skips (exit 77) if Chromium is
not installed.

usage: test_html.py PREEMPT_HEAP WORKDIR"""
import html.parser
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from snapgen import *  # noqa: E402,F401,F403

TOOL, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
CHROMIUM = next(filter(None, map(shutil.which, (
    "chromium", "chromium-browser", "google-chrome"))), None)
if not CHROMIUM:
    print("SKIP: chromium not found (scripts/deps.sh installs it): cannot "
          "render the page")
    sys.exit(77)
failures = []


def check(what, got, want):
    if got != want:
        failures.append("%s: got %r, wanted %r" % (what, got, want))


MAP = 'map<int, char*> & "co"'
# global root -> M +8 -> E1 +8 -> S1; M +16 -> E2 +8 -> S2
# stack root -> E3 +0 -> L1; pinned root -> V (type 9, unnamed)
s = Snapshot()
s.info(reason="<b>leak</b>")
s.type(1, MAP)
s.type(2, "struct entry")
s.type(3, "char[]")
s.type(4, "Leaf")
s.obj(0x1000, 64, 1, [(8, 0x2000), (16, 0x2100)])  # M
s.obj(0x2000, 32, 2, [(8, 0x3000)])  # E1
s.obj(0x2100, 32, 2, [(8, 0x3100)])  # E2
s.obj(0x2200, 32, 2, [(0, 0x4000)])  # E3
s.obj(0x3000, 100, 3)  # S1
s.obj(0x3100, 50, 3)  # S2
s.obj(0x4000, 16, 4)  # L1
s.obj(0x6000, 48, 9)  # V
s.root(GLOBAL, 0x1000, slot=0x601000)
s.root(STACK, 0x2200, slot=0x7FF0, tid=7, ip=0x401234)
s.root(PINNED, 0x6000)
snap = os.path.join(WORK, "html.snap")
s.write(snap)
page = os.path.join(WORK, "html.html")
p = subprocess.run([TOOL, "html", snap, "-n", "3", "-o", page],
                   capture_output=True, text=True, timeout=120)
if p.returncode:
    print("preempt-heap html failed: %s" % p.stderr)
    sys.exit(1)
raw = open(page, encoding="utf-8").read()
check("names escaped in the file", ("<int" in raw, "&lt;int, char*&gt; &amp; "
                                    "&quot;co&quot;" in raw), (False, True))
check("the reason escaped", "&lt;b&gt;leak&lt;/b&gt;" in raw, True)
check("nothing loaded from elsewhere",
      re.findall(r"\b(?:src|href)\s*=|url\(|@import|<link", raw), [])


class Dom(html.parser.HTMLParser):
    """The elements the test looks at, with their attributes and text."""

    def __init__(self):
        super().__init__()
        self.root = {}
        self.rows, self.bars, self.details, self.count = [], [], [], None
        self.in_details = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.root = a
        elif tag == "tr" and "data-type" in a:
            self.rows.append(a)
        elif tag == "rect" and a.get("class") == "bar":
            self.bars.append(a)
        elif tag == "details":
            self.in_details = dict(a, text="", items=[])
            self.details.append(self.in_details)
        elif tag == "li" and self.in_details is not None:
            self.in_details["items"].append("")
        elif tag == "span" and a.get("id") == "count":
            self.count = a

    def handle_endtag(self, tag):
        if tag == "details":
            self.in_details = None

    def handle_data(self, data):
        if self.in_details is not None:
            self.in_details["text"] += data
            if self.in_details["items"]:
                self.in_details["items"][-1] += data


def render(fragment):
    p = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--user-data-dir=" + os.path.join(WORK, "chromium-profile"),
         "--dump-dom", "file://" + page + fragment],
        capture_output=True, text=True, timeout=180)
    if p.returncode:
        failures.append("chromium %s: exit %d: %s" % (fragment, p.returncode,
                                                      p.stderr[-2000:]))
    d = Dom()
    d.feed(p.stdout)
    return d


d = render("")
check("the script ran", d.root.get("data-ready"), "1")
check("table rows, by retained", [r["data-type"] for r in d.rows],
      [MAP, "struct entry", "char[]", "type#9", "Leaf"])
check("none hidden", [r for r in d.rows if "hidden" in r], [])
check("row count shown", d.count and d.count.get("data-shown"), "5")
check("bars", [(b["data-type"], b["data-v"]) for b in d.bars],
      [(MAP, "278"), ("struct entry", "262"), ("char[]", "150")])
check("the largest bar is full width", d.bars and d.bars[0]["width"], "480.0")
check("details", [x.get("data-type") for x in d.details],
      [MAP, "struct entry", "char[]"])
ROOT = "global root slot 0x601000"
M = MAP + "@0x1000 64 bytes"
E1 = "via +8 \u2192 struct entry@0x2000 32 bytes"
check("paths", [[i.strip() for i in x["items"]] for x in d.details],
      [[ROOT, M], [ROOT, M, E1],
       [ROOT, M, E1, "via +8 \u2192 char[]@0x3000 100 bytes"]])
check("path summaries", [x["text"].split("\n")[0] for x in d.details], [
    MAP + "@0x1000 (64 bytes, retains 278): 1 hop from a global root",
    "struct entry@0x2000 (32 bytes, retains 132): 2 hops from a global root",
    "char[]@0x3000 (100 bytes, retains 100): 3 hops from a global root"])

d = render("#q=CHAR")
check("filter: shown", [r["data-type"] for r in d.rows if "hidden" not in r],
      [MAP, "char[]"])
check("filter: hidden", [r["data-type"] for r in d.rows if "hidden" in r],
      ["struct entry", "type#9", "Leaf"])
check("filter: count", d.count and d.count.get("data-shown"), "2")

d = render("#sort=objects")
check("sorted by objects", [r["data-type"] for r in d.rows],
      ["struct entry", "char[]", MAP, "type#9", "Leaf"])
d = render("#q=%3Cint&sort=type")
check("filter with an escaped <, sorted by name",
      ([r["data-type"] for r in d.rows],
       [r["data-type"] for r in d.rows if "hidden" not in r]),
      (["Leaf", "char[]", MAP, "struct entry", "type#9"], [MAP]))

# diff --html: the old graph against one with a new char[] under E3 +16
# and without V.
old = snap
s = Snapshot()
s.type(1, MAP)
s.type(2, "struct entry")
s.type(3, "char[]")
s.type(4, "Leaf")
s.obj(0x1000, 64, 1, [(8, 0x2000), (16, 0x2100)])
s.obj(0x2000, 32, 2, [(8, 0x3000)])
s.obj(0x2100, 32, 2, [(8, 0x3100)])
s.obj(0x2200, 32, 2, [(0, 0x4000), (16, 0x5000)])
s.obj(0x3000, 100, 3)
s.obj(0x3100, 50, 3)
s.obj(0x4000, 16, 4)
s.obj(0x5000, 200, 3)
s.root(GLOBAL, 0x1000, slot=0x601000)
s.root(STACK, 0x2200, slot=0x7FF0, tid=7, ip=0x401234)
grown = os.path.join(WORK, "grown.snap")
s.write(grown)
p = subprocess.run([TOOL, "diff", old, grown, "--html", "-o", page],
                   capture_output=True, text=True, timeout=120)
check("diff --html exit", (p.returncode, p.stderr), (0, ""))
d = render("")
check("diff: the script ran", d.root.get("data-ready"), "1")
check("diff: rows", [r["data-type"] for r in d.rows], ["char[]", "type#9"])
check("diff: bars (growth only)", [(b["data-type"], b["data-v"])
                                   for b in d.bars], [("char[]", "200")])
check("diff: new object's path", [[i.strip() for i in x["items"]]
                                  for x in d.details],
      [["stack root thread 7, frame 0x401234, slot 0x7ff0",
        "struct entry@0x2200 32 bytes",
        "via +16 \u2192 char[]@0x5000 200 bytes"]])
snap = os.path.join(WORK, "long.snap")

# A path down a 100-long list: its 20 first and last hops, one elision.
s = Snapshot()
s.type(1, "Cell")
s.type(2, "Big")
for i in range(100):
    s.obj(0x100000 + 16 * i, 16, 1, [(8, 0x100000 + 16 * (i + 1))]
          if i + 1 < 100 else [(0, 0x900000)])
s.obj(0x900000, 5000, 2)
s.root(STACK, 0x100000, tid=1)
s.write(snap)
p = subprocess.run([TOOL, "html", snap, "-o", page], capture_output=True,
                   text=True, timeout=120)
d = render("")
check("long path", [(len(x["items"]), [i.strip() for i in x["items"]
                                        if "hops" in i])
                    for x in d.details],
      [(2, []), (42, ["\u2026 61 hops \u2026"])])

if failures:
    print("\n\n".join(failures))
    print("\n%d failures" % len(failures))
    sys.exit(1)
print("preempt-heap html tests passed")
