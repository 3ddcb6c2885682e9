#!/usr/bin/env bash
# Strict mypy over the `seamline` namespace as the wheel lays it out. The components keep their
# folders at the top of the repository (package-dir in pyproject.toml), which mypy cannot map, so
# this builds a tree of symlinks in .build/typecheck/ that mirrors the installed package.
set -euo pipefail
cd "$(dirname "$0")/.."
farm=.build/typecheck
rm -rf "$farm" && mkdir -p "$farm/seamline"
for entry in seamline/*; do
  ln -s "../../../$entry" "$farm/seamline/$(basename "$entry")"
done
.venv/bin/python - "$farm" <<'PY'
import os, sys, tomllib
farm = sys.argv[1]
dirs = tomllib.load(open("pyproject.toml", "rb"))["tool"]["setuptools"]["package-dir"]
for name, folder in dirs.items():
    if name != "seamline":
        os.symlink(os.path.join("../../..", folder), os.path.join(farm, *name.split(".")))
PY
# bench/ and tests/support/ type-check against the same tree (MYPYPATH first, so `seamline` is the farm).
MYPYPATH="$farm:." exec .venv/bin/mypy --explicit-package-bases "$farm/seamline" bench tests/support "$@"
