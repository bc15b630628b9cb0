# Sourced by scripts/serve and scripts/test: make .venv and install the project into it.
# pip's own chatter goes to .venv/install.log; on failure its tail is shown.
# Usage: install_project '.'  or  install_project '.[test]'
install_project() {
  local target=$1 python=${PYTHON:-python3} log
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "需要 Python 3.11 或更高版本 / Python 3.11+ is needed (found: $("$python" --version 2>&1))" >&2
    return 1
  fi
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  log=.venv/install.log
  echo "正在安装 / installing ${target} into .venv (log: ${log}) …" >&2
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e "$target"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "安装失败 / installation failed: see ${log}" >&2
    return 1
  fi
}
