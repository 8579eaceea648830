"""Keeper scan throughput and liquidation latency on anvil, ratios within one run.

    python benchmarks/keeper.py [--accounts 1000 10000] [--risky 50] [--json]

1. Scan time of N accounts (each with cash and an ETH-PERP position): the Lens as the keeper reads it
   (`HealthReader`: `Lens.health` on `--batch` accounts per call, the calls of a scan in one JSON-RPC batch)
   against one `RiskEngine.margin` eth_call per account: sent one by one as raw JSON-RPC on a keep-alive HTTP
   session (the fastest a client can do one call at a time), and through web3 contract objects (what a bot
   written the usual way does; timed on 500 accounts and scaled). A JSON-RPC batch of the same per-account
   calls is shown too: the node runs a batch in parallel, so it approaches the Lens; the floor of both is the
   margin math's EVM work (~80k gas per one-position account).
2. Blocks from a price move to liquidation: the keeper and the maker run as real processes
   (`python -m crossmargin ... keeper run`) on 1 s blocks with a 30M block gas limit; ETH falls 3,000 -> 2,600
   and makes `--risky` accounts liquidatable; reported: blocks from the price block to each account's first
   bid (p50 and max), the keeper's scan time per loop.
Targets (issue #6): 1,000 accounts scanned in <= 2 s, >= 10x faster than per-account calls.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WAD = 10**18


def deploy_chain(folder: Path, params: str | Path = "default"):
    """Anvil (large blocks while populating) and the protocol with the parameter set `params` (a name or a TOML
    path, see `load_params`); retried on a fresh chain (see bots_world)."""
    from crossmargin.chain.deploy import deploy
    from crossmargin.chain.node import Anvil
    from crossmargin.chain.session import connect
    from crossmargin.model.params import load_params

    os.environ["CROSSMARGIN_DEPLOYMENTS"] = str(folder / "deployments")
    os.environ["CROSSMARGIN_CACHE"] = str(folder / "cache")
    for attempt in range(3):
        node = Anvil(extra_args=["--gas-limit", "3000000000"]).start()
        try:
            with connect(node.uri) as session:
                file = str(Path(params).resolve()) if Path(params).is_file() else ""  # bots reload it from there
                deploy(session, load_params(params), fresh=True, params_file=file)
            return node
        except Exception:  # noqa: BLE001 - unpadded deploy gas estimate: retry on a fresh chain
            node.kill()
            if attempt == 2:
                raise


class Bench:
    def __init__(self, node):
        from crossmargin.bots.core import dev_key, web3_for
        from crossmargin.bots.reads import Deployment, HealthReader
        from crossmargin.bots.scenario import Scenario
        from crossmargin.chain.node import rpc

        self.node, self.rpc = node, rpc
        self.w3 = web3_for(node.uri, timeout=120)
        self.dep = Deployment.load(self.w3)
        self.sc = Scenario(self.w3, self.dep, dev_key(0), batch=True)
        self.maker_key, self.trader, self.keeper_key = dev_key(1), dev_key(2), dev_key(3)
        self.reader = HealthReader
        self.accounts: list[int] = []
        self.risky: list[int] = []

    def populate(self, n: int, risky: int) -> float:
        """`n` more trader accounts; the first `risky` of them leveraged (18-22 ETH on 10k USDC), the rest
        0.1-0.5 ETH on 5k USDC (the maker's position cap is 10,000 ETH). Interval mining with 3e9-gas blocks
        while populating."""
        started = time.perf_counter()
        self.rpc(self.node.uri, "evm_setIntervalMining", [1])
        if not self.accounts:
            [self.maker] = self.sc.open_accounts(self.maker_key, 1)
            self.sc.deposit(self.maker_key, [self.maker], "USDC", 20_000_000)
            [self.keeper] = self.sc.open_accounts(self.keeper_key, 1)
            self.sc.deposit(self.keeper_key, [self.keeper], "USDC", 2_000_000)
        ids = self.sc.open_accounts(self.trader, n)
        self.sc.deposit(self.trader, ids[:risky], "USDC", 10_000)
        self.sc.deposit(self.trader, ids[risky:], "USDC", 5_000)
        sizes = [18 + i % 5 for i in range(risky)] + [0.1 * (1 + i % 5) for i in range(n - risky)]
        self.sc.trade(self.maker_key, self.maker, self.trader, list(zip(ids, ["ETH-PERP"] * n, sizes)))
        self.accounts += ids
        self.risky += ids[:risky]
        return time.perf_counter() - started

    # -- scans ---------------------------------------------------------------------------------------------
    def scan_lens(self, ids: list[int], batch: int) -> tuple[float, int, list]:
        reader = self.reader(self.dep, batch=batch)
        reader.scan(ids[:10])  # warm-up
        t = time.perf_counter()
        rows = reader.scan(ids)
        return time.perf_counter() - t, reader.batch, rows

    def scan_each(self, ids: list[int]) -> tuple[float, list]:
        import requests
        from eth_abi import decode

        session = requests.Session()
        risk = self.dep.risk.address
        selector = self.dep.risk.encode_abi("margin", args=[0])[:10]
        out = []
        t = time.perf_counter()
        for a in ids:
            data = selector + a.to_bytes(32, "big").hex()
            reply = session.post(self.node.uri, json={"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                                                      "params": [{"to": risk, "data": data}, "latest"]}).json()
            out.append(decode(["int256", "int256", "uint256", "uint256", "uint8"], bytes.fromhex(reply["result"][2:])))
        return time.perf_counter() - t, out

    def scan_each_web3(self, ids: list[int]) -> float:
        reader = self.reader(self.dep, use_lens=False)
        t = time.perf_counter()
        reader.scan(ids)
        return time.perf_counter() - t

    def scan_rpc_batch(self, ids: list[int], chunk: int = 500) -> float:
        import requests
        from eth_abi import decode

        session = requests.Session()
        risk = self.dep.risk.address
        selector = self.dep.risk.encode_abi("margin", args=[0])[:10]
        t = time.perf_counter()
        for i in range(0, len(ids), chunk):
            body = [{"jsonrpc": "2.0", "id": j, "method": "eth_call",
                     "params": [{"to": risk, "data": selector + a.to_bytes(32, "big").hex()}, "latest"]}
                    for j, a in enumerate(ids[i:i + chunk])]
            for r in session.post(self.node.uri, json=body).json():
                decode(["int256", "int256", "uint256", "uint256", "uint8"], bytes.fromhex(r["result"][2:]))
        return time.perf_counter() - t

    def scans(self, n: int, batch: int) -> dict:
        """All methods on the same state: mining paused (perp funding accrues with block time)."""
        self.rpc(self.node.uri, "evm_setIntervalMining", [0])
        self.rpc(self.node.uri, "evm_setAutomine", [False])
        ids = self.accounts[:n]
        lens_s, used_batch, rows = self.scan_lens(ids, batch)
        each_s, each_rows = self.scan_each(ids)
        for h, (eq_im, eq_mm, im, mm, st) in zip(rows[:200], each_rows[:200]):
            assert (h.equity_mm, h.mm, h.equity_im, h.im, h.status) == (eq_mm, mm, eq_im, im, st)
        sample = ids[:min(n, 500)]
        web3_s = self.scan_each_web3(sample) * n / len(sample)
        batch_s = self.scan_rpc_batch(ids)
        return {"accounts": n, "lens_s": round(lens_s, 3), "lens_batch": used_batch,
                "per_account_s": round(each_s, 3), "per_account_web3_s": round(web3_s, 3),
                "rpc_batch_s": round(batch_s, 3), "speedup": round(each_s / lens_s, 1),
                "speedup_vs_web3": round(web3_s / lens_s, 1), "speedup_vs_rpc_batch": round(batch_s / lens_s, 1)}

    # -- liquidation latency -------------------------------------------------------------------------------
    def latency(self, folder: Path) -> dict:
        from crossmargin.chain.artifacts import artifact

        rpc, uri = self.rpc, self.node.uri
        rpc(uri, "evm_setBlockGasLimit", [hex(30_000_000)])
        rpc(uri, "evm_setIntervalMining", [1])
        self.sc.batch = False
        env = dict(os.environ, PATH=f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}")
        entry = _entry()
        procs = [subprocess.Popen([sys.executable, *entry, *args, "--network", uri, "--json", "--poll", "0.1"],
                                  cwd=ROOT, env=env, stdout=open(folder / f"{name}.jsonl", "w"),
                                  stderr=subprocess.DEVNULL, start_new_session=True)
                 for name, args in (("maker", ["agent", "maker", "--account", "TEST::1", "--account-id", str(self.maker)]),
                                    ("keeper", ["keeper", "run", "--account", "TEST::3", "--account-id", str(self.keeper)]))]
        try:
            _wait(lambda: _lines(folder / "keeper.jsonl", "loop"), 60)
            _wait(lambda: _lines(folder / "maker.jsonl", "loop"), 60)
            time.sleep(2)
            self.rpc(uri, "evm_setIntervalMining", [0])
            self.rpc(uri, "evm_setAutomine", [False])
            hashes = self.sc.send_many(self.sc.admin, [(self.sc.feed(k), "set_answer", [2600 * 10**8])
                                                       for k in ("feed:ETH", "feed2:ETH")], gas=150_000, wait=False)
            self.rpc(uri, "anvil_mine", ["0x1"])
            crash = self.sc.receipt(hashes[-1])["blockNumber"]
            self.rpc(uri, "evm_setIntervalMining", [1])
            rows = self.reader(self.dep).scan(self.accounts, block=crash)
            hit = {h.account for h in rows if h.liquidatable}
            liq = self.w3.eth.contract(address=self.dep.liquidation.address, abi=artifact("Liquidation").abi)
            first: dict[int, int] = {}
            deadline = time.monotonic() + 180
            while set(first) < hit and time.monotonic() < deadline:
                for log in liq.events.Bid().get_logs(from_block=crash):
                    first.setdefault(int(log["args"]["account"]), int(log["blockNumber"]))
                time.sleep(0.5)
        finally:
            for p in procs:
                p.send_signal(signal.SIGINT)
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        blocks = sorted(first[a] - crash for a in hit if a in first)
        loops = [r for r in _lines(folder / "keeper.jsonl", "loop") if r["block"] >= crash]
        return {"liquidatable": len(hit), "liquidated": len(blocks),
                "blocks_p50": statistics.median(blocks) if blocks else None, "blocks_max": max(blocks) if blocks else None,
                "keeper_scan_ms_p50": statistics.median(r["scan_ms"] for r in loops) if loops else None,
                "keeper_loop_ms_max": max((r["loop_ms"] for r in loops), default=None),
                "exit_codes": [p.returncode for p in procs]}


def _entry() -> list[str]:
    """The bots as users run them (`python -m crossmargin keeper|agent ...`): no reach into the CLI's internals."""
    return ["-m", "crossmargin"]


def _lines(path: Path, event: str | None) -> list[dict]:
    """The JSON lines of a bot's log (of one `event`, or all with None), skipping non-JSON lines."""
    out = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if event is None or rec.get("event") == event:
                out.append(rec)
    return out


def _wait(pred, timeout: float, what: str = "bot") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start")
        time.sleep(0.2)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--risky", type=int, default=50, help="leveraged accounts among the first 1,000")
    ap.add_argument("--batch", type=int, default=500, help="Lens batch (halved while the node's call gas cap refuses)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"

    results: dict = {"scans": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        node = deploy_chain(folder)
        results["deploy_s"] = round(time.perf_counter() - t, 1)
        try:
            bench = Bench(node)
            sizes = sorted(args.accounts)
            results["populate_s"] = round(bench.populate(sizes[0], min(args.risky, sizes[0])), 1)
            results["scans"].append(bench.scans(sizes[0], args.batch))
            results["latency"] = bench.latency(folder)
            for n in sizes[1:]:
                bench.rpc(node.uri, "evm_setBlockGasLimit", [hex(3_000_000_000)])
                bench.sc.batch = True
                results["populate_s"] += round(bench.populate(n - len(bench.accounts), 0), 1)
                results["scans"].append(bench.scans(n, args.batch))
        finally:
            node.stop()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print(results)
    return 0


def _print(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title="keeper scan: health of N accounts (seconds, lower is better)", title_justify="left")
    for c in ("accounts", "Lens", "batch", "eth_call per account", "per account (web3, scaled)", "JSON-RPC batch",
              "Lens speed-up", "vs web3", "vs batch"):
        t.add_column(c, justify="right")
    for s in r["scans"]:
        t.add_row(f"{s['accounts']:,}", f"{s['lens_s']:.3f}", str(s["lens_batch"]), f"{s['per_account_s']:.3f}",
                  f"{s['per_account_web3_s']:.3f}", f"{s['rpc_batch_s']:.3f}", f"{s['speedup']:.1f}x",
                  f"{s['speedup_vs_web3']:.1f}x", f"{s['speedup_vs_rpc_batch']:.1f}x")
    console.print(t)
    lat = r["latency"]
    t2 = Table(title="price move -> liquidation (keeper + maker processes, 1 s blocks, 30M gas blocks)",
               title_justify="left")
    for c in ("liquidatable", "liquidated", "blocks p50", "blocks max", "keeper scan ms p50", "keeper loop ms max"):
        t2.add_column(c, justify="right")
    t2.add_row(str(lat["liquidatable"]), str(lat["liquidated"]), str(lat["blocks_p50"]), str(lat["blocks_max"]),
               str(lat["keeper_scan_ms_p50"]), str(lat["keeper_loop_ms_max"]))
    console.print(t2)
    first = r["scans"][0]
    fast = first["lens_s"] <= 2.0
    console.print(f"targets, {first['accounts']:,} accounts: scan {first['lens_s']:.2f} s "
                  f"({'[green]met[/green]' if fast else '[red]missed[/red]'} <= 2 s); "
                  f"speed-up {first['speedup_vs_web3']:.0f}x over per-account web3 calls "
                  f"({'[green]met[/green]' if first['speedup_vs_web3'] >= 10 else '[red]missed[/red]'} >= 10x), "
                  f"{first['speedup']:.1f}x over a raw one-by-one HTTP loop "
                  f"({'[green]met[/green]' if first['speedup'] >= 10 else '[yellow]under 10x[/yellow]'}); "
                  f"deploy {r['deploy_s']} s, populate {r['populate_s']:.0f} s")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
