"""The linters of tests/linters.py catch what they are there for: checkov fails a manifest that
breaks its rules, listing each, and a rule skipped without a reason; passes a hardened one; and
never scans nothing or reaches the network."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from linters import checkov, run_checkov

# A scan takes checkov 5 to 10 seconds, most of it importing its rules.
pytestmark = pytest.mark.slow

# A Deployment that breaks the rules the rendered manifests keep: privileged, root, writable
# root file system, no probes, no resources, a moving tag.
CARELESS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: careless
  namespace: shop
spec:
  selector:
    matchLabels: {app: careless}
  template:
    metadata:
      labels: {app: careless}
    spec:
      containers:
        - name: app
          image: registry.example.com/careless:latest
          securityContext:
            privileged: true
"""

# One that keeps them, with its NetworkPolicy, and one rule skipped with its reason.
HARDENED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    checkov.io/skip1: CKV_K8S_43=the release pins the image by digest, not this file
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: web
          image: registry.example.com/web:1.2.3
          imagePullPolicy: Always
          ports: [{containerPort: 8000}]
          livenessProbe: {httpGet: {path: /health, port: 8000}}
          readinessProbe: {httpGet: {path: /ready, port: 8000}}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 256Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            runAsUser: 10001
            capabilities: {drop: [ALL]}
            seccompProfile: {type: RuntimeDefault}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: web}
  policyTypes: [Ingress]
  ingress:
    - ports: [{port: 8000}]
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_checkov_passes_a_hardened_manifest_with_a_justified_skip(tmp_path: Path) -> None:
    checkov([write(tmp_path, "hardened.yaml", HARDENED)])


def test_checkov_lists_every_failed_check_and_each_skip_without_a_reason(tmp_path: Path) -> None:
    careless = write(tmp_path, "careless.yaml", CARELESS)
    unexplained = HARDENED.replace(
        "CKV_K8S_43=the release pins the image by digest, not this file", "CKV_K8S_43"
    )
    with pytest.raises(pytest.fail.Exception) as failure:
        checkov([careless, write(tmp_path, "unexplained.yaml", unexplained)])
    message = str(failure.value)
    count = re.search(r"^checkov: (\d+) failed check\(s\):$", message, re.MULTILINE)
    assert count is not None, message
    findings = [line for line in message.splitlines() if line.startswith("  CKV")]
    # Every failure is listed, each with its object and place; the hardened one has none.
    failed, skipped = findings[: int(count[1])], findings[int(count[1]) :]
    assert len(failed) == int(count[1]) > 10
    where = f"({careless}:1-{CARELESS.count(chr(10))})"
    assert all(".shop.careless" in line and where in line for line in failed)
    for rule in ("CKV_K8S_16", "CKV_K8S_22", "CKV_K8S_14", "CKV_K8S_8", "CKV_K8S_9", "CKV_K8S_13"):
        assert any(line.startswith(f"  {rule} ") for line in failed), rule
    assert "skipped without a reason (checkov.io/skipN: ID=reason):" in message
    # The Deployment's lines, as checkov counts them: to the `---` after it.
    where = f"({tmp_path / 'unexplained.yaml'}:1-{unexplained.splitlines().index('---') + 1})"
    assert skipped == [f"  CKV_K8S_43 Image should use digest: Deployment.shop.web {where}"]


@pytest.mark.parametrize(
    "text",
    ["settings: {debug: true}\n", "kind: [unclosed\n"],
    ids=["not-kubernetes", "broken-yaml"],
)
def test_checkov_fails_when_it_reads_no_object(tmp_path: Path, text: str) -> None:
    # checkov itself passes both: nothing scanned, nothing failed.
    path = write(tmp_path, "manifest.yaml", text)
    with pytest.raises(pytest.fail.Exception, match="checkov read no Kubernetes object"):
        checkov([path])


def test_checkov_runs_with_the_network_refused(tmp_path: Path) -> None:
    # Without --skip-download checkov fetches its rules' metadata: the guard ends it at once, so
    # the scans above, which pass, reached nothing.
    path = write(tmp_path, "hardened.yaml", HARDENED)
    result = run_checkov(["--framework", "kubernetes", "--quiet", "--file", str(path)])
    assert result.returncode == 3, result.stdout + result.stderr
    assert re.search(r"^offline\.py: checkov tried to reach \S+:443$", result.stderr, re.MULTILINE)
