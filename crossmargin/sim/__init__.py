"""Simulation off chain: the numpy reference model (`crossmargin.model`) over many books and price paths.

    paths        correlated GBM with Merton jumps and a two-state vol regime (reproducible by seed)
    stress       stylised replays of documented crashes (2020-03-12, LUNA, FTX, 2024-08-05) with their figures
    books        books as arrays (`BookSet`) and a generator of random realistic ones
    engine       `requirements` vectorised over accounts (bit-equal to the model), and the walk along a path
                 with liquidations, bad debt and an insurance fund
    simulate     the `crossmargin simulate` run: cross vs isolated over scenarios; results dataclasses
    efficiency   the `crossmargin report efficiency` table: canonical books, cross / isolated / naive IM
    plots        PNG figures (matplotlib Agg)

Dependencies point one way: `sim` imports `crossmargin.model` only (DESIGN §2); the CLI sits on top.
"""
