"""The classifier on the real bundled splits with the packaged MiniLM.

Fine-tuning runs are tiny (a few dozen claims, 64 tokens) so the fast suite stays quick; the
heavy tests run the CLI on the whole training split.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patentlab.cli import main
from patentlab.data import sample_path
from patentlab.errors import PatentlabError

#: The "Usage" section of the green-patent model card (seed 000), verbatim; only its indentation,
#: lost on the card's web page, is restored.
CARD_USAGE = """\
import torch
from transformers import AutoTokenizer, AutoModel
tokenizer = AutoTokenizer.from_pretrained("YOUR_USERNAME/PatentSBERTa-green-finetuned")
encoder = AutoModel.from_pretrained("YOUR_USERNAME/PatentSBERTa-green-finetuned")
classifier = torch.nn.Linear(768, 2)
classifier.load_state_dict(torch.load("classifier_head.pt", map_location="cpu"))
encoder.eval()
classifier.eval()
claim = "A method for converting solar radiation into electrical energy using photovoltaic cells arranged in a panel configuration with maximum power point tracking."
inputs = tokenizer(claim, return_tensors="pt", truncation=True, max_length=384, padding=True)
with torch.no_grad():
    outputs = encoder(**inputs)
mask = inputs["attention_mask"].unsqueeze(-1).expand(outputs.last_hidden_state.size()).float()
pooled = (outputs.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
logits = classifier(pooled)
probs = torch.softmax(logits, dim=1)
prediction = torch.argmax(logits, dim=1).item()
label = "Green" if prediction == 1 else "Non-Green"
confidence = probs[0][prediction].item()
print(f"Prediction: {label} (confidence: {confidence:.4f})")
"""  # noqa: E501
SMALL = {"epochs": 2, "batch_size": 8, "lr": 1e-4, "warmup_steps": 1, "max_length": 64, "checkpoint_every": 1}


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATENTLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def splits(demo_corpus, tmp_path_factory):
    from patentlab.corpus.split import split_corpus

    out = tmp_path_factory.mktemp("splits")
    split_corpus(demo_corpus, out)
    return out


@pytest.fixture(scope="module")
def train_data(splits):
    from patentlab.classify.data import load_labeled

    return load_labeled(splits / "train_silver.parquet")


@pytest.fixture(scope="module")
def eval_data(splits):
    from patentlab.classify.data import load_labeled

    return load_labeled(splits / "eval_silver.parquet")


@pytest.fixture(scope="module")
def small_train(train_data):
    """32 balanced claims from train_silver."""
    from patentlab.classify.data import LabeledTexts

    idx = np.concatenate([np.flatnonzero(train_data.labels == c)[:16] for c in (0, 1)])
    return LabeledTexts(
        texts=[train_data.texts[i] for i in idx],
        labels=train_data.labels[idx],
        ids=[train_data.ids[i] for i in idx],
        y02=train_data.y02[idx],
        source="small",
    )


@pytest.fixture(scope="module")
def trained(small_train, eval_data, tmp_path_factory):
    from patentlab.classify.train import TrainConfig, train

    out = tmp_path_factory.mktemp("run") / "finetuned"
    epochs = []
    result = train(
        small_train,
        out,
        TrainConfig(**SMALL),
        eval_data=eval_data,
        on_epoch=epochs.append,
        show_progress=False,
    )
    return result, epochs


def weighted_loss(model, data) -> float:
    probs = model.predict_proba(data.texts)
    return float(-np.mean(np.log(probs[np.arange(len(data)), data.labels])))


def test_splits_and_gold_load_with_labels(train_data, eval_data):
    from patentlab.classify.data import load_gold

    assert len(train_data) == 168 and train_data.labels.sum() == 84
    assert len(eval_data) == 20 and eval_data.y02 is not None
    gold = load_gold(sample_path("hitl_gold_100.csv"), weight=5)
    assert len(gold) == 100 and gold.labels.sum() == 38
    assert set(gold.weights) == {5.0}
    both = train_data.concat(gold)
    assert len(both) == 268 and both.weights.sum() == 168 + 500


def test_baseline_fits_saves_and_reloads(train_data, eval_data, tmp_path):
    from patentlab.classify.baseline import FrozenEncoderClassifier

    clf = FrozenEncoderClassifier("minilm", max_length=128, class_weight="balanced")
    clf.fit(train_data.texts, train_data.labels)
    probs = clf.predict_proba(eval_data.texts, show_progress=False)
    assert probs.shape == (20, 2)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    assert (probs.argmax(1) == eval_data.labels).mean() >= 0.6  # well above chance on real claims
    clf.save_pretrained(tmp_path / "baseline")
    again = FrozenEncoderClassifier.from_pretrained(tmp_path / "baseline")
    np.testing.assert_allclose(again.predict_proba(eval_data.texts, show_progress=False), probs, atol=1e-6)
    with pytest.raises(PatentlabError, match="single class"):
        clf.fit(train_data.texts[:3], [1, 1, 1])


def test_metrics_match_the_card_layout(tmp_path):
    from patentlab.classify.metrics import binary_metrics, write_report

    y = [0, 0, 1, 1, 1, 0, 1, 0]
    p = [0.1, 0.7, 0.8, 0.4, 0.9, 0.2, 0.6, 0.3]
    m = binary_metrics(y, p)
    assert m["confusion_matrix"] == [[3, 1], [1, 3]]
    assert m["accuracy"] == pytest.approx(0.75) and m["f1"] == pytest.approx(0.75)
    assert "Non-Green (0)" in m["report"] and "macro avg" in m["report"]
    write_report(m, y, p, tmp_path, "test")
    assert {"report.md", "report.json", "confusion_matrix.png", "calibration.png"} <= {
        f.name for f in tmp_path.iterdir()
    }
    assert (tmp_path / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_fine_tuning_lowers_the_training_loss(trained, small_train):
    from patentlab.classify.model import GreenClassifier

    result, epochs = trained
    assert [row["epoch"] for row in epochs] == [1, 2]
    assert set(epochs[0]) >= {"train_loss", "eval_loss", "accuracy", "precision", "recall", "f1"}
    before = GreenClassifier.from_base("minilm", max_length=SMALL["max_length"], device="cpu")
    after = GreenClassifier.from_pretrained(result.model_dir, device="cpu")
    assert weighted_loss(after, small_train) < weighted_loss(before, small_train) - 0.05
    history = json.loads((result.model_dir.parent / "history.json").read_text())
    assert history["complete"] and not (result.model_dir.parent / "checkpoint").exists()


def test_resume_after_interruption_gives_the_same_run(trained, small_train, eval_data, tmp_path):
    from patentlab.classify.data import LabeledTexts
    from patentlab.classify.train import TrainConfig, train

    def interrupt(step: int, loss: float) -> None:
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(
            small_train,
            tmp_path,
            TrainConfig(**SMALL),
            eval_data=eval_data,
            on_step=interrupt,
            show_progress=False,
        )
    assert (tmp_path / "checkpoint" / "state.pt").exists()
    resumed = train(small_train, tmp_path, TrainConfig(**SMALL), eval_data=eval_data, show_progress=False)
    assert resumed.resumed_from_step == 3
    reference, _ = trained
    for got, want in zip(resumed.history, reference.history, strict=True):
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-4)
        assert got["eval_loss"] == pytest.approx(want["eval_loss"], rel=1e-4)
    again = train(small_train, tmp_path, TrainConfig(**SMALL), eval_data=eval_data, show_progress=False)
    assert again.reused  # a finished run is returned, not retrained
    one_class = LabeledTexts(texts=["A claim.", "Another claim."], labels=np.array([1, 1]), ids=["1", "2"])
    with pytest.raises(PatentlabError, match="single class"):
        train(one_class, tmp_path / "x", TrainConfig(**SMALL))


def test_card_snippet_loads_a_patentlab_model(trained, tmp_path):
    """The card's usage code, unchanged but for the paths and 768 -> the model's dim."""
    result, _ = trained
    model_dir = result.model_dir
    code = CARD_USAGE.replace('"YOUR_USERNAME/PatentSBERTa-green-finetuned"', repr(str(model_dir)))
    code = code.replace('"classifier_head.pt"', repr(str(model_dir / "classifier_head.pt")))
    code = code.replace("Linear(768, 2)", "Linear(384, 2)")
    claim = re.search(r'claim = "(.*?)"', code).group(1)
    scope: dict = {}
    exec(compile(code, "card_usage", "exec"), scope)
    card_p_green = scope["probs"][0][1].item()

    pd.DataFrame({"text": [claim]}).to_csv(tmp_path / "one.csv", index=False)
    assert (
        main(
            [
                "classify",
                "predict",
                str(tmp_path / "one.csv"),
                "--model",
                str(model_dir),
                "--out",
                str(tmp_path / "one_out.csv"),
            ]
        )
        == 0
    )
    cli_p_green = pd.read_csv(tmp_path / "one_out.csv")["p_green"][0]
    assert cli_p_green == pytest.approx(card_p_green, abs=1e-5)
    assert scope["label"] == ("Green" if cli_p_green >= 0.5 else "Non-Green")


def test_evaluate_cli_writes_reports_and_the_iteration_table(trained, splits, tmp_path):
    result, _ = trained
    for data, name in (
        (splits / "eval_silver.parquet", "eval_silver"),
        (sample_path("hitl_gold_100.csv"), None),
    ):
        args = [
            "classify",
            "evaluate",
            "--model",
            str(result.model_dir),
            "--data",
            str(data),
            "--out",
            str(tmp_path / (name or "gold")),
            "--run-dir",
            str(tmp_path),
        ]
        assert main(args + (["--name", name] if name else [])) == 0
    report = json.loads((tmp_path / "eval_silver" / "report.json").read_text())
    assert report["n"] == 20 and len(report["confusion_matrix"]) == 2
    assert (tmp_path / "gold" / "calibration.png").exists()
    rows = json.loads((tmp_path / "iterations.json").read_text())
    assert [r["eval_set"] for r in rows] == ["eval_silver", "hitl_gold_100"]
    assert rows[1]["n"] == 100
    assert "| Iteration |" in (tmp_path / "iterations.md").read_text()


def test_predict_reports_bad_rows_and_keeps_the_rest(trained, tmp_path, capsys):
    from patentlab.classify.predict import predict_file

    result, _ = trained
    good = "A wind turbine comprising a rotor and a generator."
    (tmp_path / "in.csv").write_bytes(
        b"id,text\n1," + good.encode() + b'\n2,\n3,caf\xe9 claim\n4,"A battery, with a cell."\n'
    )
    report = predict_file(
        result.model_dir, tmp_path / "in.csv", tmp_path / "out.parquet", show_progress=False
    )
    assert report.rows == 4 and report.written == 2
    assert report.skipped == [(2, "empty text"), (3, "not valid UTF-8")]
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["id"].tolist() == ["1", "4"] and set(out["label"]) <= {0, 1}
    assert out["p_green"].between(0, 1).all()

    (tmp_path / "in.jsonl").write_bytes(b'{"claims": ["' + good.encode() + b'"]}\n{not json\n\xff\xfe\n')
    assert (
        main(
            [
                "classify",
                "predict",
                str(tmp_path / "in.jsonl"),
                "-m",
                str(result.model_dir),
                "-o",
                str(tmp_path / "out.jsonl"),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "row 2: not valid JSON" in err and "row 3: not valid UTF-8" in err
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 1


def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys):
    assert main(["classify", "evaluate", "--model", str(tmp_path), "--data", str(tmp_path / "x.csv")]) == 2
    (tmp_path / "nolabel.csv").write_text("text\nA claim.\n")
    (tmp_path / "m").mkdir()
    assert (
        main(["classify", "baseline", "--train", str(tmp_path / "nolabel.csv"), "--out", str(tmp_path / "b")])
        == 2
    )
    (tmp_path / "badlabel.csv").write_text("text,is_green\nA claim.,1\nAnother.,maybe\n")
    with pytest.raises(PatentlabError, match="row 2"):
        from patentlab.classify.data import load_labeled

        load_labeled(tmp_path / "badlabel.csv")
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error:") == 2


def test_cli_help_is_fast_and_lists_the_verbs():
    out = subprocess.run(
        [str(Path(sys.executable).with_name("patentlab")), "classify", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    for verb in ("baseline", "train", "evaluate", "predict", "iterations"):
        assert verb in out.stdout


@pytest.mark.heavy
def test_cli_train_with_gold_and_y02_head(splits, tmp_path):
    args = [
        "classify",
        "train",
        "--train",
        str(splits / "train_silver.parquet"),
        "--eval",
        str(splits / "eval_silver.parquet"),
        "--gold",
        str(sample_path("hitl_gold_100.csv")),
        "--gold-weight",
        "5",
        "--eval-gold",
        str(sample_path("hitl_gold_100.csv")),
        "--out",
        str(tmp_path / "ft"),
        "--epochs",
        "1",
        "--max-length",
        "128",
        "--lr",
        "5e-5",
        "--warmup-steps",
        "2",
        "--y02-head",
    ]
    assert main(args) == 0
    config = json.loads((tmp_path / "ft" / "model" / "patentlab_classifier.json").read_text())
    assert config["train_examples"] == 268 and config["y02_categories"][0] == "Y02A"
    report = json.loads((tmp_path / "ft" / "eval_eval_silver" / "report.json").read_text())
    assert set(report["y02"]) == {"Y02A", "Y02B", "Y02C", "Y02D", "Y02E", "Y02P", "Y02T", "Y02W"}
    rows = json.loads((tmp_path / "iterations.json").read_text())
    assert {r["eval_set"] for r in rows} == {"eval_silver", "hitl_gold_100"}
    assert all("gold (x5)" in r["method"] for r in rows)


@pytest.mark.heavy
def test_cli_baseline_on_the_whole_split(splits, tmp_path):
    args = [
        "classify",
        "baseline",
        "--train",
        str(splits / "train_silver.parquet"),
        "--eval",
        str(splits / "eval_silver.parquet"),
        "--gold",
        str(sample_path("hitl_gold_100.csv")),
        "--out",
        str(tmp_path / "baseline"),
        "--chunk",
    ]
    assert main(args) == 0
    report = json.loads((tmp_path / "baseline" / "eval_eval_silver" / "report.json").read_text())
    assert report["f1"] > 0.5
    assert main(["classify", "iterations", str(tmp_path)]) == 0


def test_experts_cli_builds_the_demos_final_model_and_predict_reads_it(splits, tmp_path):
    """`classify experts`: LR (C by CV) + Y02 prior + TF-IDF on real claims, evaluated and loaded."""
    run = tmp_path / "run"
    code = main(
        [
            "classify", "experts", "--train", str(splits / "train_silver.parquet"),
            "--out", str(run / "experts"), "--gold", str(sample_path("hitl_gold_100.csv")),
        ]
    )  # fmt: skip
    assert code == 0
    assert json.loads((run / "experts" / "prior.json").read_text())["experts"] == [
        "baseline",
        "y02_scorer",
        "lexical",
    ]
    assert (run / "experts" / "lexical" / "lexical.npz").exists()
    rows = json.loads((run / "iterations.json").read_text())
    assert rows[-1]["method"] == "MiniLM LR + Y02 prior + TF-IDF" and rows[-1]["n"] == 100
    assert rows[-1]["auc"] is not None and rows[-1]["kappa"] is not None
    (tmp_path / "in.csv").write_text("id,text\n1,A photovoltaic module comprising a solar cell.\n")
    assert (
        main(
            [
                "classify",
                "predict",
                str(tmp_path / "in.csv"),
                "-m",
                str(run / "experts"),
                "-o",
                str(tmp_path / "o.csv"),
            ]
        )
        == 0
    )
    out = pd.read_csv(tmp_path / "o.csv")
    assert 0.0 <= out["p_green"][0] <= 1.0 and out["label"][0] in (0, 1)
