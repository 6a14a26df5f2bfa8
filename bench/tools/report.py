"""What the benchmark drivers share: tables, ratios, number formatting,
the machine's description, their command-line quirk, and how they end
(errors and exit status)."""


import os
import platform
import re
import sys


def fmt(x, spec, none="-"):
    return none if x is None else format(x, spec)


def machine_line():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            if m:
                model = m.group(1).strip()
    except OSError:
        pass
    return "%s, %d CPUs, Linux %s" % (model, os.cpu_count() or 0,
                                      platform.release())


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(rows, header, markdown):
    """Rows of strings as a Markdown table or aligned plain text."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---" if i == 0 else "---:"
                                for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    out = []
    for r in [header] + rows:
        out.append("  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w)
                             for i, (x, w) in enumerate(zip(r, widths))))
        if r is header:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def join_cflags(argv):
    """Lets "--cflags -O3" work: argparse would take -O3 for an option."""
    out = []
    it = iter(argv)
    for a in it:
        if a == "--cflags":
            out.append("--cflags=" + next(it, ""))
        else:
            out.append(a)
    return out


def exit_status(errors):
    """Prints errors (a list of strings) on stderr; 1 if there were any."""
    if not errors:
        return 0
    print()
    for e in errors:
        print("ERROR: " + e, file=sys.stderr)
    return 1
