"""A webhook receiver for the benchmark: HTTP/1.1 with keep-alive on loopback, answering
every POST with 200 at once and recording, per delivery, its webhook-id and how long after
the event's `occurred_at` (its transaction's start: just before its commit) it arrived.

GET /reset forgets what was received; GET /stats gives
{"count", "distinct", "p50_ms", "p99_ms", "max_ms"} since then.

Usage: python3 bench-receiver.py PORT
"""

import asyncio
import datetime
import json
import sys
import time

received = []  # (webhook-id, latency in seconds)


def stats() -> dict:
    lat = sorted(l for _, l in received)
    pick = lambda p: round(lat[min(len(lat) - 1, int(len(lat) * p))] * 1000, 1) if lat else None
    return {
        "count": len(received),
        "distinct": len({i for i, _ in received}),
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
        "max_ms": round(lat[-1] * 1000, 1) if lat else None,
    }


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            arrived = time.time()
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            out = b""
            if method == "POST":
                try:
                    occurred = datetime.datetime.fromisoformat(json.loads(body)["occurred_at"]).timestamp()
                except Exception:
                    occurred = arrived
                received.append((headers.get("webhook-id"), arrived - occurred))
            elif path.startswith("/reset"):
                received.clear()
            elif path.startswith("/stats"):
                out = json.dumps(stats()).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
