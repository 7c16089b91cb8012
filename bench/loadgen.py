"""A small closed-loop HTTP load generator, for machines without ``wrk``: run by servers.py in a process of its own.

``connections`` keep-alive connections each send the same prebuilt request
again as soon as the previous answer has arrived, for ``seconds``; the
answers are read by their ``Content-Length`` (or chunks). Prints one JSON
line: ``requests``, ``rps``, ``p50_us``, ``p99_us`` and ``bad`` (answers
that were not 2xx, and broken connections). It is slower than ``wrk``: on a
small machine it takes more of the CPU the servers share with it.

    python bench/loadgen.py '{"port": 8000, "path": "/", "headers": [], "body": "", "seconds": 3, "connections": 4}'
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any


def _request(spec: dict[str, Any]) -> bytes:
    body = spec["body"].encode()
    head = [f"POST {spec['path']} HTTP/1.1", f"Host: 127.0.0.1:{spec['port']}", f"Content-Length: {len(body)}",
            "Content-Type: application/json", *(f"{k}: {v}" for k, v in spec["headers"])]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


async def _read_answer(reader: asyncio.StreamReader) -> int:
    """Read one response; return its status."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length, chunked = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _connection(spec: dict[str, Any], request: bytes, deadline: float, latencies: list[int],
                      bad: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", spec["port"])
    clock = time.perf_counter_ns
    try:
        while time.monotonic() < deadline:
            started = clock()
            writer.write(request)
            try:
                status = await _read_answer(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                bad.append(1)
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", spec["port"])
                continue
            latencies.append(clock() - started)
            if not 200 <= status < 300:
                bad.append(1)
    finally:
        writer.close()


async def run(spec: dict[str, Any]) -> dict[str, float]:
    request = _request(spec)
    latencies: list[int] = []
    bad: list[int] = []
    started = time.monotonic()
    deadline = started + float(spec["seconds"])
    await asyncio.gather(*(_connection(spec, request, deadline, latencies, bad) for _ in range(spec["connections"])))
    elapsed = time.monotonic() - started
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] / 1000 if latencies else float("nan")

    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50_us": percentile(0.50),
            "p99_us": percentile(0.99), "bad": len(bad)}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))
