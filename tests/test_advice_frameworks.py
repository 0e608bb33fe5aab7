"""Advice speaks the framework that wrote the log, in that framework's real API.

- the framework is guessed from the format and the TensorBoard tag layout, and
  ``--framework`` overrides it (JSON carries ``framework``);
- every snippet, for every log in ``sample_logs/`` and ``../shared/real_logs*/`` and in
  every framework, parses and calls framework functions only with argument names their
  current signatures have (``tests/api_table.py``, versions in ``api_table.VERSIONS``);
- Keras snippets run against a tiny real Keras model and do what the advice says.
"""

from __future__ import annotations

import ast
import inspect
import json
import math

import numpy as np
import pytest
import real_corpus as rc
from api_table import API, FROM_DOCSTRING, VERSIONS
from make_api_table import resolve
from snippet_api import calls_in, is_framework
from typer.testing import CliRunner

from loganalyzer.advice import AdviceContext, advise, build_action
from loganalyzer.analysis import analyze, to_run
from loganalyzer.cli import app
from loganalyzer.findings import Finding
from loganalyzer.framework import FRAMEWORKS, guess
from loganalyzer.rulepack import ADVICE_ACTIONS


def _check_snippet(code: str, framework: str, where: str) -> list[str]:
    """Problems with one snippet: it must parse, and every framework call must be in the
    table with known argument names."""
    try:
        calls = calls_in(code, framework)
    except SyntaxError as exc:
        return [f"{where}: does not parse: {exc}"]
    problems = []
    for name, kws, _ in calls:
        if not is_framework(name):
            continue
        if name not in API:
            problems.append(f"{where}: {name} is not in the API table")
            continue
        unknown = set(kws) - set(API[name])
        if unknown:
            problems.append(f"{where}: {name} has no argument {sorted(unknown)}")
    return problems


# ----------------------------------------------------------------- framework guess


def test_framework_is_guessed_from_each_format_of_the_corpus():
    rc.need_real()
    expected = {"keras-json": "keras", "keras-csv": "keras", "hf-trainer": "hf"}
    seen = set()
    for rr in rc.analysis().runs:
        fmt = rr.run.format
        if fmt in expected:
            assert rr.framework == expected[fmt], rr.run.sources
        seen.add((fmt, rr.framework))
    # TensorBoard: Keras's epoch_ tags (sample_logs) and Lightning's loggers
    assert rc.result_for(rc.SAMPLES / "overfit" / "tensorboard").framework == "keras"
    fish = rc.REAL / "Mormolykos__trainproof" / "evidence" / "fish_lightning_feb2026"
    assert rc.result_for(fish).framework == "lightning"
    assert rc.result_for(rc.LABELED / "other" / "218_fap2" / "metrics.csv").framework == (
        "lightning"
    )
    assert {f for _, f in seen} >= {"keras", "hf", "lightning"}


@pytest.mark.parametrize(
    "tags,framework",
    [
        ({"train/loss": 1.0, "train/learning_rate": 1e-4, "train/grad_norm": 0.5}, "hf"),
        ({"Loss/train": 1.0, "Loss/val": 1.1}, "pytorch"),
        ({"train_loss_step": 1.0, "train_loss_epoch": 1.0, "val_loss": 1.1}, "lightning"),
    ],
)
def test_tensorboard_tag_layout_names_the_writer(tmp_path, tags, framework):
    """Event files written by tensorboardX (what the Trainer and plain PyTorch use)."""
    tbx = pytest.importorskip("tensorboardX")
    writer = tbx.SummaryWriter(str(tmp_path / "run"))
    for step in range(1, 8):
        for tag, value in tags.items():
            writer.add_scalar(tag, value / step, step * 10)
    if framework == "hf":
        for step in range(1, 8):
            writer.add_scalar("eval/loss", 1.2 / step, step * 10)
    writer.close()
    (rr,) = analyze(str(tmp_path)).runs
    assert rr.framework == framework, guess(rr.run)


def test_framework_option_overrides_the_guess_and_json_carries_it():
    log = str(rc.SAMPLES / "overfit" / "history.json")
    runner = CliRunner()
    guessed = json.loads(runner.invoke(app, ["analyze", log, "-f", "json"]).stdout)
    assert guessed["runs"][0]["framework"] == "keras"
    out = runner.invoke(app, ["analyze", log, "-f", "json", "--framework", "lightning"])
    run = json.loads(out.stdout)["runs"][0]
    assert run["framework"] == "lightning"
    es = next(a for a in run["advice"] if a["action"] == "early-stopping")
    assert "lightning.pytorch.callbacks" in es["code"] and "keras" not in es["code"]
    bad = runner.invoke(app, ["analyze", log, "--framework", "jax"])
    assert bad.exit_code == 2


def test_report_takes_the_framework_option(tmp_path):
    out = tmp_path / "r.md"
    log = str(rc.SAMPLES / "overfit" / "history.json")
    result = CliRunner().invoke(app, ["report", log, "-o", str(out), "--framework", "hf"])
    assert result.exit_code == 0, result.output
    assert "EarlyStoppingCallback" in out.read_text()


# ----------------------------------------------------------------- the API bar


def test_every_snippet_of_every_log_parses_and_uses_real_argument_names():
    """Every advice of every log in its guessed framework *and* in the three others."""
    rc.need_real()
    problems, checked, seen = [], 0, set()
    for rr in rc.analysis().runs:
        for fw in FRAMEWORKS:
            advice = rr.advice if fw == rr.framework else advise(rr.run, rr.findings, framework=fw)
            for a in advice:
                problems += _check_snippet(a.code, fw, f"{rr.run.name} {fw} {a.action}")
                checked += 1
                seen.add((fw, a.action))
    assert not problems, "\n".join(problems[:20])
    assert checked > 900
    for fw in FRAMEWORKS:  # the corpus exercises most actions in every framework
        assert len({a for f, a in seen if f == fw}) >= 12, (fw, sorted(seen))


def _minimal_ctx(action: str, framework: str) -> AdviceContext:
    t = np.arange(30)
    run = to_run(
        {
            "loss": 1.0 - 0.02 * t,
            "val_loss": np.r_[1.0 - 0.03 * t[:15], 0.55 + 0.02 * (t[15:] - 15)],
            "learning_rate": np.zeros(30) if action == "fix-lr" else np.full(30, 1e-3),
            "grad_norm": 0.5 + 0.01 * t,
        }
    )
    f = Finding("LA999", "noisy", "warning", "val_loss", 0, 29, "x", {"noise_to_trend": 2.0})
    ctx = AdviceContext(run, action, [f], [f])
    ctx.context.framework = framework
    return ctx


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("action", ADVICE_ACTIONS)
def test_every_action_has_a_valid_snippet_in_every_framework(action, framework):
    a = build_action(_minimal_ctx(action, framework))
    assert a is not None
    assert not _check_snippet(a.code, framework, action)
    for v in a.params.values():
        assert v is None or isinstance(v, (bool, int, str)) or math.isfinite(v)


def test_table_versions_and_docstring_rows_are_recorded():
    assert set(VERSIONS) == {"keras", "transformers", "lightning", "torch", "peft"}
    for name in FROM_DOCSTRING:
        assert API[name] and name.startswith("torch.")
    # renamed arguments are what the table is for: transformers 5 has no evaluation_strategy
    assert "eval_strategy" in API["transformers.TrainingArguments"]
    assert "evaluation_strategy" not in API["transformers.TrainingArguments"]


def test_keras_table_matches_the_installed_keras():
    keras = pytest.importorskip("keras")
    for name, params in API.items():
        if not name.startswith("keras."):
            continue
        sig = inspect.signature(resolve(name))
        live = [
            n for n, p in sig.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        live = [n for n in live if n != "self"]
        if keras.__version__ == VERSIONS["keras"]:
            assert tuple(live) == params, name
        else:  # another Keras: what the table lists must still exist
            assert set(params) <= set(live), (name, keras.__version__)


# ----------------------------------------------------------------- Keras snippets run


@pytest.fixture(scope="module")
def keras_env():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0], dtype="float32"))[:, None]

    def build_model():
        m = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
        )
        m.compile(
            optimizer=keras.optimizers.SGD(0.01), loss="mse", metrics=["mae"], run_eagerly=True
        )
        return m

    return keras, build_model, x, y


def _namespace(keras_env) -> dict:
    keras, build_model, x, y = keras_env
    return {
        "model": build_model(),
        "build_model": build_model,
        "x_train": x[:16],
        "y_train": y[:16],
        "x_val": x[16:],
        "y_val": y[16:],
        "loss": "mse",
        "metrics": ["mae"],
        "input_shape": (4,),
        "num_classes": 3,
        "x": keras.Input((4,)),
        "BATCH_SIZE": 8,
        "EPOCHS": 2,
    }


def _keras_snippets() -> dict[str, tuple]:
    """One Keras snippet per action: from the sample logs where they call for it, from a
    minimal context otherwise; epochs capped so the suite stays fast."""
    out = {}
    for rr in rc.analysis().runs:
        if rr.framework == "keras" and rr.run.format != "tensorboard":
            for a in rr.advice:
                out.setdefault(a.action, (a, rr.run.name))
    for action in ADVICE_ACTIONS:
        if action not in out:
            out[action] = (build_action(_minimal_ctx(action, "keras")), "minimal")
    return out


def _fast(code: str) -> str:
    """Cap every ``epochs=N`` of a snippet at 3 (``initial_epoch`` stays below it) and
    make ``fit``/``evaluate`` quiet: the suite stays fast, the calls stay real."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("epochs", "initial_epoch"):
            node.value = ast.Constant(2 if node.arg == "initial_epoch" else 3)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("fit", "evaluate"):
            node.keywords = [k for k in node.keywords if k.arg != "verbose"]
            node.keywords.append(ast.keyword("verbose", ast.Constant(0)))
    return ast.unparse(tree)


def test_keras_snippets_run_against_a_tiny_model(keras_env):
    keras = keras_env[0]
    snippets = _keras_snippets()
    assert set(snippets) == set(ADVICE_ACTIONS)
    for action, (a, source) in snippets.items():
        ns = _namespace(keras_env)
        try:
            exec(compile(_fast(a.code), f"<{action} from {source}>", "exec"), ns)  # noqa: S102
        except Exception as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{action} ({source}) failed: {exc}\n{a.code}") from exc
        opt = getattr(ns["model"], "optimizer", None)
        p = a.params
        if action == "early-stopping":
            es = ns["early_stopping"]
            assert isinstance(es, keras.callbacks.EarlyStopping)
            assert (es.patience, es.monitor) == (p["patience"], p["monitor"])
        elif action in ("lower-lr", "raise-lr", "fix-lr") and "learning_rate" in p:
            assert math.isclose(float(opt.learning_rate), p["learning_rate"], rel_tol=1e-5)
        elif action == "clip-gradients":
            assert opt.clipnorm == p["clipnorm"]
        elif action == "regularize":
            assert math.isclose(float(ns["l2"].l2), p["factor"], rel_tol=1e-6)
        elif action == "dropout":
            rates = [
                layer.rate
                for layer in ns["model"].layers
                if isinstance(layer, keras.layers.Dropout)
            ]
            assert rates and all(r == p["rate"] for r in rates)
        elif action == "lr-schedule":
            assert ns["reduce_lr"].patience == p["patience"]
        elif action == "normalize-inputs":
            out = keras.Model(ns["inputs"], ns["x"])(ns["x_train"])
            assert np.allclose(np.mean(np.asarray(out), axis=0), 0.0, atol=1e-4)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_untrusted_metric_names_cannot_become_code(framework):
    """A log's metric name ends up in strings and comments of every framework's snippet;
    a newline in it must not start a line of code."""
    name = 'val_loss")\nimport os\nos.system("x'
    t = np.arange(12)
    run = to_run(
        {
            "loss": 1.0 - 0.05 * t,
            "val_loss": [1.0, 0.8, 0.65, 0.6, 0.58, 0.6, 0.64, 0.7, 0.75, 0.8, 0.86, 0.9],
        }
    )
    run.original_names["val_loss"] = name
    run.format = {"keras": "keras-json", "hf": "hf-trainer", "lightning": "lightning-csv"}.get(
        framework, "tensorboard"
    )
    f = Finding("LA101", "overfitting", "warning", "val_loss", 4, 11, "x", {"gl": 50.0})
    plateau = Finding("LA104", "plateau", "warning", "val_loss", 4, 11, "x", {"metric": "val_loss"})
    for a in advise(run, [f, plateau], framework=framework):
        tree = ast.parse(a.code)
        assert not [
            n for n in ast.walk(tree) if isinstance(n, ast.Import) and n.names[0].name == "os"
        ], (
            a.action,
            a.code,
        )
