"""``$(VAR)`` references in a container's ``command``, ``args`` and ``env[].value``.

Mirrors the kubelet's expansion (``third_party/forked/golang/expansion``, used by
``makeEnvironmentVariables`` in ``pkg/kubelet/kubelet_pods.go`` for env values and by
``ExpandContainerCommandAndArgs`` in ``pkg/kubelet/container/helpers.go`` for command and
args). Its rules, which differ from a shell's:

- ``$(NAME)`` is replaced by the first mapping that defines ``NAME``; an undefined name is
  left as written (``$(NAME)``), so ``sh -c`` later sees a command substitution;
- ``$$`` is an escaped ``$``: ``$$(NAME)`` becomes the literal ``$(NAME)``;
- ``$`` before anything else, a ``$(`` without a closing ``)``, and a trailing ``$`` are
  kept as they are.

The kubelet expands env values against the variables declared before them (``envFrom``
first, then ``env`` in order) and then the Service variables; command and args against the
container's whole kubelet-built environment. Variables the image or the runtime sets
(``PATH``, ``HOSTNAME``, ``HOME``) are not in it, so ``$(HOME)`` stays as written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

OPERATOR = "$"
OPENER = "("
CLOSER = ")"


def mapping_for(*contexts: Mapping[str, str]) -> Callable[[str], str]:
    """Look a name up in each context in turn; an unknown name maps to ``$(name)``."""

    def lookup(name: str) -> str:
        for context in contexts:
            if name in context:
                return context[name]
        return f"{OPERATOR}{OPENER}{name}{CLOSER}"

    return lookup


def expand(text: str, mapping: Callable[[str], str]) -> str:
    """``text`` with every ``$(NAME)`` replaced through ``mapping`` and ``$$`` unescaped."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char != OPERATOR or i + 1 >= n:
            out.append(char)
            i += 1
            continue
        following = text[i + 1]
        if following == OPERATOR:
            out.append(OPERATOR)
            i += 2
        elif following == OPENER:
            close = text.find(CLOSER, i + 2)
            if close < 0:
                out.append(OPERATOR + OPENER)
                i += 2
            else:
                out.append(mapping(text[i + 2:close]))
                i = close + 1
        else:
            out.append(OPERATOR + following)
            i += 2
    return "".join(out)


def expand_all(values: Sequence[object], env: Mapping[str, str]) -> list[str]:
    """Each of ``command`` or ``args`` expanded against the container's environment."""
    lookup = mapping_for(env)
    return [expand(str(value), lookup) for value in values]
