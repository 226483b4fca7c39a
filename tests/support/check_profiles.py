#!/usr/bin/python3
"""Checks the meter profiles in config/profiles/ (or the files/directories given).

Errors (exit status 1): a file that does not parse; id != file name; a missing or unknown key;
a register without name/address/function/type; a bad function, type or byte order; a string
without length; a name used twice in one profile; an address outside 0..65535 or a register
running past 65535; two registers of one profile (same function) that overlap; max_registers
outside 1..125 or max_gap outside 0..125; a single register larger than max_registers; a fingerprint check without address, function
and type, or without exactly one test (one_of, min/max, readable: true).
Warnings: a register name that is not in the shared naming list (config/profiles/README.md).

Only the standard library and PyYAML (python3-yaml) are used.
"""

import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover - reported, not hidden
    sys.stderr.write("check_profiles: PyYAML is missing (apt-get install python3-yaml)\n")
    sys.exit(2)

PROFILE_KEYS = {"id", "maker", "model", "kind", "reads", "interface", "serial"}
PROFILE_REQUIRED = {"id", "maker", "model", "kind", "reads", "interface"}
SERIAL_KEYS = {"baud", "parity", "data_bits", "stop_bits"}
TOP_KEYS = {"profile", "max_gap", "max_registers", "metadata_registers", "registers",
            "fingerprint"}
FINGERPRINT_KEYS = {"name", "address", "function", "type", "byte_order", "length", "one_of", "min",
                    "max", "readable"}
FINGERPRINT_REQUIRED = ("address", "function", "type")
MAX_FINGERPRINT_CHECKS = 8
REGISTER_KEYS = {"name", "address", "function", "type", "byte_order", "length", "scale", "offset"}
REGISTER_REQUIRED = ("name", "address", "function", "type")
FUNCTIONS = {"holding", "input", "coil", "discrete"}
KINDS = {"electricity", "heat", "water", "gas"}
INTERFACES = {"rtu", "tcp", "both"}
PARITIES = {"none", "even", "odd"}
BYTE_ORDERS = {"ABCD", "CDAB", "BADC", "DCBA"}
WIDTH = {"bool": 1, "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2,
         "int64": 4, "uint64": 4, "float64": 4, "string": None}
NUMERIC = {"int16", "uint16", "int32", "uint32", "float32", "int64", "uint64", "float64"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# The shared naming list (see config/profiles/README.md): one Kaa dashboard for every meter.
NAMES = {
    # electricity, three-phase
    "voltage_l1_v", "voltage_l2_v", "voltage_l3_v",
    "voltage_l1_l2_v", "voltage_l2_l3_v", "voltage_l3_l1_v",
    "current_l1_a", "current_l2_a", "current_l3_a", "current_n_a",
    "power_l1_w", "power_l2_w", "power_l3_w", "power_w",
    "reactive_power_var", "apparent_power_va",
    "power_factor", "power_factor_l1", "power_factor_l2", "power_factor_l3",
    "frequency_hz",
    "energy_import_kwh", "energy_export_kwh",
    "energy_import_l1_kwh", "energy_import_l2_kwh", "energy_import_l3_kwh",
    "energy_export_l1_kwh", "energy_export_l2_kwh", "energy_export_l3_kwh",
    "reactive_energy_import_kvarh", "reactive_energy_export_kvarh",
    # electricity, single-phase
    "voltage_v", "current_a",
    # heat
    "energy_heat_kwh", "volume_m3", "flow_m3h", "temperature_flow_c", "temperature_return_c",
    "temperature_difference_k",
}
# metadata registers are EPMP keys: letters, digits and '_' (see config/meter_sections.cpp)
METADATA_RE = re.compile(r"^[A-Za-z0-9_]+$")


class Report:
    def __init__(self):
        self.errors = 0
        self.warnings = 0

    def error(self, where, text):
        self.errors += 1
        print(f"ERROR   {where}: {text}")

    def warn(self, where, text):
        self.warnings += 1
        print(f"warning {where}: {text}")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v):
    return (isinstance(v, (int, float))) and not isinstance(v, bool)


def register_width(reg):
    t = reg.get("type")
    if t == "string":
        n = reg.get("length")
        return n if is_int(n) and n > 0 else None
    return WIDTH.get(t)


def check_register(rep, where, reg, metadata):
    if not isinstance(reg, dict):
        rep.error(where, "a register must be a mapping")
        return None
    for key in sorted(set(reg) - REGISTER_KEYS):
        rep.error(where, f"unknown key '{key}' (allowed: {', '.join(sorted(REGISTER_KEYS))})")
    for key in REGISTER_REQUIRED:
        if key not in reg:
            rep.error(where, f"missing '{key}'")
    name = reg.get("name")
    if name is not None and not isinstance(name, str):
        rep.error(where, "name must be a string")
    addr = reg.get("address")
    if addr is not None and (not is_int(addr) or not 0 <= addr <= 65535):
        rep.error(where, f"address {addr!r} is not an integer in 0..65535")
    func = reg.get("function")
    if func is not None and func not in FUNCTIONS:
        rep.error(where, f"function '{func}' is not one of {sorted(FUNCTIONS)}")
    typ = reg.get("type")
    if typ is not None and typ not in WIDTH:
        rep.error(where, f"type '{typ}' is not one of {sorted(WIDTH)}")
    if func in ("coil", "discrete") and typ not in (None, "bool"):
        rep.error(where, f"a {func} holds a bool, not {typ}")
    if "byte_order" in reg and reg["byte_order"] not in BYTE_ORDERS:
        rep.error(where, f"byte_order '{reg['byte_order']}' is not one of {sorted(BYTE_ORDERS)}")
    if typ == "string":
        n = reg.get("length")
        if not is_int(n) or not 1 <= n <= 125:
            rep.error(where, "a string needs 'length' (registers, 1..125)")
    elif "length" in reg:
        rep.error(where, "'length' is only for type string")
    for key in ("scale", "offset"):
        if key in reg:
            if typ not in NUMERIC:
                rep.error(where, f"'{key}' is not allowed with type {typ}")
            elif not is_number(reg[key]):
                rep.error(where, f"'{key}' must be a number")
    if "scale" in reg and reg["scale"] == 0:
        rep.error(where, "scale must not be 0")
    if isinstance(name, str):
        if metadata:
            if not METADATA_RE.match(name):
                rep.error(where, f"metadata name '{name}' may contain only letters, digits, '_'")
        elif name not in NAMES:
            rep.warn(where, f"name '{name}' is not in the shared naming list")
    width = register_width(reg)
    if width is not None and is_int(addr) and addr + width - 1 > 65535:
        rep.error(where, f"{typ} at {addr} runs past register 65535")
    return width


def check_fingerprint(rep, where, items):
    """The optional fingerprint: list: each check a register and exactly one test."""
    if not isinstance(items, list):
        rep.error(where, "fingerprint must be a list")
        return
    if len(items) > MAX_FINGERPRINT_CHECKS:
        rep.error(where, f"fingerprint has {len(items)} checks, at most {MAX_FINGERPRINT_CHECKS}")
    for i, check in enumerate(items):
        at = f"{where}: fingerprint[{i}]"
        if not isinstance(check, dict):
            rep.error(at, "a check must be a mapping")
            continue
        for key in sorted(set(check) - FINGERPRINT_KEYS):
            rep.error(at, f"unknown key '{key}' (allowed: {', '.join(sorted(FINGERPRINT_KEYS))})")
        for key in FINGERPRINT_REQUIRED:
            if key not in check:
                rep.error(at, f"missing '{key}'")
        register = {k: v for k, v in check.items() if k in REGISTER_KEYS}
        register.setdefault("name", f"fingerprint_{i}")
        check_register(rep, at, register, metadata=True)
        tests = [t for t in ("one_of", "range", "readable")
                 if (t == "range" and ("min" in check or "max" in check)) or t in check]
        if len(tests) != 1:
            rep.error(at, "needs exactly one test: one_of, min/max or readable: true")
            continue
        typ = check.get("type")
        if tests[0] == "readable" and check["readable"] is not True:
            rep.error(at, "readable must be true")
        elif tests[0] == "range":
            if typ not in NUMERIC:
                rep.error(at, f"min/max need a numeric type, not {typ}")
            for key in ("min", "max"):
                if key in check and not is_number(check[key]):
                    rep.error(at, f"'{key}' must be a number")
        elif tests[0] == "one_of":
            values = check["one_of"]
            if not isinstance(values, list) or not 1 <= len(values) <= 64:
                rep.error(at, "one_of must list 1 to 64 values")
                continue
            for v in values:
                if typ == "string" and not isinstance(v, str):
                    rep.error(at, f"one_of value {v!r} is not text (type string)")
                elif typ in NUMERIC and not is_number(v):
                    rep.error(at, f"one_of value {v!r} is not a number (type {typ})")
                elif typ == "bool" and not isinstance(v, bool):
                    rep.error(at, f"one_of value {v!r} is not true or false (type bool)")


def check_overlaps(rep, path, regs):
    """regs: (label, function, address, width). Same function = same address space."""
    by_func = {}
    for label, func, addr, width in regs:
        by_func.setdefault(func, []).append((addr, addr + width - 1, label))
    for func, spans in by_func.items():
        spans.sort()
        for (a0, a1, l0), (b0, b1, l1) in zip(spans, spans[1:]):
            if b0 <= a1:
                rep.error(path, f"{l1} ({func} {b0}..{b1}) overlaps {l0} ({func} {a0}..{a1})")


def check_profile(rep, path):
    where = path
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        rep.error(where, f"does not load: {e}")
        return 0
    if not isinstance(doc, dict):
        rep.error(where, "top level must be a mapping")
        return 0
    for key in sorted(set(doc) - TOP_KEYS):
        rep.error(where, f"unknown top-level key '{key}' (allowed: {', '.join(sorted(TOP_KEYS))})")
    prof = doc.get("profile")
    file_id = os.path.splitext(os.path.basename(path))[0]
    if not isinstance(prof, dict):
        rep.error(where, "missing 'profile:' mapping")
        prof = {}
    for key in sorted(PROFILE_REQUIRED - set(prof)):
        rep.error(where, f"profile: missing '{key}'")
    for key in sorted(set(prof) - PROFILE_KEYS):
        rep.error(where, f"profile: unknown key '{key}'")
    pid = prof.get("id")
    if pid is not None:
        if not isinstance(pid, str) or not ID_RE.match(pid):
            rep.error(where, f"profile id {pid!r} must be lower-case [a-z0-9-]")
        if pid != file_id:
            rep.error(where, f"profile id '{pid}' is not the file name '{file_id}'")
    if "kind" in prof and prof["kind"] not in KINDS:
        rep.error(where, f"kind '{prof['kind']}' is not one of {sorted(KINDS)}")
    iface = prof.get("interface")
    if iface is not None and iface not in INTERFACES:
        rep.error(where, f"interface '{iface}' is not one of {sorted(INTERFACES)}")
    serial = prof.get("serial")
    if serial is not None:
        if iface == "tcp":
            rep.error(where, "serial: given for a tcp-only meter")
        if not isinstance(serial, dict):
            rep.error(where, "serial must be a mapping")
        else:
            for key in sorted(set(serial) - SERIAL_KEYS):
                rep.error(where, f"serial: unknown key '{key}'")
            for key in sorted(SERIAL_KEYS - set(serial)):
                rep.error(where, f"serial: missing '{key}'")
            if "baud" in serial and (not is_int(serial["baud"]) or serial["baud"] <= 0):
                rep.error(where, "serial: baud must be a positive integer")
            if "parity" in serial and serial["parity"] not in PARITIES:
                rep.error(where, f"serial: parity must be one of {sorted(PARITIES)}")
            if "data_bits" in serial and serial["data_bits"] not in (7, 8):
                rep.error(where, "serial: data_bits must be 7 or 8")
            if "stop_bits" in serial and serial["stop_bits"] not in (1, 2):
                rep.error(where, "serial: stop_bits must be 1 or 2")
    elif iface == "rtu":
        rep.error(where, "serial: missing for an rtu meter (its factory default)")
    max_regs = doc.get("max_registers")
    if max_regs is not None and (not is_int(max_regs) or not 1 <= max_regs <= 125):
        rep.error(where, f"max_registers {max_regs!r} is not in 1..125")
    max_gap = doc.get("max_gap")
    if max_gap is not None and (not is_int(max_gap) or not 0 <= max_gap <= 125):
        rep.error(where, f"max_gap {max_gap!r} is not in 0..125")

    names = {}
    spans = []
    count = 0
    for section, metadata in (("metadata_registers", True), ("registers", False)):
        items = doc.get(section)
        if items is None:
            if section == "registers":
                rep.error(where, "missing 'registers:'")
            continue
        if not isinstance(items, list):
            rep.error(where, f"{section} must be a list")
            continue
        if section == "registers" and not items:
            rep.error(where, "registers: is empty")
        for i, reg in enumerate(items):
            label = f"{section}[{i}]"
            if isinstance(reg, dict) and isinstance(reg.get("name"), str):
                label = f"{section} '{reg['name']}'"
            width = check_register(rep, f"{where}: {label}", reg, metadata)
            if not isinstance(reg, dict):
                continue
            count += 1
            name = reg.get("name")
            if isinstance(name, str):
                if name in names:
                    rep.error(where, f"name '{name}' is used twice ({names[name]} and {label})")
                else:
                    names[name] = label
            if width is not None and is_int(reg.get("address")) and reg.get("function") in FUNCTIONS:
                spans.append((label, reg["function"], reg["address"], width))
                if is_int(max_regs) and width > max_regs:
                    rep.error(where, f"{label} takes {width} registers, more than max_registers")
    check_overlaps(rep, where, spans)
    if "fingerprint" in doc:
        check_fingerprint(rep, where, doc["fingerprint"])
    return count


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    default_dir = os.path.normpath(os.path.join(here, "..", "..", "config", "profiles"))
    targets = argv[1:] or [default_dir]
    files = []
    for t in targets:
        if os.path.isdir(t):
            files += sorted(os.path.join(t, f) for f in os.listdir(t) if f.endswith(".yaml"))
        else:
            files.append(t)
    rep = Report()
    if not files:
        rep.error(" ".join(targets), "no profiles found")
    total = 0
    for path in files:
        n = check_profile(rep, path)
        total += n
        print(f"checked {path}: {n} registers")
    print(f"{len(files)} profiles, {total} registers, {rep.errors} errors, {rep.warnings} warnings")
    return 1 if rep.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
