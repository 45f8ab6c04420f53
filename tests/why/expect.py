"""The checks every situation test makes on a :class:`~kubelab.why.Diagnosis`.

A situation names the reason, words the problem and the fix must contain, a line of
evidence and a command to run; the sandbox-made and the recorded situations expect the
same of a diagnosis.
"""

from __future__ import annotations

from collections.abc import Iterable

from kubelab.why import Diagnosis


def assert_diagnosis(found: Diagnosis, reason: str, words: Iterable[str],
                     fix_words: Iterable[str], evidence: str, command: str) -> None:
    """``found`` is a problem for ``reason`` that says, shows and suggests what it should."""
    assert found.reason == reason, found.text()
    assert not found.ok
    for word in words:
        assert word in found.problem, (word, found.problem)
    for word in fix_words:
        assert word in found.fix, (word, found.fix)
    assert any(evidence in line for line in found.evidence), (evidence, found.evidence)
    assert any(command in c for c in found.commands), (command, found.commands)
