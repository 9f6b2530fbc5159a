# Sourced by scripts/reference/setup-venv.sh and scripts/bench/setup-llama-venv.sh. Expects $venv, $python, a log
# function and a check function (exit 0 when the venv already has what the script installs).
# venv_prepare: prints the venv path and exits when check passes; otherwise creates the venv if needed, upgrades pip
# and sets the array pip=(python -m pip ...) for the caller's installs.
venv_prepare() {
  if [ -x "$venv/bin/python" ] && check; then
    log "venv $venv is up to date"
    echo "$venv"
    exit 0
  fi
  if [ ! -x "$venv/bin/python" ]; then
    log "creating venv $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
  fi
  pip=("$venv/bin/python" -m pip --disable-pip-version-check)
  "${pip[@]}" install --quiet --upgrade pip >&2
}
