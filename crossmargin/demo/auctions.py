"""The crash's liquidations as the Liquidation contract logged them (what happened on chain, whoever bid).

Every `AuctionStarted`, `Bid`, `BadDebt` and `AuctionClosed` event from `from_block` on, in USD (floats), each
filed at the crash minute its block belongs to; a bid also carries the value sold, the discount paid in USD and
its gas (from the receipt).
"""

from __future__ import annotations

import bisect

WAD = 10**18
CLOSED = {1: "back above MM", 2: "emptied (insolvent)", 3: "closed (no longer below MM)"}


def liquidation_events(dep, from_block: int, step_blocks: list[tuple[int, int]]) -> list[dict]:
    """`step_blocks`: (first block, crash seconds) of every step, in order."""
    liq, w3 = dep.liquidation, dep.w3
    firsts = [b for b, _ in step_blocks]

    def at(log) -> int:
        i = bisect.bisect_right(firsts, log["blockNumber"]) - 1
        return step_blocks[max(i, 0)][1]

    out = []
    for name in ("AuctionStarted", "Bid", "BadDebt", "AuctionClosed"):
        for log in getattr(liq.events, name)().get_logs(from_block=from_block):
            a = log["args"]
            row = {"t": at(log), "block": log["blockNumber"], "log_index": log["logIndex"], "account": int(a["account"])}
            if name == "AuctionStarted":
                row.update(event="auction started", mm_shortfall=(a["mm"] - a["equity_mm"]) / WAD,
                           flag_fee=a["flag_fee"] / WAD, insolvent=bool(a["insolvent"]))
            elif name == "Bid":
                fraction = a["fraction"] / WAD
                sold = fraction * a["value"] / WAD
                receipt = w3.eth.get_transaction_receipt(log["transactionHash"])
                row.update(event="bid", bidder=int(a["bidder_account"]), fraction=fraction, value_sold=sold,
                           discount=a["discount"] / WAD, payment=a["payment"] / WAD,
                           discount_usd=sold - a["payment"] / WAD, fund_fee=a["fund_fee"] / WAD,
                           gas=int(receipt["gasUsed"]))
            elif name == "BadDebt":
                row.update(event="bad debt", shortfall=a["shortfall"] / WAD, fund_paid=a["fund_paid"] / WAD,
                           socialised=a["socialized"] / WAD, absorbed=a["absorbed"] / WAD)
            else:
                row.update(event="auction closed", reason=CLOSED.get(int(a["reason"]), str(a["reason"])))
            out.append(row)
    return sorted(out, key=lambda r: (r["block"], r["log_index"]))
