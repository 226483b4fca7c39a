#!/usr/bin/python3
"""An independent Modbus peer for the integration tests: a pymodbus 3.0 TCP or RTU server.

    pymodbus_server.py --map registers.json [--host 127.0.0.1] [--port 0] [--size 256]
    pymodbus_server.py --map registers.json --rtu /dev/pts/N [--baud 9600]

registers.json holds protocol (0-based, on-the-wire) addresses and raw values:

    {"holding": {"0": 54321, ...}, "input": {...},      # 16-bit words
     "coils": {"5": true, ...}, "discrete": {...},      # bits
     "filler": {"holding": 23040, "input": 23296, "coils": false, "discrete": false}}

Registers that the map does not name hold filler + address (words) or the filler
bit, so an off-by-one read is visible. Every unit id is answered (single context),
unless the map lists units: {"units": {"1": <map as above>, "2": ...}} serves only
those unit ids, each with its own registers; requests to other ids get no answer.

Address convention: pymodbus 3.0's ModbusSlaveContext adds 1 to every request
address unless zero_mode=True. This server uses zero_mode=True with data blocks
starting at 0, so a request for address N returns block value N: exactly the
addresses of the map. Once listening it prints
"pymodbus: serving on <host>:<port>" to stderr (port 0 = pick a free one), or
"pymodbus: serving rtu on <device>" for a serial line (8N1 at --baud; pymodbus needs
python3-serial and python3-serial-asyncio for it).
"""

import argparse
import asyncio
import json
import logging
import signal
import sys

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.server.async_io import ModbusSerialServer, ModbusTcpServer
from pymodbus.transaction import ModbusRtuFramer


def build_slave(mapping, size):
    filler = mapping.get("filler", {})

    def words(table):
        base = filler.get(table, 0x5A00)
        values = [(base + a) & 0xFFFF for a in range(size)]
        for addr, value in mapping.get(table, {}).items():
            values[int(addr)] = int(value) & 0xFFFF
        return values

    def bits(table):
        values = [bool(filler.get(table, False))] * size
        for addr, value in mapping.get(table, {}).items():
            values[int(addr)] = bool(value)
        return values

    slave = ModbusSlaveContext(
        hr=ModbusSequentialDataBlock(0, words("holding")),
        ir=ModbusSequentialDataBlock(0, words("input")),
        co=ModbusSequentialDataBlock(0, bits("coils")),
        di=ModbusSequentialDataBlock(0, bits("discrete")),
        zero_mode=True,
    )
    # Self-check of the address convention: what a client reading address N gets.
    for table, fc in (("holding", 3), ("input", 4), ("coils", 1), ("discrete", 2)):
        for addr, value in mapping.get(table, {}).items():
            got = slave.getValues(fc, int(addr), 1)[0]
            want = bool(value) if fc in (1, 2) else int(value) & 0xFFFF
            if got != want:
                raise SystemExit("pymodbus_server: %s[%s] reads %r, not %r" % (table, addr, got, want))
    return slave


def build_context(mapping, size):
    """One context for every unit id, or one per unit listed under "units"."""
    if "units" in mapping:
        slaves = {int(unit): build_slave(m, size) for unit, m in mapping["units"].items()}
        return ModbusServerContext(slaves=slaves, single=False)
    return ModbusServerContext(slaves=build_slave(mapping, size), single=True)


async def start_server(args, context):
    """Starts the TCP or RTU server; returns (server, task) once it serves."""
    if args.rtu:
        server = ModbusSerialServer(context, framer=ModbusRtuFramer, port=args.rtu,
                                    baudrate=args.baud, bytesize=8, parity="N", stopbits=1,
                                    ignore_missing_slaves=True)
        await server.start()
        task = asyncio.create_task(asyncio.Event().wait())
        print("pymodbus: serving rtu on %s" % args.rtu, file=sys.stderr, flush=True)
        return server, task
    server = ModbusTcpServer(context, address=(args.host, args.port))
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    port = server.server.sockets[0].getsockname()[1]
    print("pymodbus: serving on %s:%d" % (args.host, port), file=sys.stderr, flush=True)
    return server, task


async def serve(args, context):
    server, task = await start_server(args, context)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.shutdown()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--map", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--rtu", help="serve Modbus RTU on this serial device instead of TCP")
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    # pymodbus logs every closed client connection as an ERROR; keep stderr readable.
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.CRITICAL)
    with open(args.map) as f:
        mapping = json.load(f)
    asyncio.run(serve(args, build_context(mapping, args.size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
