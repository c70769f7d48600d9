"""Open-loop load for the checkout benchmark, where each request must be new
(its own Idempotency-Key), which oha's fixed bodies cannot do.

Request i is due at start + i / rate whatever happened before (open loop);
its latency runs from that due time (corrected for coordinated omission).
Standard library only. Prints one JSON line: sent, ok, errors, p50, p99 (ms).

Usage: python3 bench/open_loop.py URL RATE SECONDS CONNECTIONS TOKENS_FILE DAY
"""

import asyncio
import json
import random
import sys
import time
import uuid
from urllib.parse import urlsplit


def basket(day):
    def offer(n):
        return f"00000000-0000-7001-8000-{n:012d}"

    def quantity():
        halves = random.randint(1, 20)
        return str(halves // 2) if halves % 2 == 0 else f"{halves // 2}.5"

    c = random.randint(1, 32)
    lines = [{"offer_id": offer(random.randint(lo, lo + 99)), "quantity": quantity()} for lo in (1, 101, 201)]
    body = {"buyer_id": f"00000000-0000-7002-8000-{c:012d}", "delivery_date": day, "lines": lines}
    return c, json.dumps(body).encode()


async def worker(host, port, due_times, rate_start, tokens, day, latencies, counts):
    reader, writer = await asyncio.open_connection(host, port)
    while due_times:
        due = due_times.pop()
        delay = rate_start + due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        c, body = basket(day)
        head = (
            f"POST /api/v1/orders HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {tokens[c - 1]}\r\n"
            f"Content-Type: application/json\r\nIdempotency-Key: {uuid.uuid4()}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        writer.write(head + body)
        await writer.drain()
        status_line = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - (rate_start + due))
        counts["ok" if status_line.split()[1] == b"201" else "errors"] += 1
    writer.close()


async def main():
    url, rate, seconds, connections, tokens_file, day = sys.argv[1:7]
    rate, seconds, connections = float(rate), float(seconds), int(connections)
    parts = urlsplit(url)
    tokens = open(tokens_file).read().split()
    total = int(rate * seconds)
    # popped from the end: earliest due time last in the list
    due_times = [i / rate for i in range(total)][::-1]
    latencies, counts = [], {"ok": 0, "errors": 0}
    start = time.perf_counter() + 0.2
    await asyncio.gather(*[
        worker(parts.hostname, parts.port, due_times, start, tokens, day, latencies, counts)
        for _ in range(connections)
    ])
    latencies.sort()
    pick = lambda q: round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)
    print(json.dumps({"sent": total, **counts, "p50_ms": pick(0.50), "p99_ms": pick(0.99)}))


asyncio.run(main())
