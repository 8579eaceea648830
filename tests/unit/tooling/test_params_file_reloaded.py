"""A deployment made from a parameter file (not a named set) records the file, and the bots reload that file."""

from crossmargin.chain.manifest import Manifest
from crossmargin.cli.deploy import _params_file
from crossmargin.model.params import PARAMS_DIR, load_params


def test_a_named_set_records_only_its_name():
    assert _params_file("default") == "" and _params_file("demo") == ""
    assert _params_file(str(PARAMS_DIR / "demo.toml")) == ""      # a shipped set, by its path: still the name
    assert Manifest(chain_id=1, network="x", params_name="demo").params_ref == "demo"


def test_a_file_is_recorded_by_its_absolute_path_and_reloaded(tmp_path, monkeypatch):
    f = tmp_path / "slow-chain.toml"
    f.write_text('extends = "default"\n[liquidation]\nauction_seconds = 900\n')
    monkeypatch.chdir(tmp_path)
    recorded = _params_file("slow-chain.toml")                      # relative, as a user types it
    assert recorded == str(f.resolve())
    manifest = Manifest(chain_id=1, network="x", params_name=load_params(f).name, params_file=recorded)
    monkeypatch.chdir("/")                                          # a bot started elsewhere
    reloaded = load_params(manifest.params_ref)
    assert reloaded.liquidation.auction_seconds == 900
    assert load_params("default").liquidation.auction_seconds != 900   # the set's name alone would not do it
