"""Run a command; print its wall seconds and the CPU seconds of its whole process tree (the
command, the JVM it starts, Spark's Python workers...), sampled from /proc every 0.5 s (a process
living less than that is missed). CPU seconds move less with the machine's load than wall time.

Usage: .venv/bin/python benchmarks/cputime.py OUTPUT_LOG COMMAND...
e.g.   .venv/bin/python benchmarks/cputime.py /tmp/spark.log .venv/bin/python -m pytest tests/test_spark_engine.py -q
Linux only (/proc)."""
import os, subprocess, sys, time
TICK = os.sysconf("SC_CLK_TCK")
def table():
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            s = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        out[int(d)] = (int(rest[1]), (int(rest[11]) + int(rest[12])) / TICK, rest[19])  # ppid, cpu, starttime
    return out
t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.STDOUT)
seen = {}
while p.poll() is None:
    t = table()
    tree = {p.pid}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _, _) in t.items():
            if ppid in tree and pid not in tree:
                tree.add(pid); changed = True
    for pid in tree:
        if pid in t:
            seen[(pid, t[pid][2])] = t[pid][1]
    time.sleep(0.5)
print(f"wall {time.perf_counter() - t0:.1f} s, cpu {sum(seen.values()):.1f} s, rc {p.returncode}", flush=True)
