import pytest

from search_spaces.errors import UserError
from search_spaces.ops import build_op, parse_spec


def test_parse_forms():
    assert parse_spec("nor_conv_3x3").family == "nor_conv"
    assert parse_spec("nor_conv_3x3").kernel == 3
    spec = parse_spec("ir_k5_e6_g2")
    assert (spec.family, spec.kernel, spec.expansion, spec.groups) == ("ir", 5, 6, 2)
    assert parse_spec("skip_connect").family == "skip_connect"


@pytest.mark.parametrize("text", ["", "Nor_Conv", "conv__3x3", "k3_e6", "a_k3_k5"])
def test_malformed_specs(text):
    with pytest.raises(UserError):
        parse_spec(text)


def test_unknown_op_lists_close_names():
    with pytest.raises(UserError, match="nor_conv_3x3"):
        build_op("nor_conv3x3", 4, 4)


def test_disallowed_option():
    with pytest.raises(UserError, match="kernel 9 is not allowed"):
        build_op("nor_conv_9x9", 4, 4)
    with pytest.raises(UserError, match="takes no expansion"):
        build_op("nor_conv_3x3_e2", 4, 4)
