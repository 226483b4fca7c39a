"""Modbus values for the integration tests, computed independently of the C++ codec.

words_of() encodes a value into register words the way a device holds them;
scaled()/float32_published() give what the gateway must publish; same_value()
compares JSON values exactly (bool vs int vs float); raw_modbus_read() reads a
Modbus TCP peer with hand-built frames.
"""

import math
import socket
import struct

HOST = "127.0.0.1"


def words_of(value, type_, byte_order="ABCD", length=0):
    """The 16-bit register words a Modbus device holds for `value` (big-endian ABCD first,
    then reordered: CDAB swaps words, BADC swaps bytes in each word, DCBA both)."""
    fmt = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "int64": ">q",
           "uint64": ">Q", "float32": ">f", "float64": ">d"}
    if type_ == "string":
        raw = value.encode("ascii").ljust(2 * length, b"\0")
        assert len(raw) == 2 * length
    else:
        raw = struct.pack(fmt[type_], value)
    words = [raw[i:i + 2] for i in range(0, len(raw), 2)]
    if type_ != "string" and byte_order in ("CDAB", "DCBA"):
        words = words[::-1]
    if byte_order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    return [int.from_bytes(w, "big") for w in words]


def scaled(raw, scale, offset):
    """What the gateway publishes for raw*scale+offset: rounded to 15 significant digits."""
    return float("%.15g" % (raw * scale + offset))


def float32_published(x):
    """The float32 nearest to x, written as its shortest decimal, read back as a Python float."""
    f32 = struct.unpack(">f", struct.pack(">f", x))[0]
    for digits in range(1, 10):
        text = "%.*g" % (digits, f32)
        if struct.unpack(">f", struct.pack(">f", float(text)))[0] == f32:
            return float(text)
    return f32


def same_value(expected, actual):
    """Exact equality including the JSON kind (bool vs int vs float vs string)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, int):
        return isinstance(actual, int) and expected == actual
    if isinstance(expected, float):
        return isinstance(actual, (int, float)) and not isinstance(actual, bool) and \
            (expected == actual or (math.isnan(expected) and math.isnan(actual)))
    return type(expected) is type(actual) and expected == actual


def _raw_exchange(port, unit, pdu, tid, host, timeout):
    """Sends one Modbus TCP request (hand-built MBAP header) and returns its reply's PDU."""
    frame = struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(frame)
        head = _recv_exact(s, 7)
        _, _, length, _ = struct.unpack(">HHHB", head)
        body = _recv_exact(s, length - 1)
    if body[0] & 0x80:
        raise IOError("Modbus exception %d" % body[1])
    return body


def raw_modbus_read(port, unit, function, address, count, host=HOST, timeout=2.0):
    """One Modbus TCP read with a hand-built frame (function 1-4); returns words or bits."""
    body = _raw_exchange(port, unit, struct.pack(">BHH", function, address, count), 0x4B41,
                         host, timeout)
    data = body[2:2 + body[1]]
    if function in (1, 2):
        return [bool(data[i // 8] >> (i % 8) & 1) for i in range(count)]
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


def raw_modbus_write_register(port, unit, address, value, host=HOST, timeout=2.0):
    """One Modbus TCP write of one holding register (function 06) with a hand-built frame."""
    _raw_exchange(port, unit, struct.pack(">BHH", 6, address, value & 0xFFFF), 0x4B42, host,
                  timeout)


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise IOError("connection closed")
        buf += chunk
    return buf
