# Sourced by scripts/serve and scripts/test: make .venv and install the project into it.
# pip's own chatter goes to .venv/install.log (on failure its tail is shown); what the terminal
# gets is one line a phase and, every few seconds while one runs, the package pip is on (or a dot).
# Usage: install_project '.'  or  install_project '.[test]' ; ensure_cjk_font (scripts/serve)

# _progress LABEL LOG COMMAND...: run COMMAND with its output appended to LOG, printing LABEL,
# then every 3 s what the log says it is doing (pip's Collecting/Building/Installing lines,
# apt's Get/Unpacking/Setting up lines) or a dot when that has not changed. Returns COMMAND's status.
_progress() {
  local label=$1 log=$2 pid now last="" ticks=0 dotted=0 started=$SECONDS status=0 offset
  shift 2
  offset=$({ wc -c <"$log"; } 2>/dev/null || echo 0)  # only this phase's lines count
  echo "  ${label} …" >&2
  "$@" >>"$log" 2>&1 &
  pid=$!
  # A background command of a script ignores Ctrl-C: stop it with the script.
  trap 'kill "$pid" 2>/dev/null; echo >&2; echo "  ${label}: interrupted" >&2; exit 130' INT TERM
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    ticks=$((ticks + 1))
    [ $((ticks % 3)) -eq 0 ] || continue
    now=$(tail -c +"$((offset + 1))" "$log" 2>/dev/null \
      | grep -E '^(Collecting|Downloading|Building|Installing collected|Get:|Unpacking|Setting up)' \
      | tail -n 1 | cut -c 1-90 || true)
    if [ -n "$now" ] && [ "$now" != "$last" ]; then
      [ "$dotted" = 1 ] && echo >&2
      echo "    ${now}" >&2
      last=$now dotted=0
    else
      printf '.' >&2
      dotted=1
    fi
  done
  wait "$pid" || status=$?
  trap - INT TERM
  [ "$dotted" = 1 ] && echo >&2
  [ "$status" = 0 ] && echo "  ${label}: done ($((SECONDS - started)) s)" >&2
  return "$status"
}

install_project() {
  local target=$1 python=${PYTHON:-python3} log
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "需要 Python 3.11 或更高版本 / Python 3.11+ is needed (found: $("$python" --version 2>&1))" >&2
    return 1
  fi
  echo "正在安装 / installing ${target} into .venv (details: .venv/install.log) …" >&2
  if [ ! -x .venv/bin/python ]; then
    _progress "创建 / creating .venv" /dev/null "$python" -m venv .venv || return 1
  fi
  log=.venv/install.log
  : >"$log"
  if ! _progress "更新 pip / updating pip" "$log" .venv/bin/python -m pip install --upgrade pip \
    || ! _progress "安装依赖和项目 / installing ${target} and its dependencies (a minute on a new machine)" \
      "$log" .venv/bin/python -m pip install -e "$target"; then
    tail -n 30 "$log" >&2
    echo "安装失败 / installation failed: see ${log}" >&2
    return 1
  fi
}

# The CJK font printed badges are set in (anxinma/badge/fonts.py): Debian's fonts-noto-cjk,
# installed with apt when run as root (as scripts/test does); otherwise one line saying how.
# The service starts either way; only badge PDFs need the font.
_cjk_font_present() {
  .venv/bin/python -c 'from anxinma.badge.fonts import default_fonts; default_fonts()' 2>/dev/null
}
_is_root() { [ "$(id -u)" = 0 ]; }

ensure_cjk_font() {
  local log=.venv/apt.log
  if _cjk_font_present; then
    echo "  徽章字体 / the badge font (Noto Sans CJK SC): installed" >&2
    return 0
  fi
  if _is_root && command -v apt-get >/dev/null; then
    echo "正在安装徽章字体 / installing the badge font fonts-noto-cjk with apt (details: ${log}) …" >&2
    : >"$log"
    if _progress "apt-get update" "$log" apt-get update -q \
      && _progress "apt-get install fonts-noto-cjk (about 60 MB)" "$log" \
        env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends fonts-noto-cjk \
      && _cjk_font_present; then
      return 0
    fi
    echo "未能安装字体 / could not install fonts-noto-cjk (see ${log}): the service starts, badge PDFs fail until it is installed" >&2
  else
    echo "缺少徽章字体 / the badge font is missing: run 'sudo apt-get install fonts-noto-cjk' (Debian/Ubuntu) or install Noto Sans CJK SC; the service starts, badge PDFs fail until then" >&2
  fi
  return 0
}
