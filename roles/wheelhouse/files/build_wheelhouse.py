#!/usr/bin/env python3
"""Build the Meters wheel and its dependencies on the Ansible controller, once, and pack the
wheels each kind of host needs into one deterministic tar ("bundle").

    build_wheelhouse.py --source REPO --wheelhouse build/wheelhouse

Prints one JSON object: version, the project wheel, and per bundle (meter, tempest) its path,
sha256 and the wheels in it, and its `tree`: the same wheels installed once here into a
site-packages folder, packed as one tar.gz. A site-packages tree does not depend on where it
lives, so the meter and tempest roles copy the tree to a host of the controller's kind and
unpack it into a venv made without pip: no pip run per host (pip's start-up, resolving and
unpacking each wheel cost more than the rest of a first deploy). A host of another kind gets
the project wheel and pip, from an index.

Why a script and not a few tasks: a no-change run must cost next to nothing. A fingerprint of
the sources (every file under core/, loadmodel/, meter/ and tempest/, pyproject.toml,
README.md) is kept beside the wheels; while it matches, nothing is built or downloaded. Wheels and bundles are
byte-for-byte reproducible (SOURCE_DATE_EPOCH, sorted tar members, fixed owners and times), so
an unchanged source gives an unchanged bundle and Ansible's copy reports no change.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import fnmatch
import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PROJECT = "meters"
SOURCE_PARTS = ("pyproject.toml", "README.md", "core", "loadmodel", "meter", "tempest")
# 1980-01-01, the earliest time a zip file can hold: wheels built from the same sources are
# then identical whenever they are built.
EPOCH = "315532800"
# bundle name -> extras installed from it; tempest-postgres: a node of a cluster on PostgreSQL
# (the tempest role's tempest_cluster_enabled).
BUNDLES = {"meter": "", "tempest": "[tempest]", "tempest-postgres": "[tempest,postgres]"}
ALL_EXTRAS = "[tempest,postgres]"  # every dependency of every bundle
# What a meter never runs, left out of the meter's tree (a first deploy unpacks it on every
# meter): dependencies' test suites, type stubs and C headers, numpy's build tools (f2py,
# distutils) and its test-only extension modules, and the head-end (the `tempest` package
# the project wheel also holds). Paths relative to site-packages; fnmatch patterns, where
# `*` also crosses `/`.
METER_UNUSED = (
    "*/tests", "*.pyi", "*.pxd", "*/py.typed",
    "numpy/_core/include", "numpy/_core/lib", "numpy/random/lib", "numpy/_pyinstaller",
    "numpy/conftest.py",
    "numpy/f2py", "numpy/distutils", "numpy/_core/_simd.*.so", "numpy/_core/_*_tests.*.so",
    # numpy's subpackages that `import numpy` leaves to a first use (numpy/__init__.py's
    # __getattr__) and that no meter code uses: numpy.random is the one a meter does.
    "numpy/fft", "numpy/ma", "numpy/polynomial", "numpy/testing", "numpy/matlib.py",
    "tempest",
)
# bundle name -> what its tree leaves out
UNUSED = {"meter": METER_UNUSED}


def fingerprint(source: Path) -> str:
    # This script too: a builder that makes other trees rebuilds them from the same sources.
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for part in SOURCE_PARTS:
        top = source / part
        paths = [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []
        for path in paths:
            if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(source)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pip(python: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [python, "-m", "pip", "--disable-pip-version-check", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env)


def build_wheel(python: str, source: Path, wheelhouse: Path) -> Path:
    # setuptools builds in the source tree and packs whatever build/lib holds, including
    # modules since deleted from the source: start from an empty build/lib every time.
    for stale in [source / "build" / "lib", *source.glob("build/bdist.*")]:
        shutil.rmtree(stale, ignore_errors=True)
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory(prefix=".build-", dir=wheelhouse) as out:
        done = pip(python, "wheel", "--no-deps", "--wheel-dir", out, str(source), env=env)
        if done.returncode != 0:
            sys.exit(f"building the {PROJECT} wheel failed:\n{done.stdout}\n{done.stderr}")
        wheels = list(Path(out).glob(f"{PROJECT}-*.whl"))
        if len(wheels) != 1:
            sys.exit(f"expected one {PROJECT} wheel, pip made {[w.name for w in wheels]}")
        target = wheelhouse / wheels[0].name
        os.replace(wheels[0], target)
    return target


def fetch_dependencies(python: str, wheelhouse: Path, version: str) -> None:
    """Every dependency as a wheel in the wheelhouse: offline first, the index only for what
    is missing (a new dependency, or the first build)."""
    want = f"{PROJECT}{ALL_EXTRAS}=={version}"
    common = ["wheel", "--wheel-dir", str(wheelhouse), "--find-links", str(wheelhouse)]
    if pip(python, *common, "--no-index", want).returncode == 0:
        return
    done = pip(python, *common, "--only-binary", ":all:", want)
    if done.returncode != 0:
        done = pip(python, *common, want)  # a dependency with no wheel: build it here
    if done.returncode != 0:
        sys.exit(f"fetching the dependencies failed:\n{done.stdout}\n{done.stderr}")


def resolve(python: str, wheelhouse: Path, version: str, extras: str) -> list[Path]:
    """The wheels `pip install meters<extras>==version` takes from the wheelhouse."""
    with tempfile.NamedTemporaryFile(dir=wheelhouse, prefix=".report-", suffix=".json") as rep:
        done = pip(python, "install", "--dry-run", "--ignore-installed", "--no-index",
                   "--find-links", str(wheelhouse), "--quiet", "--report", rep.name,
                   f"{PROJECT}{extras}=={version}")
        if done.returncode != 0:
            sys.exit(f"resolving {PROJECT}{extras}=={version} failed:\n{done.stderr}")
        report = json.loads(Path(rep.name).read_text())
    files = []
    for item in report["install"]:
        url = item["download_info"]["url"]
        if not url.startswith("file://"):
            sys.exit(f"{url} is not in the wheelhouse")
        files.append(Path(url[len("file://"):]))
    return sorted(files, key=lambda p: p.name)


def pack(files: list[Path], target: Path) -> None:
    """An uncompressed tar (wheels are compressed already) that is the same bytes for the
    same wheels: sorted members, no owners, no times."""
    tmp = target.with_name(f".{target.name}.tmp")
    # GNU format: wheel names are longer than ustar's 100 characters.
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
        for path in files:
            info = tar.gettarinfo(str(path), arcname=path.name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = 0o644
            with open(path, "rb") as f:
                tar.addfile(info, f)
    os.replace(tmp, target)


def install_tree(python: str, wheels: list[Path], scratch: Path) -> Path:
    """The wheels installed, without their dependencies' resolution (the list is complete),
    into one site-packages folder. Its bin/ (console scripts naming this Python) is dropped:
    the roles write each host's own."""
    site = scratch / "site-packages"
    done = pip(python, "install", "--quiet", "--no-index", "--no-deps", "--no-compile",
               "--target", str(site), *map(str, wheels))
    if done.returncode != 0:
        sys.exit(f"installing the wheels into a tree failed:\n{done.stdout}\n{done.stderr}")
    shutil.rmtree(site / "bin", ignore_errors=True)
    return site


def trim_tree(site: Path, unused: tuple[str, ...]) -> None:
    """Delete what matches `unused` (METER_UNUSED) from the tree."""
    for path in sorted(site.rglob("*"), key=lambda p: len(p.parts)):
        rel = path.relative_to(site).as_posix()
        if path.exists() and any(fnmatch.fnmatchcase(rel, pattern) for pattern in unused):
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def compile_tree(site: Path) -> None:
    """Every module compiled once here rather than by every host at its first import (a
    meter's first config check and agent start compiled some 300 modules each). The .pyc
    files hold a hash of their source and are not checked against it (PEP 552's
    unchecked-hash): a tree is only ever replaced whole, its files' times are not kept (the
    tar sets them to 0), and the same sources give the same bytes. Compiled by this Python,
    whose version is the one a host must have to get the tree (`python` in the result). A
    module that does not compile is left to fail where it is imported, as it would anyway."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-q", "-j", "1",
                    "--invalidation-mode", "unchecked-hash", "-s", str(site), str(site)],
                   capture_output=True, check=False,
                   env={**os.environ, "PYTHONHASHSEED": "0", "SOURCE_DATE_EPOCH": EPOCH})


def pack_tree(site: Path, target: Path) -> None:
    """A tar.gz of the tree that is the same bytes for the same wheels: sorted members, no
    owners, no times (gzip's own header time too), modes kept (compiled modules are 0755)."""
    tmp = target.with_name(f".{target.name}.tmp")
    paths = sorted(site.rglob("*"), key=lambda p: p.relative_to(site).as_posix())
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                               compresslevel=6) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in paths:
            info = tar.gettarinfo(str(path), arcname=path.relative_to(site).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = 0o755 if path.is_dir() or info.mode & 0o100 else 0o644
            if path.is_file():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    os.replace(tmp, target)


# zstd instead of gzip for the installer of a host that has `zstd` (the meter role reads
# whether it does with its facts): unpacking a meter's tree takes half the CPU (zstd decodes
# some three times faster than gzip) and the file is a quarter smaller (level 12: 15 MB
# instead of 19.7 MB for a meter's 60 MB of files). One thread: the same bytes every build.
ZSTD_ARGS = ("-12", "-T1", "-q", "-c")
# The bundles whose installer a role runs (the tempest role unpacks its tree itself).
ZSTD_BUNDLES = ("meter",)
# How each installer's header unpacks its payload (into the folder given to tar's -C). tar
# reads zstd's 128 KiB writes in records as large (-b 256): a third of the write calls.
UNPACK = {"gzip": "tar -xzf -",
          "zstd": "zstd -dcq | tar -b 256 -xf -"}
# A host without zstd must not get a tree unpacked from nothing: tar takes an empty input.
NEEDS = {"gzip": "", "zstd": "command -v zstd >/dev/null || { echo 'zstd is missing' >&2; exit 3; }\n"}

# The installer's sh header; the tree's tar follows it, from byte OFFSET + 1 (tail -c). sh
# reads a script as it runs it, so it exits before it would reach the binary part.
INSTALLER = """#!/bin/sh
# Installs the Meters {name} bundle {version} (a site-packages tree) into a venv without pip:
#   sh THIS-FILE VENV PYTHON MARKER [FOLDER...]
# The venv is made with PYTHON when missing, the tree unpacked beside the old one and swapped
# in (a process starting meanwhile imports either whole version), the console scripts
# written naming the venv's Python, and VENV/.installed-MARKER left. FOLDERs are made first,
# mode 0750 (the meter role's folders: then its own task for them has nothing to do).
# Made by roles/wheelhouse/files/build_wheelhouse.py; the tree's tar ({compression}) follows.
set -eu
{needs}VENV=$1 PYTHON=$2 MARKER=$3
shift 3
[ $# -eq 0 ] || {{ mkdir -p "$@" && chmod 0750 "$@"; }}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv --without-pip "$VENV"
PY=$VENV/bin/python
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
rm -rf "$SITE.new" "$SITE.old"
mkdir "$SITE.new"
tail -c +{offset:010d} "$0" | {unpack} -C "$SITE.new"
mv "$SITE" "$SITE.old" && mv "$SITE.new" "$SITE" && rm -rf "$SITE.old"
{scripts}rm -f "$VENV"/.installed-*
touch "$VENV/.installed-$MARKER"
echo installed
exit 0
"""


def pack_installer(tree: Path, target: Path, name: str, version: str,
                   scripts: dict[str, str], compression: str = "gzip") -> None:
    """The tree's tar behind a sh header that installs it (INSTALLER): the meter role sends
    it with Ansible's script action, one transfer and one run, no module on the host. `tree`
    is the tar compressed as `compression` says (UNPACK)."""
    lines = "".join(
        f"printf '#!%s\\nimport sys\\nfrom {module} import {function}\\nsys.exit({function}())\\n' "
        f'"$PY" >"$VENV/bin/{script}"\nchmod 0755 "$VENV/bin/{script}"\n'
        for script, target_ in sorted(scripts.items())
        for module, function in [target_.split(":")])
    fields = {"name": name, "version": version, "scripts": lines, "compression": compression,
              "unpack": UNPACK[compression], "needs": NEEDS[compression]}
    header = INSTALLER.format(offset=0, **fields)
    header = INSTALLER.format(offset=len(header.encode()) + 1, **fields).encode()
    tmp = target.with_name(f".{target.name}.tmp")
    with open(tmp, "wb") as out, open(tree, "rb") as payload:
        out.write(header)
        shutil.copyfileobj(payload, out)
    os.replace(tmp, target)


def recompress_zstd(tree: Path, target: Path) -> bool:
    """The tree's tar.gz as a tar.zst, when the controller has `zstd`; False when it has not
    (then only the gzip installer is made, and every host gets that one)."""
    zstd = shutil.which("zstd")
    if zstd is None:
        return False
    tmp = target.with_name(f".{target.name}.tmp")
    with gzip.open(tree, "rb") as tar, open(tmp, "wb") as out:
        done = subprocess.run([zstd, *ZSTD_ARGS], input=tar.read(), stdout=out,
                              stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        sys.exit(f"zstd failed on {tree.name}: {done.stderr.decode(errors='replace')}")
    os.replace(tmp, target)
    return True


def console_scripts(wheel: Path) -> dict[str, str]:
    """The project's console scripts, {name: "module:function"}, from the wheel's metadata."""
    import configparser
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        name = next((n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")), None)
        text = zf.read(name).decode() if name else ""
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str
    parser.read_string(text)
    return dict(parser["console_scripts"]) if parser.has_section("console_scripts") else {}


@contextlib.contextmanager
def locked(wheelhouse: Path):
    # Two playbook runs (a test and a benchmark) must not build into one wheelhouse at once.
    with open(wheelhouse / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build(source: Path, wheelhouse: Path, python: str) -> dict:
    stamps = wheelhouse / ".stamps"
    stamps.mkdir(parents=True, exist_ok=True)
    stamp = stamps / (hashlib.sha256(str(source).encode()).hexdigest()[:16] + ".json")
    print_ = fingerprint(source)
    with contextlib.suppress(OSError, ValueError, KeyError):
        cached = json.loads(stamp.read_text())
        paths = [cached["wheel"]] + [p for b in cached["bundles"].values()
                                     for p in (b["path"], b["tree"]["path"],
                                               b["installer"]["path"],
                                               b.get("installer_zstd", {}).get("path",
                                                                               b["path"]))]
        if (cached["fingerprint"] == print_ and set(cached["bundles"]) == set(BUNDLES)
                and all(Path(p).is_file() for p in paths)):
            return {**cached, "built": False}
    wheel = build_wheel(python, source, wheelhouse)
    version = re.match(rf"{PROJECT}-([^-]+)-", wheel.name).group(1)
    scripts = console_scripts(wheel)
    fetch_dependencies(python, wheelhouse, version)
    bundles = {}
    for name, extras in BUNDLES.items():
        files = resolve(python, wheelhouse, version, extras)
        target = wheelhouse / "bundles" / f"{name}-{version}.tar"
        target.parent.mkdir(exist_ok=True)
        pack(files, target)
        tree = wheelhouse / "bundles" / f"{name}-{version}-site.tar.gz"
        with tempfile.TemporaryDirectory(prefix=".tree-", dir=wheelhouse) as scratch:
            site = install_tree(python, files, Path(scratch))
            if name in UNUSED:
                trim_tree(site, UNUSED[name])
                compile_tree(site)
            # The console scripts whose module the tree holds (a meter's has no `tempest`).
            own_scripts = {k: v for k, v in scripts.items()
                           if (site / v.split(".")[0].split(":")[0]).is_dir()}
            pack_tree(site, tree)
        installer = wheelhouse / "bundles" / f"{name}-{version}-install.sh"
        pack_installer(tree, installer, name, version, own_scripts)
        bundles[name] = {"path": str(target), "name": target.name, "sha256": sha256(target),
                         "wheels": [p.name for p in files],
                         "tree": {"path": str(tree), "name": tree.name, "sha256": sha256(tree)},
                         "installer": {"path": str(installer), "name": installer.name}}
        # The same tree for a host with zstd (installer_zstd; absent when the controller has
        # no zstd). The tree's sha256 above names the install either way.
        tree_zst = wheelhouse / "bundles" / f"{name}-{version}-site.tar.zst"
        if name in ZSTD_BUNDLES and recompress_zstd(tree, tree_zst):
            installer_zst = wheelhouse / "bundles" / f"{name}-{version}-install-zstd.sh"
            pack_installer(tree_zst, installer_zst, name, version, own_scripts, "zstd")
            tree_zst.unlink()
            bundles[name]["installer_zstd"] = {"path": str(installer_zst),
                                               "name": installer_zst.name}
    result = {
        "fingerprint": print_, "version": version, "wheel": str(wheel),
        "wheel_name": wheel.name, "wheel_sha256": sha256(wheel), "bundles": bundles,
        "scripts": scripts,
        # What the wheels were built for: a host that differs installs from an index instead.
        "machine": platform.machine(), "python": "{}.{}".format(*sys.version_info[:2]),
    }
    stamp.write_text(json.dumps(result, indent=1))
    return {**result, "built": True}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, type=Path, help="The repository (pyproject).")
    parser.add_argument("--wheelhouse", required=True, type=Path, help="Where wheels are kept.")
    parser.add_argument("--python", default=sys.executable,
                        help="The Python whose pip builds and resolves (the controller's).")
    args = parser.parse_args()
    source = args.source.expanduser().resolve()
    if not (source / "pyproject.toml").is_file():
        sys.exit(f"{source} has no pyproject.toml: point --source at the Meters repository")
    wheelhouse = args.wheelhouse.expanduser().resolve()
    wheelhouse.mkdir(parents=True, exist_ok=True)
    with locked(wheelhouse):
        print(json.dumps(build(source, wheelhouse, args.python)))


if __name__ == "__main__":
    main()
