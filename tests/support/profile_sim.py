#!/usr/bin/python3
"""A simulated meter for a meter profile (config/profiles/<id>.yaml), and what the gateway must
publish for it.

For every register and metadata register of a profile, plan_meter() chooses a distinct raw
value that shows a mistake: integers and floats whose bytes are all different and non-zero (so
each of the four byte orders decodes to something else), signed values below zero, unsigned
values above the signed range, strings that fill their whole length with no two neighbouring
characters alike. From the plan come

  * sim_unit(): one unit of the simulator's configuration (`kaa-gateway simulate`) serving each
    register at the profile's address, function, type, byte order and string length;
  * words(): the register words that unit must hold, encoded here (modbus_values.words_of),
    not by the C++ codec the simulator and the gateway share;
  * expected(): what the gateway publishes per register name: the raw value decoded (a float32
    as its shortest decimal), then raw * scale + offset rounded to 15 significant digits when
    scale or offset is not neutral, as drivers/modbus/register_codec.cpp does;
  * gateway_meter(): a meter of the gateway configuration that uses `profile: <id>`.

Run as a script it writes, for the profiles given, sim.yaml, gateway.yaml and expected.json to
a directory (all meters on one Modbus TCP simulator, unit 1, 2, ...):

  /usr/bin/python3 tests/support/profile_sim.py --out /tmp/psim config/profiles/abb-b23.yaml
  KAA_PROFILE_DIRS=config/profiles kaa-gatewayd --check --config /tmp/psim/gateway.yaml

Only the standard library, PyYAML and modbus_values (next to this file) are used.
"""

import argparse
import json
import math
import os
import random
import struct
import sys
from dataclasses import dataclass

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from modbus_values import float32_published, scaled, words_of  # noqa: E402

ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
INT_BITS = {"int16": 16, "uint16": 16, "int32": 32, "uint32": 32, "int64": 64, "uint64": 64}
STRING_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


@dataclass
class PlannedRegister:
    """One register of a profile with the raw value the simulator serves for it."""

    name: str
    address: int
    function: str
    type: str
    byte_order: str
    length: int
    scale: float
    offset: float
    metadata: bool
    value: object


@dataclass
class MeterPlan:
    """A profile and the value of each of its registers."""

    profile_id: str
    path: str
    max_gap: int
    registers: list

    def names(self, metadata):
        """The register names of the profile (metadata_registers when metadata is true)."""
        return {r.name for r in self.registers if r.metadata == metadata}


def load_profile(path):
    """The profile file as a dict (PyYAML)."""
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _reorders(raw, order):
    """raw (big-endian bytes) as a device with byte order `order` holds it."""
    words = [raw[i:i + 2] for i in range(0, len(raw), 2)]
    if order in ("CDAB", "DCBA"):
        words = words[::-1]
    if order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    return b"".join(words)


def _telling_bytes(raw):
    """True when every byte is non-zero and no byte repeats: any byte order mix-up shows."""
    return 0 not in raw and len(set(raw)) == len(raw)


def _pick_integer(rng, type_):
    """An integer whose bytes all differ; signed types get negative values, unsigned ones
    values above the signed range (a sign mix-up shows)."""
    bits = INT_BITS[type_]
    while True:
        raw = bytes(rng.randrange(1, 256) for _ in range(bits // 8))
        if not _telling_bytes(raw) or raw[0] < 0x80:
            continue
        return int.from_bytes(raw, "big", signed=type_.startswith("int"))


def _float_orders_differ(raw, fmt):
    """True when the four byte orders of raw decode to four different finite floats."""
    decoded = [struct.unpack(fmt, _reorders(raw, order))[0] for order in ORDERS]
    return all(math.isfinite(d) for d in decoded) and len(set(decoded)) == len(ORDERS)


def _pick_float(rng, type_):
    """A float (float32 values are exact float32) between 1 and 100000, negative now and then,
    whose byte orders decode differently."""
    fmt = ">f" if type_ == "float32" else ">d"
    while True:
        x = rng.uniform(1.0, 100000.0) * rng.choice((1, 1, 1, -1))
        raw = struct.pack(fmt, x)
        if _telling_bytes(raw) and _float_orders_differ(raw, fmt):
            return struct.unpack(fmt, raw)[0]


def _pick_string(rng, length):
    """2 * length characters with no two neighbours alike (a swapped byte pair shows)."""
    text = []
    while len(text) < 2 * length:
        c = rng.choice(STRING_CHARS)
        if not text or text[-1] != c:
            text.append(c)
    return "".join(text)


def _pick_value(rng, type_, length, index):
    """A raw value for a register of type_ (bools alternate by index)."""
    if type_ == "bool":
        return index % 2 == 0
    if type_ in INT_BITS:
        return _pick_integer(rng, type_)
    if type_ in ("float32", "float64"):
        return _pick_float(rng, type_)
    return _pick_string(rng, length)


def plan_meter(path):
    """The plan for one profile file: every register with a distinct raw value, chosen by a
    generator seeded with the profile id, so a run serves the same values as the last."""
    doc = load_profile(path)
    profile_id = doc["profile"]["id"]
    rng = random.Random(profile_id)
    registers = []
    seen = set()
    for section, metadata in (("metadata_registers", True), ("registers", False)):
        for reg in doc.get(section) or []:
            type_ = reg["type"]
            length = reg.get("length", 0)
            while True:
                value = _pick_value(rng, type_, length, len(registers))
                if type_ == "bool" or value not in seen:
                    break
            seen.add(value)
            registers.append(PlannedRegister(
                name=reg["name"], address=reg["address"], function=reg["function"],
                type=type_, byte_order=reg.get("byte_order", "ABCD"), length=length,
                scale=float(reg.get("scale", 1.0)), offset=float(reg.get("offset", 0.0)),
                metadata=metadata, value=value))
    return MeterPlan(profile_id=profile_id, path=str(path), max_gap=doc.get("max_gap", 0),
                     registers=registers)


def sim_unit(plan, unit):
    """The simulator unit serving the plan. A profile that allows no gap in a read
    (max_gap 0) gets a strict meter: a read touching an unlisted address answers exception 02."""
    registers = []
    for r in plan.registers:
        entry = {"name": r.name, "address": r.address, "function": r.function, "type": r.type}
        if r.type != "bool":
            entry["byte_order"] = r.byte_order
        if r.type == "string":
            entry["length"] = r.length
        entry["value"] = r.value
        registers.append(entry)
    return {"unit": unit, "illegal_holes": plan.max_gap == 0, "registers": registers}


def words(register):
    """The register words (or, for a coil or discrete input, the bit) the unit must hold."""
    if register.type == "bool":
        return [register.value]
    return words_of(register.value, register.type, register.byte_order, register.length)


def expected_value(register):
    """What the gateway publishes for one planned register."""
    raw = register.value
    if register.type == "float32":
        raw = float32_published(raw)
    if register.type in ("bool", "string"):
        return raw
    if register.scale == 1.0 and register.offset == 0.0:
        return raw
    return scaled(raw, register.scale, register.offset)


def expected(plan, metadata=False):
    """{name: published value} of the plan's registers (metadata registers when metadata)."""
    return {r.name: expected_value(r) for r in plan.registers if r.metadata == metadata}


def gateway_meter(plan, unit, bus, poll_interval="1s"):
    """A gateway meter using `profile: <id>`: name and token are derived from the id."""
    return {"name": plan.profile_id, "profile": plan.profile_id, "token": "tok-" + plan.profile_id,
            "bus": bus, "unit": unit, "poll_interval": poll_interval}


def sim_config(plans, port, host="127.0.0.1", server="profiles-sim"):
    """A simulator configuration: one Modbus TCP server, plan i on unit i + 1."""
    return {"servers": [{"name": server, "tcp": {"host": host, "port": port},
                         "units": [sim_unit(p, i + 1) for i, p in enumerate(plans)]}]}


def main(argv):
    """Writes sim.yaml, gateway.yaml and expected.json for the profiles named in argv."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="directory for sim.yaml, gateway.yaml, "
                                                     "expected.json")
    parser.add_argument("--port", type=int, default=15020, help="simulator TCP port")
    parser.add_argument("profiles", nargs="+", help="profile files")
    args = parser.parse_args(argv[1:])
    plans = [plan_meter(p) for p in args.profiles]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "sim.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(sim_config(plans, args.port), f, sort_keys=False)
    gateway = {
        "kaa": {"host": "127.0.0.1", "port": 1883, "app_version": "demo_application_v1"},
        "buffer": {"path": os.path.join(os.path.abspath(args.out), "buffer.db")},
        "buses": [{"name": "profiles-sim", "tcp": {"host": "127.0.0.1", "port": args.port}}],
        "meters": [gateway_meter(p, i + 1, "profiles-sim") for i, p in enumerate(plans)],
    }
    with open(os.path.join(args.out, "gateway.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(gateway, f, sort_keys=False)
    with open(os.path.join(args.out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"tok-" + p.profile_id: {"registers": expected(p),
                                           "metadata_registers": expected(p, metadata=True)}
                   for p in plans}, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
