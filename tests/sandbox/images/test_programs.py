"""Runner images: the container's argv decides what agnhost, perl, python and redis do."""

from __future__ import annotations

import pytest

from kubelab.sandbox import images
from kubelab.sandbox.images.programs import pi_digits
from kubelab.sandbox.images.shell import ProgramRun, Shell

# Pi's first 60 decimals, from any reference table; the 61st is 5, then 9.
PI_60 = "3.141592653589793238462643383279502884197169399375105820974944"


def run(image: str, command: list[str], args: list[str]) -> ProgramRun:
    found = images.with_argv(images.lookup(image), command, args)
    assert images.runs_program(found, command, args)
    program = ProgramRun(images.program(found, command, args, Shell({}, {})))
    program.advance(3600.0)
    return program


def test_pi_digits_round_like_bpi() -> None:
    assert pi_digits(61) == PI_60[:-1] + "5"  # …9444|59… rounds up
    assert pi_digits(62).startswith(PI_60)
    assert pi_digits(5) == "3.1416"  # 3.14159… rounds up
    assert pi_digits(3) == "3.14"
    assert len(pi_digits(2000)) == 2001 and pi_digits(2000).startswith(PI_60)


def test_perl_job_tutorial_prints_pi_and_exits_0() -> None:
    done = run("perl:5.34.0", ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"], [])
    assert done.exit_code == 0
    [(offset, line)] = list(done.lines)
    assert line == pi_digits(2000) and offset > 0  # bignum takes a moment


def test_perl_without_bignum_or_with_other_scripts_fails_clearly() -> None:
    done = run("perl", ["perl", "-wle", "print bpi(10)"], [])
    assert done.exit_code == 255 and "Undefined subroutine &main::bpi" in done.lines[0][1]
    done = run("perl", ["perl", "-e", "system('rm -rf /')"], [])
    assert done.exit_code == 255 and "not simulated" in done.lines[0][1]
    assert [t for _, t in run("perl", ["perl", "-le", 'print "hi"'], []).lines] == ["hi"]


def test_python_c_prints_literals_only() -> None:
    done = run("python:3.12", ["python", "-c", "print('hello', 42); print('x', end='')"], [])
    assert [t for _, t in done.lines] == ["hello 42", "x"] and done.exit_code == 0
    done = run("python:3.12", ["python3", "-c", "import time; time.sleep(5); import sys; sys.exit(3)"],
               [])
    assert done.exit_code == 3 and done.exit_at == pytest.approx(5.0)
    done = run("python:3.12", ["python", "-c", "print(open('/etc/passwd').read())"], [])
    assert done.exit_code == 1 and "not simulated" in done.lines[0][1]
    done = run("python:3.12", ["python", "-c", "__import__('os').system('id')"], [])
    assert done.exit_code == 1
    assert [t for _, t in run("python:3.11-slim", ["python", "--version"], []).lines] == [
        "Python 3.11.13"]
    # the Python client's port-forward e2e test runs a script: refused, saying so
    done = run("python", ["python", "-u", "/opt/port-server.py", "1234"], [])
    assert done.exit_code == 1 and "does not run script files" in done.lines[0][1]
    assert [t for _, t in run("python", ["python", "-u", "-c", "print(1)"], []).lines] == ["1"]


def test_shell_in_a_runner_image_uses_the_shell() -> None:
    found = images.with_argv(images.lookup("python:3.12"), ["sh", "-c", "echo hi"], [])
    assert found.app is None
    assert images.runs_program(found, ["sh", "-c", "echo hi"], [])


def test_agnhost_unknown_subcommand_fails_like_cobra() -> None:
    done = run("registry.k8s.io/e2e-test-images/agnhost:2.40", [], ["nope"])
    assert done.exit_code == 1
    assert done.lines[0][1] == 'Error: unknown command "nope" for "agnhost"'
    # command replaces the ENTRYPOINT: /agnhost is gone, the args are the CMD
    found = images.with_argv(images.lookup("registry.k8s.io/e2e-test-images/agnhost:2.40"),
                             ["/agnhost", "netexec"], ["--http-port=8081"])
    assert found.argv == ("/agnhost", "netexec", "--http-port=8081")
    assert found.app is not None and found.app.port == 8081


def test_redis_serves_its_port_and_logs_ready() -> None:
    found = images.with_argv(images.lookup("redis:7.4"), [], [])
    assert found.app is not None and found.app.port == 6379
    from datetime import UTC, datetime

    logs = images.start_log_lines(found, "redis-0", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert logs[-1] == "1:M 02 Jan 2026 03:04:05.000 * Ready to accept connections tcp"
    assert "Redis version=7.4.5" in logs[1]


def test_request_log_lines_print_each_runtimes_timestamp() -> None:
    """The apps' request logs as their runtimes print them (Apache's access log, Go's log
    package, the hello apps' own line); only the timestamps a line names are formatted."""
    from datetime import UTC, datetime

    when = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    lines = {}
    for behaviour in images.CATALOG:
        for tag, app in [("", behaviour.http), *behaviour.per_tag.items()]:
            if app is not None and app.request_log:
                lines[f"{behaviour.repository}:{tag}"] = images.request_log_line(
                    app, "web-1", "GET", "/index.html", 200, 7, 12.5, when)
    assert lines, "no catalog app logs its requests"
    for repository, line in lines.items():
        assert "$" not in line, (repository, line)   # every placeholder filled
    joined = "\n".join(lines.values())
    assert '10.244.0.1 - - [02/Jan/2026:03:04:05 +0000] "GET /index.html HTTP/1.1" 200' in joined
    assert "2026/01/02 03:04:05 Serving request: /index.html" in joined
    assert "Total Requests: 7" in joined and "App Uptime: 12.5" in joined
    assert "Log Time: 2026-01-02T03:04:05.678Z" in joined
