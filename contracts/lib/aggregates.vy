# pragma version ~=0.4.3
"""
@title crossmargin crowding aggregates
@custom:contract-name aggregates
@license MIT
@notice The protocol-wide aggregates the crowding terms are priced on
        (TECH_SPEC "Crowding"): per underlying, the open interest summed over
        its instruments (Clearinghouse); per collateral token, the deposits of
        all accounts (Vault). Each is kept as its current value and a smoothed
        one that moves towards the current value over WINDOW seconds:

            A_s(t) = A_last + (A - A_last)·min(t - t_last, WINDOW) / WINDOW

        checkpointed (A_last = A_s(now), t_last = now) whenever A changes. The
        RiskEngine prices maintenance margin on A_s (a trade cannot move it in
        the block it lands in, so no trader can push another below MM by
        inflating the aggregate) and initial margin on max(A, A_s) (a newcomer
        pays today's crowding at once). Stateless: import with
        `from .lib import aggregates`; the Python model mirrors it
        (`crossmargin.model.margin.smoothed`).
@dev Rounding: a rising A_s rounds up, a falling one moves down by the floor
     of its step (A_s stays on the protocol's side either way).
"""


# @dev Seconds for the smoothed aggregate to reach a new current value (mirrored by the model's CROWDING_WINDOW).
WINDOW: constant(uint256) = 3_600
@internal
@pure
def _smoothed(_current: uint256, _last: uint256, _time: uint256, _now: uint256) -> uint256:
    """
    @notice A_s at `_now` from the current value and the last checkpoint.
    @param _current A (WAD units).
    @param _last A_last, A_s at the last checkpoint (WAD units).
    @param _time t_last, the checkpoint's time (0 = never: A_s = A).
    @param _now Block timestamp.
    @return A_s (WAD units).
    """
    dt: uint256 = min(_now - _time, WINDOW)
    if _current >= _last:
        return _last + ((_current - _last) * dt + WINDOW - 1) // WINDOW
    return _last - (_last - _current) * dt // WINDOW
