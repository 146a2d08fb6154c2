"""Quality gate on the research sentiment data's val split (skipped when the data is absent)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "eval_nlp.py"
MIN_MACRO_F1 = 0.55


def _load_eval_script() -> ModuleType:
    # scripts/ is not a package: load the script by path under a name of its own.
    spec = importlib.util.spec_from_file_location("socialcare_eval_nlp", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


eval_nlp = _load_eval_script()


@pytest.mark.parametrize("lang", ["es", "en"])
def test_val_split_macro_f1(lang: str) -> None:
    path: Path = eval_nlp.DEFAULT_DATA / lang / "val.tsv"
    if not path.is_file():
        pytest.skip(f"sentiment data not available at {path}")
    report = eval_nlp.evaluate(eval_nlp.load_split(path), lang)
    assert report.macro_f1 >= MIN_MACRO_F1, report
    assert report.lang_accuracy >= 0.95, report


def test_macro_f1_helper() -> None:
    gold = ["negative", "neutral", "positive", "positive"]
    f1, per_label = eval_nlp.macro_f1(gold, gold)
    assert f1 == 1.0
    assert per_label == {"negative": 1.0, "neutral": 1.0, "positive": 1.0}
    f1, _ = eval_nlp.macro_f1(gold, ["neutral"] * 4)
    assert f1 == pytest.approx((0 + 2 * (1 / 4) / (1 / 4 + 1) + 0) / 3)


def test_script_exits_cleanly_without_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert eval_nlp.main(["--data", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_script_refuses_test_split(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        eval_nlp.main(["--data", str(tmp_path), "--split", "test"])
