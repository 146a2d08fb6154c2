"""Quality gate on the clean validation split of the sentiment data (skipped without it), and the
trainer: the shipped weights come from the project's own labelled posts only."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from services.ingest.enrichment.training import (
    PROJECT_DATA,
    clean_splits,
    dedupe_key,
    load_split,
    training_examples,
)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "eval_nlp.py"
TRAIN_SCRIPT = SCRIPT.with_name("train_sentiment.py")
# What the shipped model scores today (es 0.627, en 0.646), less a little: a drop is a regression.
# (Weights fitted on the research data scored 0.63 / 0.66; they may not ship, see its README.)
MIN_MACRO_F1 = {"es": 0.61, "en": 0.63}


def _load_script(path: Path) -> ModuleType:
    # scripts/ is not a package: load the script by path under a name of its own.
    spec = importlib.util.spec_from_file_location(f"socialcare_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


eval_nlp = _load_script(SCRIPT)
train_script = _load_script(TRAIN_SCRIPT)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_clean_val_split_macro_f1(lang: str) -> None:
    if not (eval_nlp.DEFAULT_DATA / lang / "val.tsv").is_file():
        pytest.skip(f"sentiment data not available at {eval_nlp.DEFAULT_DATA}")
    splits = clean_splits(eval_nlp.DEFAULT_DATA, lang)
    report = eval_nlp.evaluate(splits.validation, lang)
    assert report.macro_f1 >= MIN_MACRO_F1[lang], report
    assert report.lang_accuracy >= 0.95, report


@pytest.mark.parametrize("lang", ["es", "en"])
def test_clean_splits_share_no_text(lang: str) -> None:
    if not (eval_nlp.DEFAULT_DATA / lang / "val.tsv").is_file():
        pytest.skip(f"sentiment data not available at {eval_nlp.DEFAULT_DATA}")
    splits = clean_splits(eval_nlp.DEFAULT_DATA, lang)
    validation = [dedupe_key(e.text) for e in splits.validation]
    training = [dedupe_key(e.text) for e in splits.training]
    assert len(set(validation)) == len(validation)
    assert len(set(training)) == len(training)
    assert not set(validation) & set(training)
    if lang == "en":  # every English val text is also in extra_train: all of them left out
        assert splits.dropped_duplicates >= len(validation)


def test_clean_splits_deduplicate(tmp_path: Path) -> None:
    folder = tmp_path / "es"
    folder.mkdir()
    (folder / "val.tsv").write_text(
        "label\ttext\npositive\tMe encanta\npositive\t@user  me ENCANTA\n", encoding="utf-8"
    )
    (folder / "train.tsv").write_text(
        "label\ttext\npositive\tme encanta https://t.co/x\nnegative\tFatal\nnegative\tfatal\n",
        encoding="utf-8",
    )
    splits = clean_splits(tmp_path, "es")
    assert [e.text for e in splits.validation] == ["Me encanta"]
    assert [e.text for e in splits.training] == ["Fatal"]
    assert splits.dropped_duplicates == 1


def test_shipped_model_is_what_training_produces() -> None:
    # The project's posts ship with the repository: this runs everywhere.
    assert train_script.DEFAULT_DATA == PROJECT_DATA
    assert train_script.main(["--check"]) == 0
    document = json.loads(train_script.MODEL_PATH.read_text(encoding="utf-8"))
    assert document["trained_on"] == train_script.PROJECT_TRAINED_ON


@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("name", ["train.tsv", "extra_train.tsv"])
def test_project_posts_are_the_projects_own(lang: str, name: str) -> None:
    path = PROJECT_DATA / lang / name
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("#")
    assert "Written for socialcare" in first
    assert "Apache-2.0" in first
    examples = load_split(path)
    counts = Counter(e.label for e in examples)
    assert len(examples) >= 300
    assert min(counts.values()) >= 0.8 * max(counts.values()), counts  # roughly balanced
    assert len({dedupe_key(e.text) for e in examples}) == len(examples)
    research = eval_nlp.DEFAULT_DATA / lang
    if research.is_dir():  # no text of the research data is in the project's set
        theirs = {
            dedupe_key(e.text)
            for name in ("train.tsv", "val.tsv", "extra_train.tsv")
            if (research / name).is_file()
            for e in load_split(research / name)
        }
        assert not {dedupe_key(e.text) for e in examples} & theirs


@pytest.mark.parametrize("lang", ["es", "en"])
def test_project_files_share_no_text(lang: str) -> None:
    # Brand-directed posts (train) and everyday posts (extra_train) are all fitted on, each once.
    files = [load_split(PROJECT_DATA / lang / name) for name in ("train.tsv", "extra_train.tsv")]
    keys = [dedupe_key(e.text) for examples in files for e in examples]
    assert len(training_examples(PROJECT_DATA, lang)) == len(keys) == len(set(keys))


def test_trainer_fits_a_brands_own_posts(tmp_path: Path) -> None:
    lines = {
        "es": [
            "negative\tUn desastre, nadie contesta",
            "neutral\t¿Abrís el domingo?",
            "positive\tMe encanta, gracias",
        ],
        "en": [
            "negative\tAwful, nobody answers",
            "neutral\tAre you open on Sunday?",
            "positive\tLove it, thanks",
        ],
    }
    for lang, rows in lines.items():
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "train.tsv").write_text(
            "# a brand's own posts\nlabel\ttext\n" + "\n".join(rows * 4) + "\n", encoding="utf-8"
        )
    # Duplicates count once and no val file is needed.
    assert len(training_examples(tmp_path, "es")) == 3
    output = tmp_path / "model.json"
    assert train_script.main(["--data", str(tmp_path), "--output", str(output)]) == 0
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["trained_on"] == f"labelled posts in {tmp_path.name}"
    assert set(document["languages"]) == {"es", "en"}
    assert train_script.main(["--data", str(tmp_path), "--output", str(output), "--check"]) == 0


def test_trainer_refuses_a_folder_without_posts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "es").mkdir()
    assert train_script.main(["--data", str(tmp_path), "--output", str(tmp_path / "m.json")]) == 2
    assert "No labelled posts" in capsys.readouterr().err


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
