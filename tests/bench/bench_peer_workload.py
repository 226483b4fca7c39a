#!/usr/bin/python3
"""Peer-workload benchmark (issue 16): CPU, memory and system calls per Modbus transaction.

    /usr/bin/python3 tests/bench/bench_peer_workload.py [--build-dir <repo>/build]
        [--seconds 20] [--strace-seconds 10] [--warmup 2] [--workloads peer,100x20]
        [--peer-buses 20] [--peer-units 1] [--peer-registers 10] [--peer-interval-ms 100]
        [--perf-seconds 0] [--live-window 0s] [--strict] [--keep]

In one run, on 127.0.0.1 only, with one mosquitto on a free port, the KPC stand-in
(tests/support/kpc_standin.py, answers every request on <topic>/status) and a subscriber on
kp1/+/dcx/+/json/+ counting the samples published, it measures kaa-gatewayd and the floor
program of each workload, one after the other, on:

  peer    20 Modbus TCP meters (one bus and one connection each, unit 1) x 10 holding
          registers (uint16 reg_00..reg_09, one request) every 100 ms: the workload the
          issue compares mqmgateway on. Floor: peer_floor (tests/bench/peer_floor.cpp).
  100x20  bench_polling.py's workload: 100 units behind one Modbus TCP server x 20 registers
          (2 requests per meter) every 1 s. Floor: polling_floor.

The Modbus side is peer_sim (tests/bench/peer_sim.cpp), not `kaa-gateway simulate`: one thread
on one epoll set, fixed values, one read and one write per request, so that it takes as
little CPU from the measured program as possible on this 2-core machine, and it counts the
transactions it answers in a mapped file. TRANSACTIONS ARE COUNTED ON THE SIMULATOR SIDE
(every request it answered, exceptions included), the same way for both programs; the
daemon's own count (`kaa-gateway status --json`, meters[].transactions.requests, at most 1 s
stale) is printed next to it as a cross-check.

For each program and workload:
  1. start it; wait for its first published sample; wait --warmup seconds more;
  2. CPU window (--seconds, whole poll intervals, starting half an interval after a poll
     round is due): utime+stime of the process from /proc/<pid>/stat (all threads, clock
     ticks) at both edges, divided by the transactions the simulator answered in between
     (and the machine's /proc/stat: what every other process used meanwhile, and steal),
     and by the readings (samples timestamped inside the window, counted by the subscriber);
     the run time and context switches of each thread (/proc/<pid>/task/<tid>/schedstat and
     status), summed by thread role (see 3.); VmHWM (peak RSS) and VmRSS at the end, and a
     breakdown of the RSS from /proc/<pid>/smaps_rollup and /proc/<pid>/smaps (heap, malloc
     arenas, thread stacks found by each thread's stack pointer, the binary's and libraries'
     text/read-only/data);
  3. then, on the same process, `strace -f -C -yy -p <pid>` attached for --strace-seconds:
     system calls by name (its -c table) divided by the transactions answered while it was
     attached, and the same calls by thread role (main, bus, MQTT, other: told apart by
     the sockets a thread's calls act on) and by the kind of fd they act on (strace
     slows the process: its CPU is not what the CPU window measures, and the calls per
     transaction do not depend on how fast it runs as long as it keeps up);
  4. with --perf-seconds, `perf record -p <pid>` (cpu-clock) for that long: the kernel/user
     split and the top symbols, in us per transaction at the CPU window's rate;
  5. SIGTERM.

Targets of issue 16 are printed next to the figures with PASS/FAIL. Exit 0 when the
measurement ran (a missed target is a result), 1 when the set-up or a run failed; with
--strict, 3 when a target was missed.

Binaries: <build-dir>/kaa-gatewayd, <build-dir>/kaa-gateway and <build-dir>/tests/bench/
{peer_sim,peer_floor,polling_floor} (cmake --build <build-dir> --target kaa-gatewayd
kaa-gateway peer_sim peer_floor polling_floor; the benchmarks need KAA_BUILD_TESTS=ON and
KAA_BUILD_BENCH=ON). Measure a Release build: that is what the package ships.
"""

import argparse
import json
import math
import os
import re
import signal
import struct
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402  (tests/integration/harness.py: processes, broker, waiting)
import bench_polling  # noqa: E402  (the 100 x 20 workload's register map, config and plan)

DAEMON_APP = bench_polling.DAEMON_APP  # "bench_gwd"
FLOOR_APP = bench_polling.FLOOR_APP  # "bench_flr": same length, same topic bytes
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
STRACE = "/usr/bin/strace"
PERF = "/usr/bin/perf"

# Issue 16's "done when", item 1.
TARGET_PEER_CPU_US = 30.0
TARGET_PEER_SYSCALLS = 10.0
TARGET_PEER_RSS_MIB = 8.0
TARGET_100X20_RATIO = 1.0

# Calls always shown in the per-transaction table, whether or not they are among the top.
NAMED_CALLS = ["read", "write", "pselect6", "poll", "ppoll", "recvfrom", "sendto", "fcntl",
               "futex", "pwrite64", "fdatasync", "fsync", "epoll_wait", "clock_nanosleep"]
TOP_CALLS = 14


# --------------------------------------------------------------------------------------
# /proc readers


def cpu_ticks(pid):
    """utime+stime of the whole process (all its threads, live and exited) in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)


def machine_ticks():
    """(busy, idle, steal) clock ticks of all CPUs together, from /proc/stat's "cpu" line."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return user + nice + system + irq + softirq, idle + iowait, steal


def status_kib(pid, key):
    """A "kB" line of /proc/<pid>/status (VmHWM, VmRSS, RssAnon ...) in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s for pid %d" % (key, pid))


def threads_of(pid):
    """[(tid, comm)] of the process's threads."""
    out = []
    for tid in sorted(int(t) for t in os.listdir("/proc/%d/task" % pid)):
        try:
            comm = Path("/proc/%d/task/%d/comm" % (pid, tid)).read_text().strip()
        except FileNotFoundError:
            continue
        out.append((tid, comm))
    return out


def thread_stats(pid):
    """{tid: (CPU ns, voluntary, involuntary context switches)} of the process's threads, from
    /proc/<pid>/task/<tid>/schedstat (the scheduler's exact run time) and .../status."""
    out = {}
    for tid, _comm in threads_of(pid):
        try:
            ns = int(Path("/proc/%d/task/%d/schedstat" % (pid, tid)).read_text().split()[0])
            vol = invol = 0
            for line in Path("/proc/%d/task/%d/status" % (pid, tid)).read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    vol = int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    invol = int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[tid] = (ns, vol, invol)
    return out


def thread_stack_pointers(pid, attempts=20):
    """{tid: stack pointer} of the threads blocked in a system call (/proc/.../syscall);
    a thread that is running is asked again, up to `attempts` times."""
    sps = {}
    for _ in range(attempts):
        missing = False
        for tid, _comm in threads_of(pid):
            if tid in sps:
                continue
            try:
                text = Path("/proc/%d/task/%d/syscall" % (pid, tid)).read_text().split()
            except (FileNotFoundError, PermissionError):
                continue
            if len(text) >= 8 and text[0] != "running":
                sps[tid] = int(text[-2], 16)
            else:
                missing = True
        if not missing:
            break
    return sps


SMAPS_HEAD = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s*(.*)$")


def read_smaps(pid):
    """The mappings of /proc/<pid>/smaps: dicts with start, end, perms, path and the kB
    fields (Rss, Pss, Private_Dirty, Anonymous ...)."""
    maps = []
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = SMAPS_HEAD.match(line)
            if m:
                maps.append({"start": int(m.group(1), 16), "end": int(m.group(2), 16),
                             "perms": m.group(3), "path": m.group(4).strip()})
                continue
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB" and maps:
                maps[-1][parts[0].rstrip(":")] = int(parts[1])
    return maps


def read_rollup(pid):
    """The kB fields of /proc/<pid>/smaps_rollup."""
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


ARENA_ALIGN = 64 << 20  # glibc's per-thread malloc heaps: HEAP_MAX_SIZE-aligned on 64-bit


def memory_breakdown(pid):
    """Where the RSS of a process is, from its smaps: a list of (what, Rss kB, Pss kB,
    Private_Dirty kB, note) rows, plus the rollup and the thread list."""
    maps = read_smaps(pid)
    threads = threads_of(pid)
    sps = thread_stack_pointers(pid)
    comm = dict(threads)
    stack_of = {}  # mapping index -> [thread names]
    for tid, sp in sps.items():
        for i, m in enumerate(maps):
            if m["start"] <= sp < m["end"]:
                stack_of.setdefault(i, []).append("%s(%d)" % (comm.get(tid, "?"), tid))
    rows = {}

    def add(key, m, note=""):
        """Adds mapping m's figures to row `key`."""
        r = rows.setdefault(key, {"Rss": 0, "Pss": 0, "Private_Dirty": 0, "n": 0, "note": note})
        for k in ("Rss", "Pss", "Private_Dirty"):
            r[k] += m.get(k, 0)
        r["n"] += 1

    libs = {}
    for i, m in enumerate(maps):
        path = m["path"]
        prev = maps[i - 1] if i else None
        if i in stack_of:
            label = "main thread stack" if path == "[stack]" else "thread stacks (pthread)"
            add(label, m)
            rows[label].setdefault("threads", []).extend(stack_of[i])
        elif path == "[stack]":
            add("main thread stack", m)
        elif path == "[heap]":
            add("heap: main malloc arena (brk)", m, "SQLite page cache, config, JSON, spdlog")
        elif path in ("[vdso]", "[vvar]", "[vsyscall]"):
            add("kernel: vdso/vvar", m)
        elif path.startswith("/") and not path.endswith("(deleted)") and "/memfd:" not in path:
            lib = libs.setdefault(os.path.basename(path), {"text": 0, "ro": 0, "rw": 0,
                                                           "Pss": 0, "Private_Dirty": 0})
            part = "text" if "x" in m["perms"] else "rw" if "w" in m["perms"] else "ro"
            lib[part] += m.get("Rss", 0)
            lib["Pss"] += m.get("Pss", 0)
            lib["Private_Dirty"] += m.get("Private_Dirty", 0)
        elif path == "" and m["perms"].startswith("---"):
            add("guard pages and reserves (---p)", m)
        elif (path == "" and prev is not None and prev["end"] == m["start"]
              and prev["path"].startswith("/") and "w" in m["perms"] and "w" in prev["perms"]):
            lib = libs.setdefault(os.path.basename(prev["path"]), {"text": 0, "ro": 0, "rw": 0,
                                                                   "Pss": 0, "Private_Dirty": 0})
            lib["rw"] += m.get("Rss", 0)  # .bss after the file's .data
            lib["Pss"] += m.get("Pss", 0)
            lib["Private_Dirty"] += m.get("Private_Dirty", 0)
        elif path == "" and m["start"] % ARENA_ALIGN == 0:
            add("malloc arenas of other threads", m, "per-thread heaps, 64 MiB-aligned")
        elif path == "":
            add("other anonymous mmaps", m, "malloc >= 128 KiB, thread stacks not seen")
        else:
            add("other (%s)" % path[:30], m)
    return {"rows": rows, "libs": libs, "threads": threads, "stacks_found": len(sps),
            "rollup": read_rollup(pid), "maps": len(maps)}


def format_breakdown(label, b, buffer_paths=()):
    """The memory breakdown as text lines; buffer_paths: [(path, bytes)] of the SQLite files."""
    roll = b["rollup"]
    lines = ["memory of %s: Rss %d kB = anonymous %d kB + file-backed %d kB; Pss %d kB; "
             "Private_Dirty %d kB; %d mappings"
             % (label, roll.get("Rss", 0), roll.get("Anonymous", 0),
                roll.get("Rss", 0) - roll.get("Anonymous", 0), roll.get("Pss", 0),
                roll.get("Private_Dirty", 0), b["maps"])]
    names = {}
    for _tid, comm in b["threads"]:
        names[comm] = names.get(comm, 0) + 1
    lines.append("  %d threads: %s (stack pointer found for %d)"
                 % (len(b["threads"]), ", ".join("%s x%d" % (k, v) if v > 1 else k
                                                 for k, v in sorted(names.items())),
                    b["stacks_found"]))
    lines.append("  %-40s %8s %8s %10s  %s" % ("", "Rss kB", "Pss kB", "PrivDirty", "mappings"))
    for key, r in sorted(b["rows"].items(), key=lambda kv: -kv[1]["Rss"]):
        extra = r["note"]
        if "threads" in r:
            extra = "%d stacks, %.1f kB each on average" % (
                len(r["threads"]), r["Rss"] / max(1, len(r["threads"])))
        lines.append("  %-40s %8d %8d %10d  %d  %s" % (key, r["Rss"], r["Pss"],
                                                       r["Private_Dirty"], r["n"], extra))
    lib_total = {"text": 0, "ro": 0, "rw": 0, "Pss": 0, "Private_Dirty": 0}
    for v in b["libs"].values():
        for k in lib_total:
            lib_total[k] += v[k]
    lines.append("  %-40s %8d %8d %10d     text %d + read-only %d + data/bss %d kB"
                 % ("binary and libraries (file-backed)",
                    lib_total["text"] + lib_total["ro"] + lib_total["rw"], lib_total["Pss"],
                    lib_total["Private_Dirty"], lib_total["text"], lib_total["ro"],
                    lib_total["rw"]))
    for name, v in sorted(b["libs"].items(), key=lambda kv: -(kv[1]["text"] + kv[1]["ro"]
                                                                + kv[1]["rw"]))[:12]:
        lines.append("    %-38s %8d %8d %10d     text %d, ro %d, data/bss %d"
                     % (name, v["text"] + v["ro"] + v["rw"], v["Pss"], v["Private_Dirty"],
                        v["text"], v["ro"], v["rw"]))
    rest = sorted(b["libs"].items(), key=lambda kv: -(kv[1]["text"] + kv[1]["ro"]
                                                       + kv[1]["rw"]))[12:]
    if rest:
        lines.append("    %-38s %8d %8d %10d" % (
            "(%d more)" % len(rest), sum(v["text"] + v["ro"] + v["rw"] for _n, v in rest),
            sum(v["Pss"] for _n, v in rest), sum(v["Private_Dirty"] for _n, v in rest)))
    sizes = ["%s %d kB" % (os.path.basename(p), size // 1024) for p, size in buffer_paths]
    if sizes:
        lines.append("  SQLite: its page cache is malloc'd (in the heap rows above, not apart), "
                     "at most one copy of each page of the database (the WAL holds newer "
                     "versions of the same pages) and cache_size's 2000 kB: files now %s"
                     % ", ".join(sizes))
    return lines


# --------------------------------------------------------------------------------------
# strace


STRACE_LINE = re.compile(r"^\s*(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+)\s+(\d+)\s+(?:(\d+)\s+)?(\S+)\s*$")


def parse_strace_summary(text):
    """{syscall: calls} of the `strace -c`/`-C` table at the end (its last line: "total")."""
    calls = {}
    for line in text.splitlines():
        m = STRACE_LINE.match(line)
        if m:
            calls[m.group(6)] = int(m.group(4))
    return calls


CALL_START = re.compile(r"^(\d+)\s+([a-z_0-9]+)\((.*)$")
FD_ARG = re.compile(r"^\d+<(.+?)>(?=[,)])")
TCP_ENDS = re.compile(r"TCP(?:v6)?:\[.*?:(\d+)->.*?:(\d+)\]")


def fd_kind(annotation, modbus_ports, broker_port):
    """What an `strace -yy` fd annotation is: modbus, mqtt, sqlite, eventfd, unix, file ..."""
    m = TCP_ENDS.match(annotation)
    if m:
        ends = {int(m.group(1)), int(m.group(2))}
        if ends & modbus_ports:
            return "modbus"
        if broker_port in ends:
            return "mqtt"
        return "tcp"
    if annotation.startswith("UNIX"):
        return "unix"
    if annotation.startswith("anon_inode:"):
        return annotation.split(":", 1)[1].strip("[]")
    if annotation.startswith("pipe:"):
        return "pipe"
    if annotation.startswith("/"):
        if annotation.endswith(("-wal", ".db", "-shm", "-journal")):
            return "sqlite"
        return "file"
    return annotation.split(":", 1)[0]


def parse_strace_log(text, pid, modbus_ports, broker_port):
    """Calls of an `strace -f -yy -o` log by thread role, call and the kind of fd they act on:
    {role: {"threads": n, "calls": {call: {fd kind: count}}}}. A thread's role: the main
    thread (the pid), a bus thread (it touches a Modbus socket), the MQTT thread (it touches
    the broker's socket), or another thread."""
    per_tid = {}
    for line in text.splitlines():
        m = CALL_START.match(line)
        if not m:
            continue  # "<... resumed>", signals, exits, the summary table
        tid, call, rest = int(m.group(1)), m.group(2), m.group(3)
        a = FD_ARG.match(rest)
        kind = fd_kind(a.group(1), modbus_ports, broker_port) if a else "-"
        calls = per_tid.setdefault(tid, {})
        calls.setdefault(call, {})
        calls[call][kind] = calls[call].get(kind, 0) + 1
    roles, tid_roles = {}, {}
    for tid, calls in per_tid.items():
        kinds = {k for by_kind in calls.values() for k in by_kind}
        role = thread_role(tid, pid, kinds)
        tid_roles[tid] = role
        r = roles.setdefault(role, {"threads": 0, "calls": {}})
        r["threads"] += 1
        for call, by_kind in calls.items():
            dst = r["calls"].setdefault(call, {})
            for k, n in by_kind.items():
                dst[k] = dst.get(k, 0) + n
    return roles, tid_roles


def thread_role(tid, pid, kinds):
    """A thread's role from the kinds of fd its calls act on."""
    if tid == pid:
        return "main thread"
    if "modbus" in kinds:
        return "bus threads"
    if "mqtt" in kinds:
        return "MQTT thread(s)"
    return "other threads"


def format_cpu_by_role(label, run):
    """Lines: the CPU window's CPU time and context switches per transaction by thread role."""
    per_role = {}
    for tid, (ns1, vol1, inv1) in run.th1.items():
        ns0, vol0, inv0 = run.th0.get(tid, (0, 0, 0))
        role = run.tid_roles.get(tid, "main thread" if tid == run.pid else "other threads")
        r = per_role.setdefault(role, [0, 0, 0, 0])
        r[0] += 1
        r[1] += ns1 - ns0
        r[2] += vol1 - vol0
        r[3] += inv1 - inv0
    total_ns = sum(r[1] for r in per_role.values())
    lines = ["   where %s's CPU goes (CPU window; schedstat run time of each thread, %.1f us per "
             "transaction in all):" % (label, per(total_ns / 1000.0, run.tx))]
    for role, (n, ns, vol, inv) in sorted(per_role.items(), key=lambda kv: -kv[1][1]):
        lines.append("     %-16s (%2d): %6.1f us per transaction, %.2f context switches per "
                     "transaction (%.2f voluntary)" % (role, n, per(ns / 1000.0, run.tx),
                                                       per(vol + inv, run.tx), per(vol, run.tx)))
    return lines


def format_roles(label, roles, transactions):
    """Lines: per thread role, its calls per transaction, largest first, with fd kinds."""
    lines = ["   where %s's calls come from (per transaction; [kind of fd acted on]):" % label]
    order = sorted(roles.items(), key=lambda kv: -sum(sum(k.values())
                                                      for k in kv[1]["calls"].values()))
    for role, r in order:
        total = sum(sum(k.values()) for k in r["calls"].values())
        parts = []
        for call, by_kind in sorted(r["calls"].items(), key=lambda kv: -sum(kv[1].values())):
            n = sum(by_kind.values())
            if per(n, transactions) < 0.005:
                continue
            kinds = [k for k in sorted(by_kind, key=lambda k: -by_kind[k]) if k != "-"]
            if len(kinds) == 1 and by_kind.get("-", 0) == 0:
                detail = " [%s]" % kinds[0]
            elif kinds:
                detail = " [%s]" % ", ".join("%s %.2f" % (k, per(by_kind[k], transactions))
                                            for k in kinds)
            else:
                detail = ""
            parts.append("%s %.2f%s" % (call, per(n, transactions), detail))
        lines.append("     %s (%d): %.2f = %s" % (role, r["threads"], per(total, transactions),
                                                   ", ".join(parts) or "-"))
    return lines


# --------------------------------------------------------------------------------------
# The simulator


class Simulator:
    """peer_sim on N ephemeral ports, its counters file read at the window's edges."""

    def __init__(self, ws, name, listeners, units, registers, image=None):
        """peer_sim with N listeners, K units each, R registers; `image`: --image lines."""
        self.counters_path = ws.file(name + ".counters")
        self.listeners = listeners
        argv = [str(harness.build_dir() / "tests" / "bench" / "peer_sim"),
                "--listeners", listeners, "--units", units, "--registers", registers,
                "--counters", self.counters_path]
        if image:
            argv += ["--image", ws.write(name + ".image", image)]
        self.proc = harness.Process(argv, ws, name)
        self.ports = []

    def start(self):
        """Starts peer_sim and reads the ports it listens on."""
        self.proc.start()
        self.proc.wait_for_log(r"peer_sim: ready", 15)
        self.ports = [int(p) for p in re.findall(r"peer_sim: listening \d+ 127\.0\.0\.1:(\d+)",
                                                 self.proc.stderr())]
        if len(self.ports) != self.listeners:
            raise AssertionError("peer_sim listed %d ports, not %d\n%s"
                                 % (len(self.ports), self.listeners, self.proc.tail()))
        return self

    def counts(self):
        """(transactions answered, of them exceptions) so far."""
        with open(self.counters_path, "rb") as f:
            total, exceptions = struct.unpack("<QQ", f.read(16))
        return total, exceptions

    def kill(self):
        """Stops the simulator (its whole process group)."""
        self.proc.kill()


def polling_image(meters):
    """peer_sim --image lines for bench_polling's map: the same words `kaa-gateway simulate`
    serves at its start for bench_polling.sim_config (values do not move here)."""
    lines = []
    for unit in range(1, meters + 1):
        for name, fn, addr, typ, order, _scale, value, _rise, _wander in bench_polling.REGISTERS:
            if isinstance(value, float):
                value = round(value * (1 + unit / 1000.0), 3)
            for k, word in enumerate(harness.words_of(value, typ, order)):
                lines.append("%d %s %d %d" % (unit, "h" if fn == "holding" else "i", addr + k,
                                              word))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Workloads


class Workload:
    """What one workload polls and how both programs are started on it."""

    def __init__(self, key, title, interval_s, meters, requests_per_reading, sim):
        """A workload of `meters` meters polled every `interval_s` through `sim`."""
        self.key = key
        self.title = title
        self.interval_s = interval_s
        self.meters = meters
        self.requests_per_reading = requests_per_reading
        self.sim = sim
        self.plan = ""
        self.daemon_config = None
        self.floor_argv = None


def token(i):
    """The token of meter i (1-based) in both programs."""
    return "meter-%03d" % i


def peer_gateway_config(ws, mqtt_port, ports, units, registers, interval_ms, tag):
    """The daemon's config for the peer workload: one bus per TCP port, `units` meters on it."""
    buses = [{"name": "peer-%02d" % (b + 1), "tcp": {"host": harness.HOST, "port": port},
              "timeout": "500ms", "retries": 1} for b, port in enumerate(ports)]
    regs = [{"name": "reg_%02d" % r, "address": r, "function": "holding", "type": "uint16"}
            for r in range(registers)]
    meters = []
    for b in range(len(ports)):
        for u in range(1, units + 1):
            i = b * units + u
            meters.append({"name": token(i), "token": token(i), "bus": "peer-%02d" % (b + 1),
                           "unit": u, "poll_interval": "%dms" % interval_ms, "registers": regs})
    config = harness.gateway_config(ws, mqtt_port, buses, meters, app_version=DAEMON_APP,
                                    client_id="kaa-gw-bench-" + tag, keepalive="60s",
                                    response_timeout="30s",
                                    reconnect={"min_delay": "1s", "max_delay": "30s"})
    return config


def check_peer_plan(config_path, meters, registers):
    """Runs kaa-gatewayd --check; fails unless every meter reads holding 0..R-1 in one request."""
    res = harness.run([harness.gatewayd(), "--check", "--config", config_path])
    if res.returncode != 0:
        raise SystemExit("bench: kaa-gatewayd --check failed (rc %d):\n%s%s"
                         % (res.returncode, res.stdout, res.stderr))
    expected = ["read holding 0..%d (%d registers)" % (registers - 1, registers)]
    plans, current = {}, None
    for line in res.stdout.splitlines():
        m = re.match(r"^  meter (\S+) ", line)
        if m:
            current = m.group(1)
            plans[current] = []
        elif current and line.startswith("    read "):
            plans[current].append(line.strip().split(":")[0])
    bad = [token(i) for i in range(1, meters + 1) if plans.get(token(i)) != expected]
    if bad:
        raise SystemExit("bench: the daemon's plan differs from peer_floor's %s for %s:\n%s"
                         % (expected, ", ".join(bad[:5]), res.stdout[:2000]))
    return "daemon plan per meter: %s" % "; ".join(expected)


def own_files(config, ws, tag):
    """Gives a daemon config its own buffer file and status socket (one per run)."""
    config["buffer"]["path"] = str(ws.file("buffer-%s.db" % tag))
    config["status"]["socket"] = str(ws.file("status-%s.sock" % tag))
    return config


# --------------------------------------------------------------------------------------
# Measuring


class Run:
    """One program on one workload: what was read at the window's edges and under strace."""

    def __init__(self, workload, label, app, is_daemon):
        """A run of `label` publishing as application version `app`."""
        self.workload = workload
        self.label = label
        self.app = app
        self.is_daemon = is_daemon
        self.error = None


def first_sample_ms(collector, app, skip):
    """The timestamp of the first sample of application version `app` after message `skip`."""
    for m in collector.messages()[skip:]:
        if m.topic.split("/")[1] == app:
            body = m.json()
            items = body if isinstance(body, list) else [body]
            return min(s.get("timestamp", 0) for s in items)
    return None


def wait_wall(t, proc, label):
    """Waits until the wall clock reads `t` (seconds), failing early if proc exited."""
    def reached():
        """True once the clock reads t; fails if the program exited."""
        if not proc.alive():
            raise AssertionError("%s exited early\n%s" % (label, proc.tail()))
        return time.time() >= t
    harness.wait_until(reached, max(0.0, t - time.time()) + 10, interval=0.01)


def daemon_requests(socket_path):
    """Modbus requests the daemon counted (status --json, meters[].transactions.requests)."""
    res = harness.run([harness.gateway_tool(), "status", "--json", "--socket", socket_path])
    if res.returncode != 0:
        return None
    try:
        doc = json.loads(res.stdout)
    except ValueError:
        return None
    return sum((m.get("transactions") or {}).get("requests", 0) for m in doc.get("meters", []))


def measure(run, proc, sim, collector, args, ws, breakdown=False):
    """Runs proc through warm-up, the CPU window and the strace window, then stops it."""
    wl = run.workload
    interval = wl.interval_s
    seen = len(collector.messages())
    sim_before = sim.counts()[0]
    proc.start()
    pid = proc.pid
    def first_sample():
        """The first sample's timestamp once there is one; fails if the program exited."""
        if not proc.alive():
            raise AssertionError("%s exited\n%s" % (run.label, proc.tail()))
        return first_sample_ms(collector, run.app, seen)

    first = harness.wait_until(first_sample, 30, interval=0.02,
                               message=lambda: "the first sample of %s\n%s"
                               % (run.label, proc.tail()))
    rounds_warm = math.ceil(args.warmup / interval)
    window_rounds = max(1, round(args.seconds / interval))
    start = first / 1000.0 + (rounds_warm + 0.5) * interval
    end = start + window_rounds * interval

    wait_wall(start, proc, run.label)
    run.pid = pid
    run.cpu0, run.tx0, run.t0, run.th0 = cpu_ticks(pid), sim.counts(), time.time(), \
        thread_stats(pid)
    run.machine0 = machine_ticks()
    wait_wall(end, proc, run.label)
    run.cpu1, run.tx1, run.t1, run.th1 = cpu_ticks(pid), sim.counts(), time.time(), \
        thread_stats(pid)
    run.machine1 = machine_ticks()
    run.hwm_kib = status_kib(pid, "VmHWM")
    run.rss_kib = status_kib(pid, "VmRSS")
    run.threads = len(threads_of(pid))
    run.breakdown = memory_breakdown(pid) if breakdown else None
    run.buffer_paths = []
    if run.is_daemon:
        db = wl.daemon_config["buffer"]["path"]
        run.buffer_paths = [(p, os.path.getsize(p)) for p in (db, db + "-wal", db + "-shm")
                            if os.path.exists(p)]  # sizes now: the daemon removes -wal at exit
        run.own_count = daemon_requests(wl.daemon_config["status"]["socket"])
        run.sim_total_at_status = sim.counts()[0] - sim_before
    run.window_ms = (int(run.t0 * 1000), int(run.t1 * 1000))

    run.calls = {}
    run.roles = {}
    run.tid_roles = {}
    run.strace_tx = 0
    run.strace_s = 0.0
    if args.strace_seconds > 0:
        out = ws.file("strace-%s-%s.txt" % (wl.key, run.app))
        # -C: the -c table at the end and the calls themselves (-yy: what each fd is), so that
        # they can be told apart by thread; -s 0: no buffer contents.
        st = harness.Process([STRACE, "-f", "-C", "-yy", "-s", "0", "-o", out, "-p", pid], ws,
                             "strace-%s-%s" % (wl.key, run.app))
        st.start()
        st.wait_for_log(r"attached with \d+ threads|Process %d attached" % pid, 15)
        tx_a, t_a = sim.counts()[0], time.monotonic()
        t_stop = time.time() + args.strace_seconds
        harness.wait_until(lambda: time.time() >= t_stop, args.strace_seconds + 5, interval=0.05)
        tx_b, t_b = sim.counts()[0], time.monotonic()
        st.signal(signal.SIGINT)
        st.popen.wait(30)
        run.strace_tx = tx_b - tx_a
        run.strace_s = t_b - t_a
        text = Path(out).read_text(errors="replace")
        run.calls = parse_strace_summary(text)
        run.roles, run.tid_roles = parse_strace_log(text, pid, set(sim.ports),
                                                    run.broker_port)
        m = re.search(r"attached with (\d+) threads", st.stderr())
        run.strace_threads = int(m.group(1)) if m else 1
    run.perf = []
    if args.perf_seconds > 0:
        run.perf = perf_profile(pid, ws, "%s-%s" % (wl.key, run.app), args.perf_seconds)
    run.exit_code = proc.terminate(timeout=15)


PERF_LINE = re.compile(r"^\s+(\d+\.\d+)%\s+(\S+)\s+\[([.k])\]\s+(.*)$")


def perf_profile(pid, ws, tag, seconds):
    """[(percent, dso, kernel?, symbol)] of `perf record -F 1999 -p pid` for `seconds`,
    self time, largest first."""
    data = ws.file("perf-%s.data" % tag)
    rec = harness.Process([PERF, "record", "-q", "-F", "1999", "-p", pid, "-o", data, "--",
                           "sleep", seconds], ws, "perf-" + tag)
    rec.start()
    rec.popen.wait(seconds + 60)
    res = harness.run([PERF, "report", "-i", data, "--stdio", "--no-children", "--sort",
                       "dso,sym", "--percent-limit", "0"], timeout=120)
    rows = []
    for line in res.stdout.splitlines():
        m = PERF_LINE.match(line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(3) == "k", m.group(4).strip()))
    return sorted(rows, key=lambda r: -r[0])


def format_perf(label, rows, cpu_us_tx, top=22):
    """Lines: the profile's kernel/user split and its top symbols, in us per transaction at
    the CPU window's rate."""
    if not rows:
        return []
    kernel = sum(r[0] for r in rows if r[2])
    by_dso = {}
    for pct, dso, _k, _sym in rows:
        by_dso[dso] = by_dso.get(dso, 0.0) + pct
    lines = ["   perf profile of %s (cpu-clock, self time; us per transaction at the CPU "
             "window's %.1f us): kernel %.0f%%, user %.0f%%" % (label, cpu_us_tx, kernel,
                                                               100 - kernel),
             "     by object: " + ", ".join("%s %.0f%%" % (d, p) for d, p in
                                           sorted(by_dso.items(), key=lambda kv: -kv[1])[:8])]
    for pct, dso, k, sym in rows[:top]:
        lines.append("     %5.1f%% %6.1f us  %-22s %s %s" % (pct, pct / 100.0 * cpu_us_tx,
                                                          dso[:22], "[k]" if k else "[.]",
                                                          sym[:70]))
    return lines


def tally(collector, run):
    """Readings of a run: samples of its app timestamped inside its CPU window; payload size."""
    lo, hi = run.window_ms
    readings, keys, sizes = 0, None, []
    for m in collector.messages():
        if m.topic.split("/")[1] != run.app:
            continue
        body = m.json()
        items = body if isinstance(body, list) else [body]
        inside = [s for s in items if lo <= s.get("timestamp", 0) < hi]
        readings += len(inside)
        if inside and len(items) == 1:
            sizes.append(len(m.payload))
            if keys is None:
                keys = list(items[0].keys())
    run.readings = readings
    run.keys = keys
    run.mean_payload = sum(sizes) / len(sizes) if sizes else 0.0


# --------------------------------------------------------------------------------------
# Report


def per(n, d):
    """n / d, or nan when d is 0."""
    return n / d if d else float("nan")


def verdict(ok):
    """PASS, FAIL, or n/a for a figure that could not be measured (nan)."""
    return "n/a" if ok is None else "PASS" if ok else "FAIL"


def report(workloads, runs, args, env_lines):
    """Prints every workload's table, the system-call table and the targets; returns the
    number of targets missed."""
    lines = ["kaa-gateway peer-workload benchmark (issue 16)"] + env_lines + [""]
    results = {}
    for wl in workloads:
        d, f = runs[(wl.key, "daemon")], runs[(wl.key, "floor")]
        for r in (d, f):
            r.tx = r.tx1[0] - r.tx0[0]
            r.exc = r.tx1[1] - r.tx0[1]
            r.ticks = r.cpu1 - r.cpu0
            r.elapsed = r.t1 - r.t0
            r.cpu_us_tx = per(r.ticks * 1e6 / CLK_TCK, r.tx)
            busy, idle, steal = (b - a for a, b in zip(r.machine0, r.machine1))
            every = busy + idle + steal
            r.others_pct = per(100.0 * (busy - r.ticks), every)
            r.steal_pct = per(100.0 * steal, every)
            r.cpu_us_reading = per(r.ticks * 1e6 / CLK_TCK, r.readings)
            r.total_calls = r.calls.get("total", sum(v for k, v in r.calls.items()
                                                     if k != "total"))
            r.calls_tx = per(r.total_calls, r.strace_tx)
        ratio_tx = per(d.cpu_us_tx, f.cpu_us_tx)
        ratio_reading = per(d.cpu_us_reading, f.cpu_us_reading)
        results[wl.key] = (d, f, ratio_reading)
        expected = wl.meters * round(args.seconds / wl.interval_s)
        lines += ["== %s: %s" % (wl.key, wl.title), "   %s" % wl.plan,
                  "   CPU window %d poll intervals (%.1f s), after the first sample + %.1f s; "
                  "about %d readings and %d transactions expected per program"
                  % (round(args.seconds / wl.interval_s), round(args.seconds / wl.interval_s)
                     * wl.interval_s, args.warmup, expected, expected * wl.requests_per_reading),
                  ""]
        rows = [
            ("transactions in the window (simulator)", "%d" % d.tx, "%d" % f.tx),
            ("  of them exceptions", "%d" % d.exc, "%d" % f.exc),
            ("transactions/s", "%.1f" % per(d.tx, d.elapsed), "%.1f" % per(f.tx, f.elapsed)),
            ("readings published from the window", "%d" % d.readings, "%d" % f.readings),
            ("CPU ticks in the window (utime+stime)", "%d" % d.ticks, "%d" % f.ticks),
            ("CPU us per transaction", "%.1f" % d.cpu_us_tx, "%.1f" % f.cpu_us_tx),
            ("CPU us per reading", "%.1f" % d.cpu_us_reading, "%.1f" % f.cpu_us_reading),
            ("CPU % of one core", "%.2f" % per(100.0 * d.ticks / CLK_TCK, d.elapsed),
             "%.2f" % per(100.0 * f.ticks / CLK_TCK, f.elapsed)),
            ("machine: others' CPU %% of all %d CPUs" % os.cpu_count(),
             "%.1f" % d.others_pct, "%.1f" % f.others_pct),
            ("machine: steal %", "%.1f" % d.steal_pct, "%.1f" % f.steal_pct),
            ("peak RSS MiB (VmHWM)", "%.2f" % (d.hwm_kib / 1024.0), "%.2f" % (f.hwm_kib / 1024.0)),
            ("RSS MiB at the end (VmRSS)", "%.2f" % (d.rss_kib / 1024.0),
             "%.2f" % (f.rss_kib / 1024.0)),
            ("threads", "%d" % d.threads, "%d" % f.threads),
            ("system calls per transaction (strace)", "%.2f" % d.calls_tx, "%.2f" % f.calls_tx),
            ("  transactions while traced (%.0f s)" % args.strace_seconds,
             "%d (%.1f/s)" % (d.strace_tx, per(d.strace_tx, d.strace_s)),
             "%d (%.1f/s)" % (f.strace_tx, per(f.strace_tx, f.strace_s))),
            ("mean one-sample payload bytes", "%.1f" % d.mean_payload, "%.1f" % f.mean_payload),
            ("exit code after SIGTERM", str(d.exit_code), str(f.exit_code)),
        ]
        floor_name = "peer_floor" if wl.key == "peer" else "polling_floor"
        w0 = max(len(r[0]) for r in rows) + 2
        lines.append("   %-*s%18s%18s" % (w0, "", "kaa-gatewayd", floor_name))
        lines += ["   %-*s%18s%18s" % (w0, r[0], r[1], r[2]) for r in rows]
        lines.append("   daemon/floor CPU per transaction %.2fx, per reading %.2fx"
                     % (ratio_tx, ratio_reading))
        if d.own_count is not None:
            lines.append("   cross-check: the daemon counted %d requests (status --json, up to "
                         "1 s stale), the simulator %d from its start" % (d.own_count,
                                                                          d.sim_total_at_status))
        lines.append("   sample keys identical: %s (%d keys)"
                     % ("yes" if d.keys == f.keys and d.keys else "NO", len(d.keys or [])))
        if d.tx < 0.95 * expected * wl.requests_per_reading or \
                f.tx < 0.95 * expected * wl.requests_per_reading:
            lines.append("   WARNING: fewer transactions than expected (see the logs, --keep)")
        # The system calls per transaction, by call.
        names = sorted((k for k in set(d.calls) | set(f.calls) if k != "total"),
                       key=lambda k: -per(d.calls.get(k, 0), d.strace_tx))
        shown = names[:TOP_CALLS] + [k for k in NAMED_CALLS if k in names[TOP_CALLS:]]
        lines += ["", "   system calls per transaction, by call (strace -f -C, %.0f s attached; "
                  "threads traced: daemon %d, floor %d)"
                  % (args.strace_seconds, getattr(d, "strace_threads", 0),
                     getattr(f, "strace_threads", 0)),
                  "   %-20s%14s%14s" % ("call", "kaa-gatewayd", floor_name)]
        for k in shown:
            lines.append("   %-20s%14.2f%14.2f" % (k, per(d.calls.get(k, 0), d.strace_tx),
                                                   per(f.calls.get(k, 0), f.strace_tx)))
        rest_d = sum(v for k, v in d.calls.items() if k not in shown and k != "total")
        rest_f = sum(v for k, v in f.calls.items() if k not in shown and k != "total")
        lines.append("   %-20s%14.2f%14.2f" % ("(all others)", per(rest_d, d.strace_tx),
                                               per(rest_f, f.strace_tx)))
        lines.append("   %-20s%14.2f%14.2f" % ("total", d.calls_tx, f.calls_tx))
        for r in (d, f):
            if r.roles:
                lines += format_roles(r.label, r.roles, r.strace_tx)
        for r in (d, f):
            lines += format_cpu_by_role(r.label, r)
        for r in (d, f):
            lines += format_perf(r.label, r.perf, r.cpu_us_tx)
        for r in (d, f):
            if r.breakdown:
                lines.append("")
                lines += ["   " + x for x in format_breakdown(
                    "%s on %s, at the end of the CPU window" % (r.label, wl.key),
                    r.breakdown, r.buffer_paths)]
        lines.append("")

    missed = 0
    checks = []
    if "peer" in results:
        d, f, _ = results["peer"]
        checks += [
            ("peer: daemon CPU per transaction <= %.0f us" % TARGET_PEER_CPU_US,
             "%.1f us" % d.cpu_us_tx,
             None if d.cpu_us_tx != d.cpu_us_tx else d.cpu_us_tx <= TARGET_PEER_CPU_US),
            ("peer: daemon system calls per transaction <= %.0f" % TARGET_PEER_SYSCALLS,
             "%.2f" % d.calls_tx,
             None if d.calls_tx != d.calls_tx else d.calls_tx <= TARGET_PEER_SYSCALLS),
            ("peer: daemon peak RSS <= %.0f MiB" % TARGET_PEER_RSS_MIB,
             "%.2f MiB" % (d.hwm_kib / 1024.0), d.hwm_kib / 1024.0 <= TARGET_PEER_RSS_MIB),
        ]
    if "100x20" in results:
        d, f, ratio = results["100x20"]
        checks.append(("100x20: daemon CPU per reading <= %.1fx floor's" % TARGET_100X20_RATIO,
                       "%.2fx" % ratio, None if ratio != ratio else ratio <= TARGET_100X20_RATIO))
    lines.append("targets (issue 16, done when 1.):")
    for what, value, ok in checks:
        lines.append("  %-52s %12s   %s" % (what, value, verdict(ok)))
        missed += ok is False
    print("\n".join(lines), flush=True)
    return missed


def machine_lines(build_dir):
    """The build's type, the load average and the CPU count, for the report's header."""
    build_type = "?"
    try:
        m = re.search(r"^CMAKE_BUILD_TYPE:STRING=(.*)$",
                      (build_dir / "CMakeCache.txt").read_text(), re.MULTILINE)
        build_type = m.group(1) if m else "?"
    except FileNotFoundError:
        pass
    return ["  build %s (%s), %d CPUs, load average %s, %s" % (
        build_dir, build_type or "no CMAKE_BUILD_TYPE", os.cpu_count(),
        " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        time.strftime("%Y-%m-%d %H:%M:%S"))]


# --------------------------------------------------------------------------------------


def main():
    """Sets up the broker, the stand-in and the simulators, runs every measurement, reports."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=str(REPO / "build"))
    parser.add_argument("--seconds", type=float, default=20.0, help="CPU window per run")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds after the first sample before the CPU window")
    parser.add_argument("--strace-seconds", type=float, default=10.0,
                        help="strace attached after the CPU window (0: no strace)")
    parser.add_argument("--perf-seconds", type=float, default=0.0,
                        help="also profile each program with perf record for this long, after "
                        "strace (0: no profile)")
    parser.add_argument("--workloads", default="peer,100x20")
    parser.add_argument("--peer-buses", type=int, default=20)
    parser.add_argument("--peer-units", type=int, default=1, help="units per peer bus")
    parser.add_argument("--peer-registers", type=int, default=10)
    parser.add_argument("--peer-interval-ms", type=int, default=100)
    parser.add_argument("--live-window", default="0s",
                        help="the daemon's kaa.live_window (0s: each poll's readings at once)")
    parser.add_argument("--strict", action="store_true", help="exit 3 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the workspace (configs, logs)")
    args = parser.parse_args()
    chosen = [w for w in args.workloads.split(",") if w]
    if not chosen or any(w not in ("peer", "100x20") for w in chosen):
        parser.error("--workloads: peer and/or 100x20")
    if args.peer_buses * args.peer_units > 999 or args.peer_units > 247:
        parser.error("at most 999 peer meters and 247 units per bus")
    if args.seconds < 1:
        parser.error("--seconds must be at least 1")
    if args.strace_seconds > 0 and not os.access(STRACE, os.X_OK):
        raise SystemExit("bench: %s not found (apt-get install strace; or --strace-seconds 0)"
                         % STRACE)

    if args.perf_seconds > 0 and not os.access(PERF, os.X_OK):
        raise SystemExit("bench: %s not found (--perf-seconds needs perf)" % PERF)

    build = Path(args.build_dir).resolve()
    os.environ["KAA_BUILD_DIR"] = str(build)
    bench_bin = build / "tests" / "bench"
    for name in ("peer_sim", "peer_floor", "polling_floor"):
        if not os.access(bench_bin / name, os.X_OK):
            raise SystemExit("bench: %s not found: cmake --build %s --target %s"
                             % (bench_bin / name, build, name))
    harness.gatewayd()
    harness.gateway_tool()
    if args.keep:
        os.environ["KAA_IT_KEEP"] = "1"
    env_lines = machine_lines(build)
    env_lines.append("daemon: kaa.live_window %s" % args.live_window)

    ws = harness.Workspace(prefix="kaa-bench-peer-")
    cleanups = []
    try:
        broker = harness.Mosquitto(ws)
        cleanups.append(broker.cleanup)
        broker.start()
        kpc = harness.Process([harness.PYTHON, str(harness.SUPPORT / "kpc_standin.py"),
                               "--port", broker.port], ws, "kpc")
        cleanups.append(kpc.kill)
        kpc.start()
        kpc.wait_for_log(r"kpc-standin: listening", 15)
        collector = harness.MqttCollector(broker.port, topic="kp1/+/dcx/+/json/+")
        cleanups.append(collector.stop)
        collector.start()

        workloads = []
        if "peer" in chosen:
            meters = args.peer_buses * args.peer_units
            sim = Simulator(ws, "sim-peer", args.peer_buses, args.peer_units,
                            args.peer_registers)
            cleanups.append(sim.kill)
            sim.start()
            wl = Workload("peer", "%d Modbus TCP buses (one connection each) x %d unit(s) x %d "
                          "holding registers every %d ms"
                          % (args.peer_buses, args.peer_units, args.peer_registers,
                             args.peer_interval_ms),
                          args.peer_interval_ms / 1000.0, meters, 1, sim)
            wl.daemon_config = own_files(peer_gateway_config(
                ws, broker.port, sim.ports, args.peer_units, args.peer_registers,
                args.peer_interval_ms, "peer"), ws, "peer")
            wl.daemon_config["kaa"]["live_window"] = args.live_window
            path = ws.write_yaml("gatewayd-peer.yaml", wl.daemon_config)
            wl.plan = check_peer_plan(path, meters, args.peer_registers)
            wl.daemon_argv = [harness.gatewayd(), "--config", path]
            wl.floor_argv = [bench_bin / "peer_floor", "--modbus-ports",
                             ",".join(str(p) for p in sim.ports), "--mqtt-port", broker.port,
                             "--units", args.peer_units, "--registers", args.peer_registers,
                             "--interval-ms", args.peer_interval_ms, "--app", FLOOR_APP,
                             "--subscribe-status"]
            workloads.append(wl)
        if "100x20" in chosen:
            meters = 100
            sim = Simulator(ws, "sim-100x20", 1, meters, 24, image=polling_image(meters))
            cleanups.append(sim.kill)
            sim.start()
            wl = Workload("100x20", "100 units behind one Modbus TCP server x 20 registers "
                          "(2 requests) every 1 s", bench_polling.POLL_INTERVAL_S, meters, 2, sim)
            wl.daemon_config = own_files(bench_polling.gateway_config(
                ws, broker.port, sim.ports[0], meters), ws, "100x20")
            wl.daemon_config["kaa"]["live_window"] = args.live_window
            path = ws.write_yaml("gatewayd-100x20.yaml", wl.daemon_config)
            wl.plan = bench_polling.check_plan(path, meters)
            wl.daemon_argv = [harness.gatewayd(), "--config", path]
            wl.floor_argv = [bench_bin / "polling_floor", "--modbus-port", sim.ports[0],
                             "--mqtt-port", broker.port, "--meters", meters, "--seconds", 0,
                             "--app", FLOOR_APP, "--subscribe-status"]
            workloads.append(wl)

        runs = {}
        for wl in workloads:
            for who in ("daemon", "floor"):
                is_daemon = who == "daemon"
                label = "kaa-gatewayd" if is_daemon else os.path.basename(str(wl.floor_argv[0]))
                print("bench: %s on %s ..." % (label, wl.key), file=sys.stderr, flush=True)
                run = Run(wl, label, DAEMON_APP if is_daemon else FLOOR_APP, is_daemon)
                run.broker_port = broker.port
                proc = harness.Process(wl.daemon_argv if is_daemon else wl.floor_argv, ws,
                                       "%s-%s" % (who, wl.key))
                cleanups.append(proc.kill)
                measure(run, proc, wl.sim, collector, args, ws, breakdown=True)
                if not is_daemon:
                    run.own_count = None
                runs[(wl.key, who)] = run
        bench_polling.wait_quiet(collector)
        for run in runs.values():
            tally(collector, run)
        missed = report(workloads, runs, args, env_lines)
        if args.keep:
            print("bench: workspace kept in %s" % ws.path, file=sys.stderr)
        return 3 if args.strict and missed else 0
    except (AssertionError, TimeoutError) as e:
        print("bench: set-up or run failed: %s" % e, file=sys.stderr)
        return 1
    finally:
        harness.run_cleanups(cleanups)
        ws.cleanup()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
