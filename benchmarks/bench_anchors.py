"""Teacher anchors benchmark: what K human grades per question add to zero-shot scoring, questions held out.

    python benchmarks/bench_anchors.py [--eval-dir ../shared/eval] [--draws 100] [--embedder use-multilingual]

Both dev sets are pooled as `harness calibrate` pools them; every question is
scored as the scorer scores it (calibration and half-marks hold) by models
that never saw it - the same held-out scores as `bench_heldout.py` - and
corrected by anchors with a prior (`scoring.anchors.fit_prior`) fitted on
the *other* questions' out-of-fold residuals only (nested: inside each outer
fold's training questions, a 5-fold split gives the residuals the prior is
fitted on). Nothing is tuned on the evaluated question.

Random anchors: K answers of each question drawn at random (`--draws`
times), Pearson r pooled over the set's other answers, next to the zero-shot
r on exactly those answers. Chosen anchors: each question's answers split at
random into a pool (2/3) and an evaluation third; 5 anchors from the pool
chosen by `scoring.anchors.choose` (what `grade --suggest-anchors` does) or
at random; r on the evaluation third. "pq" is the mean per-question r.
Two ways of treating review-flagged answers that `--suggest-anchors` does
not take are measured beside it: leaving them out of the candidates, and
spending the K on them first (widest range first).
Last, how the gain of 5 random anchors varies over 2 x `--draws` draws
(mean, 5th percentile, worst draw, share of draws worse than zero-shot),
with each grade's pull capped at `anchors.ROBUST` prior SDs (as the scorer
does) and uncapped. Then the ceilings: each question's offset (or offset
and slope) fitted on all its grades, and the correction given every other
answer of the question (how much of the target is reachable at all).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.bank.importer import import_questions
from harness.encoders import get_encoder
from harness.scoring.anchors import ROBUST, AnchorPrior, choose, condition, corrected
from harness.scoring.calibration import fit_anchor_prior
from harness.scoring.evaluation import read_graded
from harness.scoring.fitting import Nested, combine, nested_components
from harness.scoring.heldout import Reviewed, review_held_out
from harness.scoring.metrics import pearson
from harness.scoring.scorer import Scorer
from harness.scoring.training import TrainingSet, collect

REPO = Path(__file__).resolve().parents[1]
SETS = ("mohler_dev", "ads_dev")
KS = (3, 5, 10, 20)


@dataclass(frozen=True, eq=False)
class HeldOut:
    """Per real answer: the held-out score (rules included) and the prior its question is corrected with."""

    f: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    vectors: np.ndarray
    set_of: np.ndarray
    priors: dict[str, AnchorPrior]
    names: tuple[str, ...]
    flagged: np.ndarray
    width: np.ndarray


def measure(eval_dir: Path, embedder: str, tmp: Path,
            sets: tuple[str, ...] = SETS) -> tuple[TrainingSet, Nested, Reviewed]:
    """Both dev sets as `harness calibrate` pools them, their nested folds and held-out scores (`bench_heldout`)."""
    encoder = get_encoder(embedder, cache_dir=tmp / "cache")
    pairs = [(Scorer(import_questions(eval_dir / f"{name}_questions.csv", tmp / embedder / name), encoder, None),
              read_graded(eval_dir / f"{name}_answers.csv")) for name in sets]
    data = collect(pairs)
    nested = nested_components(data.x, data.y, data.groups, data.real)
    return data, nested, review_held_out(data, nested)


def held_out(data: TrainingSet, nested: Nested, reviewed: Reviewed) -> HeldOut:
    """The scorer's held-out scores, and per outer fold a prior fitted on its training questions' inner residuals.

    The scores are what the scorer gives before anchors (`heldout.review_held_out`:
    calibration and half-marks hold, each fitted without the question); the
    prior is what `calibrate` would fit on the fold's training questions alone.
    """
    vectors = np.vstack([m.vectors for m in data.measured])
    real = np.flatnonzero(data.real)
    priors: dict[str, AnchorPrior] = {}
    for k in np.unique(nested.fold):
        train = nested.fold[real] != k
        prior = AnchorPrior.from_json(fit_anchor_prior(  # what `calibrate` fits, on this fold's questions only
            data.y[real[train]], combine(nested.inner[k][real[train]]), vectors[train], data.groups[real[train]]))
        for q in np.unique(data.groups[real[nested.fold[real] == k]]):
            priors[str(q)] = prior
    names = tuple(g.name.removesuffix("_answers") for g in data.sets)
    return HeldOut(reviewed.score01, data.y[real], data.groups[real], vectors, data.set_of_real, priors, names,
                   reviewed.flagged, reviewed.high - reviewed.low)


def summary(h: HeldOut, preds: dict[str, tuple[np.ndarray, np.ndarray]], s: int) -> tuple[float, float]:
    """(pooled r, mean per-question r) over set `s`'s questions; preds: question -> (rows, scores)."""
    qs = [q for q in preds if h.set_of[preds[q][0][0]] == s]
    rows = np.concatenate([preds[q][0] for q in qs])
    scores = np.concatenate([preds[q][1] for q in qs])
    per_q = [pearson(preds[q][1], h.y[preds[q][0]]) for q in qs]
    return pearson(scores, h.y[rows]), float(np.nanmean(per_q))


def adjust(h: HeldOut, q: str, rows: np.ndarray, anchors: np.ndarray, others: np.ndarray, *,
           robust: float = ROBUST) -> np.ndarray:
    """Scores of `others` corrected by the grades of `anchors` (indices into `rows`)."""
    prior = h.priors[q]
    a, o = rows[anchors], rows[others]
    fitted = condition(prior, h.vectors[a], h.f[a], h.y[a], robust=robust)
    return corrected(prior, fitted, h.vectors[o], h.f[o])


def questions(h: HeldOut) -> dict[str, np.ndarray]:
    """Each question's rows (non-blank answers only: a blank has no vector and scores 0 anyway)."""
    ok = np.abs(h.vectors).sum(axis=1) > 0
    return {str(q): np.flatnonzero((h.groups == q) & ok) for q in dict.fromkeys(h.groups.tolist())}


def random_anchors(h: HeldOut, k: int, draws: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Mean over draws of (pooled r, pq) per set, zero-shot and with k random anchors."""
    return {key: np.mean(vals, axis=0) for key, vals in random_draws(h, k, draws, seed).items()}


def random_draws(h: HeldOut, k: int, draws: int, seed: int = 0, *, robust: float = ROBUST) -> dict[str, np.ndarray]:
    """Per draw (rows) and set: (pooled r, pq), zero-shot and with k random anchors."""
    rng = np.random.default_rng(seed)
    qrows = questions(h)
    out: dict[str, list[list[tuple[float, float]]]] = {"zero-shot": [], "anchors": []}
    for _ in range(draws):
        zero, anch = {}, {}
        for q, rows in qrows.items():
            a = rng.choice(len(rows), size=k, replace=False)
            o = np.setdiff1d(np.arange(len(rows)), a)
            zero[q] = (rows[o], h.f[rows[o]])
            anch[q] = (rows[o], adjust(h, q, rows, a, o, robust=robust))
        out["zero-shot"].append([summary(h, zero, s) for s in range(len(h.names))])
        out["anchors"].append([summary(h, anch, s) for s in range(len(h.names))])
    return {key: np.array(vals) for key, vals in out.items()}


def spread(h: HeldOut, k: int, capped: dict[str, np.ndarray]) -> list[str]:
    """How the gain of k random anchors varies from draw to draw (`capped`: `random_draws` as the scorer
    corrects), next to the same draws with each grade's pull uncapped."""
    draws = len(capped["anchors"])
    lines = []
    for label, res in (("capped at 2 SD", capped), ("uncapped", random_draws(h, k, draws, robust=float("inf")))):
        gain = res["anchors"][:, :, 0] - res["zero-shot"][:, :, 0]  # draws x sets
        lines.append(f"{k} random, {label}: " + "; ".join(
            f"{name} gain mean {g.mean():+.3f}, 5th percentile {np.quantile(g, 0.05):+.3f}, worst {g.min():+.3f}, "
            f"worse than zero-shot in {np.mean(g < 0):.0%} of draws" for name, g in zip(h.names, gain.T)))
    return lines


def chosen_anchors(h: HeldOut, k: int, draws: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Mean over splits of (pooled r, pq) per set on an evaluation third: zero-shot, k random, k chosen.

    "chosen" is what `grade --suggest-anchors` picks (every answer a candidate); two alternatives
    it measures against: the review-flagged answers left out of the candidates, and spent first.
    """
    rng = np.random.default_rng(seed)
    qrows = questions(h)
    out: dict[str, list[list[tuple[float, float]]]] = {
        "zero-shot": [], "random": [], "chosen": [], "unflagged": [], "flagged first": []}
    for _ in range(draws):
        preds: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {key: {} for key in out}
        for q, rows in qrows.items():
            perm = rng.permutation(len(rows))
            ev, pool = np.sort(perm[: len(rows) // 3]), perm[len(rows) // 3:]
            flagged = pool[h.flagged[rows[pool]]]
            flagged = flagged[np.argsort(-h.width[rows[flagged]], kind="stable")][:k]
            sure, rest = pool[~h.flagged[rows[pool]]], np.setdiff1d(pool, flagged)
            picks = {"random": rng.choice(pool, size=k, replace=False), "chosen": pick(h, q, rows, pool, k),
                     "unflagged": pick(h, q, rows, sure, k) if len(sure) >= k else pick(h, q, rows, pool, k),
                     "flagged first": np.concatenate([flagged, pick(h, q, rows, rest, k - len(flagged))])}
            preds["zero-shot"][q] = (rows[ev], h.f[rows[ev]])
            for key, a in picks.items():
                preds[key][q] = (rows[ev], adjust(h, q, rows, a, ev))
        for key in out:
            out[key].append([summary(h, preds[key], s) for s in range(len(h.names))])
    return {key: np.mean(vals, axis=0) for key, vals in out.items()}


def pick(h: HeldOut, q: str, rows: np.ndarray, among: np.ndarray, k: int) -> np.ndarray:
    """`scoring.anchors.choose`'s k picks among the question's answers `among` (indices into `rows`)."""
    return among[choose(h.priors[q], h.vectors[rows[among]], h.f[rows[among]], k)].astype(int)


def ceilings(h: HeldOut) -> dict[str, np.ndarray]:
    """Gains no K grades can beat by much, per set: each question's offset, or offset and slope, fitted on all
    its answers' grades; and the correction with every other answer of the question graded (leave one out)."""
    qrows = questions(h)
    fits: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {"zero": {}, "offset": {}, "affine": {}, "all": {}}
    for q, rows in qrows.items():
        f, y = h.f[rows], h.y[rows]
        design = np.c_[np.ones(len(rows)), f]
        fits["zero"][q] = (rows, f)
        fits["offset"][q] = (rows, f + (y - f).mean())
        fits["affine"][q] = (rows, design @ np.linalg.lstsq(design, y, rcond=None)[0])
        fits["all"][q] = (rows, np.array([adjust(h, q, rows, np.delete(np.arange(len(rows)), i), np.array([i]))[0]
                                          for i in range(len(rows))]))
    zero = np.array([summary(h, fits["zero"], s)[0] for s in range(len(h.names))])
    return {key: np.array([summary(h, fits[key], s)[0] for s in range(len(h.names))]) - zero
            for key in ("offset", "affine", "all")}


def table(h: HeldOut, draws: int, known: dict[int, dict[str, np.ndarray]]) -> list[str]:
    """The benchmark's table, one line per (anchors, method); `known[k]`: `random_draws` already made for k."""
    head = f"| anchors per question | {' | '.join(f'{s} r | pq' for s in h.names)} | gain in r |"
    lines = [head, "|---|" + "---:|" * (2 * len(h.names) + 1)]

    def row(label: str, vals: np.ndarray, base: np.ndarray | None = None) -> str:
        cells = " | ".join(f"{vals[s][0]:.3f} | {vals[s][1]:.3f}" for s in range(len(h.names)))
        gain = " / ".join(f"{vals[s][0] - base[s][0]:+.3f}" for s in range(len(h.names))) if base is not None else ""
        return f"| {label} | {cells} | {gain} |"

    for k in KS:  # the first `draws` draws of a longer run are the same draws (same seed)
        res = ({key: np.mean(v[:draws], axis=0) for key, v in known[k].items()} if k in known
               else random_anchors(h, k, draws))
        if k == KS[0]:
            lines.append(row("0 (zero-shot)", res["zero-shot"]))
        lines.append(row(f"{k} random", res["anchors"], res["zero-shot"]))
    res = chosen_anchors(h, 5, draws)
    lines.append(row("5 random from 2/3, r on the other third", res["random"], res["zero-shot"]))
    lines.append(row("5 chosen (--suggest-anchors) from 2/3", res["chosen"], res["zero-shot"]))
    lines.append(row("5 chosen among answers not flagged for review", res["unflagged"], res["zero-shot"]))
    lines.append(row("5: flagged for review first (widest range), then chosen", res["flagged first"],
                     res["zero-shot"]))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--embedder", default="use-multilingual")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        h = held_out(*measure(args.eval_dir, args.embedder, Path(tmp)))
    fitted = np.array([[getattr(p, n) for n in ("offset", "slope", "similar", "length", "noise")]
                       for p in dict((id(p), p) for p in h.priors.values()).values()])
    print(f"{args.embedder}; {args.draws} draws; prior per outer fold (median): offset, slope, similar, length, "
          f"noise = {', '.join(f'{v:.4f}' for v in np.median(fitted, axis=0))}")
    five = random_draws(h, 5, 2 * args.draws)
    for line in table(h, args.draws, {5: five}):
        print(line, flush=True)
    print("\n".join(spread(h, 5, five)))
    print("Ceilings (gain in r with every grade known): " + "; ".join(
        f"{label} {' / '.join(f'{v:+.3f}' for v in gains)}" for label, gains in zip(
            ("each question's offset fitted on all its grades", "offset and slope",
             "the correction with all the question's other answers graded"), ceilings(h).values())))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
