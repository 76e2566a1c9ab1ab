"""Teacher anchors benchmark: what K human grades per question add to zero-shot scoring, questions held out.

    python benchmarks/bench_anchors.py [--eval-dir ../shared/eval] [--draws 100] [--embedder use-multilingual]

Both dev sets are pooled as `harness calibrate` pools them; every question is
scored by a calibration that never saw it (the harness's group k-fold,
10 folds over questions) and corrected by anchors with a prior
(`scoring.anchors.fit_prior`) fitted on the *other* questions' out-of-fold
residuals only (nested: inside each outer fold's training questions, a
5-fold split gives the residuals the prior is fitted on). Nothing is tuned
on the evaluated question.

Random anchors: K answers of each question drawn at random (`--draws`
times), Pearson r pooled over the set's other answers, next to the zero-shot
r on exactly those answers. Chosen anchors: each question's answers split at
random into a pool (2/3) and an evaluation third; 5 anchors from the pool
chosen by `scoring.anchors.choose` (what `grade --suggest-anchors` does) or
at random; r on the evaluation third. "pq" is the mean per-question r.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from harness.bank.importer import import_questions
from harness.encoders import get_encoder
from harness.scoring import calibration as cal_mod
from harness.scoring.anchors import AnchorPrior, choose, condition, corrected, fit_prior, group_residuals
from harness.scoring.evaluation import features, off_topic_negatives, read_graded
from harness.scoring.scorer import Scorer

REPO = Path(__file__).resolve().parents[1]
SETS = ("mohler_dev", "ads_dev")
KS = (3, 5, 10, 20)
FOLDS, INNER = 10, 5


@dataclass(frozen=True, eq=False)
class Pooled:
    """Both sets' real answers (then the off-topic negatives), as `harness calibrate` stacks them."""

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    real: np.ndarray
    vectors: np.ndarray  # real answers only (zero rows for blanks)
    set_of: np.ndarray  # real answers only: index into SETS


def pooled(eval_dir: Path, embedder: str, tmp: Path) -> Pooled:
    """Features and answer vectors of both dev sets, each graded against a bank imported from its questions."""
    encoder = get_encoder(embedder, cache_dir=tmp / "cache")
    xs, ys, gs, real, vecs, sets = [], [], [], [], [], []
    for s, name in enumerate(SETS):
        bank = import_questions(eval_dir / f"{name}_questions.csv", tmp / name)
        graded = read_graded(eval_dir / f"{name}_answers.csv")
        scorer = Scorer(bank, encoder, None)
        analyses = scorer.analyse_many(list(zip(graded.question_ids, graded.answers)))
        dim = next(a.answer.vector.shape[0] for a in analyses if a.answer is not None)
        vecs.append(np.stack([a.answer.vector if a.answer is not None else np.zeros(dim) for a in analyses]))
        x, _ = features(scorer, graded)
        neg = off_topic_negatives(graded)
        x_neg, _ = features(scorer, neg)
        for xx, gg, is_real in ((x, graded, True), (x_neg, neg, False)):
            xs.append(xx)
            ys.append(gg.target)
            gs.append(np.array([f"{name}/{q}" for q in gg.question_ids]))
            real.append(np.full(len(gg.question_ids), is_real))
        sets.append(np.full(len(graded.answers), s))
    return Pooled(np.vstack(xs), np.concatenate(ys), np.concatenate(gs), np.concatenate(real),
                  np.vstack(vecs), np.concatenate(sets))


@dataclass(frozen=True, eq=False)
class HeldOut:
    """Per real answer: the zero-shot score (questions held out) and the prior its question is corrected with."""

    f: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    vectors: np.ndarray
    set_of: np.ndarray
    priors: dict[str, AnchorPrior]


def held_out(p: Pooled) -> HeldOut:
    """Outer group k-fold predictions; per outer fold a prior fitted on the training questions' inner residuals."""
    f = cal_mod.cross_val_predict(p.x, p.y, p.groups, p.real, folds=FOLDS)
    priors: dict[str, AnchorPrior] = {}
    real_index = np.cumsum(p.real) - 1  # row -> index among the real answers
    for train, test in GroupKFold(n_splits=FOLDS).split(p.x, p.y, p.groups):  # cross_val_predict's split
        inner = cal_mod.cross_val_predict(p.x[train], p.y[train], p.groups[train], p.real[train], folds=INNER)
        keep = p.real[train] & (np.abs(p.vectors[real_index[train]]).sum(axis=1) > 0)
        rows = train[keep]
        data = group_residuals(p.y[rows] - inner[keep], p.vectors[real_index[rows]], inner[keep], p.groups[rows])
        prior = fit_prior(data)
        for q in np.unique(p.groups[test]):
            priors[str(q)] = prior
    r = p.real
    return HeldOut(f[r], p.y[r], p.groups[r], p.vectors, p.set_of, priors)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r (nan when either side is constant)."""
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def summary(h: HeldOut, preds: dict[str, tuple[np.ndarray, np.ndarray]], s: int) -> tuple[float, float]:
    """(pooled r, mean per-question r) over set `s`'s questions; preds: question -> (rows, scores)."""
    qs = [q for q in preds if h.set_of[preds[q][0][0]] == s]
    rows = np.concatenate([preds[q][0] for q in qs])
    scores = np.concatenate([preds[q][1] for q in qs])
    per_q = [pearson(preds[q][1], h.y[preds[q][0]]) for q in qs]
    return pearson(scores, h.y[rows]), float(np.nanmean(per_q))


def adjust(h: HeldOut, q: str, rows: np.ndarray, anchors: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Scores of `others` corrected by the grades of `anchors` (indices into `rows`)."""
    prior = h.priors[q]
    a, o = rows[anchors], rows[others]
    fitted = condition(prior, h.vectors[a], h.f[a], h.y[a])
    return corrected(prior, fitted, h.vectors[o], h.f[o])


def questions(h: HeldOut) -> dict[str, np.ndarray]:
    """Each question's rows (non-blank answers only: a blank has no vector and scores 0 anyway)."""
    ok = np.abs(h.vectors).sum(axis=1) > 0
    return {str(q): np.flatnonzero((h.groups == q) & ok) for q in dict.fromkeys(h.groups.tolist())}


def random_anchors(h: HeldOut, k: int, draws: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Mean over draws of (pooled r, pq) per set, zero-shot and with k random anchors."""
    rng = np.random.default_rng(seed)
    qrows = questions(h)
    out: dict[str, list[list[tuple[float, float]]]] = {"zero-shot": [], "anchors": []}
    for _ in range(draws):
        zero, anch = {}, {}
        for q, rows in qrows.items():
            a = rng.choice(len(rows), size=k, replace=False)
            o = np.setdiff1d(np.arange(len(rows)), a)
            zero[q] = (rows[o], h.f[rows[o]])
            anch[q] = (rows[o], adjust(h, q, rows, a, o))
        out["zero-shot"].append([summary(h, zero, s) for s in range(len(SETS))])
        out["anchors"].append([summary(h, anch, s) for s in range(len(SETS))])
    return {key: np.mean(vals, axis=0) for key, vals in out.items()}


def chosen_anchors(h: HeldOut, k: int, draws: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Mean over splits of (pooled r, pq) per set on an evaluation third: zero-shot, k random, k chosen."""
    rng = np.random.default_rng(seed)
    qrows = questions(h)
    out: dict[str, list[list[tuple[float, float]]]] = {"zero-shot": [], "random": [], "chosen": []}
    for _ in range(draws):
        preds: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {key: {} for key in out}
        for q, rows in qrows.items():
            perm = rng.permutation(len(rows))
            ev, pool = np.sort(perm[: len(rows) // 3]), perm[len(rows) // 3:]
            picks = {"random": rng.choice(pool, size=k, replace=False),
                     "chosen": pool[choose(h.priors[q], h.vectors[rows[pool]], h.f[rows[pool]], k)]}
            preds["zero-shot"][q] = (rows[ev], h.f[rows[ev]])
            for key, a in picks.items():
                preds[key][q] = (rows[ev], adjust(h, q, rows, a, ev))
        for key in out:
            out[key].append([summary(h, preds[key], s) for s in range(len(SETS))])
    return {key: np.mean(vals, axis=0) for key, vals in out.items()}


def table(h: HeldOut, draws: int) -> list[str]:
    """The benchmark's table, one line per (anchors, method)."""
    head = f"| anchors per question | {' | '.join(f'{s} r | pq' for s in SETS)} | gain in r |"
    lines = [head, "|---|" + "---:|" * (2 * len(SETS) + 1)]

    def row(label: str, vals: np.ndarray, base: np.ndarray | None = None) -> str:
        cells = " | ".join(f"{vals[s][0]:.3f} | {vals[s][1]:.3f}" for s in range(len(SETS)))
        gain = " / ".join(f"{vals[s][0] - base[s][0]:+.3f}" for s in range(len(SETS))) if base is not None else ""
        return f"| {label} | {cells} | {gain} |"

    for k in KS:
        res = random_anchors(h, k, draws)
        if k == KS[0]:
            lines.append(row("0 (zero-shot)", res["zero-shot"]))
        lines.append(row(f"{k} random", res["anchors"], res["zero-shot"]))
    res = chosen_anchors(h, 5, draws)
    lines.append(row("5 random from 2/3, r on the other third", res["random"], res["zero-shot"]))
    lines.append(row("5 chosen (--suggest-anchors) from 2/3", res["chosen"], res["zero-shot"]))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--embedder", default="use-multilingual")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data = pooled(args.eval_dir, args.embedder, Path(tmp))
    h = held_out(data)
    fitted = np.array([[getattr(p, n) for n in ("offset", "slope", "similar", "length", "noise")]
                       for p in dict((id(p), p) for p in h.priors.values()).values()])
    print(f"{args.embedder}; {args.draws} draws; prior per outer fold (median): offset, slope, similar, length, "
          f"noise = {', '.join(f'{v:.4f}' for v in np.median(fitted, axis=0))}")
    for line in table(h, args.draws):
        print(line, flush=True)
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
