"""BusyBox's text applets for the sandbox shell: ``grep``, ``sed``, ``awk``, ``sort``,
``uniq``, ``cut``, ``tr``, ``wc``, ``head``, ``tail``, ``seq``, ``tee``, ``expr``,
``base64``, ``yes``, ``md5sum``/``sha256sum``.

Each is a generator over its standard input (:class:`~.shell_io.Input`) or its files, with
BusyBox's options, output columns and exit statuses (``grep`` 0/1/2, ``expr`` 1 for a null
result). Regular expressions are POSIX BRE (``grep``, ``sed``) or ERE (``grep -E``, ``sed
-E``, ``awk``), translated to Python's :mod:`re` syntax by :func:`posix_regex`. ``awk`` is the
subset learners type — ``awk -F: '/re/ {print $1, $NF}'`` with ``NR``/``NF``, comparisons and
``BEGIN``/``END`` — not the language; anything else is a syntax error as awk reports it.
``head`` and ``grep -q`` stop reading when they have their answer, so ``yes | head -3`` ends.
"""

from __future__ import annotations

import base64 as b64
import functools
import hashlib
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass

from kubelab.sandbox.images.shell_io import (
    Command,
    Ctx,
    Input,
    Output,
    Program,
    Step,
    as_bytes,
    as_text,
    err,
    out,
    read_inputs,
    write_lines,
    write_text,
)

_CLASSES = {"alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z",
            "lower": "a-z", "space": r" \t\n\r\f\v", "blank": r" \t", "xdigit": "0-9A-Fa-f",
            "punct": r"!-/:-@\[-`{-~", "print": r" -~", "cntrl": r"\x00-\x1f\x7f"}


def _bracket(pattern: str, i: int) -> tuple[str, int]:
    """Translate the bracket expression starting at ``pattern[i] == "["``."""
    j = i + 1
    parts = ["["]
    if j < len(pattern) and pattern[j] == "^":
        parts.append("^")
        j += 1
    first = True
    while j < len(pattern) and (pattern[j] != "]" or first):
        first = False
        if pattern.startswith("[:", j) and (end := pattern.find(":]", j)) > 0:
            parts.append(_CLASSES.get(pattern[j + 2:end], ""))
            j = end + 2
            continue
        c = pattern[j]
        parts.append("\\" + c if c in "\\[]^" and not (c == "^" and len(parts) > 1) else c)
        j += 1
    if j >= len(pattern):
        raise re.error("unterminated [")
    return "".join(parts) + "]", j + 1


def posix_regex(pattern: str, *, extended: bool) -> str:
    """A POSIX BRE or ERE as a Python regular expression. In a BRE ``\\( \\) \\{ \\} \\| \\+
    \\?`` are operators (the last three GNU's and BusyBox's extensions) and the bare
    characters literal; ``*`` leading an expression is literal."""
    result: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "[":
            text, i = _bracket(pattern, i)
            result.append(text)
            continue
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if not extended and nxt in "(){}|+?":
                result.append(nxt)
            elif nxt in "tn":
                result.append("\\" + nxt)  # GNU's and BusyBox's \t and \n
            elif nxt.isdigit() or nxt in "wWsSbB<>.[]*^$\\/(){}|+?":
                result.append({"<": r"\b", ">": r"\b"}.get(nxt, "\\" + nxt))
            else:
                result.append(re.escape(nxt))
            i += 2
            continue
        if not extended and c in "(){}|+?":
            result.append("\\" + c)
        elif c == "*" and (not result or result[-1] in ("^", "(", "|")):
            result.append(r"\*")
        else:
            result.append(c)
        i += 1
    return "".join(result)


def _compile(pattern: str, *, extended: bool, ignore_case: bool = False,
             fixed: bool = False) -> re.Pattern[str]:
    source = re.escape(pattern) if fixed else posix_regex(pattern, extended=extended)
    return re.compile(source, re.IGNORECASE if ignore_case else 0)


def _options(args: list[str], with_value: str) -> tuple[list[tuple[str, str]], list[str]]:
    """getopt: single-letter options, those in ``with_value`` taking an argument (attached
    or next); ``-NUM`` is returned as option ``#``."""
    options: list[tuple[str, str]] = []
    operands: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            operands.extend(args[i + 1:])
            break
        if not arg.startswith("-") or arg == "-":
            operands.append(arg)
            i += 1
            continue
        if arg[1:].isdigit():
            options.append(("#", arg[1:]))
            i += 1
            continue
        j = 1
        while j < len(arg):
            letter = arg[j]
            if letter in with_value:
                value = arg[j + 1:]
                if not value and i + 1 < len(args):
                    i += 1
                    value = args[i]
                options.append((letter, value))
                break
            options.append((letter, ""))
            j += 1
        i += 1
    return options, operands


def _lines(text: str) -> list[str]:
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n") if text else []


def grep(ctx: Ctx, args: list[str], *, extended: bool = False) -> Program:
    options, operands = _options(args, "em")
    flags = {name for name, _ in options}
    patterns = [value for name, value in options if name == "e"]
    if not patterns:
        if not operands:
            yield err("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\n"
                      "Usage: grep [-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] { PATTERN | -e PATTERN..."
                      " | -f FILE... } [FILE]...")
            return 2
        patterns = [operands.pop(0)]
    extended = extended or "E" in flags
    try:
        regexes = [_compile(p, extended=extended, ignore_case="i" in flags, fixed="F" in flags)
                   for p in patterns]
    except re.error:
        yield err("grep: bad regex")
        return 2
    limit = next((int(v) for n, v in options if n == "m" and v.isdigit()), -1)
    files = operands or ["-"]
    named = (len(files) > 1 and "h" not in flags) or "H" in flags
    found = False
    status = 0
    for path in files:
        if path == "-":
            source = ctx.stdin
            label = "(standard input)"
        else:
            absolute = ctx.fs.abspath(path)
            content = ctx.fs.read(absolute)
            if content is None:
                if "s" not in flags:
                    reason = ("Is a directory" if ctx.fs.is_dir(absolute)
                              else "No such file or directory")
                    yield err(f"grep: {path}: {reason}")
                status = 2
                continue
            source = Input(content)
            label = path
        count = number = 0
        pending: list[str] = []  # written when grep would wait for input, or at the end
        while True:
            if pending and not source.ready():
                yield from write_lines(pending)
                pending.clear()
            line = yield from source.read_line()
            if line is None:
                break
            number += 1
            text = line.removesuffix("\n")
            matches: list[str] = []
            for regex in regexes:
                if "x" in flags:
                    hit = regex.fullmatch(text) is not None
                elif "w" in flags:
                    hit = any(re.match(r"\w", text[m.end():m.end() + 1] or " ") is None
                              and re.match(r"\w", text[m.start() - 1:m.start()] or " ") is None
                              for m in regex.finditer(text))
                else:
                    hit = regex.search(text) is not None
                if hit and "o" in flags:
                    matches.extend(m.group(0) for m in regex.finditer(text) if m.group(0))
                if hit:
                    break
            if hit == ("v" in flags):
                continue
            found = True
            count += 1
            if "q" in flags:
                return 0
            if "l" in flags:
                pending.append(label)
                break
            if "c" not in flags:
                prefix = (f"{label}:" if named else "") + (f"{number}:" if "n" in flags else "")
                pending.extend(prefix + shown for shown in
                               (matches if "o" in flags and "v" not in flags else [text]))
            if count == limit:
                break
        yield from write_lines(pending)
        if "c" in flags:
            yield out(f"{label}:{count}" if named else str(count))
    return status or (0 if found else 1)


def egrep(ctx: Ctx, args: list[str]) -> Program:
    return (yield from grep(ctx, args, extended=True))


def wc(ctx: Ctx, args: list[str]) -> Program:
    options, paths = _options(args, "")
    flags = {n for n, _ in options} & set("lwcmL")
    order = [f for f in "lwc" if f in flags or (f == "c" and "m" in flags)] or ["l", "w", "c"]
    status = 0
    rows: list[tuple[list[int], str]] = []
    for path in paths or ["-"]:
        text, failed = yield from read_inputs(ctx, "wc", [] if path == "-" else [path])
        if failed:
            status = 1
            continue
        found = {"l": text.count("\n"), "w": len(text.split()), "c": len(as_bytes(text))}
        rows.append(([found[f] for f in order], "" if path == "-" else path))
    if len(rows) > 1:
        rows.append(([sum(r[0][k] for r in rows) for k in range(len(order))], "total"))
    for counts, name in rows:
        # BusyBox pads columns to 9 only when it prints more than one count.
        cells = str(counts[0]) if len(order) == 1 else " ".join(f"{c:>9}" for c in counts)
        yield out(f"{cells} {name}" if name else cells)
    return status


def _count(options: list[tuple[str, str]], default: int = 10) -> tuple[int, bool, bool]:
    """(N, counts bytes, ``+N`` from the start) from ``-n N``/``-c N``/``-N``."""
    for name, value in options:
        if name in ("n", "c", "#"):
            start = value.startswith("+")
            digits = value.lstrip("+-")
            return (int(digits) if digits.isdigit() else default), name == "c", start
    return default, False, False


def head(ctx: Ctx, args: list[str]) -> Program:
    """The first lines (or bytes); it stops reading once it has them, so the writer of a
    pipe into ``head`` dies of ``SIGPIPE`` at its next write."""
    options, paths = _options(args, "nc")
    n, in_bytes, _ = _count(options)
    status = 0
    for k, path in enumerate(paths or ["-"]):
        if len(paths) > 1:
            if k:
                yield out("")
            yield out(f"==> {path} <==")
        if path == "-":
            source = ctx.stdin
        else:
            absolute = ctx.fs.abspath(path)
            content = ctx.fs.read(absolute)
            if content is None:
                yield err(f"head: can't open '{path}': No such file or directory")
                status = 1
                continue
            source = Input(content)
        if in_bytes:
            data = yield from source.read_all()
            yield from write_text(as_text(as_bytes(data)[:n]))
            continue
        taken: list[str] = []
        for _ in range(n):
            if taken and not source.ready():
                yield from write_text("".join(taken))
                taken.clear()
            line = yield from source.read_line()
            if line is None:
                break
            taken.append(line)
        yield from write_text("".join(taken))
    return status


def tail(ctx: Ctx, args: list[str]) -> Program:
    options, paths = _options(args, "nc")
    n, in_bytes, from_start = _count(options)
    text, status = yield from read_inputs(ctx, "tail", paths)
    if in_bytes:  # bytes, not characters: `kubectl cp --retries` resumes a tar stream
        data = as_bytes(text)
        data = data[max(0, n - 1):] if from_start else data[-n:] if n else b""
        yield from write_text(as_text(data))
        return status
    lines = text.splitlines(keepends=True)
    chosen = lines[max(0, n - 1):] if from_start else lines[-n:] if n else []
    yield from write_text("".join(chosen))
    return status


def seq(ctx: Ctx, args: list[str]) -> Program:
    numbers = [a for a in args if re.fullmatch(r"[-+]?\d*\.?\d+", a)]
    options, extra = _options([a for a in args if a not in numbers], "s")
    numbers += extra
    separator = next((v for n, v in options if n == "s"), "\n")
    width = any(n == "w" for n, _ in options)
    try:
        values = [float(a) for a in numbers]
    except ValueError:
        bad = next(a for a in numbers if not re.fullmatch(r"[-+]?\d*\.?\d+", a))
        yield err(f"seq: invalid number '{bad}'")
        return 1
    if not 1 <= len(values) <= 3:
        yield err("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\n"
                  "Usage: seq [-w] [-s SEP] [FIRST [INC]] LAST")
        return 1
    first, step, last = (1.0, 1.0, values[0]) if len(values) == 1 else (
        values[0], 1.0, values[1]) if len(values) == 2 else tuple(values)
    decimals = max((len(a.split(".")[1]) for a in numbers if "." in a), default=0)
    items: list[str] = []
    value = first
    count = 0
    while step and ((step > 0 and value <= last + 1e-9) or (step < 0 and value >= last - 1e-9)):
        # BusyBox prints each value with %g: no trailing zeros ("3", "3.3").
        text = f"{value:.{decimals}f}"
        items.append(text.rstrip("0").rstrip(".") if "." in text else text)
        count += 1
        value = first + count * step
        if separator == "\n" and len(items) >= 4096 and not width:
            yield from write_lines(items)
            items.clear()
    if width and items:
        size = max(len(i) for i in items)
        items = [i.zfill(size) for i in items]
    if separator == "\n":
        yield from write_lines(items)
    elif items:
        yield out(separator.join(items))
    return 0


@dataclass(frozen=True)
class _SortKey:
    start: int
    end: int  # 0: to the end of the line
    numeric: bool
    reverse: bool
    fold: bool


def _key_text(line: str, key: _SortKey, separator: str | None) -> str:
    """Fields ``start``..``end`` of ``line``. Without ``-t`` a field is a run of non-blanks
    with the blanks before it (POSIX: leading blanks belong to the field)."""
    if separator is not None:
        fields = line.split(separator)
        return separator.join(fields[key.start - 1:key.end or None])
    fields = re.findall(r"\s*\S+", line) or [line]
    return "".join(fields[key.start - 1:key.end or None])


def _compare_text(a: str, b: str, numeric: bool, fold: bool) -> int:
    if numeric:
        x, y = _num(a), _num(b)
        return (x > y) - (x < y)
    if fold:
        a, b = a.lower(), b.lower()
    return (a > b) - (a < b)


def sort(ctx: Ctx, args: list[str]) -> Program:
    """POSIX ``sort``: ``-k`` keys with their own ``n``/``r``/``f`` (a key without any takes
    the global ones), then the whole line byte by byte as the last resort (not with ``-s``
    or ``-u``); ``-t``, ``-u``, ``-o FILE``."""
    options, paths = _options(args, "kto")
    flags = {n for n, _ in options}
    separator = next((v for n, v in options if n == "t"), None)
    keys: list[_SortKey] = []
    for name, value in options:
        if name != "k":
            continue
        own = set(re.sub(r"[^a-zA-Z]", "", value))
        start, _, end = re.sub(r"[a-zA-Z]", "", value).partition(",")
        chosen = own or flags
        keys.append(_SortKey(int(start.split(".")[0] or 1), int(end.split(".")[0] or 0),
                             "n" in chosen, "r" in chosen, "f" in chosen))
    if not keys:
        keys.append(_SortKey(1, 0, "n" in flags, "r" in flags, "f" in flags))
        separator = ""  # the whole line, blanks and all
    text, status = yield from read_inputs(ctx, "sort", paths, join_lines=True)

    def compare(a: str, b: str) -> int:
        for key in keys:
            ka = a if separator == "" else _key_text(a, key, separator)
            kb = b if separator == "" else _key_text(b, key, separator)
            result = _compare_text(ka, kb, key.numeric, key.fold)
            if result:
                return -result if key.reverse else result
        if "s" in flags or "u" in flags:
            return 0
        result = (a > b) - (a < b)
        return -result if "r" in flags else result

    if separator == "" and "s" not in flags and "u" not in flags:
        # The whole line, numerically or not, then byte order: a key function is faster.
        key = keys[0]
        lines = sorted(_lines(text), reverse=key.reverse,
                       key=(lambda line: (_num(line), line)) if key.numeric else
                       (lambda line: (line.lower(), line)) if key.fold else None)
    else:
        lines = sorted(_lines(text), key=functools.cmp_to_key(compare))
    if "u" in flags:
        unique: list[str] = []
        for line in lines:
            if not unique or compare(unique[-1], line) != 0:
                unique.append(line)
        lines = unique
    target = next((v for n, v in options if n == "o"), "")
    if target:
        if not ctx.fs.write(ctx.fs.abspath(target), "".join(line + "\n" for line in lines)):
            yield err(f"sort: {target}: No space left on device")
            return 2
        return status
    yield from write_lines(lines)
    return status


def uniq(ctx: Ctx, args: list[str]) -> Program:
    options, paths = _options(args, "fs")
    flags = {n for n, _ in options}
    text, status = yield from read_inputs(ctx, "uniq", paths[:1])
    groups: list[list[str]] = []
    for line in _lines(text):
        same = groups and (groups[-1][0].lower() == line.lower() if "i" in flags
                           else groups[-1][0] == line)
        if same:
            groups[-1].append(line)
        else:
            groups.append([line])
    yield from write_lines([f"{len(group):>7} {group[0]}" if "c" in flags else group[0]
                            for group in groups
                            if not (("d" in flags and len(group) < 2)
                                    or ("u" in flags and len(group) > 1))])
    return status


def _ranges(spec: str) -> list[tuple[int, int]] | None:
    ranges = []
    for part in spec.split(","):
        match = re.fullmatch(r"(\d*)(-?)(\d*)", part)
        if not match or not (match.group(1) or match.group(3)):
            return None
        start = int(match.group(1) or 1)
        end = int(match.group(3)) if match.group(3) else (start if not match.group(2) else 0)
        if end and end < start:
            return None
        ranges.append((start, end))
    return ranges


def _pick(items: list[str], ranges: list[tuple[int, int]]) -> list[str]:
    return [item for k, item in enumerate(items, 1)
            if any(start <= k and (end == 0 or k <= end) for start, end in ranges)]


def cut(ctx: Ctx, args: list[str]) -> Program:
    options, paths = _options(args, "dfcb")
    values = dict(options)
    delimiter = values.get("d", "\t") or "\t"
    spec = values.get("f") or values.get("c") or values.get("b")
    ranges = _ranges(spec) if spec else None
    if ranges is None:
        yield err("cut: expected a list of bytes, characters, or fields" if spec is None
                  else f"cut: invalid range '{spec}'" if spec else "cut: missing list")
        return 1
    text, status = yield from read_inputs(ctx, "cut", paths)
    result: list[str] = []
    for line in _lines(text):
        if "f" in values:
            if delimiter not in line:
                if "s" not in values:
                    result.append(line)
                continue
            result.append(delimiter.join(_pick(line.split(delimiter), ranges)))
        else:
            result.append("".join(_pick(list(line), ranges)))
    yield from write_lines(result)
    return status


def _tr_set(spec: str) -> list[str]:
    chars: list[str] = []
    i = 0
    while i < len(spec):
        if spec.startswith("[:", i) and (end := spec.find(":]", i)) > 0:
            name = spec[i + 2:end]
            members = {"upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                       "lower": "abcdefghijklmnopqrstuvwxyz", "digit": "0123456789",
                       "space": " \t\n\r\f\v", "blank": " \t",
                       "xdigit": "0123456789ABCDEFabcdef"}
            alpha = members["lower"] + members["upper"]
            chars.extend(members.get(name, alpha if name == "alpha" else alpha + "0123456789"
                                     if name == "alnum" else ""))
            i = end + 2
            continue
        c = spec[i]
        if c == "\\" and i + 1 < len(spec):
            c = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(spec[i + 1], spec[i + 1])
            i += 1
        if i + 2 < len(spec) and spec[i + 1] == "-":
            end_char = spec[i + 2]
            chars.extend(chr(k) for k in range(ord(c), ord(end_char) + 1))
            i += 3
            continue
        chars.append(c)
        i += 1
    return chars


def tr(ctx: Ctx, args: list[str]) -> Program:
    options, sets = _options(args, "")
    flags = {n for n, _ in options}
    if not sets:
        yield err("tr: missing operand")
        return 1
    first = _tr_set(sets[0])
    second = _tr_set(sets[1]) if len(sets) > 1 else []
    while (chunk := (yield from ctx.stdin.read_some())) is not None:
        if "d" in flags:
            chunk = "".join(c for c in chunk if (c in first) == ("c" in flags))
        elif second:
            table = {c: second[min(k, len(second) - 1)] for k, c in enumerate(first)}
            chunk = "".join(table.get(c, c) for c in chunk)
        if "s" in flags:
            squeeze = set(second or first)
            chunk = re.sub("|".join(f"(?:{re.escape(c)})+" for c in squeeze) or "(?!)",
                           lambda m: m.group(0)[0], chunk)
        yield out(chunk, newline=False)
    return 0


def tee(ctx: Ctx, args: list[str]) -> Program:
    options, paths = _options(args, "")
    append = any(n == "a" for n, _ in options)
    targets = [ctx.fs.abspath(p) for p in paths]
    for target in targets:
        if not append:
            ctx.fs.write(target, "")
    status = 0
    while (chunk := (yield from ctx.stdin.read_some())) is not None:
        for target, path in zip(targets, paths, strict=True):
            if not ctx.fs.write(target, chunk, append=True) and status == 0:
                yield err(f"tee: {path}: No space left on device")
                status = 1
        yield out(chunk, newline=False)
    return status


# ----------------------------------------------------------------------------- sed


def _sed_commands(script: str, extended: bool) -> list[tuple[object, object, str, tuple]]:
    """Parse ``script`` into (address1, address2, command, arguments) tuples."""
    commands: list[tuple[object, object, str, tuple]] = []
    i = 0

    def address() -> object:
        nonlocal i
        if i < len(script) and script[i].isdigit():
            j = i
            while j < len(script) and script[j].isdigit():
                j += 1
            value, i = int(script[i:j]), j
            return value
        if i < len(script) and script[i] == "$":
            i += 1
            return "$"
        if i < len(script) and script[i] in "/\\":
            delim = script[i] if script[i] == "/" else script[i + 1]
            i += 1 if script[i] == "/" else 2
            pattern, i = _until(script, i, delim)
            return _compile(pattern, extended=extended)
        return None

    while i < len(script):
        if script[i] in " \t\n;":
            i += 1
            continue
        first = address()
        second = None
        if first is not None and i < len(script) and script[i] == ",":
            i += 1
            second = address()
        while i < len(script) and script[i] == " ":
            i += 1
        if i >= len(script):
            raise ValueError("missing command")
        command = script[i]
        i += 1
        if command == "s":
            delim = script[i]
            pattern, i = _until(script, i + 1, delim)
            replacement, i = _until(script, i, delim)
            j = i
            while j < len(script) and script[j] not in ";\n}":
                j += 1
            flags = script[i:j].strip()
            i = j
            regex = _compile(pattern, extended=extended, ignore_case="I" in flags or "i" in flags)
            commands.append((first, second, "s", (regex, replacement, flags)))
        elif command in "pdqn=":
            commands.append((first, second, command, ()))
        elif command in "aic":
            text = script[i:].lstrip()
            text = text[1:].lstrip() if text.startswith("\\") else text
            end = text.find("\n")
            commands.append((first, second, command, (text if end < 0 else text[:end],)))
            i = len(script) if end < 0 else len(script) - len(text) + end
        elif command in "{}":
            continue
        else:
            raise ValueError(f"unsupported command {command}")
    return commands


def _until(text: str, i: int, delim: str) -> tuple[str, int]:
    parts: list[str] = []
    while i < len(text) and text[i] != delim:
        if text[i] == "\\" and i + 1 < len(text):
            parts.append(text[i + 1] if text[i + 1] == delim else text[i:i + 2])
            i += 2
            continue
        parts.append(text[i])
        i += 1
    if i >= len(text):
        raise ValueError(f"unmatched '{delim}'")
    return "".join(parts), i + 1


def _sed_replacement(template: str) -> Callable[[re.Match[str]], str]:
    def expand(match: re.Match[str]) -> str:
        result: list[str] = []
        i = 0
        while i < len(template):
            c = template[i]
            if c == "\\" and i + 1 < len(template):
                nxt = template[i + 1]
                if nxt.isdigit():
                    result.append(match.group(int(nxt)) or "")
                else:
                    result.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
                i += 2
            elif c == "&":
                result.append(match.group(0))
                i += 1
            else:
                result.append(c)
                i += 1
        return "".join(result)
    return expand


def _matches(address: object, number: int, line: str, last: bool) -> bool:
    if isinstance(address, int):
        return number == address
    if address == "$":
        return last
    return isinstance(address, re.Pattern) and address.search(line) is not None


def _sed_run(commands: list[tuple[object, object, str, tuple]], lines: list[str],
             quiet: bool) -> list[str]:
    output: list[str] = []
    active = [False] * len(commands)
    ended = [False] * len(commands)
    for number, line in enumerate(lines, 1):
        last = number == len(lines)
        deleted = False
        quit_after = False
        appended: list[str] = []
        for k, (first, second, command, arguments) in enumerate(commands):
            if first is None:
                selected = True
            elif second is None:
                selected = _matches(first, number, line, last)
            elif active[k]:
                selected = True
                if _matches(second, number, line, last) or (
                        isinstance(second, int) and number >= second):
                    active[k], ended[k] = False, True
            else:
                # A numeric start is "at or past line N" (GNU, BusyBox): a range whose first
                # line was deleted by an earlier command still starts.
                selected = (number >= first and not ended[k]) if isinstance(first, int) \
                    else _matches(first, number, line, last)
                if selected:
                    active[k] = not (isinstance(second, int) and second <= number)
                    ended[k] = not active[k] and isinstance(first, int)
            if not selected:
                continue
            if command == "s":
                regex, replacement, flags = arguments
                count = 0 if "g" in flags else 1
                nth = next((int(f) for f in re.findall(r"\d+", flags)), 0)
                if nth:
                    seen = 0

                    def nth_only(m: re.Match[str], r: str = replacement, n: int = nth) -> str:
                        nonlocal seen
                        seen += 1
                        return _sed_replacement(r)(m) if seen == n else m.group(0)
                    new = regex.sub(nth_only, line)
                else:
                    new = regex.sub(_sed_replacement(replacement), line, count=count)
                if new != line or regex.search(line):
                    line = new
                    if "p" in flags:
                        output.append(line)
            elif command == "p":
                output.append(line)
            elif command == "d":
                deleted = True
                break
            elif command == "=":
                output.append(str(number))
            elif command == "q":
                quit_after = True
                break
            elif command == "a":
                appended.append(arguments[0])
            elif command == "i":
                output.append(arguments[0])
            elif command == "c":
                output.append(arguments[0])
                deleted = True
                break
        if not deleted and not quiet:
            output.append(line)
        output.extend(appended)
        if quit_after:
            break
    return output


def sed(ctx: Ctx, args: list[str]) -> Program:
    options, operands = _options(args, "ef")
    flags = {n for n, _ in options}
    scripts = [v for n, v in options if n == "e"]
    if not scripts:
        if not operands:
            yield err("Usage: sed [-i[SFX]] [-nrE] [-f FILE]... [-e CMD]... [FILE]...")
            return 1
        scripts = [operands.pop(0)]
    try:
        commands = _sed_commands("\n".join(scripts), "E" in flags or "r" in flags)
    except (ValueError, re.error, IndexError) as error:
        yield err(f"sed: {error}")
        return 1
    if "i" in flags:
        status = 0
        for path in operands:
            absolute = ctx.fs.abspath(path)
            content = ctx.fs.read(absolute)
            if content is None:
                yield err(f"sed: {path}: No such file or directory")
                status = 1
                continue
            result = _sed_run(commands, _lines(content), "n" in flags)
            ctx.fs.write(absolute, "".join(line + "\n" for line in result))
        return status
    text, status = yield from read_inputs(ctx, "sed", operands, join_lines=True)
    result = _sed_run(commands, _lines(text), "n" in flags)
    written = "".join(line + "\n" for line in result)
    # As BusyBox, the last line keeps the input's missing newline.
    yield from write_text(written if text.endswith("\n") else written.removesuffix("\n"))
    return status


# ----------------------------------------------------------------------------- awk


class _AwkError(Exception):
    pass


def _awk_term(token: str, fields: list[str], number: int, variables: dict[str, str]) -> str:
    token = token.strip()
    if token.startswith('"') and token.endswith('"') and len(token) >= 2:
        return token[1:-1].replace("\\t", "\t").replace("\\n", "\n")
    if token.startswith("$"):
        inner = token[1:].strip("()")
        index = int(_awk_value(inner, fields, number, variables) or 0) if inner else 0
        if index < 0:
            raise _AwkError("trying to access out of range field")
        return (fields[index] if index < len(fields) else "")
    if token == "NR":
        return str(number)
    if token == "NF":
        return str(len(fields) - 1)
    if re.fullmatch(r"-?\d+(\.\d+)?", token):
        return token
    if re.fullmatch(r"[A-Za-z_]\w*", token):
        return variables.get(token, "")
    raise _AwkError(f"unexpected token {token}")


def _awk_value(expression: str, fields: list[str], number: int,
               variables: dict[str, str]) -> str:
    """A concatenation of terms, or one ``+ - * /`` operation between two terms."""
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|\$\([^)]*\)|\$?[A-Za-z_0-9.]+|[-+*/%]', expression)
    if len(tokens) == 3 and tokens[1] in "+-*/%":
        left = _num(_awk_term(tokens[0], fields, number, variables))
        right = _num(_awk_term(tokens[2], fields, number, variables))
        ops: dict[str, Callable[[float, float], float]] = {
            "+": float.__add__, "-": float.__sub__, "*": float.__mul__,
            "/": lambda a, b: a / b if b else float("nan"), "%": lambda a, b: a % b if b else 0}
        value = ops[tokens[1]](left, right)
        return str(int(value)) if value == int(value) else f"{value:.6g}"
    return "".join(_awk_term(t, fields, number, variables) for t in tokens)


def _num(text: str) -> float:
    match = re.match(r"\s*-?\d+(\.\d+)?", text)
    return float(match.group(0)) if match else 0.0


def _split_top(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    quote = False
    current: list[str] = []
    for c in text:
        if c == '"':
            quote = not quote
        elif not quote and c in "([":
            depth += 1
        elif not quote and c in ")]":
            depth -= 1
        if c == separator and not quote and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts


def _awk_pattern(pattern: str, fields: list[str], number: int,
                 variables: dict[str, str]) -> bool:
    pattern = pattern.strip()
    if not pattern:
        return True
    if pattern.startswith("!"):
        return not _awk_pattern(pattern[1:], fields, number, variables)
    if "&&" in pattern:
        return all(_awk_pattern(p, fields, number, variables) for p in pattern.split("&&"))
    if "||" in pattern:
        return any(_awk_pattern(p, fields, number, variables) for p in pattern.split("||"))
    if re.fullmatch(r"/.*/", pattern):
        return _compile(pattern[1:-1], extended=True).search(fields[0]) is not None
    match = re.fullmatch(r"(.+?)\s*(!~|~)\s*/(.*)/", pattern)
    if match:
        subject = _awk_value(match.group(1), fields, number, variables)
        hit = _compile(match.group(3), extended=True).search(subject) is not None
        return hit == (match.group(2) == "~")
    match = re.fullmatch(r"(.+?)\s*(==|!=|<=|>=|<|>)\s*(.+)", pattern)
    if match:
        left = _awk_value(match.group(1), fields, number, variables)
        right = _awk_value(match.group(3), fields, number, variables)
        numeric = all(re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", v) for v in (left, right))
        a: object = float(left) if numeric else left
        b: object = float(right) if numeric else right
        compare: dict[str, Callable[[object, object], bool]] = {
            "==": lambda x, y: x == y, "!=": lambda x, y: x != y,
            "<": lambda x, y: x < y, ">": lambda x, y: x > y,  # type: ignore[operator]
            "<=": lambda x, y: x <= y, ">=": lambda x, y: x >= y}  # type: ignore[operator]
        return compare[match.group(2)](a, b)
    value = _awk_value(pattern, fields, number, variables)
    return value not in ("", "0")


def _awk_rules(program: str) -> list[tuple[str, list[str]]]:
    rules: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(program):
        brace = program.find("{", i)
        if brace < 0:
            pattern = program[i:].strip()
            if pattern:
                rules.append((pattern, ["print"]))
            break
        pattern = program[i:brace].strip().rstrip(";")
        end = program.find("}", brace)
        if end < 0:
            raise _AwkError("unexpected end of program")
        statements = [s.strip() for s in re.split(r"[;\n]", program[brace + 1:end]) if s.strip()]
        rules.append((pattern, statements))
        i = end + 1
    return rules


def _awk_statement(statement: str, fields: list[str], number: int,
                   variables: dict[str, str], separator: str) -> list[str]:
    if statement == "print" or statement == "print $0":
        return [fields[0]]
    if statement.startswith("print ") or statement.startswith("print("):
        items = _split_top(statement[5:].strip(), ",")
        return [separator.join(_awk_value(item, fields, number, variables) for item in items)]
    if statement.startswith("printf"):
        items = [i.strip() for i in _split_top(statement[6:].strip().strip("()"), ",")]
        fmt = _awk_term(items[0], fields, number, variables)
        values = [_awk_value(item, fields, number, variables) for item in items[1:]]
        text = re.sub(r"%[-0-9.]*[sd]", lambda m: values.pop(0) if values else "", fmt)
        return ["\0" + text]
    match = re.fullmatch(r"([A-Za-z_]\w*)\s*(\+=|=|\+\+)\s*(.*)", statement)
    if match:
        name, op, expression = match.groups()
        if op == "++":
            variables[name] = str(int(_num(variables.get(name, "0"))) + 1)
        elif op == "+=":
            total = _num(variables.get(name, "0")) + _num(
                _awk_value(expression, fields, number, variables))
            variables[name] = str(int(total)) if total == int(total) else str(total)
        else:
            variables[name] = _awk_value(expression, fields, number, variables)
        return []
    raise _AwkError(f"unexpected token {statement.split()[0]}")


def awk(ctx: Ctx, args: list[str]) -> Program:
    options, operands = _options(args, "Fv")
    separator = next((v for n, v in options if n == "F"), None)
    variables = dict(v.partition("=")[::2] for n, v in options if n == "v")
    if not operands:
        yield err("Usage: awk [OPTIONS] [AWK_PROGRAM] [FILE]...")
        return 1
    program = operands.pop(0)
    try:
        rules = _awk_rules(program)
    except _AwkError as error:
        yield err(f"awk: cmd. line:1: {error}")
        return 2
    text, status = yield from read_inputs(ctx, "awk", operands)
    lines = _lines(text)
    pending = ""

    def run(pattern_kind: str, line: str, number: int) -> Generator[Step, None, None]:
        nonlocal pending
        if separator is None or separator == " ":
            fields = [line, *line.split()]
        else:
            fields = [line, *re.split(re.escape(separator) if len(separator) == 1
                                      else separator, line)] if line else [line]
        for pattern, statements in rules:
            if pattern_kind != "main":
                if pattern != pattern_kind:
                    continue
            elif pattern in ("BEGIN", "END") or not _awk_pattern(pattern, fields, number,
                                                                 variables):
                continue
            for statement in statements:
                for written in _awk_statement(statement, fields, number, variables, " "):
                    if written.startswith("\0"):
                        pending += written[1:]
                        if "\n" in pending:
                            *complete, pending = pending.split("\n")
                            for item in complete:
                                yield out(item)
                    else:
                        yield out(pending + written)
                        pending = ""

    try:
        yield from run("BEGIN", "", 0)
        for number, line in enumerate(lines, 1):
            yield from run("main", line, number)
        yield from run("END", lines[-1] if lines else "", len(lines))
    except (_AwkError, re.error, IndexError) as error:
        yield err(f"awk: cmd. line:1: {error}")
        return 2
    if pending:
        yield out(pending, newline=False)
    return status


# ----------------------------------------------------------------------------- the rest


def _expr(tokens: list[str]) -> str:
    """``expr``'s grammar (``coreutils/expr.c``): ``|``, ``&``, comparisons, ``+ -``,
    ``* / %``, ``:`` and ``length``/``substr``/``index``, lowest precedence first."""
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise ValueError("syntax error")
        position += 1
        return tokens[position - 1]

    def integer(text: str) -> int:
        if not re.fullmatch(r"-?\d+", text):
            raise ValueError("non-numeric argument")
        return int(text)

    def primary() -> str:
        token = take()
        if token == "(":
            value = or_()
            if take() != ")":
                raise ValueError("syntax error")
            return value
        if token == "length":
            return str(len(primary()))
        if token == "substr":
            text, start, length = primary(), integer(primary()), integer(primary())
            return text[start - 1:start - 1 + length] if start > 0 and length > 0 else ""
        if token == "index":
            text, chars = primary(), primary()
            return str(min((text.find(c) + 1 for c in chars if c in text), default=0))
        return token

    def match() -> str:
        value = primary()
        while peek() == ":":
            take()
            regex = re.match(posix_regex(primary(), extended=False), value)
            if regex is None:
                value = "0" if "\\(" not in tokens[position - 1] else ""
            else:
                value = (regex.group(1) or "") if regex.re.groups else str(len(regex.group(0)))
        return value

    def product() -> str:
        value = match()
        while peek() in ("*", "/", "%"):
            op, right = take(), integer(match())
            left = integer(value)
            if op != "*" and right == 0:
                raise ValueError("division by zero")
            quotient = abs(left) // abs(right) * (1 if (left < 0) == (right < 0) else -1) \
                if op != "*" else 0
            value = str(left * right if op == "*" else quotient if op == "/"
                        else left - right * quotient)
        return value

    def total() -> str:
        value = product()
        while peek() in ("+", "-"):
            op, right = take(), integer(product())
            value = str(integer(value) + right if op == "+" else integer(value) - right)
        return value

    def compare() -> str:
        value = total()
        while peek() in ("=", "==", "!=", "<", "<=", ">", ">="):
            op, right = take(), total()
            numeric = all(re.fullmatch(r"-?\d+", v) for v in (value, right))
            a: object = int(value) if numeric else value
            b: object = int(right) if numeric else right
            result = {"=": a == b, "==": a == b, "!=": a != b, "<": a < b,  # type: ignore[operator]
                      "<=": a <= b, ">": a > b, ">=": a >= b}[op]  # type: ignore[operator]
            value = "1" if result else "0"
        return value

    def and_() -> str:
        value = compare()
        while peek() == "&":
            take()
            right = compare()
            value = value if value not in ("", "0") and right not in ("", "0") else "0"
        return value

    def or_() -> str:
        value = and_()
        while peek() == "|":
            take()
            right = and_()
            value = value if value not in ("", "0") else right if right not in ("", "0") else "0"
        return value

    result = or_()
    if position != len(tokens):
        raise ValueError("syntax error")
    return result


def expr(ctx: Ctx, args: list[str]) -> Program:
    try:
        value = _expr(args)
    except ValueError as error:
        yield err(f"expr: {error}")
        return 2
    yield out(value)
    return 1 if value in ("", "0") else 0


def base64(ctx: Ctx, args: list[str]) -> Program:
    options, paths = _options(args, "w")
    decode = any(n == "d" for n, _ in options)
    text, status = yield from read_inputs(ctx, "base64", paths)
    if decode:
        try:
            data = b64.b64decode("".join(text.split()), validate=True)
        except ValueError:
            yield err("base64: invalid input")
            return 1
        yield out(as_text(data), newline=False)
        return status
    encoded = b64.b64encode(as_bytes(text)).decode()
    for k in range(0, len(encoded), 76):
        yield out(encoded[k:k + 76])
    return status


def yes(ctx: Ctx, args: list[str]) -> Program:
    """Writes a buffer of lines at a time, as BusyBox's ``yes`` fills stdio's buffer."""
    text = (" ".join(args) or "y") + "\n"
    chunk = text * max(1, 4096 // len(text))
    while True:
        yield Output(chunk, newline=False)


def _digest(algorithm: str) -> Command:
    def command(ctx: Ctx, args: list[str]) -> Program:
        status = 0
        for path in args or ["-"]:
            text, failed = yield from read_inputs(ctx, f"{algorithm}sum",
                                                  [] if path == "-" else [path])
            if failed:
                status = 1
                continue
            yield out(f"{hashlib.new(algorithm, as_bytes(text)).hexdigest()}  {path}")
        return status
    return command


COMMANDS: dict[str, Command] = {
    "grep": grep, "egrep": egrep, "wc": wc, "head": head, "tail": tail, "seq": seq,
    "sort": sort, "uniq": uniq, "cut": cut, "tr": tr, "tee": tee, "sed": sed, "awk": awk,
    "expr": expr, "base64": base64, "yes": yes, "md5sum": _digest("md5"),
    "sha256sum": _digest("sha256"),
}
