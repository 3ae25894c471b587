#!/usr/bin/env python3
"""Loopback TCP proxy that counts the bytes an agent sends to the console.

Usage: wire_proxy.py LISTEN_PORT AGENT_PORT SECONDS
Listens on 127.0.0.1:LISTEN_PORT, forwards to 127.0.0.1:AGENT_PORT, and after SECONDS
(counted from the first connection) prints the bytes each way and exits. The steady rate
leaves out the first WARMUP_S seconds, which carry the initial snapshot. Loopback only.
"""
import asyncio
import sys
import time

WARMUP_S = 10.0
counts = {"down": 0, "up": 0}
started = None


async def pump(reader, writer, key):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            counts[key] += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer, agent_port):
    global started
    if started is None:
        started = time.monotonic()
    try:
        agent_reader, agent_writer = await asyncio.open_connection("127.0.0.1", agent_port)
        await asyncio.gather(
            pump(agent_reader, client_writer, "down"),
            pump(client_reader, agent_writer, "up"),
        )
    except (ConnectionError, asyncio.CancelledError):
        client_writer.close()


async def main():
    listen_port, agent_port, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, agent_port), "127.0.0.1", listen_port
    )
    deadline = time.monotonic() + seconds + 30  # bounded even if nobody connects
    warm = None
    while time.monotonic() < deadline:
        if started is not None:
            age = time.monotonic() - started
            if warm is None and age >= WARMUP_S:
                warm = (time.monotonic(), counts["down"], counts["up"])
            if age >= seconds:
                break
        await asyncio.sleep(0.05)
    server.close()
    if warm is None:
        print("no steady window: nobody connected or SECONDS <= warm-up", file=sys.stderr)
        sys.exit(1)
    window = time.monotonic() - warm[0]
    down = (counts["down"] - warm[1]) / window
    up = (counts["up"] - warm[2]) / window
    print(f"total_down_bytes={counts['down']} steady_down_bytes_per_s={down:.0f} "
          f"steady_up_bytes_per_s={up:.0f} window_s={window:.1f}")


asyncio.run(main())
