"""FLOPs of pruned models follow their real shapes (shape plan), not config.json."""

from __future__ import annotations

from emocompress.measure.flops import EncoderShape, text_flops


def _layer(n: int, h: int, a: int, i: int) -> int:
    return 2 * n * (3 * h * a + a * h + 2 * h * i) + 4 * n * n * a


def test_shape_plan_widths_replace_the_config_widths_layer_by_layer():
    shape = EncoderShape(layers=2, hidden=32, intermediate=64, labels=28, pooler=True)
    plan = {
        "modules": {
            "bert.encoder.layer.0.attention.self.query": {"type": "Linear", "out_features": 16},
            "bert.encoder.layer.1.intermediate.dense": {"type": "Linear", "out_features": 24},
            "bert.encoder.layer.1.attention.self.key": {"type": "Linear", "out_features": 16},
        }
    }
    head = 2 * 32 * 32 + 2 * 32 * 28
    assert text_flops(shape, 10) == 2 * _layer(10, 32, 32, 64) + head
    planned = shape.with_plan(plan)
    assert planned.attention_widths == (16, 32) and planned.intermediates == (64, 24)
    assert text_flops(planned, 10) == _layer(10, 32, 16, 64) + _layer(10, 32, 32, 24) + head
    assert shape.with_plan(None) is shape
