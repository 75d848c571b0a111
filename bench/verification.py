"""False rejections of genuine cameo recordings, and impostors still refused, on the project's own recordings.

Run: ``.venv/bin/python bench/verification.py [--baseline REV] [--no-write]``. It builds genuine recordings
with the fixture builder (``ml.synthetic.recordings``: real photos, espeak-ng speech): six people x portrait
and landscape x no distractor, a poster of another person behind them, and (portrait) a face-like print on
the shirt that the detector fires on weakly, in 2 frames or in every frame; and impostor recordings (a
person swap mid-clip, two people side by side). Each runs through ``check_liveness`` with the challenge it
says; ``--baseline REV`` also runs ``ml/identity/liveness.py`` as it was at git revision REV on the same
files. Writes the "## Verification false rejections (issue 11)" section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from ml.identity import liveness  # noqa: E402
from ml.synthetic.recordings import GOOD, Distractor, RecordingSpec, build  # noqa: E402

SECTION = "## Verification false rejections (issue 11)"
PEOPLE = ("astronaut", "tom_hanks", "t1_0", "t1_2", "t1_3", "t1_5")
VOICES = ("en+m3", "en+f4", "en-us+m1", "en+f2", "en+m7", "en-us+f3")
DIGITS = "4729"


@dataclass(frozen=True)
class Case:
    spec: RecordingSpec
    kind: str  # "portrait", "landscape + poster", ... (the row of the table)
    genuine: bool  # one live person: should pass; otherwise should be refused


def _genuine(person: str, voice: str, other: str) -> list[Case]:
    base = replace(GOOD, people=(person,), voice=voice, digits=DIGITS)
    portrait = replace(base, name=f"bench_{person}_portrait")  # 360x480, face 45 % of the height
    tall = replace(
        base, name=f"bench_{person}_tall", width=360, height=640, face_height=0.2
    )  # 9:16, room below
    landscape = replace(base, name=f"bench_{person}_landscape", width=640, height=360, face_height=0.6)
    return [
        Case(portrait, "portrait", True),
        Case(replace(portrait, name=portrait.name + "_poster", distractors=(Distractor(other, 0.35),)),
             "portrait + poster", True),
        Case(replace(tall, name=tall.name + "_badge2",
                     distractors=(Distractor(other, 1.0, "badge", blur_sigma=2.0, frames=(0, 16)),)),
             "portrait 9:16 + face-like print on the shirt, weak hit in 2 frames", True),
        Case(replace(tall, name=tall.name + "_badge_all",
                     distractors=(Distractor(other, 1.0, "badge", blur_sigma=2.0),)),
             "portrait 9:16 + a face as large as theirs printed on the shirt", True),
        Case(landscape, "landscape", True),
        Case(replace(landscape, name=landscape.name + "_poster", distractors=(Distractor(other, 0.5),)),
             "landscape + poster", True),
    ]  # fmt: skip


def cases() -> list[Case]:
    found = []
    for index, person in enumerate(PEOPLE):
        found += _genuine(person, VOICES[index], PEOPLE[(index + 1) % len(PEOPLE)])
    for person, other in (("astronaut", "t1_0"), ("tom_hanks", "astronaut"), ("t1_2", "t1_3")):
        swap = replace(GOOD, name=f"bench_swap_{person}_{other}", people=(person,), swap_to=other)
        found.append(Case(swap, "impostor: person swap mid-clip (portrait)", False))
        found.append(
            Case(
                replace(swap, name=swap.name + "_landscape", width=640, height=360, face_height=0.6),
                "impostor: person swap mid-clip (landscape)",
                False,
            )
        )
    for pair in (("astronaut", "t1_2"), ("tom_hanks", "t1_5")):
        two = replace(GOOD, name=f"bench_two_{'_'.join(pair)}", people=pair, width=640, height=400)
        found.append(Case(two, "impostor: two people side by side", False))
    return found


def baseline_module(revision: str) -> ModuleType:
    """``ml/identity/liveness.py`` as it was at ``revision``, importable next to today's ``ml``."""
    source = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "show", f"{revision}:ml/identity/liveness.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / f"liveness_{revision}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


def run(check: Callable[..., liveness.LivenessReport], models: liveness.IdentityModels, paths: dict[str, Path],
        all_cases: list[Case]) -> dict[str, str]:  # fmt: skip
    verdicts = {}
    for case in all_cases:
        report = check(paths[case.spec.name], expected_digits=DIGITS, models=models)
        verdicts[case.spec.name] = str(report.verdict)
        extra = ""
        if hasattr(report, "other_face_frames"):
            extra = f" others={report.other_face_frames} outliers={len(report.identity_outlier_times_s)}"
        print(
            f"  {case.spec.name:45s} {report.verdict!s:22s} spread={report.identity_spread}{extra}",
            flush=True,
        )
    return verdicts


def table(all_cases: list[Case], results: dict[str, dict[str, str]]) -> list[str]:
    names = list(results)
    lines = [
        "| recordings | n | " + " | ".join(f"verdict not `ok` ({name})" for name in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for kind in dict.fromkeys(case.kind for case in all_cases):
        group = [case for case in all_cases if case.kind == kind]
        cells = []
        for name in names:
            verdicts = [results[name][case.spec.name] for case in group]
            bad = [v for v in verdicts if v != "ok"]
            reasons = ", ".join(f"{r} {n}" for r, n in Counter(bad).most_common())
            cells.append(f"{len(bad)}/{len(group)}" + (f" ({reasons})" if reasons else ""))
        lines.append(f"| {kind} | {len(group)} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="also run ml/identity/liveness.py of this git revision")
    parser.add_argument("--no-write", action="store_true", help="print only, leave bench/RESULTS.md alone")
    args = parser.parse_args()
    all_cases = cases()

    # 1. build the recordings (cached by spec under var/recordings-cache)
    start = time.perf_counter()
    paths = {case.spec.name: build(case.spec) for case in all_cases}
    build_s = time.perf_counter() - start

    # 2. judge each, today's code and optionally the baseline's, with the same models
    models = liveness.IdentityModels.default()
    checks: dict[str, Callable[..., liveness.LivenessReport]] = {}
    if args.baseline:
        checks[f"at {args.baseline}"] = baseline_module(args.baseline).check_liveness
    checks["now"] = liveness.check_liveness
    results, seconds = {}, {}
    for name, check in checks.items():
        print(f"{name}:", flush=True)
        start = time.perf_counter()
        results[name] = run(check, models, paths, all_cases)
        seconds[name] = (time.perf_counter() - start) / len(all_cases)

    # 3. the false-rejection rate over genuine recordings, and impostors still refused
    genuine = [case for case in all_cases if case.genuine]
    impostors = [case for case in all_cases if not case.genuine]
    summary = []
    for name in results:
        false_rejections = sum(results[name][case.spec.name] != "ok" for case in genuine)
        refused = sum(results[name][case.spec.name] != "ok" for case in impostors)
        summary.append(
            f"- **{name}**: false rejections {false_rejections}/{len(genuine)} "
            f"({100 * false_rejections / len(genuine):.1f} %); impostor recordings refused "
            f"{refused}/{len(impostors)}; {seconds[name]:.1f} s per recording"
        )
    command = "python bench/verification.py" + (f" --baseline {args.baseline}" if args.baseline else "")
    section = "\n".join(
        [
            SECTION,
            "",
            f"`{command}` on {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), "
            f"{len(all_cases)} recordings (built, or read from var/recordings-cache, in {build_s:.0f} s). "
            f"Genuine: {len(PEOPLE)} people ({', '.join(PEOPLE)}), each in 6 settings; the poster and the "
            "print show another of them. Impostors: a person swap mid-clip and two people side by side. A "
            "verdict other than `ok` on a genuine recording is a false rejection (its reason in brackets); "
            "the impostor rows count refusals.",
            "",
            *summary,
            "",
            *table(all_cases, results),
        ]
    )
    print(section)
    if not args.no_write:
        sys.path.insert(0, str(REPO_ROOT / "bench"))
        import results_file

        results_file.write_section(SECTION, section)
        print(f"wrote {SECTION!r} in {results_file.RESULTS}")


if __name__ == "__main__":
    main()
