#!/usr/bin/env bash
# Photographs the poolmon monitor at defined moments of the asyncmap tutorial's run.
#
# The real poolmon runs in a real terminal (a private tmux server, 100×30, UTF-8, colours on).
# At each moment the script polls `tmux capture-pane` until the screen shows what the moment is
# about (with a deadline, never a fixed sleep), then takes one `capture-pane -p -e` (the screen
# with its colours as ANSI text). It writes, for each moment NAME:
#   screenshots/NAME.txt  the screen as plain text (the same capture, escapes removed)
#   screenshots/NAME.png  the same capture shown by a real xterm (DejaVu Sans Mono) under Xvfb,
#                         photographed with ImageMagick's `import`
#
# Usage: scripts/screenshots.sh [--out DIR] [--no-install] [NAME ...]
#   NAME ...      only these moments (default: all; `--list` prints them)
#   --out DIR     write there instead of <repo>/screenshots
#   --no-install  fail instead of installing what is missing
# Environment:
#   POOLMON=/path/to/poolmon  use this binary instead of building one with
#                             `swift build --product poolmon` at the repository root
#
# What it needs, installed with apt-get only when missing (as root, or through sudo): tmux,
# xvfb (Xvfb), xterm, imagemagick (`import` and the `convert` beside it), fontconfig and
# fonts-dejavu-core (DejaVu Sans Mono); and, unless POOLMON is given, libncurses-dev to build
# poolmon (Swift 6 itself must be there).
#
# Rerunning gives the same pictures apart from PIDs, times, and what two workers doing the same
# thing at the same instant race for (which of two simultaneous completions is listed first,
# which PID took which chunk): options and terminal size are fixed, `--workers 2` is explicit,
# and each moment is caught at a defined state (the run clock in a given range). A PNG holds no
# timestamp, so an unchanged screen gives the same bytes.
# No tmux server, Xvfb, xterm or poolmon is left behind: an EXIT trap takes them all down.
set -euo pipefail

readonly COLS=100 ROWS=30
readonly FONT="DejaVu Sans Mono" FONT_SIZE=12.75
readonly ALL_MOMENTS=(tutorial-running bigger-chunks third-worker worker-killed finished help imap-holding imap-unordered too-small python-tutorial)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$repo/screenshots"
install=1
moments=()

die() { echo "screenshots: $*" >&2; exit 1; }
note() { echo "screenshots: $*" >&2; }

while (($#)); do
    case $1 in
        --out) (($# >= 2)) || die "--out needs a directory"; out=$2; shift 2 ;;
        --no-install) install=0; shift ;;
        --list) printf '%s\n' "${ALL_MOMENTS[@]}"; exit 0 ;;
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        -*) die "unknown option $1 (try --help)" ;;
        *) [[ " ${ALL_MOMENTS[*]} " == *" $1 "* ]] || die "unknown moment $1 (try --list)"
           moments+=("$1"); shift ;;
    esac
done
((${#moments[@]})) || moments=("${ALL_MOMENTS[@]}")

# ---------------------------------------------------------------------------------------------
# Tools: install only what is missing.

# ImageMagick's convert is the one beside its import (another `convert` may come first on PATH).
im_convert() { "$(dirname "$(command -v import)")/convert" "$@"; }
have_imagemagick() { command -v import >/dev/null && import -version 2>/dev/null | grep -q ImageMagick \
    && im_convert -version 2>/dev/null | grep -q ImageMagick; }
have_font() { command -v fc-list >/dev/null && fc-list "$FONT" | grep -q .; }

missing=()
command -v tmux >/dev/null || missing+=(tmux)
command -v Xvfb >/dev/null || missing+=(xvfb)
command -v xterm >/dev/null || missing+=(xterm)
have_imagemagick || missing+=(imagemagick)
have_font || missing+=(fontconfig fonts-dejavu-core)
# Building poolmon needs ncurses' wide-character headers (as README.md says).
[[ -n ${POOLMON:-} || -e /usr/include/ncursesw/curses.h ]] || missing+=(libncurses-dev)
if ((${#missing[@]})); then
    ((install)) || die "missing: ${missing[*]} (run without --no-install to apt-get them)"
    command -v apt-get >/dev/null || die "missing: ${missing[*]}, and no apt-get to install them"
    sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "missing: ${missing[*]}: run as root or install sudo"
        sudo=(sudo)
    fi
    note "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    hash -r
    have_imagemagick || die "ImageMagick's import and convert still not found"
    have_font || die "font $FONT still not found"
fi

# ---------------------------------------------------------------------------------------------
# poolmon: the one in POOLMON, or built from this repository.

if [[ -n ${POOLMON:-} ]]; then
    poolmon=$POOLMON
else
    command -v swift >/dev/null || die "swift not found (or set POOLMON=/path/to/poolmon)"
    note "building poolmon in $repo"
    (cd "$repo" && swift build --product poolmon >&2)
    poolmon="$(cd "$repo" && swift build --show-bin-path)/poolmon"
fi
[[ -x $poolmon ]] || die "no poolmon executable at $poolmon"
poolmon=$(cd "$(dirname "$poolmon")" && pwd)/$(basename "$poolmon")

# ---------------------------------------------------------------------------------------------
# Clean-up: whatever the script started goes when it ends, however it ends.

work=$(mktemp -d "${TMPDIR:-/tmp}/poolmon-shots.XXXXXX")
socket="$work/tmux.sock"   # a private server: its socket lives and dies with $work
xvfb_pid=""
xterm_pid=""

cleanup() {
    tmux -S "$socket" kill-server 2>/dev/null || true
    [[ -n $xterm_pid ]] && kill "$xterm_pid" 2>/dev/null
    [[ -n $xvfb_pid ]] && kill "$xvfb_pid" 2>/dev/null
    [[ -n $xterm_pid ]] && wait "$xterm_pid" 2>/dev/null
    [[ -n $xvfb_pid ]] && wait "$xvfb_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# The terminal: a private tmux server (no config file), one session per moment.

tmx() { tmux -S "$socket" "$@"; }

# Starts poolmon in a fresh session with the given options (`watch` is the default command).
start_poolmon() {
    tmx kill-session -t shots 2>/dev/null || true
    env -u NO_COLOR -u LC_ALL LANG=C.UTF-8 tmux -S "$socket" -f /dev/null \
        new-session -d -s shots -x "$COLS" -y "$ROWS" -c "$repo" -e LANG=C.UTF-8 \
        "exec env -u NO_COLOR LANG=C.UTF-8 LC_ALL=C.UTF-8 '$poolmon' $*"
    tmx set-option -g status off
}

screen() { tmx capture-pane -p -t shots; }

# wait_for SECONDS PATTERN...: polls the screen until every pattern matches (an extended regex
# that some line matches; `N*REGEX`: at least N lines match). On timeout it shows the screen,
# names what never showed, and returns 1 (the moment is then tried again).
wait_for() {
    local seconds=$1; shift
    local deadline=$((SECONDS + seconds)) text pattern count ok
    while :; do
        text=$(screen 2>/dev/null) || text=""
        ok=1
        for pattern in "$@"; do
            if [[ $pattern =~ ^([0-9]+)\*(.*)$ ]]; then
                count=$(grep -cE -- "${BASH_REMATCH[2]}" <<<"$text" || true)
                ((count >= BASH_REMATCH[1])) || { ok=0; break; }
            else
                grep -qE -- "$pattern" <<<"$text" || { ok=0; break; }
            fi
        done
        ((ok)) && return 0
        if ((SECONDS >= deadline)); then
            note "timed out waiting for: $pattern"
            note "the screen was:"; printf '%s\n' "$text" >&2
            return 1
        fi
        sleep 0.05
    done
}

keys() { tmx send-keys -t shots "$@"; }

# The run clock in the header within [from, to) seconds, e.g. `clock 2.4 2.9`: patterns for
# RUNNING 00:0S.T where S.T is in range (tenths, within one minute).
clock() {
    local from to t alternatives=()
    from=$(awk -v x="$1" 'BEGIN { printf "%d", x * 10 + 0.5 }')
    to=$(awk -v x="$2" 'BEGIN { printf "%d", x * 10 + 0.5 }')
    for ((t = from; t < to; t++)); do alternatives+=("$(printf '%02d\\.%d' $((t / 10)) $((t % 10)))"); done
    local IFS='|'
    echo "RUNNING 00:(${alternatives[*]})"
}

# shoot NAME: one capture of the screen, with colours, kept for rendering; plain text beside it.
shoot() {
    local name=$1
    tmx capture-pane -p -e -t shots >"$work/$name.ansi"
    # The .txt is the same capture without escapes (so text and picture show one instant),
    # trimmed at line ends as `capture-pane -p` does.
    sed -E $'s/\x1b\\[[0-9;:]*[A-Za-z]//g; s/[[:space:]]+$//' "$work/$name.ansi" >"$out/$name.txt"
    tmx display-message -p -t shots '#{pane_width} #{pane_height}' >"$work/$name.size"
    note "captured $name"
}

# Quits poolmon with q and waits for the session to end (kill-server is the backstop).
quit_poolmon() {
    keys q
    local deadline=$((SECONDS + 10))
    while tmx has-session -t shots 2>/dev/null; do
        ((SECONDS < deadline)) || { tmx kill-session -t shots 2>/dev/null || true; break; }
        sleep 0.05
    done
}

# ---------------------------------------------------------------------------------------------
# The moments. Every run has --workers 2 (the machine may have any number of CPUs).

# The tutorial in progress: chunks of two, both workers busy on their second chunk.
moment_tutorial-running() {
    start_poolmon --workers 2 --delay 1
    wait_for 20 "$(clock 2.4 2.9)" '2*│ .*busy +sum\(' '4/10' || return 1
    shoot tutorial-running
}

# ] then r once the first run has finished: chunk size 3 from the restart, so the completion
# order shows runs of three. (Caught 3.1–3.5 s into the second run: sum done, product begun.)
moment_bigger-chunks() {
    start_poolmon --workers 2 --delay 0.5
    wait_for 30 'FINISHED' 'chunk 2 \(auto\)' || return 1
    keys ']'
    wait_for 10 'next run:.*chunk 2 \(auto\) → 3' || return 1
    keys r
    wait_for 20 'chunk 3 ' "$(clock 3.1 3.5)" 'sum .*10/10' || return 1
    shoot bigger-chunks
}

# + while the run runs: a third worker process starts and takes the next queued chunk.
moment_third-worker() {
    start_poolmon --workers 2 --delay 1
    wait_for 20 "$(clock 0.3 0.8)" '2*│ .*busy +sum\(' || return 1
    keys +
    wait_for 20 'workers 3 ' '3 live' '3*│ .*busy +sum\(' "$(clock 1.5 1.9)" || return 1
    shoot third-worker
}

# k on the selected worker opens the signal menu, Enter sends the preselected SIGKILL: its
# unfinished items go back in the queue, a new worker process takes the slot and runs them again.
moment_worker-killed() {
    start_poolmon --workers 2 --delay 1
    wait_for 20 "$(clock 0.5 0.9)" '2*│ .*busy +sum\(' || return 1
    keys k
    wait_for 10 'send to worker' || return 1
    keys Enter
    wait_for 20 'exits: 1 crashed' 'started in slot' '2*│ .*busy +sum\(' "$(clock 2.2 2.6)" || return 1
    shoot worker-killed
}

# The whole tutorial run, finished: the totals 210 and 935 on screen.
moment_finished() {
    start_poolmon --workers 2 --delay 1
    wait_for 40 'FINISHED' 'of sums .* is 210 ' 'of products .* is 935 ' || return 1
    shoot finished
}

# ? during the run: the help overlay listing every key.
moment_help() {
    start_poolmon --workers 2 --delay 1
    wait_for 20 "$(clock 1.2 1.7)" || return 1
    keys '?'
    wait_for 10 'keys' 'signal the selected worker' || return 1
    shoot help
}

# imap with chunks of two: item 3 has finished but the caller gets only 1 until 2 is done.
moment_imap-holding() {
    start_poolmon --workers 2 --delay 1 --mode imap --chunksize 2
    wait_for 20 'holding 3 until 2 is done' "$(clock 1.4 1.9)" || return 1
    shoot imap-holding
}

# imap_unordered with chunks of two: whole chunks handed over as they finish.
moment_imap-unordered() {
    start_poolmon --workers 2 --delay 1 --mode imap_unordered --chunksize 2
    wait_for 20 "$(clock 4.4 4.9)" 'as chunks finish' || return 1
    shoot imap-unordered
}

# The window shrunk to 40×10, below the 60×18 the monitor needs.
moment_too-small() {
    start_poolmon --workers 2 --delay 1
    wait_for 20 'RUNNING' || return 1
    tmx resize-window -t shots -x 40 -y 10
    wait_for 10 'terminal too small' 'have 40×10' || return 1
    shoot too-small
}

# The tutorial's own CPython script, unchanged, watched through the instrumentation: CPython's
# forked workers taking chunks of two, the script's prints in the output pane. Caught when the
# sum job is done and the product job is under way. (Needs python3; the pool has one worker per
# CPU, as the script's `Pool()` decides.)
moment_python-tutorial() {
    start_poolmon watch -- python3 Benchmarks/python/asyncmap_py3.py 1
    wait_for 40 'cpython' 'sum_ .*10/10' 'product .* [3-6]/10' 'is processing product' || return 1
    shoot python-tutorial
}

# Each moment is tried up to three times: a machine busy with other work can make the run
# clock skip past a window.
mkdir -p "$out"
for name in "${moments[@]}"; do
    for attempt in 1 2 3; do
        if "moment_$name"; then break; fi
        ((attempt < 3)) || die "could not catch $name"
        note "trying $name again"
        quit_poolmon
    done
    quit_poolmon
done
tmx kill-server 2>/dev/null || true

# ---------------------------------------------------------------------------------------------
# Rendering: each capture is printed into a real xterm (its size, no cursor) under a private
# Xvfb, and the window photographed.

display_file="$work/display"
: >"$display_file"
Xvfb -displayfd 3 -screen 0 2400x1400x24 -dpi 96 -nolisten tcp 3>"$display_file" \
    >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
deadline=$((SECONDS + 15))
until grep -q '[0-9]' "$display_file"; do
    kill -0 "$xvfb_pid" 2>/dev/null || { cat "$work/xvfb.log" >&2; die "Xvfb did not start"; }
    ((SECONDS < deadline)) || die "Xvfb did not report its display"
    sleep 0.05
done
display=":$(tr -dc '0-9' <"$display_file")"

# The palette (colours 0–15, after Tomorrow Night), the font, and xterm's own drawing of the
# box-drawing lines so that they always meet. The size is chosen for the block characters:
# at 12.75 pt (17 px at 96 dpi) DejaVu Sans Mono advances 10.2 px, so a █ covers its whole
# 10-pixel cell and a bar of them shows no seams (at 12 pt, 9.6 px in a 10-pixel cell, it does).
xterm_resources=(
    'XTerm*background: #1d1f21' 'XTerm*foreground: #d0d3d1' 'XTerm*cursorColor: #1d1f21'
    'XTerm*color0: #1d1f21' 'XTerm*color1: #cc6666' 'XTerm*color2: #b5bd68' 'XTerm*color3: #f0c674'
    'XTerm*color4: #81a2be' 'XTerm*color5: #b294bb' 'XTerm*color6: #8abeb7' 'XTerm*color7: #c5c8c6'
    'XTerm*color8: #969896' 'XTerm*color9: #d54e53' 'XTerm*color10: #c9d55a' 'XTerm*color11: #f3d37a'
    'XTerm*color12: #97bde0' 'XTerm*color13: #c9a6d6' 'XTerm*color14: #9fd8ce' 'XTerm*color15: #eaeaea'
    'XTerm*faceName: DejaVu Sans Mono' "XTerm*faceSize: $FONT_SIZE"
    'XTerm*internalBorder: 14' 'XTerm*borderWidth: 0' 'XTerm*scrollBar: false'
    'XTerm*utf8: 1' 'XTerm*locale: false' 'XTerm*forceBoxChars: true'
)
xrm=()
for resource in "${xterm_resources[@]}"; do xrm+=(-xrm "$resource"); done

cat >"$work/show.sh" <<'EOF'
#!/bin/sh
# In the xterm: no cursor, home, the capture (its last newline dropped, so nothing scrolls),
# then say the window id and wait to be photographed.
printf '\033[?25l\033[0m\033[H\033[2J'
head -c -1 "$1"
echo "$WINDOWID" >"$2.tmp" && mv "$2.tmp" "$2"
exec sleep 300
EOF
chmod +x "$work/show.sh"

render() {
    local name=$1 width height ready="$work/$name.window" window shot previous
    read -r width height <"$work/$name.size"
    DISPLAY=$display LANG=C.UTF-8 LC_ALL=C.UTF-8 xterm -geometry "${width}x${height}+0+0" "${xrm[@]}" \
        -e "$work/show.sh" "$work/$name.ansi" "$ready" >"$work/xterm.log" 2>&1 &
    xterm_pid=$!
    local deadline=$((SECONDS + 15))
    until [[ -s $ready ]]; do
        kill -0 "$xterm_pid" 2>/dev/null || { cat "$work/xterm.log" >&2; die "xterm exited early ($name)"; }
        ((SECONDS < deadline)) || die "xterm did not show $name"
        sleep 0.05
    done
    window=$(cat "$ready")
    # Photograph until two pictures in a row agree: the screen has been drawn completely.
    previous=""
    for attempt in $(seq 40); do
        sleep 0.1
        shot="$work/$name.$attempt.png"
        import -display "$display" -window "$window" -strip "$shot"
        if [[ -n $previous ]] && cmp -s <(im_convert "$previous" rgb:-) <(im_convert "$shot" rgb:-); then
            break
        fi
        previous=$shot
        ((attempt < 40)) || die "the xterm showing $name never settled"
    done
    im_convert "$shot" -strip -define png:compression-level=9 -define png:exclude-chunks=date,time "$out/$name.png"
    kill "$xterm_pid" 2>/dev/null || true
    wait "$xterm_pid" 2>/dev/null || true
    xterm_pid=""
    note "rendered $name.png ($(stat -c %s "$out/$name.png") bytes)"
}

for name in "${moments[@]}"; do render "$name"; done
echo "screenshots: ${#moments[@]} moments in $out"
