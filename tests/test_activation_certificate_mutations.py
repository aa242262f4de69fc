"""Mutation suite for the activation certificate checker (as for SELU's checker).

Real activation certificates (a proof and a refutation, written by the generic verifier in
this test) are mutated at every field (of the leaves: the last one) — each key deleted, duplicated in the JSON text,
retyped; each number perturbed by one ulp (2⁻⁶⁴ relative) and by a lot; each string given
Unicode look-alikes and spaces; an unknown key added — with the checksum recomputed, so that
the checker's own reasoning, not the checksum, has to catch each change.

* **meaning-preserving** (reordered leaves or keys, another spelling of the same rational in
  a box or bound, the scale or shift): accepted, with the same printed statement, verdict
  and recomputed values;
* **relabelling** (another name of the claim): accepted with the same statement;
* everything else is **meaning-changing** and must be rejected — in particular a recorded
  leaf bound or counterexample value that is not the recomputed one (the printed values are
  recomputed, never copied from the file), a statement that is not the claim's, duplicate
  and unknown keys.
"""

from __future__ import annotations

import copy
import json
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from snn_theory.certify import activation_check, activation_search
from snn_theory.certify.claims import Claim, Domain
from snn_theory.derive import activations

LOOK_ALIKES = {"a": "а", "e": "е", "o": "о", "c": "с", "x": "х", "i": "і", "1": "１",
               "0": "٠", ".": "․", "-": "‐"}
Path_ = tuple[Any, ...]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("activation-certs")
    small = Domain.parse("mu=0.5:0.75,omega=0.5:0.75,nu=0.5:0.75,tau=0.5:0.75")
    relu = activations.get("relu", scale="3/2")
    proof = activation_search.verify(relu, Claim.parse("mean>0.2", small, name="m.holds"), max_boxes=200)
    assert proof.verdict == "holds" and 1 <= len(proof.leaves) <= 64
    refuted = activation_search.verify(activations.get("elu"), Claim.parse("variance<=0.1", small,
                                                            name="v.refuted"), max_boxes=50)
    assert refuted.verdict == "refuted"
    return {"holds": activation_search.write_activation_certificate(directory, proof),
            "refuted": activation_search.write_activation_certificate(directory, refuted)}


def _walk(node: Any, path: Path_ = ()) -> list[Path_]:
    out = [path]
    if isinstance(node, dict):
        for k in node:
            out += _walk(node[k], path + (k,))
    elif isinstance(node, list):
        indices = range(len(node))
        if path == ("leaves",) and node:
            indices = [len(node) - 1]
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
    try:
        Fraction(x) if isinstance(x, str) else None
    except ValueError:
        return False
    return isinstance(x, str)


def _retyped(value: Any) -> list[Any]:
    options = [None, True, 17, 1.5, "x", [], {}]
    if _is_rational(value):
        options.append(float(Fraction(value)))
    if isinstance(value, int) and not isinstance(value, bool):
        options.append(str(value))
    if isinstance(value, list):
        options.append({str(i): v for i, v in enumerate(value)})
    return [o for o in options if type(o) is not type(value)]


def _respelt(text: str) -> str:
    x = Fraction(text)
    return f"{2 * x.numerator}/{2 * x.denominator}"


def mutations(content: dict) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for path in _walk(content):
        if not path:
            continue
        value = _get(content, path)
        where = "/".join(map(str, path))
        out.append((f"delete {where}", _delete(content, path)))
        if isinstance(path[-1], str):
            out.append((f"duplicate key {where}", ("dup", path)))
            if isinstance(value, dict):
                out.append((f"unknown key in {where}", _set(content, path,
                                                             {**value, "note": "x"})))
        else:
            parent = copy.deepcopy(_get(content, path[:-1]))
            parent.insert(path[-1], copy.deepcopy(value))
            out.append((f"duplicate element {where}", _set(content, path[:-1], parent)))
        for new in _retyped(value):
            out.append((f"retype {where} -> {type(new).__name__}", _set(content, path, new)))
        if _is_rational(value):
            x = Fraction(value)
            ulp = abs(x) / 2**64 if x else Fraction(1, 2**64)
            for new in (x + ulp, x - ulp, x + 1, -x - 1, x * 1000):
                if new != x:
                    out.append((f"perturb {where} -> {float(new)!r}",
                                _set(content, path, str(new))))
            out.append((f"respell {where}", _set(content, path, _respelt(value))))
        elif isinstance(value, int) and not isinstance(value, bool):
            for new in (value + 1, value - 1, value * 1000):
                out.append((f"perturb {where} -> {new}", _set(content, path, new)))
        if isinstance(value, str):
            for new in [value + " ", value + "\u200b", "\u200b" + value, value + "\u00a0"] + \
                    [value.replace(ch, fake, 1) for ch, fake in LOOK_ALIKES.items()
                     if ch in value]:
                out.append((f"look-alike {where} {new!r}", _set(content, path, new)))
    out.append(("unknown key at the top", {**content, "note": "x"}))
    if len(content["leaves"]) > 1:
        shuffled = copy.deepcopy(content["leaves"])
        random.Random(3).shuffle(shuffled)
        out.append(("reorder leaves", _set(content, ("leaves",), shuffled)))
    out.append(("reorder keys", dict(reversed(list(content.items())))))
    out.append(("rename claim", _set(content, ("claim", "name"),
                                     content["claim"]["name"] + ".renamed")))
    return out


def _dumps_with_duplicate(content: dict, path: Path_) -> str:
    def enc(node: Any, here: Path_) -> str:
        if isinstance(node, dict):
            items = [f"{json.dumps(k)}: {enc(v, here + (k,))}" for k, v in node.items()]
            if here == path[:-1]:
                key = path[-1]
                items.insert(0, f"{json.dumps(key)}: {enc(node[key], here + (key,))}")
            return "{" + ", ".join(items) + "}"
        if isinstance(node, list):
            return "[" + ", ".join(enc(v, here + (i,)) for i, v in enumerate(node)) + "]"
        return json.dumps(node)
    return enc(content, ())


def _meaning_preserving(description: str, path: str) -> bool:
    """Spellings and orders that say the same thing."""
    if description.startswith(("reorder", "respell leaves", "respell activation/scale",
                               "respell activation/shift", "respell activation/growth",
                               "respell counterexample")):
        return True
    return False


@pytest.mark.parametrize("label", ["holds", "refuted"])
def test_every_meaning_changing_mutation_is_rejected(certificates, label, tmp_path):
    path = certificates[label]
    original = activation_check.check_certificate_file(path)
    assert original.valid, original.message
    assert (original.extremum if label == "holds" else original.value) is not None
    content = json.loads(path.read_text())
    counts = {"rejected": 0, "preserving": 0, "relabelled": 0}
    for k, (description, mutated) in enumerate(mutations(content)):
        target = tmp_path / f"m{k}.activation.json"
        if isinstance(mutated, tuple) and mutated[0] == "dup":
            target.write_text(_dumps_with_duplicate(content, mutated[1]))
        else:
            if isinstance(mutated, dict) and not description.split(" ")[-1].startswith(
                    "checksum") and "checksum" not in description:
                mutated = dict(mutated, checksum=activation_check.certificate_checksum(mutated))
            target.write_text(json.dumps(mutated))
        report = activation_check.check_certificate_file(target)
        if not report.valid:
            counts["rejected"] += 1
            assert not _meaning_preserving(description, str(target)), (description,
                                                                       report.message)
            continue
        same = (report.claim, report.verdict, report.extremum, report.value) == (
            original.claim, original.verdict, original.extremum, original.value)
        assert same, f"accepted a meaning-changing mutation: {description}: {report.message}"
        if description == "rename claim":
            counts["relabelled"] += 1
        else:
            assert _meaning_preserving(description, str(target)), (
                f"accepted: {description}: {report.message}")
            counts["preserving"] += 1
    print(f"\n{label}: {sum(counts.values())} mutations: {counts}")
    assert counts["rejected"] > 80 and counts["relabelled"] == 1 and counts["preserving"] >= 2


def test_recorded_values_are_recomputed(certificates, tmp_path):
    """A proof whose recorded bound is replaced by a weaker but still sufficient one, and a
    refutation whose recorded value is widened, are rejected: the printed values are the
    checker's own."""
    data = json.loads(certificates["holds"].read_text())
    data["leaves"][0][1] = "0.2000001"  # still proves mean > 0.2, but not what was computed
    data["checksum"] = activation_check.certificate_checksum(data)
    edited = tmp_path / "bound.activation.json"
    edited.write_text(json.dumps(data))
    report = activation_check.check_certificate_file(edited)
    assert not report.valid and "recorded bound" in report.message
    data = json.loads(certificates["refuted"].read_text())
    lo = Fraction(data["counterexample"]["value"][0])
    data["counterexample"]["value"][0] = str(lo - Fraction(1, 10**6))
    data["checksum"] = activation_check.certificate_checksum(data)
    edited.write_text(json.dumps(data))
    report = activation_check.check_certificate_file(edited)
    assert not report.valid and "recorded counterexample value" in report.message
