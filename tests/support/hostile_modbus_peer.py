#!/usr/bin/python3
"""A Modbus TCP peer that answers most units with broken replies, for the integration tests.

    hostile_modbus_peer.py [--host 127.0.0.1] [--port 0] [--port-file PATH]
                           [--connection serve|close|reset|slow]

--connection says what the peer does with every connection: serve (the default: the units
below), close (accept, then close at once), reset (read a request, send the first 5 bytes
of a correct reply, then reset the connection), slow (answer unit 1 correctly, one byte a
second).

Unit 1 is served correctly: holding and input register N hold REGISTER_BASE + N, coil and
discrete input N are on when N % 3 == 0. Every other unit answers each read request with
a reply broken as BEHAVIOURS says (its values, where it has any, are BAD_BASE + N, so a
published one is recognisable). Other unit ids get no answer.

Once listening it writes its port to --port-file (if given) and prints
"hostile-modbus: serving on <host>:<port>" to stderr (port 0 = pick a free one).
"""

import argparse
import os
import random
import socket
import socketserver
import struct
import sys
import time

REGISTER_BASE = 0x1200
BAD_BASE = 0xBAD0
TRAILING = b"\x00\x01\x02\x03"
GARBAGE = random.Random(12).randbytes(64 * 1024)

# unit -> what its replies do wrong (see reply_for)
BEHAVIOURS = {
    1: "correct",
    2: "wrong unit id",
    3: "wrong transaction id",
    4: "protocol id 1",
    5: "MBAP length 300",
    6: "MBAP length too short",
    7: "wrong function code",
    8: "exception code 0",
    9: "exception code 12",
    10: "truncated frame then silence",
    11: "trailing bytes after a valid frame",
    12: "64 KiB of garbage",
}
# Units 13 to 23 answer with the valid exception codes 1 to 11.
EXCEPTION_UNITS = {12 + code: code for code in range(1, 12)}
BEHAVIOURS.update({unit: "exception code %d" % code for unit, code in EXCEPTION_UNITS.items()})


def mbap(tid, unit, pdu, protocol=0, length=None):
    """An MBAP header and PDU; length defaults to the right one (unit id + PDU)."""
    if length is None:
        length = len(pdu) + 1
    return struct.pack(">HHHB", tid & 0xFFFF, protocol, length & 0xFFFF, unit & 0xFF) + pdu


def data_pdu(function, address, count, base):
    """A read reply's PDU: function, byte count, register words or packed bits."""
    if function in (1, 2):
        bits = bytearray((count + 7) // 8)
        for i in range(count):
            if (address + i) % 3 == 0:
                bits[i // 8] |= 1 << (i % 8)
        return struct.pack(">BB", function, len(bits)) + bytes(bits)
    words = [(base + address + i) & 0xFFFF for i in range(count)]
    return struct.pack(">BB", function, 2 * count) + struct.pack(">%dH" % count, *words)


def reply_for(tid, unit, function, address, count):
    """The bytes unit `unit` sends for a read request, or None for no answer."""
    good_pdu = data_pdu(function, address, count, REGISTER_BASE)
    bad_pdu = data_pdu(function, address, count, BAD_BASE)
    if unit == 1:
        return mbap(tid, unit, good_pdu)
    if unit == 2:
        return mbap(tid, 99, bad_pdu)
    if unit == 3:
        return mbap(tid + 1, unit, bad_pdu)
    if unit == 4:
        return mbap(tid, unit, bad_pdu, protocol=1)
    if unit == 5:
        return mbap(tid, unit, bad_pdu, length=300)
    if unit == 6:
        return mbap(tid, unit, bad_pdu, length=len(bad_pdu) - 1)
    if unit == 7:
        other = 4 if function == 3 else 3
        return mbap(tid, unit, data_pdu(other, address, count, BAD_BASE))
    if unit == 8:
        return mbap(tid, unit, bytes([function | 0x80, 0]))
    if unit == 9:
        return mbap(tid, unit, bytes([function | 0x80, 12]))
    if unit == 10:
        return mbap(tid, unit, bad_pdu)[:8]
    if unit == 11:
        return mbap(tid, unit, bad_pdu) + TRAILING
    if unit == 12:
        return GARBAGE
    if unit in EXCEPTION_UNITS:
        return mbap(tid, unit, bytes([function | 0x80, EXCEPTION_UNITS[unit]]))
    return None


def recv_exactly(sock, n):
    """n bytes from sock, or None when the client closed first."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class Handler(socketserver.BaseRequestHandler):
    """One client connection: read requests, answer each as its unit's behaviour says."""

    def handle(self):
        sock = self.request
        mode = self.server.connection_mode
        if mode == "close":
            return
        while True:
            header = recv_exactly(sock, 7)
            if header is None:
                return
            tid, _protocol, length, unit = struct.unpack(">HHHB", header)
            if not 2 <= length <= 254:
                return
            pdu = recv_exactly(sock, length - 1)
            if pdu is None:
                return
            if len(pdu) != 5 or pdu[0] not in (1, 2, 3, 4):
                continue
            function, address, count = struct.unpack(">BHH", pdu)
            reply = reply_for(tid, unit, function, address, count)
            if mode == "reset":
                sock.sendall(mbap(tid, unit, data_pdu(function, address, count, BAD_BASE))[:5])
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return  # closing with a zero linger time sends RST
            if mode == "slow":
                if not self.send_slowly(reply):
                    return
                continue
            if reply is not None:
                try:
                    sock.sendall(reply)
                except OSError:
                    return


    def send_slowly(self, reply):
        """One byte a second; False once the client is gone."""
        for i in range(len(reply or b"")):
            try:
                self.request.sendall(reply[i:i + 1])
            except OSError:
                return False
            time.sleep(1.0)
        return True


class Server(socketserver.ThreadingTCPServer):
    """A threaded TCP server that does not keep the process alive for its clients."""
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the listening port here")
    parser.add_argument("--connection", choices=("serve", "close", "reset", "slow"),
                        default="serve")
    args = parser.parse_args()
    server = Server((args.host, args.port), Handler)
    server.connection_mode = args.connection
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("hostile-modbus: serving on %s:%d" % (args.host, port), file=sys.stderr, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
