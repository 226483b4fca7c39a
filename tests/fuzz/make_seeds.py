#!/usr/bin/env python3
"""Writes the binary seeds of the fuzz targets that read their input with libFuzzer's
FuzzedDataProvider (register_decode, request_planner, kaa_messages) into corpus/<name>/.

FuzzedDataProvider takes byte strings from the front of an input and integers from its
back; Seed below lays out both, so each seed is a real case: a reply frame from the unit
tests, a meter's register map, a session with Kaa's real answers. Run it again after
changing the order in which a target reads its input:

    python3 tests/fuzz/make_seeds.py
"""
import json
import pathlib
import struct

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"


class Seed:
    """An input for FuzzedDataProvider, built in the order the target consumes it."""

    def __init__(self):
        self.front = bytearray()
        self.back = bytearray()  # in consumption order; stored reversed at the end

    def integer(self, value, low, high):
        """ConsumeIntegralInRange(low, high) == value."""
        span = high - low
        offset = value - low
        assert 0 <= offset <= span
        width = 0
        while width < 64 and (span >> width) > 0:
            width += 8
        for shift in range(width - 8, -1, -8):
            self.back.append((offset >> shift) & 0xFF)

    def boolean(self, value):
        """ConsumeBool() == value."""
        self.back.append(1 if value else 0)

    def pick(self, index, size):
        """PickValueInArray of an array of `size` gives its element `index`."""
        self.integer(index, 0, size - 1)

    def raw(self, data):
        """ConsumeBytes(len(data)) == data."""
        self.front += bytes(data)

    def string(self, text):
        """ConsumeRandomLengthString(max) == text (text no longer than max)."""
        data = text.encode() if isinstance(text, str) else bytes(text)
        self.front += data.replace(b"\\", b"\\\\") + b"\\n"

    def bytes(self):
        return bytes(self.front) + bytes(reversed(self.back))


def write(target, name, seed):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(seed.bytes())


# --- register_decode: fuzz_register_decode.cpp's order ------------------------------------
TYPES = ["bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
         "float64", "string"]
ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"]
RAW, WELL_FORMED, EXCEPTION = 0, 1, 2


def reply_seed(tid, unit, function, address, count, shape, frame=b"", data=b"",
               exception=0, type_="uint16", order="ABCD", length=1, scale_case=0,
               offset_case=0, at=0, words=()):
    s = Seed()
    s.integer(tid, 0, 0xFFFF)
    s.integer(unit, 0, 0xFF)
    s.integer(function, 1, 4)
    s.integer(address, 0, 0xFFFF)
    s.integer(count, 1, 2000 if function in (1, 2) else 125)
    s.integer(shape, 0, 2)
    s.boolean(False)  # no trailing bytes
    if shape == WELL_FORMED:
        s.raw(data)
        s.boolean(False)  # no byte spoiled
    elif shape == EXCEPTION:
        s.integer(exception, 0, 0xFF)
    else:
        s.integer(len(frame), 0, 300)
        s.raw(frame)
    for w in words:  # the words decoded when the reply is refused
        s.integer(w, 0, 0xFFFF)
    if function in (1, 2):
        return s
    s.pick(TYPES.index(type_), len(TYPES))
    s.pick(ORDERS.index(order), len(ORDERS))
    s.integer(length, 1, 123)
    s.integer(scale_case, 0, 3)
    s.integer(offset_case, 0, 3)
    s.integer(at, 0, max(count - 1, 0))
    return s


def mbap(tid, unit, pdu):
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def regs(*words):
    return b"".join(struct.pack(">H", w) for w in words)


def register_decode_seeds():
    # An SDM630's voltage (float32 229.7, ABCD) as a well-formed reply, and as raw bytes.
    volts = regs(0x4365, 0xB333)
    write("register_decode", "float32_abcd_well_formed",
          reply_seed(1, 1, 3, 0, 2, WELL_FORMED, data=volts, type_="float32"))
    write("register_decode", "float32_abcd_raw_frame",
          reply_seed(7, 1, 3, 0, 2, RAW, frame=mbap(7, 1, bytes([3, 4]) + volts),
                     type_="float32"))
    # An energy counter (uint32 CDAB) scaled by 0.1, an int64 in DCBA, a float64 in BADC.
    write("register_decode", "uint32_cdab_scaled",
          reply_seed(2, 5, 4, 0x1000, 2, WELL_FORMED, data=regs(0x5678, 0x0012),
                     type_="uint32", order="CDAB", scale_case=1))
    write("register_decode", "int64_dcba",
          reply_seed(3, 1, 3, 40, 4, WELL_FORMED, data=regs(0xFFFF, 0xFFFF, 0xFFFF, 0xFEFF),
                     type_="int64", order="DCBA"))
    write("register_decode", "float64_badc_offset",
          reply_seed(4, 1, 3, 100, 4, WELL_FORMED, data=regs(0x4040, 0, 0, 0),
                     type_="float64", order="BADC", offset_case=2))
    # A meter's serial number as a string register, and one of 0xFFFF (never written).
    write("register_decode", "string_serial",
          reply_seed(5, 2, 3, 0xFC00, 8, WELL_FORMED, data=b"SN-12345678     ",
                     type_="string", length=8))
    write("register_decode", "string_unwritten",
          reply_seed(6, 2, 3, 0xFC00, 4, WELL_FORMED, data=b"\xff" * 8, type_="string",
                     length=4))
    # Coils, an exception 02 (illegal data address), an invalid exception code.
    write("register_decode", "coils",
          reply_seed(8, 1, 1, 0, 10, WELL_FORMED, data=bytes([0b10110101, 0b10])))
    write("register_decode", "exception_02",
          reply_seed(9, 1, 3, 0, 2, EXCEPTION, exception=2, words=(0x8000, 1)))
    write("register_decode", "exception_invalid",
          reply_seed(10, 1, 4, 0, 2, EXCEPTION, exception=0x2A, words=(1, 2)))
    # A reply whose MBAP length disagrees with what came (as in modbus_tcp_adu_test.cpp).
    bad_length = bytearray(mbap(11, 1, bytes([3, 4]) + volts))
    bad_length[5] += 1
    write("register_decode", "mbap_length_wrong",
          reply_seed(11, 1, 3, 0, 2, RAW, frame=bad_length, words=(0x4365, 0xB333)))


# --- request_planner: fuzz_request_planner.cpp's order ------------------------------------
FUNCTIONS = ["holding", "input", "coil", "discrete"]


def plan_seed(max_gap, max_registers, registers):
    s = Seed()
    s.integer(max_gap, 0, 125)
    s.integer(max_registers, 0, 130)
    s.boolean(True)  # max_bits 2000
    s.integer(len(registers), 0, 400)
    for function, type_, length, address in registers:
        s.pick(FUNCTIONS.index(function), len(FUNCTIONS))
        if function in ("holding", "input"):
            s.pick(TYPES.index(type_), len(TYPES))
            if type_ == "string":
                s.integer(length, 1, 123)
        s.integer(0, 0, 3)  # an address of its own
        s.integer(address, 0, 65535)
    return s


def request_planner_seeds():
    # The SDM630's input registers (tests/bench/meter_maps/sdm630.yaml): float32 every 2.
    sdm = [("input", "float32", 0, a) for a in (0, 2, 4, 6, 8, 10, 12, 14, 16, 30, 32, 34,
                                                  52, 70, 72, 74, 342, 344)]
    write("request_planner", "sdm630", plan_seed(8, 125, sdm))
    # Mixed tables, a long string, overlaps, coils and a value at the end of the space.
    mixed = [("holding", "uint16", 0, 10), ("holding", "uint32", 0, 11),
             ("holding", "string", 100, 20), ("holding", "int64", 0, 65532),
             ("coil", "bool", 0, 5), ("coil", "bool", 0, 7), ("discrete", "bool", 0, 0),
             ("input", "float64", 0, 300), ("input", "int16", 0, 302)]
    write("request_planner", "mixed", plan_seed(0, 10, mixed))


# --- kaa_messages: fuzz_kaa_messages.cpp's order ------------------------------------------
STATUS_REPLY, ERROR_TEXT, ERROR_BUILT, BIG, COMMAND, CONFIG, OTHER, TIME, PUBACK, RECONNECT = \
    range(10)


def session_start(s, delivery=0, batch=4, in_flight=2, samples=3):
    s.pick(delivery, 3)
    s.integer(batch, 1, 8)
    s.integer(in_flight, 1, 4)
    s.integer(samples, 0, 6)


def published(s, index):
    """request_topic(): the topic of the index-th publish (metadata first, then batches);
    one byte, as long as there are between 2 and 256 publishes by then."""
    s.boolean(True)
    s.back.append(index)


def event(s, kind):
    s.integer(kind, 0, 10)


def kaa_messages_seeds():
    # Kaa confirms the metadata and the first batch on /status with an empty payload.
    s = Seed()
    session_start(s)
    for i in range(2):
        event(s, STATUS_REPLY)
        published(s, i)
        s.string("")
        s.boolean(True)  # flush the removals
    write("kaa_messages", "status_confirms", s)
    # The KPC stand-in's /error (tests/support/kpc_standin.py) for 400 and for 503.
    for code in (400, 503):
        s = Seed()
        session_start(s)
        event(s, ERROR_TEXT)
        published(s, 1)
        s.string(json.dumps({"statusCode": code, "reasonPhrase": "rejected by KPC stand-in"}))
        s.boolean(False)
        write("kaa_messages", f"error_{code}_kpc_standin", s)
    # A code too large for an int whose low 32 bits are 400: it must hold, not drop.
    s = Seed()
    session_start(s)
    event(s, ERROR_TEXT)
    published(s, 1)
    s.string('{"statusCode":4294967696,"reasonPhrase":"wrapped"}')
    s.boolean(False)
    write("kaa_messages", "error_code_wraps_to_400", s)
    # A command push and a configuration push, for a meter's token.
    s = Seed()
    session_start(s)
    event(s, COMMAND)
    s.string("reboot")
    s.boolean(True)  # on /status
    s.boolean(True)  # a meter's token
    s.integer(0, 0, 1)
    s.string('{"id":1,"payload":{"delay":5}}')
    s.boolean(False)
    event(s, CONFIG)
    s.boolean(True)
    s.boolean(True)
    s.integer(1, 0, 1)
    s.string('{"configId":"c1","config":{"poll_interval":"10s"}}')
    s.boolean(False)
    write("kaa_messages", "command_and_config_push", s)
    # No answer: the timeout, the connection lost and back.
    s = Seed()
    session_start(s, delivery=1)
    event(s, TIME)
    s.integer(31_000, 0, 120_000)
    s.boolean(False)
    event(s, RECONNECT)
    s.boolean(True)
    s.boolean(False)
    event(s, PUBACK)
    published(s, 2)
    s.boolean(False)
    write("kaa_messages", "timeout_reconnect_puback", s)


if __name__ == "__main__":
    register_decode_seeds()
    request_planner_seeds()
    kaa_messages_seeds()
