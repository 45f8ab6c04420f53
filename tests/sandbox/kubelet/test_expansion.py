"""The kubelet's ``$(VAR)`` expansion: the rules of upstream's forked ``expansion`` package, and
a pod whose command and args refer to its env."""

from __future__ import annotations

import pytest
from sandbox.kubelet.kubelet_sim import Sim

from kubelab.sandbox.kubelet.expansion import expand, expand_all, mapping_for

ENV = {"GREETING": "hello", "EMPTY": "", "NAME": "web"}


@pytest.mark.parametrize(("text", "expected"), [
    ("$(GREETING)", "hello"),
    ("say $(GREETING), $(NAME)!", "say hello, web!"),
    ("$(GREETING)$(NAME)", "helloweb"),
    ("[$(EMPTY)]", "[]"),
    ("$(UNKNOWN)", "$(UNKNOWN)"),            # unresolved: left as written
    ("$$(GREETING)", "$(GREETING)"),         # escaped
    ("$$$(GREETING)", "$hello"),
    ("$$$$", "$$"),
    ("$GREETING", "$GREETING"),              # shell syntax is not the kubelet's
    ("${GREETING}", "${GREETING}"),
    ("cost: 5$", "cost: 5$"),                # trailing operator
    ("$(GREETING", "$(GREETING"),            # no closer
    ("$(", "$("),
    ("$()", "$()"),                          # empty name: unresolved
    ("$(GREETING) $(", "hello $("),
    ("a$xb$(NAME)", "a$xb" + "web"),
    ("$(GREETING))", "hello)"),
])
def test_expansion_rules(text: str, expected: str) -> None:
    assert expand(text, mapping_for(ENV)) == expected


def test_first_context_defining_a_name_wins() -> None:
    lookup = mapping_for({"A": "pod"}, {"A": "service", "B": "service"})
    assert expand("$(A) $(B) $(C)", lookup) == "pod service $(C)"


def test_command_and_args_are_expanded_each_on_its_own() -> None:
    assert expand_all(["sh", "-c", "echo $(GREETING) $$(HOME)", 8080], ENV) == [
        "sh", "-c", "echo hello $(HOME)", "8080"]


def test_a_pods_command_and_args_see_its_env_but_not_the_runtimes() -> None:
    sim = Sim()
    env = [{"name": "GREETING", "value": "hello"},
           {"name": "MESSAGE", "value": "$(GREETING) world, $(HOSTNAME) $$(GREETING)"}]
    sim.pod("expand", [{"name": "c", "image": "busybox", "env": env,
                        "command": ["sh", "-c"],
                        "args": ["echo '$(MESSAGE)'; echo '$(HOME)' $$GREETING; sleep 3600"]}])
    sim.run_for(12)
    record = sim.kubelet.runtime.find("default", "expand")
    assert record is not None
    lines = [line.text for line in record.containers["c"].all_logs(sim.clock)]
    # $(HOSTNAME) and $(HOME) are the runtime's, not the kubelet's: left as written.
    assert lines == ["hello world, $(HOSTNAME) $(GREETING)", "$(HOME) hello"]
