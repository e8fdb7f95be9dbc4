#!/usr/bin/env python3
"""Turns the bench job's output into a table and a plot (standard library only).

    benchreport.py RESULT.txt TABLE.md PLOT.svg [NOTE...]

RESULT.txt holds `BENCH FS N MEASURE MEDIAN_US MIN_US` lines (FS: eventfs or tracefs),
each followed by `# samples FS N MEASURE RUNS: US...`, among others. A measure taken in
turns (`eventfs-stress bench pair` and `bench records`: one sample of each filesystem
per round) is marked by a `# paired N MEASURE` line; the record measures were taken in
turns before the mark existed, and are read as marked (PAIRED). TABLE.md gets one row
per measure and N: the medians of mainline tracefs and of eventfs-rs in ms and their
ratio, which for a measure taken in turns whose two sample lists have the same length
is the median of the rounds' ratios (sample k of one over sample k of the other: each
pair saw the same load, where the guest's speed drifts), and the ratio of the medians
otherwise. The kprobe measures (`bench probes K`) are taken at one N only: the hit
loops at N=K (K reads), the 100-probe definition and removal at N=100; the per-read
and per-hit rows add the median divided by N in µs, and their panels show one point
per filesystem, mid-axis, labelled with what N counts. A median or sample may be
negative (the kprobe_hit measures are differences of two samples). PLOT.svg gets one
log-log panel per measure with a positive median, time against N, one line per
filesystem. Each NOTE becomes a line above the table. The SVG is parsed back as XML
before exiting.
"""
import math
import re
import sys
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

# Measure names in the tool's output, in order, with their descriptions.
MEASURES = [
    ("create_batched", "create N events, 100 per write"),
    ("create_single", "create N events, one per write"),
    ("remove_single", "remove N events one by one"),
    ("remove_all", "remove all at once (O_TRUNC)"),
    ("lookup_cold", "stat 100 event dirs after drop_caches"),
    ("lookup_warm", "stat 100 event dirs, cached"),
    ("readdir", "getdents64 pass over the group"),
    ("stat_files_cold", "stat every file after drop_caches"),
    ("stat_files_warm", "stat every file, cached"),
    ("find_cold", "busybox find over the group, after drop_caches"),
    ("find_warm", "busybox find over the group, cached"),
    ("enable_group", "write 1 to events/GROUP/enable"),
    ("disable_group", "write 0 to events/GROUP/enable"),
    ("enable_all", "write 1 to events/enable"),
    ("disable_all", "write 0 to events/enable"),
    ("inject_1000", "1000 inject writes of one enabled event (one fd)"),
    ("trace_pipe_1000", "read those 1000 records from trace_pipe"),
    ("trace_marker_1000", "1000 trace_marker writes (one fd)"),
    ("write_floor_1000", "1000 writes to trace, which ignores them (the syscall floor)"),
    ("kprobe_register_100", "define 100 kprobes on vfs_read, one per write"),
    ("kprobe_remove_100", "remove those 100 at once (O_TRUNC kprobe_events)"),
    ("kprobe_off", "N 1-byte reads of /dev/zero, vfs_read probe off"),
    ("kprobe_on1", "the same, the probe enabled in one instance"),
    ("kprobe_on2", "the same, the probe enabled in two instances"),
    ("kprobe_hit1", "N hits into one instance: on1 - off per round"),
    ("kprobe_hit2", "N hits into two instances: on2 - off per round"),
]
# Measures of N calls whose rows also give the median per call, in µs: what one call is.
PER_CALL = {"kprobe_off": "read", "kprobe_on1": "read", "kprobe_on2": "read",
            "kprobe_hit1": "hit", "kprobe_hit2": "hit"}
# The x axis of a panel: what N counts (N events unless listed).
X_LABEL = {"kprobe_register_100": "probes", "kprobe_remove_100": "probes",
           **{m: "K reads" for m in PER_CALL}}
FS = [("tracefs", "mainline tracefs", "#d62728"), ("eventfs", "eventfs-rs", "#1f77b4")]
LINE = re.compile(r"^BENCH (eventfs|tracefs) (\d+) (\w+) (-?[\d.]+) (-?[\d.]+)\s*$")
SAMPLES = re.compile(r"^# samples (eventfs|tracefs) (\d+) (\w+) (\d+):(.*)$")
# A measure taken in turns (`bench pair`, `bench records`), one sample of each
# filesystem per round: its ratio is the median of the rounds' ratios, each pair taken
# under the same load.
PAIRED_LINE = re.compile(r"^# paired (\d+) (\w+)\s*$")
# The record measures, taken in turns before the tool marked them with `# paired`:
# result files from then are read the same way.
PAIRED = {"inject_1000", "trace_pipe_1000", "trace_marker_1000", "write_floor_1000"}


def parse(path):
    """{(fs, n, measure): (median_us, min_us, runs)}, the comment lines,
    {(fs, n, measure): [sample_us, ...]} in the order taken, and the set of
    (n, measure) taken in turns (marked `# paired`, or in PAIRED)."""
    data, runs, notes, samples, paired = {}, {}, [], {}, set()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            m = LINE.match(line)
            s = SAMPLES.match(line)
            p = PAIRED_LINE.match(line)
            if p:
                paired.add((int(p.group(1)), p.group(2)))
            elif m:
                fs, n, meas, med, mn = m.groups()
                data[(fs, int(n), meas)] = (float(med), float(mn))
            elif s:
                fs, n, meas, r, vals = s.groups()
                runs[(fs, int(n), meas)] = int(r)
                samples[(fs, int(n), meas)] = [float(v) for v in vals.split()]
            elif line.startswith("# ") and ("files_per_event" in line or "Linux" in line
                                            or line.startswith("# kprobes: ")):
                notes.append(line[2:])
    data = {k: (med, mn, runs.get(k, 0)) for k, (med, mn) in data.items()}
    paired |= {(n, meas) for (_, n, meas) in data if meas in PAIRED}
    return data, notes, samples, paired


def ratio(data, samples, paired, n, meas):
    """eventfs-rs / mainline at (n, meas), and whether it is the median of the rounds'
    ratios (taken in turns, two sample lists of the same length) rather than the ratio
    of the medians; None if either filesystem is missing."""
    t = data.get(("tracefs", n, meas))
    e = data.get(("eventfs", n, meas))
    if not (t and e and t[0] > 0):
        return None, False
    ts, es = samples.get(("tracefs", n, meas)), samples.get(("eventfs", n, meas))
    if (n, meas) in paired and ts and es and len(ts) == len(es):
        rounds = [b / a for a, b in zip(ts, es) if a > 0]
        if rounds:
            return median(rounds), True
    return e[0] / t[0], False


def median(v):
    v = sorted(v)
    k = len(v)
    return v[k // 2] if k % 2 else (v[k // 2 - 1] + v[k // 2]) / 2


def ms(us):
    """Microseconds as milliseconds with three or four significant digits."""
    if us is None:
        return "-"
    v = us / 1e3
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def per_call(meas, n, t, e):
    """The words the row of `meas` at `n` adds after its description: the medians per
    call in µs for the measures of N calls (PER_CALL), nothing otherwise."""
    word = PER_CALL.get(meas)
    if not word:
        return ""
    one = [f"{label} {v[0] / n:.3g} µs" for v, label in ((t, "mainline"), (e, "eventfs-rs")) if v]
    return f"; per {word}: " + ", ".join(one)


def turns_note(rounds, medians):
    """The note's words on which ratios are medians of the rounds' ratios: `rounds` and
    `medians` are the measures (names) with a ratio of either kind, a measure in both
    if it has one kind at one N and the other at another."""
    if not rounds:
        return "the ratio of the medians (no measure taken in turns)"
    which = "every measure" if not medians else "the measures " + ", ".join(rounds)
    text = (f"for {which}, taken in turns (one sample of each filesystem per round), "
            "the median of the ratios of the rounds")
    if medians:
        text += "; otherwise, the ratio of the medians"
    return text


def table(data, notes, ns, samples, paired):
    rows, rounds, medians = [], [], []
    for meas, desc in MEASURES:
        for n in ns:
            t = data.get(("tracefs", n, meas))
            e = data.get(("eventfs", n, meas))
            if not t and not e:
                continue
            r, by_rounds = ratio(data, samples, paired, n, meas)
            text = "-"
            if r is not None:
                (rounds if by_rounds else medians).append(meas)
                # Far below 1, "1/x" reads better than a run of zeros.
                text = f"{r:.2f}" if r >= 0.1 or r <= 0 else f"1/{1 / r:.0f}"
            rows.append(
                f"| {meas}: {desc}{per_call(meas, n, t, e)} | {n} | {ms(t and t[0])} "
                f"| {ms(e and e[0])} | {text} |"
            )
    out = ["# eventfs-rs against mainline tracefs", ""]
    out += [f"- {n}" for n in dict.fromkeys(notes)]
    out += [
        "- median of the runs in ms (min and run count in the raw lines below); "
        "ratio = eventfs-rs / mainline (below 1: eventfs-rs is faster; 1/x: x times faster): "
        + turns_note(list(dict.fromkeys(rounds)), list(dict.fromkeys(medians))),
        "",
        "| measure | N | mainline ms | eventfs-rs ms | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    out += rows
    out += ["", "Raw lines (fs n measure median_us min_us runs):", "", "```"]
    for (fs, n, meas), (med, mn, runs) in sorted(data.items()):
        out.append(f"{fs} {n} {meas} {med:.1f} {mn:.1f} {runs}")
    out += ["```", ""]
    return "\n".join(out)


def decades(lo, hi):
    """Powers of ten bracketing [lo, hi]."""
    a = math.floor(math.log10(lo))
    b = math.ceil(math.log10(hi))
    if a == b:
        b += 1
    return a, b


def tick_label(exp, unit):
    if unit == "us":
        v = 10.0**exp
        if v < 1000:
            return f"{v:g}µs"
        if v < 1e6:
            return f"{v / 1e3:g}ms"
        return f"{v / 1e6:g}s"
    return f"{10 ** exp:,}" if exp >= 0 else f"{10.0 ** exp:g}"


def plot(data, ns):
    # A panel needs a positive median to place on its log scale (a kprobe_hit median
    # can be negative: those measures stay in the table).
    measures = [(m, d) for m, d in MEASURES
                if any(k[2] == m and v[0] > 0 for k, v in data.items())]
    cols = 4
    pw, ph = 300, 220  # panel size
    ml, mr, mt, mb = 62, 24, 34, 34  # margins inside a panel
    rows = math.ceil(len(measures) / cols)
    top = 50
    width, height = cols * pw, top + rows * ph + 10
    s = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="20" font-size="15" font-weight="bold">'
        f"eventfs-rs against mainline tracefs: median time against N (log-log)</text>",
    ]
    lx = 10
    for fs, label, color in FS:
        s.append(
            f'<line x1="{lx}" y1="36" x2="{lx + 24}" y2="36" stroke="{color}" stroke-width="2"/>'
            f'<circle cx="{lx + 12}" cy="36" r="3" fill="{color}"/>'
            f'<text x="{lx + 30}" y="40" font-size="12">{escape(label)}</text>'
        )
        lx += 170
    for idx, (meas, desc) in enumerate(measures):
        # Every N of the run, or, for a measure taken at one N only (the kprobe
        # measures), a decade either side of it, so that its points stand mid-panel.
        own = {k[1] for k in data if k[2] == meas}
        if len(own) == 1:
            lg = math.log10(own.pop())
            xa, xb = math.floor(lg) - 1, math.ceil(lg) + (1 if lg == math.ceil(lg) else 0)
        else:
            xa, xb = decades(min(ns), max(ns))
        ox, oy = (idx % cols) * pw, top + (idx // cols) * ph
        x0, x1 = ox + ml, ox + pw - mr
        y0, y1 = oy + mt, oy + ph - mb  # y0 top, y1 bottom
        vals = [v[0] for k, v in data.items() if k[2] == meas and v[0] > 0]
        ya, yb = decades(min(vals), max(vals))

        def px(n):
            return x0 + (math.log10(n) - xa) / (xb - xa) * (x1 - x0)

        def py(us):
            return y1 - (math.log10(us) - ya) / (yb - ya) * (y1 - y0)

        s.append(f'<text x="{ox + 8}" y="{oy + 14}" font-size="12" font-weight="bold">'
                 f"{escape(meas)}</text>")
        s.append(f'<text x="{ox + 8}" y="{oy + 26}" fill="#555">{escape(desc)}</text>')
        s.append(f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" '
                 f'fill="none" stroke="#888"/>')
        for e in range(xa, xb + 1):
            x = px(10**e)
            s.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y1}" stroke="#ddd"/>')
            s.append(f'<text x="{x:.1f}" y="{y1 + 12}" text-anchor="middle">'
                     f"{escape(tick_label(e, 'n'))}</text>")
        for e in range(ya, yb + 1):
            y = py(10.0**e)
            s.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#ddd"/>')
            s.append(f'<text x="{x0 - 4}" y="{y + 3:.1f}" text-anchor="end">'
                     f"{escape(tick_label(e, 'us'))}</text>")
        s.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{y1 + 26}" text-anchor="middle" '
                 f'fill="#555">{escape(X_LABEL.get(meas, "N events"))}</text>')
        for fs, label, color in FS:
            pts = [(px(n), py(data[(fs, n, meas)][0])) for n in ns
                   if (fs, n, meas) in data and data[(fs, n, meas)][0] > 0]
            if not pts:
                continue
            s.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                color, " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)))
            for x, y in pts:
                s.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                         f"<title>{escape(label)}</title></circle>")
    s.append("</svg>")
    return "\n".join(s) + "\n"


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    data, notes, samples, paired = parse(sys.argv[1])
    notes += sys.argv[4:]
    if not data:
        sys.exit(f"benchreport: no bench lines in {sys.argv[1]}")
    ns = sorted({k[1] for k in data})
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(table(data, notes, ns, samples, paired))
    svg = plot(data, ns)
    with open(sys.argv[3], "w", encoding="utf-8") as f:
        f.write(svg)
    root = ET.parse(sys.argv[3]).getroot()
    if root.tag != "{http://www.w3.org/2000/svg}svg":
        sys.exit(f"benchreport: {sys.argv[3]}: root element {root.tag}, not svg")


if __name__ == "__main__":
    main()
