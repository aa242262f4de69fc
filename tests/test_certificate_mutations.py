"""Mutation suite for the certificate checker (one checker, every map).

Real certificates (written by ``verify-contraction`` in this test: a proof with the
closed-form constants, a proof with user constants, a refutation; and for another
activation, given by its definition, a proof and a refutation) are mutated
programmatically at every field — each key deleted, duplicated, retyped; each number
perturbed by one ulp (2⁻⁶⁴ relative) and by a lot; each string given Unicode look-alikes;
boxes reordered; rationals respelt — with the checksum recomputed, so that the checker's
own reasoning, not the checksum, has to catch each change.

Every mutation falls in exactly one class, and the test asserts the checker's answer:

* **meaning-preserving** (reordered boxes or keys, equivalent rational spellings, edited
  ``software`` metadata): must be accepted, with the same printed statement and extremum;
* **relabelling** (another valid ASCII name for a user claim): accepted, printed with the
  new name and the same statement;
* **weakening** (a threshold or relation that the proven bounds still imply, e.g. mean ≤
  0.07 → mean ≤ 0.08; for a refutation, a larger domain or a threshold the certified
  counterexample value still violates): accepted only if the checker prints the *new*
  statement and the original's proven extremum (counterexample) implies it — a
  certificate of a weaker claim is what it is, and no checker could tell it from a
  genuine one;
* **respelt activation** (the scale or shift of an activation spelt as another rational):
  accepted with the same statement (respellings, above);
* **restated constants** (a user constant's interval end moved by an ulp): accepted only
  when the checker prints exactly the file's new constants — the balls built at the
  certificate's precision contain the new interval and give the same bounds, so the file is
  a genuine proof for the constants printed;
* **another counterexample** (a refutation's point moved inside the domain): accepted only
  when the checker prints the file's new point with a value that violates the same claim;
* everything else is **meaning-changing**: must be rejected (100 %).

The counts are printed (``pytest -s``) and asserted non-trivial.
"""

from __future__ import annotations

import copy
import json
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from snn_theory.certify.certificate.check import check_certificate
from snn_theory.certify.certificate.io import checksum, read_certificate

OMEGA = "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1"
SMALL = "mu=0.5:0.75,omega=0.5:0.75,nu=0.5:0.75,tau=0.5:0.75"
LOOK_ALIKES = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і",
               "1": "１", "0": "٠", ".": "․", "-": "‐"}


def _make(cli, directory: Path, args: list[str]) -> Path:
    code, _, _ = cli(["verify-contraction", *args, "--jobs", "1", "--json", "--certificate-dir",
                      str(directory)])
    assert code in (0, 1)
    (path,) = directory.glob("*.cert.json")
    return path


@pytest.fixture(scope="module")
def certificates(tmp_path_factory, cli) -> dict[str, Path]:
    made = {}
    for label, args in {
        "holds": ["--domain", OMEGA, "--claim", "mean<=0.07", "--name", "m.holds"],
        "user-constants": ["--domain", OMEGA, "--claim", "variance<=1.5", "--lam", "1.0506",
                           "--name", "v.user"],
        "refuted": ["--domain", OMEGA, "--claim", "variance>=0.8037117576791128",
                    "--name", "v.refuted"],
        # another activation, by its definition (the Gaussian per-box bound)
        "activation-holds": ["--activation", "relu", "--scale", "3/2", "--domain", SMALL,
                             "--claim", "mean>0.2", "--name", "m.holds", "--max-boxes", "200"],
        "activation-refuted": ["--activation", "elu", "--domain", SMALL, "--claim",
                               "variance<=0.1", "--name", "v.refuted", "--max-boxes", "50"],
    }.items():
        made[label] = _make(cli, tmp_path_factory.mktemp(label.replace("-", "")), args)
    return made


# --------------------------------------------------------------------------- mutations
Path_ = tuple[Any, ...]


def _walk(node: Any, path: Path_ = ()) -> list[Path_]:
    """Every path in the tree (boxes: the first, a middle and the last entry in full)."""
    out = [path]
    if isinstance(node, dict):
        for k in node:
            out += _walk(node[k], path + (k,))
    elif isinstance(node, list):
        indices = range(len(node))
        if path == ("boxes",):
            indices = sorted({0, len(node) // 2, len(node) - 1})
        for i in indices:
            out += _walk(node[i], path + (i,))
    return out


def _get(tree: Any, path: Path_) -> Any:
    for k in path:
        tree = tree[k]
    return tree


def _set(tree: Any, path: Path_, value: Any) -> Any:
    tree = copy.deepcopy(tree)
    _get(tree, path[:-1])[path[-1]] = value
    return tree


def _delete(tree: Any, path: Path_) -> Any:
    tree = copy.deepcopy(tree)
    del _get(tree, path[:-1])[path[-1]]
    return tree


def _is_rational(x: Any) -> bool:
    if not isinstance(x, str):
        return False
    try:
        Fraction(x)
    except ValueError:
        return False
    return True


def _perturbed(x: Fraction) -> list[Fraction]:
    ulp = abs(x) / 2**64 if x else Fraction(1, 2**64)
    return [y for y in (x + ulp, x - ulp, x + 1, -x - 1, x * 1000) if y != x]


def _retyped(value: Any) -> list[Any]:
    options = [None, True, 17, 1.5, "x", [], {}]
    if isinstance(value, str) and _is_rational(value):
        options.append(float(Fraction(value)))  # the same number as a float, not a string
    if isinstance(value, int) and not isinstance(value, bool):
        options.append(str(value))
    if isinstance(value, list):
        options.append({str(i): v for i, v in enumerate(value)})
    if isinstance(value, dict):
        options.append(list(value.values()))
    return [o for o in options if type(o) is not type(value)]


def _look_alikes(text: str) -> list[str]:
    out = [text + " ", text + "\u200b", "\u200b" + text, text + "\u00a0"]
    for ch, fake in LOOK_ALIKES.items():
        if ch in text:
            out.append(text.replace(ch, fake, 1))
    return out


def mutations(content: dict) -> list[tuple[str, Any]]:
    """(description, mutated tree or raw text) for every field of ``content``."""
    out: list[tuple[str, Any]] = []
    for path in _walk(content):
        if not path:
            continue
        value = _get(content, path)
        where = "/".join(map(str, path))
        out.append((f"delete {where}", _delete(content, path)))
        if isinstance(path[-1], str):
            out.append((f"duplicate key {where}", ("dup", path)))
        else:
            parent = copy.deepcopy(_get(content, path[:-1]))
            parent.insert(path[-1], copy.deepcopy(value))
            out.append((f"duplicate element {where}", _set(content, path[:-1], parent)))
        for new in _retyped(value):
            out.append((f"retype {where} -> {type(new).__name__}", _set(content, path, new)))
        if _is_rational(value):
            for new in _perturbed(Fraction(value)):
                out.append((f"perturb {where} -> {float(new)!r}",
                            _set(content, path, str(new))))
            out.append((f"respell {where}", _set(content, path, _respelt(value))))
        elif isinstance(value, int) and not isinstance(value, bool):
            for new in (value + 1, value - 1, value * 1000):
                out.append((f"perturb {where} -> {new}", _set(content, path, new)))
        if isinstance(value, str):
            for new in _look_alikes(value):
                out.append((f"look-alike {where} {new!r}", _set(content, path, new)))
    if content.get("boxes"):
        shuffled = copy.deepcopy(content["boxes"])
        random.Random(3).shuffle(shuffled)
        out.append(("reorder boxes", _set(content, ("boxes",), shuffled)))
        out.append(("reverse boxes", _set(content, ("boxes",), content["boxes"][::-1])))
    out.append(("reorder keys", dict(reversed(list(content.items())))))
    out.append(("rename claim", _set(content, ("claim", "name"),
                                     content["claim"]["name"] + ".renamed")))
    return out


def _respelt(text: str) -> str:
    x = Fraction(text)
    return f"{x.numerator}/{x.denominator}" if "/" not in text else format(float(x), ".17g") \
        if Fraction(float(x)) == x else f"{2 * x.numerator}/{2 * x.denominator}"


def _dumps_with_duplicate(content: dict, path: Path_) -> str:
    """JSON text in which the key at ``path`` appears twice (same value both times)."""
    def enc(node: Any, here: Path_) -> str:
        if isinstance(node, dict):
            items = [f"{json.dumps(k)}: {enc(v, here + (k,))}" for k, v in node.items()]
            if here == path[:-1]:
                k = path[-1]
                items.insert(0, f"{json.dumps(k)}: {enc(node[k], here + (k,))}")
            return "{" + ", ".join(items) + "}"
        if isinstance(node, list):
            return "[" + ", ".join(enc(v, here + (i,)) for i, v in enumerate(node)) + "]"
        return json.dumps(node)
    return enc(content, ())


# --------------------------------------------------------------------------- classifying
def _view(report: Any) -> dict:
    """What the checker prints about a certificate, without the path and the name."""
    data = report.to_json()
    data.pop("path")
    data.pop("claim")
    return data


def _map(statement: dict) -> Any:
    """The map a statement is about: its constants, or its activation."""
    return statement.get("constants", statement.get("activation"))


def _implied(original: dict, mutated: dict) -> bool:
    """Whether the mutated statement follows from the original certificate's proven
    extremum: same quantity, domain and map, and the proven end satisfies it."""
    a, b = original["statement"], mutated["statement"]
    if (any(a[k] != b[k] for k in ("quantity", "domain")) or _map(a) != _map(b)
            or not original["extremum"]):
        return False
    exact = [Fraction(x) for x in original["extremum"]["exact"]]
    t, rel = Fraction(b["threshold"]), b["relation"]
    end = exact[1] if rel in ("<", "<=") else exact[0]
    return {"<": end < t, "<=": end <= t, ">": end > t, ">=": end >= t}[rel]


def _refutation_implied(original: dict, mutated: dict) -> bool:
    """Whether the original counterexample (its point and certified value) also refutes the
    mutated statement: the point lies in the new domain, the value violates the new claim."""
    a, b = original["statement"], mutated["statement"]
    if a["quantity"] != b["quantity"] or _map(a) != _map(b):
        return False
    ce, mce = original["counterexample"], mutated["counterexample"]
    names = ("mu", "omega", "nu", "tau")
    if mutated["verdict"] != "refuted" or [ce[n] for n in names] != [mce[n] for n in names]:
        return False
    ce = mce  # (its value printed outward with the digits that separate it from b's threshold)
    inside = all(Fraction(b["domain"][n][0]) <= Fraction(ce[n]) <= Fraction(b["domain"][n][1])
                 for n in ("mu", "omega", "nu", "tau"))
    lo, hi = (Fraction(x) for x in ce["value"])
    t = Fraction(b["threshold"])
    violated = {"<": lo >= t, "<=": lo > t, ">": hi <= t, ">=": hi < t}[b["relation"]]
    return inside and violated


def classify(description: str, original: Any, mutated: Any) -> str:
    if not mutated.valid:
        return "rejected"
    o, m = _view(original), _view(mutated)
    if o == m and mutated.claim == original.claim:
        return "preserving"
    if o == m:
        return "relabelled"
    if original.verdict == "holds" and _implied(o, m) and m["verdict"] == "holds":
        return "weakened"
    if original.verdict == "refuted" and _refutation_implied(o, m):
        return "weakened"
    if (original.verdict == "refuted" and o["statement"] == m["statement"]
            and m["verdict"] == "refuted"):
        point = json.loads(Path(mutated.path).read_text())["counterexample"]["point"]
        if [Fraction(m["counterexample"][n]) for n in ("mu", "omega", "nu", "tau")] == [
                Fraction(x) for x in point]:
            return "other-counterexample"  # the same false claim, another checked point
    a, b = o["statement"], m["statement"]
    if ("constants" in a and "constants" in b
            and a["constants"]["source"] == b["constants"]["source"] == "user"
            and {k: v for k, v in a.items() if k != "constants"}
            == {k: v for k, v in b.items() if k != "constants"}
            and b["constants"] == _file_constants(mutated.path)):
        # user constants moved by an ulp: the balls at the certificate's precision (which
        # contain the new intervals) give the same bounds — a proof for the constants the
        # checker prints, re-derived with them
        return "restated"
    raise AssertionError(f"accepted a meaning-changing mutation: {description}: {m}")


MUST_ACCEPT = ("reorder", "reverse", "respell")


def _file_constants(path: str) -> dict:
    c = json.loads(Path(path).read_text())["constants"]
    return {"source": c["source"], "lam": [str_(x) for x in c["lam"]],
            "alpha": [str_(x) for x in c["alpha"]]}


def str_(x: str) -> str:
    from snn_theory.exact import format_fraction

    return format_fraction(Fraction(x))


@pytest.mark.parametrize("label", ["holds", "user-constants", "refuted", "activation-holds",
                                   "activation-refuted"])
def test_every_meaning_changing_mutation_is_rejected(certificates, label, tmp_path):
    path = certificates[label]
    original = check_certificate(path)
    assert original.valid, original.message
    content = read_certificate(path)
    counts = {"rejected": 0, "preserving": 0, "relabelled": 0, "weakened": 0,
              "restated": 0, "other-counterexample": 0}
    preserving: list[str] = []
    for k, (description, mutated) in enumerate(mutations(content)):
        target = tmp_path / f"m{k}.cert.json"
        if isinstance(mutated, tuple) and mutated[0] == "dup":
            target.write_text(_dumps_with_duplicate(content, mutated[1]))
        else:
            if not description.startswith(("delete checksum", "retype checksum",
                                           "look-alike checksum", "duplicate key checksum")):
                if isinstance(mutated, dict):
                    mutated = dict(mutated, checksum=checksum(mutated))
            target.write_text(json.dumps(mutated))
        outcome = classify(description, original, check_certificate(target))
        if description.startswith(MUST_ACCEPT) or description.startswith("reorder keys"):
            assert outcome == "preserving", description
        if description.startswith("look-alike") or description.startswith(("duplicate",
                                                                            "retype")):
            assert outcome == "rejected" or "software" in description, description
        counts[outcome] += 1
        if outcome == "preserving":
            preserving.append(description)
    total = sum(counts.values())
    print(f"\n{label}: {total} mutations: {counts}")
    assert counts["rejected"] > (80 if label.startswith("activation") else 100)
    assert counts["preserving"] >= 3 and counts["relabelled"] == 1
    # what is accepted unchanged: spellings, orders, and the software metadata only
    # (and a witness point moved by an ulp whose ball at the certificate's precision is the
    # same, so that it attains exactly the same end: another witness of the same enclosure;
    # a counterexample re-evaluated at another precision that still violates the claim —
    # for an activation's refutation, whose map has no constants enclosed at the
    # certificate's precision, that is the top-level precision too)
    another_precision = ("perturb counterexample/precision_bits",)
    if label == "activation-refuted":
        another_precision += ("perturb precision_bits",)
    unexpected = [d for d in preserving
                  if not (d.startswith((*MUST_ACCEPT, "reorder keys", "perturb witness/point",
                                        *another_precision))
                          or "software" in d)]
    assert not unexpected, unexpected


def test_recorded_values_are_recomputed(certificates, tmp_path):
    """An activation proof whose recorded bound is replaced by a weaker but still sufficient
    one is rejected, and a refutation carries no value to trust (one added is an unknown
    key): the printed values are the checker's own."""
    data = json.loads(certificates["activation-holds"].read_text())
    data["boxes"][0][4] = "0.2000001"  # still proves mean > 0.2, but not what was computed
    data["checksum"] = checksum(data)
    edited = tmp_path / "bound.cert.json"
    edited.write_text(json.dumps(data))
    report = check_certificate(edited)
    assert not report.valid and "box 0" in report.message
    data = json.loads(certificates["activation-refuted"].read_text())
    assert set(data["counterexample"]) == {"point"}
    data["counterexample"]["value"] = ["0.2", "0.3"]
    data["checksum"] = checksum(data)
    edited.write_text(json.dumps(data))
    report = check_certificate(edited)
    assert not report.valid and "unknown key" in report.message
