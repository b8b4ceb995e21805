"""llmpipe_nb against the bare HTTP clients, on a loopback server: one command, one table.

Every client sends the same OpenAI-format request to `loopback.py` (its own process) and
reads the same answer: sequential requests, one long stream, 1000 requests 50 at a time;
each measurement runs in a fresh interpreter, the clients in turns, `--rounds` times, and
the table keeps the median. The x columns are the client's own CPU time against raw
httpx's in the same run (lower is better): CPU, because the server and everything else on
the machine share its cores. Then llmpipe_nb's own cost per plug, and the scale and memory
checks: 10,000 concurrent streams, one 20 MB answer, a consumer slower than the server.

Run: .venv/bin/python benchmarks/performance.py [--rounds 5] [--out build/performance.md]
(`--quick` for a short run: fewer requests, 1,000 streams). Needs aiohttp (the `fast`
extra) for its rows; httpx and httpx-aiohttp rows appear when those are installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CLIENTS = ["httpx", "httpx2", "aiohttp", "httpx-aiohttp", "llmpipe-httpx2", "llmpipe-aiohttp"]
MODULES = {
    "httpx-aiohttp": "httpx_aiohttp",
    "llmpipe-httpx2": "httpx2",
    "llmpipe-aiohttp": "aiohttp",
}
IMPORTS = {
    "httpx": "httpx",
    "httpx2": "httpx2",
    "aiohttp": "aiohttp",
    "httpx-aiohttp": "httpx_aiohttp.httpx2",
    "llmpipe-httpx2": "llmpipe_nb",
    "llmpipe-aiohttp": "llmpipe_nb",
}


def worker(client: str, scenario: str, port: int, n: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(HERE / "_clients.py"), client, scenario, str(port), str(n)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE)])},
    )
    if out.returncode != 0:
        raise RuntimeError(f"{client} {scenario} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_ms(module: str) -> dict[str, float]:
    """Time to import `module` in a fresh interpreter, from bytecode as an installed package is
    (a first import writes it, so every module is measured the same way)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(HERE.parent)
    code = (
        "import time; t = time.perf_counter(); import " + module + "; "
        "print((time.perf_counter() - t) * 1e3)"
    )
    run = [sys.executable, "-c", code]
    subprocess.run(run, capture_output=True, text=True, check=True, env=env)
    out = subprocess.run(run, capture_output=True, text=True, check=True, env=env)
    return {"ms": float(out.stdout)}


def start_server() -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(
        [sys.executable, str(HERE / "loopback.py")], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    return server, int(server.stdout.readline().split()[1])


def median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def clients_table(results: dict[tuple[str, str], list[dict[str, Any]]], clients: list[str]) -> str:
    base = {s: results[("httpx", s)] for s in ("seq", "stream", "conc")}
    lines = [
        "| client | seq p50 µs | seq CPU µs | seq x | stream CPU µs/chunk | stream x "
        "| 1000x50 conc CPU ms | conc x | peak RSS MB | import ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for client in clients:
        seq, stream, conc = (results[(client, s)] for s in ("seq", "stream", "conc"))
        imports = results[(client, "import")]
        rss = max(median(rows, "peak_rss_mb") for rows in (seq, stream, conc))
        lines.append(
            f"| {label(client)} | {median(seq, 'p50_us'):,.0f} | {median(seq, 'cpu_us'):,.0f} "
            f"| {median(seq, 'cpu_us') / median(base['seq'], 'cpu_us'):.2f} "
            f"| {median(stream, 'cpu_us'):.2f} "
            f"| {median(stream, 'cpu_us') / median(base['stream'], 'cpu_us'):.2f} "
            f"| {median(conc, 'cpu_s') * 1e3:,.0f} "
            f"| {median(conc, 'cpu_s') / median(base['conc'], 'cpu_s'):.2f} "
            f"| {rss:.0f} | {median(imports, 'ms'):.0f} |"
        )
    return "\n".join(lines)


def label(client: str) -> str:
    if client.startswith("llmpipe-"):
        return f"llmpipe_nb on {client.removeprefix('llmpipe-')} (`llm.achat`, `llm.astream`)"
    return f"raw {client}"


def plugs_table(results: dict[tuple[str, str], list[dict[str, Any]]]) -> str:
    piped = [c for c in ("llmpipe-httpx2", "llmpipe-aiohttp") if (c, "seq") in results]
    names = list(results[(piped[0], "seq")][0]["plugs_us"])
    lines = ["| plug | " + " | ".join(label(c) for c in piped) + " |"]
    lines.append("| --- |" + " ---: |" * len(piped))
    for name in names:
        cells = [
            f"{statistics.median(row['plugs_us'][name] for row in results[(c, 'seq')]):.1f}"
            for c in piped
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def scale_table(scale: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = [
        "| check | " + " | ".join(label(c) for c in scale) + " |",
        "| --- |" + " --- |" * len(scale),
    ]
    rows = [
        (
            "streams at once (50 chunks each): completed",
            "scale",
            "{complete:,} of {streams:,} in {seconds:.1f} s{failed}",
        ),
        ("memory per idle stream: RSS", "scale", "{idle_rss_kb_per_stream:.1f} KB"),
        (
            "memory per idle stream: Python objects (of them llmpipe_nb's)",
            "scale",
            "{idle_python_kb_per_stream:.1f} KB ({idle_llmpipe_kb_per_stream:.2f} KB)",
        ),
        ("ledger rows added / file descriptors left open", "scale", "{ledger_rows:,} / {fds_left}"),
        (
            "one long answer: peak RSS above baseline",
            "big",
            "{peak_over_mb:.1f} MB for {text_mb:.0f} MB of text ({ratio:.2f}x)",
        ),
        (
            "slow consumer: bytes in flight (socket buffers and client) / held by the client",
            "slow",
            "{in_flight_kb:,.0f} KB / {held_kb:,.0f} KB of a {answer_mb:.0f} MB answer",
        ),
    ]
    for client in scale.values():
        failures = client["scale"]["failures"]
        client["scale"]["failed"] = "".join(f"; {n:,} {kind}" for kind, n in failures.items())
        client["scale"]["fds_left"] = max(0, client["scale"]["fds_left"])
    for title, scenario, template in rows:
        cells = [template.format(**scale[c][scenario]) for c in scale]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=str(HERE.parent / "build" / "performance.md"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--streams", type=int, default=10_000, help="concurrent streams")
    parser.add_argument("--skip-clients", action="store_true", help="only the scale checks")
    parser.add_argument("--skip-scale", action="store_true", help="only the clients' table")
    args = parser.parse_args()
    if args.quick:
        args.streams = min(args.streams, 1000)
    clients = [
        c for c in CLIENTS if importlib.util.find_spec(MODULES.get(c, c).split(".")[0]) is not None
    ]
    if "httpx" not in clients:
        sys.exit("The table is relative to raw httpx: pip install httpx.")
    sizes = (
        {"seq": 300, "stream": 5000, "conc": 500}
        if args.quick
        else {"seq": 1000, "stream": 20000, "conc": 1000}
    )
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    server, port = start_server()
    try:
        for turn in range(0 if args.skip_clients else args.rounds):
            order = clients[turn % len(clients) :] + clients[: turn % len(clients)]
            for scenario, n in sizes.items():
                for client in order:
                    results.setdefault((client, scenario), []).append(
                        worker(client, scenario, port, n)
                    )
                    print(f"round {turn + 1}: {client} {scenario}", file=sys.stderr)
        for client in [] if args.skip_clients else clients:
            results[(client, "import")] = [import_ms(IMPORTS[client]) for _ in range(7)]
        if not args.skip_clients:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(clients_table(results, clients) + "\n")
        scale: dict[str, dict[str, dict[str, Any]]] = {}
        for client in () if args.skip_scale else ("llmpipe-httpx2", "llmpipe-aiohttp"):
            if client in clients:
                scale[client] = {
                    "scale": worker(client, "scale", port, args.streams),
                    "big": worker(client, "big", port, 20_000),
                    "slow": worker(client, "slow", port, 20_000),
                }
                print(f"{client} scale: {scale[client]}", file=sys.stderr)
                Path(args.out).with_suffix(".json").write_text(json.dumps(scale, indent=1))
    finally:
        server.terminate()
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    parts = [
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load}, "
        f"{args.rounds} rounds; x is client CPU time against raw httpx in this run."
    ]
    if not args.skip_clients:
        parts += [
            clients_table(results, clients),
            "llmpipe_nb's steps for one `llm.achat`, median µs:",
            plugs_table(results),
        ]
    if scale:
        parts += ["Scale and memory:", scale_table(scale)]
    report = "\n\n".join(parts)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
