"""Turn one run's kubectl output into text that is the same on every run.

What differs between two runs against two fresh clusters, and only that, is replaced by a
placeholder: ages (``5s``, ``2m3s``), uids, container IDs, resourceVersions, timestamps, the
pod-template-hash and the random five-character suffixes of generated names (the alphabet
of apimachinery's ``util/rand.String``; the ServiceAccount admission's ``kube-api-access-``
volume too), randomly allocated ClusterIPs, pod IPs and
NodePorts, the API server's port and the temporary directories of ``kubectl diff``.
Everything else, including the fixed addresses a kubeadm cluster always has (``10.96.0.1``
for ``kubernetes``, ``10.96.0.10`` for ``kube-dns``), stays as kubectl printed it.

Column alignment is kubectl's own work (its tabwriter), so ``same_text`` compares lines with
runs of blanks folded; the golden files keep kubectl's layout so a reviewer reads them as
real output.
"""

from __future__ import annotations

import re

# apimachinery/pkg/util/rand: consonants and digits without look-alikes.
_RAND = "[bcdfghjklmnpqrstvwxz2456789]"
# kubectl's HumanDuration forms; a quantity such as ``cpu: 100m`` follows a colon instead.
_AGE_TOKEN = r"\d+d(?:\d+h)?|\d+h(?:\d+m)?|\d+m(?:\d+s)?|\d+s"
_AGE = re.compile(rf"(?<![\w./:<=\"-])({_AGE_TOKEN})(?P<pad> *)(?![\w./:=\"-])")
_UID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_CONTAINER_ID = re.compile(r"\b((?:containerd|docker|cri-o)://)[0-9a-f]{64}\b")
_RV_YAML = re.compile(r'(resourceVersion: )"\d+"')
_RV_JSON = re.compile(r'("resourceVersion": ?)"\d+"')
_ISO_TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b")
_HTTP_DATE = re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} "
                        r"\d\d:\d\d:\d\d [+-]\d{4}")
_DIFF_TIME = re.compile(r"\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [+-]\d{4}")
_DIFF_DIR = re.compile(r"\S*/(LIVE|MERGED)-\d+/")
_POD_NAME = re.compile(rf"\b([a-z0-9]+(?:-[a-z0-9]+)*?)-({_RAND}{{6,10}})-({_RAND}{{5}})\b")
_RS_NAME = re.compile(rf"\b([a-z][a-z0-9]*(?:-[a-z0-9]+)*?)-({_RAND}{{8,10}})\b")
_HASH_LABEL = re.compile(rf"(pod-template-hash[=:] ?)({_RAND}{{6,10}})\b")
_SUFFIX = re.compile(rf"\b((?:kube-proxy|coredns|kindnet)-(?:{_RAND}{{6,10}}-)?|kube-api-access-)"
                     rf"{_RAND}{{5}}\b")
_SERVER = re.compile(r"(https://127\.0\.0\.1:)\d+")
_NODE_PORT = re.compile(r"\b(\d+):3\d{4}/(TCP|UDP|SCTP)")
_NODE_PORT_DESCRIBE = re.compile(r"(NodePort:\s+\S+\s+)3\d{4}(/(?:TCP|UDP|SCTP))")
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])")

FIXED_ADDRESSES = frozenset({"10.96.0.1", "10.96.0.10", "127.0.0.1", "0.0.0.0"})
PLACEHOLDER_AGE = "<age>"


def _age(match: re.Match[str]) -> str:
    token, pad = match.group(1), match.group("pad")
    before = match.string[:match.start()].rstrip()
    if before.endswith(":") or before.endswith(" for"):  # a quantity, a toleration period
        return match.group(0)
    # Keep the next column where kubectl put it, as far as the padding allows.
    grow = len(PLACEHOLDER_AGE) - len(token)
    if len(pad) > 2 and grow > 0:
        pad = " " * max(len(pad) - grow, 2)
    return PLACEHOLDER_AGE + pad


def _ip(match: re.Match[str]) -> str:
    text = match.group(0)
    octets = [int(g) for g in match.groups()]
    cidr = match.string[match.end():match.end() + 1] == "/"  # a range, not an address
    if text in FIXED_ADDRESSES or cidr or any(o > 255 for o in octets):
        return text
    if octets[0] == 10 and 96 <= octets[1] < 112:
        return "<cluster-ip>"
    if octets[0] == 10 and octets[1] == 244:
        return "<pod-ip>"
    return text


def normalise(text: str) -> str:
    """Replace every run-dependent value in ``text`` by its placeholder."""
    text = _DIFF_DIR.sub(r"\1/", text)
    text = _DIFF_TIME.sub("\t<timestamp>", text)
    text = _UID.sub("<uid>", text)
    text = _CONTAINER_ID.sub(r"\1<container-id>", text)
    text = _RV_YAML.sub(r'\1"<rv>"', text)
    text = _RV_JSON.sub(r'\1"<rv>"', text)
    text = _ISO_TIME.sub("<timestamp>", text)
    text = _HTTP_DATE.sub("<timestamp>", text)
    text = _SERVER.sub(r"\1<port>", text)
    text = _NODE_PORT.sub(r"\1:<node-port>/\2", text)
    text = _NODE_PORT_DESCRIBE.sub(r"\1<node-port>\2", text)
    text = _HASH_LABEL.sub(r"\1<hash>", text)
    text = _POD_NAME.sub(r"\1-<hash>-<suffix>", text)
    text = _SUFFIX.sub(r"\1<suffix>", text)
    text = _RS_NAME.sub(r"\1-<hash>", text)
    text = _IPV4.sub(_ip, text)
    return "\n".join(_AGE.sub(_age, line) for line in text.split("\n"))


def folded(text: str) -> list[str]:
    """Lines with blank runs folded and trailing blanks dropped: layout-insensitive."""
    lines = [re.sub(r"[ \t]+", " ", line).rstrip() for line in text.strip("\n").split("\n")]
    return lines


def same_text(actual: str, expected: str) -> bool:
    return folded(actual) == folded(expected)
