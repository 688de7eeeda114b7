# amaranth: UnusedElaboratable=no
"""The device configuration: every existing build keeps its build id byte for byte."""

from dataclasses import replace

import pytest

from ropuf.boards.profiles import PROFILES
from ropuf.boards.top import device_top_kwargs
from ropuf.gateware.core.device_top import DeviceTop
from ropuf.sim.board import Condition, _design, device_model

#: INFO's build id of every configuration that exists (records and reports name these).
BUILD_IDS = {
    ("sim", "enrollment"): "a5c233e7fd0235c7",  # the identity joined it (revision 2: verified SIGN)
    ("sim-icebreaker", "enrollment"): "32b2b118468679dd",
    ("icebreaker", "enrollment"): "f4e8bf8d0ea32706",
    ("icebreaker", "deployment"): "814fdc27bab534e8",
    ("ulx3s-85f", "enrollment"): "cc9bb5f1102c3d9f",  # the identity joined these four (rev. 2)
    ("ulx3s-85f", "deployment"): "3af22e1133d4c072",
    ("ulx3s-45f", "enrollment"): "cc9bb5f1102c3d9f",
    ("ulx3s-45f", "deployment"): "3af22e1133d4c072",
    ("ulx3s-25f", "enrollment"): "cd09f0238b587b54",
    ("ulx3s-25f", "deployment"): "50729416fa51370b",
    ("ulx3s-12f", "enrollment"): "781567aeac0eafe8",
    ("ulx3s-12f", "deployment"): "c1e4cb4b2506f627",
}


def test_the_simulated_board_keeps_its_build_id():
    design, _, _ = _design()
    assert design.core.processor.build_id.hex() == BUILD_IDS["sim", "enrollment"]
    assert device_model(Condition()).info().build_id.hex() == BUILD_IDS["sim", "enrollment"]
    icebreaker = device_model(Condition(board="icebreaker")).info().build_id.hex()
    assert icebreaker == BUILD_IDS["sim-icebreaker", "enrollment"]


@pytest.mark.parametrize(
    "board, variant", [key for key in BUILD_IDS if not key[0].startswith("sim")]
)
def test_every_board_variant_keeps_its_build_id(board, variant):
    top = DeviceTop(**device_top_kwargs(PROFILES[board], variant))
    assert top.core.processor.build_id.hex() == BUILD_IDS[board, variant]


def test_a_compact_key_path_has_its_own_build_id_and_needs_a_code():
    compact = PROFILES["icebreaker"].config("deployment")
    assert compact.compact_key_path and compact.code is not None
    assert replace(compact, compact_key_path=False).build_id != compact.build_id
    with pytest.raises(ValueError, match="compact key path needs a key path"):
        replace(compact, code=None, compact_key_path=True)


def test_an_identity_has_its_own_build_id_and_needs_a_code():
    config = PROFILES["ulx3s-85f"].config("deployment")
    assert config.identity and not PROFILES["icebreaker"].config("deployment").identity
    assert replace(config, identity=False).build_id.hex() == BUILD_IDS["ulx3s-25f", "deployment"]
    with pytest.raises(ValueError, match="identity needs a key path"):
        replace(config, code=None)
