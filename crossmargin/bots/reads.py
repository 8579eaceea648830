"""What bots read, over plain web3: the deployment's contracts, the health of many accounts through the Lens
(one `eth_call` per batch), and the accounts that changed since a block (from events, `eth_getLogs`).

    dep = Deployment.load(w3)                       # manifest of this chain (deployments/<chain_id>.json)
    rows = HealthReader(dep).scan([3, 4, 5])        # [Health(account=3, equity_mm=..., ...), ...]
    index = AccountIndex(dep); index.sync(head)     # every account any event touched, with its last block
    index.changed_since(block)                      # accounts changed after `block`
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Iterable

from crossmargin.bots.core import BotError, guard
from crossmargin.chain.artifacts import artifact
from crossmargin.chain.manifest import Manifest, ManifestError
from crossmargin.model.params import Kind, MarketSpec, Params, load_params

WAD = 10**18
OK, DEGRADED, STALE, FAILED = 0, 1, 2, 255
STATUS = {OK: "OK", DEGRADED: "DEGRADED", STALE: "STALE", FAILED: "FAILED"}
# Event fields that name an account (uint256); anything else (addresses, amounts) is ignored by the index.
ACCOUNT_FIELDS = {"id", "account", "from_id", "to_id", "maker", "taker", "bidder", "starter"}
LOG_CHUNK = 5_000  # blocks per eth_getLogs request


def _abi(name: str) -> list:
    return artifact(name).abi


@dataclass
class Deployment:
    """One deployment's contracts as web3 objects, and its parameters (with listed expiries)."""

    w3: object
    manifest: Manifest
    params: Params

    @classmethod
    def load(cls, w3, chain_id: int | None = None, path=None) -> "Deployment":
        """The deployment file (`path`, else the command's `--deployment`, else CROSSMARGIN_DEPLOYMENT, else
        deployments/<chain_id>.json), checked against the node (same genesis, code at every contract)."""
        from crossmargin.chain.session import DEPLOYMENT_CHOICE

        cid = chain_id or guard(lambda: w3.eth.chain_id)
        try:
            manifest = Manifest.load(cid, path=path or DEPLOYMENT_CHOICE.get())
            guard(lambda: manifest.verify(w3))
        except ManifestError as exc:
            raise BotError(str(exc)) from None
        return cls(w3, manifest, load_params(manifest.params_ref))

    def contract(self, name: str, key: str | None = None):
        return self.w3.eth.contract(address=self.manifest.address(key or name), abi=_abi(name))

    def has(self, key: str) -> bool:
        return key in self.manifest.contracts

    def alive(self) -> bool:
        """The deployment is on chain and wired: each contract the bots call answers with the address of its
        neighbour (a dev chain reset to genesis has no code there; one being redeployed may hold other contracts
        at these addresses for a while, or not be wired yet)."""
        from crossmargin.bots.core import NodeDown

        links = (("Vault", "margin_checker", "RiskEngine"), ("Clearinghouse", "risk_engine", "RiskEngine"),
                 # the engine's `positions()` view left for bytes: `option_pricer` is wired right after it (deploy order)
                 ("RiskEngine", "option_pricer", "OptionPricer"), ("Liquidation", "risk_engine", "RiskEngine"),
                 ("Lens", "risk_engine", "RiskEngine"))
        for name, fn, other in links:
            if not (self.has(name) and self.has(other)):
                continue
            try:
                value = guard(lambda name=name, fn=fn: getattr(self.contract(name).functions, fn)().call())
            except NodeDown:
                raise
            except Exception:  # noqa: BLE001 - no code, other code, or not wired yet
                return False
            if str(value).lower() != self.manifest.address(other).lower():
                return False
        return True

    @cached_property
    def vault(self):
        return self.contract("Vault")

    @cached_property
    def clearinghouse(self):
        return self.contract("Clearinghouse")

    @cached_property
    def risk(self):
        return self.contract("RiskEngine")

    @cached_property
    def router(self):
        return self.contract("OracleRouter")

    @cached_property
    def markets(self):
        return self.contract("Markets")

    @cached_property
    def lens(self):
        return self.contract("Lens") if self.has("Lens") else None

    @cached_property
    def liquidation(self):
        return self.contract("Liquidation") if self.has("Liquidation") else None

    def token(self, symbol: str):
        return self.w3.eth.contract(address=self.manifest.token(symbol), abi=_abi("mocks/MockERC20"))

    @cached_property
    def listed(self) -> Params:
        return self.params.listed(int(self.manifest.parameters.get("listed_at", 0)))

    def linear_markets(self, now: int) -> list[MarketSpec]:
        """PERPs and FUTUREs still trading at unix time `now`."""
        return [m for m in self.listed.markets
                if m.kind is Kind.PERP or (m.kind is Kind.FUTURE and (m.expiry or 0) > now + 60)]

    def perp(self, underlying_id: int) -> MarketSpec | None:
        sym = self.params.underlying(underlying_id).symbol
        return next((m for m in self.listed.markets if m.kind is Kind.PERP and m.underlying == sym), None)

    def prices(self, block="latest") -> dict[int, tuple[int, int]]:
        """{underlying id: (price WAD, status)} from the OracleRouter."""
        out = {}
        for u in self.params.underlyings:
            price, status = guard(lambda u=u: self.router.functions.price(u.id).call(block_identifier=block))
            out[u.id] = (int(price), int(status))
        return out

    def owner_of(self, account_id: int) -> str:
        return guard(lambda: self.vault.functions.owner_of(account_id).call())

    def check_operable(self, account_id: int, address: str) -> None:
        owner = self.owner_of(account_id)
        if int(owner, 16) == 0:
            raise BotError(f"account {account_id} does not exist")
        if not guard(lambda: self.vault.functions.is_authorized(account_id, address).call()):
            raise BotError(f"{address} is neither the owner nor an operator of account {account_id}")

    def accounts_of(self, owner: str) -> list[int]:
        """Accounts opened by `owner` (AccountOpened events since the deployment)."""
        logs = guard(lambda: self.vault.events.AccountOpened().get_logs(
            from_block=self.manifest.start_block, argument_filters={"owner": owner}))
        return [int(log["args"]["id"]) for log in logs]


# ---------------------------------------------------------------------------------------------------------
# health
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Health:
    """One account's margin (WAD USD) and auction flag, as `Lens.health` returns it."""

    account: int
    equity_mm: int
    mm: int
    equity_im: int
    im: int
    status: int
    in_auction: bool = False

    @property
    def liquidatable(self) -> bool:
        return self.status != FAILED and self.mm > self.equity_mm

    @property
    def mm_shortfall(self) -> int:
        return self.mm - self.equity_mm

    @property
    def ratio(self) -> float:
        """equity_im / IM (inf without requirement)."""
        return float(Decimal(self.equity_im) / Decimal(self.im)) if self.im else float("inf")

    @property
    def mm_ratio(self) -> float:
        return float(Decimal(self.equity_mm) / Decimal(self.mm)) if self.mm else float("inf")

    def usd(self, field: str) -> float:
        return getattr(self, field) / WAD


class HealthReader:
    """`scan(accounts)`: health rows through the Lens, `batch` accounts per `Lens.health` call and all the calls
    of a scan in one JSON-RPC batch (the node runs them in parallel; the margin math's EVM work is the floor).
    A call the node refuses (its eth_call gas cap) is split in two, and later scans use the smaller batch.
    Without a Lens in the deployment: one `RiskEngine.margin` call per account."""

    HEALTH = "(uint256,int256,uint256,int256,uint256,uint8,bool)[]"

    def __init__(self, dep: Deployment, batch: int = 250, use_lens: bool = True, calls_per_request: int = 16,
                 liquidation_mode: bool = False):
        self.dep, self.batch = dep, max(1, min(batch, 500))
        self.lens = dep.lens if use_lens else None
        # liquidation mode (`Lens.health_for_liquidation`, when the deployed Lens has it): rows as the
        # Liquidation contract judges them (stale inputs penalised instead of reported STALE)
        self.fn = "health"
        if liquidation_mode and self.lens is not None and any(
                x.get("name") == "health_for_liquidation" for x in self.lens.abi):
            self.fn = "health_for_liquidation"
        self.calls_per_request = calls_per_request
        self.calls = 0
        self._rpc = None

    def scan(self, accounts: Iterable[int], block="latest") -> list[Health]:
        ids = list(accounts)
        if self.lens is None:
            return [self.one(a, block) for a in ids]
        if self._rpc is None:
            from crossmargin.bots.core import RawRPC

            self._rpc = RawRPC(self.dep.w3.provider.endpoint_uri, timeout=60)
        tag = block if isinstance(block, str) else hex(block)
        out: list[Health] = []
        chunks = [ids[i:i + self.batch] for i in range(0, len(ids), self.batch)]
        for i in range(0, len(chunks), self.calls_per_request):
            out.extend(self._request(chunks[i:i + self.calls_per_request], tag))
        return out

    def _request(self, chunks: list[list[int]], tag: str) -> list[Health]:
        from eth_abi import decode

        from crossmargin.bots.txs import encode_call

        results = self._rpc.batch([("eth_call", [{"to": self.lens.address,
                                                  "data": encode_call(self.lens, self.fn, [c])}, tag])
                                   for c in chunks])
        out: list[Health] = []
        for chunk, (ok, data) in zip(chunks, results):
            if not ok:  # too much gas for one call: halve (and remember it)
                if len(chunk) == 1:
                    raise BotError(f"Lens.health failed for account {chunk[0]}: {data}")
                half = len(chunk) // 2
                self.batch = max(1, min(self.batch, half))
                out.extend(self._request([chunk[:half], chunk[half:]], tag))
                continue
            self.calls += 1
            raw = bytes.fromhex(data.removeprefix("0x"))
            rows = _health_rows(raw)
            if rows is None:
                (rows,) = decode([self.HEALTH], raw)
            out.extend(Health(int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), bool(r[6]))
                       for r in rows)
        return out

    def one(self, account: int, block="latest") -> Health:
        """The slow path (and the benchmark's baseline): one `RiskEngine.margin` eth_call."""
        self.calls += 1
        try:
            eq_im, eq_mm, im, mm, status = guard(
                lambda: self.dep.risk.functions.margin(account).call(block_identifier=block))
        except Exception as exc:  # noqa: BLE001 - reverting account: reported, like the Lens does
            from crossmargin.bots.core import NodeDown

            if isinstance(exc, NodeDown):
                raise
            return Health(account, 0, 0, 0, 0, FAILED)
        return Health(account, int(eq_mm), int(mm), int(eq_im), int(im), int(status))


def _health_rows(raw: bytes) -> list[tuple] | None:
    """`Lens.health` rows (a dynamic array of 7-word static tuples) read word by word: eth-abi's decoder costs
    ~50 ms per 1,000 rows, this ~2 ms. None when the layout is not the plain one (eth-abi then decodes)."""
    if len(raw) < 64 or int.from_bytes(raw[:32], "big") != 32:
        return None
    n = int.from_bytes(raw[32:64], "big")
    if len(raw) != 64 + 224 * n:
        return None
    half = 1 << 255
    rows = []
    for b in range(64, 64 + 224 * n, 224):
        w = [int.from_bytes(raw[b + 32 * k:b + 32 * k + 32], "big") for k in range(7)]
        w[1] -= (w[1] >= half) << 256   # int256 equity_mm
        w[3] -= (w[3] >= half) << 256   # int256 equity_im
        rows.append(w)
    return rows


# ---------------------------------------------------------------------------------------------------------
# accounts changed since a block
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _EventShape:
    name: str
    topics: tuple[int, ...]   # indexes into log topics (1-based) holding account ids
    data: tuple[int, ...]     # indexes into the decoded data tuple holding account ids
    data_types: tuple[str, ...]


def _is_account_field(inp: dict) -> bool:
    name = inp["name"].lstrip("_")
    return inp["type"] == "uint256" and (name in ACCOUNT_FIELDS or name.endswith("account"))


def event_shapes(abi: list) -> dict[bytes, _EventShape]:
    """topic0 -> where the account ids sit, for every event of `abi` that names an account."""
    from eth_utils import event_abi_to_log_topic

    shapes = {}
    for item in abi:
        if item.get("type") != "event":
            continue
        topics, data, types = [], [], []
        t = 1
        for inp in item["inputs"]:
            if inp.get("indexed"):
                if _is_account_field(inp):
                    topics.append(t)
                t += 1
            else:
                if _is_account_field(inp):
                    data.append(len(types))
                types.append(inp["type"])
        if topics or data:
            shapes[bytes(event_abi_to_log_topic(item))] = _EventShape(item["name"], tuple(topics), tuple(data),
                                                                       tuple(types))
    return shapes


class AccountIndex:
    """Every account an event of the Vault, the Clearinghouse or the Liquidation contract touched, with the last
    block it changed in. `sync(to_block)` reads the logs after the last synced block and returns the accounts
    that changed; `changed_since(block)` lists them for any earlier block."""

    def __init__(self, dep: Deployment, from_block: int | None = None):
        self.dep = dep
        self.sources = [dep.manifest.address(k) for k in ("Vault", "Clearinghouse", "Liquidation") if dep.has(k)]
        self.shapes: dict[bytes, _EventShape] = {}
        for name in ("Vault", "Clearinghouse", "Liquidation"):
            if dep.has(name):
                self.shapes.update(event_shapes(_abi(name)))
        self.start = dep.manifest.start_block if from_block is None else from_block
        self.last_block = self.start - 1
        self.accounts: dict[int, int] = {}
        self.events = 0

    def reset(self) -> None:
        self.last_block, self.accounts, self.events = self.start - 1, {}, 0

    def sync(self, to_block: int) -> set[int]:
        changed: set[int] = set()
        lo = self.last_block + 1
        while lo <= to_block:
            hi = min(to_block, lo + LOG_CHUNK - 1)
            logs = self._logs(lo, hi)
            for log in logs:
                for account in self.accounts_in(log):
                    changed.add(account)
                    self.accounts[account] = int(log["blockNumber"], 16)
            self.events += len(logs)
            self.last_block = hi
            lo = hi + 1
        return changed

    def _logs(self, lo: int, hi: int) -> list[dict]:
        """The raw `eth_getLogs` reply (hex strings): web3's result formatters cost ~10 ms per 100 logs, 0.2-0.5 s
        a block for a keeper under a crash."""
        from crossmargin.bots.core import NodeDown, RawRPC

        if getattr(self, "_rpc", None) is None:
            self._rpc = RawRPC(self.dep.w3.provider.endpoint_uri, timeout=60)
        [(ok, logs)] = self._rpc.batch([("eth_getLogs", [{"address": self.sources, "fromBlock": hex(lo),
                                                          "toBlock": hex(hi)}])])
        if not ok:
            raise NodeDown(f"eth_getLogs: {logs}")
        return logs

    def accounts_in(self, log) -> list[int]:
        """Accounts named by one log (raw hex strings, or web3's bytes)."""
        from eth_abi import decode

        if not log["topics"]:
            return []
        topics = [bytes.fromhex(t[2:]) if isinstance(t, str) else bytes(t) for t in log["topics"]]
        shape = self.shapes.get(topics[0])
        if shape is None:
            return []
        found = [int.from_bytes(topics[t], "big") for t in shape.topics if t < len(topics)]
        if shape.data:
            data = log["data"]
            values = decode(list(shape.data_types), bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data))
            found += [int(values[i]) for i in shape.data]
        return [a for a in found if a > 0]

    def changed_since(self, block: int) -> list[int]:
        return sorted(a for a, b in self.accounts.items() if b > block)


def changed_accounts(dep: Deployment, from_block: int, to_block: int | None = None) -> list[int]:
    """Accounts touched by an event in blocks (from_block, to_block]: the one-shot form of `AccountIndex`."""
    index = AccountIndex(dep, from_block=from_block + 1)
    index.sync(to_block if to_block is not None else guard(lambda: dep.w3.eth.block_number))
    return sorted(index.accounts)
