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
    ("sim", "enrollment"): "c6ebacfe783964f0",
    ("icebreaker", "enrollment"): "db58896eea8f8dd7",
    ("icebreaker", "deployment"): "725efd02a698b390",
    ("ulx3s-85f", "enrollment"): "799147a9c5eb3a2f",
    ("ulx3s-85f", "deployment"): "4a258fbda7a7ec2e",
    ("ulx3s-45f", "enrollment"): "799147a9c5eb3a2f",
    ("ulx3s-45f", "deployment"): "4a258fbda7a7ec2e",
}


def test_the_simulated_board_keeps_its_build_id():
    design, _, _ = _design()
    assert design.core.processor.build_id.hex() == BUILD_IDS["sim", "enrollment"]
    assert device_model(Condition()).info().build_id.hex() == BUILD_IDS["sim", "enrollment"]


@pytest.mark.parametrize("board, variant", [key for key in BUILD_IDS if key[0] != "sim"])
def test_every_board_variant_keeps_its_build_id(board, variant):
    top = DeviceTop(**device_top_kwargs(PROFILES[board], variant))
    assert top.core.processor.build_id.hex() == BUILD_IDS[board, variant]


def test_a_compact_key_path_has_its_own_build_id_and_needs_a_code():
    compact = PROFILES["icebreaker"].config("deployment")
    assert compact.compact_key_path and compact.code is not None
    assert replace(compact, compact_key_path=False).build_id != compact.build_id
    with pytest.raises(ValueError, match="compact key path needs a key path"):
        replace(compact, code=None, compact_key_path=True)
