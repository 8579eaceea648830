"""Populate a dev chain quickly, over plain web3: many accounts, deposits, trades against a maker, oracle moves.

For the bots' tests, the keeper benchmark and the demo, where Ape's ~25 ms per transaction is too slow for
thousands of accounts. Transactions of one key are signed locally and sent back to back (consecutive nonces,
no waiting), then their receipts are checked together.

    sc = Scenario(w3, dep, admin=dev_key(0))
    ids = sc.open_accounts(trader, 20)
    sc.deposit(trader, ids, "USDC", 10_000)
    sc.trade(maker, maker_account, trader, [(a, "ETH-PERP", 5.0) for a in ids], price=3000)
    sc.set_price("ETH", 2400)
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal

from eth_account.signers.local import LocalAccount

from crossmargin.bots.reads import Deployment
from crossmargin.chain.orders import Order, sign_order

WAD = 10**18


class ScenarioError(RuntimeError):
    pass


@dataclass
class Scenario:
    w3: object
    dep: Deployment
    admin: LocalAccount                   # the deployer: mock feeds, vol feeder
    gas_price: int = 3 * 10**9
    unlocked: bool = True                 # dev node: let it sign for its own accounts (eth_sendTransaction);
                                          # eth-account's pure-Python signer costs ~7 ms per transaction
    batch: bool = False                   # send as JSON-RPC batches: only with interval mining (an automining
                                          # node may take a batch out of nonce order and leave a gap pending)
    _nonces: dict[str, int] = field(default_factory=dict)

    # -- transactions ----------------------------------------------------------------------------------
    def send_many(self, key: LocalAccount, calls: list[tuple], gas: int = 1_500_000, wait: bool = True) -> list:
        """Send `(contract, fn, args)` calls from `key` back to back; returns receipts (all must succeed)."""
        nonce = self._nonces.get(key.address)
        if nonce is None:
            nonce = self.w3.eth.get_transaction_count(key.address, "pending")
        cid = self.w3.eth.chain_id
        txs = []
        for contract, fn, args in calls:
            txs.append({"to": contract.address, "data": contract.encode_abi(fn, args=list(args)), "value": 0,
                        "gas": gas, "gasPrice": self.gas_price, "nonce": nonce, "chainId": cid})
            nonce += 1
        if self.unlocked:
            hashes = self._rpc_batch("eth_sendTransaction", [[{
                "from": key.address, "to": t["to"], "data": t["data"], "gas": hex(t["gas"]),
                "gasPrice": hex(t["gasPrice"]), "nonce": hex(t["nonce"]), "chainId": hex(cid)}] for t in txs],
                chunk=250 if self.batch else 1)
        else:
            hashes = ["0x" + bytes(self.w3.eth.send_raw_transaction(key.sign_transaction(t).raw_transaction)).hex()
                      .removeprefix("0x") for t in txs]
        self._nonces[key.address] = nonce
        if not wait:
            return hashes
        receipts = self.receipts(hashes)
        bad = [(c[1], r["transactionHash"]) for c, r in zip(calls, receipts) if int(r["status"], 16) != 1]
        if bad:
            fn, h = bad[0]
            raise ScenarioError(f"{len(bad)} of {len(calls)} transactions reverted, first: {fn} {h}: "
                                f"{self._reason(h)}")
        return receipts

    def _rpc_batch(self, method: str, params: list[list], chunk: int = 250) -> list:
        """JSON-RPC batches over one HTTP session (web3's per-call formatting costs ~4 ms per transaction)."""
        import requests

        if not hasattr(self, "_http"):
            self._http = requests.Session()
        uri = self.w3.provider.endpoint_uri
        out = []
        for i in range(0, len(params), chunk):
            body = [{"jsonrpc": "2.0", "id": j, "method": method, "params": p}
                    for j, p in enumerate(params[i:i + chunk])]
            replies = sorted(self._http.post(uri, json=body, timeout=120).json(), key=lambda r: r["id"])
            for r in replies:
                if "error" in r:
                    raise ScenarioError(f"{method}: {r['error'].get('message', r['error'])}")
                out.append(r["result"])
        return out

    def receipts(self, hashes: list, timeout: float = 120.0) -> list[dict]:
        """Receipts of `hashes` (raw JSON: hex strings), waiting until all are mined."""
        deadline = time.monotonic() + timeout
        got: dict[str, dict] = {}
        while True:
            missing = [h for h in hashes if h not in got]
            for h, r in zip(missing, self._rpc_batch("eth_getTransactionReceipt", [[h] for h in missing])):
                if r is not None:
                    got[h] = r
            if len(got) == len(hashes):
                return [got[h] for h in hashes]
            if time.monotonic() > deadline:
                raise ScenarioError(f"{len(hashes) - len(got)} transactions not mined in {timeout:.0f}s")
            time.sleep(0.05)

    def receipt(self, tx_hash, timeout: float = 60.0):
        from web3.exceptions import TransactionNotFound

        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                if time.monotonic() > deadline:
                    raise ScenarioError(f"transaction {tx_hash} not mined in {timeout:.0f}s") from None
                time.sleep(0.02)

    def _reason(self, tx_hash: str) -> str:
        tx = self.w3.eth.get_transaction(tx_hash)
        try:
            self.w3.eth.call({"from": tx["from"], "to": tx["to"], "data": tx["input"]}, tx["blockNumber"] - 1)
        except Exception as exc:  # noqa: BLE001 - the reason is in the message
            return str(exc).splitlines()[0]
        return "?"

    def forget_nonces(self) -> None:
        self._nonces.clear()

    # -- accounts and collateral -------------------------------------------------------------------------
    def open_accounts(self, owner: LocalAccount, n: int) -> list[int]:
        receipts = self.send_many(owner, [(self.dep.vault, "open_account", [0])] * n, gas=200_000)
        topic = str(self.dep.vault.events.AccountOpened().topic).lower()
        vault = self.dep.vault.address.lower()
        return [int(log["topics"][1], 16) for r in receipts for log in r["logs"]
                if log["address"].lower() == vault and log["topics"][0].lower() == topic]

    def units(self, symbol: str, amount) -> int:
        decimals = self.dep.params.collateral(symbol).decimals
        return int(Decimal(str(amount)) * 10**decimals)

    def mint(self, to: str, symbol: str, amount) -> None:
        token = self.dep.token(symbol)
        self.send_many(self.admin, [(token, "mint", [to, self.units(symbol, amount)])], gas=100_000)

    def deposit(self, payer: LocalAccount, accounts: list[int], symbol: str, amount_each, mint: bool = True,
                wait: bool = True) -> None:
        """`amount_each` token units of `symbol` into each account, paid (and on dev chains minted) by `payer`;
        `wait=False` only sends (to land in a block mined by hand with other transactions)."""
        token = self.dep.token(symbol)
        units = self.units(symbol, amount_each)
        total = units * len(accounts)
        calls = []
        if mint:
            calls.append((token, "mint", [payer.address, total]))
        # exactly what these deposits take, never an unlimited allowance: they use it up (a failed batch leaves at
        # most `total`, which the next call's approve overwrites)
        calls.append((token, "approve", [self.dep.vault.address, total]))
        calls += [(self.dep.vault, "deposit", [a, token.address, units]) for a in accounts]
        self.send_many(payer, calls, gas=250_000, wait=wait)

    # -- trades ------------------------------------------------------------------------------------------
    def order(self, maker: LocalAccount, maker_account: int, instrument: int, is_buy: bool, size_wad: int,
              price_wad: int, ttl: int = 3600) -> tuple[Order, bytes]:
        now = self.w3.eth.get_block("latest")["timestamp"]
        order = Order(account=maker_account, instrument=instrument, is_buy=is_buy, size=size_wad,
                      limit_price=price_wad, nonce=secrets.randbits(64), expiry=now + ttl, fee_rate=0)
        return order, sign_order(maker.key, order, self.w3.eth.chain_id, self.dep.clearinghouse.address)

    def trade(self, maker: LocalAccount, maker_account: int, taker: LocalAccount,
              fills: list[tuple[int, str | int, float]], price: float | None = None) -> None:
        """Each `(taker_account, instrument, size)`: the taker buys `size` (sells if negative) from the maker at
        `price` (default: the oracle price), from one signed maker order per instrument and side."""
        groups: dict[tuple[int, bool], list[tuple[int, int]]] = {}
        for account, instrument, size in fills:
            spec = self.dep.listed.market(instrument if isinstance(instrument, int) else str(instrument))
            groups.setdefault((spec.id, size > 0), []).append((account, int(Decimal(str(abs(size))) * WAD)))
        calls = []
        for (iid, taker_buys), rows in groups.items():
            spec = self.dep.listed.market(iid)
            px = price if price is not None else self.price(spec.underlying)
            order, sig = self.order(maker, maker_account, iid, not taker_buys, sum(s for _, s in rows),
                                    int(Decimal(str(px)) * WAD))
            calls += [(self.dep.clearinghouse, "fill", [order.as_tuple(), sig, s, a]) for a, s in rows]
        self.send_many(taker, calls, gas=1_500_000)

    # -- oracles -------------------------------------------------------------------------------------------
    def price(self, symbol: str) -> float:
        u = self.dep.params.underlying(symbol)
        return int(self.dep.router.functions.price(u.id).call()[0]) / WAD

    def set_price(self, symbol: str, price: float, secondary_only: bool = False, wait: bool = True) -> None:
        """Move the mock feeds of `symbol` (both, or only the secondary to make them disagree)."""
        u = self.dep.params.underlying(symbol)
        answer = int(Decimal(str(price)) * 10**u.feed_decimals)
        keys = [f"feed2:{u.symbol}"] if secondary_only else [f"feed:{u.symbol}", f"feed2:{u.symbol}"]
        calls = [(self.feed(k), "set_answer", [answer]) for k in keys if self.dep.has(k)]
        self.send_many(self.admin, calls, gas=150_000, wait=wait)

    def set_prices(self, prices: dict[str, float], wait: bool = True) -> None:
        calls = []
        for symbol, price in prices.items():
            u = self.dep.params.underlying(symbol)
            answer = int(Decimal(str(price)) * 10**u.feed_decimals)
            calls += [(self.feed(k), "set_answer", [answer]) for k in (f"feed:{symbol}", f"feed2:{symbol}")
                      if self.dep.has(k)]
        self.send_many(self.admin, calls, gas=150_000, wait=wait)

    def break_feed(self, symbol: str, broken: bool = True) -> None:
        """Make the primary (and secondary) feed of `symbol` revert: an oracle outage (its price goes STALE)."""
        calls = [(self.feed(k), "set_reverts", [broken]) for k in (f"feed:{symbol}", f"feed2:{symbol}")
                 if self.dep.has(k)]
        self.send_many(self.admin, calls, gas=100_000)

    def feed(self, key: str):
        from crossmargin.chain.artifacts import artifact

        return self.w3.eth.contract(address=self.dep.manifest.address(key), abi=artifact("mocks/MockAggregator").abi)
