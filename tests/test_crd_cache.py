"""`mst crds fetch`: the pinned upstream CRD files are downloaded over HTTP (here from a
server on loopback that lays out the project's copies of the release files the way the
upstream raw-file host does), checked by sha256, and then used by `mst validate`."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from test_mst_errors import assert_clean_error, mst

from modelservice_tool.crd_cache import PINNED, CrdFile
from support import SHARED_CRDS

pytestmark = pytest.mark.skipif(not SHARED_CRDS.is_dir(),
                                reason=f"upstream CRD copies not found at {SHARED_CRDS}")
SAMPLE = ("-p", "pd-a100", "-f", "examples/gpt-oss-120b-pd.yaml", "--release", "gpt-oss")


def missing_reason(crds: tuple[CrdFile, ...]) -> str | None:
    """Why a test needing these pinned files beside the repo cannot run, or None."""
    absent = [f"{crd.folder}/{crd.name} ({crd.repo} {crd.tag}:{crd.path})" for crd in crds
              if not (SHARED_CRDS / crd.folder / crd.name).is_file()]
    if not absent:
        return None
    return (f"not in {SHARED_CRDS}: {', '.join(absent)}; point MST_CRDS_DIR at a copy of it "
            "that has them")


@pytest.mark.parametrize("crd", PINNED, ids=lambda crd: f"{crd.folder}/{crd.name}")
def test_pins_match_the_release_files_beside_the_repo(crd: CrdFile) -> None:
    if reason := missing_reason((crd,)):
        pytest.skip(reason)
    body = (SHARED_CRDS / crd.folder / crd.name).read_bytes()
    assert hashlib.sha256(body).hexdigest() == crd.sha256, crd.path


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server with `<repo>/<tag>/<path>` for every pinned file."""
    if reason := missing_reason(PINNED):
        pytest.skip(reason)
    root = tmp_path / "upstream"
    for crd in PINNED:
        target = root / crd.repo / crd.tag / crd.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHARED_CRDS / crd.folder / crd.name, target)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_then_validate_checks_custom_resources(tmp_path: Path,
                                                     upstream: tuple[str, Path]) -> None:
    env = {"MST_CACHE_DIR": str(tmp_path / "cache")}
    before = mst("validate", *SAMPLE, env=env)
    assert before.returncode == 0, before.stderr
    assert "were not schema-checked: run `mst crds fetch`" in before.stdout
    fetched = mst("crds", "fetch", "--base-url", upstream[0], env=env)
    assert fetched.returncode == 0, fetched.stderr
    assert f"{len(PINNED)} CRD file(s) downloaded" in fetched.stdout
    after = mst("validate", *SAMPLE, env=env)
    assert after.returncode == 0, after.stderr
    assert "InferencePool) pass the CRDs in" in after.stdout
    again = mst("crds", "fetch", "--base-url", upstream[0], env=env)
    assert "0 CRD file(s) downloaded" in again.stdout
    listing = mst("crds", "list", env=env)
    assert listing.stdout.count("cached ") == len(PINNED)


def test_a_file_that_is_not_the_release_file_is_refused(tmp_path: Path,
                                                        upstream: tuple[str, Path]) -> None:
    crd = PINNED[-1]
    tampered = upstream[1] / crd.repo / crd.tag / crd.path
    tampered.write_text(tampered.read_text() + "# changed\n")
    cache = tmp_path / "cache"
    result = mst("crds", "fetch", "--base-url", upstream[0], env={"MST_CACHE_DIR": str(cache)})
    assert_clean_error(result, 2, f"is not the {crd.repo} {crd.tag} release file",
                       "nothing was written")
    assert not cache.exists() or not any(cache.rglob("*.yaml"))


def test_unreachable_host_is_one_clear_error(tmp_path: Path) -> None:
    result = mst("crds", "fetch", "--base-url", "http://127.0.0.1:9",
                 env={"MST_CACHE_DIR": str(tmp_path / "cache")})
    assert_clean_error(result, 2, "cannot download http://127.0.0.1:9/")
